"""Bulk loading of an SQLite R-tree: a packed tree written straight into the R-tree's shadow tables.

SQLite's R-tree has no bulk-load; inserting 10^6 boxes one by one runs its R* split and reinsert
heuristics every time (~16-30 s). Here the entries are ordered along a space-filling curve, packed
into full leaves, the upper levels built bottom-up, and the node blobs, ``_rowid`` and ``_parent``
rows written with ``executemany`` in the on-disk format of ``ext/rtree/rtree.c``: a node is
``depth:int16 BE`` (root only), ``count:int16 BE``, then cells of ``id:int64 BE`` plus 2*D
``float32 BE`` coordinates, padded to the node size the table was created with. Coordinates are
rounded outward to float32 as SQLite does. ``rtreecheck()`` verifies the result in the tests.
"""

from __future__ import annotations

import sqlite3

import numpy as np

__all__ = ["pack_rtree"]


def _round_out(boxes: np.ndarray) -> np.ndarray:
    f = boxes.astype(np.float32)
    lo, hi = f[:, 0::2], f[:, 1::2]
    lo_exact, hi_exact = boxes[:, 0::2], boxes[:, 1::2]
    lo = np.where(lo.astype(np.float64) > lo_exact, np.nextafter(lo, np.float32(-np.inf)), lo)
    hi = np.where(hi.astype(np.float64) < hi_exact, np.nextafter(hi, np.float32(np.inf)), hi)
    out = np.empty_like(f)
    out[:, 0::2] = lo
    out[:, 1::2] = hi
    return out


def pack_rtree(conn: sqlite3.Connection, table: str, ids: np.ndarray, boxes: np.ndarray) -> None:
    """Fill the empty R-tree ``table`` with ``ids`` (int64) and ``boxes`` ((n, 2*D), lo/hi pairs per axis).

    Entries must already be in spatial order (consecutive entries share leaves). The table must
    be freshly created and empty; commit before other statements use it.
    """
    if not table.replace("_", "").isalnum():
        raise ValueError(f"bad table name {table!r}")
    n, ncoord = boxes.shape
    if n == 0:
        return
    (node_size,) = conn.execute(f'SELECT length(data) FROM "{table}_node" WHERE nodeno = 1').fetchone()
    cell = 8 + 4 * ncoord
    fanout = (node_size - 4) // cell
    cell_dtype = np.dtype([("id", ">i8"), ("c", ">f4", (ncoord,))])

    level_ids = np.asarray(ids, dtype=np.int64)
    level_boxes = _round_out(np.asarray(boxes, dtype=np.float64))
    levels = []  # per level: (child ids, child boxes) grouped into nodes of `fanout`
    while True:
        levels.append((level_ids, level_boxes))
        m = len(level_ids)
        if m <= fanout:
            break
        n_nodes = -(-m // fanout)
        pad = n_nodes * fanout - m
        b = np.concatenate([level_boxes, np.repeat(level_boxes[-1:], pad, axis=0)]).reshape(n_nodes, fanout, ncoord)
        parent = np.empty((n_nodes, ncoord), dtype=np.float32)
        parent[:, 0::2] = b[:, :, 0::2].min(axis=1)
        parent[:, 1::2] = b[:, :, 1::2].max(axis=1)
        level_ids = np.zeros(n_nodes, dtype=np.int64)  # node numbers, assigned below
        level_boxes = parent
    depth = len(levels) - 1
    # Node numbers: root = 1, then the other nodes level by level from the top.
    counts = [-(-len(ids_) // fanout) for ids_, _ in levels]  # nodes at each level
    next_no = 2
    node_numbers = []  # per level, the node numbers of the nodes holding that level's entries
    for lvl in range(depth, -1, -1):
        if lvl == depth:
            node_numbers.insert(0, np.array([1], dtype=np.int64))
        else:
            nos = np.arange(next_no, next_no + counts[lvl], dtype=np.int64)
            next_no += counts[lvl]
            node_numbers.insert(0, nos)
    # Entries of level l+1 are the nodes of level l: give them their numbers.
    for lvl in range(depth):
        levels[lvl + 1] = (node_numbers[lvl], levels[lvl + 1][1])

    node_rows = []
    parent_rows = []
    for lvl in range(depth + 1):
        ids_, bx = levels[lvl]
        nos = node_numbers[lvl]
        m = len(ids_)
        k = len(nos)
        cells = np.zeros(k * fanout, dtype=cell_dtype)
        cells["id"][:m] = ids_
        cells["c"][:m] = bx
        blob = np.zeros((k, node_size), dtype=np.uint8)
        blob[:, 4 : 4 + fanout * cell] = cells.view(np.uint8).reshape(k, fanout * cell)
        per_node = np.full(k, fanout, dtype=np.int64)
        per_node[-1] = m - (k - 1) * fanout
        blob[:, 2] = (per_node >> 8) & 0xFF
        blob[:, 3] = per_node & 0xFF
        if lvl == depth:
            blob[0, 0] = (depth >> 8) & 0xFF
            blob[0, 1] = depth & 0xFF
        node_rows.extend(zip(nos.tolist(), (bytes(row) for row in blob)))
        owner = np.repeat(nos, fanout)[:m]
        if lvl == 0:
            # In rowid order, so the B-tree of _rowid grows by appends instead of random inserts.
            by_id = np.argsort(ids_, kind="stable")
            conn.executemany(f'INSERT INTO "{table}_rowid" (rowid, nodeno) VALUES (?, ?)',
                             zip(ids_[by_id].tolist(), owner[by_id].tolist()))
        else:
            parent_rows.extend(zip(ids_.tolist(), owner.tolist()))
    conn.execute(f'DELETE FROM "{table}_node"')
    conn.executemany(f'INSERT INTO "{table}_node" (nodeno, data) VALUES (?, ?)', node_rows)
    conn.executemany(f'INSERT INTO "{table}_parent" (nodeno, parentnode) VALUES (?, ?)', parent_rows)
