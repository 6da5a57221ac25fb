"""Benchmark a new user's first minute: sign in on the login page -> the first code result in a notebook kernel.

Usage::

    .venv/bin/python bench/signin_first_result.py            # 3 new users on one platform
    .venv/bin/python bench/signin_first_result.py --users 5

For each new user (created by the admin, as a class roster would be): a browser-like ``requests``
session opens ``/hub/login``, posts the name and the class password with the form's ``_xsrf``, and
follows the hub's redirects (the spawn starts at login, as ``default_url=/lab`` asks); then waits
until the user's server answers through the proxy, opens a notebook session (a kernel) and runs
``1 + 1``, timing each step. The peer, measured in the same run: a Python kernel started and run by
``jupyter_client`` on its own (the floor: no hub, no server). Reported as medians and their ratio.
The machine is shared (2 cores), so absolute figures vary; the ratio is steadier.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
import uuid
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from platform_startup import _harness, _poll, time_bare_kernel  # noqa: E402


def sign_in_to_first_result(platform, user: str) -> dict[str, float]:
    """Seconds from opening the login page to ``2`` back from the kernel, with the steps along the way."""
    h = _harness()
    platform.create_user(user)
    password = platform.password(user)  # registered once with the class code (roster sign-in), not timed
    browser = requests.Session()
    t0 = time.monotonic()
    page = browser.get(f"{platform.url}hub/login", timeout=30)
    page.raise_for_status()
    xsrf = browser.cookies.get("_xsrf") or re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
    login = browser.post(f"{platform.url}hub/login", data={"username": user, "password": password,
                                                           "_xsrf": xsrf}, timeout=120)
    login.raise_for_status()
    t_login = time.monotonic()

    def server_ready() -> bool:
        info = platform.api("GET", f"/users/{user}").json()
        return bool(info.get("servers", {}).get("", {}).get("ready"))

    _poll(server_ready, 120)
    t_ready = time.monotonic()
    token = platform.user_token(user)
    headers = {"Authorization": f"token {token}"}
    base = platform.server_url(user)
    session = browser.post(f"{base}api/sessions", headers=headers, timeout=60, json={
        "path": "Untitled.ipynb", "name": "Untitled.ipynb", "type": "notebook", "kernel": {"name": "python3"}})
    session.raise_for_status()
    kernel = session.json()["kernel"]["id"]
    out = h._run_in_kernel(f"{base.replace('http', 'ws', 1)}api/kernels/{kernel}/channels", headers, "print(1 + 1)", 60)
    t_done = time.monotonic()
    assert out.strip() == "2", out
    browser.delete(f"{base}api/sessions/{session.json()['id']}", headers=headers, timeout=30)
    platform.stop_server(user)
    return {"total": t_done - t0, "login": t_login - t0, "server_ready": t_ready - t0,
            "kernel_result": t_done - t_ready}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=3, help="new users to time (default 3)")
    args = parser.parse_args()
    h = _harness()
    platform, up_args = h.start_platform()
    try:
        runs = [sign_in_to_first_result(platform, f"sig{uuid.uuid4().hex[:6]}") for _ in range(args.users)]
    finally:
        h.stop_platform(platform, up_args)
    kernels = [time_bare_kernel() for _ in range(args.users)]
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    bare = statistics.median(kernels)
    print(json.dumps({"runs": runs, "bare_kernels": kernels}, indent=1))
    print(f"sign in -> first code result: median {med['total']:.2f} s over {len(runs)} new users "
          f"(login form {med['login']:.2f} s, server ready at {med['server_ready']:.2f} s, then session + kernel "
          f"+ result {med['kernel_result']:.2f} s); bare jupyter_client kernel start + execute {bare:.2f} s; "
          f"ratio {med['total'] / bare:.2f}x; target < 10 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
