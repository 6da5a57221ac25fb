"""A large upload from JupyterLab is written whole or not at all.

Lab sends a file over 1 MB in chunks (contents API ``chunk`` 1, 2, ..., -1 for the last). jupyter_server's large
file manager writes chunk 1 over the file and appends each later chunk to it, so an upload refused at chunk k
(a space's quota, :mod:`astrohub_server.quotas`), failed or abandoned (the tab closed, the server stopped) left a
partial file, and an existing file's old content was lost at chunk 1 already. :func:`atomic_uploads` replaces the
contents manager's chunked saves: the chunks go to a hidden sidecar in the file's folder
(``.astrohub-upload-<name>``), renamed over the file at the last chunk (a link: over the file it leads to, as
jupyter_server appends there). A refused or failed chunk removes the sidecar and leaves the file as it was (or
absent); Lab does not list hidden files; a sidecar untouched for :data:`ABANDONED_AFTER` seconds is removed at the
next upload into its folder, and anywhere in the home when the server starts (:func:`remove_abandoned_under`, in a
thread). ``check(os_path, new_bytes, replaced_bytes)`` (the quota check) is asked before each
chunk is written, with the file's size once whole. Whole-file saves (no ``chunk``) are left to the manager, whose
``atomic_writing`` already keeps the old file on failure. May import the standard library and tornado.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import mimetypes
import os
import shutil
import time
from datetime import datetime, timezone
from typing import Any, Callable

from tornado import web

__all__ = ["ABANDONED_AFTER", "SIDECAR_PREFIX", "atomic_uploads", "remove_abandoned_under", "sidecar_of"]

#: A chunked upload's sidecar: ``<folder>/.astrohub-upload-<name>`` (``.astrohub-``: the platform's own files,
#: hidden in Lab and not counted in a space's usage; the quota check counts it as the upload's new size).
SIDECAR_PREFIX = ".astrohub-upload-"
#: Seconds after its last chunk that a sidecar counts as abandoned (Lab sends an upload's chunks one after another).
ABANDONED_AFTER = 3600.0

Check = Callable[[str, int, int], None]


def sidecar_of(os_path: str) -> str:
    """The sidecar that the chunks of an upload to ``os_path`` are written to."""
    folder, name = os.path.split(os_path)
    return os.path.join(folder, SIDECAR_PREFIX + name)


def _decode(content: Any, format: str | None, path: str) -> bytes:
    if format not in ("text", "base64"):
        raise web.HTTPError(400, "Must specify format of file contents as 'text' or 'base64'")
    try:
        return content.encode("utf8") if format == "text" else base64.b64decode(content.encode("ascii"))
    except (AttributeError, ValueError, UnicodeError) as exc:
        raise web.HTTPError(400, f"Encoding error saving {path}: {exc}") from exc


def _size(os_path: str) -> int:
    try:
        return os.stat(os_path).st_size
    except OSError:
        return 0


def _remove(os_path: str) -> None:
    try:
        os.remove(os_path)
    except FileNotFoundError:
        pass


def remove_abandoned(folder: str, now: float | None = None) -> None:
    """Remove the sidecars in ``folder`` whose last chunk came more than :data:`ABANDONED_AFTER` seconds ago."""
    now = time.time() if now is None else now
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        try:
            if entry.name.startswith(SIDECAR_PREFIX) and entry.is_file(follow_symlinks=False) \
                    and now - entry.stat(follow_symlinks=False).st_mtime > ABANDONED_AFTER:
                os.remove(entry.path)
        except OSError:
            continue


def remove_abandoned_under(root: str, now: float | None = None, most: int = 200_000) -> int:
    """Remove the abandoned sidecars anywhere under ``root`` (links not followed; at most ``most`` folders
    looked at), as the server starts; returns how many."""
    now = time.time() if now is None else now
    removed = 0
    for seen, (folder, _, names) in enumerate(os.walk(root)):
        if seen >= most:
            break
        for name in names:
            if name.startswith(SIDECAR_PREFIX):
                path = os.path.join(folder, name)
                try:
                    if now - os.lstat(path).st_mtime > ABANDONED_AFTER:
                        os.remove(path)
                        removed += 1
                except OSError:
                    continue
    return removed


def write_chunk(os_path: str, chunk: int, data: bytes, check: Check, path: str = "") -> str:
    """Write chunk ``chunk`` of an upload to ``os_path`` into its sidecar; the last (-1) renames it over the file.

    Returns the sidecar's path. A refusal or a failure removes the sidecar; the file is untouched until the last
    chunk's rename.
    """
    if os.path.islink(os_path):  # the file the link leads to is replaced, the link kept
        os_path = os.path.realpath(os_path)
    sidecar = sidecar_of(os_path)
    if chunk == 1:
        remove_abandoned(os.path.dirname(os_path))
    elif not os.path.isfile(sidecar):
        raise web.HTTPError(400, f"the upload of {path or os.path.basename(os_path)!r} was interrupted (its earlier "
                                 "chunks are gone: abandoned, refused or the server restarted); upload the file again")
    try:
        written = 0 if chunk == 1 else os.path.getsize(sidecar)
        check(os_path, written + len(data), _size(os_path))
        with open(sidecar, "wb" if chunk == 1 else "ab") as f:
            f.write(data)
            if chunk == -1:
                f.flush()
                os.fsync(f.fileno())
        if chunk == -1:
            if os.path.exists(os_path):
                shutil.copymode(os_path, sidecar)  # the file keeps its permissions, as a save in place does
            os.replace(sidecar, os_path)
    except BaseException:
        _remove(sidecar)
        raise
    return sidecar


def _chunk_model(path: str, sidecar: str, writable: bool) -> dict[str, Any]:
    """The model answered for a chunk before the last: the upload so far (the file itself is not there yet)."""
    info = os.stat(sidecar)
    when = datetime.fromtimestamp(info.st_mtime, tz=timezone.utc)
    return {"name": path.rsplit("/", 1)[-1], "path": path, "type": "file", "last_modified": when, "created": when,
            "content": None, "format": None, "mimetype": mimetypes.guess_type(path)[0], "size": info.st_size,
            "writable": writable, "hash": None, "hash_algorithm": None}


def atomic_uploads(manager: Any, check: Check = lambda os_path, new, replaced: None) -> None:
    """Make ``manager`` (a jupyter_server large file manager, sync or async) save chunked uploads atomically."""
    original = manager.save

    def before(model: Any, path: str) -> tuple[str, int, bytes] | None:
        chunk = model.get("chunk") if isinstance(model, dict) else None
        if chunk is None:
            return None
        path = path.strip("/")
        if model.get("type") != "file":
            raise web.HTTPError(400, f"File type {model.get('type')!r} is not supported for large file transfer")
        if not isinstance(chunk, int) or isinstance(chunk, bool) or (chunk < 1 and chunk != -1):
            raise web.HTTPError(400, f"chunk must be 1, 2, ... or -1 (the last), not {chunk!r}")
        if "content" not in model:
            raise web.HTTPError(400, "No file content provided")
        data = _decode(model["content"], model.get("format"), path)
        if chunk == 1:
            manager.run_pre_save_hooks(model=model, path=path)
        return path, chunk, data

    def write(path: str, chunk: int, data: bytes) -> str:
        os_path = manager._get_os_path(path)
        try:
            with manager.perm_to_403(os_path):
                return write_chunk(os_path, chunk, data, check, path)
        except web.HTTPError:
            raise
        except Exception as exc:
            manager.log.error("Error while saving file: %s %s", path, exc, exc_info=True)
            raise web.HTTPError(500, f"Unexpected error while saving file: {path} {exc}") from exc

    def after(path: str, chunk: int, sidecar: str, model: Any) -> Any:
        if chunk != -1:
            return _chunk_model(path, sidecar, os.access(os.path.dirname(sidecar), os.W_OK))
        manager.run_post_save_hooks(model=model, os_path=manager._get_os_path(path))
        manager.emit(data={"action": "save", "path": path})
        return model

    if inspect.iscoroutinefunction(original):
        async def save(model: Any, path: str = "") -> Any:
            planned = before(model, path)
            if planned is None:
                return await original(model, path)
            path, chunk, data = planned
            sidecar = await asyncio.to_thread(write, path, chunk, data)
            return after(path, chunk, sidecar, await manager.get(path, content=False) if chunk == -1 else None)
    else:
        def save(model: Any, path: str = "") -> Any:
            planned = before(model, path)
            if planned is None:
                return original(model, path)
            path, chunk, data = planned
            sidecar = write(path, chunk, data)
            return after(path, chunk, sidecar, manager.get(path, content=False) if chunk == -1 else None)
    manager.save = save
