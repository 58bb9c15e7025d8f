"""Verifier rules on hand-built Measurements dicts (schema of MEASUREMENTS_SCHEMA): each kind
of claim supported, contradicted and unverifiable for the stated reason."""
from __future__ import annotations

import json

import pytest
from grounding_fixtures import make_measurements

from gem_core.grounding import tolerances as T
from gem_core.grounding.verify import verify_report


def statuses(text: str, m: dict, labels=None) -> list[tuple[str, str]]:
    return [(cc.claim.name, cc.status) for cc in verify_report(text, m, labels).claims]


def status_of(text: str, m: dict, name: str, labels=None) -> str:
    found = [s for n, s in statuses(text, m, labels) if n == name]
    assert len(found) == 1, statuses(text, m, labels)
    return found[0]


NORMAL = make_measurements(findings=["SINUS_RHYTHM"])


def test_numeric_tolerance_both_sides():
    tol = T.tolerance("qrs", 90.0)
    assert status_of(f"QRS duration {90 + tol:.0f} ms.", NORMAL, "qrs") == "supported"
    assert status_of(f"QRS duration {90 + tol + 5:.0f} ms.", NORMAL, "qrs") == "contradicted"
    assert status_of("QRS duration 0.09 s.", NORMAL, "qrs") == "supported"
    assert status_of("Heart rate 74 bpm.", NORMAL, "heart_rate") == "supported"
    assert status_of("Heart rate 90 bpm.", NORMAL, "heart_rate") == "contradicted"


def test_per_lead_values_are_used_for_named_leads():
    m = make_measurements(findings=["SINUS_RHYTHM"], leads={"V1": {"median": {"qrs_duration": 130.0}, "r_mv": 0.2}})
    assert status_of("QRS 130 ms in V1.", m, "qrs") == "supported"
    assert status_of("QRS 130 ms in V6.", m, "qrs") == "contradicted"
    assert status_of("The R wave in V1 is 0.2 mV.", m, "r_amplitude") == "supported"
    assert status_of("The R wave in V1 is 1.0 mV.", m, "r_amplitude") == "contradicted"
    # an S wave is a negative deflection; its size is compared
    assert status_of("S wave of 0.3 mV in V2.", m, "s_amplitude") == "supported"


def test_unmeasured_is_unverifiable_with_reason():
    m = make_measurements(pr=None)
    m["quality"]["unmeasurable"]["pr_ms"] = "no P waves detected"
    v = verify_report("PR interval 160 ms.", m)
    assert v.claims[0].status == "unverifiable" and "no P waves detected" in v.claims[0].evidence
    assert status_of("The P axis is 60 degrees.", make_measurements(), "p_axis") == "supported"
    assert status_of("Q waves of 30 ms duration in III.", make_measurements(leads={"III": {"q_ms": 30.0}}),
                     "q_duration") == "supported"


def test_ranges_state_the_measured_span():
    # RR per beat from R peaks at 500 Hz: 300, 500, 450 samples = 600, 1000, 900 ms
    m = make_measurements(hr=72.0, regular=False, findings=["AF"], r_peaks=[100, 400, 900, 1350])
    assert status_of("RR intervals from 600 to 1000 ms.", m, "rr") == "supported"
    assert status_of("RR intervals from 600 to 1300 ms.", m, "rr") == "contradicted"
    assert status_of("RR intervals from 300 to 1000 ms.", m, "rr") == "contradicted"


def test_maxima_bounds_and_angles():
    m = make_measurements(leads={"V5": {"st_j60_mv": -0.15}, "V6": {"st_j60_mv": -0.08}},
                          findings=[{"code": "ST_DEPRESSION", "leads": ["V5", "V6"], "group": "lateral"}])
    assert status_of("ST depression of up to 1.5 mm in V5-V6.", m, "st_deviation") == "supported"
    assert status_of("ST depression of up to 3 mm in V5-V6.", m, "st_deviation") == "contradicted"
    assert status_of("QRS amplitudes below 1.5 mV in the limb leads.", NORMAL, "qrs_amplitude") == "supported"
    assert status_of("QRS amplitudes below 0.5 mV in the limb leads.", NORMAL, "qrs_amplitude") == "contradicted"
    wrap = make_measurements(axis=178.0)
    assert status_of("Axis -175 degrees.", wrap, "qrs_axis") == "supported"


def test_qtc_correction_named_or_either():
    m = make_measurements(qtc=410.0)      # Bazett 422 in the fixture
    assert status_of("QTc (Bazett) 422 ms.", m, "qtc") == "supported"
    assert status_of("QTcB 470 ms.", m, "qtc") == "contradicted"
    assert status_of("QTc 422 ms.", m, "qtc") == "supported"


def test_rhythm_claims():
    af = make_measurements(regular=False, findings=["AF"])
    assert status_of("Sinus rhythm.", af, "SINUS_RHYTHM") == "contradicted"
    assert status_of("Atrial fibrillation.", af, "AF") == "supported"
    assert status_of("Atrial fibrillation.", NORMAL, "AF") == "contradicted"
    assert status_of("No atrial fibrillation.", NORMAL, "AF") == "supported"
    assert status_of("The rhythm is irregular.", NORMAL, "RHYTHM_REGULAR") == "contradicted"
    none = make_measurements(findings=[])
    assert status_of("Sinus rhythm.", none, "SINUS_RHYTHM") == "unverifiable"
    assert status_of("Sinus bradycardia.", NORMAL, "SINUS_BRADYCARDIA") == "contradicted"
    near = make_measurements(hr=61.5, findings=["SINUS_RHYTHM"])
    assert status_of("Sinus bradycardia.", near, "SINUS_BRADYCARDIA") == "unverifiable"   # borderline rate


def test_conduction_claims_with_borderline_band():
    rbbb = make_measurements(qrs=140.0, findings=["SINUS_RHYTHM", "WIDE_QRS", "RBBB"])
    assert status_of("Right bundle branch block.", rbbb, "RBBB") == "supported"
    assert status_of("Left bundle branch block.", rbbb, "LBBB") == "contradicted"
    assert status_of("Narrow QRS complexes.", rbbb, "WIDE_QRS") == "contradicted"
    assert status_of("First-degree AV block.", NORMAL, "FIRST_DEGREE_AV_BLOCK") == "contradicted"
    border = make_measurements(pr=196.0, findings=["SINUS_RHYTHM"])
    assert status_of("First-degree AV block.", border, "FIRST_DEGREE_AV_BLOCK") == "unverifiable"
    avb = make_measurements(pr=240.0, findings=["SINUS_RHYTHM", "FIRST_DEGREE_AV_BLOCK"])
    assert status_of("First-degree AV block.", avb, "FIRST_DEGREE_AV_BLOCK") == "supported"
    assert status_of("Normal PR interval.", avb, "FIRST_DEGREE_AV_BLOCK") == "contradicted"
    assert status_of("Mobitz II second-degree AV block.", avb, "HIGHER_DEGREE_AV_BLOCK") == "unverifiable"


def test_axis_and_voltage_claims():
    lad = make_measurements(axis=-50.0, findings=["SINUS_RHYTHM", "LEFT_AXIS_DEVIATION"])
    assert status_of("Left axis deviation.", lad, "LEFT_AXIS_DEVIATION") == "supported"
    assert status_of("Normal axis.", lad, "NORMAL_AXIS") == "contradicted"
    assert status_of("Right axis deviation.", lad, "RIGHT_AXIS_DEVIATION") == "contradicted"
    lvh = make_measurements(findings=["SINUS_RHYTHM", "LVH_VOLTAGE"],
                            leads={"V1": {"s_mv": -2.0}, "V5": {"r_mv": 2.5}})
    assert status_of("Sokolow-Lyon index 4.5 mV, LVH.", lvh, "sokolow_lyon") == "supported"
    assert status_of("Sokolow-Lyon index 4.5 mV, LVH.", lvh, "LVH_VOLTAGE") == "supported"
    assert status_of("No LVH.", lvh, "LVH_VOLTAGE") == "contradicted"
    assert status_of("Low QRS voltage.", NORMAL, "LOW_VOLTAGE") == "contradicted"


ST_INF = make_measurements(
    findings=["SINUS_RHYTHM", {"code": "ST_ELEVATION", "leads": ["II", "III", "aVF"], "group": "inferior"},
              {"code": "PATHOLOGICAL_Q", "leads": ["III", "aVF"], "group": "inferior"}],
    leads={"II": {"st_j60_mv": 0.2}, "III": {"st_j60_mv": 0.3, "q_ms": 50.0, "q_mv": -0.4},
           "aVF": {"st_j60_mv": 0.25, "q_ms": 45.0, "q_mv": -0.3}, "V2": {"t_mv": -0.3}, "V3": {"t_mv": -0.2}})


def test_lead_group_claims():
    assert status_of("ST elevation in the inferior leads.", ST_INF, "ST_ELEVATION") == "supported"
    assert status_of("Inferior ST elevation.", ST_INF, "ST_ELEVATION") == "supported"
    assert status_of("ST elevation in V3 and V4.", ST_INF, "ST_ELEVATION") == "contradicted"
    assert status_of("ST elevation.", ST_INF, "ST_ELEVATION") == "supported"
    assert status_of("No ST elevation.", ST_INF, "ST_ELEVATION") == "contradicted"
    assert status_of("No ST elevation in V1-V3.", ST_INF, "ST_ELEVATION") == "supported"
    assert status_of("No ST depression.", ST_INF, "ST_DEPRESSION") == "supported"
    assert status_of("Pathological Q waves in III and aVF.", ST_INF, "PATHOLOGICAL_Q") == "supported"
    assert status_of("Pathological Q waves in V1 and V2.", ST_INF, "PATHOLOGICAL_Q") == "contradicted"
    assert status_of("Acute inferior myocardial infarction.", ST_INF, "MYOCARDIAL_INFARCTION") == "supported"
    assert status_of("Old anterior myocardial infarction.", ST_INF, "MYOCARDIAL_INFARCTION") == "contradicted"
    assert status_of("T-wave inversion in V2 and V3.", ST_INF, "T_INVERSION") == "supported"
    assert status_of("T-wave inversion in V5 and V6.", ST_INF, "T_INVERSION") == "contradicted"
    assert status_of("T waves are upright in V5 and V6.", ST_INF, "T_INVERSION") == "supported"
    assert status_of("T waves are upright in V2 and V3.", ST_INF, "T_INVERSION") == "contradicted"
    assert status_of("Normal ECG.", ST_INF, "NORMAL_ECG") == "contradicted"
    assert status_of("Normal ECG.", NORMAL, "NORMAL_ECG") == "supported"


def test_borderline_st_is_not_a_contradiction():
    m = make_measurements(findings=["SINUS_RHYTHM"], leads={"II": {"st_j60_mv": 0.08}, "aVF": {"st_j60_mv": 0.07}})
    assert status_of("ST elevation in II and aVF.", m, "ST_ELEVATION") == "unverifiable"
    assert status_of("ST elevation in V5 and V6.", m, "ST_ELEVATION") == "contradicted"


def test_clinician_labels_take_precedence():
    labels = [{"code": "MYOCARDIAL_INFARCTION", "leads": ["II", "III", "aVF"]}, "LBBB"]
    assert status_of("Inferior myocardial infarction.", NORMAL, "MYOCARDIAL_INFARCTION", labels) == "supported"
    assert status_of("Inferior myocardial infarction.", NORMAL, "MYOCARDIAL_INFARCTION") == "contradicted"
    assert status_of("No infarction.", NORMAL, "MYOCARDIAL_INFARCTION", labels) == "contradicted"
    assert status_of("Left bundle branch block.", NORMAL, "LBBB", labels) == "supported"


def test_verdict_counts_score_and_json():
    text = "Sinus rhythm at 72 bpm. QRS 150 ms. Second-degree AV block type II."
    v = verify_report(text, NORMAL)
    d = json.loads(json.dumps(v.to_dict()))
    assert d["counts"] == {"claims": 4, "supported": 2, "contradicted": 1, "unverifiable": 1}
    assert d["score"] == pytest.approx(0.5)
    assert [c["name"] for c in d["contradictions"]] == ["qrs"]
    for c in d["claims"]:
        assert {"text", "kind", "value", "leads", "status", "evidence"} <= set(c)
        assert c["status"] in ("supported", "contradicted", "unverifiable") and c["evidence"]
    assert not v.fully_supported
    empty = verify_report("The patient was seen today.", NORMAL)
    assert empty.counts["claims"] == 0 and empty.score == 0.0 and not empty.fully_supported


def test_nothing_measured_means_nothing_verified_and_no_crash():
    """A flat ECG (the measurement stage returns nulls): every claim of every corpus paragraph
    is unverifiable; random word salad from the corpus vocabulary never raises."""
    import random

    import numpy as np
    from grounding_corpus import CORPUS, HELDOUT

    from gem_core.measure import measure_ecg

    flat = measure_ecg(np.zeros((12, 5000), np.float32)).to_dict()
    for item in CORPUS + HELDOUT:
        v = verify_report(item["text"], flat)
        assert v.counts["claims"] > 0
        assert [cc.to_dict() for cc in v.claims if cc.status != "unverifiable"] == [], item["id"]
    words = " ".join(c["text"] for c in CORPUS).split()
    rng = random.Random(0)
    for _ in range(100):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 200)))
        verify_report(text, NORMAL).to_dict()
    for odd in ("", "....", "V1-V3-V5-", "120-", "0.12.3 s", "QTc/QT 1/2 ms", "P-R-T axes 1 2", "\u00b0 12"):
        verify_report(odd, flat)


def test_st_form_claims_use_the_per_lead_median_form():
    m = make_measurements(leads={ld: {"median": {"st_form": "upsloping"}} for ld in ("V2", "V3", "V4")})
    assert status_of("Upsloping ST segments in V2-V4.", m, "ST_FORM_UPSLOPING") == "supported"
    assert status_of("The ST segments are horizontal in V2 and V3.", m, "ST_FORM_HORIZONTAL") == "contradicted"
    assert status_of("The ST segments are horizontal in V5 and V6.", m, "ST_FORM_HORIZONTAL") == "supported"
