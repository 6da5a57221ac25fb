"""The archive's page for people: ``GET <prefix>`` answers HTML listing what the archive holds.

Owns the service's root route. A browser (``Accept: text/html``) gets a page with the image
collections (images in each, and how many are public now), the registered catalogues with their
tables and row counts, the service endpoints, and example queries for each (a URL to click, the
ADQL, and the ``platform_lib.retrieval`` call for a notebook). Any other client gets the JSON
document of the endpoints it got before (``?format=json`` forces it). The numbers come straight from
the image index (read-only SQLite) and the catalogue registry; a missing index or registry is said
on the page, never an error. May import tornado, sqlite3, the standard library, this package's
handlers, ``platform_lib.catalogs`` (through the state's registry) and the release rule
(``platform_lib.imageindex.released_sql``).
"""

from __future__ import annotations

import html
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

from platform_lib.imageindex import released_sql
from platform_lib.imageindex.index import now_mjd as _now_mjd

from astrohub_archive.base import BaseHandler

__all__ = ["Collection", "HomeHandler", "Holding", "collections", "holdings", "render"]


@dataclass(frozen=True)
class Collection:
    name: str
    images: int
    public: int


@dataclass(frozen=True)
class Holding:
    """One catalogue table: its full name, title, rows and a position inside its coverage (degrees)."""

    table: str
    title: str
    rows: int
    ra: float
    dec: float


def collections(index_path: Path, now_mjd: float | None = None) -> list[Collection] | None:
    """The image collections with their counts, or ``None`` when there is no readable index."""
    now = now_mjd if now_mjd is not None else _now_mjd()
    try:
        with sqlite3.connect(f"file:{index_path}?mode=ro", uri=True) as conn:
            rows = conn.execute(
                "SELECT COALESCE(obs_collection, ''), COUNT(*), "
                f"SUM(CASE WHEN {released_sql('release_date')} THEN 1 ELSE 0 END) "
                "FROM obscore GROUP BY 1 ORDER BY 1", (now,)).fetchall()
    except sqlite3.Error:
        return None
    return [Collection(name or "(none)", int(n), int(public or 0)) for name, n, public in rows]


def _inside(registry, table: str) -> tuple[float, float]:
    """A position inside ``table``'s coverage: the centre of its first HEALPix cell (else 0, 0)."""
    try:
        import cdshealpix
        import numpy as np
        from astropy import units as u

        ranges = registry.moc(table).to_depth29_ranges
        lon, lat = cdshealpix.nested.healpix_to_lonlat(np.array([int(ranges[0][0])], dtype=np.uint64), 29)
        return round(float(lon.to_value(u.deg)[0]), 4), round(float(lat.to_value(u.deg)[0]), 4)
    except Exception:  # noqa: BLE001 - only an example position
        return 0.0, 0.0


def holdings(registry) -> list[Holding] | None:
    """Every registered table with its rows and an example position, or ``None`` without a registry."""
    if registry is None:
        return None
    out = []
    for catalog in registry.catalogs():
        for full_name in registry.tables(catalog.name):
            info = registry.get(full_name)
            ra, dec = _inside(registry, full_name) if info.ra_column else (0.0, 0.0)
            out.append(Holding(full_name, catalog.title or info.description, int(info.nrows or 0), ra, dec))
    return out


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def render(base: str, images: list[Collection] | None, tables: list[Holding] | None) -> str:
    """The HTML page (``base`` is the service's URL, ending with ``/``)."""
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>astrohub archive</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
        "td.n{text-align:right}code,pre{background:#f4f4f4}pre{padding:.5em;overflow-x:auto}</style>",
        "</head><body><h1>astrohub archive</h1>",
        "<p>Images (IVOA SIA v2 and ObsCore over TAP) and catalogues (Simple Cone Search) of this platform. "
        "In a notebook, <code>platform_lib.retrieval</code> queries it with your token "
        "(<code>image_search</code>, <code>cone_search</code>, <code>tap_query</code>).</p>",
        "<h2>Image collections</h2>",
    ]
    if images is None:
        parts.append("<p>No image index yet (operators: <code>astrohub archive index</code>).</p>")
    elif not images:
        parts.append("<p>The image index is empty.</p>")
    else:
        parts.append("<table><tr><th>collection</th><th>images</th><th>public now</th><th>example</th></tr>")
        for c in images:
            query = base + "sia/query?" + urlencode({"COLLECTION": c.name, "MAXREC": 10})
            parts.append(f"<tr><td>{_e(c.name)}</td><td class='n'>{c.images}</td><td class='n'>{c.public}</td>"
                         f"<td><a href='{_e(query)}'>SIA: first 10</a></td></tr>")
        parts.append("</table>")
        first = images[0].name
        adql = f"SELECT TOP 10 obs_id, s_ra, s_dec, t_min FROM ivoa.obscore WHERE obs_collection = '{first}'"
        tap = base + "tap/sync?" + urlencode({"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": adql})
        parts.append(
            f"<p>ADQL (<a href='{_e(tap)}'>run it</a>):</p><pre>{_e(adql)}</pre>"
            "<pre>from platform_lib.retrieval import image_search, tap_query\n"
            f"tap_query({_e(repr(adql))})\n"
            f"image_search(collection={_e(repr(first))}, maxrec=10)</pre>")
    parts.append("<h2>Catalogues</h2>")
    if tables is None:
        parts.append("<p>No catalogue registry (operators: <code>astrohub catalogs ingest</code>).</p>")
    elif not tables:
        parts.append("<p>No catalogue is registered yet.</p>")
    else:
        parts.append("<table><tr><th>table</th><th>title</th><th>rows</th><th>example</th></tr>")
        for t in tables:
            scs = f"{base}scs/{quote(t.table)}?" + urlencode({"RA": t.ra, "DEC": t.dec, "SR": 0.05})
            parts.append(f"<tr><td>{_e(t.table)}</td><td>{_e(t.title)}</td><td class='n'>{t.rows}</td>"
                         f"<td><a href='{_e(scs)}'>cone search, 3'</a></td></tr>")
        parts.append("</table>")
        t = tables[0]
        parts.append(
            "<pre>from astropy.coordinates import SkyCoord\nimport astropy.units as u\n"
            "from platform_lib.retrieval import cone_search\n"
            f"cone_search(SkyCoord({t.ra}, {t.dec}, unit='deg'), 3 * u.arcmin, catalog={_e(repr(t.table))})</pre>")
    parts.append(
        "<h2>Sky views</h2><p>Level-of-detail views for Aladin Lite (served by this archive, no internet needed): "
        f"a HiPS catalogue and a density map of every catalogue, and a HiPS of the public images, listed at "
        f"<a href='{_e(base)}hips/'>hips/</a>. In a notebook: <code>from platform_lib import viz; "
        "viz.show('I/311')</code>.</p>")
    endpoints = [("sia/query", "SIA v2 image search"), ("sia/capabilities", "SIA capabilities"),
                 ("tap", "TAP 1.1 (sync, async, tables, capabilities)"), ("scs/&lt;table&gt;", "Simple Cone Search"),
                 ("download/&lt;obs_id&gt;", "image download"),
                 ("datalink?ID=&lt;obs_publisher_did&gt;", "DataLink: an image's file and cutout service"),
                 ("soda/sync?ID=&lt;obs_publisher_did&gt;&amp;CIRCLE=ra dec r", "SODA cutouts"),
                 ("hips/", "HiPS catalogues, density maps and image surveys"),
                 ("moving/images", "which images contain a Solar System body"),
                 ("moving/bodies", "which known bodies are in an image")]
    parts.append("<h2>Endpoints</h2><ul>")
    parts += [f"<li><code>{_e(base)}{path}</code>: {what}</li>" for path, what in endpoints]
    parts.append(f"</ul><p>Machine-readable: <a href='{_e(base)}?format=json'>?format=json</a>.</p></body></html>")
    return "".join(parts)


class HomeHandler(BaseHandler):
    """``GET <prefix>``: the HTML page for browsers, the JSON endpoint list for other clients."""

    def get(self) -> None:
        base = self.base_url()
        accept = self.request.headers.get("Accept", "")
        if self.get_argument("format", "") == "json" or "text/html" not in accept:
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"sia": base + "sia", "scs": base + "scs/<catalogue>", "tap": base + "tap",
                                    "download": base + "download/<obs_id>", "datalink": base + "datalink",
                                    "soda": base + "soda/sync", "hips": base + "hips/",
                                    "moving": base + "moving/"}))
            return
        try:
            registry = self.state.registry()
        except Exception:  # noqa: BLE001 - a missing registry file is shown on the page
            registry = None
        page = render(base, collections(self.state.index_path), holdings(registry))
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(page)
