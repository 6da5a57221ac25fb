"""platform_lib.gateway.cluster's checks made before it asks the gateway anything (its journey, a cell run again
in one kernel, is tested on the running platform: tests/integration/test_platform_dask.py)."""

from __future__ import annotations

import pytest

from platform_lib import gateway

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("workers", [-1, 1.5, "2", True, None])
def test_workers_must_be_a_whole_number_from_zero_up(workers):
    with pytest.raises(ValueError, match=r"workers must be a whole number from 0 up, got "):
        gateway.cluster(workers)


class _Gateway:
    """The one call of dask-gateway's ``Gateway`` that ``gateway._orphan`` makes, answered from ``clusters``."""

    def __init__(self, **clusters):
        self.clusters = clusters

    def get_cluster(self, name):
        from types import SimpleNamespace

        if name not in self.clusters:
            raise ValueError(f"Cluster {name} not found")
        return SimpleNamespace(status=SimpleNamespace(name=self.clusters[name]), options={"worker_cores": 1})


def _note(tmp_path, notebook, **fields):
    import json
    import socket

    path = gateway._record(notebook, tmp_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"notebook": notebook, "cluster": "c1", "host": socket.gethostname(), **fields}))


def test_a_notebooks_cluster_left_by_a_kernel_that_died_is_found_by_its_next_kernel(tmp_path, monkeypatch):
    """teams22: a notebook's kernel killed (for memory, a crash) left the cluster ``cluster()`` had started running, and
    ``cluster()`` in the restarted kernel started a second one beside it (the first held its workers until the
    gateway's timeouts, and a third start met the limit of 2 clusters per user). The note ``cluster()`` keeps per
    notebook finds it, only while the gateway runs it and the kernel process that started it is gone, on this host."""
    import subprocess
    import sys
    import time

    monkeypatch.setenv("PLATFORM_HOME", str(tmp_path))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    _note(tmp_path, "work/analysis.ipynb", pid=dead.pid, pid_started=1.0)
    running = _Gateway(c1="RUNNING")
    assert gateway._orphan(running, "work/analysis.ipynb") == ("c1", {"worker_cores": 1})
    assert gateway._orphan(_Gateway(c1="PENDING"), "work/analysis.ipynb") is not None
    assert gateway._orphan(_Gateway(c1="STOPPED"), "work/analysis.ipynb") is None  # stopped since: a new one
    assert gateway._orphan(_Gateway(), "work/analysis.ipynb") is None               # the gateway forgot it
    assert gateway._orphan(running, "work/other.ipynb") is None                     # another notebook's note: none
    assert gateway._orphan(running, None) is None                                   # a kernel without a notebook
    # the kernel that started it still runs (another kernel of the notebook, or this one): never taken from it
    import psutil

    parent = psutil.Process().parent()
    _note(tmp_path, "work/analysis.ipynb", pid=parent.pid, pid_started=parent.create_time())
    assert gateway._orphan(running, "work/analysis.ipynb") is None
    # killed and not yet reaped by its server (a zombie): gone
    zombie = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _note(tmp_path, "work/analysis.ipynb", pid=zombie.pid, pid_started=psutil.Process(zombie.pid).create_time())
        assert gateway._orphan(running, "work/analysis.ipynb") is None
        zombie.kill()
        deadline = time.monotonic() + 10  # until the OS has made it a zombie (no wait(): that would reap it)
        while psutil.Process(zombie.pid).status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
            time.sleep(0.01)
        assert gateway._orphan(running, "work/analysis.ipynb") == ("c1", {"worker_cores": 1})
    finally:
        zombie.wait()
    _note(tmp_path, "work/analysis.ipynb", pid=dead.pid, pid_started=1.0, host="another-pod")
    assert gateway._orphan(running, "work/analysis.ipynb") is None                  # its pid means nothing here


def test_cluster_notes_the_cluster_it_started_for_the_notebook(tmp_path, monkeypatch):
    import json
    import os
    from types import SimpleNamespace

    monkeypatch.setenv("PLATFORM_HOME", str(tmp_path))
    gateway._remember(SimpleNamespace(name="c7"), "work/analysis.ipynb")
    note = json.loads(gateway._record("work/analysis.ipynb").read_text())
    assert (note["cluster"], note["pid"], note["notebook"]) == ("c7", os.getpid(), "work/analysis.ipynb")
    assert gateway._orphan(_Gateway(c7="RUNNING"), "work/analysis.ipynb") is None  # this very kernel's
    gateway._remember(SimpleNamespace(name="c8"), None)                             # no notebook: nothing noted
    assert [p.name for p in gateway._record("x", tmp_path).parent.iterdir()] == [gateway._record(
        "work/analysis.ipynb").name]


class _Capped:
    """A cluster whose ``scale`` is answered as dask-gateway's client answers a scale past the user's limit: the
    server's message as a ``GatewayWarning`` (dask_gateway.client._scale_cluster), the workers capped."""

    def __init__(self, limit):
        self.limit, self.workers = limit, None

    def scale(self, n):
        import warnings

        from dask_gateway.client import GatewayWarning

        self.workers = min(n, self.limit)
        if n > self.limit:  # the words of dask_gateway_server.routes.scale_cluster
            warnings.warn(GatewayWarning(f"Scale request of {n} workers would exceed resource limit of "
                                         f"{self.limit} workers. Scaling to {self.limit} instead."))


def test_a_cluster_scaled_past_the_users_limit_says_how_many_workers_it_has():
    """firsthour24: ``cluster(workers=500)`` printed "started for this kernel, 500 worker(s)" when the gateway gave
    8 (under its warning saying so); the line now says what the cluster has, and why."""
    import warnings

    capped = _Capped(8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the gateway's warning is read into the words, not shown beside them
        assert gateway._scale(capped, 500) == ("8 worker(s), not the 500 asked: 8 is the most a cluster of yours "
                                               "may have (the platform's limit; client.wait_for_workers(8) waits "
                                               "for them all)")
        assert capped.workers == 8
        assert gateway._scale(capped, 3) == "3 worker(s)" and capped.workers == 3
