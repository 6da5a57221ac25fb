"""Benchmark: "which catalogues cover this position" with many registered tables, against peers in the same run.

Usage: ``.venv/bin/python bench/catalogs_coverage.py [--full] [--tables N] [--queries Q] [--radius ARCMIN]``
(default 200 tables and 200 queries; ``--full`` is the issue's 1,000 tables and 1,000 queries).

Synthetic MOCs of varied sizes, as a real registry holds: cones from 1 arcmin to 30 deg (log-uniform),
a few all-sky surveys, and scattered-source tables (a few thousand random positions in a region,
so MOCs of thousands of ranges), at HEALPix order 8 or 10 as ingest chooses. Each is registered
through :meth:`Registry.add_catalog`, exactly as ingest does; no catalogue files exist, so the
answer can only come from the MOC index. Queries are cones of ``--radius`` (default 1 arcmin) at
random positions, half of them inside a registered footprint.

Methods, all answering the same question with the same cells (answers are checked to agree):

* ``Registry.covering``: the order-6 cell index in SQLite, then the MOC ranges of candidate tables;
* peer ``mocpy contains`` loop: ``MOC.contains_lonlat`` of the centre on each of the N MOCs (the
  point-only version of the question; its answers are not compared);
* peer ``mocpy intersection`` loop: the cone as a MOC at each table's order, intersected with each MOC;
* peer brute-force SQLite: every table's ranges in one table without an index, scanned for ranges
  overlapping the cone's (the plain-SQL answer with no spatial index).

p50 and p99 in milliseconds; "vs covering" is each method's p50 over ``Registry.covering``'s.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def synthetic_mocs(n: int, seed: int = 0):
    """``n`` (name, order, ranges, centre) of varied footprints."""
    import astropy.units as u
    from mocpy import MOC

    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        order = int(rng.choice([8, 10]))
        ra, dec = rng.uniform(0, 360), float(np.degrees(np.arcsin(rng.uniform(-1, 1))))
        kind = rng.uniform()
        if kind < 0.01:  # an all-sky survey
            ranges = np.array([[0, 12 * 4**29]], dtype=np.uint64)
        elif kind < 0.3:  # scattered sources in a region of 1-10 deg
            size = rng.uniform(1, 10)
            m = int(rng.integers(500, 5000))
            pra = (ra + rng.normal(0, size / max(np.cos(np.radians(dec)), 0.1), m)) % 360
            pdec = np.clip(dec + rng.normal(0, size, m), -90, 90)
            moc = MOC.from_lonlat(lon=pra * u.deg, lat=pdec * u.deg, max_norder=order)
            ranges = moc.to_depth29_ranges.astype(np.uint64)
        else:  # a cone of 1 arcmin to 30 deg
            radius = float(np.exp(rng.uniform(np.log(1 / 60), np.log(30))))
            moc = MOC.from_cone(lon=ra * u.deg, lat=dec * u.deg, radius=radius * u.deg, max_depth=order)
            ranges = moc.to_depth29_ranges.astype(np.uint64)
        out.append((f"T{i:04d}", order, np.ascontiguousarray(ranges, dtype=np.uint64), (ra, dec)))
    return out


def build_registry(path: Path, mocs):
    from platform_lib.catalogs import CatalogInfo, Registry, TableInfo

    registry = Registry(path)
    for name, order, ranges, _centre in mocs:
        fraction = float((ranges[:, 1] - ranges[:, 0]).sum()) / (12 * 4**29)  # order-29 cells over the sky's
        info = TableInfo(name=name, catalog=name, nrows=1, ra_column="ra", dec_column="dec", moc_order=order,
                         sky_fraction=fraction)
        registry.add_catalog(CatalogInfo(name), [(info, ranges)])
    return registry


def build_brute_sqlite(path: Path, mocs) -> sqlite3.Connection:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE ranges (name TEXT, moc_order INTEGER, start INTEGER, stop INTEGER)")
    for name, order, ranges, _centre in mocs:  # order-29 cells end at 12 * 4**29 < 2**63: SQLite integers
        con.executemany("INSERT INTO ranges VALUES (?,?,?,?)", [(name, order, a, b) for a, b in ranges.tolist()])
    con.commit()
    return con


def percentiles(values) -> tuple[float, float]:
    return float(np.percentile(values, 50)) * 1e3, float(np.percentile(values, 99)) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="1,000 tables, 1,000 queries (the issue's size)")
    parser.add_argument("--tables", type=int, default=None)
    parser.add_argument("--queries", type=int, default=None)
    parser.add_argument("--peer-queries", type=int, default=None,
                        help="queries for the slow peers (default: all, at most 200)")
    parser.add_argument("--radius", type=float, default=1.0, help="cone radius in arcmin")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    import astropy.units as u
    from astropy.coordinates import SkyCoord
    from cdshealpix.nested import cone_search
    from mocpy import MOC

    def cone_ranges(ra, dec, radius, order):
        """The order-``order`` cells cdshealpix says the cone touches, as order-29 ``[start, stop)`` ranges."""
        cells = cone_search(ra * u.deg, dec * u.deg, radius * u.deg, order, flat=True)[0].astype(np.uint64)
        shift = np.uint64(2 * (29 - order))
        return np.column_stack([cells << shift, (cells + np.uint64(1)) << shift])

    n = args.tables or (1000 if args.full else 200)
    q = args.queries or (1000 if args.full else 200)
    q_peer = min(q, args.peer_queries or 200)
    radius_deg = args.radius / 60
    root = Path(tempfile.mkdtemp(prefix="bench-coverage-"))
    try:
        t = time.perf_counter()
        mocs = synthetic_mocs(n)
        registry = build_registry(root / "registry.sqlite", mocs)
        brute = build_brute_sqlite(root / "brute.sqlite", mocs)
        nranges = sum(len(r) for _, _, r, _ in mocs)
        print(f"registered {n:,} tables ({nranges:,} MOC ranges) in {time.perf_counter() - t:.1f} s")

        rng = np.random.default_rng(1)
        centres = []
        for i in range(q):  # half near a registered footprint, half anywhere
            if i % 2:
                ra, dec = mocs[int(rng.integers(n))][3]
            else:
                ra, dec = rng.uniform(0, 360), float(np.degrees(np.arcsin(rng.uniform(-1, 1))))
            centres.append((float(ra), float(dec)))
        radius = args.radius * u.arcmin
        positions = [SkyCoord(ra * u.deg, dec * u.deg) for ra, dec in centres]

        for pos in positions[:20]:  # warm: SQLite pages and the ranges cache
            registry.covering(pos, radius)
        ours, answers = [], []
        for pos in positions:
            t = time.perf_counter()
            answers.append(registry.covering(pos, radius))
            ours.append(time.perf_counter() - t)

        objects = [(name + "/" + name, order, MOC.from_depth29_ranges(order, ranges))
                   for name, order, ranges, _ in mocs]
        contains = []
        for ra, dec in centres[:q_peer]:
            lon, lat = np.array([ra]) * u.deg, np.array([dec]) * u.deg
            t = time.perf_counter()
            [name for name, _o, moc in objects if moc.contains_lonlat(lon, lat)[0]]
            contains.append(time.perf_counter() - t)

        intersect = []
        for (ra, dec), expected in zip(centres[:q_peer], answers):
            t = time.perf_counter()
            cones = {o: MOC.from_cone(lon=ra * u.deg, lat=dec * u.deg, radius=radius_deg * u.deg, max_depth=o)
                     for o in (8, 10)}
            found = sorted(name for name, o, moc in objects if not moc.intersection(cones[o]).empty())
            intersect.append(time.perf_counter() - t)
            assert found == expected, f"mocpy and Registry.covering disagree at {ra}, {dec}"

        scan = []
        for (ra, dec), expected in zip(centres[:q_peer], answers):
            t = time.perf_counter()
            found = set()
            for order in (8, 10):
                cone = cone_ranges(ra, dec, radius_deg, order)
                where = " OR ".join(["(start < ? AND stop > ?)"] * len(cone))
                params = [int(x) for a, b in cone.tolist() for x in (b, a)]
                found |= {r[0] for r in brute.execute(
                    f"SELECT DISTINCT name FROM ranges WHERE moc_order=? AND ({where})", [order, *params])}
            scan.append(time.perf_counter() - t)
            assert sorted(f"{x}/{x}" for x in found) == expected, f"SQLite scan disagrees at {ra}, {dec}"

        hits = np.mean([len(a) for a in answers])
        print(f"\n'which tables cover this position', {n:,} tables, {args.radius:g} arcmin cones, "
              f"{q} queries ({q_peer} for the peers), {hits:.1f} tables per answer")
        print(f"{'method':<46}{'p50 ms':>10}{'p99 ms':>10}{'vs covering':>13}")
        base = percentiles(ours)[0]
        for label, values in [("Registry.covering (order-6 index + ranges)", ours),
                              ("peer: mocpy contains_lonlat loop (point)", contains),
                              ("peer: mocpy cone intersection loop", intersect),
                              ("peer: brute-force SQLite range scan", scan)]:
            p50, p99 = percentiles(values)
            print(f"{label:<46}{p50:>10.3f}{p99:>10.3f}{p50 / base:>12.1f}x")
        registry.close()
        brute.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
