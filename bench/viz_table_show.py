"""Benchmark: ``viz.show(table)`` of a 10^6-row catalogue, from the call to the HiPS kept on the archive, against
the previous code path and peers in the same run.

Usage: ``.venv/bin/python bench/viz_table_show.py [--rows N] [--repeat R]`` (default 10^6 rows, best of 2).

The table is real data: Hipparcos (``I/311``, 117,955 stars, the largest catalogue the platform ships), then
copies of it moved by about 1 deg (Gaussian) and dimmed by 2 mag per copy, to ``N`` rows (no catalogue of 10^6
rows ships with the platform or its packages). Timed, each the best of ``--repeat`` runs:

- ``show``: ``viz.show(table, color="B_V")`` as a user calls it, with the archive replaced by a stand-in HTTP
  server on this machine (``PLATFORM_ARCHIVE_URL``) that lists no HiPS of the user's and keeps each upload with
  the archive's own code (``UserHipsStore.add``, and ``add_rest`` for the deeper orders: unpacked, every tile
  checked): the call returns once the whole-sky orders are kept (what the view shows first), the deeper orders
  follow from a thread (``whole``: the call to the whole HiPS kept);
- ``before``: the same call with the code path before viz15b (session 15) put back for the run (:func:`old_path`:
  the deeper orders written as tile files, then packed and sent), run alternately with ``show`` in the same
  process; besides the wall-clock seconds, the CPU seconds of the process (the kernel's part and the
  stand-in archive's), steadier than the wall clock on a shared machine;
- peers: the static figure of the same table (``viz.plot``, an all-sky density image, to PNG), and the
  5,000 most representative rows (``hips=False``: never every source).

Prints the seconds and the ratios; the figures are in ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

from harness import best_of


def catalogue(rows: int):
    """Hipparcos, then copies moved by ~1 deg and dimmed by 2 mag per copy, to ``rows`` rows."""
    from platform_lib.sampledata import hipparcos_table

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


def stand_in_archive() -> dict:
    """Start the archive's stand-in (a thread) and point ``PLATFORM_ARCHIVE_URL`` at it: ``GET hips/~/`` lists
    no HiPS, ``POST hips/~/`` reads the upload (its size in ``bytes``), keeps it as the archive does
    (``UserHipsStore.add``; its seconds in ``archive``) and answers its record."""
    import tempfile
    from pathlib import Path

    from astrohub_archive.userhips import UserHipsStore

    import atexit
    import shutil

    spools = Path(tempfile.mkdtemp(prefix="bench-hips-"))
    atexit.register(shutil.rmtree, spools, ignore_errors=True)
    store = UserHipsStore(spools / "hips")
    received: dict = {"archive": 0.0}

    class Archive(BaseHTTPRequestHandler):
        def _json(self, answer: dict) -> None:
            body = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self._json({"hips": [], "used": 0, "budget": 2**40, "total_used": 0, "total_budget": 2**40,
                        "room_left": 2**40})

        def do_POST(self) -> None:  # noqa: N802
            left = int(self.headers.get("Content-Length", 0))
            received["bytes"] = received.get("bytes", 0) + left
            rest = self.path.split("?")[0].rstrip("/").endswith("/rest")
            with tempfile.NamedTemporaryFile(dir=spools) as spool:
                while left > 0:
                    chunk = self.rfile.read(min(left, 1 << 20))
                    spool.write(chunk)
                    left -= len(chunk)
                spool.flush()
                start = time.perf_counter()
                if rest:  # the deeper orders of the HiPS named before /rest
                    record = store.add_rest("bench", self.path.split("?")[0].rstrip("/").split("/")[-2], Path(spool.name))
                else:
                    record = store.add("bench", "bench", Path(spool.name))
                received["archive"] = received.get("archive", 0.0) + time.perf_counter() - start
            self._json({**record, "url": f"/services/archive/hips/~/{record['name']}/"})

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Archive)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ["PLATFORM_ARCHIVE_URL"] = f"http://127.0.0.1:{server.server_port}/"
    os.environ["PLATFORM_API_TOKEN"] = "bench"
    return received


@contextlib.contextmanager
def old_path():
    """The code path before viz15b, put back for the ``with`` block: the deeper orders written as tile files,
    then packed into a tar and sent (now their tiles go straight into the tar, ``rest_tar``)."""
    from platform_lib.viz import _build

    parts = _build.catalog_hips_parts
    _build.catalog_hips_parts = lambda *args, **kwargs: parts(*args, **{**kwargs, "rest_tar": False})
    try:
        yield
    finally:
        _build.catalog_hips_parts = parts


@contextlib.contextmanager
def timed_packing(spent: dict):
    """Add the seconds of each packing of an upload (``platform_lib.viz._publish._pack``, whichever path's is in
    place) to ``spent["seconds"]`` in the ``with`` block."""
    from platform_lib.viz import _publish

    pack = _publish._pack

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return pack(*args, **kwargs)
        finally:
            spent["seconds"] += time.perf_counter() - start

    _publish._pack = timed
    try:
        yield
    finally:
        _publish._pack = pack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    from platform_lib import viz

    table = catalogue(args.rows)
    received = stand_in_archive()
    packing = {"seconds": 0.0}
    viz.show(table[:20_000], name="warm", color="B_V")  # imports and first calls, not timed
    viz.plot(table[:20_000]).savefig(io.BytesIO(), format="png")
    runs: dict[str, list] = {"show": [], "before": []}
    for i in range(args.repeat):  # alternately, so that both meet the same load
        for what in ("before", "show"):
            packing["seconds"] = 0.0
            received.update(archive=0.0, bytes=0)
            with old_path() if what == "before" else contextlib.nullcontext(), timed_packing(packing):
                cpu = time.process_time()
                start = time.perf_counter()
                widget = viz.show(table, name=f"big{i}{what}", color="B_V")  # a new name: each run sends its HiPS
                first = time.perf_counter() - start
                widget._uploads[f"big{i}{what}"].wait()
                whole = time.perf_counter() - start
                cpu = time.process_time() - cpu
            runs[what].append((first, whole, packing["seconds"], received["archive"], received["bytes"], cpu))
    show, before = min(runs["show"]), min(runs["before"])
    cpu_show, cpu_before = min(r[5] for r in runs["show"]), min(r[5] for r in runs["before"])
    plot = best_of(lambda: viz.plot(table, color="tab:orange").savefig(io.BytesIO(), format="png"), args.repeat)[0]
    cut = best_of(lambda: viz.show(table, name="cut", color="B_V", hips=False), args.repeat)[0]
    print(f"rows: {args.rows:,}")
    for name, (first, whole, packed, archive, sent, _) in (("viz.show(table)", show), ("before (old path)", before)):
        print(f"{name}: returns, the first view's HiPS kept, in {first:.1f} s; the whole HiPS kept {whole:.1f} s "
              f"(packing {packed:.1f} s, {sent / 2**20:.0f} MiB sent; the archive's unpacking and check {archive:.1f} s)")
    print(f"all runs (first s, whole s, packing, archive, bytes, CPU s): {json.dumps(runs)}")
    print(f"ratio viz.show(table) / before: {show[0] / before[0]:.2f} (the call), {show[1] / before[1]:.2f} (the whole "
          f"HiPS), {cpu_show / cpu_before:.2f} (CPU seconds of this process: {cpu_show:.1f} / {cpu_before:.1f})")
    print(f"peer viz.plot(table) to PNG: {plot:.1f} s   ratio {show[0] / plot:.1f}")
    print(f"peer viz.show(table, hips=False), 5,000 rows: {cut:.1f} s   ratio {show[0] / cut:.1f}")


if __name__ == "__main__":
    main()
