"""A newcomer's first notebook cells while the sample data's first load runs, on the running platform.

first18: right after `astrohub up` the sample data loads for about a minute; the archive's errors said so, but the
same lookups made directly in a notebook (a catalogue by name, ``SkyCoord.from_name``) said only "no table" or
"not a name the platform resolves", which read as missing data. The platform here has finished its load, so the
test puts it back in that minute: the load's file in the datasets folder, the record of a finished load set aside
(both put back after).
"""

from __future__ import annotations

import json
import time

import pytest

from platform_lib.sampledata import LOADING, MARKER

CELLS = """
import astropy.units as u
from astropy.coordinates import SkyCoord
from platform_lib.catalogs import Registry, cone_search
for lookup in (lambda: cone_search("I/311/hip2x", SkyCoord(10 * u.deg, 10 * u.deg), 1 * u.deg),
               lambda: Registry.from_settings(readonly=True).get("OpenNGCx"),
               lambda: SkyCoord.from_name("Nosuch Nebula")):
    try:
        lookup()
    except Exception as exc:
        print("ERROR", type(exc).__name__, str(exc).splitlines()[0])
"""


@pytest.fixture(scope="module")
def newcomer(platform):
    with platform.user_with_server("firstload") as user:
        yield user


def test_while_the_sample_data_first_loads_a_notebooks_lookups_say_so(platform, newcomer, poll):
    datasets = platform.data_dir / "datasets"
    poll((datasets / MARKER).exists, 600, "the platform's own first load of the sample data")  # then it is ours
    record, aside = datasets / MARKER, datasets / f"{MARKER}.first18-aside"
    record.rename(aside)
    try:
        (datasets / LOADING).write_text(json.dumps({"started": time.time() - 12, "pid": 1}))
        (datasets / LOADING).chmod(0o644)
        out = platform.execute(newcomer, CELLS)
    finally:
        (datasets / LOADING).unlink(missing_ok=True)
        aside.rename(record)
    errors = [line for line in out.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 3, out
    for line in errors:
        assert "the platform's sample data is still loading (started 1" in line, out
        assert "s ago); try again in a minute" in line, out
    # the load done: the errors as before
    out = platform.execute(newcomer, CELLS)
    assert out.count("ERROR") == 3 and "still loading" not in out, out
