"""Moving-object routes: which images contain a Solar System body, and which known bodies are in an image.

``GET moving/images?body=Ceres&start=2005-01-01&stop=2025-01-01[&tolerance=10][&site=keck][&format=json]``
answers :func:`platform_lib.moving.find_images` (tolerance in arcsec; the body from the asteroids of Debian's
kstars-data, else its comets); ``GET moving/bodies?obs_id=...[&obs_id=...]`` (a night's images in one call,
bounded by the archive's 500 parameter values a request and its per-query time limit; or ``ra``, ``dec``,
``radius`` in degrees and ``time``) answers :func:`platform_lib.moving.bodies_in_images` over the Sun, the
Moon, the planets, and the asteroids and comets of Debian's kstars-data. Times are read as the library reads a
date given as text
(:func:`platform_lib.moving.times.read_time`): ISO 8601 (UTC unless ``Z`` or an offset follows) or an MJD (a Julian
date or a year is refused, naming the MJD to give), or, with ``time_format=mjd``, ``jd`` or ``iso``, only that
(UTC). ``format`` is
``votable`` (default) or ``json``. Bad input (unknown body, times outside the ephemeris, a bad tolerance,
an image without a time) is a ``UsageFault`` (HTTP 400) naming the problem, as a VOTable, or as JSON when
``format=json``. Both run in the service's query threads under its per-query time limit (``off_loop``, as
TAP and SIA: over it, a ``UsageFault`` naming the limit), never on the event loop; ``moving/bodies`` keeps a
per-day ephemeris cache (:class:`DayCaches`), so only the first image of a day places every orbit.
Registered by :func:`moving_routes`; imports the archive's base handler and ``platform_lib.moving``.
"""

from __future__ import annotations

import functools
import math

from astrohub_archive.base import BaseHandler
from astrohub_archive.faults import UsageFault
from astrohub_archive.writers import CONTENT_TYPES, render_table

__all__ = ["DayCaches", "moving_routes"]

_FORMATS = ("votable", "json")

#: The most ephemeris points one moving/images request may tabulate: any planet over the whole of DE421
#: (Venus, the fastest, ~98,000 points in 3.6 s here), the Moon over ~20 years (~14 points a day); the Moon
#: over 150 years (770,000 points) held a worker for 16 s.
MAX_POINTS = 120_000


@functools.cache
def _orbits():
    from platform_lib.moving import default_orbits

    return default_orbits()


@functools.cache
def _comets():
    from platform_lib.moving import KSTARS_COMETS, read_sbdb_json

    return read_sbdb_json(KSTARS_COMETS)


@functools.cache
def _known():
    """Asteroids then comets, as :func:`platform_lib.moving.known_orbits` (built once from the two above)."""
    from platform_lib.moving import Orbits

    return Orbits.concat(_orbits(), _comets())


class DayCaches:
    """The ephemeris cache of :func:`platform_lib.moving.bodies_in_images` (``n_orbits``, ``candidates``) for
    any day: each day asked for is tabulated once (:func:`platform_lib.moving.build_cache` of :func:`_known`
    for that one day, about as long as placing every orbit once), and the :data:`DAYS_CACHED` latest are kept,
    so the next image of the same night places only the bodies near it instead of every orbit. A day the
    cache cannot cover (at the ephemeris' edge) gives no candidates list: every orbit is placed, as before."""

    def __init__(self, orbits) -> None:
        self.orbits = orbits
        self.n_orbits = len(orbits)
        self._day = functools.lru_cache(maxsize=DAYS_CACHED)(self._build)

    def _build(self, jd0: float):
        from astropy.time import Time

        from platform_lib.moving import MovingObjectError, build_cache

        try:
            return build_cache(self.orbits, Time(jd0, format="jd", scale="tdb"), 1)
        except MovingObjectError:
            return None

    def candidates(self, centre_xyz, radius_rad: float, jd_tdb: float):
        day = self._day(float(math.floor(jd_tdb - 0.5) + 0.5))  # 0h TDB, as build_cache starts its days
        return None if day is None else day.candidates(centre_xyz, radius_rad, jd_tdb)


#: Days of :class:`DayCaches` kept (each holds an int32 per orbit and per HEALPix cell: ~85 kB for kstars-data's 8,664 orbits).
DAYS_CACHED = 32


@functools.cache
def _day_caches() -> DayCaches:
    return DayCaches(_known())


def _orbits_of(body: str):
    """The catalogue that holds ``body``: the asteroids, else the comets (``1P/Halley``, ``2P``). A name neither
    holds is a ``UsageFault`` naming close names of both and what this route knows (the library's message speaks of
    ``orbits=``, which a client cannot pass), but a major moon, which the search names as one. A name several
    bodies share is resolved as the library resolves it (:meth:`~platform_lib.moving.Orbits.ranked`: ``Halley`` is
    the comet 1P/Halley, not the asteroid 2688 Halley; ``NEOWISE`` is C/2020 F3); where no rule decides
    (``LINEAR``) it is a ``UsageFault`` naming them, those that matter first: a client sees no warnings, and the
    first match would be a guess. A body the files hold but whose orbit was left out when they were read (a
    hyperbolic comet such as C/2017 K2) goes to the search, which names why (``hyperbolic-orbit``), not 'unknown
    body'. A major moon's name that an asteroid bears (``Io``: 85 Io) is a ``UsageFault`` naming both, as the
    notebook's warning does."""
    from platform_lib.moving import MovingObjectError
    from platform_lib.moving.ephemeris import EARTH_NAMES, MAJOR_MOONS, asteroid_spelling, planet_key
    from platform_lib.moving.orbits import name_key

    key = name_key(body)  # as find_body and the catalogues compare it
    if planet_key(body) is not None:  # DE421's, whatever the catalogues hold (134340 Pluto)
        return _orbits()
    if key in EARTH_NAMES:  # find_body says it is the observer's planet
        return _orbits()
    found = []
    for orbits in (_orbits(), _comets()):
        try:
            rows = orbits.matches(body)
        except MovingObjectError:  # an empty name: the asteroids' find() names it
            return _orbits()
        found += [(orbits, str(orbits.names[r]).strip()) for r in rows]
    # (catalogue, (full name, reason)) of each catalogue that left out a body of this name when it was read
    left_out = [(orbits, lo) for orbits in (_orbits(), _comets()) if (lo := orbits.left_out(body)) is not None]
    if len(found) == 1 and left_out:  # 'Olbers': 13P/Olbers, and C/1796 F1 (Olbers) on a hyperbolic orbit
        found += [(None, f"{full} (left out: its orbit cannot be followed)") for _, (full, _) in left_out]
    if len(found) > 1 and all(orbits is not None for orbits, _ in found):
        # the library's rule (Orbits.ranked) over both catalogues: 'Halley' is 1P/Halley, 'NEOWISE' C/2020 F3;
        # the answer's meta names the body searched. Where no rule decides, the candidates that matter come first.
        rows, rule = _known().ranked(body, _known().matches(body))
        if rule is not None:
            return _orbits() if rows[0] < len(_orbits()) else _comets()
        found = [(None, str(_known().names[r]).strip()) for r in rows]
    if len(found) > 1:
        more = f" and {len(found) - 3} more" if len(found) > 3 else ""
        raise UsageFault(f"body={body!r} names {len(found)} bodies: {', '.join(repr(n) for _, n in found[:3])}{more}; "
                         "give the one you mean by its number or designation")
    if found and key in MAJOR_MOONS:  # 'Io': the asteroid 85 Io, taken with a warning a client never sees
        asteroid = found[0][1]
        number = asteroid.split()[0] if asteroid.split()[0].isdigit() else asteroid
        also = f" (or body={asteroid_spelling(asteroid)})" if number != asteroid else ""
        raise UsageFault(f"body={body!r} names the asteroid {asteroid!r} and {MAJOR_MOONS[key].title()}'s moon "
                         f"{key.title()}, which DE421 lacks: give body={number}{also} for the asteroid, or "
                         f"body={MAJOR_MOONS[key]} with a tolerance of a few arcminutes for the moon")
    if found:
        return found[0][0]
    if key in MAJOR_MOONS:  # find_body names it as a moon DE421 lacks
        return _orbits()
    if left_out:  # in kstars-data, but not an orbit the search can follow (C/2017 K2)
        return left_out[0][0]  # the search names it: hyperbolic-orbit or bad-orbit
    close = _known().close_names(body)
    hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
    raise UsageFault(f"unknown body {body!r}{hint}: not a planet or the Moon (DE421), nor among the "
                     f"{len(_orbits()):,} asteroids and {len(_comets()):,} comets of Debian's kstars-data that this "
                     "archive knows; give a number, name or designation ('2 Pallas', '2', '1P'), or, for another body, "
                     "search from a notebook with its orbit: platform_lib.moving.find_images(..., "
                     "orbits=read_sbdb_json(file) or horizons_orbits([...]))")


def _one(args: dict, name: str, default=None, *, required: bool = False) -> str | None:
    vals = args.get(name) or args.get(name.upper())
    if not vals:
        if required:
            raise UsageFault(f"parameter {name} is required")
        return default
    if len(vals) > 1:
        raise UsageFault(f"parameter {name} was given {len(vals)} times; give it once")
    return vals[0]


def _time(args: dict, name: str):
    """Parameter ``name`` (``start``, ``stop``, ``time``; required) as an astropy Time in UTC, read by
    :func:`platform_lib.moving.times.read_time` as the library reads a date given as text (ISO 8601, UTC unless
    ``Z`` or an offset follows), a number as an MJD, or, with ``time_format`` (``iso``, ``mjd`` or ``jd``), only
    that form. Bad input is a ``bad-time`` MovingObjectError naming the parameter and the value, which the route
    answers as a UsageFault."""
    from platform_lib.moving.times import read_time

    fmt = _one(args, "time_format")
    return read_time(_one(args, name, required=True), name, None if fmt is None else fmt.strip().lower(),
                     form_param="time_format")


def _float(value: str, name: str) -> float:
    try:
        v = float(value)
    except ValueError:
        raise UsageFault(f"{name}={value!r} is not a number") from None
    if not math.isfinite(v):
        raise UsageFault(f"{name}={value!r} is not a finite number")
    return v


def _tolerance(args: dict):
    """``tolerance`` (arcsec) as an angle, refused here unless positive: the library's message speaks of
    Quantities (``10 * u.arcsec``), which a client does not send."""
    import astropy.units as u

    tol = _one(args, "tolerance")
    if tol is None:
        return None
    value = _float(tol, "tolerance")
    if not value > 0:
        raise UsageFault(f"tolerance={tol!r} must be a positive number of arcseconds (e.g. tolerance=10)")
    return value * u.arcsec


def _site(args: dict):
    """``site`` (default the geocentre) as an :class:`~platform_lib.moving.Observatory`; an unknown one is refused
    naming the names and MPC codes this route takes (the library's message offers an EarthLocation or an
    Observatory(...), which a client cannot send)."""
    from platform_lib.moving import OBSERVATORIES, MovingObjectError, observatory

    name = _one(args, "site", "geocenter")
    try:
        return observatory(name)
    except MovingObjectError:
        raise UsageFault(f"site={name!r} is not an observatory this archive knows: give one of "
                         f"{', '.join(sorted(OBSERVATORIES))} (or its MPC code, e.g. 568 for Keck)") from None


class _MovingHandler(BaseHandler):
    """A moving-object route: its ``plan(args, viewer)`` checks the request (bad input: a ``UsageFault``) and
    returns the work to do, which a HEAD skips (:meth:`~astrohub_archive.base.HeadAsGet.finish_head`)."""

    format_params = ("format",)

    async def get(self) -> None:
        await self.guarded(self._answer)

    async def _answer(self) -> None:
        from platform_lib.moving import MovingObjectError

        args = self.args()
        fmt = (_one(args, "format", "votable") or "votable").lower()
        if fmt in ("application/x-votable+xml", "text/xml"):
            fmt = "votable"
        if fmt not in _FORMATS:
            raise UsageFault(f"format={fmt!r} is not offered here; use one of {', '.join(_FORMATS)}")
        viewer = await self.caller(args)

        def run() -> bytes | None:
            try:
                work = self.plan(args, viewer)  # the request's checks
                if self.heading():  # a HEAD: checked, nothing computed
                    return None
                table = work()
            except MovingObjectError as exc:
                # an UnknownImage says itself while PLATFORM_DATASETS' load runs; else the archive's --sample-data
                loading = (self.state.still_loading() if exc.code == "unknown-image" and not getattr(exc, "loading", None)
                           else None)
                raise UsageFault(f"{exc}; {loading}" if loading else str(exc)) from exc
            if fmt == "json":
                return render_table(table, "json", meta=table.meta)
            t = table.copy(copy_data=False)
            t.meta = {}
            return render_table(t, "votable")  # booleans (hit) as VOTable booleans, T and F

        body = await self.off_loop(run)  # the query threads, under the per-query time limit
        self.set_header("Content-Type", CONTENT_TYPES[fmt])
        if body is None:
            self.finish_head()
        else:
            self.finish(body)

    async def caller(self, args):
        """Who asks, as :meth:`plan` needs them: with their hub groups only where a group decides which images of
        the index they see (:meth:`~astrohub_archive.base.BaseHandler.image_viewer`)."""
        return await self.image_viewer()


class ImagesOfBodyHandler(_MovingHandler):
    def plan(self, args, viewer):
        from platform_lib.moving import SpacetimeIndex, find_images

        body = _one(args, "body", required=True)
        start, stop = _time(args, "start"), _time(args, "stop")
        search = {"tolerance": _tolerance(args), "site": _site(args), "orbits": _orbits_of(body), "viewer": viewer}

        def work():
            index = SpacetimeIndex(self.state.index_path)
            try:
                res = find_images(body, start, stop, index=index, max_points=MAX_POINTS, **search)
            finally:
                index.close()
            table = res.table
            table.meta.update({k: round(v, 4) for k, v in res.stats.items() if k.endswith("_s")})
            return table

        return work


class BodiesInImageHandler(_MovingHandler):
    async def caller(self, args):
        """The images named (``obs_id``) decide whether the caller's groups are asked; a cone reads no image."""
        obs_ids = _obs_ids(args)
        return await (self.image_viewer(obs_ids) if obs_ids else self.identity())

    def plan(self, args, viewer):
        import astropy.units as u
        from astropy.coordinates import SkyCoord

        from platform_lib.moving import bodies_in_image, bodies_in_images
        from platform_lib.moving.reverse import cone_image

        obs_ids = _obs_ids(args)
        kw = {"orbits": _known(), "cache": _day_caches(), "site": _site(args), "tolerance": _tolerance(args),
              "viewer": viewer}
        if obs_ids:
            cone = [k for k in ("ra", "dec", "radius", "time") if _one(args, k) is not None]
            if cone:
                raise UsageFault(f"give obs_id or ra, dec, radius and time, not both (got obs_id and "
                                 f"{', '.join(cone)})")
            return lambda: bodies_in_images(obs_ids, index=self.state.index_path, **kw)
        ra = _float(_one(args, "ra", required=True), "ra")
        dec = _float(_one(args, "dec", required=True), "dec")
        if not -90 <= dec <= 90:
            raise UsageFault(f"dec={dec} is outside [-90, 90]")
        radius = _float(_one(args, "radius", required=True), "radius")
        if not 0 < radius <= 10:
            raise UsageFault(f"radius={radius} degrees must be in (0, 10]")
        when = _time(args, "time")
        return lambda: bodies_in_image(cone_image(SkyCoord(ra * u.deg, dec * u.deg), radius * u.deg, when), **kw)


def _obs_ids(args) -> list[str]:
    """The images of a ``moving/bodies`` request (``obs_id``, repeatable: a night's images), each once."""
    return list(dict.fromkeys(args.get("obs_id") or args.get("OBS_ID") or []))


def moving_routes(prefix: str, state) -> list:
    kw = {"state": state}
    return [
        (prefix + r"moving/images/?", ImagesOfBodyHandler, kw),
        (prefix + r"moving/bodies/?", BodiesInImageHandler, kw),
    ]
