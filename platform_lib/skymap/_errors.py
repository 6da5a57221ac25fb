"""The errors of the sky-map package: bad files, missing columns, maps that are not normalised."""

from __future__ import annotations

from platform_lib.errors import PlatformError

__all__ = ["SkymapError", "SkymapFormatError", "SkymapNotNormalizedError", "SkymapWarning"]


class SkymapError(PlatformError, ValueError):
    """A sky map (or the catalogue matched against it) cannot be used as given."""

    code = "bad-skymap"


class SkymapFormatError(SkymapError):
    """The file is not a HEALPix probability sky map we can read (format, columns, ordering)."""

    code = "skymap-format"


class SkymapNotNormalizedError(SkymapError):
    """The probabilities do not sum to one; ``total`` is what they sum to."""

    code = "skymap-not-normalized"

    def __init__(self, message: str, *, total: float) -> None:
        super().__init__(message, value=total)
        self.total = total


class SkymapWarning(UserWarning):
    """A sky-map answer that is not quite what was asked for (say no pixel within a credible level)."""
