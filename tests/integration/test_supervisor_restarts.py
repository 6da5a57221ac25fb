"""The supervisor restarts a crashed hub or proxy while users' servers keep running, and reaps orphans.

Issue 22, item 7. On today's main, killing the hub made the supervisor stop the whole platform
(every user's server, job and cluster), and adopted orphans stayed zombies. Here, on the session
``platform``: a user's kernel leaves orphans that exit (they are re-parented to the supervisor, a
child subreaper) and the test counts the supervisor's zombie children; then the hub and the proxy are
SIGKILLed in turn, and the same server process (same pid) answers through a restarted proxy; then
the gateway is SIGKILLed under a running cluster, which the restarted gateway lists and runs work on
(its database is a file now; it was in memory, so a restart forgot every cluster). With the hub
killed, the archive keeps answering (see ``test_the_archive_keeps_serving_while_the_hub_is_down``).
A user's background job (submitted in their kernel) and Dask cluster, both running when the hub is
killed, finish and compute after its restart, the job in the same runner process
(``test_a_users_job_and_cluster_keep_running_through_a_hub_restart``).
"""

from __future__ import annotations

import json
import os
import signal

import psutil
import pytest


pytestmark = pytest.mark.usefixtures("collect_dask_clients")  # conftest: CPython < 3.11.5, gh-106905


def _status(platform) -> dict:
    return json.loads((platform.data_dir / "state" / "status.json").read_text())


def _zombies(pid: int) -> list[int]:
    return [c.pid for c in psutil.Process(pid).children() if c.status() == psutil.STATUS_ZOMBIE]


@pytest.fixture(scope="module")
def survivor(platform):
    with platform.user_with_server("survivor") as user:
        yield user


def _hub_and_server_answer(platform, user: str) -> bool:
    """Whether the hub's API and ``user``'s server (through the proxy) both answer 200 (not yet: False)."""
    try:
        return platform.api("GET", "/").status_code == 200 and \
            platform.server_get(user, "api/status").status_code == 200
    except Exception:  # noqa: BLE001 - not back yet
        return False


def _server_pid(user: str) -> int:
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if "jupyterhub-singleuser" in " ".join(proc.info["cmdline"] or []) and \
                    proc.environ().get("JUPYTERHUB_USER") == user:
                return proc.pid
        except psutil.Error:
            continue
    raise AssertionError(f"no server process of {user}")


def test_adopted_orphans_are_reaped(platform, survivor, poll):
    """The orphans are seen adopted by the supervisor, then ended by the test: they are reaped. (The orphans slept
    0.3 s and the test 0.5 s, then looked for zombies: orphans not yet exited, or never adopted by the supervisor
    (no subreaper: init reaps them), left no zombie to find, and the test passed.)"""
    supervisor = _status(platform)["pid"]
    out = platform.execute(survivor, "import subprocess\nfor _ in range(5):\n    print(subprocess.run(['sh', '-c', "
                                     "'sleep 600 >/dev/null 2>&1 & echo $!'], check=True, capture_output=True, "
                                     "text=True).stdout.strip())\n")
    orphans = [int(pid) for pid in out.split()]
    assert len(orphans) == 5, out
    assert [psutil.Process(pid).ppid() for pid in orphans] == [supervisor] * 5  # their shell exited: adopted

    def gone(pid: int) -> bool:
        try:
            return psutil.Process(pid).ppid() != supervisor  # (its pid taken by another process meanwhile)
        except psutil.NoSuchProcess:
            return True

    for pid in orphans:
        os.kill(pid, signal.SIGKILL)  # each becomes the supervisor's zombie until it reaps it
    poll(lambda: all(gone(pid) for pid in orphans), 30, "the supervisor to reap its adopted orphans")
    assert not _zombies(supervisor)


@pytest.mark.parametrize("component", ["hub", "proxy"])
def test_a_killed_component_is_restarted_and_the_users_server_keeps_running(platform, survivor, poll, component):
    server = _server_pid(survivor)
    before = _status(platform)["components"][component]["pid"]
    os.killpg(before, signal.SIGKILL)
    poll(lambda: _status(platform)["components"][component]["pid"] != before, 120, f"the {component} to restart")
    poll(lambda: _hub_and_server_answer(platform, survivor), 120,
         f"the hub and the user's server through the proxy after the {component} restart")
    assert _server_pid(survivor) == server, "the user's server was restarted, not kept"
    assert psutil.pid_exists(_status(platform)["pid"])


def test_a_killed_gateway_is_restarted_and_the_running_cluster_keeps_working(platform, survivor, poll):
    import gc

    with platform.gateway(survivor) as gw:
        cluster = gw.new_cluster(shutdown_on_close=False)
        name = cluster.name
        cluster.scale(1)
        with cluster.get_client(set_as_default=False) as client:
            client.wait_for_workers(1, timeout=120)
        cluster.close()
    try:
        before = _status(platform)["components"]["dask-gateway"]["pid"]
        os.killpg(before, signal.SIGKILL)
        poll(lambda: _status(platform)["components"]["dask-gateway"]["pid"] != before, 120, "the gateway to restart")
        with platform.gateway(survivor) as gw:
            poll(lambda: name in [c.name for c in gw.list_clusters()], 60, "the restarted gateway to list the cluster")
            with gw.connect(name) as again, again.get_client(set_as_default=False) as client:
                assert client.submit(sum, [1, 2, 3], pure=False).result(timeout=60) == 6
    finally:
        with platform.gateway(survivor) as gw:
            gw.stop_cluster(name)
        gc.collect()


def _archive_process(platform) -> psutil.Process | None:
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if "astrohub-archive" in cmdline and str(platform.data_dir) in cmdline:
            return proc
    return None


def _archive_requests(platform) -> dict[str, tuple[str, dict]]:
    """One SIA, cone and TAP (sync) request through the proxy (the cone on a registered table, if any)."""
    from platform_lib.catalogs import Registry

    base = f"{platform.url}services/archive/"
    cone = "scs/nosuch/table"
    registry = platform.data_dir / "datasets" / "catalogs" / "registry.sqlite"
    if registry.exists():
        tables = Registry(registry, readonly=True).tables()
        cone = f"scs/{tables[0]}" if tables else cone
    return {
        "sia": (base + "sia/query", {"POS": "CIRCLE 10 10 1", "MAXREC": "5"}),
        "cone": (base + cone, {"RA": "10", "DEC": "10", "SR": "0.5"}),
        "tap": (base + "tap/sync", {"REQUEST": "doQuery", "LANG": "ADQL",
                                    "QUERY": "SELECT COUNT(*) AS n FROM TAP_SCHEMA.tables"}),
    }


def test_the_archive_keeps_serving_while_the_hub_is_down(platform, survivor, poll):
    """Issue 22: the hub SIGKILLed, the archive (a supervisor component, not the hub's child) answers
    SIA, cone and TAP without a token and with a token it checked in the last minute (the hub's last answer
    stands while it cannot be asked; groups are never taken from an old answer); a token it never checked is answered 503 with Retry-After ("the hub is unavailable ...
    retry") until the hub is back, then 200; the same archive process throughout. Before, the
    supervisor stopped the dead hub's archive and the new hub started another."""
    if not platform.config.archive.enabled or _archive_process(platform) is None:
        pytest.skip("the archive service is not enabled or installed here")
    archive = _archive_process(platform).pid
    requests_ = _archive_requests(platform)
    checked = platform.user_token(survivor)
    fresh = platform.api("POST", f"/users/{survivor}/tokens", json={"note": "never shown to the archive"})
    fresh.raise_for_status()
    fresh = fresh.json()["token"]

    def get(name: str, token: str | None = None):
        url, params = requests_[name]
        headers = {"Authorization": f"token {token}"} if token else {}
        return platform.session.get(url, params=params, headers=headers, timeout=30)

    for name in requests_:
        assert get(name, checked).status_code == 200  # the archive checks (and caches) this token now
    hub = _status(platform)["components"]["hub"]["pid"]
    os.killpg(hub, signal.SIGKILL)
    down = get("sia", fresh)
    answers = {name: (get(name).status_code, get(name, checked).status_code) for name in requests_}
    assert answers == {name: (200, 200) for name in requests_}, answers
    assert down.status_code == 503, down.text[:500]
    assert int(down.headers["Retry-After"]) > 0
    assert "hub is unavailable" in down.text and "retry" in down.text

    poll(lambda: _status(platform)["components"]["hub"]["pid"] != hub, 120, "the hub to restart")

    def back() -> bool:
        try:
            return get("sia", fresh).status_code == 200
        except Exception:  # noqa: BLE001 - not back yet
            return False

    poll(back, 120, "a new token to be accepted once the hub is back")
    assert all(get(name, fresh).status_code == 200 for name in requests_)
    assert _archive_process(platform).pid == archive, "the archive was restarted with the hub"
    assert platform.server_get(survivor, "api/status").status_code == 200


def test_a_killed_archive_service_is_restarted_by_the_supervisor(platform, poll):
    """The archive is a supervisor component: the supervisor starts it again."""

    def archive() -> psutil.Process | None:
        return _archive_process(platform)

    first = archive()
    if first is None:
        pytest.skip("the archive service is not installed here")
    first.kill()
    poll(lambda: (lambda p: p is not None and p.pid != first.pid)(archive()), 60, "a new archive process")

    def answers() -> bool:
        try:
            return platform.session.get(f"{platform.url}services/archive/sia/query?MAXREC=0", timeout=10,
                                        headers={"Authorization": f"token {platform.admin_token}"}).status_code < 500
        except Exception:  # noqa: BLE001 - not back yet
            return False

    poll(answers, 60, "the archive service to answer again")


#: A job kind the user writes into their home: the real in-memory crossmatch of the sample Hipparcos
#: (117,955 stars) against itself, started before the hub is killed; the matched table is returned
#: only once the test has seen the restarted hub answer (``gate``), so the same runner is proven
#: alive through the kill and the restart, not only at the kill.
_RESTART_KIND = '''
import time

from astropy import units as u


def crossmatch_through_a_restart(params, ctx):
    from platform_lib import crossmatch as xm
    from platform_lib.sampledata import hipparcos_table

    ctx.progress(0.01, "reading Hipparcos")
    hip = hipparcos_table()["HIP", "ra", "dec"]
    result = xm.crossmatch(hip, hip, u.Quantity(params["radius"]),
                           progress=lambda f, m: ctx.progress(0.05 + 0.85 * f, m))
    ctx.progress(0.95, "matched; waiting for the restarted hub")
    gate, deadline = ctx.resolve(params["gate"]), time.monotonic() + params["patience"]
    while not gate.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{gate} did not appear within {params['patience']} s")
        time.sleep(0.1)
    return result
'''

_SUBMIT = '''
import json, pathlib, time
from platform_lib import get_settings, jobs
home = pathlib.Path(get_settings().home)
kinds = home / "restart-kinds"
kinds.mkdir(exist_ok=True)
(kinds / "astrohub_restart_kinds.py").write_text({source!r})
job = jobs.submit("astrohub_restart_kinds:crossmatch_through_a_restart",
                  {{"radius": "1 arcsec", "gate": "restart-kinds/go", "patience": 600}},
                  sys_path=[str(kinds)], output="restart-kinds/hip-self.parquet")
deadline = time.monotonic() + 60
while job.status() == "queued" and time.monotonic() < deadline:
    time.sleep(0.1)
print(json.dumps({{"id": job.id, **{{k: job.info().get(k) for k in ("state", "pid", "pgid", "error")}}}}))
'''

_COLLECT = '''
import json, pathlib
import numpy as np
from platform_lib import get_settings, jobs
home = pathlib.Path(get_settings().home)
(home / "restart-kinds" / "go").touch()
job = jobs.get_job({job_id!r})
state = job.wait(timeout=300)
out = {{"state": str(state), "error": state.error, "info": job.info(),
        "listed": {{j.id: j.status() for j in jobs.list_jobs()}}}}
if state == "succeeded":
    t = job.result()
    out.update(rows=len(t), distinct=len(np.unique(t["HIP_1"])), self_pairs=int(np.sum(t["HIP_1"] == t["HIP_2"])),
               max_sep=float(np.max(t["separation_arcsec"])))
print(json.dumps(out, default=str))
'''


def test_a_users_job_and_cluster_keep_running_through_a_hub_restart(platform, survivor, poll):
    """Issue 22, item 7: a background job (``platform_lib.jobs``, submitted in the user's kernel) and
    a Dask cluster of the user, both running when the hub's process group is SIGKILLed, carry on:
    the same runner process (pid and start time) finishes the crossmatch with the right result and
    ``jobs.list_jobs()`` shows it succeeded; the cluster computes through its open client and
    through a new connection authenticated by the restarted hub."""
    import gc

    gw = platform.gateway(survivor)
    cluster = gw.new_cluster(shutdown_on_close=False)
    name, client = cluster.name, None
    try:
        cluster.scale(1)
        client = cluster.get_client(set_as_default=False)
        submitted = json.loads(platform.execute(survivor, _SUBMIT.format(source=_RESTART_KIND), timeout=120))
        assert submitted["state"] == "running", submitted
        client.wait_for_workers(1, timeout=120)  # the worker started meanwhile
        runner = psutil.Process(submitted["pid"])
        started = runner.create_time()

        hub = _status(platform)["components"]["hub"]["pid"]
        assert os.getsid(runner.pid) != os.getsid(hub), "the job runner is in the hub's session"
        os.killpg(hub, signal.SIGKILL)
        poll(lambda: _status(platform)["components"]["hub"]["pid"] != hub, 120, "the hub to restart")
        poll(lambda: _hub_and_server_answer(platform, survivor), 120,
             "the restarted hub and the user's server through the proxy")
        assert runner.is_running() and runner.create_time() == started, \
            "the job's runner died with the hub (or was replaced)"
        assert client.submit(sum, [1, 2, 3], pure=False).result(timeout=60) == 6
        with platform.gateway(survivor) as gw2, gw2.connect(name) as again, \
                again.get_client(set_as_default=False) as fresh:
            assert fresh.submit(sum, [4, 5], pure=False).result(timeout=60) == 9

        collected = json.loads(platform.execute(survivor, _COLLECT.format(job_id=submitted["id"]), timeout=360))
        assert collected["state"] == "succeeded", collected
        assert collected["info"]["pid"] == runner.pid, "the job was run again by another process"
        assert collected["listed"][submitted["id"]] == "succeeded", collected["listed"]
        # each Hipparcos star's nearest neighbour within 1 arcsec is itself, and no star is lost
        assert collected["rows"] == collected["distinct"] == collected["self_pairs"] == 117_955, collected
        assert collected["max_sep"] < 1e-6, collected
    finally:
        if client is not None:
            client.close()
        cluster.close()
        gw.stop_cluster(name)
        gw.close()
        gc.collect()
