"""The GEM training page, measured from its pixels.

Expected geometry comes from the paper conventions (200 dpi, 25 mm/s, 10 mm/mV) and from
ECG-image-kit's layout (page = 11.176 s x 21.59 mV, rows 21.59/14 mV apart starting 1.5 rows
below the top, 0.4 s gap then a 0.2 s pulse before each 10 s trace), not from the module.
"""
from __future__ import annotations

import numpy as np
import pytest

from gem_core.leads import FS, N_SAMPLES, STANDARD_LEADS
from gem_core.render import render_page
from render_readback import PX_PER_MM, PX_PER_MV, PX_PER_S, ink, trace_position

ROW_PX = 21.59 / 14 * PX_PER_MV                       # 121.4
PULSE_X = 0.4 * PX_PER_S                              # 78.7
TRACE_X = 0.6 * PX_PER_S                              # 118.1
H, W = 1700, 2200


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each run of True."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def line_centres(profile: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """Centroid and peak darkness of each line in a 1-D darkness profile."""
    centres, peaks = [], []
    for a, b in runs(profile > floor):
        w = profile[a:b]
        centres.append(a + 0.5 + np.sum(np.arange(b - a) * w) / w.sum())
        peaks.append(w.max())
    return np.array(centres), np.array(peaks)


@pytest.fixture(scope="module")
def flat_page():
    return render_page(np.zeros((12, N_SAMPLES), np.float32))


@pytest.fixture(scope="module")
def sines():
    """Each lead a sine of its own frequency and phase, within +-0.55 mV (rows never touch)."""
    t = np.arange(N_SAMPLES) / FS
    k = np.arange(12)[:, None]
    sig = 0.45 * np.sin(2 * np.pi * (0.6 + 0.37 * k) * t + 0.9 * k) + 0.1 * np.sin(2 * np.pi * 7.3 * t + k)
    return sig.astype(np.float32)


def test_page_shape_and_colours(flat_page):
    assert flat_page.shape == (H, W, 3) and flat_page.dtype == np.uint8
    colours = {tuple(c) for c in flat_page[5:95:7, 5:2195:13].reshape(-1, 3)}
    assert (255, 0, 0) in colours                      # red 5 mm lines
    assert (255, 255, 255) in colours                  # paper


def test_grid_pitch_from_pixels(flat_page):
    g = 255.0 - flat_page[..., 1].astype(np.float64)   # grid darkness: red and pink lack green
    # Vertical lines: the top margin holds nothing but grid (and the frame at row 0).
    prof = g[5:95].mean(axis=0)
    x, peak = line_centres(prof - prof.min(), 8.0)
    x, peak = x[(x > 3) & (x < W - 3)], peak[(x > 3) & (x < W - 3)]
    k = np.round(x / PX_PER_MM)
    assert np.array_equal(k, np.arange(k[0], k[0] + k.size)), "a grid line is missing"
    assert np.abs(x - k * PX_PER_MM).max() <= 0.5       # anchored at the left edge, over the page
    major = peak > 0.6 * peak.max()
    assert np.all(k[major] % 5 == 0) and np.all(k[~major] % 5 != 0)   # 5 mm major boxes
    # Horizontal lines: left of the calibration pulses there is only grid.
    prof = g[:, 5:70].mean(axis=1)
    y, peak = line_centres(prof - prof.min(), 8.0)
    y, peak = y[(y > 3) & (y < H - 3)], peak[(y > 3) & (y < H - 3)]
    k = np.round((H - y) / PX_PER_MM)                   # anchored at the bottom edge
    assert np.array_equal(np.sort(k), np.arange(k.min(), k.max() + 1))
    assert np.abs((H - y) - k * PX_PER_MM).max() <= 0.5
    major = peak > 0.6 * peak.max()
    assert np.all(k[major] % 5 == 0) and np.all(k[~major] % 5 != 0)


def trace_baselines(page: np.ndarray) -> np.ndarray:
    """Rows of the 12 flat traces, found from the ink between the pulses and the end."""
    prof = ink(page)[:, 300:2000].mean(axis=1)
    y, _ = line_centres(prof, 20.0)
    return y[(y > 3) & (y < H - 3)]                     # not the frame


def test_rows_and_calibration_pulse_from_pixels(flat_page):
    base = trace_baselines(flat_page)
    assert base.size == 12
    np.testing.assert_allclose(base, (1.5 + np.arange(12)) * ROW_PX, atol=1.0)
    d = ink(flat_page)
    for b in base:
        r = int(round(b))
        # Pulse top: the flat stroke 10 mm above the baseline, across the pulse's middle.
        top_prof = d[r - 100:r - 50, int(PULSE_X) + 10:int(PULSE_X) + 30].mean(axis=1)
        top, _ = line_centres(top_prof, 20.0)
        assert top.size == 1
        height_mm = (b - (r - 100 + top[0])) / PX_PER_MM
        assert abs(height_mm - 10.0) <= 0.15, height_mm
        # Pulse width: its two vertical strokes, halfway up.
        mid_prof = d[r - 50:r - 30, int(PULSE_X) - 8:int(PULSE_X) + 50].mean(axis=0)
        edges, _ = line_centres(mid_prof, 20.0)
        assert edges.size == 2
        width_mm = (edges[1] - edges[0]) / PX_PER_MM
        assert abs(width_mm - 5.0) <= 0.15, width_mm      # 0.2 s at 25 mm/s
        assert abs(int(PULSE_X) - 8 + edges[0] - PULSE_X) <= 1.5


def test_known_signal_reads_back_in_every_row(sines):
    page = render_page(sines)
    base = (1.5 + np.arange(12)) * ROW_PX
    corr = np.zeros((12, 12))
    for row, b in enumerate(base):
        # After the pulse and clear of the lead name under the trace start; before the frame.
        cols, mv = trace_position(page, b, int(TRACE_X) + 60, W - 3)
        t = (cols + 0.5 - TRACE_X) / PX_PER_S            # s
        # 10 s per row: the trace ends 9.998 s after it starts (+ the pen's half width).
        span_s = (cols.max() + 1 - TRACE_X) / PX_PER_S
        assert abs(span_s - (N_SAMPLES - 1) / FS) < 0.03, span_s
        for lead in range(12):
            corr[row, lead] = np.corrcoef(mv, np.interp(t, np.arange(N_SAMPLES) / FS, sines[lead]))[0, 1]
        truth = np.interp(t, np.arange(N_SAMPLES) / FS, sines[row])
        slope = np.polyfit(truth, mv, 1)[0]
        assert abs(slope - 1.0) < 0.03, (STANDARD_LEADS[row], slope)     # 10 mm/mV
    assert np.all(np.diag(corr) > 0.98), np.diag(corr)
    # Row order: each row matches its own lead better than any other (I on top, V6 last).
    assert np.array_equal(corr.argmax(axis=1), np.arange(12))


def test_lead_names_are_printed_under_each_trace(flat_page, sines):
    """Every row has its name where ECG-image-kit writes it (text ending 0.7 mV below the
    trace at its start), and the names differ (I, II, III... are not the same glyphs)."""
    d = ink(flat_page)
    boxes = []
    for b in (1.5 + np.arange(12)) * ROW_PX:
        box = d[int(b + 0.25 * PX_PER_MV):int(b + 0.75 * PX_PER_MV), int(TRACE_X):int(TRACE_X) + 70]
        assert (box > 128).sum() > 30
        boxes.append(box > 128)
    widths = [np.flatnonzero(bx.any(axis=0)).max() for bx in boxes]
    assert widths[0] < widths[1] < widths[2]              # I, II, III


def test_non_finite_samples_draw_as_baseline_and_bad_shapes_are_refused(sines):
    bad = sines.copy()
    bad[3, 1000:1200] = np.nan
    bad[5, 10] = np.inf
    page = render_page(bad)
    assert page.shape == (H, W, 3)
    with pytest.raises(ValueError, match=r"\(12, 5000\)"):
        render_page(sines[:, :4000])
    with pytest.raises(ValueError):
        render_page(sines[:8])


def test_huge_amplitudes_stay_on_the_page():
    sig = np.zeros((12, N_SAMPLES), np.float32)
    sig[0, ::50] = 500.0                                  # 500 mV spikes far off the page
    sig[11, ::70] = -500.0
    page = render_page(sig)
    assert page.shape == (H, W, 3)
    d = ink(page)
    assert (d[:5] > 128).any() and (d[-5:] > 128).any()  # clipped at the edges, not wrapped


def test_page_matches_a_matplotlib_drawing_of_the_same_layout(shared_ecg):
    """ECG-image-kit's own recipe (matplotlib, gem_core.render.reference) and ours put the ink
    in the same places and give nearly the same model input."""
    from gem_core.prepare import load_prepared
    from gem_core.render import clip_preprocess
    from gem_core.render.reference import matplotlib_page

    sig = load_prepared(str(shared_ecg / "ptbxl" / "00001_lr")).signal
    ours, ref = render_page(sig), matplotlib_page(sig)
    assert ref.shape == ours.shape
    a, b = ink(ours) > 128, ink(ref) > 128

    def near(mask):                                        # within 1 px of the mask
        return np.logical_or.reduce([np.roll(mask, (dy, dx), (0, 1))
                                     for dy in (-1, 0, 1) for dx in (-1, 0, 1)])

    assert (b & near(a)).sum() / b.sum() > 0.97            # their ink lies on ours
    assert (a & near(b)).sum() / a.sum() > 0.97            # and ours on theirs
    # The paper's colour: same mean within 1 grey level per channel.
    assert np.abs(ours.reshape(-1, 3).mean(0) - ref.reshape(-1, 3).mean(0)).max() < 1.0
    x, y = clip_preprocess(ours), clip_preprocess(ref)
    assert np.corrcoef(x.ravel(), y.ravel())[0, 1] > 0.97
