"""The moving-objects package's error: :class:`MovingObjectError`. Imports only ``platform_lib.errors``."""

from __future__ import annotations

from platform_lib.errors import PlatformError

__all__ = ["MovingObjectError"]


class MovingObjectError(PlatformError):
    """A moving-object request that cannot be answered, with a ``code`` and the offending ``value``.

    Codes: ``unknown-body``, ``outside-ephemeris``, ``hyperbolic-orbit``, ``bad-orbit``,
    ``bad-tolerance``, ``no-time``, ``unknown-observatory``, ``no-spacetime-index``, ``bad-time``.
    """

    code = "moving-object-error"
