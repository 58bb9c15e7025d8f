"""Findings derived from measurements by stated criteria, each with its evidence.

Criteria (thresholds are the module constants below):
- Rate and rhythm: AHA/ACCF/HRS 2009 recommendations for the standardization and
  interpretation of the ECG, Part I (Kligfield et al., Circulation 2007;115:1306) and the
  statement list (Mason et al., Circulation 2007;115:1325): sinus rhythm = an upright P wave
  in II before every QRS; sinus bradycardia < 60 bpm, sinus tachycardia > 100 bpm.
- Atrial fibrillation: irregularly irregular RR with no P waves. Irregularity is the
  normalised RMS of successive RR differences (RMSSD / mean RR; Dash et al., Ann Biomed Eng
  2009 used >= 0.1 with other indices).
- First-degree AV block: PR > 200 ms (Mason et al. 2007).
- Intraventricular conduction: AHA/ACCF/HRS 2009 Part III (Surawicz et al., Circulation
  2009;119:e235): complete RBBB / LBBB need QRS >= 120 ms. RBBB: terminal R' in V1 or V2 and
  a terminal S in I and V6. LBBB: V1 negative (QS or rS), no q in I, V5 and V6, R peak time
  > 60 ms in V5 and V6, dominant R in V6.
- Axis: Part I / Mason et al.: left axis deviation -30 to -90 deg, right axis deviation
  +90 to +180 deg.
- QTc: AHA/ACCF/HRS 2009 Part IV (Rautaharju et al., Circulation 2009;119:e241): prolonged
  QTc >= 450 ms (men) / 460 ms (women); with sex unknown we use > 460 ms, and Fridericia
  rather than Bazett since Part IV advises against Bazett away from 60 bpm.
- Low voltage: QRS peak-to-peak < 0.5 mV in every limb lead, or < 1.0 mV in every
  precordial lead (Mason et al. 2007; Minnesota code 9-1).
- LVH voltage: AHA/ACCF/HRS 2009 Part V (Hancock et al., Circulation 2009;119:e251):
  Sokolow-Lyon S(V1) + max R(V5, V6) >= 3.5 mV, Cornell R(aVL) + S(V3) >= 2.8 mV (men's
  value, sex unknown), or R(aVL) >= 1.1 mV. Not applied with LBBB (Part V: voltage criteria
  lose their meaning with LBBB).
- ST elevation / depression: Fourth Universal Definition of MI (Thygesen et al., Circulation
  2018;138:e618) and AHA/ACCF/HRS 2009 Part VI (Wagner et al., Circulation 2009;119:e262):
  elevation >= 0.1 mV in 2 contiguous leads (>= 0.2 mV in V2-V3, the men's value), depression
  >= 0.05 mV horizontal or downsloping in 2 contiguous leads; here measured at J+60 ms against
  the PR segment. Not applied with LBBB (ST-T changes secondary to the conduction defect,
  Part VI).
- Pathological Q: Minnesota code 1-1/1-2 style, Q >= 40 ms and >= 0.1 mV deep (a QS counts)
  in 2 leads of a contiguous group; aVR excluded; not applied with LBBB (Thygesen 2018).
Groups: inferior II/III/aVF, lateral I/aVL/V5/V6, anterior V3/V4, septal V1/V2; "2
contiguous leads" = both leads of one of the pairs in PAIRS.
"""
from __future__ import annotations

from gem_core.leads import LEAD_GROUPS, LIMB_LEADS, PRECORDIAL_LEADS, STANDARD_LEADS

BRADY_BPM = 60.0
TACHY_BPM = 100.0
FIRST_DEGREE_PR_MS = 200.0
WIDE_QRS_MS = 120.0
LEFT_AXIS_DEG = -30.0
RIGHT_AXIS_DEG = 90.0
LONG_QTC_MS = 460.0
AF_IRREGULARITY = 0.10
LOW_LIMB_MV = 0.5
LOW_PRECORDIAL_MV = 1.0
SOKOLOW_MV = 3.5
CORNELL_MV = 2.8
RAVL_MV = 1.1
STE_MV = 0.10
STE_V2V3_MV = 0.20
STD_MV = 0.05
Q_MS = 40.0
Q_MV = 0.10
BBB_TERMINAL_MV = 0.05
LBBB_RPT_MS = 60.0

# Contiguous pairs within each group (neighbours in the Cabrera limb sequence or in the
# V1..V6 sequence): a group is positive when both leads of one pair are.
PAIRS = {
    "inferior": (("II", "aVF"), ("aVF", "III"), ("II", "III")),
    "lateral": (("aVL", "I"), ("V5", "V6")),
    "anterior": (("V3", "V4"),),
    "septal": (("V1", "V2"),),
}
AMPLITUDE_CODES = {"LOW_VOLTAGE", "LVH_VOLTAGE", "ST_ELEVATION", "ST_DEPRESSION", "PATHOLOGICAL_Q"}

LABELS = {
    "SINUS_RHYTHM": "sinus rhythm",
    "SINUS_BRADYCARDIA": "sinus bradycardia",
    "SINUS_TACHYCARDIA": "sinus tachycardia",
    "AF": "atrial fibrillation",
    "FIRST_DEGREE_AV_BLOCK": "first-degree AV block",
    "WIDE_QRS": "wide QRS complex",
    "RBBB": "right bundle branch block",
    "LBBB": "left bundle branch block",
    "LEFT_AXIS_DEVIATION": "left axis deviation",
    "RIGHT_AXIS_DEVIATION": "right axis deviation",
    "LONG_QTC": "prolonged QTc",
    "LOW_VOLTAGE": "low QRS voltage",
    "LVH_VOLTAGE": "left ventricular hypertrophy by voltage",
    "ST_ELEVATION": "ST elevation",
    "ST_DEPRESSION": "ST depression",
    "PATHOLOGICAL_Q": "pathological Q waves",
}


def _f(x, digits=2):
    return f"{x:.{digits}f}"


def _get(amps: dict, lead: str, key: str, default=None):
    v = amps.get(lead, {}).get(key)
    return default if v is None else v


def _finding(code: str, evidence: str, leads: list[str], group: str | None = None) -> dict:
    out = {"code": code, "label": LABELS[code] + (f" ({group})" if group else ""),
           "evidence": evidence, "leads": list(leads)}
    if group:
        out["group"] = group
    return out


def voltage_values(amps: dict) -> dict:
    """The voltage criteria's sums (mV) from per-lead amplitudes {lead: {pp, r, s, ...}}.
    S depths enter as positive numbers."""
    def depth(lead):
        return -_get(amps, lead, "s", 0.0)

    def r(lead):
        return _get(amps, lead, "r", 0.0)

    limb = [_get(amps, ld, "pp") for ld in LIMB_LEADS if _get(amps, ld, "pp") is not None]
    prec = [_get(amps, ld, "pp") for ld in PRECORDIAL_LEADS if _get(amps, ld, "pp") is not None]
    return {
        "limb_max_pp": max(limb) if len(limb) >= 4 else None,
        "precordial_max_pp": max(prec) if len(prec) >= 4 else None,
        "sokolow": depth("V1") + max(r("V5"), r("V6")),
        "cornell": r("aVL") + depth("V3"),
        "r_avl": r("aVL"),
    }


def _contiguous(group: str, positive: list[str]) -> bool:
    return any(a in positive and b in positive for a, b in PAIRS[group])


def sinus_rate_code(hr_bpm: float) -> str:
    """SINUS_BRADYCARDIA (< 60), SINUS_TACHYCARDIA (> 100) or SINUS_RHYTHM."""
    return ("SINUS_BRADYCARDIA" if hr_bpm < BRADY_BPM else
            "SINUS_TACHYCARDIA" if hr_bpm > TACHY_BPM else "SINUS_RHYTHM")


def st_threshold(lead: str) -> float:
    return STE_V2V3_MV if lead in ("V2", "V3") else STE_MV


def amplitude_findings(amps: dict, lbbb: bool) -> list[dict]:
    """LOW_VOLTAGE, LVH_VOLTAGE, ST_ELEVATION/DEPRESSION and PATHOLOGICAL_Q by lead group."""
    out = []
    vv = voltage_values(amps)
    if vv["limb_max_pp"] is not None and vv["limb_max_pp"] < LOW_LIMB_MV:
        out.append(_finding("LOW_VOLTAGE", f"QRS peak-to-peak < {LOW_LIMB_MV} mV in all limb leads "
                            f"(largest {_f(vv['limb_max_pp'])} mV)", list(LIMB_LEADS)))
    elif vv["precordial_max_pp"] is not None and vv["precordial_max_pp"] < LOW_PRECORDIAL_MV:
        out.append(_finding("LOW_VOLTAGE", f"QRS peak-to-peak < {LOW_PRECORDIAL_MV} mV in all "
                            f"precordial leads (largest {_f(vv['precordial_max_pp'])} mV)", list(PRECORDIAL_LEADS)))
    if not lbbb:
        why = []
        if vv["sokolow"] >= SOKOLOW_MV:
            why.append((f"Sokolow-Lyon S(V1)+R(V5/V6) {_f(vv['sokolow'])} mV >= {SOKOLOW_MV}", ["V1", "V5", "V6"]))
        if vv["cornell"] >= CORNELL_MV:
            why.append((f"Cornell R(aVL)+S(V3) {_f(vv['cornell'])} mV >= {CORNELL_MV}", ["aVL", "V3"]))
        if vv["r_avl"] >= RAVL_MV:
            why.append((f"R(aVL) {_f(vv['r_avl'])} mV >= {RAVL_MV}", ["aVL"]))
        if why:
            out.append(_finding("LVH_VOLTAGE", "; ".join(w for w, _ in why),
                                sorted({ld for _, lds in why for ld in lds}, key=_order)))
        for group, leads in LEAD_GROUPS.items():
            elev = [ld for ld in leads if _get(amps, ld, "st_j60") is not None
                    and amps[ld]["st_j60"] >= st_threshold(ld)]
            if _contiguous(group, elev):
                vals = ", ".join(f"{ld} {amps[ld]['st_j60']:+.2f} mV" for ld in elev)
                out.append(_finding("ST_ELEVATION", f"ST at J+60 ms {vals} (>= {STE_MV} mV, "
                                    f"{STE_V2V3_MV} mV in V2-V3, in 2 contiguous leads)", elev, group))
            dep = [ld for ld in leads if _get(amps, ld, "st_j60") is not None
                   and amps[ld]["st_j60"] <= -STD_MV and _get(amps, ld, "st_form") != "upsloping"]
            if _contiguous(group, dep):
                vals = ", ".join(f"{ld} {amps[ld]['st_j60']:+.2f} mV {amps[ld].get('st_form') or ''}".rstrip()
                                 for ld in dep)
                out.append(_finding("ST_DEPRESSION", f"ST at J+60 ms {vals} (<= -{STD_MV} mV, not "
                                    "upsloping, in 2 contiguous leads)", dep, group))
            qs = [ld for ld in leads if _get(amps, ld, "q_ms", 0.0) >= Q_MS
                  and -_get(amps, ld, "q", 0.0) >= Q_MV]
            if _contiguous(group, qs):
                vals = ", ".join(f"{ld} {amps[ld]['q_ms']:.0f} ms {-amps[ld]['q']:.2f} mV" for ld in qs)
                out.append(_finding("PATHOLOGICAL_Q", f"Q waves {vals} (>= {Q_MS:.0f} ms and "
                                    f">= {Q_MV} mV deep in 2 contiguous leads)", qs, group))
    return out


def amplitude_codes(amps: dict, lbbb: bool) -> set[str]:
    """The amplitude findings as codes ('ST_ELEVATION:inferior' for grouped ones)."""
    return {f["code"] + (":" + f["group"] if "group" in f else "")
            for f in amplitude_findings(amps, lbbb)}


def bbb_shape(amps: dict) -> tuple[bool, bool]:
    """(RBBB morphology, LBBB morphology) from terminal QRS direction, q waves and R peak
    time; the QRS width criterion is applied by the caller."""
    term = {ld: _get(amps, ld, "terminal", 0.0) for ld in ("V1", "V2", "I", "V6")}
    rbbb = (max(term["V1"], term["V2"]) > BBB_TERMINAL_MV
            and term["I"] < -BBB_TERMINAL_MV and term["V6"] < -BBB_TERMINAL_MV)
    lbbb = (term["V1"] < -BBB_TERMINAL_MV
            and all(_get(amps, ld, "q_ms", 0.0) == 0.0 for ld in ("I", "V5", "V6"))
            and all(_get(amps, ld, "r_peak_time_ms", 0.0) > LBBB_RPT_MS for ld in ("V5", "V6"))
            and _get(amps, "V6", "r", 0.0) > -_get(amps, "V6", "s", 0.0))
    return rbbb, lbbb


def _order(lead: str) -> int:
    return STANDARD_LEADS.index(lead)


def derive_findings(g: dict, amps: dict, p_present: bool | None, irregularity: float | None) -> list[dict]:
    """All findings from the global values `g` (the schema's "global" dict), per-lead
    amplitudes `amps` {lead: {...}} (usable leads only), whether P waves were found before
    the QRS complexes, and RR irregularity (RMSSD / mean RR)."""
    out = []
    hr, rr_sd = g.get("heart_rate_bpm"), g.get("rr_sd_ms")
    if hr is None:
        return out
    p_ii = _get(amps, "II", "p_mv")
    sinus = bool(p_present) and (p_ii is None or p_ii > 0)
    rr_txt = (f"RR {'regular' if g.get('rhythm_regular') else 'irregular'} (SD {rr_sd:.0f} ms"
              + (f", RMSSD/RR {irregularity:.2f})" if irregularity is not None else ")"))
    if sinus:
        code = sinus_rate_code(hr)
        p_txt = f"upright P before every QRS in II ({p_ii:+.2f} mV)" if p_ii is not None else "P before every QRS"
        out.append(_finding(code, f"HR {hr:.0f} bpm, {rr_txt}, {p_txt}", ["II"]))
    elif p_present is False and irregularity is not None and irregularity >= AF_IRREGULARITY:
        out.append(_finding("AF", f"irregularly irregular RR (RMSSD/RR {irregularity:.2f} >= "
                            f"{AF_IRREGULARITY}, SD {rr_sd:.0f} ms), no P waves, mean HR {hr:.0f} bpm",
                            ["II", "V1"]))
    pr = g.get("pr_ms")
    if sinus and pr is not None and pr > FIRST_DEGREE_PR_MS:
        out.append(_finding("FIRST_DEGREE_AV_BLOCK", f"PR {pr:.0f} ms > {FIRST_DEGREE_PR_MS:.0f} ms", ["II"]))
    qrs = g.get("qrs_ms")
    wide = qrs is not None and qrs >= WIDE_QRS_MS
    lbbb = False
    if wide:
        out.append(_finding("WIDE_QRS", f"QRS {qrs:.0f} ms >= {WIDE_QRS_MS:.0f} ms", []))
        rb, lb = bbb_shape(amps)
        if rb:
            out.append(_finding("RBBB", f"QRS {qrs:.0f} ms; terminal R' in V1/V2 (V1 terminal "
                                f"{_get(amps, 'V1', 'terminal', 0):+.2f} mV); terminal S in I "
                                f"({_get(amps, 'I', 'terminal', 0):+.2f} mV) and V6 "
                                f"({_get(amps, 'V6', 'terminal', 0):+.2f} mV)", ["V1", "V2", "I", "V6"]))
        elif lb:
            lbbb = True
            out.append(_finding("LBBB", f"QRS {qrs:.0f} ms; V1 negative (terminal "
                                f"{_get(amps, 'V1', 'terminal', 0):+.2f} mV); no q in I, V5, V6; "
                                f"R peak time V5 {_get(amps, 'V5', 'r_peak_time_ms', 0):.0f} ms, "
                                f"V6 {_get(amps, 'V6', 'r_peak_time_ms', 0):.0f} ms > {LBBB_RPT_MS:.0f}",
                                ["V1", "I", "V5", "V6"]))
        for f in out:
            if f["code"] == "WIDE_QRS":
                f["leads"] = [ld for ld in STANDARD_LEADS if ld in amps]
    axis = g.get("qrs_axis_deg")
    if axis is not None and -90.0 <= axis < LEFT_AXIS_DEG:
        out.append(_finding("LEFT_AXIS_DEVIATION", f"QRS axis {axis:.0f} deg (< {LEFT_AXIS_DEG:.0f})",
                            ["I", "II", "aVF"]))
    if axis is not None and RIGHT_AXIS_DEG < axis <= 180.0:
        out.append(_finding("RIGHT_AXIS_DEVIATION", f"QRS axis {axis:.0f} deg (> {RIGHT_AXIS_DEG:.0f})",
                            ["I", "aVF"]))
    qtc = g.get("qtc_ms")
    if qtc is not None and qtc > LONG_QTC_MS:
        out.append(_finding("LONG_QTC", f"QTc ({g.get('qtc_method')}) {qtc:.0f} ms > {LONG_QTC_MS:.0f} ms "
                            f"(QT {g.get('qt_ms'):.0f} ms, RR {g.get('rr_ms'):.0f} ms)", []))
    out.extend(amplitude_findings(amps, lbbb))
    return out
