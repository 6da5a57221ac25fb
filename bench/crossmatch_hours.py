"""What the RA-in-hours check costs a crossmatch, on every path: the same call with the check and with it switched
off, interleaved, in one process.

Real data: Hipparcos (117,955 rows, ``platform_lib.sampledata``) as a Table and as a HATS catalogue on disk
(partitions of at most 2,000 rows, written by ``write_hats``), OpenNGC's open clusters. Cases, each the astronomer's
call: (1) Hipparcos against itself in memory (two Tables, 1"); (2) the open clusters against the HATS catalogue
(in memory from the partitions they touch, 30"); (3) all of Hipparcos as a Table against the HATS catalogue (every
partition touched, 1"); (4) Hipparcos as a Dask DataFrame of 4 partitions against the HATS catalogue on a Dask
cluster (``client=``: the Dask path, whose check is the sampled one); (5) a real field at RA < 24 deg (|Dec| < 10)
as a Dask DataFrame against the HATS catalogue on Dask: RA all in [0, 24], so the sample is matched (the one case
in degrees where the check reads data); (6) the Pleiades' stars given in hours, in memory against the HATS
catalogue: the case that warns. "Off" replaces the three checks (``_api.warn_if_hours``, ``_touched._warn_if_hours``,
``_touched.warn_if_hours_sampled``) with no-ops; "in check" is the time spent inside them in the "on" calls
(the figure to read on a loaded machine, where on/off of whole calls is noise), "share" its part of the call. Medians of ``--repeat`` runs; figures go to docs/benchmarks.md.

    .venv/bin/python bench/crossmatch_hours.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import astropy.units as u
import numpy as np


#: Seconds spent inside the checks during the current call.
SPENT = [0.0]


def _timed(fn):
    def timed(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            SPENT[0] += time.perf_counter() - t0
    return timed


@contextmanager
def _checks(on: bool):
    from platform_lib.crossmatch import _api, _touched

    saved = _api.warn_if_hours, _touched._warn_if_hours, _touched.warn_if_hours_sampled
    if not on:
        _api.warn_if_hours = lambda *a, **k: False
        _touched._warn_if_hours = lambda *a, **k: None
        _touched.warn_if_hours_sampled = lambda *a, **k: False
    else:
        _api.warn_if_hours, _touched._warn_if_hours, _touched.warn_if_hours_sampled = (_timed(f) for f in saved)
    try:
        yield
    finally:
        _api.warn_if_hours, _touched._warn_if_hours, _touched.warn_if_hours_sampled = saved


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    import dask.dataframe as dd
    import pandas as pd
    from astropy.table import Table
    from distributed import Client, LocalCluster

    from platform_lib.catalogs import write_hats
    from platform_lib.crossmatch import crossmatch
    from platform_lib.sampledata import hipparcos_table, openngc_table

    full = hipparcos_table()
    hip = Table({"HIP": np.asarray(full["HIP"]), "ra": np.asarray(full["ra"]), "dec": np.asarray(full["dec"])})
    ngc = openngc_table()
    ocl = ngc[np.asarray(ngc["type"]) == "OCl"]
    clusters = Table({"name": np.asarray(ocl["name"]).astype(str), "ra": np.asarray(ocl["ra"], dtype=float),
                      "dec": np.asarray(ocl["dec"], dtype=float)})
    field = hip[(np.abs(hip["dec"]) < 10) & (hip["ra"] < 24)]
    pleiades = hip[(hip["ra"] > 55.5) & (hip["ra"] < 58.5) & (hip["dec"] > 23) & (hip["dec"] < 25.5)]
    in_hours = Table({"ra": np.asarray(pleiades["ra"]) / 15, "dec": np.asarray(pleiades["dec"])})
    with tempfile.TemporaryDirectory() as tmp, LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                                          dashboard_address=None) as cluster, Client(cluster) as client:
        cat = Path(tmp) / "hip"
        write_hats(hip.to_pandas(), cat, name="hip", ra_column="ra", dec_column="dec", partition_rows=2000)
        cases = {
            "1 Hipparcos vs itself, in memory": lambda: crossmatch(hip, hip, 1 * u.arcsec),
            "2 open clusters vs HATS, touched": lambda: crossmatch(clusters, cat, 30 * u.arcsec),
            "3 Hipparcos vs HATS, touched": lambda: crossmatch(hip, cat, 1 * u.arcsec),
            "4 Hipparcos Dask DataFrame vs HATS, Dask": lambda: crossmatch(
                dd.from_pandas(hip.to_pandas(), npartitions=4), cat, 1 * u.arcsec, client=client),
            "5 field RA<24 deg Dask DataFrame vs HATS, Dask": lambda: crossmatch(
                dd.from_pandas(field.to_pandas(), npartitions=4), cat, 1 * u.arcsec, client=client),
            "6 Pleiades in hours vs HATS, touched (warns)": lambda: crossmatch(in_hours, cat, 1 * u.arcsec),
        }
        for fn in cases.values():  # warm: numba kernels, imports, the cluster
            fn()
        times = {(name, on): [] for name in cases for on in (True, False)}
        spent = {name: [] for name in cases}
        for _ in range(args.repeat):
            for name, fn in cases.items():
                for on in (True, False):
                    with _checks(on):
                        SPENT[0] = 0.0
                        t0 = time.perf_counter()
                        fn()
                        times[(name, on)].append(time.perf_counter() - t0)
                        if on:
                            spent[name].append(SPENT[0])
    print(f"{'case':50s} {'check on s':>11s} {'off s':>8s} {'on/off':>7s} {'in check s':>11s} {'share':>6s}")
    for name in cases:
        on, off = statistics.median(times[(name, True)]), statistics.median(times[(name, False)])
        share = statistics.median(c / t for c, t in zip(spent[name], times[(name, True)]))
        print(f"{name:50s} {on:11.3f} {off:8.3f} {on / off:7.3f} {statistics.median(spent[name]):11.4f} "
              f"{100 * share:5.1f}%")


if __name__ == "__main__":
    main()
