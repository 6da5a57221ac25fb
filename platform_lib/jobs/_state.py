"""What waiting for a job returns: :class:`JobState`, shared by home jobs and archive TAP jobs.

Imports only the standard library.
"""

from __future__ import annotations

__all__ = ["JobState"]


class JobState(str):
    """What :meth:`Job.wait` returns: the state (``"succeeded"``, ``"failed"`` ...), a plain ``str``,
    that also carries the job's ``error`` and shows it where a notebook shows the value.

    Examples
    --------
    >>> state = JobState("failed", "ValueError: no margin cache")
    >>> state == "failed", state.error
    (True, 'ValueError: no margin cache')
    >>> state
    'failed' (ValueError: no margin cache)
    """

    error: str | None

    def __new__(cls, state: str, error: str | None = None) -> "JobState":
        self = super().__new__(cls, state)
        self.error = error or None
        return self

    def __repr__(self) -> str:
        return f"{str.__repr__(self)} ({self.error})" if self.error else str.__repr__(self)
