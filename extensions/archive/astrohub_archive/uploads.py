"""TAP_UPLOAD: tables sent inline with a query (``UPLOAD=name,param:part`` plus a multipart part, as pyvo
and STILTS send them), read as VOTables into Arrow tables queryable as ``TAP_UPLOAD.name``.

Bounded: :data:`MAX_UPLOADS` tables, :data:`MAX_UPLOAD_BYTES` each, :data:`MAX_UPLOAD_ROWS` rows.
Uploads by URL (``UPLOAD=name,http://...``) are fetched by :func:`fetch_url` without the caller's
credentials, from public addresses only, or from the networks the operator allows (``--upload-from``: an
observatory's closed network, where every host is private; :func:`check_public`), with the same size
bound and a timeout.
Numeric TABLEDATA uploads are read column by column (:func:`_numeric_tabledata`), the rest by astropy. A text
column the upload declares ``unicodeChar`` is described so (and answered so when selected as it is, ASCII or not).
Pure apart from parsing bytes and fetching URLs; imports numpy, astropy and pyarrow.
"""

from __future__ import annotations

import io
import re
import warnings

import numpy as np

from astrohub_archive.faults import LimitFault, UsageFault
from astrohub_archive.tapschema import ColumnDesc, TableDesc, votable_type, vounit
from astrohub_archive.timestamps import text_as_times

__all__ = ["parse_upload_param", "read_uploads", "fetch_url", "check_public", "parse_networks", "is_url", "MAX_UPLOADS",
           "MAX_UPLOAD_BYTES", "MAX_UPLOAD_ROWS"]

MAX_UPLOADS = 4
MAX_UPLOAD_BYTES = 32 * 2**20
MAX_UPLOAD_ROWS = 1_000_000
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}\Z")


def parse_upload_param(value: str) -> list[tuple[str, str]]:
    """``UPLOAD=a,param:x;b,param:y`` as ``[(table name, part name)]``."""
    out = []
    for item in value.split(";"):
        item = item.strip()
        if not item:
            continue
        name, sep, ref = item.partition(",")
        name, ref = name.strip(), ref.strip()
        if not sep or not _NAME.match(name):
            raise UsageFault(f"UPLOAD={value!r}: each upload is 'name,param:part' with a name of letters, digits "
                             "and _ starting with a letter")
        if ref.startswith("param:"):
            out.append((name, ref[len("param:"):]))
        elif re.match(r"https?://[^\s]+\Z", ref):
            out.append((name, ref))
        else:
            raise UsageFault(f"UPLOAD of {name!r} from {ref[:80]!r}: give 'param:<part>' (a multipart part) or an "
                             "http(s) URL")
    if len(out) > MAX_UPLOADS:
        raise LimitFault(f"{len(out)} uploads in one query; this service takes at most {MAX_UPLOADS}")
    names = [n.lower() for n, _ in out]
    if len(set(names)) != len(names):
        raise UsageFault("two uploads have the same table name")
    return out


def read_uploads(blobs: dict[str, bytes]) -> tuple[dict[str, TableDesc], dict]:
    """Parse uploaded VOTables: ``({name: TableDesc}, {name: pyarrow Table})``, names lower-case."""
    from astropy.io.votable import parse_single_table

    from astrohub_archive.engine import table_to_arrow

    descs, data = {}, {}
    for name, body in blobs.items():
        if len(body) > MAX_UPLOAD_BYTES:
            raise LimitFault(f"upload {name!r} is {len(body)} bytes; this service takes at most {MAX_UPLOAD_BYTES}")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                vtable, table = _numeric_tabledata(body)
                if table is None:
                    vtable = parse_single_table(io.BytesIO(body), verify="ignore")
                    table = vtable.to_table(use_names_over_ids=True)
                xtypes = {f.name: f.xtype for f in vtable.fields if f.xtype}
                unicode = {f.name for f in vtable.fields if f.datatype == "unicodeChar"}
                _empty_text_as_null(table, [f.name for f in vtable.fields if f.datatype in ("char", "unicodeChar")])
        except Exception as exc:
            raise UsageFault(f"upload {name!r} is not a readable VOTable: {str(exc).splitlines()[0][:200]}") from None
        if len(table) > MAX_UPLOAD_ROWS:
            raise LimitFault(f"upload {name!r} has {len(table)} rows; this service takes at most {MAX_UPLOAD_ROWS}")
        arrow = text_as_times(table_to_arrow(table), [n for n, x in xtypes.items() if x == "timestamp"],
                              f"upload {name!r}")
        cols = []
        seen = set()
        for f in arrow.schema:
            if f.name.lower() in seen:
                raise UsageFault(f"upload {name!r} has two columns named {f.name!r}")
            seen.add(f.name.lower())
            datatype, arraysize, xtype = votable_type(f.type)
            if datatype == "char" and f.name in unicode and not xtypes.get(f.name):
                datatype = "unicodeChar"  # as the upload declared it (TAP 1.1 3.2: the FIELD's datatype is the table's)
            src = table[f.name]
            cols.append(ColumnDesc(f.name, datatype, arraysize, unit=vounit(src.unit),
                                   ucd=src.meta.get("ucd", "") if hasattr(src, "meta") else "",
                                   description=src.description or "", xtype=xtypes.get(f.name, xtype)))
        key = name.lower()
        descs[key] = TableDesc(f"TAP_UPLOAD.{name}", "TAP_UPLOAD", tuple(cols), "upload", f"Upload {name}")
        data[key] = arrow
    return descs, data


def _empty_text_as_null(table, names: list[str]) -> None:
    """Mask, in place, the empty cells of text columns ``names``: an upload's NULL text is an empty cell
    (TABLEDATA's ``<TD/>``, which astropy reads as ``""``, as it reads BINARY2 text ignoring the null flag),
    and DaCHS's and STIL's VOTable readers read an empty text cell as NULL, so ``u.name IS NULL`` holds."""
    from astropy.table import MaskedColumn

    for name in names:
        col = table[name] if name in table.colnames else None
        if col is None or col.ndim != 1:
            continue
        data = np.ma.getdata(col)
        if data.dtype.kind not in "OUS":
            continue
        empty = np.asarray(data == (b"" if data.dtype.kind == "S" else ""), dtype=bool)  # astropy's text: str
        if empty.any():
            table[name] = MaskedColumn(data, name=name, mask=np.ma.getmaskarray(col) | empty, unit=col.unit,
                                       description=col.description, meta=dict(col.meta))


#: VOTable datatypes :func:`_numeric_tabledata` reads, as numpy types.
_NUMERIC = {"double": np.float64, "float": np.float32, "long": np.int64, "int": np.int32, "short": np.int16,
            "unsignedByte": np.uint8}
_TABLE_TAG = re.compile(rb"<(?:\w+:)?TABLE[\s>/]")
_CELL = re.compile(rb"<TD>\s*([^<&]*?)\s*</TD>|<TD/>")
_EMPTY_CELL = re.compile(rb"<TD>\s*</TD>")


def _cells(data: bytes, n: int) -> list[bytes]:
    """The cells' texts of TABLEDATA ``data`` (already checked to be rows of ``n`` plain cells), in order.

    Where no cell is empty, the tags are replaced by spaces and the text split on white space: the
    cells, if there are exactly ``n`` per row (so no cell holds a space); a few passes of bytes
    methods, not a regular expression (26 against 3 ms for 10^4 rows of 3 cells). Else cell by cell.
    """
    if b"<TD/>" not in data and not _EMPTY_CELL.search(data):
        words = data.replace(b"<TR>", b" ").replace(b"</TR>", b" ").replace(b"<TD>", b" ").replace(b"</TD>", b" ")
        words = words.split()
        if len(words) == n * data.count(b"<TR>"):
            return words
    return _CELL.findall(data)


def _numeric_tabledata(body: bytes):
    """``(astropy's VOTable header, table)``: the upload read column by column (numpy conversions, no
    per-row Python) when it is one TABLEDATA table of scalar numbers in plain ``<TR><TD>`` markup with no
    null values declared; ``(None, None)`` otherwise (text, booleans, arrays, entities, attributes,
    BINARY...), and astropy's reader takes it. Gives what ``parse_single_table(...).to_table(
    use_names_over_ids=True)`` gives: metadata from astropy's reading of the header; empty cells, and
    NaN in floating-point columns, masked."""
    from astropy.io.votable import parse_single_table
    from astropy.table import MaskedColumn, Table

    start = body.find(b"<TABLEDATA>") + len(b"<TABLEDATA>")
    end = body.find(b"</TABLEDATA>", start)
    if start < len(b"<TABLEDATA>") or end < 0 or body.count(b"<TABLEDATA") != 1:
        return None, None
    head = body[:start] + body[end:]
    if len(_TABLE_TAG.findall(head)) != 1:
        return None, None
    vtable = parse_single_table(io.BytesIO(head), verify="ignore")
    fields = vtable.fields
    for f in fields:
        if (f.datatype not in _NUMERIC or f.arraysize not in (None, "1") or f.values.null is not None
                or f.ref is not None):
            return None, None
    n = len(fields)
    data = body[start:end]
    rows = rb"\s*+(?:<TR>(?:\s*+(?:<TD>[^<&]*+</TD>|<TD/>)){%d}\s*+</TR>\s*+)*+" % n
    if not n or not re.fullmatch(rows, data):
        return None, None
    cells = _cells(data, n)
    header = vtable.to_table(use_names_over_ids=True)
    out = Table(meta=dict(header.meta))
    for i, (f, name) in enumerate(zip(fields, header.colnames)):
        texts = np.array(cells[i::n], dtype=bytes)
        empty = texts == b""
        kind = _NUMERIC[f.datatype]
        try:
            if np.issubdtype(kind, np.floating):
                values = np.where(empty, b"nan", texts).astype(kind)
                mask = np.isnan(values)
            else:
                wide = np.where(empty, b"0", texts).astype(np.int64)
                info = np.iinfo(kind)
                if len(wide) and (wide.min() < info.min or wide.max() > info.max):
                    return None, None
                values, mask = wide.astype(kind), empty
        except (ValueError, OverflowError):
            return None, None
        src = header[name]
        out.add_column(MaskedColumn(values, name=name, mask=mask, unit=src.unit, description=src.description,
                                    format=src.format, meta=dict(src.meta)))
    return vtable, out


def is_url(ref: str) -> bool:
    return ref.startswith("http://") or ref.startswith("https://")


def parse_networks(values: list[str]) -> tuple:
    """``--upload-from`` values (addresses or networks, ``10.1.0.0/16``) as ``ipaddress`` networks; a bad one
    raises ``ValueError`` naming it.

    >>> parse_networks(["10.1.0.0/16", "192.0.2.7"])
    (IPv4Network('10.1.0.0/16'), IPv4Network('192.0.2.7/32'))
    """
    import ipaddress

    out = []
    for value in (v.strip() for v in values):
        if value:
            try:
                out.append(ipaddress.ip_network(value, strict=False))
            except ValueError:
                raise ValueError(f"--upload-from {value!r}: give an address or a network, e.g. 10.1.0.0/16") from None
    return tuple(out)


def check_public(name: str, url: str, allowed: tuple = ()) -> None:
    """Refuse ``url`` unless every address its host resolves to is public (``ipaddress``'s ``is_global``)
    or inside one of the ``allowed`` networks (the operator's ``--upload-from``).

    The archive fetches an upload with its own network position: a URL on loopback, a private network
    or a link-local address (a cloud's metadata service, 169.254.169.254) would let a caller make the
    archive request the platform's internal services (the hub, other users' servers, Dask dashboards).
    An observatory's own VO servers on its closed network are allowed by naming their network.
    """
    import ipaddress
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname or "", port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError) as exc:
        raise UsageFault(f"upload {name!r}: cannot read {url[:200]!r}: {exc}") from None
    for *_, address in infos:
        ip = ipaddress.ip_address(address[0].split("%", 1)[0])
        if not ip.is_global and not any(ip in net for net in allowed):
            raise UsageFault(f"upload {name!r}: {url[:200]!r} is on {ip}, which is not a public address; the archive "
                             "fetches uploads only from public hosts and the networks its operator allows "
                             f"(--upload-from): send the table itself (UPLOAD={name},param:<part> with a multipart "
                             "part, as pyvo and STILTS do)")


def fetch_url(name: str, url: str, timeout: float = 20.0, allowed: tuple = ()) -> bytes:
    """The table at ``url`` (http or https, no credentials, public hosts or the ``allowed`` networks only:
    :func:`check_public`, on each redirect too), at most :data:`MAX_UPLOAD_BYTES`."""
    import urllib.error
    import urllib.request

    class _Redirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req, fp, code, msg, headers, newurl):
            if not is_url(newurl):
                raise UsageFault(f"upload {name!r}: {url[:200]!r} redirects to {newurl[:200]!r}, not an http(s) URL")
            check_public(name, newurl, allowed)
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    check_public(name, url, allowed)
    opener = urllib.request.build_opener(_Redirects)
    try:
        with opener.open(urllib.request.Request(url, headers={"User-Agent": "astrohub-archive"}),
                         timeout=timeout) as resp:
            body = resp.read(MAX_UPLOAD_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise UsageFault(f"upload {name!r}: cannot read {url[:200]!r}: {exc}") from None
    if len(body) > MAX_UPLOAD_BYTES:
        raise LimitFault(f"upload {name!r} at {url[:200]!r} is larger than {MAX_UPLOAD_BYTES} bytes")
    return body
