"""astrohub_server on a real Jupyter server: warm kernels and the lazily imported Dask sidebar.

Each test starts ``jupyter server`` (the real one, as a subprocess on a free port, in a temporary
root folder) with the ``astrohub_server`` extension, then drives it through its REST API and kernel
websocket as JupyterLab does. Which process a kernel runs in is read from the server's children
(psutil) and from ``os.getpid()`` inside the kernel.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import pytest
import requests

from platform_lib.local.ports import free_ports

TOKEN = "warm-kernels-test"
#: What a notebook's code can see of where and as what it runs; equal for a warm and a fresh kernel.
PROBE = (
    "import os, sys, json; print(json.dumps({'pid': os.getpid(), 'cwd': os.getcwd(), "
    "'session': __session__, 'env': os.environ.get('JPY_SESSION_NAME'), 'dh': [str(p) for p in _dh], "
    "'dh_type': type(_dh[0]).__name__, 'path': sys.path, 'count': get_ipython().execution_count, "
    "'history': len(In), 'names': sorted(k for k in globals() if not k.startswith('_'))}))"
)


class Server:
    """A running ``jupyter server`` and the calls the tests make to it."""

    def __init__(self, root: Path, log: Path, runner, *args: str) -> None:
        (self.port,) = free_ports(1)
        self.runner = runner
        self.root, self.log = root, log
        self.url = f"http://127.0.0.1:{self.port}/"
        self.headers = {"Authorization": f"token {TOKEN}"}
        cmd = [
            sys.executable, "-m", "jupyter_server", f"--port={self.port}", "--ip=127.0.0.1", "--no-browser",
            f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}", "--ServerApp.allow_root=True",
            "--ServerApp.jpserver_extensions=astrohub_server=True", "--log-level=DEBUG", *args,
        ]
        with log.open("w") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=root)

    def up(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"the server exited: {self.log.read_text()[-3000:]}")
        try:
            return requests.get(f"{self.url}api/status", headers=self.headers, timeout=2).ok
        except requests.ConnectionError:
            return False

    def kernel_processes(self) -> set[int]:
        """The server's live kernel processes (warm or not)."""
        pids = set()
        for child in psutil.Process(self.proc.pid).children():
            try:
                if "ipykernel" in " ".join(child.cmdline()):
                    pids.add(child.pid)
            except psutil.NoSuchProcess:  # gone, or a zombie not yet reaped (ZombieProcess)
                pass
        return pids

    def open_notebook(self, path: str) -> str:
        """Start a kernel for ``path`` as JupyterLab does (a session); return its id."""
        body = {"path": path, "name": Path(path).name, "type": "notebook", "kernel": {"name": "python3"}}
        response = requests.post(f"{self.url}api/sessions", headers=self.headers, json=body, timeout=120)
        assert response.status_code == 201, response.text
        return response.json()["kernel"]["id"]

    def run(self, kernel_id: str, code: str) -> str:
        """``code``'s stdout, run in the kernel over its websocket (as JupyterLab does)."""
        return self.runner(f"ws://127.0.0.1:{self.port}/api/kernels/{kernel_id}/channels", self.headers, code, 120)

    def probe(self, kernel_id: str) -> dict:
        return json.loads(self.run(kernel_id, PROBE))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(60)


@pytest.fixture
def start_server(tmp_path, poll, run_in_kernel):
    """``start_server(*args)``: a running server with a ``sub`` folder; stopped at the end."""
    servers = []

    def start(*args: str) -> Server:
        root = tmp_path / f"root{len(servers)}"
        (root / "sub").mkdir(parents=True)
        server = Server(root, tmp_path / f"server{len(servers)}.log", run_in_kernel, *args)
        servers.append(server)
        poll(server.up, timeout=120, what="the Jupyter server")
        return server

    yield start
    for server in servers:
        server.stop()


def test_a_notebook_gets_the_warm_kernel_which_then_is_the_kernel_a_fresh_start_makes(start_server, poll):
    warm = start_server("--WarmKernels.count=1")
    poll(lambda: len(warm.kernel_processes()) == 1, timeout=60, what="the warm kernel")
    (warm_pid,) = warm.kernel_processes()
    kernel = warm.open_notebook("sub/analysis.ipynb")
    seen = warm.probe(kernel)
    assert seen["pid"] == warm_pid  # the notebook runs in the process that was started beforehand
    assert seen["cwd"] == str(warm.root / "sub")
    assert seen["session"] == seen["env"] == str(warm.root / "sub" / "analysis.ipynb")
    # a replacement is started, and only the notebook's kernel is listed
    poll(lambda: len(warm.kernel_processes()) == 2, timeout=60, what="the replacement warm kernel")
    listed = requests.get(f"{warm.url}api/kernels", headers=warm.headers, timeout=30).json()
    assert [k["id"] for k in listed] == [kernel]
    assert "is warm kernel" in warm.log.read_text()

    fresh = start_server("--WarmKernels.count=0")
    assert fresh.kernel_processes() == set()
    fresh_seen = fresh.probe(fresh.open_notebook("sub/analysis.ipynb"))
    assert fresh_seen["dh"] == [fresh_seen["cwd"]] and seen["dh"] == [seen["cwd"]]
    for key in ("pid", "cwd", "session", "env", "dh"):  # differ by the root folder and the process only
        fresh_seen.pop(key), seen.pop(key)
    assert seen == fresh_seen  # sys.path, _dh's type, execution count, history, user names


def test_an_adopted_kernel_interrupts_restarts_and_ends_with_the_server(start_server, poll):
    server = start_server("--WarmKernels.count=1")
    poll(lambda: len(server.kernel_processes()) == 1, timeout=60, what="the warm kernel")
    kernel = server.open_notebook("sub/a.ipynb")
    adopted = server.probe(kernel)["pid"]
    # interrupt: the signal reaches the adopted process (its process group is the manager's now)
    code = "import time\ntry:\n    time.sleep(60)\nexcept KeyboardInterrupt:\n    print('interrupted')"
    result = {}
    runner = threading.Thread(target=lambda: result.setdefault("out", server.run(kernel, code)))
    runner.start()
    poll(lambda: requests.get(f"{server.url}api/kernels/{kernel}", headers=server.headers, timeout=10)
         .json()["execution_state"] == "busy", timeout=30, what="the kernel to be busy")
    assert requests.post(f"{server.url}api/kernels/{kernel}/interrupt", headers=server.headers, timeout=30).status_code == 204
    runner.join(60)
    assert result.get("out", "").strip() == "interrupted"
    # restart: a new process, in the same folder
    restarted = requests.post(f"{server.url}api/kernels/{kernel}/restart", headers=server.headers, timeout=120)
    assert restarted.status_code == 200, restarted.text
    again = server.probe(kernel)
    assert again["pid"] != adopted and again["cwd"] == str(server.root / "sub")
    assert not psutil.pid_exists(adopted)
    # the server's end takes the kernel and the warm replacement with it
    poll(lambda: len(server.kernel_processes()) == 2, timeout=60, what="the replacement warm kernel")
    pids = server.kernel_processes()
    server.stop()
    poll(lambda: not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in pids),
         timeout=30, what="the kernels to end with the server")


def test_a_warm_kernel_that_died_is_replaced_by_a_fresh_start(start_server, poll):
    server = start_server("--WarmKernels.count=1")
    poll(lambda: len(server.kernel_processes()) == 1, timeout=60, what="the warm kernel")
    (dead,) = server.kernel_processes()
    os.kill(dead, signal.SIGKILL)
    poll(lambda: psutil.Process(dead).status() == psutil.STATUS_ZOMBIE if psutil.pid_exists(dead) else True,
         timeout=30, what="the warm kernel to die")
    kernel = server.open_notebook("sub/b.ipynb")
    seen = server.probe(kernel)
    assert seen["pid"] != dead and seen["cwd"] == str(server.root / "sub")
    assert "had exited; dropped" in server.log.read_text()


def test_the_dask_sidebar_routes_answer_with_dask_labextension_imported_on_first_use(start_server):
    lazy = start_server("--WarmKernels.count=0", "--ServerApp.jpserver_extensions=dask_labextension=False")
    log = lazy.log.read_text()
    assert "Extension package dask_labextension" not in log  # not imported while the server started
    answer = requests.get(f"{lazy.url}dask/clusters", headers=lazy.headers, timeout=60)
    assert answer.status_code == 200 and answer.json() == []
    unknown = requests.get(f"{lazy.url}dask/clusters/0-0-0-0-0", headers=lazy.headers, timeout=60)
    assert unknown.status_code == 404  # dask_labextension's own answer for an unknown cluster
    assert requests.get(f"{lazy.url}dask/clusters", timeout=60).status_code == 403  # its authentication too


def test_the_lazy_routes_are_dask_labextensions_own():
    """The routes astrohub_server registers are the ones dask_labextension's loader would (same order).

    Run in a child process: importing dask_labextension creates its cluster manager on the current
    event loop, which a test process may not have.
    """
    from astrohub_server.dask_sidebar import ROUTES

    probe = (
        "import json, dask_labextension\n"
        "class App:\n"
        "    settings = {'base_url': '/base/'}\n"
        "    def add_handlers(self, host, handlers):\n"
        "        self.handlers = handlers\n"
        "class ServerApp:\n"
        "    web_app = App()\n"
        "load = getattr(dask_labextension, '_load_jupyter_server_extension', None) "
        "or dask_labextension.load_jupyter_server_extension\n"
        "load(ServerApp)\n"
        "print(json.dumps([[p, c.__name__] for p, c in ServerApp.web_app.handlers]))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    # the cluster routes answer with astrohub_server.dask_clusters.ClusterHandler, a DaskClusterHandler; the
    # dashboard check and the dashboard proxy with astrohub_server.dask_dashboard's same-named subclasses (they
    # sign in to the gateway)
    assert json.loads(result.stdout) == [
        ["/base/" + path, "DaskClusterHandler" if name == "ClusterHandler" else name]
        for path, (module, name) in ROUTES
    ]
    assert {name for _, (module, name) in ROUTES if module != "dask_labextension"} == {
        "ClusterHandler", "DaskDashboardCheckHandler", "DaskDashboardHandler"}


def test_the_spawners_command_starts_the_first_warm_kernel_before_the_server(tmp_path):
    """``singleuser_command(prelaunch_kernel=True)`` starts a kernel first; it ends when the process does."""
    from astrohub_hub.local import singleuser_command

    (tmp_path / "probe.py").write_text(
        "def main():\n"
        "    from astrohub_server import kernels\n"
        "    (km,) = kernels._PRELAUNCHED\n"
        "    print(km.provisioner.process.pid, km.provisioner.process.poll(), km.kernel_name, flush=True)\n"
        "    return 0\n"
    )
    result = subprocess.run(
        singleuser_command(sys.executable, (), entry="probe:main", prelaunch_kernel=True),
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    pid, status, name = result.stdout.split()
    assert status == "None" and name == "python3"  # it was running while the "server" ran
    assert not psutil.pid_exists(int(pid)) or psutil.Process(int(pid)).status() == psutil.STATUS_ZOMBIE
