"""Synthetic 12-lead ECGs with exact ground truth.

The heart is one time-varying 3-D dipole D(t) (x = left, y = inferior/feet, z = anterior),
built from compact "lobes": each lobe is a shape that is exactly zero outside [start, end]
times a fixed direction. Every lead is the projection of D(t) onto its lead vector, so the
limb leads obey Einthoven and Goldberger exactly (III = II - I, aVF = II - I/2, ...) and the
frontal QRS axis is the angle of the mean QRS vector. Noise is added to the independent
leads I, II, V1..V6 (the way a recorder measures them) and III, aVR, aVL, aVF are derived.

Ground truth is exact because the waves are built, not measured: P/QRS/T onsets and offsets
are the lobes' supports (sample indices), the QT is QRS onset to the end of the T lobe, the
axis is the integral of the dipole. The finding codes a case carries are the ones it was
built to have; `make_case` then checks the clean signals against the same criteria as
`gem_core.measure.findings` with safety margins and draws again when a case sits too close to
a threshold, so that every label is unambiguous.

`make_case(rng, condition)` -> `SynthEcg` in memory; `write_record` writes WFDB
(`wfdb.wrsamp`) plus `<record>.truth.json`; `write_cohort` writes N records and
`manifest.csv`, deterministic for a seed.
"""
from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gem_core.leads import FS, N_SAMPLES, STANDARD_LEADS


# --- lead vectors --------------------------------------------------------------------------
def _frontal(deg: float, gain: float = 1.0) -> tuple[float, float, float]:
    a = math.radians(deg)
    return (gain * math.cos(a), gain * math.sin(a), 0.0)


def _horizontal(deg: float, gain: float) -> tuple[float, float, float]:
    # angle from +x (left) towards +z (anterior)
    a = math.radians(deg)
    return (gain * math.cos(a), 0.0, gain * math.sin(a))


# (12, 3): limb leads on the Einthoven triangle (augmented leads have gain sqrt(3)/2, which
# is what aVF = II - I/2 implies); chest leads in the horizontal plane, closer to the heart
# hence larger gains. Rows in STANDARD_LEADS order.
_S3 = math.sqrt(3) / 2
LEAD_VECTORS = np.array([
    _frontal(0), _frontal(60), _frontal(120),
    _frontal(-150, _S3), _frontal(-30, _S3), _frontal(90, _S3),
    _horizontal(115, 1.4), _horizontal(95, 2.2), _horizontal(75, 2.3),
    _horizontal(55, 2.2), _horizontal(30, 1.9), _horizontal(5, 1.5),
])
_INDEPENDENT = [0, 1, 6, 7, 8, 9, 10, 11]     # I, II, V1..V6: what a recorder measures

CONDITIONS = (
    "normal", "sinus_bradycardia", "sinus_tachycardia", "af", "first_degree_av_block",
    "rbbb", "lbbb", "left_axis", "right_axis", "long_qt", "low_voltage", "lvh",
    "ste_inferior", "ste_anterior", "std_anterolateral", "q_inferior", "q_anterior", "inferior_mi",
)


# --- wave shapes (exactly zero outside [0, 1]) ------------------------------------------------
def _half_sine(u: np.ndarray) -> np.ndarray:
    return np.where((u >= 0) & (u <= 1), np.sin(np.pi * np.clip(u, 0, 1)), 0.0)


def _t_shape(u: np.ndarray, peak: float) -> np.ndarray:
    """Smooth rise to the peak and a smooth (raised-cosine) fall back to the baseline."""
    rise = 0.5 * (1 - np.cos(np.pi * np.clip(u / peak, 0, 1)))
    fall = 0.5 * (1 + np.cos(np.pi * np.clip((u - peak) / (1 - peak), 0, 1)))
    return np.where((u < 0) | (u > 1), 0.0, np.where(u < peak, rise, fall))


def t_tangent_end(peak: float) -> float:
    """Where, as a fraction of the T lobe, the tangent at the steepest point of the fall
    meets the baseline (the fall is steepest half-way down: 0.5 + 0.5 / (pi / 2)).
    This is the T end by the tangent method; the truth QT ends there, and the lobe's last
    ~10 ms tail beyond it is below 5 % of the T amplitude, as on real T waves."""
    return peak + (1 - peak) * (0.5 + 1 / np.pi)


@dataclass
class Lobe:
    start_ms: float
    width_ms: float
    direction: tuple[float, float, float]   # mV at the peak, per axis
    shape: str = "half_sine"                 # or "t", or "p" (half sine ** 1.5)
    peak: float = 0.6                        # for "t": fraction of the width at the peak


@dataclass
class BeatDesign:
    """One beat's dipole lobes, times relative to QRS onset (ms)."""

    pr_ms: float | None
    p_ms: float | None
    qrs_ms: float
    qt_ms: float
    st_ms: float                              # ST segment: J point to T onset
    p: list[Lobe] = field(default_factory=list)
    qrs: list[Lobe] = field(default_factory=list)
    t: list[Lobe] = field(default_factory=list)
    st_vector: tuple[float, float, float] = (0.0, 0.0, 0.0)   # mV ST shift (injury current)


@dataclass
class Noise:
    white_mv: float = 0.0          # broadband (amplifier, EMG)
    wander_mv: float = 0.0         # baseline wander (respiration, electrode)
    powerline_mv: float = 0.0
    mains_hz: float = 50.0


@dataclass
class SynthEcg:
    record_id: str
    signal: np.ndarray            # (12, n) float32 mV, STANDARD_LEADS order
    fs: int
    truth: dict


def _rotate_frontal(v: tuple[float, float, float], deg: float) -> tuple[float, float, float]:
    a = math.radians(deg)
    x, y, z = v
    return (x * math.cos(a) - y * math.sin(a), x * math.sin(a) + y * math.cos(a), z)


def _scale(v, s):
    return tuple(s * c for c in v)


def _unit(v):
    n = math.sqrt(sum(c * c for c in v))
    return tuple(c / n for c in v)


# --- rendering ----------------------------------------------------------------------------------
def _lobe_dipole(lobes: list[Lobe], t_ms: np.ndarray) -> np.ndarray:
    """(3, n) dipole of a set of lobes on a time grid (ms, relative to QRS onset)."""
    d = np.zeros((3, t_ms.size))
    for lb in lobes:
        u = (t_ms - lb.start_ms) / lb.width_ms
        s = (_t_shape(u, lb.peak) if lb.shape == "t" else
             _half_sine(u) ** 1.5 if lb.shape == "p" else _half_sine(u))   # P: a rounded onset
        d += np.outer(lb.direction, s)
    return d


def _st_profile(beat: BeatDesign, t_ms: np.ndarray) -> np.ndarray:
    """0 before the last 30% of the QRS, rising to 1 at the J point, flat over the ST
    segment, falling back to 0 at T end: the ST shift belongs to the ST-T, not to PR/TP."""
    j, t_on, t_off = beat.qrs_ms, beat.qrs_ms + beat.st_ms, beat.qt_ms
    ramp0 = 0.7 * beat.qrs_ms
    up = 0.5 * (1 - np.cos(np.pi * np.clip((t_ms - ramp0) / (j - ramp0), 0, 1)))
    down = 0.5 * (1 + np.cos(np.pi * np.clip((t_ms - t_on) / (t_off - t_on), 0, 1)))
    return np.where(t_ms < t_on, up, np.where(t_ms > t_off, 0.0, down))


def beat_dipole(beat: BeatDesign, t_ms: np.ndarray, with_p: bool = True) -> np.ndarray:
    d = _lobe_dipole(beat.qrs + beat.t + (beat.p if with_p else []), t_ms)
    if any(beat.st_vector):
        d += np.outer(beat.st_vector, _st_profile(beat, t_ms))
    return d


def render(beat: BeatDesign, qrs_onsets: np.ndarray, fs: int, n: int, with_p: bool,
           atrial: np.ndarray | None = None) -> np.ndarray:
    """(12, n) clean leads: the beat dipole placed at every QRS onset (sample indices)."""
    pre = int(math.ceil((beat.pr_ms or 0) * fs / 1000)) + 2
    end_ms = max(lb.start_ms + lb.width_ms for lb in beat.qrs + beat.t)
    post = int(math.ceil(max(end_ms, beat.qt_ms) * fs / 1000)) + 2
    t_ms = np.arange(-pre, post) * 1000.0 / fs
    tmpl = beat_dipole(beat, t_ms, with_p)            # (3, w)
    d = np.zeros((3, n + pre + post))
    for q in qrs_onsets:
        d[:, q:q + pre + post] += tmpl                # padded frame: index q -> q - pre real
    d = d[:, pre:pre + n]
    if atrial is not None:
        d += atrial
    return LEAD_VECTORS @ d                            # (12, 3) @ (3, n)


def _noise(rng: np.random.Generator, nz: Noise, fs: int, n: int) -> np.ndarray:
    """(12, n) noise measured on I, II, V1..V6; derived limb leads follow Goldberger."""
    t = np.arange(n) / fs
    k = len(_INDEPENDENT)
    out = rng.normal(0.0, nz.white_mv, (k, n)) if nz.white_mv else np.zeros((k, n))
    if nz.wander_mv:
        for _ in range(2):
            f = rng.uniform(0.05, 0.45, (k, 1))
            out += nz.wander_mv / 2 * rng.uniform(0.3, 1.0, (k, 1)) * np.sin(
                2 * np.pi * f * t + rng.uniform(0, 2 * np.pi, (k, 1)))
    if nz.powerline_mv:
        out += nz.powerline_mv * rng.uniform(0.3, 1.0, (k, 1)) * np.sin(
            2 * np.pi * nz.mains_hz * t + rng.uniform(0, 2 * np.pi, (k, 1)))
    i, ii = out[0], out[1]
    limb = np.stack([i, ii, ii - i, -(i + ii) / 2, i - ii / 2, ii - i / 2])
    return np.concatenate([limb, out[2:]])


# --- case design ----------------------------------------------------------------------------
def _u(rng, lo, hi):
    return float(rng.uniform(lo, hi))


def _pick_outside(rng, lo, hi, gaps):
    """Uniform on [lo, hi] minus the open intervals in `gaps` (margins around thresholds)."""
    for _ in range(1000):
        v = _u(rng, lo, hi)
        if not any(a < v < b for a, b in gaps):
            return v
    raise ValueError("no value outside the gaps")


def _frontal_axis(v) -> float:
    return math.degrees(math.atan2(v[1], v[0]))


def _jitter(rng, v, amount=0.15):
    return tuple(c + float(rng.uniform(-amount, amount)) for c in v)


def _design(rng: np.random.Generator, condition: str) -> tuple[dict, BeatDesign, set]:
    """Sample a case's parameters. Returns (params, beat design, intended finding codes)."""
    from gem_core.measure import findings as F

    codes: set[str] = set()
    rhythm = "af" if condition == "af" else "sinus"
    # Rate: the whole 40-150 span overall; sinus conditions choose their band.
    hr_gaps = [(F.BRADY_BPM - 3, F.BRADY_BPM + 3), (F.TACHY_BPM - 3, F.TACHY_BPM + 3)]
    if condition == "sinus_bradycardia":
        hr = _u(rng, 40, F.BRADY_BPM - 4)
    elif condition == "sinus_tachycardia":   # half of them fast (fast ones are redrawn more)
        hr = _u(rng, 138, 150) if rng.random() < 0.5 else _u(rng, F.TACHY_BPM + 4, 138)
    elif condition == "af":
        hr = _u(rng, 65, 130)
    elif condition in ("first_degree_av_block", "long_qt"):
        hr = _u(rng, 45, 80)
    elif condition == "normal":
        hr = _u(rng, F.BRADY_BPM + 4, F.TACHY_BPM - 4)
    else:
        hr = _pick_outside(rng, 45, 120, hr_gaps)
    rr_ms = 60000.0 / hr

    conduction = {"rbbb": "rbbb", "lbbb": "lbbb"}.get(condition, "normal")
    if conduction == "rbbb":
        qrs = _u(rng, F.WIDE_QRS_MS + 12, 165)
    elif conduction == "lbbb":
        qrs = _u(rng, F.WIDE_QRS_MS + 14, 180)
    else:
        qrs = _u(rng, 70, 90 if hr > 125 else F.WIDE_QRS_MS - 12)
    if condition in ("q_inferior", "inferior_mi", "q_anterior"):
        qrs = _u(rng, 96, F.WIDE_QRS_MS - 12)

    # QT from a QTc (Fridericia) that is clearly normal or clearly long.
    long_qt = condition == "long_qt"
    qtc = _u(rng, F.LONG_QTC_MS + 25, 560) if long_qt else _u(rng, 370, F.LONG_QTC_MS - 30)
    qt = max(qtc * (rr_ms / 1000.0) ** (1 / 3), qrs + 170)

    # PR / P, leaving a visible TP segment: the next P starts >= 40 ms after this T ends.
    if rhythm == "af":
        pr = p_ms = None
    else:
        p_ms = _u(rng, 80, 115)
        pr_lo = max(120.0, p_ms + 30)
        if condition == "first_degree_av_block":
            pr_lo, pr_hi = F.FIRST_DEGREE_PR_MS + 18, 320.0
        else:
            pr_hi = F.FIRST_DEGREE_PR_MS - 12
        pr_hi = min(pr_hi, rr_ms - (qrs + 140) - 40)
        if pr_hi < pr_lo:
            raise _Redraw("PR does not fit the cycle")
        pr = _u(rng, pr_lo, pr_hi)
        qt = min(qt, rr_ms - pr - 40)
    jt = qt - qrs
    t_ms = float(np.clip(0.6 * jt, 90, 220))
    st_ms = jt - t_ms
    if st_ms < 50:
        t_ms, st_ms = jt - 50, 50.0

    beat = BeatDesign(pr_ms=pr, p_ms=p_ms, qrs_ms=qrs, qt_ms=qt, st_ms=st_ms)

    # P: right then left atrium, overlapping (so V1 can be biphasic).
    if rhythm == "sinus":
        pa = _u(rng, 0.08, 0.18) * (0.5 if condition == "low_voltage" else 1.0)
        p_axis = _u(rng, 35, 70)
        ra = _scale(_unit(_rotate_frontal((1, 0, 0.5), p_axis + 10)), pa)
        la = _scale(_unit(_rotate_frontal((1, 0, -0.4), p_axis - 15)), pa * 0.9)
        beat.p = [Lobe(-pr, 0.7 * p_ms, ra, shape="p"), Lobe(-pr + 0.3 * p_ms, 0.7 * p_ms, la, shape="p")]

    # Target frontal QRS axis
    ax_gaps = [(F.LEFT_AXIS_DEG - 12, F.LEFT_AXIS_DEG + 12), (F.RIGHT_AXIS_DEG - 12, F.RIGHT_AXIS_DEG + 12)]
    if condition == "left_axis":
        target = _u(rng, -80, F.LEFT_AXIS_DEG - 14)
    elif condition == "right_axis":
        target = _u(rng, F.RIGHT_AXIS_DEG + 14, 160)
    elif conduction == "lbbb":
        target = _pick_outside(rng, -50, 60, ax_gaps)
    else:
        target = _u(rng, 0, 75)

    # QRS lobes: (initial, main, terminal). Main and terminal are built in a canonical
    # orientation and turned to the target axis; the initial (septal) force points away
    # from the main one in the frontal plane and anteriorly, as it does in the heart.
    main_mag = _u(rng, 2.3, 3.0) if condition == "lvh" else _u(rng, 0.9, 1.3)
    if condition == "left_axis":
        main_mag = _u(rng, 0.7, 0.95)      # keeps R(aVL) under the LVH voltage value
    if conduction == "normal":
        main = _scale(_unit(_jitter(rng, (0.75, 0.45, -0.5 if condition == "lvh" else -0.3))), main_mag)
        term = _scale(_unit(_jitter(rng, (-0.3, -0.6, -0.6))), _u(rng, 0.3, 0.5))
        lobes = [Lobe(0, 0.25 * qrs, None), Lobe(0.15 * qrs, 0.55 * qrs, main),
                 Lobe(0.62 * qrs, 0.38 * qrs, term)]
        sep_mag, sep_z = _u(rng, 0.25, 0.4), 0.8
        if condition in ("q_inferior", "inferior_mi", "q_anterior"):
            # Necrosis removes the forces towards the infarct: the initial vector points away
            # from it for 48-58 ms (a pathological Q wave in the leads facing it).
            qd = _u(rng, 54, 62)
            lobes[1] = Lobe(qd - 12, qrs - (qd - 12) - 8, main)
            lobes[2] = Lobe(qrs - 30, 30, _scale(term, 0.6))
            away = (0.3, 0.3, -1.0) if condition == "q_anterior" else (0.0, -1.0, 0.7)
            lobes[0] = Lobe(0, qd + 6, _scale(_unit(_jitter(rng, away)), _u(rng, 0.5, 0.75)))
    elif conduction == "rbbb":
        lv_end = _u(rng, 80, 95)
        main = _scale(_unit(_jitter(rng, (0.75, 0.45, -0.3))), main_mag)
        rv = _scale(_unit(_jitter(rng, (-0.7, 0.1, 0.7))), _u(rng, 0.6, 1.0))
        lobes = [Lobe(0, 22, None), Lobe(14, lv_end - 14, main),
                 Lobe(lv_end - 25, qrs - lv_end + 25, rv)]
        sep_mag, sep_z = _u(rng, 0.25, 0.4), 0.8
    else:  # lbbb: septum activated from the left (no septal q), slow notched LV activation
        a = _scale(_unit(_jitter(rng, (0.55, 0.3, -0.75))), main_mag)
        b = _scale(_unit(_jitter(rng, (0.85, 0.1, -0.35))), main_mag * _u(rng, 0.8, 1.0))
        lobes = [Lobe(0, 0.3 * qrs, _scale(_unit((0.7, 0.2, -0.5)), _u(rng, 0.3, 0.5))),
                 Lobe(0.12 * qrs, 0.5 * qrs, a), Lobe(0.42 * qrs, 0.58 * qrs, b)]

    def mean_axis(lbs):
        return _frontal_axis(np.sum([np.array(lb.direction) * lb.width_ms for lb in lbs], axis=0))

    turn = target - mean_axis(lobes[1:])
    lobes[1:] = [Lobe(lb.start_ms, lb.width_ms, _rotate_frontal(lb.direction, turn)) for lb in lobes[1:]]
    if lobes[0].direction is None:
        away = math.radians(_frontal_axis(lobes[1].direction) + 180 + _u(rng, -35, 35))
        lobes[0].direction = _scale(_unit((math.cos(away) * 0.6, math.sin(away) * 0.6, sep_z)), sep_mag)
        turn = target - mean_axis(lobes)
        lobes = [Lobe(lb.start_ms, lb.width_ms, _rotate_frontal(lb.direction, turn)) for lb in lobes]
    # (an infarct's initial force keeps its anatomical direction and may shift the axis)
    if condition == "low_voltage":
        scale = _u(rng, 0.15, 0.25)
        lobes = [Lobe(lb.start_ms, lb.width_ms, _scale(lb.direction, scale)) for lb in lobes]
    beat.qrs = lobes

    # T: concordant with a normal QRS (T axis 20-70 deg, anterior), discordant in BBB.
    t_mag = _u(rng, 0.25, 0.5) * (0.25 if condition == "low_voltage" else 1.0)
    if conduction == "normal":
        t_dir = _unit(_rotate_frontal((1, 0, 0.45), _u(rng, 20, 70)))
    elif conduction == "rbbb":
        t_dir = _unit((0.7, 0.5, -0.5))
    else:
        t_dir = _unit(tuple(-c for c in np.sum([lb.direction for lb in lobes[1:]], axis=0)))
    t_peak = _u(rng, 0.55, 0.68)
    beat.t = [Lobe(qrs + st_ms, t_ms / t_tangent_end(t_peak), _scale(t_dir, t_mag), shape="t", peak=t_peak)]

    # ST shift (injury current / ischaemia / secondary to LBBB)
    if condition in ("ste_inferior", "inferior_mi"):
        beat.st_vector = _scale(_unit(_jitter(rng, (0.0, 1.0, 0.02), 0.02)), _u(rng, 0.2, 0.35))
    elif condition == "ste_anterior":
        beat.st_vector = _scale(_unit(_jitter(rng, (-0.05, 0.0, 1.0), 0.03)), _u(rng, 0.3, 0.45))
    elif condition == "std_anterolateral":
        # subendocardial ischaemia: depression in I, aVL, V3-V6 (the reciprocal rise is in III alone)
        beat.st_vector = _scale(_unit(_jitter(rng, (-1.0, 0.0, -0.4), 0.04)), _u(rng, 0.32, 0.45))
    elif conduction == "lbbb":
        beat.st_vector = _scale(t_dir, _u(rng, 0.08, 0.15))

    # Intended findings (the labels this case was built to carry).
    codes.add("AF" if rhythm == "af" else F.sinus_rate_code(hr))
    if pr is not None and pr > F.FIRST_DEGREE_PR_MS:
        codes.add("FIRST_DEGREE_AV_BLOCK")
    if qrs >= F.WIDE_QRS_MS:
        codes.add("WIDE_QRS")
    if conduction == "rbbb":
        codes.add("RBBB")
    if conduction == "lbbb":
        codes.add("LBBB")
    if target < F.LEFT_AXIS_DEG:
        codes.add("LEFT_AXIS_DEVIATION")
    if target > F.RIGHT_AXIS_DEG:
        codes.add("RIGHT_AXIS_DEVIATION")
    if long_qt:
        codes.add("LONG_QTC")
    codes |= {
        "low_voltage": {"LOW_VOLTAGE"},
        "lvh": {"LVH_VOLTAGE"},
        "ste_inferior": {"ST_ELEVATION:inferior"},
        "inferior_mi": {"ST_ELEVATION:inferior", "PATHOLOGICAL_Q:inferior"},
        "ste_anterior": {"ST_ELEVATION:anterior", "ST_ELEVATION:septal"},
        "std_anterolateral": {"ST_DEPRESSION:lateral", "ST_DEPRESSION:anterior"},
        "q_inferior": {"PATHOLOGICAL_Q:inferior"},
        "q_anterior": {"PATHOLOGICAL_Q:anterior", "PATHOLOGICAL_Q:septal"},
    }.get(condition, set())
    params = dict(condition=condition, rhythm=rhythm, hr_bpm=hr, conduction=conduction,
                  axis_target_deg=target)
    return params, beat, codes


class _Redraw(Exception):
    """A drawn case is inconsistent or too close to a criterion threshold."""


def _qrs_onsets(rng, rhythm: str, hr: float, qt_ms: float, pr_ms: float | None,
                fs: int, n: int) -> np.ndarray:
    rr = 60000.0 / hr
    total_ms = n * 1000.0 / fs
    if rhythm == "af":
        k = int(total_ms / rr) + 4
        sigma = _u(rng, 0.18, 0.28)
        rrs = rr * np.exp(rng.normal(-sigma ** 2 / 2, sigma, k))
        rrs = np.clip(rrs, qt_ms + 90, 2000)
    else:
        k = int(total_ms / rr) + 4
        # sinus arrhythmia: a slow respiratory modulation of 1-2.5 %
        phase = rng.uniform(0, 2 * np.pi)
        amp = _u(rng, 0.01, 0.025)
        rrs = rr * (1 + amp * np.sin(phase + 2 * np.pi * 0.25 * np.arange(k) * rr / 1000))
    lead_in = (pr_ms or 0) + _u(rng, 0.15, 0.9) * rrs[0] * 0.5
    t = lead_in + np.concatenate([[0], np.cumsum(rrs)])
    onsets = np.round(t * fs / 1000).astype(int)
    return onsets[onsets < n]


def _exact_truth(beat: BeatDesign, onsets: np.ndarray, fs: int, n: int, rhythm: str) -> dict:
    """Intervals, rate and axes exactly as built. Per-beat fiducials in samples."""
    s = fs / 1000.0
    rr = np.diff(onsets) * 1000.0 / fs
    rr_mean = float(rr.mean())
    qt = beat.qt_ms
    hr = 60000.0 / rr_mean

    def axis(lo, hi):   # frontal angle of the mean (integrated) dipole over [lo, hi) ms
        return _frontal_axis(beat_dipole(beat, np.arange(lo, hi, 0.25), with_p=True).sum(axis=1))

    off = {
        "qrs_on": 0.0, "qrs_off": beat.qrs_ms, "t_on": beat.qrs_ms + beat.st_ms, "t_off": qt,
    }
    if beat.pr_ms is not None:
        off["p_on"] = -beat.pr_ms
        off["p_off"] = -beat.pr_ms + beat.p_ms
    fid = {}
    for key in ("p_on", "p_off", "qrs_on", "qrs_off", "t_on", "t_off"):
        if key in off:
            v = onsets + int(round(off[key] * s))
            fid[key] = [int(x) if 0 <= x < n else None for x in v]
        else:
            fid[key] = [None] * len(onsets)
    return {
        "hr_bpm": hr, "rr_ms": rr_mean, "rr_sd_ms": float(rr.std()),
        "pr_ms": beat.pr_ms, "p_ms": beat.p_ms, "qrs_ms": beat.qrs_ms, "qt_ms": qt,
        "qtc_bazett_ms": qt / math.sqrt(rr_mean / 1000), "qtc_fridericia_ms": qt / (rr_mean / 1000) ** (1 / 3),
        "qrs_axis_deg": axis(0, beat.qrs_ms),
        "p_axis_deg": None if beat.pr_ms is None else axis(-beat.pr_ms, -beat.pr_ms + beat.p_ms),
        "t_axis_deg": axis(beat.qrs_ms, qt),
        "rhythm_regular": rhythm != "af",
        "n_beats": int(len(onsets)),
        "fiducials": fid,
    }


def _amplitudes_of_clean_beat(beat: BeatDesign, fs: int) -> dict:
    """Per-lead amplitudes of the noise-free beat at the exact fiducials, measured by the
    same code the measurement uses ({lead: {pp, q, q_ms, r, s, terminal, st_j60, ...}})."""
    from gem_core.measure.features import lead_amplitudes, st_form

    s = fs / 1000.0
    pre = int(round((beat.pr_ms or 0) * s)) + 20
    t_ms = np.arange(-pre, int(beat.qt_ms * s) + 20) / s
    leads = LEAD_VECTORS @ beat_dipole(beat, t_ms, with_p=True)      # (12, w)
    amp = lead_amplitudes(leads, np.zeros(12), pre, pre + int(round(beat.qrs_ms * s)), fs)
    labels = st_form(amp["st_slope"])
    return {ld: {**{k: float(v[i]) for k, v in amp.items()}, "st_form": str(labels[i])}
            for i, ld in enumerate(STANDARD_LEADS)}


# How far each criterion value may move without changing the labels: the measurement's
# expected error plus room (voltages relative, the rest absolute).
_MARGINS = {"ST_ELEVATION": 0.05, "ST_DEPRESSION": 0.025, "PATHOLOGICAL_Q": (10.0, 0.04),
            "LVH_VOLTAGE": 0.15, "LOW_VOLTAGE": 0.15}


def _perturbed(amps: dict, family: str, towards: bool) -> dict:
    """Copy of the amplitudes moved by the family's margin towards (or away from) firing."""
    m = _MARGINS[family]
    sgn = 1.0 if towards else -1.0
    out = {}
    for ld, a in amps.items():
        a = dict(a)
        if family == "ST_ELEVATION":
            a["st_j60"] += sgn * m
        elif family == "ST_DEPRESSION":
            a["st_j60"] -= sgn * m
        elif family == "PATHOLOGICAL_Q":
            a["q_ms"] = max(0.0, a["q_ms"] + sgn * m[0]) if a["q"] < 0 else a["q_ms"]
            a["q"] = min(0.0, a["q"] - sgn * m[1]) if a["q"] < 0 else a["q"]
        elif family == "LVH_VOLTAGE":
            for k in ("r", "s", "pp"):
                a[k] *= 1 + sgn * m
        elif family == "LOW_VOLTAGE":
            a["pp"] *= 1 - sgn * m
        out[ld] = a
    return out


def _check_against_criteria(beat: BeatDesign, truth: dict, codes: set, fs: int) -> None:
    """Require the criteria of `findings`, applied to the clean beat, to give exactly the
    intended codes even with every criterion value moved by its margin either way; else
    redraw."""
    from gem_core.measure import findings as F

    amps = _amplitudes_of_clean_beat(beat, fs)
    lbbb = "LBBB" in codes
    for family in F.AMPLITUDE_CODES:
        intended = {c for c in codes if c.split(":")[0] == family}
        for towards in (None, True, False):
            a = amps if towards is None else _perturbed(amps, family, towards)
            got = {c for c in F.amplitude_codes(a, lbbb) if c.split(":")[0] == family}
            if got != intended:
                what = "criteria give" if towards is None else "too close to a threshold:"
                raise _Redraw(f"{what} {sorted(got)} for {family}, built for {sorted(intended)}")
    rb, lb = F.bbb_shape(amps)
    wide = beat.qrs_ms >= F.WIDE_QRS_MS
    if wide and (rb != ("RBBB" in codes) or lb != lbbb):
        raise _Redraw("bundle-branch block morphology not as built")
    if wide:
        term = [amps[ld]["terminal"] for ld in ("V1", "I", "V6")]
        if min(abs(t) for t in term) < 2 * F.BBB_TERMINAL_MV:
            raise _Redraw("terminal QRS direction too faint")
        if lbbb and min(amps[ld]["r_peak_time_ms"] for ld in ("V5", "V6")) < F.LBBB_RPT_MS + 15:
            raise _Redraw("R peak time too close to the LBBB threshold")
    axis = truth["qrs_axis_deg"]
    if any(abs(axis - t) < 10 for t in (F.LEFT_AXIS_DEG, F.RIGHT_AXIS_DEG, -90.0)):
        raise _Redraw("axis too close to a threshold")
    if ("LEFT_AXIS_DEVIATION" in codes) != (-90 <= axis < F.LEFT_AXIS_DEG) or \
            ("RIGHT_AXIS_DEVIATION" in codes) != (F.RIGHT_AXIS_DEG < axis <= 180):
        raise _Redraw("axis left the intended band")
    if abs(truth["qtc_fridericia_ms"] - F.LONG_QTC_MS) < 20 or \
            ("LONG_QTC" in codes) != (truth["qtc_fridericia_ms"] > F.LONG_QTC_MS):
        raise _Redraw("QTc too close to the threshold or outside the intended band")


def make_case(rng: np.random.Generator, condition: str = "normal", record_id: str = "synth",
              noise: str = "realistic", fs: int = FS, n: int = N_SAMPLES,
              max_tries: int = 200) -> SynthEcg:
    """One synthetic ECG of `condition` (see CONDITIONS) with its exact truth."""
    if condition not in CONDITIONS:
        raise ValueError(f"unknown condition {condition!r}; one of {', '.join(CONDITIONS)}")
    last = None
    for _ in range(max_tries):
        try:
            params, beat, codes = _design(rng, condition)
            onsets = _qrs_onsets(rng, params["rhythm"], params["hr_bpm"], beat.qt_ms,
                                 beat.pr_ms, fs, n)
            if len(onsets) < 4:
                raise _Redraw("fewer than 4 beats")
            truth = _exact_truth(beat, onsets, fs, n, params["rhythm"])
            _check_rate_rhythm(truth, codes)
            _check_against_criteria(beat, truth, codes, fs)
            break
        except _Redraw as exc:
            last = exc
    else:
        raise RuntimeError(f"could not draw an unambiguous {condition} case: {last}")

    atrial = None
    if params["rhythm"] == "af":
        # Fibrillatory waves: 4-8 Hz, slightly varying, mostly seen in V1 and inferior leads.
        t = np.arange(n) / fs
        f0 = _u(rng, 4.5, 7.5)
        phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.1 * np.sin(2 * np.pi * 0.3 * t))) / fs
        amp = _u(rng, 0.03, 0.08)
        atrial = np.outer(_unit((-0.2, 0.6, 0.8)), amp * np.sin(phase))
    clean = render(beat, onsets, fs, n, with_p=params["rhythm"] == "sinus", atrial=atrial)
    nz = _noise_level(rng, noise)
    if beat.p:   # keep the P wave visible: broadband noise at most a sixth of P in lead II
        p_ii = _p_amplitude_ii(beat, fs)
        nz.white_mv = min(nz.white_mv, p_ii / 6)
    sig = clean + _noise(rng, nz, fs, n)
    truth.update(
        record_id=record_id, fs=fs, n_samples=n, condition=condition,
        findings=sorted(codes),
        noise={"white_mv": nz.white_mv, "wander_mv": nz.wander_mv,
               "powerline_mv": nz.powerline_mv, "mains_hz": nz.mains_hz},
        params=params,
    )
    return SynthEcg(record_id=record_id, signal=sig.astype(np.float32), fs=fs, truth=truth)


def _p_amplitude_ii(beat: BeatDesign, fs: int) -> float:
    t_ms = np.arange(-(beat.pr_ms or 0) - 5, 0, 1000.0 / fs)
    return float(np.abs(LEAD_VECTORS[1] @ _lobe_dipole(beat.p, t_ms)).max())


def _check_rate_rhythm(truth: dict, codes: set) -> None:
    from gem_core.measure import findings as F

    hr = truth["hr_bpm"]
    if any(abs(hr - t) < 2.5 for t in (F.BRADY_BPM, F.TACHY_BPM)):
        raise _Redraw("rate too close to a threshold")
    if "AF" not in codes and F.sinus_rate_code(hr) not in codes:
        raise _Redraw("realised rate left the intended band")
    if "AF" in codes:
        rr = np.diff([x for x in truth["fiducials"]["qrs_on"] if x is not None]).astype(float)
        irregularity = np.sqrt(np.mean(np.diff(rr) ** 2)) / rr.mean()
        if irregularity < F.AF_IRREGULARITY + 0.05:
            raise _Redraw("AF RR intervals came out too regular")


def _noise_level(rng, level: str) -> Noise:
    if level == "none":
        return Noise()
    if level == "realistic":
        return Noise(white_mv=_u(rng, 0.005, 0.025), wander_mv=_u(rng, 0.0, 0.4),
                     powerline_mv=_u(rng, 0.0, 0.05), mains_hz=float(rng.choice([50.0, 60.0])))
    if level == "high":
        return Noise(white_mv=_u(rng, 0.03, 0.05), wander_mv=_u(rng, 0.3, 0.8),
                     powerline_mv=_u(rng, 0.05, 0.1), mains_hz=float(rng.choice([50.0, 60.0])))
    raise ValueError(f"unknown noise level {level!r}")


def cohort_conditions(n: int) -> list[str]:
    """A varied cohort: one normal in four, the rest cycling through every condition."""
    others = [c for c in CONDITIONS if c != "normal"]
    out, k = [], 0
    for i in range(n):
        if i % 4 == 0:
            out.append("normal")
        else:
            out.append(others[k % len(others)])
            k += 1
    return out


def make_cohort(n: int, seed: int, noise: str = "realistic", fs: int = FS,
                n_samples: int = N_SAMPLES) -> list[SynthEcg]:
    """N cases, deterministic for a seed; record ids synth_<seed>_<i>."""
    out = []
    for i, cond in enumerate(cohort_conditions(n)):
        rng = np.random.default_rng([seed, i])
        out.append(make_case(rng, cond, f"synth_{seed}_{i:05d}", noise, fs, n_samples))
    return out


def write_record(ecg: SynthEcg, out_dir: str | Path) -> Path:
    """WFDB record (16-bit, 1 uV per unit) plus `<record>.truth.json`; returns the record path."""
    import wfdb

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    comments = [f"synthetic: {ecg.truth['condition']}",
                "findings: " + " ".join(ecg.truth["findings"])]
    wfdb.wrsamp(ecg.record_id, fs=ecg.fs, units=["mV"] * 12, sig_name=list(STANDARD_LEADS),
                p_signal=ecg.signal.T.astype(np.float64), fmt=["16"] * 12,
                adc_gain=[1000.0] * 12, baseline=[0] * 12, comments=comments,
                write_dir=str(out_dir))
    (out_dir / f"{ecg.record_id}.truth.json").write_text(json.dumps(ecg.truth, indent=1))
    return out_dir / ecg.record_id


def write_cohort(out_dir: str | Path, n: int, seed: int, noise: str = "realistic") -> Path:
    """N records + truth + `manifest.csv` (record_id, uri); returns the manifest path."""
    out_dir = Path(out_dir)
    rows = []
    for ecg in make_cohort(n, seed, noise):
        path = write_record(ecg, out_dir)
        rows.append((ecg.record_id, str(path.resolve())))
    manifest = out_dir / "manifest.csv"
    with manifest.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["record_id", "uri"])
        w.writerows(rows)
    return manifest
