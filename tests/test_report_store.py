"""Inputs listing and the commit protocol of the report store (no Ray needed)."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from gem_core.archive import input_set_hash, list_inputs
from gem_core.report_store import ReportStore, RunManifest, new_run_id


def test_prefix_scan_gives_relative_ids(shared_ecg):
    inputs = list_inputs(input_uri=str(shared_ecg))
    assert [r.record_id for r in inputs] == ["mitdb/100", "ptb/s0010_re", "ptbxl/00001_lr"]
    assert all(r.problem is None and not r.uri.endswith(".hea") for r in inputs)


def test_manifest_resolves_relative_uris_refuses_bad_schemes_and_duplicates(shared_ecg, tmp_path):
    m = tmp_path / "m.csv"
    m.write_text("uri,record_id,patient_id\n"
                 f"{shared_ecg}/ptb/s0010_re.hea,a,p1\n"
                 f"{shared_ecg}/ptbxl/00001_lr,b,p2\n"
                 "http://example.org/x,c,p3\n"
                 f"{shared_ecg}/ptbxl/00001_lr,b,p2\n")
    inputs = list_inputs(manifest=str(m))
    assert [r.record_id for r in inputs] == ["a", "b", "c", "b#2"]
    assert inputs[0].uri == f"{shared_ecg}/ptb/s0010_re" and inputs[0].meta == {"patient_id": "p1"}
    assert inputs[2].problem.startswith("URI scheme 'http' is not allowed")
    assert inputs[3].problem.startswith("duplicate record id b")
    rel = tmp_path / "rel.csv"
    rel.write_text("path\nrecs/r1\n")
    (r,) = list_inputs(manifest=str(rel))
    assert r.uri == f"{tmp_path}/recs/r1" and r.record_id == "recs/r1"
    assert input_set_hash(inputs) == input_set_hash(list(reversed(inputs)))


def _rows(ids, status="ok", version="v1", ts="2026-12-01T00:00:00"):
    return pa.table({"record_id": ids, "status": [status] * len(ids),
                     "model_version": [version] * len(ids), "scored_at": [ts] * len(ids)})


def _manifest(run_id, params=None):
    return RunManifest(run_id=run_id, status="running", model_name="m", model_version="v1",
                       input_hash="h", n_inputs=4, started_at="t", run_date="2026-12-01",
                       params=params or {})


def test_commit_protocol_staging_is_invisible_until_commit_and_resumes(tmp_path):
    store = ReportStore(str(tmp_path / "out"))
    run = _manifest(new_run_id())
    store.save_manifest(run)
    store.stage_part(run.run_id, 0, _rows(["a", "b"]))
    # A crash here: nothing committed, a glob reader sees nothing, the run is resumable.
    assert store.read() is None
    assert not (tmp_path / "out" / "reports").exists() or not list((tmp_path / "out" / "reports").rglob("*.parquet"))
    resumed = store.find_interrupted("h", "v1", {})
    assert resumed.run_id == run.run_id and store.staged_ids(run.run_id) == {"a", "b"}
    assert store.find_interrupted("h", "v2", {}) is None
    store.stage_part(run.run_id, 1, _rows(["c", "d"], status="error"))
    store.commit(resumed, {"ok": 2, "error": 2})
    table = store.read()
    assert sorted(table.column("record_id").to_pylist()) == ["a", "b", "c", "d"]
    # The Hive-partitioned folder is readable as a plain dataset, without the staging area.
    glob = pq.read_table(tmp_path / "out" / "reports")
    assert sorted(glob.column("record_id").to_pylist()) == ["a", "b", "c", "d"]
    assert store.ok_ids("v1") == {"a", "b"} and store.ok_ids("v2") == set()
    assert store.find_interrupted("h", "v1", {}) is None
    # Committing again (a crash after the moves) changes nothing.
    store.commit(resumed, {"ok": 2, "error": 2})
    assert store.read().num_rows == 4


def test_latest_view_keeps_one_row_per_id(tmp_path):
    store = ReportStore(str(tmp_path / "out"))
    for i, (status, ts) in enumerate([("error", "2026-12-01T00:00:00"), ("ok", "2026-12-02T00:00:00")]):
        run = _manifest(f"r{i}")
        store.stage_part(run.run_id, 0, _rows(["a"], status=status, ts=ts))
        store.commit(run, {})
    assert store.read().num_rows == 2
    latest = store.read(latest=True)
    assert latest.num_rows == 1 and latest.column("status").to_pylist() == ["ok"]


def test_store_on_s3(s3_bucket):
    store = ReportStore(f"s3://{s3_bucket}/scores")
    run = _manifest("r1")
    store.save_manifest(run)
    store.stage_part("r1", 0, _rows(["x", "y"]))
    store.commit(store.find_interrupted("h", "v1", {}), {"ok": 2})
    assert sorted(store.read().column("record_id").to_pylist()) == ["x", "y"]
    assert all(f.startswith(f"s3://{s3_bucket}/scores/reports/run_date=2026-12-01/part-r1-") for f in store.committed_files())
