"""`gem-ecg knowledge (--input URI | --manifest FILE) --output URI`: knowledge-guided
grounding data, one ECG-Grounding item per record, as JSON Lines."""
from __future__ import annotations

import json
import sys

HELP = "knowledge-guided grounding data (ECG-Grounding items as JSON Lines)"


def add_arguments(p) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", metavar="URI", help="local directory or object-store prefix scanned for .hea")
    src.add_argument("--manifest", metavar="FILE", help="CSV or Parquet of record URIs (optional record_id, "
                                                        "labels, report columns)")
    p.add_argument("--output", required=True, metavar="URI", help="output .jsonl file (local path or s3://...)")
    p.add_argument("--seed", type=int, default=0, help="wording seed (default 0)")
    p.add_argument("--labels", metavar="FILE",
                   help="clinician diagnoses: JSON object {record_id: [codes] | \"report text\"}")
    p.add_argument("--no-header-labels", action="store_true",
                   help="ignore diagnoses written in record headers (PTB 'Reason for admission')")
    p.add_argument("--images", metavar="DIR",
                   help="also write each record's review PNG to DIR/<id>.png and put that path in the item")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def _clinician(record_id: str, meta: dict, labels_file: dict, header_meta: dict, use_header: bool):
    """(labels, report) for a record: labels file first, then manifest columns, then header."""
    from gem_core.grounding.knowledge import clinician_text_from_metadata

    given = labels_file.get(record_id)
    if isinstance(given, list):
        return given, None
    if isinstance(given, str):
        return None, given
    if meta.get("labels"):
        return [c.strip() for c in str(meta["labels"]).replace(";", ",").split(",") if c.strip()], None
    if meta.get("report"):
        return None, str(meta["report"])
    return None, (clinician_text_from_metadata(header_meta) if use_header else None)


def run(args) -> int:
    import fsspec

    from gem_core.archive import list_inputs
    from gem_core.errors import GemError, RecordError
    from gem_core.grounding.knowledge import knowledge_item
    from gem_core.measure import measure_ecg
    from gem_core.prepare import load_prepared

    labels_file = {}
    if args.labels:
        with fsspec.open(args.labels, "r") as f:
            labels_file = json.load(f)
    inputs = list_inputs(args.input, args.manifest)
    written, skipped, supported = 0, [], 0
    with fsspec.open(args.output, "w", encoding="utf-8") as out:
        for rec in inputs:
            if rec.problem:
                skipped.append((rec.record_id, rec.problem))
                print(f"gem-ecg knowledge: skipped {rec.record_id}: {rec.problem}", file=sys.stderr)
                continue
            try:
                prepared = load_prepared(rec.uri)
            except RecordError as exc:
                skipped.append((rec.record_id, exc.reason))
                print(f"gem-ecg knowledge: skipped {rec.record_id}: {exc.reason}", file=sys.stderr)
                continue
            m = measure_ecg(prepared.signal, prepared.fs).to_dict()
            labels, report = _clinician(rec.record_id, rec.meta, labels_file, prepared.metadata,
                                        not args.no_header_labels)
            image = None
            if args.images:
                from gem_core.render import review_png

                image = f"{args.images.rstrip('/')}/{rec.record_id}.png"
                with fsspec.open(image, "wb", auto_mkdir=True) as f:
                    f.write(review_png(prepared.signal, m, "gem", rec.record_id))
            item, para = knowledge_item(rec.record_id, rec.uri, m, image=image, labels=labels, report=report,
                                        seed=args.seed)
            out.write(json.dumps(item) + "\n")
            written += 1
            supported += para.verdict.fully_supported
    summary = {"output": args.output, "items": written, "fully_supported": supported,
               "skipped": len(skipped), "skipped_records": [{"record": r, "reason": why} for r, why in skipped]}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"wrote {written} items ({supported} fully supported) to {args.output}; {len(skipped)} records skipped")
    if skipped:
        print(f"gem-ecg knowledge: {len(skipped)} records skipped", file=sys.stderr)
    if inputs and not written:
        raise GemError(f"no items written: all {len(inputs)} records were skipped")
    return 0
