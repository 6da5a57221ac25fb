"""The state directory's contents: credentials, tokens, the cookie secret, the lock, pid and status.

Owns :class:`PlatformState`. Secrets are generated on first run and kept (0600, written atomically by
:func:`platform_lib.atomic.write_atomic`);
the lock is an ``fcntl`` lock held by the running supervisor for its whole life, so a second
``astrohub up`` on the same data directory fails before touching anything.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, IO

from platform_lib.atomic import write_atomic
from platform_lib.local.errors import AlreadyRunningError
from platform_lib.local.layout import DataLayout
from platform_lib.processes import process_alive

__all__ = ["PlatformState", "Credentials"]

TOKEN_NAMES = ("proxy", "gateway", "archive", "cli", "classes")


@dataclass(frozen=True)
class Credentials:
    """The first-login credentials printed by ``astrohub up``."""

    admin_user: str
    admin_password: str
    user_password: str


class PlatformState:
    """Reads and writes ``<data>/state``."""

    def __init__(self, layout: DataLayout) -> None:
        self.layout = layout
        self._lock: IO[str] | None = None

    # --- lock and pid --------------------------------------------------------------------------
    def acquire_lock(self) -> None:
        """Take the data directory's lock and write the pid file.

        Raises
        ------
        AlreadyRunningError
            Another ``astrohub up`` holds it (its pid is named).
        """
        self.layout.state.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle = open(self.layout.lock_file, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            pid = self.read_pid()
            raise AlreadyRunningError(
                f"astrohub is already running on {self.layout.root}"
                + (f" (pid {pid})" if pid else "")
                + "; stop it with `astrohub down` or use another --data-dir",
                path=str(self.layout.root),
                pid=pid,
            ) from None
        self._lock = handle
        write_atomic(self.layout.pid_file, f"{os.getpid()}\n", mode=0o644)

    def release_lock(self) -> None:
        """Remove the pid and status files and drop the lock."""
        if self._lock is None:
            return
        self.layout.pid_file.unlink(missing_ok=True)
        self.layout.status_file.unlink(missing_ok=True)
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        self._lock.close()
        self._lock = None

    def is_locked(self) -> bool:
        """Whether some process holds the lock (probe without keeping it)."""
        if not self.layout.lock_file.exists():
            return False
        with open(self.layout.lock_file, "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False

    def orphans(self) -> dict[str, int]:
        """The components a supervisor that died without stopping them (SIGKILL, the OOM killer) left running.

        ``{name: pid}`` in the order they were started, only while nobody holds the lock: the status file of a
        supervisor that stopped cleanly is gone, and a component counts only when its pid runs and started when
        the status file says (``start_ticks``), so a reused pid is never taken for it.
        """
        if self.is_locked():
            return {}
        components = self.read_status().get("components", {})
        return {name: info["pid"] for name, info in components.items()
                if info.get("start_ticks") is not None and process_alive(info.get("pid"), info["start_ticks"])}

    def read_pid(self) -> int | None:
        """The running supervisor's pid, or None."""
        try:
            return int(self.layout.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    # --- secrets ---------------------------------------------------------------------------------
    def _load_json(self, path: Path) -> dict[str, Any]:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return {}

    def stored_credentials(self) -> dict[str, Any]:
        """What ``credentials.json`` (the admin's password) and ``class-code.json`` (the class code) keep (empty
        before the first start). A class code kept in ``credentials.json`` by older versions counts until the next
        start moves it."""
        admin = self._load_json(self.layout.credentials_file)
        code = self._load_json(self.layout.class_code_file).get("user_password") or admin.get("user_password")
        return {**{k: v for k, v in admin.items() if k != "user_password"}, **({"user_password": code} if code else {})}

    def kept_in(self, key: str) -> Path:
        """The file that keeps ``key`` (``admin_password`` or ``user_password``) now: the one to delete to renew it."""
        if key == "user_password" and "user_password" not in self._load_json(self.layout.class_code_file):
            if "user_password" in self._load_json(self.layout.credentials_file):
                return self.layout.credentials_file  # kept there by an older version, until the next start
        return self.layout.class_code_file if key == "user_password" else self.layout.credentials_file

    def credentials(self, admin_user: str, admin_password: str = "", user_password: str = "") -> Credentials:
        """The configured passwords, else those kept in ``credentials.json`` / ``class-code.json`` (generated on
        first run).

        A password once configured stays in use after its key is removed from ``astrohub.toml``: people
        know it. Deleting ``credentials.json`` while the platform is stopped has a new admin password generated and
        keeps the class code (every student's way to register); deleting ``class-code.json`` renews the class code.
        """
        stored = self.stored_credentials()
        creds = Credentials(
            admin_user=admin_user,
            admin_password=admin_password or stored.get("admin_password") or secrets.token_urlsafe(32),
            user_password=user_password or stored.get("user_password") or secrets.token_urlsafe(9),
        )
        admin = {"admin_user": creds.admin_user, "admin_password": creds.admin_password}
        if self._load_json(self.layout.class_code_file) != {"user_password": creds.user_password}:
            write_atomic(self.layout.class_code_file, json.dumps({"user_password": creds.user_password}, indent=2),
                         mode=0o600)
        if self._load_json(self.layout.credentials_file) != admin:
            write_atomic(self.layout.credentials_file, json.dumps(admin, indent=2), mode=0o600)
        return creds

    def tokens(self) -> dict[str, str]:
        """API tokens by component (``proxy``, ``gateway``, ``archive``, ``cli``, ``classes``), generated once."""
        stored = self._load_json(self.layout.tokens_file)
        tokens = {name: stored.get(name) or secrets.token_hex(32) for name in TOKEN_NAMES}
        if stored != tokens:
            write_atomic(self.layout.tokens_file, json.dumps(tokens, indent=2), mode=0o600)
        return tokens

    def ensure_cookie_secret(self) -> Path:
        """The hub's cookie secret file (hex, 0600), created once."""
        path = self.layout.cookie_secret_file
        if not path.exists():
            write_atomic(path, secrets.token_hex(32) + "\n", mode=0o600)
        return path

    # --- status ------------------------------------------------------------------------------------
    def write_status(self, status: dict[str, Any]) -> None:
        write_atomic(self.layout.status_file, json.dumps(status, indent=2), mode=0o644)

    def read_status(self) -> dict[str, Any]:
        return self._load_json(self.layout.status_file)
