"""The JSON bodies of the server's own API routes (contents, kernels, sessions): a body that is not UTF-8 is the
caller's 400 naming the byte, never a 500.

Jupyter Server's ``JupyterHandler.get_json_body`` decodes the body as UTF-8 before its ``try``, so a body that is
not UTF-8 (Latin-1 text, a binary file sent as the body, or one whose ``Content-Type`` says ``charset=latin-1``) to
``POST api/contents``, ``POST api/kernels`` or ``POST``/``PATCH api/sessions`` ended in an uncaught
``UnicodeDecodeError``: a 500 "Unhandled error" and a traceback in the server's log. :class:`Utf8JsonBody` reads the
body the same way and answers such a body with Jupyter Server's own JSON error (``{"message": ..., "reason":
...}``); :func:`register` serves those routes with subclasses of Jupyter Server's handlers that have it (an
extension's routes come before the server's own). Imports jupyter_server, tornado and the standard library only.
"""

from __future__ import annotations

from typing import Any

from tornado import web

__all__ = ["ROUTES", "Utf8JsonBody", "not_utf8", "register"]

#: (module, handler class) of Jupyter Server's routes whose methods read a JSON body with ``get_json_body``.
ROUTES = (
    ("jupyter_server.services.contents.handlers", "ContentsHandler"),
    ("jupyter_server.services.kernels.handlers", "MainKernelHandler"),
    ("jupyter_server.services.sessions.handlers", "SessionRootHandler"),
    ("jupyter_server.services.sessions.handlers", "SessionHandler"),
)


def not_utf8(body: bytes, content_type: str = "") -> str | None:
    """The problem with a request ``body`` that is not UTF-8, naming the first bad byte, or ``None``.

    Examples
    --------
    >>> not_utf8('{"type": "notebook"}'.encode()) is None
    True
    >>> print(not_utf8(b'{"path": "caf\\xe9.ipynb"}', "application/json; charset=latin-1"))
    the request's body is not UTF-8: byte 0xE9 at byte 13, after '{"path": "caf' (its Content-Type says charset=latin-1, but this API reads JSON as UTF-8 only); send the JSON encoded as UTF-8
    """
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = body[:exc.start].decode("utf-8", "replace")[-40:]
        said = ""
        charset = content_type.lower().partition("charset=")[2].split(";")[0].strip(' "')
        if charset and charset.replace("-", "").replace("_", "") not in ("utf8", "ascii", "usascii"):
            said = f" (its Content-Type says charset={charset}, but this API reads JSON as UTF-8 only)"
        return (f"the request's body is not UTF-8: byte 0x{body[exc.start]:02X} at byte {exc.start}, after "
                f"{before!r}{said}; send the JSON encoded as UTF-8")
    return None


class Utf8JsonBody:
    """A Jupyter Server handler mixin whose ``get_json_body`` answers a body that is not UTF-8 with a 400."""

    def get_json_body(self) -> Any:
        problem = not_utf8(self.request.body, self.request.headers.get("Content-Type", ""))  # type: ignore[attr-defined]
        if problem:
            raise web.HTTPError(400, problem)
        return super().get_json_body()  # type: ignore[misc]


def register(serverapp: Any) -> None:
    """Serve the routes of :data:`ROUTES` with their handlers given :class:`Utf8JsonBody` (before the server's own).

    Every route of those modules is added, in the modules' order, the others with their own handlers: added alone,
    ``api/contents/<path>`` came before ``api/contents/<path>/checkpoints`` and took its requests (a notebook's
    checkpoints read as a file ``checkpoints``: Lab could not open a notebook)."""
    import importlib

    from jupyter_server.utils import url_path_join

    wanted = {(module, name) for module, name in ROUTES}
    routes = []
    for module_name in dict.fromkeys(module for module, _ in ROUTES):
        for pattern, handler, *rest in importlib.import_module(module_name).default_handlers:
            if (module_name, handler.__name__) in wanted:
                handler = type(handler.__name__, (Utf8JsonBody, handler), {"__module__": __name__})
            routes.append((url_path_join(serverapp.base_url, pattern), handler, *rest))
    serverapp.web_app.add_handlers(".*$", routes)
