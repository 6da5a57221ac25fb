"""jupyter-server-proxy reaches only the ports that this server's own account listens on.

On the local platform every user's server runs on one machine, and jupyter-server-proxy's
``<server>/proxy/<port>/`` (and ``proxy/localhost:<port>/``) reached any port of it: a user read a classmate's
kernel ``LocalCluster`` dashboard (Bokeh, no sign-in: workers, logs, call stacks) through her own server, at
``/user/<her name>/proxy/<the classmate's port>/status``. :func:`own_ports_only` allows localhost only, and only a
port no other account listens on (the Linux socket tables, ``/proc/net/tcp`` and ``tcp6``, name each listening
socket's owner). :func:`register` (called by the ``astrohub_server`` extension, which loads before
``jupyter_server_proxy``: extensions load in name order) makes it ``ServerProxy.host_allowlist``, which
jupyter-server-proxy gives its ``proxy/<host>:<port>/`` routes, and adds its ``proxy/<port>/`` routes with it
ahead of jupyter-server-proxy's own (which take no allowlist: localhost, any port; tornado matches the routes
added first). Elsewhere (a Kubernetes pod) every process is the user's, so nothing changes. Another user's
browser never gets through a server either way (the hub signs in its owner only). May import tornado,
jupyter_server and, in :func:`register`, jupyter_server_proxy.
"""

from __future__ import annotations

import os
from typing import Any, Iterable

__all__ = ["SOCKET_TABLES", "listening_owners", "own_ports_only", "register"]

#: The kernel's tables of TCP sockets: one line per socket, with its local address, state and owner's uid.
SOCKET_TABLES = ("/proc/net/tcp", "/proc/net/tcp6")
_LISTEN = "0A"
_LOCAL_HOSTS = ("localhost", "127.0.0.1")


def listening_owners(port: int, tables: Iterable[str] = SOCKET_TABLES) -> set[int]:
    """The uids of the accounts listening on TCP ``port`` of this machine (any address); empty when none (or no
    table could be read)."""
    owners: set[int] = set()
    for table in tables:
        try:
            with open(table, encoding="ascii") as lines:
                next(lines, None)  # the header
                for line in lines:
                    fields = line.split()
                    if len(fields) > 7 and fields[3] == _LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        owners.add(int(fields[7]))
        except (OSError, ValueError):
            continue
    return owners


def own_ports_only(handler: Any, host: str, tables: Iterable[str] = SOCKET_TABLES) -> bool:
    """``ServerProxy.host_allowlist``: whether ``handler`` (jupyter-server-proxy's, for ``proxy/<port>/...`` or
    ``proxy/<host>:<port>/...``) may reach ``host``: localhost, at a port no other account listens on.

    A refused request gets jupyter-server-proxy's 403.
    """
    if host not in _LOCAL_HOSTS:
        return False
    try:
        port = int(handler.path_args[-2])  # (port, path) or (host, port, path)
    except (AttributeError, IndexError, TypeError, ValueError):
        return False
    return listening_owners(port, tables) <= {os.getuid()}


def register(serverapp: Any) -> None:
    """Make :func:`own_ports_only` the allowlist of every ``proxy/`` route of jupyter-server-proxy (when installed,
    and unless the server's configuration sets ``ServerProxy.host_allowlist``); before it loads."""
    import importlib.util

    if importlib.util.find_spec("jupyter_server_proxy") is None or "host_allowlist" in serverapp.config.ServerProxy:
        return
    from jupyter_server.utils import url_path_join
    from jupyter_server_proxy.handlers import LocalProxyHandler

    serverapp.config.ServerProxy.host_allowlist = own_ports_only  # its proxy/<host>:<port>/ routes
    base_url = serverapp.web_app.settings["base_url"]
    serverapp.web_app.add_handlers(".*", [
        (url_path_join(base_url, path), LocalProxyHandler, {"absolute_url": absolute, "host_allowlist": own_ports_only})
        for path, absolute in ((r"/proxy/(\d+)(/.*|)", False), (r"/proxy/absolute/(\d+)(/.*|)", True))
    ])
