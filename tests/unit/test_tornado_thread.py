"""The in-process Tornado server of the tests (tests/support/tornado_thread.py): when its block ends it closes
the connections clients keep alive, not only its listening socket.

The unit tier's "socket leak": a keep-alive connection's server side outlived the server's loop, open, and was
collected unclosed in whichever later test ran the garbage collector (``ResourceWarning: unclosed <socket ...
laddr=('127.0.0.1', <the server's port>)>``; test_jobs_api's check of pyvo's sockets met two in CI).
"""

from __future__ import annotations

import socket

import tornado.web
from tornado_thread import serving


class _Hello(tornado.web.RequestHandler):
    def get(self) -> None:
        self.write("hello")


def test_a_connection_kept_alive_is_closed_by_the_server_when_the_block_ends():
    with socket.socket() as client:
        with serving(lambda: tornado.web.Application([("/", _Hello)])) as base:
            client.connect(("127.0.0.1", int(base.rsplit(":", 1)[1])))
            client.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")  # HTTP/1.1: kept alive after the answer
            answer = b""
            while not answer.endswith(b"hello"):
                chunk = client.recv(4096)
                assert chunk, answer
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 200"), answer
        # The block has ended, the client is still connected: the server closed its side, so the client reads the
        # end of the stream. (The timeout only bounds a failure: the old helper left that side open, and this
        # read waited.)
        client.settimeout(30)
        try:
            assert client.recv(1) == b""
        except TimeoutError:
            raise AssertionError("the server's side of a kept-alive connection is still open") from None
