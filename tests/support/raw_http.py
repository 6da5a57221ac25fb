"""A GET sent exactly as written: the proxy tests send malformed percent-escapes, which requests and urllib
would re-quote or refuse before they leave.

Owns :func:`raw_get`. On the path by tests/conftest.py (tests/support/), so a test writes::

    from raw_http import raw_get

May import the standard library only.
"""

from __future__ import annotations

import http.client

__all__ = ["raw_get"]


class _Latin1Connection(http.client.HTTPConnection):
    """Sends the request line as Latin-1, each character one byte: ``"\\xff"`` in a path is the raw byte 0xFF
    (http.client refuses any character that is not ASCII)."""

    def _encode_request(self, request: str) -> bytes:
        return request.encode("latin-1")


def raw_get(host: str, port: int, path: str, headers: dict[str, str] | None = None,
            timeout: float = 30) -> tuple[int, str]:
    """``(status, body)`` of ``GET path`` on ``host:port``, the path and ``headers`` sent as given (a character
    of ``path`` from U+0080 to U+00FF as that one raw byte)."""
    connection = _Latin1Connection(host, port, timeout=timeout)
    try:
        connection.putrequest("GET", path, skip_accept_encoding=True)
        for key, value in (headers or {}).items():
            connection.putheader(key, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()
