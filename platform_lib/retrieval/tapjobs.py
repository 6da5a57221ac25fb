"""TAP work as platform jobs: the ``tap`` job kind and the user's archive TAP jobs in the job list.

:data:`TAP_KIND` runs an asynchronous TAP query (or follows a UWS job made elsewhere) in a background
:mod:`platform_lib.jobs` job; :data:`ARCHIVE_JOBS` makes the UWS jobs the user made on the archive's TAP
service with any client (pyvo's ``submit_job``, TOPCAT, STILTS, plain HTTP, ``tap_query(async_=True)``)
entries of ``jobs.list_jobs()``: read-only :class:`ArchiveTapJob` objects, read live from the archive's
``tap/async`` list with the user's token (the archive lists only the caller's own jobs), leaving out
those a platform ``tap`` job already follows. The archive unreachable is an
:class:`ArchiveJobsWarning`, never a failure of the whole list. Both are registered as entry points
(``astrohub.jobs`` and ``astrohub.jobs.sources`` in pyproject.toml), so that :mod:`platform_lib.jobs`
finds them without importing this package: the import goes one way, retrieval -> jobs. Imports
the jobs package's public API, the retrieval adapter (:mod:`platform_lib.retrieval.client`) and,
inside a function, ``platform_lib.storage``.
"""

from __future__ import annotations

import warnings
from typing import Any
from urllib.parse import urlparse

from astropy.table import Table

from platform_lib.jobs import (
    JobContext,
    JobError,
    JobFailedError,
    JobKind,
    JobNotFinishedError,
    JobSource,
    JobState,
    UnknownJobError,
    poll_until,
    read_table,
)
from platform_lib.retrieval.client import DONE_PHASES, TapJob, shown, tap_job_list, tap_job_record
from platform_lib.retrieval.errors import RetrievalError
from platform_lib.retrieval.session import make_session
from platform_lib.settings import PlatformSettings, get_settings

__all__ = ["ARCHIVE_JOBS", "ArchiveJobsWarning", "ArchiveTapJob", "TAP_KIND", "TAP_POLL_S", "archive_jobs",
           "followed_uws_ids", "get_archive_job", "run_tap", "validate_tap"]


class ArchiveJobsWarning(UserWarning):
    """The archive's TAP job list could not be read: ``list_jobs()`` shows the home's jobs only."""


# ------------------------------------------------------------------------------- the tap kind

#: Seconds between two looks at a TAP job's phase (the first looks come sooner).
TAP_POLL_S = 1.0


def validate_tap(params: dict[str, Any]) -> None:
    query, job_url = params.get("query"), params.get("job_url")
    if job_url is not None:
        if not isinstance(job_url, str) or not job_url.startswith(("http://", "https://")) or query:
            raise JobError(f"job parameter job_url={job_url!r} must be a UWS job's http(s) URL, given without a "
                           "query (the job already has one)", code="bad-param", value=job_url)
        return
    if not isinstance(query, str) or not query.strip():
        raise JobError("job parameter 'query' is required: the ADQL to run (e.g. query='SELECT TOP 10 * FROM "
                       "ivoa.obscore'), or job_url: a TAP job to follow", code="missing-param", value="query")
    uploads = params.get("uploads") or {}
    if not isinstance(uploads, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in uploads.items()):
        raise JobError(f"job parameter uploads={uploads!r} must map table names to table files in the home "
                       "(e.g. {'mine': 'lists/targets.fits'})", code="bad-param", value=uploads)
    maxrec = params.get("maxrec")
    if maxrec is not None and (not isinstance(maxrec, int) or isinstance(maxrec, bool) or maxrec < 0):
        raise JobError(f"job parameter maxrec={maxrec!r} must be a whole number >= 0", code="bad-param", value=maxrec)
    service = params.get("service")
    if service is not None and (not isinstance(service, str) or not service.startswith(("http://", "https://"))):
        raise JobError(f"job parameter service={service!r} must be a TAP service's http(s) URL", code="bad-param",
                       value=service)


def run_tap(params: dict[str, Any], ctx: JobContext) -> Table:
    """An asynchronous TAP query (UWS) followed to its end: its phases go to the job's history, its
    result to the job's output in the user's storage. Cancelling the job aborts the UWS job. With
    ``job_url``, a UWS job made elsewhere (``TapJob.save``) is followed instead (and started if PENDING)."""
    from platform_lib.retrieval import tap_query  # the facade, whose package imports this module

    if params.get("job_url"):
        settings = get_settings()
        tap = TapJob.from_url(params["job_url"], session=make_session(settings), archive_url=settings.archive_url)
        if tap.phase == "PENDING":
            tap.run()
    else:
        uploads = {name: read_table(ctx.resolve(path)) for name, path in (params.get("uploads") or {}).items()}
        # RUNID = this job's id: the user's list of archive jobs leaves out the UWS jobs it follows
        tap = tap_query(params["query"], service=params.get("service"), async_=True, maxrec=params.get("maxrec"),
                        uploads=uploads or None, run_id=ctx.job_id)
    seen = None

    def look() -> str:  # each new phase goes to the job's history
        nonlocal seen
        phase = tap.phase
        if phase != seen:
            seen = phase
            ctx.phase(phase, tap_job=tap.url)
        return phase

    try:
        phase, _ = poll_until(look, lambda phase: phase in DONE_PHASES, every=TAP_POLL_S, first=0.1)
    except BaseException:  # cancelled (JobCancelled) or failed while following: stop the query too
        try:
            tap.abort()
        except RetrievalError:
            pass
        raise
    if phase != "COMPLETED":
        try:
            tap.fetch()
        except RetrievalError as exc:
            raise JobError(f"the TAP job {shown(tap.url, tap.archive_url)} ended in {phase}: {exc.reason or exc}",
                           code="tap-" + phase.lower(), value=tap.url) from None
    ctx.progress(0.9, "fetching the result")
    return tap.fetch()


#: The ``tap`` job kind, registered as the ``astrohub.jobs`` entry point ``tap`` (pyproject.toml).
TAP_KIND = JobKind(run_tap, validate_tap)


# ------------------------------------------------------------------ the archive's jobs in the list

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

    @property
    def created(self) -> str:
        """``YYYYMMDDTHHMMSS`` of the UWS job's creation, as the archive listed it (the list's sort key)."""
        return (self.summary.get("created") or "").replace("-", "").replace(":", "")[:15]

    @property
    def _archive_url(self) -> str:
        return _settings(self._settings).archive_url

    def _tap(self) -> TapJob:
        return TapJob.from_url(self.url, session=self._sess(), archive_url=self._archive_url)

    def _sess(self):
        if self._session is None:
            self._session = make_session(_settings(self._settings))
        return self._session

    # -- reading state ------------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """The job's record, read now: ``state`` (as the job list names it), ``phase`` (UWS), ``query``,
        ``submitted``/``started``/``finished`` (UWS creation/start/end times), ``error``, ``result_url``,
        ``tap_job`` (the UWS job's URL), ``run_id``, ``parameters``, ``destruction``, ``progress`` (0 or 1)."""
        try:
            rec = tap_job_record(self.url, self._sess(), self._archive_url)
        except RetrievalError as exc:
            if exc.http_code == 404:
                raise UnknownJobError(self.id, shown(self.url.rsplit("/", 1)[0], self._archive_url)) from None
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
        def show(bar, info: dict[str, Any], _finished: bool) -> None:
            bar.set_postfix_str(info["phase"] + (f" ({info['error']})" if info.get("error") else ""), refresh=True)

        info, _ = poll_until(self.info, lambda info: info["phase"] in FINAL_PHASES, every=POLL_S, timeout=timeout,
                             bar=dict(total=1, desc=f"job {self.id}", bar_format="{desc}: {postfix}") if progress
                             else None, show=show)
        return JobState(info["state"], info.get("error"))

    def cancel(self, *, grace: float = 5.0) -> str:
        """Abort the UWS job (``PHASE=ABORT``); returns the state (a finished job is left as it is)."""
        if not self.done:
            self._tap().abort()
        return self.status()

    # -- results --------------------------------------------------------------------------------

    def result(self) -> Table:
        """The result as an astropy Table, read from the archive (the job must have COMPLETED)."""
        info = self.info()
        if info["phase"] == "COMPLETED":
            return self._tap().fetch()
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
        return self._tap().save(save_to, settings=self._settings)


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
            taken.add(_uws_id(job.info().get("tap_job")) or "")
        except (OSError, ValueError):
            continue
    taken.discard("")
    return taken


def archive_jobs(platform_jobs, *, settings: PlatformSettings | None = None) -> list[ArchiveTapJob]:
    """The user's UWS jobs on the platform archive not followed by one of ``platform_jobs``, oldest
    first; ``[]`` with an :class:`ArchiveJobsWarning` when the archive's list cannot be read, and ``[]``
    when the platform has no archive (``archive_url`` unset) or the kernel has no token."""
    settings = _settings(settings)
    service = _tap_service(settings)
    if service is None or not settings.api_token:
        return []
    session = make_session(settings, retries=1, timeout=LIST_TIMEOUT_S)
    try:
        listed = tap_job_list(service, session, settings.archive_url)
    except RetrievalError as exc:
        warnings.warn(f"your TAP jobs on the archive are not in this list: {exc.message} (the jobs in your home "
                      "are; try again later, or read the list at " + urlparse(service).path + "/async)",
                      ArchiveJobsWarning, stacklevel=3)
        return []
    taken = followed_uws_ids(platform_jobs)
    session = make_session(settings)  # the entries' own calls (results may take longer than the list)
    out = [ArchiveTapJob(rec["url"], settings=settings, session=session, summary=rec) for rec in listed
           if rec["id"] not in taken and (rec.get("run_id") or "") not in taken]
    out.sort(key=lambda job: job.created)
    return out


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
        raise UnknownJobError(job_id, shown(service + "/async", settings.archive_url))
    job = ArchiveTapJob(f"{service}/async/{uws_id}", settings=settings)
    job.info()  # 404 (unknown, or another user's) -> UnknownJobError
    return job


#: The archive's TAP jobs as a job source, registered as the ``astrohub.jobs.sources`` entry point ``archive``.
ARCHIVE_JOBS = JobSource(prefix=ID_PREFIX, list=archive_jobs, get=get_archive_job)
