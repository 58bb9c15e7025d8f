"""Parser details: unit spellings, lead notations, negation scope, claim spans."""
from __future__ import annotations

import pytest

from gem_core.grounding.claims import find_lead_refs, parse_claims


def _numeric(text: str, name: str):
    found = [c for c in parse_claims(text) if c.kind == "numeric" and c.name == name]
    assert len(found) == 1, (text, [c.to_dict() for c in parse_claims(text)])
    return found[0]


@pytest.mark.parametrize("text,name,value,unit", [
    ("QRS duration 120 ms.", "qrs", 120.0, "ms"),
    ("QRS duration 0.12 s.", "qrs", 120.0, "ms"),
    ("QRS duration 0.12 sec.", "qrs", 120.0, "ms"),
    ("a 120-ms QRS duration.", "qrs", 120.0, "ms"),
    ("QRS of 120ms.", "qrs", 120.0, "ms"),
    ("R wave in V5 of 1.2 mV.", "r_amplitude", 1.2, "mV"),
    ("R wave in V5 of 12 mm.", "r_amplitude", 1.2, "mV"),
    ("R wave in V5 of 1200 \u00b5V.", "r_amplitude", 1.2, "mV"),
    ("Heart rate 72 beats per minute.", "heart_rate", 72.0, "bpm"),
    ("Heart rate 72/min.", "heart_rate", 72.0, "bpm"),
    ("Heart rate of 72.", "heart_rate", 72.0, "bpm"),
    ("Axis \u221230\u00b0.", "qrs_axis", -30.0, "deg"),
    ("The axis is -30 degrees.", "qrs_axis", -30.0, "deg"),
    ("2 mm ST depression in V5.", "st_deviation", -0.2, "mV"),
    ("ST elevation of 0.25 mV in III.", "st_deviation", 0.25, "mV"),
])
def test_units_in_common_forms(text, name, value, unit):
    c = _numeric(text, name)
    assert c.value == pytest.approx(value) and c.unit == unit


def test_ranges_bounds_and_maxima():
    assert _numeric("RR intervals from 600 to 1000 ms.", "rr").value == [600.0, 1000.0]
    assert _numeric("RR intervals between 600 and 1000 ms.", "rr").op == "range"
    assert _numeric("QRS durations of 96\u2013112 ms in V1-V3.", "qrs").value == [96.0, 112.0]
    c = _numeric("ST elevation of up to 3 mm in V2.", "st_deviation")
    assert (c.op, c.value, c.leads) == ("max", pytest.approx(0.3), ("V2",))
    assert _numeric("QRS amplitudes below 0.5 mV in the limb leads.", "qrs_amplitude").op == "<"
    assert _numeric("ST deviation is 0.05 mV or less.", "st_deviation").op == "<"
    assert _numeric("No ST deviation exceeding 0.5 mm.", "st_deviation").op == "<"   # negated ">"
    claims = parse_claims("QT/QTc 400/410 ms.")
    assert [(c.name, c.value) for c in claims] == [("qt", 400.0), ("qtc", 410.0)]


@pytest.mark.parametrize("text,leads", [
    ("in V1-V3", ("V1", "V2", "V3")),
    ("in V1\u2013V3", ("V1", "V2", "V3")),
    ("in V1 to V3", ("V1", "V2", "V3")),
    ("in V1 through V4", ("V1", "V2", "V3", "V4")),
    ("in leads II, III and aVF", ("II", "III", "aVF")),
    ("in II/III/aVF", ("II", "III", "aVF")),
    ("in leads I, aVL, V5, and V6", ("I", "aVL", "V5", "V6")),
    ("in the inferior leads", ("II", "III", "aVF")),
    ("in the inferior and lateral leads", ("I", "II", "III", "aVL", "aVF", "V5", "V6")),
    ("across the precordial leads", ("V1", "V2", "V3", "V4", "V5", "V6")),
    ("in AVF", ("aVF",)),
])
def test_lead_notations(text, leads):
    refs = find_lead_refs(text)
    assert len(refs) == 1 and refs[0].leads == leads


def test_roman_numerals_that_are_not_leads():
    assert find_lead_refs("Mobitz II second-degree block") == []
    assert find_lead_refs("type I pattern") == []
    assert [r.leads for r in find_lead_refs("left anterior fascicular block")] == []


def _cat(text: str) -> dict:
    return {(c.name, c.leads if c.leads else ()): c.value for c in parse_claims(text) if c.kind == "categorical"}


def test_negation_scope():
    assert _cat("No ST elevation or depression.") == {("ST_ELEVATION", ()): False, ("ST_DEPRESSION", ()): False}
    assert _cat("Without Q waves.") == {("PATHOLOGICAL_Q", ()): False}
    assert _cat("Neither atrial fibrillation nor flutter.") == {("AF", ()): False, ("ATRIAL_FLUTTER", ()): False}
    assert _cat("Pathological Q waves are absent.") == {("PATHOLOGICAL_Q", ()): False}
    assert _cat("The QRS is not widened.") == {("WIDE_QRS", ()): False}
    # negation ends at a new clause
    got = _cat("There is no ST elevation, and the QRS is narrow.")
    assert got == {("ST_ELEVATION", ()): False, ("WIDE_QRS", ()): False}
    got = _cat("No Q waves, but ST elevation in V2 and V3.")
    assert got == {("PATHOLOGICAL_Q", ()): False, ("ST_ELEVATION", ("V2", "V3")): True}
    # "septal q waves" are normal, not a claim
    assert _cat("Small septal q waves in I and aVL.") == {}


def test_group_adjectives_and_following_leads():
    assert _cat("Inferior ST elevation.") == {("ST_ELEVATION", ("II", "III", "aVF")): True}
    assert _cat("ST depression and T-wave inversion in V5-V6.") == {
        ("ST_DEPRESSION", ("V5", "V6")): True, ("T_INVERSION", ("V5", "V6")): True}
    assert _cat("Old infero-lateral myocardial infarction.") == {
        ("MYOCARDIAL_INFARCTION", ("I", "II", "III", "aVL", "aVF", "V5", "V6")): True}


def test_spans_point_at_the_claim_text():
    text = ("Sinus rhythm at 72 bpm. ST elevation of 2 mm in II, III and aVF with reciprocal ST "
            "depression in I and aVL. QTc 0.44 s.")
    claims = parse_claims(text)
    assert claims
    for c in claims:
        assert text[c.span[0]:c.span[1]].strip() == c.text
    st = next(c for c in claims if c.name == "st_deviation")
    assert st.text == "ST elevation of 2 mm in II, III and aVF"


def test_claims_serialise():
    import json

    for c in parse_claims("Sinus rhythm at 72 bpm; QRS 0.09 s; no ST elevation in V1-V3."):
        d = json.loads(json.dumps(c.to_dict()))
        assert {"text", "kind", "name", "value", "leads", "span"} <= set(d)

