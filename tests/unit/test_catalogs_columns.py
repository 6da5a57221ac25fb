"""UCD guesses for columns that came without one (issue 17, item 9): magnitudes stay ``phot.mag``;
errors, colours, distance moduli, extinctions and reddenings, all in ``mag`` too, do not."""

from __future__ import annotations

import pytest

from platform_lib.catalogs._columns import infer_ucd


@pytest.mark.parametrize("name, ucd", [
    ("Vmag", "phot.mag;em.opt.V"), ("Jmag", "phot.mag;em.IR.J"), ("Ksmag", "phot.mag;em.IR.K"),
    ("phot_g_mean_mag", "phot.mag"), ("mag", "phot.mag"),
])
def test_magnitudes_are_magnitudes(name, ucd):
    assert infer_ucd(name, "mag") == ucd


@pytest.mark.parametrize("name, ucd", [
    ("e_Vmag", "stat.error;phot.mag"), ("Vmag_err", "stat.error;phot.mag"), ("sigma_V", "stat.error;phot.mag"),
    ("errmag", "stat.error;phot.mag"),
    ("B-V", "phot.color;em.opt.B;em.opt.V"), ("V-I", "phot.color"), ("g_r", "phot.color"), ("colour", "phot.color"),
    ("DM", "phot.mag.distMod"), ("dist_mod", "phot.mag.distMod"), ("(m-M)0", "phot.mag.distMod"),
    ("Av", "phys.absorption;em.opt"), ("A_V", "phys.absorption;em.opt"), ("ext_g", "phys.absorption;em.opt"),
    ("E(B-V)", "phot.color.excess"), ("EBV", "phot.color.excess"), ("reddening", "phot.color.excess"),
])
def test_columns_in_mag_that_are_not_magnitudes(name, ucd):
    assert infer_ucd(name, "mag") == ucd
    assert not infer_ucd(name, "mag").startswith("phot.mag;") and infer_ucd(name, "mag") != "phot.mag"
