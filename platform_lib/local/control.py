"""``up``, ``down`` and ``status`` as functions: what the ``astrohub`` command runs.

Owns :func:`up`, :func:`up_detached`, :func:`down`, :func:`status` and the start-up banner. Each
returns an exit status and raises :class:`~platform_lib.local.errors.LocalPlatformError` subclasses
for problems the user can fix.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

import psutil

from platform_lib.atomic import write_atomic
from platform_lib.local.config import LocalConfig, default_data_dir
from platform_lib.local.errors import AlreadyRunningError, LocalPlatformError, NotRunningError, StartupError
from platform_lib.local.layout import DataLayout
from platform_lib.local.owner import Owner
from platform_lib.local.plan import check_hub_settings, public_url
from platform_lib.local.ports import check_ports_free
from platform_lib.local.state import PlatformState
from platform_lib.local.supervisor import (
    Supervisor,
    check_no_orphans,
    check_system_users_possible,
    describe,
    find_proxy,
    stop_orphans,
)

__all__ = ["up", "up_detached", "down", "status", "banner"]

Echo = Callable[[str], None]


def _echo(line: str) -> None:
    print(line, flush=True)


def banner(config: LocalConfig, state: PlatformState) -> str:
    """The URL and first-login credentials, as printed by ``up``."""
    creds = state.stored_credentials()
    return "\n".join(
        [
            "",
            f"  astrohub is running at {public_url(config)}",
            f"  admin login:   {creds['admin_user']} / {creds['admin_password']}",
            *_user_lines(config, creds),
            f"  data:          {config.data_dir}",
            f"  sample data:   {_sample_data_line(config, state)}",
            f"  stop:          Ctrl-C, or `{command()} down --data-dir {config.data_dir}`",
            "",
        ]
    )


def command() -> str:
    """The ``astrohub`` command as a person types it in another shell: in a virtualenv (``make up``'s ``.venv``,
    whose ``bin`` is on no one's ``PATH`` but make's), its full path; else ``astrohub``."""
    if sys.prefix != sys.base_prefix:
        return str(Path(sys.executable).parent / "astrohub")
    return "astrohub"


def _sample_data_line(config: LocalConfig, state: PlatformState) -> str:
    from platform_lib.sampledata import MARKER, stale

    if not config.sample_data.enabled:
        return "off (sample_data.enabled = false)"
    out_of_date = stale(state.layout.datasets, mapping_dirs=config.archive.mappings)
    if not out_of_date:
        return "loaded (Hipparcos I/311, OpenNGC, star names, sample images; docs/sample-data.md)"
    if (state.layout.datasets / MARKER).exists():
        return (f"updating in the background after an upgrade or a change of archive.mappings "
                f"({', '.join(out_of_date)}; the old data is served "
                f"until then; log {state.layout.log('sampledata')})")
    return f"loading in the background, ready in about a minute (log {state.layout.log('sampledata')})"


def _user_lines(config: LocalConfig, creds: dict) -> list[str]:
    if config.auth.kind == "roster":
        return [
            f"  class code:    {creds['user_password']}  (people on the roster set their own password once at "
            f"{public_url(config)}hub/register)",
            f"  add people:    {command()} users add --csv roster.csv{_data_dir_option(config)}  (CSV: username[,groups])",
        ]
    if config.auth.kind == "shared-password":
        return [f"  other users:   any allowed name / {creds['user_password']}  (shared password: anybody "
                "who knows it can sign in as anybody; demos only)"]
    return [f"  other users:   sign up at {public_url(config)}hub/signup; approve at /hub/authorize"]


def _data_dir_option(config: LocalConfig) -> str:
    """`` --data-dir DIR`` when the platform's data directory is not the commands' default, else nothing."""
    return "" if config.data_dir == default_data_dir() else f" --data-dir {config.data_dir}"


def up(config: LocalConfig, *, owner: int | None = None, echo: Echo = _echo) -> int:
    """Start the platform in this process and stay in the foreground until Ctrl-C or ``down`` (or until
    process ``owner`` exits, when given)."""
    supervisor = Supervisor(config, owner=owner)
    supervisor.install_signal_handlers()
    t0 = time.monotonic()
    supervisor.start()
    echo(banner(config, supervisor.state) + f"  ready in {time.monotonic() - t0:.1f} s\n")
    status_code = supervisor.serve()
    supervisor.log(f"stopping ({supervisor.stop_reason or 'requested'})")
    supervisor.stop()
    supervisor.log("stopped")
    return status_code


def up_detached(config: LocalConfig, *, owner: int | None = None, echo: Echo = _echo) -> int:
    """Check, start the supervisor as a background process, wait until ready, print the banner.

    With ``owner`` (a pid), the supervisor stops the platform when that process exits.
    """
    if owner is not None:
        Owner(owner)  # a ConfigError now, rather than in the supervisor's log
    layout = DataLayout(config.data_dir)
    state = PlatformState(layout)
    find_proxy()
    check_system_users_possible(config)
    check_hub_settings(config, layout)
    layout.check_writable()
    check_no_orphans(state)
    if state.is_locked():
        pid = state.read_pid()
        raise AlreadyRunningError(
            f"astrohub is already running on {layout.root}" + (f" (pid {pid})" if pid else "")
            + "; stop it with `astrohub down` or use another --data-dir",
            path=str(layout.root),
            pid=pid,
        )
    check_ports_free(config.ports(), config.hub.ip)
    layout.state.mkdir(mode=0o700, exist_ok=True)
    layout.logs.mkdir(mode=0o700, exist_ok=True)
    config_json = layout.running_config
    write_atomic(config_json, config.model_dump_json(indent=2), mode=0o600)
    log_path = layout.log("supervisor")
    with open(log_path, "ab") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "platform_lib", "up", "--config-json", str(config_json),
             *(["--owner", str(owner)] if owner is not None else [])],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + config.hub.start_timeout * 2 + 30
    while True:
        if child.poll() is not None:
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-15:])
            raise StartupError(
                f"astrohub up failed (status {child.returncode}); see {log_path}:\n{tail}",
                component="supervisor",
                log=tail,
            )
        current = state.read_status()
        if current.get("ready") and current.get("pid") == child.pid:
            break
        if time.monotonic() > deadline:
            os.kill(child.pid, signal.SIGTERM)
            child.wait(60)
            raise StartupError(f"astrohub up did not become ready; see {log_path}", component="supervisor")
        time.sleep(0.1)
    echo(banner(config, state) + f"  supervisor pid {child.pid}, log {log_path}\n")
    return 0


def down(config: LocalConfig, *, timeout: float = 90.0, echo: Echo = _echo) -> int:
    """Stop the platform running on ``config.data_dir`` (SIGTERM to its supervisor) and wait."""
    state = PlatformState(DataLayout(config.data_dir))
    orphans = state.orphans()
    if orphans:
        echo(f"astrohub: the last astrohub on {config.data_dir} ended without stopping {describe(orphans)}; "
             "stopping them")
        stop_orphans(orphans)
        state.layout.status_file.unlink(missing_ok=True)
        echo("astrohub: stopped")
        return 0
    if not state.is_locked():
        raise NotRunningError(f"astrohub is not running on {config.data_dir}", value=str(config.data_dir))
    pid = state.read_pid()
    if pid is None:
        raise NotRunningError(f"no pid file in {state.layout.state}; is astrohub running there?")
    echo(f"astrohub: stopping pid {pid} on {config.data_dir}")
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while state.is_locked() or _alive(pid):
        if time.monotonic() > deadline:
            raise StartupError(f"astrohub (pid {pid}) did not stop within {timeout:.0f} s", component="supervisor")
        time.sleep(0.1)
    echo("astrohub: stopped")
    return 0


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _healthy(url: str, *, any_answer: bool = False) -> str:
    """``"ok"`` when ``url`` answers (``any_answer``: with any status below 500), else what went wrong."""
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return "ok" if response.status < 400 else f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        # The proxy's API answers 403 without its token: it is up.
        up = exc.code < 500 if any_answer else exc.code in (401, 403)
        return "ok" if up else f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return f"unreachable ({getattr(exc, 'reason', exc)})"


def status(config: LocalConfig, *, echo: Echo = _echo) -> int:
    """Print each component's pid and health; 0 when all are healthy, 1 when not, 3 when not running.

    The components are the processes ``up`` started, then the services the hub started (the classes
    service, group sync, the idle culler), as the hub's API lists them with their pids; a service with an
    address is healthy when it answers there (its API wants a token: any status below 500 will do).
    """
    state = PlatformState(DataLayout(config.data_dir))
    orphans = state.orphans()
    if orphans:
        echo(f"astrohub: not running on {config.data_dir}, but the last astrohub there ended without stopping "
             f"{describe(orphans)}; stop them with `astrohub down`")
        return 1
    if not state.is_locked():
        echo(f"astrohub: not running on {config.data_dir}")
        return 3
    current = state.read_status()
    echo(f"astrohub: supervisor pid {current.get('pid')} at {current.get('url')} "
         f"({'ready' if current.get('ready') else 'starting'})")
    ok = bool(current.get("ready"))
    from platform_lib.sampledata import loading_since

    since = loading_since(state.layout.datasets)
    if since is not None:
        echo(f"  sample data: loading, first load (started {since:.0f} s ago; log {state.layout.log('sampledata')}); "
             "searches of the sample images and catalogues find them when it ends")
    for name, info in current.get("components", {}).items():
        alive = psutil.pid_exists(info["pid"])
        health = _healthy(info["health_url"]) if alive else "not running"
        ok = ok and alive and health == "ok"
        echo(f"  {name:<18} pid {info['pid']:<8} {health:<12} {info['url']}")
    services, unknown = _hub_services(config)
    if unknown:
        echo(f"  services the hub runs: unknown ({unknown})")
        return 1
    for name, service in services.items():
        pid = int(service.get("pid") or 0)
        alive = pid > 0 and psutil.pid_exists(pid)
        url = service.get("url") or ""
        health = "not running" if not alive else _healthy(url, any_answer=True) if url else "ok"
        ok = ok and alive and health == "ok"
        echo(f"  {name:<18} pid {pid or '-':<8} {health:<12} {url or '(no address; started by the hub)'}")
    return 0 if ok else 1


def _hub_services(config: LocalConfig) -> tuple[dict[str, dict], str]:
    """The services the hub starts itself (classes, group sync, culler), by name, as its API reports them.

    Returns ``(services, "")``, or ``({}, why)`` when the hub cannot say. A service is hub-started when
    its model has a ``command``; ``pid`` is 0 while the hub has no process for it.
    """
    from platform_lib.local.admin import HubAdmin

    try:
        admin = HubAdmin.for_config(config)
        admin.timeout = 5.0
        response = admin.request("GET", "/services")
        answer = response.json() if response.status_code == 200 else None
    except LocalPlatformError as exc:
        return {}, str(exc)
    except (OSError, ValueError) as exc:  # requests' errors are OSErrors; a body that is not JSON
        return {}, f"the hub's /hub/api/services did not answer: {exc}"
    if not isinstance(answer, dict):
        return {}, f"the hub's /hub/api/services answered HTTP {response.status_code}"
    return {name: model for name, model in sorted(answer.items()) if model.get("command")}, ""
