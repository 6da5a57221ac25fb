"""A user's Jupyter server answers bad bodies to its own API with a 400 naming the problem, in Jupyter Server's JSON
error form, on a real ServerApp (errpages25: each was a 500 "Unhandled error" and a traceback in the server's log).

* ``POST api/contents``, ``POST api/kernels``, ``POST api/sessions`` with a body that is not UTF-8 (or says
  ``charset=latin-1``): Jupyter Server decodes it outside its ``try`` (astrohub_server.json_bodies);
* ``PUT api/contents`` (the top folder) or ``PUT api/contents/<folder>`` with a body: the save of a file onto a
  folder, "Is a directory" (astrohub_server.contents.refuse_file_over_folder).
"""

from __future__ import annotations

import asyncio
import json

import pytest
from tornado import httpclient

TOKEN = "upstream25-test-token"


@pytest.fixture
def server(tmp_path, monkeypatch):
    """A real ServerApp with the two checks astrohub_server's extension installs; yields (url, root folder)."""
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    root = tmp_path / "home"
    (root / "results").mkdir(parents=True)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    async def start():
        from jupyter_server.serverapp import ServerApp

        from astrohub_server import json_bodies
        from astrohub_server.contents import refuse_file_over_folder

        app = ServerApp()
        app.init_signal = lambda: None
        app.log.setLevel("CRITICAL")
        app.initialize(argv=["--port=0", f"--IdentityProvider.token={TOKEN}", "--ServerApp.open_browser=False",
                             f"--ServerApp.root_dir={root}", "--ServerApp.port_retries=0"],
                       find_extensions=False, new_httpserver=True)
        refuse_file_over_folder(app.contents_manager)
        json_bodies.register(app)
        return app

    app = loop.run_until_complete(start())
    try:
        yield loop, f"http://127.0.0.1:{app.port}/", root
    finally:
        app.http_server.stop()
        loop.run_until_complete(app.kernel_manager.shutdown_all())
        loop.close()
        asyncio.set_event_loop(None)


def _request(server, method: str, path: str, body: bytes, content_type: str = "application/json"):
    loop, url, _ = server

    async def fetch():
        return await httpclient.AsyncHTTPClient().fetch(
            url + path, method=method, body=body, raise_error=False,
            headers={"Authorization": f"token {TOKEN}", "Content-Type": content_type})

    return loop.run_until_complete(fetch())


@pytest.mark.parametrize("path", ["api/contents", "api/kernels", "api/sessions"])
def test_a_body_that_is_not_utf8_is_a_400_naming_the_byte(server, path):
    for body, content_type, words in (
        (b'{"type": "file", "path": "caf\xe9.txt"}', "application/json",
         "the request's body is not UTF-8: byte 0xE9 at byte 29, after '{\"type\": \"file\", \"path\": \"caf'"),
        (b'{"name": "\xff"}', "application/json; charset=latin-1", "its Content-Type says charset=latin-1"),
    ):
        answer = _request(server, "POST", path, body, content_type)
        assert answer.code == 400, (path, answer.code, answer.body[:300])
        error = json.loads(answer.body)  # Jupyter Server's own error form
        assert words in error["message"] and "send the JSON encoded as UTF-8" in error["message"], error
        assert error["reason"] is None or isinstance(error["reason"], str)


def test_the_routes_still_do_their_work(server):
    made = _request(server, "POST", "api/contents", json.dumps({"type": "file", "ext": ".txt"}).encode())
    assert made.code == 201, made.body
    assert (server[2] / json.loads(made.body)["path"]).is_file()
    saved = _request(server, "PUT", "api/contents/results/fit.txt",
                     json.dumps({"type": "file", "format": "text", "content": "ok"}).encode())
    assert saved.code == 201, saved.body
    assert (server[2] / "results" / "fit.txt").read_text() == "ok"
    # the routes after api/contents/<path> in Jupyter Server's order still take their requests (the checked
    # ContentsHandler added alone took api/contents/<path>/checkpoints: Lab could not open a notebook)
    checkpoints = _request(server, "POST", "api/contents/results/fit.txt/checkpoints", b"")
    assert checkpoints.code == 201 and "id" in json.loads(checkpoints.body), (checkpoints.code, checkpoints.body)
    listed = _request(server, "GET", "api/contents/results/fit.txt/checkpoints", None)
    assert listed.code == 200 and len(json.loads(listed.body)) == 1, (listed.code, listed.body)


@pytest.mark.parametrize("path, where", [("api/contents", "the top folder of your files"),
                                         ("api/contents/results", "the folder 'results'")])
def test_a_file_saved_onto_a_folder_is_a_400_saying_it_is_a_folder(server, path, where):
    for body in ({"a": 1}, {"type": "file", "format": "text", "content": "x"}, {"type": "notebook"}):
        answer = _request(server, "PUT", path, json.dumps(body).encode())
        assert answer.code == 400, (path, body, answer.code, answer.body[:300])
        message = json.loads(answer.body)["message"]
        assert f"as {where}: that path is a folder" in message and "put the" in message, message
    assert (server[2] / "results").is_dir() and not any((server[2] / "results").iterdir())
