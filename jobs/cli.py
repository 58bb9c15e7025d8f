"""The `gem-ecg` console script: one verb per step of the flow.

Each verb lives in `jobs/commands/<verb>.py` with `HELP`, `add_arguments(parser)` and
`run(args) -> int`. Command modules import nothing heavy at module level, so that
`gem-ecg --help` answers at once; the work happens inside `run`.

Exit status: 0 success, 1 failure (one clear line on stderr), 2 usage error (argparse).
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

# In the order of the flow (../shared/design/CLI.md).
VERBS = [
    "inspect", "beats", "measure", "synth", "render", "model", "verify",
    "knowledge", "score", "retrain", "eval", "demo",
]


def _command_module(verb: str):
    name = f"jobs.commands.{verb}"
    if importlib.util.find_spec(name) is None:
        return None
    return importlib.import_module(name)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gem-ecg",
        description="Grounded ECG interpretation with GEM, as a batch job on Ray.",
    )
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb in VERBS:
        module = _command_module(verb)
        if module is None:
            continue
        p = sub.add_parser(verb, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from gem_core.errors import GemError

    try:
        return int(args._run(args) or 0)
    except GemError as exc:
        print(f"gem-ecg {args.verb}: {exc}", file=sys.stderr)
        return 1
    except (FileNotFoundError, PermissionError, ValueError) as exc:
        print(f"gem-ecg {args.verb}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
