"""Which images contain body X: KOA's moving-object search over the image index's space-time R-tree.

1. Tabulate the body's ephemeris over the range: daily, then finer where the apparent rate would
   move it more than ``max_step`` between points (:func:`tabulate`).
2. Group consecutive points into space-time boxes no larger than ``box_size`` nor longer than
   ``box_days``, padded by the tolerance plus the largest motion between two points
   (:func:`track_boxes`): the body is inside its box at every moment of the box's interval.
3. Ask the R-tree for images whose footprint box and exposure interval meet a box.
4. Test each candidate with the body's exact position at mid-exposure (observer on the chosen
   site): a *hit* inside the footprint, a *near miss* outside within the tolerance; both with
   their separations.

Imports numpy, astropy and this package.
"""

from __future__ import annotations

import os
import time as _time
from dataclasses import dataclass, field

import numpy as np

from platform_lib.imageindex import FolderIndex, Viewer
from platform_lib.moving.ephemeris import SolarSystem, find_body, observatory, planet_key
from platform_lib.moving._columns import describe
from platform_lib.moving.errors import MovingObjectError
from platform_lib.moving.footprints import place
from platform_lib.moving.spacetime import SpacetimeIndex
from platform_lib.moving.times import as_jd_tdb, quiet_dubious_years

__all__ = ["Body", "Track", "ImageSearch", "tabulate", "track_boxes", "find_images", "check_tolerance", "mjd_utc_to_jd_tdb",
           "record_caps", "images_of", "with_file_paths"]

_MJD = 2400000.5
_EARTH_RADIUS_AU = 6378.137 / 149597870.7


def check_tolerance(tolerance, name: str = "tolerance", example: str = "10 * u.arcsec"):
    """``tolerance`` (or the angle parameter ``name``) in degrees: a positive, finite angle (Quantity), else
    ``bad-tolerance`` naming the parameter."""
    import astropy.units as u

    try:
        deg = float(u.Quantity(tolerance).to_value(u.deg))
    except (TypeError, ValueError, u.UnitsError) as exc:
        raise MovingObjectError(f"{name} {tolerance!r} is not an angle; give e.g. {example}",
                                code="bad-tolerance", value=str(tolerance)) from exc
    if not np.isfinite(deg) or deg <= 0:
        raise MovingObjectError(f"{name} {tolerance!r} must be a positive angle (e.g. {example})",
                                code="bad-tolerance", value=str(tolerance))
    return deg


def mjd_utc_to_jd_tdb(mjd) -> np.ndarray:
    """ObsCore times (MJD, UTC) to TDB Julian dates, through ERFA as astropy's ``Time`` does (50x faster
    for one value: a single image must be answered in milliseconds)."""
    import erfa

    mjd = np.atleast_1d(np.asarray(mjd, dtype=np.float64))
    try:
        with quiet_dubious_years():
            tai1, tai2 = erfa.utctai(np.full(mjd.shape, _MJD), mjd)
    except erfa.ErfaError as exc:  # a date ERFA cannot convert (e.g. MJD -1e20)
        raise MovingObjectError(f"times (MJD, UTC) {mjd.tolist()[:5]} cannot be converted to TDB ({exc}); give "
                                "dates within a few thousand years of now", code="bad-time", value=str(mjd[0])) from exc
    tt1, tt2 = erfa.taitt(tai1, tai2)
    # TDB - TT (periodic, < 2 ms) at the geocentre, as astropy does without a location
    return tt1 + tt2 + erfa.dtdb(tt1, tt2, 0.0, 0.0, 0.0, 0.0) / 86400.0


@dataclass
class Track:
    """A tabulated geocentric ephemeris: TDB Julian dates, unit vectors (T, 3), rates (deg/day), magnitudes,
    distances (au)."""

    body: str
    jd: np.ndarray
    xyz: np.ndarray
    rate: np.ndarray
    mag: np.ndarray
    delta: np.ndarray

    @property
    def ra(self):
        return np.rad2deg(np.arctan2(self.xyz[:, 1], self.xyz[:, 0])) % 360.0

    @property
    def dec(self):
        return np.rad2deg(np.arcsin(np.clip(self.xyz[:, 2], -1, 1)))


class Body:
    """A body to follow: a planet/the Moon of the ephemeris, or one row of an orbit catalogue.

    What :func:`tabulate` takes: ``Body("Pallas", default_orbits(), SolarSystem.default(),
    observatory("keck"))``; ``orbits=None`` reads ``known_orbits()`` when the body is not a planet.
    """

    def __init__(self, body, orbits, ss: SolarSystem, site):
        self.ss, self.site = ss, site
        self.planet = planet_key(body)
        if self.planet is None:
            if orbits is None:
                from platform_lib.moving.orbits import known_orbits

                orbits = known_orbits()
            self.orbits, self.row = orbits, find_body(orbits, body)
            self.name = str(orbits.names[self.row])
        else:
            self.name = self.planet

    def positions(self, jd: np.ndarray, site=None):
        """(xyz (T, 3), rate (T,) deg/day, mag (T,), delta (T,) au) at TDB Julian dates, from ``site``
        (default: the search's site)."""
        site = self.site if site is None else site
        if self.planet is None:
            p = self.ss.minor(self.orbits, jd, site, rows=[self.row])
            return p.xyz[0], p.rate[0], p.mag[0], p.delta[0]
        from platform_lib.imageindex.sphere import radec_to_xyz

        ra, dec, dist = self.ss.planet(self.planet, jd, site)
        xyz = radec_to_xyz(ra, dec)
        step = 1.0 / 24.0
        ra2, dec2, _ = self.ss.planet(self.planet, np.clip(jd + step, None, self.ss.jd_max), site)
        moved = np.rad2deg(np.arccos(np.clip(np.sum(xyz * radec_to_xyz(ra2, dec2), axis=1), -1, 1))) / step
        return xyz, moved, np.full(len(jd), np.nan), dist


def tabulate(body: Body, jd0: float, jd1: float, *, max_step_deg: float, max_points: int | None = None) -> Track:
    """Geocentric points from ``jd0`` to ``jd1``: daily, subdivided so no step moves the body more than
    ``max_step_deg`` (a site's parallax is added to the boxes' padding, see :func:`track_boxes`).

    Each day is split by the apparent rate at its ends; a step that still moves the body more than the limit
    (a close approach between two points, whose rates understate the motion: a near-Earth object passing
    38,000 km away half a day from a grid point moved 50 degrees in one step) is split again by its motion: at
    most :data:`_REFINE_PASSES` passes in all, the first by the rates and up to ``_REFINE_PASSES - 1`` more.

    With ``max_points``, a track that would need more points (the Moon over decades) raises ``too-long``
    before they are computed."""
    n = max(int(np.ceil(jd1 - jd0)), 1)
    grid = np.linspace(jd0, jd1, n + 1)
    geo = "geocenter"
    xyz, rate, mag, delta = body.positions(grid, geo)
    for k in range(_REFINE_PASSES):
        dt = np.diff(grid)
        chord = np.rad2deg(np.arccos(np.clip(np.einsum("ij,ij->i", xyz[1:], xyz[:-1]), -1, 1)))
        if k == 0:
            motion = np.maximum(np.maximum(rate[:-1], rate[1:]) * dt, chord)
        else:  # split only what the rates got wrong: ceil() left every other step under the limit
            motion = np.where(chord > max_step_deg * _REFINE_SLACK, chord, 0.0)
        splits = np.maximum(np.ceil(motion / max_step_deg).astype(int), 1)
        if np.all(splits == 1):
            break
        needed = int(splits.sum()) + 1
        if max_points is not None and needed > max_points:
            days = (jd1 - jd0) * max_points / needed
            raise MovingObjectError(
                f"{body.name} moves fast: its track over these {jd1 - jd0:.0f} days needs {needed} ephemeris points, "
                f"more than the {max_points} allowed here; search at most ~{days:.0f} days at a time (or call "
                "platform_lib.moving.find_images in your notebook, which has no limit)", code="too-long", value=needed)
        grid = np.concatenate([np.linspace(grid[i], grid[i + 1], splits[i] + 1)[:-1] for i in range(len(dt))]
                              + [grid[-1:]])
        xyz, rate, mag, delta = body.positions(grid, geo)
    return Track(body.name, grid, xyz, rate, mag, delta)


#: Passes of :func:`tabulate` in all: the first splits each day by the rates at its ends, each later one (up to
#: ``_REFINE_PASSES - 1`` of them) the steps that still move the body too far.
_REFINE_PASSES = 8
#: A refining pass splits a step moving the body more than this times ``max_step``: the first pass's ceil() keeps
#: smooth motion under the limit, and the rate changing a little inside a step (the Moon's) is not worth points.
_REFINE_SLACK = 1.05


def track_boxes(track: Track, *, pad_deg: float, box_size_deg: float = 4.0, box_days: float = 30.0,
                topocentric: bool = True) -> np.ndarray:
    """Group consecutive points into boxes ((k, 8): xyz box padded, then MJD start/end).

    A box grows while its points stay within ``box_size_deg`` of its first point and within
    ``box_days``; neighbouring boxes share their end points, so the whole range is covered.
    Each box is padded by ``pad_deg`` plus the largest motion between two of its points (the body
    between two points is within that of one of them), plus, for an observer on the Earth's surface
    (``topocentric``), the largest parallax ``asin(R_earth / delta)``.
    """
    xyz, jd = track.xyz, track.jd
    n = len(jd)
    cos_lim = float(np.cos(np.deg2rad(box_size_deg)))
    motion = np.zeros(n)
    if n > 1:
        motion[1:] = np.rad2deg(np.arccos(np.clip(np.sum(xyz[1:] * xyz[:-1], axis=1), -1, 1)))
    pts, times = xyz.tolist(), jd.tolist()
    starts = [0]
    k = 0
    while k < n - 2:  # greedy, in plain floats (a numpy call per point would cost 20x more)
        fx, fy, fz = pts[k]
        t_first = times[k]
        j = k + 1
        while j < n - 1:
            x, y, z = pts[j + 1]
            if x * fx + y * fy + z * fz < cos_lim or times[j + 1] - t_first > box_days:
                break
            j += 1
        k = j
        if k < n - 1:
            starts.append(k)
    starts = np.asarray(starts)
    ends = np.append(starts[1:], n - 1)
    # Per box: the bounding box of its points (both ends included), padded on every axis by the pad
    # angle in radians (a point within angle a of another differs by at most a in each coordinate).
    lo = np.minimum(np.minimum.reduceat(xyz, starts, axis=0), xyz[ends])
    hi = np.maximum(np.maximum.reduceat(xyz, starts, axis=0), xyz[ends])
    step_max = np.maximum(np.maximum.reduceat(motion, starts), motion[ends])
    pad = np.deg2rad(pad_deg + step_max)
    if topocentric:
        dmin = np.minimum(np.minimum.reduceat(track.delta, starts), track.delta[ends])
        pad = pad + np.arcsin(np.minimum(1.0, _EARTH_RADIUS_AU / dmin))
    boxes = np.empty((len(starts), 8))
    boxes[:, 0:6:2] = np.maximum(lo - pad[:, None], -1.0)
    boxes[:, 1:6:2] = np.minimum(hi + pad[:, None], 1.0)
    boxes[:, 6] = jd[starts] - _MJD
    boxes[:, 7] = jd[ends] - _MJD
    # Boxes carry TDB - UTC (~69 s) on the time axis: widen by 2 minutes so an exposure at a box's edge is kept.
    boxes[:, 6] -= 2.0 / 1440.0
    boxes[:, 7] += 2.0 / 1440.0
    return boxes


def images_of(index, viewer):
    """``(folder, index, viewer)`` a search of ``index`` reads: a :class:`~platform_lib.imageindex.FolderIndex`
    (one's own images: the files' permissions decide, not the release rule) gives its folder (the answer gains
    ``file_path``), its index file and its viewer; any other index comes back as it is, with no folder."""
    if isinstance(index, FolderIndex):
        return index.folder, index.path, index.viewer
    if isinstance(index, (str, os.PathLike)) and not os.fspath(index).strip():  # "" is the current folder
        raise MovingObjectError(f"index is empty ({index!r}): give the image index's path, e.g. 'index.sqlite', or a "
                                "folder of your images (index_folder('~/myimages'))", code="bad-index",
                                value=str(index))
    return None, index, viewer


def with_file_paths(table, folder, names: list):
    """``table`` with ``file_path`` (each row's image file: ``folder`` joined to its ``names``, the index's
    ``file_path`` of each row's image; ``""`` where there is none) when ``folder`` is a folder index's
    (:func:`images_of`), else as it is; the column described as the answer's others are."""
    if folder is not None:
        table["file_path"] = [str(folder / n) if n else "" for n in names] if len(names) else np.array([], "U1")
        describe(table)
    return table


def record_caps(recs: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Bounding caps (unit centres (n, 3), radii (n,) in radians) of the records' footprints or cones."""
    from platform_lib.moving.footprints import record_region

    centres = np.empty((len(recs), 3))
    radii = np.empty(len(recs))
    for k, rec in enumerate(recs):
        kind, shape, radius = record_region(rec)
        if kind == "cone":
            centres[k], radii[k] = shape, radius
        else:
            c = shape.sum(axis=0)
            c /= np.linalg.norm(c)
            centres[k], radii[k] = c, float(np.max(np.arccos(np.clip(shape @ c, -1, 1))))
    return centres, radii


@dataclass
class ImageSearch:
    """The answer of :func:`find_images`: ``table`` (hits and near misses), the track, boxes and counts."""

    table: object
    track: Track
    boxes: np.ndarray
    footprints: dict = field(default_factory=dict)
    stats: dict = field(default_factory=dict)
    body: Body | None = None  # the body followed, from the search's site: the zoomed plot draws its track from there

    def plot(self, **kwargs):
        """All-sky and zoomed views of the track, its boxes and the matched footprints (matplotlib)."""
        from platform_lib.moving.plot import plot_search

        return plot_search(self, **kwargs)

    def sky_layers(self, **kwargs) -> dict:
        """The track, boxes, matched footprints and hits as sky geometry (see
        :func:`platform_lib.moving.plot.sky_layers`); ``platform_lib.viz.show(search)`` draws them in
        the Aladin widget."""
        from platform_lib.moving.plot import sky_layers

        return sky_layers(self, **kwargs)


def find_images(body: str, start, stop, *, index, tolerance=None, site="geocenter", orbits=None,
                viewer: Viewer = Viewer(), solar_system: SolarSystem | None = None, max_step=None,
                box_size=None, max_points: int | None = None) -> ImageSearch:
    """Images of the index that contain ``body`` between ``start`` and ``stop`` (KOA's algorithm).

    Parameters
    ----------
    body
        A planet, ``"moon"``, or an asteroid/comet of ``orbits`` by name or number.
    start, stop
        astropy ``Time``\\s bounding the search (inside the ephemeris: DE421 covers 1900-2050).
    index
        A :class:`~platform_lib.moving.spacetime.SpacetimeIndex`, the image index's path, or a folder of your own
        images (:func:`platform_lib.imageindex.index_folder`'s :class:`~platform_lib.imageindex.FolderIndex`:
        every image in it is searched, whatever ``viewer`` says, and the table gains ``file_path``, each image's file).
    tolerance
        A positive angle (default 10 arcsec): boxes are padded by it; a body outside a footprint
        but within it of the edge is a near miss.
    site
        The observatory (``"keck"``, ``"geocenter"``, an :class:`~platform_lib.moving.Observatory`, an astropy
        ``EarthLocation``).
    orbits
        The orbit catalogue for minor bodies (default: :func:`~platform_lib.moving.orbits.known_orbits`, Debian
        kstars-data's asteroids and comets).
    viewer
        Who asks: proprietary images are searched only for their owner, group, or an admin.
    max_step
        The largest apparent motion between two ephemeris points (default 1 deg; a positive angle).
    box_size
        The largest extent of a space-time box (default 4 deg, a positive angle; boxes last at most 30 days).
    max_points
        Refuse (``too-long``) a track that needs more ephemeris points (default: no limit; the archive
        route sets one, so one request cannot hold the service for long).

    Returns
    -------
    ImageSearch
        ``table`` columns: ``obs_id``, ``hit``, ``t_mid`` (MJD UTC), ``ra``, ``dec`` (predicted,
        deg), ``edge_sep`` (arcsec to the footprint's edge, inside or out), ``centre_sep``
        (arcsec), ``mag``, ``rate`` (arcsec/h), and the record's ``facility_name``,
        ``instrument_name``, ``dataproduct_type``, ``t_min``, ``t_max``.

    Examples
    --------
    >>> from astropy.time import Time
    >>> res = find_images("Pallas", Time("2005-01-01"), Time("2025-01-01"),
    ...                   index="index.sqlite", site="keck")  # doctest: +SKIP
    >>> res.table[res.table["hit"]]  # doctest: +SKIP
    """
    import astropy.units as u
    from astropy.table import Table

    t_start = _time.perf_counter()
    tol_deg = check_tolerance(10 * u.arcsec if tolerance is None else tolerance)
    if not isinstance(index, (FolderIndex, SpacetimeIndex, str, os.PathLike)):
        raise TypeError(f"index must be the image index's path, a SpacetimeIndex or a folder of your images "
                        f"(index_folder('~/myimages')), got {index!r} ({type(index).__name__})")
    folder, index, viewer = images_of(index, viewer)
    if max_points is not None and (not isinstance(max_points, (int, np.integer)) or isinstance(max_points, bool)
                                   or max_points < 2):
        raise MovingObjectError(f"max_points must be a whole number of at least 2 (the most ephemeris points of the "
                                f"track), or None for no limit; got {max_points!r}", code="bad-max-points",
                                value=str(max_points))
    ss = solar_system or SolarSystem.default()
    ends = []
    for label, when in (("start", start), ("stop", stop)):
        jd = as_jd_tdb(when, label)
        if len(jd) != 1:
            raise MovingObjectError(f"{label} must be one time, got {len(jd)} ({when!r}); give start and stop as "
                                    "scalar Times, e.g. Time('2020-01-01')", code="bad-time", value=str(when))
        ends.append(float(jd[0]))
    jd0, jd1 = ends
    if not jd1 > jd0:
        swapped = "; swap them" if jd1 < jd0 else ""
        raise MovingObjectError(f"the search range is empty: start {start} is not before stop {stop}{swapped}",
                                code="bad-time", value=f"{start}..{stop}")
    for label, jd in (("start", jd0), ("stop", jd1)):  # the error names the end outside
        ss.check_range(np.array([jd]), label)
    site = observatory(site)
    target = Body(body, orbits, ss, site)
    # a zero or negative step split nothing (the track stayed daily) and a negative box was taken as positive
    max_step_deg = 1.0 if max_step is None else check_tolerance(max_step, "max_step", "1 * u.deg")
    box_deg = 4.0 if box_size is None else check_tolerance(box_size, "box_size", "4 * u.deg")
    track = tabulate(target, jd0, jd1, max_step_deg=max_step_deg, max_points=max_points)
    t_track = _time.perf_counter()
    boxes = track_boxes(track, pad_deg=tol_deg, box_size_deg=box_deg, topocentric=not site.geocentric)
    idx = index if isinstance(index, SpacetimeIndex) else SpacetimeIndex(index)
    cand = idx.candidates(boxes)
    t_index = _time.perf_counter()
    recs = [r for r in idx.records(cand, viewer) if r["t_min"] is not None]
    rows = []
    footprints = {}
    files = {}
    if recs:
        t_min = np.array([r["t_min"] for r in recs], float)
        t_max = np.array([r["t_max"] if r["t_max"] is not None else r["t_min"] for r in recs], float)
        mid_mjd = (t_min + t_max) / 2.0
        mid = mjd_utc_to_jd_tdb(mid_mjd)
        keep = (mid >= jd0) & (mid <= jd1)
        # Cheap first: geocentric positions against each footprint's bounding cap, widened by the
        # tolerance and the largest parallax; the site's (Earth rotation, costly) only for the rest.
        xyz, _, _, delta = target.positions(mid, "geocenter")
        centres, radii = record_caps(recs)
        margin = radii + np.deg2rad(tol_deg) + np.arcsin(np.minimum(1.0, _EARTH_RADIUS_AU / delta)) + 1e-9
        keep &= np.einsum("ij,ij->i", xyz, centres) >= np.cos(np.minimum(margin, np.pi))
        rows_k = np.flatnonzero(keep)
        if len(rows_k):
            xyz, rate, mag, _ = target.positions(mid[rows_k], site)
        for j, k in enumerate(rows_k):
            rec = recs[k]
            is_in, edge, centre = place(rec, xyz[j])
            edge_deg = np.rad2deg(edge)
            if not is_in and edge_deg > tol_deg:
                continue
            ra = float(np.rad2deg(np.arctan2(xyz[j, 1], xyz[j, 0])) % 360.0)
            dec = float(np.rad2deg(np.arcsin(np.clip(xyz[j, 2], -1, 1))))
            rows.append((rec["obs_id"], is_in, mid_mjd[k], ra, dec, edge_deg * 3600.0, np.rad2deg(centre) * 3600.0,
                         float(mag[j]), float(rate[j]) * 3600.0 / 24.0, rec["facility_name"], rec["instrument_name"],
                         rec["dataproduct_type"], rec["t_min"], rec["t_max"]))
            footprints[rec["obs_id"]] = rec["vertices"]
            files[rec["obs_id"]] = rec["file_path"]
    names = ("obs_id", "hit", "t_mid", "ra", "dec", "edge_sep", "centre_sep", "mag", "rate", "facility_name",
             "instrument_name", "dataproduct_type", "t_min", "t_max")
    # text columns as wide as their longest value: an obs_id is the file's path under the archive's images
    # (U64 cut longer ones, and the cut obs_id was "not in the index" to bodies_in_image and the archive)
    dtypes = (str, bool, float, float, float, float, float, float, float, str, str, str, float, float)
    rows.sort(key=lambda r: r[2])
    table = Table(rows=rows if rows else None, names=names, dtype=dtypes)
    with_file_paths(table, folder, [files[o] for o in table["obs_id"]])
    describe(table)
    stats = {"points": len(track.jd), "boxes": len(boxes), "candidates": int(len(cand)),
             "hits": int(sum(r[1] for r in rows)), "near_misses": int(sum(not r[1] for r in rows)),
             "ephemeris_s": t_track - t_start, "index_s": t_index - t_track, "total_s": _time.perf_counter() - t_start}
    table.meta.update({"body": target.name, "site": site.name, "tolerance_arcsec": tol_deg * 3600.0,
                       **{k: v for k, v in stats.items() if not k.endswith("_s")}})
    return ImageSearch(table, track, boxes, footprints, stats, target)
