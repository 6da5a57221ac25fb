"""A Dask scheduler or worker whose HTTP server (dashboard, health, metrics) listens on a Unix socket.

Run as ``python -m astrohub_hub.dasknode scheduler|worker <dask-scheduler / dask-worker arguments>``:
the local gateway backend (:class:`astrohub_hub.gateway.AstroLocalBackend`) starts each cluster's
scheduler and workers this way, as the cluster owner's system user, in the cluster's private
folder (0700, the owner's). Distributed's own HTTP server would listen on a TCP port that every
local user can connect to (TCP has no owner check: another user read the worker list, the logs
and the call stacks of a running task that way). Here the same tornado ``HTTPServer``, with the
same routes, listens instead on ``dashboard.sock`` (scheduler) or ``worker-<pid>.sock`` (workers)
in the current folder, mode 0600: only the owner and root can connect. The gateway (root) serves
the scheduler's dashboard at ``/services/dask-gateway/clusters/<name>/`` to the owner (or an admin)
after authenticating them (:mod:`astrohub_hub.dashboards`); nothing else reaches it.

The change is made for this process only, by replacing ``ServerNode.start_http_server`` before the
distributed command line runs. The process's local directory (a worker's spilled data, uploaded files,
and a folder on the worker's ``sys.path``) is also the cluster's folder, not distributed's default
``/tmp/dask-scratch-space[-<uid>]``: those names are known in advance, so another user could create
them first, world-writable, and swap the owner's worker folder for one of their own (read what it
spills, plant modules it imports). ``http_server.port`` is 0, so links that distributed formats from it
(the worker links on the scheduler's info pages) do not lead anywhere.

A scheduler also warns its connected clients before dask-gateway's ``idle_timeout`` shuts it down
(:class:`IdleNotice`): that timeout counts tasks only (a notebook left open with a connected client is
stopped too), and the next Dask call would otherwise fail with a bare connection error. A
:data:`notice_before` ahead, and again when the shutdown is due, the scheduler sends distributed's
``print`` event, which a ``Client`` prints (in a notebook: under the cell last run), naming the cluster,
the time left and how to keep it. Clients do not keep a cluster alive: a running cluster counts as its
owner's activity for the server culler, so an abandoned notebook would keep both for ever.
May import distributed, dask_gateway's scheduler preload (the scheduler role) and tornado only (it runs in
every Dask process, which need not have JupyterHub).
"""

from __future__ import annotations

import asyncio
import os
import sys

__all__ = ["SCHEDULER_SOCKET", "IdleNotice", "main", "notice_before", "socket_name"]

#: The scheduler's HTTP socket, in the cluster's folder (what the gateway connects to).
SCHEDULER_SOCKET = "dashboard.sock"


def socket_name(role: str, pid: int | None = None) -> str:
    """The socket's file name for ``role`` (``scheduler`` or ``worker``) in the process's folder."""
    if role == "scheduler":
        return SCHEDULER_SOCKET
    return f"worker-{os.getpid() if pid is None else pid}.sock"


def _install(path: str) -> None:
    """Make every ``ServerNode`` of this process serve HTTP on the Unix socket ``path`` (mode 0600).

    The socket is bound by its name relative to the current folder (``path``'s), since a Unix socket's
    path may hold only 107 bytes and cluster folders can lie deeper than that.
    """
    from distributed.http.routing import RoutingApplication
    from distributed.node import ServerNode
    from tornado.httpserver import HTTPServer
    from tornado.netutil import bind_unix_socket

    def start_http_server(self, routes, dashboard_address, default_port=0, ssl_options=None):
        self.http_application = RoutingApplication(routes)
        self.http_server = HTTPServer(self.http_application)
        old_umask = os.umask(0o077)  # no moment at which the socket is open to others
        try:
            sock = bind_unix_socket(os.path.relpath(path), mode=0o600)
        finally:
            os.umask(old_umask)
        self.http_server.add_socket(sock)
        self.http_server.address, self.http_server.port = path, 0
        self.services["dashboard"] = self.http_server

    ServerNode.start_http_server = start_http_server


def notice_before(idle_timeout: float) -> float:
    """Seconds before the idle shutdown that clients are warned: a sixth of the timeout, at most 5 min."""
    return min(300.0, idle_timeout / 6)


def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"


class IdleNotice:
    """Warn a scheduler's connected clients before dask-gateway's idle timeout shuts the cluster down.

    Idle is reckoned as dask-gateway's ``check_idle`` does (no task processing or unrunnable; since the last
    task transition, or the scheduler's start). :meth:`check` sends one ``print`` event per idle stretch when
    :func:`notice_before` or less is left, and one more once the timeout is reached (the shutdown follows at
    dask-gateway's next check). :meth:`run` checks every ``period`` seconds until cancelled.
    """

    def __init__(self, scheduler, idle_timeout: float, name: str = "") -> None:
        self.scheduler = scheduler
        self.idle_timeout = float(idle_timeout)
        self.before = notice_before(self.idle_timeout)
        self.period = max(0.05, min(30.0, self.before / 4))
        self.name = name or os.environ.get("DASK_GATEWAY_CLUSTER_NAME", "")
        self._sent: dict[str, float] = {}  # "soon" / "now" -> the idle stretch (its start) told of

    def idle_since(self) -> float | None:
        """When the scheduler last had work (a time of ``scheduler.loop.time()``'s clock); None: busy now."""
        s = self.scheduler
        if any(ws.processing for ws in s.workers.values()) or s.unrunnable:
            return None
        return s.transition_log[-1][-1] if s.transition_log else s.time_started

    def check(self, now: float) -> str | None:
        """Send the notice that is due at ``now`` (once per idle stretch); the text sent, or None."""
        since = self.idle_since()
        if since is None:
            return None
        left = self.idle_timeout - (now - since)
        what = "now" if left <= 0 else "soon" if left <= self.before else None
        if what is None or self._sent.get(what) == since:
            return None
        self._sent[what] = since
        cluster = f"Dask cluster {self.name}" if self.name else "this Dask cluster"
        if what == "soon":
            text = (f"astrohub: {cluster} has run no task for {_duration(now - since)} and will be shut down in "
                    f"about {_duration(left)} (the gateway's idle timeout, {_duration(self.idle_timeout)}; an open "
                    "client does not count). To keep it, run any computation, e.g. client.submit(len, []).result()")
        else:
            text = (f"astrohub: {cluster} is being shut down: it has run no task for {_duration(now - since)} (the "
                    "gateway's idle timeout). Its client will lose the connection; start a new cluster with "
                    "gateway.new_cluster() (or run the notebook's cluster cell again)")
        self.scheduler.log_event("print", {"args": (text,), "file": 2, "flush": True})
        return text

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.period)
            self.check(self.scheduler.loop.time())


def _install_idle_notice() -> None:
    """Make dask-gateway's scheduler service run an :class:`IdleNotice` beside its own idle check."""
    from dask_gateway.scheduler_preload import GatewaySchedulerService

    listen, stop = GatewaySchedulerService.listen, GatewaySchedulerService.stop

    def listen_and_notice(self, address):
        listen(self, address)
        if self.idle_timeout > 0:
            self.idle_notice_task = asyncio.ensure_future(IdleNotice(self.scheduler, self.idle_timeout).run())

    def stop_and_notice(self):
        task = getattr(self, "idle_notice_task", None)
        if task is not None:
            task.cancel()
        stop(self)

    GatewaySchedulerService.listen = listen_and_notice
    GatewaySchedulerService.stop = stop_and_notice


def main(argv: list[str] | None = None) -> None:
    """Run ``dask-scheduler`` or ``dask-worker`` (``argv[0]``) with HTTP on a private Unix socket."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("scheduler", "worker"):
        sys.exit("usage: python -m astrohub_hub.dasknode scheduler|worker [dask arguments]")
    role, rest = argv[0], argv[1:]
    # dask's temporary-directory, read by dask.config at import and inherited by the Nanny's worker process.
    os.environ["DASK_TEMPORARY_DIRECTORY"] = os.getcwd()
    _install(os.path.join(os.getcwd(), socket_name(role)))
    if role == "scheduler":
        _install_idle_notice()
        from distributed.cli.dask_scheduler import main as run
    else:
        from distributed.cli.dask_worker import main as run
    sys.argv = [f"dask-{role}", *rest]
    run()


if __name__ == "__mp_main__":  # pragma: no cover - a worker the Nanny of "dasknode worker" spawned
    # multiprocessing's spawn runs this module again (as __mp_main__) in the child before the
    # Worker starts there: the child's HTTP server goes on its own socket too.
    _install(os.path.join(os.getcwd(), socket_name("worker")))

if __name__ == "__main__":
    main()
