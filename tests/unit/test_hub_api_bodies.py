"""astrohub_hub.api_bodies: a body JupyterHub's REST API cannot read is a 400 naming the problem (jsbodies26:
``PATCH /hub/api/proxy`` with JSON nested past the parser, or a non-string ``api_url``, and the share routes with
JSON that is not an object were 500 "Unhandled error"; a body that is not UTF-8 was read with its bytes replaced).
Here: the check, and that the hub ``configure`` serves every REST route with it. On the platform, through the
proxy: tests/integration/test_platform_badinput.py."""

from __future__ import annotations

import pytest
from jupyterhub.apihandlers.base import APIHandler
from jupyterhub.app import JupyterHub
from jupyterhub.auth import Authenticator
from traitlets.config import Config

from astrohub_hub import configure
from astrohub_hub.api_bodies import CheckedBody, CheckedProxyAPIHandler, body_problem
from astrohub_hub.server_patch import CheckedUserServerAPIHandler


@pytest.mark.parametrize("body, words", [
    (b'{"note": "caf\xe9"}', "the body is not UTF-8: byte 0xE9 at byte 13, after '{\"note\": \"caf'"),
    (b"[" * 10_000 + b"]" * 10_000, "the body nests JSON deeper than 100 levels"),
    (b'{"a": ' * 150 + b"1" + b"}" * 150, "the body nests JSON deeper than 100 levels"),
    (b"null", "the body is JSON null, not an object"),
    (b"[1]", "the body is a JSON array, not an object"),
    (b'"x"', "the body is a JSON string, not an object"),
    (b"3", "the body is a JSON number, not an object"),
    (b"{a", "the body is not JSON (Expecting property name"),
])
def test_a_body_the_api_cannot_read_is_named(body, words):
    problem, value = body_problem(body)
    assert words in problem and value is None, problem


def test_a_body_the_api_takes_goes_on_unchanged():
    body = b'{"users": ["ann"], "properties": {"a": [1, {"b": 2}]}}'
    assert body_problem(body) == (None, {"users": ["ann"], "properties": {"a": [1, {"b": 2}]}})


def test_the_hub_configure_serves_every_rest_route_with_the_check():
    configure(Config(), {"mode": "local", "storage": {"home": "/h/{username}", "groupsRoot": "/g", "datasets": "/d",
                                                      "scratch": "/s/{username}"}})
    app = JupyterHub()
    app.authenticator = Authenticator()
    app.init_handlers()
    api = {pattern: handler for pattern, handler, *_ in app.handlers
           if isinstance(handler, type) and issubclass(handler, APIHandler)}
    unchecked = {pattern for pattern, handler in api.items() if not issubclass(handler, CheckedBody)}
    assert len(api) > 20 and unchecked == {"/hub/api/(.*)"}, unchecked  # the API's 404, which reads no body
    assert api["/hub/api/proxy"] is CheckedProxyAPIHandler
    assert issubclass(api["/hub/api/users/([^/]+)/server"], CheckedUserServerAPIHandler)  # both checks
    # the check reads the body before the server PATCH's own (its messages name the same problem)
    assert api["/hub/api/users/([^/]+)/server"].get_json_body is CheckedBody.get_json_body
