"""Atomic file writes for the user's server: a reader sees the old file or the new one, never half of one.

:func:`replacing` yields a new temporary file beside the target (``mkstemp``: mode 0600, nothing planted in the
folder followed or overwritten) and renames it over the target when the block ends; an error removes it and leaves
the target as it was. :func:`write_atomic` writes bytes or text that way. Used by the tutorials' copies and state,
the first workspace layout, the ``%pip`` layer's constraints and the numba cache's seed. (This package never
imports ``platform_lib``, whose ``platform_lib.atomic`` is the library's.) May import the standard library only.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator

__all__ = ["replacing", "write_atomic"]


@contextlib.contextmanager
def replacing(path: str | os.PathLike) -> Iterator[str]:
    """The name of a new, empty temporary file (mode 0600) in ``path``'s folder, for the ``with`` block to write
    (a copy, a writer that wants a name); then renamed over ``path``. An error removes it, ``path`` as it was.

    Examples
    --------
    >>> with replacing(cache / "kernel.nbi") as tmp:   # doctest: +SKIP
    ...     shutil.copy2(seed / "kernel.nbi", tmp)
    """
    folder, name = os.path.split(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_atomic(path: str | os.PathLike, data: bytes | str, *, mode: int = 0o600) -> None:
    """Write ``data`` (``str``: as UTF-8) to ``path`` atomically (:func:`replacing`), with ``mode`` (exactly).

    Examples
    --------
    >>> write_atomic(home / ".astrohub" / "tutorials.json", b"{}")   # doctest: +SKIP
    """
    with replacing(path) as tmp:
        with open(tmp, "wb") as out:
            out.write(data.encode() if isinstance(data, str) else data)
        os.chmod(tmp, mode)
