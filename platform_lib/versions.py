"""The release numbers of third-party packages, as the platform's version-guarded workarounds compare them.

Owns :func:`release_tuple`, used by :mod:`platform_lib.gateway` and :mod:`platform_lib.votable` (each
applies its workaround up to the newest release known to need it). Standard library only.
"""

from __future__ import annotations

__all__ = ["release_tuple"]


def release_tuple(text: str) -> tuple[int, ...]:
    """The first three numbers of a version string, local part ignored, letters dropped from each number.

    >>> release_tuple("2026.3.0"), release_tuple("8.0.3.dev12+g1234")
    ((2026, 3, 0), (8, 0, 3))
    """
    parts = []
    for piece in text.split("+")[0].split(".")[:3]:
        digits = "".join(c for c in piece if c.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)
