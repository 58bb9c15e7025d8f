"""`measure_ecg`: a prepared 12-lead ECG -> global, per-lead and per-beat measurements,
findings, quality and fiducials (the dict in ../helpers/MEASUREMENTS_SCHEMA.md).

The flow:
1. average to ~250 Hz, remove mains (when present) and EMG; a 0.5 Hz high-passed copy for
   finding waves;
2. QRS complexes on all usable leads together (rpeaks), one window per beat (B, L, W),
   aligned on the mean QRS; leads whose beats do not resemble each other are unusable, beats
   unlike the rest (PVCs, artefacts) stay out of the median;
3. QRS bounds from the spatial velocity of all leads (median beat and every beat);
4. levels from a copy whose baseline is a line through each beat's PR level (the diastole
   when there are no P waves): median beat per lead, and every beat;
5. P waves (median beat, then each beat near it), kept when they recur beat after beat;
6. T waves up to the next P (or QRS): global T end = robust latest of the leads' tangent
   T ends;
7. amplitudes, axes, per-beat features, findings, the JSON-safe dict.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from gem_core.leads import FS, STANDARD_LEADS
from gem_core.measure import findings as F
from gem_core.measure import quality as Q
from gem_core.measure.axis import frontal_axis
from gem_core.measure.delineate import (DelineationConfig, _detrend, p_waves, qrs_and_baseline,
                                        t_waves, take_at)
from gem_core.measure.features import (GEM_FEATURES, beat_features, correct_qt, lead_amplitudes,
                                       st_form, summarise)
from gem_core.measure.filters import denoise, remove_baseline_through, without_drift
from gem_core.measure.rpeaks import RPeakConfig, beats_of
from gem_core.measure.stats import median, nan_median

GLOBAL_KEYS = ("heart_rate_bpm", "rr_ms", "rr_sd_ms", "pr_ms", "p_ms", "qrs_ms", "qt_ms",
               "qtc_ms", "qtc_method", "qtc_bazett_ms", "qtc_fridericia_ms", "p_axis_deg",
               "qrs_axis_deg", "t_axis_deg", "rhythm_regular", "n_beats")
FIDUCIAL_KEYS = ("r_peaks", "p_on", "p_off", "qrs_on", "qrs_off", "t_on", "t_off")
LEAD_AMP_KEYS = ("q_mv", "r_mv", "s_mv", "t_mv", "st_j60_mv")


@dataclass(frozen=True)
class MeasureConfig:
    pre_s: float = 0.50          # beat window before the QRS fiducial
    post_s: float = 0.75         # ... and after it
    lowpass_hz: float = 80.0     # EMG limit, and anti-aliasing for the working rate
    work_hz: float = 250.0       # inputs at >= 2x this are decimated to it
    qtc_method: str = "fridericia"
    # P waves must recur (see _p_consistency): split-half correlation or coherence for a
    # regular rhythm, both and higher when RR is irregular (f waves can line up by chance)
    p_split_half: float = 0.6
    p_coherence: float = 0.7
    p_split_half_irregular: float = 0.95
    p_coherence_irregular: float = 0.85
    delineation: DelineationConfig = DelineationConfig()
    rpeaks: RPeakConfig = RPeakConfig()


@dataclass
class Measurements:
    global_: dict
    leads: dict
    findings: list
    quality: dict
    fiducials: dict
    extras: dict = field(default_factory=dict)   # internal values (not in the JSON)

    def to_dict(self) -> dict:
        return {"global": self.global_, "leads": self.leads, "findings": self.findings,
                "quality": self.quality, "fiducials": self.fiducials}

    def finding_codes(self) -> set[str]:
        return {f["code"] + (":" + f["group"] if "group" in f else "") for f in self.findings}


# --- JSON-safe numbers ----------------------------------------------------------------------
def _num(x, digits: int = 1):
    if x is None:
        return None
    x = float(x)
    return round(x, digits) if math.isfinite(x) else None


def _interval_ms(samples, fs, digits=1):
    return None if samples is None or not np.isfinite(samples) else round(float(samples) * 1000.0 / fs, digits)


def _digits(key: str) -> int:
    return 3 if key.endswith("amplitude") else 1


def _feature_lists(a: np.ndarray, key: str) -> list[list]:
    """(B, L) per-beat values -> L JSON-safe per-beat lists (NaN -> None, rounded)."""
    if key == "st_form":
        return [[None if v is None else str(v) for v in col] for col in a.T]
    r = np.round(np.asarray(a, dtype=np.float64), _digits(key)).T.astype(object)
    r[~np.isfinite(np.asarray(a, dtype=np.float64).T)] = None
    return r.tolist()


def _empty_leads() -> dict:
    return {ld: {"beats": {k: [] for k in GEM_FEATURES}, "median": {k: None for k in GEM_FEATURES},
                 **{k: None for k in LEAD_AMP_KEYS}, "q_ms": None} for ld in STANDARD_LEADS}


def _result(g: dict, leads: dict, findings: list, lead_q: dict, unmeasurable: dict,
            fid: dict, extras: dict | None = None) -> Measurements:
    quality = {"leads": lead_q, "unmeasurable": unmeasurable}
    return Measurements(g, leads, findings, quality, fid, extras or {})


def _unmeasured(reason: str, n_beats: int, lead_reason: dict, qtc_method: str) -> Measurements:
    g = {k: None for k in GLOBAL_KEYS}
    g.update(qtc_method=qtc_method, n_beats=n_beats)
    lead_q = {ld: {"usable": ld not in lead_reason, "reason": lead_reason.get(ld)} for ld in STANDARD_LEADS}
    unmeasurable = {k: reason for k in GLOBAL_KEYS if k not in ("qtc_method", "n_beats")}
    return _result(g, _empty_leads(), [], lead_q, unmeasurable, {k: [] for k in FIDUCIAL_KEYS})


def _rhythm(r: np.ndarray, fs: float) -> dict:
    """RR statistics of beat positions r (B,) in samples."""
    rr = np.diff(r) * 1000.0 / fs                                               # (B-1,) ms
    rr_mean = float(rr.mean())
    irr = float(np.sqrt(np.mean(np.diff(rr) ** 2)) / rr_mean) if rr.size >= 3 else None
    return {"rr": rr, "mean": rr_mean, "sd": float(rr.std()), "irregularity": irr,
            "median_samples": int(round(np.median(rr) * fs / 1000.0))}


def _p_consistency(yb: np.ndarray, usable: np.ndarray, shift: np.ndarray, mp: dict
                   ) -> tuple[float, float] | None:
    """How well the P wave recurs, over the median beat's P span (each beat's span detrended
    between its ends) in the leads where the median P is at least half its largest:
    (split-half reliability: correlation between the medians of the odd and of the even
    beats; coherence: RMS of the median over the median single-beat RMS, near 1 for a wave
    locked to the QRS, small for waves of random phase that cancel in the median)."""
    n_b = yb.shape[0]
    if n_b < 4:
        return None
    amp = np.abs(mp["lead_amp"][0])
    leads = usable & (amp >= 0.5 * amp[usable].max())
    on, off = int(mp["on"][0]), int(mp["off"][0])
    span = np.arange(on, off)
    idx = np.clip(span[None, :] + shift[:, None], 0, yb.shape[-1] - 1)        # (B, S)
    seg = np.take_along_axis(yb[:, leads], np.broadcast_to(idx[:, None, :], (n_b, leads.sum(), span.size)), -1)
    seg = _detrend(seg, np.zeros(n_b, int), np.full(n_b, span.size), 2)
    odd, even = median(seg[1::2]), median(seg[0::2])     # (L', S)
    med = median(seg)
    single = median(np.sqrt((seg ** 2).mean(axis=(1, 2))))
    coherence = float(np.sqrt((med ** 2).mean()) / single) if single > 0 else 0.0
    return float(Q.correlation(odd.reshape(-1), even.reshape(-1))), coherence


def _align(beats: np.ndarray, tmpl: np.ndarray, usable: np.ndarray, r0: int, fs: float,
           reach_s: float = 0.06) -> np.ndarray:
    """(B,) shifts in samples that best align each beat's QRS region (usable leads) with the
    template's, within +-reach_s (cross-correlation, one dot product per lag)."""
    k = int(reach_s * fs)
    q0, q1 = r0 - int(0.1 * fs), r0 + int(0.12 * fs)
    ref = tmpl[usable, q0:q1]                                                    # (L', S)
    ref = ref - ref.mean(-1, keepdims=True)
    x = beats[:, usable, q0 - k:q1 + k]                                          # (B, L', S+2k)
    lagged = np.lib.stride_tricks.sliding_window_view(x, q1 - q0, axis=-1)      # (B, L', 2k+1, S)
    scores = np.einsum("blds,ls->bd", lagged, ref)                               # (B, 2k+1)
    return scores.argmax(axis=1) - k


def _levels(xs: np.ndarray, r: np.ndarray, r0: int, sel: np.ndarray, on_m: np.ndarray,
            on_b: np.ndarray, fs: float, cfg: MeasureConfig, span: int | None = None):
    """Median beat (1, L, W) and beats (B, L, W) of `xs` after removing a baseline through
    each beat's isoelectric level, then each minus its own level: the PR segment (20 to 4
    ms before QRS onset), or with `span` the median of that many samples ending 20 ms
    before it (no P waves). `on_m`/`on_b`: QRS onsets in window samples."""
    end = int(0.02 * fs)
    k = span if span is not None else max(1, end - int(0.004 * fs))
    start = on_b - end - (k if span is not None else 0)                          # window index
    idx = np.clip((r - r0 + start)[:, None] + np.arange(k)[None, :], 0, xs.shape[1] - 1)   # (B, k)
    seg = xs[:, idx]                                                             # (L, B, k)
    lvl = (median(seg, axis=-1) if span is not None else seg.mean(-1)).T     # (B, L)
    inside = (r - r0 + start >= 0) & (r - r0 + start + k <= xs.shape[1])
    xb = remove_baseline_through(xs, (r - r0 + start + k // 2)[inside], lvl[inside])
    beats, _, _ = _beat_windows(xb, r, fs, cfg)
    med = median(beats[sel])[None]

    def own_level(b, on):
        st = on - end - (k if span is not None else 0)
        ix = np.clip(st[:, None] + np.arange(k)[None, :], 0, b.shape[-1] - 1)
        g = np.take_along_axis(b, np.broadcast_to(ix[:, None, :], b.shape[:2] + (k,)), -1)
        return b - (median(g, -1) if span is not None else g.mean(-1))[..., None]

    return own_level(med, on_m), own_level(beats, on_b)


def _beat_windows(xf: np.ndarray, r: np.ndarray, fs: float, cfg: MeasureConfig):
    """(B, L, W) windows of the filtered leads around each beat; r0 = fiducial index."""
    pre, post = int(round(cfg.pre_s * fs)), int(round(cfg.post_s * fs))
    # (clipped indices hold the edge values; beats come out contiguous (B, L, W), so that
    # what follows reads memory in order)
    idx = np.clip(r[:, None] + np.arange(-pre, post)[None, :], 0, xf.shape[1] - 1)   # (B, W)
    beats = np.ascontiguousarray(np.take(xf, idx, axis=1).transpose(1, 0, 2))
    complete = (r - pre >= 0) & (r + post <= xf.shape[1])
    return beats, pre, complete


def measure_ecg(signal: np.ndarray, fs: float = FS, cfg: MeasureConfig = MeasureConfig()) -> Measurements:
    """Measure a (12, N) mV ECG in STANDARD_LEADS order (the prepared 12 x 5000 at 500 Hz;
    any rate and length work). Never raises on bad content: unmeasurable -> None + reason."""
    # (x, and xs when nothing is filtered, may be the caller's array: never written in place)
    x = np.asarray(signal, dtype=np.float64)
    if not np.isfinite(x).all():
        x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    if x.ndim != 2 or x.shape[0] != len(STANDARD_LEADS):
        raise ValueError(f"measure_ecg needs (12, N) leads in {STANDARD_LEADS} order, got {x.shape}")
    dc = cfg.delineation
    n_leads, n = x.shape
    lead_reason: dict[str, str] = {}

    n_in = n
    # Work at ~250 Hz: the EMG low-pass is the anti-aliasing filter; every boundary is still
    # placed to a fraction of a sample, and halving the samples halves the work.
    step = max(1, int(fs // cfg.work_hz))
    xs = x
    if step > 1:   # average each `step` samples (a first anti-aliasing stage), then decimate
        n = n // step
        xs = x[:, 0:n * step:step].copy()
        for j in range(1, step):        # (strided adds: a mean over a short axis is slow)
            xs += x[:, j:n * step:step]
        xs, fs = xs / step, fs / step
    xs = denoise(xs, fs, cfg.lowpass_hz)                                         # (L, N)
    xf = without_drift(xs, fs)                  # wave boundaries; levels come from `xs`
    flat = Q.flat_leads(xf)
    for i in np.flatnonzero(flat):
        lead_reason[STANDARD_LEADS[i]] = "flat line (no signal)"
    usable = ~flat
    if not usable.any():
        return _unmeasured("no lead carries a signal", 0, lead_reason, cfg.qtc_method)
    r = beats_of(xs[usable], fs, cfg.rpeaks)                                     # (B,)
    if r.size < 2:
        return _unmeasured("fewer than 2 QRS complexes detected", int(r.size), lead_reason, cfg.qtc_method)
    beats, r0, complete = _beat_windows(xf, r, fs, cfg)                          # (B, L, W)
    n_b, _, w = beats.shape
    base_set = complete if complete.sum() >= 2 else np.ones(n_b, bool)
    # Align every beat on the median QRS (the energy maximum of a broad notched QRS can sit
    # on either notch, which would make a regular rhythm look irregular).
    # (templates for alignment and quality are means: cheap, and correlations are robust)
    lag = _align(beats, beats[base_set].mean(axis=0), usable, r0, fs)
    if np.abs(lag).max() > 1:   # (a sample of jitter is not worth cutting the windows again)
        r = np.clip(r + lag, 0, n - 1)
        beats, r0, complete = _beat_windows(xf, r, fs, cfg)
        base_set = complete if complete.sum() >= 2 else np.ones(n_b, bool)

    # --- which leads carry consistent beats, which beats are alike (no PVC in the median) ---
    tmpl = beats[base_set].mean(axis=0)                                          # (L, W)
    reg = slice(r0 - int(0.1 * fs), r0 + int(0.4 * fs))
    lead_corr = median(Q.beat_consistency(beats[base_set][:, :, reg], tmpl[:, reg]), axis=0)
    for i in np.flatnonzero(usable & (lead_corr < Q.LEAD_CORR)):
        lead_reason[STANDARD_LEADS[i]] = f"beats inconsistent (correlation {lead_corr[i]:.2f}): noise or artefact"
    usable &= lead_corr >= Q.LEAD_CORR
    if not usable.any():
        return _unmeasured("no lead has consistent beats (noise or artefact)", int(n_b), lead_reason, cfg.qtc_method)
    qreg = slice(r0 - int(0.08 * fs), r0 + int(0.1 * fs))
    beat_corr = Q.correlation(beats[:, usable, qreg].reshape(n_b, -1), tmpl[usable, qreg].reshape(-1))
    sel = base_set & (beat_corr >= Q.BEAT_CORR)
    if sel.sum() < 2:
        sel = base_set
    # mean beat of the high-passed copy (alike beats only), for the QRS bounds and the noise
    a_m = max(0, r0 - int(0.4 * fs))
    med = np.zeros((1,) + beats.shape[1:])
    med[..., a_m:r0 + int(0.35 * fs)] = beats[sel][..., a_m:r0 + int(0.35 * fs)].mean(axis=0)
    # per-lead noise where P waves live (f waves in AF): single beat and median beat
    pre_qrs = slice(a_m, r0 - int(0.08 * fs))
    # (high-frequency part of the residual: beat-to-beat jitter of slow waves is not noise)
    resid = beats[sel][:, :, pre_qrs] - med[:, :, pre_qrs]
    noise_1 = Q.robust_sigma(np.diff(resid, axis=-1)) / math.sqrt(2)               # (L,)
    noise_m = 1.25 * noise_1 / math.sqrt(sel.sum())
    rh = _rhythm(r, fs)
    rr_med = rh["median_samples"]

    # --- median beat ------------------------------------------------------------------------
    one = np.ones(1, int)
    mq = qrs_and_baseline(med, usable, r0, rr_med * one, fs, dc)
    on_g, off_g = int(mq["on"][0]), int(mq["off"][0])
    on_gf, off_gf = float(mq["on_f"][0]), float(mq["off_f"][0])             # sub-sample
    if on_g < 0:
        res = _unmeasured("QRS boundaries not found", int(n_b), lead_reason, cfg.qtc_method)
        res.global_.update(heart_rate_bpm=_num(60000.0 / rh["mean"]), rr_ms=_num(rh["mean"]),
                           rr_sd_ms=_num(rh["sd"]))
        for k in ("heart_rate_bpm", "rr_ms", "rr_sd_ms"):
            res.quality["unmeasurable"].pop(k, None)
        res.fiducials["r_peaks"] = [int(v) for v in r]
        return res
    rr_s = np.diff(r)                                                            # samples
    rr_prev = np.concatenate([[rr_med], rr_s])
    rr_next = np.concatenate([rr_s, [rr_med]])
    bq = qrs_and_baseline(beats, usable, r0, rr_next, fs, dc, fallback=(on_g, off_g, on_gf, off_gf),
                          per_lead=False)
    shift = bq["on"] - on_g
    # Levels (ST, amplitudes, P, T) from a copy whose baseline is a curve through each
    # beat's PR level: the 0.5 Hz high-pass that finds the waves would move ST levels by
    # up to 0.1 mV next to large T waves.
    y, yb = _levels(xs, r, r0, sel, mq["on"], bq["on"], fs, cfg)

    # --- P waves first: they bound the T search (the next beat's P sits after this T) ---------
    mp = p_waves(y, usable, mq["on"], rr_med * one, noise_m, fs, dc)
    # P waves are there when the median beat shows one and it recurs at a fixed distance from
    # the QRS: the medians of the odd and of the even beats agree (split-half reliability).
    # f waves and noise are not locked to the QRS and do not.
    # An irregularly irregular rhythm makes atrial fibrillation likely: its f waves can line
    # up by chance in few beats, so P waves must then be unmistakable, and only beats after
    # an RR at least the median count (after a short one the previous T reaches in).
    irregular = rh["irregularity"] is not None and rh["irregularity"] >= F.AF_IRREGULARITY
    long_rr = rr_prev >= rr_med
    p_beats = long_rr if irregular and long_rr.sum() >= 4 else np.ones(n_b, bool)
    cons = _p_consistency(yb[p_beats], usable, shift[p_beats], mp) if mp["found"][0] else None
    p_corr, p_coh = cons if cons is not None else (None, None)
    if cons is None:
        p_present = False
    elif irregular:
        p_present = p_corr >= cfg.p_split_half_irregular and p_coh >= cfg.p_coherence_irregular
    else:
        p_present = p_corr >= cfg.p_split_half or p_coh >= cfg.p_coherence
    p_present = bool(mp["found"][0] and p_present)
    # single beats: their P near the median beat's (P waves are locked to the QRS)
    bp = p_waves(yb, usable, bq["on"], rr_prev, noise_1, fs, dc, snr=3.0, per_lead=False,
                 near=(mp["on"][0] + shift, mp["off"][0] + shift))


    # --- T waves, ending before the next QRS, and before the next P when there is one ------------
    t_hi_m = np.minimum(w - 2, mq["on"] + rr_med - int(0.1 * fs))
    t_hi_b = np.minimum(w - 2, bq["on"] + rr_next - int(0.1 * fs))
    if p_present:
        t_hi_m = np.minimum(t_hi_m, mp["on"] + rr_med - int(0.01 * fs))
        p_on_b = np.where(bp["found"], bp["on"], mp["on"][0] + shift)
        t_hi_b = np.minimum(t_hi_b, p_on_b + rr_next - int(0.01 * fs))
    mt = t_waves(y, usable, mq["on"], mq["off"], t_hi_m, rr_med * one, fs, dc)
    if not p_present and np.isfinite(mt["global_off"][0]):
        # Without P waves there is no PR segment to stand on: the baseline goes through the
        # median level of each diastole (after the previous T, to 20 ms before the QRS),
        # where f waves average out; then the T waves again on that baseline.
        qt = float(mt["global_off"][0] - on_g)
        k = int(max(0.04 * fs, min(0.3 * fs, float(np.min(rr_prev)) - qt - 0.04 * fs)))
        y, yb = _levels(xs, r, r0, sel, mq["on"], bq["on"], fs, cfg, span=k)
        mt = t_waves(y, usable, mq["on"], mq["off"], t_hi_m, rr_med * one, fs, dc)
    # single beats: the global T end from the (up to) four leads with the largest T waves
    t_amp = np.where(mt["leads"][0], np.abs(mt["amp"][0]), 0.0)
    t_sub = np.argsort(-t_amp)[:max(1, min(4, int(mt["leads"][0].sum())))]
    bt = t_waves(yb[:, t_sub], np.ones(t_sub.size, bool), bq["on"], bq["off"], t_hi_b, rr_next, fs, dc,
                 t_leads=np.ones(t_sub.size, bool), near_peak=mt["global_peak"][0] + shift)

    # --- global values ------------------------------------------------------------------------
    unmeasurable: dict[str, str] = {}
    t_off_g = float(mt["global_off"][0])
    p_on_gf, p_off_gf = float(mp["on"][0]), float(mp["off"][0])
    p_on_g, p_off_g = int(round(p_on_gf)), int(round(p_off_gf))
    qt_ms = (t_off_g - on_gf) * 1000.0 / fs if np.isfinite(t_off_g) else float("nan")
    qtc_b = float(correct_qt(qt_ms, rh["mean"], "bazett"))
    qtc_f = float(correct_qt(qt_ms, rh["mean"], "fridericia"))
    limb, limb_use = y[0, :6], usable[:6]
    qrs_axis = frontal_axis(limb, limb_use, on_g, off_g)
    p_axis = frontal_axis(limb, limb_use, p_on_g, p_off_g) if p_present else None
    t_axis = frontal_axis(limb, limb_use, off_g, int(t_off_g)) if np.isfinite(t_off_g) else None
    if not p_present:
        for k in ("pr_ms", "p_ms", "p_axis_deg"):
            unmeasurable[k] = "no P waves detected"
    if not np.isfinite(t_off_g):
        for k in ("qt_ms", "qtc_ms", "qtc_bazett_ms", "qtc_fridericia_ms", "t_axis_deg"):
            unmeasurable[k] = "T wave end not found (flat or absent T waves)"
    unmeasurable.setdefault("qrs_axis_deg", "fewer than two usable limb leads or no net QRS area")
    unmeasurable.setdefault("t_axis_deg", "no net T area in the limb leads")
    if rh["irregularity"] is None:
        unmeasurable["rhythm_regular"] = "fewer than 4 beats"
    g = {
        "heart_rate_bpm": _num(60000.0 / rh["mean"]), "rr_ms": _num(rh["mean"]), "rr_sd_ms": _num(rh["sd"]),
        "pr_ms": _interval_ms(on_gf - p_on_gf, fs) if p_present else None,
        "p_ms": _interval_ms(p_off_gf - p_on_gf, fs) if p_present else None,
        "qrs_ms": _interval_ms(off_gf - on_gf, fs), "qt_ms": _num(qt_ms),
        "qtc_ms": _num(qtc_b if cfg.qtc_method == "bazett" else qtc_f), "qtc_method": cfg.qtc_method,
        "qtc_bazett_ms": _num(qtc_b), "qtc_fridericia_ms": _num(qtc_f),
        "p_axis_deg": _num(p_axis), "qrs_axis_deg": _num(qrs_axis), "t_axis_deg": _num(t_axis),
        "rhythm_regular": None if rh["irregularity"] is None else bool(rh["irregularity"] < F.AF_IRREGULARITY),
        "n_beats": int(n_b),
    }

    # --- per-lead amplitudes (median beat, global QRS) and the 14 per-beat features --------------
    amp = lead_amplitudes(y[0], np.zeros(n_leads), on_g, off_g, fs)
    amp["st_form"] = st_form(amp["st_slope"])
    # Per beat and lead: that beat's global fiducials moved by the lead's own offset from the
    # global ones on its median beat (one delineation per beat, not twelve); amplitudes and ST
    # slopes are read from each beat's own samples there.
    ii = np.arange(w)

    def per_lead(beat_glob, lead_med, glob_med):          # (B,), (L,), scalar -> (B, L) float
        return np.asarray(beat_glob, float)[:, None] + (np.asarray(lead_med, float) - float(glob_med))[None]

    lq_on, lq_off = mq["lead_on"][0], mq["lead_off"][0]
    lead_ok = usable[None] & (lq_on >= 0)[None] & np.ones((n_b, 1), bool)
    lon = per_lead(bq["on_f"], np.where(lq_on >= 0, lq_on, on_g), on_g)
    loff = per_lead(bq["off_f"], np.where(lq_off >= 0, lq_off, off_g), off_g)

    def at(v_idx):                                          # yb at (B, L) float indices
        return take_at(yb, np.round(np.where(np.isfinite(v_idx), v_idx, 0)))

    qa, qz = max(0, int(np.nanmin(lon))), min(w, int(np.nanmax(loff)) + 1)
    seg = yb[..., qa:qz]
    in_qrs = (ii[qa:qz] >= lon[..., None]) & (ii[qa:qz] < loff[..., None])
    qrs_pp = np.where(in_qrs, seg, -np.inf).max(-1) - np.where(in_qrs, seg, np.inf).min(-1)
    st_slope_b = (at(loff + int(0.06 * fs)) - at(loff + int(0.02 * fs))) / 0.04
    lp_ok = mp["lead_found"][0]
    p_ok = p_present & bp["found"][:, None] & lp_ok[None] & lead_ok
    p_on_bl = per_lead(bp["on"], mp["lead_on"][0], mp["on"][0])
    p_off_bl = per_lead(bp["off"], mp["lead_off"][0], mp["off"][0])
    p_amp_bl = at(per_lead(bp["peak"], mp["lead_peak"][0], mp["peak"][0]))
    lt_ok = np.isfinite(mt["on"][0]) & np.isfinite(mt["off"][0]) & (np.abs(mt["amp"][0]) >= dc.t_min_mv)
    t_ok = lead_ok & lt_ok[None] & np.isfinite(bt["global_off"])[:, None] & np.isfinite(bt["global_on"])[:, None]
    t_on_bl = per_lead(np.nan_to_num(bt["global_on"]), np.nan_to_num(mt["on"][0]), np.nan_to_num(mt["global_on"][0]))
    t_off_bl = per_lead(np.nan_to_num(bt["global_off"]), np.nan_to_num(mt["off"][0]), np.nan_to_num(mt["global_off"][0]))
    t_amp_bl = at(per_lead(bt["global_peak"], mt["peak"][0], mt["global_peak"][0]))

    def only(v, ok):
        return np.where(ok, np.asarray(v, dtype=np.float64), np.nan)

    feats = beat_features(
        {"p_on": only(p_on_bl, p_ok), "p_off": only(p_off_bl, p_ok),
         "qrs_on": only(lon, lead_ok), "qrs_off": only(loff, lead_ok),
         "t_on": only(t_on_bl, t_ok), "t_off": only(t_off_bl, t_ok)},
        {"p": only(p_amp_bl, p_ok), "qrs_pp": only(qrs_pp, lead_ok), "t": only(t_amp_bl, t_ok),
         "st_slope": only(st_slope_b, lead_ok)},
        np.concatenate([[np.nan], rh["rr"]]), np.concatenate([rh["rr"], [np.nan]]), fs, cfg.qtc_method)

    # --- fiducials per beat, absolute samples ---------------------------------------------------
    energy = np.where((ii[qa:qz] >= bq["on"][:, None]) & (ii[qa:qz] < bq["off"][:, None]),
                      np.einsum("blw,blw,l->bw", seg, seg, usable.astype(float)), -1)
    offset = r - r0

    def absolute(idx, ok=True):   # window samples -> samples at the input rate
        a = (np.asarray(idx, dtype=np.float64) + offset) * step
        good = np.isfinite(a) & (a >= 0) & (a < n_in) & ok
        return [int(round(v)) if k else None for v, k in zip(a, good)]

    p_b = p_present & bp["found"]
    fiducials = {
        "r_peaks": absolute(energy.argmax(-1) + qa),
        "p_on": absolute(bp["on"], p_b), "p_off": absolute(bp["off"], p_b),
        "qrs_on": absolute(bq["on_f"]), "qrs_off": absolute(bq["off_f"]),
        "t_on": absolute(bt["global_on"]), "t_off": absolute(bt["global_off"]),
    }

    # --- assemble ----------------------------------------------------------------------------------
    leads, amps = {}, {}
    p_lead = mp["lead_amp"][0]
    p_lead_ok = p_present & mp["lead_found"][0]
    numeric = [k for k in GEM_FEATURES if k != "st_form"]
    med_all = nan_median(np.stack([feats[k] for k in numeric], axis=1))          # (14-1, L)
    medians = {k: [None if not np.isfinite(v) else float(v) for v in med_all[i]]
               for i, k in enumerate(numeric)}
    medians["st_form"] = summarise(feats["st_form"])
    lists = {k: _feature_lists(feats[k], k) for k in GEM_FEATURES}             # each L lists
    for i, ld in enumerate(STANDARD_LEADS):
        if not usable[i]:
            leads[ld] = _empty_leads()[ld]
            continue
        median_d = {k: (_num(medians[k][i], _digits(k)) if isinstance(medians[k][i], float) else medians[k][i])
                    for k in GEM_FEATURES}
        t_mv = float(mt["amp"][0, i]) if abs(mt["amp"][0, i]) >= dc.t_min_mv else 0.0
        leads[ld] = {
            "beats": {k: lists[k][i] for k in GEM_FEATURES}, "median": median_d,
            "q_mv": _num(amp["q"][i], 3), "r_mv": _num(amp["r"][i], 3), "s_mv": _num(amp["s"][i], 3),
            "t_mv": _num(t_mv, 3), "st_j60_mv": _num(amp["st_j60"][i], 3), "q_ms": _num(amp["q_ms"][i]),
        }
        amps[ld] = {k: float(amp[k][i]) for k in
                    ("pp", "q", "q_ms", "r", "s", "r_peak_time_ms", "terminal", "st_j60", "st_slope")}
        amps[ld]["st_form"] = str(amp["st_form"][i])
        amps[ld]["p_mv"] = float(p_lead[i]) if p_lead_ok[i] else None
    findings = F.derive_findings(g, amps, p_present, rh["irregularity"])
    lead_q = {ld: {"usable": bool(usable[i]), "reason": lead_reason.get(ld)}
              for i, ld in enumerate(STANDARD_LEADS)}
    unmeasurable = {k: v for k, v in unmeasurable.items() if g.get(k) is None}
    extras = {"amps": amps, "p_present": p_present, "irregularity": rh["irregularity"],
              "median_beat": med[0], "r0": r0, "usable": usable,
              "lead_qrs": (mq["lead_on"][0], mq["lead_off"][0]), "lead_t_off": mt["off"][0],
              "noise_mv": noise_1, "p_median": {k: v[0] for k, v in mp.items()},
              "p_beats_found": bp["found"], "p_corr": p_corr}
    return _result(g, leads, findings, lead_q, unmeasurable, fiducials, extras)
