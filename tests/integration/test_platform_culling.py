"""Activity-aware culling on the running platform, with real users (issue 19 items 5 and 8).

jupyterhub-idle-culler, the real one, runs against the session's hub with a short timeout and a token
whose scopes are filtered to one group of this test's users (``list:users!group=...`` and so on), so
no other test's server can be culled. One user's kernel is busy (sleeping until the test is done, no browser, no
traffic) and another user's server is idle: the idle one is warned (``/astrohub/activity``) and then
culled; the busy one survives, because the server extension reports its busy kernel to the hub
(``astrohub_server.activity``). The session's servers report every 2 s and count a 12 s cull timeout
with a 5 s warning (``ASTROHUB_*`` in the platform's environment, tests/integration/conftest.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import requests

TIMEOUT = 12  # the culler's --timeout; the same as ASTROHUB_CULL_TIMEOUT in the fixture's environment
WARNING = 5  # ASTROHUB_CULL_WARNING there


def _running(platform, user: str) -> bool:
    server = platform.api("GET", f"/users/{user}").json().get("servers", {}).get("")
    return bool(server and server.get("ready"))


def test_a_busy_kernel_survives_the_culler_while_an_idle_server_is_warned_and_culled(platform, poll, tmp_path):
    busy, idle = platform.unique("cullbusy"), platform.unique("cullidle")
    group = platform.unique("culltest")
    for user in (busy, idle):
        platform.create_user(user)
    platform.create_group(group, [busy, idle])
    platform.start_server(busy)
    # The busy user's kernel computes for longer than the timeout, with no browser and no output: until the
    # test has seen the culler leave it alone (the file ``done`` appears), not for a fixed time.
    done = platform.data_dir / "home" / busy / "culling-test-done"
    compute_code = (f"import os, time\ndeadline = time.monotonic() + 100\nwhile not os.path.exists({str(done)!r}) "
                    "and time.monotonic() < deadline:\n    time.sleep(0.2)\nprint('finished')")
    outcome: dict[str, object] = {}

    def compute() -> None:
        try:
            outcome["out"] = platform.execute(busy, compute_code, timeout=120)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = exc

    worker = threading.Thread(target=compute, daemon=True)
    worker.start()
    # The culler starts once the kernel computes (starting it is not what this test is about).
    poll(lambda: requests.get(f"{platform.server_url(busy)}astrohub/activity", timeout=10, headers={
        "Authorization": f"token {platform.user_token(busy)}"}).json()["busy"]["kernels"], 60, "the busy kernel")
    platform.start_server(idle)
    scopes = [f"{s}!group={group}" for s in ("list:users", "read:users:activity", "read:servers", "delete:servers")]
    token = platform.api("POST", f"/users/{platform.admin_user}/tokens",
                         json={"note": "idle culler test", "scopes": scopes, "expires_in": 600})
    token.raise_for_status()
    log = open(tmp_path / "culler.log", "w")
    culler = subprocess.Popen(
        [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={TIMEOUT}", "--cull-every=2",
         f"--url={platform.hub_api}"],
        env={**os.environ, "JUPYTERHUB_API_TOKEN": token.json()["token"]}, stdout=log, stderr=subprocess.STDOUT)
    started = time.monotonic()
    try:
        # The idle server warns its user before the cull (reading the state is not activity).
        def warned():
            r = requests.get(f"{platform.server_url(idle)}astrohub/activity", timeout=10,
                             headers={"Authorization": f"token {platform.user_token(idle)}"})
            return r.json()["warning"] if r.status_code == 200 else None

        warning = poll(warned, 60, "the idle server's cull warning")
        assert "will be stopped" in warning["message"] and warning["cull_in_seconds"] <= WARNING, warning
        assert _running(platform, idle)
        poll(lambda: not _running(platform, idle), 60, "the idle server to be culled")
        state = platform.server_get(busy, "astrohub/activity").json()
        assert state["busy"]["kernels"], state  # still computing
        # The busy one outlives the timeout (and several culler rounds) from the culler's start.
        while time.monotonic() - started < TIMEOUT + 8:
            assert _running(platform, busy), (tmp_path / "culler.log").read_text()
            time.sleep(1)
        done.touch()
        worker.join(timeout=90)
        assert outcome.get("out", "").strip() == "finished", outcome
        assert _running(platform, busy)
    finally:
        done.touch()
        culler.terminate()
        culler.wait(timeout=30)
        log.close()
        platform.stop_server(busy)
        if _running(platform, idle):
            platform.stop_server(idle)
    culled = (tmp_path / "culler.log").read_text()
    assert f"Culling server {idle}" in culled and f"Culling server {busy}" not in culled, culled
