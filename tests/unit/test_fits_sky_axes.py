"""The FITS viewer's readout names the frame a WCS really uses; cubes whose sky axes are not the first two.

sky19, item 2: the readout printed ``(FK5)``/``(FK4)`` without an equinox, and nothing but the axis names for a
Galactic or ecliptic WCS. Item 3: a radio cube whose first axis is FREQ (``CTYPE1 = FREQ``, ``CTYPE2 = RA---SIN``,
``CTYPE3 = DEC--SIN``; the WCSLIB Orion-KL Mopra header's axis order, astropy's
``wcs/tests/data/spectra/orion-freq-4.hdr``) or whose RA is its third axis was drawn as a (FREQ, RA) plane, its
corners' sky positions taken at the wrong pixels, and the image index outlined NAXIS1 x NAXIS2 (channels times
RA pixels) and recorded them as ``s_xel1``/``s_xel2``. The headers here are that real one's, with a SIN
projection on the sky axes as ALMA and ATCA cubes have; the known answers come from astropy's ``wcs.celestial``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from astrohub_server import fitsview
from platform_lib.imageindex import load_mappings
from platform_lib.imageindex.footprint import footprint_from_wcs
from platform_lib.imageindex.ingest import record_from_header


def _image(tmp_path: Path, name: str, cards: dict, shape=(12, 20)) -> Path:
    """A 2-D image (``shape`` numpy order) with ``cards``; pixel value = 1000 * row + column."""
    rows, cols = np.indices(shape)
    hdu = fits.PrimaryHDU((1000 * rows + cols).astype(np.float32))
    hdu.header.update({"CRPIX1": 10.5, "CRPIX2": 6.5, "CDELT1": -0.01, "CDELT2": 0.01, **cards})
    path = tmp_path / name
    hdu.writeto(path)
    return path


@pytest.mark.parametrize(("cards", "frame", "start"), [
    ({"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "CRVAL1": 83.8, "CRVAL2": -5.4}, "ICRS", "RA 05:35:"),
    ({"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "CRVAL1": 83.8, "CRVAL2": -5.4, "RADESYS": "ICRS"}, "ICRS", "RA "),
    ({"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "CRVAL1": 83.8, "CRVAL2": -5.4, "RADESYS": "FK5",
      "EQUINOX": 2000.0}, "FK5 J2000", "RA 05:35:"),
    ({"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "CRVAL1": 83.8, "CRVAL2": -5.4, "RADESYS": "FK5"}, "FK5 J2000", "RA "),
    ({"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "CRVAL1": 83.2, "CRVAL2": -5.4, "EQUINOX": 1950.0},
     "FK4 B1950", "RA 05:32:"),  # no RADESYS, EQUINOX before 1984: FK4 (FITS WCS paper II)
    ({"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "CRVAL1": 83.2, "CRVAL2": -5.4, "RADESYS": "FK4"}, "FK4 B1950", "RA "),
    ({"CTYPE1": "GLON-CAR", "CTYPE2": "GLAT-CAR", "CRVAL1": 209.0, "CRVAL2": -19.4, "RADESYS": "ICRS"},
     "Galactic", "l 20"),  # a RADESYS on a Galactic WCS does not make it ICRS
    ({"CTYPE1": "ELON-TAN", "CTYPE2": "ELAT-TAN", "CRVAL1": 83.5, "CRVAL2": -28.7, "RADESYS": "FK5",
      "EQUINOX": 2000.0}, "ecliptic J2000", "λ 83"),
    # no EQUINOX: the J2000 ecliptic, as the image index takes it (sreg20; the readout said just "ecliptic")
    ({"CTYPE1": "ELON-TAN", "CTYPE2": "ELAT-TAN", "CRVAL1": 83.5, "CRVAL2": -28.7}, "ecliptic J2000", "λ 83"),
])
def test_the_readout_names_the_frame_the_wcs_uses_with_its_equinox(tmp_path, cards, frame, start):
    path = _image(tmp_path, "frame.fits", cards)
    at = fitsview.sky(str(path), "frame.fits", 0, 9, 5)
    assert at["sky"]["frame"] == frame
    assert at["sky"]["text"].startswith(start) and at["sky"]["text"].endswith(f"({frame})"), at["sky"]["text"]
    centre = {c["name"]: c for c in fitsview.view(str(path), "frame.fits")["image"]["corners"]}["centre"]
    assert centre["sky"]["text"].endswith(f"({frame})")


def _cube_header(order: tuple[str, str, str]) -> fits.Header:
    """The Orion-KL Mopra header's cube (13CO 1-0, FK5 J2000, LSRK) with its axes in ``order`` (FITS numbering)."""
    axes = {
        "FREQ": {"CTYPE": "FREQ", "CRVAL": 102.1189414e9, "CDELT": -2.695372970e5, "CRPIX": 8.0, "CUNIT": "Hz",
                 "NAXIS": 16},
        "RA": {"CTYPE": "RA---SIN", "CRVAL": 83.81042, "CDELT": -2.0 / 3600, "CRPIX": 10.5, "CUNIT": "deg",
               "NAXIS": 20},
        "DEC": {"CTYPE": "DEC--SIN", "CRVAL": -5.375222, "CDELT": 2.0 / 3600, "CRPIX": 6.5, "CUNIT": "deg",
                "NAXIS": 12},
    }
    header = fits.Header({"SIMPLE": True, "BITPIX": -32, "NAXIS": 3})
    for i, name in enumerate(order, start=1):
        header[f"NAXIS{i}"] = axes[name]["NAXIS"]
    for i, name in enumerate(order, start=1):
        for key in ("CTYPE", "CRVAL", "CDELT", "CRPIX", "CUNIT"):
            header[f"{key}{i}"] = axes[name][key]
    header.update({"OBJECT": "Orion-KL", "BUNIT": "K", "RESTFRQ": 110201353000.0, "SPECSYS": "LSRK",
                   "RADESYS": "FK5", "EQUINOX": 2000.0, "TELESCOP": "ATNF Mopra", "DATE-OBS": "2006-07-09T20:29:00",
                   "MJD-OBS": 53925.853472})
    return header


CUBES = [("FREQ", "RA", "DEC"), ("DEC", "FREQ", "RA"), ("RA", "DEC", "FREQ")]


def _cube(tmp_path: Path, order) -> tuple[Path, np.ndarray]:
    header = _cube_header(order)
    shape = tuple(header[f"NAXIS{i}"] for i in (3, 2, 1))  # numpy order
    k3, k2, k1 = np.indices(shape)
    data = (10000 * k1 + 100 * k2 + k3).astype(np.float32)  # every pixel says where it is
    path = tmp_path / f"cube-{'-'.join(order)}.fits"
    fits.PrimaryHDU(data, header).writeto(path)
    return path, data


@pytest.mark.parametrize("order", CUBES)
def test_a_cube_is_drawn_on_its_sky_axes_wherever_the_header_puts_them(tmp_path, order):
    path, data = _cube(tmp_path, order)
    cel = WCS(fits.getheader(path)).celestial
    view = fitsview.view(str(path), path.name)["image"]
    assert (view["width"], view["height"]) == (20, 12) if order.index("RA") < order.index("DEC") else (12, 20)
    spectral = order.index("FREQ") + 1
    assert view["plane"] == f"the first plane of 16 (NAXIS{spectral})"
    for corner in view["corners"]:  # the positions of the sky plane's corners, FK5 J2000 as the header says
        ra, dec = cel.pixel_to_world_values(corner["x"], corner["y"])
        lon, lat = (ra, dec) if order.index("RA") < order.index("DEC") else (dec, ra)
        assert (corner["sky"]["lon"], corner["sky"]["lat"]) == pytest.approx((float(lon) % 360, float(lat)), abs=1e-9)
        assert corner["sky"]["text"].endswith("(FK5 J2000)")
    assert view["corners"][-1]["sky"]["text"].startswith("RA 05:35:14.")  # the centre: Orion-KL
    # the cursor: the value of the first channel's sky pixel (x along the first sky axis, y along the second)
    at = fitsview.sky(str(path), path.name, 0, 7, 3)
    index = [0, 0, 0]
    sky_axes = sorted(order.index(a) for a in ("RA", "DEC"))
    index[2 - sky_axes[0]], index[2 - sky_axes[1]] = 7, 3
    assert at["value"] == float(data[tuple(index)])


@pytest.mark.parametrize("order", CUBES)
def test_the_image_index_outlines_a_cubes_sky_axes(tmp_path, order):
    path, _ = _cube(tmp_path, order)
    header = fits.getheader(path)
    cel = WCS(header).celestial
    nx, ny = (20, 12) if order.index("RA") < order.index("DEC") else (12, 20)
    edges = np.array([(-0.5, -0.5), (nx - 0.5, -0.5), (nx - 0.5, ny - 0.5), (-0.5, ny - 0.5)])  # outer pixel edges
    expected = np.column_stack(cel.pixel_to_world_values(edges[:, 0], edges[:, 1]))
    if order.index("RA") > order.index("DEC"):
        expected = expected[:, ::-1]
    # the index takes FK5 J2000 for ICRS (23 mas apart here; the index does that for every FK5 image)
    corners = SkyCoord(expected[:, 0], expected[:, 1], unit="deg")
    fp = footprint_from_wcs(header)
    assert fp is not None and fp.sky_pixels == (nx, ny)
    got = SkyCoord(np.array(fp.ra), np.array(fp.dec), unit="deg")
    assert len(got) == 4
    # the sky plane's four corners, counter-clockwise in pixels from (0, 0)
    assert float(got.separation(corners).arcsec.max()) < 0.01
    rec, _ = record_from_header(header, load_mappings())
    assert (rec["s_xel1"], rec["s_xel2"]) == (nx, ny)
    assert rec["s_fov"] == pytest.approx(np.hypot(40, 24) / 3600, rel=0.01)  # the 40" x 24" sky plane's diagonal
    centre = SkyCoord(83.81042, -5.375222, unit="deg")
    assert SkyCoord(rec["s_ra"], rec["s_dec"], unit="deg").separation(centre).arcsec < 1


def test_a_wcs_whose_sky_is_on_an_axis_the_data_lacks_is_drawn_without_sky_positions(tmp_path):
    """WCSAXES = 3 on 2-D data with DEC on the third axis: astropy's ``wcs.celestial`` raised IndexError."""
    path = tmp_path / "odd.fits"
    hdu = fits.PrimaryHDU(np.arange(200.0).reshape(10, 20))
    hdu.header.update({"WCSAXES": 3, "CTYPE1": "FREQ", "CRVAL1": 1e9, "CDELT1": 1e6, "CTYPE2": "RA---TAN",
                       "CRVAL2": 10.0, "CDELT2": -0.01, "CTYPE3": "DEC--TAN", "CRVAL3": 20.0, "CDELT3": 0.01})
    hdu.writeto(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)  # "more axes (3) than the image" is astropy's to say
        image = fitsview.view(str(path), path.name)["image"]
        at = fitsview.sky(str(path), path.name, 0, 3, 4)
    assert (image["width"], image["height"], image["wcs"], image["corners"]) == (20, 10, False, [])
    assert at["sky"] is None and at["value"] == 83.0


@pytest.mark.parametrize(("cards", "frame"), [
    ({"RADESYS": "FK4", "EQUINOX": 1950.0}, "fk4"),
    ({"EQUINOX": 1950.0}, "fk4"),  # no RADESYS before 1984: FK4
    ({"RADESYS": "FK5", "EQUINOX": 1975.0}, "fk5"),
])
def test_the_image_index_puts_an_fk4_or_old_equinox_image_where_it_is_in_icrs(cards, frame):
    """A B1950 plate's footprint was stored in B1950 coordinates as if they were ICRS: 0.6 deg off here."""
    from astropy.time import Time

    header = fits.Header({"NAXIS": 2, "NAXIS1": 100, "NAXIS2": 100, "CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN",
                          "CRVAL1": 83.2, "CRVAL2": -5.4, "CRPIX1": 50.5, "CRPIX2": 50.5, "CDELT1": -0.01,
                          "CDELT2": 0.01, **cards})
    edges = np.array([(-0.5, -0.5), (99.5, -0.5), (99.5, 99.5), (-0.5, 99.5)])
    ra, dec = WCS(header).pixel_to_world_values(edges[:, 0], edges[:, 1])
    scale = "byear" if frame == "fk4" else "jyear"
    expected = SkyCoord(ra, dec, unit="deg", frame=frame, equinox=Time(cards["EQUINOX"], format=scale)).icrs
    fp = footprint_from_wcs(header)
    got = SkyCoord(np.array(fp.ra), np.array(fp.dec), unit="deg")
    assert float(got.separation(expected).arcsec.max()) < 0.01
    assert float(got.separation(SkyCoord(ra, dec, unit="deg")).deg.min()) > 0.1  # not the B1950 numbers


def _named_frame(name: str):
    """The astropy frame the readout's name stands for."""
    from astropy.coordinates import FK4, FK5, ICRS, BarycentricMeanEcliptic, FK4NoETerms, Galactic, Supergalactic

    kind, _, equinox = name.partition(" ")
    frames = {"ICRS": ICRS, "FK5": FK5, "FK4": FK4, "FK4-NO-E": FK4NoETerms, "Galactic": Galactic,
              "supergalactic": Supergalactic, "ecliptic": BarycentricMeanEcliptic}
    return frames[kind](equinox=equinox) if equinox else frames[kind]()


def _sky_headers() -> dict[str, fits.Header]:
    """The first image header with a celestial WCS of each sample image, and headers of the skies they lack."""
    from platform_lib.sampledata import packaged_images

    found, missing = packaged_images()
    if missing:
        pytest.skip(f"sample images not installed: {missing}")
    out = {}
    for img, path in found:
        with fits.open(path) as hdul, warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)  # the sample headers' own, astropy's to say
            for hdu in hdul:
                if hdu.is_image and hdu.header.get("NAXIS", 0) >= 2 and fitsview._celestial(hdu, hdul) is not None:
                    out[img.name] = hdu.header.copy()
                    break
    base = {"NAXIS": 2, "NAXIS1": 100, "NAXIS2": 100, "CRPIX1": 50.5, "CRPIX2": 50.5, "CDELT1": -0.01, "CDELT2": 0.01}
    for name, cards in {"ecliptic": {"CTYPE1": "ELON-TAN", "CTYPE2": "ELAT-TAN", "CRVAL1": 83.5, "CRVAL2": -28.7},
                        "ecliptic B1950": {"CTYPE1": "ELON-TAN", "CTYPE2": "ELAT-TAN", "CRVAL1": 83.5,
                                           "CRVAL2": -28.7, "EQUINOX": 1950.0},
                        "supergalactic": {"CTYPE1": "SLON-TAN", "CTYPE2": "SLAT-TAN", "CRVAL1": 20.0, "CRVAL2": 5.0},
                        "fk4-no-e": {"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "CRVAL1": 83.2, "CRVAL2": -5.4,
                                     "RADESYS": "FK4-NO-E", "EQUINOX": 1950.0}}.items():
        out[name] = fits.Header({**base, **cards})
    return out


def test_the_readout_and_the_image_index_read_the_same_frame_from_each_sample_image():
    """sreg20: the FITS viewer read the frame from CTYPE, RADESYS and EQUINOX itself and the image index with
    astropy's ``wcs_to_celestial_frame``, and they disagreed on an ecliptic WCS (the index took its λ, β for ICRS
    RA, Dec: astropy reads an ELON axis by the RADESYS wcslib fills in) and a supergalactic one (the index took its
    numbers for ICRS). Now both read astropy's frame, CTYPE first where astropy reads past it: on every sample image
    (the B1950 NGC 1316 plate, the Galactic MAGPIS map, the ICRS/FK5 rest) and ecliptic, supergalactic and FK4-NO-E
    headers, the readout names the frame the index converts from, and the index's outline is where astropy puts
    the image's corners from the named frame."""
    from platform_lib.imageindex.footprint import celestial_frame

    names = {}
    for image, header in _sky_headers().items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the sample headers' FITSFixedWarnings, ERFA's dubious B1950 year
            viewer = WCS(header, relax=True, fix=True).celestial
            named = _named_frame(fitsview._frame(viewer))
            index = celestial_frame(viewer)
            assert index.is_equivalent_frame(named), (image, fitsview._frame(viewer), index)
            fp = footprint_from_wcs(header)
            nx, ny = header["NAXIS1"], header["NAXIS2"]
            corner = viewer.pixel_to_world_values(-0.5, -0.5)
            want = SkyCoord(*corner, unit="deg", frame=named).icrs
        names[image] = fitsview._frame(viewer)
        got = SkyCoord(np.array(fp.ra), np.array(fp.dec), unit="deg")
        assert float(got.separation(want).arcsec.min()) < 1, (image, nx, ny)
    assert names["ngc1316_optical"] == "FK4 B1950" and names["g10.5_magpis_effelsberg"] == "Galactic", names
    assert names["ecliptic"] == "ecliptic J2000" and names["ecliptic B1950"] == "ecliptic J1950"
    assert names["supergalactic"] == "supergalactic" and names["fk4-no-e"] == "FK4-NO-E B1950"
    assert len(names) == 12  # the eight sample images (the 1951 DSS plate's too) and the four headers


@pytest.mark.parametrize(("ctype", "frame"), [("ELON", "barycentricmeanecliptic"), ("SLON", "supergalactic")])
def test_the_image_index_puts_an_ecliptic_or_supergalactic_image_where_it_is_in_icrs(ctype, frame):
    """sreg20: an ecliptic WCS's footprint was stored at its λ, β numbers as if ICRS RA, Dec (astropy's reader takes
    an ELON axis by the RADESYS wcslib fills in), a supergalactic one at its SGL, SGB numbers (no frame astropy
    names, taken as ICRS): 23 and 85 degrees off here."""
    lat = ctype[0] + "LAT"
    header = fits.Header({"NAXIS": 2, "NAXIS1": 100, "NAXIS2": 100, "CTYPE1": f"{ctype}-TAN", "CTYPE2": f"{lat}-TAN",
                          "CRVAL1": 83.5, "CRVAL2": -28.7, "CRPIX1": 50.5, "CRPIX2": 50.5, "CDELT1": -0.01,
                          "CDELT2": 0.01})
    edges = np.array([(-0.5, -0.5), (99.5, -0.5), (99.5, 99.5), (-0.5, 99.5)])
    lon, lat = WCS(header).pixel_to_world_values(edges[:, 0], edges[:, 1])
    expected = SkyCoord(lon, lat, unit="deg", frame=frame).icrs
    fp = footprint_from_wcs(header)
    got = SkyCoord(np.array(fp.ra), np.array(fp.dec), unit="deg")
    assert float(got.separation(expected).arcsec.max()) < 0.01
