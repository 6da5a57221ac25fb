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
spills, plant modules it imports); so is ``TMPDIR``, where the tasks' temporary files go. ``http_server.port``
is 0, so links that distributed formats from it (the worker links on the scheduler's info pages) do not lead
anywhere.

A scheduler's clients are warned before dask-gateway's idle timeout stops it by the preload
:mod:`platform_lib.idle_notice`, which the gateway adds to the scheduler's command line (as on Kubernetes).
May import distributed and tornado only (it runs in every Dask process, which need not have JupyterHub).
"""

from __future__ import annotations

import os
import sys

__all__ = ["SCHEDULER_SOCKET", "main", "socket_name"]

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


def main(argv: list[str] | None = None) -> None:
    """Run ``dask-scheduler`` or ``dask-worker`` (``argv[0]``) with HTTP on a private Unix socket."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("scheduler", "worker"):
        sys.exit("usage: python -m astrohub_hub.dasknode scheduler|worker [dask arguments]")
    role, rest = argv[0], argv[1:]
    # dask's temporary-directory, read by dask.config at import and inherited by the Nanny's worker process; and
    # the tasks' temporary files (tempfile.gettempdir(), every tool that reads TMPDIR) in the same private folder,
    # not in the machine's /tmp, where another user could read what a task wrote there (as a user server's TMPDIR
    # is their private scratch: astrohub_hub.environment).
    os.environ["DASK_TEMPORARY_DIRECTORY"] = os.environ["TMPDIR"] = os.getcwd()
    _install(os.path.join(os.getcwd(), socket_name(role)))
    if role == "scheduler":
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
