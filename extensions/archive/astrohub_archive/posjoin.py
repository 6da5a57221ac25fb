"""Positional joins on the crossmatch kernel: the candidate pairs of a planned :class:`~astrohub_archive.adql.PositionalJoin`.

:func:`candidate_pairs` reads each side's distinct positions (the plan's side queries, on the
query's own DuckDB connection, so the proprietary filter and the query's limits hold), runs
``platform_lib.crossmatch.match_pairs`` (all pairs within the radius, on its declination-zone grid:
any RA, the RA-0 wrap and the poles) and returns them as an Arrow table ``ra1, dec1, ra2, dec2`` for
the query to join through. The kernel's radius is widened by a hair and the query keeps its own
distance test, so the rows are exactly DuckDB's. It answers None (run the range join instead) when
the kernel cannot take the inputs: declinations outside [-90, 90], or so many expected pairs that
the query's memory limit is the better judge. Imports numpy, pyarrow, astropy.units and
``platform_lib.crossmatch``; no Tornado.
"""

from __future__ import annotations

import math

import numpy as np

from astrohub_archive.adql import PositionalJoin

__all__ = ["candidate_pairs", "MAX_EXPECTED_PAIRS"]

#: Above this many pairs expected for uniformly spread positions, the join runs as DuckDB's range join
#: (bounded by the query's memory and time limits) rather than filling arrays of that size here.
MAX_EXPECTED_PAIRS = 20_000_000


def _positions(con, sql: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The side's finite positions in degrees (None when a declination is outside [-90, 90])."""
    table = con.sql(sql).to_arrow_table()
    ra = table.column("ra").to_numpy().astype(np.float64, copy=False) if table.num_rows else np.empty(0)
    dec = table.column("dec").to_numpy().astype(np.float64, copy=False) if table.num_rows else np.empty(0)
    keep = np.isfinite(ra) & np.isfinite(dec)  # nulls arrive as NaN; NaN is never within a distance
    if not keep.all():
        ra, dec = ra[keep], dec[keep]
    if dec.size and (dec.min() < -90 or dec.max() > 90):
        return None
    return ra, dec


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
    n1, n2 = left[0].size, right[0].size
    cap = (1 - math.cos(math.radians(join.radius))) / 2  # the fraction of the sky within the radius
    if n1 * n2 * cap > MAX_EXPECTED_PAIRS:
        return None
    radius = join.radius * (1 + 1e-9) + 1e-12  # the query's own test decides the borderline pairs
    try:
        i1, i2, _ = match_pairs(left[0], left[1], right[0], right[1], min(radius, 179.999) * u.deg)
    except ValueError:  # e.g. more rows than one in-memory match takes
        return None
    return pa.table({"ra1": left[0][i1], "dec1": left[1][i1], "ra2": right[0][i2], "dec2": right[1][i2]})
