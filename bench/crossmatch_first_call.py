"""First crossmatch call in a fresh kernel against a warm call, at 10^6 rows per side (issue 16).

A fresh Jupyter kernel (started with ``jupyter_client``, as a user's server does) gets its own
``NUMBA_CACHE_DIR``, seeded from the platform-wide cache the install step compiled
(``astrohub kernels compile``) exactly as ``astrohub_server.numbacache`` seeds a user's at server
start; it imports ``platform_lib.crossmatch`` and times its first ``crossmatch`` of two 10^6-row
tables, then a second (warm) call of the same. ``--cold`` also times the first call with an empty
cache (what a user paid before: the kernel compiled on first use). Figures go to docs/benchmarks.md.
``--catalogue`` times the journey's call instead (3 rows against Hipparcos as HATS); with ``--baseline DIR``
(a ``platform_lib`` tree, e.g. ``git archive <commit> platform_lib | tar -x -C DIR``) kernels importing that
tree (``PYTHONPATH``) are timed too, interleaved with this tree's, on the same load.

    .venv/bin/python bench/crossmatch_first_call.py [--rows 1000000] [--repeat 3] [--cold]
    .venv/bin/python bench/crossmatch_first_call.py --catalogue [--baseline DIR] [--repeat 3] [--cold]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "extensions" / "server"))

CODE = """
import json, time, numpy as np, astropy.units as u
from astropy.table import Table
from platform_lib.crossmatch import crossmatch
rng = np.random.default_rng(42)
n = {rows}
ra = rng.uniform(0, 360, n); dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
a = Table({{"ra": ra, "dec": dec}}); b = Table({{"ra": (ra + 2e-4) % 360, "dec": dec}})
times = []
for _ in range(2):
    t0 = time.perf_counter(); m = crossmatch(a, b, radius=1 * u.arcsec); times.append(time.perf_counter() - t0)
print("RESULT", json.dumps({{"first": times[0], "warm": times[1], "matches": len(m)}}))
"""

#: The journey's call (first21's walk: 10 to 15 s the first time, 0.6 s after): a few rows against a catalogue.
CATALOGUE_CODE = """
import json, time
t0 = time.perf_counter()
import astropy.units as u
from astropy.table import Table
from platform_lib.crossmatch import crossmatch
t1 = time.perf_counter()
import platform_lib.crossmatch._touched
t2 = time.perf_counter()
from numba.core.registry import CPUDispatcher
a = Table({{"RA": [56.871, 56.2190, 10.0], "DEC": [24.105, 24.0534, -30.0]}})
times = []
for _ in range(2):
    t = time.perf_counter(); m = crossmatch(a, {path!r}, 3 * u.arcsec); times.append(time.perf_counter() - t)
import sys, platform_lib
found = [f for mod in list(sys.modules.values()) for f in list(vars(mod).values()) if isinstance(f, CPUDispatcher)]
print("RESULT", json.dumps({{"astropy": t1 - t0, "imports": t2 - t1, "first": times[0], "warm": times[1],
                            "matches": len(m), "lsdb": "lsdb" in sys.modules, "source": platform_lib.__file__,
                            "hits": sum(sum(f._cache_hits.values()) for f in found),
                            "misses": sum(sum(f._cache_misses.values()) for f in found)}}))
"""


def run_in_fresh_kernel(code: str, env: dict[str, str], timeout: float = 900.0, cwd: str | None = None) -> dict:
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=cwd)
    out: list[str] = []
    try:
        reply = kc.execute_interactive(code, timeout=timeout, output_hook=lambda m: out.append(
            m["content"].get("text", "") if m["msg_type"] == "stream" else ""))
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"kernel error: {reply['content'].get('evalue')}")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    line = next(l for l in "".join(out).splitlines() if l.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="also time a first call with an empty cache")
    parser.add_argument("--catalogue", action="store_true",
                        help="time a 3-row table against Hipparcos as HATS (the journey's call) instead")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="with --catalogue: also time kernels importing the platform_lib tree in this folder")
    args = parser.parse_args()
    from astrohub_server.numbacache import platform_numba_cache, seed_numba_cache

    if not any(platform_numba_cache().rglob("*.nbi")):
        sys.exit(f"no compiled kernel in {platform_numba_cache()}: run `astrohub kernels compile` first")
    if args.catalogue:
        return catalogue(args, seed_numba_cache)
    code = CODE.format(rows=args.rows)
    rows = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "NUMBA_CACHE_DIR": cache}
            seed_numba_cache(env)
            rows.append(run_in_fresh_kernel(code, env))
    first = statistics.median(r["first"] for r in rows)
    warm = statistics.median(r["warm"] for r in rows)
    print(f"{args.rows} x {args.rows} rows, {rows[0]['matches']} matches, {args.repeat} fresh kernels (medians):")
    print(f"  first call, seeded cache: {first:.2f} s   warm call: {warm:.2f} s   "
          f"difference {first - warm:.2f} s, ratio {first / warm:.2f}")
    if args.cold:
        with tempfile.TemporaryDirectory() as cache:
            cold = run_in_fresh_kernel(code, {**os.environ, "NUMBA_CACHE_DIR": cache})
        print(f"  first call, empty cache (compiles): {cold['first']:.2f} s  ({cold['first'] / warm:.1f}x warm)")
    return 0


def _seed_for_tree(cache: str, tree: Path) -> None:
    """The seeded kernels made valid for another ``platform_lib`` tree: numba files its cache under the source
    folder's path (``crossmatch_<sha1 of the folder>``) and checks the source file's time and size, so the compiled
    kernel is copied under the other folder's name and ``_engine.py`` (the same file in both trees) gets this tree's
    time."""
    import hashlib
    import shutil

    def subpath(folder: Path) -> str:
        return f"{folder.name}_{hashlib.sha1(str(folder).encode()).hexdigest()}"

    ours, theirs = REPO / "platform_lib" / "crossmatch", tree / "platform_lib" / "crossmatch"
    assert (ours / "_engine.py").read_bytes() == (theirs / "_engine.py").read_bytes(), "the kernels differ"
    stat = (ours / "_engine.py").stat()
    os.utime(theirs / "_engine.py", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    shutil.copytree(Path(cache) / subpath(ours), Path(cache) / subpath(theirs), dirs_exist_ok=True)


def catalogue(args, seed_numba_cache) -> int:
    """The ``--catalogue`` case: imports and first call split, seeded cache (and ``--cold``: empty)."""
    import lsdb
    import numpy as np
    import pandas as pd

    from platform_lib.sampledata import hipparcos_table

    hip = hipparcos_table()
    frame = pd.DataFrame({c: np.asarray(hip[c]) for c in ("HIP", "ra", "dec", "Hpmag")})
    with tempfile.TemporaryDirectory(prefix="first-call-") as root:
        path = os.path.join(root, "hip")
        lsdb.from_dataframe(frame, ra_column="ra", dec_column="dec", margin_threshold=60.0, partition_rows=2_000,
                            catalog_name="hip").write_catalog(path)
        code = CATALOGUE_CODE.format(path=path)
        trees = {"this tree": None, **({"baseline": str(args.baseline.resolve())} if args.baseline else {})}
        kinds = ("seeded", "empty") if args.cold else ("seeded",)
        runs = {(tree, kind): [] for tree in trees for kind in kinds}
        for _ in range(args.repeat):  # interleaved: the same load for every case
            for tree, where in trees.items():
                for kind in kinds:
                    with tempfile.TemporaryDirectory() as cache:
                        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
                        if where is not None:
                            env["PYTHONPATH"] = os.pathsep.join(p for p in (where, env.get("PYTHONPATH")) if p)
                        if kind == "seeded":
                            seed_numba_cache(env)
                            if where is not None:
                                _seed_for_tree(cache, Path(where))
                        # cwd: not the checkout, whose platform_lib would come first on the kernel's path
                        result = run_in_fresh_kernel(code, env, cwd=root)
                        expected = where or str(REPO)
                        assert result["source"].startswith(expected), (result["source"], expected)
                        runs[tree, kind].append(result)
    print(f"3 rows x {len(frame)} Hipparcos stars (HATS), r = 3\", {args.repeat} fresh kernels (medians), "
          f"load {os.getloadavg()[0]:.1f}:")
    for (tree, kind), rows in runs.items():
        med = {key: statistics.median(r[key] for r in rows) for key in ("astropy", "imports", "first", "warm")}
        total = med["imports"] + med["first"]
        print(f"  {tree}, {kind} cache: imports of the touched path {med['imports']:.2f} s + first call "
              f"{med['first']:.2f} s = {total:.2f} s; warm call {med['warm']:.2f} s (first/warm "
              f"{total / med['warm']:.0f}x); lsdb imported: {rows[0]['lsdb']}; numba cache hits {rows[0]['hits']}, "
              f"misses {rows[0]['misses']}; astropy beforehand {med['astropy']:.2f} s; matches {rows[0]['matches']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
