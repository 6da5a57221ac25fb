"""The platform's life cycle: Ctrl-C or ``astrohub down`` stops every process it started.

``up`` in the foreground, then Ctrl-C: user servers are stopped too (no gateway, no archive).
``up --detach``: its banner's URL and passwords log in through the real login form, and ``down``
stops a user's running Dask scheduler and workers. ``up --detach --owner PID`` (what the session
fixture runs): when the owner is killed, so that no teardown runs, the platform stops by itself. Each
test runs its own small platform so that the session's platform is untouched.
"""

from __future__ import annotations

import gc
import json
import re
import signal
import socket
import subprocess
import sys
import textwrap

import psutil
import requests
from numba_cache import platform_environment  # tests/support/: `up` without the test run's numba cache

from platform_lib.local.ports import check_ports_free, free_ports


def test_ctrl_c_stops_everything_and_leaves_no_orphans(tmp_path, poll):
    data = tmp_path / "data"
    hub, hub_api, proxy_api = free_ports(3)
    up = subprocess.Popen(
        [sys.executable, "-m", "platform_lib", "up", "--data-dir", str(data),
         "--set", f"hub.port={hub}", "--set", f"hub.hub_port={hub_api}", "--set", f"hub.proxy_api_port={proxy_api}",
         "--set", "gateway.enabled=false", "--set", "archive.enabled=false", "--set", "classes.enabled=false",
         "--set", "users.run_as_system_users=false"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=platform_environment(),
    )
    try:
        status_file = data / "state" / "status.json"
        poll(lambda: status_file.exists() and json.loads(status_file.read_text()).get("ready"), 120, "ready")
        banner = ""
        while "ready in" not in banner and up.poll() is None:  # printed once ready
            banner += up.stdout.readline()
        # the banner's next step, typed as printed in another shell, whose PATH has no .venv/bin: add people.
        # first9: it said `astrohub users add ...` (command not found there), and with `up` in the foreground
        # (what `make up` runs) that answered "no platform was started on ...": only `up --detach` wrote up-config.json
        (tmp_path / "roster.csv").write_text("username\ndave\n")
        add_people = re.search(r"add people:\s+(.+?)\s+\(CSV", banner).group(1)
        added = subprocess.run(add_people, shell=True, cwd=tmp_path, env={"PATH": "/usr/bin:/bin"},
                               capture_output=True, text=True, timeout=120)
        assert added.returncode == 0 and "+ user dave" in added.stdout, (add_people, added.stdout + added.stderr)
        token = json.loads((data / "state" / "tokens.json").read_text())["cli"]
        api = f"http://127.0.0.1:{hub}/hub/api"
        headers = {"Authorization": f"token {token}"}
        requests.post(f"{api}/users/dave/server", headers=headers, timeout=60).raise_for_status()
        poll(lambda: requests.get(f"{api}/users/dave", headers=headers, timeout=30).json()["servers"].get("", {}).get("ready"),
              90, "dave's server")
        tree = psutil.Process(up.pid).children(recursive=True)
        names = " ".join(" ".join(p.cmdline()) for p in tree)
        assert "configurable-http-proxy" in names and "jupyterhub-singleuser" in names and "jupyterhub" in names
        up.send_signal(signal.SIGINT)  # what Ctrl-C sends
        output, _ = up.communicate(timeout=120)
    finally:
        if up.poll() is None:  # a check above failed: stop it as Ctrl-C does (a kill left the hub and proxy running)
            up.send_signal(signal.SIGINT)
            try:
                up.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                up.kill()
    assert up.returncode == 0, output
    assert "stopped" in output
    _, alive = psutil.wait_procs(tree, timeout=5)
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE], f"orphans: {alive}"
    assert not (data / "state" / "astrohub.pid").exists()


#: What the owner runs: ``astrohub up --detach --owner <its own pid>``, then it waits to be killed.
_OWNER = textwrap.dedent("""
    import os, subprocess, sys, time
    up = subprocess.run([sys.executable, "-m", "platform_lib", "up", "--detach", "--owner", str(os.getpid()),
                         *sys.argv[1:]], capture_output=True, text=True)
    print("started" if up.returncode == 0 else up.stdout + up.stderr, flush=True)
    time.sleep(600 if up.returncode == 0 else 0)
""")


def _exited(proc: psutil.Process) -> bool:
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_platform_stops_when_its_owner_is_killed(tmp_path, poll):
    """SIGKILL the process that started the platform (no teardown runs): every process of the platform
    is gone, the lock released and the ports free, through the supervisor's own stop."""
    data = tmp_path / "data"
    ports = free_ports(3)
    owner = subprocess.Popen(
        [sys.executable, "-c", _OWNER, "--data-dir", str(data),
         "--set", f"hub.port={ports[0]}", "--set", f"hub.hub_port={ports[1]}", "--set", f"hub.proxy_api_port={ports[2]}",
         "--set", "gateway.enabled=false", "--set", "archive.enabled=false", "--set", "classes.enabled=false",
         "--set", "sample_data.enabled=false", "--set", "users.run_as_system_users=false"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=platform_environment(),
    )
    tree: list[psutil.Process] = []
    try:
        line = owner.stdout.readline()
        assert line == "started\n", line + owner.stdout.read()
        supervisor = psutil.Process(json.loads((data / "state" / "status.json").read_text())["pid"])
        tree = [supervisor, *supervisor.children(recursive=True)]
        names = " ".join(" ".join(p.cmdline()) for p in tree)
        assert "configurable-http-proxy" in names and "jupyterhub" in names, names
        owner.kill()
        owner.wait(timeout=30)
        # The supervisor notices within 0.5 s; the hub's and the proxy's grace is 20 s + 5 s at most.
        poll(lambda: all(_exited(p) for p in tree), 60, "every process of the platform to exit")
    finally:
        if owner.poll() is None:
            owner.kill()
        for proc in tree:  # only when the test failed: leave nothing behind
            if not _exited(proc):
                proc.kill()
    assert not (data / "state" / "astrohub.pid").exists()
    check_ports_free(dict(zip(["hub.port", "hub.hub_port", "hub.proxy_api_port"], ports)), "127.0.0.1")
    log = (data / "state" / "logs" / "supervisor.log").read_text()
    assert f"stopping (owner pid {owner.pid} exited)" in log, log[-2000:]


def _login(url: str, user: str, password: str) -> int:
    """The status of a login through the hub's real login form (302 = logged in)."""
    session = requests.Session()
    session.get(f"{url}hub/login", timeout=30).raise_for_status()
    response = session.post(f"{url}hub/login", timeout=30, allow_redirects=False, data={
        "username": user, "password": password, "_xsrf": session.cookies.get("_xsrf")})
    return response.status_code


def _register(url: str, user: str, code: str, password: str) -> int:
    """The status of a first sign-in at /hub/register (302 = registered and logged in)."""
    session = requests.Session()
    session.get(f"{url}hub/register", timeout=30).raise_for_status()
    response = session.post(f"{url}hub/register", timeout=30, allow_redirects=False, data={
        "username": user, "class_code": code, "password": password, "password2": password,
        "_xsrf": session.cookies.get("_xsrf")})
    return response.status_code


def _cluster_processes(name: str) -> list[psutil.Process]:
    """Every process of the dask-gateway cluster ``name`` (the backend sets DASK_GATEWAY_CLUSTER_NAME)."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("DASK_GATEWAY_CLUSTER_NAME") == name and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


#: A notebook kernel's Dask cell (run by ``python -c`` with the gateway's address, proxy and the user's token): a
#: cluster (``shutdown_on_close``, as ``new_cluster()`` makes it) with a client; ``1``: and one worker. Prints the
#: cluster's name once its client is connected, then waits to be killed.
_KERNEL = textwrap.dedent("""
    import sys, time
    from dask_gateway import Gateway
    from dask_gateway.auth import JupyterHubAuth

    address, proxy, token, workers = sys.argv[1:]
    cluster = Gateway(address=address, proxy_address=proxy, auth=JupyterHubAuth(api_token=token)).new_cluster()
    cluster.scale(int(workers))
    client = cluster.get_client()
    if int(workers):
        client.wait_for_workers(int(workers), timeout=120)
    print(cluster.name, flush=True)
    time.sleep(600)
""")


def test_banner_logins_and_down_stops_dask_clusters(tmp_path, poll):
    """``up --detach`` prints the URL and passwords that work; the gateway stops the cluster of a kernel that died;
    ``down`` leaves no scheduler or worker."""
    from dask_gateway import Gateway
    from dask_gateway.auth import JupyterHubAuth

    data = tmp_path / "data"
    hub, hub_api, proxy_api, gateway_port = free_ports(4)
    base = [sys.executable, "-m", "platform_lib"]
    up = subprocess.run(
        [*base, "up", "--detach", "--data-dir", str(data),
         "--set", f"hub.port={hub}", "--set", f"hub.hub_port={hub_api}", "--set", f"hub.proxy_api_port={proxy_api}",
         "--set", f"gateway.port={gateway_port}", "--set", "archive.enabled=false", "--set", "classes.enabled=false",
         "--set", "users.run_as_system_users=false",
         # a cluster whose clients have all gone is stopped 2 s after (5 min by default)
         "--set", "gateway.no_client_timeout=2"],
        capture_output=True, text=True, timeout=240, env=platform_environment(),
    )
    assert up.returncode == 0, up.stdout + up.stderr
    kernels: dict[str, subprocess.Popen] = {}
    try:
        url = re.search(r"astrohub is running at (\S+)", up.stdout).group(1)
        admin_user, admin_password = re.search(r"admin login:\s+(\S+) / (\S+)", up.stdout).groups()
        class_code = re.search(r"class code:\s+(\S+)\s+\(people on the roster", up.stdout).group(1)
        assert url == f"http://127.0.0.1:{hub}/"
        assert admin_user == "admin"
        assert f"--data-dir {data}" in up.stdout

        token = json.loads((data / "state" / "tokens.json").read_text())["cli"]
        api = f"{url}hub/api"
        headers = {"Authorization": f"token {token}"}
        requests.post(f"{api}/users/erin", headers=headers, timeout=30).raise_for_status()
        assert _login(url, admin_user, admin_password) == 302
        assert _login(url, "erin", class_code) != 302  # the class code signs nobody in...
        assert _register(url, "erin", class_code, "erins-own-pw") == 302  # ...it lets erin set her password
        assert _login(url, "erin", "erins-own-pw") == 302
        assert _login(url, "erin", admin_password) != 302  # each password only for its users
        assert _login(url, admin_user, class_code) != 302

        erin_token = requests.post(f"{api}/users/erin/tokens", headers=headers, timeout=30).json()["token"]
        address, proxy = f"{url}services/dask-gateway", f"gateway://127.0.0.1:{gateway_port}"
        # Two of erin's kernels, each with a cluster and its client. One is killed (as for memory: no atexit, so
        # dask-gateway's stop on close never runs): the gateway stops its cluster once its client has been gone
        # 2 s; it ran until the 30 min idle timeout, counting as erin's activity. The other's stays, client and all.
        kernels.update({workers: subprocess.Popen([sys.executable, "-c", _KERNEL, address, proxy, erin_token, workers],
                                                  stdout=subprocess.PIPE, text=True) for workers in ("0", "1")})
        dead, name = (kernels[w].stdout.readline().strip() for w in ("0", "1"))
        assert dead and name, [k.poll() for k in kernels.values()]
        kernels["0"].kill()
        gateway = Gateway(address=address, proxy_address=proxy, auth=JupyterHubAuth(api_token=erin_token))
        with gateway:
            poll(lambda: dead not in [c.name for c in gateway.list_clusters()], 60,
                 "the gateway to stop the dead kernel's cluster")
            assert [c.name for c in gateway.list_clusters()] == [name]  # its client is connected
        del gateway
        gc.collect()  # finalize the gateway's objects now (CPython < 3.11.5 gh-106905, see conftest.py)
        procs = poll(lambda: (lambda p: p if len(p) >= 2 else None)(_cluster_processes(name)), 30,
                      "the scheduler and a worker")
        commands = " ".join(" ".join(p.cmdline()) for p in procs)
        assert "dasknode scheduler" in commands and "dasknode worker" in commands, commands
    finally:
        down = subprocess.run([*base, "down", "--data-dir", str(data)], capture_output=True, text=True, timeout=180)
        for kernel in kernels.values():
            kernel.kill()
            kernel.communicate(timeout=30)
    assert down.returncode == 0, down.stdout + down.stderr
    _, alive = psutil.wait_procs(procs, timeout=5)
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE], f"left after down: {alive}"
    assert not _cluster_processes(name)


def test_up_with_only_a_public_port_beside_a_platform_on_the_defaults(tmp_path):
    """first17: ``up --port P`` while another program (here: the test, or another platform on this machine) holds
    the hub's default internal ports failed with "port 8081 (hub.hub_port) is already in use" until the operator
    set five ports. It now starts, on P + 1 and P + 2, and says so (that the same ``up`` after ``down`` gets the same
    ports, derived from P, is test_local_plan's: one real start here keeps CI's time)."""
    data = tmp_path / "data"
    while True:  # a public port whose two neighbours are free too (free_ports holds all three for this run)
        public, *neighbours = free_ports(3)
        if neighbours == [public + 1, public + 2]:
            break
    held = []
    for port in (8081, 8001):  # hub.hub_port's and hub.proxy_api_port's defaults: taken, by us or by another
        sock = socket.socket()
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen()
            held.append(sock)
        except OSError:
            sock.close()
    base = [sys.executable, "-m", "platform_lib"]
    up_args = [*base, "up", "--detach", "--port", str(public), "--data-dir", str(data),
               "--set", "gateway.enabled=false", "--set", "archive.enabled=false", "--set", "classes.enabled=false",
               "--set", "sample_data.enabled=false", "--set", "users.run_as_system_users=false"]
    try:
        up = subprocess.run(up_args, capture_output=True, text=True, timeout=240, env=platform_environment())
        try:
            assert up.returncode == 0, up.stdout + up.stderr
            assert f"port 8081 (hub.hub_port) is in use by another program; using {public + 1}" in up.stdout
            assert f"port 8001 (hub.proxy_api_port) is in use by another program; using {public + 2}" in up.stdout
            running = json.loads((data / "state" / "up-config.json").read_text())["hub"]
            assert (running["port"], running["hub_port"], running["proxy_api_port"]) == (public, public + 1,
                                                                                       public + 2)
            assert requests.get(f"http://127.0.0.1:{public}/hub/api", timeout=30).status_code == 200
            status = subprocess.run([*base, "status", "--data-dir", str(data)], capture_output=True, text=True,
                                    timeout=120)
            assert status.returncode == 0, status.stdout + status.stderr
        finally:
            down = subprocess.run([*base, "down", "--data-dir", str(data)], capture_output=True, text=True,
                                  timeout=180)
        assert down.returncode == 0, down.stdout + down.stderr
    finally:
        for sock in held:
            sock.close()
