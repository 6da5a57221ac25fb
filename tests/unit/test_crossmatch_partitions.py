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
