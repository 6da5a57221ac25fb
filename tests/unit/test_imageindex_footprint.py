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


def test_sip_footprint_matches_astropy_calc_footprint():
    header = fits.getheader(SIP)
    assert header["CTYPE1"].endswith("-SIP")
    fp = footprint_from_wcs(header)
    assert fp.method == "wcs"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = WCS(header)
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
