"""nbgrader grades with the classes' due dates: real nbgrader (``astrohub_hub.grading``, run as we are).

The classes service tells nbgrader the assignment's due date (its gradebook's ``duedate``) and when each
submission was taken (``timestamp.txt``), so nbgrader's lateness is ours, and an instructor's late penalty
(points per hour late) is nbgrader's to apply: a late submission loses the points, an on-time one does not.
The class's clock is a test clock; nbgrader reads the times it is given, so nothing here waits. System users
and ACLs are exercised in tests/integration/test_platform_classes.py.
"""

from __future__ import annotations

import json
import math
import sqlite3
from contextlib import closing
from datetime import datetime, timezone

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from astrohub_hub.accounts import SystemAccounts
from astrohub_hub.classes import Actor, ClassError, Teaching

ADMIN, PROF, ANN, BOB = Actor("root-cli", admin=True), Actor("prof"), Actor("ann"), Actor("bob")


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture()
def teaching(tmp_path):
    now = [1_700_000_000.0]
    t = Teaching(tmp_path / "classes", tmp_path / "workspaces", tmp_path / "state" / "classes.sqlite",
                 accounts=SystemAccounts("astro-", run_as_system_users=False),
                 home_template=str(tmp_path / "home" / "{username}"),
                 user_exists={"prof", "ann", "bob"}.__contains__, clock=lambda: now[0])
    t.now = now
    t.create_class(ADMIN, "c1", instructors=["prof"], students=["ann", "bob"])
    return t


def _write_assignment(folder) -> None:
    """One answer cell and one test cell worth 3 points (nbgrader's metadata, as its formgrader writes it)."""
    def meta(grade_id, **kw):
        return {"nbgrader": {"schema_version": 3, "grade_id": grade_id, **kw}}

    nb = new_notebook(cells=[
        new_code_cell("def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION",
                      metadata=meta("answer", grade=False, solution=True, locked=False)),
        new_code_cell("assert square(3) == 9", metadata=meta("test", grade=True, solution=False, locked=True,
                                                             points=3))])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / "square.ipynb")


def _answer(tmp_path, student: str) -> None:
    copy = tmp_path / "home" / student / "c1" / "hw1" / "square.ipynb"
    nb = json.loads(copy.read_text())
    nb["cells"][0]["source"] = "".join(nb["cells"][0]["source"]).replace("raise NotImplementedError()",
                                                                         "return x * x")
    copy.write_text(json.dumps(nb))


def test_nbgrader_knows_the_due_date_and_each_submission_time_and_takes_the_late_penalty(teaching, tmp_path):
    start = teaching.now[0]
    due = start + 3600
    _write_assignment(tmp_path / "classes" / "c1" / "instructors" / "hw1")
    released = teaching.release(PROF, "c1", "hw1", due=_iso(due), late_penalty_per_hour=1)
    assert (released["due"], released["late_penalty_per_hour"]) == (_iso(due), 1.0)
    for student in ("ann", "bob"):
        _answer(tmp_path, student)
    # bob hands in a timestamp.txt of his own, claiming to be early: nbgrader must read the service's time
    (tmp_path / "home" / "bob" / "c1" / "hw1" / "timestamp.txt").write_text("2000-01-01 00:00:00 UTC\n")
    teaching.now[0] = start + 600.75
    assert teaching.submit(ANN, "c1", "hw1")["late"] is False
    teaching.now[0] = due + 5400.5  # 1 h 30 min 0.5 s late: two started hours, 2 points
    assert teaching.submit(BOB, "c1", "hw1")["late_seconds"] == 5401

    grades = teaching.collect(PROF, "c1", "hw1", grade=True)["grades"]
    assert (grades["ann"]["score"], grades["ann"]["late_penalty"], grades["ann"]["max_score"]) == (3.0, 0.0, 3.0)
    assert (grades["bob"]["score"], grades["bob"]["late_penalty"]) == (1.0, 2.0), grades
    assert grades["ann"]["late_seconds"] == 0 and math.ceil(grades["bob"]["late_seconds"]) == 5401  # nbgrader's

    rows = {r["student"]: r for r in teaching.gradebook(PROF, "c1")["rows"]}
    assert [(rows[s]["score"], rows[s]["late_penalty"], rows[s]["late"], rows[s]["late_seconds"])
            for s in ("ann", "bob")] == [(3.0, 0.0, False, 0), (1.0, 2.0, True, 5401)]
    # nbgrader's own gradebook: the due date and the times the service took the work (naive UTC, its form)
    gradebook = tmp_path / "classes" / "c1" / "instructors" / "nbgrader" / "gradebook.db"
    with closing(sqlite3.connect(gradebook)) as db:
        [(duedate,)] = db.execute("SELECT duedate FROM assignment WHERE name = 'hw1'").fetchall()
        stamps = dict(db.execute("SELECT student.id, timestamp FROM submitted_assignment JOIN student ON "
                                 "student.id = submitted_assignment.student_id").fetchall())
    assert datetime.fromisoformat(duedate).replace(tzinfo=timezone.utc).timestamp() == due
    assert {s: datetime.fromisoformat(t).replace(tzinfo=timezone.utc).timestamp() for s, t in stamps.items()} == {
        "ann": start + 600.75, "bob": due + 5400.5}


def test_a_late_penalty_needs_a_due_date_and_is_a_number_of_points_not_below_zero(teaching, tmp_path):
    (tmp_path / "classes" / "c1" / "instructors" / "hw1").mkdir(parents=True)
    now = teaching.now[0]
    with pytest.raises(ClassError, match=r"has no due date: a late penalty \(2 points per hour late\) needs one"):
        teaching.release(PROF, "c1", "hw1", late_penalty_per_hour=2)
    assert teaching.show(PROF, "c1")["assignments"] == []  # refused before anything was released
    for bad in (-1, "1", True, float("nan")):
        with pytest.raises(ClassError, match="a late penalty is a number of points >= 0") as info:
            teaching.release(PROF, "c1", "hw1", due=_iso(now + 3600), late_penalty_per_hour=bad)
        assert info.value.status == 400 and info.value.code == "bad-late-penalty" and repr(bad) in info.value.message
    teaching.release(PROF, "c1", "hw1", due=_iso(now + 3600), late_penalty_per_hour=0.5)
    assert teaching.set_due(PROF, "c1", "hw1", late_penalty_per_hour=2)["late_penalty_per_hour"] == 2.0  # alone
    with pytest.raises(ClassError, match="a late penalty is a number"):
        teaching.set_due(PROF, "c1", "hw1", late_penalty_per_hour=-0.5)
    assert teaching.show(PROF, "c1")["deadlines"]["hw1"]["late_penalty_per_hour"] == 2.0  # unchanged
    assert teaching.release(PROF, "c1", "hw1")["late_penalty_per_hour"] == 2.0  # a re-release keeps it
    cleared = teaching.set_due(PROF, "c1", "hw1", None)  # no due date: no penalty either
    assert (cleared["due"], cleared["late_penalty_per_hour"]) == (None, 0.0)
    with pytest.raises(ClassError, match="has no due date: a late penalty"):
        teaching.set_due(PROF, "c1", "hw1", late_penalty_per_hour=1)
