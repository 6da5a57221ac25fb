"""Spherical geometry for footprints: unit vectors, caps, polygons and their exact intersection tests.

Pure numpy, no I/O. Regions are convex or concave simple polygons whose edges are great-circle arcs
(the ObsCore/DALI ``POLYGON`` convention), circles (spherical caps) and RA/Dec ranges. The R-tree
stores the axis-aligned box of a region's bounding cap in unit-vector space, which is exact across
RA = 0/360 and at the poles because no angle wraps there.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Circle",
    "Polygon",
    "Range",
    "radec_to_xyz",
    "xyz_to_radec",
    "cap_box",
    "cap_boxes",
    "polygon_caps",
    "angular_separation",
    "polygon_is_simple",
    "outline_inside",
    "morton_key",
]

_EPS = 1e-12

# Exact tests run per candidate footprint on 3-vectors, where numpy's per-call overhead (np.cross
# ~10 us) dominates: they use these float-tuple helpers (the same arithmetic, ~50x faster).
Vec = tuple[float, float, float]


def _vec(p) -> Vec:
    return (float(p[0]), float(p[1]), float(p[2]))


def _cross(a: Vec, b: Vec) -> Vec:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _dot(a: Vec, b: Vec) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _norm(a: Vec) -> float:
    return math.sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2])


def _sep(a: Vec, b: Vec) -> float:
    """:func:`angular_separation` of two float-tuple unit vectors."""
    return math.atan2(_norm(_cross(a, b)), _dot(a, b))


def radec_to_xyz(ra_deg, dec_deg) -> np.ndarray:
    """Unit vectors (..., 3) for RA/Dec in degrees."""
    ra = np.radians(np.asarray(ra_deg, dtype=float))
    dec = np.radians(np.asarray(dec_deg, dtype=float))
    cd = np.cos(dec)
    return np.stack([cd * np.cos(ra), cd * np.sin(ra), np.sin(dec)], axis=-1)


def xyz_to_radec(xyz) -> tuple[np.ndarray, np.ndarray]:
    """RA in [0, 360) and Dec in degrees of (..., 3) vectors (not necessarily normalised)."""
    v = np.asarray(xyz, dtype=float)
    ra = np.degrees(np.arctan2(v[..., 1], v[..., 0])) % 360.0
    dec = np.degrees(np.arctan2(v[..., 2], np.hypot(v[..., 0], v[..., 1])))
    return ra, dec


def angular_separation(a, b) -> np.ndarray:
    """Angle in radians between unit vectors (broadcasting), stable for small and large angles."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return np.arctan2(np.linalg.norm(np.cross(a, b), axis=-1), np.sum(a * b, axis=-1))


def cap_box(center, radius_rad: float) -> tuple[float, float, float, float, float, float]:
    """The exact xyz bounding box ``(x0, x1, y0, y1, z0, z1)`` of a spherical cap.

    For each axis e, the extreme values of p.e over the cap are cos(max(0, angle(c, e) - r)) and
    cos(min(pi, angle(c, e) + r)): the box is exact, including caps that contain a pole or cross
    RA = 0.
    """
    c = np.asarray(center, dtype=float)
    c = c / np.linalg.norm(c)
    r = min(max(float(radius_rad), 0.0), math.pi)
    out = []
    for k in range(3):
        ang = math.acos(max(-1.0, min(1.0, float(c[k]))))
        hi = math.cos(max(0.0, ang - r))
        lo = math.cos(min(math.pi, ang + r))
        out.extend((lo, hi))
    return tuple(out)  # type: ignore[return-value]


def cap_boxes(centers: np.ndarray, radii_rad: np.ndarray) -> np.ndarray:
    """Vectorised :func:`cap_box`: (n, 3) unit centres and (n,) radii -> (n, 6) boxes."""
    c = np.asarray(centers, dtype=float)
    r = np.clip(np.asarray(radii_rad, dtype=float), 0.0, math.pi)[:, None]
    ang = np.arccos(np.clip(c, -1.0, 1.0))
    hi = np.cos(np.maximum(0.0, ang - r))
    lo = np.cos(np.minimum(math.pi, ang + r))
    out = np.empty((len(c), 6))
    out[:, 0::2] = lo
    out[:, 1::2] = hi
    return out


def polygon_caps(vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounding caps (unit centres (n, 3), radii (n,) in radians) of (n, k, 3) polygon vertices."""
    v = np.asarray(vertices, dtype=float)
    c = v.sum(axis=1)
    c /= np.linalg.norm(c, axis=1)[:, None]
    radii = np.max(angular_separation(c[:, None, :], v), axis=1)
    return c, radii + 1e-9


def _arc_point_distance(a: Vec, b: Vec, p: Vec) -> float:
    """Angular distance (rad) from point p to the minor great-circle arc a-b (float-tuple vectors)."""
    n = _cross(a, b)
    nn = _norm(n)
    if nn < _EPS:
        return _sep(a, p)
    n = (n[0] / nn, n[1] / nn, n[2] / nn)
    # Projection of p onto the great circle; inside the arc when it lies between a and b.
    pn = _dot(p, n)
    q = (p[0] - pn * n[0], p[1] - pn * n[1], p[2] - pn * n[2])
    qn = _norm(q)
    if qn > _EPS:
        q = (q[0] / qn, q[1] / qn, q[2] / qn)
        if _dot(_cross(a, q), n) >= -_EPS and _dot(_cross(q, b), n) >= -_EPS:
            return abs(math.asin(max(-1.0, min(1.0, pn))))
    return min(_sep(a, p), _sep(b, p))


def _arcs_intersect(a1: Vec, a2: Vec, b1: Vec, b2: Vec) -> bool:
    """Whether two minor great-circle arcs cross (or touch); float-tuple vectors."""
    n1 = _cross(a1, a2)
    n2 = _cross(b1, b2)
    t = _cross(n1, n2)
    tn = _norm(t)
    if tn < _EPS:  # same great circle: overlap when an endpoint lies on the other arc
        return any(
            _arc_point_distance(x, y, p) < 1e-9
            for x, y, p in ((a1, a2, b1), (a1, a2, b2), (b1, b2, a1), (b1, b2, a2))
        )
    t = (t[0] / tn, t[1] / tn, t[2] / tn)
    for cand in (t, (-t[0], -t[1], -t[2])):
        if (
            _dot(_cross(a1, cand), n1) >= -1e-12
            and _dot(_cross(cand, a2), n1) >= -1e-12
            and _dot(_cross(b1, cand), n2) >= -1e-12
            and _dot(_cross(cand, b2), n2) >= -1e-12
        ):
            return True
    return False


def outline_inside(inner: "Circle | Polygon", outer: "Circle | Polygon") -> bool:
    """Whether ``inner`` lies wholly inside ``outer`` (each a :class:`Circle` or a :class:`Polygon` with great-circle
    edges), exactly on the sphere, its boundary included (to 1e-12 rad). A polygon is inside a circle when no point
    of its edges is farther from the centre than the radius (each edge's nearest approach to the centre's antipode)
    and the antipode is not inside it; a circle inside a polygon when its centre is inside and no edge comes nearer
    the centre than the radius; a polygon inside a polygon when its vertices are, and so is the middle of each stretch
    of its edges between their crossings of the other's boundary (a point within 1e-9 rad of that boundary counts as
    inside: a polygon sharing a side with the other, or the same polygon, is inside it).

    Examples
    --------
    >>> outline_inside(Polygon([10, 11, 11], [0, 0, 1]), Circle(10.5, 0.5, 1.0))
    True
    >>> outline_inside(Circle(10.5, 0.5, 1.0), Polygon([10, 11, 11], [0, 0, 1]))
    False
    """
    if isinstance(outer, Circle):
        c, r = outer._center, math.radians(outer.radius)
        if isinstance(inner, Circle):
            return _sep(inner._center, c) + math.radians(inner.radius) <= r + _EPS
        anti = (-c[0], -c[1], -c[2])
        v = inner.points
        n = len(v)
        return (all(_arc_point_distance(v[i], v[(i + 1) % n], anti) >= math.pi - r - _EPS for i in range(n))
                and not inner.contains_point(np.array(anti)))
    v = outer.points
    n = len(v)
    if isinstance(inner, Circle):
        c, r = inner._center, math.radians(inner.radius)
        return outer.contains_point(np.array(c)) and all(
            _arc_point_distance(v[i], v[(i + 1) % n], c) >= r - _EPS for i in range(n))
    w = inner.points
    m = len(w)

    def holds(p: Vec) -> bool:  # inside ``outer`` or on its boundary
        return outer.contains_point(np.array(p)) or any(
            _arc_point_distance(v[j], v[(j + 1) % n], p) <= 1e-9 for j in range(n))

    if not all(holds(p) for p in w):
        return False
    for i in range(m):  # each edge: the middle of each stretch between its meetings with outer's boundary
        a, b = w[i], w[(i + 1) % m]
        cuts = sorted({0.0, 1.0, *(t for j in range(n) for t in _arc_cuts(a, b, v[j], v[(j + 1) % n]))})
        for t0, t1 in zip(cuts, cuts[1:]):
            if t1 - t0 > 1e-12 and not holds(_along(a, b, (t0 + t1) / 2)):
                return False
    return True


def _along(a: Vec, b: Vec, t: float) -> Vec:
    """The point a fraction ``t`` of the way along the minor arc a-b (by angle)."""
    ang = _sep(a, b)
    if ang < _EPS:
        return a
    s0, s1 = math.sin((1 - t) * ang) / math.sin(ang), math.sin(t * ang) / math.sin(ang)
    return (s0 * a[0] + s1 * b[0], s0 * a[1] + s1 * b[1], s0 * a[2] + s1 * b[2])


def _arc_cuts(a: Vec, b: Vec, c: Vec, d: Vec) -> list[float]:
    """The fractions (by angle) of the minor arc a-b where it crosses the minor arc c-d (none on one great circle)."""
    t = _cross(_cross(a, b), _cross(c, d))
    tn = _norm(t)
    if tn < _EPS:
        return []
    out = []
    ang = _sep(a, b)
    for sign in (1.0, -1.0):
        x = (sign * t[0] / tn, sign * t[1] / tn, sign * t[2] / tn)
        if (abs(_sep(a, x) + _sep(x, b) - ang) < 1e-9 and abs(_sep(c, x) + _sep(x, d) - _sep(c, d)) < 1e-9
                and ang > _EPS):
            out.append(_sep(a, x) / ang)
    return out


def polygon_is_simple(vertices: np.ndarray) -> bool:
    """Whether a closed spherical polygon (n, 3) has no self-intersecting edges."""
    v = [_vec(p) for p in np.asarray(vertices, dtype=float)]
    n = len(v)
    for i in range(n):
        a1, a2 = v[i], v[(i + 1) % n]
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue  # adjacent through the closing edge
            if _arcs_intersect(a1, a2, v[j], v[(j + 1) % n]):
                return False
    return True


@dataclass(frozen=True)
class Circle:
    """A spherical cap: centre (RA, Dec) and radius, all in degrees."""

    ra: float
    dec: float
    radius: float

    @property
    def center_xyz(self) -> np.ndarray:
        return radec_to_xyz(self.ra, self.dec)

    def box(self):
        return cap_box(self.center_xyz, math.radians(self.radius))

    def contains(self, xyz: np.ndarray) -> np.ndarray:
        return angular_separation(self.center_xyz, xyz) <= math.radians(self.radius) + 1e-12

    @functools.cached_property
    def _center(self) -> Vec:  # cached: one circle is tested against every candidate footprint
        return _vec(self.center_xyz)

    def intersects_polygon(self, poly: "Polygon") -> bool:
        c = self._center
        r = math.radians(self.radius)
        if poly.contains_point(c):
            return True
        v = poly.points
        n = len(v)
        return any(_arc_point_distance(v[i], v[(i + 1) % n], c) <= r + 1e-12 for i in range(n))


class Polygon:
    """A spherical polygon with great-circle edges, from RA/Dec vertex lists in degrees.

    The interior is the smaller of the two regions the boundary separates (DALI: polygons must be
    smaller than a hemisphere in practice), whatever the winding order.
    """

    def __init__(self, ra, dec) -> None:
        self.ra = np.asarray(ra, dtype=float)
        self.dec = np.asarray(dec, dtype=float)
        self.xyz = radec_to_xyz(self.ra, self.dec)
        centroid = self.xyz.sum(axis=0)
        norm = np.linalg.norm(centroid)
        self.center = centroid / norm if norm > _EPS else self.xyz[0]
        self.radius = float(np.max(angular_separation(self.center, self.xyz)))

    @classmethod
    def from_xyz(cls, xyz: np.ndarray) -> "Polygon":
        """A polygon from (n, 3) unit vectors; RA/Dec and the bounding cap are computed when first used."""
        self = cls.__new__(cls)
        self.xyz = np.asarray(xyz, dtype=float)
        return self

    # Lazily derived from ``xyz`` (the exact test of a stored footprint needs only its vertices);
    # ``__init__`` sets them directly.
    @functools.cached_property
    def ra(self) -> np.ndarray:
        return xyz_to_radec(self.xyz)[0]

    @functools.cached_property
    def dec(self) -> np.ndarray:
        return xyz_to_radec(self.xyz)[1]

    @functools.cached_property
    def center(self) -> np.ndarray:
        centroid = self.xyz.sum(axis=0)
        norm = np.linalg.norm(centroid)
        return centroid / norm if norm > _EPS else self.xyz[0]

    @functools.cached_property
    def radius(self) -> float:
        return float(np.max(angular_separation(self.center, self.xyz)))

    @functools.cached_property
    def points(self) -> list[Vec]:
        """The vertices as float tuples (for the scalar exact tests)."""
        return [tuple(p) for p in self.xyz.tolist()]

    def box(self):
        # Great-circle edges never bulge past the cap through the vertices around the centroid
        # when the polygon is smaller than a hemisphere; pad slightly for rounding.
        return cap_box(self.center, self.radius + 1e-9)

    def contains_point(self, p: np.ndarray) -> bool:
        """Point-in-polygon by counting edge crossings on the path from ``p`` to ``-centre``.

        ``-centre`` is outside any polygon smaller than a hemisphere. The path lies on one great circle (through
        ``p`` and the midpoint of ``p`` and ``-centre``, well defined even when ``p`` is near the centre). Each
        vertex's side of that circle is worked out once, a vertex on it counting as the positive side, so an edge
        crosses the circle when its two ends are on different sides (the half-open rule): a path through a vertex
        (a point on a square image's diagonal) counts one crossing where the outline crosses the path and none or
        two where it only touches it, whatever rounding does there. Each crossing is then counted if it lies on
        the path.
        """
        p = _vec(p)
        v = self.points
        n = len(v)
        c = self.center
        q = (-float(c[0]), -float(c[1]), -float(c[2]))
        mid = (p[0] + q[0], p[1] + q[1], p[2] + q[2])
        mn = _norm(mid)
        if mn < 1e-9:  # p is the centre itself
            return True
        mid = (mid[0] / mn, mid[1] / mn, mid[2] / mn)
        normal = _cross(p, mid)
        nn = _norm(normal)
        if nn < _EPS:  # p is -centre: outside
            return False
        normal = (normal[0] / nn, normal[1] / nn, normal[2] / nn)
        ahead = _cross(normal, p)  # the path's direction at p (towards mid)
        end = math.atan2(_dot(q, ahead), _dot(q, p))
        side = [_dot(normal, b) for b in v]
        crossings = 0
        for i in range(n):
            d1, d2 = side[i], side[(i + 1) % n]
            if (d1 >= 0) == (d2 >= 0):
                continue
            b1, b2 = v[i], v[(i + 1) % n]
            w1, w2 = abs(d2), abs(d1)  # the point of the edge on the path's circle
            t = (w1 * b1[0] + w2 * b2[0], w1 * b1[1] + w2 * b2[1], w1 * b1[2] + w2 * b2[2])
            if 0.0 <= math.atan2(_dot(t, ahead), _dot(t, p)) <= end:
                crossings += 1
        return crossings % 2 == 1

    def intersects_polygon(self, other: "Polygon") -> bool:
        if float(angular_separation(self.center, other.center)) > self.radius + other.radius + 1e-12:
            return False
        a, b = self.points, other.points
        na, nb = len(a), len(b)
        for i in range(na):
            for j in range(nb):
                if _arcs_intersect(a[i], a[(i + 1) % na], b[j], b[(j + 1) % nb]):
                    return True
        return self.contains_point(b[0]) or other.contains_point(a[0])

    def to_stcs(self) -> str:
        coords = " ".join(f"{r:.7f} {d:.7f}" for r, d in zip(self.ra, self.dec))
        return f"Polygon ICRS {coords}"

    def area(self) -> float:
        """The polygon's solid angle in steradians: its spherical excess, summed over the fan of triangles from
        its centre (Van Oosterom & Strackee's formula for each), for polygons smaller than a hemisphere."""
        v = self.xyz
        c = self.center
        total = 0.0
        for i in range(len(v)):
            a, b = v[i], v[(i + 1) % len(v)]
            total += 2 * math.atan2(float(np.dot(c, np.cross(a, b))),
                                    1 + float(np.dot(c, a) + np.dot(a, b) + np.dot(b, c)))
        return abs(total)


@dataclass(frozen=True)
class Range:
    """An RA/Dec range in degrees; ``ra_min > ra_max`` wraps through RA = 0."""

    ra_min: float
    ra_max: float
    dec_min: float
    dec_max: float

    @property
    def full_ra(self) -> bool:
        return self.ra_max - self.ra_min >= 360.0 or (self.ra_min == 0 and self.ra_max == 360)

    def box(self):
        if self.full_ra:
            z0 = math.sin(math.radians(self.dec_min))
            z1 = math.sin(math.radians(self.dec_max))
            return (-1.0, 1.0, -1.0, 1.0, z0, z1)
        # Bounding cap of the box's corners and edge midpoints.
        ras = np.linspace(self.ra_min, self.ra_min + self._ra_width(), 9)
        decs = np.linspace(self.dec_min, self.dec_max, 9)
        rr, dd = np.meshgrid(ras, decs)
        pts = radec_to_xyz(rr.ravel(), dd.ravel())
        c = pts.sum(axis=0)
        if np.linalg.norm(c) < 1e-6:
            return (-1.0, 1.0, -1.0, 1.0, -1.0, 1.0)
        c = c / np.linalg.norm(c)
        # Rectangle edges of constant Dec bulge; pad by the sampling step.
        pad = math.radians(max(self._ra_width(), self.dec_max - self.dec_min) / 8.0)
        return cap_box(c, float(np.max(angular_separation(c, pts))) + pad)

    def _ra_width(self) -> float:
        return (self.ra_max - self.ra_min) % 360.0 if self.ra_max != self.ra_min + 360 else 360.0

    def contains_radec(self, ra, dec) -> np.ndarray:
        ra = np.asarray(ra) % 360.0
        dec = np.asarray(dec)
        in_dec = (dec >= self.dec_min) & (dec <= self.dec_max)
        if self.full_ra:
            return in_dec
        lo, hi = self.ra_min % 360.0, self.ra_max % 360.0
        in_ra = (ra >= lo) & (ra <= hi) if lo <= hi else (ra >= lo) | (ra <= hi)
        return in_dec & in_ra

    def intersects_polygon(self, poly: Polygon) -> bool:
        """Exact overlap of the range with the polygon (great-circle edges).

        They overlap when a polygon vertex lies in the range, a corner of the range (a pole when the
        range reaches it; any point of each Dec edge for a full RA range) lies in the polygon, or a
        polygon edge crosses the range's outline: its two constant-Dec edges (small circles) or its
        two RA edges (meridian arcs). Crossings are solved for exactly on each edge's great circle,
        so a range narrower than the polygon in both directions is not missed.
        """
        ra, dec = poly.ra, poly.dec
        if np.any(self.contains_radec(ra, dec)):
            return True
        lo = self.ra_min % 360.0
        width = 360.0 if self.full_ra else self._ra_width()
        corners = radec_to_xyz(np.array([lo, lo + width, lo, lo + width]),
                               np.array([self.dec_min, self.dec_min, self.dec_max, self.dec_max]))
        if any(poly.contains_point(p) for p in corners):
            return True
        v = poly.xyz
        n = len(v)
        for i in range(n):
            a, b = v[i], v[(i + 1) % n]
            for x in self._edge_crossings(a, b):
                if self._on_outline(x, lo, width):
                    return True
        return False

    def _edge_crossings(self, a: np.ndarray, b: np.ndarray) -> list[np.ndarray]:
        """The points of the minor arc a-b at the range's two Decs and on its two RA meridians."""
        normal = np.cross(a, b)
        nn = np.linalg.norm(normal)
        if nn < _EPS:
            return []
        u = a
        w = np.cross(normal / nn, a)  # unit, towards b along the arc
        end = math.atan2(float(np.dot(b, w)), float(np.dot(b, u)))  # the arc's length, in (0, pi)
        # Solve A cos t + B sin t = s on the arc for each of the range's four outline circles.
        eqs = [(u[2], w[2], math.sin(math.radians(d))) for d in (self.dec_min, self.dec_max)]
        if not self.full_ra:
            for r in (self.ra_min, self.ra_max):
                m = (-math.sin(math.radians(r)), math.cos(math.radians(r)), 0.0)
                eqs.append((float(np.dot(u, m)), float(np.dot(w, m)), 0.0))
        out = []
        for A, B, s in eqs:
            R = math.hypot(A, B)
            if R < _EPS or abs(s) > R + 1e-12:
                continue
            phase = math.atan2(B, A)
            half = math.acos(max(-1.0, min(1.0, s / R)))
            for t in (phase - half, phase + half):
                t = (t + 1e-12) % (2 * math.pi) - 1e-12
                if -1e-12 <= t <= end + 1e-12:
                    out.append(math.cos(t) * u + math.sin(t) * w)
        return out

    def _on_outline(self, x: np.ndarray, lo: float, width: float) -> bool:
        """Whether the point x (on one of the outline's circles) lies on the range's closed outline."""
        pad = 1e-9
        dec = math.degrees(math.asin(max(-1.0, min(1.0, float(x[2])))))
        if dec < self.dec_min - pad or dec > self.dec_max + pad:
            return False
        if self.full_ra or abs(dec) > 90 - pad:
            return True
        ra = math.degrees(math.atan2(float(x[1]), float(x[0]))) % 360.0
        off = (ra - lo) % 360.0
        return off <= width + pad or off >= 360.0 - pad


def morton_key(centres: np.ndarray) -> np.ndarray:
    """A 3-D Z-order key of unit vectors (21 bits per axis)."""
    q = np.clip(((centres + 1.0) * 0.5 * (2**21 - 1)).astype(np.uint64), 0, 2**21 - 1)

    def spread(x):
        x = x & np.uint64(0x1FFFFF)
        x = (x | (x << np.uint64(32))) & np.uint64(0x1F00000000FFFF)
        x = (x | (x << np.uint64(16))) & np.uint64(0x1F0000FF0000FF)
        x = (x | (x << np.uint64(8))) & np.uint64(0x100F00F00F00F00F)
        x = (x | (x << np.uint64(4))) & np.uint64(0x10C30C30C30C30C3)
        x = (x | (x << np.uint64(2))) & np.uint64(0x1249249249249249)
        return x

    return spread(q[:, 0]) | (spread(q[:, 1]) << np.uint64(1)) | (spread(q[:, 2]) << np.uint64(2))
