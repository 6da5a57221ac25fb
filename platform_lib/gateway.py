"""The dask-gateway client as the platform uses it: sharing a cluster with a group, and one workaround for its
``Gateway.close``.

Sharing: :func:`share_cluster` shares one of your running clusters with one of your hub groups (or start it shared:
``Gateway().new_cluster(shared_with="<group>")``), :func:`unshare_cluster` ends that, and a member of the group
finds it with :func:`shared_clusters` and connects with dask-gateway's own ``Gateway().connect(name)`` (its
dashboard link works for them too). Members may compute on it; only its owner (and hub admins) stop, scale or adapt
it. The gateway checks the group with the hub at each connection, so leaving the group ends access to new
connections (``astrohub_hub.gateway_sharing`` on the server). These go through the gateway routes that the
platform's gateway adds, with the Gateway's own authentication; a refusal is the gateway's message, as a
``ValueError`` (what dask-gateway's client raises for it).

A shared cluster runs its members' tasks on its owner's workers, as its owner (her system user, her home and
group folders): share a cluster only with a group you would let use your files.

Stopping a shared cluster: dask-gateway's ``GatewayCluster.shutdown()`` (and ``close()`` of a cluster made with
``shutdown_on_close=True``) asks the gateway to stop it and only logs a refusal, so a member whose ``shutdown()``
the gateway refused believed the cluster stopped. With :func:`use_gateway_client_fixes` (below) a cluster first asks
the gateway whether the caller may stop it: a member's ``shutdown()`` raises :class:`NotTheOwner` and changes nothing
(still connected, the cluster running), and a member's ``close()`` disconnects without asking the gateway to stop
it. The owner's and an admin's calls are dask-gateway's own.

dask-gateway 2026.3.0 (the newest release; its main branch is unchanged) closes a ``Gateway`` by asking
``self.loop.asyncio_loop.is_running()`` before stopping the loop it started. Closing stops that loop,
and since distributed 2023.x ``LoopRunner.loop`` raises ``RuntimeError("Accessing the loop property
while the loop is not running is not supported")`` once it has stopped. So the second ``close()`` of a
synchronous ``Gateway`` raises, and every Gateway that was closed once gets a second one from its
``__del__`` when it is garbage-collected: Python prints "Exception ignored in: <function
Gateway.__del__ ...>" and the traceback into whatever cell is running then. Every ``GatewayCluster``
closes its own Gateway (``cluster.close()``, ``cluster.shutdown()``), so a user who re-runs a
notebook's Dask cell, or calls ``crossmatch(table, 'I/311')`` twice without a client, sees it.

With :func:`use_gateway_client_fixes` a second ``close()`` of a synchronous Gateway does nothing
(its loop runner is already stopped: nothing is left to clean up), for the dask-gateway versions known
to need it (:data:`AFFECTED_UP_TO`); a newer version is left alone, and tests/unit/test_gateway_close.py says
whether the fix is still needed. Remove that fix when dask-gateway releases a ``close()`` guarded with
``_loop_runner.is_started()``.

This kernel's cluster: :func:`cluster` starts a cluster on the platform's gateway, or returns the one it started
before in this process (a kernel) when that one still runs with the options asked for, so a notebook's cell that
makes a cluster can be run again without leaving a second cluster (and its workers) running until the idle timeout.
Asked for other options, it stops the one it started before and starts another; ``new=True`` starts another and
leaves the earlier running. It says which in one printed line, with the dashboard link. A kernel restarted or shut
down cleanly stops its clusters (dask-gateway's ``shutdown_on_close``, at the process's exit); one that died (killed
for memory, crashed) leaves them running, so :func:`cluster` notes, per notebook (Jupyter's ``JPY_SESSION_NAME``,
kept across its kernel's restarts), the cluster it started and the kernel process, in
``<home>/.astrohub/notebook-clusters/``, and in the notebook's next kernel uses that cluster again while the gateway
runs it and that process is gone (the same host, its pid and start time), instead of starting a second one beside it.

Both client fixes are applied in one place: :func:`use_gateway_client_fixes`, which ``import platform_lib`` calls
(so every process using the library, every user kernel through its startup file, and platform_lib's own Gateway
users: ``crossmatch._dask``, ``resources._dask``), is an import hook on ``dask_gateway.client`` that imports nothing:
the fixes apply when dask_gateway is imported, or at once when it already was, whatever the order.

May import dask_gateway and psutil only (on first call), ``atomic``, ``errors``, ``onimport``, ``settings`` and
``versions``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from platform_lib.atomic import write_atomic
from platform_lib.errors import PlatformError
from platform_lib.onimport import after_import
from platform_lib.versions import release_tuple

__all__ = ["AFFECTED_UP_TO", "NotTheOwner", "SharedCluster", "cluster", "share_cluster", "shared_clusters",
           "unshare_cluster", "use_gateway_client_fixes"]

#: The newest dask-gateway release whose ``Gateway.close`` raises when called twice.
AFFECTED_UP_TO = (2026, 3, 0)


def _close_once(gateway_class: Any) -> None:
    """Make ``gateway_class.close`` (dask_gateway's ``Gateway``) do nothing on a Gateway already closed.

    Idempotent, and a no-op where dask-gateway is newer than :data:`AFFECTED_UP_TO`. Asynchronous Gateways are
    untouched (their ``close`` never asked the loop).
    """
    from importlib.metadata import version

    original = gateway_class.close
    if getattr(original, "_astrohub_idempotent", False) or release_tuple(version("dask-gateway")) > AFFECTED_UP_TO:
        return

    def close(self):
        runner = getattr(self, "_loop_runner", None)
        if not self.asynchronous and runner is not None and not runner.is_started():
            return None  # closed already: its session is closed and its loop stopped
        return original(self)

    close.__doc__ = original.__doc__
    close.__wrapped__ = original
    close._astrohub_idempotent = True
    gateway_class.close = close


#: The clusters :func:`cluster` started in this process (a kernel), oldest first; those stopped since are dropped
#: at its next call.
_started: list[Any] = []


def _options(gateway: Any, asked: dict[str, Any]) -> Any:
    """The gateway's cluster options (its defaults, the local dask config's) with ``asked`` set; a ``ValueError``
    naming an option the gateway does not have, with those it has."""
    options = gateway.cluster_options()
    for key, value in asked.items():
        if key not in options:
            raise ValueError(f"the platform's Dask gateway has no cluster option {key!r}; its options: "
                             f"{', '.join(options)} (see Gateway().cluster_options())")
        options[key] = value  # dask-gateway's ValueError/TypeError for a value out of bounds
    return options


def _running(made: Any) -> dict[str, Any] | None:
    """The options of ``made`` (a cluster :func:`cluster` started) while the gateway runs it, else None."""
    if getattr(made, "status", None) != "running":  # closed or shut down from the notebook
        return None
    try:
        report = made.gateway.get_cluster(made.name)
    except Exception:  # noqa: BLE001 - the gateway forgot it (stopped long ago) or cannot say: not reusable
        return None
    return dict(report.options) if getattr(report.status, "name", "") in ("RUNNING", "PENDING") else None


def _notebook() -> str | None:
    """The notebook this kernel runs: Jupyter's ``JPY_SESSION_NAME`` (its path), which the kernel's restarts keep;
    None in a kernel without a notebook (a console, a script)."""
    return os.environ.get("JPY_SESSION_NAME") or None


def _record(notebook: str, home: Path | None = None) -> Path:
    """Where :func:`cluster` notes the cluster it started for ``notebook`` (one small JSON file per notebook)."""
    if home is None:
        from platform_lib.settings import get_settings

        home = get_settings().home
    digest = hashlib.sha256(notebook.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return Path(home) / ".astrohub" / "notebook-clusters" / f"{digest}.json"


def _process_started(pid: int) -> float | None:
    """When process ``pid`` of this host started (psutil's ``create_time``), None when there is none or it has ended
    (a zombie: a killed kernel its server has not reaped yet)."""
    import psutil

    try:
        process = psutil.Process(pid)
        return None if process.status() == psutil.STATUS_ZOMBIE else process.create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def _remember(made: Any, notebook: str | None) -> None:
    """Note ``made`` as ``notebook``'s cluster, started by this kernel process (best effort: a home that cannot be
    written only loses the reuse after a kernel's death)."""
    if notebook is None:
        return
    note = {"notebook": notebook, "cluster": made.name, "host": socket.gethostname(), "pid": os.getpid(),
            "pid_started": _process_started(os.getpid())}
    path = _record(notebook)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(note))
    except OSError:
        pass


def _orphan(gateway: Any, notebook: str | None) -> tuple[str, dict[str, Any]] | None:
    """The cluster (name, options) :func:`cluster` started for ``notebook`` in a kernel process that is gone (died
    without stopping it), while the gateway still runs it; None otherwise (a kernel of that notebook still alive,
    another host's kernel, no note)."""
    if notebook is None:
        return None
    try:
        note = json.loads(_record(notebook).read_text())
        name, host, pid, started = note["cluster"], note["host"], int(note["pid"]), note["pid_started"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if note.get("notebook") != notebook or host != socket.gethostname():
        return None
    if pid == os.getpid() or (started is not None and _process_started(pid) == started):
        return None  # the kernel that started it still runs (this one, or another kernel of the notebook)
    try:
        report = gateway.get_cluster(name)
    except Exception:  # noqa: BLE001 - the gateway forgot it (stopped) or cannot say: start a new one
        return None
    if getattr(report.status, "name", "") not in ("RUNNING", "PENDING"):
        return None
    return name, dict(report.options)


def cluster(workers: int = 1, *, new: bool = False, **options: Any) -> Any:
    """This kernel's Dask cluster on the platform's gateway, with ``workers`` workers: the one this function started
    before in this kernel when it still runs with these ``options``, else a new one.

    Running a notebook cell that makes a cluster again used to leave the first cluster running, with its workers
    and memory, until the gateway's idle timeout (and a third run met the limit of clusters per user). Here:

    - the cluster this function started before in this kernel, still running with the same options, is returned,
      scaled to ``workers``;
    - one started here with other options is stopped, and a new one started;
    - ``new=True`` starts a new cluster and leaves the earlier ones running (later calls return the newest);
    - in the next kernel of the same notebook, after one that died without stopping its cluster (killed for memory,
      crashed; a restart or shutdown stops it), the cluster that kernel started, still running, is used again as
      above, or stopped when other options are asked, rather than left running beside a second one until the
      gateway's timeouts (and counted against the limit of clusters per user).

    One printed line says which, with the cluster's dashboard link. A cluster started some other way
    (``Gateway().new_cluster()``, the Dask sidebar's "+ NEW", another kernel) is never returned nor stopped here.

    Parameters
    ----------
    workers
        How many workers to scale the cluster to (``cluster.adapt(minimum=..., maximum=...)`` afterwards for an
        adaptive one).
    new
        Start another cluster even when this kernel has one running.
    **options
        The gateway's cluster options (``Gateway().cluster_options()`` lists them: ``worker_cores``,
        ``worker_memory`` in GiB, ``shared_with`` a hub group), each defaulting to the platform's.

    Returns
    -------
    dask_gateway.GatewayCluster
        ``cluster.get_client()`` connects a Dask client to it; ``cluster.shutdown()`` stops it.

    Raises
    ------
    ValueError
        An option the gateway does not have, or a value it refuses (with the gateway's message), or ``workers``
        not a whole number from 0 up.

    Examples
    --------
    >>> from platform_lib.gateway import cluster                           # doctest: +SKIP
    >>> dask_cluster = cluster(workers=2)           # run again: the same cluster, still 2 workers  # doctest: +SKIP
    >>> client = dask_cluster.get_client()                                 # doctest: +SKIP
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise ValueError(f"workers must be a whole number from 0 up, got {workers!r}")
    from dask_gateway import Gateway, GatewayCluster  # its client fixed by use_gateway_client_fixes (import hook)

    notebook = _notebook()
    running = [(made, _running(made)) for made in _started]
    _started[:] = [made for made, current in running if current is not None]
    with Gateway() as gateway:
        asked = _options(gateway, options)
        orphan = None if new or _started else _orphan(gateway, notebook)
        if orphan is not None:
            name, current = orphan
            differ = {key: (current.get(key), value) for key, value in asked.items() if current.get(key) != value}
            if differ:
                gateway.stop_cluster(name)
                changes = ", ".join(f"{key} {old!r} -> {value!r}" for key, (old, value) in differ.items())
                print(f"Dask cluster {name}: this notebook's previous cluster, left running when its kernel died, "
                      f"stopped (other options asked: {changes})")
    if orphan is not None and not differ:
        made = GatewayCluster.from_name(name, shutdown_on_close=True)
        scaled = _scale(made, workers)
        _started.append(made)
        _remember(made, notebook)
        print(f"Dask cluster {made.name}: this notebook's, left running when its kernel died; used again, scaled to "
              f"{scaled} (cluster(new=True) starts another). Dashboard: {made.dashboard_link}")
        return made
    if not new and _started:
        made, current = next((m, c) for m, c in reversed(running) if c is not None)
        differ = {key: (current.get(key), value) for key, value in asked.items() if current.get(key) != value}
        if not differ:
            scaled = _scale(made, workers)
            print(f"Dask cluster {made.name}: this kernel's, still running; used again, scaled to {scaled} "
                  f"(cluster(new=True) starts another). Dashboard: {made.dashboard_link}")
            return made
        made.shutdown()
        _started.remove(made)
        changes = ", ".join(f"{key} {old!r} -> {value!r}" for key, (old, value) in differ.items())
        print(f"Dask cluster {made.name}: this kernel's previous cluster, stopped (other options asked: {changes})")
    made = GatewayCluster(cluster_options=asked)
    scaled = _scale(made, workers)
    _started.append(made)
    _remember(made, notebook)
    print(f"Dask cluster {made.name}: started for this kernel, {scaled}. Dashboard: {made.dashboard_link}")
    return made


#: How dask-gateway's server says it scaled a cluster to fewer workers than asked (its GatewayWarning).
_CAPPED = re.compile(r"Scale request of (\d+) workers would exceed resource limit of (\d+) workers")


def _scale(made: Any, workers: int) -> str:
    """Scale ``made`` to ``workers``; what it was scaled to, as :func:`cluster`'s line says it: ``"2 worker(s)"``,
    or, when the gateway gave fewer than asked (more than the user's clusters may have), how many and why.

    firsthour24: ``cluster(workers=500)`` printed "started for this kernel, 500 worker(s)" under dask-gateway's
    warning that it was scaling to 8 (the platform's ``cluster_max_workers``), and ``wait_for_workers(500)`` waited
    for workers that would never come. That warning is now read into the line instead (other warnings pass).
    """
    from dask_gateway.client import GatewayWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        made.scale(workers)
    capped = None
    for warning in caught:
        said = _CAPPED.search(str(warning.message)) if issubclass(warning.category, GatewayWarning) else None
        if said:
            capped = int(said[2])
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    if capped is None:
        return f"{workers} worker(s)"
    return (f"{capped} worker(s), not the {workers} asked: {capped} is the most a cluster of yours may have "
            f"(the platform's limit; client.wait_for_workers({capped}) waits for them all)")


@dataclass(frozen=True)
class SharedCluster:
    """A Dask cluster another user shares with one of your hub groups (connect: ``Gateway().connect(name)``)."""

    name: str
    owner: str
    group: str
    status: str
    dashboard_link: str | None


def _name(cluster: Any) -> str:
    name = cluster if isinstance(cluster, str) else getattr(cluster, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"expected a cluster name or a dask-gateway cluster (or its report), got {cluster!r}")
    return name


def _call(gateway: Any, method: str, path: str, payload: dict | None = None) -> Any:
    """``method`` the gateway route ``path`` with the Gateway's own authentication; the answer's JSON."""
    if gateway is None:
        from dask_gateway import Gateway

        with Gateway() as own:
            return _call(own, method, path, payload)

    async def request() -> Any:
        # The client has no public call for a route it does not know; _request carries its auth, proxy and TLS.
        answer = await gateway._request(method, f"{gateway.address}{path}", json=payload)
        return await answer.json() if answer.content_type == "application/json" else None

    return gateway.sync(request)  # the gateway's refusals: ValueError with its message (404, 422)


def share_cluster(cluster: Any, group: str, *, gateway: Any = None) -> None:
    """Share your running Dask cluster with one of your hub groups: its members may connect to it and open its
    dashboard (not stop or scale it), while they are in the group. Their tasks run on your workers, as you.

    Parameters
    ----------
    cluster
        The cluster's name, or the cluster (``GatewayCluster``, or a report from ``Gateway().list_clusters()``).
    group
        One of your hub groups; a cluster is shared with one group at a time (sharing again replaces it).
    gateway
        A synchronous ``dask_gateway.Gateway`` to use; default: a new one for the platform's gateway.

    Raises
    ------
    ValueError
        With the gateway's message: no such running cluster of yours or shared with you, the cluster is not yours
        (only its owner or a hub admin shares it), ``group`` is not one of your groups, or sharing is off.

    Examples
    --------
    >>> from dask_gateway import Gateway                                   # doctest: +SKIP
    >>> cluster = Gateway().new_cluster()                                  # doctest: +SKIP
    >>> share_cluster(cluster, "survey-team")                              # doctest: +SKIP
    >>> # a member of survey-team: Gateway().connect(shared_clusters()[0].name).get_client()
    """
    if not isinstance(group, str) or not group.strip():
        raise ValueError(f"group must be the name of one of your hub groups, got {group!r}")
    _call(gateway, "PUT", f"/api/v1/clusters/{_name(cluster)}/sharing", {"group": group.strip()})


def unshare_cluster(cluster: Any, *, gateway: Any = None) -> None:
    """Stop sharing your Dask cluster: its group's members can no longer connect to it (a client of theirs already
    connected stays connected until it closes; stop the cluster to end every connection).

    Parameters and errors as :func:`share_cluster`.

    Examples
    --------
    >>> unshare_cluster(cluster)                                           # doctest: +SKIP
    """
    _call(gateway, "DELETE", f"/api/v1/clusters/{_name(cluster)}/sharing")


def shared_clusters(*, gateway: Any = None) -> list[SharedCluster]:
    """The running and pending Dask clusters other users share with your hub groups, by name.

    Examples
    --------
    >>> from dask_gateway import Gateway                                   # doctest: +SKIP
    >>> shared = shared_clusters()                                         # doctest: +SKIP
    >>> client = Gateway().connect(shared[0].name).get_client()            # doctest: +SKIP
    """
    if gateway is None:
        from dask_gateway import Gateway

        with Gateway() as own:
            return shared_clusters(gateway=own)
    found = _call(gateway, "GET", "/api/v1/shared-clusters/") or {}
    public = getattr(gateway, "_public_address", None) or gateway.address
    return [
        SharedCluster(name=c["name"], owner=c["owner"], group=c["shared_with"], status=c["status"].lower(),
                      dashboard_link=f"{public}{c['dashboard_route']}" if c.get("dashboard_route") else None)
        for c in found.values()
    ]


class NotTheOwner(PlatformError, ValueError):
    """You asked to stop a Dask cluster another user shares with your group: only its owner or a hub admin may.

    A ``ValueError``, as dask-gateway's own refusals (``Gateway().stop_cluster(name)``). Fields: ``cluster`` (its
    name), ``owner`` and ``group``.
    """

    code = "not-the-owner"

    def __init__(self, cluster: str, owner: str, group: str) -> None:
        super().__init__(
            f"Dask cluster {cluster!r} is {owner}'s, shared with group {group!r}; only its owner or a hub admin can "
            f"stop it. It is still "
            f"running and you are still connected: cluster.close() disconnects you and leaves it running",
            value=cluster)
        self.cluster, self.owner, self.group = cluster, owner, group


async def _sharing_of(gateway: Any, name: str) -> dict | None:
    """The gateway's ``sharing`` answer for cluster ``name`` (owner, group, ``may_manage``); None when it has none."""
    try:
        answer = await gateway._request("GET", f"{gateway.address}/api/v1/clusters/{name}/sharing")
        return await answer.json()
    except Exception:  # noqa: BLE001 - not known (stopped, or a gateway without the route): dask-gateway's own way
        return None


def _check_stop(cluster_class: Any) -> None:
    """Wrap ``cluster_class._stop_internal`` (what ``close``, ``shutdown`` and ``__del__`` run) with the check."""
    original = cluster_class._stop_internal
    if getattr(original, "_astrohub_checked", False):
        return

    async def _stop_internal(self, shutdown=None):
        stopping = self.shutdown_on_close if shutdown is None else shutdown
        if stopping and self.name is not None and self.status not in ("closing", "closed"):
            sharing = await _sharing_of(self.gateway, self.name)
            if sharing is not None and sharing.get("may_manage") is False:
                if shutdown:  # asked for: shutdown(), close(shutdown=True)
                    raise NotTheOwner(self.name, sharing.get("owner", "?"), sharing.get("shared_with", ""))
                shutdown = False  # a member's close() (shutdown_on_close): disconnect, leave it running
        return await original(self, shutdown=shutdown)

    _stop_internal.__wrapped__ = original
    _stop_internal._astrohub_checked = True
    cluster_class._stop_internal = _stop_internal


def _fix_client(module: Any) -> None:
    """Both fixes, on the module ``dask_gateway.client`` (where ``Gateway`` and ``GatewayCluster`` live)."""
    _close_once(module.Gateway)
    _check_stop(module.GatewayCluster)


def use_gateway_client_fixes() -> None:
    """Apply the platform's fixes of dask-gateway's client now if ``dask_gateway`` is imported, else when it is.

    - A member of the group a cluster is shared with who calls ``cluster.shutdown()`` gets :class:`NotTheOwner`
      (the cluster keeps running and the member stays connected), and their ``close()`` only disconnects, where
      dask-gateway's client logged the gateway's refusal and went on as if the cluster had stopped.
    - A second ``Gateway.close()`` (every closed Gateway gets one from its ``__del__``) does nothing, where
      dask-gateway up to :data:`AFFECTED_UP_TO` printed "Exception ignored in: <function Gateway.__del__ ...>".

    Idempotent; nothing is imported (``import platform_lib`` calls it, so every kernel has both).

    Examples
    --------
    >>> from platform_lib.gateway import use_gateway_client_fixes
    >>> use_gateway_client_fixes()
    """
    after_import("dask_gateway.client", _fix_client)
