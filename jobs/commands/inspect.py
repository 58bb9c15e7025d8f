"""`gem-ecg inspect RECORD`: what a record holds and how it will be prepared."""
from __future__ import annotations

import json

HELP = "what the record holds and how it will be prepared"


def add_arguments(p) -> None:
    p.add_argument("record", metavar="RECORD", help="WFDB record path or URL, with or without .hea")
    p.add_argument("--offset", type=float, default=0.0, metavar="S",
                   help="start of the 10 s window in seconds (default 0)")
    p.add_argument("--json", action="store_true", help="print JSON")


def describe(record, prepared) -> dict:
    return {
        "record": record.record_id,
        "source_uri": record.source_uri,
        "fs_in": record.fs,
        "fs": prepared.fs,
        "duration_s": round(record.duration_s, 3),
        "channels": record.lead_names,
        "units": record.units,
        "shape": list(prepared.signal.shape),
        "leads": list(prepared.leads),
        "mapping": prepared.mapping,
        "offset_s": prepared.offset_s,
        "flags": prepared.flags.to_dict(),
        "metadata": record.metadata,
    }


def run(args) -> int:
    from gem_core.prepare import prepare
    from gem_core.records import read_record

    record = read_record(args.record)
    prepared = prepare(record, offset_s=args.offset)
    info = describe(record, prepared)
    if args.json:
        print(json.dumps(info))
        return 0
    print(f"record     {info['record']}  ({info['source_uri']})")
    print(f"source     {len(record.lead_names)} channels at {record.fs:g} Hz, {info['duration_s']:g} s")
    print(f"prepared   {info['shape'][0]} x {info['shape'][1]} float32 mV at {info['fs']} Hz, "
          f"window from {info['offset_s']:g} s")
    print("mapping    " + ", ".join(f"{k}<-{v}" for k, v in info["mapping"].items()))
    flags = info["flags"]
    if flags["ignored_channels"]:
        print("ignored    " + ", ".join(flags["ignored_channels"]))
    issues = prepared.flags.issues
    print("quality    " + ("; ".join(issues) if issues else "clean"))
    return 0
