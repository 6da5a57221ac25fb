"""astrohub_hub.classes_service: every route of the classes API refuses a body key it does not take, the same way.

Only the handlers that read a body checked its keys; a route that takes none (``archive``, ``collect``, a
``DELETE``) ignored whatever it was sent and did its work. The service runs here in-process on a free port with a
stand-in for the hub's token check (``HubAuth`` asks a running hub; the integration tier has the real one:
tests/integration/test_platform_badinput.py), and a body key the route does not take is refused before the
handler runs, so nothing of the classes behind it is touched (``teaching`` is ``None``).
"""

from __future__ import annotations

import inspect
import itertools
import re

import pytest
import requests
from tornado_thread import serving  # tests/support/, on the path by tests/conftest.py

from astrohub_hub.classes_service import ApiHandler, api_routes, make_app

pytestmark = pytest.mark.unit

API = "/services/astrohub-classes/api"
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")


class SignedIn:
    """Stands in for ``HubAuth``: every token is ann's, an admin's, with the service's scope."""

    access_scopes: set[str] = set()

    def get_token(self, handler, in_cookie=False):
        return "token"

    async def user_for_token(self, token, sync=True):
        return {"name": "ann", "admin": True, "scopes": ["admin:users"]}

    def check_scopes(self, scopes, model):
        return True


def _paths(pattern: str) -> list[str]:
    """The concrete paths of a route's pattern: each ``([^/]+)`` a name, each ``(a|b)`` every one of its words."""
    pattern = pattern.removesuffix("/?")
    parts = re.split(r"(\([^)]*\))", pattern)
    choices = [["x"] if p == "([^/]+)" else p[1:-1].split("|") if p.startswith("(") else [p] for p in parts]
    return ["".join(words) for words in itertools.product(*choices)]


ROUTES = [(method, path, handler) for pattern, handler in api_routes(API) for path in _paths(pattern)
          for method in METHODS if method.lower() in vars(handler)]


@pytest.fixture(scope="module")
def service():
    with serving(lambda: make_app(None, SignedIn(), "/services/astrohub-classes/")) as base:
        yield base


@pytest.mark.parametrize("handler", sorted({h for _, h in api_routes(API)}, key=lambda h: h.__name__))
def test_every_route_names_the_body_keys_of_each_method_it_answers(handler):
    """A new route, or a new method of one, without its keys in ``BODIES`` fails here."""
    answers = {m for m in METHODS if inspect.iscoroutinefunction(vars(handler).get(m.lower()))}
    assert answers and set(handler.BODIES) == answers, (handler.__name__, sorted(answers), handler.BODIES)
    assert issubclass(handler, ApiHandler)


@pytest.mark.parametrize(("method", "path", "handler"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_every_route_refuses_a_body_key_it_does_not_take_naming_it_and_the_keys_it_takes(service, method, path,
                                                                                        handler):
    """``{"bogus": 1}`` to any route: a 400 naming the key and the route's keys ("no body" for a route that takes
    none); before, a route that takes no body did its work and answered 200 (here: a 500, the handler reaching the
    classes behind it, which the test does not give it)."""
    keys = handler.BODIES[method] if not path.endswith(("/submit", "/collect", "/feedback")) else ()
    answer = requests.request(method, service + path, json={"bogus": 1}, timeout=30)
    assert answer.status_code == 400, (answer.status_code, answer.text[:300])
    error = answer.json()
    assert error["code"] == "unknown-key" and "unknown key 'bogus'" in error["message"], error
    assert f"{method} {path} takes " in error["message"], error
    for key in keys:
        assert repr(key) in error["message"], (key, error)
    if not keys:
        assert error["message"].endswith("takes no body"), error
    if method != "GET" and not keys:  # anything but {} (or nothing) to a route that takes no body
        for body in (b"[1]", b"not json"):
            refused = requests.request(method, service + path, data=body, timeout=30)
            assert refused.status_code == 400 and refused.json()["code"] == "no-body", refused.text[:300]
            assert refused.json()["message"] == f"{method} {path} takes no body; send none", refused.json()


@pytest.mark.parametrize(("path", "where"), [
    # a route that matched, its name not UTF-8: tornado's "Invalid unicode in %s: %r" (its format unfilled), code "http"
    ("/classes/caf%E9", "byte 0xE9 (sent as %E9) at character 43 of the path, after '/services/astrohub-classes/api/classes/caf'"),
    # no route matched because of the byte: "no such route ...", 404, as if the route were missing
    ("/classes%FF", "byte 0xFF (sent as %FF) at character 39 of the path, after '/services/astrohub-classes/api/classes'"),
])
def test_a_path_that_is_not_utf8_is_a_400_naming_the_byte(service, path, where):
    """errpages25: the proxy now sends such a path on to the service (it answered the hub's HTML page itself)."""
    import http.client
    from urllib.parse import urlsplit

    url = urlsplit(service)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.request("GET", API + path)  # as sent: requests would re-quote it
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.status == 400 and response.getheader("Content-Type") == "application/json", (response.status, body)
    error = __import__("json").loads(body)
    assert error["code"] == "not-utf8", error
    assert error["message"] == f"the path is not valid UTF-8: {where}; percent-encode the path's text as UTF-8", error
