"""What a job is asked to score: a manifest (CSV or Parquet) or every record under a prefix.

Each input gets a stable `record_id`: the manifest's own `record_id` column when there is one,
else the record's path relative to the scanned prefix (or the manifest's folder), without
extension (`ptbxl/00001_lr`), so that records of the same name in different folders stay apart.
Entries that are not record URIs of an allowed scheme are kept as inputs with a `problem`, so
the job writes an error row for them instead of touching them.
"""
from __future__ import annotations

import hashlib
import json
import posixpath
from dataclasses import asdict, dataclass, field

from gem_core.records import split_uri

# Where records may be read from. Anything else in a manifest (http://, file:// with a host,
# shell metacharacters...) is refused rather than fetched.
ALLOWED_SCHEMES = ("", "file", "s3", "gs", "gcs", "az", "abfs", "memory")
URI_COLUMNS = ("uri", "record_uri", "path", "record")


@dataclass
class InputRecord:
    record_id: str
    uri: str
    meta: dict = field(default_factory=dict)
    problem: str | None = None   # set when the entry must not be read

    def to_dict(self) -> dict:
        return asdict(self)


def scheme_of(uri: str) -> str:
    return uri.split("://", 1)[0].lower() if "://" in uri else ""


def _check_uri(uri: str) -> str | None:
    if not uri or not uri.strip():
        return "empty record URI"
    scheme = scheme_of(uri)
    if scheme not in ALLOWED_SCHEMES:
        return f"URI scheme '{scheme}' is not allowed (allowed: local paths, {', '.join(s for s in ALLOWED_SCHEMES if s)})"
    if any(c in uri for c in "\n\r\0"):
        return "record URI contains control characters"
    return None


def _join(base: str, rel: str) -> str:
    if "://" in rel or rel.startswith("/"):
        return rel
    return posixpath.normpath(posixpath.join(base, rel)) if "://" not in base else f"{base.rstrip('/')}/{rel}"


def _relative_id(uri: str, root: str) -> str:
    path, record_id = split_uri(uri)
    root = root.rstrip("/") + "/"
    return path[len(root):] if path.startswith(root) else record_id


def scan_prefix(prefix: str) -> list[InputRecord]:
    """Every `.hea` under a local directory or object-store prefix (one listing of the prefix)."""
    import fsspec

    fs, root = fsspec.core.url_to_fs(prefix)
    protocol = scheme_of(prefix)
    headers = sorted(p for p in fs.find(root) if p.endswith(".hea"))
    out = []
    for h in headers:
        uri = f"{protocol}://{h}" if protocol else h
        out.append(InputRecord(record_id=_relative_id(uri[: -len(".hea")], prefix if protocol else root), uri=uri[: -len(".hea")]))
    return out


def read_manifest(manifest: str) -> list[InputRecord]:
    """CSV or Parquet with a URI column (`uri`, `record_uri`, `path` or `record`), an optional
    `record_id`, and any other columns kept as metadata. Relative URIs are resolved against
    the manifest's folder."""
    import fsspec
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    with fsspec.open(manifest, "rb") as f:
        table = pq.read_table(f) if manifest.endswith(".parquet") else pacsv.read_csv(
            f, convert_options=pacsv.ConvertOptions(strings_can_be_null=False, check_utf8=False))
    columns = table.column_names
    uri_col = next((c for c in URI_COLUMNS if c in columns), None)
    if uri_col is None:
        from gem_core.errors import GemError

        raise GemError(f"manifest {manifest}: no URI column (one of {', '.join(URI_COLUMNS)}) among {columns}")
    base = posixpath.dirname(manifest)
    out = []
    for row in table.to_pylist():
        raw = str(row.pop(uri_col) or "").strip()
        given_id = str(row.pop("record_id", "") or "").strip()
        problem = _check_uri(raw)
        uri = raw if problem else _join(base, split_uri(raw)[0])
        record_id = given_id or (_relative_id(uri, base) if not problem else raw or "<empty>")
        meta = {k: v for k, v in row.items() if v is not None and v != ""}
        out.append(InputRecord(record_id=record_id, uri=uri, meta=meta, problem=problem))
    return out


def list_inputs(input_uri: str | None = None, manifest: str | None = None) -> list[InputRecord]:
    if (input_uri is None) == (manifest is None):
        raise ValueError("give exactly one of an input prefix or a manifest")
    inputs = read_manifest(manifest) if manifest else scan_prefix(input_uri)
    # Output ids must be unique: a repeated id keeps its first input; each later one becomes
    # an error row under "<id>#<n>" so that it is reported, not silently dropped.
    first: dict[str, str] = {}
    repeats: dict[str, int] = {}
    for rec in inputs:
        if rec.record_id in first:
            repeats[rec.record_id] = repeats.get(rec.record_id, 1) + 1
            rec.problem = rec.problem or f"duplicate record id {rec.record_id} (first at {first[rec.record_id]})"
            rec.record_id = f"{rec.record_id}#{repeats[rec.record_id]}"
        else:
            first[rec.record_id] = rec.uri
    return inputs


def input_set_hash(inputs: list[InputRecord]) -> str:
    """Identity of an input set: the sorted (id, uri) pairs."""
    payload = json.dumps(sorted((r.record_id, r.uri) for r in inputs)).encode()
    return hashlib.sha256(payload).hexdigest()[:16]
