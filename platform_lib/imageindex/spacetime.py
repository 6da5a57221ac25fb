"""The space-time R-tree stored beside the footprint R-tree, in the same index file: storage only.

``spacetime_rtree(id, x0, x1, y0, y1, z0, z1, t0, t1)``: each record's xyz bounding box (as in
``footprint_rtree``: no RA wrap, no pole cases) and its exposure interval ``[t_min, t_max]`` as days
from MJD 51544.5 (J2000; float32 R-tree coordinates then resolve ~1 minute, rounded outward). Spectra
(``dataproduct_type = 'spectrum'``) are "skinny images": a cone of ``s_fov / 2`` (at least 1 arcsec)
around the pointing. Records without ``t_min`` are left out (no moving body can be placed in them).

The image index writes it in the same transaction as the rest of a build or update
(:func:`platform_lib.imageindex.index.bulk_load`), so the two never disagree; :func:`ensure` adds it to an
index file written before it existed. Queries belong to :mod:`platform_lib.moving.spacetime`.
Imports numpy, sqlite3, :mod:`platform_lib.imageindex.sphere` and :mod:`~platform_lib.imageindex.hilbert`.
"""

from __future__ import annotations

import sqlite3

import numpy as np

from platform_lib.imageindex.hilbert import hilbert_key_unit
from platform_lib.imageindex.sphere import cap_boxes, radec_to_xyz

__all__ = ["TABLE", "T_ZERO_MJD", "SPECTRUM_MIN_RADIUS_DEG", "create", "write", "delete", "ensure", "has_table",
           "spacetime_boxes"]

TABLE = "spacetime_rtree"
#: Time origin of the t0/t1 axis (MJD of J2000.0).
T_ZERO_MJD = 51544.5
#: Smallest cone radius of a spectrum (a slit or fibre with no s_fov).
SPECTRUM_MIN_RADIUS_DEG = 1.0 / 3600.0
_BIN_DAYS = 128.0
_SCHEMA = f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING rtree(id, x0, x1, y0, y1, z0, z1, t0, t1)"


def create(conn: sqlite3.Connection) -> None:
    conn.execute(_SCHEMA)


def has_table(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (TABLE,)).fetchone() is not None


def spacetime_boxes(records: list[dict], boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(keep, boxes8)``: which records have a time, and their (n_kept, 8) space-time boxes.

    ``boxes`` are the records' (n, 6) footprint boxes; spectra get a cone around their pointing.
    """
    n = len(records)
    t_min = np.array([np.nan if r.get("t_min") is None else float(r["t_min"]) for r in records], dtype=np.float64)
    t_max = np.array([np.nan if r.get("t_max") is None else float(r["t_max"]) for r in records], dtype=np.float64)
    t_max = np.where(np.isfinite(t_max), t_max, t_min)
    keep = np.isfinite(t_min)
    out = np.empty((n, 8))
    out[:, :6] = boxes
    spec = np.array([(r.get("dataproduct_type") or "") == "spectrum" and r.get("s_ra") is not None
                     and r.get("s_dec") is not None for r in records], dtype=bool)
    if spec.any():
        rows = np.flatnonzero(spec)
        centres = radec_to_xyz(np.array([records[k]["s_ra"] for k in rows], float),
                               np.array([records[k]["s_dec"] for k in rows], float))
        fov = np.array([records[k].get("s_fov") or 0.0 for k in rows], float)
        radii = np.deg2rad(np.maximum(fov / 2.0, SPECTRUM_MIN_RADIUS_DEG))
        out[rows, :6] = cap_boxes(np.atleast_2d(centres), radii)
    out[:, 6] = np.minimum(t_min, t_max) - T_ZERO_MJD
    out[:, 7] = np.maximum(t_min, t_max) - T_ZERO_MJD
    return keep, out[keep]


def write(conn: sqlite3.Connection, ids: np.ndarray, records: list[dict], boxes: np.ndarray) -> None:
    """Add the records ``ids`` (with their (n, 6) footprint boxes) that have a time."""
    keep, boxes8 = spacetime_boxes(records, boxes)
    ids = np.asarray(ids)[keep]
    if len(ids) == 0:
        return
    empty = conn.execute(f"SELECT 1 FROM {TABLE}_rowid LIMIT 1").fetchone() is None
    if empty and len(ids) > 1000:
        from platform_lib.imageindex.rtree_pack import pack_rtree

        order = _pack_order(boxes8)
        conn.commit()
        pack_rtree(conn, TABLE, ids[order], boxes8[order])
        return
    conn.executemany(f"INSERT INTO {TABLE} VALUES (?,?,?,?,?,?,?,?,?)",
                     zip(ids.tolist(), *(boxes8[:, k].tolist() for k in range(8))))


def _pack_order(boxes8: np.ndarray) -> np.ndarray:
    """Entries in 128-day time bins, and within a bin along a 3-D Hilbert curve of the box centres: each leaf
    holds a compact patch of sky over a few months, about the shape of a search box (a few degrees, up
    to 30 days). Measured on 10^6 footprints over 20 years (a 20-year search, 596 boxes, CPU time on the
    shared machine): Z-order within 128-day bins 5.4 ms (9.4 nodes visited per box), Hilbert 4.1 ms
    (7.0 nodes); Hilbert within 64- or 256-day bins, or a 4-D Hilbert curve over space and time, 4.2-4.4 ms.
    Earlier Z-order runs: 2-day bins 77 ms, 32-day 27 ms, 128-day 27 ms, one bin (space only) 45 ms
    (wall time under load)."""
    centre = (boxes8[:, 0:6:2] + boxes8[:, 1:6:2]) / 2.0
    key = hilbert_key_unit(centre)
    tbin = np.floor((boxes8[:, 6] + boxes8[:, 7]) / 2.0 / _BIN_DAYS).astype(np.int64)
    return np.lexsort((key, tbin))


def delete(conn: sqlite3.Connection, rowids: list[int]) -> None:
    """Remove the records ``rowids`` (nothing to do in an index written before the table existed)."""
    if has_table(conn):
        conn.executemany(f"DELETE FROM {TABLE} WHERE id = ?", [(int(i),) for i in rowids])


def ensure(conn: sqlite3.Connection) -> bool:
    """Create and fill the table from ``obscore`` when the index predates it; True when it did."""
    if has_table(conn):
        return False
    from platform_lib.imageindex.sphere import polygon_caps

    create(conn)
    names = ("t_min", "t_max", "dataproduct_type", "s_ra", "s_dec", "s_fov")
    rows = conn.execute(f"SELECT rowid, {', '.join(names)}, vertices FROM obscore").fetchall()
    if rows:
        ids = np.array([r[0] for r in rows])
        records = [dict(zip(names, r[1:7])) for r in rows]
        boxes = np.empty((len(rows), 6))
        for k, r in enumerate(rows):
            c, rad = polygon_caps(np.frombuffer(r[7], dtype=np.float64).reshape(1, -1, 3))
            boxes[k] = cap_boxes(c, rad)[0]
        write(conn, ids, records, boxes)
    return True
