"""VOSI and TAPRegExt documents of the TAP service: capabilities, availability, the table set and DALI examples.

Pure builders (bytes out) using :mod:`xml.etree.ElementTree`; the table set comes from
:mod:`astrohub_archive.tapschema`, the functions beyond ADQL (RegTAP's and DuckDB's) declared from :mod:`astrohub_archive.adql`. No Tornado.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

from astrohub_archive.adql import EXTRA_FUNCTIONS, UDFS
from astrohub_archive.tapschema import TAP_SCHEMA_KEYS, TableDesc, TableSet
from astrohub_archive.writers import CONTENT_TYPES

__all__ = ["capabilities", "sia_capabilities", "availability", "tableset", "table_document", "examples_page"]

VOSIC = "http://www.ivoa.net/xml/VOSICapabilities/v1.0"
VOSIA = "http://www.ivoa.net/xml/VOSIAvailability/v1.0"
VOSIT = "http://www.ivoa.net/xml/VOSITables/v1.0"
VS = "http://www.ivoa.net/xml/VODataService/v1.1"
VR = "http://www.ivoa.net/xml/VOResource/v1.0"
TR = "http://www.ivoa.net/xml/TAPRegExt/v1.0"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

#: ADQL 2.1's optional features this service has, by TAPRegExt feature type (``features-adql-<key>``), each with
#: every form ADQL 2.1 defines for it (section 4; the bitwise operators are the one optional feature not offered).
#: The mandatory functions (ABS ... TRUNCATE) are not declared: every ADQL service has them.
ADQL21_FEATURES = (
    ("string", ("LOWER", "UPPER", "ILIKE")),
    ("conditional", ("COALESCE",)),
    ("sets", ("UNION", "EXCEPT", "INTERSECT")),
    ("offset", ("OFFSET",)),
    ("type", ("CAST",)),
    ("common-table", ("WITH",)),
    ("unit", ("IN_UNIT",)),
)
GEOMETRY = ("POINT", "CIRCLE", "BOX", "POLYGON", "CONTAINS", "INTERSECTS", "DISTANCE", "AREA", "COORD1", "COORD2",
            "COORDSYS")
OUTPUT_FORMATS = (  # (format name, ivo-id, aliases)
    ("votable", "ivo://ivoa.net/std/TAPRegExt#output-votable-td", ("votable", "votable/td")),
    ("votable-b2", "ivo://ivoa.net/std/TAPRegExt#output-votable-binary2", ("votable/b2", "binary2")),
    ("fits", None, ("fits",)),
    ("csv", None, ("csv",)),
    ("tsv", None, ("tsv",)),
    ("json", None, ("json",)),  # writers.render_table's {"query_status", "columns", "data"} document
)


def _xml(root: ET.Element) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")


def _interface(parent, url: str, use: str = "full", role: str | None = None):
    attrs = {"xsi:type": "vs:ParamHTTP"}
    if role:
        attrs.update(role=role, version="1.1")
    iface = ET.SubElement(parent, "interface", attrs)
    ET.SubElement(iface, "accessURL", use=use).text = url
    return iface


def capabilities(base: str, *, max_rows: int, default_rows: int, retention_s: int, execution_s: int,
                 upload_bytes: int) -> bytes:
    """The TAP service's VOSI capabilities with TAPRegExt (``base`` ends with ``tap/``)."""
    # Prefixes written out: xsi:type values are QNames, which need their prefixes declared.
    root = ET.Element("vosi:capabilities", {"xmlns:vosi": VOSIC, "xmlns:vs": VS, "xmlns:tr": TR, "xmlns:xsi": XSI})
    for k in ("capabilities", "availability", "tables"):
        cap = ET.SubElement(root, "capability", standardID=f"ivo://ivoa.net/std/VOSI#{k}")
        _interface(cap, base + k)
    ex = ET.SubElement(root, "capability", standardID="ivo://ivoa.net/std/DALI#examples")
    _interface(ex, base + "examples")
    tap = ET.SubElement(root, "capability", {"standardID": "ivo://ivoa.net/std/TAP", "xsi:type": "tr:TableAccess"})
    _interface(tap, base[:-1], use="base", role="std")
    ET.SubElement(tap, "dataModel", {"ivo-id": "ivo://ivoa.net/std/ObsCore#core-1.1"}).text = "ObsCore-1.1"
    lang = ET.SubElement(tap, "language")
    ET.SubElement(lang, "name").text = "ADQL"
    ET.SubElement(lang, "version", {"ivo-id": "ivo://ivoa.net/std/ADQL#v2.0"}).text = "2.0"
    ET.SubElement(lang, "version", {"ivo-id": "ivo://ivoa.net/std/ADQL#v2.1"}).text = "2.1"
    ET.SubElement(lang, "description").text = (
        "ADQL 2.1 on sqlglot and DuckDB: expressions, aggregates, GROUP BY/HAVING, DISTINCT, TOP, OFFSET, joins, "
        "subqueries, WITH, CASE, the math and string functions, IN_UNIT, and the geometry listed here (ICRS degrees; "
        "constant positions in GALACTIC, FK5 or FK4 converted)")
    geo = ET.SubElement(lang, "languageFeatures", type="ivo://ivoa.net/std/TAPRegExt#features-adqlgeo")
    for g in GEOMETRY:
        ET.SubElement(ET.SubElement(geo, "feature"), "form").text = g
    for key, forms in ADQL21_FEATURES:
        kind = ET.SubElement(lang, "languageFeatures", type=f"ivo://ivoa.net/std/TAPRegExt#features-adql-{key}")
        for g in forms:
            ET.SubElement(ET.SubElement(kind, "feature"), "form").text = g
    udfs = ET.SubElement(lang, "languageFeatures", type="ivo://ivoa.net/std/TAPRegExt#features-udf")
    # every function beyond ADQL a query may call (a call of any other name is refused, naming it)
    for signature, description in [u[:2] for u in UDFS.values()] + list(EXTRA_FUNCTIONS.values()):
        udf = ET.SubElement(udfs, "feature")
        ET.SubElement(udf, "form").text = signature
        ET.SubElement(udf, "description").text = description
    for fmt, ivo_id, aliases in OUTPUT_FORMATS:
        of = ET.SubElement(tap, "outputFormat", {"ivo-id": ivo_id} if ivo_id else {})
        ET.SubElement(of, "mime").text = CONTENT_TYPES[fmt].split("; charset")[0]
        for a in aliases:
            ET.SubElement(of, "alias").text = a
    for method in ("upload-inline", "upload-http", "upload-https"):
        ET.SubElement(tap, "uploadMethod", {"ivo-id": f"ivo://ivoa.net/std/TAPRegExt#{method}"})
    rp = ET.SubElement(tap, "retentionPeriod")
    ET.SubElement(rp, "default").text = str(retention_s)
    ET.SubElement(rp, "hard").text = str(retention_s)
    ed = ET.SubElement(tap, "executionDuration")
    ET.SubElement(ed, "default").text = str(execution_s)
    ET.SubElement(ed, "hard").text = str(execution_s)
    ol = ET.SubElement(tap, "outputLimit")
    ET.SubElement(ol, "default", unit="row").text = str(default_rows)
    ET.SubElement(ol, "hard", unit="row").text = str(max_rows)
    ul = ET.SubElement(tap, "uploadLimit")
    ET.SubElement(ul, "default", unit="byte").text = str(upload_bytes)
    ET.SubElement(ul, "hard", unit="byte").text = str(upload_bytes)
    return _xml(root)


def sia_capabilities(base: str, standard_id: str) -> bytes:
    """The SIA v2 service's VOSI capabilities (``base`` ends with ``sia/``)."""
    root = ET.Element("vosi:capabilities", {"xmlns:vosi": VOSIC, "xmlns:vs": VS, "xmlns:xsi": XSI})
    for k in ("capabilities", "availability"):
        _interface(ET.SubElement(root, "capability", standardID=f"ivo://ivoa.net/std/VOSI#{k}"), base + k)
    cap = ET.SubElement(root, "capability", standardID=standard_id)
    iface = ET.SubElement(cap, "interface", {"xsi:type": "vs:ParamHTTP", "role": "std", "version": "2.0"})
    ET.SubElement(iface, "accessURL", use="base").text = base + "query"
    return _xml(root)


def availability(ok: bool, note: str, up_since: float | None = None) -> bytes:
    """VOSI 1.1's availability document: ``available``, ``upSince`` (``up_since``, Unix seconds: when the service
    started, as DaCHS says it; it was left out, so pyvo's ``up_since`` was None) while available, and ``note``."""
    # The "vosi" prefix is registered for VOSICapabilities; this document declares its own.
    root = ET.Element("vosi:availability", {"xmlns:vosi": VOSIA})
    ET.SubElement(root, "vosi:available").text = "true" if ok else "false"
    if ok and up_since is not None:
        ET.SubElement(root, "vosi:upSince").text = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(up_since))
    ET.SubElement(root, "vosi:note").text = note
    return _xml(root)


def _table_element(parent, t: TableDesc, detail: bool = True):
    el = ET.SubElement(parent, "table", type="table")
    ET.SubElement(el, "name").text = t.name
    if t.description:
        ET.SubElement(el, "description").text = t.description
    if t.utype:
        ET.SubElement(el, "utype").text = t.utype
    if not detail:
        return el
    for c in t.columns:
        col = ET.SubElement(el, "column")
        ET.SubElement(col, "name").text = c.adql_name
        if c.description:
            ET.SubElement(col, "description").text = c.description
        if c.unit:
            ET.SubElement(col, "unit").text = c.unit
        if c.ucd:
            ET.SubElement(col, "ucd").text = c.ucd
        if c.utype:
            ET.SubElement(col, "utype").text = c.utype
        attrs = {"xsi:type": "vs:VOTableType"}
        if c.arraysize:
            attrs["arraysize"] = c.arraysize
        if c.xtype:
            attrs["extendedType"] = c.xtype
        ET.SubElement(col, "dataType", attrs).text = c.datatype
        if c.indexed:
            ET.SubElement(col, "flag").text = "indexed"
        if c.principal:
            ET.SubElement(col, "flag").text = "primary"
        if c.std:
            ET.SubElement(col, "flag").text = "std"
    for key_id, frm, target, fcol, tcol in TAP_SCHEMA_KEYS:
        if t.name == f"TAP_SCHEMA.{frm}":
            fk = ET.SubElement(el, "foreignKey")
            ET.SubElement(fk, "targetTable").text = f"TAP_SCHEMA.{target}"
            pair = ET.SubElement(fk, "fkColumn")
            ET.SubElement(pair, "fromColumn").text = fcol
            ET.SubElement(pair, "targetColumn").text = tcol
            ET.SubElement(fk, "description").text = f"{frm}.{fcol} refers to {target}.{tcol}"
    return el


def tableset(tables: TableSet, detail: bool = True) -> bytes:
    """The VOSI tableset: every schema, table and (with ``detail``) column."""
    root = ET.Element("vosi:tableset", {"xmlns:vosi": VOSIT, "xmlns:vs": VS, "xmlns:xsi": XSI})
    for schema, description in tables.schemas():
        s = ET.SubElement(root, "schema")
        ET.SubElement(s, "name").text = schema
        ET.SubElement(s, "description").text = description
        for t in tables.tables.values():
            if t.schema == schema:
                _table_element(s, t, detail)
    return _xml(root)


def table_document(t: TableDesc) -> bytes:
    """The VOSI ``/tables/{name}`` answer: one ``vosi:table`` element."""
    root = ET.Element("vosi:table", {"xmlns:vosi": VOSIT, "xmlns:vs": VS, "xmlns:xsi": XSI, "type": "table"})
    tmp = ET.Element("x")
    el = _table_element(tmp, t)
    for child in el:
        root.append(child)
    return _xml(root)


def examples_page(base: str, tables: TableSet) -> bytes:
    """DALI examples (XHTML with RDFa): a cone, a count by HEALPix-like cell, a join and an upload crossmatch."""
    cat = next((t for t in tables.tables.values() if t.kind == "catalog" and t.ra_column), None)
    name, ra, dec = (cat.name, cat.ra_column, cat.dec_column) if cat else ("ivoa.obscore", "s_ra", "s_dec")
    ex = [
        ("cone", "Cone search", f"SELECT TOP 100 * FROM {name} WHERE 1 = CONTAINS(POINT('ICRS', {ra}, {dec}), "
                                f"CIRCLE('ICRS', 10.0, 0.0, 0.5))"),
        # TOP 100: an all-sky catalogue has some 40,000 one-degree cells, which the default MAXREC cut with an
        # overflow warning; an example should run as it is
        ("count-by-cell", "The 100 densest 1-degree sky cells",
         f"SELECT TOP 100 ra_cell, dec_cell, COUNT(*) AS n FROM (SELECT FLOOR({ra}) AS ra_cell, FLOOR({dec}) AS "
         f"dec_cell FROM {name}) AS cells GROUP BY ra_cell, dec_cell ORDER BY n DESC"),
        # the circle of each image's field of view (s_fov, a diameter): s_region takes only a constant region
        ("join", "Catalogue sources in the field of each image",
         f"SELECT TOP 100 o.obs_id, c.{ra}, c.{dec} FROM ivoa.obscore AS o JOIN {name} AS c "
         f"ON 1 = CONTAINS(POINT('ICRS', c.{ra}, c.{dec}), CIRCLE('ICRS', o.s_ra, o.s_dec, o.s_fov / 2))"),
        ("upload-crossmatch", "Crossmatch an uploaded list (TAP_UPLOAD.mine with ra, dec) within 2 arcsec",
         f"SELECT u.*, c.* FROM TAP_UPLOAD.mine AS u JOIN {name} AS c ON "
         f"DISTANCE(POINT('ICRS', u.ra, u.dec), POINT('ICRS', c.{ra}, c.{dec})) < 2.0 / 3600"),
    ]
    html = ET.Element("html", xmlns="http://www.w3.org/1999/xhtml")
    head = ET.SubElement(html, "head")
    ET.SubElement(head, "title").text = "TAP examples"
    body = ET.SubElement(html, "body", vocab="ivo://ivoa.net/std/DALI-examples")
    ET.SubElement(body, "h1").text = "Examples of this TAP service"
    for ident, title, query in ex:
        div = ET.SubElement(body, "div", {"id": ident, "resource": f"#{ident}", "typeof": "example"})
        ET.SubElement(div, "h2", property="name").text = title
        ET.SubElement(div, "pre", {"class": "dali-example-query", "property": "query"}).text = query
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(html, encoding="utf-8", method="xml")
