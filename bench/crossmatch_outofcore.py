"""Out-of-core crossmatch benchmark: two HATS catalogues on disk, Dask workers limited to 4 GB each.

The same synthetic catalogues as ``crossmatch_bench.py`` (A uniform on the sphere; B a 0.5" perturbed
half of A plus unrelated sources), written as Parquet chunks of 10^6 rows and imported to HATS with
hats-import as HATS collections (B with a 2" margin cache): the preparation, shared by both tools, is timed but not
counted. Then, each in a fresh process with its own ``LocalCluster(2 workers x 1 thread, 4 GB)``:

* ``astrohub``: ``platform_lib.crossmatch.crossmatch(path_a, path_b, 1 arcsec, output=path)`` (our
  own partition reader and writer around the zones kernel, ``crossmatch/_partitions.py``);
* ``lsdb``: ``lsdb.open_catalog(a).crossmatch(lsdb.open_catalog(b), radius_arcsec=1, n_neighbors=1)``
  (LSDB's alignment and KD-tree per partition pair), result written with ``write_catalog``.

End to end = open both catalogues on disk -> matched catalogue on disk, timed twice in the same
process: the first call (what a new notebook kernel or job pays: the tool's compilation and its
workers' imports) and the second (warm). Each tool's own top-level import happens before the clock
starts; "process" is the whole subprocess (interpreter start, imports, cluster start and stop).
Peak memory is the largest sum of RSS over the tool's process tree (client + workers), sampled
every 0.2 s.

    .venv/bin/python bench/crossmatch_outofcore.py                 # 10^7 per side
    .venv/bin/python bench/crossmatch_outofcore.py --rows 100000000 --cold-only  # the issue's 10^8
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from synthetic import matched_pairs

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / ".cache" / "bench_crossmatch_ooc"
CHUNK = 1_000_000


def _client(memory: str = "4GB"):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, memory_limit=memory, dashboard_address=None)
    return Client(cluster), cluster


def prepare(n: int) -> Path:
    """Parquet chunks, then HATS catalogues A and B (B with a margin cache); once per size."""
    import pandas as pd

    out = DATA / f"n{n}"
    if (out / "done.json").exists():
        return out
    shutil.rmtree(out, ignore_errors=True)
    (out / "in_a").mkdir(parents=True)
    (out / "in_b").mkdir()
    t0 = time.perf_counter()
    start = 0
    for i in range(0, n, CHUNK):
        size = min(CHUNK, n - i)
        ra1, dec1, ra2, dec2 = matched_pairs(np.random.default_rng(1000 + i // CHUNK), size)
        ids = np.arange(start, start + size, dtype=np.int64)
        pd.DataFrame({"id": ids, "ra": ra1, "dec": dec1}).to_parquet(out / "in_a" / f"part-{i // CHUNK:05d}.parquet")
        pd.DataFrame({"id": ids, "ra": ra2, "dec": dec2}).to_parquet(out / "in_b" / f"part-{i // CHUNK:05d}.parquet")
        start += size
    t_gen = time.perf_counter() - t0

    from hats_import.collection.arguments import CollectionArguments
    from hats_import.pipeline import pipeline_with_client

    client, cluster = _client()
    t0 = time.perf_counter()
    try:
        for name in ("a", "b"):
            args = CollectionArguments(output_path=out, output_artifact_name=name, progress_bar=False,
                                       tmp_dir=out / "tmp").catalog(
                input_path=out / f"in_{name}", file_reader="parquet", ra_column="ra", dec_column="dec",
                pixel_threshold=1_000_000, highest_healpix_order=10)
            if name == "b":
                args = args.add_margin(margin_threshold=2.0, is_default=True)
            pipeline_with_client(args, client)
    finally:
        client.close()
        cluster.close()
    t_import = time.perf_counter() - t0
    shutil.rmtree(out / "in_a")
    shutil.rmtree(out / "in_b")
    (out / "done.json").write_text(json.dumps({"generate_s": t_gen, "hats_import_s": t_import}))
    return out


REPEAT = int(os.environ.get("BENCH_OOC_REPEAT", "2"))


def _twice(run, out: Path) -> dict:
    """Time ``run(out)`` cold, then warm (the same process, the output removed in between);
    ``--cold-only`` skips the warm run (at 10^8 it would double LSDB's long run)."""
    times = []
    for _ in range(REPEAT):
        shutil.rmtree(out, ignore_errors=True)
        t0 = time.perf_counter()
        run(out)
        times.append(time.perf_counter() - t0)
    return {"end_to_end_s": times[0], "warm_s": times[-1] if len(times) > 1 else float("nan"), "pairs": _rows(out)}


def worker_astrohub(folder: Path) -> dict:
    import astropy.units as u

    from platform_lib.crossmatch import crossmatch

    client, cluster = _client()
    try:
        return _twice(lambda out: crossmatch(str(folder / "a"), str(folder / "b"), 1 * u.arcsec, client=client,
                                             output=out, progress=False), folder / "out_astrohub")
    finally:
        client.close()
        cluster.close()


def worker_lsdb(folder: Path) -> dict:
    import lsdb

    def run(out: Path) -> None:
        a = lsdb.open_catalog(folder / "a")
        b = lsdb.open_catalog(folder / "b")
        result = a.crossmatch(b, radius_arcsec=1.0, n_neighbors=1, suffixes=("_1", "_2"))
        with _scheduler(client):
            result.write_catalog(out, overwrite=True, progress_bar=False)

    client, cluster = _client()
    try:
        return _twice(run, folder / "out_lsdb")
    finally:
        client.close()
        cluster.close()


def _scheduler(client):
    import dask

    return dask.config.set(scheduler=client.get)


def _rows(path: Path) -> int:
    from platform_lib.catalogs import read_layout

    return int(read_layout(path).properties["hats_nrows"])


def run_tool(tool: str, folder: Path) -> dict:
    """Run one tool in a fresh process; sample the RSS of its whole process tree (client + workers)."""
    import psutil

    proc = subprocess.Popen([sys.executable, __file__, "--worker", tool, str(folder)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]

    def sample():
        root = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                procs = [root, *root.children(recursive=True)]
                peak[0] = max(peak[0], sum(p.memory_info().rss for p in procs if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.2)

    thread = threading.Thread(target=sample, daemon=True)
    t0 = time.perf_counter()
    thread.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    thread.join()
    if proc.returncode != 0:
        return {"error": err.strip().splitlines()[-1] if err.strip() else f"exit {proc.returncode}"}
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_mb"] = peak[0] / 2**20
    result["process_s"] = wall
    return result


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=10_000_000, help="rows per side (default 10^7; the issue: 10^8)")
    p.add_argument("--tools", default="astrohub,lsdb")
    p.add_argument("--cold-only", action="store_true", help="time only the first call of each tool")
    p.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        tool, folder = args.worker
        print(json.dumps(globals()[f"worker_{tool}"](Path(folder))))
        return
    print(f"machine: {os.uname().nodename} {os.uname().machine}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    folder = prepare(args.rows)
    prep = json.loads((folder / "done.json").read_text())
    print(f"{args.rows:,} rows per side; preparation (shared): generate {prep['generate_s']:.0f} s, "
          f"hats-import A + B + margin {prep['hats_import_s']:.0f} s")
    if args.cold_only:
        os.environ["BENCH_OOC_REPEAT"] = "1"  # read by the tools' subprocesses
    rows = {t: run_tool(t, folder) for t in args.tools.split(",")}
    ours = rows.get("astrohub", {}).get("end_to_end_s")
    warm = rows.get("astrohub", {}).get("warm_s")
    print(f"{'tool':10s} {'first call s':>13s} {'warm s':>8s} {'process s':>10s} {'peak MB':>9s} {'pairs':>12s} "
          f"{'first / ours':>13s} {'warm / ours':>12s}")
    for tool, r in rows.items():
        if "error" in r:
            print(f"{tool:10s} ERROR {r['error']}")
            continue
        ratio = r["end_to_end_s"] / ours if ours else float("nan")
        ratio_warm = r["warm_s"] / warm if warm == warm and warm else float("nan")
        print(f"{tool:10s} {r['end_to_end_s']:13.1f} {r['warm_s']:8.1f} {r['process_s']:10.1f} {r['peak_mb']:9.0f} "
              f"{r['pairs']:12,d} {ratio:12.2f}x {ratio_warm:11.2f}x")
    print(json.dumps({"n": args.rows, "prepare": prep, "results": rows}))


if __name__ == "__main__":
    main()
