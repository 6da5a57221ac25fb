"""Queries of the image index's space-time R-tree: candidate images for padded (xyz, time) boxes.

:class:`SpacetimeIndex` reads the ``spacetime_rtree`` table that the image index keeps in step
(:mod:`platform_lib.imageindex.spacetime`), with the image index's per-thread connection handling
(it reopens the file when a writer replaced it). Visibility of proprietary records follows the
image index (:func:`platform_lib.imageindex.query.plan_sql`). Imports sqlite3, numpy and
``platform_lib.imageindex``.
"""

from __future__ import annotations

import json

import numpy as np

from platform_lib.imageindex import ImageIndex, ImageQuery, Viewer
from platform_lib.imageindex.index import now_mjd
from platform_lib.imageindex.query import plan_sql
from platform_lib.imageindex.spacetime import TABLE, T_ZERO_MJD
from platform_lib.moving.errors import MovingObjectError

__all__ = ["SpacetimeIndex", "T_ZERO_MJD"]

#: One statement joins a table of boxes (``VALUES``) to the R-tree: SQLite runs one R-tree search per
#: box (the R-tree as the inner loop, the box's corners as its constraints), with one statement to parse
#: and plan instead of a 64-way ``OR`` per 64 boxes. Up to this many boxes a statement (8 parameters
#: each, under SQLite's limit of 32,766).
_BATCH = 1000
_JOIN = ("WITH b(x0, x1, y0, y1, z0, z1, t0, t1) AS (VALUES {values}) "
         "SELECT DISTINCT r.id FROM b CROSS JOIN {table} r WHERE r.x1 >= b.x0 AND r.x0 <= b.x1 "
         "AND r.y1 >= b.y0 AND r.y0 <= b.y1 AND r.z1 >= b.z0 AND r.z0 <= b.z1 AND r.t1 >= b.t0 AND r.t0 <= b.t1")
_COLUMNS = ("o.rowid AS rowid_, o.obs_id, o.obs_publisher_did, o.obs_collection, o.dataproduct_type, o.s_ra, "
            "o.s_dec, o.s_fov, o.t_min, o.t_max, o.t_exptime, o.facility_name, o.instrument_name, o.target_name, "
            "o.access_format, o.file_path, o.vertices")


class SpacetimeIndex(ImageIndex):
    """The image index file read through its space-time R-tree.

    Parameters
    ----------
    path
        The image index (``astrohub archive index``), written by a version that keeps the
        space-time R-tree (an older file gains it at its next update).
    """

    def candidates(self, boxes: np.ndarray) -> np.ndarray:
        """Row ids of records whose space-time box meets any of ``boxes`` ((k, 8): x0, x1, y0, y1, z0, z1,
        t0, t1 with times as MJD), sorted and unique."""
        boxes = np.asarray(boxes, dtype=np.float64)
        if boxes.ndim != 2 or boxes.shape[1] != 8:
            raise ValueError(f"boxes must be (k, 8): x0, x1, y0, y1, z0, z1, t0, t1; got shape {boxes.shape}")
        rows = boxes.copy()
        rows[:, 6:8] -= T_ZERO_MJD
        out: list[int] = []
        with self._connection() as conn:
            try:
                for k in range(0, len(rows), _BATCH):
                    part = rows[k:k + _BATCH]
                    sql = _JOIN.format(values=",".join(["(?,?,?,?,?,?,?,?)"] * len(part)), table=TABLE)
                    out.extend(r[0] for r in conn.execute(sql, part.ravel().tolist()))
            except Exception as exc:
                if "no such table" in str(exc):
                    raise MovingObjectError(
                        f"image index {self.path} has no space-time R-tree; update it (`astrohub archive index`) "
                        "with this version to add one", code="no-spacetime-index", value=str(self.path)) from exc
                raise
        return np.unique(np.array(out, dtype=np.int64))

    def records(self, rowids, viewer: Viewer = Viewer(), *, now: float | None = None) -> list[dict]:
        """The records ``rowids`` visible to ``viewer``, each with ``rowid_`` and its footprint ``vertices`` (k, 3)."""
        ids = [int(x) for x in np.asarray(rowids).tolist()]
        if not ids:
            return []
        sql, params = plan_sql(ImageQuery(), viewer, now if now is not None else now_mjd(), columns=_COLUMNS,
                               extra_where=("o.rowid IN (SELECT value FROM json_each(?))", [json.dumps(ids)]))
        with self._connection() as conn:
            rows = conn.execute(sql, params).fetchall()
        out = []
        for row in rows:
            rec = dict(row)
            rec["vertices"] = np.frombuffer(rec["vertices"], dtype=np.float64).reshape(-1, 3)
            out.append(rec)
        return out

    def record(self, obs_id: str, viewer: Viewer = Viewer(), *, now: float | None = None) -> dict | None:
        """One record by ``obs_id`` with its vertices (``None`` when missing or not visible to ``viewer``,
        by :meth:`ImageIndex.get`'s rule)."""
        if self.get(obs_id, viewer, now=now) is None:
            return None
        with self._connection() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM obscore o WHERE o.obs_id = ?", (obs_id,)).fetchone()
        if row is None:
            return None
        rec = dict(row)
        rec["vertices"] = np.frombuffer(rec["vertices"], dtype=np.float64).reshape(-1, 3)
        return rec
