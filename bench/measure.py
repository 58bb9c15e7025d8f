"""Measurement throughput per CPU core: the full `measure_ecg` (R peaks, delineation of the
median and of every beat, 14 features x 12 leads, axes, findings, the JSON-safe dict) against
neurokit2's `ecg_process` over the 12 leads of the same ECGs, in the same process, pinned to
one core with one BLAS/OpenMP thread. Prints ECGs/s per core for both and the ratio.

    .venv/bin/python bench/measure.py                 # 60 synthetic + 2 real ECGs; neurokit2 on 6
    .venv/bin/python bench/measure.py --n 200 --nk-n 10
Targets (issue 3): >= 20 ECGs/s per core, >= 100x neurokit2.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"        # before numpy loads: "per core" means one thread

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def pin_to_one_core() -> int:
    cpu = sorted(os.sched_getaffinity(0))[0]
    os.sched_setaffinity(0, {cpu})
    return cpu


def timed(fn, items, repeats: int = 1) -> float:
    """CPU seconds of this process for fn over all items, the best of `repeats` passes (one
    warm-up call first, not counted). CPU time, not wall time: on a shared machine other
    processes' turns on the core are not ours."""
    fn(items[0])
    best = float("inf")
    for _ in range(repeats):
        t0 = time.process_time()
        for it in items:
            fn(it)
        best = min(best, time.process_time() - t0)
    return best


def timed_once(fn, item) -> float:
    t0 = time.process_time()
    fn(item)
    return time.process_time() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=60, help="synthetic ECGs for measure_ecg (default 60)")
    ap.add_argument("--nk-n", type=int, default=6, help="of those, ECGs for neurokit2 (default 6)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args(argv)

    cpu = pin_to_one_core()
    from threadpoolctl import threadpool_limits

    import numpy as np

    from gem_core import synth
    from gem_core.measure import measure_ecg
    from gem_core.prepare import load_prepared

    signals = [c.signal for c in synth.make_cohort(args.n, seed=args.seed)]
    shared = REPO.parent / "shared" / "data" / "ecg"
    for rel in ("ptb/s0010_re", "ptbxl/00001_lr"):
        if (shared / (rel + ".hea")).exists():
            signals.append(load_prepared(str(shared / rel)).signal)

    with threadpool_limits(limits=1):
        ours_s = timed(lambda s: measure_ecg(s, 500).to_dict(), signals, repeats=5)
        ours_rate = len(signals) / ours_s

        t0 = time.perf_counter()
        import neurokit2 as nk
        nk_import_s = time.perf_counter() - t0

        def nk_12_leads(sig):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for lead in np.asarray(sig, dtype=np.float64):
                    nk.ecg_process(lead, sampling_rate=500)

        # The ratio on exactly the same ECGs, ECG by ECG and interleaved, each the best of a few
        # runs, so that what else the machine does at the time weighs on both alike.
        nk_items = signals[: max(2, args.nk_n)]
        nk_12_leads(nk_items[0])                                  # warm-up (lazy imports)
        nk_s = same_s = 0.0
        for sig in nk_items:
            nk_s += min(timed_once(nk_12_leads, sig) for _ in range(2))
            same_s += min(timed_once(lambda s: measure_ecg(s, 500).to_dict(), sig) for _ in range(5))
        nk_rate = len(nk_items) / nk_s

    ratio = (nk_s / len(nk_items)) / (same_s / len(nk_items))
    figures = {
        "cpu": cpu, "threads": 1,
        "measure_ecg": {"ecgs": len(signals), "seconds": round(ours_s, 3),
                        "ms_per_ecg": round(1000 * ours_s / len(signals), 2),
                        "ecgs_per_s_per_core": round(ours_rate, 1)},
        "neurokit2_ecg_process_12_leads": {"ecgs": len(nk_items), "seconds": round(nk_s, 3),
                                           "ms_per_ecg": round(1000 * nk_s / len(nk_items), 1),
                                           "ecgs_per_s_per_core": round(nk_rate, 3),
                                           "import_s": round(nk_import_s, 1)},
        "measure_ecg_on_the_same_ecgs_ms": round(1000 * same_s / len(nk_items), 2),
        "speedup": round(ratio, 1),
    }
    print(f"one core (cpu {cpu}), one thread, CPU time; 500 Hz 12 x 5000 ECGs")
    print(f"  measure_ecg                  {len(signals):4d} ECGs  {1000 * ours_s / len(signals):8.1f} ms/ECG"
          f"  {ours_rate:8.1f} ECGs/s per core")
    print(f"  neurokit2 ecg_process x 12   {len(nk_items):4d} ECGs  {1000 * nk_s / len(nk_items):8.1f} ms/ECG"
          f"  {nk_rate:8.3f} ECGs/s per core   (import {nk_import_s:.1f} s, not counted)")
    print(f"  ratio on the same {len(nk_items)} ECGs     {ratio:.0f}x faster "
          f"({1000 * same_s / len(nk_items):.1f} ms vs {1000 * nk_s / len(nk_items):.0f} ms per ECG)")
    print(f"  targets: >= 20 ECGs/s per core: {'met' if ours_rate >= 20 else 'NOT met'}; "
          f">= 100x neurokit2: {'met' if ratio >= 100 else 'NOT met'}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
