"""ECG paper: the page size, the millimetre grid, and where a lead's samples land on it.

Both layouts (the GEM training page and the clinical 3 x 4 review page) are built from
`Panel`s: one stretch of one lead drawn at a baseline, with a time origin. Overlays use the
same panels to find where a fiducial lies on the picture.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gem_core.leads import FS
from gem_core.render import raster

MM_PER_INCH = 25.4
PT_PER_INCH = 72.0


@dataclass(frozen=True)
class Paper:
    """Letter landscape at 200 dpi, standard speed and gain, red grid (ECG-image-kit's
    'standard colour 5'), black trace; the defaults are the GEM training page."""

    width_in: float = 11.0
    height_in: float = 8.5
    dpi: int = 200
    mm_per_s: float = 25.0
    mm_per_mv: float = 10.0
    grid_line_pt: float = 0.5
    trace_line_pt: float = 0.75
    pulse_line_pt: float = 1.125        # 1.5 x the trace, as ECG-image-kit draws it
    frame_line_pt: float = 0.8          # matplotlib's default axes spine
    font_pt: float = 11.0
    major_colour: tuple[int, int, int] = (255, 0, 0)
    minor_colour: tuple[int, int, int] = (254, 223, 219)
    trace_colour: tuple[int, int, int] = (0, 0, 0)

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) in pixels: (1700, 2200)."""
        return int(round(self.height_in * self.dpi)), int(round(self.width_in * self.dpi))

    @property
    def px_per_mm(self) -> float:
        return self.dpi / MM_PER_INCH                      # 7.874

    @property
    def px_per_s(self) -> float:
        return self.mm_per_s * self.px_per_mm              # 196.85

    @property
    def px_per_mv(self) -> float:
        return self.mm_per_mv * self.px_per_mm             # 78.74

    def pt(self, points: float) -> float:
        """Points to pixels."""
        return points * self.dpi / PT_PER_INCH

    @property
    def font_px(self) -> int:
        return int(round(self.pt(self.font_pt)))            # 31 at 11 pt, 200 dpi


@dataclass(frozen=True)
class Panel:
    """Samples [start, stop) of one lead, drawn from column x0 (the first sample) at the
    row `baseline` (0 mV)."""

    lead: int                 # index into STANDARD_LEADS
    start: int
    stop: int
    x0: float
    baseline: float

    def x_of(self, paper: Paper, samples: np.ndarray, fs: float = FS) -> np.ndarray:
        """Column of each sample index (absolute indices into the signal)."""
        return self.x0 + (np.asarray(samples, np.float64) - self.start) * paper.px_per_s / fs

    def y_of(self, paper: Paper, mv: np.ndarray) -> np.ndarray:
        """Row of each amplitude in mV (up is positive)."""
        return self.baseline - np.asarray(mv, np.float64) * paper.px_per_mv

    def contains(self, samples: np.ndarray) -> np.ndarray:
        s = np.asarray(samples)
        return (s >= self.start) & (s < self.stop)


def grid_page(paper: Paper) -> np.ndarray:
    """(H, W, 3) uint8: white paper with 1 mm minor and 5 mm major lines, anchored at the
    left and bottom edges of the page (matplotlib's axes origin), and a thin frame."""
    h, w = paper.shape
    pitch = paper.px_per_mm
    lw = paper.pt(paper.grid_line_pt)
    xs = np.arange(0, w / pitch + 1) * pitch                       # from the left edge
    ys = h - np.arange(0, h / pitch + 1) * pitch                   # from the bottom edge
    k_x = np.arange(xs.size)
    k_y = np.arange(ys.size)
    img = np.full((h, w, 3), 255, np.uint8)
    none_x, none_y = np.zeros(w), np.zeros(h)
    # matplotlib's order: the x axis's (vertical) lines, then the y axis's (horizontal) lines
    # over them, so pink 1 mm rows cross the red 5 mm columns.
    raster.grid_layer(img, raster.line_coverage(w, xs[k_x % 5 != 0], lw), none_y, paper.minor_colour)
    raster.grid_layer(img, raster.line_coverage(w, xs[k_x % 5 == 0], lw), none_y, paper.major_colour)
    raster.grid_layer(img, none_x, raster.line_coverage(h, ys[k_y % 5 != 0], lw), paper.minor_colour)
    raster.grid_layer(img, none_x, raster.line_coverage(h, ys[k_y % 5 == 0], lw), paper.major_colour)
    # The frame: a spine centred on each edge shows its inner half.
    fw = paper.pt(paper.frame_line_pt)
    raster.grid_layer(img, raster.line_coverage(w, np.array([0.0, w]), fw),
                      raster.line_coverage(h, np.array([0.0, h]), fw), (0, 0, 0))
    return img


def calibration_pulse(paper: Paper, x: float, baseline: float) -> tuple[np.ndarray, np.ndarray]:
    """Polyline of a 1 mV, 0.2 s calibration pulse starting at column x: flat 4 ms, up,
    200 ms at 1 mV, down, flat 4 ms (ECG-image-kit's 104-point pulse at 500 Hz)."""
    t = np.arange(104) / 500.0                                      # s
    v = np.ones(104)
    v[:2] = v[-2:] = 0.0
    return x + t * paper.px_per_s, baseline - v * paper.px_per_mv


def draw_pulse(img: np.ndarray, paper: Paper, x: float, baseline: float) -> None:
    px, py = calibration_pulse(paper, x, baseline)
    raster.stroke(img, px, py, paper.pt(paper.pulse_line_pt), paper.trace_colour)


def panels_ink(paper: Paper, panels: list[Panel], signal: np.ndarray, shape: tuple[int, int],
               fs: float = FS) -> list[raster.Ink]:
    """Where each panel's stretch of its lead inks the page (one Ink per panel, in order).
    Panels on the same time axis (same samples, same x0) are rasterised together."""
    groups: dict[tuple[int, int, float], list[int]] = {}
    for k, p in enumerate(panels):
        groups.setdefault((p.start, p.stop, p.x0), []).append(k)
    inks: list[raster.Ink] = [raster.Ink.empty()] * len(panels)
    for (start, stop, _), members in groups.items():
        n = np.arange(start, stop)
        x = panels[members[0]].x_of(paper, n, fs)
        ys = np.stack([panels[k].y_of(paper, signal[panels[k].lead, start:stop]) for k in members])
        for k, ink in zip(members, raster.polylines_ink(x, ys, paper.pt(paper.trace_line_pt), shape)):
            inks[k] = ink
    return inks


def draw_panels(img: np.ndarray, paper: Paper, panels: list[Panel], signal: np.ndarray,
                fs: float = FS) -> None:
    """Draw each panel's trace on `img` in place (later panels over earlier ones)."""
    for ink in panels_ink(paper, panels, signal, img.shape[:2], fs):
        raster.paint(img, ink, paper.trace_colour)


def check_signal(signal: np.ndarray, n_samples: int | None = None) -> np.ndarray:
    """The (12, N) float mV signal as float64 with non-finite values set to 0 (a missing
    sample draws as baseline rather than breaking the picture)."""
    s = np.asarray(signal)
    if s.ndim != 2 or s.shape[0] != 12 or (n_samples is not None and s.shape[1] != n_samples):
        want = f"(12, {n_samples})" if n_samples else "(12, N)"
        raise ValueError(f"expected a {want} signal in mV, got shape {s.shape}")
    return np.nan_to_num(s.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
