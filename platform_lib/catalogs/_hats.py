"""HATS catalogues on disk: writing one from a dataframe, and reading only the partitions a region touches.

:func:`write_hats` partitions a pandas DataFrame with ``lsdb.from_dataframe`` and writes it in the
HATS layout; :func:`add_margin_cache` gives a catalogue on disk its margin cache (hats-import).
:class:`HatsReader` answers cone, box and polygon queries itself, without Dask: it reads
``partition_info.csv``, keeps the pixel tree in memory, opens only the Parquet files of the pixels
the region touches, and keeps those (as numpy columns sorted by ``_healpix_29``) in an LRU cache so
that a repeated query costs a few ``searchsorted`` calls (integer columns with nulls stay integer,
masked). :func:`arrow_to_pandas` reads partitions into DataFrames with the same care.
:func:`cache_hats_kernels` lets hats' numba functions use numba's disk cache. Imports numpy,
pyarrow, cdshealpix, pandas and (only for writing) lsdb, hats and hats-import.
"""

from __future__ import annotations

import csv
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from platform_lib.catalogs import _coverage
from platform_lib.catalogs._errors import CatalogError, CatalogNotFound
from platform_lib.catalogs._polygon import Polygon, unit

__all__ = ["write_hats", "add_margin_cache", "HatsReader", "HatsLayout", "read_layout", "partition_file",
           "is_hats_path", "pinned", "HEALPIX_COLUMN", "arrow_to_pandas", "cache_hats_kernels"]

HEALPIX_COLUMN = "_healpix_29"
#: The finest cells a search selects (order 20: about 0.2 arcsec); a smaller region reads whole cells of this
#: size. Finer orders gain nothing and break cdshealpix (a panic in cone_search at order 29).
_FINE_MAX = 20


def pinned(path: str | Path) -> Path:
    """The folder ``path`` names now, links resolved: the catalogue version a query should read throughout.

    An ingested catalogue's folder is a link to its current version, which ``ingest(replace=True)`` switches
    to a new version folder; the replaced one stays for a while (:data:`~platform_lib.catalogs._ingest.
    KEEP_REPLACED_S`). A reader that lists partitions and reads them later opens them under the pinned
    folder, so it reads one version, all of it, even if a replace happens in between.
    """
    return Path(os.path.realpath(path))


def is_hats_path(path: str | Path) -> bool:
    """True for a folder holding a HATS catalogue (``hats.properties`` or ``properties`` inside)."""
    p = Path(path)
    return p.is_dir() and ((p / "hats.properties").exists() or (p / "properties").exists()) and (
        p / "partition_info.csv"
    ).exists()


def cache_hats_kernels() -> list[str]:
    """Make hats' numba functions cached on disk, as the platform's own kernel is; the names of those cached.

    hats compiles its pixel-tree functions (``align_trees``' ``perform_align_trees``, 6 s of CPU; the MOC
    filter) with ``@njit`` and no cache, so every process that builds a margin cache or aligns two
    catalogues (ingest, each crossmatch job, ``lsdb``) compiled them again. With numba's cache enabled
    on those dispatchers (hats' files are not changed) they are saved to and loaded from the cache
    numba picks for the platform's kernel (``$NUMBA_CACHE_DIR``, which the platform sets and seeds
    from ``astrohub kernels compile``'s cache). Call before their first use; idempotent.
    """
    from hats.pixel_tree import moc_filter, pixel_alignment
    from numba.core.caching import NullCache
    from numba.core.registry import CPUDispatcher

    names = []
    for module in (pixel_alignment, moc_filter):
        for name, value in vars(module).items():
            if isinstance(value, CPUDispatcher) and value.py_func.__module__ == module.__name__:
                if isinstance(value._cache, NullCache):
                    try:
                        value.enable_caching()
                    except RuntimeError:  # no cache folder numba can write: compiled on first use, as before
                        continue
                names.append(f"{module.__name__}.{name}")
    return names


def add_margin_cache(collection: Path, name: str, client, threshold_arcsec: float = 5.0) -> str:
    """Give the HATS catalogue ``collection/name`` a margin cache and make ``collection`` a HATS
    collection of the two (the layout ``lsdb``'s ``write_catalog`` gives a catalogue with its margin).

    The margin (the rows within ``threshold_arcsec`` outside each partition) is built by hats-import
    on ``client``'s workers, partition by partition, into ``collection/<name>_<threshold>arcs``;
    returns that folder's name.
    """
    from hats.catalog.dataset.collection_properties import CollectionProperties
    from hats_import.margin_cache.margin_cache import generate_margin_cache
    from hats_import.margin_cache.margin_cache_arguments import MarginCacheArguments

    cache_hats_kernels()  # planning the margin aligns pixel trees (hats' align_trees) in this process
    margin = f"{name}_{threshold_arcsec:g}arcs"
    generate_margin_cache(MarginCacheArguments(
        input_catalog_path=collection / name, output_path=collection, output_artifact_name=margin,
        margin_threshold=threshold_arcsec, progress_bar=False, resume=False), client)
    CollectionProperties(name=name, hats_primary_table_url=name, all_margins=[margin],
                         default_margin=margin).to_properties_file(collection)
    return margin


def partition_file(root: Path, order: int, pixel: int) -> Path:
    """The Parquet file of one partition in the HATS layout (``dataset/Norder=/Dir=/Npix=.parquet``)."""
    return root / "dataset" / f"Norder={order}" / f"Dir={pixel // 10000 * 10000}" / f"Npix={pixel}.parquet"


@dataclass(frozen=True)
class HatsLayout:
    """What a HATS catalogue folder says about itself, read from its text files (no data is read).

    ``pixels`` are the partitions as ``(order, pixel)`` pairs; ``margin`` is the collection's default
    margin cache (a layout of its own, with ``margin_arcsec``) or None.
    """

    root: Path
    properties: dict[str, str]
    pixels: tuple[tuple[int, int], ...]
    margin: HatsLayout | None = None

    @property
    def ra_column(self) -> str:
        return self.properties.get("hats_col_ra", "ra")

    @property
    def dec_column(self) -> str:
        return self.properties.get("hats_col_dec", "dec")

    @property
    def margin_arcsec(self) -> float | None:
        value = self.properties.get("hats_margin_threshold")
        return float(value) if value else None

    @property
    def plain_parquet(self) -> bool:
        """One ``.parquet`` file per partition indexed by ``_healpix_29`` (what hats-import and lsdb write)."""
        props = self.properties
        return (props.get("hats_npix_suffix", ".parquet") == ".parquet"
                and props.get("hats_col_healpix", HEALPIX_COLUMN) == HEALPIX_COLUMN
                and props.get("hats_col_healpix_order", "29") == "29")

    def file(self, order: int, pixel: int) -> Path:
        return partition_file(self.root, order, pixel)


def read_layout(path: str | Path) -> HatsLayout:
    """The :class:`HatsLayout` of a HATS catalogue folder or collection (with its default margin), its ``root``
    :func:`pinned` (the catalogue version the folder names now, whose files stay while a query reads them)."""
    path = pinned(path)
    margin = None
    if not is_hats_path(path) and (path / "collection.properties").exists():
        props = _read_properties_file(path / "collection.properties")
        name = props.get("default_margin") or (props.get("all_margins", "").split(",")[0].strip())
        if name and is_hats_path(path / name):
            margin = read_layout(path / name)
        path = _collection_primary(path)
    if not is_hats_path(path):
        raise CatalogNotFound(
            f"{str(path)!r} is not a HATS catalogue (no partition_info.csv / hats.properties): "
            "give an ingested catalogue's path or a registry name",
            value=str(path),
        )
    with open(path / "partition_info.csv", newline="") as fh:
        pixels = tuple((int(row["Norder"]), int(row["Npix"])) for row in csv.DictReader(fh))
    return HatsLayout(root=path, properties=_read_properties(path), pixels=pixels, margin=margin)


def write_hats(df, path: Path, *, name: str, ra_column: str, dec_column: str, partition_rows: int,
               progress=None, margin_arcsec: float | None = None) -> None:
    """Write ``df`` as a HATS catalogue at ``path`` (replacing nothing: ``path`` must not exist).

    ``progress``, a tqdm bar, gets one more step of ``total`` per partition once the partitioning is
    known, and advances as each partition's Parquet file is written. With ``margin_arcsec``, ``path``
    becomes a HATS collection of the catalogue (``path/<name>``) and its margin cache of that width
    (``path/<name>_<margin>arcs``, the collection's default margin), computed in this process, so the
    catalogue can be the right side of a crossmatch on Dask; :func:`read_layout` and ``lsdb.open_catalog``
    open either layout from ``path``.
    """
    import warnings

    import lsdb

    cache_hats_kernels()  # lsdb's margin and writing filter and align pixel trees (hats' numba) in this process
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        catalog = lsdb.from_dataframe(
            df,
            ra_column=ra_column,
            dec_column=dec_column,
            catalog_name=name,
            partition_rows=partition_rows,
            margin_threshold=margin_arcsec,
            should_generate_moc=False,
        )
        collection = margin_arcsec is not None
        if progress is None:
            catalog.write_catalog(path, progress_bar=False, as_collection=collection)
            return
        progress.total += len(catalog.get_healpix_pixels())
        progress.refresh()
        with _partition_progress(progress):
            catalog.write_catalog(path, progress_bar=False, as_collection=collection)


def _partition_progress(bar):
    """A Dask local callback advancing ``bar`` each time lsdb finishes writing a partition (``perform_write``)."""
    from dask.callbacks import Callback

    lock = threading.Lock()

    def posttask(key, result, dsk, state, worker_id) -> None:
        name = key[0] if isinstance(key, tuple) else key
        if str(name).startswith("perform_write"):
            with lock:
                bar.update(1)

    return Callback(posttask=posttask)


class _Partition:
    """One partition's columns as numpy arrays, sorted by ``_healpix_29``."""

    __slots__ = ("hp", "ra", "dec", "columns", "nbytes")

    def __init__(self, table, ra_column: str, dec_column: str) -> None:
        import pyarrow as pa

        hp = table.column(HEALPIX_COLUMN).to_numpy().astype(np.uint64)
        order = None if np.all(hp[1:] >= hp[:-1]) else np.argsort(hp, kind="stable")
        self.columns: dict[str, np.ndarray] = {}
        for name in table.column_names:
            col = table.column(name)
            if col.null_count:
                mask = col.is_null().to_numpy(zero_copy_only=False)
                if pa.types.is_integer(col.type) or pa.types.is_boolean(col.type):
                    # pyarrow turns integers with nulls into float64 (NaN): fill, keep the type, mask
                    col = col.fill_null(False if pa.types.is_boolean(col.type) else 0)
                arr = np.ma.MaskedArray(col.to_numpy(zero_copy_only=False), mask=mask)
            else:
                arr = col.to_numpy(zero_copy_only=False)
            self.columns[name] = arr if order is None else arr[order]
        self.hp = hp if order is None else hp[order]
        self.ra = np.radians(np.asarray(self.columns[ra_column], dtype=float))
        self.dec = np.radians(np.asarray(self.columns[dec_column], dtype=float))
        self.nbytes = sum(getattr(a, "nbytes", 0) for a in self.columns.values())


class HatsReader:
    """Region queries on one HATS catalogue, reading only the touched partitions.

    Parameters
    ----------
    path
        The HATS catalogue folder (the one holding ``partition_info.csv``), or a collection folder.
    cache_bytes
        The most partition data kept in memory for warm queries (least recently used first out).
    """

    def __init__(self, path: str | Path, *, cache_bytes: int = 512 * 2**20) -> None:
        layout = read_layout(path)
        self.path = layout.root
        self.properties = layout.properties
        self.ra_column = layout.ra_column
        self.dec_column = layout.dec_column
        self._pixels = set(layout.pixels)
        self.orders = sorted({o for o, _ in layout.pixels})
        self.max_order = max(self.orders) if self.orders else 0
        self._cache: OrderedDict[tuple[int, int, tuple[str, ...] | None], _Partition] = OrderedDict()
        self._cache_bytes = cache_bytes
        self._lock = threading.Lock()
        self._schema_names: list[str] | None = None
        self._schema_types: dict[str, np.dtype] | None = None

    # -- partition pruning (pure) ------------------------------------------------------------
    def partitions_for_cells(self, cells: np.ndarray, depth: int) -> list[tuple[int, int]]:
        """The partitions holding any of the order-``depth`` ``cells`` (``depth`` >= every partition order)."""
        found = set()
        for order in self.orders:
            if order > depth:
                raise ValueError("depth must be at least the deepest partition order")
            parents = np.unique(cells >> np.uint64(2 * (depth - order)))
            for p in parents.tolist():
                if (order, p) in self._pixels:
                    found.add((order, p))
        return sorted(found)

    def column_names(self) -> list[str]:
        """The catalogue's columns (from the dataset's ``_common_metadata``), without ``_healpix_29``."""
        if self._schema_names is None:
            import pyarrow.parquet as pq

            meta = self.path / "dataset" / "_common_metadata"
            names = pq.read_schema(meta).names if meta.exists() else []
            self._schema_names = [n for n in names if n != HEALPIX_COLUMN and not n.startswith("__")]
        return list(self._schema_names)

    def column_dtype(self, name: str) -> np.dtype:
        """The numpy type of a column's values (from ``_common_metadata``): text is ``str``, unknown float64."""
        if self._schema_types is None:
            import pyarrow as pa
            import pyarrow.parquet as pq

            meta = self.path / "dataset" / "_common_metadata"
            types = {}
            for f in (pq.read_schema(meta) if meta.exists() else []):
                if pa.types.is_string(f.type) or pa.types.is_large_string(f.type):
                    types[f.name] = np.dtype("U1")
                else:
                    try:
                        types[f.name] = np.dtype(f.type.to_pandas_dtype())
                    except (NotImplementedError, TypeError):
                        types[f.name] = np.dtype(object)
            self._schema_types = types
        return self._schema_types.get(name, np.dtype("float64"))

    # -- reading ---------------------------------------------------------------------------
    def _partition(self, order: int, pixel: int, columns: tuple[str, ...] | None) -> _Partition:
        key = (order, pixel, columns)
        with self._lock:
            part = self._cache.get(key)
            if part is not None:
                self._cache.move_to_end(key)
                return part
        import pyarrow.parquet as pq

        file = partition_file(self.path, order, pixel)
        wanted = None
        if columns is not None:
            wanted = list(dict.fromkeys([*columns, self.ra_column, self.dec_column, HEALPIX_COLUMN]))
        try:
            table = pq.read_table(file, columns=wanted)
        except (OSError, KeyError) as exc:
            raise CatalogError(f"cannot read partition {file}: {exc}", code="partition-unreadable", value=str(file)) from exc
        part = _Partition(table, self.ra_column, self.dec_column)
        with self._lock:
            self._cache[key] = part
            total = sum(p.nbytes for p in self._cache.values())
            while total > self._cache_bytes and len(self._cache) > 1:
                _, old = self._cache.popitem(last=False)
                total -= old.nbytes
        return part

    def clear_cache(self) -> None:
        """Forget every cached partition (the next query is cold)."""
        with self._lock:
            self._cache.clear()

    def _gather(self, cells: np.ndarray, depth: int, columns, keep) -> dict[str, np.ndarray]:
        """Rows in the order-``depth`` ``cells`` that pass ``keep(ra_rad, dec_rad)``, as columns."""
        cols = tuple(columns) if columns is not None else None
        ranges = _coverage.cells_to_ranges(cells, depth)
        pieces: list[dict[str, np.ndarray]] = []
        for order, pixel in self.partitions_for_cells(cells, depth):
            part = self._partition(order, pixel, cols)
            lo = np.searchsorted(part.hp, ranges[:, 0], side="left")
            hi = np.searchsorted(part.hp, ranges[:, 1], side="left")
            nonempty = hi > lo
            if not nonempty.any():
                continue
            lo, hi = lo[nonempty], hi[nonempty]
            if len(lo) == 1:
                idx = np.arange(lo[0], hi[0])
            else:
                lengths = hi - lo
                idx = np.repeat(lo - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
            idx = idx[keep(part.ra[idx], part.dec[idx])]
            if idx.size:
                names = cols if cols is not None else [n for n in part.columns if n != HEALPIX_COLUMN]
                pieces.append({n: part.columns[n][idx] for n in names})
        return _concat(pieces, cols if cols is not None else None, self)

    def cone(self, ra_deg: float, dec_deg: float, radius_deg: float, columns=None) -> dict[str, np.ndarray]:
        """Rows within ``radius_deg`` of (``ra_deg``, ``dec_deg``), as a dict of numpy columns."""
        depth = _fine_depth(radius_deg, self.max_order)
        cells, _ = _coverage.cone_cells(ra_deg, dec_deg, radius_deg, depth)
        ra0, dec0 = np.radians(ra_deg), np.radians(dec_deg)
        hav_r = np.sin(np.radians(min(radius_deg, 180.0)) / 2) ** 2
        cos_d0 = np.cos(dec0)

        def keep(ra, dec):  # the haversine form: exact for small radii, where 1 - cos loses digits
            return np.sin((dec - dec0) / 2) ** 2 + cos_d0 * np.cos(dec) * np.sin((ra - ra0) / 2) ** 2 <= hav_r

        return self._gather(cells, depth, columns, keep)

    def box(self, ra_min: float, ra_max: float, dec_min: float, dec_max: float, columns=None) -> dict[str, np.ndarray]:
        """Rows with RA in [``ra_min``, ``ra_max``] (wrapping through 0 when ``ra_min > ra_max``) and Dec in range."""
        extent = (ra_max - ra_min) % 360 or 360.0
        size = max(extent * np.cos(np.radians(max(abs(dec_min), abs(dec_max)))), dec_max - dec_min)
        depth = _fine_depth(size / 4, self.max_order)
        cells = _coverage.box_cells(ra_min, ra_max, dec_min, dec_max, depth)
        lo_r, hi_r = np.radians(ra_min), np.radians(ra_max)  # both in [0, 360]; [360, 0] is RA 0 alone
        dlo, dhi = np.radians(dec_min), np.radians(dec_max)
        wrap = ra_min > ra_max

        def keep(ra, dec):
            ra = np.mod(ra, 2 * np.pi)
            in_ra = ((ra >= lo_r) | (ra <= hi_r)) if wrap else ((ra >= lo_r) & (ra <= hi_r))
            return in_ra & (dec >= dlo) & (dec <= dhi)

        return self._gather(cells, depth, columns, keep)

    def polygon(self, ra_deg: np.ndarray, dec_deg: np.ndarray, columns=None) -> dict[str, np.ndarray]:
        """Rows inside the spherical polygon with the given vertices (great-circle edges, within a hemisphere).

        Raises ``ValueError`` when the vertices do not all lie within
        :data:`~platform_lib.catalogs._polygon.MAX_CAP_DEG` of one point.
        """
        poly = Polygon(ra_deg, dec_deg)
        depth = _fine_depth(poly.radius_deg / 32, self.max_order)  # cells ~1/32 of the polygon: tight caps
        cells = poly.cells(depth)

        def keep(ra, dec):
            return poly.contains(unit(ra, dec))

        return self._gather(cells, depth, columns, keep)


def _fine_depth(radius_deg: float, min_depth: int) -> int:
    """A cell order whose cells are about the region's size (so a handful cover it), >= ``min_depth``."""
    # Order-k cells are about 58.6 / 2**k degrees across.
    k = int(np.floor(np.log2(58.6 / max(radius_deg * 2, 1e-7))))
    return int(min(_FINE_MAX, max(min_depth, k)))


def _concat(pieces, cols, reader: HatsReader) -> dict[str, np.ndarray]:
    if not pieces:
        names = list(cols) if cols is not None else reader.column_names()
        return {n: np.empty(0, dtype=reader.column_dtype(n)) for n in names}
    if len(pieces) == 1:
        return pieces[0]
    out = {}
    for n in pieces[0]:
        arrays = [p[n] for p in pieces]
        out[n] = np.ma.concatenate(arrays) if any(np.ma.isMaskedArray(a) for a in arrays) else np.concatenate(arrays)
    return out


def arrow_to_pandas(table):
    """A pyarrow Table as a DataFrame whose integer and boolean columns with nulls keep their type
    (pandas' nullable ``Int16``, ``boolean``...) instead of pyarrow's default float64 / object."""
    import pandas as pd
    import pyarrow as pa

    nullable = {pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(),
                pa.int64(): pd.Int64Dtype(), pa.uint8(): pd.UInt8Dtype(), pa.uint16(): pd.UInt16Dtype(),
                pa.uint32(): pd.UInt32Dtype(), pa.uint64(): pd.UInt64Dtype(), pa.bool_(): pd.BooleanDtype()}
    df = table.to_pandas()
    for name, col in zip(table.column_names, table.columns):
        if col.null_count and col.type in nullable:
            df[name] = col.to_pandas(types_mapper=nullable.get)
    return df


def _read_properties(path: Path) -> dict[str, str]:
    props: dict[str, str] = {}
    for name in ("hats.properties", "properties"):
        file = path / name
        if file.exists():
            for line in file.read_text().splitlines():
                if "=" in line and not line.lstrip().startswith("#"):
                    key, _, value = line.partition("=")
                    props.setdefault(key.strip(), value.strip())
    return props


def _collection_primary(path: Path) -> Path:
    props = _read_properties_file(path / "collection.properties")
    primary = props.get("hats_primary_table_url", "")
    return path / primary if primary else path


def _read_properties_file(file: Path) -> dict[str, str]:
    out = {}
    for line in file.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out
