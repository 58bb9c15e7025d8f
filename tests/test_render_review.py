"""Review pictures: the clinical layout, the measurement overlay, PNGs of the real records."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from gem_core.leads import FS, N_SAMPLES, STANDARD_LEADS
from gem_core.prepare import load_prepared
from gem_core.render import png_bytes, render_clinical, render_page, review_picture, save_png
from gem_core.render.clinical import GRID_ROWS, clinical_panels
from gem_core.render.overlay import WAVE_COLOURS, interval_lines
from gem_core.render.page import GEM_PAPER, gem_panels
from render_readback import PX_PER_S, ink, trace_position



def read_panel(img: np.ndarray, x0: float, n: int, baseline: float, halfspan: int = 55):
    """(time from the panel start in s, trace in mV) per pixel column over n samples from x0."""
    c0, c1 = int(x0) + 40, int(x0 + n * PX_PER_S / FS) - 6     # clear of labels and bars
    cols, mv = trace_position(img, baseline, c0, c1, halfspan)
    return (cols + 0.5 - x0) / PX_PER_S, mv


@pytest.fixture(scope="module")
def sines():
    t = np.arange(N_SAMPLES) / FS
    k = np.arange(12)[:, None]
    return (0.45 * np.sin(2 * np.pi * (0.8 + 0.41 * k) * t + 0.7 * k)).astype(np.float32)


@pytest.fixture(scope="module")
def synthetic_case():
    """A synthetic ECG with exact fiducials, and a Measurements-shaped dict from its truth."""
    from gem_core.synth import make_case

    case = make_case(np.random.default_rng(7), "normal", record_id="synth-normal")
    tr = case.truth
    measurements = {
        "global": {"heart_rate_bpm": tr["hr_bpm"], "rr_ms": tr["rr_ms"], "pr_ms": tr["pr_ms"],
                   "p_ms": tr["p_ms"], "qrs_ms": tr["qrs_ms"], "qt_ms": tr["qt_ms"],
                   "qtc_ms": tr["qtc_bazett_ms"], "qtc_method": "bazett",
                   "p_axis_deg": tr["p_axis_deg"], "qrs_axis_deg": tr["qrs_axis_deg"],
                   "t_axis_deg": tr["t_axis_deg"], "rhythm_regular": tr["rhythm_regular"]},
        "fiducials": tr["fiducials"],
        "findings": [{"code": "SINUS_RHYTHM", "label": "sinus rhythm"}],
    }
    return case, measurements


def test_clinical_layout_puts_each_lead_and_window_in_its_panel(sines):
    img = render_clinical(sines)
    assert img.shape == (1700, 2200, 3)
    panels = clinical_panels()
    assert len(panels) == 13
    # 3 x 4 in the printed order, each a consecutive 2.5 s window; lead II 10 s at the bottom.
    names = [[STANDARD_LEADS[p.lead] for p in panels[r * 4:(r + 1) * 4]] for r in range(3)]
    assert names == [list(r) for r in GRID_ROWS]
    assert [p.start for p in panels[:4]] == [0, 1250, 2500, 3750]
    assert STANDARD_LEADS[panels[12].lead] == "II" and panels[12].stop - panels[12].start == N_SAMPLES
    for p in panels:
        t, mv = read_panel(img, p.x0, p.stop - p.start, p.baseline)
        ts = (p.start + np.arange(p.stop - p.start)) / FS
        corr = [np.corrcoef(mv, np.interp(t + p.start / FS, ts, sines[k, p.start:p.stop]))[0, 1]
                for k in range(12)]
        assert corr[p.lead] > 0.98, (STANDARD_LEADS[p.lead], corr[p.lead])
        assert int(np.argmax(corr)) == p.lead
    # Columns are 2.5 s apart on paper, as 25 mm/s demands.
    assert np.allclose(np.diff([p.x0 for p in panels[:4]]), 2.5 * PX_PER_S)


def test_overlay_marks_fiducials_where_they_are(synthetic_case):
    case, m = synthetic_case
    plain = render_page(case.signal)
    img = review_picture(case.signal, "gem", m, title=case.record_id)
    assert not np.array_equal(img, plain)
    colour = np.array(WAVE_COLOURS["QRS"], np.int64)
    is_qrs = np.abs(img.astype(np.int64) - colour).sum(axis=2) < 60        # the QRS mark colour
    assert not (np.abs(plain.astype(np.int64) - colour).sum(axis=2) < 60).any()
    p = gem_panels()[1]                                                       # lead II
    band = is_qrs[int(p.baseline) - 80:int(p.baseline) + 80]
    marked = np.flatnonzero(band.any(axis=0))
    onsets = [s for s in m["fiducials"]["qrs_on"] if s is not None]
    offsets = [s for s in m["fiducials"]["qrs_off"] if s is not None]
    expected = p.x_of(GEM_PAPER, np.array(onsets + offsets))
    # Every QRS onset and offset has its tick within 1.5 px, and nothing else is green.
    assert all(np.abs(marked - x).min() <= 1.5 for x in expected)
    assert all(np.abs(expected - c).min() <= 2.5 for c in marked)


def test_interval_text_reports_the_global_measurements(synthetic_case):
    _, m = synthetic_case
    lines = interval_lines(m)
    g = m["global"]
    text = " | ".join(lines)
    assert f"HR {g['heart_rate_bpm']:.0f} bpm" in text
    assert f"PR {g['pr_ms']:.0f} ms" in text and f"QRS {g['qrs_ms']:.0f} ms" in text
    assert f"QTc {g['qtc_ms']:.0f} ms (Bazett)" in text
    assert "Findings: sinus rhythm" in text
    missing = interval_lines({"global": {**g, "pr_ms": None, "rhythm_regular": None}})
    assert "PR n/a" in missing[0] and "rhythm n/a" in missing[1]


def test_overlay_through_the_measurement_stage(synthetic_case, artifacts_dir):
    measure = pytest.importorskip("gem_core.measure").measure_ecg
    case, _ = synthetic_case
    m = measure(case.signal, fs=FS).to_dict()
    img = review_picture(case.signal, "clinical", m, title=case.record_id)
    save_png(img, artifacts_dir / "render_synth_normal_clinical_overlay.png")
    colour = np.array(WAVE_COLOURS["R"], np.int64)
    is_r = np.abs(img.astype(np.int64) - colour).sum(axis=2) < 60
    strip = clinical_panels()[12]                                            # lead II, 10 s
    band = is_r[int(strip.baseline) - 200:int(strip.baseline) + 20]
    cols = np.flatnonzero(band.any(axis=0))
    r_x = strip.x_of(GEM_PAPER, np.array(m["fiducials"]["r_peaks"]))
    assert len(m["fiducials"]["r_peaks"]) >= 4
    assert all(np.abs(cols - x).min() <= 1.5 for x in r_x)                  # a dot on every R


def test_png_is_lossless_and_readable(sines):
    img = render_page(sines)
    back = np.asarray(Image.open(io.BytesIO(png_bytes(img))).convert("RGB"))
    assert np.array_equal(back, img)
    with pytest.raises(ValueError):
        png_bytes(img[..., 0])


@pytest.mark.parametrize("uri", ["ptb/s0010_re", "ptbxl/00001_lr"])
def test_real_records_render_like_ecg_paper(shared_ecg, artifacts_dir, uri):
    ecg = load_prepared(str(shared_ecg / uri))
    for layout in ("gem", "clinical"):
        img = review_picture(ecg.signal, layout, title=ecg.record_id if layout == "clinical" else None)
        path = save_png(img, artifacts_dir / f"render_{ecg.record_id}_{layout}.png")
        assert np.array_equal(np.asarray(Image.open(path).convert("RGB")), img)
        # Paper: about half white, a third pink 1 mm lines, 5% red 5 mm lines; a few percent
        # of the pixels are black trace.
        r, g = img[..., 0].astype(int), img[..., 1].astype(int)
        assert 0.4 < ((r > 250) & (g > 250)).mean() < 0.6
        assert 0.25 < ((r >= 250) & (g >= 200) & (g < 250)).mean() < 0.45
        assert 0.04 < ((r > 200) & (g < 100)).mean() < 0.08
        assert 0.005 < (ink(img) > 128).mean() < 0.08
    # The GEM page of a real record reads back lead by lead (II here) from its row.
    page = render_page(ecg.signal)
    p = gem_panels()[1]
    t, mv = read_panel(page, p.x0, N_SAMPLES, p.baseline, halfspan=60)
    truth = np.interp(t, np.arange(N_SAMPLES) / FS, ecg.signal[1])
    ok = np.abs(truth) < 0.7                                                  # within the row band
    assert np.corrcoef(mv[ok], truth[ok])[0, 1] > 0.9
