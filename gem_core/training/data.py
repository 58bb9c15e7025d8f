"""Model inputs for training examples, and the order in which a worker visits them.

Media: each example's ECG is read and prepared exactly as the scoring job does
(`load_prepared`: 500 Hz, standard lead order, 10 s) and rendered to the CLIP input
(`model_input`), so the model trains on what it will be asked about.

Order: worker `rank` of `world` owns examples rank, rank + world, ... and walks them epoch by
epoch in a permutation drawn from (seed, rank, epoch). The batch of step s is a pure function
of (seed, rank, world, s): a run resumed at step k from a checkpoint sees exactly the batches
an uninterrupted run would have seen from step k on.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class LoadedExamples:
    examples: list                   # TrainingExample, those whose ECG could be read
    ecg: np.ndarray                  # (N, 12, 5000) float32 mV
    images: np.ndarray               # (N, 3, S, S) float32, CLIP-normalised
    measurements: list[dict] = field(default_factory=list)   # per example, when asked for
    errors: list[dict] = field(default_factory=list)          # {record_id, reason}


def load_examples(examples: list, image_size: int = 336, measure: bool = False) -> LoadedExamples:
    """Read, prepare and render every example's ECG; an unreadable record is skipped and
    reported (RecordError names it), never fatal."""
    from gem_core.errors import RecordError
    from gem_core.prepare import load_prepared
    from gem_core.render import model_input

    kept, ecgs, images, meas, errors = [], [], [], [], []
    for e in examples:
        try:
            prepared = load_prepared(e.ecg_uri, offset_s=e.offset_s)
        except RecordError as exc:
            errors.append({"record_id": e.record_id, "reason": str(exc)})
            continue
        kept.append(e)
        ecgs.append(prepared.signal)
        images.append(model_input(prepared.signal, size=image_size))
        if measure:
            from gem_core.measure import measure_ecg

            meas.append(measure_ecg(prepared.signal, fs=prepared.fs).to_dict())
    shape_img = (0, 3, image_size, image_size)
    return LoadedExamples(kept, np.stack(ecgs) if ecgs else np.zeros((0, 12, 5000), np.float32),
                          np.stack(images) if images else np.zeros(shape_img, np.float32), meas, errors)


def shard(n: int, rank: int, world: int) -> list[int]:
    """Indices of the examples worker `rank` trains on."""
    return list(range(rank, n, world))


def batch_indices(n: int, batch_size: int, step: int, seed: int, rank: int = 0) -> list[int]:
    """Positions (into a shard of n examples) of the batch at `step`: consecutive slices of
    per-epoch permutations, wrapping into the next epoch."""
    if n <= 0:
        raise ValueError("no examples to draw a batch from")
    out = []
    start = step * batch_size
    for pos in range(start, start + batch_size):
        epoch, k = divmod(pos, n)
        perm = np.random.default_rng([seed, rank, epoch]).permutation(n)
        out.append(int(perm[k]))
    return out
