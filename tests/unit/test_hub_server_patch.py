"""astrohub_hub.server_patch: ``PATCH /hub/api/users/<name>/server`` with a body JupyterHub 6.1.1 cannot use (a key
it does not know, JSON that is not an object) is a 400 naming the problem (errpages25: its
``supported_keys.join`` on a set made it a 500 "Unhandled error", for any user on their own server). Here: the
check, and that the hub ``configure`` sets up routes the server API to it. On the platform, through the proxy:
tests/integration/test_platform_badinput.py."""

from __future__ import annotations

import pytest
from jupyterhub.apihandlers.users import UserServerAPIHandler
from jupyterhub.app import JupyterHub
from jupyterhub.auth import Authenticator
from traitlets.config import Config

from astrohub_hub import configure
from astrohub_hub.server_patch import CheckedUserServerAPIHandler, patch_problem


@pytest.mark.parametrize("body, words", [
    ({"colour": "red"}, "unknown field 'colour' in the body: a server's PATCH takes only 'name', 'display_name', "
                        "'user_options'"),
    ({"name": "fit", "nmae": "x", "a": 1}, "unknown fields 'a', 'nmae' in the body"),
    ([1], 'the body is a JSON array, not an object: send e.g. {"display_name": "my server"}'),
    ("fit", "the body is a JSON string, not an object"),
    (3, "the body is a JSON number, not an object"),
    (True, "the body is a JSON boolean, not an object"),
])
def test_a_body_the_servers_patch_cannot_use_is_named(body, words):
    assert words in patch_problem(body)


@pytest.mark.parametrize("body", [None, {}, {"name": "fit"}, {"display_name": "Fit"}, {"user_options": {}},
                                  {"name": "a", "display_name": "b", "user_options": {"profile": "small"}}])
def test_a_body_jupyterhub_takes_goes_on_to_it(body):
    assert patch_problem(body) is None  # None and {}: JupyterHub's own 400 "Must specify at least one field"


def test_the_hub_configure_serves_the_server_api_with_the_checked_patch():
    configure(Config(), {"mode": "local", "storage": {"home": "/h/{username}", "groupsRoot": "/g", "datasets": "/d",
                                                      "scratch": "/s/{username}"}})
    app = JupyterHub()
    app.authenticator = Authenticator()
    app.init_handlers()
    served = {pattern: handler for pattern, handler, *_ in app.handlers}
    for pattern in ("/hub/api/users/([^/]+)/server", "/hub/api/users/([^/]+)/servers/([^/]*)"):
        assert issubclass(served[pattern], CheckedUserServerAPIHandler)  # with astrohub_hub.api_bodies' check
    assert UserServerAPIHandler not in served.values()
    assert issubclass(CheckedUserServerAPIHandler, UserServerAPIHandler)  # GET, POST, DELETE are JupyterHub's
