"""Multi-messenger sky maps: read HEALPix probability maps (flat or LVK multi-order) and match catalogues.

``_map`` owns the map (reading, pixel lookup, credible regions, conversions), ``_match`` the
per-source answers, ``_footprints`` the per-image answers of ObsCore rows (probability inside each footprint,
and under all of them), ``_errors`` the errors. Importing this package imports nothing heavy.
"""

from platform_lib.skymap._errors import SkymapError, SkymapFormatError, SkymapNotNormalizedError, SkymapWarning
from platform_lib.skymap._map import SkyMap, read_skymap
from platform_lib.skymap._match import match_skymap

__all__ = [
    "SkyMap",
    "SkymapError",
    "SkymapFormatError",
    "SkymapNotNormalizedError",
    "SkymapWarning",
    "match_skymap",
    "read_skymap",
]
