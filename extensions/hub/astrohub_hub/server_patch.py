"""The hub API's answer to a bad body for ``PATCH /hub/api/users/<name>/server`` (or ``.../servers/<server>``):
a 400 naming the problem, never a 500.

JupyterHub 6.1.1's ``UserServerAPIHandler.patch`` (rename a server, change its display name or options) answers
a body with a key it does not know by building a message with ``supported_keys.join(',')`` on a ``set``, which
has no ``join``: the ``AttributeError`` was a 500 "Unhandled error" with a traceback, reachable by any user on
their own server. A body that is JSON but not an object (``[1]``, ``"x"``, ``3``) fails the same way
(``body.keys()``). :class:`CheckedUserServerAPIHandler` checks the body first and answers such a body with
JupyterHub's own JSON error (``{"status": 400, "message": ...}``); a body it accepts goes on to JupyterHub's
``patch`` unchanged. :func:`use_checked_server_patch` puts it in place of JupyterHub's handler on the two routes
(JupyterHub reads its API's route table when the hub starts, after its configuration is loaded). Imports
JupyterHub, tornado and the standard library only.
"""

from __future__ import annotations

from typing import Any

from jupyterhub import apihandlers
from jupyterhub.apihandlers.users import UserServerAPIHandler
from jupyterhub.scopes import needs_scope
from tornado import web

__all__ = ["PATCH_KEYS", "CheckedUserServerAPIHandler", "patch_problem", "use_checked_server_patch"]

#: The keys JupyterHub's ``PATCH .../server`` takes (``UserServerAPIHandler.patch``'s ``supported_keys``).
PATCH_KEYS = ("name", "display_name", "user_options")


def patch_problem(body: Any) -> str | None:
    """What is wrong with ``body`` (the request's JSON, parsed) for ``PATCH .../server``, or ``None``.

    Examples
    --------
    >>> patch_problem({"display_name": "fit"}) is None
    True
    >>> patch_problem({"colour": "red"})
    "unknown field 'colour' in the body: a server's PATCH takes only 'name', 'display_name', 'user_options'"
    >>> patch_problem([1])
    'the body is a JSON array, not an object: send e.g. {"display_name": "my server"}'
    """
    if body is None:
        return None  # JupyterHub's own 400: "Must specify at least one field to modify."
    if not isinstance(body, dict):
        kind = {list: "array", str: "string", bool: "boolean"}.get(type(body), "number")
        return f'the body is a JSON {kind}, not an object: send e.g. {{"display_name": "my server"}}'
    unknown = sorted(set(body) - set(PATCH_KEYS))
    if unknown:
        fields = ", ".join(repr(key) for key in unknown)
        return (f"unknown field{'s' if len(unknown) > 1 else ''} {fields} in the body: a server's PATCH takes only "
                + ", ".join(repr(key) for key in PATCH_KEYS))
    return None


class CheckedUserServerAPIHandler(UserServerAPIHandler):
    """JupyterHub's ``/api/users/<name>/server(s)/<server>`` handler, whose ``PATCH`` answers a body it cannot use
    with a 400 naming the problem (after JupyterHub's own check of who may patch which server)."""

    @needs_scope("start:servers")
    async def patch(self, user_name: str, server_name: str = "") -> None:
        # the same scope check as JupyterHub's ``patch`` comes first: who may not patch the server gets its 403
        problem = patch_problem(self.get_json_body())
        if problem:
            self.set_header("Content-Type", "application/json")
            raise web.HTTPError(400, problem)
        return await super().patch(user_name, server_name)


def use_checked_server_patch() -> None:
    """Serve JupyterHub's server API routes with :class:`CheckedUserServerAPIHandler` (idempotent; call it from the
    hub's configuration, before JupyterHub builds its routes)."""
    routes = apihandlers.default_handlers
    for i, (pattern, handler, *rest) in enumerate(routes):
        if handler is UserServerAPIHandler:
            routes[i] = (pattern, CheckedUserServerAPIHandler, *rest)

