"""Error injection (issue 6, must show): correct reports of real and synthetic ECGs (the
knowledge generator's paragraphs for their own measurements) get one error each: a number
moved beyond tolerance, a lead group replaced by one the measurements rule out, or a
diagnosis replaced by a false one. The verifier must mark >= 95% of injected errors
contradicted (at the place of the injection), and <= 5% of untouched reports may carry any
contradiction. Run with -s to see the table.

Which leads and which diagnosis are "false" is decided here from the measurements directly
(ST level, Q duration, T amplitude, findings), not by asking the verifier."""
from __future__ import annotations

import random
import re
from collections import defaultdict

from grounding_fixtures import grounding_cohort  # noqa: F401 (fixture)

from gem_core.grounding import tolerances as T
from gem_core.grounding.claims import find_lead_refs, parse_claims
from gem_core.grounding.knowledge import clinician_labels, knowledge_paragraph
from gem_core.grounding.verify import Evidence, verify_report
from gem_core.leads import LEAD_GROUPS

_NUM_UNIT = re.compile(r"(?<![A-Za-z0-9.])([+-]?\d+(?:\.\d+)?)(\s*/\s*\d+(?:\.\d+)?)?(\s*-?\s*)"
                       r"(ms|milliseconds|s\b|mV|mm|bpm|beats per minute|beats/min|/min|°|degrees)?")
SCALE = {"ms": 1.0, "milliseconds": 1.0, "s": 1000.0, "mV": 1.0, "mm": 0.1}


def _fmt(value: float, unit: str, signed: bool) -> str:
    if unit == "s":
        s = f"{value / 1000:.2f}"
    elif unit == "mV":
        s = f"{value:.2f}"
    elif unit == "mm":
        s = f"{value / 0.1:.1f}".rstrip("0").rstrip(".")
    else:
        s = f"{value:.0f}"
    return ("+" if signed and value > 0 else "") + s


def inject_number(text: str, rng: random.Random):
    """Move one stated number by three tolerances (away from zero for sizes)."""
    cands = []
    for c in parse_claims(text):
        if c.kind != "numeric":
            continue
        values = c.value if isinstance(c.value, list) else [c.value]
        for m in _NUM_UNIT.finditer(text, c.span[0], c.span[1]):
            unit = m.group(4) or ""
            if m.group(2):     # "373/381 ms": the second number of a pair
                continue
            canon = float(m.group(1)) * SCALE.get(unit, 1.0)
            if c.name == "st_deviation":
                canon = abs(canon)
            if any(abs(canon - abs(v) if c.name == "st_deviation" else canon - v) < 1e-6 for v in values):
                cands.append((c, m, canon, unit))
    if not cands:
        return None
    c, m, canon, unit = rng.choice(cands)
    delta = 3 * T.tolerance(c.name if c.name != "q_duration" else "p_duration", canon)
    if c.op == "<":              # "at most X": only a smaller bound is false
        grow = False
    elif c.op == ">":
        grow = True
    else:
        grow = c.name in T.MAGNITUDE_FEATURES or c.name == "st_deviation" or rng.random() < 0.5
    if not grow and canon - delta <= 0 and not c.name.endswith("axis"):
        if c.op == "<":
            return None
        grow = True
    new = canon + delta if grow else canon - delta
    literal = _fmt(new, unit, m.group(1).startswith(("+", "-")))
    if m.group(1).startswith("-") and not literal.startswith("-"):
        literal = "-" + literal if c.name == "st_deviation" else literal
    start, end = m.span(1)
    return text[:start] + literal + text[end:], (start, start + len(literal)), f"{c.name} {m.group(1)} -> {literal} {unit}"


def _false_group(ev: Evidence, name: str, value: bool, current: set) -> tuple[str, tuple[str, ...]] | None:
    """(group word, leads) of a lead group the measurements rule out for this claim."""
    for g, leads in LEAD_GROUPS.items():
        if set(leads) & current:
            continue
        st = [ev.lead_value("st_deviation", ld) for ld in leads]
        q = [ev.lead_value("q_duration", ld) for ld in leads]
        t = [ev.lead_value("t_amplitude", ld) for ld in leads]
        if None in st + q + t:
            continue
        if ((name == "ST_ELEVATION" and value and all(x < 0.05 for x in st))
                or (name == "ST_DEPRESSION" and value and all(x > -0.02 for x in st))
                or (name == "PATHOLOGICAL_Q" and value and all(x < 20 for x in q))
                or (name == "T_INVERSION" and value and all(x >= 0.05 for x in t))
                or (name == "T_INVERSION" and not value and any(x <= -0.15 for x in t))):
            return g, leads
    return None


def inject_leads(text: str, ev: Evidence, rng: random.Random):
    """Replace the lead reference of one lead-bound claim by leads the measurements rule out."""
    refs = find_lead_refs(text)
    cands = []
    for c in parse_claims(text):
        if not c.leads:
            continue
        ref = next((r for r in refs if c.span[0] <= r.start and r.end <= c.span[1] and r.leads == c.leads), None)
        if ref is None:
            continue
        if c.kind == "categorical":
            group = _false_group(ev, c.name, c.value, set(c.leads))
            # a group adjective ("inferior ST elevation") is replaced by another group word
            new = (group[0] if ref.group and "lead" not in text[ref.start:ref.end] else group[1]) if group else None
        elif len(c.leads) == 1 and not isinstance(c.value, list) and c.op in ("=", "~"):
            tol = T.tolerance(c.name if c.name != "q_duration" else "p_duration", abs(c.value))
            others = [ld for ld in ("I", "II", "III", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
                      if (v := ev.lead_value(c.name, ld)) is not None
                      and abs(abs(v) - abs(c.value)) > 3 * tol]
            new = (rng.choice(others),) if others else None
        else:
            new = None
        if new:
            cands.append((c, ref, new))
    if not cands:
        return None
    c, ref, new = rng.choice(cands)
    old = text[ref.start:ref.end]
    if isinstance(new, str):
        word = new.capitalize() if old[:1].isupper() else new
        return text[:ref.start] + word + text[ref.end:], (ref.start, ref.start + len(word)), f"{c.name} {old!r} -> {word!r}"
    lead_text = new[0] if len(new) == 1 else ", ".join(new[:-1]) + " and " + new[-1]
    prefix = re.match(r"(?:(?:in|at|over|across)\s+)?(?:the\s+)?(?:leads?\s+)?", old).group(0)
    replacement = (prefix if "lead" in prefix or not prefix.strip() else prefix + "lead ") + lead_text
    if prefix.strip() and "lead" not in prefix:
        replacement = prefix + ("leads " if len(new) > 1 else "lead ") + lead_text
    return (text[:ref.start] + replacement + text[ref.end:], (ref.start, ref.start + len(replacement)),
            f"{c.name} {old!r} -> {replacement!r}")


def inject_diagnosis(text: str, ev: Evidence, rng: random.Random):
    """Replace one diagnosis by one the findings rule out."""
    cands = []
    for c in parse_claims(text):
        if c.kind != "categorical":
            continue
        s, e = c.span
        phrase = text[s:e]
        swap = None
        if c.name == "SINUS_RHYTHM" and c.value and not ev.has("AF"):
            swap = "atrial fibrillation"
        elif c.name == "AF" and c.value and re.fullmatch(r"atrial fibrillation", phrase, re.I) and not ev.has(
                "SINUS_RHYTHM", "SINUS_BRADYCARDIA", "SINUS_TACHYCARDIA") and ev.g.get("rhythm_regular") is False:
            swap = None   # nothing measured would contradict a sinus claim here either
        elif c.name == "AF" and c.value and re.fullmatch(r"atrial fibrillation", phrase, re.I):
            swap = "sinus rhythm"
        elif c.name == "SINUS_BRADYCARDIA" and c.value:
            swap = "sinus tachycardia"
        elif c.name == "SINUS_TACHYCARDIA" and c.value:
            swap = "sinus bradycardia"
        elif c.name in ("RBBB", "LBBB") and c.value:
            swap = phrase.replace("right", "@").replace("left", "right").replace("@", "left") \
                .replace("RBBB", "@").replace("LBBB", "RBBB").replace("@", "LBBB")
        elif c.name in ("LEFT_AXIS_DEVIATION", "RIGHT_AXIS_DEVIATION") and c.value:
            swap = phrase.replace("left", "@").replace("right", "left").replace("@", "right") \
                .replace("Left", "@").replace("Right", "Left").replace("@", "Right")
        elif c.name == "WIDE_QRS" and not c.value and "narrow" in phrase.lower() and not T.borderline("qrs", ev.g.get("qrs_ms")):
            swap = re.sub("narrow", "broad", phrase, flags=re.I)
        elif c.name == "NORMAL_ECG":
            swap = re.sub(r"^(?:n|N)ormal", "Abnormal", phrase) if c.value else re.sub(r"(?i)abnormal", "normal", phrase)
        elif c.name == "FIRST_DEGREE_AV_BLOCK" and not c.value and not T.borderline("pr", ev.g.get("pr_ms")):
            swap = "first-degree AV block"
        elif c.name == "NORMAL_AXIS" and c.value and phrase.startswith("axis is normal"):
            swap = "axis is deviated to the left" if (ev.g.get("qrs_axis_deg") or 0) > -20 else None
        if swap and swap != phrase:
            cands.append((c, s, e, swap))
    if not cands:
        return None
    c, s, e, swap = rng.choice(cands)
    return text[:s] + swap + text[e:], (s, s + len(swap)), f"{c.name} {text[s:e]!r} -> {swap!r}"


def test_injected_errors_are_contradicted(grounding_cohort):
    rng = random.Random(11)
    table = defaultdict(lambda: [0, 0])          # (source, kind) -> [n, caught]
    untouched = defaultdict(lambda: [0, 0])      # source -> [n, with any contradiction]
    missed = []
    for r in grounding_cohort:
        m, labels = r["measurements"], clinician_labels(None, r["report"])
        ev = Evidence(m, labels)
        for seed in ((0, 1, 2) if r["source"] == "real" else (0,)):
            text = knowledge_paragraph(m, report=r["report"], seed=seed, record_id=r["record_id"]).text
            v = verify_report(text, m, labels)
            untouched[r["source"]][0] += 1
            untouched[r["source"]][1] += bool(v.contradictions)
            for kind, inject in (("number", lambda t: inject_number(t, rng)),
                                 ("lead group", lambda t: inject_leads(t, ev, rng)),
                                 ("diagnosis", lambda t: inject_diagnosis(t, ev, rng))):
                out = inject(text)
                if out is None:
                    continue
                bad_text, (s, e), what = out
                vv = verify_report(bad_text, m, labels)
                caught = any(cc.claim.span[0] < e and s < cc.claim.span[1] for cc in vv.contradictions)
                table[(r["source"], kind)][0] += 1
                table[(r["source"], kind)][1] += caught
                if not caught:
                    missed.append((r["record_id"], kind, what))
    print(f"\n{'reports':<10} {'injected error':<15} {'n':>5} {'contradicted':>13} {'rate':>7}")
    total_n = total_c = 0
    for (source, kind), (n, c) in sorted(table.items()):
        total_n, total_c = total_n + n, total_c + c
        print(f"{source:<10} {kind:<15} {n:>5} {c:>13} {c / n:>7.1%}")
    print(f"{'all':<10} {'any':<15} {total_n:>5} {total_c:>13} {total_c / total_n:>7.1%}")
    print(f"\n{'reports':<10} {'untouched':<15} {'n':>5} {'any contra.':>13} {'rate':>7}")
    un_n = un_c = 0
    for source, (n, c) in sorted(untouched.items()):
        un_n, un_c = un_n + n, un_c + c
        print(f"{source:<10} {'':<15} {n:>5} {c:>13} {c / n:>7.1%}")
    for rec, kind, what in missed[:20]:
        print(f"  missed: {rec} {kind}: {what}")
    assert all(table[(s, k)][0] > 0 for s in ("real", "synthetic") for k in ("number", "diagnosis"))
    assert table[("synthetic", "lead group")][0] > 0
    assert total_c / total_n >= 0.95
    assert un_c / un_n <= 0.05
