"""The console script: verbs, fast help, no heavy import on the help path."""
from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "ray", "transformers", "neurokit2", "mlflow", "matplotlib", "wfdb", "scipy")


def test_help_imports_nothing_heavy():
    code = ("import sys, contextlib, io\n"
            "from jobs.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try: main(['--help'])\n"
            "    except SystemExit: pass\n"
            f"print([m for m in {HEAVY!r} if m in sys.modules])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_every_command_module_has_the_verb_interface():
    from jobs import cli

    parser = cli.build_parser()
    verbs = parser._subparsers._group_actions[0].choices
    assert "inspect" in verbs and "demo" in verbs
    for verb in verbs:
        module = cli._command_module(verb)
        assert isinstance(module.HELP, str) and callable(module.add_arguments) and callable(module.run)


def test_usage_error_exits_2():
    out = subprocess.run([sys.executable, "-m", "jobs.cli", "inspect"], capture_output=True, text=True)
    assert out.returncode == 2 and "RECORD" in out.stderr


def test_inspect_json_keys(shared_ecg):
    out = subprocess.run([sys.executable, "-m", "jobs.cli", "inspect", str(shared_ecg / "ptbxl/00001_lr"), "--json"],
                         capture_output=True, text=True, check=True)
    info = json.loads(out.stdout)
    for key in ("record", "fs_in", "fs", "shape", "leads", "mapping", "flags"):
        assert key in info
    assert info["fs_in"] == 100 and info["shape"] == [12, 5000]
