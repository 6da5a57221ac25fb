"""Small in-memory matches on one thread against all of numba's threads (ci20).

``match_pairs`` runs a call that sorts fewer than ``_engine._ONE_THREAD_ROWS`` rows on one thread; the peer, in the
same process, is the same call with the limit set to 0 (all threads, what every call got before). Each size is
timed both ways, alternately, best of ``--repeat`` rounds of enough calls to last ~0.2 s: wall and CPU (all
threads) per call, and their ratios (one thread / all threads: below 1 is a gain). Sizes at and above the limit
show that a large match still takes every thread (ratio ~1: the same code path). Figures in docs/benchmarks.md.

    .venv/bin/python bench/crossmatch_one_thread.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import time

import astropy.units as u
import numba
import numpy as np

from platform_lib.crossmatch import _engine

LIMIT = _engine._ONE_THREAD_ROWS


def sides(rows: int, seed: int = 3):
    """Two sides of ``rows // 2`` positions each, ~1 pair per left row at 2"."""
    rng = np.random.default_rng(seed)
    n = rows // 2
    span = np.sqrt(n * np.pi * (2 / 3600) ** 2)  # a square patch with ~1 right row within 2" of each left one
    a = rng.uniform(0, span, (2, n))
    return a, a + rng.normal(0, 1 / 3600, (2, n))


def per_call(fn, calls: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - wall) / calls, (time.process_time() - cpu) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"numba threads {numba.get_num_threads()}, "
          f"limit {LIMIT} rows, load {os.getloadavg()[0]:.1f}")
    print("rows sorted | one-thread wall / CPU ms | all-threads wall / CPU ms | ratio wall | ratio CPU")
    for rows in (1_000, 10_000, 50_000, 99_000, 200_000, 1_000_000):
        (l1, l2), (r1, r2) = sides(rows)
        call = lambda: _engine.match_pairs(l1, l2, r1, r2, 2 * u.arcsec)  # noqa: E731
        call()
        start = time.perf_counter()
        call()
        calls = max(1, int(0.2 / max(time.perf_counter() - start, 1e-5)))
        best = {"one": (np.inf, np.inf), "all": (np.inf, np.inf)}
        for _ in range(args.repeat):
            for mode, limit in (("one", LIMIT), ("all", 0)):
                _engine._ONE_THREAD_ROWS = limit
                wall, cpu = per_call(call, calls)
                best[mode] = (min(best[mode][0], wall), min(best[mode][1], cpu))
        _engine._ONE_THREAD_ROWS = LIMIT
        (ow, oc), (aw, ac) = best["one"], best["all"]
        print(f"{rows:>11} | {ow * 1e3:8.3f} / {oc * 1e3:8.3f} | {aw * 1e3:8.3f} / {ac * 1e3:8.3f} | "
              f"{ow / aw:10.2f} | {oc / ac:9.2f}")
    print(f"load {os.getloadavg()[0]:.1f}; threading layer {numba.threading_layer()}")


if __name__ == "__main__":
    main()
