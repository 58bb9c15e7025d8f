"""Which leads carry a measurable ECG, and which beats are alike enough to average.

A lead is unusable when it is flat (no signal: disconnected electrode, zero padding) or
when its beats do not resemble each other (noise or artefact: the median of random
segments correlates poorly with each of them, while real beats correlate > 0.9).
"""
from __future__ import annotations

import numpy as np

from gem_core.measure.stats import median, quantile

FLAT_MV = 0.05          # 1st-99th percentile range below this: no ECG in the lead
LEAD_CORR = 0.5         # median beat-to-template correlation below this: noise
BEAT_CORR = 0.8         # a beat unlike the template (PVC, artefact) is left out of the median


def flat_leads(xf: np.ndarray) -> np.ndarray:
    """(L,) True for leads whose filtered signal (L, N) has no amplitude to speak of."""
    lo, hi = quantile(xf[:, ::4], (0.01, 0.99))
    return (hi - lo) < FLAT_MV


def correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation along the last axis (broadcasting); 0 where either is constant."""
    a = a - a.mean(-1, keepdims=True)
    b = b - b.mean(-1, keepdims=True)
    den = np.sqrt((a * a).sum(-1) * (b * b).sum(-1))
    num = (a * b).sum(-1)
    return np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)


def beat_consistency(beats: np.ndarray, template: np.ndarray) -> np.ndarray:
    """(B, L) correlation of every beat (B, L, W) with the template (L, W)."""
    return correlation(beats, template[None])


def robust_sigma(resid: np.ndarray) -> np.ndarray:
    """(L,) noise standard deviation per lead from residuals (B, L, S), via the median
    absolute deviation."""
    per_lead = np.abs(resid).transpose(1, 0, 2).reshape(resid.shape[1], -1)      # (L, B*S)
    return 1.4826 * median(per_lead, axis=-1)
