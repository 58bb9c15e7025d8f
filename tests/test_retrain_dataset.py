"""The retraining set and the plain training loop, without Ray: real records (shared PhysioNet
and synthetic), knowledge items from `gem-ecg knowledge`, a committed report store, feedback."""
from __future__ import annotations

import json

import pytest

from gem_core.errors import GemError
from gem_core.training.examples import build_training_set, report_examples
from gem_core.training.split import is_heldout
from tests.model_fixtures import one_torch_thread  # noqa: F401
from tests.retrain_fixtures import make_inputs, shuffled_report_store


@pytest.fixture(scope="module")
def inputs(shared_ecg, tmp_path_factory):
    return make_inputs(tmp_path_factory.mktemp("retrain-data"), shared_ecg, n_synth=12, seed=3)


@pytest.fixture(scope="module")
def training_set(inputs):
    return build_training_set(inputs.knowledge, inputs.reports, inputs.feedback, heldout_fraction=0.3)


def test_one_example_per_record_feedback_over_knowledge_over_reports(inputs, training_set):
    from gem_core.grounding import verify_report
    from gem_core.measure import measure_ecg
    from gem_core.prepare import load_prepared

    by_id = {e.record_id: e for e in training_set.examples}
    assert len(by_id) == len(training_set.examples) == 2 + 12 - 1   # the contradicted row is dropped
    assert by_id["ptb/s0010_re"].source == by_id["ptbxl/00001_lr"].source == "knowledge"
    # A corrected report replaces the model's report for its record, word for word.
    fb = by_id[inputs.feedback_report_id]
    assert (fb.source, fb.answer) == ("feedback", "Sinus rhythm. Corrected by a cardiologist.")
    # Labels only: a paragraph is written from the record's measurements with the labels first.
    lab = by_id[inputs.feedback_labels_id]
    assert lab.source == "feedback" and "sinus rhythm" in lab.answer.lower()
    m = measure_ecg(load_prepared(lab.ecg_uri).signal).to_dict()
    assert verify_report(lab.answer, m, ["SINUS_RHYTHM"]).fully_supported
    reports = [e for e in training_set.examples if e.source == "report"]
    assert {e.record_id for e in reports} == set(inputs.report_ids) - {inputs.feedback_report_id,
                                                                       inputs.feedback_labels_id}
    rejected = {r["record_id"]: r["reason"] for r in training_set.rejected}
    assert set(rejected) == {inputs.bad_report_id, "broken/missing"}
    assert "contradicted claims" in rejected[inputs.bad_report_id] and rejected["broken/missing"] == "status error"
    c = training_set.counts
    assert (c["knowledge_used"], c["report_used"], c["feedback_used"]) == (8, 3, 2)


def test_report_filter_recomputes_the_verdict_so_shuffled_reports_fail(inputs, tmp_path):
    from gem_core.report_store import ReportStore

    rows = ReportStore(shuffled_report_store(inputs.reports, str(tmp_path / "s"))).read(latest=True).to_pylist()
    kept, rejected = report_examples(rows)
    assert kept == [] and len(rejected) == len(rows)
    assert all("contradicted" in r["reason"] or r["reason"] == "status error" for r in rejected)
    with pytest.raises(GemError, match="no training examples"):
        build_training_set(reports=str(tmp_path / "s"))
    # The same rows in their own places pass.
    kept, _ = report_examples(ReportStore(inputs.reports).read(latest=True).to_pylist())
    assert len(kept) == len(inputs.report_ids)


def test_split_is_by_patient_and_stable_across_nights(inputs, tmp_path):
    items = [json.loads(line) for line in open(inputs.knowledge)]
    # Night 1: the first half; night 2: everything, with four records of one patient.
    for it in items[:4]:
        it["patient_id"] = "patient-7"
    night1, night2 = tmp_path / "n1.jsonl", tmp_path / "n2.jsonl"
    night1.write_text("".join(json.dumps(it) + "\n" for it in items[:len(items) // 2]))
    night2.write_text("".join(json.dumps(it) + "\n" for it in items))
    a = {e.record_id: e.heldout for e in build_training_set(str(night1), heldout_fraction=0.5).examples}
    b = {e.record_id: e.heldout for e in build_training_set(str(night2), heldout_fraction=0.5).examples}
    assert all(b[rid] == side for rid, side in a.items())          # nobody changes side
    assert len({b[it["id"]] for it in items[:4]}) == 1                 # one patient, one side
    assert b[items[0]["id"]] == is_heldout("patient-7", 0.5)
    share = sum(is_heldout(f"p{i}", 0.2) for i in range(20000)) / 20000
    assert 0.19 < share < 0.21


def test_batch_order_is_a_function_of_the_step():
    from gem_core.training.data import batch_indices

    n, b = 7, 3
    run = [batch_indices(n, b, s, seed=4, rank=1) for s in range(10)]
    assert run[6:] == [batch_indices(n, b, s, seed=4, rank=1) for s in range(6, 10)]   # a resume at 6
    flat = [i for batch in run for i in batch]
    for epoch in range(4):   # every example once per epoch
        assert sorted(flat[epoch * n:(epoch + 1) * n]) == list(range(n))
    assert run != [batch_indices(n, b, s, seed=4, rank=0) for s in range(10)]


def test_unreadable_record_is_skipped_and_named(training_set, tmp_path):
    from dataclasses import replace

    from gem_core.training.data import load_examples

    good = training_set.examples[0]
    bad = replace(good, record_id="gone", ecg_uri=str(tmp_path / "gone"))
    loaded = load_examples([good, bad], image_size=336)
    assert [e.record_id for e in loaded.examples] == [good.record_id]
    assert loaded.ecg.shape == (1, 12, 5000) and loaded.images.shape == (1, 3, 336, 336)
    assert loaded.errors[0]["record_id"] == "gone" and "gone" in loaded.errors[0]["reason"]


def test_plain_loop_checkpoint_resume_equals_an_uninterrupted_run(training_set, tmp_path):
    """The loop without Ray: 6 steps straight, or 3 steps, a checkpoint, a fresh process state
    restored from it and 3 more steps, give the same weights."""
    import torch

    from gem_core.model.loader import load_gem
    from gem_core.model.tiny import save_gem_tiny
    from gem_core.training.checkpoint import load_checkpoint_state, restore_model, save_checkpoint
    from gem_core.training.data import load_examples
    from gem_core.training.loop import TrainConfig, make_optimizer, prepare_for_training, train

    base = save_gem_tiny(tmp_path / "base", seed=1)
    loaded = load_examples(training_set.train[:6], image_size=336)
    cfg = TrainConfig(steps=6, batch_size=2, lr=3e-3, warmup_steps=2, max_length=96, finetune="full")

    model, tok, _ = load_gem(base, dtype="float32")
    model = prepare_for_training(model, cfg)
    straight = train(model, tok, loaded, cfg)
    assert straight[-1]["loss"] < straight[0]["loss"]

    model2, tok2, _ = load_gem(base, dtype="float32")
    model2 = prepare_for_training(model2, cfg)
    opt = make_optimizer(model2, cfg)
    first = train(model2, tok2, loaded, TrainConfig(**{**cfg.to_dict(), "steps": 3}), opt)
    save_checkpoint(tmp_path / "ckpt", model2, tok2, opt, 3, first)
    del model2, opt
    state = load_checkpoint_state(tmp_path / "ckpt")
    model3, tok3 = restore_model(tmp_path / "ckpt", base, cfg)
    opt3 = make_optimizer(model3, cfg)
    opt3.load_state_dict(state["optimizer"])
    rest = train(model3, tok3, loaded, cfg, opt3, start_step=state["step"])
    assert [h["loss"] for h in state["history"] + rest] == pytest.approx([h["loss"] for h in straight], rel=1e-6)
    for (name, p), (_, q) in zip(model.named_parameters(), model3.named_parameters()):
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7, msg=name)
