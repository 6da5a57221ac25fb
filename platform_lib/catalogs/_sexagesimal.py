"""Sexagesimal text positions (``"05 34 31.94"``, ``"+22:00:52.2"``) read as decimal degrees at ingest.

Pure code (no I/O): :func:`sexagesimal_position_columns` finds a table's RA/Dec text columns (the
names and UCDs :func:`~platform_lib.catalogs._columns.guess_position_columns` accepts, with no unit or
an angle unit), and :func:`decimal_degrees` parses one of them with astropy's :class:`~astropy.coordinates.Angle`;
:func:`platform_lib.skyposition.angle_trouble` says in our words what astropy refused in a sexagesimal text (re-exported
here with ``POSITION_FORMS``, as before).
Imports numpy, astropy, :mod:`platform_lib.skyposition` and the package's ``_columns`` and ``_errors``.
"""

from __future__ import annotations

import re
import warnings

import numpy as np

from platform_lib.catalogs._columns import _DEC_NAMES, _RA_NAMES, position_ucd
from platform_lib.catalogs._errors import UnsupportedSource
from platform_lib.skyposition import POSITION_FORMS, angle_trouble  # noqa: F401 - POSITION_FORMS: re-exported

__all__ = ["sexagesimal_position_columns", "decimal_degrees", "with_cds_decimal_positions", "angle_trouble",
           "POSITION_FORMS"]

#: Units (as a file spells them) that say a text angle is in hours, or in degrees.
_HOUR_UNITS = {"h", "hour", "hourangle", "h:m:s", "hms", "\"h:m:s\""}
_DEGREE_UNITS = {"deg", "degree", "degrees", "d:m:s", "dms", "\"d:m:s\""}
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _unit_text(col) -> str:
    unit = getattr(col, "unit", None)
    if unit is None:
        return ""
    text = unit.to_string() if hasattr(unit, "to_string") else str(unit)
    return text.strip().lower()


def _is_text(col) -> bool:
    kind = col.dtype.kind
    if kind in "US":
        return True
    if kind == "O":
        cells = [v for v in np.ma.getdata(col)[:50] if v is not None and v is not np.ma.masked]
        return bool(cells) and all(isinstance(v, (str, bytes)) for v in cells)
    return False


def sexagesimal_position_columns(table) -> tuple[str, str] | None:
    """The (RA, Dec) text columns of an astropy Table whose positions are sexagesimal strings, or ``None``.

    A column qualifies by UCD (``pos.eq.ra`` / ``pos.eq.dec``, UCD1's ``POS_EQ_RA``...) or by one of the
    usual position names (``ra``, ``RAJ2000``, ``dec``, ``DEJ2000``...), when it holds text and has no
    unit or an angle unit (``h``, ``hourangle``, ``deg``, or VizieR's ``"h:m:s"`` / ``"d:m:s"``). The
    UCD ``meta.main`` ones come first, then other UCD ones, then names, each in column order.
    """
    found: dict[str, list[tuple[int, int, str]]] = {"ra": [], "dec": []}
    for k, name in enumerate(table.colnames):
        col = table[name]
        if getattr(col, "ndim", 1) != 1 or not _is_text(col):
            continue
        unit = _unit_text(col)
        if unit and unit not in _HOUR_UNITS | _DEGREE_UNITS:
            continue
        ucd = position_ucd(str((col.meta or {}).get("ucd", "")))
        lower = name.lower()
        for key, names in (("ra", _RA_NAMES), ("dec", _DEC_NAMES)):
            if ucd.split(";")[0] == f"pos.eq.{key}":
                found[key].append((0 if "meta.main" in ucd else 1, k, name))
            elif lower in names and (not ucd or ucd.split(";")[0] in ("pos.eq", "pos")):
                found[key].append((2, k, name))
    if not (found["ra"] and found["dec"]):
        return None
    return min(found["ra"])[2], min(found["dec"])[2]


def _texts(col) -> tuple[np.ndarray, np.ndarray]:
    """The cells as stripped ``str`` and a mask of the empty or masked ones."""
    data = np.ma.getdata(col)
    mask = np.ma.getmaskarray(col) if np.ma.isMaskedArray(col) else np.zeros(len(data), bool)
    if data.dtype.kind == "S":
        data = np.char.decode(data, "latin-1")
    texts = np.array(["" if v is None else (v.decode("latin-1") if isinstance(v, bytes) else str(v))
                      for v in data], dtype=object) if data.dtype.kind == "O" else data.astype(str)
    texts = np.char.strip(texts.astype(str))
    return texts, mask | (texts == "") | np.isin(np.char.lower(texts), ["nan", "--", "null"])


def decimal_degrees(col, name: str, *, is_ra: bool, label: str) -> tuple[np.ma.MaskedArray, str]:
    """One text position column as decimal degrees (masked where empty), and what it was read as.

    RA is read in hours unless the column's unit says degrees, or every value is a plain decimal
    number (``"83.633"``, which is written in degrees); Dec in degrees. A value that does not parse,
    or is out of range, is an :class:`UnsupportedSource` naming the column, the row (from 1) and the value.
    """
    import astropy.units as u
    from astropy.coordinates import Angle

    texts, empty = _texts(col)
    unit = _unit_text(col)
    given = texts[~empty]
    if not is_ra or unit in _DEGREE_UNITS:
        hours = False
    elif unit in _HOUR_UNITS:
        hours = True
    else:
        hours = not (given.size and all(_PLAIN_NUMBER.match(v) for v in given))
    angle_unit = u.hourangle if hours else u.deg
    what = ("right ascension in hours" if hours else "right ascension in degrees") if is_ra \
        else "declination in degrees"
    out = np.full(len(texts), np.nan)
    if given.size:
        unique, inverse = np.unique(given, return_inverse=True)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # astropy's IllegalSecondWarning etc.: a bad value, not a doubt
                values = Angle(unique, unit=angle_unit).deg
        except Exception:
            values = np.array([_one(v, angle_unit, texts, empty, name, what, label) for v in unique])
        values = np.asarray(values, dtype=float)[inverse.ravel()]
        lo, hi = (0.0, 360.0) if is_ra else (-90.0, 90.0)
        outside = (values < lo) | (values > hi) | ~np.isfinite(values)
        if outside.any():
            bad = str(given[outside][0])
            raise _bad(name, _row(texts, empty, bad), bad, what, label,
                       f"it is outside [{lo:g}, {hi:g}] deg")
        out[~empty] = values
    return np.ma.MaskedArray(out, mask=empty), what


def _one(value: str, unit, texts, empty, name: str, what: str, label: str) -> float:
    from astropy.coordinates import Angle

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return float(Angle(value, unit=unit).deg)
    except Exception as exc:
        raise _bad(name, _row(texts, empty, value), str(value), what, label, angle_trouble(exc)) from exc


def _row(texts, empty, value: str) -> int:
    return int(np.flatnonzero((texts == value) & ~empty)[0]) + 1


def _bad(name: str, row: int, value: str, what: str, label: str, why: str) -> UnsupportedSource:
    return UnsupportedSource(
        f"{label}: column {name!r}, row {row}: cannot read {value!r} as a sexagesimal {what} ({why}); "
        f"correct the value (written as {_FORMS[what]}), or give the column a unit (h or deg) if it is read in the "
        "wrong one", value=value)


#: How a value of each kind of column reads, for :func:`_bad`.
_FORMS = {"right ascension in hours": "'05 35 17.3', '05:35:17.3' or '05h35m17.3s'",
          "right ascension in degrees": "'83 49 19.5', '83:49:19.5' or '83d49m19.5s'",
          "declination in degrees": "'-05 23 28', '-05:23:28' or '-05d23m28s'"}


def with_cds_decimal_positions(table, frame=None, *, said: str = ""):
    """``table`` (an astropy Table) with decimal RA/Dec columns (deg) computed from CDS's sexagesimal parts
    (``RAh RAm RAs DE- DEd DEm DEs``, as VizieR's byte-by-byte tables give positions), and their names; ``None``
    when it has no such parts, or has decimal positions already (``RAdeg``, ``RAJ2000``).

    The new columns are ``RAJ2000``/``DEJ2000`` (UCD ``pos.eq.ra;meta.main``...) when ``frame`` is ``None``
    (positions in ICRS or FK5 J2000, or the table does not say), else ``RA_ICRS``/``DE_ICRS``, converted with
    astropy from ``frame`` (an astropy frame: ``FK4(equinox="B1950")``; ``said`` names it in their
    descriptions). A row whose hours or degrees are missing gets a masked position. The table's columns are
    not copied.

    >>> from astropy.table import Table
    >>> t = Table({"RAh": [5], "RAm": [30], "RAs": [0.0], "DE-": ["-"], "DEd": [0], "DEm": [30], "DEs": [0.0]})
    >>> out, names = with_cds_decimal_positions(t)
    >>> names, float(out["RAJ2000"][0]), float(out["DEJ2000"][0])
    (('RAJ2000', 'DEJ2000'), 82.5, -0.5)
    """
    names = set(table.colnames)
    if not ({"RAh", "DEd"} <= names) or {"RAdeg", "RAJ2000", "_RAJ2000"} & names:
        return None
    import astropy.units as u

    def part(col):
        return np.ma.filled(np.ma.asarray(table[col], dtype=float), 0.0) if col in names else 0.0

    def bad(col):
        return np.ma.getmaskarray(table[col]) if col in names else False

    ra = 15.0 * (part("RAh") + part("RAm") / 60 + part("RAs") / 3600)
    sign = np.where(np.char.strip(np.asarray(table["DE-"], dtype=str)) == "-", -1.0, 1.0) if "DE-" in names else 1.0
    dec = sign * (part("DEd") + part("DEm") / 60 + part("DEs") / 3600)
    mask = bad("RAh") | bad("DEd")
    ra_name, dec_name, said = "RAJ2000", "DEJ2000", "J2000"
    if frame is not None:
        from astropy.coordinates import SkyCoord

        icrs = SkyCoord(ra * u.deg, dec * u.deg, frame=frame).icrs
        ra, dec = icrs.ra.deg, icrs.dec.deg
        ra_name, dec_name, said = "RA_ICRS", "DE_ICRS", f"ICRS, converted from {said or frame.name}"
        while ra_name in names or dec_name in names:
            ra_name, dec_name = "_" + ra_name, "_" + dec_name
    table = table.copy(copy_data=False)
    table[ra_name] = np.ma.MaskedArray(ra, mask=mask)
    table[dec_name] = np.ma.MaskedArray(dec, mask=mask)
    table[ra_name].unit, table[dec_name].unit = u.deg, u.deg
    table[ra_name].description = f"Right ascension ({said}), computed from RAh/RAm/RAs"
    table[dec_name].description = f"Declination ({said}), computed from DE-/DEd/DEm/DEs"
    table[ra_name].meta["ucd"] = "pos.eq.ra;meta.main"
    table[dec_name].meta["ucd"] = "pos.eq.dec;meta.main"
    return table, (ra_name, dec_name)
