"""Unit tests of astrohub_hub.due_dates: reading due dates (time zone required, not in the past) and lateness."""

from __future__ import annotations

import calendar

import pytest

from astrohub_hub.due_dates import iso, late_seconds, lateness, own_due, parse_due, parse_duration
from astrohub_hub.people import ClassError

NOW = calendar.timegm((2026, 12, 5, 9, 0, 0))  # 2026-12-05T09:00:00Z
DUE = calendar.timegm((2026, 12, 10, 17, 0, 0))  # 2026-12-10T17:00:00Z


@pytest.mark.parametrize("text", ["2026-12-10T17:00Z", "2026-12-10T17:00:00+00:00", "2026-12-10T18:00+01:00",
                                  "2026-12-10T12:00-05:00", " 2026-12-10 17:00 UTC ", "2026-12-10T17:00:00utc"])
def test_a_due_date_with_its_time_zone_is_read_as_that_instant(text):
    assert parse_due(text, NOW) == DUE
    assert parse_due(iso(DUE), NOW) == DUE and iso(DUE) == "2026-12-10T17:00:00Z"


@pytest.mark.parametrize("text, message, hint", [
    ("2026-12-10T17:00", "names no time zone", "2026-12-10T17:00Z"),  # local time of whom? refused, not guessed
    ("2026-12-10", "names no time zone", "2026-12-10T17:00Z"),
    ("next friday", "is not an ISO 8601 date and time", "2026-12-10T17:00Z"),
    ("2026-13-10T17:00Z", "is not an ISO 8601 date and time", "2026-12-10T17:00Z"),
    ("", "a due date is an ISO 8601", "2026-12-10T17:00Z"),
    (1_800_000_000, "a due date is an ISO 8601", "2026-12-10T17:00Z"),
    ("2026-12-05T08:59Z", "is not in the future", "now: 2026-12-05T09:00:00Z"),
    ("2026-12-05T09:00Z", "is not in the future", "or none for no due date"),
])
def test_a_bad_due_date_is_refused_naming_the_value_and_how_to_write_it(text, message, hint):
    with pytest.raises(ClassError, match=message) as info:
        parse_due(text, NOW)
    assert info.value.status == 400 and info.value.value == text
    assert repr(text) in str(info.value) and hint in str(info.value), str(info.value)


def test_lateness_is_measured_against_the_due_date_and_said_in_words():
    assert late_seconds(None, DUE + 100) is None  # no due date: never late
    assert late_seconds(DUE, DUE - 5) == 0 and late_seconds(DUE, DUE) == 0
    assert late_seconds(DUE, DUE + 0.2) == 1  # any delay counts: rounded up
    assert late_seconds(DUE, DUE + 2 * 3600 + 13 * 60 + 20) == 8000
    assert lateness(8000) == "2 h 13 min"
    assert [lateness(s) for s in (0.4, 45, 60, 61, 13 * 60, 3600, 3 * 86400 + 4 * 3600 + 59)] == [
        "1 s", "45 s", "1 min", "1 min 1 s", "13 min", "1 h", "3 d 4 h"]


@pytest.mark.parametrize("text, seconds", [("2d", 172800), ("36h", 129600), ("1d12h", 129600), (" 1d 12h ", 129600),
                                           ("90min", 5400), ("90m", 5400), ("1w", 604800), ("1.5h", 5400),
                                           ("2D", 172800)])
def test_an_extension_s_length_is_a_number_and_a_unit(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text, message", [
    ("2", "is not a number and a unit"), ("2 days", "is not a number and a unit"), ("d2", "is not a number"),
    ("1d and 2h", "not a number"), ("-1d", "is not a number and a unit"), ("0h", "is zero"), ("", "a duration is"),
    (None, "a duration is"), (3600, "a duration is")])
def test_a_bad_duration_is_refused_naming_it(text, message):
    with pytest.raises(ClassError, match=message) as info:
        parse_duration(text)
    assert info.value.code == "bad-duration" and repr(text) in info.value.message


def test_a_student_s_own_due_date_is_the_later_of_the_assignment_s_and_their_extension():
    assert own_due(DUE, None) == DUE and own_due(DUE, DUE + 60) == DUE + 60
    assert own_due(DUE, DUE - 60) == DUE  # the due date moved past the extension: moot
    assert own_due(None, DUE) is None  # no due date, nothing to extend
