"""The promotion gate in the MLflow model registry.

A retraining run ends with two evaluations on the same held-out ECGs (patients never trained
on): the candidate's and the current champion's (or, before there is a champion, the base
model's). The gate then
1. registers the candidate as a new version of the registered model, from the run's `model`
   artifact directory, with both evaluations as version tags and the decision and its reason;
2. moves the `champion` alias to it only if the candidate beats the champion on the primary
   metric by the margin, and only if the alias still points at the version that was evaluated
   (another run may have promoted meanwhile: then nothing moves, and the reason says so).
Scoring resolves `models:/<name>@champion`, so the next scoring run picks the new model up.

Primary metric: the held-out per-token loss (negative log-likelihood) of the reference reports,
teacher forced, with each held-out ECG and its image (`evaluation.reference_nll`); lower is
better. The candidate must lower it by at least MARGIN relative to the champion:
    promote  <=>  (champion - candidate) / champion >= MARGIN
The grounding statistics and finding-level metrics of both models' generated reports are
recorded beside it for people to read; they do not decide.

Registration uses `MlflowClient.create_model_version(name, source=<run artifact URI>/model,
run_id=...)`: in MLflow 3, `mlflow.register_model("runs:/<run>/model", ...)` looks for a
LoggedModel and refuses a plain artifact directory.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

CHAMPION_ALIAS = "champion"
PRIMARY_METRIC = "reference_nll"
LOWER_IS_BETTER = True
MARGIN = 0.02            # relative improvement the candidate needs over the champion


@dataclass
class GateDecision:
    promoted: bool
    reason: str
    metric: str
    margin: float
    candidate_value: float
    champion_value: float | None
    improvement: float | None          # relative, positive = candidate better
    candidate_version: str | None = None
    champion_version: str | None = None   # the version evaluated (None: the base stood in)
    champion_after: str | None = None     # where the alias points after the gate

    def to_dict(self) -> dict:
        return asdict(self)


def decide(candidate: dict, champion: dict | None, margin: float = MARGIN,
           metric: str = PRIMARY_METRIC, reference: str = "champion") -> GateDecision:
    """The decision from two evaluations (dicts holding `metric`), without touching a registry.
    `reference` names the model the candidate is compared with in the reason."""
    c = float(candidate[metric])
    if champion is None:
        return GateDecision(True, "no champion and no base evaluation: the candidate becomes the first champion",
                            metric, margin, c, None, None)
    b = float(champion[metric])
    improvement = (b - c) / abs(b) if LOWER_IS_BETTER else (c - b) / abs(b)
    better = "lower" if LOWER_IS_BETTER else "higher"
    if improvement >= margin:
        reason = (f"candidate {metric} {c:.4f} vs {reference} {b:.4f}: {improvement:+.1%} "
                  f"({better} is better), at least the margin {margin:.1%}: promoted")
        return GateDecision(True, reason, metric, margin, c, b, improvement)
    reason = (f"candidate {metric} {c:.4f} vs {reference} {b:.4f}: {improvement:+.1%} "
              f"({better} is better), less than the margin {margin:.1%}: not promoted")
    return GateDecision(False, reason, metric, margin, c, b, improvement)


def client_for(tracking_uri: str):
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(tracking_uri)
    return MlflowClient(tracking_uri=tracking_uri)


def champion_version(client, name: str) -> str | None:
    """The version the alias points at, or None (no registered model, or no alias yet)."""
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(name, CHAMPION_ALIAS).version)
    except MlflowException:
        return None


def register_version(client, name: str, source: str, run_id: str | None, tags: dict | None = None,
                     description: str | None = None) -> str:
    """A new version of `name` (created if needed) from an artifact directory URI."""
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name, description="GEM grounded ECG interpretation (gem-ecg)")
    mv = client.create_model_version(name, source=source, run_id=run_id,
                                     tags={k: str(v) for k, v in (tags or {}).items()}, description=description)
    return str(mv.version)


def register_model_dir(local_dir, name: str, tracking_uri: str, experiment: str = "gem-ecg-registry",
                       alias: str | None = None, params: dict | None = None) -> str:
    """Log a local model directory (published layout) as a run's `model` artifacts and register
    it; optionally point `alias` at it (e.g. to seed the registry with a first champion)."""
    from gem_core.tracking import MODEL_ARTIFACT_PATH, setup_mlflow

    mlflow = setup_mlflow(tracking_uri, experiment)
    with mlflow.start_run(run_name=f"register-{name}") as run:
        mlflow.log_params({"source_dir": str(local_dir), **(params or {})})
        mlflow.log_artifacts(str(local_dir), artifact_path=MODEL_ARTIFACT_PATH)
    client = client_for(tracking_uri)
    version = register_version(client, name, f"{run.info.artifact_uri}/{MODEL_ARTIFACT_PATH}", run.info.run_id)
    if alias:
        client.set_registered_model_alias(name, alias, version)
    return version


def _flat(prefix: str, evaluation: dict | None) -> dict[str, str]:
    from gem_core.evaluation import summary_metrics

    if not evaluation:
        return {}
    return {f"{prefix}.{k}": f"{v:.6g}" for k, v in summary_metrics(evaluation).items()}


def gate(client, name: str, source: str, run_id: str | None, candidate_eval: dict, champion_eval: dict | None,
         evaluated_version: str | None, margin: float = MARGIN) -> GateDecision:
    """Register the candidate with both evaluations and decide on the alias (see module doc).

    evaluated_version: the champion version whose evaluation is `champion_eval` (None when the
    base model stood in because there was no champion)."""
    reference = f"champion v{evaluated_version}" if evaluated_version else "base model (no champion yet)"
    decision = decide(candidate_eval, champion_eval, margin, reference=reference)
    decision.champion_version = evaluated_version
    current = champion_version(client, name)
    if decision.promoted and current != evaluated_version:
        decision.promoted = False
        decision.reason = (f"champion changed during the run (evaluated {evaluated_version}, now {current}): "
                           "not promoted; run the gate again against the new champion")
    tags = {"gate.decision": "promoted" if decision.promoted else "rejected", "gate.reason": decision.reason,
            "gate.metric": decision.metric, "gate.margin": str(margin),
            "gate.champion_version": str(evaluated_version), **_flat("eval.candidate", candidate_eval),
            **_flat("eval.champion", champion_eval)}
    decision.candidate_version = register_version(client, name, source, run_id, tags,
                                                  description=decision.reason)
    if decision.promoted:
        client.set_registered_model_alias(name, CHAMPION_ALIAS, decision.candidate_version)
    decision.champion_after = champion_version(client, name)
    return decision
