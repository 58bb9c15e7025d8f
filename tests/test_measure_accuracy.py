"""Measurement accuracy against exact ground truth on 200 synthetic 12-lead ECGs with
realistic noise (white/EMG noise, baseline wander, mains), spanning HR 40-150 bpm, PR
120-320 ms, QRS 70-180 ms, QT ~300-520 ms, every rhythm, conduction and ST/Q condition the
findings cover. Prints the error table and the finding confusion table."""
from __future__ import annotations

import numpy as np
import pytest

from gem_core import synth
from gem_core.measure import measure_ecg

N_CASES = 200
SEED = 2024
FINDING_CODES = ("SINUS_RHYTHM", "SINUS_BRADYCARDIA", "SINUS_TACHYCARDIA", "AF",
                 "FIRST_DEGREE_AV_BLOCK", "WIDE_QRS", "RBBB", "LBBB", "LEFT_AXIS_DEVIATION",
                 "RIGHT_AXIS_DEVIATION", "LONG_QTC", "LOW_VOLTAGE", "LVH_VOLTAGE",
                 "ST_ELEVATION", "ST_DEPRESSION", "PATHOLOGICAL_Q")
# measurement -> (truth key, MAE limit)
LIMITS = {"heart_rate_bpm": ("hr_bpm", 1.0), "pr_ms": ("pr_ms", 10.0), "qrs_ms": ("qrs_ms", 10.0),
          "qt_ms": ("qt_ms", 20.0), "qrs_axis_deg": ("qrs_axis_deg", 15.0)}


@pytest.fixture(scope="module")
def measured():
    cases = synth.make_cohort(N_CASES, seed=SEED)
    return cases, [measure_ecg(c.signal, c.fs) for c in cases]


def test_cohort_spans_the_required_ranges(measured):
    cases, _ = measured
    t = {k: [c.truth[k] for c in cases if c.truth[k] is not None] for k in ("hr_bpm", "pr_ms", "qrs_ms", "qt_ms")}
    assert min(t["hr_bpm"]) <= 42 and max(t["hr_bpm"]) >= 140
    assert min(t["pr_ms"]) <= 125 and max(t["pr_ms"]) >= 300
    assert min(t["qrs_ms"]) <= 75 and max(t["qrs_ms"]) >= 170
    assert min(t["qt_ms"]) <= 310 and max(t["qt_ms"]) >= 500
    noisy = [c for c in cases if c.truth["noise"]["white_mv"] > 0.01 and c.truth["noise"]["wander_mv"] > 0.1]
    assert len(noisy) >= N_CASES // 4


def test_interval_rate_and_axis_errors(measured, capsys):
    cases, ms = measured
    lines, failures = [], []
    for key, (tkey, limit) in LIMITS.items():
        err, missing, n = [], 0, 0
        for c, m in zip(cases, ms):
            tv, mv = c.truth[tkey], m.global_[key]
            if tv is None:
                assert mv is None or key != "pr_ms", f"{c.record_id}: PR measured in AF"
                continue
            n += 1
            if mv is None:
                missing += 1
                continue
            e = mv - tv
            err.append((e + 180) % 360 - 180 if key.endswith("_deg") else e)
        err = np.abs(err)
        mae = float(err.mean())
        lines.append(f"{key:15s} n {n:3d}  MAE {mae:6.2f}  p95 {np.percentile(err, 95):6.1f}  "
                     f"max {err.max():6.1f}  unmeasured {missing}   (limit MAE {limit:g})")
        if mae > limit or missing > 0.02 * n:
            failures.append(key)
    with capsys.disabled():
        print(f"\nmeasurement error on {N_CASES} synthetic ECGs (seed {SEED})\n" + "\n".join(lines))
    assert not failures, f"over the limit: {failures}"


def test_findings_fire_when_built_and_stay_silent_on_normals(measured, capsys, artifacts_dir):
    cases, ms = measured
    rows, problems = [], []
    for code in FINDING_CODES:
        tp = fn = fp = tn = 0
        normal_fp = 0
        for c, m in zip(cases, ms):
            built = any(x.split(":")[0] == code for x in c.truth["findings"])
            fired = any(f["code"] == code for f in m.findings)
            tp += built and fired
            fn += built and not fired
            fp += fired and not built
            tn += not built and not fired
            normal_fp += fired and c.truth["condition"] == "normal" and code != "SINUS_RHYTHM"
        recall = tp / max(tp + fn, 1)
        rows.append(f"{code:22s} {tp:4d} {fn:4d} {fp:4d} {tn:4d}   {recall:6.1%}   {normal_fp}")
        if tp == 0 or recall < 0.9:
            problems.append(f"{code}: fired on {tp} of {tp + fn} cases built for it")
        if normal_fp:
            problems.append(f"{code}: fired on {normal_fp} normal ECGs")
    # lead groups of ST/Q findings: exactly the groups built
    group_errors = [c.record_id for c, m in zip(cases, ms)
                    if {x for x in c.truth["findings"] if ":" in x}
                    != {x for x in m.finding_codes() if ":" in x}]
    exact = sum(set(c.truth["findings"]) == m.finding_codes() for c, m in zip(cases, ms))
    table = ("code                     TP   FN   FP   TN   recall  on normals\n" + "\n".join(rows)
             + f"\nexact finding set on {exact}/{N_CASES} ECGs; ST/Q lead groups wrong on "
             f"{len(group_errors)} ({', '.join(group_errors[:5])})")
    (artifacts_dir / "measure_confusion.txt").write_text(table + "\n")
    with capsys.disabled():
        print("\nfinding confusion (built vs fired)\n" + table)
    assert not problems, problems
    assert len(group_errors) <= 0.03 * N_CASES
    assert exact >= 0.95 * N_CASES


def test_per_beat_fiducials_follow_the_truth(measured):
    """Global fiducials per beat (what the review page draws): matched to the true QRS
    onsets, their QRS onset and T end are within a few samples."""
    cases, ms = measured
    on_err, toff_err = [], []
    for c, m in zip(cases[:60], ms[:60]):
        true_on = np.array([q for q in c.truth["fiducials"]["qrs_on"] if q is not None])
        true_toff = c.truth["fiducials"]["t_off"]
        for q, t in zip(m.fiducials["qrs_on"], m.fiducials["t_off"]):
            if q is None:
                continue
            j = int(np.argmin(np.abs(true_on - q)))
            on_err.append(abs(true_on[j] - q))
            if t is not None and true_toff[j] is not None:
                toff_err.append(abs(true_toff[j] - t))
    assert np.median(on_err) <= 3 and np.percentile(on_err, 95) <= 8          # samples at 500 Hz
    assert np.median(toff_err) <= 5 and np.percentile(toff_err, 90) <= 15
