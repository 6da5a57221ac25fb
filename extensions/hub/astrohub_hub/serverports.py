"""The ports user servers listen on in local mode: the range they come from, the ports this hub has given out, and
whether a port can be listened on now.

Owns :data:`SERVER_PORTS` (the default of ``AstroLocalSpawner.server_ports``), :func:`take_port`,
:func:`give_back` and :func:`taken_by_another`. Standard library only (the hub package never imports
``platform_lib``).

JupyterHub's ``LocalProcessSpawner`` asks the kernel for a port (a socket bound to port 0, then closed) and the
server binds it a second or two later, with Jupyter Server's ``port_retries`` at 0. Meanwhile the kernel may give
that port to anyone else asking for port 0 or opening an outgoing connection (every HTTP request between the hub,
the proxy, the services and the kernels opens one), and the server then exits ("address already in use"): the
hub answers the user's start with 500. The ports here come from below Linux's ephemeral range (32768-60999), where
the kernel gives no port to anybody, and below the test and benchmark ports of
``platform_lib.local.ports.FREE_PORT_RANGE`` (20000-32767); each is checked free as it is taken, and this hub gives
it to no other server until the one it was given to stops.
"""

from __future__ import annotations

import errno
import random
import socket
from itertools import chain

__all__ = ["SERVER_PORTS", "give_back", "take_port", "taken_by_another"]

#: Where user servers listen, inclusive: above the ports people set by hand (8000, 8700-8705, 8786, 8888),
#: below the platform's test ports (20000-32767) and the kernel's ephemeral ports (32768-60999).
SERVER_PORTS = (10000, 19999)

#: The ports this hub process gave to servers that have not stopped since (a process-wide table by nature: the
#: hub's spawners share its ports).
_GIVEN: set[int] = set()


def take_port(ip: str, ports: tuple[int, int] = SERVER_PORTS) -> int | None:
    """A port in ``ports`` (inclusive) that nothing listens on or lingers on at ``ip`` now and that this hub has
    not given to a server still running, from a random place in the range; held until :func:`give_back`.
    ``None`` when every port of the range is taken."""
    low, high = ports
    candidates = range(low, high + 1)
    start = random.randrange(len(candidates))
    for port in chain(candidates[start:], candidates[:start]):
        if port not in _GIVEN and _bind_error(ip, port, strict=True) is None:
            _GIVEN.add(port)
            return port
    return None


def give_back(port: int) -> None:
    """Let this hub give ``port`` to another server (its server stopped, or did not start)."""
    _GIVEN.discard(port)


def taken_by_another(ip: str, port: int) -> bool:
    """Whether another program listens on ``port`` at ``ip`` now (what a server that exited while starting on it
    met): binding it as a server does (``SO_REUSEADDR``) fails with "address in use"."""
    exc = _bind_error(ip, port, strict=False)
    return exc is not None and exc.errno == errno.EADDRINUSE


def _bind_error(ip: str, port: int, *, strict: bool) -> OSError | None:
    """Why ``port`` cannot be bound at ``ip`` (all addresses when empty) now, or None. ``strict``: also when
    connections of an earlier server on it linger (TIME_WAIT), which a server (``SO_REUSEADDR``) ignores."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        if not strict:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((ip, port))
        except OSError as exc:
            return exc
    return None
