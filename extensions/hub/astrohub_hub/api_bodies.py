"""The hub API's answer to a JSON body none of its routes can read: a 400 naming the problem, never a 500.

JupyterHub 6.1.1 reads its REST API's bodies with ``APIHandler.get_json_body``, which decodes bytes that are not UTF-8
by replacing them (a Latin-1 name became ``caf\\ufffd``, silently) and answers JSON it cannot parse, nested too deep
included, with the vague "Invalid JSON in body of request" and a traceback in the hub's log. Two routes failed
outright: ``PATCH /hub/api/proxy`` (an admin's) parses its body itself and let the parser's ``RecursionError`` out
(10,000 levels of ``[``: a 500 "Unhandled error"), and took a non-string ``api_url`` or ``auth_token`` to a
``TraitError`` 500; the share routes (``POST``/``PATCH /hub/api/shares/<user>/<server>``, ``POST
/hub/api/share-codes/<user>/<server>``, open to any user for their own server) call ``Request(**body)``, a
``TypeError`` 500 for a body that is JSON but not an object (``[1]``, ``"x"``). Every JupyterHub REST route takes a
JSON object (or nothing), so :class:`CheckedBody` gives each API handler a ``get_json_body`` that answers a body
that is not UTF-8, not JSON, nested deeper than :data:`MAX_DEPTH` or not an object with JupyterHub's own JSON 400
(``{"status": 400, "message": ...}``), still after the route's scope check (the method asks for its body; the
server routes' ``get_server_json_body``, which reads it past this class, is checked too);
:class:`CheckedProxyAPIHandler` reads the proxy's body through it. :func:`use_checked_bodies` puts them in JupyterHub's
API route table before the hub builds its routes (after :func:`astrohub_hub.server_patch.use_checked_server_patch`,
whose handler it wraps too). Imports JupyterHub, tornado and the standard library only.
"""

from __future__ import annotations

import json
from typing import Any

from jupyterhub import apihandlers
from jupyterhub.apihandlers.base import APIHandler
from jupyterhub.apihandlers.proxy import ProxyAPIHandler
from jupyterhub.scopes import needs_scope
from tornado import web

__all__ = ["MAX_DEPTH", "CheckedBody", "CheckedProxyAPIHandler", "body_problem", "use_checked_bodies"]

#: The deepest nesting of JSON a body may have (no REST body of JupyterHub's is more than a few levels deep).
MAX_DEPTH = 100

_KINDS = {list: "a JSON array", str: "a JSON string", bool: "a JSON boolean", type(None): "JSON null"}


def body_problem(body: bytes) -> tuple[str | None, Any]:
    """``(problem, value)``: what is wrong with a non-empty request ``body`` for JupyterHub's REST API (``None``
    when nothing is) and its JSON.

    Examples
    --------
    >>> body_problem(b'{"api_url": "http://127.0.0.1:8001"}')
    (None, {'api_url': 'http://127.0.0.1:8001'})
    >>> print(body_problem(b'{"name": "caf\\xe9"}')[0])
    the body is not UTF-8: byte 0xE9 at byte 13, after '{"name": "caf'; send the JSON encoded as UTF-8
    >>> print(body_problem(b"[" * 10_000)[0])
    the body nests JSON deeper than 100 levels, the most the hub's API reads: send a JSON object
    >>> print(body_problem(b"[1]")[0])
    the body is a JSON array, not an object: the hub's API takes a JSON object
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = body[:exc.start].decode("utf-8", "replace")[-40:]
        return (f"the body is not UTF-8: byte 0x{body[exc.start]:02X} at byte {exc.start}, after "
                f"{before!r}; send the JSON encoded as UTF-8"), None
    too_deep = f"the body nests JSON deeper than {MAX_DEPTH} levels, the most the hub's API reads: " \
               "send a JSON object"
    try:
        value = json.loads(text)
    except RecursionError:  # deeper than the parser goes
        return too_deep, None
    except ValueError as exc:
        return f"the body is not JSON ({exc}): send a JSON object", None
    if not isinstance(value, dict):
        kind = _KINDS.get(type(value), "a JSON number")
        return f"the body is {kind}, not an object: the hub's API takes a JSON object", None
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return too_deep, None
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return None, value


class CheckedBody:
    """A JupyterHub API handler mixin whose ``get_json_body`` answers a body it cannot read with a 400 naming the
    problem (an empty body is still ``None``, as JupyterHub's)."""

    def get_json_body(self) -> Any:
        body = self.request.body  # type: ignore[attr-defined]
        if not body or not body.strip():
            return None
        problem, value = body_problem(body.strip())
        if problem:
            self.set_header("Content-Type", "application/json")  # type: ignore[attr-defined]
            raise web.HTTPError(400, problem)
        return value

    def get_server_json_body(self) -> Any:
        """The server routes' (``POST .../server`` starts one) reading of the body, which calls JupyterHub's own
        ``get_json_body`` by ``super()``, past this class: checked here first."""
        self.get_json_body()
        return super().get_server_json_body()  # type: ignore[misc]


class CheckedProxyAPIHandler(CheckedBody, ProxyAPIHandler):
    """JupyterHub's ``/api/proxy``, whose ``PATCH`` (an admin's: where the proxy is, its token) reads its body
    through :class:`CheckedBody` and names a value that is not a string."""

    @needs_scope("proxy")
    async def patch(self) -> None:
        model = self.get_json_body()  # the same scope check as JupyterHub's ``patch`` comes first
        if model is None:
            raise web.HTTPError(400, 'PATCH /hub/api/proxy needs a body: send e.g. {"api_url": '
                                     '"http://127.0.0.1:8001"}')
        for key in ("api_url", "auth_token"):
            if key in model and not isinstance(model[key], str):
                raise web.HTTPError(400, f"the proxy's {key!r} must be a string, not {json.dumps(model[key])[:80]}")
        return await super().patch()


def use_checked_bodies() -> None:
    """Serve every route of JupyterHub's REST API with its handler given :class:`CheckedBody` (``/api/proxy`` with
    :class:`CheckedProxyAPIHandler`); idempotent; call it from the hub's configuration, before JupyterHub builds
    its routes."""
    routes = apihandlers.default_handlers
    for i, (pattern, handler, *rest) in enumerate(routes):
        if not isinstance(handler, type) or not issubclass(handler, APIHandler) or issubclass(handler, CheckedBody):
            continue
        checked = CheckedProxyAPIHandler if handler is ProxyAPIHandler else \
            type(handler.__name__, (CheckedBody, handler), {"__module__": __name__})
        routes[i] = (pattern, checked, *rest)
