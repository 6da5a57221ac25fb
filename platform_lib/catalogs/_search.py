"""Region searches on ingested catalogues (cone, box, polygon), by registry name or HATS path.

Turns the public arguments (SkyCoord, angular Quantity) into degrees, finds the HATS folder, and
asks a cached :class:`~platform_lib.catalogs._hats.HatsReader` for the rows; results come back as an
astropy Table carrying the registry's units and descriptions. The reader cache (one reader per HATS
folder, each with its own partition LRU) is what makes repeated queries warm; a reader is rebuilt
when its folder was rewritten (re-ingest with ``replace=True``), so searches never see stale data.
"""

from __future__ import annotations

import difflib
import functools
import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from platform_lib.catalogs._errors import CatalogNotFound, UnknownColumn
from platform_lib.catalogs._hats import HatsReader, is_hats_path
from platform_lib.catalogs._registry import Registry, TableInfo, _position_deg

__all__ = ["cone_search", "box_search", "polygon_search", "reader_for", "resolve"]


_READERS_MAX = 64
_readers: OrderedDict[str, tuple[tuple, HatsReader]] = OrderedDict()
_readers_lock = threading.Lock()


def _generation(path: str) -> tuple:
    """What identifies one write of the HATS folder: the folder's and its partition list's inode and mtime.

    Ingest with ``replace=True`` renames a new folder into place, so a replaced catalogue at the same
    path gets a new generation and the cached reader (with its partitions) is dropped.
    """
    key: list = []
    for p in (path, os.path.join(path, "partition_info.csv")):
        try:
            st = os.stat(p)
        except OSError:
            key.append(None)
        else:
            key.append((st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size))
    return tuple(key)


def _reader(path: str) -> HatsReader:
    """The cached reader of the HATS folder at ``path``, rebuilt when the folder was rewritten."""
    generation = _generation(path)
    with _readers_lock:
        cached = _readers.get(path)
        if cached is not None and cached[0] == generation:
            _readers.move_to_end(path)
            return cached[1]
    reader = HatsReader(path)
    with _readers_lock:
        _readers[path] = (generation, reader)
        _readers.move_to_end(path)
        while len(_readers) > _READERS_MAX:
            _readers.popitem(last=False)
    return reader


@functools.lru_cache(maxsize=8)
def _registry(path: str) -> Registry:
    return Registry(path, readonly=True)


#: What to do with a table file given where a catalogue is expected.
READ_IT_FIRST = ("read a file of yours into a table first (astropy's Table.read(path), or "
                 "Storage().read_table('home:<path>')) and pass the table")


def _a_table_file(name, not_in_registry: str = "") -> str | None:
    """What is wrong when ``name``, which is no HATS folder, is (or is named like) a table file; else None."""
    from platform_lib.catalogs._readers import _FORMATS, _suffix

    path = Path(name)
    if path.is_file():
        return f"{str(name)!r} is a file, not a catalogue: {READ_IT_FIRST}"
    if _suffix(path) in _FORMATS:
        return f"{str(name)!r}: no such file ({path.absolute()}); {not_in_registry}; {READ_IT_FIRST}"
    return None


def resolve(name_or_path, registry: Registry | None = None) -> tuple[Path, TableInfo | None]:
    """The HATS folder for a registry name or a path, and the registry's table entry when there is one."""
    if not isinstance(name_or_path, (str, os.PathLike, TableInfo)):  # its repr (a whole table) was the error message
        raise TypeError(f"name_or_path must be a catalogue's registry name (e.g. 'I/311'), a HATS folder's path or a "
                        f"TableInfo, not {type(name_or_path).__name__}: a table in memory is searched by selecting its "
                        "rows, e.g. table[SkyCoord(table['ra'], table['dec']).separation(center) < radius]")
    if isinstance(name_or_path, (str, os.PathLike)) and Path(name_or_path).is_file():
        raise CatalogNotFound(_a_table_file(name_or_path), value=str(name_or_path))
    if isinstance(name_or_path, TableInfo):
        info = name_or_path
    elif isinstance(name_or_path, Path) or (isinstance(name_or_path, str) and is_hats_path(name_or_path)):
        return Path(name_or_path), None
    else:
        if registry is None:
            from platform_lib.settings import get_settings

            path = get_settings().registry_path
            if path is None:
                raise CatalogNotFound(
                    f"{name_or_path!r} is not a HATS folder and no registry is configured "
                    "(PLATFORM_CATALOG_REGISTRY / PLATFORM_DATASETS)", value=str(name_or_path))
            registry = _registry(str(path))
        try:
            info = registry.get(str(name_or_path))
        except CatalogNotFound as exc:
            file = _a_table_file(name_or_path, str(exc))
            if file is None:
                raise
            raise CatalogNotFound(file, value=str(name_or_path)) from None
    if info.hats_path is None:
        raise CatalogNotFound(
            f"table {info.full_name!r} has no position columns, so it has no sky index to search; "
            f"read its rows from {info.data_path}", value=info.full_name)
    return info.hats_path, info


def reader_for(name_or_path, registry: Registry | None = None) -> HatsReader:
    """The cached :class:`HatsReader` for a registry name or a HATS path."""
    path, _ = resolve(name_or_path, registry)
    return _reader(str(path))


def native_text(values: np.ndarray) -> np.ndarray:
    """Text held as Python objects (pyarrow's strings; astropy's ``Table.from_pandas`` of an Arrow or pandas
    string column) as a numpy ``str`` column, nulls (None, pandas' NA) masked: an object column cannot be
    written to FITS, VOTable, Parquet or HDF5, nor compared or sorted as text. Anything else as it is."""
    if values.dtype.kind != "O":
        return values
    data = np.ma.getdata(values)
    missing = np.ma.getmaskarray(values) | np.array([v is None or v is _pandas_na() for v in data], dtype=bool)
    first = next((v for v in data[~missing][:1]), "")
    if not isinstance(first, (str, bytes)):
        return values  # not text (lists, structs, decimals): left as they are
    if isinstance(first, bytes):
        data = np.array([b"" if v is None else v for v in data], dtype=bytes)
        array = np.char.decode(data, "utf-8", "replace") if data.size else np.array([], dtype="U1")
    else:
        array = np.asarray(np.where(missing, "", data).astype(str)) if data.size else np.array([], dtype="U1")
    return np.ma.MaskedArray(array, mask=missing) if missing.any() else array


def _pandas_na():
    """pandas' missing value ``NA`` (pandas is there whenever a frame made the column), or a marker no value is."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        return object()
    return pd.NA


def _wanted(columns, reader: HatsReader, name_or_path) -> list[str] | None:
    """``columns=`` of a search as a list (one name may be given alone), each one checked against the catalogue's:
    a name it does not have is an :class:`UnknownColumn` naming the closest it has and all of them, not pyarrow's
    "No match for FieldRef.Name(...)" with the file's schema (first21)."""
    if columns is None:
        return None
    columns = [columns] if isinstance(columns, str) else list(columns)
    known = reader.column_names()
    if not known:  # no _common_metadata to check against: the partitions' own error
        return columns
    folded = {k.casefold(): k for k in known}
    for column in columns:
        if column in known:
            continue
        close = [folded[c] for c in difflib.get_close_matches(str(column).casefold(), folded, n=1, cutoff=0.6)]
        hint = f"; did you mean {close[0]!r}?" if close else ";"
        label = getattr(name_or_path, "full_name", name_or_path)
        raise UnknownColumn(f"catalogue {str(label)!r} has no column {column!r}{hint} its columns: {', '.join(known)}",
                            value=column, columns=known)
    return columns


def _to_table(columns: dict[str, np.ndarray], info: TableInfo | None):
    from astropy.table import Table

    table = Table({name: native_text(values) for name, values in columns.items()}, copy=False)
    if info is not None:
        described = {c.name: c for c in info.columns}
        for name in table.colnames:
            c = described.get(name)
            if c is not None:
                if c.unit:
                    try:
                        table[name].unit = c.unit
                    except ValueError:
                        pass
                if c.description:
                    table[name].description = c.description
                if c.ucd:
                    table[name].meta["ucd"] = c.ucd
    return table


def cone_search(name_or_path, center, radius, columns: list[str] | None = None, *, registry: Registry | None = None):
    """Rows within ``radius`` of ``center`` in an ingested catalogue, reading only the partitions it touches.

    Parameters
    ----------
    name_or_path : str or Path or TableInfo
        A registry table name (``J/A+A/511/A56/table1``) or a HATS catalogue folder.
    center : `~astropy.coordinates.SkyCoord` or str
        A position, as a SkyCoord or as text (``"03h47m24s +24d07m00s"``, ``"56.85 24.12"`` in degrees), or the
        name of an object the platform resolves offline (``"M45"``, ``"Pleiades"``, ``"Vega"``:
        :func:`platform_lib.skyposition.sky_position`).
    radius : `~astropy.units.Quantity` (angle) or str
        ``2 * u.arcmin``, or text with its unit: ``"2 arcmin"`` (:func:`platform_lib.skyangle.sky_angle`).
    columns : list of str, optional
        The columns to return (default: all; position columns are always read).
    registry : Registry, optional
        Where to look the name up (default: the one in the platform settings).

    Returns
    -------
    `~astropy.table.Table`

    Examples
    --------
    >>> from astropy.coordinates import SkyCoord; import astropy.units as u
    >>> from platform_lib.catalogs import cone_search
    >>> cone_search("I/311", "Pleiades", 1 * u.deg)  # doctest: +SKIP
    >>> cone_search("OpenNGC", SkyCoord(10.68 * u.deg, 41.27 * u.deg), "2 deg", columns=["name", "type"])  # doctest: +SKIP
    """
    ra, dec, r = _position_deg(center, radius, "center")
    path, info = resolve(name_or_path, registry)
    reader = _reader(str(path))
    return _to_table(reader.cone(ra, dec, r, _wanted(columns, reader, name_or_path)), info)


def box_search(name_or_path, ra_range, dec_range, columns: list[str] | None = None, *,
               registry: Registry | None = None):
    """Rows with RA in ``ra_range`` and Dec in ``dec_range`` (each a 2-element angular Quantity).

    An RA range whose first value exceeds its second wraps through RA 0 (``[350, 10] * u.deg``).
    """
    import astropy.units as u

    for value, label in ((ra_range, "ra_range"), (dec_range, "dec_range")):
        if not isinstance(value, u.Quantity) or not value.unit.is_equivalent(u.deg) or value.shape != (2,):
            raise TypeError(f"{label} must be a 2-element angular Quantity such as [10, 20] * u.deg, not {value!r}")
    ra_min, ra_max = (float(x) % 360 if float(x) != 360 else 360.0 for x in ra_range.to_value(u.deg))
    dec_min, dec_max = sorted(float(x) for x in dec_range.to_value(u.deg))
    path, info = resolve(name_or_path, registry)
    reader = _reader(str(path))
    return _to_table(reader.box(ra_min, ra_max, dec_min, dec_max, _wanted(columns, reader, name_or_path)), info)


def polygon_search(name_or_path, vertices, columns: list[str] | None = None, *, registry: Registry | None = None):
    """Rows inside the spherical polygon whose vertices are the SkyCoord array ``vertices`` (>= 3, < a hemisphere)."""
    from astropy.coordinates import SkyCoord

    if not isinstance(vertices, SkyCoord) or vertices.isscalar or len(vertices) < 3:
        raise TypeError("vertices must be a SkyCoord array of at least 3 positions")
    icrs = vertices.icrs
    path, info = resolve(name_or_path, registry)
    reader = _reader(str(path))
    return _to_table(reader.polygon(icrs.ra.deg, icrs.dec.deg, _wanted(columns, reader, name_or_path)), info)
