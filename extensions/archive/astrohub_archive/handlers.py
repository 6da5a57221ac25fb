"""Tornado handlers: SIA v2 (query, capabilities, availability), Simple Cone Search, image download.

Handlers parse (``params``), call ``platform_lib`` (the image index, the catalogue registry) and
render (``responses``). Every failure becomes the protocol's error document: ``UsageFault:`` for
bad input (HTTP 400; SCS 1.03 errors are HTTP 200 as that standard requires), ``Error:`` for
anything else, logged with its traceback but never sent to the client (HTTP 503, never 500).
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import quote

import tornado.web

from astrohub_archive.auth import AuthFault
from astrohub_archive.params import UsageFault, parse_scs, parse_sia
from astrohub_archive.responses import CONTENT_TYPES, error_votable, obscore_table, obscore_votable, render_table
from platform_lib.imageindex import ImageIndexError

__all__ = ["routes"]

log = logging.getLogger("astrohub_archive")
SIA_STANDARD_ID = "ivo://ivoa.net/std/SIA#query-2.0"


class BaseHandler(tornado.web.RequestHandler):
    legacy_scs = False

    def initialize(self, state) -> None:
        self.state = state

    def set_default_headers(self) -> None:
        self.set_header("Access-Control-Allow-Origin", "*")

    def args(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for k, vals in self.request.arguments.items():
            for v in vals:
                try:
                    out.setdefault(k, []).append(v.decode("utf-8"))
                except UnicodeDecodeError:
                    raise UsageFault(f"parameter {k!r} is not valid UTF-8") from None
        return out

    def fail(self, message: str, status: int) -> None:
        if self._finished:
            return
        self.clear()
        self.set_status(200 if self.legacy_scs else status)
        self.set_header("Content-Type", CONTENT_TYPES["votable"])
        self.finish(error_votable(message, legacy_scs=self.legacy_scs))

    def write_error(self, status_code: int, **kwargs) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if status_code >= 500:
            log.error("internal error on %s", self.request.uri, exc_info=kwargs.get("exc_info"))
            self.fail("Error: internal error in the archive service (logged); please report it", 503)
        elif isinstance(exc, tornado.web.HTTPError) and exc.log_message and status_code == 400:
            self.fail(f"UsageFault: {exc.log_message}", 400)
        else:
            self.fail(f"Error: HTTP {status_code} {self._reason}", status_code)

    async def viewer(self):
        return await self.state.auth.viewer(self)

    async def guarded(self, coro_fn):
        try:
            await coro_fn()
        except UsageFault as exc:
            self.fail(f"UsageFault: {exc}", 400)
        except AuthFault as exc:
            self.fail(f"AuthenticationFault: {exc}", 403)
        except ImageIndexError as exc:
            log.error("image index: %s", exc)
            self.fail(f"Error: {exc}", 503)
        except BaseException as exc:  # incl. pyo3 PanicException (a BaseException) from Rust extensions
            if isinstance(exc, (KeyboardInterrupt, SystemExit, asyncio.CancelledError)):
                raise
            log.exception("internal error on %s", self.request.uri)
            self.fail("Error: internal error in the archive service (logged); please report it", 503)

    def base_url(self) -> str:
        return f"{self.request.protocol}://{self.request.host}{self.state.prefix}"


class SiaQueryHandler(BaseHandler):
    async def get(self) -> None:
        await self.guarded(self._query)

    async def post(self) -> None:
        await self.guarded(self._query)

    async def _query(self) -> None:
        req = parse_sia(self.args())
        viewer = await self.viewer()
        base = self.base_url() + "download/"

        def run() -> bytes:  # SQLite and rendering off the event loop: other requests keep flowing
            records, overflow = self.state.index().query(req.query, viewer, maxrec=req.maxrec)
            infos = []
            if req.overflow_cap:
                infos.append(("MAXREC", str(req.maxrec), f"MAXREC above this service's limit was lowered to "
                                                         f"{req.maxrec}"))
            if req.fmt == "votable":  # the common answer: written straight from the records
                return obscore_votable(records, base, overflow=overflow, infos=infos)
            return render_table(obscore_table(records, base), req.fmt, overflow=overflow, infos=infos)

        body = await asyncio.get_running_loop().run_in_executor(None, run)
        self.set_header("Content-Type", CONTENT_TYPES[req.fmt])
        self.finish(body)


class CapabilitiesHandler(BaseHandler):
    def get(self) -> None:
        base = self.base_url() + "sia/"
        self.set_header("Content-Type", "text/xml")
        self.finish(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<vosi:capabilities xmlns:vosi="http://www.ivoa.net/xml/VOSICapabilities/v1.0" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1">\n'
            ' <capability standardID="ivo://ivoa.net/std/VOSI#capabilities">\n'
            f'  <interface xsi:type="vs:ParamHTTP"><accessURL use="full">{base}capabilities</accessURL></interface>\n'
            " </capability>\n"
            ' <capability standardID="ivo://ivoa.net/std/VOSI#availability">\n'
            f'  <interface xsi:type="vs:ParamHTTP"><accessURL use="full">{base}availability</accessURL></interface>\n'
            " </capability>\n"
            f' <capability standardID="{SIA_STANDARD_ID}">\n'
            '  <interface xsi:type="vs:ParamHTTP" role="std" version="2.0">\n'
            f'   <accessURL use="base">{base}query</accessURL>\n'
            "  </interface>\n"
            " </capability>\n"
            "</vosi:capabilities>\n"
        )


class AvailabilityHandler(BaseHandler):
    def get(self) -> None:
        try:
            n = self.state.index().count()
            ok, note = True, f"the image index holds {n} records"
        except Exception as exc:
            ok, note = False, f"the image index is not readable: {exc}"
        self.set_header("Content-Type", "text/xml")
        self.finish(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<vosi:availability xmlns:vosi="http://www.ivoa.net/xml/VOSIAvailability/v1.0">\n'
            f" <vosi:available>{'true' if ok else 'false'}</vosi:available>\n"
            f" <vosi:note>{tornado.escape.xhtml_escape(note)}</vosi:note>\n"
            "</vosi:availability>\n"
        )


class ConeSearchHandler(BaseHandler):
    legacy_scs = True

    async def get(self, name: str) -> None:
        await self.guarded(lambda: self._search(name))

    async def _search(self, name: str) -> None:
        import astropy.units as u
        from astropy.coordinates import SkyCoord
        from astropy.table import Table

        from astrohub_archive.responses import _votable
        from astrohub_archive.scs import scs_table
        from platform_lib.catalogs import CatalogError, cone_search

        req = parse_scs(self.args())
        registry = self.state.registry()
        if registry is None:
            raise UsageFault("this archive has no catalogue registry (start it with --registry)")
        try:
            info = registry.get(name)
        except CatalogError as exc:
            raise UsageFault(f"unknown catalogue {name!r}: {exc}") from None
        if not info.ra_column or not info.dec_column:
            raise UsageFault(f"catalogue {name!r} has no position columns")
        if req.sr == 0:
            # Metadata only: the columns of a (tiny) real search, no rows.
            table = cone_search(name, SkyCoord(req.ra * u.deg, req.dec * u.deg), 1 * u.arcsec, registry=registry)[:0]
        else:
            table = cone_search(name, SkyCoord(req.ra * u.deg, req.dec * u.deg), req.sr * u.deg, registry=registry)
        table = Table(table)
        overflow = len(table) > req.maxrec
        if overflow:
            table = table[: req.maxrec]
        out = scs_table(table, info, req.verb)
        self.set_header("Content-Type", CONTENT_TYPES["votable"])
        self.finish(_votable(out, "OVERFLOW" if overflow else "OK"))


class DownloadHandler(BaseHandler):
    async def get(self, obs_id: str) -> None:
        await self.guarded(lambda: self._download(obs_id))

    async def _download(self, obs_id: str) -> None:
        parts = obs_id.replace("\\", "/").split("/")
        if obs_id.startswith("/") or any(p in ("..", ".", "") for p in parts) or "\x00" in obs_id:
            raise UsageFault(f"obs_id {obs_id!r} is not a valid identifier (no '..', '.', or empty segments)")
        viewer = await self.viewer()
        rec = self.state.index().get(obs_id, viewer)
        if rec is None:  # missing or still proprietary: the same answer, so nothing leaks
            self.fail(f"Error: no image {obs_id!r} visible to you; proprietary images need the owner's token", 404)
            return
        root = self.state.data_root.resolve()
        path = (root / rec["file_path"]).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            self.fail(f"Error: the file of {obs_id!r} is not available", 404)
            return
        self.set_header("Content-Type", "application/fits")
        self.set_header("Content-Disposition", f"attachment; filename=\"{quote(path.name)}\"")
        self.set_header("Content-Length", str(path.stat().st_size))
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                self.write(chunk)
                await self.flush()
        self.finish()


def routes(prefix: str, state) -> list:
    from astrohub_archive.tap import tap_routes

    kw = {"state": state}
    return tap_routes(prefix, state) + [
        (prefix + r"sia/query/?", SiaQueryHandler, kw),
        (prefix + r"sia/?", SiaQueryHandler, kw),
        (prefix + r"sia/capabilities/?", CapabilitiesHandler, kw),
        (prefix + r"sia/availability/?", AvailabilityHandler, kw),
        (prefix + r"scs/(.+)", ConeSearchHandler, kw),
        (prefix + r"download/(.+)", DownloadHandler, kw),
    ]  # the root, prefix + "?", is astrohub_archive.homepage's (added by app.make_app)


