"""The body of a detached job process: ``python -m platform_lib.jobs run <job dir>``.

This module owns one job's life inside its own process (its own session and process group, started
by :func:`platform_lib.jobs.submit`): read ``spec.json``, mark the job running, call the kind with a
progress callback that rewrites ``status.json`` atomically (with a ``history`` of the job's states and
the steps the kind records), write the result as Parquet or as a HATS
catalogue into the user's storage (temporary file or folder, then rename; a kind may write a HATS
result itself at ``JobContext.hats_output``, partition by partition; nothing partial is left), and
record ``succeeded``, ``failed`` (with the error) or ``cancelled`` (on SIGTERM, which :meth:`Job.cancel` sends to
the process group after writing ``cancel.json``), with the platform library's warnings the kind raised
(``warnings``: a crossmatch's ``DroppedRowsWarning`` for rows with NaN positions; :meth:`Job.result` warns them
again in the notebook, which never saw the job's output). A SIGTERM without
``cancel.json`` came from something else, in practice the platform stopping (``astrohub down`` stops
every process left, a pod is deleted): the job is recorded ``failed`` with :data:`STOPPED_ERROR`, which
says so, rather than ``cancelled`` as if its owner had cancelled it. A failed or cancelled job removes
its staging at once; a runner killed outright (SIGKILL, a crash) cannot, so every run first removes the
staging (``.<target name>.<pid>.tmp`` / ``.old``) that runners no longer alive left beside its target.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

from platform_lib.jobs._kinds import JobCancelled, JobContext, resolve_kind
from platform_lib.jobs._store import CANCEL_FILE, now_iso, process_alive, process_start_ticks, read_json, write_json_atomic

__all__ = ["run_job"]

PROGRESS_INTERVAL_S = 0.2


class _Status:
    """The job's status file, updated atomically; progress writes are throttled."""

    def __init__(self, job_dir: Path) -> None:
        self.path = job_dir / "status.json"
        self.data: dict[str, Any] = read_json(self.path) if self.path.exists() else {}
        self._last = 0.0

    def update(self, **fields: Any) -> None:
        now = now_iso()
        if "state" in fields and fields["state"] != self.data.get("state"):
            self.data.setdefault("history", []).append({"at": now, "state": fields["state"]})
        self.data.update(fields)
        self.data["updated"] = now
        write_json_atomic(self.path, self.data)

    def phase(self, name: str, details: dict[str, Any]) -> None:
        """Record a step the kind names (a TAP job's UWS phase...) in the history, with ``details``."""
        now = now_iso()
        self.data.setdefault("history", []).append({"at": now, "state": self.data.get("state"), "phase": name})
        self.update(message=name, **details)

    def progress(self, fraction: float, message: str) -> None:
        now = time.monotonic()
        if now - self._last >= PROGRESS_INTERVAL_S or fraction >= 1.0:
            self._last = now
            self.update(progress=fraction, message=message)


#: A job's error when its process was sent SIGTERM by anything but :meth:`Job.cancel`.
STOPPED_ERROR = ("the job was stopped before it finished because its process was told to stop (SIGTERM) "
                 "by something other than Job.cancel(): in practice the platform was stopped (`astrohub down`, "
                 "a restart, or its pod deleted); submit it again")


def _on_sigterm(signum: int, frame: Any) -> None:
    raise JobCancelled()


def _staging(target: Path) -> Path:
    """A temporary name beside ``target`` to write the result into before the rename."""
    return target.with_name(f".{target.name}.{os.getpid()}.tmp")


def _remove_dead_staging(target: Path) -> None:
    """Delete staging files and folders beside ``target`` whose runner process is gone."""
    if not target.parent.is_dir():
        return
    for entry in target.parent.glob(f".{target.name}.*"):
        pid = entry.name[len(target.name) + 2:].rpartition(".")[0]
        if not (entry.name.endswith((".tmp", ".old")) and pid.isdigit()) or int(pid) == os.getpid():
            continue
        if process_alive(int(pid)):
            continue  # that runner is still at work
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _catalog_name(target: Path) -> str:
    """A HATS result's catalogue name: its folder's name without ``.hats``."""
    return target.name.removesuffix(".hats") or "result"


def _write_result(table: Any, target: Path, fmt: str = "parquet", coords: list[str] | None = None,
                  home: Path | None = None) -> int:
    """Write the result atomically: into a temporary file (or folder) beside ``target``, then rename; within
    the home's quota (:func:`_within_quota`)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _staging(target)
    if fmt == "hats":
        _write_hats(table, tmp, coords, _catalog_name(target))
        _within_quota(home, tmp, target)
        _replace_folder(tmp, target)
    else:
        table.write(tmp, format="parquet", overwrite=True)
        _within_quota(home, tmp, target)
        os.replace(tmp, target)
    return len(table)


def _publish_hats(written: Path, target: Path, home: Path | None = None) -> int:
    """Move a HATS collection the kind wrote itself (at ``written``) to ``target``, within the home's quota; its
    row count."""
    from hats.catalog import TableProperties  # only for HATS results

    rows = TableProperties.read_from_dir(written / _catalog_name(target)).total_rows
    _within_quota(home, written, target)
    _replace_folder(written, target)
    return int(rows)


def _within_quota(home: Path | None, staged: Path, target: Path) -> None:
    """Refuse a result that takes the home over its quota (``platform_lib.storage``'s, as every write through
    Storage and Lab's saves are held to): a job's result was written past it without a word. The staged result
    is counted in the home's usage already; the result it replaces is not counted twice.

    Checked once the result is staged and before it is moved into place, which is as early as it can be without
    losing atomicity: its size is not known before it is written (Parquet's compression, a HATS catalogue's
    partitions and margin; the writers, pyarrow's and lsdb's, or a kind's own, have no hook to count bytes as they
    go), and the staging must lie beside the target, on the same filesystem, for the rename to be atomic (a staging
    area elsewhere, e.g. scratch, would make the move a copy that can be cut off half-way). While it is written the
    staging counts in the home's usage, as the bytes it holds on disk do."""
    if home is None:
        return
    from platform_lib.settings import get_settings
    from platform_lib.storage import QuotaExceeded, Storage, tree_bytes

    space = Storage(get_settings(home=home)).space("home")
    quota = space.quota_bytes()
    if quota is None:
        return
    used, _ = space.used_bytes()
    if used - tree_bytes(target) <= quota:
        return
    size = tree_bytes(staged)
    refused = QuotaExceeded.writing("home", f"the job's result {target.name}", quota=quota, used=used - size,
                                    needed=size)
    raise QuotaExceeded(f"{refused.message} Then submit the job again.", space="home", quota=quota,
                        used=used - size, needed=size)


def _replace_folder(new: Path, target: Path) -> None:
    """Rename the folder ``new`` to ``target``, replacing a previous ``target`` (renamed aside first:
    a folder cannot be renamed over a non-empty one)."""
    old = target.with_name(f".{target.name}.{os.getpid()}.old")
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    if old.exists():
        shutil.rmtree(old)


def _write_hats(table: Any, path: Path, coords: list[str] | None, name: str) -> None:
    """The table as a HATS catalogue (HEALPix partitions and a margin cache) at ``path``."""
    import lsdb  # only for HATS results

    from platform_lib.catalogs import cache_hats_kernels
    from platform_lib.jobs._errors import JobError

    names = list(table.colnames)
    if coords is None:
        coords = next((list(c) for c in (("ra", "dec"), ("ra_1", "dec_1")) if set(c) <= set(names)), None)
    if coords is None or not set(coords) <= set(names):
        raise JobError(f"a HATS result needs its (ra, dec) columns: give output_coords= (columns: "
                       f"{', '.join(names)})", code="bad-output", value=coords)
    if path.exists():
        shutil.rmtree(path)
    frame = table.to_pandas(index=False)
    cache_hats_kernels()  # lsdb's margin aligns and filters pixel trees (hats' numba): load, not compile
    catalog = lsdb.from_dataframe(frame, ra_column=coords[0], dec_column=coords[1], catalog_name=name,
                                  margin_threshold=5.0)
    catalog.write_catalog(path, progress_bar=False)  # lsdb's bars are no progress for the job's log


def run_job(job_dir: str | os.PathLike) -> int:
    """Run the job in ``job_dir`` to the end; the process exit code (0 succeeded, 1 failed, 2 cancelled)."""
    job_dir = Path(job_dir)
    spec = read_json(job_dir / "spec.json")
    status = _Status(job_dir)
    target, fmt = Path(spec["output"]), spec.get("output_format", "parquet")
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        if status.data.get("state") == "cancelled":  # cancelled before it started
            return 2
        _remove_dead_staging(target)
        pid = os.getpid()
        status.update(state="running", started=now_iso(), pid=pid, pgid=os.getpgid(0),
                      start_ticks=process_start_ticks(pid), progress=0.0, message="starting")
        for extra in spec.get("sys_path", []):
            if extra not in sys.path:
                sys.path.insert(0, extra)
        kind = resolve_kind(spec["kind"])
        hats_output = _staging(target) if fmt == "hats" and not spec.get("output_coords") else None
        if hats_output is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
        ctx = JobContext(job_id=spec["id"], home=Path(spec["home"]), job_dir=job_dir, report=status.progress,
                         record=status.phase,
                         hats_output=hats_output, hats_name=_catalog_name(target))
        with warnings.catch_warnings(record=True) as caught:
            result = kind.run(spec.get("params", {}), ctx)
        said = _said(caught)
        fields: dict[str, Any] = {"warnings": said} if said else {}
        if result is not None:
            if hats_output is not None and isinstance(result, Path) and result == hats_output:
                fields["rows"] = _publish_hats(hats_output, target, Path(spec["home"]))
            else:
                fields["rows"] = _write_result(result, target, fmt, spec.get("output_coords"), Path(spec["home"]))
            fields["result"] = spec["output"]
            fields["format"] = fmt
        status.update(state="succeeded", finished=now_iso(), progress=1.0, message="done", **fields)
        return 0
    except JobCancelled:
        _discard_staging(target)  # before the final state: whoever sees it sees the storage clean
        if not (job_dir / CANCEL_FILE).exists():  # not Job.cancel: the platform (or the server) stopped
            status.update(state="failed", finished=now_iso(), message="stopped with the platform",
                          error=STOPPED_ERROR)
            return 1
        status.update(state="cancelled", finished=now_iso(), message="cancelled")
        return 2
    except BaseException as exc:  # noqa: BLE001 - every failure must end in the status file
        _discard_staging(target)
        status.update(state="failed", finished=now_iso(), error=f"{type(exc).__name__}: {exc}",
                      traceback=traceback.format_exc(limit=20), message="failed")
        return 1
    finally:  # a result written only in part never stays in the user's storage
        _discard_staging(target)


def _said(caught: list[warnings.WarningMessage]) -> list[dict[str, str]]:
    """The warnings a kind raised, shown in the job's log as ever; the platform library's kept for its status
    (``category``: the class's module and name, ``message``), at most 20."""
    kept = []
    for one in caught:
        warnings.showwarning(one.message, one.category, one.filename, one.lineno)
        category = one.category
        if issubclass(category, UserWarning) and category.__module__.startswith("platform_lib.") and len(kept) < 20:
            kept.append({"category": f"{category.__module__}.{category.__qualname__}", "message": str(one.message)})
    return kept


def _discard_staging(target: Path) -> None:
    """Remove this runner's staging file or folder beside ``target``, if any."""
    staging = _staging(target)
    if staging.is_dir():
        shutil.rmtree(staging, ignore_errors=True)
    elif staging.exists():
        staging.unlink(missing_ok=True)
