"""The crossmatch package's errors and warnings; imports nothing but the platform's root error."""

from __future__ import annotations

from platform_lib.errors import PlatformError

__all__ = ["CrossmatchError", "CrossmatchInputError", "DroppedRowsWarning"]


class CrossmatchError(PlatformError):
    """A crossmatch could not run (bad input, unusable catalogue, failed cluster)."""

    code = "crossmatch-error"


class CrossmatchInputError(CrossmatchError, ValueError):
    """An argument or an input column is wrong; ``value`` holds the offending value.

    ``available`` lists the columns the table does have, when a column was missing or mistyped.
    """

    code = "bad-crossmatch-input"

    def __init__(self, message: str, *, code: str | None = None, value=None, available=None) -> None:
        super().__init__(message, code=code, value=value)
        self.available = list(available) if available is not None else None


class DroppedRowsWarning(UserWarning):
    """Rows were left out of a crossmatch (for example NaN coordinates); the message says how many."""
