"""VOSI availability of the archive's TAP and SIA services: available, since when, and a note.

The archive app runs in-process (tests/support/tornado_thread.py); pyvo's VOSI parser reads the documents.
"""

from __future__ import annotations

import calendar
import io
import time

import pytest
import requests
from pyvo.io.vosi import parse_availability
from tornado_thread import serving  # tests/support/, on the path by tests/conftest.py

from astrohub_archive.app import ArchiveState, make_app


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    from platform_lib.imageindex import build_index

    root = tmp_path_factory.mktemp("archive")
    build_index(root / "index.sqlite", root, workers=1)
    with serving(lambda: make_app(ArchiveState(index_path=root / "index.sqlite", data_root=root))) as url:
        yield url


@pytest.mark.parametrize("route", ["tap/availability", "sia/availability"])
def test_availability_says_since_when_the_service_is_up(base, route):
    """The availability documents had no ``upSince`` (VOSI 1.1; DaCHS writes it), so pyvo's ``up_since`` was None:
    it is now the time the service started, in UTC."""
    before = time.time()
    doc = parse_availability(io.BytesIO(requests.get(f"{base}/{route}", timeout=30).content))
    assert doc.available is True
    assert doc.upsince is not None
    up = calendar.timegm(time.strptime(doc.upsince, "%Y-%m-%dT%H:%M:%SZ"))
    assert before - 3600 < up <= before + 1, doc.upsince  # the module's service started before this request
