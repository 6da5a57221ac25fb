"""Entries of the job list kept somewhere other than the home's job folder: job sources.

A :class:`JobSource` is registered in the ``astrohub.jobs.sources`` entry-point group (as the ``tap``
kind is in ``astrohub.jobs``): ``platform_lib.retrieval`` registers the user's TAP jobs on the platform
archive, made by any client, so that :func:`list_jobs <platform_lib.jobs.list_jobs>` shows them beside
the home's jobs and :func:`get_job <platform_lib.jobs.get_job>` finds them by their id prefix, while
this package never imports retrieval. Imports the standard library only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

__all__ = ["JobSource", "job_sources", "sort_key"]

#: The entry-point group job sources are registered in.
GROUP = "astrohub.jobs.sources"


@dataclass(frozen=True)
class JobSource:
    """Where more job-list entries come from.

    ``prefix`` starts the ids of its entries (never a date, which starts the home's job ids);
    ``list(home_jobs, settings=)`` returns its entries not already stood for by one of ``home_jobs``
    (it warns and returns ``[]`` when it cannot answer, never failing the whole list);
    ``get(job_id, settings=)`` returns the entry with that id or raises
    :class:`~platform_lib.jobs.UnknownJobError`. Entries answer like :class:`~platform_lib.jobs.Job`
    (``id``, ``info()``, ``status()``, ``wait()``, ``result()``...) and may give ``created``
    (``YYYYMMDDTHHMMSS``) to be sorted by.
    """

    prefix: str
    list: Callable[..., list[Any]]
    get: Callable[..., Any]


def job_sources() -> list[JobSource]:
    """The registered :class:`JobSource` objects, by entry-point name."""
    found = []
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        source = ep.load()
        if not isinstance(source, JobSource):
            raise TypeError(f"entry point {ep.name!r} of group {GROUP!r} ({ep.value}) is a "
                            f"{type(source).__name__}, not a platform_lib.jobs.JobSource")
        found.append(source)
    return found


def sort_key(job: Any) -> str:
    """``YYYYMMDDTHHMMSS`` of when a job was made: a source's entry's ``created``, a home job's id."""
    created = getattr(job, "created", None)
    return created if isinstance(created, str) else job.id[:15]
