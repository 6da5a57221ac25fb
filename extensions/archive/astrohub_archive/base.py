"""The handler every archive route derives from: parameters, the caller, the base URL, and the one place
faults become the protocol's error document.

:meth:`BaseHandler.write_error` turns an :class:`~astrohub_archive.faults.ArchiveFault` into a VOTable
``QUERY_STATUS=ERROR`` answer with the fault's HTTP status (SCS 1.03 answers errors with HTTP 200, as
that standard requires), or into a JSON ``{"query_status": "ERROR", "message": ...}`` when the request
asked for JSON in one of the handler's :attr:`BaseHandler.format_params` (SIA's ``RESPONSEFORMAT``,
TAP sync's ``RESPONSEFORMAT``/``FORMAT``, the moving-object routes' ``format``); anything else is
logged with its traceback and answered ``Error: internal error`` with HTTP 503, never a 500 and never
a traceback. Tornado's own refusals (method 405, naming the methods the route takes) get the same document, and
so does a path no route serves (:class:`NoRouteHandler`, the application's default handler: 404) and a request over
the service's limits on its URL, headers or body (:func:`too_large`, :class:`TooLargeHandler`: 414, 431, 413), which
the server reads past (:data:`SERVER_OPTIONS`) so that they are answered, not dropped. :class:`HeadAsGet` (the
base of every handler here and of the HiPS routes') answers HEAD wherever GET is; a route whose GET does real work
stops a HEAD after its checks (:meth:`HeadAsGet.finish_head`).
:func:`bound_request_parsing` sets tornado's own parsing limits to the service's, so that its refusals name them.
Imports tornado, this package's faults, writers and uploads (its limit on tables), and ``platform_lib.urlpath`` (a path
that is not UTF-8: a 400 naming the byte).
"""

from __future__ import annotations

import asyncio
import logging

import tornado.web
from tornado.httputil import HTTPMessageDelegate, ParseBodyConfig, ParseMultipartConfig, ParseUrlEncodedConfig, set_parse_body_config

from astrohub_archive.faults import ArchiveFault, LimitFault, NotFoundFault, UsageFault
from astrohub_archive.uploads import MAX_UPLOADS
from astrohub_archive.writers import CONTENT_TYPES, RESPONSE_FORMATS, error_json, error_votable
from platform_lib.urlpath import not_utf8

__all__ = ["BaseHandler", "ChunkedBodyLimit", "HeadAsGet", "MAX_BODY", "MAX_HEADER_BYTES", "MAX_PARAMETERS", "MAX_VALUE_LENGTH",
           "NoRouteHandler", "READ_HEADER_BYTES", "SERVER_OPTIONS", "TooLargeHandler", "too_large",
           "allowed_methods", "bound_request_parsing", "chunked_body_limit", "not_allowed"]

log = logging.getLogger("astrohub_archive")
MAX_PARAMETERS = 500  # values of all parameters of one request
MAX_VALUE_LENGTH = 100_000  # characters of one parameter value
MAX_HEADER_BYTES = 64 * 2**10  # a request's line and headers (its query string among them)
#: The most bytes a request's body may hold (bodies are read into memory), except a user's HiPS upload,
#: which is streamed to disk up to its own limit (``--hips-upload-max``).
MAX_BODY = 64 * 2**20
#: What the server reads of a request's line and headers before it drops the connection with no answer (tornado
#: can answer nothing past its own limit): :data:`MAX_HEADER_BYTES` is refused below it, by
#: :class:`TooLargeHandler`, with an answer that names the limit.
READ_HEADER_BYTES = 2**20
#: The most bytes of a body over :data:`MAX_BODY` read (and thrown away) so that the client reads the refusal;
#: past it the refusal is sent at once, and a client still sending may see the connection reset instead.
DRAIN_BODY = 16 * MAX_BODY
#: Tornado's refusals of a body with too many fields or parts: they mean more than MAX_PARAMETERS values.
_TOO_MANY = ("Max number of fields exceeded", "has too many parts")


def bound_request_parsing() -> None:
    """Raise tornado's own limits on the fields of a query string or form body (1000) and the parts of a multipart
    body (100) past what reaches :meth:`BaseHandler.args`, which refuses more than :data:`MAX_PARAMETERS` values
    naming that limit. Tornado parses a request's query string before any handler sees it, and answered one of
    over 1000 fields with an empty 400 (the connection's own refusal, which no handler can word); a query string is
    bounded by :data:`MAX_HEADER_BYTES`, so at most that many fields, all parsed now. A form body of more fields
    than that, or a multipart one of more parts than parameter values and uploads allowed, is refused by tornado
    still, and :meth:`BaseHandler.write_error` words it as the limit. Tornado's setting is per process (its
    ``set_parse_body_config``): the archive's application sets it when made."""
    set_parse_body_config(ParseBodyConfig(multipart=ParseMultipartConfig(max_parts=MAX_PARAMETERS + MAX_UPLOADS + 1),
                                          urlencoded=ParseUrlEncodedConfig(max_arguments=READ_HEADER_BYTES)))


#: The archive's HTTP server's options (``app.listen``'s, the in-process tests' ``serving``'s).
SERVER_OPTIONS = {"max_body_size": MAX_BODY, "max_header_size": READ_HEADER_BYTES}


def too_large(request, handler_class) -> tuple[int, str] | None:
    """``(status, message)`` when ``request`` is over the service's limits on its URL (414), its headers (431) or
    its declared body (413), else ``None``; a route that streams its body (``handler_class``: a user's HiPS upload,
    up to its own limit) takes any body. The message names the size, the limit and what to do instead."""
    uri = len(request.uri.encode("utf-8", "surrogateescape"))
    if uri > MAX_HEADER_BYTES:
        return 414, (f"the request's URL is {uri:,} bytes long; this service reads URLs of up to "
                     f"{MAX_HEADER_BYTES:,} bytes: send the parameters in the body of a POST instead (pyvo's "
                     "run_sync and search do; with requests, requests.post(url, data=params))")
    headers = sum(len(k) + len(v) + 4 for k, v in request.headers.get_all())
    if headers > MAX_HEADER_BYTES:
        return 431, (f"the request's headers are {headers:,} bytes long; this service reads at most "
                     f"{MAX_HEADER_BYTES:,} bytes of them")
    declared = request.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_BODY and not getattr(handler_class, "_stream_request_body", False):
        return 413, _body_refusal(f"{int(declared):,} bytes long")
    return None


def _body_refusal(size: str) -> str:
    """The 413's words for a body of ``size`` (``"70,000,000 bytes long"``)."""
    return (f"the request's body is {size}; this service reads bodies of up to {MAX_BODY // 2**20} MiB: send a "
            "large table as an upload to an asynchronous job, or in parts, or put it in a catalogue of the archive")


def chunked_body_limit(application, request, found):
    """``found`` (the route's delegate) behind :class:`ChunkedBodyLimit` when ``request``'s body comes in chunks
    (no Content-Length to refuse it by, :func:`too_large`) to a route that reads its body into memory; else
    ``found`` itself."""
    handler_class = getattr(found, "handler_class", None)
    if (handler_class is None or getattr(handler_class, "_stream_request_body", False)
            or "chunked" not in request.headers.get("Transfer-Encoding", "").lower()):
        return found
    return ChunkedBodyLimit(application, request, found)


class ChunkedBodyLimit(HTTPMessageDelegate):
    """A chunked request body (``Transfer-Encoding: chunked``, no Content-Length) bounded by :data:`MAX_BODY` as a
    declared one is: past it, the body read so far is dropped, the rest is read and thrown away and the request is
    answered by :class:`TooLargeHandler` (413, naming the limit) once it ends, or at once past :data:`DRAIN_BODY`
    (then the connection closes: a client still sending may see it reset). Tornado's own limit (the server's
    ``max_body_size``) refused such a body with an empty 400; this request's connection takes up to
    :data:`DRAIN_BODY` plus :data:`MAX_BODY`, so that the limits here come first (one chunk declared larger than
    that still gets tornado's empty 400)."""

    def __init__(self, application, request, found) -> None:
        self.application, self.request, self.found = application, request, found
        self.size = 0
        self.refusal = None

    def headers_received(self, start_line, headers):
        self.request.connection.set_max_body_size(DRAIN_BODY + MAX_BODY)
        return self.found.headers_received(start_line, headers)

    def data_received(self, chunk: bytes):
        self.size += len(chunk)
        if self.size <= MAX_BODY:
            return self.found.data_received(chunk)
        self.found = None  # what was read of the body goes with the route's delegate
        if self.size > DRAIN_BODY:
            self._refuse()
        return None

    def _refuse(self) -> None:
        if self.refusal is None:
            self.refusal = self.application.get_handler_delegate(
                self.request, TooLargeHandler,
                {"status": 413, "message": _body_refusal(f"{'over ' if self.size > DRAIN_BODY else ''}"
                                                         f"{self.size:,} bytes long (sent in chunks)")})
            self.refusal.headers_received(None, self.request.headers)  # TooLargeHandler answers in its prepare

    def finish(self) -> None:
        if self.found is not None:
            self.found.finish()
            return
        self._refuse()
        self.refusal.finish()

    def on_connection_close(self) -> None:
        if self.found is not None:
            self.found.on_connection_close()


@tornado.web.stream_request_body
class TooLargeHandler(tornado.web.RequestHandler):
    """A request over the service's limits (:func:`too_large`): refused with its status (414, 431, 413) and the
    error document naming the limit (a ``LimitFault``), whatever its method and route; tornado dropped a URL over
    its limit with no answer (a client saw the connection reset) and refused a body over it with an empty 400.
    A body over the limit is read and thrown away (up to :data:`DRAIN_BODY`), so that the client, still sending,
    reads the answer."""

    SUPPORTED_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")

    def initialize(self, status: int, message: str) -> None:
        self.fault = LimitFault(message)
        self.fault.status = status

    def set_default_headers(self) -> None:
        self.set_header("Access-Control-Allow-Origin", "*")

    def prepare(self) -> None:
        declared = self.request.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) <= DRAIN_BODY:
            self.request.connection.set_max_body_size(int(declared))
        else:
            self._refuse()

    def data_received(self, chunk: bytes) -> None:
        """Each chunk of the body is thrown away."""

    def _refuse(self, *args) -> None:
        if self._finished:
            return
        self.clear()
        self.set_status(self.fault.status)
        self.set_header("Content-Type", CONTENT_TYPES["votable"])
        # Refused in prepare (a URL or headers over the limit, a body past DRAIN_BODY), the request's body is not
        # read and tornado ends the connection after the answer; said so, a proxy keeping connections to the
        # service (configurable-http-proxy) does not send the next request, anybody's, down it (it got the hub's
        # 503 page). After a drained body the connection could stay, but a refusal this size is rare: close it.
        self.set_header("Connection", "close")
        self.finish(error_votable(self.fault.document_text()))

    get = head = post = put = delete = patch = options = _refuse


def _defines(cls: type, method: str) -> bool:
    return getattr(cls, method, None) is not getattr(tornado.web.RequestHandler, method, None)


def allowed_methods(handler: tornado.web.RequestHandler) -> list[str]:
    """The HTTP methods ``handler``'s route answers: those its class defines, and HEAD wherever GET is (a 405's
    ``Allow`` header)."""
    cls = type(handler)
    return [m for m in handler.SUPPORTED_METHODS if _defines(cls, m.lower())
            and (m != "HEAD" or _defines(cls, "get") or getattr(cls, "head", None) is not HeadAsGet.head)]


def not_allowed(handler: tornado.web.RequestHandler) -> str:
    """The reason of a 405 on ``handler``'s request, naming the methods its route takes: ``HTTP method DELETE
    is not allowed on /sia/query; use GET or POST``."""
    allowed = allowed_methods(handler)
    use = " or ".join(m for m in allowed if m not in ("HEAD", "OPTIONS")) or " or ".join(allowed)
    return f"HTTP method {handler.request.method} is not allowed on {handler.request.path}; use {use}"


class HeadAsGet(tornado.web.RequestHandler):
    """HEAD goes where GET goes (RFC 9110 section 9.3.2): the GET answer's status and headers, without its body
    (tornado's :meth:`~tornado.web.RequestHandler.flush` sends none to a HEAD). Tornado answered 405 to a HEAD on
    every route that did not write its own ``head`` (the VOSI resources, SIA, TAP, the HiPS lists). A route
    with no GET still answers HEAD with 405.

    A route whose GET does real work (TAP sync's query, SIA's and the cone search's, a SODA cutout, a
    moving-object computation) makes its checks, so that bad input gets the status GET would give, sets the
    headers GET would (``Content-Type`` from the format asked for), and then, where :meth:`heading`, answers
    with :meth:`finish_head` instead of doing the work: a HEAD on ``/tap/sync?QUERY=...`` ran the query."""

    def heading(self) -> bool:
        """Whether this request is a HEAD (then a route whose GET does real work stops after its checks)."""
        return self.request.method == "HEAD"

    def finish_head(self) -> None:
        """Answer this HEAD with the status and headers set so far, without the work and without the
        ``Content-Length`` and ``ETag`` that GET learns only from its body (RFC 9110 section 9.3.2 lets a HEAD
        leave them out; tornado would send those of an empty body)."""
        self.flush()  # the headers go now, so finish() adds no Content-Length: 0 nor an empty body's ETag
        self.finish()

    async def head(self, *args, **kwargs) -> None:
        if not _defines(type(self), "get"):
            raise tornado.web.HTTPError(405)
        answer = self.get(*args, **kwargs)
        if answer is not None:
            await answer


class BaseHandler(HeadAsGet):
    legacy_scs = False
    #: Errors as VOTable also carry SCS 1.03's ``INFO name="Error"`` (pyvo's cone search reads no other): the
    #: cone search routes (``legacy_scs``) and a path no route serves, which a cone search client may have asked.
    scs_error_info = False
    #: The parameters (any case; the first one given wins) that choose this route's answer format: a
    #: request that asks for JSON there gets its errors as JSON too. None by default: VOTable errors.
    format_params: tuple[str, ...] = ()

    def initialize(self, state) -> None:
        self.state = state
        body = self.request.body
        if body[:2] == b"\r\n" and self.request.headers.get("Content-Type", "").startswith("multipart/form-data"):
            # A multipart preamble (RFC 2046 allows one; STILTS sends a CRLF) that tornado's parser refuses.
            self.request.body = body.lstrip(b"\r\n")

    def set_default_headers(self) -> None:
        self.set_header("Access-Control-Allow-Origin", "*")

    def decode_argument(self, value: bytes, name: str | None = None) -> str:
        """A parameter (or path part) as text; one that is not UTF-8 is a :class:`UsageFault` naming it
        (tornado's own HTTPError 400, raised inside :meth:`guarded`, was answered 503 "internal error")."""
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            if name is None:  # a part of the path: say which byte, where
                raise UsageFault(not_utf8(self.request.path) or "the path is not valid UTF-8; percent-encode its "
                                 "text as UTF-8") from None
            raise UsageFault(f"parameter {name!r} is not valid UTF-8; percent-encode its text as UTF-8") from None

    def args(self) -> dict[str, list[str]]:
        """The query and form parameters (not uploaded files), decoded, bounded in number and size."""
        out: dict[str, list[str]] = {}
        count = 0
        for k, vals in self.request.arguments.items():
            for v in vals:
                count += 1
                if count > MAX_PARAMETERS:
                    raise UsageFault(f"more than {MAX_PARAMETERS} parameter values in one request")
                if len(v) > MAX_VALUE_LENGTH:
                    raise UsageFault(f"parameter {k!r} is longer than {MAX_VALUE_LENGTH} characters")
                try:
                    out.setdefault(k, []).append(v.decode("utf-8"))
                except UnicodeDecodeError:
                    raise UsageFault(f"parameter {k!r} is not valid UTF-8") from None
        return out

    def fail(self, message: str, status: int, retry_after: int | None = None) -> None:
        if self._finished:
            return
        self.clear()
        self.set_status(200 if self.legacy_scs else status)
        if retry_after is not None:
            self.set_header("Retry-After", str(retry_after))
        if status == 405:
            self.set_header("Allow", ", ".join(allowed_methods(self)))
        if self.error_format() == "json":
            self.set_header("Content-Type", CONTENT_TYPES["json"])
            self.finish(error_json(message))
            return
        self.set_header("Content-Type", CONTENT_TYPES["votable"])
        self.finish(error_votable(message, legacy_scs=self.legacy_scs or self.scs_error_info))

    def error_format(self) -> str:
        """``json`` when the last value of the first :attr:`format_params` parameter given names JSON
        (``json``, ``application/json``), else ``votable``. Read from the raw arguments, so that it holds
        for the faults :meth:`args` raises too (SCS 1.03 answers VOTable only)."""
        if self.legacy_scs:
            return "votable"
        for name in self.format_params:
            values = [v for k, vals in self.request.arguments.items() if k.lower() == name.lower() for v in vals]
            if values:
                text = values[-1][:100].decode("utf-8", "replace").strip().lower().replace(" ", "")
                return "json" if RESPONSE_FORMATS.get(text) == "json" else "votable"
        return "votable"

    def write_error(self, status_code: int, **kwargs) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, ArchiveFault):
            self.fail(exc.document_text(), exc.status, exc.retry_after)
        elif status_code >= 500:
            log.error("internal error on %s", self.request.uri, exc_info=kwargs.get("exc_info"))
            self.fail("Error: internal error in the archive service (logged); please report it", 503)
        elif isinstance(exc, tornado.web.HTTPError) and exc.log_message and status_code == 400:
            if any(words in exc.log_message for words in _TOO_MANY):  # tornado's words: "Invalid body: ..."
                self.fail(f"UsageFault: more than {MAX_PARAMETERS} parameter values in one request", 400)
            else:
                self.fail(f"UsageFault: {exc.log_message}", 400)
        elif status_code == 405:
            self.fail(f"UsageFault: {not_allowed(self)}", 405)
        else:
            self.fail(f"Error: HTTP {status_code} {self._reason}", status_code)

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, ArchiveFault):  # expected: no traceback in the log
            if not self._finished:
                self.send_error(e.status, exc_info=(type(e), e, e.__traceback__))
            return
        super()._handle_request_exception(e)

    def log_exception(self, typ, value, tb) -> None:
        if isinstance(value, ArchiveFault):
            return
        super().log_exception(typ, value, tb)

    async def off_loop(self, fn, *args):
        """``fn(*args)`` in a worker thread, answered within the service's per-query time limit (the
        thread finishes on its own; the caller gets a :class:`LimitFault` naming the limit)."""
        seconds = self.state.limits.seconds
        future = asyncio.get_running_loop().run_in_executor(self.state.executor, fn, *args)
        try:
            return await asyncio.wait_for(future, seconds)
        except asyncio.TimeoutError:
            raise LimitFault(f"the request ran longer than this service's limit of {seconds:g} s; "
                             "constrain it (a smaller region, fewer values, a lower MAXREC)") from None

    async def viewer(self):
        """The caller with their hub groups (asked of the hub when the kept answer is due)."""
        return await self.state.auth.viewer(self)

    async def identity(self):
        """The caller from the token alone (:meth:`~astrohub_archive.auth.Authenticator.identity`): their name, no
        hub groups asked; for what no group decides (their own TAP jobs)."""
        return await self.state.auth.identity(self)

    async def image_viewer(self, ids=None, by: str = "obs_id"):
        """The caller as the image index sees them: with their hub groups where a group decides which of its
        images (those whose ``by`` is one of ``ids``, else all) they see
        (:meth:`~platform_lib.imageindex.ImageIndex.group_decides`), else from the token alone, so that a lost hub
        keeps nobody from their own or public images."""
        return await self.state.auth.viewer(self, group_decides=self.group_decides(ids, by))

    def group_decides(self, ids=None, by: str = "obs_id"):
        """:meth:`image_viewer`'s test, ``who -> bool``, for a route that asks for the caller's groups later."""
        state = self.state
        return lambda who: state.index().group_decides(who, ids, by=by)

    async def guarded(self, coro_fn):
        """Run ``coro_fn``; faults become error documents, anything else an ``Error:`` (logged)."""
        try:
            await coro_fn()
        except ArchiveFault as exc:
            self.fail(exc.document_text(), exc.status, exc.retry_after)
        except BaseException as exc:  # incl. pyo3 PanicException (a BaseException) from Rust extensions
            if isinstance(exc, (KeyboardInterrupt, SystemExit, asyncio.CancelledError)):
                raise
            from platform_lib.imageindex import ImageIndexError

            if isinstance(exc, ImageIndexError):
                log.error("image index: %s", exc)
                self.fail(f"Error: {exc}", 503)
                return
            log.exception("internal error on %s", self.request.uri)
            self.fail("Error: internal error in the archive service (logged); please report it", 503)

    def base_url(self) -> str:
        """The service's public base URL (ends with the prefix), for the links in its answers.

        The client's address is the socket's (``X-Forwarded-For``/``X-Real-IP`` are never read). The
        scheme follows ``X-Forwarded-Proto`` (``http`` or ``https`` only: it shapes the links of the
        answer to that same request, so a forged value misleads only its sender; TLS ends at the
        proxy); ``X-Forwarded-Host`` is believed only from the ``--trusted-proxy`` callers
        (:mod:`astrohub_archive.proxies`), so a user's process that calls the service directly with a
        forged one gets links to the address it called."""
        req = self.request
        proto, host = req.protocol, req.host
        forwarded = req.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        if forwarded in ("http", "https"):
            proto = forwarded
        claimed = req.headers.get("X-Forwarded-Host", "").split(",")[0].strip()
        if claimed and claimed != host and self._from_trusted_proxy():
            host = claimed
        return f"{proto}://{host}{self.state.prefix}"

    def _from_trusted_proxy(self) -> bool:
        """Whether this connection is the trusted proxy's (decided once per connection)."""
        trusted = self.state.trusted_proxies
        if not trusted:
            return False
        stream = getattr(self.request.connection, "stream", None)
        known = getattr(stream, "_astrohub_trusted", None)
        if known is not None:
            return known
        try:
            local = stream.socket.getsockname()[:2] if stream is not None and stream.socket else None
            remote = stream.socket.getpeername()[:2] if local else (self.request.remote_ip, 0)
        except OSError:
            return False
        verdict = trusted.trusts(remote, local)
        if stream is not None:
            stream._astrohub_trusted = verdict
        return verdict


class NoRouteHandler(BaseHandler):
    """The application's default handler: a path no route serves, whatever the method, is a 404 naming the path
    and where the service's endpoints are listed (VOTable; JSON with ``FORMAT=json`` or ``RESPONSEFORMAT=json``),
    not tornado's HTML page."""

    format_params = ("RESPONSEFORMAT", "FORMAT")
    # `cone/` for `scs/`: pyvo's SCSService found no INFO name="Error" and said "VOTable response missing results
    # table"; with it, it shows this message (the HTTP status stays 404; the DALI QUERY_STATUS INFO is there too)
    scs_error_info = True

    def prepare(self) -> None:
        bad = not_utf8(self.request.path)
        if bad:  # no route matched because of it (`tap/sync%FF`): the client's bad byte, not a missing endpoint
            raise UsageFault(bad)
        raise NotFoundFault(f"this archive has no endpoint {self.request.path}; its endpoints are listed at "
                            f"{self.base_url()}?format=json")
