"""The public proxy answers a request whose path it cannot decode as the client's error, never a 5xx.

configurable-http-proxy decodes each path to find its route and, unguarded, answers a malformed
percent-escape (``/hub/%zz``, a bare ``%``) "500 Internal Server Error". The local platform runs it
under ``platform_lib/local/proxy_guard.js``, which routes such a path by its decodable part and sends it on
unchanged, so that the service that owns it answers (errpages25; it was the proxy's own 400 on the hub's HTML
error page, whatever the service: tests/integration/test_platform_badinput.py has the services' answers).
Raw requests (tests/support/raw_http.py), because ``requests`` would re-quote the bad escapes.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import pyvo
from raw_http import raw_get  # tests/support/, on the path by tests/conftest.py

BAD_PATHS = [
    ("/hub/%zz", 404),  # the hub's own 404 page
    ("/%", 302),  # the hub: to /hub/%
    ("/hub/api/users/%G0", 403),  # the hub's API, in JSON: sign in
    ("/user/someone/lab/tree/%E0%A4%A", 302),  # the hub: that server is not running, to its spawn page
    ("/services/archive/tap/sync?QUERY=%zz", 400),  # the query string is not decoded by the proxy: the archive's
]


def raw_request(platform, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    where = urlsplit(platform.url)
    return raw_get(where.hostname, where.port, path, headers)


@pytest.mark.parametrize(("path", "status"), BAD_PATHS)
def test_malformed_percent_escapes_reach_the_service_that_owns_the_path(platform, path, status):
    answer, body = raw_request(platform, path)
    assert answer == status, (path, answer, body[:300])
    assert "Traceback" not in body and "URIError" not in body


def test_malformed_escape_in_a_websocket_upgrade_is_answered_by_its_route(platform):
    status, body = raw_request(platform, "/user/someone/api/kernels/%zz/channels", {
        "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    })
    assert status == 302, (status, body[:300])  # the hub's: that server is not running


def test_well_formed_escapes_still_reach_their_route(platform):
    # decoded by the proxy to pick the hub's route, then passed on as sent: the hub's own 404, not a 400
    status, body = raw_request(platform, "/hub/no%20such%2Fpage")
    assert status == 404 and "404" in body, (status, body[:300])
    status, body = raw_request(platform, "/hub/login%3Fnext%3D")
    assert status == 404, (status, body[:300])
    status, body = raw_request(platform, "/hub/login?next=%2Fhub%2F")
    assert status == 200 and "<form" in body, (status, body[:300])


def test_a_long_get_reaches_the_archive_through_the_proxy(platform):
    """tap24: node's default limit on a request's line and headers (16 KiB) made the proxy answer a longer GET 431
    with no body before the archive saw it: pyvo's searches (``DALQuery.execute``) send their parameters in the URL,
    and a pyvo user got ``DALServiceError: 431 Client Error`` for a query the archive answers. The proxy now reads
    what the archive reads: a 19 KiB query is answered, a 98 KiB one gets the archive's 414 saying to POST."""
    def query(n_names: int):
        names = ", ".join(f"'ivoa.obscore_{i:05d}'" for i in range(n_names))
        return pyvo.dal.DALQuery(f"{platform.url}services/archive/tap/sync", LANG="ADQL",
                                 QUERY=f"SELECT table_name FROM tap_schema.tables WHERE table_name IN ({names})")

    assert query(700).execute().to_table() is not None  # a GET of 19 KiB: the archive's answer (an empty table)
    with pytest.raises(pyvo.dal.DALQueryError, match="this service reads URLs of up to 65,536 bytes: send the "
                                                     "parameters in the body of a POST"):
        query(3500).execute()  # 98 KiB: the archive's 414 (was node's 431 with no body)
