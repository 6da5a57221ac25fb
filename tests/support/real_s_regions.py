"""Real ObsCore answers of real services, as recorded in astroquery's and pyvo's own tests: :func:`real_answers`.

pyvo's ``obscore-image.xml``, CASDA's, ALMA's (circles, polygons, and ``Union`` of mosaic pointings with holes) and
MAST's CAOM (``CIRCLE ICRS`` with two spaces, ``POLYGON J2000``, HST's ``POLYGON GSC1``): the ``s_region`` texts the
platform's readers are tested on (tests/unit/test_imageindex_sregion.py, test_skymap_footprints.py). On the path by
tests/conftest.py (tests/support/). Imports astropy, and astroquery's and pyvo's installed test data.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from astropy.table import Table

__all__ = ["real_answers"]


def _votable(path: Path) -> Table:
    from astropy.io.votable import parse_single_table

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the recorded answers' VOTable quirks (W27, W50 ...)
        return parse_single_table(path).to_table()


def real_answers() -> dict[str, Table]:
    """The recorded ObsCore answers, by service (``s_region``, ``s_ra``, ``s_dec`` columns)."""
    import astroquery
    import pyvo

    aq, pv = Path(astroquery.__file__).parent, Path(pyvo.__file__).parent
    out = {"pyvo": _votable(pv / "dal/tests/data/tap/obscore-image.xml"),
           "casda": _votable(aq / "casda/tests/data/cone.xml"),
           "alma": _votable(aq / "alma/tests/data/alma-shapes.xml")}
    caom = json.loads((aq / "mast/tests/data/caom.json").read_text())["data"]
    out["mast"] = Table(rows=[(r["s_region"], r["s_ra"], r["s_dec"]) for r in caom], names=("s_region", "s_ra", "s_dec"))
    return out
