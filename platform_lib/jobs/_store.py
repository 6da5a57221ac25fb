"""Where jobs live on disk and how their files are written: one folder per job in the user's home.

Layout: ``<home>/.astrohub/jobs/<id>/`` holds ``spec.json`` (what to run, written once at submit),
``status.json`` (state and progress, rewritten atomically by the runner), ``result.parquet`` (unless
the spec names another output inside the home), ``log.txt`` (the runner's stdout/stderr) and
``cancel.json`` (:data:`CANCEL_FILE`: written by ``Job.cancel`` before it signals the runner, so the
runner tells the user's cancel from a SIGTERM sent by anything else, e.g. the platform stopping). Every
write goes to a temporary file in the same folder and is renamed over the target, so a reader never
sees half a file (:func:`platform_lib.atomic.write_atomic`). Imports only the standard library,
:mod:`platform_lib.atomic` and :mod:`platform_lib.processes` (whose ``process_alive`` and ``process_start_ticks``
it re-exports for the job modules).
"""

from __future__ import annotations

import json
import os
import secrets
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from platform_lib.atomic import write_atomic
from platform_lib.processes import process_alive, process_start_ticks

__all__ = [
    "CANCEL_FILE",
    "STATES",
    "FINISHED",
    "jobs_root",
    "new_job_id",
    "now_iso",
    "process_alive",
    "process_start_ticks",
    "read_json",
    "write_json_atomic",
]

STATES = ("queued", "running", "succeeded", "failed", "cancelled")
FINISHED = ("succeeded", "failed", "cancelled")
#: The file in a job's folder that says its owner cancelled it (``Job.cancel``).
CANCEL_FILE = "cancel.json"


def jobs_root(home: str | os.PathLike) -> Path:
    """The folder holding one sub-folder per job for the user whose home this is."""
    return Path(home) / ".astrohub" / "jobs"


def new_job_id() -> str:
    """A sortable, unique job id: UTC time plus random hex (``20261122T025100-3f9a1c2b``)."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(4)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write JSON to ``path`` via a temporary file and ``os.replace`` (atomic on POSIX); a failure (a full
    disk, data that is not JSON) leaves the old file and no temporary file."""
    write_atomic(path, json.dumps(data, indent=1, sort_keys=True, default=str))


def read_json(path: Path, *, retries: int = 5) -> dict[str, Any]:
    """Read a JSON file written by :func:`write_json_atomic` (retries cover a rename in progress on
    file systems where it is not atomic, such as some NFS clients)."""
    last: Exception | None = None
    for attempt in range(retries):
        try:
            with open(path, encoding="utf-8") as fh:
                return json.load(fh)
        except json.JSONDecodeError as exc:
            last = exc
            time.sleep(0.01 * (attempt + 1))
    raise last  # type: ignore[misc]
