"""TAP 1.1 routes: sync and async (UWS 1.1) queries, uploads, and the VOSI/DALI resources.

Routes (under ``<prefix>tap/``): ``sync``; ``async`` (job list and creation); ``async/<id>`` and its
``phase``, ``parameters``, ``results``, ``results/result``, ``error``, ``quote``, ``owner``,
``executionduration``, ``destruction``; ``capabilities``, ``availability``, ``tables``,
``tables/<name>``, ``examples``. Queries are checked by :mod:`astrohub_archive.adql` and run by
:mod:`astrohub_archive.engine` in a worker thread (never on the event loop), jobs live in
:mod:`astrohub_archive.uws` (one store per replica; a request for another replica's job is forwarded
to it by :mod:`astrohub_archive.replicas`), documents come from :mod:`astrohub_archive.vosi` and
:mod:`astrohub_archive.writers`. Every refusal is a fault answered by :class:`~astrohub_archive.base.BaseHandler`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import time
import warnings
from dataclasses import dataclass, replace
from typing import Callable

from astrohub_archive import uws, vosi
from astrohub_archive.adql import translate
from astrohub_archive.base import BaseHandler
from astrohub_archive.engine import run_plan
from astrohub_archive.faults import ArchiveFault, LimitFault, NotFoundFault, ServiceFault, UsageFault
from astrohub_archive.params import MAX_MAXREC, TAP_DEFAULT_MAXREC, parse_maxrec, response_format, whole_number
from astrohub_archive.replicas import FORWARDED_HEADER, forward, peer_job_lists
from astrohub_archive.tapschema import table_set
from astrohub_archive.uploads import MAX_UPLOAD_BYTES, fetch_url, is_url, parse_upload_param, read_uploads
from astrohub_archive.writers import CONTENT_TYPES, error_votable, render_table
from platform_lib.imageindex import Viewer

__all__ = ["tap_routes", "run_query", "TapRequest", "MAX_WAIT_S"]

log = logging.getLogger("astrohub_archive")
MAX_WAIT_S = 60.0
#: Seconds past the sync limit the handler waits for the worker thread to stop with its own LimitFault.
SYNC_GRACE_S = 1.0
#: How long a sync query waits for a query thread, in its limits (the wait does not count against its limit): past
#: it, a ServiceFault saying the service is busy, rather than a request hanging on while others' queries run.
SYNC_QUEUE_LIMITS = 2
TAP_FORMATS = tuple(name for name, _, _ in vosi.OUTPUT_FORMATS)  # what /capabilities declares, and no more


@dataclass(frozen=True)
class Caller:
    """Who runs a query: ``who`` from the token alone, and their hub groups asked only once the query is known to
    read ``ivoa.obscore`` and a group decides which of its images they see (:meth:`for_plan`, in the query's thread;
    the question goes to the hub on ``loop``). A TAP query of the catalogues never asks for them, so it is
    answered while the hub cannot say a user's groups, as it is to a caller without a token."""

    who: Viewer
    auth: object  # astrohub_archive.auth.Authenticator
    loop: asyncio.AbstractEventLoop
    group_decides: Callable[[Viewer], bool]

    @classmethod
    def of(cls, state, who: Viewer) -> "Caller":
        """``who``'s caller on the running loop, the image index of ``state`` deciding whether groups matter."""
        return cls(who, state.auth, asyncio.get_running_loop(), lambda v: state.index().group_decides(v))

    @property
    def user(self) -> str | None:
        return self.who.user

    def for_plan(self, plan) -> Viewer:
        """The viewer ``plan`` runs as (blocks its thread while the hub is asked; a hub that cannot answer raises
        :class:`~astrohub_archive.faults.HubUnavailableFault`, the request's 503 or the job's error)."""
        if not any(src.table.kind == "obscore" for src in plan.sources.values()) or not self.group_decides(self.who):
            return self.who
        return asyncio.run_coroutine_threadsafe(self.auth.with_groups(self.who), self.loop).result()


class TapRequest:
    """The checked parameters of one TAP query."""

    def __init__(self, params: dict[str, str]):
        if params.get("REQUEST", "doQuery").strip().lower() != "doquery":
            raise UsageFault(f"REQUEST={params['REQUEST']!r} is not supported; use doQuery")
        lang = params.get("LANG", "ADQL").strip().upper()
        if lang not in ("ADQL", "ADQL-2.0", "ADQL-2.1"):
            raise UsageFault(f"LANG={params.get('LANG')!r} is not supported; use ADQL")
        self.query = params.get("QUERY", "")
        if not self.query.strip():
            raise UsageFault("QUERY is required: an ADQL SELECT statement")
        #: ``capped``: the MAXREC asked for was over the service's limit, and lowered to it (the answer says so)
        self.maxrec, self.capped = parse_maxrec([params["MAXREC"]] if "MAXREC" in params else [], TAP_DEFAULT_MAXREC)
        fmt_text = params.get("RESPONSEFORMAT") or params.get("FORMAT")
        self.fmt = response_format([fmt_text] if fmt_text else [], offered=TAP_FORMATS)
        self.uploads = parse_upload_param(params["UPLOAD"]) if params.get("UPLOAD") else []


def run_query(state, req: TapRequest, blobs: dict[str, bytes], viewer: Viewer | Caller, access_base: str,
              seconds: float | None = None, started: float | None = None) -> tuple[bytes, str]:
    """Check, run and render one query (in a worker thread) as ``viewer`` (a :class:`Caller`: their groups asked
    where the query needs them): ``(body, content type)``.

    ``seconds`` overrides the service's per-query time limit (an async job's execution duration). The limit
    bounds the whole answer, from ``started`` (:func:`time.monotonic`; default now) to the last byte written:
    reading the uploads, the query, and writing the answer (which stops at the limit: a huge answer took
    minutes past it to write). Past it, a :class:`LimitFault` naming the limit, whatever stage it is in."""
    limits = replace(state.limits, seconds=seconds, job=True) if seconds else state.limits
    deadline = (time.monotonic() if started is None else started) + limits.seconds
    descs, data = read_uploads(blobs)
    tables = table_set(state.registry(), state.registry_path)
    plan = translate(req.query, tables, descs)
    if isinstance(viewer, Caller):
        viewer = viewer.for_plan(plan)
    table, overflow = run_plan(plan, tables=tables, state=state, viewer=viewer, access_base=access_base,
                               maxrec=req.maxrec, uploads=data, kernel=state.kernel.ready, limits=limits,
                               deadline=deadline)
    try:
        infos = [("MAXREC", str(req.maxrec), f"MAXREC above this service's limit was lowered to {req.maxrec}")] \
            if req.capped else []
        body = render_table(table, req.fmt, overflow=overflow or req.maxrec == 0, infos=infos, deadline=deadline)
    except TimeoutError:
        raise LimitFault(limits.overrun()) from None
    return body, CONTENT_TYPES[req.fmt]


def _check(state, req: TapRequest, blobs: dict[str, bytes]) -> None:
    """Translate without running: a job whose ADQL is wrong ends in ERROR at once."""
    descs, _ = read_uploads(blobs)
    translate(req.query, table_set(state.registry(), state.registry_path), descs)


class TapBase(BaseHandler):
    def tap_base(self) -> str:
        return self.base_url() + "tap/"

    def access_base(self) -> str:
        return self.base_url() + "download/"

    def params(self) -> dict[str, str]:
        """Request parameters (query string and form body), names upper-cased, last value wins."""
        out: dict[str, str] = {}
        for k, vals in self.args().items():
            if vals:
                out[k.upper()] = vals[-1]
        return out

    async def blobs(self, req: TapRequest) -> dict[str, bytes]:
        """The uploaded tables ``UPLOAD`` names, from the multipart parts or their URLs."""
        files = {k: v for k, v in self.request.files.items()}
        out = {}
        for name, part in req.uploads:
            if is_url(part):
                out[name] = await asyncio.get_running_loop().run_in_executor(
                    None, functools.partial(fetch_url, name, part, allowed=self.state.upload_networks))
                continue
            got = files.get(part)
            if not got:
                raise UsageFault(f"UPLOAD names part {part!r} for table {name!r} but the request has no such part; "
                                 "send it as multipart/form-data")
            if len(got[0].body) > MAX_UPLOAD_BYTES:
                raise UsageFault(f"upload {name!r} is larger than {MAX_UPLOAD_BYTES} bytes")
            out[name] = got[0].body
        return out

    def xml(self, body: bytes, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/xml; charset=utf-8")
        self.finish(body)

    def text(self, body: str) -> None:
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(body)


class TapCapabilitiesHandler(TapBase):
    def get(self) -> None:
        from astrohub_archive.uploads import MAX_UPLOAD_BYTES as up

        self.xml(vosi.capabilities(self.tap_base(), max_rows=MAX_MAXREC, default_rows=TAP_DEFAULT_MAXREC,
                                   retention_s=uws.RETENTION_S, execution_s=uws.EXECUTION_S, upload_bytes=up))


class TapAvailabilityHandler(TapBase):
    def get(self) -> None:
        try:
            n = self.state.index().count()
            ok, note = True, f"the TAP service is accepting queries; the image index holds {n} records"
        except Exception as exc:
            ok, note = False, f"the image index is not readable: {exc}"
        self.xml(vosi.availability(ok, note, self.state.started))


class TapTablesHandler(TapBase):
    async def get(self, name: str | None = None) -> None:
        await self.guarded(lambda: self._get(name))

    async def _get(self, name: str | None) -> None:
        tables = await asyncio.get_running_loop().run_in_executor(
            None, table_set, self.state.registry(), self.state.registry_path)
        if name is None:
            detail = self.get_query_argument("detail", "max") != "min"
            self.xml(vosi.tableset(tables, detail))
            return
        t = tables.get(name)
        if t is None:
            raise NotFoundFault(f"no table {name!r} in this service; see {self.tap_base()}tables")
        self.xml(vosi.table_document(t))


class TapExamplesHandler(TapBase):
    def get(self) -> None:
        tables = table_set(self.state.registry(), self.state.registry_path)
        self.set_header("Content-Type", "application/xhtml+xml; charset=utf-8")
        self.finish(vosi.examples_page(self.tap_base(), tables))


class TapSyncHandler(TapBase):
    format_params = ("RESPONSEFORMAT", "FORMAT")

    async def get(self) -> None:
        await self.guarded(self._run)

    async def post(self) -> None:
        await self.guarded(self._run)

    async def _run(self) -> None:
        started = time.monotonic()  # the limit bounds the request's own work: uploads fetched, query, answer written
        req = TapRequest(self.params())
        blobs = await self.blobs(req)
        viewer = Caller.of(self.state, await self.identity())
        if self.heading():  # the query checked (translated), not run
            await self.off_loop(_check, self.state, req, blobs)
            self.set_header("Content-Type", CONTENT_TYPES[req.fmt])
            return self.finish_head()
        limits = self.state.limits
        loop = asyncio.get_running_loop()
        picked = _PickedUp(loop)
        answer = loop.run_in_executor(self.state.executor, picked.run, run_query, self.state, req, blobs, viewer,
                                      self.access_base(), None, started)
        queued = time.monotonic()
        try:  # the time it waits for a query thread is not the query's: it does not count against the limit
            await asyncio.wait_for(picked.event.wait(), SYNC_QUEUE_LIMITS * limits.seconds)
        except asyncio.TimeoutError:
            if answer.cancel():  # not started (else it started just now: wait for it as for any other)
                raise ServiceFault(
                    f"the service is busy: the query waited {time.monotonic() - queued:.0f} s for one of its query "
                    "threads without starting (they all ran other queries); try again later, or run it with /async"
                ) from None
            await picked.event.wait()
        deadline = started + picked.waited + limits.seconds
        try:  # the thread stops at the limit itself; this answers even if a step of it cannot be cut short
            body, ctype = await asyncio.wait_for(answer, deadline + SYNC_GRACE_S - time.monotonic())
        except asyncio.TimeoutError:
            raise LimitFault(limits.overrun()) from None
        self.set_header("Content-Type", ctype)
        self.finish(body)


class _PickedUp:
    """When a sync query's thread picked it up: :attr:`waited` (seconds it waited in the executor's queue),
    :attr:`event` (set, on the handler's loop, once it has)."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.event = asyncio.Event()
        self.waited = 0.0
        self._queued = time.monotonic()

    def run(self, query, state, req, blobs, viewer, access_base, seconds, started):
        """Run ``query`` (:func:`run_query`) in the worker thread with its limit counted from now, not from when
        it was queued: ``started`` moved on by the time it waited."""
        self.waited = time.monotonic() - self._queued
        self.loop.call_soon_threadsafe(self.event.set)
        return query(state, req, blobs, viewer, access_base, seconds, started + self.waited)


async def _execute(state, job_id: str, viewer, access_base: str) -> None:
    store = state.jobs
    job = store.get(job_id, viewer.user)
    if job is None or job.phase != "QUEUED":
        return
    job.started = time.time()
    job.phase = "EXECUTING"
    store.save(job)
    _notify(state, job_id)
    body = ctype = None
    error = None
    try:
        req = TapRequest(dict(job.params))
        loop = asyncio.get_running_loop()
        picked = _PickedUp(loop)
        answer = loop.run_in_executor(state.executor, picked.run, run_query, state, req, job.uploads, viewer,
                                      access_base, job.duration, time.monotonic())
        await picked.event.wait()  # its execution duration counts from when a query thread takes it up
        body, ctype = await asyncio.wait_for(answer, job.duration + 5)
    except ArchiveFault as exc:
        error = exc.document_text()
    except asyncio.TimeoutError:
        error = f"UsageFault: the job ran past its execution duration of {job.duration} s"
    except Exception as exc:  # reported in the job's error summary, never a traceback
        log.exception("TAP job %s failed", job_id)
        error = f"Error: the query failed in the archive service ({type(exc).__name__}); please report it"
    current = store.get(job_id, viewer.user)
    if current is None or current.phase == "ABORTED":  # deleted or aborted while running: drop the result
        return
    current.ended = time.time()
    if error:
        current.phase, current.error = "ERROR", error
    else:
        current.phase, current.result, current.content_type = "COMPLETED", body, ctype
    store.save(current)
    _notify(state, job_id)


def _notify(state, job_id: str) -> None:
    for ev in state.jobs.waiters.pop(job_id, []):
        ev.set()


def _start(state, job, viewer: Viewer, access_base: str) -> None:
    """Queue ``job`` to run as ``viewer`` (their groups asked when it runs, if its query needs them: :class:`Caller`)."""
    if job.phase in ("PENDING", "HELD"):
        job.phase = "QUEUED"
        state.jobs.save(job)
        _notify(state, job.id)
        asyncio.ensure_future(_execute(state, job.id, Caller.of(state, viewer), access_base))


class TapAsyncListHandler(TapBase):
    async def get(self) -> None:
        await self.guarded(self._list)

    async def post(self) -> None:
        await self.guarded(self._create)

    async def _list(self) -> None:
        viewer = await self.identity()
        phases = {p.upper() for p in self.get_query_arguments("PHASE")}
        bad = phases - set(uws.PHASES)
        if bad:
            raise UsageFault(f"PHASE={sorted(bad)[0]!r} is not a UWS phase; use one of {', '.join(uws.PHASES)}")
        last = self.get_query_argument("LAST", None)
        n = None if last is None else whole_number("LAST", last)
        after = self.get_query_argument("AFTER", None)
        after_s = None if after is None else _iso_seconds("AFTER", after)  # UWS 1.1: jobs created after it
        jobs = self.state.jobs.list(viewer.user, phases or None, n, after_s)
        others = []
        if viewer.user is not None and self.state.replicas.peers and FORWARDED_HEADER not in self.request.headers:
            others = await peer_job_lists(self, self.base_url())  # the caller's jobs kept by the other replicas
        self.xml(uws.jobs_document(jobs, self.tap_base() + "async/", others, n))

    async def _create(self) -> None:
        viewer = await self.identity()
        p = self.params()
        phase = p.pop("PHASE", "")
        # UWS 1.1 lets a client set these when it creates the job: they are the job's, not the query's.
        duration, destruction = p.pop("EXECUTIONDURATION", None), p.pop("DESTRUCTION", None)
        blobs = {}
        try:  # a bad job is created anyway, and ends in ERROR with the message (UWS)
            seconds = None if duration is None else _execution_duration(duration)
            when = None if destruction is None else _iso_seconds("DESTRUCTION", destruction)
            req = TapRequest(dict(p))
            blobs = await self.blobs(req)
            await asyncio.get_running_loop().run_in_executor(self.state.executor, _check, self.state, req, blobs)
            early_error = None
        except UsageFault as exc:
            early_error = exc.document_text()
        job = self.state.jobs.create(viewer.user, p, blobs)
        if not early_error and (seconds is not None or when is not None):
            if seconds is not None:
                job.duration = seconds
            if when is not None:
                job.destruction = min(max(when, time.time()), job.created + uws.RETENTION_S)  # the service's limit
            self.state.jobs.save(job)
        if early_error:
            job.phase, job.error, job.ended = "ERROR", early_error, time.time()
            self.state.jobs.save(job)
        elif phase:
            if uws.parse_phase(phase) == "RUN":
                _start(self.state, job, viewer, self.access_base())
        self.redirect(self.tap_base() + "async/" + job.id, status=303)


def _execution_duration(value: str) -> int:
    """A job's ``EXECUTIONDURATION`` in whole seconds, within the service's limit (0 or less: the limit)."""
    try:
        seconds = int(float(value))
    except (ValueError, OverflowError):
        raise UsageFault(f"EXECUTIONDURATION={value!r} is not a number of seconds") from None
    return max(1, min(seconds, uws.EXECUTION_S)) if seconds > 0 else uws.EXECUTION_S


def _iso_seconds(name: str, value: str) -> float:
    """Parameter ``name``'s ISO 8601 time (UTC: a job's ``DESTRUCTION``, the job list's ``AFTER``) as Unix seconds."""
    try:
        from astropy.time import Time
        from erfa import ErfaWarning

        with warnings.catch_warnings():  # a time outside ERFA's leap-second table (AFTER=1900-01-01, DESTRUCTION
            # decades ahead) is still that time; ERFA's "dubious year" only says no leap seconds are known there
            warnings.filterwarnings("ignore", r'ERFA function "dtf2d" yielded .* "dubious year', ErfaWarning)
            return float(Time(value.replace("Z", ""), format="isot", scale="utc").unix)
    except Exception:
        raise UsageFault(f"{name}={value!r} is not an ISO 8601 time (YYYY-MM-DDThh:mm:ssZ)") from None


class TapJobHandler(TapBase):
    async def get(self, job_id: str, what: str | None = None) -> None:
        await self.guarded(lambda: self._owned(job_id, self._get, what))

    async def post(self, job_id: str, what: str | None = None) -> None:
        await self.guarded(lambda: self._owned(job_id, self._post, what))

    async def delete(self, job_id: str, what: str | None = None) -> None:
        await self.guarded(lambda: self._owned(job_id, self._delete, what))

    async def _owned(self, job_id: str, answer, what: str | None) -> None:
        """``answer`` here when the job is this replica's, else the answer of the replica that keeps it
        (:mod:`astrohub_archive.replicas`; a request forwarded once is answered where it arrives)."""
        owner = self.state.replicas.owner(job_id)
        if owner is not None and FORWARDED_HEADER not in self.request.headers:
            await forward(self, owner, self.base_url())
            return
        await answer(job_id, what)

    async def _job(self, job_id: str):
        viewer = await self.identity()
        job = self.state.jobs.get(job_id, viewer.user)
        if job is None:
            raise NotFoundFault(f"no job {job_id!r} of yours on this service")
        return job, viewer

    async def _wait(self, job) -> None:
        wait = self.get_query_argument("WAIT", None)
        if wait is None:
            return
        try:
            seconds = float(wait)
        except ValueError:
            raise UsageFault(f"WAIT={wait!r} is not a number of seconds") from None
        if math.isnan(seconds):
            raise UsageFault("WAIT=NaN is not a number of seconds")
        seconds = MAX_WAIT_S if seconds < 0 else min(seconds, MAX_WAIT_S)
        if job.phase not in ("PENDING", "QUEUED", "EXECUTING"):
            return
        want = self.get_query_argument("PHASE", None)
        if want is not None and want.upper() != job.phase:
            return  # UWS 1.1: wait only while the job is in the named phase
        ev = asyncio.Event()
        self.state.jobs.waiters.setdefault(job.id, []).append(ev)
        try:
            await asyncio.wait_for(ev.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    async def _get(self, job_id: str, what: str | None) -> None:
        job, viewer = await self._job(job_id)
        url = self.tap_base() + "async/"
        if what is None:
            await self._wait(job)
            job = self.state.jobs.get(job_id, viewer.user) or job
            self.xml(uws.job_document(job, url))
        elif what == "phase":
            self.text(job.phase)
        elif what == "quote":
            self.text("")
        elif what == "owner":
            self.text(job.owner or "")
        elif what == "executionduration":
            self.text(str(job.duration))
        elif what == "destruction":
            self.text(uws.iso(job.destruction))
        elif what == "parameters":
            self.xml(uws.parameters_document(job))
        elif what == "results":
            self.xml(uws.results_document(job, url))
        elif what == "results/result":
            if job.phase != "COMPLETED" or job.result is None:
                raise NotFoundFault(f"job {job.id} is {job.phase}; it has no result")
            self.set_header("Content-Type", job.content_type)
            self.finish(job.result)
        elif what == "error":
            if not job.error:  # UWS 1.1: the error resource holds the job's error, if any; none: empty (DaCHS)
                self.text("")
                return
            self.set_header("Content-Type", CONTENT_TYPES["votable"])
            self.finish(error_votable(job.error))

    async def _post(self, job_id: str, what: str | None) -> None:
        job, viewer = await self._job(job_id)
        p = self.params()
        url = self.tap_base() + "async/"
        if what is None:
            if p.get("ACTION", "").upper() == "DELETE":
                await self._delete(job_id, None)
                return
            raise UsageFault("POST to a job takes ACTION=DELETE; set PHASE, parameters, EXECUTIONDURATION and "
                             "DESTRUCTION on their own resources")
        if what == "phase":
            phase = uws.parse_phase(p.get("PHASE", ""))
            if phase == "RUN":
                _start(self.state, job, viewer, self.access_base())
            elif job.phase in ("PENDING", "QUEUED", "EXECUTING", "HELD", "SUSPENDED"):
                job.ended = time.time()
                job.phase = "ABORTED"
                self.state.jobs.save(job)
                _notify(self.state, job.id)
        elif what == "parameters":
            if job.phase != "PENDING":
                raise UsageFault(f"job {job.id} is {job.phase}; parameters can change only while it is PENDING")
            p.pop("PHASE", None)
            job.params.update(p)
            TapRequest(dict(job.params))  # refuse what would make the job invalid
            self.state.jobs.save(job)
        elif what == "executionduration":
            seconds = _execution_duration(p.get("EXECUTIONDURATION", ""))
            if job.phase == "PENDING":
                job.duration = seconds
                self.state.jobs.save(job)
        elif what == "destruction":
            when = _iso_seconds("DESTRUCTION", p.get("DESTRUCTION", ""))
            job.destruction = min(max(when, time.time()), job.created + uws.RETENTION_S)  # the service's limit
            self.state.jobs.save(job)
        else:
            raise UsageFault(f"{what} of a job cannot be changed; use GET")
        self.redirect(url + job.id, status=303)

    async def _delete(self, job_id: str, what: str | None) -> None:
        if what is not None:
            raise UsageFault(f"DELETE applies to the job, not to its {what}")
        job, _ = await self._job(job_id)
        self.state.jobs.delete(job.id)
        _notify(self.state, job.id)
        self.redirect(self.tap_base() + "async", status=303)


def tap_routes(prefix: str, state) -> list:
    kw = {"state": state}
    job = r"tap/async/([A-Za-z0-9_.-]{1,64})"  # <replica>.<token> (astrohub_archive.replicas), or <token>
    return [
        (prefix + r"tap/capabilities/?", TapCapabilitiesHandler, kw),
        (prefix + r"tap/availability/?", TapAvailabilityHandler, kw),
        (prefix + r"tap/tables/?", TapTablesHandler, kw),
        (prefix + r"tap/tables/([^/]{1,256})/?", TapTablesHandler, kw),
        (prefix + r"tap/examples/?", TapExamplesHandler, kw),
        (prefix + r"tap/sync/?", TapSyncHandler, kw),
        (prefix + r"tap/async/?", TapAsyncListHandler, kw),
        (prefix + job + r"/?", TapJobHandler, kw),
        (prefix + job + r"/(phase|quote|owner|executionduration|destruction|parameters|results|results/result|error)/?",
         TapJobHandler, kw),
    ]
