"""Benchmark: 1 arcmin cone search on a synthetic HATS catalogue, cold and warm, against a HEALPix-sorted array.

Usage: ``.venv/bin/python bench/catalogs_cone.py [--full] [--rows N] [--queries Q]``
(default 10^6 rows; ``--full`` is the issue's 10^7). Cold: the reader's partition cache is emptied
before each query (the partition list stays in memory; the Parquet file may be in the OS page cache).
Warm: the touched partitions are cached. Peers in the same run: a HEALPix-sorted numpy array of the
whole catalogue in memory (cdshealpix cells + searchsorted, the 0.08 ms reference), and lsdb's own
``cone_search(...).compute()`` on a few queries.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from synthetic import catalogue


class SortedArrayPeer:
    """The whole catalogue in memory, sorted by order-29 HEALPix index: the reference in-process peer."""

    def __init__(self, df) -> None:
        import astropy.units as u
        from cdshealpix.nested import lonlat_to_healpix

        hp = lonlat_to_healpix(df["ra"].to_numpy() * u.deg, df["dec"].to_numpy() * u.deg, 29).astype(np.uint64)
        order = np.argsort(hp)
        self.hp = hp[order]
        self.ra = np.radians(df["ra"].to_numpy()[order])
        self.dec = np.radians(df["dec"].to_numpy()[order])
        self.ids = df["id"].to_numpy()[order]

    def cone(self, ra, dec, r):
        import astropy.units as u
        from cdshealpix.nested import cone_search

        depth = 14
        cells = np.unique(cone_search(ra * u.deg, dec * u.deg, r * u.deg, depth, flat=True)[0].astype(np.uint64))
        shift = np.uint64(2 * (29 - depth))  # order-14 cells as order-29 [start, stop) ranges
        ranges = np.column_stack([cells << shift, (cells + np.uint64(1)) << shift])
        lo = np.searchsorted(self.hp, ranges[:, 0])
        hi = np.searchsorted(self.hp, ranges[:, 1])
        idx = np.concatenate([np.arange(a, b) for a, b in zip(lo, hi)]) if len(lo) else np.empty(0, int)
        ra0, dec0 = np.radians(ra), np.radians(dec)
        cosd = np.sin(dec0) * np.sin(self.dec[idx]) + np.cos(dec0) * np.cos(self.dec[idx]) * np.cos(self.ra[idx] - ra0)
        return self.ids[idx[cosd >= np.cos(np.radians(r))]]


def p50(values):
    return float(np.median(values)) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="10^7 rows (the issue's size)")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--keep", help="reuse/keep the HATS catalogue in this folder")
    args = parser.parse_args()
    n = args.rows or (10_000_000 if args.full else 1_000_000)
    warnings.simplefilter("ignore")
    from platform_lib.catalogs import reader_for, write_hats

    df = catalogue(n)
    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-cone-"))
    path = workdir / "synthetic"
    if not path.exists():
        t = time.perf_counter()
        write_hats(df, path, name="synthetic", ra_column="ra", dec_column="dec", partition_rows=100_000)
        print(f"wrote {n:,} rows as HATS in {time.perf_counter() - t:.1f} s")
    reader = reader_for(path)  # the HatsReader cone_search uses
    rng = np.random.default_rng(1)
    q = args.queries
    centres = np.column_stack([rng.uniform(0, 360, q), np.degrees(np.arcsin(rng.uniform(-1, 1, q)))])
    r = 1 / 60
    cols = ["id", "mag"]

    cold = []
    for ra, dec in centres:
        reader.clear_cache()
        t = time.perf_counter()
        reader.cone(ra, dec, r, cols)
        cold.append(time.perf_counter() - t)
    for ra, dec in centres:  # fill the cache with every touched partition
        reader.cone(ra, dec, r, cols)
    warm, results = [], []
    for ra, dec in centres:
        t = time.perf_counter()
        out = reader.cone(ra, dec, r, cols)
        warm.append(time.perf_counter() - t)
        results.append(np.sort(out["id"]))

    from astropy.coordinates import SkyCoord
    import astropy.units as u

    from platform_lib.catalogs import cone_search

    public = []
    for ra, dec in centres:  # the public API keeps its own reader per catalogue: warm it the same way
        cone_search(path, SkyCoord(ra * u.deg, dec * u.deg), 1 * u.arcmin, columns=cols)
    for ra, dec in centres:
        t = time.perf_counter()
        cone_search(path, SkyCoord(ra * u.deg, dec * u.deg), 1 * u.arcmin, columns=cols)
        public.append(time.perf_counter() - t)

    peer = SortedArrayPeer(df)
    peer_t = []
    for (ra, dec), expected in zip(centres, results):
        t = time.perf_counter()
        ids = peer.cone(ra, dec, r)
        peer_t.append(time.perf_counter() - t)
        assert np.array_equal(np.sort(ids), expected), "peer and HATS reader disagree"

    import lsdb

    cat = lsdb.open_catalog(path)
    lsdb_t = []
    for ra, dec in centres[:5]:
        t = time.perf_counter()
        cat.cone_search(ra, dec, 60.0).compute()
        lsdb_t.append(time.perf_counter() - t)

    mean_rows = np.mean([len(x) for x in results])
    print(f"\n1 arcmin cone, {n:,} rows, {reader.max_order=} ({len(reader._pixels)} partitions), "
          f"{q} random centres, {mean_rows:.1f} rows per answer")
    print(f"{'method':<46}{'p50 ms':>10}{'p95 ms':>10}{'vs peer':>10}")
    base = p50(peer_t)
    for label, values in [("HATS reader, cold (partition read)", cold),
                          ("HATS reader, warm (partitions cached)", warm),
                          ("cone_search() public API, warm (astropy Table)", public),
                          ("peer: HEALPix-sorted numpy array", peer_t),
                          ("peer: lsdb cone_search().compute() (5 queries)", lsdb_t)]:
        print(f"{label:<46}{p50(values):>10.3f}{np.percentile(values, 95) * 1e3:>10.3f}{p50(values) / base:>9.1f}x")
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
