"""Benchmark: writing a TAP answer as TABLEDATA VOTable (the default format), column by column against astropy.

In one run, on the same table (N rows of Hipparcos-like columns: an integer id, fifteen doubles with NaNs and
masked cells, a short text), each written three times in turn:

- ``column-wise``: :func:`astrohub_archive.writers.render_table` as the archive runs it (``_use_fast_tabledata``);
- ``astropy``: the same call with that hook off: astropy's Python TABLEDATA writer, one converter call per cell
  (the one :mod:`platform_lib.votable` makes astropy use);
- ``binary2``: the same table as BINARY2 (column by column too), the floor.

The first two documents must be the same bytes (checked). Output: best of 3 per writer in seconds, and each as a
ratio to the column-wise writer.

Usage: ``.venv/bin/python bench/archive_tabledata.py --n 100000``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pytest


def table(n: int, seed: int = 1):
    from astropy.table import MaskedColumn, Table

    rng = np.random.default_rng(seed)
    t = Table()
    t["HIP"] = np.arange(1, n + 1, dtype=np.int64)
    for k in range(15):
        values = rng.standard_normal(n) * 10.0 ** rng.integers(-3, 4, n)
        values[rng.random(n) < 0.01] = np.nan
        t[f"x{k}"] = MaskedColumn(values, mask=rng.random(n) < 0.05)
    t["flag"] = np.array([f"f{k % 7}" for k in range(n)], dtype=object)
    return t


def best(fn, repeat: int = 3) -> tuple[float, bytes]:
    times, out = [], b""
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    from astrohub_archive import writers

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()
    t = table(args.n)

    def astropy_writer():
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(writers, "_use_fast_tabledata", lambda vtab: None)
            return writers.render_table(t, "votable")

    fast, fast_doc = best(lambda: writers.render_table(t, "votable"))
    slow, slow_doc = best(astropy_writer)
    b2, _ = best(lambda: writers.render_table(t, "votable-b2"))
    assert fast_doc == slow_doc, "the column-wise TABLEDATA differs from astropy's"
    print(f"N={args.n} rows x {len(t.colnames)} columns, {len(fast_doc) / 2**20:.1f} MiB of TABLEDATA")
    for name, secs in (("column-wise", fast), ("astropy", slow), ("binary2", b2)):
        print(f"{name:12s} {secs:8.2f} s  {secs / fast:6.2f}x")


if __name__ == "__main__":
    main()
