"""Inputs shared by the grounding tests.

- `make_measurements(...)`: a Measurements dict built by hand, exactly in the schema of
  `MEASUREMENTS_SCHEMA` (all 12 leads, 14 median features, amplitudes, findings, quality,
  fiducials), for unit tests of the verifier rules that must not depend on the measurement
  stage's numbers.
- `grounding_cohort` (session fixture): the shared real records and 200 synthetic ECGs
  (gem_core.synth), prepared and measured with the real measurement stage once per session.
"""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from gem_core.leads import STANDARD_LEADS

REAL_RECORDS = ("ptb/s0010_re", "ptbxl/00001_lr")
N_SYNTH = 200
SYNTH_SEED = 6


def make_measurements(hr=72.0, pr=160.0, qrs=90.0, qt=380.0, qtc=410.0, axis=45.0, regular=True,
                      findings=(), leads=None, r_peaks=None, p_ms=100.0, rr_sd=20.0) -> dict:
    """A schema-complete Measurements dict. `leads` overrides per-lead values:
    {"V1": {"r_mv": 0.3, "median": {"qrs_duration": 100}}}. `findings` are codes or dicts."""
    rr = 60000.0 / hr if hr else None
    base_lead = {"q_mv": 0.0, "r_mv": 1.0, "s_mv": -0.3, "t_mv": 0.3, "st_j60_mv": 0.0, "q_ms": 0.0}
    median = {"heart_rate": hr, "rr_interval_1": rr, "rr_interval_2": rr, "p_amplitude": 0.12,
              "p_duration": p_ms, "pr_interval": pr, "qrs_amplitude": 1.3, "qrs_duration": qrs,
              "t_amplitude": 0.3, "t_duration": 160.0, "st_duration": 100.0, "st_form": "horizontal",
              "qt": qt, "qtc": qtc}
    out_leads = {}
    for ld in STANDARD_LEADS:
        d = dict(base_lead, median=dict(median))
        d["beats"] = {k: [v] * 8 for k, v in median.items()}
        for k, v in ((leads or {}).get(ld) or {}).items():
            if k == "median":
                d["median"].update(v)
            else:
                d[k] = v
        out_leads[ld] = d
    if r_peaks is None and rr:
        step = int(round(rr / 2))   # samples at 500 Hz
        r_peaks = list(range(100, 5000, step))
    fs = []
    for f in findings:
        fs.append({"code": f, "label": f.lower(), "evidence": "hand-built", "leads": []} if isinstance(f, str)
                  else {"label": f["code"].lower(), "evidence": "hand-built", **f})
    return {
        "global": {"heart_rate_bpm": hr, "rr_ms": rr, "rr_sd_ms": rr_sd, "pr_ms": pr, "p_ms": p_ms, "qrs_ms": qrs,
                   "qt_ms": qt, "qtc_ms": qtc, "qtc_method": "fridericia", "qtc_bazett_ms": qtc + 12 if qtc else None,
                   "qtc_fridericia_ms": qtc, "p_axis_deg": 50.0, "qrs_axis_deg": axis, "t_axis_deg": 40.0,
                   "rhythm_regular": regular, "n_beats": len(r_peaks or [])},
        "leads": out_leads,
        "findings": fs,
        "quality": {"leads": {ld: {"usable": True, "reason": None} for ld in STANDARD_LEADS}, "unmeasurable": {}},
        "fiducials": {"r_peaks": list(r_peaks or []), **{k: [None] * len(r_peaks or [])
                                                         for k in ("p_on", "p_off", "qrs_on", "qrs_off", "t_on", "t_off")}},
    }


def with_changes(m: dict, **global_changes) -> dict:
    out = copy.deepcopy(m)
    out["global"].update(global_changes)
    return out


_COHORT: list[dict] = []   # filled once per process: several test modules import the fixture


@pytest.fixture(scope="session")
def grounding_cohort(shared_ecg: Path) -> list[dict]:
    """[{source, record_id, uri, signal, measurements, report}] for the real records and
    N_SYNTH synthetic ECGs, measured once."""
    if not _COHORT:
        _COHORT.extend(_measure_cohort(shared_ecg))
    return _COHORT


def _measure_cohort(shared_ecg: Path) -> list[dict]:
    from gem_core.grounding.knowledge import clinician_text_from_metadata
    from gem_core.measure import measure_ecg
    from gem_core.prepare import load_prepared
    from gem_core.synth import make_cohort

    out = []
    for rel in REAL_RECORDS:
        p = load_prepared(str(shared_ecg / rel))
        out.append({"source": "real", "record_id": rel, "uri": str(shared_ecg / rel), "signal": p.signal,
                    "measurements": measure_ecg(p.signal, p.fs).to_dict(),
                    "report": clinician_text_from_metadata(p.metadata)})
    for ecg in make_cohort(N_SYNTH, seed=SYNTH_SEED):
        out.append({"source": "synthetic", "record_id": ecg.record_id, "uri": f"synth://{ecg.record_id}",
                    "signal": ecg.signal, "condition": ecg.truth["condition"],
                    "measurements": measure_ecg(ecg.signal, ecg.fs).to_dict(), "report": None})
    return out
