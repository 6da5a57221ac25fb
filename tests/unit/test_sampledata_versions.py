"""Which code edits make an item of the sample data out of date (code16): the images' version named every module
of the image index (``imageindex/*.py``) and the whole loader, and the catalogues' every module of
``catalogs/``, so an edit of the archive's queries or of the catalogue search rebuilt the sample data (a background
ingest of 10 to 25 s) on every upgrade. Now an edit of code that shapes an item makes it stale, and no other."""

from __future__ import annotations

import json
import shutil

import pytest

from platform_lib.imageindex import ingest
from platform_lib.sampledata import MARKER, current_versions, stale


@pytest.fixture
def platform_copy(tmp_path, monkeypatch):
    """A copy of ``platform_lib/``'s source that the digests read instead of the installed one."""
    from platform_lib import codedigest

    copy = tmp_path / "platform_lib"
    shutil.copytree(codedigest.PLATFORM, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(codedigest, "PLATFORM", copy)
    ingest.derivation.cache_clear()
    yield copy
    ingest.derivation.cache_clear()


def _edit(path) -> None:
    with open(path, "a") as fh:
        fh.write("\n# an upgrade's edit\n")


def test_only_an_edit_of_what_builds_an_item_makes_it_stale(tmp_path, platform_copy) -> None:
    datasets = tmp_path / "datasets"
    datasets.mkdir()
    (datasets / MARKER).write_text(json.dumps({"version": 2, "versions": current_versions()}))
    assert stale(datasets) == []

    def after(edited: str) -> list[str]:
        _edit(platform_copy / edited)
        ingest.derivation.cache_clear()  # a new process, as after an upgrade
        return stale(datasets)

    # the archive's queries and released view, the catalogue search, the loader's bookkeeping: nothing to rebuild
    for unrelated in ("imageindex/query.py", "imageindex/index.py", "imageindex/release.py", "catalogs/_search.py",
                      "catalogs/__init__.py", "sampledata/_load.py"):
        assert after(unrelated) == [], unrelated
    # how a header becomes a record (the index's derivation), or a packaged mapping: the images
    assert after("imageindex/mapping.py") == ["images"]
    (datasets / MARKER).write_text(json.dumps({"version": 2, "versions": current_versions()}))
    assert after("imageindex/mappings/dss.json") == ["images"]
    # the copy that gives an image its DATE-REL: the images and the sky maps it copies
    (datasets / MARKER).write_text(json.dumps({"version": 2, "versions": current_versions()}))
    assert after("sampledata/_copy.py") == ["images", "skymaps"]
    # the catalogue ingest: the catalogues, not the images
    (datasets / MARKER).write_text(json.dumps({"version": 2, "versions": current_versions()}))
    catalogs = [key for key, value in current_versions().items() if key.startswith("catalog:") and value]
    assert catalogs and after("catalogs/_ingest.py") == catalogs
