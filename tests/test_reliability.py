"""Reliability and security of the scoring job: a bad-input corpus, faults, leaks."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from bad_corpus import build_bad_corpus
from gem_core.report_store import ReportStore
from jobs.score import ScoreConfig, run_score

pytestmark = pytest.mark.slow


def _run_in_thread(cfg: ScoreConfig):
    box = {}

    def target():
        try:
            box["summary"] = run_score(cfg, log=lambda *a: None)
        except BaseException as exc:  # surfaced by the test
            box["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    return t, box


def _wait_for_rows(store: ReportStore, thread, n_parts=1, timeout=240):
    deadline = time.time() + timeout
    while time.time() < deadline and thread.is_alive():
        runs = store.manifests()
        if runs and len(store.staged_parts(runs[-1].run_id)) >= n_parts:
            return True
        time.sleep(0.1)
    return False


def test_bad_input_corpus_gives_one_row_each_with_its_reason(ray_session, tiny_model, shared_ecg, tmp_path):
    manifest, expect = build_bad_corpus(tmp_path / "corpus", shared_ecg)
    out = tmp_path / "out"
    summary = run_score(ScoreConfig(manifest=str(manifest), output=str(out), model=tiny_model, max_new_tokens=8,
                                    batch_size=4, tracking_uri=f"sqlite:///{tmp_path / 'm.db'}"))
    rows = {r["record_id"]: r for r in ReportStore(str(out)).read().to_pylist()}
    print(f"\n{'record':<20} {'expected':<8} {'got':<6} reason")
    for rid, (status, _) in expect.items():
        r = rows.get(rid, {})
        print(f"{rid:<20} {status:<8} {r.get('status', 'MISSING'):<6} {r.get('error', '')[-110:]}")
    print(f"records in {len(expect)}, rows out {len(rows)}, errors {summary['counts']['errors_now']}")
    assert len(expect) >= 25  # kinds of input, each its own case
    assert sorted(rows) == sorted(expect)
    for rid, (status, reason) in expect.items():
        assert rows[rid]["status"] == status, (rid, rows[rid]["error"])
        assert reason in rows[rid]["error"], (rid, rows[rid]["error"])
    flags = {rid: json.loads(rows[rid]["quality_flags"]) for rid in ("saturated", "short_3s", "limb_derived")}
    assert flags["saturated"]["clipped_leads"] and flags["short_3s"]["padded_s"] == pytest.approx(7.0)
    assert flags["limb_derived"]["derived_leads"] == ["III", "aVR", "aVL", "aVF"]


def _inference_actor_pids() -> set[int]:
    """Processes of the GEM actors (Ray titles each worker process after its actor)."""
    import psutil

    pids = set()
    for p in psutil.process_iter(["pid", "cmdline"]):
        if "GemInference" in " ".join(p.info["cmdline"] or []):
            pids.add(p.info["pid"])
    return pids


def test_inference_actor_killed_mid_run_is_restarted_without_loss(ray_session, tiny_model, tmp_path):
    from gem_core.synth import write_cohort

    n = 20
    write_cohort(tmp_path / "in", n=n, seed=21)
    out = tmp_path / "out"
    store = ReportStore(str(out))
    t, box = _run_in_thread(ScoreConfig(input=str(tmp_path / "in"), output=str(out), model=tiny_model,
                                        max_new_tokens=96, batch_size=2, part_rows=2, prepare_batch_size=4,
                                        tracking_uri=f"sqlite:///{tmp_path / 'm.db'}"))
    assert _wait_for_rows(store, t), box
    victims = _inference_actor_pids()
    assert victims, "no inference actor alive mid-run"
    victim = min(victims)
    os.kill(victim, 9)
    killed_at = len(store.staged_ids(store.manifests()[-1].run_id))
    restarted = set()
    while t.is_alive() and not restarted:
        restarted = _inference_actor_pids() - victims
        time.sleep(0.2)
    t.join(300)
    assert not t.is_alive() and "error" not in box, box.get("error")
    ids = store.read().column("record_id").to_pylist()
    print(f"\nkilled inference actor pid {victim} after {killed_at} rows; records in {n}, rows out "
          f"{len(ids)}, distinct {len(set(ids))}, restarted as pid {sorted(restarted)}, "
          f"errors {box['summary']['counts']['errors_now']}")
    assert restarted, "Ray did not restart the killed actor"
    assert sorted(ids) == sorted(f"synth_21_{i:05d}" for i in range(n))
    assert box["summary"]["counts"]["errors_now"] == 0


def test_s3_outage_mid_run_is_retried_then_succeeds(ray_session, tiny_model, s3_bucket, s3_outage, tmp_path):
    import s3fs

    from gem_core.synth import write_cohort

    # Enough records that inference and staging still have seconds to go when the outage
    # begins (the first part is staged within a second or two of the actor starting).
    n = 48
    write_cohort(tmp_path / "in", n=n, seed=22)
    fs = s3fs.S3FileSystem()
    fs.put(str(tmp_path / "in") + "/", f"{s3_bucket}/in/", recursive=True)
    out = f"s3://{s3_bucket}/out"
    store = ReportStore(out)
    t, box = _run_in_thread(ScoreConfig(input=f"s3://{s3_bucket}/in", output=out, model=tiny_model,
                                        max_new_tokens=48, batch_size=2, part_rows=2, prepare_batch_size=1,
                                        tracking_uri=f"sqlite:///{tmp_path / 'm.db'}"))
    assert _wait_for_rows(store, t), box
    assert t.is_alive(), "the job finished before the outage could begin: give it more work"
    # Down while the job stages its rows, longer than the S3 client's own retries (8-15 s),
    # so that the job's retries must take over.
    s3_outage(25.0)
    t.join(300)
    assert not t.is_alive() and "error" not in box, box.get("error")
    table = store.read()
    ids = table.column("record_id").to_pylist()
    retried = sum(table.column("retries").to_pylist())
    c = box["summary"]["counts"]
    print(f"\nS3 down 25 s mid-run: records in {n}, rows out {len(ids)}, records whose read was retried "
          f"{sum(1 for r in table.column('retries').to_pylist() if r)} ({retried} retries), store "
          f"operations retried {c['store_retries_now']}, errors {c['errors_now']}")
    assert sorted(ids) == sorted(f"synth_22_{i:05d}" for i in range(n))
    assert c["errors_now"] == 0 and c["store_retries_now"] + retried > 0


FAKE_KEY_ID = "AKIAGEMECGFAKEKEY0001"
FAKE_SECRET = "gemEcgFakeSecret/DoNotLeak+0123456789abcd"


def test_credentials_never_reach_logs_errors_parquet_or_mlflow(s3_server, s3_bucket, tiny_model, shared_ecg, tmp_path):
    """A fresh job (its own local Ray, logs in tmp) with recognisable fake keys; then every
    file it wrote and everything it printed is searched for them."""
    import s3fs

    fs = s3fs.S3FileSystem()
    for folder, name in (("ptb", "s0010_re"), ("mitdb", "100")):
        for f in (shared_ecg / folder).glob(name + ".*"):
            fs.put_file(str(f), f"{s3_bucket}/in/{folder}/{f.name}")
    import shutil
    import tempfile
    from pathlib import Path

    ray_tmp = Path(tempfile.mkdtemp(prefix="gk", dir="/tmp"))  # Ray's socket paths must stay short
    env = {**os.environ, "AWS_ACCESS_KEY_ID": FAKE_KEY_ID, "AWS_SECRET_ACCESS_KEY": FAKE_SECRET,
           "RAY_TMPDIR": str(ray_tmp), "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'm.db'}"}
    out_uri = f"s3://{s3_bucket}/out"
    res = subprocess.run([sys.executable, "-m", "jobs.cli", "score", "--input", f"s3://{s3_bucket}/in",
                          "--output", out_uri, "--model", tiny_model, "--max-new-tokens", "8", "--images"],
                         env=env, capture_output=True, text=True, timeout=400, cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    local = tmp_path / "mirror"
    fs.get(f"{s3_bucket}/out/", str(local) + "/", recursive=True)
    texts = [res.stdout, res.stderr]
    n_files = 0
    for path in [*tmp_path.rglob("*"), *ray_tmp.rglob("*")]:
        if path.is_file() and not path.is_symlink() and not path.is_socket():
            texts.append(path.read_bytes().decode("latin-1"))
            n_files += 1
    shutil.rmtree(ray_tmp, ignore_errors=True)
    leaks = [t for t in texts if FAKE_KEY_ID in t or FAKE_SECRET in t]
    print(f"\nsearched {n_files} files (Parquet, run manifests, PNGs, MLflow db and artifacts, Ray logs) "
          f"and the job's output: {len(leaks)} with a credential")
    assert n_files > 20 and not leaks
    # Header comments (age, sex, diagnosis text) stay out unless --keep-metadata.
    rows = ReportStore(out_uri).read().to_pylist()
    assert {r["record_id"] for r in rows} == {"ptb/s0010_re", "mitdb/100"}
    assert all(r["header_metadata"] == "" and "Myocardial" not in json.dumps(r) for r in rows)


def test_keep_metadata_copies_header_comments(shared_ecg):
    from gem_core.scoring import output_table, prepare_batch

    batch = prepare_batch({"record_id": ["p"], "uri": [str(shared_ecg / "ptb/s0010_re")], "problem": [""]})
    kept = output_table(batch, "r", "m", "v", keep_metadata=True).to_pylist()[0]
    dropped = output_table(batch, "r", "m", "v").to_pylist()[0]
    assert json.loads(kept["header_metadata"])["reason for admission"] == "Myocardial infarction"
    assert dropped["header_metadata"] == ""
