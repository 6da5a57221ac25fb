"""The moving-objects package's errors: :class:`MovingObjectError`, and :class:`UnknownImage` for an image that is
not in the index. Imports only ``platform_lib.errors``."""

from __future__ import annotations

from platform_lib.errors import NotThere, PlatformError

__all__ = ["MovingObjectError", "UnknownImage"]


class MovingObjectError(PlatformError):
    """A moving-object request that cannot be answered, with a ``code`` and the offending ``value``.

    Codes: ``unknown-body``, ``outside-ephemeris``, ``hyperbolic-orbit``, ``bad-orbit``,
    ``bad-tolerance``, ``no-time``, ``unknown-observatory``, ``no-spacetime-index``, ``bad-time``.
    """

    code = "moving-object-error"


class UnknownImage(MovingObjectError, NotThere):
    """An image that is not in the index, or not visible to the user (while the sample data loads, the message
    says so)."""

    code = "unknown-image"
