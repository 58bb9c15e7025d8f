"""The retraining set: one supervised example per record, from three sources.

    knowledge  ECG-Grounding items (`gem-ecg knowledge` JSON Lines): grounded by construction
    reports    the scoring job's rows (`ReportStore.read(latest=True)`): kept only when the
               verdict of the text on the row's measurements (recomputed, not read back) has
               no contradiction and a score of at least `min_report_score`
    feedback   clinician corrections, one per record: a corrected report (used as written),
               or labels (finding codes; a knowledge paragraph is written from the record's
               measurements with those labels taking precedence)

One example per record id; precedence feedback > knowledge > report: a correction overrides
the model's report for its record, and a paragraph written from measurements and clinician
labels is preferred to the model's own (verified) output. Every example gets its patient id
(metadata, else the record id) and its side of the patient-level split (`split.is_heldout`).

Feedback file (JSON Lines, CSV or Parquet), one row per record:
    record_id (required), report (corrected text) and/or labels (codes: a list, or a string
    separated by commas or semicolons), optional uri (the ECG, when no report/knowledge row
    names it), optional patient_id.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from gem_core.model.prompt import GROUNDING_QUESTION, IMAGE_PLACEHOLDER
from gem_core.training.split import HELDOUT_FRACTION, SPLIT_SALT, is_heldout, patient_of

MIN_REPORT_SCORE = 0.8   # a scored report trains only if >= 80% of its claims are supported
SOURCES = ("feedback", "knowledge", "report")   # precedence, first wins


@dataclass
class TrainingExample:
    record_id: str
    ecg_uri: str
    answer: str
    question: str = GROUNDING_QUESTION
    source: str = "knowledge"        # knowledge | report | feedback
    patient_id: str = ""
    heldout: bool = False
    offset_s: float = 0.0            # start of the 10 s window in the record

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainingExample":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


@dataclass
class TrainingSet:
    examples: list[TrainingExample]
    rejected: list[dict] = field(default_factory=list)    # {record_id, source, reason}
    counts: dict = field(default_factory=dict)

    @property
    def train(self) -> list[TrainingExample]:
        return [e for e in self.examples if not e.heldout]

    @property
    def heldout(self) -> list[TrainingExample]:
        return [e for e in self.examples if e.heldout]


# --- readers -------------------------------------------------------------------------------------
def read_rows(uri: str) -> list[dict]:
    """Rows of a JSON Lines, JSON (list), CSV or Parquet file (local path or object-store URL)."""
    import fsspec

    if uri.endswith(".parquet") or uri.endswith(".csv"):
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        with fsspec.open(uri, "rb") as f:
            table = pq.read_table(f) if uri.endswith(".parquet") else pacsv.read_csv(
                f, convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
        return table.to_pylist()
    with fsspec.open(uri, "r", encoding="utf-8") as f:
        text = f.read()
    if text.lstrip().startswith("["):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def parse_labels(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.replace(";", ",").split(",")
    return [str(v).strip() for v in value if str(v).strip()]


# --- one source at a time ------------------------------------------------------------------------
def knowledge_examples(items: list[dict]) -> list[TrainingExample]:
    """ECG-Grounding items -> examples (the human turn's question without the placeholder)."""
    out = []
    for item in items:
        turns = item.get("conversations") or []
        human = next((t["value"] for t in turns if t.get("from") == "human"), GROUNDING_QUESTION)
        answer = next((t["value"] for t in turns if t.get("from") == "gpt"), "")
        question = human.replace(IMAGE_PLACEHOLDER, "").strip() or GROUNDING_QUESTION
        rid = str(item["id"])
        out.append(TrainingExample(rid, str(item["ecg"]), answer, question, "knowledge",
                                   patient_of(rid, item)))
    return out


def report_examples(rows: list[dict], min_score: float = MIN_REPORT_SCORE) -> tuple[list[TrainingExample], list[dict]]:
    """Scored rows -> (examples that pass the verdict filter, rejections with reasons).

    The verdict is recomputed from the row's own text and measurements rather than read from
    its `grounding` column: a report joined to the wrong record (a shuffled table) is checked
    against the ECG it would be trained with, and fails."""
    from gem_core.grounding import verify_report
    from gem_core.scoring import question_for

    kept, rejected = [], []
    for r in rows:
        rid = str(r["record_id"])
        text = (r.get("report_text") or "").strip()
        why = None
        if r.get("status") != "ok":
            why = f"status {r.get('status')}"
        elif not text:
            why = "empty report"
        elif not r.get("measurements"):
            why = "no measurements to verify against"
        else:
            verdict = verify_report(text, json.loads(r["measurements"]))
            if verdict.contradictions:
                why = f"{len(verdict.contradictions)} contradicted claims, e.g. {verdict.contradictions[0].claim.text!r}"
            elif verdict.score < min_score:
                why = f"grounding score {verdict.score:.2f} < {min_score}"
        if why:
            rejected.append({"record_id": rid, "source": "report", "reason": why})
            continue
        meta = json.loads(r["header_metadata"]) if r.get("header_metadata") else {}
        # The question the report answered (with the measured values when it was scored so).
        question = question_for(r["measurements"], bool(r.get("prompt_measurements")))
        kept.append(TrainingExample(rid, str(r["source_uri"]), text, question, "report", patient_of(rid, meta)))
    return kept, rejected


def feedback_examples(rows: list[dict], known: dict[str, dict], seed: int = 0) -> tuple[list[TrainingExample], list[dict]]:
    """Clinician corrections -> examples. `known`: record id -> {"uri", "measurements" (dict or
    None), "patient_id"} from the reports and knowledge items, for rows that do not name the
    ECG; labels-only rows are measured when no measurements are known."""
    from gem_core.grounding.knowledge import knowledge_paragraph

    kept, rejected = [], []
    for r in rows:
        rid = str(r.get("record_id") or "").strip()
        if not rid:
            rejected.append({"record_id": "", "source": "feedback", "reason": "row without record_id"})
            continue
        info = known.get(rid, {})
        uri = str(r.get("uri") or info.get("uri") or "").strip()
        report, labels = (r.get("report") or "").strip(), parse_labels(r.get("labels"))
        why = None
        if not uri:
            why = "no ECG location (no uri column and no report or knowledge row for this record)"
        elif not report and not labels:
            why = "neither a corrected report nor labels"
        if why:
            rejected.append({"record_id": rid, "source": "feedback", "reason": why})
            continue
        if not report:
            m = info.get("measurements")
            if m is None:
                from gem_core.errors import RecordError
                from gem_core.measure import measure_ecg
                from gem_core.prepare import load_prepared

                try:
                    m = measure_ecg(load_prepared(uri).signal).to_dict()
                except RecordError as exc:
                    rejected.append({"record_id": rid, "source": "feedback", "reason": exc.reason})
                    continue
            report = knowledge_paragraph(m, labels=labels, seed=seed, record_id=rid).text
        patient = str(r.get("patient_id") or info.get("patient_id") or patient_of(rid))
        kept.append(TrainingExample(rid, uri, report, GROUNDING_QUESTION, "feedback", patient))
    return kept, rejected


# --- all together ------------------------------------------------------------------------------
def build_training_set(knowledge: str | None = None, reports: str | None = None, feedback: str | None = None,
                       min_report_score: float = MIN_REPORT_SCORE, heldout_fraction: float = HELDOUT_FRACTION,
                       salt: str = SPLIT_SALT, seed: int = 0) -> TrainingSet:
    """Read the sources (URIs; any may be None), keep one example per record, split by patient."""
    from gem_core.errors import GemError

    by_source: dict[str, list[TrainingExample]] = {s: [] for s in SOURCES}
    n_rows = {s: 0 for s in SOURCES}
    rejected: list[dict] = []
    known: dict[str, dict] = {}
    if knowledge:
        by_source["knowledge"] = knowledge_examples(read_rows(knowledge))
        n_rows["knowledge"] = len(by_source["knowledge"])
        for e in by_source["knowledge"]:
            known[e.record_id] = {"uri": e.ecg_uri, "measurements": None, "patient_id": e.patient_id}
    if reports:
        from gem_core.report_store import ReportStore

        table = ReportStore(reports).read(latest=True)
        rows = table.to_pylist() if table is not None else []
        n_rows["report"] = len(rows)
        by_source["report"], rej = report_examples(rows, min_report_score)
        rejected += rej
        for r in rows:
            if r.get("status") == "ok" and r.get("measurements"):
                known.setdefault(str(r["record_id"]), {})
                known[str(r["record_id"])].update(uri=str(r["source_uri"]), measurements=json.loads(r["measurements"]))
        for e in by_source["report"]:
            known.setdefault(e.record_id, {"uri": e.ecg_uri, "measurements": None})["patient_id"] = e.patient_id
    if feedback:
        fb_rows = read_rows(feedback)
        n_rows["feedback"] = len(fb_rows)
        by_source["feedback"], rej = feedback_examples(fb_rows, known, seed)
        rejected += rej

    chosen: dict[str, TrainingExample] = {}
    for source in SOURCES:
        for e in by_source[source]:
            chosen.setdefault(e.record_id, e)
    examples = sorted(chosen.values(), key=lambda e: e.record_id)
    for e in examples:
        e.heldout = is_heldout(e.patient_id or e.record_id, heldout_fraction, salt)
    if not examples:
        given = ", ".join(f"{name} {uri}: {len(by_source[src])} usable of {n_rows[src]} rows"
                          for name, src, uri in (("knowledge", "knowledge", knowledge), ("reports", "report", reports),
                                                 ("feedback", "feedback", feedback)) if uri)
        raise GemError(f"no training examples ({given or 'no source given'})"
                       + (f"; {len(rejected)} rows rejected, e.g. {rejected[0]}" if rejected else ""))
    counts = {f"{s}_rows": len(by_source[s]) for s in SOURCES}
    counts.update({f"{s}_used": sum(e.source == s for e in examples) for s in SOURCES},
                  examples=len(examples), train=sum(not e.heldout for e in examples),
                  heldout=sum(e.heldout for e in examples), rejected=len(rejected),
                  patients=len({e.patient_id for e in examples}))
    return TrainingSet(examples, rejected, counts)


def write_examples(uri: str, examples: list[TrainingExample]) -> str:
    """Examples as JSON Lines (local path or object-store URL): how workers receive the set."""
    import fsspec

    with fsspec.open(uri, "w", encoding="utf-8", auto_mkdir=True) as f:
        for e in examples:
            f.write(json.dumps(e.to_dict()) + "\n")
    return uri


def read_examples(uri: str) -> list[TrainingExample]:
    return [TrainingExample.from_dict(d) for d in read_rows(uri)]
