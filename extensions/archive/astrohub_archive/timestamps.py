"""DALI timestamps (``xtype="timestamp"``) in the tables TAP serves: their ISO 8601 text read as times, so that a
column of them compares, sorts and aggregates as times in the engine (as DaCHS's, which PostgreSQL holds as
``timestamp``), and times written back as DALI's text.

The one reader of such text for every table: an upload's columns (:mod:`astrohub_archive.uploads`) and
``ivoa.obscore``'s ``obs_release_date`` (:mod:`astrohub_archive.engine`); the one writer of an answer's times
(:func:`astrohub_archive.engine.arrow_to_table`). Imports pyarrow; pure.
"""

from __future__ import annotations

import datetime

from astrohub_archive.faults import UsageFault

__all__ = ["parse_timestamp", "text_as_times", "times_as_text"]


def parse_timestamp(text: str) -> datetime.datetime:
    """DALI timestamp ``text`` (ISO 8601, ``YYYY-MM-DD['T'hh:mm:ss[.s]]``; a ``Z`` or an offset read as UTC) as
    a naive UTC datetime; ValueError when it is no such time.

    Examples
    --------
    >>> parse_timestamp("2020-01-01T06:00:00+02:00"), parse_timestamp("2020-01-01 04:00:00.000Z")
    (datetime.datetime(2020, 1, 1, 4, 0), datetime.datetime(2020, 1, 1, 4, 0))
    """
    t = datetime.datetime.fromisoformat(text.strip().removesuffix("Z").removesuffix("z"))
    if t.tzinfo is not None:
        t = t.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return t


def text_as_times(arrow, names, where: str):
    """``arrow`` (a pyarrow Table) with its text columns ``names`` as timestamps (microseconds, UTC); other
    columns, and a name it has not or whose column is not text, as they were. Each distinct text is parsed once
    (a night's images share one release date). A cell that is no time is a :class:`UsageFault` naming ``where``
    (``"upload 'mine'"``) and the column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for name in names:
        i = arrow.schema.get_field_index(name)
        if i < 0 or not pa.types.is_string(arrow.schema.field(i).type):
            continue
        encoded = pc.dictionary_encode(arrow.column(i).combine_chunks())
        times = []
        for text in encoded.dictionary.to_pylist():
            try:
                times.append(parse_timestamp(text))
            except ValueError:
                raise UsageFault(f"{where}: column {name!r} is a timestamp (xtype), but {text!r} is no ISO 8601 "
                                 "time (YYYY-MM-DDThh:mm:ss[.sss], UTC)") from None
        column = pc.take(pa.array(times, type=pa.timestamp("us")), encoded.indices)
        arrow = arrow.set_column(i, name, column)
    return arrow


def times_as_text(column):
    """A pyarrow timestamp column as DALI's text: ISO 8601 with a ``T``, fractions of a second only where there
    are some (``2021-03-15T00:30:00.500000``, the text DaCHS writes), nulls as nulls."""
    import pyarrow as pa

    return pa.array([None if v is None else v.isoformat() for v in column.to_pylist()], type=pa.string())
