"""Review pictures: a layout, optionally with the measurements drawn on it."""
from __future__ import annotations

import numpy as np

from gem_core.render import clinical, page, raster
from gem_core.render.overlay import draw_overlay
from gem_core.render.paper import Paper
from gem_core.render.png import png_bytes

LAYOUTS = ("gem", "clinical")


def review_picture(signal: np.ndarray, layout: str = "gem", measurements: dict | None = None,
                   title: str | None = None, paper: Paper = page.GEM_PAPER) -> np.ndarray:
    """(1700, 2200, 3) uint8 page of a prepared (12, 5000) mV signal.

    layout 'gem' is the training page, 'clinical' the 3 x 4 + rhythm-strip page;
    `measurements` (a Measurements dict) adds fiducial marks and the global intervals.
    """
    if layout == "gem":
        img = page.render_page(signal, paper)
        panels = page.gem_panels(paper)
        # The top margin above lead I: two lines in a smaller font keep clear of its trace.
        text_x, text_top, size, compact = panels[0].x0, 6.0, int(round(0.75 * paper.font_px)), True
        if measurements is None and title:
            raster.draw_text(img, title, text_x, text_top + size, size)
    elif layout == "clinical":
        img = clinical.render_clinical(signal, None if measurements else title, paper)
        panels = clinical.clinical_panels(paper)
        text_x, text_top = clinical.TRACE_X_MM * paper.px_per_mm, 5 * paper.px_per_mm
        size, compact = paper.font_px, False
    else:
        raise ValueError(f"unknown layout {layout!r}; one of {', '.join(LAYOUTS)}")
    if measurements is not None:
        draw_overlay(img, paper, panels, signal, measurements, text_x, text_top, title, size, compact)
    return img


def review_png(signal: np.ndarray, measurements: dict | None = None, layout: str = "gem",
               title: str | None = None, paper: Paper = page.GEM_PAPER) -> bytes:
    """`review_picture` as PNG file contents (for writing to any store)."""
    return png_bytes(review_picture(signal, layout, measurements, title, paper))
