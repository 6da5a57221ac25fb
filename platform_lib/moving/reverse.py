"""Which known bodies are in this image: candidates from the ephemeris cache, then exact positions.

For each image (an index record, an ``obs_id``, or a cone at a time) the cache
(:class:`~platform_lib.moving.cache.EphemerisCache`) proposes the bodies that may be near it that
day; their exact two-body positions at mid-exposure (light time, the observer's site) are computed in
one vectorised call for all images and candidates together, then tested against each footprint.
Without a cache, or outside its span, every orbit is placed (correct, slower). The Sun, the Moon and the planets
of DE421 are tested too (an hourly table of their directions culls them, then their exact positions). Imports numpy,
astropy and this package.
"""

from __future__ import annotations

import functools

import numpy as np

from platform_lib.imageindex import Viewer
from platform_lib.moving.ephemeris import SolarSystem, observatory
from platform_lib.moving._columns import describe
from platform_lib.moving.errors import MovingObjectError, UnknownImage
from platform_lib.moving.footprints import place
from platform_lib.moving.search import check_tolerance, images_of, mjd_utc_to_jd_tdb, record_caps, with_file_paths
from platform_lib.moving.times import as_time, quiet_dubious_years

__all__ = ["bodies_in_image", "bodies_in_images", "cone_image"]

_NAMES = ("obs_id", "body", "row", "inside", "t_mid", "ra", "dec", "edge_sep", "centre_sep", "mag", "rate", "delta",
          "r")
#: Text columns as wide as their longest value (an obs_id is a path under the archive's images: U64 cut it).
_DTYPES = (str, str, np.int64, bool, float, float, float, float, float, float, float, float, float)


def cone_image(position, radius, time, *, obs_id: str = "cone") -> dict:
    """An image record for a cone: ``position`` (SkyCoord), ``radius`` (angle), ``time`` (one astropy Time, or a
    date it reads: ``"2024-03-01T10:00"``, a ``datetime``; UTC)."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord
    from astropy.time import Time

    try:
        rad = float(u.Quantity(radius).to_value(u.deg))
    except (TypeError, ValueError, u.UnitsError) as exc:
        raise MovingObjectError(f"radius {radius!r} is not an angle; give e.g. 0.1 * u.deg", code="bad-tolerance",
                                value=str(radius)) from exc
    if not rad > 0:
        raise MovingObjectError(f"radius {radius!r} must be a positive angle", code="bad-tolerance", value=str(radius))
    if not isinstance(position, SkyCoord) or not position.isscalar:
        raise MovingObjectError(f"position {position!r} must be one SkyCoord, e.g. SkyCoord(10 * u.deg, -5 * u.deg)",
                                code="bad-position", value=str(position))
    time = as_time(time, "time")
    if not isinstance(time, Time) or not time.isscalar:
        raise MovingObjectError(f"time {time!r} must be one astropy Time, e.g. Time('2024-01-31T05:00') (UTC; "
                                "Time('...', scale='tt') for another scale)", code="bad-time", value=str(time))
    icrs = position.icrs
    with quiet_dubious_years():
        mjd = float(time.utc.mjd)
    return {"obs_id": obs_id, "dataproduct_type": "spectrum", "s_ra": float(icrs.ra.deg), "s_dec": float(icrs.dec.deg),
            "s_fov": 2 * rad, "t_min": mjd, "t_max": mjd, "vertices": None}


def _resolve(images, index, viewer) -> list[dict]:
    out = []
    idx = None
    for im in images:
        if isinstance(im, str):
            if index is None:
                raise MovingObjectError(f"image {im!r} is an obs_id: pass index= (the image index) to look it up",
                                        code="no-index", value=im)
            if idx is None:
                from platform_lib.moving.spacetime import SpacetimeIndex

                idx = index if isinstance(index, SpacetimeIndex) else SpacetimeIndex(index)
            rec = idx.record(im, viewer)
            if rec is None:
                raise UnknownImage(f"image {im!r} is not in the index (or not visible to you)", value=im)
            out.append(rec)
        elif isinstance(im, dict):
            out.append(im)
        else:
            raise TypeError(f"an image is an obs_id, an index record (dict) or cone_image(...), not {type(im).__name__}")
    for rec in out:
        if rec.get("t_min") is None:
            raise MovingObjectError(f"image {rec.get('obs_id')!r} has no time (t_min is empty): a moving body cannot "
                                    "be placed in it; fix its DATE-OBS/MJD-OBS header or its instrument mapping",
                                    code="no-time", value=rec.get("obs_id"))
    return out


def bodies_in_images(images, *, orbits=None, cache=None, index=None, site="geocenter", tolerance=None,
                     viewer: Viewer = Viewer(), solar_system: SolarSystem | None = None):
    """The bodies of ``orbits``, and the Sun, the Moon and the planets (DE421), in each of ``images`` (a night of
    them in one call).

    Parameters
    ----------
    images
        A list of obs_ids (looked up in ``index``), index records, or :func:`cone_image` cones; or a table with an
        ``obs_id`` column (a :meth:`FolderIndex.search <platform_lib.imageindex.FolderIndex.search>` answer).
    index
        Where the obs_ids are looked up: a :class:`~platform_lib.moving.spacetime.SpacetimeIndex`, the image
        index's path, or a folder of your own images (:func:`platform_lib.imageindex.index_folder`'s
        :class:`~platform_lib.imageindex.FolderIndex`: every image in it is seen, whatever ``viewer`` says, and the
        table gains ``file_path``, each image's file), as :func:`~platform_lib.moving.find_images` takes it.
    orbits
        The orbit catalogue (default: :func:`~platform_lib.moving.orbits.known_orbits`, Debian kstars-data's
        asteroids and comets; ``default_orbits()`` for the asteroids alone).
    cache
        An :class:`~platform_lib.moving.cache.EphemerisCache` built from the same orbits (optional; for the
        default, ``build_cache(known_orbits(), ...)``).
    tolerance
        Bodies outside a footprint but within this angle of its edge are returned with
        ``inside = False`` (default 0: only bodies inside, but a positive angle is required if given).

    Returns
    -------
    astropy.table.Table
        One row per (image, body): ``obs_id``, ``body``, ``row`` (in ``orbits``; -1 for a DE421 body, named as
        :func:`~platform_lib.moving.ephemeris` names it: ``jupiter``, ``moon``), ``inside``, ``t_mid`` (MJD UTC),
        predicted ``ra``/``dec`` (deg), ``edge_sep``, ``centre_sep`` (arcsec), ``mag`` (V; NaN for DE421's
        bodies), ``rate`` (arcsec/h), ``delta``/``r`` (au).

    Examples
    --------
    >>> import astropy.units as u
    >>> from platform_lib.imageindex import index_folder
    >>> from platform_lib.moving import bodies_in_images
    >>> mine = index_folder("~/myimages")                                # doctest: +SKIP
    >>> bodies_in_images(mine.search(), index=mine, tolerance=10 * u.arcmin)  # doctest: +SKIP
    """
    tol_deg = 0.0 if tolerance is None else check_tolerance(tolerance)
    ss = solar_system or SolarSystem.default()
    if orbits is None:
        from platform_lib.moving.orbits import known_orbits

        orbits = known_orbits()
    if cache is not None and cache.n_orbits != len(orbits):
        raise MovingObjectError(f"the ephemeris cache was built from other orbits ({cache.n_orbits} of them, these "
                                f"are {len(orbits)}): pass the orbits it was built from, or rebuild it from these "
                                "(the default orbits are known_orbits(): asteroids and comets)",
                                code="stale-cache", value=cache.n_orbits)
    if isinstance(images, str) and not images.strip():
        raise MovingObjectError(f"images is an empty obs_id ({images!r}): give an image's obs_id, a list of them, or "
                                "an image search's answer", code="bad-images", value=images)
    if isinstance(images, (str, dict)):  # one image: a bare obs_id is not a list of one-letter obs_ids
        images = [images]
    elif getattr(images, "colnames", None) is not None and "obs_id" in images.colnames:  # a search's answer
        images = [str(o) for o in images["obs_id"]]
    elif images is None or isinstance(images, (bytes, int, float)) or not hasattr(images, "__iter__"):
        raise TypeError(f"images must be an obs_id, a list of obs_ids or image records, or a table with obs_id "
                        f"(an image search's answer), got {images!r} ({type(images).__name__})")
    folder, index, viewer = images_of(index, viewer)
    recs = _resolve(list(images), index, viewer)
    if not recs:
        return with_file_paths(_table([], {}), folder, [])
    t_min = np.array([r["t_min"] for r in recs], float)
    t_max = np.array([r["t_max"] if r.get("t_max") is not None else r["t_min"] for r in recs], float)
    mid_mjd = (t_min + t_max) / 2.0
    mid = mjd_utc_to_jd_tdb(mid_mjd)
    ss.check_range(mid)
    centres, radii = record_caps(recs)
    radii = radii + 1e-9
    pair_img, pair_row = [], []
    everyone = np.arange(len(orbits), dtype=np.int64)
    for k in range(len(recs)):
        cand = cache.candidates(centres[k], radii[k] + np.deg2rad(tol_deg), mid[k]) if cache is not None else None
        cand = everyone if cand is None else cand
        pair_img.append(np.full(len(cand), k, dtype=np.int64))
        pair_row.append(cand)
    pair_img = np.concatenate(pair_img)
    pair_row = np.concatenate(pair_row)
    site = observatory(site)
    meta = {"site": site.name, "images": len(recs), "candidates": int(len(pair_row))}
    major = _major_bodies(ss, recs, centres, radii, mid, mid_mjd, site, tol_deg)
    if len(pair_row) == 0:
        major.sort(key=lambda f: f[0])
        return with_file_paths(_table([row for _, row in major], meta), folder, [recs[k].get("file_path")
                                                                                 for k, _ in major])
    obs_pos, obs_vel = ss.observer(mid, site)
    sun = ss.sun(mid)
    from platform_lib.moving._propagate import propagate

    p = propagate(orbits, mid[pair_img], obs_pos[pair_img], obs_vel[pair_img], sun[pair_img], rows=pair_row,
                  pairwise=True)
    cos_near = np.cos(np.minimum(radii[pair_img] + np.deg2rad(tol_deg) + 1e-9, np.pi))
    near = np.einsum("ij,ij->i", p.xyz, centres[pair_img]) >= cos_near
    found = major  # (image, row of the answer): DE421's bodies, then the orbits'
    for j in np.flatnonzero(near):
        k = int(pair_img[j])
        inside, edge, centre = place(recs[k], p.xyz[j])
        if not inside and np.rad2deg(edge) > tol_deg:
            continue
        found.append((k, (str(recs[k]["obs_id"]), str(orbits.names[pair_row[j]]).strip(), int(pair_row[j]),
                          bool(inside), mid_mjd[k], float(p.ra[j]), float(p.dec[j]), np.rad2deg(edge) * 3600.0,
                          np.rad2deg(centre) * 3600.0, float(p.mag[j]), float(p.rate[j]) * 150.0,
                          float(p.delta[j]), float(p.r[j]))))
    found.sort(key=lambda f: f[0])  # each image's rows together (a stable sort)
    rows = [row for _, row in found]
    return with_file_paths(_table(rows, meta), folder, [recs[k].get("file_path") for k, _ in found])


#: How far (deg) a DE421 body seen from a site at mid-exposure (astrometric) may lie from its geocentric geometric
#: direction at the nearest whole hour: the Moon's parallax (under 1 deg) and its motion in half an hour (0.3 deg),
#: any body's motion during the light time, with room.
_MAJOR_MARGIN_DEG = 2.5


@functools.lru_cache(maxsize=64)
def _hourly_directions(ss: SolarSystem, day: float) -> np.ndarray:
    """Geocentric geometric unit vectors (bodies, 25 hours, 3) of :data:`PLANETS`' bodies over the TDB day from
    Julian date ``day`` (a midnight), inside the kernel's span: one vectorised read per body, once per day."""
    from platform_lib.moving.ephemeris import PLANETS

    jd = np.clip(day + np.arange(25) / 24.0, ss.jd_min, ss.jd_max)
    earth = ss.observer(jd)[0]
    geo = np.stack([ss.barycentric(key, jd) - earth for key in PLANETS])
    return geo / np.linalg.norm(geo, axis=2)[..., None]


def _major_bodies(ss: SolarSystem, recs, centres, radii, mid, mid_mjd, site, tol_deg) -> list[tuple[int, tuple]]:
    """The Sun, the Moon and the planets of DE421 in (or within ``tol_deg`` of) each image: ``(image, row)`` pairs.

    A cheap cull first (each body's geocentric direction at the whole hour nearest each mid-exposure, from an
    hourly table per day), then the exact astrometric position from the site for the few near an image, with the
    rate over an hour around mid-exposure. ``row`` is -1 (no orbit) and ``mag`` NaN, as in ``find_images``.
    """
    from platform_lib.moving.ephemeris import PLANETS
    from platform_lib.imageindex.sphere import radec_to_xyz

    day = np.floor(mid - 0.5) + 0.5
    hour = np.clip(np.rint((mid - day) * 24.0), 0, 24).astype(np.int64)
    geo = np.empty((len(PLANETS), len(mid), 3))
    for d in np.unique(day):
        on = day == d
        geo[:, on] = _hourly_directions(ss, float(d))[:, hour[on]]
    reach = np.cos(np.minimum(radii + np.deg2rad(tol_deg + _MAJOR_MARGIN_DEG), np.pi))
    near_b, near_k = np.nonzero(np.einsum("bkj,kj->bk", geo, centres) >= reach)
    out = []
    for b, k in zip(near_b.tolist(), near_k.tolist()):
        key = list(PLANETS)[b]
        jd = np.clip([mid[k] - 1 / 48, mid[k], mid[k] + 1 / 48], ss.jd_min, ss.jd_max)  # the rate: an hour
        ra, dec, dist = ss.planet(key, jd, site)
        xyz = radec_to_xyz(ra, dec)
        inside, edge, centre = place(recs[k], xyz[1])
        if not inside and np.rad2deg(edge) > tol_deg:
            continue
        rate = np.rad2deg(np.arccos(np.clip(xyz[0] @ xyz[2], -1, 1))) * 3600.0 / ((jd[2] - jd[0]) * 24.0)
        r = float(np.linalg.norm(ss.barycentric(key, jd[1:2])[0] - ss.sun(jd[1:2])[0]))
        out.append((k, (str(recs[k]["obs_id"]), key, -1, bool(inside), mid_mjd[k], float(ra[1]), float(dec[1]),
                        np.rad2deg(edge) * 3600.0, np.rad2deg(centre) * 3600.0, np.nan, float(rate),
                        float(dist[1]), r)))
    return out


def _table(rows: list[tuple], meta: dict):
    """The answer table, built column by column (one astropy ``Table`` per call: it costs ~1 ms)."""
    from astropy.table import Column, Table

    cols = list(zip(*rows)) if rows else [[] for _ in _NAMES]
    return describe(Table([Column(np.array(col, dtype=dt), name=name, copy=False)
                           for name, col, dt in zip(_NAMES, cols, _DTYPES)], meta=meta, copy=False))


def bodies_in_image(image, **kwargs):
    """The bodies in one image (an obs_id, an index record, or :func:`cone_image`); see :func:`bodies_in_images`.

    Examples
    --------
    >>> from astropy.coordinates import SkyCoord
    >>> from astropy.time import Time
    >>> import astropy.units as u
    >>> cone = cone_image(SkyCoord(10 * u.deg, 5 * u.deg), 0.5 * u.deg, Time("2024-03-01T10:00"))
    >>> found = bodies_in_image(cone, site="keck")  # doctest: +SKIP
    """
    return bodies_in_images([image], **kwargs)
