"""Real responses of astronomy services are ingested as astropy reads them, or refused by name (task c1-data).

The files are those astroquery's wheel ships as its tests' recorded answers (IRSA Gator and its dust
service, the NASA Exoplanet Archive, SDSS, CDS XMatch, the Gaia archive, ESO, OGLE, ALFALFA, the Open
Astronomy Catalogs, ALMA, the Exoplanet Orbit Database, VizieR) and astropy's own test tables
(SExtractor, DAOPHOT, IPAC, VizieR VOTable) and pyvo's (VizieR and SIA answers with UCD1 only). For each
table file: ``read_source`` must give the rows,
columns and values that astropy's reader of that format gives, and ``ingest`` must register it, with
the position columns expected (or, for tables without positions, with a :class:`NoPositionWarning`),
and a cone search at its first row's position must find that row. Files that are not catalogues
(JSON, XML documents, JPL Horizons' and the Besançon model's free text) must be refused with an
:class:`UnsupportedSource` naming the file. Before this, every ``.tbl``, ``.txt`` and ``.dat`` here
was refused by its suffix.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import astropy
import astropy.units as u
import numpy as np
import pytest
import pyvo
from astropy.coordinates import SkyCoord
from astropy.table import Table

from platform_lib.catalogs import NoPositionWarning, Registry, UnsupportedSource, cone_search, ingest, read_source

astroquery = pytest.importorskip("astroquery")  # a test dependency (pyproject's test extra)
AQ = Path(astroquery.__file__).parent
AP = Path(astropy.__file__).parent / "io"
PV = Path(pyvo.__file__).parent

CSV = {"format": "basic", "delimiter": ","}  # astropy's CSV reader with '#' comment lines skipped
# (file, how astropy reads it, the position columns ingest must find or None)
CATALOGUES = [
    (AQ / "ipac/irsa/tests/data/most_gator.tbl", {"format": "ipac"}, ("ra", "dec")),
    (AQ / "ipac/nexsci/nasa_exoplanet_archive/tests/data/koi_expect_0.txt", {"format": "ipac"}, ("ra", "dec")),
    (AQ / "ipac/irsa/irsa_dust/tests/data/dust_ext_detail.tbl", {"format": "ipac"}, None),
    (AQ / "sdss/tests/data/xid_im.txt", CSV, ("ra", "dec")),
    (AQ / "xmatch/tests/data/query_res.csv", CSV, ("ra", "dec")),
    (AQ / "utils/tap/xmlparser/tests/data/1714556098855O-result.csv", CSV, ("ra", "dec")),
    (AQ / "eso/tests/data/main_sgra_query.tbl", CSV, ("RA_deg", "DEC_deg")),  # sexagesimal text 17:45:40.09
    (AQ / "eso/tests/data/amber_sgra_query.tbl", CSV, ("RA", "DEC")),
    (AQ / "exoplanet_orbit_database/tests/data/exoplanet_orbit_database.csv", CSV, ("RA", "DEC")),
    (AQ / "ogle/tests/data/gal_0_3.txt", {"format": "commented_header"}, None),
    (AQ / "alfalfa/tests/data/alfalfa_cat_small.txt", CSV, ("RAdeg_HI", "Decdeg_HI")),  # HI, then optical (_OC)
    (AQ / "ipac/irsa/ibe/tests/data/pos.txt", {"format": "ipac"}, ("in_ra", "in_dec")),  # the input position
    (AQ / "oac/tests/data/photometry_csv.txt", CSV, None),
    (AQ / "alma/tests/data/alma-onerow.txt", {"format": "basic"}, ("s_ra", "s_dec")),  # ObsCore
    (AQ / "gaia/tests/data/1712337806100O-result.ecsv", {"format": "ascii.ecsv"}, ("ra", "dec")),
    (AQ / "gaia/tests/data/1710099405832VAL-result.vot", {"format": "votable"}, ("ra", "dec")),
    (AQ / "ipac/irsa/tests/data/Cone.xml", {"format": "votable"}, ("ra", "dec")),
    (AP / "ascii/tests/data/sextractor3.dat", {"format": "sextractor"}, ("ALPHA_J2000", "DELTA_J2000")),
    (AP / "ascii/tests/data/daophot.dat", {"format": "daophot"}, None),
    (AP / "votable/tests/data/vizier_b2_votable.xml", {"format": "votable"}, ("RAJ2000", "DEJ2000")),
    (PV / "dal/tests/data/sia/dataset.xml", {"format": "votable"}, ("centerAlpha", "centerDelta")),  # UCD1 only
]
NOT_CATALOGUES = [
    (AQ / "jplsbdb/tests/data/ceres.dat", "holds a JSON document"),
    (AQ / "imcce/tests/data/3552_coordtype1.dat", "holds an XML or HTML document"),
    (AQ / "jplhorizons/tests/data/ceres_ephemerides_single.txt", "no delimiter"),
    (AQ / "besancon/tests/data/besancon_test.txt", "no delimiter"),
]


def _reference(path: Path, how: dict) -> Table:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fmt = how["format"]
        if fmt == "votable":  # columns by FIELD name, as pyvo reads them (the Gaia archive's IDs are upper case)
            return Table.read(path, **how, use_names_over_ids=True)
        if fmt == "ascii.ecsv":
            return Table.read(path, **how)
        from astropy.io import ascii

        return ascii.read(str(path), guess=False, **{("format" if k == "format" else k): v for k, v in how.items()})


def _same_values(ours, ref, name: str) -> None:
    a, b = ours[name], ref[name]
    if b.dtype.kind in "iuf" and getattr(b, "ndim", 1) == 1:
        assert a.dtype.kind in "iuf", name
        fa = np.ma.filled(np.ma.asarray(a, dtype=float), np.nan)
        fb = np.ma.filled(np.ma.asarray(b, dtype=float), np.nan)
        assert np.allclose(fa, fb, equal_nan=True), name
    elif b.dtype.kind in "US" and getattr(b, "ndim", 1) == 1:
        ta = [str(v).strip() for v in np.ma.filled(a.astype(str), "")]
        tb = [str(v).strip() for v in np.ma.filled(b.astype(str), "")]
        assert ta == tb, name


@pytest.mark.parametrize("path,how,position", CATALOGUES, ids=[p.name for p, _, _ in CATALOGUES])
def test_service_file_reads_as_astropy_and_ingests(tmp_path, path, how, position):
    ref = _reference(path, how)
    [st] = read_source(path).tables
    ours = st.table
    assert len(ours) == len(ref)
    assert [n for n in ref.colnames if n in ours.colnames] == ref.colnames
    for name in ref.colnames:
        _same_values(ours, ref, name)
    registry = Registry(tmp_path / "r.sqlite")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        info = ingest(path, registry, name=path.name, margin_arcsec=None)
    [table] = [registry.get(n) for n in registry.tables(info.name)]
    assert (table.ra_column, table.dec_column) == (position or (None, None))
    if position is None:
        assert any(issubclass(w.category, NoPositionWarning) for w in caught)
        assert table.nrows == len(ref)
        return
    assert table.nrows <= len(ref) and table.nrows >= 1
    if position[0] in ref.colnames:
        ra = np.ma.filled(np.ma.asarray(ref[position[0]], dtype=float), np.nan)
        dec = np.ma.filled(np.ma.asarray(ref[position[1]], dtype=float), np.nan)
    else:  # decimal columns made at ingest from sexagesimal text (RA -> RA_deg): astropy reads the text
        text = SkyCoord(ref[position[0][:-4]], ref[position[1][:-4]], unit=(u.hourangle, u.deg))
        ra, dec = text.ra.deg, text.dec.deg
    k = int(np.flatnonzero(np.isfinite(ra) & np.isfinite(dec))[0])
    found = cone_search(info.name, SkyCoord(ra[k] * u.deg, dec[k] * u.deg), 1 * u.arcsec, registry=registry)
    assert len(found) >= 1
    assert np.min(np.hypot((found[position[0]] - ra[k]) * np.cos(np.radians(dec[k])),
                           found[position[1]] - dec[k])) < 1e-6


@pytest.mark.parametrize("path,why", NOT_CATALOGUES, ids=[p.name for p, _ in NOT_CATALOGUES])
def test_service_file_that_is_no_table_is_refused_by_name(tmp_path, path, why):
    registry = Registry(tmp_path / "r.sqlite")
    with pytest.raises(UnsupportedSource, match=rf"{path.name!r}.*{why}|{why}.*{path.name!r}") as caught:
        ingest(path, registry)
    assert path.name in str(caught.value) and why in str(caught.value)
    assert registry.catalogs() == []


def test_the_main_position_by_ucd1_is_indexed_in_its_own_frame(tmp_path):
    """A VizieR VOTable in UCD1 (pyvo's test.header_extraction.2.xml, VIII/6): ``RAB1950``/``DEB1950`` are the
    main position (``POS_EQ_RA_MAIN``, COOSYS FK4 B1950), ``_RA.icrs``/``_DE.icrs`` VizieR's ICRS computed
    from them (UCD1+ ``pos.eq.ra``). Before, UCD1 was not read: the computed columns were taken, and
    converted again from B1950 as the file's only COOSYS said, 0.7 deg away from where the map is."""
    path = PV / "mivot/tests/data/test.header_extraction.2.xml"
    registry = Registry(tmp_path / "r.sqlite")
    info = ingest(path, registry, name="viii6", margin_arcsec=None)
    [table] = [registry.get(n) for n in registry.tables(info.name)]
    assert (table.ra_column, table.dec_column) == ("RA_ICRS", "DE_ICRS")
    assert "RAB1950/DEB1950 (FK4 B1950)" in {c.name: c.description for c in table.columns}["RA_ICRS"]
    vizier_icrs = SkyCoord(0.6405 * u.deg, -8.2216 * u.deg)  # the file's _RA.icrs, _DE.icrs (4 decimals)
    found = cone_search(info.name, vizier_icrs, 1 * u.arcsec, registry=registry)
    assert len(found) == 1 and found["RAB1950"][0] == 0.0 and found["DEB1950"][0] == -8.5


def test_errors_are_listed_by_the_ucd_of_what_they_are_the_error_of(tmp_path):
    """Gaia DR3 from VizieR (pyvo's test.header_extraction.1.xml, I/355), ingested once with VizieR's UCDs
    and once as an ECSV with units but no UCDs: the dictionary's search by UCD finds the position errors
    under ``pos.eq.ra``/``pos.eq.dec`` and never among the magnitudes, in both. Before, ``e_RA_ICRS``
    [mas], ``e_Plx``, ``e_pmRA`` and ``e_RV`` were inferred ``stat.error;phot.mag`` (task c1-data3)."""
    path = PV / "mivot/tests/data/test.header_extraction.1.xml"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = Table.read(path, format="votable")
    vizier_ucds = {name: plain[name].meta.get("ucd", "") for name in plain.colnames}
    for name in plain.colnames:
        plain[name].meta.pop("ucd", None)
    plain.write(tmp_path / "gaia_no_ucds.ecsv")
    registry = Registry(tmp_path / "r.sqlite")
    for source, name in ((path, "with_ucds"), (tmp_path / "gaia_no_ucds.ecsv", "no_ucds")):
        ingest(source, registry, name=name, margin_arcsec=None)
    for name in ("with_ucds", "no_ucds"):
        mags = registry.search(ucd="phot.mag")
        mags = set(mags["column"][mags["catalog"] == name])
        assert mags and not mags & {"e_RA_ICRS", "e_DE_ICRS", "e_Plx", "e_pmRA", "e_pmDE", "e_RV"}, mags
        ra = registry.search(ucd="pos.eq.ra")
        assert {"RA_ICRS", "e_RA_ICRS"} <= set(ra["column"][ra["catalog"] == name])
    [table] = [registry.get(n) for n in registry.tables("no_ucds")]
    ours = {c.name: c.ucd for c in table.columns}
    for column in ("e_RA_ICRS", "e_DE_ICRS", "e_pmRA", "e_pmDE", "Plx", "e_Plx"):  # Plx: pos.parallax (c1-data4)
        assert ours[column] == vizier_ucds[column], column


def test_a_vizier_answer_of_many_catalogues_reads_each_table_in_its_own_frame():
    """astroquery's viz.xml is VizieR's answer to a 2' cone round Sirius in every catalogue (360 TABLEs, 231
    with rows, 24 COOSYS: FK4 B1855 to FK5 J2000). Each table takes the frame of the COOSYS its own position
    fields refer to: I/34/greenw2a's only position is ``_RAB1950`` (FK4 B1950), III/39A's ``_RA`` is FK4
    B2000. Before, the COOSYS was chosen once for the whole file (I/82's J2000, the first main position),
    so the B1950 tables were indexed as J2000, 0.6 deg from Sirius; and the file was parsed again for
    each table and for each frame (minutes for this 0.4 MB file), with a warning per empty table (129)."""
    path = AQ / "vizier/tests/data/viz.xml"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tables = {t.name: t for t in read_source(path).tables}
    assert len(tables) == 231
    [said] = [str(w.message) for w in caught if "no rows" in str(w.message)]
    assert said.startswith("viz.xml: 129 tables ('I/34/greenw2b', ") and said.endswith(" and 119 more) hold no rows "
                                                                                   "or no columns; skipped")
    assert (tables["I/34/greenw2a"].equinox, tables["I/34/greenw2a"].epoch) == ("B1950", "")
    assert tables["III/39A/catalog"].equinox == "B2000"
    assert (tables["I/82/catalog"].equinox, tables["I/82/catalog"].epoch) == ("J2000", "J2000")
    assert tables["ReadMeObj"].equinox == "J2000"
    assert sum(t.equinox == "B1950" for t in tables.values()) == 57


def test_votable_columns_are_named_by_their_field_names(tmp_path):
    """astropy's names.xml (FIELD ID="col4" name="RAdeg"...): ingest, a job's input and storage name the
    columns by their FIELD ``name``, as pyvo does (``to_table(use_names_over_ids=True)``) and the archive's
    TAP uploads do. Before, astropy's reader took the IDs: the dictionary listed ``col1``..``col17`` and the
    positions were indexed from ``col4``/``col5``."""
    from platform_lib.jobs import read_table
    from platform_lib.storage._formats import table_from_file

    path = AP / "votable/tests/data/names.xml"
    expected = ["Name", "GLON", "GLAT", "RAdeg", "DEdeg", "Jmag"]
    assert read_table(path).colnames[:6] == expected
    assert table_from_file(str(path), "votable").colnames[:6] == expected
    registry = Registry(tmp_path / "r.sqlite")
    info = ingest(path, registry, name="names", margin_arcsec=None)
    [table] = [registry.get(n) for n in registry.tables(info.name)]
    assert (table.ra_column, table.dec_column) == ("RAdeg", "DEdeg")
    assert [c.name for c in table.columns][:6] == expected
    assert table.column("Jmag").ucd == "phot.mag;em.IR.J"
    assert list(registry.search(ucd="pos.galactic.lon")["column"]) == ["GLON"]


def test_the_dictionary_finds_ucd1_positions_by_their_ucd1_plus_words(tmp_path):
    """IRSA's answer in astropy's irsa-nph-m31.xml gives UCD1 only (``POS_EQ_RA_MAIN``): a search of the
    dictionary by ``pos.eq.ra`` (what VizieR and every newer file say) finds its position columns, as
    one by UCD1 finds UCD1+ ones. Before, ``search(ucd="pos.eq.ra")`` found nothing in it."""
    registry = Registry(tmp_path / "r.sqlite")
    ingest(AP / "votable/tests/data/irsa-nph-m31.xml", registry, name="m31", margin_arcsec=None)
    ingest(AP / "votable/tests/data/names.xml", registry, name="names", margin_arcsec=None)
    found = registry.search(ucd="pos.eq.ra")
    assert list(zip(found["catalog"], found["column"])) == [("m31", "ra"), ("names", "RAdeg")]
    main = registry.search(ucd="pos.eq.dec;meta.main")
    assert list(zip(main["column"], main["ucd"])) == [("dec", "POS_EQ_DEC_MAIN")]
    assert list(registry.search(ucd="POS_EQ_DEC")["column"]) == ["dec", "DEdeg"]
