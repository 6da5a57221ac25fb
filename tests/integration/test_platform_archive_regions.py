"""Footprints of images whose WCS is not ICRS, as a user asks the running archive about them through TAP (pyvo
behind the hub's proxy, with her own token): the sample image of the Galactic plane (MAGPIS, ``GLON``/``GLAT``) and
the sample NGC 1316 plate (FK4 B1950). ``AREA(s_region)`` is the area astropy and mocpy give the image's outline once
astropy has moved its corners to ICRS, ``CONTAINS(POINT, s_region)`` holds at points just inside each corner (given in
ICRS, and in the image's own frame, which the service converts), and the row's ``s_region`` is those corners. Were the
frame conversion of the footprint removed, the outline would sit at the image's own numbers taken as RA/Dec (the
Galactic image 94 degrees away, the B1950 one 0.4 degree) and every check below would miss it.

The answers are computed here, independently of the platform, from the same FITS files: astropy's WCS and frames
for the corners, mocpy for the area and for which points the outline holds.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import requests

#: The sample images in another frame: obs_id -> (the HDU with the image, the image's frame in ADQL).
NON_ICRS = {"sample/g10.5_magpis_effelsberg": (0, "GALACTIC"), "sample/ngc1316_optical": (1, "FK4")}


def _expected(path, hdu: int):
    """``(ICRS corners as an (4, 2) array, points 5 pixels inside each corner in the image's own frame as a
    SkyCoord, the same points in ICRS, the outline's MOC)`` from the image's own WCS, by astropy and mocpy."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord
    from astropy.io import fits
    from astropy.wcs import WCS
    from astropy.wcs.utils import wcs_to_celestial_frame
    from mocpy import MOC

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FITS header fixes, ERFA's dubious year for B1950
        wcs = WCS(fits.getheader(path, hdu)).celestial
        frame = wcs_to_celestial_frame(wcs)
        corners = SkyCoord(wcs.calc_footprint(center=False) * u.deg, frame=frame).icrs  # the outer pixel edges' corners
        nx, ny = wcs.pixel_shape
        px, py = np.array([4.5, nx - 5.5, nx - 5.5, 4.5]), np.array([4.5, 4.5, ny - 5.5, ny - 5.5])
        native = wcs.pixel_to_world(px, py)
        icrs = native.icrs
    moc = MOC.from_polygon_skycoord(corners, max_depth=18)
    return np.column_stack([corners.ra.deg, corners.dec.deg]), native, icrs, moc


def _point(coord, frame: str, k: int) -> str:
    lon, lat = (coord.ra.deg[k], coord.dec.deg[k]) if frame in ("ICRS", "FK4") else (coord.l.deg[k], coord.b.deg[k])
    return f"POINT('{frame}', {float(lon)!r}, {float(lat)!r})"


def test_area_and_contains_of_images_in_galactic_and_fk4_frames_are_where_astropy_puts_them(platform, poll):
    import astropy.units as u
    import pyvo

    from platform_lib.imageindex.sregion import read_s_region
    from platform_lib.sampledata import MARKER

    if not platform.config.archive.enabled:
        pytest.skip("the archive service is not enabled in this platform")
    poll((platform.data_dir / "datasets" / MARKER).exists, 300, "the sample data load")
    user = platform.unique("regions")
    platform.create_user(user)
    session = requests.Session()
    session.headers["Authorization"] = f"token {platform.user_token(user)}"
    svc = pyvo.dal.TAPService(f"{platform.url}services/archive/tap", session=session)
    ids = ", ".join(f"'{o}'" for o in NON_ICRS)
    rows = svc.run_sync(f"SELECT obs_id, s_region, AREA(s_region) AS area FROM ivoa.obscore WHERE obs_id IN ({ids})"
                        ).to_table()
    assert sorted(rows["obs_id"]) == sorted(NON_ICRS), rows
    for row in rows:
        obs_id = str(row["obs_id"])
        hdu, frame = NON_ICRS[obs_id]
        path = platform.data_dir / "datasets" / "images" / f"{obs_id}.fits"
        corners, native, icrs, moc = _expected(path, hdu)
        # the row's outline has the image's corners in ICRS (astropy's) for vertices, within 0.1" (and more vertices
        # where a projection's edge is no great circle: the NGC 1316 plate's SIN edges)
        outline = read_s_region(str(row["s_region"])).vertices()
        for ra, dec in corners:
            sep = np.hypot(((outline[:, 0] - ra + 180) % 360 - 180) * np.cos(np.radians(dec)), outline[:, 1] - dec)
            assert sep.min() * 3600 < 0.1, (obs_id, ra, dec, row["s_region"])
        # AREA() is the area of that outline: mocpy's cover of it at 0.8" cells, within 1 %
        mocpy_area = moc.sky_fraction * 4 * np.pi * u.sr.to(u.deg**2)
        assert float(row["area"]) == pytest.approx(mocpy_area, rel=0.01), (obs_id, row["area"], mocpy_area)
        # CONTAINS(POINT, s_region) holds just inside each corner, the point given in ICRS or in the image's frame
        assert moc.contains_lonlat(icrs.ra, icrs.dec).all()
        for k in range(4):
            for point in (_point(icrs, "ICRS", k), _point(native, frame, k)):
                found = svc.run_sync(f"SELECT obs_id FROM ivoa.obscore WHERE 1 = CONTAINS({point}, s_region)").to_table()
                assert obs_id in list(found["obs_id"]), (obs_id, point, list(found["obs_id"]))
