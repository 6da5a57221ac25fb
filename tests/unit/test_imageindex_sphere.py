"""Spherical geometry and the R-tree: cap boxes, exact tests, RA = 0/360 and the poles, packed bulk load."""

from __future__ import annotations

import math
import sqlite3

import numpy as np
import pytest

from platform_lib.imageindex.rtree_pack import pack_rtree
from platform_lib.imageindex.sphere import (
    Circle,
    Polygon,
    Range,
    angular_separation,
    cap_box,
    cap_boxes,
    morton_key,
    polygon_caps,
    polygon_is_simple,
    radec_to_xyz,
)


def _random_cap_points(rng, center, r, n):
    """Points on the boundary of a cap (centre unit vector, radius r rad)."""
    a = np.cross(center, [0.0, 0.0, 1.0] if abs(center[2]) < 0.9 else [1.0, 0.0, 0.0])
    a /= np.linalg.norm(a)
    b = np.cross(center, a)
    t = rng.uniform(0, 2 * np.pi, n)[:, None]
    return math.cos(r) * center + math.sin(r) * (np.cos(t) * a + np.sin(t) * b)


@pytest.mark.parametrize("ra,dec,r", [(0.0, 0.0, 1.0), (359.9, 10, 0.5), (0, 89.95, 0.2), (123, -90, 3), (45, 30, 90)])
def test_cap_box_contains_the_cap_and_is_tight(ra, dec, r):
    rng = np.random.default_rng(0)
    c = radec_to_xyz(ra, dec)
    box = np.array(cap_box(c, math.radians(r)))
    pts = np.concatenate([_random_cap_points(rng, c, math.radians(r) * f, 2000) for f in (0.3, 1.0)] + [c[None]])
    assert np.all(pts >= box[0::2] - 1e-12) and np.all(pts <= box[1::2] + 1e-12)
    # Tight: each face is reached by the boundary (or the cap contains the axis pole) within 1e-4.
    dense = _random_cap_points(rng, c, math.radians(r), 200000)
    for k in range(3):
        lo = min(dense[:, k].min(), c[k]) if box[2 * k] > -1 else -1
        hi = max(dense[:, k].max(), c[k]) if box[2 * k + 1] < 1 else 1
        assert box[2 * k] == pytest.approx(lo, abs=1e-4) and box[2 * k + 1] == pytest.approx(hi, abs=1e-4)
    np.testing.assert_allclose(cap_boxes(c[None], np.array([math.radians(r)]))[0], box)


def test_polygon_across_ra0_and_pole():
    wrap = Polygon([359, 1, 1, 359], [-1, -1, 1, 1])
    assert wrap.contains_point(radec_to_xyz(0, 0)) and wrap.contains_point(radec_to_xyz(359.5, 0.5))
    assert not wrap.contains_point(radec_to_xyz(180, 0)) and not wrap.contains_point(radec_to_xyz(2, 0))
    cap = Polygon([0, 90, 180, 270], [80, 80, 80, 80])
    assert cap.contains_point(radec_to_xyz(12, 89.9)) and not cap.contains_point(radec_to_xyz(12, 70))
    assert Circle(200, 89.99, 0.01).intersects_polygon(cap)
    assert Circle(0.5, 0, 0.1).intersects_polygon(wrap) and not Circle(3, 0, 1.9).intersects_polygon(wrap)
    assert Circle(3, 0, 2.1).intersects_polygon(wrap)
    assert wrap.intersects_polygon(Polygon([0.5, 3, 3, 0.5], [0.5, 0.5, 3, 3]))
    assert not wrap.intersects_polygon(Polygon([2, 3, 3, 2], [0, 0, 1, 1]))
    assert Range(350, 10, -5, 5).intersects_polygon(wrap) and not Range(10, 20, -5, 5).intersects_polygon(wrap)
    assert Range(0, 360, 85, 90).intersects_polygon(cap) and not Range(0, 360, -90, 70).intersects_polygon(cap)


def test_crossing_edges_without_vertices_inside():
    # A thin horizontal strip crossing a thin vertical one: no vertex of either lies in the other.
    a = Polygon([10, 20, 20, 10], [0, 0, 0.1, 0.1])
    b = Polygon([15, 15.1, 15.1, 15], [-5, -5, 5, 5])
    assert a.intersects_polygon(b) and b.intersects_polygon(a)


def test_self_intersecting_polygon():
    assert polygon_is_simple(radec_to_xyz([0, 1, 1, 0], [0, 0, 1, 1]))
    assert not polygon_is_simple(radec_to_xyz([0, 1, 1, 0], [0, 1, 0, 1]))


def _square(ra, dec, half):
    return Polygon([ra - half, ra + half, ra + half, ra - half], [dec - half, dec - half, dec + half, dec + half])


def test_rtree_prefilter_never_loses_a_match_near_ra0_and_poles():
    rng = np.random.default_rng(42)
    n = 1500
    ra = np.concatenate([rng.uniform(-2, 2, n // 3) % 360, rng.uniform(0, 360, n // 3), rng.uniform(0, 360, n - 2 * (n // 3))])
    dec = np.concatenate([rng.uniform(-3, 3, n // 3), rng.uniform(85, 89.5, n // 3), rng.uniform(-89.5, -85, n - 2 * (n // 3))])
    polys = [_square(r, d, 0.3) for r, d in zip(ra, dec)]
    verts = np.stack([p.xyz for p in polys])
    centres, radii = polygon_caps(verts)
    boxes = cap_boxes(centres, radii)
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE r USING rtree(id, x0, x1, y0, y1, z0, z1)")
    conn.commit()
    order = np.argsort(morton_key(centres))
    pack_rtree(conn, "r", np.arange(n)[order], boxes[order])
    conn.commit()
    assert conn.execute("SELECT rtreecheck('r')").fetchone()[0] == "ok"
    # Each query with a circle (centre, degrees) that holds it; a footprint (< 0.5 deg from its centre) whose
    # centre lies more than 1 deg outside that circle cannot touch the query, so the exact test runs only on
    # the footprints near it (the exact test is slow in Python), and a sample of the others checks that claim.
    queries = [(Circle(0.0, 0.0, 1.0), (0, 0, 1)), (Circle(359.8, 1.0, 0.5), (359.8, 1, 0.5)),
               (Circle(0, 90, 3.0), (0, 90, 3)), (Circle(77, -88, 2.0), (77, -88, 2)),
               (Range(358, 2, -2, 2), (0, 0, 2.9)), (Range(0, 360, 88, 90), (0, 90, 2)),
               (Polygon([359, 1, 1, 359], [-1, -1, 1, 1]), (0, 0, 1.5)),
               (Polygon([0, 120, 240], [87, 87, 87]), (0, 90, 3))]
    footprint_centres = radec_to_xyz(ra, dec)
    for q, (qra, qdec, reach) in queries:
        x0, x1, y0, y1, z0, z1 = q.box()
        cand = {row[0] for row in conn.execute(
            "SELECT id FROM r WHERE x1>=? AND x0<=? AND y1>=? AND y0<=? AND z1>=? AND z0<=?", (x0, x1, y0, y1, z0, z1))}
        near = np.degrees(np.arccos(np.clip(footprint_centres @ radec_to_xyz(qra, qdec), -1, 1))) <= reach + 1
        truth = {i for i in np.flatnonzero(near) if q.intersects_polygon(polys[i])}
        assert truth, q
        assert truth <= cand, (q, truth - cand)
        far = np.flatnonzero(~near)
        assert not any(q.intersects_polygon(polys[i]) for i in rng.choice(far, min(50, far.size), replace=False))


@pytest.mark.parametrize("n", [1, 50, 51, 52, 2601, 2602, 20000])
def test_packed_rtree_matches_inserted_rtree(n):
    rng = np.random.default_rng(n)
    c = rng.normal(size=(n, 3))
    c /= np.linalg.norm(c, axis=1)[:, None]
    boxes = cap_boxes(c, rng.uniform(1e-4, 0.02, n))
    packed = sqlite3.connect(":memory:")
    naive = sqlite3.connect(":memory:")
    for conn in (packed, naive):
        conn.execute("CREATE VIRTUAL TABLE r USING rtree(id, x0, x1, y0, y1, z0, z1)")
        conn.commit()
    order = np.argsort(morton_key(c))
    pack_rtree(packed, "r", np.arange(1, n + 1)[order], boxes[order])
    packed.commit()
    naive.executemany("INSERT INTO r VALUES (?,?,?,?,?,?,?)", [(i + 1, *b) for i, b in enumerate(boxes.tolist())])
    assert packed.execute("SELECT rtreecheck('r')").fetchone()[0] == "ok"
    for q in boxes[rng.integers(0, n, 20)]:
        sql = "SELECT id FROM r WHERE x1>=? AND x0<=? AND y1>=? AND y0<=? AND z1>=? AND z0<=? ORDER BY id"
        assert packed.execute(sql, tuple(q)).fetchall() == naive.execute(sql, tuple(q)).fetchall()
    # The packed tree stays a normal R-tree: inserts and deletes keep it consistent.
    packed.execute("INSERT INTO r VALUES (?,?,?,?,?,?,?)", (n + 10, 0, 0.1, 0, 0.1, 0, 0.1))
    packed.execute("DELETE FROM r WHERE id = 1")
    assert packed.execute("SELECT rtreecheck('r')").fetchone()[0] == "ok"
    assert packed.execute("SELECT count(*) FROM r").fetchone()[0] == n


def test_angular_separation_small_and_antipodal():
    a = radec_to_xyz(10, 20)
    assert angular_separation(a, radec_to_xyz(10, 20 + 1e-7)) == pytest.approx(math.radians(1e-7), rel=1e-6)
    assert angular_separation(a, -a) == pytest.approx(math.pi)


def test_a_point_on_a_square_footprints_diagonal_is_inside():
    """The path from a point to the outside went through a corner when the point lay on the diagonal of a square
    image (a TAN image's diagonals are great circles through its centre): the two edges meeting there each counted
    the crossing or neither did, by rounding, so such points were outside. 1,000 points on both diagonals of real
    image shapes (a DSS cut-out's, a rotated one's, one at the pole), and points just outside the corners."""
    rng = np.random.default_rng(7)
    for ra0, dec0, half, turn in ((250.4226, 36.4602, 0.0417, 0.0), (10.0, -45.0, 0.5, 30.0), (0.0, 89.5, 0.3, 10.0)):
        t = np.radians(turn)
        corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float) * half
        corners = corners @ np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]]).T
        c = radec_to_xyz(ra0, dec0)
        east = np.cross([0.0, 0.0, 1.0], c)
        east /= np.linalg.norm(east)
        north = np.cross(c, east)

        def sky(xy):  # gnomonic: straight lines through the centre are great circles
            v = c + np.radians(xy[..., :1]) * east + np.radians(xy[..., 1:]) * north
            return v / np.linalg.norm(v, axis=-1, keepdims=True)

        poly = Polygon.from_xyz(sky(corners))
        for corner in corners:
            for f in rng.uniform(0.001, 0.999, 500 // 3):
                assert poly.contains_point(sky(corner * f)), (ra0, dec0, f)
            assert not poly.contains_point(sky(corner * 1.001))
