"""`gem-ecg render RECORD... -o OUT`: the GEM training page, review pictures, model input.

One record: OUT is the PNG file (and `--model-input` without a path writes OUT with .npy).
Several records: OUT is a directory receiving `<record>.png` (and `<record>.npy`), all in
this one process. A record that cannot be read is reported on stderr and the others are
still drawn; the exit status is then 1.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

HELP = "draw the 12-lead page GEM was trained on, review pictures, and the model input"


def add_arguments(p) -> None:
    p.add_argument("records", nargs="+", metavar="RECORD",
                   help="WFDB record path or URL, with or without .hea")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="PNG file for one record; directory for several")
    p.add_argument("--layout", choices=("gem", "clinical"), default="gem",
                   help="gem: the training page (default); clinical: 3 x 4 + lead II rhythm strip")
    p.add_argument("--overlay", action="store_true",
                   help="mark the fiducials and write the global intervals (runs the measurement stage)")
    p.add_argument("--model-input", nargs="?", const="", default=None, metavar="OUT.npy",
                   help="also save the (3, 336, 336) float32 CLIP input; with several records "
                        "a directory (default: next to the PNGs)")
    p.add_argument("--exact", action="store_true",
                   help="model input through PIL exactly as CLIPImageProcessor (slower; the "
                        "default fast route is within one grey level of it)")
    p.add_argument("--offset", type=float, default=0.0, metavar="S",
                   help="start of the 10 s window in seconds (default 0)")
    p.add_argument("--json", action="store_true", help="print what was written as JSON")


def _measure():
    """The measurement stage's entry point, or a clear error when it is not there."""
    from gem_core.errors import GemError

    try:
        from gem_core.measure import measure_ecg
    except ImportError as exc:
        raise GemError(f"--overlay needs the measurement stage (gem_core.measure.measure_ecg): {exc}")
    return measure_ecg


def plan_outputs(record_ids: list[str], output: str,
                 model_input: str | None) -> list[tuple[Path, Path | None]]:
    """(png, npy or None) for each record, following the one-record / several-records rule."""
    from gem_core.errors import GemError

    out = Path(output)
    if len(record_ids) == 1 and not out.is_dir():
        npy = None if model_input is None else Path(model_input) if model_input else out.with_suffix(".npy")
        return [(out, npy)]
    if len(set(record_ids)) != len(record_ids):
        dup = sorted({r for r in record_ids if record_ids.count(r) > 1})
        raise GemError(f"several records share a name ({', '.join(dup)}): "
                       "their pictures would overwrite each other")
    npy_dir = None if model_input is None else Path(model_input) if model_input else out
    return [(out / f"{r}.png", None if npy_dir is None else npy_dir / f"{r}.npy") for r in record_ids]


def run(args) -> int:
    import numpy as np

    from gem_core.errors import GemError
    from gem_core.prepare import load_prepared
    from gem_core.records import split_uri
    from gem_core.render import model_input, review_png

    measure = _measure() if args.overlay else None
    ids = [split_uri(r)[1] for r in args.records]
    targets = plan_outputs(ids, args.output, args.model_input)
    written, failed = [], 0
    for uri, (png, npy) in zip(args.records, targets):
        try:
            ecg = load_prepared(uri, offset_s=args.offset)
        except GemError as exc:
            print(f"gem-ecg render: {exc}", file=sys.stderr)
            failed += 1
            continue
        measurements = measure(ecg.signal, fs=ecg.fs).to_dict() if measure else None
        # The plain GEM page stays exactly the training page: no title on it.
        title = ecg.record_id if (measurements is not None or args.layout != "gem") else None
        png.parent.mkdir(parents=True, exist_ok=True)
        png.write_bytes(review_png(ecg.signal, measurements, args.layout, title))
        entry = {"record": ecg.record_id, "png": str(png)}
        if npy is not None:
            npy.parent.mkdir(parents=True, exist_ok=True)
            np.save(npy, model_input(ecg.signal, exact=args.exact))
            entry["model_input"] = str(npy)
        written.append(entry)
        if not args.json:
            print(f"{ecg.record_id}: {png}" + (f", {npy}" if npy is not None else ""))
    if args.json:
        print(json.dumps(written))
    return 1 if failed else 0
