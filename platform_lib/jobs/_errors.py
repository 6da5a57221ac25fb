"""The errors of background jobs: unknown ids and kinds, failed or unfinished jobs, bad specs."""

from __future__ import annotations

from platform_lib.errors import PlatformError

__all__ = ["JobError", "JobFailedError", "JobNotFinishedError", "UnknownJobError", "UnknownJobKindError"]


class JobError(PlatformError):
    """A background job cannot be submitted, found or read."""

    code = "job-error"


class UnknownJobError(JobError, KeyError):
    """No job with this id in the user's job folder."""

    code = "unknown-job"

    def __init__(self, job_id: str, root: str) -> None:
        super().__init__(
            f"no job {job_id!r} in {root}; list_jobs() shows the jobs there", value=job_id
        )
        self.job_id = job_id
        self.root = root

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


class UnknownJobKindError(JobError, ValueError):
    """The job kind is neither registered nor an importable ``module:function``."""

    code = "unknown-job-kind"


class JobNotFinishedError(JobError):
    """The result was asked for before the job finished (``state`` says where it is)."""

    code = "job-not-finished"

    def __init__(self, message: str, *, state: str) -> None:
        super().__init__(message, value=state)
        self.state = state


class JobFailedError(JobError):
    """The job failed or was cancelled; ``state`` and ``error`` say how."""

    code = "job-failed"

    def __init__(self, message: str, *, state: str, error: str | None) -> None:
        super().__init__(message, value=state)
        self.state = state
        self.error = error
