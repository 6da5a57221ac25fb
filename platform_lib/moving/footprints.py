"""Where a point lies against an image footprint: inside or not, and the angular distance to the edge.

Footprints are the image index's polygons ((k, 3) unit vectors); spectra are cones around their
pointing ("skinny images", :mod:`platform_lib.imageindex.spacetime`). Pure numpy and
``platform_lib.imageindex.sphere``.
"""

from __future__ import annotations

import numpy as np

from platform_lib.imageindex.sphere import Polygon, radec_to_xyz
from platform_lib.imageindex.spacetime import SPECTRUM_MIN_RADIUS_DEG

__all__ = ["edge_distance", "place", "record_region"]


def edge_distance(vertices: np.ndarray, p: np.ndarray) -> float:
    """The angle (radians) from unit vector ``p`` to the nearest point of the polygon's boundary."""
    a = np.asarray(vertices, dtype=np.float64)
    b = np.roll(a, -1, axis=0)
    n = np.cross(a, b)
    n /= np.linalg.norm(n, axis=1)[:, None]
    pn = n @ p
    q = p[None, :] - pn[:, None] * n
    qn = np.linalg.norm(q, axis=1)
    q = q / np.where(qn > 0, qn, 1.0)[:, None]
    within = (np.einsum("ij,ij->i", np.cross(a, q), n) >= 0) & (np.einsum("ij,ij->i", np.cross(q, b), n) >= 0)
    to_arc = np.arcsin(np.clip(np.abs(pn), 0, 1))
    to_ends = np.minimum(np.arccos(np.clip(a @ p, -1, 1)), np.arccos(np.clip(b @ p, -1, 1)))
    return float(np.min(np.where(within & (qn > 0), to_arc, to_ends)))


def record_region(rec: dict):
    """``("cone", centre, radius_rad)`` for a spectrum, else ``("polygon", vertices, None)``."""
    if ((rec.get("dataproduct_type") or "") == "spectrum" or rec.get("vertices") is None) and rec.get("s_ra") is not None:
        radius = np.deg2rad(max((rec.get("s_fov") or 0.0) / 2.0, SPECTRUM_MIN_RADIUS_DEG))
        return "cone", radec_to_xyz(rec["s_ra"], rec["s_dec"]), radius
    return "polygon", np.asarray(rec["vertices"], dtype=np.float64), None


def place(rec: dict, p: np.ndarray) -> tuple[bool, float, float]:
    """``(inside, distance_to_edge_rad, distance_to_centre_rad)`` of unit vector ``p`` against the record."""
    kind, shape, radius = record_region(rec)
    if kind == "cone":
        d = float(np.arccos(np.clip(shape @ p, -1, 1)))
        return d <= radius, abs(d - radius), d
    poly = Polygon.from_xyz(shape)
    centre = float(np.arccos(np.clip(poly.center @ p, -1, 1)))
    return bool(poly.contains_point(p)), edge_distance(shape, p), centre
