"""TCP ports: checking that the platform's ports are free before anything starts, moving the internal ones out
of the way of another platform, and finding free ones.

Owns :func:`check_ports_free`, :func:`move_taken_internal_ports` and :func:`free_ports`.
"""

from __future__ import annotations

import errno
import socket
from contextlib import ExitStack
from typing import TYPE_CHECKING

from platform_lib.local.errors import ConfigError, PortInUseError

if TYPE_CHECKING:
    from platform_lib.local.config import LocalConfig

__all__ = ["INTERNAL_PORT_OFFSETS", "check_ports_free", "free_ports", "move_taken_internal_ports"]

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


def _bind_error(port: int, ip: str) -> OSError | None:
    """Why ``port`` cannot be listened on at ``ip`` now, or None when it can."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
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
    """``count`` distinct ports that were free a moment ago (for tests and benchmarks)."""
    with ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((ip, 0))
            ports.append(sock.getsockname()[1])
        return ports
