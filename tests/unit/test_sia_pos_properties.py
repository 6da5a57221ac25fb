"""Property tests of SIA v2 ``POS`` (``CIRCLE``, ``RANGE``, ``POLYGON``) on the image index against brute force.

Random footprints (convex quadrilaterals of 0.01-5 deg, many across RA 0 and at the poles) go into a
real image index (SQLite + R-tree, as ``bulk_load`` writes it); ``POS`` values are parsed by the
service's own parser (``astrohub_archive.params.parse_pos``) and answered by ``ImageIndex.query``. The
SIA rule is "the footprint intersects the region". The brute force is written here: for circles and
polygons exactly (a footprint vertex inside the region, a region point inside the footprint, or two
great-circle edges that cross; point-to-arc distances for circles); for ``RANGE`` by dense sampling of
both shapes, with footprints that come within one sampling step of the range's edge allowed either way.
"""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from astrohub_archive.faults import UsageFault
from astrohub_archive.params import parse_pos
from platform_lib.imageindex import ImageIndex, ImageQuery
from platform_lib.imageindex.index import bulk_load, create_schema
from platform_lib.imageindex.ingest import COLUMNS

# derandomize and the example database come from the profile (tests/conftest.py: fixed in CI, random with
# HYPOTHESIS_PROFILE=explore)
SETTINGS = dict(deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
N = 1500


def _unit(ra, dec):
    ra, dec = np.radians(ra), np.radians(dec)
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], axis=-1)


def _radec(xyz):
    return np.degrees(np.arctan2(xyz[..., 1], xyz[..., 0])) % 360, np.degrees(np.arcsin(np.clip(xyz[..., 2], -1, 1)))


def _quads(ra, dec, size, rot):
    """Convex quadrilaterals round each (ra, dec): vertices ``size`` deg away at 4 position angles."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    pa = rot[:, None] + np.array([0.0, 80.0, 180.0, 260.0])[None, :]
    c = SkyCoord(np.repeat(ra, 4) * u.deg, np.repeat(dec, 4) * u.deg)
    v = c.directional_offset_by(pa.ravel() * u.deg, np.repeat(size, 4) * u.deg)
    return _unit(v.ra.deg, v.dec.deg).reshape(-1, 4, 3)


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    rng = np.random.default_rng(5)
    k = N // 3
    ra = np.concatenate([rng.uniform(0, 360, k), rng.uniform(-3, 3, k) % 360, rng.uniform(0, 360, N - 2 * k)])
    dec = np.concatenate([np.degrees(np.arcsin(rng.uniform(-1, 1, k))), rng.uniform(-60, 60, k),
                          rng.choice([-1, 1], N - 2 * k) * rng.uniform(84, 90, N - 2 * k)])
    size = 10 ** rng.uniform(-2, np.log10(5), N)
    verts = _quads(ra, dec, size, rng.uniform(0, 360, N))
    records = []
    for i in range(N):
        rec = {c: None for c in COLUMNS}
        rec.update(obs_id=f"img{i}", dataproduct_type="image", s_ra=float(ra[i]), s_dec=float(dec[i]),
                   s_fov=float(2 * size[i]), file_path=f"img{i}.fits", release_date=0.0)
        records.append(rec)
    path = tmp_path_factory.mktemp("sia-pos") / "index.sqlite"
    conn = sqlite3.connect(path)
    create_schema(conn)
    bulk_load(conn, records, verts)
    conn.commit()
    conn.close()
    return ImageIndex(path), verts


def _found(idx, pos: str) -> set[int]:
    records, overflow = idx.query(ImageQuery(pos=[parse_pos(pos)]))
    assert not overflow
    return {int(r["obs_id"][3:]) for r in records}


def _inside_convex(poly, p):
    """Whether points ``p`` (m, 3) lie inside each convex polygon ``poly`` (n, k, 3): (n, m); and the margin."""
    normals = np.cross(poly, np.roll(poly, -1, axis=1))
    normals /= np.linalg.norm(normals, axis=-1, keepdims=True)
    centre = poly.sum(axis=1)
    sign = np.sign(np.einsum("nkj,nj->nk", normals, centre))[..., None]
    side = np.einsum("nkj,mj->nkm", normals, p) * sign
    return side.min(axis=1) >= 0


def _arcs_cross(a1, a2, b1, b2):
    """Whether (minor) arc a1-a2 crosses arc b1-b2 (arrays broadcast): each pair of ends on opposite sides of the
    other's great circle, and the crossing point on the same side of the sphere as both arcs (not antipodal)."""
    def dot(x, y):
        return np.einsum("...j,...j->...", x, y)

    na, nb = np.cross(a1, a2), np.cross(b1, b2)
    x = np.cross(na, nb)
    x = x * np.sign(dot(x, a1 + a2))[..., None]
    return (dot(na, b1) * dot(na, b2) < 0) & (dot(nb, a1) * dot(nb, a2) < 0) & (dot(x, b1 + b2) > 0)


def _point_arc_distance(p, a, b):
    """Angle (rad) from point ``p`` (3,) to each arc a-b (n, 3)."""
    n = np.cross(a, b)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    s = n @ p
    foot = p[None] - s[:, None] * n
    on = (np.einsum("nj,nj->n", np.cross(a, foot), n) >= 0) & (np.einsum("nj,nj->n", np.cross(foot, b), n) >= 0) & (
        np.einsum("nj,nj->n", foot, a + b) > 0)
    ends = np.minimum(np.arccos(np.clip(a @ p, -1, 1)), np.arccos(np.clip(b @ p, -1, 1)))
    return np.where(on, np.arcsin(np.clip(np.abs(s), 0, 1)), ends)


_ra = st.one_of(st.sampled_from([0.0, 45.0, 90.0, 359.0, 360.0]), st.floats(0, 360, allow_nan=False))
_dec = st.one_of(st.sampled_from([-90.0, -88.0, 0.0, 87.0, 90.0]), st.floats(-90, 90, allow_nan=False))


@settings(max_examples=20, **SETTINGS)
@given(ra=_ra, dec=_dec, r=st.one_of(st.sampled_from([1e-4, 3.0, 90.0, 180.0]), st.floats(1e-3, 60)))
@example(ra=0.0, dec=0.0, r=2.0)
@example(ra=123.0, dec=-90.0, r=5.0)
def test_pos_circle_equals_exact_brute_force(index, ra, dec, r):
    idx, verts = index
    c = _unit(ra, dec)
    inside = _inside_convex(verts, c[None])[:, 0]
    a, b = verts.reshape(-1, 3), np.roll(verts, -1, axis=1).reshape(-1, 3)
    dist = _point_arc_distance(c, a, b).reshape(len(verts), 4).min(axis=1)
    rr = np.radians(r)
    want = set(np.flatnonzero(inside | (dist <= rr)).tolist())
    rim = set(np.flatnonzero(~inside & (np.abs(dist - rr) < 1e-9)).tolist())
    got = _found(idx, f"CIRCLE {ra} {dec} {r}")
    assert got - rim == want - rim, (sorted(want - got)[:5], sorted(got - want)[:5])


@settings(max_examples=20, **SETTINGS)
@given(ra=_ra, dec=_dec, radius=st.one_of(st.sampled_from([0.01, 2.0, 45.0, 80.0, 89.0]), st.floats(0.01, 89)),
       rot=st.floats(0, 90), n=st.integers(3, 7))
@example(ra=0.0, dec=90.0, radius=4.0, rot=0.0, n=4)
@example(ra=0.0, dec=-30.0, radius=80.0, rot=10.0, n=3)
def test_pos_polygon_equals_exact_brute_force(index, ra, dec, radius, rot, n):
    idx, verts = index
    q = _quads(np.full(1, ra % 360), np.full(1, dec), np.full(1, radius), np.full(1, rot))[0] if n == 4 else None
    if q is None:
        import astropy.units as u
        from astropy.coordinates import SkyCoord

        v = SkyCoord(ra * u.deg, dec * u.deg).directional_offset_by((rot + np.arange(n) * 360 / n) * u.deg,
                                                                     radius * u.deg)
        q = _unit(v.ra.deg, v.dec.deg)
    qra, qdec = _radec(q)
    hit = _inside_convex(verts, q).any(axis=1)  # a query vertex inside a footprint
    hit |= _inside_convex(q[None], verts.reshape(-1, 3))[0].reshape(len(verts), 4).any(axis=1)  # and the reverse
    fa, fb = verts[:, :, None, :], np.roll(verts, -1, axis=1)[:, :, None, :]
    qa, qb = q[None, None], np.roll(q, -1, axis=0)[None, None]
    hit |= _arcs_cross(fa, fb, qa, qb).any(axis=(1, 2))
    got = _found(idx, "POLYGON " + " ".join(f"{a} {d}" for a, d in zip(qra, qdec)))
    assert got == set(np.flatnonzero(hit).tolist()), (sorted(set(np.flatnonzero(hit).tolist()) - got)[:5])


def _range_hits(verts, ra1, ra2, d1, d2, pad):
    """Footprints with a sample inside the range (grown by ``pad`` deg), by dense sampling of both shapes."""
    t = np.linspace(0, 1, 25)
    a, b, c = verts[:, 0], verts[:, 1], verts[:, 2]
    d = verts[:, 3]
    # bilinear samples of the quad (interior and edges), projected to the sphere
    s = ((1 - t)[:, None, None, None] * ((1 - t)[None, :, None, None] * a[None, None] + t[None, :, None, None] * b[None, None])
         + t[:, None, None, None] * ((1 - t)[None, :, None, None] * d[None, None] + t[None, :, None, None] * c[None, None]))
    sra, sdec = _radec(s / np.linalg.norm(s, axis=-1, keepdims=True))
    width = (ra2 - ra1) % 360 if ra2 - ra1 < 360 else 360.0
    full = width >= 360 or width + 2 * pad / max(np.cos(np.radians(min(89.9, max(abs(d1), abs(d2)) + pad))), 1e-3) >= 360
    in_dec = (sdec >= d1 - pad) & (sdec <= d2 + pad)
    if full:
        return in_dec.any(axis=(0, 1))
    cosd = np.cos(np.radians(np.minimum(89.9, np.maximum(np.abs(d1), np.abs(d2)) + pad)))
    rpad = pad / cosd
    off = (sra - (ra1 - rpad)) % 360
    return (in_dec & (off <= width + 2 * rpad)).any(axis=(0, 1))


@settings(max_examples=12, **SETTINGS)
@given(ra1=_ra, width=st.one_of(st.sampled_from([0.001, 2.0, 360.0]), st.floats(0.001, 360)),
       d1=_dec, height=st.one_of(st.sampled_from([0.001, 1.0, 180.0]), st.floats(0.0005, 180)))
@example(ra1=358.0, width=4.0, d1=-2.0, height=4.0)  # wraps RA 0
@example(ra1=0.0, width=360.0, d1=86.0, height=4.0)  # a polar cap
@example(ra1=10.0, width=40.0, d1=20.0, height=0.0005)  # a thin strip through footprints
def test_pos_range_equals_sampled_brute_force(index, ra1, width, d1, height):
    idx, verts = index
    ra1 = ra1 % 360
    ra2 = 360.0 if width >= 360 else (ra1 + width) % 360
    ra1 = 0.0 if width >= 360 else ra1
    d2 = min(90.0, d1 + height)
    got = _found(idx, f"RANGE {ra1} {ra2} {d1} {d2}")
    sure = set(np.flatnonzero(_range_hits(verts, ra1, ra2, d1, d2, 0.0)).tolist())
    near = set(np.flatnonzero(_range_hits(verts, ra1, ra2, d1, d2, 0.25)).tolist())
    assert sure <= got, sorted(sure - got)[:5]
    assert got <= near, sorted(got - near)[:5]


def test_a_range_narrower_than_a_footprint_still_intersects_it():
    """Found by the property test: RANGE 0 0.001 -90 90 (a meridian sliver) missed footprints it cuts through,
    because the test sampled the footprint's outline (17 points an edge) and the range's corners only."""
    from platform_lib.imageindex import Polygon, Range

    square = Polygon([359.2, 0.7, 0.7, 359.2], [29.5, 29.5, 30.5, 30.5])
    assert Range(0.0, 0.001, -90.0, 90.0).intersects_polygon(square)
    assert Range(0.0, 360.0, 30.0, 30.0001).intersects_polygon(square)  # a thin ring through it
    assert Range(350.0, 60.0, 30.3, 30.3001).intersects_polygon(Polygon([0, 50, 50, 0], [20, 20, 40, 40]))  # wraps RA 0
    assert not Range(0.8, 1.0, -90.0, 90.0).intersects_polygon(square)
    assert not Range(0.0, 360.0, 31.0, 32.0).intersects_polygon(square)


def test_a_lopsided_polygon_within_a_hemisphere_is_accepted_and_exact(index):
    """Found by the property test: POS=POLYGON of 80 deg circumradius with three bunched vertices was refused as
    'larger than a hemisphere' (the cap round the vertices' mean is over 90 deg; the smallest is 80)."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    idx, verts = index
    v = SkyCoord(0 * u.deg, -45 * u.deg).directional_offset_by([0.0, 2.0, 68.0, 214.0] * u.deg, 80 * u.deg)
    q = _unit(v.ra.deg, v.dec.deg)
    hit = _inside_convex(verts, q).any(axis=1)
    hit |= _inside_convex(q[None], verts.reshape(-1, 3))[0].reshape(len(verts), 4).any(axis=1)
    hit |= _arcs_cross(verts[:, :, None, :], np.roll(verts, -1, axis=1)[:, :, None, :], q[None, None],
                       np.roll(q, -1, axis=0)[None, None]).any(axis=(1, 2))
    got = _found(idx, "POLYGON " + " ".join(f"{a} {d}" for a, d in zip(v.ra.deg, v.dec.deg)))
    assert got == set(np.flatnonzero(hit).tolist()) and len(got) > 100


def test_a_polygon_beyond_a_hemisphere_is_refused_naming_the_limit():
    with pytest.raises(UsageFault, match=r"within 89\.999 deg of one point"):
        parse_pos("POLYGON 0 0 120 0 240 0")
