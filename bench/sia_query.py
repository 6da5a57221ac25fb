"""Benchmark: an SIA v2 query (0.1 deg circle) on N synthetic images, R-tree against two peers.

In one run, on the same N footprints (those of ``bench/imageindex_build.py``: 0.05-0.3 deg squares,
uniform on the sky) and the same random 0.1 deg circles:

- ``rtree http``: the archive service (``astrohub-archive`` subprocess on a free port), SIA v2
  ``POS=CIRCLE ...`` over HTTP with a keep-alive session: the figure the issue targets
  (p50 < 10 ms, p99 < 50 ms at N = 10^6);
- ``rtree``: the same query in process (:meth:`ImageIndex.query`: R-tree, then the exact test);
- ``full scan``: SQLite evaluates the centre-distance bound on every row (``NOT INDEXED``), then
  the same exact test;
- ``healpix``: each footprint filed under the depth-8 HEALPix cell of its centre (B-tree on the
  cell); the query covers the circle widened by the largest footprint radius with
  ``cdshealpix.nested.cone_search`` and reads those cells, then the same exact test.

The three in-process methods must return the same images for every circle (checked). Output: a
table of p50 / p99 / mean in ms, and each peer's p50 as a ratio to the R-tree's.

Usage: ``.venv/bin/python bench/sia_query.py --n 10000`` (smoke); ``--n 1000000`` (the figure).
"""

from __future__ import annotations

import argparse
import math
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from imageindex_build import build_bulk, synthetic  # noqa: E402

from platform_lib.imageindex import Circle, ImageIndex, ImageQuery, Viewer  # noqa: E402
from platform_lib.imageindex.sphere import Polygon, radec_to_xyz  # noqa: E402

DEPTH = 8  # HEALPix cells of ~0.23 deg
ADMIN = Viewer(admin=True)


def build_peer(path: Path, records, verts) -> float:
    """The peers' table: centre vector, bounding radius, HEALPix cell, vertices; B-tree on the cell."""
    from cdshealpix.nested import lonlat_to_healpix
    import astropy.units as u

    ra = np.array([r["s_ra"] for r in records])
    dec = np.array([r["s_dec"] for r in records])
    c = radec_to_xyz(ra, dec)
    radius = np.max(np.arccos(np.clip(np.einsum("nkj,nj->nk", verts, c), -1, 1)), axis=1)
    cells = lonlat_to_healpix(ra * u.deg, dec * u.deg, DEPTH).astype(np.int64)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE peer (id INTEGER PRIMARY KEY, obs_id TEXT, cell INTEGER, x REAL, y REAL, z REAL, "
                 "radius REAL, vertices BLOB)")
    conn.executemany("INSERT INTO peer VALUES (?,?,?,?,?,?,?,?)",
                     ((i, records[i]["obs_id"], int(cells[i]), *map(float, c[i]), float(radius[i]),
                       verts[i].tobytes()) for i in range(len(records))))
    conn.execute("CREATE INDEX peer_cell ON peer(cell)")
    conn.commit()
    conn.close()
    return float(radius.max())


def exact(rows, circle: Circle) -> set[str]:
    out = set()
    for obs_id, blob in rows:
        poly = Polygon.from_xyz(np.frombuffer(blob, dtype=np.float64).reshape(-1, 3))
        if circle.intersects_polygon(poly):
            out.add(obs_id)
    return out


def full_scan(conn, circle: Circle, max_radius: float) -> set[str]:
    cx, cy, cz = circle.center_xyz
    # cos(r + radius) bound per row: every row is read and tested (NOT INDEXED).
    rows = conn.execute(
        "SELECT obs_id, vertices FROM peer NOT INDEXED WHERE x * ? + y * ? + z * ? >= cos(? + radius)",
        (cx, cy, cz, math.radians(circle.radius))).fetchall()
    return exact(rows, circle)


def healpix(conn, circle: Circle, max_radius: float) -> set[str]:
    from cdshealpix.nested import cone_search
    import astropy.units as u

    cells, _, _ = cone_search(circle.ra * u.deg, circle.dec * u.deg,
                              (circle.radius + math.degrees(max_radius)) * u.deg, DEPTH, flat=True)
    cells = np.unique(cells).tolist()
    rows = conn.execute(f"SELECT obs_id, vertices FROM peer WHERE cell IN ({','.join('?' * len(cells))})",
                        cells).fetchall()
    return exact(rows, circle)


def rtree(index: ImageIndex, circle: Circle) -> set[str]:
    records, _ = index.query(ImageQuery(pos=[circle]), ADMIN, maxrec=100_000)
    return {r["obs_id"] for r in records}


def timed(fn, circles) -> tuple[np.ndarray, list]:
    times, answers = [], []
    for circle in circles:
        t0 = time.perf_counter()
        answers.append(fn(circle))
        times.append(time.perf_counter() - t0)
    return np.array(times) * 1000.0, answers


def serve(index_path: Path, data_root: Path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = Path(sys.executable).with_name("astrohub-archive")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTERHUB_")}
    proc = subprocess.Popen([str(exe), "--port", str(port), "--index", str(index_path), "--data-root",
                             str(data_root), "--update-every", "0", "--log-level", "WARNING"], env=env)
    return proc, f"http://127.0.0.1:{port}/"


def main(argv=None) -> int:
    import requests

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10_000, help="synthetic images (10^6 for the issue's figure)")
    p.add_argument("--queries", type=int, default=300, help="random 0.1 deg circles per method")
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        records, verts = synthetic(args.n)
        build_bulk(tmp / "index.sqlite", records, verts)
        max_radius = build_peer(tmp / "peer.sqlite", records, verts)
        print(f"built {args.n} records in {time.perf_counter() - t0:.1f} s")
        rng = np.random.default_rng(args.seed)
        # Circles centred on random images, so most queries find something (as real users' do).
        pick = rng.integers(0, args.n, args.queries)
        circles = [Circle(records[i]["s_ra"], records[i]["s_dec"], 0.1) for i in pick]

        index = ImageIndex(tmp / "index.sqlite")
        peer = sqlite3.connect(tmp / "peer.sqlite")
        rows = {}
        answers = {}
        for name, fn in (("rtree", lambda c: rtree(index, c)),
                         ("full scan", lambda c: full_scan(peer, c, max_radius)),
                         ("healpix", lambda c: healpix(peer, c, max_radius))):
            fn(circles[0])  # warm the page cache
            rows[name], answers[name] = timed(fn, circles)
        peer.close()
        for name in ("full scan", "healpix"):
            bad = sum(a != b for a, b in zip(answers["rtree"], answers[name]))
            if bad:
                print(f"MISMATCH: {name} differs from the R-tree on {bad} of {len(circles)} circles", file=sys.stderr)
                return 1

        (tmp / "data").mkdir()
        proc, base = serve(tmp / "index.sqlite", tmp / "data")
        try:
            session = requests.Session()
            deadline = time.monotonic() + 60
            while True:
                try:
                    if session.get(base + "sia/availability", timeout=2).status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the archive service did not start")
                time.sleep(0.1)  # readiness poll interval, bounded by the deadline

            def http(c: Circle) -> int:
                r = session.get(base + "sia/query", params={"POS": f"CIRCLE {c.ra} {c.dec} {c.radius}",
                                                            "MAXREC": "10000"}, timeout=30)
                r.raise_for_status()
                return len(r.content)

            http(circles[0])
            rows["rtree http"], _ = timed(http, circles)
        finally:
            proc.terminate()
            proc.wait(10)

    hits = np.array([len(a) for a in answers["rtree"]])
    print(f"N = {args.n}, {args.queries} circles of 0.1 deg, {hits.mean():.1f} images found on average")
    print(f"{'method':<12} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'p50 / rtree':>12}")
    ref = np.percentile(rows["rtree"], 50)
    for name in ("rtree http", "rtree", "full scan", "healpix"):
        t = rows[name]
        p50 = np.percentile(t, 50)
        print(f"{name:<12} {p50:8.2f} {np.percentile(t, 99):8.2f} {t.mean():8.2f} {p50 / ref:12.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
