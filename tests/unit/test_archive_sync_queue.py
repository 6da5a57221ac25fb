"""A TAP sync query that waits for one of the archive's query threads: the wait is not its execution time.

The archive app runs in-process (tests/support/tornado_thread.py) with one query thread and a 2 s limit; a
"long query" holding that thread is a function the test submits to the same executor. pyvo is the client.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import pyvo
from tornado_thread import serving  # tests/support/, on the path by tests/conftest.py

from astrohub_archive.app import ArchiveState, make_app
from astrohub_archive.engine import Limits

LIMIT_S = 2.0


@pytest.fixture
def one_thread(tmp_path):
    """``(base_url, executor)``: an archive whose queries run on ``executor``'s one thread, limited to 2 s."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-query")
    state = ArchiveState(index_path=tmp_path / "index.sqlite", data_root=tmp_path, limits=Limits(seconds=LIMIT_S),
                         executor=executor)
    with serving(lambda: make_app(state)) as url:
        yield url, executor
    executor.shutdown(wait=True)


def _hold(executor, seconds: float) -> threading.Event:
    """Occupy the executor's thread for ``seconds`` (a long query ahead in the queue); set the event to end early."""
    done = threading.Event()
    executor.submit(done.wait, seconds)
    return done


def test_the_time_a_sync_query_waits_for_a_thread_does_not_count_against_its_limit(one_thread):
    """The sync limit counted from the request's arrival, so a query that waited for a thread (the others busy with
    other users' queries) longer than the limit failed with "ran longer than this service's limit of 60 s" without
    having run at all. TAP's limit is the execution's: the query waits 1.5 times the limit here, then runs and
    answers."""
    base, executor = one_thread
    _hold(executor, 1.5 * LIMIT_S)
    rows = pyvo.dal.TAPService(base + "/tap").run_sync("SELECT TOP 1 table_name FROM TAP_SCHEMA.tables").to_table()
    assert len(rows) == 1


def test_a_sync_query_that_never_gets_a_thread_is_told_the_service_is_busy(one_thread):
    """The wait for a thread is bounded apart (twice the limit): past it, a 503 saying the service is busy and
    what to do (before, such a request hung on, and then failed as if it had run past its limit)."""
    base, executor = one_thread
    done = _hold(executor, 30)
    try:
        with pytest.raises(pyvo.DALQueryError, match=r"the service is busy: the query waited \d+ s for one of its "
                                                       r"query threads without starting"):
            pyvo.dal.TAPService(base + "/tap").run_sync("SELECT TOP 1 table_name FROM TAP_SCHEMA.tables")
    finally:
        done.set()
