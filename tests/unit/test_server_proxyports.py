"""astrohub_server.proxyports: jupyter-server-proxy reaches only the ports of the server's own account.

The socket tables are the kernel's format (``/proc/net/tcp``), written here with known owners; one real listening
socket checks the real tables. On the running platform: tests/integration/test_platform_dask.py.
"""

from __future__ import annotations

import os
import socket
from types import SimpleNamespace

from astrohub_server.proxyports import LISTENERS_SECONDS, OwnPortsOnly, read_listeners

_HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"


def _row(port: int, state: str, uid: int) -> str:
    return (f"   0: 00000000:{port:04X} 00000000:0000 {state} 00000000:00000000 00:00000000 00000000 "
            f"{uid:5d}        0 12345 1 0000000000000000 100 0 0 10 0\n")


def test_only_a_port_no_other_account_listens_on_is_proxied(tmp_path):
    """``/user/<her name>/proxy/<port>/`` reached any port of the machine: a classmate's kernel dashboard too."""
    me, other = os.getuid(), os.getuid() + 1000
    table = tmp_path / "tcp"
    table.write_text(_HEADER + _row(8080, "0A", other) + _row(8081, "0A", me) + _row(8082, "01", other))
    tables = [str(table), str(tmp_path / "no-tcp6")]
    assert read_listeners(tables) == {8080: {other}, 8081: {me}}  # 8082: a connection, not a listening socket
    own_ports_only = OwnPortsOnly(read=lambda: read_listeners(tables))

    def allowed(*path_args: str, host: str = "localhost") -> bool:
        return own_ports_only(SimpleNamespace(path_args=list(path_args)), host)

    assert not allowed("8080", "/status")  # another account's dashboard
    assert not allowed("localhost", "8080", "/status")  # the same through proxy/localhost:<port>/
    assert allowed("8081", "/status") and allowed("127.0.0.1", "8081", "/", host="127.0.0.1")
    assert allowed("8082", "/")  # nobody listens: the proxy's own "connection refused"
    assert not allowed("example.org", "8081", "/", host="example.org")  # never another host


def test_the_real_socket_tables_name_this_processs_listening_socket():
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        assert read_listeners()[port] == {os.getuid()}
        assert OwnPortsOnly()(SimpleNamespace(path_args=[str(port), "/"]), "localhost")


class Tables:
    """Stands in for the socket tables: what they say now, and how often they were read."""

    def __init__(self, listeners: dict[int, set[int]]) -> None:
        self.listeners, self.reads = listeners, 0

    def __call__(self) -> dict[int, frozenset[int]]:
        self.reads += 1
        return {port: frozenset(uids) for port, uids in self.listeners.items()}


def test_one_read_of_the_socket_tables_answers_a_dashboards_requests_for_a_second_and_no_longer():
    """Every proxied request read the whole of /proc/net/tcp and tcp6, and a dashboard page makes dozens. Now one
    read answers for ``LISTENERS_SECONDS``; a port that changes owner is judged by its new owner after that, and a
    port nobody listened on is read again at once (a dashboard that has just started is not nobody's)."""
    me, other, now = 1000, 1001, [0.0]
    tables = Tables({8787: {me}, 9000: {other}})
    allowed = OwnPortsOnly(read=tables, clock=lambda: now[0], uid=me)

    def asks(port: int) -> bool:
        return allowed(SimpleNamespace(path_args=[str(port), "/status"]), "localhost")

    assert LISTENERS_SECONDS <= 2 and allowed.ttl == LISTENERS_SECONDS
    assert all(asks(8787) for _ in range(50)) and not asks(9000) and tables.reads == 1
    now[0] += LISTENERS_SECONDS / 2
    tables.listeners[8787] = {other}  # my dashboard closed and a classmate's opened on its port
    assert asks(8787) and tables.reads == 1  # within the second: the read that was
    now[0] += LISTENERS_SECONDS / 2
    assert not asks(8787) and tables.reads == 2  # a second on: refused
    assert not asks(8787) and tables.reads == 2
    tables.listeners[8788] = {other}  # nobody listened there at the last read: read again, refused at once
    assert not asks(8788) and tables.reads == 3
    assert asks(8789) and asks(8789) and tables.reads == 5  # nobody listens: each ask reads (the proxy's 502)
    assert not allowed(SimpleNamespace(path_args=["8787", "/"]), "example.org") and tables.reads == 5
