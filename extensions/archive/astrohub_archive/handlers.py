"""Tornado handlers: SIA v2 (query, capabilities, availability), Simple Cone Search, image download; the route table.

Handlers parse (``params``), call ``platform_lib`` (the image index, the catalogue registry) and
render (``responses``, ``writers``). Every failure is a fault that :class:`~astrohub_archive.base.BaseHandler`
turns into the protocol's error document. :data:`ROUTE_MODULES` lists the modules whose ``routes``
make up the service (TAP, then these); add a module there to add routes.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

import tornado.web
from platform_lib.fitsfiles import fits_media_type

from astrohub_archive import datalink, hips, moving, tap
from astrohub_archive.homepage import HomeHandler
from astrohub_archive.base import BaseHandler
from astrohub_archive.faults import NotFoundFault, UsageFault
from astrohub_archive.params import parse_scs, parse_sia
from astrohub_archive.responses import obscore_table, obscore_votable
from astrohub_archive.writers import CONTENT_TYPES, render_table

__all__ = ["routes", "all_routes", "ROUTE_MODULES"]

log = logging.getLogger("astrohub_archive")
SIA_STANDARD_ID = "ivo://ivoa.net/std/SIA#query-2.0"


class SiaQueryHandler(BaseHandler):
    format_params = ("RESPONSEFORMAT",)

    async def get(self) -> None:
        await self.guarded(self._query)

    async def post(self) -> None:
        await self.guarded(self._query)

    async def _query(self) -> None:
        args = self.args()
        viewer = await self.image_viewer()
        base = self.base_url() + "download/"
        descriptor = datalink.sia_descriptor(self.base_url())
        fmt = []

        def run() -> bytes | None:  # parsing (polygon checks), SQLite and rendering off the event loop
            req = parse_sia(args)
            fmt.append(req.fmt)
            if self.heading():  # the request checked, the index not searched
                return None
            records, overflow = self.state.index().query(req.query, viewer, maxrec=req.maxrec)
            infos = []
            if req.overflow_cap:
                infos.append(("MAXREC", str(req.maxrec), f"MAXREC above this service's limit was lowered to "
                                                         f"{req.maxrec}"))
            if req.fmt == "votable":  # the common answer: written straight from the records, with its links
                return obscore_votable(records, base, overflow=overflow, infos=infos, resources=descriptor)
            return render_table(obscore_table(records, base), req.fmt, overflow=overflow, infos=infos)

        body = await self.off_loop(run)
        self.set_header("Content-Type", CONTENT_TYPES[fmt[0]])
        if body is None:
            self.finish_head()
        else:
            self.finish(body)


class CapabilitiesHandler(BaseHandler):
    def get(self) -> None:
        from astrohub_archive.vosi import sia_capabilities

        self.set_header("Content-Type", "text/xml")
        self.finish(sia_capabilities(self.base_url() + "sia/", SIA_STANDARD_ID))


class AvailabilityHandler(BaseHandler):
    def get(self) -> None:
        try:
            n = self.state.index().count()
            ok, note = True, f"the image index holds {n} records"
        except Exception as exc:
            ok, note = False, f"the image index is not readable: {exc}"
        from astrohub_archive.vosi import availability

        self.set_header("Content-Type", "text/xml")
        self.finish(availability(ok, note, self.state.started))


class ConeSearchHandler(BaseHandler):
    legacy_scs = True

    async def get(self, name: str) -> None:
        await self.guarded(lambda: self._search(name))

    async def _search(self, name: str) -> None:
        import astropy.units as u
        from astropy.coordinates import SkyCoord
        from astropy.table import Table

        from astrohub_archive.scs import scs_table
        from platform_lib.catalogs import CatalogError, cone_search

        req = parse_scs(self.args())
        registry = self.state.registry()
        loading = self.state.still_loading()
        if registry is None:
            raise UsageFault(f"no catalogue {name!r} in this archive: it has no catalogues yet ("
                             + (loading or "ingest one with astrohub catalogs ingest, or start the service with "
                                "--registry") + ")")
        try:
            info = registry.get(name)
        except CatalogError:
            known = registry.tables()
            shown = ", ".join(known[:50]) + (" ..." if len(known) > 50 else "")
            raise UsageFault(f"no catalogue {name!r} in this archive; it has: {shown or 'none'}"
                             + (f"; {loading}" if loading else "")) from None
        if not info.ra_column or not info.dec_column:
            raise UsageFault(f"catalogue {name!r} has no position columns")
        self.set_header("Content-Type", CONTENT_TYPES["votable"])
        if self.heading():  # the request checked, the catalogue not searched
            return self.finish_head()

        def run() -> bytes:  # the search and the writer off the event loop
            radius = max(req.sr, 1e-6) * u.deg  # cdshealpix panics on radii near 0 (issue 22: SR=5e-324)
            table = cone_search(name, SkyCoord(req.ra * u.deg, req.dec * u.deg), radius, registry=registry)
            table = Table(table, masked=True)
            if req.sr == 0:  # metadata only: the columns of a real search, no rows
                table = table[:0]
            overflow = len(table) > req.maxrec
            if overflow:
                table = table[: req.maxrec]
            return render_table(scs_table(table, info, req.verb), "votable", overflow=overflow)

        body = await self.off_loop(run)
        self.finish(body)


class DownloadHandler(BaseHandler):
    async def get(self, obs_id: str) -> None:
        await self.guarded(lambda: self._download(obs_id))

    async def head(self, obs_id: str) -> None:
        """The download's headers (size, type, name) and status, for clients that ask before fetching."""
        await self.guarded(lambda: self._download(obs_id, body=False))

    async def _download(self, obs_id: str, body: bool = True) -> None:
        parts = obs_id.replace("\\", "/").split("/")
        if obs_id.startswith("/") or any(p in ("..", ".", "") for p in parts) or "\x00" in obs_id:
            raise UsageFault(f"obs_id {obs_id!r} is not a valid identifier (no '..', '.', or empty segments)")
        viewer = await self.image_viewer([obs_id])
        rec = self.state.index().get(obs_id, viewer)
        if rec is None:  # missing or still proprietary: the same answer, so nothing leaks
            raise NotFoundFault(f"no image {obs_id!r} visible to you; proprietary images need the owner's token")
        root = self.state.data_root.resolve()
        path = (root / rec["file_path"]).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise NotFoundFault(f"the file of {obs_id!r} is not available")
        self.set_header("Content-Type", fits_media_type(path.name) or "application/octet-stream")  # a.fits.gz: gzip
        self.set_header("Content-Disposition", f"attachment; filename=\"{quote(path.name)}\"")
        self.set_header("Content-Length", str(path.stat().st_size))
        if not body:
            self.finish()
            return
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                self.write(chunk)
                await self.flush()
        self.finish()


def routes(prefix: str, state) -> list:
    """This module's routes (SIA, SCS, download, the root)."""
    kw = {"state": state}
    return [
        (prefix + r"sia/query/?", SiaQueryHandler, kw),
        (prefix + r"sia/?", SiaQueryHandler, kw),
        (prefix + r"sia/capabilities/?", CapabilitiesHandler, kw),
        (prefix + r"sia/availability/?", AvailabilityHandler, kw),
        (prefix + r"scs/(.+)", ConeSearchHandler, kw),
        (prefix + r"download/(.+)", DownloadHandler, kw),
    ]


def _root_routes(prefix: str, state) -> list:
    return [(prefix + r"?", HomeHandler, {"state": state})]  # the page for people, and the JSON endpoint list


#: The route builders of the service, in matching order; each takes ``(prefix, state)``. Add one to add routes.
#: HiPS first: a viewer asks for hundreds of tiles, each matched against the rules before its own.
ROUTE_MODULES = [hips.hips_routes, tap.tap_routes, moving.moving_routes, datalink.datalink_routes, routes,
                 _root_routes]


def all_routes(prefix: str, state) -> list:
    """Every route of the service, from :data:`ROUTE_MODULES`."""
    return [r for build in ROUTE_MODULES for r in build(prefix, state)]
