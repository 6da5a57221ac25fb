"""A whole HATS catalogue on disk as the in-memory crossmatch reads it: pyarrow on its files, no lsdb, hats or Dask.

Owns what ``_touched`` asks of a catalogue given as a HATS path or a registry name, answered as LSDB answers it for
the same folder (``lsdb.open_catalog``), so that the in-memory path gives the Dask path's output without importing
lsdb and, through it, dask.dataframe, hats, nested-pandas and mocpy (about 3 s of a first crossmatch in a fresh
kernel, docs/benchmarks.md): the checks of its coordinates from the Parquet statistics (``_dask._check_catalog``),
its rows with coordinates (``_dask._rows_of``), its fastest proper motion, the partitions that cones touch
(``_partitions.touched_pixels``, as ``moc_search(..., fine=False)``) and their rows (their footers), those
partitions read as one DataFrame with LSDB's columns, types and row order (``catalog.compute()``), and the whole
catalogue's per-cell counts for the prior of match probabilities. The layout is HATS's: ``dataset/Norder=K/Dir=D/
Npix=N.parquet``, a collection's primary catalogue (its margin cache is not needed: every partition a cone
touches is read). What it cannot read so (another file layout, no partitions, an LSDB catalogue object) is None
from :func:`open_on_disk`, and goes through lsdb as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from platform_lib.catalogs import HEALPIX_COLUMN, HatsLayout, read_layout
from platform_lib.crossmatch._epoch import Motion
from platform_lib.crossmatch._errors import warn_dropped
from platform_lib.crossmatch._inputs import check_latitudes, merged_counts, positions
from platform_lib.crossmatch._partitions import (
    check_own_coords,
    max_proper_motion,
    range29,
    read_partition,
    schema_file,
    touched_pixels,
)
from platform_lib.crossmatch._sides import NAMED, catalogue_folder, kind_of

__all__ = ["OnDiskCatalogue", "open_on_disk"]


@dataclass(frozen=True)
class OnDiskCatalogue:
    """A HATS catalogue folder in plain Parquet partitions; ``pixels`` in LSDB's order (the sky's: order-29 ranges)."""

    layout: HatsLayout
    pixels: tuple[tuple[int, int], ...]

    @property
    def ra_column(self) -> str:
        return self.layout.ra_column

    @property
    def dec_column(self) -> str:
        return self.layout.dec_column

    @property
    def schema(self) -> pa.Schema:
        return pq.read_schema(schema_file(self.layout))

    @property
    def columns(self) -> list[str]:
        """The columns LSDB shows (HATS's own ``_healpix_29`` is its index)."""
        return [n for n in self.schema.names if n != HEALPIX_COLUMN and not n.startswith("__")]

    def column_stats(self, columns: list[str]) -> dict[str, tuple[float, float, int]] | None:
        """``{column: (min, max, nulls)}`` over every row group (``dataset/_metadata``, else each partition's
        footer; no data is read); None where a row group with rows has no statistics."""
        summary = self.layout.root / "dataset" / "_metadata"
        footers = [pq.read_metadata(summary)] if summary.exists() else [pq.read_metadata(self.layout.file(*p))
                                                                         for p in self.pixels]
        out = {}
        for column in columns:
            lo, hi, nulls = np.inf, -np.inf, 0
            for meta in footers:
                index = meta.schema.to_arrow_schema().get_field_index(column)
                if index < 0:
                    return None
                for g in range(meta.num_row_groups):
                    group = meta.row_group(g)
                    stats = group.column(index).statistics
                    if not group.num_rows:
                        continue
                    if stats is None or not stats.has_null_count:
                        return None
                    nulls += int(stats.null_count)
                    if stats.has_min_max:
                        lo, hi = min(lo, float(stats.min)), max(hi, float(stats.max))
                    elif stats.null_count < group.num_rows:
                        return None
            out[column] = (lo, hi, nulls)
        return out

    def check(self, coords, side: str) -> None:
        """As ``_dask._check_catalog``: matched on its own coordinates; missing ones warned of; latitudes in range."""
        own = (self.ra_column, self.dec_column)
        check_own_coords(own, coords, side, available=self.columns)
        stats = self.column_stats(list(own))
        if stats is None:
            return
        nulls = max(stats[c][2] for c in own)
        if nulls:
            warn_dropped(nulls, side, own)
        lo, hi, _ = stats[own[1]]
        check_latitudes(np.array([v for v in (lo, hi) if np.isfinite(v)]), side)

    def rows(self) -> int:
        """Rows with coordinates: the catalogue's row count (``hats_nrows``) less the most missing coordinates of
        either column (as ``_dask._rows_of``); counted from the files when the properties do not say."""
        own = [self.ra_column, self.dec_column]
        total = int(self.layout.properties.get("hats_nrows") or 0)
        if not total:
            frame = self.read(self.pixels, columns=own)
            return int(len(frame.dropna()))
        stats = self.column_stats(own)
        return total - (max(s[2] for s in stats.values()) if stats is not None else 0)

    def max_proper_motion(self, motion: Motion | None, side: str) -> float:
        """The largest total proper motion (mas/yr): from the Parquet statistics, else one pass over the two
        columns (as ``_dask._max_proper_motion``); 0 when the columns are missing (``_api`` named them first)."""
        if motion is None or any(c not in self.columns for c in motion.pm):
            return 0.0
        fastest = max_proper_motion(self.layout, motion, side)
        if fastest is not None:
            return fastest
        frame = self.read(self.pixels, columns=list(motion.pm))
        ext = np.nan_to_num(frame.abs().max().to_numpy(dtype=np.float64, na_value=np.nan))
        return float(np.hypot(ext[0], ext[1]))

    def touched(self, lon: np.ndarray, lat: np.ndarray, reach_arcsec: float) -> list[tuple[int, int]]:
        """The partitions the cones of ``reach_arcsec`` around (lon, lat) touch, in LSDB's order."""
        return touched_pixels(self.pixels, lon, lat, reach_arcsec)

    def partition_rows(self, pixels) -> int:
        """The rows of ``pixels``, from their Parquet footers."""
        return sum(pq.read_metadata(self.layout.file(*p)).num_rows for p in pixels)

    def read(self, pixels, columns: list[str] | None = None) -> pd.DataFrame:
        """The rows of ``pixels`` as one DataFrame, as LSDB computes them: partition after partition in the order
        given, each in its file's order, the catalogue's columns (all, or ``columns``) with pyarrow types (its
        ``_common_metadata`` schema), a fresh index."""
        schema = self.schema
        names = [n for n in (columns or self.columns)]
        schema = pa.schema([schema.field(n) for n in names])
        tables = [read_partition(self.layout, *p).select(names).cast(schema) for p in pixels]
        table = pa.concat_tables(tables) if tables else schema.empty_table()
        return table.to_pandas(types_mapper=pd.ArrowDtype, ignore_metadata=True)

    def read_all(self) -> pd.DataFrame:
        """The whole catalogue, as :meth:`read` reads partitions (LSDB's ``catalog.compute()``)."""
        return self.read(self.pixels)

    def cell_counts(self, motion: Motion | None, depth: int) -> tuple[np.ndarray, np.ndarray]:
        """The whole catalogue's (propagated) positions counted per HEALPix cell of ``depth``, partition by partition,
        as ``_dask._cell_counts`` and ``merged_counts`` give them."""
        from platform_lib.crossmatch._bayes import cell_counts

        wanted = [self.ra_column, self.dec_column, *(motion.pm if motion is not None else ())]
        parts = []
        for p in self.pixels:
            df = self.read([p], columns=list(dict.fromkeys(wanted)))
            lon, lat = positions(df, self, motion)
            ok = np.isfinite(lon) & np.isfinite(lat)
            cells, n = cell_counts(lon[ok], lat[ok], depth)
            parts.append(pd.DataFrame({"cell": cells.astype(np.int64), "n": n}))
        return merged_counts(pd.concat(parts) if parts else pd.DataFrame({"cell": [], "n": []}, dtype=np.int64))


def open_on_disk(obj, coords, side: str, *, check: bool = True) -> OnDiskCatalogue | None:
    """The catalogue a HATS path or registry name (or ``TableInfo``) names, checked as ``_dask.open_catalog`` checks
    it (a name resolved, a missing folder ``not-found``, its coordinates); None for anything this module does not
    read (an LSDB catalogue, another HATS file layout, a catalogue with no partitions), which lsdb opens instead."""
    if kind_of(obj) != NAMED:
        return None
    path = catalogue_folder(obj, side)
    try:
        layout = read_layout(path)  # pinned: the version the folder names now, read throughout
    except Exception:  # noqa: BLE001 - not a folder this reader takes: lsdb opens it, or names the problem
        return None
    if not layout.plain_parquet or not layout.pixels:
        return None
    cat = OnDiskCatalogue(layout, tuple(sorted(layout.pixels, key=lambda p: range29(*p))))
    if check:  # (the RA-in-hours check opens a side the match checks and warns about itself)
        cat.check(coords, side)
    return cat
