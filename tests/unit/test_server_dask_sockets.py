"""Unit tests of astrohub_server.dask_sockets: the user's dashboard folder and the Dask processes that serve HTTP
there, on Unix sockets, instead of on a TCP port.

(Another account refused, the owner's server proxying the socket, on the running platform:
tests/integration/test_security_dask.py.)
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tempfile

import pytest

from astrohub_server.dask_sockets import (
    FOLDER_ENV, LINK, PORT_ROUTE, PRELOAD, ROUTE, private_folder, socket_path, use_private_dashboards,
)

_PRELOADS = ("DASK_DISTRIBUTED__SCHEDULER__PRELOAD", "DASK_DISTRIBUTED__WORKER__PRELOAD")


@pytest.fixture
def tmpdir_env(tmp_path, monkeypatch):
    """``tempfile``'s folder is ``tmp_path`` (as the user's private scratch is ``TMPDIR`` on the platform)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_the_server_makes_one_private_folder_and_names_the_preload_and_link_for_its_kernels(tmpdir_env):
    env = {"JUPYTERHUB_SERVICE_PREFIX": "/user/sam/"}
    folder = use_private_dashboards(env)
    info = os.stat(folder)
    assert os.path.dirname(folder) == str(tmpdir_env)
    assert info.st_uid == os.geteuid() and (info.st_mode & 0o777) == 0o700
    assert env[FOLDER_ENV] == folder
    for key in _PRELOADS:  # as dask parses the environment: a list naming the preload
        assert ast.literal_eval(env[key]) == [PRELOAD]
    assert env["DASK_DISTRIBUTED__DASHBOARD__LINK"] == LINK
    assert use_private_dashboards(env) == folder  # the prelaunched kernel's call, then the extension's
    assert socket_path(123456, env) == os.path.join(folder, "123456.sock")


def test_without_the_hub_the_link_is_below_the_servers_base_url(tmpdir_env):
    env: dict[str, str] = {}
    use_private_dashboards(env, base_url="/lab-server/")
    assert env["DASK_DISTRIBUTED__DASHBOARD__LINK"] == "/lab-server/dask/local/{port}/status"
    bare: dict[str, str] = {}
    use_private_dashboards(bare)  # nothing to link below: distributed's own link, which formats
    assert "DASK_DISTRIBUTED__DASHBOARD__LINK" not in bare


def test_an_operators_own_preloads_are_kept_after_the_platforms(tmpdir_env):
    env = {"DASK_DISTRIBUTED__SCHEDULER__PRELOAD": "['my_setup', 'other']",
           "DASK_DISTRIBUTED__WORKER__PRELOAD": "my_worker_setup"}
    use_private_dashboards(env)
    assert ast.literal_eval(env["DASK_DISTRIBUTED__SCHEDULER__PRELOAD"]) == [PRELOAD, "my_setup", "other"]
    assert ast.literal_eval(env["DASK_DISTRIBUTED__WORKER__PRELOAD"]) == [PRELOAD, "my_worker_setup"]


def test_a_folder_that_is_not_the_users_alone_is_refused_or_replaced(tmpdir_env):
    shared = tmpdir_env / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    with pytest.raises(PermissionError, match="only it may enter"):
        private_folder(str(shared))
    link = tmpdir_env / "link"
    link.symlink_to(tmpdir_env)
    with pytest.raises(PermissionError, match="only it may enter"):
        private_folder(str(link))
    env = {FOLDER_ENV: str(shared)}  # a server never keeps such a folder: it makes its own
    folder = use_private_dashboards(env)
    assert folder != str(shared) and (os.stat(folder).st_mode & 0o777) == 0o700
    gone = tmpdir_env / "gone"  # a Dask process that finds its folder removed makes it again, 0700
    assert private_folder(str(gone)) == str(gone) and (gone.stat().st_mode & 0o777) == 0o700


def test_a_temporary_folder_too_deep_for_a_socket_address_gives_way_to_a_new_one_in_tmp(tmp_path, monkeypatch):
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    env: dict[str, str] = {}
    folder = use_private_dashboards(env)
    try:
        assert os.path.dirname(folder) == "/tmp" and (os.stat(folder).st_mode & 0o777) == 0o700
        assert len(socket_path(999999, env)) <= 107
        assert os.listdir(deep) == []
    finally:
        os.rmdir(folder)


_CLUSTER = """
import json, os, socket, sys
from astrohub_server.dask_sockets import use_private_dashboards
os.environ["JUPYTERHUB_SERVICE_PREFIX"] = "/user/sam/"
folder = use_private_dashboards()  # what the server does for its kernels, before dask reads its configuration
if sys.argv[1:] == ["own-python"]:  # a Python of the user's own: dask, but not the platform's packages
    sys.modules["astrohub_server"] = None
    del sys.modules["astrohub_server.dask_sockets"]
import psutil
from dask.distributed import Client, LocalCluster
with LocalCluster(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=":0") as cluster, \\
        Client(cluster) as client:
    me = psutil.Process()
    listening = [c.laddr.port for c in me.net_connections("tcp") if c.status == psutil.CONN_LISTEN]
    http = []
    for port in listening:  # the comms' ports (plain TCP here) are not HTTP servers
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.settimeout(2)
        s.sendall(b"GET /health HTTP/1.0\\r\\n\\r\\n")
        try:
            http.append(s.recv(12).startswith(b"HTTP/"))
        except OSError:
            http.append(False)
        s.close()
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(cluster.scheduler.http_server.address)
    sock.sendall(b"GET /individual-plots.json HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n")
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    sockets = sorted(os.listdir(folder))
    out = {"link": client.dashboard_link, "folder": folder, "sockets": sockets, "http_on_tcp": any(http),
           "scheduler": cluster.scheduler.http_server.address, "port": cluster.scheduler.http_server.port,
           "plots": json.loads(answer.split(b"\\r\\n\\r\\n", 1)[1])}
out["left"] = os.listdir(folder)
print(json.dumps(out))
"""


@pytest.mark.parametrize("python", ["platform", "own-python"])
def test_a_local_clusters_scheduler_and_worker_serve_http_on_sockets_in_the_folder_not_on_tcp(tmp_path, python):
    """A fresh Python, as a kernel: with the server's variables, the scheduler and its worker listen on no TCP
    HTTP port; the scheduler's dashboard answers on ``<folder>/<id>.sock``, its link names that id below the
    server's base URL, and both sockets are removed when the cluster closes. The same in a Python of the user's
    own (a virtual environment with dask, where ``astrohub_server`` is not importable): a preload named as a
    module failed every cluster there ("No module named 'astrohub_server'")."""
    env = {**os.environ, "TMPDIR": str(tmp_path), "DASK_TEMPORARY_DIRECTORY": str(tmp_path)}
    for key in (FOLDER_ENV, *_PRELOADS, "DASK_DISTRIBUTED__DASHBOARD__LINK"):
        env.pop(key, None)
    done = subprocess.run([sys.executable, "-c", _CLUSTER, python], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["folder"].startswith(str(tmp_path)), out
    assert out["http_on_tcp"] is False, out
    ident = out["port"]
    assert 100_000 <= ident < 1_000_000 and out["scheduler"] == os.path.join(out["folder"], f"{ident}.sock"), out
    assert out["link"] == f"/user/sam/dask/local/{ident}/status", out
    assert len(out["sockets"]) == 2 and f"{ident}.sock" in out["sockets"], out  # the scheduler's and the worker's
    assert "Individual Task Stream" in out["plots"], out
    assert out["left"] == [], out


@pytest.mark.parametrize(("path", "socket_id", "port"), [
    ("dask/local/401234/status", "401234", None),           # a socket's id: six digits
    ("dask/local/8787/status", None, "8787"),               # a TCP port (a scheduler with its own preload)
    ("dask/local/65535", None, "65535"),
    ("dask/local/1234567/status", None, None),              # neither
    ("dask/local/abc/status", None, None),
])
def test_a_links_socket_id_and_tcp_port_take_separate_routes(path, socket_id, port):
    """dask20: the link names a socket's id (six digits) or, for a scheduler on TCP, its port (at most five); each
    has its route (the socket's proxy, or the server's proxy/<port>/), and no path matches both."""
    import re

    by_socket, by_port = re.fullmatch(ROUTE, path), re.fullmatch(PORT_ROUTE, path)
    assert (by_socket and by_socket["ident"]) == socket_id
    assert (by_port and by_port["port"]) == port
