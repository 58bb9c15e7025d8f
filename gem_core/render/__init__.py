"""Rendering: the 12-lead page GEM was trained on, its CLIP model input, review pictures.

- `render_page(signal)`: the GEM training page, (1700, 2200, 3) uint8 (page.py).
- `model_input(signal, exact=False, size=336)`: (3, size, size) float32 CLIP input
  (clip_input.py).
- `review_picture(signal, layout, measurements, title)`: 'gem' or 'clinical' page, with
  fiducials and intervals when given a Measurements dict (review.py, clinical.py, overlay.py);
  `review_png(signal, measurements, layout, title)`: the same as PNG bytes.
- `png_bytes(img)` / `save_png(img, path)`: fast PNG encoding (png.py).
Nothing here imports matplotlib; torch is imported only by the fast model-input route.
"""
from gem_core.render.clinical import render_clinical
from gem_core.render.clip_input import clip_preprocess, model_input
from gem_core.render.page import render_page
from gem_core.render.png import png_bytes, save_png
from gem_core.render.review import LAYOUTS, review_picture, review_png

__all__ = ["render_page", "model_input", "clip_preprocess", "render_clinical", "review_picture",
           "review_png", "LAYOUTS", "png_bytes", "save_png"]
