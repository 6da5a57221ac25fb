"""Tables in another frame are converted to ICRS at ingest, and the registry says so (issue 17, item 3).

Positions made here with astropy from known ICRS stars: FK4 B1950 in decimal degrees (FITS
``EQUINOX = 1950``), FK5 J1975 (ECSV metadata), Galactic l/b columns only; each must be found by a
1" cone at the star's ICRS position. Bad input: an unknown frame name and declinations that are not
declinations are refused, naming the table and column, with nothing left registered.
"""

from __future__ import annotations

import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import FK4, FK5, Galactic, SkyCoord
from astropy.table import Table

from platform_lib.catalogs import Registry, UnsupportedSource, cone_search, ingest


@pytest.fixture
def registry(tmp_path) -> Registry:
    return Registry(tmp_path / "catalogs" / "registry.sqlite")


def _stars(n=15, seed=3):
    rng = np.random.default_rng(seed)
    return SkyCoord(rng.uniform(0, 360, n) * u.deg, np.degrees(np.arcsin(rng.uniform(-0.95, 0.95, n))) * u.deg)


def _ingest(path, registry):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lsdb/pandas deprecation chatter
        return ingest(path, registry)


def _found_at_icrs(name, stars, registry):
    found = []
    for i, star in enumerate(stars):
        near = cone_search(name, star, 1 * u.arcsec, registry=registry)
        found.append(list(near["id"]) == [i])
    return found


def test_fk4_b1950_decimal_degrees_are_searched_in_icrs(registry, tmp_path):
    stars = _stars()
    b1950 = stars.transform_to(FK4(equinox="B1950"))
    t = Table({"id": np.arange(len(stars)), "ra": b1950.ra.deg, "dec": b1950.dec.deg})
    t.meta["EQUINOX"] = 1950.0
    t.write(tmp_path / "fk4.fits")
    info = _ingest(tmp_path / "fk4.fits", registry)
    table = registry.get(f"{info.name}/{info.tables[0]}")
    assert table.equinox == "ICRS" and (table.ra_column, table.dec_column) == ("RA_ICRS", "DE_ICRS")
    assert "FK4 B1950" in table.column("RA_ICRS").description
    assert all(_found_at_icrs(table.full_name, stars, registry))  # was 0 of 15: B1950 numbers searched as ICRS
    # The source columns are kept as they were.
    row = cone_search(table.full_name, stars[0], 1 * u.arcsec, registry=registry)
    assert row["ra"][0] == pytest.approx(b1950[0].ra.deg, abs=1e-12)


def test_fk5_other_equinox_is_precessed(registry, tmp_path):
    stars = _stars(seed=4)
    j1975 = stars.transform_to(FK5(equinox="J1975"))
    t = Table({"id": np.arange(len(stars)), "RAdeg": j1975.ra.deg, "DEdeg": j1975.dec.deg})
    t.meta["equinox"] = "J1975"
    t.write(tmp_path / "fk5.ecsv")
    info = _ingest(tmp_path / "fk5.ecsv", registry)
    table = registry.get(f"{info.name}/{info.tables[0]}")
    assert table.equinox == "ICRS"
    assert all(_found_at_icrs(table.full_name, stars, registry))


def test_galactic_longitude_latitude_become_icrs(registry, tmp_path):
    stars = _stars(seed=5)
    gal = stars.transform_to(Galactic())
    t = Table({"id": np.arange(len(stars)), "GLON": gal.l.deg, "GLAT": gal.b.deg})
    t["GLON"].unit = t["GLAT"].unit = u.deg
    t.write(tmp_path / "gal.ecsv")
    info = _ingest(tmp_path / "gal.ecsv", registry)
    table = registry.get(f"{info.name}/{info.tables[0]}")
    assert table.equinox == "ICRS" and table.ra_column == "RA_ICRS"
    assert "Galactic" in table.column("DE_ICRS").description
    assert all(_found_at_icrs(table.full_name, stars, registry))


def test_positions_in_radians_or_hours_are_indexed_in_degrees(registry, tmp_path):
    """real11: a FITS table with RA/DEC in radians (TUNIT = 'rad'), or RA in hour angle, was stored without
    positions ("no RA/Dec columns recognised"), so it could not be searched or matched. Now decimal
    ``RA_deg``/``DEC_deg`` columns are added (astropy's conversion) and indexed; the source columns stay."""
    stars = _stars(seed=8)
    t = Table({"id": np.arange(len(stars)), "RA": stars.ra.rad * u.rad, "DEC": stars.dec.rad * u.rad})
    t.write(tmp_path / "radians.fits")
    hours = Table({"id": np.arange(len(stars)), "RA": stars.ra.hourangle * u.hourangle, "DEC": stars.dec.deg * u.deg})
    hours.write(tmp_path / "hours.ecsv")
    for path in (tmp_path / "radians.fits", tmp_path / "hours.ecsv"):
        info = _ingest(path, registry)
        table = registry.get(f"{info.name}/{info.tables[0]}")
        assert (table.ra_column, table.dec_column) == ("RA_deg", "DEC_deg")
        assert all(_found_at_icrs(table.full_name, stars, registry))
    row = cone_search(table.full_name, stars[0], 1 * u.arcsec, registry=registry)
    assert row["RA_deg"][0] == pytest.approx(stars[0].ra.deg, abs=1e-9) and row["RA"].unit == u.hourangle


def test_icrs_and_unstated_frames_are_left_alone(registry, tmp_path):
    stars = _stars(seed=6)
    t = Table({"id": np.arange(len(stars)), "ra": stars.ra.deg, "dec": stars.dec.deg})
    t.write(tmp_path / "plain.ecsv")
    info = _ingest(tmp_path / "plain.ecsv", registry)
    table = registry.get(f"{info.name}/{info.tables[0]}")
    assert (table.equinox, table.ra_column) == ("", "ra")
    assert all(_found_at_icrs(table.full_name, stars, registry))


def test_unknown_frame_is_refused_naming_the_table(registry, tmp_path):
    t = Table({"id": [1, 2], "ra": [10.0, 11.0], "dec": [1.0, 2.0]})
    t.meta["RADESYS"] = "GAPPT"
    t.write(tmp_path / "gappt.fits")
    with pytest.raises(UnsupportedSource, match=r"gappt.*cannot tell the frame.*'GAPPT'"):
        _ingest(tmp_path / "gappt.fits", registry)
    assert registry.catalogs() == []


def test_declinations_out_of_range_are_refused_naming_the_column(registry, tmp_path):
    t = Table({"id": np.arange(10), "ra": np.linspace(0, 90, 10), "dec": np.linspace(0, 180, 10)})
    t.write(tmp_path / "swapped.ecsv")
    with pytest.raises(UnsupportedSource, match=r"swapped.*column 'dec'.*outside \[-90, 90\]"):
        _ingest(tmp_path / "swapped.ecsv", registry)
    assert registry.catalogs() == []
    assert not any(p.name.startswith(".tmp") for p in registry.data_root.iterdir()) if registry.data_root.exists() else True
