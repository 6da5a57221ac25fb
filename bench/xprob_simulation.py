"""Simulated catalogues with known truth for the match-confidence calibration (bench and tests).

Owns the generative model the calibration is judged against: a field of uniformly distributed true
objects; a primary catalogue that sees every object; secondary catalogues that each see a fraction
``completeness`` of them plus unrelated field sources; every observed position scattered by its own
Gaussian error (circular or elliptical), drawn per source. Imported by path from
``bench/xprob_calibration.py`` and ``tests/unit/test_xprob_calibration.py``; numpy and astropy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy import units as u

__all__ = ["SimCatalogue", "inverse_gnomonic", "simulate"]


@dataclass
class SimCatalogue:
    """One simulated catalogue: positions (deg), per-source errors and the true object id (-1: field)."""

    lon: np.ndarray
    lat: np.ndarray
    sigma: u.Quantity  # circular 1-sigma per coordinate (or semi-major when elliptical)
    b: u.Quantity | None  # semi-minor (elliptical only)
    pa: u.Quantity | None  # position angle (elliptical only)
    truth: np.ndarray

    @property
    def errors(self):
        """The errors in the form ``match_probability`` / ``nway_match`` accept."""
        return self.sigma if self.b is None else (self.sigma, self.b, self.pa)

    def __len__(self) -> int:
        return self.lon.size


def inverse_gnomonic(lon0, lat0, xi, eta):
    """Positions (deg) at tangent-plane offsets ``(xi, eta)`` (rad, east/north) about ``(lon0, lat0)``."""
    a0, d0 = np.radians(lon0), np.radians(lat0)
    rho = np.hypot(xi, eta)
    c = np.arctan(rho)
    sc, cc = np.sin(c), np.cos(c)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(rho > 0, eta * sc / np.where(rho > 0, rho, 1.0), 0.0)
    dec = np.arcsin(np.clip(cc * np.sin(d0) + ratio * np.cos(d0), -1, 1))
    ra = a0 + np.arctan2(xi * sc, rho * np.cos(d0) * cc - eta * np.sin(d0) * sc)
    return np.degrees(ra) % 360.0, np.degrees(dec)


def _uniform_box(rng, n, lon0, lat0, width, height):
    """Uniform on the sphere inside a lon/lat box starting at (lon0, lat0); wraps across lon 360."""
    lon = (lon0 + rng.uniform(0, width, n)) % 360.0
    s0, s1 = np.sin(np.radians(lat0)), np.sin(np.radians(lat0 + height))
    lat = np.degrees(np.arcsin(rng.uniform(s0, s1, n)))
    return lon, lat


def _observe(rng, lon, lat, sig_range, elliptical):
    n = lon.size
    lo, hi = sig_range.to_value(u.rad)
    a = np.exp(rng.uniform(np.log(lo), np.log(hi), n))
    if elliptical:
        b = a * rng.uniform(0.3, 1.0, n)
        pa = rng.uniform(0, np.pi, n)
    else:
        b, pa = a, np.zeros(n)
    # offsets along the major (u) and minor (v) axes, (east, north) = x_u * u + x_v * v
    xu, xv = rng.normal(0, a), rng.normal(0, b)
    xi = xu * np.sin(pa) + xv * np.cos(pa)
    eta = xu * np.cos(pa) - xv * np.sin(pa)
    olon, olat = inverse_gnomonic(lon, lat, xi, eta)
    to = u.rad
    if elliptical:
        return olon, olat, (a * to).to(u.arcsec), (b * to).to(u.arcsec), (pa * to).to(u.deg)
    return olon, olat, (a * to).to(u.arcsec), None, None


def simulate(
    n_primary: int,
    secondaries: list[tuple[float, int]],
    *,
    seed: int = 1,
    box: tuple[float, float, float, float] = (359.8, -0.2, 0.4, 0.4),
    sigma_range: tuple[u.Quantity, u.Quantity] = (0.3 * u.arcsec, 1.5 * u.arcsec),
    elliptical: bool = False,
) -> tuple[list[SimCatalogue], u.Quantity]:
    """Simulate a primary catalogue and secondaries with known truth.

    ``secondaries`` is a list of ``(completeness, n_field)``: the fraction of the primary objects
    each secondary detects and its number of unrelated field sources. ``box`` is
    ``(lon0, lat0, width, height)`` in degrees (default straddles lon = 0/360). Returns the catalogues
    (primary first) and the area of the box.
    """
    rng = np.random.default_rng(seed)
    lon0, lat0, width, height = box
    sig = u.Quantity(sigma_range)
    tlon, tlat = _uniform_box(rng, n_primary, lon0, lat0, width, height)
    cats = []
    olon, olat, a, b, pa = _observe(rng, tlon, tlat, sig, elliptical)
    cats.append(SimCatalogue(olon, olat, a, b, pa, np.arange(n_primary)))
    for completeness, n_field in secondaries:
        seen = np.flatnonzero(rng.random(n_primary) < completeness)
        flon, flat = _uniform_box(rng, n_field, lon0, lat0, width, height)
        lon = np.concatenate([tlon[seen], flon])
        lat = np.concatenate([tlat[seen], flat])
        truth = np.concatenate([seen, np.full(n_field, -1)])
        olon, olat, a, b, pa = _observe(rng, lon, lat, sig, elliptical)
        perm = rng.permutation(lon.size)
        cats.append(
            SimCatalogue(
                olon[perm],
                olat[perm],
                a[perm],
                None if b is None else b[perm],
                None if pa is None else pa[perm],
                truth[perm],
            )
        )
    s0, s1 = np.sin(np.radians(lat0)), np.sin(np.radians(lat0 + height))
    area = (np.radians(width) * (s1 - s0) * u.sr).to(u.deg**2)
    return cats, area
