"""The catalogue errors and warnings: every failure of ``platform_lib.catalogs`` is a :class:`CatalogError`.

Imports nothing but :mod:`platform_lib.errors`.
"""

from __future__ import annotations

from platform_lib.errors import PlatformError

__all__ = [
    "CatalogError",
    "CatalogNotFound",
    "DuplicateCatalog",
    "BadReadme",
    "UnsupportedSource",
    "NoPositionWarning",
]


class CatalogError(PlatformError):
    """A catalogue registry, ingest or query failure (``code`` says which)."""

    code = "catalog-error"


class CatalogNotFound(CatalogError):
    """No catalogue, table or HATS path of that name is known."""

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


class NoPositionWarning(UserWarning):
    """A table has no recognisable RA/Dec columns: it is stored without a sky index or MOC."""
