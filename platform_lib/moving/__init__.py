"""Moving objects: ephemerides offline, and searches of the image index in both directions.

Owns ephemerides (``ephemeris``: DE421 planets and the Moon through skyfield; minor bodies from
osculating orbits by vectorised two-body propagation with light time and topocentric parallax),
orbit catalogues (``orbits``: JPL SBDB extracts such as Debian kstars-data's), queries of the image
index's space-time R-tree (``spacetime``), "which images contain body X" (``search``), "which known
bodies are in this image" with an ephemeris cache (``cache``, ``reverse``), the times a user gives, in a notebook
or as a client's text (``times``), plots (``plot``) and an
optional JPL Horizons adapter (``horizons``, needs the network and astroquery; never used offline).
May import numpy, astropy, skyfield, cdshealpix, matplotlib (plots only) and
``platform_lib.imageindex``; never a web framework.
"""

from platform_lib.moving.cache import EphemerisCache, build_cache
from platform_lib.moving.ephemeris import OBSERVATORIES, Observatory, SolarSystem, ephemeris, observatory
from platform_lib.moving.errors import MovingObjectError, UnknownImage
from platform_lib.moving.horizons import horizons_orbits
from platform_lib.moving.orbits import (KSTARS_ASTEROIDS, KSTARS_COMETS, Orbits, default_orbits, known_orbits,
                                        read_sbdb_json)
from platform_lib.moving.reverse import bodies_in_image, bodies_in_images
from platform_lib.moving.search import ImageSearch, find_images
from platform_lib.moving.spacetime import SpacetimeIndex

__all__ = [
    "EphemerisCache",
    "ImageSearch",
    "KSTARS_ASTEROIDS",
    "KSTARS_COMETS",
    "MovingObjectError",
    "UnknownImage",
    "OBSERVATORIES",
    "Observatory",
    "Orbits",
    "SolarSystem",
    "SpacetimeIndex",
    "bodies_in_image",
    "bodies_in_images",
    "build_cache",
    "default_orbits",
    "ephemeris",
    "find_images",
    "horizons_orbits",
    "known_orbits",
    "observatory",
    "read_sbdb_json",
]
