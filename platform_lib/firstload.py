"""The sample data's first load as everything else sees it: whether it runs, and the sentence an error adds.

Right after ``astrohub up`` (or the chart's sample-data Job) the sample data loads for about a minute; an error
about a catalogue, an image or a name that is not there yet ("no table 'I/311/hip2' in the registry", "image
'sample/m1_dss' is not in the index") read as missing data. Owns the two files the load keeps in the datasets
folder, :data:`LOADING` (while a first load runs) and :data:`MARKER` (once a load has finished), the writer of
the first (:func:`first_load`) and what reads it: :func:`loading_since` and :func:`still_loading`, the sentence
that :class:`platform_lib.errors.NotThere` errors (raised in a notebook), ``SkyCoord.from_name`` on the platform,
the archive service (``--sample-data``) and ``astrohub status`` add. Loading itself is
:mod:`platform_lib.sampledata`'s. Imports :mod:`platform_lib.atomic` and :mod:`platform_lib.settings` (the
datasets folder, when none is given).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from platform_lib.atomic import write_atomic
from platform_lib.settings import get_settings

__all__ = ["HEARTBEAT_S", "LOADING", "MARKER", "STALE_AFTER_S", "first_load", "loading_since", "still_loading"]

#: The record written in the datasets folder once everything is loaded (:mod:`platform_lib.sampledata` writes it).
MARKER = "sample-data.json"
#: While the first load runs (no :data:`MARKER` yet), in the datasets folder: ``{"started": <unix time>, "pid": ...}``;
#: :func:`first_load` removes it when the load ends, the supervisor when it stops a load, and touches it every
#: :data:`HEARTBEAT_S` while it runs.
LOADING = "sample-data.loading.json"
#: Seconds between the touches of :data:`LOADING` by a running load.
HEARTBEAT_S = 30.0
#: A :data:`LOADING` untouched this long belongs to a load that was killed (the chart's Job at its deadline, or
#: out of memory: its ``finally`` never ran, and on a cluster no supervisor removes the file): no note then.
STALE_AFTER_S = 300.0


def loading_since(datasets: str | os.PathLike) -> float | None:
    """Seconds since the sample data's first load into ``datasets`` started, while it runs; None when none runs
    (finished, never started, killed: its file untouched for :data:`STALE_AFTER_S`, or a later load: what an
    upgrade rebuilds stays served in its old version)."""
    datasets = Path(datasets)
    try:
        started = float(json.loads((datasets / LOADING).read_text())["started"])
        touched = (datasets / LOADING).stat().st_mtime
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if (datasets / MARKER).exists() or time.time() - touched > STALE_AFTER_S:
        return None
    return max(0.0, time.time() - started)


def _configured_folders() -> list[Path]:
    """Where the settings say a first load may run: the datasets area (``PLATFORM_DATASETS``: ``astrohub up``
    loads there) and the folder holding the catalogue registry's ``catalogs/`` (the chart's Job loads into the
    dataset that holds the registry, ``/datasets/sample-sky``); none when the settings cannot be read (an error is
    being reported: never raise another)."""
    try:
        settings = get_settings()
    except Exception:
        return []
    folders = [settings.datasets] if settings.datasets is not None else []
    if settings.registry_path is not None and settings.registry_path.parent.parent not in folders:
        folders.append(settings.registry_path.parent.parent)
    return folders


def still_loading(datasets: str | os.PathLike | None = None, *, configured: bool = False) -> str | None:
    """The sentence to add to an error about data that is not there, while the first load runs, else None:
    right after ``astrohub up`` "sample/m1_dss is not in the index" read as a defect.

    ``datasets`` is the folder the sample data loads into; with ``configured=True`` and none given, those the
    platform's settings name (a user's server, kernel or Dask worker: :func:`_configured_folders`).

    >>> still_loading("/nowhere") is None
    True
    """
    folders = [datasets] if datasets is not None else _configured_folders() if configured else []
    since = next((s for s in map(loading_since, folders) if s is not None), None)
    if since is None:
        return None
    return f"the platform's sample data is still loading (started {since:.0f} s ago); try again in a minute"


@contextmanager
def first_load(datasets: Path, first: bool) -> Iterator[None]:
    """Keeps :data:`LOADING` in ``datasets`` while a first load runs (``first``); nothing otherwise."""
    if not first:
        yield
        return
    write_atomic(datasets / LOADING, json.dumps({"started": time.time(), "pid": os.getpid()}), mode=0o644)
    done = threading.Event()

    def heartbeat() -> None:  # a killed load stops touching it: readers then take it as stale (STALE_AFTER_S)
        while not done.wait(HEARTBEAT_S):
            with contextlib.suppress(OSError):
                os.utime(datasets / LOADING)

    beat = threading.Thread(target=heartbeat, name="sample-data-heartbeat", daemon=True)
    beat.start()
    try:
        yield
    finally:
        done.set()
        beat.join()
        (datasets / LOADING).unlink(missing_ok=True)
