"""HTTP sessions for VO clients: timeouts, retries (urllib3 ``Retry``) and the platform token.

:func:`make_session` builds the ``requests.Session`` handed to pyvo. The user's platform token
(``settings.api_token``, JupyterHub's ``JUPYTERHUB_API_TOKEN`` inside the platform) is sent only to
the platform's own hosts (the archive and the hub), never to external services.
"""

from __future__ import annotations

from urllib.parse import urlparse

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

__all__ = ["PlatformSession", "make_session", "DEFAULT_TIMEOUT"]

DEFAULT_TIMEOUT = 60.0


class PlatformSession(requests.Session):
    """A session with a default timeout that adds the platform token for trusted hosts only."""

    def __init__(self, *, token: str = "", trusted_hosts: tuple[str, ...] = (), timeout: float = DEFAULT_TIMEOUT):
        super().__init__()
        self._token = token
        self.trusted_hosts = tuple(h for h in trusted_hosts if h)
        self.timeout = timeout

    def request(self, method, url, *args, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        if self._token and urlparse(url).netloc in self.trusted_hosts:
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("Authorization", f"token {self._token}")
            kwargs["headers"] = headers
        return super().request(method, url, *args, **kwargs)


def make_session(settings=None, *, retries: int = 3, backoff: float = 0.5, timeout: float = DEFAULT_TIMEOUT,
                 token: str | None = None) -> PlatformSession:
    """A session for pyvo: ``retries`` on connection errors and 502/503/504 (GET/HEAD), ``timeout`` seconds.
    With ``retries=0`` an answer that does not come in time is ``requests.ReadTimeout``, as requests' own (it was a
    ``ConnectionError``, "Max retries exceeded ... Read timed out", which a caller could not tell from no server).

    Examples
    --------
    >>> s = make_session(retries=1, timeout=5)
    >>> s.timeout
    5
    """
    trusted: list[str] = []
    if settings is not None:
        for url in (settings.archive_url, settings.hub_api_url):
            if url:
                trusted.append(urlparse(url).netloc)
        if token is None:
            token = settings.api_token
    session = PlatformSession(token=token or "", trusted_hosts=tuple(trusted), timeout=timeout)
    retry = Retry(total=retries, connect=retries, read=retries or False, status=retries, backoff_factor=backoff,
                  status_forcelist=(502, 503, 504), allowed_methods=frozenset({"GET", "HEAD"}),
                  raise_on_status=False)
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
