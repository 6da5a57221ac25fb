"""TAP's MAXREC as DaCHS and TAP 1.1 have it: a default (``outputLimit/default`` in /capabilities, DaCHS's 20000, sync
and async alike) and a hard limit (``outputLimit/hard``); a MAXREC over the hard limit is lowered to it and the answer
says so, and an answer cut at either has ``QUERY_STATUS=OVERFLOW``. pyvo against the archive app in-process
(tests/support/tornado_thread.py), the rows an uploaded table's.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from astropy.table import Table
from pyvo.dal import TAPService
from tornado_thread import serving  # tests/support/, on the path by tests/conftest.py

from astrohub_archive.app import ArchiveState, make_app
from astrohub_archive.base import SERVER_OPTIONS
from astrohub_archive.params import MAX_MAXREC, TAP_DEFAULT_MAXREC


@pytest.fixture(scope="module")
def tap(tmp_path_factory):
    root = tmp_path_factory.mktemp("archive")
    with serving(lambda: make_app(ArchiveState(index_path=root / "index.sqlite", data_root=root)),
                 **SERVER_OPTIONS) as url:
        yield TAPService(f"{url}/tap")


def _run(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyvo's DALOverflowWarning: the status is checked below
        return call()


def test_the_default_maxrec_is_dachs_and_said_in_capabilities(tap):
    """tap24: without MAXREC an answer stopped at 1000 rows (an async job over a catalogue too, where DaCHS gives
    20000); now TAP's default is DaCHS's, sync and async, and /capabilities says so."""
    rows = Table({"n": np.arange(TAP_DEFAULT_MAXREC + 5, dtype=np.int32)})
    query = "SELECT n FROM TAP_UPLOAD.t"
    sync = _run(lambda: tap.run_sync(query, uploads={"t": rows}))
    assert len(sync) == TAP_DEFAULT_MAXREC == 20_000 and sync.query_status == "OVERFLOW"
    job = _run(lambda: tap.run_async(query, uploads={"t": rows[:TAP_DEFAULT_MAXREC]}))
    assert len(job) == TAP_DEFAULT_MAXREC and job.query_status == "OK"
    limits = tap.get_tap_capability().outputlimit
    assert (limits.default.content, limits.hard.content) == (TAP_DEFAULT_MAXREC, MAX_MAXREC)


def test_a_maxrec_over_the_hard_limit_is_lowered_and_the_answer_says_so(tap, monkeypatch):
    """tap24: MAXREC over the hard limit was lowered to it with nothing said (an answer of fewer rows than the limit
    read as complete and as asked for); now an ``INFO name="MAXREC"`` names the limit, and an answer cut at it is an
    OVERFLOW, sync and async. The hard limit lowered to 500 here (the service reads it per request), so that the
    answers are small."""
    import astrohub_archive.params

    hard = 500
    monkeypatch.setattr(astrohub_archive.params, "MAX_MAXREC", hard)
    rows = Table({"n": np.arange(hard + 1, dtype=np.int32)})
    query = "SELECT n FROM TAP_UPLOAD.t"
    for run in (tap.run_sync, tap.run_async):
        cut = _run(lambda: run(query, uploads={"t": rows}, maxrec=10 * MAX_MAXREC))
        infos = {info.name: info for info in cut.votable.resources[0].infos}
        assert len(cut) == hard and cut.query_status == "OVERFLOW", (run, len(cut))
        assert infos["MAXREC"].value == str(hard), run
        assert f"lowered to {hard}" in infos["MAXREC"].content, run
        whole = _run(lambda: run(query, uploads={"t": rows[:10]}, maxrec=10 * MAX_MAXREC))
        assert len(whole) == 10 and whole.query_status == "OK"
        assert "MAXREC" in {info.name for info in whole.votable.resources[0].infos}
