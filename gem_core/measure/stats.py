"""Medians and quantiles over the small arrays measurement works on (a dozen beats, a few
hundred samples).

numpy's median, nanmedian and percentile carry general machinery that costs 3-10x the work
on many short columns (10 beats x 12 leads x 300 samples): the medians here sort, the
quantiles partition once for all the q asked. The results equal numpy's to rounding (the
mean of the two middle values for an even count) on NaN-free input, which is all
measurement gives them.
"""
from __future__ import annotations

import numpy as np


def median(a: np.ndarray, axis: int = 0) -> np.ndarray:
    """np.median(a, axis) for NaN-free `a`, by a sort."""
    s = np.sort(a, axis=axis)
    n = s.shape[axis]
    return (np.take(s, (n - 1) // 2, axis=axis) + np.take(s, n // 2, axis=axis)) / 2


def nan_median(values: np.ndarray) -> np.ndarray:
    """Median over axis 0 ignoring NaN (NaN where a column has none)."""
    ok = np.isfinite(values)
    v = np.sort(np.where(ok, values, np.inf), axis=0)
    n = ok.sum(axis=0)
    lo = np.take_along_axis(v, np.maximum((n - 1) // 2, 0)[None], 0)[0]
    hi = np.take_along_axis(v, np.maximum(n // 2, 0)[None], 0)[0]
    with np.errstate(invalid="ignore"):
        return np.where(n > 0, (lo + hi) / 2, np.nan)


def quantile(a: np.ndarray, q: float | tuple[float, ...], axis: int = -1):
    """np.quantile(a, q, axis) (linear interpolation) for NaN-free `a`; a tuple of q gives
    a tuple of results from one partition."""
    if not isinstance(q, (tuple, float, int)):
        raise TypeError(f"quantile takes a number or a tuple of numbers, not {type(q).__name__}")
    qs = q if isinstance(q, tuple) else (q,)
    n = a.shape[axis]
    pos = [x * (n - 1) for x in qs]
    lo = [int(np.floor(p)) for p in pos]
    hi = [min(k + 1, n - 1) for k in lo]
    s = np.partition(a, sorted(set(lo + hi)), axis=axis)
    out = []
    for p, k0, k1 in zip(pos, lo, hi):
        below, above = np.take(s, k0, axis=axis), np.take(s, k1, axis=axis)
        out.append(below + (above - below) * (p - k0))
    return tuple(out) if isinstance(q, tuple) else out[0]
