"""R-peak detection: MIT-BIH record 100 against the expert annotations, any rate, any
length, and the `gem-ecg beats` verb on records of any shape."""
from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.signal import resample_poly

from gem_core.measure import detect_r_peaks
from gem_core.records import read_record

# ANSI/AAMI EC57 beat annotation codes (everything else in an .atr file is rhythm, noise or
# signal-quality markup, not a beat).
BEAT_SYMBOLS = set("NLRBAaJSVrFejnE/fQ?")
TOLERANCE_S = 0.150


def match(ref: np.ndarray, det: np.ndarray, tol: int) -> tuple[int, int, int]:
    """(true positives, false negatives, false positives): one-to-one within `tol` samples."""
    def nearest(a, b):
        j = np.clip(np.searchsorted(b, a), 1, len(b) - 1)
        return np.minimum(np.abs(b[j] - a), np.abs(b[j - 1] - a))

    tp = int((nearest(ref, det) <= tol).sum())
    fp = int((nearest(det, ref) > tol).sum())
    return tp, len(ref) - tp, fp


def test_mitbih_100_against_expert_annotations(shared_ecg, capsys):
    import wfdb

    path = shared_ecg / "mitdb" / "100"
    record = read_record(str(path))
    ann = wfdb.rdann(str(path), "atr")
    ref = np.array([s for s, sym in zip(ann.sample, ann.symbol) if sym in BEAT_SYMBOLS])
    lead = record.lead_names.index("MLII")
    det = detect_r_peaks(record.signal[lead], record.fs)
    assert record.signal.shape[1] / record.fs > 1800          # the whole 30 min
    tp, fn, fp = match(ref, det, int(TOLERANCE_S * record.fs))
    se, ppv = tp / (tp + fn), tp / (tp + fp)
    with capsys.disabled():
        print(f"\nMIT-BIH 100 MLII: {len(ref)} annotated beats, {len(det)} detected, "
              f"TP {tp} FN {fn} FP {fp}: Se {se:.4%}, +P {ppv:.4%}")
    assert len(ref) == 2273
    assert se >= 0.995 and ppv >= 0.995


@pytest.mark.parametrize("fs_out", [100, 128, 250, 1000])
def test_any_rate_and_length(fs_out):
    """A synthetic lead II at other rates, and a 3 s piece: every beat found, no extras."""
    from gem_core.synth import make_case

    case = make_case(np.random.default_rng(11), "sinus_tachycardia")
    onsets = np.array([q for q in case.truth["fiducials"]["qrs_on"] if q is not None])
    x = resample_poly(case.signal[1].astype(np.float64), fs_out, 500)
    ref = np.round(onsets * fs_out / 500).astype(int)
    det = detect_r_peaks(x, fs_out)
    tp, fn, fp = match(ref, det, int(0.1 * fs_out))   # QRS onset to R peak < 100 ms
    assert (fn, fp) == (0, 0)

    piece = x[: 3 * fs_out]
    det = detect_r_peaks(piece, fs_out)
    ref_piece = ref[(ref > 0.05 * fs_out) & (ref < 3 * fs_out - 0.1 * fs_out)]
    tp, fn, _ = match(ref_piece, det, int(0.1 * fs_out))
    assert fn == 0 and len(det) <= len(ref_piece) + 1


def test_nothing_to_detect_returns_empty():
    assert detect_r_peaks(np.zeros(5000), 500).size == 0
    assert detect_r_peaks(np.ones(100), 500).size == 0                 # shorter than 0.5 s
    x = np.full(5000, np.nan)
    assert detect_r_peaks(x, 500).size == 0


def _beats(cli_args, capsys):
    from jobs.cli import main

    rc = main(["beats", *cli_args])
    out = capsys.readouterr()
    return rc, out


def test_beats_cli_two_lead_record(shared_ecg, capsys):
    rc, out = _beats([str(shared_ecg / "mitdb" / "100"), "--json"], capsys)
    assert rc == 0
    d = json.loads(out.out)
    assert d["fs"] == 360.0 and d["lead"] == "MLII"
    assert abs(len(d["r_peaks"]) - 2273) <= 2
    assert d["r_peaks"] == sorted(d["r_peaks"]) and d["r_peaks"][-1] < 650000

    rc, out = _beats([str(shared_ecg / "mitdb" / "100.hea"), "--lead", "v5", "--json"], capsys)
    assert rc == 0 and json.loads(out.out)["lead"] == "V5"


def test_beats_cli_12_lead_default_lead_ii_and_bad_lead(shared_ecg, capsys):
    rc, out = _beats([str(shared_ecg / "ptb" / "s0010_re"), "--json"], capsys)
    d = json.loads(out.out)
    assert rc == 0 and d["lead"] == "ii" and d["fs"] == 1000.0
    rr = np.diff(d["r_peaks"]) / d["fs"]
    assert 45 <= len(d["r_peaks"]) <= 60 and 0.6 < np.median(rr) < 0.9   # 38.4 s near 80 bpm

    rc, out = _beats([str(shared_ecg / "ptb" / "s0010_re"), "--lead", "V9"], capsys)
    assert rc == 1 and "s0010_re" in out.err and "V9" in out.err
