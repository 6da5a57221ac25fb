"""The VO calls behind the facade: pyvo SIA v2, Simple Cone Search, TAP and the registry.

This is the adapter layer: the only retrieval module that imports pyvo; it turns pyvo's and
requests' exceptions into :class:`~platform_lib.retrieval.errors.RetrievalError`. Its waits poll
through :func:`platform_lib.jobs.poll_until`.
"""

from __future__ import annotations

import contextlib
import io

import astropy.units as u
import numpy as np

from platform_lib.jobs import poll_until
from platform_lib.retrieval.errors import RetrievalError

__all__ = ["shown", "translate_errors", "DONE_PHASES", "TapJob", "WholeBodies", "registry_search", "result_table",
           "save_path", "tap_job_list", "tap_job_record", "plain_strings"]


def result_table(search, what: str, maxrec: int | None,
                 more: str = "Pass a larger maxrec= (the service may cap it) or narrow the search."):
    """``search()`` (a pyvo call returning DAL results) as a Table, warning when it was truncated.

    pyvo's own overflow warning (generic, and only shown once per place) is replaced by a
    :class:`~platform_lib.retrieval.errors.TruncatedResultWarning` that says how many rows came
    back, names ``maxrec`` and ends with ``more`` (how to get the rest); the table's
    ``meta["QUERY_STATUS"]`` is the service's status.
    """
    import warnings

    import pyvo

    from platform_lib.retrieval.errors import TruncatedResultWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pyvo.dal.DALOverflowWarning)
        result = search()
    from platform_lib.catalogs import result_table as table_of

    table = plain_strings(table_of(result))  # the COOSYS (FK4 B1950...) kept in meta, as ingest reads it
    status = _query_status(result)
    table.meta["QUERY_STATUS"] = status
    if status == "OVERFLOW":
        limit = f"maxrec={maxrec}" if maxrec else "the service's default maxrec"
        warnings.warn(
            f"{what}: the result was truncated at {len(table)} rows ({limit}; QUERY_STATUS=OVERFLOW): "
            f"more rows match. {more}",
            TruncatedResultWarning, stacklevel=3)
    return table


def shown(url: str, archive_url: str = "") -> str:
    """``url`` as a message names it: one on the platform's archive (under ``archive_url``, an address inside
    the platform that a browser cannot open) as ``the archive (<path>)``, the path a browser opens on the
    platform's own address (``/services/archive/tap``); any other URL as it is.

    >>> shown("http://127.0.0.1:8003/services/archive/tap", "http://127.0.0.1:8003/services/archive/")
    'the archive (/services/archive/tap)'
    >>> shown("https://gea.esac.esa.int/tap-server/tap", "http://127.0.0.1:8003/services/archive/")
    'https://gea.esac.esa.int/tap-server/tap'
    """
    from urllib.parse import urlparse

    base = archive_url.rstrip("/")
    if base and (url == base or url.startswith(base + "/")):
        return f"the archive ({urlparse(url).path or '/'})"
    return url


def _unaddressed(text: str, archive_url: str) -> str:
    """``text`` (a service's or pyvo's words) without the archive's internal ``scheme://host:port``."""
    from urllib.parse import urlparse

    parts = urlparse(archive_url) if archive_url else None
    return text.replace(f"{parts.scheme}://{parts.netloc}", "") if parts and parts.netloc else text


@contextlib.contextmanager
def translate_errors(url: str, what: str, archive_url: str = ""):
    """Turn pyvo/requests failures into :class:`RetrievalError` naming ``url`` (``url`` is the error's field
    too). A URL on the platform's archive (``archive_url``) is named as the user knows it (:func:`shown`),
    never by the internal address the archive answers on."""
    import pyvo
    import requests

    from pyvo.utils.vocabularies import VocabularyError

    where = shown(url, archive_url)

    def unreachable(exc, cause):
        resp = getattr(cause, "response", None)
        if where == url:
            said = f"{what} at {url} could not be reached: {cause}"
        else:  # requests' words name the internal host and port ("HTTPConnectionPool(host='127.0.0.1', ...")
            said = (f"{what} at {where} could not be reached ({type(cause).__name__}): the archive may be "
                    "restarting; try again in a minute, and if it keeps failing tell the platform's administrator")
        return RetrievalError(said, url=url, reason=str(cause), http_code=getattr(resp, "status_code", None),
                              code="unreachable")

    try:
        yield
    except RetrievalError:
        raise
    except (pyvo.dal.DALServiceError, pyvo.dal.DALFormatError) as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, (requests.ConnectionError, requests.Timeout)):  # pyvo's wrapping of no answer at all
            raise unreachable(exc, cause) from exc
        if isinstance(exc, pyvo.dal.DALFormatError):
            raise RetrievalError(f"{what} at {where} answered something that is not a VOTable: "
                                 f"{_unaddressed(str(exc), archive_url)}", url=url, reason=str(exc),
                                 code="format-error") from exc
        code = getattr(exc, "code", None) or None
        reason = _votable_error(cause) or getattr(exc, "reason", None) or str(exc)
        raise RetrievalError(f"{what} at {where} failed: {_unaddressed(reason, archive_url)}", url=url,
                             reason=reason, http_code=code, code="service-error") from exc
    except VocabularyError as exc:  # pyvo downloads IVOA vocabularies (e.g. messenger) on first use
        raise RetrievalError(f"{what}: an IVOA vocabulary pyvo needs could not be loaded: {exc}", url=url,
                             reason=str(exc), code="vocabulary-unavailable") from exc
    except pyvo.dal.DALQueryError as exc:
        reason = getattr(exc, "reason", None) or str(exc)
        raise RetrievalError(f"{what} at {where} was refused: {_unaddressed(reason, archive_url)}", url=url,
                             reason=reason, code="query-error") from exc
    except requests.RequestException as exc:
        raise unreachable(exc, exc) from exc


def _query_status(result) -> str:
    """The last ``QUERY_STATUS`` INFO of a DAL result's VOTable (``"OK"`` when there is none).

    Read from the VOTable itself: pyvo's Simple Cone Search results look only for SCS 1.03's
    ``Error`` INFO and never report an overflow, though DALI services (ours included) send one.
    """
    votable = getattr(result, "votable", None)
    if votable is None:
        return "OK"
    infos = list(votable.infos)
    for resource in votable.resources:
        infos += list(resource.infos)
        for table in resource.tables:
            infos += list(table.infos)
    found = [info.value for info in infos if (info.name or "").upper() == "QUERY_STATUS"]
    return str(found[-1]).upper() if found else "OK"


def _votable_error(cause) -> str | None:
    """The ``QUERY_STATUS=ERROR`` text of a VOTable error document in an HTTP error response.

    pyvo reports only ``400 Client Error`` for DALI services that answer errors with a 4xx status
    and a VOTable (allowed by DALI 1.1); the service's own ``UsageFault: ...`` is in the body.
    """
    import re
    from html import unescape

    response = getattr(cause, "response", None)
    if response is None:
        return None
    try:
        text = response.text[:100_000]
    except Exception:
        return None
    m = re.search(r'<INFO[^>]*name="QUERY_STATUS"[^>]*value="ERROR"[^>]*>(.*?)</INFO>', text, re.S)
    if m is None:
        m = re.search(r'<INFO[^>]*value="ERROR"[^>]*name="QUERY_STATUS"[^>]*>(.*?)</INFO>', text, re.S)
    return unescape(m.group(1).strip()) if m and m.group(1).strip() else None


def registry_search(words: list[str], *, servicetype: str | None, waveband: str | None,
                    registry_url: str | None, maxrec: int | None, session) -> list[tuple[str, str, str, str]]:
    """Rows ``(ivoid, title, access_url, types)`` of a RegTAP search run with ``session``.

    pyvo 1.9's :func:`pyvo.registry.search` always uses its module-level service (no session, no
    timeout); here the same ADQL (:func:`~pyvo.registry.regtap.get_RegTAP_query`, which adapts to
    the registry's declared ADQL features) is run on a TAPService built with our session.
    """
    import pyvo
    from pyvo.registry import regtap

    url = registry_url or regtap.get_RegTAP_service_url()
    with translate_errors(url, "registry search"):
        constraints = []
        if words:
            constraints.append(pyvo.registry.Freetext(*words))
        if servicetype:
            constraints.append(pyvo.registry.Servicetype(servicetype))
        if waveband:
            constraints.append(pyvo.registry.Waveband(waveband))
        service = pyvo.dal.TAPService(url, session=session)
        adql = regtap.get_RegTAP_query(*constraints, service=service)
        query = regtap.RegistryQuery(service.baseurl, adql, maxrec=maxrec, session=session)
        results = query.execute()
        rows = []
        for r in results:
            access = ""
            if servicetype:
                try:
                    access = r.get_interface(service_type=servicetype, lax=True).access_url
                except ValueError:  # the record matched on another capability of the same resource
                    access = ""
            if not access:
                urls = [i.access_url for i in r.interfaces if i.access_url and not i.is_vosi]
                access = sorted(set(urls))[0] if urls else ""
            rows.append((r.ivoid, r.res_title, access, ",".join(sorted(r.access_modes()))))
    return rows


def save_path(save_to) -> str:
    """``save_to`` (``"home:results/x.parquet"`` or ``"results/x.parquet"``) as a path in the home."""
    if not isinstance(save_to, str) or not save_to.strip():
        raise TypeError(f"save_to must be a path in the home such as 'home:results/x.parquet', got {save_to!r}")
    space, sep, path = save_to.partition(":")
    if not sep:
        path = save_to
    elif space != "home":
        raise RetrievalError(f"save_to={save_to!r}: a TAP job writes into the home ('home:results/x.parquet'); "
                             "save it elsewhere afterwards with job.save(address)", code="bad-save-to")
    if not path.lower().endswith((".parquet", ".pq")):
        raise RetrievalError(f"save_to={save_to!r}: a TAP job writes Parquet; name the file '....parquet' (other "
                             "formats: job.save('home:x.fits') afterwards)", code="bad-save-to")
    return path


def plain_strings(table):
    """``table`` with its text columns as NumPy strings and their NULLs masked, in place.

    A VOTable ``char`` column of ``arraysize="*"`` reads as ``object`` values, which cannot be written to
    Parquet or FITS (astropy: "'str' object has no attribute 'dtype'"). A NULL text cell reads as ``""``
    in astropy (and so in pyvo): TABLEDATA writes NULL and ``""`` alike as ``<TD/>`` (ours and DaCHS's
    services do), and astropy's parser ignores BINARY2's null flag for text (astropy issue 8995). TOPCAT
    and STILTS read such a cell as NULL, and so does astropy's FITS reader; here an empty text cell is
    masked too, so that ``table["name"].mask`` finds the NULLs. Metadata is kept."""
    from astropy.table import Column, MaskedColumn

    for name in table.colnames:
        col = table[name]
        if col.dtype.kind not in "OU" or col.ndim != 1:
            continue
        if col.dtype.kind == "O":
            values = list(col)
            if not all(isinstance(v, str) or v is None or v is np.ma.masked for v in values):
                continue  # variable-length arrays: left as they are
            data = np.array([v if isinstance(v, str) else "" for v in values], dtype=str)
            missing = np.array([not isinstance(v, str) for v in values], dtype=bool)
        else:  # fixed-size text (char arraysize="8")
            data, missing = np.asarray(np.ma.getdata(col)), np.ma.getmaskarray(col).copy()
        missing |= data == ""
        kind = MaskedColumn if missing.any() else Column
        extra = {"mask": missing} if missing.any() else {}
        table.replace_column(name, kind(data, name=name, unit=col.info.unit, description=col.info.description,
                                        meta=dict(col.info.meta or {}), **extra))
    return table


_UWS = "{http://www.ivoa.net/xml/UWS/v1.0}"
_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


def _uws_get(url: str, session, what: str, archive_url: str = ""):
    """``url``'s UWS document as an element tree root; :class:`RetrievalError` when it cannot be read."""
    import xml.etree.ElementTree as ET

    where = shown(url, archive_url)
    with translate_errors(url, what, archive_url):
        response = session.get(url, headers={"Accept": "text/xml"})
        if response.status_code == 404:
            raise RetrievalError(f"{what}: {where} answered 404 (no such job, or another user's)", url=url,
                                 reason="not found", http_code=404, code="not-found")
        response.raise_for_status()
    try:
        return ET.fromstring(response.content)
    except ET.ParseError as exc:
        raise RetrievalError(f"{what} at {where} answered something that is not a UWS document: {exc}", url=url,
                             reason=str(exc), code="format-error") from exc


def _text(element, tag: str) -> str | None:
    child = element.find(_UWS + tag)
    if child is None or child.get(_XSI_NIL) == "true" or child.text is None:
        return None
    return child.text.strip()


def tap_job_list(service: str, session, archive_url: str = "") -> list[dict]:
    """The caller's UWS jobs on the TAP service ``service`` (its ``/async`` list, which a service
    filters by the caller's identity), newest first as the service lists them: ``{"id", "url",
    "phase", "run_id", "owner", "created"}`` each. :class:`RetrievalError` when the list cannot be read
    (naming a service on the platform's ``archive_url`` as :func:`shown` does)."""
    base = service.rstrip("/") + "/async"
    root = _uws_get(base, session, "TAP job list", archive_url)
    jobs = []
    for ref in root.iter(_UWS + "jobref"):
        job_id = ref.get("id") or ""
        href = ref.get(_XLINK_HREF) or f"{base}/{job_id}"
        jobs.append({"id": job_id, "url": href, "phase": _text(ref, "phase") or "UNKNOWN",
                     "run_id": _text(ref, "runId"), "owner": _text(ref, "ownerId"),
                     "created": _text(ref, "creationTime")})
    return jobs


def tap_job_record(job_url: str, session, archive_url: str = "") -> dict:
    """One UWS job as a dict: ``id``, ``url``, ``phase``, ``run_id``, ``owner``, ``created``, ``started``,
    ``ended``, ``destruction``, ``parameters`` (lower-case names: ``query``, ``lang``, ``maxrec``...),
    ``query``, ``result_url`` (None until COMPLETED) and ``error`` (the error summary's message)."""
    root = _uws_get(job_url, session, "TAP job", archive_url)
    params = {}
    holder = root.find(_UWS + "parameters")
    for param in (holder if holder is not None else []):
        if param.get("id"):
            params[param.get("id").lower()] = (param.text or "").strip()
    result_url = None
    for result in root.iter(_UWS + "result"):
        if result.get("id") == "result" or result_url is None:
            result_url = result.get(_XLINK_HREF)
    error = None
    summary = root.find(_UWS + "errorSummary")
    if summary is not None:
        error = _text(summary, "message") or "the service reported an error without a message"
    return {"id": _text(root, "jobId"), "url": job_url, "phase": _text(root, "phase") or "UNKNOWN",
            "run_id": _text(root, "runId"), "owner": _text(root, "ownerId"), "created": _text(root, "creationTime"),
            "started": _text(root, "startTime"), "ended": _text(root, "endTime"),
            "destruction": _text(root, "destruction"), "parameters": params, "query": params.get("query"),
            "result_url": result_url, "error": error}


#: The UWS phases a job does not leave by itself: what :meth:`TapJob.wait` (and the ``tap`` job kind) wait for.
DONE_PHASES = ("COMPLETED", "ERROR", "ABORTED")


class _Replay(io.BytesIO):
    """A body already read, where pyvo reads a streamed one: ``response.raw.read(amt, decode_content=True)``."""

    def read(self, amt=None, decode_content=None, **_):  # noqa: ARG002 - urllib3's signature
        return super().read(-1 if amt is None else amt)


class WholeBodies:
    """The session given to pyvo's asynchronous TAP (``TAPService.submit_job``, ``AsyncTAPJob``): its GETs and
    POSTs read each answer whole and give the connection back.

    pyvo 1.9.1 asks for the job document and the result with ``stream=True`` and reads them through
    ``response.raw``, but never closes the responses: ``submit_job`` does not even read the job document the
    submission is redirected to. Their connections stay checked out until the responses are garbage-collected,
    and then Python warns ``ResourceWarning: unclosed <socket ...>`` in whatever cell runs: the first
    ``tap_query(..., async_=True)`` of every kernel did. The answers are small UWS documents and results that
    pyvo parses in memory anyway. Everything else is the wrapped session's.
    """

    def __init__(self, session) -> None:
        self.session = session

    def __getattr__(self, name):
        return getattr(self.session, name)

    def _whole(self, response):
        body = response.content  # read to the end: the connection goes back to the pool
        response.raw = _Replay(body)
        return response

    def get(self, url, **kwargs):
        kwargs["stream"] = False
        return self._whole(self.session.get(url, **kwargs))

    def post(self, url, data=None, **kwargs):
        kwargs["stream"] = False
        return self._whole(self.session.post(url, data=data, **kwargs))


class TapJob:
    """A handle on an asynchronous TAP query (UWS job): poll, wait, fetch, abort, delete.

    Created by ``tap_query(..., async_=True)``; ``job.url`` can be stored and reopened with
    ``TapJob.from_url(url, session)``. Its errors name a job on the platform's archive (``archive_url``) as
    :func:`shown` does; ``job.url`` stays the address code uses.
    """

    def __init__(self, job, url: str, archive_url: str = "") -> None:
        self._job = job
        self.service_url = url
        self.archive_url = archive_url

    def __repr__(self) -> str:
        # A notebook shows the handle it was given: say which job it is and where it stands (reading the
        # phase asks the service; a service that cannot answer is said so, a repr never raises). A job on the
        # platform's archive is named by the path a browser opens on the platform's address (shown), never by
        # the internal address the archive answers on (http://127.0.0.1:<port>/...), which no browser reaches.
        try:
            phase = self.phase
        except Exception as exc:  # noqa: BLE001 - a repr must not raise
            phase = f"phase unknown: {_unaddressed(str(exc), self.archive_url)}"
        return f"<TapJob {shown(self.url, self.archive_url)} {phase}>"

    @classmethod
    def from_url(cls, job_url: str, session=None, *, archive_url: str = "") -> "TapJob":
        import pyvo

        from pyvo.utils.http import create_session

        with translate_errors(job_url, "TAP job", archive_url):
            return cls(pyvo.dal.AsyncTAPJob(job_url, session=WholeBodies(session or create_session())), job_url,
                       archive_url)

    def _errors(self):
        return translate_errors(self.url, "TAP job", self.archive_url)

    @property
    def url(self) -> str:
        return self._job.url

    @property
    def phase(self) -> str:
        with self._errors():
            return self._job.phase

    def wait(self, timeout: u.Quantity = 600 * u.s, poll: u.Quantity = 1 * u.s) -> str:
        """Block until the job finishes (or ``timeout``); returns the final phase. Interruptible."""
        phase, finished = poll_until(lambda: self.phase, lambda phase: phase in DONE_PHASES,
                                     every=poll.to_value(u.s), timeout=timeout.to_value(u.s))
        if not finished:
            raise RetrievalError(f"TAP job {shown(self.url, self.archive_url)} still {phase} after {timeout}",
                                 url=self.url, reason="timeout", code="timeout")
        return phase

    def fetch(self):
        """The result as an astropy Table (raises when the job did not complete)."""
        phase = self.phase
        if phase != "COMPLETED":
            reason = ""
            with contextlib.suppress(Exception):
                reason = self._job.job.errorsummary.message.content
            raise RetrievalError(f"TAP job {shown(self.url, self.archive_url)} is {phase}: {reason}", url=self.url,
                                 reason=reason or phase,
                                 code="job-not-completed")
        with self._errors():
            return plain_strings(self._job.fetch_result().to_table())

    def run(self) -> None:
        """Start a PENDING job."""
        with self._errors():
            self._job.run()

    def save(self, save_to: str, *, settings=None):
        """Follow this job in a background :mod:`platform_lib.jobs` job (kind ``tap``) that writes the
        result to ``save_to`` in the home (``"home:results/x.parquet"``) when it completes; the job is
        listed by ``jobs.list_jobs()`` with the UWS phases in its history. Returns that job.
        A job made by another client (TOPCAT...) can be adopted by URL: ``TapJob.from_url(url).save(...)``.
        """
        from platform_lib import jobs

        return jobs.submit("tap", {"job_url": self.url}, output=save_path(save_to), settings=settings)

    def abort(self) -> None:
        with self._errors():
            self._job.abort()

    def delete(self) -> None:
        with self._errors():
            self._job.delete()
