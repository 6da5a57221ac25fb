"""UWS 1.1 jobs of the TAP service: the job model, its SQLite store (jobs survive a restart) and the XML documents.

A :class:`JobStore` keeps every async job in one SQLite file (``--jobs``; in memory when none is
given): parameters, uploads, phase, times, the error text and the result bytes. Jobs belong to the
caller who created them; another caller gets 404, as if the job did not exist. Anonymous jobs get
an unguessable id and are never listed (only their URL reaches them). Each owner may hold
:data:`MAX_JOBS_PER_OWNER` jobs and anonymous callers together :data:`MAX_ANON_JOBS`, so no caller
can fill the service. Jobs executing when the service stopped are marked ERROR at the next start.
XML is built with :mod:`xml.etree.ElementTree`. Pure apart from SQLite; no Tornado.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from astrohub_archive.faults import LimitFault, UsageFault

__all__ = ["Job", "JobStore", "job_document", "jobs_document", "parameters_document", "results_document",
           "RETENTION_S", "EXECUTION_S", "MAX_JOBS_PER_OWNER", "MAX_ANON_JOBS", "PHASES"]

RETENTION_S = 86400
EXECUTION_S = 600
MAX_JOBS_PER_OWNER = 100
MAX_ANON_JOBS = 200
UWS = "http://www.ivoa.net/xml/UWS/v1.0"
XLINK = "http://www.w3.org/1999/xlink"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
PHASES = ("PENDING", "QUEUED", "EXECUTING", "COMPLETED", "ERROR", "ABORTED", "UNKNOWN", "HELD", "SUSPENDED",
          "ARCHIVED")
ET.register_namespace("uws", UWS)
ET.register_namespace("xlink", XLINK)
ET.register_namespace("xsi", XSI)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS job (
    id TEXT PRIMARY KEY, owner TEXT, run_id TEXT, params TEXT NOT NULL, uploads BLOB, phase TEXT NOT NULL,
    created REAL NOT NULL, started REAL, ended REAL, destruction REAL NOT NULL, duration INTEGER NOT NULL,
    error TEXT, result BLOB, content_type TEXT);
CREATE INDEX IF NOT EXISTS job_owner ON job(owner);
"""


def iso(t: float | None) -> str | None:
    if t is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


@dataclass
class Job:
    id: str
    owner: str | None
    params: dict[str, str]
    uploads: dict[str, bytes] = field(default_factory=dict)
    run_id: str | None = None
    phase: str = "PENDING"
    created: float = field(default_factory=time.time)
    started: float | None = None
    ended: float | None = None
    destruction: float = 0.0
    duration: int = EXECUTION_S
    error: str | None = None
    result: bytes | None = None
    content_type: str | None = None

    @property
    def active(self) -> bool:
        return self.phase in ("QUEUED", "EXECUTING")


class JobStore:
    """The async jobs of the service, in SQLite (``path``; ``None``: in memory, lost on restart)."""

    def __init__(self, path: str | Path | None = None, id_prefix: str = "") -> None:
        self.path = str(path) if path else ":memory:"
        #: What new job ids start with: the replica that keeps them (:mod:`astrohub_archive.replicas`).
        self.id_prefix = id_prefix
        if path:
            # Results may hold proprietary rows: the file (and its journal) is the service's alone.
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
            os.chmod(self.path, 0o600)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        if path:
            old_umask = os.umask(0o077)
            try:
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            finally:
                os.umask(old_umask)
        self._conn.executescript(_SCHEMA)
        self.waiters: dict[str, list] = {}
        now = time.time()
        with self._lock:  # jobs cut short by a stop: say so (their thread is gone)
            self._conn.execute("UPDATE job SET phase='ERROR', ended=?, error=? WHERE phase IN ('QUEUED','EXECUTING')",
                               (now, "Error: the archive service restarted while this job ran; run it again"))
            self._conn.execute("DELETE FROM job WHERE destruction < ?", (now,))

    # -- rows
    @staticmethod
    def _job(row) -> Job:
        return Job(row["id"], row["owner"], json.loads(row["params"]),
                   {k: bytes.fromhex(v) for k, v in json.loads(row["uploads"] or "{}").items()}, row["run_id"],
                   row["phase"], row["created"], row["started"], row["ended"], row["destruction"], row["duration"],
                   row["error"], row["result"], row["content_type"])

    def save(self, job: Job) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO job VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (job.id, job.owner, job.run_id, json.dumps(job.params),
                 json.dumps({k: v.hex() for k, v in job.uploads.items()}), job.phase, job.created, job.started,
                 job.ended, job.destruction, job.duration, job.error, job.result, job.content_type))

    def create(self, owner: str | None, params: dict[str, str], uploads: dict[str, bytes] | None = None) -> Job:
        """A new PENDING job of ``owner``; :class:`LimitFault` when the owner holds too many."""
        now = time.time()
        with self._lock:
            self._conn.execute("DELETE FROM job WHERE destruction < ?", (now,))
            if owner is None:
                n = self._conn.execute("SELECT COUNT(*) FROM job WHERE owner IS NULL").fetchone()[0]
                cap = MAX_ANON_JOBS
            else:
                n = self._conn.execute("SELECT COUNT(*) FROM job WHERE owner = ?", (owner,)).fetchone()[0]
                cap = MAX_JOBS_PER_OWNER
        if n >= cap:
            who = "anonymous callers hold" if owner is None else f"you ({owner}) hold"
            raise LimitFault(f"{who} {n} jobs, the most this service keeps; DELETE finished jobs "
                             f"(or wait for their destruction time) first" + (
                                 "; sign in to get a quota of your own" if owner is None else ""))
        run_id = params.pop("RUNID", None)
        job = Job(self.id_prefix + secrets.token_urlsafe(24 if owner is None else 12), owner, params, dict(uploads or {}), run_id,
                  created=now, destruction=now + RETENTION_S)
        self.save(job)
        return job

    def get(self, job_id: str, owner: str | None) -> Job | None:
        """The job when it exists, is not destroyed and belongs to ``owner``, else None."""
        with self._lock:
            row = self._conn.execute("SELECT * FROM job WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            return None
        job = self._job(row)
        if job.owner != owner or job.destruction < time.time():
            return None
        return job

    def list(self, owner: str | None, phases: set[str] | None = None, last: int | None = None,
             after: float | None = None) -> list[Job]:
        """``owner``'s jobs (none for anonymous callers: their jobs are not listed), newest first; with ``after``
        (Unix seconds) only those created after it (UWS 1.1 ``AFTER``)."""
        if owner is None:
            return []
        with self._lock:
            rows = self._conn.execute("SELECT id, owner, run_id, phase, created, destruction, duration, '{}' AS params,"
                                      " NULL AS uploads, NULL AS started, NULL AS ended, NULL AS error, NULL AS result,"
                                      " NULL AS content_type FROM job WHERE owner = ? AND destruction >= ? "
                                      "ORDER BY created DESC", (owner, time.time())).fetchall()
        jobs = [self._job(r) for r in rows]
        if phases:
            jobs = [j for j in jobs if j.phase in phases]
        if after is not None:
            jobs = [j for j in jobs if j.created > after]
        if last is not None:
            jobs = jobs[:last]
        return jobs

    def delete(self, job_id: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM job WHERE id = ?", (job_id,))

    def phase_of(self, job_id: str) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT phase FROM job WHERE id = ?", (job_id,)).fetchone()
        return row[0] if row else None


# ---------------------------------------------------------------- documents


def _q(tag: str) -> str:
    return f"{{{UWS}}}{tag}"


def _xml(root: ET.Element) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")


def _parameters(parent: ET.Element, job: Job) -> ET.Element:
    params = ET.SubElement(parent, _q("parameters"))
    for k, v in sorted(job.params.items()):
        ET.SubElement(params, _q("parameter"), id=k.lower()).text = v
    for name in sorted(job.uploads):
        ET.SubElement(params, _q("parameter"), id="upload", byReference="false").text = f"{name},param:{name}"
    return params


def _results(parent: ET.Element, job: Job, base: str) -> ET.Element:
    results = ET.SubElement(parent, _q("results"))
    if job.phase == "COMPLETED":
        ET.SubElement(results, _q("result"), {"id": "result", f"{{{XLINK}}}href": f"{base}{job.id}/results/result"})
    return results


def job_document(job: Job, base: str) -> bytes:
    """The UWS 1.1 ``job`` document (``base``: the job list URL ending with ``/``)."""
    root = ET.Element(_q("job"), {"version": "1.1"})
    ET.SubElement(root, _q("jobId")).text = job.id
    if job.run_id is not None:
        ET.SubElement(root, _q("runId")).text = job.run_id
    owner = ET.SubElement(root, _q("ownerId"))
    if job.owner is None:
        owner.set(f"{{{XSI}}}nil", "true")
    else:
        owner.text = job.owner
    ET.SubElement(root, _q("phase")).text = job.phase
    ET.SubElement(root, _q("quote"), {f"{{{XSI}}}nil": "true"})
    ET.SubElement(root, _q("creationTime")).text = iso(job.created)
    for tag, value in (("startTime", job.started), ("endTime", job.ended)):
        el = ET.SubElement(root, _q(tag))
        if value is None:
            el.set(f"{{{XSI}}}nil", "true")
        else:
            el.text = iso(value)
    ET.SubElement(root, _q("executionDuration")).text = str(job.duration)
    ET.SubElement(root, _q("destruction")).text = iso(job.destruction)
    _parameters(root, job)
    _results(root, job, base)
    if job.error:
        summary = ET.SubElement(root, _q("errorSummary"), type="fatal", hasDetail="true")
        ET.SubElement(summary, _q("message")).text = job.error
    return _xml(root)


def jobs_document(jobs: list[Job], base: str, others: list[ET.Element] = (), last: int | None = None) -> bytes:
    """The UWS 1.1 job list: ``jobs`` and the ``jobref`` elements of ``others`` (other replicas' lists), newest
    first, the first ``last`` of them when given."""
    root = ET.Element(_q("jobs"), {"version": "1.1"})
    for j in jobs:
        ref = ET.SubElement(root, _q("jobref"), {"id": j.id, f"{{{XLINK}}}href": base + j.id})
        ET.SubElement(ref, _q("phase")).text = j.phase
        if j.run_id is not None:
            ET.SubElement(ref, _q("runId")).text = j.run_id
        if j.owner is not None:
            ET.SubElement(ref, _q("ownerId")).text = j.owner
        ET.SubElement(ref, _q("creationTime")).text = iso(j.created)
    if others:
        refs = list(root) + list(others)
        refs.sort(key=lambda ref: ref.findtext(_q("creationTime")) or "", reverse=True)  # ISO 8601 UTC sorts
        root[:] = refs[:last] if last is not None else refs
    return _xml(root)


def parameters_document(job: Job) -> bytes:
    root = ET.Element("x")
    return _xml(_parameters(root, job))


def results_document(job: Job, base: str) -> bytes:
    root = ET.Element("x")
    return _xml(_results(root, job, base))


def parse_phase(text: str) -> str:
    phase = text.strip().upper()
    if phase not in ("RUN", "ABORT", "SUSPEND", "ARCHIVE"):
        raise UsageFault(f"PHASE={text!r}: use RUN or ABORT")
    if phase in ("SUSPEND", "ARCHIVE"):
        raise UsageFault(f"PHASE={phase} is not supported by this service; use RUN or ABORT")
    return phase
