"""TCP ports: checking that the platform's ports are free before anything starts, moving the internal ones out
of the way of another platform, and finding free ones.

Owns :func:`check_ports_free`, :func:`move_taken_internal_ports` and :func:`free_ports` (with the reservations it
holds).
"""

from __future__ import annotations

import atexit
import errno
import random
import socket
import sys
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

from platform_lib.local.errors import ConfigError, PortInUseError

if TYPE_CHECKING:
    from platform_lib.local.config import LocalConfig

__all__ = ["FREE_PORT_RANGE", "INTERNAL_PORT_OFFSETS", "check_ports_free", "free_ports", "move_taken_internal_ports"]

#: The internal ports (configuration key -> offset from the public port ``hub.port``) that
#: :func:`move_taken_internal_ports` moves when their default is taken: ``astrohub up --port 8700`` next to
#: another platform on the defaults listens on 8701 (the hub's API), 8702 (the proxy's API), 8703 (the
#: gateway), 8704 (the archive), 8705 (the classes service).
INTERNAL_PORT_OFFSETS = {
    "hub.hub_port": 1,
    "hub.proxy_api_port": 2,
    "gateway.port": 3,
    "archive.port": 4,
    "classes.port": 5,
}


def check_ports_free(ports: dict[str, int], ip: str = "127.0.0.1") -> None:
    """Raise if two keys share a port or any port cannot be bound on ``ip``.

    Raises
    ------
    ConfigError
        Two configuration keys name the same port.
    PortInUseError
        Naming the port, the configuration key that sets it, and how to change it.
    """
    seen: dict[int, str] = {}
    for key, port in ports.items():
        if port in seen:
            raise ConfigError(
                f"configuration keys '{seen[port]}' and '{key}' both use port {port}; give each its own port",
                key=key,
                value=port,
            )
        seen[port] = key
    for key, port in ports.items():
        exc = _bind_error(port, ip)
        if exc is None:
            continue
        if exc.errno == errno.EADDRINUSE:
            raise PortInUseError(
                f"port {port} on {ip} ({key}) is already in use by another program; stop it or "
                f"choose another port with `astrohub up --set {key}=PORT`",
                key=key,
                port=port,
            ) from exc
        raise PortInUseError(f"cannot listen on {ip}:{port} ({key}): {exc.strerror}", key=key, port=port) from exc


def _bind_error(port: int, ip: str, *, strict: bool = False) -> OSError | None:
    """Why ``port`` cannot be listened on at ``ip`` now, or None when it can. ``strict``: also when connections of
    an earlier server on it linger (TIME_WAIT), which servers (SO_REUSEADDR) ignore but a plain ``bind`` does not."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        if not strict:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((ip, port))
        except OSError as exc:
            return exc
    return None


def move_taken_internal_ports(config: LocalConfig) -> tuple[LocalConfig, list[str]]:
    """``config`` with each internal port that is at its default and in use moved next to the public port, and
    one sentence for each port moved (for ``astrohub up`` to print).

    Only when the public port ``hub.port`` was set (``--port``, ``--set``, the file or the environment): a second
    platform on the machine is then given its own public port alone. An internal port set explicitly is kept as
    it is (:func:`check_ports_free` then names it if it is taken). A moved port is ``hub.port`` plus its offset
    (:data:`INTERNAL_PORT_OFFSETS`), so the same ``up`` on the same machine gets the same ports again after a
    ``down``; where the default is free again, the default. What ``up`` ran with is kept in
    ``<data>/state/up-config.json``, which ``status``, ``down`` and ``users`` read.
    """
    if "port" not in config.hub.model_fields_set:
        return config, []
    notes = []
    sections: dict[str, dict[str, int]] = {}
    for key, port in config.ports().items():
        offset = INTERNAL_PORT_OFFSETS.get(key)
        section, _, field = key.partition(".")
        if offset is None or field in getattr(config, section).model_fields_set:
            continue
        exc = _bind_error(port, config.hub.ip)
        if exc is None or exc.errno != errno.EADDRINUSE:
            continue
        moved = config.hub.port + offset
        if moved > 65535:
            continue  # check_ports_free names the taken default and the setting
        sections.setdefault(section, {})[field] = moved
        notes.append(f"port {port} ({key}) is in use by another program; using {moved} (the public port "
                     f"{config.hub.port} + {offset}; set it with `--set {key}=PORT`)")
    update = {section: getattr(config, section).model_copy(update=fields) for section, fields in sections.items()}
    return (config.model_copy(update=update) if update else config), notes


def free_ports(count: int, ip: str = "127.0.0.1") -> list[int]:
    """``count`` distinct ports, free now, that no other call of this function on this machine gives out while
    this process lives (for tests and benchmarks, which then start servers on them).

    A port the kernel gave to a socket bound to port 0, and took back when it closed, could be given again at once
    to any other socket bound to port 0 or to an outgoing connection (a hub's spawner, a Dask worker, a job, the
    other pytest-xdist worker asking for its platform's ports) before the server meant for it listened: "address
    already in use" now and then. So the ports come from :data:`FREE_PORT_RANGE`, below the kernel's ephemeral
    range (``/proc/sys/net/ipv4/ip_local_port_range``), where the kernel gives no port to anybody; and each is held
    for this process's lifetime by a Linux abstract Unix socket named after it (gone with the process, no file
    left), so two processes (xdist workers, two test runs on one machine) never get the same one.
    """
    taken = _ephemeral_ports()
    ports: list[int] = []
    # From a place of this process's own in the range, so that runs one after the other do not take the same
    # ports again while the last run's connections on them linger; and only ports nothing lingers on (strict).
    start = random.randrange(len(FREE_PORT_RANGE))
    for port in chain(FREE_PORT_RANGE[start:], FREE_PORT_RANGE[:start]):
        if len(ports) == count:
            break
        if port in taken or not _reserve(port):
            continue
        if _bind_error(port, ip, strict=True) is None:
            ports.append(port)
    if len(ports) < count:
        raise RuntimeError(f"fewer than {count} free ports in {FREE_PORT_RANGE.start}-{FREE_PORT_RANGE.stop - 1} "
                           f"outside the kernel's ephemeral ports {min(taken, default=0)}-{max(taken, default=0)} "
                           "(net.ipv4.ip_local_port_range); free some, or end the test runs that hold them")
    return ports


#: Where :func:`free_ports` looks: under Linux's default ephemeral range (32768-60999), and above the ports people
#: set by hand (8000, 8700, ...).
FREE_PORT_RANGE = range(20000, 32768)

#: The reservations :func:`free_ports` holds, one abstract Unix socket per port, until this process ends (a
#: process-wide table by nature: a reservation is a process's, and closing one would give its port to another).
_RESERVED: dict[int, socket.socket | None] = {}


def _ephemeral_ports() -> range:
    """The ports the kernel gives to sockets bound to port 0 and to outgoing connections."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    except (OSError, ValueError):
        return range(32768, 61000)  # Linux's default
    return range(int(low), int(high) + 1)


def _reserve(port: int) -> bool:
    """Hold ``port`` for this process until it ends; False when another process (or this one) holds it."""
    if port in _RESERVED:
        return False
    if not sys.platform.startswith("linux"):  # no abstract sockets: the range alone keeps the kernel off
        _RESERVED[port] = None
        return True
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(f"\0astrohub-free-port-{port}")
    except OSError:
        sock.close()
        return False
    if not _RESERVED:
        atexit.register(_release_all)  # closed as the process ends, not left to the garbage collector's warnings
    _RESERVED[port] = sock
    return True


def _release_all() -> None:
    """Close the reservations (as this process ends)."""
    while _RESERVED:
        _, sock = _RESERVED.popitem()
        if sock is not None:
            sock.close()
