"""Unit tests of n-catalogue matching with NWAY probabilities (crossmatch._nway) on small known cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.table import Table

from platform_lib.crossmatch._bayes import MatchConfidenceError
from platform_lib.crossmatch._nway import nway_match

ARCSEC = 1 / 3600


def _cat(ra, dec, **cols):
    return Table({"ra": np.asarray(ra, float), "dec": np.asarray(dec, float), **cols})


def test_two_candidates_weights_follow_the_closed_form():
    # one primary source at (10, 0), two candidates 1" and 2" east, circular errors
    x = _cat([10.0], [0.0])
    o = _cat([10 + 1 * ARCSEC, 10 + 2 * ARCSEC], [0.0, 0.0])
    s1, s2, f, area = 0.5, 0.7, 0.8, 0.01 * u.deg**2
    t = nway_match(x, o, radius=5 * u.arcsec, errors=[s1 * u.arcsec, s2 * u.arcsec], area=area, completeness=f)
    assert len(t) == 2
    nu = 2 / area.to_value(u.sr)
    s = (s1**2 + s2**2) * (np.pi / 180 / 3600) ** 2
    w = [f / (4 * np.pi * nu) * 2 / s * np.exp(-((d * np.pi / 180 / 3600) ** 2) / (2 * s)) for d in (1, 2)]
    w0 = 1 - f
    row = {int(j): k for k, j in enumerate(t["idx_cat1"])}
    for j in (0, 1):
        assert t["p_i"][row[j]] == pytest.approx(w[j] / sum(w), rel=1e-6)
        assert t["p_any"][row[j]] == pytest.approx(sum(w) / (w0 + sum(w)), rel=1e-6)
        assert t["p_match"][row[j]] == pytest.approx(w[j] / (w0 + sum(w)), rel=1e-6)
        assert t["sep_cat1"][row[j]] == pytest.approx(j + 1, rel=1e-6)
    assert bool(t["match_flag"][row[0]]) and not bool(t["match_flag"][row[1]])


def test_combinations_are_enumerated_per_primary():
    # primary 0 has 2 candidates in A and 3 in B: (2+1)*(3+1)-1 = 11 rows; primary 1 has none
    x = _cat([50.0, 51.0], [10.0, 10.0])
    a = _cat(50 + np.array([0.1, 0.5]) * ARCSEC, [10.0, 10.0])
    b = _cat(np.full(3, 50.0), 10 + np.array([0.2, -0.3, 0.9]) * ARCSEC)
    t = nway_match(x, a, b, radius=3 * u.arcsec, errors=[0.3 * u.arcsec] * 3, area=1 * u.deg**2,
                   completeness=[0.5, 0.5], names=["x", "a", "b"])
    assert len(t) == 11
    assert set(t["idx_x"]) == {0}
    combos = {(int(i), int(j)) for i, j in zip(t["idx_a"], t["idx_b"])}
    assert combos == {(i, j) for i in (-1, 0, 1) for j in (-1, 0, 1, 2)} - {(-1, -1)}
    assert np.sum(t["p_i"]) == pytest.approx(1.0)
    assert set(t["ncat"]) == {2, 3}
    assert np.all(np.isnan(t["sep_a"][t["idx_a"] < 0]))
    # with full completeness "no counterpart" is impossible: p_any = 1
    full = nway_match(x, a, b, radius=3 * u.arcsec, errors=[0.3 * u.arcsec] * 3, area=1 * u.deg**2,
                      completeness=1.0)
    assert np.all(full["p_any"] == 1.0)


def test_three_way_bayes_factor_prefers_the_consistent_triplet():
    x = _cat([120.0], [-30.0])
    cosd = np.cos(np.radians(-30))
    a = _cat(120 + np.array([0.2, -1.5]) * ARCSEC / cosd, [-30.0, -30.0])
    b = _cat(120 + np.array([0.25, -1.4]) * ARCSEC / cosd, [-30.0, -30.0])
    t = nway_match(x, a, b, radius=4 * u.arcsec, errors=[0.3 * u.arcsec] * 3, area=0.1 * u.deg**2,
                   completeness=[0.9, 0.9])
    best = t[t["match_flag"]][0]
    assert (best["idx_cat1"], best["idx_cat2"]) == (0, 0)
    assert best["p_i"] > 0.9


def test_inputs_as_dataframes_skycoords_and_ellipse_columns():
    x = pd.DataFrame({"RAJ2000": [10.0], "DEJ2000": [0.0]})
    o = Table({"RAJ2000": [10 + 0.5 * ARCSEC], "DEJ2000": [0.0], "a": [1.0], "b": [0.5], "pa": [90.0]})
    o["a"].unit = o["b"].unit = u.arcsec
    o["pa"].unit = u.deg
    t = nway_match(x, o, radius=5 * u.arcsec, errors=[0.3 * u.arcsec, ("a", "b", "pa")], area=1 * u.deg**2,
                   lon="RAJ2000", lat="DEJ2000")
    assert len(t) == 1 and t["p_i"][0] == 1.0
    sc = SkyCoord([10.0] * u.deg, [0.0] * u.deg)
    t2 = nway_match(sc, SkyCoord([10 + 0.5 * ARCSEC] * u.deg, [0.0] * u.deg), radius=5 * u.arcsec,
                    errors=[0.3 * u.arcsec, 0.3 * u.arcsec], area=1 * u.deg**2)
    assert len(t2) == 1


def test_primary_across_ra_zero():
    x = _cat([359.99999], [0.0])
    o = _cat([0.00001 + 0.0], [0.0])
    t = nway_match(x, o, radius=1 * u.arcsec, errors=[0.1 * u.arcsec, 0.1 * u.arcsec], area=1 * u.deg**2)
    assert len(t) == 1 and t["sep_cat1"][0] == pytest.approx(0.072, rel=1e-3)


@pytest.mark.parametrize(
    "kwargs,code",
    [
        ({"radius": 5.0}, "radius-without-units"),
        ({"radius": -1 * u.arcsec}, "bad-radius"),
        ({"radius": 5 * u.m}, "radius-without-units"),
        ({"errors": [0.3 * u.arcsec]}, "bad-errors"),
        ({"errors": [0.3, 0.3 * u.arcsec]}, "error-without-units"),
        ({"errors": [0.3 * u.arcsec, "nocol"]}, "missing-column"),
        ({"errors": [0.3 * u.arcsec, "e"]}, "error-without-units"),
        ({"errors": [0.3 * u.arcsec, -1 * u.arcsec]}, "error-not-positive"),
        ({"names": ["x", "x"]}, "bad-names"),
        ({"completeness": 0.0}, "bad-prior"),
        ({"area": 2.0}, "area-without-units"),
        ({"lon": "RA"}, "missing-column"),
        ({"max_combinations": 1}, "too-many-combinations"),
    ],
)
def test_bad_input_is_clear(kwargs, code):
    x = _cat([10.0], [0.0])
    o = _cat([10.0, 10 + ARCSEC], [0.0, 0.0], e=[0.1, 0.1])
    args = {"radius": 5 * u.arcsec, "errors": [0.3 * u.arcsec, 0.3 * u.arcsec], "area": 1 * u.deg**2}
    args.update(kwargs)
    with pytest.raises(MatchConfidenceError) as info:
        nway_match(x, o, **args)
    assert info.value.code == code


def test_a_coordinate_column_that_is_not_an_angle_is_named():
    """A lon/lat column with a unit that is not an angle (here magnitudes) was an astropy
    UnitConversionError from deep inside; now a MatchConfidenceError naming the column and its unit."""
    bad = _cat([10.0], [0.0])
    bad["ra"].unit = u.mag
    with pytest.raises(MatchConfidenceError, match="'ra'.*unit mag, not an angle") as info:
        nway_match(bad, _cat([10.0], [0.0]), radius=1 * u.arcsec, errors=[1 * u.arcsec, 1 * u.arcsec],
                   area=1 * u.deg**2)
    assert info.value.code == "bad-column"


def test_positions_as_text_or_masked_read_as_every_package_reads_them():
    """Sexagesimal text positions were 'not numeric' here while crossmatch read them; a masked position was
    matched at the value under the mask. Both are read by ``platform_lib.catalogs.position_degrees`` now."""
    from astropy.table import MaskedColumn

    x = Table({"ra": ["00 40 00"], "dec": ["+00 00 00"]})  # 10 deg, 0 deg
    got = nway_match(x, _cat([10 + ARCSEC], [0.0]), radius=5 * u.arcsec, errors=[1 * u.arcsec, 1 * u.arcsec],
                     area=1 * u.deg**2)
    assert len(got) == 1 and got["p_any"][0] > 0.5
    masked = Table({"ra": MaskedColumn([10.0, 0.0], mask=[False, True]), "dec": [0.0, 0.0]})
    with pytest.raises(MatchConfidenceError, match="NaN"):
        nway_match(masked, _cat([10.0], [0.0]), radius=5 * u.arcsec, errors=[1 * u.arcsec, 1 * u.arcsec],
                   area=1 * u.deg**2)


def test_nan_coordinates_are_rejected():
    with pytest.raises(MatchConfidenceError, match="NaN"):
        nway_match(_cat([np.nan], [0.0]), _cat([1.0], [0.0]), radius=1 * u.arcsec,
                   errors=[1 * u.arcsec, 1 * u.arcsec], area=1 * u.deg**2)
