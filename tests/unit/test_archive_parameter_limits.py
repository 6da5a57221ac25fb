"""Requests with more parameters than the archive takes are refused with a VO error naming the limit, whichever way
they come (query string, form body, multipart body), not with tornado's empty 400 or its own words.

The archive app runs in-process (tests/support/tornado_thread.py).
"""

from __future__ import annotations

import io

import pytest
import requests
from astropy.io.votable import parse
from tornado_thread import serving  # tests/support/, on the path by tests/conftest.py

from astrohub_archive.app import ArchiveState, make_app
from astrohub_archive.base import MAX_PARAMETERS

LIMIT = f"UsageFault: more than {MAX_PARAMETERS} parameter values in one request"


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = tmp_path_factory.mktemp("archive")
    with serving(lambda: make_app(ArchiveState(index_path=root / "index.sqlite", data_root=root))) as url:
        yield url


def _status(response) -> str:
    infos = parse(io.BytesIO(response.content)).resources[0].infos
    return next(info.content for info in infos if info.name == "QUERY_STATUS")


@pytest.mark.parametrize("n", [600, 1100, 5000])
def test_too_many_parameters_are_refused_naming_the_limit(base, n):
    """Over 1000 fields in a query string got tornado's empty 400 (it parses the query string before any handler
    sees the request), over 1000 in a form body ``Invalid body: Invalid x-www-form-urlencoded body: Max number of
    fields exceeded``, over 100 multipart parts ``... has too many parts``: each is now the archive's UsageFault
    naming its limit of parameter values, as 501 to 1000 fields were."""
    params = [("QUERY", "SELECT 1 FROM ivoa.obscore")] + [(f"X{i}", "1") for i in range(n)]
    got = requests.get(f"{base}/tap/sync", params=params, timeout=60)
    assert got.status_code == 400 and _status(got) == LIMIT
    posted = requests.post(f"{base}/tap/sync", data=params, timeout=60)
    assert posted.status_code == 400 and _status(posted) == LIMIT
    parts = requests.post(f"{base}/tap/sync", files=[(k, (None, v)) for k, v in params], timeout=60)
    assert parts.status_code == 400 and _status(parts) == LIMIT
    json = requests.post(f"{base}/tap/sync", data=params + [("RESPONSEFORMAT", "json")], timeout=60)
    assert json.status_code == 400 and json.json()["message"] == LIMIT
