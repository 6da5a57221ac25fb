"""An ephemeris cache for "which known bodies are in this image": per day, the bodies sorted by HEALPix cell.

For each day of the cached span and each body, the geocentric position at mid-day is put in a
HEALPix cell (nested, order 5: 1.8 deg cells). A body whose half-day motion plus largest
topocentric parallax stays within ``slow_limit`` (1 deg) is "slow": at any moment of that day it
lies within ``slow_limit`` of its mid-day position, so an image of radius r can only contain it if its
cell meets the cone of radius r + ``slow_limit`` around the image centre. The few others (near-Earth
passages) are kept per day in a "fast" list that every query checks. Candidates are then placed
exactly (:mod:`platform_lib.moving.reverse`). Arrays are stored as ``.npy`` files in one directory
(memory-mapped on load), written atomically. Imports numpy, cdshealpix, astropy, this package and
``platform_lib.atomic``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time as _time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from platform_lib.atomic import replace_folder
from platform_lib.moving.ephemeris import SolarSystem
from platform_lib.moving.errors import MovingObjectError
from platform_lib.moving.times import as_jd_tdb

__all__ = ["EphemerisCache", "build_cache", "orbits_digest"]

_EARTH_RADIUS_AU = 6378.137 / 149597870.7
_FORMAT = 1


def orbits_digest(orbits) -> str:
    """A digest of the orbit catalogue, so a cache is never used with other orbits."""
    h = hashlib.sha256()
    for arr in (orbits.a, orbits.e, orbits.inc, orbits.node, orbits.peri, orbits.mean_anomaly, orbits.epoch_jd):
        h.update(np.ascontiguousarray(arr, dtype=np.float64).tobytes())
    h.update("\n".join(map(str, orbits.names)).encode())
    return h.hexdigest()[:32]


def _pixels(xyz: np.ndarray, order: int) -> np.ndarray:
    import astropy.units as u
    from astropy.coordinates import Latitude, Longitude
    from cdshealpix.nested import lonlat_to_healpix

    lon = np.arctan2(xyz[..., 1], xyz[..., 0]) % (2 * np.pi)
    lat = np.arcsin(np.clip(xyz[..., 2], -1, 1))
    return lonlat_to_healpix(Longitude(lon.ravel(), u.rad), Latitude(lat.ravel(), u.rad), order).reshape(lon.shape)


@dataclass
class EphemerisCache:
    """Per-day, per-cell body lists over ``days`` days from TDB Julian date ``jd0`` (see the module doc)."""

    jd0: float
    days: int
    order: int
    slow_limit_deg: float
    digest: str
    ids: np.ndarray  # (days, n_slow_max) rows sorted by cell, padded with -1 at the end of each day
    starts: np.ndarray  # (days, 12 * 4**order + 1) offsets into ids[d]
    fast_ids: np.ndarray  # rows of fast bodies, all days concatenated
    fast_offsets: np.ndarray  # (days + 1,)
    n_orbits: int

    def day_of(self, jd_tdb: float) -> int | None:
        d = int(np.floor(jd_tdb - self.jd0))
        return d if 0 <= d < self.days else None

    def candidates(self, centre_xyz: np.ndarray, radius_rad: float, jd_tdb: float) -> np.ndarray | None:
        """Rows that may lie within ``radius_rad`` of ``centre_xyz`` at ``jd_tdb``; None outside the cached span."""
        import astropy.units as u
        from astropy.coordinates import Latitude, Longitude
        from cdshealpix.nested import cone_search

        d = self.day_of(jd_tdb)
        if d is None:
            return None
        lon = float(np.arctan2(centre_xyz[1], centre_xyz[0]) % (2 * np.pi))
        lat = float(np.arcsin(np.clip(centre_xyz[2], -1, 1)))
        r = min(radius_rad + np.deg2rad(self.slow_limit_deg), np.pi)
        ipix, depth, _ = cone_search(Longitude(lon, u.rad), Latitude(lat, u.rad), r * u.rad, self.order, flat=True)
        starts = self.starts[d]
        ids = self.ids[d]
        parts = [ids[starts[p]:starts[p + 1]] for p in np.asarray(ipix, dtype=np.int64)]
        parts.append(self.fast_ids[self.fast_offsets[d]:self.fast_offsets[d + 1]])
        return np.concatenate(parts).astype(np.int64)

    def save(self, path: Path) -> None:
        """Write to directory ``path`` atomically (a temporary directory renamed into place)."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{_time.monotonic_ns()}.tmp")
        tmp.mkdir(parents=True)
        try:
            for name in ("ids", "starts", "fast_ids", "fast_offsets"):
                np.save(tmp / f"{name}.npy", np.asarray(getattr(self, name)))
            meta = {"format": _FORMAT, "jd0": self.jd0, "days": self.days, "order": self.order,
                    "slow_limit_deg": self.slow_limit_deg, "digest": self.digest, "n_orbits": self.n_orbits}
            (tmp / "meta.json").write_text(json.dumps(meta))
            replace_folder(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    @classmethod
    def load(cls, path: Path, orbits=None) -> "EphemerisCache":
        """Open a saved cache (arrays memory-mapped); with ``orbits``, check it was built from them."""
        path = Path(path)
        try:
            meta = json.loads((path / "meta.json").read_text())
            arrays = {n: np.load(path / f"{n}.npy", mmap_mode="r") for n in ("ids", "starts", "fast_ids",
                                                                              "fast_offsets")}
        except (OSError, ValueError) as exc:
            raise MovingObjectError(f"ephemeris cache {path} is missing or unreadable ({exc}); build it with "
                                    "platform_lib.moving.build_cache", code="no-cache", value=str(path)) from exc
        cache = cls(meta["jd0"], meta["days"], meta["order"], meta["slow_limit_deg"], meta["digest"],
                    n_orbits=meta["n_orbits"], **arrays)
        if orbits is not None and orbits_digest(orbits) != cache.digest:
            raise MovingObjectError(f"ephemeris cache {path} was built from other orbits; rebuild it for these",
                                    code="stale-cache", value=str(path))
        return cache


def build_cache(orbits, start, days: int, *, order: int = 5, slow_limit_deg: float = 1.0,
                solar_system: SolarSystem | None = None, chunk_days: int | None = None, progress=None) -> EphemerisCache:
    """Tabulate every body of ``orbits`` once a day for ``days`` days from ``start`` (an astropy ``Time``).

    Examples
    --------
    >>> from astropy.time import Time
    >>> cache = build_cache(default_orbits(), Time("2024-01-01"), 366)  # doctest: +SKIP
    >>> cache.save("asteroids-2024.cache")  # doctest: +SKIP
    """
    from platform_lib.moving._propagate import propagate

    ss = solar_system or SolarSystem.default()
    days = int(days)
    if days < 1:
        raise MovingObjectError(f"days must be at least 1, got {days}", code="bad-time", value=days)
    jd0 = float(np.floor(as_jd_tdb(start)[0] - 0.5) + 0.5)  # 0h TDB
    mids = jd0 + np.arange(days) + 0.5
    ss.check_range(np.array([jd0, jd0 + days]))
    earth_pos, earth_vel = ss.observer(mids, "geocenter")
    sun = ss.sun(mids)
    n = len(orbits)
    npix = 12 * 4**order
    chunk = chunk_days or max(1, int(1_000_000 // max(n, 1)))  # ~0.5 GB of temporaries per chunk
    ids = np.full((days, n), -1, dtype=np.int32)
    starts = np.zeros((days, npix + 1), dtype=np.int32)
    fast_parts, fast_offsets = [], [0]
    for c0 in range(0, days, chunk):
        c1 = min(days, c0 + chunk)
        p = propagate(orbits, mids[c0:c1], earth_pos[c0:c1], earth_vel[c0:c1], sun[c0:c1])
        parallax = np.rad2deg(np.arcsin(np.clip(_EARTH_RADIUS_AU / p.delta, 0, 1)))
        margin = 0.5 * p.rate + parallax
        pix = _pixels(p.xyz, order)
        for j in range(c1 - c0):
            d = c0 + j
            slow = margin[:, j] <= slow_limit_deg
            rows = np.flatnonzero(slow)
            order_ = np.argsort(pix[rows, j], kind="stable")
            rows = rows[order_]
            ids[d, :len(rows)] = rows
            counts = np.bincount(pix[rows, j], minlength=npix)
            starts[d, 1:] = np.cumsum(counts)
            fast = np.flatnonzero(~slow).astype(np.int32)
            fast_parts.append(fast)
            fast_offsets.append(fast_offsets[-1] + len(fast))
        if progress is not None:
            progress(c1, days)
    return EphemerisCache(jd0, days, order, slow_limit_deg, orbits_digest(orbits), ids, starts,
                          np.concatenate(fast_parts) if fast_parts else np.zeros(0, np.int32),
                          np.asarray(fast_offsets, dtype=np.int64), n)
