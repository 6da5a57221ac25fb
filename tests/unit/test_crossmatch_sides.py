"""What a crossmatch side is: one check for every entry point (xmatch26).

"Is this argument a table, a DataFrame, a catalogue?" was asked in six places in five ways (``_api``'s ``_is_lazy``,
``_is_hats_side`` and ``_default_position``, ``_touched.is_catalogue``, ``_dask``'s own test, ``hasattr(obj,
"columns")`` for a table), with the refusal worded in two places and reached only by some paths: ``crossmatch(5,
catalogue)`` answered ``AttributeError: 'int' object has no attribute 'columns'`` from the RA-in-hours check, and a
pyarrow Table (it has ``.columns``) was read as a table, answered "has no column 'ra'; available columns:" and the
reprs of its arrays. Now ``crossmatch/_sides.py`` answers, first, with one set of messages.
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pandas as pd
import pytest
from astropy.table import QTable, Table

from platform_lib.crossmatch import CrossmatchInputError, crossmatch

pytestmark = pytest.mark.unit

ACCEPTED = "an astropy Table, a pandas or Dask DataFrame, a HATS path, a registry name or an LSDB catalogue"


@pytest.fixture(scope="module")
def hats(tmp_path_factory):
    from platform_lib.catalogs import write_hats

    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"ra": rng.uniform(0, 360, 300), "dec": rng.uniform(-60, 60, 300)})
    root = tmp_path_factory.mktemp("sides") / "cat"
    write_hats(frame, root, name="cat", ra_column="ra", dec_column="dec", partition_rows=100)
    return root


def test_a_side_of_another_type_is_refused_with_one_message_on_every_path(hats):
    table = Table({"ra": [1.0], "dec": [2.0]})
    for left, right, side, shown in ((5, table, "left", "int"), (table, [1, 2], "right", "list"),
                                     (5, str(hats), "left", "int"), (str(hats), np.zeros(3), "right", "numpy.ndarray")):
        with pytest.raises(CrossmatchInputError) as seen:
            crossmatch(left, right, 1 * u.arcsec)
        assert seen.value.code == "unsupported-input"
        assert str(seen.value) == f"{side} must be {ACCEPTED}, got {shown}"


def test_a_pyarrow_table_is_not_read_as_a_table_and_its_type_is_named():
    import pyarrow as pa

    with pytest.raises(CrossmatchInputError, match=rf"^left must be {ACCEPTED}, got pyarrow\.lib\.Table$"):
        crossmatch(pa.table({"ra": [1.0], "dec": [2.0]}), Table({"ra": [1.0], "dec": [2.0]}), 1 * u.arcsec)


def test_names_and_bytes_keep_their_messages(hats):
    table = Table({"ra": [1.0], "dec": [2.0]})
    with pytest.raises(TypeError, match=r"^right must be a table, .* not bytes \(b'I/311'\): decode it, e\.g\. "
                                        r"right\.decode\(\)$"):
        crossmatch(table, b"I/311", 1 * u.arcsec)
    with pytest.raises(CrossmatchInputError, match=r"^left is an empty name: give a catalogue's registry name") as seen:
        crossmatch("", table, 1 * u.arcsec)
    assert seen.value.code == "empty-name"
    with pytest.raises(CrossmatchInputError) as seen:
        crossmatch(table, "x" * 300, 1 * u.arcsec)
    assert seen.value.code == "not-found" and "give a catalogue's registry name (e.g. 'I/311')" in str(seen.value)
    with pytest.raises(CrossmatchInputError, match=r"^right catalogue '.*nothing-here' does not exist$") as seen:
        crossmatch(table, hats.parent / "nothing-here", 1 * u.arcsec, lazy=True)
    assert seen.value.code == "not-found"


def test_what_each_kind_of_side_is():
    import dask.dataframe as dd

    from platform_lib.crossmatch._sides import DASK, FRAME, NAMED, TABLE, is_catalogue, is_lazy, kind_of

    frame = pd.DataFrame({"ra": [1.0], "dec": [2.0]})
    assert [kind_of(x) for x in (Table(frame.to_dict("list")), QTable(frame.to_dict("list")), frame,
                                 dd.from_pandas(frame, npartitions=1), "I/311", b"I/311", 5)] \
        == [TABLE, TABLE, FRAME, DASK, NAMED, None, None]
    assert kind_of(dd.from_pandas(frame, npartitions=1)["ra"]) is None  # a Dask Series is no table
    assert is_lazy(dd.from_pandas(frame, npartitions=1)) and not is_catalogue(dd.from_pandas(frame, npartitions=1))
    assert is_catalogue("I/311") and not is_lazy(frame)
