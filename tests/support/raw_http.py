"""A GET sent exactly as written: the proxy tests send malformed percent-escapes, which requests and urllib
would re-quote or refuse before they leave.

Owns :func:`raw_get`. On the path by tests/conftest.py (tests/support/), so a test writes::

    from raw_http import raw_get

May import the standard library only.
"""

from __future__ import annotations

import http.client

__all__ = ["raw_get"]


def raw_get(host: str, port: int, path: str, headers: dict[str, str] | None = None,
            timeout: float = 30) -> tuple[int, str]:
    """``(status, body)`` of ``GET path`` on ``host:port``, the path and ``headers`` sent as given."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.putrequest("GET", path, skip_accept_encoding=True)
        for key, value in (headers or {}).items():
            connection.putheader(key, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()
