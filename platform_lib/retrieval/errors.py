"""The retrieval errors and warning: :class:`RetrievalError` (with the service URL, the reason and the
HTTP code), :class:`RetrievalInputError` (an argument refused before any service is asked) and
:class:`TruncatedResultWarning` (a service stopped at its row limit)."""

from __future__ import annotations

from platform_lib.errors import PlatformError

__all__ = ["RetrievalError", "RetrievalInputError", "TruncatedResultWarning"]


class TruncatedResultWarning(UserWarning):
    """A service answered ``QUERY_STATUS=OVERFLOW``: more rows match than it returned (its ``maxrec``)."""


class RetrievalError(PlatformError):
    """A VO service failed or refused a query.

    Attributes
    ----------
    url : str
        The service (or request) URL.
    reason : str
        The service's own message (``UsageFault: ...`` for IVOA services) or the transport error.
    http_code : int or None
        The HTTP status, when there was a response.
    """

    code = "retrieval-failed"

    def __init__(self, message: str, *, url: str = "", reason: str = "", http_code: int | None = None,
                 code: str | None = None) -> None:
        super().__init__(message, code=code, value=url)
        self.url = url
        self.reason = reason or message
        self.http_code = http_code


class RetrievalInputError(PlatformError, ValueError):
    """An argument refused before any service is asked (a time range that is no dates), naming the argument."""

    code = "bad-argument"
