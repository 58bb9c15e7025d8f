"""The promotion gate on a real MLflow registry (sqlite backend, local artifacts): registration
of plain model directories, the margin rule, the alias moving only on promotion, a champion
changed during a run, and resolving models:/ URIs to the right weights."""
from __future__ import annotations

from pathlib import Path

import pytest

from gem_core.registry import CHAMPION_ALIAS, MARGIN, champion_version, client_for, decide, gate, register_model_dir


def _eval(nll: float) -> dict:
    """An evaluation as `gem_core.evaluation.evaluate` returns it (the fields the gate reads)."""
    return {"n": 4, "reference_nll": nll, "max_new_tokens": 8,
            "grounding": {"reports": 4, "score_mean": 0.5, "score_median": 0.5, "fully_supported": 0.25,
                          "with_contradiction": 0.5, "claims_per_report": 2.0, "contradicted_per_report": 0.5,
                          "supported_fraction": 0.5, "unverifiable_fraction": 0.0, "without_claims": 0.0}}


@pytest.fixture(scope="module")
def tiny_dirs(tmp_path_factory):
    from gem_core.model.tiny import save_gem_tiny

    root = tmp_path_factory.mktemp("registry-models")
    return [save_gem_tiny(root / f"seed{s}", seed=s) for s in (0, 1)]


def test_margin_rule():
    assert MARGIN == 0.02
    assert decide(_eval(1.96), _eval(2.0)).promoted            # exactly 2% lower
    d = decide(_eval(1.97), _eval(2.0))
    assert not d.promoted and d.improvement == pytest.approx(0.015) and "less than the margin" in d.reason
    assert not decide(_eval(2.5), _eval(2.0)).promoted
    assert decide(_eval(1.0), _eval(2.0), margin=0.5).promoted and not decide(_eval(1.01), _eval(2.0), margin=0.5).promoted


def test_gate_registers_every_candidate_and_moves_the_alias_only_when_it_is_better(tiny_dirs, tmp_path):
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    name = "gem-gate"
    assert register_model_dir(tiny_dirs[0], name, tracking, alias=CHAMPION_ALIAS) == "1"
    client = client_for(tracking)
    source = client.get_model_version(name, "1").source

    better = gate(client, name, source, None, _eval(1.5), _eval(2.0), evaluated_version="1")
    assert (better.promoted, better.candidate_version, better.champion_after) == (True, "2", "2")
    worse = gate(client, name, source, None, _eval(1.49), _eval(1.5), evaluated_version="2")
    assert (worse.promoted, worse.candidate_version, worse.champion_after) == (False, "3", "2")
    assert champion_version(client, name) == "2"
    v3 = client.get_model_version(name, "3")
    assert v3.tags["gate.decision"] == "rejected" and v3.tags["gate.champion_version"] == "2"
    assert float(v3.tags["eval.candidate.reference_nll"]) == pytest.approx(1.49)
    assert float(v3.tags["eval.champion.reference_nll"]) == pytest.approx(1.5)
    assert v3.description == worse.reason

    # Evaluated against v1 while another run promoted v2: nothing moves.
    stale = gate(client, name, source, None, _eval(0.5), _eval(2.0), evaluated_version="1")
    assert not stale.promoted and "champion changed during the run" in stale.reason
    assert champion_version(client, name) == "2"


def test_first_candidate_is_compared_with_the_base_when_there_is_no_champion(tiny_dirs, tmp_path):
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = client_for(tracking)
    source = (tmp_path / "m").as_uri()
    assert champion_version(client, "fresh") is None
    rejected = gate(client, "fresh", source, None, _eval(2.0), _eval(2.0), evaluated_version=None)
    assert not rejected.promoted and champion_version(client, "fresh") is None
    promoted = gate(client, "fresh", source, None, _eval(1.0), _eval(2.0), evaluated_version=None)
    assert promoted.promoted and champion_version(client, "fresh") == promoted.candidate_version == "2"


def test_models_uri_resolves_to_the_registered_weights_of_its_own_registry(tiny_dirs, tmp_path):
    """Two registries both holding "gem/1" (different weights) must not share a cached copy."""
    from gem_core.tracking import resolve_model

    shard = "model-00001-of-00003.safetensors"
    cache = tmp_path / "cache"
    for i, model_dir in enumerate(tiny_dirs):
        tracking = f"sqlite:///{tmp_path / f'reg{i}.db'}"
        register_model_dir(model_dir, "gem", tracking, alias=CHAMPION_ALIAS)
        for uri in ("models:/gem@champion", "models:/gem/1"):
            local, name, version = resolve_model(uri, tracking, cache_dir=cache)
            assert (name, version) == ("gem", "1")
            assert (model_dir / shard).read_bytes() == (Path(local) / shard).read_bytes()
