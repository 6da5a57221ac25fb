"""Due dates of assignments: reading one from text, writing it back, and saying how late work is.

Owns the pure rules (no registry, no clock of its own; :class:`astrohub_hub.classes.Teaching` stores due
dates and passes its clock in): :func:`parse_due` reads an ISO 8601 date and time that says its time zone
(``2026-12-10T17:00Z``, ``2026-12-10T18:00+01:00``, ``2026-12-10 17:00 UTC``) and refuses one in the past;
:func:`iso` writes an epoch time back in that form (UTC, ``Z``); :func:`late_seconds` measures a submission
against a due date, :func:`late_penalty` is the points a late penalty takes from it, and :func:`lateness` says a
delay in words (``2 h 13 min``); :func:`parse_duration` reads the
length of an extension (``2d``, ``36h``, ``1d12h``) and :func:`own_due` is the due date that holds for one
student (the later of the assignment's and their extension's: an extension never makes it earlier). Bad input raises
:class:`astrohub_hub.people.ClassError` naming the value and how to write it. May import the standard
library and ``people``.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone

from astrohub_hub.people import ClassError

__all__ = ["iso", "late_penalty", "late_seconds", "lateness", "own_due", "parse_due", "parse_duration"]

_EXAMPLE = "2026-12-10T17:00Z (UTC) or 2026-12-10T18:00+01:00"


def iso(t: float) -> str:
    """Epoch seconds as ISO 8601 in UTC, to the second: ``2026-12-10T17:00:00Z`` (:func:`parse_due` reads it)."""
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_due(text: object, now: float, what: str = "due date") -> float:
    """The due date ``text`` as epoch seconds; it must name its time zone and lie after ``now``.

    ``what`` names the date in messages (``extension date``).

    >>> parse_due("2026-12-10T18:00+01:00", now=0.0) == parse_due("2026-12-10 17:00 UTC", now=0.0)
    True
    """
    if not isinstance(text, str) or not text.strip():
        raise ClassError(f"a {what} is an ISO 8601 date and time with its time zone, such as {_EXAMPLE}; "
                         f"got {text!r}", code="bad-due-date", value=text)
    value = text.strip()
    if value[-3:].upper() == "UTC":  # "2026-12-10 17:00 UTC": UTC said in words
        value = value[:-3].rstrip() + "+00:00"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ClassError(f"{what} {text!r} is not an ISO 8601 date and time: write it as {_EXAMPLE}",
                         code="bad-due-date", value=text) from None
    if moment.utcoffset() is None:
        raise ClassError(f"{what} {text!r} names no time zone: add one, as in {_EXAMPLE}",
                         code="bad-due-date", value=text)
    due = moment.timestamp()
    if due <= now:
        raise ClassError(f"{what} {text!r} ({iso(due)}) is not in the future (now: {iso(now)}): give a later "
                         f"one, or none {'for no due date' if what == 'due date' else 'to take it back'}",
                         code="due-date-past", value=text)
    return due


_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "min": 60, "m": 60, "s": 1}
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(w|d|h|min|m|s)\s*", re.IGNORECASE)


def parse_duration(text: object) -> float:
    """A length of time such as ``2d``, ``36h``, ``1d12h``, ``90min`` or ``1w`` as seconds (more than zero).

    >>> parse_duration("1d 12h") == parse_duration("36h") == 129600
    True
    """
    example = "2d, 36h, 1d12h, 90min or 1w"
    if not isinstance(text, str) or not text.strip():
        raise ClassError(f"a duration is a number and a unit, such as {example}; got {text!r}", code="bad-duration",
                         value=text)
    parts, end = [], 0
    for match in _PART.finditer(text):
        if match.start() != end:
            break
        parts.append(float(match[1]) * _UNITS[match[2].lower()])
        end = match.end()
    if not parts or end != len(text):
        raise ClassError(f"duration {text!r} is not a number and a unit (w, d, h, min, s): write it as {example}",
                         code="bad-duration", value=text)
    seconds = sum(parts)
    if seconds <= 0:
        raise ClassError(f"duration {text!r} is zero: an extension is longer than that, such as {example}",
                         code="bad-duration", value=text)
    return seconds


def own_due(due: float | None, extended_until: float | None) -> float | None:
    """The due date that holds for one student: the assignment's ``due`` (None: none, and an extension means
    nothing) or their extension, whichever is later."""
    if due is None:
        return None
    return due if extended_until is None else max(due, extended_until)


def late_seconds(due: float | None, submitted: float) -> int | None:
    """How many seconds after ``due`` a submission at ``submitted`` came (rounded up: 0 = on time);
    ``None`` when there is no due date."""
    if due is None:
        return None
    return max(0, math.ceil(submitted - due))


def late_penalty(points_per_hour: float, late: float | None, score: float) -> float:
    """The points a late penalty takes from a submission ``late`` seconds late (0 or None: on time) that scores
    ``score``: ``points_per_hour`` for each hour late or part of one, never more than the score (so what is left
    is never below zero). The one rule, whatever the score is now (nbgrader's, with manual grades).

    >>> late_penalty(1.0, 5401, 4.0), late_penalty(1.0, 5 * 3600, 4.0), late_penalty(1.0, 0, 4.0)
    (2.0, 4.0, 0.0)
    """
    if not late or late <= 0 or not points_per_hour:
        return 0.0
    return float(min(points_per_hour * math.ceil(late / 3600), max(score, 0.0)))


def lateness(seconds: float) -> str:
    """A delay in words, its two largest units: ``45 s``, ``13 min``, ``2 h 13 min``, ``3 d 4 h``.

    >>> lateness(2 * 3600 + 13 * 60 + 20)
    '2 h 13 min'
    """
    seconds = math.ceil(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")]
    first = next(i for i, (n, _) in enumerate(parts) if n)
    return " ".join(f"{n} {unit}" for n, unit in parts[first:first + 2] if n)
