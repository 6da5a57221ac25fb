"""Each user's Dask resources, for the hub's usage page: the gateway's ``/usage`` route.

Owns :class:`WorkerCounts` (a backend mixin that remembers how many workers each cluster's scheduler
last reported in its heartbeat), :func:`add_usage_routes` and :func:`hub_authenticated` (the hub-token check of
every route astrohub adds to the gateway). ``GET <gateway prefix>/usage[?user=<name>]``,
authenticated with a hub token as the rest of the gateway's API, answers
``{"user", "clusters": [{"name", "status", "workers", "cores", "memory"}]}`` (``cores``: worker threads,
``memory``: bytes, as ``platform_lib.usage()`` counts them from the scheduler). A caller sees their own
clusters; another user's only a hub admin or a caller named in ``HubTokenAuthenticator.usage_readers``
(the classes service, ``service:astrohub-classes``, which asks for the signed-in user only). Anyone else
gets 403, and the route changes nothing: it grants no dashboard, scaling or shutdown of another's cluster.
May import aiohttp and dask-gateway-server.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

__all__ = ["WorkerCounts", "add_usage_routes", "cluster_usage", "hub_authenticated"]


class WorkerCounts:
    """Backend mixin: the active workers each cluster's scheduler reported in its last heartbeat.

    Works for every dask-gateway backend (local and Kubernetes): schedulers send heartbeats to the
    gateway (every ``cluster_heartbeat_period``, 15 s, and soon after a worker joins, by the preload
    :mod:`platform_lib.worker_news`, or fails).
    """

    def active_workers_of(self, cluster_name: str) -> int:
        return self.__dict__.get("_astrohub_workers", {}).get(cluster_name, 0)

    async def on_cluster_heartbeat(self, cluster_name: str, msg: dict) -> None:
        self.__dict__.setdefault("_astrohub_workers", {})[cluster_name] = len(msg.get("active_workers", ()))
        await super().on_cluster_heartbeat(cluster_name, msg)  # type: ignore[misc]


async def cluster_usage(backend: Any, username: str) -> list[dict[str, Any]]:
    """``username``'s active clusters with their workers, cores (worker threads) and memory (bytes)."""
    counts = getattr(backend, "active_workers_of", None)
    found = []
    for cluster in await backend.list_clusters(username=username):
        status = getattr(cluster.status, "name", str(cluster.status)).lower()
        config = cluster.config or {}
        workers = counts(cluster.name) if counts is not None and status == "running" else 0
        threads = int(config.get("worker_threads") or max(int(config.get("worker_cores") or 1), 1))
        found.append({"name": cluster.name, "status": status, "workers": workers, "cores": workers * threads,
                      "memory": workers * int(config.get("worker_memory") or 0)})
    return sorted(found, key=lambda c: c["name"])


async def _usage(request: web.Request) -> web.Response:
    caller = request["user"]
    wanted = request.query.get("user", "") or caller.name
    readers = getattr(request.app["authenticator"], "usage_readers", ())
    if wanted != caller.name and not (caller.admin or caller.name in readers):
        return web.json_response(
            {"error": f"{caller.name!r} may read only their own Dask usage, not {wanted!r}"}, status=403)
    clusters = await cluster_usage(request.app["backend"], wanted)
    return web.json_response({"user": wanted, "clusters": clusters})


def hub_authenticated(handler: Any) -> Any:
    """``handler`` behind the gateway's authenticator (a hub token, as the rest of its API), for the routes astrohub
    adds to the gateway (here and :mod:`astrohub_hub.gateway_sharing`'s): a request without a valid token gets a
    401 that says what to send."""
    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            return await request.app["authenticator"].authenticate_and_handle(request, handler)
        except web.HTTPUnauthorized:
            return web.json_response({"error": "send a hub token (Authorization: token <token>)"}, status=401,
                                     headers={"WWW-Authenticate": "token"})

    return handle


def add_usage_routes(app: web.Application) -> None:
    """Serve ``GET /usage`` (see the module docstring) on the gateway's API server."""
    app.router.add_get("/usage", hub_authenticated(_usage))
