"""Journey tests: every tutorial in ``examples/`` runs as a real hub user, cell by cell, on the running platform.

Each notebook is read from the user's own home (where the server copied the tutorials at start, as
for every user), and its code cells run one after another in a kernel of that user's server, through
the hub's proxy, on the session's platform with the sample data loaded. A cell that raises fails
the test, naming the notebook, the cell and the error; a tutorial that shows no picture fails too.
The sample data are checked here as well: what the tutorials stand on.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))
SAMPLE_TIMEOUT = 300.0


@pytest.fixture(scope="module")
def sample_data(platform, poll):
    """The sample data record, once ``astrohub up``'s background load has finished."""
    from platform_lib.sampledata import MARKER

    marker = platform.data_dir / "datasets" / MARKER
    log = platform.data_dir / "state" / "logs" / "sampledata.log"
    try:
        poll(marker.exists, SAMPLE_TIMEOUT, "the sample data load")
    except TimeoutError:
        pytest.fail(f"sample data not loaded in {SAMPLE_TIMEOUT:.0f} s; log:\n"
                    + (log.read_text()[-3000:] if log.exists() else "(none)"))
    return json.loads(marker.read_text())


@pytest.fixture(scope="module")
def traveller(platform, sample_data):
    """A new user in a group, with their server running (its start copies the tutorials home)."""
    user, group = platform.unique("tess"), platform.unique("survey")
    platform.create_user(user)
    platform.create_group(group, [user])
    platform.start_server(user)
    yield user
    platform.stop_server(user)


def test_sample_data_is_real_and_complete(platform, sample_data):
    from platform_lib.catalogs import Registry

    assert not sample_data["missing"], sample_data["missing"]
    registry = Registry(platform.data_dir / "datasets" / "catalogs" / "registry.sqlite", readonly=True)
    hip = registry.get("I/311")
    assert hip.nrows == 117_955 and hip.epoch == "J1991.25"
    ucds = {c.name: c.ucd for c in hip.columns}
    assert ucds["pmra"].startswith("pos.pm") and ucds["pmdec"].startswith("pos.pm")
    assert registry.get("OpenNGC").nrows > 13_000
    from platform_lib.catalogs._hats import read_layout

    assert read_layout(hip.hats_path).margin is not None  # the right side of a Dask crossmatch
    with sqlite3.connect(platform.data_dir / "datasets" / "images" / "index.sqlite") as conn:
        ids = {r[0] for r in conn.execute("SELECT obs_id FROM obscore")}
    assert {"sample/m13_dss", "sample/m1_dss", "sample/ngc1316_optical"} <= ids and len(ids) >= 8


def test_a_second_load_skips_what_is_there(platform, sample_data):
    from platform_lib.sampledata import load

    t0 = time.monotonic()
    report = load(platform.data_dir / "datasets", log=lambda line: None)
    assert not report.catalogs_loaded and not report.images_loaded
    assert set(report.catalogs_present) == {"I/311", "OpenNGC"}
    assert time.monotonic() - t0 < 30  # file checks only (generous on a loaded machine)


def test_every_tutorial_is_in_the_new_users_home(platform, traveller):
    names = {p.name for p in NOTEBOOKS}
    response = platform.server_get(traveller, "api/contents/tutorials")
    assert response.status_code == 200, response.text
    assert names <= {item["name"] for item in response.json()["content"]}


# The crossmatch tutorial compiles the numba kernels three times (kernel, Dask worker, job process) until they
# are compiled at install: ~5 min on a loaded 2-core machine, hence the wider limit than the tier's 600 s.
@pytest.mark.timeout(900)
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_journey(platform, traveller, notebook):
    results = platform.run_notebook(traveller, f"tutorials/{notebook.name}")
    assert results, f"{notebook.name} has no code cells"
    print(f"{notebook.name}: {sum(r.seconds for r in results):.1f} s;",
          ", ".join(f"cell {r.number} {r.seconds:.1f} s" for r in results))  # shown with -s / on failure
    pictures = [r.number for r in results if "image/png" in r.outputs]
    assert pictures, f"{notebook.name} shows no picture (no image/png output in any cell)"
