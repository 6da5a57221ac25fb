"""A side's right ascension that looks like hours: owns the check every crossmatch makes when a side matched few of
its rows (:func:`warn_if_hours` in memory, :func:`warn_side` for one side whose other side is read around given
positions, as the paths against catalogues on disk do; :func:`warn_ra_in_hours`, public, for a match made elsewhere:
``nway_match``'s, a sky map's credible region). Imports the package's warnings (``_errors``), and the kernel
(``_engine``) when a side may be in hours.

A table with ``ra`` in hours and no unit (or ``deg``) matched against a catalogue in degrees matches nothing or
nearly nothing, silently. A warning on every RA below 24 would fire on real small fields (a field at RA 10 deg), so
the check is the fix itself: when at most a tenth of a side's rows matched, that side's RA all lies in [0, 24], and
the same match with that RA times 15 would match at least half of its rows, the RA was in hours. Chance matches of a
real small field moved 15 times further in RA stay rare (a radius of arcseconds against a catalogue's density), so
a field in degrees that matched little for a real reason is not warned about. The test needs no more than a few
hundred rows of the side: on real data in hours about all of them match times 15 and none as given, on real data in
degrees none match times 15, so a sample (``_touched.warn_if_hours_sampled``, the Dask path's) answers as the
whole side would.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from platform_lib.crossmatch._errors import RaInHoursWarning

__all__ = ["warn_if_hours", "warn_side", "warn_ra_in_hours", "may_be_hours", "EQUATORIAL", "FEW", "MOST"]

#: Frames whose longitude is a right ascension (a Galactic longitude in [0, 24] is no hour).
EQUATORIAL = frozenset({"icrs", "fk5", "fk4", "fk4noeterms", "gcrs", "cirs", "precessedgeocentric"})
#: At most this share of a side's rows matched counts as "few".
FEW = 0.1
#: At least this share of a side's rows matching with its RA times 15 says the RA was in hours.
MOST = 0.5

#: ``near(lon, lat)``: the other side's (lon, lat) within the radius of those positions (it may give more), or None
#: when that is more than the check may read.
Near = Callable[[np.ndarray, np.ndarray], "tuple[np.ndarray, np.ndarray] | None"]


#: The packages whose frames a warning skips: this one, and ``platform_lib.skymap``, which asks for its sky maps.
_PACKAGES = (str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent / "skymap"))


def _outside_level() -> int:
    """The ``stacklevel`` of the first caller outside these packages, seen from :func:`warn_ra_in_hours`'s
    ``warnings.warn`` (the user's line, or the job runner's), whichever path of the crossmatch got here."""
    frame, level = sys._getframe(1), 1
    while frame is not None and str(Path(frame.f_code.co_filename).resolve().parent) in _PACKAGES:
        frame, level = frame.f_back, level + 1
    return level


def may_be_hours(lon, n: int, matched: int) -> bool:
    """The cheap part of the check: ``n`` rows, at most :data:`FEW` of them ``matched``, RA ``lon`` all in [0, 24]."""
    return n > 0 and matched <= FEW * n and len(lon) > 0 and float(np.min(lon)) >= 0 and float(np.max(lon)) <= 24


def warn_side(lon, lat, matched: int, near: Near, radius, side: str, name: str, rows: str = "",
              as_hours=None) -> bool:
    """Warn (:class:`RaInHoursWarning`) and return True when this side's RA (``lon``, degrees as the crossmatch read
    them, finite rows only, ``matched`` of them matched) looks like hours: :func:`may_be_hours`, and times 15 at
    least :data:`MOST` of its rows match the other side's positions around them (``near``) within ``radius``.
    ``side`` (left/right) and ``name`` (its RA column) are for the message; ``rows`` says which rows were looked at
    when they are not all of the side's (``" (a sample of its rows)"``); ``as_hours``: the rows' positions with their
    RA as given times 15 and then moved as the match moves them (default: ``lon`` times 15, ``lat``), for a side
    whose ``lon``, ``lat`` were moved along proper motions (moved first, times 15 would move them 15 times as far)."""
    def count_as_hours():
        from platform_lib.crossmatch._engine import match_pairs  # (imported here: sky maps ask without the kernel)

        hours_lon, lat_ = (np.asarray(lon, dtype=np.float64) * 15.0, lat) if as_hours is None else as_hours
        other = near(hours_lon, lat_)
        if other is None or len(other[0]) == 0:
            return None
        return len(match_pairs(hours_lon, lat_, other[0], other[1], radius, k=1)[0])

    return warn_ra_in_hours(lon, matched, count_as_hours, side=side, column=name, rows=rows)


def warn_ra_in_hours(lon, matched: int, count_as_hours: Callable[[], "int | None"], *, side: str, column: str,
                     rows: str = "", matched_words: tuple[str, str] = ("matched", "match")) -> bool:
    """The check itself, for any match: warn (:class:`RaInHoursWarning`) and return True when of the side's rows
    (RA ``lon`` in degrees as read, finite rows only) ``matched`` or fewer matched (:func:`may_be_hours`: at most
    :data:`FEW`, RA all in [0, 24]) and ``count_as_hours()`` (called only then; None: not known) of them, at least
    :data:`MOST`, would match with their RA times 15. ``side`` and ``column`` name the side and its RA column in the
    message, ``rows`` which rows were looked at, ``matched_words`` what matching is (``"matched"``, ``"match"``; a
    sky map's: lying in its credible region)."""
    n = len(lon)
    if not may_be_hours(lon, n, matched):
        return False
    as_hours = count_as_hours()
    if as_hours is None or as_hours < MOST * n or as_hours <= matched:
        return False
    past, verb = matched_words
    warnings.warn(RaInHoursWarning(
        f"only {matched} of the {n} {side} rows{rows} {past}, and the {side} RA ({column}) looks like hours, not "
        f"degrees: all of it lies in [0, 24], and times 15 {as_hours} rows would {verb}. If it is in hours, "
        f"say so: give the column the unit hourangle ({side}['{column}'].unit = 'hourangle' for a Table), or "
        f"multiply it by 15", side=side, column=column, matched=matched, matched_as_hours=as_hours),
        stacklevel=_outside_level())
    return True


def warn_if_hours(lon1, lat1, lon2, lat2, i1, i2, radius, names=("ra", "ra"), frames=("icrs", "icrs"),
                  sides=("left", "right")) -> bool:
    """Warn (:class:`RaInHoursWarning`) and return True when one side's RA (``lon1`` or ``lon2``, degrees as the
    crossmatch read them, finite rows only) looks like hours (:func:`warn_side`), both sides in memory: ``i1``/``i2``
    are the match's row indices of each side. ``names``: each side's RA column, ``sides`` their names (``nway_match``'s
    catalogues'), for the message; ``frames``: both must be equatorial."""
    if not all(str(f).lower() in EQUATORIAL for f in frames):
        return False
    pairs = ((lon1, lat1, lon2, lat2, i1, sides[0]), (lon2, lat2, lon1, lat1, i2, sides[1]))
    for (lon, lat, other_lon, other_lat, i, side), name in zip(pairs, names):
        if not may_be_hours(lon, len(lon), len(i)):  # the matched rows are at most the pairs: cheap first
            continue
        matched = int(np.unique(np.asarray(i)).size)
        if warn_side(lon, lat, matched, lambda _lon, _lat, o=(other_lon, other_lat): o, radius, side, name):
            return True
    return False
