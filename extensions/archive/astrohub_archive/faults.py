"""The archive's fault types: what went wrong, with the HTTP status and the IVOA label it is answered with.

Every refusal the service makes is one of these; :meth:`astrohub_archive.base.BaseHandler.write_error`
is the one place that turns them into the protocol's error document (a VOTable with
``QUERY_STATUS=ERROR`` and text ``<label>: <message>``, DALI 1.1 section 4.4). Pure; imports only
``platform_lib.errors``.
"""

from __future__ import annotations

from platform_lib.errors import PlatformError

__all__ = ["ArchiveFault", "UsageFault", "AuthFault", "NotFoundFault", "LimitFault", "ServiceFault",
           "HubUnavailableFault"]


class ArchiveFault(PlatformError):
    """Root of the archive's faults: ``status`` is the HTTP status, ``label`` the IVOA error prefix."""

    status = 400
    label = "UsageFault"
    code = "UsageFault"
    #: Seconds for the ``Retry-After`` header of the answer (None: no header).
    retry_after: int | None = None

    def document_text(self) -> str:
        """``<label>: <message>``, the text of the error document's ``QUERY_STATUS`` INFO."""
        return f"{self.label}: {self}"


class UsageFault(ArchiveFault):
    """A request the protocol does not allow: the message names the parameter and value."""


class LimitFault(UsageFault):
    """A request over one of the service's bounds (size, depth, count, time): the message names the bound."""


class AuthFault(ArchiveFault):
    """The presented token is not valid for this service."""

    status = 403
    label = "AuthenticationFault"
    code = "AuthenticationFault"


class NotFoundFault(ArchiveFault):
    """Nothing of that name visible to the caller (another's job answers the same)."""

    status = 404
    label = "Error"
    code = "NotFound"


class ServiceFault(ArchiveFault):
    """The service cannot answer now (busy, quota of the service, a store unreadable); try later."""

    status = 503
    label = "Error"
    code = "ServiceUnavailable"


class HubUnavailableFault(ServiceFault):
    """The hub did not answer the check of a token (down or restarting): retry shortly; no token still works."""

    retry_after = 30
