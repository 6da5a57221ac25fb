"""DataLink 1.1 and SODA 1.0 (sync) for the archive's images: what each dataset links to, and its cutouts.

``GET datalink?ID=<obs_publisher_did>`` (``ID`` repeatable, at most 100) answers DataLink's links table: for
each image a ``#this`` row (the FITS file, ``download/<obs_id>``, with its type and size) and, for an image
with a celestial WCS, a ``#cutout`` row pointing at the SODA service descriptor of the same document
(``service_def="soda"``); an ID that is
unknown, or proprietary to someone else, gets one ``#this`` row with ``error_message`` ``NotFoundFault: ...``
(the same answer for both, as download gives). ``GET soda/sync?ID=...&CIRCLE=ra dec r`` (or ``POLYGON=ra1 dec1 ...``,
or ``POS=CIRCLE ...|RANGE ...|POLYGON ...``, all in ICRS degrees) answers the image's pixels within the
region's pixel bounding box (astropy's ``Cutout2D``, trimmed at the image's edges) as FITS, with the header of
the image and the WCS of the cutout; a region off the image is a ``UsageFault``. SIA answers carry a
DataLink service descriptor (:func:`sia_descriptor`), so ``pyvo``'s ``iter_datalinks()`` follows it.
Routes by :func:`datalink_routes`. Imports the archive's base handler, faults, params and writers, and
``platform_lib``'s image index and FITS names.
"""

from __future__ import annotations

import io
import math
import re
from urllib.parse import quote

from astropy.utils.xml.writer import xml_escape
from platform_lib.fitsfiles import fits_media_type

from astrohub_archive.base import BaseHandler
from astrohub_archive.faults import NotFoundFault, UsageFault
from astrohub_archive.params import MAX_VALUES, parse_pos
from astrohub_archive.writers import CONTENT_TYPES, render_table

__all__ = ["datalink_routes", "sia_descriptor", "DATALINK_STANDARD_ID", "SODA_STANDARD_ID", "LINK_FIELDS"]

DATALINK_STANDARD_ID = "ivo://ivoa.net/std/DataLink#links-1.1"
SODA_STANDARD_ID = "ivo://ivoa.net/std/SODA#sync-1.0"
DATALINK_CONTENT_TYPE = "application/x-votable+xml;content=datalink"

#: DataLink 1.1's columns: name, UCD, unit (section 3.2).
LINK_FIELDS = [
    ("ID", "meta.id;meta.main", None), ("access_url", "meta.ref.url", None), ("service_def", "meta.ref", None),
    ("error_message", "meta.code.error", None), ("semantics", "meta.code", None), ("description", "meta.note", None),
    ("content_type", "meta.code.mime", None), ("content_length", "phys.size;meta.file", "byte"),
    ("content_qualifier", "meta.code.class", None), ("local_semantics", "meta.code", None),
    ("link_auth", "meta.code", None), ("link_authorized", "meta.code", None),
]


def _param(name: str, value: str, **attrs) -> str:
    extra = "".join(f' {k}="{xml_escape(v)}"' for k, v in attrs.items() if v is not None)
    return f'   <PARAM arraysize="*" datatype="char" name="{name}" value="{xml_escape(value)}"{extra}/>\n'


def sia_descriptor(base: str) -> str:
    """The RESOURCE of an SIA answer that tells clients where each row's links are: DataLink with the row's
    ``obs_publisher_did`` as ``ID`` (DataLink 1.1 section 4)."""
    return (' <RESOURCE ID="datalink" type="meta" utype="adhoc:service">\n'
            "  <DESCRIPTION>The links of each image: the FITS file and its cutout service</DESCRIPTION>\n"
            + _param("standardID", DATALINK_STANDARD_ID) + _param("accessURL", base + "datalink")
            + '  <GROUP name="inputParams">\n'
            + _param("ID", "", ref="obs_publisher_did", ucd="meta.id;meta.main")
            + "  </GROUP>\n </RESOURCE>\n")


def _soda_descriptor(base: str) -> str:
    """The SODA service descriptor of a links document; ``ID`` refers to the row's ``ID`` column."""
    return (' <RESOURCE ID="soda" type="meta" utype="adhoc:service">\n'
            "  <DESCRIPTION>Cut out the pixels of an image within a circle or polygon (ICRS degrees)</DESCRIPTION>\n"
            + _param("standardID", SODA_STANDARD_ID) + _param("accessURL", base + "soda/sync")
            + '  <GROUP name="inputParams">\n'
            + _param("ID", "", ref="ID", ucd="meta.id;meta.dataset")
            + '   <PARAM arraysize="3" datatype="double" name="CIRCLE" ucd="phys.angArea;obs" unit="deg" '
              'value="" xtype="circle"/>\n'
            + '   <PARAM arraysize="*" datatype="double" name="POLYGON" ucd="phys.angArea;obs" unit="deg" '
              'value="" xtype="polygon"/>\n'
            + "  </GROUP>\n </RESOURCE>\n")


def _ids(args: dict[str, list[str]]) -> list[str]:
    ids = [v for k, vals in args.items() if k.upper() == "ID" for v in vals]
    if not ids:
        raise UsageFault("ID is required: the obs_publisher_did of an image (as SIA and ivoa.obscore give it)")
    if len(ids) > MAX_VALUES:
        raise UsageFault(f"ID is given {len(ids)} times; this service takes at most {MAX_VALUES} (make several requests)")
    return ids


def _record(state, did: str, viewer, region=None) -> dict | None:
    """The index record whose publisher DID is ``did``, which ``viewer`` may see (and whose footprint meets
    ``region``, when given), else None."""
    from platform_lib.imageindex import ImageQuery

    records, _ = state.index().query(ImageQuery(id=[did], pos=[region] if region else []), viewer, maxrec=1)
    return records[0] if records else None


def links_table(rows: list[dict]):
    """An astropy Table of DataLink's columns (:data:`LINK_FIELDS`) from ``rows`` (dicts, missing keys null)."""
    import numpy as np
    from astropy.table import MaskedColumn, Table

    t = Table()
    for name, ucd, unit in LINK_FIELDS:
        vals = [r.get(name) for r in rows]
        mask = np.array([v is None for v in vals], dtype=bool)
        if name == "content_length":
            data = np.array([0 if v is None else int(v) for v in vals], dtype=np.int64)
        else:
            data = np.array(["" if v is None else str(v) for v in vals], dtype=str) if vals else np.array([], "U1")
        col = MaskedColumn(data, name=name, mask=mask, unit=unit)
        col.meta["ucd"] = ucd
        t.add_column(col)
    return t


class LinksHandler(BaseHandler):
    async def get(self) -> None:
        await self.guarded(self._links)

    async def post(self) -> None:
        await self.guarded(self._links)

    async def _links(self) -> None:
        ids = _ids(self.args())
        viewer = await self.image_viewer(ids, by="obs_publisher_did")
        base = self.base_url()

        def run() -> bytes:
            root = self.state.data_root.resolve()
            rows = []
            for did in ids:
                rec = _record(self.state, did, viewer)
                if rec is None:
                    rows.append({"ID": did, "semantics": "#this",  # DataLink: every row has one (datalinklint)
                                 "error_message": f"NotFoundFault: no image {did!r} visible to you; "
                                 "proprietary images need the owner's token"})
                    continue
                path = (root / rec["file_path"]).resolve()
                size = path.stat().st_size if path.is_relative_to(root) and path.is_file() else None
                rows.append({"ID": did, "access_url": base + "download/" + quote(rec["obs_id"], safe="/"),
                             "semantics": "#this", "description": "The FITS file",
                             "content_type": fits_media_type(rec["file_path"]) or "application/octet-stream",
                             "content_length": size,
                             "content_qualifier": rec.get("dataproduct_type"), "link_auth": "optional"})
                if rec.get("footprint_method") != "wcs":  # no celestial WCS: nothing to cut out by position
                    continue
                rows.append({"ID": did, "service_def": "soda", "semantics": "#cutout",
                             "description": "A cutout of the image within a circle or polygon (SODA)",
                             "content_type": "application/fits", "content_qualifier": rec.get("dataproduct_type"),
                             "link_auth": "optional"})
            doc = render_table(links_table(rows), "votable")
            tail = doc.rindex(b"</VOTABLE>")
            return doc[:tail] + _soda_descriptor(base).encode() + doc[tail:]

        body = await self.off_loop(run)
        self.set_header("Content-Type", DATALINK_CONTENT_TYPE)
        self.finish(body)


def _region(args: dict[str, list[str]]):
    """The one region of a SODA request (``CIRCLE``, ``POLYGON`` or ``POS``), as :func:`parse_pos` gives it."""
    given = [(k.upper(), v) for k, vals in args.items() if k.upper() in ("CIRCLE", "POLYGON", "POS") for v in vals]
    if len(given) != 1:
        raise UsageFault("give one region: CIRCLE=ra dec radius, POLYGON=ra1 dec1 ra2 dec2 ... or POS=... "
                         f"(ICRS degrees); got {len(given)}")
    name, value = given[0]
    if name == "POS":
        return name, value, parse_pos(value)
    try:
        return name, value, parse_pos(f"{name} {value}")
    except UsageFault as exc:  # parse_pos names POS='CIRCLE ...': name what the caller wrote
        raise UsageFault(str(exc).replace(f"POS={name + ' ' + value!r}", f"{name}={value!r}")) from None


def _outline(region) -> tuple[list[float], list[float]]:
    """Points on the region's outline (RA, Dec lists, ICRS degrees): a circle's rim every 10 degrees, a range's
    edges at nine points each, a polygon's vertices."""
    import astropy.units as u
    import numpy as np
    from astropy.coordinates import SkyCoord

    kind = type(region).__name__
    if kind == "Circle":
        centre = SkyCoord(region.ra * u.deg, region.dec * u.deg)
        rim = centre.directional_offset_by(np.arange(36) * 10 * u.deg, region.radius * u.deg)
        return list(rim.ra.deg), list(rim.dec.deg)
    if kind == "Range":
        width = (region.ra_max - region.ra_min) % 360 or (360.0 if region.ra_max != region.ra_min else 0.0)
        ras = [(region.ra_min + width * i / 8) % 360 for i in range(9)]
        decs = [region.dec_min + (region.dec_max - region.dec_min) * i / 8 for i in range(9)]
        return (ras + ras + [ras[0]] * 9 + [ras[-1]] * 9,
                [region.dec_min] * 9 + [region.dec_max] * 9 + decs + decs)
    return [float(v) for v in region.ra], [float(v) for v in region.dec]


def cutout(path, region):
    """The FITS bytes of the pixels of the image at ``path`` holding ``region`` (:func:`_cut`), from the first
    image HDU with a celestial WCS that overlaps it, with that HDU's header and the cutout's WCS;
    :class:`UsageFault` when none does."""
    import warnings

    from astropy.io import fits
    from astropy.wcs import WCS, FITSFixedWarning

    celestial = False
    with fits.open(path) as hdul:  # memory-mapped where it can be (not for scaled data: BZERO, BSCALE)
        for hdu in hdul:
            if hdu.data is None or not getattr(hdu, "is_image", False) or hdu.data.ndim != 2:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FITSFixedWarning)
                wcs = WCS(hdu.header, hdul)
            if not wcs.has_celestial:
                continue
            wcs, celestial = wcs.celestial, True
            cut = _cut(hdu.data, wcs, region)
            if cut is None:
                continue
            header = _without_wcs(hdu.header)
            header.update(cut.wcs.to_header(relax=True))
            (y0, y1), (x0, x1) = ((s.start, s.stop - 1) for s in cut.slices_original)
            header["HISTORY"] = f"astrohub SODA cutout of {path.name} HDU {hdul.index_of(hdu)}, pixels " \
                                f"x {x0}..{x1}, y {y0}..{y1} (0-based)"
            out = io.BytesIO()
            fits.PrimaryHDU(cut.data, header=header).writeto(out)
            return out.getvalue()
    if not celestial:
        raise UsageFault(f"{path.name} has no image with a celestial WCS (its footprint comes from the pointing): "
                         "it cannot be cut out; download it whole")
    raise UsageFault("the region does not overlap the pixels of the image's extensions")


_WCS_KEY = re.compile(r"^(WCSAXES|CRPIX\d|CRVAL\d|CDELT\d|CTYPE\d|CUNIT\d|CROTA\d|CD\d_\d|PC\d_\d|PV\d_\d+|PS\d_\d|"
                      r"A_\d+_\d+|B_\d+_\d+|AP_\d+_\d+|BP_\d+_\d+|A_ORDER|B_ORDER|AP_ORDER|BP_ORDER|A_DMAX|B_DMAX|"
                      r"LONPOLE|LATPOLE|RADESYS|EQUINOX|EPOCH|WCSNAME|MJDREF|XTENSION|PCOUNT|GCOUNT|EXTNAME|EXTVER|"
                      r"SIMPLE|EXTEND|BITPIX|NAXIS\d*)$")


def _without_wcs(header):
    """``header``'s cards but the structural and WCS ones (the cutout's HDU and WCS write their own)."""
    from astropy.io import fits

    out = fits.Header()
    for card in header.cards:
        if card.keyword in ("", "COMMENT", "HISTORY") or not _WCS_KEY.match(card.keyword):
            out.append(card, end=True)
    return out


def _cut(data, wcs, region):
    """The ``Cutout2D`` of ``data`` (trimmed at its edges) holding ``region``: a circle's is astropy's own cutout
    of size 2r about the centre; a polygon's or range's the pixel bounding box of its outline. None when it
    misses the array; the whole array when the outline lies beyond the projection's reach (a circle of tens of
    degrees round a small image, whose footprint the index found it meets)."""
    import astropy.units as u
    import numpy as np
    from astropy.coordinates import SkyCoord
    from astropy.nddata import Cutout2D, NoOverlapError

    ny, nx = data.shape
    whole = ((nx - 1) / 2, (ny - 1) / 2), (ny, nx)
    if type(region).__name__ == "Circle":
        try:
            return Cutout2D(data, SkyCoord(region.ra * u.deg, region.dec * u.deg), 2 * region.radius * u.deg,
                            wcs=wcs, mode="trim", copy=True)
        except NoOverlapError:
            return None
        except Exception:  # the centre beyond the projection's reach
            return Cutout2D(data, *whole, wcs=wcs, mode="trim", copy=True)
    ras, decs = _outline(region)
    try:  # through SkyCoord, as the circle: a WCS may name declination first, or be Galactic
        with np.errstate(all="ignore"):
            x, y = (np.asarray(v, float) for v in wcs.world_to_pixel(SkyCoord(ras * u.deg, decs * u.deg)))
    except Exception:  # no convergence of a distortion's inverse far off the image
        x = y = np.array([np.nan])
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        return Cutout2D(data, *whole, wcs=wcs, mode="trim", copy=True)
    x0, x1 = max(math.floor(x.min() + 0.5), 0), min(math.floor(x.max() + 0.5), nx - 1)
    y0, y1 = max(math.floor(y.min() + 0.5), 0), min(math.floor(y.max() + 0.5), ny - 1)
    if x0 > x1 or y0 > y1:
        return None
    return Cutout2D(data, ((x0 + x1) / 2, (y0 + y1) / 2), (y1 - y0 + 1, x1 - x0 + 1), wcs=wcs, mode="trim",
                    copy=True)


class SodaHandler(BaseHandler):
    async def get(self) -> None:
        await self.guarded(self._cutout)

    async def post(self) -> None:
        await self.guarded(self._cutout)

    async def _cutout(self) -> None:
        args = self.args()
        ids = _ids(args)
        if len(ids) != 1:
            raise UsageFault(f"ID is given {len(ids)} times; a SODA sync request cuts one image")
        name, value, region = _region(args)
        viewer = await self.image_viewer(ids, by="obs_publisher_did")

        def run() -> tuple[dict, bytes]:
            rec = _record(self.state, ids[0], viewer)
            if rec is None:
                raise NotFoundFault(f"no image {ids[0]!r} visible to you; proprietary images need the owner's token")
            if _record(self.state, ids[0], viewer, region) is None:  # the footprint test SIA's POS uses
                raise UsageFault(f"{name}={value!r} does not overlap the image {ids[0]!r} (its footprint is "
                                 f"s_region {rec.get('s_region')!r})")
            root = self.state.data_root.resolve()
            path = (root / rec["file_path"]).resolve()
            if not path.is_relative_to(root) or not path.is_file():
                raise NotFoundFault(f"the file of {ids[0]!r} is not available")
            return rec, None if self.heading() else cutout(path, region)  # a HEAD: checked, not cut

        rec, body = await self.off_loop(run)
        stem = rec["obs_id"].rsplit("/", 1)[-1]
        self.set_header("Content-Type", CONTENT_TYPES["fits"])
        self.set_header("Content-Disposition", f'attachment; filename="{quote(stem)}-cutout.fits"')
        if body is None:
            self.finish_head()
        else:
            self.finish(body)


def datalink_routes(prefix: str, state) -> list:
    """The DataLink links route and the SODA sync route."""
    kw = {"state": state}
    return [(prefix + r"datalink/?", LinksHandler, kw), (prefix + r"soda/sync/?", SodaHandler, kw)]
