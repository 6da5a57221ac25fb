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
from astrohub_archive.base import MAX_BODY, MAX_HEADER_BYTES, MAX_PARAMETERS, SERVER_OPTIONS

LIMIT = f"UsageFault: more than {MAX_PARAMETERS} parameter values in one request"


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = tmp_path_factory.mktemp("archive")
    with serving(lambda: make_app(ArchiveState(index_path=root / "index.sqlite", data_root=root)),
                 **SERVER_OPTIONS) as url:  # the archive's own server options
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


def test_a_url_or_a_body_over_the_limit_is_refused_naming_it_and_saying_to_post(base):
    """badinput23: a sync query whose URL is over 64 KiB (a long ADQL IN list, a polygon of many vertices) was
    dropped by tornado with no answer (the client saw its connection reset: "Connection aborted ...
    RemoteDisconnected"), and a body over 64 MiB got tornado's empty 400; headers over the limit likewise. Each is
    now refused with its status (414, 413, 431) and the error document naming the size, the limit and what to do."""
    in_list = ", ".join(f"'obs{i:06d}'" for i in range(MAX_HEADER_BYTES // 10))
    adql = f"SELECT obs_id FROM ivoa.obscore WHERE obs_id IN ({in_list})"
    got = requests.get(f"{base}/tap/sync", params={"LANG": "ADQL", "QUERY": adql}, timeout=60)
    assert got.status_code == 414, got.status_code
    said = _status(got)
    assert said.startswith("UsageFault: the request's URL is ") and "this service reads URLs of up to 65,536 " \
        "bytes: send the parameters in the body of a POST instead" in said, said
    posted = requests.post(f"{base}/tap/sync", data={"LANG": "ADQL", "QUERY": "SELECT 1"}, timeout=60)
    assert posted.status_code == 400  # a request under the limits is the service's to answer, as before
    cookie = requests.get(f"{base}/tap/sync", headers={"X-Big": "x" * MAX_HEADER_BYTES}, timeout=60)
    assert cookie.status_code == 431 and "headers are" in _status(cookie), cookie.status_code
    body = b"QUERY=" + b"x" * (MAX_BODY + 1)
    big = requests.post(f"{base}/tap/sync", data=body, timeout=120,
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert big.status_code == 413, big.status_code
    assert _status(big).startswith(f"UsageFault: the request's body is {len(body):,} bytes long; this service "
                                   "reads bodies of up to 64 MiB"), _status(big)


def test_a_chunked_body_over_the_limit_is_refused_413_naming_it(base):
    """tap24: a body sent in chunks (``Transfer-Encoding: chunked``: no Content-Length to refuse it by) over 64 MiB
    got tornado's empty 400 (its connection's limit); it is now read, thrown away and refused 413 with the error
    document naming the limit, as a declared one is. A chunked body under the limit is the route's to answer, as
    before, and the connection serves the next request."""
    piece = b"x" * 2**20

    def chunks(n):
        yield b"QUERY="
        for _ in range(n):
            yield piece

    with requests.Session() as session:
        big = session.post(f"{base}/tap/sync", data=chunks(MAX_BODY // len(piece) + 1), timeout=120,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert big.status_code == 413, (big.status_code, big.content[:200])
        assert _status(big).startswith(f"UsageFault: the request's body is {MAX_BODY + len(piece) + 6:,} bytes long "
                                       "(sent in chunks); this service reads bodies of up to 64 MiB"), _status(big)
        small = session.post(f"{base}/tap/sync", data=iter([b"LANG=ADQL&QUERY=", b"SELECT 1"]), timeout=60,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert small.status_code == 400 and "UsageFault" in _status(small), small.status_code
