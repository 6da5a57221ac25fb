"""The file system's limits on a name and a path (Linux's ``NAME_MAX`` and ``PATH_MAX``), and the one check of a path
a user gives (its type, a blank one, its length), so that a function taking a path names the problem in its own error,
not pathlib's ``TypeError`` or ``OSError: [Errno 36] File name too long`` from deep inside. Pure; standard library only.
"""

from __future__ import annotations

import os
from collections.abc import Callable

__all__ = ["NAME_MAX", "PATH_MAX", "too_long", "shown", "path_problem", "NOT_A_PATH", "BLANK"]

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


#: What :func:`path_problem` says of a value that is not a path as text, and of an empty or blank one.
NOT_A_PATH, BLANK = "not a path", "blank"


def path_problem(path, as_used: Callable[[str], str | os.PathLike] = str,
                 blank_ok: bool = False) -> tuple[str | bytes | None, str | None]:
    """``(text, problem)`` of a path a user gave, for the caller to raise in its own error class and words: ``text``
    is ``os.fspath(path)`` (None when not path-like), ``problem`` None or the first of :data:`NOT_A_PATH` (not a str
    or a path-like of one), :data:`BLANK` (empty or white space: the current folder; unless ``blank_ok``) and
    :func:`too_long`'s clause for ``as_used(text)``, the path as the caller uses it (say ``os.path.expanduser``).

    >>> path_problem("images/m13.fits"), path_problem(b"m13.fits"), path_problem(" ")
    (('images/m13.fits', None), (b'm13.fits', 'not a path'), (' ', 'blank'))
    """
    try:
        text = os.fspath(path)
    except TypeError:
        return None, NOT_A_PATH
    if not isinstance(text, str):
        return text, NOT_A_PATH
    if not blank_ok and not text.strip():
        return text, BLANK
    return text, too_long(as_used(text))
