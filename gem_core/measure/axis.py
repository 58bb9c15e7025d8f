"""Frontal-plane electrical axes from net areas in the limb leads.

The mean vector of a wave is its time integral; each limb lead sees that vector's
projection on its lead vector (hexaxial reference system: I at 0 deg, II at 60, III at 120,
aVF at 90, aVL at -30, aVR at -150, the augmented leads with gain sqrt(3)/2 since
aVF = II - I/2). A least-squares fit over whichever limb leads are usable gives the vector;
its angle is the axis (AHA/ACCF/HRS 2009 Part I, Kligfield et al.: axis from the net QRS
area in the limb leads).
"""
from __future__ import annotations

import math

import numpy as np

_S3 = math.sqrt(3) / 2
# (6, 2) lead vectors of I, II, III, aVR, aVL, aVF in (x = left, y = inferior)
LIMB_VECTORS = np.array([
    [1.0, 0.0], [0.5, _S3], [-0.5, _S3], [-0.75, -_S3 / 2], [0.75, -_S3 / 2], [0.0, _S3],
])


def frontal_axis(limb: np.ndarray, usable: np.ndarray, start: int, stop: int,
                 min_area: float = 1e-4) -> float | None:
    """Axis in degrees (-180, 180] of the wave in [start, stop) of baseline-corrected limb
    leads (6, W) in standard order, or None when unmeasurable (too few leads, no wave)."""
    if start < 0 or stop <= start or usable.sum() < 2:
        return None
    area = limb[:, start:stop].sum(axis=1)               # (6,) mV x samples
    a = LIMB_VECTORS[usable]
    if np.linalg.matrix_rank(a) < 2:
        return None
    vec, *_ = np.linalg.lstsq(a, area[usable], rcond=None)
    if np.hypot(*vec) < min_area * (stop - start):
        return None
    deg = math.degrees(math.atan2(vec[1], vec[0]))
    return 180.0 if deg == -180.0 else deg
