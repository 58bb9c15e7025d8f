"""The same record read from a local path and from S3 (a real S3-protocol server on 127.0.0.1)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from gem_core import errors
from gem_core.prepare import load_prepared
from gem_core.records import read_record


@pytest.fixture
def s3_archive(shared_ecg, s3_bucket, s3_server):
    """The shared PTB and PTB-XL records uploaded under s3://<bucket>/archive/."""
    import s3fs

    fs = s3fs.S3FileSystem()  # endpoint from AWS_ENDPOINT_URL, as a user's job would get it
    for folder, name in (("ptb", "s0010_re"), ("ptbxl", "00001_lr")):
        for f in (shared_ecg / folder).glob(name + ".*"):
            fs.put_file(str(f), f"{s3_bucket}/archive/{folder}/{f.name}")
    return f"s3://{s3_bucket}/archive"


@pytest.mark.parametrize("name", ["ptb/s0010_re", "ptbxl/00001_lr"])
def test_local_and_s3_reads_are_identical(shared_ecg, s3_archive, name):
    local = read_record(str(shared_ecg / name))
    remote = read_record(f"{s3_archive}/{name}.hea")
    assert remote.source_uri == f"{s3_archive}/{name}"
    assert remote.lead_names == local.lead_names and remote.fs == local.fs
    np.testing.assert_array_equal(remote.signal, local.signal)
    np.testing.assert_array_equal(load_prepared(f"{s3_archive}/{name}").signal,
                                  load_prepared(str(shared_ecg / name)).signal)


def test_s3_missing_record_is_a_clear_error(s3_archive):
    with pytest.raises(errors.MissingHeader, match="nope.hea not found"):
        read_record(f"{s3_archive}/ptb/nope")


def test_inspect_cli_on_s3_json(s3_archive, s3_server):
    out = subprocess.run([sys.executable, "-m", "jobs.cli", "inspect", f"{s3_archive}/ptb/s0010_re", "--json"],
                         capture_output=True, text=True, env=dict(os.environ), check=True)
    info = json.loads(out.stdout)
    assert info["record"] == "s0010_re" and info["fs_in"] == 1000 and info["fs"] == 500
    assert info["shape"] == [12, 5000]
    assert info["leads"] == ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    assert info["mapping"]["aVR"] == "avr" and info["flags"]["ignored_channels"] == ["vx", "vy", "vz"]
    assert "AWS" not in out.stdout + out.stderr
