"""Turn an `EcgRecord` into exactly what GEM expects: 12 x 5000 float32 millivolts.

Steps, in order: match channels to the 12 standard leads by name (extra leads such as Frank
X/Y/Z ignored); derive missing limb leads from two measured ones; cut the 10 s window (with a
margin, so the resampling filter has real signal at both edges); set NaN/inf to 0; resample
to 500 Hz with an anti-aliasing polyphase filter; zero-pad a short record at the end. Raw mV
are kept: GEM was trained without per-lead normalisation. Every departure from a clean
12-lead 500 Hz 10 s recording is recorded in `QualityFlags`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from fractions import Fraction

import numpy as np

from gem_core import errors
from gem_core.leads import (DURATION_S, FS, LIMB_LEADS, N_SAMPLES, STANDARD_LEADS,
                            derive_limb_leads, looks_like_ecg, standard_lead)
from gem_core.records import EcgRecord, read_record

FLAT_PTP_MV = 0.01        # a lead whose peak-to-peak stays under 10 uV carries no ECG
PLATEAU_S = 0.03          # a 30 ms run at a lead's extreme is a clipped amplifier, not a wave
PLATEAU_MIN_MV = 0.3      # ... when that extreme is far from the lead's median
RESAMPLE_MARGIN_S = 0.25  # real signal on each side of the window for the filter


@dataclass
class QualityFlags:
    derived_leads: list[str] = field(default_factory=list)
    padded_s: float = 0.0                # zeros appended at the end (record shorter than the window)
    non_finite_samples: int = 0          # NaN/inf samples in the window, set to 0
    flat_leads: list[str] = field(default_factory=list)
    clipped_leads: list[str] = field(default_factory=list)
    ignored_channels: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def issues(self) -> list[str]:
        """Short human-readable list of what is not clean."""
        out = []
        if self.derived_leads:
            out.append("derived " + ",".join(self.derived_leads))
        if self.padded_s:
            out.append(f"padded {self.padded_s:.2f} s")
        if self.non_finite_samples:
            out.append(f"{self.non_finite_samples} non-finite samples")
        if self.flat_leads:
            out.append("flat " + ",".join(self.flat_leads))
        if self.clipped_leads:
            out.append("clipped " + ",".join(self.clipped_leads))
        return out


@dataclass
class PreparedEcg:
    record_id: str
    source_uri: str
    signal: np.ndarray           # (12, 5000) float32 mV, STANDARD_LEADS order, 500 Hz
    fs_in: float                 # the record's own rate
    duration_in_s: float
    offset_s: float
    mapping: dict[str, str]      # standard lead -> source channel name, or "derived"
    flags: QualityFlags
    metadata: dict = field(default_factory=dict)
    fs: int = FS
    leads: tuple[str, ...] = STANDARD_LEADS


def map_leads(record: EcgRecord) -> tuple[dict[str, int], list[str]]:
    """Standard lead -> channel index (first channel of each name wins), and ignored channels."""
    index: dict[str, int] = {}
    ignored = []
    for ch, name in enumerate(record.lead_names):
        lead = standard_lead(name)
        if lead is None or lead in index:
            ignored.append(name)
        else:
            index[lead] = ch
    return index, ignored


def _check_leads(record: EcgRecord, index: dict[str, int]) -> None:
    names = record.lead_names
    if not index and not any(looks_like_ecg(n) for n in names):
        raise errors.NoEcgChannels(
            record.source_uri, f"no ECG channel among {len(names)} ({', '.join(names)})")
    limb = [lead for lead in LIMB_LEADS if lead in index]
    have = set(index)
    if len(limb) >= 2:  # derivable unless the two are collinear, checked by derive_limb_leads
        have |= set(LIMB_LEADS)
    missing = [lead for lead in STANDARD_LEADS if lead not in have]
    if missing:
        ecg = [n for n in names if looks_like_ecg(n)]
        raise errors.NotEnoughLeads(
            record.source_uri,
            f"has {len(ecg)} ECG lead{'s' if len(ecg) != 1 else ''} ({', '.join(ecg) or 'none'}), "
            f"not 12: missing {', '.join(missing)} (precordial leads cannot be derived; limb leads "
            "need two measured ones)")


def _resample_ratio(fs_in: float) -> tuple[int, int]:
    r = Fraction(FS) / Fraction(fs_in).limit_denominator(1000)
    return r.numerator, r.denominator


def _clipped(x: np.ndarray, fs: float) -> bool:
    """Saturated: the lead sits on its extreme value for >= 30 ms, far from its median.

    Judged from the samples, not from ADC limits: writers that scale each lead to the full
    digital range touch the limits on every clean peak.
    """
    finite = x[np.isfinite(x)]
    if finite.size == 0:
        return False
    med = np.median(finite)
    run_min = max(4, int(round(PLATEAU_S * fs)))
    for extreme in (finite.max(), finite.min()):
        if abs(extreme - med) < PLATEAU_MIN_MV:
            continue
        at = np.concatenate([[0], (np.abs(x - extreme) < 1e-7).astype(np.int8), [0]])
        edges = np.flatnonzero(np.diff(at))
        if edges.size and (edges[1::2] - edges[::2]).max() >= run_min:
            return True
    return False


def prepare(record: EcgRecord, offset_s: float = 0.0) -> PreparedEcg:
    """(n_channels, N) at fs_in -> (12, 5000) at 500 Hz, standard order, with quality flags."""
    index, ignored = map_leads(record)
    _check_leads(record, index)
    flags = QualityFlags(ignored_channels=ignored)
    fs_in = record.fs
    n_in = record.signal.shape[1]
    start = int(round(offset_s * fs_in))
    if offset_s < 0 or start >= n_in:
        raise errors.RecordError(
            record.source_uri, f"window offset {offset_s} s is outside the record ({record.duration_s:.2f} s)")
    up, down = _resample_ratio(fs_in)
    # Margins are whole multiples of `down` so that the output grid stays aligned exactly.
    want = int(np.ceil(RESAMPLE_MARGIN_S * fs_in / down)) * down
    left = min(want, (start // down) * down)
    stop = min(n_in, start + int(round(DURATION_S * fs_in)))
    right = min(n_in, stop + want)

    # (12, L) source segment in standard order; None rows to derive.
    seg = record.signal[:, start - left:right]
    rows: dict[str, np.ndarray] = {lead: seg[ch].astype(np.float64) for lead, ch in index.items()}
    window = slice(left, left + stop - start)  # the 10 s window inside the segment
    flags.non_finite_samples = int(sum(np.count_nonzero(~np.isfinite(r[window])) for r in rows.values()))
    flags.clipped_leads = [
        lead for lead in STANDARD_LEADS if lead in rows
        and _clipped(rows[lead][window], fs_in)]
    rows = {lead: np.nan_to_num(r, nan=0.0, posinf=0.0, neginf=0.0) for lead, r in rows.items()}
    derived = derive_limb_leads({lead: rows[lead] for lead in LIMB_LEADS if lead in rows})
    if len(rows) + len(derived) < 12:
        raise errors.NotEnoughLeads(record.source_uri, "limb leads present are collinear; cannot derive the rest")
    rows.update(derived)
    flags.derived_leads = [lead for lead in STANDARD_LEADS if lead in derived]

    x = np.stack([rows[lead] for lead in STANDARD_LEADS])  # (12, L)
    if (up, down) != (1, 1):
        from scipy.signal import resample_poly

        x = resample_poly(x, up, down, axis=1, padtype="line")
    first = left * up // down
    n_valid = min(N_SAMPLES, int(np.ceil((stop - start) * up / down)))
    out = np.zeros((12, N_SAMPLES), dtype=np.float32)
    out[:, :n_valid] = x[:, first:first + n_valid]
    flags.padded_s = round((N_SAMPLES - n_valid) / FS, 3)
    flags.flat_leads = [lead for i, lead in enumerate(STANDARD_LEADS)
                        if np.ptp(out[i, :n_valid]) < FLAT_PTP_MV]
    mapping = {lead: ("derived" if lead in derived else record.lead_names[index[lead]])
               for lead in STANDARD_LEADS}
    return PreparedEcg(
        record_id=record.record_id,
        source_uri=record.source_uri,
        signal=out,
        fs_in=fs_in,
        duration_in_s=record.duration_s,
        offset_s=offset_s,
        mapping=mapping,
        flags=flags,
        metadata=record.metadata,
    )


def load_prepared(uri: str, offset_s: float = 0.0) -> PreparedEcg:
    """Read and prepare in one call (the scoring job's first stage)."""
    return prepare(read_record(uri), offset_s=offset_s)
