"""Activity-aware culling, the server's side: work the browser does not see counts as activity.

The hub's idle culler (jupyterhub-idle-culler) stops a server whose last activity, as the hub knows
it, is older than its timeout. A kernel running a long computation with no browser attached, a Dask
cluster at work or a background job (``platform_lib.jobs``) sends no traffic through the proxy, so
without help the server looks idle and is culled mid-computation. :class:`Activity` checks every
``interval`` seconds for

- a busy kernel (the kernel manager's ``execution_state``, kept from the kernels' status messages),
- a running or pending Dask gateway cluster of the user (asked at most every 30 s; dask-gateway's own
  ``idle_timeout`` stops an idle cluster on its own, after which it no longer counts, and one whose clients have all
  gone, e.g. its kernel died, stops sooner: ``platform_lib.idle_notice``),
- a queued or running background job (``<home>/.astrohub/jobs/*/status.json`` whose process lives),
- a running nbgrader Validate (:func:`astrohub_server.validate.validating`: it runs the student's notebook in a
  child process while her browser waits without traffic),

and while there is any, reports the server active to the hub (``POST /users/<name>/activity`` with the
server's own token: the ``users:activity!user`` scope of the server role) and to jupyter_server (its
``api_last_activity``, which jupyterhub-singleuser reports as well).

Before a cull, the user is warned: when ``cull_timeout`` is set (``ASTROHUB_CULL_TIMEOUT``, by the hub
when it culls) and the server has been idle for more than ``cull_timeout - cull_warning`` seconds, the
warning is logged, emitted on jupyter_server's event bus (schema :data:`EVENT_SCHEMA`; the lab extension
``astrohub`` in ``labextension/``, a prebuilt one written by hand, shows it as a JupyterLab
notification, and any ``/api/events/subscribe`` client can) and served at ``GET <base>/astrohub/activity``
(JSON: what keeps the server busy, idle seconds, seconds until the cull, the warning). Reading that
route is not itself activity.

May import jupyter_server, tornado, traitlets, the standard library and ``validate``; dask_gateway when installed.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.ioloop import PeriodicCallback
from traitlets import Float, default
from traitlets.config import SingletonConfigurable

from astrohub_server.validate import validating

__all__ = ["Activity", "ActivityHandler", "EVENT_SCHEMA", "WARNING_CHARS", "running_jobs"]

#: Seconds between two questions to the Dask gateway (kernels and jobs are checked every ``interval``).
CLUSTER_CHECK_SECONDS = 30.0
#: The id of the cull warning's event schema on jupyter_server's event bus.
EVENT_SCHEMA = "https://astrohub.org/events/cull-warning"
_SCHEMA = {
    "$id": EVENT_SCHEMA,
    "version": "1",
    "title": "astrohub cull warning",
    "description": "This server has been idle and will be stopped by the hub's culler soon.",
    "type": "object",
    "properties": {
        "message": {"type": "string"},
        "idle_seconds": {"type": "number"},
        "cull_in_seconds": {"type": "number"},
    },
    "required": ["message", "cull_in_seconds"],
}


#: JupyterLab shows at most this many characters of a notification, so the warning is no longer.
WARNING_CHARS = 140


def _span(seconds: float) -> str:
    """``45 s`` below two minutes, else ``12 min``."""
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def _env_float(name: str, default: float, environ: Mapping[str, str] = os.environ) -> float:
    try:
        return float(environ.get(name, "") or default)
    except ValueError:
        return default


def _alive(pid: Any) -> bool:
    """Whether ``pid`` runs and is not a zombie: ``platform_lib.processes.process_alive`` written again,
    because this package never imports ``platform_lib`` (the same rule as ``numbacache``)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def running_jobs(home: str | os.PathLike | None) -> list[str]:
    """The ids of the background jobs in ``home`` that are queued, or running in a live process.

    Reads ``<home>/.astrohub/jobs/<id>/status.json`` (``platform_lib.jobs``' layout) without importing it.
    """
    found: list[str] = []
    if not home:
        return found
    root = Path(home) / ".astrohub" / "jobs"
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return found
    for entry in entries:
        try:
            status = json.loads((entry / "status.json").read_text())
        except (OSError, ValueError):
            continue
        state = status.get("state")
        if state == "running" and _alive(status.get("pid")):
            found.append(entry.name)
        elif state == "queued":
            found.append(entry.name)
    return found


def busy_kernels(kernel_manager) -> list[str]:
    """The ids of the kernels whose last status was ``busy``."""
    busy = []
    for kernel_id in list(kernel_manager.list_kernel_ids()):
        try:
            kernel = kernel_manager.get_kernel(kernel_id)
        except KeyError:
            continue
        if getattr(kernel, "execution_state", None) == "busy":
            busy.append(kernel_id)
    return busy


async def running_clusters() -> list[str]:
    """The user's running or pending Dask gateway clusters ([] when no gateway is configured or reachable)."""
    if not os.environ.get("DASK_GATEWAY__ADDRESS"):
        return []
    try:
        from dask_gateway import Gateway
    except ImportError:
        return []
    try:
        async with Gateway(asynchronous=True) as gateway:
            return sorted(report.name for report in await gateway.list_clusters())
    except Exception:  # noqa: BLE001 - an unreachable gateway keeps nothing alive
        return []


class Activity(SingletonConfigurable):
    """Reports busy kernels, Dask clusters, jobs and Validate runs to the hub as activity; warns before a cull."""

    interval = Float(
        help="Seconds between checks for busy kernels, running Dask clusters and jobs (ASTROHUB_ACTIVITY_INTERVAL, "
        "default 60). Keep it well below the culler's timeout.",
    ).tag(config=True)
    cull_timeout = Float(
        help="The hub culler's idle timeout in seconds (ASTROHUB_CULL_TIMEOUT; 0: the hub does not cull, no warning).",
    ).tag(config=True)
    cull_warning = Float(
        help="Warn this many seconds before the culler's timeout (ASTROHUB_CULL_WARNING, default 600).",
    ).tag(config=True)

    @default("interval")
    def _interval_default(self) -> float:
        return max(0.5, _env_float("ASTROHUB_ACTIVITY_INTERVAL", 60.0))

    @default("cull_timeout")
    def _cull_timeout_default(self) -> float:
        return max(0.0, _env_float("ASTROHUB_CULL_TIMEOUT", 0.0))

    @default("cull_warning")
    def _cull_warning_default(self) -> float:
        return max(0.0, _env_float("ASTROHUB_CULL_WARNING", 600.0))

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.serverapp = None
        self.reasons: dict[str, list[str]] = {"kernels": [], "clusters": [], "jobs": [], "validate": []}
        self.last_busy = 0.0
        self.warning: dict[str, Any] | None = None
        self._callback: PeriodicCallback | None = None
        self._clusters: tuple[float, list[str]] = (0.0, [])

    def start(self, serverapp) -> None:
        """Register the route and the event schema and start checking every ``interval`` seconds."""
        self.serverapp = serverapp
        base = serverapp.web_app.settings.get("base_url", "/")
        serverapp.web_app.add_handlers(".*$", [(url_path_join(base, "astrohub", "activity"), ActivityHandler)])
        try:
            serverapp.event_logger.register_event_schema(_SCHEMA)
        except Exception as exc:  # noqa: BLE001 - already registered (a second start), or an old jupyter_events
            self.log.debug("astrohub_server | cull warning schema not registered: %s", exc)
        self._callback = PeriodicCallback(self.check, self.interval * 1000)
        self._callback.start()

    def idle_seconds(self, now: float | None = None) -> float:
        """Seconds since the server's last activity (browser, API, kernels, or work reported busy)."""
        now = time.time() if now is None else now
        last = self.last_busy
        if self.serverapp is not None:
            try:
                last = max(last, self.serverapp.web_app.last_activity().timestamp())
            except Exception:  # noqa: BLE001 - no activity recorded yet
                pass
        return max(0.0, now - last) if last else 0.0

    def state(self) -> dict[str, Any]:
        idle = self.idle_seconds()
        cull_in = max(0.0, self.cull_timeout - idle) if self.cull_timeout else None
        return {"busy": {k: list(v) for k, v in self.reasons.items()}, "idle_seconds": round(idle, 1),
                "cull_timeout": self.cull_timeout or None, "cull_in_seconds": cull_in,
                "warning": self.warning}

    async def check(self) -> dict[str, list[str]]:
        """One round: find work in progress, report it, or warn when a cull is near."""
        app = self.serverapp
        reasons = {
            "kernels": busy_kernels(app.kernel_manager) if app is not None else [],
            "clusters": [],
            "jobs": running_jobs(os.environ.get("PLATFORM_HOME") or os.environ.get("HOME")),
            "validate": validating(),
        }
        checked, clusters = self._clusters
        if not any(reasons.values()) and time.monotonic() - checked >= max(self.interval, CLUSTER_CHECK_SECONDS):
            # only when nothing else keeps the server busy: a call to the gateway, not too often
            try:
                clusters = await asyncio.wait_for(running_clusters(), timeout=10)
            except asyncio.TimeoutError:
                clusters = []
            self._clusters = (time.monotonic(), clusters)
        reasons["clusters"] = clusters
        self.reasons = reasons
        if any(reasons.values()):
            self.last_busy = time.time()
            self.warning = None
            if app is not None:
                app.web_app.settings["api_last_activity"] = datetime.now(timezone.utc)
            await self.report()
        else:
            self.maybe_warn()
        return reasons

    def maybe_warn(self) -> None:
        if not self.cull_timeout:
            return
        idle = self.idle_seconds()
        if idle < self.cull_timeout - self.cull_warning:
            self.warning = None
            return
        if self.warning is not None:
            return
        cull_in = max(0.0, self.cull_timeout - idle)
        # At most WARNING_CHARS: JupyterLab cuts a notification's text there (the lab extension shows it).
        message = (f"This server has been idle for {_span(idle)} and will be stopped in about {_span(cull_in)}. "
                   "Save your work, or run something to keep it.")
        self.warning = {"message": message, "idle_seconds": round(idle, 1), "cull_in_seconds": round(cull_in, 1)}
        self.log.warning("astrohub_server | %s", message)
        try:
            self.serverapp.event_logger.emit(schema_id=EVENT_SCHEMA, data=self.warning)
        except Exception as exc:  # noqa: BLE001 - the warning is still logged and served
            self.log.debug("astrohub_server | cull warning event not emitted: %s", exc)

    async def report(self) -> None:
        """``POST /users/<name>/activity`` for this server, with the server's own token."""
        api, token, user = (os.environ.get(k) for k in ("JUPYTERHUB_API_URL", "JUPYTERHUB_API_TOKEN", "JUPYTERHUB_USER"))
        if not (api and token and user):
            return
        now = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
        server = os.environ.get("JUPYTERHUB_SERVER_NAME", "")
        body = json.dumps({"last_activity": now, "servers": {server: {"last_activity": now}}})
        request = HTTPRequest(url_path_join(api, "users", user, "activity"), method="POST", body=body,
                              headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
                              request_timeout=10)
        try:
            await AsyncHTTPClient().fetch(request)
        except Exception as exc:  # noqa: BLE001 - the next round reports again
            self.log.warning("astrohub_server | activity not reported to the hub: %s", exc)


class ActivityHandler(APIHandler):
    """``GET <base>/astrohub/activity``: what keeps the server busy, and the cull warning, if any."""

    _track_activity = False  # asking is not activity: a browser polling this must not keep a server alive

    @web.authenticated
    async def get(self) -> None:
        self.finish(json.dumps(Activity.instance().state()))
