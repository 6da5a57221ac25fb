"""What TAP can query: the table set (``ivoa.obscore``, ``TAP_SCHEMA`` and every registered catalogue) and its metadata.

:func:`table_set` builds a :class:`TableSet` from the catalogue dictionary
(:class:`platform_lib.catalogs.Registry`: descriptions, units, UCDs) and the Parquet schemas of the
HATS catalogues (datatypes, so that declared types match what queries return); it is rebuilt when
the registry file changes, so a catalogue ingested while the service runs is queryable at once.
:meth:`TableSet.tap_schema_rows` generates the ``TAP_SCHEMA`` tables from the same descriptions. Units
are written in VOUnit (:func:`vounit`: ``mas.yr**-1``, not astropy's generic ``mas / yr``), as TAP 1.1
asks of ``TAP_SCHEMA.columns.unit`` and VODataService of a table's ``<unit>``.
Pure apart from reading the registry and Parquet footers; no Tornado, no DuckDB.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from platform_lib.imageindex.obscore import OBSCORE_FIELDS, OBSCORE_FRAMES, OBSCORE_XTYPES

log = logging.getLogger("astrohub_archive")

__all__ = ["ColumnDesc", "TableDesc", "TableSet", "table_set", "adql_identifier", "ADQL_RESERVED", "TAP_SCHEMA_KEYS",
           "votable_type", "vounit"]

#: Words an ADQL regular identifier may not be (ADQL 2.1 section 2.1.3, SQL and ADQL reserved words).
ADQL_RESERVED = frozenset("""
ABS ACOS AREA ASIN ATAN ATAN2 BIT_AND BIT_NOT BIT_OR BIT_XOR BOX CEILING CENTROID CIRCLE CONTAINS COORD1 COORD2
COORDSYS COS COT DEGREES DISTANCE EXP FLOOR ILIKE INTERSECTS IN_UNIT LOG LOG10 MOD PI POINT POLYGON POWER RADIANS
REGION RAND ROUND SIN SQRT TAN TOP TRUNCATE
ABSOLUTE ACTION ADD ALL ALLOCATE ALTER AND ANY ARE AS ASC ASSERTION AT AUTHORIZATION AVG BEGIN BETWEEN BIT
BIT_LENGTH BOTH BY CASCADE CASCADED CASE CAST CATALOG CHAR CHARACTER CHAR_LENGTH CHARACTER_LENGTH CHECK CLOSE
COALESCE COLLATE COLLATION COLUMN COMMIT CONNECT CONNECTION CONSTRAINT CONSTRAINTS CONTINUE CONVERT CORRESPONDING
COUNT CREATE CROSS CURRENT CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER CURSOR DATE DAY DEALLOCATE DEC
DECIMAL DECLARE DEFAULT DEFERRABLE DEFERRED DELETE DESC DESCRIBE DESCRIPTOR DIAGNOSTICS DISCONNECT DISTINCT DOMAIN
DOUBLE DROP ELSE END END-EXEC ESCAPE EXCEPT EXCEPTION EXEC EXECUTE EXISTS EXTERNAL EXTRACT FALSE FETCH FIRST FLOAT
FOR FOREIGN FOUND FROM FULL GET GLOBAL GO GOTO GRANT GROUP HAVING HOUR IDENTITY IMMEDIATE IN INDICATOR INITIALLY
INNER INPUT INSENSITIVE INSERT INT INTEGER INTERSECT INTERVAL INTO IS ISOLATION JOIN KEY LANGUAGE LAST LEADING LEFT
LEVEL LIKE LOCAL LOWER MATCH MAX MIN MINUTE MODULE MONTH NAMES NATIONAL NATURAL NCHAR NEXT NO NOT NULL NULLIF
NUMERIC OCTET_LENGTH OF OFFSET ON ONLY OPEN OPTION OR ORDER OUTER OUTPUT OVERLAPS PAD PARTIAL POSITION PRECISION
PREPARE PRESERVE PRIMARY PRIOR PRIVILEGES PROCEDURE PUBLIC READ REAL REFERENCES RELATIVE RESTRICT REVOKE RIGHT
ROLLBACK ROWS SCHEMA SCROLL SECOND SECTION SELECT SESSION SESSION_USER SET SIZE SMALLINT SOME SPACE SQL SQLCODE
SQLERROR SQLSTATE SUBSTRING SUM SYSTEM_USER TABLE TEMPORARY THEN TIME TIMESTAMP TIMEZONE_HOUR TIMEZONE_MINUTE TO
TRAILING TRANSACTION TRANSLATE TRANSLATION TRIM TRUE UNION UNIQUE UNKNOWN UPDATE UPPER USAGE USER USING VALUE
VALUES VARCHAR VARYING VIEW WHEN WHENEVER WHERE WITH WORK WRITE YEAR ZONE
""".split())
_REGULAR = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
#: HATS bookkeeping columns, not part of a catalogue's TAP table.
_HIDDEN = {"_healpix_29", "Norder", "Dir", "Npix"}


def adql_identifier(name: str) -> str:
    """``name`` as ADQL must write it: as is when a regular identifier, else delimited (``"size"``)."""
    if _REGULAR.match(name) and name.upper() not in ADQL_RESERVED:
        return name
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class ColumnDesc:
    """One column as TAP_SCHEMA and VOSI describe it (``name`` is the stored, undelimited name)."""

    name: str
    datatype: str
    arraysize: str | None = None
    unit: str = ""
    ucd: str = ""
    utype: str = ""
    description: str = ""
    xtype: str | None = None
    principal: int = 0
    indexed: int = 0
    std: int = 0
    #: The frame a result's FIELD refers to, as a column's meta names it for :mod:`astrohub_archive.writers`:
    #: ``("coosys", "ICRS")`` or ``("timesys", ((attribute, value), ...))``; empty for none.
    frame: tuple = ()

    @property
    def adql_name(self) -> str:
        return adql_identifier(self.name)


@dataclass(frozen=True)
class TableDesc:
    """One queryable table: its ADQL name (``schema.table``), columns, and where its rows come from.

    ``kind`` is ``catalog`` (rows in ``files``, HATS Parquet, positions in ``ra_column``/``dec_column``),
    ``obscore`` (the image index, filtered for the caller), ``tap_schema`` or ``upload``.
    """

    name: str
    schema: str
    columns: tuple[ColumnDesc, ...]
    kind: str
    description: str = ""
    utype: str = ""
    registry_name: str | None = None
    hats_path: Path | None = None
    data_path: Path | None = None
    ra_column: str | None = None
    dec_column: str | None = None
    nrows: int | None = None
    schema_description: str = ""  # a catalogue's title, for TAP_SCHEMA.schemas and VOSI

    @property
    def short_name(self) -> str:
        return self.name.split(".", 1)[1]

    def column(self, name: str) -> ColumnDesc | None:
        low = name.lower()
        for c in self.columns:
            if c.name.lower() == low:
                return c
        return None


def _frame(frame) -> tuple:
    """A ``(key, frame)`` of :data:`~platform_lib.imageindex.obscore.OBSCORE_FRAMES` as :attr:`ColumnDesc.frame`."""
    if frame is None:
        return ()
    key, value = frame
    return key, value if isinstance(value, str) else tuple(sorted(value.items()))


_OBSCORE_TYPES = {"f": ("double", None), "i": ("long", None), "s": ("char", "*")}
_OBSCORE_INDEXED = {"obs_id", "obs_collection", "t_min", "s_ra", "s_dec", "s_region"}
_OBSCORE_DESCRIPTIONS = {
    "obs_id": "Observation identifier (the image's path in the archive without its extension)",
    "s_ra": "Right ascension of the image centre (ICRS)", "s_dec": "Declination of the image centre (ICRS)",
    "s_region": "Footprint on the sky (a polygon or circle in DALI/STC-S form)",
    "access_url": "Where to download the file", "obs_release_date": "When the data become public (UTC)",
}

OBSCORE_TABLE = TableDesc(
    "ivoa.obscore", "ivoa",
    tuple(ColumnDesc(name, *_OBSCORE_TYPES[kind], unit=unit or "", ucd=ucd or "", utype=utype or "",
                     description=_OBSCORE_DESCRIPTIONS.get(name, ""),
                     xtype=OBSCORE_XTYPES.get(name), principal=1,
                     indexed=int(name in _OBSCORE_INDEXED), std=1, frame=_frame(OBSCORE_FRAMES.get(name)))
          for name, kind, unit, ucd, utype in OBSCORE_FIELDS),
    "obscore", "The archive's images (ObsCore 1.1); proprietary rows only for their owners",
    "ivo://ivoa.net/std/obscore#table-1.1",
)


def _ts(name, cols, description):
    return TableDesc(f"TAP_SCHEMA.{name}", "TAP_SCHEMA",
                     tuple(ColumnDesc(c, t, "*" if t == "char" else None, description=d, principal=1, std=1)
                           for c, t, d in cols), "tap_schema", description)


_C, _I = "char", "int"
TAP_SCHEMA_TABLES = (
    _ts("schemas", [("schema_name", _C, "schema name"), ("utype", _C, "schema utype"),
                    ("description", _C, "schema description"), ("schema_index", _I, "recommended sort order")],
        "The schemas of this service"),
    _ts("tables", [("schema_name", _C, "the schema"), ("table_name", _C, "the fully qualified table name"),
                   ("table_type", _C, "table or view"), ("utype", _C, "table utype"),
                   ("description", _C, "table description"), ("table_index", _I, "recommended sort order")],
        "The tables of this service"),
    _ts("columns", [("table_name", _C, "the table"), ("column_name", _C, "the column name"),
                    ("datatype", _C, "VOTable datatype"), ("arraysize", _C, "VOTable arraysize"),
                    ("xtype", _C, "VOTable xtype"), ("size", _I, "length of variable length datatypes"),
                    ("description", _C, "column description"), ("utype", _C, "column utype"),
                    ("unit", _C, "column unit (VOUnit)"), ("ucd", _C, "column UCD"),
                    ("indexed", _I, "1 when the column is indexed"), ("principal", _I, "1 for principal columns"),
                    ("std", _I, "1 when defined by a standard"), ("column_index", _I, "recommended sort order")],
        "The columns of this service's tables"),
    _ts("keys", [("key_id", _C, "key identifier"), ("from_table", _C, "the table with the foreign key"),
                 ("target_table", _C, "the table with the primary key"), ("description", _C, "key description"),
                 ("utype", _C, "key utype")], "Foreign keys between tables"),
    _ts("key_columns", [("key_id", _C, "key identifier"), ("from_column", _C, "column in from_table"),
                        ("target_column", _C, "column in target_table")], "The columns of the foreign keys"),
)

#: The foreign keys between the TAP_SCHEMA tables: (key_id, from table, target table, from column, target column).
TAP_SCHEMA_KEYS = (
    ("schemas_tables", "tables", "schemas", "schema_name", "schema_name"),
    ("tables_columns", "columns", "tables", "table_name", "table_name"),
    ("tables_keys_from", "keys", "tables", "from_table", "table_name"),
    ("tables_keys_target", "keys", "tables", "target_table", "table_name"),
    ("keys_key_columns", "key_columns", "keys", "key_id", "key_id"),
)

_ARROW_TYPES = {
    "int8": "short", "int16": "short", "int32": "int", "int64": "long", "uint8": "unsignedByte",
    "uint16": "int", "uint32": "long", "uint64": "long", "float": "float", "halffloat": "float",
    "double": "double", "bool": "boolean",
}


def votable_type(arrow_type) -> tuple[str, str | None, str | None]:
    """The VOTable ``(datatype, arraysize, xtype)`` of a column of Arrow type ``arrow_type`` (also used for
    the tables users upload, :mod:`astrohub_archive.uploads`)."""
    text = str(arrow_type)
    if text in _ARROW_TYPES:
        return _ARROW_TYPES[text], None, None
    if text.startswith("timestamp") or text.startswith("date"):
        return "char", "*", "timestamp"
    if text.startswith("decimal"):  # answered as double (engine.arrow_to_table): declared so
        return "double", None, None
    return "char", "*", None


def _sanitize(name: str) -> str:
    text = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_") or "t"
    if not text[0].isalpha():
        text = "t_" + text
    return text


@dataclass
class TableSet:
    """The tables of one service state: ``tables`` keyed by lower-case ADQL name."""

    tables: dict[str, TableDesc] = field(default_factory=dict)

    def get(self, name: str) -> TableDesc | None:
        return self.tables.get(name.lower())

    def names(self) -> list[str]:
        return [t.name for t in self.tables.values()]

    def schemas(self) -> list[tuple[str, str]]:
        out: dict[str, str] = {}
        for t in self.tables.values():
            if t.kind == "upload":
                continue
            if t.schema not in out:
                out[t.schema] = t.schema_description or {
                    "ivoa": "IVOA data models: the ObsCore table of the image archive",
                    "TAP_SCHEMA": "This service's metadata"}.get(t.schema, f"Catalogue {t.schema}")
        return list(out.items())

    def tap_schema_rows(self) -> dict[str, list[tuple]]:
        """The rows of the five TAP_SCHEMA tables, in their column order."""
        rows: dict[str, list[tuple]] = {"schemas": [], "tables": [], "columns": [], "keys": [], "key_columns": []}
        for i, (schema, description) in enumerate(self.schemas()):
            rows["schemas"].append((schema, None, description, i))
        for key_id, frm, target, fcol, tcol in TAP_SCHEMA_KEYS:
            rows["keys"].append((key_id, f"TAP_SCHEMA.{frm}", f"TAP_SCHEMA.{target}",
                                 f"TAP_SCHEMA.{frm}.{fcol} refers to TAP_SCHEMA.{target}.{tcol}", None))
            rows["key_columns"].append((key_id, fcol, tcol))
        visible = [t for t in self.tables.values() if t.kind != "upload"]
        for ti, t in enumerate(visible):
            rows["tables"].append((t.schema, t.name, "table", t.utype or None, t.description or None, ti))
            for ci, c in enumerate(t.columns):
                rows["columns"].append((t.name, c.adql_name, c.datatype, c.arraysize, c.xtype, None,
                                        c.description or None, c.utype or None, c.unit or None, c.ucd or None,
                                        c.indexed, c.principal, c.std, ci))
        return rows


def vounit(unit) -> str:
    """``unit`` (a string in any format astropy reads, or a unit) written in the IVOA's VOUnit syntax.

    The catalogue dictionary keeps what ingest wrote (astropy's generic format, ``mas / yr``), which
    VOUnit parsers refuse (blanks). A string astropy cannot read is returned as it is: a catalogue's
    own unit, passed on rather than lost. Deprecation notes (``erg`` in VOUnit) are not the reader's.

    Examples
    --------
    >>> vounit("mas / yr"), vounit("deg"), vounit("erg / (cm2 s)"), vounit("e-/s"), vounit("")
    ('mas.yr**-1', 'deg', 'erg.s**-1.cm**-2', 'e-/s', '')
    """
    import warnings

    import astropy.units as u

    if unit is None or (isinstance(unit, str) and not unit.strip()):
        return ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", u.UnitsWarning)
        try:
            parsed = unit if isinstance(unit, u.UnitBase) else u.Unit(unit, parse_strict="silent")
            if isinstance(parsed, u.UnrecognizedUnit):
                return str(unit)
            return parsed.to_string("vounit")
        except (ValueError, TypeError):
            return str(unit)


def _catalog_tables(registry) -> list[TableDesc]:
    import pyarrow.parquet as pq

    from platform_lib.catalogs import read_layout

    out = []
    used: set[str] = set()
    titles = {c.name: c.title for c in registry.catalogs()}
    for full in registry.tables():
        try:
            info = registry.get(full)
        except Exception:  # a table removed between the listing and the lookup
            continue
        schema_file = None
        if info.hats_path is not None:
            try:  # a catalogue, or a HATS collection of the catalogue and its margin cache
                root = Path(read_layout(info.hats_path).root)
            except Exception:  # not readable as HATS: not offered as a table
                continue
            for cand in (root / "dataset" / "_common_metadata", root / "dataset" / "_metadata"):
                if cand.exists():
                    schema_file = cand
                    break
            if schema_file is None:
                files = sorted((root / "dataset").rglob("*.parquet"))
                schema_file = files[0] if files else None
        elif info.data_path is not None:
            schema_file = Path(info.data_path)
        if schema_file is None:
            continue
        try:
            arrow_schema = pq.read_schema(schema_file)
        except Exception:
            continue
        described = {c.name: c for c in info.columns}
        columns = []
        for f in arrow_schema:
            if f.name in _HIDDEN or f.name.startswith("__"):
                continue
            datatype, arraysize, xtype = votable_type(f.type)
            c = described.get(f.name)
            columns.append(ColumnDesc(
                f.name, datatype, arraysize, unit=vounit(c.unit if c else ""), ucd=(c.ucd if c else "") or "",
                description=(c.description if c else "") or "", xtype=xtype, principal=1,
                indexed=int(f.name in (info.ra_column, info.dec_column))))
        schema = _sanitize(info.catalog)
        name = f"{schema}.{_sanitize(info.name)}"
        while name.lower() in used:
            name += "_"
        used.add(name.lower())
        title = titles.get(info.catalog) or ""
        out.append(TableDesc(name, schema, tuple(columns), "catalog", info.description or title or f"Catalogue {full}",
                             registry_name=full, hats_path=info.hats_path, data_path=info.data_path,
                             ra_column=info.ra_column, dec_column=info.dec_column, nrows=info.nrows,
                             schema_description=title))
    return out


_cache_lock = threading.Lock()
_cache: dict[str, tuple[tuple, TableSet]] = {}


def _stamp(path: Path | None) -> tuple:
    if path is None:
        return ()
    key = []
    for p in (str(path), str(path) + "-wal"):
        try:
            st = os.stat(p)
            key.append((st.st_ino, st.st_mtime_ns, st.st_size))
        except OSError:
            key.append(None)
    return tuple(key)


def table_set(registry, registry_path: Path | None) -> TableSet:
    """The service's tables now: obscore, TAP_SCHEMA and the registry's catalogues (cached until the
    registry file changes)."""
    stamp = _stamp(registry_path)
    key = str(registry_path)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]
    tables = [OBSCORE_TABLE, *TAP_SCHEMA_TABLES]
    if registry is not None:
        try:
            tables += _catalog_tables(registry)
        except Exception as exc:  # an unreadable registry: serve obscore and TAP_SCHEMA, say why in the log
            log.warning("catalogue registry %s is not readable, no catalogue tables: %s", registry_path, exc)
            return TableSet({t.name.lower(): t for t in tables})
    ts = TableSet({t.name.lower(): t for t in tables})
    with _cache_lock:
        _cache[key] = (stamp, ts)
    return ts
