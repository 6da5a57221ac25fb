"""A Dask scheduler preload: the gateway hears of a worker that joined within seconds, not at the next heartbeat.

dask-gateway learns a cluster's workers from its scheduler's heartbeats (``cluster_heartbeat_period``, 15 s). Its
scheduler service sends one at once when the cluster is scaled, and soon after a worker leaves unexpectedly, but
not when a worker joins: until the next heartbeat the gateway counts the worker as starting, and what it shows
(the hub's usage page and API, ``astrohub_hub.gateway_usage``; the Dask side bar's worker count) says no worker
for up to 15 s after the user's ``client.wait_for_workers`` returned. This preload asks dask-gateway's service
for a heartbeat soon after each worker joins (its own ``interrupt_soon``: one heartbeat, 3 s later, for every
worker that joined in between).

Added to every gateway scheduler's command line, local and Kubernetes (``astrohub_hub.gateway.SCHEDULER_PRELOADS``).
May import distributed only; reads dask-gateway's scheduler service (``scheduler.services["gateway"]``) by duck
typing, and does nothing on a scheduler without one.
"""

from __future__ import annotations

from distributed.diagnostics.plugin import SchedulerPlugin

__all__ = ["WorkerNewsPlugin", "dask_setup"]


class WorkerNewsPlugin(SchedulerPlugin):
    """On each worker that joins, ask the scheduler's dask-gateway service for a heartbeat soon."""

    name = "astrohub-worker-news"

    def add_worker(self, scheduler, worker: str) -> None:
        waiter = getattr(scheduler.services.get("gateway"), "waiter", None)
        if waiter is not None:
            waiter.interrupt_soon()


def dask_setup(scheduler) -> None:
    """The preload's entry point (``--preload platform_lib.worker_news``): add :class:`WorkerNewsPlugin`."""
    scheduler.add_plugin(WorkerNewsPlugin())
