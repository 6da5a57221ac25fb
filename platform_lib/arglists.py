"""An argument that is a list of one kind of thing (column names, ``ColumnInfo``), and the one TypeError naming it and
what to give when it is not (a text given for the list was read a character at a time, and answered AttributeError
from deep inside). Imports :mod:`platform_lib.pathlimits` only."""

from __future__ import annotations

from collections.abc import Iterable

from platform_lib.pathlimits import shown

__all__ = ["list_of"]


def list_of(value, kind: type | tuple[type, ...], what: str, wanted: str) -> list:
    """``value`` (any iterable but a text or bytes) as a list of ``kind``, or the TypeError ``"<what> must be
    <wanted>, not <type> <value>"``, saying ``"each of <what>"`` and naming the first wrong item of a list.

    >>> list_of(["ra", None], str, "columns", "a column's name as text")
    Traceback (most recent call last):
    TypeError: each of columns must be a column's name as text, not NoneType None
    """
    listed = None if isinstance(value, (str, bytes)) or not isinstance(value, Iterable) else list(value)
    wrong = [value] if listed is None else [v for v in listed if not isinstance(v, kind)][:1]
    if wrong:
        where, wrong = what if listed is None else f"each of {what}", wrong[0]
        shown_value = repr(shown(wrong)) if isinstance(wrong, str) else f"{wrong!r:.60}"
        raise TypeError(f"{where} must be {wanted}, not {type(wrong).__name__} {shown_value}")
    return listed
