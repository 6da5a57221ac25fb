"""jupyter-server-proxy reaches only the ports that this server's own account listens on.

On the local platform every user's server runs on one machine, and jupyter-server-proxy's
``<server>/proxy/<port>/`` (and ``proxy/localhost:<port>/``) reached any port of it: a user read a classmate's
kernel ``LocalCluster`` dashboard (Bokeh, no sign-in: workers, logs, call stacks) through her own server, at
``/user/<her name>/proxy/<the classmate's port>/status``. :class:`OwnPortsOnly` allows localhost only, and only a
port no other account listens on (the Linux socket tables, ``/proc/net/tcp`` and ``tcp6``, name each listening
socket's owner; one read answers for a second, see its docstring). :func:`register` (called by the
``astrohub_server`` extension, which loads before ``jupyter_server_proxy``: extensions load in name order) makes
one ``ServerProxy.host_allowlist``, which
jupyter-server-proxy gives its ``proxy/<host>:<port>/`` routes, and adds its ``proxy/<port>/`` routes with it
ahead of jupyter-server-proxy's own (which take no allowlist: localhost, any port; tornado matches the routes
added first). Elsewhere (a Kubernetes pod) every process is the user's, so nothing changes. Another user's
browser never gets through a server either way (the hub signs in its owner only). May import tornado,
jupyter_server and, in :func:`register`, jupyter_server_proxy.
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable, Iterable, Mapping

__all__ = ["LISTENERS_SECONDS", "SOCKET_TABLES", "OwnPortsOnly", "read_listeners", "register"]

#: The kernel's tables of TCP sockets: one line per socket, with its local address, state and owner's uid.
SOCKET_TABLES = ("/proc/net/tcp", "/proc/net/tcp6")
#: Seconds one read of the socket tables answers for the ports it found listening (see :class:`OwnPortsOnly`).
LISTENERS_SECONDS = 1.0
_LISTEN = "0A"
_LOCAL_HOSTS = ("localhost", "127.0.0.1")


def read_listeners(tables: Iterable[str] = SOCKET_TABLES) -> dict[int, frozenset[int]]:
    """Every TCP port of this machine that is listened on (any address) -> the uids of the accounts listening on it;
    a table that cannot be read adds nothing."""
    owners: dict[int, set[int]] = {}
    for table in tables:
        try:
            with open(table, encoding="ascii") as lines:
                next(lines, None)  # the header
                for line in lines:
                    fields = line.split()
                    if len(fields) > 7 and fields[3] == _LISTEN:
                        port = int(fields[1].rsplit(":", 1)[1], 16)
                        owners.setdefault(port, set()).add(int(fields[7]))
        except (OSError, ValueError):
            continue
    return {port: frozenset(uids) for port, uids in owners.items()}


class OwnPortsOnly:
    """``ServerProxy.host_allowlist``: whether a handler of jupyter-server-proxy (for ``proxy/<port>/...`` or
    ``proxy/<host>:<port>/...``) may reach ``host``: localhost, at a port no other account listens on.

    A refused request gets jupyter-server-proxy's 403. Every proxied request is asked (a dashboard page makes
    dozens, and polls), and reading the socket tables costs a scan of every socket of the machine, so one read
    answers for **at most** ``ttl`` **seconds** (:data:`LISTENERS_SECONDS`, one second) for the ports it found
    listening: a port that changes owner (its listener closes and another account's opens on it) is judged by
    its new owner at most that long after. A port nobody listened on at the last read is read again at once,
    so a dashboard that has just started is never taken for nobody's. One per server (:func:`register`).
    """

    def __init__(self, ttl: float = LISTENERS_SECONDS, *,
                 read: Callable[[], Mapping[int, frozenset[int]]] = read_listeners,
                 clock: Callable[[], float] = time.monotonic, uid: int | None = None) -> None:
        self.ttl = ttl
        self._read = read
        self._clock = clock
        self._uid = os.getuid() if uid is None else uid
        self._listeners: Mapping[int, frozenset[int]] = {}
        self._read_at = float("-inf")

    def owners(self, port: int) -> frozenset[int]:
        """The uids listening on ``port``, from a read of the socket tables at most ``ttl`` seconds old (a fresh
        one when that read found nobody there)."""
        if port not in self._listeners or self._clock() - self._read_at >= self.ttl:
            self._read_at, self._listeners = self._clock(), self._read()
        return self._listeners.get(port, frozenset())

    def __call__(self, handler: Any, host: str) -> bool:
        if host not in _LOCAL_HOSTS:
            return False
        try:
            port = int(handler.path_args[-2])  # (port, path) or (host, port, path)
        except (AttributeError, IndexError, TypeError, ValueError):
            return False
        return self.owners(port) <= {self._uid}


def register(serverapp: Any) -> None:
    """Make one :class:`OwnPortsOnly` the allowlist of every ``proxy/`` route of jupyter-server-proxy (when installed,
    and unless the server's configuration sets ``ServerProxy.host_allowlist``); before it loads."""
    import importlib.util

    if importlib.util.find_spec("jupyter_server_proxy") is None or "host_allowlist" in serverapp.config.ServerProxy:
        return
    from jupyter_server.utils import url_path_join
    from jupyter_server_proxy.handlers import LocalProxyHandler

    own_ports_only = OwnPortsOnly()
    serverapp.config.ServerProxy.host_allowlist = own_ports_only  # its proxy/<host>:<port>/ routes
    base_url = serverapp.web_app.settings["base_url"]
    serverapp.web_app.add_handlers(".*", [
        (url_path_join(base_url, path), LocalProxyHandler, {"absolute_url": absolute, "host_allowlist": own_ports_only})
        for path, absolute in ((r"/proxy/(\d+)(/.*|)", False), (r"/proxy/absolute/(\d+)(/.*|)", True))
    ])
