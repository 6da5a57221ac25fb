"""One angle on the sky as a person gives it: a radius or a field of view, as an astropy ``Quantity``
(``2 * u.arcmin``) or as text with its unit (``"2 arcmin"``, ``"1.5 deg"``, ``"30 arcsec"``, ``"2'"``, ``'30"'``,
``"1d30m"``), as the job parameters (``{'radius': '2 arcsec'}``) and a plot's ``radius`` already took it.

Owns :func:`sky_angle`, the one reader of such an angle that platform_lib's searches, crossmatch and views share
(``catalogs.cone_search``, ``Registry.covering``, ``retrieval.cone_search`` and ``image_search``, ``crossmatch``,
a view's ``fov``), as :mod:`platform_lib.skyposition` reads the position beside it, and its error
(:class:`AngleError`). A number with no unit is refused (is ``2`` degrees or arcminutes?), naming both ways to
write it; so are hours (``'2 hours'``, which astropy reads as 30 deg). The range each caller allows (more than 0, at
most 180 deg...) is the caller's to check and to word.

Imports the platform library's errors (standard library at import); astropy when an angle is read.
"""

from __future__ import annotations

import re

from platform_lib.errors import PlatformError

__all__ = ["AngleError", "sky_angle"]

#: Degrees then minutes written together (``1d30m``, ``0d02m``), which astropy's Quantity reads as a unit ``d30``.
_DEGREES_MINUTES = re.compile(r"[+-]?\d+(\.\d*)?d\d")
#: A plural of an angle's unit that astropy does not read (``30 arcminutes``, ``2 arcmins``, ``5 arcsecs``): read as
#: the singular, as astropy's Angle reads ``0.5 degrees``.
_PLURAL_UNIT = re.compile(r"(?<![A-Za-z])(arcmin|arcminute|arcsec|arcsecond|milliarcsecond|deg|degree|radian)s"
                          r"(?![A-Za-z])")
#: Hours then minutes written together (``2h30m``), which astropy's Quantity reads as a unit ``h30 m``.
_HOURS_MINUTES = re.compile(r"[+-]?\d+(\.\d*)?h\d")
#: How an angle is written, for messages about one that is not.
ANGLE_FORMS = "an angle Quantity, 2 * u.arcmin, or text with its unit such as '2 arcmin', '1.5 deg' or '30 arcsec'"


class AngleError(PlatformError, ValueError):
    """A text that is not an angle with an angular unit (``"2"``, ``"2 arcmni"``, ``"2 km"``); the message
    says why and how to write one. ``value`` is the text."""

    code = "bad-angle"


def sky_angle(value, what: str = "radius"):
    """``value`` as an angle ``Quantity``: one already (returned as it is, whatever its unit but hours: the caller
    checks it), or text with an angular unit, read by astropy (``"2 arcmin"``, ``"1deg"``, ``"30 arcsec"``; ``"2'"``,
    ``'30"'`` and ``"1d30m"`` as ``Angle`` reads them; a unit's plural as its singular: ``"30 arcminutes"``,
    ``"2 arcmins"``, ``"5 arcsecs"``, ``"0.5 degrees"``).

    Hours are refused (``"2 hours"``, ``"2h30m"``, ``"2 hourangle"``, ``2 * u.hourangle``): astropy reads them as
    an hour angle (``"2 hours"`` as 30 deg), and a radius in time units is almost surely a mistake.

    Raises :class:`AngleError` (a ``ValueError``) for text that is not such an angle (or is in hours), and ``TypeError`` for
    anything else (a number with no unit, a tuple), each naming the argument (``what``) and the forms that work.

    Examples
    --------
    >>> sky_angle("2 arcmin")
    <Quantity 2. arcmin>
    >>> sky_angle("2'")
    <Angle 2. arcmin>
    >>> sky_angle(2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: radius=2 has no unit: give an angle Quantity, 2 * u.arcmin (or u.deg, u.arcsec), or text with ...
    """
    import astropy.units as u

    if isinstance(value, u.Quantity):
        return _not_hours(value, value, what)
    if isinstance(value, str):
        return _read(value, what)
    if isinstance(value, (int, float)) and not isinstance(value, bool) or _is_numpy_number(value):
        raise TypeError(f"{what}={value} has no unit: give an angle Quantity, {value} * u.arcmin (or u.deg, "
                        f"u.arcsec), or text with its unit, '{value} arcmin'")
    raise TypeError(f"{what} must be an angle: {ANGLE_FORMS}; not {type(value).__name__} {value!r}")


def _is_numpy_number(value) -> bool:
    import numpy as np

    return isinstance(value, np.number)


def _read(text: str, what: str):
    """``text`` as an angle Quantity, or an :class:`AngleError` saying what is wrong with it."""
    import astropy.units as u
    from astropy.coordinates import Angle

    bare, why = _PLURAL_UNIT.sub(r"\1", text.strip()), "astropy reads no angle in it"
    try:
        angle = u.Quantity(bare)
    except (TypeError, ValueError) as exc:
        # astropy's reason, its guess kept ("Did you mean arcmin?"), its advice on custom units not
        angle, why = None, str(exc).split(" If this is meant to be a custom unit")[0].rstrip()
    if angle is None or _DEGREES_MINUTES.match(bare) or _HOURS_MINUTES.match(bare):
        try:  # "2'", '30"', '1d30m' (which Quantity reads as a unit 'd30'): astropy's Angle reads them
            angle = Angle(bare)
        except (TypeError, ValueError, u.UnitsError):
            raise AngleError(f"{what}={text!r} is not an angle ({why}): write {ANGLE_FORMS}", value=text) from None
        return _not_hours(angle, text, what)
    _not_hours(angle, text, what)
    if not angle.unit.is_equivalent(u.deg) and angle.unit != u.dimensionless_unscaled:
        raise AngleError(f"{what}={text!r} is in {angle.unit}, not an angle: write {ANGLE_FORMS}", value=text)
    if angle.unit == u.dimensionless_unscaled:
        raise AngleError(f"{what}={text!r} has no unit: give an angle Quantity, {bare} * u.arcmin (or u.deg, "
                         f"u.arcsec), or text with its unit, '{bare} arcmin'", value=text)
    return angle


def _not_hours(angle, value, what: str):
    """``angle``, unless it is in hours (``'2 hours'``, ``'2h30m'``, ``'2 hourangle'``, ``2 * u.hourangle``), which
    astropy reads as an hour angle (``'2 hours'`` is 30 deg): a radius or a field in time units is almost surely a
    mistake, refused with an :class:`AngleError` naming ``value`` and the angle units to use."""
    import astropy.units as u

    if angle.unit != u.hourangle:
        return angle
    shown = repr(value) if isinstance(value, str) else str(value)
    raise AngleError(f"{what}={shown} is in hours, which astropy reads as an hour angle "
                     f"({angle.to_value(u.deg):g} deg): a {what} in time units is almost surely a mistake; write it "
                     f"in degrees, arcminutes or arcseconds: {ANGLE_FORMS}", value=value)
