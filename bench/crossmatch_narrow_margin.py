"""LSDB's path with a right margin narrower than the radius: the right partitions around the left rows read
instead (``_dask.ZonesCrossmatch(right_around=...)``), against the same match with a margin wide enough.

Before lsdb18 LSDB's path (a table on Dask with ``client=``, an LSDB catalogue, ``lazy=True``,
``probability=True``) refused a radius wider than the right margin (``margin-too-small``): the astronomer had
to rebuild the margin cache first. Here all of Hipparcos (117,955 rows, a DataFrame moved 0.5" at random, the
left side, partitioned by LSDB on the workers) is matched on Dask against all of Hipparcos as HATS (LSDB,
partitions of at most 2,000 rows) at 30", mode ``all`` (and with ``--probability``): "around" against the
catalogue with the registry's 10" margin (the new route: each partition pair reads the right partitions its
left rows' cones touch), "margin" against the same catalogue with a 35" margin (the route it replaces, once
the margin was rebuilt; the rebuild itself is not counted). Both on one 2-worker LocalCluster (1 thread, 4 GB
each, as ``_dask.dask_client`` starts), interleaved; the answers are asserted equal. Medians of ``--repeat``
runs; figures go to docs/benchmarks.md with the machine's load.

    .venv/bin/python bench/crossmatch_narrow_margin.py [--repeat 3] [--probability]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings

import astropy.units as u
import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--probability", action="store_true")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    import lsdb
    import pandas as pd
    from distributed import Client, LocalCluster

    from platform_lib.crossmatch import crossmatch
    from platform_lib.sampledata import hipparcos_table

    hip = hipparcos_table()
    cat = pd.DataFrame({c: np.asarray(hip[c]) for c in ("HIP", "ra", "dec", "Hpmag")})
    rng = np.random.default_rng(18)
    off = rng.normal(0, 0.5, (2, len(cat))) / 3600
    mine = pd.DataFrame({"name": cat["HIP"].to_numpy(),
                         "ra": (cat["ra"] + off[0] / np.cos(np.radians(cat["dec"]))) % 360,
                         "dec": np.clip(cat["dec"] + off[1], -90, 90)})
    root = tempfile.mkdtemp(prefix="narrow-")
    paths = {}
    for label, margin in (("around", 10.0), ("margin", 35.0)):
        paths[label] = os.path.join(root, label)
        lsdb.from_dataframe(cat, ra_column="ra", dec_column="dec", margin_threshold=margin, partition_rows=2_000,
                            catalog_name="hip").write_catalog(paths[label])
    radius = 30 * u.arcsec
    kw = dict(mode="all")
    if args.probability:
        kw.update(probability=True, left_errors=0.5 * u.arcsec, right_errors=0.001 * u.arcsec)
    times = {label: [] for label in paths}
    print(f"{len(mine)} x {len(cat)} Hipparcos rows, r = 30\", {kw}, load {os.getloadavg()[0]:.1f}")
    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="4GB", dashboard_address=":0") as cl, \
            Client(cl) as client:
        for label, path in paths.items():  # imports and numba compilation on the workers out of the clock
            crossmatch(mine.iloc[:100], path, radius, client=client, progress=False, **kw)
        for _ in range(args.repeat):
            got = {}
            for label, path in paths.items():
                t0 = time.perf_counter()
                got[label] = crossmatch(mine, path, radius, client=client, progress=False, **kw)
                times[label].append(time.perf_counter() - t0)
            a, b = (g.sort_values(["name", "HIP"]).reset_index(drop=True) for g in got.values())
            pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=0, atol=1e-12)
    a, m = statistics.median(times["around"]), statistics.median(times["margin"])
    print(f"| {len(got['around'])} pairs | around (10\" margin) {a:.2f} s | margin (35\") {m:.2f} s | "
          f"around / margin {a / m:.2f} |")
    print(f"load after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
