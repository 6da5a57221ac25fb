"""Protocol answers: ObsCore result tables in VOTable, CSV, JSON and IPAC, and VOTable error documents.

Pure rendering (bytes out), no Tornado. Result VOTables carry ``<INFO name="QUERY_STATUS">`` (``OK``
or ``OVERFLOW``) in the results RESOURCE; error documents carry ``QUERY_STATUS=ERROR`` with text
starting ``UsageFault:`` or ``Error:`` (DALI 1.1 section 4.4).
"""

from __future__ import annotations

import io
import json
import math
from xml.sax.saxutils import escape, quoteattr

import numpy as np

__all__ = ["OBSCORE_FIELDS", "error_votable", "render_table", "CONTENT_TYPES", "obscore_table"]

CONTENT_TYPES = {
    "votable": "application/x-votable+xml",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "ipac": "text/plain; charset=utf-8",
}

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
]


def _mjd_to_iso(mjd):
    from astropy.time import Time

    if mjd is None or not math.isfinite(mjd) or mjd > 2_000_000:
        return None
    return Time(mjd, format="mjd", scale="utc").isot[:19] + "Z"


def obscore_table(records: list[dict], access_base: str):
    """An astropy Table of ObsCore columns from index records; ``access_url`` = base + obs_id."""
    from urllib.parse import quote

    from astropy.table import MaskedColumn, Table

    t = Table()
    for name, kind, unit, ucd, utype in OBSCORE_FIELDS:
        if name == "access_url":
            vals = [access_base + quote(r["obs_id"], safe="/") for r in records]
        elif name == "obs_release_date":
            vals = [_mjd_to_iso(r.get("release_date")) for r in records]
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
        t.add_column(col)
    return t


def _votable(table, status: str, infos: list[tuple[str, str, str]] = ()) -> bytes:
    from astropy.io.votable.tree import Info
    from astropy.io.votable import from_table

    vot = from_table(table)
    resource = vot.resources[0]
    resource.type = "results"
    resource.infos.append(Info(name="QUERY_STATUS", value=status))
    for name, value, text in infos:
        info = Info(name=name, value=value)
        if text:
            info.content = text
        resource.infos.append(info)
    vtab = resource.tables[0]
    for f in vtab.fields:
        col = table.columns[f.name]
        if col.meta.get("ucd"):
            f.ucd = col.meta["ucd"]
        if col.meta.get("utype"):
            f.utype = col.meta["utype"]
        if f.datatype in ("char", "unicodeChar"):
            f.arraysize = "*"  # arraysize="1" is deprecated (VOTable 1.3 erratum 3)
    buf = io.BytesIO()
    vot.to_xml(buf, tabledata_format="tabledata")
    return buf.getvalue()


def render_table(table, fmt: str, *, overflow: bool = False, infos: list[tuple[str, str, str]] = ()) -> bytes:
    """The table as ``fmt`` (votable, csv, json, ipac); overflow flagged as the format allows.

    ``infos`` are extra ``(name, value, text)`` INFO elements of a VOTable answer.
    """
    status = "OVERFLOW" if overflow else "OK"
    if fmt == "votable":
        return _votable(table, status, infos)
    if fmt == "json":
        cols = table.colnames
        rows = []
        for row in table:
            out = []
            for c in cols:
                v = row[c]
                if np.ma.is_masked(v):
                    out.append(None)
                elif isinstance(v, (np.floating, float)):
                    out.append(float(v) if math.isfinite(float(v)) else None)
                elif isinstance(v, (np.integer, int)):
                    out.append(int(v))
                else:
                    out.append(str(v))
            rows.append(out)
        meta = [{"name": c, "unit": str(table[c].unit) if table[c].unit else None, "ucd": table[c].meta.get("ucd")}
                for c in cols]
        return json.dumps({"query_status": status, "columns": meta, "data": rows}).encode()
    buf = io.StringIO()
    if fmt == "csv":
        table.write(buf, format="ascii.csv")
        text = buf.getvalue()
        return (f"# QUERY_STATUS={status}\n" + text).encode() if overflow else text.encode()
    if fmt == "ipac":
        t = table.copy(copy_data=True)
        t.meta["comments"] = [f"QUERY_STATUS={status}"]
        t.write(buf, format="ascii.ipac")
        return buf.getvalue().encode()
    raise ValueError(f"unknown format {fmt!r}")


def error_votable(message: str, *, status: str = "ERROR", legacy_scs: bool = False) -> bytes:
    """A VOTable error document: ``QUERY_STATUS=ERROR`` with ``message`` (``UsageFault: ...``)."""
    extra = ""
    if legacy_scs:  # SCS 1.03: an INFO (or PARAM) named Error
        extra = f'\n  <INFO ID="Error" name="Error" value={quoteattr(message)}/>'
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
        ' <RESOURCE type="results">\n'
        f'  <INFO name="QUERY_STATUS" value="{status}">{escape(message)}</INFO>{extra}\n'
        " </RESOURCE>\n"
        "</VOTABLE>\n"
    ).encode()
