"""A sky map a user put in her home, in the FITS viewer and in her kernel: one 90 % area, ligo.skymap's.

walk18: gwcelery's Swift BAT multi-order map (a real alert-format file: float32 ``PROBDENSITY``, whose pixels'
probabilities sum to 0.99905) read 9,135.08 deg^2 for its 90 % credible region in ``ligo-skymap-stats`` and in
``platform_lib.skymap.read_skymap`` (both take the level of probability 1 for a map normalised within rounding),
but 9,090.71 deg^2 in the FITS viewer, which took 90 % of the map's own total. The file is uploaded through the
contents API as Lab's file browser does, opened as the viewer tab opens it (``astrohub/fits``), and read in a
kernel of the same user; the yardstick is ligo.skymap's ``crossmatch`` on ``read_sky_map(moc=True)``.
"""

from __future__ import annotations

import base64
import warnings
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

#: gwcelery 3.0.0's ``gwcelery/tests/data/swift_skymap.multiorder.fits``, where tests/fetch_data.py puts it.
SWIFT = Path(__file__).resolve().parents[2] / ".cache/test-data/gwcelery/tests/data/swift_skymap.multiorder.fits"


def _ligo_areas(path: Path) -> list[float]:
    """ligo.skymap's 50 % and 90 % credible areas (deg^2) of the map at ``path``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ligo.skymap's and LAL's import-time warnings
        from ligo.skymap.io import read_sky_map
        from ligo.skymap.postprocess.crossmatch import crossmatch
    return [float(a) for a in crossmatch(read_sky_map(str(path), moc=True), contours=(0.5, 0.9)).contour_areas]


def test_a_sky_map_has_one_90_percent_area_in_the_viewer_her_kernel_and_ligo_skymap(platform):
    if not SWIFT.exists():
        pytest.skip(f"the Swift map is not at {SWIFT}: run `make install-test` (or .venv/bin/python tests/fetch_data.py)")
    area_50, area_90 = _ligo_areas(SWIFT)
    user = platform.unique("swift")
    platform.create_user(user)
    platform.start_server(user)
    try:
        saved = platform.session.put(
            f"{platform.server_url(user)}api/contents/swift.multiorder.fits",
            headers={"Authorization": f"token {platform.user_token(user)}"}, timeout=60,
            json={"type": "file", "format": "base64", "content": base64.b64encode(SWIFT.read_bytes()).decode()})
        assert saved.status_code == 201, saved.text
        shown = platform.server_get(user, "astrohub/fits", params={"path": "swift.multiorder.fits"})
        assert shown.status_code == 200, shown.text
        credible = shown.json()["skymap"]["credible"]
        assert credible["total"] == pytest.approx(0.99905, abs=1e-5)  # normalised within read_skymap's 1e-3
        assert credible["area"] == pytest.approx(area_90, rel=1e-9)  # was 9,090.71 against 9,135.08
        in_kernel = platform.execute(user, (
            "from platform_lib.skymap import read_skymap\n"
            "m = read_skymap('swift.multiorder.fits')\n"
            "print(m.credible_area(0.5).to_value('deg2'), m.credible_area(0.9).to_value('deg2'))\n"))
        assert [float(v) for v in in_kernel.split()] == pytest.approx([area_50, area_90], rel=1e-9)
    finally:
        platform.stop_server(user)
