"""Sharing a Dask cluster with a hub group: who may use or manage a cluster, and the gateway routes that share it.

A cluster's owner shares it with one of her hub groups, when starting it (the cluster option ``shared_with``,
:func:`astrohub_hub.gateway.cluster_options`) or later (``PUT <gateway>/api/v1/clusters/<name>/sharing``
``{"group": ...}``; ``DELETE`` unshares). The group is kept in the cluster's options, where dask-gateway itself
keeps them (the local backends' database, the ``DaskCluster`` object on Kubernetes), so it survives a gateway
restart. Who may do what is dask-gateway's own check, ``User.has_permissions(cluster)``, which its routes ask
before they answer: :class:`SharingUser` (the user :class:`~astrohub_hub.dashboards.HubTokenAuthenticator`
returns) answers it for

* using a cluster (its report and TLS credentials, i.e. ``Gateway.connect``, and its dashboard, through the
  same route as the owner's): the owner, a hub admin, or a member of the group the cluster is shared with while
  the owner is in that group too (:func:`owner_in_group`: the hub's answer, asked with the gateway's own token,
  whose role may read users' names and groups only, and kept ``HubTokenAuthenticator.sharing_recheck_seconds``;
  when the hub cannot answer, members are refused). So the share ends when either side leaves the group (a
  workspace member removed, a hub group membership dropped): the members can no longer run code as someone who
  left them;
* managing it (``DELETE`` = stop, ``scale``, ``adapt``, and sharing): the owner or a hub admin only.
  dask-gateway asks the same ``has_permissions`` for both, so :func:`add_sharing_routes` installs a middleware
  that says which one a request asks (:data:`_MANAGING`) and words the refusal: 404 for a cluster the caller
  may not use (the same answer as for no such cluster, as the dashboard route gives), 422 for a member asking to
  manage it (dask-gateway's client shows the server's message for 404, 409 and 422 only; a 403 reaches the user
  as "Forbidden", since the proxies in front rewrite the reason phrase).

Group membership is the hub's: dask-gateway's ``JupyterHubAuthenticator`` reads the caller's groups from the hub
with each authentication. Connecting (``GET /api/v1/clusters/<name>``) always authenticates with the hub, not
from the gateway's session cookie, so leaving the group ends access at the next connection; the dashboard, which
a browser reaches with the session cookie, asks the hub again about a member whose session is older than
``HubTokenAuthenticator.sharing_recheck_seconds`` (5 s, with the session's own hub token, ``SharingUser.hub_token``)
and closes a member's open dashboard websockets once they may no longer use the cluster
(:mod:`astrohub_hub.dashboards`), so it follows within seconds, not dask-gateway's ``cache_max_age`` (300 s). A
client already connected keeps its connection: dask-gateway has one TLS credential per cluster, handed to whoever
may connect, so only stopping the cluster cuts an existing connection (and the TLS key a member was given stays
valid for that cluster until it stops).

``GET <gateway>/api/v1/clusters/<name>/sharing`` answers whoever may use the cluster with its owner, its group and
whether the caller may manage it (``may_manage``): ``platform_lib.gateway`` asks it before a ``GatewayCluster``
stops the cluster, so that a member's ``shutdown()`` is refused with a clear error and a member's ``close()`` only
disconnects (dask-gateway's client logs a refused stop and carries on).
``GET <gateway>/api/v1/shared-clusters/`` lists the running and pending clusters shared with the caller's groups
(other users' clusters, whose owners are still in the group; one's own are in ``/api/v1/clusters/``).
May import aiohttp (and its multidict), dask-gateway-server and ``gateway_usage``.
"""

from __future__ import annotations

import contextvars
import time
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from dask_gateway_server.models import User

from astrohub_hub.gateway_usage import hub_authenticated

__all__ = ["SHARED_WITH", "SHARING_SETTING", "ClusterSharing", "SharingUser", "add_sharing_routes", "may_manage",
           "may_use", "may_use_now", "owner_in_group", "shared_with", "sharing_is_off"]

#: The cluster option (and key of the cluster's options) naming the hub group it is shared with ("" = none).
SHARED_WITH = "shared_with"
#: The setting an operator turns cluster sharing on with, by deployment (``HubSettings.mode``): the local platform
#: writes the hub settings' ``daskGateway.server.clusterSharing`` from astrohub.toml's ``gateway.cluster_sharing``
#: (``platform_lib.local.plan``), the Helm chart from its values. The gateway's refusals name it
#: (:func:`sharing_is_off`).
SHARING_SETTING = {
    "local": "gateway.cluster_sharing in astrohub.toml",
    "kubernetes": "the Helm value jupyterhub.custom.astrohub.daskGateway.server.clusterSharing",
}
#: True while the request being handled asks to manage a cluster (stop, scale, adapt) rather than use it.
_MANAGING: contextvars.ContextVar[bool] = contextvars.ContextVar("astrohub_gateway_managing", default=False)
#: Whether the owner of the cluster the request names is, as the hub answered, in the group it is shared with.
_OWNER_IN_GROUP: contextvars.ContextVar[bool] = contextvars.ContextVar("astrohub_gateway_owner_in_group",
                                                                       default=False)
#: dask-gateway's routes that ask ``has_permissions``: (method, route) -> what a refused caller wanted to do.
_GUARDED = {
    ("GET", "/api/v1/clusters/{cluster_name}"): None,
    ("DELETE", "/api/v1/clusters/{cluster_name}"): "stop",
    ("POST", "/api/v1/clusters/{cluster_name}/scale"): "scale",
    ("POST", "/api/v1/clusters/{cluster_name}/adapt"): "adapt",
}


def shared_with(cluster: Any) -> str:
    """The hub group ``cluster`` (a dask-gateway cluster record) is shared with, or ""."""
    return str((getattr(cluster, "options", None) or {}).get(SHARED_WITH) or "")


def sharing_is_off(setting: str) -> str:
    """The refusal of a share while sharing is off; ``setting`` is where the operator turns it on
    (:data:`SHARING_SETTING` of the deployment).

    >>> sharing_is_off(SHARING_SETTING["local"])
    'sharing Dask clusters is off on this platform (an operator turns it on: gateway.cluster_sharing in astrohub.toml)'
    """
    return f"sharing Dask clusters is off on this platform (an operator turns it on: {setting})"


def may_manage(user: Any, cluster: Any) -> bool:
    """Whether ``user`` may stop, scale or adapt ``cluster``: its owner or a hub admin."""
    return bool(user.admin) or user.name == cluster.username


def may_use(user: Any, cluster: Any, owner_in: bool = False) -> bool:
    """Whether ``user`` may connect to ``cluster`` and open its dashboard: who may manage it, or a member of the
    hub group it is shared with (while sharing is on, ``HubTokenAuthenticator.cluster_sharing``) while its owner is
    in that group too (``owner_in``: :func:`owner_in_group`; by default not, so a member is refused)."""
    if may_manage(user, cluster):
        return True
    group = shared_with(cluster)
    return bool(group) and owner_in and getattr(user, "sharing", False) and group in user.groups


async def owner_in_group(authenticator: Any, cluster: Any) -> bool:
    """Whether ``cluster``'s owner is now in the hub group it is shared with, as ``authenticator.groups_of`` (the
    hub, :meth:`~astrohub_hub.dashboards.HubTokenAuthenticator.groups_of`) answers; False when it is not shared or
    the hub cannot say (a lost hub connection refuses members, it never lets them in). A kept answer admits, a
    refusal is asked of the hub again (an owner who has just joined a group and shared with it is not refused)."""
    group = shared_with(cluster)
    if not group:
        return False
    groups = await authenticator.groups_of(cluster.username)
    if groups is not None and group in groups:
        return True
    groups = await authenticator.groups_of(cluster.username, fresh=True)
    return groups is not None and group in groups


async def may_use_now(authenticator: Any, user: Any, cluster: Any) -> bool:
    """:func:`may_use`, asking the hub about the owner's groups only when the caller's own group would let them in."""
    if may_manage(user, cluster):
        return True
    return may_use(user, cluster, True) and await owner_in_group(authenticator, cluster)


class SharingUser(User):
    """dask-gateway's ``User``, whose permission check admits the members of a cluster's group (see the module).

    ``hub_token`` is the token the hub signed them in with and ``signed_in`` when (``time.monotonic()``): a session
    kept in the gateway's cache asks the hub again with it before a member's group lets them in
    (``HubTokenAuthenticator.refreshed``). Kept in the gateway's memory only, as the cache itself.
    """

    def __init__(self, name: str, groups: Any = (), admin: bool = False, sharing: bool = True,
                 hub_token: str | None = None) -> None:
        super().__init__(name, groups=groups, admin=admin)
        self.sharing = bool(sharing)
        self.hub_token = hub_token
        self.signed_in = time.monotonic()

    def __repr__(self) -> str:  # never the token
        return f"SharingUser({self.name!r}, groups={sorted(self.groups)!r}, admin={self.admin!r})"

    def has_permissions(self, cluster: Any) -> bool:
        return may_manage(self, cluster) if _MANAGING.get() else may_use(self, cluster, _OWNER_IN_GROUP.get())


class ClusterSharing:
    """Backend mixin: :meth:`set_shared_with` keeps a cluster's group in its options, where the backend keeps them.

    The local backends (dask-gateway's database backends) update the cluster's row; ``AstroKubeBackend``
    overrides :meth:`_store_options` to patch the ``DaskCluster`` object.
    """

    async def set_shared_with(self, cluster_name: str, group: str) -> None:
        """Share cluster ``cluster_name`` with hub group ``group`` ("" = unshare)."""
        cluster = await self.get_cluster(cluster_name)  # type: ignore[attr-defined]
        if cluster is None:
            raise KeyError(cluster_name)
        options = {**(cluster.options or {}), SHARED_WITH: group}
        await self._store_options(cluster_name, options)

    async def _store_options(self, cluster_name: str, options: dict[str, Any]) -> None:
        db = self.db  # type: ignore[attr-defined]
        db.update_cluster(db.get_cluster(cluster_name), options=options)


def _not_yours(name: str, user: Any) -> web.Response:
    """The answer for a cluster ``user`` may not use, the same whether or not it exists (names are not confirmed)."""
    groups = ", ".join(sorted(user.groups)) or "none"
    return web.json_response({"error": (
        f"no Dask cluster {name!r} of yours or shared with your hub groups ({groups}) is running: list yours with "
        f"Gateway().list_clusters(), those shared with you with platform_lib.gateway.shared_clusters()")}, status=404)


def _not_the_owner(cluster: Any, action: str) -> web.Response:
    # 422, not 403: dask-gateway's client shows the server's message for 404, 409 and 422 only ("Forbidden" else).
    return web.json_response({"error": (
        f"only the owner of Dask cluster {cluster.name!r} ({cluster.username}) or a hub admin may {action} it; it is "
        f"shared with your group {shared_with(cluster)!r}, whose members may connect to it and open its dashboard")},
        status=422)


@web.middleware
async def _sharing_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    route = request.match_info.route
    resource = getattr(route.resource, "canonical", "") if route.resource is not None else ""
    key = (request.method, resource)
    if key not in _GUARDED:
        return await handler(request)
    action = _GUARDED[key]
    if action is None:
        # Connecting hands out the cluster's TLS credentials: authenticated with the hub each time (the client
        # sends its token when asked), not from the session cookie's cached groups, so leaving the group counts.
        headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() != "cookie")
        request = request.clone(headers=headers)
    authenticator, name = request.app["authenticator"], request.match_info.get("cluster_name", "")
    owner_in = False
    # Whether the owner is still in the group is the hub's answer now, before credentials go (not asked for a
    # request without a token, which is refused with 401 anyway).
    if action is None and authenticator.get_token(request):
        cluster = await request.app["backend"].get_cluster(name)
        owner_in = cluster is not None and await owner_in_group(authenticator, cluster)
    token, owner_token = _MANAGING.set(action is not None), _OWNER_IN_GROUP.set(owner_in)
    try:
        response = await handler(request)
    finally:
        _MANAGING.reset(token)
        _OWNER_IN_GROUP.reset(owner_token)
    user = request.get("user")
    if action is None and user is not None:  # the hub's newest answer also for the session (refused or not)
        authenticator.cache.put(user)
    if response.status not in (403, 404) or user is None:
        return response
    cluster = await request.app["backend"].get_cluster(name)
    if cluster is not None and action is not None and await may_use_now(authenticator, user, cluster):
        return _not_the_owner(cluster, action)
    return _not_yours(name, user)


def _report(cluster: Any) -> dict[str, Any]:
    report = cluster.to_dict(full=False)
    report["owner"] = cluster.username
    report[SHARED_WITH] = shared_with(cluster)
    return report


def _sharing_on(request: web.Request) -> bool:
    return bool(getattr(request.app["authenticator"], "cluster_sharing", False))


def _sharing_setting(request: web.Request) -> str:
    return getattr(request.app["authenticator"], "cluster_sharing_setting", SHARING_SETTING["kubernetes"])


async def _sharing(request: web.Request) -> web.Response:
    user, backend = request["user"], request.app["backend"]
    name = request.match_info["cluster_name"]
    cluster = await backend.get_cluster(name)
    if cluster is None or not await may_use_now(request.app["authenticator"], user, cluster):
        return _not_yours(name, user)
    return web.json_response({**_report(cluster), "may_manage": may_manage(user, cluster)})


async def _share(request: web.Request) -> web.Response:
    user, backend = request["user"], request.app["backend"]
    name = request.match_info["cluster_name"]
    if not _sharing_on(request):
        return web.json_response({"error": sharing_is_off(_sharing_setting(request))}, status=422)
    cluster = await backend.get_cluster(name)
    if cluster is None or cluster.status.name not in ("PENDING", "RUNNING") or \
            not await may_use_now(request.app["authenticator"], user, cluster):
        return _not_yours(name, user)
    if not may_manage(user, cluster):
        return _not_the_owner(cluster, "share or unshare")
    group = ""
    if request.method == "PUT":
        try:
            body = await request.json()
        except ValueError:
            body = None
        group = body.get("group") if isinstance(body, dict) else None
        if not isinstance(group, str) or not group.strip():
            return web.json_response({"error": 'send {"group": "<one of your hub groups>"} to share a cluster'},
                                     status=422)
        group = group.strip()
        if group not in user.groups and not user.admin:
            mine = ", ".join(sorted(user.groups)) or "none"
            return web.json_response({"error": f"{group!r} is not one of your hub groups ({mine}): a cluster is "
                                               f"shared with a group its owner belongs to"}, status=422)
    await backend.set_shared_with(name, group)
    request.app["log"].info("Cluster %s of %s shared with %r by %s", name, cluster.username, group, user.name)
    return web.json_response(_report(await backend.get_cluster(name)))


async def _shared(request: web.Request) -> web.Response:
    user, backend, authenticator = request["user"], request.app["backend"], request.app["authenticator"]
    found = [] if not _sharing_on(request) else [
        _report(cluster) for cluster in await backend.list_clusters()
        if cluster.username != user.name and shared_with(cluster) in user.groups
        and await owner_in_group(authenticator, cluster)
    ]
    return web.json_response({c["name"]: c for c in sorted(found, key=lambda c: c["name"])})


def add_sharing_routes(app: web.Application) -> None:
    """Add the sharing routes and the permission middleware (see the module docstring) to the gateway's API app."""
    app.middlewares.append(_sharing_middleware)
    app.router.add_get("/api/v1/clusters/{cluster_name}/sharing", hub_authenticated(_sharing))
    app.router.add_put("/api/v1/clusters/{cluster_name}/sharing", hub_authenticated(_share))
    app.router.add_delete("/api/v1/clusters/{cluster_name}/sharing", hub_authenticated(_share))
    app.router.add_get("/api/v1/shared-clusters/", hub_authenticated(_shared))
