"""MLflow: where runs are tracked and how a model URI becomes a directory of weights.

Tracking URI: `--tracking-uri`, else `MLFLOW_TRACKING_URI`, else the embedded default
`sqlite:///<data dir>/mlflow.db` with artifacts beside it. Models are logged as plain
directories (safetensors + config + tokenizer) under the run's `model` artifact path and
registered from there (`MlflowClient.create_model_version(name, source=<run artifact URI>/model)`:
MLflow 3's `register_model("runs:/...")` wants a LoggedModel, not a plain directory);
`models:/<name>@<alias>` or `models:/<name>/<version>` resolves to a local copy of that directory. Credentials never pass through here: MLflow and the object
store read them from the environment.
"""
from __future__ import annotations

import hashlib
import os
import posixpath
import shutil
import tempfile
from pathlib import Path

DEFAULT_DATA_DIR = Path("data")
MODEL_ARTIFACT_PATH = "model"


def tracking_uri(explicit: str | None = None, data_dir: Path | str = DEFAULT_DATA_DIR) -> str:
    if explicit:
        return explicit
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data_dir / 'mlflow.db'}"


def setup_mlflow(uri: str, experiment: str):
    """Point MLflow at `uri` and the experiment (created with artifacts beside a sqlite
    store, not in the working directory). Returns the mlflow module."""
    import mlflow

    mlflow.set_tracking_uri(uri)
    if mlflow.get_experiment_by_name(experiment) is None:
        location = None
        if uri.startswith("sqlite:///"):
            location = (Path(uri[len("sqlite:///"):]).parent / "mlartifacts").resolve().as_uri()
        mlflow.create_experiment(experiment, artifact_location=location)
    mlflow.set_experiment(experiment)
    return mlflow


def directory_version(uri: str) -> str:
    """A content version for a model directory: a hash of its config and weight index, so
    that `--incremental` can tell one set of weights from another without a registry."""
    import fsspec

    h = hashlib.sha256()
    for name in ("config.json", "model.safetensors.index.json", "model.safetensors"):
        path = posixpath.join(uri.rstrip("/"), name)
        try:
            with fsspec.open(path, "rb") as f:
                h.update(f.read(1 << 20) if name == "model.safetensors" else f.read())
        except FileNotFoundError:
            continue
    return "sha-" + h.hexdigest()[:12]


def resolve_model(uri: str, tracking: str | None = None, cache_dir: Path | str | None = None) -> tuple[str, str, str]:
    """(weights location, model name, model version) for a directory, an object-store URL or
    a registry URI `models:/<name>@<alias>` / `models:/<name>/<version>`."""
    if not uri.startswith("models:/"):
        name = posixpath.basename(uri.rstrip("/"))
        return uri, name, directory_version(uri)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # batch logs, not a terminal
    import mlflow
    from mlflow import MlflowClient

    if tracking:
        mlflow.set_tracking_uri(tracking)
    client = MlflowClient()
    ref = uri[len("models:/"):]
    if "@" in ref:
        name, alias = ref.split("@", 1)
        mv = client.get_model_version_by_alias(name, alias)
    else:
        name, version = ref.rsplit("/", 1)
        mv = client.get_model_version(name, version)
    # Keyed by the version's source too: two registries (or a re-created one) may both have
    # "<name>/1", and must not share a cached copy.
    key = hashlib.sha256(f"{mlflow.get_tracking_uri()}\0{mv.source}".encode()).hexdigest()[:12]
    cache = Path(cache_dir or Path(os.environ.get("TMPDIR", "/tmp")) / "gem-ecg-models") / name
    dst = cache / f"{mv.version}-{key}"
    if not dst.is_dir():
        # Download beside, then rename: workers on one node resolving at once never see a
        # half-written copy (the loser of the rename race drops its own).
        cache.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{mv.version}-", dir=cache))
        mlflow.artifacts.download_artifacts(artifact_uri=mv.source, dst_path=str(tmp))
        try:
            tmp.rename(dst)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
    local = dst / MODEL_ARTIFACT_PATH if (dst / MODEL_ARTIFACT_PATH).is_dir() else dst
    return str(local), name, str(mv.version)

