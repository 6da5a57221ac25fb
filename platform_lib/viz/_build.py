"""One call to build a HiPS from what the platform holds: a registry catalogue, a HATS folder (a job's
output), or an in-memory table.

A HATS catalogue is built per partition by Dask (:mod:`platform_lib.viz._cluster`): on the
``distributed`` client given or current (the user's dask-gateway cluster), else Dask's threaded
scheduler here; only the columns the tiles need are read, with the ``_healpix_29`` index HATS already
carries, and the client never holds the catalogue. An in-memory table is planned in one pass of sorts
(:mod:`platform_lib.viz._hips`). May import lsdb, the catalogue registry, and this package's modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from platform_lib.arglists import list_of
from platform_lib.viz._errors import HipsError
from platform_lib.viz._cluster import cluster_catalog_hips, cluster_density_counts, current_client
from platform_lib.viz._hips import (
    CatalogHipsSpec,
    catalog_hips_parts,
    density_map,
    healpix29,
    write_catalog_hips,
    write_density_hips,
)

__all__ = ["build_catalog_hips", "build_density_hips", "pick_magnitude"]

#: How many columns besides the position and magnitude a tile carries by default.
DEFAULT_EXTRA_COLUMNS = 6
_INTERNAL = {"_healpix_29", "Norder", "Dir", "Npix", "__index_level_0__"}


def pick_magnitude(columns: list[str], ucds: dict[str, str] | None = None) -> str | None:
    """The column to rank sources by (brightest first): one with a ``phot.mag`` UCD, else a name like
    ``gmag``/``Hpmag``/``phot_g_mean_mag``/``mag`` (never an error column), else None.

    Examples
    --------
    >>> pick_magnitude(["ra", "dec", "Hpmag_error", "Hpmag"])
    'Hpmag'
    """
    # A text or bytes was read a character (or byte: an int) at a time: AttributeError on ``int.lower`` before.
    columns = list_of(columns, str, "columns", "a column's name as text, in a list such as table.colnames")
    if ucds is not None and not isinstance(ucds, Mapping):
        raise TypeError(f"ucds must be a dict of column name to UCD, such as {{'Hpmag': 'phot.mag;em.opt.V'}}, "
                        f"not {type(ucds).__name__} {ucds!r:.60}")
    ucds = ucds or {}
    for c in columns:
        ucd = (ucds.get(c) or "").lower()
        if ucd.startswith("phot.mag") and "stat.error" not in ucd:
            return c
    for c in columns:
        low = c.lower()
        if "mag" in low and not any(bad in low for bad in ("err", "sig", "flag", "e_", "nmag")):
            return c
    return None


def _resolve(source, registry=None):
    """``(hats_path or None, frame or None, ra, dec, title, ucds, units)`` for a name, a path or a table; the
    title of a table is its ``meta["name"]`` or None (the caller names it after the HiPS folder)."""
    import pandas as pd

    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            from platform_lib.catalogs import Registry

            reg = registry if registry is not None else Registry.from_settings(readonly=True)
            info = reg.get(str(source))
            if info.hats_path is None:
                raise HipsError(f"catalogue {str(source)!r} has no positions (no HATS partitioning): "
                                "a HiPS needs ra/dec", value=str(source))
            ucds = {c.name: c.ucd for c in info.columns if getattr(c, "ucd", None)}
            units = {c.name: c.unit for c in info.columns if getattr(c, "unit", None)}
            return Path(info.hats_path), None, info.ra_column, info.dec_column, info.full_name, ucds, units
        from platform_lib.catalogs import read_layout

        layout = read_layout(path)
        return layout.root, None, layout.ra_column, layout.dec_column, path.name, {}, {}
    if hasattr(source, "to_pandas") or isinstance(source, pd.DataFrame):  # an astropy Table or a DataFrame
        is_table = hasattr(source, "colnames")
        units = {c: str(source[c].unit) for c in source.colnames
                 if getattr(source[c], "unit", None) is not None} if is_table else {}
        frame, ra, dec = _positions_in_degrees(_table_frame(source) if is_table else source, source, units)
        title = (source.meta or {}).get("name") or None if is_table else None
        return None, frame, ra, dec, title, {}, units
    raise HipsError(f"cannot build a HiPS from a {type(source).__name__}: give a registry name, a HATS "
                    "folder, an astropy Table or a pandas DataFrame", value=type(source).__name__)


def _table_frame(table):
    """``table.to_pandas()`` (an astropy Table) without copying its plain columns: 1-d numbers and text are
    the DataFrame's as they are (``Table.to_pandas`` copied every column into one block: a second or more of a
    10^6-row table before any tile); the others (masked, big-endian, bytes, times...) by astropy's conversion."""
    import pandas as pd
    from astropy.table import Column

    columns = {}
    for name in table.colnames:
        col = table[name]
        if type(col) is Column and col.ndim == 1 and col.dtype.isnative and col.dtype.kind in "biufU":
            columns[name] = np.asarray(col)
        else:
            columns[name] = table[[name]].to_pandas()[name]
    return pd.DataFrame(columns, copy=False)


def _positions_in_degrees(frame, table, units: dict[str, str]):
    """``(frame, ra, dec)``: ``frame`` with the table's positions (found, read and converted to ICRS as
    :func:`~platform_lib.viz._inputs.positions` does) as numbers in degrees, as the tiles hold them: in their
    own columns when only their form changes (VizieR's sexagesimal ``RAJ2000``, radians; ``units`` then says
    degrees), else (Galactic l/b, FK4 B1950) in added ``RA_ICRS``/``DE_ICRS`` columns, the source columns kept."""
    from platform_lib.viz._inputs import table_positions

    found = table_positions(table)
    ra, dec = found.lon_column, found.lat_column
    if found.converted:
        ra, dec = "RA_ICRS", "DE_ICRS"
        while ra in frame.columns or dec in frame.columns:
            ra, dec = "_" + ra, "_" + dec
    elif all(frame[c].dtype.kind in "iuf" and units.get(c, "deg") == "deg" for c in (ra, dec)):
        return frame, ra, dec
    frame = frame.copy()
    for column, degrees in ((ra, found.ra), (dec, found.dec)):
        frame[column] = degrees
        units[column] = "deg"
    return frame, ra, dec


def _columns_of(hats_path: Path) -> list[str]:
    import lsdb

    return [c for c in lsdb.open_catalog(hats_path).columns if c not in _INTERNAL]


def build_catalog_hips(source, dest: str | Path, *, title: str | None = None, magnitude: str | None = None,
                       columns: list[str] | None = None, n_per_tile: int = 200, max_order: int = 10,
                       registry=None, client=None, cancel=None) -> Path:
    """Build the HiPS catalogue (level of detail) of ``source`` at ``dest``; return ``dest``.

    Parameters
    ----------
    source
        A registry name (``"I/311/hip2"``), a HATS folder (a crossmatch job's output), an astropy
        ``Table`` or a pandas ``DataFrame`` with recognisable ra/dec columns.
    dest
        The HiPS folder to write (replaced atomically).
    magnitude
        The column to show brightest first; found by :func:`pick_magnitude` when omitted.
    columns
        The columns the tiles carry besides the positions (default: the magnitude and the first
        six others).
    n_per_tile
        Sources per tile and order.
    client
        A ``dask.distributed`` client (say the user's dask-gateway cluster's) that computes a HATS
        catalogue per partition, each worker writing its partitions' tiles (when it can write in
        ``dest``'s folder; else it sends them back); default: the current client, else Dask's threaded
        scheduler in this process. The client never holds the catalogue, only the rows of the shallow
        tiles (with the threaded scheduler this process does the workers' part too, and keeps the
        positions and magnitudes between passes).
    cancel
        A ``threading.Event``: once set, the build stops at its next step (a Dask task, an order of
        tiles) with :class:`HipsCancelled`, and ``dest`` is left as it was.

    Examples
    --------
    >>> from platform_lib.viz import build_catalog_hips, validate_hips      # doctest: +SKIP
    >>> validate_hips(build_catalog_hips("I/311/hip2", "~/hips/hip2")).rows  # doctest: +SKIP
    117955
    """
    spec, hats_path, frame, keep, options = _catalog_plan(source, dest, title, magnitude, columns, n_per_tile,
                                                          max_order, registry)
    if hats_path is not None:
        return cluster_catalog_hips(hats_path, Path(dest).expanduser(), spec, columns=keep, client=current_client(client),
                                    cancel=cancel, **options)
    return write_catalog_hips(frame[keep], Path(dest).expanduser(), spec, cancel=cancel, **options)


def table_hips_parts(table, dest: str | Path, *, title: str | None = None, magnitude: str | None = None,
                     columns: list[str] | None = None, n_per_tile: int = 200, max_order: int = 10):
    """:func:`build_catalog_hips` of an in-memory table in two parts (a generator): the whole-sky orders first,
    then the deeper ones (:func:`platform_lib.viz._hips.catalog_hips_parts`), so that a viewer shows the first
    part while the rest is built; the rest comes as a tar file (``rest_tar``), as :func:`upload_rest` sends it."""
    spec, hats_path, frame, keep, options = _catalog_plan(table, dest, title, magnitude, columns, n_per_tile,
                                                          max_order, None)
    if hats_path is not None:
        raise HipsError("table_hips_parts builds an in-memory table; a catalogue on disk goes through "
                        "build_catalog_hips", value=str(hats_path))
    return catalog_hips_parts(frame[keep], Path(dest).expanduser(), spec, rest_tar=True, **options)


def _catalog_plan(source, dest, title, magnitude, columns, n_per_tile, max_order, registry):
    """What :func:`build_catalog_hips` builds: ``(spec, hats_path or None, frame or None, columns kept, the
    writer's options)``, every column checked."""
    hats_path, frame, ra, dec, default_title, ucds, units = _resolve(source, registry)
    default_title = default_title or Path(dest).expanduser().name
    all_columns = _columns_of(hats_path) if hats_path is not None else [c for c in frame.columns]
    if magnitude is None:
        # of a table, only its numeric columns: a text column named like one ('mag_band') ranks nothing
        numeric = all_columns if frame is None else [c for c in all_columns if frame[c].dtype.kind in "iuf"]
        magnitude = pick_magnitude(numeric, ucds)
    elif magnitude not in all_columns:
        raise HipsError(f"no column {magnitude!r} to rank by (columns: {all_columns[:15]})", value=magnitude)
    elif frame is not None and frame[magnitude].dtype.kind not in "iufb":
        raise HipsError(f"the column {magnitude!r} holds {frame[magnitude].dtype} values, not numbers: rank by a "
                        f"numeric column (magnitude=...; numeric columns: "
                        f"{[c for c in all_columns if frame[c].dtype.kind in 'iuf'][:15]})", value=magnitude)
    if columns is None:
        others = [c for c in all_columns if c not in (ra, dec, magnitude) and c not in _INTERNAL]
        columns = others[:DEFAULT_EXTRA_COLUMNS]
    keep = [ra, dec] + ([magnitude] if magnitude else []) + [c for c in columns if c not in (ra, dec, magnitude)]
    spec = CatalogHipsSpec(title=title or default_title, n_per_tile=n_per_tile, max_order=max_order)
    options = {"ra": ra, "dec": dec, "magnitude": magnitude, "units": units, "ucds": ucds}
    if hats_path is not None:
        missing = [c for c in keep if c not in all_columns]
        if missing:
            raise HipsError(f"columns {missing} are not in {hats_path} (columns: {all_columns[:15]})", value=missing)
        return spec, hats_path, None, keep, options
    missing = [c for c in keep if c not in frame.columns]
    if missing:
        raise HipsError(f"columns {missing} are not in the table", value=missing)
    return spec, None, frame, keep, options


def build_density_hips(source, dest: str | Path, *, title: str | None = None, order: int = 8,
                       level: int = 1, registry=None, client=None, cancel=None) -> Path:
    """Build an image HiPS of the star density (sources per HEALPix cell at ``order``) of ``source``.

    ``source``, ``client`` and ``cancel`` as in :func:`build_catalog_hips`: a HATS catalogue is counted
    per partition from its ``_healpix_29`` index.
    """
    hats_path, frame, ra, dec, default_title, _, _ = _resolve(source, registry)
    default_title = default_title or Path(dest).expanduser().name
    if hats_path is not None:
        counts = cluster_density_counts(hats_path, ra, order, client=current_client(client), cancel=cancel)
    else:
        ra_v = np.asarray(frame[ra], dtype=np.float64)
        dec_v = np.asarray(frame[dec], dtype=np.float64)
        good = np.isfinite(ra_v) & np.isfinite(dec_v)
        counts = density_map(healpix29(ra_v[good], dec_v[good]), order)
    if counts.sum() == 0:
        raise HipsError(f"{default_title} has no positions: nothing to map", value=0)
    return write_density_hips(counts, Path(dest).expanduser(),
                              title=title or f"{default_title} density", level=level, cancel=cancel)
