"""Credible areas below the densest pixel's probability (issue 17, item 8), and areas/membership against mocpy.

A sharply peaked map (a Gaussian a fraction of a pixel wide, as a Fermi GRB map at small levels)
has levels below its densest pixel's probability: their area is part of that pixel (level divided by
its density), never 0. Random maps are checked against mocpy's independent credible-region MOC.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from astropy import units as u
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from platform_lib.skymap import SkyMap, SkymapWarning

FULL_SKY = 4 * 180**2 / np.pi


def _flat_map(order: int, prob: np.ndarray) -> SkyMap:
    npix = 12 * 4**order
    uniq = 4 * 4**order + np.arange(npix)
    area = 4 * np.pi / npix
    return SkyMap(uniq=uniq, probdensity=prob / prob.sum() / area)


def _peaked(order=4, peak=0.3):
    npix = 12 * 4**order
    prob = np.full(npix, (1 - peak) / (npix - 1))
    prob[100] = peak
    return _flat_map(order, prob)


def test_area_below_the_densest_pixel_is_a_part_of_it():
    m = _peaked(order=4, peak=0.3)
    pixel_deg2 = FULL_SKY / (12 * 4**4)
    for level in (0.01, 0.05, 0.2, 0.3):
        assert m.credible_area(level).to_value(u.deg**2) == pytest.approx(level / 0.3 * pixel_deg2, rel=1e-12)
    assert m.credible_area(0.01).value > 0


def test_credible_moc_below_the_densest_pixel_warns_naming_the_level():
    m = _peaked()
    with pytest.warns(SkymapWarning, match=r"0\.05 credible region"):
        moc = m.credible_moc(0.05)
    assert moc.sky_fraction == pytest.approx(1 / (12 * 4**4))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), order=st.integers(1, 4), level=st.floats(0.05, 0.99))
def test_areas_and_membership_agree_with_mocpy(seed, order, level):
    """mocpy's MOC of the ``level`` region (cumulative from the densest pixel) against ours."""
    from mocpy import MOC

    rng = np.random.default_rng(seed)
    npix = 12 * 4**order
    prob = rng.random(npix) ** 4  # skewed, all distinct
    m = _flat_map(order, prob)
    uniq = (4 * 4**order + np.arange(npix)).astype(np.uint64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = MOC.from_valued_healpix_cells(uniq, m.probability, order, cumul_from=0.0, cumul_to=level)
        ours = m.credible_moc(level)
    # Membership: the same pixels, except at most the one pixel where the level falls.
    diff = ours.symmetric_difference(ref)
    assert diff.sky_fraction <= 1 / npix + 1e-12
    # Area: ours interpolates inside the pixel where the level falls, so it lies between the two MOCs'.
    area = m.credible_area(level).to_value(u.deg**2)
    lo = min(ours.sky_fraction, ref.sky_fraction) * FULL_SKY
    hi = max(ours.sky_fraction, ref.sky_fraction, ours.union(ref).sky_fraction) * FULL_SKY
    assert lo - 1e-9 <= area <= hi + FULL_SKY / npix + 1e-9


@pytest.mark.parametrize("order", ["increasing", "shuffled"])
def test_a_map_with_a_repeated_pixel_is_refused_in_any_order(tmp_path, order):
    """Duplicate UNIQ pixels are refused whether the file lists them sorted or not (the check is an O(n)
    pass on sorted pixels, so a 12.6-million-pixel public alert map reads in seconds, not 20 s)."""
    from astropy.table import Table

    from platform_lib.skymap import SkymapFormatError, read_skymap

    uniq = 4 * 4**2 + np.arange(192, dtype=np.int64)  # a full order-2 map
    dens = np.full(192, 1 / (4 * np.pi))
    ok = tmp_path / "ok.fits"
    Table({"UNIQ": uniq, "PROBDENSITY": dens}).write(ok)
    assert read_skymap(ok).uniq.size == 192
    bad_uniq = uniq.copy()
    bad_uniq[5] = bad_uniq[4]
    if order == "shuffled":
        bad_uniq = np.random.default_rng(0).permutation(bad_uniq)
    bad = tmp_path / "bad.fits"
    Table({"UNIQ": bad_uniq, "PROBDENSITY": dens}).write(bad)
    with pytest.raises(SkymapFormatError, match="duplicate UNIQ"):
        read_skymap(bad, normalize=True)
