"""Per-lead amplitudes and GEM's 14 per-beat grounding features, from delineated beats.

Amplitudes are in mV relative to the PR-segment baseline of the same beat, with signs kept:
Q and S are negative (0.0 when absent), R is positive (0.0 when absent), T and ST signed.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from gem_core.measure.delineate import take_at
from gem_core.measure.stats import nan_median

DETECT_MV = 0.05        # a deflection smaller than this is not a wave (Minnesota code uses 0.1
                        # mV for Q; 0.05 mV keeps small septal r/q visible)
TERMINAL_S = 0.04       # terminal QRS portion used for bundle-branch block direction
ST_POINT_S = 0.06       # ST measured at J + 60 ms
ST_SLOPE_S = (0.02, 0.06)
ST_FLAT_MV_S = 0.5      # |ST slope| under 0.5 mV/s (0.02 mV per 40 ms) is horizontal

GEM_FEATURES = ("heart_rate", "rr_interval_1", "rr_interval_2", "p_amplitude", "p_duration",
                "pr_interval", "qrs_amplitude", "qrs_duration", "t_amplitude", "t_duration",
                "st_duration", "st_form", "qt", "qtc")





def _first(mask: np.ndarray) -> np.ndarray:
    return np.where(mask.any(-1), mask.argmax(-1), -1)


def lead_amplitudes(y: np.ndarray, baseline: np.ndarray, on: int, off: int,
                    fs: float) -> dict[str, np.ndarray]:
    """QRS and ST amplitudes of leads `y` (L, W) over a common QRS [on, off) (samples).

    `baseline` (L,) is subtracted first (pass zeros for already corrected leads). Returns
    (L,) arrays: pp (peak-to-peak), q, q_ms, r, s, r_peak_time_ms, terminal, st_j60,
    st_slope (mV/s).
    """
    y = np.asarray(y, dtype=np.float64) - np.asarray(baseline, dtype=np.float64)[:, None]
    w = y.shape[-1]
    i = np.arange(w)
    seg = (i >= on) & (i < off)
    ys = np.where(seg, y, np.nan)
    pp = np.nanmax(ys, -1) - np.nanmin(ys, -1)
    r_idx = np.nanargmax(ys, -1)
    r_top = take_at(y, r_idx)
    # Q: the first deflection beyond DETECT_MV is negative; it lasts until y returns to 0.
    pos1 = _first(seg & (y >= DETECT_MV))
    neg1 = _first(seg & (y <= -DETECT_MV))
    has_q = (neg1 >= 0) & ((pos1 < 0) | (neg1 < pos1))
    back = _first(seg & (i > neg1[:, None]) & (y >= 0))
    q_end = np.where(back >= 0, back, off)
    in_q = (i >= on) & (i < q_end[:, None])
    q = np.where(has_q, np.where(in_q, y, np.inf).min(-1), 0.0)
    q_ms = np.where(has_q, (q_end - on) * 1000.0 / fs, 0.0)
    has_r = r_top >= DETECT_MV
    after_r = seg & (i >= r_idx[:, None])
    s_after = np.nanmin(np.where(after_r, y, np.nan), -1)
    s = np.where(has_r, np.minimum(s_after, 0.0), np.minimum(q, np.nanmin(ys, -1)))
    s = np.where(s > -DETECT_MV, 0.0, s)
    t0 = max(on, off - int(round(TERMINAL_S * fs)))
    terminal = y[:, t0:max(off, t0 + 1)].mean(-1)
    j60 = off + int(round(ST_POINT_S * fs))
    a, b = (off + int(round(t * fs)) for t in ST_SLOPE_S)
    st_slope = (take_at(y, b) - take_at(y, a)) / (ST_SLOPE_S[1] - ST_SLOPE_S[0])
    return {
        "pp": pp, "q": q, "q_ms": q_ms, "r": np.where(has_r, r_top, 0.0), "s": s,
        "r_peak_time_ms": (r_idx - on) * 1000.0 / fs, "terminal": terminal,
        "st_j60": take_at(y, j60), "st_slope": st_slope,
    }


def st_form(slope: np.ndarray) -> np.ndarray:
    """ST segment shape label from its slope (mV/s) between J+20 and J+60 ms."""
    return np.where(slope > ST_FLAT_MV_S, "upsloping",
                    np.where(slope < -ST_FLAT_MV_S, "downsloping", "horizontal"))


def _ms(samples: np.ndarray, fs: float) -> np.ndarray:
    return np.asarray(samples, dtype=np.float64) * 1000.0 / fs


def beat_features(fid: dict[str, np.ndarray], amp: dict[str, np.ndarray], rr1: np.ndarray,
                  rr2: np.ndarray, fs: float, qtc_method: str) -> dict[str, np.ndarray]:
    """GEM's 14 features as (B, L) arrays (NaN = unmeasured; st_form: object, None).

    `fid`: per-beat per-lead fiducials (B, L) in window samples (NaN/-1 = missing): p_on,
    p_off, qrs_on, qrs_off, t_on, t_off. `amp`: (B, L) p, qrs_pp, t, st_slope.
    `rr1`/`rr2`: (B,) RR to the previous / next beat in ms (NaN at the ends).
    """
    def val(x):
        x = np.asarray(x, dtype=np.float64)
        return np.where(x < 0, np.nan, x) if x.dtype.kind != "f" else x

    p_on, p_off = val(fid["p_on"]), val(fid["p_off"])
    q_on, q_off = val(fid["qrs_on"]), val(fid["qrs_off"])
    t_on, t_off = val(fid["t_on"]), val(fid["t_off"])
    bsz, nl = q_on.shape
    rr1_l = np.broadcast_to(rr1[:, None], (bsz, nl))
    qt = _ms(t_off - q_on, fs)
    rr_for_qtc = np.where(np.isfinite(rr1_l), rr1_l, np.broadcast_to(rr2[:, None], (bsz, nl)))
    qtc = correct_qt(qt, rr_for_qtc, qtc_method)
    st_lab = st_form(amp["st_slope"]).astype(object)
    st_lab[~np.isfinite(amp["st_slope"])] = None
    return {
        "heart_rate": 60000.0 / rr1_l,
        "rr_interval_1": rr1_l,
        "rr_interval_2": np.broadcast_to(rr2[:, None], (bsz, nl)),
        "p_amplitude": amp["p"],
        "p_duration": _ms(p_off - p_on, fs),
        "pr_interval": _ms(q_on - p_on, fs),
        "qrs_amplitude": amp["qrs_pp"],
        "qrs_duration": _ms(q_off - q_on, fs),
        "t_amplitude": amp["t"],
        "t_duration": _ms(t_off - t_on, fs),
        "st_duration": _ms(t_on - q_off, fs),
        "st_form": st_lab,
        "qt": qt,
        "qtc": qtc,
    }


def correct_qt(qt_ms, rr_ms, method: str):
    """Heart-rate corrected QT. Bazett: QT/RR^(1/2); Fridericia: QT/RR^(1/3) (RR in s)."""
    rr_s = np.asarray(rr_ms, dtype=np.float64) / 1000.0
    power = {"bazett": 0.5, "fridericia": 1.0 / 3.0}[method]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(qt_ms, dtype=np.float64) / rr_s ** power


def summarise(values: np.ndarray) -> list:
    """Per-lead summary of (B, L) per-beat values: the median (the most common label for
    st_form); None where nothing was measured."""
    if values.dtype == object:
        out = []
        for col in values.T:
            labels = [v for v in col if v is not None]
            out.append(Counter(labels).most_common(1)[0][0] if labels else None)
        return out
    return [None if not np.isfinite(v) else float(v) for v in nan_median(values)]
