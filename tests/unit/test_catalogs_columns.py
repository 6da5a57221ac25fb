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
