"""One call to build a HiPS from what the platform holds: a registry catalogue, a HATS folder (a job's
output), or an in-memory table.

HATS partitions are read in parallel by Dask (``lsdb.open_catalog(...).compute()``: on the user's
distributed client when one is active, the threaded scheduler otherwise), only the columns the tiles
need, with the ``_healpix_29`` index HATS already carries; the level-of-detail plan is then one pass of
sorts over those arrays (:mod:`platform_lib.viz._hips`). May import lsdb, the catalogue registry, and
this package's modules.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from platform_lib.viz._errors import HipsError
from platform_lib.viz._hips import (
    CatalogHipsSpec,
    checkpoint,
    density_map,
    healpix29,
    write_catalog_hips,
    write_density_hips,
)

__all__ = ["build_catalog_hips", "build_density_hips", "pick_magnitude", "load_positions"]

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
    """``(hats_path or None, frame or None, ra, dec, title, ucds, units)`` for a name, a path or a table."""
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
    if hasattr(source, "to_pandas"):  # astropy Table
        from platform_lib.viz._inputs import find_coordinates

        ra, dec = find_coordinates(source)
        units = {c: str(source[c].unit) for c in source.colnames if getattr(source[c], "unit", None) is not None}
        frame = source.to_pandas()
        return None, frame, ra, dec, "table", {}, units
    if isinstance(source, pd.DataFrame):
        from platform_lib.viz._inputs import find_coordinates

        ra, dec = find_coordinates(source)
        return None, source, ra, dec, "table", {}, {}
    raise HipsError(f"cannot build a HiPS from a {type(source).__name__}: give a registry name, a HATS "
                    "folder, an astropy Table or a pandas DataFrame", value=type(source).__name__)


def load_positions(hats_path: Path, columns: list[str], cancel=None):
    """The ``columns`` of a HATS catalogue, read by Dask, as a pandas DataFrame and its ``_healpix_29``.

    ``cancel`` (a ``threading.Event``), when set, stops the read before its next partition with
    :class:`HipsCancelled` (on Dask's local schedulers; a distributed client's tasks run to the end).
    """
    import lsdb
    from dask.callbacks import Callback

    checkpoint(cancel)
    with Callback(pretask=lambda *_: checkpoint(cancel)) if cancel is not None else _nothing():
        frame = lsdb.open_catalog(hats_path, columns=columns).compute()
    if frame.index.name == "_healpix_29":
        ipix = frame.index.to_numpy().astype(np.int64)
        frame = frame.reset_index(drop=True)
    elif "_healpix_29" in frame.columns:
        ipix = frame.pop("_healpix_29").to_numpy().astype(np.int64)
    else:
        ipix = None
    return frame, ipix


def _nothing():
    import contextlib

    return contextlib.nullcontext()


def _columns_of(hats_path: Path) -> list[str]:
    import lsdb

    return [c for c in lsdb.open_catalog(hats_path).columns if c not in _INTERNAL]


def build_catalog_hips(source, dest: str | Path, *, title: str | None = None, magnitude: str | None = None,
                       columns: list[str] | None = None, n_per_tile: int = 200, max_order: int = 10,
                       registry=None, cancel=None) -> Path:
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
    cancel
        A ``threading.Event``: once set, the build stops at its next step (a Dask task of the read, an
        order of tiles) with :class:`HipsCancelled`, and ``dest`` is left as it was.

    Examples
    --------
    >>> from platform_lib.viz import build_catalog_hips, validate_hips      # doctest: +SKIP
    >>> validate_hips(build_catalog_hips("I/311/hip2", "~/hips/hip2")).rows  # doctest: +SKIP
    117955
    """
    hats_path, frame, ra, dec, default_title, ucds, units = _resolve(source, registry)
    all_columns = _columns_of(hats_path) if hats_path is not None else [c for c in frame.columns]
    if magnitude is None:
        magnitude = pick_magnitude(all_columns, ucds)
    elif magnitude not in all_columns:
        raise HipsError(f"no column {magnitude!r} to rank by (columns: {all_columns[:15]})", value=magnitude)
    if columns is None:
        others = [c for c in all_columns if c not in (ra, dec, magnitude) and c not in _INTERNAL]
        columns = others[:DEFAULT_EXTRA_COLUMNS]
    keep = [ra, dec] + ([magnitude] if magnitude else []) + [c for c in columns if c not in (ra, dec, magnitude)]
    ipix = None
    if hats_path is not None:
        frame, ipix = load_positions(hats_path, keep, cancel)
    else:
        missing = [c for c in keep if c not in frame.columns]
        if missing:
            raise HipsError(f"columns {missing} are not in the table", value=missing)
        frame = frame[keep]
    spec = CatalogHipsSpec(title=title or default_title, n_per_tile=n_per_tile, max_order=max_order)
    return write_catalog_hips(frame, Path(dest).expanduser(), spec, ra=ra, dec=dec, magnitude=magnitude,
                              units=units, ucds=ucds, ipix29=ipix, cancel=cancel)


def build_density_hips(source, dest: str | Path, *, title: str | None = None, order: int = 8,
                       level: int = 1, registry=None, cancel=None) -> Path:
    """Build an image HiPS of the star density (sources per HEALPix cell at ``order``) of ``source``.

    ``source`` and ``cancel`` as in :func:`build_catalog_hips`. Only the positions are read.
    """
    hats_path, frame, ra, dec, default_title, _, _ = _resolve(source, registry)
    if hats_path is not None:
        frame, ipix = load_positions(hats_path, [ra, dec], cancel)
    else:
        ipix = None
    if ipix is None:
        ra_v = np.asarray(frame[ra], dtype=np.float64)
        dec_v = np.asarray(frame[dec], dtype=np.float64)
        good = np.isfinite(ra_v) & np.isfinite(dec_v)
        ipix = healpix29(ra_v[good], dec_v[good])
    if ipix.size == 0:
        raise HipsError(f"{default_title} has no positions: nothing to map", value=0)
    return write_density_hips(density_map(ipix, order), Path(dest).expanduser(),
                              title=title or f"{default_title} density", level=level, cancel=cancel)
