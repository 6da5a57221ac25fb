"""An argument that is a list of one kind of thing (column names, :class:`~platform_lib.catalogs.ColumnInfo`), and
the one TypeError naming the argument and what to give when it is not: a text or bytes given for the list was read a
character (or a byte: an int) at a time, and answered an ``AttributeError`` from deep inside. Pure; imports the
standard library and :mod:`platform_lib.pathlimits` only.
"""

from __future__ import annotations

from collections.abc import Iterable

from platform_lib.pathlimits import shown

__all__ = ["list_of"]


def list_of(value, kind: type | tuple[type, ...], what: str, wanted: str) -> list:
    """``value`` as a list whose every item is a ``kind``, or the TypeError ``"<what> must be <wanted>, not <type>
    <value>"`` (``"each of <what> ..."`` naming the first wrong item when the list is one); a text or bytes is not a
    list here.

    >>> list_of(("ra", "dec"), str, "columns", "a column's name as text, in a list such as table.colnames")
    ['ra', 'dec']
    >>> list_of(["ra", 5], str, "columns", "a column's name as text, in a list such as table.colnames")
    Traceback (most recent call last):
    TypeError: each of columns must be a column's name as text, in a list such as table.colnames, not int 5
    """
    listed = None if isinstance(value, (str, bytes)) or not isinstance(value, Iterable) else list(value)
    wrong = value if listed is None else next((v for v in listed if not isinstance(v, kind)), None)
    if listed is None or wrong is not None:
        where = what if listed is None else f"each of {what}"
        shown_value = repr(shown(wrong)) if isinstance(wrong, str) else f"{wrong!r:.60}"
        raise TypeError(f"{where} must be {wanted}, not {type(wrong).__name__} {shown_value}")
    return listed
