"""`gem-ecg demo` at a reduced size, end to end, and every artifact it promises."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from gem_core.archive import list_inputs
from gem_core.report_store import ReportStore
from jobs.demo import REGISTRY_NAME, DemoConfig, print_summary, run_demo

pytestmark = pytest.mark.slow


def chromium() -> str:
    """Headless Chromium (Debian package `chromium`), installed here if missing."""
    path = shutil.which("chromium")
    if path is None:
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, capture_output=True,
                       env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        path = shutil.which("chromium")
    assert path, "chromium could not be installed"
    return path


def render_dom(html_path, tmp_path) -> str:
    """The page's DOM after Chromium loaded and laid it out (no network: local file only)."""
    out = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                          "--no-first-run", "--disable-background-networking", "--disable-component-update",
                          "--disable-sync", f"--user-data-dir={tmp_path / 'chromium'}", "--dump-dom",
                          html_path.resolve().as_uri()], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_demo_end_to_end_then_incremental(ray_session, shared_ecg, tmp_path, capsys, artifacts_dir):
    import mlflow

    data = tmp_path / "data"
    cfg = DemoConfig(data_dir=data, records=shared_ecg, n_synth=10, steps=12, retrain_steps=4,
                     max_new_tokens=24, batch_size=4)
    summary = run_demo(cfg)
    print_summary(summary)
    shown = capsys.readouterr().out
    for line in ("ECGs reported", "review page", "MLflow UI", "mlflow ui --backend-store-uri", "retraining"):
        assert line in shown, line

    # Parquet: one row per input record.
    inputs = {r.record_id for r in list_inputs(input_uri=str(data / "archive"))}
    table = ReportStore(str(data / "scores")).read()
    assert len(inputs) == 13 and sorted(table.column("record_id").to_pylist()) == sorted(inputs)

    # The review page opens in headless Chromium with one card per ECG, pictures included.
    html = data / "review.html"
    dom = render_dom(html, tmp_path)
    cards = re.findall(r'<div class="card( error)?" id="([^"]+)"', dom)
    assert sorted(c[1] for c in cards) == sorted(inputs)
    assert len(re.findall(r"<img ", dom)) == table.column("status").to_pylist().count("ok")
    shutil.copy(html, artifacts_dir / "demo_review.html")

    # MLflow: the training runs, the scoring run, the registered model with its champion.
    mlflow.set_tracking_uri(summary["tracking_uri"])
    client = mlflow.MlflowClient()
    training = mlflow.search_runs(experiment_names=["gem-ecg-retraining"], output_format="list")
    scoring = mlflow.search_runs(experiment_names=["gem-ecg-scoring"], output_format="list")
    assert len(training) == 2 and len(scoring) == 1
    champion = client.get_model_version_by_alias(REGISTRY_NAME, "champion")
    assert str(champion.version) in {"1", "2"}
    assert summary["retraining"]["promoted"] == (str(champion.version) == "2")

    # A second run is incremental: no ok report is made twice (only the refused 2-lead record
    # is tried again, as nightly runs retry errors), no retraining without new reports.
    again = run_demo(cfg)
    sc = again["scoring"]
    assert sc["ok_now"] == 0 and sc["scored_now"] == 1 and sc["skipped_incremental"] == len(inputs) - 1
    assert "skipped" in again["retraining"]
    ids = ReportStore(str(data / "scores")).read(latest=True).column("record_id").to_pylist()
    assert sorted(ids) == sorted(inputs)
