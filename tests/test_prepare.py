"""Reading and preparing real and constructed WFDB records (issue: foundation)."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.io
import scipy.signal
import wfdb

from gem_core.leads import STANDARD_LEADS
from gem_core.prepare import load_prepared, prepare
from gem_core.records import read_record


def corr(a, b) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def write_record(directory, name, signal_mv, fs, names, fmt="16", units="mV", comments=None):
    """Write (n_channels, N) millivolts as a WFDB record; returns its path (no extension)."""
    signal_mv = np.asarray(signal_mv, dtype=np.float64)
    scale = {"mV": 1.0, "uV": 1000.0, "V": 1e-3}[units]
    wfdb.wrsamp(name, fs=fs, units=[units] * len(names), sig_name=list(names),
                p_signal=(signal_mv * scale).T, fmt=[fmt] * len(names),
                comments=comments or [], write_dir=str(directory))
    return directory / name


def raw(path, channel):
    rec = wfdb.rdrecord(str(path))
    return rec.p_signal[:, rec.sig_name.index(channel)], rec.fs


@pytest.mark.parametrize("name, lead_ii", [("ptb/s0010_re", "ii"), ("ptbxl/00001_lr", "II")])
def test_real_records_prepare_to_standard_12x5000(shared_ecg, name, lead_ii):
    prepared = load_prepared(str(shared_ecg / name))
    assert prepared.signal.shape == (12, 5000) and prepared.signal.dtype == np.float32
    assert prepared.leads == STANDARD_LEADS and prepared.fs == 500
    assert list(prepared.mapping) == list(STANDARD_LEADS)
    assert prepared.flags.derived_leads == [] and prepared.flags.padded_s == 0
    # Independent resampling (FFT method, not the polyphase filter under test) of the
    # first 10 s of the source lead II.
    x, fs = raw(shared_ecg / name, lead_ii)
    ref = scipy.signal.resample(x[: int(10 * fs)], 5000)
    c = corr(prepared.signal[1], ref)
    print(f"{name}: corr(prepared II, FFT-resampled source II) = {c:.6f}")
    assert c > 0.999
    # Lead-to-lead identity survives: every channel landed on its named lead.
    for i, lead in enumerate(STANDARD_LEADS):
        src = prepared.mapping[lead]
        x, fs = raw(shared_ecg / name, src)
        assert corr(prepared.signal[i], scipy.signal.resample(x[: int(10 * fs)], 5000)) > 0.99, lead


def test_ptb_frank_leads_ignored_and_metadata_parsed(shared_ecg):
    prepared = load_prepared(str(shared_ecg / "ptb/s0010_re.hea"))
    assert prepared.flags.ignored_channels == ["vx", "vy", "vz"]
    assert prepared.metadata["age"] == 81 and prepared.metadata["sex"] == "F"
    assert prepared.metadata["reason for admission"] == "Myocardial infarction"


def test_limb_leads_in_another_order_and_spelling_are_put_right(shared_ecg, tmp_path):
    rec = read_record(str(shared_ecg / "ptbxl/00001_lr"))
    order = [4, 0, 3, 5, 1, 2] + list(range(6, 12))  # aVL, I, aVR, aVF, II, III, V1..V6
    names = ["avl", "Lead I", "-aVR".lstrip("-"), "AVF", "D2", "iii"] + [f"v{i}" for i in range(1, 7)]
    path = write_record(tmp_path, "shuffled", rec.signal[order], rec.fs, names)
    original = prepare(rec).signal
    shuffled = load_prepared(str(path)).signal
    np.testing.assert_allclose(shuffled, original, atol=2e-3)


def test_missing_limb_leads_are_derived_and_flagged(shared_ecg, tmp_path):
    rec = read_record(str(shared_ecg / "ptb/s0010_re"))
    keep = [0, 1] + list(range(6, 12))  # I, II, V1..V6 only
    path = write_record(tmp_path, "eight", rec.signal[keep][:, :12000], rec.fs,
                        [rec.lead_names[i] for i in keep])
    full = prepare(rec).signal
    prepared = load_prepared(str(path))
    assert prepared.flags.derived_leads == ["III", "aVR", "aVL", "aVF"]
    assert all(prepared.mapping[lead] == "derived" for lead in ("III", "aVR", "aVL", "aVF"))
    for i in range(2, 6):  # the device's stored III/aVR/aVL/aVF vs Einthoven/Goldberger
        assert corr(prepared.signal[i], full[i]) > 0.99
        assert np.abs(prepared.signal[i] - full[i]).max() < 0.05


def test_limb_leads_derived_from_a_pair_other_than_i_and_ii(shared_ecg, tmp_path):
    rec = read_record(str(shared_ecg / "ptbxl/00001_lr"))
    keep = [2, 4] + list(range(6, 12))  # III and aVL
    path = write_record(tmp_path, "iii_avl", rec.signal[keep], rec.fs, [rec.lead_names[i] for i in keep])
    prepared = load_prepared(str(path))
    assert prepared.flags.derived_leads == ["I", "II", "aVR", "aVF"]
    full = prepare(rec).signal
    for i in (0, 1):
        assert corr(prepared.signal[i], full[i]) > 0.99


def _sines(fs, seconds, n=12):
    """12 leads of distinct sums of sines below 40 Hz (exactly representable at 500 Hz)."""
    t = np.arange(int(round(seconds * fs))) / fs
    freqs = np.linspace(1.0, 35.0, n)
    return np.stack([np.sin(2 * np.pi * f * t) + 0.3 * np.cos(2 * np.pi * 0.7 * f * t) for f in freqs]), freqs


@pytest.mark.parametrize("fs", [250, 257, 360, 400, 500, 1000])
def test_resampling_to_500_hz_matches_the_analytic_signal(tmp_path, fs):
    sig, freqs = _sines(fs, 12)
    path = write_record(tmp_path, f"sine{fs}", sig, fs, STANDARD_LEADS, fmt="32")
    prepared = load_prepared(str(path))
    t = np.arange(5000) / 500
    expected = np.stack([np.sin(2 * np.pi * f * t) + 0.3 * np.cos(2 * np.pi * 0.7 * f * t) for f in freqs])
    err = np.abs(prepared.signal - expected)
    # The first 50 ms have too few past samples for the anti-aliasing filter to use.
    print(f"fs={fs}: max abs error vs analytic = {err[:, 25:].max():.2e} mV "
          f"(first 50 ms: {err[:, :25].max():.2e})")
    assert err[:, 25:].max() < 0.005
    assert err[:, :25].max() < 0.1


def _write_by_hand(directory, name, digital, fmt):
    """Pack (12, N) int samples in a format wfdb cannot write (212, 61, 160) plus its header."""
    d = digital.T.astype(np.int64)  # (N, 12) interleaved as WFDB stores frames
    if fmt == "61":
        data = d.astype(">i2").tobytes()
    elif fmt == "160":
        data = (d + 32768).astype("<u2").tobytes()
    elif fmt == "212":  # two 12-bit samples in three bytes
        flat = (d.ravel() & 0xFFF).astype(np.uint16)
        a, b = flat[0::2], flat[1::2]
        data = np.stack([a & 0xFF, ((b >> 8) << 4) | (a >> 8), b & 0xFF], axis=1).astype(np.uint8).tobytes()
    (directory / f"{name}.dat").write_bytes(data)
    lines = [f"{name} 12 500 {digital.shape[1]}"]
    lines += [f"{name}.dat {fmt} 200/mV 12 0 {digital[i, 0]} 0 0 {lead}" for i, lead in enumerate(STANDARD_LEADS)]
    (directory / f"{name}.hea").write_text("\n".join(lines) + "\n")
    return directory / name


@pytest.mark.parametrize("fmt", ["16", "24", "32", "80", "516", "212", "61", "160"])
def test_storage_formats_read_to_the_same_millivolts(tmp_path, fmt):
    sig, _ = _sines(500, 10)
    if fmt in ("212", "61", "160"):
        digital = np.round(sig * 200).astype(np.int64)  # 200 adu/mV
        path = _write_by_hand(tmp_path, f"fmt{fmt}", digital, fmt)
        expected = digital / 200.0
    else:
        path = write_record(tmp_path, f"fmt{fmt}", sig, 500, STANDARD_LEADS, fmt=fmt)
        expected = sig
    rec = read_record(str(path))
    step = 2.6 / 2 ** {"80": 8}.get(fmt, 12)  # one quantisation step of a +-1.3 mV range
    assert np.abs(rec.signal - expected).max() < step, fmt


def test_format_212_real_record_reads_as_wfdb_does(shared_ecg):
    rec = read_record(str(shared_ecg / "mitdb/100"))
    ref = wfdb.rdrecord(str(shared_ecg / "mitdb/100"))
    assert rec.fs == 360 and rec.lead_names == ["MLII", "V5"] and rec.signal.shape == (2, 650000)
    np.testing.assert_allclose(rec.signal, ref.p_signal.T, atol=1e-6)


def test_units_are_converted_to_millivolts(tmp_path):
    sig, _ = _sines(500, 10)
    mv = read_record(str(write_record(tmp_path, "mv", sig, 500, STANDARD_LEADS, units="mV")))
    uv = read_record(str(write_record(tmp_path, "uv", sig, 500, STANDARD_LEADS, units="uV")))
    v = read_record(str(write_record(tmp_path, "v", sig, 500, STANDARD_LEADS, fmt="32", units="V")))
    assert uv.units[0] == "uV" and v.units[0] == "V"
    np.testing.assert_allclose(uv.signal, mv.signal, atol=2e-3)
    np.testing.assert_allclose(v.signal, mv.signal, atol=2e-3)


def test_challenge_layout_hea_plus_mat(shared_ecg, tmp_path):
    """PhysioNet/CinC Challenge records: a MATLAB v4 `.mat` holding `val`, described by a
    `.hea` whose format field carries the 24-byte MAT header as a byte offset."""
    rec = wfdb.rdrecord(str(shared_ecg / "ptbxl/00001_lr"), physical=False)
    val = rec.d_signal.T.astype(np.int16)
    scipy.io.savemat(tmp_path / "A0001.mat", {"val": val}, format="4")
    lines = [f"A0001 12 {rec.fs:g} {rec.sig_len}"]
    lines += [f"A0001.mat 16+24 1000/mV 16 0 {val[i, 0]} 0 0 {n}" for i, n in enumerate(rec.sig_name)]
    lines += ["#Age: 56", "#Sex: Female", "#Dx: 426783006"]
    (tmp_path / "A0001.hea").write_text("\n".join(lines) + "\n")
    challenge = read_record(str(tmp_path / "A0001.hea"))
    original = read_record(str(shared_ecg / "ptbxl/00001_lr"))
    np.testing.assert_array_equal(challenge.signal, original.signal)
    assert challenge.metadata["age"] == 56 and challenge.metadata["sex"] == "F"
    assert challenge.metadata["dx"] == "426783006"


def test_window_offset_padding_and_quality_flags(tmp_path):
    fs = 500
    sig, _ = _sines(fs, 6)
    sig[3, 100:150] = np.nan          # 50 non-finite samples in aVR
    sig[7, :] = 0.0                   # V2 disconnected: flat
    wander = 2.5 * np.sin(2 * np.pi * 0.3 * np.arange(sig.shape[1]) / fs)
    sig[9] = np.clip(sig[9] + wander, -1.5, 1.5)  # V4 driven into the rails by baseline wander
    path = write_record(tmp_path, "short", sig, fs, STANDARD_LEADS)
    prepared = load_prepared(str(path))
    flags = prepared.flags
    assert flags.padded_s == pytest.approx(4.0)
    assert np.all(prepared.signal[:, 3000:] == 0)
    assert flags.non_finite_samples == 50 and np.all(np.isfinite(prepared.signal))
    assert flags.flat_leads == ["V2"]
    assert flags.clipped_leads == ["V4"]
    late = load_prepared(str(path), offset_s=2.0)
    np.testing.assert_allclose(late.signal[0, :1000], prepared.signal[0, 1000:2000], atol=1e-3)
    assert late.flags.padded_s == pytest.approx(6.0)


def test_clean_real_records_raise_no_quality_flags(shared_ecg):
    for name in ("ptb/s0010_re", "ptbxl/00001_lr"):
        flags = load_prepared(str(shared_ecg / name)).flags
        assert flags.issues == [], (name, flags)
