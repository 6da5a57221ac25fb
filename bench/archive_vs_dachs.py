"""Benchmark: the archive's TAP service against the reference VO server, DaCHS, on the same data and queries.

Usage (as root, for the DaCHS side's packages and its private PostgreSQL cluster)::

    .venv/bin/python bench/archive_vs_dachs.py [--rows N] [--upload M] [--repeat R] [--work DIR]
        [--dachs-index q3c|pgsphere] [--only NAME ...] [--cold-kernel]

Writes a catalogue of N (default 10^6) random positions (``id, ra, dec, mag, field``) and a table of
N/10 epochs (``id, cat_id, ra, dec, flux``) to ``DIR/data``; ``bench/dachs_setup.sh`` installs DaCHS
(Debian's ``python3-gavo``, run by Debian's ``/usr/bin/python3``), PostgreSQL 15 with pgsphere and q3c
on a private cluster, imports both tables with DaCHS's positional index and starts ``gavo serve``; the
same two files are ingested with :func:`platform_lib.catalogs.ingest` and served by a real
``astrohub-archive``. Then the same HTTP client (``requests``, synchronous TAP POSTs, BINARY2
VOTables) sends the same ADQL to both, alternating servers on every repetition so both see the same
machine load: a 1-degree cone (a different centre each repetition), ``COUNT(*)``, a ``GROUP BY``, a
key join of the epochs with the catalogue, and an inline ``TAP_UPLOAD`` crossmatch of M (default 10^4)
positions against the catalogue at 1 arcsec. Each answer is parsed and checked against the other
server's (ids, counts); the table gives medians and p90 in ms and the ratio DaCHS / archive (above 1:
the archive is faster). The first call of each query on each server is a warm-up, reported apart.
DaCHS and its cluster are stopped at the end, also on failure (``--keep`` leaves the data in DIR
for the next run, which then skips the imports).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VOTABLE_B2 = "votableb2"
RADIUS_DEG = 1.0 / 3600


def write_data(folder: Path, rows: int, seed: int = 0) -> None:
    """The catalogue and the epochs table as FITS files in ``folder`` (kept when already of ``rows`` rows)."""
    from astropy.io import fits
    from astropy.table import Table

    cat_path, ep_path = folder / "cat.fits", folder / "epochs.fits"
    if cat_path.exists() and ep_path.exists() and fits.getheader(cat_path, 1)["NAXIS2"] == rows:
        return
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ra = rng.uniform(0, 360, rows)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, rows)))
    cat = Table({"id": np.arange(rows, dtype=np.int64), "ra": ra, "dec": dec,
                 "mag": rng.normal(18, 2, rows).astype(np.float32),
                 "field": rng.integers(0, 100, rows).astype(np.int32)})
    cat["ra"].unit = cat["dec"].unit = "deg"
    n_ep = rows // 10
    cat_id = rng.integers(0, rows, n_ep)
    ep = Table({"id": np.arange(n_ep, dtype=np.int64), "cat_id": cat_id, "ra": ra[cat_id], "dec": dec[cat_id],
                "flux": rng.uniform(0, 100, n_ep).astype(np.float32)})
    ep["ra"].unit = ep["dec"].unit = "deg"
    for table, path in ((cat, cat_path), (ep, ep_path)):
        table.write(str(path) + ".tmp", format="fits", overwrite=True)
        os.replace(str(path) + ".tmp", path)
    os.chmod(folder, 0o755)


def start_ours(work: Path, data: Path, cold_kernel: bool = False) -> tuple[subprocess.Popen, str, dict]:
    """Ingest both files (once) and start ``astrohub-archive``; ``(process, base URL, {table: ADQL name})``.

    The service gets a copy of the platform's compiled crossmatch kernel as its ``NUMBA_CACHE_DIR``, as a
    user server does (``cold_kernel``: none, so it compiles the kernel in the background for 25-65 s and
    runs positional joins as range joins until then)."""
    import shutil
    import warnings

    from astrohub_archive.tapschema import table_set
    from platform_lib.catalogs import Registry, ingest
    from platform_lib.crossmatch import seed_cache
    from platform_lib.imageindex import build_index

    sys.path.insert(0, str(ROOT / "tests" / "integration"))
    from archive_process import start_archive

    ours = work / "astrohub"
    (ours / "images").mkdir(parents=True, exist_ok=True)
    registry_path = ours / "registry.sqlite"
    registry = Registry(registry_path)
    have = {c.name for c in registry.catalogs()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in ("cat", "epochs"):
            if name not in have:
                t0 = time.perf_counter()
                ingest(data / f"{name}.fits", registry, name=name)
                print(f"ingested {name} into HATS in {time.perf_counter() - t0:.1f} s")
    registry.close()
    if not (ours / "index.sqlite").exists():
        build_index(ours / "index.sqlite", ours / "images", workers=1)
    tables = table_set(Registry(registry_path, readonly=True), registry_path)
    names = {}
    for t in tables.tables.values():
        if t.kind == "catalog":
            names[t.registry_name.split("/")[0]] = t.name
    cache = work / "numba-cache"
    shutil.rmtree(cache, ignore_errors=True)
    if not cold_kernel and seed_cache(cache):  # the platform's compiled kernels, as a service seeds its own
        os.environ["NUMBA_CACHE_DIR"] = str(cache)
    proc, base = start_archive(
        ["--index", str(ours / "index.sqlite"), "--data-root", str(ours / "images"), "--registry",
         str(registry_path), "--jobs", str(ours / "jobs.sqlite"), "--update-every", "0", "--log-level", "WARNING"],
        ours / "archive.log", ready="tap/availability")
    return proc, base + "tap", names


def dachs(action: str, work: Path, index: str) -> None:
    env = dict(os.environ, DACHS_INDEX=index)
    t0 = time.perf_counter()
    subprocess.run(["sh", str(HERE / "dachs_setup.sh"), action, str(work)], check=True, env=env)
    print(f"dachs_setup.sh {action}: {time.perf_counter() - t0:.1f} s")


def upload_bytes(rows: int, upload: int, seed: int = 1) -> tuple[bytes, np.ndarray]:
    """``upload`` catalogue positions moved by 0.1 arcsec, as a VOTable; and their catalogue ids."""
    from astropy.io.votable import from_table
    from astropy.table import Table

    rng = np.random.default_rng(0)
    ra = rng.uniform(0, 360, rows)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, rows)))
    pick = np.sort(np.random.default_rng(seed).choice(rows, upload, replace=False))
    t = Table({"uid": np.arange(upload, dtype=np.int64), "ra": ra[pick],
               "dec": dec[pick] + 0.1 / 3600})
    vot = from_table(t)  # TABLEDATA: DaCHS 2.7 reads astropy's BINARY uploads as empty ("No data left")
    buf = io.BytesIO()
    vot.to_xml(buf)
    return buf.getvalue(), pick


def queries(rows: int, repeat: int):
    """``(label, ADQL template, centres or None, uses upload)``: the same for both servers."""
    rng = np.random.default_rng(2)
    cones = [(float(rng.uniform(0, 360)), float(np.degrees(np.arcsin(rng.uniform(-0.9, 0.9)))))
             for _ in range(repeat + 1)]
    return [
        ("cone 1 deg", "SELECT id, ra, dec, mag FROM {cat} WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), "
                       "CIRCLE('ICRS', {ra}, {dec}, 1.0))", cones, False),
        ("COUNT(*)", "SELECT COUNT(*) AS n FROM {cat}", None, False),
        ("GROUP BY", "SELECT field, COUNT(*) AS n, AVG(mag) AS mean_mag FROM {cat} GROUP BY field", None, False),
        ("join on key", "SELECT e.id, e.flux, c.id AS cid, c.mag FROM {epochs} AS e JOIN {cat} AS c "
                        "ON e.cat_id = c.id WHERE e.flux > 99", None, False),
        ("upload xmatch", "SELECT u.uid, c.id FROM TAP_UPLOAD.mine AS u JOIN {cat} AS c ON "
                          "1 = CONTAINS(POINT('ICRS', c.ra, c.dec), CIRCLE('ICRS', u.ra, u.dec, "
                          f"{RADIUS_DEG!r}))", None, True),
    ]


def run_sync(session, url: str, adql: str, upload: bytes | None):
    """POST one synchronous query; ``(seconds to the last byte, astropy Table)``."""
    from astropy.io.votable import parse_single_table

    data = {"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": adql, "RESPONSEFORMAT": VOTABLE_B2, "MAXREC": "200000"}
    files = None
    if upload is not None:
        data["UPLOAD"] = "mine,param:mine"
        files = {"mine": ("mine.xml", upload, "application/x-votable+xml")}
    t0 = time.perf_counter()
    resp = session.post(url + "/sync", data=data, files=files, timeout=900)
    body = resp.content
    dt = time.perf_counter() - t0
    if resp.status_code != 200:
        raise RuntimeError(f"{url}: HTTP {resp.status_code} for {adql}: {body[:2000]!r}")
    if b'value="ERROR"' in body or b"value='ERROR'" in body:
        raise RuntimeError(f"{url}: error for {adql}: {body[:2000]!r}")
    table = parse_single_table(io.BytesIO(body)).to_table()
    return dt, table


def answer_key(label: str, table) -> object:
    """What must agree between the servers: sorted ids, the count, or the per-field counts."""
    cols = {c.lower(): c for c in table.colnames}
    if label == "COUNT(*)":
        return int(table[cols["n"]][0])
    if label == "GROUP BY":
        return sorted((int(f), int(n)) for f, n in zip(table[cols["field"]], table[cols["n"]]))
    if label == "upload xmatch":
        return sorted(zip(np.asarray(table[cols["uid"]]).tolist(), np.asarray(table[cols["id"]]).tolist()))
    return sorted(np.asarray(table[cols["id"]]).tolist())


def main() -> None:
    import warnings

    import requests

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--upload", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "astrohub-dachs-bench"))
    ap.add_argument("--dachs-index", choices=("q3c", "pgsphere"), default="q3c")
    ap.add_argument("--only", nargs="*", help="run only these queries (labels, e.g. 'upload xmatch')")
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--cold-kernel", action="store_true",
                    help="start the archive without the compiled crossmatch kernel (it compiles it at start)")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    os.chmod(work, 0o755)
    data = work / "data"
    t0 = time.perf_counter()
    write_data(data, args.rows)
    print(f"data: {args.rows:,} rows in {time.perf_counter() - t0:.1f} s")
    up, pick = upload_bytes(args.rows, args.upload)
    proc = None
    try:
        dachs("start", work, args.dachs_index)
        proc, ours_url, names = start_ours(work, data, args.cold_kernel)
        servers = {"DaCHS": ("http://127.0.0.1:18080/tap", {"cat": "bench.cat", "epochs": "bench.epochs"}),
                   "astrohub": (ours_url, names)}
        session = requests.Session()
        load = [os.getloadavg()[0]]
        results = {}
        for label, template, cones, with_upload in queries(args.rows, args.repeat):
            if args.only and label not in args.only:
                continue
            times = {s: [] for s in servers}
            first = {}
            keys = {}
            for rep in range(args.repeat + 1):
                order = list(servers) if rep % 2 == 0 else list(servers)[::-1]
                for s in order:
                    url, tnames = servers[s]
                    fill = dict(tnames)
                    if cones:
                        fill.update(ra=cones[rep][0], dec=cones[rep][1])
                    dt, table = run_sync(session, url, template.format(**fill), up if with_upload else None)
                    key = answer_key(label, table)
                    keys.setdefault(s, {})[rep] = key
                    if rep == 0:
                        first[s] = dt
                    else:
                        times[s].append(dt)
                load.append(os.getloadavg()[0])
                a, b = keys["DaCHS"][rep], keys["astrohub"][rep]
                if a != b:
                    raise AssertionError(f"{label}: the servers disagree (rep {rep}): DaCHS {str(a)[:300]} "
                                         f"astrohub {str(b)[:300]}")
            nrows = len(keys["astrohub"][0]) if isinstance(keys["astrohub"][0], list) else 1
            if label == "upload xmatch":
                found = {u for u, _ in keys["astrohub"][0]}
                assert len(found) == args.upload, f"only {len(found)} of {args.upload} uploaded rows matched"
            row = {"rows": nrows}
            for s in servers:
                row[s] = {"median_ms": float(np.median(times[s]) * 1e3),
                          "p90_ms": float(np.percentile(times[s], 90) * 1e3), "first_ms": first[s] * 1e3}
            row["ratio"] = row["DaCHS"]["median_ms"] / row["astrohub"]["median_ms"]
            results[label] = row
            print(f"{label:14s} done: {nrows} rows, DaCHS {row['DaCHS']['median_ms']:.0f} ms, "
                  f"astrohub {row['astrohub']['median_ms']:.0f} ms", flush=True)
    finally:
        if proc is not None:  # the archive's tests' own stop (start_ours put their folder on sys.path)
            from archive_process import stop_archive

            stop_archive(proc, work / "astrohub" / "archive.log")
        dachs("stop", work, args.dachs_index)
    print(f"\n{args.rows:,}-row catalogue, {args.upload:,}-row upload, {args.repeat} repetitions per query "
          f"(after one warm-up), DaCHS 2.7 + PostgreSQL 15 ({args.dachs_index} index), "
          f"load average during the run {min(load):.1f}-{max(load):.1f} (1 min) on {os.cpu_count()} CPUs")
    head = f"{'query':<15}{'rows':>7}{'DaCHS p50':>11}{'p90':>8}{'astrohub p50':>14}{'p90':>8}" \
           f"{'first D/a':>15}{'DaCHS/astrohub':>16}"
    print(head)
    for label, row in results.items():
        d, a = row["DaCHS"], row["astrohub"]
        print(f"{label:<15}{row['rows']:>7}{d['median_ms']:>11.1f}{d['p90_ms']:>8.1f}{a['median_ms']:>14.1f}"
              f"{a['p90_ms']:>8.1f}{d['first_ms']:>8.0f}/{a['first_ms']:<6.0f}{row['ratio']:>16.2f}")
    print("(ms; ratio above 1: the archive is faster)")
    if args.json:
        Path(args.json).write_text(json.dumps({"load": [min(load), max(load)], "results": results}, indent=1))


if __name__ == "__main__":
    main()
