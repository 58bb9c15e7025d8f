"""`gem-ecg measure RECORD... [--json]`: global, per-lead and per-beat measurements and
findings of each record, in one process. With --json one object per line, in input order
(the Measurements dict of ../helpers/MEASUREMENTS_SCHEMA.md plus "record"). A record that
cannot be read prints one line on stderr naming it; the others go on; exit 1 if any failed."""
from __future__ import annotations

import json
import sys

HELP = "global, per-lead and per-beat measurements and findings"


def add_arguments(p) -> None:
    p.add_argument("records", nargs="+", metavar="RECORD", help="WFDB record paths or URLs")
    p.add_argument("--offset", type=float, default=0.0, metavar="S",
                   help="start of the 10 s window in seconds (default 0)")
    p.add_argument("--json", action="store_true", help="one JSON object per record and line")


def _summary(d: dict) -> str:
    g = d["global"]

    def f(key, unit, fmt="{:.0f}"):
        v = g.get(key)
        return "-" if v is None else fmt.format(v) + unit

    bad = [ld for ld, q in d["quality"]["leads"].items() if not q["usable"]]
    codes = ", ".join(x["code"] + (f" ({x['group']})" if "group" in x else "") for x in d["findings"])
    return (f"{d['record']}: HR {f('heart_rate_bpm', ' bpm')}  PR {f('pr_ms', ' ms')}  "
            f"QRS {f('qrs_ms', ' ms')}  QT/QTc {f('qt_ms', '')}/{f('qtc_ms', ' ms')} "
            f"({g['qtc_method']})  axis {f('qrs_axis_deg', ' deg')}  beats {g['n_beats']}\n"
            f"  findings: {codes or 'none'}"
            + (f"\n  unusable leads: {', '.join(bad)}" if bad else ""))


def run(args) -> int:
    from gem_core.errors import GemError
    from gem_core.measure import measure_ecg
    from gem_core.prepare import load_prepared

    failed = 0
    for uri in args.records:
        try:
            prepared = load_prepared(uri, offset_s=args.offset)
            out = {"record": prepared.record_id, **measure_ecg(prepared.signal, prepared.fs).to_dict()}
        except GemError as exc:
            print(f"gem-ecg measure: {exc}", file=sys.stderr)
            failed += 1
            continue
        except (OSError, ValueError) as exc:
            print(f"gem-ecg measure: {uri}: {type(exc).__name__}: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(json.dumps(out) if args.json else _summary(out), flush=True)
    return 1 if failed else 0
