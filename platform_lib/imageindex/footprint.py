"""Image footprints: the sky outline of an image from its WCS, or a padded box around its pointing.

Pure functions of a FITS header (no file I/O). The WCS path uses ``astropy.wcs`` with ``relax=True``
and ``fix=True``, so legacy keywords (CDELT + CROTA, PC001001, DSS plate solutions translated by
wcslib) and SIP distortion are honoured; the outline follows the outer pixel edges, transformed with
``all_pix2world`` (distortion included), then to ICRS from the WCS's own frame (:func:`celestial_frame`: astropy's
reader, with ecliptic and supergalactic axes read from CTYPE) when it is Galactic, supergalactic, ecliptic, FK4 or
FK5 of an equinox other than J2000 (FK5 J2000 is taken as ICRS). An edge
is one great-circle arc when the WCS maps it to one (plain TAN: the four corners); a distorted edge
(SIP of any order, TPV, plate solutions) is cut where needed so that the WCS at every quarter pixel
along it lies within :data:`EDGE_TOLERANCE_ARCSEC` of the polygon. Headers
without a usable celestial WCS fall back to the pointing keywords plus the instrument's field of
view from its mapping, padded (as the Keck Observatory Archive does).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from platform_lib.imageindex.sphere import Polygon

__all__ = ["Footprint", "celestial_frame", "footprint_from_wcs", "footprint_from_pointing", "hull_footprint", "parse_angle"]


#: The most a point of an image's true edge may lie off its footprint polygon (arcsec); the polygon
#: is checked against 0.05" on every edge pixel of distorted images in the tests.
EDGE_TOLERANCE_ARCSEC = 0.01
_MAX_VERTICES_PER_EDGE = 256
#: WCS samples per pixel along each edge when looking for where a distorted edge needs vertices.
_SAMPLES_PER_PIXEL = 4


def _xyz(lon, lat) -> np.ndarray:
    lon, lat = np.radians(lon), np.radians(lat)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


def _edge_vertices(to_world, x0, y0, x1, y1) -> list[float]:
    """Parameters ``t`` in [0, 1) along the pixel edge (x0, y0) -> (x1, y1) where the outline needs a vertex.

    The WCS is evaluated at every quarter pixel along the edge (so on every edge pixel's corners and
    between them); then, Douglas-Peucker fashion, the arc whose samples lie farthest off its great circle
    is split at that sample, until every sample is within :data:`EDGE_TOLERANCE_ARCSEC` of its arc or
    the edge has :data:`_MAX_VERTICES_PER_EDGE` vertices. An undistorted edge stays one arc.
    """
    import heapq

    tol = np.radians(EDGE_TOLERANCE_ARCSEC / 3600)
    length = math.hypot(x1 - x0, y1 - y0)
    t = np.linspace(0.0, 1.0, max(int(math.ceil(length * _SAMPLES_PER_PIXEL)), 8) + 1)
    xyz = _xyz(*to_world(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t))

    def worst(i: int, j: int) -> tuple[float, int]:
        """The largest distance (rad) of samples i+1..j-1 off the great circle through i and j, and where."""
        if j - i < 2:
            return 0.0, i
        normal = np.cross(xyz[i], xyz[j])
        norm = np.linalg.norm(normal)
        inner = xyz[i + 1:j]
        off = np.abs(inner @ (normal / norm)) if norm > 0 else np.arccos(np.clip(inner @ xyz[i], -1, 1))
        k = int(np.argmax(off))
        return float(off[k]), i + 1 + k

    cuts = [0, len(t) - 1]
    off, at = worst(0, len(t) - 1)
    heap = [(-off, 0, len(t) - 1, at)]
    while heap and -heap[0][0] > tol and len(cuts) <= _MAX_VERTICES_PER_EDGE:
        _, i, j, k = heapq.heappop(heap)
        cuts.append(k)
        for a, b in ((i, k), (k, j)):
            off, at = worst(a, b)
            heapq.heappush(heap, (-off, a, b, at))
    return [float(t[k]) for k in sorted(cuts)[:-1]]


def _outline(to_world, nx: float, ny: float) -> tuple[np.ndarray, np.ndarray]:
    """RA/Dec (or lon/lat) of the outline vertices of an ``nx`` x ``ny`` image, counter-clockwise in pixels."""
    corners = [(-0.5, -0.5), (nx - 0.5, -0.5), (nx - 0.5, ny - 0.5), (-0.5, ny - 0.5)]
    px, py = [], []
    for i in range(4):
        (x0, y0), (x1, y1) = corners[i], corners[(i + 1) % 4]
        for t in _edge_vertices(to_world, x0, y0, x1, y1):
            px.append(x0 + (x1 - x0) * t)
            py.append(y0 + (y1 - y0) * t)
    lon, lat = to_world(np.array(px), np.array(py))
    return np.asarray(lon, float), np.asarray(lat, float)


@dataclass(frozen=True)
class Footprint:
    """Outline vertices (RA, Dec in degrees, ICRS) and how they were derived (``"wcs"`` or ``"pointing"``).

    Four corners for a box or an undistorted image; more along the edges of a distorted one.
    """

    ra: tuple[float, ...]
    dec: tuple[float, ...]
    method: str
    pixel_scale_deg: float | None = None
    #: Pixels along the image's two sky axes (ObsCore ``s_xel1``, ``s_xel2``), from its WCS; ``None`` otherwise.
    sky_pixels: tuple[int, int] | None = None

    @property
    def polygon(self) -> Polygon:
        return Polygon(self.ra, self.dec)


def celestial_frame(wcs):
    """The astropy frame of a celestial WCS's positions, or None where astropy names none: astropy's own reader
    (``wcs_to_celestial_frame``: RADESYS and EQUINOX as wcslib completes them, FK4 B1950 for ``EQUINOX = 1950``
    and no ``RADESYS``, the FITS standard's rule; ``GLON`` Galactic), except where the longitude axis's CTYPE says
    otherwise, which astropy reads past: ``ELON``/``HLON`` are ecliptic longitudes (the mean ecliptic and equinox
    of the WCS's EQUINOX, J2000 without one; astropy took them for RA in ICRS, as wcslib fills in RADESYS for
    them), ``SLON`` supergalactic (astropy names no frame). The FITS viewer (``astrohub_server.fitsview._frame``,
    which never imports platform_lib) names the same frame; ``tests/unit/test_fits_sky_axes.py`` checks both agree
    on the sample images."""
    from astropy.coordinates import BarycentricMeanEcliptic, Supergalactic
    from astropy.time import Time
    from astropy.wcs.utils import wcs_to_celestial_frame

    lon_type = str(wcs.wcs.ctype[wcs.wcs.lng]).split("-")[0].upper()
    if lon_type in ("ELON", "HLON"):
        equinox = float(wcs.wcs.equinox)
        return BarycentricMeanEcliptic(equinox=Time(equinox if math.isfinite(equinox) else 2000.0, format="jyear"))
    if lon_type == "SLON":
        return Supergalactic()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ERFA's dubious years for an old equinox
        try:
            return wcs_to_celestial_frame(wcs)
        except ValueError:  # GAPPT, a planet's own frame: none astropy names
            return None


def _icrs_outline(cel, lon, lat):
    """The outline in ICRS from the WCS's own frame (:func:`celestial_frame`; FK5 J2000 is taken as ICRS, within
    0.03", as the archive's catalogues are; an equatorial WCS of a frame astropy does not name, as ICRS), or None
    for a sky that is neither equatorial nor a frame astropy names (the outline's numbers are no RA/Dec)."""
    import astropy.units as u
    from astropy.coordinates import FK5, ICRS, SkyCoord

    frame = celestial_frame(cel)
    if frame is None:
        return (lon, lat) if str(cel.wcs.ctype[cel.wcs.lng]).upper().startswith("RA") else None
    if isinstance(frame, ICRS) or (isinstance(frame, FK5) and frame.equinox.jyear == 2000.0):
        return lon, lat
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ERFA's dubious years for an old equinox, FK4's obstime notes
        sc = SkyCoord(np.asarray(lon) * u.deg, np.asarray(lat) * u.deg, frame=frame).icrs
    return sc.ra.deg, sc.dec.deg


def footprint_from_wcs(header) -> Footprint | None:
    """The outline from the header's celestial WCS (corners, plus edge points where it is distorted), or ``None``."""
    from astropy.wcs import WCS

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            wcs = WCS(header, relax=True, fix=True)
        except Exception:
            return None
        if not wcs.has_celestial:
            return None
        # the sky axes wherever the header puts them (a radio cube's CTYPE1 may be FREQ, its RA---SIN NAXIS2 or
        # NAXIS3); wcs.celestial keeps those two in header order, a FITS world axis going with its pixel axis
        sky_axes = sorted((int(wcs.wcs.lng), int(wcs.wcs.lat)))
        lengths = [header.get(f"ZNAXIS{k + 1}") or header.get(f"NAXIS{k + 1}") for k in sky_axes]
        if not all(lengths):
            return None
        cel = wcs.celestial if wcs.naxis > 2 else wcs
        nx, ny = float(lengths[0]), float(lengths[1])
        lng_axis, lat_axis = cel.wcs.lng, cel.wcs.lat  # the header's order: DEC--TAN may be the first axis

        def to_world(x, y):
            world = cel.all_pix2world(x, y, 0)
            return world[lng_axis], world[lat_axis]

        # Outer pixel edges, 0-based pixel coordinates (pixel centres are integers).
        try:
            lon, lat = _outline(to_world, nx, ny)
        except Exception:
            return None
    if not (np.all(np.isfinite(lon)) and np.all(np.isfinite(lat))) or np.any(np.abs(lat) > 90):
        return None
    outline = _icrs_outline(cel, lon, lat)
    if outline is None:
        return None
    lon, lat = outline
    scale = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from astropy.wcs.utils import proj_plane_pixel_scales

            scale = float(np.mean(np.abs(proj_plane_pixel_scales(cel))))
    except Exception:
        scale = None
    return Footprint(tuple(float(x) % 360.0 for x in lon), tuple(float(x) for x in lat), "wcs", scale,
                     (int(lengths[0]), int(lengths[1])))


def hull_footprint(footprints: list[Footprint]) -> Footprint:
    """The convex hull of several footprints' corners (a multi-extension mosaic's detectors).

    Computed in the gnomonic projection at the corners' mean direction, where great circles are
    straight lines, so the hull is exact on the sphere; valid for mosaics smaller than a hemisphere.
    """
    from platform_lib.imageindex.sphere import radec_to_xyz, xyz_to_radec

    if len(footprints) == 1:
        return footprints[0]
    xyz = np.concatenate([radec_to_xyz(np.array(f.ra), np.array(f.dec)) for f in footprints])
    c = xyz.mean(axis=0)
    c /= np.linalg.norm(c)
    e1 = np.cross([0.0, 0.0, 1.0], c) if abs(c[2]) < 0.9 else np.cross([1.0, 0.0, 0.0], c)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(c, e1)
    w = xyz @ c
    pts = sorted(set(zip(((xyz @ e1) / w).round(12).tolist(), ((xyz @ e2) / w).round(12).tolist())))

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list = []
    upper: list = []
    for p in pts:  # Andrew's monotone chain, counter-clockwise
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    hull = np.array(lower[:-1] + upper[:-1])
    v = c[None, :] + hull[:, :1] * e1[None, :] + hull[:, 1:] * e2[None, :]
    ra, dec = xyz_to_radec(v / np.linalg.norm(v, axis=1)[:, None])
    scales = [f.pixel_scale_deg for f in footprints if f.pixel_scale_deg]
    return Footprint(tuple(float(x) for x in ra), tuple(float(x) for x in dec), footprints[0].method,
                     scales[0] if scales else None)


def footprint_from_pointing(ra_deg: float, dec_deg: float, fov_deg, pad_deg: float = 0.0) -> Footprint:
    """A box of ``fov_deg`` (one value or ``(width, height)``) plus ``pad_deg`` on each side.

    The box is aligned with RA/Dec in the tangent plane at the pointing; ``pad_deg`` should cover
    the unknown position angle and pointing error.
    """
    if np.ndim(fov_deg) == 0:
        w = h = float(fov_deg)
    else:
        w, h = (float(x) for x in fov_deg)
    hw = math.radians(w / 2 + pad_deg)
    hh = math.radians(h / 2 + pad_deg)
    ra0, dec0 = math.radians(ra_deg), math.radians(dec_deg)
    ras, decs = [], []
    for xi, eta in ((-hw, -hh), (hw, -hh), (hw, hh), (-hw, hh)):
        # Inverse gnomonic projection.
        x, y = math.tan(xi), math.tan(eta)
        denom = math.cos(dec0) - y * math.sin(dec0)
        ra = ra0 + math.atan2(x, denom)
        dec = math.atan2(math.sin(dec0) + y * math.cos(dec0), math.hypot(x, denom))
        ras.append(math.degrees(ra) % 360.0)
        decs.append(math.degrees(dec))
    return Footprint(tuple(ras), tuple(decs), "pointing", None)


def parse_angle(value, *, hours: bool = False) -> float | None:
    """Degrees from a number or a sexagesimal string (``"14:29:56.0"``, ``"-62 41 05"``).

    ``hours`` says that sexagesimal (not decimal) values are hours of RA.
    """
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    parts = text.replace(":", " ").replace("h", " ").replace("d", " ").replace("m", " ").replace("s", " ").split()
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        return None
    if not nums:
        return None
    sign = -1.0 if text.lstrip().startswith("-") else 1.0
    deg = abs(nums[0]) + (nums[1] if len(nums) > 1 else 0) / 60 + (nums[2] if len(nums) > 2 else 0) / 3600
    deg *= sign
    return deg * 15.0 if hours else deg
