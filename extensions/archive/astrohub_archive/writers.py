"""Output writers: result tables as VOTable (TABLEDATA, BINARY2), FITS, CSV, TSV, JSON and IPAC, and error documents.

Pure (bytes out, no Tornado). Every VOTable is written by astropy's VOTable writer, except the BINARY2
stream itself, which :func:`_binary2_stream` writes column by column (the same bytes as astropy's per-row
loop, 10^2-10^3 times faster; astropy's stays for the field kinds it does not cover), and the TABLEDATA rows,
which :func:`_tabledata_cells` writes column by column too (the same bytes as astropy's Python writer, 5-13 times
faster; astropy's stays for arrays and fixed-precision fields). This module also
fixes what the generic writer gets wrong for services: text columns declared ``char`` (ASCII) or
``unicodeChar`` (anything else) with ``arraysize="*"``, booleans as ``boolean`` (``bit`` cannot be
null), numbers VOTable has no type for (uint16/32/64, int8, float16) as the types TAP_SCHEMA names,
masked values of every type as nulls (issue 17 item 1), ADQL's geometry values (DALI point, circle and
polygon: double arrays with their ``xtype`` in VOTable, FITS and JSON; DALI's space-separated numbers in
CSV, TSV and IPAC), empty tables, and the
``QUERY_STATUS`` INFO (``OK``, and for a truncated answer a trailing ``OVERFLOW`` after the TABLE, as DaCHS
writes it; ``ERROR`` in :func:`error_votable`) in the results RESOURCE. TABLEDATA is written by astropy's Python writer (:mod:`platform_lib.votable`: astropy 8.0.2's C
writer writes past its row buffer, and the process then crashes later at a random place). Imports numpy, astropy
and platform_lib.votable.
"""

from __future__ import annotations

import io
import json
import math
import threading
import time
from collections.abc import Iterable, Iterator

import numpy as np

from platform_lib.fitscolumns import add_column_cards
from platform_lib.votable import use_python_tabledata_writer

use_python_tabledata_writer()  # once, for this process: astropy's C TABLEDATA writer overflows its buffer

__all__ = ["CONTENT_TYPES", "RESPONSE_FORMATS", "FORMAT_NAMES", "render_table", "error_votable", "error_json",
           "prepare_table"]

CONTENT_TYPES = {
    "votable": "application/x-votable+xml",
    "votable-b2": "application/x-votable+xml;serialization=BINARY2",
    "fits": "application/fits",
    "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
    "json": "application/json",
    "ipac": "text/plain; charset=utf-8",
}

#: RESPONSEFORMAT values (lower case, spaces removed) -> our format name.
RESPONSE_FORMATS = {
    "votable": "votable", "application/x-votable+xml": "votable", "text/xml": "votable",
    "votable/td": "votable", "application/x-votable+xml;serialization=tabledata": "votable",
    "votable/b2": "votable-b2", "binary2": "votable-b2", "votableb2": "votable-b2",
    "application/x-votable+xml;serialization=binary2": "votable-b2",
    "fits": "fits", "application/fits": "fits", "image/fits": "fits",
    "csv": "csv", "text/csv": "csv", "text/csv;header=present": "csv",
    "tsv": "tsv", "text/tab-separated-values": "tsv",
    "json": "json", "application/json": "json",
    "ipac": "ipac", "text/plain;format=ipac": "ipac", "application/x-ipac": "ipac",
}
#: The formats a service may offer, by name (SIA offers votable/csv/json/ipac; TAP all but ipac/json).
FORMAT_NAMES = tuple(CONTENT_TYPES)


def _is_ascii(values) -> bool:
    try:
        for v in values:
            str(v).encode("ascii")
    except UnicodeEncodeError:
        return False
    return True


_DEADLINE = threading.local()  # .at: the time.monotonic() by which render_table (in this thread) must be done


def _in_time() -> None:
    """Raise :class:`TimeoutError` once the answer this thread is writing is past its ``deadline``
    (:func:`render_table`'s): called per column, and every few thousand rows where rows are written one by one."""
    at = getattr(_DEADLINE, "at", None)
    if at is not None and time.monotonic() > at:
        raise TimeoutError("the answer was not written by its deadline")


#: Rows written one by one (CSV, TSV, JSON, VOTable's TABLEDATA rows) between two looks at the deadline.
_ROWS_BETWEEN_CHECKS = 2000


def _rows_in_time(rows: Iterable) -> Iterator:
    """``rows`` as they come, with a look at the deadline (:func:`_in_time`) before the first and every
    :data:`_ROWS_BETWEEN_CHECKS` rows after."""
    for i, row in enumerate(rows):
        if i % _ROWS_BETWEEN_CHECKS == 0:
            _in_time()
        yield row


#: Numeric types VOTable has no datatype for -> the wider signed type TAP_SCHEMA declares for them
#: (:mod:`astrohub_archive.tapschema`): a catalogue's uint16 column is an ``int``, its uint32 a ``long``.
_WIDER = {np.dtype("int8"): np.dtype("int16"), np.dtype("uint16"): np.dtype("int32"),
          np.dtype("uint32"): np.dtype("int64"), np.dtype("float16"): np.dtype("float32")}


def _votable_number(data: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``data`` in a type VOTable can hold, values unchanged: int8/uint16/uint32/float16 widened, uint64
    as ``long`` when every value fits it, else as decimal text (VOTable has no unsigned 64-bit type)."""
    if data.dtype.kind not in "iuf":
        return data
    wider = _WIDER.get(data.dtype.newbyteorder("="))
    if wider is not None:
        return data.astype(wider)
    if data.dtype.kind == "u" and data.dtype.itemsize == 8:
        valid = data[~mask]
        if valid.size == 0 or int(valid.max()) <= np.iinfo(np.int64).max:
            return np.where(mask, 0, data).astype(np.int64)
        return np.char.encode(data.astype(str), "ascii")
    return data


def _is_polygons(data) -> bool:
    """Whether ``data`` is an object column of double arrays (the engine's geometry polygons)."""
    return data.dtype.kind == "O" and len(data) > 0 and all(isinstance(v, np.ndarray) for v in data)


def _row_nulls(col) -> np.ndarray:
    """One null flag a row of ``col`` (an array column, a geometry, is null where its cells are)."""
    m = np.ma.getmaskarray(col)
    return m if m.ndim <= 1 else m.any(axis=tuple(range(1, m.ndim)))


def _dali_text(v) -> str:
    """An array value (a DALI point, circle or polygon) as DALI serialises it: its numbers, space-separated."""
    return " ".join(repr(float(x)) for x in np.ravel(v))


def prepare_table(table):
    """A copy of ``table`` whose columns every writer can take: text as ``str`` (ASCII-only text as
    bytes, so that VOTable calls it ``char``, unless the column's ``meta["datatype"]`` is ``unicodeChar``: an
    upload's column declared so), object columns resolved, numbers in the types VOTable
    and TAP_SCHEMA name (:func:`_votable_number`), masks kept."""
    from astropy.table import MaskedColumn, Table

    out = Table(meta=dict(table.meta))
    for name in table.colnames:
        _in_time()
        col = table[name]
        mask = np.ma.getmaskarray(col) if hasattr(col, "mask") else np.zeros(len(col), bool)
        data = np.asarray(col.data if not hasattr(col, "mask") else np.ma.getdata(col))
        if _is_polygons(data):  # geometry values (DALI polygons): arrays of doubles (masked ones, for BINARY2)
            cells = [np.ma.masked_array(v, mask=np.zeros(len(v), bool)) for v in data]
            data = np.array([None] + cells, dtype=object)[1:]  # (the None keeps numpy from making a 2-D array)
            out.add_column(MaskedColumn(data, name=name, mask=mask, unit=col.unit, description=col.description,
                                        meta=dict(col.meta)))
            continue
        if data.dtype.kind == "O":
            texts = ["" if (m or v is None) else (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v))
                     for v, m in zip(data, mask)]
            mask = mask | np.array([v is None for v in data], dtype=bool)
            data = np.array(texts, dtype=str) if texts else np.array([], dtype="U1")
        if data.dtype.kind in "SU" and mask.any():  # else a null's hidden text is written: astropy reads
            data = np.where(mask, data.dtype.type(), data)  # BINARY2 text as it is, ignoring the null flag
        if data.dtype.kind == "U" and col.meta.get("datatype") != "unicodeChar":
            if data.size == 0:
                data = np.array([], dtype="S1")
            elif _is_ascii(data):
                data = np.char.encode(data, "ascii")
        if data.dtype.kind in "SU" and data.dtype.itemsize == 0:
            data = data.astype(data.dtype.kind + "1")
        data = _votable_number(data, mask)
        new = MaskedColumn(data, name=name, mask=mask, unit=col.unit, description=col.description,
                           meta=dict(col.meta))
        out.add_column(new)
    return out


def _votable(table, status: str, infos, serialization: str) -> bytes:
    from astropy.io.votable import from_table
    from astropy.io.votable.tree import Info

    table = prepare_table(table)
    vot = from_table(table)
    resource = vot.resources[0]
    resource.type = "results"
    # An overflow as DaCHS writes it (DALI 5.2, TAP 1.1 2.9): OK before the table, OVERFLOW after it. STILTS and
    # TOPCAT read the first QUERY_STATUS and said "Missing/incorrect <INFO name='QUERY_STATUS'>" for OVERFLOW
    # there, without reporting the truncation; pyvo and astropy read either.
    resource.infos.append(Info(name="QUERY_STATUS", value="OK" if status == "OVERFLOW" else status))
    for name, value, text in infos:
        info = Info(name=name, value=value)
        if text:
            info.content = text
        resource.infos.append(info)
    vtab = resource.tables[0]
    refs = _frames(resource, table)
    for f in vtab.fields:
        col = table.columns[f.name]
        if f.name in refs:
            f.ref = refs[f.name]
        if col.meta.get("ucd"):
            f.ucd = col.meta["ucd"]
        if col.meta.get("utype"):
            f.utype = col.meta["utype"]
        if col.meta.get("xtype"):
            f.xtype = col.meta["xtype"]
        if col.meta.get("xtype") == "polygon" and not len(table):
            f.datatype = "double"  # no rows to tell astropy the cells are arrays of doubles (DALI polygon)
        if f.datatype in ("char", "unicodeChar") or col.meta.get("xtype") == "polygon":
            f.arraysize = "*"  # arraysize="1" is deprecated (VOTable 1.3 erratum 3), and text varies
        if f.datatype == "bit":
            f.datatype = "boolean"  # bit cannot be null; boolean can
    if status == "OVERFLOW":
        trailing = Info(name="QUERY_STATUS", value="OVERFLOW")
        trailing.ID = None  # astropy gives it its name as ID, which the first one holds (IDs are unique)
        _status_after(vtab, trailing)
    if serialization == "binary2":
        _use_fast_binary2(vtab)
    else:
        _use_fast_tabledata(vtab)
    buf = io.BytesIO()
    vot.to_xml(buf, tabledata_format=serialization)
    return buf.getvalue()


def _status_after(vtab, info) -> None:
    """Have astropy's writer put ``info`` (the trailing ``QUERY_STATUS``) in the results RESOURCE right after the
    TABLE ``vtab``, where astropy's Resource writes only INFOs before its tables."""
    write = vtab.to_xml

    def to_xml(w, **kwargs):
        write(w, **kwargs)
        info.to_xml(w, **kwargs)

    vtab.to_xml = to_xml


#: A column's ``meta["coosys"]`` (the system, ``"ICRS"``, or a dict of COOSYS attributes) or ``meta["timesys"]`` (a dict of TIMESYS attributes:
#: ``timeorigin``, ``timescale``, ``refposition``) makes the VOTable writer declare that frame once in the
#: results RESOURCE and point the column's FIELD at it (``ref``), as VOTable 1.4 section 2 asks of positions and
#: times; the IDs are :func:`frame_ids`'.
FRAME_KEYS = ("coosys", "timesys")


def frame_ids(table) -> tuple[list[tuple[str, str, dict]], dict[str, str]]:
    """The frames the columns of ``table`` name, in column order: ``([(kind, ID, attributes)], {column: ID})``,
    ``kind`` ``COOSYS`` or ``TIMESYS``; IDs ``system``, ``system2``, ... and ``time_frame``, ``time_frame2``, ...

    >>> from astropy.table import Table
    >>> t = Table({"ra": [1.0], "t": [2.0]})
    >>> t["ra"].meta["coosys"] = "ICRS"; t["t"].meta["timesys"] = {"timescale": "UTC"}
    >>> frame_ids(t)
    ([('COOSYS', 'system', {'system': 'ICRS'}), ('TIMESYS', 'time_frame', {'timescale': 'UTC'})], {'ra': 'system', 't': 'time_frame'})
    """
    frames: list[tuple[str, str, dict]] = []
    refs: dict[str, str] = {}
    for name in table.colnames:
        meta = table[name].meta
        for key, kind, stem in (("coosys", "COOSYS", "system"), ("timesys", "TIMESYS", "time_frame")):
            value = meta.get(key)
            if not value:
                continue
            attrs = {"system": value} if isinstance(value, str) else dict(value)
            same = [fid for k, fid, a in frames if k == kind and a == attrs]
            if not same:
                count = sum(k == kind for k, _, _ in frames)
                same = [stem if not count else f"{stem}{count + 1}"]
                frames.append((kind, same[0], attrs))
            refs[name] = same[0]
    return frames, refs


def _frames(resource, table) -> dict[str, str]:
    """Add the COOSYS and TIMESYS elements the columns name (:data:`FRAME_KEYS`) to ``resource``; ``{column: ID}``."""
    from astropy.io.votable.tree import CooSys, TimeSys

    frames, refs = frame_ids(table)
    for kind, fid, attrs in frames:
        if kind == "COOSYS":
            resource.coordinate_systems.append(CooSys(ID=fid, **attrs))
        else:
            resource.time_systems.append(TimeSys(ID=fid, config={"version": "1.4", "version_1_4_or_later": True},
                                                 **attrs))
    return refs


#: astropy converter classes whose scalar BINARY2 form is the value itself, big-endian.
_FIXED_CONVERTERS = ("Double", "Float", "Long", "Int", "Short", "UnsignedByte")


def _binary2_parts(vtab):
    """The BINARY2 stream of ``vtab`` as astropy's per-row writer makes it (``astropy.io.votable.tree
    .TableElement._write_binary``, mode 2), but column by column: a list of ``(width, block)`` with
    ``block`` a ``(rows, width)`` uint8 array for fixed-width parts, or ``(None, (blob, lengths))`` for
    variable-length text; None when a field is of a kind left to astropy (arrays, fixed-size or bounded
    text, bit, complex)."""
    from astropy.io.votable import converters as conv

    array = vtab.array
    n = len(array)
    names = array.dtype.names or ()
    masks = np.zeros((n, len(vtab.fields)), dtype=bool)
    parts = []
    for i, field in enumerate(vtab.fields):
        _in_time()
        c = field.converter
        data = array.data[names[i]]
        mask = np.ma.getmaskarray(array)[names[i]] if n else np.zeros(0, bool)
        if data.ndim != 1 or mask.ndim != 1:
            return None
        masks[:, i] = mask
        kind = type(c).__name__
        if kind in _FIXED_CONVERTERS and type(c) is getattr(conv, kind):
            be = np.ascontiguousarray(data.astype(np.dtype(c.format).newbyteorder(">"), copy=False))
            parts.append((be.dtype.itemsize, be.view(np.uint8).reshape(n, be.dtype.itemsize)))
        elif type(c) is conv.Boolean:
            parts.append((1, np.where(data.astype(bool), ord("T"), ord("F")).astype(np.uint8).reshape(n, 1)))
        elif type(c) in (conv.Char, conv.UnicodeChar) and c.arraysize == "*":
            unicode = type(c) is conv.UnicodeChar
            chunks, lengths = [], np.empty(n, dtype=np.int64)
            for j, v in enumerate(data.tolist()):
                if v is None or v == "":
                    b = b""
                elif unicode:
                    b = v.encode("utf_16_be")
                else:
                    b = v.encode("ascii") if isinstance(v, str) else bytes(v)
                chunks.append((len(b) // 2 if unicode else len(b)).to_bytes(4, "big"))
                chunks.append(b)
                lengths[j] = 4 + len(b)
            parts.append((None, (np.frombuffer(b"".join(chunks), dtype=np.uint8), lengths)))
        else:
            return None
    flags = np.packbits(masks, axis=1).reshape(n, -1)  # the row's null flags, first field in the top bit
    return [(flags.shape[1], flags)] + parts


def _binary2_stream(vtab) -> bytes | None:
    """The BINARY2 stream bytes of ``vtab`` (see :func:`_binary2_parts`), or None."""
    parts = _binary2_parts(vtab)
    if parts is None:
        return None
    n = len(vtab.array)
    if all(w is not None for w, _ in parts):
        return np.hstack([block for _, block in parts]).tobytes() if n else b""
    widths = np.stack([np.full(n, w, dtype=np.int64) if w is not None else block[1] for w, block in parts], axis=1)
    starts = np.cumsum(widths, axis=None).reshape(n, -1) - widths  # each cell's offset, row-major
    out = np.empty(int(widths.sum()), dtype=np.uint8)
    for k, (w, block) in enumerate(parts):
        if w is not None:
            out[(starts[:, k, None] + np.arange(w)).ravel()] = block.ravel()
        else:
            blob, lengths = block
            within = np.arange(len(blob)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
            out[np.repeat(starts[:, k], lengths) + within] = blob
    return out.tobytes()


def _use_fast_binary2(vtab) -> None:
    """Make ``vtab.to_xml`` write BINARY2 through :func:`_binary2_stream` (same bytes, no per-row
    Python); astropy's own writer stays for the kinds of field that function leaves to it."""
    import base64
    import types

    original = vtab._write_binary

    def write_binary(self, mode, w, **kwargs):
        stream = _binary2_stream(self) if mode == 2 else None
        if stream is None:
            return original(mode, w, **kwargs)
        with w.tag("BINARY2"):
            with w.tag("STREAM", encoding="base64"):
                w._flush()
                w.write(base64.b64encode(stream).decode("ascii"))

    vtab._write_binary = types.MethodType(write_binary, vtab)


#: astropy converter classes whose TABLEDATA cells :func:`_tabledata_cells` writes (scalars, text of any length).
_TABLEDATA_CONVERTERS = ("Double", "Float", "Long", "Int", "Short", "UnsignedByte", "Boolean", "Char", "UnicodeChar")


def _tabledata_cells(field, data, mask, empty_ok: bool, td: str, td_empty: str) -> list[str] | None:
    """One column's ``<TD>`` elements as astropy's Python TABLEDATA writer writes them (``TableElement
    ._write_tabledata``: each value through ``field.converter.output``, an empty cell where it may be), made
    per column rather than per cell; None for a kind of field it leaves to astropy (arrays, fixed precision)."""
    from astropy.utils.xml.writer import xml_escape_cdata

    _in_time()
    conv = field.converter
    kind = type(conv).__name__
    if kind not in _TABLEDATA_CONVERTERS or data.ndim != 1 or mask.ndim != 1:
        return None
    if kind in ("Double", "Float"):
        if conv.output_format != "{!s:>}":  # a FIELD with width or precision: astropy's own formatting
            return None
        # str() of the value, as "{!s:>}" gives: a Python float's for doubles (the same shortest text as numpy's
        # float64), numpy's for floats (float32's shortest text, not its double's)
        values = data.tolist() if data.dtype == np.float64 else list(data)
        texts = [str(v) for v in values]
        texts = [t[:-2] if t.endswith(".0") else t for t in texts]
        for i in np.flatnonzero(~np.isfinite(data)):
            texts[i] = "NaN" if np.isnan(data[i]) else ("+InF" if data[i] > 0 else "-InF")
    elif kind == "Boolean":
        texts = ["T" if v else "F" for v in data.tolist()]
    elif kind == "Char":
        if data.dtype.kind != "S" or not _is_ascii_bytes(data):
            return None  # astropy warns (E24) for non-ASCII bytes; let it
        texts = [xml_escape_cdata(v.decode("ascii")) for v in data.tolist()]
    elif kind == "UnicodeChar":
        texts = [xml_escape_cdata(str(v)) for v in data.tolist()]
    else:  # integers
        if mask.any() and not empty_ok:
            return None  # a masked integer without empty cells: astropy writes the null value (or warns)
        texts = [str(v) for v in data.tolist()]
    cells = [td.format(t) if t else td_empty for t in texts]
    if empty_ok:
        for i in np.flatnonzero(mask):
            cells[i] = td_empty
    elif mask.any():
        return None
    return cells


def _is_ascii_bytes(data) -> bool:
    return all(b < 128 for v in data.tolist() for b in v)


def _use_fast_tabledata(vtab) -> None:
    """Make ``vtab.to_xml`` write TABLEDATA column by column (:func:`_tabledata_cells`: the same bytes as
    astropy's Python writer, which :mod:`platform_lib.votable` makes astropy use, without its per-cell calls:
    100000 rows of Hipparcos took 40-100 s there on a loaded machine); a table with a kind of field that
    function leaves to astropy is written by astropy's writer whole."""
    import types

    original = vtab._write_tabledata

    def write_tabledata(self, w, **kwargs):
        array = self.array
        if not self.fields:
            return original(w, **kwargs)
        indent = w.get_indentation_spaces(1)  # the rows' indentation, inside TABLEDATA
        td, td_empty = indent + " <TD>{}</TD>\n", indent + " <TD/>\n"
        columns = []
        for i, field in enumerate(self.fields):
            name = array.dtype.names[i]
            cells = _tabledata_cells(field, np.asarray(array.data[name]), np.ma.getmaskarray(array[name]),
                                     field.converter.supports_empty_values(kwargs), td, td_empty)
            if cells is None:
                return original(w, **kwargs)
            columns.append(cells)
        tr_start, tr_end = indent + "<TR>\n", indent + "</TR>\n"
        with w.tag("TABLEDATA"):
            w._flush()
            w.write("".join(tr_start + "".join(row) + tr_end for row in _rows_in_time(zip(*columns))))

    vtab._write_tabledata = types.MethodType(write_tabledata, vtab)


def _fits(table, status: str) -> bytes:
    from astropy.io import fits
    from astropy.table import Column

    t = prepare_table(table)
    for name in t.colnames:
        if t[name].dtype.kind == "U":  # FITS text is bytes: UTF-8, the VOTable's unicodeChar
            t[name] = np.char.encode(np.asarray(t[name].filled("")), "utf-8")
        elif _is_polygons(np.asarray(np.ma.getdata(t[name]))):  # a variable-length array; NULL is empty
            vals = [np.zeros(0) if m else np.asarray(np.ma.getdata(v), np.float64)
                    for v, m in zip(np.ma.getdata(t[name]), np.ma.getmaskarray(t[name]))]
            t[name] = Column(np.array([None] + vals, dtype=object)[1:], name=name, unit=t[name].unit)
    t.meta = {"QSTATUS": status}  # QUERY_STATUS, in 8 characters
    hdu = fits.table_to_hdu(t)
    add_column_cards(hdu.header, t)  # UCDs and descriptions where TOPCAT and STILTS read them
    buf = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(buf)
    return buf.getvalue()


def _delimited(table, sep: str, status: str) -> bytes:
    import csv

    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=sep, lineterminator="\n") if sep == "," else None
    cols = table.colnames
    rows = []
    for c in cols:
        _in_time()
        col = table[c]
        mask = np.ma.getmaskarray(col) if hasattr(col, "mask") else np.zeros(len(col), bool)
        data = np.ma.getdata(col) if hasattr(col, "mask") else np.asarray(col)
        mask = _row_nulls(col)  # an array column (a geometry): one flag a row
        vals = []
        for v, m in zip(data, mask):
            if m or v is None:
                vals.append("")
            elif isinstance(v, np.ndarray):
                vals.append(_dali_text(v))
            elif isinstance(v, bytes):
                vals.append(v.decode("utf-8", "replace"))
            elif isinstance(v, (float, np.floating)):
                vals.append(repr(float(v)) if math.isfinite(v) else ("NaN" if v != v else ("+Inf" if v > 0 else "-Inf")))
            elif isinstance(v, (bool, np.bool_)):
                vals.append("true" if v else "false")
            else:
                vals.append(str(v))
        rows.append(vals)
    body = list(zip(*rows)) if rows else []
    if sep == ",":
        writer.writerow(cols)
        writer.writerows(_rows_in_time(body))
    else:  # TSV: tabs and newlines in values become spaces (the format has no quoting)
        clean = lambda s: s.replace("\t", " ").replace("\n", " ").replace("\r", " ")  # noqa: E731
        buf.write("\t".join(map(clean, cols)) + "\n")
        for r in _rows_in_time(body):
            buf.write("\t".join(map(clean, r)) + "\n")
    text = buf.getvalue()
    return (f"# QUERY_STATUS={status}\n" + text).encode() if status != "OK" else text.encode()


def render_table(table, fmt: str, *, overflow: bool = False, infos: list[tuple[str, str, str]] = (),
                 meta: dict | None = None, deadline: float | None = None) -> bytes:
    """The table as ``fmt`` (a :data:`CONTENT_TYPES` key); overflow flagged as the format allows.

    ``infos`` are extra ``(name, value, text)`` INFO elements of a VOTable answer; ``meta`` is a JSON
    answer's ``"meta"`` object (values other than numbers and strings written as strings). ``deadline``
    (:func:`time.monotonic` seconds): past it, writing stops with :class:`TimeoutError` (checked between
    columns and every few thousand rows; astropy's own writing of a kind of field left to it runs whole).

    Examples
    --------
    >>> from astropy.table import Table, MaskedColumn
    >>> t = Table({"n": MaskedColumn([1, 2], mask=[False, True])})
    >>> b"<TD/>" in render_table(t, "votable")
    True
    """
    before = getattr(_DEADLINE, "at", None)
    _DEADLINE.at = deadline
    try:
        _in_time()
        return _render(table, fmt, "OVERFLOW" if overflow else "OK", infos, meta)
    finally:
        _DEADLINE.at = before


def _render(table, fmt: str, status: str, infos, meta: dict | None) -> bytes:
    if fmt == "votable":
        return _votable(table, status, infos, "tabledata")
    if fmt == "votable-b2":
        return _votable(table, status, infos, "binary2")
    if fmt == "fits":
        return _fits(table, status)
    if fmt in ("csv", "tsv"):
        return _delimited(table, "," if fmt == "csv" else "\t", status)
    if fmt == "json":
        cols = table.colnames
        rows = []
        nulls = {c: _row_nulls(table[c]) for c in cols}
        for i, row in enumerate(_rows_in_time(table)):
            out = []
            for c in cols:
                v = row[c]
                if nulls[c][i] or np.ma.is_masked(v):
                    out.append(None)
                elif isinstance(v, np.ndarray):  # a geometry (DALI point, circle, polygon): its numbers
                    out.append([float(x) for x in np.ravel(v)])
                elif isinstance(v, (np.floating, float)):
                    out.append(float(v) if math.isfinite(float(v)) else None)
                elif isinstance(v, (np.bool_, bool)):
                    out.append(bool(v))
                elif isinstance(v, (np.integer, int)):
                    out.append(int(v))
                elif isinstance(v, bytes):
                    out.append(v.decode("utf-8", "replace"))
                else:
                    out.append(str(v))
            rows.append(out)
        columns = [{"name": c, "unit": str(table[c].unit) if table[c].unit else None,
                    "ucd": table[c].meta.get("ucd"), **({"xtype": table[c].meta["xtype"]}
                                                        if table[c].meta.get("xtype") else {})} for c in cols]
        doc = {"query_status": status, "columns": columns, "data": rows}
        if meta is not None:
            doc["meta"] = {k: (v if isinstance(v, (int, float, str)) else str(v)) for k, v in meta.items()}
        return json.dumps(doc).encode()
    if fmt == "ipac":
        from astropy.table import MaskedColumn

        buf = io.StringIO()
        t = table.copy(copy_data=True)
        for c in t.colnames:  # IPAC cells are scalars: a geometry as its DALI text
            col = t[c]
            if col.ndim > 1 or _is_polygons(np.asarray(np.ma.getdata(col))):
                t[c] = MaskedColumn([_dali_text(v) for v in np.ma.getdata(col)] or np.array([], dtype="U1"),
                                    name=c, mask=_row_nulls(col), unit=col.unit, meta=dict(col.meta))
        t.meta["comments"] = [f"QUERY_STATUS={status}"]
        t.write(buf, format="ascii.ipac")
        return buf.getvalue().encode()
    raise ValueError(f"unknown format {fmt!r}")


def error_json(message: str) -> bytes:
    """The JSON error document of a request that asked for JSON: ``{"query_status": "ERROR", "message": ...}``
    (``message`` as in :func:`error_votable`, ``UsageFault: ...``), the keys of a JSON answer's status.

    >>> error_json("UsageFault: tolerance=-1 must be positive")
    b'{"query_status": "ERROR", "message": "UsageFault: tolerance=-1 must be positive"}'
    """
    return json.dumps({"query_status": "ERROR", "message": message}).encode()


def error_votable(message: str, *, status: str = "ERROR", legacy_scs: bool = False) -> bytes:
    """A VOTable error document: ``QUERY_STATUS=ERROR`` with ``message`` (``UsageFault: ...``).

    Written by astropy's VOTable writer (an empty results RESOURCE with its INFOs).
    """
    from astropy.io.votable.tree import Info, Resource, VOTableFile

    vot = VOTableFile(version="1.4")
    resource = Resource(type="results")
    info = Info(name="QUERY_STATUS", value=status)
    info.content = message
    resource.infos.append(info)
    if legacy_scs:  # SCS 1.03: an INFO (or PARAM) named Error
        resource.infos.append(Info(name="Error", value=message))
    vot.resources.append(resource)
    buf = io.BytesIO()
    vot.to_xml(buf)
    return buf.getvalue()
