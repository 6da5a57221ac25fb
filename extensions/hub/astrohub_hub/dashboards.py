"""Dask dashboards for their owners (and the groups they share them with) only: the gateway's
``/clusters/<name>/...`` route, authenticated.

Owns :class:`HubTokenAuthenticator` (dask-gateway's ``JupyterHubAuthenticator`` that also takes the
hub token the way JupyterHub's own servers do: ``Authorization: token|Bearer <token>`` or
``?token=``, so a browser or JupyterLab's dashboard check can present it) and
:func:`add_dashboard_routes`, which the local backend calls in its ``setup``.

Upstream dask-gateway proxies ``/services/dask-gateway/clusters/<name>/...`` straight to the
scheduler's dashboard port, with no authentication at all. Here no such proxy route exists: the
scheduler serves its dashboard on a Unix socket in the cluster's private folder
(:mod:`astrohub_hub.dasknode`), the gateway proxy's default route brings ``/clusters/...`` to the
gateway API server, and this handler, after authenticating the caller with the hub, serves the
dashboard over that socket (plain HTTP and Bokeh's websockets) to the cluster's owner, a hub
admin, or a member of the hub group the owner shared it with (:mod:`astrohub_hub.gateway_sharing`): a member's
session older than ``HubTokenAuthenticator.sharing_recheck_seconds`` is asked of the hub again with its own token
(:meth:`HubTokenAuthenticator.refreshed`), and a member's open websocket is closed (1008) once they may no longer
use the cluster (unshared, they or the cluster's owner left the group, token revoked).
On Kubernetes (``AstroKubeBackend``) the same route serves the scheduler Service's dashboard port
over HTTP: the chart sends ``/services/dask-gateway/clusters/`` to the API server ahead of dask-gateway's own per-cluster Traefik routes, and a NetworkPolicy admits only the API
server to that port (docs/deploy-kubernetes.md). Anyone else gets 404 (the same answer as for a cluster that does not exist, so names are
not confirmed). A browser without credentials (a ``GET`` asking for HTML, as the Dask sidebar's
frames do) signs in through the hub's OAuth, as JupyterHub's own services do: it is sent to the
hub's ``/hub/api/oauth2/authorize`` and comes back at ``/services/dask-gateway/oauth_callback``,
where the code is exchanged for a token and the gateway's session cookie is set; any other caller
without credentials gets 401. The caller's ``Authorization`` and
``Cookie`` headers are not passed on to the scheduler (an admin's token must not reach a user's
process). May import aiohttp, dask-gateway-server and this package.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from urllib.parse import quote, urlencode
from typing import Any

import aiohttp
from aiohttp import web

from astrohub_hub.dasknode import SCHEDULER_SOCKET
from astrohub_hub.gateway_sharing import (SHARING_SETTING, SharingUser, may_manage, may_use, may_use_now,
                                          shared_with)

from dask_gateway_server.auth import JupyterHubAuthenticator, UserCache, unauthorized
from traitlets import Bool, Dict, Float, List, Unicode, default

__all__ = ["HubTokenAuthenticator", "add_dashboard_routes", "dashboard_socket", "dashboard_target"]

_HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "host", "content-length",
}
#: Request headers never forwarded to a user's scheduler (the caller's credentials).
_PRIVATE = {"authorization", "cookie"}
_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=10, sock_read=300)
_STATE_COOKIE = "astrohub-dashboard-oauth-state"


class _TokenRequest:
    """What ``JupyterHubAuthenticator.authenticate`` reads of a request, for a token we obtained."""

    def __init__(self, token: str) -> None:
        self.headers = {"Authorization": f"jupyterhub {token}"}
        self.query: dict[str, str] = {}


class FreshUserCache(UserCache):
    """dask-gateway's cache of authenticated users (by session cookie), keeping the newest answer of the hub.

    Upstream's ``put`` keeps the first user record cached under a name until it expires and hands its cookie to
    every later sign-in of that name, so a session that authenticated again still read the groups of the first
    sign-in (up to ``cache_max_age``): a user added to a group was refused a cluster shared with it, one who left
    it still reached it.
    """

    def put(self, user):
        cookie = self.name_to_cookie.get(user.name)
        if cookie is None:
            return super().put(user)
        self.cookie_to_user[cookie] = (time.monotonic(), user)
        return cookie


class HubTokenAuthenticator(JupyterHubAuthenticator):
    """``JupyterHubAuthenticator`` reading the hub token also from ``token``/``Bearer`` headers and ``?token=``,
    whose users are :class:`~astrohub_hub.gateway_sharing.SharingUser` (members of a cluster's group may use it)."""

    cluster_sharing = Bool(
        True, help="Whether owners may share their Dask clusters with their hub groups, whose members may then "
        "connect to them and open their dashboards (astrohub_hub.gateway_sharing); "
        "daskGateway.server.clusterSharing.",
    ).tag(config=True)

    cluster_sharing_setting = Unicode(
        SHARING_SETTING["kubernetes"], help="Where this deployment's operator turns cluster sharing on, as the "
        "refusal of a share names it while it is off (astrohub_hub.gateway_sharing.SHARING_SETTING of the hub "
        "settings' mode; set by configure_gateway and configure_gateway_kubernetes).",
    ).tag(config=True)

    sharing_recheck_seconds = Float(
        5.0, min=0.0, help="How old a session's sign-in with the hub may be when only the group a cluster is shared "
        "with lets its user in (its dashboard, also an open one): an older one is asked of the hub again with the "
        "session's own token, so a member who left the group, or whose token was revoked, loses a shared dashboard "
        "within this time rather than dask-gateway's cache_max_age (300 s). Owners and admins are not asked again. "
        "Also how long the hub's answer about a shared cluster's owner's groups is kept (groups_of): members lose "
        "the cluster within this time of its owner leaving the group. "
        "daskGateway.server.sharingRecheckSeconds.",
    ).tag(config=True)

    usage_readers = List(
        Unicode(), help="Gateway user names (``service:<name>`` for a hub service) that may read any user's "
        "Dask usage at ``/usage?user=<name>`` (astrohub_hub.gateway_usage); read-only.",
    ).tag(config=True)

    #: Owners' groups as the hub last answered (:meth:`groups_of`), with when (``time.monotonic()``); memory only.
    _owner_groups = Dict()

    @default("cache")
    def _default_cache(self) -> UserCache:
        return FreshUserCache(max_age=self.cache_max_age)

    async def groups_of(self, name: str, fresh: bool = False) -> frozenset[str] | None:
        """The hub groups of user ``name`` now (a cluster's owner: is she still in the group she shared it with?),
        asked with the gateway's own token (its role: ``read:users:name`` and ``read:users:groups``,
        ``astrohub_hub.configure.GATEWAY_SCOPES``) and kept ``sharing_recheck_seconds`` (``fresh``: asked again
        anyway); an empty set for a user the hub no longer has; None when the hub cannot answer (unreachable, or the
        token lacks the scopes), which refuses members (:func:`~astrohub_hub.gateway_sharing.owner_in_group`)."""
        known = self._owner_groups.get(name)
        if not fresh and known is not None and time.monotonic() - known[0] <= self.sharing_recheck_seconds:
            return known[1]
        url = f"{self.jupyterhub_api_url.rstrip('/')}/users/{quote(name, safe='')}"
        try:
            async with self.session.get(url, headers={"Authorization": f"token {self.jupyterhub_api_token}"},
                                        ssl=self.ssl_context, timeout=aiohttp.ClientTimeout(total=10)) as resp:
                if resp.status == 404:
                    groups: frozenset[str] = frozenset()
                elif resp.status >= 400:
                    self.log.warning("The hub refused the owner %s's groups (HTTP %d): members of groups her "
                                     "clusters are shared with are refused until it answers", name, resp.status)
                    return None
                else:
                    groups = frozenset((await resp.json()).get("groups") or ())
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError, ValueError) as exc:
            self.log.warning("Could not ask the hub about the owner %s's groups (%s): members of groups her "
                             "clusters are shared with are refused until it answers", name, exc)
            return None
        self._owner_groups[name] = (time.monotonic(), groups)
        return groups

    async def authenticate(self, request: web.Request):
        """dask-gateway's check, except that a token the hub does not know (a typo, an expired or revoked one),
        which the hub answers 403, is a 401 asking for a token, not dask-gateway's 500 "Permission failure"."""
        try:
            user = await super().authenticate(request)
        except web.HTTPInternalServerError as exc:
            if "Permission failure" not in (exc.reason or ""):
                raise
            raise unauthorized("jupyterhub") from None
        return SharingUser(user.name, groups=user.groups, admin=user.admin, sharing=self.cluster_sharing,
                           hub_token=self.get_token(request))

    async def refreshed(self, user: Any) -> Any:
        """``user`` as the hub answers now, if their sign-in is older than ``sharing_recheck_seconds`` (the session
        kept in the cache gets the answer too); None when the hub no longer accepts their token."""
        token = getattr(user, "hub_token", None)
        if not token or time.monotonic() - user.signed_in <= self.sharing_recheck_seconds:
            return user
        newest = self.cache.get(self.cache.name_to_cookie.get(user.name))  # another request's newer answer
        if isinstance(newest, SharingUser) and time.monotonic() - newest.signed_in <= self.sharing_recheck_seconds:
            return newest
        try:
            fresh = await self.authenticate(_TokenRequest(token))
        except web.HTTPUnauthorized:
            return None
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError, web.HTTPInternalServerError) as exc:
            # the hub cannot answer (restarting): the session's answer stands, as for everyone, until cache_max_age
            self.log.warning("Could not ask the hub again about %s's groups: %s", user.name, exc)
            return user
        self.cache.put(fresh)
        return fresh

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
        {"error": f"no Dask cluster {name!r} of yours or shared with your hub groups is running (list yours with "
                  f"Gateway().list_clusters(), those shared with you with platform_lib.gateway.shared_clusters())"},
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


async def _proxy(request: web.Request, socket_path: str, path: str, allowed: Any = None) -> web.StreamResponse:
    # A Unix socket's path may hold only 107 bytes: reach a deeper one through its folder's descriptor.
    folder = os.open(os.path.dirname(socket_path), os.O_PATH | os.O_DIRECTORY)
    try:
        short = f"/proc/self/fd/{folder}/{os.path.basename(socket_path)}"
        return await _proxy_to(request, path, aiohttp.UnixConnector(path=short), "http://dask-dashboard", allowed)
    finally:
        os.close(folder)


async def _until_refused(allowed: Any, period: float) -> None:
    """Return once ``allowed()`` says no, asking every ``period`` seconds."""
    while True:
        await asyncio.sleep(period)
        if not await allowed():
            return


async def _proxy_to(request: web.Request, path: str, connector: aiohttp.BaseConnector,
                    base: str, allowed: Any = None) -> web.StreamResponse:
    """Proxy ``request`` to ``base + path``; an open websocket is closed once ``allowed()`` (asked every
    ``sharing_recheck_seconds``, when given: a member's access) says no."""
    query = {k: v for k, v in request.query.items() if k != "token"}
    url = base.rstrip("/") + path
    async with aiohttp.ClientSession(connector=connector, timeout=_TIMEOUT, auto_decompress=False) as session:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            # Bokeh's page asks for subprotocols ("bokeh", its session token): the scheduler picks one and the
            # browser refuses an answer that names none ("Could not open websocket": a blank dashboard), so
            # they are asked of the scheduler and its choice given back; aiohttp makes the handshake's own headers
            protocols = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
            headers = {k: v for k, v in _forwarded_headers(request.headers).items()
                       if not k.lower().startswith("sec-websocket-")}
            async with session.ws_connect(url, params=query, headers=headers, protocols=protocols) as upstream:
                downstream = web.WebSocketResponse(protocols=(upstream.protocol,) if upstream.protocol else ())
                await downstream.prepare(request)
                tasks = [asyncio.ensure_future(_pump(downstream, upstream)),
                         asyncio.ensure_future(_pump(upstream, downstream))]
                if allowed is not None:
                    period = max(request.app["authenticator"].sharing_recheck_seconds, 1.0)
                    tasks.append(asyncio.ensure_future(_until_refused(allowed, period)))
                done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in pending:
                    task.cancel()
                if allowed is not None and tasks[-1] in done:  # a member's access ended: say so (1008, policy)
                    request.app["log"].info("Closed a dashboard websocket of cluster %s: access ended",
                                            request.match_info.get("cluster_name"))
                    await downstream.close(code=aiohttp.WSCloseCode.POLICY_VIOLATION,
                                           message=b"your access to this Dask cluster ended")
                else:
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


async def dashboard_target(backend: Any, name: str, user: Any, owner_in: bool = False) -> tuple[str, str] | None:
    """Where the dashboard of cluster ``name`` is, if ``user`` may use it (its owner, an admin, or a member of the
    group it is shared with while its owner is in it, ``owner_in``: :func:`~astrohub_hub.gateway_sharing.may_use`);
    else None.

    ``("unix", socket path)`` on the local backends (a DB backend: the socket in the cluster's
    private folder), ``("http", base URL)`` on Kubernetes (the scheduler Service's dashboard port,
    ``cluster.dashboard_address``, which the chart's NetworkPolicy opens to the gateway API alone).
    """
    db = getattr(backend, "db", None)
    if db is not None:
        cluster = db.get_cluster(name)
        if cluster is None or not may_use(user, cluster, owner_in):
            return None
        workdir = (cluster.state or {}).get("workdir")
        socket_path = dashboard_socket(workdir) if workdir else ""
        return ("unix", socket_path) if socket_path and os.path.exists(socket_path) else None
    cluster = await backend.get_cluster(name)
    if cluster is None or not may_use(user, cluster, owner_in):
        return None
    address = getattr(cluster, "dashboard_address", "") or ""
    return ("http", address) if address.startswith(("http://", "https://")) else None


async def _user_now(request: web.Request, name: str, user: Any) -> tuple[Any, bool]:
    """(``user`` if they may use cluster ``name`` now, else None; whether only its group could let them in).

    Its owner and admins as they are; anyone else as the hub answers now, when the cluster is shared and their
    session's sign-in is older than ``sharing_recheck_seconds`` (:meth:`HubTokenAuthenticator.refreshed`), and only
    while the cluster's owner is in the group too (:func:`~astrohub_hub.gateway_sharing.may_use_now`).
    """
    cluster = await request.app["backend"].get_cluster(name)
    if user is None or cluster is None:
        return None, False
    if may_manage(user, cluster):
        return user, False
    authenticator = request.app["authenticator"]
    if shared_with(cluster):
        user = await authenticator.refreshed(user)
    return (user if user is not None and await may_use_now(authenticator, user, cluster) else None), True


async def _serve(request: web.Request) -> web.StreamResponse:
    name = request.match_info["cluster_name"]
    user, member = await _user_now(request, name, request["user"])
    target = None if user is None else await dashboard_target(request.app["backend"], name, user, owner_in=member)
    if target is None:
        return _not_found(name)
    allowed = None
    if member:  # an open websocket of theirs lasts while the group lets them in

        async def allowed() -> bool:
            nonlocal user
            user, _ = await _user_now(request, name, user)
            return user is not None

    path = "/" + request.match_info.get("tail", "")
    kind, where = target
    try:
        if kind == "unix":
            return await _proxy(request, where, path, allowed)
        return await _proxy_to(request, path, aiohttp.TCPConnector(), where, allowed)
    except (aiohttp.ClientError, OSError) as exc:
        request.app["log"].info("Dashboard of cluster %s not reachable: %s", name, exc)
        return _not_found(name)


def _prefix(request: web.Request) -> str:
    """The gateway's public path prefix (``/services/dask-gateway``), without a trailing slash: the
    built-in proxy's (local backends), else the one Traefik stripped (``X-Forwarded-Prefix``, Kubernetes)."""
    proxy = getattr(request.app["backend"], "proxy", None)
    if proxy is not None:
        return proxy.prefix.rstrip("/")
    return request.headers.get("X-Forwarded-Prefix", "/services/dask-gateway").split(",")[0].strip().rstrip("/")


def _sign_in(request: web.Request) -> web.Response:
    """Send a browser to the hub's OAuth authorization, to come back to ``request``'s page."""
    authenticator = request.app["authenticator"]
    prefix = _prefix(request)
    service = authenticator.jupyterhub_service_name or "dask-gateway"
    base = prefix[: -len(f"/services/{service}")] if prefix.endswith(f"/services/{service}") else ""
    state = secrets.token_urlsafe(24)
    query = urlencode({
        "client_id": f"service-{service}",
        "redirect_uri": f"{prefix}/oauth_callback",
        "response_type": "code",
        "state": state,
    })
    response = web.Response(status=302, headers={"Location": f"{base}/hub/api/oauth2/authorize?{query}"})
    target = prefix + request.rel_url.path
    if request.rel_url.query_string:
        target += "?" + request.rel_url.query_string
    response.set_cookie(_STATE_COOKIE, f"{state} {target}", path=f"{prefix}/", httponly=True,
                        max_age=600, samesite="Lax")
    return response


async def _oauth_callback(request: web.Request) -> web.Response:
    """The hub's OAuth redirect: exchange the code for a token, set the gateway's session cookie."""
    authenticator = request.app["authenticator"]
    prefix = _prefix(request)
    saved_state, _, target = request.cookies.get(_STATE_COOKIE, "").partition(" ")
    code, state = request.query.get("code"), request.query.get("state")
    if not (code and state and saved_state and secrets.compare_digest(state, saved_state)):
        return web.json_response(
            {"error": "this sign-in link is stale or was not started here; open the dashboard link again"},
            status=400,
        )
    service = authenticator.jupyterhub_service_name or "dask-gateway"
    form = {
        "client_id": f"service-{service}",
        "client_secret": authenticator.jupyterhub_api_token,
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": f"{prefix}/oauth_callback",
    }
    url = f"{authenticator.jupyterhub_api_url.rstrip('/')}/oauth2/token"
    async with authenticator.session.post(url, data=form, ssl=authenticator.ssl_context) as answer:
        if answer.status >= 400:
            return web.json_response({"error": "the hub refused the sign-in code; open the dashboard link again"},
                                     status=403)
        token = (await answer.json()).get("access_token", "")
    try:
        user = await authenticator.authenticate(_TokenRequest(token))
    except web.HTTPUnauthorized:
        return web.json_response({"error": "the hub's token does not give access to dask-gateway"}, status=403)
    if isinstance(user, tuple):
        user = user[0]
    if not target.startswith(f"{prefix}/clusters/"):
        target = f"{prefix}/api/v1/clusters/"
    response = web.Response(status=302, headers={"Location": target})
    response.set_cookie(authenticator.cookie_name, authenticator.cache.put(user),
                        max_age=authenticator.cache_max_age * 2, path=f"{prefix}/", httponly=True)
    response.del_cookie(_STATE_COOKIE, path=f"{prefix}/")
    return response


def _wants_page(request: web.Request) -> bool:
    return request.method == "GET" and "text/html" in request.headers.get("Accept", "")


async def _dashboard(request: web.Request) -> web.StreamResponse:
    authenticator = request.app["authenticator"]
    try:
        return await authenticator.authenticate_and_handle(request, _serve)
    except web.HTTPUnauthorized:
        if _wants_page(request) and "token" not in request.query:
            return _sign_in(request)
        return web.json_response(
            {"error": "sign in first: send your hub token (Authorization: token <token>, or ?token=<token>)"},
            status=401, headers={"WWW-Authenticate": "token"},
        )


def add_dashboard_routes(app: web.Application) -> None:
    """Serve ``/clusters/<name>/<path>`` (every method, websockets too) to the cluster's owner, an admin, or a
    member of the hub group it is shared with."""
    app.router.add_get("/oauth_callback", _oauth_callback)
    app.router.add_route("*", "/clusters/{cluster_name}", _dashboard)
    app.router.add_route("*", "/clusters/{cluster_name}/{tail:.*}", _dashboard)
