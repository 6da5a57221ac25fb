"""A table in memory against a HATS catalogue, matched here: only the catalogue's partitions it touches are read.

Owns choosing the partitions of a HATS catalogue (path, registry name or LSDB catalogue) that the cones of
the radius (plus the proper motion's reach) around a table's positions touch (a MOC of the cones, mocpy,
against the catalogue's partitions, LSDB's ``moc_search``), checking their rows (hats' per-partition
statistics) against :data:`MEMORY_ROWS`, reading them in this process (Dask's threads, no cluster), and
matching with ``_api.mode_pairs``, as the in-memory path does. The output DataFrame has the columns, types and
order the Dask path (``_dask``) returns, and match probabilities its prior (the densities of the whole
catalogue, not of the partitions read). Two catalogues are matched so when the left one fits: read whole, it
is the table. It may import lsdb, hats and mocpy, as ``_dask`` does.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
from astropy import units as u

from platform_lib.catalogs import arrow_to_pandas
from platform_lib.crossmatch._dask import (
    FOOTPRINT_DEPTH_DASK,
    PROBABILITY,
    SEPARATION,
    LazySpec,
    _cell_counts,
    _frame_input,
    _max_proper_motion,
    _merged_counts,
    _positions,
    _rows_of,
    _to_icrs,
    open_catalog,
)
from platform_lib.crossmatch._partitions import cones_moc, reach_arcsec

__all__ = ["MEMORY_ROWS", "crossmatch_catalogues", "crossmatch_touched", "is_catalogue"]

#: The most catalogue rows the in-memory path holds (the rows of the partitions touched, plus the left catalogue's
#: rows when two catalogues are matched; with probabilities and no ``area=``, the whole catalogue's positions,
#: counted for the prior). Beyond, the match runs on Dask.
MEMORY_ROWS = 5_000_000
#: lsdb 0.11 calls NestedFrame.drop(inplace=True), deprecated by pandas 3.1: theirs, not the user's to act on.
_LSDB_INPLACE = "The inplace keyword in NestedFrame"


def is_catalogue(obj) -> bool:
    """A side partitioned on disk or by LSDB (a path, a registry name, an LSDB catalogue), not a table."""
    return isinstance(obj, (str, bytes)) or hasattr(obj, "__fspath__") or type(obj).__name__ == "TableInfo" \
        or type(obj).__module__.startswith("lsdb")


class _Own:
    """The (ra, dec) column names of a side, as ``_dask._positions`` takes them."""

    def __init__(self, ra: str, dec: str) -> None:
        self.ra_column, self.dec_column = ra, dec


def _touched(rcat, lon: np.ndarray, lat: np.ndarray, reach_arcsec_: float):
    """The catalogue cut to the partitions the cones of ``reach_arcsec_`` around (lon, lat) touch."""
    moc = cones_moc(lon, lat, reach_arcsec_, int(rcat.hc_structure.partition_info.get_highest_order()))
    return rcat.moc_search(moc, fine=False)


def _partition_rows(cat) -> int | None:
    """The rows of a catalogue's partitions, from its Parquet metadata; None when it has none."""
    pixels = cat.get_healpix_pixels()
    if not pixels:
        return 0
    try:
        stats = cat.hc_structure.per_partition_statistics(
            include_stats=["row_count"], include_pixels=list(pixels), warn_on_modified_catalog=False)
    except (AttributeError, KeyError, OSError, TypeError, ValueError):
        return None
    if stats is None or len(stats) == 0:
        return None
    return int(stats.iloc[:, 0].sum())


def _probabilities(log_bf, table_cells, cat, cat_rows: int, cat_motion, spec: LazySpec, table_rows: int,
                   flip: bool):
    """The Dask path's posteriors (``_dask._probabilities``): the prior from the whole catalogue."""
    import dask

    from platform_lib.crossmatch._bayes import (
        _check_densities,
        area_of_cells,
        footprint_from_cell_counts,
        posterior_from_log_bayes_factors,
    )

    densities = _check_densities(spec.density) if spec.density is not None else None
    if spec.area is not None:
        area, (n1, n2) = spec.area, ((cat_rows, table_rows) if flip else (table_rows, cat_rows))
    else:
        with dask.config.set(scheduler="threads"):
            cat_cells = _merged_counts(_cell_counts(cat, cat_motion).compute())
        counts = [cat_cells, table_cells] if flip else [table_cells, cat_cells]
        order, _, effective, (n1, n2) = footprint_from_cell_counts(counts, FOOTPRINT_DEPTH_DASK)
        area = area_of_cells(effective, order)
    return posterior_from_log_bayes_factors(log_bf, n1, n2, area, densities=densities).probability


def crossmatch_touched(left, right, radius: u.Quantity, spec: LazySpec, *,
                       budget: int | None = None) -> pd.DataFrame | None:
    """A Table or DataFrame against a HATS catalogue (either side) in memory; None, for the caller to
    go to Dask, when the partitions touched have more than ``budget`` rows (default :data:`MEMORY_ROWS`; the
    whole catalogue, for a prior to estimate, more than :data:`MEMORY_ROWS`) or no row counts in their metadata,
    or for mode='best' with probabilities (which the Dask path refuses, naming why). Unlike LSDB's path it
    needs no margin cache: the partitions read are all those the cones of the radius (plus the proper motions'
    reach) touch."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", _LSDB_INPLACE)
        return _crossmatch_touched(left, right, radius, spec, MEMORY_ROWS if budget is None else budget)


def crossmatch_catalogues(left, right, radius: u.Quantity, spec: LazySpec) -> pd.DataFrame | None:
    """Two HATS catalogues in memory: the left one, when it has at most :data:`MEMORY_ROWS` rows, is read whole
    (Dask's threads, no cluster) and matched as a table against the right one's partitions it touches
    (:func:`crossmatch_touched`), when those hold at most the rest of :data:`MEMORY_ROWS` (the bound is on what
    is held at once: the left rows and the right rows read); None, for the caller to go to Dask, when they do
    not fit, or when a side is said to be in another frame than ICRS (which the Dask path names)."""
    import dask

    if spec.left_frame or spec.right_frame:
        return None
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", _LSDB_INPLACE)
        cat = open_catalog(left, spec.left_coords, 0.0, "left")
        if _rows_of(cat) > MEMORY_ROWS:
            return None
        with dask.config.set(scheduler="threads"):
            frame = pd.DataFrame(cat.compute(progress_bar=False)).reset_index(drop=True)
    info = cat.hc_structure.catalog_info
    own = dataclasses.replace(spec, left_coords=(info.ra_column, info.dec_column))
    out = crossmatch_touched(frame, right, radius, own, budget=MEMORY_ROWS - len(frame))
    # the types of the Dask path for two catalogues on disk (``_partitions``), which reads them with Arrow
    if out is None:
        return None
    return arrow_to_pandas(pa.Table.from_pandas(out, preserve_index=False).replace_schema_metadata(None))


def _crossmatch_touched(left, right, radius: u.Quantity, spec: LazySpec, budget: int) -> pd.DataFrame | None:
    import dask

    from lsdb.loaders.dataframe.from_dataframe_utils import _convert_dtypes_to_pyarrow

    from platform_lib.crossmatch._api import mode_pairs  # _api calls this module: imported at call time

    if spec.mode == "best" and spec.errors is not None:
        return None  # the Dask path names what is refused (mode='best' with probabilities)
    r_arcsec = float(radius.to_value(u.arcsec))
    if spec.left_frame or spec.right_frame:
        left, right, spec = _to_icrs(left, right, spec)
    flip = is_catalogue(left)  # the catalogue on the left, the table on the right
    t_obj, c_obj = (right, left) if flip else (left, right)
    t_side, c_side = ("right", "left") if flip else ("left", "right")
    t_coords, c_coords = (spec.right_coords, spec.left_coords) if flip else (spec.left_coords, spec.right_coords)
    t_motion, c_motion = (spec.right_motion, spec.left_motion) if flip else (spec.left_motion, spec.right_motion)
    tf = _frame_input(t_obj, t_coords, t_side)
    cat = open_catalog(c_obj, c_coords, r_arcsec, c_side)
    cat_rows = _rows_of(cat)
    if spec.errors is not None and spec.area is None and cat_rows > MEMORY_ROWS:
        return None
    reach = reach_arcsec((m.dt_years, _max_proper_motion(obj, m))
                         for obj, m in ((tf, t_motion), (cat, c_motion)) if m is not None)
    t_lon, t_lat = _positions(tf, _Own(*t_coords), t_motion)
    sub = _touched(cat, t_lon, t_lat, r_arcsec + reach) if len(tf) else None
    rows = _partition_rows(sub) if sub is not None else 0
    if rows is None or rows > budget:
        return None
    if spec.on_progress is not None:
        spec.on_progress(0.0, f"reading {len(sub.get_healpix_pixels()) if sub is not None else 0} HEALPix "
                              f"partitions ({rows} rows) into memory")
    with dask.config.set(scheduler="threads"):
        cf = pd.DataFrame(sub.compute(progress_bar=False)) if sub is not None and rows else cat.to_dask_dataframe(divisions=False)._meta
    cf = cf.reset_index(drop=True)
    c_lon, c_lat = _positions(cf, cat.hc_structure.catalog_info, c_motion)
    ok = np.isfinite(c_lon) & np.isfinite(c_lat)
    if not ok.all():
        cf, c_lon, c_lat = cf[ok].reset_index(drop=True), c_lon[ok], c_lat[ok]
    tf = _convert_dtypes_to_pyarrow(tf)
    if flip:
        lf, rf, (lon1, lat1, lon2, lat2) = cf, tf, (c_lon, c_lat, t_lon, t_lat)
    else:
        lf, rf, (lon1, lat1, lon2, lat2) = tf, cf, (t_lon, t_lat, c_lon, c_lat)
    i1, i2, sep = mode_pairs(lon1, lat1, lon2, lat2, radius, spec.mode, spec.k)
    lcols, rcols = [str(c) for c in lf.columns], [str(c) for c in rf.columns]
    clash = set(lcols) & set(rcols)
    lpart = lf.iloc[i1].reset_index(drop=True).rename(
        columns={c: c + spec.suffixes[0] for c in clash})
    rpart = rf.iloc[i2].reset_index(drop=True).rename(
        columns={c: c + spec.suffixes[1] for c in clash})
    out = pd.concat([lpart, rpart], axis=1)
    out[SEPARATION] = pd.Series(sep, dtype=pd.ArrowDtype(pa.float64()))
    if spec.errors is not None:
        from platform_lib.crossmatch._bayes import PositionalErrors, cell_counts, log_bayes_factor_pairs

        e1, e2 = (PositionalErrors(*(np.asarray(c) for c in e)) for e in spec.errors)
        log_bf = log_bayes_factor_pairs(lon1, lat1, lon2, lat2, e1, e2, i1, i2)
        out[PROBABILITY] = _probabilities(np.asarray(log_bf, dtype=np.float64),
                                          cell_counts(t_lon, t_lat, FOOTPRINT_DEPTH_DASK), cat, cat_rows, c_motion,
                                          spec, len(tf), flip)
    if spec.on_progress is not None:
        spec.on_progress(1.0, f"matched in memory: {len(out)} pairs")
    return out
