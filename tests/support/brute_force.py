"""The brute-force reference of the crossmatch property tests (the kernel's, test_crossmatch_engine.py, and
the public API's, test_crossmatch_properties.py): where their positions cluster, every separation, the
pairs within a radius allowing float noise at the boundary, and the check of k nearest pairs.

Owns :data:`ANCHORS`, :func:`separation_arcsec`, :class:`Reference`, :func:`reference` and
:func:`check_k_nearest`. On the path by
tests/conftest.py (tests/support/), so a test writes::

    from brute_force import ANCHORS, check_k_nearest, reference

May import numpy and hypothesis, and nothing of the crossmatch: its separations come from
:func:`separation_arcsec`, written out here (Vincenty's formula, not the engine's haversine), so an error
in the engine's distance shows as a mismatch instead of being copied into the reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

#: Places where the zone and window logic has edges: both poles, the RA seam, the equator, anywhere.
ANCHORS = st.sampled_from([(0.0, 90.0), (123.0, -90.0), (0.0, 0.0), (359.9999, 10.0), (0.0001, -45.0),
                           (360.0, 89.9999), (180.0, -89.9995), (45.0, 30.0)])


def separation_arcsec(ra1, dec1, ra2, dec2) -> np.ndarray:
    """Great-circle separation in arcsec of positions in degrees, in float64, by Vincenty's formula
    (``atan2`` of the cross and dot products: accurate at every separation, 0 to 180 degrees, as
    astropy's ``angular_separation``); NaN where a position is NaN."""
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(a, dtype=np.float64)) for a in (ra1, dec1, ra2, dec2))
    dlon = lon2 - lon1
    cross_east = np.cos(lat2) * np.sin(dlon)
    cross_north = np.cos(lat1) * np.sin(lat2) - np.sin(lat1) * np.cos(lat2) * np.cos(dlon)
    dot = np.sin(lat1) * np.sin(lat2) + np.cos(lat1) * np.cos(lat2) * np.cos(dlon)
    return np.degrees(np.arctan2(np.hypot(cross_east, cross_north), dot)) * 3600.0


@dataclass(frozen=True)
class Reference:
    """Every separation of a left and a right catalogue, and the pairs within a radius."""

    sep: np.ndarray  #: arcsec, (left rows, right rows); inf where either position is NaN
    tol: float  #: arcsec of float noise allowed at the radius
    strict: set  #: (left row, right row) surely within the radius: a match must find each
    loose: set  #: within it allowing the noise: a match may find no other


def reference(ra1, dec1, ra2, dec2, radius: float) -> Reference:
    """The :class:`Reference` of positions ``(ra1, dec1)`` and ``(ra2, dec2)`` (degrees) for ``radius``
    (arcsec), by computing every separation."""
    ra1, dec1, ra2, dec2 = (np.asarray(a, dtype=float) for a in (ra1, dec1, ra2, dec2))
    sep = separation_arcsec(ra1[:, None], dec1[:, None], ra2[None, :], dec2[None, :])
    sep = np.where(np.isnan(sep), np.inf, sep).reshape(ra1.size, ra2.size)
    tol = 1e-9 * radius + 1e-9
    strict = set(zip(*(a.tolist() for a in np.nonzero(sep < radius - tol))))
    loose = set(zip(*(a.tolist() for a in np.nonzero(sep <= radius + tol))))
    return Reference(sep, tol, strict, loose)


def check_k_nearest(ref: Reference, radius: float, k: int, i1: np.ndarray, found: np.ndarray) -> None:
    """Assert that pairs of left rows ``i1`` at separations ``found`` (arcsec) are, per left row, its ``k``
    nearest within ``radius``: as many as are surely within (at most k), no more than within allowing the
    noise, and their separations the smallest (with duplicates several rows tie: the separations, not the
    right rows, are determined)."""
    for row in range(ref.sep.shape[0]):
        mine = found[i1 == row]
        cand = np.sort(ref.sep[row][ref.sep[row] <= radius + ref.tol])
        n_strict = int((ref.sep[row] < radius - ref.tol).sum())
        assert min(k, n_strict) <= mine.size <= min(k, cand.size)
        assert np.allclose(mine, cand[: mine.size], rtol=0, atol=1e-6)
