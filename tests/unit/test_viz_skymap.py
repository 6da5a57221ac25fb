"""``plot_skymap`` of a multi-order ``SkyMap`` draws the same picture as of its flat form.

A SkyMap is sampled through its own pixel lookup (``viz._static._MultiOrderValues``) rather than
flattened to its finest order; the image, the credible contours and the areas in the title must be
those of the flat array of the same map.
"""

from __future__ import annotations

import numpy as np
import pytest
from astropy import units as u
from astropy.table import Table

from platform_lib import viz
from platform_lib.skymap import read_skymap


def _map_with_detail(order: int = 6):
    """A flat NESTED map: a coarse random map (order 2) with finer structure in base pixel 4."""
    rng = np.random.default_rng(7)
    coarse = np.repeat(rng.random(12 * 4**2) ** 3, 4 ** (order - 2))
    npix = 12 * 4**order
    fine = np.arange(npix) // 4**order == 4
    coarse[fine] = rng.random(fine.sum()) * 5
    prob = coarse / coarse.sum()
    t = Table({"PROB": prob})
    t.meta.update(ORDERING="NESTED", NSIDE=2**order)
    return prob, read_skymap(t)


@pytest.mark.parametrize("zoom", [False, True])
def test_a_multi_order_map_is_drawn_as_its_flat_form(zoom):
    prob, skymap = _map_with_detail()
    assert skymap.uniq.size < prob.size / 2 and skymap.max_order == 6
    options = dict(center="peak", radius=15 * u.deg) if zoom else {}
    pictures = [viz.plot_skymap(m, **options) for m in (skymap, prob)]
    (ax_mo, ax_flat) = (fig.axes[0] for fig in pictures)
    assert ax_mo.get_title() == ax_flat.get_title()
    img_mo, img_flat = (np.asarray(ax.images[0].get_array() if zoom else ax.collections[0].get_array())
                        for ax in (ax_mo, ax_flat))
    np.testing.assert_allclose(img_mo, img_flat, rtol=1e-12)
    contours = [[c for c in ax.collections if hasattr(c, "levels")][0] for ax in (ax_mo, ax_flat)]
    for a, b in zip(contours[0].get_paths(), contours[1].get_paths(), strict=True):
        np.testing.assert_allclose(a.vertices, b.vertices, rtol=1e-9, atol=1e-9)
