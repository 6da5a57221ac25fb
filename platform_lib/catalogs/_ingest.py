"""Ingest: a source file in, a HATS-partitioned catalogue plus its registry rows and MOC out, unattended.

Steps per table: read (``_readers``), derive decimal RA/Dec from sexagesimal CDS columns or from
sexagesimal text columns (``_sexagesimal``), describe the
columns (units, UCDs given or inferred, primary keys; column types kept, but for what Parquet, DuckDB
and TAP cannot hold: arrays, lists, structs and complex numbers left out with a warning, float16
widened, non-UTF-8 text read as Latin-1, unsigned 64-bit values beyond ``long`` refused), guess the
position columns, write the rows as
HATS Parquet (``lsdb.from_dataframe``) into a temporary folder that is renamed into place only when
complete (with a margin cache beside it, so any ingested table can be the right side of a Dask
crossmatch), compute the MOC, then register everything in one SQLite transaction. A table without
position columns is stored as plain Parquet, without a MOC, with a :class:`NoPositionWarning`.
Each catalogue's folder under ``registry.data_root`` is :func:`slug` of its name, a one-to-one
encoding, and ingest refuses a folder that holds another registered catalogue's data.

Crash safety: the registry never names a missing folder, whenever the process dies. A catalogue's
folder ``<slug>`` is a symbolic link to its current version ``<slug>_=<hex>`` (``=`` never occurs in a
slug); the registry stores paths under ``<slug>``, which stay the same across ``replace``. The new
data is written to ``.tmp-<slug>-<pid>-<hex>``; then, under an exclusive lock (``.ingest.lock`` in
``data_root``), it is renamed to a new version folder, the registry rows are switched in one
transaction, the link is switched by renaming a new link over it (atomic). Killed at any step, the
link and the registry name folders that exist; the next ingest removes, under the same lock, what
the killed run left: ``.tmp-*`` folders of processes that are gone, ``.old-*`` folders (of earlier
versions) and version folders no link points to. A catalogue ingested before versions existed
(``<slug>`` a real folder) is moved to a version folder first (the one moment its folder is missing,
once).

Queries in flight: the replaced version is not deleted at the switch. Readers pin a version
(:func:`~platform_lib.catalogs._hats.pinned`: ``read_layout``, the search's reader, the crossmatch's and
viz's ``lsdb.open_catalog`` open the version folder the link names when they start), so a query that
listed the old partitions reads them all from the old version. Ingest records the switch in a stamp
``.replaced-<version>`` beside it, and a later ingest (or :func:`remove_replaced`, which ``astrohub
up`` and the sample data's load call) removes a replaced version once its stamp is ``keep_replaced_s`` old
(:data:`KEEP_REPLACED_S` by default, longer than any query of the archive's (an async TAP job: 600 s) or a
crossmatch job usually runs; the platform's registry: the operator's setting, ``archive.keep_replaced`` in
``astrohub.toml``, ``archive.keepReplacedSeconds`` in the chart).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from platform_lib.catalogs import _coverage, _sexagesimal
from platform_lib.catalogs._columns import (
    ColumnInfo,
    guess_galactic_columns,
    guess_position_columns,
    infer_ucds,
    looks_like_identifier,
    normalize_datatype,
    position_ucd,
)
from platform_lib.catalogs._errors import CatalogError, DuplicateCatalog, NoPositionWarning, UnsupportedSource
from platform_lib.catalogs._readers import Source, SourceTable, read_source
from platform_lib.catalogs._registry import CatalogInfo, Link, Registry, TableInfo
from platform_lib.processes import process_alive

__all__ = ["ingest", "slug", "remove_replaced", "DEFAULT_MARGIN_ARCSEC", "KEEP_REPLACED_S"]

#: The margin cache ingest writes by default (arcsec): wide enough for the usual crossmatch radii.
DEFAULT_MARGIN_ARCSEC = 10.0
#: How long a replaced catalogue version stays on disk for the queries that pinned it (seconds), unless the caller
#: says otherwise (``keep_replaced_s``).
KEEP_REPLACED_S = 3600.0
#: The stamp that says when a version folder was replaced (its mtime): ``.replaced-<version folder name>``.
_REPLACED = ".replaced-"


_MAX_SLUG = 200
_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+-.")


def slug(name: str) -> str:
    """A folder name for a catalogue or table name, one-to-one: different names never share a folder.

    Letters, digits, ``+``, ``-`` and ``.`` (except a leading one) stay; ``_`` becomes ``__``;
    every other character becomes ``_`` plus the two hex digits of each of its UTF-8 bytes. The
    encoding is injective (``_`` is always followed by ``_`` or a hex digit pair, so it decodes
    back uniquely): ``J/A1`` -> ``J_2FA1`` and ``J_A1`` -> ``J__A1`` cannot collide.

    >>> slug("J/A+A/511/A56")
    'J_2FA+A_2F511_2FA56'
    >>> slug("J_A+A_511_A56")
    'J__A+A__511__A56'
    """
    if not name:
        raise ValueError("a catalogue or table name must not be empty")
    out = []
    for i, ch in enumerate(name):
        if ch in _SAFE and not (i == 0 and ch == "."):
            out.append(ch)
        elif ch == "_":
            out.append("__")
        else:
            out.append("".join(f"_{b:02X}" for b in ch.encode("utf-8")))
    encoded = "".join(out)
    if len(encoded) > _MAX_SLUG:  # file systems allow 255 bytes; '~' never occurs in an untruncated slug
        encoded = encoded[:_MAX_SLUG - 18] + "_~" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]
    return encoded


def ingest(source: str | Path, registry: Registry, *, name: str | None = None, replace: bool = False,
           partition_rows: int = 100_000, moc_order: int | None = None, progress: bool = False,
           margin_arcsec: float | None = DEFAULT_MARGIN_ARCSEC, keep_replaced_s: float = KEEP_REPLACED_S) -> CatalogInfo:
    """Ingest a catalogue file into HATS Parquet and register it, with no human intervention.

    Parameters
    ----------
    source
        A FITS, VOTable, Parquet, ECSV or HDF5 table file, a text table (CSV, VizieR TSV, IPAC...:
        ``.csv``, ``.tsv``, ``.txt``, ``.dat``, ``.tbl``, plain or ``.gz``), a CDS ``ReadMe`` (its data files
        beside it, plain or ``.gz``), or a folder holding a ``ReadMe``.
    registry
        The :class:`Registry` to write to; HATS folders go under ``registry.data_root``.
    name
        The catalogue name (default: the ReadMe's designation, or the file name).
    replace
        Replace an already registered catalogue of that name (otherwise :class:`DuplicateCatalog`).
    partition_rows
        The most rows in one HATS partition.
    moc_order
        The MOC's HEALPix order (default: 10 below 200,000 rows, else 8).
    progress
        Show a tqdm progress bar.
    margin_arcsec
        The width of the margin cache written beside each table (the rows just outside each partition),
        so the table can be the right side of a crossmatch on Dask or in a job with a radius (plus the
        proper motion between the epochs) up to this; ``None`` writes none.
    keep_replaced_s
        Before it starts, ingest removes the versions of catalogues replaced over this many seconds ago (as
        :func:`remove_replaced`); a replace keeps the version it replaces that long.

    Returns
    -------
    CatalogInfo
        The registered catalogue.

    Examples
    --------
    >>> ingest("J_A+A_511_A56/ReadMe", Registry(tmp / "r.sqlite"))   # doctest: +SKIP
    CatalogInfo(name='J/A+A/511/A56', ...)
    """
    from tqdm.auto import tqdm

    _check_keep(keep_replaced_s)
    src = read_source(source, name=name)
    if not replace and src.name in {c.name for c in registry.catalogs()}:
        raise DuplicateCatalog(
            f"catalogue {src.name!r} is already registered: ingest with replace=True (CLI: --replace) "
            "or choose another name", value=src.name,
        )
    folder = slug(src.name)
    link = registry.data_root / folder
    _check_folder_owner(registry, link, src.name)
    previous = _catalog_folders(registry, src.name) if replace else set()
    _check_table_names(src)
    registry.data_root.mkdir(parents=True, exist_ok=True)
    with _ingest_lock(registry):
        _remove_debris(registry, keep_replaced_s)
    tmp_dir = registry.data_root / f".tmp-{folder}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp_dir.mkdir(parents=True)
    # Three steps per table (convert, finish the HATS write, MOC) plus registering; write_hats adds one
    # step per partition once it knows how many, and advances as each is written. Every update is
    # shown (they are few and slow), so the bar moves during the long write.
    steps = tqdm(total=len(src.tables) * 3 + 1, desc=f"ingest {src.name}", unit="step", disable=not progress,
                 mininterval=0, miniters=1)
    try:
        prepared = []
        for st in src.tables:
            prepared.append(_ingest_table(st, src, tmp_dir, link, partition_rows, moc_order, steps,
                                          margin_arcsec))
        with _ingest_lock(registry):
            version = registry.data_root / f"{folder}_={uuid.uuid4().hex[:8]}"
            tmp_dir.rename(version)
            replaced = _current_version(link)
            try:
                info = registry.add_catalog(
                    CatalogInfo(src.name, src.title, src.authors, src.reference, src.description,
                                tuple(src.keywords)),
                    prepared, replace=replace,
                )
            except BaseException:
                shutil.rmtree(version, ignore_errors=True)
                raise
            if replaced is not None and replaced != version:  # kept for the queries that pinned it
                (registry.data_root / f"{_REPLACED}{replaced.name}").touch()
            _point(link, version)
            # The replaced catalogue's folders under an older naming scheme, now nobody's.
            for stale in previous - {link}:
                if not _folder_owners(registry, stale):
                    shutil.rmtree(stale, ignore_errors=True)
        for table_link in _links([t for t, _ in prepared], registry, src.name):
            registry.add_link(table_link)
        steps.update(1)
        return info
    finally:
        steps.close()
        if tmp_dir.exists():
            shutil.rmtree(tmp_dir, ignore_errors=True)


def _current_version(link: Path) -> Path | None:
    """The version folder ``link`` points to (a legacy real folder is first moved to a version folder)."""
    if link.is_symlink():
        return link.parent / os.readlink(link)
    if link.is_dir():  # ingested before versions: move it aside once and link to it
        legacy = link.with_name(f"{link.name}_={uuid.uuid4().hex[:8]}")
        link.rename(legacy)
        _point(link, legacy)
        return legacy
    return None


def _point(link: Path, version: Path) -> None:
    """Make ``link`` a relative symbolic link to ``version``, atomically (a new link renamed over it)."""
    new = link.with_name(f".tmp-link-{link.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    os.symlink(version.name, new)
    os.replace(new, link)


@contextlib.contextmanager
def _ingest_lock(registry: Registry) -> Iterator[None]:
    """Hold the exclusive lock of ``registry.data_root`` (renames, registry switch, debris removal)."""
    with open(registry.data_root / ".ingest.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def remove_replaced(registry: Registry, keep_s: float = KEEP_REPLACED_S) -> list[str]:
    """Remove the catalogue versions replaced over ``keep_s`` seconds ago (default :data:`KEEP_REPLACED_S`) and
    what killed ingests left in ``registry.data_root``; the names removed. Ingest does this too before each run.

    >>> remove_replaced(Registry("/srv/astrohub/datasets/catalogs/registry.sqlite"), keep_s=7200)  # doctest: +SKIP
    ['I_2F311_=3f0c9a7d']
    """
    _check_keep(keep_s)
    if not registry.data_root.is_dir():
        return []
    with _ingest_lock(registry):
        return _remove_debris(registry, keep_s)


def _check_keep(keep_s: float) -> None:
    if isinstance(keep_s, bool) or not isinstance(keep_s, (int, float)) or not keep_s >= 0:
        raise ValueError(f"keep {keep_s!r} seconds: give how long a replaced catalogue version stays on disk for "
                         "the queries reading it, 0 or more seconds")


def _remove_debris(registry: Registry, keep_s: float = KEEP_REPLACED_S) -> list[str]:
    """Remove what killed ingests left in ``data_root``, and the versions replaced over ``keep_s`` seconds ago
    (call with :func:`_ingest_lock` held); the names removed."""
    root = registry.data_root
    targets = {root / os.readlink(e) for e in root.iterdir() if e.is_symlink()}
    removed = []
    for entry in root.iterdir():
        name = entry.name
        if name.startswith(".tmp-"):
            pid = name.rsplit("-", 2)[-2] if name.count("-") >= 3 else ""
            if pid.isdigit() and process_alive(int(pid)):
                continue  # an ingest still writing
        elif name.startswith(_REPLACED):  # the stamp of a version still kept, else of nothing
            version = root / name[len(_REPLACED):]
            if not entry.exists() or (version.is_dir() and version not in targets):
                continue
        elif entry.is_symlink() or not (name.startswith(".old-") or ("_=" in name and entry not in targets)):
            continue
        elif "_=" in name:
            stamp = root / f"{_REPLACED}{name}"
            try:
                age = time.time() - stamp.stat().st_mtime
            except FileNotFoundError:  # never linked: a killed run's
                age = None
            if age is not None and age < keep_s:
                continue  # replaced lately: a query may still read it
            stamp.unlink(missing_ok=True)
        if entry.is_symlink() or not entry.is_dir():
            entry.unlink(missing_ok=True)
        else:
            shutil.rmtree(entry, ignore_errors=True)
        removed.append(name)
    return removed


def _folder_owners(registry: Registry, folder: Path) -> set[str]:
    """The registered catalogues with a table stored in ``folder`` (or below it)."""
    owners = set()
    folder = Path(folder)
    for row in registry.dictionary("tables"):
        path = Path(str(row["path"])) if row["path"] else None
        if path is not None and (path == folder or folder in path.parents):
            owners.add(str(row["catalog"]))
    return owners


def _catalog_folders(registry: Registry, catalog: str) -> set[Path]:
    """The catalogue folders (directly under ``registry.data_root``) that ``catalog``'s tables live in."""
    folders = set()
    root = registry.data_root
    if catalog not in {c.name for c in registry.catalogs()}:
        return folders
    for name in registry.tables(catalog):
        info = registry.get(name)
        for path in (info.hats_path, info.data_path):
            if path is not None and root in Path(path).parents:
                folders.add(root / Path(path).relative_to(root).parts[0])
    return folders


def _check_folder_owner(registry: Registry, folder: Path, catalog: str) -> None:
    """Refuse to write into a folder that holds another registered catalogue's data."""
    others = _folder_owners(registry, folder) - {catalog}
    if others:
        raise DuplicateCatalog(
            f"catalogue {catalog!r} would be stored in {str(folder)!r}, which holds the data of the registered "
            f"catalogue(s) {', '.join(sorted(repr(o) for o in others))}; ingest it under another name (--name)",
            value=catalog,
        )


def _check_table_names(src: Source) -> None:
    """Refuse a source whose tables would share a name or a storage folder."""
    seen: dict[str, str] = {}
    for st in src.tables:
        for key in (slug(st.name), slug(st.name) + ".parquet"):
            if key in seen:
                raise UnsupportedSource(
                    f"{src.name}: tables {seen[key]!r} and {st.name!r} would be stored under the same name; "
                    "rename one of the data files", value=st.name,
                )
        seen[slug(st.name)] = seen[slug(st.name) + ".parquet"] = st.name


def _ingest_table(st: SourceTable, src: Source, tmp_dir: Path, final_dir: Path, partition_rows: int,
                  moc_order: int | None, steps, margin_arcsec: float | None = DEFAULT_MARGIN_ARCSEC,
                  ) -> tuple[TableInfo, np.ndarray | None]:
    label = f"{src.name}/{st.name}"
    stated = source_frame(st.equinox, label)
    table, frame = _with_decimal_positions(st, stated)
    table = _with_decimal_angle_positions(table, label)
    table = _with_decimal_text_positions(table, label)
    steps.update(1)
    df, columns = _frame_and_columns(table, label)
    df, columns, converted = _to_icrs(df, columns, frame, label)
    position = guess_position_columns(columns)
    table_name = slug(st.name)
    # What the indexed positions are in: ICRS after a conversion, else what the source said ("" when it
    # said nothing: searched as ICRS, the HATS convention).
    equinox = "ICRS" if converted or frame != stated else st.equinox
    common = dict(name=st.name, catalog=src.name, description=st.description, equinox=equinox, epoch=st.epoch)
    if position is None:
        warnings.warn(
            f"{src.name}/{st.name}: no RA/Dec columns recognised (by UCD pos.eq.ra/dec or by name); "
            "stored without a sky index or MOC, so it cannot be cone-searched", NoPositionWarning, stacklevel=3,
        )
        out = tmp_dir / f"{table_name}.parquet"
        df.to_parquet(out, index=False)
        steps.update(2)
        return TableInfo(**common, nrows=len(df), data_path=final_dir / out.name, columns=tuple(columns)), None
    ra, dec = position
    df[ra] = df[ra].astype("float64")
    df[dec] = df[dec].astype("float64")
    out_of_range = np.isfinite(df[dec].to_numpy()) & (df[dec].abs() > 90).to_numpy()
    if out_of_range.sum() > 0.01 * len(df):  # not a stray row: the columns are not what they seem
        first = float(df[dec].to_numpy()[out_of_range][0])
        raise UnsupportedSource(
            f"{label}: column {dec!r} holds {int(out_of_range.sum())} declinations outside [-90, 90] deg "
            f"(first: {first}); it is not a declination in degrees: give its unit or UCD, or rename it",
            value=dec)
    bad = ~(np.isfinite(df[ra].to_numpy()) & np.isfinite(df[dec].to_numpy()) & (df[dec].abs() <= 90).to_numpy())
    if bad.any():
        warnings.warn(f"{src.name}/{st.name}: {int(bad.sum())} rows without a valid position were left out",
                      stacklevel=3)
        df = df[~bad].reset_index(drop=True)
    if len(df) == 0:
        raise UnsupportedSource(f"{src.name}/{st.name}: no rows with a valid position", value=st.name)
    df[ra] = df[ra] % 360.0
    columns = [c if c.name not in (ra, dec) or c.ucd else
               ColumnInfo(c.name, c.description, c.unit or "deg", "pos.eq.ra;meta.main" if c.name == ra
                          else "pos.eq.dec;meta.main", c.datatype, c.flags) for c in columns]
    _check_unsigned_64(df, label)
    out = tmp_dir / table_name
    try:
        from platform_lib.catalogs._hats import write_hats

        write_hats(df, out, name=table_name, ra_column=ra, dec_column=dec, partition_rows=partition_rows,
                   progress=steps, margin_arcsec=margin_arcsec)
    except Exception as exc:  # lsdb/hats raise many kinds
        raise CatalogError(f"{src.name}/{st.name}: writing HATS failed: {exc}", code="hats-write-failed",
                           value=st.name) from exc
    steps.update(1)
    order = moc_order if moc_order is not None else (10 if len(df) < 200_000 else 8)
    ranges = _coverage.moc_ranges_from_points(df[ra].to_numpy(), df[dec].to_numpy(), order)
    steps.update(1)
    info = TableInfo(**common, nrows=len(df), ra_column=ra, dec_column=dec, hats_path=final_dir / table_name,
                     moc_order=order, sky_fraction=_coverage.sky_fraction(ranges), columns=tuple(columns))
    return info, ranges


def _check_unsigned_64(df, label: str) -> None:
    """Refuse unsigned 64-bit values beyond the signed range: HATS's Parquet statistics, VOTable (TAP)
    and DuckDB's joins with signed ids take ``long``; FITS ``K`` columns with ``TZERO = 2**63`` hold them."""
    limit = np.iinfo(np.int64).max
    for name in df.columns:
        if str(df[name].dtype).lower() != "uint64":
            continue
        values = df[name].dropna().to_numpy(dtype=np.uint64)
        if values.size and int(values.max()) > limit:
            raise UnsupportedSource(
                f"{label}: column {name!r} holds unsigned 64-bit integers above the signed 64-bit limit "
                f"{limit} (largest: {int(values.max())}); catalogue columns (HATS Parquet, VOTable, TAP) "
                "are signed: write the column as text, or subtract 2**63, and ingest again", value=name)


@dataclass(frozen=True)
class SourceFrame:
    """The frame a table's positions are given in: ``ICRS``, ``FK5`` (equinox ``J...``) or ``FK4`` (``B...``)."""

    system: str
    equinox: str = ""

    @property
    def name(self) -> str:
        """What the registry records: ``ICRS``, or the equinox (``J2000``, ``B1950``) of an FK5/FK4 frame."""
        return "ICRS" if self.system == "ICRS" else self.equinox

    @property
    def said(self) -> str:
        """How descriptions name it: ``ICRS``, ``FK4 B1950``, ``FK5 J1975``."""
        return "ICRS" if self.system == "ICRS" else f"{self.system} {self.equinox}"

    @property
    def is_icrs(self) -> bool:
        """ICRS, or FK5 J2000, which the ingest takes as ICRS (they differ by less than 0.03 arcsec)."""
        return self.system == "ICRS" or (self.system == "FK5" and self.equinox == "J2000")

    def astropy(self):
        from astropy.coordinates import FK4, FK5, ICRS

        if self.system == "FK4":
            return FK4(equinox=self.equinox)
        if self.system == "FK5":
            return FK5(equinox=self.equinox)
        return ICRS()


def source_frame(equinox: str, label: str) -> SourceFrame:
    """The frame of a table's equatorial positions from what its source said (``""``: not said, ICRS)."""
    text = (equinox or "").strip().upper()
    if text in ("", "ICRS"):
        return SourceFrame("ICRS")
    match = re.fullmatch(r"([JB])(\d{4}(?:\.\d*)?)", text)
    if match is None:
        raise UnsupportedSource(
            f"{label}: cannot tell the frame of the positions from {equinox!r}: state it as ICRS, an FK5 "
            "equinox (J2000) or an FK4 one (B1950) in the source (FITS RADESYS/EQUINOX, VOTable COOSYS, "
            "the ReadMe's column explanations)", value=equinox)
    return SourceFrame("FK4" if match.group(1) == "B" else "FK5", f"{match.group(1)}{float(match.group(2)):g}")


def _to_icrs(df, columns: list[ColumnInfo], frame: SourceFrame, label: str):
    """Positions in another frame converted to ICRS columns ``RA_ICRS``/``DE_ICRS``, which become the index.

    FK4 (any B equinox) and FK5 at an equinox other than J2000 are converted with astropy (FK4 with
    its E-terms of aberration, at the table's own equinox as the observation time); Galactic
    longitude and latitude, in a table without equatorial positions, too. The source columns stay as
    they were; the new ones say in their description what they were computed from. Returns the
    rows, the column entries and whether positions were converted.
    """
    position = guess_position_columns(columns)
    galactic = guess_galactic_columns(columns) if position is None else None
    if position is not None and frame.is_icrs:
        return df, columns, False
    if position is None and galactic is None:
        return df, columns, False
    import astropy.units as u
    from astropy.coordinates import Galactic, SkyCoord

    lon_name, lat_name = position or galactic
    source = frame.astropy() if position is not None else Galactic()
    said = frame.said if position is not None else "Galactic l/b"
    lon = df[lon_name].to_numpy(dtype="float64", na_value=np.nan)
    lat = df[lat_name].to_numpy(dtype="float64", na_value=np.nan)
    ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90)
    ra = np.full(lon.shape, np.nan)
    dec = np.full(lon.shape, np.nan)
    if ok.any():
        icrs = SkyCoord(lon[ok] * u.deg, lat[ok] * u.deg, frame=source).icrs
        ra[ok], dec[ok] = icrs.ra.deg, icrs.dec.deg
    names = {c.name for c in columns}
    ra_name, dec_name = "RA_ICRS", "DE_ICRS"
    while ra_name in names or dec_name in names:
        ra_name, dec_name = "_" + ra_name, "_" + dec_name
    df = df.copy()
    df[ra_name], df[dec_name] = ra, dec
    demoted = [c if c.name not in (lon_name, lat_name) else
               ColumnInfo(c.name, c.description, c.unit or "deg",
                          _not_main(c.ucd), c.datatype, c.flags) for c in columns]
    added = [ColumnInfo(ra_name, f"Right ascension (ICRS), converted at ingest from {lon_name}/{lat_name} ({said})",
                        "deg", "pos.eq.ra;meta.main", "float64"),
             ColumnInfo(dec_name, f"Declination (ICRS), converted at ingest from {lon_name}/{lat_name} ({said})",
                        "deg", "pos.eq.dec;meta.main", "float64")]
    return df, demoted + added, True


def _not_main(ucd: str) -> str:
    """A position UCD without its ``meta.main`` (UCD1: ``POS_EQ_RA_MAIN`` -> ``POS_EQ_RA``)."""
    if ucd.upper().startswith("POS_EQ_") and ucd.upper().endswith("_MAIN"):
        return ucd[:-len("_MAIN")]
    return ucd.replace(";meta.main", "")


def _with_decimal_positions(st: SourceTable, frame: SourceFrame):
    """The table, with decimal positions (deg) added when it only has sexagesimal CDS columns
    (:func:`~platform_lib.catalogs._sexagesimal.with_cds_decimal_positions`), and the frame they are in:
    ``RAJ2000``/``DEJ2000`` for ICRS or FK5 J2000 positions, ``RA_ICRS``/``DE_ICRS``, converted from the
    source's frame, for any other equinox (FK4 B1950, FK5 J1975...).
    """
    table = st.table
    if not hasattr(table, "colnames"):  # a pandas DataFrame (plain Parquet): nothing sexagesimal to join
        return table, frame
    found = _sexagesimal.with_cds_decimal_positions(
        table, None if frame.is_icrs else frame.astropy(), said=f"{frame.system} {frame.equinox}")
    if found is None:
        return table, frame
    return found[0], SourceFrame("ICRS") if not frame.is_icrs else frame


def _with_decimal_angle_positions(table, label: str):
    """The table, with decimal ``<RA>_deg``/``<Dec>_deg`` columns added when its only positions are numbers in
    another angle unit (``rad``, ``hourangle``, ``arcsec``: a FITS ``TUNIT = 'rad'``), converted with astropy;
    the source columns stay. They were not recognised as positions, so the table was stored without any."""
    if not hasattr(table, "colnames"):
        return table
    import astropy.units as u

    def unit_of(col) -> str:
        if col.unit is None:
            return ""
        unit = u.Unit(col.unit, parse_strict="silent")
        return "deg" if not isinstance(unit, u.UnrecognizedUnit) and unit.is_equivalent(u.deg) else str(col.unit)

    numeric = [n for n in table.colnames if getattr(table[n], "ndim", 1) == 1 and table[n].dtype.kind in "iuf"]
    infos = [ColumnInfo(n, unit=table[n].unit.to_string() if table[n].unit is not None else "",
                        ucd=str((table[n].meta or {}).get("ucd", "")), datatype=table[n].dtype.name) for n in numeric]
    if guess_position_columns(infos) is not None:
        return table
    found = guess_position_columns([ColumnInfo(c.name, unit=unit_of(table[c.name]), ucd=c.ucd, datatype=c.datatype)
                                    for c in infos])
    if found is None:
        return table
    from platform_lib.catalogs._degrees import position_degrees

    names = set(table.colnames)
    table = table.copy(copy_data=False)
    for name, is_ra in zip(found, (True, False)):
        degrees = position_degrees(table[name], name, is_ra=is_ra, label=label)
        _add_main_degrees(table, names, name, is_ra, np.ma.MaskedArray(degrees, mask=~np.isfinite(degrees)),
                          f"{'Right ascension' if is_ra else 'Declination'} (deg), computed at ingest from "
                          f"column {name} (in {table[name].unit})")
    return table


def _add_main_degrees(table, names: set, source: str, is_ra: bool, values, description: str) -> None:
    """Add ``values`` to ``table`` as ``<source>_deg`` (a name not in ``names``, which it joins), in degrees with
    the main position's UCD, which ``source`` gives up: one main position, the decimal one."""
    import astropy.units as u

    new = f"{source}_deg"
    while new in names:
        new = "_" + new
    names.add(new)
    table[new] = values
    table[new].unit = u.deg
    table[new].description = description
    table[new].meta["ucd"] = "pos.eq.ra;meta.main" if is_ra else "pos.eq.dec;meta.main"
    source_ucd = str((table[source].meta or {}).get("ucd", ""))
    if "meta.main" in position_ucd(source_ucd):
        table[source].meta["ucd"] = _not_main(source_ucd)


def _with_decimal_text_positions(table, label: str):
    """The table, with decimal ``<RA>_deg``/``<Dec>_deg`` columns added when its only positions are
    sexagesimal text (``"05 34 31.94"``, ``"+22:00:52.2"``: CSV, ECSV and VOTable files from VizieR or
    OpenNGC); the text columns stay. The new columns are in the source's frame (converted to ICRS later,
    as numeric ones are).
    """
    if not hasattr(table, "colnames"):
        return table
    numeric = [ColumnInfo(n, unit=table[n].unit.to_string() if table[n].unit is not None else "",
                          ucd=str((table[n].meta or {}).get("ucd", "")), datatype=table[n].dtype.name)
               for n in table.colnames if getattr(table[n], "ndim", 1) == 1 and table[n].dtype.kind in "iuf"]
    if guess_position_columns(numeric) is not None:
        return table
    found = _sexagesimal.sexagesimal_position_columns(table)
    if found is None:
        return table
    names = set(table.colnames)
    table = table.copy(copy_data=False)
    for text_name, is_ra in zip(found, (True, False)):
        values, what = _sexagesimal.decimal_degrees(table[text_name], text_name, is_ra=is_ra, label=label)
        _add_main_degrees(table, names, text_name, is_ra, values,
                          f"{what.split(' in ')[0].capitalize()} (deg), computed at ingest from the sexagesimal "
                          f"text column {text_name} ({what})")
    return table


def _frame_and_columns(table, label: str):
    """The rows as a pandas DataFrame and the column dictionary entries."""
    from astropy.table import Column, MaskedColumn, Table

    if not hasattr(table, "colnames"):  # a pandas DataFrame: no units or descriptions to carry
        df = table.reset_index(drop=True)
        df.columns = [str(c) for c in df.columns]
        for name in list(df.columns):
            cells = df[name].dropna() if df[name].dtype == object else ()
            if len(cells) and isinstance(cells.iloc[0], (np.ndarray, list, tuple, dict)):  # Parquet list/struct
                warnings.warn(f"{label}: column {name!r} holds {type(cells.iloc[0]).__name__} values "
                              "(a list or struct column), which catalogue columns cannot hold; it was left out",
                              stacklevel=4)
                df = df.drop(columns=[name])
        columns = infer_ucds([ColumnInfo(name=name, datatype=_pandas_datatype(df[name])) for name in df.columns])
        return _half_floats_widened(df, [_flag_primary_key(info, df) for info in columns])
    keep = []
    for name in table.colnames:
        col = table[name]
        if not isinstance(col, (Column, MaskedColumn)) or col.ndim > 1:
            warnings.warn(f"{label}: column {name!r} ({type(col).__name__}, shape {col.shape}) is not a "
                          "scalar column and was left out", stacklevel=4)
            continue
        kind = _unstorable_kind(col)
        if kind:
            warnings.warn(f"{label}: column {name!r} holds {kind}, which catalogue columns cannot hold; "
                          "it was left out", stacklevel=4)
            continue
        keep.append(name)
    plain = Table([table[n] for n in keep], copy=False)
    for name in keep:
        if plain[name].dtype.kind == "S":
            plain[name] = _text(plain[name], label)
    try:
        df = plain.to_pandas()
    except Exception as exc:
        raise UnsupportedSource(f"{label}: cannot convert the table to columns: {exc}", value=label) from exc
    df.columns = [str(c) for c in df.columns]
    columns = []
    for name in keep:
        col = plain[name]
        unit = col.unit.to_string() if col.unit is not None else ""
        ucd = str(col.meta.get("ucd", "")) if col.meta else ""
        columns.append(ColumnInfo(name=name, description=str(col.description or ""), unit=unit, ucd=ucd,
                                  datatype=str(col.dtype.name)))
    # UCDs the source did not give, inferred with the whole table known (an error takes its column's UCD)
    columns = infer_ucds(columns)
    return _half_floats_widened(df, [_flag_primary_key(info, df) for info in columns])


def _pandas_datatype(series) -> str:
    """The dictionary datatype of a DataFrame column: a category's values' type, and for Python objects
    the type of the values (``decimal.Decimal`` -> ``decimal``, ``datetime.date`` -> ``date``, text -> ``string``)."""
    import datetime
    import decimal

    dtype = series.dtype
    if str(dtype) == "category":
        return normalize_datatype(str(dtype.categories.dtype))
    if str(dtype) == "object":
        cells = series.dropna()
        first = cells.iloc[0] if len(cells) else ""
        for kind, name in ((decimal.Decimal, "decimal"), (datetime.datetime, "timestamp"),
                           (datetime.date, "date"), (datetime.timedelta, "duration"), (bool, "bool")):
            if isinstance(first, kind):
                return name
        return "string"
    return normalize_datatype(str(dtype))


def _half_floats_widened(df, columns: list[ColumnInfo]):
    """float16 columns as float32 (every value kept): DuckDB, and so TAP, cannot read a half-float
    Parquet column, and a table holding one failed every query."""
    half = [n for n in df.columns if str(df[n].dtype) == "float16"]
    if not half:
        return df, columns
    df = df.astype({n: "float32" for n in half})
    return df, [ColumnInfo(c.name, c.description, c.unit, c.ucd, "float32", c.flags) if c.name in half else c
                for c in columns]


def _text(col, label: str):
    """A byte-string column (FITS, VOTable ``char``) as text: UTF-8 (ASCII is UTF-8), else Latin-1, the
    8-bit text of older catalogues (``Caf\xe9``), with a warning; the mask, unit and metadata kept."""
    data = np.ma.getdata(col)
    try:
        decoded = np.char.decode(data, "utf-8")
    except UnicodeDecodeError:
        warnings.warn(f"{label}: column {col.info.name!r} is not UTF-8 text; read as Latin-1", stacklevel=5)
        decoded = np.char.decode(data, "latin-1")
    out = col.__class__(decoded, name=col.info.name, unit=col.unit, description=col.description,
                        meta=dict(col.meta or {}))
    if np.ma.isMaskedArray(col):
        out.mask = np.ma.getmaskarray(col)
    return out


def _unstorable_kind(col) -> str:
    """What makes a one-dimensional column unfit for a catalogue (Parquet, TAP), or ``""``: complex
    numbers, or cells that are arrays (a VOTable ``arraysize="*"`` numeric field is an object column)."""
    if col.dtype.kind == "c":
        return "complex numbers"
    if col.dtype.kind == "O":
        cells = np.ma.getdata(col)
        if any(isinstance(v, (np.ndarray, list, tuple)) for v in cells):
            return "variable-length arrays"
    return ""


def _flag_primary_key(info: ColumnInfo, df) -> ColumnInfo:
    if looks_like_identifier(info) and df[info.name].notna().all() and df[info.name].is_unique:
        return ColumnInfo(info.name, info.description, info.unit, info.ucd, info.datatype, ("primary_key",))
    return info


def _links(tables: list[TableInfo], registry: Registry, catalog: str) -> list[Link]:
    """Links from identifier columns of the new tables: within the catalogue, and shared ids across catalogues."""
    links = []
    for i, a in enumerate(tables):
        for b in tables[i + 1:]:
            for ca in a.columns:
                if not looks_like_identifier(ca):
                    continue
                for cb in b.columns:
                    if cb.name != ca.name:
                        continue
                    if ca.is_primary_key:
                        links.append(Link(b.full_name, cb.name, a.full_name, ca.name, "foreign-key"))
                    elif cb.is_primary_key:
                        links.append(Link(a.full_name, ca.name, b.full_name, cb.name, "foreign-key"))
                    else:
                        links.append(Link(a.full_name, ca.name, b.full_name, cb.name, "shared-identifier"))
    cross = {c.name: t for t in tables for c in t.columns if c.ucd.startswith("meta.id.cross")}
    if cross:
        for other in registry.tables():
            if other.startswith(catalog + "/"):
                continue
            info = registry.get(other)
            for c in info.columns:
                if c.name in cross and c.ucd.startswith("meta.id"):
                    links.append(Link(cross[c.name].full_name, c.name, other, c.name, "shared-identifier",
                                      "same identifier column"))
    return links
