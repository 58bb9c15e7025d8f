"""`gem-ecg beats RECORD [--lead NAME]`: R-peak sample indices over the whole record, at its
own rate (any record, any number of channels: MIT-BIH's two leads as well as a 12-lead)."""
from __future__ import annotations

import json

HELP = "R-peak sample indices over the whole record, at its own rate"


def add_arguments(p) -> None:
    p.add_argument("record", metavar="RECORD", help="WFDB record path or URL, with or without .hea")
    p.add_argument("--lead", metavar="NAME", default=None,
                   help="channel to detect on (default: lead II, else MLII, else the first channel)")
    p.add_argument("--json", action="store_true", help='print {"fs": ..., "r_peaks": [...]} as JSON')


def run(args) -> int:
    from gem_core.errors import RecordError
    from gem_core.measure.rpeaks import detect_r_peaks, pick_lead
    from gem_core.records import read_record

    record = read_record(args.record)
    ch = pick_lead(record.lead_names, args.lead)
    if ch is None:
        raise RecordError(record.source_uri, f"no lead {args.lead!r} among {', '.join(record.lead_names)}")
    peaks = detect_r_peaks(record.signal[ch], record.fs)
    out = {"record": record.record_id, "lead": record.lead_names[ch], "fs": record.fs,
           "n_beats": int(peaks.size), "r_peaks": peaks.tolist()}
    if args.json:
        print(json.dumps(out))
        return 0
    dur = record.signal.shape[1] / record.fs
    rate = 60.0 * peaks.size / dur if dur > 0 else float("nan")
    print(f"{record.record_id}  lead {out['lead']}  {record.fs:g} Hz  {dur:.1f} s  "
          f"{peaks.size} beats (mean {rate:.0f} bpm)")
    return 0
