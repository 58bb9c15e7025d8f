"""Real inputs for the retraining tests: an archive of the shared PhysioNet records and a
synthetic cohort, knowledge items written by `gem-ecg knowledge`, a committed report store
(the scoring job's layout) and a clinician feedback file.

The report store's good rows carry knowledge paragraphs as report text: what a well-grounded
model writes (gem-tiny's own reports before training would all be filtered out). One row holds
another record's paragraph (contradicted, must be rejected) and one is an error row.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass
class RetrainInputs:
    archive: Path
    knowledge: str          # JSON Lines
    reports: str            # report store root
    feedback: str           # JSON Lines
    report_ids: list[str]   # ids whose rows are verified knowledge paragraphs
    bad_report_id: str      # row with another record's paragraph
    feedback_report_id: str  # corrected report overrides this record's report row
    feedback_labels_id: str  # labels-only correction


def make_archive(root: Path, shared_ecg: Path, n_synth: int, seed: int) -> Path:
    from gem_core.synth import write_cohort

    for folder, name in (("ptb", "s0010_re"), ("ptbxl", "00001_lr")):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for f in (shared_ecg / folder).glob(name + ".*"):
            shutil.copy(f, root / folder / f.name)
    write_cohort(root / "synth", n=n_synth, seed=seed)
    (root / "synth" / "manifest.csv").unlink()
    return root


def commit_rows(out: str, table, model_name: str) -> str:
    """One committed run of the report store holding `table` (the output contract's rows)."""
    from gem_core.report_store import ReportStore, RunManifest, new_run_id

    store = ReportStore(out)
    now = dt.datetime.now(dt.timezone.utc)
    run = RunManifest(run_id=new_run_id(), status="running", model_name=model_name, model_version="v0",
                      input_hash=model_name, n_inputs=table.num_rows, started_at=now.isoformat(),
                      run_date=now.date().isoformat(), params={})
    store.save_manifest(run)
    store.stage_part(run.run_id, 0, table)
    store.commit(run, {"rows": table.num_rows})
    return out


def write_report_store(out: str, rows: list[dict]) -> str:
    """Commit rows {record_id, uri, report_text} as one scoring run (prepare, verify, write)."""
    from gem_core.scoring import output_table, prepare_batch, verify_batch

    batch = prepare_batch({"record_id": [r["record_id"] for r in rows], "uri": [r["uri"] for r in rows]})
    batch["report_text"] = [r["report_text"] for r in rows]
    return commit_rows(out, output_table(verify_batch(batch), "fixture", "knowledge-writer", "v0"), "knowledge-writer")


def make_inputs(root: Path, shared_ecg: Path, n_synth: int = 24, seed: int = 5) -> RetrainInputs:
    """Knowledge for the real records and the first half of the cohort; verified report rows
    for the second half; feedback on two of the report rows."""
    from gem_core.grounding.knowledge import knowledge_paragraph
    from gem_core.measure import measure_ecg
    from gem_core.prepare import load_prepared
    from jobs.cli import main as cli_main

    archive = make_archive(root / "archive", shared_ecg, n_synth, seed)
    synth = sorted(p.with_suffix("") for p in (archive / "synth").glob("*.hea"))
    half = len(synth) // 2
    manifest = root / "knowledge_manifest.csv"
    manifest.write_text("record_id,uri\n" + "".join(
        f"{rid},{uri}\n" for rid, uri in [("ptb/s0010_re", archive / "ptb" / "s0010_re"),
                                          ("ptbxl/00001_lr", archive / "ptbxl" / "00001_lr")]
        + [(f"synth/{p.name}", p) for p in synth[:half]]))
    knowledge = str(root / "knowledge.jsonl")
    assert cli_main(["knowledge", "--manifest", str(manifest), "--output", knowledge, "--json"]) == 0

    rows, paragraphs = [], {}
    for p in synth[half:]:
        rid = f"synth/{p.name}"
        m = measure_ecg(load_prepared(str(p)).signal).to_dict()
        paragraphs[rid] = knowledge_paragraph(m, record_id=rid, seed=1).text
        rows.append({"record_id": rid, "uri": str(p), "report_text": paragraphs[rid]})
    ids = [r["record_id"] for r in rows]
    bad = ids[-1]
    rows[-1]["report_text"] = paragraphs[ids[0]] if ids[0] != bad else paragraphs[ids[1]]
    rows.append({"record_id": "broken/missing", "uri": str(root / "nowhere" / "missing"), "report_text": ""})
    reports = write_report_store(str(root / "reports"), rows)

    feedback = root / "feedback.jsonl"
    fb_report, fb_labels = ids[0], ids[1]
    feedback.write_text(json.dumps({"record_id": fb_report, "report": "Sinus rhythm. Corrected by a cardiologist."})
                        + "\n" + json.dumps({"record_id": fb_labels, "labels": "SINUS_RHYTHM"}) + "\n")
    return RetrainInputs(archive, knowledge, reports, str(feedback), ids[:-1], bad, fb_report, fb_labels)


def shuffled_report_store(src: str, out: str, seed: int = 0) -> str:
    """The same committed rows with report text (and its stored verdict) permuted across
    records: each report now sits on another record's ECG."""
    import random

    import pyarrow as pa

    from gem_core.report_store import ReportStore

    table = ReportStore(src).read(latest=True)
    ok = [i for i, s in enumerate(table.column("status").to_pylist()) if s == "ok"]
    perm = ok[:]
    while any(a == b for a, b in zip(ok, perm)):
        random.Random(seed).shuffle(perm)
        seed += 1
    cols = {name: table.column(name).to_pylist() for name in table.column_names}
    for name in ("report_text", "grounding", "grounding_score"):
        col = cols[name][:]
        for a, b in zip(ok, perm):
            col[a] = cols[name][b]
        cols[name] = col
    return commit_rows(out, pa.table(cols, schema=table.schema), "shuffled")
