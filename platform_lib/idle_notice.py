"""The idle rules astrohub adds to every dask-gateway scheduler: a warning to its clients before the gateway's
idle timeout stops it, and the stop of a cluster whose clients have all gone.

dask-gateway's ``idle_timeout`` counts tasks only: a notebook left open with a connected client loses its
cluster too, and its next Dask call would otherwise fail with a bare connection error. A :func:`notice_before`
ahead, and again when the shutdown is due, the scheduler sends distributed's ``print`` event, which a
``Client`` prints (in a notebook: under the cell last run), naming the cluster, the time left and how to keep
it. Clients do not keep a cluster alive: a running cluster counts as its owner's activity for the server
culler, so an abandoned notebook would keep both for ever.

A kernel that dies (killed for memory, restarted in the middle of a computation) cannot stop the cluster it made:
dask-gateway stops a ``GatewayCluster`` (``shutdown_on_close``) from ``__del__`` or ``atexit``, which a killed
process never runs (dask-gateway issues 255 and 393, open). The cluster then ran on, counting as its owner's
activity, until the idle timeout (30 min), and the notebook's cluster cell, run again, made a second one.
:class:`NoClientShutdown` stops a cluster once its clients have all gone and it has run no task for
``astrohub.gateway.no-client-timeout`` seconds (dask config, ``DASK_ASTROHUB__GATEWAY__NO_CLIENT_TIMEOUT``, which
the gateway sets from ``daskGateway.server.noClientTimeoutSeconds``; 0 or unset: never), through the gateway's
API as dask-gateway's own idle shutdown does: the semantics proposed upstream for ``idle_timeout_no_clients``
(distributed issue 7959). A cluster that never had a client (``new_cluster()`` before ``get_client()``, the Dask
sidebar's "+ NEW") is left to the idle timeout; a ``GatewayCluster`` object without a client does not count
(the user's server holds one of every cluster for the Dask sidebar).

This module is a Dask scheduler preload, ``--preload platform_lib.idle_notice``, which every astrohub gateway
passes to its schedulers (:mod:`astrohub_hub.gateway`: the local platform's ``dasknode`` schedulers and the
Helm chart's scheduler pods, which run the user image): its ``dask_setup`` adds :class:`IdleNoticePlugin`,
which reads the idle timeout of dask-gateway's own preload (``dask_gateway.scheduler_preload``, the
scheduler's ``gateway`` service) when the scheduler starts, and :class:`NoClientShutdownPlugin`. Without that
service they do nothing.

May import dask and distributed (and the standard library) only: it runs in every scheduler process.
"""

from __future__ import annotations

import asyncio
import logging
import os

import dask
from distributed.diagnostics.plugin import SchedulerPlugin

__all__ = ["IdleNotice", "IdleNoticePlugin", "NoClientShutdown", "NoClientShutdownPlugin", "NO_CLIENT_TIMEOUT",
           "connected_clients", "dask_setup", "idle_since", "notice_before", "shutdown_text"]

logger = logging.getLogger("distributed.scheduler.astrohub")

#: The dask config key of :class:`NoClientShutdown`'s timeout in seconds (0: never).
NO_CLIENT_TIMEOUT = "astrohub.gateway.no-client-timeout"
#: The scheduler's own entry in ``Scheduler.clients`` (distributed's ``fire_and_forget``), not a connected client.
_NOT_A_CLIENT = "fire-and-forget"


def notice_before(idle_timeout: float) -> float:
    """Seconds before the idle shutdown that clients are warned: a sixth of the timeout, at most 5 min."""
    return min(300.0, idle_timeout / 6)


def connected_clients(scheduler) -> list[str]:
    """The ids of the clients connected to ``scheduler`` now (``scheduler.clients`` less its own entry)."""
    return [name for name in scheduler.clients if name != _NOT_A_CLIENT]


def idle_since(scheduler) -> float | None:
    """When ``scheduler`` last had work (a time of ``scheduler.loop.time()``'s clock); None: busy now.

    As dask-gateway's ``check_idle`` reckons it: no task processing or unrunnable; since the last task
    transition, or the scheduler's start."""
    if any(ws.processing for ws in scheduler.workers.values()) or scheduler.unrunnable:
        return None
    return scheduler.transition_log[-1][-1] if scheduler.transition_log else scheduler.time_started


def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"


class IdleNotice:
    """Warn a scheduler's connected clients before dask-gateway's idle timeout shuts the cluster down.

    Idle is reckoned as dask-gateway's ``check_idle`` does (no task processing or unrunnable; since the last
    task transition, or the scheduler's start). :meth:`check` sends one ``print`` event per idle stretch when
    :func:`notice_before` or less is left, and one more once the timeout is reached (the shutdown follows at
    dask-gateway's next check). :meth:`run` checks every ``period`` seconds until cancelled.
    """

    def __init__(self, scheduler, idle_timeout: float, name: str = "") -> None:
        self.scheduler = scheduler
        self.idle_timeout = float(idle_timeout)
        self.before = notice_before(self.idle_timeout)
        self.period = max(0.05, min(30.0, self.before / 4))
        self.name = name or os.environ.get("DASK_GATEWAY_CLUSTER_NAME", "")
        self._sent: dict[str, float] = {}  # "soon" / "now" -> the idle stretch (its start) told of

    def idle_since(self) -> float | None:
        """When the scheduler last had work (:func:`idle_since`)."""
        return idle_since(self.scheduler)

    def check(self, now: float) -> str | None:
        """Send the notice that is due at ``now`` (once per idle stretch); the text sent, or None."""
        since = self.idle_since()
        if since is None:
            return None
        left = self.idle_timeout - (now - since)
        what = "now" if left <= 0 else "soon" if left <= self.before else None
        if what is None or self._sent.get(what) == since:
            return None
        self._sent[what] = since
        cluster = f"Dask cluster {self.name}" if self.name else "this Dask cluster"
        if what == "soon":
            text = (f"astrohub: {cluster} has run no task for {_duration(now - since)} and will be shut down in "
                    f"about {_duration(left)} (the gateway's idle timeout, {_duration(self.idle_timeout)}; an open "
                    "client does not count). To keep it, run any computation, e.g. client.submit(len, []).result()")
        else:
            text = (f"astrohub: {cluster} is being shut down: it has run no task for {_duration(now - since)} (the "
                    "gateway's idle timeout). Its client will lose the connection; start a new cluster with "
                    "gateway.new_cluster() (or run the notebook's cluster cell again)")
        self.scheduler.log_event("print", {"args": (text,), "file": 2, "flush": True})
        return text

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.period)
            self.check(self.scheduler.loop.time())


class IdleNoticePlugin(SchedulerPlugin):
    """Run an :class:`IdleNotice` with the idle timeout of the scheduler's dask-gateway service, if any.

    Plugins start after every preload has run, so dask-gateway's ``gateway`` service is there whichever
    ``--preload`` came first on the command line.
    """

    name = "astrohub-idle-notice"

    def __init__(self) -> None:
        self.task: asyncio.Future | None = None
        self.scheduler = None

    async def start(self, scheduler) -> None:
        self.scheduler = scheduler
        timeout = getattr(scheduler.services.get("gateway"), "idle_timeout", 0)
        if timeout > 0:
            self.task = asyncio.ensure_future(IdleNotice(scheduler, timeout).run())
        else:
            logger.info("astrohub idle notice: no dask-gateway idle timeout on this scheduler, nothing to warn of")

    async def before_close(self) -> None:
        """Tell the connected clients that the cluster is stopping, whoever stopped it, before their connections
        drop: a computation running when its owner shut it down from another notebook (or an admin, or
        ``astrohub down``) failed with distributed's "Client lost the connection to the scheduler. Please check
        your connection", as if the network had failed, and nothing said that the cluster was gone."""
        if self.scheduler is not None and connected_clients(self.scheduler):
            self.scheduler.log_event("print", {"args": (shutdown_text(),), "file": 2, "flush": True})
            await asyncio.sleep(0.1)  # the clients' batched streams send every few milliseconds

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.task = None


class NoClientShutdown:
    """Stop a cluster ``timeout`` seconds after its last client left, once it has run no task for as long.

    ``stop`` is an async callable that stops the cluster (dask-gateway's ``GatewayClient.shutdown``: ``DELETE
    /api/v1/clusters/<name>`` with the cluster's own token, the call of dask-gateway's idle shutdown). A client
    that connects again (distributed's Client reconnects by itself after a network blip) starts the count anew;
    a failed stop (the gateway restarting) is tried again at the next check. :meth:`run` checks every
    ``period`` seconds until cancelled; the plugin calls :meth:`client_added` and :meth:`client_removed`.
    """

    def __init__(self, scheduler, timeout: float, stop) -> None:
        self.scheduler = scheduler
        self.timeout = float(timeout)
        self.stop = stop
        self.period = max(0.05, min(30.0, self.timeout / 4))
        self.left_at: float | None = None  # when the last client left; None: one is connected, or none ever was

    def clients(self) -> list[str]:
        """The ids of the clients connected now (:func:`connected_clients`)."""
        return connected_clients(self.scheduler)

    def client_added(self) -> None:
        self.left_at = None

    def client_removed(self, now: float) -> None:
        if not self.clients():
            self.left_at = now

    def due(self, now: float) -> bool:
        """Whether the cluster is to be stopped at ``now``."""
        if self.left_at is None or self.clients():
            return False
        since = idle_since(self.scheduler)
        return since is not None and now - max(self.left_at, since) >= self.timeout

    async def check(self, now: float) -> bool:
        """Stop the cluster if :meth:`due`; whether it asked the gateway to (successfully)."""
        if not self.due(now):
            return False
        logger.warning("astrohub: no client for %.0f s since the last one left and no task running: shutting the "
                       "cluster down (astrohub.gateway.no-client-timeout)", now - self.left_at)
        try:
            await self.stop()
        except Exception as exc:  # noqa: BLE001 - the gateway away (restarting): ask again at the next check
            logger.warning("astrohub: the gateway did not stop the cluster (%s); trying again", exc)
            return False
        return True

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.period)
            if await self.check(self.scheduler.loop.time()):
                return


class NoClientShutdownPlugin(SchedulerPlugin):
    """Run a :class:`NoClientShutdown` when the scheduler has dask-gateway's service and the dask config names a
    timeout (:data:`NO_CLIENT_TIMEOUT`)."""

    name = "astrohub-no-client-shutdown"

    def __init__(self) -> None:
        self.task: asyncio.Future | None = None
        self.rule: NoClientShutdown | None = None

    async def start(self, scheduler) -> None:
        timeout = float(dask.config.get(NO_CLIENT_TIMEOUT, 0) or 0)
        service = scheduler.services.get("gateway")
        if timeout > 0 and service is not None:
            self.rule = NoClientShutdown(scheduler, timeout, service.gateway.shutdown)
            self.task = asyncio.ensure_future(self.rule.run())

    def add_client(self, scheduler, client: str) -> None:
        if self.rule is not None and client != _NOT_A_CLIENT:
            self.rule.client_added()

    def remove_client(self, scheduler, client: str) -> None:
        if self.rule is not None:
            self.rule.client_removed(scheduler.loop.time())

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.task = None


def shutdown_text(name: str = "") -> str:
    """What a scheduler's clients are told as it stops (:meth:`IdleNoticePlugin.before_close`)."""
    name = name or os.environ.get("DASK_GATEWAY_CLUSTER_NAME", "")
    cluster = f"Dask cluster {name}" if name else "this Dask cluster"
    return (f"astrohub: {cluster} is shutting down (stopped by its owner, e.g. cluster.shutdown() or "
            "Gateway().stop_cluster() in another notebook, by an admin, by the gateway's idle timeout, or with the "
            "platform): computations still running on it are cancelled and their results are lost. Start a new "
            "cluster with gateway.new_cluster() (or run the notebook's cluster cell again) and run them again")


def dask_setup(scheduler) -> None:
    """The preload's entry point (``--preload platform_lib.idle_notice``): add :class:`IdleNoticePlugin` and
    :class:`NoClientShutdownPlugin`."""
    scheduler.add_plugin(IdleNoticePlugin())
    scheduler.add_plugin(NoClientShutdownPlugin())
