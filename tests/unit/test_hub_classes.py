"""Unit tests of astrohub_hub.classes (Teaching) and .workspaces without system accounts: rules, bad input, history.

Folders are real (tmp_path); ACLs and system users are exercised by tests/integration/test_platform_classes.py.
"""

from __future__ import annotations

import os
import re

import pytest

from astrohub_hub import _transfer, folders
from astrohub_hub.accounts import SystemAccounts
from astrohub_hub.classes import Actor, ClassError, Teaching, renamed_in_log
from platform_lib import get_settings
from platform_lib.storage import Storage, WorkspaceDeleted

ADMIN, PROF, ANN, BOB, EVE = Actor("root-cli", admin=True), Actor("prof"), Actor("ann"), Actor("bob"), Actor("eve")
KNOWN = {"prof", "ann", "bob", "eve"}


@pytest.fixture()
def teaching(tmp_path):
    now = [1_700_000_000.0]
    mirrored = []
    t = Teaching(tmp_path / "classes", tmp_path / "workspaces", tmp_path / "state" / "classes.sqlite",
                 accounts=SystemAccounts("astro-", run_as_system_users=False),
                 home_template=str(tmp_path / "home" / "{username}"), user_exists=KNOWN.__contains__,
                 on_roster_change=lambda c, r, u: mirrored.append((c, r, u)), clock=lambda: now[0])
    t.now, t.mirrored = now, mirrored
    return t


def test_create_checks_everything_before_changing_anything(teaching, tmp_path):
    with pytest.raises(ClassError, match=r"unknown user\(s\) \['ghost'\]") as info:
        teaching.create_class(ADMIN, "astro101", instructors=["prof"], students=["ann", "ghost"])
    assert info.value.status == 404
    assert teaching.classes_of(ADMIN) == [] and not (tmp_path / "classes" / "astro101").exists()
    with pytest.raises(ClassError, match="only admins"):
        teaching.create_class(PROF, "astro101")
    with pytest.raises(ClassError, match="class name 'Astro 101'"):
        teaching.create_class(ADMIN, "Astro 101")
    with pytest.raises(ClassError, match="both instructor and student"):
        teaching.create_class(ADMIN, "astro101", instructors=["prof"], students=["prof"])
    info = teaching.create_class(ADMIN, "astro101", instructors=["prof"], students=[" ANN ", "bob"])
    assert info["students"] == ["ann", "bob"] and info["instructors"] == ["prof"]
    assert teaching.mirrored == [("astro101", "instructors", ["prof"]), ("astro101", "students", ["ann", "bob"])]
    for sub in ("materials", "instructors", "submissions"):
        assert (tmp_path / "classes" / "astro101" / sub).stat().st_mode & 0o777 == 0o770
    with pytest.raises(ClassError, match="exists already") as dup:
        teaching.create_class(ADMIN, "astro101")
    assert dup.value.status == 409


def test_roles_are_enforced(teaching):
    teaching.create_class(ADMIN, "c1", instructors=["prof"], students=["ann"])
    with pytest.raises(ClassError, match="only its instructors") as info:
        teaching.add_members(ANN, "c1", "student", ["bob"])
    assert info.value.status == 403
    with pytest.raises(ClassError, match="only admins add instructors"):
        teaching.add_members(PROF, "c1", "instructor", ["bob"])
    assert teaching.add_members(PROF, "c1", "student", ["bob"])["students"] == ["ann", "bob"]
    with pytest.raises(ClassError, match="already instructors"):
        teaching.add_members(ADMIN, "c1", "student", ["prof"])
    with pytest.raises(ClassError, match="'eve' may not"):
        teaching.show(EVE, "c1")
    assert "students" not in teaching.show(ANN, "c1")
    with pytest.raises(ClassError, match="no class 'nope'"):
        teaching.show(ADMIN, "nope")


def test_assignment_cycle_keeps_history_and_refuses_outsiders(teaching, tmp_path):
    teaching.create_class(ADMIN, "c1", instructors=["prof"], students=["ann", "bob"])
    hw = tmp_path / "classes" / "c1" / "instructors" / "hw1"
    hw.mkdir()
    (hw / "task.txt").write_text("task")
    with pytest.raises(ClassError, match="was not released"):
        teaching.submit(ANN, "c1", "hw1")
    teaching.release(PROF, "c1", "hw1")
    ann_work = tmp_path / "home" / "ann" / "c1" / "hw1"
    (ann_work / "task.txt").write_text("ann's answer")
    teaching.release(PROF, "c1", "hw1")  # releasing again keeps the student's work
    assert (ann_work / "task.txt").read_text() == "ann's answer"
    (ann_work / "draft.txt").write_text("a draft ann hands in by mistake")
    first = teaching.submit(ANN, "c1", "hw1")
    ann_collected = tmp_path / "classes" / "c1" / "instructors" / "collected" / "hw1" / "ann"
    assert teaching.collect(PROF, "c1", "hw1")["collected"] == {"ann": first["at"]}
    assert (ann_collected / "draft.txt").is_file()
    teaching.now[0] += 1
    (ann_work / "task.txt").write_text("ann's second answer")
    (ann_work / "draft.txt").unlink()  # her second submission leaves the draft out
    second = teaching.submit(ANN, "c1", "hw1")
    assert first["at"] != second["at"]
    assert len(list((tmp_path / "classes" / "c1" / "submissions" / "ann" / "hw1").iterdir())) == 2
    with pytest.raises(ClassError, match="'eve' is not a student of class 'c1'") as info:
        teaching.submit(EVE, "c1", "hw1")
    assert info.value.status == 403
    collected = teaching.collect(PROF, "c1", "hw1")
    assert collected["collected"] == {"ann": second["at"]} and collected["missing"] == ["bob"]
    # the collected copy is her latest submission, exactly: the draft of the first one is gone from it
    assert sorted(p.name for p in ann_collected.iterdir()) == ["task.txt"]
    assert (ann_collected / "task.txt").read_text() == "ann's second answer"
    assert sorted(p.name for p in ann_collected.parent.iterdir()) == ["ann"]  # nothing left beside it
    with pytest.raises(ClassError, match="only its instructors"):
        teaching.collect(ANN, "c1", "hw1")
    teaching.archive(ADMIN, "c1")
    with pytest.raises(ClassError, match="archived"):
        teaching.submit(ANN, "c1", "hw1")


def test_workspace_owner_manages_members_and_others_cannot(teaching, tmp_path):
    # team8: the root is there before the first workspace; privacy14: 0711, passable but not listable (it was 0755:
    # every user listed every workspace's name); each person finds theirs linked in the home (~/workspaces/<name>)
    assert (tmp_path / "workspaces").is_dir() and (tmp_path / "workspaces").stat().st_mode & 0o777 == 0o711
    info = teaching.workspaces.create(ANN, "survey", members=["bob"], readers=["eve"])
    assert info == {"name": "survey", "owner": "ann", "folder": str(tmp_path / "workspaces" / "survey"),
                    "members": ["ann", "bob"], "readers": ["eve"]}
    with pytest.raises(ClassError, match="exists already"):
        teaching.workspaces.create(BOB, "survey")
    with pytest.raises(ClassError, match="only its owner 'ann'") as info:
        teaching.workspaces.change(BOB, "survey", add=["prof"])
    assert info.value.status == 403
    with pytest.raises(ClassError, match=r"unknown user\(s\) \['ghost'\]"):
        teaching.workspaces.change(ANN, "survey", add=["prof", "ghost"])
    assert teaching.workspaces.show(ANN, "survey")["members"] == ["ann", "bob"]  # nothing changed
    with pytest.raises(ClassError, match="owner 'ann' cannot be removed"):
        teaching.workspaces.change(ADMIN, "survey", remove=["ann"])
    after = teaching.workspaces.change(ANN, "survey", add=["prof"], remove=["bob"])
    assert after["members"] == ["ann", "prof"]
    assert (tmp_path / "workspaces" / "survey").stat().st_mode & 0o007 == 0
    with pytest.raises(ClassError, match="names its owner"):
        teaching.workspaces.create(ADMIN, "team")
    assert teaching.workspaces.create(ADMIN, "team", owner="bob")["owner"] == "bob"
    with pytest.raises(ClassError, match="only admins create a workspace for somebody else"):
        teaching.workspaces.create(ANN, "team2", owner="bob")


def test_a_person_owns_at_most_the_operators_number_of_workspaces(teaching, tmp_path):
    """teams24: nothing limited how many workspaces a user made (each a folder, a hub group and ACLs): one person
    could make thousands. Now one beyond ``classes.maxWorkspacesPerUser`` owned is refused, naming the limit, the
    setting and the way on, before anything is made; admins are not held to it; deleting one frees a place."""
    ws = teaching.workspaces
    assert ws.max_per_user == 0  # the library's default: no limit (the service takes the hub setting's)
    ws.max_per_user = 2
    ws.create(ANN, "survey-a")
    ws.create(ANN, "survey-b", members=["bob"])
    ws.create(BOB, "bobs")  # another person's count is their own
    mirrored = []
    ws.on_members_change = lambda name, added, removed: mirrored.append(name)
    with pytest.raises(ClassError) as refused:
        ws.create(ANN, "survey-c", members=["eve"])
    assert (refused.value.status, refused.value.code, refused.value.value) == (409, "too-many-workspaces", 2)
    assert refused.value.message == (
        "'ann' owns 2 workspaces (survey-a, survey-b), the most one person may own on this platform (2, the "
        "operator's setting classes.maxWorkspacesPerUser): delete one you no longer need, or ask the platform's "
        "admins to raise the setting (or to make this one for you)")
    assert mirrored == [] and not (tmp_path / "workspaces" / "survey-c").exists()
    assert [w["name"] for w in ws.of(EVE)] == []
    # being a member of others' workspaces does not count; an admin makes one for ann beyond the limit
    assert ws.create(ADMIN, "survey-c", owner="ann")["owner"] == "ann"
    with pytest.raises(ClassError, match="owns 3 workspaces"):
        ws.create(ANN, "survey-d")
    ws.delete(ANN, "survey-a")
    ws.delete(ANN, "survey-b")
    assert ws.create(ANN, "survey-d")["owner"] == "ann"  # deleted ones do not count
    ws.max_per_user = 0  # no limit
    assert ws.create(ANN, "survey-e")["owner"] == "ann"


def test_the_classes_service_closes_an_older_data_folders_roots_to_listing_as_it_starts(tmp_path):
    """privacy14: older versions made the classes', workspaces' and deletion notices' roots 0755, so every user
    listed every class's and workspace's name (and the deleted ones'); the service makes them 0711 as it starts."""
    roots = [tmp_path / "classes", tmp_path / "workspaces", tmp_path / "workspaces" / ".astrohub-deleted"]
    for root in roots:
        root.mkdir(mode=0o755, exist_ok=True)
        root.chmod(0o755)
    Teaching(tmp_path / "classes", tmp_path / "workspaces", tmp_path / "state" / "classes.sqlite",
             accounts=SystemAccounts("astro-", run_as_system_users=False))
    assert [oct(root.stat().st_mode & 0o777) for root in roots] == ["0o711"] * 3


def test_copies_never_follow_links(tmp_path):
    src = tmp_path / "work"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "ok.txt").write_text("ok")
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours")
    os.symlink(secret, src / "link.txt")
    os.symlink(tmp_path, src / "dirlink")
    data = _transfer.pack(str(src))
    dest = tmp_path / "dest"
    assert _transfer.unpack(data, str(dest)) == ["sub/ok.txt"]
    assert sorted(p.name for p in dest.rglob("*")) == ["ok.txt", "sub"]
    with pytest.raises(OSError):
        _transfer.pack(str(src / "dirlink"))  # the folder itself may not be a link


def test_exam_mode_refuses_late_submissions_and_logs_every_action(teaching, tmp_path):
    teaching.create_class(ADMIN, "c1", instructors=["prof"], students=["ann", "bob"])
    (tmp_path / "classes" / "c1" / "instructors" / "exam1").mkdir()
    teaching.release(PROF, "c1", "exam1")
    now = teaching.now[0]
    with pytest.raises(ClassError, match="start < end"):
        teaching.exam(PROF, "c1", now + 10, now)
    with pytest.raises(ClassError, match="only its instructors"):
        teaching.exam(ANN, "c1", now, now + 3600)
    info = teaching.exam(PROF, "c1", now - 60, now + 3600)
    assert info["exam"]["frozen"] is True
    teaching.submit(ANN, "c1", "exam1")
    teaching.now[0] = now + 3601
    with pytest.raises(ClassError, match="ended at .* submissions after the deadline are refused") as late:
        teaching.submit(BOB, "c1", "exam1")
    assert late.value.status == 403
    teaching.tick()
    assert teaching.show(PROF, "c1")["exam"]["frozen"] is False
    actions = [(a["actor"], a["action"]) for a in teaching.actions(PROF, "c1")]
    assert actions == [("root-cli", "create"), ("prof", "release"), ("prof", "exam"),
                       ("astrohub-classes", "materials frozen"), ("ann", "submit"),
                       ("bob", "late submission refused"), ("astrohub-classes", "materials thawed")]
    with pytest.raises(ClassError, match="only its instructors"):
        teaching.actions(ANN, "c1")


def test_an_ended_exam_refuses_its_own_assignments_only(teaching, tmp_path):
    """Homework released after the exam is not the exam's: its submissions are taken; re-releasing the
    exam's assignment (a fix) after the deadline does not reopen it."""
    teaching.create_class(ADMIN, "c1", instructors=["prof"], students=["ann"])
    for name in ("exam1", "hw2"):
        (tmp_path / "classes" / "c1" / "instructors" / name).mkdir()
    teaching.release(PROF, "c1", "exam1")
    now = teaching.now[0]
    teaching.exam(PROF, "c1", now - 60, now + 3600)
    teaching.now[0] = now + 7200
    teaching.release(PROF, "c1", "hw2")
    teaching.release(PROF, "c1", "exam1")  # a fixed version, after the deadline
    assert teaching.submit(ANN, "c1", "hw2")["assignment"] == "hw2"
    with pytest.raises(ClassError, match="submissions after the deadline are refused"):
        teaching.submit(ANN, "c1", "exam1")
    assert teaching.show(PROF, "c1")["assignments"] == ["exam1", "hw2"]


def test_an_exam_that_names_its_assignments_leaves_earlier_homework_open(teaching, tmp_path):
    """Homework released before the exam and due after it: with the exam's assignments named, its
    submissions after the exam are taken and the exam's own are refused (unnamed, both were refused)."""
    import sqlite3

    teaching.create_class(ADMIN, "c1", instructors=["prof"], students=["ann"])
    for name in ("hw1", "exam1"):
        (tmp_path / "classes" / "c1" / "instructors" / name).mkdir()
    teaching.release(PROF, "c1", "hw1")
    teaching.release(PROF, "c1", "exam1")
    now = teaching.now[0]
    for bad in ([], "exam1", ["Exam 1"]):
        with pytest.raises(ClassError, match="assignment"):
            teaching.exam(PROF, "c1", now - 60, now + 3600, assignments=bad)
    info = teaching.exam(PROF, "c1", now - 60, now + 3600, assignments=["exam1", "exam1"])
    assert info["exam"]["assignments"] == ["exam1"]
    teaching.now[0] = now + 7200
    assert teaching.submit(ANN, "c1", "hw1")["assignment"] == "hw1"
    with pytest.raises(ClassError, match="submissions after the deadline are refused"):
        teaching.submit(ANN, "c1", "exam1")
    teaching.exam(PROF, "c1", now - 60, now + 3600)  # not named again: every earlier release is the exam's
    assert teaching.show(PROF, "c1")["exam"]["assignments"] is None
    with pytest.raises(ClassError, match="submissions after the deadline are refused"):
        teaching.submit(ANN, "c1", "hw1")
    # a registry written before exams named assignments gains the column, its exam unchanged
    old = tmp_path / "old.sqlite"
    with sqlite3.connect(old) as db:
        db.execute("CREATE TABLE exams (class TEXT PRIMARY KEY, start REAL, end REAL, frozen INTEGER NOT NULL DEFAULT 0)")
        db.execute("INSERT INTO exams VALUES ('c9', 1.0, 2.0, 0)")
    again = Teaching(tmp_path / "classes", tmp_path / "workspaces", old,
                     accounts=SystemAccounts("astro-", run_as_system_users=False),
                     home_template=str(tmp_path / "home" / "{username}"), user_exists=KNOWN.__contains__)
    assert again._exam("c9") == (1.0, 2.0, False, None)


def test_a_tick_while_an_exam_changes_waits_for_the_change_and_each_thaw_is_logged_once(teaching):
    """The service ticks every 5 s in one thread while a request changes the exam in another. A tick that
    fired while the change was being made (here: while the hub is told the new window) thawed the materials
    before the change was logged, or as well as the change's own tick (the platform test saw 'materials
    thawed', 'exam' and, once in ten runs, failed). Forced: the hub call starts the other thread's tick and
    goes on once that tick has finished or is waiting for the change to end."""
    import threading

    teaching.create_class(ADMIN, "c1", instructors=["prof"], students=["ann"])
    now = teaching.now[0]
    assert teaching.exam(PROF, "c1", now - 60, now + 3600)["exam"]["frozen"] is True
    settled = threading.Event()  # the other thread's tick is done, or waits for the exam's lock

    class WatchedLock:  # the exam's lock, telling when the ticking thread asks for it
        def __init__(self, lock):
            self.lock = lock

        def __enter__(self):
            if threading.current_thread().name == "ticker":
                settled.set()
            self.lock.acquire()

        def __exit__(self, *exc):
            self.lock.release()

    teaching._exam_lock = WatchedLock(threading.Lock())
    ticker = threading.Thread(target=lambda: (teaching.tick(), settled.set()), name="ticker")
    told = []

    def hub(cls, properties):  # JupyterHub's group properties, set while the exam changes
        told.append(properties)
        ticker.start()
        assert settled.wait(30)

    teaching.on_class_properties = hub
    info = teaching.exam(PROF, "c1", now - 60, now - 1)  # the window closes
    ticker.join(30)
    assert not ticker.is_alive() and info["exam"]["frozen"] is False
    assert told == [{"astrohub-exam": {"start": now - 60, "end": now - 1}}]
    actions = [a["action"] for a in teaching.actions(PROF, "c1")]
    assert actions[-2:] == ["exam", "materials thawed"] and actions.count("materials thawed") == 1, actions


def test_the_gradebook_csv_reads_in_pandas_as_a_registrar_needs_it(teaching, tmp_path, monkeypatch):
    """teach25: the export opened in pandas gave ``last_submission`` as a folder name (``2023-11-14T22-13-20-2``),
    which no spreadsheet reads as a time, no class column (several classes' exports put together lose which
    class a row is), and no ``max_score`` for a student who handed nothing in, so a term's total per student
    needed a ``groupby(...).transform("max")`` to count the missing work as 0 of its points. Now every row has
    the assignment's worth, the latest submission's time in ISO 8601 UTC and the class."""
    import io
    import json
    import types

    import pandas as pd
    from nbformat.v4 import new_code_cell, new_notebook

    import astrohub_hub.classes as classes
    from astrohub_hub.classes_service import send_csv

    class Grader:  # nbgrader itself runs in tests/integration/test_platform_classes.py
        def __init__(self, *args, **kwargs):
            pass

        def grade(self, assignment, work, source, system, feedback, deadline=None):
            return {s: {"score": 3.0, "max_score": 4.0} for s in work}

    monkeypatch.setattr(classes, "Grader", Grader)
    monkeypatch.setattr(classes, "uses_nbgrader", lambda source: False)  # released as is (nbgrader's own: integration)
    teaching.create_class(ADMIN, "astro101", instructors=["prof"], students=["ann", "bob"])
    for hw, points in (("hw1", 4), ("hw2", 6)):
        cell = new_code_cell("assert True")
        cell.metadata["nbgrader"] = {"schema_version": 3, "grade_id": "t", "grade": True, "solution": False,
                                     "locked": True, "task": False, "points": points}
        folder = tmp_path / "classes" / "astro101" / "instructors" / hw
        folder.mkdir()
        (folder / "work.ipynb").write_text(json.dumps(new_notebook(cells=[cell])))
        teaching.release(PROF, "astro101", hw)
    monkeypatch.setattr(classes, "uses_nbgrader", lambda source: True)
    teaching.submit(ANN, "astro101", "hw1")
    teaching.submit(ANN, "astro101", "hw1")  # twice in the same second: folder ...-2
    teaching.collect(PROF, "astro101", "hw1", grade=True)

    sent = {}
    handler = types.SimpleNamespace(set_header=lambda k, v: None, finish=lambda text: sent.update(text=text))
    send_csv(handler, "astro101", teaching.gradebook(PROF, "astro101"))  # no gradebook.db: the scores recorded
    book = pd.read_csv(io.StringIO(sent["text"]))
    assert {"class", "student", "assignment", "score", "max_score", "last_submitted"} <= set(book.columns)
    assert set(book["class"]) == {"astro101"}
    rows = book.set_index(["student", "assignment"])
    assert rows.loc[("ann", "hw1"), "last_submission"].endswith("-2")  # the folder's name, as before
    assert pd.to_datetime(rows.loc[("ann", "hw1"), "last_submitted"], utc=True) == \
        pd.Timestamp(teaching.now[0], unit="s", tz="UTC")
    assert pd.isna(rows.loc[("bob", "hw1"), "last_submitted"])
    # the assignment's worth on every row: graded (4 of hw1), handed nothing in (4), nobody graded yet (hw2: 6)
    assert list(rows["max_score"]) == [4.0, 6.0, 4.0, 6.0], rows
    assert pd.isna(rows.loc[("bob", "hw1"), "score"])  # nothing graded: still no score
    # the term's total per student, work never handed in counting 0, with no transform
    totals = book.fillna({"score": 0}).groupby("student")[["score", "max_score"]].sum()
    assert totals.to_dict("index") == {"ann": {"score": 3.0, "max_score": 10.0},
                                       "bob": {"score": 0.0, "max_score": 10.0}}


def test_the_gradebook_lists_who_submitted_and_the_scores_to_instructors_only(teaching, tmp_path, monkeypatch):
    import astrohub_hub.classes as classes

    class Grader:  # nbgrader itself runs in tests/integration/test_platform_classes.py
        def __init__(self, *args, **kwargs):
            pass

        def grade(self, assignment, work, source, system, feedback, deadline=None):
            return {s: {"score": float(len(s)), "max_score": 5.0} for s in work}

    monkeypatch.setattr(classes, "Grader", Grader)
    teaching.create_class(ADMIN, "c1", instructors=["prof"], students=["ann", "bob"])
    (tmp_path / "classes" / "c1" / "instructors" / "hw1").mkdir()
    teaching.release(PROF, "c1", "hw1")
    monkeypatch.setattr(classes, "uses_nbgrader", lambda source: True)
    empty = teaching.gradebook(PROF, "c1")["rows"]
    assert [(r["student"], r["submissions"], r["score"]) for r in empty] == [("ann", 0, None), ("bob", 0, None)]
    teaching.submit(ANN, "c1", "hw1")
    teaching.collect(PROF, "c1", "hw1", grade=True)
    teaching.now[0] += 1
    again = teaching.submit(ANN, "c1", "hw1")  # after grading: the book shows which one was graded
    book = teaching.gradebook(PROF, "c1")
    assert book["columns"][0] == "student" and list(book["rows"][0]) == book["columns"]
    ann, bob = book["rows"]
    assert (ann["submissions"], ann["last_submission"], ann["score"], ann["max_score"]) == (2, again["at"], 3.0, 5.0)
    assert ann["graded_submission"] != again["at"]
    assert (bob["submissions"], bob["last_submission"], bob["score"]) == (0, None, None)
    with pytest.raises(ClassError, match="only its instructors"):
        teaching.gradebook(ANN, "c1")
    teaching.archive(ADMIN, "c1")
    assert teaching.gradebook(PROF, "c1")["rows"] == book["rows"]  # readable after the class ended

    # Grading switched off since (grading: off): returning feedback gives back the pages nbgrader wrote then,
    # rather than trying to generate them again (which needs nbgrader's steps)
    from astrohub_hub.grading import Grader as RealGrader, NoSteps

    monkeypatch.setattr(classes, "Grader", RealGrader)
    teaching.grading = NoSteps()
    nbgrader = tmp_path / "classes" / "c1" / "instructors" / "nbgrader"
    nbgrader.mkdir(parents=True)
    (nbgrader / "gradebook.db").write_bytes(b"")
    page = tmp_path / "classes" / "c1" / "instructors" / "feedback" / "hw1" / "ann"
    page.mkdir(parents=True)
    (page / "square.html").write_text("<p>3/5</p>")
    assert teaching.show(ANN, "c1")["feedback"] == []
    assert teaching.return_feedback(PROF, "c1", "hw1")["returned"] == {"ann": ["square.html"]}
    # her page links to her feedback (the log says it was returned to her); bob's to none
    assert teaching.show(ANN, "c1")["feedback"] == ["hw1"] and teaching.show(BOB, "c1")["feedback"] == []
    # and her score as autograding recorded it, the one those pages show (bob's: none, not graded)
    assert teaching.show(ANN, "c1")["scores"] == {"hw1": {"score": 3.0, "max_score": 5.0, "late_penalty": 0.0,
                                                          "needs_manual_grade": None}}
    assert teaching.show(BOB, "c1")["scores"] == {}


def test_a_student_sees_her_score_once_feedback_is_returned_as_it_was_returned(teaching, tmp_path, monkeypatch):
    """classscore23: a student saw no score on the class page, only a link to her feedback. Her view of the class
    now gives her score once feedback is returned, as the feedback gave it (nbgrader's way: before, and for a
    grade changed since, the instructors may still change it), and never a classmate's; the page's line says it
    as the instructor's roster does."""
    import types

    import astrohub_hub.classes as classes
    from astrohub_hub.classes_service import PageHandler, score_text

    scores = {"ann": 3.0, "bob": 1.0}

    class Grader:  # nbgrader itself runs in tests/integration/test_platform_classes.py
        def __init__(self, *args, **kwargs):
            pass

        def grade(self, assignment, work, source, system, feedback, deadline=None):
            return {s: {"score": scores[s], "max_score": 5.0, "late_penalty": 0.0} for s in work}

        def feedback(self, assignment, students, deadline, root):  # the grades of now (a hand grade changed)
            return {s: {"score": scores[s] - 0.5, "max_score": 5.0, "late_penalty": 0.5,
                        "needs_manual_grade": s == "bob"} for s in students}

    monkeypatch.setattr(classes, "Grader", Grader)
    teaching.create_class(ADMIN, "c1", instructors=["prof"], students=["ann", "bob"])
    instructors = tmp_path / "classes" / "c1" / "instructors"
    (instructors / "hw1").mkdir()
    (instructors / "nbgrader").mkdir()
    (instructors / "nbgrader" / "gradebook.db").write_bytes(b"")
    teaching.release(PROF, "c1", "hw1")
    monkeypatch.setattr(classes, "uses_nbgrader", lambda source: True)
    for who in (ANN, BOB):
        teaching.submit(who, "c1", "hw1")
    teaching.collect(PROF, "c1", "hw1", grade=True)
    assert teaching.show(ANN, "c1")["scores"] == {}  # graded, nothing returned yet: no score
    for student in ("ann", "bob"):
        (instructors / "feedback" / "hw1" / student).mkdir(parents=True)
        (instructors / "feedback" / "hw1" / student / "square.html").write_text("<p>page</p>")
    teaching.return_feedback(PROF, "c1", "hw1")
    ann = teaching.show(ANN, "c1")
    assert ann["scores"] == {"hw1": {"score": 2.5, "max_score": 5.0, "late_penalty": 0.5,
                                     "needs_manual_grade": False}}
    assert teaching.show(BOB, "c1")["scores"]["hw1"]["score"] == 0.5  # each her own
    assert teaching.show(PROF, "c1", student="ann")["scores"] == ann["scores"]  # what she is told
    # graded again (a new score): she still sees the returned one until feedback is returned again
    scores["ann"] = 4.0
    teaching.collect(PROF, "c1", "hw1", grade=True)
    assert teaching.show(ANN, "c1")["scores"]["hw1"]["score"] == 2.5
    teaching.return_feedback(PROF, "c1", "hw1")
    assert teaching.show(ANN, "c1")["scores"]["hw1"]["score"] == 3.5
    # her line on the page: the score as the roster writes it, hers alone
    page = types.SimpleNamespace(hub_auth=types.SimpleNamespace(hub_prefix="/hub/"), prefix="/services/c/",
                                 form_xsrf="x")
    line = PageHandler.student_assignments(page, ANN, "c1", teaching.show(ANN, "c1"))
    assert "your score: 3.5/5, 0.5 off for lateness</span>" in line and "0.5/5" not in line, line
    assert score_text({"score": 0.5, "max_score": 5.0, "late_penalty": 0.5, "needs_manual_grade": True}) == \
        "0.5/5, 0.5 off for lateness, needs manual grading"
    bob = PageHandler.student_assignments(page, BOB, "c1", teaching.show(BOB, "c1"))
    assert "your score: 0.5/5, 0.5 off for lateness, needs manual grading" in bob and "3.5" not in bob, bob


def test_a_renamed_student_keeps_her_returned_feedback_scores_work_and_log_atomically(tmp_path, monkeypatch):
    """classes24: an admin renamed a student on the hub (JupyterHub's admin page) and the classes' registry kept
    the old name, its feedback log too: the renamed student lost her returned feedback and scores. Now
    ``rename_member`` moves every row that names her in one transaction (the feedback log's students and scores
    included) and her folders of the class; a failure in the transaction leaves the registry and the folders as
    they were."""
    import astrohub_hub.classes as classes

    hub = {"prof", "ann", "bob"}
    t = Teaching(tmp_path / "classes", tmp_path / "workspaces", tmp_path / "state" / "classes.sqlite",
                 accounts=SystemAccounts("astro-", run_as_system_users=False),
                 home_template=str(tmp_path / "home" / "{username}"), user_exists=hub.__contains__)

    class Grader:  # nbgrader itself runs in tests/integration/test_platform_classes.py
        def __init__(self, *args, **kwargs):
            pass

        def grade(self, assignment, work, source, system, feedback, deadline=None):
            return {s: {"score": {"ann": 4.0, "bob": 2.0}[s], "max_score": 5.0, "late_penalty": 0.0} for s in work}

    monkeypatch.setattr(classes, "Grader", Grader)
    t.create_class(ADMIN, "c1", instructors=["prof"], students=["ann", "bob"])
    instructors = tmp_path / "classes" / "c1" / "instructors"
    (instructors / "hw1").mkdir()
    t.release(PROF, "c1", "hw1", due="2100-01-01T00:00Z")
    monkeypatch.setattr(classes, "uses_nbgrader", lambda source: True)
    t.extend(PROF, "c1", "hw1", "ann", by="2d")
    for who in (ANN, BOB):
        t.submit(who, "c1", "hw1")
    t.collect(PROF, "c1", "hw1", grade=True)
    for student in ("ann", "bob"):
        (instructors / "feedback" / "hw1" / student).mkdir(parents=True, exist_ok=True)
        (instructors / "feedback" / "hw1" / student / "hw1.html").write_text(f"<p>{student}</p>")
    t.return_feedback(PROF, "c1", "hw1")
    before = t.show(ANN, "c1")
    assert before["feedback"] == ["hw1"] and before["scores"]["hw1"]["score"] == 4.0
    book = {r["student"]: r for r in t.gradebook(PROF, "c1")["rows"]}

    # refused, changing nothing: not an admin, the hub not renamed yet, a name the hub does not know
    with pytest.raises(ClassError, match="only admins rename") as info:
        t.rename_member(PROF, "ann", "anna")
    assert info.value.status == 403
    with pytest.raises(ClassError, match="unknown user") as info:
        t.rename_member(ADMIN, "ann", "anna")
    assert info.value.status == 404
    hub.add("anna")  # the admin's rename on the hub: her hub user is 'anna' now
    with pytest.raises(ClassError, match="'ann' is still a hub user: rename them on the hub first") as info:
        t.rename_member(ADMIN, "ann", "anna")
    assert info.value.code == "still-a-user"
    hub.discard("ann")
    with pytest.raises(ClassError, match="'bob' is named already") as info:  # two people would be one
        t.rename_member(ADMIN, "ann", "bob")
    assert info.value.code == "name-taken" and t.roster("c1")["students"] == ["ann", "bob"]

    # a failure inside the transaction (here: rewriting the log) leaves the registry and her folders as they were
    def broken(detail, old, new):
        raise OSError("disk full")

    monkeypatch.setattr(classes, "renamed_in_log", broken)
    with pytest.raises(OSError, match="disk full"):
        t.rename_member(ADMIN, "ann", "anna")
    assert t.roster("c1")["students"] == ["ann", "bob"] and t.show(ANN, "c1")["scores"] == before["scores"]
    assert (tmp_path / "classes" / "c1" / "submissions" / "ann").is_dir()
    assert not (tmp_path / "classes" / "c1" / "submissions" / "anna").exists()
    assert (instructors / "feedback" / "hw1" / "ann" / "hw1.html").is_file()
    monkeypatch.undo()
    monkeypatch.setattr(classes, "Grader", Grader)
    monkeypatch.setattr(classes, "uses_nbgrader", lambda source: True)

    (tmp_path / "home" / "ann" / "c1" / "hw1" / "answer.txt").write_text("ann's answer")
    answer = t.rename_member(ADMIN, "ann", "anna")
    assert answer["classes"] == ["c1"] and answer["to"] == "anna" and answer["copied"] == ["c1"]
    # her copies of the class's work, and the feedback returned to her, are in her new home too
    assert (tmp_path / "home" / "anna" / "c1" / "hw1" / "answer.txt").read_text() == "ann's answer"
    assert (tmp_path / "home" / "anna" / "c1" / "hw1" / "feedback" / "hw1.html").read_text() == "<p>ann</p>"
    assert t.roster("c1")["students"] == ["anna", "bob"]
    anna = t.show(Actor("anna"), "c1")
    # the returned feedback and the score it gave are hers under the new name, as they were
    assert anna["feedback"] == ["hw1"] and anna["scores"] == before["scores"]
    assert [s["at"] for s in anna["submissions"]] == [s["at"] for s in before["submissions"]]
    assert anna["deadlines"]["hw1"]["extended_until"] == before["deadlines"]["hw1"]["extended_until"]
    renamed = {r["student"]: r for r in t.gradebook(PROF, "c1")["rows"]}
    assert set(renamed) == {"anna", "bob"}
    assert {k: v for k, v in renamed["anna"].items() if k != "student"} == \
        {k: v for k, v in book["ann"].items() if k != "student"}
    assert (tmp_path / "classes" / "c1" / "submissions" / "anna" / "hw1").is_dir()
    assert (instructors / "feedback" / "hw1" / "anna" / "hw1.html").read_text() == "<p>ann</p>"
    assert (instructors / "collected" / "hw1" / "anna").is_dir()
    log = t.actions(PROF, "c1")
    assert not any("ann" in (e["detail"].get("students", []) + list(e["detail"].get("scores", {}))
                             + list(e["detail"].get("grades", {}))) for e in log), log
    assert [e["actor"] for e in log if e["action"] == "submit"] == ["anna", "bob"]
    assert log[-1]["action"] == "rename" and log[-1]["detail"] == {"from": "ann", "to": "anna"}
    # the next feedback reaches her under her new name
    t.return_feedback(PROF, "c1", "hw1")
    assert t.show(Actor("anna"), "c1")["scores"]["hw1"]["score"] == 4.0
    assert (tmp_path / "home" / "anna" / "c1" / "hw1" / "feedback" / "hw1.html").read_text() == "<p>ann</p>"
    with pytest.raises(ClassError, match="'ann' is in no class") as info:
        t.rename_member(ADMIN, "ann", "bob")
    assert info.value.status == 404


def test_an_unreadable_nbgrader_gradebook_gives_the_last_scores_and_says_why_never_a_502(teaching, tmp_path,
                                                                                         monkeypatch):
    """nbgrader's gradebook.db damaged, locked by a running autograde, or missing: the gradebook (and the class
    page) shows the scores the last autograding recorded with a warning naming the file and the reason; the CSV
    export, with no room for a warning, is refused 409 (it was a BackendError, which the service answers 502)."""
    import sqlite3

    import astrohub_hub.classes as classes
    from astrohub_hub.grading import Grader as RealGrader, GradebookUnreadable

    class Grader(RealGrader):  # autograding itself is nbgrader's (tests/integration); reading scores is ours
        def grade(self, assignment, work, source, system, feedback, deadline=None):
            return {s: {"score": 4.0, "max_score": 5.0} for s in work}

    monkeypatch.setattr(classes, "Grader", Grader)
    teaching.create_class(ADMIN, "c1", instructors=["prof"], students=["ann"])
    (tmp_path / "classes" / "c1" / "instructors" / "hw1").mkdir()
    teaching.release(PROF, "c1", "hw1")
    monkeypatch.setattr(classes, "uses_nbgrader", lambda source: True)
    teaching.submit(ANN, "c1", "hw1")
    teaching.collect(PROF, "c1", "hw1", grade=True)
    db = tmp_path / "classes" / "c1" / "instructors" / "nbgrader" / "gradebook.db"
    db.parent.mkdir(parents=True, exist_ok=True)

    def check(reason: str, strict: bool = True) -> None:
        book = teaching.gradebook(PROF, "c1")
        assert [(r["student"], r["score"], r["max_score"]) for r in book["rows"]] == [("ann", 4.0, 5.0)]
        assert str(db) in book["warning"] and reason in book["warning"], book["warning"]
        assert "last autograding" in book["warning"]
        if not strict:
            return
        with pytest.raises(GradebookUnreadable, match=reason) as refused:
            teaching.gradebook(PROF, "c1", strict=True)
        assert refused.value.status == 409

    db.write_bytes(b"this is not an SQLite database, it was cut short by a full disk" * 100)
    check("file is not a database")
    db.unlink()
    with sqlite3.connect(db) as made:
        made.execute("CREATE TABLE assignment (id TEXT, name TEXT)")
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # what an autograde's write holds while it commits
    try:
        check("database is locked", strict=False)  # SQLite waits 5 s for the lock: once is enough
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    db.unlink()
    check("is missing")


def test_re_releasing_a_fixed_assignment_updates_only_the_copies_students_left_unchanged(teaching, tmp_path):
    teaching.create_class(ADMIN, "c1", instructors=["prof"], students=["ann", "bob"])
    hw = tmp_path / "classes" / "c1" / "instructors" / "hw1"
    hw.mkdir()
    (hw / "task.txt").write_text("measure the parallax of Vega in arcsec")  # a typo: meant mas
    (hw / "data.csv").write_text("a,b\n")
    teaching.release(PROF, "c1", "hw1")
    ann, bob = (tmp_path / "home" / u / "c1" / "hw1" for u in ("ann", "bob"))
    (bob / "task.txt").write_text("bob's notes on the task")
    (hw / "task.txt").write_text("measure the parallax of Vega in mas")
    (hw / "hint.txt").write_text("use Gaia DR3")
    again = teaching.release(PROF, "c1", "hw1")
    assert (ann / "task.txt").read_text() == "measure the parallax of Vega in mas"  # untouched: updated
    assert (bob / "task.txt").read_text() == "bob's notes on the task"  # their work: kept
    assert (bob / "hint.txt").read_text() == "use Gaia DR3"
    import shutil
    shutil.rmtree(bob)  # deleted by mistake: submitting says where the work goes; a re-release brings it back
    with pytest.raises(ClassError, match=r"nothing to submit: .*bob/c1/hw1 is not a folder.*release it again"):
        teaching.submit(BOB, "c1", "hw1")
    assert sorted(again["released"]["ann"]) == ["hint.txt", "task.txt"]
    assert sorted(again["released"]["bob"]) == ["hint.txt"]
    (ann / "task.txt").write_text("ann's answer")  # started after the fix: a third release keeps it
    (hw / "task.txt").write_text("measure the parallax of Vega in mas (DR3)")
    third = teaching.release(PROF, "c1", "hw1")
    assert third["released"]["ann"] == [] and (ann / "task.txt").read_text() == "ann's answer"
    assert sorted(third["released"]["bob"]) == ["data.csv", "hint.txt", "task.txt"]
    # eve joins late: she gets the assignment as last released (not the instructor's draft since)
    (hw / "draft-solution.txt").write_text("42 mas")
    teaching.add_members(PROF, "c1", "student", ["eve"])
    eve = tmp_path / "home" / "eve" / "c1" / "hw1"
    assert sorted(p.name for p in eve.iterdir()) == ["data.csv", "hint.txt", "task.txt"]
    assert (eve / "task.txt").read_text() == "measure the parallax of Vega in mas (DR3)"
    assert teaching.actions(PROF, "c1")[-1]["detail"] == {"users": ["eve"], "released": ["hw1"]}
    (eve / ".ipynb_checkpoints").mkdir()  # Lab's, and returned feedback: not part of her work
    (eve / ".ipynb_checkpoints" / "task-checkpoint.txt").write_text("old")
    (eve / "feedback").mkdir()
    (eve / "feedback" / "task.html").write_text("<p>9/10</p>")
    # classes24: her own folder named feedback, deeper down, is her work (it was left out, unsaid)
    (eve / "notes" / "feedback").mkdir(parents=True)
    (eve / "notes" / "feedback" / "peer.txt").write_text("bob says: check the units")
    (eve / "notes" / ".ipynb_checkpoints").mkdir()
    (eve / "notes" / ".ipynb_checkpoints" / "peer-checkpoint.txt").write_text("old")
    assert sorted(teaching.submit(EVE, "c1", "hw1")["files"]) == ["data.csv", "hint.txt", "notes/feedback/peer.txt",
                                                                  "task.txt"]
    # bob leaves, keeping his work at home, and comes back: his own files stay, nothing is lost
    teaching.remove_members(PROF, "c1", "student", ["bob"])
    (bob / "task.txt").write_text("bob's answer")
    teaching.add_members(PROF, "c1", "student", ["bob"])
    assert (bob / "task.txt").read_text() == "bob's answer"


def test_a_student_who_leaves_is_taken_off_the_roster_and_their_submissions_stay(teaching, tmp_path):
    removed = []
    teaching.on_roster_remove = lambda c, r, u: removed.append((c, r, u))
    teaching.create_class(ADMIN, "c1", instructors=["prof"], students=["ann", "bob"])
    (tmp_path / "classes" / "c1" / "instructors" / "hw1").mkdir()
    teaching.release(PROF, "c1", "hw1")
    teaching.submit(BOB, "c1", "hw1")
    with pytest.raises(ClassError, match="only its instructors"):
        teaching.remove_members(ANN, "c1", "student", ["bob"])
    with pytest.raises(ClassError, match="only admins remove instructors"):
        teaching.remove_members(PROF, "c1", "instructor", ["prof"])
    with pytest.raises(ClassError, match=r"\['eve'\] are not students of class 'c1': nothing was changed"):
        teaching.remove_members(PROF, "c1", "student", ["bob", "eve"])
    assert teaching.show(PROF, "c1")["students"] == ["ann", "bob"] and removed == []
    info = teaching.remove_members(PROF, "c1", "student", [" BOB "])
    assert info["students"] == ["ann"] and removed == [("c1", "students", ["bob"])]
    assert [s["student"] for s in info["submissions"]] == ["bob"]  # their work stays with the class
    # and in the gradebook (its CSV too), after those on the roster, saying he left: the export loses nobody
    assert [(r["student"], r["submissions"], r["on_roster"]) for r in teaching.gradebook(PROF, "c1")["rows"]] == [
        ("ann", 0, True), ("bob", 1, False)]
    with pytest.raises(ClassError, match="'bob' is not a student of class 'c1'"):
        teaching.submit(BOB, "c1", "hw1")
    assert teaching.classes_of(BOB) == []
    assert [(a["action"], a["detail"]) for a in teaching.actions(PROF, "c1")][-1] == (
        "remove students", {"users": ["bob"]})


def test_submissions_at_the_same_moment_never_share_a_folder_and_the_latest_is_collected(teaching, tmp_path,
                                                                                         monkeypatch):
    import threading

    import astrohub_hub.classes as classes

    teaching.create_class(ADMIN, "c1", instructors=["prof"], students=["ann"])
    (tmp_path / "classes" / "c1" / "instructors" / "hw1").mkdir()
    teaching.release(PROF, "c1", "hw1")
    work = tmp_path / "home" / "ann" / "c1" / "hw1"
    real_unpack, both = classes.folders.unpack_as, threading.Barrier(2, timeout=30)

    def unpack_together(*args, **kwargs):  # a double click: both requests reach the copy together
        both.wait()
        return real_unpack(*args, **kwargs)

    monkeypatch.setattr(classes.folders, "unpack_as", unpack_together)
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(teaching.submit(ANN, "c1", "hw1"))) for _ in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    monkeypatch.setattr(classes.folders, "unpack_as", real_unpack)
    assert len({a["at"] for a in answers}) == 2, answers
    for n in range(3, 12):  # eleven in one second: -10 and -11 come after -9
        (work / "answer.txt").write_text(f"try {n}")
        teaching.submit(ANN, "c1", "hw1")
    collected = teaching.collect(PROF, "c1", "hw1")["collected"]["ann"]
    assert collected.endswith("-11")
    assert (tmp_path / "classes" / "c1" / "instructors" / "collected" / "hw1" / "ann" / "answer.txt").read_text() \
        == "try 11"
    assert teaching.gradebook(PROF, "c1")["rows"][0]["last_submission"] == collected


def test_a_planted_link_never_steers_a_copy_made_as_root(teaching, tmp_path):
    """An instructor replaces instructors/collected with a link to a folder elsewhere; the admin's
    collect (made as root) refuses instead of writing through it."""
    from astrohub_hub.errors import HubError

    teaching.create_class(ADMIN, "c1", instructors=["prof"], students=["ann"])
    (tmp_path / "classes" / "c1" / "instructors" / "hw1").mkdir()
    teaching.release(PROF, "c1", "hw1")
    (tmp_path / "home" / "ann" / "c1" / "hw1" / "answer.txt").write_text("42")
    teaching.submit(ANN, "c1", "hw1")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, tmp_path / "classes" / "c1" / "instructors" / "collected")
    with pytest.raises(HubError, match="is a link"):
        teaching.collect(ADMIN, "c1", "hw1")
    assert list(elsewhere.iterdir()) == []
    # The same for a student's own folder: a link in place of the assignment folder is refused.
    work = tmp_path / "home" / "ann" / "c1" / "hw1"
    work.rename(tmp_path / "home" / "ann" / "moved")
    os.symlink(tmp_path / "classes" / "c1" / "instructors", work)
    with pytest.raises(HubError, match="cannot read"):
        teaching.submit(ANN, "c1", "hw1")


# --- where nbgrader runs (astrohub_hub.grading / grading_jobs): the backend named by the service's environment ---


def test_the_grading_backend_comes_from_the_environment_and_bad_settings_name_the_variable() -> None:
    from astrohub_hub.errors import HubConfigError, HubError
    from astrohub_hub.grading import LocalSteps, NoSteps, steps_from_environ
    from astrohub_hub.grading_jobs import JobSteps

    assert isinstance(steps_from_environ({}), LocalSteps)  # the local platform: as before
    assert isinstance(steps_from_environ({"ASTROHUB_CLASSES_GRADING": "off"}), NoSteps)
    with pytest.raises(HubError, match="ASTROHUB_CLASSES_GRADING='pods'.*'local', 'off' or 'kubernetes'"):
        steps_from_environ({"ASTROHUB_CLASSES_GRADING": "pods"})
    env = {"ASTROHUB_CLASSES_GRADING": "kubernetes", "ASTROHUB_CLASSES_GRADING_NAMESPACE": "astro",
           "ASTROHUB_CLASSES_GRADING_IMAGE": "u:1", "ASTROHUB_CLASSES_GRADING_CLAIM": "c",
           "ASTROHUB_CLASSES_GRADING_MOUNT": "/srv/groups"}
    steps = steps_from_environ(env)
    assert isinstance(steps, JobSteps) and steps.settings.deadline_seconds == 900 and not steps.settings.in_cluster
    for key, value, message in [("ASTROHUB_CLASSES_GRADING_IMAGE", "", "IMAGE: is not set"),
                                ("ASTROHUB_CLASSES_GRADING_DEADLINE", "soon", "DEADLINE: 'soon' is not a number"),
                                ("ASTROHUB_CLASSES_GRADING_RESOURCES", "{cpu", "RESOURCES: is not JSON")]:
        with pytest.raises(HubConfigError, match=message):
            steps_from_environ({**env, key: value})


def test_what_a_grading_step_wrote_is_left_writable_by_the_class_s_other_instructors(tmp_path) -> None:
    """The ACL mask is the group bits a file is made with (SQLite's gradebook.db 0644, nbgrader's outputs 0444 in
    0755 folders): after each step, finished or failed, the acting instructor's files get group bits equal to the
    owner's, so every instructor's ACL entry lets them write (tests/integration/test_platform_classes.py: a TA and
    a professor on real system users). Links are neither followed nor changed."""
    import stat
    import subprocess
    import sys

    from astrohub_hub.errors import BackendError
    from astrohub_hub.grading import _SHARE, Grader

    course, outside = tmp_path / "instructors" / "nbgrader", tmp_path / "elsewhere"
    (course / "autograded" / "ann").mkdir(parents=True)
    outside.write_text("private")
    made = {course / "gradebook.db": 0o644, course / "autograded" / "ann" / "a.ipynb": 0o444,
            course / "autograded" / "ann": 0o755, course / "notes": 0o600, outside: 0o600}
    (course / "gradebook.db").write_bytes(b"")
    (course / "autograded" / "ann" / "a.ipynb").write_text("{}")
    (course / "notes").write_text("")
    (course / "link").symlink_to(outside)
    for path, mode in made.items():
        path.chmod(mode)
    subprocess.run([sys.executable, "-I", "-c", _SHARE, str(course)], check=True)
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in made} == {
        "gradebook.db": "0o664", "a.ipynb": "0o444", "ann": "0o775", "notes": "0o660", "elsewhere": "0o600"}
    if os.geteuid() != 0:
        return  # the step below runs as a system user: root only

    class Failing:  # a step that writes a file, then fails: what it wrote is shared all the same
        def run(self, step, argv, course, system_user):
            (course / "feedback.html").write_text("")
            (course / "feedback.html").chmod(0o644)
            raise BackendError("nbgrader generate_feedback failed", code="grading-failed")

    with pytest.raises(BackendError):
        Grader(course, "root", tmp_path / "instructors", Failing()).release_version("a", course / "autograded", None)
    assert oct(stat.S_IMODE((course / "feedback.html").stat().st_mode)) == "0o664"


def test_a_gradebook_another_instructor_made_read_only_is_a_409_naming_it_its_owner_and_the_way_out(tmp_path):
    """A class graded before grading shared its files (:data:`astrohub_hub.grading._SHARE`) keeps a gradebook.db
    one instructor owns, mode 0644: another instructor's grading step met SQLite's "attempt to write a readonly
    database" and the service answered 502 grading-failed with those words alone. Now it is a 409 that names
    the file, its owner and what to do; a step failing so on the acting instructor's own file stays a 502."""
    import sqlite3

    from astrohub_hub.errors import BackendError
    from astrohub_hub.grading import Grader, GradebookReadOnly

    instructors = tmp_path / "c1" / "instructors"
    course, source = instructors / "nbgrader", instructors / "hw1"
    course.mkdir(parents=True)
    source.mkdir()
    (source / "a.ipynb").write_text("{}")
    db = course / "gradebook.db"
    sqlite3.connect(db).close()
    db.chmod(0o644)

    class ReadOnly:  # what nbgrader's step meets: SQLite refusing to write a file it may only read
        def run(self, step, argv, course, system_user):
            con = sqlite3.connect(f"file:{course / 'gradebook.db'}?mode=ro", uri=True)
            try:
                con.execute("CREATE TABLE assignment (id TEXT)")
            except sqlite3.OperationalError as exc:  # as LocalSteps reports nbgrader's last lines
                raise BackendError(f"nbgrader {step} failed: sqlalchemy.exc.OperationalError: "
                                   f"(sqlite3.OperationalError) {exc}", code="grading-failed") from None
            finally:
                con.close()

    # another instructor's file: as root, the gradebook is nobody's; otherwise we act as nobody (no system
    # users then: the steps run as we are, on our file)
    if os.geteuid() == 0:
        os.chown(db, 65534, 65534)
        acting, owner = None, "nobody"
    else:
        import pwd

        acting, owner = "nobody", pwd.getpwuid(os.geteuid()).pw_name
    with pytest.raises(GradebookReadOnly) as refused:
        Grader(course, acting, instructors, ReadOnly()).release_version("hw1", source, None)
    message = refused.value.message
    assert refused.value.status == 409 and refused.value.code == "gradebook-read-only"
    assert f"nbgrader's gradebook {db} cannot be written" in message and f"it is {owner}'s, mode 0644" in message
    assert f"{owner}'s next grading step" in message and f"setfacl -R -m m::rwX {instructors}" in message

    # the acting instructor's own gradebook that SQLite cannot write (a read-only disk): not this, a 502
    mine = None if os.geteuid() == 0 else owner
    if os.geteuid() == 0:
        os.chown(db, 0, 0)
    with pytest.raises(BackendError) as failed:
        Grader(course, mine, instructors, ReadOnly()).release_version("hw1", source, None)
    assert not isinstance(failed.value, GradebookReadOnly) and failed.value.status == 502
    assert "readonly database" in failed.value.message


#: A grading step that fails as nbgrader does on a file it may not write: the failed notebook's traceback, then
#: nbgrader's summary lines.
_DENIED_STEP = """
import sys, traceback
try:
    raise PermissionError(13, "Permission denied", sys.argv[1])
except OSError:
    traceback.print_exc()
print("[AutogradeApp | ERROR] There was an error processing assignment: hw1", file=sys.stderr)
print("[AutogradeApp | ERROR] Please see the error log above for details", file=sys.stderr)
sys.exit("nbgrader failed")
"""


def test_another_instructors_read_only_grading_files_are_a_409_naming_the_file_its_owner_and_the_way_out(tmp_path):
    """Beside the gradebook, a class graded before grading shared its files keeps nbgrader's outputs one instructor
    wrote (``autograded/`` notebooks 0444 in 0755 folders, ``feedback/``): another instructor's step failed
    "Permission denied" and the service answered 502 grading-failed with nbgrader's last log lines, which did not
    even name the file. Now it is a 409 naming the file (or the folder), its owner and mode and the way out; on
    the acting instructor's own file, or one outside the course and feedback folders, it stays a 502."""
    from pathlib import Path

    from astrohub_hub.errors import BackendError
    from astrohub_hub.grading import Deadline, Grader, LocalSteps

    instructors = tmp_path / "c1" / "instructors"
    course, source, feedback = instructors / "nbgrader", instructors / "hw1", instructors / "feedback" / "hw1"
    graded, page = course / "autograded" / "bob" / "hw1" / "a.ipynb", feedback / "bob" / "a.html"
    elsewhere = tmp_path / "elsewhere.txt"
    for path in (graded, page, source / "a.ipynb", elsewhere):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
    for path in (graded, page, elsewhere):
        path.chmod(0o444)
        path.parent.chmod(0o755)

    class Denied(LocalSteps):  # a real subprocess step, refused `path`
        def __init__(self, path):
            self.path = path

        def run(self, step, argv, course, system_user):
            return super().run(step, ["-c", _DENIED_STEP, str(self.path)], course, system_user)

    # another instructor's files: as root, they are nobody's; otherwise we act as nobody, on our own files
    if os.geteuid() == 0:
        for path in (graded, graded.parent, page, elsewhere):
            os.chown(path, 65534, 65534)
        acting, owner = None, "nobody"
    else:
        import pwd

        acting, owner = "nobody", pwd.getpwuid(os.geteuid()).pw_name

    def release(path, who=acting):
        with pytest.raises(BackendError) as failed:
            Grader(course, who, instructors, Denied(path)).release_version("hw1", source, None)
        return failed.value

    way_out = f"or an admin runs: setfacl -R -m m::rwX {instructors}"
    refused = release(graded)
    assert refused.status == 409 and refused.code == "course-file-read-only", refused.message
    assert f"the grading file {graded} cannot be written by {acting or 'this service'}: it is {owner}'s, mode " \
           f"0444" in refused.message
    assert f"{owner}'s next grading step (release, grade, or return feedback) makes it writable" in refused.message
    assert way_out in refused.message and refused.value == str(graded)
    # a file to create in another's folder: the folder
    refused = release(graded.parent / "b.ipynb")
    assert refused.status == 409 and f"the grading folder {graded.parent} cannot" in refused.message
    assert f"it is {owner}'s, mode 0755" in refused.message
    # a name relative to the folder shutil.rmtree empties (nbgrader replacing a notebook): the one it can be
    refused = release(Path("a.ipynb"))
    assert refused.status == 409 and f"the grading file {graded} cannot" in refused.message

    # the feedback folder: made writable by the owner's next step on that assignment
    with pytest.raises(BackendError) as failed:
        Grader(course, acting, instructors, Denied(page)).feedback("hw1", ["bob"], Deadline(), feedback)
    refused = failed.value
    assert refused.status == 409 and f"the grading file {page} cannot" in refused.message
    assert f"{owner}'s next grade or return of feedback of hw1 makes it" in refused.message
    assert way_out in refused.message

    # a file outside the course and feedback folders, and the acting instructor's own: not this, a 502
    assert release(elsewhere).status == 502
    if os.geteuid() == 0:
        os.chown(graded, 0, 0)
        os.chown(graded.parent, 0, 0)
    failed = release(graded, None if os.geteuid() == 0 else owner)
    assert failed.status == 502 and f"Permission denied: '{graded}'" in failed.message


def test_a_grading_job_mounts_only_a_course_folder_on_the_class_claim(tmp_path) -> None:
    from astrohub_hub.errors import HubConfigError
    from astrohub_hub.grading_jobs import JobSettings, job_manifest

    settings = JobSettings(namespace="astro", image="u:1", claim="c", mount_path="/srv/groups")
    with pytest.raises(HubConfigError, match="not on the class claim mounted at /srv/groups"):
        job_manifest(settings, "nbgrader-autograde-x-0", ["-m", "nbgrader"], tmp_path / "nbgrader", cls="x",
                     assignment="a", step="autograde")


def test_the_owner_deletes_a_workspace_its_people_are_told_and_the_files_are_kept(teaching, tmp_path):
    # team8: a workspace could not be deleted (or archived) by its owner at all
    ws = teaching.workspaces
    mirrored, shares, published = [], [], []
    ws.on_members_change = lambda name, added, removed: mirrored.append((name, added, removed))
    ws.on_share = lambda sharer, grant, revoke: shares.append((sharer, grant, revoke))
    ws.on_collaborators = lambda name, sharers: published.append((name, sharers))
    ws.create(ANN, "survey", members=["bob"], readers=["eve"])
    (tmp_path / "workspaces" / "survey" / "m31.vot").write_text("<VOTABLE/>")
    folders.set_folder_quota(tmp_path / "workspaces" / "survey", 1000)  # the operator's quota of this workspace
    ws.share(BOB, "survey")
    ws.collaborate(BOB, "survey")
    (tmp_path / "bob").mkdir()
    bobs = Storage(get_settings(user="bob", home=tmp_path / "bob", workspaces_root=tmp_path / "workspaces"))
    assert bobs.read_bytes("workspace/survey:m31.vot") == b"<VOTABLE/>"
    with pytest.raises(ClassError, match="only its owner 'ann'") as refused:
        ws.delete(BOB, "survey")
    assert refused.value.status == 403 and ws.show(ANN, "survey")["members"] == ["ann", "bob"]
    shares.clear(), mirrored.clear()
    answer = ws.delete(ANN, "survey")
    assert answer["deleted"] and answer["removed"] == ["ann", "bob", "eve"]
    assert shares == [("bob", [], ["ann", "eve"])] and published[-1] == ("survey", [])
    assert mirrored == [("survey", [], ["ann", "bob"])]
    for actor in (ANN, BOB, EVE):
        assert ws.of(actor) == []
        with pytest.raises(ClassError, match=r"workspace 'survey' was deleted by 'ann' on 2023-11-14") as gone:
            ws.show(actor, "survey")
        assert gone.value.status == 404 and gone.value.code == "deleted-workspace"
    kept = list((tmp_path / "workspaces" / ".deleted").iterdir())
    assert [k.name for k in kept] == ["survey-20231114T221320Z"] and (kept[0] / "m31.vot").is_file()
    assert not (tmp_path / "workspaces" / "survey").exists()
    # rel9: in bob's kernel platform_lib.storage said only "no such file" (a Storage made before the deletion)
    # or "no space" (one made after): it names who deleted the workspace, when, and how to keep his work
    later = Storage(get_settings(user="bob", home=tmp_path / "bob", workspaces_root=tmp_path / "workspaces"))
    for st, call in [(bobs, lambda st: st.read_bytes("workspace/survey:m31.vot")),
                     (bobs, lambda st: st.write_bytes("workspace/survey:new.txt", b"x")),
                     (later, lambda st: st.list("workspace/survey:"))]:
        with pytest.raises(WorkspaceDeleted) as told:
            call(st)
        assert told.value.deleted_by == "ann" and told.value.deleted_at == "2023-11-14 22:13 UTC"
        message = str(told.value)
        assert message.startswith("workspace/survey was deleted by 'ann' on 2023-11-14 22:13 UTC") and "'home:" in message
    assert "workspace/survey" not in later.spaces()
    notice = tmp_path / "workspaces" / ".astrohub-deleted" / "survey.json"
    assert notice.stat().st_mode & 0o777 == 0o644
    again = ws.create(BOB, "survey")  # the name is free again, with a new, empty folder
    assert again["owner"] == "bob" and list((tmp_path / "workspaces" / "survey").iterdir()) == []
    # ...and no quota: the deleted workspace's quota file stayed, and the new one was held to it
    assert folders.folder_quota(tmp_path / "workspaces" / "survey") is None
    assert not notice.exists()
    assert bobs.list("workspace/survey:") == []
    with pytest.raises(ClassError, match="no workspace 'nothing'"):
        ws.delete(ANN, "nothing")


def test_collaboration_is_a_sharer_s_opt_in_and_ends_with_the_share(teaching):
    """Only a read-write member sharing their server turns it on; refusals change nothing; unsharing or leaving ends it."""
    published = []
    shares = []
    ws = teaching.workspaces
    ws.on_collaborators = lambda name, sharers: published.append((name, sharers))
    ws.on_share = lambda sharer, grant, revoke: shares.append((sharer, grant, revoke))
    ws.create(ANN, "m31", members=["bob", "prof"], readers=["eve"])
    for actor, status, match in [(EVE, 403, "only its read-write members"), (Actor("olga"), 403, "only its"),
                                 (BOB, 409, r"does not share a server .* share it first")]:
        with pytest.raises(ClassError, match=match) as refused:
            ws.collaborate(actor, "m31")
        assert refused.value.status == status
    with pytest.raises(ClassError, match="no workspace 'm42'"):
        ws.collaborate(BOB, "m42")
    assert published == [] and ws.show(ANN, "m31")["collaborative"] == []  # nothing changed
    ws.share(BOB, "m31")
    answer = ws.collaborate(BOB, "m31")
    assert answer["collaborative"] is True and "next start" in answer["restart"]
    assert published == [("m31", ["bob"])] and ws.show(EVE, "m31")["collaborative"] == ["bob"]
    ws.share(PROF, "m31")
    ws.collaborate(PROF, "m31")
    ws.unshare(PROF, "m31")  # unsharing ends collaboration
    assert published[-1] == ("m31", ["bob"])
    ws.change(ANN, "m31", remove=["bob"])  # the sharer leaves: their share and collaboration end
    assert published[-1] == ("m31", []) and ws.show(ANN, "m31")["shared_servers"] == []
    ws.share(ANN, "m31")
    ws.collaborate(ANN, "m31")
    assert ws.collaborate(ANN, "m31", on=False)["collaborative"] is False and published[-1] == ("m31", [])


def _iso(t: float) -> str:
    from astrohub_hub.due_dates import iso

    return iso(t)


def test_a_due_date_is_set_at_release_or_later_changed_and_cleared_and_bad_ones_change_nothing(teaching, tmp_path):
    teaching.create_class(ADMIN, "c1", instructors=["prof"], students=["ann"])
    (tmp_path / "classes" / "c1" / "instructors" / "hw1").mkdir()
    now = teaching.now[0]
    for bad, message in [("2023-11-20T17:00", "names no time zone"), ("friday", "not an ISO 8601"),
                         (_iso(now - 60), "is not in the future")]:
        with pytest.raises(ClassError, match=message) as info:
            teaching.release(PROF, "c1", "hw1", due=bad)
        assert info.value.value == bad and repr(bad) in info.value.message
    with pytest.raises(ClassError, match="has no due date: refusing late work needs one"):
        teaching.release(PROF, "c1", "hw1", refuse_late=True)
    assert teaching.show(PROF, "c1")["assignments"] == [] and not (tmp_path / "home" / "ann" / "c1").exists()
    with pytest.raises(ClassError, match="'hw1' of class 'c1' was never released") as info:
        teaching.set_due(PROF, "c1", "hw1", _iso(now + 3600))
    assert info.value.status == 404 and info.value.value == "hw1"

    due = _iso(now + 3600)
    released = teaching.release(PROF, "c1", "hw1", due=due.replace("Z", "+00:00"))
    assert (released["due"], released["refuse_late"]) == (due, False)
    assert teaching.show(ANN, "c1")["deadlines"] == {"hw1": {"due": due, "refuse_late": False,
                                                             "late_penalty_per_hour": 0.0, "extended_until": None}}
    assert teaching.release(PROF, "c1", "hw1")["due"] == due  # a re-release keeps it
    later = _iso(now + 7200)
    assert teaching.set_due(PROF, "c1", "hw1", later, refuse_late=True) == {
        "class": "c1", "assignment": "hw1", "due": later, "refuse_late": True, "late_penalty_per_hour": 0.0}
    assert teaching.set_due(PROF, "c1", "hw1", refuse_late=False)["due"] == later  # the flag alone
    with pytest.raises(ClassError, match="only its instructors"):
        teaching.set_due(ANN, "c1", "hw1", _iso(now + 9000))
    with pytest.raises(ClassError, match="due date 'soon' is not an ISO 8601"):
        teaching.set_due(PROF, "c1", "hw1", "soon")
    with pytest.raises(ClassError, match="say what changes"):
        teaching.set_due(PROF, "c1", "hw1")
    with pytest.raises(ClassError, match="refuse_late is true or false"):
        teaching.set_due(PROF, "c1", "hw1", refuse_late="yes")
    assert teaching.show(PROF, "c1")["deadlines"]["hw1"] == {"due": later, "refuse_late": False,  # unchanged
                                                             "late_penalty_per_hour": 0.0, "extensions": {}}
    cleared = teaching.set_due(PROF, "c1", "hw1", None)
    assert (cleared["due"], cleared["refuse_late"]) == (None, False)
    assert teaching.show(PROF, "c1")["deadlines"] == {"hw1": {"due": None, "refuse_late": False,
                                                              "late_penalty_per_hour": 0.0, "extensions": {}}}
    logged = [(a["action"], a["detail"].get("due")) for a in teaching.actions(PROF, "c1")]
    assert logged[-4:] == [("release", None), ("due", later), ("due", later), ("due", None)], logged
    assert ("release", due) in logged


def test_late_work_is_taken_and_marked_late_or_refused_when_the_assignment_says_so(teaching, tmp_path):
    teaching.create_class(ADMIN, "c1", instructors=["prof"], students=["ann", "bob"])
    (tmp_path / "classes" / "c1" / "instructors" / "hw1").mkdir()
    now = teaching.now[0]
    due = now + 3600
    teaching.release(PROF, "c1", "hw1", due=_iso(due))
    teaching.now[0] = due - 60
    on_time = teaching.submit(BOB, "c1", "hw1")
    assert (on_time["late"], on_time["late_seconds"], on_time["note"]) == (False, 0, f"on time (due {_iso(due)})")
    teaching.now[0] = due + 2 * 3600 + 13 * 60 + 20
    late = teaching.submit(ANN, "c1", "hw1")  # nbgrader's rule: taken, and marked late
    assert (late["late"], late["late_seconds"], late["due"]) == (True, 8000, _iso(due))
    assert late["note"].startswith("late by 2 h 13 min (due ")
    assert (tmp_path / "classes" / "c1" / "submissions" / "ann" / "hw1" / late["at"]).is_dir()
    mine = teaching.show(ANN, "c1")["submissions"]
    assert [(s["student"], s["late"], s["late_seconds"]) for s in mine] == [("ann", True, 8000)]
    rows = {r["student"]: r for r in teaching.gradebook(PROF, "c1")["rows"]}
    assert [(rows[s]["due"], rows[s]["late"], rows[s]["late_seconds"]) for s in ("ann", "bob")] == [
        (_iso(due), True, 8000), (_iso(due), False, 0)]
    # Hard deadline: refused, with the due date in the message, and logged.
    teaching.set_due(PROF, "c1", "hw1", refuse_late=True)
    with pytest.raises(ClassError, match=f"was due at {_iso(due)} and takes no late work") as info:
        teaching.submit(ANN, "c1", "hw1")
    assert info.value.status == 403 and info.value.code == "past-due"
    assert teaching.actions(PROF, "c1")[-1]["action"] == "late submission refused"
    assert len(teaching.show(PROF, "c1")["submissions"]) == 2  # nothing written
    # An extension: lateness is measured against the due date of the moment.
    teaching.set_due(PROF, "c1", "hw1", _iso(teaching.now[0] + 86400))
    assert teaching.gradebook(PROF, "c1")["rows"][0]["late"] is False
    assert teaching.submit(ANN, "c1", "hw1")["late"] is False
    # An exam that names the assignment decides alone: open, it takes the work (still marked late).
    teaching.set_due(PROF, "c1", "hw1", _iso(teaching.now[0] + 10), refuse_late=True)
    teaching.exam(PROF, "c1", teaching.now[0] - 60, teaching.now[0] + 3600, assignments=["hw1"])
    teaching.now[0] += 100
    assert teaching.submit(ANN, "c1", "hw1")["late_seconds"] == 90
    teaching.now[0] += 7200  # and once it ended, its own refusal
    with pytest.raises(ClassError, match="the exam of class 'c1' ended"):
        teaching.submit(ANN, "c1", "hw1")


def test_an_extension_gives_one_student_their_own_due_date_and_bad_ones_change_nothing(teaching, tmp_path):
    teaching.create_class(ADMIN, "c1", instructors=["prof"], students=["ann", "bob"])
    (tmp_path / "classes" / "c1" / "instructors" / "hw1").mkdir()
    now = teaching.now[0]
    teaching.release(PROF, "c1", "hw1")
    with pytest.raises(ClassError, match="'hw1' of class 'c1' has no due date: nothing to extend") as info:
        teaching.extend(PROF, "c1", "hw1", "ann", by="2d")
    assert (info.value.status, info.value.code) == (400, "no-due-date")
    due = now + 3600
    teaching.set_due(PROF, "c1", "hw1", _iso(due), refuse_late=True)
    for kwargs, student, message, code in [
            ({"by": "2d"}, "eve", "'eve' is not a student of class 'c1'", "not-a-student"),
            ({"until": "friday"}, "ann", "extension date 'friday' is not an ISO 8601", "bad-due-date"),
            ({"until": "2023-11-14T23:00"}, "ann", "names no time zone", "bad-due-date"),
            ({"until": _iso(due - 60)}, "ann", f"is not after the due date of 'hw1', {_iso(due)}",
             "extension-before-due"),
            ({"until": _iso(now - 60)}, "ann", "is not in the future", "due-date-past"),
            ({"by": "2 days"}, "ann", "duration '2 days' is not a number and a unit", "bad-duration"),
            ({"by": "0h"}, "ann", "duration '0h' is zero", "bad-duration"),
            ({"by": 2}, "ann", "a duration is a number and a unit", "bad-duration"),
            ({}, "ann", "say how long", "bad-extension"),
            ({"by": "2d", "until": _iso(due + 60)}, "ann", "one of them", "bad-extension")]:
        with pytest.raises(ClassError, match=message) as info:
            teaching.extend(PROF, "c1", "hw1", student, **kwargs)
        assert (info.value.status, info.value.code) == (400, code), info.value.message
    with pytest.raises(ClassError, match="only its instructors"):
        teaching.extend(ANN, "c1", "hw1", "ann", by="2d")
    assert teaching.show(PROF, "c1")["deadlines"]["hw1"]["extensions"] == {}  # nothing was granted

    granted = teaching.extend(PROF, "c1", "hw1", "ann", by="1d12h")
    assert granted == {"class": "c1", "assignment": "hw1", "student": "ann", "due": _iso(due),
                       "extended_until": _iso(due + 36 * 3600)}
    assert teaching.extend(PROF, "c1", "hw1", "ann", until=_iso(due + 7200))["extended_until"] == _iso(due + 7200)
    # After the class's due date: bob (refuse_late) is refused, ann is within her own due date and on time.
    teaching.now[0] = due + 600
    with pytest.raises(ClassError, match=f"was due at {_iso(due)} and takes no late work"):
        teaching.submit(BOB, "c1", "hw1")
    on_time = teaching.submit(ANN, "c1", "hw1")
    assert (on_time["late"], on_time["note"], on_time["extended_until"]) == (
        False, f"on time (due {_iso(due + 7200)} with your extension)", _iso(due + 7200))
    teaching.now[0] = due + 7200 + 30  # past her extension too: refused, naming her own due date
    with pytest.raises(ClassError, match=rf"was due at {_iso(due + 7200)} with your extension and takes no late"):
        teaching.submit(ANN, "c1", "hw1")
    teaching.set_due(PROF, "c1", "hw1", refuse_late=False)
    late = teaching.submit(ANN, "c1", "hw1")
    assert (late["late_seconds"], late["note"]) == (30, f"late by 30 s (due {_iso(due + 7200)} with your extension): "
                                                        "taken, and marked late")
    # Who sees what: the student her own due date; the staff every extension, or the class as she sees it.
    assert teaching.show(ANN, "c1")["deadlines"]["hw1"]["extended_until"] == _iso(due + 7200)
    assert teaching.show(PROF, "c1")["deadlines"]["hw1"]["extensions"] == {"ann": _iso(due + 7200)}
    as_ann = teaching.show(PROF, "c1", student="ann")
    assert as_ann["deadlines"]["hw1"]["extended_until"] == _iso(due + 7200) and "students" not in as_ann
    assert teaching.show(PROF, "c1", student="bob")["deadlines"]["hw1"]["extended_until"] is None
    with pytest.raises(ClassError, match="may see only their own view"):
        teaching.show(BOB, "c1", student="ann")
    with pytest.raises(ClassError, match="'eve' is not a student of class 'c1'"):
        teaching.show(PROF, "c1", student="eve")
    book = teaching.gradebook(PROF, "c1")
    assert book["columns"][-5:] == ["extended_until", "needs_manual_grade", "on_roster", "last_submitted", "class"]
    assert [(r["student"], r["late_seconds"], r["extended_until"]) for r in book["rows"]] == [
        ("ann", 30, _iso(due + 7200)), ("bob", None, None)]
    # An exam that names the assignment decides alone: once it ended, the extension does not reopen it.
    teaching.extend(PROF, "c1", "hw1", "ann", until=_iso(teaching.now[0] + 86400))
    teaching.exam(PROF, "c1", teaching.now[0] - 60, teaching.now[0] + 60, assignments=["hw1"])
    teaching.now[0] += 120
    with pytest.raises(ClassError, match="the exam of class 'c1' ended"):
        teaching.submit(ANN, "c1", "hw1")
    # Taken back (none), or with the due date: lateness is the class's again; each grant is in the log.
    assert teaching.extend(PROF, "c1", "hw1", "ann", until=None)["extended_until"] is None
    assert teaching.gradebook(PROF, "c1")["rows"][0]["late_seconds"] == 7230
    teaching.extend(PROF, "c1", "hw1", "ann", by="3d")
    teaching.set_due(PROF, "c1", "hw1", None)
    assert teaching.show(PROF, "c1")["deadlines"]["hw1"]["extensions"] == {}
    logged = [a["detail"]["extended_until"] for a in teaching.actions(PROF, "c1") if a["action"] == "extension"]
    assert logged == [_iso(due + 36 * 3600), _iso(due + 7200), _iso(due + 7200 + 30 + 86400), None,
                      _iso(due + 3 * 86400)]


def test_a_registry_without_due_dates_reads_as_none_and_its_submissions_get_measured(tmp_path):
    """A registry written before due dates (no due, refuse_late or submitted columns) gains them."""
    import sqlite3

    old = tmp_path / "old.sqlite"
    with sqlite3.connect(old) as db:
        db.executescript("""
            CREATE TABLE classes (name TEXT PRIMARY KEY, profile TEXT, created REAL,
                                  archived INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE members (class TEXT, user TEXT, role TEXT, PRIMARY KEY (class, user));
            CREATE TABLE assignments (class TEXT, name TEXT, released REAL, PRIMARY KEY (class, name));
            CREATE TABLE submissions (class TEXT, assignment TEXT, student TEXT, at TEXT, files INTEGER);
            INSERT INTO classes VALUES ('c1', '', 1.0, 0);
            INSERT INTO members VALUES ('c1', 'prof', 'instructor'), ('c1', 'ann', 'student');
            INSERT INTO assignments VALUES ('c1', 'hw1', 1699990000.0);
            INSERT INTO submissions VALUES ('c1', 'hw1', 'ann', '2023-11-14T22-13-20-2', 1);
        """)
    now = [1_700_000_000.0 - 600]  # 2023-11-14T22:03:20Z: ann's old submission is 10 min from now
    teaching = Teaching(tmp_path / "classes", tmp_path / "workspaces", old,
                        accounts=SystemAccounts("astro-", run_as_system_users=False),
                        home_template=str(tmp_path / "home" / "{username}"), user_exists=KNOWN.__contains__,
                        clock=lambda: now[0])
    info = teaching.show(PROF, "c1")
    assert info["deadlines"] == {"hw1": {"due": None, "refuse_late": False, "late_penalty_per_hour": 0.0,
                                         "extensions": {}}}
    assert [(s["at"], s["late"], s["late_seconds"]) for s in info["submissions"]] == [
        ("2023-11-14T22-13-20-2", False, None)]
    assert teaching.set_due(PROF, "c1", "hw1", "2023-11-14T22:10Z")["due"] == "2023-11-14T22:10:00Z"
    row = teaching.gradebook(PROF, "c1")["rows"][0]  # measured from the submission folder's name
    assert (row["late"], row["late_seconds"], row["submissions"]) == (True, 200, 1)
    # and the extensions table: ann's own due date is later, her old submission on time
    teaching.extend(PROF, "c1", "hw1", "ann", until="2023-11-14T22:20Z")
    row = teaching.gradebook(PROF, "c1")["rows"][0]
    assert (row["late"], row["late_seconds"], row["extended_until"]) == (False, 0, "2023-11-14T22:20:00Z")


class _StandInHub:
    """The hub's groups API (``GET/POST/DELETE /groups/<g>``, ``PUT /groups/<g>/properties``, ``POST/DELETE
    .../users``) and shares (``POST/PATCH /shares/<user>/`` ``{"user"}``), served on a local port, answering
    ``refuse[(method, path)] = (status, message)`` instead when set; ``GET /users/<u>`` knows the users in
    ``known``."""

    def __init__(self):
        import json
        import threading
        from http.server import ThreadingHTTPServer

        from stand_in_http import StandInHandler  # tests/support/, on the path by tests/conftest.py

        self.groups, self.refuse, self.shares = {}, {}, {}
        self.known = set()  # the users the hub knows (GET /users/<u>)
        hub = self

        class Handler(StandInHandler):
            def handle_any(self):
                path = self.path.split("/hub/api", 1)[1]
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                if (self.command, path) in hub.refuse:
                    status, message = hub.refuse[self.command, path]
                    return self.answer(status, {"status": status, "message": message})
                parts = path.strip("/").split("/")  # groups, <g>[, properties|users]; shares, <user>; users, <u>
                if parts[0] == "users":
                    if parts[1] in hub.known:
                        return self.answer(200, {"name": parts[1], "servers": {}})
                    return self.answer(404, {"status": 404, "message": f"No such user: {parts[1]}"})
                if parts[0] == "shares":
                    shared = hub.shares.setdefault(parts[1], set())
                    (shared.add if self.command == "POST" else shared.discard)(body["user"])
                    return self.answer(200, {})
                group = hub.groups.get(parts[1])
                if self.command == "POST" and len(parts) == 2:
                    hub.groups[parts[1]] = {"name": parts[1], "properties": {}, "users": []}
                    return self.answer(201, hub.groups[parts[1]])
                if group is None:
                    return self.answer(404, {"status": 404, "message": f"No such group: {parts[1]}"})
                if self.command == "PUT" and parts[2:] == ["properties"]:
                    group["properties"] = body
                elif self.command == "POST" and parts[2:] == ["users"]:
                    group["users"] = sorted({*group["users"], *body["users"]})
                elif self.command == "DELETE" and parts[2:] == ["users"]:
                    group["users"] = sorted(set(group["users"]) - set(body["users"]))
                elif self.command == "DELETE" and len(parts) == 2:
                    del hub.groups[parts[1]]
                return self.answer(200, group)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hub/api"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def properties(self, group):
        return self.groups[group]["properties"]

    def users(self, group):
        return self.groups[group]["users"] if group in self.groups else None


@pytest.fixture()
def hub():
    stand_in = _StandInHub()
    yield stand_in
    stand_in.server.shutdown()
    stand_in.server.server_close()


def test_a_hub_that_refuses_the_exam_window_or_the_profile_leaves_no_exam_and_no_class_here(teaching, hub):
    """The exam window and the pinned profile are hub group properties, which the users' servers read at
    each start. The hub's answer was not checked: when it refused (or was down) the window was kept here,
    frozen the materials and the instructor was told it worked. Now: a 502 naming the group and the hub's
    answer, nothing kept here, and a group already changed gets its previous properties back."""
    from astrohub_hub.classes_service import HubDirectory

    directory = HubDirectory(hub.url, "service-token")
    teaching.on_class_properties = directory.class_properties
    teaching.create_class(ADMIN, "c1", instructors=["prof"], students=["ann"], profile="small")
    pinned = {"astrohub-folder": False, "class": "c1", "astrohub-profile": "small"}
    assert hub.properties("c1-students") == hub.properties("c1-instructors") == pinned
    now = teaching.now[0]

    # the hub takes the students' group, then refuses the instructors': the students' is put back
    hub.refuse["PUT", "/groups/c1-instructors/properties"] = (403, "Action is not authorized with current scopes")
    with pytest.raises(ClassError, match=r"refused to update the group 'c1-instructors' \(HTTP 403: Action is "
                                         r"not authorized with current scopes\)") as refused:
        teaching.exam(PROF, "c1", now - 60, now + 3600)
    assert refused.value.status == 502 and refused.value.code == "hub-refused"
    assert teaching.show(PROF, "c1")["exam"] is None
    assert "exam" not in [a["action"] for a in teaching.actions(PROF, "c1")]
    assert hub.properties("c1-students") == hub.properties("c1-instructors") == pinned

    # a hub that cannot read a group's properties: nothing is overwritten (the profile pin would be lost)
    hub.refuse = {("GET", "/groups/c1-students"): (500, "internal error")}
    with pytest.raises(ClassError, match=r"refused to read the group 'c1-students' \(HTTP 500"):
        teaching.exam(PROF, "c1", now - 60, now + 3600)
    assert hub.properties("c1-students") == pinned and teaching.show(PROF, "c1")["exam"] is None

    # a hub that does not answer at all
    teaching.on_class_properties = HubDirectory("http://127.0.0.1:9/hub/api", "t").class_properties
    with pytest.raises(ClassError, match="the hub could not be reached") as down:
        teaching.exam(PROF, "c1", now - 60, now + 3600)
    assert down.value.status == 502 and teaching.show(PROF, "c1")["exam"] is None

    # a profile the hub refuses to pin: no class is made
    teaching.on_class_properties = directory.class_properties
    hub.refuse = {("PUT", "/groups/c2-students/properties"): (400, "properties must be a dict")}
    with pytest.raises(ClassError, match=r"'c2-students' \(HTTP 400: properties must be a dict\)"):
        teaching.create_class(ADMIN, "c2", instructors=["prof"], profile="small")
    assert [c["name"] for c in teaching.classes_of(ADMIN)] == ["c1"]

    # the hub answers again: the window is the groups' property and the exam is on here
    hub.refuse = {}
    assert teaching.exam(PROF, "c1", now - 60, now + 3600)["exam"]["frozen"] is True
    assert hub.properties("c1-instructors") == {**pinned, "astrohub-exam": {"start": now - 60, "end": now + 3600}}
    assert teaching.create_class(ADMIN, "c2", profile="small")["profile"] == "small"


def test_a_workspace_group_whose_properties_the_hub_will_not_give_keeps_them(teaching, hub):
    """Collaboration is a property of the group ``ws-<name>``, merged into its others. When the hub refused to
    read the group, its properties were taken as empty and overwritten: ``astrohub-folder: false`` and
    ``workspace`` were wiped (the group sync then made it a group folder). Now: a 502 naming the group and the
    hub's answer, nothing written there and nothing here."""
    from astrohub_hub.classes_service import HubDirectory

    directory = HubDirectory(hub.url, "service-token")
    ws = teaching.workspaces
    ws.on_members_change, ws.on_share, ws.on_collaborators = (directory.mirror_workspace, directory.share,
                                                               directory.workspace_collaborators)
    ws.create(PROF, "w1", members=["ann"])
    ws.share(PROF, "w1")
    before = {"astrohub-folder": False, "workspace": "w1"}
    assert hub.properties("ws-w1") == before and hub.users("ws-w1") == ["ann", "prof"]

    for refusal, said in [(("GET", "/groups/ws-w1"), r"refused to read the group 'ws-w1' \(HTTP 500: boom\)"),
                          (("PUT", "/groups/ws-w1/properties"), r"refused to update the group 'ws-w1' \(HTTP 500")]:
        hub.refuse = {refusal: (500, "boom")}
        with pytest.raises(ClassError, match=said) as refused:
            ws.collaborate(PROF, "w1")
        assert refused.value.status == 502 and refused.value.code == "hub-refused"
        assert hub.properties("ws-w1") == before and ws.show(PROF, "w1")["collaborative"] == []

    ws.on_collaborators = HubDirectory("http://127.0.0.1:9/hub/api", "t").workspace_collaborators
    with pytest.raises(ClassError, match="the hub could not be reached to update the group 'ws-w1'") as down:
        ws.collaborate(PROF, "w1")
    assert down.value.status == 502 and ws.show(PROF, "w1")["collaborative"] == []

    hub.refuse, ws.on_collaborators = {}, directory.workspace_collaborators
    ws.collaborate(PROF, "w1")
    assert hub.properties("ws-w1") == {**before, "astrohub-collaborative": ["prof"]}


def test_a_workspace_never_takes_over_a_hub_group_that_is_not_its_own(teaching, hub, tmp_path):
    """teams24 (isolation): a workspace's hub group is ``ws-<name>``, and the service adopted any group of that name
    that existed. Any user could thus join a class's group (a class named ``ws``: workspace ``students`` or
    ``instructors`` made its owner a member of ``ws-students`` / ``ws-instructors``, which carry the class's
    folders, pins and exam window) or an operator's group with a group folder (``ws-lensing``) by making a
    workspace of the right name. Now such a name is refused (409 ``group-taken``) and nobody joins the group."""
    from astrohub_hub.classes_service import HubDirectory

    directory = HubDirectory(hub.url, "service-token")
    teaching.on_roster_change, teaching.on_class_properties = directory.mirror, directory.class_properties
    ws = teaching.workspaces
    ws.on_members_change, ws.on_collaborators = directory.mirror_workspace, directory.workspace_collaborators
    teaching.create_class(ADMIN, "ws", instructors=["prof"], students=["bob"])
    hub.groups["ws-lensing"] = {"name": "ws-lensing", "properties": {}, "users": ["prof"]}  # the operator's
    for name, group, whose in (("instructors", "ws-instructors", "class 'ws''s"),
                               ("students", "ws-students", "class 'ws''s"),
                               ("lensing", "ws-lensing", "another of the platform's groups")):
        before = list(hub.users(group))
        with pytest.raises(ClassError) as refused:
            ws.create(EVE, name, members=["ann"])
        assert (refused.value.status, refused.value.code) == (409, "group-taken")
        assert refused.value.message == (f"workspace {name!r} needs the hub group {group!r}, which exists already as "
                                          f"{whose}: choose another name for the workspace")
        assert hub.users(group) == before and not (tmp_path / "workspaces" / name).exists()
        assert ws.of(EVE) == [] and ws.of(Actor("ann")) == []
    # a workspace's own group is its own again when the name is taken again after a deletion
    ws.create(EVE, "survey", members=["ann"])
    ws.delete(EVE, "survey")
    assert ws.create(ANN, "survey")["owner"] == "ann" and hub.users("ws-survey") == ["ann"]


def test_a_member_made_a_reader_leaves_the_workspaces_hub_group(teaching, hub):
    """teams24 (isolation): the owner made a read-write member a reader (``add_readers``), and the member stayed in
    the hub group ``ws-<name>``, which is read-write access: on Kubernetes the pod's read-write mount of the folder
    (``kubernetes.group_mounts``), and the Dask clusters shared with the group (code run as their owner). Now
    they leave the group as a removed member does; the owner cannot be made a reader."""
    from astrohub_hub.classes_service import HubDirectory

    directory = HubDirectory(hub.url, "service-token")
    ws = teaching.workspaces
    ws.on_members_change, ws.on_share = directory.mirror_workspace, directory.share
    ws.create(ANN, "survey", members=["bob", "eve"])
    assert hub.users("ws-survey") == ["ann", "bob", "eve"]
    changed = ws.change(ANN, "survey", add_readers=["bob"])
    assert changed["members"] == ["ann", "eve"] and changed["readers"] == ["bob"]
    assert hub.users("ws-survey") == ["ann", "eve"]
    with pytest.raises(ClassError, match="the owner 'ann' of 'survey' cannot be made a reader"):
        ws.change(ANN, "survey", add_readers=["ann"])
    assert ws.show(ANN, "survey")["members"] == ["ann", "eve"] and hub.users("ws-survey") == ["ann", "eve"]
    assert ws.change(ANN, "survey", add=["bob"])["members"] == ["ann", "bob", "eve"]  # and back
    assert hub.users("ws-survey") == ["ann", "bob", "eve"]


def test_a_roster_or_share_change_the_hub_refuses_is_reported_and_can_be_run_again(teaching, hub):
    """Group membership gives a class's pinned profile; shares give a server. The hub's answers to adding and
    removing members, and to revoking shares, were not checked: a refused change left the roster and the hub
    apart, and the instructor was told it worked. Now the hub is asked first (nothing changes here when it
    refuses), or, for the shares that follow a membership change, the 502 says what was done; a rerun finishes."""
    from astrohub_hub.classes_service import HubDirectory

    directory = HubDirectory(hub.url, "service-token")
    teaching.on_roster_change, teaching.on_roster_remove = directory.mirror, directory.unmirror
    ws = teaching.workspaces
    ws.on_members_change, ws.on_share = directory.mirror_workspace, directory.share
    teaching.create_class(ADMIN, "c1", instructors=["prof"], students=["ann"])
    assert hub.users("c1-students") == ["ann"] and hub.users("c1-instructors") == ["prof"]

    def refused(call, said):
        with pytest.raises(ClassError, match=said) as info:
            call()
        assert info.value.status == 502 and info.value.code == "hub-refused"
        return str(info.value)

    # a class whose students the hub will not take is not made, and its instructors leave the group again
    hub.refuse = {("POST", "/groups/c2-students/users"): (403, "not allowed")}
    refused(lambda: teaching.create_class(ADMIN, "c2", instructors=["prof"], students=["bob"]),
            r"refused to add \['bob'\] to the group 'c2-students' \(HTTP 403: not allowed\): nothing was changed")
    assert [c["name"] for c in teaching.classes_of(ADMIN)] == ["c1"] and hub.users("c2-instructors") == []

    # adding and removing students: the hub first, the roster unchanged when it refuses
    hub.refuse = {("POST", "/groups/c1-students/users"): (500, "database locked")}
    refused(lambda: teaching.add_members(PROF, "c1", "student", ["bob"]), r"'c1-students' \(HTTP 500: database")
    assert teaching.roster("c1")["students"] == ["ann"] and hub.users("c1-students") == ["ann"]
    hub.refuse = {("DELETE", "/groups/c1-students/users"): (500, "database locked")}
    refused(lambda: teaching.remove_members(PROF, "c1", "student", ["ann"]), r"refused to remove \['ann'\]")
    assert teaching.roster("c1")["students"] == ["ann"] and hub.users("c1-students") == ["ann"]
    hub.refuse = {}
    teaching.remove_members(PROF, "c1", "student", ["ann"])
    assert teaching.roster("c1")["students"] == [] and hub.users("c1-students") == []

    # a workspace whose group the hub will not make is not made (its name stays free)
    hub.refuse = {("POST", "/groups/ws-w1"): (403, "no")}
    refused(lambda: ws.create(PROF, "w1", members=["ann", "bob"]), r"refused to create the group 'ws-w1'")
    assert ws.of(PROF) == [] and hub.users("ws-w1") is None
    hub.refuse = {}
    ws.create(PROF, "w1", members=["ann", "bob"])
    ws.share(PROF, "w1")
    assert hub.shares["prof"] == {"ann", "bob"}

    # ann leaves, but the hub keeps prof's server shared with her: the 502 says what was done, a rerun finishes
    hub.refuse = {("PATCH", "/shares/prof/"): (500, "try later")}
    said = refused(lambda: ws.change(PROF, "w1", remove=["ann"]), r"stop sharing 'prof'.s server with 'ann'")
    assert "were changed (added [], removed ['ann'])" in said and "run the same change again" in said
    assert ws.show(PROF, "w1")["members"] == ["bob", "prof"] and hub.shares["prof"] == {"ann", "bob"}
    hub.refuse = {}
    ws.change(PROF, "w1", remove=["ann"])
    assert hub.shares["prof"] == {"bob"} and hub.users("ws-w1") == ["bob", "prof"]

    # unsharing that the hub refuses keeps the share on the books, so it can be run again
    hub.refuse = {("PATCH", "/shares/prof/"): (500, "try later")}
    refused(lambda: ws.unshare(PROF, "w1"), r"revoked for \[\], still shared with \['bob'\]")
    assert ws.show(PROF, "w1")["shared_servers"] == ["prof"] and hub.shares["prof"] == {"bob"}
    hub.refuse = {}
    ws.unshare(PROF, "w1")
    assert ws.show(PROF, "w1")["shared_servers"] == [] and hub.shares["prof"] == set()


def test_an_instructor_added_while_the_materials_are_frozen_gets_them_read_only_until_the_thaw(tmp_path):
    """Real setfacl/getfacl, with the existing system user 'nobody' as the instructor (prefix 'nobod' + hub
    name 'y'). The freeze and the thaw act only as the window opens and closes: an instructor added in
    between got rwx on the materials for the rest of the exam."""
    import subprocess

    def access(path):
        acl = subprocess.run(["getfacl", "--omit-header", "--absolute-names", str(path)], capture_output=True,
                             text=True, check=True).stdout.split()
        return sorted(line for line in acl if line.startswith(("user:nobody:", "default:user:nobody:")))

    now = [1_700_000_000.0]
    teaching = Teaching(tmp_path / "classes", tmp_path / "workspaces", tmp_path / "classes.sqlite",
                        accounts=SystemAccounts("nobod", run_as_system_users=True), clock=lambda: now[0])
    teaching.create_class(ADMIN, "c1")
    materials = tmp_path / "classes" / "c1" / "materials"
    (materials / "sheet.txt").write_text("the exam's data")
    teaching.exam(ADMIN, "c1", now[0] - 60, now[0] + 3600)
    assert teaching.add_members(ADMIN, "c1", "instructor", ["y"])["instructors"] == ["y"]
    assert access(materials) == ["default:user:nobody:r-x", "user:nobody:r-x"]
    assert access(materials / "sheet.txt") == ["user:nobody:r--"]
    assert access(tmp_path / "classes" / "c1" / "instructors") == ["default:user:nobody:rwx", "user:nobody:rwx"]
    now[0] += 3601
    teaching.tick()
    assert teaching.show(ADMIN, "c1")["exam"]["frozen"] is False
    assert access(materials) == ["default:user:nobody:rwx", "user:nobody:rwx"]
    assert access(materials / "sheet.txt") == ["user:nobody:rw-"]


def test_a_class_in_use_is_refused_naming_each_member_s_processes_in_words(tmp_path):
    """The 409 class-in-use refusal named members and processes through a Python dict's text ("{'y': ['sleep (pid
    12)', ...]} have their working folder ..."), and --force's answer named what it ended alike ("{'y': [12, 13]}"):
    both are words now ("y: sleep (pid 12), cat (pid 13)"; "y: pid 12, pid 13"), the refusal's machine-readable value
    still the members. Real processes of the existing system user 'nobody' (prefix 'nobod' + hub name 'y'), working
    in the class's folder; --force ends them."""
    import subprocess

    teaching = Teaching(tmp_path / "classes", tmp_path / "workspaces", tmp_path / "classes.sqlite",
                        accounts=SystemAccounts("nobod", run_as_system_users=True))
    teaching.create_class(ADMIN, "c1")
    teaching.add_members(ADMIN, "c1", "student", ["y"])
    materials = tmp_path / "classes" / "c1" / "materials"
    working = [subprocess.Popen(command, cwd=materials, user="nobody", stdin=subprocess.PIPE)
               for command in (["sleep", "600"], ["cat"])]  # cat waits on its open stdin
    try:
        pids = sorted(p.pid for p in working)
        with pytest.raises(ClassError) as refused:
            teaching.delete_class(ADMIN, "c1")
        message = str(refused.value)
        assert refused.value.status == 409 and refused.value.code == "class-in-use" and refused.value.value == ["y"]
        said = re.search(r"in it \(a notebook's kernel opened from the class's folder, a terminal there\): y: (.*)\. "
                         r"Deleting it ends those processes", message)
        assert said and sorted(said.group(1).split(", ")) == sorted([f"sleep (pid {working[0].pid})",
                                                                      f"cat (pid {working[1].pid})"]), message
        assert "{" not in message and "[" not in message, message
        forced = teaching.delete_class(ADMIN, "c1", force=True)
        assert sorted(forced["ended"]["y"]) == pids, forced
        ended = re.search(r"processes that held its files were ended: y: (pid \d+, pid \d+)$", forced["message"])
        assert ended and sorted(ended.group(1).split(", ")) == sorted(f"pid {pid}" for pid in pids), forced["message"]
    finally:
        for process in working:
            process.kill()
            process.wait()


def test_a_hub_that_fails_to_look_up_a_user_is_not_an_unknown_user(hub):
    """Before: any answer but 200 (a 500, a refused scope) read as "unknown user(s) ... add them first", and a
    hub that could not be reached was an internal error (500); the page's server column raised as well."""
    from astrohub_hub.classes_service import HubDirectory

    directory = HubDirectory(hub.url, "service-token")
    hub.known = {"ann"}
    assert directory.user_exists("ann") and not directory.user_exists("bob")
    hub.refuse = {("GET", "/users/ann"): (403, "Action is not authorized with current scopes")}
    with pytest.raises(ClassError, match=r"refused to look up the user 'ann' \(HTTP 403: Action is not") as refused:
        directory.user_exists("ann")
    assert refused.value.status == 502 and refused.value.code == "hub-refused"
    down = HubDirectory("http://127.0.0.1:9/hub/api", "t")
    with pytest.raises(ClassError, match="the hub could not be reached to look up the user 'ann'") as unreachable:
        down.user_exists("ann")
    assert unreachable.value.status == 502
    assert down.server_state("ann") == "unknown"


@pytest.mark.parametrize("start, end", [(-1e300, 1e300), (0, 2**70), (True, 5), (0, float("inf")), (float("nan"), 5)])
def test_an_exam_window_outside_the_calendar_is_refused_and_nothing_is_kept(teaching, start, end):
    """An exam's start and end are epoch seconds of a real date (1970 to 9999): a window past them was
    written, then its log line failed (a 500 from the service), or SQLite refused the number after the hub
    was told; a boolean was taken as 0 or 1."""
    teaching.create_class(ADMIN, "c1", instructors=["prof"], students=["ann"])
    with pytest.raises(ClassError, match="epoch seconds"):
        teaching.exam(PROF, "c1", start, end)
    assert teaching.show(PROF, "c1")["exam"] is None


def test_an_extension_past_the_year_9999_is_refused(teaching, tmp_path):
    """``by: "99999999999w"`` was a ValueError (year out of range) from the service: a 500."""
    teaching.create_class(ADMIN, "c1", instructors=["prof"], students=["ann"])
    (tmp_path / "classes" / "c1" / "instructors" / "hw").mkdir()
    teaching.release(PROF, "c1", "hw", due="2030-01-01T00:00Z")
    with pytest.raises(ClassError, match="after the year 9999") as refused:
        teaching.extend(PROF, "c1", "hw", "ann", by="99999999999w")
    assert refused.value.status == 400
    assert teaching.show(ANN, "c1")["deadlines"]["hw"].get("extended_until") is None


def test_a_member_finds_the_class_linked_in_their_home_as_they_join(tmp_path):
    """A student added while her server ran found no ``~/classes/<class>`` in Lab until its next start (the local
    spawner makes those links as a server starts). The service, from the environment the hub gives it, links the
    class as each member joins (at creation and when added later), as them (``folders.link_as``), beside the links
    they have; a file of theirs under the class's name is left alone. (As root, the link is the user's own:
    tests/integration/test_platform_classes.py.)"""
    from astrohub_hub.classes_service import from_environ
    from astrohub_hub.configure import _classes_service
    from astrohub_hub.settings import HubSettings

    settings = HubSettings.model_validate({
        "mode": "local", "classes": {"url": "http://127.0.0.1:9", "apiToken": "t",
                                     "registry": str(tmp_path / "state" / "classes.sqlite")},
        "storage": {"home": str(tmp_path / "home" / "{username}"), "groupsRoot": str(tmp_path / "groups"),
                    "datasets": str(tmp_path / "datasets"), "scratch": str(tmp_path / "scratch")},
        "local": {"runAsSystemUsers": False}})
    env = {**_classes_service(settings)["environment"], "JUPYTERHUB_API_URL": "http://127.0.0.1:9/hub/api",
           "JUPYTERHUB_API_TOKEN": "t"}
    teaching, directory, _ = from_environ(env)
    directory.user_exists = KNOWN.__contains__  # the hub's answer
    teaching.user_exists = teaching.people.user_exists = KNOWN.__contains__
    teaching.on_roster_change = lambda cls, role, users: None  # the hub's groups: tests/integration
    classes, home = tmp_path / "classes", tmp_path / "home"
    (home / "bob" / "classes").mkdir(parents=True)
    (home / "bob" / "classes" / "old").symlink_to(classes / "old")  # a link of an earlier class: kept
    (home / "bob" / "classes" / "c2").write_text("bob's own notes")
    teaching.create_class(ADMIN, "c1", instructors=["prof"], students=["ann"])
    assert os.readlink(home / "prof" / "classes" / "c1") == str(classes / "c1")
    assert os.readlink(home / "ann" / "classes" / "c1") == str(classes / "c1")
    assert not (home / "bob" / "classes" / "c1").exists()
    teaching.add_members(PROF, "c1", "student", ["bob"])  # her server may be running: the link is there at once
    assert os.readlink(home / "bob" / "classes" / "c1") == str(classes / "c1")
    assert (home / "bob" / "classes" / "c1" / "materials").is_dir()
    assert os.readlink(home / "bob" / "classes" / "old") == str(classes / "old")
    teaching.create_class(ADMIN, "c2", students=["bob"])
    assert (home / "bob" / "classes" / "c2").read_text() == "bob's own notes"  # not replaced by a link
    # privacy14: the classes' and workspaces' roots are 0711 (nobody lists the names); a workspace is linked in the
    # home of each person in it as they are added, ~/workspaces/<name>, as a class is
    assert classes.stat().st_mode & 0o777 == 0o711 and (tmp_path / "workspaces").stat().st_mode & 0o777 == 0o711
    teaching.workspaces.on_members_change = lambda name, added, removed: None  # the hub's group: tests/integration
    teaching.workspaces.create(ANN, "survey", readers=["eve"])
    teaching.workspaces.change(ANN, "survey", add=["bob"])
    for user in ("ann", "eve", "bob"):
        assert os.readlink(home / user / "workspaces" / "survey") == str(tmp_path / "workspaces" / "survey"), user
    assert not (home / "prof" / "workspaces").exists()
    teaching.workspaces.delete(ANN, "survey")  # its links go with it: they would lead nowhere
    assert [list((home / user / "workspaces").iterdir()) for user in ("ann", "eve", "bob")] == [[], [], []]


def test_only_an_admin_sets_a_quota_and_it_is_kept_beside_the_folder(teaching, tmp_path):
    """group13: the quota lay in the folder its members write; an admin sets it now (``PUT api/quotas/...``), and it
    is what platform_lib.storage and the usage page read."""
    from astrohub_hub import folders
    from astrohub_hub.classes_service import set_quota

    groups = tmp_path / "groups"
    (groups / "lensing").mkdir(parents=True)
    teaching.workspaces.create(ANN, "survey", members=["bob"])
    (tmp_path / "home" / "ann").mkdir(parents=True)
    for actor, kind, name, value, status in [(ANN, "group", "lensing", 10**15, 403), (BOB, "workspace", "survey", 1, 403),
                                             (ADMIN, "group", "nope", 1, 404), (ADMIN, "group", "..", 1, 404),
                                             (ADMIN, "group", "lensing", -1, 400), (ADMIN, "group", "lensing", "1", 400),
                                             (ADMIN, "group", "lensing", True, 400)]:
        with pytest.raises(ClassError) as refused:
            set_quota(teaching, str(groups), actor, kind, name, value)
        assert refused.value.status == status, (actor, kind, name, value, refused.value.message)
    assert not (groups / ".astrohub-quotas").exists()  # nothing written by a refusal
    assert set_quota(teaching, str(groups), ADMIN, "group", "lensing", 5000) == {"space": "group/lensing", "bytes": 5000}
    assert set_quota(teaching, str(groups), ADMIN, "workspace", "survey", 700)["bytes"] == 700
    assert set_quota(teaching, str(groups), ADMIN, "home", "ann", 900)["bytes"] == 900
    assert folders.folder_usage(groups / "lensing")["quota"] == 5000
    assert folders.folder_usage(tmp_path / "workspaces" / "survey")["quota"] == 700
    storage = Storage(get_settings(user="ann", groups=["lensing"], home=tmp_path / "home" / "ann",
                                   groups_root=groups, workspaces_root=tmp_path / "workspaces"))
    assert {n: storage.usage(n).quota for n in ("home", "group/lensing", "workspace/survey")} == {
        "home": 900, "group/lensing": 5000, "workspace/survey": 700}
    set_quota(teaching, str(groups), ADMIN, "group", "lensing", None)
    assert folders.folder_usage(groups / "lensing")["quota"] is None and storage.usage("group/lensing").quota is None


def _marked_assignment(folder) -> None:
    """An nbgrader-marked notebook (one test cell), as an instructor writes one."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    folder.mkdir(parents=True)
    marks = {"nbgrader": {"schema_version": 3, "grade_id": "t", "grade": True, "solution": False, "locked": True,
                          "points": 1}}
    nbformat.write(new_notebook(cells=[new_code_cell("assert True", metadata=marks)]), folder / "a.ipynb")


def _submitted_hw1(teaching, tmp_path, monkeypatch) -> None:
    """Class c1 (instructor prof, student ann) with the marked assignment hw1 released and ann's copy submitted;
    nbgrader's release step is stubbed to hand back the source (the tests grade with a stub of their own)."""
    from astrohub_hub.grading import Grader

    teaching.create_class(ADMIN, "c1", instructors=["prof"], students=["ann"])
    _marked_assignment(tmp_path / "classes" / "c1" / "instructors" / "hw1")
    monkeypatch.setattr(Grader, "release_version", lambda self, assignment, source, reader: source)
    teaching.release(PROF, "c1", "hw1")
    teaching.submit(ANN, "c1", "hw1")


def test_two_autogrades_of_one_class_take_turns_and_the_second_says_it_waited(teaching, tmp_path, monkeypatch,
                                                                                caplog):
    """grade15: two autogrades of one class at once ran side by side, and on the local platform the kernel broker's
    clean-up after a notebook of one killed the kernels of the other (the class's one kernel identity). Now a
    class's grading steps take turns: the second autograde waits for the first (logged as it starts waiting) and
    its answer says so; the two never grade at the same time."""
    import logging
    import threading

    from astrohub_hub.grading import Grader

    _submitted_hw1(teaching, tmp_path, monkeypatch)
    grading, overlapped = [], []
    first_in, second_there = threading.Event(), threading.Event()

    def grade(self, assignment, submissions, *args, **kwargs):  # nbgrader's autograde, as long as the test wants
        overlapped.extend(grading)
        grading.append(assignment)
        if not first_in.is_set():
            first_in.set()
            second_there.wait(60)  # until the second autograde waits for its turn (or, side by side, runs)
        else:
            second_there.set()
        grading.pop()
        return {}

    class Waiting(logging.Handler):
        def emit(self, record):
            if "waits for" in record.getMessage():
                second_there.set()

    monkeypatch.setattr(Grader, "grade", grade)
    caplog.set_level(logging.INFO, logger="astrohub.classes")
    handler = Waiting()
    logging.getLogger("astrohub.classes").addHandler(handler)
    answers = {}
    try:
        first = threading.Thread(target=lambda: answers.update(first=teaching.collect(PROF, "c1", "hw1", grade=True)))
        first.start()
        assert first_in.wait(60)
        answers["second"] = teaching.collect(ADMIN, "c1", "hw1", grade=True)
        first.join(60)
    finally:
        logging.getLogger("astrohub.classes").removeHandler(handler)
    assert overlapped == [], "two autogrades of class c1 ran at the same time"
    assert "waited" not in answers["first"]
    assert "for the autograde of hw1 by prof started at" in answers["second"]["waited"], answers["second"]
    assert "a class's grading steps run one at a time" in answers["second"]["waited"]


def test_an_admin_deletes_a_class_and_its_data_is_kept_aside(teaching, tmp_path):
    """grade15: a class could not be deleted (its groups, folders, registry rows and grading users stayed for good).
    An admin deletes it: the hub's groups go first, its folder moves to ``.deleted/<class>-<time>/`` with its registry
    rows in ``registry.json``, and the name is free again. Instructors, students and unknown classes are refused
    clearly, and so is a deletion while the class is being graded."""
    import json

    deleted = []
    teaching.on_class_delete = deleted.append
    teaching.create_class(ADMIN, "c1", instructors=["prof"], students=["ann"])
    hw = tmp_path / "classes" / "c1" / "instructors" / "hw1"
    hw.mkdir()
    (hw / "task.txt").write_text("measure the parallax")
    teaching.release(PROF, "c1", "hw1")
    teaching.submit(ANN, "c1", "hw1")
    for who in (PROF, ANN):
        with pytest.raises(ClassError, match="only admins delete classes") as refused:
            teaching.delete_class(who, "c1")
        assert refused.value.status == 403
    with pytest.raises(ClassError, match="no class 'c2'") as unknown:
        teaching.delete_class(ADMIN, "c2")
    assert unknown.value.status == 404
    with teaching._grading_turn(PROF, "c1", "autograde of hw1"):
        with pytest.raises(ClassError, match=r"class 'c1' is being graded now \(the autograde of hw1 by prof") as busy:
            teaching.delete_class(ADMIN, "c1")
    assert busy.value.status == 409 and deleted == []
    assert (tmp_path / "classes" / "c1").is_dir()

    answer = teaching.delete_class(ADMIN, "c1")
    assert deleted == ["c1"] and answer["deleted"] is True and answer["removed"] == ["ann", "prof"]
    kept = tmp_path / "classes" / ".deleted" / "c1-20231114T221320Z"
    assert answer["kept"] == str(kept) and str(kept) in answer["message"]
    assert not (tmp_path / "classes" / "c1").exists()
    assert (kept / "instructors" / "hw1" / "task.txt").read_text() == "measure the parallax"
    [submission] = (kept / "submissions" / "ann" / "hw1").iterdir()
    assert (submission / "task.txt").is_file()
    rows = json.loads((kept / "registry.json").read_text())
    assert sorted((r["user"], r["role"]) for r in rows["members"]) == [("ann", "student"), ("prof", "instructor")]
    assert [r["name"] for r in rows["assignments"]] == ["hw1"] and len(rows["submissions"]) == 1
    assert (kept / "released" / "hw1.tar").is_file()  # what a late-comer would have been given
    assert teaching.classes_of(ADMIN) == [] and teaching.classes_of(ANN) == []
    with pytest.raises(ClassError, match="no class 'c1'"):
        teaching.show(ADMIN, "c1")
    # the name is free again: a new class of it starts empty
    again = teaching.create_class(ADMIN, "c1", instructors=["prof"])
    assert (again["students"], again["assignments"], again["submissions"]) == ([], [], []), again
    assert teaching.actions(ADMIN, "c1")[0]["action"] == "create" and len(teaching.actions(ADMIN, "c1")) == 1


def test_a_hub_that_refuses_to_delete_a_class_group_leaves_the_class_as_it_was(teaching, hub, tmp_path):
    """grade15: deleting a class asks the hub first. When it refuses the instructors' group (after deleting the
    students'), the answer is a 502 naming the group, the hub's words and what was deleted; the class, its folder
    and roster stay, and running the deletion again finishes it."""
    from astrohub_hub.classes_service import HubDirectory

    directory = HubDirectory(hub.url, "service-token")
    teaching.on_roster_change = directory.mirror
    teaching.on_class_delete = directory.delete_class_groups
    teaching.create_class(ADMIN, "c1", instructors=["prof"], students=["ann"])
    assert sorted(hub.groups) == ["c1-instructors", "c1-students"]
    hub.refuse[("DELETE", "/groups/c1-instructors")] = (403, "Action is not authorized")
    with pytest.raises(ClassError) as refused:
        teaching.delete_class(ADMIN, "c1")
    assert refused.value.status == 502 and "the hub refused to delete the group 'c1-instructors'" in \
        refused.value.message and "Action is not authorized" in refused.value.message
    assert "deleted ['c1-students']" in refused.value.message, refused.value.message
    assert teaching.roster("c1") == {"students": ["ann"], "instructors": ["prof"]}
    assert (tmp_path / "classes" / "c1").is_dir() and not (tmp_path / "classes" / ".deleted").exists()
    del hub.refuse[("DELETE", "/groups/c1-instructors")]
    assert teaching.delete_class(ADMIN, "c1")["deleted"] is True  # the students' group already gone: fine
    assert hub.groups == {} and not (tmp_path / "classes" / "c1").exists()


def test_an_admin_restores_a_deleted_class_with_its_registry_rows(teaching, tmp_path):
    """grade15b: a deleted class came back only by hand, and without its registry rows (they stayed in
    ``registry.json``: the class page lost its assignments, submissions, due dates and extensions). An admin's
    ``restore_class`` brings the folder, the rows, the hub groups and the members back; others, unknown or unsafe
    names and a class of the name that exists now are refused, changing nothing. The instructor's
    ``~/grading/<class>`` link goes at the deletion, as ``~/classes/<class>`` does."""
    import json

    teaching.course_links_folder = "grading"
    course = tmp_path / "classes" / "c1" / "instructors" / "nbgrader"
    teaching.create_class(ADMIN, "c1", instructors=["prof"], students=["ann"])
    hw = tmp_path / "classes" / "c1" / "instructors" / "hw1"
    hw.mkdir()
    (hw / "task.txt").write_text("measure the parallax")
    teaching.release(PROF, "c1", "hw1", due="2023-11-20T12:00Z")
    teaching.extend(PROF, "c1", "hw1", "ann", by="2d")
    teaching.submit(ANN, "c1", "hw1")
    grading = tmp_path / "home" / "prof" / "grading"  # as the spawner makes it at the instructor's start
    grading.mkdir(parents=True)
    (grading / "c1").symlink_to(course)
    before = teaching.show(ADMIN, "c1")
    kept = teaching.delete_class(ADMIN, "c1")["kept"]
    assert not os.path.lexists(grading / "c1"), "the deleted class's course link stayed in the instructor's home"
    name = os.path.basename(kept)

    teaching.mirrored.clear()
    for who in (PROF, ANN):
        with pytest.raises(ClassError, match="only admins restore classes") as refused:
            teaching.restore_class(who, name)
        assert refused.value.status == 403
    for bad in ("c1-19990101T000000Z", "..", "../c1", ".deleted", ""):
        with pytest.raises(ClassError, match="no deleted class") as unknown:
            teaching.restore_class(ADMIN, bad)
        assert unknown.value.status == 404 and unknown.value.code == "unknown-deleted-class"
    teaching.create_class(ADMIN, "c1", instructors=["prof"])  # the name taken again meanwhile
    teaching.mirrored.clear()
    with pytest.raises(ClassError, match=r"a class named 'c1' exists now") as taken:
        teaching.restore_class(ADMIN, name)
    assert taken.value.status == 409 and teaching.mirrored == [] and os.path.isdir(kept)
    teaching.now[0] += 1
    teaching.delete_class(ADMIN, "c1")

    answer = teaching.restore_class(ADMIN, name)
    assert "is restored" in answer["message"] and not os.path.exists(kept)
    assert teaching.mirrored == [("c1", "instructors", ["prof"]), ("c1", "students", ["ann"])]
    # class16: the instructor's course link came back only at his server's next start (his formgrader stayed off)
    assert (grading / "c1").resolve() == course.resolve(), "the restored class's course link is missing"
    after = teaching.show(ADMIN, "c1")
    for key in ("instructors", "students", "assignments", "submissions", "deadlines"):
        assert after[key] == before[key], key
    assert teaching.show(ANN, "c1")["submissions"][0]["student"] == "ann"
    assert (tmp_path / "classes" / "c1" / "instructors" / "hw1" / "task.txt").read_text() == "measure the parallax"
    assert not (tmp_path / "classes" / "c1" / "registry.json").exists()
    assert [a["action"] for a in teaching.actions(ADMIN, "c1")][-1] == "restore"
    assert json.loads(json.dumps(teaching.classes_of(ANN))) == [{"name": "c1", "role": "student", "archived": False}]
    teaching.add_members(ADMIN, "c1", "student", ["bob"])  # the last release came back: a late-comer gets it
    assert (tmp_path / "home" / "bob" / "c1" / "hw1" / "task.txt").is_file()


def test_an_admin_restores_a_deleted_class_under_another_name(teaching, tmp_path):
    """class16: a deleted class could come back only under its own name, so not while a new class had taken it.
    ``restore_class(..., as_name)`` renames it wherever the platform keeps the name: registry rows, folder, last
    releases, hub groups, links (``~/classes``, ``~/grading``) and the students' copies of its assignments (moved from
    ``~/<old>/`` to ``~/<new>/``, so submit and feedback find them). A bad or taken name, or a student's own
    ``~/<new>`` in the way, is refused, changing nothing."""
    teaching.links_folder, teaching.course_links_folder = "classes", "grading"
    teaching.create_class(ADMIN, "c1", instructors=["prof"], students=["ann", "bob"])
    hw = tmp_path / "classes" / "c1" / "instructors" / "hw1"
    hw.mkdir()
    (hw / "task.txt").write_text("measure the parallax")
    teaching.release(PROF, "c1", "hw1", due="2023-11-20T12:00Z")
    (tmp_path / "home" / "ann" / "c1" / "hw1" / "answer.txt").write_text("1.3 pc")
    teaching.submit(ANN, "c1", "hw1")
    before = teaching.show(ADMIN, "c1")
    kept = teaching.delete_class(ADMIN, "c1")["kept"]
    name = os.path.basename(kept)
    teaching.create_class(ADMIN, "c1", instructors=["prof"])  # the name taken by next year's class
    teaching.create_class(ADMIN, "c3", instructors=["prof"])
    teaching.mirrored.clear()

    for bad, status, words in (("c3", 409, "a class named 'c3' exists now"), ("../c2", 400, "class name '../c2'"),
                               ("C2", 400, "class name 'C2'")):
        with pytest.raises(ClassError, match=re.escape(words)) as refused:
            teaching.restore_class(ADMIN, name, bad)
        assert refused.value.status == status, bad
    (tmp_path / "home" / "bob" / "c2").mkdir()  # bob's own folder of that name
    with pytest.raises(ClassError, match=r"would move from ~/c1/ to ~/c2/") as in_the_way:
        teaching.restore_class(ADMIN, name, "c2")
    assert in_the_way.value.status == 409 and in_the_way.value.code == "home-folder-taken"
    assert teaching.mirrored == [] and os.path.isdir(kept) and not (tmp_path / "classes" / "c2").exists()
    (tmp_path / "home" / "bob" / "c2").rmdir()

    answer = teaching.restore_class(ADMIN, name, "c2")
    assert "class 'c2' is restored" in answer["message"] and "(it was 'c1')" in answer["message"], answer
    assert teaching.mirrored == [("c2", "instructors", ["prof"]), ("c2", "students", ["ann", "bob"])]
    after = teaching.show(ADMIN, "c2")
    for key in ("instructors", "students", "assignments", "submissions", "deadlines"):
        assert after[key] == before[key], key
    assert teaching.roster("c1") == {"students": [], "instructors": ["prof"]}  # next year's class untouched
    assert (tmp_path / "classes" / "c2" / "instructors" / "hw1" / "task.txt").is_file()
    assert (tmp_path / "home" / "ann" / "c2" / "hw1" / "answer.txt").read_text() == "1.3 pc"
    assert not (tmp_path / "home" / "ann" / "c1").exists()
    assert (tmp_path / "home" / "prof" / "grading" / "c2").resolve() == \
        (tmp_path / "classes" / "c2" / "instructors" / "nbgrader").resolve()
    assert (tmp_path / "home" / "ann" / "classes" / "c2").resolve() == (tmp_path / "classes" / "c2").resolve()
    assert teaching.submit(ANN, "c2", "hw1")["files"]  # from ~/c2/hw1: her work moved with the class
    assert teaching.actions(ADMIN, "c2")[-2]["detail"] == {"from": name, "as": "c2"}
    teaching.add_members(ADMIN, "c2", "student", ["eve"])  # the last release came along: a late-comer gets it
    assert (tmp_path / "home" / "eve" / "c2" / "hw1" / "task.txt").is_file()


def test_the_class_page_says_one_point_off_per_hour_late_in_the_singular():
    """The page read "1 points off per hour late" for the late penalty the teaching guide releases with."""
    from astrohub_hub.classes_service import due_text

    deadline = {"due": "2026-12-10T17:00:00Z", "refuse_late": False}
    assert due_text({**deadline, "late_penalty_per_hour": 1.0}).endswith("1 point off per hour late)")
    assert due_text({**deadline, "late_penalty_per_hour": 1.5}).endswith("1.5 points off per hour late)")


def test_the_class_page_shows_each_size_in_the_unit_it_reaches():
    """teams23: the page's storage table rounded every size to 0.1 MB, so a student's 3 kB of files showed as 0.0 MB
    (and a 50 GB quota as 50000.0): one formatter for what is used and for each quota, as ``platform_lib.usage()``."""
    from astrohub_hub.sizes import size_text

    assert [size_text(n) for n in (0, 1, 999, 3_072, 2_406_272, 50 * 10**9, 1_500 * 10**9)] == [
        "0 bytes", "1 byte", "999 bytes", "3.1 kB", "2.4 MB", "50.0 GB", "1.5 TB"]


def test_the_class_page_writes_a_submissions_time_as_it_writes_due_dates():
    """teams23: the page said "Submitted hw1 of astro101 at 2026-12-07T16-08-15" (the submission folder's name: dashes,
    no time zone) beside "due 2026-12-09T16:07:00Z"."""
    from astrohub_hub.classes_service import submitted_text

    assert submitted_text("2026-12-07T16-08-15") == "2026-12-07T16:08:15Z"
    assert submitted_text("2026-12-07T16-08-15-2") == "2026-12-07T16:08:15Z"  # a second one in the same second
    assert submitted_text("whenever") == "whenever"


def test_a_workspace_or_class_without_a_name_is_refused_saying_the_name_is_missing():
    """POST workspaces with the members but no name answered "workspace name '' must be 1-40 ...", as if '' were a
    name that was typed wrong."""
    from astrohub_hub.people import People

    with pytest.raises(ClassError, match=r"^no workspace name given: it is 1-40 lower-case"):
        People.check_name("workspace", "")
    with pytest.raises(ClassError, match=r"^class name 'Astro 101' must be 1-40"):
        People.check_name("class", "Astro 101")


def test_a_name_with_spaces_or_accents_is_refused_with_the_rule_and_a_name_to_use(teaching, tmp_path):
    """teach25: an instructor on day one typed the class 'Astro 101' and got the rule but no name to use, and a
    roster with 'Zoë Smith' was refused with only "invalid user name(s) ['zoë smith']": no rule, no way on. Now a
    class, assignment or workspace name is refused with the rule and a valid name made from it, and a person's
    name with the rule for user names and, when the hub has a user of that shape, the name they probably meant;
    nothing is changed."""
    with pytest.raises(ClassError) as refused:
        teaching.create_class(ADMIN, "Astro 101", instructors=["prof"])
    assert refused.value.message == ("class name 'Astro 101' must be 1-40 lower-case letters, digits, '-', '_', "
                                     "starting with a letter or digit (say 'astro-101')")
    with pytest.raises(ClassError, match=r"^class name 'Étoiles proches' .* \(say 'etoiles-proches'\)$"):
        teaching.create_class(ADMIN, "Étoiles proches")
    with pytest.raises(ClassError, match=r"letter or digit$"):  # nothing to suggest
        teaching.create_class(ADMIN, "★")
    with pytest.raises(ClassError) as refused:
        teaching.create_class(ADMIN, "astro101", instructors=["prof"], students=["ann", "Zoë Smith"])
    assert refused.value.message == (
        "class 'astro101' students: invalid user name(s) ['zoë smith']: a user name is lower-case letters, digits, "
        "'_' and '-', starting with a letter or digit, at most 26 characters; give the name each person signs in "
        "with (their hub user name: the hub's admin page lists them). Nothing was changed")
    assert refused.value.status == 400 and teaching.classes_of(ADMIN) == []
    KNOWN.add("zoe-smith")
    try:
        with pytest.raises(ClassError, match=r"invalid user name\(s\) \['zoë smith', 'bo li'\]: .*at most 26 "
                                             r"characters; did you mean 'zoe-smith'\? Nothing was changed$"):
            teaching.create_class(ADMIN, "astro101", instructors=["prof"], students=["Zoë Smith", "Bo Li"])
    finally:
        KNOWN.discard("zoe-smith")
    assert not (tmp_path / "classes" / "astro101").exists()


def test_someone_in_no_class_is_told_on_the_class_page_how_to_get_into_one(teaching, monkeypatch):
    """teach25: a student who signed in before her instructor added her read "You are in no class." on the class
    page, and nothing about what to do. The page now says she is added by her instructors under her user name
    (named, to give them), and to reload the page then; once added, the class is there instead. A student who
    dropped read the same, as if never in it: now she reads who removed her from which class and when, where her
    copies are, and how to come back."""
    import types

    import astrohub_hub.classes_service as service

    monkeypatch.setattr(service, "usage", lambda *args: {"home": None, "groups": {}, "workspaces": {},
                                                          "dask": {"clusters": [], "problem": None}})
    page = types.SimpleNamespace(hub_auth=types.SimpleNamespace(hub_prefix="/hub/"), prefix="/services/c/",
                                 form_xsrf="x", teaching=teaching, settings={}, groups=[])
    page.workspaces_section = lambda actor: ""
    page.student_assignments = lambda actor, cls, info: service.PageHandler.student_assignments(page, actor, cls, info)
    before = service.PageHandler.render_page(page, ANN)
    assert ("You are in no class yet. Students do not join a class themselves: its instructors add you by your user "
            "name, <code>ann</code> (give them exactly that), or an admin does. Once they have, reload this page"
            in before), before
    teaching.create_class(ADMIN, "astro101", instructors=["prof"])
    teaching.add_members(PROF, "astro101", "student", ["ann"])
    after = service.PageHandler.render_page(page, ANN)
    assert "no class yet" not in after and "<h2 class='class'>astro101 <small>(student)</small></h2>" in after
    # she drops: told who removed her and when, not that she was never in a class; another student is not told
    teaching.add_members(PROF, "astro101", "student", ["bob"])
    teaching.now[0] += 60
    teaching.remove_members(PROF, "astro101", "student", ["ann"])
    dropped = service.PageHandler.render_page(page, ANN)
    assert ("<p class='left-class'>prof removed you from class astro101 on 2023-11-14 22:14:20 UTC. Your copies of "
            "its assignments stay yours, in <code>~/astro101/</code>; your submissions and grades stay with the "
            "class. A mistake? Ask its instructors to add you again (your user name: <code>ann</code>).</p>"
            "<p class='no-class'>You are in no class. Students do not join") in dropped, dropped
    assert "removed you" not in service.PageHandler.render_page(page, BOB)
    teaching.add_members(PROF, "astro101", "student", ["ann"])  # back again: nothing about it
    assert "removed you" not in service.PageHandler.render_page(page, ANN)


def test_an_instructor_added_mid_term_gets_the_course_link_at_once(teaching, tmp_path):
    """walk17c: an instructor added mid-term got ``~/grading/<class>`` only at their next server start, and the
    answer did not say when formgrader would serve it. The course link is made as they are added, and the answer
    says formgrader serves it from their next server start."""
    teaching.links_folder, teaching.course_links_folder = "classes", "grading"
    teaching.create_class(ADMIN, "c1", instructors=["prof"], students=["ann"])
    answer = teaching.add_members(ADMIN, "c1", "instructor", ["eve"])
    home = tmp_path / "home" / "eve"
    assert (home / "grading" / "c1").resolve() == (tmp_path / "classes" / "c1" / "instructors" / "nbgrader").resolve()
    assert (home / "classes" / "c1").resolve() == (tmp_path / "classes" / "c1").resolve()
    assert "~/grading/c1" in answer["message"] and "from their next server start" in answer["message"], answer


def test_an_admin_pins_a_profile_on_a_class_already_made(teaching):
    """walk17c: a profile could be pinned only as the class was created. ``pin_profile`` pins (or unpins) it later,
    the hub first; an instructor and an unknown slug are refused and nothing changes."""
    pinned = []
    teaching.profiles, teaching.on_class_properties = ("lab", "big"), lambda c, p: pinned.append((c, p))
    teaching.create_class(ADMIN, "c1", instructors=["prof"])
    with pytest.raises(ClassError, match="only admins pin") as refused:
        teaching.pin_profile(PROF, "c1", "lab")
    assert refused.value.status == 403
    with pytest.raises(ClassError, match=r"no profile 'nope' .* \['lab', 'big'\]"):
        teaching.pin_profile(ADMIN, "c1", "nope")
    assert pinned == [] and teaching.show(ADMIN, "c1")["profile"] == ""
    assert teaching.pin_profile(ADMIN, "c1", "big")["profile"] == "big"
    assert teaching.pin_profile(ADMIN, "c1", "")["profile"] == ""
    assert pinned == [("c1", {"astrohub-profile": "big"}), ("c1", {"astrohub-profile": ""})]
    assert [a["action"] for a in teaching.actions(ADMIN, "c1")][-2:] == ["profile", "profile"]
    teaching.profiles = ()  # a hub that offers none says so ("choose one of []" before)
    with pytest.raises(ClassError, match=r"no profile 'lab' .*; it offers none \(an operator adds them"):
        teaching.pin_profile(ADMIN, "c1", "lab")


def test_an_admins_autograde_reads_as_the_platform_and_makes_no_account_for_the_admin(teaching, tmp_path,
                                                                                      monkeypatch):
    """The operator's `astrohub classes collect --grade` (the hub service astrohub-cli, an admin that is no user)
    made a system user and a home for 'astrohub-cli' (every CI run left one): the autograde asked for the actor's
    system user as the reader of the source, where the collect beside it takes none for an admin. An admin's
    autograde now reads as the platform, as its collect does; an instructor's still reads as her."""
    from astrohub_hub.grading import Grader

    _submitted_hw1(teaching, tmp_path, monkeypatch)
    readers, accounts = [], []
    monkeypatch.setattr(Grader, "grade", lambda self, assignment, work, source, reader, *a, **k: readers.append(reader)
                        or {})
    system = teaching.people.system
    monkeypatch.setattr(teaching.people, "system", lambda user: accounts.append(user) or system(user))
    teaching.collect(ADMIN, "c1", "hw1", grade=True)
    assert readers == [None] and ADMIN.name not in accounts, (readers, accounts)
    teaching.collect(PROF, "c1", "hw1", grade=True)
    assert "prof" in accounts, accounts


def test_a_renamed_person_keeps_her_workspaces_owner_member_reader_share_and_collaboration(tmp_path, monkeypatch):
    """rename24: ``rename_member`` renamed a person in her classes but not in her team workspaces, so under the new
    name she owned and reached none of them (the registry, the hub group's collaborators and her link still named
    the old one). Now every workspace that names her follows, in the classes' transaction: a failure there leaves
    the workspaces and the hub's collaborators as they were; someone in workspaces only is renamed too."""
    import astrohub_hub.classes as classes

    hub = {"prof", "ann", "bob", "eve"}
    collaborators, groups = {}, {}
    t = Teaching(tmp_path / "classes", tmp_path / "workspaces", tmp_path / "state" / "classes.sqlite",
                 accounts=SystemAccounts("astro-", run_as_system_users=False),
                 home_template=str(tmp_path / "home" / "{username}"), user_exists=hub.__contains__,
                 on_workspace_change=lambda name, added, removed: groups.__setitem__(
                     name, (groups.get(name, set()) | set(added)) - set(removed)),
                 links_folder="classes")
    t.workspaces.on_collaborators = collaborators.__setitem__
    t.create_class(ADMIN, "c1", instructors=["prof"], students=["ann"])
    t.workspaces.create(ANN, "team", members=["bob"])  # hers
    t.workspaces.create(BOB, "lab", readers=["ann"])  # she reads it
    t.workspaces.create(EVE, "solo")  # not hers
    t.workspaces.share(ANN, "team")
    t.workspaces.collaborate(ANN, "team")
    assert collaborators == {"team": ["ann"]}
    hub -= {"ann"}
    hub |= {"anna", "ed"}

    # the new name already in one of her workspaces: refused, nothing changed
    t.workspaces.change(BOB, "lab", add=["anna"])
    with pytest.raises(ClassError, match=r"'anna' is in workspace\(s\) \['lab'\] already") as info:
        t.rename_member(ADMIN, "ann", "anna")
    assert info.value.code == "name-taken" and t.roster("c1")["students"] == ["ann"]
    t.workspaces.change(BOB, "lab", remove=["anna"])

    # a failure in the transaction: her workspaces and the hub's collaborators stay as they were
    def broken(detail, old, new):
        raise OSError("disk full")

    monkeypatch.setattr(classes, "renamed_in_log", broken)
    with pytest.raises(OSError, match="disk full"):
        t.rename_member(ADMIN, "ann", "anna")
    monkeypatch.undo()
    assert collaborators == {"team": ["ann"]} and t.workspaces.of(ANN) == [
        {"name": "lab", "access": "ro"}, {"name": "team", "access": "rw"}]
    assert t.workspaces.show(ANN, "team")["owner"] == "ann"
    # the new name added to one of her workspaces after the checks: refused in the transaction, nothing changed
    on_hub = t.workspaces.rename_on_hub

    def meanwhile(old, new, names):
        t.workspaces.change(BOB, "lab", add=["anna"])
        return on_hub(old, new, names)

    monkeypatch.setattr(t.workspaces, "rename_on_hub", meanwhile)
    with pytest.raises(ClassError, match=r"'anna' was added to workspace\(s\) \['lab'\] meanwhile") as info:
        t.rename_member(ADMIN, "ann", "anna")
    monkeypatch.undo()
    assert info.value.code == "name-taken" and collaborators == {"team": ["ann"]}
    assert t.roster("c1")["students"] == ["ann"] and t.workspaces.show(ANN, "team")["owner"] == "ann"
    t.workspaces.change(BOB, "lab", remove=["anna"])

    answer = t.rename_member(ADMIN, "ann", "anna")
    assert answer["workspaces"] == ["lab", "team"] and answer["classes"] == ["c1"], answer
    anna = Actor("anna")
    assert t.workspaces.of(anna) == [{"name": "lab", "access": "ro"}, {"name": "team", "access": "rw"}]
    assert t.workspaces.of(ANN) == []
    team = t.workspaces.show(anna, "team")  # she opens it under the new name, as its owner
    assert team["owner"] == "anna" and team["members"] == ["anna", "bob"] and team["shared_servers"] == ["anna"]
    assert team["collaborative"] == ["anna"] and collaborators == {"team": ["anna"]}
    assert t.workspaces.show(anna, "lab")["readers"] == ["anna"]
    assert "anna" in groups["team"] and "anna" not in groups.get("lab", set())  # readers are not in ws-<name>
    t.workspaces.change(anna, "team", add=["eve"])  # the owner's rights are hers
    with pytest.raises(ClassError, match="not in workspace 'solo'"):
        t.workspaces.show(anna, "solo")
    link = tmp_path / "home" / "anna" / folders.WORKSPACE_LINKS / "team"
    assert os.path.realpath(link) == str(tmp_path / "workspaces" / "team")

    # someone in workspaces only, no class, is renamed too
    hub -= {"eve"}
    answer = t.rename_member(ADMIN, "eve", "ed")
    assert answer["workspaces"] == ["solo", "team"] and answer["classes"] == [], answer
    assert answer["message"].startswith("'eve' is 'ed' now in workspace(s) ['solo', 'team']"), answer
    assert t.workspaces.show(Actor("ed"), "solo")["owner"] == "ed"


def test_a_rename_that_would_own_more_workspaces_than_the_limit_is_refused_before_any_change(tmp_path, monkeypatch):
    """teach25: ``rename_member`` did not recheck ``classes.maxWorkspacesPerUser`` for the new name: a person renamed
    to a name that already owned workspaces owned them all, beyond the limit. Now it is refused (409
    ``too-many-workspaces``, naming both counts, the limit and the setting) before anything changes, also when the new
    name makes one between the checks and the transaction; a new name that owns none is renamed even when the old
    name's count is past the limit (an admin made them: the rename adds nothing)."""
    hub = {"prof", "ann", "bob", "eve"}
    groups = {}
    t = Teaching(tmp_path / "classes", tmp_path / "workspaces", tmp_path / "state" / "classes.sqlite",
                 accounts=SystemAccounts("astro-", run_as_system_users=False),
                 home_template=str(tmp_path / "home" / "{username}"), user_exists=hub.__contains__,
                 on_workspace_change=lambda name, added, removed: groups.__setitem__(
                     name, (groups.get(name, set()) | set(added)) - set(removed)))
    t.workspaces.max_per_user = 2
    t.create_class(ADMIN, "c1", instructors=["prof"], students=["ann"])
    t.workspaces.create(ANN, "team-a", members=["bob"])
    t.workspaces.create(ANN, "team-b")
    hub -= {"ann"}
    hub |= {"anna"}
    anna = Actor("anna")
    t.workspaces.create(anna, "annas")  # the new name is a hub user who owns one already: 2 + 1 > 2

    with pytest.raises(ClassError) as refused:
        t.rename_member(ADMIN, "ann", "anna")
    assert (refused.value.status, refused.value.code, refused.value.value) == (409, "too-many-workspaces", 2)
    assert refused.value.message == (
        "'anna' owns 1 workspace(s) already (annas) and 'ann' owns 2 (team-a, team-b): renamed, 'anna' would own 3, "
        "more than one person may own on this platform (2, the operator's setting classes.maxWorkspacesPerUser). "
        "Delete some of them first (astrohub workspaces delete <name>), or raise the setting. Nothing was changed")
    # nothing changed: roster, owners, the hub's groups
    assert t.roster("c1")["students"] == ["ann"]
    assert [t.workspaces.show(ADMIN, n)["owner"] for n in ("team-a", "team-b", "annas")] == ["ann", "ann", "anna"]
    assert "anna" not in groups["team-a"] and t.workspaces.of(anna) == [{"name": "annas", "access": "rw"}]

    # within the limit once one is gone: renamed
    t.workspaces.delete(ANN, "team-b")
    on_hub = t.workspaces.rename_on_hub

    def meanwhile(old, new, names):  # the new name makes one more after the checks: refused in the transaction
        t.workspaces.create(anna, "annas-2")
        return on_hub(old, new, names)

    monkeypatch.setattr(t.workspaces, "rename_on_hub", meanwhile)
    with pytest.raises(ClassError, match=r"'anna' would own 3,") as refused:
        t.rename_member(ADMIN, "ann", "anna")
    monkeypatch.undo()
    assert refused.value.code == "too-many-workspaces" and t.roster("c1")["students"] == ["ann"]
    assert t.workspaces.show(ADMIN, "team-a")["owner"] == "ann"
    t.workspaces.delete(anna, "annas-2")
    answer = t.rename_member(ADMIN, "ann", "anna")
    assert answer["workspaces"] == ["team-a"] and t.roster("c1")["students"] == ["anna"]
    assert sorted(w["name"] for w in t.workspaces.of(anna)) == ["annas", "team-a"]

    # a new name that owns nothing takes the old name's workspaces even past the limit (an admin made them)
    t.workspaces.create(ADMIN, "lab-1", owner="bob")
    t.workspaces.create(ADMIN, "lab-2", owner="bob")
    t.workspaces.create(ADMIN, "lab-3", owner="bob")
    hub -= {"bob"}
    hub |= {"bo"}
    assert t.rename_member(ADMIN, "bob", "bo")["workspaces"] == ["lab-1", "lab-2", "lab-3", "team-a"]
    t.workspaces.max_per_user = 0  # no limit: nothing refused
    hub -= {"anna"}
    hub |= {"bea"}
    t.workspaces.create(Actor("bea"), "beas")
    assert t.rename_member(ADMIN, "anna", "bea")["workspaces"] == ["annas", "team-a"]


def test_a_renamed_instructor_teaches_under_the_new_name_with_the_class_and_course_links(tmp_path):
    """classes24: an instructor the admin renamed teaches the class under the new name, with ``~/classes/<class>``
    and ``~/grading/<class>`` (formgrader's course) in the new name's home; a student of two classes is renamed in
    both."""
    hub = {"prof", "ann"}
    t = Teaching(tmp_path / "classes", tmp_path / "workspaces", tmp_path / "state" / "classes.sqlite",
                 accounts=SystemAccounts("astro-", run_as_system_users=False),
                 home_template=str(tmp_path / "home" / "{username}"), user_exists=hub.__contains__,
                 links_folder="classes", course_links_folder="grading")
    for cls in ("c1", "c2"):
        t.create_class(ADMIN, cls, instructors=["prof"], students=["ann"])
    hub.difference_update({"prof", "ann"})
    hub.update({"prof2", "ann2"})
    assert t.rename_member(ADMIN, "prof", "prof2")["classes"] == ["c1", "c2"]
    assert t.rename_member(ADMIN, "ann", "ann2")["classes"] == ["c1", "c2"]
    assert [t.roster(c) for c in ("c1", "c2")] == [{"students": ["ann2"], "instructors": ["prof2"]}] * 2
    assert t.classes_of(Actor("ann2")) == [{"name": c, "role": "student", "archived": False} for c in ("c1", "c2")]
    home = tmp_path / "home" / "prof2"
    assert os.readlink(home / "classes" / "c1") == str(tmp_path / "classes" / "c1")
    assert os.readlink(home / "grading" / "c2") == str(tmp_path / "classes" / "c2" / "instructors" / "nbgrader")
    t.show(Actor("prof2"), "c1")  # may teach: no ClassError


@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")  # nbgrader's own add_submission, not ours
def test_a_renamed_student_keeps_her_nbgrader_grades_and_a_failed_rename_leaves_the_gradebook_as_it_was(
        tmp_path, monkeypatch):
    """classes24: nbgrader's gradebook (hand grades given in formgrader) and its folders of the student follow the
    rename, in step with the registry: a failure in the registry's transaction renames them back."""
    import sys

    from nbgrader.api import Gradebook

    import astrohub_hub.classes as classes

    monkeypatch.setenv("PATH", f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}")  # nbgrader runs alembic
    hub = {"prof", "ann", "bob"}
    t = Teaching(tmp_path / "classes", tmp_path / "workspaces", tmp_path / "state" / "classes.sqlite",
                 accounts=SystemAccounts("astro-", run_as_system_users=False),
                 home_template=str(tmp_path / "home" / "{username}"), user_exists=hub.__contains__)
    t.create_class(ADMIN, "c1", instructors=["prof"], students=["ann", "bob"])
    course = tmp_path / "classes" / "c1" / "instructors" / "nbgrader"
    course.mkdir()
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:  # as autograding and formgrader leave it
        gb.add_assignment("hw1")
        for student in ("ann", "bob"):
            gb.add_student(student)
            gb.add_submission("hw1", student)
    for kind in ("submitted", "autograded", "feedback"):
        (course / kind / "ann" / "hw1").mkdir(parents=True)
    hub.difference_update({"ann"})
    hub.add("anna")

    def broken(detail, old, new):
        raise OSError("disk full")

    monkeypatch.setattr(classes, "renamed_in_log", broken)
    with pytest.raises(OSError, match="disk full"):
        t.rename_member(ADMIN, "ann", "anna")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assert sorted(s.id for s in gb.students) == ["ann", "bob"]
        gb.find_submission("hw1", "ann")
    assert (course / "submitted" / "ann" / "hw1").is_dir() and not (course / "submitted" / "anna").exists()
    monkeypatch.setattr(classes, "renamed_in_log", renamed_in_log)

    t.rename_member(ADMIN, "ann", "anna")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assert sorted(s.id for s in gb.students) == ["anna", "bob"]
        assert gb.find_submission("hw1", "anna").student.id == "anna"
    for kind in ("submitted", "autograded", "feedback"):
        assert (course / kind / "anna" / "hw1").is_dir() and not (course / kind / "ann").exists()
    # a name nbgrader's gradebook holds already is refused, changing nothing
    hub.difference_update({"bob"})
    hub.add("carl")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.add_student("carl")
    with pytest.raises(ClassError, match="has a student 'carl' already") as info:
        t.rename_member(ADMIN, "bob", "carl")
    assert info.value.code == "name-taken" and t.roster("c1")["students"] == ["anna", "bob"]


def test_an_ended_class_no_longer_pins_the_servers_of_a_student_whose_other_class_goes_on(teaching, tmp_path):
    """term24: a class's pinned profile and exam window are its hub groups' properties, which her server reads at
    each start, the first pinned class by name deciding (``pins.class_pins``). Archiving left them on the groups:
    a student of an ended class and of one that goes on kept getting the ended class's profile over the continuing
    class's own. Archiving now clears them, the hub first (a refusal leaves the class live), and a class restored
    archived pins nothing either; the registry keeps the profile for the record."""
    from astrohub_hub.pins import class_pins

    groups: dict[str, dict] = {}  # the hub's groups' properties, merged as the classes service merges them

    def hub(cls, properties):
        for role in ("students", "instructors"):
            groups[f"{cls}-{role}"] = {**groups.get(f"{cls}-{role}", {}), **properties}

    teaching.on_class_properties = hub
    teaching.create_class(ADMIN, "astro101", instructors=["prof"], students=["ann"], profile="small")
    teaching.create_class(ADMIN, "astro201", instructors=["prof"], students=["ann"], profile="big")
    teaching.exam(ADMIN, "astro101", teaching.now[0] + 3600, teaching.now[0] + 7200)
    anns = lambda: [(g, p) for g, p in groups.items() if g.endswith("-students")]  # noqa: E731
    assert class_pins(anns(), teaching.now[0] + 4000) == ("small", True)  # astro101 first by name

    def refusing(cls, properties):
        raise ClassError("the hub refused", status=502, code="hub-refused", value=cls)

    teaching.on_class_properties = refusing
    with pytest.raises(ClassError, match="the hub refused"):
        teaching.archive(ADMIN, "astro101")
    assert teaching.show(ADMIN, "astro101")["archived"] is False  # nothing kept here the hub does not have
    teaching.on_class_properties = hub
    assert teaching.archive(ADMIN, "astro101")["profile"] == "small"  # the record stays
    assert class_pins(anns(), teaching.now[0] + 4000) == ("big", False)  # the class that goes on decides
    # deleted, then restored: still ended, still pinning nothing
    kept = teaching.delete_class(ADMIN, "astro101")["kept"]
    groups.pop("astro101-students"), groups.pop("astro101-instructors")  # the hub deleted them
    teaching.restore_class(ADMIN, os.path.basename(kept))
    assert teaching.show(ADMIN, "astro101")["archived"] is True
    assert class_pins(anns(), teaching.now[0] + 4000) == ("big", False)
