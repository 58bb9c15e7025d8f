"""The scored-reports store under one output URI, with a commit protocol.

Layout (any fsspec URL; a local directory by default):

    reports/run_date=YYYY-MM-DD/part-<run_id>-<seq>.parquet   committed rows
    _staging/<run_id>/part-<seq>.parquet                      rows of a run not yet committed
    _runs/<run_id>.json                                       run manifest (status, model, counts)

Protocol:
- a run writes its rows as staged parts (each part appears whole: object stores publish an
  upload only when it completes; local files are written aside and renamed);
- at the end the run moves its parts under `reports/` and then marks its manifest
  `committed`, listing its files. `read_reports` reads committed runs only; readers that glob
  the Hive-partitioned `reports/` folder never see `_`-prefixed staging (pyarrow skips them).
- every store operation is idempotent and retried on transient errors (a store restarting);
- after a crash, the next run on the same inputs and model finds the manifest still `running`
  and resumes it under the same run id: its staged parts are kept, their ids skipped, and a
  half-done commit is finished. Nothing is lost, nothing is written twice.
"""
from __future__ import annotations

import datetime as dt
import json
import posixpath
import uuid
from dataclasses import dataclass

from gem_core.retry import retrying

REPORTS = "reports"
STAGING = "_staging"
RUNS = "_runs"


def new_run_id() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


@dataclass
class RunManifest:
    run_id: str
    status: str                  # running | committed
    model_name: str
    model_version: str
    input_hash: str
    n_inputs: int
    started_at: str
    run_date: str
    params: dict
    counts: dict | None = None
    files: list | None = None
    committed_at: str | None = None


class ReportStore:
    def __init__(self, output_uri: str):
        import fsspec

        self.uri = output_uri.rstrip("/")
        self.fs, self.root = fsspec.core.url_to_fs(self.uri)
        self.protocol = self.uri.split("://", 1)[0] if "://" in self.uri else ""
        self.retries = 0  # transient storage errors retried so far

    # -- paths ---------------------------------------------------------------------------
    def _path(self, *parts: str) -> str:
        return posixpath.join(self.root, *parts)

    def url(self, path: str) -> str:
        """A path of this filesystem as a URL a user (or pyarrow) can open."""
        return f"{self.protocol}://{path}" if self.protocol else path

    # -- manifests -----------------------------------------------------------------------
    def _write_json(self, path: str, obj: dict) -> None:
        self.fs.makedirs(posixpath.dirname(path), exist_ok=True)
        tmp = path + ".tmp"
        with self.fs.open(tmp, "w") as f:
            json.dump(obj, f, indent=1, default=str)
        self.fs.mv(tmp, path)

    @retrying
    def save_manifest(self, m: RunManifest) -> None:
        self._write_json(self._path(RUNS, f"{m.run_id}.json"), m.__dict__)

    @retrying
    def manifests(self) -> list[RunManifest]:
        paths = self.fs.glob(self._path(RUNS, "*.json")) if self.fs.exists(self._path(RUNS)) else []
        out = []
        for p in sorted(paths):
            with self.fs.open(p, "r") as f:
                out.append(RunManifest(**json.load(f)))
        return out

    def find_interrupted(self, input_hash: str, model_version: str, params: dict) -> RunManifest | None:
        """The latest run on the same inputs, model and settings that never committed."""
        for m in reversed(self.manifests()):
            if (m.status == "running" and m.input_hash == input_hash
                    and m.model_version == model_version and m.params == params):
                return m
        return None

    # -- staging -------------------------------------------------------------------------
    @retrying
    def staged_parts(self, run_id: str) -> list[str]:
        d = self._path(STAGING, run_id)
        return sorted(self.fs.glob(posixpath.join(d, "part-*.parquet"))) if self.fs.exists(d) else []

    @retrying
    def stage_part(self, run_id: str, seq: int, table) -> str:
        import pyarrow.parquet as pq

        path = self._path(STAGING, run_id, f"part-{seq:05d}.parquet")
        self.fs.makedirs(posixpath.dirname(path), exist_ok=True)
        tmp = path + ".tmp" if not self.protocol or self.protocol == "file" else path
        with self.fs.open(tmp, "wb") as f:
            pq.write_table(table, f)
        if tmp != path:
            self.fs.mv(tmp, path)
        return path

    @retrying
    def staged_ids(self, run_id: str) -> set[str]:
        import pyarrow.parquet as pq

        ids: set[str] = set()
        for p in self.staged_parts(run_id):
            with self.fs.open(p, "rb") as f:
                ids.update(pq.read_table(f, columns=["record_id"]).column("record_id").to_pylist())
        return ids

    # -- commit --------------------------------------------------------------------------
    @retrying
    def commit(self, m: RunManifest, counts: dict) -> RunManifest:
        """Move every staged part of the run under reports/ and mark the run committed.
        Idempotent: a commit interrupted half-way is finished by calling it again."""
        final_dir = self._path(REPORTS, f"run_date={m.run_date}")
        self.fs.makedirs(final_dir, exist_ok=True)
        for p in self.staged_parts(m.run_id):
            name = posixpath.basename(p).replace("part-", f"part-{m.run_id}-")
            self.fs.mv(p, posixpath.join(final_dir, name))
        files = sorted(self.fs.glob(posixpath.join(final_dir, f"part-{m.run_id}-*.parquet")))
        m.files = [self.url(f) for f in files]
        m.status = "committed"
        m.counts = counts
        m.committed_at = dt.datetime.now(dt.timezone.utc).isoformat()
        self.save_manifest(m)
        staging = self._path(STAGING, m.run_id)
        if self.fs.exists(staging):
            self.fs.rm(staging, recursive=True)
        return m

    # -- reading -------------------------------------------------------------------------
    def committed_files(self) -> list[str]:
        return [f for m in self.manifests() if m.status == "committed" for f in (m.files or [])]

    @retrying
    def read(self, columns: list[str] | None = None, latest: bool = False):
        """Rows of committed runs (a pyarrow Table). `latest`: one row per record id, the
        most recently scored."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        tables = []
        for f in self.committed_files():
            with self.fs.open(f if not self.protocol else f.split("://", 1)[1], "rb") as fh:
                tables.append(pq.read_table(fh, columns=columns))
        if not tables:
            return None
        table = pa.concat_tables(tables, promote_options="default")
        if latest:
            rows = {}
            for i, (rid, ts) in enumerate(zip(table.column("record_id").to_pylist(),
                                              table.column("scored_at").to_pylist())):
                if rid not in rows or ts >= rows[rid][1]:
                    rows[rid] = (i, ts)
            table = table.take(sorted(i for i, _ in rows.values()))
        return table

    def ok_ids(self, model_version: str) -> set[str]:
        """Ids that already have an `ok` row for this model version (what --incremental skips)."""
        table = self.read(columns=["record_id", "status", "model_version"])
        if table is None:
            return set()
        return {rid for rid, st, ver in zip(*(table.column(c).to_pylist() for c in
                                              ("record_id", "status", "model_version")))
                if st == "ok" and ver == model_version}
