"""The request handler of a stand-in JSON API served by :mod:`http.server` in a test (the hub's REST API, a
Kubernetes API server, the classes service), where the real one cannot run or the test needs its refusals.

Owns :class:`JsonHandler`, the base of such a stand-in's handler: ``self.answer(status, body)`` sends
``body`` as JSON with its length, and no request is logged to stderr. On the path by tests/conftest.py
(tests/support/), so a test writes::

    from json_handler import JsonHandler

May import the standard library only.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any


class JsonHandler(BaseHTTPRequestHandler):
    """A quiet handler whose :meth:`answer` sends a JSON body; subclasses add ``do_GET``, ``do_POST``...

    Examples
    --------
    >>> import threading, urllib.request
    >>> from http.server import ThreadingHTTPServer
    >>> class Hello(JsonHandler):
    ...     def do_GET(self):
    ...         self.answer(200, {"path": self.path})
    >>> server = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    >>> threading.Thread(target=server.serve_forever, daemon=True).start()
    >>> urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/x", timeout=10).read()
    b'{"path": "/x"}'
    >>> server.shutdown(); server.server_close()
    """

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
