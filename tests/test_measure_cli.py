"""`gem-ecg measure RECORD...`: several records in one process, one JSON object per line in
input order, a bad record reported on stderr by name while the others go on, exit 1."""
from __future__ import annotations

import json
import subprocess
import sys

from gem_core.synth import make_case, write_record


def test_measure_several_records_with_a_bad_one(shared_ecg, tmp_path, capsys):
    import numpy as np

    from jobs.cli import main

    case = make_case(np.random.default_rng(21), "rbbb", record_id="rbbb_case")
    synth_path = write_record(case, tmp_path)
    broken = tmp_path / "broken"
    (tmp_path / "broken.hea").write_text("broken 12 500 5000\n")          # no signal lines
    records = [str(shared_ecg / "ptbxl" / "00001_lr"), str(broken), str(synth_path),
               str(shared_ecg / "ptb" / "s0010_re.hea")]
    rc = main(["measure", *records, "--json"])
    out = capsys.readouterr()
    assert rc == 1
    lines = [json.loads(x) for x in out.out.strip().splitlines()]
    assert [d["record"] for d in lines] == ["00001_lr", "rbbb_case", "s0010_re"]
    assert "broken" in out.err and out.err.count("\n") == 1
    rbbb = lines[1]
    assert {"RBBB", "WIDE_QRS"} <= {f["code"] for f in rbbb["findings"]}
    assert abs(rbbb["global"]["qrs_ms"] - case.truth["qrs_ms"]) <= 10
    assert set(rbbb) == {"record", "global", "leads", "findings", "quality", "fiducials"}


def test_measure_text_output_and_success_exit(shared_ecg, capsys):
    from jobs.cli import main

    rc = main(["measure", str(shared_ecg / "ptbxl" / "00001_lr")])
    out = capsys.readouterr().out
    assert rc == 0
    assert out.startswith("00001_lr: HR 64 bpm") and "SINUS_RHYTHM" in out


def test_help_does_not_import_heavy_modules():
    """`gem-ecg measure --help` answers without numpy-heavy work or neurokit2/torch."""
    code = ("import sys, runpy; sys.argv=['gem-ecg','measure','--help']\n"
            "try:\n    runpy.run_module('jobs.cli', run_name='__main__')\nexcept SystemExit: pass\n"
            "print('HEAVY', sorted(m for m in ('neurokit2','torch','scipy.signal','gem_core.measure')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert "HEAVY []" in out
