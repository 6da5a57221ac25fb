"""nbgrader's Validate, run beside the user's server rather than on its event loop (a Jupyter server extension).

nbgrader's ``validate_assignment`` server extension runs the notebook inside its request handler, synchronously:
while a student's notebook ran (seconds to minutes), her server answered nothing else (Lab froze: no saves, no
file browser, no kernels), and a server asked to stop meanwhile waited for it. This extension serves the same
routes (``assignments/validate``, ``nbgrader_version``) with nbgrader's own handlers, except that Validate runs
nbgrader's ``validate_notebook`` in a child process (``python -m astrohub_server.validate``, as the user, in the
notebook's folder, as nbgrader's Validator does) and waits for it without blocking: the answer, and so what Lab
shows, is nbgrader's, unchanged. Validate runs one at a time per server; a child still running when the server
stops is ended with it; while one runs, the server counts as active (:func:`validating`, read by
``astrohub_server.activity``): the browser waits without traffic, and the culler would otherwise stop the server
mid-Validate. A refusal is JSON naming the problem: no path (a body that is not JSON, or not UTF-8, names none) or one
with a NUL is a 400, one outside the
server's folder a 403, one that is no file a 404 (not nbgrader's traceback, nor a 500); a notebook nbgrader cannot
read is answered with the error's last line, its traceback going to the server's log.

Loaded instead of ``nbgrader.server_extensions.validate_assignment`` where the local spawner offers Validate
(``astrohub_hub.local``: ``AstroLocalSpawner.validates``). May import the standard library, tornado,
jupyter_server and nbgrader.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from tornado import web

__all__ = ["run_validate", "validating"]

#: One Validate at a time per server (each runs a kernel), and the children running now (the notebook of each).
_ONE_AT_A_TIME = asyncio.Lock()
_running: dict[asyncio.subprocess.Process, str] = {}


def validating() -> list[str]:
    """The notebooks (paths under the server's root) that Validate runs now: work in progress, which
    :mod:`astrohub_server.activity` reports to the hub, so that the culler does not stop the server under it."""
    return sorted(_running.values())


async def run_validate(root_dir: str, path: str) -> dict[str, Any]:
    """nbgrader's answer for validating ``path`` (under ``root_dir``), from a child process."""
    async with _ONE_AT_A_TIME:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "astrohub_server.validate", root_dir, path,
            stdout=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL, start_new_session=True)
        _running[child] = path
        try:
            out, _ = await child.communicate()
        finally:
            _running.pop(child, None)
    try:
        answer = json.loads(out.decode("utf8"))
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        return {"success": False, "value": f"Validate could not check {path!r}: its process ended with status "
                                           f"{child.returncode} (see the server's log); try again"}
    return answer


def _end_children() -> None:
    for child in list(_running):
        try:
            os.killpg(child.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass


def _handlers():
    from nbgrader.server_extensions.validate_assignment.handlers import ValidateAssignmentHandler, default_handlers

    class ValidateBesideHandler(ValidateAssignmentHandler):
        """nbgrader's handler, with its notebook run in a child process (see the module's docstring)."""

        def write_error(self, status_code: int, **kwargs: Any) -> None:
            """A refusal as JSON naming the problem (nbgrader's answer's shape, and a ``message``), not a page."""
            exc = kwargs.get("exc_info", (None, None, None))[1]
            message = exc.log_message if isinstance(exc, web.HTTPError) and exc.log_message else self._reason
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"success": False, "value": message, "message": message}))

        @web.authenticated
        async def post(self) -> None:
            path = self.get_argument("path", None)
            if path is None:
                try:
                    body = self.get_json_body()
                except (web.HTTPError, UnicodeDecodeError):  # not JSON, or not UTF-8 (Jupyter's decode: a 500)
                    body = None
                path = body.get("path") if isinstance(body, dict) else None
            if not isinstance(path, str) or not path:
                raise web.HTTPError(400, "Validate needs the notebook's path: a form field or JSON body "
                                         "{\"path\": \"folder/notebook.ipynb\"}")
            if "\x00" in path:  # the file system's calls would raise ValueError: a 500
                raise web.HTTPError(400, f"Validate's path {path!r} holds a NUL character")
            root = Path(self.root_dir).resolve()
            target = (root / path).resolve()
            if not target.is_relative_to(root):  # as nbgrader's handler refuses it
                raise web.HTTPError(403, "Access denied: path outside allowed directory")
            try:
                found = target.is_file()
            except OSError:  # a name too long for the file system
                found = False
            if not found:  # nbgrader would answer its traceback
                raise web.HTTPError(404, f"Validate found no notebook {path!r} in your folder: give the path of "
                                         "one, e.g. folder/notebook.ipynb")
            self.finish(json.dumps(await run_validate(self.root_dir, path)))

    return [(pattern, ValidateBesideHandler if handler is ValidateAssignmentHandler else handler)
            for pattern, handler in default_handlers]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "astrohub_server.validate"}]


def _load_jupyter_server_extension(serverapp) -> None:
    import atexit

    from jupyter_server.utils import url_path_join

    webapp = serverapp.web_app
    webapp.settings["root_dir"] = serverapp.root_dir
    webapp.add_handlers(".*$", [(url_path_join(webapp.settings["base_url"], pattern), handler)
                                for pattern, handler in _handlers()])
    atexit.register(_end_children)
    serverapp.log.info("astrohub: nbgrader's Validate runs beside the server (astrohub_server.validate)")


def _main(root_dir: str, path: str) -> int:
    """The child: nbgrader's own ``validate_notebook`` for ``path``, its answer as JSON on stdout."""
    from nbgrader.server_extensions.validate_assignment.handlers import ValidateAssignmentHandler

    class Request:  # what nbgrader's validate_notebook and load_config use of their handler
        log = logging.getLogger("astrohub_server.validate")

        def __init__(self) -> None:
            self.root_dir = root_dir

        load_config = ValidateAssignmentHandler.load_config
        validate_notebook = ValidateAssignmentHandler.validate_notebook

    logging.basicConfig(stream=sys.stderr, level=logging.INFO)
    out, sys.stdout = sys.stdout, sys.stderr  # only the answer on stdout
    try:
        answer = Request().validate_notebook(path)
    except web.HTTPError as exc:  # a path outside the server's folder
        answer = {"success": False, "value": exc.log_message or str(exc)}
    if not answer.get("success") and str(answer.get("value", "")).startswith("Traceback"):
        # nbgrader answers a notebook it cannot read with the traceback (logged above, on stderr): say what failed
        problem = answer["value"].strip().splitlines()[-1]
        answer = {"success": False, "value": f"Validate could not check {path!r}: {problem}"}
    out.write(json.dumps(answer))
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_main(*sys.argv[1:3]))
