"""Benchmark: the server proxy's port check (``astrohub_server.proxyports``), per proxied request, cached or not.

Every request through a server's ``proxy/<port>/`` (a kernel ``LocalCluster`` dashboard: dozens per page, and
its polls) asks :class:`OwnPortsOnly` whether another account listens on the port. The peer is the check as it
was: a scan of ``/proc/net/tcp`` and ``tcp6`` for every request (``read_listeners`` per call, the same parsing);
the check now reads them at most once a second (``LISTENERS_SECONDS``). Both run in this process against one
real listening socket, interleaved in rounds so load on a shared machine hits both alike, on this machine's real
tables and on a planted table of ``--sockets`` sockets (a classroom's servers, kernels and their connections on
one machine). Medians of per-round microseconds per check; the cached check's column is a check answered from
the last read (the read itself, one scan, happens at most once a second however many requests come).

Usage: ``.venv/bin/python bench/proxy_port_check.py [--sockets N] [--calls N] [--rounds N]``.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from astrohub_server.proxyports import SOCKET_TABLES, OwnPortsOnly, read_listeners


def planted_table(folder: Path, sockets: int, port: int) -> list[str]:
    """A /proc/net/tcp of ``sockets`` rows (a tenth listening, the rest connections), ``port`` listened on last."""
    rows = ["  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"]
    for k in range(sockets):
        state, local = ("0A", 20000 + k) if k % 10 == 0 else ("01", 40000 + k % 20000)
        rows.append(f"{k:4d}: 0100007F:{local:04X} 0100007F:{8000 + k % 100:04X} {state} 00000000:00000000 "
                    f"00:00000000 00000000 {1000 + k % 50:5d}        0 {k + 1} 1 0000000000000000 20 4 30 10 -1\n")
    rows.append(f"{sockets:4d}: 0100007F:{port:04X} 00000000:0000 0A 00000000:00000000 00:00000000 00000000 "
                f"{os.getuid():5d}        0 99 1 0000000000000000 100 0 0 10 0\n")
    table = folder / "tcp"
    table.write_text("".join(rows))
    return [str(table)]


def per_check(check, handler, calls: int) -> float:
    """Microseconds per ``check(handler, 'localhost')`` over ``calls`` calls (each must allow)."""
    start = time.perf_counter()
    for _ in range(calls):
        assert check(handler, "localhost")
    return (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sockets", type=int, default=2000)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    with socket.socket() as listening, tempfile.TemporaryDirectory() as folder:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        handler = SimpleNamespace(path_args=[str(port), "/status"])
        rows = sum(1 for table in SOCKET_TABLES for _ in open(table, encoding="ascii")) - len(SOCKET_TABLES)
        print(f"{'tables':<34} {'scan per request (us)':>22} {'from the last read (us)':>24} {'ratio':>8}")
        for label, tables in ((f"this machine's ({rows} sockets)", SOCKET_TABLES),
                              (f"planted ({a.sockets} sockets)", planted_table(Path(folder), a.sockets, port))):
            uid = os.getuid()

            def scanned(h, host, tables=tables):  # the check as it was: the tables read for every request
                return host == "localhost" and read_listeners(tables).get(int(h.path_args[-2]), set()) <= {uid}

            cached = OwnPortsOnly(read=lambda tables=tables: read_listeners(tables))
            old, new = [], []
            for _ in range(a.rounds):
                old.append(per_check(scanned, handler, a.calls))
                cached(handler, "localhost")  # the round's read (a scan, as above), at most once a second
                new.append(per_check(cached, handler, a.calls))
            o, n = statistics.median(old), statistics.median(new)
            print(f"{label:<34} {o:>22.1f} {n:>24.2f} {o / n:>7.0f}x")


if __name__ == "__main__":
    main()
