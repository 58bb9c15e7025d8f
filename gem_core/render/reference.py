"""The GEM page drawn the straightforward way, with matplotlib, as ECG-image-kit draws it.

A reference, not a renderer: tests compare `render_page` with it and `bench/render.py`
times it as the baseline (about 1 s a page here, against about 10 ms). It uses
ECG-image-kit's own recipe: an Agg figure the size of the page whose axes span it in
seconds and millivolts, `ax.grid` for the 0.2 s / 0.5 mV major and 5-per-major minor lines,
`ax.plot` for pulses and traces and `ax.text` for names. matplotlib is imported on call.
"""
from __future__ import annotations

import numpy as np

from gem_core.leads import FS, STANDARD_LEADS


def matplotlib_figure(signal: np.ndarray):
    """A matplotlib Figure of the GEM page of a (12, 5000) mV signal (close it after use)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import AutoMinorLocator

    x_max, y_max = 11 * 25.4 / 25, 8.5 * 25.4 / 10          # the page in s and in mV
    fig, ax = plt.subplots(figsize=(11, 8.5), dpi=200)
    fig.subplots_adjust(left=0, right=1, bottom=0, top=1, hspace=0, wspace=0)
    ax.set_xticks(np.arange(0, x_max, 0.2))
    ax.set_yticks(np.arange(0, y_max, 0.5))
    ax.minorticks_on()
    ax.xaxis.set_minor_locator(AutoMinorLocator(5))
    ax.grid(which="major", linestyle="-", linewidth=0.5, color=(1, 0, 0))
    ax.grid(which="minor", linestyle="-", linewidth=0.5, color=(0.996, 0.8745, 0.8588))
    ax.set_xlim(0, x_max)
    ax.set_ylim(0, y_max)
    ax.tick_params(axis="both", colors="white")
    row = y_max / (len(STANDARD_LEADS) + 2)
    t = np.arange(signal.shape[1]) / FS
    pulse_t = np.arange(104) / 500
    pulse = np.r_[0, 0, np.ones(100), 0, 0]
    for i, name in enumerate(STANDARD_LEADS):
        y0 = y_max - (1.5 + i) * row
        ax.plot(pulse_t + 0.4, pulse + y0, linewidth=1.125, color="k")
        ax.plot(t + 0.6, signal[i] + y0, linewidth=0.75, color="k")
        ax.text(0.6, y0 - 0.7, name, fontsize=11)
    ax.text(2, 0.5, "25mm/s", fontsize=11)
    ax.text(4, 0.5, "10mm/mV", fontsize=11)
    return fig


def matplotlib_page(signal: np.ndarray) -> np.ndarray:
    """(1700, 2200, 3) uint8 RGB of `matplotlib_figure`."""
    import matplotlib.pyplot as plt

    fig = matplotlib_figure(signal)
    fig.canvas.draw()
    page = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return page


def matplotlib_png(signal: np.ndarray) -> bytes:
    """`matplotlib_figure` saved as PNG by matplotlib."""
    import io

    import matplotlib.pyplot as plt

    fig = matplotlib_figure(signal)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=200)
    plt.close(fig)
    return buf.getvalue()
