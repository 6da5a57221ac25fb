"""A small crossmatch job on Dask, end to end: two 3,000-row HATS catalogues (96 partitions each, with
margins) matched by ``jobs.submit("crossmatch", ...)`` into a HATS result (with its margin cache), then that
result matched again into Parquet, as tests/integration/test_jobs_process.py does. Each job is its own
process and starts its own LocalCluster: one thread in the job's process for inputs this small
(``THREADS_BELOW_BYTES``), against two worker processes (the peer, forced with the dask config
``astrohub.local-cluster.threads-below-bytes=0``, what every job got before). Figures in docs/benchmarks.md.

    .venv/bin/python bench/crossmatch_small_job.py [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

FORCE_PROCESSES = "DASK_ASTROHUB__LOCAL_CLUSTER__THREADS_BELOW_BYTES"


def catalogues(home: Path) -> None:
    import lsdb

    rng = np.random.default_rng(12)
    n = 3000
    ra, dec = rng.uniform(0, 360, n), np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    for name, df in (("left", pd.DataFrame({"ra": ra, "dec": dec, "id": np.arange(n)})),
                     ("right", pd.DataFrame({"ra": (ra + 1e-4) % 360, "dec": dec, "rid": np.arange(n)}))):
        lsdb.from_dataframe(df, ra_column="ra", dec_column="dec", margin_threshold=5.0, partition_rows=150,
                            catalog_name=name).write_catalog(home / "hats" / name, progress_bar=False)


def two_jobs(home: Path, out: str) -> tuple[float, float]:
    from platform_lib import jobs
    from platform_lib.settings import get_settings

    settings = get_settings(home=home)
    t0 = time.perf_counter()
    job = jobs.submit("crossmatch", {"left": "hats/left", "right": "hats/right", "radius": "1 arcsec"},
                      settings=settings, output=out, output_format="hats")
    assert job.wait(timeout=600) == "succeeded", job.info()
    t1 = time.perf_counter()
    again = jobs.submit("crossmatch", {"left": "hats/left", "right": out, "radius": "1 arcsec"}, settings=settings)
    assert again.wait(timeout=600) == "succeeded", again.info()
    assert len(again.result()) == 3000
    return t1 - t0, time.perf_counter() - t1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        catalogues(home)
        times: dict[str, list[tuple[float, float]]] = {"threads": [], "processes": []}
        for i in range(args.repeat):
            for how in ("processes", "threads"):  # alternated, so both see the same machine
                if how == "processes":
                    os.environ[FORCE_PROCESSES] = "0"
                else:
                    os.environ.pop(FORCE_PROCESSES, None)
                times[how].append(two_jobs(home, f"out/{how}{i}.hats"))
        for how, runs in times.items():
            hats = statistics.median(r[0] for r in runs)
            parquet = statistics.median(r[1] for r in runs)
            print(f"{how:9s}  HATS-result job {hats:6.1f} s   Parquet-result job {parquet:6.1f} s   "
                  f"(median of {len(runs)})")
        ratio = sum(map(sum, times["processes"])) / sum(map(sum, times["threads"]))
        print(f"two worker processes / one thread in the job's process: {ratio:.1f}x")


if __name__ == "__main__":
    main()
