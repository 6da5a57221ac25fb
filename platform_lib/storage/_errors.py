"""The storage errors: every failure of ``platform_lib.storage`` is a :class:`StorageError` with a ``code``.

Imports nothing but :mod:`platform_lib.errors` and :mod:`platform_lib.storage._sizes`.
"""

from __future__ import annotations

from platform_lib.errors import PlatformError
from platform_lib.storage._sizes import size_text

__all__ = [
    "StorageError", "SpaceNotFound", "PathNotFound", "PathEscape", "ReadOnlySpace", "NotAMember",
    "QuotaExceeded", "AlreadyExists", "UnknownFormat", "WorkspaceDeleted",
]


class StorageError(PlatformError):
    """A storage failure the user can act on."""

    code = "storage-error"


class SpaceNotFound(StorageError):
    """The address names no space this user has (``home``, ``scratch``, ``datasets``, ``group/<name>``...)."""

    code = "space-not-found"


class WorkspaceDeleted(SpaceNotFound):
    """The shared workspace was deleted by its owner (or an admin): attributes ``workspace`` (its space's name,
    ``workspace/<name>``), ``deleted_by`` and ``deleted_at`` (UTC, ``YYYY-MM-DD HH:MM UTC``)."""

    code = "workspace-deleted"

    def __init__(self, workspace: str, deleted_by: str, deleted_at: str) -> None:
        super().__init__(
            f"{workspace} was deleted by {deleted_by!r} on {deleted_at}: its folder is no longer shared, so nothing "
            "can be read or written there any more. Keep your work in another space, e.g. "
            "Storage().write_bytes('home:<file>', data) (or File > Save As... in Lab); its files are kept for the "
            f"platform's admins: ask {deleted_by!r} or an admin for files you need.", value=workspace)
        self.workspace, self.deleted_by, self.deleted_at = workspace, deleted_by, deleted_at


class PathNotFound(StorageError):
    """No file or folder at that address."""

    code = "not-found"


class PathEscape(StorageError):
    """The path leaves its space (``..``, an absolute path, or a symbolic link pointing outside)."""

    code = "path-escape"


class ReadOnlySpace(StorageError):
    """A write, move or delete in a read-only space (the datasets area)."""

    code = "read-only"


class NotAMember(StorageError):
    """Access to a group workspace by a user outside the group."""

    code = "not-a-member"


class AlreadyExists(StorageError):
    """The target exists and ``overwrite`` was not given."""

    code = "exists"


class UnknownFormat(StorageError):
    """A table or image format that cannot be told from the name, or that the data is not in."""

    code = "unknown-format"


class FormatCannotHold(StorageError, ValueError):
    """A table holding what the format its name asks for cannot store: text other than ASCII in a FITS table
    (OpenNGC's ``ο Per``, an accented name). Attributes ``column`` and ``row``: the first such cell."""

    code = "format-cannot-hold"

    def __init__(self, message: str, *, column: str, row: int, value) -> None:
        super().__init__(message, value=value)
        self.column, self.row = column, row


class QuotaExceeded(StorageError):
    """A write that would take the space over its quota; nothing of it is left behind.

    Attributes ``space``, ``quota`` (bytes), ``used`` (bytes before the write) and ``needed``
    (bytes the write asked for, or had written when it was stopped).
    """

    code = "quota-exceeded"

    def __init__(self, message: str, *, space: str, quota: int, used: int, needed: int) -> None:
        super().__init__(message, value=space)
        self.space, self.quota, self.used, self.needed = space, quota, used, needed

    @classmethod
    def writing(cls, space: str, what: str, *, quota: int, used: int, needed: int,
                at_least: bool = False) -> "QuotaExceeded":
        """The refusal of writing ``what`` (``needed`` bytes; ``at_least``: the write was stopped after them) into
        ``space``, which holds ``used`` bytes of its ``quota``: the sizes in the units ``platform_lib.usage()``
        writes, and how to free space or whom to ask.

        >>> print(QuotaExceeded.writing("group/lensing", "m31.fits", quota=50 * 10**6, used=49_800_000,
        ...                             needed=2_406_272))  # doctest: +NORMALIZE_WHITESPACE
        group/lensing: writing m31.fits (2.4 MB) would take the space over its quota of 50.0 MB (49.8 MB used,
        200.0 kB free); nothing was written. Free space in group/lensing (delete or move files you no longer need;
        platform_lib.usage() shows what each of your spaces holds), or ask the platform's admins for a larger quota.
        """
        size = f"at least {size_text(needed)}" if at_least else size_text(needed)
        return cls(f"{space}: writing {what} ({size}) would take the space over its quota of {size_text(quota)} "
                   f"({size_text(used)} used, {size_text(max(quota - used, 0))} free); nothing was written. Free "
                   f"space in {space} (delete or move files you no longer need; platform_lib.usage() shows what "
                   "each of your spaces holds), or ask the platform's admins for a larger quota.",
                   space=space, quota=quota, used=used, needed=needed)
