"""Job handles for notebooks: submit, look up, list, watch, cancel and collect background jobs.

This module owns the notebook side of a job: :func:`submit` validates the parameters, writes the spec
into ``<home>/.astrohub/jobs/<id>/`` and starts ``python -m platform_lib.jobs run <dir>`` detached
(its own session, so closing the notebook or restarting the kernel does not stop it);
:class:`Job` reads the status file and its history, waits, cancels (SIGTERM to the job's process group,
SIGKILL after a grace period), reads the result (Parquet, or a HATS catalogue) back as an astropy
Table, and saves it elsewhere in the user's storage (``platform_lib.storage``). Any
process that can read the user's home can follow any of the user's jobs: nothing is kept in memory.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import threading
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from astropy.table import Table

from platform_lib.jobs._errors import JobError, JobFailedError, JobNotFinishedError, UnknownJobError
from platform_lib.jobs._kinds import OUTPUT_FORMATS, resolve_kind, storage_space
from platform_lib.jobs._sources import job_sources, sort_key
from platform_lib.jobs._state import JobState
from platform_lib.jobs._store import (
    CANCEL_FILE,
    FINISHED,
    jobs_root,
    new_job_id,
    now_iso,
    process_alive,
    read_json,
    write_json_atomic,
)
from platform_lib.jobs._wait import poll_until
from platform_lib.settings import PlatformSettings, get_settings

__all__ = ["Job", "get_job", "list_jobs", "submit"]

POLL_S = 0.05


def _jsonable(value: Any) -> Any:
    """``value`` with paths as strings and angles/quantities as ``"<value> <unit>"`` (what job kinds read)."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "unit") and hasattr(value, "value") and getattr(value, "isscalar", False):
        return f"{value.value} {value.unit}"
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return value


class Job:
    """A handle on one background job (cheap: it only remembers the job's folder).

    Examples
    --------
    >>> from platform_lib import jobs
    >>> job = jobs.submit("crossmatch", {"left": "a.parquet", "right": "b.parquet",
    ...                                  "radius": "1 arcsec"})           # doctest: +SKIP
    >>> job.wait(timeout=600, progress=True)                              # doctest: +SKIP
    'succeeded'
    >>> table = job.result()                                              # doctest: +SKIP
    """

    def __init__(self, job_dir: Path) -> None:
        self.dir = Path(job_dir)
        self.id = self.dir.name

    def __repr__(self) -> str:
        info = self.info()
        error = f": {info['error']}" if info.get("error") else ""
        return f"<Job {self.id} {info.get('kind')} {info.get('state')} {100 * info.get('progress', 0):.0f}%{error}>"

    # -- reading state ------------------------------------------------------------------------

    @property
    def spec(self) -> dict[str, Any]:
        return read_json(self.dir / "spec.json")

    def info(self) -> dict[str, Any]:
        """The status record (``state``, ``progress``, ``message``, ``error``, times, ``rows`` ...).

        A job recorded as running whose process has disappeared (killed, machine restarted) is
        reported, and recorded, as ``failed``.
        """
        data = read_json(self.dir / "status.json")
        if data.get("state") == "running" and not process_alive(data.get("pid"), data.get("start_ticks")):
            fresh = read_json(self.dir / "status.json")  # it may have finished meanwhile
            if fresh.get("state") == "running":
                fresh.update(state="failed", finished=now_iso(), message="failed",
                             error="the job process ended without recording a result (killed: out of memory, "
                                   "or the platform was stopped?)")
                write_json_atomic(self.dir / "status.json", fresh)
            data = fresh
        elif data.get("state") == "queued":
            launch = self._launch()
            if launch and not process_alive(launch.get("pid")):
                fresh = read_json(self.dir / "status.json")
                if fresh.get("state") == "queued":
                    fresh.update(state="failed", finished=now_iso(), message="failed",
                                 error="the job process ended before it started (see log.txt)")
                    write_json_atomic(self.dir / "status.json", fresh)
                data = fresh
        return data

    def _launch(self) -> dict[str, Any] | None:
        path = self.dir / "launch.json"
        return read_json(path) if path.exists() else None

    def status(self) -> str:
        """``queued``, ``running``, ``succeeded``, ``failed`` or ``cancelled``."""
        return self.info()["state"]

    @property
    def progress(self) -> float:
        """Fraction done, in [0, 1], as last reported by the job."""
        return float(self.info().get("progress", 0.0))

    @property
    def done(self) -> bool:
        return self.status() in FINISHED

    # -- waiting and stopping -----------------------------------------------------------------

    def wait(self, timeout: float | None = None, *, progress: bool = False) -> JobState:
        """Wait until the job finishes or ``timeout`` seconds pass; returns the state.

        The state is a :class:`JobState`, a ``str`` (``== "failed"`` works) whose ``error`` is the
        job's error when it failed, shown with it in a notebook. With ``progress=True`` a tqdm
        progress bar follows the job (in a notebook, tqdm's widget); a failed job's bar names the
        error. Interrupting the wait (Ctrl-C, the stop button) does not stop the job.
        """
        def show(bar, info: dict[str, Any], finished: bool) -> None:
            bar.n = round(100 * float(info.get("progress", 0)))
            if finished and info.get("error"):
                bar.set_description_str(f"job {self.id} {info['state']}")
                bar.set_postfix_str(f"{info['error']} (job.log() has its output)", refresh=True)
            else:
                bar.set_postfix_str(info.get("message", ""), refresh=True)

        info, _ = poll_until(self.info, lambda info: info["state"] in FINISHED, every=POLL_S, timeout=timeout,
                             bar=dict(total=100, desc=f"job {self.id}", unit="%") if progress else None, show=show)
        return JobState(info["state"], info.get("error"))

    def cancel(self, *, grace: float = 5.0) -> str:
        """Stop the job: SIGTERM to its process group, SIGKILL after ``grace`` seconds; returns the
        final state (a finished job is left as it is)."""
        info = self.info()
        if info["state"] in FINISHED:
            return info["state"]
        launch = self._launch() or {}
        pgid = info.get("pgid") or launch.get("pgid")
        write_json_atomic(self.dir / CANCEL_FILE, {"at": now_iso()})  # before the signal: the runner reads it
        if info["state"] == "queued":
            # not started yet: record the cancellation; the runner checks for it before starting
            info.update(state="cancelled", finished=now_iso(), message="cancelled before start")
            write_json_atomic(self.dir / "status.json", info)
        if pgid:
            try:
                os.killpg(pgid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        pid = info.get("pid") or launch.get("pid")
        _, gone = poll_until(lambda: process_alive(pid, info.get("start_ticks")), lambda alive: not alive,
                             every=POLL_S, timeout=grace)
        if not gone:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        final = read_json(self.dir / "status.json")
        if final.get("state") not in FINISHED:
            final.update(state="cancelled", finished=now_iso(), message="cancelled (killed)")
            write_json_atomic(self.dir / "status.json", final)
        return final["state"]

    # -- results --------------------------------------------------------------------------------

    def result(self) -> Table:
        """The result as an astropy Table (read from the Parquet file or HATS catalogue in the user's storage).

        The platform library's warnings the job raised (``info()["warnings"]``: a crossmatch's
        ``DroppedRowsWarning``, rows left out for their NaN positions) are warned here, as the call would have
        warned them in the notebook.
        """
        info = self.info()
        state = info["state"]
        for said in info.get("warnings", []):
            warnings.warn(_warning_class(said.get("category", ""))(f"job {self.id}: {said.get('message', '')}"),
                          stacklevel=2)
        if state == "succeeded":
            path = info.get("result")
            if not path:
                raise JobError(f"job {self.id} succeeded without a table result", code="no-result")
            if info.get("format") == "hats":
                return _read_hats(path)
            return Table.read(path, format="parquet")
        if state in ("failed", "cancelled"):
            raise JobFailedError(
                f"job {self.id} {state}" + (f": {info['error']}" if info.get("error") else ""),
                state=state,
                error=info.get("error"),
            )
        raise JobNotFinishedError(
            f"job {self.id} is {state} ({100 * float(info.get('progress', 0)):.0f}%); call wait() first",
            state=state,
        )

    def history(self) -> list[dict[str, Any]]:
        """What happened to the job, oldest first: ``{"at": ISO time, "state": ...}`` for each state
        (queued, running, succeeded...) and ``{"at", "state", "phase"}`` for each step the kind
        recorded (a TAP job's UWS phases: ``QUEUED``, ``EXECUTING``, ``COMPLETED``...)."""
        info = self.info()
        history = list(info.get("history") or [])
        states = [h["state"] for h in history if "phase" not in h]
        if not states or states[-1] != info["state"]:  # e.g. marked failed by info() when its process vanished
            history.append({"at": info.get("finished") or info.get("updated"), "state": info["state"]})
        return history

    def save(self, address: str, *, storage=None, overwrite: bool = False) -> str:
        """Write the result into the user's storage at ``address`` (``"home:results/x.parquet"``,
        ``"group/lensing:shared/x.fits"``...; the format from the extension), atomically, through
        :class:`platform_lib.storage.Storage`; returns the address. The job must have succeeded.

        Examples
        --------
        >>> job.save("home:results/m31-sources.parquet")                      # doctest: +SKIP
        'home:results/m31-sources.parquet'
        """
        table = self.result()
        if storage is None:
            from platform_lib.storage import Storage

            storage = Storage(get_settings(home=self.spec.get("home")) if self.spec.get("home") else None)
        return storage.write_table(table, address, overwrite=overwrite)

    def log(self, tail: int | None = None) -> str:
        """The job process's stdout and stderr so far, then a failed job's traceback; the last
        ``tail`` lines if given. A method: ``print(job.log())``.
        """
        path = self.dir / "log.txt"
        text = path.read_text(errors="replace") if path.exists() else ""
        traceback = self.info().get("traceback")
        if traceback and traceback not in text:
            text += ("" if not text or text.endswith("\n") else "\n") + traceback
        if tail is not None:
            text = "".join(text.splitlines(keepends=True)[-tail:]) if tail > 0 else ""
        return text


def _warning_class(name: str) -> type[Warning]:
    """The platform library's warning class called ``name`` (``module.Class``), or ``UserWarning``."""
    module, _, cls = name.rpartition(".")
    if not module.startswith("platform_lib."):
        return UserWarning
    try:
        found = getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError):
        return UserWarning
    return found if isinstance(found, type) and issubclass(found, Warning) else UserWarning


def _read_hats(path: str) -> Table:
    import lsdb  # only for HATS results

    # no lsdb progress bar: "Building task graph..." and a bar, red on the stderr of the notebook that asked for
    # the result (what the job did was reported by its own progress)
    frame = lsdb.open_catalog(path).compute(progress_bar=False)
    return Table.from_pandas(frame.reset_index(drop=True))


def _home(settings: PlatformSettings | None) -> Path:
    return Path((settings or get_settings()).home)


def _reaper(proc: subprocess.Popen) -> None:
    proc.wait()


def submit(
    kind: str,
    params: dict[str, Any] | None = None,
    *,
    output: str | os.PathLike | None = None,
    output_format: str = "parquet",
    output_coords: tuple[str, str] | None = None,
    settings: PlatformSettings | None = None,
    sys_path: list[str] | None = None,
) -> Job:
    """Start a background job that outlives this kernel; returns its :class:`Job`.

    Parameters
    ----------
    kind
        ``"crossmatch"``, ``"nway"``, ``"skymap"``, an ``astrohub.jobs`` entry point, or
        ``"package.module:function"``.
    params
        Parameters of the kind: JSON values, paths (``pathlib.Path``, e.g. a catalogue's
        ``hats_path``; relative ones are in the home), storage addresses (``"group/survey:mine.fits"``)
        and astropy quantities (``1 * u.arcsec``),
        which are stored as strings such as ``"1.0 arcsec"``.
    output
        Where the result goes, inside the user's home (``"results/x.parquet"`` or ``"home:results/x.parquet"``;
        default ``.astrohub/jobs/<id>/result.parquet``, or ``.../result.hats`` for a HATS catalogue).
    output_format
        ``"parquet"`` (one file) or ``"hats"`` (a HATS catalogue folder, partitioned by HEALPix, with
        a margin cache; open it with ``lsdb.open_catalog`` or pass it to another crossmatch). A
        crossmatch of catalogues on Dask writes it partition by partition, never whole in memory.
    output_coords
        For ``"hats"``: the (ra, dec) columns of the result to partition by (default: ``ra``/``dec``,
        else ``ra_1``/``dec_1`` as a crossmatch names the left catalogue's columns).
    settings
        Platform settings (default :func:`platform_lib.get_settings`); ``settings.home`` is the
        user's storage.
    sys_path
        Extra import paths for a ``module:function`` kind.

    Examples
    --------
    >>> from platform_lib import jobs
    >>> # my_sources.parquet: a table in your home (the crossmatch tutorial writes this one)
    >>> job = jobs.submit("crossmatch", {"left": "my_sources.parquet", "right": "I/311",
    ...                                  "radius": "2 arcsec"})                    # doctest: +SKIP
    >>> job.wait(timeout=300)                                                       # doctest: +SKIP
    >>> pairs = job.result()                                                        # doctest: +SKIP
    >>> jobs.list_jobs()                         # yours, the finished ones too     # doctest: +SKIP
    """
    if not isinstance(kind, str):
        raise TypeError(f"kind must be a job kind's name ('crossmatch', 'tap', ...) or 'package.module:function', "
                        f"got {kind!r} ({type(kind).__name__})")
    if params is not None and not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict of the kind's parameters, e.g. {{'radius': '1 arcsec'}}, got "
                        f"{params!r} ({type(params).__name__})")
    params = _jsonable(dict(params or {}))
    extra = [str(Path(p).resolve()) for p in (sys_path or [])]
    added = [p for p in extra if p not in sys.path]
    sys.path[:0] = added  # only while the kind is resolved and validated here
    try:
        job_kind = resolve_kind(kind)
    finally:
        for p in added:
            sys.path.remove(p)
    if output_format not in OUTPUT_FORMATS:
        raise JobError(f"output_format={output_format!r}: choose one of {', '.join(OUTPUT_FORMATS)}",
                       code="bad-param", value=output_format)
    if output_coords is not None and (isinstance(output_coords, str) or len(output_coords) != 2):
        raise JobError(f"output_coords must be (ra_column, dec_column), got {output_coords!r}", code="bad-param",
                       value=output_coords)
    if job_kind.validate is not None:
        job_kind.validate(params)
    try:
        json.dumps(params)
    except TypeError as exc:
        raise JobError(f"job parameters must be JSON (strings for quantities such as '1 arcsec'): {exc}",
                       code="bad-param") from exc
    home = _home(settings).resolve()
    root = jobs_root(home)
    job_id = new_job_id()
    job_dir = root / job_id
    if output is None:
        out_path = job_dir / ("result.hats" if output_format == "hats" else "result.parquet")
    else:
        space = storage_space(output)
        if space not in (None, "home"):  # was taken as a path: a folder 'group/survey:results' in the home
            raise JobError(f"output {str(output)!r}: a job writes its result into the home ('home:results/x.parquet'); "
                           f"save it there afterwards with job.save({str(output)!r})", code="bad-output",
                           value=str(output))
        if space == "home":
            output = str(output).partition(":")[2]
        out_path = (home / Path(output).expanduser()).resolve()
        if home not in out_path.parents:
            raise JobError(f"output {str(output)!r} must be inside the home folder {home}", code="bad-output",
                           value=str(output))
    job_dir.mkdir(parents=True, exist_ok=False)
    spec = {
        "id": job_id,
        "kind": kind,
        "params": params,
        "home": str(home),
        "output": str(out_path),
        "output_format": output_format,
        "output_coords": list(output_coords) if output_coords else None,
        "sys_path": extra,
        "submitted": now_iso(),
        "python": sys.executable,
    }
    write_json_atomic(job_dir / "spec.json", spec)
    write_json_atomic(job_dir / "status.json",
                      {"id": job_id, "kind": kind, "state": "queued", "progress": 0.0, "submitted": spec["submitted"],
                       "history": [{"at": spec["submitted"], "state": "queued"}]})
    with open(job_dir / "log.txt", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "platform_lib.jobs", "run", str(job_dir)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own session and process group: survives the kernel
            cwd=str(home),
            close_fds=True,
        )
    # The runner leads its own process group (pgid == pid): a cancel before it has written its
    # status can still reach it. Only submit writes launch.json; only the runner writes "running".
    write_json_atomic(job_dir / "launch.json", {"pid": proc.pid, "pgid": proc.pid, "launched": now_iso()})
    # Reap the child when it ends while this process lives (no zombies); it is not waited for here.
    threading.Thread(target=_reaper, args=(proc,), daemon=True, name=f"job-reaper-{job_id}").start()
    return Job(job_dir)


def get_job(job_id: str, *, settings: PlatformSettings | None = None):
    """The :class:`Job` with this id in the user's job folder, or the entry of a job source whose
    prefix starts the id (``"tap-..."``: the user's TAP job on the platform archive, a
    :class:`~platform_lib.retrieval.ArchiveTapJob`); :class:`UnknownJobError` if none."""
    if not isinstance(job_id, str):  # a number or bytes answered "argument of type 'int' is not iterable"
        raise TypeError(f"job_id must be a job's id as text (job.id; list_jobs() shows them), "
                        f"not {type(job_id).__name__} {job_id!r:.60}")
    for source in job_sources():
        if job_id.startswith(source.prefix):
            return source.get(job_id, settings=settings)
    root = jobs_root(_home(settings))
    if not job_id or "/" in job_id or "\0" in job_id or job_id.startswith("."):
        raise UnknownJobError(job_id, str(root))
    try:
        found = (root / job_id / "spec.json").is_file()
    except OSError:  # an id longer than a file name may be: "File name too long" from the file system before
        found = False
    if not found:
        raise UnknownJobError(job_id if len(job_id) <= 80 else f"{job_id[:60]}...({len(job_id)} characters)",
                              str(root))
    return Job(root / job_id)


def list_jobs(*, settings: PlatformSettings | None = None, archive: bool = True) -> list:
    """Every job in the user's job folder and, with ``archive`` (the default), the entries of the
    registered job sources (``astrohub.jobs.sources``): the user's TAP jobs on the platform archive
    made by any client (pyvo, TOPCAT, STILTS...) and not followed by a job of the folder, as read-only
    :class:`~platform_lib.retrieval.ArchiveTapJob` entries (ids ``"tap-..."``); oldest first. The
    archive unreachable: an :class:`~platform_lib.retrieval.ArchiveJobsWarning` and the folder's jobs
    alone."""
    root = jobs_root(_home(settings))
    home_jobs = [Job(p) for p in sorted(root.iterdir()) if (p / "spec.json").is_file()] if root.is_dir() else []
    if not archive:
        return home_jobs
    listed = list(home_jobs)
    for source in job_sources():
        listed += source.list(home_jobs, settings=settings)
    return sorted(listed, key=sort_key)
