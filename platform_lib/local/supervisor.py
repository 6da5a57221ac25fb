"""The supervisor: starts the platform's processes, watches them, and stops every one of them.

Owns :class:`Supervisor` and :func:`find_proxy`. Order of ``start``: check the data directory, take
the lock, check every port, then write state and config files and start the proxy, the hub and
dask-gateway as separate process groups; wait for each to answer its health URL. Any failure stops
what was started and releases the lock, so nothing is left half-started. The supervisor makes
itself a *child subreaper* (Linux ``PR_SET_CHILD_SUBREAPER``) so user servers and Dask processes
that outlive their parents are re-parented to it and are stopped too.

While it serves, a thread keeps users' ``datasets/images`` equal to the released part of the image
archive (``platform_lib.imageindex.publish_released`` from ``<data>/archive/images``): again when
the archive's index changes (checked every :data:`RELEASE_POLL_S` seconds) and when the next
proprietary period ends, so a file becomes visible on time without a restart.

A component that dies while serving is restarted (at most :data:`MAX_RESTARTS` times in
:data:`RESTART_WINDOW_S` seconds, then the platform stops; the archive, in
:data:`OPTIONAL_COMPONENTS`, is then left stopped instead): users' servers, jobs and Dask clusters
are not its children (their parents are the supervisor or a session of their own), so they keep
running, and a restarted hub finds its users' servers again. Before the hub is restarted, the
services the dead hub had started (``JUPYTERHUB_SERVICE_NAME`` in their environment, now adopted by
the supervisor) are stopped, since the new hub starts its own. A restarted proxy gets back the
routes of the last snapshot (taken every :data:`ROUTES_SNAPSHOT_S` seconds); the hub adds newer ones
on its next check. Adopted orphans that exit are reaped at once (no zombies).

With an *owner* (``astrohub up --owner PID``, :class:`~platform_lib.local.owner.Owner`), the platform
stops, by the same path as Ctrl-C, as soon as that process exits, while starting or serving: a test
session killed before its teardown leaves no platform behind.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, IO

import psutil

from platform_lib.local.config import LocalConfig
from platform_lib.local.errors import AlreadyRunningError, ConfigError, StartupError
from platform_lib.local.layout import DataLayout
from platform_lib.local.owner import Owner
from platform_lib.local.plan import (
    ComponentSpec,
    archive_paths,
    sample_data_command,
    check_hub_settings,
    hub_settings,
    plan_components,
    public_url,
    render_gateway_config,
    render_hub_config,
)
from platform_lib.atomic import write_atomic
from platform_lib.local.ports import check_ports_free
from platform_lib.local.state import Credentials, PlatformState
from platform_lib.processes import process_start_ticks
from platform_lib.storage import migrate_quota_files

__all__ = [
    "Supervisor",
    "find_proxy",
    "archive_command",
    "stop_process_tree",
    "check_system_users_possible",
    "check_no_orphans",
    "stop_orphans",
    "unreachable_by_others",
]

PR_SET_CHILD_SUBREAPER = 36
RELEASE_POLL_S = 2.0
#: A component that dies more than MAX_RESTARTS times within RESTART_WINDOW_S seconds stops the platform.
MAX_RESTARTS = 5
RESTART_WINDOW_S = 300.0
#: Components the platform runs on without (it stops restarting them instead of stopping everything).
OPTIONAL_COMPONENTS = ("archive",)
#: How often the proxy's routes are copied, to put them back into a restarted proxy.
ROUTES_SNAPSHOT_S = 5.0
STOP_GRACE = {"dask-gateway": 15.0, "hub": 20.0, "proxy": 5.0}


def _repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def find_proxy() -> str:
    """configurable-http-proxy from ``./.npm``, the checkout's ``.npm``, or ``PATH``."""
    for base in (Path.cwd(), _repo_root()):
        candidate = base / ".npm" / "node_modules" / ".bin" / "configurable-http-proxy"
        if candidate.exists():
            return str(candidate)
    found = shutil.which("configurable-http-proxy")
    if found:
        return found
    raise ConfigError(
        "configurable-http-proxy was not found in .npm/node_modules/.bin or on PATH; install it with "
        "`make install` (npm install --prefix .npm configurable-http-proxy@4)",
        key="proxy",
    )


def archive_command(bin_dir: Path) -> list[str] | None:
    """The archive service's command when ``astrohub-archive`` and its module are installed."""
    exe = bin_dir / "astrohub-archive"
    path = str(exe) if exe.exists() else shutil.which("astrohub-archive")
    if not path:
        return None
    try:
        spec = importlib.util.find_spec("astrohub_archive.app")
    except ImportError:
        spec = None
    return [path] if spec is not None else None


def unreachable_by_others(path: str) -> str | None:
    """The first folder above ``path`` (resolved) that other users cannot traverse, or None."""
    for folder in reversed(Path(path).resolve().parents):
        if not os.stat(folder).st_mode & 0o001:
            return str(folder)
    return None


def check_no_orphans(state: PlatformState) -> None:
    """Refuse to start beside the processes a supervisor that died left running (they hold the ports).

    Raises
    ------
    AlreadyRunningError
        Naming them and ``astrohub down``, which stops them.
    """
    orphans = state.orphans()
    if orphans:
        raise AlreadyRunningError(
            f"the last astrohub on {state.layout.root} ended without stopping {describe(orphans)}; stop them with "
            "`astrohub down`, then start again", path=str(state.layout.root), pid=None)


def stop_orphans(orphans: dict[str, int]) -> None:
    """Stop what :func:`check_no_orphans` names, last started first, as :meth:`Supervisor.stop` does: SIGTERM to
    each one's process group (the gateway stops its Dask clusters, the hub its users' servers), SIGKILL after its
    grace period."""
    for name, pid in reversed(orphans.items()):
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        deadline = time.monotonic() + STOP_GRACE.get(name, 10.0)
        while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
            if time.monotonic() > deadline:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                break
            time.sleep(0.1)


def describe(components: dict[str, int]) -> str:
    """``hub (pid 12), proxy (pid 13)``."""
    return ", ".join(f"{name} (pid {pid})" for name, pid in components.items())


def check_system_users_possible(config: LocalConfig) -> None:
    """When servers will run as system users, they must be able to run this Python.

    Raises
    ------
    ConfigError
        Naming the blocking folder and the two fixes.
    """
    as_system = config.users.run_as_system_users
    if as_system is None:
        as_system = os.geteuid() == 0
    if not as_system:
        return
    blocked = unreachable_by_others(sys.executable)
    if blocked:
        raise ConfigError(
            f"users' servers would run as system users, but they cannot run this Python ({sys.executable}): "
            f"{blocked} is not searchable by other users. Use a Python outside it, `chmod o+x {blocked}`, "
            "or set users.run_as_system_users = false (then users are not isolated from each other)",
            key="users.run_as_system_users",
            value=blocked,
        )


def check_mappings(config: LocalConfig) -> None:
    """Each of ``archive.mappings`` is a folder whose ``*.json`` are valid instrument mappings (a misspelt folder
    would index every image without them, and say nothing).

    Raises
    ------
    ConfigError
        Naming ``archive.mappings``, the folder and what is wrong with it.
    """
    from platform_lib.imageindex import ImageIndexError, load_mappings

    for folder in config.archive.mappings:
        if not Path(folder).is_dir():
            raise ConfigError(f"archive.mappings: {folder} is not a folder (of instrument mapping *.json files)",
                              key="archive.mappings", value=str(folder))
        try:
            load_mappings([Path(folder)])
        except (ImageIndexError, OSError, TypeError) as exc:  # a file that is no mapping
            raise ConfigError(f"archive.mappings: {exc}", key="archive.mappings", value=str(folder)) from exc


def _set_subreaper() -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def stop_process_tree(root_pid: int, timeout: float = 10.0) -> list[int]:
    """SIGTERM every descendant of ``root_pid`` (not the root), then SIGKILL what is left.

    Returns the pids that had to be killed.
    """
    try:
        children = psutil.Process(root_pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    for child in children:
        try:
            child.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(children, timeout=timeout)
    for child in alive:
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=5)
    return [p.pid for p in alive]


class Supervisor:
    """Runs the local platform described by a :class:`LocalConfig` in this process's children.

    Parameters
    ----------
    config
        The validated configuration.
    log
        Where progress lines go (default: print to stdout).
    owner
        The pid of a process whose exit stops the platform (``astrohub up --owner``); None: run until
        a stop is requested.
    """

    def __init__(
        self, config: LocalConfig, *, log: Callable[[str], None] | None = None, owner: int | None = None
    ) -> None:
        self.config = config
        self.owner_pid = owner
        self.owner: Owner | None = None
        self.layout = DataLayout(config.data_dir)
        self.state = PlatformState(self.layout)
        self.log = log or (lambda line: print(f"astrohub: {line}", flush=True))
        self.bin_dir = Path(sys.executable).parent
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.specs: list[ComponentSpec] = []
        self.credentials: Credentials | None = None
        self._logs: list[IO[bytes]] = []
        self._stop = threading.Event()
        self.stop_reason = ""
        #: The sample data's state for the banner; ``loader`` is its background process, if started.
        self.sample_data = ""
        self.loader: subprocess.Popen[bytes] | None = None

    # --- checks ----------------------------------------------------------------------------------
    def preflight(self) -> None:
        """Check everything that can be checked without starting anything; take the lock last.

        Order: the owner, the proxy program, the data directory, the lock, then the ports (so a second
        ``up`` reports "already running" rather than "port in use").
        """
        if self.owner_pid is not None:
            self.owner = Owner(self.owner_pid)
            self.log(f"owner pid {self.owner.pid}: the platform stops when it exits")
        self.proxy_command = find_proxy()
        check_system_users_possible(self.config)
        check_hub_settings(self.config, self.layout)
        check_mappings(self.config)
        self.layout.check_writable()
        check_no_orphans(self.state)
        self.state.acquire_lock()
        try:
            check_ports_free(self.config.ports(), self.config.hub.ip)
        except BaseException:
            self.state.release_lock()
            raise

    # --- start -----------------------------------------------------------------------------------
    def start(self) -> None:
        """Preflight, write state, start every component and wait until all are ready."""
        self.preflight()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        t0 = time.monotonic()
        self.layout.prepare()
        for root in self.layout.space_roots.values():  # quotas once kept inside the spaces, where members could change them
            for line in migrate_quota_files(root):
                self.log(f"quotas: {line}")
        config = self.config
        # what `astrohub users`, `classes` and `workspaces` read to reach this hub: `up --detach` wrote it for
        # its supervisor, the foreground `up` (what `make up` runs) did not, and they answered "no platform was started"
        write_atomic(self.layout.running_config, config.model_dump_json(indent=2), mode=0o600)
        self.credentials = self.state.credentials(
            config.auth.admin_user, config.auth.admin_password, config.auth.user_password
        )
        tokens = self.state.tokens()
        self.state.ensure_cookie_secret()
        archive = None
        if config.archive.enabled:
            archive = archive_command(self.bin_dir)
            if archive is None:
                self.log("archive service not installed (no `astrohub-archive` / astrohub_archive.app); skipping it")
            else:
                self.log(f"archive service: {' '.join(archive)} on port {config.archive.port}")
        settings = hub_settings(config, self.layout, self.credentials, tokens, archive_command=archive)
        write_atomic(self.layout.hub_config, render_hub_config(settings), mode=0o600)
        if config.gateway.enabled:
            write_atomic(self.layout.gateway_config, render_gateway_config(settings), mode=0o600)
        self.specs = plan_components(
            config, self.layout, tokens, proxy_command=self.proxy_command, bin_dir=self.bin_dir,
            python=sys.executable, archive_command=archive, proxy_uid=os.getuid(),
        )
        _set_subreaper()
        for spec in self.specs:
            self._spawn(spec)
        headers = {"proxy": {"Authorization": f"token {tokens['proxy']}"}}
        deadline = time.monotonic() + config.hub.start_timeout
        for spec in self.specs:
            self._wait_ready(spec, deadline, headers.get(spec.name, {}))
            self.log(f"{spec.name} ready ({time.monotonic() - t0:.1f} s)")
        self._write_status(ready=True)
        if config.archive.enabled:
            threading.Thread(target=self._publish_releases, name="astrohub-release", daemon=True).start()
        self._remove_replaced_catalogs()
        self._start_sample_data()

    def _remove_replaced_catalogs(self) -> None:
        """Remove the catalogue versions a replace kept for the queries reading them, once their time is up
        (``platform_lib.catalogs.remove_replaced``; an ingest does it too), ``archive.keep_replaced`` seconds."""
        from platform_lib.catalogs import KEEP_REPLACED_S, Registry, remove_replaced

        registry = Path(archive_paths(self.config, self.layout)[2])
        if not registry.exists():
            return
        try:
            keep = self.config.archive.keep_replaced
            removed = remove_replaced(Registry(registry, readonly=True), KEEP_REPLACED_S if keep is None else keep)
        except OSError as exc:  # never a reason not to serve
            self.log(f"catalogues: could not remove replaced versions: {exc}")
            return
        if removed:
            self.log(f"catalogues: removed {len(removed)} replaced version(s) no query reads any more")

    def _start_sample_data(self) -> None:
        """Load the sample data in a background process (``sample_data.enabled``); a no-op once loaded, unless an
        upgrade (or ``archive.mappings``, for the images) changed what an item is built from
        (``platform_lib.sampledata.stale``): that item is rebuilt."""
        from platform_lib.sampledata import LOADING, MARKER, stale

        command = sample_data_command(self.config, self.layout, sys.executable)
        if command is None:
            (self.layout.datasets / LOADING).unlink(missing_ok=True)  # a killed platform's load is not running
            self.sample_data = "off (sample_data.enabled = false)"
            return
        out_of_date = stale(self.layout.datasets, mapping_dirs=self.config.archive.mappings)
        if not out_of_date:
            self.sample_data = "loaded"
            return
        if (self.layout.datasets / MARKER).exists():
            self.log(f"sample data: out of date after an upgrade (or a change of archive.mappings), rebuilding: "
                     f"{', '.join(out_of_date)}")
        log = open(self.layout.log("sampledata"), "ab")
        self._logs.append(log)
        env = dict(os.environ)
        env.setdefault("OMP_NUM_THREADS", "1")
        self.loader = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        self.sample_data = f"loading in the background (log {self.layout.log('sampledata')})"
        self.log(f"sample data: {self.sample_data}")

    def _publish_releases(self) -> None:
        """Keep ``datasets/images`` the released part of the archive until the platform stops."""
        from platform_lib.imageindex import publish_released
        from platform_lib.imageindex.index import now_mjd

        index, data_root, _ = (Path(p) for p in archive_paths(self.config, self.layout))
        public = self.layout.released_images
        seen: tuple[int, int] | None = None
        due: float | None = None
        while not self._stop.wait(RELEASE_POLL_S):
            try:
                stat = index.stat()
            except OSError:
                continue
            mark = (stat.st_mtime_ns, stat.st_ino)
            if mark == seen and (due is None or now_mjd() < due):
                continue
            try:
                report = publish_released(index, data_root, public)
            except Exception as exc:  # noqa: BLE001 - keep serving; say why and retry on the next change
                self.log(f"publishing the released images failed: {type(exc).__name__}: {exc}")
                seen, due = mark, None
                continue
            seen, due = mark, report.next_release
            if report.linked or report.removed or report.view_rewritten:
                self.log(f"released images: {report.linked} published, {report.removed} withdrawn, "
                         f"{report.released_records} records released, {report.withheld_records} proprietary")

    def _env(self, spec: ComponentSpec) -> dict[str, str]:
        env = dict(os.environ)
        path = [str(self.bin_dir), str(Path(self.proxy_command).parent), env.get("PATH", "/usr/bin:/bin")]
        env["PATH"] = os.pathsep.join(path)
        env.update(spec.env)
        return env

    def _spawn(self, spec: ComponentSpec) -> None:
        log = open(self.layout.log(spec.name), "ab")
        self._logs.append(log)
        self.procs[spec.name] = subprocess.Popen(
            spec.argv,
            env=self._env(spec),
            cwd=spec.cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.log(f"started {spec.name} (pid {self.procs[spec.name].pid}), log {self.layout.log(spec.name)}")

    def _log_tail(self, name: str, lines: int = 15) -> str:
        try:
            text = self.layout.log(name).read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _wait_ready(self, spec: ComponentSpec, deadline: float, headers: dict[str, str]) -> None:
        proc = self.procs[spec.name]
        last = ""
        listening = spec.listens_on is None
        while True:
            if proc.poll() is not None:
                raise StartupError(
                    f"{spec.name} exited with status {proc.returncode} while starting; "
                    f"see {self.layout.log(spec.name)}:\n{self._log_tail(spec.name)}",
                    component=spec.name,
                    log=self._log_tail(spec.name),
                )
            try:
                if not listening:  # the port first: each poll through the proxy before it is a 503 in its log
                    socket.create_connection(spec.listens_on, timeout=2).close()
                    listening = True
                request = urllib.request.Request(spec.health_url, headers=headers)
                with urllib.request.urlopen(request, timeout=2) as response:
                    if response.status < 400:
                        return
            except (urllib.error.URLError, OSError) as exc:
                last = str(exc)
            self._check_owner()
            if self._stop.is_set():
                raise StartupError(f"start abandoned while waiting for {spec.name}: "
                                   f"{self.stop_reason or 'stop requested'}", component=spec.name)
            if time.monotonic() > deadline:
                raise StartupError(
                    f"{spec.name} did not answer {spec.health_url} within {self.config.hub.start_timeout:.0f} s "
                    f"(last error: {last}); see {self.layout.log(spec.name)}:\n{self._log_tail(spec.name)}",
                    component=spec.name,
                    log=self._log_tail(spec.name),
                )
            self._stop.wait(0.1)

    def _write_status(self, *, ready: bool) -> None:
        self.state.write_status(
            {
                "pid": os.getpid(),
                "ready": ready,
                "url": public_url(self.config),
                "data_dir": str(self.layout.root),
                "components": {
                    spec.name: {
                        "pid": self.procs[spec.name].pid,
                        "start_ticks": process_start_ticks(self.procs[spec.name].pid),
                        "url": spec.url,
                        "health_url": spec.health_url,
                    }
                    for spec in self.specs
                    if spec.name in self.procs
                },
            }
        )

    # --- run -------------------------------------------------------------------------------------
    def request_stop(self, reason: str = "") -> None:
        """Ask :meth:`serve` to return (safe from a signal handler)."""
        self.stop_reason = self.stop_reason or reason
        self._stop.set()

    def _check_owner(self) -> None:
        """Request a stop when the owner has exited."""
        if self.owner is not None and not self._stop.is_set() and self.owner.gone():
            self.request_stop(f"owner pid {self.owner.pid} exited")

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, lambda signum, _frame: self.request_stop(signal.Signals(signum).name))

    def serve(self) -> int:
        """Block until a stop is requested or a component keeps dying; returns the exit status to use."""
        restarts: dict[str, list[float]] = {}
        routes: dict | None = None
        snapshot_at = 0.0
        while not self._stop.wait(0.5):
            self._check_owner()
            if self._stop.is_set():
                break
            self.reap_orphans()
            if time.monotonic() - snapshot_at > ROUTES_SNAPSHOT_S:
                routes = self._proxy_routes() or routes
                snapshot_at = time.monotonic()
            for name, proc in list(self.procs.items()):
                if proc.poll() is None:
                    continue
                now = time.monotonic()
                recent = [t for t in restarts.get(name, []) if now - t < RESTART_WINDOW_S]
                self.log(self._log_tail(name))
                if len(recent) >= MAX_RESTARTS and name in OPTIONAL_COMPONENTS:
                    self.log(f"{name} exited with status {proc.returncode}, the {len(recent) + 1}th time in "
                             f"{RESTART_WINDOW_S:.0f} s; no longer restarting it (see {self.layout.log(name)}; "
                             "the rest of the platform keeps running)")
                    del self.procs[name]
                    self._write_status(ready=True)
                    continue
                if len(recent) >= MAX_RESTARTS:
                    self.log(f"{name} exited with status {proc.returncode}, the {len(recent) + 1}th time in "
                             f"{RESTART_WINDOW_S:.0f} s; stopping the platform")
                    self.request_stop(f"{name} exited")
                    return 1
                restarts[name] = [*recent, now]
                self.log(f"{name} exited unexpectedly with status {proc.returncode}; restarting it (users' "
                         "servers, jobs and clusters keep running)")
                try:
                    self._restart(name, routes)
                except StartupError as exc:
                    self.log(f"{name} did not come back: {exc}")
        return 0

    def reap_orphans(self) -> list[int]:
        """Collect adopted children that have exited (not the components: their Popen does); their pids."""
        own = {proc.pid for proc in self.procs.values()}
        reaped = []
        try:
            children = psutil.Process().children()
        except psutil.Error:
            return reaped
        for child in children:
            if child.pid in own:
                continue
            try:
                if child.status() != psutil.STATUS_ZOMBIE:
                    continue
                pid, _ = os.waitpid(child.pid, os.WNOHANG)
            except (psutil.Error, ChildProcessError):
                continue
            if pid:
                reaped.append(pid)
        return reaped

    def _proxy_routes(self) -> dict | None:
        spec = next((s for s in self.specs if s.name == "proxy"), None)
        if spec is None or "proxy" not in self.procs or self.procs["proxy"].poll() is not None:
            return None
        import json

        request = urllib.request.Request(spec.health_url, headers=self._proxy_headers())
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def _proxy_headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.state.tokens()['proxy']}"}

    def _restore_routes(self, routes: dict) -> None:
        import json

        spec = next(s for s in self.specs if s.name == "proxy")
        base = spec.health_url  # .../api/routes
        for path, route in routes.items():
            body = {k: v for k, v in route.items() if k not in ("last_activity",)}
            request = urllib.request.Request(f"{base}{path}", data=json.dumps(body).encode(), method="POST",
                                             headers={**self._proxy_headers(), "Content-Type": "application/json"})
            try:
                urllib.request.urlopen(request, timeout=5).close()
            except (urllib.error.URLError, OSError) as exc:
                self.log(f"could not restore the proxy route {path}: {exc}")

    def _stop_orphaned_services(self) -> None:
        """Stop the services a dead hub started (adopted by us); its successor starts its own."""
        own = {proc.pid for proc in self.procs.values()}
        found = []
        for child in psutil.Process().children():
            try:
                if child.pid not in own and "JUPYTERHUB_SERVICE_NAME" in child.environ():
                    found.append(child)
            except psutil.Error:
                continue
        for child in found:
            stop_process_tree(child.pid, timeout=5.0)
            try:
                child.terminate()
            except psutil.Error:
                pass
        _, alive = psutil.wait_procs(found, timeout=10)
        for child in alive:
            try:
                child.kill()
            except psutil.Error:
                pass
        self.reap_orphans()

    def _restart(self, name: str, routes: dict | None) -> None:
        spec = next(s for s in self.specs if s.name == name)
        old = self.procs[name]
        try:
            os.killpg(old.pid, signal.SIGKILL)  # what is left of its process group
        except (ProcessLookupError, PermissionError):
            pass
        if name == "hub":
            self._stop_orphaned_services()
        self._spawn(spec)
        headers = self._proxy_headers() if name == "proxy" else {}
        self._wait_ready(spec, time.monotonic() + self.config.hub.start_timeout, headers)
        if name == "proxy" and routes:
            self._restore_routes({k: v for k, v in routes.items() if k != "/"})
        self._write_status(ready=True)
        self.log(f"{name} restarted (pid {self.procs[name].pid})")

    # --- stop ------------------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop every component (gateway, hub, proxy, in that order), then every remaining descendant."""
        if self.loader is not None and self.loader.poll() is None:
            try:
                os.killpg(self.loader.pid, signal.SIGTERM)
                self.loader.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
            from platform_lib.sampledata import LOADING

            (self.layout.datasets / LOADING).unlink(missing_ok=True)  # stopped by a signal: its `finally` did not run
        for spec in reversed(self.specs):
            proc = self.procs.get(spec.name)
            if proc is None or proc.poll() is not None:
                continue
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            try:
                proc.wait(timeout=STOP_GRACE.get(spec.name, 10.0))
            except subprocess.TimeoutExpired:
                self.log(f"{spec.name} did not stop in time; killing it")
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
            self.log(f"stopped {spec.name}")
        killed = stop_process_tree(os.getpid(), timeout=10.0)
        if killed:
            self.log(f"killed {len(killed)} leftover process(es): {killed}")
        for log in self._logs:
            log.close()
        self._logs.clear()
        self.state.release_lock()
