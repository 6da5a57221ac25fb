"""TCP ports: checking that the platform's ports are free before anything starts, and finding free ones.

Owns :func:`check_ports_free` and :func:`free_ports`.
"""

from __future__ import annotations

import errno
import socket
from contextlib import ExitStack

from platform_lib.local.errors import ConfigError, PortInUseError

__all__ = ["check_ports_free", "free_ports"]


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
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((ip, port))
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise PortInUseError(
                        f"port {port} on {ip} ({key}) is already in use by another program; stop it or "
                        f"choose another port with `astrohub up --set {key}=PORT`",
                        key=key,
                        port=port,
                    ) from exc
                raise PortInUseError(
                    f"cannot listen on {ip}:{port} ({key}): {exc.strerror}", key=key, port=port
                ) from exc


def free_ports(count: int, ip: str = "127.0.0.1") -> list[int]:
    """``count`` distinct ports that were free a moment ago (for tests and benchmarks)."""
    with ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((ip, 0))
            ports.append(sock.getsockname()[1])
        return ports
