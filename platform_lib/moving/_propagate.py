"""Astrometric positions of many bodies from two-body orbits, vectorised: light time, parallax, magnitudes.

Pure numpy: the caller supplies the observer's and the Sun's barycentric positions (from the JPL
ephemeris, :mod:`platform_lib.moving.ephemeris`). One Kepler solve per (body, time) at the
observation time; the light-time retardation then moves the body back along its velocity,
``r(t - tau) = r(t) - v(t) tau`` iterated three times: the neglected ``|acc| tau^2 / 2`` is below
1e-8 au (2 km) for tau under an hour at 1 au from the Sun, under 0.1 mas for a main-belt asteroid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from platform_lib.moving._kepler import C_AU_PER_DAY, GAUSS_K, elements_to_state

__all__ = ["Positions", "propagate", "hg_magnitude"]


@dataclass
class Positions:
    """Astrometric directions (unit vectors, ICRF), distances and magnitudes; shape ``(n_bodies, n_times)``."""

    xyz: np.ndarray  # (..., 3) unit vectors from the observer
    delta: np.ndarray  # observer-body distance, au
    r: np.ndarray  # Sun-body distance, au
    phase: np.ndarray  # Sun-body-observer angle, degrees
    mag: np.ndarray  # predicted V (asteroids: H, G; comets: M1 + 5 log delta + K1 log r)
    rate: np.ndarray  # apparent motion, degrees per day

    @property
    def ra(self) -> np.ndarray:
        return np.rad2deg(np.arctan2(self.xyz[..., 1], self.xyz[..., 0])) % 360.0

    @property
    def dec(self) -> np.ndarray:
        return np.rad2deg(np.arcsin(np.clip(self.xyz[..., 2], -1.0, 1.0)))


def hg_magnitude(h, g, r, delta, phase_deg):
    """The IAU H, G phase-function magnitude (Bowell et al. 1989)."""
    t = np.tan(np.deg2rad(phase_deg) / 2.0)
    phi1 = np.exp(-3.33 * t**0.63)
    phi2 = np.exp(-1.87 * t**1.22)
    with np.errstate(divide="ignore", invalid="ignore"):
        return h + 5.0 * np.log10(r * delta) - 2.5 * np.log10((1.0 - g) * phi1 + g * phi2)


def propagate(orbits, jd_tdb: np.ndarray, obs_pos: np.ndarray, obs_vel: np.ndarray, sun_pos: np.ndarray,
              *, rows=None, pairwise: bool = False) -> Positions:
    """Positions of ``orbits`` (all, or ``rows``) at TDB Julian dates ``jd_tdb`` (T,).

    ``obs_pos``/``obs_vel`` (T, 3) are the observer's barycentric position (au) and velocity
    (au/day), ``sun_pos`` (T, 3) the Sun's. Returns arrays of shape (N, T); with ``pairwise``
    body ``rows[k]`` is taken at time ``k`` only, and the arrays have shape (T,).
    """
    sel = slice(None) if rows is None else np.asarray(rows)
    jd = np.asarray(jd_tdb, dtype=np.float64)
    if pairwise:
        def col(x):
            return x[sel]
        obs_pos, obs_vel, sun_pos = (np.asarray(x, dtype=np.float64) for x in (obs_pos, obs_vel, sun_pos))
    else:
        jd = jd[None, :]

        def col(x):
            return x[sel][:, None]
        obs_pos, obs_vel, sun_pos = (np.asarray(x, dtype=np.float64)[None, :, :] for x in (obs_pos, obs_vel, sun_pos))
    a = col(orbits.a)
    e = col(orbits.e)
    n = np.rad2deg(GAUSS_K / a**1.5)
    M = np.deg2rad(col(orbits.mean_anomaly) + n * (jd - col(orbits.epoch_jd)))
    r_h, v_h = elements_to_state(a, e, np.deg2rad(col(orbits.inc)), np.deg2rad(col(orbits.node)),
                                 np.deg2rad(col(orbits.peri)), M)
    rel0 = r_h + (sun_pos - obs_pos)
    tau = np.zeros(rel0.shape[:-1])
    for _ in range(3):
        rel = rel0 - v_h * tau[..., None]
        delta = np.sqrt(np.einsum("...k,...k->...", rel, rel))
        tau = delta / C_AU_PER_DAY
    rel = rel0 - v_h * tau[..., None]
    delta = np.sqrt(np.einsum("...k,...k->...", rel, rel))
    u = rel / delta[..., None]
    helio = r_h - v_h * tau[..., None]
    r = np.sqrt(np.einsum("...k,...k->...", helio, helio))
    cos_phase = np.einsum("...k,...k->...", helio, rel) / (r * delta)
    phase = np.rad2deg(np.arccos(np.clip(cos_phase, -1.0, 1.0)))
    vrel = v_h - obs_vel
    vperp = vrel - np.einsum("...k,...k->...", vrel, u)[..., None] * u
    rate = np.rad2deg(np.sqrt(np.einsum("...k,...k->...", vperp, vperp)) / delta)
    h = col(orbits.h)
    g = col(orbits.g)
    comet = col(orbits.kind) == "comet"
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(comet, h + 5.0 * np.log10(delta) + g * np.log10(r), hg_magnitude(h, g, r, delta, phase))
    return Positions(u, delta, r, phase, mag, rate)
