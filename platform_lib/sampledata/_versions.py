"""What each item of the sample data was built from: its version, so that an upgrade rebuilds what changed.

Owns :func:`version` and the code each kind of item is built by (:data:`CATALOG_CODE`, :data:`IMAGE_CODE`). An
item's version is the SHA-256 of :data:`SCHEMA`, the bytes of the files its builder reads (package data, never
their paths or times) and the source of the platform's code that builds it (the readers, the catalogue ingest, the
image index and its instrument mappings): a new astrohub or a new data package changes it, a restart does not.
Over-rebuilding (an edit of a comment in that code) costs a background ingest; missing a change would leave a
platform on old data for good. Imports hashlib and :mod:`platform_lib.sampledata._sources`' error.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable, Iterable

from platform_lib.sampledata._sources import SampleDataMissing

__all__ = ["SCHEMA", "CATALOG_CODE", "IMAGE_CODE", "SKYMAP_CODE", "version"]

#: Bumped when what the loader writes changes in a way none of the hashed files show.
SCHEMA = 1
_PLATFORM = Path(__file__).resolve().parents[1]
#: The platform's code that builds a sample catalogue (patterns under ``platform_lib/``).
CATALOG_CODE = ("sampledata/_sources.py", "designations.py", "catalogs/*.py")
#: ... the sample images as the archive serves them (the loader's DATE-REL, the index's records and mappings).
IMAGE_CODE = ("sampledata/_sources.py", "sampledata/_load.py", "imageindex/*.py", "imageindex/mappings/*.json")
#: ... the sky maps (copied as they are).
SKYMAP_CODE = ("sampledata/_sources.py",)


def _code(patterns: Iterable[str]) -> list[Path]:
    return sorted({path for pattern in patterns for path in _PLATFORM.glob(pattern)})


def version(inputs: Callable[[], Iterable[Path]], code: Iterable[str], *, params: str = "") -> str | None:
    """The version of an item built from the files ``inputs()`` returns by the code ``code`` names (patterns under
    ``platform_lib/``) with ``params``; None when an input is not installed (the item cannot be built here).

    Examples
    --------
    >>> from platform_lib.sampledata import openngc_inputs           # doctest: +SKIP
    >>> version(openngc_inputs, CATALOG_CODE)[:12]                     # doctest: +SKIP
    '3f0c9a7d21be'
    """
    digest = hashlib.sha256(f"astrohub sample data {SCHEMA}\n{params}\n".encode())
    try:
        files = list(inputs())
        for path in (*files, *_code(code)):
            with open(path, "rb") as fh:
                digest.update(hashlib.file_digest(fh, "sha256").digest())
    except (OSError, SampleDataMissing):  # a package or an extracted file is not installed
        return None
    return digest.hexdigest()
