"""Filters for ECG measurement: zero-phase IIR (designed once per rate and band, cached),
moving-average drift removal, and a baseline through isoelectric points.

Zero phase (forward-backward) so that filtering never shifts a fiducial in time. Levels
(ST, amplitudes) never go through a high-pass: their baseline is a line through each beat's
PR level (`remove_baseline_through`), since a 0.5 Hz high-pass moves ST next to large T
waves (AHA 2007 recommendations, Kligfield et al.). The low-pass and notches remove EMG and
mains interference before slopes are taken.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import signal as sps


@lru_cache(maxsize=64)
def _butter(order: int, cutoff: float | tuple[float, float], btype: str, fs: float) -> np.ndarray:
    return sps.butter(order, cutoff, btype=btype, fs=fs, output="sos")


@lru_cache(maxsize=16)
def _notch(hz: float, q: float, fs: float) -> np.ndarray:
    return sps.tf2sos(*sps.iirnotch(hz, q, fs=fs))


@lru_cache(maxsize=64)
def _zi(sos_key: bytes, n_sections: int) -> np.ndarray:
    return sps.sosfilt_zi(np.frombuffer(sos_key).reshape(n_sections, 6))


def _filtfilt(sos: np.ndarray, x: np.ndarray, padlen: int) -> np.ndarray:
    """scipy's sosfiltfilt (odd extension, steady-state initial conditions), with the
    initial-condition solve cached per filter: it costs as much as the filtering here."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[-1]
    if n < 4:
        return np.array(x)
    padlen = min(padlen, n - 1)
    ext = np.concatenate([2 * x[..., :1] - x[..., padlen:0:-1], x,
                          2 * x[..., -1:] - x[..., -2:-padlen - 2:-1]], axis=-1)
    zi = _zi(sos.tobytes(), sos.shape[0])                      # (n_sections, 2)
    shape = (sos.shape[0],) + (1,) * (x.ndim - 1) + (2,)
    zi = zi.reshape(shape)
    y, _ = sps.sosfilt(sos, ext, axis=-1, zi=zi * ext[..., :1][None])
    y, _ = sps.sosfilt(sos, y[..., ::-1], axis=-1, zi=zi * y[..., -1:][None])
    return np.ascontiguousarray(y[..., ::-1][..., padlen:padlen + n])


def moving_average(x: np.ndarray, k: int) -> np.ndarray:
    """Centred k-sample moving average along the last axis, edges held at their first/last
    value."""
    from scipy.ndimage import uniform_filter1d

    return uniform_filter1d(np.asarray(x, dtype=np.float64), max(1, int(k)), axis=-1, mode="nearest")


def without_drift(x: np.ndarray, fs: float, window_s: float = 0.6) -> np.ndarray:
    """(..., N) minus its moving average over `window_s` (a cheap high-pass near 0.7 Hz,
    with some ringing): for finding waves by their slopes and shapes, never for levels."""
    return x - moving_average(x, int(window_s * fs))


def bandpass(x: np.ndarray, fs: float, lo: float, hi: float, order: int = 2) -> np.ndarray:
    hi = min(hi, 0.45 * fs)
    return _filtfilt(_butter(order, (lo, hi), "bandpass", fs), x, int(fs))


def mains_present(x: np.ndarray, fs: float, freqs: tuple[float, ...],
                  floor_mv: float = 0.003) -> list[float]:
    """Which of `freqs` (Hz) the (..., N) leads carry as a sinusoid above `floor_mv` RMS in
    their largest lead (one FFT of all leads)."""
    n = x.shape[-1]
    freqs = [f for f in freqs if f < 0.45 * fs]
    if not freqs or n < fs:
        return []
    x = np.atleast_2d(x)
    x = x[:: max(1, x.shape[0] // 3)]                # a few leads: mains reaches them all
    spec = np.abs(np.fft.rfft(x, axis=-1)) / n                     # RMS of a sinusoid, mV
    out = []
    for f in freqs:
        k = int(round(f * n / fs))
        if spec[..., max(0, k - 2):k + 3].max() > floor_mv:
            out.append(f)
    return out


def denoise(x: np.ndarray, fs: float, lowpass_hz: float, order: int = 2,
            mains: tuple[float, ...] = (50.0, 60.0), q: float = 25.0) -> np.ndarray:
    """Notch out 50 and 60 Hz (either may be the local mains) where the rate allows and the
    signal carries it, and low-pass at `lowpass_hz` (EMG) where the rate allows: one
    zero-phase cascade, since a pass costs the same with one section or three. (One padding
    for the cascade: the first and last beats differ by microvolts from notching and then
    low-passing separately; global values do not change.)"""
    notches = [_notch(f, q, fs) for f in mains_present(x, fs, mains)]
    low = [_butter(order, lowpass_hz, "lowpass", fs)] if lowpass_hz < 0.45 * fs else []
    if not notches and not low:     # (e.g. 80 Hz at 100 Hz without mains: nothing to remove)
        return np.asarray(x, dtype=np.float64)
    return _filtfilt(np.vstack(notches + low), x, int((0.2 if notches else 0.1) * fs))


def remove_baseline_through(x: np.ndarray, knots: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """x (L, N) minus a baseline through `levels` (K, L) at sample positions `knots` (K,),
    straight between knots (no overshoot) and held flat beyond them.
    Unlike a high-pass filter this leaves ST levels where they are, since it only ever
    follows the isoelectric points (AHA 2007 recommendations, Kligfield et al.)."""
    n = x.shape[-1]
    order = np.argsort(knots)
    knots, levels = np.asarray(knots)[order], np.asarray(levels)[order]
    keep = np.concatenate([[True], np.diff(knots) > 0])
    knots, levels = knots[keep], levels[keep]
    if knots.size == 0:
        return x - np.median(x, axis=-1, keepdims=True)
    t = np.arange(n)
    return x - np.stack([np.interp(t, knots, levels[:, i]) for i in range(x.shape[0])])
