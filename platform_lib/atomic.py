"""Atomic file writes for the library: a reader sees the old file or the new one, never half of one.

Owns :func:`write_atomic`: the bytes go to a new temporary file beside the target (created exclusively, so
nothing planted in the folder is followed or overwritten), are flushed to disk, and the file is renamed over
the target (``os.replace``); a failure removes the temporary file and leaves the target as it was. Used by
storage's quota files, the jobs' JSON files, the local platform's state files, sample data's downloads and the
archive's HiPS records. :func:`atomic_path` is the same rename for a writer that wants a file name (astropy's
``writeto``, a copy): sample data's images, sky maps, the numba cache's seed; :func:`replace_folder` puts a folder
built beside its target in its place (HiPS, the moving-object cache). (Storage's own ``write_bytes`` adds quotas and
no-clobber renames; the jobs name their staging by process, to clean up after dead runners; the hub has its own
``astrohub_hub.atomic``, and the user's server ``astrohub_server.atomic``: three distributions with no
common dependency, the hub's image has no ``platform_lib`` and the server extension runs in any user image.)
Imports only the standard library.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

__all__ = ["write_atomic", "atomic_path", "replace_folder"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, mode: int | None = None) -> Iterator[Path]:
    """A temporary file name beside ``path`` (hidden, unguessable, nothing there yet) for a writer that wants a
    name; when the block ends, the file there is given ``mode`` (``None``: as written) and renamed over ``path``.
    A failure in the block or the rename removes it and leaves ``path`` as it was.

    Examples
    --------
    >>> with atomic_path("/srv/astrohub/maps/alert.fits") as tmp:            # doctest: +SKIP
    ...     hdul.writeto(tmp)
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        yield tmp
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: str | os.PathLike, data: bytes | str, *, mode: int | None = None) -> None:
    """Write ``data`` (``str``: as UTF-8) to ``path`` atomically, with ``mode`` exactly (no umask; ``None``: as
    ``open()`` makes a file, 0666 less the umask). A failure (a full disk, a quota) leaves the old file and no
    temporary one.

    Examples
    --------
    >>> write_atomic("/srv/astrohub/state/status.json", '{"state": "up"}', mode=0o644)   # doctest: +SKIP
    """
    with atomic_path(path) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666 if mode is None else 0o600)
        with os.fdopen(fd, "wb") as fh:
            if mode is not None:
                os.fchmod(fh.fileno(), mode)
            fh.write(data.encode() if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())


def replace_folder(new: str | os.PathLike, target: str | os.PathLike) -> None:
    """Rename the folder ``new`` (built beside ``target``) to ``target``, replacing a previous ``target``: a folder
    cannot be renamed over one that is not empty, so the old one is renamed aside first and removed after (a reader
    sees the old folder or the new one, or for the instant between the renames none).

    Examples
    --------
    >>> replace_folder("/srv/hips/.m31.tmp", "/srv/hips/m31")                  # doctest: +SKIP
    """
    target = Path(target)
    old = target.with_name(f".{target.name}.{secrets.token_hex(6)}.old")
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)
