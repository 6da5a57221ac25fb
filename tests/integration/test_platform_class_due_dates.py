"""Assignment due dates on the running platform, as real hub users (the classes service, its page and the CLI).

An instructor releases homework with a due date a few seconds ahead (``astrohub classes release --due``); one
student submits before it, the other after it: both are taken, the late one is marked "late by ..." in its
answer, in the student's view of the class and on the class page, and in the gradebook (JSON and CSV); after
``astrohub classes due --refuse-late`` the next late submission is refused with the due date in the message,
and clearing the due date (``none``) takes work again. Bad due dates and late penalties are refused naming the
value; a late penalty set with ``astrohub classes due --late-penalty-per-hour`` is refused while the assignment has
no nbgrader-marked notebook (its worth unknown), and once it has one shows on the class page.
An extension (``astrohub classes extend``) gives one student their own due date: past the class's, their work is
on time and the others' refused; bad extensions are refused naming the value.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
import subprocess
import time
from datetime import datetime, timezone


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_work_after_the_due_date_is_marked_late_and_refused_once_the_deadline_is_hard(platform):
    prof, early, tardy = (platform.unique(n) for n in ("dprof", "dearly", "dtardy"))
    name = platform.create_class(platform.unique("due"), [prof], [early, tardy])
    # The instructor authors the assignment in the instructors' folder (as their own system user when isolated).
    hw = platform.data_dir / "classes" / name / "instructors" / "hw1"
    as_prof = ["runuser", "-u", platform.system_user(prof), "--"] if platform.isolated else []
    subprocess.run([*as_prof, "sh", "-c", f"mkdir {shlex.quote(str(hw))} && echo parallax > "
                    f"{shlex.quote(str(hw / 'task.txt'))}"], check=True)
    base = f"classes/{name}/assignments/hw1"

    # Bad due dates are refused naming the value, and nothing is released.
    past = platform.astrohub("classes", "release", name, "hw1", "--due", "2020-01-01T00:00Z")
    assert past.returncode == 2 and "'2020-01-01T00:00Z'" in past.stderr and "not in the future" in past.stderr, \
        past.stderr
    for body, message in [({"due": "2030-01-01T00:00"}, "names no time zone"), ({"due": 5}, "a due date is"),
                          ({"due": "2030-01-01T00:00Z", "refuse_late": "yes"}, "refuse_late is true or false"),
                          ({"due": "2030-01-01T00:00Z", "late_penalty_per_hour": -1}, "a late penalty is a number"),
                          ({"late_penalty_per_hour": 2}, "a late penalty (2 points per hour late) needs one")]:
        refused = platform.classes_api(prof, "POST", f"{base}/release", body)
        assert refused.status_code == 400 and message in refused.json()["message"], refused.text
    never = platform.classes_api(prof, "POST", f"{base}/due", {"due": _iso(time.time() + 3600)})
    assert never.status_code == 404 and "'hw1'" in never.json()["message"] and "never released" in never.text
    assert platform.classes_api(prof, "GET", f"classes/{name}").json()["assignments"] == []

    # Released with a due date a few seconds ahead: one student before it, one after it.
    due = int(time.time()) + 5
    released = platform.astrohub("classes", "release", name, "hw1", "--due", _iso(due), "--json")
    assert released.returncode == 0 and json.loads(released.stdout)["due"] == _iso(due), released.stderr
    on_time = platform.classes_api(early, "POST", f"{base}/submit")
    assert on_time.status_code == 200 and on_time.json()["late"] is False, on_time.text
    assert on_time.json()["note"] == f"on time (due {_iso(due)})"
    time.sleep(max(0.0, due + 1.5 - time.time()))  # the due date passes (a few seconds at most)
    late = platform.classes_api(tardy, "POST", f"{base}/submit")
    assert late.status_code == 200 and late.json()["late"] is True, late.text
    assert re.match(rf"late by \d+ s \(due {_iso(due)}\)", late.json()["note"]), late.json()["note"]

    # The student sees the due date and their late submission (API and the class page).
    mine = platform.classes_api(tardy, "GET", f"classes/{name}").json()
    assert mine["deadlines"] == {"hw1": {"due": _iso(due), "refuse_late": False, "late_penalty_per_hour": 0.0,
                                         "extended_until": None}}
    assert [(s["student"], s["late"]) for s in mine["submissions"]] == [(tardy, True)]
    page = platform.login(tardy).get(f"{platform.url}services/astrohub-classes/", timeout=60).text
    assert f"<li data-assignment='hw1'>hw1: due {_iso(due)} (late work taken, marked late). " in page, page
    assert re.search(r"hw1 at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(late by \d+ s\)", page), page  # UTC, as the due date

    # The gradebook: the due date and the latest submission's lateness (CLI CSV and the service's CSV).
    book = platform.astrohub("classes", "grades", name, "--csv")
    assert book.returncode == 0, book.stderr
    rows = {r["student"]: r for r in csv.DictReader(io.StringIO(book.stdout))}
    assert (rows[early]["due"], rows[early]["late"], rows[early]["late_seconds"]) == (_iso(due), "False", "0")
    assert rows[tardy]["late"] == "True" and int(rows[tardy]["late_seconds"]) >= 1, rows
    header = platform.classes_api(prof, "GET", f"classes/{name}/grades?format=csv").text.splitlines()[0]
    assert header.endswith(",due,late,late_seconds,late_penalty,extended_until,needs_manual_grade,on_roster,"
                           "last_submitted,class"), header
    # teach25: for a registrar, the submission's time as a time (ISO 8601 UTC, as due) and the class on each row
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rows[tardy]["last_submitted"]), rows
    assert {r["class"] for r in rows.values()} == {name}, rows

    # A hard deadline (the CLI): the next late submission is refused with the due date; students cannot set it.
    hard = platform.astrohub("classes", "due", name, "hw1", "--refuse-late", "--json")
    assert hard.returncode == 0 and json.loads(hard.stdout) == {
        "class": name, "assignment": "hw1", "due": _iso(due), "refuse_late": True, "late_penalty_per_hour": 0.0}, \
        hard.stderr
    refused = platform.classes_api(tardy, "POST", f"{base}/submit")
    assert refused.status_code == 403 and f"was due at {_iso(due)}" in refused.json()["message"], refused.text
    assert platform.classes_api(prof, "GET", f"classes/{name}/log").json()[-1]["action"] == "late submission refused"
    assert platform.classes_api(tardy, "POST", f"{base}/due", {"due": None}).status_code == 403
    # A late penalty for nbgrader (the CLI): a negative one is refused naming it; one set shows on the page.
    negative = platform.astrohub("classes", "due", name, "hw1", "--late-penalty-per-hour", "-1")
    assert negative.returncode == 2 and "got -1.0" in negative.stderr, negative.stderr
    # hw1 is a task.txt: no nbgrader-marked notebook, no worth known, no score to take points from: refused.
    unknown = platform.astrohub("classes", "due", name, "hw1", "--late-penalty-per-hour", "1.5")
    assert unknown.returncode == 2 and "'hw1' is worth, and it has no nbgrader-marked notebook" in unknown.stderr, \
        unknown.stderr
    graded = {"cells": [{"cell_type": "code", "execution_count": None, "outputs": [], "source": "assert True",
                         "metadata": {"nbgrader": {"schema_version": 3, "grade_id": "t", "grade": True,
                                                   "solution": False, "locked": True, "points": 2}}}],
              "metadata": {}, "nbformat": 4, "nbformat_minor": 5}  # the instructor marks a cell worth 2 points
    subprocess.run([*as_prof, "sh", "-c", f"cat > {shlex.quote(str(hw / 'graded.ipynb'))}"], check=True, text=True,
                   input=json.dumps(graded))
    penalty = platform.astrohub("classes", "due", name, "hw1", "--late-penalty-per-hour", "1.5", "--json")
    assert penalty.returncode == 0 and json.loads(penalty.stdout)["late_penalty_per_hour"] == 1.5, penalty.stderr
    page = platform.login(tardy).get(f"{platform.url}services/astrohub-classes/", timeout=60).text
    assert f"<li data-assignment='hw1'>hw1: due {_iso(due)} (late work refused, 1.5 points off per hour late). " in page, page
    # Cleared (the CLI's `none`): work is taken again, not late; no due date, no penalty.
    cleared = platform.astrohub("classes", "due", name, "hw1", "none", "--json")
    assert cleared.returncode == 0 and json.loads(cleared.stdout)["due"] is None, cleared.stderr
    assert json.loads(cleared.stdout)["late_penalty_per_hour"] == 0.0
    again = platform.classes_api(tardy, "POST", f"{base}/submit")
    assert again.status_code == 200 and (again.json()["late"], again.json()["note"]) == (False, None), again.text


def test_an_extension_gives_one_student_their_own_due_date_on_the_running_platform(platform):
    prof, ill, other = (platform.unique(n) for n in ("xprof", "xill", "xother"))
    name = platform.create_class(platform.unique("ext"), [prof], [ill, other])
    hw = platform.data_dir / "classes" / name / "instructors" / "hw1"
    as_prof = ["runuser", "-u", platform.system_user(prof), "--"] if platform.isolated else []
    subprocess.run([*as_prof, "mkdir", str(hw)], check=True)
    base = f"classes/{name}/assignments/hw1"
    due = int(time.time()) + 4  # the calls below take most of it
    released = platform.classes_api(prof, "POST", f"{base}/release", {"due": _iso(due), "refuse_late": True})
    assert released.status_code == 200, released.text
    # Refused naming the value: a date before the due date, a bad duration, a student not on the roster; and a
    # student cannot grant one.
    for body, message in [({"student": ill, "until": _iso(due - 1)}, "is not after the due date of 'hw1'"),
                          ({"student": ill, "by": "2 days"}, "duration '2 days' is not a number and a unit")]:
        refused = platform.classes_api(prof, "POST", f"{base}/extension", body)
        assert refused.status_code == 400 and message in refused.json()["message"], refused.text
    stranger = platform.classes_api(prof, "POST", f"{base}/extension", {"student": prof, "by": "2d"})
    assert stranger.status_code == 400 and f"{prof!r} is not a student of class" in stranger.text, stranger.text
    assert platform.classes_api(ill, "POST", f"{base}/extension", {"student": ill, "by": "1d"}).status_code == 403
    granted = platform.astrohub("classes", "extend", name, "hw1", ill, "--by", "1h", "--json")
    assert granted.returncode == 0 and json.loads(granted.stdout)["extended_until"] == _iso(due + 3600), \
        granted.stderr

    time.sleep(max(0.0, due + 1.0 - time.time()))  # the class's due date passes (a few seconds at most)
    refused = platform.classes_api(other, "POST", f"{base}/submit")
    assert refused.status_code == 403 and f"was due at {_iso(due)}" in refused.json()["message"], refused.text
    taken = platform.classes_api(ill, "POST", f"{base}/submit")
    assert taken.status_code == 200, taken.text
    assert taken.json()["note"] == f"on time (due {_iso(due + 3600)} with your extension)", taken.text
    # Their own due date: in the class as they see it (`classes show --student`), on their class page, and in the
    # gradebook (its extended_until column).
    shown = platform.classes_api(prof, "GET", f"classes/{name}?student={ill}")
    assert shown.json()["deadlines"]["hw1"]["extended_until"] == _iso(due + 3600), shown.text
    page = platform.login(ill).get(f"{platform.url}services/astrohub-classes/", timeout=60).text
    assert f"your extension: due {_iso(due + 3600)}" in page, page
    roster = platform.login(prof).get(f"{platform.url}services/astrohub-classes/", timeout=60).text
    assert f"extended to {_iso(due + 3600)}</td>" in roster, roster  # the instructor's roster cell
    rows = list(csv.reader(io.StringIO(platform.classes_api(prof, "GET", f"classes/{name}/grades?format=csv").text)))
    book, at = {r[0]: r for r in rows[1:]}, rows[0].index("extended_until")
    assert book[ill][at] == _iso(due + 3600) and book[other][at] == "", rows
