"""Background jobs: long crossmatches, async TAP queries (or any registered job kind) that outlive the kernel.

``_job`` owns the notebook-side handles (:func:`submit`, :func:`get_job`, :func:`list_jobs`,
:class:`Job`), ``_archive`` the user's TAP jobs on the platform archive made by any client (the
read-only :class:`ArchiveTapJob` entries of the list), ``_runner`` the detached process
(``python -m platform_lib.jobs run <dir>``), ``_kinds`` the job kinds, ``_store`` the files under
``<home>/.astrohub/jobs/<id>/``, ``_state`` what ``wait()`` returns, ``_errors`` the errors.
Importing this package starts nothing.
"""

from platform_lib.jobs._archive import ArchiveJobsWarning, ArchiveTapJob
from platform_lib.jobs._errors import (
    JobError,
    JobFailedError,
    JobNotFinishedError,
    UnknownJobError,
    UnknownJobKindError,
)
from platform_lib.jobs._job import Job, get_job, list_jobs, submit
from platform_lib.jobs._kinds import BUILTIN_KINDS, JobContext, JobKind
from platform_lib.jobs._state import JobState

__all__ = [
    "ArchiveJobsWarning",
    "ArchiveTapJob",
    "BUILTIN_KINDS",
    "Job",
    "JobContext",
    "JobError",
    "JobFailedError",
    "JobKind",
    "JobNotFinishedError",
    "JobState",
    "UnknownJobError",
    "UnknownJobKindError",
    "get_job",
    "list_jobs",
    "submit",
]
