"""The scoring job end to end on real components: local Ray, moto S3, MLflow on sqlite,
a real gem-tiny checkpoint in the published layout, real and synthetic WFDB records."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gem_core.report_store import ReportStore
from jobs.score import ScoreConfig, run_score

pytestmark = pytest.mark.slow
MAX_NEW = 12  # tokens per report: keeps gem-tiny on CPU fast; the path is the same as 1024


def make_archive(root: Path, shared_ecg: Path, n_synth: int = 6) -> dict[str, str]:
    """Shared real records + synthetic ones + broken files; returns {record_id: expectation}."""
    from gem_core.synth import write_cohort

    expect = {}
    for folder, name in (("ptb", "s0010_re"), ("ptbxl", "00001_lr"), ("mitdb", "100")):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for f in (shared_ecg / folder).glob(name + ".*"):
            shutil.copy(f, root / folder / f.name)
        expect[f"{folder}/{name}"] = "error" if folder == "mitdb" else "ok"
    write_cohort(root / "synth", n=n_synth, seed=7)
    expect.update({f"synth/synth_7_{i:05d}": "ok" for i in range(n_synth)})
    broken = root / "broken"
    broken.mkdir()
    src = shared_ecg / "ptbxl" / "00001_lr"
    shutil.copy(src.with_suffix(".hea"), broken / "trunc.hea")
    (broken / "trunc.hea").write_text((broken / "trunc.hea").read_text().replace("00001_lr", "trunc"))
    (broken / "trunc.dat").write_bytes(src.with_suffix(".dat").read_bytes()[:5000])
    (broken / "garbage.hea").write_bytes(os.urandom(300))
    (broken / "nodat.hea").write_text(src.with_suffix(".hea").read_text().replace("00001_lr", "nodat"))
    expect.update({"broken/trunc": "error", "broken/garbage": "error", "broken/nodat": "error"})
    return expect


def check_rows(table, expect: dict[str, str]) -> None:
    rows = table.to_pylist()
    ids = [r["record_id"] for r in rows]
    assert sorted(ids) == sorted(expect), "ids in != ids out"
    assert len(ids) == len(set(ids)), "a record was written twice"
    for r in rows:
        assert r["status"] == expect[r["record_id"]], (r["record_id"], r["error"])
        if r["status"] == "error":
            assert r["source_uri"] in r["error"] and ": " in r["error"]  # names the record
            assert r["report_text"] == ""
        else:
            assert r["error"] == "" and r["n_tokens"] > 0 and r["report_text"] is not None
            m = json.loads(r["measurements"])
            assert set(m) >= {"global", "leads", "findings"}
            assert r["grounding"] and "counts" in json.loads(r["grounding"])
        assert r["model_name"] and r["model_version"] and r["run_id"] and r["scored_at"]


def test_score_local_archive_one_row_per_input_and_incremental(ray_session, tiny_model, shared_ecg, tmp_path):
    expect = make_archive(tmp_path / "archive", shared_ecg)
    out = tmp_path / "out"
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cfg = ScoreConfig(input=str(tmp_path / "archive"), output=str(out), model=tiny_model,
                      max_new_tokens=MAX_NEW, batch_size=4, images=True, part_rows=5,
                      tracking_uri=tracking)
    summary = run_score(cfg)
    store = ReportStore(str(out))
    table = store.read()
    check_rows(table, expect)
    errors = {r["record_id"]: r["error"] for r in table.to_pylist() if r["status"] == "error"}
    print("\n".join(f"{k}: {v}" for k, v in sorted(errors.items())))
    assert "has 2 ECG leads" in errors["mitdb/100"] and "truncated" in errors["broken/trunc"]
    assert summary["counts"]["rows"] == len(expect) == summary["counts"]["inputs"]
    # Review images exist for ok rows.
    for r in table.to_pylist():
        assert (r["image_uri"] != "") == (r["status"] == "ok")
        if r["image_uri"]:
            assert Path(r["image_uri"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # MLflow holds the run's params, metrics and artifacts.
    import mlflow

    mlflow.set_tracking_uri(tracking)
    (run,) = mlflow.search_runs(experiment_names=["gem-ecg-scoring"], output_format="list")
    assert run.data.params["batch_size"] == "4" and run.data.params["model_version"] == summary["model_version"]
    for metric in ("ecgs_per_s", "errors", "prepare_ecgs_per_s_per_worker", "infer_ecgs_per_s_per_worker",
                   "grounding_score_p50"):
        assert metric in run.data.metrics, metric
    assert run.data.metrics["errors"] == list(expect.values()).count("error")
    arts = {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id)}
    assert "run_manifest.json" in arts and "review_images" in arts
    # Nightly rerun: ok rows are skipped, error rows retried; nothing is written twice.
    again = run_score(ScoreConfig(**{**cfg.__dict__, "incremental": True, "images": False}))
    n_err = list(expect.values()).count("error")
    assert again["counts"]["scored_now"] == n_err and again["counts"]["skipped_incremental"] == len(expect) - n_err
    latest = store.read(latest=True)
    check_rows(latest, expect)


def test_score_reads_and_writes_s3(ray_session, tiny_model, shared_ecg, s3_bucket, tmp_path):
    import s3fs

    fs = s3fs.S3FileSystem()
    for folder, name in (("ptb", "s0010_re"), ("ptbxl", "00001_lr")):
        for f in (shared_ecg / folder).glob(name + ".*"):
            fs.put_file(str(f), f"{s3_bucket}/in/{folder}/{f.name}")
    manifest = tmp_path / "cohort.csv"
    manifest.write_text(f"uri,record_id\ns3://{s3_bucket}/in/ptb/s0010_re,p1\n"
                        f"s3://{s3_bucket}/in/ptbxl/00001_lr.hea,p2\ns3://{s3_bucket}/in/none/x,p3\n")
    out = f"s3://{s3_bucket}/scores"
    run_score(ScoreConfig(manifest=str(manifest), output=out, model=tiny_model, max_new_tokens=MAX_NEW,
                          tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}"))
    table = ReportStore(out).read()
    check_rows(table, {"p1": "ok", "p2": "ok", "p3": "error"})
    assert fs.glob(f"{s3_bucket}/scores/reports/run_date=*/part-*.parquet")
    assert not fs.exists(f"{s3_bucket}/scores/_staging") or not fs.ls(f"{s3_bucket}/scores/_staging")


def test_driver_killed_mid_run_then_rerun_commits_every_id_once(ray_session, tiny_model, shared_ecg, tmp_path):
    from gem_core.synth import write_cohort

    n = 24
    write_cohort(tmp_path / "archive", n=n, seed=3)
    ids = [f"synth_3_{i:05d}" for i in range(n)]
    out = tmp_path / "out"
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    gcs = ray_session.get_runtime_context().gcs_address
    args = [sys.executable, "-m", "jobs.score", "--input", str(tmp_path / "archive"), "--output", str(out),
            "--model", tiny_model, "--max-new-tokens", "128", "--batch-size", "2", "--part-rows", "2",
            "--prepare-batch-size", "4",  # small tasks, so rows stream out while the driver is alive
            "--address", gcs, "--tracking-uri", tracking]
    driver = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              start_new_session=True)
    store = ReportStore(str(out))
    deadline = time.time() + 240
    try:
        while time.time() < deadline and driver.poll() is None:
            runs = store.manifests()
            if runs and store.staged_parts(runs[0].run_id):
                break
            time.sleep(0.1)
        assert driver.poll() is None, "driver finished before it could be killed:\n" + driver.stdout.read()
        os.killpg(driver.pid, signal.SIGKILL)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
        driver.wait()
    (interrupted,) = store.manifests()
    staged = store.staged_ids(interrupted.run_id)
    print(f"killed the driver with {len(staged)} of {len(ids)} rows staged")
    assert interrupted.status == "running" and 0 < len(staged) < len(ids)
    assert store.read() is None  # readers see nothing of the unfinished run

    summary = run_score(ScoreConfig(input=str(tmp_path / "archive"), output=str(out), model=tiny_model,
                                    max_new_tokens=128, batch_size=2, part_rows=2, incremental=True,
                                    tracking_uri=tracking))
    assert summary["run_id"] == interrupted.run_id
    assert summary["counts"]["scored_now"] == len(ids) - len(staged)
    table = store.read()
    got = table.column("record_id").to_pylist()
    print(f"after rerun: {len(got)} rows, {len(set(got))} distinct, inputs {len(ids)}")
    assert sorted(got) == sorted(f"{i}" for i in ids)
