"""The FITS viewer's server side (astrohub_server.fitsview) in a real Jupyter server, on real public FITS files.

lab13: a user who double-clicked ``image.fits`` in Lab's file browser got its bytes as garbled text. Lab's
``astrohub-fits`` tab shows what ``GET astrohub/fits`` and ``astrohub/fits/sky`` answer; here they answer a
client with the server's token, as Lab does. The files are the real ones astropy and astroquery ship (the
platform's sample images come from the same packages, ``platform_lib.sampledata``): M13 from the Digitized Sky
Survey (plain, and tile-compressed as ``.fz``), a gzipped DSS plate scan with its photometric table, and a
GAMA spectra table; and a text file, a truncated M13, a file outside the server's folder.
(The tab itself, as a hub user double-clicking a file: tests/browser/test_tutorial_in_lab.py.)
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import requests
from astropy.io import fits

from platform_lib.local.ports import free_ports

PACKAGES = Path(fits.__file__).parents[3]
M13 = PACKAGES / "astropy/io/fits/hdu/compressed/tests/data/m13.fits"
M13_RICE = PACKAGES / "astropy/io/fits/hdu/compressed/tests/data/m13_rice.fits"
DSS_GZ = PACKAGES / "astropy/wcs/tests/data/dss.14.29.56-62.41.05.fits.gz"
GAMA = PACKAGES / "astroquery/gama/tests/data/GAMA_HzVs28.fits"
TOKEN = "fits-token"


def _files(root: Path) -> None:
    (root / "images").mkdir(parents=True)
    (root / "tables").mkdir()
    shutil.copy(M13, root / "images/m13.fits")
    shutil.copy(M13_RICE, root / "images/m13.fz")
    shutil.copy(DSS_GZ, root / "images/dss.fits.gz")
    shutil.copy(GAMA, root / "tables/gama.fit")
    (root / "notes.fits").write_text("these are my notes, not a FITS file\n")
    (root / "truncated.fits").write_bytes(M13.read_bytes()[: 2880 * 3])  # the header and a third of the data
    shutil.copy(M13, root.parent / "outside.fits")


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
])
def test_bad_requests_get_a_message_naming_the_problem(fits_server, params, status, message):
    answer = fits_server("astrohub/fits", **params)
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    assert message in answer.json()["message"], answer.json()
    assert "Traceback" not in answer.text


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
