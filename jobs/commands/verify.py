"""`gem-ecg verify --record RECORD --report FILE`: claim-by-claim grounding verdict of a report."""
from __future__ import annotations

import json
import sys

HELP = "claim-by-claim grounding verdict of a report against the record's measurements"


def add_arguments(p) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--record", metavar="RECORD", help="WFDB record path or URL (measured here)")
    src.add_argument("--measurements", metavar="FILE",
                     help="a Measurements JSON instead of a record (what `gem-ecg measure --json` prints)")
    p.add_argument("--report", required=True, metavar="FILE", help="report text file or URL ('-' reads stdin)")
    p.add_argument("--labels", metavar="CODES", help="clinician diagnoses as finding codes, comma separated")
    p.add_argument("--offset", type=float, default=0.0, metavar="S", help="start of the 10 s window")
    p.add_argument("--json", action="store_true", help="print the verdict as JSON")


def _read_text(uri: str) -> str:
    if uri == "-":
        return sys.stdin.read()
    import fsspec

    with fsspec.open(uri, "r", encoding="utf-8") as f:
        return f.read()


def run(args) -> int:
    from gem_core.grounding.verify import verify_report

    if args.record:
        from gem_core.measure import measure_ecg
        from gem_core.prepare import load_prepared

        prepared = load_prepared(args.record, offset_s=args.offset)
        measurements = measure_ecg(prepared.signal, prepared.fs).to_dict()
        record = prepared.record_id
    else:
        measurements = json.loads(_read_text(args.measurements).strip().splitlines()[0])
        record = measurements.get("record", args.measurements)
    labels = [c.strip() for c in args.labels.split(",") if c.strip()] if args.labels else None
    verdict = verify_report(_read_text(args.report), measurements, labels)
    if args.json:
        print(json.dumps({"record": record, **verdict.to_dict()}))
        return 0
    counts = verdict.counts
    print(f"record {record}: {counts['claims']} claims, {counts['supported']} supported, "
          f"{counts['contradicted']} contradicted, {counts['unverifiable']} unverifiable; "
          f"score {verdict.score:.2f}")
    for cc in verdict.claims:
        leads = f" [{','.join(cc.claim.leads)}]" if cc.claim.leads else ""
        print(f"  {cc.status:<12} {cc.claim.name}{leads}: \"{cc.claim.text}\" -- {cc.evidence}")
    return 0
