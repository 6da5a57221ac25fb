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
compiled yet (the service warms it at start). Imports numpy, pyarrow, astropy.units and
``platform_lib.crossmatch``; no Tornado.
"""

from __future__ import annotations

import logging
import math
import threading
import time

import numpy as np

from astrohub_archive.adql import PositionalJoin

__all__ = ["Kernel", "candidate_pairs", "MAX_EXPECTED_PAIRS"]

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
        """Call the kernel once on a few rows (compiling or loading it); then :attr:`ready`. Never raises."""
        import astropy.units as u

        try:
            from platform_lib.crossmatch import match_pairs, seed_cache

            t0 = time.perf_counter()
            seed_cache()  # $NUMBA_CACHE_DIR (the platform sets one): load the install's compiled kernel
            lon = np.linspace(0.0, 359.0, 200)
            with _ONE_AT_A_TIME:
                match_pairs(lon, np.zeros(200), lon + 1e-4, np.zeros(200), 1 * u.arcsec, max_pairs=1000)
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
    pos = np.stack([ra[used] + 0.0, dec[used] + 0.0], axis=1)  # + 0.0: -0.0 and 0.0 are one position
    _, first, again = np.unique(pos, axis=0, return_index=True, return_inverse=True)
    return used[first][np.ravel(again)][np.ravel(back)]


def candidate_pairs(con, join: PositionalJoin):
    """Every pair of the two sides' positions within ``join.radius`` (a hair more), as an Arrow table.

    Returns None when the kernel should not run (see the module docstring); the caller then runs the
    plan's ``fallback_sql``.
    """
    import astropy.units as u
    import pyarrow as pa

    from platform_lib.crossmatch import match_pairs

    left = _positions(con, join.left_sql)
    right = _positions(con, join.right_sql)
    if left is None or right is None:
        return None
    rows1, rows2 = _finite(*left), _finite(*right)
    cap = (1 - math.cos(math.radians(join.radius))) / 2  # the fraction of the sky within the radius
    if rows1.size * rows2.size * cap > MAX_EXPECTED_PAIRS:
        return None
    radius = join.radius * (1 + 1e-9) + 1e-12  # the query's own test decides the borderline pairs
    try:
        with _ONE_AT_A_TIME:
            i1, i2, _ = match_pairs(left[0][rows1], left[1][rows1], right[0][rows2], right[1][rows2],
                                    min(radius, 179.999) * u.deg, max_pairs=MAX_EXPECTED_PAIRS)
    except ValueError:  # more pairs than MAX_EXPECTED_PAIRS, or more rows than one in-memory match takes
        return None
    i1, i2 = rows1[i1], rows2[i2]
    if i1.size:
        i1, i2 = _first_of_position(*left, i1), _first_of_position(*right, i2)
        key = np.unique(i1 * np.int64(right[0].size) + i2)
        i1, i2 = key // right[0].size, key % right[0].size
    return pa.table({"ra1": left[0][i1], "dec1": left[1][i1], "ra2": right[0][i2], "dec2": right[1][i2]})
