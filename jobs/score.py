"""The batch scoring job on Ray Data (cohort and nightly modes).

    inputs -> [prepare: CPU tasks] -> [GEM + verify: actor pool, explicit batch]
           -> driver stages Parquet parts as rows stream in -> commit -> MLflow run

Stages stream: inference starts as soon as the first prepared batch exists. The driver only
collects finished rows (no signals or images) and writes them as staged parts of the run;
the run becomes visible to readers when it commits (gem_core.report_store). A driver killed
mid-run leaves its staged parts; the next run on the same inputs and model resumes it.
"""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field

from jobs.ray_session import init_ray


@dataclass
class ScoreConfig:
    output: str
    model: str
    input: str | None = None
    manifest: str | None = None
    incremental: bool = False
    address: str | None = None
    batch_size: int = 8                  # GEM batch per actor call
    num_gpus_per_worker: float = 0.0     # 0: CPU inference (this machine); 1 on a GPU cluster
    workers: int = 1                     # inference actors
    cpus_per_worker: float = 1.0
    worker_memory_mb: int = 2048         # host memory reserved per inference actor
    worker_resources: dict = field(default_factory=dict)   # custom labels, e.g. {"gpu_node": 0.01}
    prepare_cpus: float = 1.0
    prepare_memory_mb: int = 512         # per prepare task (a record, its page and image)
    prepare_resources: dict = field(default_factory=dict)
    prepare_batch_size: int = 32         # records per prepare task: fewer, larger tasks overlap better
    images: bool = False                 # also write review PNGs
    prompt_measurements: bool = False
    keep_metadata: bool = False
    max_new_tokens: int = 1024
    dtype: str = "auto"                  # auto: bfloat16 on GPU, float32 on CPU
    offset_s: float = 0.0
    part_rows: int = 256                 # rows per staged Parquet part
    tracking_uri: str | None = None
    data_dir: str = "data"
    experiment: str = "gem-ecg-scoring"
    extra_params: dict = field(default_factory=dict)

    def run_params(self) -> dict:
        """Settings that change what a row holds: a resumed run must share them."""
        return {"prompt_measurements": self.prompt_measurements, "max_new_tokens": self.max_new_tokens,
                "offset_s": self.offset_s, "keep_metadata": self.keep_metadata, "images": self.images}


class GemInference:
    """Ray Data actor: one GEM model per actor, batched greedy generation, then the (cheap)
    verification and the output rows, so that only finished rows, not signals and images,
    leave the actor."""

    def __init__(self, weights: str, dtype: str, num_gpus: float, cpus: float,
                 prompt_measurements: bool, max_new_tokens: int, run_id: str, model_name: str,
                 model_version: str, keep_metadata: bool):
        import torch

        from gem_core.model import GemGenerator, load_gem

        device = "cuda" if num_gpus > 0 and torch.cuda.is_available() else "cpu"
        if dtype == "auto":
            dtype = "bfloat16" if device == "cuda" else "float32"
        if device == "cpu":
            torch.set_num_threads(max(1, int(cpus)))
        model, tokenizer, _ = load_gem(weights, dtype=dtype, device=device)
        self.generator = GemGenerator(model, tokenizer)
        self.prompt_measurements = prompt_measurements
        self.max_new_tokens = max_new_tokens
        self.row_info = (run_id, model_name, model_version, keep_metadata)

    def __call__(self, batch: dict):
        from gem_core.scoring import infer_batch, output_table, verify_batch

        done = infer_batch(batch, self.generator, self.prompt_measurements, self.max_new_tokens)
        return output_table(verify_batch(done), *self.row_info)


def _input_rows(todo) -> list[dict]:
    return [{"record_id": r.record_id, "uri": r.uri, "problem": r.problem or "",
             "meta": json.dumps(r.meta, default=str)} for r in todo]


def _summary_metrics(table, wall_s: float, n_new: int) -> dict:
    import numpy as np

    status = table.column("status").to_pylist() if table is not None else []
    scores = [s for s in (table.column("grounding_score").to_pylist() if table is not None else []) if s is not None]
    m = {"rows": len(status), "ok": status.count("ok"), "errors": status.count("error"),
         "storage_retries": sum(table.column("retries").to_pylist()) if table is not None else 0,
         "wall_s": wall_s, "ecgs_per_s": n_new / wall_s if wall_s > 0 else 0.0}
    for stage in ("prepare", "infer", "verify"):
        vals = [v for v, s in zip(table.column(f"t_{stage}_s").to_pylist(), status) if s == "ok"] if table is not None else []
        if vals:
            # The median: a worker's first record also pays its imports (seconds).
            med = float(np.median(vals))
            m[f"{stage}_s_per_ecg"] = med
            m[f"{stage}_ecgs_per_s_per_worker"] = 1.0 / med if med > 0 else 0.0
    if scores:
        q = np.percentile(scores, [10, 50, 90])
        m.update(grounding_score_mean=float(np.mean(scores)), grounding_score_p10=float(q[0]),
                 grounding_score_p50=float(q[1]), grounding_score_p90=float(q[2]))
    return m


def run_score(cfg: ScoreConfig, log=print) -> dict:
    """Score the inputs; returns the run summary (also the committed run manifest's counts)."""
    import datetime as dt

    import pyarrow as pa

    from gem_core.archive import input_set_hash, list_inputs
    from gem_core.report_store import ReportStore, RunManifest, new_run_id
    from gem_core.tracking import resolve_model, tracking_uri

    t_start = time.perf_counter()
    tracking = tracking_uri(cfg.tracking_uri, cfg.data_dir)
    inputs = list_inputs(input_uri=cfg.input, manifest=cfg.manifest)
    weights, model_name, model_version = resolve_model(cfg.model, tracking)
    store = ReportStore(cfg.output)
    params = cfg.run_params()
    in_hash = input_set_hash(inputs)

    run = store.find_interrupted(in_hash, model_version, params)
    if run is not None:
        log(f"resuming interrupted run {run.run_id}")
    else:
        now = dt.datetime.now(dt.timezone.utc)
        run = RunManifest(run_id=new_run_id(), status="running", model_name=model_name,
                          model_version=model_version, input_hash=in_hash, n_inputs=len(inputs),
                          started_at=now.isoformat(), run_date=now.date().isoformat(), params=params)
        store.save_manifest(run)
    done = store.staged_ids(run.run_id)
    input_ids = {r.record_id for r in inputs}
    skipped = (store.ok_ids(model_version) & input_ids) - done if cfg.incremental else set()
    todo = [r for r in inputs if r.record_id not in done and r.record_id not in skipped]
    log(f"run {run.run_id}: {len(inputs)} inputs, {len(done)} already staged, "
        f"{len(skipped)} skipped (ok for {model_name} {model_version}), "
        f"{len(todo)} to score")

    tables = []
    seq = len(store.staged_parts(run.run_id))
    if todo:
        ray = init_ray(cfg.address)
        ds = ray.data.from_items(_input_rows(todo), override_num_blocks=max(1, len(todo) // cfg.prepare_batch_size))
        from gem_core.scoring import prepare_batch

        review_dir = f"{cfg.output.rstrip('/')}/images/{run.run_id}" if cfg.images else None
        # Each stage declares its own resources, so Ray places CPU work on CPU nodes and GEM
        # on GPU nodes; differing declarations also keep Ray from fusing preparation into the
        # inference actors, so the two overlap.
        mb = 1024 * 1024
        ds = ds.map_batches(prepare_batch, batch_size=cfg.prepare_batch_size, num_cpus=cfg.prepare_cpus,
                            memory=cfg.prepare_memory_mb * mb, resources=cfg.prepare_resources or None,
                            fn_kwargs={"offset_s": cfg.offset_s, "review_dir": review_dir})
        ds = ds.map_batches(
            GemInference, batch_size=cfg.batch_size, num_gpus=cfg.num_gpus_per_worker,
            num_cpus=cfg.cpus_per_worker, memory=cfg.worker_memory_mb * mb,
            resources=cfg.worker_resources or None, compute=ray.data.ActorPoolStrategy(size=cfg.workers),
            fn_constructor_kwargs={"weights": weights, "dtype": cfg.dtype, "num_gpus": cfg.num_gpus_per_worker,
                                   "cpus": cfg.cpus_per_worker, "prompt_measurements": cfg.prompt_measurements,
                                   "max_new_tokens": cfg.max_new_tokens, "run_id": run.run_id,
                                   "model_name": model_name, "model_version": model_version,
                                   "keep_metadata": cfg.keep_metadata})
        pending, n_pending = [], 0
        for batch in ds.iter_batches(batch_size=None, batch_format="pyarrow"):
            pending.append(batch)
            n_pending += batch.num_rows
            if n_pending >= cfg.part_rows:
                part = pa.concat_tables(pending)
                store.stage_part(run.run_id, seq, part)
                tables.append(part)
                seq, pending, n_pending = seq + 1, [], 0
                log(f"staged part {seq}: {part.num_rows} rows")
        if pending:
            part = pa.concat_tables(pending)
            store.stage_part(run.run_id, seq, part)
            tables.append(part)
    new = pa.concat_tables(tables) if tables else None
    wall = time.perf_counter() - t_start
    metrics = _summary_metrics(new, wall, len(todo))

    # Counts over the whole run (parts staged before a crash included).
    staged_ids = store.staged_ids(run.run_id)
    missing = {r.record_id for r in todo} - staged_ids
    if missing:  # every input must have its row: never commit a run that lost one
        raise RuntimeError(f"{len(missing)} inputs produced no row, e.g. {sorted(missing)[:3]}; run left uncommitted")
    counts = {"inputs": len(inputs), "scored_now": len(todo), "rows": len(staged_ids),
              "skipped_incremental": len(skipped),
              "ok_now": metrics["ok"], "errors_now": metrics["errors"],
              "storage_retries_now": metrics["storage_retries"], "store_retries_now": store.retries}
    run = store.commit(run, counts)
    summary = {"run_id": run.run_id, "model_name": model_name, "model_version": model_version,
               "output": cfg.output, "counts": counts, "metrics": metrics, "files": run.files}
    _log_mlflow(cfg, tracking, run, metrics, new, summary)
    log(json.dumps({k: summary[k] for k in ("run_id", "counts")}))
    return summary


def _log_mlflow(cfg: ScoreConfig, tracking: str, run, metrics: dict, table, summary: dict) -> None:
    import tempfile

    import fsspec

    from gem_core.tracking import setup_mlflow

    mlflow = setup_mlflow(tracking, cfg.experiment)
    with mlflow.start_run(run_name=f"score-{run.run_id}"):
        mlflow.log_params({"model": cfg.model, "model_name": run.model_name, "model_version": run.model_version,
                           "input": cfg.input or cfg.manifest, "output": cfg.output,
                           "batch_size": cfg.batch_size, "workers": cfg.workers,
                           "num_gpus_per_worker": cfg.num_gpus_per_worker, "incremental": cfg.incremental,
                           "prompt_measurements": cfg.prompt_measurements,
                           "max_new_tokens": cfg.max_new_tokens, "run_id": run.run_id,
                           "input_hash": run.input_hash, **cfg.extra_params})
        mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "run_manifest.json")
            with open(path, "w") as f:
                json.dump(run.__dict__, f, indent=1, default=str)
            mlflow.log_artifact(path)
            if table is not None and cfg.images:
                uris = [u for u in table.column("image_uri").to_pylist() if u][:4]
                for u in uris:
                    local = os.path.join(tmp, os.path.basename(u))
                    with fsspec.open(u, "rb") as src, open(local, "wb") as dst:
                        dst.write(src.read())
                    mlflow.log_artifact(local, artifact_path="review_images")


def main(argv=None) -> int:
    """`python -m jobs.score ...` (what `ray job submit -- ...` runs): same as `gem-ecg score`."""
    from jobs.cli import main as cli_main

    return cli_main(["score", *(argv if argv is not None else sys.argv[1:])])


if __name__ == "__main__":
    sys.exit(main())
