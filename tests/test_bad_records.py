"""Each kind of unusable record gets its own typed error naming the record and the reason."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import wfdb

from gem_core import errors
from gem_core.prepare import load_prepared


@pytest.fixture
def good(shared_ecg, copy_record):
    """A writable copy of PTB-XL 00001_lr to break in different ways."""
    return copy_record(shared_ecg / "ptbxl/00001_lr")


def edit_header(path, old, new, count=1):
    hea = path.with_suffix(".hea")
    text = hea.read_text()
    assert old in text
    hea.write_text(text.replace(old, new, count))


def break_missing_header(p):
    p.with_suffix(".hea").unlink()


def break_missing_signal(p):
    p.with_suffix(".dat").unlink()


def break_truncated(p):
    dat = p.with_suffix(".dat")
    dat.write_bytes(dat.read_bytes()[:10000])


def break_mismatch(p):  # the header promises fewer samples than the file holds
    edit_header(p, "00001_lr 12 100 1000", "00001_lr 12 100 800")


def break_signal_count(p):  # record line says 13 signals, 12 are described
    edit_header(p, "00001_lr 12 100", "00001_lr 13 100")


def break_format(p):
    edit_header(p, ".dat 16 ", ".dat 99 ", count=12)


def break_zero_length(p):
    edit_header(p, "00001_lr 12 100 1000", "00001_lr 12 100 0")


def break_empty_signal(p):
    p.with_suffix(".dat").write_bytes(b"")


def break_zero_gain(p):
    edit_header(p, "1000.0(0)/mV", "0(0)/mV")


def break_text_gain(p):
    edit_header(p, "1000.0(0)/mV", "high(0)/mV")


def break_unparsable(p):
    p.with_suffix(".hea").write_text("this is not a header\nat all\n")


def break_binary_header(p):
    p.with_suffix(".hea").write_bytes(bytes(range(256)) * 4)


def break_outside_dir(p):
    edit_header(p, "00001_lr.dat 16", "../../etc/passwd 16", count=1)


def break_non_ecg(p):
    sig = np.random.default_rng(0).normal(size=(1000, 3))
    wfdb.wrsamp(p.name, fs=125, units=["mmHg", "NU", "NU"], sig_name=["ABP", "PLETH", "RESP"],
                p_signal=sig, fmt=["16"] * 3, write_dir=str(p.parent))


CASES = [
    (break_missing_header, errors.MissingHeader, "header file 00001_lr.hea not found"),
    (break_missing_signal, errors.MissingSignal, "signal file 00001_lr.dat is missing"),
    (break_truncated, errors.TruncatedSignal, "truncated"),
    (break_mismatch, errors.HeaderSignalMismatch, "the header describes 19200"),
    (break_signal_count, errors.HeaderSignalMismatch, "declares 13 signals but describes 12"),
    (break_format, errors.UnknownFormat, "storage format 99"),
    (break_zero_length, errors.ZeroLength, "0 samples"),
    (break_empty_signal, errors.ZeroLength, "empty (0 bytes)"),
    (break_zero_gain, errors.BadGain, "uncalibrated"),
    (break_text_gain, errors.BadGain, "'high(0)/mV' of I is not a number"),
    (break_unparsable, errors.UnparsableHeader, "record line is not WFDB"),
    (break_binary_header, errors.UnparsableHeader, "not"),
    (break_outside_dir, errors.UnreadableRecord, "outside the record's directory"),
    (break_non_ecg, errors.NoEcgChannels, "no ECG channel among 3 (ABP, PLETH, RESP)"),
]


@pytest.mark.parametrize("breaker, error, reason", CASES, ids=[c[0].__name__[6:] for c in CASES])
def test_each_bad_record_gets_its_own_clear_error(good, breaker, error, reason):
    breaker(good)
    with pytest.raises(error) as info:
        load_prepared(str(good))
    message = str(info.value)
    print(f"{error.__name__}: {message}")
    assert "00001_lr" in message and reason in message
    assert info.value.record.endswith("00001_lr") and info.value.reason


def test_error_kinds_are_distinct():
    kinds = {c[1] for c in CASES}
    assert len({k.kind for k in kinds}) == len(kinds)


def test_mitdb_two_lead_record_is_refused_saying_it_has_2_leads(shared_ecg):
    with pytest.raises(errors.NotEnoughLeads) as info:
        load_prepared(str(shared_ecg / "mitdb/100"))
    assert "mitdb/100: has 2 ECG leads (MLII, V5), not 12" in str(info.value)


def test_missing_precordial_lead_is_refused(good):
    rec = wfdb.rdrecord(str(good))
    keep = [i for i, n in enumerate(rec.sig_name) if n != "V3"]
    wfdb.wrsamp(good.name, fs=rec.fs, units=["mV"] * 11, sig_name=[rec.sig_name[i] for i in keep],
                p_signal=rec.p_signal[:, keep], fmt=["16"] * 11, write_dir=str(good.parent))
    with pytest.raises(errors.NotEnoughLeads, match="missing V3"):
        load_prepared(str(good))


def test_inspect_cli_reports_a_bad_record_in_one_line_and_exits_1(shared_ecg):
    out = subprocess.run([sys.executable, "-m", "jobs.cli", "inspect", str(shared_ecg / "mitdb/100")],
                         capture_output=True, text=True)
    assert out.returncode == 1 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "has 2 ECG leads" in lines[0] and "mitdb/100" in lines[0]
