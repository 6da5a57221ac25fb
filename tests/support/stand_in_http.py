"""Stand-in HTTP services served by :mod:`http.server` in a test (the hub's REST API, a Kubernetes API
server, the classes service, a VO server), where the real one cannot run here or the test needs its
refusals.

Owns :class:`StandInHandler`, the base of a stand-in's request handler (``self.answer(status, body)``
sends ``body`` as JSON; no request is logged to stderr), and :func:`serving_http`, which serves one on a
free port for a ``with`` block. On the path by tests/conftest.py (tests/support/), so a test writes::

    from stand_in_http import StandInHandler, serving_http

May import the standard library only.
"""

from __future__ import annotations

import contextlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

#: Seconds to wait for the server's thread to end.
WAIT = 30


class StandInHandler(BaseHTTPRequestHandler):
    """A quiet handler whose :meth:`answer` sends a JSON body; subclasses add ``do_GET``, ``do_POST``..."""

    def log_message(self, *args: Any) -> None:
        pass

    def answer(self, status: int, body: Any) -> None:
        """Send ``status`` with ``body`` as JSON (``Content-Type: application/json``, its ``Content-Length``)."""
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextlib.contextmanager
def serving_http(handler: type[BaseHTTPRequestHandler]) -> Iterator[ThreadingHTTPServer]:
    """Serve ``handler`` on 127.0.0.1 at a free port, in a thread, for the ``with`` block; yields the server
    (``server.server_port``), stopped and closed when the block ends.

    Examples
    --------
    >>> import urllib.request
    >>> class Hello(StandInHandler):
    ...     def do_GET(self):
    ...         self.answer(200, {"path": self.path})
    >>> with serving_http(Hello) as server:
    ...     urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/x", timeout=10).read()
    b'{"path": "/x"}'
    """
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name=f"http-{server.server_port}", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(WAIT)
