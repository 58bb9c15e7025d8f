"""`gem-ecg eval --model URI (--input URI | --manifest FILE) [--labels FILE]`: finding-level
precision / recall / F1 of the model's generated reports on a labelled cohort, ROC AUC where a
continuous score exists, and the grounding verifier's statistics (gem_core.evaluation).

Labels, first found: --labels (JSON {record_id: [labels] or "a,b"}, or JSON Lines / CSV / Parquet
rows with record_id and labels), the manifest's `labels` column, a `<record>.truth.json` beside
each record (the synthetic cohort's ground truth, key "findings"). Without labels only the
grounding statistics are reported."""
from __future__ import annotations

import json
import sys

HELP = "finding-level metrics and grounding statistics of a model's reports on a labelled cohort"


def add_arguments(p) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", metavar="URI", help="local directory or object-store prefix scanned for .hea")
    src.add_argument("--manifest", metavar="FILE", help="CSV or Parquet of record URIs (optional labels column)")
    p.add_argument("--model", required=True, metavar="URI",
                   help="model directory, object-store URL, or models:/<name>@<alias>")
    p.add_argument("--labels", metavar="FILE", help="labels per record id (see gem-ecg eval --help)")
    p.add_argument("--scheme", default="findings", choices=["findings", "ptbxl", "code15", "cpsc"],
                   help="label classes: finding codes, PTB-XL super-classes, CODE-15 or CPSC-2018 classes")
    p.add_argument("--max-new-tokens", type=int, default=256, help="report length (default 256)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--dtype", default="auto", choices=["auto", "bfloat16", "float16", "float32"])
    p.add_argument("--tracking-uri", help="MLflow tracking URI for models:/ URIs")
    p.add_argument("--data-dir", default="data", help="local root of the embedded default (default ./data)")
    p.add_argument("--json", action="store_true", help="print every metric (and each generated report) as JSON")


def _labels_file(uri: str) -> dict:
    from gem_core.training.examples import parse_labels, read_rows

    if uri.endswith(".json"):
        import fsspec

        with fsspec.open(uri, "r") as f:
            data = json.load(f)
        if isinstance(data, dict):
            return {str(k): parse_labels(v) for k, v in data.items()}
        rows = data
    else:
        rows = read_rows(uri)
    return {str(r["record_id"]): parse_labels(r.get("labels")) for r in rows}


def _truth_sidecar(uri: str) -> list | None:
    import fsspec

    try:
        with fsspec.open(uri + ".truth.json", "r") as f:
            return json.load(f).get("findings")
    except FileNotFoundError:
        return None


def run(args) -> int:
    import torch

    from gem_core.archive import list_inputs
    from gem_core.errors import GemError
    from gem_core.evaluation import evaluate, format_table
    from gem_core.model.loader import load_gem
    from gem_core.tracking import resolve_model, tracking_uri
    from gem_core.training.data import load_examples
    from gem_core.training.examples import TrainingExample, parse_labels

    inputs = list_inputs(args.input, args.manifest)
    skipped = [{"record_id": r.record_id, "reason": r.problem} for r in inputs if r.problem]
    inputs = [r for r in inputs if not r.problem]
    labels: dict | None = _labels_file(args.labels) if args.labels else None
    if labels is None:
        found = {r.record_id: parse_labels(r.meta["labels"]) for r in inputs if r.meta.get("labels")}
        found = found or {r.record_id: t for r in inputs if (t := _truth_sidecar(r.uri)) is not None}
        labels = found or None

    tracking = tracking_uri(args.tracking_uri, args.data_dir) if args.model.startswith("models:/") else None
    weights, name, version = resolve_model(args.model, tracking)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = args.dtype if args.dtype != "auto" else ("bfloat16" if device == "cuda" else "float32")
    model, tokenizer, config = load_gem(weights, dtype=dtype, device=device)
    loaded = load_examples([TrainingExample(r.record_id, r.uri, "") for r in inputs], config.vision.image_size,
                           measure=True)
    skipped += loaded.errors
    for s in skipped:
        print(f"gem-ecg eval: skipped {s['record_id']}: {s['reason']}", file=sys.stderr)
    if not loaded.examples:
        raise GemError(f"no record could be evaluated ({len(skipped)} skipped)")
    result = evaluate(model, tokenizer, loaded, labels, args.scheme, args.max_new_tokens, args.batch_size)
    result.update(model=args.model, model_name=name, model_version=version, skipped=skipped,
                  labelled=sum(e.record_id in (labels or {}) for e in loaded.examples))
    if args.json:
        print(json.dumps(result, default=str))
    else:
        print(f"model {name} {version}: {result['n']} records, {result['labelled']} labelled, {len(skipped)} skipped")
        print(format_table(result))
    return 0
