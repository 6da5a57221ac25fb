"""Benchmark: building the image index's SQLite R-tree from N synthetic footprints.

Two comparisons in the same run, on the same synthetic footprints (0.05-0.3 deg squares, rotated,
uniform on the sky):

* the spatial index alone: footprint boxes computed and packed into an empty R-tree
  (``pack_rtree``, Z-order sorted) against naive row-by-row inserts (one ``execute`` per box,
  unsorted) and sorted ``executemany`` inserts;
* the whole index: ``bulk_load`` (the ObsCore rows with ``executemany``, the packed R-tree, then the
  secondary B-tree indexes) against the same rows and boxes inserted row by row.

Usage: ``.venv/bin/python bench/imageindex_build.py`` (10^5), ``--full`` (10^5 and 10^6).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from platform_lib.imageindex.sphere import morton_key
from platform_lib.imageindex.index import INDEXES, bulk_load, create_schema, fast_pragmas
from platform_lib.imageindex.ingest import COLUMNS
from platform_lib.imageindex.rtree_pack import pack_rtree
from platform_lib.imageindex.sphere import cap_boxes, polygon_caps

from synthetic import squares, uniform_sky


def synthetic(n: int, seed: int = 1) -> tuple[list[dict], np.ndarray]:
    """``n`` records with square footprints uniform on the sphere, and their (n, 4, 3) vertices."""
    rng = np.random.default_rng(seed)
    ra, dec = uniform_sky(rng, n)
    size = rng.uniform(0.05, 0.3, n)
    half = np.radians(size / 2)
    verts = squares(ra, dec, size, rng.uniform(0, np.pi / 2, n))
    t_min = rng.uniform(50000, 60000, n)
    exptime = rng.uniform(10, 3600, n)
    instruments = np.array(["MegaPrime", "WFCAM", "ACS", "NIRC2"])
    inst = instruments[rng.integers(0, 4, n)]
    records = []
    for i in range(n):
        rec = dict.fromkeys(COLUMNS)
        rec.update(
            obs_id=f"syn/{i:07d}", obs_publisher_did=f"ivo://astrohub/archive?syn/{i:07d}", obs_collection="SYN",
            dataproduct_type="image", calib_level=2, s_ra=float(ra[i]), s_dec=float(dec[i]),
            s_fov=float(np.degrees(half[i]) * 2.83), t_min=float(t_min[i]),
            t_max=float(t_min[i] + exptime[i] / 86400), t_exptime=float(exptime[i]),
            em_min=5e-7, em_max=6e-7, instrument_name=str(inst[i]), facility_name="SYN",
            access_format="application/fits", release_date=0.0, file_path=f"syn/{i:07d}.fits",
        )
        records.append(rec)
    return records, verts


def build_bulk(path: Path, records, verts) -> float:
    t0 = time.perf_counter()
    conn = sqlite3.connect(path)
    fast_pragmas(conn)
    create_schema(conn)
    bulk_load(conn, records, verts)
    for stmt in INDEXES:
        conn.execute(stmt)
    conn.commit()
    conn.close()
    return time.perf_counter() - t0


def build_naive(path: Path, records, verts) -> float:
    t0 = time.perf_counter()
    conn = sqlite3.connect(path)
    fast_pragmas(conn)
    create_schema(conn)
    centres, radii = polygon_caps(verts)
    boxes = cap_boxes(centres, radii)
    ph = ",".join("?" * (len(COLUMNS) + 1))
    for i, rec in enumerate(records):
        cur = conn.execute(f"INSERT INTO obscore ({', '.join(COLUMNS)}, vertices) VALUES ({ph})",
                           (*(rec[c] for c in COLUMNS), verts[i].tobytes()))
        conn.execute("INSERT INTO footprint_rtree VALUES (?,?,?,?,?,?,?)", (cur.lastrowid, *boxes[i].tolist()))
    for stmt in INDEXES:
        conn.execute(stmt)
    conn.commit()
    conn.close()
    return time.perf_counter() - t0


def _rtree_db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("CREATE VIRTUAL TABLE r USING rtree(id, x0, x1, y0, y1, z0, z1)")
    conn.commit()
    return conn


def rtree_only(tmp: Path, verts: np.ndarray) -> dict[str, float]:
    """Seconds to build the R-tree alone: packed (boxes included), naive row by row, sorted executemany."""
    n = len(verts)
    ids = np.arange(1, n + 1)
    t0 = time.perf_counter()
    centres, radii = polygon_caps(verts)
    boxes = cap_boxes(centres, radii)
    order = np.argsort(morton_key(centres), kind="stable")
    conn = _rtree_db(tmp / f"packed{n}.sqlite")
    pack_rtree(conn, "r", ids[order], boxes[order])
    conn.commit()
    out = {"packed": time.perf_counter() - t0}
    conn = _rtree_db(tmp / f"naive{n}.sqlite")
    t0 = time.perf_counter()
    for i, box in enumerate(boxes.tolist()):
        conn.execute("INSERT INTO r VALUES (?,?,?,?,?,?,?)", (i + 1, *box))
    conn.commit()
    out["naive"] = time.perf_counter() - t0
    conn = _rtree_db(tmp / f"sorted{n}.sqlite")
    t0 = time.perf_counter()
    conn.executemany("INSERT INTO r VALUES (?,?,?,?,?,?,?)",
                     zip(ids[order].tolist(), *(boxes[order][:, k].tolist() for k in range(6))))
    conn.commit()
    out["sorted"] = time.perf_counter() - t0
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the issue's sizes: 10^5 and 10^6")
    args = parser.parse_args(argv)
    sizes = [100_000, 1_000_000] if args.full else [100_000]
    print(f"{'N':>9} {'R-tree packed s':>16} {'naive s':>9} {'sorted s':>9} {'naive/packed':>13} "
          f"{'whole bulk_load s':>18} {'naive s':>9} {'naive/bulk':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            records, verts = synthetic(n)
            rt = rtree_only(Path(tmp), verts)
            tb = build_bulk(Path(tmp) / f"bulk{n}.sqlite", records, verts)
            tn = build_naive(Path(tmp) / f"naive{n}.sqlite", records, verts)
            print(f"{n:>9} {rt['packed']:>16.2f} {rt['naive']:>9.2f} {rt['sorted']:>9.2f} "
                  f"{rt['naive'] / rt['packed']:>13.2f} {tb:>18.2f} {tn:>9.2f} {tn / tb:>11.2f}")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
