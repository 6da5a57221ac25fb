"""What a reader sees of a figure's text labels: the grey levels of the rendered pixels in each label's box.

Owns :func:`label_contrast`. A test of "the label reads over the map" looks at the pixels matplotlib's Agg
renderer drew, not at the artist's settings (a halo's colour is a private attribute of its path effect, and
a setting can be there and still not show). On the path by tests/conftest.py (tests/support/); may import
numpy and matplotlib only.
"""

from __future__ import annotations

import numpy as np

__all__ = ["label_contrast"]


def label_contrast(fig, labels) -> list[tuple[str, float, float]]:
    """Draw ``fig`` with Agg and return, per text artist of ``labels``, ``(text, dark, light)``: the fractions
    of the pixels in its box darker than grey 80 (the letters) and lighter than grey 200 (what is around them)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())[..., :3].astype(float).mean(axis=-1)  # grey level 0..255
    height = pixels.shape[0]
    renderer = canvas.get_renderer()
    found = []
    for label in labels:
        box = label.get_window_extent(renderer)
        area = pixels[int(height - box.y1):int(np.ceil(height - box.y0)), int(box.x0):int(np.ceil(box.x1))]
        found.append((label.get_text(), float((area < 80).mean()), float((area > 200).mean())))
    return found
