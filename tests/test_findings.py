"""Finding criteria on stated values: each rule fires at its threshold, not below, with
evidence naming the values and leads; suppressions (LBBB) and lead groups as cited."""
from __future__ import annotations

from gem_core.leads import LIMB_LEADS, STANDARD_LEADS
from gem_core.measure import findings as F

LEADS = STANDARD_LEADS


def amps(**over) -> dict:
    """A normal 12-lead set of per-lead values, with overrides as {lead: {key: value}}."""
    base = {"pp": 1.0, "q": 0.0, "q_ms": 0.0, "r": 0.8, "s": -0.2, "r_peak_time_ms": 30.0,
            "terminal": 0.0, "st_j60": 0.0, "st_slope": 0.0, "st_form": "horizontal", "p_mv": 0.12}
    out = {ld: dict(base) for ld in LEADS}
    for ld, kv in over.items():
        out[ld].update(kv)
    return out


def g(**over) -> dict:
    base = {"heart_rate_bpm": 72.0, "rr_ms": 833.0, "rr_sd_ms": 12.0, "pr_ms": 160.0, "qrs_ms": 90.0,
            "qt_ms": 380.0, "qtc_ms": 404.0, "qtc_method": "fridericia", "qrs_axis_deg": 45.0,
            "rhythm_regular": True}
    base.update(over)
    return base


def codes(found) -> set[str]:
    return {f["code"] + (":" + f["group"] if "group" in f else "") for f in found}


def derive(glob=None, a=None, p=True, irr=0.02):
    return F.derive_findings(glob or g(), a or amps(), p, irr)


def test_normal_ecg_is_sinus_rhythm_only():
    found = derive()
    assert codes(found) == {"SINUS_RHYTHM"}
    assert "HR 72 bpm" in found[0]["evidence"] and "II" in found[0]["evidence"]


def test_rate_thresholds():
    assert codes(derive(g(heart_rate_bpm=59.9))) == {"SINUS_BRADYCARDIA"}
    assert codes(derive(g(heart_rate_bpm=60.0))) == {"SINUS_RHYTHM"}
    assert codes(derive(g(heart_rate_bpm=100.0))) == {"SINUS_RHYTHM"}
    assert codes(derive(g(heart_rate_bpm=100.1))) == {"SINUS_TACHYCARDIA"}


def test_af_needs_irregular_rr_and_no_p_waves():
    assert codes(derive(p=False, irr=0.2)) == {"AF"}
    assert codes(derive(p=False, irr=0.05)) == set()            # regular without P: not AF
    assert codes(derive(p=True, irr=0.2)) == {"SINUS_RHYTHM"}   # P waves: sinus arrhythmia
    assert codes(derive(g(pr_ms=None), p=False, irr=0.3)) == {"AF"}
    inverted = amps(II={"p_mv": -0.1})                           # P not upright in II
    assert "SINUS_RHYTHM" not in codes(derive(a=inverted))


def test_first_degree_av_block_only_in_sinus_rhythm():
    found = derive(g(pr_ms=201.0))
    assert "FIRST_DEGREE_AV_BLOCK" in codes(found)
    assert "PR 201 ms" in next(f for f in found if f["code"] == "FIRST_DEGREE_AV_BLOCK")["evidence"]
    assert "FIRST_DEGREE_AV_BLOCK" not in codes(derive(g(pr_ms=200.0)))
    assert "FIRST_DEGREE_AV_BLOCK" not in codes(derive(g(pr_ms=260.0), p=False, irr=0.3))


def test_bundle_branch_blocks_by_morphology():
    rbbb = amps(V1={"terminal": 0.4}, I={"terminal": -0.2}, V6={"terminal": -0.2})
    assert codes(derive(g(qrs_ms=140.0), rbbb)) >= {"WIDE_QRS", "RBBB"}
    assert codes(derive(g(qrs_ms=110.0), rbbb)) == {"SINUS_RHYTHM"}   # narrow: no BBB
    lbbb = amps(V1={"terminal": -0.5}, V5={"r_peak_time_ms": 80.0}, V6={"r_peak_time_ms": 85.0, "r": 1.2})
    found = derive(g(qrs_ms=150.0), lbbb)
    assert codes(found) >= {"WIDE_QRS", "LBBB"} and "RBBB" not in codes(found)
    ev = next(f for f in found if f["code"] == "LBBB")["evidence"]
    assert "V5 80 ms" in ev and "V6 85 ms" in ev
    with_q = dict(lbbb, V6=dict(lbbb["V6"], q=-0.15, q_ms=20.0))       # septal q in V6: not LBBB
    assert "LBBB" not in codes(derive(g(qrs_ms=150.0), with_q))
    assert codes(derive(g(qrs_ms=150.0))) == {"SINUS_RHYTHM", "WIDE_QRS"}   # no morphology


def test_axis_deviation_bounds():
    assert "LEFT_AXIS_DEVIATION" in codes(derive(g(qrs_axis_deg=-31.0)))
    assert "LEFT_AXIS_DEVIATION" not in codes(derive(g(qrs_axis_deg=-30.0)))
    assert "RIGHT_AXIS_DEVIATION" in codes(derive(g(qrs_axis_deg=91.0)))
    assert "RIGHT_AXIS_DEVIATION" not in codes(derive(g(qrs_axis_deg=90.0)))
    extreme = codes(derive(g(qrs_axis_deg=-120.0)))                    # north-west: neither
    assert not extreme & {"LEFT_AXIS_DEVIATION", "RIGHT_AXIS_DEVIATION"}


def test_long_qtc():
    assert "LONG_QTC" in codes(derive(g(qtc_ms=461.0)))
    assert "LONG_QTC" not in codes(derive(g(qtc_ms=460.0)))


def test_voltage_criteria():
    low = amps(**{ld: {"pp": 0.4} for ld in LIMB_LEADS})
    assert "LOW_VOLTAGE" in codes(derive(a=low))
    one_big = amps(**{ld: {"pp": 0.4} for ld in LIMB_LEADS if ld != "II"})
    assert "LOW_VOLTAGE" not in codes(derive(a=one_big))
    sokolow = amps(V1={"s": -1.6}, V5={"r": 2.0})                      # 3.6 mV
    found = derive(a=sokolow)
    assert "LVH_VOLTAGE" in codes(found)
    assert "Sokolow-Lyon" in next(f for f in found if f["code"] == "LVH_VOLTAGE")["evidence"]
    assert "LVH_VOLTAGE" not in codes(derive(a=amps(V1={"s": -1.4}, V5={"r": 2.0})))
    assert "LVH_VOLTAGE" in codes(derive(a=amps(aVL={"r": 1.2})))       # R(aVL) >= 1.1 mV
    cornell = amps(aVL={"r": 1.0}, V3={"s": -1.9})                      # 2.9 mV
    assert "LVH_VOLTAGE" in codes(derive(a=cornell))
    lbbb = dict(sokolow, V1=dict(sokolow["V1"], terminal=-0.5),
                V5=dict(sokolow["V5"], r_peak_time_ms=80.0), V6=dict(sokolow["V6"], r_peak_time_ms=80.0))
    assert "LVH_VOLTAGE" not in codes(derive(g(qrs_ms=150.0), lbbb))   # not with LBBB


def test_st_elevation_needs_two_contiguous_leads_of_a_group():
    inferior = amps(II={"st_j60": 0.15}, aVF={"st_j60": 0.12})
    found = derive(a=inferior)
    st = [f for f in found if f["code"] == "ST_ELEVATION"]
    assert [f["group"] for f in st] == ["inferior"] and st[0]["leads"] == ["II", "aVF"]
    assert "II +0.15 mV" in st[0]["evidence"]
    single = amps(III={"st_j60": 0.3})
    assert "ST_ELEVATION" not in {f["code"] for f in derive(a=single)}
    across = amps(I={"st_j60": 0.2}, V6={"st_j60": 0.2})                 # lateral, not contiguous
    assert "ST_ELEVATION" not in {f["code"] for f in derive(a=across)}
    v2v3 = amps(V2={"st_j60": 0.15}, V3={"st_j60": 0.15}, V1={"st_j60": 0.15}, V4={"st_j60": 0.15})
    assert "ST_ELEVATION" not in {f["code"] for f in derive(a=v2v3)}   # V2-V3 need 0.2 mV
    v2v3 = amps(V1={"st_j60": 0.15}, V2={"st_j60": 0.25})
    assert codes(derive(a=v2v3)) == {"SINUS_RHYTHM", "ST_ELEVATION:septal"}


def test_st_depression_not_upsloping():
    lateral = amps(V5={"st_j60": -0.1}, V6={"st_j60": -0.08, "st_form": "downsloping"})
    assert "ST_DEPRESSION:lateral" in codes(derive(a=lateral))
    up = amps(V5={"st_j60": -0.1, "st_form": "upsloping"}, V6={"st_j60": -0.1, "st_form": "upsloping"})
    assert "ST_DEPRESSION:lateral" not in codes(derive(a=up))


def test_pathological_q_and_lbbb_suppression():
    q = amps(II={"q": -0.3, "q_ms": 45.0}, III={"q": -0.4, "q_ms": 50.0})
    found = derive(a=q)
    assert "PATHOLOGICAL_Q:inferior" in codes(found)
    ev = next(f for f in found if f["code"] == "PATHOLOGICAL_Q")["evidence"]
    assert "II 45 ms 0.30 mV" in ev
    narrow = amps(II={"q": -0.3, "q_ms": 30.0}, III={"q": -0.4, "q_ms": 35.0})
    assert "PATHOLOGICAL_Q:inferior" not in codes(derive(a=narrow))
    shallow = amps(II={"q": -0.05, "q_ms": 45.0}, III={"q": -0.05, "q_ms": 50.0})
    assert "PATHOLOGICAL_Q:inferior" not in codes(derive(a=shallow))
    lbbb = amps(V1={"terminal": -0.5, "q": -0.8, "q_ms": 140.0}, V2={"q": -1.0, "q_ms": 140.0, "st_j60": 0.3},
                V3={"st_j60": 0.3}, V5={"r_peak_time_ms": 80.0}, V6={"r_peak_time_ms": 90.0})
    found = codes(derive(g(qrs_ms=150.0), lbbb))
    assert "LBBB" in found and not {c for c in found if c.startswith(("PATHOLOGICAL_Q", "ST_"))}


def test_no_findings_without_a_rate():
    assert F.derive_findings(g(heart_rate_bpm=None), amps(), None, None) == []
