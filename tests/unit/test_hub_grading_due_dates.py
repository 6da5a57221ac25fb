"""nbgrader grades with the classes' due dates: real nbgrader (``astrohub_hub.grading``, run as we are).

The classes service tells nbgrader the assignment's due date (its gradebook's ``duedate``) and when each
submission was taken (``timestamp.txt``), so nbgrader's lateness is ours, and an instructor's late penalty
(points per hour late) is taken once per submission, however many notebooks the assignment has: a late
submission loses the points (never more than its score), an on-time one does not, nor one late against the
class's due date but within the student's extension (nbgrader's submission ``extension``). The penalty follows
the score nbgrader holds now: a grade the instructor changes by hand (formgrader) moves the gradebook's score and,
once feedback is returned, the pages the student gets.
The class's clock is a test clock; nbgrader reads the times it is given, so nothing here waits. System users
and ACLs are exercised in tests/integration/test_platform_classes.py.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from contextlib import closing, contextmanager
from datetime import datetime, timezone

import nbformat
import pytest
import requests
from nbformat.v4 import new_code_cell, new_notebook

from astrohub_hub.accounts import SystemAccounts
from astrohub_hub.classes import Actor, ClassError, Teaching
from platform_lib.local.ports import free_ports

ADMIN, PROF = Actor("root-cli", admin=True), Actor("prof")
ANN, BOB, CY, DEE = Actor("ann"), Actor("bob"), Actor("cy"), Actor("dee")


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture()
def teaching(tmp_path):
    now = [1_700_000_000.0]
    t = Teaching(tmp_path / "classes", tmp_path / "workspaces", tmp_path / "state" / "classes.sqlite",
                 accounts=SystemAccounts("astro-", run_as_system_users=False),
                 home_template=str(tmp_path / "home" / "{username}"),
                 user_exists={"prof", "ann", "bob", "cy", "dee"}.__contains__, clock=lambda: now[0])
    t.now = now
    t.create_class(ADMIN, "c1", instructors=["prof"], students=["ann", "bob", "cy", "dee"])
    return t


def _write_assignment(folder) -> None:
    """Two notebooks: ``cube`` (1 point) and ``square`` (3 points), each one answer cell and one test cell
    (nbgrader's metadata, as its formgrader writes it)."""
    def meta(grade_id, **kw):
        return {"nbgrader": {"schema_version": 3, "grade_id": grade_id, **kw}}

    folder.mkdir(parents=True)
    for name, power, of_3, points in (("cube", "x * x * x", 27, 1), ("square", "x * x", 9, 3)):
        nb = new_notebook(cells=[
            new_code_cell(f"def {name}(x):\n    ### BEGIN SOLUTION\n    return {power}\n    ### END SOLUTION",
                          metadata=meta("answer", grade=False, solution=True, locked=False)),
            new_code_cell(f"assert {name}(3) == {of_3}",
                          metadata=meta("test", grade=True, solution=False, locked=True, points=points))])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, folder / f"{name}.ipynb")


def _answer(tmp_path, student: str) -> None:
    for name, power in (("cube", "x * x * x"), ("square", "x * x")):
        copy = tmp_path / "home" / student / "c1" / "hw1" / f"{name}.ipynb"
        nb = json.loads(copy.read_text())
        nb["cells"][0]["source"] = "".join(nb["cells"][0]["source"]).replace("raise NotImplementedError()",
                                                                             f"return {power}")
        copy.write_text(json.dumps(nb))


def test_nbgrader_knows_the_due_date_and_each_submission_time_and_takes_the_late_penalty_once(teaching, tmp_path):
    """dee has a 2 h extension (nbgrader's per-submission ``extension``): handed in with bob, 1 h 30 min after
    the class's due date, she loses nothing and bob 2 points (one grading run serves both: nbgrader is slow)."""
    start = teaching.now[0]
    due = start + 3600
    _write_assignment(tmp_path / "classes" / "c1" / "instructors" / "hw1")
    released = teaching.release(PROF, "c1", "hw1", due=_iso(due), late_penalty_per_hour=1)
    assert (released["due"], released["late_penalty_per_hour"]) == (_iso(due), 1.0)
    teaching.extend(PROF, "c1", "hw1", "dee", by="1d")
    teaching.extend(PROF, "c1", "hw1", "cy", by="1d")
    for student in ("ann", "bob", "cy", "dee"):
        _answer(tmp_path, student)
    # bob hands in a timestamp.txt of his own, claiming to be early: nbgrader must read the service's time
    (tmp_path / "home" / "bob" / "c1" / "hw1" / "timestamp.txt").write_text("2000-01-01 00:00:00 UTC\n")
    # and cy a folder of that name (it would stop nbgrader, and so the whole class's grading, if left)
    (tmp_path / "home" / "cy" / "c1" / "hw1" / "timestamp.txt").mkdir()
    (tmp_path / "home" / "cy" / "c1" / "hw1" / "timestamp.txt" / "x").write_text("x")
    # ann deletes cube's test cell (1 point): nbgrader puts it back and runs it, so her answer still earns it
    cube = tmp_path / "home" / "ann" / "c1" / "hw1" / "cube.ipynb"
    nb = json.loads(cube.read_text())
    nb["cells"] = [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") != "test"]
    cube.write_text(json.dumps(nb))
    teaching.now[0] = start + 600.75
    assert teaching.submit(ANN, "c1", "hw1")["late"] is False
    teaching.now[0] = due + 5400.5  # 1 h 30 min 0.5 s late: two started hours, 2 points of the assignment's 4
    assert teaching.submit(BOB, "c1", "hw1")["late_seconds"] == 5401
    teaching.extend(PROF, "c1", "hw1", "dee", by="2h")  # a new grant replaces the last one
    assert teaching.submit(DEE, "c1", "hw1")["late"] is False
    teaching.extend(PROF, "c1", "hw1", "cy", until=None)  # taken back: cy's due date is the class's again
    teaching.now[0] = due + 5 * 3600  # 5 hours late: 5 points, more than the 4 cy scored
    assert teaching.submit(CY, "c1", "hw1")["late_seconds"] == 5 * 3600

    grades = teaching.collect(PROF, "c1", "hw1", grade=True)["grades"]
    assert {s: (g["score"], g["late_penalty"], g["max_score"]) for s, g in grades.items()} == {
        "ann": (4.0, 0.0, 4.0), "bob": (2.0, 2.0, 4.0), "cy": (0.0, 4.0, 4.0), "dee": (4.0, 0.0, 4.0)}, grades
    assert grades["ann"]["late_seconds"] == 0 and math.ceil(grades["bob"]["late_seconds"]) == 5401  # nbgrader's
    assert grades["dee"]["late_seconds"] == 0

    rows = {r["student"]: r for r in teaching.gradebook(PROF, "c1")["rows"]}
    assert [(rows[s]["score"], rows[s]["late_penalty"], rows[s]["late"], rows[s]["late_seconds"],
             rows[s]["extended_until"]) for s in ("ann", "bob", "cy", "dee")] == [
        (4.0, 0.0, False, 0, None), (2.0, 2.0, True, 5401, None), (0.0, 4.0, True, 18000, None),
        (4.0, 0.0, False, 0, _iso(due + 7200))]
    # nbgrader's own gradebook: the due date, the times the service took the work (naive UTC, its form), and
    # each notebook's share of the penalty (in name order, at most the notebook's score, the rest carried on)
    gradebook = tmp_path / "classes" / "c1" / "instructors" / "nbgrader" / "gradebook.db"
    with closing(sqlite3.connect(gradebook)) as db:
        [(duedate,)] = db.execute("SELECT duedate FROM assignment WHERE name = 'hw1'").fetchall()
        extensions = dict(db.execute("SELECT student.id, extension FROM submitted_assignment JOIN student ON "
                                     "student.id = submitted_assignment.student_id").fetchall())
        stamps = dict(db.execute("SELECT student.id, timestamp FROM submitted_assignment JOIN student ON "
                                 "student.id = submitted_assignment.student_id").fetchall())
        shares = db.execute(
            "SELECT student.id, notebook.name, submitted_notebook.late_submission_penalty FROM submitted_notebook "
            "JOIN notebook ON notebook.id = submitted_notebook.notebook_id JOIN submitted_assignment ON "
            "submitted_assignment.id = submitted_notebook.assignment_id JOIN student ON "
            "student.id = submitted_assignment.student_id ORDER BY student.id, notebook.name").fetchall()
    assert datetime.fromisoformat(duedate).replace(tzinfo=timezone.utc).timestamp() == due
    assert {s: datetime.fromisoformat(t).replace(tzinfo=timezone.utc).timestamp() for s, t in stamps.items()} == {
        "ann": start + 600.75, "bob": due + 5400.5, "cy": due + 5 * 3600, "dee": due + 5400.5}
    assert shares == [("ann", "cube", None), ("ann", "square", None), ("bob", "cube", 0.5), ("bob", "square", 1.5),
                      ("cy", "cube", 1.0), ("cy", "square", 3.0), ("dee", "cube", None), ("dee", "square", None)]
    assert {s: e is not None for s, e in extensions.items()} == {"ann": False, "bob": False, "cy": False, "dee": True}

    # The instructor changes bob's grades by hand in formgrader (nbgrader's server extension, over its HTTP API):
    # square's test 3 -> 2 points, 0.5 extra credit on cube. His score is nbgrader's 3.5 less the 2-point penalty,
    # worked out when asked (the gradebook, its CSV) and again in the feedback he gets, not frozen at autograding.
    with _formgrader(tmp_path / "classes" / "c1" / "instructors", tmp_path / "jupyter") as api:
        for notebook, manual, extra in (("square", 2.0, None), ("cube", 1.0, 0.5)):
            [submitted] = [n for n in api("GET", f"submitted_notebooks/hw1/{notebook}") if n["student"] == "bob"]
            [grade] = api("GET", f"grades?submission_id={submitted['id']}")
            assert (grade["name"], grade["auto_score"]) == ("test", 3.0 if notebook == "square" else 1.0)
            api("PUT", f"grade/{grade['id']}", {"manual_score": manual, "extra_credit": extra})
    rows = {r["student"]: r for r in teaching.gradebook(PROF, "c1")["rows"]}
    assert (rows["bob"]["score"], rows["bob"]["late_penalty"], rows["bob"]["max_score"]) == (1.5, 2.0, 4.0)
    assert (rows["ann"]["score"], rows["cy"]["score"], rows["dee"]["score"]) == (4.0, 0.0, 4.0)  # unchanged
    assert {s: r["needs_manual_grade"] for s, r in rows.items()} == {"ann": False, "bob": False, "cy": False,
                                                                     "dee": False}
    returned = teaching.return_feedback(PROF, "c1", "hw1")["returned"]
    assert sorted(returned["bob"]) == ["cube.html", "square.html", "timestamp.txt"]
    pages = {name: (tmp_path / "home" / "bob" / "c1" / "hw1" / "feedback" / f"{name}.html").read_text()
             for name in ("cube", "square")}
    # the pages load nothing from outside the platform (nbgrader's template loaded MathJax from cdnjs)
    assert not [ref for page in pages.values() for ref in re.findall(r'(?:src|href)="((?:https?:)?//[^"]*)"', page)]
    shown = {name: _feedback_figures(page) for name, page in pages.items()}
    # each page: (score after its share of the penalty, its share); cube 1.5 and square 2 of nbgrader's 3.5
    assert shown == {"cube": (pytest.approx(1.5 - 2 * 1.5 / 3.5, abs=0.01), pytest.approx(2 * 1.5 / 3.5, abs=0.01)),
                     "square": (pytest.approx(2 - 2 * 2 / 3.5, abs=0.01), pytest.approx(2 * 2 / 3.5, abs=0.01))}
    assert sum(score for score, _ in shown.values()) == pytest.approx(rows["bob"]["score"], abs=0.02)


#: formgrader on, and the slow extensions a Jupyter server here would load off (it starts sooner)
_SERVER_EXTENSIONS = ("nbgrader.server_extensions.formgrader", "jupyterlab", "notebook", "jupyter_server_ydoc",
                      "jupyter_lsp", "nbgrader.server_extensions.assignment_list",
                      "nbgrader.server_extensions.course_list", "nbgrader.server_extensions.validate_assignment")


@contextmanager
def _formgrader(root, runtime):
    """nbgrader's formgrader in a Jupyter server of its own on ``root`` (an instructor's view: the course
    directory ``root/nbgrader``, set in an ``nbgrader_config.py`` as nbgrader's docs say); yields
    ``api(method, path, body=None)`` for its ``/formgrader/api/`` (token auth; the answer's JSON)."""
    (port,) = free_ports(1)
    (root / "nbgrader_config.py").write_text(f"c.CourseDirectory.root = {str(root / 'nbgrader')!r}\n")
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(runtime / "config"), "JUPYTER_RUNTIME_DIR": str(runtime / "run"),
           "JUPYTER_DATA_DIR": str(runtime / "data")}
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", f"--ServerApp.root_dir={root}", f"--ServerApp.port={port}",
         "--ServerApp.port_retries=0", "--ServerApp.open_browser=False", "--IdentityProvider.token=fg-token",
         "--ServerApp.allow_root=True", *(f"--ServerApp.jpserver_extensions={name}={name.endswith('formgrader')}"
                                          for name in _SERVER_EXTENSIONS)],
        cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base, headers = f"http://127.0.0.1:{port}/formgrader/api/", {"Authorization": "token fg-token"}

    def api(method, path, body=None):
        answer = requests.request(method, base + path, json=body, headers=headers, timeout=30)
        assert answer.status_code == 200, (method, path, answer.status_code, answer.text[:500])
        return answer.json()

    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, server.stderr.read()[-3000:]
            try:
                if requests.get(base + "status", headers=headers, timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "formgrader did not answer in 90 s"
            time.sleep(0.2)
        yield api
    finally:
        server.terminate()
        server.wait(30)


def _feedback_figures(page: str) -> tuple[float, float]:
    """(the notebook's score, its late penalty) as nbgrader's feedback page shows them."""
    [score] = re.findall(r"<h4>\w+ \(Score: ([0-9.]+) / [0-9.]+\)</h4>", page)
    penalty = re.findall(r"Late submission penalty \(Score: -([0-9.]+)\)", page)
    return float(score), float(penalty[0]) if penalty else 0.0


def test_a_late_penalty_needs_a_due_date_and_is_a_number_of_points_not_below_zero(teaching, tmp_path):
    """(hw1's nbgrader notebooks, which give it a worth, are there only while no release runs: no nbgrader step.)"""
    hw1 = tmp_path / "classes" / "c1" / "instructors" / "hw1"
    hw1.mkdir(parents=True)
    now = teaching.now[0]
    with pytest.raises(ClassError, match=r"has no due date: a late penalty \(2 points per hour late\) needs one"):
        teaching.release(PROF, "c1", "hw1", late_penalty_per_hour=2)
    assert teaching.show(PROF, "c1")["assignments"] == []  # refused before anything was released
    for bad in (-1, "1", True, float("nan")):
        with pytest.raises(ClassError, match="a late penalty is a number of points >= 0") as info:
            teaching.release(PROF, "c1", "hw1", due=_iso(now + 3600), late_penalty_per_hour=bad)
        assert info.value.status == 400 and info.value.code == "bad-late-penalty" and repr(bad) in info.value.message
    teaching.release(PROF, "c1", "hw1", due=_iso(now + 3600))
    hw1.rmdir()
    _write_assignment(hw1)  # 4 points
    assert teaching.set_due(PROF, "c1", "hw1", late_penalty_per_hour=0.5)["late_penalty_per_hour"] == 0.5
    assert teaching.set_due(PROF, "c1", "hw1", late_penalty_per_hour=2)["late_penalty_per_hour"] == 2.0  # alone
    with pytest.raises(ClassError, match="a late penalty is a number"):
        teaching.set_due(PROF, "c1", "hw1", late_penalty_per_hour=-0.5)
    assert teaching.show(PROF, "c1")["deadlines"]["hw1"]["late_penalty_per_hour"] == 2.0  # unchanged
    shutil.rmtree(hw1)
    hw1.mkdir()
    assert teaching.release(PROF, "c1", "hw1")["late_penalty_per_hour"] == 2.0  # a re-release keeps it
    cleared = teaching.set_due(PROF, "c1", "hw1", None)  # no due date: no penalty either
    assert (cleared["due"], cleared["late_penalty_per_hour"]) == (None, 0.0)
    with pytest.raises(ClassError, match="has no due date: a late penalty"):
        teaching.set_due(PROF, "c1", "hw1", late_penalty_per_hour=1)



def test_a_late_penalty_on_an_assignment_with_no_nbgrader_notebook_is_refused(teaching, tmp_path):
    """Its worth is unknown and nbgrader holds no score to take points from: any penalty (1e308 was taken, and
    took nothing) is refused naming the assignment and what to do, on release and later; refusing late work and
    a due date alone are still fine."""
    hw = tmp_path / "classes" / "c1" / "instructors" / "essay"
    hw.mkdir(parents=True)
    (hw / "task.txt").write_text("Write a page on parallax.\n")
    (hw / "notes.ipynb").write_text(json.dumps(new_notebook(cells=[new_code_cell("1 + 1")])))  # not nbgrader's
    due = _iso(teaching.now[0] + 3600)
    for bad in (1, 1e308):
        with pytest.raises(ClassError, match=rf"late penalty of {re.escape(f'{bad:g}')} points per hour late needs to "
                                             r"know what assignment 'essay' is worth, and it has no nbgrader-marked "
                                             r"notebook .*mark its graded cells with nbgrader first, or refuse late "
                                             r"work \(refuse_late\)") as info:
            teaching.release(PROF, "c1", "essay", due=due, late_penalty_per_hour=bad)
        assert info.value.status == 400 and info.value.code == "bad-late-penalty"
    assert teaching.show(PROF, "c1")["assignments"] == []  # refused before anything was released
    released = teaching.release(PROF, "c1", "essay", due=due, refuse_late=True)
    assert (released["due"], released["refuse_late"], released["late_penalty_per_hour"]) == (due, True, 0.0)
    with pytest.raises(ClassError, match="needs to know what assignment 'essay' is worth"):
        teaching.set_due(PROF, "c1", "essay", late_penalty_per_hour=2)
    assert teaching.show(PROF, "c1")["deadlines"]["essay"]["late_penalty_per_hour"] == 0.0  # unchanged
    assert teaching.set_due(PROF, "c1", "essay", late_penalty_per_hour=0)["late_penalty_per_hour"] == 0.0  # none


def test_a_late_penalty_is_at_most_what_the_assignment_is_worth(teaching, tmp_path):
    """A penalty per hour late above the assignment's points (1e308 was taken) is refused naming both, before
    anything is released or changed; the whole of it (4 points of 4: any lateness takes everything) is taken.
    (hw2 is released before its notebooks are written, so no nbgrader step runs here.)"""
    instructors = tmp_path / "classes" / "c1" / "instructors"
    _write_assignment(instructors / "hw1")  # 1 + 3 points
    due = _iso(teaching.now[0] + 3600)
    for bad in (4.5, 1e308):
        with pytest.raises(ClassError, match=rf"late penalty of {re.escape(f'{bad:g}')} points per hour late is more "
                                             r"than assignment 'hw1' is worth \(4 points, its nbgrader-marked cells\): "
                                             r"give at most 4") as info:
            teaching.release(PROF, "c1", "hw1", due=due, late_penalty_per_hour=bad)
        assert info.value.status == 400 and info.value.code == "bad-late-penalty"
    assert teaching.show(PROF, "c1")["assignments"] == []  # refused before anything was released
    (instructors / "hw2").mkdir()
    teaching.release(PROF, "c1", "hw2", due=due)
    shutil.rmtree(instructors / "hw2")
    _write_assignment(instructors / "hw2")  # the notebooks as they are now
    with pytest.raises(ClassError, match="more than assignment 'hw2' is worth"):
        teaching.set_due(PROF, "c1", "hw2", late_penalty_per_hour=5)
    assert teaching.show(PROF, "c1")["deadlines"]["hw2"]["late_penalty_per_hour"] == 0.0  # unchanged
    assert teaching.set_due(PROF, "c1", "hw2", late_penalty_per_hour=4)["late_penalty_per_hour"] == 4.0
