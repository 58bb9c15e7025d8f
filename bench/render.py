"""Rendering speed per core: gem_core.render against a straightforward matplotlib drawing of
the same page (gem_core.render.reference: ECG-image-kit's way, an Agg figure with ax.grid,
ax.plot and ax.text), same process, same records, pinned to one CPU.

Prints images per second for
- the model input (3 x 336 x 336 CLIP tensor): ours (fast route and exact route) vs
  matplotlib page -> the same CLIP preprocessing;
- the PNG of the page: ours (page + PNG writer) vs matplotlib savefig;
and the ratios. Targets (issue 4): model input >= 50x, PNG >= 10x.

    .venv/bin/python bench/render.py [--cpu N] [--seconds S]
"""
from __future__ import annotations

import os

# One core means one thread everywhere, set before numpy/torch load their thread pools.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gem_core.prepare import load_prepared  # noqa: E402
from gem_core.render import clip_preprocess, model_input, png_bytes, render_page  # noqa: E402
from gem_core.render.reference import matplotlib_page, matplotlib_png  # noqa: E402

RECORDS = ["ptb/s0010_re", "ptbxl/00001_lr"]
TARGET_MODEL_INPUT = 50.0
TARGET_PNG = 10.0


def mpl_model_input(signal: np.ndarray) -> np.ndarray:
    return clip_preprocess(matplotlib_page(signal))


def rates(methods: dict, signals: list[np.ndarray], seconds: float, rounds: int = 3) -> dict:
    """Images per second of each method: the best of `rounds` interleaved rounds (so that load
    from other processes on the machine hits every method alike), cycling through the signals
    for at least seconds / rounds per round, after one warm-up call each."""
    best = {name: 0.0 for name in methods}
    for fn in methods.values():
        fn(signals[0])
    for _ in range(rounds):
        for name, fn in methods.items():
            n, start = 0, time.perf_counter()
            while n < 1 or time.perf_counter() - start < seconds / rounds:
                fn(signals[n % len(signals)])
                n += 1
            best[name] = max(best[name], n / (time.perf_counter() - start))
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cpu", type=int, default=None, help="CPU to pin to (default: the last one)")
    ap.add_argument("--seconds", type=float, default=6.0, help="time per method (over all rounds)")
    args = ap.parse_args()

    cpu = args.cpu if args.cpu is not None else max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    import torch

    torch.set_num_threads(1)
    signals = [load_prepared(str(REPO.parent / "shared" / "data" / "ecg" / r)).signal for r in RECORDS]

    rows = rates({
        "model input, ours (fast route)": model_input,
        "model input, ours (exact route)": lambda s: model_input(s, exact=True),
        "model input, matplotlib": mpl_model_input,
        "PNG, ours": lambda s: png_bytes(render_page(s)),
        "PNG, matplotlib": matplotlib_png,
        "page only, ours": render_page,
    }, signals, args.seconds)
    print(f"rendering, images/s on one core (CPU {cpu}, best of 3 interleaved rounds), "
          f"records: {', '.join(RECORDS)}")
    for name, r in rows.items():
        print(f"  {name:34s} {r:8.2f} /s   {1000 / r:8.1f} ms")
    mpl_input, mpl_png = rows["model input, matplotlib"], rows["PNG, matplotlib"]
    ratios = {
        "model input (fast) vs matplotlib": (rows["model input, ours (fast route)"] / mpl_input,
                                             TARGET_MODEL_INPUT),
        "model input (exact) vs matplotlib": (rows["model input, ours (exact route)"] / mpl_input, None),
        "PNG vs matplotlib": (rows["PNG, ours"] / mpl_png, TARGET_PNG),
    }
    for name, (ratio, target) in ratios.items():
        verdict = "" if target is None else \
            f"   (target >= {target:g}x: {'met' if ratio >= target else 'MISSED'})"
        print(f"  ratio {name:34s} {ratio:7.1f}x{verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
