"""The CLIP model input equals transformers' CLIPImageProcessor applied to the full page.

The processor is configured here with the settings of openai/clip-vit-large-patch14-336
(no download: HF_HUB_OFFLINE=1 from conftest), using its PIL backend, which is what LLaVA and
GEM used (a torchvision backend, where installed, resizes differently).
"""
from __future__ import annotations

import numpy as np
import pytest

from gem_core.prepare import load_prepared
from gem_core.render import clip_preprocess, model_input, render_page
from gem_core.render import clip_input as mi


def clip_processor(size: int = 336):
    import transformers

    cls = getattr(transformers, "CLIPImageProcessorPil", None) or transformers.CLIPImageProcessor
    return cls(size={"shortest_edge": size}, crop_size={"height": size, "width": size},
               do_resize=True, do_center_crop=True, resample=3,            # PIL bicubic
               do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
               image_mean=list(mi.CLIP_MEAN), image_std=list(mi.CLIP_STD), do_convert_rgb=True)


@pytest.fixture(scope="module")
def processor():
    return clip_processor(336)


@pytest.fixture(scope="module")
def signals(shared_ecg):
    """The two real records and a synthetic one with large, fast deflections."""
    out = {uri.split("/")[-1]: load_prepared(str(shared_ecg / uri)).signal
           for uri in ("ptb/s0010_re", "ptbxl/00001_lr")}
    t = np.arange(5000) / 500
    out["sharp"] = np.stack([2.0 * np.sign(np.sin(2 * np.pi * (1 + k) * t)) * np.exp(-(t % 1) * 3)
                             for k in range(12)]).astype(np.float32)
    return out


def test_processor_geometry_drops_11_percent_each_side():
    assert mi.resized_size(1700, 2200) == (336, 434)
    top, left = mi.crop_origin(336, 434)
    assert (top, left) == (0, 49)
    assert 0.11 < left / 434 < 0.115 and 0.11 < (434 - 336 - left) / 434 < 0.115


def test_exact_route_equals_clip_image_processor(processor, signals):
    for name, sig in signals.items():
        page = render_page(sig)
        ref = processor(images=page, return_tensors="np")["pixel_values"][0]
        ours = model_input(sig, exact=True)
        assert ours.shape == ref.shape == (3, 336, 336) and ours.dtype == np.float32
        assert np.abs(ours - ref).max() <= mi.EXACT_TOLERANCE, name


def test_other_sizes_follow_the_same_processor(signals):
    """A small CLIP (gem-tiny) reads the same page at its own size."""
    sig = signals["00001_lr"]
    ref = clip_processor(56)(images=render_page(sig), return_tensors="np")["pixel_values"][0]
    assert np.abs(model_input(sig, exact=True, size=56) - ref).max() <= mi.EXACT_TOLERANCE
    fast = model_input(sig, size=56)
    assert fast.shape == (3, 56, 56) and np.abs(fast - ref).max() <= mi.FAST_TOLERANCE


def test_fast_route_within_stated_tolerance_of_exact(signals):
    for name, sig in signals.items():
        exact = clip_preprocess(render_page(sig))
        fast = model_input(sig)
        assert fast.shape == (3, 336, 336) and fast.dtype == np.float32
        diff = np.abs(fast - exact)
        assert diff.max() <= mi.FAST_TOLERANCE, (name, diff.max())
        assert (diff > 1e-6).mean() <= mi.FAST_MAX_DIFFERING, (name, (diff > 1e-6).mean())


def test_model_input_shows_the_traces_on_red_paper(signals):
    """Ink changes the input where the traces are; elsewhere the paper's colour shows: red
    stays near white (grid lines are red or pink), green is pulled down by the grid."""
    blank = model_input(np.zeros((12, 5000), np.float32))
    real = model_input(signals["s0010_re"])
    assert np.abs(real - blank).max() > 2.0                  # black ink on white paper
    white = (1.0 - np.asarray(mi.CLIP_MEAN)) / np.asarray(mi.CLIP_STD)
    median = np.median(blank.reshape(3, -1), axis=1)
    assert abs(median[0] - white[0]) < 0.05
    assert median[1] < white[1] - 0.1
