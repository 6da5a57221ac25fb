"""Sizes in words in the user's server: how a refused save says the sizes (what it weighs, the quota, what is used).

Owns :func:`size_text`, the server's copy of :func:`astrohub_hub.sizes.size_text` (the hub's pages) and of the
formatter ``print(platform_lib.usage())`` uses: this package imports neither (it runs in any user image; the hub's
image holds no ``platform_lib``), so each keeps its copy and ``tests/unit/test_sizes_agree.py`` checks that the
three write the same text. May import nothing.
"""

from __future__ import annotations

__all__ = ["size_text"]

#: Decimal units, largest first: a quota set as ``50GB`` is 50 * 10**9 bytes and shows as ``50.0 GB``.
_UNITS = (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3))


def size_text(n: int) -> str:
    """``n`` bytes for a person: in the largest of TB, GB, MB, kB it reaches (one decimal), else in bytes.

    >>> size_text(3_072), size_text(2_406_272), size_text(50 * 10**9), size_text(0), size_text(1)
    ('3.1 kB', '2.4 MB', '50.0 GB', '0 bytes', '1 byte')
    """
    for unit, scale in _UNITS:
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n:,} byte{'' if n == 1 else 's'}"
