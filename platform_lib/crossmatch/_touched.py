"""A table in memory against a HATS catalogue, matched here: only the catalogue's partitions it touches are read.

Owns choosing the partitions of a HATS catalogue (path, registry name or LSDB catalogue) that the cones of
the radius (plus the proper motion's reach) around a table's positions touch, checking their rows (their
Parquet footers) against :data:`MEMORY_ROWS`, reading them in this process, and matching with
``_api.mode_pairs``, as the in-memory path does. The output DataFrame has the columns, types and order the Dask
path (``_dask``) returns, and match probabilities its prior (the densities of the whole catalogue, not of the
partitions read). Two catalogues are matched so when the left one fits: read whole, it is the table. It also runs
the RA-in-hours check (``_hours``) where a catalogue is read by partitions: after the match here (the table's RA
times 15 against the partitions those positions touch), and before a Dask match (:func:`warn_if_hours_sampled`, a
sample of a side whose RA may be hours against the other side's rows around it).

A catalogue on disk (a path or registry name) is read with pyarrow (``_ondisk``): no lsdb, hats, dask.dataframe
or mocpy is imported, which took about 3 s of an astronomer's first crossmatch in a fresh kernel. An LSDB
catalogue object (the user imported lsdb already), or a folder ``_ondisk`` does not read, goes through lsdb
(``_dask.open_catalog``, LSDB's ``moc_search``, Dask's threads, no cluster), imported only then.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
from astropy import units as u

from platform_lib.catalogs import arrow_to_pandas
from platform_lib.crossmatch._inputs import (
    FOOTPRINT_DEPTH_DASK,
    PROBABILITY,
    SEPARATION,
    Columns,
    LazySpec,
    arrow_frame,
    frame_input,
    frame_proper_motion,
    positions,
    to_icrs,
)
from platform_lib.crossmatch._hours import may_be_hours, warn_side
from platform_lib.crossmatch._ondisk import OnDiskCatalogue, open_on_disk
from platform_lib.crossmatch._partitions import reach_arcsec
from platform_lib.crossmatch._sides import DASK, LSDB, is_catalogue, kind_of

__all__ = ["MEMORY_ROWS", "crossmatch_catalogues", "crossmatch_touched", "warn_if_hours_sampled"]

#: The most catalogue rows the in-memory path holds (the rows of the partitions touched, plus the left catalogue's
#: rows when two catalogues are matched; with probabilities and no ``area=``, the whole catalogue's positions,
#: counted for the prior). Beyond, the match runs on Dask.
MEMORY_ROWS = 5_000_000
#: lsdb 0.11 calls NestedFrame.drop(inplace=True), deprecated by pandas 3.1: theirs, not the user's to act on.
_LSDB_INPLACE = "The inplace keyword in NestedFrame"
#: The RA-in-hours check of the Dask path matches at most this many of a side's rows (:func:`warn_if_hours_sampled`):
#: RA in hours matches about all of them times 15 and RA in degrees about none, so 100 rows tell the two apart (a
#: table in hours of which 60% have a counterpart falls under the half in 2% of samples); each is a cone whose
#: partitions are looked up one at a time, 500 took a fifth of a small Dask crossmatch (bench/crossmatch_hours.py).
HOURS_SAMPLE = 100
#: ... against at most this many of the other catalogue's rows, read around them (more: not checked).
HOURS_ROWS = 1_000_000


class _LsdbCatalogue:
    """An LSDB catalogue with what ``_ondisk.OnDiskCatalogue`` answers, through lsdb (as this path always did):
    for an LSDB catalogue object, or a folder ``_ondisk`` does not read."""

    def __init__(self, cat) -> None:
        self.cat = cat
        self._touched = None  # the sub-catalogue of the last ``touched``

    @property
    def ra_column(self) -> str:
        return self.cat.hc_structure.catalog_info.ra_column

    @property
    def dec_column(self) -> str:
        return self.cat.hc_structure.catalog_info.dec_column

    def rows(self) -> int:
        from platform_lib.crossmatch._dask import _rows_of

        return _rows_of(self.cat)

    def max_proper_motion(self, motion, side: str) -> float:
        from platform_lib.crossmatch._dask import _max_proper_motion

        return _max_proper_motion(self.cat, motion)

    def touched(self, lon: np.ndarray, lat: np.ndarray, reach: float) -> list:
        """The partitions the cones touch (LSDB's ``moc_search`` with a MOC of the cones)."""
        from platform_lib.crossmatch._partitions import cones_moc

        moc = cones_moc(lon, lat, reach, int(self.cat.hc_structure.partition_info.get_highest_order()))
        self._touched = self.cat.moc_search(moc, fine=False)
        return list(self._touched.get_healpix_pixels())

    def partition_rows(self, pixels) -> int | None:
        """The rows of the touched partitions, from hats' per-partition statistics; None when it has none."""
        if not pixels:
            return 0
        try:
            stats = self._touched.hc_structure.per_partition_statistics(
                include_stats=["row_count"], include_pixels=list(pixels), warn_on_modified_catalog=False)
        except (AttributeError, KeyError, OSError, TypeError, ValueError):
            return None
        if stats is None or len(stats) == 0:
            return None
        return int(stats.iloc[:, 0].sum())

    def read(self, pixels) -> pd.DataFrame:
        """The partitions ``touched`` found (``pixels``), computed on Dask's threads; none: the empty frame."""
        import dask

        if not pixels:
            return pd.DataFrame(self.cat.to_dask_dataframe(divisions=False)._meta)
        with dask.config.set(scheduler="threads"):
            return pd.DataFrame(self._touched.compute(progress_bar=False))

    def read_all(self) -> pd.DataFrame:
        """The whole catalogue, computed on Dask's threads."""
        import dask

        with dask.config.set(scheduler="threads"):
            return pd.DataFrame(self.cat.compute(progress_bar=False))

    def cell_counts(self, motion, depth: int):
        """Per-cell counts of the whole catalogue at ``_dask``'s depth (:data:`FOOTPRINT_DEPTH_DASK`, ``depth``)."""
        import dask

        from platform_lib.crossmatch._dask import _cell_counts
        from platform_lib.crossmatch._inputs import merged_counts

        with dask.config.set(scheduler="threads"):
            return merged_counts(_cell_counts(self.cat, motion).compute())


def _open(obj, coords, r_arcsec: float, side: str):
    """The catalogue side: read with pyarrow when it is a HATS folder (or registry name), else through lsdb."""
    cat = open_on_disk(obj, coords, side)
    if cat is not None:
        return cat
    from platform_lib.crossmatch._dask import open_catalog

    return _LsdbCatalogue(open_catalog(obj, coords, r_arcsec, side))


def _probabilities(log_bf, table_cells, cat, cat_rows: int, cat_motion, spec: LazySpec, table_rows: int,
                   flip: bool):
    """The Dask path's posteriors (``_dask._probabilities``): the prior from the whole catalogue."""
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
        cat_cells = cat.cell_counts(cat_motion, FOOTPRINT_DEPTH_DASK)
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
    (in this process, no cluster) and matched as a table against the right one's partitions it touches
    (:func:`crossmatch_touched`), when those hold at most the rest of :data:`MEMORY_ROWS` (the bound is on what
    is held at once: the left rows and the right rows read); None, for the caller to go to Dask, when they do
    not fit, or when a side is said to be in another frame than ICRS (which the Dask path names)."""
    if spec.left_frame or spec.right_frame:
        return None
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", _LSDB_INPLACE)
        cat = _open(left, spec.left_coords, 0.0, "left")
        if cat.rows() > MEMORY_ROWS:
            return None
        frame = cat.read_all().reset_index(drop=True)
    own = dataclasses.replace(spec, left_coords=(cat.ra_column, cat.dec_column))
    out = crossmatch_touched(frame, right, radius, own, budget=MEMORY_ROWS - len(frame))
    # the types of the Dask path for two catalogues on disk (``_partitions``), which reads them with Arrow
    if out is None:
        return None
    return arrow_to_pandas(pa.Table.from_pandas(out, preserve_index=False).replace_schema_metadata(None))


def _around(cat, reach_arcsec: float, budget: int, motion=None):
    """``near`` for ``_hours.warn_side``: the positions of the catalogue's partitions that the cones of
    ``reach_arcsec`` around (lon, lat) touch, when they hold at most ``budget`` rows (else None: not read); moved
    along ``motion`` (the match's)."""
    def near(lon, lat):
        pixels = cat.touched(lon, lat, reach_arcsec)
        rows = cat.partition_rows(pixels)
        if rows is None or rows > budget:
            return None
        own = [cat.ra_column, cat.dec_column, *(motion.pm if motion is not None else ())]
        frame = cat.read(pixels, columns=own) if isinstance(cat, OnDiskCatalogue) else cat.read(pixels)
        lon_, lat_ = positions(frame, cat, motion)
        ok = np.isfinite(lon_) & np.isfinite(lat_) & (np.abs(lat_) <= 90)
        return lon_[ok], lat_[ok]
    return near


def _warn_if_hours(cat, radius: u.Quantity, reach_arcsec: float, budget: int, table, catalogue) -> None:
    """The RA-in-hours check of the in-memory path (``_hours``), both sides: ``table`` and ``catalogue`` are
    ``(lon, lat, matched row indices, side, RA column)``, the catalogue's its rows read (those around the table's
    positions, so its check is on that sample of them). The table's RA times 15 is matched against the catalogue's
    partitions those positions touch, read only then (at most ``budget`` rows; more: not checked)."""
    t_lon, t_lat, t_i, t_side, t_name = table
    c_lon, c_lat, c_i, c_side, c_name = catalogue
    if may_be_hours(t_lon, len(t_lon), len(t_i)) and warn_side(
            t_lon, t_lat, int(np.unique(t_i).size), _around(cat, reach_arcsec, budget), radius, t_side, t_name):
        return
    if may_be_hours(c_lon, len(c_lon), len(c_i)):
        warn_side(c_lon, c_lat, int(np.unique(c_i).size), lambda _lon, _lat: (t_lon, t_lat), radius, c_side, c_name,
                  rows=f" read (those near the {t_side} positions)")


def _own_positions(frame, coords, motion=None) -> tuple[np.ndarray, np.ndarray]:
    """A Table's or DataFrame's two coordinate columns as float64 degrees, finite rows only (no warning: the match
    warns of the others), moved along ``motion`` (the match's)."""
    pm = tuple(motion.pm) if motion is not None else ()
    numbers = _table_frame(frame, coords, pm)
    if any(c not in numbers.columns for c in (*coords, *pm)):
        return np.empty(0), np.empty(0)  # the match names the missing or mistyped column
    lon, lat = (numbers[c].to_numpy() for c in coords)
    if motion is not None and lon.size:
        from platform_lib.crossmatch._epoch import propagate_years

        ok = np.isfinite(lat) & (np.abs(lat) <= 90)
        lon, lat = propagate_years(np.where(ok, lon, np.nan), np.where(ok, lat, np.nan),
                                   *(np.nan_to_num(numbers[c].to_numpy()) for c in pm), motion.dt_years)
    ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90)  # (the match names latitudes out of range)
    return lon[ok], lat[ok]


def _catalogue_unchecked(obj, side: str):
    """A catalogue side opened for the RA check, without the checks the match makes (and warns of) itself; None when
    it is neither a HATS folder ``_ondisk`` reads nor an LSDB catalogue object."""
    if kind_of(obj) == LSDB:
        return _LsdbCatalogue(obj)
    from platform_lib.errors import PlatformError

    try:
        return open_on_disk(obj, None, side, check=False)
    except (PlatformError, OSError, ValueError):
        return None  # the match names the problem


def _ra_range(cat) -> tuple[float, float] | None:
    """A catalogue's RA from its Parquet statistics (no data read); None where they say nothing."""
    if isinstance(cat, OnDiskCatalogue):
        stats = cat.column_stats([cat.ra_column])
        return None if stats is None else stats[cat.ra_column][:2]
    from platform_lib.crossmatch._dask import _column_stats

    stats = _column_stats(cat.cat, [cat.ra_column])
    return None if stats is None else (float(stats.loc[cat.ra_column, "min_value"]),
                                       float(stats.loc[cat.ra_column, "max_value"]))


def _first_partition(obj, columns):
    """The first partition of a Dask DataFrame (those columns): all the RA-in-hours check reads of one."""
    return obj[list(columns)].get_partition(0).compute()


def _sample_of(obj, coords, side: str, motion=None, first=None):
    """``(lon, lat, hours_lon, hours_lat)`` of a side for the sampled RA check: at most :data:`HOURS_SAMPLE` of its
    rows (random, seeded), moved along ``motion`` (the match's), as given and with their RA times 15, when its RA may be in hours (all of a table's, a
    catalogue's Parquet statistics, a Dask DataFrame's first partition's in [0, 24]); None otherwise, having read
    nothing more than that. ``first``: a Dask DataFrame's first partition, read once for both directions."""
    rng = np.random.default_rng(0)
    pm = tuple(motion.pm) if motion is not None else ()

    def pick(lon, lat, move):
        ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90)
        lon, lat = lon[ok], lat[ok]
        if len(lon) == 0 or lon.min() < 0 or lon.max() > 24:
            return None
        keep = np.sort(rng.choice(len(lon), HOURS_SAMPLE, replace=False)) if len(lon) > HOURS_SAMPLE else slice(None)
        return (*move(lon[keep], lat[keep], ok, keep), *move(lon[keep] * 15.0, lat[keep], ok, keep))

    def given_and_moved(frame, names):
        """(lon, lat) as given, and ``move(lon, lat, ok, keep)``: those rows (``ok``, then ``keep``) moved."""
        lon, lat = (pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
                    if c in [str(n) for n in frame.columns] else np.full(len(frame), np.nan) for c in names)
        if motion is None:
            return lon, lat, lambda lon_, lat_, ok, keep: (lon_, lat_)
        if not all(c in [str(n) for n in frame.columns] for c in pm):
            return np.empty(0), np.empty(0), None  # the match names the missing column
        from platform_lib.crossmatch._epoch import propagate_years

        pmra, pmdec = (np.nan_to_num(np.asarray(frame[c], dtype=np.float64)) for c in pm)
        return lon, lat, lambda lon_, lat_, ok, keep: propagate_years(lon_, lat_, pmra[ok][keep], pmdec[ok][keep],
                                                                       motion.dt_years)

    if is_catalogue(obj):
        cat = _catalogue_unchecked(obj, side)
        found = None if cat is None else _ra_range(cat)
        if found is None or not (found[0] >= 0 and found[1] <= 24):
            return None
        own = [cat.ra_column, cat.dec_column, *pm]
        if isinstance(cat, OnDiskCatalogue):
            pixels, rows = [], 0
            for p in cat.pixels:  # partitions in the sky's order, until the sample is full
                pixels.append(p)
                rows += cat.partition_rows([p])
                if rows >= HOURS_SAMPLE:
                    break
            frame = cat.read(pixels, columns=own) if all(c in cat.columns for c in own) else None
        else:
            import dask

            pixel = cat.cat.get_healpix_pixels()[0]
            with dask.config.set(scheduler="threads"):
                frame = pd.DataFrame(cat.cat.get_partition(pixel.order, pixel.pixel).compute(progress_bar=False))
        if frame is None:
            return None  # the match names the missing column
        return pick(*given_and_moved(frame, own[:2]))
    if kind_of(obj) == DASK:
        if not all(c in [str(n) for n in obj.columns] for c in (*coords, *pm)):
            return None  # the match names the missing column
        return pick(*given_and_moved(first if first is not None else _first_partition(obj, (*coords, *pm)), coords))
    return pick(*given_and_moved(_table_frame(obj, coords, pm), coords))


def _table_frame(obj, coords, pm) -> pd.DataFrame:
    """A Table's or DataFrame's coordinate (and proper-motion) columns as a DataFrame of numbers (NaN where not)."""
    names = obj.colnames if hasattr(obj, "colnames") else [str(n) for n in obj.columns]
    out = {}
    for c in (*coords, *pm):
        if c not in names:
            continue
        if isinstance(obj, pd.DataFrame):
            out[c] = pd.to_numeric(obj[c], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            try:
                out[c] = np.ma.filled(np.ma.asarray(obj[c]).astype(np.float64), np.nan)
            except (TypeError, ValueError):  # not numbers: the match names it
                continue
    return pd.DataFrame(out)


def _near_of(obj, coords, side: str, reach_arcsec: float, motion=None, first=None):
    """``near`` for ``_hours.warn_side`` on the other side, its positions moved along ``motion`` (the match's): a
    table's positions, a catalogue's partitions around the positions asked (at most :data:`HOURS_ROWS` rows), a
    Dask DataFrame's first partition (``first``, read once: its whole is not computed in this process for the check,
    one more pass over all of it held here; so a table against it is checked where that partition holds the
    table's field); None when the side is none of these."""
    if is_catalogue(obj):
        cat = _catalogue_unchecked(obj, side)
        return None if cat is None else _around(cat, reach_arcsec, HOURS_ROWS, motion)
    held = []

    def near(lon, lat):
        if not held:
            source = obj
            if kind_of(obj) == DASK:
                pm = tuple(motion.pm) if motion is not None else ()
                if not all(c in [str(n) for n in obj.columns] for c in (*coords, *pm)):
                    return None  # the match names the missing column
                source = first if first is not None else _first_partition(obj, (*coords, *pm))
            held.append(_own_positions(source, coords, motion))
        return held[0]
    return near


def _reach(obj, side: str, motion) -> float:
    """How far a side's rows may move along ``motion`` (arcsec; the fastest's proper motion over the years), as far
    as the check knows without reading more: a table's, a catalogue's statistics; a Dask DataFrame: 0 (its first
    partition, read whole, is matched as moved)."""
    if motion is None:
        return 0.0
    if is_catalogue(obj):
        cat = _catalogue_unchecked(obj, side)
        fastest = 0.0 if cat is None else cat.max_proper_motion(motion, side)
    elif kind_of(obj) == DASK:
        return 0.0
    else:
        frame = _table_frame(obj, (), motion.pm)
        fastest = frame_proper_motion(frame, motion) if len(frame.columns) == 2 else 0.0
    return reach_arcsec([(motion.dt_years, fastest)])


def warn_if_hours_sampled(left, right, radius: u.Quantity, spec: LazySpec) -> bool:
    """The RA-in-hours check of the Dask path, before it matches (``_hours``; warns and returns True when a side's
    RA looks like hours): a sample of each side whose RA may be hours (:func:`_sample_of`: else nothing is read) is
    matched as given, then times 15, against the other side's rows around it, both moved along their proper motions
    as the match moves them. The criterion is the in-memory one on those rows; the Dask match itself is not touched."""
    if not spec.check_hours:
        return False
    r_arcsec = float(radius.to_value(u.arcsec))
    from platform_lib.crossmatch._engine import match_pairs

    sides = ((left, spec.left_coords, "left", spec.left_motion), (right, spec.right_coords, "right", spec.right_motion))
    firsts = {}

    def first(obj, coords, motion):
        """A Dask DataFrame's first partition, read once for the check's two directions."""
        if kind_of(obj) != DASK:
            return None
        names = (*coords, *(motion.pm if motion is not None else ()))
        if not all(c in [str(n) for n in obj.columns] for c in names):
            return None
        if id(obj) not in firsts:
            firsts[id(obj)] = _first_partition(obj, names)
        return firsts[id(obj)]

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", _LSDB_INPLACE)
        for (obj, coords, side, motion), (other, o_coords, o_side, o_motion) in zip(sides, sides[::-1]):
            if isinstance(coords, str) or len(coords) != 2 or isinstance(o_coords, str) or len(o_coords) != 2:
                continue  # the Dask path names the problem
            sample = _sample_of(obj, coords, side, motion, first(obj, coords, motion))
            reach = r_arcsec + _reach(obj, side, motion) + _reach(other, o_side, o_motion) if sample else 0.0
            near = None if sample is None else _near_of(other, o_coords, o_side, reach, o_motion,
                                                        first(other, o_coords, o_motion))
            given = None if near is None else near(*sample[:2])
            if given is None or len(given[0]) == 0:
                continue
            matched = int(np.unique(match_pairs(*sample[:2], *given, radius, k=1)[0]).size)
            name = _catalogue_unchecked(obj, side).ra_column if is_catalogue(obj) else str(coords[0])
            if warn_side(*sample[:2], matched, near, radius, side, name, rows=" sampled", as_hours=sample[2:]):
                return True
    return False


def _crossmatch_touched(left, right, radius: u.Quantity, spec: LazySpec, budget: int) -> pd.DataFrame | None:
    from platform_lib.crossmatch._api import mode_pairs  # _api calls this module: imported at call time

    if spec.mode == "best" and spec.errors is not None:
        return None  # the Dask path names what is refused (mode='best' with probabilities)
    r_arcsec = float(radius.to_value(u.arcsec))
    if spec.left_frame or spec.right_frame:
        left, right, spec = to_icrs(left, right, spec)
    flip = is_catalogue(left)  # the catalogue on the left, the table on the right
    t_obj, c_obj = (right, left) if flip else (left, right)
    t_side, c_side = ("right", "left") if flip else ("left", "right")
    t_coords, c_coords = (spec.right_coords, spec.left_coords) if flip else (spec.left_coords, spec.right_coords)
    t_motion, c_motion = (spec.right_motion, spec.left_motion) if flip else (spec.left_motion, spec.right_motion)
    tf = frame_input(t_obj, t_coords, t_side)
    cat = _open(c_obj, c_coords, r_arcsec, c_side)
    cat_rows = cat.rows()
    if spec.errors is not None and spec.area is None and cat_rows > MEMORY_ROWS:
        return None
    moves = []
    if t_motion is not None:
        moves.append((t_motion.dt_years, frame_proper_motion(tf, t_motion)))
    if c_motion is not None:
        moves.append((c_motion.dt_years, cat.max_proper_motion(c_motion, c_side)))
    reach = reach_arcsec(moves)
    t_lon, t_lat = positions(tf, Columns(*t_coords), t_motion)
    pixels = cat.touched(t_lon, t_lat, r_arcsec + reach) if len(tf) else []
    rows = cat.partition_rows(pixels)
    if rows is None or rows > budget:
        return None
    if spec.on_progress is not None:
        spec.on_progress(0.0, f"reading {len(pixels)} HEALPix partitions ({rows} rows) into memory")
    cf = cat.read(pixels if rows else []).reset_index(drop=True)
    c_lon, c_lat = positions(cf, cat, c_motion)
    ok = np.isfinite(c_lon) & np.isfinite(c_lat)
    if not ok.all():
        cf, c_lon, c_lat = cf[ok].reset_index(drop=True), c_lon[ok], c_lat[ok]
    tf = arrow_frame(tf)
    if flip:
        lf, rf, (lon1, lat1, lon2, lat2) = cf, tf, (c_lon, c_lat, t_lon, t_lat)
    else:
        lf, rf, (lon1, lat1, lon2, lat2) = tf, cf, (t_lon, t_lat, c_lon, c_lat)
    i1, i2, sep = mode_pairs(lon1, lat1, lon2, lat2, radius, spec.mode, spec.k)
    if spec.check_hours:
        _warn_if_hours(cat, radius, r_arcsec + reach, budget - rows, (t_lon, t_lat, i2 if flip else i1, t_side, t_coords[0]),
                       (c_lon, c_lat, i1 if flip else i2, c_side, cat.ra_column))
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
