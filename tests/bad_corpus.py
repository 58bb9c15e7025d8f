"""A corpus of broken and unusual ECG records, built on disk by the tests (>= 20 kinds).

`build_bad_corpus(root, shared_ecg)` writes the records and a manifest and returns the
manifest path and, per record id, the expected status and a phrase the reason must hold.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import wfdb

from gem_core.leads import STANDARD_LEADS


def _ecg(fs: float, seconds: float, seed: int = 0) -> np.ndarray:
    """A clean synthetic 12-lead ECG (mV, (12, N)) at any rate, from the project's generator."""
    from scipy.signal import resample_poly

    from gem_core.synth import make_case

    case = make_case(np.random.default_rng(seed), "normal", "x", n=int(round(max(seconds, 10.0) * 500)))
    sig = case.signal.astype(np.float64)
    if fs != 500:
        from fractions import Fraction

        r = Fraction(fs).limit_denominator(1000) / 500
        sig = resample_poly(sig, r.numerator, r.denominator, axis=1)
    return sig[:, : int(round(seconds * fs))]


def _write(folder: Path, name: str, sig: np.ndarray, fs: float, names=STANDARD_LEADS, fmt="16", units="mV"):
    folder.mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp(name, fs=fs, units=[units] * len(names), sig_name=list(names), p_signal=sig.T,
                fmt=[fmt] * len(names), adc_gain=[1000.0] * len(names), baseline=[0] * len(names),
                write_dir=str(folder))
    return folder / name


def build_bad_corpus(root: Path, shared_ecg: Path) -> tuple[Path, dict[str, tuple[str, str]]]:
    root.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, str]] = []        # (record_id, uri)
    expect: dict[str, tuple[str, str]] = {}

    def add(rid, uri, status, reason=""):
        rows.append((rid, str(uri)))
        expect[rid] = (status, reason)

    good = _ecg(500, 10)
    # --- usable, with the right handling --------------------------------------------------
    for fs in (250, 400, 1000):
        add(f"rate_{fs}", _write(root / f"r{fs}", f"rate{fs}", _ecg(fs, 10), fs), "ok")
    add("short_3s", _write(root / "short", "short", _ecg(500, 3), 500), "ok")
    add("long_2min", _write(root / "long", "long", _ecg(500, 120, seed=1), 500), "ok")
    add("lead_15", shared_ecg / "ptb" / "s0010_re", "ok")
    sat = good.copy()
    sat[6:] = np.clip(sat[6:] * 4 + 2.0 * np.sin(2 * np.pi * 0.2 * np.arange(sat.shape[1]) / 500), -1.0, 1.0)
    add("saturated", _write(root / "sat", "sat", sat, 500), "ok")
    add("non_ascii_path", _write(root / "Müller_ß" / "ekg_é", "ekg", good, 500), "ok")
    missing = [i for i, lead in enumerate(STANDARD_LEADS) if lead not in ("III", "aVR", "aVL", "aVF")]
    add("limb_derived", _write(root / "derived", "derived", good[missing], 500,
                               names=[STANDARD_LEADS[i] for i in missing]), "ok")
    add("microvolts", _write(root / "uv", "uv", good * 1000, 500, fmt="32", units="uV"), "ok")
    add("first", _write(root / "dup", "dup", good, 500), "ok")
    # --- refused, each with its reason ----------------------------------------------------
    rows.append(("first", str(root / "dup" / "dup")))  # the same id again: reported as first#2
    expect["first#2"] = ("error", "duplicate record id first")
    nan = good.copy()
    nan[:] = np.nan
    add("nan_filled", _write(root / "nan", "nan", nan, 500), "error", "no usable ECG signal")
    add("flat", _write(root / "flat", "flat", np.zeros_like(good), 500), "error", "no usable ECG signal")
    add("two_lead", shared_ecg / "mitdb" / "100", "error", "has 2 ECG leads")
    trunc = _write(root / "trunc", "trunc", good, 500)
    data = trunc.with_suffix(".dat").read_bytes()
    trunc.with_suffix(".dat").write_bytes(data[: len(data) // 3])
    add("truncated", trunc, "error", "truncated")
    longer = _write(root / "lies_len", "lieslen", good, 500)
    hea = longer.with_suffix(".hea")
    hea.write_text(hea.read_text().replace("lieslen 12 500 5000", "lieslen 12 500 9000"))
    add("header_lies_length", longer, "error", "truncated")
    gain = _write(root / "lies_gain", "liesgain", good, 500)
    hea = gain.with_suffix(".hea")
    text = hea.read_text()
    assert "1000.0(0)/mV" in text
    hea.write_text(text.replace("1000.0(0)/mV", "0(0)/mV", 1))
    add("header_lies_gain", gain, "error", "uncalibrated")
    zero = _write(root / "zero", "zero", good, 500)
    zero.with_suffix(".dat").write_bytes(b"")
    add("zero_byte_signal", zero, "error", "empty (0 bytes)")
    (root / "zerohea").mkdir()
    (root / "zerohea" / "z.hea").write_bytes(b"")
    add("zero_byte_header", root / "zerohea" / "z", "error", "header is empty")
    (root / "rand").mkdir()
    (root / "rand" / "rand.hea").write_bytes(np.random.default_rng(5).bytes(400))
    add("random_bytes", root / "rand" / "rand", "error", "header is not text")
    add("wrong_extension", root / "dup" / "dup.dat", "error", "not a WFDB header")
    out = _write(root / "outside", "outside", good, 500)
    hea = out.with_suffix(".hea")
    hea.write_text(hea.read_text().replace("outside.dat", "../../secret.dat"))
    add("outside_dir", out, "error", "outside the record's directory")
    add("no_such_record", root / "nope" / "nope", "error", "not found")
    add("http_scheme", "http://169.254.169.254/latest/meta-data", "error", "scheme 'http' is not allowed")
    add("shell_chars", "ftp://host/x;rm -rf /", "error", "scheme 'ftp' is not allowed")
    fmt = _write(root / "fmt", "fmt", good, 500)
    hea = fmt.with_suffix(".hea")
    hea.write_text(hea.read_text().replace("fmt.dat 16", "fmt.dat 99"))
    add("unknown_format", fmt, "error", "storage format 99")
    nd = _write(root / "nodat", "nodat", good, 500)
    nd.with_suffix(".dat").unlink()
    add("missing_signal", nd, "error", "is missing")
    add("non_ecg", _write(root / "bp", "bp", good[:3], 125, names=("ABP", "PLETH", "RESP"), units="mmHg"),
        "error", "no ECG channel")

    manifest = root / "manifest.csv"
    import csv

    with manifest.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["record_id", "uri"])
        w.writerows(rows)
    return manifest, expect
