"""Whether a process still runs: the one check behind every "is the writer of this file gone?" decision.

Used by :mod:`platform_lib.jobs` (a runner's status and its staging files) and :mod:`platform_lib.catalogs`
(a killed ingest's temporary folders). Imports only the standard library.
"""

from __future__ import annotations

import os

__all__ = ["process_alive", "process_start_ticks"]


def process_start_ticks(pid: int) -> int | None:
    """The start time of process ``pid`` in clock ticks since boot (Linux ``/proc``), or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            stat = fh.read()
    except OSError:
        return None
    # the command name is in parentheses and may contain spaces: split after the last ')'
    fields = stat[stat.rfind(")") + 2 :].split()
    return int(fields[19])


def process_alive(pid: int | None, start_ticks: int | None = None) -> bool:
    """Whether ``pid`` runs (not a zombie) and, when given, started at ``start_ticks`` (no PID reuse).

    A process of another user (``kill(0)`` refused) counts as running.
    """
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            stat = fh.read()
    except OSError:
        return True  # no /proc (not Linux): trust kill(0)
    fields = stat[stat.rfind(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return False
    return start_ticks is None or int(fields[19]) == start_ticks
