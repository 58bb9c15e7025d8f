"""Fixtures shared by the model tests: real prepared ECGs and gem-tiny saved in the published
layout (so every test goes through the real loading path)."""
from __future__ import annotations

import contextlib

import pytest

QUESTIONS_8 = [  # mixed lengths on purpose: left padding differs per row
    "Rhythm?",
    "Interpret the provided ECG image, identify key features and abnormalities in each lead, "
    "and generate a clinical diagnosis that is supported by the observed evidence.",
    "What is the heart rate?",
    "Describe the ST segments and T waves in the inferior and lateral leads, with values.",
    "Is the axis normal?",
    "QRS duration in V1 and V2?",
    "Is there atrial fibrillation or flutter, and what supports it in lead II?",
    "Summarise.",
]


@contextlib.contextmanager
def torch_threads(n: int):
    """Run torch with `n` intra-op threads, then restore. On the shared 2-core machine, two
    OpenMP threads competing with other processes ran these small models 10-40x slower than
    one thread (measured: a gem-tiny training step 0.25 s vs 3-7 s)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Autouse in every model test module that imports it."""
    with torch_threads(1):
        yield


@pytest.fixture(scope="session")
def real_ecgs(shared_ecg):
    """(4, 12, 5000) float32 mV from the shipped PhysioNet records: PTB patient001 at three
    10 s windows and PTB-XL record 1 (resampled 100 -> 500 Hz)."""
    import numpy as np
    import torch

    from gem_core.prepare import load_prepared

    ptb, ptbxl = str(shared_ecg / "ptb" / "s0010_re"), str(shared_ecg / "ptbxl" / "00001_lr")
    signals = [load_prepared(ptb, offset_s=o).signal for o in (0.0, 10.0, 20.0)]
    signals.append(load_prepared(ptbxl).signal)
    return torch.from_numpy(np.stack(signals))


@pytest.fixture(scope="session")
def clip_images():
    """(4, 3, 336, 336) deterministic CLIP-normalised images (smooth patterns, not noise)."""
    import torch

    y, x = torch.meshgrid(torch.linspace(-1, 1, 336), torch.linspace(-1, 1, 336), indexing="ij")
    imgs = [torch.stack([torch.sin(3 * k * x + c) * torch.cos(2 * k * y - c) for c in (0, 1, 2)])
            for k in (1, 2, 3, 4)]
    return torch.stack(imgs) * 1.5


@pytest.fixture(scope="session")
def gem_tiny_dir(tmp_path_factory):
    """gem-tiny (seed 0, fp32) written once per session in the published layout."""
    from gem_core.model.tiny import save_gem_tiny

    return save_gem_tiny(tmp_path_factory.mktemp("gem-tiny") / "gem-tiny", seed=0)
