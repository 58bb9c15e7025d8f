"""QRS (R-peak) detection on one lead or several, at any rate and any length.

A Pan-Tompkins-style detector (Pan & Tompkins, IEEE TBME 1985), vectorised: band-pass
5-20 Hz (where QRS energy lives and P/T waves and wander do not; two moving averages, as
cheap as Pan and Tompkins' integer filters), differentiate, square,
integrate over a QRS-wide window. Peaks of that energy at least a refractory period apart
are candidates; a candidate is a beat when it reaches a fraction of the local QRS level
(median of 2 s block maxima over +-6 s, so one artefact or one pause does not move it).
Then the classic repairs: a candidate within 360 ms after a much larger beat is a T wave
(and one within 300 ms before it a P wave), and a gap longer than 1.66 x the local RR is
searched again at a lower threshold.

Several leads are combined in the energy domain; leads above the typical lead's level are
scaled down to it, so no single lead (large or noisy) owns the decision.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import median_filter
from scipy.signal import find_peaks

from gem_core.measure.filters import bandpass, moving_average
from gem_core.measure.stats import quantile


@dataclass(frozen=True)
class RPeakConfig:
    band_hz: tuple[float, float] = (5.0, 20.0)
    integration_s: float = 0.10     # about one QRS width
    refractory_s: float = 0.20      # 300 bpm at most
    block_s: float = 2.0            # blocks for the local QRS level (>= 1 beat above 30 bpm)
    level_blocks: int = 7           # median over this many blocks
    threshold: float = 0.16         # of the local level (energy, i.e. ~0.4 in amplitude)
    t_wave_s: float = 0.36          # Pan-Tompkins: closer than this may be a T wave ...
    t_wave_ratio: float = 0.25      # ... when its steepest squared slope is under this
                                    # fraction of the beat's (slope < half, Pan-Tompkins)
    p_wave_s: float = 0.30          # closer than this before a beat may be its P wave ...
    p_wave_ratio: float = 0.25      # ... likewise
    searchback_rr: float = 1.66     # Pan-Tompkins search-back trigger
    searchback_threshold: float = 0.05
    refine_s: float = 0.075         # R peak searched within +-75 ms of the energy peak


def qrs_energy(x: np.ndarray, fs: float, cfg: RPeakConfig = RPeakConfig(),
               integrate: bool = True) -> np.ndarray:
    """(N,) QRS energy envelope of (N,) or (n_leads, N) signals: squared slope of the 5-20 Hz
    band summed over leads, integrated over a QRS width (`integrate` False: the squared
    slope itself, Pan-Tompkins' slope criterion for T waves)."""
    x = np.atleast_2d(np.nan_to_num(np.asarray(x, dtype=np.float64)))
    # 5-20 Hz as a difference of two moving averages (Pan-Tompkins filtered with running
    # sums too): the -3 dB points of a T-wide average sit near 0.44/T
    y = (moving_average(x, round(0.44 / cfg.band_hz[1] * fs))
         - moving_average(x, round(0.44 / cfg.band_hz[0] * fs)))
    d = np.diff(y, axis=-1, prepend=y[:, :1]) * fs          # mV/s
    e = d * d
    if e.shape[0] > 1:
        # leads larger than the typical lead are scaled down to it (one lead with a huge
        # artefact cannot own the sum); smaller ones are not scaled up (a lead whose QRS is
        # small next to its T wave would lend the T waves its weight)
        scale = quantile(e[:, ::4], 0.99)
        keep = scale > 0
        scale = np.maximum(scale[keep], np.median(scale[keep]))
        e = e[keep] / scale[:, None]
    e = e.sum(axis=0)
    if not integrate:
        return e
    w = max(1, int(round(cfg.integration_s * fs)))
    return moving_average(e, w)


def _local_level(e: np.ndarray, fs: float, cfg: RPeakConfig) -> np.ndarray:
    """(n_blocks,) robust local QRS energy level and the block length in samples."""
    blk = max(1, int(cfg.block_s * fs))
    nb = -(-e.size // blk)
    padded = np.zeros(nb * blk)
    padded[: e.size] = e
    bmax = padded.reshape(nb, blk).max(axis=1)
    return median_filter(bmax, size=min(cfg.level_blocks, nb), mode="mirror"), blk


def peaks_from_energy(e: np.ndarray, fs: float, cfg: RPeakConfig = RPeakConfig(),
                      slope: np.ndarray | None = None) -> np.ndarray:
    """Beat positions (sample indices of energy maxima) in a QRS energy envelope `e`.
    `slope`: the un-integrated squared slope (qrs_energy(..., integrate=False)); when given,
    the T-wave test compares steepest slopes, as Pan and Tompkins did, not energies."""
    if e.size < 3 or not np.isfinite(e).all() or e.max() <= 0:
        return np.zeros(0, dtype=np.int64)
    cand, _ = find_peaks(e, distance=max(1, int(cfg.refractory_s * fs)))
    if cand.size == 0:
        return cand.astype(np.int64)
    level_b, blk = _local_level(e, fs, cfg)
    level = level_b[cand // blk]
    h = e[cand]
    beat = h >= cfg.threshold * level
    if slope is not None:   # steepest squared slope within +-75 ms of each candidate
        r = int(cfg.refine_s * fs)
        win = np.clip(cand[:, None] + np.arange(-r, r + 1)[None, :], 0, e.size - 1)
        steep = slope[win].max(axis=1)
    else:
        steep = h

    # T-wave rejection: a small candidate right after a large beat is its T wave. The T comes
    # later at slow rates: the window is 360 ms or 0.6 x the typical RR of the clear beats.
    idx = np.flatnonzero(beat)
    clear = cand[h >= 0.5 * level]
    rr_typ = np.median(np.diff(clear)) if clear.size > 2 else 0.0
    t_win = min(max(cfg.t_wave_s * fs, 0.6 * rr_typ), 0.6 * fs)
    if idx.size > 1:
        gap = np.diff(cand[idx])
        close = gap < t_win
        # ... or (a broad, discordant T after a slow QRS, as in LBBB, can be half as steep)
        # a candidate at under half the beat's energy that comes far too early for a beat
        small = (steep[idx[1:]] < cfg.t_wave_ratio * steep[idx[:-1]]) | (
            (h[idx[1:]] < 0.5 * h[idx[:-1]]) & (gap < 0.6 * rr_typ))
        beat[idx[1:][close & small]] = False

    # P-wave rejection, the mirror image: a small candidate shortly before a large beat.
    idx = np.flatnonzero(beat)
    if idx.size > 1:
        close = np.diff(cand[idx]) < cfg.p_wave_s * fs
        small = steep[idx[:-1]] < cfg.p_wave_ratio * steep[idx[1:]]
        beat[idx[:-1][close & small]] = False

    # The first and last beats have no neighbour on one side: a small one next to a large
    # beat is the T wave of a beat cut off by the record's edge (or its own cut QRS).
    idx = np.flatnonzero(beat)
    if idx.size > 2:
        if steep[idx[0]] < cfg.t_wave_ratio * steep[idx[1]]:
            beat[idx[0]] = False
        if steep[idx[-1]] < cfg.t_wave_ratio * steep[idx[-2]]:
            beat[idx[-1]] = False

    # Search-back: re-examine long gaps with a lower threshold (one beat per pass).
    for _ in range(3):
        idx = np.flatnonzero(beat)
        if idx.size < 3:
            break
        rr = np.diff(cand[idx])
        local_rr = median_filter(rr, size=min(9, rr.size), mode="nearest")
        gaps = np.flatnonzero(rr > cfg.searchback_rr * local_rr)
        added = False
        for g in gaps:
            lo, hi = cand[idx[g]], cand[idx[g + 1]]
            inside = np.flatnonzero((cand > lo + cfg.t_wave_s * fs) & (cand < hi - cfg.refractory_s * fs)
                                    & ~beat & (h >= cfg.searchback_threshold * level))
            if inside.size:
                beat[inside[np.argmax(h[inside])]] = True
                added = True
        if not added:
            break
    return cand[beat].astype(np.int64)


def refine_to_extremum(x: np.ndarray, peaks: np.ndarray, fs: float,
                       cfg: RPeakConfig = RPeakConfig()) -> np.ndarray:
    """Move each energy peak to the lead's dominant QRS deflection (the R peak, or the S
    nadir in a lead whose QRS points down: one polarity for the whole lead)."""
    if peaks.size == 0:
        return peaks
    y = bandpass(np.asarray(x, dtype=np.float64), fs, 0.5, 40.0)
    h = max(1, int(cfg.refine_s * fs))
    win = np.clip(peaks[:, None] + np.arange(-h, h + 1)[None, :], 0, y.size - 1)  # (B, 2h+1)
    seg = y[win]
    seg = seg - np.median(seg, axis=1, keepdims=True)
    polarity = 1.0 if np.abs(seg.max(axis=1)).sum() >= np.abs(seg.min(axis=1)).sum() else -1.0
    return win[np.arange(len(peaks)), np.argmax(polarity * seg, axis=1)].astype(np.int64)


def detect_r_peaks(x: np.ndarray, fs: float, cfg: RPeakConfig = RPeakConfig()) -> np.ndarray:
    """R-peak sample indices of a single-lead signal (N,) at rate `fs`, any length."""
    x = np.nan_to_num(np.asarray(x, dtype=np.float64).ravel())
    if x.size < int(0.5 * fs) or np.ptp(x) == 0:
        return np.zeros(0, dtype=np.int64)
    peaks = beats_of(x, fs, cfg)
    return np.unique(refine_to_extremum(x, peaks, fs, cfg))


def beats_of(x: np.ndarray, fs: float, cfg: RPeakConfig = RPeakConfig()) -> np.ndarray:
    """Beat positions (QRS energy maxima) of (N,) or (n_leads, N) signals."""
    slope = qrs_energy(x, fs, cfg, integrate=False)
    w = max(1, int(round(cfg.integration_s * fs)))
    return peaks_from_energy(moving_average(slope, w), fs, cfg, slope=slope)


def pick_lead(lead_names: list[str], name: str | None = None) -> int | None:
    """Index of the channel to detect beats on: `name` (exact, case-insensitive, or the same
    standard lead under another spelling), else lead II, else MLII, else the first channel.
    None when `name` is given and matches nothing."""
    from gem_core.leads import standard_lead

    lowered = [n.strip().lower() for n in lead_names]
    if name is not None:
        want = name.strip().lower()
        if want in lowered:
            return lowered.index(want)
        std = standard_lead(name)
        for i, n in enumerate(lead_names):
            if std is not None and standard_lead(n) == std:
                return i
        return None
    for i, n in enumerate(lead_names):
        if standard_lead(n) == "II":
            return i
    return lowered.index("mlii") if "mlii" in lowered else 0
