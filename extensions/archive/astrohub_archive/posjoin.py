"""Positional joins on the crossmatch kernel: the candidate pairs of a planned ``adql.PositionalJoin``.

:func:`candidate_pairs` reads each side's positions (the plan's side queries, on the query's own
DuckDB connection, so the proprietary filter and the query's limits hold), runs
``platform_lib.crossmatch.match_pairs`` (all pairs within the radius, on its declination-zone grid:
any RA, the RA-0 wrap and the poles) and returns them, one row per pair of distinct positions, as
an Arrow table ``ra1, dec1, ra2, dec2`` for the query to join through on position. The kernel's
radius is widened by a hair and the query keeps its own distance test, so the rows are exactly
DuckDB's. It answers None (run the range join instead) when the kernel cannot take the inputs:
declinations outside [-90, 90], or so many pairs (expected, or counted by the kernel) that the
query's memory limit is the better judge. :class:`Kernel` says whether this process has the kernel
compiled yet (the service warms it at start).

A catalogue side is read and sorted on the kernel's grid once, not per query: :data:`SIDES` keeps the
prepared sides (``platform_lib.crossmatch.prepare``) of recent joins, keyed by the side's query (its
WHERE terms), the radius (rounded up to a power of two arcsec) and the catalogue's files as they are
on disk (path, inode, size, modification time: a re-ingest makes new keys), least recently used
first out beyond its bound in bytes (the service's ``--join-cache``). Only catalogue sides, whose
rows are public, are kept: ``ivoa.obscore`` (filtered per caller) and uploads are read per query.
Where the catalogue is small enough against the bound, its rows are kept too, and a query that reads it
only through the join reads its rows that have a pair instead of its files (``restrict``). Imports numpy, pyarrow, astropy.units and ``platform_lib.crossmatch``; no Tornado.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections import OrderedDict

import numpy as np

from astrohub_archive.adql import PositionalJoin

__all__ = ["Kernel", "SideCache", "SIDES", "DEFAULT_JOIN_CACHE_MIB", "candidate_pairs", "MAX_EXPECTED_PAIRS"]

log = logging.getLogger(__name__)

#: One kernel call at a time in this process: the kernel is itself parallel, and numba's fallback threading
#: layer (workqueue, where neither OpenMP nor TBB is installed) must not be entered from two threads at once.
_ONE_AT_A_TIME = threading.Lock()

#: Above this many pairs (expected for uniformly spread positions, or counted by the kernel before it
#: fills them), the join runs as DuckDB's range join, bounded by the query's memory and time limits.
MAX_EXPECTED_PAIRS = 20_000_000


class Kernel:
    """Whether this process may call the crossmatch kernel: once it is compiled (or loaded from numba's
    cache). A first call compiles for 25 to 65 s and cannot be interrupted, longer than a sync query
    may take, so the service warms it in a background thread at start (:meth:`warm`) and runs
    positional joins as range joins until then.
    """

    def __init__(self, ready: bool = False) -> None:
        self._ready = threading.Event()
        if ready:
            self._ready.set()

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def warm(self) -> None:
        """Run every compiled path of the kernel once on a few rows (compiling or loading each: the paths
        ``astrohub kernels compile`` caches, :func:`platform_lib.crossmatch.warm_calls`); then :attr:`ready`.
        Never raises. (One match of points on the equator, a band with no area, left the crowding count to
        be compiled by the first join, inside its time limit.)"""
        try:
            from platform_lib.crossmatch import seed_cache, warm_calls

            t0 = time.perf_counter()
            seed_cache()  # $NUMBA_CACHE_DIR (the platform sets one): load the install's compiled kernel
            with _ONE_AT_A_TIME:
                warm_calls()
            self._ready.set()
            log.info("crossmatch kernel ready for positional joins in %.1f s", time.perf_counter() - t0)
        except Exception:  # noqa: BLE001 - joins then stay on DuckDB's range join; the service must still run
            log.exception("the crossmatch kernel could not be loaded; positional joins run as range joins")


def _positions(con, sql: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The side's positions in degrees, NaN for nulls (None when a declination is outside [-90, 90])."""
    table = con.sql(sql).to_arrow_table()
    if not table.num_rows:
        return np.empty(0), np.empty(0)
    ra, dec = (np.asarray(table.column(c).to_numpy(zero_copy_only=False), dtype=np.float64) for c in ("ra", "dec"))
    with np.errstate(invalid="ignore"):
        if np.any(np.abs(dec) > 90):
            return None
    return ra, dec


def _finite(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """Indices of the rows with finite positions (nulls and NaN are never within a distance)."""
    ok = np.isfinite(ra) & np.isfinite(dec)
    return np.flatnonzero(ok) if not ok.all() else np.arange(ra.size)


def _first_of_position(ra: np.ndarray, dec: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """For each of ``rows``, the first of ``rows``'s distinct values with the same (ra, dec).

    The query joins back on position, so one pair per distinct pair of positions; only the matched
    rows are looked at (few), not the whole side.
    """
    used, back = np.unique(rows, return_inverse=True)
    a, d = ra[used] + 0.0, dec[used] + 0.0  # + 0.0: -0.0 and 0.0 are one position
    order = np.lexsort((used, d, a))  # by position, then row: each run of one position starts at its first
    a, d = a[order], d[order]
    start = np.r_[True, (a[1:] != a[:-1]) | (d[1:] != d[:-1])] if a.size else np.zeros(0, bool)
    first = np.empty(used.size, dtype=np.int64)
    first[order] = used[order][np.flatnonzero(start)[np.cumsum(start) - 1]]
    return first[np.ravel(back)]


#: The default bound of :data:`SIDES`, MiB (the service's ``--join-cache``).
DEFAULT_JOIN_CACHE_MIB = 256


class SideCache:
    """Prepared catalogue sides of positional joins, least recently used first out beyond ``max_bytes``.

    A value is ``(ra, dec, rows, prepared, table, distinct)``: the side's positions in degrees (NaN for
    nulls), the rows with finite positions, those rows prepared for the kernel, the side's rows (an
    Arrow table, or None where they are not kept) and whether no position is there twice. ``hits`` and
    ``misses`` count lookups.
    """

    def __init__(self, max_bytes: int = DEFAULT_JOIN_CACHE_MIB * 2**20) -> None:
        self.max_bytes = int(max_bytes)
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict = OrderedDict()
        self._sizes: dict = {}
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        with self._lock:
            return sum(self._sizes.values())

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key):
        with self._lock:
            value = self._entries.get(key)
            if value is None:
                self.misses += 1
                return None
            self.hits += 1
            self._entries.move_to_end(key)
            return value

    def put(self, key, value, nbytes: int) -> None:
        """Keep ``value`` (``nbytes`` of memory) unless it alone is over the bound; drop the oldest beyond it."""
        with self._lock:
            if nbytes > self.max_bytes:
                return
            self._entries[key] = value
            self._sizes[key] = nbytes
            self._entries.move_to_end(key)
            total = sum(self._sizes.values())
            while total > self.max_bytes:
                old, _ = self._entries.popitem(last=False)
                total -= self._sizes.pop(old)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._sizes.clear()


#: This process's prepared catalogue sides (the service sets ``SIDES.max_bytes`` from ``--join-cache``).
SIDES = SideCache()


def _files_key(files: list[str]) -> tuple | None:
    """The catalogue's files as they are on disk now (None when one cannot be read: no caching)."""
    out = []
    for f in files:
        try:
            st = os.stat(f)
        except OSError:
            return None
        out.append((f, st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(out)


def _prepared_radius(radius: float) -> float:
    """The radius (degrees) a side is prepared for: ``radius`` rounded up to a power of two arcsec (>= 1")."""
    arcsec = radius * 3600.0
    return min(2.0 ** max(0, math.ceil(math.log2(arcsec))) / 3600.0, 179.999) if arcsec > 1 else 1 / 3600


def _read_side(con, sql: str, rows_sql: str = ""):
    """``(ra, dec, rows, None, table, None)`` of one side: positions in degrees (NaN for nulls), the rows
    with finite positions, and with ``rows_sql`` the side's rows (every column, as an Arrow table; else
    None). None when a declination is outside [-90, 90]. (A kept side has its prepared positions fourth
    and whether its positions are distinct last: :func:`_keep_side`.)"""
    table = None
    if rows_sql:
        table = con.sql(rows_sql).to_arrow_table()
        ra, dec = (np.asarray(table.column(c).to_numpy(zero_copy_only=False), dtype=np.float64)
                   for c in ("adql_ra", "adql_dec"))
        table = table.drop_columns(["adql_ra", "adql_dec"])
        with np.errstate(invalid="ignore"):
            if np.any(np.abs(dec) > 90):
                return None
    else:
        pos = _positions(con, sql)
        if pos is None:
            return None
        ra, dec = pos
    return ra, dec, _finite(ra, dec), None, table, None


def _distinct(ra: np.ndarray, dec: np.ndarray, rows: np.ndarray) -> bool:
    """Whether ``rows`` hold no position twice (then a pair needs no merging on that side)."""
    a, d = ra[rows] + 0.0, dec[rows] + 0.0
    order = np.lexsort((d, a))
    a, d = a[order], d[order]
    return not bool(np.any((a[1:] == a[:-1]) & (d[1:] == d[:-1])))


def _side_key(sql: str, source: str, catalogs: dict, radius: float) -> tuple | None:
    """The :data:`SIDES` key of a side reading catalogue ``source`` (None: not to be kept)."""
    files = catalogs.get(source)
    fkey = _files_key(files) if files and SIDES.max_bytes > 0 else None
    return None if fkey is None else (sql, source, fkey, _prepared_radius(radius))


def _rows_fit(key: tuple | None) -> bool:
    """Whether a kept side's rows (every column) are to be read: where its files, twice over (Parquet
    against Arrow's memory), fit in half the bound. Else only its positions are read, as for any side."""
    return key is not None and 2 * sum(f[2] for f in key[2]) <= SIDES.max_bytes // 2


def _keep_side(side: tuple, key: tuple) -> tuple:
    """``side`` with its rows prepared for the key's radius, kept in :data:`SIDES` (its rows' table too
    where the whole fits in half the bound)."""
    import astropy.units as u

    from platform_lib.crossmatch import prepare

    ra, dec, rows, _, table, _ = side
    with _ONE_AT_A_TIME:
        prepared = prepare(ra[rows], dec[rows], key[3] * u.deg)
    nbytes = ra.nbytes + dec.nbytes + rows.nbytes + prepared.nbytes
    if table is not None and nbytes + table.nbytes > SIDES.max_bytes // 2:
        table = None
    if table is not None:
        table = table.combine_chunks()  # one chunk: taking rows from it costs far less
    side = (ra, dec, rows, prepared, table, _distinct(ra, dec, rows))
    SIDES.put(key, side, nbytes + (table.nbytes if table is not None else 0))
    return side


def candidate_pairs(con, join: PositionalJoin, catalogs: dict | None = None, restrict: dict | None = None):
    """Every pair of the two sides' positions within ``join.radius`` (a hair more), as an Arrow table.

    ``catalogs``: the catalogue relations of the query and their files (``{"t1": [paths]}``); a side
    reading one of them is taken prepared from :data:`SIDES` (or read, prepared and kept there) when
    it is at least as large as the other side. ``restrict``: relations the query reads only through
    this join (``{"t1": None}``); where the kept side has its rows, ``restrict["t1"]`` gets those of its
    rows that have a pair (an Arrow table: what the query can read of it, since every row at a pair's
    position is in a pair), for the caller to read instead of the catalogue's files. Returns None when
    the kernel should not run (see the module docstring); the caller then runs the plan's
    ``fallback_sql``.
    """
    import astropy.units as u
    import pyarrow as pa

    from platform_lib.crossmatch import match_pairs

    radius = join.radius * (1 + 1e-9) + 1e-12  # the query's own test decides the borderline pairs
    radius = min(radius, 179.999)
    catalogs = catalogs or {}
    sides = [None, None]
    big = None  # which side is prepared: 0 (left) or 1 (right)
    queries = ((join.left_sql, join.left_source, join.left_rows_sql),
               (join.right_sql, join.right_source, join.right_rows_sql))
    keys = [_side_key(sql, source, catalogs, radius) for sql, source, _ in queries]
    for i in (1, 0):
        if keys[i] is not None:
            cached = SIDES.get(keys[i])
            if cached is not None:
                sides[i], big = cached, i
                break
    for i in (0, 1):
        if sides[i] is None:
            sides[i] = _read_side(con, queries[i][0], queries[i][2] if _rows_fit(keys[i]) else "")
            if sides[i] is None:
                return None
    if big is None:
        sizes = [s[2].size for s in sides]
        for i in (1, 0):
            if keys[i] is not None and sizes[i] >= sizes[1 - i] and sizes[i]:
                sides[i], big = _keep_side(sides[i], keys[i]), i
                break
    left, right = sides
    rows1, rows2 = left[2], right[2]
    cap = (1 - math.cos(math.radians(join.radius))) / 2  # the fraction of the sky within the radius
    if rows1.size * rows2.size * cap > MAX_EXPECTED_PAIRS:
        return None
    try:
        with _ONE_AT_A_TIME:
            if big is None:
                i1, i2, _ = match_pairs(left[0][rows1], left[1][rows1], right[0][rows2], right[1][rows2],
                                        radius * u.deg, max_pairs=MAX_EXPECTED_PAIRS)
            else:  # a small side against a prepared one runs on one thread (the engine's _ONE_THREAD_ROWS)
                small = sides[1 - big]
                ia, ib, _ = match_pairs(small[0][small[2]], small[1][small[2]], sides[big][3], None,
                                        radius * u.deg, max_pairs=MAX_EXPECTED_PAIRS)
                i1, i2 = (ib, ia) if big == 0 else (ia, ib)
    except ValueError:  # more pairs than MAX_EXPECTED_PAIRS, or more rows than one in-memory match takes
        return None
    i1, i2 = rows1[i1], rows2[i2]
    source = queries[big][1] if big is not None else None
    if restrict is not None and source in restrict and sides[big][4] is not None:
        restrict[source] = sides[big][4].take(np.unique(i1 if big == 0 else i2))
    if i1.size and not (left[5] and right[5]):  # a kept side knows whether it holds a position twice
        if not left[5]:
            i1 = _first_of_position(left[0], left[1], i1)
        if not right[5]:
            i2 = _first_of_position(right[0], right[1], i2)
        key = np.unique(i1 * np.int64(right[0].size) + i2)
        i1, i2 = key // right[0].size, key % right[0].size
    return pa.table({"ra1": left[0][i1], "dec1": left[1][i1], "ra2": right[0][i2], "dec2": right[1][i2]})
