"""The crossmatch package's errors and warnings (:func:`warn_dropped` words the one every path gives for rows left
out); imports nothing but the standard library and the platform's root error."""

from __future__ import annotations

import warnings

from platform_lib.errors import PlatformError

__all__ = ["CrossmatchError", "CrossmatchInputError", "DroppedRowsWarning", "RaInHoursWarning", "warn_dropped",
           "SHOWN_ROWS"]


class CrossmatchError(PlatformError):
    """A crossmatch could not run (bad input, unusable catalogue, failed cluster)."""

    code = "crossmatch-error"


class CrossmatchInputError(CrossmatchError, ValueError):
    """An argument or an input column is wrong; ``value`` holds the offending value.

    ``available`` lists the columns the table does have, when a column was missing or mistyped.
    """

    code = "bad-crossmatch-input"

    def __init__(self, message: str, *, code: str | None = None, value=None, available=None) -> None:
        super().__init__(message, code=code, value=value)
        self.available = list(available) if available is not None else None


class DroppedRowsWarning(UserWarning):
    """Rows were left out of a crossmatch (or of a sky figure or view, :mod:`platform_lib.viz`): their coordinates are NaN, missing (masked, a blank cell) or infinite,
    so they match nothing (as STILTS skips them; lsdb and astropy's ``match_to_catalog_sky`` refuse the table).
    The message says how many, of which side and columns, and which rows; so do the fields ``side``, ``columns``,
    ``count`` and ``rows`` (every such row's number from 0, in the side as given; ``None`` for a catalogue on disk,
    whose metadata counts them)."""

    def __init__(self, message: str, *, side: str = "", columns=(), count: int = 0, rows=None) -> None:
        super().__init__(message)
        self.side, self.columns, self.count = side, tuple(columns), count
        self.rows = None if rows is None else [int(r) for r in rows]


class RaInHoursWarning(UserWarning):
    """A crossmatch matched few or none of a side's rows, and that side's RA looks like hours, not degrees: all of
    it lies in [0, 24] and, multiplied by 15, at least half of the side's rows would match (a table with ``ra`` in
    hours and no unit, or ``deg``, matched against a catalogue in degrees). The message says how to say so
    (unit ``hourangle``, or multiply by 15); the fields ``side``, ``column``, ``matched`` (rows of that side
    matched as given) and ``matched_as_hours`` (rows that would match with RA times 15) say the same."""

    def __init__(self, message: str, *, side: str = "", column: str = "", matched: int = 0,
                 matched_as_hours: int = 0) -> None:
        super().__init__(message)
        self.side, self.column, self.matched, self.matched_as_hours = side, column, matched, matched_as_hours


#: How many row numbers a :class:`DroppedRowsWarning`'s message lists (its ``rows`` holds them all).
SHOWN_ROWS = 10


def warn_dropped(n: int, side: str, columns=(), rows=None, stacklevel: int = 5, *,
                 left_out_of: str = "the crossmatch (they match nothing)",
                 trouble: str = "NaN, missing or infinite coordinates") -> None:
    """The warning that ``n`` rows of a side have no usable coordinates (in ``columns``) and are left out; ``rows``:
    their numbers from 0, when known. "3 left rows have NaN, missing or infinite coordinates (ra/dec) and were left
    out of the crossmatch (they match nothing): rows 3, 7, 11 (from 0)". The sky figures and the viewer of
    :mod:`platform_lib.viz` say the same of the rows they cannot draw (``left_out_of``: "the figure", ``side``: "",
    ``trouble``: what those rows lack)."""
    where = f" ({'/'.join(map(str, columns))})" if columns else ""
    which = ""
    if rows is not None:
        which = ": rows " + ", ".join(str(int(r)) for r in rows[:SHOWN_ROWS]) \
            + (", ..." if len(rows) > SHOWN_ROWS else "") + " (from 0)"
    warnings.warn(DroppedRowsWarning(
        f"{n} {side + ' ' if side else ''}rows have {trouble}{where} and were left out of {left_out_of}{which}",
        side=side, columns=columns, count=n, rows=rows), stacklevel=stacklevel)
