"""Atomic file writes for the library: a reader sees the old file or the new one, never half of one.

Owns :func:`write_atomic`: the bytes go to a new temporary file beside the target (created exclusively, so
nothing planted in the folder is followed or overwritten), are flushed to disk, and the file is renamed over
the target (``os.replace``); a failure removes the temporary file and leaves the target as it was. Used by
storage's quota files, the jobs' JSON files, the local platform's state files and sample data's downloads.
(Storage's own ``write_bytes`` adds quotas and no-clobber renames; the hub has its own ``astrohub_hub.atomic``.)
Imports only the standard library.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["write_atomic"]


def write_atomic(path: str | os.PathLike, data: bytes | str, *, mode: int | None = None) -> None:
    """Write ``data`` (``str``: as UTF-8) to ``path`` atomically, with ``mode`` exactly (no umask; ``None``: as
    ``open()`` makes a file, 0666 less the umask). A failure (a full disk, a quota) leaves the old file and no
    temporary one.

    Examples
    --------
    >>> write_atomic("/srv/astrohub/state/status.json", '{"state": "up"}', mode=0o644)   # doctest: +SKIP
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666 if mode is None else 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            if mode is not None:
                os.fchmod(fh.fileno(), mode)
            fh.write(data.encode() if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
