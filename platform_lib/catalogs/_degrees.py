"""A position column (right ascension or declination) as decimal degrees, whatever form it comes in.

Pure code (no I/O): :func:`position_degrees` reads numbers in any angle unit (an astropy ``Quantity``, a
``Column`` with a unit, degrees when it has none), masked values and pandas' nulls (NaN), and text, sexagesimal
or decimal, as ingest reads it (:func:`~platform_lib.catalogs._sexagesimal.decimal_degrees`). It is the one
reading of a user's position column for every package (viz, crossmatch, skymap); each turns the
:class:`PositionColumnError` into its own error class. :func:`position_columns` reads a pair of them by name from a
table, or the positions of a ``SkyCoord``. Imports numpy, astropy and the package's ``_sexagesimal``
and ``_errors``.
"""

from __future__ import annotations

import numpy as np

from platform_lib.catalogs._errors import PositionColumnError, UnsupportedSource
from platform_lib.catalogs._sexagesimal import _DEGREE_UNITS, _HOUR_UNITS, _unit_text, decimal_degrees

__all__ = ["position_columns", "position_degrees"]


def _angle_unit(col, name: str, label: str):
    """The column's unit as an astropy angle unit (``None``: it has none, or is dimensionless); a unit that is no
    angle is a :class:`PositionColumnError` naming the column and the unit."""
    import astropy.units as u

    unit = getattr(col, "unit", None)
    if unit is None:
        return None
    text = _unit_text(col)
    if text in _HOUR_UNITS:  # before astropy's parsing: "h" is there an hour of time, not of angle
        return u.hourangle
    if text in _DEGREE_UNITS:
        return u.deg
    parsed = u.Unit(unit, parse_strict="silent")
    if parsed == u.dimensionless_unscaled:
        return None
    if isinstance(parsed, u.UnrecognizedUnit) or not parsed.is_equivalent(u.deg):
        raise PositionColumnError(
            f"{label}: column {name!r} has unit {text}, not an angle, so it holds no positions; give the position "
            f"columns (in degrees or another angle unit), or correct the unit (e.g. table[{name!r}].unit = 'deg')",
            value=name)
    return parsed


def position_degrees(col, name: str, *, is_ra: bool, label: str = "the table") -> np.ndarray:
    """One right ascension (``is_ra``) or declination column as float64 decimal degrees, NaN where null.

    Numbers are in the column's unit: degrees when it has none, any other angle unit converted (``hourangle``,
    ``rad``, ``arcsec``; an astropy ``Quantity`` likewise). Text is read as ingest reads it
    (:func:`decimal_degrees`: ``"05 35 17.3"``, ``"-05:23:28"``, ``"5h35m17.3s"``; a right ascension in hours
    unless its unit or plain decimal numbers say degrees). Masked values, pandas' nulls and blank text are NaN.
    Values are not range-checked, except text (as ingest checks it).

    Raises :class:`PositionColumnError` naming ``label`` and the column for a unit that is not an angle (a
    column in metres is no position), a column that holds neither numbers nor text, and text that is no angle
    (with the row and the value).

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.table import Column
    >>> position_degrees(Column([5.5], unit=u.hourangle), "RA", is_ra=True)
    array([82.5])
    >>> position_degrees(Column(["05 30 00"]), "RAJ2000", is_ra=True)
    array([82.5])
    """
    import astropy.units as u

    unit = _angle_unit(col, name, label)
    data = col.value if isinstance(col, u.Quantity) else col
    if not hasattr(data, "dtype"):
        data = np.asarray(data)
    kind = data.dtype.kind
    if getattr(data, "ndim", 1) > 1:
        raise PositionColumnError(f"{label}: column {name!r} holds arrays of shape {data.shape[1:]} in each row, "
                                  "not one position; give the position columns", value=name)
    if kind in "iuf":
        if hasattr(data, "to_numpy"):  # pandas, whose nullable numbers hold pd.NA
            values = data.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            values = np.array(np.ma.getdata(data), dtype=np.float64)
            if np.ma.isMaskedArray(data):
                values[np.ma.getmaskarray(data)] = np.nan  # a null position is no position, whatever is under it
        values = np.atleast_1d(values)
        return values if unit is None or unit == u.deg else (values * unit).to_value(u.deg)
    if kind in "USO":
        if unit not in (None, u.deg, u.hourangle):
            raise PositionColumnError(
                f"{label}: column {name!r} holds text in unit {_unit_text(col)}; text positions are read in hours "
                f"or degrees: make it numbers (table[{name!r}] = table[{name!r}].astype(float)) to keep its unit",
                value=name)
        if hasattr(data, "isna"):  # a pandas Series: its nulls (None, NaN, pd.NA) masked
            data = np.ma.MaskedArray(np.asarray(data, dtype=object), mask=np.asarray(data.isna()))
        try:
            degrees, _ = decimal_degrees(data, name, is_ra=is_ra, label=label)
        except UnsupportedSource as exc:
            raise PositionColumnError(str(exc), value=exc.value) from exc
        return np.atleast_1d(degrees.filled(np.nan))
    raise PositionColumnError(
        f"{label}: column {name!r} holds {data.dtype} values, not a number of degrees or an angle as text; "
        "give the position columns", value=name)


def position_columns(table, lon: str, lat: str, *, label: str = "the table") -> tuple[np.ndarray, np.ndarray]:
    """The positions of ``table`` as float64 decimal degrees: its columns ``lon`` and ``lat`` (an astropy ``Table``,
    a pandas ``DataFrame``; :func:`position_degrees`, NaN where null), or a ``SkyCoord``'s ICRS positions.

    Raises :class:`PositionColumnError` with ``code`` ``"missing-column"`` for a column that is not there (naming
    ``label`` and the first columns there), else as :func:`position_degrees` does.

    Examples
    --------
    >>> from astropy.table import Table
    >>> import astropy.units as u
    >>> position_columns(Table({"RA": [5.5] * u.hourangle, "DE": [-5.5]}), "RA", "DE")
    (array([82.5]), array([-5.5]))
    """
    from astropy.coordinates import SkyCoord

    if isinstance(table, SkyCoord):
        sph = table.icrs.spherical
        return np.atleast_1d(sph.lon.deg).astype(float), np.atleast_1d(sph.lat.deg).astype(float)
    cols = list(getattr(table, "colnames", None) or getattr(table, "columns", []))
    for name in (lon, lat):
        if name not in cols:
            raise PositionColumnError(f"{label} has no column {name!r} (columns: {', '.join(map(str, cols[:12]))})",
                                      code="missing-column", value=name)
    return (position_degrees(table[lon], lon, is_ra=True, label=label),
            position_degrees(table[lat], lat, is_ra=False, label=label))
