"""astrohub_archive.aladin_lite: the platform's fixes of Aladin Lite apply to the version pinned in the Makefile."""

from __future__ import annotations

import logging

import pytest

from astrohub_archive.aladin_lite import PATCHES, aladin_lite_dir, patched


def test_every_fix_applies_to_the_pinned_aladin_lite():
    """viz21: each fix's piece of minified code is in the pinned package exactly once, and is replaced: a new
    Aladin Lite in the Makefile fails here, not in a user's view."""
    if aladin_lite_dir() is None:
        pytest.fail("Aladin Lite is not installed: `make install` puts it in .npm/node_modules/aladin-lite")
    shipped = (aladin_lite_dir() / "aladin.js").read_bytes()
    served = patched(shipped)
    for what, old, new in PATCHES:
        assert shipped.count(old.encode()) == 1, what
        assert old.encode() not in served and served.count(new.encode()) == 1, what


def test_a_fix_that_does_not_apply_is_logged_and_left_out(caplog):
    source = b"export default {};"
    with caplog.at_level(logging.ERROR, logger="astrohub_archive"):
        assert patched(source) == source
    assert "sexagesimal" in caplog.text and "served without it" in caplog.text
