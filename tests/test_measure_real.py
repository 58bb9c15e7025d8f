"""Measurements on the real PTB and PTB-XL records: every global value present and
physiological, the dict exactly as the schema says, and the same record measured from its
native rate (1000 Hz, 100 Hz) and from a 500 Hz copy agreeing within 4 ms."""
from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest

from gem_core.leads import STANDARD_LEADS
from gem_core.measure import measure_ecg
from gem_core.prepare import load_prepared

RECORDS = ["ptb/s0010_re", "ptbxl/00001_lr"]
# Physiological ranges (adult ECGs, generous): a value outside is a measurement failure.
RANGES = {"heart_rate_bpm": (30, 200), "rr_ms": (300, 2000), "rr_sd_ms": (0, 300),
          "pr_ms": (80, 400), "p_ms": (40, 160), "qrs_ms": (50, 200), "qt_ms": (250, 600),
          "qtc_ms": (300, 600), "qtc_bazett_ms": (300, 650), "qtc_fridericia_ms": (300, 600),
          "p_axis_deg": (-90, 120), "qrs_axis_deg": (-180, 180), "t_axis_deg": (-180, 180)}
GLOBAL_KEYS = set(RANGES) | {"qtc_method", "rhythm_regular", "n_beats"}
GEM_FEATURES = {"heart_rate", "rr_interval_1", "rr_interval_2", "p_amplitude", "p_duration",
                "pr_interval", "qrs_amplitude", "qrs_duration", "t_amplitude", "t_duration",
                "st_duration", "st_form", "qt", "qtc"}


@pytest.fixture(scope="module", params=RECORDS)
def real(request, shared_ecg):
    uri = str(shared_ecg / request.param)
    prepared = load_prepared(uri)
    return uri, prepared, measure_ecg(prepared.signal, prepared.fs).to_dict()


def test_all_global_values_present_and_physiological(real):
    uri, _, d = real
    g = d["global"]
    assert set(g) == GLOBAL_KEYS
    for key, (lo, hi) in RANGES.items():
        assert g[key] is not None, f"{uri}: {key} missing ({d['quality']['unmeasurable'].get(key)})"
        assert lo <= g[key] <= hi, f"{uri}: {key} = {g[key]}"
    assert g["rhythm_regular"] is True and 8 <= g["n_beats"] <= 16     # 10 s, regular sinus
    assert g["qtc_method"] == "fridericia"
    assert abs(g["qtc_fridericia_ms"] - g["qt_ms"] / (g["rr_ms"] / 1000) ** (1 / 3)) < 0.2
    assert d["quality"]["unmeasurable"] == {}
    codes = {f["code"] for f in d["findings"]}
    assert "SINUS_RHYTHM" in codes and "AF" not in codes


def test_dict_follows_the_schema_and_is_json_safe(real):
    _, _, d = real
    text = json.dumps(d, allow_nan=False)             # no NaN anywhere
    assert json.loads(text) == d
    assert set(d) == {"global", "leads", "findings", "quality", "fiducials"}
    assert list(d["leads"]) == list(STANDARD_LEADS)
    n_b = d["global"]["n_beats"]
    for lead, v in d["leads"].items():
        assert set(v) >= {"beats", "median", "q_mv", "r_mv", "s_mv", "t_mv", "st_j60_mv"}
        assert set(v["beats"]) == GEM_FEATURES and set(v["median"]) == GEM_FEATURES
        assert all(len(x) == n_b for x in v["beats"].values())
        assert all(s in (None, "upsloping", "horizontal", "downsloping") for s in v["beats"]["st_form"])
        assert v["q_mv"] <= 0 <= v["r_mv"] and v["s_mv"] <= 0
    assert set(d["fiducials"]) == {"r_peaks", "p_on", "p_off", "qrs_on", "qrs_off", "t_on", "t_off"}
    assert all(len(x) == n_b for x in d["fiducials"].values())
    ok = [i for i in range(n_b) if None not in (d["fiducials"]["p_on"][i], d["fiducials"]["t_off"][i])]
    assert len(ok) >= n_b - 2
    for i in ok:   # in order within each beat, at 500 Hz sample indices
        f = {k: d["fiducials"][k][i] for k in d["fiducials"]}
        assert f["p_on"] < f["p_off"] <= f["qrs_on"] < f["r_peaks"] < f["qrs_off"] < f["t_on"] < f["t_off"] < 5000
    assert set(d["quality"]["leads"]) == set(STANDARD_LEADS)
    for f in d["findings"]:
        assert {"code", "label", "evidence", "leads"} <= set(f) and f["evidence"]
        if f["code"] in ("ST_ELEVATION", "ST_DEPRESSION", "PATHOLOGICAL_Q"):
            assert f["group"] in ("inferior", "lateral", "anterior", "septal") and f["leads"]


def test_ptb_s0010_inferior_infarct_shows(shared_ecg):
    """PTB patient001: acute infero-lateral infarction. Q waves in the inferior leads are
    the infarct's lasting sign; the 12 leads must all be usable."""
    d = measure_ecg(load_prepared(str(shared_ecg / "ptb" / "s0010_re")).signal).to_dict()
    groups = {f.get("group") for f in d["findings"] if f["code"] == "PATHOLOGICAL_Q"}
    assert "inferior" in groups
    assert all(q["usable"] for q in d["quality"]["leads"].values())


def _write_500hz_copy(record, out_dir):
    import wfdb
    from scipy.signal import resample_poly

    ratio = Fraction(500) / Fraction(record.fs).limit_denominator(1000)
    x = resample_poly(record.signal.astype(np.float64), ratio.numerator, ratio.denominator, axis=1)
    name = record.record_id + "_500hz"
    wfdb.wrsamp(name, fs=500, units=["mV"] * len(record.lead_names), sig_name=record.lead_names,
                p_signal=x.T, fmt=["16"] * len(record.lead_names),
                adc_gain=[1000.0] * len(record.lead_names), baseline=[0] * len(record.lead_names),
                write_dir=str(out_dir))
    return out_dir / name


@pytest.mark.parametrize("rel", RECORDS)
def test_native_rate_and_500hz_copy_agree(rel, shared_ecg, tmp_path):
    from gem_core.records import read_record

    uri = str(shared_ecg / rel)
    record = read_record(uri)
    assert record.fs != 500
    copy = _write_500hz_copy(record, tmp_path)
    assert read_record(str(copy)).fs == 500
    a = measure_ecg(load_prepared(uri).signal).global_
    b = measure_ecg(load_prepared(str(copy)).signal).global_
    for key in ("pr_ms", "p_ms", "qrs_ms", "qt_ms", "rr_ms"):
        assert a[key] is not None and b[key] is not None
        assert abs(a[key] - b[key]) <= 4.0, f"{rel} {key}: native {a[key]} vs 500 Hz copy {b[key]}"
    assert abs(a["qrs_axis_deg"] - b["qrs_axis_deg"]) <= 5.0


def test_flat_and_noise_only_ecgs_give_nulls_and_flags():
    rng = np.random.default_rng(0)
    for signal, reason in ((np.zeros((12, 5000), np.float32), "no lead carries a signal"),
                           (rng.normal(0, 0.1, (12, 5000)).astype(np.float32), "noise")):
        d = measure_ecg(signal).to_dict()
        json.dumps(d, allow_nan=False)
        g = d["global"]
        assert all(g[k] is None for k in RANGES), g
        assert d["findings"] == []
        assert reason in " ".join(d["quality"]["unmeasurable"].values())
        assert not any(q["usable"] for q in d["quality"]["leads"].values())
        assert all(q["reason"] for q in d["quality"]["leads"].values())


def test_one_dead_lead_is_flagged_and_the_rest_measured(shared_ecg):
    prepared = load_prepared(str(shared_ecg / "ptbxl" / "00001_lr"))
    sig = prepared.signal.copy()
    sig[STANDARD_LEADS.index("V4")] = 0.0
    d = measure_ecg(sig).to_dict()
    assert d["quality"]["leads"]["V4"] == {"usable": False, "reason": "flat line (no signal)"}
    assert d["leads"]["V4"]["r_mv"] is None and d["leads"]["V4"]["median"]["qrs_duration"] is None
    assert all(d["global"][k] is not None for k in ("heart_rate_bpm", "pr_ms", "qrs_ms", "qt_ms"))
    assert math.isclose(d["global"]["qrs_ms"], measure_ecg(prepared.signal).global_["qrs_ms"], abs_tol=6)
