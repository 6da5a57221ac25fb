"""Proper-motion propagation of catalogue positions to a common epoch, vectorised.

Owns one computation: move positions along their proper motions from one epoch to another the way
``SkyCoord.apply_space_motion`` does for sources without distance or radial velocity (linear motion
in Cartesian space, then renormalised), tested equal to it. Imports numpy and astropy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy import units as u
from astropy.time import Time

__all__ = ["propagate", "propagate_years", "as_epoch", "Motion"]

_MAS_RAD = np.pi / 180.0 / 3.6e6


@dataclass(frozen=True)
class Motion:
    """Proper-motion columns of one catalogue (mas/yr, ``pmra*cos(dec)``) and the years to move it."""

    pm: tuple[str, str]
    dt_years: float


def as_epoch(value, name: str) -> Time:
    """A :class:`~astropy.time.Time`, or a Julian year number (``2016.0``) read as one."""
    if isinstance(value, Time):
        return value
    if isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool):
        return Time(float(value), format="jyear", scale="tcb")
    raise TypeError(f"{name} must be an astropy Time or a Julian year such as 2016.0, got {value!r}")


def propagate(lon, lat, pmra_cosdec, pmdec, epoch_from, epoch_to) -> tuple[np.ndarray, np.ndarray]:
    """Positions (deg) moved by their proper motions (mas/yr) from ``epoch_from`` to ``epoch_to``.

    ``pmra_cosdec`` is the proper motion in RA already multiplied by cos(dec). Epochs are
    :class:`~astropy.time.Time` (scalars, or arrays with one epoch per row). NaN proper motions
    leave a row where it is.

    Examples
    --------
    >>> import numpy as np
    >>> from astropy.time import Time
    >>> ra, dec = propagate(np.array([10.0]), np.array([0.0]), np.array([3600.0]), np.array([0.0]),
    ...                     Time(2000.0, format="jyear"), Time(2010.0, format="jyear"))
    >>> round(float((ra[0] - 10.0) * 3600), 6)      # 3.6 arcsec a year for 10 years, in arcsec
    36.0
    """
    dt = np.asarray((as_epoch(epoch_to, "epoch_to") - as_epoch(epoch_from, "epoch_from")).to_value(u.yr))
    return propagate_years(lon, lat, pmra_cosdec, pmdec, dt)


def propagate_years(lon, lat, pmra_cosdec, pmdec, dt_years) -> tuple[np.ndarray, np.ndarray]:
    """:func:`propagate` with the time step given in Julian years (a float or one per row).

    The form the Dask path uses inside each HEALPix partition (a float pickles cheaply; a ``Time``
    difference is computed once on the client).
    """
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    dt = np.asarray(dt_years, dtype=np.float64)
    pma = np.nan_to_num(np.asarray(pmra_cosdec, dtype=np.float64)) * _MAS_RAD
    pmd = np.nan_to_num(np.asarray(pmdec, dtype=np.float64)) * _MAS_RAD
    a = np.radians(lon)
    d = np.radians(lat)
    ca, sa, cd, sd = np.cos(a), np.sin(a), np.cos(d), np.sin(d)
    x = cd * ca + dt * (-pma * sa - pmd * sd * ca)
    y = cd * sa + dt * (pma * ca - pmd * sd * sa)
    z = sd + dt * (pmd * cd)
    norm = np.sqrt(x * x + y * y + z * z)
    new_lon = np.degrees(np.arctan2(y, x)) % 360.0
    new_lat = np.degrees(np.arcsin(np.clip(z / norm, -1.0, 1.0)))
    return new_lon, new_lat
