"""`gem-ecg demo`: the main flow on embedded defaults, on one machine, no downloads.

Today it reads and prepares the shared real records and prints what each became; each later
stage of the flow (measure, render, GEM, scoring, retraining) joins it as it lands.
"""
from __future__ import annotations

from pathlib import Path

HELP = "the whole loop on embedded defaults"

# The project's real example records: ../shared/data/ecg beside the checkout.
DEFAULT_RECORDS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ecg"


def add_arguments(p) -> None:
    p.add_argument("--records", type=Path, default=DEFAULT_RECORDS,
                   help=f"directory scanned for WFDB records (default {DEFAULT_RECORDS})")
    p.add_argument("--data-dir", type=Path, default=Path("data"),
                   help="local root of the embedded default (default ./data)")


def find_records(root: Path) -> list[str]:
    """Every WFDB record under a directory (one per .hea file), sorted."""
    return sorted(str(h.with_suffix("")) for h in root.rglob("*.hea"))


def run(args) -> int:
    from gem_core.errors import RecordError
    from gem_core.prepare import load_prepared

    uris = find_records(args.records)
    print(f"gem-ecg demo: {len(uris)} records under {args.records}\n")
    print(f"{'record':<12} {'status':<6} {'fs_in':>6} {'prepared':>10}  quality / reason")
    ok = 0
    for uri in uris:
        try:
            p = load_prepared(uri)
        except RecordError as exc:
            print(f"{Path(uri).name:<12} {'error':<6} {'':>6} {'':>10}  {exc.reason}")
            continue
        ok += 1
        shape = "x".join(map(str, p.signal.shape))
        print(f"{p.record_id:<12} {'ok':<6} {p.fs_in:>6g} {shape:>10}  {'; '.join(p.flags.issues) or 'clean'}")
    print(f"\n{ok} prepared, {len(uris) - ok} refused (one row per record)")
    return 0
