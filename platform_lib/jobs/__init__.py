"""Background jobs: long crossmatches, async TAP queries (or any registered job kind) that outlive the kernel.

``_job`` owns the notebook-side handles (:func:`submit`, :func:`get_job`, :func:`list_jobs`,
:class:`Job`), ``_sources`` the list's entries kept elsewhere (:class:`JobSource`, registered as
``astrohub.jobs.sources`` entry points: ``platform_lib.retrieval`` adds the user's TAP jobs on the
platform archive, and the ``tap`` kind as an ``astrohub.jobs`` one), ``_runner`` the detached process
(``python -m platform_lib.jobs run <dir>``), ``_kinds`` the job kinds, ``_store`` the files under
``<home>/.astrohub/jobs/<id>/``, ``_state`` what ``wait()`` returns, ``_wait`` the poll loop behind every
``wait()`` (:func:`poll_until`, also used by ``platform_lib.retrieval``'s UWS jobs), ``_errors`` the errors.
Importing this package starts nothing.
"""

from platform_lib.jobs._errors import (
    JobError,
    JobFailedError,
    JobNotFinishedError,
    UnknownJobError,
    UnknownJobKindError,
)
from platform_lib.jobs._job import Job, get_job, list_jobs, submit
from platform_lib.jobs._kinds import BUILTIN_KINDS, JobContext, JobKind, read_table, split_table
from platform_lib.jobs._sources import JobSource
from platform_lib.jobs._state import JobState
from platform_lib.jobs._wait import poll_until

__all__ = [
    "BUILTIN_KINDS",
    "Job",
    "JobContext",
    "JobError",
    "JobFailedError",
    "JobKind",
    "JobNotFinishedError",
    "JobSource",
    "JobState",
    "UnknownJobError",
    "UnknownJobKindError",
    "get_job",
    "list_jobs",
    "poll_until",
    "read_table",
    "split_table",
    "submit",
]
