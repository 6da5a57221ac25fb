"""The public :func:`crossmatch`: any two catalogues in, matched rows out.

Owns argument checking, reading coordinates out of tables (astropy, pandas), NaN handling, epoch
propagation, mode selection (nearest / best / all / k nearest) and assembling the output rows. Lazy inputs
(Dask DataFrames, HATS paths, registry names, LSDB catalogues) are handed to ``_dask``, except a table
against a HATS catalogue, which ``_touched`` matches in memory when the partitions it touches fit; the
pairs themselves always come from ``_engine.match_pairs``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.table import Column, Table

from platform_lib.crossmatch._engine import _radius_rad, match_pairs
from platform_lib.crossmatch._epoch import as_epoch, propagate
from platform_lib.crossmatch._errors import CrossmatchInputError, warn_dropped
from platform_lib.crossmatch._hours import EQUATORIAL, warn_if_hours
from platform_lib.crossmatch._sides import (
    CATALOGUES,
    DASK,
    FRAME,
    LSDB,
    NAMED,
    TABLE,
    checked_kind,
    is_catalogue,
    is_lazy,
    kind_of,
    unsupported,
)
from platform_lib.skyangle import sky_angle

__all__ = ["crossmatch", "check_columns", "MODES"]

MODES = ("nearest", "best", "all", "k")
SEPARATION = "separation_arcsec"
PROBABILITY = "match_probability"


def _columns_of(obj) -> list[str]:
    return list(obj.colnames) if isinstance(obj, Table) else [str(c) for c in obj.columns]


def _angle_column(obj, name: str, side: str, is_ra: bool = False) -> np.ndarray:
    """A coordinate column as float64 degrees (:func:`platform_lib.catalogs.position_degrees`: any angle unit,
    text as ingest reads it, NaN where null), with errors that name the column and the available columns."""
    from platform_lib.catalogs import CatalogError, position_degrees

    cols = _columns_of(obj)
    if name not in cols:
        raise CrossmatchInputError(
            f"{side} table has no column {name!r}; available columns: {', '.join(cols)}. "
            f"Pass {side}_coords=(lon_column, lat_column).",
            code="missing-column", value=name, available=cols)
    try:
        return position_degrees(obj[name], name, is_ra=is_ra, label=f"{side} table")
    except CatalogError as exc:
        raise CrossmatchInputError(f"{exc}; available columns: {', '.join(cols)}", code="mistyped-column",
                                   value=name, available=cols) from exc


def _default_position(obj, coords, frame: str | None, side: str):
    """``(obj, coords, frame)``: the side's position columns and frame as given, or for ``coords=None`` found as
    ingest finds them.

    A table or DataFrame with ``ra`` and ``dec`` uses those; otherwise the catalogue dictionary's rules
    (:mod:`platform_lib.catalogs`): :func:`~platform_lib.catalogs.guess_position_columns` (UCDs
    ``pos.eq.ra``/``pos.eq.dec``, then the usual names ``RA``/``DEC``, ``RAJ2000``/``DEJ2000``,
    ``RA_ICRS``/``DE_ICRS``, ``RAdeg``/``DEdeg``..., numbers in any angle unit or none), sexagesimal text
    (``"03 47 29.1"``), CDS's sexagesimal parts ``RAh RAm RAs DE- DEd DEm DEs`` (a VizieR table read by astropy:
    ``obj`` comes back with decimal columns ``RAJ2000``/``DEJ2000`` added, converted to ICRS as
    ``RA_ICRS``/``DE_ICRS`` when the columns' explanations state another equinox), then Galactic ``l``/``b``
    (UCDs ``pos.galactic.lon``/``lat``, names ``GLON``/``GLAT``...: ``frame`` becomes ``"galactic"`` unless the
    call or the table says otherwise), so a table that ingests also crossmatches. A catalogue (HATS path,
    registry name, LSDB catalogue) is matched on its own coordinates: ``("ra", "dec")``, which the Dask path
    reads as "its own".
    """
    if coords is not None:
        if frame is None and not isinstance(coords, str) and len(coords) == 2 and _is_galactic(obj, coords):
            frame = "galactic"  # GLON/GLAT named by the caller, who gave no frame: they are not ICRS
        return obj, coords, frame
    if is_catalogue(obj):
        return obj, ("ra", "dec"), frame  # a catalogue's own coordinates
    cols = _columns_of(obj)
    if "ra" in cols and "dec" in cols:
        return obj, ("ra", "dec"), frame
    from platform_lib.catalogs import guess_galactic_columns, guess_position_columns, sexagesimal_position_columns

    infos = _column_infos(obj, cols)
    found = guess_position_columns(infos)
    if found is None and isinstance(obj, Table):  # positions as sexagesimal text, e.g. a CSV of "03 47 29.1"
        found = sexagesimal_position_columns(obj)
    if found is None and isinstance(obj, Table):  # VizieR's RAh RAm RAs DE- DEd DEm DEs
        cds = _cds_positions(obj)
        if cds is not None:
            obj, found = cds
    if found is None:
        found = guess_galactic_columns(infos)
        if found is not None and frame is None and _stated_frame(obj) is None:
            frame = "galactic"
    if found is None:
        raise CrossmatchInputError(
            f"{side} table has no position columns that could be recognised (by UCD pos.eq.ra/pos.eq.dec, or "
            f"by name: ra/dec, RA/DEC, RAJ2000/DEJ2000, RA_ICRS/DE_ICRS, RAdeg/DEdeg..., or RAh/RAm/RAs/DE-/DEd/"
            f"DEm/DEs, or Galactic GLON/GLAT); available columns: {', '.join(cols)}. "
            f"Pass {side}_coords=(lon_column, lat_column).",
            code="missing-column", value=None, available=cols)
    return obj, found, frame


def _column_infos(obj, names) -> list:
    """The columns ``names`` of a Table or DataFrame as the catalogue dictionary's ``ColumnInfo`` (unit, UCD,
    type), for its position rules; a Table's multidimensional and non-array columns are left out."""
    from platform_lib.catalogs import ColumnInfo

    infos = []
    for name in names:
        if isinstance(obj, Table):
            col = obj[name]
            if getattr(col, "ndim", 1) != 1 or not hasattr(col, "dtype"):
                continue
            infos.append(ColumnInfo(name, unit=_unit_for_guess(getattr(col, "unit", None)),
                                    ucd=str((getattr(col, "meta", None) or {}).get("ucd", "")),
                                    datatype=col.dtype.name))
        else:
            infos.append(ColumnInfo(name, datatype=str(obj.dtypes[name])))
    return infos


def _is_galactic(obj, coords) -> bool:
    """Whether the two columns ``coords`` of a Table or DataFrame are Galactic l/b (by UCD or name, as ingest
    tells them) in a table whose ``meta``/``attrs`` names no frame."""
    if not (isinstance(obj, Table) or hasattr(obj, "dtypes")) or _stated_frame(obj) is not None:
        return False
    cols = _columns_of(obj)
    if any(c not in cols for c in coords):
        return False
    from platform_lib.catalogs import guess_galactic_columns

    return guess_galactic_columns(_column_infos(obj, coords)) == tuple(coords)


def _unit_for_guess(unit) -> str:
    """A column's unit as the position rules read it: ``"deg"`` for any angle (``rad``, ``hourangle``,
    ``arcsec``: converted to degrees afterwards), else its own spelling (``""`` for none)."""
    if unit is None:
        return ""
    try:
        return "deg" if u.Unit(unit).is_equivalent(u.deg) else u.Unit(unit).to_string()
    except (ValueError, TypeError):
        return str(unit)


def _stated_frame(obj):
    """The frame a table's ``meta`` (or a DataFrame's ``attrs``) names, else ``None``."""
    meta = obj.meta if isinstance(obj, Table) else getattr(obj, "attrs", None)
    return meta.get("frame") if isinstance(meta, dict) else None


def _cds_positions(table: Table):
    """``(table with decimal positions, (ra, dec))`` from CDS's sexagesimal parts, in ICRS: as they are for
    ICRS, FK5 J2000 or an unstated equinox, else converted from the FK4/FK5 equinox the columns' explanations
    state (``Right ascension (B1950)``); ``None`` when the table has no such parts."""
    from platform_lib.catalogs import table_frame, with_cds_decimal_positions

    frame = table_frame(table, table.colnames, label="crossmatch")
    return with_cds_decimal_positions(table, None if frame.is_icrs else frame.astropy(), said=frame.said)


def _positions_in_degrees(obj, coords, side: str):
    """``obj`` with its position columns as float degrees (:func:`_angle_column`): text (sexagesimal
    ``"03 47 29.1"``, ``"+24:06:18"``, or decimal) read as ingest reads it (RA in hours unless its unit or plain
    decimal numbers say degrees), and a Table's columns in another angle unit (``hourangle``, ``rad``) converted;
    ``obj`` itself when nothing needs it. Done once, before any path (in memory, touched partitions, Dask), so all
    read the same degrees and give the same columns (the touched and Dask paths read a Table through pandas, which
    drops units: RA in hours matched nothing there)."""
    import pandas as pd

    is_table = isinstance(obj, Table)
    if not (is_table or isinstance(obj, pd.DataFrame)) or isinstance(coords, str) or len(coords) != 2:
        return obj
    cols = _columns_of(obj)

    def unit_of(name):
        unit = getattr(obj[name], "unit", None) if is_table else None
        return None if unit is None else u.Unit(unit)

    wanted = [(name, k == 0) for k, name in enumerate(coords) if name in cols and getattr(obj[name], "ndim", 1) == 1
              and (np.asarray(obj[name]).dtype.kind in "USO" or unit_of(name) not in (None, u.deg))]
    if not wanted:
        return obj
    obj = obj.copy()
    for name, is_ra in wanted:
        degrees = _angle_column(obj, name, side, is_ra)  # text, another angle unit, or an error naming the column
        if is_table:
            obj.replace_column(name, Column(degrees, name=name, unit=u.deg, meta=obj[name].info.meta))
        else:
            obj[name] = degrees
    return obj


def _in_icrs_as_stated(obj, coords, frame: str | None):
    """``(obj, coords)``, with the positions converted to ICRS into added ``RA_ICRS``/``DE_ICRS`` columns when a
    Table's ``meta["equinox"]`` (a VOTable's COOSYS as :func:`platform_lib.catalogs.votable_tables` keeps it) or its
    position columns' descriptions say they are FK4 or FK5 at an equinox other than J2000 (VizieR's ``_RAB1950``
    "Right ascension (FK4, Equinox=B1950.0)", a ReadMe's "(B1950)"), as ingest converts them
    (:func:`platform_lib.catalogs.table_frame`); unchanged when the call or ``meta["frame"]`` gives a frame. Without this a VizieR answer in B1950 was matched as
    ICRS, some 0.7 deg off."""
    if frame is not None or not isinstance(obj, Table) or isinstance(coords, str) or len(coords) != 2 \
            or _stated_frame(obj) is not None or any(c not in obj.colnames for c in coords):
        return obj, coords
    from platform_lib.catalogs import table_frame

    stated = table_frame(obj, coords, label="crossmatch")  # meta's equinox (a VOTable's COOSYS), else explanations
    if stated.is_icrs:
        return obj, coords
    lon, lat = (np.asarray(obj[c], dtype=np.float64) for c in coords)  # degrees: _positions_in_degrees ran
    lon, lat = np.where(np.ma.getmaskarray(obj[coords[0]]), np.nan, lon), \
        np.where(np.ma.getmaskarray(obj[coords[1]]), np.nan, lat)
    ok = np.isfinite(lon) & np.isfinite(lat)
    ra, dec = np.full(lon.shape, np.nan), np.full(lat.shape, np.nan)
    icrs = SkyCoord(lon[ok] * u.deg, lat[ok] * u.deg, frame=stated.astropy()).icrs
    ra[ok], dec[ok] = icrs.ra.deg, icrs.dec.deg
    names = ["RA_ICRS", "DE_ICRS"]
    while set(names) & set(obj.colnames):
        names = ["_" + n for n in names]
    obj = obj.copy(copy_data=False)
    for name, values, what, ucd in ((names[0], ra, "Right ascension", "pos.eq.ra;meta.main"),
                                    (names[1], dec, "Declination", "pos.eq.dec;meta.main")):
        obj[name] = Column(values, unit=u.deg, description=f"{what} (ICRS), converted by crossmatch from "
                                                           f"{coords[0]}/{coords[1]} ({stated.said})")
        obj[name].meta["ucd"] = ucd
    return obj, tuple(names)


def _side_coords(obj, coords, frame: str | None, side: str):
    """(lon, lat, frame) of one side. A SkyCoord column or ``meta['frame']`` names the frame."""
    if kind_of(obj) not in (TABLE, FRAME):
        raise unsupported(obj, side)
    if isinstance(coords, str):
        coords = (coords,)
    found_frame = None
    if isinstance(obj, Table) and len(coords) == 1 and isinstance(obj.columns.get(coords[0]), SkyCoord):
        sc = obj[coords[0]]
        found_frame = sc.frame.name
        sph = sc.spherical
        lon, lat = sph.lon.to_value(u.deg), sph.lat.to_value(u.deg)
    elif len(coords) == 2:
        lon = _angle_column(obj, coords[0], side, is_ra=True)
        lat = _angle_column(obj, coords[1], side)
    else:
        cols = _columns_of(obj)
        raise CrossmatchInputError(
            f"{side}_coords must be (lon_column, lat_column) or one SkyCoord column, got {coords!r}; "
            f"available columns: {', '.join(cols)}", code="missing-column", value=coords, available=cols)
    frame = _resolve_frame(obj, frame, found_frame, side)
    bad_lat = np.isfinite(lat) & ((lat < -90) | (lat > 90))
    if bad_lat.any():
        raise CrossmatchInputError(
            f"{side} latitudes out of [-90, 90] deg in {int(bad_lat.sum())} rows (first: "
            f"{lat[bad_lat][0]}); check {side}_coords", code="bad-latitude", value=float(lat[bad_lat][0]))
    return lon, lat, frame


def _resolve_frame(obj, frame: str | None, found_frame: str | None, side: str) -> str:
    """The frame of one side: the argument, a SkyCoord column's, ``meta``/``attrs["frame"]``, else ICRS.

    An argument that contradicts what the table says is a ``mixed-frames`` error. HATS catalogues
    and LSDB catalogues carry no frame: they are ICRS (the HATS convention) unless the argument says
    otherwise.
    """
    if isinstance(obj, Table):
        meta = obj.meta
    else:
        attrs = getattr(obj, "attrs", None)
        meta = attrs if isinstance(attrs, dict) else None
    meta_frame = (meta or {}).get("frame")
    for candidate in (found_frame, meta_frame):
        if candidate is not None and frame is not None and str(candidate).lower() != frame.lower():
            raise CrossmatchInputError(
                f"{side} table is in frame {candidate!r} but {side}_frame={frame!r}",
                code="mixed-frames", value=candidate)
    return str(frame or found_frame or meta_frame or "icrs").lower()


def _in_frame(obj, coords, lon, lat, frame: str, target: str):
    """Positions in ``frame`` converted to the frame ``target`` (astropy), for matching sides in different frames.

    A SkyCoord column converts with all its frame attributes (FK4/FK5 equinox...); a frame given
    by name takes astropy's defaults (``fk4``: B1950, ``fk5``: J2000). Rows with NaN stay NaN.
    """
    from astropy.coordinates import frame_transform_graph

    for name in (frame, target):
        if frame_transform_graph.lookup_name(name) is None:
            raise CrossmatchInputError(
                f"unknown frame {name!r}: use an astropy frame name (icrs, fk5, fk4, galactic, ...)",
                code="mixed-frames", value=name)
    ok = np.isfinite(lon) & np.isfinite(lat)
    out_lon, out_lat = np.full(lon.shape, np.nan), np.full(lat.shape, np.nan)
    if isinstance(coords, str):
        coords = (coords,)
    if isinstance(obj, Table) and len(coords) == 1 and isinstance(obj.columns.get(coords[0]), SkyCoord):
        sc = obj[coords[0]][ok]
    else:
        sc = SkyCoord(lon[ok] * u.deg, lat[ok] * u.deg, frame=frame)
    moved = sc.transform_to(target).spherical
    out_lon[ok], out_lat[ok] = moved.lon.to_value(u.deg), moved.lat.to_value(u.deg)
    return out_lon, out_lat


def _target_epoch(left_pm, left_epoch, right_epoch, epoch, right_pm):
    """The common epoch positions are moved to (``epoch=``, else the epoch of the side without motion)."""
    target = epoch
    if target is None:
        target = left_epoch if (right_pm is not None and not isinstance(left_epoch, str)) else right_epoch
    if target is None or isinstance(target, str):
        raise CrossmatchInputError(
            "give epoch= (the common epoch to propagate to) when epochs are columns",
            code="bad-epoch", value=target)
    return as_epoch(target, "epoch")


def mutual_nearest(i1, i2, sep, backward):
    """The left-to-right nearest pairs ``(i1, i2, sep)`` whose right row's nearest left row is their left row.

    ``backward`` is ``match_pairs(right, left, k=1)``: ``(j2, j1, sep)``. A pair is kept when the
    backward match of its right row names its left row: both rows are each other's nearest.
    """
    j2, j1, _ = backward
    nearest_left = np.full(int(max(i2.max(initial=-1), j2.max(initial=-1))) + 1, -1, dtype=np.int64)
    nearest_left[j2] = j1
    keep = nearest_left[i2] == i1
    return i1[keep], i2[keep], sep[keep]


def mode_pairs(lon1, lat1, lon2, lat2, radius, mode: str, k: int | None):
    """``(i1, i2, sep)`` of the in-memory match for ``mode`` (see :func:`crossmatch`): the nearest, the ``k``
    nearest, every pair, or the mutual nearest (``"best"``) within ``radius``."""
    kk = 1 if mode in ("nearest", "best") else (k if mode == "k" else None)
    i1, i2, sep = match_pairs(lon1, lat1, lon2, lat2, radius, k=kk)
    if mode == "best":
        i1, i2, sep = mutual_nearest(i1, i2, sep, match_pairs(lon2, lat2, lon1, lat1, radius, k=1))
    return i1, i2, sep


def _rows(obj, idx):
    if isinstance(obj, Table):
        return obj[idx]
    return obj.iloc[idx].reset_index(drop=True)


def _assemble(left, right, i1, i2, sep, prob, suffixes):
    lcols, rcols = _columns_of(left), _columns_of(right)
    clash = set(lcols) & set(rcols)
    lname = {c: (c + suffixes[0] if c in clash else c) for c in lcols}
    rname = {c: (c + suffixes[1] if c in clash else c) for c in rcols}
    if isinstance(left, Table):
        # Each column is gathered once, straight into the output (no copy of a gathered copy).
        cols = {lname[c]: left[c][i1] for c in lcols}
        rtab = right if isinstance(right, Table) else Table.from_pandas(_rows(right, i2))
        ridx = i2 if rtab is right else slice(None)
        cols.update({rname[c]: rtab[c][ridx] for c in rcols})
        cols[SEPARATION] = Column(sep, unit=u.arcsec, copy=False)
        if prob is not None:
            cols[PROBABILITY] = Column(prob, copy=False)
        return Table(cols, meta=dict(left.meta), copy=False)
    import pandas as pd

    lrows, rrows = _rows(left, i1), _rows(right, i2)
    if isinstance(rrows, Table):
        rrows = rrows.to_pandas()
    out = pd.concat([lrows.rename(columns=lname), rrows.rename(columns=rname)], axis=1)
    out[SEPARATION] = sep
    if prob is not None:
        out[PROBABILITY] = prob
    return out


def _dictionary_columns(obj) -> dict[str, Any]:
    """A side's described columns (name -> object with ``unit``, ``description``, ``ucd``) when it is a
    catalogue of the registry (its dictionary), else ``{}`` (a HATS path, an LSDB catalogue, a DataFrame)."""
    if not (type(obj).__name__ == "TableInfo" or isinstance(obj, str)):
        return {}
    from platform_lib.catalogs import resolve
    from platform_lib.errors import PlatformError

    try:
        _, info = resolve(obj)
    except (PlatformError, OSError):
        return {}
    return {c.name: c for c in info.columns} if info is not None else {}


def _gives_table(left) -> bool:
    """Whether a crossmatch with this ``left`` returns an astropy Table: a Table, or a registry catalogue (its
    dictionary gives the columns' units, descriptions and UCDs); anything else gives a DataFrame."""
    return isinstance(left, Table) or bool(_dictionary_columns(left))


def _lazy_result_table(frame, left, right, suffixes) -> Table:
    """Pairs in a DataFrame (the Dask or touched-partitions path) as the Table a Table ``left`` gives in memory:
    the columns' units, descriptions and meta (UCDs) from a Table side, or from the registry's dictionary for a
    registry catalogue, ``separation_arcsec`` in arcsec, a Table ``left``'s meta as the table's. Text columns are
    numpy ``str`` with nulls masked, as the in-memory path and a search give them (``Table.from_pandas`` made Arrow
    strings objects holding pandas' NA, which no table format wrote: a user's table matched against ``'I/311'``
    failed to save as Parquet, VOTable or FITS)."""
    from platform_lib.catalogs import native_text

    out = Table.from_pandas(frame, index=False)
    for name in out.colnames:
        if out[name].dtype.kind == "O":
            out.replace_column(name, native_text(out[name]), copy=False)
    if isinstance(left, Table):
        out.meta.update(left.meta)

    def described(obj) -> dict[str, Any]:
        return {c: obj[c] for c in obj.colnames} if isinstance(obj, Table) else _dictionary_columns(obj)

    ldesc, rdesc = described(left), described(right)

    def source(name: str):
        if name in ldesc and name not in rdesc:
            return ldesc[name]
        if name.endswith(suffixes[0]) and name[: -len(suffixes[0])] in ldesc:
            return ldesc[name[: -len(suffixes[0])]]
        if name in rdesc:
            return rdesc[name]
        if name.endswith(suffixes[1]) and name[: -len(suffixes[1])] in rdesc:
            return rdesc[name[: -len(suffixes[1])]]
        return None

    for name in out.colnames:
        col = out[name]
        if name == SEPARATION:
            col.unit = u.arcsec
            continue
        src = source(name)
        if src is None:
            continue
        if not hasattr(src, "ucd"):  # a Table's column (a Column, or a Quantity of a QTable): as it was
            col.unit, col.description = getattr(src, "unit", None), src.info.description
            col.meta.update(src.info.meta or {})
            continue
        if src.unit:  # the registry's ColumnInfo
            try:
                col.unit = src.unit
            except ValueError:  # a unit astropy cannot read: kept in the dictionary, not on the column
                pass
        col.description = src.description or None
        if src.ucd:
            col.meta["ucd"] = src.ucd
    return out


def _ra_name(coords) -> str:
    """The RA column of a side's ``coords`` (a pair of names, or one SkyCoord column), for messages."""
    return coords if isinstance(coords, str) else str(coords[0])


def _finite(lon, lat, side, coords):
    ok = np.isfinite(lon) & np.isfinite(lat)
    dropped = int(ok.size - ok.sum())
    if dropped:
        warn_dropped(dropped, side, (coords,) if isinstance(coords, str) else coords, np.flatnonzero(~ok),
                     stacklevel=4)
    return ok, dropped


def _propagate_side(obj, lon, lat, pm, epoch, target, side):
    if pm is None or epoch is None:
        return lon, lat
    cols = _columns_of(obj)
    missing = [c for c in pm if c not in cols]
    if missing:
        raise CrossmatchInputError(
            f"{side} table has no proper-motion column(s) {missing}; available columns: {', '.join(cols)}",
            code="missing-column", value=missing, available=cols)
    pmra = _pm_column(obj, pm[0])
    pmdec = _pm_column(obj, pm[1])
    if isinstance(epoch, str):
        ep = _angle_like_epoch(obj, epoch, side)
    else:
        ep = as_epoch(epoch, f"{side}_epoch")
    return propagate(lon, lat, pmra, pmdec, ep, target)


def _pm_column(obj, name):
    col = obj[name]
    unit = getattr(col, "unit", None)
    arr = np.asarray(getattr(col, "value", col), dtype=np.float64)
    if unit is not None and u.Unit(unit) != u.mas / u.yr:
        arr = (arr * u.Unit(unit)).to_value(u.mas / u.yr)
    return arr


def _angle_like_epoch(obj, name, side):
    from astropy.time import Time

    col = obj[name]
    if isinstance(col, Time):
        return col
    return Time(np.asarray(col, dtype=np.float64), format="jyear", scale="tcb")


def _per_row(errors, rows):
    """Per-row errors restricted to the rows kept (finite coordinates); scalars pass through.

    ``errors`` is a Quantity, an ``(a, b, pa)`` tuple (each a scalar or one value per row) or
    :class:`~platform_lib.crossmatch.PositionalErrors`.
    """
    if rows is None:
        return errors
    if isinstance(errors, u.Quantity):
        return errors if errors.isscalar else errors[rows]
    if isinstance(errors, tuple) and len(errors) == 3:
        return tuple(_per_row(e, rows) for e in errors)
    from platform_lib.crossmatch._bayes import PositionalErrors

    if isinstance(errors, PositionalErrors) and np.ndim(errors.cov_ee):
        return PositionalErrors(*(np.asarray(c)[rows] for c in (errors.cov_ee, errors.cov_en, errors.cov_nn)))
    return errors


def _scalar_errors(errors, name: str):
    """One positional error for a whole catalogue on Dask, as (cov_ee, cov_en, cov_nn) in rad^2."""
    from platform_lib.crossmatch._bayes import as_errors

    errs = as_errors(errors, name=name)
    if np.ndim(errs.cov_ee):
        raise CrossmatchInputError(
            f"{name} has one value per row, but the rows of a catalogue on Dask (HATS, LSDB, Dask "
            f"DataFrame) have no fixed order to line them up with; give one error for the whole "
            f"catalogue ({name}=0.3 * u.arcsec, or an (a, b, pa) tuple of scalars), or load it into "
            f"memory (a Table or pandas DataFrame) to use per-row errors",
            code="per-row-errors-lazy", value=name)
    return float(errs.cov_ee), float(errs.cov_en), float(errs.cov_nn)


def _lazy_spec(left, right, radius, *, left_frame, right_frame, left_pm, right_pm, left_epoch, right_epoch,
               epoch, probability, left_errors, right_errors, **passed):
    """Check the arguments for the Dask path and turn them into a ``_inputs.LazySpec``."""
    from platform_lib.crossmatch._inputs import LazySpec, Motion

    f1, f2 = _resolve_frame(left, left_frame, None, "left"), _resolve_frame(right, right_frame, None, "right")
    frames = _lazy_frames(left, right, f1, f2)
    motions = [None, None]
    if left_epoch is not None or right_epoch is not None:
        for name, value in (("left_epoch", left_epoch), ("right_epoch", right_epoch), ("epoch", epoch)):
            if isinstance(value, str):
                raise CrossmatchInputError(
                    f"{name}={value!r} names a column: per-row epochs are not supported for catalogues "
                    f"on Dask; give one epoch per catalogue (an astropy Time or a Julian year such as "
                    f"2016.0), or load the catalogue into memory", code="epoch-column-lazy", value=value)
        target = _target_epoch(left_pm, left_epoch, right_epoch, epoch, right_pm)
        for i, (pm, ep, side) in enumerate(((left_pm, left_epoch, "left"), (right_pm, right_epoch, "right"))):
            if pm is not None and ep is not None:
                if isinstance(pm, str) or len(pm) != 2:
                    raise CrossmatchInputError(
                        f"{side}_pm must be (pmra_column, pmdec_column), got {pm!r}", code="missing-column",
                        value=pm)
                dt = float((target - as_epoch(ep, f"{side}_epoch")).to_value(u.yr))
                motions[i] = Motion(pm=(str(pm[0]), str(pm[1])), dt_years=dt)
    errors = None
    if probability:
        if passed["lazy"]:
            raise CrossmatchInputError(
                "probability=True cannot be computed lazily: the prior needs the Bayes factors of every "
                "pair of the whole catalogues; call with lazy=False (the default)",
                code="probability-lazy", value="probability")
        errors = (_scalar_errors(left_errors, "left_errors"), _scalar_errors(right_errors, "right_errors"))
    return LazySpec(left_motion=motions[0], right_motion=motions[1], errors=errors, left_frame=frames[0],
                    right_frame=frames[1], check_hours=f1 == f2 and f1.lower() in EQUATORIAL, **passed)


def _lazy_frames(left, right, f1: str, f2: str) -> tuple[str | None, str | None]:
    """The frames the Dask path converts each side from (``None``: matched as it is).

    Sides in one frame are matched as they are. Otherwise every side not in ICRS is converted to ICRS,
    which a table or DataFrame can be (per partition, with astropy); a HATS catalogue, LSDB catalogue or
    registry name cannot: it is partitioned on its positions, which HATS takes as ICRS (platform ingest
    converts other frames), so a different frame argument for one is a ``mixed-frames`` error.
    """
    if f1 == f2:
        return None, None
    from astropy.coordinates import frame_transform_graph

    out = []
    for obj, frame, side in ((left, f1, "left"), (right, f2, "right")):
        if frame_transform_graph.lookup_name(frame) is None:
            raise CrossmatchInputError(
                f"unknown frame {frame!r}: use an astropy frame name (icrs, fk5, fk4, galactic, ...)",
                code="mixed-frames", value=frame)
        if frame == "icrs":
            out.append(None)
        elif is_catalogue(obj):
            raise CrossmatchInputError(
                f"the {side} catalogue is a HATS or LSDB catalogue, partitioned on its positions as ICRS (the "
                f"HATS convention), but {side}_frame={frame!r}; a crossmatch on Dask converts tables and "
                f"DataFrames, not partitioned catalogues: ingest it with platform_lib.catalogs (which converts "
                f"it to ICRS), or pass it as a table or DataFrame", code="mixed-frames", value=frame)
        else:
            out.append(frame)
    return out[0], out[1]


def _hats_columns(obj) -> tuple[list[str], tuple[str, str]] | None:
    """``(columns, (ra, dec))`` of a HATS catalogue on disk (a path or registry name) from its Parquet schema and
    properties, no data read and no lsdb; None for anything else or what cannot be read here (the crossmatch
    names that problem itself)."""
    from platform_lib.crossmatch._partitions import schema_columns

    if kind_of(obj) != NAMED:
        return None
    from platform_lib.errors import PlatformError

    try:
        return schema_columns(obj)
    except (PlatformError, OSError, ValueError):
        return None


def check_columns(left, right, *, left_coords=None, right_coords=None, left_pm=None, right_pm=None,
                  left_epoch=None, right_epoch=None, **other) -> None:
    """Check that the columns :func:`crossmatch`'s arguments name are in the catalogues, before any work.

    Reads only column names: a table's or DataFrame's, and a HATS catalogue's (a path or registry name) from its
    Parquet schema, without lsdb or Dask. A HATS catalogue is matched on its own coordinate columns (``ra``/``dec``
    means them too). Proper-motion columns are checked for a side with an epoch. ``other`` (crossmatch's other
    keyword arguments) is not looked at, so a caller passes its options as they are. A background job calls this
    before it starts a Dask cluster; :func:`crossmatch` calls it first on the Dask path.

    Raises
    ------
    CrossmatchInputError
        Code ``missing-column``, naming the column, the argument and the catalogue's columns.

    Examples
    --------
    >>> from astropy.table import Table
    >>> try:
    ...     check_columns(Table({"ra": [1.0], "dec": [2.0]}), Table({"RA": [1.0], "DEC": [2.0]}),
    ...                   right_coords=("ra", "dec"))
    ... except CrossmatchInputError as exc:
    ...     print(exc.code, "|", exc)
    missing-column | right table has no column 'ra' (right_coords); available columns: RA, DEC
    """
    for obj, coords, pm, epoch, side in ((left, left_coords, left_pm, left_epoch, "left"),
                                         (right, right_coords, right_pm, right_epoch, "right")):
        named = []
        if coords is not None and not isinstance(coords, str) and len(coords) == 2:
            named += [(str(c), f"{side}_coords") for c in coords]
        if pm is not None and epoch is not None and not isinstance(pm, str) and len(pm) == 2:
            named += [(str(c), f"{side}_pm") for c in pm]
        if not named:
            continue
        hats = _hats_columns(obj)
        if hats is not None:
            cols, own = hats
            what = f"{side} HATS catalogue"
            if coords is not None and tuple(coords) in (own, ("ra", "dec")):
                named = [(c, arg) for c, arg in named if arg != f"{side}_coords"]  # its own coordinates
        elif kind_of(obj) in (TABLE, FRAME, DASK):
            cols, own, what = _columns_of(obj), None, f"{side} table"
        else:
            continue
        for column, arg in named:
            if column not in cols:
                raise CrossmatchInputError(
                    f"{what} has no column {column!r} ({arg}); available columns: {', '.join(cols)}",
                    code="missing-column", value=column, available=cols)
        if own is not None and coords is not None and tuple(coords) not in (own, ("ra", "dec")):
            from platform_lib.crossmatch._partitions import check_own_coords

            check_own_coords(own, coords, side, available=cols)


def _in_memory_against_catalogue(left, right, *, client, lazy, output) -> bool:
    """A table or DataFrame against a HATS catalogue (either side), or two HATS catalogues, with nothing only Dask
    does asked for: matched in memory from the catalogue's partitions the table touches (``_touched``; of two
    catalogues, the left one read whole as the table), when they fit."""
    kinds = {kind_of(left), kind_of(right)}
    return client is None and not lazy and output is None and kinds <= {TABLE, FRAME, LSDB, NAMED} \
        and bool(kinds & CATALOGUES)


def crossmatch(
    left,
    right,
    radius: u.Quantity,
    *,
    mode: str = "nearest",
    k: int | None = None,
    left_coords=None,
    right_coords=None,
    left_frame: str | None = None,
    right_frame: str | None = None,
    suffixes: tuple[str, str] = ("_1", "_2"),
    left_pm: tuple[str, str] | None = None,
    right_pm: tuple[str, str] | None = None,
    left_epoch=None,
    right_epoch=None,
    epoch=None,
    probability: bool = False,
    left_errors=None,
    right_errors=None,
    area: u.Quantity | None = None,
    density: tuple[u.Quantity, u.Quantity] | None = None,
    client=None,
    lazy: bool = False,
    output=None,
    progress=None,
):
    """Match two catalogues on the sky within ``radius``.

    Parameters
    ----------
    left, right
        astropy Tables or pandas DataFrames (matched in memory), or Dask DataFrames, HATS catalogue
        paths, catalogue registry names or LSDB catalogues (matched per HEALPix partition on Dask).
    radius
        The match radius, an astropy Quantity angle (``1 * u.arcsec``) or text with its unit (``"1 arcsec"``:
        :func:`platform_lib.skyangle.sky_angle`).
    mode
        ``"nearest"``: the nearest right row within the radius for each left row (STILTS
        ``find=best1``); ``"best"``: the pairs whose rows are each other's nearest within the radius,
        so each row of either side appears at most once (STILTS ``find=best``, TOPCAT's default
        symmetric best match); ``"all"``: every pair within the radius; ``"k"``: the ``k`` nearest
        right rows within the radius.
    left_coords, right_coords
        The (longitude, latitude) column names in degrees (or with angle units), or the name of one
        SkyCoord column of a Table. Default: ``ra``/``dec`` when a table has both, else its position
        columns as ingest finds them (UCDs ``pos.eq.ra``/``pos.eq.dec``, then names such as ``RA``/``DEC``,
        ``RAJ2000``/``DEJ2000``, ``RA_ICRS``/``DE_ICRS``, in any angle unit; sexagesimal text; VizieR's
        ``RAh RAm RAs DE- DEd DEm DEs``, added as decimal columns; then Galactic ``GLON``/``GLAT``, matched as
        frame ``galactic``); a catalogue on disk uses its own.
    left_frame, right_frame
        The frames of the coordinates (default ICRS, or the SkyCoord column's frame, or
        ``meta["frame"]``). In memory, a right side in another frame is converted into the left
        side's frame with astropy before matching (output coordinates stay the catalogues' own). On
        Dask a table or DataFrame side not in ICRS is converted to ICRS (per partition, with astropy)
        into two added columns ``<lon>_icrs``/``<lat>_icrs`` that it is matched on; a HATS catalogue is
        ICRS, and a frame argument that says otherwise is a ``mixed-frames`` error.
    suffixes
        Appended to column names present on both sides.
    left_pm, right_pm, left_epoch, right_epoch, epoch
        Proper-motion columns (``pmra*cos(dec)``, ``pmdec`` in mas/yr) and epochs (astropy Time, a
        Julian year, or a column name): a side with both is moved to ``epoch`` (default: the other
        side's epoch) before matching. Output coordinates are the catalogues' own.
    probability
        Add the Bayesian posterior ``match_probability`` of each output pair (Budavari & Szalay
        2008), from ``left_errors`` / ``right_errors``: Quantity 1-sigma errors per coordinate
        (scalar, or one per row in memory), ``(a, b, pa)`` tuples of Quantities for error ellipses
        (semi-axes and position angle east of north), or ``PositionalErrors``. On Dask the errors
        are one per catalogue.
    area
        The overlap area of the two catalogues (a solid-angle Quantity, ``u.sr`` or ``u.deg**2``)
        for the densities in the prior. Default: estimated from HEALPix occupancy; give it when
        known (a catalogue cut to a region the other does not fill).
    density
        ``(left, right)`` sky densities (Quantities per solid angle, ``1e4 / u.deg**2``) for the
        prior, when known from the full surveys; they replace the counted densities.
    client, lazy, output, progress
        For lazy inputs: the ``dask.distributed.Client`` (default: the current one, the platform's
        gateway, else a LocalCluster); return the lazy LSDB catalogue instead of computing; write
        the result as a HATS catalogue in the folder ``output`` (new or empty; it appears whole or
        not at all) and return its path instead of a DataFrame; show a progress bar (default: when
        interactive). ``progress`` may also be a callable ``progress(fraction, message)``, called as
        the work advances (per HEALPix partition on Dask). Two HATS catalogues on disk are read and
        written partition by partition by astrohub itself (no LSDB in the way) unless
        probabilities or ``lazy`` ask for LSDB's path. A Table or DataFrame against a HATS catalogue
        (path, registry name, LSDB catalogue; either side) with none of ``client``, ``lazy``,
        ``output`` is matched in memory, with no Dask cluster: only the catalogue's partitions that
        the cones of the radius around the table's positions touch are read, when they hold at most
        5 million rows (``_touched.MEMORY_ROWS``; with probabilities and no ``area``, the whole
        catalogue, whose positions give the prior as on Dask); the answer is the Dask path's. So are
        two HATS catalogues whose left one's rows and the right one's touched rows hold at most as many
        rows together: the left one is read whole, as the table.
        Pass ``client=`` to run on Dask anyway.

    Returns
    -------
    Table, pandas.DataFrame or Path
        Both rows' columns and ``separation_arcsec`` (and ``match_probability``), one row per pair,
        ordered by left row then separation. The left input decides the type, on every path: a Table for
        a Table ``left`` or a registry catalogue ``left`` (a name or ``TableInfo``), with the columns' units,
        descriptions and UCDs (a Table's own, the registry dictionary's for a registry catalogue); a
        DataFrame for a DataFrame, HATS path or LSDB catalogue ``left``; the HATS folder when ``output`` is
        given (its ``_healpix_29`` is the left row's).

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.table import Table
    >>> a = Table({"ra": [10.0, 20.0], "dec": [0.0, 5.0]})
    >>> b = Table({"ra": [10.0001, 50.0], "dec": [0.0, 5.0]})
    >>> crossmatch(a, b, 1 * u.arcsec)["ra_1", "ra_2"].as_array().tolist()
    [(10.0, 10.0001)]
    """
    radius = sky_angle(radius, "radius")  # a Quantity, or text such as '2 arcsec'
    _radius_rad(radius)
    checked_kind(left, "left")  # a table, a DataFrame, a catalogue; else the error saying what is wrong with it
    checked_kind(right, "right")
    if mode not in MODES:
        raise CrossmatchInputError(f"mode must be one of {MODES}, got {mode!r}", code="bad-mode", value=mode)
    if mode == "k":
        if isinstance(k, bool) or not isinstance(k, (int, np.integer, float, np.floating)) or not np.isfinite(k) \
                or int(k) != k or k < 1:
            raise CrossmatchInputError(f"mode='k' needs a positive integer k, got {k!r}", code="bad-k", value=k)
        k = int(k)
    if (area is not None or density is not None) and not probability:
        raise CrossmatchInputError(
            "area= and density= are the prior of the match probabilities: pass probability=True "
            "(with left_errors= and right_errors=) or leave them out", code="unused-argument",
            value="area" if area is not None else "density")
    if probability and (left_errors is None or right_errors is None):
        raise CrossmatchInputError(
            "probability=True needs left_errors= and right_errors= (Quantity 1-sigma errors, "
            "scalar or one per row)", code="missing-errors", value=None)
    if area is not None or density is not None:
        from platform_lib.crossmatch._bayes import _check_area, _check_densities

        if area is not None:
            _check_area(area)
        if density is not None:
            _check_densities(density)
    left, left_coords, left_frame = _default_position(left, left_coords, left_frame, "left")
    right, right_coords, right_frame = _default_position(right, right_coords, right_frame, "right")
    left = _positions_in_degrees(left, left_coords, "left")
    right = _positions_in_degrees(right, right_coords, "right")
    left, left_coords = _in_icrs_as_stated(left, left_coords, left_frame)
    right, right_coords = _in_icrs_as_stated(right, right_coords, right_frame)
    progress_fn = progress if callable(progress) else None
    if output is not None:
        if not (is_lazy(left) or is_lazy(right)):
            raise CrossmatchInputError(
                "output= writes a HATS catalogue and applies to catalogues on Dask (HATS paths, registry "
                "names, LSDB catalogues, Dask DataFrames); write an in-memory result with Table.write or "
                "DataFrame.to_parquet", code="unused-argument", value="output")
        if lazy:
            raise CrossmatchInputError("lazy=True returns the unwritten catalogue; give output= or lazy=True, "
                                       "not both", code="unused-argument", value="output")
        if not isinstance(output, (str, os.PathLike)) or not str(output):
            raise CrossmatchInputError(f"output must be a folder path, got {output!r}",
                                       code="bad-output", value=repr(output))
        output = Path(output)
    if is_lazy(left) or is_lazy(right):
        check_columns(left, right, left_coords=left_coords, right_coords=right_coords, left_pm=left_pm,
                      right_pm=right_pm, left_epoch=left_epoch, right_epoch=right_epoch)
        spec = _lazy_spec(
            left, right, radius, left_frame=left_frame, right_frame=right_frame, left_pm=left_pm,
            right_pm=right_pm, left_epoch=left_epoch, right_epoch=right_epoch, epoch=epoch,
            probability=probability, left_errors=left_errors, right_errors=right_errors,
            mode=mode, k=k, left_coords=left_coords, right_coords=right_coords, suffixes=suffixes,
            client=client, lazy=lazy, output=output, progress=None if progress_fn else progress, on_progress=progress_fn,
            area=area, density=density)
        out = None
        if _in_memory_against_catalogue(left, right, client=client, lazy=lazy, output=output):
            from platform_lib.crossmatch._touched import crossmatch_catalogues, crossmatch_touched

            both = is_catalogue(left) and is_catalogue(right)
            out = (crossmatch_catalogues if both else crossmatch_touched)(left, right, radius, spec)
        if out is None:
            from platform_lib.crossmatch._dask import crossmatch_lazy  # lsdb and Dask: only for the Dask path
            from platform_lib.crossmatch._inputs import frame_input
            from platform_lib.crossmatch._touched import warn_if_hours_sampled

            if not lazy and not (spec.left_frame or spec.right_frame):
                # A Dask DataFrame is computed here for the match in any case (``_dask``: not lazy, it is partitioned
                # by lsdb in this process): once, first, so that the RA-in-hours check reads its rows too (a table
                # against it went unchecked) and mode='best', which matches twice, does not compute it twice.
                left, right = (frame_input(obj, coords, side) if kind_of(obj) == DASK else obj
                               for obj, coords, side in ((left, left_coords, "left"), (right, right_coords, "right")))
            warn_if_hours_sampled(left, right, radius, spec)  # a sample of a side whose RA may be hours, else nothing

            out = crossmatch_lazy(left, right, radius, spec)
        if not lazy and output is None and _gives_table(left):
            return _lazy_result_table(out, left, right, suffixes)
        return out
    if progress_fn is not None:
        progress_fn(0.0, "matching in memory")
    lon1, lat1, f1 = _side_coords(left, left_coords, left_frame, "left")
    lon2, lat2, f2 = _side_coords(right, right_coords, right_frame, "right")
    if f1 != f2:  # in memory the right side's positions are converted into the left side's frame
        lon2, lat2 = _in_frame(right, right_coords, lon2, lat2, f2, f1)
    if left_epoch is not None or right_epoch is not None:
        target = _target_epoch(left_pm, left_epoch, right_epoch, epoch, right_pm)
        lon1, lat1 = _propagate_side(left, lon1, lat1, left_pm, left_epoch, target, "left")
        lon2, lat2 = _propagate_side(right, lon2, lat2, right_pm, right_epoch, target, "right")
    ok1, drop1 = _finite(lon1, lat1, "left", left_coords)
    ok2, drop2 = _finite(lon2, lat2, "right", right_coords)
    rows1 = np.flatnonzero(ok1) if drop1 else None
    rows2 = np.flatnonzero(ok2) if drop2 else None
    args = (lon1[ok1] if drop1 else lon1, lat1[ok1] if drop1 else lat1,
            lon2[ok2] if drop2 else lon2, lat2[ok2] if drop2 else lat2)
    i1, i2, sep = mode_pairs(*args, radius, mode, k)
    if f1 == f2:  # few matches, and one side's RA all in [0, 24] that would match times 15: hours, not degrees
        warn_if_hours(*args, i1, i2, radius, (_ra_name(left_coords), _ra_name(right_coords)), (f1, f2))
    prob = None
    if probability:
        from platform_lib.crossmatch._bayes import match_probability

        e1 = _per_row(left_errors, rows1)
        e2 = _per_row(right_errors, rows2)
        prob = match_probability(
            lon1[ok1], lat1[ok1], lon2[ok2], lat2[ok2], i1, i2, e1, e2, area=area,
            densities=density).probability
    if rows1 is not None:
        i1 = rows1[i1]
    if rows2 is not None:
        i2 = rows2[i2]
    out = _assemble(left, right, i1, i2, sep, prob, suffixes)
    if progress_fn is not None:
        progress_fn(1.0, f"matched: {len(out)} pairs")
    return out
