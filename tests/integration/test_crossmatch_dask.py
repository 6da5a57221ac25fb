"""Crossmatch of HATS catalogues on a real Dask LocalCluster equals the in-memory result."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pandas as pd
import pytest

from platform_lib.crossmatch import CrossmatchInputError, crossmatch

lsdb = pytest.importorskip("lsdb")
distributed = pytest.importorskip("distributed")

# lsdb 0.11 calls NestedFrame.set_index(inplace=True), deprecated by pandas 3.1: theirs, not ours.
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword in NestedFrame:pandas.errors.Pandas4Warning")


def _frames(n=4_000, seed=11):
    rng = np.random.default_rng(seed)
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    # Crowd the places where partitions meet: the poles, RA = 0/360 and HEALPix order-0 edges.
    m = n // 4
    ra[:m] = rng.choice([0.0, 45.0, 90.0, 359.9995], m) + rng.normal(0, 2e-4, m)
    dec[m: 2 * m] = rng.choice([-89.9995, 89.9995, 41.8103, 0.0], m) + rng.normal(0, 2e-4, m)
    ra %= 360
    dec = np.clip(dec, -90, 90)
    left = pd.DataFrame({"ra": ra, "dec": dec, "id": np.arange(n)})
    off = rng.normal(0, 0.6, (2, n)) / 3600
    ra2 = (ra + off[0] / np.maximum(np.cos(np.radians(dec)), 1e-3)) % 360
    dec2 = np.clip(dec + off[1], -90, 90)
    right = pd.DataFrame({"ra": ra2, "dec": dec2, "id": np.arange(n) + 1_000_000})
    # The right catalogue has no sources in the south: whole left partitions meet nothing.
    right = right[right["dec"] > -20].reset_index(drop=True)
    return left, right


@pytest.fixture(scope="module")
def hats_pair(tmp_path_factory):
    left, right = _frames()
    root = tmp_path_factory.mktemp("hats")
    for name, df in (("left", left), ("right", right)):
        cat = lsdb.from_dataframe(df, ra_column="ra", dec_column="dec", margin_threshold=5.0,
                                  partition_rows=500, catalog_name=name)
        cat.write_catalog(root / name)
    return left, right, root / "left", root / "right"


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="2GB",
                                       dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def _pairs(df):
    return set(zip(np.asarray(df["id_1"], dtype=np.int64).tolist(), np.asarray(df["id_2"], dtype=np.int64).tolist()))


@pytest.mark.parametrize("mode", ["nearest", "all"])
def test_hats_on_dask_equals_in_memory(hats_pair, client, mode):
    left, right, lpath, rpath = hats_pair
    radius = 2 * u.arcsec
    expected = crossmatch(left, right, radius, mode=mode)
    got = crossmatch(str(lpath), str(rpath), radius, mode=mode, client=client, progress=False)
    assert len(expected) > 1500
    assert _pairs(got) == _pairs(expected)
    assert len(got) == len(expected)
    merged = got.merge(expected, on=["id_1", "id_2"], suffixes=("_dask", "_mem"))
    assert np.allclose(merged["separation_arcsec_dask"].astype(float), merged["separation_arcsec_mem"], atol=1e-9)


def test_lsdb_catalogue_in_gives_lazy_catalogue_out(hats_pair, client):
    _, _, lpath, rpath = hats_pair
    lazy = crossmatch(lsdb.open_catalog(lpath), lsdb.open_catalog(rpath), 2 * u.arcsec, client=client, lazy=True)
    assert type(lazy).__module__.startswith("lsdb") and "separation_arcsec" in lazy.columns


def test_margin_smaller_than_radius_is_an_error(hats_pair, client):
    _, _, lpath, rpath = hats_pair
    with pytest.raises(CrossmatchInputError, match="margin"):
        crossmatch(str(lpath), str(rpath), 10 * u.arcsec, client=client, progress=False)
