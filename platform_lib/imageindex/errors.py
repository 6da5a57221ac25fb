"""The image index's errors: :class:`ImageIndexError` (a :class:`~platform_lib.PlatformError`) and
:class:`ImageIndexInputError`, the bad arguments of the package's public functions."""

from __future__ import annotations

from platform_lib.errors import PlatformError

__all__ = ["ImageIndexError", "ImageIndexInputError"]


class ImageIndexError(PlatformError):
    """A failure building, updating or querying the image index (``code`` says which)."""

    code = "image-index"


class ImageIndexInputError(ImageIndexError, ValueError, TypeError):
    """An argument the image index cannot use (a position that is no SkyCoord, a radius that is no angle, an
    ``s_region`` that is no footprint ...), named with its value; ``code`` says which. A ``ValueError`` and a
    ``TypeError`` too, as Python's own bad arguments are, so ``except ValueError`` still catches it."""

    code = "bad-argument"
