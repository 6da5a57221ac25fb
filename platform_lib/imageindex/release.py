"""The released view of the image archive: what users' ``datasets`` space may hold, and nothing more.

Owns :func:`publish_released` and :class:`ReleaseReport`. The archive's full tree (proprietary
files included) and its index live where only the archive service reads them (on the local
platform ``<data>/archive/images``, root's, 0700); users' read-only ``datasets/images`` is this
module's output:

* every file whose records are all released (``release_date <= now``) appears there as a hard link
  to the archive's file (the same bytes, no copy; a copy when the two trees are on different
  filesystems), made under a temporary name and renamed into place;
* files no longer released or no longer in the archive are removed;
* ``index.sqlite`` there is the archive index without a proprietary row: a copy whose ``obscore``
  rows (and their entries in the footprint and space-time R-trees) with ``release_date > now`` are deleted, and whose ``files``
  table lists only published files (skipped or proprietary files' names do not leak), written to
  a temporary file and renamed into place when the set of released records changed.

:func:`publish_released` returns when the next record will be released (``next_release``, MJD),
so a caller (the local supervisor's release thread) can run it again then: a file becomes visible
when its period ends, without a restart. Temporary files of a killed run are removed by the next.
May import the standard library, numpy and this package.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path

from platform_lib.imageindex.errors import ImageIndexError
from platform_lib.imageindex.index import delete_records, now_mjd
from platform_lib.imageindex.query import is_released, released_sql

__all__ = ["ReleaseReport", "publish_released", "VIEW_NAME"]

#: The released index's file name in the public tree.
VIEW_NAME = "index.sqlite"
_TMP = ".release-tmp-"
#: What a view leaves out, in the signature of its records: a view written before the form changed is written again
#: at the next run, though its records did not change. "2": the space-time R-tree keeps no proprietary image's box
#: (a view written before kept them all, where and when each was taken).
_VIEW_FORM = "view-form 2"


@dataclass
class ReleaseReport:
    """What a run did: files linked and removed, released records, and the next release (MJD or None)."""

    linked: int = 0
    removed: int = 0
    released_records: int = 0
    withheld_records: int = 0
    next_release: float | None = None
    view_rewritten: bool = False


def _released_files(index_path: Path, now: float) -> tuple[set[str], int, int, float | None, str]:
    """The released files, the counts of released and withheld records, the next release and the signature of
    the released records: their ids and files' times and sizes, the index's build and ``derivation`` (an
    index rebuilt or derived again, after an upgrade, has other records under the same ids), and :data:`_VIEW_FORM`."""
    con = sqlite3.connect(f"file:{index_path}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT obs_id, file_path, release_date, file_mtime, file_size FROM obscore").fetchall()
        made = con.execute("SELECT key, value FROM meta WHERE key IN ('built_at', 'derivation') "
                           "ORDER BY key").fetchall()
    finally:
        con.close()
    files: set[str] = set()
    withheld_files: set[str] = set()
    released_ids = []
    withheld = 0
    upcoming = None
    for obs_id, file_path, release, mtime, size in rows:
        files.add(file_path)
        if is_released(release, now):
            released_ids.append(f"{obs_id}\t{mtime}\t{size}")
        else:
            withheld += 1
            withheld_files.add(file_path)
            if release is not None:  # without a release date it waits for an operator, not for a time
                upcoming = release if upcoming is None else min(upcoming, release)
    public = files - withheld_files
    signature = hashlib.sha256("\n".join([*sorted(released_ids), repr(made), _VIEW_FORM]).encode()).hexdigest()
    return public, len(released_ids), withheld, upcoming, signature


def _safe_relative(path: str) -> bool:
    parts = Path(path).parts
    return bool(parts) and not Path(path).is_absolute() and ".." not in parts


def _link(source: Path, target: Path) -> bool:
    """Make ``target`` the same file as ``source`` (hard link, else a copy); True when it changed."""
    try:
        if target.exists() and os.path.samefile(source, target):
            return False
    except OSError:
        pass
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{_TMP}{uuid.uuid4().hex}")
    try:
        os.link(source, tmp)
        # Readable through the public link (the archive's own tree stays closed by its 0700 folder).
        mode = os.stat(tmp).st_mode
        if mode & 0o444 != 0o444:
            os.chmod(tmp, (mode | 0o444) & 0o7777)
    except OSError:
        shutil.copy2(source, tmp)
        os.chmod(tmp, 0o644)
    os.replace(tmp, target)
    return True


def _write_view(index_path: Path, view: Path, now: float, public: set[str], signature: str) -> bool:
    """Write the released-only copy of the index at ``view`` when its records differ; True when written."""
    if view.exists():
        try:
            con = sqlite3.connect(f"file:{view}?mode=ro", uri=True)
            try:
                row = con.execute("SELECT value FROM meta WHERE key='released_signature'").fetchone()
            finally:
                con.close()
            if row is not None and row[0] == signature:
                return False
        except sqlite3.Error:
            pass
    tmp = view.with_name(f"{_TMP}{uuid.uuid4().hex}")
    src = sqlite3.connect(f"file:{index_path}?mode=ro", uri=True)
    dst = sqlite3.connect(tmp)
    try:
        src.backup(dst)
        src.close()
        ids = [r[0] for r in dst.execute(f"SELECT rowid FROM obscore WHERE NOT {released_sql('release_date')}",
                                         (now,))]
        delete_records(dst, ids)  # and their entries in both R-trees: where and when a PI observed is theirs too
        dst.execute("CREATE TEMP TABLE public(path TEXT PRIMARY KEY)")
        dst.executemany("INSERT INTO public VALUES (?)", [(p,) for p in public])
        dst.execute("DELETE FROM files WHERE path NOT IN (SELECT path FROM public)")
        dst.execute("DELETE FROM meta WHERE key IN ('data_root')")
        dst.execute("INSERT OR REPLACE INTO meta VALUES ('released_signature', ?)", (signature,))
        dst.commit()
        dst.execute("VACUUM")  # deleted rows must not linger in free pages
        dst.close()
        os.chmod(tmp, 0o644)
        os.replace(tmp, view)
    except BaseException:
        dst.close()
        tmp.unlink(missing_ok=True)
        raise
    return True


def publish_released(index_path: str | os.PathLike, data_root: str | os.PathLike,
                     public_root: str | os.PathLike, *, now: float | None = None) -> ReleaseReport:
    """Bring ``public_root`` to the released part of the archive (``index_path`` over ``data_root``).

    Parameters
    ----------
    index_path, data_root
        The archive's full index and image tree (read only).
    public_root
        The users' view (``datasets/images``): released files and a released-only ``index.sqlite``.
    now
        The time in MJD (default: now).

    Returns
    -------
    ReleaseReport
        With ``next_release``: when to run again so the next record appears on time.

    Examples
    --------
    >>> report = publish_released("/data/archive/images/index.sqlite", "/data/archive/images",
    ...                           "/data/datasets/images")  # doctest: +SKIP
    """
    index_path, data_root, public_root = Path(index_path), Path(data_root), Path(public_root)
    now = now_mjd() if now is None else now
    report = ReleaseReport()
    public_root.mkdir(parents=True, exist_ok=True)
    for stale in public_root.rglob(f"{_TMP}*"):  # a killed run's temporary files
        stale.unlink(missing_ok=True)
    if not index_path.exists():
        raise ImageIndexError(f"no archive index at {index_path}; build it first (astrohub archive update)",
                              code="no-index", value=str(index_path))
    public, report.released_records, report.withheld_records, report.next_release, signature = \
        _released_files(index_path, now)
    public = {p for p in public if _safe_relative(p)}
    # Withdraw first (a release date moved later, a file deleted), then publish.
    view = public_root / VIEW_NAME
    for entry in sorted(public_root.rglob("*"), reverse=True):
        rel = entry.relative_to(public_root).as_posix()
        if entry == view or entry.name.startswith("." + VIEW_NAME):
            continue
        if entry.is_dir() and not entry.is_symlink():
            if not any(entry.iterdir()):
                entry.rmdir()
        elif rel not in public:
            entry.unlink(missing_ok=True)
            report.removed += 1
    report.view_rewritten = _write_view(index_path, view, now, public, signature)
    for rel in sorted(public):
        source = data_root / rel
        if source.is_file() and _link(source, public_root / rel):
            report.linked += 1
    return report
