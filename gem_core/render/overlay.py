"""Measurements drawn on a review page: fiducial marks on every trace, intervals as text.

Takes the Measurements dict of the measurement stage (`Measurements.to_dict()`, schema in
the measurement module): `fiducials` {r_peaks, p_on, p_off, qrs_on, qrs_off, t_on, t_off},
lists of sample indices at 500 Hz (None where a wave was not found), and `global` (heart
rate, PR, QRS, QT, QTc, axes...). Global fiducials hold for all leads at once, so every
panel showing that moment gets the mark: onset and offset ticks bracket each wave in its
colour, and a dot sits above each R peak.
"""
from __future__ import annotations

import numpy as np

from gem_core.leads import FS
from gem_core.render import raster
from gem_core.render.paper import Panel, Paper

WAVE_COLOURS = {"P": (0, 90, 230), "QRS": (0, 150, 0), "T": (200, 0, 200), "R": (255, 130, 0)}
FIDUCIAL_WAVES = {"p_on": "P", "p_off": "P", "qrs_on": "QRS", "qrs_off": "QRS",
                  "t_on": "T", "t_off": "T", "r_peaks": "R"}
TICK_HALF_MM = 2.5          # onset/offset ticks reach this far above and below the trace
TICK_WIDTH_PX = 2.0
MAX_COMPACT_LINES = 3      # text lines that fit above lead I on the GEM page
DOT_MM = 1.2                # R-peak dot size, and its lift above the trace (x 2)


def _fmt(v, unit: str = "", digits: int = 0) -> str:
    if v is None:
        return "n/a"
    return f"{v:.{digits}f}{unit}"


def interval_lines(measurements: dict) -> list[str]:
    """The global measurements as short text lines (and the findings' labels, if any)."""
    g = measurements.get("global", {})
    qtc = f"QTc {_fmt(g.get('qtc_ms'), ' ms')}"
    if g.get("qtc_method"):
        qtc += f" ({g['qtc_method'].capitalize()})"
    lines = [
        "   ".join([f"HR {_fmt(g.get('heart_rate_bpm'), ' bpm')}", f"RR {_fmt(g.get('rr_ms'), ' ms')}",
                    f"PR {_fmt(g.get('pr_ms'), ' ms')}", f"P {_fmt(g.get('p_ms'), ' ms')}",
                    f"QRS {_fmt(g.get('qrs_ms'), ' ms')}", f"QT {_fmt(g.get('qt_ms'), ' ms')}", qtc]),
        "   ".join([f"Axis P {_fmt(g.get('p_axis_deg'), '°')}", f"QRS {_fmt(g.get('qrs_axis_deg'), '°')}",
                    f"T {_fmt(g.get('t_axis_deg'), '°')}",
                    "rhythm " + {True: "regular", False: "irregular", None: "n/a"}[g.get("rhythm_regular")]]),
    ]
    labels = [f.get("label") or f.get("code", "") for f in measurements.get("findings", [])]
    if labels:
        lines.append("Findings: " + "; ".join(labels))
    return lines


def fiducial_marks(img: np.ndarray, paper: Paper, panels: list[Panel], signal: np.ndarray,
                   fiducials: dict, fs: float = FS) -> int:
    """Mark every fiducial on every panel that shows it, in place; returns the marks drawn."""
    tick = TICK_HALF_MM * paper.px_per_mm
    dot = DOT_MM * paper.px_per_mm
    drawn = 0
    for key, wave in FIDUCIAL_WAVES.items():
        samples = np.array([s for s in fiducials.get(key) or [] if s is not None], np.int64)
        if samples.size == 0:
            continue
        colour = WAVE_COLOURS[wave]
        for panel in panels:
            s = samples[panel.contains(samples)]
            xs = panel.x_of(paper, s, fs)
            ys = panel.y_of(paper, signal[panel.lead, s])
            for x, y in zip(xs, ys):
                if wave == "R":
                    raster.fill_rect(img, x - dot / 2, y - 2.5 * dot, x + dot / 2, y - 1.5 * dot, colour)
                else:
                    raster.fill_rect(img, x - TICK_WIDTH_PX / 2, y - tick, x + TICK_WIDTH_PX / 2,
                                     y + tick, colour, opacity=0.9)
            drawn += s.size
    return drawn


def text_block(img: np.ndarray, lines: list[str], x: float, top: float, size_px: int,
               room_after: float = 0.0) -> list[tuple[float, float]]:
    """Text lines on a white backing (legible over grid and traces), the first at `top`,
    with `room_after` pixels of backing after the last line; returns each line's (baseline
    row, right end column)."""
    step = 1.3 * size_px
    widths = [raster.text_width(line, size_px) for line in lines]
    right = max(max(widths), widths[-1] + room_after)
    raster.fill_rect(img, x - 6, top - 4, x + right + 6, top + step * len(lines) + 2,
                     (255, 255, 255), opacity=0.85)
    ends = []
    for k, line in enumerate(lines):
        baseline = top + step * k + 0.95 * size_px
        raster.draw_text(img, line, x, baseline, size_px)
        ends.append((baseline, x + widths[k]))
    return ends


def legend(img: np.ndarray | None, x: float, baseline: float, size_px: int) -> float:
    """'P QRS T R' in the marks' colours, left to right from x; returns its width (and only
    measures it when img is None)."""
    start = x
    for wave, colour in WAVE_COLOURS.items():
        if img is not None:
            raster.draw_text(img, wave, x, baseline, size_px, colour)
        x += raster.text_width(wave, size_px) + 0.6 * size_px
    return x - start


def draw_overlay(img: np.ndarray, paper: Paper, panels: list[Panel], signal: np.ndarray,
                 measurements: dict, text_x: float, text_top: float,
                 title: str | None = None, size_px: int | None = None,
                 compact: bool = False) -> None:
    """Fiducials on every panel; the title, the global measurements and a colour legend as
    text from (text_x, text_top), in place, wrapped to the page width. `compact` packs the
    text into at most MAX_COMPACT_LINES lines (for a page with little margin)."""
    size_px = size_px or paper.font_px
    fiducial_marks(img, paper, panels, np.nan_to_num(np.asarray(signal, np.float64)),
                   measurements.get("fiducials") or {})
    lines = ([title] if title else []) + interval_lines(measurements)
    if compact and len(lines) > 2:
        half = len(lines) // 2
        lines = ["     ".join(lines[:half]), "     ".join(lines[half:])]
    room = img.shape[1] - text_x - 2 * size_px
    lines = [part for line in lines for part in raster.wrap_text(line, size_px, room)]
    if compact and len(lines) > MAX_COMPACT_LINES:
        lines = lines[:MAX_COMPACT_LINES - 1] + [lines[MAX_COMPACT_LINES - 1] + " ..."]
    gap = 1.5 * size_px
    legend_px = gap + legend(None, 0, 0, size_px)
    if raster.text_width(lines[-1], size_px) + legend_px > room:
        lines.append("")                                   # the legend gets a line of its own
    baseline, end = text_block(img, lines, text_x, text_top, size_px, room_after=legend_px)[-1]
    legend(img, end + gap, baseline, size_px)
