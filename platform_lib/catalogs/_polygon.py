"""Spherical polygons for catalogue searches: the hemisphere limit, the inside test and the HEALPix cells.

A polygon is its vertices joined by great-circle arcs (the shorter arc between neighbours). It must fit
in one open hemisphere: every vertex within 90 deg of one point (:data:`MAX_CAP_DEG` says how close to
90 deg). Inside is decided in the gnomonic projection about that point, where the edges are straight
lines (even-odd rule, so concave and self-touching outlines work too). The cells a polygon may touch
are found top-down from the 12 base cells, keeping a cell when the cap round its centre that holds the
whole cell reaches the polygon; cdshealpix's ``polygon_search`` is not used: it loses cells of polygons
with long edges or near a hemisphere in size (a polygon of 80 deg circumradius lost a quarter of its
stars). Imports numpy, scipy and cdshealpix; no I/O.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Polygon", "MAX_CAP_DEG"]

#: The largest radius (deg) of the smallest cap holding a polygon's vertices: just short of a hemisphere,
#: where the gnomonic projection that decides "inside" still keeps 1e-9 rad of precision.
MAX_CAP_DEG = 89.999


def unit(ra_rad: np.ndarray, dec_rad: np.ndarray) -> np.ndarray:
    """Unit vectors, shape (n, 3), of positions in radians."""
    cd = np.cos(dec_rad)
    return np.column_stack([cd * np.cos(ra_rad), cd * np.sin(ra_rad), np.sin(dec_rad)])


class Polygon:
    """A spherical polygon given by the RA and Dec (deg) of its vertices, in order (either winding).

    Raises ``ValueError`` naming the limit when the vertices do not fit in one hemisphere.
    """

    def __init__(self, ra_deg, dec_deg) -> None:
        self.vertices = unit(np.radians(np.asarray(ra_deg, float)), np.radians(np.asarray(dec_deg, float)))
        if len(self.vertices) < 3:
            raise ValueError(f"a polygon needs at least 3 vertices, not {len(self.vertices)}")
        self.centre, self.radius_deg = _smallest_cap(self.vertices)
        if self.radius_deg > MAX_CAP_DEG:
            raise ValueError(
                f"the polygon's vertices do not fit in one hemisphere: a polygon must have every vertex within "
                f"{MAX_CAP_DEG} deg of one point, and the best point found has them within {self.radius_deg:.4f} deg; "
                "split it into smaller polygons")
        helper = np.array([0.0, 0.0, 1.0]) if abs(self.centre[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
        e1 = np.cross(helper, self.centre)
        e1 /= np.linalg.norm(e1)
        self._basis = (e1, np.cross(self.centre, e1))
        self._px, self._py = self._gnomonic(self.vertices)
        a, b = self.vertices, np.roll(self.vertices, -1, axis=0)
        normals = np.cross(a, b)
        norm = np.linalg.norm(normals, axis=1)
        self._edges = norm > 0  # repeated vertices make no edge
        self._a, self._b = a[self._edges], b[self._edges]
        self._n = normals[self._edges] / norm[self._edges, None]

    def _gnomonic(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Gnomonic projection about the centre (great circles become straight lines); NaN behind it."""
        denom = v @ self.centre
        denom = np.where(denom > 0, denom, np.nan)
        return (v @ self._basis[0]) / denom, (v @ self._basis[1]) / denom

    def contains(self, v: np.ndarray) -> np.ndarray:
        """Whether each unit vector (n, 3) lies inside (even-odd rule); points behind the centre never do."""
        x, y = self._gnomonic(v)
        inside = np.zeros(len(v), dtype=bool)
        px, py = self._px, self._py
        n = len(px)
        for i in range(n):
            x1, y1, x2, y2 = px[i], py[i], px[(i + 1) % n], py[(i + 1) % n]
            crosses = (y1 > y) != (y2 > y)
            with np.errstate(divide="ignore", invalid="ignore"):
                xint = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            inside ^= crosses & (x < xint)
        return inside

    def edge_distance(self, v: np.ndarray) -> np.ndarray:
        """The angle (rad) from each unit vector (n, 3) to the nearest point of the outline."""
        if not len(self._n):
            return np.arccos(np.clip(v @ self.vertices[0], -1, 1))
        s = v @ self._n.T  # sine of the distance to each edge's great circle, (n, edges)
        foot = v[:, None, :] - s[..., None] * self._n[None, :, :]
        # The foot of the perpendicular lies on the arc when it is after a and before b along the circle.
        after_a = (np.cross(self._a[None], foot) * self._n[None]).sum(-1) >= 0
        before_b = (np.cross(foot, self._b[None]) * self._n[None]).sum(-1) >= 0
        on_arc = after_a & before_b & ((foot * (self._a + self._b)[None]).sum(-1) > 0)
        to_circle = np.arcsin(np.clip(np.abs(s), 0, 1))
        to_a = np.arccos(np.clip(v @ self._a.T, -1, 1))
        to_b = np.arccos(np.clip(v @ self._b.T, -1, 1))
        return np.where(on_arc, to_circle, np.minimum(to_a, to_b)).min(axis=1)

    def cells(self, order: int) -> np.ndarray:
        """The order-``order`` NESTED cells that may hold a point of the polygon (a superset, never missing one).

        Top-down from the 12 base cells: a cell is kept when the cap round its centre that holds the whole
        cell (1.5 times its farthest vertex, as for boxes) reaches the polygon, i.e. when its centre is
        inside or within that radius of an edge; a cell whose cap lies wholly inside keeps all its children
        without further tests.
        """
        from cdshealpix.nested import healpix_to_lonlat, vertices
        import astropy.units as u

        cells = np.arange(12, dtype=np.uint64)
        full = np.zeros(12, dtype=bool)
        four = np.arange(4, dtype=np.uint64)[None, :]
        for depth in range(order + 1):
            if depth > 0:
                cells = (cells[:, None] * np.uint64(4) + four).ravel()
                full = np.repeat(full, 4)
            test = ~full
            if test.any():
                lon, lat = healpix_to_lonlat(cells[test], depth)
                centres = unit(lon.to_value(u.rad), lat.to_value(u.rad))
                vlon, vlat = vertices(cells[test], depth)
                corners = unit(vlon.to_value(u.rad).ravel(), vlat.to_value(u.rad).ravel()).reshape(-1, 4, 3)
                reach = 1.5 * np.arccos(np.clip((corners * centres[:, None, :]).sum(-1), -1, 1)).max(axis=1) + 1e-9
                inside = self.contains(centres)
                dist = self.edge_distance(centres)
                keep = inside | (dist <= reach)
                now_full = inside & (dist > reach)
                idx = np.flatnonzero(test)
                drop = np.ones(len(cells), dtype=bool)
                drop[idx[keep]] = False
                drop[~test] = False
                full[idx[now_full]] = True
                cells, full = cells[~drop], full[~drop]
        return cells


def _smallest_cap(vecs: np.ndarray) -> tuple[np.ndarray, float]:
    """The centre and radius (deg) of a cap holding every vertex, under a hemisphere whenever one can be.

    The gnomonic projection about that centre sees every vertex, hence every great-circle edge, in front;
    the vertices' mean does not for a lopsided polygon (three vertices bunched, one opposite). Found by a
    small linear programme: maximise ``t`` with ``v_i . c >= t`` for every vertex, ``c`` in the unit cube,
    then normalised; the radius is ``arccos`` of the smallest ``v_i . c``. (The cube makes it not quite the
    smallest cap: within a factor sqrt(3) of its cosine, so a polygon of circumradius 89 deg passes.)
    """
    from scipy.optimize import linprog

    n = len(vecs)
    res = linprog(c=[0, 0, 0, -1], A_ub=np.column_stack([-vecs, np.ones(n)]), b_ub=np.zeros(n),
                  bounds=[(-1, 1)] * 3 + [(None, 1)], method="highs")
    centre = res.x[:3] if res.status == 0 and res.x[3] > 0 else vecs.sum(axis=0)
    norm = np.linalg.norm(centre)
    if not norm:
        return np.array([0.0, 0.0, 1.0]), 180.0
    centre = centre / norm
    return centre, float(np.degrees(np.arccos(np.clip((vecs @ centre).min(), -1, 1))))
