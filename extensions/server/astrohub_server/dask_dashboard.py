"""The Dask sidebar's dashboard check and dashboard proxy, signed in to the platform's gateway with the server's
own token.

The platform's gateway serves a cluster's dashboard (``<gateway>/clusters/<name>/...``) only to its
owner (``astrohub_hub.dashboards``). dask_labextension's ``DaskDashboardCheckHandler`` asks the
dashboard for ``individual-plots.json`` from this server, without credentials, so it would call
every gateway dashboard inactive. This subclass (same name, same route) adds ``?token=<this
server's hub token>`` to the check when the URL is under the gateway's public address
(``DASK_GATEWAY__PUBLIC_ADDRESS``, set by the hub) and removes it again from the answer, so the
token never reaches the browser (whose frames sign in to the gateway through the hub's OAuth).
A kernel's ``LocalCluster`` serves its dashboard on a Unix socket in the user's private folder, never on a TCP
port (:mod:`astrohub_server.dask_sockets`), with the link ``<this server's base URL>dask/local/<id>/status``
(``distributed.dashboard.link``, set by that module for the server's kernels): :class:`LocalDashboardHandler`
proxies that route (HTTP and Bokeh's websockets) to ``<folder>/<id>.sock``, for the server's owner only (the
hub signs in no one else), and another user's server looks in its own folder, where there is no such socket
(404). A cluster whose scheduler was given its own preload (replacing the platform's) listens on TCP, and
its link names the port where the id stands (``dask/local/<port>/status``, :data:`~astrohub_server.dask_sockets.
PORT_ROUTE`): :class:`LocalPortDashboardHandler` sends that on to the server's own ``proxy/<port>/`` (which
serves only ports its user listens on, :mod:`astrohub_server.proxyports`), where the link, the sidebar's panes
and Bokeh's websocket work; the route answered 404 and the sidebar stayed "not connected". The check asks such a link's socket itself (:func:`local_dashboard_socket`; asking the hub's URL without
credentials got its login page, "inactive"), and the answer names the link again, so the sidebar shows it.

When a cluster is picked in the sidebar's cluster list (a notebook's cluster is, as soon as it is listed),
JupyterLab shows its dashboard through ``dask/dashboard/<id>/<path>`` of this server instead.
dask_labextension's ``DaskDashboardHandler`` proxies that to the dashboard link's host and port but drops its
path, so for a gateway cluster it asked the hub for ``/individual-plots.json`` and the sidebar stayed "not
connected". This module's subclass (same name, same route) proxies a gateway cluster's dashboard to
``<DASK_GATEWAY__ADDRESS>/clusters/<name>/<path>`` with this server's hub token, instead of the browser's
cookies; other clusters as before (a ``LocalCluster`` the sidebar makes itself, when no gateway is configured,
is shown through ``dask/local/<id>/``, its link, only when pasted in the sidebar's box).

A path under ``dask/dashboard/`` or ``dask/local/`` that names no dashboard (no cluster id, one this server does not
know, a stopped kernel cluster's socket) got Jupyter Server's full HTML 404 page, in a pane of the sidebar a few
hundred pixels wide: :func:`write_no_dashboard` answers it 404 with a short page (JSON unless HTML is asked for)
naming the path and the dashboards this server shows, ``dask/dashboard/<id>/status`` of each cluster the sidebar
lists (:class:`NoDashboardHandler`, the route after the others, and the proxies' own 404s).

Imported on the sidebar's first request (:mod:`astrohub_server.dask_sidebar`, which also routes ``dask/local/``
here). May import dask_labextension, jupyter_server_proxy, tornado, :mod:`astrohub_server.dask_sockets` and the
standard library.
"""

from __future__ import annotations

import html
import json
import os
import re
from urllib import parse

from dask_labextension.dashboardhandler import DaskDashboardCheckHandler as _Check
from dask_labextension.dashboardhandler import DaskDashboardHandler as _Proxy
from dask_labextension.dashboardhandler import _normalize_dashboard_link as _normalize
from dask_labextension.manager import manager
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from jupyter_server_proxy.handlers import ProxyHandler
from jupyter_server_proxy.unixsock import UnixResolver
from tornado import web
from tornado.simple_httpclient import SimpleAsyncHTTPClient

from astrohub_server.dask_sockets import FOLDER_ENV, ROUTE, socket_path

__all__ = ["DaskDashboardCheckHandler", "DaskDashboardHandler", "LocalDashboardHandler", "LocalPortDashboardHandler",
           "NoDashboardHandler", "gateway_dashboard_target", "local_dashboard_socket", "write_no_dashboard"]

_LOCAL = re.compile(ROUTE + "$")  # dask/local/<id>/<path>: a dashboard on a socket of the user's (dask_sockets)


def local_dashboard_socket(link: str, base_url: str, environ=os.environ) -> str | None:
    """The socket of the dashboard this server shows at ``link``, or None.

    ``link`` is ``<base_url>dask/local/<id>/<path>`` (relative, as ``distributed.dashboard.link`` makes it for a
    kernel's ``LocalCluster``, or on any host); the socket is ``<id>.sock`` in this user's dashboard folder.

    >>> env = {"ASTROHUB_DASK_DASHBOARDS": "/s/ann/dask-x"}
    >>> local_dashboard_socket("/user/ann/dask/local/401234/status", "/user/ann/", env)
    '/s/ann/dask-x/401234.sock'
    >>> local_dashboard_socket("https://hub.example/user/ann/dask/local/401234/", "/user/ann/", env)
    '/s/ann/dask-x/401234.sock'
    >>> local_dashboard_socket("/user/ben/dask/local/401234/status", "/user/ann/", env) is None
    True
    """
    path = parse.urlparse(link).path
    if not base_url.endswith("/") or not path.startswith(base_url):
        return None
    found = _LOCAL.match(path[len(base_url):])
    if found is None or FOLDER_ENV not in environ:
        return None
    return socket_path(found[1], environ)


def write_no_dashboard(handler: web.RequestHandler, why: str) -> None:
    """Answer ``handler``'s request 404: ``why`` there is no dashboard at its path, and the dashboards this server
    shows (each cluster the sidebar lists: its name and ``<base>dask/dashboard/<id>/status``). JSON ``{"message",
    "path", "dashboards": [{"name", "url"}]}``, or a short HTML page when the client asks for HTML (a browser, the
    sidebar's panes)."""
    base = handler.settings.get("base_url", "/")
    shown = [{"name": model.get("name") or model["id"], "url": url_path_join(base, "dask/dashboard", model["id"], "status")}
             for model in manager.list_clusters()]
    path = handler.request.path
    message = f"no Dask dashboard at {path}: {why}"
    if shown:
        message += "; this server shows " + ", ".join(f"{d['name']} at {d['url']}" for d in shown)
    else:
        message += "; this server shows no Dask cluster now: start one in the Dask sidebar or a notebook"
    handler.clear()
    handler.set_status(404)
    if "text/html" in handler.request.headers.get("Accept", ""):
        handler.set_header("Content-Type", "text/html; charset=UTF-8")
        items = "".join(f'<li><a href="{html.escape(d["url"])}" target="_top">{html.escape(d["name"])}</a></li>'
                        for d in shown)
        handler.finish(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>No Dask dashboard</title></head>"
            f"<body style=\"font-family: sans-serif\"><p>No Dask dashboard at <code>{html.escape(path)}</code>: "
            f"{html.escape(why)}.</p>"
            + (f"<p>The dashboards this server shows:</p><ul>{items}</ul>" if shown else
               "<p>This server shows no Dask cluster now: start one in the Dask sidebar or a notebook.</p>")
            + "</body></html>")
    else:
        handler.set_header("Content-Type", "application/json")
        handler.finish(json.dumps({"message": message, "path": path, "dashboards": shown}))


def _refused_404(status_code: int, kwargs: dict) -> bool:
    """Whether a handler's error is its own 404 (an HTTPError it raised: no such cluster or socket)."""
    error = (kwargs.get("exc_info") or (None, None, None))[1]
    return status_code == 404 and isinstance(error, web.HTTPError)


class NoDashboardHandler(JupyterHandler):
    """``<base>dask/dashboard/<anything no other route takes>`` and ``dask/local/<...>``: 404, naming the path and
    the dashboards this server shows (:func:`write_no_dashboard`), whatever the method."""

    def decode_argument(self, value: bytes, name: str | None = None) -> str:
        return value.decode("utf-8", "replace")  # only shown: a path not UTF-8 (`dask/dashboard/%FF`) is still a 404

    @web.authenticated
    def get(self, kind: str, rest: str) -> None:
        if kind == "local":
            why = "a kernel cluster's dashboard is dask/local/<its six-digit id>/ (or <its port>/)"
        elif not rest.strip("/"):
            why = "a dashboard is dask/dashboard/<cluster id>/<page>"
        else:
            why = "no cluster has that id (has it stopped?)"
        write_no_dashboard(self, why)

    post = put = delete = patch = head = options = get


async def _fetch_from_socket(sock: str, path: str):
    """``GET <path>`` of the HTTP server on the Unix socket ``sock``; its response, whatever its code."""
    client = SimpleAsyncHTTPClient(force_instance=True, resolver=UnixResolver(sock))
    try:
        return await client.fetch(f"http://localhost{path}", raise_error=False, request_timeout=20)
    finally:
        client.close()


class DaskDashboardCheckHandler(_Check):
    """dask_labextension's check, with this server's hub token for the platform gateway's dashboards, and asked
    of the socket itself for a kernel's ``LocalCluster`` shown through this server."""

    _added = ""

    @web.authenticated
    async def get(self, url: str) -> None:
        gateway = os.environ.get("DASK_GATEWAY__PUBLIC_ADDRESS", "").rstrip("/")
        token = os.environ.get("JUPYTERHUB_API_TOKEN", "")
        plain = parse.unquote(url)
        local = local_dashboard_socket(plain, self.base_url) if "?" not in plain else None
        if local is not None:
            # <hub>/user/<name>/dask/local/<id>/ answers a browser signed in to the hub, not this server's own
            # request (without credentials: the hub's login page, so "inactive"); the dashboard is on a socket here
            return await self._check_local(local, _normalize(plain, self.request))
        if gateway and token and plain.startswith(f"{gateway}/clusters/") and "?" not in plain:
            self._added = f"?token={token}"
            url = plain + self._added
        return await super().get(url)

    async def _check_local(self, sock: str, link: str) -> None:
        try:
            answer = await _fetch_from_socket(sock, "/individual-plots.json")
            plots = json.loads(answer.body) if answer.code == 200 else None
        except (OSError, ValueError):  # no such socket (a stopped cluster), or not a dashboard
            plots = None
        if isinstance(plots, dict):
            self.finish(json.dumps({"url": link, "isActive": True, "effectiveUrl": None, "plots": plots}))
        else:
            self.finish(json.dumps({"url": link, "isActive": False, "plots": {}}))

    def finish(self, chunk=None):
        if self._added and isinstance(chunk, (str, bytes)):
            added = self._added if isinstance(chunk, str) else self._added.encode()
            chunk = chunk.replace(added, type(added)())
        return super().finish(chunk)


class LocalDashboardHandler(ProxyHandler):
    """``<base>dask/local/<id>/<path>``: the dashboard (HTTP and websockets) on the socket ``<id>.sock`` of this
    user's dashboard folder (:mod:`astrohub_server.dask_sockets`); 404 when there is none."""

    unix_socket: str | None = None

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("host_allowlist", ["localhost"])
        super().__init__(*args, **kwargs)

    def _socket(self, ident: str) -> str:
        sock = socket_path(ident) if FOLDER_ENV in os.environ else ""
        if not sock or not os.path.exists(sock):
            raise web.HTTPError(404, f"no Dask dashboard {ident} of this server's user (has its cluster stopped?)")
        self.unix_socket = sock
        return sock

    def write_error(self, status_code: int, **kwargs) -> None:
        if _refused_404(status_code, kwargs):
            return write_no_dashboard(self, f"no kernel cluster of this server's user has the dashboard "
                                            f"{self.path_kwargs.get('ident')} (has it stopped?)")
        return super().write_error(status_code, **kwargs)

    async def http_get(self, ident, proxied_path):
        return await self.proxy(ident, proxied_path)

    async def open(self, ident, proxied_path):
        self._socket(ident)
        return await super().proxy_open("localhost", 80, proxied_path)

    def post(self, ident, proxied_path):
        return self.proxy(ident, proxied_path)

    def put(self, ident, proxied_path):
        return self.proxy(ident, proxied_path)

    def delete(self, ident, proxied_path):
        return self.proxy(ident, proxied_path)

    def head(self, ident, proxied_path):
        return self.proxy(ident, proxied_path)

    def patch(self, ident, proxied_path):
        return self.proxy(ident, proxied_path)

    def options(self, ident, proxied_path):
        return self.proxy(ident, proxied_path)

    def proxy(self, ident, proxied_path):
        self._socket(ident)
        return super().proxy("localhost", 80, proxied_path or "/")


class LocalPortDashboardHandler(JupyterHandler):
    """``<base>dask/local/<port>/<path>``: a kernel cluster's dashboard on TCP (its scheduler given its own preload),
    sent on to ``<base>proxy/<port>/<path>`` with its query (jupyter-server-proxy, this user's own ports only)."""

    @web.authenticated
    def get(self, port: str, proxied_path: str) -> None:
        if not 0 < int(port) < 65536:
            raise web.HTTPError(404, f"no Dask dashboard on port {port}: a TCP port is 1 to 65535")
        query = f"?{self.request.query}" if self.request.query else ""
        self.redirect(url_path_join(self.base_url, "proxy", port) + (proxied_path or "/") + query)

    head = get


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

    def write_error(self, status_code: int, **kwargs) -> None:
        if _refused_404(status_code, kwargs):  # dask_labextension's "Dask cluster <id> not found"
            return write_no_dashboard(self, f"no cluster has the id {self.path_kwargs.get('cluster_id')} "
                                            "(has it stopped?)")
        return super().write_error(status_code, **kwargs)

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
