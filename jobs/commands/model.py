"""`gem-ecg model check DIR` / `gem-ecg model save-tiny DIR`: validate a GEM checkpoint
directory (local or URL) without loading its weights; write gem-tiny in the published layout."""
from __future__ import annotations

import json
import sys

HELP = "validate a GEM checkpoint directory; write gem-tiny in the published layout"


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="model_verb", metavar="SUBVERB", required=True)
    check = sub.add_parser("check", help="keys, shapes, parameter count, dtype, what is missing",
                           description="Compare a checkpoint directory with what GEM needs "
                                       "(reads config.json and the safetensors headers only).")
    check.add_argument("dir", metavar="DIR", help="checkpoint directory path or URL")
    check.add_argument("--ecg-tower", metavar="PT", default=None,
                       help="ECG-CoCa .pt to use if the shards lack the ECG tower")
    check.add_argument("--json", action="store_true", help="print JSON")
    save = sub.add_parser("save-tiny", help="write a randomly initialised gem-tiny",
                          description="Write gem-tiny (GEM's architecture, ~3 M parameters) in "
                                      "the published layout.")
    save.add_argument("dir", metavar="DIR", help="output directory (local)")
    save.add_argument("--seed", type=int, default=0, help="initialisation seed (default 0)")
    save.add_argument("--json", action="store_true", help="print JSON")


def _human_bytes(n: int) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e8 else f"{n / 1e6:.2f} MB"


def run_check(args) -> int:
    from gem_core.model.checkpoint_check import check_checkpoint

    report = check_checkpoint(args.dir, ecg_tower_path=args.ecg_tower)
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        c = report.config
        print(f"checkpoint   {report.uri}")
        print(f"model        llava_llama, hidden {c['hidden_size']}, {c['num_hidden_layers']} "
              f"layers, vocab {c['vocab_size']}, tokens/sample ECG {c['n_ecg_tokens']} + "
              f"image {c['n_image_tokens']}")
        print(f"parameters   {report.parameter_count:,} found of "
              f"{report.expected_parameter_count:,} expected")
        print(f"tensors      {report.n_found} used of {report.n_expected} expected; "
              f"{len(report.ignored)} ignored (unused)")
        print("dtype        " + ", ".join(f"{k} x{v}" for k, v in sorted(report.dtypes.items()))
              + f"; {_human_bytes(report.total_bytes)}")
        print(f"ECG tower    from {report.ecg_tower_source}")
        print(f"verdict      {'ok' if report.ok else 'NOT usable: ' + report.summary()}")
        for line in report.detail_lines():
            print(line)
    if not report.ok:
        print(f"gem-ecg model check: {report.uri}: {report.summary()}"
              + (f", {len(report.problems)} other problem(s)" if report.problems else ""),
              file=sys.stderr)
        return 1
    return 0


def run_save_tiny(args) -> int:
    from gem_core.model.checkpoint_check import check_checkpoint
    from gem_core.model.tiny import save_gem_tiny

    out = save_gem_tiny(args.dir, seed=args.seed)
    report = check_checkpoint(str(out))
    info = {"dir": str(out), "files": sorted(p.name for p in out.iterdir()),
            "parameter_count": report.parameter_count, "ok": report.ok}
    if args.json:
        print(json.dumps(info))
    else:
        print(f"gem-tiny     {info['parameter_count']:,} parameters written to {out}")
        print("files        " + ", ".join(info["files"]))
    return 0 if report.ok else 1


def run(args) -> int:
    return {"check": run_check, "save-tiny": run_save_tiny}[args.model_verb](args)
