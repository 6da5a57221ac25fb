"""A mistyped column in a region search (first21): ``cone_search('I/311', pleiades, 1 * u.deg, columns=['HIP',
'Hpmg'])`` raised pyarrow's ``ArrowInvalid: No match for FieldRef.Name(Hpmg) in HIP: int64 ...``, then the whole
file schema, the internal ``_healpix_29`` and ``__fragment_index`` among it: nothing said which column was wrong
in the user's words or what it should be. Now an :class:`UnknownColumn` names it, the closest the catalogue has,
and its columns; one name may be given alone. A small HATS catalogue in the real format, written here.
"""

from __future__ import annotations

import warnings

import astropy.units as u
import numpy as np
import pandas as pd
import pytest
from astropy.coordinates import SkyCoord

from platform_lib.catalogs import UnknownColumn, box_search, cone_search, polygon_search
from platform_lib.catalogs._hats import write_hats

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def stars(tmp_path_factory):
    rng = np.random.default_rng(21)
    df = pd.DataFrame({"HIP": np.arange(500), "ra": rng.uniform(50, 60, 500), "dec": rng.uniform(20, 28, 500),
                       "Hpmag": rng.uniform(2, 12, 500)})
    path = tmp_path_factory.mktemp("columns") / "hip"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lsdb/pandas deprecation chatter
        write_hats(df, path, name="hip", ra_column="ra", dec_column="dec", partition_rows=200)
    return path


def test_a_mistyped_column_names_the_closest_and_all_the_columns(stars):
    centre = SkyCoord(56.75, 24.12, unit="deg")
    searches = [lambda cols: cone_search(stars, centre, 2 * u.deg, columns=cols),
                lambda cols: box_search(stars, [54, 58] * u.deg, [22, 26] * u.deg, columns=cols),
                lambda cols: polygon_search(stars, SkyCoord([54, 58, 56], [22, 22, 26], unit="deg"), columns=cols)]
    for search in searches:
        with pytest.raises(UnknownColumn) as info:
            search(["HIP", "Hpmg"])
        said = str(info.value)
        assert said.startswith(f"catalogue {str(stars)!r} has no column 'Hpmg'; did you mean 'Hpmag'? its columns: "
                               "HIP, ra, dec, Hpmag"), said
        assert "_healpix_29" not in said and "FieldRef" not in said
        assert info.value.code == "unknown-column" and info.value.value == "Hpmg"
    with pytest.raises(UnknownColumn, match="no column 'hpmag'; did you mean 'Hpmag'"):  # the case, too
        searches[0](["hpmag"])


def test_the_right_columns_and_one_name_alone_still_answer(stars):
    centre = SkyCoord(56.75, 24.12, unit="deg")
    both = cone_search(stars, centre, 2 * u.deg, columns=["HIP", "Hpmag"])
    assert both.colnames[:2] == ["HIP", "Hpmag"] and len(both) > 0
    alone = cone_search(stars, centre, 2 * u.deg, columns="Hpmag")
    assert "Hpmag" in alone.colnames and len(alone) == len(both)


def test_a_cone_search_takes_its_radius_as_text(stars):
    """firsthour23: ``cone_search('I/311', 'M 31', '2 arcmin')`` was refused ("radius must be an angular astropy
    Quantity (e.g. 1 * u.arcmin), not '2 arcmin'"); text with its unit reads as the Quantity would
    (:mod:`platform_lib.skyangle`), and a number or text with no unit is refused, naming both ways to write it."""
    from platform_lib.skyangle import AngleError

    centre = SkyCoord(56.75, 24.12, unit="deg")
    as_text = cone_search(stars, centre, "40 arcmin")
    assert 0 < len(as_text) < 500
    assert sorted(as_text["HIP"]) == sorted(cone_search(stars, centre, 40 * u.arcmin)["HIP"])
    with pytest.raises(AngleError, match=r"^radius='40' has no unit: give an angle Quantity, 40 \* u.arcmin"):
        cone_search(stars, centre, "40")
    with pytest.raises(TypeError, match=r"^radius=0.5 has no unit: give an angle Quantity, 0.5 \* u.arcmin"):
        cone_search(stars, centre, 0.5)
