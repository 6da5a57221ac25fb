"""Benchmark: HiPS catalogue build of a large catalogue, and HiPS tile serving under concurrent clients.

Usage: ``.venv/bin/python bench/viz_hips.py [--rows N] [--clients C] [--requests R]``
(default 10^7 rows, 20 clients, 4000 requests).

Build: a synthetic HATS catalogue (id, ra, dec, mag; written once with lsdb) is turned into a HiPS
catalogue by ``platform_lib.viz.build_catalog_hips`` (Dask reads the partitions, then the level-of-detail
plan and the TSV tiles). Peer in the same run: the time to read the same columns with
``lsdb.open_catalog(...).compute()`` alone (the floor any HATS-based builder pays), and rows per second
per core against the published anchor (691 million rows in 28 min on 160 threads, ~2,600 rows/s/thread).

Serving: the archive's HiPS route (``astrohub_archive.hips``) in a real Tornado server on a free port,
``C`` threads each fetching random existing tiles and missing ones (404) over keep-alive HTTP; p50/p99
latency, against the same server's tiny static ``properties`` file as the peer.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np


def synthetic(n: int, seed: int = 0):
    import pandas as pd

    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "id": np.arange(n, dtype=np.int64),
        "ra": rng.uniform(0, 360, n),
        "dec": np.degrees(np.arcsin(rng.uniform(-1, 1, n))),
        "mag": rng.normal(18, 2, n).astype(np.float32),
    })


def build(rows: int, work: Path) -> dict:
    import lsdb

    from platform_lib.viz import build_catalog_hips, validate_hips

    hats = work / "hats"
    t = time.perf_counter()
    lsdb.from_dataframe(synthetic(rows), ra_column="ra", dec_column="dec", catalog_name="synthetic",
                        partition_rows=1_000_000).write_catalog(hats)
    made = time.perf_counter() - t
    t = time.perf_counter()
    lsdb.open_catalog(hats, columns=["ra", "dec", "mag", "id"]).compute()
    read = time.perf_counter() - t
    t = time.perf_counter()
    dest = build_catalog_hips(hats, work / "hips", magnitude="mag")
    built = time.perf_counter() - t
    report = validate_hips(dest)
    assert report.rows == rows, report
    cores = os.cpu_count() or 1
    return {"rows": rows, "hats_write_s": made, "read_s": read, "build_s": built, "tiles": report.tiles,
            "orders": report.orders, "rows_per_s_per_core": rows / built / cores, "cores": cores,
            "hips": dest}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVER = r"""
import sys, asyncio, logging, tornado.web
logging.getLogger("tornado.access").setLevel(logging.ERROR)
from pathlib import Path
from astrohub_archive.hips import HipsLibrary, hips_routes
class S: pass
state = S(); state.prefix = "/"; state.data_root = Path(sys.argv[2]) / "images"; state.registry_path = None
import os; os.environ["ASTROHUB_ARCHIVE_HIPS"] = sys.argv[2]
app = tornado.web.Application(hips_routes("/", state))
async def main():
    app.listen(int(sys.argv[1]), address="127.0.0.1")
    await asyncio.Event().wait()
asyncio.run(main())
"""


def serve(hips: Path, clients: int, requests_total: int) -> dict:
    import requests

    port = _free_port()
    root = hips.parent
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(root)])
    base = f"http://127.0.0.1:{port}/hips/{hips.name}/"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(base + "properties", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        tiles = [str(p.relative_to(hips)) for p in hips.rglob("Npix*.tsv")]
        missing = [f"Norder3/Dir0/Npix{p}.tsv" for p in range(768) if not (hips / f"Norder3/Dir0/Npix{p}.tsv").exists()]
        missing = missing or ["Norder9/Dir0/Npix1.tsv"]

        def run(paths: list[str]) -> list[float]:
            out: list[float] = []
            lock = threading.Lock()
            per = requests_total // clients

            def worker(seed: int) -> None:
                rng = random.Random(seed)
                s = requests.Session()
                mine = []
                for _ in range(per):
                    p = rng.choice(paths)
                    t = time.perf_counter()
                    r = s.get(base + p, timeout=10)
                    r.content
                    mine.append(time.perf_counter() - t)
                    assert r.status_code in (200, 404)
                with lock:
                    out.extend(mine)

            threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            return out

        def stats(lat):
            a = np.asarray(lat) * 1000
            return {"p50_ms": float(np.percentile(a, 50)), "p99_ms": float(np.percentile(a, 99)), "n": a.size}

        return {"tiles": stats(run(tiles)), "missing_404": stats(run(missing)), "peer_properties": stats(run(["properties"])),
                "tile_count": len(tiles)}
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--requests", type=int, default=4000)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="viz-bench-"))
    try:
        b = build(args.rows, work)
        print(f"HiPS catalogue of {b['rows']:,d} rows: {b['build_s']:.1f} s ({b['tiles']} tiles, orders {b['orders']}); "
              f"reading the same columns with lsdb alone: {b['read_s']:.1f} s; "
              f"{b['rows_per_s_per_core']:,.0f} rows/s/core on {b['cores']} cores "
              f"({b['rows_per_s_per_core'] / 2600:.0f}x the anchor's 2,600 rows/s/thread)")
        s = serve(b["hips"], args.clients, args.requests)
        for k in ("tiles", "missing_404", "peer_properties"):
            v = s[k]
            print(f"serving {k:16s} {args.clients} clients, {v['n']} requests: p50 {v['p50_ms']:.2f} ms, p99 {v['p99_ms']:.2f} ms")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
