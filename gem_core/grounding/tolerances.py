"""Every tolerance and band the verifier uses, in one place.

A numeric claim is supported when it is within `tolerance(feature, measured)` of the measured
value: the larger of an absolute and a relative allowance. The allowances cover what a careful
reader would still call the same value (a report rounds 163 ms to "0.16 s") plus the spread
between a value read from one lead and the global value of the measurement stage. They are
deliberately tighter than the distance between a normal and an abnormal value (QRS 100 vs
120 ms, PR 180 vs 220 ms) so that a wrong number is caught.

`BORDERLINE` bands protect categorical claims near a diagnostic cut-off: when a report calls
first-degree AV block at a measured PR of 196 ms the measurement stage did not flag it, but
neither is the report clearly wrong. Inside the band such a disagreement is `unverifiable`,
never `contradicted`. A band never turns a contradiction into support.
"""
from __future__ import annotations

from gem_core.measure import findings as F

# feature -> (absolute allowance in the feature's unit, relative allowance of the measured value)
NUMERIC: dict[str, tuple[float, float]] = {
    "heart_rate": (5.0, 0.08),      # bpm
    "rr": (40.0, 0.05),             # ms
    "rr_sd": (20.0, 0.30),          # ms; beat-to-beat spread is itself noisy
    "pr": (20.0, 0.0),              # ms
    "p_duration": (20.0, 0.0),      # ms
    "qrs": (15.0, 0.0),             # ms; a 120 ms cut-off must stay distinguishable from 100
    "qt": (25.0, 0.0),              # ms
    "qtc": (25.0, 0.0),             # ms
    "t_duration": (30.0, 0.0),      # ms
    "st_duration": (30.0, 0.0),     # ms
    "p_axis": (20.0, 0.0),          # degrees
    "qrs_axis": (15.0, 0.0),        # degrees
    "t_axis": (20.0, 0.0),          # degrees
    "p_amplitude": (0.05, 0.20),    # mV
    "q_amplitude": (0.08, 0.20),    # mV
    "r_amplitude": (0.10, 0.15),    # mV
    "s_amplitude": (0.10, 0.15),    # mV
    "t_amplitude": (0.08, 0.20),    # mV
    "qrs_amplitude": (0.10, 0.15),  # mV
    "st_deviation": (0.05, 0.0),    # mV; 0.5 mm, half the usual 1 mm criterion
    "sokolow_lyon": (0.20, 0.10),   # mV
}

# Features whose claims compare magnitudes: "S wave of 1.9 mV" describes a negative deflection
# the measurement stage may store as -1.9 mV.
MAGNITUDE_FEATURES = frozenset({"q_amplitude", "s_amplitude", "t_amplitude", "qrs_amplitude"})

# Cut-offs are the measurement stage's own criteria (gem_core.measure.findings); each band
# says how far around one a disagreement is borderline, not wrong.
BORDERLINE = {
    "heart_rate_low": (F.BRADY_BPM, 3.0),              # bpm: sinus bradycardia
    "heart_rate_high": (F.TACHY_BPM, 3.0),             # bpm: sinus tachycardia
    "pr": (F.FIRST_DEGREE_PR_MS, 10.0),                # ms: first-degree AV block
    "qrs": (F.WIDE_QRS_MS, 10.0),                      # ms: wide QRS / bundle branch block
    "qtc": (F.LONG_QTC_MS, 15.0),                      # ms: long QTc (450 men / 460 women)
    "axis_left": (F.LEFT_AXIS_DEG, 10.0),              # degrees: left axis deviation
    "axis_right": (F.RIGHT_AXIS_DEG, 10.0),            # degrees: right axis deviation
    "st_elevation": (F.STE_MV, 0.05),                  # mV at J+60 (V2-V3: F.STE_V2V3_MV)
    "st_depression": (F.STD_MV, 0.025),                # mV at J+60
    "q_duration": (F.Q_MS, 10.0),                      # ms: pathological Q
    "low_limb": (F.LOW_LIMB_MV, 0.1),                  # mV: largest limb-lead QRS peak-to-peak
    "low_precordial": (F.LOW_PRECORDIAL_MV, 0.15),     # mV: largest precordial QRS peak-to-peak
    "sokolow_lyon": (F.SOKOLOW_MV, 0.3),               # mV: LVH voltage
}

# T waves: inverted at or below, upright at or above; between is flat (neither claim holds).
T_INVERTED_MV = -0.10
T_UPRIGHT_MV = 0.05

# A lead-group claim ("ST elevation in V1-V4") is supported when at least this share of its
# leads carry the finding, contradicted when none do.
LEAD_OVERLAP_SUPPORTED = 0.5


def tolerance(feature: str, measured: float) -> float:
    """Allowed |claimed - measured| for a feature at a measured value."""
    absolute, relative = NUMERIC[feature]
    return max(absolute, relative * abs(measured))


def within(feature: str, claimed: float, measured: float) -> bool:
    return abs(claimed - measured) <= tolerance(feature, measured)


def borderline(band: str, value: float | None) -> bool:
    """True when a measured value sits inside the band around a cut-off."""
    if value is None:
        return False
    centre, half_width = BORDERLINE[band]
    return abs(value - centre) <= half_width


def st_elevation_threshold(lead: str) -> float:
    """The measurement stage's ST-elevation criterion for a lead (higher in V2-V3)."""
    return F.st_threshold(lead)
