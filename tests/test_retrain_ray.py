"""Continual retraining end to end on real components: Ray Train (2 CPU workers, DDP over
gloo), gem-tiny in the published layout, the shared PhysioNet records and a synthetic cohort,
a committed report store, clinician feedback, MLflow on sqlite with its model registry, and
S3 checkpoints through moto.

Two TorchTrainer runs in all (each costs 30-60 s here):
- `night1` (module fixture, through `gem-ecg retrain`): gem-tiny fine-tuned from the weaker
  registered champion (v1: gem-tiny before training) -> promoted as v2;
- the fault drill: the same training from v1 again, checkpoints on S3, worker rank 1 killed
  after step 7 -> the group restarts from the step-5 checkpoint and finishes with exactly
  night1's held-out loss; as it is not better than the champion (v2) by the margin, it is
  registered as v3 and not promoted.
A shuffled report table never reaches Ray: every shuffled report is contradicted by the ECG it
now sits on, the verifier drops it, and nothing is trained or registered.
"""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from tests.retrain_fixtures import make_inputs, shuffled_report_store

pytestmark = pytest.mark.slow
NAME = "gem-tiny-retrain"
TRAIN_ARGS = {"steps": 20, "batch_size": 2, "lr": 3e-3, "warmup_steps": 3, "max_length": 128, "checkpoint_every": 5}
HELDOUT_FRACTION = 0.3
EVAL_TOKENS = 24


@pytest.fixture(scope="module")
def night1(ray_session, shared_ecg, tmp_path_factory):
    """Inputs, v1 = untrained gem-tiny as champion, then one `gem-ecg retrain` run."""
    from gem_core.model.tiny import save_gem_tiny
    from gem_core.registry import register_model_dir
    from jobs.cli import main as cli_main

    root = tmp_path_factory.mktemp("retrain")
    inputs = make_inputs(root, shared_ecg, n_synth=24)
    tracking = f"sqlite:///{root / 'mlflow.db'}"
    base = save_gem_tiny(root / "gem-tiny", seed=0)
    assert register_model_dir(base, NAME, tracking, alias="champion") == "1"
    argv = ["retrain", "--reports", inputs.reports, "--knowledge", inputs.knowledge, "--feedback", inputs.feedback,
            "--base", f"models:/{NAME}@champion", "--registry-name", NAME, "--workers", "2",
            "--cpus-per-worker", "0.5", "--storage", str(root / "checkpoints"), "--tracking-uri", tracking,
            "--heldout-fraction", str(HELDOUT_FRACTION), "--eval-max-new-tokens", str(EVAL_TOKENS), "--json",
            *[x for k, v in TRAIN_ARGS.items() for x in (f"--{k.replace('_', '-')}", str(v))]]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli_main(argv) == 0
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    return {"root": root, "inputs": inputs, "tracking": tracking, "summary": summary, "base": base}


def _final(summary) -> Path:
    return Path(summary["checkpoint"])


def test_two_workers_train_and_the_loss_falls(night1):
    s = night1["summary"]
    history = json.loads((_final(s) / "history.json").read_text())
    losses = [h["loss"] for h in history if "loss" in h]
    assert [h["step"] for h in history if "loss" in h] == list(range(TRAIN_ARGS["steps"]))
    starts = [h for h in history if h.get("event") == "start"]
    assert starts == [{"event": "start", "step": 0, "resumed": False, "world": 2, "finetune": "full",
                       "dtype": "float32"}]
    first, last = sum(losses[:3]) / 3, sum(losses[-3:]) / 3
    print(f"training loss: first 3 steps {first:.3f}, last 3 steps {last:.3f}")
    assert last < 0.7 * first
    c = s["counts"]   # every source used, one example per record, rejected rows named
    assert c["knowledge_used"] == 14 and c["feedback_used"] == 2 and c["report_used"] == 9
    assert c["rejected"] == 2 and c["examples"] == c["train"] + c["heldout"] == 25 and c["heldout"] > 0


def test_checkpoint_reloads_through_the_loader_and_reproduces_the_evaluation(night1):
    import torch

    from gem_core.evaluation import reference_nll
    from gem_core.model.loader import load_gem
    from gem_core.training.data import load_examples
    from gem_core.training.examples import build_training_set

    final = _final(night1["summary"])
    evaluation = json.loads((final / "evaluation.json").read_text())
    model, tokenizer, config = load_gem(final / "model", dtype="float32")
    inputs = night1["inputs"]
    ts = build_training_set(inputs.knowledge, inputs.reports, inputs.feedback, heldout_fraction=HELDOUT_FRACTION)
    assert [e.record_id for e in ts.heldout] == evaluation["heldout_ids"]
    loaded = load_examples(ts.heldout, config.vision.image_size)
    torch.set_num_threads(1)
    nll = reference_nll(model, tokenizer, loaded.examples, loaded.ecg, loaded.images, TRAIN_ARGS["max_length"])
    assert nll == pytest.approx(evaluation["candidate"]["reference_nll"], rel=1e-5)
    assert evaluation["champion"]["reference_nll"] > nll
    assert evaluation["candidate"]["grounding"]["reports"] == len(ts.heldout)


def test_mlflow_run_holds_params_per_step_metrics_and_the_model(night1):
    from mlflow import MlflowClient

    s = night1["summary"]
    client = MlflowClient(tracking_uri=night1["tracking"])
    run = client.get_run(s["mlflow_run_id"])
    p = run.data.params
    assert p["train.steps"] == "20" and p["train.lr"] == "0.003" and p["workers"] == "2"
    assert p["finetune_resolved"] == "full" and p["data.heldout"] == str(s["counts"]["heldout"])
    loss = client.get_metric_history(run.info.run_id, "loss")
    assert sorted(m.step for m in loss) == list(range(20))
    assert run.data.metrics["candidate_reference_nll"] < run.data.metrics["champion_reference_nll"]
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"model", "training_set.json", "evaluation.json", "history.json", "gate_decision.json"} <= artifacts
    model_files = {Path(a.path).name for a in client.list_artifacts(run.info.run_id, "model")}
    assert {"config.json", "tokenizer.model", "model.safetensors.index.json"} <= model_files
    assert run.data.tags["gate.decision"] == "promoted" and run.data.tags["registered_version"] == "2"


def test_candidate_from_a_weaker_champion_is_promoted_and_scoring_resolves_it(night1):
    from mlflow import MlflowClient

    from gem_core.tracking import resolve_model

    s = night1["summary"]
    assert (s["champion_before"], s["candidate_version"], s["champion_after"], s["promoted"]) == ("1", "2", "2", True)
    gate = s["gate"]
    assert gate["metric"] == "reference_nll" and gate["improvement"] >= gate["margin"] == 0.02
    client = MlflowClient(tracking_uri=night1["tracking"])
    v2 = client.get_model_version(NAME, "2")
    assert v2.tags["gate.decision"] == "promoted" and v2.tags["gate.champion_version"] == "1"
    assert float(v2.tags["eval.candidate.reference_nll"]) < float(v2.tags["eval.champion.reference_nll"])
    assert v2.run_id == s["mlflow_run_id"]
    weights, name, version = resolve_model(f"models:/{NAME}@champion", night1["tracking"])
    assert (name, version) == (NAME, "2")
    shard = "model-00001-of-00001.safetensors"
    assert (Path(weights) / shard).read_bytes() == (_final(s) / "model" / shard).read_bytes()


def test_shuffled_reports_are_rejected_and_nothing_is_promoted(night1, tmp_path):
    """Each report moved onto another record's ECG: the verifier contradicts every one, so no
    candidate is trained; the registry keeps its versions and the alias stays."""
    from mlflow import MlflowClient

    from jobs.cli import main as cli_main

    client = MlflowClient(tracking_uri=night1["tracking"])
    versions_before = {str(v.version) for v in client.search_model_versions(f"name='{NAME}'")}
    shuffled = shuffled_report_store(night1["inputs"].reports, str(tmp_path / "shuffled"))
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = cli_main(["retrain", "--reports", shuffled, "--base", f"models:/{NAME}@champion",
                       "--registry-name", NAME, "--tracking-uri", night1["tracking"], "--workers", "2",
                       "--cpus-per-worker", "0.5", "--storage", str(tmp_path / "ckpt")])
    assert rc == 1
    assert "no training examples" in err.getvalue() and "contradicted claims" in err.getvalue()
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == "2"
    assert {str(v.version) for v in client.search_model_versions(f"name='{NAME}'")} == versions_before


def test_worker_killed_mid_run_resumes_from_s3_checkpoint_and_is_not_promoted(night1, s3_bucket, tmp_path):
    import s3fs
    from mlflow import MlflowClient

    from gem_core.training.loop import TrainConfig
    from jobs.retrain import RetrainConfig, run_retrain

    inputs = night1["inputs"]
    marker = tmp_path / "killed"
    cfg = RetrainConfig(base=f"models:/{NAME}/1", registry_name=NAME, reports=inputs.reports,
                        knowledge=inputs.knowledge, feedback=inputs.feedback, workers=2, cpus_per_worker=0.5,
                        storage=f"s3://{s3_bucket}/checkpoints", max_failures=1, train=TrainConfig(**TRAIN_ARGS),
                        heldout_fraction=HELDOUT_FRACTION, eval_max_new_tokens=EVAL_TOKENS,
                        tracking_uri=night1["tracking"],
                        fail_once={"rank": 1, "step": 7, "marker": str(marker), "hold_s": 6.0})
    s = run_retrain(cfg, log=lambda *a: None)
    assert marker.read_text().startswith("worker rank 1 exited after step 7")
    assert s["checkpoint"].startswith(f"{s3_bucket}/checkpoints/")   # Ray's storage path on S3
    assert [(x["step"], x["resumed"]) for x in s["starts"]] == [(0, False), (5, True)]
    fs = s3fs.S3FileSystem()
    history = json.loads(fs.cat(f"{s['checkpoint']}/history.json"))
    assert [h["step"] for h in history if "loss" in h] == list(range(20))   # steps 5-7 redone once, none lost
    # The resumed run draws the batches an uninterrupted run draws: it lands exactly on night1's model,
    # so it is no better than the champion (night1's v2) and the alias stays.
    night = night1["summary"]["gate"]
    assert s["gate"]["candidate_value"] == pytest.approx(night["candidate_value"], rel=1e-6)
    assert s["gate"]["champion_value"] == pytest.approx(night["candidate_value"], rel=1e-6)
    assert (s["promoted"], s["champion_before"], s["champion_after"]) == (False, "2", "2")
    assert "less than the margin" in s["reason"]
    v = MlflowClient(tracking_uri=night1["tracking"]).get_model_version(NAME, s["candidate_version"])
    assert v.tags["gate.decision"] == "rejected"
