"""The user's TAP jobs on the platform's archive as entries of the job list: the read-only :class:`ArchiveTapJob`.

A UWS job the user made on the archive's TAP service with any client (pyvo's ``submit_job``, TOPCAT,
STILTS, plain HTTP, ``tap_query(async_=True)``) lives in the archive, not in the home's job folder.
:func:`archive_jobs` reads the archive's ``tap/async`` list with the user's token (the archive lists
only the caller's own jobs) and turns each job not already followed by a platform ``tap`` job into an
:class:`ArchiveTapJob`; :func:`list_jobs <platform_lib.jobs.list_jobs>` merges them in. The archive
unreachable is an :class:`ArchiveJobsWarning`, never a failure of the whole list. Imports the job
modules and, inside functions, ``platform_lib.retrieval`` (the HTTP/UWS adapter) and ``storage``.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

from astropy.table import Table

from platform_lib.jobs._errors import JobError, JobFailedError, JobNotFinishedError, UnknownJobError
from platform_lib.jobs._state import JobState
from platform_lib.jobs._store import read_json
from platform_lib.settings import PlatformSettings, get_settings

__all__ = ["ArchiveJobsWarning", "ArchiveTapJob", "ID_PREFIX", "archive_jobs", "followed_uws_ids", "get_archive_job",
           "sort_key"]

#: Job ids of archive TAP jobs: ``"tap-" + the UWS job id`` (platform job ids start with a date).
ID_PREFIX = "tap-"
#: Seconds the list waits for the archive before it warns and lists the home's jobs alone.
LIST_TIMEOUT_S = 10.0
POLL_S = 0.5

#: UWS phase -> the job list's state (phases the list does not know are ``"unknown"``).
STATE_OF_PHASE = {"PENDING": "queued", "QUEUED": "queued", "HELD": "queued", "EXECUTING": "running",
                  "SUSPENDED": "running", "COMPLETED": "succeeded", "ERROR": "failed", "ABORTED": "cancelled",
                  "ARCHIVED": "succeeded"}
FINAL_PHASES = ("COMPLETED", "ERROR", "ABORTED", "ARCHIVED")


class ArchiveJobsWarning(UserWarning):
    """The archive's TAP job list could not be read: ``list_jobs()`` shows the home's jobs only."""


def _settings(settings: PlatformSettings | None) -> PlatformSettings:
    return settings or get_settings()


def _tap_service(settings: PlatformSettings) -> str | None:
    return settings.archive_url.rstrip("/") + "/tap" if settings.archive_url else None


def _uws_id(url: str | None) -> str | None:
    return url.rstrip("/").rsplit("/", 1)[-1] if url else None


class ArchiveTapJob:
    """A read-only job-list entry for one of the user's UWS jobs on the platform archive's TAP service.

    It answers like :class:`platform_lib.jobs.Job` (``id``, ``info()``, ``status()``, ``done``,
    ``wait()``, ``history()``, ``result()``, ``save(address)``, ``log()``, ``cancel()``), read live
    from the archive with the user's token; nothing is kept in the home. ``history()`` is built from
    the UWS times (creation, start, end), so it holds at most three steps. The job lasts as long as the
    archive keeps it (its ``destruction`` time, a day by default); :meth:`follow` hands it to a
    platform ``tap`` job that writes the result into the home and keeps its history there (the entry
    then leaves the list: that job stands for it).

    Examples
    --------
    >>> from platform_lib import jobs
    >>> [j for j in jobs.list_jobs() if getattr(j, "read_only", False)]      # doctest: +SKIP
    [<ArchiveTapJob tap-3fQ1x... tap succeeded (SELECT TOP 10 * FROM gaia.dr3 ...)>]
    >>> job = jobs.get_job("tap-3fQ1x...")                                  # doctest: +SKIP
    >>> job.save("home:results/gaia.parquet")                               # doctest: +SKIP
    """

    kind = "tap"
    read_only = True

    def __init__(self, url: str, *, settings: PlatformSettings | None = None, session=None,
                 summary: dict[str, Any] | None = None) -> None:
        self.url = url
        self.uws_id = _uws_id(url)
        self.id = ID_PREFIX + self.uws_id
        self._settings = settings
        self._session = session
        self.summary = dict(summary or {})

    def __repr__(self) -> str:
        info = self.info()
        query = (info.get("query") or "").replace("\n", " ")
        query = query if len(query) <= 60 else query[:57] + "..."
        error = f": {info['error']}" if info.get("error") else ""
        return f"<ArchiveTapJob {self.id} tap {info['state']} ({query}){error}>"

    def _sess(self):
        if self._session is None:
            from platform_lib.retrieval import make_session

            self._session = make_session(_settings(self._settings))
        return self._session

    # -- reading state ------------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """The job's record, read now: ``state`` (as the job list names it), ``phase`` (UWS), ``query``,
        ``submitted``/``started``/``finished`` (UWS creation/start/end times), ``error``, ``result_url``,
        ``tap_job`` (the UWS job's URL), ``run_id``, ``parameters``, ``destruction``, ``progress`` (0 or 1)."""
        from platform_lib.retrieval import RetrievalError
        from platform_lib.retrieval.client import tap_job_record

        try:
            rec = tap_job_record(self.url, self._sess())
        except RetrievalError as exc:
            if exc.http_code == 404:
                raise UnknownJobError(self.id, self.url.rsplit("/", 1)[0]) from None
            raise
        state = STATE_OF_PHASE.get(rec["phase"], "unknown")
        return {"id": self.id, "kind": self.kind, "state": state, "phase": rec["phase"], "query": rec["query"],
                "submitted": rec["created"], "started": rec["started"], "finished": rec["ended"],
                "error": rec["error"], "result_url": rec["result_url"], "tap_job": self.url, "run_id": rec["run_id"],
                "parameters": rec["parameters"], "destruction": rec["destruction"],
                "progress": 1.0 if rec["phase"] in FINAL_PHASES else 0.0, "message": rec["phase"], "read_only": True}

    def status(self) -> str:
        """``queued``, ``running``, ``succeeded``, ``failed``, ``cancelled`` (or ``unknown``)."""
        return self.info()["state"]

    @property
    def progress(self) -> float:
        return float(self.info()["progress"])

    @property
    def done(self) -> bool:
        return self.info()["phase"] in FINAL_PHASES

    def history(self) -> list[dict[str, Any]]:
        """``{"at", "state", "phase"}`` for the UWS job's creation, start and end, oldest first."""
        info = self.info()
        steps = [{"at": info["submitted"], "state": "queued", "phase": "PENDING"}]
        if info["started"]:
            steps.append({"at": info["started"], "state": "running", "phase": "EXECUTING"})
        if info["finished"] and info["phase"] in FINAL_PHASES:
            steps.append({"at": info["finished"], "state": info["state"], "phase": info["phase"]})
        return steps

    def log(self, tail: int | None = None) -> str:
        """The service's error message for a failed job (there is no process output to show)."""
        text = self.info().get("error") or ""
        if tail is not None:
            text = "".join(text.splitlines(keepends=True)[-tail:]) if tail > 0 else ""
        return text

    # -- waiting and stopping -----------------------------------------------------------------

    def wait(self, timeout: float | None = None, *, progress: bool = False):
        """Wait until the UWS job ends or ``timeout`` seconds pass; returns the state as a
        :class:`~platform_lib.jobs.JobState` (a PENDING job waits for someone to start it)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=1, desc=f"job {self.id}", bar_format="{desc}: {postfix}")
        try:
            while True:
                info = self.info()
                if bar is not None:
                    bar.set_postfix_str(info["phase"] + (f" ({info['error']})" if info.get("error") else ""),
                                        refresh=True)
                if info["phase"] in FINAL_PHASES or (deadline is not None and time.monotonic() >= deadline):
                    return JobState(info["state"], info.get("error"))
                time.sleep(POLL_S)
        finally:
            if bar is not None:
                bar.close()

    def cancel(self, *, grace: float = 5.0) -> str:
        """Abort the UWS job (``PHASE=ABORT``); returns the state (a finished job is left as it is)."""
        from platform_lib.retrieval import TapJob

        if not self.done:
            TapJob.from_url(self.url, session=self._sess()).abort()
        return self.status()

    # -- results --------------------------------------------------------------------------------

    def result(self) -> Table:
        """The result as an astropy Table, read from the archive (the job must have COMPLETED)."""
        from platform_lib.retrieval import TapJob

        info = self.info()
        if info["phase"] == "COMPLETED":
            return TapJob.from_url(self.url, session=self._sess()).fetch()
        if info["phase"] in FINAL_PHASES:
            raise JobFailedError(f"job {self.id} {info['phase']}" + (f": {info['error']}" if info["error"] else ""),
                                 state=info["state"], error=info["error"])
        raise JobNotFinishedError(f"job {self.id} is {info['phase']} on the archive; call wait() first "
                                  "(a PENDING job needs starting: TapJob.from_url(job.url).run())", state=info["state"])

    def save(self, address: str, *, storage=None, overwrite: bool = False) -> str:
        """Write the result into the user's storage at ``address`` (``"home:results/x.parquet"``; the
        format from the extension), atomically, through :class:`platform_lib.storage.Storage`."""
        table = self.result()
        if storage is None:
            from platform_lib.storage import Storage

            storage = Storage(_settings(self._settings))
        return storage.write_table(table, address, overwrite=overwrite)

    def follow(self, save_to: str):
        """Hand the job to a platform ``tap`` job that waits for it (starting it if PENDING) and writes
        its result to ``save_to`` in the home (``"home:results/x.parquet"``); returns that
        :class:`~platform_lib.jobs.Job`, which replaces this entry in ``list_jobs()``."""
        from platform_lib.retrieval import TapJob

        return TapJob.from_url(self.url, session=self._sess()).save(save_to, settings=self._settings)


def followed_uws_ids(platform_jobs) -> set[str]:
    """Ids (UWS job ids and run ids) the home's ``tap`` jobs stand for: their ``job_url``, the
    ``tap_job`` they recorded, and their own id (which they send as the UWS ``RUNID``)."""
    taken: set[str] = set()
    for job in platform_jobs:
        try:
            spec = job.spec
            if spec.get("kind") != "tap":
                continue
            taken.add(job.id)
            taken.add(_uws_id((spec.get("params") or {}).get("job_url")) or "")
            taken.add(_uws_id(read_json(job.dir / "status.json").get("tap_job")) or "")
        except (OSError, ValueError):
            continue
    taken.discard("")
    return taken


def archive_jobs(platform_jobs, *, settings: PlatformSettings | None = None) -> list[ArchiveTapJob]:
    """The user's UWS jobs on the platform archive not followed by one of ``platform_jobs``, oldest
    first; ``[]`` with an :class:`ArchiveJobsWarning` when the archive's list cannot be read, and ``[]``
    when the platform has no archive (``archive_url`` unset) or the kernel has no token."""
    from platform_lib.retrieval import RetrievalError, make_session
    from platform_lib.retrieval.client import tap_job_list

    settings = _settings(settings)
    service = _tap_service(settings)
    if service is None or not settings.api_token:
        return []
    session = make_session(settings, retries=1, timeout=LIST_TIMEOUT_S)
    try:
        listed = tap_job_list(service, session)
    except RetrievalError as exc:
        warnings.warn(f"your TAP jobs on the archive are not in this list: {exc.message} (the jobs in your home "
                      "are; try again later, or read the list at " + service + "/async)",
                      ArchiveJobsWarning, stacklevel=3)
        return []
    taken = followed_uws_ids(platform_jobs)
    session = make_session(settings)  # the entries' own calls (results may take longer than the list)
    out = [ArchiveTapJob(rec["url"], settings=settings, session=session, summary=rec) for rec in listed
           if rec["id"] not in taken and (rec.get("run_id") or "") not in taken]
    out.sort(key=sort_key)
    return out


def sort_key(job) -> str:
    """``YYYYMMDDTHHMMSS`` of when a job (a home job, by its id, or an archive one) was made."""
    if isinstance(job, ArchiveTapJob):
        return (job.summary.get("created") or "").replace("-", "").replace(":", "")[:15]
    return job.id[:15]


def get_archive_job(job_id: str, *, settings: PlatformSettings | None = None) -> ArchiveTapJob:
    """The :class:`ArchiveTapJob` ``"tap-<uws id>"``; :class:`UnknownJobError` when the archive does not
    know it for this user (another user's job answers the same)."""
    settings = _settings(settings)
    service = _tap_service(settings)
    uws_id = job_id[len(ID_PREFIX):]
    if service is None:
        raise JobError(f"job {job_id!r} is a TAP job on the archive, but the platform's archive_url is not set "
                       "(PLATFORM_ARCHIVE_URL)", code="no-archive", value=job_id)
    if not uws_id or "/" in uws_id or uws_id.startswith("."):
        raise UnknownJobError(job_id, service + "/async")
    job = ArchiveTapJob(f"{service}/async/{uws_id}", settings=settings)
    job.info()  # 404 (unknown, or another user's) -> UnknownJobError
    return job
