"""Atomic file writes for the hub: a reader sees the old file or the new one, never half of one.

:func:`replacing` yields a temporary file beside the target (a new name made by ``mkstemp``, so nothing a
user planted in the folder is followed or overwritten), and on the way out flushes it to disk and renames it
over the target (``os.replace``); on an error the temporary file is removed and the target left as it was.
:func:`write_atomic` writes bytes that way. Standard library only: ``_transfer.py``, run as a script without
the package, loads this module by path.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator

__all__ = ["replacing", "write_atomic"]


@contextlib.contextmanager
def replacing(path: str | os.PathLike, *, mode: int | None = None, owner: tuple[int, int] | None = None,
              ) -> Iterator[str]:
    """The name of a new, empty temporary file in ``path``'s folder, to be written by the ``with`` block; then
    fsynced and renamed over ``path``. ``mode`` (exactly, no umask) and ``owner`` (``(uid, gid)``) are set on
    it first (the default: 0600, ours). An error in the block or on the way out removes the temporary file and
    leaves ``path`` as it was. ``path`` itself is replaced, never followed, when it is a link.

    Examples
    --------
    >>> with replacing("/srv/notice.json", mode=0o644) as tmp:   # doctest: +SKIP
    ...     subprocess.run(["cp", "--preserve=all", "src.json", tmp], check=True)
    """
    folder, name = os.path.split(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    try:
        try:
            if owner is not None:
                os.fchown(fd, *owner)
            if mode is not None:
                os.fchmod(fd, mode)
        finally:
            os.close(fd)
        yield tmp
        fd = os.open(tmp, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _sync_folder(folder)


def write_atomic(path: str | os.PathLike, data: bytes, *, mode: int = 0o644,
                 owner: tuple[int, int] | None = None) -> None:
    """Write ``data`` to ``path`` atomically (:func:`replacing`), with ``mode`` (exactly, no umask) and ``owner``
    (``(uid, gid)``; default ours); a failure (a full disk, a quota) leaves the old file and no temporary one.

    Examples
    --------
    >>> write_atomic("/srv/notices/ws.json", b'{"workspace": "ws"}', mode=0o644)   # doctest: +SKIP
    """
    with replacing(path, mode=mode, owner=owner) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "wb") as out:
            out.write(data)


def _sync_folder(folder: str) -> None:
    """Flush the folder's entry of the renamed file to disk (where the file system allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
