"""Ephemerides offline: the planets and the Moon from DE421 (skyfield + skyfield-data), minor bodies by two-body.

Why skyfield: it is maintained (releases through 2026), reads JPL SPICE kernels through jplephem,
computes topocentric observers (IERS Earth orientation, WGS84) and light-time-corrected
astrometric positions vectorised over time, and ``skyfield-data`` ships DE421 (1899-2053) and the
Earth-orientation table in a PyPI package, so nothing is downloaded at run time. jplephem alone
would leave Earth rotation to us; spiceypy needs kernels that no registry package ships.

:class:`SolarSystem` owns the loaded ephemeris and answers three things: where an observer is
(:meth:`SolarSystem.observer`), where a planet or the Moon appears (:meth:`SolarSystem.planet`),
and where bodies of an :class:`~platform_lib.moving.orbits.Orbits` catalogue appear
(:meth:`SolarSystem.minor`, two-body propagation with light time and topocentric parallax).
:func:`ephemeris` is the one-call table. DE421 holds the Moon but no other satellites (Galilean
moons need JPL's ``jup*`` kernels, which no registry package ships: :meth:`SolarSystem.from_kernel`
loads such a file when one is at hand). Imports skyfield, astropy, numpy and this package.
"""

from __future__ import annotations

import functools
import os
import re
import warnings
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from platform_lib.moving._propagate import Positions, propagate
from platform_lib.moving.errors import MovingObjectError
from platform_lib.errors import stacklevel_outside
from platform_lib.moving.orbits import name_key
from platform_lib.moving.times import as_jd_tdb, quiet_dubious_years

_AU_KM = 149597870.7
_MJD_ZERO_JD = 2400000.5  # the Julian date of MJD 0

__all__ = ["Observatory", "OBSERVATORIES", "SolarSystem", "PLANETS", "MAJOR_MOONS", "ephemeris", "observatory",
           "planet_key", "find_body", "asteroid_spelling", "EARTH_NAMES"]


@dataclass(frozen=True)
class Observatory:
    """A place on the Earth (WGS84 longitude east, latitude, height), or the geocentre (``lat_deg`` None)."""

    name: str
    lon_deg: float | None = None
    lat_deg: float | None = None
    height_m: float = 0.0

    @property
    def geocentric(self) -> bool:
        return self.lat_deg is None


#: Named observatories (lower-case keys; MPC code in the comment).
OBSERVATORIES: dict[str, Observatory] = {
    "geocenter": Observatory("geocenter"),
    "keck": Observatory("W. M. Keck Observatory, Maunakea", -155.47441, 19.82636, 4145.0),  # 568 site
    "maunakea": Observatory("Maunakea", -155.4681, 19.8261, 4205.0),  # 568
    "palomar": Observatory("Palomar Mountain", -116.8650, 33.3563, 1712.0),  # 675 (ZTF)
    "rubin": Observatory("Vera C. Rubin Observatory, Cerro Pachon", -70.7494, -30.2446, 2663.0),  # X05
    "paranal": Observatory("Paranal", -70.4025, -24.6272, 2635.0),  # 309
    "kitt peak": Observatory("Kitt Peak", -111.5997, 31.9633, 2120.0),  # 695
}

#: Bodies of DE421 by name: skyfield target names.
PLANETS = {
    "sun": "sun", "moon": "moon", "mercury": "mercury", "venus": "venus", "mars": "mars",
    "jupiter": "jupiter barycenter", "saturn": "saturn barycenter", "uranus": "uranus barycenter",
    "neptune": "neptune barycenter", "pluto": "pluto barycenter",
}


#: Other names an astronomer types for the bodies of :data:`PLANETS` (skyfield's target names among them).
_PLANET_ALIASES = {
    **{v: k for k, v in PLANETS.items()},
    "the sun": "sun", "the moon": "moon", "luna": "moon",
    **{f"{k} system barycenter": k for k in ("jupiter", "saturn", "uranus", "neptune", "pluto")},
    **{f"{k} barycentre": k for k in ("jupiter", "saturn", "uranus", "neptune", "pluto")},
}

#: Satellites that DE421 does not hold (by parent): a name among them is not the Moon nor, usually, the
#: asteroid of the same name (85 Io, 52 Europa, ...).
MAJOR_MOONS = {
    "io": "jupiter", "europa": "jupiter", "ganymede": "jupiter", "callisto": "jupiter",
    "titan": "saturn", "rhea": "saturn", "iapetus": "saturn", "dione": "saturn", "tethys": "saturn",
    "enceladus": "saturn", "mimas": "saturn", "hyperion": "saturn", "phoebe": "saturn",
    "titania": "uranus", "oberon": "uranus", "umbriel": "uranus", "ariel": "uranus", "miranda": "uranus",
    "triton": "neptune", "nereid": "neptune", "charon": "pluto", "phobos": "mars", "deimos": "mars",
}


def planet_key(name) -> str | None:
    """The :data:`PLANETS` key of ``name`` (``"Jupiter"``, ``"jupiter barycenter"``, ``"Luna"``), else ``None``."""
    key = name_key(name)
    if key in PLANETS:
        return key
    return _PLANET_ALIASES.get(key)


#: Names of the Earth, the observer's own planet: a search for it is refused saying so (it was 'not a planet').
EARTH_NAMES = frozenset({"earth", "terra", "earth barycenter", "earth-moon barycenter"})


def asteroid_spelling(full: str) -> str:
    """How to name the asteroid ``full`` (a catalogue name, ``'85 Io (A865 SA)'``) so that no moon of its name is
    meant: ``'(85) Io'``, the MPC's form, which :func:`find_body` takes without a warning; ``full`` itself for one
    with no number."""
    m = re.match(r"^(\d+)\s+([^()]+?)\s*(?:\(.*\))?$", str(full).strip())
    return f"({m.group(1)}) {m.group(2)}" if m else str(full).strip()


def find_body(orbits, name) -> int:
    """``orbits.find(name)``, knowing the major moons: one the catalogue lacks is named as a moon DE421 lacks;
    one it answers with an asteroid of the same name (85 Io) warns, naming both and how to ask for each (the
    asteroid as ``'(85) Io'`` or ``85``: no warning). The Earth is refused as the observer's planet."""
    if not isinstance(name, (str, int, np.integer)) or isinstance(name, bool):
        raise TypeError(f"body must be a name or number such as 'Ceres', 'mars' or 1, got {name!r} "
                        f"({type(name).__name__})")
    key = name_key(name)
    if key in EARTH_NAMES:
        raise MovingObjectError(f"body {name!r} is the Earth, where the observer stands (site=...): it is in no image "
                                "of the sky; give another body, e.g. 'moon' or 'Ceres'", code="unknown-body",
                                value=str(name))
    try:
        row = orbits.find(name)
    except MovingObjectError as exc:
        if key in MAJOR_MOONS:
            raise MovingObjectError(
                f"unknown body {name!r}: {MAJOR_MOONS[key].title()}'s moon {name} is not in DE421, which holds only "
                f"the Moon among satellites; search for {MAJOR_MOONS[key]!r} with a tolerance that takes in the "
                "moon's orbit (a few arcminutes for Jupiter's and Saturn's large moons)", code="unknown-body",
                value=str(name)) from exc
        raise
    if key in MAJOR_MOONS:
        full, parent = str(orbits.names[row]).strip(), MAJOR_MOONS[key]
        number = full.split()[0] if full.split()[0].isdigit() else None
        asteroid = f"{asteroid_spelling(full)!r}{f' (or {number})' if number else ''}"
        warnings.warn(f"{name!r} was taken as the asteroid {full!r}, not {parent.title()}'s moon {key.title()}, which "
                      f"DE421 lacks: give {asteroid} for the asteroid, without this warning, or search for "
                      f"{parent!r} with a tolerance of a few arcminutes for the moon", UserWarning,
                      stacklevel=stacklevel_outside(__file__))
    return row


#: Other names and the MPC codes of :data:`OBSERVATORIES`.
_SITE_ALIASES = {
    "geocentre": "geocenter", "geocentric": "geocenter", "geo": "geocenter", "500": "geocenter",
    "568": "keck", "w. m. keck observatory": "keck", "keck observatory": "keck", "mauna kea": "maunakea",
    "675": "palomar", "palomar observatory": "palomar", "ztf": "palomar", "i41": "palomar",  # I41: ZTF's own code
    "x05": "rubin", "cerro pachon": "rubin", "cerro pachón": "rubin", "lsst": "rubin",
    "309": "paranal", "cerro paranal": "paranal", "vlt": "paranal",
    "695": "kitt peak", "kpno": "kitt peak", "kitt peak national observatory": "kitt peak",
}


def observatory(site) -> Observatory:
    """An :class:`Observatory` from itself, a name in :data:`OBSERVATORIES`, an astropy ``EarthLocation``
    (its WGS84 longitude, latitude and height), or ``None`` (the geocentre)."""
    if site is None:
        return OBSERVATORIES["geocenter"]
    if isinstance(site, Observatory):
        return site
    from astropy.coordinates import EarthLocation

    if isinstance(site, EarthLocation):
        if not site.isscalar:
            raise MovingObjectError(f"site {site!r} holds {site.size} places; give one EarthLocation",
                                    code="unknown-observatory", value=str(site))
        lon, lat, height = site.to_geodetic("WGS84")
        name = site.info.name or f"lon {lon.deg:.5f} lat {lat.deg:.5f} height {height.to_value('m'):.0f} m"
        return Observatory(name, float(lon.deg), float(lat.deg), float(height.to_value("m")))
    key = " ".join(str(site).strip().lower().split())
    key = _SITE_ALIASES.get(key, key)
    if key not in OBSERVATORIES:
        codes = ", ".join(sorted(k.upper() for k in _SITE_ALIASES if any(c.isdigit() for c in k)))
        raise MovingObjectError(f"unknown observatory {site!r}; use one of {sorted(OBSERVATORIES)} (or an MPC code: "
                                f"{codes}), an astropy EarthLocation, or an Observatory(name, lon_deg, lat_deg, "
                                "height_m)",
                                code="unknown-observatory", value=str(site))
    return OBSERVATORIES[key]


def _de421_path() -> Path:
    import skyfield_data

    # The file's own path: ``get_skyfield_data_path()`` warns that the bundled Earth-orientation
    # table has expired, which does not concern DE421.
    return Path(skyfield_data.__file__).parent / "data" / "de421.bsp"


class SolarSystem:
    """The JPL ephemeris loaded once: observers, planets, and minor bodies from their orbits.

    Examples
    --------
    >>> from astropy.time import Time
    >>> ss = SolarSystem.default()
    >>> ra, dec, dist = ss.planet("mars", Time("2024-01-01"), "keck")
    >>> bool(0 <= ra[0] < 360)
    True
    """

    def __init__(self, kernel_path: Path) -> None:
        from skyfield.api import load, load_file

        self.kernel_path = Path(kernel_path)
        self.kernel = load_file(os.fspath(self.kernel_path))
        # The kernel's file stays open (jplephem maps it) for this object's life; it is closed when the object
        # is collected, by close(), or at interpreter exit (the cached default()), never reopened per call.
        self._closer = weakref.finalize(self, self.kernel.close)
        self.ts = load.timescale(builtin=True)
        segments = self.kernel.spk.segments
        self.jd_min = max(s.start_jd for s in segments)
        self.jd_max = min(s.end_jd for s in segments)
        self._sun = self.kernel["sun"]
        self._earth = self.kernel["earth"]
        # jplephem reads a segment's coefficients on first use (~1 s for DE421's Earth): do it here, once.
        self._chain(((0, 3), (3, 399), (0, 10)), np.array([(self.jd_min + self.jd_max) / 2.0]))

    @classmethod
    @functools.cache
    def default(cls) -> "SolarSystem":
        """DE421 from the ``skyfield-data`` package (loaded once per process)."""
        return cls(_de421_path())

    @classmethod
    def from_kernel(cls, path: Path) -> "SolarSystem":
        """Another SPICE SPK kernel (e.g. DE440 or a satellite kernel), when the file is at hand.

        The file stays open until :meth:`close` (or the end of a ``with`` block, or the object's collection).
        """
        if not Path(path).is_file():
            raise MovingObjectError(f"SPICE kernel {path} does not exist", code="no-kernel", value=str(path))
        return cls(Path(path))

    def close(self) -> None:
        """Close the kernel file (idempotent); the object cannot compute afterwards. :meth:`default`'s is
        closed at interpreter exit."""
        self._closer()

    def __enter__(self) -> "SolarSystem":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def check_range(self, jd: np.ndarray, label: str = "time") -> None:
        """Raise ``outside-ephemeris`` when any time is outside the kernel's span, naming it as ``label`` (the
        parameter that gave it: ``start``, ``stop``)."""
        lo, hi = float(np.min(jd)), float(np.max(jd))
        if lo < self.jd_min or hi > self.jd_max:
            from astropy.time import Time

            span = Time([self.jd_min, self.jd_max], format="jd", scale="tdb").iso
            bad = lo if lo < self.jd_min else hi
            hint = "choose times inside it"
            if 1000 <= bad < 3000:  # JD 1000-3000 are 4710-4705 BC: a year typed as a number
                hint = (f"numbers are read as Julian dates (TDB), and {bad:g} looks like a year: give a Time, e.g. "
                        f"Time('{int(bad)}-01-01') (UTC)")
            elif self.jd_min <= lo + _MJD_ZERO_JD and hi + _MJD_ZERO_JD <= self.jd_max:
                # An MJD is UTC (the archive's t_mid): its TDB Julian date is not MJD + 2400000.5, which is ~69 s
                # early (0.8 deg for a near-Earth object at 1,000 deg/day)
                with quiet_dubious_years():
                    jd_tdb = Time(bad, format="mjd", scale="utc").tdb.jd
                ahead = (jd_tdb - bad - _MJD_ZERO_JD) * 86400.0
                hint = (f"numbers are read as Julian dates (TDB), and JD {bad:g} looks like an MJD: give "
                        f"Time({bad:g}, format='mjd') (UTC, as the archive's t_mid) or its TDB Julian date "
                        f"{jd_tdb:.6f} (not {bad + _MJD_ZERO_JD:.1f}: TDB is {ahead:.0f} s ahead of UTC)")
            try:  # in UTC, as a date is typed (2061-01-01 was shown as 2061-01-01 00:01:09.184 TDB), and as a JD
                with quiet_dubious_years():
                    when = f"{Time(bad, format='jd', scale='tdb').utc.iso[:-4]} UTC (JD {bad:.6f} TDB)"
            except ValueError:  # erfa.ErfaError: a year ERFA cannot write (JD 1e9)
                when = f"JD {bad:g} TDB"
            raise MovingObjectError(
                f"{label} {when} is outside the ephemeris {self.kernel_path.name} ({span[0][:10]} to "
                f"{span[1][:10]}); {hint}", code="outside-ephemeris", value=bad)

    def _t(self, jd: np.ndarray):
        self.check_range(jd)
        return self.ts.tdb_jd(jd)

    def _observer_body(self, site: Observatory):
        if site.geocentric:
            return self._earth
        from skyfield.api import wgs84

        return self._earth + wgs84.latlon(site.lat_deg, site.lon_deg, elevation_m=site.height_m)

    def _chain(self, pairs, jd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sum of SPK segments ``(center, target)`` at TDB ``jd`` through jplephem: au and au/day, (T, 3).

        Straight from the Chebyshev coefficients: skyfield's ``at()`` on the Earth also works out
        Earth orientation, 20x slower over a 20-year track, which a barycentric vector does not need.
        """
        self.check_range(jd)
        pos = np.zeros((3, len(jd)))
        vel = np.zeros((3, len(jd)))
        for c, t in pairs:
            p, v = self.kernel.spk[c, t].compute_and_differentiate(jd)
            pos += np.reshape(p, (3, -1))
            vel += np.reshape(v, (3, -1))
        return pos.T / _AU_KM, vel.T / _AU_KM

    def observer(self, jd_tdb, site=None) -> tuple[np.ndarray, np.ndarray]:
        """The observer's barycentric ICRF position (au) and velocity (au/day), each (T, 3)."""
        jd = as_jd_tdb(jd_tdb)
        pos, vel = self._chain(((0, 3), (3, 399)), jd)
        site = observatory(site)
        if not site.geocentric:
            from skyfield.api import wgs84

            at = wgs84.latlon(site.lat_deg, site.lon_deg, elevation_m=site.height_m).at(self._t(jd))
            pos = pos + np.atleast_2d(at.position.au.T)
            vel = vel + np.atleast_2d(at.velocity.au_per_d.T)
        return pos, vel

    def sun(self, jd_tdb) -> np.ndarray:
        """The Sun's barycentric ICRF position (au), (T, 3)."""
        return self._chain(((0, 10),), as_jd_tdb(jd_tdb))[0]

    def barycentric(self, name: str, jd_tdb) -> np.ndarray:
        """The geometric barycentric ICRF position (au), (T, 3), of a body of :data:`PLANETS` (no light time)."""
        key = planet_key(name)
        if key is None:
            raise MovingObjectError(f"unknown body {name!r}; the ephemeris holds {sorted(PLANETS)}",
                                    code="unknown-body", value=name)
        segment = self.kernel[PLANETS[key]]
        pairs = tuple((f.center, f.target) for f in getattr(segment, "vector_functions", [segment]))
        return self._chain(pairs, as_jd_tdb(jd_tdb))[0]

    def planet(self, name: str, times, site=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Astrometric ICRS ``(ra_deg, dec_deg, distance_au)`` of a planet, the Sun or the Moon (light time included)."""
        key = planet_key(name)
        if key is None:
            raise MovingObjectError(f"unknown body {name!r}; the ephemeris holds {sorted(PLANETS)}",
                                    code="unknown-body", value=name)
        jd = as_jd_tdb(times)
        astrometric = self._observer_body(observatory(site)).at(self._t(jd)).observe(self.kernel[PLANETS[key]])
        ra, dec, dist = astrometric.radec()
        return np.atleast_1d(ra.hours * 15.0), np.atleast_1d(dec.degrees), np.atleast_1d(dist.au)

    def minor(self, orbits, times, site=None, *, rows=None, pairwise: bool = False) -> Positions:
        """Astrometric positions of the bodies in ``orbits`` (or its ``rows``) at ``times``: arrays (N, T).

        With ``pairwise``, body ``rows[k]`` at time ``times[k]``: arrays (T,).
        """
        jd = as_jd_tdb(times)
        pos, vel = self.observer(jd, site)
        return propagate(orbits, jd, pos, vel, self.sun(jd), rows=rows, pairwise=pairwise)


def ephemeris(body: str, times, *, site="geocenter", orbits=None, solar_system: SolarSystem | None = None):
    """An ephemeris table of a planet, the Moon, or a minor body of ``orbits``.

    Parameters
    ----------
    body
        ``"mars"``, ``"moon"``, ... or an asteroid's name or number (``"Pallas"``, ``"2"``).
    times
        An astropy ``Time`` (scalar or array), or dates ``Time`` reads, as UTC: ``"2025-01-01"``,
        ``["2025-01-01", "2025-01-02T06:00"]``, ``datetime`` objects (TDB Julian dates as plain numbers).
    site
        An observatory name (``"keck"``), an :class:`Observatory`, an astropy ``EarthLocation``, or ``"geocenter"``.
    orbits
        The orbit catalogue for minor bodies (default: :func:`~platform_lib.moving.orbits.known_orbits`, the
        asteroids and comets of Debian's kstars-data).

    Returns
    -------
    astropy.table.Table
        ``time`` (UTC), ``ra``, ``dec`` (deg, astrometric ICRS), ``delta`` (au), and for minor bodies
        ``r`` (au), ``phase`` (deg), ``mag`` (V), ``rate`` (deg/day).

    Examples
    --------
    >>> from astropy.time import Time
    >>> t = ephemeris("Ceres", Time(["2024-01-01", "2024-01-02"]), site="keck")  # doctest: +SKIP
    """
    import erfa
    from astropy.table import Table
    from astropy.time import Time

    ss = solar_system or SolarSystem.default()
    jd = as_jd_tdb(times)
    if jd.size == 0:
        raise MovingObjectError(f"times={times!r} holds no time: give one or more, e.g. '2025-01-01' or "
                                "Time(['2025-01-01', '2025-01-02'])", code="bad-time", value=str(times))
    ss.check_range(jd)
    with warnings.catch_warnings():  # "dubious year": UTC after the last known leap second, as predicted
        warnings.simplefilter("ignore", erfa.ErfaWarning)
        t = Time(jd, format="jd", scale="tdb").utc
    t.format = "isot"
    if planet_key(body) is not None:
        ra, dec, dist = ss.planet(body, jd, site)
        # with units, as a minor body's table: SkyCoord(t["ra"], t["dec"]) took Ceres' and refused Jupiter's
        return Table({"time": t, "ra": ra, "dec": dec, "delta": dist},
                     units={"ra": "deg", "dec": "deg", "delta": "AU"},
                     meta={"body": planet_key(body), "site": observatory(site).name})
    if orbits is None:
        from platform_lib.moving.orbits import known_orbits

        orbits = known_orbits()
    row = find_body(orbits, body)
    p = ss.minor(orbits, jd, site, rows=[row])
    out = Table({"time": t, "ra": p.ra[0], "dec": p.dec[0], "delta": p.delta[0], "r": p.r[0],
                 "phase": p.phase[0], "mag": p.mag[0], "rate": p.rate[0]},
                meta={"body": str(orbits.names[row]), "site": observatory(site).name})
    for c, u in (("ra", "deg"), ("dec", "deg"), ("delta", "AU"), ("r", "AU"), ("phase", "deg"), ("mag", "mag"),
                 ("rate", "deg / d")):
        out[c].unit = u
    return out
