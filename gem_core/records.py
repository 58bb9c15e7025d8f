"""Read one archived ECG record (WFDB, local or any fsspec URL) into an `EcgRecord`.

A record URI is the record's path without extension, with or without `.hea`:
`data/ptbxl/00001_lr`, `s3://bucket/archive/p1000/40689238.hea`. Local paths and cloud URLs go
through the same code: fsspec opens the header and sizes the signal files, and wfdb reads the
samples (wfdb opens cloud paths with fsspec, so S3 honours only the standard AWS environment,
e.g. `AWS_ENDPOINT_URL`). Nothing lists a bucket.

Before wfdb is trusted with the samples, the header is checked against what is on disk, since
wfdb silently accepts some broken headers (a gain of 0 or "abc" becomes 200) and fails on
others with errors that do not name the record. Each problem gets its own `RecordError`.
"""
from __future__ import annotations

import math
import posixpath
import re
from dataclasses import dataclass, field

import numpy as np

from gem_core import errors

# Millivolts per header unit. WFDB's default unit (none given) is mV.
_UNIT_TO_MV = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3, "v": 1e3, "nv": 1e-6, "": 1.0}

# Signal file formats wfdb reads; bytes per sample where the size is fixed (FLAC formats
# 508/516/524 are compressed: their size says nothing).
_BYTES_PER_SAMPLE = {"8": 1, "16": 2, "24": 3, "32": 4, "61": 2, "80": 1, "160": 2,
                     "212": 1.5, "310": 4 / 3, "311": 4 / 3}
_COMPRESSED = {"508", "516", "524"}
# Files a user may point at by mistake instead of the record or its header.
_NOT_HEADERS = {".dat", ".mat", ".atr", ".xyz", ".csv", ".edf", ".xml", ".json", ".png", ".pdf", ".txt"}

# A signal line: file, format[xSPF][:skew][+offset], then optionally gain[(baseline)][/units].
_FMT_FIELD = re.compile(r"^(?P<fmt>\d+)(x\d+)?(:\d+)?(\+(?P<offset>\d+))?$")
_GAIN_FIELD = re.compile(r"^(?P<gain>[^(/]*)(\((?P<base>[^)]*)\))?(/(?P<units>.*))?$")


@dataclass
class EcgRecord:
    """One ECG as stored: every channel, at the record's own rate, in millivolts."""

    record_id: str
    source_uri: str              # the record path without extension
    signal: np.ndarray           # (n_channels, n_samples) float32, mV; NaN where invalid
    fs: float                    # Hz
    lead_names: list[str]        # as written in the header
    units: list[str]             # as written in the header (before conversion to mV)
    comments: list[str] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return self.signal.shape[1] / self.fs


def split_uri(uri: str) -> tuple[str, str]:
    """(record path without extension, record id). Accepts a trailing `.hea`."""
    path = str(uri)
    if path.endswith(".hea"):
        path = path[: -len(".hea")]
    return path, posixpath.basename(path.replace("\\", "/"))


def _filesystem(path: str):
    import fsspec

    fs, fs_path = fsspec.core.url_to_fs(path)
    return fs, fs_path


def _sibling(fs_path: str, file_name: str) -> str:
    return posixpath.join(posixpath.dirname(fs_path), file_name)


def parse_metadata(comments: list[str]) -> dict:
    """Key/value pairs from header comments ('age: 81', '#Sex: Female', '<age>: 81 <sex>: F').

    Keys are lower-cased; `age` becomes an int and `sex` 'M'/'F' where recognisable.
    """
    meta: dict = {}
    for line in comments:
        for key, value in re.findall(r"<?([A-Za-z][\w ()/-]*?)>?:\s*([^<]*?)\s*(?=<[^>]+>:|$)", line):
            key = key.strip().lower()
            if key and value:
                meta.setdefault(key, value.strip())
    if "age" in meta:
        m = re.match(r"^\d{1,3}", str(meta["age"]))
        meta["age"] = int(m.group()) if m else None
    if "sex" in meta:
        s = str(meta["sex"]).strip().lower()
        meta["sex"] = "M" if s in ("m", "male") else "F" if s in ("f", "female") else meta["sex"]
    return meta


def _check_header(record: str, header_text: str, fs, fs_path: str) -> None:
    """Raise the specific RecordError for a header that wfdb would misread or that disagrees
    with the signal files on disk."""
    lines = [ln.strip() for ln in header_text.splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("#")]
    if not lines:
        raise errors.UnparsableHeader(record, "header is empty")
    rec_fields = lines[0].split()
    if len(rec_fields) < 2 or not rec_fields[1].split("/")[0].isdigit():
        raise errors.UnparsableHeader(record, f"record line is not WFDB: {lines[0][:60]!r}")
    if "/" in rec_fields[1]:
        raise errors.UnreadableRecord(record, "multi-segment records are not supported")
    n_sig = int(rec_fields[1])
    if n_sig == 0:
        raise errors.NoEcgChannels(record, "header declares no signals")
    sig_lines = lines[1:]
    if len(sig_lines) != n_sig:
        raise errors.HeaderSignalMismatch(
            record, f"header declares {n_sig} signals but describes {len(sig_lines)}")
    sig_len = None
    if len(rec_fields) >= 4:
        try:
            sig_len = int(rec_fields[3])
        except ValueError:
            raise errors.UnparsableHeader(record, f"number of samples {rec_fields[3]!r} is not an integer")
        if sig_len == 0:
            raise errors.ZeroLength(record, "header says the record has 0 samples")

    files: dict[str, tuple[str, int, int]] = {}  # file -> (format, byte offset, channels)
    for ch, line in enumerate(sig_lines):
        parts = line.split()
        name = " ".join(parts[8:]) if len(parts) > 8 else f"channel {ch}"
        if len(parts) < 2:
            raise errors.UnparsableHeader(record, f"signal line {ch + 1} is incomplete: {line[:60]!r}")
        fmt_m = _FMT_FIELD.match(parts[1])
        if not fmt_m:
            raise errors.UnparsableHeader(record, f"format field {parts[1]!r} of {name} is not WFDB")
        fmt = fmt_m.group("fmt")
        if fmt not in _BYTES_PER_SAMPLE and fmt not in _COMPRESSED:
            raise errors.UnknownFormat(record, f"storage format {fmt} of {name} is not a WFDB format")
        if len(parts) > 2:
            g = _GAIN_FIELD.match(parts[2])
            try:
                gain = float(g.group("gain")) if g else math.nan
            except ValueError:
                gain = math.nan
            if not math.isfinite(gain):
                raise errors.BadGain(record, f"gain {parts[2]!r} of {name} is not a number")
            if gain <= 0:
                raise errors.BadGain(record, f"gain of {name} is {parts[2]!r}: uncalibrated, "
                                             "samples cannot be converted to millivolts")
        if "/" in parts[0] or "\\" in parts[0] or parts[0].startswith(".."):
            raise errors.UnreadableRecord(record, f"signal file {parts[0]!r} points outside the record's directory")
        prev = files.get(parts[0])
        if prev and prev[0] != fmt:
            raise errors.HeaderSignalMismatch(record, f"signal file {parts[0]} has mixed formats")
        files[parts[0]] = (fmt, int(fmt_m.group("offset") or 0), (prev[2] if prev else 0) + 1)

    for file_name, (fmt, offset, n_ch) in files.items():
        path = _sibling(fs_path, file_name)
        try:
            size = fs.size(path)
        except FileNotFoundError:
            size = None
        if size is None:
            raise errors.MissingSignal(record, f"signal file {file_name} is missing")
        if size == 0:
            raise errors.ZeroLength(record, f"signal file {file_name} is empty (0 bytes)")
        if fmt in _COMPRESSED or sig_len is None:
            continue
        expected = offset + math.ceil(sig_len * n_ch * _BYTES_PER_SAMPLE[fmt])
        if size < expected:
            raise errors.TruncatedSignal(
                record, f"signal file {file_name} has {size} bytes, the header needs {expected} "
                        f"({sig_len} samples x {n_ch} channels, format {fmt}): truncated")
        if size > expected + 1:  # +1: format 212/310 pad to a whole byte group
            raise errors.HeaderSignalMismatch(
                record, f"signal file {file_name} has {size} bytes, the header describes {expected} "
                        f"({sig_len} samples x {n_ch} channels, format {fmt})")


def read_header_text(uri: str) -> tuple[str, str, str]:
    """(record path, record id, header text); MissingHeader / UnparsableHeader on failure."""
    path, record_id = split_uri(uri)
    fs, fs_path = _filesystem(path)
    try:
        with fs.open(fs_path + ".hea", "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        ext = posixpath.splitext(record_id)[1].lower()
        if ext in _NOT_HEADERS:
            raise errors.MissingHeader(uri, f"{record_id} is not a WFDB header (give the record "
                                            f"path, with or without .hea)")
        raise errors.MissingHeader(uri, f"header file {record_id}.hea not found")
    except IsADirectoryError:
        raise errors.MissingHeader(uri, f"{record_id}.hea is a directory, not a header")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise errors.UnparsableHeader(uri, "header is not text")
    return path, record_id, text


def read_record(uri: str) -> EcgRecord:
    """Read every channel of a WFDB record (or a PhysioNet/CinC Challenge `.hea` + `.mat`).

    Raises a `RecordError` subclass naming the record and the reason for any record that
    cannot be read as stated by its header.
    """
    import wfdb

    path, record_id, text = read_header_text(uri)
    fs, fs_path = _filesystem(path)
    _check_header(path, text, fs, fs_path)
    try:
        rec = wfdb.rdrecord(path, physical=False)
    except Exception as exc:  # wfdb's own errors do not name the record
        from gem_core.retry import is_transient

        if is_transient(exc):  # the store, not the record: let the caller retry
            raise
        raise errors.UnreadableRecord(path, f"wfdb could not read it: {type(exc).__name__}: {exc}")
    if rec.d_signal is None or rec.sig_len == 0 or rec.d_signal.shape[0] == 0:
        raise errors.ZeroLength(path, "record holds no samples")
    if not rec.fs or rec.fs <= 0:
        raise errors.UnparsableHeader(path, f"sampling frequency {rec.fs!r} is not positive")

    digital = rec.d_signal.T  # (n_channels, n_samples)
    gain = np.asarray(rec.adc_gain, dtype=np.float64)[:, None]
    baseline = np.asarray(rec.baseline, dtype=np.float64)[:, None]
    scale = np.array([_UNIT_TO_MV.get((u or "").strip().lower(), 1.0) for u in rec.units])[:, None]
    signal = (digital - baseline) / gain * scale
    for ch, fmt in enumerate(rec.fmt):  # WFDB marks a missing sample with one digital value
        invalid = wfdb.io._signal.INVALID_SAMPLE_VALUE.get(fmt)
        if invalid is not None:
            signal[ch, digital[ch] == invalid] = np.nan
    comments = list(rec.comments or [])
    return EcgRecord(
        record_id=record_id,
        source_uri=path,
        signal=signal.astype(np.float32),
        fs=float(rec.fs),
        lead_names=[str(n) for n in rec.sig_name],
        units=[str(u) for u in rec.units],
        comments=comments,
        metadata=parse_metadata(comments),
    )
