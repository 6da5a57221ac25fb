"""The SQLite image index: an ``obscore`` table, an R-tree over footprints, and atomic (re)builds.

Layout of the database file:

- ``obscore``: one row per image (the columns of :data:`~platform_lib.imageindex.ingest.COLUMNS`)
  plus ``vertices`` (the footprint's unit vectors, float64 bytes);
- ``footprint_rtree``: ``rtree(id, x0, x1, y0, y1, z0, z1)``, the xyz box of each footprint's
  bounding cap (no angle wraps in xyz, so RA = 0/360 and the poles need no special case);
- ``spacetime_rtree``: the same boxes with the exposure interval as a fourth axis, for moving-object
  searches (:mod:`~platform_lib.imageindex.spacetime`, written with the rest so the two never disagree);
- ``files``: every scanned file with mtime, size and, for skipped ones, the reason (for daily
  incremental updates);
- ``meta``: build time and counts, and ``derivation``, the code and the operator's mappings the records were
  derived by (:func:`~platform_lib.imageindex.ingest.index_derivation`): an update by other code (an upgrade that
  changed a derived column, e.g. ``access_format``) or with other mappings reads every file's headers again, as
  a build.

Writers always build into a temporary file beside the index and ``os.replace`` it into place, so a
reader sees the old or the new index, never a half-built one. :class:`ImageIndex` (the reader)
reopens the file when it has been replaced. A writer killed before the rename leaves its temporary
file; the next writer removes every such file (``.<index name>.<pid>.<ns>.tmp``) once it holds the
writer lock, when no other writer can be using one.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from platform_lib.imageindex import spacetime
from platform_lib.imageindex.errors import ImageIndexError, ImageIndexInputError
from platform_lib.imageindex.ingest import COLUMNS, Skipped, index_derivation, read_records, scan_files
from platform_lib.imageindex.rtree_pack import pack_rtree
from platform_lib.imageindex.query import (IVOID_COLLATION, ImageQuery, Viewer, group_decides_sql, plan_sql,
                                           visibility_sql)
from platform_lib.imageindex.sphere import Polygon, cap_boxes, morton_key, polygon_caps, radec_to_xyz
from platform_lib.pathlimits import BLANK, NOT_A_PATH, path_problem, shown

__all__ = ["ImageIndex", "BuildReport", "build_index", "update_index", "bulk_load", "delete_records", "now_mjd",
           "writer_lock", "INDEXES", "create_schema", "fast_pragmas"]

_SCHEMA = (
    "CREATE TABLE obscore (" + ", ".join(COLUMNS) + ", vertices BLOB)",
    "CREATE VIRTUAL TABLE footprint_rtree USING rtree(id, x0, x1, y0, y1, z0, z1)",
    "CREATE TABLE files (path TEXT PRIMARY KEY, mtime REAL, size INTEGER, reason TEXT)",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)",
)
#: The secondary indexes of a finished index, created after the bulk load (as the benchmarks do too).
INDEXES = (
    "CREATE UNIQUE INDEX obscore_obs_id ON obscore(obs_id)",
    "CREATE INDEX obscore_file ON obscore(file_path)",
    "CREATE INDEX obscore_collection ON obscore(obs_collection)",
    "CREATE INDEX obscore_tmin ON obscore(t_min)",
    # the group records only (few): ImageIndex.group_decides, asked per request by the archive, finds them without
    # reading the table (500 000 rows: 94 ms without it, 0.01 ms with; an index built before gets it at its next
    # update)
    "CREATE INDEX obscore_owner_group ON obscore(owner_group) WHERE owner_group IS NOT NULL",
)


def now_mjd() -> float:
    """The current time as MJD (UTC)."""
    return time.time() / 86400.0 + 40587.0


@dataclass
class BuildReport:
    """What a build or update did: counts, the skipped files with reasons, and the time taken."""

    indexed: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0
    #: An update that read every file again: the index was made by code that derives records otherwise.
    rederived: bool = False


def _tmp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")


def _remove_stale_tmp(path: Path) -> None:
    """Delete temporary files of killed writers (call with the writer lock held)."""
    path = Path(path)
    if path.parent.is_dir():
        for stale in path.parent.glob(f".{path.name}.*.tmp"):
            stale.unlink(missing_ok=True)


def fast_pragmas(conn: sqlite3.Connection) -> None:
    """The connection settings of a build into a temporary file (no journal, no sync, a 256 MiB cache)."""
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-262144")  # 256 MiB
    conn.execute("PRAGMA temp_store=MEMORY")


def bulk_load(conn: sqlite3.Connection, records: list[dict], vertices: list[np.ndarray] | np.ndarray,
              *, first_rowid: int = 1, sort: bool = True) -> None:
    """Insert records and their footprints: sorted by sky position (3-D Z-order of the centre).

    Rows go in with one ``executemany``; into an empty R-tree the boxes are packed directly
    (:func:`~platform_lib.imageindex.rtree_pack.pack_rtree`), otherwise inserted in sky order.
    """
    n = len(records)
    if n == 0:
        return
    if isinstance(vertices, np.ndarray) and vertices.ndim == 3:
        centres, radii = polygon_caps(vertices)
    else:
        caps = [polygon_caps(np.asarray(v)[None]) for v in vertices]
        centres = np.concatenate([c for c, _ in caps])
        radii = np.concatenate([r for _, r in caps])
    boxes = cap_boxes(centres, radii)
    ids = np.arange(first_rowid, first_rowid + n)
    columns = [[rec[c] for rec in records] for c in COLUMNS]
    blobs = [np.asarray(v, dtype=np.float64).tobytes() for v in vertices]
    placeholders = ",".join("?" * (len(COLUMNS) + 2))
    conn.executemany(f"INSERT INTO obscore (rowid, {', '.join(COLUMNS)}, vertices) VALUES ({placeholders})",
                     zip(ids.tolist(), *columns, blobs))
    order = np.argsort(morton_key(centres), kind="stable") if sort else np.arange(n)
    write_rtree(conn, ids[order], boxes[order])
    spacetime.create(conn)
    spacetime.write(conn, ids, records, boxes)


def delete_records(conn: sqlite3.Connection, rowids) -> None:
    """Remove the records ``rowids`` from ``obscore`` and from both R-trees, the footprints' and the space-time one,
    so the three never disagree (an update removing or replacing files, the released view leaving out proprietary
    rows)."""
    rows = [(int(i),) for i in rowids]
    conn.executemany("DELETE FROM obscore WHERE rowid = ?", rows)
    conn.executemany("DELETE FROM footprint_rtree WHERE id = ?", rows)
    spacetime.delete(conn, [i for (i,) in rows])


def write_rtree(conn: sqlite3.Connection, ids: np.ndarray, boxes: np.ndarray) -> None:
    """Add boxes to ``footprint_rtree``: packed when it is empty, else inserted in the given order."""
    empty = conn.execute("SELECT 1 FROM footprint_rtree_rowid LIMIT 1").fetchone() is None
    if empty:
        conn.commit()
        pack_rtree(conn, "footprint_rtree", ids, boxes)
        return
    conn.executemany(
        "INSERT INTO footprint_rtree VALUES (?,?,?,?,?,?,?)",
        zip(ids.tolist(), *(boxes[:, k].tolist() for k in range(6))),
    )


def _ensure_columns(conn: sqlite3.Connection) -> None:
    """Add to ``obscore`` the columns of :data:`COLUMNS` an index written by older code lacks (NULL in its rows)."""
    have = {row[1] for row in conn.execute("PRAGMA table_info(obscore)")}
    for name in COLUMNS:
        if name not in have:
            conn.execute(f"ALTER TABLE obscore ADD COLUMN {name}")


def create_schema(conn: sqlite3.Connection) -> None:
    for stmt in _SCHEMA:
        conn.execute(stmt)
    spacetime.create(conn)


def _finish(conn: sqlite3.Connection, tmp: Path, path: Path, meta: dict, mode: int | None = None) -> None:
    for stmt in INDEXES:
        conn.execute(stmt.replace("CREATE", "CREATE", 1).replace("INDEX ", "INDEX IF NOT EXISTS ", 1))
    conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [(k, str(v)) for k, v in meta.items()])
    conn.commit()
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    if mode is not None:  # before the rename: the index is never readable by more people than ``mode`` says
        os.chmod(tmp, mode)
    os.replace(tmp, path)


@contextlib.contextmanager
def writer_lock(index_path: Path, timeout: float | None = None):
    """Hold the index's writer lock (``flock`` on ``.<name>.lock`` beside it) for a build or update.

    ``timeout`` None waits as long as it takes; otherwise :class:`ImageIndexError` with
    ``code="index-locked"`` after ``timeout`` seconds (0: fail at once). Readers never take it.
    """
    import fcntl

    index_path = Path(index_path)
    index_path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = index_path.with_name(f".{index_path.name}.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if timeout is None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        else:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise ImageIndexError(
                            f"another build or update of {index_path} is running (lock {lock_path}); "
                            "wait for it to finish", code="index-locked", value=str(index_path)) from None
                    time.sleep(0.05)  # lock retry interval, bounded by the deadline
        yield
    finally:
        os.close(fd)  # releases the lock


def build_index(
    index_path: Path,
    data_root: Path,
    *,
    mapping_dirs: list[Path] | None = None,
    workers: int | None = None,
    progress=None,
    lock_timeout: float | None = None,
    mode: int | None = None,
) -> BuildReport:
    """Build the index of every FITS file under ``data_root`` from scratch, atomically.

    Holds the writer lock (:func:`writer_lock`, waiting up to ``lock_timeout`` seconds) so two
    writers never run at once; readers keep reading the previous file until the new one replaces it.
    ``mode`` (e.g. ``0o600``) is the new file's permissions, set before it replaces the old one (``None``: as
    SQLite creates a file, 0644 less the umask).

    Examples
    --------
    >>> report = build_index(Path("index.sqlite"), Path("/archive/images"))  # doctest: +SKIP
    >>> report.indexed, [s.path for s in report.skipped]  # doctest: +SKIP
    """
    index_path, data_root = given_path(index_path, "index_path", "file's path"), given_path(data_root, "data_root")
    with writer_lock(index_path, lock_timeout):
        _remove_stale_tmp(index_path)
        return _build(index_path, data_root, mapping_dirs=mapping_dirs, workers=workers, progress=progress, mode=mode)


def given_path(value, what: str, noun: str = "folder's path") -> Path:
    """``value`` (a str or path-like, ``~`` expanded) as an absolute path, or the input error naming ``what`` (an
    empty one too: it was the current folder)."""
    text, problem = path_problem(value, as_used=lambda text: Path(os.path.expanduser(text)).absolute())
    if problem is NOT_A_PATH:
        raise ImageIndexInputError(f"{what} must be a {noun} (a str or pathlib.Path, e.g. '~/myimages'), got "
                                   f"{value!r}", code="bad-path", value=repr(value))
    if problem is BLANK:
        raise ImageIndexInputError(f"{what} is empty: give a path, e.g. '~/myimages'", code="bad-path",
                                   value=repr(value))
    if problem:  # the file system's "File name too long" from inside pathlib before
        raise ImageIndexInputError(f"{what} {shown(text)!r} {problem}: give a {noun}, e.g. '~/myimages'",
                                   code="bad-path", value=shown(text))
    return Path(os.path.expanduser(text)).absolute()


def _build(index_path, data_root, *, mapping_dirs, workers, progress, mode=None) -> BuildReport:
    t0 = time.perf_counter()
    index_path = Path(index_path)
    data_root = Path(data_root)
    if not data_root.is_dir():
        raise ImageIndexError(f"data root {data_root} is not a directory", code="no-data-root", value=str(data_root))
    index_path.parent.mkdir(parents=True, exist_ok=True)
    files = scan_files(data_root)
    rels = sorted(files)
    good, bad = read_records(data_root, rels, mapping_dirs=mapping_dirs, workers=workers, progress=progress)
    tmp = _tmp_path(index_path)
    conn = sqlite3.connect(tmp)
    try:
        fast_pragmas(conn)
        create_schema(conn)
        good = _dedupe(good, bad)
        bulk_load(conn, [r for r, _ in good], [v for _, v in good])
        reasons = {s.path: s.reason for s in bad}
        conn.executemany("INSERT INTO files VALUES (?,?,?,?)",
                         [(p, m, s, reasons.get(p)) for p, (m, s) in files.items()])
        _finish(conn, tmp, index_path, {"built_at": time.time(), "data_root": str(data_root),
                                        "derivation": index_derivation(mapping_dirs)}, mode)
    except BaseException:
        conn.close()
        tmp.unlink(missing_ok=True)
        raise
    return BuildReport(indexed=len(good), added=len(good), skipped=bad, seconds=time.perf_counter() - t0)


def _dedupe(good, bad):
    """Two files with the same obs_id (``a.fits`` and ``a.fits.gz``): keep the first, report the rest."""
    seen = set()
    out = []
    for rec, xyz in good:
        if rec["obs_id"] in seen:
            bad.append(Skipped(rec["file_path"], f"duplicate obs_id {rec['obs_id']!r}"))
            continue
        seen.add(rec["obs_id"])
        out.append((rec, xyz))
    return out


def update_index(
    index_path: Path,
    data_root: Path,
    *,
    mapping_dirs: list[Path] | None = None,
    workers: int | None = None,
    progress=None,
    lock_timeout: float | None = None,
    mode: int | None = None,
) -> BuildReport:
    """Bring the index up to date with ``data_root`` (new, changed by mtime/size, deleted files), atomically.

    Builds from scratch when there is no index yet, and when the index was derived otherwise (its ``derivation``,
    :func:`~platform_lib.imageindex.ingest.index_derivation`: after an upgrade, or a change of the operator's mappings
    in ``mapping_dirs``, every file's headers are read again, ``rederived`` in the report). Otherwise only new and changed files are read.
    Holds the writer lock and sets ``mode`` like :func:`build_index`.
    """
    with writer_lock(index_path, lock_timeout):
        _remove_stale_tmp(index_path)
        if not Path(index_path).exists():
            return _build(index_path, data_root, mapping_dirs=mapping_dirs, workers=workers, progress=progress,
                          mode=mode)
        if _stored_derivation(index_path) != index_derivation(mapping_dirs):
            report = _build(index_path, data_root, mapping_dirs=mapping_dirs, workers=workers, progress=progress,
                            mode=mode)
            report.rederived = True
            return report
        return _update(index_path, data_root, mapping_dirs=mapping_dirs, workers=workers, progress=progress,
                       mode=mode)


def _stored_derivation(index_path: Path) -> str | None:
    """The ``derivation`` an index was made by (None: made before indexes said)."""
    con = sqlite3.connect(f"file:{index_path}?mode=ro", uri=True)
    try:
        row = con.execute("SELECT value FROM meta WHERE key = 'derivation'").fetchone()
    except sqlite3.Error:
        return None
    finally:
        con.close()
    return row[0] if row else None


def _update(index_path, data_root, *, mapping_dirs, workers, progress, mode=None) -> BuildReport:
    index_path = Path(index_path)
    t0 = time.perf_counter()
    data_root = Path(data_root)
    if not data_root.is_dir():  # an unmounted tree must not empty the index
        raise ImageIndexError(f"data root {data_root} is not a directory", code="no-data-root", value=str(data_root))
    files = scan_files(data_root)
    tmp = _tmp_path(index_path)
    src = sqlite3.connect(f"file:{index_path}?mode=ro", uri=True)
    conn = sqlite3.connect(tmp)
    try:
        src.backup(conn)
        src.close()
        fast_pragmas(conn)
        spacetime.ensure(conn)  # an index written before the space-time R-tree existed
        _ensure_columns(conn)  # or before a column of COLUMNS (o_ucd): NULL in its rows until a rebuild
        known = {p: (m, s) for p, m, s in conn.execute("SELECT path, mtime, size FROM files")}
        changed = [p for p, st in files.items() if p in known and tuple(known[p]) != st]
        added = [p for p in files if p not in known]
        removed = [p for p in known if p not in files]
        for p in changed + removed:
            delete_records(conn, [r[0] for r in conn.execute("SELECT rowid FROM obscore WHERE file_path = ?", (p,))])
            conn.execute("DELETE FROM files WHERE path = ?", (p,))
        todo = sorted(changed + added)
        good, bad = read_records(data_root, todo, mapping_dirs=mapping_dirs, workers=workers, progress=progress)
        existing = {r[0] for r in conn.execute("SELECT obs_id FROM obscore")}
        kept = []
        for rec, xyz in _dedupe(good, bad):
            if rec["obs_id"] in existing:
                bad.append(Skipped(rec["file_path"], f"duplicate obs_id {rec['obs_id']!r}"))
            else:
                kept.append((rec, xyz))
        first = (conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM obscore").fetchone()[0]) + 1
        bulk_load(conn, [r for r, _ in kept], [v for _, v in kept], first_rowid=first)
        reasons = {s.path: s.reason for s in bad}
        conn.executemany("INSERT OR REPLACE INTO files VALUES (?,?,?,?)",
                         [(p, *files[p], reasons.get(p)) for p in todo])
        total = conn.execute("SELECT COUNT(*) FROM obscore").fetchone()[0]
        _finish(conn, tmp, index_path, {"updated_at": time.time(), "derivation": index_derivation(mapping_dirs)},
                mode)
    except BaseException:
        conn.close()
        tmp.unlink(missing_ok=True)
        raise
    n_changed_ok = sum(1 for r, _ in kept if r["file_path"] in set(changed))
    return BuildReport(
        indexed=total,
        added=len(kept) - n_changed_ok,
        updated=n_changed_ok,
        removed=len(removed),
        unchanged=len(files) - len(todo),
        skipped=bad,
        seconds=time.perf_counter() - t0,
    )


class ImageIndex:
    """Read-only access to an index file, safe from many threads while writers replace the file.

    Each thread keeps one read-only connection and reuses it while the file stays the same (same
    device, inode, size and mtime, checked with one ``stat`` per call). A writer's ``os.replace``
    gives the path a new inode, so the next call in every thread closes its connection and opens the
    new file: a query sees the old or the new index, never a mixture. Opening a connection (and
    SQLite reading the schema) per call cost more than a small query itself.

    Parameters
    ----------
    path
        The index database written by :func:`build_index`.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: set[sqlite3.Connection] = set()  # every thread's connection, for close()

    def _signature(self) -> tuple | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def _open(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            conn.execute("SELECT 1 FROM obscore LIMIT 0")
        except sqlite3.Error as exc:
            if not self.path.exists():
                raise ImageIndexError(
                    f"image index {self.path} does not exist; build it with `astrohub archive index`",
                    code="no-index", value=str(self.path),
                ) from exc
            raise ImageIndexError(f"image index {self.path} is not readable: {exc}", code="bad-index",
                                  value=str(self.path)) from exc
        conn.row_factory = sqlite3.Row
        return conn

    @contextlib.contextmanager
    def _connection(self):
        """This thread's connection to the current file (reopened when the file was replaced)."""
        local = self._local
        conn = getattr(local, "conn", None)
        sig = self._signature()
        if conn is not None and (sig is None or sig != local.sig):
            self._discard(conn)
            conn = local.conn = None
        if conn is None:
            conn = self._open()
            # The file may have been replaced between stat and open: then the next call reopens.
            local.conn, local.sig = conn, sig
            with self._lock:
                self._all.add(conn)
        try:
            yield conn
        except sqlite3.Error:
            self._discard(conn)  # a broken connection is not reused
            local.conn = None
            raise

    def _discard(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            self._all.discard(conn)
        conn.close()

    def close(self) -> None:
        """Close every thread's connection (call when no query is running); later calls reopen."""
        with self._lock:
            conns, self._all = list(self._all), set()
        self._local = threading.local()
        for conn in conns:
            conn.close()

    def count(self) -> int:
        """The number of records (visible or not)."""
        with self._connection() as conn:
            return conn.execute("SELECT COUNT(*) FROM obscore").fetchone()[0]

    def query(self, q: ImageQuery, viewer: Viewer = Viewer(), *, maxrec: int | None = None,
              now: float | None = None, extra_where: tuple[str, list] | None = None,
              order_by: str | None = None) -> tuple[list[dict], bool]:
        """Records matching ``q`` visible to ``viewer``: ``(records, overflow)``.

        ``overflow`` is true when more than ``maxrec`` records matched (only ``maxrec`` are returned).
        ``extra_where`` and ``order_by`` are trusted SQL (see :func:`~platform_lib.imageindex.query.plan_sql`).
        Safe to call from worker threads while another thread queries or the file is replaced.
        """
        sql, params = plan_sql(q, viewer, now if now is not None else now_mjd(), extra_where=extra_where,
                               order_by=order_by)
        # This thread's own connection (sqlite3 connections must not be shared by concurrent
        # threads), reopened when a writer has replaced the file.
        with self._connection() as conn:
            cursor = conn.execute(sql, params)
            try:
                return self._collect(cursor, q, maxrec)
            finally:
                cursor.close()  # ends the read transaction even when MAXREC stopped early

    @staticmethod
    def _collect(rows, q: ImageQuery, maxrec: int | None) -> tuple[list[dict], bool]:
        out: list[dict] = []
        overflow = False
        for row in rows:
            if q.pos or q.centre_in:
                xyz = np.frombuffer(row["vertices"], dtype=np.float64).reshape(-1, 3)
                if q.pos:
                    poly = Polygon.from_xyz(xyz)
                    if not any(region.intersects_polygon(poly) for region in q.pos):
                        continue
                if q.centre_in:
                    centre = radec_to_xyz(row["s_ra"], row["s_dec"])
                    if not any(bool(c.contains(centre)) for c in q.centre_in):
                        continue
            if maxrec is not None and len(out) >= maxrec:
                overflow = True
                break
            rec = dict(row)
            rec.pop("vertices", None)
            out.append(rec)
        return out, overflow

    def get(self, obs_id: str, viewer: Viewer = Viewer(), *, now: float | None = None) -> dict | None:
        """The record ``obs_id`` when it exists and ``viewer`` may see it, else ``None``."""
        access, params = visibility_sql(viewer, now if now is not None else now_mjd())
        with self._connection() as conn:
            row = conn.execute("SELECT * FROM obscore o WHERE o.obs_id = ?" + (f" AND {access}" if access else ""),
                               (obs_id, *params)).fetchone()
        if row is None:
            return None
        rec = dict(row)
        rec.pop("vertices", None)
        return rec

    def group_decides(self, viewer: Viewer, ids=None, *, by: str = "obs_id", now: float | None = None) -> bool:
        """Whether ``viewer``'s groups change which records they may see, of those whose ``by`` column (``obs_id``
        or ``obs_publisher_did``) is one of ``ids``, else of the whole index: some record not yet released, not
        theirs, belongs to a group (:func:`~platform_lib.imageindex.query.group_decides_sql`). Never for an admin or
        an anonymous viewer. A service that asks someone else (the hub) for a user's groups needs to only when this
        is true: the rest is decided by the user's name."""
        if by not in ("obs_id", "obs_publisher_did"):
            raise ValueError(f"by={by!r}: give 'obs_id' or 'obs_publisher_did'")
        decides = group_decides_sql(viewer, now if now is not None else now_mjd())
        if decides is None:
            return False
        sql, params = decides
        if ids is not None:
            ids = list(dict.fromkeys(ids))
            if not ids:
                return False
            collate = f" {IVOID_COLLATION}" if by == "obs_publisher_did" else ""  # as plan_sql's ID
            sql += f" AND o.{by}{collate} IN (" + ",".join("?" * len(ids)) + ")"
            params = [*params, *ids]
        with self._connection() as conn:
            return conn.execute(f"SELECT 1 FROM obscore o WHERE {sql} LIMIT 1", params).fetchone() is not None

    def skipped(self) -> list[Skipped]:
        with self._connection() as conn:
            return [Skipped(p, r) for p, r in conn.execute(
                "SELECT path, reason FROM files WHERE reason IS NOT NULL ORDER BY path")]
