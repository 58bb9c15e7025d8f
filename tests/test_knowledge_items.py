"""Knowledge-guided items (issue 6, must show: items for the shared real records and 200
synthetic ECGs all verify fully supported, with >= 20 distinct sentence patterns)."""
from __future__ import annotations

import json
import re
from collections import Counter

from grounding_fixtures import N_SYNTH, grounding_cohort, make_measurements  # noqa: F401 (fixture)

from gem_core.grounding import GROUNDED_QUESTION
from gem_core.grounding.claims import find_lead_refs
from gem_core.grounding.knowledge import clinician_labels, knowledge_item, knowledge_paragraph
from gem_core.grounding.verify import verify_report


def masked(sentence: str) -> str:
    """A sentence with its numbers and lead references masked: the wording pattern."""
    for r in reversed(find_lead_refs(sentence)):
        sentence = sentence[:r.start] + "<L>" + sentence[r.end:]
    return re.sub(r"[+-]?\d+(?:\.\d+)?", "#", sentence)


def test_items_for_real_and_synthetic_ecgs_verify_fully(grounding_cohort, artifacts_dir):
    assert sum(r["source"] == "synthetic" for r in grounding_cohort) == N_SYNTH
    templates, wordings, per_source = Counter(), set(), Counter()
    rows, failures = [], []
    for r in grounding_cohort:
        item, para = knowledge_item(r["record_id"], r["uri"], r["measurements"], report=r["report"], seed=0)
        v = para.verdict
        # the item itself, re-verified from its stored text (not from the generator's bookkeeping)
        again = verify_report(item["conversations"][1]["value"], r["measurements"], clinician_labels(None, r["report"]))
        if not (v.fully_supported and again.fully_supported and not para.dropped):
            failures.append((r["record_id"], para.dropped, [cc.to_dict() for cc in again.claims if cc.status != "supported"]))
        # a sentence built from several templates ("st.elevation.1+st.no_depression") counts each
        templates.update(p for s in para.sentences for p in s.pattern.split("+"))
        wordings.update(masked(s.text) for s in para.sentences)
        per_source[r["source"]] += 1
        rows.append((r["source"], r["record_id"], r.get("condition", ""), v.counts["claims"], len(para.sentences),
                     len(item["conversations"][1]["value"].split())))
    print(f"\n{'source':<10} {'record':<22} {'condition':<18} {'claims':>6} {'sentences':>9} {'words':>6}")
    for row in rows[:2] + rows[2::17]:
        print(f"{row[0]:<10} {row[1]:<22} {row[2]:<18} {row[3]:>6} {row[4]:>9} {row[5]:>6}")
    n_claims = sum(r[3] for r in rows)
    print(f"{len(rows)} items ({dict(per_source)}), {n_claims} claims, all supported: {not failures}; "
          f"{len(templates)} distinct template ids, {len(wordings)} distinct masked sentences")
    for pattern, n in templates.most_common():
        print(f"   {n:>4}  {pattern}")
    (artifacts_dir / "knowledge_examples.jsonl").write_text("".join(
        json.dumps(knowledge_item(r["record_id"], r["uri"], r["measurements"], report=r["report"])[0]) + "\n"
        for r in grounding_cohort[:6]))
    assert not failures, failures[:3]
    assert max(r[5] for r in rows) < 300          # GEM's grounded paragraphs stay under 300 words
    # "pattern" = a template id; the masked-sentence count is the stricter wording count
    assert len(templates) >= 20 and len(wordings) >= 20


def test_item_layout_and_determinism(grounding_cohort):
    r = grounding_cohort[0]
    item, para = knowledge_item(r["record_id"], r["uri"], r["measurements"], image="/x/ptb.png", seed=3)
    assert set(item) == {"id", "ecg", "image", "conversations"}
    assert item["id"] == r["record_id"] and item["ecg"] == r["uri"] and item["image"] == "/x/ptb.png"
    human, gpt = item["conversations"]
    assert human == {"from": "human", "value": "<image>\n" + GROUNDED_QUESTION}
    assert gpt["from"] == "gpt" and gpt["value"] == para.text
    again, _ = knowledge_item(r["record_id"], r["uri"], r["measurements"], image="/x/ptb.png", seed=3)
    assert again == item
    texts = {knowledge_paragraph(r["measurements"], seed=s, record_id=r["record_id"]).text for s in range(6)}
    assert len(texts) == 6    # the wording changes with the seed


def test_evidence_is_chosen_by_relevance():
    m = make_measurements(qrs=140.0, findings=["SINUS_RHYTHM", "WIDE_QRS", "RBBB"],
                          leads={"V1": {"median": {"qrs_duration": 144.0}}, "V6": {"median": {"qrs_duration": 136.0}}})
    for seed in range(5):
        para = knowledge_paragraph(m, seed=seed, record_id="rbbb")
        conduction = next(s.text for s in para.sentences if s.pattern.startswith("qrs."))
        assert "right bundle branch block" in conduction.lower()
        if re.search(r"in V\d", conduction):     # per-lead evidence: the leads that show a RBBB
            assert "V1" in conduction and "V6" in conduction, conduction
        assert para.verdict.fully_supported and not para.dropped


def test_clinician_labels_take_precedence_for_diagnoses():
    m = make_measurements(findings=["SINUS_RHYTHM", "RBBB", "WIDE_QRS"], qrs=130.0)
    para = knowledge_paragraph(m, labels=["AF", "LBBB", {"code": "MYOCARDIAL_INFARCTION", "leads": ["II", "III", "aVF"]}],
                               record_id="c1")
    text = para.text
    assert "atrial fibrillation" in text and "left bundle branch block" in text
    assert "inferior myocardial infarction" in text
    assert "sinus rhythm" not in text and "right bundle branch block" not in text   # measured, overridden
    assert para.verdict.fully_supported and not para.dropped
    # the same from a clinician's free-text report
    para2 = knowledge_paragraph(m, report="Atrial fibrillation. LBBB. Old inferior MI.", record_id="c1")
    assert "atrial fibrillation" in para2.text and para2.verdict.fully_supported
