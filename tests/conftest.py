"""Shared fixtures: the real ECG records, one local Ray session, one S3-protocol server.

Environment that must hold before anything touches Ray or S3 is set at import time:
- dummy AWS credentials and region, so nothing ever reaches real AWS with real keys;
- Ray with token auth off and every listener on 127.0.0.1 (ARCHITECTURE.md, known traps);
- Hugging Face offline: no test may download anything.
"""
from __future__ import annotations

import logging
import os
import shutil
import socket
from pathlib import Path

import pytest

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ["RAY_AUTH_MODE"] = "disabled"
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

REPO = Path(__file__).resolve().parents[1]
SHARED_ECG = REPO.parent / "shared" / "data" / "ecg"
ARTIFACTS = REPO / "artifacts"


@pytest.fixture(scope="session")
def shared_ecg() -> Path:
    """The read-only real PhysioNet records (../shared/data/ecg)."""
    if not SHARED_ECG.is_dir():
        pytest.fail(f"shared ECG records not found at {SHARED_ECG}")
    return SHARED_ECG


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests leave pictures and tables for people to look at (ignored by git)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def copy_record(tmp_path):
    """Copy a record's files (all files sharing its stem) into a temporary directory."""

    def _copy(record: Path, dest: Path | None = None) -> Path:
        dest = dest or tmp_path
        dest.mkdir(parents=True, exist_ok=True)
        for f in record.parent.glob(record.name + ".*"):
            shutil.copy(f, dest / f.name)
        return dest / record.name

    return _copy


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server():
    """A real S3-protocol server (moto's threaded server) on 127.0.0.1.

    Sets AWS_ENDPOINT_URL so that s3fs, pyarrow, botocore and wfdb's fsspec reads all go
    there; yields the endpoint URL; stops the server at the end of the session.
    """
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = _free_port()
    _S3["server"] = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    _S3["server"].start()
    _S3["port"] = port
    endpoint = f"http://127.0.0.1:{port}"
    old = os.environ.get("AWS_ENDPOINT_URL")
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    try:
        yield endpoint
    finally:
        _S3["server"].stop()
        if old is None:
            os.environ.pop("AWS_ENDPOINT_URL", None)
        else:
            os.environ["AWS_ENDPOINT_URL"] = old


_S3: dict = {}


@pytest.fixture
def s3_outage(s3_server):
    """A function that takes the test S3 server down for `seconds`, then brings it back on
    the same port with its data (moto keeps its state in this process)."""
    from moto.server import ThreadedMotoServer

    def outage(seconds: float) -> None:
        import time

        _S3["server"].stop()
        time.sleep(seconds)
        _S3["server"] = ThreadedMotoServer(ip_address="127.0.0.1", port=_S3["port"], verbose=False)
        _S3["server"].start()

    return outage


@pytest.fixture
def s3_bucket(s3_server):
    """A fresh bucket on the test S3 server; yields its name."""
    import uuid

    import s3fs

    name = f"gem-{uuid.uuid4().hex[:12]}"
    fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": s3_server})
    fs.mkdir(name)
    s3fs.S3FileSystem.clear_instance_cache()
    yield name


@pytest.fixture(scope="session")
def ray_session(s3_server):
    """One local Ray session shared by every test that needs Ray (starting Ray costs 10-15 s).

    Started after the S3 server so that its workers inherit AWS_ENDPOINT_URL, as the workers
    of a real cluster get the store's settings from their own environment (credentials are
    never shipped through Ray).
    """
    import ray

    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    """A randomly initialised gem-tiny written in the published GEM layout (real load path)."""
    from gem_core.model.tiny import save_gem_tiny

    out = tmp_path_factory.mktemp("gem-tiny")
    save_gem_tiny(out, seed=0)
    return str(out)
