"""The contents API's answer for a path the user may not read: 403 with a message, never a 500.

A link in the home that leads into a folder the user cannot enter (another user's home, the
platform's state) made every contents request for it end in jupyter_core's ``is_hidden``, whose
``stat`` raises ``PermissionError`` (it handles only ``ENOENT``); the server answered 500 "Unhandled
error" and logged a traceback. :func:`refuse_unreadable` wraps the server's contents manager's
``is_hidden`` so that the refusal is a ``403`` naming the path. Nothing is read either way: the
operating system refuses the access; this only changes the answer. May import tornado only.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

from tornado import web

__all__ = ["refuse_unreadable"]


def _refusal(path: str, exc: PermissionError) -> web.HTTPError:
    return web.HTTPError(403, f"permission denied: {path!r} leads where you may not read ({exc.strerror}); "
                              "it may be a link into another user's folder")


def refuse_unreadable(manager: Any) -> None:
    """Make ``manager.is_hidden`` (sync or async, as the manager's class has it) raise 403 on ``PermissionError``."""
    original = manager.is_hidden
    if inspect.iscoroutinefunction(original):
        @functools.wraps(original)
        async def is_hidden(path: str) -> bool:
            try:
                return await original(path)
            except PermissionError as exc:
                raise _refusal(path, exc) from exc
    else:
        @functools.wraps(original)
        def is_hidden(path: str) -> bool:
            try:
                return original(path)
            except PermissionError as exc:
                raise _refusal(path, exc) from exc
    manager.is_hidden = is_hidden
