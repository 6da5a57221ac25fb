"""The Dask sidebar lists the user's gateway clusters, including those made in a notebook.

dask_labextension's cluster manager knows only the clusters its own "+ NEW" button made; a
``GatewayCluster`` started in a kernel never appears, though the platform's guides say it does.
:class:`ClusterHandler` (dask_labextension's ``DaskClusterHandler`` for the ``dask/clusters`` routes)
first calls :func:`adopt_gateway_clusters`: it asks the gateway for the user's running clusters,
connects the manager to each one it does not know (``GatewayCluster.from_name``; shutting it down
from the sidebar shuts it down on the gateway) and forgets those the gateway no longer runs
(stopped from a notebook). Then the sidebar shows each with its dashboard, as for its own.
Clusters other users share with one of the user's hub groups (``<gateway>/api/v1/shared-clusters/``,
``astrohub_hub.gateway_sharing``) are listed too, named with their owner ("GatewayCluster 1a2b3c4d (shared by
ann)"), and connected without stopping them on close: the member may open their dashboard and use them, but the
sidebar's shutdown and scaling are refused with a 403 naming the owner (the gateway would refuse them too; only
the owner or a hub admin stops or scales a shared cluster), and the Dask sidebar plugin of the Lab extension
``astrohub`` hides those buttons for them.
The sidebar polls ``dask/clusters`` every 5 s in every open Lab tab; :class:`ClusterListing` answers
the polls of ``LISTING_SECONDS`` (2 s, below that poll) from one ``list_clusters`` request to the
gateway (concurrent polls wait for one request), and asks again after the sidebar starts, stops or
scales a cluster (a class of 60 students with a tab each made 12 gateway requests a second).
It also answers every failure with a 4xx naming the problem where dask_labextension answered 500
(a bad body, an unknown id, the gateway's cluster limit), see :func:`parse_scaling`.

Imported only by the sidebar's first request (``astrohub_server.dask_sidebar``); only when the
sidebar makes gateway clusters (``DASK_LABEXTENSION__FACTORY__MODULE=dask_gateway``, set by the
hub). May import dask, dask_gateway, dask_labextension and tornado.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Awaitable, Callable, Mapping
from uuid import uuid4

import dask
from tornado import web
from dask_labextension.clusterhandler import DaskClusterHandler
from dask_labextension.manager import manager as _manager

__all__ = ["ClusterHandler", "ClusterListing", "adopt_gateway_clusters", "parse_scaling", "shared_by", "start_cluster",
           "MAX_WORKERS", "LISTING_SECONDS", "SHARED_MARK"]

log = logging.getLogger(__name__)
#: The most workers a scaling request may name (the gateway applies the user's own, lower limit).
MAX_WORKERS = 10_000
#: Seconds one listing of the user's gateway clusters answers the sidebar's polls: below the sidebar's own
#: poll (5 s), so a cluster stopped in a notebook still leaves the sidebar at its next poll.
LISTING_SECONDS = 2.0
#: How the sidebar names a cluster shared with the user: after its short name, ``SHARED_MARK.format(owner=...)``
#: (the Lab extension astrohub's Dask sidebar plugin finds shared clusters by it).
SHARED_MARK = " (shared by {owner})"


def _uses_gateway() -> bool:
    return dask.config.get("labextension.factory.module", None) == "dask_gateway"


async def _running_on_gateway() -> dict[str, str]:
    """The user's running (and pending) clusters and those shared with their hub groups, asked of the gateway:
    name -> owner ("" for the user's own)."""
    from dask_gateway import Gateway

    async with Gateway(asynchronous=True) as gateway:
        running = {report.name: "" for report in await gateway.list_clusters()}
        try:  # the platform gateway's route (astrohub_hub.gateway_sharing); {} while sharing is off
            answer = await gateway._request("GET", f"{gateway.address}/api/v1/shared-clusters/")
            shared = await answer.json()
        except ValueError:  # 404: a gateway without the route shares nothing
            shared = {}
        for name, report in shared.items():
            running.setdefault(name, str(report.get("owner") or "?"))
        return running


class ClusterListing:
    """The user's running gateway clusters (and those shared with them: name -> owner, "" for their own), asked of
    the gateway at most once per ``ttl`` seconds.

    :meth:`invalidate` (the sidebar started, stopped or scaled a cluster) makes the next call ask again, and
    a listing asked before an invalidation is not used after it (it may lack a cluster the sidebar just
    started, which the sidebar would take for stopped elsewhere and forget). ``lock`` is held while a poll
    brings the cluster manager in line with a listing, so that polls from several tabs wait for one
    request to the gateway, and a cluster is not adopted twice. One per server, beside the sidebar's
    cluster manager.
    """

    def __init__(self, ttl: float = LISTING_SECONDS, *,
                 fetch: Callable[[], Awaitable[Mapping[str, str]]] = _running_on_gateway,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.lock = asyncio.Lock()
        self._fetch = fetch
        self._clock = clock
        self._names: Mapping[str, str] | None = None
        self._asked_at = 0.0
        self._generation = 0

    def invalidate(self) -> None:
        """Forget the listing: the next :meth:`names` asks the gateway."""
        self._names = None
        self._generation += 1

    async def names(self) -> Mapping[str, str]:
        """The user's running clusters and those shared with them (name -> owner, "" for their own), asked at most
        ``ttl`` seconds ago; raises what the gateway raised."""
        while self._names is None or self._clock() - self._asked_at >= self.ttl:
            generation, asked_at = self._generation, self._clock()
            names = await self._fetch()
            if generation == self._generation:  # else invalidated while asked: ask again
                self._names, self._asked_at = names, asked_at
        return self._names


#: The sidebar's listing, beside dask_labextension's cluster manager (one per server).
_listing = ClusterListing()
#: The clusters of the manager shared with the user by another: cluster id -> owner.
_shared: dict[str, str] = {}


def shared_by(cluster_id: str) -> str:
    """The owner of the sidebar's cluster ``cluster_id`` when another user shares it with the user's group, else ""."""
    return _shared.get(cluster_id, "")


async def adopt_gateway_clusters(manager=_manager, listing: ClusterListing | None = None) -> list[str]:
    """Bring ``manager`` in line with the user's running gateway clusters; the names adopted.

    ``listing``: where the running clusters are asked (default: the server's :class:`ClusterListing`).
    Never raises: when the gateway cannot be asked, the sidebar lists what it knew (logged).
    """
    if not _uses_gateway():
        return []
    listing = listing or _listing
    async with listing.lock:
        return await _adopt(manager, listing)


async def _adopt(manager, listing: ClusterListing) -> list[str]:
    from dask_gateway import GatewayCluster

    try:
        running = await listing.names()
    except Exception as exc:  # noqa: BLE001 - the sidebar still lists its own clusters
        log.warning("astrohub_server | the gateway's clusters could not be listed: %s", exc)
        return []
    known = {getattr(cluster, "name", None): cluster_id for cluster_id, cluster in manager._clusters.items()}
    for name, cluster_id in known.items():
        if name is not None and name not in running:  # stopped elsewhere (a notebook, the gateway), or unshared
            cluster = manager._clusters.pop(cluster_id)
            manager._cluster_names.pop(cluster_id, None)
            manager._adaptives.pop(cluster_id, None)
            _shared.pop(cluster_id, None)
            try:
                cluster.shutdown_on_close = False
                await cluster.close()
            except Exception:  # noqa: BLE001 - it is gone already
                pass
    adopted = []
    for name in sorted(running.keys() - known.keys()):
        owner = running[name]
        try:
            # a shared cluster is never stopped by the member's sidebar, not even when the server stops
            cluster = await GatewayCluster.from_name(name, shutdown_on_close=not owner, asynchronous=True)
        except Exception as exc:  # noqa: BLE001 - stopping meanwhile, or not reachable: next time
            log.warning("astrohub_server | gateway cluster %s could not be connected: %s", name, exc)
            continue
        cluster_id = str(uuid4())
        manager._clusters[cluster_id] = cluster
        manager._cluster_names[cluster_id] = f"GatewayCluster {name.split('.')[-1][:8]}" + (
            SHARED_MARK.format(owner=owner) if owner else "")
        if owner:
            _shared[cluster_id] = owner
        adopted.append(name)
    return adopted


async def start_cluster(cluster_id: str, manager=_manager, listing: ClusterListing | None = None) -> dict:
    """The sidebar's "+ NEW": start a cluster with ``manager`` (its model), holding ``listing``'s lock until the
    manager knows the cluster, then :meth:`~ClusterListing.invalidate` the listing.

    The gateway lists a new cluster from the moment it is asked for it, seconds before the manager holds it (it
    waits for the scheduler first): a poll in between adopted it as a second cluster, and the sidebar showed
    "GatewayCluster 1" and "GatewayCluster <id>", one cluster twice. Polls wait for the start instead.
    """
    listing = listing or _listing
    async with listing.lock:
        try:
            return await manager.start_cluster(cluster_id)
        finally:
            listing.invalidate()


def _refusal(exc: BaseException, doing: str) -> web.HTTPError:
    """The HTTP error for a failure of the cluster manager (or the gateway under it) while ``doing``.

    The gateway's refusals (a limit reached, a bad option, a cluster that failed to start) are 409
    with its message; a gateway that cannot be reached is 503 (retry). dask_labextension answered
    500 for all of them (issue 22: 671 of 10,000 fuzzed requests).
    """
    from dask_gateway.client import GatewayClusterError, GatewayServerError

    if isinstance(exc, (ValueError, TypeError, KeyError, PermissionError, GatewayClusterError)):
        return web.HTTPError(409, f"could not {doing}: {exc}")
    if isinstance(exc, (GatewayServerError, OSError, asyncio.TimeoutError)):
        return web.HTTPError(503, f"could not {doing}: the Dask gateway did not answer ({exc}); retry shortly")
    log.exception("astrohub_server | could not %s", doing)
    return web.HTTPError(503, f"could not {doing}: {type(exc).__name__}: {exc}")


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_WORKERS:
        raise web.HTTPError(400, f"{what} must be a whole number from 0 to {MAX_WORKERS}, not {value!r}")
    return value


def parse_scaling(body: bytes) -> tuple[int, int] | int:
    """The body of a PATCH: ``{"workers": n}`` (an int) or ``{"adapt": {"minimum": a, "maximum": b}}``
    (a tuple); anything else raises a 400 naming the field and the form expected.

    >>> parse_scaling(b'{"adapt": {"minimum": 0, "maximum": 4}}')
    (0, 4)
    """
    form = 'send {"workers": N} or {"adapt": {"minimum": A, "maximum": B}}'
    try:
        model = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise web.HTTPError(400, f"the body is not JSON (or nested too deeply); {form}") from None
    if not isinstance(model, dict):
        raise web.HTTPError(400, f"the body must be a JSON object, not {type(model).__name__}; {form}")
    adapt = model.get("adapt")
    if adapt is not None:
        if not isinstance(adapt, dict):
            raise web.HTTPError(400, f'"adapt" must be an object; {form}')
        low, high = _count(adapt.get("minimum"), '"adapt.minimum"'), _count(adapt.get("maximum"), '"adapt.maximum"')
        if low > high:
            raise web.HTTPError(400, f'"adapt.minimum" ({low}) is above "adapt.maximum" ({high})')
        return low, high
    if "workers" not in model:
        raise web.HTTPError(400, f"no \"workers\" in the body; {form}")
    return _count(model["workers"], '"workers"')


def _need_id(cluster_id: str, method: str) -> None:
    if not cluster_id:
        raise web.HTTPError(405, f"{method} needs a cluster: dask/clusters/<cluster id> (list them with GET dask/clusters)")


def _not_shared(cluster_id: str, doing: str) -> None:
    owner = shared_by(cluster_id)
    if owner:
        raise web.HTTPError(403, f"could not {doing}: it is {owner}'s, shared with your hub group; only its owner or "
                                 f"a hub admin stops or scales it (it keeps running, and you may still use it)")


class ClusterHandler(DaskClusterHandler):
    """dask_labextension's cluster routes, after adopting the user's gateway clusters (GET and DELETE);
    every failure a 4xx naming the problem (unknown id 404, bad body 400, the gateway's refusal 409, stopping or
    scaling a cluster another user shares with the user 403)."""

    async def get(self, cluster_id: str = "") -> None:
        await adopt_gateway_clusters()
        await super().get(cluster_id)

    @web.authenticated
    async def delete(self, cluster_id: str = "") -> None:
        _need_id(cluster_id, "DELETE")
        await adopt_gateway_clusters()
        if _manager.get_cluster(cluster_id) is None:
            raise web.HTTPError(404, f"Dask cluster {cluster_id} not found")
        _not_shared(cluster_id, f"shut down the Dask cluster {cluster_id}")
        try:
            closed = await _manager.close_cluster(cluster_id)
        except Exception as exc:  # noqa: BLE001 - answered with the reason
            raise _refusal(exc, f"shut down the Dask cluster {cluster_id}") from exc
        finally:
            _listing.invalidate()
        if closed is None:
            raise web.HTTPError(404, f"Dask cluster {cluster_id} not found")
        self.set_status(204)
        self.finish()

    @web.authenticated
    async def put(self, cluster_id: str = "") -> None:
        if _manager.get_cluster(cluster_id):
            raise web.HTTPError(409, f"a Dask cluster with id {cluster_id} already exists")
        try:
            model = await start_cluster(cluster_id)
        except Exception as exc:  # noqa: BLE001 - answered with the reason
            raise _refusal(exc, "start a Dask cluster") from exc
        self.set_status(200)
        self.finish(json.dumps(model))

    @web.authenticated
    async def patch(self, cluster_id: str = "") -> None:
        _need_id(cluster_id, "PATCH")
        scaling = parse_scaling(self.request.body)
        if _manager.get_cluster(cluster_id) is None:
            raise web.HTTPError(404, f"Dask cluster {cluster_id} not found")
        _not_shared(cluster_id, f"scale the Dask cluster {cluster_id}")
        try:
            if isinstance(scaling, tuple):
                model = _manager.adapt_cluster(cluster_id, *scaling)
            else:
                model = await _manager.scale_cluster(cluster_id, scaling)
        except Exception as exc:  # noqa: BLE001 - answered with the reason
            raise _refusal(exc, f"scale the Dask cluster {cluster_id}") from exc
        finally:
            _listing.invalidate()
        if model is None:
            raise web.HTTPError(404, f"Dask cluster {cluster_id} not found")
        self.set_status(200)
        self.finish(json.dumps(model))
