"""Pixel primitives on (H, W, 3) uint8 arrays: anti-aliased polylines, grid lines, text.

Coordinates are continuous pixel units with the origin at the top-left corner of the image:
pixel (row i, column j) covers [i, i+1) x [j, j+1), as in matplotlib's Agg backend, so a
line at x = 10.0 lies on the boundary between columns 9 and 10.

A polyline is drawn column by column: for every pixel column, the vertical extent of the
stroke (the line swept by a square pen of the given width) is one span [lo, hi), and each
pixel of the span is covered by its overlap with it. ECG traces are dense (2.5 samples per
column at 500 Hz on the GEM page), so this is both exact enough and cheap: the work is
proportional to the inked pixels, not to the samples or the page.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np


@dataclass
class Ink:
    """Pixels touched by a stroke: row, column and coverage in [0, 1], one entry per pixel."""

    rows: np.ndarray     # (M,) int64
    cols: np.ndarray     # (M,) int64
    alpha: np.ndarray    # (M,) float32

    @staticmethod
    def empty() -> "Ink":
        return Ink(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))


def polyline_ink(x: np.ndarray, y: np.ndarray, width: float, shape: tuple[int, int]) -> Ink:
    """Coverage of the polyline through (x[n], y[n]) stroked `width` pixels wide.

    x must be non-decreasing (a time axis; equal x draws a vertical bar). Samples off the
    image are clipped to just outside it, so a wild amplitude costs no more than a
    full-height stroke.
    """
    return polylines_ink(x, np.asarray(y)[None, :], width, shape)[0]


def polylines_ink(x: np.ndarray, ys: np.ndarray, width: float, shape: tuple[int, int]) -> list[Ink]:
    """`polyline_ink` for L polylines sharing one x axis: ys is (L, N); one Ink per row of ys.

    Sharing x lets the binning be done once and every step run on all lines together.
    """
    h, w = shape
    x = np.asarray(x, np.float64)
    ys = np.clip(np.nan_to_num(np.asarray(ys, np.float64)), -width - 2.0, h + width + 2.0)
    n_lines = ys.shape[0]
    if x.size == 0:
        return [Ink.empty() for _ in range(n_lines)]
    r = width / 2.0
    # Half-pixel bins: the pen window of column c is the 2j half-bins around its centre,
    # [c + 1/2 - j/2, c + 1/2 + j/2), j/2 being the pen half-width rounded to half a pixel.
    j = max(1, int(round(2.0 * r)))
    k0 = int(np.floor(2.0 * x[0]))
    k1 = int(np.floor(2.0 * x[-1]))
    nb = k1 - k0 + 1
    kb = np.floor(2.0 * x).astype(np.int64) - k0                  # (N,) bin of each sample
    starts = np.searchsorted(kb, np.arange(nb))                    # (nb,)
    full = np.diff(np.append(starts, x.size)) > 0
    bmin = np.full((n_lines, nb), np.inf)
    bmax = np.full((n_lines, nb), -np.inf)
    if full.any():
        bmin[:, full] = np.minimum.reduceat(ys, starts[full], axis=1)
        bmax[:, full] = np.maximum.reduceat(ys, starts[full], axis=1)
    if nb > 1:
        # The polyline crosses each bin boundary at an interpolated height: both bins see it.
        xb = (k0 + np.arange(1, nb)) / 2.0                         # (nb-1,)
        i = np.clip(np.searchsorted(x, xb, side="right") - 1, 0, max(x.size - 2, 0))
        if x.size > 1:
            f = np.clip((xb - x[i]) / np.maximum(x[i + 1] - x[i], 1e-12), 0.0, 1.0)
            yb = ys[:, i] * (1.0 - f) + ys[:, i + 1] * f            # (L, nb-1)
        else:
            yb = np.repeat(ys, nb - 1, axis=1)
        np.minimum(bmin[:, 1:], yb, out=bmin[:, 1:])
        np.minimum(bmin[:, :-1], yb, out=bmin[:, :-1])
        np.maximum(bmax[:, 1:], yb, out=bmax[:, 1:])
        np.maximum(bmax[:, :-1], yb, out=bmax[:, :-1])

    # Columns whose window meets at least one bin, clipped to the image.
    c0 = max(0, -((j - k0) // 2))                                  # ceil((k0 - j) / 2)
    c1 = min(w - 1, (k1 + j - 1) // 2)
    if c1 < c0:
        return [Ink.empty() for _ in range(n_lines)]
    cols = np.arange(c0, c1 + 1)
    pad = 2 * j
    pmin = np.pad(bmin, ((0, 0), (pad, pad)), constant_values=np.inf)
    pmax = np.pad(bmax, ((0, 0), (pad, pad)), constant_values=-np.inf)
    first = 2 * cols + 1 - j - (k0 - pad)                          # index of the window's first bin
    lo = pmin[:, first]                                            # (L, C)
    hi = pmax[:, first]
    for s in range(1, 2 * j):
        np.minimum(lo, pmin[:, first + s], out=lo)
        np.maximum(hi, pmax[:, first + s], out=hi)
    lo -= r
    hi += r

    # Every pixel of every column span, all lines at once, in line order. Inside a span the
    # pen covers whole pixels; only its first and last pixel are partly covered.
    lo, hi = lo.ravel(), hi.ravel()                                # (S,) S = L * C spans
    top = np.clip(np.floor(lo), 0, h).astype(np.int64)
    bottom = np.clip(np.ceil(hi), 0, h).astype(np.int64)
    n = bottom - top                                               # (S,) pixels per span
    ends = np.cumsum(n)                                            # (S,) one past each span's last pixel
    total = int(ends[-1]) if ends.size else 0
    rows = np.arange(total) - np.repeat(ends - n - top, n)         # (M,)
    col = np.repeat(np.tile(cols, n_lines), n)                     # (M,)
    alpha = np.ones(total, np.float32)
    some = n > 0
    a_first = np.minimum(top + 1.0, hi) - lo                       # (S,) coverage of the first pixel
    a_last = hi - np.maximum(bottom - 1.0, lo)                     # (S,) ... and of the last
    one = n == 1
    a_first[one] = (hi - lo)[one]
    alpha[(ends - 1)[some & ~one]] = np.clip(a_last[some & ~one], 0.0, 1.0)
    alpha[(ends - n)[some]] = np.clip(a_first[some], 0.0, 1.0)
    bounds = ends[np.arange(1, n_lines) * cols.size - 1]
    return [Ink(r_, c_, a_) for r_, c_, a_ in zip(np.split(rows, bounds), np.split(col, bounds),
                                                   np.split(alpha, bounds))]


def paint(img: np.ndarray, ink: Ink, colour: tuple[int, int, int]) -> None:
    """Composite `colour` over the contiguous (H, W, 3) uint8 `img` in place with the ink's
    coverage (one stroke: no pixel appears twice, so indexed assignment is exact)."""
    if not img.flags.c_contiguous:
        raise ValueError("paint needs a C-contiguous image (it writes through a flat view)")
    if ink.rows.size == 0:
        return
    # Pixels as 3-byte cells: one gather and one scatter instead of three (3x faster).
    cells = img.reshape(-1).view("V3")
    idx = ink.rows * img.shape[1] + ink.cols
    # Channel-major (3, M) arithmetic: numpy is slow on an inner axis of length 3.
    out = cells[idx].view(np.uint8).reshape(-1, 3).T.astype(np.float32)     # (3, M)
    a = ink.alpha
    for ch in range(3):
        out[ch] *= 1.0 - a
        out[ch] += colour[ch] * a + 0.5
    cells[idx] = np.ascontiguousarray(out.T.astype(np.uint8)).reshape(-1).view("V3")


def stroke(img: np.ndarray, x: np.ndarray, y: np.ndarray, width: float,
           colour: tuple[int, int, int] = (0, 0, 0)) -> Ink:
    """Draw a polyline on `img` in place; returns the ink it laid down."""
    ink = polyline_ink(x, y, width, img.shape[:2])
    paint(img, ink, colour)
    return ink


def _over(under: np.ndarray, alpha: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    """`colour` composited over the (h, w, 3) uint8 `under` with (h, w) coverage `alpha`."""
    a = np.asarray(alpha, np.float32)[..., None]
    out = under.astype(np.float32) * (1.0 - a) + np.asarray(colour, np.float32) * a
    return (out + 0.5).astype(np.uint8)


def line_coverage(n: int, positions: np.ndarray, width: float) -> np.ndarray:
    """(n,) coverage of pixels 0..n-1 by lines of `width` centred at `positions` (one axis)."""
    edges = np.arange(n + 1, dtype=np.float64)
    cov = np.zeros(n)
    for p in positions:
        a, b = p - width / 2.0, p + width / 2.0
        i0, i1 = max(int(np.floor(a)), 0), min(int(np.ceil(b)), n)
        if i1 <= i0:
            continue
        seg = np.minimum(edges[i0 + 1:i1 + 1], b) - np.maximum(edges[i0:i1], a)
        cov[i0:i1] = np.maximum(cov[i0:i1], seg)
    return np.clip(cov, 0.0, 1.0)


def grid_layer(img: np.ndarray, cov_x: np.ndarray, cov_y: np.ndarray,
               colour: tuple[int, int, int]) -> None:
    """Composite full-length vertical lines (coverage per column) and horizontal lines
    (coverage per row) of one colour over `img` in place; where they cross, their union."""
    alpha = 1.0 - (1.0 - cov_y[:, None]) * (1.0 - cov_x[None, :])           # (H, W)
    img[...] = _over(img, alpha, colour)


@lru_cache(maxsize=16)
def _font(size_px: int):
    from PIL import ImageFont

    return ImageFont.load_default(size=size_px)


def text_width(text: str, size_px: int) -> float:
    """Advance width of `text` in pixels."""
    return float(_font(size_px).getlength(text))


def wrap_text(text: str, size_px: int, max_width: float) -> list[str]:
    """`text` broken at spaces into lines no wider than max_width (a longer word stays whole)."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and text_width(lines[-1] + " " + word, size_px) <= max_width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def text_mask(text: str, size_px: int) -> tuple[np.ndarray, int]:
    """Coverage mask (h, w) float32 of `text` in Pillow's built-in font, and the row of the
    text baseline inside the mask (so callers can place text by its baseline, like
    matplotlib's default vertical alignment)."""
    from PIL import Image, ImageDraw

    font = _font(size_px)
    ascent, descent = font.getmetrics()
    left, _, right, _ = font.getbbox(text)
    im = Image.new("L", (max(1, right - min(0, left) + 2), ascent + descent + 2), 0)
    ImageDraw.Draw(im).text((-min(0, left), 0), text, fill=255, font=font)
    return np.asarray(im, np.float32) / 255.0, ascent


def draw_text(img: np.ndarray, text: str, x: float, baseline_y: float, size_px: int,
              colour: tuple[int, int, int] = (0, 0, 0), anchor: str = "left") -> None:
    """Draw `text` with its baseline at row `baseline_y`, starting at column `x`
    (anchor 'left') or centred on it ('centre'); clipped to the image."""
    mask, ascent = text_mask(text, size_px)
    mh, mw = mask.shape
    x0 = int(round(x - (mw / 2.0 if anchor == "centre" else 0.0)))
    y0 = int(round(baseline_y)) - ascent
    h, w = img.shape[:2]
    r0, c0 = max(y0, 0), max(x0, 0)
    r1, c1 = min(y0 + mh, h), min(x0 + mw, w)
    if r1 <= r0 or c1 <= c0:
        return
    img[r0:r1, c0:c1] = _over(img[r0:r1, c0:c1], mask[r0 - y0:r1 - y0, c0 - x0:c1 - x0], colour)


def fill_rect(img: np.ndarray, x0: float, y0: float, x1: float, y1: float,
              colour: tuple[int, int, int], opacity: float = 1.0) -> None:
    """Composite an axis-aligned rectangle [x0, x1) x [y0, y1) with anti-aliased edges."""
    h, w = img.shape[:2]
    c0, c1 = max(int(np.floor(x0)), 0), min(int(np.ceil(x1)), w)
    r0, r1 = max(int(np.floor(y0)), 0), min(int(np.ceil(y1)), h)
    if c1 <= c0 or r1 <= r0:
        return
    cx = np.arange(c0, c1, dtype=np.float64)
    ry = np.arange(r0, r1, dtype=np.float64)
    cov_x = np.clip(np.minimum(cx + 1, x1) - np.maximum(cx, x0), 0, 1)
    cov_y = np.clip(np.minimum(ry + 1, y1) - np.maximum(ry, y0), 0, 1)
    img[r0:r1, c0:c1] = _over(img[r0:r1, c0:c1], opacity * cov_y[:, None] * cov_x[None, :], colour)
