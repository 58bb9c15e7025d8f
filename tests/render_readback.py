"""Reading an ECG trace back from a rendered picture (shared by the rendering tests).

Paper constants are the conventions (200 dpi, 25 mm/s, 10 mm/mV), not the module's."""
from __future__ import annotations

import numpy as np

PX_PER_MM = 200 / 25.4
PX_PER_S = 25 * PX_PER_MM
PX_PER_MV = 10 * PX_PER_MM


def ink(img: np.ndarray) -> np.ndarray:
    """Trace darkness: the grid is red or pink (R >= 254), the trace black."""
    return 255.0 - img[..., 0].astype(np.float64)


def trace_position(img: np.ndarray, baseline: float, c0: int, c1: int,
                   halfspan: int = 55) -> tuple[np.ndarray, np.ndarray]:
    """Columns in [c0, c1) holding ink within `halfspan` rows of `baseline`, and the trace
    position in each (darkness centroid) in mV above the baseline."""
    r0 = int(round(baseline)) - halfspan
    d = ink(img)[r0:r0 + 2 * halfspan, c0:c1]
    d[d < 8] = 0
    has = d.sum(axis=0) > 0
    rows = np.arange(d.shape[0])[:, None] + r0 + 0.5
    y = (d[:, has] * rows).sum(axis=0) / d[:, has].sum(axis=0)
    return np.arange(c0, c1)[has], (baseline - y) / PX_PER_MV
