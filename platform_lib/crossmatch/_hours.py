"""A side's right ascension that looks like hours: owns :func:`warn_if_hours`, the check an in-memory crossmatch makes
when it matched few rows. Imports the kernel (``_engine``) and the package's warnings (``_errors``).

A table with ``ra`` in hours and no unit (or ``deg``) matched against a catalogue in degrees matches nothing or
nearly nothing, silently. A warning on every RA below 24 would fire on real small fields (a field at RA 10 deg), so
the check is the fix itself: when at most a tenth of a side's rows matched, that side's RA all lies in [0, 24], and
the same match with that RA times 15 would match at least half of its rows, the RA was in hours. Chance matches of a
real small field moved 15 times further in RA stay rare (a radius of arcseconds against a catalogue's density), so
a field in degrees that matched little for a real reason is not warned about.
"""

from __future__ import annotations

import warnings

import numpy as np

from platform_lib.crossmatch._engine import match_pairs
from platform_lib.crossmatch._errors import RaInHoursWarning

__all__ = ["warn_if_hours", "EQUATORIAL"]

#: Frames whose longitude is a right ascension (a Galactic longitude in [0, 24] is no hour).
EQUATORIAL = frozenset({"icrs", "fk5", "fk4", "fk4noeterms", "gcrs", "cirs", "precessedgeocentric"})
#: At most this share of a side's rows matched counts as "few".
FEW = 0.1
#: At least this share of a side's rows matching with its RA times 15 says the RA was in hours.
MOST = 0.5


def warn_if_hours(lon1, lat1, lon2, lat2, i1, i2, radius, names=("ra", "ra"), frames=("icrs", "icrs"),
                  stacklevel: int = 3) -> bool:
    """Warn (:class:`RaInHoursWarning`) and return True when one side's RA (``lon1`` or ``lon2``, degrees as the
    crossmatch read them, finite rows only) looks like hours: at most :data:`FEW` of its rows matched
    (``i1``/``i2``: the match's row indices of each side), all its RA lies in [0, 24], and times 15 at least
    :data:`MOST` of its rows would match the other side within ``radius``. ``names``: each side's RA column, for
    the message; ``frames``: both must be equatorial."""
    if not all(str(f).lower() in EQUATORIAL for f in frames):
        return False
    sides = ((lon1, lat1, lon2, lat2, i1, "left"), (lon2, lat2, lon1, lat1, i2, "right"))
    for (lon, lat, other_lon, other_lat, i, side), name in zip(sides, names):
        n, matched = len(lon), int(np.unique(np.asarray(i)).size)
        if n == 0 or len(other_lon) == 0 or matched > FEW * n or lon.min() < 0 or lon.max() > 24:
            continue
        as_hours = len(match_pairs(lon * 15.0, lat, other_lon, other_lat, radius, k=1)[0])
        if as_hours < MOST * n or as_hours <= matched:
            continue
        warnings.warn(RaInHoursWarning(
            f"only {matched} of the {n} {side} rows matched, and the {side} RA ({name}) looks like hours, not "
            f"degrees: all of it lies in [0, 24], and times 15 {as_hours} rows would match. If it is in hours, "
            f"say so: give the column the unit hourangle ({side}['{name}'].unit = 'hourangle' for a Table), or "
            f"multiply it by 15", side=side, column=name, matched=matched, matched_as_hours=as_hours),
            stacklevel=stacklevel)
        return True
    return False

