"""The catalogue errors and warnings: every failure of ``platform_lib.catalogs`` is a :class:`CatalogError`.

Imports nothing but :mod:`platform_lib.errors`.
"""

from __future__ import annotations

from platform_lib.errors import NotThere, PlatformError

__all__ = [
    "CatalogError",
    "CatalogNotFound",
    "DuplicateCatalog",
    "BadReadme",
    "UnsupportedSource",
    "UnknownTable",
    "UnknownColumn",
    "PositionColumnError",
    "NoPositionWarning",
    "AmbiguousNumberWarning",
]


class CatalogError(PlatformError):
    """A catalogue registry, ingest or query failure (``code`` says which)."""

    code = "catalog-error"


class CatalogNotFound(CatalogError, NotThere):
    """No catalogue, table or HATS path of that name is known (while the sample data loads, the message says so)."""

    code = "catalog-not-found"


class DuplicateCatalog(CatalogError):
    """A catalogue of that name is already registered (ingest with ``replace=True`` to replace it)."""

    code = "duplicate-catalog"


class BadReadme(CatalogError):
    """A CDS ReadMe that cannot be parsed, or that does not describe its data files."""

    code = "bad-readme"


class UnsupportedSource(CatalogError):
    """An ingest source whose format is unknown, unreadable or empty."""

    code = "unsupported-source"


class UnknownTable(UnsupportedSource):
    """A file holding several tables (a VizieR download), read without naming one of them or with a
    name it does not hold; ``tables`` lists the names it holds."""

    code = "unknown-table"

    def __init__(self, message: str, *, value=None, tables=()) -> None:
        super().__init__(message, value=value)
        self.tables = tuple(tables)


class UnknownColumn(CatalogError, KeyError):
    """A column asked of a catalogue (``columns=`` of a search) that it does not have; ``columns`` lists those it has."""

    code = "unknown-column"

    def __init__(self, message: str, *, value=None, columns=()) -> None:
        super().__init__(message, value=value)
        self.columns = tuple(columns)

    __str__ = CatalogError.__str__  # KeyError's would show the message in quotes


class PositionColumnError(CatalogError, ValueError):
    """A column given or taken as positions that holds none: a unit that is not an angle, values that are
    neither numbers nor text, or text that is no angle (:func:`~platform_lib.catalogs.position_degrees`)."""

    code = "bad-position-column"


class NoPositionWarning(UserWarning):
    """A table has no recognisable RA/Dec columns: it is stored without a sky index or MOC."""


class AmbiguousNumberWarning(UserWarning):
    """A text column whose numbers read two ways (``1,234``: 1.234 with a decimal comma, 1234 with a
    thousands separator) and nothing in its file to choose between them: it is kept as text."""
