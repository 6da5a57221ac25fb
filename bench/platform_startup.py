"""Benchmark the local platform: start-up, server-to-kernel latency, and hub REST API latency under load.

Usage::

    .venv/bin/python bench/platform_startup.py          # quick: 50 clients x 10 requests, 1 start each
    .venv/bin/python bench/platform_startup.py --full   # 50 clients x 100 requests, 3 starts each

Each figure is reported with a peer measured in the same run, as a ratio:

* ``astrohub up`` (proxy + hub + dask-gateway [+ archive], until the hub answers through the proxy)
  vs a bare ``jupyterhub`` with its default configuration started the same way (plus an API token);
* "start my server" -> a kernel executing code (hub API + spawner + Jupyter server + kernel) vs
  starting a kernel directly with ``jupyter_client`` (the floor: a Python kernel's own start-up);
* hub REST API p50/p99 with 50 concurrent clients (``GET /hub/api/users/<name>`` with a token, and
  the light ``GET /hub/api/``, through the proxy) vs the same requests sent straight to the hub's port
  (no proxy), both back to back (saturating) and paced at one request per second per client (an
  open load of 50 req/s, like a class clicking) and at two per second (100 req/s, near the hub's
  capacity); plus one client alone, and the saturated throughput; the back-to-back load is also
  sent to a bare ``jupyterhub`` (the hub's own capacity, without astrohub's configuration).

The machine has 2 cores shared with other work, so absolute figures vary; ratios are steadier.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from harness import platform_harness

ROOT = Path(__file__).resolve().parents[1]


def _poll(condition, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark step timed out")
        time.sleep(0.02)


def time_astrohub_up() -> tuple[float, object, list[str]]:
    t0 = time.perf_counter()
    platform, args = platform_harness().start_platform()
    return time.perf_counter() - t0, platform, args


@contextlib.contextmanager
def bare_jupyterhub():
    """A bare ``jupyterhub`` (dummy authenticator, one user ``alice`` with a token), started the same
    way as the platform: yields (seconds until it answered through its proxy, API URL, alice's token)."""
    from platform_lib.local.ports import free_ports

    port, hub_port, api_port = free_ports(3)
    admin = secrets.token_hex(16)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "jupyterhub_config.py"
        config.write_text(  # only an API token to create the user with: otherwise the defaults
            f"c.JupyterHub.services = [{{'name': 'bench', 'api_token': {admin!r}}}]\n"
            "c.JupyterHub.load_roles = [{'name': 'bench', 'scopes': ['admin:users', 'tokens'], 'services': ['bench']}]\n"
        )
        env = dict(os.environ, PATH=f"{ROOT / '.npm/node_modules/.bin'}:{Path(sys.executable).parent}:{os.environ['PATH']}")
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "jupyterhub"), "-f", str(config), f"--port={port}",
             f"--JupyterHub.hub_port={hub_port}", f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{api_port}",
             "--JupyterHub.authenticator_class=dummy"],
            cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        api = f"http://127.0.0.1:{port}/hub/api"
        try:
            def ready() -> bool:
                try:
                    return requests.get(f"{api}/", timeout=1).status_code == 200
                except requests.RequestException:
                    return False
            _poll(ready)
            elapsed = time.perf_counter() - t0
            headers = {"Authorization": f"token {admin}"}
            requests.post(f"{api}/users/alice", headers=headers, timeout=30).raise_for_status()
            token = requests.post(f"{api}/users/alice/tokens", headers=headers, json={}, timeout=30).json()["token"]
            yield elapsed, api, token
        finally:
            os.killpg(proc.pid, 15)
            proc.wait(30)


def time_server_to_kernel(platform, user: str) -> tuple[float, float]:
    """(start -> kernel ran code, of which start -> the hub reports the server ready), in seconds."""
    platform.create_user(user)
    platform.user_token(user)
    t0 = time.perf_counter()
    platform.start_server(user)
    ready = time.perf_counter() - t0
    out = platform.execute(user, "print(6 * 7)")
    elapsed = time.perf_counter() - t0
    assert out.strip() == "42", out
    platform.stop_server(user)
    return elapsed, ready


def time_bare_kernel() -> float:
    from jupyter_client.manager import start_new_kernel

    t0 = time.perf_counter()
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        kc.execute_interactive("print(6 * 7)", timeout=60, output_hook=lambda msg: None)
        return time.perf_counter() - t0
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def api_latencies(url: str, token: str, clients: int, per_client: int, pace: float = 0.0) -> list[float]:
    """Latencies of ``clients`` concurrent clients; ``pace`` > 0: each sends one request per ``pace`` s
    (an open load, like people clicking), else back to back (a closed loop that saturates the hub)."""

    def worker(index: int) -> list[float]:
        times = []
        start = time.perf_counter() + (index / clients) * pace
        with requests.Session() as session:  # closed at the end: no idle connections left for the next phase
            session.headers["Authorization"] = f"token {token}"
            for i in range(per_client):
                if pace:
                    delay = start + i * pace - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)  # load pacing, not waiting for a condition
                t0 = time.perf_counter()
                response = session.get(url, timeout=30)
                times.append(time.perf_counter() - t0)
                response.raise_for_status()
        return times

    with ThreadPoolExecutor(clients) as pool:
        return [t for chunk in pool.map(worker, range(clients)) for t in chunk]


def throughput(latencies: list[float], clients: int) -> float:
    """Requests per second of ``clients`` back-to-back clients, from their latencies."""
    return len(latencies) / (sum(latencies) / clients)


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the issue's sizes: 50 clients x 100 requests, 3 starts")
    opts = parser.parse_args()
    clients, per_client, repeats = (50, 100, 3) if opts.full else (50, 10, 1)

    rows = []
    ups, bares = [], []
    platform = args = None
    for i in range(repeats):
        elapsed, p, a = time_astrohub_up()
        ups.append(elapsed)
        if i < repeats - 1:
            platform_harness().stop_platform(p, a)
        else:
            platform, args = p, a
        with bare_jupyterhub() as (elapsed, _, _):
            bares.append(elapsed)
    try:
        up, bare = statistics.median(ups), statistics.median(bares)
        rows.append(("astrohub up -> hub ready (s)", up, "bare jupyterhub", bare, "< 10"))
        timings = [time_server_to_kernel(platform, platform.unique(f"bench{i}")) for i in range(repeats)]
        spawns, readies = [t for t, _ in timings], [r for _, r in timings]
        kernels = [time_bare_kernel() for _ in range(repeats)]
        rows.append(("start server -> kernel runs code (s)", statistics.median(spawns), "bare kernel", statistics.median(kernels), "< 5"))
        breakdown = (f"start server -> kernel: {', '.join(f'{t:.2f}' for t in spawns)} s, of which the server "
                     f"ready: {', '.join(f'{r:.2f}' for r in readies)} s (the rest: kernel start and first execute)")
        user = platform.unique("load")
        platform.create_user(user)
        token = platform.user_token(user)
        direct_url = f"http://127.0.0.1:{platform.config.hub.hub_port}/hub/api/users/{user}"
        # open loads first (what a class does), then the saturating closed loops
        paced = api_latencies(f"{platform.hub_api}/users/{user}", token, clients, per_client, pace=1.0)
        paced_direct = api_latencies(direct_url, token, clients, per_client, pace=1.0)
        rows.append((f"hub API p50, {clients} clients x 1 req/s (ms)", pct(paced, 50) * 1e3, "hub port, no proxy",
                     pct(paced_direct, 50) * 1e3, ""))
        rows.append((f"hub API p99, {clients} clients x 1 req/s (ms)", pct(paced, 99) * 1e3, "hub port, no proxy",
                     pct(paced_direct, 99) * 1e3, "< 100"))
        busy = api_latencies(f"{platform.hub_api}/users/{user}", token, clients, per_client, pace=0.5)
        busy_direct = api_latencies(direct_url, token, clients, per_client, pace=0.5)
        rows.append((f"hub API p99, {clients} clients x 2 req/s (ms)", pct(busy, 99) * 1e3, "hub port, no proxy",
                     pct(busy_direct, 99) * 1e3, "< 100"))
        proxied = api_latencies(f"{platform.hub_api}/users/{user}", token, clients, per_client)
        direct = api_latencies(direct_url, token, clients, per_client)
        rows.append((f"hub API p50, {clients} clients (ms)", pct(proxied, 50) * 1e3, "hub port, no proxy", pct(direct, 50) * 1e3, ""))
        rows.append((f"hub API p99, {clients} clients (ms)", pct(proxied, 99) * 1e3, "hub port, no proxy", pct(direct, 99) * 1e3, "< 100"))
        with bare_jupyterhub() as (_, bare_api, bare_token):
            bare_loop = api_latencies(f"{bare_api}/users/alice", bare_token, clients, per_client)
        rows.append((f"hub API p99, {clients} clients (ms)", pct(proxied, 99) * 1e3, "bare jupyterhub",
                     pct(bare_loop, 99) * 1e3, "< 100"))
        single = api_latencies(f"{platform.hub_api}/users/{user}", token, 1, per_client * 5)
        rows.append(("hub API p50, 1 client (ms)", pct(single, 50) * 1e3, "hub port, no proxy",
                     pct(api_latencies(direct_url, token, 1, per_client * 5), 50) * 1e3, ""))
        light = api_latencies(f"{platform.hub_api}/", token, clients, per_client)
        light_direct = api_latencies(f"http://127.0.0.1:{platform.config.hub.hub_port}/hub/api/", token, clients, per_client)
        rows.append((f"GET /hub/api/ p99, {clients} clients (ms)", pct(light, 99) * 1e3, "hub port, no proxy",
                     pct(light_direct, 99) * 1e3, "< 100"))
        for peer, peer_loop in (("hub port, no proxy", direct), ("bare jupyterhub", bare_loop)):
            rows.append((f"users/<name> throughput, {clients} clients (req/s)", throughput(proxied, clients), peer,
                         throughput(peer_loop, clients), ""))
    finally:
        platform_harness().stop_platform(platform, args)

    print(f"\nplatform benchmarks ({'full' if opts.full else 'quick'}: {clients} clients x {per_client} requests, "
          f"{repeats} start(s); median of starts)\n")
    print("| measure | astrohub | peer | peer value | ratio | target |")
    print("| --- | ---: | --- | ---: | ---: | --- |")
    for name, value, peer, peer_value, target in rows:
        print(f"| {name} | {value:.2f} | {peer} | {peer_value:.2f} | {value / peer_value:.2f}x | {target} |")
    print(f"\n{breakdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
