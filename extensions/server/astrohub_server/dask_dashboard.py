"""The Dask sidebar's dashboard check, signed in to the platform's gateway with the server's own token.

The platform's gateway serves a cluster's dashboard (``<gateway>/clusters/<name>/...``) only to its
owner (``astrohub_hub.dashboards``). dask_labextension's ``DaskDashboardCheckHandler`` asks the
dashboard for ``individual-plots.json`` from this server, without credentials, so it would call
every gateway dashboard inactive. This subclass (same name, same route) adds ``?token=<this
server's hub token>`` to the check when the URL is under the gateway's public address
(``DASK_GATEWAY__PUBLIC_ADDRESS``, set by the hub) and removes it again from the answer, so the
token never reaches the browser (whose frames sign in to the gateway through the hub's OAuth).
Imported on the sidebar's first request (:mod:`astrohub_server.dask_sidebar`). May import
dask_labextension, tornado and the standard library.
"""

from __future__ import annotations

import os
from urllib import parse

from dask_labextension.dashboardhandler import DaskDashboardCheckHandler as _Check

__all__ = ["DaskDashboardCheckHandler"]


class DaskDashboardCheckHandler(_Check):
    """dask_labextension's check, with this server's hub token for the platform gateway's dashboards."""

    _added = ""

    async def get(self, url: str) -> None:
        gateway = os.environ.get("DASK_GATEWAY__PUBLIC_ADDRESS", "").rstrip("/")
        token = os.environ.get("JUPYTERHUB_API_TOKEN", "")
        plain = parse.unquote(url)
        if gateway and token and plain.startswith(f"{gateway}/clusters/") and "?" not in plain:
            self._added = f"?token={token}"
            url = plain + self._added
        return await super().get(url)

    def finish(self, chunk=None):
        if self._added and isinstance(chunk, (str, bytes)):
            added = self._added if isinstance(chunk, str) else self._added.encode()
            chunk = chunk.replace(added, type(added)())
        return super().finish(chunk)
