"""Benchmark: moving-object searches (issue 20), both directions, peers in the same run.

1. "Which images contain Pallas", 2005-2025, against N footprints (default 10^6: 0.05-0.3 deg squares,
   uniform on the sky, exposure starts uniform over the 20 years, plus 100 images placed on Pallas'
   track seen from Keck): the space-time R-tree (``spacetime_rtree``: xyz box + exposure interval)
   against the image index's 2-D spatial R-tree (``footprint_rtree``) followed by the time filter,
   with the same padded boxes; both must return the same candidates. Both trees are packed along the
   same Hilbert curve (the image index itself packs its 2-D tree in Z-order, which is slower); the peer
   runs both ways of batching the boxes (one 64-way ``OR`` statement per 64 boxes, and a ``VALUES``
   table of boxes joined to the R-tree as ``SpacetimeIndex.candidates`` does) and the faster one counts.
   Wall and CPU (process) time, medians; ``--sweep`` repeats the comparison over box sizes and spans so
   each index can be compared at its best. Then both indexes in the same in-memory engines (bucket
   grids loaded from the two R-trees' node blobs; NumPy over all boxes at once, and a compiled numba
   loop; each index at its best grid, same answer asserted), which shows the ratio the work itself
   allows. Then ``find_images`` end to end (ephemeris, boxes, index, exact test).
2. "Which known bodies are in this image": M orbits (default 10^5: clones of the real kstars-data
   orbits, a, e, i kept, angles redrawn) cached daily over one year (build time), then single images
   (10 arcmin, half on the ecliptic) answered from the cache, against placing every orbit.

Usage: ``.venv/bin/python bench/moving_search.py [--footprints N] [--orbits M] [--days D] [--only forward|reverse]
[--sweep] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import functools
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from platform_lib.imageindex import spacetime as st_table
from platform_lib.imageindex.hilbert import hilbert_key_unit
from platform_lib.imageindex.index import INDEXES, create_schema, fast_pragmas
from platform_lib.imageindex.rtree_pack import pack_rtree
from platform_lib.imageindex.sphere import cap_boxes, polygon_caps

from synthetic import squares


def build_archive(path: Path, n: int, planted: tuple[np.ndarray, np.ndarray, np.ndarray], seed: int = 1) -> float:
    """An image index file of ``n`` random footprints plus the planted ones (ra, dec, mjd)."""
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    p_ra, p_dec, p_mjd = planted
    ra = np.concatenate([rng.uniform(0, 360, n), p_ra])
    dec = np.concatenate([np.degrees(np.arcsin(rng.uniform(-1, 1, n))), p_dec])
    t_min = np.concatenate([rng.uniform(53371.0, 60676.0, n), p_mjd - 30 / 86400])
    size = np.concatenate([rng.uniform(0.05, 0.3, n), np.full(len(p_ra), 0.1)])
    exptime = np.concatenate([rng.uniform(10, 3600, n), np.full(len(p_ra), 60.0)])
    verts = squares(ra, dec, size, rng.uniform(0, np.pi / 2, len(ra)))
    total = len(ra)
    ids = np.arange(1, total + 1)
    conn = sqlite3.connect(path)
    fast_pragmas(conn)
    create_schema(conn)
    conn.executemany(
        "INSERT INTO obscore (rowid, obs_id, dataproduct_type, s_ra, s_dec, s_fov, t_min, t_max, t_exptime, "
        "release_date, facility_name, instrument_name, vertices) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        ((int(i), f"syn/{i:07d}", "image", float(ra[i - 1]), float(dec[i - 1]), float(size[i - 1]),
          float(t_min[i - 1]), float(t_min[i - 1] + exptime[i - 1] / 86400), float(exptime[i - 1]), 0.0, "SYN",
          "SYN", verts[i - 1].tobytes()) for i in ids.tolist()))
    centres, radii = polygon_caps(verts)
    boxes = cap_boxes(centres, radii)
    order = np.argsort(hilbert_key_unit(centres), kind="stable")  # the peer gets the same curve
    conn.commit()
    pack_rtree(conn, "footprint_rtree", ids[order], boxes[order])
    boxes8 = np.empty((total, 8))
    boxes8[:, :6] = boxes
    boxes8[:, 6] = t_min - st_table.T_ZERO_MJD
    boxes8[:, 7] = t_min + exptime / 86400 - st_table.T_ZERO_MJD
    order = st_table._pack_order(boxes8)
    pack_rtree(conn, st_table.TABLE, ids[order], boxes8[order])
    for stmt in INDEXES:
        conn.execute(stmt)
    conn.commit()
    conn.close()
    return time.perf_counter() - t0


_SPATIAL = ("(r.x1 >= ? AND r.x0 <= ? AND r.y1 >= ? AND r.y0 <= ? AND r.z1 >= ? AND r.z0 <= ? "
            "AND o.t_max >= ? AND o.t_min <= ?)")


def spatial_then_time(conn: sqlite3.Connection, boxes: np.ndarray) -> np.ndarray:
    """The peer: the 2-D (xyz) R-tree finds footprints under each box, then the exposure time filters them
    (64 boxes a statement, a ``MULTI-INDEX OR``)."""
    out: set[int] = set()
    for k in range(0, len(boxes), 64):
        part = boxes[k:k + 64]
        sql = ("SELECT r.id FROM footprint_rtree r JOIN obscore o ON o.rowid = r.id WHERE "
               + " OR ".join([_SPATIAL] * len(part)))
        out.update(r[0] for r in conn.execute(sql, part.ravel().tolist()))
    return np.array(sorted(out), dtype=np.int64)


_JOIN_2D = ("WITH b(x0, x1, y0, y1, z0, z1, t0, t1) AS (VALUES {values}) "
            "SELECT DISTINCT r.id FROM b CROSS JOIN footprint_rtree r JOIN obscore o ON o.rowid = r.id "
            "WHERE r.x1 >= b.x0 AND r.x0 <= b.x1 AND r.y1 >= b.y0 AND r.y0 <= b.y1 AND r.z1 >= b.z0 "
            "AND r.z0 <= b.z1 AND o.t_max >= b.t0 AND o.t_min <= b.t1")


def spatial_then_time_join(conn: sqlite3.Connection, boxes: np.ndarray) -> np.ndarray:
    """The peer batched as the space-time search is: a ``VALUES`` table of boxes joined to the 2-D R-tree,
    then to ``obscore`` for the time filter."""
    out: list[int] = []
    for k in range(0, len(boxes), 1000):
        part = boxes[k:k + 1000]
        sql = _JOIN_2D.format(values=",".join(["(?,?,?,?,?,?,?,?)"] * len(part)))
        out.extend(r[0] for r in conn.execute(sql, part.ravel().tolist()))
    return np.unique(np.array(out, dtype=np.int64))


def spatial_candidates_only(conn, boxes) -> int:
    """How many footprints the spatial R-tree alone returns (before the time filter)."""
    out: set[int] = set()
    for k in range(0, len(boxes), 64):
        part = boxes[k:k + 64, :6]
        sql = "SELECT id FROM footprint_rtree WHERE " + " OR ".join(
            ["(x1 >= ? AND x0 <= ? AND y1 >= ? AND y0 <= ? AND z1 >= ? AND z0 <= ?)"] * len(part))
        out.update(r[0] for r in conn.execute(sql, part.ravel().tolist()))
    return len(out)


def load_rtree(conn: sqlite3.Connection, table: str) -> tuple[np.ndarray, np.ndarray]:
    """(ids, boxes (n, 2*D) float32 lo/hi pairs) of an SQLite R-tree, read from its node blobs (the format
    :mod:`platform_lib.imageindex.rtree_pack` writes): the leaves, found by walking down from the root."""
    ncoord = len(conn.execute(f'SELECT * FROM "{table}" LIMIT 0').description) - 1
    rows = conn.execute(f'SELECT nodeno, data FROM "{table}_node"').fetchall()
    size = len(rows[0][1])
    nos = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    raw = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.uint8).reshape(len(rows), size)
    cell = 8 + 4 * ncoord
    fanout = (size - 4) // cell
    cells = raw[:, 4:4 + fanout * cell].copy().view(np.dtype([("id", ">i8"), ("c", ">f4", (ncoord,))]))
    cells = cells.reshape(len(rows), fanout)
    counts = raw[:, 2].astype(np.int64) * 256 + raw[:, 3]
    where = np.empty(int(nos.max()) + 1, dtype=np.int64)
    where[nos] = np.arange(len(nos))
    level = where[[1]]
    for _ in range(int(raw[level[0], 0]) * 256 + int(raw[level[0], 1])):  # the root's depth
        used = np.arange(fanout)[None, :] < counts[level][:, None]
        level = where[cells["id"][level][used]]
    leaf = cells[level][np.arange(fanout)[None, :] < counts[level][:, None]]
    return leaf["id"].astype(np.int64), leaf["c"].astype(np.float32)


class GridIndex:
    """An in-memory bucket index (the "same engine" comparisons): entries sorted by the grid cell of their
    centre, a dense table of cell offsets, each query box widened by the largest entry half-extent, then
    exact box tests on the entries of the cells it meets. The last gridded axis varies fastest in the
    cell number, so a box's cells along it are one contiguous run. No entry here is larger than a cell
    (asserted; a real index would keep such entries apart). Two engines answer the same grid: NumPy,
    every box at once (:meth:`pairs`), and a compiled loop per box (:meth:`search`, numba, as the
    crossmatch kernel is).

    ``spec``: per gridded axis ``(axis, origin, width, n_cells)``.
    """

    def __init__(self, ids: np.ndarray, boxes: np.ndarray, spec: list[tuple[int, float, float, int]]):
        lo, hi = boxes[:, 0::2].astype(np.float64), boxes[:, 1::2].astype(np.float64)
        half, centre = (hi - lo) / 2, (hi + lo) / 2
        self.spec = spec
        self.shape = tuple(n for *_, n in spec)
        assert all((half[:, ax] <= w).all() for ax, _, w, _ in spec), "an entry larger than a cell"
        cell = tuple(np.clip(np.floor((centre[:, ax] - o) / w), 0, n - 1).astype(np.int64) for ax, o, w, n in spec)
        key = np.ravel_multi_index(cell, self.shape)
        order = np.argsort(key, kind="stable")
        self.ids = ids[order]
        self.lo = np.ascontiguousarray(lo[order].T.astype(np.float32))  # (D, n): column-wise for NumPy
        self.hi = np.ascontiguousarray(hi[order].T.astype(np.float32))
        self.rows = np.ascontiguousarray(boxes[order].astype(np.float32))  # (n, 2D): row-wise for the loop
        self.offsets = np.searchsorted(key[order], np.arange(np.prod(self.shape) + 1))
        self.reach = [float(half[:, ax].max()) for ax, *_ in spec]
        self.counts = (0, 0)  # cell runs and entries tested by the last query

    def pairs(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(entry positions, query box numbers) of every entry meeting a box of ``q`` ((k, 2*D), float64)."""
        qlo, qhi = q[:, 0::2], q[:, 1::2]
        first, last = [], []
        for (ax, o, w, n), reach in zip(self.spec, self.reach):
            first.append(np.clip(np.floor((qlo[:, ax] - reach - o) / w), 0, n - 1).astype(np.int64))
            last.append(np.clip(np.floor((qhi[:, ax] + reach - o) / w), 0, n - 1).astype(np.int64))
        box, cells = np.arange(len(q)), []
        for j in range(len(self.spec) - 1):  # every cell of the box on all but the last axis
            count = (last[j] - first[j] + 1)[box]
            rep = np.repeat(np.arange(len(box)), count)
            step = np.arange(len(rep)) - np.repeat(np.cumsum(count) - count, count)
            cells = [c[rep] for c in cells] + [first[j][box][rep] + step]
            box = box[rep]
        start = self.offsets[np.ravel_multi_index((*cells, first[-1][box]), self.shape)]
        stop = self.offsets[np.ravel_multi_index((*cells, last[-1][box]), self.shape) + 1]
        length = stop - start
        b = np.repeat(box, length)
        pos = np.repeat(start - (np.cumsum(length) - length), length) + np.arange(int(length.sum()))
        self.counts = (len(start), len(pos))
        ok = np.ones(len(pos), dtype=bool)
        for a in range(self.lo.shape[0]):
            ok &= (self.lo[a][pos] <= qhi[b, a]) & (self.hi[a][pos] >= qlo[b, a])
        return pos[ok], b[ok]

    def search(self, q: np.ndarray, times: np.ndarray | None = None, q_times: np.ndarray | None = None) -> np.ndarray:
        """Entry positions meeting a box of ``q`` (with repeats), by the compiled loop; with ``times``
        ((n, 2) in the grid's order) an entry must also meet the box's ``q_times`` ((k, 2))."""
        spec = [(0, 0.0, np.inf, 1)] * (4 - len(self.spec)) + list(self.spec)  # the loop takes four axes
        reach = [0.0] * (4 - len(self.spec)) + self.reach
        arrays = [np.array([x[k] for x in spec], dtype=dt) for k, dt in enumerate((np.int64, float, float, np.int64))]
        no_times = np.empty((0, 2))
        return _grid_loop()(np.ascontiguousarray(q[:, 0::2]), np.ascontiguousarray(q[:, 1::2]), *arrays,
                            np.array(reach), self.offsets, self.rows,
                            no_times if times is None else times, no_times if q_times is None else q_times)


@functools.cache
def _grid_loop():
    """The compiled query loop of :meth:`GridIndex.search` (compiled on first use)."""
    from numba import njit

    @njit(nogil=True)
    def loop(qlo, qhi, axes, origin, width, ncell, reach, offsets, rows, times, q_times):
        dims = rows.shape[1] // 2
        out = np.empty(1024, np.int64)
        n = 0
        first = np.zeros(4, np.int64)
        last = np.zeros(4, np.int64)
        for k in range(qlo.shape[0]):
            for j in range(4):
                if ncell[j] == 1:
                    first[j] = last[j] = 0
                    continue
                a = axes[j]
                first[j] = min(max(np.floor((qlo[k, a] - reach[j] - origin[j]) / width[j]), 0), ncell[j] - 1)
                last[j] = min(max(np.floor((qhi[k, a] + reach[j] - origin[j]) / width[j]), 0), ncell[j] - 1)
            for c0 in range(first[0], last[0] + 1):
                for c1 in range(first[1], last[1] + 1):
                    for c2 in range(first[2], last[2] + 1):
                        base = ((c0 * ncell[1] + c1) * ncell[2] + c2) * ncell[3]
                        for p in range(offsets[base + first[3]], offsets[base + last[3] + 1]):
                            ok = True
                            for d in range(dims):
                                if rows[p, 2 * d] > qhi[k, d] or rows[p, 2 * d + 1] < qlo[k, d]:
                                    ok = False
                                    break
                            if ok and len(q_times) and (times[p, 1] < q_times[k, 0] or times[p, 0] > q_times[k, 1]):
                                ok = False
                            if ok:
                                if n == len(out):
                                    out = np.concatenate((out, np.empty(n, np.int64)))
                                out[n] = p
                                n += 1
        return out[:n]

    return loop


def _distinct(ids: np.ndarray) -> np.ndarray:
    """Sorted unique ids (``np.unique`` costs ~20 us of fixed overhead, a quarter of the compiled space-time
    search)."""
    ids = np.sort(ids)
    return ids[np.concatenate(([True], ids[1:] != ids[:-1]))] if len(ids) else ids

def same_engines(conn: sqlite3.Connection, box_sets: list[tuple[str, np.ndarray, np.ndarray]], repeat: int) -> dict:
    """Both indexes in the same in-memory engines (:class:`GridIndex`), loaded from the two R-trees, each
    index at its best grid and box set in each engine: the space-time grid (time bins x xyz cells)
    against the 2-D grid (xyz cells) followed by the time filter, the exposure times held in memory in
    the grid's order (the peer's best). ``box_sets``: (label, boxes, the SQLite answer); every grid of
    both must give that answer."""
    t0 = time.perf_counter()
    ids8, b8 = load_rtree(conn, st_table.TABLE)
    ids6, b6 = load_rtree(conn, "footprint_rtree")
    load_s = time.perf_counter() - t0
    rows = np.array(conn.execute("SELECT rowid, t_min, t_max FROM obscore").fetchall())
    t_of = np.zeros((int(rows[:, 0].max()) + 1, 2))
    t_of[rows[:, 0].astype(np.int64)] = rows[:, 1:]
    t_lo, t_hi = float(b8[:, 6].min()), float(b8[:, 7].max())
    best: dict = {"numpy": {}, "compiled": {}}

    def keep(engine, who, label, fn, grid, reps, expected):
        fn()  # compile / warm
        w, c, found = timed(fn, reps)
        assert np.array_equal(found, expected), f"the {engine} {who} grid ({label}) disagrees with SQLite"
        if c < best[engine].get(who, (None, None, np.inf))[2]:
            best[engine][who] = (label, w, c, grid.counts)

    for g in (16, 32, 64):
        for days in (16.0, 32.0, 64.0):
            grid = GridIndex(ids8, b8, [(3, t_lo, days, int((t_hi - t_lo) // days) + 1)]
                             + [(ax, -1.0, 2.0 / g, g) for ax in range(3)])
            for name, boxes, expected in box_sets:
                q8 = boxes.copy()
                q8[:, 6:8] -= st_table.T_ZERO_MJD
                label = f"{name}; {g} cells an axis, {days:.0f}-day bins"
                keep("numpy", "st", label, lambda: _distinct(grid.ids[grid.pairs(q8)[0]]), grid, repeat * 3, expected)
                keep("compiled", "st", label, lambda: _distinct(grid.ids[grid.search(q8)]), grid, repeat * 3,
                     expected)
    for g in (32, 64, 128, 256):
        grid = GridIndex(ids6, b6, [(ax, -1.0, 2.0 / g, g) for ax in range(3)])
        times = np.ascontiguousarray(t_of[grid.ids])
        for name, boxes, expected in box_sets:
            q_times = np.ascontiguousarray(boxes[:, 6:8])

            def peer():
                pos, b = grid.pairs(boxes[:, :6])
                ok = (times[pos, 1] >= boxes[b, 6]) & (times[pos, 0] <= boxes[b, 7])
                return _distinct(grid.ids[pos[ok]])

            label = f"{name}; {g} cells an axis"
            keep("numpy", "peer", label, peer, grid, repeat, expected)
            keep("compiled", "peer", label,
                 lambda: _distinct(grid.ids[grid.search(boxes[:, :6], times, q_times)]), grid, repeat, expected)
    best["load_s"] = load_s
    best["entries"] = len(ids8)
    return best


def timed(fn, repeat: int):
    """Median wall and CPU (process) seconds of ``repeat`` calls, and the last result."""
    wall, cpu, result = [], [], None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - t0)
    return statistics.median(wall), statistics.median(cpu), result


def compare(idx, conn, boxes, repeat: int) -> dict:
    """Both indexes on the same boxes: wall and CPU medians, the faster peer, and the candidates."""
    w_st, c_st, cand_st = timed(lambda: idx.candidates(boxes), repeat * 3)
    peers = {}
    for name, fn in (("OR", spatial_then_time), ("join", spatial_then_time_join)):
        w, c, cand = timed(lambda: fn(conn, boxes), repeat)
        assert np.array_equal(cand_st, cand), f"the two indexes disagree ({name})"
        peers[name] = (w, c)
    best = min(peers, key=lambda k: peers[k][0])
    return {"st": (w_st, c_st), "peer": peers[best], "peer_form": best, "peers": peers, "candidates": cand_st}


def forward(tmp: Path, n: int, repeat: int = 3, sweep: bool = False) -> None:
    import astropy.units as u
    from astropy.time import Time

    from platform_lib.moving import SpacetimeIndex, default_orbits, ephemeris, find_images
    from platform_lib.moving.search import Body, tabulate, track_boxes
    from platform_lib.moving.ephemeris import SolarSystem, observatory

    orbits = default_orbits()
    rng = np.random.default_rng(7)
    when = Time(np.sort(rng.uniform(53400, 60650, 100)), format="mjd", scale="utc")
    eph = ephemeris("Pallas", when, site="keck", orbits=orbits)
    path = tmp / "index.sqlite"
    build_s = build_archive(path, n, (np.asarray(eph["ra"]), np.asarray(eph["dec"]), when.mjd))
    print(f"index of {n + 100:,} footprints over 20 years built in {build_s:.1f} s")
    start, stop = Time("2005-01-01"), Time("2025-01-01")
    tol = 10 * u.arcsec
    ss = SolarSystem.default()
    body = Body("Pallas", orbits, ss, observatory("keck"))
    track = tabulate(body, float(start.tdb.jd), float(stop.tdb.jd), max_step_deg=1.0)
    boxes = track_boxes(track, pad_deg=10 / 3600)  # find_images' defaults
    idx = SpacetimeIndex(path)
    idx.candidates(boxes[:5])  # open the connection
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.execute("PRAGMA cache_size=-262144")
    spatial_then_time(conn, boxes[:5])
    res = compare(idx, conn, boxes, repeat)
    n_spatial = spatial_candidates_only(conn, boxes)
    (w_st, c_st), (w_2d, c_2d) = res["st"], res["peer"]
    print(f"Pallas 2005-2025: {len(track.jd)} ephemeris points, {len(boxes)} boxes (defaults); "
          f"{len(res['candidates'])} candidates (the spatial R-tree alone returns {n_spatial:,} footprints "
          "before the time filter)")
    print(f"  {'':26s} {'wall':>10s} {'cpu':>10s} {'ratio wall':>11s} {'ratio cpu':>10s}")
    print(f"  {'space-time R-tree':26s} {w_st * 1e3:7.1f} ms {c_st * 1e3:7.1f} ms")
    for form, (w, c) in res["peers"].items():
        mark = " (faster peer)" if form == res["peer_form"] else ""
        print(f"  {'2-D R-tree + time, ' + form:26s} {w * 1e3:7.1f} ms {c * 1e3:7.1f} ms {w / w_st:10.0f}x "
              f"{c / c_st:9.0f}x{mark}")
    box_sets = [("4 deg, 30 d", boxes, res["candidates"])]
    if sweep:
        print("  sweep (each index at its best): box size, span -> boxes, candidates; space-time, peer (wall | cpu)")
        best = {"wall": [(None, np.inf), (None, np.inf)], "cpu": [(None, np.inf), (None, np.inf)]}
        for size in (1.0, 2.0, 4.0, 8.0, 12.0):
            for days in (30.0, 90.0):
                bx = track_boxes(track, pad_deg=10 / 3600, box_size_deg=size, box_days=days)
                r = compare(idx, conn, bx, repeat)
                box_sets.append((f"{size:.0f} deg, {days:.0f} d", bx, r["candidates"]))
                print(f"    {size:4.0f} deg {days:3.0f} d: {len(bx):5d} boxes {len(r['candidates']):5d} cand; "
                      f"{r['st'][0] * 1e3:6.1f} | {r['st'][1] * 1e3:5.1f} ms; {r['peer'][0] * 1e3:7.1f} | "
                      f"{r['peer'][1] * 1e3:6.1f} ms ({r['peer_form']})")
                for k, clock in enumerate(("wall", "cpu")):
                    for j, who in enumerate(("st", "peer")):
                        if r[who][k] < best[clock][j][1]:
                            best[clock][j] = ((size, days), r[who][k])
        for clock in ("wall", "cpu"):
            (at_st, t_st), (at_2d, t_2d) = best[clock]
            print(f"  best against best ({clock}): space-time {t_st * 1e3:.1f} ms at {at_st}, peer {t_2d * 1e3:.1f} ms "
                  f"at {at_2d}: ratio {t_2d / t_st:.0f}x")
    eng = same_engines(conn, box_sets, repeat)
    print(f"  same engine for both: in-memory grids loaded from the two R-trees ({eng['entries']:,} entries each, "
          f"both read in {eng['load_s']:.2f} s), each at its best grid{' and box set' if sweep else ''}, same answer:")
    for engine, title in (("numpy", "NumPy, all boxes at once"), ("compiled", "compiled loop (numba)")):
        (at_st, w8, c8, (runs8, test8)), (at_2d, w6, c6, (runs6, test6)) = eng[engine]["st"], eng[engine]["peer"]
        print(f"  {title}:")
        print(f"  {'  space-time grid':26s} {w8 * 1e3:7.2f} ms {c8 * 1e3:7.2f} ms   ({at_st}; {runs8:,} cell runs, "
              f"{test8:,} entries tested)")
        print(f"  {'  2-D grid + time':26s} {w6 * 1e3:7.2f} ms {c6 * 1e3:7.2f} ms {w6 / w8:10.0f}x {c6 / c8:9.0f}x "
              f"({at_2d}; {runs6:,} cell runs, {test6:,} entries tested)")
    c8 = eng["compiled"]["st"][2]
    print(f"  (the compiled space-time grid against the SQLite peer: {c_2d / c8:.0f}x CPU; not a fair pair: "
          "different engines)")
    find_images("Pallas", start, stop, index=idx, site="keck", orbits=orbits, tolerance=tol)
    t_e2e, _, res = timed(lambda: find_images("Pallas", start, stop, index=idx, site="keck", orbits=orbits,
                                              tolerance=tol), repeat)
    print(f"  find_images end to end  {t_e2e * 1e3:9.1f} ms   (ephemeris {res.stats['ephemeris_s'] * 1e3:.1f} ms, "
          f"hits {res.stats['hits']} of the 100 planted, near misses {res.stats['near_misses']})")


def clone_orbits(m: int, seed: int = 3):
    from platform_lib.moving import Orbits, default_orbits

    real = default_orbits()
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(real), m)
    return Orbits.from_elements(
        [f"clone {k} of {real.names[p]}" for k, p in enumerate(pick)], a=real.a[pick], e=real.e[pick],
        inc=real.inc[pick], node=rng.uniform(0, 360, m), peri=rng.uniform(0, 360, m),
        mean_anomaly=rng.uniform(0, 360, m), epoch_jd=real.epoch_jd[pick], h=real.h[pick], g=real.g[pick])


def reverse(m: int, days: int, n_images: int = 200) -> None:
    import astropy.units as u
    from astropy.coordinates import SkyCoord
    from astropy.time import Time

    from platform_lib.moving import bodies_in_images, build_cache
    from platform_lib.moving.reverse import cone_image

    orbits = clone_orbits(m)
    t0 = time.perf_counter()
    cache = build_cache(orbits, Time("2024-01-01"), days)
    build_s = time.perf_counter() - t0
    fast = len(cache.fast_ids) / days
    print(f"cache of {m:,} orbits x {days} days built in {build_s:.1f} s ({fast:.1f} fast bodies a day)")
    rng = np.random.default_rng(11)
    images = []
    for k in range(n_images):
        if k % 2:  # on the ecliptic, where the asteroids are
            lon = rng.uniform(0, 360)
            c = SkyCoord(lon * u.deg, rng.uniform(-3, 3) * u.deg, frame="barycentrictrueecliptic").icrs
        else:
            c = SkyCoord(rng.uniform(0, 360) * u.deg, np.degrees(np.arcsin(rng.uniform(-1, 1))) * u.deg)
        t = Time("2024-01-01") + rng.uniform(0.5, days - 1) * u.day
        ra, dec = c.ra.deg, c.dec.deg
        verts = squares(np.array([ra]), np.array([dec]), np.array([10 / 60]), np.array([0.3]))[0]
        images.append({"obs_id": f"img{k}", "dataproduct_type": "image", "s_ra": ra, "s_dec": dec,
                       "t_min": t.utc.mjd, "t_max": t.utc.mjd + 60 / 86400, "vertices": verts})
    bodies_in_images(images[:2], orbits=orbits, cache=cache, site="keck")
    per_image, found = [], 0
    for im in images:
        t0 = time.perf_counter()
        found += len(bodies_in_images([im], orbits=orbits, cache=cache, site="keck"))
        per_image.append(time.perf_counter() - t0)
    brute = []
    for im in images[:10]:
        t0 = time.perf_counter()
        b = bodies_in_images([im], orbits=orbits, site="keck")
        brute.append(time.perf_counter() - t0)
        c = bodies_in_images([im], orbits=orbits, cache=cache, site="keck")
        assert sorted(b["row"]) == sorted(c["row"]), "cache and brute force disagree"
    t_night0 = time.perf_counter()
    night = bodies_in_images(images, orbits=orbits, cache=cache, site="keck")
    t_night = time.perf_counter() - t_night0
    print(f"one image vs {m:,} orbits: cache median {statistics.median(per_image) * 1e3:.2f} ms, "
          f"95th percentile {np.percentile(per_image, 95) * 1e3:.2f} ms; every orbit placed "
          f"{statistics.median(brute) * 1e3:.1f} ms (ratio {statistics.median(brute) / statistics.median(per_image):.0f}x)")
    print(f"{n_images} images in one call: {t_night * 1e3:.0f} ms; {found} (image, body) pairs, {len(night)} in one call")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--footprints", type=int, default=1_000_000)
    ap.add_argument("--orbits", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=366)
    ap.add_argument("--only", choices=("forward", "reverse"), help="run one half")
    ap.add_argument("--sweep", action="store_true", help="compare the indexes over box sizes and spans too")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement of the peer (x3 for the space-time)")
    args = ap.parse_args()
    if args.only != "reverse":
        with tempfile.TemporaryDirectory() as tmp:
            forward(Path(tmp), args.footprints, args.repeat, args.sweep)
    if args.only != "forward":
        reverse(args.orbits, args.days)


if __name__ == "__main__":
    main()
