"""Footprints and mappings on real FITS headers: SIP against astropy, the DSS plate fallback, mosaics, CFHT.

Real files: astropy's ``sip-wcs.fits`` (TAN-SIP) and ``dss.14.29.56-62.41.05.fits.gz`` (DSS plate
solution), astroquery's CADC ``query_images.fits`` (a CFHT MegaPrime CCD cut-out). The mosaic is
two detectors written here with known WCS.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import astropy
import astroquery
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.time import Time
from astropy.wcs import WCS

from platform_lib.imageindex import load_mappings
from platform_lib.imageindex.footprint import footprint_from_wcs
from platform_lib.imageindex.ingest import read_record, record_from_header
from platform_lib.imageindex.sphere import xyz_to_radec

ASTROPY = Path(astropy.__file__).parent
SIP = ASTROPY / "nddata/tests/data/sip-wcs.fits"
DSS = ASTROPY / "wcs/tests/data/dss.14.29.56-62.41.05.fits.gz"
CFHT = Path(astroquery.__file__).parent / "cadc/tests/data/query_images.fits"


def worst_corner_arcsec(ra, dec, expected) -> float:
    """The largest distance between our corners and ``expected`` (n, 2), taken in the same order."""
    got = SkyCoord(np.asarray(ra), np.asarray(dec), unit="deg")
    want = SkyCoord(expected[:, 0], expected[:, 1], unit="deg")
    return float(np.max(got.separation(want).arcsec))


def _wcs_and_footprint(header):
    """The header's astropy WCS (its warnings about the header silenced) and our footprint of it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = WCS(header)
    return w, footprint_from_wcs(header)


def test_sip_footprint_matches_astropy_calc_footprint():
    header = fits.getheader(SIP)
    assert header["CTYPE1"].endswith("-SIP")
    w, fp = _wcs_and_footprint(header)
    assert fp.method == "wcs"
    # calc_footprint walks (1,1), (1,n2), (n1,n2), (n1,1); ours (1,1), (n1,1), (n1,n2), (1,n2).
    order = [0, 3, 2, 1]
    expected = w.calc_footprint(undistort=True, center=False)[order]  # pixel edges, SIP applied
    assert worst_corner_arcsec(fp.ra, fp.dec, expected) < 1e-4
    # The SIP terms of this small image move its corners by ~1.5 mas: more than the tolerance, so
    # a footprint that ignored the distortion would fail the line above.
    linear = w.calc_footprint(undistort=False, center=False)[order]
    assert worst_corner_arcsec(fp.ra, fp.dec, linear) > 1e-3


def test_sip_record_says_wcs(tmp_path):
    rec, _ = read_record(SIP, "sip.fits", load_mappings())
    assert rec["footprint_method"] == "wcs" and rec["obs_id"] == "sip"


def test_dss_fallback_pointing_is_the_plate_centre():
    header = fits.getheader(DSS)
    stripped = header.copy()
    for key in list(stripped):
        if key.startswith(("CTYPE", "CRVAL", "CRPIX", "CDELT", "CD1_", "CD2_", "PC", "CROTA", "AMDX", "AMDY",
                           "PLTSCALE", "PPO", "XPIXELSZ", "YPIXELSZ", "CNPIX", "OBJCTRA", "OBJCTDEC")):
            del stripped[key]
    assert footprint_from_wcs(stripped) is None
    rec, _ = record_from_header(stripped, load_mappings())
    assert rec["mapping"] == "dss" and rec["footprint_method"] == "pointing"
    # PLTRAH/M/S = 14 37 46.88, PLTDECSN/D/M/S = - 60 12 59.29: (219.445, -60.216); the old mapping
    # read PLTRAH (hours) as degrees and dropped the minutes, seconds and sign.
    centre = SkyCoord(rec["s_ra"], rec["s_dec"], unit="deg")
    assert centre.separation(SkyCoord(219.4454, -60.2165, unit="deg")).deg < 0.01
    assert rec["s_fov"] > 6.5  # the plate, padded


def test_public_survey_plates_are_released_when_observed_or_on_their_release_date():
    """The dss, ukirt_wfcam and vla_first mappings set release_date to MJD 0, their "public from the start": TAP,
    SIA and DataLink showed obs_release_date 1858-11-17. A survey image is now public from its observation
    (proprietary_months 0) or from the date its header says (RELEASE / DATE-REL, which the sample loader writes)."""
    header = fits.getheader(DSS)  # observed 1976-03-11 17:38 UT (DATE-OBS dd/mm/yy, UT)
    rec, _ = record_from_header(header, load_mappings())
    assert rec["mapping"] == "dss"
    assert rec["release_date"] == rec["t_min"] == pytest.approx(Time("1976-03-11T17:38:00", scale="utc").mjd)
    header["DATE-REL"] = "2026-12-06"
    rec, _ = record_from_header(header, load_mappings())
    assert rec["release_date"] == pytest.approx(Time("2026-12-06", scale="utc").mjd)


def test_cfht_megaprime_real_image():
    rec, _ = read_record(CFHT, "cfht/query_images.fits", load_mappings())
    assert rec["mapping"] == "cfht_megaprime" and rec["footprint_method"] == "wcs"
    assert (rec["obs_collection"], rec["instrument_name"], rec["target_name"]) == ("CFHT", "MegaPrime", "SA 110")
    assert rec["em_min"] == pytest.approx(4.14e-7) and rec["em_max"] == pytest.approx(5.59e-7)  # g.MP9401
    assert rec["t_min"] == pytest.approx(53582.4133168)
    assert rec["t_exptime"] == pytest.approx(2.046)
    assert (rec["owner"], rec["owner_group"]) == ("QSO Team", "05AQ97")
    assert rec["release_date"] == pytest.approx(53582.4133168 + 12 * 30.4375)
    h = fits.getheader(CFHT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        centre = WCS(h).pixel_to_world((h["NAXIS1"] - 1) / 2, (h["NAXIS2"] - 1) / 2)
    assert SkyCoord(rec["s_ra"], rec["s_dec"], unit="deg").separation(centre).arcsec < 0.5
    assert rec["s_resolution"] == pytest.approx(0.187, abs=0.005)  # arcsec per pixel


def _detector(ra, dec, **extra):
    h = fits.Header()
    h.update(CTYPE1="RA---TAN", CTYPE2="DEC--TAN", CRVAL1=ra, CRVAL2=dec, CRPIX1=50.5, CRPIX2=50.5,
             CDELT1=-0.001, CDELT2=0.001, **extra)
    return fits.ImageHDU(np.zeros((100, 100), np.float32), header=h)


def write_mosaic(path: Path) -> None:
    primary = fits.PrimaryHDU()
    primary.header.update(TELESCOP="MOSAICSCOPE", OBJECT="M1", RELEASE="2000-01-01")
    fits.HDUList([primary, _detector(150.0, 2.0), _detector(150.2, 2.0)]).writeto(path)


def test_multi_extension_footprint_is_the_hull_of_the_detectors(tmp_path):
    write_mosaic(tmp_path / "mosaic.fits")
    rec, xyz = read_record(tmp_path / "mosaic.fits", "mosaic.fits", load_mappings())
    assert rec["target_name"] == "M1" and rec["footprint_method"] == "wcs"
    corners = []
    with fits.open(tmp_path / "mosaic.fits") as hdul:
        for hdu in hdul[1:]:
            fp = footprint_from_wcs(hdu.header)
            corners += list(zip(fp.ra, fp.dec))
    corners = SkyCoord(*np.array(corners).T, unit="deg")
    hull = SkyCoord(*xyz_to_radec(xyz), unit="deg")
    # Every hull vertex is a detector corner, and the four outer corners are all vertices. (The
    # inner bottom corners are vertices too: the great circle between the outer ones bulges north.)
    assert all(corners.separation(v).arcsec.min() < 1e-3 for v in hull)
    for i in (1, 2, 4, 7):  # detector 1 west corners, detector 2 east corners (CDELT1 < 0)
        assert hull.separation(corners[i]).arcsec.min() < 1e-3
    assert rec["s_ra"] == pytest.approx(150.1, abs=1e-3)
    assert rec["s_fov"] > 0.3  # spans both detectors, not one (0.1 deg)


def test_mapping_hdu_key_picks_one_extension(tmp_path):
    write_mosaic(tmp_path / "mosaic.fits")
    mapdir = tmp_path / "maps"
    mapdir.mkdir()
    (mapdir / "mosaicscope.json").write_text(json.dumps({
        "name": "mosaicscope", "match": {"TELESCOP": "MOSAICSCOPE"}, "hdu": 2,
        "columns": {"obs_collection": {"value": "MOS"}, "release_date": {"value": 0}}}))
    rec, _ = read_record(tmp_path / "mosaic.fits", "mosaic.fits", load_mappings([mapdir]))
    assert rec["mapping"] == "mosaicscope" and rec["s_ra"] == pytest.approx(150.2, abs=1e-6)
    (mapdir / "mosaicscope.json").write_text(json.dumps({
        "name": "mosaicscope", "match": {"TELESCOP": "MOSAICSCOPE"}, "hdu": 7, "columns": {}}))
    with pytest.raises(ValueError, match="hdu 7"):
        read_record(tmp_path / "mosaic.fits", "mosaic.fits", load_mappings([mapdir]))


ACS = ASTROPY / "wcs/tests/data/j94f05bgq_flt.fits"


def _acs_header():
    """The HST ACS/WFC chip 1 WCS of astropy's j94f05bgq_flt.fits (TAN-SIP, 4th order), at its full 4096 x 2048."""
    header = fits.getheader(ACS, 1)
    header["NAXIS1"], header["NAXIS2"] = 4096, 2048  # the test file keeps the WCS but not the pixels
    return header


def _edge_pixels(nx, ny, per_pixel=1):
    """Points along the image's outer pixel edges: every pixel corner, and ``per_pixel - 1`` more between."""
    t, s = np.arange(nx * per_pixel + 1) / per_pixel - 0.5, np.arange(ny * per_pixel + 1) / per_pixel - 0.5
    px = np.concatenate([t, np.full(s.size, nx - 0.5), t[::-1], np.full(s.size, -0.5)])
    py = np.concatenate([np.full(t.size, -0.5), s, np.full(t.size, ny - 0.5), s[::-1]])
    return px, py


def _arcsec_to_outline(p, v):
    """Each point's angular distance (arcsec) to the closed polygon of unit vectors ``v`` (great-circle edges)."""
    best = np.full(len(p), np.inf)
    for i in range(len(v)):
        a, b = v[i], v[(i + 1) % len(v)]
        n = np.cross(a, b)
        n /= np.linalg.norm(n)
        on_arc = (np.cross(a, p) @ n >= 0) & (np.cross(p, b) @ n >= 0)
        to_circle = np.abs(np.arcsin(np.clip(p @ n, -1, 1)))
        to_ends = np.minimum(np.arccos(np.clip(p @ a, -1, 1)), np.arccos(np.clip(p @ b, -1, 1)))
        best = np.minimum(best, np.where(on_arc, to_circle, to_ends))
    return np.degrees(best) * 3600


def test_distorted_footprint_follows_every_edge_pixel_within_50_mas():
    """HST ACS with SIP: the true edge bulges up to 0.5" past the corners' straight hull (issue 17, item 7)."""
    from platform_lib.imageindex.sphere import radec_to_xyz

    header = _acs_header()
    w, fp = _wcs_and_footprint(header)
    ra, dec = w.all_pix2world(*_edge_pixels(4096, 2048), 0)
    edge = radec_to_xyz(np.asarray(ra), np.asarray(dec))
    off = _arcsec_to_outline(edge, radec_to_xyz(np.array(fp.ra), np.array(fp.dec)))
    assert off.max() < 0.05
    corners = w.all_pix2world([-0.5, 4095.5, 4095.5, -0.5], [-0.5, -0.5, 2047.5, 2047.5], 0)
    assert _arcsec_to_outline(edge, radec_to_xyz(*map(np.asarray, corners))).max() > 0.3  # what four corners gave
    assert len(fp.ra) < 60  # 28


def test_positions_just_inside_a_distorted_edge_are_inside_the_footprint():
    """Points two pixels (0.1") inside the ACS chip's edges are all inside its footprint polygon."""
    from platform_lib.imageindex.sphere import radec_to_xyz

    header = _acs_header()
    w, fp = _wcs_and_footprint(header)
    px, py = _edge_pixels(4094 - 2, 2046 - 2)
    px, py = (px + 2.5)[::23], (py + 2.5)[::23]  # the outline of pixels 2..4093 x 2..2045, sampled
    ra, dec = w.all_pix2world(px, py, 0)
    poly = fp.polygon
    inside = [poly.contains_point(p) for p in radec_to_xyz(np.asarray(ra), np.asarray(dec))]
    assert all(inside), f"{inside.count(False)} of {len(inside)} positions just inside the edge missed"


def test_undistorted_image_keeps_four_corners():
    header = fits.Header({"NAXIS": 2, "NAXIS1": 2048, "NAXIS2": 1024, "CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN",
                          "CRVAL1": 150.0, "CRVAL2": 2.0, "CRPIX1": 1024.5, "CRPIX2": 512.5,
                          "CD1_1": -0.2 / 3600, "CD1_2": 0.0, "CD2_1": 0.0, "CD2_2": 0.2 / 3600})
    assert len(footprint_from_wcs(header).ra) == 4


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def _sip_headers(draw):
    """A TAN-SIP header with random size, pointing (poles and RA 0 included), rotation and distortion."""
    nx, ny = draw(st.integers(50, 1500)), draw(st.integers(50, 1500))
    order = draw(st.integers(2, 5))  # every order up to 5th (astropy accepts up to 9)
    scale = draw(st.sampled_from([0.05, 0.2, 1.0])) / 3600
    angle = np.radians(draw(st.floats(0, 360)))
    header = fits.Header({
        "NAXIS": 2, "NAXIS1": nx, "NAXIS2": ny, "CTYPE1": "RA---TAN-SIP", "CTYPE2": "DEC--TAN-SIP",
        "CRVAL1": draw(st.sampled_from([0.0, 45.0, 359.99, 180.0])), "CRVAL2": draw(st.sampled_from([0.0, 89.9, -89.95, 30.0])),
        "CRPIX1": nx / 2 + draw(st.floats(-20, 20)), "CRPIX2": ny / 2 + draw(st.floats(-20, 20)),
        "CD1_1": -scale * np.cos(angle), "CD1_2": scale * np.sin(angle),
        "CD2_1": scale * np.sin(angle), "CD2_2": scale * np.cos(angle),
        "A_ORDER": order, "B_ORDER": order})
    size = max(nx, ny)
    for axis in "AB":
        for p in range(order + 1):
            for q in range(order + 1 - p):
                if 2 <= p + q:
                    # up to a few pixels of distortion at the image edge, like HST/Spitzer solutions
                    header[f"{axis}_{p}_{q}"] = draw(st.floats(-1, 1)) * 5.0 / (size / 2) ** (p + q)
    return header


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_sip_headers())
def test_random_sip_footprints_within_50_mas_of_every_edge_pixel(header):
    from platform_lib.imageindex.sphere import radec_to_xyz

    w, fp = _wcs_and_footprint(header)
    nx, ny = header["NAXIS1"], header["NAXIS2"]
    ra, dec = w.all_pix2world(*_edge_pixels(nx, ny, per_pixel=5), 0)  # every edge pixel and between
    off = _arcsec_to_outline(radec_to_xyz(np.asarray(ra), np.asarray(dec)), radec_to_xyz(np.array(fp.ra), np.array(fp.dec)))
    assert off.max() < 0.05


def test_a_strongly_distorted_small_image_keeps_within_50_mas():
    """Found by the random-SIP test: 4th-order terms of 5 px at the edge put the old outline 0.078" off."""
    from astropy.io import fits

    from platform_lib.imageindex.sphere import radec_to_xyz

    header = fits.Header({"NAXIS": 2, "NAXIS1": 50, "NAXIS2": 50, "CTYPE1": "RA---TAN-SIP", "CTYPE2": "DEC--TAN-SIP",
                          "CRVAL1": 0.0, "CRVAL2": 0.0, "CRPIX1": 25.0, "CRPIX2": 25.0,
                          "CD1_1": -0.00027777777777777, "CD1_2": 0.0, "CD2_1": 0.0, "CD2_2": 0.000277777777777777,
                          "A_ORDER": 4, "B_ORDER": 4, "B_2_2": 1.28e-05, "B_4_0": 1.28e-05})
    w, fp = _wcs_and_footprint(header)
    ra, dec = w.all_pix2world(*_edge_pixels(50, 50, per_pixel=20), 0)
    off = _arcsec_to_outline(radec_to_xyz(np.asarray(ra), np.asarray(dec)), radec_to_xyz(np.array(fp.ra), np.array(fp.dec)))
    assert off.max() < 0.05
    assert len(fp.ra) < 150  # 116: about 29 per edge, where each edge bends by 5"


def test_a_b1950_image_is_indexed_where_it_is_in_icrs():
    """astropy's ``comp.fits`` (NGC 1316, the sample data's ``ngc1316_optical``) has ``EQUINOX = 1950`` and no
    ``RADESYS``: FK4 B1950 by the FITS standard. Its numbers were read as ICRS, putting the footprint 0.3 degrees
    from the image (a position in the image was not found, one beside it was). Every vertex of its footprint now
    lies on the image's outer pixel edge by astropy's WCS from ICRS; a galactic map's too (MAGPIS, ``GLON-SIN``)."""
    magpis = Path(astroquery.__file__).parent / "magpis/tests/data/image.fits"
    for path, hdu in ((ASTROPY / "io/fits/tests/data/comp.fits", 1), (magpis, 0)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(path) as hdul:
                header = hdul[hdu].header.copy()
            w = WCS(header).celestial
            fp = footprint_from_wcs(header)
            x, y = w.world_to_pixel(SkyCoord(list(fp.ra), list(fp.dec), unit="deg", frame="icrs"))
        nx, ny = header["NAXIS1"], header["NAXIS2"]
        off_edge = np.minimum(np.minimum(np.abs(x + 0.5), np.abs(x - nx + 0.5)),
                              np.minimum(np.abs(y + 0.5), np.abs(y - ny + 0.5)))
        assert np.max(off_edge) < 0.01, (path, off_edge)  # pixels
