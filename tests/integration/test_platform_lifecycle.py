"""``astrohub up`` in the foreground: Ctrl-C stops every process it started, user servers included.

Runs its own small platform (no gateway, no archive) so that the session's platform is untouched.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import psutil
import requests

from platform_lib.local.ports import free_ports


def _poll(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def test_ctrl_c_stops_everything_and_leaves_no_orphans(tmp_path):
    data = tmp_path / "data"
    hub, hub_api, proxy_api = free_ports(3)
    up = subprocess.Popen(
        [sys.executable, "-m", "platform_lib", "up", "--data-dir", str(data),
         "--set", f"hub.port={hub}", "--set", f"hub.hub_port={hub_api}", "--set", f"hub.proxy_api_port={proxy_api}",
         "--set", "gateway.enabled=false", "--set", "archive.enabled=false",
         "--set", "users.run_as_system_users=false"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        status_file = data / "state" / "status.json"
        _poll(lambda: status_file.exists() and json.loads(status_file.read_text()).get("ready"), 120, "ready")
        token = json.loads((data / "state" / "tokens.json").read_text())["cli"]
        api = f"http://127.0.0.1:{hub}/hub/api"
        headers = {"Authorization": f"token {token}"}
        requests.post(f"{api}/users/dave", headers=headers, timeout=30).raise_for_status()
        requests.post(f"{api}/users/dave/server", headers=headers, timeout=60).raise_for_status()
        _poll(lambda: requests.get(f"{api}/users/dave", headers=headers, timeout=30).json()["servers"].get("", {}).get("ready"),
              90, "dave's server")
        tree = psutil.Process(up.pid).children(recursive=True)
        names = " ".join(" ".join(p.cmdline()) for p in tree)
        assert "configurable-http-proxy" in names and "jupyterhub-singleuser" in names and "jupyterhub" in names
        up.send_signal(signal.SIGINT)  # what Ctrl-C sends
        output, _ = up.communicate(timeout=120)
    finally:
        if up.poll() is None:
            up.kill()
    assert up.returncode == 0, output
    assert "stopped" in output
    _, alive = psutil.wait_procs(tree, timeout=5)
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE], f"orphans: {alive}"
    assert not (data / "state" / "astrohub.pid").exists()
