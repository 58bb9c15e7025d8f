"""The review page readers expect: 3 x 4 leads of 2.5 s each and a 10 s lead II rhythm strip.

Columns are consecutive 2.5 s windows of the same 10 s (I/II/III, then aVR/aVL/aVF, V1-V3,
V4-V6), as printed by electrocardiographs; a calibration pulse starts every row and a short
bar marks each change of leads. Same paper, speed and gain as the GEM page.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from gem_core.leads import FS, N_SAMPLES, STANDARD_LEADS
from gem_core.render import raster
from gem_core.render.page import GEM_PAPER
from gem_core.render.paper import Paper, Panel, check_signal, draw_panels, draw_pulse, grid_page

GRID_ROWS = (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"), ("III", "aVF", "V3", "V6"))
RHYTHM_LEAD = "II"
HEADER_MM = 30.0           # room at the top for the record name and measurements
FOOTER_MM = 8.0
PULSE_X_MM = 8.0           # calibration pulse start
TRACE_X_MM = 16.0          # first trace sample
LABEL_UP_MM = 9.0          # lead name baseline above the trace baseline
SEPARATOR_MM = 3.0         # half-height of the bar between columns


def _row_baselines(paper: Paper) -> list[float]:
    """Baseline rows of the 3 grid rows and the rhythm strip, evenly spaced under the header."""
    h, _ = paper.shape
    top = HEADER_MM * paper.px_per_mm
    step = (h - top - FOOTER_MM * paper.px_per_mm) / 4
    return [top + (k + 0.6) * step for k in range(4)]


def clinical_panels(paper: Paper = GEM_PAPER) -> list[Panel]:
    """12 panels of 2.5 s (row-major) then the 10 s rhythm strip."""
    x0 = TRACE_X_MM * paper.px_per_mm
    n_col = N_SAMPLES // 4
    col_px = n_col * paper.px_per_s / FS
    base = _row_baselines(paper)
    panels = [Panel(lead=STANDARD_LEADS.index(name), start=c * n_col, stop=(c + 1) * n_col,
                    x0=x0 + c * col_px, baseline=base[r])
              for r, names in enumerate(GRID_ROWS) for c, name in enumerate(names)]
    panels.append(Panel(lead=STANDARD_LEADS.index(RHYTHM_LEAD), start=0, stop=N_SAMPLES,
                        x0=x0, baseline=base[3]))
    return panels


@lru_cache(maxsize=4)
def _template(paper: Paper) -> np.ndarray:
    img = grid_page(paper)
    h, _ = paper.shape
    panels = clinical_panels(paper)
    for baseline in _row_baselines(paper):
        draw_pulse(img, paper, PULSE_X_MM * paper.px_per_mm, baseline)
    bar = SEPARATOR_MM * paper.px_per_mm
    for p in panels:
        raster.draw_text(img, STANDARD_LEADS[p.lead], p.x0 + 6, p.baseline - LABEL_UP_MM * paper.px_per_mm,
                         paper.font_px)
        if p.start > 0 and p.stop - p.start < N_SAMPLES:           # a change of leads
            raster.stroke(img, np.array([p.x0, p.x0]), np.array([p.baseline - bar, p.baseline + bar]),
                          paper.pt(paper.pulse_line_pt), paper.trace_colour)
    raster.draw_text(img, f"{paper.mm_per_s:g} mm/s   {paper.mm_per_mv:g} mm/mV",
                     TRACE_X_MM * paper.px_per_mm, h - 2.5 * paper.px_per_mm, paper.font_px)
    img.setflags(write=False)
    return img


def render_clinical(signal: np.ndarray, title: str | None = None,
                    paper: Paper = GEM_PAPER) -> np.ndarray:
    """(1700, 2200, 3) uint8 3 x 4 + rhythm-strip page of a prepared (12, 5000) mV signal."""
    s = check_signal(signal, N_SAMPLES)
    img = _template(paper).copy()
    draw_panels(img, paper, clinical_panels(paper), s)
    if title:
        raster.draw_text(img, title, TRACE_X_MM * paper.px_per_mm, 9 * paper.px_per_mm,
                         paper.font_px)
    return img
