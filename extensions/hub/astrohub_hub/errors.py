"""The root of every error the hub package raises (it never imports ``platform_lib``).

Errors carry a stable ``code`` and the offending ``value`` so that the local platform can print a
clear message and the Helm tests can match on them without parsing text.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BackendError", "HubError", "HubConfigError", "UsernameError"]


class HubError(Exception):
    """A hub-side failure the operator can act on.

    Parameters
    ----------
    message
        What went wrong, with the offending value, and how to fix it.
    code
        A short stable identifier (``"bad-username"``, ``"missing-kubernetes"``).
    value
        The offending input, when there is one.
    """

    code: str = "hub-error"

    def __init__(self, message: str, *, code: str | None = None, value: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.value = value

    def __str__(self) -> str:
        return self.message


class BackendError(HubError):
    """A system a hub service relies on failed (a grading Job that failed or ran out of time, the Kubernetes
    API, nbgrader): not the caller's input, so an HTTP service answers it ``status`` (502, Bad Gateway) with
    the message, which names what failed and why, never a traceback."""

    code = "backend-failed"
    status = 502


class HubConfigError(HubError, ValueError):
    """The settings cannot be turned into a working hub configuration (names the setting)."""

    code = "bad-config"

    def __init__(self, message: str, *, key: str, value: Any = None, code: str | None = None) -> None:
        super().__init__(f"{key}: {message}", code=code, value=value)
        self.key = key


class UsernameError(HubError, ValueError):
    """A hub user name that cannot be mapped to a safe system user name."""

    code = "bad-username"
