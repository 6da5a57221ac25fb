"""The bodies of requests to dask-gateway's JSON routes: a body that is not a JSON object is the caller's 400.

dask-gateway's routes that take a body (create a cluster, scale, adapt, the scheduler's heartbeat) read it with
``await request.json()`` and then ``msg.get(...)``: an empty body, one that is not JSON (not UTF-8, nested deeper than
the parser goes) or JSON that is not an object (``null``, a list) was an uncaught exception, answered "500 Internal
Server Error: Server got itself in trouble" with a traceback in the gateway's log. :func:`add_body_check` installs a
middleware that reads such a route's body first and answers 400 ``{"error": ...}`` (dask-gateway's own error form)
naming what is wrong; a body that is a JSON object goes on to the route as before. Imports aiohttp and the standard
library only.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

__all__ = ["JSON_ROUTES", "add_body_check"]

#: (method, route) of dask-gateway's routes that read a JSON object from their body.
JSON_ROUTES = frozenset({
    ("POST", "/api/v1/clusters/"),
    ("POST", "/api/v1/clusters/{cluster_name}/scale"),
    ("POST", "/api/v1/clusters/{cluster_name}/adapt"),
    ("POST", "/api/v1/clusters/{cluster_name}/heartbeat"),
})


def _problem(body: bytes, charset: str = "utf-8") -> str | None:
    """What is wrong with ``body`` as a JSON object (a clause), or None; ``charset`` as the request says, as
    aiohttp's ``request.json()`` decodes it."""
    if not body.strip():
        return "is empty"
    try:
        value = json.loads(body.decode(charset))
    except LookupError:
        return f"is in the unknown charset {charset!r}"
    except UnicodeDecodeError:
        return f"is not {charset}"
    except (ValueError, RecursionError) as error:  # RecursionError: nested deeper than the parser goes
        return f"is not JSON ({error})" if isinstance(error, ValueError) else "nests deeper than any request needs"
    if not isinstance(value, dict):
        return f"is JSON {type(value).__name__ if value is not None else 'null'}, not an object"
    return None


@web.middleware
async def _body_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    route = request.match_info.route
    resource = getattr(route.resource, "canonical", "") if route.resource is not None else ""
    if (request.method, resource) in JSON_ROUTES:
        # aiohttp keeps the body read: the route's request.json() reads it again
        problem = _problem(await request.read(), request.charset or "utf-8")
        if problem:
            return web.json_response({"error": (
                f"the body of {request.method} {request.path} {problem}: send a JSON object, as dask-gateway's "
                "client does (Gateway().new_cluster(), cluster.scale(n), cluster.adapt(...))")}, status=400)
    return await handler(request)


def add_body_check(app: web.Application) -> None:
    """Install the body check (see the module docstring) on the gateway's API app."""
    app.middlewares.append(_body_middleware)
