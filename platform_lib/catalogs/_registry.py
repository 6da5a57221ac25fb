"""The catalogue registry: a SQLite metadata dictionary modelled on VizieR's META tables.

catalogue (title, authors, reference, description, keywords) -> tables (rows, epoch, equinox,
coordinate columns, HATS path, MOC) -> columns (name, description, unit, UCD, datatype, flags), plus
links between tables and a HEALPix cell index of every table's MOC (``moc_cell``), which answers
"which tables have sources near this position" without opening any catalogue. Imports sqlite3,
numpy, astropy and :mod:`platform_lib.skyposition` (a position given as text or a name); writing catalogues is :mod:`platform_lib.catalogs._ingest`'s job.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from platform_lib.catalogs import _coverage
from platform_lib.catalogs._columns import ColumnInfo, normalize_datatype, position_ucd
from platform_lib.catalogs._errors import CatalogError, CatalogNotFound, DuplicateCatalog
from platform_lib.skyangle import sky_angle
from platform_lib.skyposition import sky_position

__all__ = ["Registry", "CatalogInfo", "TableInfo", "Link"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS catalog (
    id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, title TEXT, authors TEXT, reference TEXT,
    description TEXT, keywords TEXT, source TEXT, created TEXT DEFAULT (datetime('now')));
CREATE TABLE IF NOT EXISTS tab (
    id INTEGER PRIMARY KEY AUTOINCREMENT, catalog_id INTEGER NOT NULL REFERENCES catalog(id) ON DELETE CASCADE,
    name TEXT NOT NULL, full_name TEXT UNIQUE NOT NULL, description TEXT, nrows INTEGER,
    epoch TEXT, equinox TEXT, ra_column TEXT, dec_column TEXT, hats_path TEXT, data_path TEXT,
    moc_order INTEGER, moc_ranges BLOB, sky_fraction REAL);
CREATE TABLE IF NOT EXISTS col (
    id INTEGER PRIMARY KEY, table_id INTEGER NOT NULL REFERENCES tab(id) ON DELETE CASCADE,
    idx INTEGER, name TEXT NOT NULL, description TEXT, unit TEXT, ucd TEXT, datatype TEXT, flags TEXT);
CREATE INDEX IF NOT EXISTS col_ucd ON col(ucd);
CREATE INDEX IF NOT EXISTS col_table ON col(table_id);
CREATE TABLE IF NOT EXISTS link (
    id INTEGER PRIMARY KEY, from_table INTEGER NOT NULL REFERENCES tab(id) ON DELETE CASCADE,
    from_column TEXT, to_table INTEGER NOT NULL REFERENCES tab(id) ON DELETE CASCADE,
    to_column TEXT, kind TEXT, description TEXT);
CREATE TABLE IF NOT EXISTS moc_cell (
    cell INTEGER NOT NULL, table_id INTEGER NOT NULL REFERENCES tab(id) ON DELETE CASCADE,
    full INTEGER NOT NULL, PRIMARY KEY (cell, table_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS moc_cell_table ON moc_cell(table_id);
"""


@dataclass(frozen=True)
class CatalogInfo:
    """A registered catalogue (VizieR META.cat)."""

    name: str
    title: str = ""
    authors: str = ""
    reference: str = ""
    description: str = ""
    keywords: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableInfo:
    """A registered table (VizieR META.tab) with its columns.

    ``hats_path`` is the HATS catalogue folder (``None`` for tables without positions, whose rows
    are in ``data_path``, a Parquet file); ``ra_column``/``dec_column`` are in degrees (ICRS/J2000).
    """

    name: str
    catalog: str
    description: str = ""
    nrows: int = 0
    epoch: str = ""
    equinox: str = ""
    ra_column: str | None = None
    dec_column: str | None = None
    hats_path: Path | None = None
    data_path: Path | None = None
    moc_order: int | None = None
    sky_fraction: float = 0.0
    columns: tuple[ColumnInfo, ...] = field(default_factory=tuple)

    @property
    def full_name(self) -> str:
        """``<catalogue>/<table>``, the name the registry knows the table by."""
        return f"{self.catalog}/{self.name}"

    def column(self, name: str) -> ColumnInfo:
        """The column called ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise CatalogNotFound(f"table {self.full_name!r} has no column {name!r}", value=name)


@dataclass(frozen=True)
class Link:
    """A link between two tables' columns: ``foreign-key`` or ``shared-identifier``."""

    from_table: str
    from_column: str
    to_table: str
    to_column: str
    kind: str
    description: str = ""


#: What :meth:`Registry.dictionary` gives.
_DICTIONARY_KINDS = ("catalogs", "tables", "columns", "links")


class Registry:
    """The catalogue dictionary in one SQLite file.

    Parameters
    ----------
    path
        The registry file (created with its folder when missing unless ``readonly``).
    readonly
        Open read-only (the datasets area is read-only for users); ingest then fails.

    Examples
    --------
    >>> reg = Registry(tmp_path / "registry.sqlite")            # doctest: +SKIP
    >>> reg.get("J/A+A/511/A56/table1").ra_column               # doctest: +SKIP
    'RAJ2000'
    """

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        # Absolute, so the table paths stored under data_root stay valid from any working folder.
        self.path = Path(path).absolute()
        self.readonly = readonly
        self._local = threading.local()
        self._ranges_cache: dict[int, tuple[int, np.ndarray]] = {}
        if not readonly:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as con:
                con.executescript(_SCHEMA)
        elif not self.path.exists():
            raise CatalogNotFound(
                f"no catalogue registry at {str(self.path)!r}: nothing has been ingested there yet "
                "(`astrohub catalogs ingest <file>` creates it), or PLATFORM_CATALOG_REGISTRY / "
                "PLATFORM_DATASETS name another folder", value=str(self.path))

    @classmethod
    def from_settings(cls, settings=None, *, readonly: bool = False) -> "Registry":
        """The registry named by :class:`~platform_lib.PlatformSettings` (``catalog_registry``).

        ``readonly=True`` for reading (a notebook's searches): what every user may do.

        Examples
        --------
        >>> registry = Registry.from_settings(readonly=True)        # doctest: +SKIP
        >>> 'I/311/hip2' in registry.tables()                       # doctest: +SKIP
        True
        """
        from platform_lib.settings import get_settings

        settings = settings or get_settings()
        if settings.registry_path is None:
            raise CatalogError(
                "no catalogue registry configured: set PLATFORM_CATALOG_REGISTRY or PLATFORM_DATASETS",
                code="no-registry",
            )
        return cls(settings.registry_path, readonly=readonly)

    def __repr__(self) -> str:
        return f"Registry({str(self.path)!r})"

    # -- connection --------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            if self.readonly:
                con = self._connect_readonly()
            else:
                con = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
                con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA foreign_keys=ON")
            # a UCD as search matches it: lower case, UCD1's position words (POS_EQ_RA_MAIN) in UCD1+ spelling
            con.create_function("ucd_words", 1, lambda ucd: position_ucd(ucd or ""), deterministic=True)
            self._local.con = con
        return con

    def _connect_readonly(self) -> sqlite3.Connection:
        """A read-only connection, also for a reader who cannot write beside the file.

        The registry is in WAL mode, and SQLite opens a WAL database only where the reader can create
        its ``-shm`` file: a user reading the platform's registry in the root-owned datasets folder
        cannot. Such a reader opens it as immutable (no locking, no ``-shm``), which is safe because
        ingest commits each catalogue in one transaction and renames its data into place.
        """
        con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
        try:
            con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError as exc:
            if "readonly" not in str(exc):
                raise
            con.close()
            con = sqlite3.connect(f"file:{self.path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        return con

    def close(self) -> None:
        """Close this thread's connection."""
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None

    @property
    def data_root(self) -> Path:
        """Where ingested HATS catalogues are written: ``<registry folder>/hats``."""
        return self.path.parent / "hats"

    # -- writing (used by ingest) ------------------------------------------------------------
    def add_catalog(self, info: CatalogInfo, tables: list[tuple[TableInfo, np.ndarray | None]], *,
                    replace: bool = False) -> CatalogInfo:
        """Register a catalogue and its tables (with MOC ranges) in one transaction."""
        if self.readonly:
            raise CatalogError(f"registry {str(self.path)!r} is open read-only", code="read-only")
        con = self._connect()
        with con:
            row = con.execute("SELECT id FROM catalog WHERE name=?", (info.name,)).fetchone()
            if row is not None:
                if not replace:
                    raise DuplicateCatalog(
                        f"catalogue {info.name!r} is already registered: ingest with replace=True "
                        "(CLI: --replace) or choose another --name",
                        value=info.name,
                    )
                con.execute("DELETE FROM catalog WHERE id=?", (row[0],))
            cat_id = con.execute(
                "INSERT INTO catalog(name,title,authors,reference,description,keywords) VALUES (?,?,?,?,?,?)",
                (info.name, info.title, info.authors, info.reference, info.description, json.dumps(list(info.keywords))),
            ).lastrowid
            for table, ranges in tables:
                blob = None if ranges is None else np.ascontiguousarray(ranges, dtype=np.uint64).tobytes()
                tid = con.execute(
                    "INSERT INTO tab(catalog_id,name,full_name,description,nrows,epoch,equinox,ra_column,"
                    "dec_column,hats_path,data_path,moc_order,moc_ranges,sky_fraction) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (cat_id, table.name, f"{info.name}/{table.name}", table.description, table.nrows,
                     table.epoch, table.equinox, table.ra_column, table.dec_column,
                     str(table.hats_path) if table.hats_path else None,
                     str(table.data_path) if table.data_path else None, table.moc_order, blob,
                     table.sky_fraction),
                ).lastrowid
                con.executemany(
                    "INSERT INTO col(table_id,idx,name,description,unit,ucd,datatype,flags) VALUES (?,?,?,?,?,?,?,?)",
                    [(tid, i, c.name, c.description, c.unit, c.ucd, c.datatype, ",".join(c.flags))
                     for i, c in enumerate(table.columns)],
                )
                if ranges is not None and len(ranges):
                    cells, full = _coverage.index_cells(ranges)
                    con.executemany(
                        "INSERT INTO moc_cell(cell,table_id,full) VALUES (?,?,?)",
                        zip(cells.tolist(), [tid] * len(cells), full.astype(int).tolist()),
                    )
        return self.catalog(info.name)

    def add_link(self, link: Link) -> None:
        """Record a link between two registered tables' columns."""
        con = self._connect()
        with con:
            a, b = self._table_id(link.from_table), self._table_id(link.to_table)
            con.execute(
                "INSERT INTO link(from_table,from_column,to_table,to_column,kind,description) VALUES (?,?,?,?,?,?)",
                (a, link.from_column, b, link.to_column, link.kind, link.description),
            )

    def delete(self, catalog: str) -> None:
        """Remove a catalogue and its tables from the registry (the HATS files stay)."""
        con = self._connect()
        with con:
            cur = con.execute("DELETE FROM catalog WHERE name=?", (catalog,))
        if cur.rowcount == 0:
            raise CatalogNotFound(f"no catalogue {catalog!r} in {self}; {self._known('catalog', catalog)}",
                                  value=catalog)

    # -- reading -----------------------------------------------------------------------------
    def _table_id(self, name: str) -> int:
        return self._table_row(name)["id"]

    def _table_row(self, name: str) -> sqlite3.Row:
        con = self._connect()
        con.row_factory = sqlite3.Row
        try:
            row = con.execute("SELECT * FROM tab WHERE full_name=?", (name,)).fetchone()
            if row is None:  # a catalogue with one table, or a table name unique in the registry
                rows = con.execute(
                    "SELECT tab.* FROM tab JOIN catalog ON catalog.id=tab.catalog_id WHERE catalog.name=?", (name,)
                ).fetchall() or con.execute("SELECT * FROM tab WHERE name=?", (name,)).fetchall()
                if len(rows) == 1:
                    row = rows[0]
                elif len(rows) > 1:
                    choices = ", ".join(r["full_name"] for r in rows)
                    raise CatalogNotFound(f"{name!r} names several tables; pick one of: {choices}", value=name)
        finally:
            con.row_factory = None
        if row is None:
            raise CatalogNotFound(
                f"no table {name!r} in the registry {str(self.path)!r}; {self._known('tab', name)}", value=name
            )
        return row

    def _known(self, kind: str, wanted: str, most: int = 20) -> str:
        """What to say after "no such name": the close names, the first ``most`` names, and how to list them.

        ``"did you mean 'I/311'? its catalogues: ...; list them in a notebook with ..."``, or that it is empty.
        """
        column = "name" if kind == "catalog" else "full_name"
        names = [r[0] for r in self._connect().execute(f"SELECT {column} FROM {kind} ORDER BY {column}")]
        what = "catalogues" if kind == "catalog" else "tables"
        if not names:
            return f"it holds no {what} yet (ingest one with `astrohub catalogs ingest <file>`)"
        close = self.close_names(wanted)
        guess = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
        more = f" and {len(names) - most} more" if len(names) > most else ""
        return (f"{guess}its {what}: {', '.join(names[:most])}{more}; in a notebook, after `from "
                "platform_lib.catalogs import Registry`, `Registry.from_settings().catalogs()` lists them and "
                "`Registry.from_settings().find_catalogs('words')` finds them by title (in a terminal: "
                "`astrohub catalogs list`)")

    def close_names(self, wanted: str, most: int = 3) -> list[str]:
        """Registry names a mistyped or everyday name may mean: ``"Hipparcos"`` -> ``["I/311"]``.

        ``wanted`` is matched, case-insensitive, against the catalogues' names, titles and keywords and the
        tables' full names: the catalogues whose title or keywords hold every word of ``wanted``, or else difflib's
        close matches (``"Hiparcos"``, ``"i/311/hip"``). Catalogue names for catalogue words, table names for
        table names.
        """
        words = _words(wanted)
        if not words:
            return []
        con = self._connect()
        found: list[str] = []
        keys: dict[str, str] = {}  # a folded name, title, keyword or title word -> the registry name it stands for
        for name, title, keywords in con.execute(
                "SELECT name, coalesce(title, ''), coalesce(keywords, '[]') FROM catalog ORDER BY name"):
            about = [title, *json.loads(keywords)]
            if words <= set().union(*map(_words, about)):
                found.append(name)
            for key in [name, *about, *(w for text in about for w in _words(text) if len(w) > 3)]:
                keys.setdefault(key.casefold(), name)
        for (full_name,) in con.execute("SELECT full_name FROM tab ORDER BY full_name"):
            keys.setdefault(full_name.casefold(), full_name)
        if not found:
            found = [keys[k] for k in difflib.get_close_matches(wanted.strip().casefold(), keys, n=2 * most, cutoff=0.75)]
        return list(dict.fromkeys(found))[:most]

    def get(self, name: str) -> TableInfo:
        """The table called ``name``: ``catalogue/table``, a one-table catalogue's name, or a unique table name."""
        row = self._table_row(name)
        return self._table_info(row)

    def _table_info(self, row) -> TableInfo:
        con = self._connect()
        catalog = con.execute("SELECT name FROM catalog WHERE id=?", (row["catalog_id"],)).fetchone()[0]
        cols = con.execute(
            "SELECT name,description,unit,ucd,datatype,flags FROM col WHERE table_id=? ORDER BY idx", (row["id"],)
        ).fetchall()
        return TableInfo(
            name=row["name"], catalog=catalog, description=row["description"] or "", nrows=row["nrows"] or 0,
            epoch=row["epoch"] or "", equinox=row["equinox"] or "", ra_column=row["ra_column"],
            dec_column=row["dec_column"], hats_path=Path(row["hats_path"]) if row["hats_path"] else None,
            data_path=Path(row["data_path"]) if row["data_path"] else None, moc_order=row["moc_order"],
            sky_fraction=row["sky_fraction"] or 0.0,
            columns=tuple(ColumnInfo(n, d or "", u or "", q or "", t or "", tuple(f.split(",")) if f else ())
                          for n, d, u, q, t, f in cols),
        )

    def catalog(self, name: str) -> CatalogInfo:
        """The catalogue called ``name``."""
        con = self._connect()
        row = con.execute(
            "SELECT id,name,title,authors,reference,description,keywords FROM catalog WHERE name=?", (name,)
        ).fetchone()
        if row is None:
            raise CatalogNotFound(
                f"no catalogue {name!r} in the registry {str(self.path)!r}; {self._known('catalog', name)}",
                value=name)
        tables = tuple(r[0] for r in con.execute("SELECT name FROM tab WHERE catalog_id=? ORDER BY id", (row[0],)))
        return CatalogInfo(row[1], row[2] or "", row[3] or "", row[4] or "", row[5] or "",
                           tuple(json.loads(row[6] or "[]")), tables)

    def catalogs(self) -> list[CatalogInfo]:
        """Every registered catalogue, by name."""
        names = [r[0] for r in self._connect().execute("SELECT name FROM catalog ORDER BY name")]
        return [self.catalog(n) for n in names]

    def tables(self, catalog: str | None = None) -> list[str]:
        """The full names of every table (of one catalogue when ``catalog`` is given)."""
        con = self._connect()
        if catalog is None:
            return [r[0] for r in con.execute("SELECT full_name FROM tab ORDER BY full_name")]
        self.catalog(catalog)
        return [r[0] for r in con.execute(
            "SELECT tab.full_name FROM tab JOIN catalog ON catalog.id=tab.catalog_id WHERE catalog.name=? "
            "ORDER BY tab.id", (catalog,))]

    def links(self, table: str | None = None) -> list[Link]:
        """Links between tables (those touching ``table`` when given)."""
        sql = ("SELECT a.full_name, link.from_column, b.full_name, link.to_column, link.kind, link.description "
               "FROM link JOIN tab a ON a.id=link.from_table JOIN tab b ON b.id=link.to_table")
        args: tuple = ()
        if table is not None:
            tid = self._table_id(table)
            sql += " WHERE link.from_table=? OR link.to_table=?"
            args = (tid, tid)
        return [Link(*r) for r in self._connect().execute(sql + " ORDER BY link.id", args)]

    def search(self, text: str | None = None, *, ucd: str | None = None):
        """Columns whose description or name contains ``text`` (case-insensitive), and/or whose UCD matches.

        ``ucd`` matches a whole UCD word (``phot.mag`` matches ``phot.mag;em.opt.V``), in either case; the
        position words of UCD1, which older VizieR and IRSA VOTables give, match their UCD1+ spelling
        (``pos.eq.ra`` matches ``POS_EQ_RA_MAIN``, and the other way round). Returns an
        astropy Table with one row per column: catalog, table, column, description, unit, ucd.

        Examples
        --------
        >>> reg = Registry.from_settings(readonly=True)   # doctest: +SKIP
        >>> reg.search("proper motion")                   # doctest: +SKIP
        >>> reg.search(ucd="pos.parallax")["table", "column", "unit"]   # doctest: +SKIP
        """
        if text is None and ucd is None:
            raise ValueError("give text, ucd or both")
        where, args = [], []
        if text is not None:
            where.append("(col.description LIKE ? ESCAPE '\\' OR col.name LIKE ? ESCAPE '\\')")
            pattern = f"%{_like_literal(text)}%"
            args += [pattern, pattern]
        if ucd is not None:  # a whole word, or a word under it (phot.mag: phot.mag.bol too, not phot.magnetic)
            word = _like_literal(position_ucd(ucd))
            where.append("((';' || ucd_words(col.ucd) || ';') LIKE ? ESCAPE '\\' "
                         "OR (';' || ucd_words(col.ucd) || ';') LIKE ? ESCAPE '\\')")
            args += [f"%;{word};%", f"%;{word}.%"]
        rows = self._connect().execute(
            "SELECT catalog.name, tab.full_name, col.name, col.description, col.unit, col.ucd FROM col "
            "JOIN tab ON tab.id=col.table_id JOIN catalog ON catalog.id=tab.catalog_id WHERE "
            + " AND ".join(where) + " ORDER BY tab.full_name, col.idx",
            args,
        ).fetchall()
        return _as_table(rows, ["catalog", "table", "column", "description", "unit", "ucd"])

    def find_catalogs(self, text: str):
        """Catalogues whose description holds every word of ``text`` (case-insensitive), as VizieR finds them.

        A word is looked for in the catalogue's name, title, authors, reference, description and keywords and
        in its tables' names and descriptions (``"hipparcos"``, ``"open clusters"``, ``"I/311"``). Returns an
        astropy Table with one row per catalogue: name, title, tables, nrows, keywords.

        Examples
        --------
        >>> reg = Registry.from_settings(readonly=True)   # doctest: +SKIP
        >>> reg.find_catalogs("hipparcos")                # doctest: +SKIP
        """
        words = str(text or "").split()
        if not words:
            raise ValueError(f"give the words to look for in the catalogues' titles and descriptions, not {text!r}")
        about = ("catalog.name || ' ' || coalesce(catalog.title, '') || ' ' || coalesce(catalog.authors, '') || ' ' || "
                 "coalesce(catalog.reference, '') || ' ' || coalesce(catalog.description, '') || ' ' || "
                 "coalesce(catalog.keywords, '') || ' ' || coalesce((SELECT group_concat(tab.full_name || ' ' || "
                 "coalesce(tab.description, ''), ' ') FROM tab WHERE tab.catalog_id = catalog.id), '')")
        rows = self._connect().execute(
            "SELECT catalog.name, coalesce(catalog.title, ''), "
            "(SELECT count(*) FROM tab WHERE tab.catalog_id = catalog.id), "
            "(SELECT coalesce(sum(tab.nrows), 0) FROM tab WHERE tab.catalog_id = catalog.id), "
            "coalesce(catalog.keywords, '[]') FROM catalog WHERE "
            + " AND ".join([f"({about}) LIKE ? ESCAPE '\\'"] * len(words)) + " ORDER BY catalog.name",
            [f"%{_like_literal(w)}%" for w in words],
        ).fetchall()
        rows = [(*r[:4], ", ".join(json.loads(r[4]))) for r in rows]
        return _as_table(rows, ["name", "title", "tables", "nrows", "keywords"])

    def dictionary(self, kind: str = "columns"):
        """The metadata dictionary itself as an astropy Table: ``catalogs``, ``tables``, ``columns`` or ``links``."""
        con = self._connect()
        if kind == "catalogs":
            rows = con.execute("SELECT name,title,authors,reference,description,keywords FROM catalog ORDER BY name")
            return _as_table(rows.fetchall(), ["name", "title", "authors", "reference", "description", "keywords"])
        if kind == "tables":
            rows = con.execute(
                "SELECT catalog.name, tab.full_name, tab.description, tab.nrows, tab.epoch, tab.equinox, "
                "coalesce(tab.ra_column,''), coalesce(tab.dec_column,''), coalesce(tab.hats_path, tab.data_path), "
                "coalesce(tab.sky_fraction, 0) FROM tab JOIN catalog ON catalog.id=tab.catalog_id ORDER BY tab.full_name")
            return _as_table(rows.fetchall(), ["catalog", "table", "description", "nrows", "epoch", "equinox",
                                               "ra_column", "dec_column", "path", "sky_fraction"])
        if kind == "columns":
            rows = con.execute(
                "SELECT tab.full_name, col.name, col.description, col.unit, col.ucd, col.datatype, col.flags "
                "FROM col JOIN tab ON tab.id=col.table_id ORDER BY tab.full_name, col.idx")
            rows = [(*r[:5], normalize_datatype(r[5]), r[6]) for r in rows.fetchall()]  # older spellings too
            return _as_table(rows, ["table", "column", "description", "unit", "ucd", "datatype", "flags"])
        if kind == "links":
            links = self.links()
            return _as_table([(x.from_table, x.from_column, x.to_table, x.to_column, x.kind) for x in links],
                             ["from_table", "from_column", "to_table", "to_column", "kind"])
        raise ValueError(self._not_a_kind(kind))

    def _not_a_kind(self, kind) -> str:
        """What :meth:`dictionary` says of a ``kind`` it has not: a misspelt kind's right spelling, or, for a
        catalogue's or table's name (``dictionary('I/311')``: looking the catalogue up), how to look it up."""
        said = f"kind must be catalogs, tables, columns or links, not {kind!r}"
        if not isinstance(kind, str) or not kind.strip():
            return said
        close = difflib.get_close_matches(kind.strip().casefold(), _DICTIONARY_KINDS, n=1, cutoff=0.7)
        if close:
            return f"{said} (did you mean {close[0]!r}?)"
        con = self._connect()
        tables = []  # (catalogue, table): those the name, or else the first close name, stands for
        for name in [kind.strip()] + self.close_names(kind):
            tables = con.execute("SELECT catalog.name, tab.full_name FROM tab JOIN catalog "
                                 "ON catalog.id=tab.catalog_id WHERE tab.full_name=? OR catalog.name=? ORDER BY tab.id",
                                 (name, name)).fetchall()
            if tables:
                break
        if not tables:
            return f"{said}; to find a catalogue by the words of its title: registry.find_catalogs({kind!r})"
        catalog, table = tables[0]
        which = (f"catalogue {catalog!r}" if kind.strip() in (catalog, table)
                 else f"{catalog!r}, which {kind!r} may mean")
        return (f"{said}; to look up {which}: registry.catalog({catalog!r}) (its title, authors, reference and "
                f"tables), registry.get({table!r}).columns (each column's description, unit and UCD), or "
                "registry.dictionary('columns') (every table's columns; its 'table' column names the table)")

    # -- coverage ----------------------------------------------------------------------------
    def _ranges(self, table_id: int) -> tuple[int, np.ndarray]:
        cached = self._ranges_cache.get(table_id)
        if cached is None:
            row = self._connect().execute("SELECT moc_order, moc_ranges FROM tab WHERE id=?", (table_id,)).fetchone()
            ranges = np.frombuffer(row[1], dtype=np.uint64).reshape(-1, 2) if row and row[1] else np.empty((0, 2), np.uint64)
            cached = (int(row[0] or 0) if row else 0, ranges)
            self._ranges_cache[table_id] = cached
        return cached

    def moc(self, name: str):
        """The table's coverage as a :class:`mocpy.MOC` (``None`` for a table without positions)."""
        row = self._table_row(name)
        if row["moc_ranges"] is None:
            return None
        order, ranges = self._ranges(row["id"])
        return _coverage.to_mocpy(ranges, order)

    def covering(self, position, radius) -> list[str]:
        """The tables that have sources within ``radius`` of ``position``, from their MOCs only.

        The registry's order-6 cell index finds candidate tables in one indexed SQL query; a table
        whose MOC covers a candidate cell entirely answers at once, the others are checked against
        their MOC ranges (cached in memory). No catalogue file is opened.

        Parameters
        ----------
        position : `~astropy.coordinates.SkyCoord` or str
            A SkyCoord, a position as text or an object's name (:func:`platform_lib.skyposition.sky_position`).
        radius : `~astropy.units.Quantity` (angle) or str
            ``2 * u.arcmin``, or text with its unit: ``"2 arcmin"`` (:func:`platform_lib.skyangle.sky_angle`).

        Returns
        -------
        list of str
            Full table names (``catalogue/table``), sorted.
        """
        ra, dec, r = _position_deg(position, radius)
        con = self._connect()
        sure: set[int] = set()
        maybe: set[int] = set()
        if r > 90:  # most of the sky: too many cells for one SQL list; check every table's MOC instead
            cells = np.empty(0, dtype=np.uint64)
            maybe = {row[0] for row in con.execute("SELECT id FROM tab WHERE moc_ranges IS NOT NULL")}
            rows = []
        else:
            cells, cone_full = _coverage.cone_cells(ra, dec, r, _coverage.INDEX_ORDER)
            if len(cells) == 0:
                return []
            full_cells = set(cells[cone_full].tolist())
            placeholders = ",".join("?" * len(cells))
            rows = con.execute(
                f"SELECT table_id, cell, full FROM moc_cell WHERE cell IN ({placeholders})", cells.tolist()
            ).fetchall()
        for tid, cell, full in rows:
            if full and cell in full_cells:
                sure.add(tid)
            else:
                maybe.add(tid)
        maybe -= sure
        cones: dict[int, np.ndarray] = {}
        for tid in maybe:
            order, ranges = self._ranges(tid)
            if order not in cones:
                cones[order] = _coverage.cone_ranges(ra, dec, r, order)
            if _coverage.ranges_overlap(cones[order], ranges):
                sure.add(tid)
        if not sure:
            return []
        ids = ",".join(str(int(t)) for t in sure)
        return sorted(r[0] for r in con.execute(f"SELECT full_name FROM tab WHERE id IN ({ids})"))


def _position_deg(position, radius, what: str = "position") -> tuple[float, float, float]:
    """``position`` (a SkyCoord, a position as text or an object's name: :func:`platform_lib.skyposition.sky_position`,
    ``what`` is the argument's name) and ``radius`` in degrees, ICRS, checked."""
    import astropy.units as u

    position = sky_position(position, what)
    radius = sky_angle(radius, "radius")  # a Quantity, or text such as '2 arcmin'
    if not radius.unit.is_equivalent(u.deg):
        raise TypeError(f"radius must be an angular astropy Quantity (e.g. 1 * u.arcmin), not {radius!r}")
    if not position.isscalar:
        raise ValueError(f"{what} must be a single (scalar) SkyCoord")
    icrs = position.icrs
    r = float(radius.to_value(u.deg))
    if not math.isfinite(r) or r < 0:
        raise ValueError(f"radius must be a positive angle, not {radius}")
    if r > 180:  # the whole sky from 180 deg on: a larger one is a mistyped unit (200 * u.deg for 200 arcsec)
        raise ValueError(f"radius {radius} is more than the whole sky (180 deg reaches every point): give one up "
                         "to 180 deg (1 * u.arcmin, 200 * u.arcsec ...)")
    return float(icrs.ra.deg), float(icrs.dec.deg), r


def _words(text: str) -> set[str]:
    """The case-folded words of ``text`` (letters and digits), for matching a name against titles."""
    return set(re.findall(r"\w+", str(text).casefold()))


def _like_literal(text: str) -> str:
    r"""``text`` for SQL LIKE ... ESCAPE '\\': its ``%`` and ``_`` found as themselves, not as wildcards.

    >>> _like_literal("e_Vmag 100%")
    'e\\_Vmag 100\\%'
    """
    return str(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _as_table(rows, names):
    from astropy.table import Table

    if not rows:
        return Table(names=names, dtype=[str] * len(names))
    cols = list(zip(*rows))
    return Table([list(c) for c in cols], names=names)
