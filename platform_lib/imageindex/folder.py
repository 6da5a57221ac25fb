"""A user's own folder of FITS images and its index: :func:`index_folder` and :class:`FolderIndex`.

Owns where a folder's index lives (``<folder>/.imageindex.sqlite`` unless told otherwise), who may read it (the
file's permissions, no wider than the folder's: the archive's release rule does not apply to one's own images, so
every row is visible to whoever can open the file) and the user's questions of it: which images hold a position,
meet a cone or overlap a time range, answered as an astropy Table of ObsCore columns
(:func:`~platform_lib.imageindex.obscore.obscore_table`) with each file's path. "Which contain this asteroid" is
:func:`platform_lib.moving.find_images` given a :class:`FolderIndex`. Builds on
:func:`~platform_lib.imageindex.index.update_index` (atomic, incremental). Imports astropy, numpy, this package and
:mod:`platform_lib.times` (the one reader of dates a user gives) and :mod:`platform_lib.skyposition` (of positions: a
SkyCoord, text or a name).
"""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path

import numpy as np

from platform_lib.fitsfiles import fits_suffix
from platform_lib.imageindex.errors import ImageIndexError, ImageIndexInputError
from platform_lib.imageindex.index import BuildReport, ImageIndex, given_path, update_index
from platform_lib.imageindex.ingest import Skipped
from platform_lib.imageindex.obscore import obscore_table
from platform_lib.imageindex.query import ImageQuery, Viewer
from platform_lib.imageindex.sphere import Circle
from platform_lib.skyposition import PositionError, sky_position
from platform_lib.times import DateReader, quiet_dubious_years

__all__ = ["FolderIndex", "INDEX_NAME", "index_folder"]

#: The index's file name in the folder it indexes (hidden, so the file browser shows the images).
INDEX_NAME = ".imageindex.sqlite"
#: Who a folder index's rows are visible to: everyone who can open the file (its permissions decide, not the
#: archive's release rule, which would hide an undated image of one's own for ever).
_EVERY_ROW = Viewer(admin=True)
#: What a FITS file is called (:mod:`platform_lib.fitsfiles`), for the reason a file was left out.
_FITS_NAMES = ".fits, .fit or .fts (any case), plain or compressed (.gz, .bz2, .xz, .zip, .Z), or .fz"


def _folder(folder) -> Path:
    path = given_path(folder, "folder")
    if not path.is_dir():
        what = "is a file" if path.exists() else "does not exist"
        raise ImageIndexError(f"{folder!r} {what}: give the folder holding your FITS images, e.g. '~/myimages'",
                              code="no-folder", value=str(folder))
    return path


class FolderIndex:
    """The index of a folder of one's own FITS images (see :func:`index_folder`, which makes or updates it).

    ``FolderIndex("~/myimages")`` opens the index :func:`index_folder` made there (a member of a group opens one
    in the group's folder the same way); ``report`` is the last :func:`index_folder` call's
    :class:`~platform_lib.imageindex.BuildReport` (None when only opened).

    Parameters
    ----------
    folder
        The folder of images (``~`` is expanded).
    index
        The index file, when not ``<folder>/.imageindex.sqlite``.
    """

    #: What :func:`platform_lib.moving.find_images` and the queries here see: every row of the file.
    viewer = _EVERY_ROW

    def __init__(self, folder, *, index=None, report: BuildReport | None = None) -> None:
        self.folder = _folder(folder)
        self.path = given_path(index, "index") if index else self.folder / INDEX_NAME
        self.report = report
        self._index = ImageIndex(self.path)

    def __repr__(self) -> str:
        try:
            n = len(self)
        except ImageIndexError:
            return f"<FolderIndex {self.folder}: no index yet (index_folder({str(self.folder)!r}) makes it)>"
        return f"<FolderIndex {self.folder}: {n} images, {len(self.skipped)} files skipped (.skipped says why)>"

    def __len__(self) -> int:
        return self._index.count()

    @property
    def skipped(self):
        """The folder's files that are not in the index, as a Table (``path`` relative to the folder, ``reason``):
        FITS files that could not be read (the reason astropy or the footprint gave) and files that are not FITS
        by their name (hidden files and folders, the index's own among them, are left out)."""
        from astropy.table import Table

        rows = [(s.path, s.reason) for s in self._index.skipped()] + [(s.path, s.reason) for s in self._not_fits()]
        rows.sort()
        return Table(rows=rows or None, names=("path", "reason"), dtype=(str, str))

    def _not_fits(self) -> list[Skipped]:
        out = []
        for dirpath, dirs, files in os.walk(self.folder):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in files:
                if name.startswith(".") or fits_suffix(name):
                    continue
                rel = (Path(dirpath) / name).relative_to(self.folder).as_posix()
                out.append(Skipped(rel, f"not a FITS file by its name (FITS files end {_FITS_NAMES})"))
        return out

    def search(self, position=None, radius=None, *, time=None, maxrec: int | None = None):
        """The folder's images holding ``position`` (or meeting the cone of ``radius`` round it) and overlapping
        ``time``, as an astropy Table of ObsCore columns (``s_region`` the footprint, ``t_min``/``t_max`` MJD UTC,
        ``obs_id`` the path in the folder without its suffix), ``access_url`` the file's ``file://`` URL and
        ``file_path`` its path; ``platform_lib.viz.show(table)`` or ``viz.plot(table)`` draws the footprints.

        Parameters
        ----------
        position : `~astropy.coordinates.SkyCoord` or str, optional
            A position (any frame), as text (``"05h34m32s +22d00m52s"``) or an object's name (``"M1"``, ``"Crab"``:
            :func:`platform_lib.skyposition.sky_position`). Without it: every image (in ``time``).
        radius : `~astropy.units.Quantity` (angle), optional
            With it, the images whose footprint meets the cone (SIA's rule); without it, those holding the position.
        time : `~astropy.time.Time`, text, or a list of two, optional
            One time (the images exposed then) or two, a range (the images whose exposure overlaps it), as the
            moving-objects functions read dates (:mod:`platform_lib.times`): a ``Time``, ISO 8601 text
            (``"2011-09-01"``, UTC unless an offset such as ``+10:00`` follows), ``datetime``s; plain numbers are TDB
            Julian dates (``Time(55805, format="mjd")`` for an MJD). Images without a time in their headers never
            match a time.
        maxrec : int, optional
            The most rows; more matches warn and keep the first ``maxrec``.

        Examples
        --------
        >>> mine = index_folder("~/myimages")                                      # doctest: +SKIP
        >>> mine.search(SkyCoord.from_name("M1"))                                  # doctest: +SKIP
        >>> mine.search(SkyCoord(83.6, 22.0, unit="deg"), 10 * u.arcmin,
        ...             time=Time(["2005-01-01", "2012-01-01"]))                   # doctest: +SKIP
        >>> mine.search(time=["2005-01-01", "2012-01-01"])                          # doctest: +SKIP
        """
        query = ImageQuery()
        if position is not None:
            query.pos.append(_cone(position, radius))
        elif radius is not None:
            raise ImageIndexInputError("radius is given without a position: pass position=SkyCoord(...) too, or neither",
                                       code="bad-radius", value=str(radius))
        if time is not None:
            query.time.append(_time_range(time))
        if maxrec is not None and (not isinstance(maxrec, (int, np.integer)) or maxrec < 0):
            raise ImageIndexInputError(f"maxrec must be a whole number 0 or more, got {maxrec!r}", code="bad-maxrec",
                                       value=maxrec)
        try:
            records, overflow = self._index.query(query, self.viewer, maxrec=maxrec, order_by="o.file_path")
        except ImageIndexError as exc:
            if exc.code != "no-index":
                raise
            raise ImageIndexError(f"{self.folder} has no index yet ({self.path}): make it with "
                                  f"index_folder({str(self.folder)!r})", code="no-index", value=str(self.path)) from exc
        if overflow:
            warnings.warn(f"more than maxrec={maxrec} images match; the first {maxrec} (by file name) are returned",
                          stacklevel=2)
        return self._table(records)

    def _table(self, records: list[dict]):
        files = [self.folder / r["file_path"] for r in records]
        table = obscore_table(records, [f.as_uri() for f in files])
        table["file_path"] = [str(f) for f in files] if files else np.array([], dtype="U1")
        table["file_path"].description = "the image file"
        table["file_path"].meta["ucd"] = "meta.ref;meta.file"
        table.meta["folder"] = str(self.folder)
        return table

    def close(self) -> None:
        """Close the index file (a later call opens it again)."""
        self._index.close()


def _cone(position, radius) -> Circle:
    import astropy.units as u

    try:
        icrs = sky_position(position).icrs
    except (PositionError, TypeError) as exc:  # its words: which forms of a position and which names work
        raise ImageIndexInputError(str(exc), code="bad-position", value=str(position)) from None
    if not icrs.isscalar:
        raise ImageIndexInputError(f"position must be one position, got {len(icrs)}; search each in turn",
                                   code="bad-position", value=len(icrs))
    deg = 0.0
    if radius is not None:
        try:
            deg = float(u.Quantity(radius).to_value(u.deg))
        except (TypeError, ValueError, u.UnitsError) as exc:
            raise ImageIndexInputError(f"radius {radius!r} is not an angle; give e.g. 10 * u.arcmin", code="bad-radius",
                                       value=str(radius)) from exc
        if not 0 <= deg <= 180:
            raise ImageIndexInputError(f"radius {radius!r} must be an angle from 0 to 180 degrees", code="bad-radius",
                                       value=str(radius))
    return Circle(float(icrs.ra.deg), float(icrs.dec.deg), deg)


#: The image index's reader of dates (the one reader, :mod:`platform_lib.times`): its refusals are
#: ImageIndexInputErrors (``bad-time``).
_DATES = DateReader(ImageIndexInputError)


def _time_range(time) -> tuple[float, float]:
    """``time`` (one date, or two: a range) as ``(start, end)`` MJD UTC. A date is what :mod:`platform_lib.times`
    reads from a notebook, as the moving-objects functions do: an astropy ``Time``, ISO 8601 text (UTC unless an
    offset follows), ``datetime``s, ``datetime64``s, lists of them; plain numbers are TDB Julian dates."""
    from astropy.time import Time

    when = _DATES.as_time(time, "time")
    jd = _DATES.as_jd_tdb(when, "time")  # numbers and Times alike, or bad-time naming the value
    if len(jd) not in (1, 2):
        raise ImageIndexInputError(f"time must be one date or two (a range), got {len(jd)}", code="bad-time",
                                   value=len(jd))
    if not isinstance(when, Time):
        when = Time(jd, format="jd", scale="tdb")
    with quiet_dubious_years():  # a plate of the 1950s is before UTC's leap seconds: still the right day
        mjd = np.atleast_1d(when.utc.mjd).astype(float)
        lo, hi = float(mjd[0]), float(mjd[-1])
        if hi < lo:
            ends = np.atleast_1d(when.utc.isot)
            raise ImageIndexInputError(f"the time range ends ({ends[-1]}) before it starts ({ends[0]}); swap them",
                                       code="bad-time", value=str(time))
    return lo, hi


def index_folder(folder, *, index=None, workers: int | None = 1, progress=None) -> FolderIndex:
    """Index (or bring up to date) the FITS images under ``folder``, your own or your group's, and return it.

    The index is ``<folder>/.imageindex.sqlite`` (or ``index``), with the folder's permissions (no one who cannot
    read the folder can read the index: your home's images stay yours, a group folder's are its members'). It is
    written atomically (a temporary file renamed into place; a failure keeps the old index) and incrementally: a
    second call reads only the files added or changed since (by time and size) and drops deleted ones. Files that
    are not FITS, and FITS files that cannot be read or have no position, are left out and listed with the reason
    in ``.skipped``; ``.report`` counts what this call did.

    Parameters
    ----------
    folder
        The folder (``"~/myimages"``, ``"~/groups/lensing/images"``); its sub-folders too.
    index
        Where to keep the index instead (a folder you cannot write, such as another group's).
    workers
        Processes reading headers (1: in this process; ``None``: up to 8).
    progress
        Called with the number of files read so far, after each chunk of 256.

    Examples
    --------
    >>> from platform_lib.imageindex import index_folder                      # doctest: +SKIP
    >>> mine = index_folder("~/myimages")                                     # doctest: +SKIP
    >>> mine.report.added, mine.skipped                                       # doctest: +SKIP
    >>> mine.search(SkyCoord.from_name("M1"), 5 * u.arcmin)                  # doctest: +SKIP
    """
    root = _folder(folder)
    target = given_path(index, "index") if index else root / INDEX_NAME
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, (int, np.integer))
                                or workers < 1):
        raise ImageIndexInputError(f"workers must be a whole number 1 or more (or None: up to 8), got {workers!r}",
                                   code="bad-workers", value=repr(workers))
    if progress is not None and not callable(progress):
        raise ImageIndexInputError(f"progress must be a function called with the number of files read, got "
                                   f"{progress!r}", code="bad-progress", value=repr(progress))
    mode = stat.S_IMODE(root.stat().st_mode) & 0o666 | 0o600  # read by no one the folder does not let in
    try:
        report = update_index(target, root, workers=workers, progress=progress, mode=mode)
    except PermissionError as exc:
        raise ImageIndexError(
            f"cannot write the index {target} ({exc.strerror}): pass index= a file in a folder of yours, e.g. "
            f"index_folder({str(folder)!r}, index='~/{root.name}.imageindex.sqlite')", code="index-not-writable",
            value=str(target)) from exc
    return FolderIndex(root, index=target, report=report)
