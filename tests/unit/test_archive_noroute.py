"""A path no archive route serves, asked by a VO client: pyvo shows the archive's message.

The archive app runs in-process (tests/support/tornado_thread.py), with pyvo's own clients.
"""

from __future__ import annotations

import io

import pytest
import pyvo
import requests
from astropy.io.votable import parse
from tornado_thread import serving  # tests/support/, on the path by tests/conftest.py

from astrohub_archive.app import ArchiveState, make_app


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = tmp_path_factory.mktemp("archive")
    with serving(lambda: make_app(ArchiveState(index_path=root / "index.sqlite", data_root=root))) as url:
        yield url


def test_a_wrong_route_is_the_archives_message_in_pyvo(base):
    """`cone/` for `scs/` answered a 404 VOTable whose DALI QUERY_STATUS=ERROR pyvo's cone search does not read
    (it looks for SCS 1.03's INFO name="Error"): pyvo said "VOTable response missing results table". Now the
    404 carries both INFOs, so the cone search and TAP clients alike show the message naming the path."""
    with pytest.raises(pyvo.DALQueryError, match=r"this archive has no endpoint /cone/; its endpoints are listed at"):
        pyvo.dal.SCSService(f"{base}/cone/").search(pos=(10.0, 20.0), radius=0.1)
    with pytest.raises(pyvo.DALQueryError, match=r"this archive has no endpoint /tapp/sync"):
        pyvo.dal.TAPService(f"{base}/tapp").run_sync("SELECT 1")
    response = requests.get(f"{base}/cone/?RA=10&DEC=20&SR=0.1", timeout=30)
    assert response.status_code == 404
    resource = parse(io.BytesIO(response.content)).resources[0]
    assert resource.type == "results"
    status = next(info for info in resource.infos if info.name == "QUERY_STATUS")
    assert status.value == "ERROR" and "no endpoint /cone/" in status.content
