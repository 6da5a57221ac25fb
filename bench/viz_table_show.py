"""Benchmark: ``viz.show(table)`` of a 10^6-row catalogue, from the call to the HiPS ready to send, against
peers in the same run.

Usage: ``.venv/bin/python bench/viz_table_show.py [--rows N]`` (default 10^6).

The table is real data: Hipparcos (``I/311``, 117,955 stars, the largest catalogue the platform ships), then
copies of it moved by about 1 deg (Gaussian) and dimmed by 2 mag per copy, to ``N`` rows (no catalogue of 10^6
rows ships with the platform or its packages). Timed, each the best of ``--repeat`` runs:

- ``show``: ``viz.show(table, color="B_V")`` as a user calls it, with the archive replaced by a stand-in that
  packs the HiPS as ``viz.upload_hips`` does (the gzipped tar) and keeps nothing: the kernel's part, the
  build and the packing (the POST to the archive on the same machine added 1-3 s on the running platform);
- peers: the static figure of the same table (``viz.plot``, an all-sky density image, to PNG), and the
  5,000 most representative rows (``hips=False``: what ``viz.show`` sent before, never every source).

Prints the seconds and the ratios; the figures are in ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import io
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np


def catalogue(rows: int):
    """Hipparcos, then copies moved by ~1 deg and dimmed by 2 mag per copy, to ``rows`` rows."""
    from platform_lib.sampledata._sources import hipparcos_table

    hip = hipparcos_table()
    rng = np.random.default_rng(1)
    reps = -(-rows // len(hip))
    copy = np.repeat(np.arange(reps), len(hip))[:rows]
    big = hip[np.tile(np.arange(len(hip)), reps)[:rows]]
    ra, dec = np.asarray(big["ra"], float), np.asarray(big["dec"], float)
    moved = copy > 0
    dec2 = dec + moved * rng.normal(0, 1.0, rows)
    big["dec"] = np.where(dec2 > 90, 180 - dec2, np.where(dec2 < -90, -180 - dec2, dec2))
    big["ra"] = (ra + moved * rng.normal(0, 1.0, rows) / np.maximum(np.cos(np.radians(dec)), 0.05)) % 360
    big["Hpmag"] = np.asarray(big["Hpmag"], float) + 2.0 * copy
    big["HIP"] = np.arange(rows)
    return big


def stand_in_archive(work: Path) -> dict:
    """Replace the archive in ``viz._publish``: the HiPS is packed as ``upload_hips`` packs it, then dropped."""
    from platform_lib.viz import _publish

    packed = {}

    def upload(path, *, title="", settings=None):
        t = time.perf_counter()
        with tempfile.NamedTemporaryFile(dir=work) as body:
            with tarfile.open(fileobj=body, mode="w:gz", compresslevel=1) as tar:
                for item in sorted(Path(path).rglob("*")):
                    if item.is_file():
                        tar.add(item, arcname=str(item.relative_to(path)), recursive=False)
            packed.update(seconds=time.perf_counter() - t, bytes=body.tell())
        return {"url": "/services/archive/hips/~/bench/"}

    _publish._service = lambda settings=None: ("http://archive/hips/~/", None)
    _publish.my_hips = lambda settings=None: []
    _publish.upload_hips = upload
    return packed


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    from platform_lib import viz

    table = catalogue(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        packed = stand_in_archive(Path(tmp))
        viz.show(table[:20_000], name="warm", color="B_V")  # imports and first calls, not timed
        viz.plot(table[:20_000]).savefig(io.BytesIO(), format="png")
        show = best(lambda: viz.show(table, name="big", color="B_V"), args.repeat)
        plot = best(lambda: viz.plot(table, color="tab:orange").savefig(io.BytesIO(), format="png"), args.repeat)
        cut = best(lambda: viz.show(table, name="cut", color="B_V", hips=False), args.repeat)
    print(f"rows: {args.rows:,}")
    print(f"viz.show(table) -> HiPS ready to send: {show:.1f} s (of which packing {packed['seconds']:.1f} s, "
          f"{packed['bytes'] / 2**20:.0f} MiB gzipped)")
    print(f"peer viz.plot(table) to PNG: {plot:.1f} s   ratio {show / plot:.1f}")
    print(f"peer viz.show(table, hips=False), 5,000 rows: {cut:.1f} s   ratio {show / cut:.1f}")


if __name__ == "__main__":
    main()
