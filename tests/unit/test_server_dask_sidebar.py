"""Unit tests of astrohub_server.dask_sidebar's lazy handlers, in a real tornado server.

(The routes against dask_labextension itself, in a real Jupyter server: tests/integration/test_warm_kernels.py.)
"""

from __future__ import annotations

import asyncio
import json
import sys

from tornado import httpclient, httpserver, netutil, web

from astrohub_server.dask_sidebar import lazy_handler

HANDLER_MODULE = """
from tornado import web

class Hello(web.RequestHandler):
    def initialize(self, greeting):
        self.greeting = greeting

    def get(self, name):
        self.write(f"{self.greeting}, {name}")
"""


def _fetch_all(app: web.Application, paths: list[str]) -> list[httpclient.HTTPResponse]:
    async def run() -> list[httpclient.HTTPResponse]:
        sockets = netutil.bind_sockets(0, "127.0.0.1")
        server = httpserver.HTTPServer(app)
        server.add_sockets(sockets)
        port = sockets[0].getsockname()[1]
        client = httpclient.AsyncHTTPClient()
        try:
            return [await client.fetch(f"http://127.0.0.1:{port}{path}", raise_error=False) for path in paths]
        finally:
            server.stop()

    return asyncio.run(run())


def test_the_module_is_imported_on_the_first_request_and_answers_as_itself(tmp_path, monkeypatch):
    (tmp_path / "astrohub_lazy_probe.py").write_text(HANDLER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    app = web.Application([(r"/hello/(\w+)", lazy_handler("astrohub_lazy_probe", "Hello"), {"greeting": "hi"})])
    assert "astrohub_lazy_probe" not in sys.modules
    try:
        first, second = _fetch_all(app, ["/hello/ada", "/hello/bob"])
        assert "astrohub_lazy_probe" in sys.modules
        assert (first.code, first.body) == (200, b"hi, ada")
        assert (second.code, second.body) == (200, b"hi, bob")
    finally:
        sys.modules.pop("astrohub_lazy_probe", None)


def test_a_handler_that_cannot_be_imported_answers_503_naming_it():
    app = web.Application([
        (r"/missing-module", lazy_handler("astrohub_no_such_module", "Handler")),
        (r"/missing-class", lazy_handler("json", "NoSuchHandler")),
    ])
    module, name = _fetch_all(app, ["/missing-module", "/missing-class"])
    assert module.code == name.code == 503
    assert module.headers["Content-Type"].startswith("application/json")
    assert "astrohub_no_such_module.Handler is not available" in json.loads(module.body)["message"]
    assert "json.NoSuchHandler is not available" in json.loads(name.body)["message"]
