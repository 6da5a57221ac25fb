"""astrohub_server.proxyports: jupyter-server-proxy reaches only the ports of the server's own account.

The socket tables are the kernel's format (``/proc/net/tcp``), written here with known owners; one real listening
socket checks the real tables. On the running platform: tests/integration/test_platform_dask.py.
"""

from __future__ import annotations

import os
import socket
from types import SimpleNamespace

from astrohub_server.proxyports import listening_owners, own_ports_only

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
    assert listening_owners(8080, tables) == {other} and listening_owners(8081, tables) == {me}
    assert listening_owners(8082, tables) == set()  # a connection, not a listening socket

    def allowed(*path_args: str, host: str = "localhost") -> bool:
        return own_ports_only(SimpleNamespace(path_args=list(path_args)), host, tables)

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
        assert listening_owners(port) == {os.getuid()}
        assert own_ports_only(SimpleNamespace(path_args=[str(port), "/"]), "localhost")
