"""While the sample data's first load runs, errors raised in a notebook about data not there yet say so.

first18: right after `astrohub up` the archive's errors said "the platform's sample data is still loading", but the
same lookups made directly in a notebook (a catalogue by name, an image by obs_id, ``SkyCoord.from_name``) said only
"no table"/"not in the index"/"not a name the platform resolves", which read as missing data. Every
``platform_lib.errors.NotThere`` (and the name resolver's message) now adds the note, from ``PLATFORM_DATASETS``.
"""

from __future__ import annotations

import json
import os
import time

import astropy.units as u
import pytest
from astropy.coordinates import SkyCoord

from platform_lib.catalogs import CatalogNotFound, Registry, cone_search
from platform_lib.sampledata import LOADING, MARKER
from platform_lib.offline import unresolved_message
from platform_lib.skyposition import PositionError

NOTE = "the platform's sample data is still loading (started 1"


@pytest.fixture
def datasets(tmp_path, monkeypatch):
    """A user's datasets folder (``PLATFORM_DATASETS``) while the first load runs, 12 s after it started."""
    folder = tmp_path / "datasets"
    (folder / "catalogs").mkdir(parents=True)
    (folder / LOADING).write_text(json.dumps({"started": time.time() - 12, "pid": 1}))
    monkeypatch.setenv("PLATFORM_DATASETS", str(folder))
    monkeypatch.delenv("PLATFORM_CATALOG_REGISTRY", raising=False)
    return folder


def _lookups(folder):
    """The messages of the lookups a newcomer makes in her first notebook cells."""
    messages = []
    with pytest.raises(CatalogNotFound) as exc:  # the registry not even there yet
        cone_search("I/311/hip2", SkyCoord(10 * u.deg, 10 * u.deg), 1 * u.deg)
    messages.append(str(exc.value))
    Registry(folder / "catalogs" / "registry.sqlite")  # there, without Hipparcos yet
    for lookup in (lambda: cone_search("I/311/hip2", SkyCoord(10 * u.deg, 10 * u.deg), 1 * u.deg),
                   lambda: Registry.from_settings(readonly=True).get("OpenNGC")):
        with pytest.raises(CatalogNotFound) as exc:
            lookup()
        messages.append(str(exc.value))
    messages.append(unresolved_message("M31", "All Sesame queries failed. ..."))
    # firsthour25: a search around a name (the catalogues tutorial's 'Pleiades') said the name was not one the
    # platform's catalogues hold, which read as a name it will never know
    with pytest.raises(PositionError) as exc:
        cone_search("I/311/hip2", "Pleiades", 1 * u.deg)
    messages.append(str(exc.value))
    return messages


def test_while_it_loads_the_lookups_say_so(datasets) -> None:
    messages = _lookups(datasets)
    assert len(messages) == 5
    for message in messages:
        assert NOTE in message and "s ago); try again in a minute" in message, message
    assert messages[-2].startswith("'M31' is not a name the platform resolves offline yet: the platform's sample data")
    assert messages[-1].startswith("center='Pleiades' is not a sky position nor a name the platform's catalogues hold yet: "
                                   "the platform's sample data is still loading")


@pytest.mark.parametrize("state", ["finished", "never"])
def test_otherwise_they_say_what_they_said(datasets, state) -> None:
    if state == "finished":
        (datasets / MARKER).write_text("{}")
    else:
        (datasets / LOADING).unlink()
    for message in _lookups(datasets):
        assert "still loading" not in message, message


def test_on_a_cluster_the_jobs_dataset_is_where_it_loads(tmp_path, monkeypatch) -> None:
    # the chart's Job loads into the dataset holding the registry (/datasets/sample-sky), users' PLATFORM_DATASETS
    # is the area above (/datasets): the note comes from the registry's dataset
    area = tmp_path / "datasets"
    (area / "sample-sky" / "catalogs").mkdir(parents=True)
    (area / "sample-sky" / LOADING).write_text(json.dumps({"started": time.time() - 12, "pid": 1}))
    monkeypatch.setenv("PLATFORM_DATASETS", str(area))
    monkeypatch.setenv("PLATFORM_CATALOG_REGISTRY", str(area / "sample-sky" / "catalogs" / "registry.sqlite"))
    with pytest.raises(CatalogNotFound, match=r"no catalogue registry at .*; the platform's sample data is still loading"):
        Registry.from_settings(readonly=True)
    (area / "sample-sky" / LOADING).unlink()
    with pytest.raises(CatalogNotFound) as exc:
        Registry.from_settings(readonly=True)
    assert "still loading" not in str(exc.value)


def test_a_killed_loads_file_says_nothing_once_it_is_stale(datasets, monkeypatch) -> None:
    # the chart's Job killed at its deadline or out of memory never ran its `finally`, and on a cluster no
    # supervisor removes the file: the note said "still loading (started 5 h ago)" for ever. A running load
    # touches the file every HEARTBEAT_S; one untouched for STALE_AFTER_S is not running.
    from platform_lib import firstload

    assert firstload.still_loading(datasets) is not None
    old = time.time() - 5 * 3600  # killed five hours ago
    os.utime(datasets / LOADING, (old, old))
    assert firstload.still_loading(datasets) is None
    for message in _lookups(datasets):
        assert "still loading" not in message, message


def test_a_running_load_keeps_its_file_fresh(tmp_path, monkeypatch) -> None:
    from platform_lib import firstload

    monkeypatch.setattr(firstload, "HEARTBEAT_S", 0.05)
    with firstload.first_load(tmp_path, True):
        old = time.time() - firstload.STALE_AFTER_S - 60
        os.utime(tmp_path / LOADING, (old, old))
        deadline = time.monotonic() + 60  # (a sleep of ten heartbeats was not always enough on a busy machine)
        while firstload.still_loading(tmp_path) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert firstload.still_loading(tmp_path) is not None
    assert not (tmp_path / LOADING).exists()
