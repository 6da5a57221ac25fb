"""The image index's error: :class:`ImageIndexError` (a :class:`~platform_lib.PlatformError`)."""

from __future__ import annotations

from platform_lib.errors import PlatformError

__all__ = ["ImageIndexError"]


class ImageIndexError(PlatformError):
    """A failure building, updating or querying the image index (``code`` says which)."""

    code = "image-index"
