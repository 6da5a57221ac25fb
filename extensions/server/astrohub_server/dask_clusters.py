"""The Dask sidebar lists the user's gateway clusters, including those made in a notebook.

dask_labextension's cluster manager knows only the clusters its own "+ NEW" button made; a
``GatewayCluster`` started in a kernel never appears, though the platform's guides say it does.
:class:`ClusterHandler` (dask_labextension's ``DaskClusterHandler`` for the ``dask/clusters`` routes)
first calls :func:`adopt_gateway_clusters`: it asks the gateway for the user's running clusters,
connects the manager to each one it does not know (``GatewayCluster.from_name``; shutting it down
from the sidebar shuts it down on the gateway) and forgets those the gateway no longer runs
(stopped from a notebook). Then the sidebar shows each with its dashboard, as for its own.

Imported only by the sidebar's first request (``astrohub_server.dask_sidebar``); only when the
sidebar makes gateway clusters (``DASK_LABEXTENSION__FACTORY__MODULE=dask_gateway``, set by the
hub). May import dask, dask_gateway, dask_labextension and tornado.
"""

from __future__ import annotations

import logging
from uuid import uuid4

import dask
from dask_labextension.clusterhandler import DaskClusterHandler
from dask_labextension.manager import manager as _manager

__all__ = ["ClusterHandler", "adopt_gateway_clusters"]

log = logging.getLogger(__name__)


def _uses_gateway() -> bool:
    return dask.config.get("labextension.factory.module", None) == "dask_gateway"


async def adopt_gateway_clusters(manager=_manager) -> list[str]:
    """Bring ``manager`` in line with the user's running gateway clusters; the names adopted.

    Never raises: when the gateway cannot be asked, the sidebar lists what it knew (logged).
    """
    if not _uses_gateway():
        return []
    from dask_gateway import Gateway, GatewayCluster

    try:
        async with Gateway(asynchronous=True) as gateway:
            running = {report.name for report in await gateway.list_clusters()}
    except Exception as exc:  # noqa: BLE001 - the sidebar still lists its own clusters
        log.warning("astrohub_server | the gateway's clusters could not be listed: %s", exc)
        return []
    known = {getattr(cluster, "name", None): cluster_id for cluster_id, cluster in manager._clusters.items()}
    for name, cluster_id in known.items():
        if name is not None and name not in running:  # stopped elsewhere (a notebook, the gateway)
            cluster = manager._clusters.pop(cluster_id)
            manager._cluster_names.pop(cluster_id, None)
            manager._adaptives.pop(cluster_id, None)
            try:
                cluster.shutdown_on_close = False
                await cluster.close()
            except Exception:  # noqa: BLE001 - it is gone already
                pass
    adopted = []
    for name in sorted(running - known.keys()):
        try:
            cluster = await GatewayCluster.from_name(name, shutdown_on_close=True, asynchronous=True)
        except Exception as exc:  # noqa: BLE001 - stopping meanwhile, or not reachable: next time
            log.warning("astrohub_server | gateway cluster %s could not be connected: %s", name, exc)
            continue
        cluster_id = str(uuid4())
        manager._clusters[cluster_id] = cluster
        manager._cluster_names[cluster_id] = f"GatewayCluster {name.split('.')[-1][:8]}"
        adopted.append(name)
    return adopted


class ClusterHandler(DaskClusterHandler):
    """dask_labextension's cluster routes, after adopting the user's gateway clusters (GET and DELETE)."""

    async def get(self, cluster_id: str = "") -> None:
        await adopt_gateway_clusters()
        await super().get(cluster_id)

    async def delete(self, cluster_id: str) -> None:
        await adopt_gateway_clusters()
        await super().delete(cluster_id)
