"""Sizes in words: how the hub's pages show a number of bytes (storage used, quotas).

Owns :func:`size_text`, the one formatter of the classes service's page (its storage table: home, group
folders, workspaces, and each quota). It writes what ``print(platform_lib.usage())`` writes in a notebook
(decimal units, as ``astrohub quotas set 50GB`` reads them), so the page and the notebook show one figure;
this package does not import ``platform_lib`` (the hub's image need not hold it), nor does the user's server
(``astrohub_server.sizes``, a refused save's sizes): each keeps a copy, and ``tests/unit/test_sizes_agree.py``
checks the three write the same text. ``astrohub quotas`` (the local platform's operator command) uses this one.
May import nothing.
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
