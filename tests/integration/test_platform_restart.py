"""The platform restarted under its users: ``astrohub down`` then ``astrohub up`` on the same data directory.

An operator restarts the local platform while alice has a running server with a kernel holding a variable,
a dask-gateway cluster, a running background job (``platform_lib.jobs``) and archive TAP jobs (UWS, async).
What a mature platform does, and what is checked here on a platform of the test's own (the session's
platform is not touched):

- nothing is left running after ``down``: her server, kernel, cluster's scheduler and worker, and the
  job's runner are gone (no orphans);
- after ``up``, the hub shows her server stopped (not "running" or "pending" with a dead process), and it
  starts again when she asks; the kernel's variable is gone with the kernel (the restart is a stop);
- her cluster is not listed as running, and a connection to it by name fails with a message;
- the background job reads ``failed`` with the reason (the platform was stopped), not ``running`` forever;
- the archive's UWS jobs survive (SQLite): a finished one with its result, a pending one still pending.

(A SIGKILLed hub alone, restarted by the supervisor, keeps servers, kernels, clusters and jobs running:
``test_supervisor_restarts.py`` on the session's platform.)
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys

import psutil
import pytest
import requests
from numba_cache import platform_environment  # tests/support/: `up` without the test run's numba cache

from platform_lib import jobs
from platform_lib.local.ports import free_ports
from platform_lib.settings import PlatformSettings

pytestmark = pytest.mark.usefixtures("collect_dask_clients")

#: A job kind alice writes into her home: it runs until it is stopped.
_KIND = '''
import time


def wait_for_ever(params, ctx):
    ctx.progress(0.1, "waiting")
    while True:
        time.sleep(0.2)
'''

#: Run in alice's kernel: a variable, a gateway cluster of one worker, and a background job.
_SETUP = '''
import json, pathlib, time
from platform_lib import get_settings, jobs
from dask_gateway import Gateway
kept = 42
home = pathlib.Path(get_settings().home)
kinds = home / "restart-kinds"
kinds.mkdir(exist_ok=True)
(kinds / "astrohub_restart_forever.py").write_text({source!r})
job = jobs.submit("astrohub_restart_forever:wait_for_ever", {{}}, sys_path=[str(kinds)])
deadline = time.monotonic() + 60
while job.status() == "queued" and time.monotonic() < deadline:
    time.sleep(0.1)
gateway = Gateway()
cluster = gateway.new_cluster()
cluster.scale(1)
client = cluster.get_client()
client.wait_for_workers(1, timeout=120)
print(json.dumps({{"job": job.id, "state": job.status(), "pid": job.info().get("pid"), "cluster": cluster.name}}))
'''

def _up(args: list[str]) -> None:
    result = subprocess.run([sys.executable, "-m", "platform_lib", "up", "--detach", *args],
                            capture_output=True, text=True, timeout=240, env=platform_environment())
    assert result.returncode == 0, result.stdout + result.stderr


def _down(data) -> None:
    result = subprocess.run([sys.executable, "-m", "platform_lib", "down", "--data-dir", str(data)],
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr


class _Alice:
    """Alice on the test's platform: the hub API (admin token), her server, her kernels."""

    def __init__(self, data, hub_port: int) -> None:
        self.url = f"http://127.0.0.1:{hub_port}/"
        self.admin = {"Authorization": f"token {json.loads((data / 'state' / 'tokens.json').read_text())['cli']}"}
        self.token: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def model(self) -> dict:
        response = requests.get(f"{self.url}hub/api/users/alice", headers=self.admin, timeout=30)
        response.raise_for_status()
        return response.json()

    def start(self, poll) -> None:
        response = requests.post(f"{self.url}hub/api/users/alice/server", headers=self.admin, timeout=60)
        assert response.status_code in (201, 202), response.text
        poll(lambda: self.model()["servers"].get("", {}).get("ready"), 120, "alice's server")

    def kernel(self) -> str:
        response = requests.post(f"{self.url}user/alice/api/kernels", headers=self.headers,
                                 json={"name": "python3"}, timeout=60)
        response.raise_for_status()
        return f"{self.url.replace('http', 'ws', 1)}user/alice/api/kernels/{response.json()['id']}/channels"


def _tap_job(base: str, headers: dict, query: str, run: bool) -> str:
    """An async TAP job's URL, created (and run, if ``run``) with alice's token."""
    response = requests.post(f"{base}tap/async", headers=headers, timeout=30, allow_redirects=False,
                             data={"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": query})
    assert response.status_code == 303, response.text
    job = response.headers["Location"]
    job = job if job.startswith("http") else requests.compat.urljoin(base, job)
    if run:
        requests.post(f"{job}/phase", headers=headers, data={"PHASE": "RUN"}, timeout=30,
                      allow_redirects=False).raise_for_status()
    return job


def _phase(job: str, headers: dict) -> str:
    response = requests.get(f"{job}/phase", headers=headers, timeout=30)
    response.raise_for_status()
    return response.text.strip()


def _processes(pids: list[int]) -> list[psutil.Process]:
    alive = []
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            if proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except psutil.NoSuchProcess:
            continue
    return alive


def test_a_restarted_platform_stops_servers_clusters_and_jobs_cleanly_and_keeps_uws_jobs(
        tmp_path, poll, run_in_kernel):
    data = tmp_path / "data"
    hub, hub_api, proxy_api, gateway_port, archive_port = free_ports(5)
    args = ["--data-dir", str(data), "--owner", str(os.getpid()),
            "--set", f"hub.port={hub}", "--set", f"hub.hub_port={hub_api}", "--set", f"hub.proxy_api_port={proxy_api}",
            "--set", f"gateway.port={gateway_port}", "--set", f"archive.port={archive_port}",
            "--set", "classes.enabled=false", "--set", "sample_data.enabled=false",
            "--set", "users.run_as_system_users=false"]
    _up(args)
    alice = _Alice(data, hub)
    try:
        requests.post(f"{alice.url}hub/api/users/alice", headers=alice.admin, timeout=30).raise_for_status()
        response = requests.post(f"{alice.url}hub/api/users/alice/tokens", headers=alice.admin, timeout=30,
                                 json={"note": "restart test"})
        response.raise_for_status()
        alice.token = response.json()["token"]
        alice.start(poll)
        ws = alice.kernel()
        before = json.loads(run_in_kernel(ws, alice.headers, _SETUP.format(source=_KIND), 240))
        assert before["state"] == "running", before

        archive = f"{alice.url}services/archive/"
        finished = _tap_job(archive, alice.headers, "SELECT COUNT(*) AS n FROM TAP_SCHEMA.tables", run=True)
        poll(lambda: _phase(finished, alice.headers) == "COMPLETED", 60, "the TAP job to complete")
        result = requests.get(f"{finished}/results/result", headers=alice.headers, timeout=30)
        assert result.status_code == 200, result.text
        pending = _tap_job(archive, alice.headers, "SELECT TOP 1 * FROM TAP_SCHEMA.schemas", run=False)

        supervisor = json.loads((data / "state" / "status.json").read_text())["pid"]
        tree = [p.pid for p in psutil.Process(supervisor).children(recursive=True)]
        assert before["pid"] in tree, "the job's runner is not under the supervisor"
    except BaseException:
        _down(data)
        raise
    _down(data)
    left = _processes(tree)
    assert not left, f"left after down: {[' '.join(p.cmdline()) for p in left]}"

    _up(args)
    try:
        model = alice.model()
        assert model["servers"] == {} and not model["pending"], model
        job = jobs.get_job(before["job"], settings=PlatformSettings(home=data / "home" / "alice"))
        assert job.status() == "failed" and "the platform was stopped" in job.info()["error"], job.info()
        from dask_gateway import Gateway
        from dask_gateway.auth import JupyterHubAuth

        with Gateway(address=f"{alice.url}services/dask-gateway", auth=JupyterHubAuth(api_token=alice.token),
                     proxy_address=f"gateway://127.0.0.1:{gateway_port}") as gateway:
            assert before["cluster"] not in [c.name for c in gateway.list_clusters()]
            with pytest.raises(Exception, match=before["cluster"]):
                gateway.connect(before["cluster"])
        assert _phase(finished, alice.headers) == "COMPLETED"
        again = requests.get(f"{finished}/results/result", headers=alice.headers, timeout=30)
        assert again.status_code == 200 and again.content == result.content
        assert _phase(pending, alice.headers) == "PENDING"
        alice.start(poll)  # she starts her server again
    finally:
        _down(data)
        gc.collect()
