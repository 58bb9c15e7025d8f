"""End-to-end scoring throughput: the Ray Data job vs a plain Python loop over the same
gem_core functions, same records, same gem-tiny, same process.

    .venv/bin/python bench/score.py [--n-synth 400] [--max-new-tokens 32] [--batch-size 8]

Prints ECGs/s for both and the ratio, end to end (the Ray job's actor start-up included) and
in steady state (from the first committed row to the last), plus a JSON line with the job's
per-stage figures for cluster/sizing.py. The Ray job overlaps CPU preparation with inference
(and with verification); the loop does one stage after the other.

It also prints the machine's CPU seconds per ECG for each (all processes: Ray's workers and
system processes count against the job) and from them the most the job could reach on these
cores, so that a ratio can be read against its ceiling. Set-up that a standing deployment
does once is done before either clock starts: the Ray session, the MLflow store's tables.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def busy_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy (every process, every core)."""
    import psutil

    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)


def plain_loop(inputs, weights: str, batch_size: int, max_new_tokens: int) -> tuple[float, float]:
    """(ECGs/s, busy CPU seconds per ECG) of the loop, its model load included."""
    import torch

    from gem_core.model import GemGenerator, load_gem
    from gem_core.scoring import infer_batch, output_table, prepare_batch, verify_batch

    torch.set_num_threads(os.cpu_count() or 1)
    t0, c0 = time.perf_counter(), busy_cpu_s()
    model, tok, _ = load_gem(weights, dtype="float32", device="cpu")
    gen = GemGenerator(model, tok)
    rows = 0
    for k in range(0, len(inputs), batch_size):
        chunk = inputs[k:k + batch_size]
        batch = {"record_id": [r.record_id for r in chunk], "uri": [r.uri for r in chunk],
                 "problem": [r.problem or "" for r in chunk]}
        batch = verify_batch(infer_batch(prepare_batch(batch), gen, max_new_tokens=max_new_tokens))
        rows += output_table(batch, "bench", "gem-tiny", "bench").num_rows
    return rows / (time.perf_counter() - t0), (busy_cpu_s() - c0) / rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-synth", type=int, default=400,
                    help="synthetic ECGs besides the shared real ones (default 400: the job's "
                         "start-up, seconds, is then a small part of the run, as in a nightly job)")
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=8)
    args = ap.parse_args()

    from gem_core.archive import list_inputs
    from gem_core.model.tiny import save_gem_tiny
    from gem_core.synth import write_cohort
    from jobs.score import ScoreConfig, run_score

    tmp = Path(tempfile.mkdtemp(prefix="bench-score-"))
    try:
        archive = tmp / "archive"
        shared = REPO.parent / "shared" / "data" / "ecg"
        for folder in ("ptb", "ptbxl"):
            shutil.copytree(shared / folder, archive / folder)
        write_cohort(archive / "synth", n=args.n_synth, seed=11)
        weights = str(tmp / "gem-tiny")
        save_gem_tiny(weights, seed=0)
        inputs = list_inputs(input_uri=str(archive))
        n = len(inputs)

        loop, loop_cpu = plain_loop(inputs, weights, args.batch_size, args.max_new_tokens)
        import datetime as dt
        import json

        import ray

        from gem_core.report_store import ReportStore

        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False, configure_logging=False)
        from gem_core.tracking import setup_mlflow
        setup_mlflow(f"sqlite:///{tmp}/m.db", "gem-ecg-scoring")   # creates the store's tables
        t0, c0 = time.perf_counter(), busy_cpu_s()
        summary = run_score(ScoreConfig(input=str(archive), output=str(tmp / "out"), model=weights,
                                        batch_size=args.batch_size, max_new_tokens=args.max_new_tokens,
                                        tracking_uri=f"sqlite:///{tmp}/m.db"),
                            log=lambda *a: None)
        ray_rate = n / (time.perf_counter() - t0)
        ray_cpu = (busy_cpu_s() - c0) / n
        ray.shutdown()
        cores = os.cpu_count() or 1
        ceiling = cores / ray_cpu        # every core busy with the job's own work, no start-up
        stamps = sorted({dt.datetime.fromisoformat(t) for t in
                         ReportStore(str(tmp / "out")).read().column("scored_at").to_pylist()})
        first_batch = summary["counts"]["rows"] / len(stamps)  # rows per output batch, about
        steady = (n - first_batch) / (stamps[-1] - stamps[0]).total_seconds() if len(stamps) > 1 else float("nan")
        print(f"records: {n} ({args.n_synth} synthetic + shared real), gem-tiny, "
              f"{args.max_new_tokens} new tokens, batch {args.batch_size}, {os.cpu_count()} cores")
        print(f"plain loop              {loop:7.2f} ECGs/s  ({1000 * loop_cpu:.0f} CPU-ms per ECG, model load included)")
        print(f"Ray Data job, end to end {ray_rate:6.2f} ECGs/s  ratio {ray_rate / loop:5.2f}x  "
              f"({1000 * ray_cpu:.0f} CPU-ms per ECG, start-up included)")
        print(f"Ray Data job, steady     {steady:6.2f} ECGs/s  ratio {steady / loop:5.2f}x "
              "(first to last output batch: start-up excluded, and flattered by the records "
              "prepared while the GEM actor started)")
        print(f"ceiling on {cores} cores   {ceiling:6.2f} ECGs/s  ratio {ceiling / loop:5.2f}x "
              "(every core busy all the time at the job's CPU cost per ECG, start-up included)")
        print(f"the loop itself keeps {loop * loop_cpu:.2f} of {cores} cores busy on average "
              "(torch runs generation on every core)")
        print(json.dumps({"bench": "score", "ecgs": n, "plain_loop_ecgs_per_s": loop,
                          "plain_loop_cpu_s_per_ecg": loop_cpu, "ray_end_to_end_ecgs_per_s": ray_rate,
                          "ray_cpu_s_per_ecg": ray_cpu, "ray_ceiling_ecgs_per_s": ceiling,
                          "plain_loop_cores_busy": loop * loop_cpu,
                          "ray_steady_ecgs_per_s": steady, **{k: v for k, v in summary["metrics"].items()
                                                              if k.endswith("per_worker") or k.endswith("per_ecg")}}))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
