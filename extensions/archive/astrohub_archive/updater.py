"""The archive's scheduled index maintenance: build the index if missing, then update it every N seconds.

One background thread per service process. Each round calls
:func:`platform_lib.imageindex.update_index` (which builds from scratch when there is no index),
holding the index's writer lock without waiting: when another writer (``astrohub archive update``
from cron, or a second service replica) holds it, the round is skipped and logged. Updates are
atomic, so queries served meanwhile see the old or the new index. Files are read in this process
(``workers=1``): forking worker processes from a threaded server is unsafe, and a daily update reads
only new and changed files; build very large trees once with ``astrohub archive index``. After an upgrade that
changed how records are derived, or a change of the operator's mappings (``--mappings``), the next round (the first
at start) reads every file again (``rederived``, logged).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from platform_lib.imageindex import ImageIndexError, update_index

__all__ = ["IndexUpdater", "DEFAULT_UPDATE_EVERY"]

log = logging.getLogger("astrohub_archive")

#: Seconds between incremental updates when ``--update-every`` is not given: daily.
DEFAULT_UPDATE_EVERY = 86400.0


@dataclass
class IndexUpdater:
    """Runs ``update_index(index_path, data_root)`` now and then every ``every`` seconds (0: never)."""

    index_path: Path
    data_root: Path
    every: float = DEFAULT_UPDATE_EVERY
    mapping_dirs: list[Path] = field(default_factory=list)
    rounds: int = 0
    last_report: object | None = None
    last_error: str | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def run_once(self) -> None:
        """One round: update (or build) the index; failures are logged, never raised."""
        try:
            report = update_index(self.index_path, self.data_root, mapping_dirs=self.mapping_dirs or None,
                                  workers=1, lock_timeout=0)
        except ImageIndexError as exc:
            self.last_error = str(exc)
            level = logging.INFO if exc.code == "index-locked" else logging.ERROR
            log.log(level, "index update skipped: %s", exc)
        except Exception as exc:  # keep serving the last good index
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("index update failed; the previous index stays in service")
        else:
            self.last_report, self.last_error = report, None
            log.info("index updated: %d records (+%d, ~%d, -%d), %d skipped, %.1f s%s", report.indexed, report.added,
                     report.updated, report.removed, len(report.skipped), report.seconds,
                     "; every file read again: the index was derived otherwise (an upgrade, or a change of the "
                     "instrument mappings)" if report.rederived else "")
        finally:
            self.rounds += 1

    def _loop(self) -> None:
        if not Path(self.index_path).exists() or self.every > 0:
            self.run_once()
        while self.every > 0 and not self._stop.wait(self.every):
            self.run_once()

    def start(self) -> None:
        """Start the background thread (builds a missing index at once, even with ``every=0``)."""
        if self.every <= 0 and Path(self.index_path).exists():
            return
        self._thread = threading.Thread(target=self._loop, name="archive-index-updater", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
