"""TAP 1.1 over the image index: ``ivoa.obscore`` and ``TAP_SCHEMA``, sync and async (UWS 1.1) queries.

Routes (under ``<prefix>tap/``): ``capabilities``, ``availability``, ``tables`` (VOSI), ``sync``,
``async`` (job list and creation), ``async/<id>`` (job document; ``DELETE`` or ``ACTION=DELETE``),
``async/<id>/{phase,parameters,results,error,quote,executionduration,destruction,owner}`` and
``async/<id>/results/result``.

Queries are the strict ADQL subset of :mod:`astrohub_archive.adql`; ``ivoa.obscore`` rows obey the
proprietary periods exactly as SIA v2 does (the caller's token decides). Queries run in a worker
thread, never on the event loop. Async jobs live in memory (lost on restart), belong to the
caller who created them (others get 404), and are destroyed after :data:`RETENTION_S`.
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
import time
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

import tornado.web

from astrohub_archive.adql import AdqlError, TableDef, translate
from astrohub_archive.handlers import BaseHandler
from astrohub_archive.params import MAX_MAXREC, UsageFault, _maxrec, response_format
from astrohub_archive.responses import CONTENT_TYPES, OBSCORE_FIELDS, error_votable, obscore_table, render_table
from platform_lib.imageindex import ImageQuery

__all__ = ["tap_routes", "JobStore", "TABLES", "run_adql"]

RETENTION_S = 86400
EXECUTION_S = 600
MAX_JOBS = 1000
MAX_WAIT_S = 60.0
_COMPUTED = {"access_url", "obs_release_date"}

OBSCORE = TableDef(
    "ivoa.obscore",
    tuple(f[0] for f in OBSCORE_FIELDS),
    {f[0]: f"o.{f[0]}" for f in OBSCORE_FIELDS if f[0] not in _COMPUTED},
    spatial=True,
)
_TS_COLUMNS = {
    "schemas": ("schema_name", "description", "utype", "schema_index"),
    "tables": ("schema_name", "table_name", "table_type", "description", "utype", "table_index"),
    "columns": ("table_name", "column_name", "description", "unit", "ucd", "utype", "datatype", "arraysize",
                "xtype", "size", "principal", "indexed", "std", "column_index"),
    "keys": ("key_id", "from_table", "target_table", "description", "utype"),
    "key_columns": ("key_id", "from_column", "target_column"),
}
TABLES = {"ivoa.obscore": OBSCORE}
for _name, _cols in _TS_COLUMNS.items():
    TABLES[f"tap_schema.{_name}"] = TableDef(f"TAP_SCHEMA.{_name}", _cols, {c: f'"{c}"' for c in _cols})

_DATATYPE = {"f": ("double", None), "i": ("long", None), "s": ("char", "*")}


def _tap_schema_rows() -> dict[str, list[tuple]]:
    """The rows of the TAP_SCHEMA tables describing ``ivoa.obscore`` and TAP_SCHEMA itself."""
    rows: dict[str, list[tuple]] = {k: [] for k in _TS_COLUMNS}
    rows["schemas"] = [("ivoa", "IVOA data models: the ObsCore table of the image archive", None, 0),
                       ("TAP_SCHEMA", "This service's metadata", None, 1)]
    rows["tables"].append(("ivoa", "ivoa.obscore", "table", "The archive's images (ObsCore 1.1)",
                           "ivo://ivoa.net/std/obscore#table-1.1", 0))
    indexed = {"obs_id", "obs_collection", "t_min", "s_ra", "s_dec", "s_region"}
    for i, (name, kind, unit, ucd, utype) in enumerate(OBSCORE_FIELDS):
        datatype, arraysize = _DATATYPE[kind]
        xtype = "timestamp" if name == "obs_release_date" else None
        rows["columns"].append(("ivoa.obscore", name, None, unit, ucd, utype, datatype, arraysize, xtype, None,
                                1, int(name in indexed), 1, i))
    for t, (name, cols) in enumerate(_TS_COLUMNS.items(), 1):
        rows["tables"].append(("TAP_SCHEMA", f"TAP_SCHEMA.{name}", "table", f"TAP_SCHEMA {name}", None, t))
        for i, c in enumerate(cols):
            numeric = c.endswith("_index") or c in ("size", "principal", "indexed", "std")
            rows["columns"].append((f"TAP_SCHEMA.{name}", c, None, None, None, None,
                                    "int" if numeric else "char", None if numeric else "*", None, None, 1, 0, 1, i))
    return rows


def _schema_db() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    for name, cols in _TS_COLUMNS.items():
        conn.execute(f'CREATE TABLE "{name}" ({", ".join(chr(34) + c + chr(34) for c in cols)})')
        conn.executemany(f'INSERT INTO "{name}" VALUES ({",".join("?" * len(cols))})', _tap_schema_rows()[name])
    return conn


def _output(table, columns):
    from astropy.table import Table

    out = Table()
    for col, alias in columns:
        c = table[col].copy()
        c.name = alias
        out.add_column(c)
    return out


def run_adql(state, adql: str, maxrec: int, viewer, access_base: str):
    """Run one query: ``(astropy Table, overflow)``. Raises :class:`UsageFault` for bad ADQL."""
    from astropy.table import MaskedColumn, Table

    try:
        tr = translate(adql, TABLES)
    except AdqlError as exc:
        raise UsageFault(str(exc)) from None
    limit, overflow_possible = maxrec, True
    if tr.top is not None and tr.top <= maxrec:
        limit, overflow_possible = tr.top, False
    if tr.table is OBSCORE:
        q = ImageQuery(pos=[tr.intersects] if tr.intersects else [], centre_in=[tr.centre_in] if tr.centre_in else [])
        records, overflow = state.index().query(q, viewer, maxrec=limit, extra_where=(tr.where, tr.params),
                                                order_by=tr.order_by or None)
        return _output(obscore_table(records, access_base), tr.columns), overflow and overflow_possible
    short = tr.table.name.split(".", 1)[1]
    sql = f'SELECT * FROM "{short}"' + (f" WHERE {tr.where}" if tr.where else "")
    sql += (f" ORDER BY {tr.order_by}" if tr.order_by else "") + " LIMIT ?"
    conn = _schema_db()
    try:
        rows = conn.execute(sql, [*tr.params, limit + 1]).fetchall()
    finally:
        conn.close()
    overflow = len(rows) > limit
    rows = rows[:limit]
    full = Table()
    for i, c in enumerate(tr.table.columns):
        vals = [r[i] for r in rows]
        numeric = any(isinstance(v, int) for v in vals) or (not vals and (c.endswith("_index") or
                                                                           c in ("size", "principal", "indexed", "std")))
        if numeric:
            data = [0 if v is None else int(v) for v in vals]
            full.add_column(MaskedColumn(data, name=c, dtype="int32", mask=[v is None for v in vals]))
        else:
            data = ["" if v is None else str(v) for v in vals]
            full.add_column(MaskedColumn(data if data else [], name=c, dtype=str if data else "U1",
                                         mask=[v is None for v in vals]))
    return _output(full, tr.columns), overflow and overflow_possible


def _params(handler) -> dict[str, str]:
    """Request parameters (query string and form body), names upper-cased, last value wins."""
    out: dict[str, str] = {}
    for k, vals in handler.args().items():
        if vals:
            out[k.upper()] = vals[-1]
    return out


def _check_request(p: dict[str, str]) -> tuple[str, int, str]:
    """``(query, maxrec, format)`` from TAP parameters, or :class:`UsageFault`."""
    if p.get("REQUEST", "doQuery").strip().lower() != "doquery":
        raise UsageFault(f"REQUEST={p['REQUEST']!r} is not supported; use doQuery")
    lang = p.get("LANG", "ADQL").strip().upper()
    if lang not in ("ADQL", "ADQL-2.0", "ADQL-2.1"):
        raise UsageFault(f"LANG={p.get('LANG')!r} is not supported; use ADQL")
    if "UPLOAD" in p:
        raise UsageFault("UPLOAD is not supported by this service")
    query = p.get("QUERY", "")
    if not query.strip():
        raise UsageFault("QUERY is required: an ADQL SELECT statement")
    maxrec, _ = _maxrec([p["MAXREC"]] if "MAXREC" in p else [])
    fmt = response_format([p.get("RESPONSEFORMAT") or p.get("FORMAT")] if (p.get("RESPONSEFORMAT") or p.get("FORMAT"))
                          else [])
    try:
        translate(query, TABLES)
    except AdqlError as exc:
        raise UsageFault(str(exc)) from None
    return query, maxrec, fmt


# ---------------------------------------------------------------- UWS jobs


def _iso(t: float | None) -> str | None:
    if t is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


@dataclass
class Job:
    id: str
    owner: str | None
    params: dict[str, str]
    phase: str = "PENDING"
    created: float = field(default_factory=time.time)
    started: float | None = None
    ended: float | None = None
    result: bytes | None = None
    content_type: str = CONTENT_TYPES["votable"]
    error: str | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def destruction(self) -> float:
        return self.created + RETENTION_S

    def set_phase(self, phase: str) -> None:
        self.phase = phase
        self.changed.set()
        self.changed = asyncio.Event()


class JobStore:
    """The async jobs of one service process (in memory)."""

    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}

    def create(self, owner: str | None, params: dict[str, str]) -> Job:
        now = time.time()
        for jid in [j.id for j in self.jobs.values() if j.destruction < now]:
            del self.jobs[jid]
        if len(self.jobs) >= MAX_JOBS:
            raise UsageFault(f"this service holds {MAX_JOBS} jobs already; delete finished ones first")
        job = Job(secrets.token_urlsafe(12), owner, params)
        self.jobs[job.id] = job
        return job

    def get(self, job_id: str, owner: str | None) -> Job | None:
        job = self.jobs.get(job_id)
        if job is None or job.owner != owner or job.destruction < time.time():
            return None
        return job


def job_xml(job: Job, base: str) -> str:
    def el(name: str, value) -> str:
        if value is None:
            return f'  <uws:{name} xsi:nil="true"/>\n'
        return f"  <uws:{name}>{escape(str(value))}</uws:{name}>\n"

    params = "".join(f'   <uws:parameter id={quoteattr(k.lower())}>{escape(v)}</uws:parameter>\n'
                     for k, v in sorted(job.params.items()))
    results = ""
    if job.phase == "COMPLETED":
        results = f'   <uws:result id="result" xlink:href={quoteattr(base + job.id + "/results/result")}/>\n'
    error = ""
    if job.error:
        error = (' <uws:errorSummary type="fatal" hasDetail="true">\n'
                 f"  <uws:message>{escape(job.error)}</uws:message>\n </uws:errorSummary>\n")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<uws:job xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.1">\n'
        + el("jobId", job.id) + el("runId", None) + el("ownerId", job.owner) + el("phase", job.phase)
        + el("quote", None) + el("creationTime", _iso(job.created)) + el("startTime", _iso(job.started))
        + el("endTime", _iso(job.ended)) + el("executionDuration", EXECUTION_S)
        + el("destruction", _iso(job.destruction))
        + f"  <uws:parameters>\n{params}  </uws:parameters>\n"
        + f"  <uws:results>\n{results}  </uws:results>\n" + error + "</uws:job>\n"
    )


# ---------------------------------------------------------------- handlers


class TapBase(BaseHandler):
    def tap_base(self) -> str:
        return self.base_url() + "tap/"

    def access_base(self) -> str:
        return self.base_url() + "download/"

    async def owner(self) -> tuple[str | None, object]:
        viewer = await self.viewer()
        return viewer.user, viewer

    def xml(self, body: str, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/xml")
        self.finish(body)


class TapCapabilitiesHandler(TapBase):
    def get(self) -> None:
        base = self.tap_base()
        geo = "".join(f"<feature><form>{f}</form></feature>" for f in ("POINT", "CIRCLE", "POLYGON", "CONTAINS",
                                                                          "INTERSECTS"))
        vosi = "".join(
            f' <capability standardID="ivo://ivoa.net/std/VOSI#{k}">\n'
            f'  <interface xsi:type="vs:ParamHTTP"><accessURL use="full">{base}{k}</accessURL></interface>\n'
            " </capability>\n" for k in ("capabilities", "availability", "tables"))
        self.xml(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<vosi:capabilities xmlns:vosi="http://www.ivoa.net/xml/VOSICapabilities/v1.0" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1" '
            'xmlns:tr="http://www.ivoa.net/xml/TAPRegExt/v1.0">\n' + vosi +
            ' <capability standardID="ivo://ivoa.net/std/TAP" xsi:type="tr:TableAccess">\n'
            f'  <interface xsi:type="vs:ParamHTTP" role="std" version="1.1"><accessURL use="base">{base[:-1]}'
            "</accessURL></interface>\n"
            '  <dataModel ivo-id="ivo://ivoa.net/std/ObsCore#core-1.1">ObsCore-1.1</dataModel>\n'
            "  <language><name>ADQL</name>"
            '<version ivo-id="ivo://ivoa.net/std/ADQL#v2.0">2.0</version>'
            "<description>A subset: one table, WHERE with comparisons, BETWEEN, IN, LIKE, IS NULL, "
            "CONTAINS(POINT, CIRCLE) and INTERSECTS(s_region, CIRCLE|POLYGON); TOP; ORDER BY</description>"
            f'<languageFeatures type="ivo://ivoa.net/std/TAPRegExt#features-adqlgeo">{geo}</languageFeatures>'
            "</language>\n"
            '  <outputFormat ivo-id="ivo://ivoa.net/std/TAPRegExt#output-votable-td">'
            "<mime>application/x-votable+xml</mime><alias>votable</alias></outputFormat>\n"
            "  <outputFormat><mime>text/csv</mime><alias>csv</alias></outputFormat>\n"
            f"  <retentionPeriod><default>{RETENTION_S}</default><hard>{RETENTION_S}</hard></retentionPeriod>\n"
            f"  <executionDuration><default>{EXECUTION_S}</default><hard>{EXECUTION_S}</hard></executionDuration>\n"
            '  <outputLimit><default unit="row">1000</default>'
            f'<hard unit="row">{MAX_MAXREC}</hard></outputLimit>\n'
            " </capability>\n</vosi:capabilities>\n"
        )


class TapTablesHandler(TapBase):
    def get(self) -> None:
        rows = _tap_schema_rows()
        parts = ['<?xml version="1.0" encoding="UTF-8"?>\n'
                 '<vosi:tableset xmlns:vosi="http://www.ivoa.net/xml/VOSITables/v1.0" '
                 'xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1" '
                 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n']
        for schema, description, _, _ in rows["schemas"]:
            parts.append(f" <schema><name>{schema}</name><description>{escape(description)}</description>\n")
            for s, tname, ttype, tdesc, _, _ in rows["tables"]:
                if s != schema:
                    continue
                parts.append(f'  <table type="{ttype}"><name>{tname}</name><description>{escape(tdesc)}'
                             "</description>\n")
                for c in rows["columns"]:
                    if c[0] != tname:
                        continue
                    _, cname, _, unit, ucd, utype, datatype, arraysize, xtype = c[:9]
                    attrs = f' arraysize="{arraysize}"' if arraysize else ""
                    attrs += f' extendedType="{xtype}"' if xtype else ""
                    parts.append(
                        f"   <column><name>{cname}</name>" + (f"<unit>{unit}</unit>" if unit else "")
                        + (f"<ucd>{escape(ucd)}</ucd>" if ucd else "") + (f"<utype>{escape(utype)}</utype>" if utype else "")
                        + f'<dataType xsi:type="vs:VOTableType"{attrs}>{datatype}</dataType></column>\n')
                parts.append("  </table>\n")
            parts.append(" </schema>\n")
        parts.append("</vosi:tableset>\n")
        self.xml("".join(parts))


class TapSyncHandler(TapBase):
    async def get(self) -> None:
        await self.guarded(self._run)

    async def post(self) -> None:
        await self.guarded(self._run)

    async def _run(self) -> None:
        query, maxrec, fmt = _check_request(_params(self))
        viewer = await self.viewer()
        base = self.access_base()
        loop = asyncio.get_running_loop()
        table, overflow = await loop.run_in_executor(None, run_adql, self.state, query, maxrec, viewer, base)
        self.set_header("Content-Type", CONTENT_TYPES[fmt])
        self.finish(render_table(table, fmt, overflow=overflow))


async def _execute(state, job: Job, viewer, access_base: str) -> None:
    if job.phase != "QUEUED":
        return
    job.started = time.time()
    job.set_phase("EXECUTING")
    loop = asyncio.get_running_loop()
    try:
        query, maxrec, fmt = _check_request(job.params)
        table, overflow = await loop.run_in_executor(None, run_adql, state, query, maxrec, viewer, access_base)
        body = render_table(table, fmt, overflow=overflow)
    except UsageFault as exc:
        job.error = f"UsageFault: {exc}"
    except Exception as exc:  # reported in the job's error summary, never a traceback
        import logging

        logging.getLogger("astrohub_archive").exception("TAP job %s failed", job.id)
        job.error = f"Error: the query failed in the archive service ({type(exc).__name__}); please report it"
    if job.phase == "ABORTED":  # aborted while running: drop the result
        return
    job.ended = time.time()
    if job.error:
        job.set_phase("ERROR")
    else:
        job.result, job.content_type = body, CONTENT_TYPES[fmt]
        job.set_phase("COMPLETED")


def _start(state, job: Job, viewer, access_base: str) -> None:
    if job.phase in ("PENDING", "HELD"):
        job.set_phase("QUEUED")
        asyncio.ensure_future(_execute(state, job, viewer, access_base))


class TapAsyncListHandler(TapBase):
    async def get(self) -> None:
        await self.guarded(self._list)

    async def post(self) -> None:
        await self.guarded(self._create)

    async def _list(self) -> None:
        owner, _ = await self.owner()
        refs = "".join(
            f' <uws:jobref id={quoteattr(j.id)} xlink:href={quoteattr(self.tap_base() + "async/" + j.id)}>'
            f"<uws:phase>{j.phase}</uws:phase></uws:jobref>\n"
            for j in self.state.jobs.jobs.values() if j.owner == owner)
        self.xml('<?xml version="1.0" encoding="UTF-8"?>\n'
                 '<uws:jobs xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" xmlns:xlink="http://www.w3.org/1999/xlink" '
                 f'version="1.1">\n{refs}</uws:jobs>\n')

    async def _create(self) -> None:
        owner, viewer = await self.owner()
        p = _params(self)
        phase = p.pop("PHASE", "").upper()
        _check_request(p)  # refuse bad jobs at creation, with the protocol's error document
        job = self.state.jobs.create(owner, p)
        if phase == "RUN":
            _start(self.state, job, viewer, self.access_base())
        self.redirect(self.tap_base() + "async/" + job.id, status=303)


class TapJobHandler(TapBase):
    async def get(self, job_id: str, what: str | None = None) -> None:
        await self.guarded(lambda: self._get(job_id, what))

    async def post(self, job_id: str, what: str | None = None) -> None:
        await self.guarded(lambda: self._post(job_id, what))

    async def delete(self, job_id: str, what: str | None = None) -> None:
        await self.guarded(lambda: self._delete(job_id, what))

    async def _job(self, job_id: str) -> Job | None:
        owner, _ = await self.owner()
        job = self.state.jobs.get(job_id, owner)
        if job is None:
            self.fail(f"Error: no job {job_id!r} of yours on this service", 404)
        return job

    async def _get(self, job_id: str, what: str | None) -> None:
        job = await self._job(job_id)
        if job is None:
            return
        url = self.tap_base() + "async/"
        if what is None:
            wait = self.get_query_argument("WAIT", None)
            if wait is not None and job.phase in ("PENDING", "QUEUED", "EXECUTING"):
                try:
                    seconds = float(wait)
                except ValueError:
                    raise UsageFault(f"WAIT={wait!r} is not a number of seconds") from None
                seconds = MAX_WAIT_S if seconds < 0 else min(seconds, MAX_WAIT_S)
                try:
                    await asyncio.wait_for(job.changed.wait(), seconds)
                except asyncio.TimeoutError:
                    pass
            self.xml(job_xml(job, url))
        elif what == "phase":
            self.set_header("Content-Type", "text/plain")
            self.finish(job.phase)
        elif what in ("quote", "owner"):
            self.set_header("Content-Type", "text/plain")
            self.finish("" if what == "quote" else (job.owner or ""))
        elif what == "executionduration":
            self.set_header("Content-Type", "text/plain")
            self.finish(str(EXECUTION_S))
        elif what == "destruction":
            self.set_header("Content-Type", "text/plain")
            self.finish(_iso(job.destruction))
        elif what == "parameters":
            body = job_xml(job, url)
            start, end = body.index("  <uws:parameters>"), body.index("</uws:parameters>") + 17
            self.xml('<?xml version="1.0" encoding="UTF-8"?>\n'
                     + body[start:end].replace("<uws:parameters>", '<uws:parameters xmlns:uws='
                                               '"http://www.ivoa.net/xml/UWS/v1.0">', 1) + "\n")
        elif what == "results":
            body = job_xml(job, url)
            start, end = body.index("  <uws:results>"), body.index("</uws:results>") + 14
            self.xml('<?xml version="1.0" encoding="UTF-8"?>\n'
                     + body[start:end].replace("<uws:results>", '<uws:results xmlns:uws="http://www.ivoa.net/xml/'
                                               'UWS/v1.0" xmlns:xlink="http://www.w3.org/1999/xlink">', 1) + "\n")
        elif what == "results/result":
            if job.phase != "COMPLETED" or job.result is None:
                self.fail(f"Error: job {job.id} is {job.phase}, it has no result", 404)
                return
            self.set_header("Content-Type", job.content_type)
            self.finish(job.result)
        elif what == "error":
            self.set_header("Content-Type", CONTENT_TYPES["votable"])
            self.finish(error_votable(job.error or f"Error: job {job.id} has no error ({job.phase})"))
        else:
            raise tornado.web.HTTPError(404)

    async def _post(self, job_id: str, what: str | None) -> None:
        job = await self._job(job_id)
        if job is None:
            return
        p = _params(self)
        url = self.tap_base() + "async/"
        if what is None and p.get("ACTION", "").upper() == "DELETE":
            await self._delete(job_id, None)
            return
        if what == "phase":
            phase = p.get("PHASE", "").upper()
            if phase == "RUN":
                _, viewer = await self.owner()
                _start(self.state, job, viewer, self.access_base())
            elif phase == "ABORT":
                if job.phase in ("PENDING", "QUEUED", "EXECUTING", "HELD", "SUSPENDED"):
                    job.ended = time.time()
                    job.set_phase("ABORTED")
            else:
                raise UsageFault(f"PHASE={p.get('PHASE')!r}: use RUN or ABORT")
            self.redirect(url + job.id, status=303)
            return
        if what in ("executionduration", "destruction") or what is None:
            # Fixed by this service: accepted and ignored, as UWS allows.
            self.redirect(url + job.id, status=303)
            return
        raise tornado.web.HTTPError(405)

    async def _delete(self, job_id: str, what: str | None) -> None:
        if what is not None:
            raise tornado.web.HTTPError(405)
        job = await self._job(job_id)
        if job is None:
            return
        if job.phase in ("QUEUED", "EXECUTING"):
            job.set_phase("ABORTED")
        del self.state.jobs.jobs[job.id]
        self.redirect(self.tap_base() + "async", status=303)


class TapAvailabilityHandler(TapBase):
    def get(self) -> None:
        self.redirect(self.base_url() + "sia/availability", permanent=False)


def tap_routes(prefix: str, state) -> list:
    kw = {"state": state}
    job = r"tap/async/([A-Za-z0-9_-]+)"
    return [
        (prefix + r"tap/capabilities/?", TapCapabilitiesHandler, kw),
        (prefix + r"tap/availability/?", TapAvailabilityHandler, kw),
        (prefix + r"tap/tables/?", TapTablesHandler, kw),
        (prefix + r"tap/sync/?", TapSyncHandler, kw),
        (prefix + r"tap/async/?", TapAsyncListHandler, kw),
        (prefix + job + r"/?", TapJobHandler, kw),
        (prefix + job + r"/(phase|quote|owner|executionduration|destruction|parameters|results|results/result|error)/?",
         TapJobHandler, kw),
    ]
