"""`gem-ecg verify`: on a real record, from a stored Measurements JSON, and on bad input."""
from __future__ import annotations

import json
import subprocess
import sys

from jobs.cli import main


def test_verify_cli_on_a_real_record(shared_ecg, tmp_path, capsys):
    report = tmp_path / "report.txt"
    report.write_text("Sinus rhythm at 64 bpm with a PR interval of 0.16 s. QRS duration 72 ms. "
                      "Atrial fibrillation. Right bundle branch block. No ST elevation. QTc 380 ms.")
    rc = main(["verify", "--record", str(shared_ecg / "ptbxl" / "00001_lr"), "--report", str(report), "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert {"claims", "counts", "score", "contradictions"} <= set(out) and out["record"] == "00001_lr"
    by_name = {c["name"]: c for c in out["claims"]}
    for c in out["claims"]:
        assert {"text", "kind", "value", "leads", "status", "evidence"} <= set(c)
    # PTB-XL 00001: sinus rhythm around 64 bpm, narrow QRS (PTB-XL lists it as normal)
    assert by_name["heart_rate"]["status"] == "supported"
    assert by_name["AF"]["status"] == "contradicted"
    assert by_name["RBBB"]["status"] == "contradicted"
    assert out["counts"]["claims"] == len(out["claims"]) == sum(
        out["counts"][k] for k in ("supported", "contradicted", "unverifiable"))
    assert 0.0 < out["score"] < 1.0

    # the plain-text table, through the console entry point
    measured = subprocess.run([sys.executable, "-m", "jobs.cli", "verify", "--record",
                               str(shared_ecg / "ptbxl" / "00001_lr"), "--report", str(report)],
                              capture_output=True, text=True, timeout=120)
    assert measured.returncode == 0 and "contradicted" in measured.stdout and "AF" in measured.stdout


def test_verify_cli_from_measurements_json(tmp_path, capsys):
    from grounding_fixtures import make_measurements

    m = tmp_path / "m.json"
    m.write_text(json.dumps({"record": "hand-built", **make_measurements(findings=["SINUS_RHYTHM"])}))
    report = tmp_path / "r.txt"
    report.write_text("Normal sinus rhythm at 72 bpm. Normal ECG.")
    assert main(["verify", "--measurements", str(m), "--report", str(report), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["record"] == "hand-built" and out["score"] == 1.0 and out["counts"]["supported"] == 3


def test_verify_cli_bad_record_is_one_line_error(tmp_path, capsys):
    (tmp_path / "bad.hea").write_text("not a header\n")
    report = tmp_path / "r.txt"
    report.write_text("Sinus rhythm.")
    rc = main(["verify", "--record", str(tmp_path / "bad"), "--report", str(report)])
    err = capsys.readouterr().err
    assert rc == 1 and "bad" in err and len(err.strip().splitlines()) == 1
    rc = main(["verify", "--record", str(tmp_path / "bad"), "--report", str(tmp_path / "missing.txt")])
    assert rc == 1
