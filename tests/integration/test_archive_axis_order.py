"""An image whose WCS names declination first (``CTYPE1 = 'DEC--TAN'``): found where it lies, cut where asked.

walk18: FITS lets a header give its celestial axes in either order, and astropy reads both; the image index took
the first world axis for RA, so a DEC-first image's outline came out with "declinations" of 250 degrees and the
file was skipped as having "no celestial WCS": no SIA search found it. Here the SkyView cut-out of M13 (the
file astropy ships, which the platform's sample archive also holds) and its transpose, whose header is astropy's
``WCS.swapaxes(0, 1)`` of the original (the same sky, declination on the first axis), are put in the archive's
own tree on the session platform and indexed; a user's ``image_search`` at M13 finds both, with the same outline.
The SODA polygon cutout took the same outline's (RA, Dec) as (first axis, second axis): a DEC-first image's
cutout was the whole image; it is now the transpose of the original's.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from platform_lib.imageindex import update_index

pytestmark = pytest.mark.integration

M13 = Path(fits.__file__).parents[3] / "astropy/io/fits/hdu/compressed/tests/data/m13.fits"


def _write(path: Path, data: np.ndarray, wcs: WCS) -> None:
    header = wcs.to_header()
    header.update(TELESCOP="DSS", OBJECT="M13", RELEASE="2000-01-01")
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.PrimaryHDU(data, header=header).writeto(path)


@pytest.fixture(scope="module")
def m13_pair(platform) -> str:
    """M13 and its DEC-first transpose in the archive's tree, indexed: their folder's name (each test of this
    module uses them, in any order or alone; the cutout test skipped when run without the search test first)."""
    night = f"axes-{platform.tag}"
    root = platform.data_dir / "archive" / "images"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the 1990s DSS header's old-style cards, fixed by astropy
        with fits.open(M13) as hdul:
            data, wcs = hdul[0].data.astype(np.float32), WCS(hdul[0].header).celestial
    _write(root / night / "m13.fits", data, wcs)
    _write(root / night / "m13_dec_first.fits", data.T.copy(), wcs.swapaxes(0, 1))
    report = update_index(root / "index.sqlite", root, workers=1)
    assert not [s for s in report.skipped if night in str(s.path)], report.skipped
    return night


def test_a_dec_first_image_is_found_where_it_lies(platform, m13_pair):
    night = m13_pair
    with platform.user_with_server("axes") as user:
        found = platform.execute(user, (
            "import astropy.units as u\n"
            "from astropy.coordinates import SkyCoord\n"
            "from platform_lib.retrieval import image_search\n"
            "t = image_search(SkyCoord(250.4235, 36.4613, unit='deg'), 0.01 * u.deg)\n"
            f"for row in t[[str(i).startswith({night!r}) for i in t['obs_id']]]:\n"
            "    print(row['obs_id'], ' '.join(f'{v:.5f}' for v in sorted(map(float, row['s_region'].split()[2:]))))\n"))
    outlines = dict(line.split(" ", 1) for line in found.strip().splitlines())
    assert sorted(outlines) == [f"{night}/m13", f"{night}/m13_dec_first"], found  # was: the original alone
    assert outlines[f"{night}/m13_dec_first"] == outlines[f"{night}/m13"]


def test_a_polygon_cutout_of_a_dec_first_image_holds_the_same_pixels(platform, m13_pair):
    """The SODA polygon cutout mapped its ICRS outline to pixels as (RA, Dec) whatever the WCS's axis order; a
    DEC-first image's cutout is now the transpose of the original's."""
    night = m13_pair
    with platform.user_with_server("soda") as user:
        sizes = platform.execute(user, (
            "import io, numpy as np\n"
            "from astropy.io import fits\n"
            "import platform_lib\n"
            "from platform_lib.retrieval import make_session\n"
            "s = platform_lib.get_settings()\n"
            "session, url = make_session(s), s.archive_url.rstrip('/') + '/soda/sync'\n"
            "polygon = '250.40 36.44 250.45 36.44 250.45 36.48 250.40 36.48'\n"
            "cut = {}\n"
            "for name in ('m13', 'm13_dec_first'):\n"
            f"    r = session.get(url, params={{'ID': 'ivo://astrohub/archive?{night}/' + name, 'POLYGON': polygon}},\n"
            "                    timeout=60)\n"
            "    r.raise_for_status()\n"
            "    cut[name] = fits.getdata(io.BytesIO(r.content))\n"
            "print(cut['m13'].shape, cut['m13_dec_first'].shape, np.array_equal(cut['m13'].T, cut['m13_dec_first']))\n"))
    assert sizes.split(") (")[0] != "(300, 300", sizes  # a part of the image, not all of it
    assert sizes.strip().endswith("True"), sizes
