"""The Dask sidebar's dashboard check and dashboard proxy, signed in to the platform's gateway with the server's
own token.

The platform's gateway serves a cluster's dashboard (``<gateway>/clusters/<name>/...``) only to its
owner (``astrohub_hub.dashboards``). dask_labextension's ``DaskDashboardCheckHandler`` asks the
dashboard for ``individual-plots.json`` from this server, without credentials, so it would call
every gateway dashboard inactive. This subclass (same name, same route) adds ``?token=<this
server's hub token>`` to the check when the URL is under the gateway's public address
(``DASK_GATEWAY__PUBLIC_ADDRESS``, set by the hub) and removes it again from the answer, so the
token never reaches the browser (whose frames sign in to the gateway through the hub's OAuth).

When a cluster is picked in the sidebar's cluster list (a notebook's cluster is, as soon as it is listed),
JupyterLab shows its dashboard through ``dask/dashboard/<id>/<path>`` of this server instead.
dask_labextension's ``DaskDashboardHandler`` proxies that to the dashboard link's host and port but drops its
path, so for a gateway cluster it asked the hub for ``/individual-plots.json`` and the sidebar stayed "not
connected". This module's subclass (same name, same route) proxies a gateway cluster's dashboard to
``<DASK_GATEWAY__ADDRESS>/clusters/<name>/<path>`` with this server's hub token, instead of the browser's
cookies; other clusters (a kernel's LocalCluster) are proxied as before.

Imported on the sidebar's first request (:mod:`astrohub_server.dask_sidebar`). May import
dask_labextension, jupyter_server_proxy, tornado and the standard library.
"""

from __future__ import annotations

import os
from urllib import parse

from dask_labextension.dashboardhandler import DaskDashboardCheckHandler as _Check
from dask_labextension.dashboardhandler import DaskDashboardHandler as _Proxy
from dask_labextension.manager import manager
from jupyter_server_proxy.handlers import ProxyHandler

__all__ = ["DaskDashboardCheckHandler", "DaskDashboardHandler", "gateway_dashboard_target"]


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


def gateway_dashboard_target(dashboard_link: str, environ=os.environ) -> tuple[str, int, str] | None:
    """``(host, port, path)`` where this server reaches the gateway dashboard ``dashboard_link``, or None.

    ``dashboard_link`` is ``<DASK_GATEWAY__PUBLIC_ADDRESS>/clusters/<name>/status`` for the platform's
    gateway clusters; the server reaches the same dashboard at ``<DASK_GATEWAY__ADDRESS>/clusters/<name>``
    (on Kubernetes the public address is the hub's URL, the address the gateway's Service). None for any
    other link, or when the gateway's address is not plain HTTP (the proxy speaks only HTTP).

    >>> env = {"DASK_GATEWAY__PUBLIC_ADDRESS": "https://hub.example/services/dask-gateway",
    ...        "DASK_GATEWAY__ADDRESS": "http://gateway:8000"}
    >>> gateway_dashboard_target("https://hub.example/services/dask-gateway/clusters/ns.abc/status", env)
    ('gateway', 8000, '/clusters/ns.abc')
    >>> gateway_dashboard_target("/user/ann/proxy/8787/status", env) is None
    True
    """
    public = environ.get("DASK_GATEWAY__PUBLIC_ADDRESS", "").rstrip("/")
    address = parse.urlparse(environ.get("DASK_GATEWAY__ADDRESS", ""))
    prefix = f"{public}/clusters/"
    if not public or not dashboard_link.startswith(prefix) or address.scheme != "http" or not address.hostname:
        return None
    name = dashboard_link[len(prefix):].split("/")[0]
    if not name:
        return None
    return address.hostname, address.port or 80, f"{address.path.rstrip('/')}/clusters/{name}"


class DaskDashboardHandler(_Proxy):
    """dask_labextension's dashboard proxy, reaching a gateway cluster's dashboard at its own path, signed in."""

    _gateway: tuple[str, int, str] | None = None

    def _target(self, cluster_id: str) -> tuple[str, int, str] | None:
        model = manager.get_cluster(cluster_id)
        self._gateway = gateway_dashboard_target(model["dashboard_link"]) if model else None
        return self._gateway

    def proxy(self, cluster_id, proxied_path):
        target = self._target(cluster_id)
        if target is None:
            return super().proxy(cluster_id, proxied_path)
        host, port, path = target
        return ProxyHandler.proxy(self, host, port, path + proxied_path)

    async def open(self, cluster_id, proxied_path):
        target = self._target(cluster_id)
        if target is None:
            return await super().open(cluster_id, proxied_path)
        host, port, path = target
        return await ProxyHandler.proxy_open(self, host, port, path + proxied_path)

    def _check_host_allowlist(self, host: str) -> bool:
        return (self._gateway is not None and host == self._gateway[0]) or super()._check_host_allowlist(host)

    def proxy_request_headers(self):
        headers = super().proxy_request_headers()
        if self._gateway is not None:
            # the gateway signs the server in with its hub token; the browser's cookies stay here
            for private in ("Cookie", "Authorization"):
                headers.pop(private, None)
            headers["Authorization"] = f"token {os.environ.get('JUPYTERHUB_API_TOKEN', '')}"
        return headers
