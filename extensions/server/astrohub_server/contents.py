"""The contents API's answer for a path the user may not read, or a save into a folder that is gone: a 4xx
with a message, never a 500.

A link in the home that leads into a folder the user cannot enter (another user's home, the
platform's state) made every contents request for it end in jupyter_core's ``is_hidden``, whose
``stat`` raises ``PermissionError`` (it handles only ``ENOENT``); the server answered 500 "Unhandled
error" and logged a traceback. :func:`refuse_unreadable` wraps the server's contents manager's
``is_hidden`` so that the refusal is a ``403`` naming the path. Nothing is read either way: the
operating system refuses the access; this only changes the answer.

A notebook open in Lab whose folder a teammate moved or deleted meanwhile (in a group folder or a
workspace) was saved with a 500 "Unexpected error while saving file ... No such file or directory" and a
traceback in the log. :func:`refuse_missing_folder` answers such a save with a ``404`` that says the
folder is gone and how to keep the work (File > Save As...). A group's or workspace's link in the home that leads
nowhere (the group deleted after its member was removed: the group sync removes its members' links, not a former
member's) was a 400 "Cannot read non-file"; :func:`refuse_gone_links` answers it with a 410 (Gone) that says the
group or workspace is gone. A file saved onto a path that is a folder (``PUT api/contents`` on the root with a
body, errpages25) was a 500 "Unexpected error while saving file ... Is a directory";
:func:`refuse_file_over_folder` answers it with a 400 saying the path is a folder and how to name the file. May import the standard library and tornado.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import inspect
import os
from typing import Any

from tornado import web

__all__ = ["check_before", "refuse_file_over_folder", "refuse_gone_links", "refuse_missing_folder", "refuse_unreadable"]


#: The links a home has to the shared folders (``groups/<group>``, ``workspaces/<name>``, ``classes/<class>``), and
#: what each is.
_SHARED_LINKS = {"groups": "the group {!r}", "workspaces": "the workspace {!r}", "classes": "the class {!r}"}


def _refusal(path: str, exc: PermissionError) -> web.HTTPError:
    link, _, rest = path.strip("/").partition("/")
    name = rest.partition("/")[0]
    if link in _SHARED_LINKS and name:  # team12: a member removed while a notebook of it was open in Lab
        shared = _SHARED_LINKS[link].format(name)
        return web.HTTPError(403, f"permission denied: {path!r} is in {shared}, whose folder does not let you in "
                                  f"({exc.strerror}): you are not, or no longer, a member of {shared}; keep your work "
                                  "with File > Save As... in your home")
    return web.HTTPError(403, f"permission denied: {path!r} leads where you may not read ({exc.strerror}); "
                              "it may be a link into another user's folder")


def _too_long(path: str) -> web.HTTPError:
    return web.HTTPError(400, f"the path {path[:60]!r}... ({len(path)} characters) is longer than the file system "
                              "takes (a name of at most 255 bytes, a path of 4096): shorten it")


def refuse_unreadable(manager: Any) -> None:
    """Make ``manager.is_hidden`` (sync or async, as the manager's class has it) raise 403 on ``PermissionError``,
    and 400 on a name or path longer than the file system takes (errpages25: ``GET api/contents/<300 characters>``
    was a 500 "Unhandled error", the ``OSError`` "File name too long" of ``is_hidden``'s ``stat``)."""
    original = manager.is_hidden
    if inspect.iscoroutinefunction(original):
        @functools.wraps(original)
        async def is_hidden(path: str) -> bool:
            try:
                return await original(path)
            except PermissionError as exc:
                raise _refusal(path, exc) from exc
            except OSError as exc:
                if exc.errno != errno.ENAMETOOLONG:
                    raise
                raise _too_long(path) from exc
    else:
        @functools.wraps(original)
        def is_hidden(path: str) -> bool:
            try:
                return original(path)
            except PermissionError as exc:
                raise _refusal(path, exc) from exc
            except OSError as exc:
                if exc.errno != errno.ENAMETOOLONG:
                    raise
                raise _too_long(path) from exc
    manager.is_hidden = is_hidden


def _missing_folder(manager: Any, model: Any, path: str) -> None:
    if not isinstance(model, dict) or model.get("type") not in ("file", "notebook") or model.get("chunk", 1) != 1:
        return
    path = path.strip("/")
    folder = os.path.dirname(manager._get_os_path(path))
    if not os.path.isdir(folder):
        parent = path.rpartition("/")[0] or "/"
        raise web.HTTPError(404, f"cannot save {path!r}: its folder {parent!r} no longer exists (moved or deleted, "
                                 "perhaps by a teammate); keep your work with File > Save As... in another folder")


def _file_over_folder(manager: Any, model: Any, path: str = "") -> None:
    if not isinstance(model, dict) or model.get("type") not in ("file", "notebook"):
        return
    path = path.strip("/")
    if os.path.isdir(manager._get_os_path(path)):
        where = f"the folder {path!r}" if path else "the top folder of your files"
        example = f"{path}/results.csv" if path else "results.csv"
        raise web.HTTPError(400, f"cannot save a {model['type']} as {where}: that path is a folder; put the "
                                 f"{model['type']}'s name at the end of the path (e.g. api/contents/{example})")


def refuse_file_over_folder(manager: Any) -> None:
    """Make ``manager.save`` (sync or async) answer a file or notebook saved onto a folder's path with a 400."""
    check_before(manager, "save", lambda model, path="": _file_over_folder(manager, model, path))


def _gone_link(manager: Any, path: str = "", content: bool = True, *args: Any, **kwargs: Any) -> None:
    link, _, rest = path.strip("/").partition("/")
    name = rest.partition("/")[0]
    if link not in _SHARED_LINKS or not name or not content:  # a folder's listing gets each entry without content
        return
    os_path = manager._get_os_path(f"{link}/{name}")
    if os.path.islink(os_path) and not os.path.exists(os_path):
        shared = _SHARED_LINKS[link].format(name)
        # 410, not 404: jupyter_server's contents handler words every 404 of ``get`` as "does not exist" itself
        raise web.HTTPError(410, f"{path.strip('/')!r} is in {shared}, which no longer exists (deleted); its link "
                                 f"in your home, {link}/{name}, goes at your server's next start")


def refuse_gone_links(manager: Any) -> None:
    """Make ``manager.get`` answer a path under a group's, workspace's or class's link that leads nowhere with a 410."""
    check_before(manager, "get", functools.partial(_gone_link, manager))


def refuse_missing_folder(manager: Any) -> None:
    """Make ``manager.save`` (sync or async) answer a save into a folder that does not exist with a 404."""
    check_before(manager, "save", lambda model, path="": _missing_folder(manager, model, path))


def check_before(obj: Any, attribute: str, check: Any, *, off_loop: bool = False) -> None:
    """Replace the method ``obj.<attribute>`` (sync or async; left alone when absent) with one that first calls
    ``check`` with the same arguments, which refuses by raising; ``off_loop``: an async method's check runs in a
    thread, off the server's event loop (for one that walks the disk)."""
    original = getattr(obj, attribute, None)
    if original is None:
        return
    if inspect.iscoroutinefunction(original):
        @functools.wraps(original)
        async def checked(*args: Any, **kwargs: Any) -> Any:
            if off_loop:
                await asyncio.to_thread(check, *args, **kwargs)
            else:
                check(*args, **kwargs)
            return await original(*args, **kwargs)
    else:
        @functools.wraps(original)
        def checked(*args: Any, **kwargs: Any) -> Any:
            check(*args, **kwargs)
            return original(*args, **kwargs)
    setattr(obj, attribute, checked)
