"""The file system's limits on a name and a path (Linux's ``NAME_MAX`` and ``PATH_MAX``), and the one check of a path
a user gives against them, so that a function taking a path names the problem instead of answering the file
system's ``OSError: [Errno 36] File name too long`` from deep inside pathlib. Pure; imports the standard library only.
"""

from __future__ import annotations

import os

__all__ = ["NAME_MAX", "PATH_MAX", "too_long", "shown"]

#: The most bytes one name (a file's or a folder's) may have.
NAME_MAX = 255
#: The most bytes a whole path may have.
PATH_MAX = 4096


def shown(text: str, limit: int = 80) -> str:
    """``text`` as an error message shows it: whole up to ``limit`` characters, else its start and its length."""
    return text if len(text) <= limit else f"{text[:60]}...({len(text)} characters)"


def too_long(path: str | os.PathLike) -> str | None:
    """Why the file system would refuse ``path`` for its length (a clause to end a sentence with), or None.

    >>> too_long("images/m13.fits") is None
    True
    >>> too_long("x" * 300)
    'is longer than the file system takes (a name of at most 255 bytes, a path of 4096)'
    """
    text = os.fsencode(path)
    if len(text) > PATH_MAX or any(len(part) > NAME_MAX for part in text.split(b"/")):
        return f"is longer than the file system takes (a name of at most {NAME_MAX} bytes, a path of {PATH_MAX})"
    return None
