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
    ("e_Vmag", "stat.error;phot.mag;em.opt.V"), ("Vmag_err", "stat.error;phot.mag;em.opt.V"),
    ("sigma_V", "stat.error;phot.mag"),
    ("errmag", "stat.error;phot.mag"),
    ("B-V", "phot.color;em.opt.B;em.opt.V"), ("V-I", "phot.color"), ("g_r", "phot.color"), ("colour", "phot.color"),
    ("DM", "phot.mag.distMod"), ("dist_mod", "phot.mag.distMod"), ("(m-M)0", "phot.mag.distMod"),
    ("Av", "phys.absorption;em.opt"), ("A_V", "phys.absorption;em.opt"), ("ext_g", "phys.absorption;em.opt"),
    ("E(B-V)", "phot.color.excess"), ("EBV", "phot.color.excess"), ("reddening", "phot.color.excess"),
])
def test_columns_in_mag_that_are_not_magnitudes(name, ucd):
    assert infer_ucd(name, "mag") == ucd
    assert not infer_ucd(name, "mag").startswith("phot.mag;") and infer_ucd(name, "mag") != "phot.mag"


@pytest.mark.parametrize("spelled, name", [
    ("str320", "string"), ("bytes10", "string"), ("object", "string"), ("category", "string"),
    ("string[pyarrow]", "string"), ("char", "string"), ("U10", "string"), ("Int32", "int32"),
    ("UInt64", "uint64"), ("u2", "uint16"), (">f8", "float64"), ("double", "float64"), ("float32", "float32"),
    ("boolean", "bool"), ("unsignedByte", "uint8"), ("long", "int64"), ("datetime64[ms]", "timestamp"),
    ("datetime64[ns, UTC]", "timestamp"), ("timestamp[ms]", "timestamp"), ("decimal128(5, 2)", "decimal"),
    ("date32[day]", "date"), ("", ""),
])
def test_datatypes_have_one_spelling(spelled, name):
    """The registry's datatypes were spelled as numpy, pandas or VOTable spelled them (s4 cat5, item 2)."""
    from platform_lib.catalogs import DATATYPES, ColumnInfo, normalize_datatype

    assert normalize_datatype(spelled) == name
    assert ColumnInfo("x", datatype=spelled).datatype == name
    assert name == "" or name in DATATYPES


def test_sexagesimal_text_is_read_in_hours_unless_it_says_degrees():
    """RA text in hours by default; in degrees when the unit says so or the text is a plain decimal number."""
    import astropy.units as u
    import numpy as np
    from astropy.coordinates import Angle
    from astropy.table import Column, MaskedColumn, Table

    from platform_lib.catalogs._sexagesimal import decimal_degrees, sexagesimal_position_columns

    hours, _ = decimal_degrees(Column(["05 34 31.94", "5h34m31.94s", ""]), "RA", is_ra=True, label="t")
    assert hours[0] == hours[1] == Angle("05h34m31.94s").deg and hours.mask.tolist() == [False, False, True]
    plain, what = decimal_degrees(Column(["83.633", "10.5"]), "RA", is_ra=True, label="t")
    assert plain.tolist() == [83.633, 10.5] and what == "right ascension in degrees"
    by_unit, _ = decimal_degrees(Column(["83 37 59.1"], unit=u.deg), "RA", is_ra=True, label="t")
    assert by_unit[0] == Angle("83d37m59.1s").deg
    dec, _ = decimal_degrees(MaskedColumn(["-00 30 00", "x"], mask=[False, True]), "DE", is_ra=False, label="t")
    assert dec[0] == -0.5 and dec.mask.tolist() == [False, True]
    t = Table({"RAJ2000": ["05 34 31.94"], "DEJ2000": ["+22 00 52.2"], "Vmag": [8.4]})
    assert sexagesimal_position_columns(t) == ("RAJ2000", "DEJ2000")
    t["RAJ2000"].unit = u.mag  # not an angle: not a position
    assert sexagesimal_position_columns(t) is None
    assert sexagesimal_position_columns(Table({"ra": np.array([1.0]), "dec": np.array([2.0])})) is None


def _cols(names: str, ucds: dict | None = None, unit: str = "deg") -> list:
    from platform_lib.catalogs._columns import ColumnInfo

    return [ColumnInfo(n, unit=unit, ucd=(ucds or {}).get(n, ""), datatype="float64") for n in names.split()]


@pytest.mark.parametrize("names, ucds, expected", [
    # VizieR (UCD1+): the main position, not the first usual name (_RAJ2000 comes before RA_ICRS in the lists)
    ("_RAJ2000 _DEJ2000 RA_ICRS DE_ICRS e_RA_ICRS e_DE_ICRS",
     {"_RAJ2000": "pos.eq.ra", "_DEJ2000": "pos.eq.dec", "RA_ICRS": "pos.eq.ra;meta.main",
      "DE_ICRS": "pos.eq.dec;meta.main", "e_RA_ICRS": "stat.error;pos.eq.ra", "e_DE_ICRS": "stat.error;pos.eq.dec"},
     ("RA_ICRS", "DE_ICRS")),
    # VizieR (UCD1, pyvo's test.header_extraction.2.xml): the B1950 main position, not VizieR's computed ICRS one
    ("RAB1950 DEB1950 _RA.icrs _DE.icrs", {"RAB1950": "POS_EQ_RA_MAIN", "DEB1950": "POS_EQ_DEC_MAIN",
                                          "_RA.icrs": "pos.eq.ra", "_DE.icrs": "pos.eq.dec"}, ("RAB1950", "DEB1950")),
    ("centerAlpha centerDelta", {"centerAlpha": "POS_EQ_RA_MAIN", "centerDelta": "POS_EQ_DEC_MAIN"},  # SIA1
     ("centerAlpha", "centerDelta")),
    # a usual name whose UCD says it is no position is not one
    ("ra dec RAJ2000 DEJ2000", {"ra": "stat.error;pos.eq.ra", "dec": "stat.error;pos.eq.dec"}, ("RAJ2000", "DEJ2000")),
    # names from real files (astroquery's test data): ALFALFA, IRSA IBE, IRSA MOST, ALMA (ObsCore)
    ("AGCNr RAdeg_HI Decdeg_HI RAdeg_OC DECdeg_OC Vhelio", {}, ("RAdeg_HI", "Decdeg_HI")),
    ("in_row_id in_ra in_dec expid crval1 crval2", {}, ("in_ra", "in_dec")),
    ("mjd_obs ra_obj dec_obj sun_dist", {}, ("ra_obj", "dec_obj")),
    ("s_ra s_dec s_fov", {}, ("s_ra", "s_dec")),
    ("ra dec in_ra in_dec", {}, ("ra", "dec")),  # a usual name before a tagged one
    # never an error, an offset, a motion, a bound, a sexagesimal part or a precision code
    ("e_RAdeg e_DEdeg", {}, None), ("RA_offset DEC_offset", {}, None), ("pmRA pmDE", {}, None),
    ("pm_ra pm_dec", {}, None), ("ra_min dec_min ra_max dec_max", {}, None), ("RA_h DEC_h", {}, None),
    ("RA_PREC DEC_PREC", {}, None), ("ra_err dec_err", {}, None), ("dRA dDE", {}, None),
    ("ra_lo dec_lo ra_hi dec_hi", {}, None),  # bounds, not HI
    ("radius decay", {}, None),
])
def test_position_columns_by_ucd_first_then_by_name(names, ucds, expected):
    from platform_lib.catalogs._columns import guess_position_columns

    assert guess_position_columns(_cols(names, ucds)) == expected


def test_ogle_ra_lon_is_not_taken_for_degrees():
    """OGLE's extinction service answers ``RA/Lon Dec/Lat``: RA in hours or Galactic l, by the query
    (astroquery's ogle/gal_0_3.txt, asked at l=0 b=3, holds 17.568157 = 263.52 deg / 15): no position."""
    from platform_lib.catalogs._columns import guess_position_columns

    assert guess_position_columns(_cols("RA/Lon Dec/Lat A_I E(V-I)", unit="")) is None


def test_sexagesimal_text_main_position_by_ucd_first():
    from astropy.table import Table

    from platform_lib.catalogs._sexagesimal import sexagesimal_position_columns

    t = Table({"RA": ["05 34 31.94"], "DEC": ["+22 00 52.2"], "RA_txt": ["05 34 31.9"], "DE_txt": ["+22 00 52"]})
    t["RA_txt"].meta["ucd"], t["DE_txt"].meta["ucd"] = "POS_EQ_RA_MAIN", "POS_EQ_DEC_MAIN"
    assert sexagesimal_position_columns(t) == ("RA_txt", "DE_txt")
    t["RA"].meta["ucd"] = "stat.error;pos.eq.ra"  # named RA, but its UCD says otherwise
    t["RA_txt"].meta["ucd"] = "meta.note"
    assert sexagesimal_position_columns(t) is None


# --- UCDs that respect the unit; errors take the UCD of what they are the error of (task c1-data3) ---

@pytest.mark.parametrize("name, unit, table, ucd", [
    ("e_RAdeg", "deg", {"RAdeg": "pos.eq.ra;meta.main", "DEdeg": "pos.eq.dec;meta.main"}, "stat.error;pos.eq.ra"),
    ("e_RAdeg", "deg", None, "stat.error;pos.eq.ra"),
    ("e_DE_ICRS", "mas", {"DE_ICRS": "POS_EQ_DEC_MAIN"}, "stat.error;pos.eq.dec"),  # UCD1, as older VizieR gives
    ("ra_error", "mas", {"ra": "pos.eq.ra;meta.main"}, "stat.error;pos.eq.ra"),     # Gaia's names
    ("pmra_error", "mas / yr", {"pmra": "pos.pm;pos.eq.ra"}, "stat.error;pos.pm;pos.eq.ra"),
    ("e_RV", "km / s", {"RV": "spect.dopplerVeloc.opt;em.opt.I"}, "stat.error;spect.dopplerVeloc.opt;em.opt.I"),
    ("e_Plx", "mas", {"Plx": "pos.parallax.trig"}, "stat.error;pos.parallax.trig"),
    ("sigs", "mas", None, "stat.error"), ("e_pm", "mas / yr", None, "stat.error"),
    ("e_Vmag", "mag", {"Vmag": "phot.mag;em.opt.V"}, "stat.error;phot.mag;em.opt.V"),
    ("b_AV", "mag", {"AV": "phys.absorption"}, "stat.error"),  # VizieR's bounds of an interval on AV
    ("s_ra", "deg", None, "pos.eq.ra"),  # ObsCore's position, not an error
])
def test_error_columns_take_the_ucd_of_what_they_are_the_error_of(name, unit, table, ucd):
    assert infer_ucd(name, unit, table) == ucd


@pytest.mark.parametrize("name, unit", [
    ("e_RAdeg", "deg"), ("e_RAdeg", "arcsec"), ("e_DEdeg", "mas"), ("sigs", "mas"), ("RA_err", "arcsec"),
    ("Vmag", "deg"), ("A_g", "arcmin"), ("B-V", "rad"), ("DM", "km / s"), ("age", "Gyr"), ("ab", "Jy"),
    ("And", ""), ("e_RV", "km / s"),
])
def test_a_column_in_other_units_is_never_a_magnitude(name, unit):
    """The name patterns of magnitudes, colours and extinctions held whatever the unit: ``e_RAdeg`` [deg]
    was ``stat.error;phot.mag`` and so listed among magnitude errors by a search by UCD."""
    ucd = infer_ucd(name, unit)
    assert not any(w.startswith(("phot.mag", "phot.color", "phys.absorption")) for w in ucd.split(";")), ucd


# --- the bands and the parallax as VizieR labels them (task c1-data4) ---

@pytest.mark.parametrize("name, ucd", [
    # lower-case ugriz (SDSS, Pan-STARRS, URAT1, APASS's g_mag): VizieR's words, UCD1+ having no em.opt.g
    ("umag", "phot.mag;em.opt.U"), ("gmag", "phot.mag;em.opt.B"), ("rmag", "phot.mag;em.opt.R"),
    ("imag", "phot.mag;em.opt.I"), ("zmag", "phot.mag;em.opt.I"), ("g_mag", "phot.mag;em.opt.B"),
    # upper case stays Johnson-Cousins, 2MASS and Gaia: case matters (Gmag is Gaia's G, not SDSS g)
    ("Gmag", "phot.mag;em.opt"), ("Bmag", "phot.mag;em.opt.B"), ("Vmag", "phot.mag;em.opt.V"),
    ("Rmag", "phot.mag;em.opt.R"), ("Imag", "phot.mag;em.opt.I"), ("Umag", "phot.mag;em.opt.U"),
    ("Kmag", "phot.mag;em.IR.K"),
    # lower-case b, v and y are Strömgren's as often as anyone's: no band rather than a wrong one
    ("bmag", "phot.mag"), ("vmag", "phot.mag"), ("ymag", "phot.mag"),
    # lower-case j, h, k, ks are the near-infrared bands whoever writes them (OpenNGC's, 2MASS's) (c1-data5)
    ("jmag", "phot.mag;em.IR.J"), ("hmag", "phot.mag;em.IR.H"), ("kmag", "phot.mag;em.IR.K"),
    ("ksmag", "phot.mag;em.IR.K"), ("k_mag", "phot.mag;em.IR.K"),
])
def test_bands_as_vizier_labels_them_case_and_all(name, ucd):
    """``gmag`` was plain ``phot.mag`` (``g`` was looked up as ``G``'s case only), where VizieR says
    ``phot.mag;em.opt.B``; its error follows it."""
    from astropy.io.votable.ucd import check_ucd

    assert infer_ucd(name, "mag") == ucd
    assert check_ucd(ucd, check_controlled_vocabulary=True)
    assert infer_ucd("e_" + name, "mag", {name: infer_ucd(name, "mag")}) == "stat.error;" + ucd


@pytest.mark.parametrize("name", ["Plx", "plx", "parallax", "parallax_mas"])
def test_a_parallax_is_trigonometric_as_vizier_and_gaia_label_it(name):
    """VizieR (I/239, I/355) and the Gaia archive label parallaxes ``pos.parallax.trig``; we said
    ``pos.parallax``. A search by UCD ``pos.parallax`` still finds them (it matches whole words)."""
    assert infer_ucd(name, "mas") == "pos.parallax.trig"
    assert infer_ucd("e_" + name, "mas", {name: "pos.parallax.trig"}) == "stat.error;pos.parallax.trig"
    assert infer_ucd("e_" + name, "mas") == "stat.error;pos.parallax.trig"

def test_infer_ucds_uses_the_whole_table():
    from platform_lib.catalogs._columns import ColumnInfo, infer_ucds

    given = [ColumnInfo("RAICRS", unit="deg", ucd="pos.eq.ra;meta.main"), ColumnInfo("e_RAICRS", unit="mas"),
             ColumnInfo("Plx", unit="mas"), ColumnInfo("e_Plx", unit="mas"), ColumnInfo("Jmag", unit="mag"),
             ColumnInfo("e_Jmag", unit="mag"), ColumnInfo("e_Jmag2", unit="mag", ucd="stat.error")]
    assert [c.ucd for c in infer_ucds(given)] == [
        "pos.eq.ra;meta.main", "stat.error;pos.eq.ra", "pos.parallax.trig", "stat.error;pos.parallax.trig",
        "phot.mag;em.IR.J",
        "stat.error;phot.mag;em.IR.J", "stat.error"]


def _vizier_votables():
    """VizieR's own VOTables among the test data astropy, astroquery and pyvo ship (yCat_ resources)."""
    import re
    from pathlib import Path

    import astropy

    site = Path(astropy.__file__).parents[1]
    found = []
    for package in ("astropy", "astroquery", "pyvo"):
        for path in sorted((site / package).rglob("*")):
            if path.suffix in (".xml", ".vot") and "tests" in path.parts:
                text = path.read_text(errors="ignore")
                if re.search(r'ID="yCat_|vizier', text, re.I) and "<FIELD" in text:
                    found.append(path)
    return found


def _words(ucd: str) -> list[str]:
    """A UCD's words in lower case, ``meta.main`` left out."""
    return [w for w in ucd.lower().split(";") if w and w != "meta.main"]


def _compatible(ours: str, theirs: str, unit: str) -> bool:
    """Two UCDs agree, ``meta.main`` aside, word by word as far as the shorter goes (``pos.parallax`` is
    ``pos.parallax.trig`` less precise), and ours says phot.mag for a column not in ``mag`` only where
    VizieR's says phot.* too (``stat.error;phot.mag`` for ``sigs`` [mas] is wrong, not less precise)."""
    a, b = _words(ours), _words(theirs)
    if "phot.mag" in ours.lower() and "phot." not in theirs.lower() and unit != "mag":
        return False
    return all(x == y or y.startswith(x + ".") or x.startswith(y + ".") for x, y in zip(a, b))


def test_inferred_ucds_agree_with_vizier_own_ucds():
    """Each VizieR VOTable column with a UCD1+ UCD is given, as a file without UCDs would be, to
    ``infer_ucds`` with its table; where we infer a UCD it must agree with VizieR's, except for the
    columns listed here, where VizieR's own label is odd. On the old rules 19 of 63 distinct columns
    disagreed (``e_RA_ICRS`` [mas], ``e_pmRA``, ``e_Plx``, ``e_RV``, ``sigs`` as ``stat.error;phot.mag``; ``A0``
    [mag] as ``phot.mag``; ``b_AV`` as ``phot.mag``; ``recno`` as an identifier). The columns named in
    ``same_as_vizier`` must get VizieR's very UCD: ``Plx``/``e_Plx`` were ``pos.parallax`` and URAT1's
    ``gmag``/``rmag``/``imag`` plain ``phot.mag`` (VizieR: ``pos.parallax.trig``, ``em.opt.B``/``R``/``I``)."""
    import collections
    import re
    import warnings

    from astropy.io.votable import parse

    from platform_lib.catalogs._columns import ColumnInfo, infer_ucds

    pytest.importorskip("astroquery")
    vizier_odd = {
        "[5.8]", "[8.0]", "[24]",  # J/ApJ/706/83: in mag, but labelled phot.flux.density by VizieR
        "Simbad",  # VizieR's link to Simbad (meta.ref); elsewhere a Simbad name (meta.id)
        "HIP",  # I/355's HIP is labelled meta.number;phys.atmol.number
    }
    files = _vizier_votables()
    assert len(files) >= 5, files
    compared, disagree, differ, differ_lower = set(), set(), set(), set()
    infrared = collections.defaultdict(set)  # lower-cased name -> VizieR's UCDs of it in any case
    for path in files:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            votable = parse(str(path), verify="ignore")
        for table in votable.iter_tables():
            columns = [ColumnInfo(f.name, unit=str(f.unit) if f.unit is not None else "") for f in table.fields]
            for field, column in zip(table.fields, infer_ucds(columns)):
                if not field.ucd or not re.search("[a-z]", field.ucd) or not column.ucd:  # UCD1: not compared
                    continue
                compared.add(field.name)
                if not _compatible(column.ucd, field.ucd, column.unit):
                    disagree.add((field.name, column.unit, field.ucd, column.ucd))
                if _words(column.ucd) != _words(field.ucd):
                    differ.add((field.name, field.ucd, column.ucd))
            # the near-infrared magnitudes and their errors once more, named in lower case (c1-data5)
            lowered = [ColumnInfo(c.name.lower() if re.fullmatch(r"(e_)?(j|h|ks?)_?mag", c.name, re.I) else c.name,
                                  unit=c.unit) for c in columns]
            for field, column in zip(table.fields, infer_ucds(lowered)):
                if column.name != field.name and field.ucd and re.search("[a-z]", field.ucd):
                    infrared[column.name].add(field.ucd)
                    if not _compatible(column.ucd, field.ucd, column.unit) or (
                            not column.name.startswith("e_") and _words(column.ucd) != _words(field.ucd)):
                        differ_lower.add((column.name, field.ucd, column.ucd))
    assert len(compared) > 40
    assert {d[0] for d in disagree} <= vizier_odd, sorted(d for d in disagree if d[0] not in vizier_odd)
    for name in ("e_RA_ICRS", "e_DE_ICRS", "e_pmRA", "e_Plx", "e_RV", "A0", "sigs", "e_Jmag"):
        assert name in compared
    same_as_vizier = {"Plx", "e_Plx", "gmag", "rmag", "imag", "Bmag", "Kmag", "Jmag", "Hmag", "Ksmag", "A0",
                      "e_RA_ICRS", "e_DE_ICRS", "e_pmRA", "pmRA", "pmDE", "B-V", "recno"}
    assert same_as_vizier <= compared, sorted(same_as_vizier - compared)
    assert not {d[0] for d in differ} & same_as_vizier, sorted(d for d in differ if d[0] in same_as_vizier)
    # jmag, hmag, kmag, ksmag: VizieR gives each one band whatever the table, and the lower-case name gets it
    assert {"jmag", "hmag", "kmag", "ksmag", "e_jmag"} <= set(infrared), sorted(infrared)
    assert all(len({w for u in ucds for w in _words(u) if w.startswith("em.")}) == 1
               for name, ucds in infrared.items() if not name.startswith("e_")), dict(infrared)
    assert not differ_lower, sorted(differ_lower)


def test_one_reading_of_a_position_column_in_degrees():
    """viz and crossmatch each read a user's RA/Dec column on their own and differed on a unit that is not an
    angle: viz drew a column in metres as degrees, crossmatch refused it. ``position_degrees`` is the one
    reading (numbers in any angle unit, Quantities, masked values and pandas' nulls as NaN, text as ingest
    reads it); a unit that is not an angle is an error naming the column and the unit."""
    import astropy.units as u
    import numpy as np
    import pandas as pd
    from astropy.table import Column, MaskedColumn

    from platform_lib.catalogs import PositionColumnError, position_degrees

    def read(col, is_ra=True):
        return position_degrees(col, "RA", is_ra=is_ra, label="my table").tolist()

    assert read(Column([5.5, 1.0], unit=u.hourangle)) == pytest.approx([82.5, 15.0])
    assert read(Column([5.5], unit="h")) == pytest.approx([82.5])  # VizieR's 'h' is hours of angle, not of time
    assert read(np.array([np.pi]) * u.rad) == pytest.approx([180.0])
    assert read(Column([10.0], unit="")) == read(Column([10.0])) == read([10.0]) == [10.0]  # no unit: degrees
    assert np.isnan(read(MaskedColumn([10.0, 0.0], mask=[False, True], unit="deg"))).tolist() == [False, True]
    assert np.isnan(read(pd.Series([10.0, None], dtype="Float64"))).tolist() == [False, True]
    assert read(Column(["05 30 00"])) == read(pd.Series(["5h30m00s"])) == pytest.approx([82.5])  # RA text: hours
    assert read(Column(["-05 30 00"]), is_ra=False) == [-5.5]
    assert np.isnan(read(pd.Series(["05 30 00", None]))).tolist() == [False, True]
    for col, why in [(Column([1.0], unit=u.m), "column 'RA' has unit m, not an angle"),
                     (Column([1.0], unit="furlongs"), "column 'RA' has unit furlongs, not an angle"),
                     (Column([True]), "column 'RA' holds bool values, not a number"),
                     (Column(["1.2"], unit=u.rad), "column 'RA' holds text in unit rad"),
                     (Column(["north"]), "column 'RA', row 1: cannot read 'north'")]:
        with pytest.raises(PositionColumnError, match=f"my table: {why}") as err:
            read(col)
        assert err.value.code == "bad-position-column" and err.value.value in ("RA", "north")


def test_position_columns_read_both_columns_of_a_table_or_a_skycoord():
    """NWAY and skymap each carried their own copy of this reading (columns by name, a missing one named with the
    columns there, then ``position_degrees``; or a SkyCoord's ICRS positions): one function now, whose errors each
    package turns into its own (``missing-column``, ``bad-column``)."""
    import astropy.units as u
    import numpy as np
    import pandas as pd
    from astropy.coordinates import SkyCoord
    from astropy.table import Table

    from platform_lib.catalogs import PositionColumnError, position_columns

    table = Table({"RAJ2000": ["05 30 00"], "DEJ2000": ["-05 30 00"], "mag": [12.0] * u.mag})
    lon, lat = position_columns(table, "RAJ2000", "DEJ2000")
    assert lon.tolist() == pytest.approx([82.5]) and lat.tolist() == pytest.approx([-5.5])
    frame = pd.DataFrame({"ra": [10.0, None], "dec": [1.0, 2.0]})
    lon, lat = position_columns(frame, "ra", "dec")
    assert lon[0] == 10.0 and np.isnan(lon[1]) and lat.tolist() == [1.0, 2.0]
    galactic = SkyCoord(l=[0.0] * u.deg, b=[0.0] * u.deg, frame="galactic")
    lon, lat = position_columns(galactic, "ra", "dec")
    assert lon[0] == pytest.approx(266.405, abs=1e-3) and lat[0] == pytest.approx(-28.936, abs=1e-3)
    with pytest.raises(PositionColumnError, match=r"my table has no column 'RA' \(columns: RAJ2000, DEJ2000, mag\)") \
            as info:
        position_columns(table, "RA", "DEJ2000", label="my table")
    assert info.value.code == "missing-column" and info.value.value == "RA"
    with pytest.raises(PositionColumnError, match="column 'mag' has unit mag, not an angle") as info:
        position_columns(table, "RAJ2000", "mag")
    assert info.value.code == "bad-position-column"


def test_a_badly_formed_sexagesimal_cell_gets_our_words_and_a_form_that_works():
    """polish21: a position text column with a slip in a cell ('05 34 71') said astropy's own words in the
    brackets ("An invalid value for 'second' was found ('71'); should be in the range [0,60).") and no form
    that reads."""
    from astropy.table import Column

    from platform_lib.catalogs import PositionColumnError, position_degrees

    for cells, is_ra, said in [
            (["05 34 31.9", "05 34 71"], True, "column 'RA', row 2: cannot read '05 34 71' as a sexagesimal right "
             "ascension in hours (its seconds (71) must be below 60); correct the value (written as '05 35 17.3', "
             "'05:35:17.3' or '05h35m17.3s')"),
            (["+22 61 00"], False, "column 'RA', row 1: cannot read '+22 61 00' as a sexagesimal declination in "
             "degrees (its minutes (61) must be below 60); correct the value (written as '-05 23 28', '-05:23:28' "
             "or '-05d23m28s')"),
            (["05:34:xx"], True, "cannot read '05:34:xx' as a sexagesimal right ascension in hours (it is not a "
             "sexagesimal angle (hours or degrees, minutes, seconds)); correct the value")]:
        with pytest.raises(PositionColumnError) as err:
            position_degrees(Column(cells), "RA", is_ra=is_ra, label="my table")
        assert said in str(err.value) and "invalid value" not in str(err.value), str(err.value)
