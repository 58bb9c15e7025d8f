"""The image tensor GEM's CLIP tower reads: CLIP preprocessing of the training page.

`openai/clip-vit-large-patch14-336` preprocessing (transformers' CLIPImageProcessor with the
checkpoint's settings, PIL backend, as LLaVA used it): resize so the short side is 336 with
PIL's bicubic filter (antialiased, a = -0.5), long side int(336 * 2200 / 1700) = 434;
centre-crop 336 x 336 (columns 49..384, so 49/434 = 11.3% of the width goes at each side:
the calibration pulses and lead names are cut away, as in training); scale by 1/255;
normalise with the CLIP mean and std. Result (3, 336, 336) float32.

Two routes:
- exact: the page through PIL, the same operations in the same order and precision as the
  processor (`clip_preprocess`); tested equal to CLIPImageProcessor within EXACT_TOLERANCE.
- fast (default): the same page resized by torch's uint8 antialiased bicubic kernel, which
  implements PIL's filter with AVX2 (about 10x faster here) and rounds differently in rare
  pixels: at most FAST_MAX_LEVELS grey level of the resized 8-bit image, i.e. FAST_TOLERANCE
  after normalisation; tested against the exact route.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from gem_core.render.page import GEM_PAPER, render_page
from gem_core.render.paper import Paper

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
CLIP_SIZE = 336                      # shortest edge after resize, and the square crop
RESCALE = 1 / 255

# Exact route vs transformers' processor: float32 rounding only.
EXACT_TOLERANCE = 1e-6
# Fast route vs exact route: one grey level of the 8-bit resized image, in normalised units
# (plus float32 rounding).
FAST_MAX_LEVELS = 1
FAST_TOLERANCE = FAST_MAX_LEVELS * RESCALE / min(CLIP_STD) + 1e-6   # 0.0150
# ... and it may differ at all in at most this fraction of values.
FAST_MAX_DIFFERING = 0.01


def resized_size(height: int, width: int, shortest_edge: int = CLIP_SIZE) -> tuple[int, int]:
    """(height, width) after the processor's shortest-edge resize: the long side is truncated,
    not rounded (int(336 * 2200 / 1700) = 434)."""
    if width <= height:
        return int(shortest_edge * height / width), shortest_edge
    return shortest_edge, int(shortest_edge * width / height)


def crop_origin(height: int, width: int, crop: int = CLIP_SIZE) -> tuple[int, int]:
    """(top, left) of the processor's centre crop: floor division, so (434 - 336) // 2 = 49."""
    return (height - crop) // 2, (width - crop) // 2


@lru_cache(maxsize=1)
def _normalise_lut() -> np.ndarray:
    """(3, 256) float32: the normalised value of every byte in every channel, computed with
    the processor's own arithmetic (x * (1/255) in float64, to float32, then (x - mean) / std
    in float32), so a table lookup is bit-identical to it."""
    x = (np.arange(256, dtype=np.float64) * RESCALE).astype(np.float32)
    mean = np.asarray(CLIP_MEAN, np.float32)[:, None]
    std = np.asarray(CLIP_STD, np.float32)[:, None]
    return ((x[None, :] - mean) / std).astype(np.float32)


def centre_crop(resized: np.ndarray, size: int = CLIP_SIZE) -> np.ndarray:
    """(H, W, 3) uint8 resized image -> (3, size, size) uint8 centre crop (what the model sees,
    before scaling: a quarter of the bytes of the float input, for moving between processes)."""
    h, w = resized.shape[:2]
    top, left = crop_origin(h, w, size)
    return np.ascontiguousarray(resized[top:top + size, left:left + size].transpose(2, 0, 1))


def normalise_bytes(crop: np.ndarray) -> np.ndarray:
    """(..., 3, S, S) uint8 -> float32 scaled and normalised with the CLIP mean/std."""
    lut = _normalise_lut()
    return np.stack([lut[ch][crop[..., ch, :, :]] for ch in range(3)], axis=-3)


def normalise(resized: np.ndarray, size: int = CLIP_SIZE) -> np.ndarray:
    """(H, W, 3) uint8 resized image -> (3, size, size) float32: centre crop, scale, normalise."""
    return normalise_bytes(centre_crop(resized, size))                         # (3, 336, 336)


def clip_preprocess(image: np.ndarray, size: int = CLIP_SIZE) -> np.ndarray:
    """(H, W, 3) uint8 RGB image -> (3, size, size) float32, exactly as CLIPImageProcessor
    with shortest_edge = crop = size (336 for GEM)."""
    from PIL import Image

    h, w = image.shape[:2]
    new_h, new_w = resized_size(h, w, size)
    resized = np.asarray(Image.fromarray(np.ascontiguousarray(image)).resize(
        (new_w, new_h), Image.Resampling.BICUBIC))
    return normalise(resized, size)


def _torch_resize(image: np.ndarray, size: int) -> np.ndarray:
    """PIL's antialiased bicubic resize done by torch's uint8 kernel (channels-last)."""
    import torch

    h, w = image.shape[:2]
    x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]   # (1, 3, H, W) view
    y = torch.nn.functional.interpolate(x, size=resized_size(h, w, size), mode="bicubic",
                                        antialias=True, align_corners=False)
    return y[0].permute(1, 2, 0).numpy()                                       # (h', w', 3) uint8


def model_input_bytes(signal: np.ndarray, size: int = CLIP_SIZE, paper: Paper = GEM_PAPER) -> np.ndarray:
    """The fast route's (3, size, size) uint8 crop; `normalise_bytes` of it is `model_input`."""
    return centre_crop(_torch_resize(render_page(signal, paper), size), size)


def model_input(signal: np.ndarray, exact: bool = False, size: int = CLIP_SIZE,
                paper: Paper = GEM_PAPER) -> np.ndarray:
    """(3, size, size) float32 CLIP input for a prepared (12, 5000) mV signal at 500 Hz
    (size 336 for GEM; a small CLIP such as gem-tiny's takes the same page at its own size).

    exact=False (default) takes the fast route, within FAST_TOLERANCE of exact=True.
    """
    page = render_page(signal, paper)
    if exact:
        return clip_preprocess(page, size)
    return normalise(_torch_resize(page, size), size)
