"""Knowledge-guided grounding data: GEM-style interpretation paragraphs written from the
Measurements dict (and clinician labels or report text when there are any), and training
items in the ECG-Grounding layout.

GEM's 30k grounded examples were written by GPT-4o from a clinician report plus machine
measurements. Here the same kind of paragraph is written offline from templates:
rhythm and rate with RR evidence, P/PR, axis, conduction with per-lead QRS durations, voltage,
QT/QTc, ischaemia evidence by lead (ST, Q, T), then a conclusion. Wording, units, lead
notation, the per-lead evidence chosen and the order of the middle sentences vary with a
seeded random generator, so a model trained on it sees many phrasings of the same facts.

Grounded by construction: every sentence only states measured values and reported findings,
and is checked with the verifier before it is kept. A sentence that does not verify fully
supported is replaced by another template of its slot or dropped, and recorded in
`KnowledgeParagraph.dropped` (tests require that list to stay empty: the templates and the
parser agree without the safety net).

Clinician diagnoses take precedence: they are named in the conclusion (and decide the rhythm
named), measured findings that conflict with them (another rhythm, the other bundle branch,
the other axis deviation) are left out, and the verifier is given the same labels.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from gem_core.grounding.claims import ANTERIOR, INFERIOR, LATERAL, SEPTAL, parse_claims, sort_leads
from gem_core.grounding.verify import (SINUS, SUPPORTED, T_UPRIGHT_LEADS, Evidence, Verdict, normalise_labels,
                                       verify_report)
from gem_core.leads import LIMB_LEADS, PRECORDIAL_LEADS, STANDARD_LEADS
from gem_core.model.prompt import GROUNDING_QUESTION, IMAGE_PLACEHOLDER

RHYTHMS = SINUS + ("AF", "ATRIAL_FLUTTER", "JUNCTIONAL_RHYTHM", "PACED_RHYTHM")
# Codes of which a record has at most one: a clinician's choice removes the measured others.
FAMILIES = (set(RHYTHMS), {"RBBB", "LBBB", "INCOMPLETE_RBBB", "INCOMPLETE_LBBB"},
            {"LEFT_AXIS_DEVIATION", "RIGHT_AXIS_DEVIATION"})
# Lead-group words as the paragraphs write them (the parser reads each back to these leads).
PLAIN_GROUPS: list[tuple[str, tuple[str, ...]]] = [
    ("infero-lateral", INFERIOR + LATERAL), ("anteroseptal", SEPTAL + ANTERIOR),
    ("anterolateral", ANTERIOR + LATERAL), ("high lateral", ("I", "aVL")), ("inferior", INFERIOR),
    ("lateral", LATERAL), ("anterior", ANTERIOR), ("septal", SEPTAL), ("precordial", PRECORDIAL_LEADS),
    ("limb", LIMB_LEADS),
]


@dataclass
class Sentence:
    pattern: str      # template id, e.g. "rhythm.2"
    text: str


@dataclass
class KnowledgeParagraph:
    sentences: list[Sentence]
    verdict: Verdict
    dropped: list[tuple[str, str, str]] = field(default_factory=list)   # (slot, text, why)

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.sentences)

    @property
    def patterns(self) -> list[str]:
        return [s.pattern for s in self.sentences]


# --- formatting: one value, several honest spellings ----------------------------------------
class Fmt:
    def __init__(self, rng: random.Random):
        self.rng = rng

    def ms(self, x: float) -> str:
        r = self.rng.random()
        if r < 0.2:
            return f"{x / 1000:.2f} s"
        if r < 0.3:
            return f"{round(x)} milliseconds"
        return f"{round(x)} ms"

    def bpm(self, x: float) -> str:
        return self.rng.choice(["{} bpm", "{} bpm", "{} beats per minute", "{} beats/min", "{}/min"]).format(round(x))

    def mv(self, x: float) -> str:
        x = abs(x)
        if self.rng.random() < 0.3:
            mm = round(x * 10, 1)
            return f"{mm:g} mm"
        return f"{x:.2f} mV"

    def deg(self, x: float) -> str:
        return self.rng.choice([f"{x:+.0f}°", f"{x:.0f} degrees", f"{x:+.0f} degrees"])

    def leads(self, leads) -> str:
        """A lead list in one of the usual notations ("the inferior leads", "V1-V3",
        "leads II, III and aVF")."""
        leads = list(sort_leads(leads))
        group = _group_word(leads)
        if group and self.rng.random() < 0.6:
            return f"the {group} leads"
        parts: list[str] = []
        k = 0
        while k < len(leads):
            j = k
            while (leads[j].startswith("V") and j + 1 < len(leads) and leads[j + 1].startswith("V")
                   and int(leads[j + 1][1]) == int(leads[j][1]) + 1):
                j += 1
            if j - k >= 2:
                parts.append(f"{leads[k]}{self.rng.choice(['-', ' to '])}{leads[j]}")
            else:
                parts += leads[k:j + 1]
            k = j + 1
        text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        prefix = self.rng.choice(["", "leads "] if len(leads) > 1 else ["", "lead "])
        return prefix + text


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# --- clinician labels --------------------------------------------------------------------------
def clinician_labels(labels=None, report: str | None = None) -> list[dict]:
    """Diagnoses a clinician gave: finding codes (or {"code", "leads"} dicts) and/or the
    positive diagnosis claims of a free-text report, read with the same parser."""
    out = normalise_labels(labels)
    if report:
        for c in parse_claims(report):
            if c.kind == "categorical" and c.value is True and c.name not in ("RHYTHM_REGULAR",):
                out.append({"code": c.name, "leads": list(c.leads)})
    seen, unique = set(), []
    for lab in out:
        key = (lab["code"], tuple(lab["leads"]))
        if key not in seen:
            seen.add(key)
            unique.append(lab)
    return unique


def clinician_text_from_metadata(metadata: dict) -> str | None:
    """The diagnosis a record's header states, as text (PTB: "Reason for admission" and the
    infarct localisation, whose words PTB sometimes truncates: "infero-latera")."""
    reason = str(metadata.get("reason for admission") or "").strip()
    if not reason or reason.lower() in ("n/a", "no", "unknown"):
        return None
    loc = str(metadata.get("acute infarction (localization)") or "").strip().lower()
    if loc and loc not in ("no", "n/a", "unknown") and "infarct" in reason.lower():
        fixed = []
        for part in re.split(r"[-\s]+", loc):
            full = next((w for w in ("inferior", "lateral", "anterior", "septal", "posterior")
                         if part and w.startswith(part)), part)
            fixed.append(full)
        loc_text = "-".join(fixed).replace("inferior-", "infero-").replace("anterior-", "antero-")
        return f"Acute {loc_text} {reason[0].lower()}{reason[1:]}."
    return reason + "."


def _diagnoses(ev: Evidence, labels: list[dict]) -> list[dict]:
    """The diagnoses the paragraph names: clinician labels first, then measured findings that
    do not conflict with them. Each {"code", "leads", "group", "source"}."""
    out = [{"code": lab["code"], "leads": lab["leads"], "group": None, "source": "clinician"} for lab in labels]
    label_codes = {lab["code"] for lab in labels}
    for f in ev.findings:
        fam = next((fam for fam in FAMILIES if f["code"] in fam), None)
        if fam and (fam & label_codes) and f["code"] not in label_codes:
            continue
        if f["code"] in label_codes and f["code"] not in ("ST_ELEVATION", "ST_DEPRESSION", "PATHOLOGICAL_Q"):
            continue
        out.append({"code": f["code"], "leads": f.get("leads") or [], "group": f.get("group"), "source": "measured"})
    return out


# --- the slots ---------------------------------------------------------------------------------
RHYTHM_NAMES = {
    "SINUS_RHYTHM": ["sinus rhythm", "normal sinus rhythm"],
    "SINUS_BRADYCARDIA": ["sinus bradycardia"],
    "SINUS_TACHYCARDIA": ["sinus tachycardia"],
    "AF": ["atrial fibrillation"],
    "ATRIAL_FLUTTER": ["atrial flutter"],
    "JUNCTIONAL_RHYTHM": ["a junctional rhythm"],
    "PACED_RHYTHM": ["a paced rhythm"],
}


class Writer:
    """Builds the candidate sentences of each slot for one record."""

    def __init__(self, ev: Evidence, diagnoses: list[dict], rng: random.Random):
        self.ev, self.dx, self.rng, self.f = ev, diagnoses, rng, Fmt(rng)
        self.g = ev.g
        self.codes = {d["code"] for d in diagnoses}

    def has(self, *codes: str) -> bool:
        return any(c in self.codes for c in codes)

    def lead(self, feature: str, lead: str) -> float | None:
        return self.ev.lead_value(feature, lead)

    # Each slot returns candidates [(pattern, text)]; the caller picks one that verifies.
    def rhythm(self) -> list[tuple[str, str]]:
        hr = self.g.get("heart_rate_bpm")
        code = next((c for c in RHYTHMS if c in self.codes), None)
        if hr is None:
            return []
        rate = self.f.bpm(hr)
        if code is None:
            return [("rhythm.unclassified.1", f"The ventricular rate is {rate}; no consistent P wave precedes "
                                              f"the QRS complexes, so the atrial rhythm is not classified."),
                    ("rhythm.unclassified.2", f"The heart rate is {rate} and no P waves are identified before the QRS complexes.")]
        name = self.rng.choice(RHYTHM_NAMES[code])
        return [("rhythm.1", f"The ECG shows {name} at a heart rate of {rate}."),
                ("rhythm.2", f"{_cap(name)} is present, with a ventricular rate of {rate}."),
                ("rhythm.3", f"The rhythm is {name} at {rate}."),
                ("rhythm.4", f"This tracing demonstrates {name}; the heart rate is approximately {rate}."),
                ("rhythm.5", f"{_cap(name)} at {rate}.")]

    def p_waves(self) -> list[tuple[str, str]]:
        if self.has("AF"):
            return [("p.af.1", "No P waves are identified; the baseline shows fibrillatory activity."),
                    ("p.af.2", "Discrete P waves are absent, replaced by fibrillatory waves.")]
        amp, dur = self.lead("p_amplitude", "II"), self.lead("p_duration", "II")
        if not self.has(*SINUS) or amp is None or amp <= 0:
            return []
        out = [("p.1", f"P waves are upright in lead II ({self.f.mv(amp)}) and precede each QRS complex.")]
        if dur is not None:
            out += [("p.2", f"Lead II shows upright P waves of {self.f.mv(amp)} amplitude and {self.f.ms(dur)} duration."),
                    ("p.3", f"In lead II the P wave measures {self.f.mv(amp)} with a duration of {self.f.ms(dur)}.")]
        return out

    def rr(self) -> list[tuple[str, str]]:
        reg, rr, sd = self.g.get("rhythm_regular"), self.g.get("rr_ms"), self.g.get("rr_sd_ms")
        if rr is None or reg is None:
            return []
        f = self.f
        if reg:
            out = [("rr.regular.2", f"The R-R intervals are consistent, averaging {f.ms(rr)}."),
                   ("rr.regular.3", f"The rhythm is regular with a mean RR interval of {f.ms(rr)}.")]
            if sd is not None:
                out.append(("rr.regular.1", f"RR intervals are regular at about {f.ms(rr)} (SD {round(sd)} ms)."))
            return out
        beats = self.ev.beat_rr_ms()
        if self.has("AF") and len(beats) >= 3:
            lo, hi = round(min(beats)), round(max(beats))
            return [("rr.af.1", f"RR intervals are irregularly irregular, ranging from {lo} to {hi} ms."),
                    ("rr.af.2", f"The ventricular response is irregular, with R-R intervals between {lo} and {hi} ms.")]
        out = [("rr.irregular.1", f"The rhythm is irregular, with RR intervals averaging {f.ms(rr)}.")]
        if sd is not None:
            out.append(("rr.irregular.2", f"RR intervals vary around a mean of {f.ms(rr)} (SD {round(sd)} ms), an irregular rhythm."))
        return out

    def pr(self) -> list[tuple[str, str]]:
        pr = self.g.get("pr_ms")
        if pr is None:
            return []
        p = self.f.ms(pr)
        if self.has("FIRST_DEGREE_AV_BLOCK"):
            return [("pr.avb.1", f"The PR interval is prolonged at {p}, consistent with first-degree AV block."),
                    ("pr.avb.2", f"A PR interval of {p} indicates first-degree atrioventricular block."),
                    ("pr.avb.3", f"First-degree AV block is present (PR {p}).")]
        return [("pr.1", f"The PR interval is {p}."),
                ("pr.2", f"The PR interval is normal at {p}."),
                ("pr.3", f"PR interval of {p}, within normal limits."),
                ("pr.4", f"Atrioventricular conduction is normal, with a PR interval of {p}.")]

    def axis(self) -> list[tuple[str, str]]:
        axis = self.g.get("qrs_axis_deg")
        if axis is None:
            return []
        a = self.f.deg(axis)
        if self.has("LEFT_AXIS_DEVIATION", "RIGHT_AXIS_DEVIATION"):
            cat = "left axis deviation" if self.has("LEFT_AXIS_DEVIATION") else "right axis deviation"
        elif axis <= -90 or axis >= 180:
            cat = "extreme axis deviation"
        elif -30 < axis < 90:
            return [("axis.normal.1", f"The QRS axis is normal at {a}."),
                    ("axis.normal.2", f"The frontal plane axis is {a}, within normal limits."),
                    ("axis.normal.3", f"Normal axis ({a}).")]
        else:
            return [("axis.value.1", f"The frontal QRS axis is {a}.")]
        return [("axis.deviated.1", f"The QRS axis is {a}, indicating {cat}."),
                ("axis.deviated.2", f"{_cap(cat)} is present, with a frontal QRS axis of {a}."),
                ("axis.deviated.3", f"There is {cat} (axis {a}).")]

    def conduction(self) -> list[tuple[str, str]]:
        qrs = self.g.get("qrs_ms")
        if qrs is None:
            return []
        per_lead = {ld: v for ld in STANDARD_LEADS if (v := self.lead("qrs", ld)) is not None}
        bbb = "RBBB" if self.has("RBBB") else "LBBB" if self.has("LBBB") else None
        if bbb and "V1" in per_lead and "V6" in per_lead:
            l1, l2 = "V1", "V6"
        elif len(per_lead) >= 2:
            # Evidence from leads where the QRS is large enough to time well: two of the four
            # leads with the largest QRS amplitude.
            amp = {ld: self.lead("qrs_amplitude", ld) or 0.0 for ld in per_lead}
            top = sorted(per_lead, key=lambda ld: -amp[ld])[:4]
            l1, l2 = sort_leads(self.rng.sample(top, 2))
        else:
            l1 = l2 = None
        f = self.f
        q = f.ms(qrs)
        ev_two = f"{f.ms(per_lead[l1])} in {l1} and {f.ms(per_lead[l2])} in {l2}" if l1 else None
        if self.has("WIDE_QRS", "RBBB", "LBBB"):
            name = {"RBBB": self.rng.choice(["right bundle branch block", "complete right bundle branch block"]),
                    "LBBB": self.rng.choice(["left bundle branch block", "complete left bundle branch block"]),
                    None: "a nonspecific intraventricular conduction delay"}[bbb]
            out = [("qrs.wide.3", f"The QRS complexes are broad at {q}, consistent with {name}.")]
            if ev_two:
                out += [("qrs.wide.1", f"The QRS complexes are widened to {q}, measuring {ev_two}, consistent with {name}."),
                        ("qrs.wide.2", f"{_cap(name)} is present: QRS duration {q} overall, {ev_two}.")]
            return out
        out = [("qrs.narrow.3", f"Narrow QRS complexes ({q}) with no bundle branch block.")]
        if ev_two:
            out += [("qrs.narrow.1", f"QRS complexes are narrow at {q}, measuring {ev_two}."),
                    ("qrs.narrow.2", f"The QRS duration is {q} ({f.ms(per_lead[l1])} in {l1}, {f.ms(per_lead[l2])} in {l2}), "
                                     f"without bundle branch block."),
                    ("qrs.narrow.4", f"Narrow QRS complexes ({q}) with no bundle branch block; in {l1} the QRS lasts "
                                     f"{f.ms(per_lead[l1])}.")]
        return out

    def voltage(self) -> list[tuple[str, str]]:
        f = self.f
        # Amplitudes under 0.05 mV are not worth a sentence ("an S wave of 0.00 mV").
        r = {ld: v for ld in ("V5", "V6", "aVL") if (v := self.lead("r_amplitude", ld)) is not None and abs(v) >= 0.05}
        s1 = self.lead("s_amplitude", "V1")
        s1 = s1 if s1 is not None and abs(s1) >= 0.05 else None
        if self.has("LVH_VOLTAGE"):
            sok = self.ev.sokolow()
            out = []
            if "aVL" in r:
                out.append(("voltage.lvh.3", f"The R wave in aVL measures {f.mv(r['aVL'])}; voltage criteria for "
                                             f"left ventricular hypertrophy are met."))
            if sok is not None and s1 is not None:
                lr = "V5" if r.get("V5", 0) >= r.get("V6", 0) else "V6"
                out += [("voltage.lvh.1", f"The S wave in V1 measures {f.mv(s1)} and the R wave in {lr} {f.mv(r[lr])}, "
                                          f"a Sokolow-Lyon index of {f.mv(sok)}, meeting voltage criteria for left "
                                          f"ventricular hypertrophy."),
                        ("voltage.lvh.2", f"Voltage criteria for LVH are met (SV1 + RV5/V6 = {f.mv(sok)}).")]
            return out
        if self.has("LOW_VOLTAGE"):
            found = set(self.ev.finding_leads("LOW_VOLTAGE"))
            group, leads = ("limb", LIMB_LEADS) if found <= set(LIMB_LEADS) else ("precordial", PRECORDIAL_LEADS)
            amps = {ld: v for ld in leads if (v := self.lead("qrs_amplitude", ld)) is not None}
            if not amps:
                return []
            top = max(amps, key=amps.get)
            return [("voltage.low.1", f"Low QRS voltage is present in the {group} leads, the largest {group}-lead "
                                      f"QRS amplitude being {f.mv(amps[top])} in {top}."),
                    ("voltage.low.2", f"QRS amplitudes are low, at most {f.mv(amps[top])} in the {group} leads.")]
        if self.rng.random() < 0.5 or "V5" not in r:
            return []
        out = [("voltage.normal.1", f"QRS voltages are normal, with an R wave of {f.mv(r['V5'])} in V5.")]
        if s1 is not None:
            out.append(("voltage.normal.2", f"The R wave reaches {f.mv(r['V5'])} in V5 and the S wave {f.mv(s1)} in V1."))
        return out

    def qt(self) -> list[tuple[str, str]]:
        qt = self.g.get("qt_ms")
        methods = [m for m in ("bazett", "fridericia") if self.g.get(f"qtc_{m}_ms") is not None]
        if qt is None or not methods:
            return []
        long_qtc = self.has("LONG_QTC")
        # The stage's own method decides prolongation; a normal QTc may be given by either.
        method = self.g.get("qtc_method") if long_qtc or self.rng.random() < 0.5 else self.rng.choice(methods)
        method = method if method in methods else methods[0]
        qtc = self.g[f"qtc_{method}_ms"]
        f, M = self.f, method.capitalize()
        if long_qtc:
            return [("qt.long.1", f"The QT interval is {f.ms(qt)} and the QTc ({M}) is prolonged at {f.ms(qtc)}."),
                    ("qt.long.2", f"QT prolongation is present: QT {f.ms(qt)}, QTc {f.ms(qtc)} ({M}).")]
        return [("qt.1", f"The QT interval is {f.ms(qt)} with a QTc of {f.ms(qtc)} ({M})."),
                ("qt.2", f"QT/QTc {round(qt)}/{round(qtc)} ms ({M} correction)."),
                ("qt.3", f"The QTc of {f.ms(qtc)} is within normal limits ({M} correction), and the QT interval is {f.ms(qt)}.")]

    def st(self) -> list[tuple[str, str]]:
        if self.has("LBBB"):
            return []   # ST criteria are not applied with LBBB: say nothing either way
        out_sentences = []
        for code, word in (("ST_ELEVATION", "elevation"), ("ST_DEPRESSION", "depression")):
            for d in [d for d in self.dx if d["code"] == code and d["source"] == "measured"]:
                leads = d["leads"]
                st = {ld: v for ld in leads if (v := self.lead("st_deviation", ld)) is not None}
                if not st:
                    continue
                top = max(st, key=lambda ld: abs(st[ld]))
                lt = self.f.leads(leads)
                verb = "elevated" if word == "elevation" else "depressed"
                cands = [(f"st.{word}.1", f"ST {word} is present in {lt}, up to {self.f.mv(st[top])} in {top}."),
                         (f"st.{word}.3", f"ST segments are {verb} in {lt}, most marked in {top} at {self.f.mv(st[top])}.")]
                if d.get("group"):
                    cands.append((f"st.{word}.2", f"{_cap(d['group'])} ST {word} is seen ({top} {self.f.mv(st[top])})."))
                out_sentences.append(self.rng.choice(cands))
        if out_sentences:
            missing = [w for c, w in (("ST_ELEVATION", "elevation"), ("ST_DEPRESSION", "depression"))
                       if not self.ev.has(c)]
            if missing:
                out_sentences.append((f"st.no_{missing[0]}", f"There is no ST {missing[0]}."))
            return [("+".join(p for p, _ in out_sentences), " ".join(t for _, t in out_sentences))]
        none = [("st.none.1", "There is no ST elevation or depression."),
                ("st.none.2", "ST segments are isoelectric, without elevation or depression."),
                ("st.none.3", "No significant ST-segment deviation is present.")]
        form = self.st_form()
        if form and self.rng.random() < 0.5:
            p, t = self.rng.choice(none)
            return [(f"{p}+{form[0]}", f"{t} {form[1]}")]
        return none

    def st_form(self) -> tuple[str, str] | None:
        """The ST form (one of GEM's 14 features) in the leads that share the commonest one."""
        forms = {ld: f for ld in STANDARD_LEADS
                 if (f := ((self.ev.leads.get(ld) or {}).get("median") or {}).get("st_form")) and self.ev.usable(ld)}
        if len(forms) < 2:
            return None
        label = max(set(forms.values()), key=list(forms.values()).count)
        leads = [ld for ld, f in forms.items() if f == label]
        leads = sort_leads(self.rng.sample(leads, min(len(leads), self.rng.choice([2, 3, 4]))))
        if len(leads) < 2:
            return None
        word = {"upsloping": "upsloping", "downsloping": "downsloping"}.get(label, label)
        lt = self.f.leads(leads)
        return self.rng.choice([("st.form.1", f"The ST segments are {word} in {lt}."),
                                ("st.form.2", f"In {lt} the ST segments have a {word} form.")])

    def q_waves(self) -> list[tuple[str, str]]:
        if self.has("LBBB"):
            return []
        found = [d for d in self.dx if d["code"] == "PATHOLOGICAL_Q" and d["source"] == "measured"]
        if not found:
            return [("q.none.1", "No pathological Q waves are seen."),
                    ("q.none.2", "There are no pathological Q waves.")]
        leads = sort_leads(ld for d in found for ld in d["leads"])
        depth = {ld: abs(v) for ld in leads if (v := self.lead("q_amplitude", ld)) is not None}
        if not depth:
            return [("q.1", f"Pathological Q waves are present in {self.f.leads(leads)}.")]
        top = max(depth, key=depth.get)
        qms = self.lead("q_duration", top)
        lt = self.f.leads(leads)
        out = [("q.3", f"There are pathological Q waves in {lt}, the deepest in {top} at {self.f.mv(depth[top])}.")]
        if qms is not None:
            out.append(("q.2", f"Pathological Q waves are present in {lt}; in {top} the Q wave is "
                               f"{self.f.mv(depth[top])} deep and {self.f.ms(qms)} wide."))
        return out

    def t_waves(self) -> list[tuple[str, str]]:
        t = {ld: v for ld in STANDARD_LEADS if ld != "aVR" and (v := self.lead("t_amplitude", ld)) is not None}
        from gem_core.grounding import tolerances as T

        inverted = [ld for ld, v in t.items() if v <= T.T_INVERTED_MV]
        upright = [ld for ld in T_UPRIGHT_LEADS if ld in t and t[ld] >= T.T_UPRIGHT_MV]
        out = []
        if inverted:
            deepest = min(inverted, key=lambda ld: t[ld])
            lt = self.f.leads(inverted)
            out.append(self.rng.choice([
                ("t.inverted.1", f"T-wave inversion is present in {lt}."),
                ("t.inverted.2", f"T waves are inverted in {lt}, deepest in {deepest} at {self.f.mv(t[deepest])}.")]))
        if len(upright) >= 2:
            lt = self.f.leads(upright)
            out.append(self.rng.choice([("t.upright.1", f"T waves are upright in {lt}."),
                                        ("t.upright.2", f"Upright T waves are seen in {lt}.")]))
        if not out:
            return []
        return [("+".join(p for p, _ in out), " ".join(s for _, s in out))]

    def conclusion(self) -> list[tuple[str, str]]:
        phrases = []
        for d in self.dx:
            p = self._phrase(d)
            if p and p not in phrases:
                phrases.append(p)
        if not phrases:
            return []
        abnormal = bool(self.codes - {"SINUS_RHYTHM"})
        if not abnormal and self.ev.has("SINUS_RHYTHM"):
            return [("conclusion.normal.1", "Conclusion: sinus rhythm, normal ECG."),
                    ("conclusion.normal.2", "Overall, this is a normal ECG in sinus rhythm."),
                    ("conclusion.normal.3", "Normal ECG.")]
        listed = _and(phrases)
        return [("conclusion.1", f"Conclusion: {listed}; abnormal ECG."),
                ("conclusion.2", f"Overall, the findings indicate {listed}."),
                ("conclusion.3", f"In summary, {listed}; abnormal ECG.")]

    def _phrase(self, d: dict) -> str | None:
        code, rng = d["code"], self.rng
        if code in RHYTHM_NAMES:
            return RHYTHM_NAMES[code][0]
        group = d.get("group")
        fixed = {
            "FIRST_DEGREE_AV_BLOCK": rng.choice(["first-degree AV block", "first-degree atrioventricular block"]),
            "RBBB": rng.choice(["right bundle branch block", "RBBB"]),
            "LBBB": rng.choice(["left bundle branch block", "LBBB"]),
            "LEFT_AXIS_DEVIATION": "left axis deviation",
            "RIGHT_AXIS_DEVIATION": "right axis deviation",
            "LONG_QTC": rng.choice(["prolonged QTc", "QTc prolongation"]),
            "LOW_VOLTAGE": "low QRS voltage",
            "LVH_VOLTAGE": rng.choice(["left ventricular hypertrophy by voltage criteria", "LVH voltage criteria"]),
        }
        if code in fixed:
            return fixed[code]
        if code == "WIDE_QRS":
            return None if self.has("RBBB", "LBBB") else "intraventricular conduction delay"
        if code in ("ST_ELEVATION", "ST_DEPRESSION") and d["source"] == "measured" and group:
            return f"{group} ST {'elevation' if code == 'ST_ELEVATION' else 'depression'}"
        if code == "PATHOLOGICAL_Q" and d["source"] == "measured" and group:
            return f"pathological Q waves in the {group} leads"
        if code == "MYOCARDIAL_INFARCTION":
            where = _group_word(d["leads"])
            if where:
                return f"{where} myocardial infarction (clinical diagnosis)"
            return ("myocardial infarction involving " + self.f.leads(d["leads"]) if d["leads"]
                    else "myocardial infarction") + " (clinical diagnosis)"
        return None


def _group_word(leads) -> str | None:
    return next((w for w, ls in PLAIN_GROUPS if leads and set(ls) == set(leads)), None)


# --- the paragraph -----------------------------------------------------------------------------
SLOTS_HEAD = ("p_waves", "rr", "pr")
SLOTS_MIDDLE = ("axis", "conduction", "voltage", "qt")
SLOTS_ISCHAEMIA = ("st", "q_waves", "t_waves")


def knowledge_paragraph(measurements: dict, *, labels=None, report: str | None = None, seed: int = 0,
                        record_id: str = "") -> KnowledgeParagraph:
    """A grounded interpretation paragraph for one ECG; deterministic for (seed, record_id)."""
    rng = random.Random(f"{seed}:{record_id}")
    labs = clinician_labels(labels, report)
    ev = Evidence(measurements, labs)
    w = Writer(ev, _diagnoses(ev, labs), rng)
    head = list(SLOTS_HEAD)
    rng.shuffle(head)
    middle = list(SLOTS_MIDDLE)
    rng.shuffle(middle)
    isch = list(SLOTS_ISCHAEMIA)
    rng.shuffle(isch)
    order = ["rhythm"] + head + middle + isch + ["conclusion"]
    sentences, dropped = [], []
    for slot in order:
        cands = getattr(w, slot)()
        rng.shuffle(cands)
        chosen = None
        for pattern, text in cands:
            v = verify_report(text, measurements, labs)
            if all(cc.status == SUPPORTED for cc in v.claims):
                chosen = Sentence(pattern, text)
                break
            bad = [cc for cc in v.claims if cc.status != SUPPORTED]
            dropped.append((pattern, text, "; ".join(f"{cc.claim.text!r} {cc.status}: {cc.evidence}" for cc in bad)))
        if chosen:
            sentences.append(chosen)
    text = " ".join(s.text for s in sentences)
    return KnowledgeParagraph(sentences, verify_report(text, measurements, labs), dropped)


def grounding_item(record_id: str, ecg_uri: str, paragraph: str, image: str | None = None) -> dict:
    """One training item in the ECG-Grounding layout."""
    return {"id": record_id, "ecg": ecg_uri, "image": image,
            "conversations": [{"from": "human", "value": f"{IMAGE_PLACEHOLDER}\n{GROUNDING_QUESTION}"},
                              {"from": "gpt", "value": paragraph}]}


def knowledge_item(record_id: str, ecg_uri: str, measurements: dict, *, image: str | None = None, labels=None,
                   report: str | None = None, seed: int = 0) -> tuple[dict, KnowledgeParagraph]:
    para = knowledge_paragraph(measurements, labels=labels, report=report, seed=seed, record_id=record_id)
    return grounding_item(record_id, ecg_uri, para.text, image), para
