"""hats' ``align_trees`` in a fresh process: loaded from the install's numba cache against compiled on first use.

Every process that plans a margin cache (ingest) or crossmatches with lsdb (each user's crossmatch job) aligns
pixel trees with hats' numba functions, which hats compiles with no cache. A fresh Python, its
``NUMBA_CACHE_DIR`` seeded from the platform-wide cache (``astrohub kernels compile``) as a user server or the
archive seeds theirs, builds two lsdb catalogues of 500 rows each and times the job path's first alignment
(lsdb's ``align_catalogs``, then the negative tree a margin cache plans with), then the same again (warm).
"after": the catalogues come from ``crossmatch._dask.open_catalog``, which enables numba's cache on hats'
functions (``catalogs.cache_hats_kernels``); "before": from ``lsdb.from_dataframe`` directly, hats as it ships
(compiled on first use). Medians of ``--repeat`` interleaved fresh processes; figures go to docs/benchmarks.md.

    .venv/bin/python bench/hats_align_first_call.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

CODE = """
import json, time, numpy as np, pandas as pd
from lsdb.operations.functions.merge_catalog_functions import align_catalogs
rng = np.random.default_rng(1)
frames = [pd.DataFrame({{"ra": rng.uniform(0, 360, 500), "dec": rng.uniform(-60, 60, 500)}}) for _ in range(2)]
if {cached}:
    from platform_lib.crossmatch._dask import open_catalog
    left, right = (open_catalog(f, ("ra", "dec"), 5.0, s) for f, s in zip(frames, ("left", "right")))
else:
    import lsdb
    left, right = (lsdb.from_dataframe(f, ra_column="ra", dec_column="dec", margin_threshold=5.0) for f in frames)
times = []
for _ in range(2):
    t0 = time.perf_counter()
    align_catalogs(left, right)
    left.hc_structure.generate_negative_tree_pixels()
    times.append(time.perf_counter() - t0)
print("RESULT", json.dumps({{"first": times[0], "warm": times[1]}}))
"""


def _run(cached: bool) -> dict:
    from platform_lib.crossmatch import seed_cache

    with tempfile.TemporaryDirectory() as cache:
        seed_cache(cache)
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        out = subprocess.run([sys.executable, "-c", CODE.format(cached=cached)], env=env, capture_output=True,
                             text=True, check=True).stdout
    return json.loads(out.split("RESULT", 1)[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runs = {"after": [], "before": []}
    for _ in range(args.repeat):
        for name in runs:
            runs[name].append(_run(name == "after"))
    med = {name: {k: statistics.median(r[k] for r in rs) for k in ("first", "warm")} for name, rs in runs.items()}
    warm = med["after"]["warm"]
    print(f"load average {os.getloadavg()[0]:.1f}, {args.repeat} fresh processes each, medians")
    print(f"first call, seeded cache (after):      {med['after']['first']:.3f} s")
    print(f"first call, hats as shipped (before):  {med['before']['first']:.3f} s")
    print(f"warm call, same process:               {warm:.4f} s")
    print(f"before / after: {med['before']['first'] / med['after']['first']:.0f}x")


if __name__ == "__main__":
    main()
