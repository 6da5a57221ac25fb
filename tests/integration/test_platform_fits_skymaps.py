"""Sky maps a user put in her home, in the FITS viewer and in her kernel: the credible areas ligo.skymap finds.

walk18, on real alert-format files from gwcelery 3.0.0's test data (tests/fetch_data.py puts them in .cache):

- its Swift BAT multi-order map (float32 ``PROBDENSITY``, whose pixels' probabilities sum to 0.99905) read
  9,135.08 deg^2 for its 90 % credible region in ``ligo-skymap-stats`` and in ``platform_lib.skymap.read_skymap``
  (both take the level of probability 1 for a map normalised within rounding), but 9,090.71 deg^2 in the FITS
  viewer, which took 90 % of the map's own total;
- a Fermi GBM localisation names its probability column ``PROBABILITY`` (ligo.skymap's ``read_sky_map`` and
  ``read_skymap`` read it as ``PROB``): the viewer drew it as a map that is not of probability (ZScale, no
  credible area, no 50 % / 90 % outlines). gwcelery's copy of a GBM map has the column renamed ``PROB``; the test
  gives it back GBM's name.

Each file is uploaded through the contents API as Lab's file browser does, opened as the viewer tab opens it
(``astrohub/fits``), and (the Swift map) read in a kernel of the same user; the yardstick is ligo.skymap's
``crossmatch`` on ``read_sky_map(moc=True)`` of the same file.
"""

from __future__ import annotations

import base64
import io
import warnings
from pathlib import Path

import pytest
from astropy.io import fits

pytestmark = pytest.mark.integration

DATA = Path(__file__).resolve().parents[2] / ".cache/test-data/gwcelery/tests/data"
#: gwcelery 3.0.0's ``gwcelery/tests/data/swift_skymap.multiorder.fits`` and ``fermi_skymap.fits.gz``.
SWIFT, FERMI = DATA / "swift_skymap.multiorder.fits", DATA / "fermi_skymap.fits.gz"


def _ligo_areas(path: Path) -> list[float]:
    """ligo.skymap's 50 % and 90 % credible areas (deg^2) of the map at ``path``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ligo.skymap's and LAL's import-time warnings
        from ligo.skymap.io import read_sky_map
        from ligo.skymap.postprocess.crossmatch import crossmatch
    return [float(a) for a in crossmatch(read_sky_map(str(path), moc=True), contours=(0.5, 0.9)).contour_areas]


@pytest.fixture(scope="module")
def astronomer(platform):
    for path in (SWIFT, FERMI):
        if not path.exists():
            pytest.skip(f"{path.name} is not at {path}: run `make install-test` (or .venv/bin/python tests/fetch_data.py)")
    with platform.user_with_server("skymaps") as user:
        yield user


def _upload(platform, user: str, name: str, content: bytes) -> None:
    saved = platform.session.put(
        f"{platform.server_url(user)}api/contents/{name}",
        headers={"Authorization": f"token {platform.user_token(user)}"}, timeout=60,
        json={"type": "file", "format": "base64", "content": base64.b64encode(content).decode()})
    assert saved.status_code == 201, saved.text


def _viewed(platform, user: str, name: str) -> dict:
    shown = platform.server_get(user, "astrohub/fits", params={"path": name})
    assert shown.status_code == 200, shown.text
    return shown.json()["skymap"]


def test_a_sky_map_has_one_90_percent_area_in_the_viewer_her_kernel_and_ligo_skymap(platform, astronomer):
    area_50, area_90 = _ligo_areas(SWIFT)
    _upload(platform, astronomer, "swift.multiorder.fits", SWIFT.read_bytes())
    credible = _viewed(platform, astronomer, "swift.multiorder.fits")["credible"]
    assert credible["total"] == pytest.approx(0.99905, abs=1e-5)  # normalised within read_skymap's 1e-3
    assert credible["area"] == pytest.approx(area_90, rel=1e-9)  # was 9,090.71 against 9,135.08
    in_kernel = platform.execute(astronomer, (
        "from platform_lib.skymap import read_skymap\n"
        "m = read_skymap('swift.multiorder.fits')\n"
        "print(m.credible_area(0.5).to_value('deg2'), m.credible_area(0.9).to_value('deg2'))\n"))
    assert [float(v) for v in in_kernel.split()] == pytest.approx([area_50, area_90], rel=1e-9)


def test_a_fermi_gbm_map_is_drawn_as_a_probability_map_with_its_credible_regions(platform, astronomer):
    with fits.open(FERMI) as hdul:
        hdul[1].columns.change_name("PROB", "PROBABILITY")  # as Fermi GBM's own HEALPix files name it
        out = io.BytesIO()
        hdul.writeto(out)
    _upload(platform, astronomer, "glg_healpix.fits", out.getvalue())
    skymap = _viewed(platform, astronomer, "glg_healpix.fits")
    assert (skymap["column"], skymap["probability"], skymap["unit"]) == ("PROBABILITY", True, "deg-2")
    assert [c["level"] for c in skymap["contours"]] == [0.5, 0.9]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        area_90 = _ligo_areas(FERMI)[1]  # ligo.skymap reads PROB and GBM's PROBABILITY alike
    assert skymap["credible"]["area"] == pytest.approx(area_90, rel=1e-9)
