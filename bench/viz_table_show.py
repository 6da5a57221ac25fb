"""Benchmark: ``viz.show(table)`` of a 10^6-row catalogue, from the call to the HiPS sent, against
peers in the same run.

Usage: ``.venv/bin/python bench/viz_table_show.py [--rows N]`` (default 10^6).

The table is real data: Hipparcos (``I/311``, 117,955 stars, the largest catalogue the platform ships), then
copies of it moved by about 1 deg (Gaussian) and dimmed by 2 mag per copy, to ``N`` rows (no catalogue of 10^6
rows ships with the platform or its packages). Timed, each the best of ``--repeat`` runs:

- ``show``: ``viz.show(table, color="B_V")`` as a user calls it, with the archive replaced by a stand-in HTTP
  server on this machine (``PLATFORM_ARCHIVE_URL``) that lists no HiPS of the user's and reads each upload,
  keeping nothing: the kernel's part, the build, the packing (the time in ``tarfile``, reported apart) and
  the POST to the stand-in (the POST to the real archive on the same machine added 1-3 s on the running
  platform, where the archive also unpacks it);
- peers: the static figure of the same table (``viz.plot``, an all-sky density image, to PNG), and the
  5,000 most representative rows (``hips=False``: what ``viz.show`` sent before, never every source).

Prints the seconds and the ratios; the figures are in ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import tarfile
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
    no HiPS, ``POST hips/~/`` reads the upload (its size in ``bytes``) and answers its URL path."""
    received: dict = {}

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
            received["bytes"] = left
            while left > 0:
                left -= len(self.rfile.read(min(left, 1 << 20)))
            self._json({"name": "bench", "url": "/services/archive/hips/~/bench/"})

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Archive)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ["PLATFORM_ARCHIVE_URL"] = f"http://127.0.0.1:{server.server_port}/"
    os.environ["PLATFORM_API_TOKEN"] = "bench"
    return received


def time_in_tarfile() -> dict:
    """Count the seconds spent in ``tarfile.TarFile.add`` and ``close`` (``seconds``): the packing of an upload,
    which writes the gzipped tar through them."""
    spent = {"seconds": 0.0}

    def timed(fn):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent["seconds"] += time.perf_counter() - start
        return wrapper

    tarfile.TarFile.add = timed(tarfile.TarFile.add)
    tarfile.TarFile.close = timed(tarfile.TarFile.close)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    from platform_lib import viz

    table = catalogue(args.rows)
    received = stand_in_archive()
    packing = time_in_tarfile()
    viz.show(table[:20_000], name="warm", color="B_V")  # imports and first calls, not timed
    viz.plot(table[:20_000]).savefig(io.BytesIO(), format="png")

    def show_big():
        packing["seconds"] = 0.0
        viz.show(table, name="big", color="B_V")

    show = best_of(show_big, args.repeat)[0]
    packed = dict(packing, bytes=received["bytes"])  # the last call's
    plot = best_of(lambda: viz.plot(table, color="tab:orange").savefig(io.BytesIO(), format="png"), args.repeat)[0]
    cut = best_of(lambda: viz.show(table, name="cut", color="B_V", hips=False), args.repeat)[0]
    print(f"rows: {args.rows:,}")
    print(f"viz.show(table) -> HiPS sent: {show:.1f} s (of which packing {packed['seconds']:.1f} s, "
          f"{packed['bytes'] / 2**20:.0f} MiB gzipped)")
    print(f"peer viz.plot(table) to PNG: {plot:.1f} s   ratio {show / plot:.1f}")
    print(f"peer viz.show(table, hips=False), 5,000 rows: {cut:.1f} s   ratio {show / cut:.1f}")


if __name__ == "__main__":
    main()
