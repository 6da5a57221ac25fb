"""Two-body motion, vectorised with numpy: Kepler's equation, elements to heliocentric state, and back.

Pure arithmetic on arrays (no astropy, no files). Units: au, days, radians; heliocentric
ecliptic J2000 in, equatorial (ICRF) out through :data:`ECL_TO_EQ`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["GAUSS_K", "C_AU_PER_DAY", "ECL_TO_EQ", "solve_kepler", "elements_to_state", "state_to_elements"]

#: The Gaussian gravitational constant: sqrt(GM_sun) in au^1.5 / day.
GAUSS_K = 0.01720209895
#: The speed of light in au per day (IAU 2012: c = 299792.458 km/s, au = 149597870.7 km).
C_AU_PER_DAY = 299792.458 * 86400.0 / 149597870.7
_EPS = np.deg2rad(84381.448 / 3600.0)  # the J2000 obliquity used by JPL for ecliptic elements
#: Rotation from the J2000 ecliptic to the ICRF equator.
ECL_TO_EQ = np.array([[1.0, 0.0, 0.0],
                      [0.0, np.cos(_EPS), -np.sin(_EPS)],
                      [0.0, np.sin(_EPS), np.cos(_EPS)]])


def solve_kepler(mean_anomaly: np.ndarray, e: np.ndarray, *, tol: float = 1e-13, max_iter: int = 60) -> np.ndarray:
    """The eccentric anomaly E with ``E - e sin E = M`` for elliptic orbits (0 <= e < 1), by Newton's method.

    Starts from Danby's guess ``M + 0.85 e sign(sin M)``, which converges for every e < 1.
    """
    m = np.remainder(mean_anomaly, 2.0 * np.pi)
    e = np.broadcast_to(e, m.shape)
    big = m > np.pi
    m = np.where(big, m - 2.0 * np.pi, m)  # in (-pi, pi]
    ecc = np.where(big | (m < 0), -1.0, 1.0)
    E = m + 0.85 * e * ecc
    for _ in range(max_iter):
        f = E - e * np.sin(E) - m
        step = f / (1.0 - e * np.cos(E))
        E = E - step
        if np.all(np.abs(step) < tol):
            break
    return E


def elements_to_state(a, e, inc, node, peri, mean_anomaly, *, gm: float | np.ndarray = GAUSS_K**2):
    """Heliocentric equatorial (ICRF) position (au) and velocity (au/day) for elliptic elements.

    Angles in radians, ecliptic J2000. Inputs broadcast together; outputs have a trailing axis of 3.
    """
    a, e, inc, node, peri, mean_anomaly = np.broadcast_arrays(
        *(np.asarray(x, dtype=np.float64) for x in (a, e, inc, node, peri, mean_anomaly)))
    E = solve_kepler(mean_anomaly, e)
    cos_e, sin_e = np.cos(E), np.sin(E)
    fac = np.sqrt(1.0 - e * e)
    # position and velocity in the orbital plane (perifocal frame)
    xp = a * (cos_e - e)
    yp = a * fac * sin_e
    n = np.sqrt(gm / a**3)
    edot = n / (1.0 - e * cos_e)
    vxp = -a * sin_e * edot
    vyp = a * fac * cos_e * edot
    cw, sw = np.cos(peri), np.sin(peri)
    co, so = np.cos(node), np.sin(node)
    ci, si = np.cos(inc), np.sin(inc)
    p = np.stack([co * cw - so * sw * ci, so * cw + co * sw * ci, sw * si], axis=-1)
    q = np.stack([-co * sw - so * cw * ci, -so * sw + co * cw * ci, cw * si], axis=-1)
    r = xp[..., None] * p + yp[..., None] * q
    v = vxp[..., None] * p + vyp[..., None] * q
    return r @ ECL_TO_EQ.T, v @ ECL_TO_EQ.T


def state_to_elements(r_eq, v_eq, *, gm: float = GAUSS_K**2):
    """Osculating elements ``(a, e, inc, node, peri, M)`` (radians, ecliptic J2000) of an equatorial state."""
    r = np.asarray(r_eq, dtype=np.float64) @ ECL_TO_EQ
    v = np.asarray(v_eq, dtype=np.float64) @ ECL_TO_EQ
    rn = np.linalg.norm(r, axis=-1)
    h = np.cross(r, v)
    hn = np.linalg.norm(h, axis=-1)
    evec = np.cross(v, h) / gm - r / rn[..., None]
    e = np.linalg.norm(evec, axis=-1)
    energy = 0.5 * np.sum(v * v, axis=-1) - gm / rn
    a = -gm / (2.0 * energy)
    inc = np.arccos(np.clip(h[..., 2] / hn, -1, 1))
    nvec = np.stack([-h[..., 1], h[..., 0], np.zeros_like(hn)], axis=-1)
    nn = np.linalg.norm(nvec, axis=-1)
    node = np.arctan2(nvec[..., 1], nvec[..., 0])
    peri = np.arccos(np.clip(np.sum(nvec * evec, axis=-1) / (nn * e), -1, 1))
    peri = np.where(evec[..., 2] < 0, 2 * np.pi - peri, peri)
    nu = np.arccos(np.clip(np.sum(evec * r, axis=-1) / (e * rn), -1, 1))
    nu = np.where(np.sum(r * v, axis=-1) < 0, 2 * np.pi - nu, nu)
    E = 2.0 * np.arctan2(np.sqrt(1 - e) * np.sin(nu / 2), np.sqrt(1 + e) * np.cos(nu / 2))
    M = np.remainder(E - e * np.sin(E), 2 * np.pi)
    return a, e, inc, np.remainder(node, 2 * np.pi), peri, M
