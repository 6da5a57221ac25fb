"""Where a user's table has its positions, as ingest finds them, and those positions in ICRS.

Pure code (no I/O): :func:`sky_positions` finds a table's position columns by ingest's rules (UCDs, then the
usual names, in any angle unit; sexagesimal text; CDS's ``RAh RAm RAs DE- DEd DEm DEs`` parts; Galactic
``l``/``b``), reads them (:func:`~platform_lib.catalogs._degrees.position_degrees`) and converts them to ICRS
from the frame the table states (:func:`table_frame`: its ``meta``, where the readers keep a VOTable's COOSYS,
or its position columns' explanations), as ingest converts them. The one answer to "where are this table's
sources" for the packages that draw or match users' tables (viz, skymap, crossmatch's NWAY). Imports numpy,
astropy and this package's ``_columns``, ``_degrees``, ``_sexagesimal``, ``_readers`` and ``_ingest``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from platform_lib.catalogs._columns import ColumnInfo, guess_galactic_columns, guess_position_columns
from platform_lib.catalogs._degrees import position_degrees
from platform_lib.catalogs._errors import PositionColumnError
from platform_lib.catalogs._ingest import SourceFrame, source_frame
from platform_lib.catalogs._readers import _frame_name, normalize_epoch, position_frame
from platform_lib.catalogs._sexagesimal import sexagesimal_position_columns, with_cds_decimal_positions

__all__ = ["SkyPositions", "sky_positions", "table_frame"]

_CDS_PARTS = ("RAh", "RAm", "RAs", "DE-", "DEd", "DEm", "DEs")


@dataclass(frozen=True)
class SkyPositions:
    """A table's positions in ICRS degrees (NaN where a row has none), the columns they were read from and the
    frame those are in (``"ICRS"``, ``"FK4 B1950"``, ``"FK5 J1975"``, ``"Galactic"``)."""

    ra: np.ndarray
    dec: np.ndarray
    lon_column: str
    lat_column: str
    frame: str = "ICRS"

    @property
    def converted(self) -> bool:
        """Whether the positions were converted (the columns do not hold ICRS right ascension and declination)."""
        return self.frame != "ICRS"


def _meta(table) -> dict:
    meta = getattr(table, "meta", None) if hasattr(table, "colnames") else getattr(table, "attrs", None)
    return {str(k).lower(): v for k, v in meta.items()} if isinstance(meta, dict) else {}


def _description(table, name: str) -> str:
    return str(getattr(getattr(table[name], "info", None), "description", None) or "") \
        if hasattr(table, "colnames") else ""


def table_frame(table, columns=(), *, label: str = "the table") -> SourceFrame:
    """The frame of a table's equatorial positions as the table states it, as ingest reads it: ``meta``'s
    ``equinox`` (``B1950``, ``J2000``, ``1950``) or ``frame`` (``FK4``, ``FK5``, ``ICRS``; a VOTable's COOSYS as
    the platform's readers keep it, ECSV and IPAC headers), else the explanations of ``columns``
    (``Right ascension (B1950)``, VizieR's ``(FK4, Equinox=B1950.0)``), else ICRS. A pandas DataFrame's ``attrs``
    count as its ``meta``. An equinox it cannot tell is a :class:`~platform_lib.catalogs.UnsupportedSource`.

    Examples
    --------
    >>> from astropy.table import Table
    >>> table_frame(Table({"ra": [1.0], "dec": [2.0]}, meta={"equinox": "B1950"})).said
    'FK4 B1950'
    """
    meta = _meta(table)
    equinox = normalize_epoch(meta.get("equinox")) or _frame_name(meta.get("frame"))
    if not equinox and hasattr(table, "colnames"):
        equinox, _ = position_frame({c: _description(table, c) for c in columns if c in table.colnames})
    return source_frame(equinox, label)


def _column_infos(table) -> list[ColumnInfo]:
    """The numeric one-dimensional columns as ingest's rules see them: any angle unit counts as degrees
    (converted when read), a DataFrame's columns have no unit."""
    import astropy.units as u

    infos = []
    if hasattr(table, "colnames"):
        for name in table.colnames:
            col = table[name]
            if getattr(col, "ndim", 1) != 1 or getattr(getattr(col, "dtype", None), "kind", "O") not in "iuf":
                continue
            unit = getattr(col, "unit", None)
            text = ""
            if unit is not None:
                parsed = u.Unit(unit, parse_strict="silent")
                text = "deg" if not isinstance(parsed, u.UnrecognizedUnit) and parsed.is_equivalent(u.deg) \
                    else str(unit)
            ucd = str((getattr(col, "meta", None) or {}).get("ucd", "") or "")
            infos.append(ColumnInfo(name, unit=text, ucd=ucd, datatype=col.dtype.name))
        return infos
    for name in getattr(table, "columns", []):
        kind = getattr(table[name].dtype, "kind", "O")
        if kind in "iuf":
            infos.append(ColumnInfo(str(name), datatype=str(table[name].dtype).lower()))
    return infos


def _is_galactic(table, lon: str, lat: str) -> bool:
    infos = {c.name: c for c in _column_infos(table)}
    if lon not in infos or lat not in infos:
        return False
    return guess_galactic_columns([infos[lon], infos[lat]]) == (lon, lat)


def sky_positions(table, lon: str | None = None, lat: str | None = None, *,
                  label: str = "the table") -> SkyPositions:
    """A table's positions in ICRS degrees, found and converted as ingest finds and converts them.

    ``table`` is an astropy ``Table``, a pandas ``DataFrame`` or a ``SkyCoord`` (its ICRS positions). Without
    ``lon``/``lat`` the columns are found by ingest's rules: UCDs ``pos.eq.ra``/``pos.eq.dec`` then the usual
    names (``ra``/``dec``, ``RAJ2000``/``DEJ2000``, ``RA_ICRS``, ``RAdeg``...) of numbers in any angle unit
    (radians, hours: converted), then such columns of sexagesimal text (``"05 35 17.3"``), then CDS's parts
    ``RAh RAm RAs DE- DEd DEm DEs``, then Galactic ``l``/``b`` (UCDs ``pos.galactic.lon``/``lat``, names
    ``GLON``/``GLAT``...). Columns named by ``lon``/``lat`` are Galactic when ingest's rules say so. Equatorial
    positions are in the frame :func:`table_frame` reads (FK4 ``B1950``, FK5 ``J1975``...), converted to ICRS
    with astropy; FK5 J2000 counts as ICRS, as at ingest.

    Raises :class:`PositionColumnError` (code ``missing-column``) for a named column that is not there or a
    table with no position columns, naming the columns there; otherwise as
    :func:`~platform_lib.catalogs.position_degrees` does for a column that holds no angles.

    Examples
    --------
    >>> from astropy.table import Table
    >>> p = sky_positions(Table({"GLON": [0.0], "GLAT": [0.0]}))
    >>> p.frame, round(float(p.ra[0]), 3), round(float(p.dec[0]), 3)
    ('Galactic', 266.405, -28.936)
    """
    from astropy.coordinates import SkyCoord

    if isinstance(table, SkyCoord):
        icrs = table.icrs
        return SkyPositions(np.atleast_1d(icrs.ra.deg).astype(float), np.atleast_1d(icrs.dec.deg).astype(float),
                            "ra", "dec", "ICRS")
    names = [str(c) for c in (getattr(table, "colnames", None) or getattr(table, "columns", []))]
    galactic = False
    if lon is not None or lat is not None:
        for name in (lon, lat):
            if name is None or name not in names:
                raise PositionColumnError(
                    f"{label} has no column {name!r} (columns: {', '.join(names[:20])}); name both position "
                    "columns", code="missing-column", value=name)
        galactic = _is_galactic(table, lon, lat)
        found = (lon, lat)
    else:
        infos = _column_infos(table)
        found = guess_position_columns(infos)
        if found is None and hasattr(table, "colnames"):
            found = sexagesimal_position_columns(table)
            if found is None:
                cds = with_cds_decimal_positions(table)  # RAJ2000/DEJ2000 in the parts' own frame
                if cds is not None:
                    frame = table_frame(table, _CDS_PARTS, label=label)
                    return _in_icrs(*(np.ma.filled(np.ma.asarray(cds[0][c], dtype=float), np.nan) for c in cds[1]),
                                    "RAh", "DEd", frame.astropy(), frame.said if not frame.is_icrs else "ICRS")
        if found is None:
            found = guess_galactic_columns(infos)
            galactic = found is not None
        if found is None:  # columns named as positions in a unit that is no angle: that is the error to name
            from dataclasses import replace

            named = guess_position_columns([replace(c, unit="") for c in infos])
            for name, is_ra in zip(named or (), (True, False)):
                position_degrees(table[name], name, is_ra=is_ra, label=label)
            raise PositionColumnError(
                f"{label}: no position columns found among {names[:20]} (tried UCDs pos.eq.ra/pos.eq.dec, names "
                "ra/dec, RAJ2000/DEJ2000, RA_ICRS/DE_ICRS, RAdeg/DEdeg..., sexagesimal text, CDS's RAh/RAm/RAs/"
                "DE-/DEd/DEm/DEs and Galactic GLON/GLAT); name them", code="missing-column", value=names[:20])
    lon_deg = position_degrees(table[found[0]], found[0], is_ra=not galactic, label=label)
    lat_deg = position_degrees(table[found[1]], found[1], is_ra=False, label=label)
    if galactic:
        from astropy.coordinates import Galactic

        return _in_icrs(lon_deg, lat_deg, found[0], found[1], Galactic(), "Galactic")
    frame = table_frame(table, found, label=label)
    if frame.is_icrs:
        return SkyPositions(lon_deg, lat_deg, found[0], found[1], "ICRS")
    return _in_icrs(lon_deg, lat_deg, found[0], found[1], frame.astropy(), frame.said)


def _in_icrs(lon: np.ndarray, lat: np.ndarray, lon_name: str, lat_name: str, frame, said: str) -> SkyPositions:
    """Positions in ``frame`` (an astropy frame) in ICRS; rows without a valid position stay NaN."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    if said == "ICRS":
        return SkyPositions(lon, lat, lon_name, lat_name, said)
    ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90)
    ra, dec = np.full(lon.shape, np.nan), np.full(lat.shape, np.nan)
    if ok.any():
        icrs = SkyCoord(lon[ok] * u.deg, lat[ok] * u.deg, frame=frame).icrs
        ra[ok], dec[ok] = icrs.ra.deg, icrs.dec.deg
    return SkyPositions(ra, dec, lon_name, lat_name, said)
