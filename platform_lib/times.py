"""Times a user gives: the one reader of "a date a user gave", for the moving-objects API and its archive routes
(``platform_lib.moving.times``) and the image index's searches (``FolderIndex.search(time=...)``).

A notebook's times (:meth:`DateReader.as_time`, :meth:`DateReader.as_jd_tdb`: an astropy ``Time``, dates as text,
``datetime``s, numpy ``datetime64``s, lists of them; plain numbers are TDB Julian dates) and a client's times sent as
text (:meth:`DateReader.read_time`: the archive's ``start``, ``stop`` and ``time``, where a number is an MJD, UTC,
unless the client names its form) read text the same way: what astropy's ``Time`` reads unaided (ISO 8601
``2024-01-31T05:00``, ``2024-01-31 05:00``, year and day ``2024:031``, ``J2024.5``), as UTC unless a ``Z`` or an
offset such as ``+10:00`` follows (that instant in UTC). A :class:`DateReader` is made with the error its package
raises: every refusal is one of those (``code="bad-time"``) naming the parameter and the value as given. Also
:func:`quiet_dubious_years`, ERFA's warnings about UTC before 1960 or after the last leap second, which every
conversion of these times silences. A module of ``platform_lib`` itself, not of a package, so that both packages
import it without importing each other. Imports numpy, astropy, erfa and ``platform_lib.errors`` only.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from platform_lib.errors import PlatformError

__all__ = ["TEXT_FORMS", "DateReader", "quiet_dubious_years"]

_MJD_ZERO_JD = 2400000.5  # the Julian date of MJD 0

#: How :meth:`DateReader.read_time` may be told to read a client's text: ``iso`` (ISO 8601 only), ``mjd`` or
#: ``jd`` (numbers only, UTC). Not told: ISO 8601, or a number as an MJD.
TEXT_FORMS = ("iso", "mjd", "jd")

#: What a notebook may give, said after "is not a date: give ISO 8601 (...)".
_NOTEBOOK_FORMS = ("a datetime, or an astropy Time (Time('2025-01-01', scale='tdb') for another "
                   "scale); plain numbers are TDB Julian dates")


@contextlib.contextmanager
def quiet_dubious_years():
    """Silence ERFA's "dubious year" warnings inside: UTC before 1960 (photographic plates) is ERFA's
    approximation of the time then, and after the last leap second a prediction; either is within a second or
    so, which moves no body out of an image. Every other warning is left alone."""
    import erfa

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*dubious year", category=erfa.ErfaWarning)
        yield


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _is_date_like(value) -> bool:
    """Whether ``value`` is text, a ``datetime`` or a ``datetime64`` (or a list or array of them only)."""
    import datetime as dt

    if isinstance(value, (str, bytes, dt.datetime, np.datetime64)):
        return True
    if not isinstance(value, (list, tuple, np.ndarray)):
        return False
    try:
        kind = np.asarray(value).dtype.kind
    except (TypeError, ValueError):  # ragged lists
        return False
    return kind in "USM" or (kind == "O" and len(value) > 0 and all(isinstance(v, dt.datetime) for v in value))


@dataclass(frozen=True)
class DateReader:
    """The reader of dates a user gives, raising ``error`` (a :class:`~platform_lib.errors.PlatformError` class, its
    package's: ``MovingObjectError``, ``ImageIndexInputError``) with ``code="bad-time"`` for what is no date.

    >>> DateReader().as_time("2025-01-01T10:00+10:00").iso
    '2025-01-01 00:00:00.000'
    """

    error: type[PlatformError] = PlatformError

    def _text(self, text: str, label: str, forms: str):
        """One date given as text, UTC: what ``Time()`` reads unaided, or ISO 8601 with ``Z`` or a UTC offset (that
        instant in UTC); else ``bad-time`` naming ``label`` and the text, and saying what to give (``forms``: the other
        forms the caller takes)."""
        from astropy.time import Time

        given = text
        text = text.strip()
        try:
            with quiet_dubious_years():
                return Time(text, scale="utc")
        except ValueError:  # astropy lists every format it tried: too long to help
            pass
        try:  # ISO 8601 with a UTC offset (2024-01-31T05:00+00:00, +10:00, -0500): that instant in UTC
            when = datetime.fromisoformat(text)
        except ValueError:
            when = None
        if when is not None and when.tzinfo is not None:
            with quiet_dubious_years():
                return Time(when.astimezone(timezone.utc).replace(tzinfo=None), scale="utc")
        raise self.error(f"{label}={given!r} is not a date: give ISO 8601, e.g. 2024-01-31T05:00 (UTC; Z or an "
                         f"offset such as +10:00 may follow), {forms}", code="bad-time", value=given)

    def as_time(self, value, label: str = "times"):
        """``value`` as an astropy ``Time`` when it is a date: text (see the module: ISO 8601, UTC unless an offset
        follows), a ``datetime`` (naive: UTC), a numpy ``datetime64``, or a list or array of them. A ``Time`` and
        anything else (numbers: TDB Julian dates) come back as they are.

        Text that is no date is the reader's ``error`` (``bad-time``) naming ``label``, the text, and what to give.

        >>> DateReader().as_time("2025-01-01").iso
        '2025-01-01 00:00:00.000'
        >>> DateReader().as_time("2025-01-01T10:00+10:00").iso
        '2025-01-01 00:00:00.000'
        """
        from astropy.time import Time

        if isinstance(value, Time) or not _is_date_like(value):
            return value
        if isinstance(value, (str, bytes)):
            try:
                text = value.decode() if isinstance(value, bytes) else value
            except UnicodeDecodeError:  # Python's "'utf-8' codec can't decode byte 0xff" from here before
                raise self.error(f"{label}={value[:40]!r} is bytes that are not UTF-8 text: give the date as text, "
                                 "ISO 8601 ('2025-01-01')", code="bad-time", value=repr(value[:40])) from None
            if _number(text) is not None:  # '60000': no date, and which number it is would be a guess
                raise self.error(f"{label}={text!r} is a number as text, not a date: give ISO 8601 "
                                 f"('2025-01-01'), Time({text.strip()}, format='mjd') for an MJD (UTC), or the "
                                 "number itself for a TDB Julian date", code="bad-time", value=text)
            return self._text(text, label, _NOTEBOOK_FORMS)
        try:
            with quiet_dubious_years():
                return Time(value, scale="utc")
        except (TypeError, ValueError):
            pass
        arr = np.asarray(value)
        if arr.ndim == 1 and arr.dtype.kind in "US":  # one of them has an offset, or is no date: read each, name it
            return Time([self._text(str(v), f"{label}[{k}]", _NOTEBOOK_FORMS) for k, v in enumerate(arr)])
        raise self.error(f"{label}={value!r} is not a date astropy's Time reads: give ISO 8601 dates (UTC), e.g. "
                         f"'2025-01-01' or '2025-01-01T05:30:00', {_NOTEBOOK_FORMS}",
                         code="bad-time", value=str(value))

    def _tdb_jd(self, times, label: str, given) -> np.ndarray:
        """TDB Julian dates of a ``Time``, or ``bad-time`` naming ``label`` and ``given`` where ERFA cannot convert."""
        try:
            with quiet_dubious_years():
                jd = times.tdb.jd
        except ValueError as exc:  # erfa.ErfaError: a date ERFA cannot convert (e.g. MJD 1e20)
            raise self.error(f"{label}={given!r} cannot be converted to TDB ({exc}); give dates within a few "
                             "thousand years of now", code="bad-time", value=str(given)) from exc
        return np.atleast_1d(np.asarray(jd, dtype=np.float64))

    def as_jd_tdb(self, times, label: str = "times") -> np.ndarray:
        """TDB Julian dates (1-D float64) of an astropy ``Time`` (any scale), of what :meth:`as_time` reads as dates
        (text, ``datetime``, ``datetime64``: UTC), or of TDB Julian dates given as numbers."""
        from astropy.time import Time

        given = times
        times = self.as_time(times, label)
        if isinstance(times, Time):
            return self._tdb_jd(times, label, given)
        if np.asarray(times).dtype.kind == "m":  # numpy timedelta64: a duration, not a date
            raise self.error(f"{label} must be dates, got the duration {times!r}; give e.g. '2025-01-01' or "
                             "Time('2025-01-01') + that", code="bad-time", value=str(times))
        try:
            arr = np.atleast_1d(np.asarray(times, dtype=np.float64))
        except (TypeError, ValueError):
            raise self.error(f"{label} must be dates (e.g. '2024-01-01' or Time('2024-01-01')) or TDB Julian dates, "
                             f"got {times!r}", code="bad-time", value=str(times)) from None
        if not np.all(np.isfinite(arr)):
            raise self.error(f"{label} must be finite Julian dates or an astropy Time, got {times!r}",
                             code="bad-time", value=str(times))
        return arr

    def read_time(self, text: str, label: str, form: str | None = None, *, form_param: str = "form"):
        """One time a client sent as text (parameter ``label``), as a scalar astropy ``Time`` in UTC that converts to
        TDB.

        ``form`` (one of :data:`TEXT_FORMS`, named to the client as ``form_param``, e.g. the archive's ``time_format``)
        None: text as :meth:`as_time` reads it, a number as an MJD (UTC); a number that looks like a year (1000-2999)
        or a Julian date (2,400,000-2,599,999) is refused, naming what to give. ``iso``: text only; ``mjd``, ``jd``:
        numbers only, UTC. Anything else is ``bad-time`` naming the parameter and the value.

        >>> DateReader().read_time("60000", "start").isot
        '2023-02-25T00:00:00.000'
        >>> DateReader().read_time("2023-02-25T10:00+10:00", "start").isot
        '2023-02-25T00:00:00.000'
        """
        from astropy.time import Time

        if form is not None and form not in TEXT_FORMS:
            raise self.error(f"{form_param}={form!r} is not one of {', '.join(TEXT_FORMS)} (leave it out to give "
                             "ISO 8601 times or MJDs)", code="bad-time", value=form)
        num = _number(text)
        if num is not None and not math.isfinite(num):
            raise self.error(f"{label}={text!r} is not a finite number: give ISO 8601 (2024-01-31T05:00) or an MJD",
                             code="bad-time", value=text)
        if form in ("mjd", "jd"):
            if num is None:
                raise self.error(f"{label}={text!r} is not a number; {form_param}={form} takes times as "
                                 f"{'MJD' if form == 'mjd' else 'Julian date'}s (UTC), e.g. "
                                 f"{'60000.5' if form == 'mjd' else '2460001.0'}", code="bad-time", value=text)
            when = Time(num, format=form, scale="utc")
        elif num is None:
            when = self._text(text, label, f"an MJD (UTC), or a Julian date with {form_param}=jd")
        elif form == "iso":
            raise self.error(f"{label}={text!r} is a number, not an ISO 8601 time ({form_param}=iso); give e.g. "
                             f"2024-01-31T05:00, or {form_param}=mjd or jd for a number", code="bad-time",
                             value=text)
        elif 1000 <= num < 3000:  # MJD 1000-3000 are 1861-1867, before DE421: a year
            with quiet_dubious_years():
                year = Time(f"{int(num)}-01-01", scale="utc")
            raise self.error(f"{label}={text!r} looks like a year; times given as numbers are MJD (UTC): give "
                             f"{year.isot[:10]} or the MJD {year.mjd:.0f}", code="bad-time", value=text)
        elif 2_400_000 <= num < 2_600_000:  # MJD 2.4e6 is the year 8400: a Julian date (years 1858-2406)
            raise self.error(f"{label}={text!r} looks like a Julian date; times given as numbers are MJD (UTC): "
                             f"give {num - _MJD_ZERO_JD:.5f}, or add {form_param}=jd", code="bad-time", value=text)
        else:
            when = Time(num, format="mjd", scale="utc")
        self._tdb_jd(when, label, text)
        return when
