"""The scoring flow for one batch of records, as plain functions (no Ray).

    inputs  {record_id, uri, problem, meta}
    -> prepare_batch   read + prepare + measure + render the model input (CPU)
    -> infer_batch     GEM generates the report (GPU on a cluster)
    -> verify_batch    every claim checked against the measurements (CPU)
    -> output_table    one row per input, the output contract (ARCHITECTURE.md)

`jobs/score.py` wires these into Ray Data stages; `bench/score.py` and tests call them in a
plain loop. A batch is a dict of equal-length columns (lists or arrays, as Ray Data's numpy
batches are). A record that fails at any stage becomes an `error` row naming the record and
the reason, and later stages pass it through untouched.
"""
from __future__ import annotations

import datetime as dt
import json
import time

import numpy as np

from gem_core.leads import N_SAMPLES
from gem_core.retry import call_with_retry

IMAGE_SHAPE = (3, 336, 336)   # CLIP-L/336 model input


def _error_text(record: str, exc: Exception) -> str:
    from gem_core.errors import RecordError

    if isinstance(exc, RecordError):
        return str(exc)
    return f"{record}: {type(exc).__name__}: {exc}"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


def prepare_one(uri: str, problem: str | None = None, offset_s: float = 0.0,
                image_size: int = IMAGE_SHAPE[-1]) -> dict:
    """Read, prepare, measure and render one record (raises RecordError)."""
    from gem_core.errors import RecordError
    from gem_core.measure import measure_ecg
    from gem_core.prepare import load_prepared
    from gem_core.render.clip_input import model_input_bytes

    if problem:
        raise RecordError(uri, problem)
    prepared = load_prepared(uri, offset_s=offset_s)
    if len(prepared.flags.flat_leads) == len(prepared.leads):
        raise RecordError(uri, "no usable ECG signal: every lead is flat or missing in the window"
                          + (f" ({prepared.flags.non_finite_samples} non-finite samples)"
                             if prepared.flags.non_finite_samples else ""))
    measurements = measure_ecg(prepared.signal, fs=prepared.fs).to_dict()
    return {
        "signal": prepared.signal,
        "image": model_input_bytes(prepared.signal, size=image_size),  # uint8: 4x less to move
        "measurements": measurements,
        "quality_flags": prepared.flags.to_dict(),
        "metadata": prepared.metadata,
    }


def prepare_batch(batch: dict, offset_s: float = 0.0, image_size: int = IMAGE_SHAPE[-1],
                  review_dir: str | None = None) -> dict:
    """inputs -> inputs + status, error, signal (B,12,5000), image (B,3,S,S) uint8 crop, measurements."""
    n = len(batch["record_id"])
    out = {k: list(batch[k]) for k in batch}
    signals = np.zeros((n, 12, N_SAMPLES), dtype=np.float32)
    images = np.zeros((n, 3, image_size, image_size), dtype=np.uint8)
    status, error, meas, flags, meta, image_uri, seconds, retries = [], [], [], [], [], [], [], []
    for i in range(n):
        t0 = time.perf_counter()
        rid, uri = str(batch["record_id"][i]), str(batch["uri"][i])
        problem = batch["problem"][i] if "problem" in batch else None
        tries = []
        try:
            # A storage blip is retried; a broken record fails at once.
            r = call_with_retry(prepare_one, uri, problem or None, offset_s, image_size,
                                on_retry=lambda k, e: tries.append(k))
            png = (call_with_retry(write_review_png, review_dir, rid, r["signal"], r["measurements"],
                                   on_retry=lambda k, e: tries.append(k)) if review_dir else "")
            signals[i], images[i] = r["signal"], r["image"]
            status.append("ok"), error.append("")
            meas.append(json.dumps(r["measurements"])), flags.append(json.dumps(r["quality_flags"]))
            meta.append(json.dumps(r["metadata"], default=str))
            image_uri.append(png)
        except Exception as exc:  # one bad record must not stop the batch
            status.append("error"), error.append(_error_text(uri, exc))
            meas.append(""), flags.append(""), meta.append(""), image_uri.append("")
        seconds.append(time.perf_counter() - t0)
        retries.append(len(tries))
    out.update(status=status, error=error, signal=signals, image=images, measurements=meas,
               quality_flags=flags, header_metadata=meta, image_uri=image_uri, t_prepare_s=seconds,
               retries=retries)
    return out


def write_review_png(review_dir: str, record_id: str, signal: np.ndarray, measurements: dict) -> str:
    """The training-layout page with fiducials and intervals marked, as PNG in the store."""
    import posixpath

    import fsspec

    from gem_core.render import review_png

    path = posixpath.join(review_dir.rstrip("/"), record_id.replace("/", "__") + ".png")
    with fsspec.open(path, "wb", auto_mkdir=True) as f:
        f.write(review_png(signal, measurements))
    return path


def measurement_summary(measurements: dict) -> str:
    """The measured global values and findings as one line appended to the question
    (`--prompt-measurements`)."""
    g = measurements.get("global", {})
    parts = []
    for key, label, unit in (("heart_rate_bpm", "heart rate", "bpm"), ("pr_ms", "PR", "ms"),
                             ("qrs_ms", "QRS", "ms"), ("qt_ms", "QT", "ms"), ("qtc_ms", "QTc", "ms"),
                             ("qrs_axis_deg", "QRS axis", "degrees")):
        if g.get(key) is not None:
            parts.append(f"{label} {g[key]:.0f} {unit}")
    findings = [f["label"] for f in measurements.get("findings", [])]
    text = "Measured: " + ", ".join(parts) + "."
    if findings:
        text += " Findings: " + "; ".join(findings) + "."
    return text


def question_for(measurements_json: str, prompt_measurements: bool) -> str:
    from gem_core.model.prompt import GROUNDING_QUESTION

    if not prompt_measurements or not measurements_json:
        return GROUNDING_QUESTION
    return GROUNDING_QUESTION + "\n" + measurement_summary(json.loads(measurements_json))


def infer_batch(batch: dict, generator, prompt_measurements: bool = False,
                max_new_tokens: int = 1024) -> dict:
    """Generate a report for each `ok` row; error rows pass through with an empty report.
    If the batch fails as a whole, rows are retried one by one so that only the culprit
    becomes an error row."""
    import torch

    from gem_core.render.clip_input import normalise_bytes

    out = dict(batch)
    n = len(batch["record_id"])
    status, error = list(batch["status"]), list(batch["error"])
    texts, tokens = [""] * n, [0] * n
    ok = [i for i in range(n) if status[i] == "ok"]
    t0 = time.perf_counter()

    def run(rows):
        ecg = torch.from_numpy(np.ascontiguousarray(np.asarray(batch["signal"])[rows]))
        img = torch.from_numpy(normalise_bytes(np.asarray(batch["image"])[rows]))  # (B, 3, S, S) float
        qs = [question_for(batch["measurements"][i], prompt_measurements) for i in rows]
        return generator.generate(ecg=ecg, images=img, questions=qs, max_new_tokens=max_new_tokens)

    if ok:
        try:
            results = list(zip(ok, run(ok)))
        except Exception:
            results = []
            for i in ok:
                try:
                    results.append((i, run([i])[0]))
                except Exception as exc:
                    status[i], error[i] = "error", _error_text(str(batch["uri"][i]), exc)
        for i, r in results:
            texts[i], tokens[i] = r.text, r.n_new_tokens
    per_row = (time.perf_counter() - t0) / max(1, len(ok))
    out.update(status=status, error=error, report_text=texts, n_tokens=tokens,
               prompt_measurements=[bool(prompt_measurements)] * n,
               t_infer_s=[per_row if s == "ok" else 0.0 for s in status])
    return out


def verify_batch(batch: dict) -> dict:
    """The grounding verdict of each report against its own measurements."""
    from gem_core.grounding import verify_report

    out = dict(batch)
    n = len(batch["record_id"])
    verdicts, scores, seconds = [], [], []
    for i in range(n):
        t0 = time.perf_counter()
        if batch["status"][i] != "ok":
            verdicts.append(""), scores.append(None)
        else:
            v = verify_report(str(batch["report_text"][i]), json.loads(batch["measurements"][i])).to_dict()
            verdicts.append(json.dumps(v)), scores.append(v.get("score"))
        seconds.append(time.perf_counter() - t0)
    out.update(grounding=verdicts, grounding_score=scores, t_verify_s=seconds)
    return out


def output_schema():
    import pyarrow as pa

    return pa.schema([
        ("record_id", pa.string()), ("source_uri", pa.string()), ("status", pa.string()),
        ("error", pa.string()), ("model_name", pa.string()), ("model_version", pa.string()),
        ("run_id", pa.string()), ("scored_at", pa.string()),
        ("prompt_measurements", pa.bool_()),
        ("measurements", pa.string()),          # JSON: global, leads, quality, fiducials
        ("findings", pa.string()),              # JSON list of {code, label, evidence, leads}
        ("finding_codes", pa.list_(pa.string())),
        ("quality_flags", pa.string()),         # JSON: preparation flags
        ("report_text", pa.string()), ("n_tokens", pa.int32()),
        ("grounding", pa.string()),             # JSON verdict: claims, counts, score
        ("grounding_score", pa.float64()),
        ("image_uri", pa.string()),
        ("retries", pa.int32()),                # storage retries spent on this record
        ("header_metadata", pa.string()),       # JSON; only with --keep-metadata
        ("t_prepare_s", pa.float64()), ("t_infer_s", pa.float64()), ("t_verify_s", pa.float64()),
    ])


def output_table(batch: dict, run_id: str, model_name: str, model_version: str,
                 keep_metadata: bool = False):
    """The rows of a batch as the output contract (a pyarrow Table)."""
    import pyarrow as pa

    n = len(batch["record_id"])
    measurements = [json.loads(m) if m else None for m in batch["measurements"]]
    findings = [m.get("findings", []) if m else [] for m in measurements]
    scored_at = _now()
    cols = {
        "record_id": [str(x) for x in batch["record_id"]],
        "source_uri": [str(x) for x in batch["uri"]],
        "status": [str(x) for x in batch["status"]],
        "error": [str(x) for x in batch["error"]],
        "model_name": [model_name] * n, "model_version": [model_version] * n,
        "run_id": [run_id] * n, "scored_at": [scored_at] * n,
        "prompt_measurements": [bool(x) for x in batch.get("prompt_measurements", [False] * n)],
        "measurements": [str(x) for x in batch["measurements"]],
        "findings": [json.dumps(f) for f in findings],
        "finding_codes": [[f["code"] for f in fs] for fs in findings],
        "quality_flags": [str(x) for x in batch["quality_flags"]],
        "report_text": [str(x) for x in batch.get("report_text", [""] * n)],
        "n_tokens": [int(x) for x in batch.get("n_tokens", [0] * n)],
        "grounding": [str(x) for x in batch.get("grounding", [""] * n)],
        "grounding_score": [None if x is None or (isinstance(x, float) and np.isnan(x)) else float(x)
                            for x in batch.get("grounding_score", [None] * n)],
        "image_uri": [str(x) for x in batch["image_uri"]],
        "retries": [int(x) for x in batch.get("retries", [0] * n)],
        "header_metadata": [str(x) if keep_metadata else "" for x in batch["header_metadata"]],
        "t_prepare_s": [float(x) for x in batch["t_prepare_s"]],
        "t_infer_s": [float(x) for x in batch.get("t_infer_s", [0.0] * n)],
        "t_verify_s": [float(x) for x in batch.get("t_verify_s", [0.0] * n)],
    }
    return pa.table(cols, schema=output_schema())
