"""Waiting for work that runs elsewhere: the one poll loop behind every ``wait()`` of a job.

:func:`poll_until` looks at something (a home job's status file, a UWS job's phase, a process) until it
is finished or a timeout passes, sleeping between looks (a fixed interval, or one that doubles from a
first, shorter one), and can show a tqdm progress bar meanwhile. :class:`~platform_lib.jobs.Job`'s
``wait`` and ``cancel`` use it, and so do :mod:`platform_lib.retrieval`'s UWS waits (``TapJob.wait``,
``ArchiveTapJob.wait``, the ``tap`` kind's loop). Interrupting it (Ctrl-C, the stop button) stops the
wait only, never the work. Imports only the standard library (and tqdm when a bar is asked for).
"""

from __future__ import annotations

import time
from typing import Any, Callable, TypeVar

__all__ = ["poll_until"]

T = TypeVar("T")


def poll_until(look: Callable[[], T], finished: Callable[[T], bool], *, every: float,
               timeout: float | None = None, first: float | None = None, bar: dict[str, Any] | None = None,
               show: Callable[[Any, T, bool], None] | None = None) -> tuple[T, bool]:
    """Call ``look()`` until ``finished(value)`` or ``timeout`` seconds pass; ``(last value, finished)``.

    Parameters
    ----------
    look, finished
        What to read (e.g. ``job.info``), and whether what it read is the end.
    every
        Seconds between two looks; with ``first``, the first pause is ``first`` seconds and each next
        one twice the last, up to ``every`` (quick answers for quick work, few looks at long work).
    timeout
        Seconds after which the last value is returned, finished or not (None: no limit). The work is
        looked at at least once, also with ``timeout=0``.
    bar, show
        With ``bar`` (tqdm's keyword arguments), a ``tqdm.auto`` bar is shown while waiting, and
        ``show(bar, value, finished)`` updates it after each look; the bar is closed at the end, also
        when the wait is interrupted.

    Examples
    --------
    >>> values = iter(["queued", "running", "done"])
    >>> poll_until(lambda: next(values), lambda v: v == "done", every=0.01)
    ('done', True)
    >>> poll_until(lambda: "running", lambda v: v == "done", every=0.01, timeout=0)
    ('running', False)
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    pause = every if first is None else min(first, every)
    progress = None
    if bar is not None:
        from tqdm.auto import tqdm

        progress = tqdm(**bar)
    try:
        while True:
            value = look()
            done = finished(value)
            if progress is not None and show is not None:
                show(progress, value, done)
            if done or (deadline is not None and time.monotonic() >= deadline):
                return value, done
            time.sleep(pause)
            pause = min(2 * pause, every)
    finally:
        if progress is not None:
            progress.close()
