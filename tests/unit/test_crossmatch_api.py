"""The public crossmatch(): tables in, rows out; modes, suffixes, epochs, probabilities, bad input."""

from __future__ import annotations

import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
import pandas as pd
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import Table
from astropy.time import Time

from brute_force import separation_arcsec  # tests/support/: Vincenty's formula, not the engine's haversine

from platform_lib.crossmatch import (
    CrossmatchInputError,
    DroppedRowsWarning,
    crossmatch,
    propagate,
)


def _cats(n=400, seed=3):
    rng = np.random.default_rng(seed)
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    left = Table({"ra": ra, "dec": dec, "id": np.arange(n), "mag": rng.uniform(10, 20, n)})
    # Two perturbed copies of every left source (different offsets), plus unrelated sources.
    ra2 = np.concatenate([ra + 0.2 / 3600, ra - 0.5 / 3600, rng.uniform(0, 360, n)]) % 360
    dec2 = np.concatenate([dec, dec, np.degrees(np.arcsin(rng.uniform(-1, 1, n)))])
    right = Table({"ra": ra2, "dec": dec2, "id": np.arange(3 * n) + 10_000})
    return left, right


def _brute(left, right, radius_arcsec, lc=("ra", "dec"), rc=("ra", "dec")):
    sep = separation_arcsec(np.asarray(left[lc[0]])[:, None], np.asarray(left[lc[1]])[:, None],
                            np.asarray(right[rc[0]])[None, :], np.asarray(right[rc[1]])[None, :])
    return sep


@pytest.mark.parametrize("kind", ["table", "pandas"])
def test_modes_against_brute_force(kind):
    left, right = _cats()
    lin, rin = (left, right) if kind == "table" else (left.to_pandas(), right.to_pandas())
    sep = _brute(left, right, 1.0)
    nearest = crossmatch(lin, rin, 1 * u.arcsec)
    every = crossmatch(lin, rin, 1 * u.arcsec, mode="all")
    two = crossmatch(lin, rin, 1 * u.arcsec, mode="k", k=2)
    expected_all = {(i, 10_000 + j) for i, j in zip(*np.nonzero(sep <= 1.0))}
    assert set(zip(np.asarray(every["id_1"]).tolist(), np.asarray(every["id_2"]).tolist())) == expected_all
    best = {(i, 10_000 + int(np.argmin(sep[i]))) for i in range(len(left)) if sep[i].min() <= 1.0}
    assert set(zip(np.asarray(nearest["id_1"]).tolist(), np.asarray(nearest["id_2"]).tolist())) == best
    assert len(two) == len(every) and len(nearest) == len(left)
    assert np.allclose(np.asarray(nearest["separation_arcsec"]), sep.min(axis=1), rtol=0, atol=1e-6)
    # Columns from both sides, clashing names suffixed, others kept.
    cols = list(nearest.colnames if kind == "table" else nearest.columns)
    assert cols == ["ra_1", "dec_1", "id_1", "mag", "ra_2", "dec_2", "id_2", "separation_arcsec"]
    if kind == "table":
        assert nearest["separation_arcsec"].unit == u.arcsec


def test_skycoord_column_and_quantity_columns():
    left, right = _cats(50)
    lt = Table({"pos": SkyCoord(left["ra"] * u.deg, left["dec"] * u.deg), "id": left["id"]})
    rt = Table({"lon": (right["ra"] * u.deg).to(u.rad), "lat": (right["dec"] * u.deg).to(u.rad),
                "id": right["id"]})
    out = crossmatch(lt, rt, 1 * u.arcsec, left_coords="pos", right_coords=("lon", "lat"))
    assert len(out) == 50 and (np.asarray(out["id_2"]) == np.asarray(out["id_1"]) + 10_000).all()


def test_bad_radius():
    left, right = _cats(10)
    with pytest.raises(TypeError, match="Quantity"):
        crossmatch(left, right, 1.0)
    for bad in (0 * u.arcsec, -2 * u.arcsec):
        with pytest.raises(ValueError, match="positive"):
            crossmatch(left, right, bad)
    with pytest.raises(TypeError, match="angle"):
        crossmatch(left, right, 3 * u.s)


def test_missing_and_mistyped_columns_list_available_ones():
    left, right = _cats(10)
    with pytest.raises(CrossmatchInputError, match="available columns: ra, dec, id, mag") as err:
        crossmatch(left, right, 1 * u.arcsec, left_coords=("RA", "dec"))
    assert err.value.code == "missing-column" and err.value.available == ["ra", "dec", "id", "mag"]
    bad = right.to_pandas()
    bad["ra"] = bad["ra"].astype(str)  # decimal numbers as text are degrees, as ingest reads them (first9)
    assert len(crossmatch(left, bad, 1 * u.arcsec)) == len(crossmatch(left, right, 1 * u.arcsec))
    bad["ra"] = "north"
    with pytest.raises(CrossmatchInputError, match="cannot read 'north'") as err:
        crossmatch(left, bad, 1 * u.arcsec)
    assert err.value.code == "mistyped-column"
    with pytest.raises(CrossmatchInputError, match="not a number") as err:
        crossmatch(left, Table({"ra": np.ones(len(right), bool), "dec": right["dec"]}), 1 * u.arcsec)
    with pytest.raises(CrossmatchInputError, match="not an angle"):
        crossmatch(left, Table({"ra": right["ra"] * u.m, "dec": right["dec"]}), 1 * u.arcsec)
    with pytest.raises(CrossmatchInputError, match="mode"):
        crossmatch(left, right, 1 * u.arcsec, mode="bestest")
    with pytest.raises(CrossmatchInputError, match="positive integer k"):
        crossmatch(left, right, 1 * u.arcsec, mode="k")


def test_nan_coordinates_dropped_with_count():
    left, right = _cats(100)
    left["ra"][[3, 7, 11]] = np.nan
    right["dec"][[0]] = np.nan
    with pytest.warns(DroppedRowsWarning) as rec:
        out = crossmatch(left, right, 1 * u.arcsec)
    messages = sorted(str(w.message) for w in rec)
    assert messages[0].startswith("1 right rows") and messages[1].startswith("3 left rows")
    # badinput23: which columns and which rows (it said only how many), in the message and as fields
    assert messages[1] == ("3 left rows have NaN, missing or infinite coordinates (ra/dec) and were left out of "
                           "the crossmatch (they match nothing): rows 3, 7, 11 (from 0)"), messages[1]
    left_warning = next(w.message for w in rec if w.message.side == "left")
    assert left_warning.rows == [3, 7, 11] and left_warning.columns == ("ra", "dec") and left_warning.count == 3
    ids = set(np.asarray(out["id_1"]).tolist())
    assert ids == set(range(100)) - {3, 7, 11}
    # Row 0's first copy is gone: it matches its second copy, and indices map back to the input rows.
    row0 = out[np.asarray(out["id_1"]) == 0]
    assert list(row0["id_2"]) == [10_000 + 100]


def test_mixed_frames_are_converted_in_memory():
    """A side in another frame is converted into the left's with astropy (issue 17: frames made explicit)."""
    left, right = _cats(10)
    expected = crossmatch(left, right, 1 * u.arcsec, mode="all")
    icrs = SkyCoord(right["ra"] * u.deg, right["dec"] * u.deg)
    for frame in ("galactic", "fk4", "fk5"):
        moved = icrs.transform_to(frame).spherical
        other = Table({"ra": moved.lon.deg, "dec": moved.lat.deg, "id": right["id"]})
        got = crossmatch(left, other, 1 * u.arcsec, mode="all", right_frame=frame)
        assert list(got["id_1"]) == list(expected["id_1"]) and list(got["id_2"]) == list(expected["id_2"])
        np.testing.assert_allclose(got["separation_arcsec"], expected["separation_arcsec"], atol=1e-6)
        assert np.array_equal(np.asarray(got["ra_2"]), np.asarray(other["ra"])[np.asarray(got["id_2"]) - 10_000])
    gal = Table({"pos": SkyCoord(left["ra"] * u.deg, left["dec"] * u.deg).galactic, "id": left["id"]})
    got = crossmatch(gal, right, 1 * u.arcsec, left_coords="pos", mode="all")
    assert list(got["id_2"]) == list(expected["id_2"])


def test_frames_contradicting_the_table_or_unknown_are_errors():
    left, right = _cats(10)
    right.meta["frame"] = "fk5"
    with pytest.raises(CrossmatchInputError, match="fk5") as err:
        crossmatch(left, right, 1 * u.arcsec, right_frame="galactic")
    assert err.value.code == "mixed-frames"
    with pytest.raises(CrossmatchInputError, match="unknown frame 'nonsense'"):
        crossmatch(left, _cats(10)[1], 1 * u.arcsec, right_frame="nonsense")


def test_unsupported_input_type():
    left, _ = _cats(5)
    with pytest.raises(CrossmatchInputError, match="astropy Table"):
        crossmatch(left, [1, 2, 3], 1 * u.arcsec)


def test_propagate_equals_astropy_apply_space_motion():
    rng = np.random.default_rng(0)
    n = 500
    ra = rng.uniform(0, 360, n)
    dec = rng.uniform(-89.9, 89.9, n)
    pmra = rng.normal(0, 300, n)
    pmdec = rng.normal(0, 300, n)
    t0, t1 = Time(2016.0, format="jyear"), Time(1991.25, format="jyear")
    c = SkyCoord(ra * u.deg, dec * u.deg, pm_ra_cosdec=pmra * u.mas / u.yr, pm_dec=pmdec * u.mas / u.yr,
                 obstime=t0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ErfaWarning about the missing distance
        ref = c.apply_space_motion(new_obstime=t1)
    lon, lat = propagate(ra, dec, pmra, pmdec, t0, t1)
    assert SkyCoord(lon * u.deg, lat * u.deg).separation(SkyCoord(ref.ra, ref.dec)).max() < 1 * u.uas
    moved = SkyCoord(lon * u.deg, lat * u.deg).separation(c).to_value(u.arcsec)
    assert moved.max() > 1.0  # the test does move sources


def test_epoch_propagation_before_matching():
    rng = np.random.default_rng(1)
    n = 200
    ra = rng.uniform(0, 360, n)
    dec = rng.uniform(-60, 60, n)
    pmra = rng.normal(0, 500, n)
    pmdec = rng.normal(0, 500, n)
    # The same stars observed at 2000 (left) and 2016 (right): up to ~10" apart.
    ra16, dec16 = propagate(ra, dec, pmra, pmdec, Time(2000.0, format="jyear"), Time(2016.0, format="jyear"))
    left = Table({"ra": ra, "dec": dec, "pmra": pmra, "pmdec": pmdec})
    right = Table({"ra": ra16, "dec": dec16})
    without = crossmatch(left, right, 0.1 * u.arcsec)
    with_pm = crossmatch(left, right, 0.1 * u.arcsec, left_pm=("pmra", "pmdec"), left_epoch=2000.0,
                         right_epoch=2016.0)
    assert len(without) < n // 2
    assert len(with_pm) == n and np.asarray(with_pm["separation_arcsec"]).max() < 1e-6


def test_probability_column_from_errors():
    left, right = _cats(200)
    out = crossmatch(left, right, 3 * u.arcsec, mode="all", probability=True,
                     left_errors=0.3 * u.arcsec, right_errors=0.3 * u.arcsec)
    p = np.asarray(out["match_probability"])
    assert ((p >= 0) & (p <= 1)).all()
    close = np.asarray(out["separation_arcsec"]) < 0.3
    assert p[close].mean() > p[~close].mean()
    with pytest.raises(CrossmatchInputError, match="left_errors"):
        crossmatch(left, right, 3 * u.arcsec, probability=True)


def test_pandas_index_is_not_used_as_row_numbers():
    left, right = _cats(30)
    lp = left.to_pandas()
    lp.index = np.arange(30)[::-1] * 7
    out = crossmatch(lp, right.to_pandas(), 1 * u.arcsec)
    assert isinstance(out, pd.DataFrame) and list(out["id_1"]) == list(range(30))


def test_masked_coordinates_count_as_missing():
    left, right = _cats(20)
    masked = Table(left, masked=True)
    masked["dec"].mask[[2, 5]] = True
    with pytest.warns(DroppedRowsWarning, match="^2 left rows"):
        out = crossmatch(masked, right, 1 * u.arcsec)
    assert set(np.asarray(out["id_1"]).tolist()) == set(range(20)) - {2, 5}


def _ellipses(n, rng):
    a = rng.uniform(0.3, 0.6, n) * u.arcsec
    return a, a * rng.uniform(0.3, 1.0, n), rng.uniform(0, 180, n) * u.deg


def test_elliptical_errors_through_crossmatch_equal_match_probability():
    from platform_lib.crossmatch import match_probability

    left, right = _cats(150)
    rng = np.random.default_rng(8)
    e1 = _ellipses(len(left), rng)
    e2 = (0.3 * u.arcsec, 0.2 * u.arcsec, 45 * u.deg)
    area = 1e-7 * u.sr  # crowded enough that the probabilities are not all 1
    out = crossmatch(left, right, 3 * u.arcsec, mode="all", probability=True, left_errors=e1, right_errors=e2,
                     area=area)
    i1 = np.asarray(out["id_1"])
    i2 = np.asarray(out["id_2"]) - 10_000
    ref = match_probability(np.asarray(left["ra"]), np.asarray(left["dec"]), np.asarray(right["ra"]),
                            np.asarray(right["dec"]), i1, i2, e1, e2, area=area).probability
    np.testing.assert_allclose(np.asarray(out["match_probability"]), ref, rtol=1e-12)
    assert ref.min() < 0.95 and ref.max() > 0.05
    circular = crossmatch(left, right, 3 * u.arcsec, mode="all", probability=True, left_errors=e1[0],
                          right_errors=0.3 * u.arcsec, area=area)
    assert not np.allclose(np.asarray(circular["match_probability"]), ref)  # the ellipse shape matters


def test_per_row_elliptical_errors_with_nan_rows():
    """Per-row ellipses are cut to the rows kept when NaN rows are dropped (used to fail: 50 vs 49)."""
    left, right = _cats(50)
    rng = np.random.default_rng(9)
    e1 = _ellipses(len(left), rng)
    left["ra"][7] = np.nan
    with pytest.warns(DroppedRowsWarning, match="^1 left rows"):
        out = crossmatch(left, right, 3 * u.arcsec, mode="all", probability=True, left_errors=e1,
                         right_errors=0.3 * u.arcsec)
    keep = np.arange(50) != 7
    ref = crossmatch(left[keep], right, 3 * u.arcsec, mode="all", probability=True,
                     left_errors=tuple(e[keep] for e in e1), right_errors=0.3 * u.arcsec)
    assert 7 not in set(np.asarray(out["id_1"]).tolist()) and len(out) == len(ref) > 0
    np.testing.assert_allclose(np.asarray(out["match_probability"]), np.asarray(ref["match_probability"]),
                               rtol=1e-12)
    # PositionalErrors with one row per source are cut the same way
    from platform_lib.crossmatch import PositionalErrors

    with pytest.warns(DroppedRowsWarning):
        again = crossmatch(left, right, 3 * u.arcsec, mode="all", probability=True,
                           left_errors=PositionalErrors.ellipse(*e1), right_errors=0.3 * u.arcsec)
    np.testing.assert_allclose(np.asarray(again["match_probability"]), np.asarray(ref["match_probability"]))


def test_known_area_and_densities_set_the_prior():
    from platform_lib.crossmatch import match_probability

    left, right = _cats(200)
    kw = dict(mode="all", probability=True, left_errors=0.3 * u.arcsec, right_errors=0.3 * u.arcsec)
    lon1, lat1 = np.asarray(left["ra"]), np.asarray(left["dec"])
    lon2, lat2 = np.asarray(right["ra"]), np.asarray(right["dec"])
    estimated = crossmatch(left, right, 3 * u.arcsec, **kw)
    for area in (0.01 * u.sr, (0.01 * u.sr).to(u.deg**2)):
        out = crossmatch(left, right, 3 * u.arcsec, area=area, **kw)
        i1, i2 = np.asarray(out["id_1"]), np.asarray(out["id_2"]) - 10_000
        ref = match_probability(lon1, lat1, lon2, lat2, i1, i2, 0.3 * u.arcsec, 0.3 * u.arcsec, area=0.01 * u.sr)
        np.testing.assert_allclose(np.asarray(out["match_probability"]), ref.probability, rtol=1e-9)
    # A small area means crowded catalogues: lower probabilities than the whole-sky estimate.
    assert np.asarray(out["match_probability"]).mean() < np.asarray(estimated["match_probability"]).mean()
    # Densities replace the counts: these equal the counts over 0.01 sr, so the same answer.
    dens = (len(left) / (0.01 * u.sr), (len(right) / (0.01 * u.sr)).to(u.deg**-2))
    same = crossmatch(left, right, 3 * u.arcsec, area=0.01 * u.sr, density=dens, **kw)
    np.testing.assert_allclose(np.asarray(same["match_probability"]), np.asarray(out["match_probability"]),
                               rtol=1e-9)
    denser = crossmatch(left, right, 3 * u.arcsec, area=0.01 * u.sr, density=(dens[0] * 100, dens[1] * 100), **kw)
    assert np.asarray(denser["match_probability"]).mean() < np.asarray(same["match_probability"]).mean()


@pytest.mark.parametrize(
    "kwargs,code",
    [
        (dict(area=3.0), "area-without-units"),
        (dict(area=3 * u.arcsec), "area-without-units"),
        (dict(area=-1 * u.deg**2), "bad-area"),
        (dict(density=(1 / u.deg**2,)), "density-without-units"),
        (dict(density=(1 / u.deg**2, 5.0)), "density-without-units"),
        (dict(density=(1 / u.deg**2, 0 / u.sr)), "bad-density"),
    ],
)
def test_bad_area_and_density(kwargs, code):
    left, right = _cats(10)
    with pytest.raises(CrossmatchInputError) as err:
        crossmatch(left, right, 1 * u.arcsec, probability=True, left_errors=0.3 * u.arcsec,
                   right_errors=0.3 * u.arcsec, **kwargs)
    assert err.value.code == code
    with pytest.raises(CrossmatchInputError, match="probability=True") as err:
        crossmatch(left, right, 1 * u.arcsec, **kwargs)
    assert err.value.code == "unused-argument"


def test_bad_latitudes_are_an_error():
    left, right = _cats(10)
    left["dec"][4] = 91.5
    with pytest.raises(CrossmatchInputError, match="latitudes out of") as err:
        crossmatch(left, right, 1 * u.arcsec)
    assert err.value.code == "bad-latitude" and err.value.value == 91.5
    rt = right.to_pandas()
    rt.loc[2, "dec"] = -300.0
    with pytest.raises(CrossmatchInputError, match="right latitudes") as err:
        crossmatch(_cats(10)[0], rt, 1 * u.arcsec)
    assert err.value.value == -300.0


def test_progress_callback_in_memory():
    left, right = _cats(20)
    seen = []
    out = crossmatch(left, right, 1 * u.arcsec, progress=lambda f, m: seen.append((f, m)))
    assert [f for f, _ in seen] == [0.0, 1.0] and f"{len(out)} pairs" in seen[-1][1]


def test_position_columns_are_found_as_ingest_finds_them():
    """A user's table with FITS-style RA/DEC, VizieR RAJ2000/DEJ2000 or only UCDs matches without naming
    them (it failed with "left table has no column 'ra'"), as astropy tables and as pandas frames."""
    left, right = _cats(50)
    expected = crossmatch(left, right, 1 * u.arcsec)
    fits_style = Table({"SRC": left["id"], "RA": left["ra"] * u.deg, "DEC": left["dec"] * u.deg})
    vizier = Table({"RAJ2000": right["ra"], "DEJ2000": right["dec"], "HIP": right["id"]})
    for a, b in ((fits_style, vizier), (fits_style.to_pandas(), vizier.to_pandas())):
        got = crossmatch(a, b, 1 * u.arcsec)
        assert list(got["SRC"]) == list(expected["id_1"]) and list(got["HIP"]) == list(expected["id_2"])
        assert np.allclose(got["separation_arcsec"], expected["separation_arcsec"])
    by_ucd = Table({"alpha": left["ra"], "delta_obs": left["dec"], "ra_err": np.full(len(left), 0.1)})
    by_ucd["alpha"].meta["ucd"] = "pos.eq.ra;meta.main"
    by_ucd["delta_obs"].meta["ucd"] = "pos.eq.dec;meta.main"
    assert len(crossmatch(by_ucd, vizier, 1 * u.arcsec)) == len(expected)
    # ra/dec, when a table has both, win over other guesses (what the default always meant)
    both = Table({"RA": np.zeros(len(left)), "DEC": np.zeros(len(left)), "ra": left["ra"], "dec": left["dec"]})
    assert len(crossmatch(both, right, 1 * u.arcsec)) == len(expected)


def test_sexagesimal_text_positions_match_as_ingest_reads_them():
    """first9: a user's CSV of "03 47 29.08", "+24 06 18.5" (RA/Dec as text) was refused as having "no position
    columns that could be recognised", naming the very columns RA and Dec; ingest reads such columns, and now
    crossmatch does too (RA in hours, Dec in degrees), found by name or given, as a Table or a DataFrame."""
    from astropy.io import ascii

    text = "name,RA,Dec\nAlcyone,03 47 29.08,+24 06 18.5\nAtlas,03:49:09.74,+24:03:12.3\nfar,12 00 00,-45 00 00\n"
    mine = ascii.read(text, format="csv")
    stars = Table({"HIP": [17702, 17847], "ra": [56.87115, 57.29059], "dec": [24.10514, 24.05342]})
    got = crossmatch(mine, stars, 1 * u.arcsec)
    assert list(got["name"]) == ["Alcyone", "Atlas"] and list(got["HIP"]) == [17702, 17847], got
    assert (got["separation_arcsec"] < 0.1 * u.arcsec).all()
    assert got["RA"].unit == u.deg and abs(got["RA"][0] - 56.87117) < 1e-4  # the positions, in degrees
    assert mine["RA"][0] == "03 47 29.08"  # the caller's table is left as it was
    frame = crossmatch(mine.to_pandas(), stars, 1 * u.arcsec, left_coords=("RA", "Dec"))
    assert list(frame["HIP"]) == [17702, 17847]
    mine["RA"][1] = "Atlas"  # not an angle: the column, the row and the value
    with pytest.raises(CrossmatchInputError, match=r"column 'RA', row 2: cannot read 'Atlas'") as err:
        crossmatch(mine, stars, 1 * u.arcsec)
    assert err.value.code == "mistyped-column"


def test_a_table_in_hours_matches_a_hats_catalogue_as_it_matches_in_memory(tmp_path):
    """first9: against a HATS catalogue (the touched-partitions path, which reads a Table through pandas and
    lost its units) a Table whose RA is in hours matched nothing, silently; in memory it matched."""
    from platform_lib.catalogs import write_hats

    rng = np.random.default_rng(1)
    stars = pd.DataFrame({"id": np.arange(200), "ra": rng.uniform(50, 60, 200), "dec": rng.uniform(20, 30, 200)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # hats/lsdb's own deprecations while writing
        write_hats(stars, tmp_path / "stars", name="stars", ra_column="ra", dec_column="dec", partition_rows=50)
    mine = Table({"name": [f"s{i}" for i in range(5)], "ra": stars["ra"][:5].to_numpy() / 15 * u.hourangle,
                  "dec": stars["dec"][:5].to_numpy() * u.deg})
    in_memory = crossmatch(mine, Table.from_pandas(stars), 1 * u.arcsec)
    touched = crossmatch(mine, str(tmp_path / "stars"), 1 * u.arcsec)
    assert list(in_memory["id"]) == list(touched["id"]) == [0, 1, 2, 3, 4]
    assert touched["ra_1"].unit == u.deg and mine["ra"].unit == u.hourangle  # the caller's table is unchanged
    # firsthour23: a text column with a missing value (OpenNGC's other_names, 'ο Per' among them) came back from
    # this path as objects holding pandas' NA, which no format wrote ("'NAType' object has no attribute 'dtype'"
    # for Parquet, "len() of unsized object" for VOTable): now text with its nulls masked, as in memory
    mine["other"] = Table.MaskedColumn(["ο Per", "", "b", "c", "d"], mask=[False, True, False, False, False])
    in_memory = crossmatch(mine, Table.from_pandas(stars), 1 * u.arcsec)
    touched = crossmatch(mine, str(tmp_path / "stars"), 1 * u.arcsec)
    assert touched["other"].dtype.kind == in_memory["other"].dtype.kind == "U"
    assert list(touched["other"].mask) == [False, True, False, False, False] and touched["other"][0] == "ο Per"
    for name, form in (("pairs.parquet", "parquet"), ("pairs.xml", "votable")):
        touched.write(tmp_path / name, format=form)
        assert list(Table.read(tmp_path / name, format=form)["other"].filled("")) == ["ο Per", "", "b", "c", "d"]


def test_a_table_without_recognisable_positions_names_its_columns():
    _, right = _cats(10)
    with pytest.raises(CrossmatchInputError, match="left_coords=") as err:
        crossmatch(Table({"x": [1.0], "y": [2.0]}), right, 1 * u.arcsec)
    assert err.value.code == "missing-column" and err.value.available == ["x", "y"]
    assert "available columns: x, y" in str(err.value)


def test_positions_in_every_form_ingest_reads_match_as_astropy_matches_them(tmp_path):
    """real11: a table's positions that ingest reads were refused by crossmatch ("no position columns that could
    be recognised"), unless named and, for Galactic ones, given a frame: a VizieR table read by astropy
    (``RAh RAm RAs DE- DEd DEm DEs``), Galactic ``GLON``/``GLAT`` (or UCDs ``pos.galactic.lon/lat`` on odd
    names), RA/Dec in radians. Real stars (astropy's VizieR sample J/A+A/511/A56, Pancino+ 2010), each matched
    against astropy's own reading of the same positions moved 0.5" by astropy: the same star, astropy's
    separation to 1 mas; the CDS one again with its explanations saying B1950 (converted from FK4, as ingest
    converts), and the Galactic one against a HATS catalogue (the touched-partitions path)."""
    import astropy
    from astropy.coordinates import FK4
    from astropy.io import ascii

    from platform_lib.catalogs import write_hats

    vizier = Path(astropy.__file__).parent / "io" / "ascii" / "tests" / "data" / "vizier"
    cds = ascii.read(str(vizier / "table1.dat"), readme=str(vizier / "ReadMe"), format="cds")
    assert {"RAh", "RAm", "RAs", "DE-", "DEd", "DEm", "DEs"} <= set(cds.colnames) and len(cds) == 15
    text = [f"{h}h{m}m{s}s {sg}{d}d{dm}m{ds}s" for h, m, s, sg, d, dm, ds in
            zip(*(cds[c] for c in ("RAh", "RAm", "RAs", "DE-", "DEd", "DEm", "DEs")))]
    stars = SkyCoord(text)

    def moved(coords):
        pa = np.linspace(0, 330, len(coords)) * u.deg
        there = coords.directional_offset_by(pa, 0.5 * u.arcsec)
        return Table({"id": np.asarray(cds["Star"]), "ra": there.ra.deg, "dec": there.dec.deg}), \
            coords.separation(there)

    def check(got, expected_sep):
        assert list(got["Star"]) == list(got["id"]) == list(cds["Star"]), got
        assert np.abs(got["separation_arcsec"] - expected_sep.to(u.arcsec)).max() < 1e-3 * u.arcsec

    ref, sep = moved(stars)
    check(crossmatch(cds, ref, 1 * u.arcsec), sep)
    galactic = Table({"Star": cds["Star"], "GLON": stars.galactic.l.deg * u.deg,
                      "GLAT": stars.galactic.b.deg * u.deg})
    check(crossmatch(galactic, ref, 1 * u.arcsec), sep)
    check(crossmatch(galactic, ref, 1 * u.arcsec, left_coords=("GLON", "GLAT")), sep)  # named, no frame given
    odd = Table({"Star": cds["Star"], "l": stars.galactic.l.deg, "b": stars.galactic.b.deg})
    odd["l"].meta["ucd"], odd["b"].meta["ucd"] = "pos.galactic.lon", "pos.galactic.lat"
    check(crossmatch(odd, ref, 1 * u.arcsec), sep)
    radians = Table({"Star": cds["Star"], "RA": stars.ra.rad * u.rad, "DEC": stars.dec.rad * u.rad})
    check(crossmatch(radians, ref, 1 * u.arcsec), sep)
    b1950 = cds.copy()
    for name in ("RAh", "RAm", "RAs", "DE-", "DEd", "DEm", "DEs"):
        b1950[name].description = b1950[name].description.replace("J2000", "B1950")
    ref_b, sep_b = moved(SkyCoord(text, frame=FK4(equinox="B1950")).icrs)
    got = crossmatch(b1950, ref_b, 1 * u.arcsec)
    check(got, sep_b)
    assert "RA_ICRS" in got.colnames
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # hats/lsdb's own deprecations while writing
        write_hats(ref.to_pandas(), tmp_path / "ref", name="ref", ra_column="ra", dec_column="dec", partition_rows=5)
    check(Table(crossmatch(galactic, str(tmp_path / "ref"), 1 * u.arcsec)), sep)


def test_a_vizier_answer_in_b1950_is_matched_in_icrs():
    """real11: a real VizieR answer (astroquery's recorded ``viz.xml``) gives many catalogues' positions as
    VizieR's computed ``_RAB1950``/``_DEB1950`` ("Right ascension (FK4, Equinox=B1950.0)"); read as a job reads
    it and matched, they were taken as ICRS, about 0.7 deg off: no pair. Now converted from FK4 B1950 to ICRS
    as ingest converts them: each star matches astropy's conversion of it, to 1 mas; J2000 ones stay as
    they are, and a frame given by the call is obeyed."""
    from astropy.coordinates import FK4
    from astropy.io.votable import parse

    from platform_lib import jobs

    astroquery = pytest.importorskip("astroquery")
    path = Path(astroquery.__file__).parent / "vizier" / "tests" / "data" / "viz.xml"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the file's VOTable-spec chatter
        tables = [t.to_table(use_names_over_ids=True) for t in parse(str(path)).iter_tables()]
        as_a_job_reads_it = jobs.read_table(path, table="I_40_catalog")
    assert as_a_job_reads_it.colnames == next(t for t in tables if t.meta["ID"] == "I_40_catalog").colnames
    b1950 = [t for t in tables if "_RAB1950" in t.colnames and len(t)]
    assert len(b1950) >= 10
    for t in b1950:
        truth = SkyCoord(np.asarray(t["_RAB1950"]) * u.deg, np.asarray(t["_DEB1950"]) * u.deg,
                         frame=FK4(equinox="B1950")).icrs
        t["row"] = np.arange(len(t))  # a star may be listed twice at one position: every pair, each its own
        got = crossmatch(t, Table({"n": np.arange(len(t)), "ra": truth.ra.deg, "dec": truth.dec.deg}), 1 * u.arcsec,
                         mode="all")
        own = got[got["row"] == got["n"]]
        assert len(own) == len(t) and (own["separation_arcsec"] < 1e-3 * u.arcsec).all(), t.meta
        assert "FK4 B1950" in got["RA_ICRS"].description
    t = b1950[0]
    as_given = Table({"ra": np.asarray(t["_RAB1950"]), "dec": np.asarray(t["_DEB1950"])})
    assert len(crossmatch(t, as_given, 1 * u.arcsec, left_frame="icrs")) == len(t)  # the call's frame wins
    j2000 = next(t for t in tables if "_RAJ2000" in t.colnames and len(t))
    same = Table({"ra": np.asarray(j2000["_RAJ2000"]), "dec": np.asarray(j2000["_DEJ2000"])})
    assert (crossmatch(j2000, same, 1 * u.arcsec)["separation_arcsec"] == 0).all()


def test_a_file_name_given_as_a_catalogue_says_to_read_the_file_first(tmp_path, monkeypatch):
    """first11: a newcomer's crossmatch('mystars.fits', 'I/311', ...) with her uploaded file answered "Failed to
    read HATS at location mystars.fits", and with a misspelt file name "no table 'mystars.fits' in the
    registry": neither said that crossmatch takes a table and the file is to be read first."""
    from platform_lib.catalogs import CatalogNotFound, Registry

    monkeypatch.chdir(tmp_path)
    Table({"ra": [56.75], "dec": [24.1]}).write("mystars.fits")
    with pytest.raises(CatalogNotFound, match=r"'mystars.fits' is a file, not a catalogue: .*Table.read"):
        crossmatch("mystars.fits", "mystars.fits", 2 * u.arcsec)
    registry = Registry(tmp_path / "registry.sqlite")
    from platform_lib.catalogs import cone_search

    missing = r"'my_stars.csv': no such file \(.*my_stars.csv\); no table .*Table.read"
    with pytest.raises(CatalogNotFound, match=missing):
        cone_search("my_stars.csv", SkyCoord(56.75, 24.1, unit="deg"), 1 * u.arcmin, registry=registry)
