"""Check every claim of a report against the Measurements dict: supported, contradicted or
unverifiable, with the evidence.

`verify_report(text, measurements)` parses the report (claims.py), looks each claim up in the
measurements (`MEASUREMENTS_SCHEMA`: global values, per-lead medians and amplitudes, per-beat
R peaks, findings with their leads) and returns a `Verdict`:
- numeric claims compare with the measured value within `tolerances.tolerance`; a claim about
  named leads compares with those leads' values, a range with the span of the measured values
  (over leads, or over beats for RR and rate);
- categorical claims compare with the findings. A finding the measurement stage did not
  report contradicts a claim of it only when the measurement it rests on is present and not
  borderline (tolerances.BORDERLINE); lead-group claims compare lead sets;
- clinician labels, when given, decide the diagnoses they name (they take precedence).
Anything the measurements do not cover (second-degree block, RVH, "P mitrale") is
`unverifiable`, never guessed.

score = supported / claims (0 for a report with no claims): a report is fully grounded at 1.0.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from gem_core.grounding import tolerances as T
from gem_core.grounding.claims import Claim, parse_claims
from gem_core.leads import FS, LIMB_LEADS, PRECORDIAL_LEADS, STANDARD_LEADS

SUPPORTED, CONTRADICTED, UNVERIFIABLE = "supported", "contradicted", "unverifiable"

# Numeric feature -> where its value lives: (global key, per-lead source, per-lead key).
# Per-lead sources: "median" = leads[L]["median"][key], "lead" = leads[L][key].
FEATURE_SOURCES: dict[str, tuple[str | None, str | None, str | None]] = {
    "heart_rate": ("heart_rate_bpm", "median", "heart_rate"),
    "rr": ("rr_ms", "median", "rr_interval_1"),
    "rr_sd": ("rr_sd_ms", None, None),
    "pr": ("pr_ms", "median", "pr_interval"),
    "p_duration": ("p_ms", "median", "p_duration"),
    "qrs": ("qrs_ms", "median", "qrs_duration"),
    "qt": ("qt_ms", "median", "qt"),
    "qtc": ("qtc_ms", "median", "qtc"),
    "t_duration": (None, "median", "t_duration"),
    "st_duration": (None, "median", "st_duration"),
    "q_duration": (None, "lead", "q_ms"),
    "p_axis": ("p_axis_deg", None, None),
    "qrs_axis": ("qrs_axis_deg", None, None),
    "t_axis": ("t_axis_deg", None, None),
    "p_amplitude": (None, "median", "p_amplitude"),
    "qrs_amplitude": (None, "median", "qrs_amplitude"),
    "q_amplitude": (None, "lead", "q_mv"),
    "r_amplitude": (None, "lead", "r_mv"),
    "s_amplitude": (None, "lead", "s_mv"),
    "t_amplitude": (None, "lead", "t_mv"),
    "st_deviation": (None, "lead", "st_j60_mv"),
    "sokolow_lyon": (None, None, None),   # computed: S(V1) + max R(V5, V6)
}
TOLERANCE_KEY = {"q_duration": "p_duration"}   # 20 ms like the other short durations
ANGLES = frozenset({"p_axis", "qrs_axis", "t_axis"})
UNIT = {"heart_rate": "bpm", "p_axis": "deg", "qrs_axis": "deg", "t_axis": "deg"}

SINUS = ("SINUS_RHYTHM", "SINUS_BRADYCARDIA", "SINUS_TACHYCARDIA")
# Leads where an inverted T wave is abnormal (III, aVR and V1 may be inverted normally).
T_UPRIGHT_LEADS = ("I", "II", "V3", "V4", "V5", "V6")


@dataclass
class CheckedClaim:
    claim: Claim
    status: str
    evidence: str

    def to_dict(self) -> dict:
        return {**self.claim.to_dict(), "status": self.status, "evidence": self.evidence}


@dataclass
class Verdict:
    claims: list[CheckedClaim] = field(default_factory=list)

    @property
    def counts(self) -> dict:
        c = {"claims": len(self.claims), SUPPORTED: 0, CONTRADICTED: 0, UNVERIFIABLE: 0}
        for cc in self.claims:
            c[cc.status] += 1
        return c

    @property
    def score(self) -> float:
        return self.counts[SUPPORTED] / len(self.claims) if self.claims else 0.0

    @property
    def contradictions(self) -> list[CheckedClaim]:
        return [cc for cc in self.claims if cc.status == CONTRADICTED]

    @property
    def fully_supported(self) -> bool:
        return bool(self.claims) and all(cc.status == SUPPORTED for cc in self.claims)

    def to_dict(self) -> dict:
        return {"claims": [cc.to_dict() for cc in self.claims], "counts": self.counts,
                "score": round(self.score, 4),
                "contradictions": [cc.to_dict() for cc in self.contradictions]}


def verify_report(text: str, measurements: dict, labels=None) -> Verdict:
    """Verdict of a report paragraph against a Measurements dict (`Measurements.to_dict()`).

    `labels`: optional clinician diagnoses (finding codes, or dicts {"code", "leads"}); they
    decide the claims about the codes they name."""
    ev = Evidence(measurements, labels)
    return Verdict([CheckedClaim(c, *check_claim(c, ev)) for c in parse_claims(text)])


# --- the measurements, read the way claims need them ---------------------------------------
def _fmt(x: float, unit: str | None) -> str:
    if unit == "mV":
        return f"{x:.2f} mV"
    if unit == "deg":
        return f"{x:+.0f} deg"
    return f"{x:.0f} {unit}" if unit else f"{x:g}"


def normalise_labels(labels) -> list[dict]:
    out = []
    for lab in labels or []:
        if isinstance(lab, str):
            out.append({"code": lab, "leads": []})
        else:
            out.append({"code": lab["code"], "leads": list(lab.get("leads") or [])})
    return out


class Evidence:
    """Read access to one Measurements dict (and optional clinician labels)."""

    def __init__(self, m: dict, labels=None):
        self.m = m
        self.g = m.get("global") or {}
        self.leads = m.get("leads") or {}
        self.quality = m.get("quality") or {}
        self.findings = m.get("findings") or []
        self.codes = {f["code"] for f in self.findings}
        self.labels = normalise_labels(labels)

    # findings
    def has(self, *codes: str) -> bool:
        return any(c in self.codes for c in codes)

    def finding_leads(self, *codes: str) -> set[str]:
        return {ld for f in self.findings if f["code"] in codes for ld in f.get("leads") or []}

    def label(self, code: str) -> dict | None:
        return next((lab for lab in self.labels if lab["code"] == code), None)

    # values
    def usable(self, lead: str) -> bool:
        q = (self.quality.get("leads") or {}).get(lead)
        return q is None or q.get("usable", True)

    def lead_value(self, feature: str, lead: str) -> float | None:
        _, source, key = FEATURE_SOURCES[feature]
        d = self.leads.get(lead)
        if source is None or d is None or not self.usable(lead):
            return None
        v = (d.get("median") or {}).get(key) if source == "median" else d.get(key)
        return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    def global_value(self, feature: str, method: str | None = None) -> float | None:
        if feature == "sokolow_lyon":
            return self.sokolow()
        if feature == "qtc" and method:
            return self.g.get(f"qtc_{method}_ms")
        key = FEATURE_SOURCES[feature][0]
        return self.g.get(key) if key else None

    def sokolow(self) -> float | None:
        s1 = self.lead_value("s_amplitude", "V1")
        r = [v for v in (self.lead_value("r_amplitude", "V5"), self.lead_value("r_amplitude", "V6")) if v is not None]
        return abs(s1) + max(abs(v) for v in r) if s1 is not None and r else None

    def beat_rr_ms(self) -> list[float]:
        """RR intervals of the 10 s window from the global R peaks (ms)."""
        peaks = [p for p in (self.m.get("fiducials") or {}).get("r_peaks") or [] if p is not None]
        return [(b - a) * 1000.0 / FS for a, b in zip(peaks, peaks[1:])]

    def beat_values(self, feature: str) -> list[float]:
        rr = self.beat_rr_ms()
        if feature == "rr":
            return rr
        if feature == "heart_rate":
            return [60000.0 / x for x in rr if x > 0]
        return []

    def unmeasured_reason(self, feature: str) -> str:
        key = FEATURE_SOURCES.get(feature, (None,))[0]
        reason = (self.quality.get("unmeasurable") or {}).get(key or "")
        return f"{feature} not measured" + (f" ({reason})" if reason else "")


# --- numeric claims ---------------------------------------------------------------------------
def check_claim(c: Claim, ev: Evidence) -> tuple[str, str]:
    if c.kind == "numeric":
        return _check_numeric(c, ev)
    return _check_categorical(c, ev)


def _check_numeric(c: Claim, ev: Evidence) -> tuple[str, str]:
    feature = c.name
    if feature not in FEATURE_SOURCES:
        return UNVERIFIABLE, f"{feature} is not among the measurements"
    tol_key = TOLERANCE_KEY.get(feature, feature)
    unit = c.unit or UNIT.get(feature, "")
    # The measured values the claim is about.
    if c.leads:
        pairs = [(ld, ev.lead_value(feature, ld)) for ld in c.leads]
        where = "per lead"
    elif c.op == "range" and ev.beat_values(feature):
        pairs = [(f"beat {k + 1}", v) for k, v in enumerate(ev.beat_values(feature))]
        where = "per beat"
    elif feature == "qtc" and c.method is None and not isinstance(c.value, list):
        # A QTc given without its correction is right if either standard correction gives it.
        options = [(k, ev.global_value("qtc", m)) for k, m in (("global", None), ("bazett", "bazett"),
                                                                ("fridericia", "fridericia"))]
        options = [(k, v) for k, v in options if v is not None]
        pairs = [min(options, key=lambda kv: abs(kv[1] - c.value))] if options else []
        where = "global"
    else:
        pairs = [("global", ev.global_value(feature, c.method))]
        where = "global"
    pairs = [(k, v) for k, v in pairs if v is not None]
    if not pairs:
        what = f"{feature} in {', '.join(c.leads)}" if c.leads else feature
        return UNVERIFIABLE, (f"{what} not measured" if c.leads or feature not in FEATURE_SOURCES
                              or FEATURE_SOURCES[feature][0] is None else ev.unmeasured_reason(feature))
    magnitude = feature in T.MAGNITUDE_FEATURES or (feature == "st_deviation" and c.op in "<>")
    values = [abs(v) if magnitude else v for _, v in pairs]
    claimed = c.value
    if magnitude and not isinstance(claimed, list):
        claimed = abs(claimed)
    shown = (", ".join(f"{k} {_fmt(v, unit)}" for k, v in pairs) if len(pairs) <= 6 else
             f"{len(pairs)} values {_fmt(min(values), unit)}..{_fmt(max(values), unit)}")
    lo_v, hi_v = min(values), max(values)

    def diff(a: float, b: float) -> float:
        d = a - b
        return (d + 180.0) % 360.0 - 180.0 if feature in ANGLES else d

    def near(a: float, b: float) -> bool:
        return abs(diff(a, b)) <= T.tolerance(tol_key, b)

    if c.op == "range":
        lo, hi = claimed
        if len(values) > 1:
            ok = near(lo, lo_v) and near(hi, hi_v)
            rule = "range ends vs measured span"
        else:
            ok = diff(lo, values[0]) <= T.tolerance(tol_key, values[0]) and diff(values[0], hi) <= T.tolerance(tol_key, values[0])
            rule = "value inside range"
    elif c.op == "<":
        ok = hi_v <= claimed + T.tolerance(tol_key, claimed)
        rule = "all measured below bound"
    elif c.op == ">":
        ok = lo_v >= claimed - T.tolerance(tol_key, claimed)
        rule = "all measured above bound"
    elif c.op == "max":
        extreme = lo_v if (not magnitude and claimed < 0) else hi_v
        ok = near(claimed, extreme)
        rule = "claimed maximum vs measured extreme"
    elif len(values) == 1:
        ok = near(claimed, values[0])
        rule = "claimed vs measured"
    else:
        # One value for several leads: it must be representative of them.
        ok = (lo_v - T.tolerance(tol_key, lo_v) <= claimed <= hi_v + T.tolerance(tol_key, hi_v))
        rule = "claimed vs measured range of the leads"
    tol_txt = _fmt(T.tolerance(tol_key, values[0]), unit).replace("+", "")
    evidence = f"measured {where}: {shown}; {rule} (tolerance {tol_txt})"
    return (SUPPORTED if ok else CONTRADICTED), evidence


# --- categorical claims -----------------------------------------------------------------------
def _check_categorical(c: Claim, ev: Evidence) -> tuple[str, str]:
    lab = ev.label(c.name)
    if lab is not None:
        leads_ok = not (c.leads and lab["leads"]) or bool(set(c.leads) & set(lab["leads"]))
        where = f" ({', '.join(lab['leads'])})" if lab["leads"] else ""
        if c.value and leads_ok:
            return SUPPORTED, f"clinician label {c.name}{where}"
        return CONTRADICTED, f"clinician label {c.name}{where}" + ("" if c.value else " contradicts its absence")
    rule = _RULES.get(c.name)
    if rule is None:
        if c.name in ev.codes:
            return (SUPPORTED if c.value else CONTRADICTED), f"finding {c.name} present"
        return UNVERIFIABLE, f"{c.name} is not assessed by the measurement stage"
    return rule(c, ev)


def _present_absent(c: Claim, present: bool, evidence: str, basis_known: bool, borderline: bool):
    """The common shape: the finding's presence decides; an absence contradicts a positive
    claim (and a presence a negative one) only away from the cut-off."""
    if not basis_known and not present:
        return UNVERIFIABLE, evidence
    if present == c.value:
        return SUPPORTED, evidence
    return (UNVERIFIABLE if borderline else CONTRADICTED), evidence + (" (borderline)" if borderline else "")


def _rhythm_text(ev: Evidence) -> str:
    hr = ev.g.get("heart_rate_bpm")
    found = [f["code"] for f in ev.findings if f["code"] in SINUS + ("AF",)]
    return (f"rhythm finding {found[0]}" if found else "no rhythm finding") + (f", HR {hr:.0f} bpm" if hr else "")


def _sinus(c: Claim, ev: Evidence):
    text = _rhythm_text(ev)
    if ev.has(*SINUS):
        return (SUPPORTED if c.value else CONTRADICTED), text
    if ev.has("AF"):
        return (CONTRADICTED if c.value else SUPPORTED), text
    return UNVERIFIABLE, text


def _sinus_rate(code: str, band: str, slow: bool):
    def rule(c: Claim, ev: Evidence):
        text = _rhythm_text(ev)
        hr = ev.g.get("heart_rate_bpm")
        if ev.has(code):
            return (SUPPORTED if c.value else CONTRADICTED), text
        if ev.has("AF") or ev.has(*SINUS):
            wrong_rate = True
        elif hr is not None:
            wrong_rate = (hr >= T.BORDERLINE[band][0]) if slow else (hr <= T.BORDERLINE[band][0])
        else:
            return UNVERIFIABLE, text
        if not c.value:
            return SUPPORTED, text
        return (UNVERIFIABLE if T.borderline(band, hr) else CONTRADICTED) if wrong_rate else UNVERIFIABLE, text
    return rule


def _sinus_arrhythmia(c: Claim, ev: Evidence):
    text = _rhythm_text(ev) + f", rhythm_regular {ev.g.get('rhythm_regular')}"
    if ev.has("AF") and c.value:
        return CONTRADICTED, text
    if c.value and ev.has(*SINUS) and ev.g.get("rhythm_regular") is False:
        return SUPPORTED, text
    return UNVERIFIABLE, text


def _af(c: Claim, ev: Evidence):
    text = _rhythm_text(ev) + f", rhythm_regular {ev.g.get('rhythm_regular')}"
    if ev.has("AF"):
        return (SUPPORTED if c.value else CONTRADICTED), text
    if ev.has(*SINUS) or ev.g.get("rhythm_regular") is True:
        return (CONTRADICTED if c.value else SUPPORTED), text
    return UNVERIFIABLE, text


def _other_rhythm(c: Claim, ev: Evidence):
    text = _rhythm_text(ev)
    if ev.has(*SINUS, "AF"):
        return (CONTRADICTED if c.value else SUPPORTED), text
    return UNVERIFIABLE, text


def _regular(c: Claim, ev: Evidence):
    reg = ev.g.get("rhythm_regular")
    text = f"rhythm_regular {reg} (RR SD {ev.g.get('rr_sd_ms')} ms)"
    if reg is None:
        return UNVERIFIABLE, text
    return (SUPPORTED if reg == c.value else CONTRADICTED), text


def _first_degree(c: Claim, ev: Evidence):
    pr = ev.g.get("pr_ms")
    text = f"PR {pr:.0f} ms" if pr is not None else ev.unmeasured_reason("pr")
    return _present_absent(c, ev.has("FIRST_DEGREE_AV_BLOCK"), text, pr is not None, T.borderline("pr", pr))


def _wide_qrs(c: Claim, ev: Evidence):
    qrs = ev.g.get("qrs_ms")
    text = f"QRS {qrs:.0f} ms" if qrs is not None else ev.unmeasured_reason("qrs")
    return _present_absent(c, ev.has("WIDE_QRS", "RBBB", "LBBB"), text, qrs is not None, T.borderline("qrs", qrs))


def _bbb(codes: tuple[str, ...]):
    def rule(c: Claim, ev: Evidence):
        qrs = ev.g.get("qrs_ms")
        found = [f for f in ev.findings if f["code"] in ("RBBB", "LBBB")]
        text = (f"QRS {qrs:.0f} ms" if qrs is not None else ev.unmeasured_reason("qrs")) + \
            (f"; finding {found[0]['code']}: {found[0].get('evidence', '')}" if found else "; no bundle branch block finding")
        other = {"RBBB": "LBBB", "LBBB": "RBBB"}.get(codes[0]) if len(codes) == 1 else None
        if c.value and other and ev.has(other):
            return CONTRADICTED, text  # the other bundle branch is blocked
        return _present_absent(c, ev.has(*codes), text, qrs is not None, T.borderline("qrs", qrs))
    return rule


def _axis_rule(code: str | None):
    def rule(c: Claim, ev: Evidence):
        axis = ev.g.get("qrs_axis_deg")
        text = f"QRS axis {axis:+.0f} deg" if axis is not None else ev.unmeasured_reason("qrs_axis")
        near = T.borderline("axis_left", axis) or T.borderline("axis_right", axis)
        if axis is None:
            return UNVERIFIABLE, text
        if code is None:   # NORMAL_AXIS
            abnormal = ev.has("LEFT_AXIS_DEVIATION", "RIGHT_AXIS_DEVIATION") or (axis is not None and axis <= -90)
            return _present_absent(c, not abnormal, text, axis is not None, near)
        return _present_absent(c, ev.has(code), text, axis is not None, near)
    return rule


def _extreme_axis(c: Claim, ev: Evidence):
    axis = ev.g.get("qrs_axis_deg")
    if axis is None:
        return UNVERIFIABLE, ev.unmeasured_reason("qrs_axis")
    text = f"QRS axis {axis:+.0f} deg"
    if -80 < axis < 170:
        return (CONTRADICTED if c.value else SUPPORTED), text
    return (SUPPORTED if c.value else CONTRADICTED) if axis <= -90 or axis >= 180 else UNVERIFIABLE, text


def _fascicular(left: bool):
    def rule(c: Claim, ev: Evidence):
        axis = ev.g.get("qrs_axis_deg")
        if axis is None or not c.value:
            return UNVERIFIABLE, ev.unmeasured_reason("qrs_axis") if axis is None else "not assessed"
        text = f"QRS axis {axis:+.0f} deg"
        # A fascicular block needs the matching axis deviation.
        wrong = (axis > T.BORDERLINE["axis_left"][0] + T.BORDERLINE["axis_left"][1]) if left else \
            (axis < T.BORDERLINE["axis_right"][0] - T.BORDERLINE["axis_right"][1])
        return (CONTRADICTED if wrong else UNVERIFIABLE), text
    return rule


def _long_qtc(c: Claim, ev: Evidence):
    qtc = ev.g.get("qtc_ms")
    text = f"QTc ({ev.g.get('qtc_method')}) {qtc:.0f} ms" if qtc is not None else ev.unmeasured_reason("qtc")
    return _present_absent(c, ev.has("LONG_QTC"), text, qtc is not None, T.borderline("qtc", qtc))


def _limb_precordial_max(ev: Evidence) -> tuple[float | None, float | None]:
    limb = [v for v in (ev.lead_value("qrs_amplitude", ld) for ld in LIMB_LEADS) if v is not None]
    prec = [v for v in (ev.lead_value("qrs_amplitude", ld) for ld in PRECORDIAL_LEADS) if v is not None]
    return (max(limb) if limb else None), (max(prec) if prec else None)


def _low_voltage(c: Claim, ev: Evidence):
    limb, prec = _limb_precordial_max(ev)
    text = (f"largest QRS amplitude limb {limb:.2f} mV, precordial {prec:.2f} mV"
            if limb is not None and prec is not None else "QRS amplitudes not measured")
    near = (limb is not None and abs(limb - T.BORDERLINE["low_limb"][0]) <= T.BORDERLINE["low_limb"][1]) or \
        (prec is not None and abs(prec - T.BORDERLINE["low_precordial"][0]) <= T.BORDERLINE["low_precordial"][1])
    return _present_absent(c, ev.has("LOW_VOLTAGE"), text, limb is not None, near)


def _lvh(c: Claim, ev: Evidence):
    sok = ev.sokolow()
    found = next((f for f in ev.findings if f["code"] == "LVH_VOLTAGE"), None)
    text = (f"Sokolow-Lyon {sok:.2f} mV" if sok is not None else "S(V1)/R(V5,V6) not measured") + \
        (f"; finding LVH_VOLTAGE: {found.get('evidence', '')}" if found else "")
    if ev.has("LBBB") and not found:
        return UNVERIFIABLE, text + "; voltage criteria not applied with LBBB"
    return _present_absent(c, found is not None, text, sok is not None, T.borderline("sokolow_lyon", sok))


def _normal_voltage(c: Claim, ev: Evidence):
    limb, _ = _limb_precordial_max(ev)
    text = "findings: " + (", ".join(sorted(ev.codes & {"LOW_VOLTAGE", "LVH_VOLTAGE"})) or "no voltage finding")
    if limb is None:
        return UNVERIFIABLE, "QRS amplitudes not measured"
    return _present_absent(c, not ev.has("LOW_VOLTAGE", "LVH_VOLTAGE"), text, limb is not None, False)


def _lead_vals(ev: Evidence, feature: str, leads) -> dict[str, float]:
    return {ld: v for ld in leads if (v := ev.lead_value(feature, ld)) is not None}


def _st_rule(codes: tuple[str, ...]):
    """ST_ELEVATION, ST_DEPRESSION and ST_CHANGES (either)."""
    def leaning(ld: str, st: float) -> bool:
        # A lead whose ST level sits near the criterion in the claimed direction.
        up = st >= T.st_elevation_threshold(ld) - T.BORDERLINE["st_elevation"][1]
        down = st <= -(T.BORDERLINE["st_depression"][0] - T.BORDERLINE["st_depression"][1])
        return (up and "ST_ELEVATION" in codes) or (down and "ST_DEPRESSION" in codes)

    def rule(c: Claim, ev: Evidence):
        st = _lead_vals(ev, "st_deviation", c.leads or STANDARD_LEADS)
        found = ev.finding_leads(*codes)
        text = ("finding leads " + (", ".join(_ordered(found)) or "none") + "; ST at J+60 "
                + ", ".join(f"{ld} {v:+.2f}" for ld, v in st.items()))
        if not st:
            return UNVERIFIABLE, "ST level not measured"
        if ev.has("LBBB") and not found:
            return UNVERIFIABLE, text + "; ST criteria not applied with LBBB"
        return _lead_group_verdict(c, found, text, lambda ld: ld in st and leaning(ld, st[ld]))
    return rule


def _lead_group_verdict(c: Claim, found: set[str], text: str, leaning) -> tuple[str, str]:
    """Lead-group claims: supported when the finding covers at least half of the claimed leads
    (any lead when none are named), contradicted when it covers none and the claimed leads do
    not lean towards it; a negative claim is contradicted by any finding lead it names."""
    claimed = set(c.leads)
    if not c.value:
        hit = (claimed & found) if claimed else found
        return (CONTRADICTED if hit else SUPPORTED), text
    if not claimed:
        if found:
            return SUPPORTED, text
        near = [ld for ld in STANDARD_LEADS if leaning(ld)]
        return (UNVERIFIABLE if near else CONTRADICTED), text + (" (borderline in " + ", ".join(near) + ")" if near else "")
    share = len(claimed & found) / len(claimed)
    if share >= T.LEAD_OVERLAP_SUPPORTED:
        return SUPPORTED, text
    if share > 0:
        return UNVERIFIABLE, text + f" (finding in {len(claimed & found)} of {len(claimed)} claimed leads)"
    near = [ld for ld in claimed if leaning(ld)]
    if len(near) * 2 >= len(claimed):
        return UNVERIFIABLE, text + " (borderline in " + ", ".join(_ordered(near)) + ")"
    return CONTRADICTED, text


def _ordered(leads) -> list[str]:
    return [ld for ld in STANDARD_LEADS if ld in set(leads)]


def _q_rule(c: Claim, ev: Evidence):
    qms = _lead_vals(ev, "q_duration", c.leads or STANDARD_LEADS)
    found = ev.finding_leads("PATHOLOGICAL_Q")
    text = ("finding leads " + (", ".join(_ordered(found)) or "none") + "; Q duration "
            + ", ".join(f"{ld} {v:.0f} ms" for ld, v in qms.items()))
    if not qms:
        return UNVERIFIABLE, "Q waves not measured"
    if ev.has("LBBB") and not found:
        return UNVERIFIABLE, text + "; Q criteria not applied with LBBB"
    q_cut, band = T.BORDERLINE["q_duration"]
    return _lead_group_verdict(c, found, text, lambda ld: qms.get(ld, 0.0) >= q_cut - band)


def _t_inverted_leads(ev: Evidence, leads) -> tuple[dict, list, list]:
    t = _lead_vals(ev, "t_amplitude", leads)
    inverted = [ld for ld, v in t.items() if v <= T.T_INVERTED_MV]
    upright = [ld for ld, v in t.items() if v >= T.T_UPRIGHT_MV]
    return t, inverted, upright


def _t_inversion(c: Claim, ev: Evidence):
    t, inverted, upright = _t_inverted_leads(ev, c.leads or T_UPRIGHT_LEADS)
    text = "T amplitude " + ", ".join(f"{ld} {v:+.2f} mV" for ld, v in t.items())
    if not t:
        return UNVERIFIABLE, "T waves not measured"
    if c.value:
        if not c.leads:
            return (SUPPORTED if inverted else UNVERIFIABLE), text
        if len(inverted) * 2 >= len(t):
            return SUPPORTED, text
        return (CONTRADICTED if not inverted and len(upright) * 2 >= len(t) else UNVERIFIABLE), text
    if inverted:
        return CONTRADICTED, text
    return (SUPPORTED if len(upright) * 2 >= len(t) else UNVERIFIABLE), text


def _st_t(c: Claim, ev: Evidence):
    """ST-T changes / ischaemia: an ST finding or an abnormally inverted T wave."""
    found = ev.finding_leads("ST_ELEVATION", "ST_DEPRESSION")
    _, inverted, _ = _t_inverted_leads(ev, T_UPRIGHT_LEADS if not c.leads else c.leads)
    if not c.leads:
        inverted = [ld for ld in inverted if ld in T_UPRIGHT_LEADS]
    found = found | set(inverted)
    text = "ST finding / inverted T leads: " + (", ".join(_ordered(found)) or "none")
    if not _lead_vals(ev, "st_deviation", STANDARD_LEADS):
        return UNVERIFIABLE, "ST level not measured"
    return _lead_group_verdict(c, found, text, lambda ld: False)


def _st_form(label: str):
    """ST form claims against the per-lead median ST form (the measurement stage's labels)."""
    def rule(c: Claim, ev: Evidence):
        forms = {ld: f for ld in (c.leads or STANDARD_LEADS)
                 if ev.usable(ld) and (f := ((ev.leads.get(ld) or {}).get("median") or {}).get("st_form"))}
        if not forms:
            return UNVERIFIABLE, "ST form not measured"
        text = "ST form " + ", ".join(f"{ld} {f}" for ld, f in forms.items())
        share = sum(f == label for f in forms.values()) / len(forms)
        if c.value:
            return (SUPPORTED if share >= 0.5 else CONTRADICTED if share == 0 else UNVERIFIABLE), text
        return (SUPPORTED if share == 0 else CONTRADICTED if share >= 0.5 else UNVERIFIABLE), text
    return rule


def _mi(c: Claim, ev: Evidence):
    found = ev.finding_leads("PATHOLOGICAL_Q", "ST_ELEVATION")
    text = "Q-wave / ST-elevation finding leads: " + (", ".join(_ordered(found)) or "none")
    if not found and not _lead_vals(ev, "st_deviation", STANDARD_LEADS):
        return UNVERIFIABLE, "Q waves and ST level not measured"
    if ev.has("LBBB") and not found:
        return UNVERIFIABLE, text + "; infarct criteria not applied with LBBB"
    if c.value and c.leads and found and not (set(c.leads) & found):
        return CONTRADICTED, text
    if c.value and c.leads and found:
        return SUPPORTED, text
    return _lead_group_verdict(c, found, text, lambda ld: False)


def _normal_ecg(c: Claim, ev: Evidence):
    abnormal = sorted(ev.codes - {"SINUS_RHYTHM"})
    text = "findings: " + (", ".join(sorted(ev.codes)) or "none")
    if not ev.codes:
        return UNVERIFIABLE, text
    return (SUPPORTED if (not abnormal) == c.value else CONTRADICTED), text


def _unassessed(c: Claim, ev: Evidence):
    return UNVERIFIABLE, f"{c.name} is not assessed by the measurement stage"


_RULES = {
    "SINUS_RHYTHM": _sinus,
    "SINUS_BRADYCARDIA": _sinus_rate("SINUS_BRADYCARDIA", "heart_rate_low", slow=True),
    "SINUS_TACHYCARDIA": _sinus_rate("SINUS_TACHYCARDIA", "heart_rate_high", slow=False),
    "SINUS_ARRHYTHMIA": _sinus_arrhythmia,
    "AF": _af,
    "ATRIAL_FLUTTER": _other_rhythm,
    "JUNCTIONAL_RHYTHM": _other_rhythm,
    "PACED_RHYTHM": _other_rhythm,
    "RHYTHM_REGULAR": _regular,
    "FIRST_DEGREE_AV_BLOCK": _first_degree,
    "AV_BLOCK": _first_degree,
    "HIGHER_DEGREE_AV_BLOCK": _unassessed,
    "WIDE_QRS": _wide_qrs,
    "RBBB": _bbb(("RBBB",)),
    "LBBB": _bbb(("LBBB",)),
    "BUNDLE_BRANCH_BLOCK": _bbb(("RBBB", "LBBB")),
    "INCOMPLETE_RBBB": _unassessed,
    "INCOMPLETE_LBBB": _unassessed,
    "LAFB": _fascicular(left=True),
    "LPFB": _fascicular(left=False),
    "LEFT_AXIS_DEVIATION": _axis_rule("LEFT_AXIS_DEVIATION"),
    "RIGHT_AXIS_DEVIATION": _axis_rule("RIGHT_AXIS_DEVIATION"),
    "NORMAL_AXIS": _axis_rule(None),
    "EXTREME_AXIS": _extreme_axis,
    "LONG_QTC": _long_qtc,
    "LOW_VOLTAGE": _low_voltage,
    "LVH_VOLTAGE": _lvh,
    "NORMAL_VOLTAGE": _normal_voltage,
    "RVH": _unassessed,
    "ATRIAL_ENLARGEMENT": _unassessed,
    "ST_ELEVATION": _st_rule(("ST_ELEVATION",)),
    "ST_DEPRESSION": _st_rule(("ST_DEPRESSION",)),
    "ST_CHANGES": _st_rule(("ST_ELEVATION", "ST_DEPRESSION")),
    "ST_T_CHANGES": _st_t,
    "ISCHAEMIA": _st_t,
    "PATHOLOGICAL_Q": _q_rule,
    "T_INVERSION": _t_inversion,
    "T_FLAT": _unassessed,
    "MYOCARDIAL_INFARCTION": _mi,
    "ST_FORM_HORIZONTAL": _st_form("horizontal"),
    "ST_FORM_UPSLOPING": _st_form("upsloping"),
    "ST_FORM_DOWNSLOPING": _st_form("downsloping"),
    "NORMAL_ECG": _normal_ecg,
}

