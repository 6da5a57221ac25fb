"""A small table against a HATS catalogue: in memory from the partitions it touches, against the Dask path.

The astronomer's commonest crossmatch: the 663 OpenNGC open clusters (a Table) against all of Hipparcos
(117,955 rows, written as HATS by LSDB in partitions of at most 2,000 rows, a 60" margin cache), at 30".
``crossmatch(table, path, r)`` (no ``client=``) reads only the partitions the cones touch and matches in
memory (``crossmatch/_touched.py``); the peer is the Dask path the same call took before: a 2-worker
LocalCluster (1 thread, 4 GB each, as ``_dask.dask_client`` starts when there is no gateway) started inside
the clock ("Dask, cold"), then the same call again on that cluster ("Dask, warm", ``client=`` given). Both
answers are asserted equal (pairs, separations, probabilities). Medians of ``--repeat`` runs, interleaved;
figures go to docs/benchmarks.md with the machine's load.

    .venv/bin/python bench/crossmatch_touched.py [--repeat 3]
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


def _key(t):
    order = np.lexsort((np.asarray(t["HIP"]), np.asarray(t["name"]).astype(str)))
    return t[order]


def _same(a, b) -> None:
    a, b = _key(a), _key(b)
    assert a.colnames == b.colnames and len(a) == len(b)
    assert (np.asarray(a["name"]) == np.asarray(b["name"])).all()
    assert (np.asarray(a["HIP"]) == np.asarray(b["HIP"])).all()
    np.testing.assert_allclose(np.asarray(a["separation_arcsec"]), np.asarray(b["separation_arcsec"]), atol=1e-12)
    if "match_probability" in a.colnames:
        np.testing.assert_allclose(np.asarray(a["match_probability"]), np.asarray(b["match_probability"]), atol=1e-12)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    import lsdb
    import pandas as pd
    from astropy.table import Table
    from distributed import Client, LocalCluster

    from platform_lib.crossmatch import crossmatch
    from platform_lib.sampledata import hipparcos_table, openngc_table

    hip = hipparcos_table()
    cat = pd.DataFrame({c: np.asarray(hip[c]) for c in ("HIP", "ra", "dec", "Hpmag")})
    ngc = openngc_table()
    ocl = ngc[np.asarray(ngc["type"]) == "OCl"]
    table = Table({"name": np.asarray(ocl["name"]).astype(str), "ra": np.asarray(ocl["ra"], dtype=float),
                   "dec": np.asarray(ocl["dec"], dtype=float)})
    root = tempfile.mkdtemp(prefix="touched-")
    path = os.path.join(root, "hip")
    lsdb.from_dataframe(cat, ra_column="ra", dec_column="dec", margin_threshold=60.0, partition_rows=2_000,
                        catalog_name="hip").write_catalog(path)
    n_parts = len(lsdb.open_catalog(path).get_healpix_pixels())
    radius = 30 * u.arcsec
    cases = {"nearest": {}, "all + probability": dict(mode="all", probability=True, left_errors=10 * u.arcsec,
                                                      right_errors=0.001 * u.arcsec)}
    crossmatch(table, path, radius)  # imports and numba compilation out of the clock, for both paths
    print(f"{len(table)} clusters x {len(cat)} Hipparcos stars in {n_parts} partitions, r = 30\", "
          f"load {os.getloadavg()[0]:.1f}")
    for label, kw in cases.items():
        mem_t, cold_t, warm_t = [], [], []
        for _ in range(args.repeat):
            msgs = []
            t0 = time.perf_counter()
            mem = crossmatch(table, path, radius, progress=lambda f, m: msgs.append(m), **kw)
            mem_t.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="4GB", dashboard_address=":0") as cl, \
                    Client(cl) as client:
                dask = crossmatch(table, path, radius, client=client, progress=False, **kw)
                cold_t.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                crossmatch(table, path, radius, client=client, progress=False, **kw)
                warm_t.append(time.perf_counter() - t0)
            _same(mem, dask)
        m, c, w = (statistics.median(x) for x in (mem_t, cold_t, warm_t))
        print(f"| {label} | {len(mem)} | {msgs[0]} | {m:.2f} s | {c:.2f} s | {c / m:.0f}x | {w:.2f} s | {w / m:.0f}x |")
    print(f"load after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
