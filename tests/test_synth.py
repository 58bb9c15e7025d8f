"""The synthetic 12-lead generator: exact limb-lead relations, truth consistent with the
waveforms, determinism, the intended labels per condition, and the WFDB files it writes."""
from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from gem_core import synth
from gem_core.leads import STANDARD_LEADS


def lead(sig, name):
    return sig[STANDARD_LEADS.index(name)].astype(np.float64)


def test_limb_leads_obey_einthoven_and_goldberger_with_noise():
    case = synth.make_case(np.random.default_rng(1), "right_axis", noise="high")
    s = case.signal
    i, ii = lead(s, "I"), lead(s, "II")
    tol = 1e-5   # float32 storage
    assert np.abs(lead(s, "III") - (ii - i)).max() < tol
    assert np.abs(lead(s, "aVR") + (i + ii) / 2).max() < tol
    assert np.abs(lead(s, "aVL") - (i - ii / 2)).max() < tol
    assert np.abs(lead(s, "aVF") - (ii - i / 2)).max() < tol


def test_truth_matches_the_noise_free_waveform():
    """Onsets/offsets are where the clean waves start and stop; the axis is the frontal angle
    of the limb leads' net QRS area (what a measurement of the clean ECG must find)."""
    case = synth.make_case(np.random.default_rng(5), "normal", noise="none")
    s, t, f = case.signal.astype(np.float64), case.truth, case.truth["fiducials"]
    k = 3                                            # a beat well inside the record
    p_on, qrs_on, qrs_off, t_off = f["p_on"][k], f["qrs_on"][k], f["qrs_off"][k], f["t_off"][k]
    mag = np.abs(s).max(axis=0)
    assert mag[p_on - 5:p_on].max() < 1e-6 < mag[p_on + 2]            # nothing before P onset
    assert mag[qrs_on - 3:qrs_on + 1].max() < 0.3 * mag[qrs_on + 8]   # QRS starts there
    assert abs((qrs_off - qrs_on) * 2 - t["qrs_ms"]) <= 2
    assert abs((t_off - qrs_on) * 2 - t["qt_ms"]) <= 2
    assert abs((qrs_on - p_on) * 2 - t["pr_ms"]) <= 2
    # T end is where the tangent at the steepest descent meets the baseline
    y = s[np.argmax(np.abs(s[:, t_off - 40]))]
    dy = np.gradient(y)
    seg = slice(t_off - 60, t_off + 10)
    j = seg.start + np.argmax(-np.sign(y[t_off - 40]) * dy[seg])
    assert abs(j - y[j] / dy[j] - t_off) <= 2.0
    # axis from net QRS area in I and aVF (aVF = sqrt(3)/2 x the inferior component)
    area_i = lead(s, "I")[qrs_on:qrs_off].sum()
    area_avf = lead(s, "aVF")[qrs_on:qrs_off].sum()
    axis = math.degrees(math.atan2(area_avf / (math.sqrt(3) / 2), area_i))
    assert abs(axis - t["qrs_axis_deg"]) < 1.0
    # rate and QTc
    rr = np.diff([q for q in f["qrs_on"] if q is not None]) * 2.0
    assert abs(60000 / rr.mean() - t["hr_bpm"]) < 1e-6
    assert abs(t["qtc_fridericia_ms"] - t["qt_ms"] / (t["rr_ms"] / 1000) ** (1 / 3)) < 1e-6


def test_deterministic_for_a_seed():
    a = synth.make_cohort(6, seed=9)
    b = synth.make_cohort(6, seed=9)
    c = synth.make_cohort(6, seed=10)
    for x, y in zip(a, b):
        assert np.array_equal(x.signal, y.signal) and x.truth == y.truth
    assert not np.array_equal(a[1].signal, c[1].signal)


EXPECTED = {
    "af": {"AF"}, "first_degree_av_block": {"FIRST_DEGREE_AV_BLOCK"},
    "rbbb": {"RBBB", "WIDE_QRS"}, "lbbb": {"LBBB", "WIDE_QRS"},
    "left_axis": {"LEFT_AXIS_DEVIATION"}, "right_axis": {"RIGHT_AXIS_DEVIATION"},
    "long_qt": {"LONG_QTC"}, "low_voltage": {"LOW_VOLTAGE"}, "lvh": {"LVH_VOLTAGE"},
    "ste_inferior": {"ST_ELEVATION:inferior"}, "ste_anterior": {"ST_ELEVATION:anterior"},
    "std_anterolateral": {"ST_DEPRESSION:lateral"}, "q_inferior": {"PATHOLOGICAL_Q:inferior"},
    "q_anterior": {"PATHOLOGICAL_Q:anterior"},
    "inferior_mi": {"PATHOLOGICAL_Q:inferior", "ST_ELEVATION:inferior"},
    "sinus_bradycardia": {"SINUS_BRADYCARDIA"}, "sinus_tachycardia": {"SINUS_TACHYCARDIA"},
}


@pytest.mark.parametrize("condition", synth.CONDITIONS)
def test_each_condition_carries_its_labels(condition):
    case = synth.make_case(np.random.default_rng(3), condition)
    codes = set(case.truth["findings"])
    rhythm = codes & {"SINUS_RHYTHM", "SINUS_BRADYCARDIA", "SINUS_TACHYCARDIA", "AF"}
    assert len(rhythm) == 1
    if condition == "normal":
        assert codes == {"SINUS_RHYTHM"}
    else:
        assert EXPECTED[condition] <= codes
    if "AF" in codes:
        assert case.truth["pr_ms"] is None and case.truth["rhythm_regular"] is False


def test_unknown_condition_is_refused():
    with pytest.raises(ValueError, match="unknown condition"):
        synth.make_case(np.random.default_rng(0), "torsades")


def test_cli_writes_records_truth_and_manifest(tmp_path, capsys):
    from gem_core.records import read_record
    from jobs.cli import main

    out = tmp_path / "cohort"
    assert main(["synth", "--out", str(out), "--n", "6", "--seed", "4", "--json"]) == 0
    said = json.loads(capsys.readouterr().out)
    assert said["n"] == 6
    with open(out / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["record_id"] for r in rows] == said["records"] and list(rows[0]) == ["record_id", "uri"]
    in_memory = synth.make_cohort(6, seed=4)
    conditions = {json.loads((out / f"{r['record_id']}.truth.json").read_text())["condition"] for r in rows}
    assert len(conditions) >= 5                        # a varied cohort, not six normals
    for row, case in zip(rows, in_memory):
        rec = read_record(row["uri"])
        truth = json.loads((out / f"{row['record_id']}.truth.json").read_text())
        assert rec.fs == 500 and rec.lead_names == list(STANDARD_LEADS) and rec.signal.shape == (12, 5000)
        assert np.abs(rec.signal - case.signal).max() <= 0.0005 + 1e-6     # 1 uV steps
        assert truth["findings"] == case.truth["findings"] and truth["record_id"] == row["record_id"]
