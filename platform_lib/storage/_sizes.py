"""Sizes in words for the notebook side: :func:`size_text`, how ``platform_lib`` writes a number of bytes.

Owns the one formatter of ``platform_lib`` (``usage()``'s report, :class:`QuotaExceeded`'s message, a job's result
over quota): the same text as the hub's pages (``astrohub_hub.sizes``) and a save Lab refuses
(``astrohub_server.sizes``), each package keeping its copy (``tests/unit/test_sizes_agree.py`` keeps them one
text). May import nothing.
"""

from __future__ import annotations

__all__ = ["size_text"]

#: Decimal units, largest first: a quota set as ``50GB`` is 50 * 10**9 bytes and shows as ``50.0 GB``.
_UNITS = (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3))


def size_text(n: int) -> str:
    """``n`` bytes for a person: in the largest of TB, GB, MB, kB it reaches (one decimal), else in bytes.

    >>> size_text(8_874), size_text(2_406_272), size_text(1_000_000_000), size_text(0), size_text(1)
    ('8.9 kB', '2.4 MB', '1.0 GB', '0 bytes', '1 byte')
    """
    for unit, scale in _UNITS:
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n:,} byte{'' if n == 1 else 's'}"
