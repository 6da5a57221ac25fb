"""Malformed requests to the archive that a sweep of every route found answered wrongly (badinput24): each is now a
4xx in the route's own error form, naming the problem, and leaves the connection usable or says it closes it (a
connection closed unannounced sent the proxy's next request, anybody's, to the hub's 503 page).

The archive app runs in-process (tests/support/tornado_thread.py), the archive's own server options.
"""

from __future__ import annotations

import http.client
import io
from urllib.parse import urlparse

import pytest
import requests
from astropy.io.votable import parse
from tornado_thread import serving  # tests/support/, on the path by tests/conftest.py

from astrohub_archive.app import ArchiveState, make_app
from astrohub_archive.base import MAX_HEADER_BYTES, SERVER_OPTIONS


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = tmp_path_factory.mktemp("archive")
    with serving(lambda: make_app(ArchiveState(index_path=root / "index.sqlite", data_root=root,
                                               hips_dir=root / "hips")), **SERVER_OPTIONS) as url:
        yield url


def _status(response) -> str:
    infos = parse(io.BytesIO(response.content)).resources[0].infos
    return next(info.content for info in infos if info.name == "QUERY_STATUS")


@pytest.mark.parametrize("query, words", [
    # tornado's own "Invalid unicode in detail" HTTPError, raised inside the handler's guard: answered 503
    # "internal error in the archive service (logged); please report it", with a traceback in the log
    ("tap/tables?detail=%ff%fe", "UsageFault: parameter 'detail' is not valid UTF-8; percent-encode its text as UTF-8"),
    ("tap/async?PHASE=%ff", "UsageFault: parameter 'PHASE' is not valid UTF-8"),
    ("tap/async?LAST=%c3", "UsageFault: parameter 'LAST' is not valid UTF-8"),
    ("tap/async?AFTER=%ff", "UsageFault: parameter 'AFTER' is not valid UTF-8"),
])
def test_a_parameter_that_is_not_utf8_is_a_usage_fault_naming_it(base, query, words):
    response = requests.get(f"{base}/{query}", timeout=30)
    assert response.status_code == 400, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"].startswith("application/x-votable+xml")
    assert _status(response).startswith(words)


@pytest.mark.parametrize("path, where", [
    # errpages25: no route matched, so the archive's 404 "this archive has no endpoint .../tap/sync%FF", as if the
    # endpoint were missing; now the client's bad byte, named with where it is
    ("/tap/sync%FF", "byte 0xFF (sent as %FF) at character 10 of the path, after '/tap/sync'"),
    ("/sia/query%C3?POS=x", "byte 0xC3 (sent as %C3) at character 11 of the path, after '/sia/query'"),
    # a route that matched, its path part not UTF-8: was "the path is not valid UTF-8", without which byte or where
    ("/download/a%E9b", "byte 0xE9 (sent as %E9) at character 12 of the path, after '/download/a'"),
])
def test_a_path_that_is_not_utf8_is_a_usage_fault_naming_the_byte(base, path, where):
    url = urlparse(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.request("GET", path)  # as sent: requests would re-quote it
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.status == 400, (response.status, body[:300])
    assert response.getheader("Content-Type").startswith("application/x-votable+xml")
    status = next(info.content for info in parse(io.BytesIO(body)).resources[0].infos if info.name == "QUERY_STATUS")
    assert status == f"UsageFault: the path is not valid UTF-8: {where}; percent-encode the path's text as UTF-8"


def test_a_hips_path_that_is_not_utf8_is_a_400_naming_the_byte(base):
    """The HiPS routes answer errors as one line of text; this one was tornado's "Invalid unicode in url: b'a\\xe9b'"."""
    url = urlparse(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.request("GET", "/hips/a%E9b/properties")
        response = connection.getresponse()
        body = response.read().decode()
    finally:
        connection.close()
    assert (response.status, body) == (400, "400: the path is not valid UTF-8: byte 0xE9 (sent as %E9) at character 8 "
                                            "of the path, after '/hips/a'; percent-encode the path's text as UTF-8\n")


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE", "OPTIONS"])
def test_a_method_a_streamed_upload_route_does_not_take_leaves_no_dead_connection(base, method):
    """The HiPS upload routes read their bodies as they come (tornado's stream_request_body): a request refused
    before its body is read ends its connection after the answer, even a GET with no body refused 405. The old
    code said ``Connection: close`` for a refused POST only; any other method's refusal left the connection
    looking alive and closed it, so the proxy's next request down it (any user's) got the hub's 503 page (on the
    platform, 9 of the 90 requests sent after such a 405). Now each refusal says it closes, or the connection
    answers the next request."""
    url = urlparse(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.request(method, "/hips/~/x/rest")
        first = connection.getresponse()
        text = first.read().decode()
        assert first.status == 405 and f"HTTP method {method} is not allowed on /hips/~/x/rest; use POST or PUT" in text
        if first.will_close:
            return
        connection.request("GET", "/hips/")  # the same connection, as a proxy keeping it alive would
        second = connection.getresponse()
        second.read()
        assert second.status == 200
    finally:
        connection.close()


@pytest.mark.parametrize("what", ["url", "headers"])
def test_a_request_over_the_limits_leaves_no_dead_connection(base, what):
    """badinput23 answered a URL or headers over the archive's limits (414, 431: TooLargeHandler) where tornado had
    dropped them, but the answer, made before the request was read through, kept the connection looking alive and
    tornado closed it: the next request down it got no answer (through the proxy, the hub's 503 page)."""
    url = urlparse(base)
    path, headers = ("/sia/query?POS=" + "x" * MAX_HEADER_BYTES, {}) if what == "url" else \
        ("/sia/query", {"X-Big": "y" * MAX_HEADER_BYTES})
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.request("GET", path, headers=headers)
        first = connection.getresponse()
        first.read()
        assert first.status == (414 if what == "url" else 431)
        if first.will_close:
            return
        connection.request("GET", "/hips/")
        second = connection.getresponse()
        second.read()
        assert second.status == 200
    finally:
        connection.close()
