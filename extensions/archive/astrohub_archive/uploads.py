"""TAP_UPLOAD: tables sent inline with a query (``UPLOAD=name,param:part`` plus a multipart part, as pyvo
and STILTS send them), read as VOTables into Arrow tables queryable as ``TAP_UPLOAD.name``.

Bounded: :data:`MAX_UPLOADS` tables, :data:`MAX_UPLOAD_BYTES` each, :data:`MAX_UPLOAD_ROWS` rows.
Uploads by URL (``UPLOAD=name,http://...``) are fetched by :func:`fetch_url` without the caller's
credentials, with the same size bound and a timeout. Pure apart from parsing bytes; imports astropy and pyarrow.
"""

from __future__ import annotations

import io
import re
import warnings

from astrohub_archive.faults import LimitFault, UsageFault
from astrohub_archive.tapschema import ColumnDesc, TableDesc, _votable_type

__all__ = ["parse_upload_param", "read_uploads", "fetch_url", "is_url", "MAX_UPLOADS", "MAX_UPLOAD_BYTES", "MAX_UPLOAD_ROWS"]

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
                vtable = parse_single_table(io.BytesIO(body), verify="ignore")
                xtypes = {f.name: f.xtype for f in vtable.fields if f.xtype}
                table = vtable.to_table(use_names_over_ids=True)
        except Exception as exc:
            raise UsageFault(f"upload {name!r} is not a readable VOTable: {str(exc).splitlines()[0][:200]}") from None
        if len(table) > MAX_UPLOAD_ROWS:
            raise LimitFault(f"upload {name!r} has {len(table)} rows; this service takes at most {MAX_UPLOAD_ROWS}")
        arrow = table_to_arrow(table)
        cols = []
        seen = set()
        for f in arrow.schema:
            if f.name.lower() in seen:
                raise UsageFault(f"upload {name!r} has two columns named {f.name!r}")
            seen.add(f.name.lower())
            datatype, arraysize, xtype = _votable_type(f.type)
            src = table[f.name]
            cols.append(ColumnDesc(f.name, datatype, arraysize, unit=str(src.unit) if src.unit else "",
                                   ucd=src.meta.get("ucd", "") if hasattr(src, "meta") else "",
                                   description=src.description or "", xtype=xtypes.get(f.name, xtype)))
        key = name.lower()
        descs[key] = TableDesc(f"TAP_UPLOAD.{name}", "TAP_UPLOAD", tuple(cols), "upload", f"Upload {name}")
        data[key] = arrow
    return descs, data


def is_url(ref: str) -> bool:
    return ref.startswith("http://") or ref.startswith("https://")


def fetch_url(name: str, url: str, timeout: float = 20.0) -> bytes:
    """The table at ``url`` (http or https, no credentials), at most :data:`MAX_UPLOAD_BYTES`."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"User-Agent": "astrohub-archive"}),
                                    timeout=timeout) as resp:
            body = resp.read(MAX_UPLOAD_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise UsageFault(f"upload {name!r}: cannot read {url[:200]!r}: {exc}") from None
    if len(body) > MAX_UPLOAD_BYTES:
        raise LimitFault(f"upload {name!r} at {url[:200]!r} is larger than {MAX_UPLOAD_BYTES} bytes")
    return body
