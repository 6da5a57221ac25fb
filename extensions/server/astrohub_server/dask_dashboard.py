"""The Dask sidebar's dashboard check and dashboard proxy, signed in to the platform's gateway with the server's
own token.

The platform's gateway serves a cluster's dashboard (``<gateway>/clusters/<name>/...``) only to its
owner (``astrohub_hub.dashboards``). dask_labextension's ``DaskDashboardCheckHandler`` asks the
dashboard for ``individual-plots.json`` from this server, without credentials, so it would call
every gateway dashboard inactive. This subclass (same name, same route) adds ``?token=<this
server's hub token>`` to the check when the URL is under the gateway's public address
(``DASK_GATEWAY__PUBLIC_ADDRESS``, set by the hub) and removes it again from the answer, so the
token never reaches the browser (whose frames sign in to the gateway through the hub's OAuth).
A kernel's ``LocalCluster`` has the link ``<this server's base URL>proxy/<port>/status``
(``distributed.dashboard.link``, set by the hub): the browser opens it through jupyter-server-proxy, signed in to
the hub, but the check, asking the hub's URL without credentials, got the hub's login page and called it
inactive. Such a link is checked at the dashboard itself, ``http://127.0.0.1:<port>/``
(:func:`local_dashboard_target`), and the answer names the proxied link again, so the sidebar shows it.

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

import json
import os
import re
from urllib import parse

from dask_labextension.dashboardhandler import DaskDashboardCheckHandler as _Check
from dask_labextension.dashboardhandler import DaskDashboardHandler as _Proxy
from dask_labextension.dashboardhandler import _normalize_dashboard_link as _normalize
from dask_labextension.manager import manager
from jupyter_server_proxy.handlers import ProxyHandler

__all__ = ["DaskDashboardCheckHandler", "DaskDashboardHandler", "gateway_dashboard_target", "local_dashboard_target"]

#: ``proxy/<port>/<path>`` below the server's base URL: jupyter-server-proxy's route to a port of this machine.
_OWN_PROXY = re.compile(r"proxy/(\d{1,5})(/.*)?$")


def local_dashboard_target(link: str, base_url: str) -> str | None:
    """Where this server reaches the dashboard it shows through its own proxy at ``link``, or None.

    ``link`` is ``<base_url>proxy/<port>/<path>`` (relative, as ``distributed.dashboard.link`` makes it for a
    kernel's ``LocalCluster``, or on any host): the dashboard listens on ``<port>`` of this machine (or pod).

    >>> local_dashboard_target("/user/ann/proxy/40123/status", "/user/ann/")
    'http://127.0.0.1:40123/status'
    >>> local_dashboard_target("https://hub.example/user/ann/proxy/40123/", "/user/ann/")
    'http://127.0.0.1:40123/'
    >>> local_dashboard_target("/user/ben/proxy/40123/status", "/user/ann/") is None
    True
    """
    path = parse.urlparse(link).path
    if not base_url.endswith("/") or not path.startswith(base_url):
        return None
    found = _OWN_PROXY.match(path[len(base_url):])
    if found is None or not 0 < int(found[1]) < 65536:
        return None
    return f"http://127.0.0.1:{int(found[1])}{found[2] or '/'}"


class DaskDashboardCheckHandler(_Check):
    """dask_labextension's check, with this server's hub token for the platform gateway's dashboards, and asked
    of the dashboard itself for a kernel's ``LocalCluster`` shown through this server's proxy."""

    _added = ""
    _local: tuple[str, str] | None = None

    async def get(self, url: str) -> None:
        gateway = os.environ.get("DASK_GATEWAY__PUBLIC_ADDRESS", "").rstrip("/")
        token = os.environ.get("JUPYTERHUB_API_TOKEN", "")
        plain = parse.unquote(url)
        local = local_dashboard_target(plain, self.base_url) if "?" not in plain else None
        if gateway and token and plain.startswith(f"{gateway}/clusters/") and "?" not in plain:
            self._added = f"?token={token}"
            url = plain + self._added
        elif local is not None:
            # <hub>/user/<name>/proxy/<port>/ answers a browser signed in to the hub, not this server's own request
            # (dask_labextension asked it without credentials: the hub's login page, so "inactive"); the dashboard
            # listens here, so it is asked directly, and the answer names the link the browser opens.
            self._local = (_normalize(local, self.request), _normalize(plain, self.request))
            url = local
        return await super().get(url)

    def finish(self, chunk=None):
        if self._added and isinstance(chunk, (str, bytes)):
            added = self._added if isinstance(chunk, str) else self._added.encode()
            chunk = chunk.replace(added, type(added)())
        if self._local and isinstance(chunk, str):
            chunk = json.dumps({key: value.replace(*self._local) if key in ("url", "effectiveUrl") and value else value
                                for key, value in json.loads(chunk).items()})
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
