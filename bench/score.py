"""End-to-end scoring throughput: the Ray Data job vs a plain Python loop over the same
gem_core functions, same records, same gem-tiny, same process.

    .venv/bin/python bench/score.py [--n-synth 40] [--max-new-tokens 32] [--batch-size 8]

Prints ECGs/s for both and the ratio, end to end (the Ray job's actor start-up included) and
in steady state (from the first committed row to the last), plus a JSON line with the job's
per-stage figures for cluster/sizing.py. The Ray job overlaps CPU preparation with inference
(and with verification); the loop does one stage after the other.
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


def plain_loop(inputs, weights: str, batch_size: int, max_new_tokens: int) -> float:
    import torch

    from gem_core.model import GemGenerator, load_gem
    from gem_core.scoring import infer_batch, output_table, prepare_batch, verify_batch

    model, tok, _ = load_gem(weights, dtype="float32", device="cpu")
    gen = GemGenerator(model, tok)
    torch.set_num_threads(os.cpu_count() or 1)
    t0 = time.perf_counter()
    rows = 0
    for k in range(0, len(inputs), batch_size):
        chunk = inputs[k:k + batch_size]
        batch = {"record_id": [r.record_id for r in chunk], "uri": [r.uri for r in chunk],
                 "problem": [r.problem or "" for r in chunk]}
        batch = verify_batch(infer_batch(prepare_batch(batch), gen, max_new_tokens=max_new_tokens))
        rows += output_table(batch, "bench", "gem-tiny", "bench").num_rows
    return rows / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-synth", type=int, default=40)
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

        loop = plain_loop(inputs, weights, args.batch_size, args.max_new_tokens)
        import datetime as dt
        import json

        import ray

        from gem_core.report_store import ReportStore

        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False, configure_logging=False)
        t0 = time.perf_counter()
        summary = run_score(ScoreConfig(input=str(archive), output=str(tmp / "out"), model=weights,
                                        batch_size=args.batch_size, max_new_tokens=args.max_new_tokens,
                                        tracking_uri=f"sqlite:///{tmp}/m.db"),
                            log=lambda *a: None)
        ray_rate = n / (time.perf_counter() - t0)
        ray.shutdown()
        stamps = sorted({dt.datetime.fromisoformat(t) for t in
                         ReportStore(str(tmp / "out")).read().column("scored_at").to_pylist()})
        first_batch = summary["counts"]["rows"] / len(stamps)  # rows per output batch, about
        steady = (n - first_batch) / (stamps[-1] - stamps[0]).total_seconds() if len(stamps) > 1 else float("nan")
        print(f"records: {n} ({args.n_synth} synthetic + shared real), gem-tiny, "
              f"{args.max_new_tokens} new tokens, batch {args.batch_size}, {os.cpu_count()} cores")
        print(f"plain loop              {loop:7.2f} ECGs/s")
        print(f"Ray Data job, end to end {ray_rate:6.2f} ECGs/s  ratio {ray_rate / loop:5.2f}x")
        print(f"Ray Data job, steady     {steady:6.2f} ECGs/s  ratio {steady / loop:5.2f}x "
              "(first to last output batch: actor start-up excluded)")
        print(json.dumps({"bench": "score", "plain_loop_ecgs_per_s": loop, "ray_end_to_end_ecgs_per_s": ray_rate,
                          "ray_steady_ecgs_per_s": steady, **{k: v for k, v in summary["metrics"].items()
                                                              if k.endswith("per_worker") or k.endswith("per_ecg")}}))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
