"""The root of every error the platform library raises.

Each sub-package subclasses :class:`PlatformError` for its own failures (``StorageError``,
``CatalogError``, ...). Errors carry a machine-readable ``code`` and the offending ``value`` so that
services can turn them into their protocol's error form without parsing messages.
"""

from __future__ import annotations

from typing import Any


class PlatformError(Exception):
    """A failure the user can act on.

    Parameters
    ----------
    message
        What went wrong, with the offending value, and how to fix it.
    code
        A short stable identifier (``"quota-exceeded"``, ``"not-a-member"``); services map it to
        their protocol's error form.
    value
        The offending input, when there is one.
    """

    code: str = "platform-error"

    def __init__(self, message: str, *, code: str | None = None, value: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.value = value

    def __str__(self) -> str:
        return self.message
