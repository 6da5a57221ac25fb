"""The archive's ``--trusted-proxy`` rules (issue 22): addresses, networks and ``uid:<N>``.

``uid:`` is checked against the kernel's socket table with real loopback connections, one of them
made by a process of another user (when run as root), which is what the local platform's proxy and
a user's process are.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from astrohub_archive.proxies import parse_trusted, socket_owner


def test_rules_parse_and_bad_ones_name_the_forms():
    rules = parse_trusted(["10.0.0.0/24", "127.0.0.1", "uid:0", ""])
    assert rules.uids == {0} and len(rules.networks) == 2
    assert rules.trusts(("10.0.0.9", 1), None) and not rules.trusts(("10.0.1.9", 1), None)
    assert not parse_trusted([])
    with pytest.raises(ValueError, match="uid:<N>"):
        parse_trusted(["proxy.example"])
    with pytest.raises(ValueError, match="must be a number"):
        parse_trusted(["uid:root"])


@pytest.mark.parametrize(("family", "host"), [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")])
def test_the_owner_of_a_loopback_connection_is_found(family, host):
    try:
        server = socket.socket(family)
        server.bind((host, 0))
    except OSError:
        pytest.skip(f"no {host} here")
    server.listen(1)
    with server, socket.create_connection(server.getsockname()[:2]) as client:
        mine, theirs = client.getsockname()[:2], server.getsockname()[:2]
        assert socket_owner(mine, theirs) == os.getuid()
        assert parse_trusted([f"uid:{os.getuid()}"]).trusts(mine, theirs)
        assert not parse_trusted([f"uid:{os.getuid() + 1}"]).trusts(mine, theirs)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to connect as another user")
def test_another_users_connection_is_not_the_proxys():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    code = ("import os, socket, sys\nos.setgid(65534); os.setuid(65534)\n"
            f"c = socket.create_connection(('127.0.0.1', {server.getsockname()[1]}))\n"
            "print(c.getsockname()[1], flush=True); sys.stdin.read()")
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        port = int(child.stdout.readline())
        conn, remote = server.accept()
        with conn:
            assert remote[1] == port
            assert socket_owner(remote, server.getsockname()) == 65534
            assert not parse_trusted(["uid:0"]).trusts(remote, server.getsockname())
    finally:
        child.stdin.close()
        child.wait(10)
        server.close()
