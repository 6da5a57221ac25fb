"""Dask dashboards for their owners only: the gateway's ``/clusters/<name>/...`` route, authenticated.

Owns :class:`HubTokenAuthenticator` (dask-gateway's ``JupyterHubAuthenticator`` that also takes the
hub token the way JupyterHub's own servers do: ``Authorization: token|Bearer <token>`` or
``?token=``, so a browser or JupyterLab's dashboard check can present it) and
:func:`add_dashboard_routes`, which the local backend calls in its ``setup``.

Upstream dask-gateway proxies ``/services/dask-gateway/clusters/<name>/...`` straight to the
scheduler's dashboard port, with no authentication at all. Here no such proxy route exists: the
scheduler serves its dashboard on a Unix socket in the cluster's private folder
(:mod:`astrohub_hub.dasknode`), the gateway proxy's default route brings ``/clusters/...`` to the
gateway API server, and this handler, after authenticating the caller with the hub, serves the
dashboard over that socket (plain HTTP and Bokeh's websockets) to the cluster's owner or a hub
admin. Anyone else gets 404 (the same answer as for a cluster that does not exist, so names are
not confirmed); a caller without credentials gets 401. The caller's ``Authorization`` and
``Cookie`` headers are not passed on to the scheduler (an admin's token must not reach a user's
process). May import aiohttp, dask-gateway-server and this package.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import aiohttp
from aiohttp import web

from astrohub_hub.dasknode import SCHEDULER_SOCKET

from dask_gateway_server.auth import JupyterHubAuthenticator

__all__ = ["HubTokenAuthenticator", "add_dashboard_routes", "dashboard_socket"]

_HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "host", "content-length",
}
#: Request headers never forwarded to a user's scheduler (the caller's credentials).
_PRIVATE = {"authorization", "cookie"}
_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=10, sock_read=300)


class HubTokenAuthenticator(JupyterHubAuthenticator):
    """``JupyterHubAuthenticator`` reading the hub token also from ``token``/``Bearer`` headers and ``?token=``."""

    def get_token(self, request: web.Request) -> str | None:
        header = request.headers.get("Authorization", "")
        kind, _, value = header.partition(" ")
        if kind.lower() in ("jupyterhub", "token", "bearer") and value.strip():
            return value.strip()
        token = request.query.get("token")
        return token or None


def dashboard_socket(workdir: str) -> str:
    """The scheduler's dashboard socket in the cluster folder ``workdir``."""
    return os.path.join(workdir, SCHEDULER_SOCKET)


def _not_found(name: str) -> web.Response:
    return web.json_response(
        {"error": f"no Dask cluster {name!r} of yours is running (list yours with Gateway().list_clusters())"},
        status=404,
    )


def _forwarded_headers(headers: Any) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP | _PRIVATE}


async def _pump(source: Any, sink: Any) -> None:
    async for msg in source:
        if msg.type == aiohttp.WSMsgType.TEXT:
            await sink.send_str(msg.data)
        elif msg.type == aiohttp.WSMsgType.BINARY:
            await sink.send_bytes(msg.data)
        else:
            break


async def _proxy(request: web.Request, socket_path: str, path: str) -> web.StreamResponse:
    connector = aiohttp.UnixConnector(path=socket_path)
    query = {k: v for k, v in request.query.items() if k != "token"}
    url = "http://dask-dashboard" + path
    async with aiohttp.ClientSession(connector=connector, timeout=_TIMEOUT, auto_decompress=False) as session:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            async with session.ws_connect(url, params=query, headers=_forwarded_headers(request.headers)) as upstream:
                downstream = web.WebSocketResponse()
                await downstream.prepare(request)
                tasks = [asyncio.ensure_future(_pump(downstream, upstream)),
                         asyncio.ensure_future(_pump(upstream, downstream))]
                _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in pending:
                    task.cancel()
                await downstream.close()
                return downstream
        body = await request.read()
        async with session.request(
            request.method, url, params=query, data=body or None,
            headers=_forwarded_headers(request.headers), allow_redirects=False,
        ) as upstream:
            payload = await upstream.read()
            headers = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP}
            return web.Response(status=upstream.status, headers=headers, body=payload)


async def _serve(request: web.Request) -> web.StreamResponse:
    name = request.match_info["cluster_name"]
    user = request["user"]
    backend = request.app["backend"]
    cluster = backend.db.get_cluster(name)
    if cluster is None or not (user.admin or user.name == cluster.username):
        return _not_found(name)
    workdir = (cluster.state or {}).get("workdir")
    socket_path = dashboard_socket(workdir) if workdir else ""
    if not socket_path or not os.path.exists(socket_path):
        return _not_found(name)
    path = "/" + request.match_info.get("tail", "")
    try:
        return await _proxy(request, socket_path, path)
    except (aiohttp.ClientError, OSError) as exc:
        request.app["log"].info("Dashboard of cluster %s not reachable: %s", name, exc)
        return _not_found(name)


async def _dashboard(request: web.Request) -> web.StreamResponse:
    authenticator = request.app["authenticator"]
    try:
        return await authenticator.authenticate_and_handle(request, _serve)
    except web.HTTPUnauthorized:
        return web.json_response(
            {"error": "sign in first: send your hub token (Authorization: token <token>, or ?token=<token>)"},
            status=401, headers={"WWW-Authenticate": "token"},
        )


def add_dashboard_routes(app: web.Application) -> None:
    """Serve ``/clusters/<name>/<path>`` (every method, websockets too) to the cluster's owner or an admin."""
    app.router.add_route("*", "/clusters/{cluster_name}", _dashboard)
    app.router.add_route("*", "/clusters/{cluster_name}/{tail:.*}", _dashboard)
