"""Per-user credentials: each person's own password, stored hashed, and a limit on failed attempts.

Owns :class:`PasswordStore` (a SQLite file in the hub's state folder, one row per user: an scrypt
hash with its own salt; writes are transactions, so a crash leaves the old row) and
:class:`AttemptLimiter` (failed sign-in and registration attempts counted per user name and per
client address over a window; over the limit every attempt is refused until the window has passed,
even with the right password). Pure apart from the SQLite file; the clock is injected for tests.
May import the standard library only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
from collections import defaultdict, deque
from contextlib import closing
from pathlib import Path
from typing import Callable

__all__ = ["AttemptLimiter", "PasswordStore", "hash_password", "verify_password"]

_N, _R, _P = 2**14, 8, 1  # scrypt cost: ~16 MB, ~30 ms per hash


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$<salt hex>$<hash hex>`` for ``password``.

    Examples
    --------
    >>> verify_password("correct horse", hash_password("correct horse"))
    True
    """
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (a :func:`hash_password` value); constant time."""
    try:
        kind, salt, digest = stored.split("$")
    except ValueError:
        return False
    if kind != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=_N, r=_R, p=_P, dklen=32)
    return hmac.compare_digest(candidate.hex(), digest)


class PasswordStore:
    """Users' own password hashes in a SQLite file (created mode 0600)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            self.path.touch(mode=0o600)
        with self._db() as db:
            db.execute("CREATE TABLE IF NOT EXISTS passwords (name TEXT PRIMARY KEY, hash TEXT NOT NULL, "
                       "set_at REAL NOT NULL)")

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10, isolation_level="IMMEDIATE")

    def has(self, name: str) -> bool:
        """Whether ``name`` has set a password."""
        with closing(self._db()) as db:
            return db.execute("SELECT 1 FROM passwords WHERE name = ?", (name,)).fetchone() is not None

    def check(self, name: str, password: str) -> bool:
        """Whether ``password`` is ``name``'s password (``False`` when none is set)."""
        with closing(self._db()) as db:
            row = db.execute("SELECT hash FROM passwords WHERE name = ?", (name,)).fetchone()
        if row is None:
            hash_password(password)  # the same work either way: timing tells nothing about who registered
            return False
        return verify_password(password, row[0])

    def set_first(self, name: str, password: str) -> bool:
        """Set ``name``'s password if none is set yet; ``False`` (nothing changed) if one is."""
        value = hash_password(password)
        with closing(self._db()) as db, db:
            cursor = db.execute("INSERT OR IGNORE INTO passwords (name, hash, set_at) VALUES (?, ?, ?)",
                                (name, value, time.time()))
            return cursor.rowcount == 1

    def set(self, name: str, password: str) -> None:
        """Set or replace ``name``'s password (an admin, or the user with their old password)."""
        value = hash_password(password)
        with closing(self._db()) as db, db:
            db.execute("INSERT OR REPLACE INTO passwords (name, hash, set_at) VALUES (?, ?, ?)",
                       (name, value, time.time()))

    def forget(self, name: str) -> bool:
        """Remove ``name``'s password (they register again with the class code); whether one was set."""
        with closing(self._db()) as db, db:
            return db.execute("DELETE FROM passwords WHERE name = ?", (name,)).rowcount == 1


class AttemptLimiter:
    """At most ``max_failures`` failed attempts per key within ``window`` seconds.

    Keys are strings such as ``"user:bob"`` and ``"ip:10.0.0.5"``; an attempt is refused while any
    of its keys is over the limit.

    Examples
    --------
    >>> now = [0.0]
    >>> limiter = AttemptLimiter(max_failures=2, window=60, clock=lambda: now[0])
    >>> limiter.fail(["user:bob"]); limiter.fail(["user:bob"])
    >>> limiter.blocked(["user:bob", "ip:x"])
    60.0
    >>> now[0] = 61.0; limiter.blocked(["user:bob"])
    0.0
    """

    def __init__(self, max_failures: int = 5, window: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.max_failures = max_failures
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _trim(self, key: str, now: float) -> deque[float]:
        times = self._failures[key]
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def blocked(self, keys: list[str]) -> float:
        """Seconds until an attempt with ``keys`` is allowed again (0: allowed now)."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key in keys:
                times = self._trim(key, now)
                if len(times) >= self.max_failures:
                    wait = max(wait, times[-self.max_failures] + self.window - now)
        return wait

    def fail(self, keys: list[str]) -> None:
        """Count a failed attempt against each key."""
        now = self.clock()
        with self._lock:
            for key in keys:
                self._trim(key, now).append(now)

    def succeed(self, keys: list[str]) -> None:
        """A successful attempt clears the user's count (not the address's)."""
        with self._lock:
            for key in keys:
                if key.startswith("user:"):
                    self._failures.pop(key, None)
