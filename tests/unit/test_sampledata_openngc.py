"""The OpenNGC sample catalogue as read from pyongc's ``ongc.db``: what the platform's users query."""

from __future__ import annotations

import numpy as np

from platform_lib.sampledata._sources import openngc_table


def test_missing_text_values_are_masked_not_empty_strings():
    """ongc.db writes a missing Messier number, Hubble type or common name as ''; kept as '', TAP's
    ``messier IS NOT NULL`` (the ADQL a user copies) returned every one of the 13,000 rows."""
    ngc = openngc_table()
    messier = ngc["messier"]
    assert 100 < int(np.sum(~messier.mask)) < 115  # the Messier objects among the NGC/IC entries
    assert "" not in set(messier[~messier.mask])
    assert messier[ngc["name"] == "NGC1952"][0] == "001"  # M1, the Crab Nebula
    for name in ("hubble", "common_names"):
        column = ngc[name]
        assert column.mask.any() and "" not in set(column[~column.mask]), name
    assert "" not in set(ngc["const"][~ngc["const"].mask])
    assert not ngc["name"].mask.any() and not ngc["type"].mask.any()
