"""Parse a report paragraph into claims.

A claim is one checkable statement:
- numeric: a feature (`qrs`, `pr`, `st_deviation`, `r_amplitude`...) with a value in a
  canonical unit (ms, bpm, mV, degrees), an operator and the leads it is about:
  "QRS duration of 0.12 s in V1" -> numeric qrs = 120 ms @ (V1,).
- categorical: a finding code (`RBBB`, `ST_ELEVATION`, `NORMAL_AXIS`...) asserted present
  (value True) or absent (value False): "no ST elevation" -> ST_ELEVATION = False.

How a paragraph is read, in order (each step on one sentence, with character offsets into the
original text kept throughout so that a review page can mark every claim):
1. lead references are found and merged: "V1-V3", "V1 to V3", "leads II, III and aVF",
   "the inferior leads", "inferior" before a finding ("inferior ST elevation"), "RV5";
2. numbers with units ("120 ms", "0.12 s", "120-ms", "1.2 mV", "12 mm", "72 bpm", "-30°"),
   ranges ("600-1000 ms", "between 100 and 110 ms") and qualifiers ("approximately",
   "up to", "less than") are found, and each is bound to the nearest subject whose
   dimension fits ("PR interval" + time -> pr; "P wave" + voltage -> p_amplitude);
3. findings are matched by phrase, with negation ("no", "without", "absence of", "neither ..
   nor", "... is absent") scoped to the clause;
4. leads are attached: the reference right after the value or finding ("in V5"), else an
   adjective right before it ("inferior ST elevation"), else for per-lead features the last
   reference earlier in the same clause ("In V1 the QRS measures 140 ms").
The vocabulary is explicit tables below; anything not in them is not a claim.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from gem_core.leads import LEAD_GROUPS, LIMB_LEADS, PRECORDIAL_LEADS, STANDARD_LEADS

# --- leads ----------------------------------------------------------------------------------
# The four base groups are the ones the measured findings carry, so a claim about "the
# inferior leads" is checked against the same leads a finding names.
INFERIOR, LATERAL, ANTERIOR, SEPTAL = (LEAD_GROUPS[g] for g in ("inferior", "lateral", "anterior", "septal"))

# Lead-group words, longest first.
GROUP_WORDS: list[tuple[str, tuple[str, ...]]] = [
    (r"infero-?lateral", INFERIOR + LATERAL),
    (r"infero-?posterior", INFERIOR),
    (r"antero-?septal", SEPTAL + ANTERIOR),
    (r"antero-?lateral", ANTERIOR + LATERAL),
    (r"high[- ]lateral", ("I", "aVL")),
    (r"(?:low[- ]lateral|lateral precordial|left precordial|left chest)", ("V5", "V6")),
    (r"(?:right precordial|right chest)", ("V1", "V2", "V3")),
    (r"inferior", INFERIOR),
    (r"lateral", LATERAL),
    (r"anterior", ANTERIOR),
    (r"septal", SEPTAL),
    (r"(?:precordial|chest)", PRECORDIAL_LEADS),
    (r"(?:limb|extremity|frontal(?:[- ]plane)?)", LIMB_LEADS),
]
_GROUP_RE = "|".join(f"(?:{w})" for w, _ in GROUP_WORDS)
# A group word is a lead reference when a lead noun or a finding follows it (possibly after
# further group words: "inferior and lateral leads"); "left anterior fascicular block" is not.
_GROUP_TAIL = (r"(?:\s*(?:,|and|/|or)\s*(?:the\s+)?(?:" + _GROUP_RE + r"))*"
               r"(?=[\s-]+(?:leads?|territory|walls?|regions?|distribution|aspects?|"
               r"ST|Q[- ]?waves?|QS|T[- ]?waves?|myocardial|infarct|MI\b|STEMI|NSTEMI|"
               r"isch|injury|necrosis|T-?wave|reciprocal))")
_GROUP_FIND = re.compile(r"(?<![A-Za-z-])(?:the\s+)?(?P<g>" + _GROUP_RE + r")" + _GROUP_TAIL
                         + r"(?:[\s-]+(?:leads?|territory|walls?|regions?|distribution|aspects?))?",
                         re.IGNORECASE)
_NOT_GROUP_BEFORE = re.compile(r"\b(?:left|right)[\s-]*$", re.IGNORECASE)
_NOT_GROUP_AFTER = re.compile(r"^\s*(?:fascicular|hemiblock|descending)", re.IGNORECASE)

_LEAD_ATOM = r"(?:[aA][vV][rRlLfF]|[vV][1-6]|III|II|I)"
# A lead atom: not inside a word, except right after a single R/S/Q/T ("RV5", "SV1").
_LEAD_TOKEN = re.compile(
    r"(?:(?<![A-Za-z0-9'])|(?<=\b[RSQT]))"
    r"(?P<a>" + _LEAD_ATOM + r")"
    r"(?:\s*(?:-|to|through|thru)\s*(?P<b>[vV]?[1-6])(?![0-9]))?"
    r"(?![A-Za-z0-9'])")
# Roman numerals that are not leads: "Mobitz II", "type I", "second-degree ... type II".
_NOT_LEAD_BEFORE = re.compile(r"(?:mobitz|type|class|grade|stage|killip|phase)\s*$", re.IGNORECASE)
_LIST_SEP = re.compile(r"^\s*(?:,|/|&|\+)?\s*(?:and|or|as well as|plus)?\s*(?:in\s+)?(?:the\s+)?"
                       r"(?:leads?\s+)?$", re.IGNORECASE)
_LEAD_PREFIX = re.compile(r"(?:(?:in|at|over|across)\s+)?(?:the\s+)?leads?\s*$", re.IGNORECASE)


def canonical_lead(token: str) -> str:
    t = token.strip()
    if t.upper() in ("I", "II", "III"):
        return t.upper()
    if t.lower().startswith("av"):
        return "aV" + t[2].upper()
    return "V" + t[1]


def sort_leads(leads) -> tuple[str, ...]:
    return tuple(sorted(set(leads), key=STANDARD_LEADS.index))


@dataclass
class LeadRef:
    start: int
    end: int
    leads: tuple[str, ...]
    group: bool = False     # written as a group word ("inferior"), not as lead names


def find_lead_refs(text: str) -> list[LeadRef]:
    """Lead references in a text, adjacent ones merged ("II, III and aVF" is one)."""
    text = text.translate(_NORMALISE)   # one character for one: offsets stay valid
    atoms: list[LeadRef] = []
    for m in _LEAD_TOKEN.finditer(text):
        if _NOT_LEAD_BEFORE.search(text[:m.start()]):
            continue
        a = canonical_lead(m.group("a"))
        leads: tuple[str, ...] = (a,)
        if m.group("b"):
            b_num = int(m.group("b")[-1])
            if not a.startswith("V") or b_num <= int(a[1]):
                continue  # "II-3" or "V4-V2": not a range we understand
            leads = tuple(f"V{k}" for k in range(int(a[1]), b_num + 1))
        atoms.append(LeadRef(m.start(), m.end(), leads))
    for m in _GROUP_FIND.finditer(text):
        if _NOT_GROUP_BEFORE.search(text[:m.start()]) or _NOT_GROUP_AFTER.search(text[m.end():]):
            continue
        if m.group("g").lower() == "septal" and re.match(r"[\s-]*q", text[m.end():], re.I):
            continue  # "septal q waves": normal septal depolarisation, not a lead group
        leads = []
        for g in re.finditer(_GROUP_RE, m.group(0), re.IGNORECASE):
            leads += next(ls for w, ls in GROUP_WORDS if re.fullmatch(w, g.group(0), re.IGNORECASE))
        if any(a.start < m.end() and m.start() < a.end for a in atoms):
            continue
        atoms.append(LeadRef(m.start(), m.end(), sort_leads(leads), group=True))
    atoms.sort(key=lambda r: r.start)
    merged: list[LeadRef] = []
    for ref in atoms:
        # "the inferior leads, anterior ST depression": a reference closed by a lead noun does
        # not absorb the group adjective of the next finding.
        closed = merged and re.search(r"(?:leads?|territory|walls?|regions?|distribution|aspects?)\s*$",
                                      text[merged[-1].start:merged[-1].end], re.IGNORECASE)
        if merged and not closed and _LIST_SEP.match(text[merged[-1].end:ref.start]):
            last = merged[-1]
            merged[-1] = LeadRef(last.start, ref.end, sort_leads(last.leads + ref.leads), last.group and ref.group)
        else:
            merged.append(ref)
    # Extend each reference over a "leads"/"in lead" prefix so the claim text reads whole.
    for ref in merged:
        p = _LEAD_PREFIX.search(text[:ref.start])
        if p and p.group(0).strip():
            ref.start = p.start()
    return merged


# --- numbers --------------------------------------------------------------------------------
# unit pattern -> (dimension, canonical unit, factor to canonical)
_UNITS: list[tuple[str, str, str, float]] = [
    (r"ms|msec|millisec(?:ond)?s?", "time", "ms", 1.0),
    (r"s|sec|secs|seconds?", "time", "ms", 1000.0),
    (r"mV|millivolts?", "voltage", "mV", 1.0),
    (r"mm", "voltage", "mV", 0.1),           # 10 mm/mV standard calibration
    (r"uV|microvolts?", "voltage", "mV", 0.001),
    (r"bpm|beats?\s*(?:per|/)\s*min(?:ute)?|/\s*min|per\s+minute", "rate", "bpm", 1.0),
    (r"°|degrees?|deg", "angle", "deg", 1.0),
]
_UNIT_RE = re.compile(r"\s*-?\s*(?:" + "|".join(f"(?P<u{k}>{p})" for k, (p, *_r) in enumerate(_UNITS))
                      + r")(?![A-Za-z/])", re.IGNORECASE)
_NUM_RE = re.compile(r"(?<![A-Za-z0-9.])(?P<sign>[+-])?(?P<n>\d+(?:\.\d+)?|\.\d+)(?![0-9])")
_RANGE_SEP = re.compile(r"^\s*(?:-|to|and)\s*$", re.IGNORECASE)
_QUALIFIERS = [
    (re.compile(r"(?:approximately|approx\.?|about|around|roughly|nearly|near|~|circa|ca\.)\s*$", re.I), "~"),
    (re.compile(r"(?:up to|peaking at|maximal(?:ly)?|maximum of|max\.?|reaching|as much as)\s*$", re.I), "max"),
    (re.compile(r"(?:<=?|less than|under|below|at most|not exceeding|no more than|shorter than|lower than|within)\s*$", re.I), "<"),
    (re.compile(r"(?:>=?|greater than|more than|over|above|exceeding|at least|longer than|higher than)\s*$", re.I), ">"),
]


@dataclass
class NumberMention:
    start: int
    end: int
    value: float | tuple[float, float]    # canonical unit; a (lo, hi) pair for a range
    dimension: str | None                 # time | voltage | rate | angle | None (unitless)
    unit: str | None
    op: str = "="
    explicit_sign: bool = False


def _unit_at(text: str, pos: int):
    m = _UNIT_RE.match(text, pos)
    if not m:
        return None
    k = next(int(name[1:]) for name, v in m.groupdict().items() if v is not None)
    _, dim, unit, factor = _UNITS[k]
    return m.end(), dim, unit, factor


def find_numbers(text: str) -> list[NumberMention]:
    raw = []
    for m in _NUM_RE.finditer(text):
        sign = m.group("sign")
        start = m.start()
        # "100-110": a dash right after a number is a range, not a minus sign.
        if sign == "-" and re.search(r"(?:\d|°|%|\b(?:ms|mV|mm|bpm|s))\s*$", text[:m.start()]):
            sign, start = None, m.start() + 1
        value = float(m.group("n")) * (-1 if sign == "-" else 1)
        unit = _unit_at(text, m.end())
        if unit is None and re.match(r"[A-Za-z]", text[m.end():m.end() + 1] or " "):
            continue  # "12-lead", "1st", "2nd"
        if re.match(r"\s*(?::|x\b|%|/\d)", text[m.end():]) or re.search(r"\d:\s*$", text[:start]):
            continue  # "2:1", "3x", "70%", "1/3"
        raw.append((start, m.end(), value, unit, sign is not None))
    out: list[NumberMention] = []
    i = 0
    while i < len(raw):
        s, e, v, unit, signed = raw[i]
        # A range: "600-1000 ms", "600 ms to 1000 ms", "between 100 and 110 ms".
        if i + 1 < len(raw):
            s2, e2, v2, unit2, _ = raw[i + 1]
            gap_from = unit[0] if unit else e
            sep = text[gap_from:s2]
            is_and = re.match(r"^\s*and\s*$", sep, re.I) is not None
            if (_RANGE_SEP.match(sep) and unit2 is not None
                    and (unit is None or unit[1] == unit2[1])
                    and (not is_and or re.search(r"between\s*$", text[:s], re.I))
                    and v2 > v):
                f = unit2[3]
                out.append(NumberMention(s, unit2[0], (v * f, v2 * f), unit2[1], unit2[2],
                                         op="range", explicit_sign=signed))
                i += 2
                continue
        if unit:
            out.append(NumberMention(s, unit[0], v * unit[3], unit[1], unit[2], explicit_sign=signed))
        else:
            out.append(NumberMention(s, e, v, None, None, explicit_sign=signed))
        i += 1
    for n in out:
        before = text[max(0, n.start - 30):n.start]
        before = re.sub(r"^.*\bbetween\s*$", "", before)
        for pat, op in _QUALIFIERS:
            if pat.search(before):
                if n.op != "range":
                    n.op = op
                break
        after = re.match(r"\s*or (?:(?P<lt>less|lower|below|under|shorter)|(?P<gt>more|greater|above|higher|longer))\b",
                         text[n.end:])
        if after and n.op != "range":
            n.op = "<" if after.group("lt") else ">"
            n.end += after.end()
    return out


# Machine-statement notations that pair several values with several subjects.
_SLASH_PAIR = re.compile(r"\b(?P<a>QTc?|PR|QRS|RR)\s*/\s*(?P<b>QTc?[BF]?|PR|QRS|RR)(?:[- ]intervals?)?\s*(?:of|:|=|is)?\s*"
                         r"(?P<x>\d+(?:\.\d+)?)\s*/\s*(?P<y>\d+(?:\.\d+)?)\s*(?P<u>ms|msec|s|sec)\b", re.IGNORECASE)
_AXES_TRIPLE = re.compile(r"\bP-?R-?T axes\s*:?\s*(?P<p>[+-]?\d+)\s+(?P<r>[+-]?\d+)\s+(?P<t>[+-]?\d+)", re.IGNORECASE)
_PAIR_FEATURE = {"qt": "qt", "qtc": "qtc", "qtcb": "qtc", "qtcf": "qtc", "pr": "pr", "qrs": "qrs", "rr": "rr"}


def _notation_claims(masked: str) -> list[tuple[int, int, str, float, str]]:
    """(start, end, feature, value, unit) from "QT/QTc 400/410 ms" and "P-R-T axes 48 35 41"."""
    out = []
    for m in _SLASH_PAIR.finditer(masked):
        factor = 1000.0 if m.group("u").lower().startswith("s") else 1.0
        out.append((m.start(), m.end(), _PAIR_FEATURE[m.group("a").lower()], float(m.group("x")) * factor, "ms"))
        out.append((m.start(), m.end(), _PAIR_FEATURE[m.group("b").lower()], float(m.group("y")) * factor, "ms"))
    for m in _AXES_TRIPLE.finditer(masked):
        for g, feature in (("p", "p_axis"), ("r", "qrs_axis"), ("t", "t_axis")):
            out.append((m.start(), m.end(), feature, float(m.group(g)), "deg"))
    return out


# --- subjects: what a number is about --------------------------------------------------------
# (subject, pattern, {dimension: feature}). Patterns run on the sentence with lead references
# masked, longest alternatives first.
_W = r"[- ]?waves?"
SUBJECTS: list[tuple[str, str, dict[str, str]]] = [
    ("atrial_rate", r"atrial rates?", {"rate": "atrial_rate"}),
    ("heart_rate", r"\b(?:mean |average |ventricular |heart |sinus |overall )?rates?\b|\bHR\b|\bventricular response|\bpulse\b|"
                   r"\bsinus (?:rhythm|bradycardia|tachycardia)\b|\bSR\b",
     {"rate": "heart_rate"}),
    ("rr_sd", r"\bstandard deviation|\bSD\b|\bvariability", {"time": "rr_sd"}),
    ("rr", r"\bR-?R(?:[- ]intervals?)?|cycle lengths?|inter-?beat intervals?", {"time": "rr"}),
    ("pr", r"\bP-?R(?:[- ](?:intervals?|durations?))?\b|\bP-?Q(?:[- ]intervals?)?\b", {"time": "pr"}),
    ("p_axis", r"\bP(?:" + _W + r")? axis", {"angle": "p_axis"}),
    ("t_axis", r"\bT(?:" + _W + r")? axis", {"angle": "t_axis"}),
    ("qrs_axis", r"(?:\bQRS |\bfrontal(?:[- ]plane)? |\belectrical |\bmean (?:QRS |frontal )?|\bcardiac )?\baxis\b",
     {"angle": "qrs_axis"}),
    ("qtc", r"\bQTc[BF]?\b|\bQT-?c\b|(?:rate-)?corrected QT(?:[- ]intervals?)?|QT(?:[- ]interval)? corrected",
     {"time": "qtc"}),
    ("qt", r"\bQT(?:[- ]intervals?)?\b", {"time": "qt"}),
    ("sokolow", r"Sokolow(?:[- ]Lyon)?(?:\s+(?:index|voltage|criteri(?:on|a)|sum|value))?", {"voltage": "sokolow_lyon"}),
    ("st_elev", r"\bST[- ]?(?:segment[- ])?elevations?|\bST(?:[- ]segments?)? (?:is |are )?elevated|"
                r"elevat(?:ed|ion of) (?:the )?ST(?:[- ]segments?)?", {"voltage": "st_deviation+"}),
    ("st_dep", r"\bST[- ]?(?:segment[- ])?depressions?|\bST(?:[- ]segments?)? (?:is |are )?depressed|"
               r"depress(?:ed|ion of) (?:the )?ST(?:[- ]segments?)?|reciprocal depressions?",
     {"voltage": "st_deviation-"}),
    ("st", r"\bST[- ]?(?:segments?|deviations?|levels?|shifts?)|\bST\b(?!-?T)",
     {"voltage": "st_deviation", "time": "st_duration"}),
    ("qrs", r"\bQRS(?:[- ](?:complex(?:es)?|durations?|widths?|intervals?|amplitudes?|voltages?))?",
     {"time": "qrs", "voltage": "qrs_amplitude"}),
    ("p", r"\bP" + _W + r"\b|\bP(?= (?:duration|amplitude))", {"time": "p_duration", "voltage": "p_amplitude"}),
    ("q", r"\bQ" + _W + r"\b|\bQS\b", {"voltage": "q_amplitude", "time": "q_duration"}),
    ("r", r"\bR" + _W + r"\b|\bR(?= (?:amplitude|peak|height))|\bR(?=¤)", {"voltage": "r_amplitude"}),
    ("s", r"\bS" + _W + r"\b|\bS(?= (?:amplitude|depth))|\bS(?=¤)", {"voltage": "s_amplitude"}),
    ("t", r"\bT" + _W + r"\b|\bT(?= (?:amplitude|duration))|\bT(?=¤)", {"voltage": "t_amplitude", "time": "t_duration"}),
]
_SUBJECT_RE = re.compile("|".join(f"(?P<s{k}>{p})" for k, (_, p, _m) in enumerate(SUBJECTS)), re.IGNORECASE)
_SOKOLOW_SUM = re.compile(r"\bS\s?V1\s?\+\s?R\s?V[56](?:\s?(?:/|or)\s?(?:R\s?)?V?[56])?", re.IGNORECASE)

# Features that describe the whole ECG: they take a lead only when one follows ("PR 160 ms in
# lead II"), never one mentioned earlier in the clause.
GLOBAL_FEATURES = frozenset({"heart_rate", "atrial_rate", "rr", "rr_sd", "pr", "qt", "qtc",
                             "p_axis", "qrs_axis", "t_axis", "sokolow_lyon"})
UNITLESS_OK = {"heart_rate": "bpm", "qrs_axis": "deg", "p_axis": "deg", "t_axis": "deg"}


@dataclass
class Subject:
    start: int
    end: int
    name: str
    features: dict[str, str]


def find_subjects(masked: str) -> list[Subject]:
    out = []
    for m in _SUBJECT_RE.finditer(masked):
        k = next(int(n[1:]) for n, v in m.groupdict().items() if v is not None)
        name, _, feats = SUBJECTS[k]
        out.append(Subject(m.start(), m.end(), name, feats))
    for m in _SOKOLOW_SUM.finditer(masked):
        out.append(Subject(m.start(), m.end(), "sokolow", {"voltage": "sokolow_lyon"}))
    return sorted(out, key=lambda s: s.start)


# --- findings -----------------------------------------------------------------------------
_QRSX = r"QRS(?:[- ](?:complex(?:es)?|durations?|widths?))?"
_PRX = r"P-?R(?:[- ]intervals?)?"
_QTX = r"QTc?(?:[- ]intervals?)?"
_STX = r"ST[- ]?(?:segments?[- ]?)?"
_TX = r"T[- ]?waves?"
_AVB = r"(?:AV |A-V |atrioventricular |heart )?(?:conduction )?block"
_COP = (r"(?:(?:is|are|was|were|remains?|appears?|seems?)\s+)?(?:not\s+)?"
        r"(?:(?:markedly|significantly|mildly|slightly|moderately|severely|clearly|minimally)\s+)?")
# An interval named with its value before the verdict: "QRS duration of 86 ms is within normal limits".
_VAL = r"(?: (?:of|at|is|measuring|was) (?:approximately |about )?[\d.]+\s?(?:ms|msec|s|sec)\b,?)?"
# (names, value when not negated, pattern). Order matters only among patterns that start at the
# same place: the longest alternative is listed first.
FINDINGS: list[tuple[tuple[str, ...], bool, str]] = [
    (("SINUS_BRADYCARDIA",), True, r"sinus bradycardia"),
    (("SINUS_TACHYCARDIA",), True, r"sinus tachycardia"),
    (("SINUS_ARRHYTHMIA",), True, r"sinus arrhythmia"),
    (("SINUS_RHYTHM",), True, r"(?:normal )?sinus rhythm|\bN?SR\b|rhythm is sinus(?! bradycardia| tachycardia| arrhythmia)|sinus mechanism|sinus origin"),
    (("AF",), True, r"atrial fibrillation|\bAF\b|\bA-?fib\b|fibrillatory (?:waves|baseline|activity)"),
    (("ATRIAL_FLUTTER",), True, r"atrial flutter|flutter waves|\bflutter\b"),
    (("JUNCTIONAL_RHYTHM",), True, r"junctional rhythm"),
    (("PACED_RHYTHM",), True, r"(?:ventricular |atrial |dual-chamber )?paced rhythm|pacemaker rhythm"),
    (("RHYTHM_REGULAR",), False, r"irregularly irregular|irregular(?:ly)?|variable R-?R"),
    (("RHYTHM_REGULAR",), True, r"\bregular(?:ly)?\b|\bR-?R(?:[- ]intervals?)? (?:are |is |remain )?(?:constant|consistent|stable|uniform|equal|steady)"),
    (("FIRST_DEGREE_AV_BLOCK",), True,
     r"(?:first|1st)[- ]degree " + _AVB + r"|1°\s?AV ?B|\bI-?AVB\b|\b1dAVb\b|(?:prolonged|long|lengthened) " + _PRX
     + r"|" + _PRX + r" " + _COP + r"(?:prolonged|lengthened)|" + _PRX + r" prolongation"),
    (("FIRST_DEGREE_AV_BLOCK",), False,
     r"(?:normal|unremarkable) " + _PRX + r"|" + _PRX + _VAL + r" " + _COP + r"(?:normal|within normal limits)"),
    (("HIGHER_DEGREE_AV_BLOCK",), True,
     r"(?:Mobitz(?: type)? (?:I|II|1|2) )?(?:second|2nd|third|3rd|higher)[- ]degree " + _AVB + r"|Mobitz(?: type)? (?:I|II|1|2)\b|Wenckebach|"
     r"complete heart block|(?:complete|high-grade) AV block"),
    (("AV_BLOCK",), True, r"\b(?:AV|A-V|atrioventricular) (?:conduction )?block|\bheart block|\bAVB\b"),
    (("AV_BLOCK",), False, r"normal (?:AV|A-V|atrioventricular) conduction|(?:AV|A-V|atrioventricular) conduction is normal"),
    (("INCOMPLETE_RBBB",), True, r"incomplete right bundle[- ]branch block|\bI-?RBBB\b|incomplete RBBB|partial RBBB"),
    (("INCOMPLETE_LBBB",), True, r"incomplete left bundle[- ]branch block|\bI-?LBBB\b|incomplete LBBB"),
    (("RBBB",), True, r"(?:complete )?right bundle[- ]branch block|\bC?RBBB\b"),
    (("LBBB",), True, r"(?:complete )?left bundle[- ]branch block|\bC?LBBB\b"),
    (("LAFB",), True, r"left anterior (?:fascicular block|hemiblock)|\bLAFB\b|\bLAHB\b"),
    (("LPFB",), True, r"left posterior (?:fascicular block|hemiblock)|\bLPFB\b|\bLPHB\b"),
    (("BUNDLE_BRANCH_BLOCK",), True, r"bundle[- ]branch blocks?|\bBBB\b"),
    (("WIDE_QRS",), True, r"(?:non-?specific )?intraventricular conduction (?:delay|defect|disturbance)|\bIVCD\b|"
     r"(?:wide|broad|widened|prolonged) " + _QRSX + r"|" + _QRSX + r" " + _COP + r"(?:wide|broad|widened|prolonged)|"
     r"QRS (?:widening|prolongation)"),
    (("WIDE_QRS",), False, r"narrow " + _QRSX + r"|" + _QRSX + _VAL + r" " + _COP + r"(?:narrow|normal|within normal limits)|"
     r"normal QRS (?:durations?|widths?)|"
     r"normal intraventricular conduction"),
    (("EXTREME_AXIS",), True, r"extreme (?:right |left )?axis(?: deviation)?|north-?west axis|indeterminate axis"),
    (("LEFT_AXIS_DEVIATION",), True, r"left(?:ward)? (?:QRS |frontal |electrical )?axis(?: deviation)?|"
     r"axis (?:is )?(?:deviated |shifted )?to the left"),
    (("RIGHT_AXIS_DEVIATION",), True, r"right(?:ward)? (?:QRS |frontal |electrical )?axis(?: deviation)?|\bRAD\b|"
     r"axis (?:is )?(?:deviated |shifted )?to the right"),
    (("NORMAL_AXIS",), True, r"normal (?:QRS |frontal(?:[- ]plane)? |electrical |cardiac )?axis|"
     r"axis(?: (?:is|of|at|lies at))?(?: (?:approximately|about|around))?(?: [+-]?\d+(?:\.\d+)?\s*(?:°|degrees?)?)?,?"
     r" (?:which is |that is |is )?(?:normal|within normal limits|within the normal range|in the normal range)"),
    (("LONG_QTC",), True, r"(?:prolonged|long|lengthened) " + _QTX + r"|" + _QTX + r" " + _COP + r"(?:prolonged|lengthened)|"
     r"QTc? prolongation"),
    (("LONG_QTC",), False, r"normal " + _QTX + r"|" + _QTX + _VAL + r" " + _COP + r"(?:normal|within normal limits)"),
    (("NORMAL_VOLTAGE",), True, r"normal (?:QRS )?voltages?|QRS voltages? " + _COP + r"normal"),
    (("LOW_VOLTAGE",), True, r"low[- ](?:QRS[- ])?voltages?(?: QRS(?: complex(?:es)?)?)?|low[- ]amplitude QRS|(?:reduced|diminished|decreased) "
     r"(?:QRS )?(?:voltages?|amplitudes?)|QRS (?:voltages?|amplitudes?) " + _COP + r"(?:low|reduced|diminished)"),
    (("LVH_VOLTAGE",), True, r"voltage criteria for (?:left ventricular hypertrophy|LVH)|left ventricular hypertrophy|\bLVH\b|"
     r"(?:increased|high|prominent) (?:QRS )?voltages?"),
    (("RVH",), True, r"right ventricular hypertrophy|\bRVH\b"),
    (("ATRIAL_ENLARGEMENT",), True, r"(?:left|right|bi) ?atrial (?:enlargement|abnormality)|P mitrale|P pulmonale"),
    (("ST_ELEVATION", "MYOCARDIAL_INFARCTION"), True, r"ST[- ]elevation myocardial infarction|\bSTEMI\b"),
    (("ST_ELEVATION", "ST_DEPRESSION"), True, r"\bST[- ]?(?:segment[- ])?(?:elevation|depression)s?\s*(?:or|and|/|nor)\s*(?:elevation|depression)s?"),
    (("ST_ELEVATION",), True, r"\b" + _STX + r"elevations?|\bSTE\b|\bST(?:[- ]segments?)? " + _COP + r"elevated|"
     r"elevat(?:ed|ion of) (?:the )?ST(?:[- ]segments?)?"),
    (("ST_DEPRESSION",), True, r"(?:horizontal |downsloping |upsloping )?\b" + _STX + r"depressions?|\bST(?:[- ]segments?)? "
     + _COP + r"depressed|depress(?:ed|ion of) (?:the )?ST(?:[- ]segments?)?|reciprocal (?:" + _STX + r")?depressions?"),
    (("ST_T_CHANGES",), True, r"\bST[- ]?T(?:[- ]wave)? (?:changes?|abnormalit(?:y|ies))|repolari[sz]ation abnormalit(?:y|ies)"),
    # ST form, one of GEM's 14 per-beat features: "horizontal ST segments", "the ST segments
    # are upsloping", "ST segments with a downsloping form".
    *[((f"ST_FORM_{label.upper()}",), True,
       rf"(?:{words}) ST[- ]segments?|\bST[- ]segments? " + _COP + rf"(?:{words})|\bST[- ]segments? "
       rf"(?:show |have |has |with )?(?:an? )?(?:{words}) (?:form|morphology|shape|course|contour)")
      for label, words in (("horizontal", r"horizontal"), ("upsloping", r"up-?sloping|upslope"),
                           ("downsloping", r"down-?sloping|declining|downslope"))],
    (("ST_CHANGES",), True, r"\b" + _STX + r"(?:changes?|abnormalit(?:y|ies)|deviations?|shifts?)"),
    (("ST_CHANGES",), False, r"\bST(?:[- ]segments?)? " + _COP + r"(?:isoelectric|at (?:the )?baseline|normal)|isoelectric ST(?:[- ]segments?)?"),
    (("ISCHAEMIA",), True, r"isch(?:a)?emi(?:a|c(?: changes?)?)"),
    (("PATHOLOGICAL_Q",), True, r"(?:pathologic(?:al)?|significant|abnormal|deep|wide|broad|prominent|infarct) Q[- ]?waves?|"
     r"\bQ[- ]?waves?|\bQS (?:complexes|waves|patterns?)"),
    (("T_INVERSION",), True, r"(?:deep(?:ly)? )?" + r"\bT[- ]?wave inversions?|(?:deep(?:ly)? )?inverted " + _TX + r"|\b" + _TX
     + r" " + _COP + r"inverted|negative " + _TX + r"|T[- ]?wave negativity"),
    (("T_INVERSION",), False, r"upright " + _TX + r"|\b" + _TX + r" " + _COP + r"(?:upright|positive)|positive " + _TX),
    (("T_FLAT",), True, r"flat(?:tened)? " + _TX + r"|T[- ]?wave flattening|\b" + _TX + r" " + _COP + r"(?:flat|flattened)"),
    (("MYOCARDIAL_INFARCTION",), True, r"(?:acute |old |prior |previous |recent |age[- ]undetermined |evolving )?"
     r"(?:myocardial )?infarct(?:ion)?s?|\bMI\b|\bNSTEMI\b"),
    (("NORMAL_ECG",), True, r"normal (?:12-lead )?(?:ECG|EKG|electrocardiogram|tracing)|(?:ECG|EKG|electrocardiogram|tracing)"
     r" (?:is )?(?:within normal limits|normal)|\bno (?:significant |acute )?abnormalit(?:y|ies)"),
    (("NORMAL_ECG",), False, r"abnormal (?:12-lead )?(?:ECG|EKG|electrocardiogram|tracing)|(?:ECG|EKG|electrocardiogram|tracing)"
     r" (?:is )?abnormal"),
]
_FINDING_RE = re.compile("|".join(f"(?P<f{k}>{p})" for k, (_, _, p) in enumerate(FINDINGS)), re.IGNORECASE)
# Findings whose claims carry leads.
LEAD_BOUND = frozenset({"ST_ELEVATION", "ST_DEPRESSION", "ST_CHANGES", "ST_T_CHANGES", "ISCHAEMIA",
                        "PATHOLOGICAL_Q", "T_INVERSION", "T_FLAT", "MYOCARDIAL_INFARCTION", "LOW_VOLTAGE",
                        "ST_FORM_HORIZONTAL", "ST_FORM_UPSLOPING", "ST_FORM_DOWNSLOPING"})
# Phrases that look like findings but are not claims ("small septal q waves" are normal;
# "otherwise normal ECG" describes nothing checkable on its own).
_SKIP_BEFORE = re.compile(r"(?:small|septal|physiological|physiologic|tiny|narrow|normal|otherwise|no other|"
                          r"insignificant|non-?pathological)\s+$", re.IGNORECASE)

# Negation: a cue earlier in the same clause, or an "is absent" after the finding.
_NEG_CUE = re.compile(r"\b(?:no|not|without|absence of|negative for|free of|neither|nor|none|lacks?|lacking|"
                      r"rather than|instead of)\b", re.IGNORECASE)
_NEG_AFTER = re.compile(r"^\s*(?:(?:is|are|was|were)\s+)?(?:absent|not (?:seen|present|observed|identified|evident|noted|met)"
                        r"|ruled out|excluded)\b", re.IGNORECASE)
# Where a clause ends for "a lead mentioned earlier in the clause".
_LEAD_BREAK = re.compile(r"[;:]|\b(?:but|however|whereas|while|although|though|yet)\b|,\s*which\b", re.IGNORECASE)
# Negation also stops at "with" ("no Q waves, with a narrow QRS") and at a new clause
# ("no ST elevation, and the QRS is narrow").
_CLAUSE_BREAK = re.compile(_LEAD_BREAK.pattern + r"|\bwith\b|"
                           r"(?:,\s*|\s)and\s+(?=(?:the|there|a|an|it|this|these|that|its|which)\b)", re.IGNORECASE)
_COPULA = re.compile(r"\b(?:is|are|was|were|remains?|appears?|seems?)\b", re.IGNORECASE)


@dataclass
class Claim:
    kind: str                     # "numeric" | "categorical"
    name: str                     # feature (numeric) or finding code (categorical)
    value: float | list | bool    # canonical unit; [lo, hi] for a range; True/False for a finding
    leads: tuple[str, ...] = ()
    op: str = "="                 # numeric: "=", "~", "<", ">", "max", "range"
    unit: str | None = None       # ms | bpm | mV | deg
    text: str = ""
    span: tuple[int, int] = (0, 0)
    method: str | None = None     # QTc correction named in the text ("bazett" | "fridericia")

    def to_dict(self) -> dict:
        return {"text": self.text, "kind": self.kind, "name": self.name, "value": self.value,
                "op": self.op, "unit": self.unit, "leads": list(self.leads),
                "span": list(self.span), "method": self.method}

    def key(self) -> tuple:
        """Identity used to compare claims (corpus tests, de-duplication)."""
        v = self.value
        if self.kind == "numeric":
            v = tuple(round(x, 3) for x in v) if isinstance(v, (list, tuple)) else round(v, 3)
        op = "=" if self.op == "~" else self.op
        leads = frozenset(self.leads) if (self.kind == "numeric" or self.name in LEAD_BOUND) else frozenset()
        return (self.kind, self.name, v, op, leads)


# --- sentences --------------------------------------------------------------------------------
_SENT_END = re.compile(r"(?<=[.!?;])\s+(?=[A-Z(\"'])|\n\s*\n")


def split_sentences(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in _SENT_END.finditer(text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]


_NORMALISE = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2011": "-", "\u2010": "-",
                            "\u2019": "'", "\u2018": "'", "\u00a0": " ", "\u2264": "<", "\u2265": ">",
                            "\u00b5": "u", "\u03bc": "u", "\u2248": "~", "\u00ba": "°"})


def _mask(text: str, spans) -> str:
    chars = list(text)
    for s, e in spans:
        chars[s:e] = "¤" * (e - s)
    return "".join(chars)


def _clause_start(text: str, pos: int, breaks=_CLAUSE_BREAK) -> int:
    start = 0
    for m in breaks.finditer(text, 0, pos):
        if m.end() <= pos:
            start = m.end()
    return start


# Words allowed between a value or finding and the lead reference that follows it.
_GAP_WORDS = {"in", "at", "on", "over", "across", "involving", "throughout", "of", "the", "lead", "leads",
              "is", "are", "was", "were", "seen", "noted", "present", "evident", "visible", "observed",
              "most", "marked", "prominent", "mainly", "predominantly", "especially", "also", "measuring",
              "measured", "recorded", "from", "within", "for", "deep", "tall", "high", "wide", "long", "broad",
              "depth", "amplitude", "duration", "height", "width", "negative", "positive"}
_GAP_LIST_WORDS = {"and", "or", ","}


def _gap_ok(gap: str, allow_list: bool) -> bool:
    for w in re.findall(r"[A-Za-z]+|,|¤+|\S", gap):
        wl = w.lower()
        if wl in _GAP_WORDS or wl == "with" or w.startswith("¤") or w in ("(", ")"):
            continue
        if allow_list and (wl in _GAP_LIST_WORDS or re.fullmatch(r"[a-z]{3,}(?:ing|ed)", wl)):
            continue  # "Q waves are emerging in III", "ST depression and T inversion in V5"
        return False
    return True


def _number_gap_mask(sentence: str, numbers: list[NumberMention]) -> str:
    """The sentence with numbers (and their qualifiers) blanked, for gap checks."""
    out = _mask(sentence, [(n.start, n.end) for n in numbers])
    return re.sub(r"\b(?:up to|approximately|about|around|reaching|of)\b", lambda m: "¤" * len(m.group(0)), out)


def parse_claims(text: str) -> list[Claim]:
    """Every claim in a report paragraph, in text order."""
    norm = text.translate(_NORMALISE)
    claims: list[Claim] = []
    for s0, s1 in split_sentences(norm):
        claims += _parse_sentence(norm[s0:s1], s0, text)
    return claims


def _parse_sentence(sent: str, offset: int, original: str) -> list[Claim]:
    sokolow = [(m.start(), m.end()) for m in _SOKOLOW_SUM.finditer(sent)]
    refs = find_lead_refs(_mask(sent, sokolow).replace("¤", " "))   # "SV1 + RV5" names no leads
    masked = _mask(sent, [(r.start, r.end) for r in refs])
    numbers = find_numbers(masked)
    subjects = find_subjects(masked)
    findings = _find_findings(masked)
    # Findings are masked for gap checks, except those with their own verb ("T waves are
    # upright"): a lead after such a phrase belongs to it, not to a finding before it.
    gapmask = _number_gap_mask(_mask(masked, [(f[0], f[1]) for f in findings
                                              if not _COPULA.search(masked[f[0]:f[1]])]), numbers)
    owned: set[int] = set()          # starts of references a number took as "in <leads>"
    used_subjects: set[int] = set()  # starts of subjects a number was bound to
    out: list[Claim] = []

    def make(kind, name, value, leads, op, unit, lo, hi, method=None):
        lo, hi = max(0, lo), min(len(sent), hi)
        out.append(Claim(kind, name, value, sort_leads(leads), op, unit,
                         original[offset + lo:offset + hi].strip(), (offset + lo, offset + hi), method))

    notations = _notation_claims(masked)
    for lo, hi, feature, value, unit in notations:
        make("numeric", feature, value, (), "=", unit, lo, hi,
             _qtc_method(masked, lo, hi) if feature == "qtc" else None)
    numbers = [n for n in numbers if not any(lo <= n.start < hi for lo, hi, *_ in notations)]

    # Numeric claims.
    for n in numbers:
        subj = _bind_subject(masked, n, subjects)
        if subj is None:
            continue
        feature = subj.features.get(n.dimension) if n.dimension else None
        if n.dimension is None:
            feature = next((f for f in subj.features.values() if f in UNITLESS_OK), None)
            gap = masked[subj.end:n.start]
            if feature is None or not re.fullmatch(r"\s*(?:of|is|at|was|were|=|:|around|approximately|about|"
                                                   r"measures|measuring|measured at|\s)*\s*", gap, re.I):
                continue
            unit = UNITLESS_OK[feature]
        else:
            unit = n.unit
        if feature is None:
            continue
        value, op = n.value, n.op
        if op == ">" and _NEG_CUE.search(masked[_clause_start(masked, n.start):n.start]):
            op = "<"  # "no ST deviation exceeding 0.5 mm"
        if feature.startswith("st_deviation") and feature[-1] in "+-":
            sign = 1.0 if feature[-1] == "+" else -1.0
            feature = "st_deviation"
            if not n.explicit_sign:
                value = [sign * abs(v) for v in value] if isinstance(value, tuple) else sign * abs(value)
                if isinstance(value, list) and value[0] > value[1]:
                    value = value[::-1]
        value = list(value) if isinstance(value, tuple) else value
        leads, lead_span = _leads_for(feature, n.start, n.end, refs, gapmask, masked, allow_list=False,
                                      earlier=feature not in GLOBAL_FEATURES,
                                      stops=[m.start for m in numbers if m.start > n.start])
        if lead_span and lead_span[0] >= n.end:
            owned.add(lead_span[0])
        used_subjects.add(subj.start)
        method = _qtc_method(masked, subj.start, subj.end) if feature == "qtc" else None
        lo = min(n.start, subj.start, *(lead_span or (n.start,)))
        hi = max(n.end, subj.end, *(lead_span or (n.end,)))
        make("numeric", feature, value, leads, op, unit, lo, hi, method)

    # Categorical claims.
    for f_start, f_end, names, value in findings:
        negated = _negated(masked, f_start, f_end)
        v = (not value) if negated else value
        if v and names == ("ST_CHANGES",) and any(f_start <= u < f_end for u in used_subjects):
            continue  # "ST deviation is 0.05 mV or less": a measured quantity, not a finding
        for name in names:
            leads, lead_span = ((), None)
            if name in LEAD_BOUND:
                leads, lead_span = _leads_for(name, f_start, f_end, refs, gapmask, masked, allow_list=True,
                                              earlier=True, adjective=True, owned=owned)
            lo = min(f_start, *(lead_span or (f_start,)))
            hi = max(f_end, *(lead_span or (f_end,)))
            make("categorical", name, v, leads, "=", None, lo, hi)
    out.sort(key=lambda c: c.span)
    return out


def _find_findings(masked: str) -> list[tuple[int, int, tuple[str, ...], bool]]:
    found = []
    for m in _FINDING_RE.finditer(masked):
        k = next(int(n[1:]) for n, v in m.groupdict().items() if v is not None)
        names, value, _ = FINDINGS[k]
        if _SKIP_BEFORE.search(masked[:m.start()]) and names[0] in ("PATHOLOGICAL_Q", "NORMAL_ECG"):
            continue
        found.append((m.start(), m.end(), names, value))
    return found


def _bind_subject(masked: str, n: NumberMention, subjects: list[Subject]) -> Subject | None:
    """The subject a number is about: one right after it ("2 mm ST elevation"), else the
    nearest one before it in the sentence whose dimension fits."""
    def fits(s: Subject) -> bool:
        return (n.dimension in s.features) if n.dimension else any(f in UNITLESS_OK for f in s.features.values())

    if n.dimension is not None:
        for s in subjects:
            if s.start >= n.end:
                if _FORWARD_GAP.fullmatch(masked[n.end:s.start]) and fits(s):
                    return s
                break
    before = [s for s in subjects if s.end <= n.start and fits(s)]
    if before:
        return before[-1]
    # A rate or an angle names its own subject ("at 72 bpm"; "+60 degrees").
    implied = {"rate": "heart_rate", "angle": "qrs_axis"}.get(n.dimension or "")
    if implied:
        feats = next(f for name, _, f in SUBJECTS if name == implied)
        return Subject(n.start, n.start, implied, feats)
    return None


# Between a value and a subject named after it: "2 mm ST elevation", "0.2 mV of horizontal ST depression".
_FORWARD_GAP = re.compile(r"[\s-]*(?:of\s+)?(?:the\s+)?(?:(?:horizontal|downsloping|upsloping|down-sloping|up-sloping|"
                          r"convex|concave|coved|significant|marked|mild|reciprocal|maximal|maximum|total|deep|tall)\s+)*",
                          re.IGNORECASE)


def _leads_for(name, start, end, refs, gapmask, masked, allow_list, earlier, adjective=False, owned=frozenset(),
               stops=()):
    """The lead reference a value or finding is about, and its span."""
    clause_end = len(masked)
    m = _LEAD_BREAK.search(masked, end)
    if m:
        clause_end = m.start()
    # 1. an adjective right before a finding: "inferior ST elevation", "infero-lateral MI".
    if adjective:
        for r in refs:
            if r.group and r.end <= start and start - r.end <= 20 and re.fullmatch(
                    r"[\s-]*(?:(?:and|or|,)\s*)?(?:[a-z]+[\s-]+)?", masked[r.end:start], re.I) \
                    and not re.match(r"\s*(?:lead|leads)\b|\s*,", masked[r.end:start]):
                return r.leads, (r.start, r.end)
    # 2. right after it: "in V5", "of 2 mm in II, III and aVF".
    for r in refs:
        if r.start >= end:
            # Another value in between owns the reference ("108 ms (60 ms in aVR)").
            if r.start <= clause_end and _gap_ok(gapmask[end:r.start], allow_list) \
                    and not any(end <= s < r.start for s in stops):
                return r.leads, (r.start, r.end)
            break
    # 3. the last reference earlier in the clause: "In V1 the QRS measures 140 ms".
    if earlier:
        cs = _clause_start(masked, start, _LEAD_BREAK)
        before = [r for r in refs if cs <= r.start and r.end <= start]
        # A reference a value already took ("0.6 mV in V3, without ST elevation") is that value's.
        if before and before[-1].start not in owned:
            r = before[-1]
            return r.leads, (r.start, r.end)
    return (), None


def _negated(masked: str, start: int, end: int) -> bool:
    if _NEG_AFTER.match(masked[end:]):
        return True
    if _COPULA.search(masked[start:end]):
        # "the QRS is not widened": a phrase with its own verb carries its own negation.
        return re.search(r"\bnot\b", masked[start:end], re.IGNORECASE) is not None
    cs = _clause_start(masked, start)
    return _NEG_CUE.search(masked[cs:start]) is not None


def _qtc_method(masked: str, start: int, end: int) -> str | None:
    """The QTc correction a value is given with: a "QTcB"/"QTcF" subject, else the nearest
    "Bazett"/"Fridericia" in the sentence."""
    own = masked[start:end]
    if re.search(r"QTcB\b", own, re.I):
        return "bazett"
    if re.search(r"QTcF\b", own, re.I):
        return "fridericia"
    named = [(min(abs(m.start() - start), abs(m.start() - end)), m.group(0).lower())
             for m in re.finditer(r"bazett|fridericia", masked, re.I)]
    return min(named)[1] if named else None
