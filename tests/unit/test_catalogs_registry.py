"""Unit tests of the catalogue registry (dictionary, search, coverage index) and its pure helpers."""

from __future__ import annotations

import numpy as np
import pytest
import astropy.units as u
from astropy.coordinates import SkyCoord
from mocpy import MOC

from platform_lib.catalogs import (
    BadReadme,
    CatalogInfo,
    CatalogNotFound,
    ColumnInfo,
    DuplicateCatalog,
    Registry,
    TableInfo,
    covering,
)
from platform_lib.catalogs import _coverage
from platform_lib.catalogs._columns import guess_position_columns, infer_ucd
from platform_lib.catalogs._readers import parse_readme


def _cone_table(name, ra, dec, radius_deg, order=8, columns=()):
    """A registry entry whose MOC is a cone (no HATS files: the coverage index never opens them)."""
    moc = MOC.from_cone(lon=ra * u.deg, lat=dec * u.deg, radius=radius_deg * u.deg, max_depth=order)
    ranges = moc.to_depth29_ranges.astype(np.uint64)
    info = TableInfo(name=name, catalog=name, nrows=10, ra_column="ra", dec_column="dec", moc_order=order,
                     sky_fraction=_coverage.sky_fraction(ranges), columns=tuple(columns))
    return info, ranges


@pytest.fixture
def registry(tmp_path):
    reg = Registry(tmp_path / "registry.sqlite")
    cols = (ColumnInfo("ra", "Right ascension", "deg", "pos.eq.ra;meta.main", "float64"),
            ColumnInfo("dec", "Declination", "deg", "pos.eq.dec;meta.main", "float64"),
            ColumnInfo("Mdot", "Mass loss rate of the star", "Msun/yr", "phys.mass.loss", "float64"),
            ColumnInfo("Vmag", "V magnitude", "mag", "phot.mag;em.opt.V", "float64"))
    for name, ra, dec, r in (("A", 10, 10, 1.0), ("B", 200, -30, 0.5), ("C", 10.5, 10.2, 0.05)):
        table, ranges = _cone_table(name, ra, dec, r, columns=cols if name == "A" else cols[:2])
        reg.add_catalog(CatalogInfo(name, title=f"catalogue {name}", keywords=("test",)), [(table, ranges)])
    allsky = MOC.from_depth29_ranges(3, np.array([[0, 12 * 4**29]], dtype=np.uint64)).to_depth29_ranges
    reg.add_catalog(CatalogInfo("SKY"), [(TableInfo("SKY", "SKY", moc_order=3, sky_fraction=1.0),
                                          allsky.astype(np.uint64))])
    return reg


def test_get_by_full_name_catalogue_or_unique_table(registry):
    assert registry.get("A/A").ra_column == "ra"
    assert registry.get("A").full_name == "A/A"
    assert registry.get("A").column("Mdot").unit == "Msun/yr"
    with pytest.raises(CatalogNotFound, match="catalogs list"):
        registry.get("nope")



def test_an_everyday_or_misspelt_name_suggests_the_registry_name(registry):
    """A student's ``cone_search("Hipparcos", ...)`` said the name was unknown, listed the registry's names
    without saying which one is Hipparcos, and pointed at ``astrohub catalogs list`` (an operator's command).
    Now the name is matched against the names, titles and keywords (a title word, difflib's close matches)
    and the message says what a notebook calls to list and find catalogues."""
    from platform_lib.catalogs import cone_search

    table, ranges = _cone_table("hip2", 0, 0, 1.0)
    registry.add_catalog(CatalogInfo("I/311", title="Hipparcos, the New Reduction (van Leeuwen, 2007)",
                                     keywords=("astrometry",)),
                         [(TableInfo("hip2", "I/311", ra_column="ra", dec_column="dec", moc_order=8), ranges)])
    for wrong in ("Hipparcos", "hipparcos", "Hiparcos", "HIPPARCOS new reduction", "i/311/hip"):
        with pytest.raises(CatalogNotFound, match=r"did you mean 'I/311(/hip2)?'\?") as info:
            registry.get(wrong)
        assert "Registry.from_settings().catalogs()" in str(info.value)
    with pytest.raises(CatalogNotFound, match=r"did you mean 'I/311'\?.*Registry.from_settings\(\).catalogs\(\)"):
        cone_search("Hipparcos", SkyCoord(0, 0, unit="deg"), 1 * u.arcmin, registry=registry)
    with pytest.raises(CatalogNotFound, match=r"no catalogue 'hipparcos' .*did you mean 'I/311'\?"):
        registry.catalog("hipparcos")
    with pytest.raises(CatalogNotFound) as info:
        registry.get("quasars")
    assert "did you mean" not in str(info.value)
    assert registry.close_names("catalogue A") == ["A"]

def test_a_missing_catalogue_or_registry_names_what_exists(registry, tmp_path):
    # issue 16: a missing catalogue must be a clear error naming what exists
    with pytest.raises(CatalogNotFound, match=r"no table 'gaia/dr3' .* its tables: A/A, B/B, C/C, SKY/SKY"):
        registry.get("gaia/dr3")
    with pytest.raises(CatalogNotFound, match=r"no catalogue 'gaia' .* its catalogues: A, B, C, SKY"):
        registry.catalog("gaia")
    with pytest.raises(CatalogNotFound, match="holds no tables yet"):
        Registry(tmp_path / "empty.sqlite").get("gaia/dr3")
    with pytest.raises(CatalogNotFound, match=r"no catalogue registry at .*missing.sqlite.*catalogs ingest"):
        Registry(tmp_path / "missing.sqlite", readonly=True)


def test_search_by_description_text_and_ucd(registry):
    found = registry.search("mass loss")
    assert list(found["table"]) == ["A/A"] and list(found["column"]) == ["Mdot"]
    by_ucd = registry.search(ucd="phot.mag")
    assert list(by_ucd["column"]) == ["Vmag"]
    assert len(registry.search(ucd="pos.eq.ra")) == 3
    assert len(registry.search("nothing like this")) == 0


def test_search_takes_percent_and_underscore_literally_and_ucds_by_whole_words(registry, tmp_path):
    """Before, ``_`` and ``%`` in the text were LIKE wildcards (``e_V`` found ``Vmag``'s neighbours, ``%`` found
    every column) and ``ucd="phot.ma"`` found ``phot.mag`` although a UCD is matched by whole words."""
    cols = (ColumnInfo("e_Vmag", "Error on Vmag", "mag", "stat.error;phot.mag", "float64"),
            ColumnInfo("eXVmag", "Another error", "mag", "stat.error", "float64"),
            ColumnInfo("Pct", "Fraction in %", "", "arith.ratio", "float64"),
            ColumnInfo("Mbol", "Bolometric magnitude", "mag", "phot.mag.bol", "float64"))
    table, ranges = _cone_table("E", 50, 0, 1.0, columns=cols)
    registry.add_catalog(CatalogInfo("E", title="errors"), [(table, ranges)])
    assert list(registry.search("e_V")["column"]) == ["e_Vmag"]
    assert list(registry.search("%")["column"]) == ["Pct"]
    assert len(registry.search(ucd="phot.ma")) == 0
    assert list(registry.search(ucd="phot.mag")["column"]) == ["Vmag", "e_Vmag", "Mbol"]  # a word under it too


def test_catalogues_are_found_by_the_words_of_their_titles_and_descriptions(registry):
    """VizieR finds catalogues by words of their titles, authors, descriptions and keywords; the dictionary only
    searched columns, so ``search("Hipparcos")`` found nothing unless a column's description said it."""
    table, ranges = _cone_table("I/311", 0, 0, 1.0)
    registry.add_catalog(CatalogInfo("I/311", title="Hipparcos, the New Reduction (van Leeuwen, 2007)",
                                     authors="van Leeuwen F.", keywords=("Positional data", "Parallaxes")),
                         [(table, ranges)])
    found = registry.find_catalogs("hipparcos reduction")
    assert list(found["name"]) == ["I/311"] and found["tables"][0] == 1 and found["nrows"][0] == 10
    assert "Parallaxes" in found["keywords"][0]
    assert list(registry.find_catalogs("parallaxes LEEUWEN")["name"]) == ["I/311"]  # keywords, authors; any case
    assert list(registry.find_catalogs("catalogue")["name"]) == ["A", "B", "C"]  # the fixture's titles
    assert len(registry.find_catalogs("hipparcos gaia")) == 0  # every word must be there
    assert len(registry.search("Hipparcos")) == 0  # columns only: why find_catalogs is needed
    with pytest.raises(ValueError, match="words to look for"):
        registry.find_catalogs("  ")


def test_dictionary_as_tables(registry):
    cats = registry.dictionary("catalogs")
    assert list(cats["name"]) == ["A", "B", "C", "SKY"]
    tables = registry.dictionary("tables")
    assert set(tables["table"]) == {"A/A", "B/B", "C/C", "SKY/SKY"}
    cols = registry.dictionary("columns")
    assert len(cols) == 4 + 2 + 2
    with pytest.raises(ValueError):
        registry.dictionary("rows")


def test_the_dictionary_asked_for_a_catalogue_says_how_to_look_it_up(registry):
    """firsthour24: a newcomer looking a catalogue up in the dictionary, ``dictionary('I/311')``, was told only
    "kind must be catalogs, tables, columns or links, not 'I/311'"; a misspelt kind ('catalog') likewise."""
    with pytest.raises(ValueError, match=r"not 'catalog' \(did you mean 'catalogs'\?\)"):
        registry.dictionary("catalog")
    with pytest.raises(ValueError, match=r"look up catalogue 'A': registry.catalog\('A'\) .*registry.get\('A/A'\)"):
        registry.dictionary("A")
    with pytest.raises(ValueError, match=r"look up catalogue 'A': .*registry.get\('A/A'\).columns"):
        registry.dictionary("A/A")
    with pytest.raises(ValueError, match=r"registry.find_catalogs\('quasars'\)"):
        registry.dictionary("quasars")


def test_duplicate_catalogue_is_refused_and_old_entry_kept(registry):
    table, ranges = _cone_table("A", 100, 0, 1.0)
    with pytest.raises(DuplicateCatalog) as err:
        registry.add_catalog(CatalogInfo("A", title="impostor"), [(table, ranges)])
    assert err.value.code == "duplicate-catalog"
    assert registry.catalog("A").title == "catalogue A"
    assert registry.covering(SkyCoord(10 * u.deg, 10 * u.deg), 1 * u.arcmin) == ["A/A", "SKY/SKY"]
    registry.add_catalog(CatalogInfo("A", title="replaced"), [(table, ranges)], replace=True)
    assert registry.catalog("A").title == "replaced"
    assert "A/A" in registry.covering(SkyCoord(100 * u.deg, 0 * u.deg), 1 * u.arcmin)


@pytest.mark.parametrize("ra,dec,radius,expected", [
    (10.0, 10.0, 1 * u.arcmin, ["A/A", "SKY/SKY"]),
    (10.5, 10.2, 1 * u.arcmin, ["A/A", "C/C", "SKY/SKY"]),
    (200.0, -30.0, 10 * u.arcmin, ["B/B", "SKY/SKY"]),
    (100.0, 45.0, 1 * u.deg, ["SKY/SKY"]),
    (7.5, 10.0, 1.6 * u.deg, ["A/A", "SKY/SKY"]),  # only the cone edge reaches A
    (7.5, 10.0, 0.3 * u.deg, ["SKY/SKY"]),
])
def test_covering_known_answers(registry, ra, dec, radius, expected):
    assert registry.covering(SkyCoord(ra * u.deg, dec * u.deg), radius) == expected
    assert covering(SkyCoord(ra * u.deg, dec * u.deg), radius, registry=registry) == expected


def test_covering_agrees_with_mocpy_on_random_cones(tmp_path):
    rng = np.random.default_rng(7)
    reg = Registry(tmp_path / "r.sqlite")
    mocs = {}
    for i in range(40):
        ra, dec, r = rng.uniform(0, 360), np.degrees(np.arcsin(rng.uniform(-1, 1))), rng.uniform(0.1, 8)
        table, ranges = _cone_table(f"T{i}", ra, dec, r, order=7)
        reg.add_catalog(CatalogInfo(f"T{i}"), [(table, ranges)])
        mocs[f"T{i}/T{i}"] = MOC.from_depth29_ranges(7, ranges)
    for _ in range(30):
        ra, dec, r = rng.uniform(0, 360), np.degrees(np.arcsin(rng.uniform(-1, 1))), rng.uniform(0.01, 5)
        cone = MOC.from_cone(lon=ra * u.deg, lat=dec * u.deg, radius=r * u.deg, max_depth=7)
        expected = sorted(n for n, m in mocs.items() if not m.intersection(cone).empty())
        assert reg.covering(SkyCoord(ra * u.deg, dec * u.deg), r * u.deg) == expected


def test_covering_rejects_bare_numbers(registry):
    with pytest.raises(TypeError, match="Quantity"):
        registry.covering(SkyCoord(1 * u.deg, 1 * u.deg), 0.1)
    with pytest.raises(TypeError, match="SkyCoord"):
        registry.covering((1, 1), 1 * u.deg)


def test_moc_is_readable(registry):
    moc = registry.moc("B")
    assert moc.contains_lonlat(200 * u.deg, -30 * u.deg)[0]
    assert not moc.contains_lonlat(20 * u.deg, -30 * u.deg)[0]


def test_readonly_registry(registry, tmp_path):
    ro = Registry(registry.path, readonly=True)
    assert ro.get("A").name == "A"
    with pytest.raises(CatalogNotFound):
        Registry(tmp_path / "missing.sqlite", readonly=True)


def test_ranges_overlap_and_index_cells():
    a = np.array([[0, 10], [20, 30]], dtype=np.uint64)
    assert _coverage.ranges_overlap(a, np.array([[9, 12]], dtype=np.uint64))
    assert not _coverage.ranges_overlap(a, np.array([[10, 20]], dtype=np.uint64))
    assert _coverage.ranges_overlap(a, np.array([[5, 25]], dtype=np.uint64))
    shift = 2 * (29 - 6)
    cell = np.array([[3 << shift, 5 << shift], [(7 << shift) + 1, (7 << shift) + 2]], dtype=np.uint64)
    cells, full = _coverage.index_cells(cell)
    assert cells.tolist() == [3, 4, 7] and full.tolist() == [True, True, False]


def test_guess_position_columns_and_ucds():
    cols = [ColumnInfo("tyc_id", datatype="object"), ColumnInfo("ra_degrees", datatype="float64"),
            ColumnInfo("dec_degrees", datatype="float64")]
    assert guess_position_columns(cols) == ("ra_degrees", "dec_degrees")
    by_ucd = [ColumnInfo("alpha_x", ucd="pos.eq.ra;meta.main"), ColumnInfo("ra"), ColumnInfo("dec"),
              ColumnInfo("delta_x", ucd="pos.eq.dec;meta.main")]
    assert guess_position_columns(by_ucd) == ("alpha_x", "delta_x")
    assert guess_position_columns([ColumnInfo("RAh", unit="h"), ColumnInfo("DEd", unit="deg")]) is None
    assert guess_position_columns([ColumnInfo("Wave"), ColumnInfo("EW")]) is None
    assert infer_ucd("parallax_mas") == "pos.parallax.trig"
    assert infer_ucd("Ksmag", "mag") == "phot.mag;em.IR.K"


_README = """J/A+A/000/A1       A made-up catalogue            (Doe+, 2024)
================================================================================
A made-up catalogue of things.
    Doe J., Roe R.
   <Astron. Astrophys. 000, A1 (2024)>
   =2024A&A...000A...1D
================================================================================
Keywords: stars: mass-loss

Byte-by-byte Description of file: table1.dat
--------------------------------------------------------------------------------
   Bytes Format Units   Label     Explanations
--------------------------------------------------------------------------------
   1-  7  F7.3  deg     RAdeg     Right ascension
--------------------------------------------------------------------------------
"""


def test_parse_readme():
    meta = parse_readme(_README)
    assert meta["name"] == "J/A+A/000/A1"
    assert meta["authors"] == "Doe J., Roe R."
    assert meta["bibcode"] == "2024A&A...000A...1D"
    assert meta["keywords"] == ["stars: mass-loss"]
    assert list(meta["files"]) == ["table1.dat"]


@pytest.mark.parametrize("text,match", [
    ("", "empty"),
    ("just some words\nmore\nand more\n", "designation"),
    (_README.replace("Byte-by-byte Description of file: table1.dat", "Bytes of file table1.dat"), "Byte-by-byte"),
])
def test_malformed_readme_is_a_clear_error(text, match):
    with pytest.raises(BadReadme, match=match) as err:
        parse_readme(text)
    assert err.value.code == "bad-readme"


@pytest.mark.parametrize("name", ["J/A1", "J_A1", "J__A1", "J_2FA1", "J/_A1", ".hidden", "_.hidden", "a b",
                                  "Ünïcode/cat", "x" * 300, "x" * 299 + "/"])
def test_folder_names_are_one_to_one(name):
    from platform_lib.catalogs._ingest import slug

    names = ["J/A1", "J_A1", "J__A1", "J_2FA1", "J/_A1", ".hidden", "_.hidden", "a b", "Ünïcode/cat",
             "x" * 300, "x" * 299 + "/"]
    folder = slug(name)
    assert all(slug(other) != folder for other in names if other != name)
    assert not folder.startswith(".") and "/" not in folder and len(folder.encode()) <= 200
    assert set(folder) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+-._~")


def test_folder_names_decode_back():
    """The escaping is injective because it can be undone: decode and compare."""
    from platform_lib.catalogs._ingest import slug

    def decode(folder: str) -> str:
        out, pending, i = [], bytearray(), 0
        while i < len(folder):
            if folder.startswith("__", i):
                token, i = b"_", i + 2
            elif folder[i] == "_":
                pending += bytes.fromhex(folder[i + 1:i + 3])
                i += 3
                continue
            else:
                token, i = folder[i].encode(), i + 1
            out.append(pending.decode() + token.decode())
            pending = bytearray()
        return "".join(out) + pending.decode()

    rng = np.random.default_rng(11)
    alphabet = list("aZ9+-._/ :é_")
    for _ in range(500):
        name = "".join(rng.choice(alphabet, size=rng.integers(1, 12)))
        assert decode(slug(name)) == name


@pytest.mark.parametrize("descriptions,readme,expected", [
    ({"RAh": "Right ascension (J2000)", "DEd": "Declination (J2000)"}, "", ("J2000", "")),
    ({"RAdeg": "Right ascension (ICRS) at Epoch=J1991.25", "DEdeg": "Declination (ICRS) at Ep=J1991.25"}, "",
     ("ICRS", "J1991.25")),
    ({"RA1950": "Right ascension (B1950.0)"}, "", ("B1950", "")),
    ({"RAdeg": "Right ascension", "DEdeg": "Declination"},
     "Note (1): positions are for equinox J2000 and epoch 2016.0 (Gaia DR3).", ("J2000", "J2016")),
    ({"RAdeg": "Right ascension"}, "The survey epoch 2003 was cloudy.", ("", "")),  # not about positions
    ({"Vmag": "V magnitude (J2000)"}, "positions for equinox B1950", ("", "")),  # no position columns
])
def test_position_frame_from_what_the_readme_says(descriptions, readme, expected):
    from platform_lib.catalogs._readers import position_frame

    assert position_frame(descriptions, readme) == expected


def test_votable_coosys_gives_equinox_and_epoch(tmp_path):
    from platform_lib.catalogs._readers import read_source

    (tmp_path / "t.vot").write_text(
        '<?xml version="1.0"?>\n<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE>'
        '<COOSYS ID="other" system="eq_FK4" equinox="B1950"/>'
        '<COOSYS ID="sys" system="ICRS" epoch="J2016.0"/><TABLE name="t">'
        '<FIELD name="ra" datatype="double" unit="deg" ucd="pos.eq.ra;meta.main" ref="sys"/>'
        '<FIELD name="dec" datatype="double" unit="deg" ucd="pos.eq.dec;meta.main" ref="sys"/>'
        '<DATA><TABLEDATA><TR><TD>1</TD><TD>2</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>')
    table = read_source(tmp_path / "t.vot").tables[0]
    assert (table.equinox, table.epoch) == ("ICRS", "J2016")


def test_covering_wide_cones_against_brute_force(tmp_path):
    """Cones wider than 90 deg (cdshealpix dropped a third of the sky at 179 deg): small tables well inside
    are covered, tables well outside are not (brute force on their centres)."""
    rng = np.random.default_rng(11)
    reg = Registry(tmp_path / "r.sqlite")
    tables = {}
    for i in range(25):
        ra, dec = rng.uniform(0, 360), np.degrees(np.arcsin(rng.uniform(-1, 1)))
        table, ranges = _cone_table(f"W{i}", ra, dec, 0.5, order=7)
        reg.add_catalog(CatalogInfo(f"W{i}"), [(table, ranges)])
        tables[f"W{i}/W{i}"] = (ra, dec)
    for ra0, dec0, r in ((10.0, -80.0, 179.0), (45.0, 0.0, 120.0), (200.0, 90.0, 95.0), (0.0, 0.0, 180.0)):
        got = reg.covering(SkyCoord(ra0 * u.deg, dec0 * u.deg), r * u.deg)
        c0 = SkyCoord(ra0 * u.deg, dec0 * u.deg)
        sure = sorted(n for n, (ra, dec) in tables.items() if c0.separation(SkyCoord(ra * u.deg, dec * u.deg)).deg < r - 1)
        out = sorted(n for n, (ra, dec) in tables.items() if c0.separation(SkyCoord(ra * u.deg, dec * u.deg)).deg > r + 1)
        assert set(sure) <= set(got) and not set(out) & set(got), (ra0, dec0, r)


def test_a_registry_given_by_relative_path_stores_absolute_paths(tmp_path, monkeypatch):
    """Issue 22: a registry opened by a relative path stored relative table paths, wrong from any other folder."""
    import dataclasses

    monkeypatch.chdir(tmp_path)
    reg = Registry("catalogs/registry.sqlite")
    assert reg.path.is_absolute() and reg.data_root.is_absolute()
    info, ranges = _cone_table("R", 10, 0, 1.0)
    reg.add_catalog(CatalogInfo("R"), [(dataclasses.replace(info, hats_path=reg.data_root / "R" / "R"), ranges)])
    reg.close()
    monkeypatch.chdir("/")
    stored = Registry(tmp_path / "catalogs" / "registry.sqlite").get("R").hats_path
    assert stored.is_absolute() and stored.resolve() == (tmp_path / "catalogs" / "hats" / "R" / "R").resolve()


def test_a_cone_search_around_what_is_not_a_position_says_how_to_write_one(tmp_path, monkeypatch):
    """first11: cone_search('I/311', 'M45', 1 * u.deg) answered "position must be an astropy SkyCoord, not str",
    which does not say how to write one. names22: a name is looked up (tests/unit/test_common_names.py); one the
    platform cannot answer (here no archive) and what is no position at all name the forms that work."""
    from platform_lib.catalogs import cone_search
    from platform_lib.skyposition import PositionError

    def no_archive(*args, **kwargs):
        raise ConnectionError("no archive here")

    monkeypatch.setattr("platform_lib.retrieval.tap_query", no_archive)
    registry = Registry(tmp_path / "registry.sqlite")
    with pytest.raises(PositionError, match=r"center='M45' is not a sky position nor a name the platform's "
                                            r"catalogues hold \(Messier, NGC and IC numbers.*'05h35m17.3s -05d23m28s'"):
        cone_search("I/311", "M45", 1 * u.deg, registry=registry)
    with pytest.raises(TypeError, match=r"center must be a SkyCoord, a position as text or an object's name, not "
                                        r"tuple \(56.85, 24.12\): write e.g. .*unit='deg'"):
        cone_search("I/311", (56.85, 24.12), 1 * u.deg, registry=registry)


@pytest.mark.parametrize("radius, match", [(200 * u.deg, "more than the whole sky"), (-1 * u.arcsec, "positive"),
                                           (float("nan") * u.deg, "positive")])
def test_a_radius_past_the_whole_sky_or_not_an_angle_is_refused(registry, radius, match):
    """A 200 deg cone (200 * u.deg typed for 200 arcsec) quietly answered the whole catalogue, and NaN passed the
    sign check (first21's walk): both are refused, naming the radius."""
    from platform_lib.catalogs import cone_search

    with pytest.raises(ValueError, match=match):
        registry.covering(SkyCoord(1 * u.deg, 1 * u.deg), radius)
    with pytest.raises(ValueError, match=match):
        cone_search("I/311", SkyCoord(1 * u.deg, 1 * u.deg), radius, registry=registry)
    assert registry.covering(SkyCoord(1 * u.deg, 1 * u.deg), 180 * u.deg)  # the whole sky itself is fine
