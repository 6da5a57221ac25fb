"""The inputs of a crossmatch on catalogues, before any catalogue is opened: the checked options and the tables.

Owns :class:`LazySpec` (the options ``_api`` checked, for ``_dask`` and ``_touched``), the output column names,
turning an in-memory or Dask input into a checked pandas DataFrame (:func:`frame_input`: coordinate columns present
and numeric, latitudes in range, NaN rows dropped with a warning; a Dask DataFrame kept lazy is checked from its
metadata, :func:`check_columns_numeric`), converting table sides given in another frame
to ICRS (:func:`to_icrs`), the (propagated) positions of a partition or frame (:func:`positions`), a frame's fastest
proper motion, per-cell counts merged for the prior, and a frame's columns as pyarrow types, as LSDB types them
(:func:`arrow_frame`). Imports numpy, pandas, pyarrow and astropy only: no lsdb, hats or dask, so the in-memory path
against a HATS catalogue (``_touched``) stays free of them.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from astropy import units as u

from platform_lib.crossmatch._epoch import Motion, propagate_years
from platform_lib.crossmatch._errors import CrossmatchInputError, warn_dropped
from platform_lib.crossmatch._sides import DASK, FRAME, TABLE, kind_of, unsupported

__all__ = ["LazySpec", "Motion", "Columns", "SEPARATION", "LOG_BAYES", "PROBABILITY", "FOOTPRINT_DEPTH_DASK", "positions",
           "frame_input", "check_columns_numeric", "check_latitudes", "merged_counts", "to_icrs", "frame_proper_motion",
           "arrow_frame"]

SEPARATION = "separation_arcsec"
LOG_BAYES = "_log_bayes_factor"
PROBABILITY = "match_probability"
#: HEALPix order at which the Dask path counts sources for the overlap area of the prior (3.4').
FOOTPRINT_DEPTH_DASK = 10


@dataclass(frozen=True)
class LazySpec:
    """Everything :func:`crossmatch_lazy` needs besides the inputs and the radius (checked by ``_api``)."""

    mode: str
    k: int | None
    left_coords: Any
    right_coords: Any
    suffixes: tuple[str, str]
    client: Any = None
    lazy: bool = False
    output: Path | None = None
    progress: bool | None = None
    on_progress: Callable[[float, str], None] | None = None
    left_motion: Motion | None = None
    right_motion: Motion | None = None
    errors: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None
    area: u.Quantity | None = None
    density: tuple[u.Quantity, u.Quantity] | None = None
    #: The frame a table side is converted from to ICRS before matching (``None``: matched as it is).
    left_frame: str | None = None
    right_frame: str | None = None
    #: Both sides in one equatorial frame, matched as given: a side's RA that looks like hours is warned about
    #: (``_hours``; a Galactic longitude in [0, 24] is no hour, a side converted from another frame no longer
    #: holds the numbers the user gave).
    check_hours: bool = False


class Columns:
    """A side's (ra, dec) column names, as :func:`positions` takes them (an LSDB catalogue's info has the same)."""

    def __init__(self, ra: str, dec: str) -> None:
        self.ra_column, self.dec_column = ra, dec


def positions(df, info, motion: Motion | None) -> tuple[np.ndarray, np.ndarray]:
    """(lon, lat) of a partition in degrees, moved along the proper motions when ``motion`` says so."""
    lon = np.asarray(df[info.ra_column], dtype=np.float64)
    lat = np.asarray(df[info.dec_column], dtype=np.float64)
    if motion is not None and lon.size:
        pmra = np.asarray(df[motion.pm[0]], dtype=np.float64)
        pmdec = np.asarray(df[motion.pm[1]], dtype=np.float64)
        lon, lat = propagate_years(lon, lat, pmra, pmdec, motion.dt_years)
    return lon, lat


def frame_input(obj, coords, side: str) -> pd.DataFrame:
    """A pandas DataFrame of an in-memory (or Dask) input, checked like the in-memory path does:
    coordinate columns present and numeric, latitudes in [-90, 90], NaN rows dropped with a warning."""
    kind = kind_of(obj)
    if kind == TABLE:
        obj = obj.to_pandas()
    elif kind == DASK:
        # A Dask DataFrame has no sky partitioning: it is computed and partitioned by HEALPix here.
        obj = obj.compute()
    elif kind != FRAME:
        raise unsupported(obj, side)
    cols = [str(c) for c in obj.columns]
    values = []
    for c in coords:
        _check_column(obj, c, cols, side)
        try:
            values.append(pd.to_numeric(obj[c], errors="raise").to_numpy(dtype=np.float64, na_value=np.nan))
        except (TypeError, ValueError) as exc:
            raise _mistyped(obj, c, cols, side) from exc
    lon, lat = values
    check_latitudes(np.where(np.isfinite(lat), lat, 0.0), side)
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.all():
        warn_dropped(int((~ok).sum()), side, coords, np.flatnonzero(~ok))
        obj = obj[ok]
    return obj.reset_index(drop=True)


def _check_column(obj, c: str, cols: list[str], side: str, what: str = "") -> None:
    if c not in cols:
        raise CrossmatchInputError(
            f"{side} table has no {what + ' ' if what else ''}column {c!r}; available columns: {', '.join(cols)}",
            code="missing-column", value=c, available=cols)


def _mistyped(obj, c: str, cols: list[str], side: str, what: str = "a number of degrees") -> CrossmatchInputError:
    return CrossmatchInputError(
        f"{side} column {c!r} has type {obj[c].dtype}, not {what}; available columns: {', '.join(cols)}",
        code="mistyped-column", value=c, available=cols)


def check_columns_numeric(obj, columns, side: str, what: str = "") -> None:
    """A Dask DataFrame's ``columns`` present and numbers, from its metadata (nothing computed), with
    :func:`frame_input`'s errors; ``what``: "proper-motion" for those columns."""
    cols = [str(c) for c in obj.columns]
    for c in columns:
        _check_column(obj, c, cols, side, what)
        if not pd.api.types.is_numeric_dtype(obj._meta[c]):
            raise _mistyped(obj, c, cols, side, "a number of mas/yr" if what else "a number of degrees")


def check_latitudes(lat: np.ndarray, side: str) -> None:
    """A ``bad-latitude`` error when a latitude is out of [-90, 90] degrees."""
    bad = (lat < -90) | (lat > 90)
    if np.any(bad):
        first = float(np.asarray(lat)[bad][0])
        raise CrossmatchInputError(
            f"{side} latitudes out of [-90, 90] deg in {int(np.sum(bad))} rows (first: {first}); check "
            f"{side}_coords", code="bad-latitude", value=first)


def merged_counts(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per-partition ``(cell, n)`` rows summed per cell: the sorted cells and their counts."""
    summed = df.groupby("cell", sort=True)["n"].sum()
    return summed.index.to_numpy().astype(np.uint64), summed.to_numpy().astype(np.int64)


def _icrs_partition(df: pd.DataFrame, coords, frame: str, names: tuple[str, str]) -> pd.DataFrame:
    """One partition with its positions in ``frame`` converted to ICRS (astropy) into columns ``names``."""
    from astropy.coordinates import SkyCoord

    lon = pd.to_numeric(df[coords[0]], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    lat = pd.to_numeric(df[coords[1]], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90)
    out_lon, out_lat = np.full(lon.shape, np.nan), np.full(lat.shape, np.nan)
    if ok.any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ERFA's "dubious year" for B1950 and the like
            moved = SkyCoord(lon[ok] * u.deg, lat[ok] * u.deg, frame=frame).icrs
        out_lon[ok], out_lat[ok] = moved.ra.deg, moved.dec.deg
    df = df.copy()
    df[names[0]], df[names[1]] = out_lon, out_lat
    return df


def _icrs_names(columns, coords) -> tuple[str, str]:
    """Unused column names for a side's ICRS positions: ``<lon>_icrs``, ``<lat>_icrs`` (more ``_`` if taken)."""
    taken = {str(c) for c in columns}
    names = []
    for c in coords:
        name = f"{c}_icrs"
        while name in taken:
            name += "_"
        names.append(name)
    return names[0], names[1]


def to_icrs(left, right, spec: LazySpec):
    """Tables and DataFrames not in ICRS, converted per partition (a Dask DataFrame's on its workers, a
    table's in chunks of a million rows) into added ICRS columns that the match then uses; the checks
    of :func:`frame_input` run on the source columns first, so errors name them."""
    from dataclasses import replace

    sides = []
    changes = {}
    for obj, coords, frame, side in ((left, spec.left_coords, spec.left_frame, "left"),
                                     (right, spec.right_coords, spec.right_frame, "right")):
        if frame is None:
            sides.append(obj)
            continue
        if kind_of(obj) == DASK and all(c in obj.columns for c in coords):
            names = _icrs_names(obj.columns, coords)
            meta = obj._meta.assign(**{names[0]: np.float64(0), names[1]: np.float64(0)}).iloc[:0]
            obj = obj.map_partitions(_icrs_partition, coords, frame, names, meta=meta)
            if spec.lazy:  # kept a graph (``_dask``): converted when it is computed
                sides.append(obj)
                changes[f"{side}_coords"], changes[f"{side}_frame"] = names, None
                continue
            df = frame_input(obj, coords, side)
        else:
            df = frame_input(obj, coords, side)
            names = _icrs_names(df.columns, coords)
            step = 1_000_000
            df = pd.concat([_icrs_partition(df.iloc[i:i + step], coords, frame, names)
                            for i in range(0, max(len(df), 1), step)])
        sides.append(df.reset_index(drop=True))
        changes[f"{side}_coords"] = names
        changes[f"{side}_frame"] = None
    return sides[0], sides[1], replace(spec, **changes)


def frame_proper_motion(df: pd.DataFrame, motion: Motion) -> float:
    """The largest total proper motion (mas/yr) of a frame's rows; its proper-motion columns must be there."""
    cols = [str(c) for c in df.columns]
    missing = [c for c in motion.pm if c not in cols]
    if missing:
        raise CrossmatchInputError(
            f"table has no proper-motion column(s) {missing}; available columns: {', '.join(cols)}",
            code="missing-column", value=missing, available=cols)
    pm = np.hypot(*(np.asarray(df[c], dtype=np.float64) for c in motion.pm))
    return float(np.nanmax(pm)) if np.isfinite(pm).any() else 0.0


def arrow_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every column (and the index) of a pyarrow type, as LSDB types a frame it partitions
    (``lsdb.loaders.dataframe.from_dataframe_utils._convert_dtypes_to_pyarrow``), so that a table matched in
    memory gives the columns and types the Dask path gives."""
    index = df.index.astype(pd.ArrowDtype(pa.int64()))
    columns = {}
    for name in df.columns:
        array = pa.array(df[name], from_pandas=True)
        columns[name] = pd.Series(array, dtype=pd.ArrowDtype(array.type), copy=False, index=index)
    return pd.DataFrame(columns, index=index, copy=False)
