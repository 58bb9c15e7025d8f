"""The page GEM was trained on: 12 rows of 10 s, lead I at the top, V6 at the bottom.

Geometry follows ECG-image-kit's `ecg_plot` (the generator of GEM's training images), whose
axes span the whole page in seconds and millivolts with the origin at the bottom-left:
- x: 25 mm/s, so the page is 11.176 s wide; the 10 s rows start after a gap of
  floor((11.176 - 10) / 2 / 0.2) * 0.2 = 0.4 s, then a 0.2 s calibration pulse, then the trace;
- y: 10 mm/mV, so the page is 21.59 mV high; rows are 21.59 / (12 + 2) mV apart and the
  top row's baseline lies 1.5 row heights below the top edge;
- the lead name is written where ECG-image-kit puts it: at the start of the trace, its text
  baseline 0.7 mV below the trace baseline; '25mm/s' and '10mm/mV' at (2 s, 0.5 mV) and
  (4 s, 0.5 mV);
- grid 1 mm / 5 mm with 0.5 pt lines, trace 0.75 pt, pulse 1.125 pt, 11 pt text.
Only the traces depend on the ECG: everything else is drawn once and copied.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from gem_core.leads import FS, N_SAMPLES, STANDARD_LEADS
from gem_core.render import raster
from gem_core.render.paper import Paper, Panel, check_signal, draw_panels, draw_pulse, grid_page

GEM_PAPER = Paper()
SECONDS = N_SAMPLES / FS                      # 10 s per row
PULSE_S = 0.2
LABEL_DROP_MV = 0.7                           # lead name baseline below the trace baseline


def _x_gap_s(paper: Paper) -> float:
    page_s = paper.width_in * 25.4 / paper.mm_per_s            # 11.176 s
    return math.floor((page_s - SECONDS) / 2 / 0.2) * 0.2       # 0.4 s


def row_height_px(paper: Paper = GEM_PAPER) -> float:
    """Distance between row baselines (121.4 px on the GEM page)."""
    page_mv = paper.height_in * 25.4 / paper.mm_per_mv         # 21.59 mV
    return page_mv / (len(STANDARD_LEADS) + 2) * paper.px_per_mv


def pulse_x(paper: Paper = GEM_PAPER) -> float:
    """Column where each row's calibration pulse starts (78.7 px)."""
    return _x_gap_s(paper) * paper.px_per_s


def gem_panels(paper: Paper = GEM_PAPER) -> list[Panel]:
    """One panel per lead, the full 10 s, I at the top."""
    x0 = pulse_x(paper) + PULSE_S * paper.px_per_s
    rh = row_height_px(paper)
    return [Panel(lead=i, start=0, stop=N_SAMPLES, x0=x0, baseline=(1.5 + i) * rh)
            for i in range(len(STANDARD_LEADS))]


@lru_cache(maxsize=4)
def _template(paper: Paper) -> np.ndarray:
    """The page without traces (grid, pulses, names, speed and gain); read-only."""
    img = grid_page(paper)
    h, _ = paper.shape
    for panel in gem_panels(paper):
        draw_pulse(img, paper, pulse_x(paper), panel.baseline)
        raster.draw_text(img, STANDARD_LEADS[panel.lead], panel.x0,
                         panel.baseline + LABEL_DROP_MV * paper.px_per_mv, paper.font_px)
    foot = h - 0.5 * paper.px_per_mv
    raster.draw_text(img, "25mm/s", 2.0 * paper.px_per_s, foot, paper.font_px)
    raster.draw_text(img, "10mm/mV", 4.0 * paper.px_per_s, foot, paper.font_px)
    img.setflags(write=False)
    return img


def render_page(signal: np.ndarray, paper: Paper = GEM_PAPER) -> np.ndarray:
    """(1700, 2200, 3) uint8 RGB page of a prepared (12, 5000) mV signal at 500 Hz."""
    s = check_signal(signal, N_SAMPLES)
    img = _template(paper).copy()
    draw_panels(img, paper, gem_panels(paper), s)
    return img
