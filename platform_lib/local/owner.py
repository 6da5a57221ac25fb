"""The owner of a running platform: a process whose exit stops the platform (``astrohub up --owner PID``).

Owns :class:`Owner`; imports :mod:`platform_lib.processes` (the one "is this process alive" check) and
:mod:`platform_lib.local.errors`.

A test session or a script that starts the platform names itself its owner, so the platform never
outlives it, even when the owner is killed (SIGKILL, a crash) and cannot run ``astrohub down``. The
supervisor asks :meth:`Owner.gone` on every turn of its watch loop and then stops by the path Ctrl-C
takes (the gateway, the hub, the proxy, then every remaining descendant: users' servers, Dask clusters).
Without ``--owner`` the platform runs until Ctrl-C or ``astrohub down``, as before.

Polling, rather than ``PR_SET_PDEATHSIG`` or a pipe, because the owner is not the supervisor's parent
when it detaches (``up --detach`` starts it in a session of its own and exits), and it works for any
process the user names. A pid is known with its start time, so a pid the system hands to a new process
after the owner exits is not taken for the owner.
"""

from __future__ import annotations

from platform_lib.local.errors import ConfigError
from platform_lib.processes import process_alive, process_start_ticks

__all__ = ["Owner"]


class Owner:
    """The process ``pid``, as it is now (its start time pins it).

    Raises
    ------
    ConfigError
        When no process ``pid`` is running (key ``--owner``).

    Examples
    --------
    >>> import os
    >>> Owner(os.getpid()).gone()
    False
    """

    def __init__(self, pid: int) -> None:
        self.pid = int(pid)
        self._start_ticks = process_start_ticks(self.pid) if self.pid > 0 else None
        if not process_alive(self.pid, self._start_ticks):
            raise ConfigError(
                f"--owner {pid}: no process {pid} is running; name the pid of a running process whose exit "
                "should stop the platform (for example a test session's own pid), or leave --owner out",
                key="--owner",
                value=pid,
            )

    def gone(self) -> bool:
        """Whether the owner has exited (a zombie counts as exited; so does a new process with its pid)."""
        return not process_alive(self.pid, self._start_ticks)

    def __repr__(self) -> str:
        return f"Owner(pid={self.pid})"
