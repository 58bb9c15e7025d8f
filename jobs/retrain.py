"""Continual retraining on Ray Train, then the promotion gate.

    driver   training set (knowledge + verified reports + feedback, one example per record,
             patient-level split) -> examples as JSON Lines beside the checkpoints
             -> the champion's version -> TorchTrainer.fit
    workers  DDP (gloo on CPU, NCCL on GPUs): resolve and load the base model, or resume from
             Ray Train's latest checkpoint; read, prepare and render their shard; train
             (gem_core.training.loop); every `checkpoint_every` steps rank 0 writes a
             checkpoint that Ray Train copies to the storage (local or S3)
    rank 0   at the end: export the model (LoRA merged), evaluate it and the champion (the
             base model when there is none) on the held-out examples; the final checkpoint
             holds model/, evaluation.json and the whole step history
    driver   MLflow run (params, per-step metrics, the model directory as artifacts) -> gate:
             register the candidate, move `champion` only if it beats the champion by the margin

A worker that dies makes Ray Train restart the group (FailureConfig(max_failures)); every
worker then resumes from the last checkpoint, with the batches an uninterrupted run would
have drawn (gem_core.training.data). `fail_once` is a fault drill: the named worker exits at the
named step once (a marker file remembers), to check that a run survives it.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from gem_core.registry import MARGIN
from gem_core.training.examples import MIN_REPORT_SCORE
from gem_core.training.loop import TrainConfig
from gem_core.training.split import HELDOUT_FRACTION, SPLIT_SALT


@dataclass
class RetrainConfig:
    base: str                                # model directory, object-store URL or models:/NAME@champion
    registry_name: str
    reports: str | None = None               # scoring job output URI
    feedback: str | None = None              # clinician corrections (JSON Lines / CSV / Parquet)
    knowledge: str | None = None             # ECG-Grounding items (gem-ecg knowledge)
    address: str | None = None
    workers: int = 2
    use_gpu: bool = False
    cpus_per_worker: float = 1.0
    worker_resources: dict = field(default_factory=dict)   # custom labels, e.g. {"gem_gpu_node": 0.01}
    storage: str | None = None               # checkpoints; default <data_dir>/retrain
    max_failures: int = 2
    train: TrainConfig = field(default_factory=TrainConfig)
    min_report_score: float = MIN_REPORT_SCORE
    heldout_fraction: float = HELDOUT_FRACTION
    split_salt: str = SPLIT_SALT
    margin: float = MARGIN
    eval_max_new_tokens: int = 256
    eval_batch_size: int = 8
    tracking_uri: str | None = None
    data_dir: str = "data"
    experiment: str = "gem-ecg-retraining"
    fail_once: dict | None = None            # fault drill: {"rank", "step", "marker", "hold_s"}


# --- on the workers ------------------------------------------------------------------------------
def _report(metrics: dict, rank: int, write=None) -> None:
    """Every worker reports (Ray Train needs all of them); rank 0 attaches a checkpoint."""
    import ray.train

    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = None
        if rank == 0 and write is not None:
            write(Path(tmp))
            checkpoint = ray.train.Checkpoint.from_directory(tmp)
        ray.train.report(metrics, checkpoint=checkpoint)


def _fault_drill(drill: dict | None, rank: int, step: int) -> None:
    """Exit abruptly once, as a killed process would: no cleanup, no exception. The worker
    stalls `hold_s` first: Ray Train registers a checkpoint when its health poll (every 2 s)
    has collected every worker's report of it, and a worker dying sooner after a checkpoint
    makes the run resume from the checkpoint before."""
    if drill and rank == drill["rank"] and step == drill["step"] and not os.path.exists(drill["marker"]):
        Path(drill["marker"]).write_text(f"worker rank {rank} exited after step {step}, pid {os.getpid()}\n")
        time.sleep(drill.get("hold_s", 5.0))
        os._exit(1)


def evaluate_heldout(model, tokenizer, config: dict, cfg: TrainConfig, device) -> dict:
    """The candidate and the champion (or the base) on the same held-out examples."""
    from gem_core.evaluation import evaluate
    from gem_core.model.loader import load_gem
    from gem_core.tracking import resolve_model
    from gem_core.training.data import load_examples
    from gem_core.training.examples import read_examples

    heldout = load_examples(read_examples(config["heldout_uri"]), model.config.vision.image_size, measure=True)
    if not heldout.examples:
        raise RuntimeError(f"no held-out example could be loaded: {heldout.errors[:3]}")
    kw = dict(max_new_tokens=config["eval_max_new_tokens"], batch_size=config["eval_batch_size"],
              with_reference=True, max_length=cfg.max_length)
    candidate = evaluate(model, tokenizer, heldout, **kw)
    version = config["champion_version"]
    ref_uri = f"models:/{config['registry_name']}/{version}" if version else config["base"]
    ref_dir = resolve_model(ref_uri, config["tracking"])[0]
    ref_model, ref_tokenizer, _ = load_gem(ref_dir, dtype=cfg.dtype, device=device)
    champion = evaluate(ref_model, ref_tokenizer, heldout, **kw)
    return {"candidate": candidate, "champion": champion, "champion_uri": ref_uri, "champion_version": version,
            "heldout_ids": [e.record_id for e in heldout.examples], "load_errors": heldout.errors}


def train_worker(config: dict) -> None:
    """Ray Train's per-worker loop (also the unit a restarted worker group runs again)."""
    import ray.train
    import torch
    from ray.train.torch import get_device, prepare_model

    from gem_core.model.loader import load_gem
    from gem_core.tracking import resolve_model
    from gem_core.training.checkpoint import (EVALUATION_FILE, HISTORY_FILE, MODEL_DIR, export_model,
                                              load_checkpoint_state, restore_model, save_checkpoint)
    from gem_core.training.data import load_examples, shard
    from gem_core.training.examples import read_examples
    from gem_core.training.loop import make_optimizer, prepare_for_training, resolve_finetune, train

    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    device = get_device()
    if device.type == "cpu":
        torch.set_num_threads(config["torch_threads"])
    base_dir = resolve_model(config["base"], config["tracking"])[0]
    cfg = resolve_finetune(TrainConfig(**config["train"]), base_dir)

    checkpoint = ray.train.get_checkpoint()
    if checkpoint is not None:
        # A private copy per worker: workers on one node reading one shared download of a
        # remote checkpoint can catch a file still being written.
        with tempfile.TemporaryDirectory() as tmp:
            d = checkpoint.to_directory(os.path.join(tmp, "checkpoint"))
            state = load_checkpoint_state(d)
            model, tokenizer = restore_model(d, base_dir, cfg, device)
        start, history = state["step"], state["history"]
    else:
        model, tokenizer, _ = load_gem(base_dir, dtype=cfg.dtype, device=device)
        model = prepare_for_training(model, cfg)
        start, history, state = 0, [], None
    history.append({"event": "start", "step": start, "resumed": checkpoint is not None, "world": world,
                    "finetune": cfg.finetune, "dtype": cfg.dtype})
    optimizer = make_optimizer(model, cfg)
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
    core = model
    model = prepare_model(model, move_to_device=False)   # DDP over the group (as is when world == 1)

    if start < cfg.steps:
        examples = read_examples(config["train_uri"])
        loaded = load_examples([examples[i] for i in shard(len(examples), rank, world)], core.config.vision.image_size)
        if loaded.errors:
            print(f"rank {rank}: skipped {len(loaded.errors)} unreadable records, e.g. {loaded.errors[0]}")

        def on_step(step: int, metrics: dict) -> None:
            _fault_drill(config.get("fail_once"), rank, step)
            history.append(metrics)
            done = step + 1
            if done % cfg.checkpoint_every == 0 or done == cfg.steps:
                _report({**metrics, "next_step": done}, rank,
                        lambda d: save_checkpoint(d, model, tokenizer, optimizer, done, history))

        train(model, tokenizer, loaded, cfg, optimizer, start, rank, on_step)

    def write_final(d: Path) -> None:
        export_model(core, tokenizer, d / MODEL_DIR)
        core.eval().requires_grad_(False)
        evaluation = evaluate_heldout(core, tokenizer, config, cfg, device)
        (d / EVALUATION_FILE).write_text(json.dumps(evaluation, default=str))
        (d / HISTORY_FILE).write_text(json.dumps(history))

    del optimizer
    _report({"step": cfg.steps, "final": True}, rank, write_final)


# --- on the driver -------------------------------------------------------------------------------
def _storage(cfg: RetrainConfig) -> str:
    if cfg.storage:
        return cfg.storage if "://" in cfg.storage else str(Path(cfg.storage).resolve())
    return str((Path(cfg.data_dir) / "retrain").resolve())


def _log_run(mlflow, cfg: RetrainConfig, training_set, history: list[dict], final_dir: Path,
             evaluation: dict, run_name: str) -> tuple[str, str]:
    """The MLflow run: params, per-step metrics, both evaluations, the model directory."""
    from mlflow.entities import Metric

    from gem_core.evaluation import summary_metrics
    from gem_core.tracking import MODEL_ARTIFACT_PATH

    with mlflow.start_run(run_name=run_name) as run:
        params = {"base": cfg.base, "registry_name": cfg.registry_name, "reports": cfg.reports,
                  "feedback": cfg.feedback, "knowledge": cfg.knowledge, "workers": cfg.workers,
                  "use_gpu": cfg.use_gpu, "margin": cfg.margin, "min_report_score": cfg.min_report_score,
                  "heldout_fraction": cfg.heldout_fraction, "split_salt": cfg.split_salt,
                  "champion_evaluated": evaluation["champion_uri"],
                  **{f"train.{k}": v for k, v in asdict(cfg.train).items() if k != "lora"},
                  **{f"train.lora.{k}": v for k, v in asdict(cfg.train.lora).items()},
                  **{f"data.{k}": v for k, v in training_set.counts.items()}}
        start = next((h for h in history if h.get("event") == "start"), {})
        params.update(finetune_resolved=start.get("finetune"), dtype_resolved=start.get("dtype"))
        mlflow.log_params({k: "" if v is None else v for k, v in params.items()})
        now = int(time.time() * 1000)
        steps = [h for h in history if "loss" in h]
        metrics = [Metric(k, float(h[k]), now, int(h["step"])) for h in steps for k in ("loss", "lr", "step_s")]
        for who in ("candidate", "champion"):
            metrics += [Metric(f"{who}_{k}", v, now, 0) for k, v in summary_metrics(evaluation[who]).items()]
        client = mlflow.MlflowClient()
        for i in range(0, len(metrics), 900):   # the store's batch limit is 1000
            client.log_batch(run.info.run_id, metrics=metrics[i:i + 900])
        mlflow.log_artifacts(str(final_dir / "model"), artifact_path=MODEL_ARTIFACT_PATH)
        mlflow.log_dict({"examples": [e.to_dict() for e in training_set.examples],
                         "rejected": training_set.rejected, "counts": training_set.counts}, "training_set.json")
        mlflow.log_dict(evaluation, "evaluation.json")
        mlflow.log_dict({"history": history}, "history.json")
        return run.info.run_id, f"{run.info.artifact_uri}/{MODEL_ARTIFACT_PATH}"


def run_retrain(cfg: RetrainConfig, log=print) -> dict:
    """Build the set, train on Ray Train, log to MLflow, gate; returns the run summary."""
    import ray.train
    from ray.train.torch import TorchConfig, TorchTrainer

    from gem_core.errors import GemError
    from gem_core.registry import CHAMPION_ALIAS, champion_version, client_for, gate
    from gem_core.tracking import setup_mlflow, tracking_uri
    from gem_core.training.examples import build_training_set, write_examples
    from jobs.ray_session import init_ray

    t_start = time.perf_counter()
    tracking = tracking_uri(cfg.tracking_uri, cfg.data_dir)
    ts = build_training_set(cfg.knowledge, cfg.reports, cfg.feedback, cfg.min_report_score,
                            cfg.heldout_fraction, cfg.split_salt, cfg.train.seed)
    log(f"training set: {json.dumps(ts.counts)}")
    if len(ts.train) < cfg.workers:
        raise GemError(f"{len(ts.train)} training examples for {cfg.workers} workers "
                       f"({len(ts.rejected)} rows rejected{', e.g. ' + str(ts.rejected[0]) if ts.rejected else ''})")
    if not ts.heldout:
        raise GemError("no held-out examples: the gate has nothing to compare the models on "
                       f"(held-out fraction {cfg.heldout_fraction}, {ts.counts['patients']} patients)")
    mlflow = setup_mlflow(tracking, cfg.experiment)
    client = client_for(tracking)
    champion_before = champion_version(client, cfg.registry_name)

    run_name = f"retrain-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    storage = _storage(cfg)
    data_uri = f"{storage.rstrip('/')}/{run_name}-data"
    worker_config = {
        "base": cfg.base, "tracking": tracking, "registry_name": cfg.registry_name,
        "champion_version": champion_before, "train": asdict(cfg.train),
        "train_uri": write_examples(f"{data_uri}/train.jsonl", ts.train),
        "heldout_uri": write_examples(f"{data_uri}/heldout.jsonl", ts.heldout),
        "eval_max_new_tokens": cfg.eval_max_new_tokens, "eval_batch_size": cfg.eval_batch_size,
        "torch_threads": max(1, int(cfg.cpus_per_worker)), "fail_once": cfg.fail_once,
    }
    resources = {"CPU": cfg.cpus_per_worker, **cfg.worker_resources}
    if cfg.use_gpu:
        resources["GPU"] = 1
    init_ray(cfg.address)
    trainer = TorchTrainer(
        train_worker, train_loop_config=worker_config,
        torch_config=TorchConfig(backend="nccl" if cfg.use_gpu else "gloo"),
        scaling_config=ray.train.ScalingConfig(num_workers=cfg.workers, use_gpu=cfg.use_gpu,
                                               resources_per_worker=resources),
        run_config=ray.train.RunConfig(name=run_name, storage_path=storage,
                                       failure_config=ray.train.FailureConfig(max_failures=cfg.max_failures),
                                       checkpoint_config=ray.train.CheckpointConfig(num_to_keep=2)))
    log(f"{run_name}: {cfg.workers} workers ({'GPU' if cfg.use_gpu else 'CPU'}), {cfg.train.steps} steps, "
        f"checkpoints in {storage}/{run_name}")
    result = trainer.fit()
    if result.checkpoint is None:
        raise GemError(f"{run_name}: training ended without a checkpoint ({result.error})")

    with tempfile.TemporaryDirectory() as tmp:
        final = Path(result.checkpoint.to_directory(str(Path(tmp) / "final")))
        evaluation = json.loads((final / "evaluation.json").read_text())
        history = json.loads((final / "history.json").read_text())
        run_id, model_source = _log_run(mlflow, cfg, ts, history, final, evaluation, run_name)
    decision = gate(client, cfg.registry_name, model_source, run_id, evaluation["candidate"],
                    evaluation["champion"], champion_before, cfg.margin)
    with mlflow.start_run(run_id=run_id):
        mlflow.set_tags({"gate.decision": "promoted" if decision.promoted else "rejected",
                         "gate.reason": decision.reason, "registered_version": decision.candidate_version})
        mlflow.log_dict(decision.to_dict(), "gate_decision.json")
    log(f"{cfg.registry_name} version {decision.candidate_version}: {decision.reason}")

    losses = [h["loss"] for h in history if "loss" in h]
    return {
        "run_name": run_name, "mlflow_run_id": run_id, "registry_name": cfg.registry_name,
        "candidate_version": decision.candidate_version, "promoted": decision.promoted,
        "reason": decision.reason, "champion_before": champion_before, "champion_after": decision.champion_after,
        "alias": CHAMPION_ALIAS, "gate": decision.to_dict(), "counts": ts.counts,
        "loss_first": losses[0] if losses else None, "loss_last": losses[-1] if losses else None,
        "starts": [h for h in history if h.get("event") == "start"],
        "checkpoint": result.checkpoint.path, "storage": storage, "wall_s": time.perf_counter() - t_start,
    }


def main(argv=None) -> int:
    """`python -m jobs.retrain ...` (what `ray job submit -- ...` runs): same as `gem-ecg retrain`."""
    from jobs.cli import main as cli_main

    return cli_main(["retrain", *(argv if argv is not None else sys.argv[1:])])


if __name__ == "__main__":
    sys.exit(main())
