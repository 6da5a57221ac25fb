"""The crossmatch kernel against a brute-force reference: poles, RA = 0/360, duplicates, all modes; and a
prepared right side (``prepare``) against an unprepared one."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from astropy.coordinates import angular_separation

from brute_force import ANCHORS, check_k_nearest, reference, separation_arcsec  # tests/support/, on the path by tests/conftest.py
from platform_lib.crossmatch import PreparedSide, prepare
from platform_lib.crossmatch._engine import match_pairs


@st.composite
def _sky(draw):
    """(left, right, radius): points clustered around anchors so that pairs exist at every scale."""
    radius = draw(st.sampled_from([0.05, 1.0, 7.5, 120.0, 3600.0]))
    spread = radius * draw(st.sampled_from([0.5, 2.0, 10.0])) / 3600.0

    def points(n):
        ra, dec = [], []
        for _ in range(n):
            a, d = draw(ANCHORS)
            if draw(st.booleans()):
                a = draw(st.floats(0, 360, allow_nan=False))
                d = draw(st.floats(-90, 90, allow_nan=False))
            da = draw(st.floats(-1, 1)) * spread
            dd = draw(st.floats(-1, 1)) * spread
            ra.append((a + da) % 360.0)
            dec.append(float(np.clip(d + dd, -90, 90)))
        return np.array(ra, dtype=float), np.array(dec, dtype=float)

    left = points(draw(st.integers(0, 25)))
    right = points(draw(st.integers(0, 25)))
    if draw(st.booleans()) and left[0].size:
        # Exact duplicates of left positions on the right, and duplicated rows on the left.
        right = (np.concatenate([right[0], left[0][:3]]), np.concatenate([right[1], left[1][:3]]))
        left = (np.concatenate([left[0], left[0][:2]]), np.concatenate([left[1], left[1][:2]]))
    return left, right, radius


# At the pole, different haversines round to one separation: the order is still (separation, right row).
_POLE_TIES = (
    (np.array([359.99999306, 0.0, 36.00000694, 0.0, 0.0, 0.0, 359.99999306, 0.0]),
     np.array([90.0, 90.0, 89.99999306, 90.0, 90.0, 90.0, 90.0, 90.0])),
    (np.array([359.99999306, 0.0, 36.00000694]), np.array([90.0, 90.0, 89.99999306])),
    0.05,
)


def test_the_reference_separation_is_astropys_at_every_scale():
    """The brute force's own distance (Vincenty, written out in tests/support/) against astropy's, from
    sub-milliarcsecond to antipodal, at the poles and across RA = 0/360: the reference stands on its own."""
    rng = np.random.default_rng(7)
    ra1, dec1 = rng.uniform(0, 360, 4000), np.degrees(np.arcsin(rng.uniform(-1, 1, 4000)))
    scale = 10.0 ** rng.uniform(-7, 2.3, 4000)  # degrees: 0.4 mas to 200 deg
    ra2 = (ra1 + rng.uniform(-1, 1, 4000) * scale) % 360
    dec2 = np.clip(dec1 + rng.uniform(-1, 1, 4000) * scale, -90, 90)
    # Across the pole, across RA = 0/360, through the south pole, antipodal.
    ra1[:4], dec1[:4] = [0, 359.9999, 10, 0], [90, 10, -89.9995, 0]
    ra2[:4], dec2[:4] = [180, 0.0001, 190, 180], [89.9999, 10, -89.9995, 0]
    ours = separation_arcsec(ra1, dec1, ra2, dec2)
    theirs = np.degrees(angular_separation(*np.radians([ra1, dec1, ra2, dec2]))) * 3600
    assert np.allclose(ours, theirs, rtol=1e-12, atol=1e-9)
    assert ours[3] == pytest.approx(180 * 3600) and ours[1] == pytest.approx(0.0002 * 3600 * np.cos(np.radians(10)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_sky())
@example(_POLE_TIES)
def test_all_pairs_equal_brute_force(case):
    left, right, radius = case
    i1, i2, sep = match_pairs(*left, *right, radius * u.arcsec)
    ref = reference(*left, *right, radius)
    got = set(zip(i1.tolist(), i2.tolist()))
    assert len(got) == i1.size  # no pair twice
    assert ref.strict <= got <= ref.loose
    if i1.size:
        assert np.allclose(sep, ref.sep[i1, i2], rtol=0, atol=1e-6)
        order = np.lexsort((i2, sep, i1))
        assert np.array_equal(order, np.arange(i1.size))
    assert i1.dtype == np.int64 and i2.dtype == np.int64 and sep.dtype == np.float64


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_sky(), st.integers(1, 4))
def test_k_nearest_equal_brute_force(case, k):
    left, right, radius = case
    i1, i2, sep = match_pairs(*left, *right, radius * u.arcsec, k=k)
    check_k_nearest(reference(*left, *right, radius), radius, k, i1, sep)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_sky())
def test_nearest_is_the_first_of_all_pairs_ties_included(case):
    """k=1 (its own one-pass path) picks exactly the first pair of each left row in the all-pairs
    order (separation, then right row): the same right row among tied duplicates too."""
    left, right, radius = case
    n1, n2, nsep = match_pairs(*left, *right, radius * u.arcsec, k=1)
    a1, a2, asep = match_pairs(*left, *right, radius * u.arcsec)
    first = np.r_[True, a1[1:] != a1[:-1]] if a1.size else np.zeros(0, bool)
    assert n1.tolist() == a1[first].tolist() and n2.tolist() == a2[first].tolist()
    assert np.array_equal(nsep, asep[first])


def test_no_unit_or_bad_radius_is_an_error():
    a = np.array([1.0])
    with pytest.raises(TypeError, match="Quantity"):
        match_pairs(a, a, a, a, 1.0)
    with pytest.raises(TypeError, match="angle"):
        match_pairs(a, a, a, a, 1 * u.m)
    for bad in (0 * u.arcsec, -1 * u.arcsec, np.nan * u.deg):
        with pytest.raises(ValueError, match="positive"):
            match_pairs(a, a, a, a, bad)


def test_coordinates_that_are_not_numbers_name_their_side():
    a = np.array([1.0])
    with pytest.raises(TypeError, match="left longitude and latitude must be numbers"):
        match_pairs(np.array(["10h"]), a, a, a, 1 * u.arcsec)
    with pytest.raises(TypeError, match="right longitude and latitude must be numbers"):
        match_pairs(a, a, a, [object()], 1 * u.arcsec)


def test_a_side_beyond_the_in_memory_row_limit_is_refused(monkeypatch):
    """Rows are numbered in int32 inside the kernel: a side with more rows than that is refused with
    an error that names the limit and the way out, not matched wrong. (The limit, 2**31 - 1 rows, is
    lowered here: arrays that long do not fit this machine.)"""
    from platform_lib.crossmatch import _engine

    monkeypatch.setattr(_engine, "_MAX_ROWS", 3)
    a = np.arange(4.0)
    with pytest.raises(ValueError, match=r"4 rows on one side: more than one in-memory match takes \(3\)"):
        match_pairs(a, a, a[:2], a[:2], 1 * u.arcsec)
    i1, _, _ = match_pairs(a[:3], a[:3], a[:3], a[:3], 1 * u.arcsec)  # at the limit: matched
    assert i1.tolist() == [0, 1, 2]


def test_empty_sides_give_no_pairs():
    e = np.empty(0)
    a = np.array([10.0])
    for args in ((e, e, a, a), (a, a, e, e), (e, e, e, e)):
        i1, i2, sep = match_pairs(*args, 1 * u.arcsec)
        assert i1.size == i2.size == sep.size == 0


def test_read_only_positions_run_the_kernels_compiled_for_writable_ones():
    """A catalogue's partitions and pandas' copy-on-write columns are read-only arrays, which numba compiles as
    another type: the compiled cache (``astrohub kernels compile``, writable arrays) missed, and a user's first
    crossmatch against I/311 compiled the kernel for ~50 s. The engine copies them; the answer is the same."""
    from numba import types
    from numba.core.registry import CPUDispatcher

    from platform_lib.crossmatch import _engine

    lon, lat = np.array([10.0, 10.0002, 200.0]), np.array([0.0, 0.0, -30.0])
    for a in (lon, lat):
        a.flags.writeable = False
    i1, i2, sep = match_pairs(lon[:1], lat[:1], lon, lat, 1 * u.arcsec)
    assert (i1.tolist(), i2.tolist(), sep.round(3).tolist()) == ([0, 0], [0, 1], [0.0, 0.72])
    read_only = [(name, sig) for name, f in vars(_engine).items() if isinstance(f, CPUDispatcher)
                 for sig in f.signatures for t in sig if isinstance(t, types.Array) and not t.mutable]
    assert not read_only, f"kernels compiled for read-only arrays: {read_only}"


def test_pole_and_seam_pairs_found():
    # Two points across the north pole (RA 180 apart) and two across RA = 0/360, each 1" apart.
    left = np.array([0.0, 359.99999]), np.array([89.99986111, 0.0])
    right = np.array([180.0, 0.0000177]), np.array([89.99986111, 0.0])
    i1, i2, sep = match_pairs(*left, *right, 2 * u.arcsec)
    assert i1.tolist() == [0, 1] and i2.tolist() == [0, 1]
    assert np.allclose(sep, [1.0, 0.09972], atol=1e-3)


def test_large_random_sample_matches_reference():
    rng = np.random.default_rng(5)
    n = 3000
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    ra2 = (ra + rng.normal(0, 0.3, n)) % 360
    dec2 = np.clip(dec + rng.normal(0, 0.3, n), -90, 90)
    radius = 0.5 * 3600
    i1, i2, _ = match_pairs(ra, dec, ra2, dec2, radius * u.arcsec)
    ref = reference(ra, dec, ra2, dec2, radius)
    assert ref.strict <= set(zip(i1.tolist(), i2.tolist())) <= ref.loose
    assert len(ref.strict) > n // 2


def test_dense_cluster_on_the_seam_in_a_sparse_sky_matches_reference():
    """A cluster far denser than the mean (the grid is planned again for it) straddling RA = 0/360,
    in a sparse all-sky background: zones then hold one cell each, and the window's two ends at the
    seam fall in that one cell; every pair is still found once."""
    from platform_lib.crossmatch import _engine

    rng = np.random.default_rng(11)
    n_sky, n_cluster = 4096, 3000
    # The background has a point in every 1/4096 of RA, so the cells' RA starts at 0 and wraps at the
    # seam; a few sparse points on the seam sit in zones too short to be cut by binary search.
    seam = np.array([359.9999, 359.99998, 0.00001, 0.0001])
    sky_ra = (np.arange(n_sky) + rng.uniform(0.1, 0.9, n_sky)) * (360 / n_sky)
    ra = np.r_[sky_ra, rng.uniform(-0.02, 0.02, n_cluster) % 360, seam]
    dec = np.r_[np.degrees(np.arcsin(rng.uniform(-1, 1, n_sky))), rng.uniform(-0.02, 0.02, n_cluster),
                np.full(seam.size, 40.0)]
    ra2 = (ra + rng.normal(0, 0.5 / 3600, ra.size)) % 360
    dec2 = dec + rng.normal(0, 0.5 / 3600, dec.size)
    radius = 2.0

    r = np.radians(radius / 3600)
    _, _, ext1 = _engine._coords(ra, dec, "left")
    lon, lat, ext2 = _engine._coords(ra2, dec2, "right")
    first = _engine._plan_grid(r, min(ext1[0], ext2[0]), max(ext1[1], ext2[1]), ext1[2] | ext2[2], lon.size)
    grid, _ = _engine._grid_and_right(r, ext1, ext2, lon, lat, 1)
    assert grid.nz > 10 * first.nz  # the grid was planned again for the cluster, and that one runs

    i1, i2, sep = match_pairs(ra, dec, ra2, dec2, radius * u.arcsec)
    ref = reference(ra, dec, ra2, dec2, radius)
    got = list(zip(i1.tolist(), i2.tolist()))
    assert len(set(got)) == len(got)
    assert ref.strict <= set(got) <= ref.loose
    assert len(ref.strict) > n_cluster
    n1, n2, _ = match_pairs(ra, dec, ra2, dec2, radius * u.arcsec, k=1)
    first = np.r_[True, i1[1:] != i1[:-1]]
    assert n1.tolist() == i1[first].tolist() and n2.tolist() == i2[first].tolist()


def test_left_rows_in_any_order_give_the_same_nearest_pairs():
    """The sweep keeps a finger in each zone's right rows and moves it forward as the left rows' RA
    grows; left rows in another order (here the reverse: zones and RA descending) must move it back
    and still find every pair, as the sorted order does."""
    from platform_lib.crossmatch import _engine

    rng = np.random.default_rng(3)
    n = 20000
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    ra2 = (ra + rng.normal(0, 30 / 3600, n)) % 360
    dec2 = np.clip(dec + rng.normal(0, 30 / 3600, n), -90, 90)
    r = np.radians(60 / 3600)
    lon1, lat1, ext1 = _engine._coords(ra, dec, "left")
    lon2, lat2, ext2 = _engine._coords(ra2, dec2, "right")
    grid, right = _engine._grid_and_right(r, ext1, ext2, lon2, lat2, 1)
    left = _engine._sort_side(lon1, lat1, grid, False, 1)

    def nearest(side):
        nblock = 4
        step = -(-n // nblock)
        bcount = np.zeros((nblock, (n >> _engine._BUCKET_SHIFT) + 1), dtype=np.int64)
        none = np.empty(0, dtype=np.int64)
        pairs = (np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64), np.empty(n))
        packed = _engine._sweep_all(step, _engine._NEAREST, 1, grid, side, right, none, none, bcount, *pairs)
        return _engine._by_left_row(np.minimum(np.arange(nblock) * step, n), packed, bcount, pairs)

    reverse = _engine._Side(*(a[::-1].copy() for a in left[:3]), left.cell_start)
    i1, i2, sep = nearest(left)
    j1, j2, sep2 = nearest(reverse)
    assert i1.size > n // 2
    assert i1.tolist() == j1.tolist() and i2.tolist() == j2.tolist() and np.array_equal(sep, sep2)
    ref = match_pairs(ra, dec, ra2, dec2, 60 * u.arcsec, k=1)
    assert ref[0].tolist() == i1.tolist() and ref[1].tolist() == i2.tolist()

def _same(a, b):
    for x, y in zip(a, b):
        assert x.dtype == y.dtype
        assert np.array_equal(x, y)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_sky(), st.sampled_from([None, 1, 2]), st.sampled_from([1.0, 1.5, 40.0]))
def test_prepared_side_gives_the_same_pairs(case, k, wider):
    """Anywhere on the sky (poles, the RA seam, duplicates), for all pairs and the k nearest, with the
    side prepared for the match's radius or a wider one."""
    left, right, radius = case
    side = prepare(*right, radius * wider * u.arcsec)
    assert isinstance(side, PreparedSide) and side.size == right[0].size
    _same(match_pairs(*left, side, None, radius * u.arcsec, k=k), match_pairs(*left, *right, radius * u.arcsec, k=k))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.sampled_from([1.0, 60.0, 1800.0]),
       st.sampled_from([(10.0, 0.5, 20.0), (359.8, 0.5, -60.0), (0.0, 2.0, 85.0), (180.0, 0.01, -89.0)]))
def test_a_patch_prepared_alone_finds_left_rows_from_anywhere(seed, radius, patch):
    """The grid of a prepared side covers its own patch only: left rows all over the sky (most beyond
    its band and span, some just outside its edges, where the pairs are) find the same pairs."""
    ra0, size, dec0 = patch
    rng = np.random.default_rng(seed)
    n = 400
    ra2 = (ra0 + rng.uniform(-size, size, n)) % 360
    dec2 = np.clip(dec0 + rng.uniform(-size, size, n), -90, 90)
    edge = rng.integers(0, n, 150)  # near the patch's rows, within a few radii
    spread = 3 * radius / 3600
    ra1 = np.r_[rng.uniform(0, 360, 150), (ra2[edge] + rng.uniform(-spread, spread, 150)) % 360]
    dec1 = np.r_[np.degrees(np.arcsin(rng.uniform(-1, 1, 150))),
                 np.clip(dec2[edge] + rng.uniform(-spread, spread, 150), -90, 90)]
    side = prepare(ra2, dec2, radius * u.arcsec)
    for k in (None, 1):
        want = match_pairs(ra1, dec1, ra2, dec2, radius * u.arcsec, k=k)
        _same(match_pairs(ra1, dec1, side, None, radius * u.arcsec, k=k), want)
    assert want[0].size  # the rows near the patch have pairs


def test_a_large_sample_prepared_once_serves_many_matches():
    rng = np.random.default_rng(7)
    n = 200_000
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    side = prepare(ra, dec, 2 * u.arcsec)
    assert side.nbytes >= 20 * n
    for seed in range(3):
        pick = np.random.default_rng(seed).choice(n, 5000, replace=False)
        ra1, dec1 = ra[pick], dec[pick] + 0.1 / 3600
        got = match_pairs(ra1, dec1, side, None, 1 * u.arcsec)
        _same(got, match_pairs(ra1, dec1, ra, dec, 1 * u.arcsec))
        assert set(zip(range(5000), pick.tolist())) <= set(zip(got[0].tolist(), got[1].tolist()))


def test_prepared_side_refusals_and_empties():
    a = np.array([10.0, 20.0])
    side = prepare(a, a, 2 * u.arcsec)
    with pytest.raises(ValueError, match="larger than the prepared side"):
        match_pairs(a, a, side, None, 3 * u.arcsec)
    with pytest.raises(TypeError, match="None as its latitude"):
        match_pairs(a, a, side, a, 1 * u.arcsec)
    with pytest.raises(ValueError, match="NaN"):
        prepare(np.array([np.nan]), np.array([0.0]), 1 * u.arcsec)
    with pytest.raises(TypeError, match="Quantity"):
        prepare(a, a, 2.0)
    e = np.empty(0)
    for i1, i2, sep in (match_pairs(e, e, side, None, 1 * u.arcsec),
                        match_pairs(a, a, prepare(e, e, 1 * u.arcsec), None, 1 * u.arcsec)):
        assert i1.size == i2.size == sep.size == 0 and i1.dtype == np.int64


def test_a_small_match_runs_its_kernels_on_one_thread_and_a_large_one_on_all(monkeypatch):
    """ci20: every match woke all of numba's threads for each parallel step, even for a few rows (the archive's
    positional join alone ran small ones on one thread): a match that sorts fewer than ``_ONE_THREAD_ROWS`` rows now
    runs on one thread, a larger one on all, the same pairs either way, and the caller's thread count is restored."""
    import numba

    from platform_lib.crossmatch import _engine

    threads = numba.get_num_threads()
    if threads == 1:
        pytest.skip("numba has one thread here")
    seen = []
    sweep = _engine._sweep_all

    def counting(*args):
        seen.append(numba.get_num_threads())
        return sweep(*args)

    monkeypatch.setattr(_engine, "_sweep_all", counting)
    monkeypatch.setattr(_engine, "_ONE_THREAD_ROWS", 100)  # small inputs, both sides of the line
    rng = np.random.default_rng(5)
    a = rng.uniform(10, 10.1, (2, 60))
    small = match_pairs(*a, *a[:, :30], 30 * u.arcsec)  # 90 rows
    match_pairs(*a, *a, 30 * u.arcsec, k=1)  # 120 rows
    prepared = _engine.prepare(*a, 30 * u.arcsec)  # 60 rows
    against = match_pairs(*a[:, :30], prepared, None, 30 * u.arcsec)  # 30 rows sorted
    assert seen == [1, 1, threads, 1, 1] and numba.get_num_threads() == threads, seen
    monkeypatch.setattr(_engine, "_ONE_THREAD_ROWS", 0)
    for got, want in ((small, match_pairs(*a, *a[:, :30], 30 * u.arcsec)),
                      (against, match_pairs(*a[:, :30], *a, 30 * u.arcsec))):
        assert all(np.array_equal(g, w) for g, w in zip(got, want))
    assert seen[5:] == [threads] * 4
