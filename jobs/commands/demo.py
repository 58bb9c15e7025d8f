"""`gem-ecg demo`: the whole loop on embedded defaults (see jobs/demo.py)."""
from __future__ import annotations

import json
from pathlib import Path

HELP = "the whole loop on embedded defaults"


def add_arguments(p) -> None:
    from jobs.demo import SHARED_RECORDS

    p.add_argument("--data-dir", type=Path, default=Path("data"), help="local root of the embedded default (default ./data)")
    p.add_argument("--records", type=Path, default=SHARED_RECORDS, help=f"real records to include (default {SHARED_RECORDS})")
    p.add_argument("--n-synth", type=int, default=200, help="synthetic ECGs in the archive (default 200)")
    p.add_argument("--steps", type=int, default=300, help="training steps of the first gem-tiny (default 300)")
    p.add_argument("--retrain-steps", type=int, default=60, help="steps of the retraining round (default 60)")
    p.add_argument("--max-new-tokens", type=int, default=200, help="report length cap (default 200)")
    p.add_argument("--workers", type=int, default=2, help="Ray Train workers (default 2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--address", help="Ray cluster address (else RAY_ADDRESS, else a local Ray)")
    p.add_argument("--tracking-uri", help="MLflow tracking URI (else MLFLOW_TRACKING_URI, else DATA_DIR/mlflow.db)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args) -> int:
    from jobs.demo import DemoConfig, print_summary, run_demo

    cfg = DemoConfig(data_dir=args.data_dir, records=args.records, n_synth=args.n_synth, seed=args.seed,
                     steps=args.steps, retrain_steps=args.retrain_steps, max_new_tokens=args.max_new_tokens,
                     workers=args.workers, address=args.address, tracking_uri=args.tracking_uri,
                     log=(lambda *a: None) if args.json else print)
    summary = run_demo(cfg)
    if args.json:
        print(json.dumps(summary, default=str))
    else:
        print_summary(summary)
    return 0
