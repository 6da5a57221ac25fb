"""A user's Jupyter server answers bad bodies to its own API with a 400 naming the problem, in Jupyter Server's JSON
error form, on a real ServerApp with the extensions that add JSON routes (errpages25: each was a 500 "Unhandled
error" and a traceback in the server's log).

* ``POST api/contents``, ``POST api/kernels``, ``POST api/sessions`` with a body that is not UTF-8 (or says
  ``charset=latin-1``): Jupyter Server decodes it outside its ``try`` (astrohub_server.json_bodies);
* jsbodies26: every JSON route of Jupyter Server, its terminals, JupyterLab, jupyterlab_server and
  jupyter-collaboration with a body that is not UTF-8, ``null``, a list, 10,000 levels of ``[``, JSON 300 levels deep
  or (where the route needs one) empty: config, ``api/me``, events, nbconvert, terminals, settings and workspaces,
  the collaboration session, Lab's extension and plugin managers answered 500 for some of them;
* ``PUT api/contents`` (the top folder) or ``PUT api/contents/<folder>`` with a body: the save of a file onto a
  folder, "Is a directory" (astrohub_server.contents.refuse_file_over_folder).
"""

from __future__ import annotations

import asyncio
import importlib
import json

import pytest
from tornado import httpclient

TOKEN = "upstream25-test-token"
#: The extensions of a user's server that add routes reading JSON bodies (nbgrader's formgrader aside: an
#: instructor's only, it needs a course; its rows are checked by test_every_route_names_a_handler_that_exists).
EXTENSIONS = ("jupyter_server_terminals", "jupyterlab", "jupyter_server_fileid", "jupyter_server_ydoc")


@pytest.fixture
def server(tmp_path, monkeypatch):
    """A real ServerApp with the two checks astrohub_server's extension installs; yields (url, root folder)."""
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
        (tmp_path / name.lower()).mkdir()
    root = tmp_path / "home"
    (root / "results").mkdir(parents=True)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    async def start():
        from jupyter_server.serverapp import ServerApp

        import astrohub_server
        from astrohub_server.contents import refuse_file_over_folder

        app = ServerApp()
        app.init_signal = lambda: None
        app.log.setLevel("CRITICAL")
        app.initialize(argv=["--port=0", f"--IdentityProvider.token={TOKEN}", "--ServerApp.open_browser=False",
                             f"--ServerApp.root_dir={root}", "--ServerApp.port_retries=0",
                             # the extensions of a user's server that add JSON routes (astrohub_hub.local)
                             *(f"--ServerApp.jpserver_extensions={name}=True" for name in EXTENSIONS),
                             "--YDocExtension.disable_rtc=False"],
                       find_extensions=False, new_httpserver=True)
        refuse_file_over_folder(app.contents_manager)
        await astrohub_server._start_jupyter_server_extension(app)  # what the server runs once extensions are in
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


#: (method, path) of every route of json_bodies.ROUTES on the test's server, each with what the route reads.
SWEPT = (("POST", "api/contents"), ("PUT", "api/contents/results/x.txt"), ("PATCH", "api/contents/results"),
         ("POST", "api/kernels"), ("POST", "api/sessions"), ("PATCH", "api/sessions/a-b-c-d-e"),
         ("PUT", "api/config/notebook"), ("PATCH", "api/config/notebook"), ("PATCH", "api/me"),
         ("POST", "api/events"), ("POST", "nbconvert/html"), ("POST", "api/terminals"),
         ("PUT", "api/collaboration/session/results"), ("PUT", "api/collaboration/fork/a-room"),
         ("POST", "lab/api/extensions"), ("POST", "lab/api/plugins"),
         ("PUT", "lab/api/settings/@jupyterlab/apputils-extension:themes"), ("PUT", "lab/api/workspaces/w"))
#: Bodies no route can read, with the words of the 400 (an empty body only where the route needs one).
BAD = ((b'{"a": "caf\xe9"}', "is not UTF-8: byte 0xE9 at byte 10"), (b"null", "is JSON null, not an object"),
       (b"[1]", "is a JSON array, not an object"), (b"[" * 10_000 + b"]" * 10_000, "nests JSON deeper than 200 levels"),
       (b'{"a": ' * 300 + b"1" + b"}" * 300, "nests JSON deeper than 200 levels"))


def test_every_json_route_answers_a_bad_body_with_a_400_naming_it(server):
    """Each route answered a 500 (or Jupyter Server's HTML error page) to at least one of these on the old code;
    one server for all of them (a server with JupyterLab takes a second to start)."""
    optional = {("POST", "api/contents"), ("PUT", "api/contents/results/x.txt"), ("POST", "api/kernels"),
                ("POST", "api/terminals")}
    wrong = []
    for method, path in SWEPT:
        for body, words in BAD + (() if (method, path) in optional else ((b"", "is empty: send a JSON object"),)):
            answer = _request(server, method, path, body)
            message = json.loads(answer.body).get("message", "") if answer.headers.get(
                "Content-Type") == "application/json" else answer.body[:100].decode("utf-8", "replace")
            if answer.code != 400 or f"the request's body {words}" not in message or "send " not in message:
                wrong.append((method, path, body[:12], answer.code, message))
    assert not wrong, "\n".join(map(str, wrong))


def test_a_route_names_the_keys_it_reads(server):
    for method, path, keys in (("POST", "nbconvert/html", "'content'"),
                               ("PUT", "api/collaboration/session/results", "'format', 'type'"),
                               ("POST", "lab/api/plugins", "'cmd', 'plugin_name'"),
                               ("PUT", "lab/api/workspaces/w", "'metadata'")):
        answer = _request(server, method, path, b'{"colour": "red"}')
        assert answer.code == 400, (path, answer.code, answer.body[:300])
        assert f"has no {keys}: send a JSON object with {keys}" in json.loads(answer.body)["message"], answer.body


def test_good_bodies_still_do_their_work(server):
    """The checked routes read the body as before (parsed once, by the check), and a route whose body may be
    empty still does its default; a request without a token still gets the route's own 403."""
    assert _request(server, "PUT", "api/config/notebook", b'{"load_extensions": {"x": true}}').code == 204
    patched = _request(server, "PATCH", "api/config/notebook", b'{"load_extensions": {"y": false}}')
    assert json.loads(patched.body) == {"load_extensions": {"x": True, "y": False}}, patched.body
    # (an empty body to api/terminals would start a terminal: a fork of this many-threaded test process, whose
    # child can crash before it runs the shell; a new untitled file is the same empty-body default, without a fork)
    untitled = _request(server, "POST", "api/contents", b"")
    assert untitled.code == 201 and json.loads(untitled.body)["type"] == "file", untitled.body
    assert _request(server, "DELETE", "api/contents/" + json.loads(untitled.body)["path"], None).code == 204
    session = _request(server, "PUT", "api/collaboration/session/results/fit.txt",
                       b'{"format": "text", "type": "file"}')
    assert session.code in (200, 201) and json.loads(session.body)["fileId"], session.body
    workspace = _request(server, "PUT", "lab/api/workspaces/w", b'{"data": {}, "metadata": {"id": "w"}}')
    assert workspace.code == 204, workspace.body
    loop, url, _ = server
    anonymous = loop.run_until_complete(httpclient.AsyncHTTPClient().fetch(
        url + "api/config/notebook", method="PUT", body=b"null", raise_error=False))
    assert anonymous.code == 403, anonymous.code


def test_every_route_names_a_handler_that_exists():
    """A row naming a class that is not there (an upstream rename) would check nothing: each names a handler
    with the methods it lists."""
    from astrohub_server.json_bodies import ROUTES

    for module, name, reads in ROUTES:
        handler = getattr(importlib.import_module(module), name)
        for method in reads:
            assert method.lower() in vars(handler), (module, name, method)


def test_an_extensions_subclass_of_a_checked_handler_is_checked_in_place():
    """astrohub_server.formgrader serves nbgrader's API handlers as its own subclasses (named like nbgrader's, in its
    module): they are checked too (a bad body to PUT formgrader/api/assignment/<id> was a 500), where they stand."""
    from types import SimpleNamespace

    from nbgrader.server_extensions.formgrader.apihandlers import AssignmentHandler
    from nbgrader.server_extensions.formgrader.handlers import ManageAssignmentsHandler
    from tornado import web

    from astrohub_server.json_bodies import CheckedBody, register

    class CoursePresent:  # as astrohub_server.formgrader's mixin
        pass

    wrapped = type("AssignmentHandler", (CoursePresent, AssignmentHandler), {"__module__": "astrohub_server.formgrader"})
    app = web.Application([("/formgrader/api/assignment/([^/]+)", wrapped),
                           ("/formgrader/manage_assignments", ManageAssignmentsHandler)])
    assert register(SimpleNamespace(web_app=app)) == 1
    targets = [rule.target for rule in app.wildcard_router.rules]
    assert issubclass(targets[0], CheckedBody) and issubclass(targets[0], wrapped), targets
    assert set(targets[0].body_reads) == {"PUT"} and targets[1] is ManageAssignmentsHandler, targets
    assert register(SimpleNamespace(web_app=app)) == 0  # once only
