"""`gem-ecg retrain`: continual retraining on Ray Train, then the promotion gate in the MLflow
registry (the `champion` alias moves only if the candidate beats it on held-out ECGs)."""
from __future__ import annotations

import json

HELP = "fine-tune GEM on verified reports and clinician feedback (Ray Train), promote only if better"


def add_arguments(p) -> None:
    p.add_argument("--reports", required=True, metavar="URI", help="scoring job output (its committed rows)")
    p.add_argument("--feedback", metavar="URI",
                   help="clinician corrections: JSON Lines / CSV / Parquet with record_id and report or labels")
    p.add_argument("--knowledge", metavar="URI", help="knowledge-guided items (gem-ecg knowledge JSON Lines)")
    p.add_argument("--base", required=True, metavar="MODEL_URI",
                   help="model to fine-tune: directory, object-store URL or models:/NAME@champion")
    p.add_argument("--registry-name", required=True, metavar="NAME", help="registered model the candidate joins")
    p.add_argument("--address", help="Ray cluster address (else RAY_ADDRESS, else a local Ray)")
    p.add_argument("--workers", type=int, default=2, help="Ray Train workers (default 2)")
    p.add_argument("--use-gpu", action="store_true", help="one GPU per worker, NCCL (default: CPU, gloo)")
    p.add_argument("--cpus-per-worker", type=float, default=1.0, help="CPUs per worker (default 1)")
    p.add_argument("--worker-resources", type=json.loads, default={}, metavar="JSON",
                   help='custom Ray resources per worker, e.g. \'{"gem_gpu_node": 0.01}\'')
    p.add_argument("--storage", metavar="URI", help="checkpoint storage, local or s3:// (default DATA_DIR/retrain)")
    p.add_argument("--max-failures", type=int, default=2, help="worker-group restarts from the last checkpoint")
    p.add_argument("--steps", type=int, default=200, help="optimiser steps (default 200)")
    p.add_argument("--batch-size", type=int, default=4, help="examples per worker per step (default 4)")
    p.add_argument("--lr", type=float, default=2e-4, help="peak learning rate (default 2e-4)")
    p.add_argument("--warmup-steps", type=int, default=10)
    p.add_argument("--max-length", type=int, metavar="TOKENS",
                   help="cap on text tokens per example (default: whole reports)")
    p.add_argument("--checkpoint-every", type=int, default=50, metavar="STEPS")
    p.add_argument("--finetune", choices=["auto", "full", "lora"], default="auto",
                   help="auto: LoRA in bfloat16 for GEM-7B, full fine-tune for small models")
    p.add_argument("--lora-r", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--min-report-score", type=float, help="grounding score a scored report needs to train (default 0.8)")
    p.add_argument("--heldout-fraction", type=float, help="share of patients held out (default 0.2)")
    p.add_argument("--margin", type=float, help="relative held-out loss improvement needed to promote (default 0.02)")
    p.add_argument("--eval-max-new-tokens", type=int, default=256, help="report length in the held-out evaluation")
    p.add_argument("--tracking-uri", help="MLflow tracking URI (else MLFLOW_TRACKING_URI, else the embedded sqlite)")
    p.add_argument("--data-dir", default="data", help="local root of the embedded default (default ./data)")
    p.add_argument("--json", action="store_true", help="print the run summary as JSON")


def run(args) -> int:
    from gem_core.training.lora import LoraSettings
    from gem_core.training.loop import TrainConfig
    from jobs.retrain import RetrainConfig, run_retrain

    train = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, warmup_steps=args.warmup_steps,
                        max_length=args.max_length, checkpoint_every=args.checkpoint_every,
                        finetune=args.finetune, lora=LoraSettings(r=args.lora_r, alpha=2 * args.lora_r),
                        seed=args.seed)
    optional = {k: getattr(args, k) for k in ("min_report_score", "heldout_fraction", "margin")
                if getattr(args, k) is not None}
    cfg = RetrainConfig(base=args.base, registry_name=args.registry_name, reports=args.reports,
                        feedback=args.feedback, knowledge=args.knowledge, address=args.address,
                        workers=args.workers, use_gpu=args.use_gpu, cpus_per_worker=args.cpus_per_worker,
                        worker_resources=args.worker_resources, storage=args.storage,
                        max_failures=args.max_failures, train=train, eval_max_new_tokens=args.eval_max_new_tokens,
                        tracking_uri=args.tracking_uri, data_dir=args.data_dir, **optional)
    summary = run_retrain(cfg, log=(lambda *a: None) if args.json else print)
    if args.json:
        print(json.dumps(summary, default=str))
    else:
        verdict = "promoted to champion" if summary["promoted"] else "not promoted"
        print(f"{summary['registry_name']} version {summary['candidate_version']} {verdict}; "
              f"champion {summary['champion_before']} -> {summary['champion_after']}; loss "
              f"{summary['loss_first']:.3f} -> {summary['loss_last']:.3f}; MLflow run {summary['mlflow_run_id']}")
    return 0
