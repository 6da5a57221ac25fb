"""One sky position as a person gives it: a ``SkyCoord``, text (``"05h35m17s -05d23m28s"``, ``"83.82 -5.39"``) or
the name of an object (``"M45"``, ``"Pleiades"``, ``"Crab Nebula"``, ``"Vega"``, ``"Sgr A*"``).

Owns :func:`sky_position`, the one reader of a single position that platform_lib's searches and views share
(``catalogs.cone_search``, ``Registry.covering``, ``retrieval.cone_search`` and ``image_search``, a view's
``target`` and ``center`` in ``viz``), its error (:class:`PositionError`) and the words its errors use
(:data:`POSITION_FORMS`, :func:`angle_trouble`). A name is answered offline, as ``SkyCoord.from_name`` answers it
first on the platform (:func:`platform_lib.offline.platform_position`: :mod:`platform_lib.famous`, then the
archive's catalogues), never by CDS's Sesame: the platform has no internet.

Imports the platform library's errors, :mod:`platform_lib.offline` and :mod:`platform_lib.firstload` (standard
library at import); astropy when a position is read.
"""

from __future__ import annotations

import re

from platform_lib.errors import PlatformError
from platform_lib.firstload import still_loading
from platform_lib.offline import NAME_FORMS, did_you_mean, platform_position

__all__ = ["PositionError", "sky_position", "angle_trouble", "POSITION_FORMS"]

#: Forms of a position as text that read, for messages about one that does not.
POSITION_FORMS = "'05h35m17.3s -05d23m28s', '05:35:17.3 -05:23:28' (hours, then degrees) or '83.822 -5.391' (degrees)"
#: What a text of numbers that astropy reads as no position at all ('05h35m17s': one angle) lacks.
_NOT_TWO = "it is not a right ascension followed by a declination"
#: Text made only of what a sexagesimal or decimal position is written with (no name: 'M45', 'NGC 224').
_SEXAGESIMAL = re.compile(r"[\d\s:.,+\-hdms°'\"]+")


class PositionError(PlatformError, ValueError):
    """A text that is neither a position that reads nor a name the platform resolves offline; the message says
    which forms work. ``value`` is the text."""

    code = "bad-position"


def sky_position(value, what: str = "position"):
    """``value`` as a ``SkyCoord``: one already (returned as it is), text (``"05h35m17s -05d23m28s"``,
    ``"83.82 -5.39"`` in degrees, ``"03 47 00 +24 07 00"`` in hours and degrees), or a name the platform resolves
    offline (``"M45"``, ``"NGC 224"``, ``"Andromeda"``, ``"Crab Nebula"``, ``"LMC"``, ``"Sirius"``, ``"alf CMa"``,
    ``"HIP 32349"``, ``"Sgr A*"``: :func:`platform_lib.offline.platform_position`).

    Raises :class:`PositionError` (a ``ValueError``) for text that is neither, saying what was wrong in a
    position (``"25h00m00s +10d00m00s"``: its hours must be below 24), or the names it may be a misspelling of
    (``"Andromedia"``: did you mean 'Andromeda' (M 31)?, :func:`platform_lib.offline.did_you_mean`, asked only
    then) and which names and forms work, and
    ``TypeError`` for anything else (a tuple, a number), naming the argument (``what``); a ``SkyCoord`` whose
    coordinates are NaN or infinite is a :class:`PositionError` too (a search sent ``RA=nan`` to its service).

    Examples
    --------
    >>> float(round(sky_position("03h47m +24d07m").ra.deg, 6))
    56.75
    >>> sky_position((56.75, 24.12))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: position must be a SkyCoord, a position as text or an object's name, not tuple (56.75, 24.12): ...
    """
    from astropy.coordinates import SkyCoord

    if isinstance(value, SkyCoord):
        import numpy as np

        sph = value.spherical
        if not (np.all(np.isfinite(sph.lon.deg)) and np.all(np.isfinite(sph.lat.deg))):  # went to a service as RA=nan
            raise PositionError(f"{what} is a SkyCoord of NaN or infinite coordinates ({value.to_string('decimal')}: "
                                "a table's empty cell?), which is no position: give finite coordinates, a position "
                                "as text or a name", value=value)
        return value
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a SkyCoord, a position as text or an object's name, not "
                        f"{type(value).__name__} {value!r}: write e.g. SkyCoord(56.75, 24.12, unit='deg'), "
                        "'03h47m00s +24d07m12s' or 'M45'")
    text = value.strip()
    numbers = text.replace(",", " ").split()
    trouble = None
    degrees = len(numbers) == 2 and all(_is_number(n) for n in numbers)
    if degrees and not -360 <= float(numbers[0]) <= 360:  # '1e300 0' was RA 0 (the float's remainder), '400 10' RA 40
        raise PositionError(f"{what}={value!r} cannot be read as a sky position: a right ascension in degrees is "
                            f"between 0 and 360, not {numbers[0]}; write it as {POSITION_FORMS}", value=value)
    try:
        if degrees:
            return SkyCoord(float(numbers[0]), float(numbers[1]), unit="deg")
        if any(c in text for c in "hdm°'\""):
            return SkyCoord(text)
        return SkyCoord(text, unit=("hourangle", "deg"))  # '03 47 00 +24 07 00', '03:47:00 +24:07:00'
    except ValueError as exc:  # astropy's words ("An invalid value for 'second' was found ('71')...")
        trouble = exc
    found = platform_position(text) if text else None
    if found is not None:
        return found
    if _SEXAGESIMAL.fullmatch(text) and any(c.isdigit() for c in text):
        raise PositionError(f"{what}={value!r} cannot be read as a sky position: {angle_trouble(trouble, _NOT_TWO)}; "
                            f"write it as {POSITION_FORMS}, or pass a SkyCoord", value=value)
    # right after `astrohub up` the names' catalogues are not there yet: 'Pleiades' is a name they hold, soon
    loading = still_loading(configured=True)
    raise PositionError(f"{what}={value!r} is not a sky position nor a name the platform's catalogues hold"
                        f"{f' yet: {loading}' if loading else ''}{did_you_mean(text) if text else ''} "
                        f"({NAME_FORMS}): pass a SkyCoord, or text such as {POSITION_FORMS}", value=value)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def angle_trouble(exc: BaseException | None, other: str = "it is not a sexagesimal angle (hours or degrees, "
                  "minutes, seconds)") -> str:
    """What was wrong with a sexagesimal text, in our words, from the error astropy raised reading it (its own
    ``IllegalSecondError: An invalid value for 'second' was found ('71'); should be in the range [0,60).``);
    ``other`` for an error that names no part (astropy's ``syntax error parsing angle``).

    >>> from astropy.coordinates import Angle
    >>> try:
    ...     Angle("05h35m71s")
    ... except Exception as exc:
    ...     print(angle_trouble(exc))
    its seconds (71) must be below 60
    >>> from astropy.coordinates import SkyCoord
    >>> try:
    ...     SkyCoord("12h30m +95d")
    ... except Exception as exc:
    ...     print(angle_trouble(exc))
    the declination '+95d' must be between -90 and +90 deg, not 95.0 deg
    """
    from astropy.coordinates.angles import errors

    chain, seen = [], exc
    while seen is not None and len(chain) < 5:  # SkyCoord re-raises astropy's error as "Cannot parse ..."
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    which = ""
    for found in chain:
        m = re.match(r'Cannot parse first argument data "(.*)" for attribute (ra|dec)$', str(found))
        if m and m.group(1).strip():
            which = f"the {'right ascension' if m.group(2) == 'ra' else 'declination'} {m.group(1)!r}"
    for found in chain:
        for kind, part, most in ((errors.IllegalSecondError, "second", 60), (errors.IllegalMinuteError, "minute", 60),
                                 (errors.IllegalHourError, "hour", 24)):
            if isinstance(found, kind):
                value = getattr(found, part, "?")
                shown = f"{value:g}" if isinstance(value, (int, float)) else str(value)
                return f"{which + ': ' if which else ''}its {part}s ({shown}) must be below {most}"
        text = str(found)
        if text.startswith("Latitude angle(s) must be within"):
            return f"{which or 'a declination'} must be between -90 and +90 deg, not {text.rpartition('got ')[2]}"
    return other
