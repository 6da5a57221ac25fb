"""nbgrader autograding for a class: its course directory, and nbgrader run as the class's grading identity.

Owns :class:`Grader`: the nbgrader course directory of one class, ``instructors/nbgrader/`` (nbgrader's own
layout: ``source/``, ``release/``, ``submitted/``, ``autograded/``, ``feedback/``, ``gradebook.db``), and the
three steps the classes service takes through nbgrader's command line, each in a process of the class's grading
identity (``runner``: on the local platform a system user of the class's own,
:func:`astrohub_hub.accounts.grading_username`, whose home is no person's and who may write the course directory
alone), never root nor an instructor:

- ``generate_assignment`` when an nbgrader-marked assignment is released, so students get the version
  without solutions and hidden tests (:meth:`Grader.release_version`);
- ``autograde`` of the collected submissions, then ``generate_feedback`` (:meth:`Grader.grade`,
  :meth:`Grader.feedback`): scores come from the gradebook, feedback pages go to
  ``instructors/feedback/<assignment>/<student>/``, from where the usual ``feedback`` step returns them to each
  student's home (working the late penalty out again first, and generating the pages again).

Time, as nbgrader sees it (:class:`Deadline`): before autograding, the assignment's due date is written into
nbgrader's gradebook (its ``duedate``; none clears it) and each submission folder gets nbgrader's ``timestamp.txt``
with the time the classes service took the work (any ``timestamp.txt`` the student handed in is replaced), and each
student's extension becomes their nbgrader submission's ``extension`` (the time it adds to the due date; none clears
one given before), so nbgrader's lateness is ours; nbgrader puts that ``timestamp.txt`` beside each feedback page
too (which submission it graded), and it goes back to the student with the page.

The late penalty, in points per hour late (each hour or part of one), is taken once per submission, as an
instructor reads "1 point per hour late", from the score nbgrader holds *now*: ``points_per_hour x started
hours``, never more than that score (:func:`astrohub_hub.due_dates.late_penalty`, :meth:`Deadline.penalty`).
nbgrader's own late-penalty step is left at its default, ``none``: it works per notebook (its
``AssignLatePenalties`` asks a plugin for each notebook's penalty from that notebook's score alone, so an
assignment of three notebooks would lose it three times), ships only ``none``/``zero``, and runs only when
autograding, so a grade an instructor changes by hand in formgrader afterwards would keep a penalty worked out
from the old score. Instead the current scores are read from nbgrader's gradebook whenever they are wanted
(:meth:`Grader.scores`: manual grades and extra credit counted as nbgrader counts them; standard library SQL,
so the service reads them without nbgrader), and :meth:`Grader.feedback` (after each autograding, and again
whenever feedback is returned) works the penalty out from them, writes each notebook's share into the
gradebook's ``late_submission_penalty`` (in proportion to the notebook's score) and runs ``generate_feedback``,
so the pages a student gets add up to the figure the instructor's gradebook shows.

Several instructors (a professor and teaching assistants) and the grading identity share the course directory,
and a file is its writer's. The class's ``instructors/`` folder gives every instructor ``rwx`` through
ACL entries that what is created inside inherits, but what they can do is capped by the ACL mask, which is the
group bits of the mode a file is created or ``chmod``-ed with: SQLite makes ``gradebook.db`` 0644, nbgrader makes
its outputs 0444 and their folders 0755, our copies keep the source's 0644, so the next instructor could read them
but not write them (formgrader's grade 'attempt to write a readonly database', ``generate_feedback``,
``autograde`` and a re-release 'Permission denied'). So after each of :class:`Grader`'s steps, finished or not, what
the grading identity owns in the course, and the acting instructor in the feedback folder, gets group bits equal
to its owner bits (:data:`_SHARE`, run as each: the mask then lets every instructor's entry through, and the
grading identity's in the course, and nobody else has one; the instructors' formgrader servers run nbgrader with
``CourseDirectory.groupshared``, nbgrader's own setting for a course shared by several accounts, for the steps
started from its pages, :mod:`astrohub_hub.local`).

Autograding executes the students' notebooks, and the test cells any instructor of the class wrote, so the steps
run as the grading identity rather than as the instructor who asks (nbgrader's own model, where a student's code
could read and write whatever that instructor can), and on the local platform the notebooks' kernels run as the
class's kernel identity (:func:`astrohub_hub.accounts.kernel_username`), started by
:class:`astrohub_hub.grading_kernels.KernelBroker` for the autograde step (:class:`LocalSteps`): a student's code
reaches nothing of the course directory (the gradebook, the other submissions), of the grading identity's home, of
any person's home, of the class's other folders or of another class. In a grading Job (Kubernetes) the kernel is
the Job's user, which writes the course directory. What the instructor does besides (copying their assignment in, the
collected work in, the feedback pages out to ``instructors/feedback/``) runs as the instructor (``system_user``).

Configuration is the platform's, never the course folder's: every instructor of the class can write that folder,
and nbgrader would run the ``nbgrader_config.py`` (and read the ``nbgrader_config.json``) it finds in the course
directory and in its working folder, and import modules from its working folder, as whoever grades. So each
step runs nbgrader through :mod:`astrohub_server.gradingconfig` (configuration files only from Jupyter's config
folders; a file elsewhere is skipped, with a warning in the step's log), with ``python -I`` (no working folder
nor ``PYTHONPATH`` on ``sys.path``) from a working folder outside the course (:data:`STEP_FOLDER`; a Job's
``/tmp``); everything a step needs is on its command line. A notebook is "nbgrader-marked" when
one of its cells has ``metadata.nbgrader`` (:func:`uses_nbgrader`).

Where the steps run is a :class:`Steps` backend, chosen by the classes service's configuration
(``ASTROHUB_CLASSES_GRADING``, :func:`steps_from_environ`): :class:`LocalSteps` (a subprocess of the
class's grading identity; the local platform) or :class:`astrohub_hub.grading_jobs.JobSteps` (one Kubernetes
Job per step, from the user image, which has nbgrader; the hub image has none, and student code must never run
in the service's pod, which holds the hub token). Every backend runs ``python -I <argv>`` on the course directory
from a working folder outside it, and returns its standard output; a failure or a timeout is a :class:`astrohub_hub.errors.BackendError` (code
``grading-failed``; the classes service answers it 502, as a failure of its backend, not the caller's input;
but a gradebook, or another file of the course or the feedback folder, another instructor owns and the acting one
cannot write is :class:`GradebookReadOnly` or :class:`CourseFileReadOnly`, 409)
and leaves the class's submissions as they were (grading reads copies). May import the standard library,
``accounts``, ``due_dates``, ``errors``, ``folders`` and ``grading_kernels`` (and ``grading_jobs`` when the
configuration asks for it); nbgrader
and ``astrohub_server.gradingconfig`` only in the subprocesses.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import sqlite3
import stat
import subprocess
import sys
from contextlib import AbstractContextManager, closing, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Mapping, Protocol

from astrohub_hub import folders
from astrohub_hub.accounts import kernel_username
from astrohub_hub.due_dates import late_penalty, late_seconds, own_due
from astrohub_hub.errors import BackendError, HubError
from astrohub_hub.grading_kernels import BROKER_ENV, KernelBroker

__all__ = ["CourseFileReadOnly", "Deadline", "Grader", "GradebookReadOnly", "GradebookUnreadable", "LocalSteps",
           "NoSteps", "Steps", "gradebook_has_student", "rename_gradebook_student", "steps_from_environ",
           "total_points", "uses_nbgrader"]

class GradebookUnreadable(BackendError):
    """nbgrader's ``gradebook.db`` cannot be read now: damaged, locked by a running autograde past SQLite's
    wait, or not readable by the instructor. The state of the class's files, not a failed service: the classes
    service answers it 409 with the message (the file, SQLite's reason and what to do), never 502."""

    code = "gradebook-unreadable"
    status = 409


class CourseFileReadOnly(BackendError):
    """A grading step could not write a file or folder of the course or the feedback folder ("Permission
    denied"): another instructor's, whose group bits (the ACL mask) leave the others read-only, as a class graded
    before :data:`_SHARE` has it (nbgrader's ``autograded/`` notebooks 0444 in 0755 folders, ``feedback/``,
    ``source/``, ``release/``). The state of the class's files, not the caller's input nor a failed service: the
    classes service answers it 409 with the message (the file, its owner and mode, and the two ways out), never
    502 with the step's words alone."""

    code = "course-file-read-only"
    status = 409


class GradebookReadOnly(CourseFileReadOnly):
    """:class:`CourseFileReadOnly` for nbgrader's ``gradebook.db`` (SQLite's "attempt to write a readonly
    database")."""

    code = "gradebook-read-only"


def gradebook_has_student(course: Path, name: str) -> bool:
    """Whether nbgrader's gradebook of ``course`` has a student ``name`` (a course without one: False)."""
    db_path = course / "gradebook.db"
    if not db_path.is_file():
        return False
    with closing(sqlite3.connect(db_path, timeout=30)) as db:
        return db.execute("SELECT 1 FROM student WHERE id = ?", (name,)).fetchone() is not None


def rename_gradebook_student(course: Path, old: str, new: str) -> bool:
    """Rename student ``old`` to ``new`` in nbgrader's gradebook of ``course`` (its ``student`` row and the
    ``submitted_assignment`` rows that name it), in one transaction (standard library SQL on nbgrader's schema, as
    :data:`_SCORES` reads it), so the grades and comments given in formgrader stay with the student; whether the
    gradebook had ``old`` (a course without a gradebook: False). The caller checks first that ``new`` is no student
    there (:func:`gradebook_has_student`)."""
    db_path = course / "gradebook.db"
    if not db_path.is_file():
        return False
    with closing(sqlite3.connect(db_path, timeout=30)) as db, db:
        if not db.execute("SELECT 1 FROM student WHERE id = ?", (old,)).fetchone():
            return False
        db.execute("UPDATE student SET id = ? WHERE id = ?", (new, old))
        db.execute("UPDATE submitted_assignment SET student_id = ? WHERE student_id = ?", (new, old))
    return True


#: Seconds one nbgrader step may take (autograde runs every submitted notebook).
STEP_TIMEOUT = 900

#: The working folder of a local step: not the course (nbgrader reads its working folder's configuration and puts
#: it on ``sys.path``), a folder only root can write.
STEP_FOLDER = "/"

#: The scores of assignments' submissions as nbgrader's gradebook holds them now, for each assignment and student:
#: ``raw_score`` (nbgrader's: each grade cell's manual score when an instructor gave one in formgrader, else its
#: autograded score, plus any extra credit; no late penalty), ``max_score`` and ``needs_manual_grade`` (a cell
#: still waits for an instructor). ``python -I -c _SCORES <gradebook.db> <assignment>...``, as the reader: standard
#: library only (SQL on nbgrader's schema, the same sums as its ``Grade.score``), read-only, so the classes
#: service reads it whenever it is asked, without nbgrader (not in the hub image) or a grading Job.
_SCORES = """
import json, os, pathlib, sqlite3, sys
if not os.path.isfile(sys.argv[1]):
    print("{}")
    raise SystemExit
db = sqlite3.connect(pathlib.Path(sys.argv[1]).absolute().as_uri() + "?mode=ro", uri=True)
rows = db.execute(
    "SELECT assignment.name, submitted_assignment.student_id, COALESCE(SUM(CASE "
    "WHEN grade.manual_score IS NOT NULL THEN grade.manual_score + COALESCE(grade.extra_credit, 0.0) "
    "WHEN grade.auto_score IS NOT NULL THEN grade.auto_score + COALESCE(grade.extra_credit, 0.0) ELSE 0.0 END), 0.0), "
    "COALESCE(SUM(COALESCE(grade_cells.max_score, task_cells.max_score, 0.0)), 0.0), "
    "COALESCE(MAX(grade.needs_manual_grade), 0) "
    "FROM submitted_assignment JOIN assignment ON assignment.id = submitted_assignment.assignment_id "
    "LEFT JOIN submitted_notebook ON submitted_notebook.assignment_id = submitted_assignment.id "
    "LEFT JOIN grade ON grade.notebook_id = submitted_notebook.id "
    "LEFT JOIN grade_cells ON grade_cells.id = grade.cell_id LEFT JOIN task_cells ON task_cells.id = grade.cell_id "
    "WHERE assignment.name IN (%s) GROUP BY assignment.name, submitted_assignment.student_id"
    % ", ".join("?" * len(sys.argv[2:])), sys.argv[2:]).fetchall()
db.close()
out = {}
for assignment, student, score, top, manual in rows:
    out.setdefault(assignment, {})[student] = {"raw_score": score, "max_score": top, "needs_manual_grade": bool(manual)}
print(json.dumps(out))
"""

#: ``nbgrader autograde`` with astrohub's times: ``python -c _AUTOGRADE autograde <assignment> <spec> ...``,
#: ``spec`` a JSON object (:meth:`Grader.grade`): the due date for nbgrader's gradebook, each submission's
#: ``timestamp.txt`` and ``extensions`` (seconds added to the due date per student, None: none). nbgrader's own
#: late-penalty step stays at its default, ``none``: :data:`_FEEDBACK` writes the penalty.
_AUTOGRADE = """
import datetime, json, os, shutil, sys
from nbgrader.api import Gradebook
from astrohub_server.gradingconfig import main
from astrohub_server.gradingkernel import sandbox_kernels

sandbox_kernels()  # the students' notebooks run in kernels of the class's kernel identity (ASTROHUB_KERNEL_BROKER)
assignment, spec = sys.argv[2], json.loads(sys.argv.pop(3))
with Gradebook(spec["db"]) as gb:
    gb.update_or_create_assignment(assignment, duedate=spec["due"])
    for student, seconds in spec["extensions"].items():  # autograde keeps a submission's extension
        gb.update_or_create_student(student)
        gb.update_or_create_submission(assignment, student,
                                       extension=None if seconds is None else datetime.timedelta(seconds=seconds))
for student, stamp in spec["submitted"].items():
    path = os.path.join(spec["course"], "submitted", student, assignment, "timestamp.txt")
    if os.path.isdir(path) and not os.path.islink(path):  # never the student's own, file or folder
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)
    if stamp is None:
        continue
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644), "w") as fh:
        fh.write(stamp + "\\n")
main()
"""

#: ``nbgrader generate_feedback`` with the late penalty as the classes service worked it out from the scores of
#: now: ``python -c _FEEDBACK generate_feedback <assignment> <spec> ...``, ``spec["penalties"]`` the points taken
#: from each student's submission (:func:`astrohub_hub.due_dates.late_penalty`; a student not named keeps what
#: the gradebook has). Each notebook's ``late_submission_penalty`` (what its feedback page shows) is its share in
#: proportion to its score, so the pages add up to the total and no page shows more than its notebook scored.
#: It prints nbgrader's lateness of each submission (``total_seconds_late``) on a line of its own (:data:`_LATE`).
_LATE = "astrohub-late-seconds: "
_FEEDBACK = """
import json, sys
_LATE = %r
from nbgrader.api import Gradebook
from astrohub_server.gradingconfig import main

assignment, spec = sys.argv[2], json.loads(sys.argv.pop(3))
late = {}
with Gradebook(spec["db"]) as gb:
    for submission in gb.find_assignment(assignment).submissions:
        late[submission.student_id] = submission.total_seconds_late
        total = spec["penalties"].get(submission.student_id)
        if total is None:
            continue
        notebooks = sorted(submission.notebooks, key=lambda nb: nb.name)
        scores = [max(nb.score or 0.0, 0.0) for nb in notebooks]
        left = total
        for i, (notebook, score) in enumerate(zip(notebooks, scores)):
            share = left if i == len(notebooks) - 1 else total * score / (sum(scores) or 1.0)
            share = min(share, score, left)
            notebook.late_submission_penalty = share or None
            left -= share
    gb.db.commit()
print(_LATE + json.dumps(late), flush=True)
main()
""" % (_LATE,)


#: Make what the acting instructor owns under each folder named writable by the class's other instructors: group bits
#: equal to the owner bits (with an ACL, the mask), ``python -I -c _SHARE <folder>...`` as that instructor. Links are
#: neither followed nor changed; what others own is left alone (only its owner may change its mode).
_SHARE = """
import os, stat, sys
me = os.geteuid()
for top in sys.argv[1:]:
    for root, _dirs, files in os.walk(top):
        for path in [root, *(os.path.join(root, name) for name in files)]:
            try:
                st = os.lstat(path)
                mode = stat.S_IMODE(st.st_mode)
                if st.st_uid == me and not stat.S_ISLNK(st.st_mode) and mode | (mode & 0o700) >> 3 != mode:
                    os.chmod(path, mode | (mode & 0o700) >> 3)
            except FileNotFoundError:
                continue
"""


#: How Python words a file it may not write (``PermissionError``, EACCES), the file first.
_DENIED = re.compile(r"Permission denied: '([^']+)'")


def _nbgrader_time(t: float) -> str:
    """Epoch seconds as nbgrader writes a ``timestamp.txt`` (``2026-12-10 17:00:00.250000 UTC``)."""
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


@dataclass(frozen=True)
class Deadline:
    """What nbgrader is told about time when it grades: the due date (epoch seconds; None: none), each
    student's submission time (epoch seconds), the late penalty in points per hour late (0: none), and the
    students' extensions (epoch seconds each one's due date is extended to; one not after ``due``: none)."""

    due: float | None = None
    submitted: Mapping[str, float] = field(default_factory=dict)
    penalty_per_hour: float = 0.0
    extensions: Mapping[str, float] = field(default_factory=dict)

    def extension(self, student: str) -> float | None:
        """Seconds ``student``'s extension adds to the due date, as nbgrader's submission ``extension`` (None:
        none, or no due date)."""
        until = self.extensions.get(student)
        if self.due is None or until is None or until <= self.due:
            return None
        return until - self.due

    def penalty(self, student: str, score: float) -> float:
        """The points the late penalty takes from ``student``'s submission when it scores ``score`` (0: on time
        against their own due date, no due date, no penalty, or a submission time not known)."""
        submitted = self.submitted.get(student)
        if submitted is None:
            return 0.0
        late = late_seconds(own_due(self.due, self.extensions.get(student)), submitted)
        return late_penalty(self.penalty_per_hour, late, score)


def _nbgrader_cells(folder: Path) -> Iterator[dict]:
    """The nbgrader metadata of each marked cell of the notebooks under ``folder`` (links not followed)."""
    for path in sorted(Path(folder).rglob("*.ipynb")):
        if path.is_symlink() or ".ipynb_checkpoints" in path.parts:
            continue
        try:
            cells = json.loads(path.read_text()).get("cells", [])
        except (OSError, ValueError):
            continue
        for cell in cells if isinstance(cells, list) else ():
            marks = (cell.get("metadata") or {}).get("nbgrader") if isinstance(cell, dict) else None
            if isinstance(marks, dict):
                yield marks


def uses_nbgrader(folder: Path) -> bool:
    """Whether a notebook under ``folder`` has a cell with nbgrader metadata (links not followed)."""
    return next(_nbgrader_cells(folder), None) is not None


def total_points(folder: Path) -> float | None:
    """What the nbgrader-marked notebooks under ``folder`` are worth: the points of their graded cells and tasks,
    as nbgrader's ``max_score`` adds them up (``None``: no nbgrader-marked notebook)."""
    total, marked = 0.0, False
    for marks in _nbgrader_cells(folder):
        marked = True
        points = marks.get("points", 0)
        if (marks.get("grade") or marks.get("task")) and isinstance(points, (int, float)) and points > 0:
            total += float(points)
    return total if marked else None


class Steps(Protocol):
    """Where nbgrader's steps run: ``python -I <argv>`` on ``course`` as ``system_user``, in a working folder
    outside it (nothing of the course on ``sys.path``); returns its stdout."""

    def run(self, step: str, argv: list[str], course: Path, system_user: str | None) -> str: ...


class LocalSteps:
    """Each step in a subprocess of ``system_user`` (None: as we are), with this interpreter (local mode); while an
    ``autograde`` step of a system user runs, a :class:`astrohub_hub.grading_kernels.KernelBroker` starts its kernels
    as that grading identity's kernel identity."""

    def _env(self, course: Path, system_user: str | None) -> dict[str, str]:
        env = {"PATH": f"{os.path.dirname(sys.executable)}:/usr/bin:/bin", "LANG": "C.UTF-8"}
        if system_user and os.geteuid() == 0:
            env["HOME"] = pwd.getpwnam(system_user).pw_dir
        else:
            env["HOME"] = os.environ.get("HOME", "/tmp")
        env["JUPYTER_RUNTIME_DIR"] = str(course / ".runtime")
        return env

    def run(self, step: str, argv: list[str], course: Path, system_user: str | None) -> str:
        user = folders._as_user(system_user) if system_user else {}
        env = self._env(course, system_user)
        broker: AbstractContextManager = nullcontext()
        if step == "autograde" and user:  # the students' notebooks run as the class's kernel identity
            broker = KernelBroker(system_user, kernel_username(system_user), course / "autograded")
            env[BROKER_ENV] = broker.socket_path
        try:
            with broker:
                result = subprocess.run([sys.executable, "-I", *argv], capture_output=True, text=True,
                                        timeout=STEP_TIMEOUT, check=False, env=env, cwd=STEP_FOLDER, **user)
        except subprocess.TimeoutExpired:
            raise BackendError(f"nbgrader {step} took longer than {STEP_TIMEOUT} s", code="grading-failed") from None
        if result.returncode != 0:
            lines = [ln for ln in (result.stderr + result.stdout).splitlines() if ln.strip()]
            # nbgrader logs a failed notebook's traceback, then a summary: keep the file it could not write
            denied = [ln for ln in lines[:-3] if _DENIED.search(ln)][:1]
            raise BackendError(f"nbgrader {step} failed: {' | '.join(denied + lines[-3:])}", code="grading-failed",
                           value=str(course))
        return result.stdout


class NoSteps:
    """Grading is off (the chart's ``classes.grading.enabled: false``): every step is refused, saying so."""

    def run(self, step: str, argv: list[str], course: Path, system_user: str | None) -> str:
        raise HubError(f"nbgrader {step} is off on this platform: nbgrader-marked assignments are neither released "
                       "as nbgrader versions nor autograded (an administrator turns it on with the chart's "
                       "classes.grading.enabled)", code="grading-off")


def steps_from_environ(env: Mapping[str, str]) -> Steps:
    """The backend the classes service's environment names: ``ASTROHUB_CLASSES_GRADING`` ``local`` (the
    default), ``off`` or ``kubernetes`` (then :meth:`astrohub_hub.grading_jobs.JobSettings.from_environ` reads
    the rest)."""
    kind = env.get("ASTROHUB_CLASSES_GRADING", "local") or "local"
    if kind == "local":
        return LocalSteps()
    if kind == "off":
        return NoSteps()
    if kind == "kubernetes":
        from astrohub_hub.grading_jobs import JobSettings, JobSteps

        return JobSteps(JobSettings.from_environ(env))
    raise HubError(f"ASTROHUB_CLASSES_GRADING={kind!r}: use 'local', 'off' or 'kubernetes' (the chart's "
                   "classes.grading sets it)", code="bad-config", value=kind)


class Grader:
    """nbgrader on ``course`` (a class's ``instructors/nbgrader``): each step through ``steps`` (default:
    :class:`LocalSteps`) as ``runner``, the class's grading identity, which writes the course directory; the
    copies to and from the instructors' folder as ``system_user``, the acting instructor (None: as we are;
    ``runner`` None: the same as ``system_user``, so never as we are while an instructor is named)."""

    def __init__(self, course: Path, system_user: str | None, base: Path, steps: Steps | None = None,
                 runner: str | None = None) -> None:
        self.course, self.system_user, self.base = Path(course), system_user, Path(base)
        self.runner = runner or system_user
        self.steps = steps if steps is not None else LocalSteps()

    def _run(self, *args: str) -> str:
        argv = ["-m", "astrohub_server.gradingconfig", *args, f"--CourseDirectory.root={self.course}"]
        return self.steps.run(args[0], argv, self.course, self.runner)

    def _copy(self, source: Path, dest: Path, reader: str | None, writer: str | None, *,
              fresh: bool = False) -> list[str]:
        data = folders.pack_as(source, reader, base=source.parent)
        return folders.unpack_as(data, dest, writer, base=self.base, fresh=fresh)

    @contextmanager
    def _shared(self, *extra: Path):
        """Run a block of steps, then (finished or failed) give the class's instructors write access to what the
        grading identity wrote in the course and the acting instructor in ``extra`` folders (:data:`_SHARE`).
        Nothing to do when the steps run as we are (no system users: one account writes everything)."""
        try:
            yield
        except HubError as exc:  # a step (BackendError) or a copy (copy-failed) that could not write a file
            refusal = self._refusal(exc.message, extra)
            if refusal is None:
                raise
            raise refusal from exc
        finally:
            shares = {self.runner: [self.course]}
            shares.setdefault(self.system_user, []).extend(extra)
            for who, tops in shares.items():
                if who and tops and os.geteuid() == 0:
                    subprocess.run([sys.executable, "-I", "-c", _SHARE, *map(str, tops)],
                                   check=False, timeout=120, **folders._as_user(who))

    def _refusal(self, message: str, extra: tuple[Path, ...]) -> CourseFileReadOnly | None:
        """The refusal for a failure to write a file (or its folder) of the course or an ``extra`` folder that
        another instructor owns and left without group write (the ACL mask), from the failure's ``message``:
        SQLite's words (through SQLAlchemy) for the gradebook, Python's "Permission denied: '<file>'" for the
        others. None: no such file (the acting instructor's own, writable by the group, gone, elsewhere, or another
        failure): it stays what it was."""
        if "readonly database" in message:
            paths = [self.course / "gradebook.db"]
        elif found := _DENIED.search(message):
            name = Path(found[1])
            # a relative name (shutil.rmtree's, inside the folder it empties) is any such file of the folders
            named = [name] if name.is_absolute() else [
                Path(root, entry) for top in (self.course, *extra) for root, dirs, files in os.walk(top)
                for entry in sorted(dirs + files) if Path(root, entry).parts[-len(name.parts):] == name.parts]
            paths = [p for path in named for p in (path, path.parent)]  # or the folder it is created or removed in
        else:
            return None
        for path in paths:
            top = next((t for t in (self.course, *extra) if path.is_relative_to(t)), None)
            writer = self.runner if top == self.course else self.system_user  # who wrote there (_shared)
            try:
                me = pwd.getpwnam(writer).pw_uid if writer else os.geteuid()
                st = path.lstat()
            except (KeyError, OSError):
                continue
            if top is None or st.st_uid == me or st.st_mode & stat.S_IWGRP:  # the mask lets instructors write it
                continue
            try:
                owner = pwd.getpwuid(st.st_uid).pw_name
            except KeyError:
                owner = f"uid {st.st_uid}"
            gradebook = path == self.course / "gradebook.db"
            what = ("nbgrader's gradebook" if gradebook else
                    "the grading folder" if stat.S_ISDIR(st.st_mode) else "the grading file")
            # _SHARE: any step shares the course; a feedback folder (an assignment's) is shared by its own steps
            step = ("grading step (release, grade, or return feedback)" if top == self.course else
                    f"grade or return of feedback of {top.name}")
            return (GradebookReadOnly if gradebook else CourseFileReadOnly)(
                f"{what} {path} cannot be written by {writer or 'this service'}: it is {owner}'s, "
                f"mode {stat.S_IMODE(st.st_mode):04o}, which leaves the class's other instructors only reading it (a "
                f"class graded before grading shared what it writes). {owner}'s next {step} makes it writable by "
                f"every instructor; or an admin runs: setfacl -R -m m::rwX {self.course.parent}", value=str(path))
        return None

    def _mkdir(self) -> None:
        """Create the course directory (the grading identity's runtime folder in it) as the grading identity."""
        user = folders._as_user(self.runner) if self.runner else {}
        subprocess.run([sys.executable, "-I", "-c", "import os, sys; os.makedirs(os.path.join(sys.argv[1], "
                        "'.runtime'), exist_ok=True)", str(self.course)], check=True, timeout=60, **user)

    def release_version(self, assignment: str, source: Path, reader: str | None) -> Path:
        """``generate_assignment``: the students' version of ``source`` (solutions and hidden tests removed); what the
        acting instructor owns in ``source`` is opened to the class's other instructors too (a folder copied with
        ``cp -r`` keeps modes that leave it read-only to them)."""
        with self._shared(source):
            self._mkdir()
            self._copy(source, self.course / "source" / assignment, reader, self.runner)
            self._run("generate_assignment", assignment, "--force")
        return self.course / "release" / assignment

    def scores(self, assignments: list[str], reader: str | None) -> dict[str, dict[str, dict]]:
        """The scores nbgrader's gradebook holds now for ``assignments`` (:data:`_SCORES`: ``{assignment:
        {student: {raw_score, max_score, needs_manual_grade}}}``, no late penalty; an assignment never graded is
        left out), read with ``reader``'s permissions (a system user; None: ours) in one subprocess of this
        service, not a grading step."""
        if not assignments:
            return {}
        user = folders._as_user(reader) if reader else {}
        result = subprocess.run([sys.executable, "-I", "-c", _SCORES, str(self.course / "gradebook.db"),
                                 *assignments],
                                capture_output=True, text=True, timeout=120, check=False, **user)
        if result.returncode != 0:
            lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
            raise GradebookUnreadable(
                f"cannot read nbgrader's gradebook {self.course / 'gradebook.db'}: {' | '.join(lines[-2:])}; if an "
                "autograde is running, try again when it has finished; if the file is damaged, restore it from a "
                "backup (or move it aside and autograde again, which loses grades given by hand in formgrader)",
                value=str(self.course / "gradebook.db"))
        return json.loads(result.stdout.strip().splitlines()[-1])

    def feedback(self, assignment: str, students: list[str], deadline: Deadline, feedback_root: Path) -> dict:
        """Work the late penalty out again from the scores of now (manual grades included), write it into
        nbgrader's gradebook, generate the feedback pages and copy each student's under ``feedback_root``.

        Returns ``{student: {score, max_score, late_penalty, needs_manual_grade, late_seconds, feedback}}`` for
        the ``students`` nbgrader has a submission of: ``score`` is nbgrader's score of now less the penalty (never
        below zero), the figure the feedback pages add up to; ``late_seconds``: the lateness nbgrader measured."""
        with self._shared(feedback_root):
            return self._feedback(assignment, students, deadline, feedback_root)

    def _feedback(self, assignment: str, students: list[str], deadline: Deadline, feedback_root: Path) -> dict:
        raw = self.scores([assignment], self.runner).get(assignment, {})
        result = {}
        for student in students:
            if student in raw:
                now = raw[student]
                taken = deadline.penalty(student, now["raw_score"])
                result[student] = {"score": now["raw_score"] - taken, "max_score": now["max_score"],
                                   "late_penalty": taken, "needs_manual_grade": now["needs_manual_grade"]}
        spec = {"db": f"sqlite:///{self.course / 'gradebook.db'}",
                "penalties": {s: g["late_penalty"] for s, g in result.items()}}
        out = self.steps.run("generate_feedback", ["-c", _FEEDBACK, "generate_feedback", assignment, json.dumps(spec),
                                             "--force", f"--CourseDirectory.root={self.course}"],
                       self.course, self.runner)
        late = next((json.loads(line[len(_LATE):]) for line in out.splitlines() if line.startswith(_LATE)), {})
        for student in result:
            result[student]["late_seconds"] = late.get(student)
            pages = self.course / "feedback" / student / assignment
            if pages.is_dir():
                result[student]["feedback"] = self._copy(pages, feedback_root / student, self.runner,
                                                         self.system_user)
        return result

    def grade(self, assignment: str, submissions: dict[str, Path], source: Path, reader: str | None,
              feedback_root: Path, deadline: Deadline | None = None) -> dict[str, dict]:
        """Autograde ``{student: collected folder}`` and write each student's feedback under ``feedback_root``.

        The gradebook knows the assignment from its release (``generate_assignment`` runs again only when the
        release is missing). ``deadline``: the due date nbgrader's gradebook gets, the submission times its
        ``timestamp.txt`` files say (a student left out: none, and nbgrader counts their work on time), each
        student's extension and the late penalty per hour; None: no due date. The scores and feedback are
        :meth:`feedback`'s (after the penalty, taken once per submission; ``late_penalty``: the points taken)."""
        with self._shared(feedback_root):
            return self._grade(assignment, submissions, source, reader, feedback_root, deadline or Deadline())

    def _grade(self, assignment: str, submissions: dict[str, Path], source: Path, reader: str | None,
               feedback_root: Path, deadline: Deadline) -> dict[str, dict]:
        if not (self.course / "release" / assignment).is_dir():
            self.release_version(assignment, source, reader)
        for student, folder in submissions.items():
            # exactly this submission: a notebook of an earlier one the student has since deleted is not graded
            self._copy(folder, self.course / "submitted" / student / assignment, self.system_user, self.runner,
                       fresh=True)
        times = {s: deadline.submitted.get(s) for s in submissions}
        spec = {"db": f"sqlite:///{self.course / 'gradebook.db'}", "course": str(self.course),
                "due": None if deadline.due is None else _nbgrader_time(deadline.due),
                "submitted": {s: None if t is None else _nbgrader_time(t) for s, t in times.items()}}
        spec["extensions"] = {s: deadline.extension(s) for s in submissions}
        # A test cell the student deleted is put back and run (nbgrader's add_missing_cells; off by default,
        # when the cell is left to the instructor as needing a manual grade and her answer goes untested).
        self.steps.run("autograde", ["-c", _AUTOGRADE, "autograde", assignment, json.dumps(spec), "--force",
                                     "--OverwriteCells.add_missing_cells=True",
                                     f"--CourseDirectory.root={self.course}"], self.course, self.runner)
        return self._feedback(assignment, list(submissions), deadline, feedback_root)
