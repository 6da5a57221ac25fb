"""Crossmatch benchmark: astrohub's kernel against astropy, LSDB and STILTS on the same catalogues.

Catalogue A: uniformly random positions on the sphere. Catalogue B: a 0.5" (Gaussian per axis)
perturbed half of A plus unrelated uniform sources, same size as A. Radius 1". Every tool runs in
its own subprocess on the same files in the same run; wall time is measured inside the worker, peak
memory (max RSS) of each worker process with ``os.wait4``.

    .venv/bin/python bench/crossmatch_bench.py            # 10^6 per side
    .venv/bin/python bench/crossmatch_bench.py --full     # 10^6 and 10^7 per side
    .venv/bin/python bench/crossmatch_bench.py --sizes 200000 --tools astrohub,astropy
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from synthetic import matched_pairs

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / ".cache" / "bench_crossmatch"
TOOLS = ("astrohub", "astropy", "lsdb", "stilts")


def make_data(n: int, seed: int = 42) -> Path:
    """Write A and B (npz for Python tools, FITS for STILTS) once per size; return the folder."""
    out = DATA / f"n{n}"
    if (out / "done").exists():
        return out
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ra1, dec1, ra2, dec2 = matched_pairs(rng, n)
    perm = rng.permutation(n)
    ra2, dec2 = ra2[perm], dec2[perm]
    np.savez(out / "cats.npz", ra1=ra1, dec1=dec1, ra2=ra2, dec2=dec2)
    from astropy.table import Table

    Table({"ra": ra1, "dec": dec1}).write(out / "a.fits", overwrite=True)
    Table({"ra": ra2, "dec": dec2}).write(out / "b.fits", overwrite=True)
    (out / "done").touch()
    return out


def _load(folder: Path):
    d = np.load(folder / "cats.npz")
    return d["ra1"], d["dec1"], d["ra2"], d["dec2"]


def worker_astrohub(folder: Path) -> dict:
    import astropy.units as u
    from astropy.table import Table

    from platform_lib.crossmatch import crossmatch
    from platform_lib.crossmatch import match_pairs

    ra1, dec1, ra2, dec2 = _load(folder)
    for k in (None, 1):  # load the numba cache of both paths
        match_pairs(ra1[:100], dec1[:100], ra2[:100], dec2[:100], 1 * u.arcsec, k=k)
    a = Table({"ra": ra1, "dec": dec1}, copy=False)
    b = Table({"ra": ra2, "dec": dec2}, copy=False)
    del ra1, dec1, ra2, dec2
    t0 = time.perf_counter()
    i1, i2, _ = match_pairs(a["ra"], a["dec"], b["ra"], b["dec"], 1 * u.arcsec)
    t_all = time.perf_counter() - t0
    n_all = i1.size
    del i1, i2, _
    t0 = time.perf_counter()
    i1, i2, _ = match_pairs(a["ra"], a["dec"], b["ra"], b["dec"], 1 * u.arcsec, k=1)
    t_match = time.perf_counter() - t0
    del i1, i2, _
    t0 = time.perf_counter()
    out = crossmatch(a, b, 1 * u.arcsec)
    t_e2e = time.perf_counter() - t0
    return {"match_s": t_match, "end_to_end_s": t_e2e, "all_pairs_s": t_all, "pairs": len(out),
            "all_pairs": int(n_all)}


def worker_astropy(folder: Path) -> dict:
    import astropy.units as u
    from astropy.coordinates import SkyCoord, search_around_sky

    ra1, dec1, ra2, dec2 = _load(folder)
    t0 = time.perf_counter()
    c1 = SkyCoord(ra1 * u.deg, dec1 * u.deg)
    c2 = SkyCoord(ra2 * u.deg, dec2 * u.deg)
    i1, i2, _, _ = search_around_sky(c1, c2, 1 * u.arcsec)
    t = time.perf_counter() - t0
    return {"match_s": t, "end_to_end_s": t, "pairs": int(i1.size)}


def worker_lsdb(folder: Path) -> dict:
    import lsdb
    import pandas as pd

    ra1, dec1, ra2, dec2 = _load(folder)
    a = pd.DataFrame({"ra": ra1, "dec": dec1})
    b = pd.DataFrame({"ra": ra2, "dec": dec2})
    del ra1, dec1, ra2, dec2
    t0 = time.perf_counter()
    ca = lsdb.from_dataframe(a, ra_column="ra", dec_column="dec", margin_threshold=None)
    cb = lsdb.from_dataframe(b, ra_column="ra", dec_column="dec", margin_threshold=1.0)
    t_part = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = ca.crossmatch(cb, radius_arcsec=1.0, n_neighbors=1).compute(progress_bar=False)
    t_match = time.perf_counter() - t0
    return {"partition_s": t_part, "match_s": t_match, "end_to_end_s": t_part + t_match, "pairs": len(out)}


def worker_stilts(folder: Path) -> dict:
    stilts = shutil.which("stilts") or "/usr/bin/stilts"
    t0 = time.perf_counter()
    subprocess.run(
        [stilts, "-Xmx8g", "tmatch2", f"in1={folder / 'a.fits'}", f"in2={folder / 'b.fits'}", "matcher=sky",
         "values1=ra dec", "values2=ra dec", "params=1", "find=best1", "join=1and2", "omode=count"],
        check=True, capture_output=True, text=True)
    t = time.perf_counter() - t0
    return {"match_s": t, "end_to_end_s": t, "pairs": None}


def run_tool(tool: str, folder: Path) -> dict:
    """Run one tool in a fresh process; add its peak RSS (MB) including any child (the STILTS JVM)."""
    proc = subprocess.Popen([sys.executable, __file__, "--worker", tool, str(folder)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out_text = proc.stdout.read()
    err_text = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        return {"error": err_text.strip().splitlines()[-1] if err_text.strip() else f"exit {proc.returncode}"}
    result = json.loads(out_text.strip().splitlines()[-1])
    # ru_maxrss of a waited child is in KiB on Linux; the worker reports its own children's too.
    result["peak_mb"] = max(usage.ru_maxrss, result.pop("children_maxrss_kb", 0)) / 1024
    return result


def _worker_main(tool: str, folder: str) -> None:
    import resource

    result = globals()[f"worker_{tool}"](Path(folder))
    result["children_maxrss_kb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps(result))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--full", action="store_true", help="10^6 and 10^7 per side (the issue's sizes)")
    p.add_argument("--sizes", default=None, help="comma-separated sizes per side")
    p.add_argument("--tools", default=",".join(TOOLS))
    p.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        _worker_main(*args.worker)
        return
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else ([10**6, 10**7] if args.full else [10**6])
    tools = args.tools.split(",")
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    for n in sizes:
        folder = make_data(n)
        rows = {t: run_tool(t, folder) for t in tools}
        ours = rows.get("astrohub", {})
        print(f"\nn = {n:,} per side, radius 1 arcsec")
        print(f"{'tool':10s} {'match s':>9s} {'end-to-end s':>13s} {'peak MB':>9s} {'pairs':>10s} "
              f"{'match ratio':>12s}  notes")
        for t, r in rows.items():
            if "error" in r:
                print(f"{t:10s} ERROR {r['error']}")
                continue
            ratio = r["match_s"] / ours["match_s"] if ours.get("match_s") else float("nan")
            notes = []
            if "partition_s" in r:
                notes.append(f"partitioning {r['partition_s']:.2f} s")
            if "all_pairs_s" in r:
                notes.append(f"all pairs {r['all_pairs_s']:.2f} s ({r['all_pairs']:,})")
            pairs = "" if r.get("pairs") is None else f"{r['pairs']:,}"
            print(f"{t:10s} {r['match_s']:9.2f} {r['end_to_end_s']:13.2f} {r['peak_mb']:9.0f} {pairs:>10s} "
                  f"{ratio:11.1f}x  {'; '.join(notes)}")
        print(json.dumps({"n": n, "results": rows}))


if __name__ == "__main__":
    main()
