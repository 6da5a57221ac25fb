"""Aligning two HEALPix partitionings (which partitions overlap) for the on-disk crossmatch."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from platform_lib.crossmatch._partitions import _groups, overlapping_pixels


@st.composite
def partitionings(draw, max_order=4):
    """A HATS-like partitioning: the 12 base pixels split at random down to ``max_order``, some
    pixels dropped (sky with no rows)."""
    out = []

    def split(order, pixel):
        if order < max_order and draw(st.booleans()):
            for child in range(4 * pixel, 4 * pixel + 4):
                split(order + 1, child)
        elif draw(st.integers(0, 5)) != 5:
            out.append((order, pixel))

    for base in draw(st.lists(st.integers(0, 11), unique=True, max_size=12)):
        split(0, base)
    return out


def _contains(a, b):
    (oa, pa), (ob, pb) = a, b
    return oa <= ob and pb >> (2 * (ob - oa)) == pa


@settings(max_examples=200, deadline=None)
@given(partitionings(), partitionings())
def test_overlapping_pixels_are_exactly_the_nested_pairs(left, right):
    brute = {(lp, rp) for lp in left for rp in right if _contains(lp, rp) or _contains(rp, lp)}
    got = overlapping_pixels(left, right)
    assert len(got) == len(set(got)) and set(got) == brute


@settings(max_examples=100, deadline=None)
@given(partitionings(), partitionings())
def test_every_overlap_lands_in_exactly_one_group_under_its_coarser_pixel(left, right):
    pairs = overlapping_pixels(left, right)
    seen = []
    for g in _groups(pairs):
        for fine in g.fine:
            pair = (g.coarse, fine) if g.coarse_side == "left" else (fine, g.coarse)
            assert _contains(g.coarse, fine)
            seen.append(pair)
    assert sorted(seen) == sorted(pairs)


def test_one_coarse_left_pixel_meets_its_finer_right_pixels():
    assert overlapping_pixels([(0, 4)], [(1, 16), (1, 19), (1, 20), (0, 3)]) == [((0, 4), (1, 16)), ((0, 4), (1, 19))]


def _stars(n, seed):
    """Stars crowded around RA 0/360 near the north pole and on an order-0 edge: many small partitions meet."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    ra = np.concatenate([rng.uniform(-2, 2, n // 2) % 360, rng.uniform(40, 50, n - n // 2)])
    dec = np.concatenate([rng.uniform(80, 90, n // 2), rng.uniform(40, 44, n - n // 2)])
    return pd.DataFrame({"ra": ra, "dec": dec, "id": np.arange(n)})


def test_read_around_holds_every_right_row_within_the_reach_of_each_left_row(tmp_path):
    """lsdb18: the rows a margin too narrow would miss are in the partitions read around the left rows (LSDB's
    path now reads them too): against a brute force, for a reach 20x the margin."""
    import astropy.units as u
    import numpy as np
    from astropy.coordinates import SkyCoord, search_around_sky

    from platform_lib.catalogs import read_layout, write_hats
    from platform_lib.crossmatch._partitions import read_around

    right, left = _stars(3_000, 1), _stars(300, 2)
    write_hats(right, tmp_path / "r", name="r", ra_column="ra", dec_column="dec", partition_rows=100,
               margin_arcsec=1.0)
    layout = read_layout(tmp_path / "r")
    assert len(layout.pixels) > 20 and layout.margin.margin_arcsec == 1.0
    reach = 20.0 * 60  # 20'
    i, j, _, _ = search_around_sky(SkyCoord(left["ra"].to_numpy() * u.deg, left["dec"].to_numpy() * u.deg),
                                   SkyCoord(right["ra"].to_numpy() * u.deg, right["dec"].to_numpy() * u.deg),
                                   reach * u.arcsec)
    for rows in (np.arange(len(left)), np.arange(5), np.arange(150, 160)):  # each left row matched once, any group
        read = read_around(layout, left["ra"].to_numpy()[rows], left["dec"].to_numpy()[rows], reach,
                           columns=["id", "ra"])
        assert read.column_names == ["id", "ra"]
        ids = read.column("id").to_numpy()
        assert len(ids) == len(set(ids.tolist())), "a row read twice (a margin's copy)"  # every read
        assert len(ids) < len(right) or len(rows) == len(left)  # a few left rows: not the whole catalogue
        assert set(right["id"].to_numpy()[j[np.isin(i, rows)]].tolist()) <= set(ids.tolist())
    assert read_around(layout, np.array([]), np.array([]), reach).num_rows == 0


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 40), st.sampled_from([0.5, 3.0, 30.0, 300.0, 3600.0]), st.integers(0, 9), st.integers(0, 2**32))
def test_few_cones_touch_the_partitions_a_moc_of_them_touches(n, reach, depth, seed):
    """xmfast22: up to FEW_CONES cones are covered one at a time with cdshealpix, not with a mocpy MOC (whose import
    pulls matplotlib and networkx into a first crossmatch); the cells, and so the partitions read, are the MOC's,
    near the poles, RA 0/360 and order-0 edges too."""
    import numpy as np

    from platform_lib.crossmatch import _partitions

    rng = np.random.default_rng(seed)
    lon = rng.uniform(0, 360, n)
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    edge = rng.random(n) < 0.5
    lat[edge] = np.clip(rng.choice([-89.9999, 89.9999, 41.8103, 0.0], edge.sum()) + rng.normal(0, 1e-3, edge.sum()),
                        -90, 90)
    lon[rng.random(n) < 0.3] = rng.normal(0, 1e-3) % 360
    moc = _partitions.cones_moc(lon, lat, reach, depth).to_depth29_ranges.astype(np.int64)
    np.testing.assert_array_equal(_partitions._cone_ranges(lon, lat, reach, depth), moc)
    pixels = [(o, p) for o in range(depth + 1) for p in rng.choice(12 * 4**o, min(40, 12 * 4**o), replace=False)]
    few = _partitions.touched_pixels(pixels, lon, lat, reach)
    many_ = _partitions.FEW_CONES
    try:
        _partitions.FEW_CONES = 0  # the MOC's way
        assert _partitions.touched_pixels(pixels, lon, lat, reach) == few
    finally:
        _partitions.FEW_CONES = many_
