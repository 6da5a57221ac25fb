"""Kernel code that retries a check until it gives the outcome wanted: a change that reaches a user's server
later (a hub membership the group sync applies within its poll) is waited for in the user's own kernel.

Owns :func:`retry_until`, used by the storage and group-folder tests (each had its own copy). Test files
import it as ``from kernel_retry import retry_until`` (tests/conftest.py puts tests/support/ on the path).
May import the standard library only.
"""

from __future__ import annotations

import textwrap

__all__ = ["retry_until"]


def retry_until(outcome: str, want: str, deadline: float, *, setup: str = "") -> str:
    """Python source for a kernel: run ``setup``, then evaluate the expression ``outcome`` (a PermissionError
    gives ``"denied"``) every 0.2 s until it equals ``want`` or ``deadline`` seconds have passed; the last
    value is left in the kernel's variable ``outcome``.

    Examples
    --------
    >>> code = retry_until("os.listdir('/tmp') and 'listed'", "denied", 30)
    >>> "while outcome != 'denied'" in code
    True
    """
    return textwrap.dedent(setup) + textwrap.dedent(f"""
        import os, time
        def attempt():
            try:
                return {outcome}
            except PermissionError:
                return "denied"
        deadline = time.monotonic() + {deadline}
        outcome = attempt()
        while outcome != {want!r} and time.monotonic() < deadline:
            time.sleep(0.2)
            outcome = attempt()
        """)
