"""What one side of a crossmatch is: owns telling a table from a Dask DataFrame from a catalogue named or opened
(:func:`kind_of`, the one check every entry point asks), refusing anything else with one set of messages
(:func:`checked_kind`: bytes, an empty name, a path the file system cannot hold, another type), and the folder a
catalogue's name or path stands for (:func:`catalogue_folder`). Imports the standard library, the package's errors
and ``platform_lib.pathlimits``; astropy's Table and pandas only when asked about an object, and nothing of lsdb or
dask (their objects are told by their module's name)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from platform_lib.crossmatch._errors import CrossmatchInputError
from platform_lib.pathlimits import BLANK, NOT_A_PATH, path_problem, shown

__all__ = ["TABLE", "FRAME", "DASK", "LSDB", "NAMED", "CATALOGUES", "LAZY", "kind_of", "checked_kind",
           "is_catalogue", "is_lazy", "unsupported", "catalogue_folder"]

#: An astropy Table (or QTable), matched in memory.
TABLE = "table"
#: A pandas DataFrame, matched in memory.
FRAME = "frame"
#: A Dask DataFrame: matched on Dask.
DASK = "dask"
#: An LSDB catalogue object.
LSDB = "lsdb"
#: A catalogue named: a registry name or a HATS folder's path (text or ``os.PathLike``), or the registry's ``TableInfo``.
NAMED = "named"
#: The kinds partitioned on disk or by LSDB: catalogues, not tables.
CATALOGUES = frozenset({LSDB, NAMED})
#: The kinds that send a crossmatch to the Dask path (or to the partitions it touches).
LAZY = frozenset({DASK, LSDB, NAMED})

#: What a side may be, as every message about a side's type says it.
ACCEPTED = "an astropy Table, a pandas or Dask DataFrame, a HATS path, a registry name or an LSDB catalogue"


def kind_of(obj) -> str | None:
    """The kind of a crossmatch side (:data:`TABLE`, :data:`FRAME`, :data:`DASK`, :data:`LSDB`, :data:`NAMED`), or
    None for anything else (bytes, a number, an array...); a name is not checked here (:func:`checked_kind`)."""
    if isinstance(obj, (str, os.PathLike)) or type(obj).__name__ == "TableInfo":
        return NAMED
    module = type(obj).__module__
    if module.startswith("lsdb"):
        return LSDB
    if module.startswith("dask"):
        return DASK if type(obj).__name__ == "DataFrame" else None  # a Dask Series or Array is no table
    pandas = sys.modules.get("pandas")  # not imported: not a DataFrame
    if pandas is not None and isinstance(obj, pandas.DataFrame):
        return FRAME
    table = sys.modules.get("astropy.table")
    if table is not None and isinstance(obj, table.Table):
        return TABLE
    return None


def is_catalogue(obj) -> bool:
    """A side partitioned on disk or by LSDB (a path, a registry name, an LSDB catalogue), not a table."""
    return kind_of(obj) in CATALOGUES


def is_lazy(obj) -> bool:
    """A side the Dask path takes (a catalogue or a Dask DataFrame), not a table in memory."""
    return kind_of(obj) in LAZY


def unsupported(obj, side: str) -> CrossmatchInputError:
    """The error for a side of a type no crossmatch takes, naming the type (with its module when it is not Python's
    own: a pyarrow ``Table`` is no astropy one)."""
    kind = type(obj)
    shown_type = kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    return CrossmatchInputError(f"{side} must be {ACCEPTED}, got {shown_type}", code="unsupported-input",
                                value=kind.__name__)


def checked_kind(obj, side: str) -> str:
    """:func:`kind_of`, or the error naming what is wrong with ``obj`` and how to give it: bytes (decode them), an
    empty name (it read the current folder as a HATS catalogue, "Failed to read HATS at location <cwd>"), a name
    the file system cannot hold (its OSError "File name too long"), another type (``unsupported-input``)."""
    if isinstance(obj, bytes):
        raise TypeError(f"{side} must be a table, a DataFrame, a catalogue's registry name or a HATS folder's path "
                        f"as text, not bytes ({obj[:40]!r}): decode it, e.g. {side}.decode()")
    kind = kind_of(obj)
    if kind is None:
        raise unsupported(obj, side)
    if kind == NAMED and isinstance(obj, (str, os.PathLike)):
        text, problem = path_problem(obj)
        if problem in (NOT_A_PATH, BLANK):
            raise CrossmatchInputError(
                f"{side} is an empty name: give a catalogue's registry name (e.g. 'I/311'), a HATS folder's path, a "
                "table or a DataFrame", code="empty-name", value=text)
        if problem:
            raise CrossmatchInputError(
                f"{side} catalogue {shown(text)!r} {problem}: give a catalogue's registry name (e.g. 'I/311') or a "
                "HATS folder's path", code="not-found", value=shown(text))
    return kind


def catalogue_folder(obj, side: str) -> Path:
    """The HATS folder a named catalogue stands for: a path to a folder as it is; a registry name, a
    ``TableInfo`` or a path to a file resolved by the registry (which says to read a file into a table first);
    ``not-found`` when it does not exist."""
    if type(obj).__name__ == "TableInfo" or not Path(obj).is_dir():
        from platform_lib.catalogs import resolve

        obj, _ = resolve(obj)
    path = Path(obj)
    if not path.exists():
        raise CrossmatchInputError(f"{side} catalogue {str(path)!r} does not exist", code="not-found", value=str(path))
    return path
