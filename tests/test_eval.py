"""Evaluation: finding-level metrics (hand-computed cases), label schemes of the public datasets,
ROC AUC only from continuous scores, and `gem-ecg eval` on a synthetic cohort with its exact
ground truth (truth.json), with gem-tiny briefly fine-tuned on another synthetic cohort."""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from gem_core.evaluation import finding_metrics, predicted_codes, roc_auc, to_classes
from tests.model_fixtures import torch_threads


def test_finding_metrics_by_hand():
    truth = {"a": {"X"}, "b": {"X", "Y"}, "c": set()}
    pred = {"a": {"X"}, "b": {"Y", "Z"}, "c": {"X"}}
    m = finding_metrics(truth, pred, {"X", "Y", "Z"})
    x, y, z = (m["classes"][k] for k in "XYZ")
    assert (x["tp"], x["fp"], x["fn"], x["support"]) == (1, 1, 1, 2)
    assert x["precision"] == x["recall"] == x["f1"] == 0.5
    assert (y["precision"], y["recall"], y["f1"], y["support"]) == (1.0, 1.0, 1.0, 1)
    assert (z["f1"], z["support"], z["predicted"]) == (0.0, 0, 1)
    assert m["macro_f1"] == pytest.approx(0.75)            # over X and Y: Z never occurs in the labels
    assert m["micro_f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert m["hamming_loss"] == pytest.approx(3 / 9)    # X: 1 FP + 1 FN, Z: 1 FP over 3 x 3 cells


def test_roc_auc_needs_scores_and_both_classes():
    assert roc_auc([True, True, False, False], [0.9, 0.8, 0.3, 0.1]) == 1.0
    assert roc_auc([True, True, False, False], [0.1, 0.3, 0.8, 0.9]) == 0.0
    assert roc_auc([True, False, True, False], [0.8, 0.6, 0.4, 0.2]) == 0.75
    assert roc_auc([True, False], [0.5, 0.5]) == 0.5
    assert roc_auc([True, True], [0.1, 0.2]) is None


def test_dataset_labels_map_to_scheme_classes():
    assert to_classes(["NORM"], "ptbxl") == {"NORM"}
    assert to_classes(["MYOCARDIAL_INFARCTION", "ST_ELEVATION:inferior"], "ptbxl") == {"MI", "STTC"}
    assert to_classes(["RBBB", "FIRST_DEGREE_AV_BLOCK"], "ptbxl") == {"CD"}
    assert to_classes(["LVH_VOLTAGE"], "ptbxl") == {"HYP"}
    assert to_classes(["1dAVb", "st", "SINUS_BRADYCARDIA"], "code15") == {"1dAVb", "ST", "SB"}
    assert to_classes(["IAVB", "Normal", "PAC"], "cpsc") == {"I-AVB", "NORM", "PAC"}
    assert to_classes(["ST_DEPRESSION", "AF"], "cpsc") == {"STD", "AF"}
    assert to_classes(["ST_ELEVATION:anterior", "SINUS_RHYTHM"]) == {"ST_ELEVATION", "SINUS_RHYTHM"}


def test_findings_of_a_report_are_its_positive_diagnosis_claims():
    text = ("Sinus bradycardia at 48 bpm with first-degree AV block; the rhythm is regular. "
            "There is no ST elevation, and the QRS axis is normal.")
    assert predicted_codes(text) == {"SINUS_BRADYCARDIA", "FIRST_DEGREE_AV_BLOCK"}


@pytest.fixture(scope="module")
def taught_tiny(tmp_path_factory):
    """gem-tiny fine-tuned for 40 steps on knowledge paragraphs of 12 synthetic ECGs (seed 21)."""
    from gem_core.grounding.knowledge import knowledge_paragraph
    from gem_core.model.tiny import build_gem_tiny
    from gem_core.synth import write_cohort
    from gem_core.training.checkpoint import export_model
    from gem_core.training.data import load_examples
    from gem_core.training.examples import TrainingExample
    from gem_core.training.loop import TrainConfig, prepare_for_training, train

    root = tmp_path_factory.mktemp("eval-train")
    write_cohort(root / "cohort", n=12, seed=21)
    examples = [TrainingExample(p.stem, str(p.with_suffix("")), "") for p in sorted((root / "cohort").glob("*.hea"))]
    loaded = load_examples(examples, 336, measure=True)
    for e, m in zip(loaded.examples, loaded.measurements):
        e.answer = knowledge_paragraph(m, record_id=e.record_id).text
    cfg = TrainConfig(steps=40, batch_size=4, lr=3e-3, warmup_steps=3, max_length=128, finetune="full")
    model, tokenizer = build_gem_tiny(seed=0)
    with torch_threads(1):
        history = train(prepare_for_training(model, cfg), tokenizer, loaded, cfg)
    assert history[-1]["loss"] < history[0]["loss"]
    return export_model(model, tokenizer, root / "model")


def _eval(argv):
    from jobs.cli import main as cli_main

    out = io.StringIO()
    with torch_threads(1), contextlib.redirect_stdout(out):
        assert cli_main(["eval", *argv]) == 0
    return out.getvalue()


def test_gem_ecg_eval_on_a_synthetic_cohort_with_ground_truth(taught_tiny, tmp_path):
    from gem_core.synth import write_cohort

    manifest = write_cohort(tmp_path / "cohort", n=8, seed=22)
    argv = ["--model", str(taught_tiny), "--manifest", str(manifest), "--max-new-tokens", "48", "--batch-size", "4"]
    table = _eval(argv)
    print(table)
    result = json.loads(_eval([*argv, "--json"]))

    truth = {p.name.removesuffix(".truth.json"): {c.split(":")[0] for c in json.loads(p.read_text())["findings"]}
             for p in Path(tmp_path / "cohort").glob("*.truth.json")}
    f = result["findings"]
    assert result["n"] == result["labelled"] == 8 and f["truth"] == "labels" and f["n_records"] == 8
    assert set(f["classes"]) == set().union(*truth.values())
    for code, m in f["classes"].items():
        assert m["support"] == sum(code in t for t in truth.values())
    # The table's numbers are those of the generated reports, re-read here.
    pred = {r["record_id"]: predicted_codes(r["report"]) for r in result["reports"]}
    again = finding_metrics(truth, pred, set(f["classes"]))
    assert again["classes"] == f["classes"] and again["macro_f1"] == f["macro_f1"]
    assert result["grounding"]["reports"] == 8 and 0 <= result["grounding"]["score_mean"] <= 1
    # AUC only from a continuous score: the measured heart rate ranks the rate findings.
    assert result["measured_auc"]["SINUS_BRADYCARDIA"]["auc"] == 1.0
    assert result["measured_auc"]["SINUS_TACHYCARDIA"]["auc"] == 1.0
    assert "not computed" in result["model_auc"]

    assert "class" in table and "support" in table and "F1" in table and "AUC*" in table
    for code, m in f["classes"].items():
        assert any(line.split()[:3] == [code, str(m["support"]), str(m["predicted"])] for line in table.splitlines())
    assert f"{f['macro_f1']:.3f}" in next(line for line in table.splitlines() if line.startswith("macro"))
    assert "grounding of 8 generated reports" in table
