"""HEAD on the archive's routes whose GET does real work: the request's checks, the headers GET would send, no work.

The archive app runs in-process (tests/support/tornado_thread.py) over an empty archive (TAP_SCHEMA is there).
"""

from __future__ import annotations

import pytest
import requests
from tornado_thread import serving  # tests/support/, on the path by tests/conftest.py

from astrohub_archive import tap
from astrohub_archive.app import ArchiveState, make_app

QUERY = "SELECT table_name FROM TAP_SCHEMA.tables"


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = tmp_path_factory.mktemp("archive")
    with serving(lambda: make_app(ArchiveState(index_path=root / "index.sqlite", data_root=root))) as url:
        yield url


@pytest.fixture
def runs(monkeypatch):
    """The plans the TAP service runs (its engine's ``run_plan``), while the test runs."""
    ran = []
    real = tap.run_plan
    monkeypatch.setattr(tap, "run_plan", lambda plan, **kw: ran.append(plan) or real(plan, **kw))
    return ran


def test_a_head_on_tap_sync_checks_the_query_and_does_not_run_it(base, runs):
    """mend19: ``HeadAsGet`` answered HEAD by running GET and dropping the body, so a HEAD on ``/tap/sync`` with
    a QUERY ran the query. Now it stops after the request's checks (the ADQL translated, not run) with GET's
    status and Content-Type, and no Content-Length of a body it did not write."""
    url = f"{base}/tap/sync"
    got = requests.get(url, params={"QUERY": QUERY, "FORMAT": "csv"}, timeout=30)
    assert got.status_code == 200 and got.headers["Content-Type"].startswith("text/csv") and len(runs) == 1, got.text
    head = requests.head(url, params={"QUERY": QUERY, "FORMAT": "csv"}, timeout=30)
    assert head.status_code == 200 and head.headers["Content-Type"] == got.headers["Content-Type"], head.headers
    assert head.headers.get("Content-Length") != "0" and not head.content, head.headers
    assert len(runs) == 1, "the HEAD ran the query"
    assert requests.head(url, params={"QUERY": QUERY, "RESPONSEFORMAT": "votable"}, timeout=30).headers[
        "Content-Type"].startswith("application/x-votable+xml")
    # bad input: the status GET gives, found without running anything
    for params in ({"QUERY": "SELEC nothing"}, {"QUERY": "SELECT x FROM no_such_table"},
                   {"QUERY": QUERY, "FORMAT": "nonsense"}, {"LANG": "SQL", "QUERY": QUERY}, {}):
        status = requests.get(url, params=params, timeout=30).status_code
        assert 400 <= status < 500 and requests.head(url, params=params, timeout=30).status_code == status, params
    assert len(runs) == 1


def test_a_head_on_sia_checks_the_request_and_does_not_search_the_index(base, monkeypatch):
    """mend19: as on TAP sync, a HEAD on SIA's query searched the image index (and answered its 503 here)."""
    searched = []
    index = ArchiveState.index
    monkeypatch.setattr(ArchiveState, "index", lambda self: searched.append(1) or index(self))
    url = f"{base}/sia/query"
    head = requests.head(url, params={"POS": "CIRCLE 10 20 0.1", "RESPONSEFORMAT": "json"}, timeout=30)
    assert head.status_code == 200 and head.headers["Content-Type"].startswith("application/json"), head.headers
    assert searched == [], "the HEAD searched the image index"
    # bad input gets the status GET gives, here and on the cone search and SODA routes that stop a HEAD likewise
    # (SCS 1.03 answers its errors with HTTP 200)
    for path, bad, status in (("sia/query", {"POS": "CIRCLE 10 200 0.1"}, 400), ("sia/query", {"MAXREC": "-1"}, 400),
                              ("scs/nosuch", {"RA": "10", "DEC": "20", "SR": "0.1"}, 200),
                              ("soda/sync", {"CIRCLE": "10 20 0.1"}, 400)):
        got = requests.get(f"{base}/{path}", params=bad, timeout=30)
        assert got.status_code == status and b"QUERY_STATUS" in got.content and b"ERROR" in got.content, got.text
        assert requests.head(f"{base}/{path}", params=bad, timeout=30).status_code == status, bad
    assert searched == []


def test_a_head_on_the_moving_object_search_checks_the_request_and_computes_nothing(base, monkeypatch):
    import platform_lib.moving

    searched = []
    monkeypatch.setattr(platform_lib.moving, "find_images", lambda *a, **k: searched.append(a))
    url = f"{base}/moving/images"
    params = {"body": "Ceres", "start": "2020-01-01", "stop": "2020-02-01", "format": "json"}
    head = requests.head(url, params=params, timeout=120)
    assert head.status_code == 200 and head.headers["Content-Type"].startswith("application/json"), head.headers
    assert searched == [], "the HEAD computed the ephemeris and searched the images"
    for bad in ({**params, "start": "someday"}, {**params, "body": "No Such Body"}, {**params, "format": "fits"}):
        status = requests.get(url, params=bad, timeout=120).status_code
        assert status == 400 and requests.head(url, params=bad, timeout=120).status_code == status, bad
    assert searched == []

