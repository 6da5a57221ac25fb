"""ObsCore answers: the ObsCore columns, image index records as an astropy Table, and the lean SIA VOTable.

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
import threading
import warnings
from urllib.parse import quote

import numpy as np
from astropy.utils.xml.writer import xml_escape, xml_escape_cdata

__all__ = ["OBSCORE_FIELDS", "error_votable", "render_table", "CONTENT_TYPES", "obscore_table", "obscore_votable"]

from astrohub_archive.writers import CONTENT_TYPES, error_votable, render_table  # noqa: E402  (re-exported)

# name, kind (f: float, i: int, s: text), unit, UCD, utype
OBSCORE_FIELDS = [
    ("dataproduct_type", "s", None, "meta.code.class", "obscore:ObsDataset.dataProductType"),
    ("calib_level", "i", None, "meta.code;obs.calib", "obscore:ObsDataset.calibLevel"),
    ("obs_collection", "s", None, "meta.id", "obscore:DataID.Collection"),
    ("obs_id", "s", None, "meta.id", "obscore:DataID.observationID"),
    ("obs_publisher_did", "s", None, "meta.ref.ivoid", "obscore:Curation.PublisherDID"),
    ("obs_release_date", "s", None, "time.release", "obscore:Curation.releaseDate"),
    ("access_url", "s", None, "meta.ref.url", "obscore:Access.Reference"),
    ("access_format", "s", None, "meta.code.mime", "obscore:Access.Format"),
    ("access_estsize", "i", "kbyte", "phys.size;meta.file", "obscore:Access.Size"),
    ("target_name", "s", None, "meta.id;src", "obscore:Target.Name"),
    ("s_ra", "f", "deg", "pos.eq.ra", "obscore:Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C1"),
    ("s_dec", "f", "deg", "pos.eq.dec", "obscore:Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C2"),
    ("s_fov", "f", "deg", "phys.angSize;instr.fov", "obscore:Char.SpatialAxis.Coverage.Bounds.Extent.diameter"),
    ("s_region", "s", None, "pos.outline;obs.field", "obscore:Char.SpatialAxis.Coverage.Support.Area"),
    ("s_resolution", "f", "arcsec", "pos.angResolution", "obscore:Char.SpatialAxis.Resolution.Refval.value"),
    ("s_xel1", "i", None, "meta.number", "obscore:Char.SpatialAxis.numBins1"),
    ("s_xel2", "i", None, "meta.number", "obscore:Char.SpatialAxis.numBins2"),
    ("t_min", "f", "d", "time.start;obs.exposure", "obscore:Char.TimeAxis.Coverage.Bounds.Limits.StartTime"),
    ("t_max", "f", "d", "time.end;obs.exposure", "obscore:Char.TimeAxis.Coverage.Bounds.Limits.StopTime"),
    ("t_exptime", "f", "s", "time.duration;obs.exposure", "obscore:Char.TimeAxis.Coverage.Support.Extent"),
    ("t_resolution", "f", "s", "time.resolution", "obscore:Char.TimeAxis.Resolution.Refval.value"),
    ("em_min", "f", "m", "em.wl;stat.min", "obscore:Char.SpectralAxis.Coverage.Bounds.Limits.LoLimit"),
    ("em_max", "f", "m", "em.wl;stat.max", "obscore:Char.SpectralAxis.Coverage.Bounds.Limits.HiLimit"),
    ("em_res_power", "f", None, "spect.resolution", "obscore:Char.SpectralAxis.Resolution.ResolPower.refVal"),
    ("pol_states", "s", None, "meta.code;phys.polarization", "obscore:Char.PolarizationAxis.stateList"),
    ("facility_name", "s", None, "meta.id;instr.tel", "obscore:Provenance.ObsConfig.Facility.name"),
    ("instrument_name", "s", None, "meta.id;instr", "obscore:Provenance.ObsConfig.Instrument.name"),
    # What the pixels measure, from the file's BUNIT (platform_lib.imageindex.ingest.observable_ucd); null if unknown.
    ("o_ucd", "s", None, "meta.ucd", "obscore:Char.ObservableAxis.ucd"),
    # Mandatory in ObsCore 1.1, not kept by the image index: null.
    ("t_xel", "i", None, "meta.number", "obscore:Char.TimeAxis.numBins"),
    ("em_xel", "i", None, "meta.number", "obscore:Char.SpectralAxis.numBins"),
    ("pol_xel", "i", None, "meta.number", "obscore:Char.PolarizationAxis.numBins"),
]

#: The frames of ObsCore's positions and times (VOTable 1.4 COOSYS and TIMESYS, which the FIELDs name in ``ref``):
#: positions and footprints in ICRS; ``t_min``/``t_max`` MJD in UTC as the observatory's clock gave them
#: (the index reads DATE-OBS/MJD-OBS as UTC). Set as column meta, which :mod:`astrohub_archive.writers` declares.
ICRS = "ICRS"
MJD_UTC = {"timeorigin": "MJD-origin", "timescale": "UTC", "refposition": "TOPOCENTER"}
OBSCORE_FRAMES = {"s_ra": ("coosys", ICRS), "s_dec": ("coosys", ICRS), "s_region": ("coosys", ICRS),
                  "t_min": ("timesys", MJD_UTC), "t_max": ("timesys", MJD_UTC)}
#: ObsCore 1.1's xtypes: ``s_region`` an ADQL region (STC-S text, ``Polygon ICRS ...``), the release date a DALI
#: timestamp.
OBSCORE_XTYPES = {"s_region": "adql:REGION", "obs_release_date": "timestamp"}


_ISO_CACHE: dict[float, str] = {}
_ISO_CACHE_MAX = 100_000
_ISO_LOCK = threading.Lock()


def _release_dates(values) -> list[str | None]:
    """``obs_release_date`` text (ISO, UTC, to the second) of release MJDs; None for none or far future.

    astropy's UTC conversion (leap seconds included) costs ~0.5 ms a call, so values are cached
    (release dates repeat: a night's images share one) and the misses converted in one call.
    """
    out: list[str | None] = []
    missing = []
    for v in values:
        if v is None or not math.isfinite(v) or v > 2_000_000:
            out.append(None)
            continue
        v = float(v)
        iso = _ISO_CACHE.get(v)
        if iso is None:
            missing.append((len(out), v))
        out.append(iso)
    if missing:
        from astropy.time import Time
        from erfa import ErfaWarning

        todo = sorted({v for _, v in missing})
        with warnings.catch_warnings():
            # A release MJD outside ERFA's leap-second table: an old plate public from its observation (before
            # 1960), or a proprietary period ending years ahead. It still names that calendar day; ERFA's
            # "dubious year" is only that no leap seconds are known there.
            warnings.filterwarnings("ignore", r'ERFA function "d2dtf" yielded .* "dubious year', ErfaWarning)
            isots = Time(todo, format="mjd", scale="utc").isot
        fresh = {v: str(t)[:19] + "Z" for v, t in zip(todo, isots)}
        with _ISO_LOCK:
            if len(_ISO_CACHE) + len(fresh) > _ISO_CACHE_MAX:
                _ISO_CACHE.clear()
            _ISO_CACHE.update(fresh)
        for i, v in missing:
            out[i] = fresh[v]
    return out


def _access_urls(records: list[dict], access_base: str) -> list[str]:
    return [access_base + quote(r["obs_id"], safe="/") for r in records]


def obscore_table(records: list[dict], access_base: str):
    """An astropy Table of ObsCore columns from index records; ``access_url`` = base + obs_id."""
    from astropy.table import MaskedColumn, Table

    t = Table()
    for name, kind, unit, ucd, utype in OBSCORE_FIELDS:
        if name == "access_url":
            vals = _access_urls(records, access_base)
        elif name == "obs_release_date":
            vals = _release_dates([r.get("release_date") for r in records])
        else:
            vals = [r.get(name) for r in records]
        mask = np.array([v is None for v in vals], dtype=bool)
        if kind == "f":
            data = np.array([np.nan if v is None else float(v) for v in vals], dtype=float)
        elif kind == "i":
            data = np.array([0 if v is None else int(v) for v in vals], dtype=np.int64)
        else:
            data = np.array(["" if v is None else str(v) for v in vals], dtype=object).astype(str) if vals else np.array([], dtype="U1")
        col = MaskedColumn(data, name=name, mask=mask, unit=unit)
        col.meta["ucd"] = ucd
        col.meta["utype"] = utype
        if name in OBSCORE_XTYPES:
            col.meta["xtype"] = OBSCORE_XTYPES[name]
        if name in OBSCORE_FRAMES:
            key, frame = OBSCORE_FRAMES[name]
            col.meta[key] = frame
        t.add_column(col)
    return t


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
    status = "OVERFLOW" if overflow else "OK"
    parts = [_VOTABLE_OPEN, f'  <INFO ID="QUERY_STATUS" name="QUERY_STATUS" value="{status}"/>\n']
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
    parts.append(_VOTABLE_CLOSE)
    if resources:
        parts[-1] = _VOTABLE_CLOSE.replace("</VOTABLE>", resources + "</VOTABLE>")
    return "".join(parts).encode("utf-8")
