"""A Dask scheduler preload: the news of workers joining and leaving reaches the gateway soon and every subscriber.

dask-gateway learns a cluster's workers from its scheduler's heartbeats (``cluster_heartbeat_period``, 15 s). Its
scheduler service sends one at once when the cluster is scaled, and soon after a worker leaves unexpectedly, but
not when a worker joins: until the next heartbeat the gateway counts the worker as starting, and what it shows
(the hub's usage page and API, ``astrohub_hub.gateway_usage``; the Dask side bar's worker count) says no worker
for up to 15 s after the user's ``client.wait_for_workers`` returned. This preload asks dask-gateway's service
for a heartbeat soon after each worker joins (its own ``interrupt_soon``: one heartbeat, 3 s later, for every
worker that joined in between).

Every ``GatewayCluster`` that connects to a scheduler (the kernel's that started it, and the one the Dask side bar
makes for it, ``astrohub_server.dask_clusters``, seconds later) subscribes to its worker news
(``subscribe_worker_status``), which distributed serves with a ``WorkerStatusPlugin`` named ``"worker-status"``: one
name for all, so each subscriber replaced the one before ("Scheduler already contains a plugin with name
worker-status; overwriting"). The kernel's cluster heard of no worker after the side bar's joined, and its widget
said "Workers 0" under a cell that had just waited for one. This preload names each subscriber's plugin apart
(:func:`keep_every_subscriber`), so every one hears the news; a subscriber's plugin leaves with its comm, as before.

Added to every gateway scheduler's command line, local and Kubernetes (``astrohub_hub.gateway.SCHEDULER_PRELOADS``).
May import distributed only; reads dask-gateway's scheduler service (``scheduler.services["gateway"]``) by duck
typing, and does nothing on a scheduler without one.
"""

from __future__ import annotations

from itertools import count

from distributed.diagnostics.plugin import SchedulerPlugin
from distributed.scheduler import WorkerStatusPlugin

__all__ = ["WorkerNewsPlugin", "dask_setup", "keep_every_subscriber"]


class WorkerNewsPlugin(SchedulerPlugin):
    """On each worker that joins, ask the scheduler's dask-gateway service for a heartbeat soon."""

    name = "astrohub-worker-news"

    def add_worker(self, scheduler, worker: str) -> None:
        waiter = getattr(scheduler.services.get("gateway"), "waiter", None)
        if waiter is not None:
            waiter.interrupt_soon()


def keep_every_subscriber(scheduler) -> None:
    """Serve ``subscribe_worker_status`` as distributed does, but under a name of the subscriber's own
    (``worker-status-<n>``), so a second subscriber no longer replaces the first one's plugin."""
    subscribe = scheduler.handlers["subscribe_worker_status"]
    numbers = count(1)

    def subscribe_apart(comm):
        identity = subscribe(comm)  # adds a WorkerStatusPlugin under WorkerStatusPlugin.name
        plugin = scheduler.plugins.pop(WorkerStatusPlugin.name)
        plugin.name = f"{WorkerStatusPlugin.name}-{next(numbers)}"  # what its remove_plugin(name=self.name) uses
        scheduler.plugins[plugin.name] = plugin
        return identity

    scheduler.handlers["subscribe_worker_status"] = subscribe_apart


def dask_setup(scheduler) -> None:
    """The preload's entry point (``--preload platform_lib.worker_news``): add :class:`WorkerNewsPlugin` and
    :func:`keep_every_subscriber`."""
    scheduler.add_plugin(WorkerNewsPlugin())
    keep_every_subscriber(scheduler)
