"""The warning a dask-gateway scheduler gives its connected clients before the gateway's idle timeout stops it.

dask-gateway's ``idle_timeout`` counts tasks only: a notebook left open with a connected client loses its
cluster too, and its next Dask call would otherwise fail with a bare connection error. A :func:`notice_before`
ahead, and again when the shutdown is due, the scheduler sends distributed's ``print`` event, which a
``Client`` prints (in a notebook: under the cell last run), naming the cluster, the time left and how to keep
it. Clients do not keep a cluster alive: a running cluster counts as its owner's activity for the server
culler, so an abandoned notebook would keep both for ever.

This module is a Dask scheduler preload, ``--preload platform_lib.idle_notice``, which every astrohub gateway
passes to its schedulers (:mod:`astrohub_hub.gateway`: the local platform's ``dasknode`` schedulers and the
Helm chart's scheduler pods, which run the user image): its ``dask_setup`` adds :class:`IdleNoticePlugin`,
which reads the idle timeout of dask-gateway's own preload (``dask_gateway.scheduler_preload``, the
scheduler's ``gateway`` service) when the scheduler starts. Without that service it does nothing.

May import distributed (and the standard library) only: it runs in every scheduler process.
"""

from __future__ import annotations

import asyncio
import logging
import os

from distributed.diagnostics.plugin import SchedulerPlugin

__all__ = ["IdleNotice", "IdleNoticePlugin", "dask_setup", "notice_before", "shutdown_text"]

logger = logging.getLogger("distributed.scheduler.astrohub")


def notice_before(idle_timeout: float) -> float:
    """Seconds before the idle shutdown that clients are warned: a sixth of the timeout, at most 5 min."""
    return min(300.0, idle_timeout / 6)


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
        """When the scheduler last had work (a time of ``scheduler.loop.time()``'s clock); None: busy now."""
        s = self.scheduler
        if any(ws.processing for ws in s.workers.values()) or s.unrunnable:
            return None
        return s.transition_log[-1][-1] if s.transition_log else s.time_started

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
        if self.scheduler is not None and self.scheduler.clients:
            self.scheduler.log_event("print", {"args": (shutdown_text(),), "file": 2, "flush": True})
            await asyncio.sleep(0.1)  # the clients' batched streams send every few milliseconds

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
    """The preload's entry point (``--preload platform_lib.idle_notice``): add :class:`IdleNoticePlugin`."""
    scheduler.add_plugin(IdleNoticePlugin())
