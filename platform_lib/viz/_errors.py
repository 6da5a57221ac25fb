"""The errors of the visualisation package: inputs it cannot draw, HiPS it cannot build or read.

May import ``platform_lib.errors`` only.
"""

from __future__ import annotations

from platform_lib.errors import PlatformError

__all__ = ["VizError", "HipsError", "HipsCancelled"]


class VizError(PlatformError, ValueError):
    """Something given to a ``show_*``/``plot_*`` call cannot be drawn as given (no coordinates,
    nothing in it, a sky map of the wrong shape); the message says what to pass instead."""

    code = "viz-bad-input"


class HipsError(PlatformError, ValueError):
    """A HiPS cannot be built from the input, or a HiPS folder does not follow the HiPS layout."""

    code = "bad-hips"


class HipsCancelled(PlatformError):
    """A HiPS build stopped because its ``cancel`` event was set (say the service building it is
    stopping); nothing was written: the HiPS is built in a hidden temporary folder, removed on the way out."""

    code = "hips-cancelled"
