"""Load held (issue 22, Deliver 9): N concurrent clients for M minutes through the hub's proxy.

Starts a real local platform (``astrohub up``, the integration tests' harness) with its sample data,
or uses a running one (``--url`` and ``--token``, an admin's or a user's hub token), then runs
``--clients`` (default 50) concurrent clients for ``--minutes`` (default 5). Each client loops over
four requests, each through the proxy:

* cone search (``scs/I/311/hip2``, Hipparcos, 0.5 deg around a random star of the catalogue),
* SIA v2 (``sia/query``, a 0.5 deg circle around a random image of the index),
* TAP sync (``tap/sync``, ADQL ``CONTAINS`` on Hipparcos around a random star, ``TOP 100``),
* the hub API (``GET /hub/api/user`` with the user's token),

the archive's requests with the user's token (so each is checked by the hub, cached a minute). An
error is any exception, timeout, HTTP status other than 200, or VOTable ``QUERY_STATUS=ERROR``.
Prints p50/p99 per endpoint, throughput, errors and the load average (1-minute, sampled each
10 s), and writes them as JSON (``--json``). The figures go in ``docs/benchmarks.md``; the machine's
load from other work is part of the figure, so the load average is reported with them.

    .venv/bin/python bench/load.py --minutes 5 --clients 50
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import sys
import time
from pathlib import Path

from harness import platform_harness


ENDPOINTS = ("cone", "sia", "tap", "hub")


def _wait_sample_data(datasets: Path, timeout: float = 600.0) -> None:
    from platform_lib.sampledata import MARKER

    deadline = time.monotonic() + timeout
    while not (datasets / MARKER).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the sample data was not loaded in {timeout:.0f} s")
        time.sleep(1.0)


def _targets(base: str, token: str) -> dict:
    """Positions to ask about: stars of Hipparcos and images of the index (asked once, by TAP)."""
    import requests
    from astropy.io.votable import parse_single_table
    import io

    headers = {"Authorization": f"token {token}"}

    def tap(query: str):
        resp = requests.post(f"{base}services/archive/tap/sync", headers=headers, timeout=120,
                             data={"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": query})
        resp.raise_for_status()
        return parse_single_table(io.BytesIO(resp.content)).to_table()

    names = [str(n) for n in tap("SELECT table_name FROM TAP_SCHEMA.tables")["table_name"]]
    hip = next(n for n in names if "hip2" in n)
    columns = tap(f"SELECT column_name, ucd FROM TAP_SCHEMA.columns WHERE table_name = '{hip}'")
    ucds = {str(r["column_name"]): str(r["ucd"] or "") for r in columns}

    def main_column(ucd: str) -> str:
        named = [c for c, u in ucds.items() if u.startswith(ucd)]
        if not named:
            raise SystemExit(f"no {ucd} column in {hip}: {ucds}")
        return next((c for c in named if "meta.main" in ucds[c]), named[0])

    ra, dec = main_column("pos.eq.ra"), main_column("pos.eq.dec")
    stars = tap(f"SELECT TOP 500 {ra} AS ra, {dec} AS dec FROM {hip}")
    images = tap("SELECT s_ra, s_dec FROM ivoa.obscore")
    return {"hip": hip, "ra": ra, "dec": dec,
            "stars": [(float(r["ra"]), float(r["dec"])) for r in stars],
            "images": [(float(r["s_ra"]), float(r["s_dec"])) for r in images if r["s_ra"] == r["s_ra"]]}


def _request(kind: str, base: str, targets: dict, rng: random.Random) -> tuple[str, str, dict]:
    """(method, url, aiohttp keyword arguments) of one request of ``kind``."""
    if kind == "hub":
        return "GET", f"{base}hub/api/user", {}
    if kind == "sia":
        x, y = rng.choice(targets["images"] or [(10.0, 10.0)])
        return "GET", f"{base}services/archive/sia/query", {"params": {"POS": f"CIRCLE {x} {y} 0.5", "MAXREC": "100"}}
    x, y = rng.choice(targets["stars"])
    if kind == "cone":
        return "GET", f"{base}services/archive/scs/I/311/hip2", {"params": {"RA": str(x), "DEC": str(y), "SR": "0.5"}}
    query = (f"SELECT TOP 100 * FROM {targets['hip']} WHERE 1 = CONTAINS(POINT('ICRS', {targets['ra']}, "
             f"{targets['dec']}), CIRCLE('ICRS', {x}, {y}, 0.5))")
    return "POST", f"{base}services/archive/tap/sync", {"data": {"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": query}}


async def _run(base: str, token: str, targets: dict, clients: int, seconds: float, timeout: float) -> dict:
    import aiohttp

    times: dict[str, list[float]] = {k: [] for k in ENDPOINTS}
    errors: dict[str, list[str]] = {k: [] for k in ENDPOINTS}
    loads: list[float] = []
    stop_at = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=0)
    headers = {"Authorization": f"token {token}"}

    async def client(n: int, session) -> None:
        rng = random.Random(n)
        i = n
        while time.monotonic() < stop_at:
            kind = ENDPOINTS[i % len(ENDPOINTS)]
            i += 1
            method, url, kw = _request(kind, base, targets, rng)
            t0 = time.perf_counter()
            try:
                async with session.request(method, url, headers=headers, **kw) as resp:
                    body = await resp.read()
                    elapsed = time.perf_counter() - t0
                    if resp.status != 200:
                        errors[kind].append(f"HTTP {resp.status}: {body[:200]!r}")
                    elif kind != "hub" and b'value="ERROR"' in body:
                        errors[kind].append(f"QUERY_STATUS=ERROR: {body[:300]!r}")
                    else:
                        times[kind].append(elapsed)
            except Exception as exc:  # noqa: BLE001 - every failure is counted and shown
                errors[kind].append(f"{type(exc).__name__}: {exc}")

    async def sample_load() -> None:
        while time.monotonic() < stop_at:
            loads.append(os.getloadavg()[0])
            await asyncio.sleep(10.0)

    t0 = time.monotonic()
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        await asyncio.gather(sample_load(), *(client(n, session) for n in range(clients)))
    wall = time.monotonic() - t0
    result: dict = {"clients": clients, "seconds": round(wall, 1), "cpus": os.cpu_count(),
                    "load_avg_1min": {"min": min(loads), "mean": round(statistics.fmean(loads), 2), "max": max(loads)},
                    "endpoints": {}}
    total = 0
    for kind in ENDPOINTS:
        ok = sorted(times[kind])
        total += len(ok) + len(errors[kind])
        q = (lambda p: round(1000 * ok[min(len(ok) - 1, int(p * len(ok)))], 1)) if ok else (lambda p: None)
        result["endpoints"][kind] = {"requests": len(ok) + len(errors[kind]), "errors": len(errors[kind]),
                                     "p50_ms": q(0.50), "p99_ms": q(0.99), "max_ms": q(1.0),
                                     "first_errors": errors[kind][:3]}
    result["requests"] = total
    result["errors"] = sum(len(e) for e in errors.values())
    result["throughput_rps"] = round(total / wall, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=5.0)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--timeout", type=float, default=60.0, help="seconds before one request counts as an error")
    p.add_argument("--url", help="a running platform's public URL (default: start one)")
    p.add_argument("--token", help="with --url: a user's hub token")
    p.add_argument("--json", type=Path, help="write the result here too")
    args = p.parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4096)), hard))

    platform = up_args = None
    if args.url:
        base, token = args.url.rstrip("/") + "/", args.token
    else:
        h = platform_harness()
        platform, up_args = h.start_platform()
        base = platform.url
        user = platform.unique("loader")
        platform.create_user(user)
        token = platform.user_token(user)
        print(f"platform up at {base}; waiting for the sample data", flush=True)
        _wait_sample_data(platform.data_dir / "datasets")
    try:
        targets = _targets(base, token)
        print(f"{len(targets['stars'])} stars, {len(targets['images'])} images; {args.clients} clients for "
              f"{args.minutes:g} min", flush=True)
        result = asyncio.run(_run(base, token, targets, args.clients, args.minutes * 60, args.timeout))
    finally:
        if platform is not None:
            platform_harness().stop_platform(platform, up_args)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
