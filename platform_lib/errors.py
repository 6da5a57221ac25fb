"""The root of every error the platform library raises, and where its warnings point.

Each sub-package subclasses :class:`PlatformError` for its own failures (``StorageError``,
``CatalogError``, ...). Errors carry a machine-readable ``code`` and the offending ``value`` so that
services can turn them into their protocol's error form without parsing messages. :class:`NotThere` is the
one for a catalogue, image or name the user asked for that is not there: while the sample data's first load
runs, it says so (:mod:`platform_lib.firstload`).
:func:`stacklevel_outside` points a warning at the user's line, not at the library's.
"""

from __future__ import annotations

import pathlib
import sys
from typing import Any

from platform_lib.firstload import still_loading


def stacklevel_outside(module_file: str, *through: str) -> int:
    """The ``stacklevel`` for a ``warnings.warn`` in the function calling this one, pointing the warning at the
    first caller outside the package folder that holds ``module_file`` (give ``__file__``): the user's cell,
    however many of the package's functions lie between. ``through`` names other packages whose frames are passed
    over too, where the user's call reaches the package through them (``"traitlets"``, which calls a widget's
    validator when the user sets a trait: the warning pointed into traitlets); one not imported has no frame."""
    folders = {pathlib.Path(module_file).resolve().parent}
    for name in through:
        where = getattr(sys.modules.get(name), "__file__", None)
        if where:
            folders.add(pathlib.Path(where).resolve().parent)
    frame, level = sys._getframe(1), 1
    while frame is not None and not folders.isdisjoint(pathlib.Path(frame.f_code.co_filename).resolve().parents):
        frame, level = frame.f_back, level + 1
    return level


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


class NotThere(PlatformError):
    """Something the user named is not there: a catalogue or table, an image, a name.

    While the platform's sample data is still loading (right after ``astrohub up``, or the chart's Job), the
    message ends with a note saying so (:func:`platform_lib.firstload.still_loading`; the datasets folder is
    ``PLATFORM_DATASETS``'s), kept in ``loading`` too (None otherwise): "not in the index" read as missing data.
    Sub-packages' errors of this kind derive from their own error and this one (``CatalogNotFound``).
    """

    code = "not-there"

    def __init__(self, message: str, **fields: Any) -> None:
        self.loading = still_loading(configured=True)
        super().__init__(f"{message}; {self.loading}" if self.loading else message, **fields)
