"""Out-of-core crossmatch: the engine run per HEALPix partition pair on Dask, through LSDB.

Owns turning lazy inputs (HATS paths, registry names, LSDB catalogues, Dask DataFrames) into LSDB
catalogues (a Dask DataFrame matched with ``lazy=True`` against a table, or on the left of a catalogue, into one that
computes nothing until the result is: :func:`graph_left`, :func:`graph_right`) with margins (wide enough for the radius plus the proper motion between the epochs; where the right
margin is narrower, or missing, and the right catalogue is a whole HATS catalogue on disk, the algorithm reads
the right partitions around each pair's left rows instead, ``_partitions.read_around``),
the checks of the inputs that can be made without reading them (NaN rows, latitudes, from the
Parquet statistics), the per-partition algorithm classes (:class:`ZonesCrossmatch` and
:class:`ZonesBayesCrossmatch`, which never see Dask: two pandas partitions in, index arrays out, as
LSDB's own algorithms do; they move positions to the common epoch first), the whole-catalogue
densities for match probabilities, progress per partition, and choosing the Dask client: the one passed in, the current one, the platform's dask-gateway when configured,
else a LocalCluster (dask_gateway's Gateway close fixed by ``platform_lib.gateway``). Two HATS catalogues on disk go to ``_partitions`` instead (our own reader and
writer) when nothing here needs LSDB; a table against a HATS catalogue goes to ``_touched`` (in memory) when it
fits. Only this module imports lsdb and hats (``_touched`` through it, for an LSDB catalogue object); the options
and table checks it shares with ``_api`` and ``_touched`` are ``_inputs``'s, which imports neither.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import shutil
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from astropy import units as u
from lsdb.core.crossmatch.abstract_crossmatch_algorithm import AbstractCrossmatchAlgorithm

from platform_lib.catalogs import HEALPIX_COLUMN, HatsLayout
from platform_lib.crossmatch._engine import match_pairs
from platform_lib.crossmatch._epoch import Motion
from platform_lib.crossmatch._errors import CrossmatchError, CrossmatchInputError, warn_dropped
from platform_lib.crossmatch._inputs import (
    FOOTPRINT_DEPTH_DASK,
    LOG_BAYES,
    PROBABILITY,
    SEPARATION,
    Columns,
    LazySpec,
    arrow_frame,
    check_columns_numeric,
    check_latitudes,
    frame_input,
    frame_proper_motion,
    merged_counts,
    positions,
    to_icrs,
)
from platform_lib.crossmatch._partitions import (
    check_margin,
    check_own_coords,
    no_margin_error,
    publish,
    reach_arcsec,
    read_around,
    staging_folder,
)
from platform_lib.crossmatch._sides import DASK, FRAME, LSDB, TABLE, catalogue_folder, is_catalogue, kind_of
from platform_lib.storage import tree_bytes

__all__ = ["LazySpec", "Motion", "ZonesCrossmatch", "crossmatch_lazy", "dask_client", "input_bytes", "open_catalog"]


class ZonesCrossmatch(AbstractCrossmatchAlgorithm):
    """LSDB crossmatch algorithm backed by :func:`~platform_lib.crossmatch._engine.match_pairs`.

    Parameters
    ----------
    radius_arcsec
        The match radius in arcsec (a float, so the object pickles cheaply to workers).
    k
        Keep the ``k`` nearest right rows per left row (``None``: all pairs within the radius).
    left_motion, right_motion
        Move each partition's positions (the right one with its margin rows) along their proper
        motions before matching; ``reach_arcsec`` is the most two sources can move towards each
        other, which the right margin must cover on top of the radius.
    right_around
        The right catalogue's layout on disk when its margin cache is missing or narrower than the radius plus
        ``reach_arcsec``: each partition pair's right rows are then read from the right partitions that the
        cones around its left rows touch (``_partitions.read_around``) instead of LSDB's partition and margin,
        so every pair is found, as on the other paths.
    """

    extra_columns = pd.DataFrame({SEPARATION: pd.Series(dtype=pd.ArrowDtype(pa.float64()))})

    def __init__(self, radius_arcsec: float, k: int | None = 1, *, left_motion: Motion | None = None,
                 right_motion: Motion | None = None, reach_arcsec: float = 0.0,
                 right_around: HatsLayout | None = None):
        super().__init__()
        self.radius_arcsec = float(radius_arcsec)
        self.k = k
        self.left_motion = left_motion
        self.right_motion = right_motion
        self.reach_arcsec = float(reach_arcsec)
        self.right_around = right_around

    def validate(self, left, right):
        super().validate(left, right)
        for cat, motion, side in ((left, self.left_motion, "left"), (right, self.right_motion, "right")):
            if motion is not None:
                cols = [str(c) for c in cat.columns]
                missing = [c for c in motion.pm if c not in cols]
                if missing:
                    raise CrossmatchInputError(
                        f"{side} catalogue has no proper-motion column(s) {missing}; available columns: "
                        f"{', '.join(cols)}", code="missing-column", value=missing, available=cols)
        if right.margin is not None and self.right_around is None:
            check_margin(right.margin.hc_structure.catalog_info.margin_threshold, self.radius_arcsec,
                         self.reach_arcsec)

    def crossmatch(self, crossmatch_args, how, suffixes, suffix_method="all_columns"):
        if self.right_around is not None:
            crossmatch_args = dataclasses.replace(crossmatch_args, right_df=self._right_around(crossmatch_args))
        return super().crossmatch(crossmatch_args, how, suffixes, suffix_method)

    def _right_around(self, crossmatch_args):
        """The right rows around a left partition, read from disk, with the columns and types of LSDB's."""
        info = crossmatch_args.left_catalog_info
        lon = np.asarray(crossmatch_args.left_df[info.ra_column], dtype=np.float64)
        lat = np.asarray(crossmatch_args.left_df[info.dec_column], dtype=np.float64)
        like = crossmatch_args.right_df
        index = like.index.name or HEALPIX_COLUMN
        table = read_around(self.right_around, lon, lat, self.radius_arcsec + self.reach_arcsec,
                            columns=[index, *(str(c) for c in like.columns)])
        frame = table.to_pandas(types_mapper=pd.ArrowDtype).set_index(index)
        frame = frame.astype({c: t for c, t in like.dtypes.items() if frame[c].dtype != t})
        return type(like)(frame)

    def _pairs(self, crossmatch_args):
        lon1, lat1 = positions(crossmatch_args.left_df, crossmatch_args.left_catalog_info, self.left_motion)
        lon2, lat2 = positions(crossmatch_args.right_df, crossmatch_args.right_catalog_info, self.right_motion)
        ok1 = np.isfinite(lon1) & np.isfinite(lat1)
        ok2 = np.isfinite(lon2) & np.isfinite(lat2)
        rows1, rows2 = np.flatnonzero(ok1), np.flatnonzero(ok2)
        i1, i2, sep = match_pairs(
            lon1[rows1], lat1[rows1], lon2[rows2], lat2[rows2], self.radius_arcsec * u.arcsec, k=self.k)
        return rows1[i1], rows2[i2], sep, (lon1, lat1, lon2, lat2)

    def perform_crossmatch(self, crossmatch_args):
        j1, j2, sep, _ = self._pairs(crossmatch_args)
        extra = pd.DataFrame({SEPARATION: pd.Series(sep, dtype=pd.ArrowDtype(pa.float64()))})
        return j1, j2, extra


class ZonesBayesCrossmatch(ZonesCrossmatch):
    """:class:`ZonesCrossmatch` that also returns each pair's Bayes factor ``ln B`` (BS08 eq. 16, or
    the elliptical form) from one error per catalogue; the posterior needs the whole catalogue's
    pairs and is computed on the client (:func:`crossmatch_lazy`)."""

    extra_columns = pd.DataFrame({SEPARATION: pd.Series(dtype=pd.ArrowDtype(pa.float64())),
                                  LOG_BAYES: pd.Series(dtype=pd.ArrowDtype(pa.float64()))})

    def __init__(self, radius_arcsec: float, k: int | None, *, errors, **kwargs):
        super().__init__(radius_arcsec, k, **kwargs)
        self.errors = errors

    def perform_crossmatch(self, crossmatch_args):
        from platform_lib.crossmatch._bayes import PositionalErrors, log_bayes_factor_pairs

        j1, j2, sep, (lon1, lat1, lon2, lat2) = self._pairs(crossmatch_args)
        e1, e2 = (PositionalErrors(*(np.asarray(c) for c in e)) for e in self.errors)
        log_bf = log_bayes_factor_pairs(lon1, lat1, lon2, lat2, e1, e2, j1, j2)
        extra = pd.DataFrame({SEPARATION: pd.Series(sep, dtype=pd.ArrowDtype(pa.float64())),
                              LOG_BAYES: pd.Series(log_bf, dtype=pd.ArrowDtype(pa.float64()))})
        return j1, j2, extra


def _column_stats(cat, columns: list[str]) -> pd.DataFrame | None:
    """min/max/null counts of columns from a HATS catalogue's Parquet metadata (no data is read);
    None where the metadata has none (an LSDB catalogue built in memory). For a modified (filtered)
    catalogue they describe the rows it was cut from: bounds still hold, counts do not."""
    try:
        with warnings.catch_warnings():
            # a catalogue built in memory (a table on Dask) has no metadata: hats warns, we count instead
            warnings.filterwarnings("ignore", "Calling aggregate_column_statistics on an in-memory catalog")
            stats = cat.hc_structure.aggregate_column_statistics(include_columns=columns,
                                                                 warn_on_modified_catalog=False)
    except (AttributeError, KeyError, OSError, TypeError, ValueError):
        return None
    if stats is None or len(stats) == 0 or not set(columns) <= set(stats.index):
        return None
    return stats


def _check_catalog(cat, coords, side: str) -> None:
    """A HATS / LSDB catalogue: its coordinate columns, missing coordinates and latitudes (from metadata)."""
    info = cat.hc_structure.catalog_info
    own = (info.ra_column, info.dec_column)
    check_own_coords(own, coords, side, available=[str(c) for c in cat.columns])
    stats = _column_stats(cat, list(own))
    if stats is None:
        return
    nulls = int(stats.loc[list(own), "null_count"].max())
    if nulls and _unmodified(cat):
        warn_dropped(nulls, side, own)
    lo, hi = float(stats.loc[own[1], "min_value"]), float(stats.loc[own[1], "max_value"])
    check_latitudes(np.array([v for v in (lo, hi) if np.isfinite(v)]), side)


def _unmodified(cat) -> bool:
    return bool(getattr(cat.hc_structure, "unmodified", False))


def _rows_of(cat) -> int:
    """Rows with coordinates in a catalogue: from its properties (less missing coordinates), or
    counted when it was filtered."""
    info = cat.hc_structure.catalog_info
    if not _unmodified(cat) or not info.total_rows:
        frame = cat.to_dask_dataframe(divisions=False)[[info.ra_column, info.dec_column]]
        return int(frame.dropna().map_partitions(len).sum().compute())
    total = int(info.total_rows)
    stats = _column_stats(cat, [info.ra_column, info.dec_column])
    if stats is not None:
        total -= int(stats["null_count"].max())
    return total


def _max_proper_motion(obj, motion: Motion | None) -> float:
    """The largest total proper motion (mas/yr) of a side: from the frame, else the Parquet metadata."""
    if motion is None:
        return 0.0
    if isinstance(obj, pd.DataFrame):
        return frame_proper_motion(obj, motion)
    if kind_of(obj) == DASK:  # a lazy left Dask DataFrame: its two columns' largest values, one pass over them
        check_columns_numeric(obj, motion.pm, "left", "proper-motion")
        ext = obj[list(motion.pm)].abs().max().compute().to_numpy(dtype=np.float64)
        return float(np.hypot(*np.nan_to_num(ext)))
    cols = [str(c) for c in obj.columns]
    if any(c not in cols for c in motion.pm):
        return 0.0  # ZonesCrossmatch.validate names the missing column
    stats = _column_stats(obj, list(motion.pm))
    if stats is not None:
        ext = np.abs(stats.loc[list(motion.pm), ["min_value", "max_value"]].to_numpy(dtype=np.float64))
        ext = np.nanmax(ext, axis=1)
    else:  # no metadata: one pass over the two columns
        ext = obj.to_dask_dataframe(divisions=False)[list(motion.pm)].abs().max().compute().to_numpy(dtype=np.float64)
    ext = np.nan_to_num(ext)
    return float(np.hypot(ext[0], ext[1]))


def open_catalog(obj, coords, margin_arcsec: float | None, side: str):
    """An LSDB catalogue for any supported lazy or in-memory input; a frame gets a margin cache of
    ``margin_arcsec`` (``None``: none, as the left side of an inner crossmatch, which LSDB never reads)."""
    import lsdb

    from platform_lib.catalogs import cache_hats_kernels, pinned

    cache_hats_kernels()  # lsdb's crossmatch aligns the two pixel trees (hats' align_trees) in this process

    kind = kind_of(obj)
    if kind == LSDB:
        _check_catalog(obj, coords, side)
        return obj
    if kind in (TABLE, DASK):
        obj, kind = frame_input(obj, coords, side), FRAME  # (crossmatch_lazy passes frames already checked)
    if kind == FRAME:
        return lsdb.from_dataframe(
            obj, ra_column=coords[0], dec_column=coords[1], margin_threshold=margin_arcsec,
            catalog_name=side)
    path = catalogue_folder(obj, side)
    cat = lsdb.open_catalog(pinned(path))  # its partitions are read later: from the version it names now
    _check_catalog(cat, coords, side)
    return cat


def _pixel_frame(pieces, meta: pd.DataFrame, coords) -> pd.DataFrame:
    """One partition of a Dask DataFrame laid over HEALPix pixels (:func:`_graph_catalog`): its rows from each of the
    frame's partitions, indexed by the spatial index of their positions and typed as LSDB types a frame."""
    import nested_pandas as npd
    from hats.pixel_math.spatial_index import SPATIAL_INDEX_COLUMN, compute_spatial_index

    df = pd.concat(pieces) if pieces else meta
    lon, lat = (np.asarray(df[c], dtype=np.float64) for c in coords)
    df = df.set_axis(pd.Index(compute_spatial_index(lon, lat), name=SPATIAL_INDEX_COLUMN))
    return npd.NestedFrame(arrow_frame(df))


def _usable(df: pd.DataFrame, coords, motion: Motion | None):
    """``(rows, lon, lat)``: a partition's rows with usable positions (finite, latitudes in range; moved along
    ``motion``), as the match reads them."""
    lon, lat = positions(df, Columns(*coords), motion)
    given = np.asarray(df[coords[1]], dtype=np.float64)
    rows = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat) & (np.abs(given) <= 90))
    return rows, lon[rows], lat[rows]


def _split_in_pixels(df: pd.DataFrame, coords, pixels) -> list[pd.DataFrame]:
    """A partition's rows in each HEALPix pixel of ``pixels`` ((order, pixel) pairs), by their positions as given."""
    from hats.pixel_math.spatial_index import compute_spatial_index

    rows, lon, lat = _usable(df, coords, None)
    index = compute_spatial_index(lon, lat).astype(np.int64)
    return [df.iloc[rows[(index >> (2 * (29 - order))) == pixel]] for order, pixel in pixels]


def _split_near(df: pd.DataFrame, coords, motion: Motion | None, lon, lat, group, n_groups: int,
                radius_arcsec: float) -> list[pd.DataFrame]:
    """A partition's rows within ``radius_arcsec`` of the positions (``lon``, ``lat``) of each group (``group``: each
    position's group number), moved along ``motion`` as the match moves them: the rows the group can match."""
    rows, r_lon, r_lat = _usable(df, coords, motion)
    i, j, _ = match_pairs(r_lon, r_lat, lon, lat, radius_arcsec * u.arcsec, k=None)
    pairs = np.unique(np.stack([np.asarray(group)[j], np.asarray(i)]), axis=1) if len(i) else np.empty((2, 0), int)
    return [df.iloc[rows[pairs[1][pairs[0] == g]]] for g in range(n_groups)]


def _graph_catalog(frame, coords, pixels, split, side: str):
    """An LSDB catalogue over the Dask DataFrame ``frame`` that computes nothing now: its partition ``i`` (HEALPix
    pixel ``pixels[i]``) gathers ``split(partition)[i]`` from each of the frame's partitions when it is computed;
    each of those is read once for all pixels. For ``lazy=True``, where the frame used to be computed in this
    process first (``frame_input``) to be partitioned by lsdb."""
    import dask
    import dask.dataframe as dd
    import hats
    from hats.catalog import TableProperties
    from hats.pixel_math.spatial_index import SPATIAL_INDEX_COLUMN
    from lsdb.catalog import Catalog
    from lsdb.io.schema import get_arrow_schema
    from lsdb.operations.expressions import FromDaskExpression

    like = frame._meta_nonempty.reset_index(drop=True)
    meta = _pixel_frame([], like, coords).iloc[:0]
    pieces = [dask.delayed(split, nout=len(pixels))(part.reset_index(drop=True)) for part in frame.to_delayed()]
    parts = [dask.delayed(_pixel_frame)([p[i] for p in pieces], like.iloc[:0], coords) for i in range(len(pixels))]
    graph = dd.from_delayed(parts, meta=meta, verify_meta=False) if parts else dd.from_pandas(meta, npartitions=1)
    info = TableProperties(catalog_name=side, ra_column=coords[0], dec_column=coords[1], catalog_type="object",
                           healpix_column=SPATIAL_INDEX_COLUMN, healpix_order=29)
    structure = hats.catalog.Catalog(info, list(pixels), schema=get_arrow_schema(meta))
    return Catalog(FromDaskExpression(graph, list(pixels)), structure, loading_config=None)


def graph_left(frame, coords, rcat):
    """The left Dask DataFrame of a lazy crossmatch as an LSDB catalogue partitioned like the right catalogue
    ``rcat`` (its rows in pixels the right one does not cover match nothing there, as LSDB's inner match
    drops them), nothing computed."""
    pixels = list(rcat.get_healpix_pixels())
    return _graph_catalog(frame, coords, pixels, functools.partial(
        _split_in_pixels, coords=tuple(coords), pixels=[(int(p.order), int(p.pixel)) for p in pixels]), "left")


def graph_right(frame, coords, motion: Motion | None, lcat, left: pd.DataFrame, left_coords,
                left_motion: Motion | None, radius_arcsec: float):
    """The right Dask DataFrame of a lazy crossmatch against the table ``left`` (in memory, partitioned as
    ``lcat``) as an LSDB catalogue, nothing computed: each partition holds the right rows within the radius of
    that partition's left rows, both moved along their proper motions as the match moves them, so it needs no
    margin cache (and no proper motion's reach, which would take a pass over the frame)."""
    from hats.pixel_math.spatial_index import compute_spatial_index

    pixels = list(lcat.get_healpix_pixels())
    given = compute_spatial_index(*(np.asarray(left[c], dtype=np.float64) for c in left_coords)).astype(np.int64)
    lon, lat = positions(left, Columns(*left_coords), left_motion)
    group = np.full(len(left), -1)
    for g, p in enumerate(pixels):
        group[(given >> (2 * (29 - int(p.order)))) == int(p.pixel)] = g
    keep = (group >= 0) & np.isfinite(lon) & np.isfinite(lat)
    return _graph_catalog(frame, coords, pixels, functools.partial(
        _split_near, coords=tuple(coords), motion=motion, lon=lon[keep], lat=lat[keep], group=group[keep],
        n_groups=len(pixels), radius_arcsec=radius_arcsec), "right")


#: Inputs of at most this many bytes on disk (dask config ``astrohub.local-cluster.threads-below-bytes``)
#: are matched on a LocalCluster of one thread in this process: two worker processes, each importing
#: astropy, lsdb, hats-import and numba's kernels again, took 10-20 s where the work takes under one
#: (docs/benchmarks.md, "A small crossmatch job").
THREADS_BELOW_BYTES = 64 * 2**20


def input_bytes(*inputs) -> int | None:
    """The bytes on disk of ``inputs`` (HATS catalogue folders), counted up to just past
    :data:`THREADS_BELOW_BYTES` (:func:`platform_lib.storage.tree_bytes`: the folder named, even through a link,
    since it is what the crossmatch reads; links inside it are not followed); None when one is not a folder (a
    registry name, a table, a catalogue object: its size is not known here)."""
    total = 0
    for obj in inputs:
        if not isinstance(obj, (str, os.PathLike)) or not Path(obj).is_dir():
            return None
        total += tree_bytes(Path(obj).resolve(), limit=THREADS_BELOW_BYTES - total)
        if total > THREADS_BELOW_BYTES:
            return total
    return total


@contextlib.contextmanager
def dask_client(client=None, *, nbytes: int | None = None):
    """The Dask client to compute on: ``client``, else the current one, else a new cluster of the
    platform's Dask gateway (when ``gateway.address`` is configured), else a LocalCluster; a cluster
    started here is closed at the end. A LocalCluster for inputs of ``nbytes`` known to be small
    (:data:`THREADS_BELOW_BYTES`) is one thread in this process, else two worker processes."""
    import dask
    from distributed import Client, LocalCluster, get_client

    if client is None:
        try:
            client = get_client()
        except ValueError:
            pass
    if client is not None:
        yield client
        return
    if dask.config.get("gateway.address", None):
        from dask_gateway import GatewayCluster  # its Gateway's close fixed by platform_lib.gateway (import hook)

        cluster = GatewayCluster()  # its own Gateway only (Gateway().new_cluster() made a second one)
        cluster.adapt(minimum=1, maximum=4)
        client = cluster.get_client()
    else:
        small = dask.config.get("astrohub.local-cluster.threads-below-bytes", THREADS_BELOW_BYTES)
        if nbytes is not None and nbytes <= int(small):  # one thread: numba's parallel kernels run one at a time
            cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0")
        else:
            cluster = LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="4GB", dashboard_address=":0")
        client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _show_progress(spec: LazySpec) -> bool:
    return bool(spec.progress if spec.progress is not None else _interactive())


def _write_result(result, output: Path, spec: LazySpec) -> Path:
    """Write a lazy LSDB result as HATS at ``output``, atomically."""
    staging = staging_folder(output)
    try:
        result.write_catalog(staging, catalog_name=output.name, progress_bar=_show_progress(spec),
                             as_collection=False)
        return publish(staging, output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_frame(out: pd.DataFrame, output: Path, lcat, spec: LazySpec) -> Path:
    """Write computed pairs (with probabilities) as HATS at ``output``, atomically."""
    from platform_lib.catalogs import write_hats

    info = lcat.hc_structure.catalog_info
    names = {c: c + spec.suffixes[0] for c in (info.ra_column, info.dec_column)}
    ra, dec = (c if c in out.columns else names[c] for c in (info.ra_column, info.dec_column))
    staging = staging_folder(output)
    try:
        write_hats(out, staging, name=output.name, ra_column=ra, dec_column=dec, partition_rows=1_000_000)
        return publish(staging, output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _interactive() -> bool:
    return hasattr(sys, "ps1") or "ipykernel" in sys.modules


def _cell_counts(cat, motion: Motion | None):
    """Lazy per-partition (HEALPix cell, count) at :data:`FOOTPRINT_DEPTH_DASK` of a catalogue's
    (propagated) positions, for the overlap area of the prior."""
    from platform_lib.crossmatch._bayes import cell_counts

    info = cat.hc_structure.catalog_info

    def per_partition(df):
        lon, lat = positions(df, info, motion)
        ok = np.isfinite(lon) & np.isfinite(lat)
        cells, n = cell_counts(lon[ok], lat[ok], FOOTPRINT_DEPTH_DASK)
        return pd.DataFrame({"cell": cells.astype(np.int64), "n": n})

    meta = pd.DataFrame({"cell": pd.Series(dtype=np.int64), "n": pd.Series(dtype=np.int64)})
    return cat.to_dask_dataframe(divisions=False).map_partitions(per_partition, meta=meta)


def _probabilities(out: pd.DataFrame, lcat, rcat, spec: LazySpec, left_rows: int, right_rows: int):
    """Posterior probabilities of all computed pairs: the prior from the whole catalogues' densities."""
    import dask

    from platform_lib.crossmatch._bayes import (
        _check_densities,
        area_of_cells,
        footprint_from_cell_counts,
        posterior_from_log_bayes_factors,
    )

    log_bf = np.asarray(out.pop(LOG_BAYES), dtype=np.float64)
    densities = _check_densities(spec.density) if spec.density is not None else None
    if spec.area is not None:
        area, n1, n2 = spec.area, left_rows, right_rows
    else:
        c1, c2 = dask.compute(_cell_counts(lcat, spec.left_motion), _cell_counts(rcat, spec.right_motion))
        order, _, effective, (n1, n2) = footprint_from_cell_counts(
            [merged_counts(c1), merged_counts(c2)], FOOTPRINT_DEPTH_DASK)
        area = area_of_cells(effective, order)
    return posterior_from_log_bayes_factors(log_bf, n1, n2, area, densities=densities).probability


def _compute_with_progress(result, client, report: Callable[[float, str], None]) -> pd.DataFrame:
    """Compute the lazy result partition by partition, reporting each one done."""
    from distributed import as_completed

    parts = result.to_delayed()
    if not parts:
        return result.to_dask_dataframe(divisions=False)._meta
    report(0.0, f"matching {len(parts)} HEALPix partitions")
    futures = client.compute(parts)
    for done, _ in enumerate(as_completed(futures), start=1):
        report(done / len(parts), f"matched {done}/{len(parts)} HEALPix partitions")
    return pd.concat(client.gather(futures))


def _output_name(columns, name: str, suffix: str) -> str:
    """The output column of one side's input column ``name``: suffixed when both sides had it."""
    return name + suffix if name + suffix in columns else name


def _best_lazy(left, right, radius, spec: LazySpec):
    """Mode ``best`` on Dask: the nearest pairs both ways, kept where they agree (each other's nearest).

    Two nearest-neighbour matches run, left to right and right to left (so both catalogues need a margin
    cache as wide as the radius when they are filtered LSDB catalogues; whole HATS catalogues on disk are read
    around the other side's rows instead); a pair is kept when the same two positions come back from both.
    Positions are read from the same files both ways, so they compare exactly.
    """
    if spec.lazy or spec.output is not None or spec.errors is not None:
        raise CrossmatchInputError(
            "mode='best' on Dask runs two nearest-neighbour matches and joins them, so it returns a DataFrame: "
            "leave out lazy=, output= and probability= (write the result with DataFrame.to_parquet)",
            code="unused-argument", value="best")
    from dataclasses import replace

    forward = crossmatch_lazy(left, right, radius, replace(spec, mode="nearest", k=None))
    try:
        backward = crossmatch_lazy(right, left, radius, replace(
            spec, mode="nearest", k=None, left_coords=spec.right_coords, right_coords=spec.left_coords,
            suffixes=(spec.suffixes[1], spec.suffixes[0]), left_motion=spec.right_motion,
            right_motion=spec.left_motion, on_progress=None))
    except CrossmatchInputError as exc:
        if exc.code == "no-margin":
            raise CrossmatchInputError(
                "mode='best' matches both ways, so the left catalogue needs a margin cache too; build one "
                "(margin_threshold >= the radius), use mode='nearest', or pass the left catalogue in memory",
                code="no-margin", value=str(left)) from exc
        raise
    cols = list(forward.columns)
    keys = [_output_name(cols, spec.left_coords[0], spec.suffixes[0]),
            _output_name(cols, spec.left_coords[1], spec.suffixes[0]),
            _output_name(cols, spec.right_coords[0], spec.suffixes[1]),
            _output_name(cols, spec.right_coords[1], spec.suffixes[1])]
    agreed = backward[keys].drop_duplicates()
    out = forward.merge(agreed, on=keys, how="inner")
    return out.reset_index(drop=True)


def _around(rcat, need: float, right, r_arcsec: float, reach: float) -> HatsLayout | None:
    """None when the right catalogue's margin holds ``need`` arcsec (LSDB's partition and margin are matched);
    else its layout on disk, whose partitions around the left rows are read instead (:class:`ZonesCrossmatch`),
    when the catalogue is a whole HATS catalogue on disk (a path, a registry name, an LSDB catalogue opened from
    one and not filtered: its files hold what it holds); else ``no-margin`` or ``margin-too-small``, saying
    what to do."""
    threshold = rcat.margin.hc_structure.catalog_info.margin_threshold if rcat.margin is not None else None
    if threshold is not None and threshold >= need:
        return None
    layout = _layout_on_disk(rcat)
    if layout is not None:
        return layout
    hint = ("; or, for a filtered LSDB catalogue, match the whole catalogue (its path or registry name: its "
            "partitions around the left rows are then read instead of the margin) and filter the pairs, or pass "
            "the filtered catalogue computed (catalogue.compute()) as a table")
    if threshold is None:
        raise no_margin_error(right, hint)
    check_margin(threshold, r_arcsec, reach, hint)
    return None


def _layout_on_disk(cat) -> HatsLayout | None:
    """The layout of the HATS folder an LSDB catalogue was opened from, when the catalogue is the whole of it
    (not filtered: hats keeps its row count) in plain Parquet partitions, the same ones; else None."""
    from platform_lib.catalogs import read_layout

    path = getattr(cat.hc_structure, "catalog_path", None)
    if path is None or not _unmodified(cat):
        return None
    try:
        layout = read_layout(str(path))
    except Exception:  # noqa: BLE001 - not a folder this reader takes: the margin's error stands
        return None
    pixels = {(int(p.order), int(p.pixel)) for p in cat.get_healpix_pixels()}
    return layout if layout.plain_parquet and set(layout.pixels) == pixels else None


def _graphs(left, right, spec: LazySpec) -> tuple[bool, bool]:
    """Which sides of a ``lazy=True`` crossmatch are Dask DataFrames kept as graphs: a right one against a table or
    DataFrame in memory (cut to the rows near its partitions' rows), a left one against a table, DataFrame or
    catalogue (cut to the right one's pixels). Another Dask DataFrame, or a catalogue on the left of a right one,
    says nothing of where the rows lie: it is computed, as without ``lazy``."""
    if not spec.lazy:
        return False, False
    kinds = kind_of(left), kind_of(right)
    return (kinds[0] == DASK and kinds[1] != DASK,
            kinds[1] == DASK and kinds[0] in (TABLE, FRAME))


def crossmatch_lazy(left, right, radius, spec: LazySpec):
    """The Dask path of :func:`~platform_lib.crossmatch.crossmatch` (see there); ``spec`` holds the
    checked options."""
    r_arcsec = float(radius.to_value(u.arcsec))
    for coords, side in ((spec.left_coords, "left"), (spec.right_coords, "right")):
        if isinstance(coords, str) or len(coords) != 2:
            raise CrossmatchInputError(
                f"{side}_coords must be (lon_column, lat_column) for a catalogue on Dask, got {coords!r}",
                code="missing-column", value=coords)
    if spec.left_frame or spec.right_frame:
        left, right, spec = to_icrs(left, right, spec)
    if spec.mode == "best":
        return _best_lazy(left, right, radius, spec)
    kk = 1 if spec.mode == "nearest" else (spec.k if spec.mode == "k" else None)
    if spec.errors is None and not spec.lazy:
        from platform_lib.crossmatch import _partitions

        plan = _partitions.plan(left, right, r_arcsec, k=kk, left_coords=spec.left_coords,
                                right_coords=spec.right_coords, suffixes=spec.suffixes,
                                left_motion=spec.left_motion, right_motion=spec.right_motion)
        if plan is not None:  # two HATS catalogues on disk: our own reader and writer
            sides = (plan.left.root, plan.right.root, *((plan.right.margin.root,) if plan.right.margin else ()))
            with dask_client(spec.client, nbytes=input_bytes(*sides)) as client:
                return _partitions.run(plan, client, output=spec.output, report=spec.on_progress,
                                       progress_bar=spec.on_progress is None and _show_progress(spec))
    # Frames first (their proper motions size the margins they are built with), then catalogues. A Dask DataFrame
    # matched lazily is kept a graph (computed here it was, before the lazy result was returned) where the other
    # side tells how to partition it: against a table, or on the left against a catalogue (:func:`_graphs`).
    graphs = _graphs(left, right, spec)
    inputs = []
    for obj, coords, side, graph in ((left, spec.left_coords, "left", graphs[0]),
                                     (right, spec.right_coords, "right", graphs[1])):
        if graph:
            check_columns_numeric(obj, coords, side)
        inputs.append(obj if is_catalogue(obj) or graph else frame_input(obj, coords, side))
    opened = []
    for i, (obj, coords, side) in enumerate(((inputs[0], spec.left_coords, "left"),
                                             (inputs[1], spec.right_coords, "right"))):
        opened.append(obj if isinstance(obj, pd.DataFrame) or graphs[i] else open_catalog(obj, coords, r_arcsec, side))
    # (a right Dask DataFrame kept a graph is cut to the rows near the left ones as moved: no reach to cover)
    reach = reach_arcsec((motion.dt_years, _max_proper_motion(obj, motion))
                         for obj, motion in ((opened[0], spec.left_motion),
                                             (None if graphs[1] else opened[1], spec.right_motion))
                         if motion is not None and obj is not None)
    # A frame's margin cache on the right side only: LSDB's inner crossmatch reads the right catalogue's margin,
    # never the left's, and building one for a table of a few hundred rows took 3 s of CPU (lsdb's margin pixel
    # pairs, in this process; 20 s on a loaded machine) of a crossmatch whose own work takes under 1 s
    lcat, rcat = (open_catalog(obj, coords, r_arcsec + reach if side == "right" else None, side)
                  if isinstance(obj, pd.DataFrame) else obj
                  for obj, coords, side in ((opened[0], spec.left_coords, "left"),
                                            (opened[1], spec.right_coords, "right")))
    if graphs[0]:
        lcat = graph_left(lcat, spec.left_coords, rcat)
    if graphs[1]:
        rcat = graph_right(rcat, spec.right_coords, spec.right_motion, lcat, opened[0], spec.left_coords,
                           spec.left_motion, r_arcsec)
    around = None if graphs[1] else _around(rcat, r_arcsec + reach, right, r_arcsec, reach)
    motion = dict(left_motion=spec.left_motion, right_motion=spec.right_motion, reach_arcsec=reach,
                  right_around=around)
    if spec.errors is not None:
        algorithm = ZonesBayesCrossmatch(r_arcsec, kk, errors=spec.errors, **motion)
    else:
        algorithm = ZonesCrossmatch(r_arcsec, kk, **motion)
    try:
        # log_changes=False: LSDB logs each renamed column as a root-logger WARNING, which every notebook
        # showed (the crossmatch tutorial's "WARNING:root:Renaming overlapping columns" table); the suffixes
        # are documented and asked for
        with warnings.catch_warnings():
            if around is not None or graphs[1]:  # no margin: the rows around the left ones are read instead
                warnings.filterwarnings("ignore", "Right catalog does not have a margin cache", RuntimeWarning)
            result = lcat.crossmatch(rcat, algorithm=algorithm, suffixes=spec.suffixes,
                                     suffix_method="overlapping_columns", log_changes=False)
    except CrossmatchError:
        raise
    except ValueError as exc:
        raise CrossmatchInputError(f"LSDB refused the crossmatch: {exc}", code="lsdb-error") from exc
    if spec.lazy:
        return result
    import dask

    with dask_client(spec.client) as client:
        with dask.config.set(scheduler=client.get):
            if spec.output is not None and spec.errors is None:
                return _write_result(result, spec.output, spec)
            if spec.on_progress is not None:
                out = _compute_with_progress(result, client, spec.on_progress)
            else:
                out = result.compute(progress_bar=_show_progress(spec))
            out = pd.DataFrame(out).reset_index(drop=True)
            if spec.errors is not None:
                out[PROBABILITY] = _probabilities(out, lcat, rcat, spec, _rows_of(lcat), _rows_of(rcat))
            if spec.output is not None:
                return _write_frame(out, spec.output, lcat, spec)
    return out
