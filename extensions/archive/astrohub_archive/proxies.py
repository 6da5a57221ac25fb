"""Which callers are the trusted proxy: the ``--trusted-proxy`` rules and the check of one connection.

A rule is an address (``10.0.0.7``), a network (``10.0.0.0/24``) or ``uid:<N>``: a process of that
Unix user on this machine, found from the kernel's socket tables (``/proc/net/tcp``, ``tcp6``: the
owner of the connection's other end, as identd answers it). Addresses cannot tell the local
platform's proxy from a user's process: both connect from 127.0.0.1 (and any local process may bind
any loopback address), so ``astrohub up`` trusts the proxy's user instead, which no user's process
runs as. Pure parsing plus one read of ``/proc``; imports only the standard library.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

__all__ = ["TrustedProxies", "parse_trusted", "socket_owner"]


@dataclass(frozen=True)
class TrustedProxies:
    """The parsed ``--trusted-proxy`` rules."""

    networks: tuple = ()
    uids: frozenset[int] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.networks or self.uids)

    def trusts(self, remote: tuple[str, int], local: tuple[str, int] | None) -> bool:
        """Whether the connection from ``remote`` (ip, port) to ``local`` (ip, port) is a trusted proxy's."""
        try:
            address = ipaddress.ip_address(remote[0])
        except ValueError:
            return False
        if any(address in net for net in self.networks):
            return True
        if self.uids and local is not None:
            return socket_owner(remote, local) in self.uids
        return False


def parse_trusted(values: list[str]) -> TrustedProxies:
    """Parse ``--trusted-proxy`` values; a bad one raises ``ValueError`` naming it and the forms allowed.

    >>> parse_trusted(["127.0.0.1", "uid:0"]).uids
    frozenset({0})
    """
    networks, uids = [], set()
    for value in values:
        value = value.strip()
        if not value:
            continue
        if value.startswith("uid:"):
            try:
                uids.add(int(value[4:]))
            except ValueError:
                raise ValueError(f"--trusted-proxy {value!r}: the user id after 'uid:' must be a number, "
                                 "e.g. uid:0") from None
            continue
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise ValueError(f"--trusted-proxy {value!r} is neither an address, a network (10.0.0.0/24) "
                             "nor uid:<N> (a local user's processes)") from None
    return TrustedProxies(tuple(networks), frozenset(uids))


def _hex_endpoint(ip: str, port: int, v6: bool) -> str:
    """An endpoint as ``/proc/net/tcp[6]`` spells it: the address in host byte order, the port in hex."""
    address = ipaddress.ip_address(ip)
    if v6:
        if address.version == 4:
            address = ipaddress.IPv6Address(f"::ffff:{address}")
        return "".join(f"{w:08X}" for w in struct.unpack("=4I", address.packed)) + f":{port:04X}"
    if address.version != 4:
        return ""
    return f"{struct.unpack('=I', address.packed)[0]:08X}:{port:04X}"


def socket_owner(remote: tuple[str, int], local: tuple[str, int]) -> int | None:
    """The uid owning the local socket that connects from ``remote`` to ``local``; None when not found.

    Only connections between two sockets of this machine are found (the other end is in our own
    socket table), which is all a local proxy makes.
    """
    for table, v6 in (("/proc/net/tcp", False), ("/proc/net/tcp6", True)):
        mine, theirs = _hex_endpoint(remote[0], remote[1], v6), _hex_endpoint(local[0], local[1], v6)
        if not mine:
            continue
        try:
            with open(table) as f:
                next(f, None)
                for line in f:
                    fields = line.split()
                    if len(fields) > 7 and fields[1] == mine and fields[2] == theirs:
                        return int(fields[7])
        except OSError:
            continue
    return None

