"""HiPS of HATS catalogues built per partition on Dask equal the single-process build, file for file.

The reference is what ``build_catalog_hips`` did before: the whole catalogue read into one process
(``lsdb.open_catalog(...).compute()``) and written by ``write_catalog_hips``. Checked on the sample
catalogues (Hipparcos, OpenNGC, as the running platform loaded them), on a synthetic catalogue with
partitions of five orders, tied magnitudes and no magnitude at all, with Dask's threaded scheduler
and on a real ``LocalCluster`` of two worker processes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from platform_lib import viz
from platform_lib.viz._build import _resolve

lsdb = pytest.importorskip("lsdb")
distributed = pytest.importorskip("distributed")

# lsdb 0.11 calls NestedFrame.set_index(inplace=True) and sets pandas' mode.chained_assignment on import,
# both deprecated by pandas 3.1: theirs, not ours.
pytestmark = [pytest.mark.filterwarnings("ignore:The inplace keyword in NestedFrame:pandas.errors.Pandas4Warning"),
              pytest.mark.filterwarnings("ignore:The 'mode.chained_assignment' option:pandas.errors.Pandas4Warning"),
              pytest.mark.usefixtures("collect_dask_clients")]  # conftest: CPython < 3.11.5, gh-106905


@pytest.fixture(scope="module")
def catalogues(platform, poll, tmp_path_factory):
    """The sample catalogues in the running platform's registry (loaded by ``astrohub up`` in the
    background: shared, not loaded again), and a clumpy synthetic HATS catalogue (partitions of orders 1-5)."""
    from platform_lib.catalogs import Registry
    from platform_lib.sampledata import MARKER

    datasets = platform.data_dir / "datasets"
    poll((datasets / MARKER).exists, 600, "the platform's sample data load")
    registry = Registry(datasets / "catalogs" / "registry.sqlite", readonly=True)
    n = 30_000
    rng = np.random.default_rng(3)
    ra, dec = rng.uniform(0, 360, n), np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    m = n // 3  # a dense clump: deep partitions beside shallow ones
    ra[:m], dec[:m] = rng.normal(150, 3, m) % 360, np.clip(rng.normal(20, 3, m), -90, 90)
    df = pd.DataFrame({"ra": ra, "dec": dec, "gmag": np.round(rng.uniform(8, 20, n), 1),  # many ties
                       "name": [f"s{i}" for i in range(n)]})
    df.loc[7, "gmag"] = np.nan
    synthetic = tmp_path_factory.mktemp("viz-cluster") / "synthetic"
    lsdb.from_dataframe(df, ra_column="ra", dec_column="dec", catalog_name="synthetic",
                        partition_rows=n // 20).write_catalog(synthetic)
    yield registry, synthetic
    registry.close()


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="2GB", dashboard_address=":0")
    c = distributed.Client(cluster, set_as_default=False)
    yield c
    c.close()
    cluster.close()


def _single_process(source, dest: Path, registry, magnitude, columns, n_per_tile=200) -> Path:
    """The build as it was: the whole catalogue in this process, then ``write_catalog_hips``."""
    hats_path, _, ra, dec, title, ucds, units = _resolve(source, registry)
    keep = [ra, dec] + ([magnitude] if magnitude else []) + columns
    frame = lsdb.open_catalog(hats_path, columns=keep).compute()
    ipix = frame.index.to_numpy().astype(np.int64)
    spec = viz.CatalogHipsSpec(title=title, n_per_tile=n_per_tile)
    return viz.write_catalog_hips(frame.reset_index(drop=True), dest, spec, ra=ra, dec=dec, magnitude=magnitude,
                                  units=units, ucds=ucds, ipix29=ipix)


def _same_hips(a: Path, b: Path) -> int:
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for rel in files:
        if rel.name == "properties":  # all but the build's date
            x, y = ([line for line in (d / rel).read_text().splitlines() if "hips_release_date" not in line]
                    for d in (a, b))
            assert x == y
        else:
            assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    return len(files)


@pytest.mark.parametrize("which", ["I/311/hip2", "I/311/hip2@200", "OpenNGC/objects", "synthetic",
                                   "synthetic-no-magnitude"])
def test_per_partition_build_equals_the_single_process_build(catalogues, tmp_path, which):
    registry, synthetic = catalogues
    if which.startswith("synthetic"):
        source, magnitude, columns, n_per_tile = synthetic, None if "no-" in which else "gmag", ["name"], 20
    else:  # @200: the archive's default, where the Allsky orders must not take all the rows left
        source, _, per_tile = which.partition("@")
        n_per_tile = int(per_tile or 50)
        info = registry.get(source)
        all_columns = [c.name for c in info.columns]
        magnitude = viz.pick_magnitude(all_columns)
        columns = [c for c in all_columns if c not in (info.ra_column, info.dec_column, magnitude)][:3]
    expected = _single_process(source, tmp_path / "one", registry, magnitude, columns, n_per_tile)
    if magnitude is None:  # build_catalog_hips would pick gmag: the per-partition builder itself
        from platform_lib.viz._cluster import cluster_catalog_hips

        got = cluster_catalog_hips(source, tmp_path / "dask", viz.CatalogHipsSpec("synthetic", n_per_tile=20),
                                   ra="ra", dec="dec", magnitude=None, columns=["ra", "dec", "name"], units={}, ucds={})
    else:
        got = viz.build_catalog_hips(source, tmp_path / "dask", magnitude=magnitude, columns=columns,
                                     n_per_tile=n_per_tile, registry=registry)
    report = viz.validate_hips(got)
    assert len(report.orders) >= (4 if source is synthetic else 2) and report.rows > 10_000
    assert _same_hips(expected, got) == report.tiles + 5  # tiles, 2 Allsky, metadata, properties, density


def test_build_on_a_local_cluster_runs_on_its_workers(catalogues, client, tmp_path):
    registry, synthetic = catalogues
    expected = _single_process("I/311/hip2", tmp_path / "one", registry, "Hpmag", ["HIP"])
    with distributed.get_task_stream(client) as stream:
        got = viz.build_catalog_hips("I/311/hip2", tmp_path / "dask", magnitude="Hpmag", columns=["HIP"],
                                     registry=registry, client=client)
    _same_hips(expected, got)
    writers = {t["worker"] for t in stream.data if "_write_part" in str(t["key"])}
    assert len(writers) == 2  # both workers wrote tiles
    # the current client is used when none is given (a user's dask-gateway cluster once made)
    with client.as_current(), distributed.get_task_stream(client) as stream:
        dense = viz.build_density_hips(synthetic, tmp_path / "density", order=6)
    assert any("_density_counts" in str(t["key"]) for t in stream.data)
    viz.validate_hips(dense)


def test_workers_that_cannot_see_the_folder_send_their_tiles_back(catalogues, tmp_path, monkeypatch):
    from platform_lib.viz import _cluster

    _, synthetic = catalogues
    expected = _single_process(synthetic, tmp_path / "one", None, "gmag", ["name"], 20)
    real = _cluster._write_part

    def elsewhere(frame, part, spec, shallow, stop, index, root, *rest):  # as on a worker without the folder
        return real(frame, part, spec, shallow, stop, index, str(tmp_path / "not-here"), *rest)

    monkeypatch.setattr(_cluster, "_write_part", elsewhere)
    got = viz.build_catalog_hips(synthetic, tmp_path / "dask", magnitude="gmag", columns=["name"], n_per_tile=20)
    assert not (tmp_path / "not-here").exists()
    _same_hips(expected, got)


def test_build_on_the_platforms_dask_gateway_cluster_as_a_hub_user(platform, catalogues, tmp_path):
    """The user's own dask-gateway cluster (workers run as the user): the same HiPS. The workers do not
    see the test's private folder, so they send their tiles back."""
    registry, _ = catalogues
    user = platform.unique("hipsdask")
    platform.create_user(user)
    gateway = platform.gateway(user)
    expected = _single_process("I/311/hip2", tmp_path / "one", registry, "Hpmag", ["HIP"])
    with gateway.new_cluster() as cluster:
        cluster.scale(2)
        with cluster.get_client(set_as_default=False) as client:
            client.wait_for_workers(2, timeout=240)
            with distributed.get_task_stream(client) as stream:
                got = viz.build_catalog_hips("I/311/hip2", tmp_path / "dask", magnitude="Hpmag", columns=["HIP"],
                                             registry=registry, client=client)
    _same_hips(expected, got)
    assert len({t["worker"] for t in stream.data if "_write_part" in str(t["key"])}) == 2
