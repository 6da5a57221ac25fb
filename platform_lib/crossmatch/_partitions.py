"""Crossmatch of two HATS catalogues on disk, partition by partition, with our own reader and writer.

Owns aligning two HEALPix partitionings (which partitions overlap), one Dask task per group of
overlapping partitions (read with pyarrow, match with ``_engine.match_pairs``, take both rows), and
writing the result as a HATS catalogue, atomically (a hidden sibling folder renamed into place at
the end), and which partitions cones touch (:func:`touched_pixels`, for ``_ondisk`` and a margin too narrow).
It imports neither hats nor lsdb (mocpy only for more than :data:`FEW_CONES` cones): in a fresh process
importing hats costs about 10 s and its tree alignment about 23 s of numba compilation, more than matching
10^7 x 10^7 rows (``bench/crossmatch_outofcore.py`` measures both paths). Inputs it cannot take (filtered LSDB
catalogues, Dask DataFrames, probabilities, other HATS file layouts) stay on the
LSDB path in ``_dask``; :func:`plan` says which.

Which rows meet: each left row is matched in exactly one task, against the rows of the right
partition covering it plus that partition's margin cache (the rows just outside it), as LSDB does.
A right catalogue with no margin cache, or one narrower than the radius plus the proper motions' reach,
is matched as exactly: each task reads, instead of the margin, every right partition that the cones of
that reach around its left rows touch (:func:`touched_pixels`), as the in-memory path reads the
partitions a table touches; more reading, the same pairs (:func:`read_around`, which LSDB's path in ``_dask``
also calls for a right margin too narrow).
Sky that only one catalogue covers has no pairs, so a left row in a pixel where the right catalogue
has no partition is not matched even near the edge of a right partition (LSDB behaves the same).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
import warnings
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from platform_lib.catalogs import HEALPIX_COLUMN, HatsLayout, arrow_to_pandas, partition_file, read_layout
from platform_lib.crossmatch._engine import match_pairs
from platform_lib.crossmatch._epoch import Motion, propagate_years
from platform_lib.crossmatch._errors import CrossmatchError, CrossmatchInputError, DroppedRowsWarning

__all__ = ["Plan", "plan", "overlapping_pixels", "run", "staging_folder", "publish", "check_own_coords",
           "schema_columns",
           "check_margin", "no_margin_error", "reach_arcsec", "cones_moc", "touched_pixels", "read_around", "range29",
           "max_proper_motion", "schema_file", "read_partition"]

SEPARATION = "separation_arcsec"
_DEPTH = 29
#: The most Parquet bytes of finer partitions one task reads besides its coarse partition. A coarse
#: pixel over many finer ones (a sparse catalogue against a dense one) becomes several tasks, each
#: reading the coarse partition again, so that no worker holds the whole dense side of a pixel.
TASK_BYTES = 256 * 2**20


@dataclass(frozen=True)
class Plan:
    """Two HATS catalogues ready to match here: their layouts and the output column names."""

    left: HatsLayout
    right: HatsLayout
    left_names: dict[str, str]
    right_names: dict[str, str]
    radius_arcsec: float
    k: int | None
    left_motion: Motion | None = None
    right_motion: Motion | None = None
    #: The most two matched rows' catalogue positions can lie apart (radius plus the proper motions' reach, arcsec).
    reach_arcsec: float = 0.0
    #: Whether the right margin cache holds ``reach_arcsec``; if not, tasks read the right partitions around
    #: their left rows instead (:func:`_right_around`).
    use_margin: bool = True


def _layout(obj) -> HatsLayout | None:
    """The layout of a HATS path or registry name, else None (an LSDB catalogue, a frame...)."""
    if type(obj).__name__ == "TableInfo" or isinstance(obj, (str, os.PathLike)) and not Path(obj).is_dir():
        from platform_lib.catalogs import resolve

        obj, _ = resolve(obj)
    if not isinstance(obj, (str, os.PathLike)) or not Path(obj).is_dir():
        return None
    try:
        layout = read_layout(obj)
    except Exception:  # noqa: BLE001 - anything unreadable goes to the LSDB path, which names the problem
        return None
    return layout if layout.plain_parquet else None


def _names(left: HatsLayout, right: HatsLayout, suffixes) -> tuple[dict[str, str], dict[str, str]]:
    """Output names of the left and right columns: the clashing ones get the suffixes (as LSDB's
    ``suffix_method="overlapping_columns"``); the output's ``_healpix_29`` is the left row's."""
    cols = [[n for n in pq.read_schema(schema_file(side)).names if n != HEALPIX_COLUMN and not n.startswith("__")]
            for side in (left, right)]
    clash = set(cols[0]) & set(cols[1])
    return tuple({c: c + suffix if c in clash else c for c in names} for names, suffix in zip(cols, suffixes))


def schema_columns(obj) -> tuple[list[str], tuple[str, str]] | None:
    """``(columns, (ra column, dec column))`` of a HATS catalogue on disk (a path or registry name) this module
    reads, from its Parquet schema (no data is read), without HATS's own columns; None for anything else."""
    layout = _layout(obj)
    if layout is None or not layout.pixels:
        return None
    names = [n for n in pq.read_schema(schema_file(layout)).names if n != HEALPIX_COLUMN and not n.startswith("__")]
    return names, (layout.ra_column, layout.dec_column)


def schema_file(layout: HatsLayout) -> Path:
    common = layout.root / "dataset" / "_common_metadata"
    return common if common.exists() else layout.file(*layout.pixels[0])


def plan(left, right, radius_arcsec: float, *, k: int | None, left_coords, right_coords, suffixes,
         left_motion: Motion | None = None, right_motion: Motion | None = None) -> Plan | None:
    """A :class:`Plan` when both sides are HATS catalogues on disk this module reads, else None.

    Coordinate columns other than the catalogue's own and missing proper-motion columns are errors, as on
    the LSDB path. A right margin cache that is missing or too narrow (it must hold the radius plus the most
    two sources can move towards each other, from the Parquet statistics of the proper motions) is no error
    here: the tasks read the right partitions around their left rows instead (``use_margin=False``).
    """
    layouts = [_layout(left), _layout(right)]
    if None in layouts or not layouts[0].pixels or not layouts[1].pixels:
        return None
    for layout, coords, side in zip(layouts, (left_coords, right_coords), ("left", "right")):
        check_own_coords((layout.ra_column, layout.dec_column), coords, side)
    margin = layouts[1].margin
    if margin is not None and (not margin.plain_parquet or set(margin.pixels) - set(layouts[1].pixels)):
        return None  # a margin cache partitioned differently from its catalogue: LSDB's path
    moves = []
    for layout, motion, side in zip(layouts, (left_motion, right_motion), ("left", "right")):
        if motion is not None:
            fastest = max_proper_motion(layout, motion, side)
            if fastest is None:
                return None  # no statistics to size the margin from: LSDB's path counts them
            moves.append((motion.dt_years, fastest))
    reach = float(radius_arcsec) + reach_arcsec(moves)
    use_margin = margin is not None and (margin.margin_arcsec or 0.0) >= reach
    left_names, right_names = _names(layouts[0], layouts[1], suffixes)
    return Plan(layouts[0], layouts[1], left_names, right_names, float(radius_arcsec), k, left_motion, right_motion,
                reach, use_margin)


def check_own_coords(own: tuple[str, str], coords, side: str, available=None) -> None:
    """A HATS catalogue is matched on its own coordinate columns (or the default ``("ra", "dec")``)."""
    if tuple(coords) not in (own, ("ra", "dec")):
        raise CrossmatchInputError(
            f"{side}_coords={tuple(coords)!r}, but the {side} HATS catalogue's coordinates are {own!r} "
            f"(its partitioning is by those); leave {side}_coords out", code="missing-column",
            value=tuple(coords), available=available)


def no_margin_error(right, hint: str = "") -> CrossmatchInputError:
    return CrossmatchInputError(
        "the right catalogue has no margin cache, so matches across partition boundaries would "
        "be lost; build one (hats-import margin cache, margin_threshold >= the radius) or pass the "
        "right catalogue in memory; a margin cache in a folder of its own (as hats-import writes it) is "
        "read when you pass lsdb.open_catalog(catalogue_path, margin_cache=margin_path) instead of the path"
        + hint, code="no-margin", value=str(right))


def reach_arcsec(moves) -> float:
    """The most two sources can move towards each other (arcsec), from ``(years, fastest mas/yr)``
    of each side that moves; the motion is linear in 3-D, hence a little slack."""
    reach = sum(abs(years) * fastest / 1000.0 for years, fastest in moves)
    return reach * 1.01 + (1e-6 if reach else 0.0)


def check_margin(threshold_arcsec: float, radius_arcsec: float, reach: float, hint: str = "") -> None:
    """The right margin must hold the radius plus the proper motion between the epochs."""
    need = radius_arcsec + reach
    if threshold_arcsec < need:
        extra = f" plus up to {reach:.3g} arcsec of proper motion between the epochs" if reach else ""
        raise CrossmatchInputError(
            f"the right catalogue's margin ({threshold_arcsec} arcsec) is smaller than the radius "
            f"({radius_arcsec} arcsec){extra}; rebuild it with margin_threshold >= {need:.6g} arcsec{hint}",
            code="margin-too-small", value=need)


def max_proper_motion(layout: HatsLayout, motion: Motion, side: str) -> float | None:
    """The largest total proper motion (mas/yr) of a catalogue from its Parquet statistics (every
    partition's footer, through ``_metadata`` when there is one); None when they are missing."""
    names = pq.read_schema(schema_file(layout)).names
    missing = [c for c in motion.pm if c not in names]
    if missing:
        raise CrossmatchInputError(
            f"{side} catalogue has no proper-motion column(s) {missing}; available columns: {', '.join(names)}",
            code="missing-column", value=missing, available=names)
    summary = layout.root / "dataset" / "_metadata"
    footers = [pq.read_metadata(summary)] if summary.exists() else [pq.read_metadata(layout.file(*p))
                                                                     for p in layout.pixels]
    extremes = []
    for column in motion.pm:
        largest = 0.0
        for meta in footers:
            index = meta.schema.to_arrow_schema().get_field_index(column)
            for g in range(meta.num_row_groups):
                stats = meta.row_group(g).column(index).statistics
                if meta.row_group(g).num_rows and (stats is None or not stats.has_min_max):
                    return None
                if stats is not None and stats.has_min_max:
                    largest = max(largest, abs(float(stats.min)), abs(float(stats.max)))
        extremes.append(largest)
    fastest = float(np.hypot(*extremes))
    return fastest if np.isfinite(fastest) else None


# ------------------------------------------------------------------------------------- alignment


def range29(order: int, pixel: int) -> tuple[int, int]:
    """The ``_healpix_29`` indices ``[lo, hi)`` inside one pixel."""
    shift = 2 * (_DEPTH - order)
    return pixel << shift, (pixel + 1) << shift


def overlapping_pixels(left, right) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Every (left pixel, right pixel) pair of two HEALPix partitionings that overlap, i.e. where one
    pixel contains the other: one sweep over both sets of pixels as sorted order-29 ranges."""
    a = sorted(left, key=lambda p: range29(*p))
    b = sorted(right, key=lambda p: range29(*p))
    pairs, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        (alo, ahi), (blo, bhi) = range29(*a[i]), range29(*b[j])
        if ahi <= blo:
            i += 1
        elif bhi <= alo:
            j += 1
        else:
            pairs.append((a[i], b[j]))
            if ahi <= bhi:
                i += 1
            if bhi <= ahi:
                j += 1
    return pairs


@dataclass(frozen=True)
class _Group:
    """One task: a coarse pixel of one side and the pixels of the other side inside it (or equal)."""

    coarse_side: str
    coarse: tuple[int, int]
    fine: tuple[tuple[int, int], ...]


def _groups(pairs) -> list[_Group]:
    by_coarse: dict[tuple[str, tuple[int, int]], list[tuple[int, int]]] = defaultdict(list)
    for lp, rp in pairs:
        if lp[0] <= rp[0]:
            by_coarse[("left", lp)].append(rp)
        else:
            by_coarse[("right", rp)].append(lp)
    return [_Group(side, pix, tuple(fine)) for (side, pix), fine in by_coarse.items()]


def _split(groups: list[_Group], plan_: Plan, budget: int) -> list[_Group]:
    """Groups cut so that the finer partitions of each hold at most ``budget`` bytes of Parquet
    (always at least one partition)."""
    out = []
    for g in groups:
        layout = plan_.right if g.coarse_side == "left" else plan_.left
        chunk, size = [], 0
        for pixel in g.fine:
            file = layout.file(*pixel)
            n = file.stat().st_size if file.exists() else 0
            if chunk and size + n > budget:
                out.append(_Group(g.coarse_side, g.coarse, tuple(chunk)))
                chunk, size = [], 0
            chunk.append(pixel)
            size += n
        out.append(_Group(g.coarse_side, g.coarse, tuple(chunk)))
    return out


# ------------------------------------------------------------------------------------ the tasks


@dataclass
class _Outcome:
    """What one task sends back: written pixels and their row counts (or the tables), and the rows
    it could not use."""

    pixels: list[tuple[int, int, int]]
    tables: list[pa.Table]
    dropped: tuple[int, int]
    bad_latitude: float | None


def read_partition(layout: HatsLayout, order: int, pixel: int) -> pa.Table:
    file = layout.file(order, pixel)
    try:
        return pq.read_table(file)
    except (OSError, pa.ArrowException) as exc:
        raise CrossmatchError(f"cannot read partition {file}: {exc}", code="partition-unreadable",
                              value=str(file)) from exc


def _with_margin(plan_: Plan, order: int, pixel: int) -> pa.Table:
    """A right partition and the rows of its margin cache (the margin file may be absent: no rows)."""
    table = read_partition(plan_.right, order, pixel)
    margin = plan_.right.margin
    if (order, pixel) in set(margin.pixels):
        extra = read_partition(margin, order, pixel).select(table.column_names).cast(table.schema)
        table = pa.concat_tables([table, extra])
    return table


def cones_moc(lon: np.ndarray, lat: np.ndarray, reach_arcsec_: float, depth: int):
    """The MOC (mocpy) of the cones of ``reach_arcsec_`` around (lon, lat) in degrees, one order finer than
    ``depth``, the deepest partition order of the catalogue it is laid over (at most order 29): fine enough
    that a partition it touches is one a cone touches, no finer (a finer MOC costs time, not pairs)."""
    import astropy.units as u
    from mocpy import MOC

    return MOC.from_cones(lon * u.deg, lat * u.deg, radius=reach_arcsec_ * u.arcsec,
                          max_depth=min(depth + 1, _DEPTH), union_strategy="small_cones", delta_depth=2)


#: Up to this many cones, :func:`touched_pixels` covers them one at a time with cdshealpix (imported with the
#: platform's catalogues) instead of with one MOC of them all: importing mocpy pulls matplotlib, networkx and
#: astropy's FITS and WCS (0.2 to 2 s of a first crossmatch in a fresh kernel), where a cone costs about 0.1 ms.
#: Both are cdshealpix's cone coverage at the same depth (delta depth 2): the same cells
#: (``tests/integration/test_crossmatch_touched.py`` compares them).
FEW_CONES = 2_000


def _cone_ranges(lon: np.ndarray, lat: np.ndarray, reach_arcsec_: float, depth: int) -> np.ndarray:
    """The order-29 ranges ``[start, end)`` of the cells of :func:`cones_moc` (sorted, merged), cone by cone."""
    import astropy.units as u
    from cdshealpix.nested import cone_search

    depth = min(depth + 1, _DEPTH)
    radius = reach_arcsec_ * u.arcsec
    cells = np.unique(np.concatenate([
        np.asarray(cone_search(a * u.deg, b * u.deg, radius, depth, depth_delta=2, flat=True)[0], dtype=np.int64)
        for a, b in zip(lon.tolist(), lat.tolist())]))
    shift = 2 * (_DEPTH - depth)
    starts, ends = cells << shift, (cells + 1) << shift
    new = np.ones(len(cells), dtype=bool)
    new[1:] = starts[1:] != ends[:-1]  # consecutive cells: one range
    last = np.append(np.flatnonzero(new)[1:] - 1, len(cells) - 1)
    return np.column_stack([starts[new], ends[last]])


def touched_pixels(pixels, lon: np.ndarray, lat: np.ndarray, reach_arcsec_: float) -> list[tuple[int, int]]:
    """Those of the partitions ``pixels`` (``(order, pixel)``, kept in their order) that the cones of
    ``reach_arcsec_`` around the finite (lon, lat) in degrees touch: those a MOC of the cones one order finer than
    the deepest partition overlaps (:func:`cones_moc`; for at most :data:`FEW_CONES` cones the same cells, covered
    cone by cone), as LSDB's ``moc_search(moc, fine=False)`` keeps them."""
    pixels = list(pixels)
    ok = np.isfinite(lon) & np.isfinite(lat) & (lat >= -90) & (lat <= 90)
    if not ok.any() or not pixels:
        return []
    depth = max(o for o, _ in pixels)
    if ok.sum() <= FEW_CONES:
        ranges = _cone_ranges(lon[ok], lat[ok], reach_arcsec_, depth)
    else:
        ranges = cones_moc(lon[ok], lat[ok], reach_arcsec_, depth).to_depth29_ranges
    starts, ends = ranges[:, 0].astype(np.int64), ranges[:, 1].astype(np.int64)
    found = []
    for order, pixel in pixels:
        lo, hi = range29(order, pixel)
        j = int(np.searchsorted(ends, lo, side="right"))  # the first range ending after lo
        if j < len(starts) and starts[j] < hi:
            found.append((order, pixel))
    return found


def _right_around(plan_: Plan, left: pa.Table, read: dict) -> pa.Table:
    """Every right partition that the cones of ``plan_.reach_arcsec`` around the left rows touch (no margin
    rows), each read once per task (``read`` keeps them): all the right rows a left row can be paired with."""
    lon, lat = _positions(left, plan_.left, None)  # catalogue positions: the reach holds both sides' motion
    return read_around(plan_.right, lon, lat, plan_.reach_arcsec, read)


def read_around(right: HatsLayout, lon: np.ndarray, lat: np.ndarray, reach: float, read: dict | None = None,
                columns: list[str] | None = None) -> pa.Table:
    """The rows of every partition of ``right`` (not its margin) that the cones of ``reach`` arcsec around
    (lon, lat) touch (:func:`touched_pixels`), with ``columns`` (default: all), each partition read once
    while ``read`` keeps it. Whatever a margin cache too narrow for ``reach`` would miss is in them; LSDB's
    path (``_dask.ZonesCrossmatch``) reads them too, instead of such a margin."""
    read = {} if read is None else read
    pixels = touched_pixels(right.pixels, lon, lat, reach)
    for p in pixels:
        if p not in read:
            read[p] = read_partition(right, *p)
    tables = [read[p] for p in pixels] or [read_partition(right, *right.pixels[0]).slice(0, 0)]
    if columns is not None:
        tables = [t.select(columns) for t in tables]
    return pa.concat_tables([t.select(tables[0].column_names).cast(tables[0].schema) for t in tables])


def _in_pixel(table: pa.Table, order: int, pixel: int) -> pa.Table:
    hp = table.column(HEALPIX_COLUMN).to_numpy()
    lo, hi = range29(order, pixel)
    return table.filter(pa.array((hp >= lo) & (hp < hi)))


def _positions(table: pa.Table, layout: HatsLayout, motion: Motion | None) -> tuple[np.ndarray, np.ndarray]:
    """(lon, lat) in degrees, moved along the proper motions when ``motion`` says so."""
    def column(name):
        return table.column(name).to_numpy(zero_copy_only=False).astype(np.float64, copy=False)

    lon, lat = column(layout.ra_column), column(layout.dec_column)
    if motion is not None and lon.size:
        lon, lat = propagate_years(lon, lat, column(motion.pm[0]), column(motion.pm[1]), motion.dt_years)
    return lon, lat


def _match_tables(plan_: Plan, left: pa.Table, right: pa.Table, outcome: _Outcome) -> pa.Table | None:
    """Matched rows of two tables: the left row's and the right row's columns (renamed), the
    separation and the left row's ``_healpix_29``; None (noted in ``outcome``) when a latitude is
    out of range."""
    import astropy.units as u

    lon1, lat1 = _positions(left, plan_.left, plan_.left_motion)
    lon2, lat2 = _positions(right, plan_.right, plan_.right_motion)
    ok1 = np.isfinite(lon1) & np.isfinite(lat1)
    ok2 = np.isfinite(lon2) & np.isfinite(lat2)
    outcome.dropped = (outcome.dropped[0] + int(ok1.size - ok1.sum()), outcome.dropped[1] + int(ok2.size - ok2.sum()))
    rows1, rows2 = np.flatnonzero(ok1), np.flatnonzero(ok2)
    for lat in (lat1[rows1], lat2[rows2]):
        bad = (lat < -90) | (lat > 90)
        if bad.any():
            outcome.bad_latitude = float(lat[bad][0])
            return None
    i1, i2, sep = match_pairs(lon1[rows1], lat1[rows1], lon2[rows2], lat2[rows2],
                              plan_.radius_arcsec * u.arcsec, k=plan_.k)
    i1, i2 = pa.array(rows1[i1]), pa.array(rows2[i2])
    lrows, rrows = left.take(i1), right.take(i2)
    columns = {plan_.left_names[n]: lrows.column(n) for n in plan_.left_names}
    columns.update({plan_.right_names[n]: rrows.column(n) for n in plan_.right_names})
    columns[SEPARATION] = pa.array(sep)
    columns[HEALPIX_COLUMN] = lrows.column(HEALPIX_COLUMN)
    return pa.table(columns)


def _emit(table: pa.Table | None, order: int, pixel: int, out: Path | None, outcome: _Outcome) -> None:
    if table is None or table.num_rows == 0:
        return
    if out is None:
        outcome.tables.append(table)
    else:
        file = partition_file(out, order, pixel)
        folder = out
        for part in file.parent.relative_to(out).parts:  # never re-creates ``out`` once the driver removed it
            folder = folder / part
            folder.mkdir(exist_ok=True)
        pq.write_table(table, file)
    outcome.pixels.append((order, pixel, table.num_rows))


def match_group(plan_: Plan, group: _Group, out: Path | None) -> _Outcome:
    """Run one task (on a Dask worker): read the coarse partition once and each finer one, match,
    and write each output partition (the finer pixel of each overlapping pair) under ``out``, or
    keep the tables when ``out`` is None."""
    outcome = _Outcome([], [], (0, 0), None)
    read: dict = {}
    if group.coarse_side == "left":
        left = read_partition(plan_.left, *group.coarse)
        for rp in group.fine:
            part = left if rp == group.coarse else _in_pixel(left, *rp)
            right = _with_margin(plan_, *rp) if plan_.use_margin else _right_around(plan_, part, read)
            _emit(_match_tables(plan_, part, right, outcome), *rp, out, outcome)
        return outcome
    # One right partition (and its margin) holding several finer left partitions: match them at once
    # and cut the output by left partition (the pairs come sorted by left row).
    lefts = pa.concat_tables([read_partition(plan_.left, *lp) for lp in group.fine])
    right = _with_margin(plan_, *group.coarse) if plan_.use_margin else _right_around(plan_, lefts, read)
    matched = _match_tables(plan_, lefts, right, outcome)
    if matched is None:
        return outcome
    hp = matched.column(HEALPIX_COLUMN).to_numpy()
    for lp in group.fine:
        lo, hi = range29(*lp)
        _emit(matched.filter(pa.array((hp >= lo) & (hp < hi))), *lp, out, outcome)
    return outcome


# ----------------------------------------------------------------------------------- the driver


def run(plan_: Plan, client, *, output: Path | None, name: str | None = None,
        report: Callable[[float, str], None] | None = None, progress_bar: bool = False):
    """Match on ``client``'s workers; write HATS at ``output`` and return its path, or return a
    pandas DataFrame when ``output`` is None."""
    from distributed import as_completed

    groups = _split(_groups(overlapping_pixels(plan_.left.pixels, plan_.right.pixels)), plan_, TASK_BYTES)
    staging = staging_folder(Path(output)) if output is not None else None
    report = report or (lambda fraction, message: None)
    bar = _bar(len(groups)) if progress_bar else None
    futures = []
    try:
        report(0.0, f"matching {len(groups)} groups of HEALPix partitions")
        futures = [client.submit(match_group, plan_, g, staging, pure=False) for g in groups]
        outcomes = []
        for done, future in enumerate(as_completed(futures), start=1):
            outcomes.append(future.result())
            report(done / max(1, len(groups)), f"matched {done}/{len(groups)} groups of HEALPix partitions")
            if bar is not None:
                bar.update(1)
        _check(outcomes)
        if output is None:
            return _frame(plan_, [t for o in outcomes for t in o.tables])
        pixels = sorted(p for o in outcomes for p in o.pixels)
        if not pixels:
            raise CrossmatchError(f"no pairs within {plan_.radius_arcsec} arcsec: nothing to write at {str(output)!r}",
                                  code="empty-result", value=str(output))
        _finish_catalog(plan_, staging, pixels, name or Path(output).name)
        return publish(staging, Path(output))
    finally:
        if bar is not None:
            bar.close()
        if staging is not None and staging.exists():
            _stop(client, futures)
            shutil.rmtree(staging, ignore_errors=True)


def _stop(client, futures, timeout: float = 60.0) -> None:
    """Cancel the tasks still queued and wait (up to ``timeout``) for those already running, which
    would otherwise go on writing into the staging folder while it is removed."""
    keys = {f.key for f in futures}
    deadline = time.monotonic() + timeout
    try:
        client.cancel(futures)
        while time.monotonic() < deadline:
            if not any(client.run(_executing, keys).values()):
                return
            time.sleep(0.05)
    except Exception:  # noqa: BLE001 - a lost worker or client: the run's own error is the one to raise
        return


def _executing(keys, dask_worker=None) -> int:
    """How many of ``keys`` the worker is running now (``client.run`` passes the worker)."""
    return sum(1 for ts in dask_worker.state.executing if ts.key in keys)


def staging_folder(output: Path) -> Path:
    """A fresh hidden sibling of ``output`` to write into (``output`` must be new or empty)."""
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise CrossmatchInputError(f"output {str(output)!r} exists and is not an empty folder; choose a new "
                                   "folder or remove it first", code="output-exists", value=str(output))
    staging = output.parent / f".{output.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.mkdir(parents=True)
    except OSError as exc:
        raise CrossmatchInputError(f"cannot write the output {str(output)!r}: {exc.strerror or exc}",
                                   code="bad-output", value=str(output)) from exc
    return staging


def publish(staging: Path, output: Path) -> Path:
    """Move a finished ``staging`` folder to ``output`` in one rename."""
    if output.exists():
        output.rmdir()  # empty (checked by staging_folder)
    os.replace(staging, output)
    return output


def _bar(total: int):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="crossmatch", unit="group", file=sys.stderr)


def _check(outcomes: list[_Outcome]) -> None:
    bad = [o.bad_latitude for o in outcomes if o.bad_latitude is not None]
    if bad:
        raise CrossmatchInputError(f"latitudes out of [-90, 90] deg (first: {bad[0]}); check the catalogue's "
                                   "coordinates", code="bad-latitude", value=bad[0])
    for side, n in zip(("left", "right"), np.sum([o.dropped for o in outcomes], axis=0).tolist() if outcomes else ()):
        if n:
            warnings.warn(f"{n} {side} rows have NaN or infinite coordinates and were left out of the crossmatch",
                          DroppedRowsWarning, stacklevel=4)


def _frame(plan_: Plan, tables: list[pa.Table]):
    if not tables:
        fields = [pa.field(names[f.name], f.type) for layout, names in ((plan_.left, plan_.left_names),
                                                                        (plan_.right, plan_.right_names))
                  for f in pq.read_schema(schema_file(layout)) if f.name in names]
        return arrow_to_pandas(pa.schema([*fields, pa.field(SEPARATION, pa.float64())]).empty_table())
    table = pa.concat_tables(tables)
    order = np.argsort(table.column(HEALPIX_COLUMN).to_numpy(), kind="stable")
    return arrow_to_pandas(table.take(pa.array(order)).drop_columns([HEALPIX_COLUMN]))


def _finish_catalog(plan_: Plan, root: Path, pixels: list[tuple[int, int, int]], name: str) -> None:
    """The HATS metadata around written partitions: ``_common_metadata``, ``_metadata`` (every file's
    footer), ``partition_info.csv`` and ``hats.properties``."""
    dataset = root / "dataset"
    footers = []
    schema = None
    for order, pixel, _ in pixels:
        file = partition_file(root, order, pixel)
        meta = pq.read_metadata(file)
        meta.set_file_path(str(file.relative_to(dataset)))
        footers.append(meta)
        schema = schema or pq.read_schema(file)
    pq.write_metadata(schema, dataset / "_common_metadata")
    pq.write_metadata(schema, dataset / "_metadata", metadata_collector=footers)
    with open(root / "partition_info.csv", "w") as fh:
        fh.write("Norder,Npix\n" + "".join(f"{o},{p}\n" for o, p, _ in pixels))
    counts = [n for _, _, n in pixels]
    props = {
        "obs_collection": name,
        "dataproduct_type": "object",
        "hats_nrows": sum(counts),
        "hats_col_ra": plan_.left_names[plan_.left.ra_column],
        "hats_col_dec": plan_.left_names[plan_.left.dec_column],
        "hats_col_healpix": HEALPIX_COLUMN,
        "hats_col_healpix_order": _DEPTH,
        "hats_npix_suffix": ".parquet",
        "hats_max_rows": max(counts),
        "hats_order": max(o for o, _, _ in pixels),
        "hats_builder": "astrohub crossmatch",
        "hats_creation_date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%MUTC"),
        "hats_version": "v1.0",
    }
    (root / "hats.properties").write_text("#HATS catalog\n" + "".join(f"{k}={v}\n" for k, v in props.items()))
