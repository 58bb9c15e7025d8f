"""Wave boundaries (P, QRS, T onsets and offsets) on beat-aligned arrays, vectorised.

Every function takes arrays shaped (..., W): W samples of one beat window, aligned so that
sample `r0` is the beat's QRS fiducial; the leading axes are anything (leads, beats x
leads), so one code path serves the median beat of each lead, the global (all-lead)
signals and every single beat.

Methods, as in interpretive programs:
- QRS onset/offset: where the slope magnitude ("velocity"; summed over leads, the spatial
  velocity) falls under a threshold for 30 ms, outwards from its peak, placed between
  samples. A threshold on the slope, not the amplitude, so an elevated J point is found.
- P onset/offset: the last hump before the QRS of the P magnitude (spatial magnitude over
  leads for the global P); bounds where it falls under a fraction of its peak above the
  floor, carried down to the floor along its slope.
- T offset: tangent method (intersection of the tangent at the steepest point of the
  descending limb with the baseline; Postema & Wilde, Curr Cardiol Rev 2014); T onset the
  same on the ascending limb against the ST level.
All positions are sample indices in the window; -1 (ints) or NaN (floats) where not found.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import find_peaks

from gem_core.measure.filters import moving_average
from gem_core.measure.stats import quantile


@dataclass(frozen=True)
class DelineationConfig:
    qrs_threshold: float = 0.10    # of (peak - resting) spatial velocity
    quiet_s: float = 0.030         # velocity below threshold this long = PR / ST segment
    st_search_s: float = 0.26      # QRS bounds looked for within 260 ms of the peak slope
    lull_s: float = 0.045          # a quiet stretch this short ...
    lull_resume: float = 0.25      # ... then velocity >= 25 % of the peak: still the QRS
    anchor_s: float = 0.06         # peak velocity searched within +-60 ms of the fiducial
    min_qrs_snr: float = 4.0       # peak velocity over resting velocity to call a QRS
    p_threshold: float = 0.05      # of the P magnitude peak, above noise
    p_min_mv: float = 0.03         # smallest P wave we call present
    p_snr: float = 4.0             # P peak over the median beat's noise magnitude
    p_search_s: float = 0.36       # P searched up to this long before QRS onset
    p_gap_s: float = 0.012         # ... and ending this long before it
    t_start_s: float = 0.06        # T peak searched from J + 60 ms
    t_tail_s: float = 0.22         # steepest descent within 220 ms after the T peak
    t_min_mv: float = 0.05         # T smaller than this: no T end in that lead
    t_peak_max_s: float = 0.55     # T peak before QRS onset + 0.55 s x RR^(1/3) (RR in s)


def velocity(x: np.ndarray, fs: float) -> np.ndarray:
    """Slope in mV/s along the last axis: central differences, one-sided at the ends
    (np.gradient's values, without its general-purpose overhead)."""
    v = np.empty(x.shape)
    v[..., 1:-1] = (x[..., 2:] - x[..., :-2]) / 2.0
    v[..., 0] = x[..., 1] - x[..., 0]
    v[..., -1] = x[..., -1] - x[..., -2]
    v *= fs
    return v


def take_at(a: np.ndarray, idx) -> np.ndarray:
    """a[..., idx[...]]: one sample per row of `a` (..., W), idx clipped into range (plain
    fancy indexing on the flattened rows: take_along_axis costs more than the work here)."""
    w = a.shape[-1]
    idx = np.asarray(idx)
    if idx.shape != a.shape[:-1]:
        idx = np.broadcast_to(idx, a.shape[:-1])
    flat = np.minimum(np.maximum(idx.ravel(), 0), w - 1).astype(np.intp)
    flat += np.arange(0, flat.size * w, w, dtype=np.intp)
    return a.reshape(-1)[flat].reshape(idx.shape)


_take = take_at


def _window_mask(w: int, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """(..., W) True for lo <= i < hi (per row)."""
    i = np.arange(w)
    return (i >= np.asarray(lo)[..., None]) & (i < np.asarray(hi)[..., None])


def _quiet_runs(below: np.ndarray, k: int) -> np.ndarray:
    """quiet[..., i] = below[..., i:i+k] all True (False where the run would pass the end)."""
    w = below.shape[-1]
    c = np.concatenate([np.zeros(below.shape[:-1] + (1,), np.int32),
                        np.cumsum(below, axis=-1, dtype=np.int32)], axis=-1)
    runs = (c[..., k:] - c[..., :-k]) == k          # (..., W-k+1)
    pad = np.zeros(below.shape[:-1] + (w - runs.shape[-1],), bool)
    return np.concatenate([runs, pad], axis=-1)


def _last_true(mask: np.ndarray) -> np.ndarray:
    rev = mask[..., ::-1]
    return np.where(rev.any(-1), mask.shape[-1] - 1 - rev.argmax(-1), -1)


def _first_true(mask: np.ndarray) -> np.ndarray:
    return np.where(mask.any(-1), mask.argmax(-1), -1)


def qrs_bounds(v: np.ndarray, r0: int | np.ndarray, fs: float,
               cfg: DelineationConfig = DelineationConfig(), rr: np.ndarray | None = None,
               fractional: bool = False) -> tuple[np.ndarray, ...]:
    """QRS onset and offset from a slope magnitude `v` (..., W) >= 0.

    Anchored at the velocity peak near `r0`; the QRS extends outwards until the velocity
    stays under the threshold for `quiet_s` (30 ms): the PR segment before, the ST segment
    after. A shorter lull inside the QRS (the top of a broad R' in RBBB or of a deep Q
    wave, where every lead's slope passes through zero together) does not end it.
    Threshold: resting level (20th percentile of `v` over the window) + `qrs_threshold` x
    (peak - resting). `rr` (samples) keeps the search inside the cardiac cycle.
    Returns onset and offset sample indices (-1 where not found), and with `fractional` also
    the sub-sample positions of the threshold crossings (NaN where not found).
    """
    w = v.shape[-1]
    r0 = np.broadcast_to(np.asarray(r0), v.shape[:-1])
    i = np.arange(w)
    h = int(cfg.anchor_s * fs)
    anchor = np.argmax(np.where(_window_mask(w, r0 - h, r0 + h + 1), v, -np.inf), axis=-1)
    peak = _take(v, anchor)
    rest = quantile(v[..., ::4], 0.20)       # (every 4th sample is plenty)
    thr = rest + cfg.qrs_threshold * (peak - rest)
    below = v < thr[..., None]
    reach = np.full(anchor.shape, int(cfg.st_search_s * fs))
    if rr is not None:
        reach = np.minimum(reach, (0.5 * np.broadcast_to(rr, anchor.shape)).astype(int))
    on = np.full(anchor.shape, -1)
    off = np.full(anchor.shape, -1)

    def lull_bounds(quiet, q, on, off):     # fill the bounds still missing from runs of q samples
        before = _last_true(quiet & (i <= anchor[..., None] - q) & (i >= anchor[..., None] - reach[..., None]))
        after = _first_true(quiet & (i > anchor[..., None]) & (i < anchor[..., None] + reach[..., None]))
        return np.where((on < 0) & (before >= 0), before + q, on), np.where((off < 0) & (after >= 0), after, off)

    q_full = max(2, int(round(cfg.quiet_s * fs)))
    quiet_full = _quiet_runs(below, q_full)
    on, off = lull_bounds(quiet_full, q_full, on, off)
    if (on < 0).any() or (off < 0).any():   # a shorter lull only where nothing else was found
        q_half = max(2, int(round(cfg.quiet_s / 2 * fs)))
        on, off = lull_bounds(_quiet_runs(below, q_half), q_half, on, off)
    # A short lull followed at once by fast activity again (>= 25 % of the peak) is inside
    # the QRS (a broad terminal R'), not the ST segment: the ST-T resumes later and slower.
    resume = _first_true(~below & (i > off[..., None]))
    gap_ok = (off >= 0) & (resume >= 0) & (resume - off <= int(cfg.lull_s * fs))
    again = _first_true(quiet_full & (i > resume[..., None]))
    span = (i >= resume[..., None]) & (i < np.where(again >= 0, again, w)[..., None])
    strong = np.where(span, v, 0).max(-1) >= cfg.lull_resume * peak
    off = np.where(gap_ok & strong & (again >= 0) & (again < anchor + reach), again, off)
    ok = (peak > cfg.min_qrs_snr * np.maximum(rest, 1e-9)) & (on >= 0) & (off > on)
    on, off = np.where(ok, on, -1), np.where(ok, off, -1)
    if not fractional:
        return on, off
    # where between samples the velocity crosses the threshold (linear), for sub-sample bounds
    def cross(i_hi):                      # v[i_hi - 1] and v[i_hi] on either side of thr
        a, b = _take(v, i_hi - 1), _take(v, i_hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.clip((thr - a) / (b - a), 0.0, 1.0)
        return np.where(np.isfinite(f), i_hi - 1 + f, i_hi)
    # (the central difference spreads a change of slope over +-1 sample: give half back)
    return on, off, np.where(ok, cross(on) + 0.5, np.nan), np.where(ok, cross(off) - 0.5, np.nan)


def wave_from_magnitude(a: np.ndarray, lo: np.ndarray, hi: np.ndarray, noise: np.ndarray,
                        frac: float, extrapolate: int = 0, peak: np.ndarray | None = None,
                        valleys: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Peak, onset, offset and peak value of a one-humped magnitude `a` (..., W) >= 0 inside
    [lo, hi): the bounds are where `a` falls under noise + frac * (peak - noise), optionally
    extrapolated to the noise floor over at most `extrapolate` samples. `peak` picks the
    hump (default: the highest in the window); `valleys` also stops each bound at the
    nearest valley under half the peak. Bounds are float (sub-sample) with `extrapolate`."""
    w = a.shape[-1]
    inside = _window_mask(w, lo, hi)
    pk = np.argmax(np.where(inside, a, -np.inf), axis=-1) if peak is None else np.asarray(peak)
    amp = _take(a, pk)
    thr = noise + frac * np.maximum(amp - noise, 0)
    below = (a < thr[..., None]) | ~inside
    i = np.arange(w)
    on = _last_true(below & (i < pk[..., None])) + 1
    off = _first_true(below & (i > pk[..., None]))
    off = np.where(off < 0, np.asarray(hi) - 1, off)
    if valleys:
        # a wave sitting on a slope (a T tail, wander) never falls under the threshold on that
        # side: there, the valley between it and its neighbour bounds it
        low = a < (noise + 0.5 * np.maximum(amp - noise, 0))[..., None]
        prev_a = np.concatenate([a[..., :1], a[..., :-1]], axis=-1)
        next_a = np.concatenate([a[..., 1:], a[..., -1:]], axis=-1)
        valley = low & (a <= prev_a) & (a <= next_a) & inside
        v_on = _last_true(valley & (i < pk[..., None]))
        v_off = _first_true(valley & (i > pk[..., None]))
        on = np.where(v_on >= 0, np.maximum(on, v_on), on)
        off = np.where(v_off >= 0, np.minimum(off, v_off), off)
    if extrapolate:
        # carry each crossing down to the floor along the wave's slope just inside it (a
        # threshold crossing alone sits late on a rounded onset); at most `extrapolate` samples
        k = int(extrapolate)
        rise = (_take(a, on + k) - _take(a, on)) / k
        fall = (_take(a, off - k) - _take(a, off)) / k
        with np.errstate(divide="ignore", invalid="ignore"):
            d_on = np.where(rise > 0, (_take(a, on) - noise) / rise, 0.0)
            d_off = np.where(fall > 0, (_take(a, off) - noise) / fall, 0.0)
        lo_b = np.broadcast_to(np.asarray(lo), on.shape)
        on = np.maximum(on - np.clip(d_on, 0, k), lo_b)            # float: sub-sample
        off = off + np.clip(d_off, 0, k)
    return pk, on, off, amp


def t_wave(y: np.ndarray, lo: np.ndarray, hi: np.ndarray, fs: float,
           cfg: DelineationConfig = DelineationConfig(), near: np.ndarray | None = None
           ) -> dict[str, np.ndarray]:
    """T peak (index), amplitude (signed mV vs baseline), onset and offset (float indices)
    of baseline-corrected leads `y` (..., W), searched in [lo, hi). With `near` (the
    global T peak), each lead's peak is taken within +-40 ms of it, so that neither a P
    wave of the next beat nor a depressed ST segment is taken for a lead's T."""
    w = y.shape[-1]
    lo = np.broadcast_to(np.asarray(lo), y.shape[:-1])
    hi = np.broadcast_to(np.asarray(hi), y.shape[:-1])
    inside = _window_mask(w, lo, hi)
    if near is not None:
        h = int(0.04 * fs)
        near = np.broadcast_to(np.asarray(near), y.shape[:-1])
        inside &= _window_mask(w, near - h, near + h + 1)
    pk = np.argmax(np.where(inside, np.abs(y), -np.inf), axis=-1)
    amp = _take(y, pk)
    sgn = np.where(amp >= 0, 1.0, -1.0)[..., None]
    v = velocity(y, fs)
    i = np.arange(w)
    # descending limb: steepest slope back towards the baseline after the peak, looked for
    # only until the wave is back near the baseline (not in the next beat's P)
    back = _first_true((i > pk[..., None]) & (sgn * y < 0.05 * np.abs(amp)[..., None]))
    tail_end = np.where(back >= 0, back + int(0.02 * fs), pk + int(cfg.t_tail_s * fs))
    # ... and only down the first descent: it ends where the (smoothed) wave turns back up
    # after having come at least half way down (a U wave or the next P is a new rise)
    ys = moving_average(sgn * y, int(0.01 * fs))
    turn = (i > pk[..., None]) & (ys < 0.5 * np.abs(amp)[..., None]) & \
        (np.diff(ys, axis=-1, append=ys[..., -1:]) > 0)
    valley = _first_true(turn)
    tail_end = np.where(valley >= 0, np.minimum(tail_end, valley + 1), tail_end)
    tail_end = np.minimum(np.minimum(tail_end, hi), pk + int(cfg.t_tail_s * fs))
    tail = (i >= pk[..., None]) & (i < tail_end[..., None])
    s = np.argmax(np.where(tail, -sgn * v, -np.inf), axis=-1)
    vs, ys = _take(v, s), _take(y, s)
    with np.errstate(divide="ignore", invalid="ignore"):
        off = s + (-ys / vs) * fs
    off = np.where((sgn[..., 0] * vs < 0) & (off >= pk) & (off < hi + 0.05 * fs), off, np.nan)
    # ascending limb: steepest slope towards the peak, tangent to the ST level at `lo`
    rise = (i >= lo[..., None]) & (i <= pk[..., None])
    s2 = np.argmax(np.where(rise, sgn * v, -np.inf), axis=-1)
    v2, y2 = _take(v, s2), _take(y, s2)
    st_level = _take(y, lo)
    with np.errstate(divide="ignore", invalid="ignore"):
        on = s2 + ((st_level - y2) / v2) * fs
    on = np.where((sgn[..., 0] * v2 > 0), np.clip(on, lo, pk), np.nan)
    small = np.abs(amp) < cfg.t_min_mv
    return {"peak": pk, "amp": amp, "on": np.where(small, np.nan, on),
            "off": np.where(small, np.nan, off)}


def robust_latest(values: np.ndarray, weight_ok: np.ndarray, axis: int = -1) -> np.ndarray:
    """The latest of the valid values along `axis` short of outliers: the mean of the second
    and third latest with four or more valid values, the second latest with three, the
    latest with one or two. One lead's outlier cannot set a global offset, and which lead
    comes second does not make it jump."""
    v = np.where(weight_ok & np.isfinite(values), values, -np.inf)
    n = (v > -np.inf).sum(axis=axis)
    srt = np.sort(v, axis=axis)
    k = srt.shape[axis]
    last = np.take(srt, -1, axis=axis)
    second = np.take(srt, -2, axis=axis) if k > 1 else last
    third = np.take(srt, -3, axis=axis) if k > 2 else second
    out = np.where(n >= 4, (second + third) / 2, np.where(n >= 3, second, last))
    return np.where(n > 0, out, np.nan)


def robust_earliest(values: np.ndarray, ok: np.ndarray, axis: int = -1) -> np.ndarray:
    """The earliest of the valid values short of outliers (mirror of robust_latest)."""
    return -robust_latest(-values, ok, axis=axis)


# --- whole beats: QRS + baseline, T, P on (B, L, W) windows -------------------------------------
def _gather(a: np.ndarray, start: np.ndarray, k: int) -> np.ndarray:
    """a (B, L, W) -> (B, L, k) samples from per-beat `start` (B,) on (clipped)."""
    idx = np.clip(start[:, None] + np.arange(k)[None, :], 0, a.shape[-1] - 1)   # (B, k)
    return np.take_along_axis(a, np.broadcast_to(idx[:, None, :], a.shape[:2] + (k,)), axis=-1)


def _spatial(y: np.ndarray, usable: np.ndarray, smooth: int) -> np.ndarray:
    """(B, W) magnitude over the usable leads of y (B, L, W), smoothed over `smooth` samples."""
    mag = np.sqrt(np.einsum("blw,blw,l->bw", y, y, usable.astype(y.dtype)))
    return moving_average(mag, smooth)


def qrs_and_baseline(beats: np.ndarray, usable: np.ndarray, r0: int, rr: np.ndarray, fs: float,
                     cfg: DelineationConfig = DelineationConfig(),
                     fallback: tuple | None = None, per_lead: bool = True
                     ) -> dict[str, np.ndarray]:
    """Global QRS bounds (B,) from the spatial velocity of the usable leads (as sample
    indices "on"/"off" and sub-sample positions "on_f"/"off_f") and, with `per_lead`, each
    lead's own bounds (B, L). `rr` (B,): the RR after each beat, samples. Only the +-350 ms
    around the fiducial are looked at. `fallback`: (on, off, on_f, off_f) where not found."""
    a = max(0, r0 - int(0.35 * fs))
    z = min(beats.shape[-1], r0 + int(0.35 * fs))
    av = np.abs(velocity(beats[..., a:z], fs))                                   # (B, L, W')
    on, off, on_f, off_f = qrs_bounds(av[:, usable].sum(1), r0 - a, fs, cfg, rr, fractional=True)
    on, off = np.where(on >= 0, on + a, -1), np.where(off >= 0, off + a, -1)
    on_f, off_f = on_f + a, off_f + a
    if fallback is not None:
        found = on >= 0
        on, off = np.where(found, on, fallback[0]), np.where(found, off, fallback[1])
        on_f, off_f = np.where(found, on_f, fallback[2]), np.where(found, off_f, fallback[3])
    out = {"on": on, "off": off, "on_f": on_f, "off_f": off_f}
    if per_lead:
        lon, loff = qrs_bounds(av, r0 - a, fs, cfg, rr[:, None])
        out.update(lead_on=np.where(lon >= 0, lon + a, -1), lead_off=np.where(loff >= 0, loff + a, -1))
    return out


def t_waves(y: np.ndarray, usable: np.ndarray, on: np.ndarray, off: np.ndarray, hi: np.ndarray,
            rr: np.ndarray, fs: float, cfg: DelineationConfig = DelineationConfig(),
            t_leads: np.ndarray | None = None, near_peak: np.ndarray | None = None
            ) -> dict[str, np.ndarray]:
    """T waves of beats y (B, L, W) searched from J + t_start to `hi` (B,).

    The global T peak is the top of the spatial T magnitude, no later than QRS onset +
    t_peak_max_s x RR^(1/3) (RR (B,) in samples; a QTc-like bound, so that the next P is not
    taken for a T); each lead's T is taken near it
    and ended by the tangent method; the global T end is the robust latest over the leads
    whose T is at least a quarter of the largest (or over `t_leads` (L,) when given).
    `near_peak` (B,): for single beats, the T peak is looked for within 60 ms of it (the
    median beat's, moved to each beat)."""
    w = y.shape[-1]
    lo = off + int(cfg.t_start_s * fs)
    mag = _spatial(y, usable, int(0.008 * fs))
    i = np.arange(w)
    peak_hi = np.minimum(hi, on + (cfg.t_peak_max_s * (rr / fs) ** (1 / 3) * fs).astype(int))
    inside = (i >= lo[:, None]) & (i < peak_hi[:, None])
    # The T peak is the most prominent hump of the magnitude: a depressed or raised ST can
    # be larger but is a shoulder of the QRS, not a hump. With no hump (T merged into a
    # raised ST segment) the top itself. (The window ends before the next P when known.)
    ms = moving_average(mag, int(0.02 * fs))
    if near_peak is not None:   # single beats: the top within 60 ms of the median beat's peak
        h = int(0.06 * fs)
        inside &= (i >= near_peak[:, None] - h) & (i <= near_peak[:, None] + h)
        inside = np.where(inside.any(-1, keepdims=True), inside, i == near_peak[:, None])
    peak = np.argmax(np.where(inside, ms, -np.inf), axis=-1)
    for b in range(ms.shape[0] if near_peak is None else 0):
        a, z = int(lo[b]), int(peak_hi[b])
        if z - a > 3:
            seg = ms[b, a:z]
            pk, props = find_peaks(seg, prominence=max(cfg.t_min_mv / 2, 0.05 * seg.max()))
            if pk.size:
                peak[b] = a + pk[np.argmax(props["prominences"])]
    b, nl = y.shape[:2]
    tw = t_wave(y, np.broadcast_to(lo[:, None], (b, nl)), np.broadcast_to(hi[:, None], (b, nl)),
                fs, cfg, near=peak[:, None])
    t_abs = np.where(usable[None], np.abs(tw["amp"]), 0.0)
    big = (usable[None] & (t_abs >= np.maximum(cfg.t_min_mv, 0.25 * t_abs.max(-1, keepdims=True)))
           if t_leads is None else np.broadcast_to(t_leads, t_abs.shape))
    return {**tw, "global_peak": peak, "leads": big,
            "global_on": robust_earliest(tw["on"], big), "global_off": robust_latest(tw["off"], big)}


def _detrend(y: np.ndarray, lo: np.ndarray, hi: np.ndarray, k: int) -> np.ndarray:
    """y (B, L, W) minus, per lead, the straight line from its level at `lo` to its level
    at `hi` (means over k samples): inside [lo, hi) only the P wave itself is left."""
    w = y.shape[-1]
    lo_lvl = _gather(y, lo, k).mean(-1)
    hi_lvl = _gather(y, hi - k, k).mean(-1)
    frac = np.clip((np.arange(w)[None, :] - lo[:, None]) / np.maximum(hi - lo, 1)[:, None], 0, 1)
    return y - (lo_lvl[..., None] + (hi_lvl - lo_lvl)[..., None] * frac[:, None, :])


def p_waves(y: np.ndarray, usable: np.ndarray, on: np.ndarray, rr_prev: np.ndarray,
            noise: np.ndarray, fs: float, cfg: DelineationConfig = DelineationConfig(),
            snr: float | None = None, per_lead: bool = True,
            near: tuple[np.ndarray, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """P waves of beats y (B, L, W) in the stretch before the QRS onset `on` (B,): up to
    `p_search_s` and half the preceding RR (`rr_prev` (B,) samples) back.

    Global P: the last hump of the spatial magnitude before the QRS whose prominence is at
    least `p_min_mv`, `snr` x the noise magnitude (from per-lead `noise` (L,)) and a third of
    the most prominent hump's: the P is the wave nearest the QRS, a tail of the previous T
    is further away, a ripple after the P is smaller. Found when it stands
    that high above zero and lasts >= 40 ms. Per-lead P: each lead's |y| around it.
    `near` ((B,), (B,)): for single beats, the P is the top within 40 ms of that span (the
    median beat's P, moved to each beat)."""
    snr = cfg.p_snr if snr is None else snr
    lo = np.maximum(0, on - np.minimum(int(cfg.p_search_s * fs), (0.5 * rr_prev).astype(int))).astype(int)
    hi = (on - int(cfg.p_gap_s * fs)).astype(int)
    if near is not None:   # single beats: around the median beat's P, moved to each beat
        m = int(0.04 * fs)
        lo = np.maximum(lo, np.floor(near[0]).astype(int) - m)
        hi = np.maximum(np.minimum(hi, np.ceil(near[1]).astype(int) + m), lo + 1)
    k = max(1, int(0.008 * fs))
    w = y.shape[-1]
    a0, z0 = max(0, int(lo.min()) - k), min(w, int(hi.max()) + k)
    mag = np.zeros(y.shape[:1] + (w,))
    mag[:, a0:z0] = _spatial(y[..., a0:z0], usable, k)                              # (B, W)
    noise_g = float(np.sqrt((noise[usable] ** 2).sum()))
    inside = _window_mask(w, lo, hi)
    # the floor the P rises from: noise, or what is left of wander and T tails if larger
    # 20th percentile of each beat's window: sort with the outside pushed to the end
    srt = np.sort(np.where(inside, mag, np.inf)[:, a0:z0], axis=-1)
    cnt = inside.sum(-1)
    floor = np.maximum(noise_g, take_at(srt, cnt // 5))
    floor = np.where(np.isfinite(floor), floor, noise_g)
    peak = np.argmax(np.where(inside, mag, -np.inf), axis=-1)
    for b in range(mag.shape[0] if near is None else 0):
        a, z = int(lo[b]), int(hi[b])
        if z - a > 3:
            seg = mag[b, a:z]
            pk, props = find_peaks(seg, prominence=max(cfg.p_min_mv, snr * noise_g))
            if pk.size:   # the last hump at least a third as prominent as the most prominent
                prom = props["prominences"]
                peak[b] = a + pk[prom >= prom.max() / 3][-1]
    pk, p_on, p_off, amp = wave_from_magnitude(mag, lo, hi, floor, cfg.p_threshold,
                                               extrapolate=max(2, int(0.01 * fs)), peak=peak, valleys=True)
    found = ((hi - lo > int(0.06 * fs)) & (amp >= max(cfg.p_min_mv, snr * noise_g))
             & (p_off - p_on >= int(0.04 * fs)))
    out = {"lo": lo, "hi": hi, "peak": pk, "on": p_on, "off": p_off, "amp": amp, "found": found}
    if not per_lead:
        return out
    b, nl = y.shape[:2]
    m = int(0.02 * fs)
    l_lo = np.where(found, np.maximum(lo, p_on - m), lo)
    l_hi = np.where(found, np.minimum(hi, p_off + m), hi)
    lpk, lon, loff, _ = wave_from_magnitude(np.abs(y), np.broadcast_to(l_lo[:, None], (b, nl)),
                                            np.broadcast_to(l_hi[:, None], (b, nl)),
                                            np.broadcast_to(noise, (b, nl)), cfg.p_threshold)
    lamp = _take(y, lpk)
    lfound = found[:, None] & usable[None] & (np.abs(lamp) >= np.maximum(cfg.p_min_mv, snr * noise)[None])
    return {**out, "lead_peak": lpk, "lead_on": lon, "lead_off": loff, "lead_amp": lamp,
            "lead_found": lfound}
