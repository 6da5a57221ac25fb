"""Out-of-core crossmatch: the engine run per HEALPix partition pair on Dask, through LSDB.

Owns turning lazy inputs (HATS paths, registry names, LSDB catalogues, Dask DataFrames) into LSDB
catalogues with margins, the per-partition algorithm class (:class:`ZonesCrossmatch`, which never
sees Dask: two pandas partitions in, index arrays out, as LSDB's own algorithms do), and choosing
the Dask client: the one passed in, the current one, the platform's dask-gateway when configured,
else a LocalCluster. Only this module imports lsdb, hats and distributed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from astropy import units as u
from lsdb.core.crossmatch.abstract_crossmatch_algorithm import AbstractCrossmatchAlgorithm

from platform_lib.crossmatch._engine import match_pairs
from platform_lib.crossmatch._errors import CrossmatchError, CrossmatchInputError

__all__ = ["ZonesCrossmatch", "crossmatch_lazy", "open_catalog"]

SEPARATION = "separation_arcsec"


class ZonesCrossmatch(AbstractCrossmatchAlgorithm):
    """LSDB crossmatch algorithm backed by :func:`~platform_lib.crossmatch._engine.match_pairs`.

    Parameters
    ----------
    radius_arcsec
        The match radius in arcsec (a float, so the object pickles cheaply to workers).
    k
        Keep the ``k`` nearest right rows per left row (``None``: all pairs within the radius).
    """

    extra_columns = pd.DataFrame({SEPARATION: pd.Series(dtype=pd.ArrowDtype(pa.float64()))})

    def __init__(self, radius_arcsec: float, k: int | None = 1):
        super().__init__()
        self.radius_arcsec = float(radius_arcsec)
        self.k = k

    def validate(self, left, right):
        super().validate(left, right)
        margin = right.margin
        if margin is not None and margin.hc_structure.catalog_info.margin_threshold < self.radius_arcsec:
            raise CrossmatchInputError(
                f"the right catalogue's margin ({margin.hc_structure.catalog_info.margin_threshold} "
                f"arcsec) is smaller than the radius ({self.radius_arcsec} arcsec); rebuild it with "
                "a larger margin_threshold", code="margin-too-small", value=self.radius_arcsec)

    def perform_crossmatch(self, crossmatch_args):
        left = crossmatch_args.left_df
        right = crossmatch_args.right_df
        lon1 = np.asarray(left[crossmatch_args.left_catalog_info.ra_column], dtype=np.float64)
        lat1 = np.asarray(left[crossmatch_args.left_catalog_info.dec_column], dtype=np.float64)
        lon2 = np.asarray(right[crossmatch_args.right_catalog_info.ra_column], dtype=np.float64)
        lat2 = np.asarray(right[crossmatch_args.right_catalog_info.dec_column], dtype=np.float64)
        ok1 = np.isfinite(lon1) & np.isfinite(lat1)
        ok2 = np.isfinite(lon2) & np.isfinite(lat2)
        rows1, rows2 = np.flatnonzero(ok1), np.flatnonzero(ok2)
        i1, i2, sep = match_pairs(
            lon1[rows1], lat1[rows1], lon2[rows2], lat2[rows2], self.radius_arcsec * u.arcsec, k=self.k)
        extra = pd.DataFrame({SEPARATION: pd.Series(sep, dtype=pd.ArrowDtype(pa.float64()))})
        return rows1[i1], rows2[i2], extra


def open_catalog(obj, coords, margin_arcsec: float, side: str):
    """An LSDB catalogue for any supported lazy or in-memory input."""
    import lsdb
    from astropy.table import Table

    if type(obj).__module__.startswith("lsdb"):
        return obj
    if isinstance(obj, Table):
        obj = obj.to_pandas()
    if type(obj).__module__.startswith("dask"):
        # A Dask DataFrame has no sky partitioning: it is computed and partitioned by HEALPix here.
        obj = obj.compute()
    if isinstance(obj, pd.DataFrame):
        cols = [str(c) for c in obj.columns]
        for c in coords:
            if c not in cols:
                raise CrossmatchInputError(
                    f"{side} table has no column {c!r}; available columns: {', '.join(cols)}",
                    code="missing-column", value=c, available=cols)
        return lsdb.from_dataframe(
            obj, ra_column=coords[0], dec_column=coords[1], margin_threshold=margin_arcsec,
            catalog_name=side)
    if type(obj).__name__ == "TableInfo" or (isinstance(obj, str) and not Path(obj).exists()):
        from platform_lib.catalogs._search import resolve

        obj, _ = resolve(obj)
    path = Path(obj)
    if not path.exists():
        raise CrossmatchInputError(f"{side} catalogue {str(path)!r} does not exist", code="not-found", value=str(path))
    return lsdb.open_catalog(path)


def _client(client):
    """(client, cluster to close or None)."""
    if client is not None:
        return client, None
    import dask
    from distributed import Client, LocalCluster, get_client

    try:
        return get_client(), None
    except ValueError:
        pass
    if dask.config.get("gateway.address", None):
        from dask_gateway import Gateway

        cluster = Gateway().new_cluster()
        cluster.adapt(minimum=1, maximum=4)
        return cluster.get_client(), cluster
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="4GB", dashboard_address=None)
    return Client(cluster), cluster


def _interactive() -> bool:
    return hasattr(sys, "ps1") or "ipykernel" in sys.modules


def crossmatch_lazy(left, right, radius, *, mode, k, left_coords, right_coords, suffixes, client, lazy, progress):
    """The Dask path of :func:`~platform_lib.crossmatch.crossmatch` (see there)."""
    r_arcsec = float(radius.to_value(u.arcsec))
    for coords, side in ((left_coords, "left"), (right_coords, "right")):
        if isinstance(coords, str) or len(coords) != 2:
            raise CrossmatchInputError(
                f"{side}_coords must be (lon_column, lat_column) for a catalogue on Dask, got {coords!r}",
                code="missing-column", value=coords)
    lcat = open_catalog(left, left_coords, r_arcsec, "left")
    rcat = open_catalog(right, right_coords, r_arcsec, "right")
    if rcat.margin is None:
        raise CrossmatchInputError(
            "the right catalogue has no margin cache, so matches across partition boundaries would "
            "be lost; build one (hats-import margin cache, margin_threshold >= the radius) or pass the "
            "right catalogue in memory", code="no-margin", value=str(right))
    kk = 1 if mode == "nearest" else (k if mode == "k" else None)
    try:
        result = lcat.crossmatch(
            rcat, algorithm=ZonesCrossmatch(r_arcsec, kk), suffixes=suffixes,
            suffix_method="overlapping_columns")
    except CrossmatchError:
        raise
    except ValueError as exc:
        raise CrossmatchInputError(f"LSDB refused the crossmatch: {exc}", code="lsdb-error") from exc
    if lazy:
        return result
    client, cluster = _client(client)
    try:
        import dask

        show = progress if progress is not None else _interactive()
        with dask.config.set(scheduler=client.get):
            out = result.compute(progress_bar=bool(show))
    finally:
        if cluster is not None:
            client.close()
            cluster.close()
    out = pd.DataFrame(out).reset_index(drop=True)
    return out
