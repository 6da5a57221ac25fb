"""Async TAP jobs across archive replicas: which replica owns a job, and the forwarding of a request to it.

Each replica keeps its jobs in its own SQLite store (no store is shared: SQLite over NFS is unsafe). With
``--replica`` (this replica's name, e.g. the StatefulSet pod ``astrohub-archive-1``: its ordinal is the
number after the last ``-``) and ``--peers`` (the base URLs of all replicas, in ordinal order, this one's
included, e.g. ``http://astrohub-archive-0.astrohub-archive-peers.ns.svc:8080/services/archive/,...``),
a job's id is ``<ordinal>.<token>``: the replica that created it. A request for a job of another replica
(``tap/async/<id>`` and its sub-resources, any method) is forwarded to that replica's configured URL, with
the caller's method, body, ``Authorization`` and cookies (the owner authenticates the caller itself) and the
``Host`` and scheme of the original request (so the owner builds the same links), and its answer streamed
back at the caller's pace (read from the owner as the caller takes it; a cut-off answer is cut off for the
caller too). Only the configured URLs are ever called: an id naming a replica that is not configured is a 404,
whatever it holds. A replica that cannot be reached is :class:`PeerUnavailableFault` (503 with
``Retry-After``, naming it). The job list merges the caller's jobs of every replica that answers (one that
does not is left out and logged).

Ids without a ``.`` (made before replicas, or by a single replica without ``--replica``) are this replica's.
One replica (the local platform) has no peers and forwards nothing. Imports tornado's HTTP client and this
package's faults; the handlers in :mod:`astrohub_archive.tap` call it.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import urlparse

from astrohub_archive.faults import NotFoundFault, ServiceFault

__all__ = ["Replicas", "PeerUnavailableFault", "parse_replica", "parse_peers", "FORWARDED_HEADER",
           "forward", "peer_job_lists"]

log = logging.getLogger("astrohub_archive")

#: Set on a forwarded request (its value: the forwarding replica's ordinal); a request carrying it is
#: answered where it arrives, never forwarded again (no loops between replicas configured differently).
FORWARDED_HEADER = "X-Astrohub-Archive-Forwarded"
#: Request headers passed on to the owner (Host and the scheme are set from the original request).
_PASS_REQUEST = ("Authorization", "Cookie", "Content-Type", "Accept", "Accept-Encoding")
#: Answer headers passed back to the caller.
_PASS_ANSWER = ("Content-Type", "Location", "Retry-After", "Content-Disposition", "Cache-Control",
                "Content-Encoding")
#: Seconds a peer may take to accept a connection; a forwarded request may take the longest UWS WAIT and more.
CONNECT_S = 5.0
REQUEST_S = 120.0
#: Seconds a forwarded job result may take in all: it goes at the caller's pace (nothing piles up here), so a
#: big one to a slow caller takes long.
RESULT_S = 3600.0
#: The most bytes of a forwarded answer: none in practice (a job's result streams through; tornado's client
#: would otherwise stop at 100 MiB, which a result of 100,000 rows of a wide table passes).
MAX_ANSWER = 2**40


class PeerUnavailableFault(ServiceFault):
    """The replica that owns a job cannot be reached now: retry shortly."""

    retry_after = 10


def parse_replica(name: str) -> int:
    """The ordinal of the replica named ``name``: a StatefulSet pod's name (``astrohub-archive-1``) or a number.

    >>> parse_replica("astrohub-archive-1"), parse_replica("0")
    (1, 0)
    """
    found = re.fullmatch(r"(?:.*-)?(\d{1,4})", name.strip())
    if not found:
        raise ValueError(f"--replica {name!r}: give this replica's name ending in -<ordinal> (a StatefulSet pod's "
                         "name, e.g. astrohub-archive-1) or its ordinal (0, 1, ...)")
    return int(found.group(1))


def parse_peers(values: list[str]) -> tuple[str, ...]:
    """The replicas' base URLs (http or https, each ending with ``/``), in ordinal order.

    >>> parse_peers(["http://a-0.h:8080/services/archive", "http://a-1.h:8080/services/archive/"])
    ('http://a-0.h:8080/services/archive/', 'http://a-1.h:8080/services/archive/')
    """
    out = []
    for value in values:
        url = urlparse(value.strip())
        if url.scheme not in ("http", "https") or not url.hostname or url.query or url.fragment:
            raise ValueError(f"--peers {value!r} is not the base URL of a replica (http://host:port/prefix/, "
                             "without query or fragment)")
        out.append(value.strip().rstrip("/") + "/")
    return tuple(out)


@dataclass(frozen=True)
class Replicas:
    """This replica's ordinal (None: a single replica, ids without a prefix) and every replica's base URL."""

    ordinal: int | None = None
    peers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.peers and (self.ordinal is None or self.ordinal >= len(self.peers)):
            raise ValueError(f"--replica {self.ordinal}: with --peers listing {len(self.peers)} replicas, give this "
                             f"replica's ordinal, 0 to {len(self.peers) - 1} (its name, e.g. astrohub-archive-0)")

    @property
    def id_prefix(self) -> str:
        """What this replica's new job ids start with (empty for a single replica without ``--replica``)."""
        return "" if self.ordinal is None else f"{self.ordinal}."

    def owner(self, job_id: str) -> int | None:
        """The ordinal of the other replica that owns ``job_id``; None when it is this replica's to answer.

        An id naming a replica that is not configured raises :class:`NotFoundFault` (nothing is called)."""
        head, dot, _ = job_id.partition(".")
        if not dot:
            return None  # an id made before replicas, or by a single replica
        if not head.isdigit() or len(head) > 4:
            raise NotFoundFault(f"no job {job_id!r} of yours on this service")
        ordinal = int(head)
        if ordinal == self.ordinal or (not self.peers and self.ordinal is None):
            return None  # ours (or a single replica's: its own store answers, 404 when it has none)
        if ordinal >= len(self.peers):
            raise NotFoundFault(f"no job {job_id!r} of yours on this service")
        return ordinal

    def others(self) -> list[tuple[int, str]]:
        """The other replicas: ``(ordinal, base URL)``."""
        return [(i, url) for i, url in enumerate(self.peers) if i != self.ordinal]


def _name(ordinal: int, url: str) -> str:
    return f"replica {ordinal} ({urlparse(url).hostname})"


class CallerGone(Exception):
    """The caller of a forwarded answer hung up. Raised in the forwarding client's body callback, which is how
    tornado's client is told to stop reading (from the owner); tornado logs it as an uncaught exception, which
    :func:`quiet_caller_gone` keeps out of the log (a traceback for every closed download)."""


def quiet_caller_gone(record: logging.LogRecord) -> bool:
    """A filter for tornado's ``tornado.application`` log: False for the records of a :class:`CallerGone`."""
    return not (record.exc_info and isinstance(record.exc_info[1], CallerGone))


async def forward(handler, ordinal: int, base: str) -> None:
    """Answer ``handler``'s request with the answer of replica ``ordinal`` (its URL from the configuration).

    ``base`` is the public base URL of the original request (:meth:`BaseHandler.base_url`): its host goes
    as ``Host`` and its scheme as ``X-Forwarded-Proto``, so the owner's links and redirects are the ones
    this replica would have made. The answer's body is streamed back as the caller takes it."""
    import asyncio

    from tornado.httpclient import HTTPRequest
    from tornado.httputil import HTTPHeaders, parse_response_start_line
    from tornado.iostream import StreamClosedError
    from tornado.simple_httpclient import SimpleAsyncHTTPClient

    replicas: Replicas = handler.state.replicas
    url = replicas.peers[ordinal]
    request = handler.request
    path = request.path[len(handler.state.prefix):] if request.path.startswith(handler.state.prefix) else ""
    if not path.startswith("tap/async/"):  # only job resources are forwarded (the route guarantees it)
        raise NotFoundFault(f"no job resource at {request.path!r}")
    target = url + path + (f"?{request.query}" if request.query else "")
    public = urlparse(base)
    headers = {k: request.headers[k] for k in _PASS_REQUEST if k in request.headers}
    headers.update({"Host": public.netloc, "X-Forwarded-Proto": public.scheme,
                    FORWARDED_HEADER: str(replicas.ordinal)})
    answer = {"start": None, "headers": HTTPHeaders(), "begun": False}

    def on_header(line: str) -> None:
        if line.startswith("HTTP/"):
            answer["start"], answer["headers"] = parse_response_start_line(line.strip()), HTTPHeaders()
        elif line.strip():
            answer["headers"].parse_line(line)

    def begin() -> None:
        answer["begun"] = True
        start = answer["start"]
        handler.set_status(start.code, start.reason)
        for key in _PASS_ANSWER:
            if key in answer["headers"]:
                handler.set_header(key, answer["headers"][key])

    async def on_chunk(chunk: bytes) -> None:
        if not answer["begun"]:
            begin()
        handler.write(chunk)
        try:  # the client reads the owner's next bytes once these are the caller's: at the caller's pace
            await handler.flush()
        except (StreamClosedError, asyncio.CancelledError) as exc:  # the caller hung up: stop reading the owner
            answer["gone"] = True
            raise CallerGone(f"the caller of {request.path} went away") from exc

    body = request.body if request.method in ("POST", "PUT", "PATCH") else None
    req = HTTPRequest(target, method=request.method, headers=headers, body=body,
                      allow_nonstandard_methods=True, follow_redirects=False, decompress_response=False,
                      connect_timeout=CONNECT_S, request_timeout=RESULT_S if "/results/" in path else REQUEST_S,
                      header_callback=on_header, streaming_callback=on_chunk)
    client = SimpleAsyncHTTPClient(force_instance=True, max_body_size=MAX_ANSWER)  # the shared one's: 100 MiB
    try:
        resp = await client.fetch(req, raise_error=False)
    except Exception as exc:  # a name that does not resolve, a refused connection: the owner is away
        resp, error = None, exc
    else:
        error = resp.error if resp.code == 599 else None
    finally:
        client.close()
    if answer.get("gone"):
        log.info("stopped forwarding %s %s from %s: the caller went away", request.method, request.path,
                 _name(ordinal, url))
        return
    if error is not None:
        log.warning("could not forward %s %s to %s: %s", request.method, request.path, _name(ordinal, url), error)
        if answer["begun"]:  # cut off mid-answer: so is the caller's (no last chunk: their client sees an error,
            handler.request.connection.stream.close()  # not a whole 200 holding part of the result)
            handler.finish()
            return
        raise PeerUnavailableFault(f"job {path.split('/')[2]!r} is kept by archive {_name(ordinal, url)}, which "
                                   f"cannot be reached now; retry in {PeerUnavailableFault.retry_after} s")
    if not answer["begun"]:
        begin()
    handler.finish()


async def peer_job_lists(handler, base: str) -> list[ET.Element]:
    """The ``jobref`` elements of the caller's jobs on every other replica that answers (same query)."""
    import asyncio

    from tornado.httpclient import AsyncHTTPClient, HTTPRequest

    replicas: Replicas = handler.state.replicas
    request = handler.request
    public = urlparse(base)
    headers = {k: request.headers[k] for k in ("Authorization", "Cookie") if k in request.headers}
    headers.update({"Host": public.netloc, "X-Forwarded-Proto": public.scheme,
                    FORWARDED_HEADER: str(replicas.ordinal)})

    async def one(ordinal: int, url: str) -> list[ET.Element]:
        target = url + "tap/async" + (f"?{request.query}" if request.query else "")
        try:
            resp = await AsyncHTTPClient().fetch(HTTPRequest(
                target, headers=headers, follow_redirects=False, connect_timeout=CONNECT_S, request_timeout=30),
                raise_error=False)
            if resp.code != 200:
                raise RuntimeError(resp.error or f"HTTP {resp.code}")
            root = ET.fromstring(resp.body)
        except Exception as exc:
            log.warning("job list: the jobs of %s are left out: %s", _name(ordinal, url), exc)
            return []
        return [el for el in root if el.tag.endswith("}jobref")]

    found = await asyncio.gather(*(one(i, url) for i, url in replicas.others()))
    return [el for part in found for el in part]
