"""Benchmark: ``viz.show(table)`` of a 10^6-row catalogue, from the call to the HiPS kept on the archive, against
the previous code path and peers in the same run.

Usage: ``.venv/bin/python bench/viz_table_show.py [--rows N] [--repeat R]`` (default 10^6 rows, best of 2).

The table is real data: Hipparcos (``I/311``, 117,955 stars, the largest catalogue the platform ships), then
copies of it moved by about 1 deg (Gaussian) and dimmed by 2 mag per copy, to ``N`` rows (no catalogue of 10^6
rows ships with the platform or its packages). Timed, each the best of ``--repeat`` runs:

- ``show``: ``viz.show(table, color="B_V")`` as a user calls it, with the archive replaced by a stand-in HTTP
  server on this machine (``PLATFORM_ARCHIVE_URL``) that lists no HiPS of the user's and keeps each upload with
  the archive's own code (``UserHipsStore.add``: unpacked, every tile checked): the kernel's part (the build,
  the packing, reported apart, and the POST) and the archive's (reported apart);
- ``before``: the same call with the code path before viz14 (session 14) put back for the run (:func:`old_path`:
  the gzipped tar written by ``tarfile.add``, ``Table.to_pandas``, the DataFrame of ``_clean_frame``, the TSV
  check line by line in Python), run alternately with ``show`` in the same process; besides the wall-clock
  seconds, the CPU seconds of the process (the kernel's part and the stand-in archive's), steadier than the
  wall clock on a shared machine;
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
    no HiPS, ``POST hips/~/`` reads the upload (its size in ``bytes``), keeps it as the archive does
    (``UserHipsStore.add``; its seconds in ``archive``) and answers its record."""
    import tempfile
    from pathlib import Path

    from astrohub_archive.userhips import UserHipsStore

    spools = Path(tempfile.mkdtemp(prefix="bench-hips-"))
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
            received["bytes"] = left
            with tempfile.NamedTemporaryFile(dir=spools) as spool:
                while left > 0:
                    chunk = self.rfile.read(min(left, 1 << 20))
                    spool.write(chunk)
                    left -= len(chunk)
                spool.flush()
                start = time.perf_counter()
                record = store.add("bench", "bench", Path(spool.name))
                received["archive"] = time.perf_counter() - start
            store.delete("bench", record["name"])
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
    """The code path before viz14, put back for the ``with`` block: the upload a gzipped tar (level 1) written by
    ``tarfile.add``, the table to pandas by ``Table.to_pandas``, to Arrow through a new DataFrame, and each TSV
    tile checked by the archive line by line in Python."""
    import pandas as pd
    import pyarrow as pa

    from platform_lib.viz import _build, _hips, _publish
    from platform_lib.viz._errors import HipsError

    def pack(root, body):
        with tarfile.open(fileobj=body, mode="w:gz", compresslevel=1) as tar:
            for item in sorted(root.rglob("*")):
                if item.is_file():
                    tar.add(item, arcname=str(item.relative_to(root)), recursive=False)

    def clean_frame(frame, ra, dec):
        out = {}
        for name in frame.columns:
            col = frame[name]
            if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
                col = col.astype("string").str.replace(r'[\t\r\n"]', " ", regex=True)
            out[str(name)] = col
        return pa.Table.from_pandas(pd.DataFrame(out), preserve_index=False)

    def check_tsv(tile):
        lines = tile.read_text(encoding="utf-8").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if len(lines) < 3 or not set(lines[1].replace("\t", "")) <= {"-"}:
            raise HipsError(f"{tile} is not a HiPS TSV tile (names, dashes, then rows)", value=str(tile))
        width = len(lines[0].split("\t"))
        for i, line in enumerate(lines[2:], start=3):
            if len(line.split("\t")) != width:
                raise HipsError(f"{tile} line {i} has too many or too few fields", value=str(tile))
        return len(lines) - 2

    patches = [(_publish, "_pack", pack), (_build, "_table_frame", lambda table: table.to_pandas()),
               (_hips, "_clean_frame", clean_frame), (_hips, "_check_tsv", check_tsv)]
    saved = [(module, name, getattr(module, name)) for module, name, _ in patches]
    try:
        for module, name, value in patches:
            setattr(module, name, value)
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)


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
    for _ in range(args.repeat):  # alternately, so that both meet the same load
        for what in ("before", "show"):
            packing["seconds"] = 0.0
            with old_path() if what == "before" else contextlib.nullcontext(), timed_packing(packing):
                cpu = time.process_time()
                seconds = best_of(lambda: viz.show(table, name="big", color="B_V"), 1)[0]
                cpu = time.process_time() - cpu
            runs[what].append((seconds, packing["seconds"], received["archive"], received["bytes"], cpu))
    show, before = min(runs["show"]), min(runs["before"])
    cpu_show, cpu_before = min(r[4] for r in runs["show"]), min(r[4] for r in runs["before"])
    plot = best_of(lambda: viz.plot(table, color="tab:orange").savefig(io.BytesIO(), format="png"), args.repeat)[0]
    cut = best_of(lambda: viz.show(table, name="cut", color="B_V", hips=False), args.repeat)[0]
    print(f"rows: {args.rows:,}")
    for name, (seconds, packed, archive, sent, _) in (("viz.show(table)", show), ("before (old path)", before)):
        print(f"{name} -> HiPS kept on the archive: {seconds:.1f} s (of which packing {packed:.1f} s, "
              f"{sent / 2**20:.0f} MiB sent; the archive's unpacking and check {archive:.1f} s)")
    print(f"all runs (s, packing, archive, bytes, CPU s): {json.dumps(runs)}")
    print(f"ratio viz.show(table) / before: {show[0] / before[0]:.2f} (wall), {cpu_show / cpu_before:.2f} "
          f"(CPU seconds of this process, kernel and stand-in archive: {cpu_show:.1f} / {cpu_before:.1f})")
    print(f"peer viz.plot(table) to PNG: {plot:.1f} s   ratio {show[0] / plot:.1f}")
    print(f"peer viz.show(table, hips=False), 5,000 rows: {cut:.1f} s   ratio {show[0] / cut:.1f}")


if __name__ == "__main__":
    main()
