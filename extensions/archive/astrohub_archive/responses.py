"""ObsCore answers: image index records as an astropy Table with download URLs, and the lean SIA VOTable.

The ObsCore columns themselves (units, UCDs, utypes, frames) and the records' Table are the library's
(:mod:`platform_lib.imageindex.obscore`, which a user's own folder index answers with too); they are re-exported here.

Pure rendering (bytes out), no Tornado. Other formats, TAP results and error documents are written
by :mod:`astrohub_archive.writers` (re-exported here: ``render_table``, ``error_votable``,
``CONTENT_TYPES``).

SIA v2 VOTable answers (the hot path) skip astropy's Table and VOTable tree: :func:`obscore_votable`
writes TABLEDATA straight from the index records behind a FIELD block built once, with the same
cell rules as astropy's writer (so the documents are the same, bar astropy's "Produced with"
comment; a unit test compares them). Other formats and TAP go through :func:`obscore_table`.
"""

from __future__ import annotations

import math
from urllib.parse import quote

from astropy.utils.xml.writer import xml_escape, xml_escape_cdata

from platform_lib.imageindex.obscore import OBSCORE_FIELDS, OBSCORE_FRAMES, OBSCORE_XTYPES
from platform_lib.imageindex.obscore import obscore_table as _obscore_table
from platform_lib.imageindex.obscore import release_dates as _release_dates

__all__ = ["OBSCORE_FIELDS", "error_votable", "render_table", "CONTENT_TYPES", "obscore_table", "obscore_votable"]

from astrohub_archive.writers import CONTENT_TYPES, error_votable, render_table  # noqa: E402  (re-exported)


def _access_urls(records: list[dict], access_base: str) -> list[str]:
    return [access_base + quote(r["obs_id"], safe="/") for r in records]


def obscore_table(records: list[dict], access_base: str):
    """An astropy Table of ObsCore columns from index records; ``access_url`` = base + obs_id
    (:func:`platform_lib.imageindex.obscore.obscore_table`)."""
    return _obscore_table(records, _access_urls(records, access_base))


_VOTABLE_OPEN = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://www.ivoa.net/xml/VOTable/v1.3 http://www.ivoa.net/xml/VOTable/VOTable-1.4.xsd">\n'
    ' <RESOURCE type="results">\n'
)
_VOTABLE_CLOSE = "  </TABLE>\n </RESOURCE>\n</VOTABLE>\n"
_DATATYPES = {"f": ("double", None), "i": ("long", None), "s": ("unicodeChar", "*")}


def _frames_block() -> tuple[str, dict[str, str]]:
    """The COOSYS and TIMESYS elements of :data:`OBSCORE_FRAMES` as astropy writes them, and ``{column: ID}``."""
    from astropy.table import Table

    from astrohub_archive.writers import frame_ids

    t = Table({name: [0.0] for name in OBSCORE_FRAMES})
    for name, (key, frame) in OBSCORE_FRAMES.items():
        t[name].meta[key] = frame
    frames, refs = frame_ids(t)
    lines = []
    for kind, fid, attrs in frames:
        text = " ".join(f'{k}="{xml_escape(v)}"' for k, v in sorted(attrs.items()))
        lines.append(f'  <{kind} ID="{fid}" {text}/>\n')
    return "".join(lines), refs


_FRAMES, _FRAME_REFS = _frames_block()


def _field_block(fields, unicode: frozenset = frozenset()) -> str:
    """``<TABLE>`` and its FIELDs, attributes in astropy's (sorted) order; text columns are ``char``
    unless named in ``unicode`` (values beyond ASCII), as :mod:`astrohub_archive.writers` declares them."""
    lines = ["  <TABLE>\n"]
    for name, kind, unit, ucd, utype in fields:
        datatype, arraysize = _DATATYPES[kind]
        if kind == "s" and name not in unicode:
            datatype = "char"
        attrs = [("ID", name), ("arraysize", arraysize), ("datatype", datatype), ("name", name),
                 ("ref", _FRAME_REFS.get(name)), ("ucd", ucd), ("unit", unit), ("utype", utype),
                 ("xtype", OBSCORE_XTYPES.get(name))]
        lines.append("   <FIELD " + " ".join(f'{k}="{xml_escape(v)}"' for k, v in attrs if v) + "/>\n")
    return "".join(lines)


_FIELD_BLOCKS: dict[frozenset, str] = {}


def _obscore_field_block(unicode: frozenset) -> str:
    block = _FIELD_BLOCKS.get(unicode)
    if block is None:
        block = _FIELD_BLOCKS[unicode] = _field_block(OBSCORE_FIELDS, unicode)
    return block
_TD_NULL = "      <TD/>\n"


def _td_float(v) -> str:
    if v is None:
        return _TD_NULL
    f = float(v)
    if math.isfinite(f):
        text = repr(f)  # the shortest round-trip form, as astropy's str(numpy.float64)
        if text.endswith(".0"):
            text = text[:-2]
    elif f != f:
        text = "NaN"
    else:
        text = "+InF" if f > 0 else "-InF"
    return f"      <TD>{text}</TD>\n"


def _td_int(v) -> str:
    return _TD_NULL if v is None else f"      <TD>{int(v)}</TD>\n"


def _td_text(v) -> str:
    if v is None:
        return _TD_NULL
    text = str(v).rstrip("\x00")  # what a numpy str column keeps
    return f"      <TD>{xml_escape_cdata(text)}</TD>\n" if text else _TD_NULL


_TD = {"f": _td_float, "i": _td_int, "s": _td_text}


def obscore_votable(records: list[dict], access_base: str, *, overflow: bool = False,
                    infos: list[tuple[str, str, str]] = (), resources: str = "") -> bytes:
    """The SIA v2 answer for index records as a TABLEDATA VOTable, without building an astropy Table.

    The same document as ``render_table(obscore_table(records, access_base), "votable", ...)``
    (cells, nulls as ``<TD/>``, NaN/``+InF``, escaping and the FIELD block), only faster: the FIELD
    block is built once and each cell is one string operation. ``resources`` is XML of RESOURCE elements
    written after the results (service descriptors: :func:`astrohub_archive.datalink.sia_descriptor`).

    Examples
    --------
    >>> doc = obscore_votable([], "https://archive/download/")
    >>> b'<INFO ID="QUERY_STATUS" name="QUERY_STATUS" value="OK"/>' in doc
    True
    """
    # a truncated answer: OK before the table, OVERFLOW after it (as :func:`~astrohub_archive.writers.render_table`)
    parts = [_VOTABLE_OPEN, '  <INFO ID="QUERY_STATUS" name="QUERY_STATUS" value="OK"/>\n']
    for name, value, text in infos:
        head = f'  <INFO ID="{xml_escape(name)}" name="{xml_escape(name)}" value="{xml_escape(value)}"'
        parts.append(f"{head}>{xml_escape_cdata(text)}</INFO>\n" if text else f"{head}/>\n")
    parts.append(_FRAMES)
    urls = _access_urls(records, access_base) if records else []
    unicode = frozenset(
        name for name, kind, *_ in OBSCORE_FIELDS if kind == "s" and name not in ("access_url", "obs_release_date")
        and not all(v is None or str(v).rstrip("\x00").isascii() for v in (r.get(name) for r in records))
    ) | (frozenset({"access_url"}) if not all(u.isascii() for u in urls) else frozenset())
    parts.append(_obscore_field_block(unicode))
    if records:
        dates = _release_dates([r.get("release_date") for r in records])
        columns = [(name, _TD[kind]) for name, kind, *_ in OBSCORE_FIELDS]
        append = parts.append
        append("   <DATA>\n    <TABLEDATA>\n")
        for rec, url, date in zip(records, urls, dates):
            append("     <TR>\n")
            for name, td in columns:
                if name == "access_url":
                    append(_td_text(url))
                elif name == "obs_release_date":
                    append(_td_text(date))
                else:
                    append(td(rec.get(name)))
            append("     </TR>\n")
        append("    </TABLEDATA>\n   </DATA>\n")
    close = _VOTABLE_CLOSE.replace("</TABLE>\n", '</TABLE>\n  <INFO name="QUERY_STATUS" value="OVERFLOW"/>\n') \
        if overflow else _VOTABLE_CLOSE
    parts.append(close.replace("</VOTABLE>", resources + "</VOTABLE>") if resources else close)
    return "".join(parts).encode("utf-8")
