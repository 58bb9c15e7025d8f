"""`gem-ecg score`: the batch scoring job (Ray Data), cohort or nightly (--incremental)."""
from __future__ import annotations

import json

HELP = "score a cohort or a nightly arrival with GEM on Ray Data"


def add_arguments(p) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", metavar="URI", help="local directory or object-store prefix scanned for .hea")
    src.add_argument("--manifest", metavar="FILE", help="CSV or Parquet of record URIs (optional record_id, metadata)")
    p.add_argument("--output", required=True, metavar="URI", help="output root (local directory or s3://...)")
    p.add_argument("--model", required=True, metavar="URI",
                   help="model directory, object-store URL, or models:/<name>@<alias>")
    p.add_argument("--incremental", action="store_true",
                   help="skip records that already have an ok row for this model version")
    p.add_argument("--address", help="Ray cluster address (else RAY_ADDRESS, else a local Ray)")
    p.add_argument("--batch-size", type=int, default=8, help="GEM batch per inference call (default 8)")
    p.add_argument("--num-gpus-per-worker", type=float, default=0.0, help="GPUs per inference actor (default 0: CPU)")
    p.add_argument("--workers", type=int, default=1, help="inference actors (default 1)")
    p.add_argument("--cpus-per-worker", type=float, default=1.0, help="CPUs per inference actor (default 1)")
    p.add_argument("--worker-memory-mb", type=int, default=2048, help="host memory reserved per inference actor")
    p.add_argument("--worker-resources", type=json.loads, default={}, metavar="JSON",
                   help='custom Ray resources per inference actor, e.g. \'{"gpu_node": 0.01}\'')
    p.add_argument("--prepare-batch-size", type=int, default=32, help="records per preparation task (default 32)")
    p.add_argument("--prepare-cpus", type=float, default=1.0, help="CPUs per preparation task (default 1)")
    p.add_argument("--prepare-memory-mb", type=int, default=512, help="memory per preparation task")
    p.add_argument("--prepare-resources", type=json.loads, default={}, metavar="JSON",
                   help='custom Ray resources per preparation task, e.g. \'{"cpu_node": 0.01}\'')
    p.add_argument("--images", action="store_true", help="also write review PNGs under OUTPUT/images/")
    p.add_argument("--prompt-measurements", action="store_true",
                   help="append measured global values and findings to the question")
    p.add_argument("--keep-metadata", action="store_true",
                   help="copy header comments (age, sex, free text) into the output rows")
    p.add_argument("--max-new-tokens", type=int, default=1024)
    p.add_argument("--dtype", default="auto", choices=["auto", "bfloat16", "float16", "float32"])
    p.add_argument("--offset", type=float, default=0.0, metavar="S", help="start of the 10 s window")
    p.add_argument("--part-rows", type=int, default=256, help="rows per staged Parquet part")
    p.add_argument("--tracking-uri", help="MLflow tracking URI (else MLFLOW_TRACKING_URI, else the embedded sqlite)")
    p.add_argument("--data-dir", default="data", help="local root of the embedded default (default ./data)")
    p.add_argument("--json", action="store_true", help="print the run summary as JSON")


def run(args) -> int:
    from jobs.score import ScoreConfig, run_score

    cfg = ScoreConfig(
        output=args.output, model=args.model, input=args.input, manifest=args.manifest,
        incremental=args.incremental, address=args.address, batch_size=args.batch_size,
        num_gpus_per_worker=args.num_gpus_per_worker, workers=args.workers,
        cpus_per_worker=args.cpus_per_worker, worker_memory_mb=args.worker_memory_mb,
        worker_resources=args.worker_resources, prepare_cpus=args.prepare_cpus,
        prepare_memory_mb=args.prepare_memory_mb, prepare_batch_size=args.prepare_batch_size, prepare_resources=args.prepare_resources,
        images=args.images,
        prompt_measurements=args.prompt_measurements, keep_metadata=args.keep_metadata,
        max_new_tokens=args.max_new_tokens, dtype=args.dtype, offset_s=args.offset,
        part_rows=args.part_rows, tracking_uri=args.tracking_uri, data_dir=args.data_dir)
    log = (lambda *a: None) if args.json else print
    summary = run_score(cfg, log=log)
    if args.json:
        print(json.dumps(summary, default=str))
    else:
        c, m = summary["counts"], summary["metrics"]
        print(f"committed run {summary['run_id']}: {c['rows']} rows ({m['ok']} ok, {m['errors']} errors now), "
              f"{m['ecgs_per_s']:.2f} ECGs/s -> {summary['output']}")
    return 0
