"""What each item of the sample data was built from: its version, so that an upgrade rebuilds what changed.

Owns :func:`version` and the code each kind of item is built by (:data:`CATALOG_CODE`, :data:`IMAGE_CODE`,
:data:`SKYMAP_CODE`). An item's version is the SHA-256 of :data:`SCHEMA`, its parameters, the bytes of the files
its builder reads (package data, never their paths or times) and the
:func:`~platform_lib.codedigest.code_digest` of the platform's code that shapes what is built: a new astrohub or a
new data package changes it, a restart does not. The patterns name that code, not whole folders: an edit of the
archive's queries or of the catalogue search does not rebuild anything (each rebuild is a background ingest of
10 to 25 s). Missing a change would leave a platform on old data for good, so a module that shapes the data is
named, and the images' version holds the image index's own
:func:`~platform_lib.imageindex.ingest.derivation` (what the index records; it moves with the index's code and
packaged mappings). Imports hashlib, :mod:`platform_lib.codedigest`, that ``derivation`` and
:mod:`platform_lib.sampledata._sources`' error.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable, Iterable

from platform_lib.codedigest import code_digest
from platform_lib.imageindex.ingest import derivation, mapping_lines
from platform_lib.sampledata._sources import SampleDataMissing

__all__ = ["SCHEMA", "CATALOG_CODE", "IMAGE_CODE", "SKYMAP_CODE", "version", "image_params"]

#: Bumped when what the loader writes changes in a way none of the hashed files show.
SCHEMA = 1
#: The platform's code that builds a sample catalogue (patterns under ``platform_lib/``): the readers of the
#: packaged files (``sampledata/_sources.py``; ``designations.py`` for StarNames' names) and what ingest runs on
#: their table: ingest itself, the columns' metadata and UCDs (``_columns``), the position columns it adds
#: (``_sexagesimal``, ``_degrees``), the coverage it records (``_coverage``), the source reader it reads the table
#: back with (``_readers``), the registry rows (``_registry``) and the HATS writer (``_hats``). Not the search,
#: the sky positions or the polygon code, which read a catalogue and never write one.
CATALOG_CODE = ("sampledata/_sources.py", "designations.py", "catalogs/_ingest.py", "catalogs/_columns.py",
                "catalogs/_sexagesimal.py", "catalogs/_degrees.py", "catalogs/_coverage.py", "catalogs/_readers.py",
                "catalogs/_registry.py", "catalogs/_hats.py")
#: ... the sample images as the archive serves them: which images and from where (``sampledata/_sources.py``) and
#: the copy that gives them ``DATE-REL`` (``sampledata/_copy.py``). Their index records are the image index's:
#: its :func:`~platform_lib.imageindex.ingest.derivation` is in :func:`image_params`, not its source files (its
#: queries, its R-tree, its released view do not change a record).
IMAGE_CODE = ("sampledata/_sources.py", "sampledata/_copy.py")
#: ... the sky maps (copied as they are, by ``sampledata/_copy.py`` too).
SKYMAP_CODE = ("sampledata/_sources.py", "sampledata/_copy.py")


def image_params(mapping_dirs: Iterable[Path] = ()) -> str:
    """The parameters of the images' version: the derivation of the index their records are read into (an upgrade
    that derives records otherwise copies and indexes them again) and the operator's own instrument mappings, the
    ``*.json`` in ``mapping_dirs`` (adding or changing one indexes them again, with it)."""
    return "\n".join([f"derivation={derivation()}", *mapping_lines(mapping_dirs)])


def version(inputs: Callable[[], Iterable[Path]], code: Iterable[str], *, params: str = "") -> str | None:
    """The version of an item built from the files ``inputs()`` returns by the code ``code`` names (patterns under
    ``platform_lib/``, :func:`~platform_lib.codedigest.code_digest`) with ``params``; None when an input is not
    installed (the item cannot be built here).

    Examples
    --------
    >>> from platform_lib.sampledata import openngc_inputs           # doctest: +SKIP
    >>> version(openngc_inputs, CATALOG_CODE)[:12]                     # doctest: +SKIP
    '3f0c9a7d21be'
    """
    digest = hashlib.sha256(f"astrohub sample data {SCHEMA}\n{params}\n".encode())
    try:
        for path in inputs():
            with open(path, "rb") as fh:
                digest.update(hashlib.file_digest(fh, "sha256").digest())
    except (OSError, SampleDataMissing):  # a package or an extracted file is not installed
        return None
    digest.update(code_digest(code).encode())
    return digest.hexdigest()
