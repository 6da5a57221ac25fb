"""The JSON bodies of the API routes of a user's server (Jupyter Server's, its terminals', JupyterLab's and
jupyterlab_server's, jupyter-collaboration's, nbgrader formgrader's): a body the route cannot read is the caller's
400 naming the problem, never a 500.

Each route of :data:`ROUTES` reads a JSON object from its body, and upstream let most bad bodies out as an uncaught
exception, a 500 "Unhandled error" (or Jupyter Server's HTML error page) with a traceback in the server's log:

* a body that is not UTF-8 (Latin-1 text, a binary file, or one whose ``Content-Type`` says ``charset=latin-1``):
  ``JupyterHandler.get_json_body`` decodes it before its ``try``, jupyterlab_server's settings and workspaces
  decode it themselves;
* JSON that is not an object (``null``, a list, a string): ``model.get(...)`` on it (contents, kernels, sessions,
  config, terminals, nbconvert, the collaboration session, Lab's extension and plugin managers, workspaces);
* an empty body where the route needs one (``PUT``/``PATCH api/config/<section>``, nbconvert, the managers);
* an object without a key the route reads with ``model[key]`` (nbconvert's ``content``, the collaboration
  session's ``format`` and ``type``, the managers' ``cmd``, a workspace's ``metadata``);
* JSON nested deeper than the parser goes (10,000 ``[``): ``RecursionError`` (jupyterlab_server's settings,
  the collaboration session; elsewhere the vague "Invalid JSON in body of request" with a traceback logged), or
  deeper than the route's own recursive code goes (about 500 levels: a config section written, a notebook
  saved or converted): nothing deeper than :data:`MAX_DEPTH` is read.

:class:`CheckedBody` reads the body once, after the request's user is known (a request with no user still gets
the route's own 403), and answers such a body with a JSON 400 in Jupyter Server's error form (``{"message": ...,
"reason": null}``) naming the problem and the fix; a body it accepts is what the route's ``get_json_body`` returns
(parsed once). An empty body stays the route's own default where the route has one (``POST api/kernels`` starts
the default kernel). :func:`register` gives each route's handler class the check *in place* in the server's
route table, once every extension has added its routes (``astrohub_server``'s start hook): no route is added or
moved, so no route can take another's requests (errpages25 added the checked ``api/contents/<path>`` in front of
``api/contents/<path>/checkpoints``, which it then took: Lab could not open a notebook). Imports tornado and the
standard library only; the handlers' modules are named, never imported.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_DEPTH", "NEEDED", "OPTIONAL", "ROUTES", "Body", "CheckedBody", "body_problem", "not_utf8", "register"]


@dataclass(frozen=True)
class Body:
    """What one method of a route reads from its body: a JSON object with ``keys``; ``optional``: an empty body is
    fine (the route does its default)."""

    keys: tuple[str, ...] = ()
    optional: bool = False


#: The deepest nesting of JSON a body may have (a notebook is about 10 deep; the routes' code failed near 500).
MAX_DEPTH = 200

#: A body that may be empty, else a JSON object.
OPTIONAL = Body(optional=True)
#: A JSON object, required.
NEEDED = Body()

#: (module, handler class, {method: what it reads from the body}) of every route of a user's server whose methods
#: read JSON from the body (a handler that derives from one is checked too). The astrohub routes check their own bodies (``astrohub_server.dask_clusters``,
#: ``astrohub_server.validate``); nbconvert's ``/nbconvert/<format>`` is Jupyter Server's own, not ``api/``.
ROUTES: tuple[tuple[str, str, dict[str, Body]], ...] = (
    ("jupyter_server.services.contents.handlers", "ContentsHandler", {"POST": OPTIONAL, "PUT": OPTIONAL,
                                                                      "PATCH": NEEDED}),
    ("jupyter_server.services.kernels.handlers", "MainKernelHandler", {"POST": OPTIONAL}),
    ("jupyter_server.services.sessions.handlers", "SessionRootHandler", {"POST": NEEDED}),
    ("jupyter_server.services.sessions.handlers", "SessionHandler", {"PATCH": NEEDED}),
    ("jupyter_server.services.config.handlers", "ConfigHandler", {"PUT": NEEDED, "PATCH": NEEDED}),
    ("jupyter_server.services.api.handlers", "IdentityHandler", {"PATCH": NEEDED}),
    ("jupyter_server.services.events.handlers", "EventHandler", {"POST": NEEDED}),
    ("jupyter_server.nbconvert.handlers", "NbconvertPostHandler", {"POST": Body(("content",))}),
    ("jupyter_server_terminals.api_handlers", "TerminalRootHandler", {"POST": OPTIONAL}),
    ("jupyter_server_ydoc.handlers", "DocSessionHandler", {"PUT": Body(("format", "type"))}),
    ("jupyter_server_ydoc.handlers", "DocForkHandler", {"PUT": NEEDED}),
    ("jupyterlab.handlers.extension_manager_handler", "ExtensionHandler", {"POST": Body(("cmd", "extension_name"))}),
    ("jupyterlab.handlers.plugin_manager_handler", "PluginHandler", {"POST": Body(("cmd", "plugin_name"))}),
    ("jupyterlab_server.settings_handler", "SettingsHandler", {"PUT": Body(("raw",))}),
    ("jupyterlab_server.workspaces_handler", "WorkspacesHandler", {"PUT": Body(("metadata",))}),
    ("nbgrader.server_extensions.formgrader.apihandlers", "GradeHandler", {"PUT": NEEDED}),
    ("nbgrader.server_extensions.formgrader.apihandlers", "CommentHandler", {"PUT": NEEDED}),
    ("nbgrader.server_extensions.formgrader.apihandlers", "AssignmentHandler", {"PUT": NEEDED}),
    ("nbgrader.server_extensions.formgrader.apihandlers", "StudentHandler", {"PUT": NEEDED}),
)

_KINDS = {type(None): "JSON null", list: "a JSON array", str: "a JSON string", bool: "a JSON boolean"}


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


def body_problem(body: bytes, wants: Body, content_type: str = "") -> tuple[str | None, Any]:
    """``(problem, value)``: what is wrong with ``body`` for a method that reads ``wants`` (``None`` when nothing
    is), and the body's JSON (``None`` for an empty body).

    Examples
    --------
    >>> body_problem(b'{"content": {}}', Body(("content",)))
    (None, {'content': {}})
    >>> print(body_problem(b"[1]", NEEDED)[0])
    the request's body is a JSON array, not an object: send a JSON object
    >>> print(body_problem(b'{"extension_name": "x"}', Body(("cmd", "extension_name")))[0])
    the request's body has no 'cmd': send a JSON object with 'cmd', 'extension_name'
    """
    fix = "send a JSON object" + (f" with {', '.join(repr(key) for key in wants.keys)}" if wants.keys else "")
    problem = not_utf8(body, content_type)
    if problem:
        return problem, None
    text = body.decode("utf-8").strip()
    if not text:
        return (None if wants.optional else f"the request's body is empty: {fix}"), None
    too_deep = f"the request's body nests JSON deeper than {MAX_DEPTH} levels, the most this server reads: {fix}"
    try:
        value = json.loads(text)
    except RecursionError:  # deeper than the parser goes
        return too_deep, None
    except ValueError as exc:
        return f"the request's body is not JSON ({exc}): {fix}", None
    if not isinstance(value, dict):
        return f"the request's body is {_KINDS.get(type(value), 'a JSON number')}, not an object: {fix}", None
    if _deeper_than(value, MAX_DEPTH):
        return too_deep, None
    missing = [key for key in wants.keys if key not in value]
    if missing:
        return f"the request's body has no {', '.join(repr(key) for key in missing)}: {fix}", None
    return None, value


def _deeper_than(value: dict, limit: int) -> bool:
    """Whether ``value`` nests objects and arrays more than ``limit`` deep (without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


class CheckedBody:
    """A Jupyter Server handler mixin: the body of a method named in ``body_reads`` is checked before the method
    runs (see the module docstring); ``get_json_body`` returns it, parsed once."""

    body_reads: dict[str, Body] = {}
    _checked_body: tuple[Any] | None = None

    async def prepare(self, *args: Any, **kwargs: Any) -> None:
        prepared = super().prepare(*args, **kwargs)  # type: ignore[misc]  # who the user is, the origin checks
        if inspect.isawaitable(prepared):
            await prepared
        wants = self.body_reads.get(self.request.method)  # type: ignore[attr-defined]
        if wants is None or self._finished or not self.current_user:  # type: ignore[attr-defined]
            return  # a request without a user gets the route's own 403
        request = self.request  # type: ignore[attr-defined]
        problem, value = body_problem(request.body or b"", wants, request.headers.get("Content-Type", ""))
        if problem:
            self.log.warning("refused the body of %s %s: %s", request.method, request.path, problem)  # type: ignore[attr-defined]
            self.set_status(400)  # type: ignore[attr-defined]
            self.set_header("Content-Type", "application/json")  # type: ignore[attr-defined]
            self.finish(json.dumps({"message": problem, "reason": None}))  # type: ignore[attr-defined]
            return
        self._checked_body = (value,)

    def get_json_body(self) -> Any:
        if self._checked_body is not None:
            return self._checked_body[0]
        return super().get_json_body()  # type: ignore[misc]


def _checked(handler: type, made: dict[type, type]) -> type | None:
    """``handler`` given :class:`CheckedBody` when :data:`ROUTES` names it or a class it derives from (an extension's
    own subclass: ``astrohub_server.formgrader`` wraps nbgrader's handlers), else ``None``; ``made``: those made."""
    if handler not in made:
        rows = {(module, name): reads for module, name, reads in ROUTES}
        for cls in handler.__mro__:
            reads = rows.get((cls.__module__, cls.__qualname__))
            if reads is not None:
                made[handler] = type(handler.__name__, (CheckedBody, handler),
                                     {"__module__": __name__, "body_reads": reads})
                break
    return made.get(handler)


def register(serverapp: Any) -> int:
    """Give every route of :data:`ROUTES` in ``serverapp``'s route table the body check, in place (idempotent;
    call it once every extension has added its routes); returns how many routes were changed."""
    changed, made = 0, {}
    routers = [serverapp.web_app.default_router]
    while routers:
        for rule in routers.pop().rules:
            target = rule.target
            if hasattr(target, "rules"):  # the routes of one host pattern (each add_handlers call adds one)
                routers.append(target)
            elif isinstance(target, type) and not issubclass(target, CheckedBody):
                checked = _checked(target, made)
                if checked is not None:
                    rule.target = checked
                    changed += 1
    return changed
