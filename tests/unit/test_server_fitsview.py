"""The FITS viewer's server side (astrohub_server.fitsview) in a real Jupyter server, on real public FITS files.

lab13: a user who double-clicked ``image.fits`` in Lab's file browser got its bytes as garbled text. Lab's
FITS viewer tab shows what ``GET astrohub/fits`` and ``astrohub/fits/sky`` answer; here they answer a
client with the server's token, as Lab does. The files are the real ones astropy and astroquery ship (the
platform's sample images come from the same packages, ``platform_lib.sampledata``): a SkyView cut-out of
M13 (plain, and tile-compressed as ``.fz``), a gzipped DSS plate scan with its photometric table, and a
GAMA spectra table; and a text file, a truncated M13, a file outside the server's folder.
(The tab itself, as a hub user double-clicking a file: tests/browser/test_tutorial_in_lab.py.)
"""

from __future__ import annotations

import base64
import bz2
import gzip
import io
import lzma
import os
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import requests
from astropy.io import fits
from astropy.utils.exceptions import AstropyUserWarning

from lab_file_types import fits_viewer_extensions, lab_opens  # tests/support/, on the path by tests/conftest.py
from platform_lib.local.ports import free_ports

PACKAGES = Path(fits.__file__).parents[3]
M13 = PACKAGES / "astropy/io/fits/hdu/compressed/tests/data/m13.fits"
M13_RICE = PACKAGES / "astropy/io/fits/hdu/compressed/tests/data/m13_rice.fits"
DSS_GZ = PACKAGES / "astropy/wcs/tests/data/dss.14.29.56-62.41.05.fits.gz"
GAMA = PACKAGES / "astroquery/gama/tests/data/GAMA_HzVs28.fits"
# a 101 x 101 image compressed with Unix compress (LZW, .Z, as archives such as ESO's serve them), astropy's test file
LZW = PACKAGES / "astropy/io/fits/tests/data/lzw.fits.Z"
# HEALPix maps: a BAYESTAR localisation (nside 512, NESTED, healpy's 1024 pixels a row, gzip; reproject's test
# data, also the platform's sample map), cdshealpix's full-sky nside-64 integer map (not of probability)
BAYESTAR = PACKAGES / "reproject/healpix/tests/data/bayestar.fits.gz"
IMPLICIT = PACKAGES / "cdshealpix/tests/resources/skymap-implicit.fits"
TOKEN = "fits-token"


def _files(root: Path) -> None:
    (root / "images").mkdir(parents=True)
    (root / "tables").mkdir()
    shutil.copy(M13, root / "images/m13.fits")
    shutil.copy(M13_RICE, root / "images/m13.fz")
    shutil.copy(DSS_GZ, root / "images/dss.fits.gz")
    shutil.copy(GAMA, root / "tables/gama.fit")
    # the names and compressions archives serve: Unix compress, bzip2 and xz, upper-case names
    shutil.copy(LZW, root / "images/LZW.FITS.Z")
    (root / "images/M13.FIT.BZ2").write_bytes(bz2.compress(M13.read_bytes()))
    (root / "images/dss.fits.xz").write_bytes(lzma.compress(gzip.decompress(DSS_GZ.read_bytes())))
    (root / "maps").mkdir()
    shutil.copy(BAYESTAR, root / "maps/bayestar.fits.gz")
    shutil.copy(IMPLICIT, root / "maps/implicit.fits")
    _multi_order(root / "maps/bayestar_moc.fits")
    header, values = _implicit()  # bad maps: NSIDE not a power of 2; one row short
    bad = header.copy()
    bad["NSIDE"] = 48
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU(values, bad)]).writeto(root / "maps/nside48.fits")
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU(values[:-1], header)]).writeto(root / "maps/short.fits")
    # a partial-sky map (healpy's partial=True: INDXSCHM = 'EXPLICIT', a PIXEL column), the northern cap of the
    # map above (Dec > 30 deg), NESTED and RING, and the same cap as a full map whose other pixels are UNSEEN
    import healpy as hp

    cap = np.full(values["T"].size, hp.UNSEEN)
    north = hp.pix2ang(64, np.arange(cap.size), nest=True, lonlat=True)[1] > 30
    cap[north] = values["T"][north]
    hp.write_map(str(root / "maps/partial.fits"), cap, nest=True, partial=True, dtype=np.float64)
    hp.write_map(str(root / "maps/partial_ring.fits"), hp.reorder(cap, n2r=True), nest=False, partial=True,
                 dtype=np.float64)
    hp.write_map(str(root / "maps/cap.fits"), cap, nest=True, dtype=np.float64)
    galactic = header.copy()
    galactic["COORDSYS"] = "G"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU(values, galactic)]).writeto(root / "maps/galactic.fits")
    (root / "notes.fits").write_text("these are my notes, not a FITS file\n")
    (root / "truncated.fits").write_bytes(M13.read_bytes()[: 2880 * 3])  # the header and a third of the data
    shutil.copy(M13, root.parent / "outside.fits")


def _implicit():
    """cdshealpix's map's header and rows (the file has stray bytes after its table, which astropy warns of)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyUserWarning)
        with fits.open(IMPLICIT) as hdul:
            return hdul[1].header.copy(), hdul[1].data.copy()


def _ligo_skymap():
    """ligo.skymap's reader, writer and greedy credible levels (imported past its own import-time warnings)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ligo.skymap.io import read_sky_map, write_sky_map
        from ligo.skymap.postprocess.util import find_greedy_credible_levels
    return read_sky_map, write_sky_map, find_greedy_credible_levels


def _multi_order(path: Path) -> None:
    """BAYESTAR's map in the multi-order form LIGO/Virgo/KAGRA publish (NUNIQ, PROBDENSITY), written by
    ligo.skymap: ``derasterize`` is exact (sibling pixels of equal value merged), so it is the same map."""
    read_sky_map, write_sky_map, _ = _ligo_skymap()
    write_sky_map(str(path), read_sky_map(str(BAYESTAR), moc=True), moc=True)


@pytest.fixture(scope="module")
def fits_server(tmp_path_factory):
    """A Jupyter server with only the viewer's extension on a folder of FITS files; yields ``get(route, **params)``."""
    base = tmp_path_factory.mktemp("fitsview")
    root = base / "home"
    _files(root)
    (port,) = free_ports(1)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(base / "config"), "JUPYTER_RUNTIME_DIR": str(base / "run"),
           "JUPYTER_DATA_DIR": str(base / "data"), "JUPYTER_PLATFORM_DIRS": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", f"--ServerApp.root_dir={root}", f"--ServerApp.port={port}",
         "--ServerApp.port_retries=0", "--ServerApp.open_browser=False", f"--IdentityProvider.token={TOKEN}",
         "--ServerApp.allow_root=True", "--ServerApp.jpserver_extensions={'astrohub_server.fitsview': True}"],
        cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/"

    def get(route: str, token: str | None = TOKEN, **params) -> requests.Response:
        headers = {"Authorization": f"token {token}"} if token else {}
        return requests.get(url + route, params=params, headers=headers, timeout=60)

    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stderr.read()[-3000:]
            try:
                if get("api/status").status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "the Jupyter server did not answer in 60 s"
            time.sleep(0.2)
        get.root = root
        yield get
    finally:
        server.terminate()
        server.wait(30)


def _grey(answer: dict) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(base64.b64decode(answer["image"]["png"]))) as picture:
        assert picture.mode == "LA"
        return np.asarray(picture)[..., 0]


def test_an_image_is_drawn_with_zscale_origin_lower_and_its_corners_on_the_sky(fits_server):
    from astropy.visualization import ImageNormalize, ZScaleInterval
    from astropy.wcs import WCS

    answer = fits_server("astrohub/fits", path="images/m13.fits")
    assert answer.status_code == 200, answer.text
    view = answer.json()
    assert view["hdus"] == [{"index": 0, "name": "PRIMARY", "type": "PrimaryHDU", "kind": "image",
                             "shape": [300, 300], "size": "300 × 300 (16-bit)"}]
    assert view["hdu"] == 0 and view["table"] is None
    assert view["header"].splitlines() == [card.image for card in fits.getheader(M13).cards]  # the cards, as written
    image = view["image"]
    assert (image["width"], image["height"], image["step"], image["stretch"], image["wcs"]) == (300, 300, 1, "zscale", True)
    # the known answer: astropy's own ZScale of the data, row 0 (FITS y = 1) at the bottom of the picture
    data = fits.getdata(M13).astype(float)
    expected = np.round(ImageNormalize(data, interval=ZScaleInterval(), clip=True)(data).filled(0) * 255)
    assert np.abs(np.flipud(_grey(view)).astype(int) - expected).max() <= 1
    wcs = WCS(fits.getheader(M13))
    corners = {c["name"]: c for c in image["corners"]}
    assert set(corners) == {"bottom left", "bottom right", "top right", "top left", "centre"}
    for corner in corners.values():
        ra, dec = wcs.pixel_to_world_values(corner["x"], corner["y"])
        assert corner["sky"]["lon"] == pytest.approx(float(ra), abs=1e-9)
        assert corner["sky"]["lat"] == pytest.approx(float(dec), abs=1e-9)
    assert corners["centre"]["sky"]["text"].startswith("RA 16:41:") and "Dec +36:27:" in corners["centre"]["sky"]["text"]
    # asinh, the other stretch
    asinh = fits_server("astrohub/fits", path="images/m13.fits", stretch="asinh").json()["image"]
    assert asinh["stretch"] == "asinh" and asinh["png"] != image["png"]


def test_the_cursor_reads_a_pixels_value_and_sky_position(fits_server):
    from astropy.wcs import WCS

    answer = fits_server("astrohub/fits/sky", path="images/m13.fits", hdu="0", x="120", y="200")
    assert answer.status_code == 200, answer.text
    at = answer.json()
    assert at["value"] == float(fits.getdata(M13)[200, 120])
    ra, dec = WCS(fits.getheader(M13)).pixel_to_world_values(120, 200)
    assert (at["sky"]["lon"], at["sky"]["lat"]) == pytest.approx((float(ra), float(dec)), abs=1e-9)
    outside = fits_server("astrohub/fits/sky", path="images/m13.fits", hdu="0", x="300", y="0")
    assert outside.status_code == 400 and "outside the image (300 × 300)" in outside.json()["message"]
    assert "give x=" in fits_server("astrohub/fits/sky", path="images/m13.fits", hdu="0", y="3").json()["message"]
    assert "no HDU -1" in fits_server("astrohub/fits/sky", path="images/m13.fits", hdu="-1", x="1", y="1").json()["message"]
    # in a gzip stream: the sky position from the header, no value (it would decompress the file up to it)
    gz = fits_server("astrohub/fits/sky", path="images/dss.fits.gz", hdu="0", x="10", y="20").json()
    assert "value" not in gz and gz["sky"]["text"].startswith("RA 14:")


def test_a_tile_compressed_image_and_a_gzipped_one_with_a_table(fits_server):
    rice = fits_server("astrohub/fits", path="images/m13.fz").json()
    assert [h["type"] for h in rice["hdus"]] == ["PrimaryHDU", "CompImageHDU"]
    assert rice["hdu"] == 1 and rice["image"]["width"] == 300  # the first HDU with data
    assert np.array_equal(_grey(rice), _grey(fits_server("astrohub/fits", path="images/m13.fits").json()))  # lossless
    dss = fits_server("astrohub/fits", path="images/dss.fits.gz").json()
    assert [(h["kind"], h["size"]) for h in dss["hdus"]] == [("image", "100 × 100 (16-bit)"),
                                                             ("table", "15 rows × 4 columns")]
    assert dss["image"]["corners"][0]["sky"]["text"].startswith("RA 14:30:")
    table = fits_server("astrohub/fits", path="images/dss.fits.gz", hdu="1").json()
    assert table["image"] is None and table["hdus"][1]["name"] == "Photometric CALTABLE"
    assert "TTYPE1  = 'INTEGRATED_SIGNAL'" in table["header"]
    columns = table["table"]["columns"]
    assert [(c["name"], c["unit"]) for c in columns][:2] == [("INTEGRATED_SIGNAL", "log10Counts"), ("MAGNITUDE", "J_Magnitude")]
    rows = fits.getdata(DSS_GZ, 1)
    assert table["table"]["total"] == table["table"]["shown"] == 15
    assert [float(v) for v in table["table"]["rows"][2][:2]] == [float(rows[2][0]), float(rows[2][1])]


def test_fits_files_as_archives_name_and_compress_them_open_in_the_viewer(fits_server, monkeypatch):
    """lab14: ``.fits.Z``, ``.fit.gz``, ``.FITS`` files opened as text: the tab took .fits, .fit, .fts, .fits.gz and
    .fz only, and astropy reads Unix compress only with uncompresspy, which the platform lacked."""
    from astropy.io.fits import file as fits_file

    from astrohub_server import fitsview

    extensions = fits_viewer_extensions()
    for name in ("m13.fits", "M13.FITS", "frame.fits.Z", "frame.fit.gz", "frame.FTS.GZ", "frame.fits.bz2",
                 "frame.fits.xz", "frame.fits.zip", "m13.fz", "m13.fits.fz", "ngc1275.v2.fits"):
        assert lab_opens(name, extensions), name
    for name in ("notes.txt", "catalogue.csv.gz", "fits.txt", "archive.zip"):
        assert not lab_opens(name, extensions), name
    # the server reads each: Unix compress (astropy with uncompresspy), bzip2, xz (a table's first rows streamed)
    lzw = fits_server("astrohub/fits", path="images/LZW.FITS.Z").json()
    assert lzw["image"]["width"] == 101 and lzw["hdus"][0]["size"] == "101 × 101 (16-bit)", lzw
    assert _grey(lzw).shape == (101, 101)
    m13 = fits_server("astrohub/fits", path="images/M13.FIT.BZ2").json()
    assert np.array_equal(_grey(m13), _grey(fits_server("astrohub/fits", path="images/m13.fits").json()))
    xz = fits_server("astrohub/fits", path="images/dss.fits.xz", hdu="1").json()
    assert xz["table"] == fits_server("astrohub/fits", path="images/dss.fits.gz", hdu="1").json()["table"]
    # a server without uncompresspy says what is missing (not 'needs numpy, astropy and Pillow')
    monkeypatch.setattr(fits_file, "HAS_UNCOMPRESSPY", False)
    with pytest.raises(fitsview.FitsViewError, match=r"compressed with Unix compress \(\.Z\), which astropy reads "
                                                     "only with the package uncompresspy") as refused:
        fitsview.view(str(LZW), "LZW.FITS.Z")
    assert refused.value.status == 501


def test_a_table_shows_its_columns_and_first_rows(fits_server):
    view = fits_server("astrohub/fits", path="tables/gama.fit").json()
    assert view["hdu"] == 1
    table = view["table"]
    assert table["total"] == 5 and len(table["rows"]) == 5 and len(table["columns"]) == 19
    assert table["columns"][0] == {"name": "SPECID", "unit": "", "format": "K"}
    assert table["rows"][0][:2] == ["131671727225700352", "SDSS"]


@pytest.mark.parametrize(("params", "status", "message"), [
    ({}, 400, "which file? give the path of a FITS file"),
    ({"path": "images/none.fits"}, 404, "no such file: 'images/none.fits'"),
    ({"path": "100%s.fits"}, 404, "no such file: '100%s.fits'"),
    ({"path": "images"}, 400, "'images' is a folder, not a FITS file"),
    ({"path": "../outside.fits"}, 404, "is outside your server's folder"),
    ({"path": "images/../../outside.fits"}, 404, "is outside your server's folder"),
    ({"path": "/etc/passwd"}, 404, "no such file: 'etc/passwd'"),
    ({"path": "notes.fits"}, 422, "'notes.fits' is not a FITS file: it does not begin with a FITS header"),
    ({"path": "truncated.fits"}, 422, "'truncated.fits' could not be read as FITS: it may be damaged or cut short"),
    ({"path": "images/m13.fits", "hdu": "4"}, 400, "no HDU 4: the file has 1 (0 to 0)"),
    ({"path": "images/m13.fits", "hdu": "first"}, 400, "hdu='first' is not a whole number"),
    ({"path": "images/m13.fits", "stretch": "log"}, 400, "no stretch 'log': choose one of zscale, asinh"),
    # badinput24: the file system's "File name too long" was a 500 "Unhandled error" (a name over 255 bytes, a
    # path over 4096)
    ({"path": "9" * 400}, 400, "(400 characters)' is longer than the file system takes (a name of at most 255"),
    ({"path": "images/" + "x" * 256 + ".fits"}, 400, "is longer than the file system takes"),
    ({"path": "a/" * 3000}, 400, "give the path of a FITS file in your folder"),
])
def test_bad_requests_get_a_message_naming_the_problem(fits_server, params, status, message):
    answer = fits_server("astrohub/fits", **params)
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    assert message in answer.json()["message"], answer.json()
    assert "Traceback" not in answer.text


def test_the_cursor_route_refuses_a_path_too_long_naming_it(fits_server):
    """``astrohub/fits/sky`` resolves its path as ``astrohub/fits`` does: a 400 naming the path, not a 500."""
    answer = fits_server("astrohub/fits/sky", path="x" * 300, hdu="0", x="1", y="1")
    assert answer.status_code == 400, answer.text
    assert "is longer than the file system takes" in answer.json()["message"]


def test_only_the_servers_own_user_may_look(fits_server):
    assert fits_server("astrohub/fits", token=None, path="images/m13.fits").status_code == 403
    assert fits_server("astrohub/fits", token="not-the-token", path="images/m13.fits").status_code == 403


# the DSS scan's header has non-standard cards astropy repairs, with warnings (in the server, they go to its log)
@pytest.mark.filterwarnings("ignore::astropy.io.fits.verify.VerifyWarning", "ignore::astropy.wcs.FITSFixedWarning")
def test_a_large_image_is_downsampled_a_long_table_capped_and_a_huge_stream_refused(monkeypatch):
    from astrohub_server import fitsview

    monkeypatch.setattr(fitsview, "MAX_SIDE", 128)
    image = fitsview.view(str(M13), "m13.fits")["image"]
    assert (image["step"], image["shown"], image["width"]) == (3, [100, 100], 300)
    tiled = fitsview.view(str(M13_RICE), "m13.fz")["image"]  # tile-compressed: read row by row, the same pixels
    assert (tiled["shown"], tiled["png"]) == (image["shown"], image["png"])
    monkeypatch.setattr(fitsview, "MAX_ROWS", 4)
    table = fitsview.view(str(DSS_GZ), "dss.fits.gz", hdu=1)["table"]  # read from the gzip stream, 4 rows only
    assert (table["total"], table["shown"]) == (15, 4)
    assert [float(r[0]) for r in table["rows"]] == [float(v) for v in fits.getdata(DSS_GZ, 1)["INTEGRATED_SIGNAL"][:4]]
    monkeypatch.setattr(fitsview, "MAX_STREAM_BYTES", 1000)
    with pytest.raises(fitsview.FitsViewError) as refused:
        fitsview.view(str(DSS_GZ), "dss.fits.gz")
    assert refused.value.status == 413 and "more than the viewer decompresses" in refused.value.message


# --- HEALPix sky maps ---------------------------------------------------------------------------------

def _rgba(png: str) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(base64.b64decode(png))) as picture:
        assert picture.mode == "RGBA"
        return np.asarray(picture).astype(int)


def _mollweide_wcs(width: int, height: int, centre: float = 180):
    """WCSLIB's Mollweide (astropy.wcs) over the viewer's picture: ``centre`` at the centre, east to the left."""
    from astropy.wcs import WCS

    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---MOL", "DEC--MOL"]
    wcs.wcs.crval = [centre, 0]
    wcs.wcs.crpix = [width / 2 + 0.5, height / 2 + 0.5]
    span = 4 * np.sqrt(2) * 180 / np.pi  # the ellipse's width, in WCSLIB's projection-plane degrees
    wcs.wcs.cdelt = [-span / width, span / 2 / height]
    return wcs


def _ligo_area(prob: np.ndarray, level: float = 0.9) -> float:
    """ligo.skymap's area of the ``level`` credible region of a flat map (whole pixels, greedy)."""
    import healpy as hp

    find_greedy_credible_levels = _ligo_skymap()[2]
    return float((find_greedy_credible_levels(prob) <= level).sum() * hp.nside2pixarea(hp.npix2nside(prob.size),
                                                                                      degrees=True))


def test_a_gw_sky_map_is_drawn_on_the_sky_with_its_90_percent_area_as_ligo_skymap_and_reproject_see_it(
        fits_server, monkeypatch):
    """skymap13: a BAYESTAR localisation opened as a table of its first rows of PROB; it is an all-sky map."""
    from astropy_healpix import HEALPix
    from matplotlib import colormaps
    from reproject import reproject_from_healpix

    from astrohub_server import fitsview, healpixmap

    view = fits_server("astrohub/fits", path="maps/bayestar.fits.gz").json()
    assert view["hdu"] == 1 and view["hdus"][1]["skymap"] is True
    assert view["table"] is None and view["image"] is None
    skymap = view["skymap"]
    assert (skymap["about"], skymap["column"], skymap["unit"], skymap["probability"]) == (
        "HEALPix map, nside 512 (NESTED), 3,145,728 pixels", "PROB", "deg-2", True)
    prob = _ligo_skymap()[0](str(BAYESTAR), nest=True)[0]
    credible = skymap["credible"]
    # within one pixel of ligo.skymap's greedy count (the viewer interpolates within the last pixel, as
    # ligo.skymap's crossmatch does); 327 deg^2, the figure LIGO's bayestar_localize_coincs gave this map
    pixel = 41252.96 / prob.size
    assert credible["area"] == pytest.approx(_ligo_area(prob), abs=pixel) and round(credible["area"]) == 327
    assert (credible["level"], credible["nside"]) == (0.9, 512) and credible["total"] == pytest.approx(1, abs=1e-6)
    # the picture, pixel by pixel, drawn at the map's own nside (no averaging): each pixel's colour is that of
    # the probability density reproject (astropy-healpix) finds there in WCSLIB's Mollweide
    monkeypatch.setattr(healpixmap, "DISPLAY_ORDER", 9)
    drawn = fitsview.view(str(BAYESTAR), "bayestar.fits.gz")["skymap"]
    density = prob / HEALPix(nside=512).pixel_area.to_value("deg2")
    assert drawn["limits"] == pytest.approx([0, density.max()], rel=1e-6)
    width, height = drawn["width"], drawn["height"]
    expected, footprint = (np.flipud(a) for a in reproject_from_healpix(
        (density, "icrs"), _mollweide_wcs(width, height), (height, width), nested=True, order="nearest-neighbor"))
    rgba = _rgba(drawn["png"])
    sphere = footprint > 0
    assert np.array_equal(rgba[..., 3] > 0, sphere)  # transparent off the sphere, opaque on it
    # (less the outlines of the credible regions, colours the colour map never takes)
    sphere &= ~np.isin(rgba[..., :3] @ [65536, 256, 1], [0x00FFFF, 0xFFFFFF])
    colours = np.round(colormaps["inferno"](np.clip(expected[sphere] / density.max(), 0, 1)) * 255)
    close = np.abs(rgba[sphere][:, :3] - colours[:, :3]).max(axis=1) <= 1
    assert close.mean() > 0.999, close.mean()  # a few pixel centres on a HEALPix pixel's edge go either way


def _enclosed(barrier: np.ndarray, sphere: np.ndarray) -> np.ndarray:
    """The pixels of the sphere that a path from off the sphere cannot reach without crossing ``barrier``."""
    from scipy import ndimage

    labels, _ = ndimage.label(~barrier)  # 4-connected, as the outlines are drawn
    reached = np.unique(labels[~sphere])
    return sphere & ~np.isin(labels, reached[reached > 0])


def test_a_gw_sky_map_outlines_its_50_and_90_percent_credible_regions_as_ligo_skymap_plot_does(fits_server):
    """lab14: the 90 % area was a number under the picture; ``ligo-skymap-plot --contour 50 90`` outlines them."""
    import healpy as hp

    from astrohub_server import healpixmap

    skymap = fits_server("astrohub/fits", path="maps/bayestar.fits.gz").json()["skymap"]
    assert skymap["contours"] == [{"level": 0.5, "colour": "#00ffff"}, {"level": 0.9, "colour": "#ffffff"}]
    rgba = _rgba(skymap["png"])
    sphere = rgba[..., 3] > 0
    cyan, white = ((rgba == (*colour, 255)).all(axis=-1) for colour in ((0, 255, 255), (255, 255, 255)))
    assert cyan.any() and white.any() and not (cyan | white)[~sphere].any()
    # Mollweide is equal-area: each picture pixel on the sphere is the same part of the sky's 41,253 deg^2
    pixel_area = 41252.96 / sphere.sum()
    prob = _ligo_skymap()[0](str(BAYESTAR), nest=True)[0]
    levels = _ligo_skymap()[2](prob)
    ys, xs = np.nonzero(sphere)
    lon, lat = healpixmap.mollweide_lonlat(xs, ys)
    at = hp.ang2pix(512, lon, lat, nest=True, lonlat=True)
    for level, outline, area in ((0.5, cyan, 91), (0.9, white | cyan, 327)):  # docs/sample-data.md's figures
        inside = _enclosed(outline, sphere)
        region = np.zeros(sphere.shape, dtype=bool)
        region[ys, xs] = levels[at] <= level  # ligo.skymap's region, at the pixels' centres
        # the outline encloses ligo.skymap's region and little else (the outline drawn at nside 256, on its edge)
        assert (inside & region).sum() / region.sum() > 0.99
        assert (inside & ~region).sum() / inside.sum() < 0.02
        assert inside.sum() * pixel_area == pytest.approx(_ligo_area(prob, level), rel=0.01)
        assert round(inside.sum() * pixel_area) in (area - 1, area, area + 1)
    # a map that is not of probability has no credible regions
    assert fits_server("astrohub/fits", path="maps/implicit.fits").json()["skymap"]["contours"] == []


def test_a_multi_order_map_and_a_ring_map_are_the_same_sky(fits_server, tmp_path):
    import healpy as hp

    from astrohub_server import fitsview

    flat = fits_server("astrohub/fits", path="maps/bayestar.fits.gz").json()["skymap"]
    moc = fits_server("astrohub/fits", path="maps/bayestar_moc.fits").json()["skymap"]
    assert (moc["column"], moc["ordering"], moc["nside"], moc["unit"]) == ("PROBDENSITY", "NUNIQ", None, "deg-2")
    assert moc["about"].startswith("HEALPix multi-order map (NUNIQ), ")
    assert moc["credible"]["nside"] is None  # exact, pixel by pixel
    assert moc["credible"]["area"] == pytest.approx(flat["credible"]["area"], abs=41252.96 / (12 * 512**2))
    assert np.abs(_rgba(moc["png"]) - _rgba(flat["png"])).max() <= 1
    # healpy's RING writing of the same map
    prob = _ligo_skymap()[0](str(BAYESTAR), nest=True)[0]
    hp.write_map(str(tmp_path / "ring.fits"), hp.reorder(prob, n2r=True), nest=False, column_names=["PROB"],
                 dtype=np.float64)
    ring = fitsview.view(str(tmp_path / "ring.fits"), "ring.fits")["skymap"]
    assert (ring["ordering"], ring["nside"]) == ("RING", 512)
    assert np.abs(_rgba(ring["png"]) - _rgba(flat["png"])).max() <= 1
    assert ring["credible"]["area"] == pytest.approx(flat["credible"]["area"], rel=1e-9)


def test_a_sky_map_can_be_shown_as_a_table_and_a_map_not_of_probability_is_drawn_too(fits_server):
    table = fits_server("astrohub/fits", path="maps/bayestar.fits.gz", show="table").json()
    assert table["skymap"] is None and table["table"]["total"] == 3072
    assert table["table"]["columns"] == [{"name": "PROB", "unit": "pix-1", "format": "1024E"}]
    implicit = fits_server("astrohub/fits", path="maps/implicit.fits").json()["skymap"]
    assert (implicit["column"], implicit["probability"], implicit["credible"], implicit["stretch"]) == (
        "T", False, None, "zscale")
    asinh = fits_server("astrohub/fits", path="maps/implicit.fits", stretch="asinh").json()["skymap"]
    assert asinh["stretch"] == "asinh" and asinh["png"] != implicit["png"]
    bad = fits_server("astrohub/fits", path="maps/implicit.fits", show="globe")
    assert bad.status_code == 400 and "no way to show 'globe': choose one of map, table" in bad.json()["message"]


@pytest.mark.parametrize(("path", "message"), [
    ("maps/nside48.fits", "NSIDE = 48 is not a power of 2 (1, 2, 4, ... 2**29): not a HEALPix map"),
    ("maps/short.fits", "49,151 rows × 1 pixels a row make 49,151 pixels, but a map of NSIDE = 64 has 12 × 64² = "
                        "49,152: the map is cut short or its NSIDE is wrong"),
])
def test_a_map_that_cannot_be_drawn_is_shown_as_a_table_saying_why(fits_server, path, message):
    answer = fits_server("astrohub/fits", path=path)
    assert answer.status_code == 200, answer.text
    view = answer.json()
    assert view["skymap"] is None and view["table"]["columns"][0]["name"] == "T"
    assert message in view["skymap_error"], view["skymap_error"]


def test_a_partial_sky_map_is_drawn_on_the_whole_sky_with_the_rest_blank(fits_server):
    """lab14: a map listing its pixels (INDXSCHM = 'EXPLICIT', PIXEL) was shown as a table ('is not drawn')."""
    import healpy as hp

    with fits.open(fits_server.root / "maps/partial.fits") as hdul:  # healpy's own writing of a partial map
        assert (hdul[1].header["INDXSCHM"], hdul[1].columns.names) == ("EXPLICIT", ["PIXEL", "T"])
    full = fits_server("astrohub/fits", path="maps/cap.fits").json()["skymap"]
    for path, ordering in (("maps/partial.fits", "NESTED"), ("maps/partial_ring.fits", "RING")):
        view = fits_server("astrohub/fits", path=path).json()
        assert view.get("skymap_error") is None and view["table"] is None, view.get("skymap_error")
        skymap = view["skymap"]
        rows = view["hdus"][1]["rows"]
        assert skymap["about"] == f"HEALPix partial-sky map, nside 64 ({ordering}), {rows:,} of 49,152 pixels"
        assert rows == int(np.count_nonzero(hp.pix2ang(64, np.arange(49152), lonlat=True)[1] > 30))
        # the very picture of the same cap as a full map with the rest UNSEEN: the rest blank (grey), off the
        # sphere transparent
        assert np.array_equal(_rgba(skymap["png"]), _rgba(full["png"])) and skymap["limits"] == full["limits"]
        rgba = _rgba(skymap["png"])
        assert (rgba[300, 400] == (128, 128, 128, 255)).all() and not (rgba[60, 400] == (128, 128, 128, 255)).all()
    # the cursor reads the map's value in the cap, and none outside it
    values = _implicit()[1]["T"]
    ra, dec = (float(v) for v in _mollweide_wcs(800, 400).pixel_to_world_values(400, 399 - 60))
    at = fits_server("astrohub/fits/sky", path="maps/partial_ring.fits", hdu="1", x="400", y="60").json()
    assert dec > 30 and at["value"] == float(values[hp.ang2pix(64, ra, dec, nest=True, lonlat=True)])
    south = fits_server("astrohub/fits/sky", path="maps/partial.fits", hdu="1", x="400", y="300").json()
    assert south["sky"]["lat"] < 30 and "value" not in south


def test_the_cursor_over_a_sky_map_reads_its_position_and_value(fits_server):
    import healpy as hp

    x, y = 250, 130  # from the top left of the picture
    ra, dec = (float(v) for v in _mollweide_wcs(800, 400).pixel_to_world_values(x, 399 - y))
    at = fits_server("astrohub/fits/sky", path="maps/implicit.fits", hdu="1", x=str(x), y=str(y)).json()
    assert (at["sky"]["lon"], at["sky"]["lat"]) == pytest.approx((ra, dec), abs=1e-9)
    assert at["sky"]["text"].startswith("RA ") and at["column"] == "T"
    values = _implicit()[1]["T"]
    assert at["value"] == float(values[hp.ang2pix(64, ra, dec, nest=True, lonlat=True)])
    # a multi-order map: the density of the pixel that covers the point (the flat map's, per steradian)
    moc = fits_server("astrohub/fits/sky", path="maps/bayestar_moc.fits", hdu="1", x="180", y="270").json()
    ra, dec = (float(v) for v in _mollweide_wcs(800, 400).pixel_to_world_values(180, 399 - 270))
    prob = fits.getdata(BAYESTAR, 1)["PROB"].ravel()
    assert moc["value"] == pytest.approx(prob[hp.ang2pix(512, ra, dec, nest=True, lonlat=True)]
                                         / hp.nside2pixarea(512), rel=1e-6) and moc["value"] > 0
    # a galactic map is centred on the Galactic centre, as Planck's are
    assert fits_server("astrohub/fits", path="maps/galactic.fits").json()["skymap"]["centre"] == 0
    galactic = fits_server("astrohub/fits/sky", path="maps/galactic.fits", hdu="1", x="250", y="130").json()
    l, b = (float(v) for v in _mollweide_wcs(800, 400, centre=0).pixel_to_world_values(250, 399 - 130))
    assert (galactic["sky"]["lon"], galactic["sky"]["lat"]) == pytest.approx((l % 360, b), abs=1e-9)
    assert galactic["sky"]["text"].startswith("l ") and galactic["value"] == float(
        values[hp.ang2pix(64, l, b, nest=True, lonlat=True)])
    off = fits_server("astrohub/fits/sky", path="maps/implicit.fits", hdu="1", x="0", y="0").json()
    assert off["sky"] is None and "value" not in off  # off the sphere
    gz = fits_server("astrohub/fits/sky", path="maps/bayestar.fits.gz", hdu="1", x="400", y="200").json()
    assert "value" not in gz and gz["sky"]["lon"] == pytest.approx(180, abs=0.3)  # not read from a stream
    outside = fits_server("astrohub/fits/sky", path="maps/implicit.fits", hdu="1", x="800", y="0")
    assert outside.status_code == 400 and "outside the map's picture (800 × 400)" in outside.json()["message"]


def test_a_large_gzipped_alert_map_is_read_in_bounded_memory():
    """The public alert map S190814bv: 12.6 million rows (nside 1024, 403 MB of table in 1.5 MB of gzip)."""
    import tracemalloc

    from platform_lib.sampledata import packaged_skymaps

    from astrohub_server import fitsview

    found = {image.name: path for image, path in packaged_skymaps()[0]}
    path = found["S190814bv_LALInference.v1.fits.gz"]
    tracemalloc.start()
    try:
        skymap = fitsview.view(str(path), path.name)["skymap"]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200 * 2**20, peak / 2**20  # the map's table is 403 MB: it is never held whole
    assert skymap["about"] == "HEALPix map, nside 1024 (NESTED), 12,582,912 pixels"
    # ligo.skymap 2.5.4's greedy area of this map (read_sky_map, find_greedy_credible_levels): 23.0839 deg^2,
    # within a pixel (0.0034 deg^2); the LVK's published update alert says 23 deg^2
    assert skymap["credible"]["area"] == pytest.approx(23.083853734108693, abs=0.0034)


@pytest.mark.parametrize(("cards", "columns", "message"), [
    ({"ORDERING": "NUNIQ"}, [("PROBDENSITY", 1, "sr-1", True)],
     "a multi-order map (ORDERING = 'NUNIQ') needs a UNIQ column; this one has PROBDENSITY"),
    ({"ORDERING": "NESTED", "NSIDE": 4, "INDXSCHM": "EXPLICIT"}, [("VALUE", 1, "", True)],
     "a partial-sky map (INDXSCHM = 'EXPLICIT') needs a PIXEL column naming each row's pixel; this one has VALUE"),
    ({"ORDERING": "NESTED", "NSIDE": 1, "INDXSCHM": "EXPLICIT", "NAXIS2": 13}, [("PIXEL", 1, "", True),
                                                                                ("T", 1, "", True)],
     "13 rows, but a map of NSIDE = 1 has 12 × 1² = 12 pixels: its NSIDE is wrong"),
    ({"PIXTYPE": "HEALPIX", "ORDERING": "ZORDER", "NSIDE": 4}, [("T", 1, "", True)],
     "ORDERING = 'ZORDER': a HEALPix map's ORDERING is NESTED, RING or NUNIQ"),
    ({"ORDERING": "RING", "NSIDE": "big"}, [("T", 1, "", True)], "NSIDE = 'big': a flat HEALPix map needs NSIDE"),
    ({"ORDERING": "RING", "NSIDE": 1, "NAXIS2": 12}, [("NAME", 1, "", False)], "the map has no numeric column"),
])
def test_a_map_header_that_cannot_be_drawn_is_named(cards, columns, message):
    from astrohub_server import healpixmap

    with pytest.raises(healpixmap.MapError, match=message.replace("(", r"\(").replace(")", r"\)")):
        healpixmap.layout(fits.Header(cards), columns)


def test_only_prob_of_a_flat_map_and_probdensity_count_as_probability():
    from astrohub_server import healpixmap

    flat = healpixmap.layout(fits.Header({"ORDERING": "NESTED", "NSIDE": 1, "NAXIS2": 12}), [("prob", 1, "", True)])
    moc = [("UNIQ", 1, "", True), ("PROB", 1, "", True)]  # per pixel of any size: not a density; drawn as values
    assert flat.probability and flat.column == "PROB"
    assert not healpixmap.layout(fits.Header({"ORDERING": "NUNIQ", "NAXIS2": 5}), moc).probability
