"""Benchmark: HiPS catalogue build of a large catalogue, and HiPS tile serving under concurrent clients.

Usage: ``.venv/bin/python bench/viz_hips.py [--rows N] [--clients C] [--requests R]``
(default 10^7 rows, 20 clients, 4000 requests).

Build: a synthetic HATS catalogue (id, ra, dec, mag; written once with lsdb) is turned into a HiPS
catalogue by ``platform_lib.viz.build_catalog_hips``, computed per HATS partition by Dask: once with
the threaded scheduler in this process and once on a ``distributed.LocalCluster`` (``--workers``
worker processes, one thread each). Peers in the same run: the single-process build it replaced (the
whole catalogue read with ``lsdb.open_catalog(...).compute()``, then ``write_catalog_hips``), the
read alone (the floor any HATS-based builder pays), and rows per second per core against the published
anchor (691 million rows in 28 min on 160 threads, ~2,600 rows/s/thread). ``--build-only`` skips serving.

Serving: the real ``astrohub-archive`` command (its settings, logging and routes; ``--server archive``,
the default) or its HiPS routes alone in 1 or 2 Tornado processes sharing the port (``--server routes
--processes 1,2``), on a free port; ``C`` keep-alive clients fetch random existing tiles, then missing ones
(404), asking for gzip as a browser does; p50/p99 latency against the same server's tiny ``properties``
file as the peer, and the server's own CPU per request (``/proc``). Two load generators, each reporting
its own CPU per request: ``wrk`` (C, Debian package ``wrk``: ``apt-get install wrk``; skipped when absent)
and ``C`` Python threads in this process. ``--hips DIR`` serves a HiPS built before (no build).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from synthetic import catalogue


def _warm() -> None:
    import lsdb  # noqa: F401

    import platform_lib.viz  # noqa: F401  (its per-partition builder is imported on first use: a few ms)


def build(rows: int, work: Path, workers: int = 2) -> dict:
    import distributed
    import lsdb

    from platform_lib.viz import CatalogHipsSpec, build_catalog_hips, validate_hips, write_catalog_hips

    hats = work / "hats"
    t = time.perf_counter()
    lsdb.from_dataframe(catalogue(rows), ra_column="ra", dec_column="dec", catalog_name="synthetic",
                        partition_rows=1_000_000).write_catalog(hats)
    made = time.perf_counter() - t
    t = time.perf_counter()
    frame = lsdb.open_catalog(hats, columns=["ra", "dec", "mag", "id"]).compute()
    read = time.perf_counter() - t
    ipix = frame.index.to_numpy().astype(np.int64)
    write_catalog_hips(frame.reset_index(drop=True), work / "hips-one", CatalogHipsSpec("synthetic"), ra="ra",
                       dec="dec", magnitude="mag", ipix29=ipix)
    one = time.perf_counter() - t  # the single-process build (peer), reading included
    del frame, ipix
    shutil.rmtree(work / "hips-one")
    t = time.perf_counter()
    dest = build_catalog_hips(hats, work / "hips", magnitude="mag", client=None)
    built = time.perf_counter() - t
    report = validate_hips(dest)
    assert report.rows == rows, report
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        client.run(_warm)  # the workers import what the build runs, as a user's cluster in use has
        t = time.perf_counter()
        build_catalog_hips(hats, work / "hips-cluster", magnitude="mag", client=client)
        on_cluster = time.perf_counter() - t
    assert validate_hips(work / "hips-cluster").tiles == report.tiles
    shutil.rmtree(work / "hips-cluster")
    cores = os.cpu_count() or 1
    return {"rows": rows, "hats_write_s": made, "read_s": read, "single_process_s": one, "build_s": built,
            "cluster_s": on_cluster, "workers": workers, "tiles": report.tiles, "orders": report.orders,
            "rows_per_s_per_core": rows / built / cores, "cores": cores, "hips": dest,
            "load": os.getloadavg()[0]}


def _free_port() -> int:
    from platform_lib.local.ports import free_ports

    return free_ports(1)[0]  # held for this run, outside the kernel's ephemeral range (not bound to 0 and let go)


# The archive's HiPS routes alone, in ``processes`` Tornado processes sharing the port (SO_REUSEPORT).
SERVER = r"""
import sys, os, asyncio, logging
logging.getLogger("tornado.access").setLevel(logging.ERROR)
from pathlib import Path
import tornado.httpserver, tornado.netutil, tornado.process, tornado.web
port, root, processes = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
sockets = tornado.netutil.bind_sockets(port, "127.0.0.1", reuse_port=True)
if processes > 1:
    tornado.process.fork_processes(processes, max_restarts=0)
from astrohub_archive.hips import hips_routes
class S: pass
state = S(); state.prefix = "/"; state.data_root = Path(root) / "images"; state.registry_path = None
os.environ["ASTROHUB_ARCHIVE_HIPS"] = root
async def main():
    server = tornado.httpserver.HTTPServer(tornado.web.Application(hips_routes("/", state)))
    server.add_sockets(sockets)
    await asyncio.Event().wait()
asyncio.run(main())
"""

WRK_SCRIPT = """
local paths = {}
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  math.randomseed(os.time() + #paths + math.floor(os.clock() * 1e6))
end
function request() return wrk.format("GET", paths[math.random(#paths)]) end
"""

#: What a browser (Aladin Lite's fetch) sends.
BROWSER_HEADERS = {"Accept-Encoding": "gzip, deflate, br"}


def _stats(lat_s) -> dict:
    a = np.asarray(lat_s) * 1000
    return {"p50_ms": float(np.percentile(a, 50)), "p99_ms": float(np.percentile(a, 99)), "n": int(a.size)}


def python_client(base: str, paths: list[str], clients: int, requests_total: int) -> dict:
    """``clients`` threads in this process, each a keep-alive ``requests.Session``; latencies and the
    CPU seconds the client itself used per request."""
    import requests

    out: list[float] = []
    lock = threading.Lock()
    per = max(1, requests_total // clients)

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        s = requests.Session()
        s.headers.update(BROWSER_HEADERS)
        mine = []
        for _ in range(per):
            t = time.perf_counter()
            r = s.get(base + rng.choice(paths), timeout=10)
            r.content
            mine.append(time.perf_counter() - t)
            assert r.status_code in (200, 404)
        with lock:
            out.extend(mine)

    cpu = time.process_time()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return {**_stats(out), "client_cpu_ms_per_request": (time.process_time() - cpu) * 1000 / len(out)}


def wrk_client(base: str, paths: list[str], clients: int, seconds: float, work: Path) -> dict:
    """``wrk`` (C, Debian ``wrk``; epoll, 2 threads) with ``clients`` keep-alive connections for
    ``seconds``; its latency percentiles and its own CPU seconds per request."""
    import re
    import resource

    (work / "paths.lua").write_text(WRK_SCRIPT)
    listing = work / "paths.txt"
    listing.write_text("".join(urlpath(base) + p + "\n" for p in paths))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(["wrk", "-t2", f"-c{clients}", f"-d{seconds:.0f}s", "--latency",
                          *[a for k, v in BROWSER_HEADERS.items() for a in ("-H", f"{k}: {v}")],
                          "-s", str(work / "paths.lua"), base.split("/hips/")[0], "--", str(listing)],
                         capture_output=True, text=True, check=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)

    def ms(label: str) -> float:
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]

    n = int(re.search(r"(\d+) requests in", out).group(1))
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return {"p50_ms": ms("50"), "p99_ms": ms("99"), "n": n, "rps": n / seconds,
            "client_cpu_ms_per_request": cpu * 1000 / max(n, 1)}


def server_cpu_s(pgid: int) -> tuple[float, float]:
    """``(CPU seconds, seconds waiting for a CPU)`` of the processes of the process group ``pgid`` (the
    server), from /proc: user + system time, and the time its threads were runnable but not running
    (``schedstat``: on a shared machine, what the other processes cost the server)."""
    tick = os.sysconf("SC_CLK_TCK")
    cpu = wait = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:  # fields after the name: state, ppid, pgrp, ..., utime (12), stime (13)
                continue
            cpu += int(fields[11]) + int(fields[12])
            for task in os.listdir(f"/proc/{entry}/task"):
                wait += int(Path(f"/proc/{entry}/task/{task}/schedstat").read_text().split()[1])
        except (OSError, ValueError):  # a process or thread that ended meanwhile
            continue
    return cpu / tick, wait / 1e9


def start_server(kind: str, root: Path, port: int, processes: int, work: Path) -> subprocess.Popen:
    """The server under test, in a session (process group) of its own; ``work``: the archive's index and log."""
    if kind == "routes":
        return subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(root), str(processes)],
                                start_new_session=True)
    if processes != 1:
        raise SystemExit("--server archive runs one process (the archive's own); use --server routes to compare")
    from platform_lib.imageindex import build_index

    (work / "images").mkdir(parents=True, exist_ok=True)
    if not (work / "index.sqlite").exists():
        build_index(work / "index.sqlite", work / "images", workers=1)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTERHUB_", "ASTROHUB_ARCHIVE_"))}
    with open(work / "archive.log", "ab") as log:
        return subprocess.Popen([str(Path(sys.executable).with_name("astrohub-archive")), "--port", str(port),
                                 "--index", str(work / "index.sqlite"), "--data-root", str(work / "images"),
                                 "--hips", str(root), "--update-every", "0"],
                                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def settled(log: Path, deadline: float) -> None:
    """Wait until the archive's start-up threads are done (their lines in its log): measured while they
    run, the figures would be those of its first seconds (a full garbage collection, a numba compile)."""
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if "start-up objects" in text and "crossmatch kernel" in text:
            return
        time.sleep(0.2)  # polling interval, bounded by the deadline
    raise SystemExit(f"the archive did not settle: {log.read_text(errors='replace')[-2000:]}")


def urlpath(base: str) -> str:
    return "/" + base.split("://", 1)[1].split("/", 1)[1]


def serve(hips: Path, clients: int, requests_total: int, *, processes: int = 1, client: str = "python",
          seconds: float = 6.0, server: str = "archive") -> dict:
    """Tiles, missing tiles (404) and the peer (the 300-byte ``properties``), one after the other, from
    ``server`` (``archive`` or ``routes`` in ``processes`` processes), with the ``client`` load generator
    (``python`` or ``wrk``)."""
    import requests

    port = _free_port()
    root = hips.parent
    scratch = Path(tempfile.mkdtemp(prefix="viz-bench-archive-"))
    proc = start_server(server, root, port, processes, scratch)
    base = f"http://127.0.0.1:{port}/hips/{hips.name}/"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(base + "properties", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        if server == "archive":  # its start-up work (imports, heap freeze, kernel compile) holds the GIL
            settled(scratch / "archive.log", deadline=time.monotonic() + 180)
        tiles = [p.relative_to(hips).as_posix() for p in hips.rglob("Npix*.tsv")]
        missing = [f"Norder3/Dir0/Npix{p}.tsv" for p in range(768) if not (hips / f"Norder3/Dir0/Npix{p}.tsv").exists()]
        missing = missing or ["Norder9/Dir0/Npix1.tsv"]
        # every tile once per process first (each process has its own cache; a connection stays with one
        # process): a tile's first read and gzip are not the point
        for _ in range(4 * processes if processes > 1 else 1):
            with requests.Session() as s:
                s.headers.update(BROWSER_HEADERS)
                for p in tiles:
                    s.get(base + p, timeout=30).content
        kinds = {"tiles": tiles, "missing_404": missing, "peer_properties": ["properties"]}
        out = {"tile_count": len(tiles), "load_before": os.getloadavg()[0]}
        for kind, paths in kinds.items():
            cpu, wait = server_cpu_s(proc.pid)
            t = time.monotonic()
            if client == "wrk":
                out[kind] = wrk_client(base, paths, clients, seconds, hips.parent)
            else:
                out[kind] = python_client(base, paths, clients, requests_total)
            cpu_after, wait_after = server_cpu_s(proc.pid)
            out[kind]["server_cpu_ms_per_request"] = (cpu_after - cpu) * 1000 / out[kind]["n"]
            out[kind]["server_waiting_share"] = (wait_after - wait) / (time.monotonic() - t)
        out["load_after"] = os.getloadavg()[0]
        return out
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(30)
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes for the build")
    ap.add_argument("--build-only", action="store_true", help="measure the build, not the serving")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--seconds", type=float, default=6.0, help="each wrk run's duration")
    ap.add_argument("--server", choices=("archive", "routes"), default="archive",
                    help="the real astrohub-archive command, or its HiPS routes alone (which --processes may fork)")
    ap.add_argument("--processes", default="1", help="server process counts to compare (comma-separated; "
                                                     "more than 1 with --server routes)")
    ap.add_argument("--hips", type=Path, help="serve this HiPS folder (built before) instead of building one")
    ap.add_argument("--repeat", type=int, default=1, help="serving runs of each kind, one after the other")
    ap.add_argument("--clients-kind", default="wrk,python" if shutil.which("wrk") else "python",
                    help="load generators: wrk (Debian package wrk) and/or python threads")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="viz-bench-"))
    try:
        if args.hips is None:
            b = build(args.rows, work, args.workers)
            print(f"HiPS catalogue of {b['rows']:,d} rows (load average {b['load']:.1f}), per partition: "
                  f"{b['build_s']:.1f} s threaded here, {b['cluster_s']:.1f} s on a LocalCluster of {b['workers']} "
                  f"workers ({b['tiles']} tiles, orders {b['orders']}); peers: the single-process build "
                  f"{b['single_process_s']:.1f} s, reading the same columns with lsdb alone {b['read_s']:.1f} s; "
                  f"{b['rows_per_s_per_core']:,.0f} rows/s/core on {b['cores']} cores "
                  f"({b['rows_per_s_per_core'] / 2600:.0f}x the anchor's 2,600 rows/s/thread)")
            if args.build_only:
                return
            hips = b["hips"]
        else:  # served from a copy beside this run's work folder (the archive writes its own HiPS there)
            hips = work / "hips" / args.hips.name
            shutil.copytree(args.hips, hips)
        for _ in range(args.repeat):
            for processes in [int(p) for p in args.processes.split(",")]:
                for kind in args.clients_kind.split(","):
                    s = serve(hips, args.clients, args.requests, processes=processes, client=kind,
                              seconds=args.seconds, server=args.server)
                    print(f"server {args.server}, processes {processes}, client {kind}, load average "
                          f"{s['load_before']:.1f} -> {s['load_after']:.1f}")
                    for k in ("tiles", "missing_404", "peer_properties"):
                        v = s[k]
                        print(f"  {k:16s} {args.clients} clients, {v['n']} requests: p50 {v['p50_ms']:.2f} ms, "
                              f"p99 {v['p99_ms']:.2f} ms, p99 vs peer {v['p99_ms'] / s['peer_properties']['p99_ms']:.2f}x, "
                              f"server CPU {v['server_cpu_ms_per_request']:.3f} ms/request (waiting for a "
                              f"CPU {v['server_waiting_share']:.0%} of the time), "
                              f"client CPU {v['client_cpu_ms_per_request']:.3f} ms/request")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
