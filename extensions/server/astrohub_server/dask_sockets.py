"""The HTTP servers (dashboard, health, metrics) of the Dask clusters a user starts in their own server, on Unix
sockets in a folder only the user can enter, never on a TCP port.

A kernel's ``LocalCluster()`` (or ``Client()``, a ``dask scheduler`` in a terminal, a job's cluster) runs its
scheduler in the kernel and its workers beside it. Their comms are TLS with the user's keys
(``astrohub_hub.dasktls``), but distributed's HTTP server, the Bokeh dashboard without sign-in (workers, logs,
call stacks, the task graph), listened on a TCP port of every interface (``dashboard_address=":8787"``): on
the local platform every account of the machine could ``curl http://127.0.0.1:<port>/status``. Here every
Dask ``ServerNode`` of the user's processes serves the same tornado application on ``<folder>/<id>.sock``
instead (:func:`serve_http_on_sockets`): the folder is the user's, mode 0700, so the kernel refuses anyone
else's ``connect`` (root aside); no TCP listener exists at any moment. ``<id>`` (six digits) stands where
distributed keeps the port, so ``distributed.dashboard.link`` (:data:`LINK`) makes
``<server base>dask/local/<id>/status``, which the user's own server proxies to that socket
(``astrohub_server.dask_dashboard``; the hub signs in its owner only).

Why this way. No Dask setting moves the HTTP server off TCP (``dashboard_address`` is a host and port; its TLS
settings ask no client certificate), and ``LocalCluster``'s dashboard is ``":8787"`` (every interface) by
default. Distributed does import a node's preloads (``distributed.scheduler.preload``, ``.worker.preload``) in
its ``__init__``, *before* it starts the HTTP server (a preload's ``dask_setup`` runs after it listens, which is
too late: a window in which anyone could connect). So the server sets, for its kernels and terminals
(:func:`use_private_dashboards`, as it names their startup file), ``DASK_DISTRIBUTED__SCHEDULER__PRELOAD`` and
``__WORKER__PRELOAD`` to a script that runs :mod:`astrohub_server._dask_preload` by its path, which replaces
``ServerNode.start_http_server`` for that process, as ``astrohub_hub.dasknode`` does for the gateway's
clusters; worker processes inherit the environment. A firewall owner match (iptables ``--uid-owner``) was
rejected as for the gateway's clusters (netfilter, machine-wide, differs per host); sign-in in front of a TCP
dashboard would need a credential in every process and still leave the port open. A user who passes her own
``preload=`` to a cluster replaces the platform's (her choice, for her own dashboard).

The folder is made by the server at its start (``tempfile.mkdtemp``: a new name, 0700, the user's; in ``TMPDIR``,
the user's private scratch on the local platform, or in ``/tmp`` when that path is too long for a socket's
108-byte address), named in :data:`FOLDER_ENV` for its kernels, and removed when the server exits. A node
that finds it gone makes it again, 0700, and refuses one that is not the user's alone. May import the
standard library, and distributed and tornado in :func:`serve_http_on_sockets` (it runs in Dask processes).
"""

from __future__ import annotations

import ast
import atexit
import contextlib
import errno
import os
import random
import shutil
import socket
import stat
import tempfile
from typing import Any, MutableMapping

__all__ = [
    "FOLDER_ENV",
    "LINK",
    "PORT_ROUTE",
    "PRELOAD",
    "ROUTE",
    "dashboard_folder",
    "private_folder",
    "serve_http_on_sockets",
    "socket_path",
    "use_private_dashboards",
]

#: The environment variable that names the user's dashboard folder, for the server and its kernels.
FOLDER_ENV = "ASTROHUB_DASK_DASHBOARDS"
#: The preload that makes a Dask process serve HTTP on sockets in the folder (run before a node listens): the
#: text of a script, as distributed takes it, that runs ``_dask_preload.py`` by its path, so that a Python of the
#: user's own (a virtual environment with dask but not the platform's packages) finds it too; a module name there
#: failed every cluster with "No module named 'astrohub_server'".
_PRELOAD_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_dask_preload.py")
PRELOAD = f"import runpy; runpy.run_path({_PRELOAD_FILE!r})"
#: ``distributed.dashboard.link``: dask formats ``{port}`` (here the socket's id) and the environment's variables.
LINK = "{JUPYTERHUB_SERVICE_PREFIX}dask/local/{port}/status"
#: The server's route for :data:`LINK`, below its base URL: the socket's id and the path on its HTTP server.
ROUTE = r"dask/local/(?P<ident>\d{6})(?P<proxied_path>/.*|)"
#: :data:`LINK` of a scheduler on TCP (one given its own preload, ``LocalCluster(scheduler_kwargs={"preload":
#: [...]})``, which replaces the platform's): distributed puts the TCP port where the socket's id stands. A port
#: has at most five digits, an id six, so the two routes never meet; the server sends this one on to its
#: jupyter-server-proxy ``proxy/<port>/`` (``astrohub_server.dask_dashboard.LocalPortDashboardHandler``).
PORT_ROUTE = r"dask/local/(?P<port>\d{1,5})(?P<proxied_path>/.*|)"
_PRELOAD_KEYS = ("DASK_DISTRIBUTED__SCHEDULER__PRELOAD", "DASK_DISTRIBUTED__WORKER__PRELOAD")
_IDS = (100_000, 1_000_000)  # six digits: never taken for a TCP port
#: The longest socket path a Unix address holds (``sun_path`` is 108 bytes, with its NUL).
_MAX_ADDRESS = 107
_LONGEST_NAME = len(f"{_IDS[1] - 1}.sock")


def dashboard_folder(environ: MutableMapping[str, str] = os.environ) -> str:
    """The user's dashboard folder (:data:`FOLDER_ENV`); ``RuntimeError`` saying so when it is not set."""
    folder = environ.get(FOLDER_ENV, "")
    if not folder:
        raise RuntimeError(f"{FOLDER_ENV} is not set: the user's server names the folder of its Dask dashboards' "
                           f"sockets when it starts (astrohub_server.dask_sockets); start Dask from its kernels "
                           f"or terminals, or remove the platform's preload ({PRELOAD}) from distributed's preloads")
    return folder


def socket_path(ident: int | str, environ: MutableMapping[str, str] = os.environ) -> str:
    """The socket of the Dask HTTP server with id ``ident`` (the number in its dashboard link).

    >>> socket_path(123456, {FOLDER_ENV: "/s/ann/dask-x"})
    '/s/ann/dask-x/123456.sock'
    """
    return os.path.join(dashboard_folder(environ), f"{int(ident)}.sock")


def _private(folder: str) -> bool:
    try:
        info = os.lstat(folder)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o077


def private_folder(folder: str) -> str:
    """``folder``, made (0700) if it is missing; ``PermissionError`` unless it is a folder of this account's that no
    one else may enter (a link, another account's folder or a group- or world-accessible one is refused)."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(folder, 0o700)
    if not _private(folder):
        raise PermissionError(f"{folder} must be a folder of this account's that only it may enter (mode 0700) "
                              f"to hold its Dask dashboards' sockets: remove it, and the next cluster makes it again")
    return folder


def _new_folder() -> str:
    folder = tempfile.mkdtemp(prefix="dask-")
    if len(os.fsencode(folder)) + 1 + _LONGEST_NAME > _MAX_ADDRESS:
        os.rmdir(folder)
        # a new name in /tmp, 0700 and ours (mkdtemp): what ssh-agent does; only its name shows there
        folder = tempfile.mkdtemp(prefix="dask-", dir="/tmp")
    return folder


def _with_preload(current: str | None) -> str:
    """A preload setting's value (as the environment holds it) with :data:`PRELOAD` first."""
    preloads: list[str] = []
    if current:
        try:
            value = ast.literal_eval(current)
        except (ValueError, SyntaxError):
            value = current
        preloads = [value] if isinstance(value, str) else [str(v) for v in value]
    return repr([PRELOAD, *(p for p in preloads if p != PRELOAD)])


def use_private_dashboards(environ: MutableMapping[str, str] = os.environ, base_url: str = "") -> str:
    """Make the user's dashboard folder (once per server) and have every Dask process started from ``environ``
    serve HTTP there; returns the folder.

    Called by the server before its first kernel starts (``kernels.prelaunch`` and the extension's load), so its
    kernels, terminals and their Dask workers inherit the variables. The link is :data:`LINK` under JupyterHub
    (``JUPYTERHUB_SERVICE_PREFIX`` set), else the same below ``base_url`` (a server without the hub), else
    distributed's own.

    Examples
    --------
    >>> env = {"JUPYTERHUB_SERVICE_PREFIX": "/user/ann/"}
    >>> folder = use_private_dashboards(env)
    >>> env[FOLDER_ENV] == folder, oct(os.stat(folder).st_mode & 0o777)
    (True, '0o700')
    >>> env["DASK_DISTRIBUTED__SCHEDULER__PRELOAD"] == repr([PRELOAD]), env["DASK_DISTRIBUTED__DASHBOARD__LINK"]
    (True, '{JUPYTERHUB_SERVICE_PREFIX}dask/local/{port}/status')
    >>> use_private_dashboards(env) == folder  # the same folder for the server's life
    True
    """
    folder = environ.get(FOLDER_ENV, "")
    if not folder or not _private(folder):
        folder = _new_folder()
        atexit.register(shutil.rmtree, folder, True)
    environ[FOLDER_ENV] = folder
    for key in _PRELOAD_KEYS:
        environ[key] = _with_preload(environ.get(key))
    if "JUPYTERHUB_SERVICE_PREFIX" in environ:
        environ["DASK_DISTRIBUTED__DASHBOARD__LINK"] = LINK
    elif base_url:  # dask would fail to format LINK without the variable
        environ["DASK_DISTRIBUTED__DASHBOARD__LINK"] = LINK.replace("{JUPYTERHUB_SERVICE_PREFIX}", base_url)
    return folder


def _bind(folder: str) -> tuple[socket.socket, int]:
    """A listening socket at ``<folder>/<id>.sock``, with a new id."""
    private_folder(folder)
    for _ in range(1000):
        ident = random.randrange(*_IDS)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(os.path.join(folder, f"{ident}.sock"))  # fails if the name exists: never another's socket
        except OSError as exc:
            sock.close()
            if exc.errno == errno.EADDRINUSE:
                continue
            raise
        sock.setblocking(False)
        sock.listen(128)
        return sock, ident
    raise OSError(errno.EADDRINUSE, f"no free socket name in {folder}")


def serve_http_on_sockets(environ: MutableMapping[str, str] = os.environ) -> None:
    """Make every Dask scheduler and worker of this process serve its HTTP application on a socket in the
    dashboard folder (:func:`socket_path`), never on TCP; idempotent.

    Replaces ``distributed.node.ServerNode.start_http_server`` (what a Scheduler and a Worker call to listen; its
    ``dashboard_address`` is ignored). The server's ``port`` is the socket's id, its ``address`` the socket's path;
    stopping the server removes the socket.
    """
    from distributed.http.routing import RoutingApplication
    from distributed.node import ServerNode
    from tornado.httpserver import HTTPServer

    if getattr(ServerNode.start_http_server, "astrohub_sockets", False):
        return

    class SocketHTTPServer(HTTPServer):
        """An HTTP server on one Unix socket, which it removes when it stops."""

        def stop(self) -> None:
            super().stop()
            with contextlib.suppress(OSError):
                os.unlink(self.address)

    def start_http_server(self: Any, routes, dashboard_address=None, default_port=0, ssl_options=None) -> None:
        folder = dashboard_folder(environ)
        self.http_application = RoutingApplication(routes)
        self.http_server = SocketHTTPServer(self.http_application)
        sock, ident = _bind(folder)
        self.http_server.add_socket(sock)
        self.http_server.address, self.http_server.port = os.path.join(folder, f"{ident}.sock"), ident
        self.services["dashboard"] = self.http_server

    start_http_server.astrohub_sockets = True
    ServerNode.start_http_server = start_http_server
