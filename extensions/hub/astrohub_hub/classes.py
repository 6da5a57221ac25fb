"""Classes and assignments: who may do what, and the folders that say so on disk.

Owns :class:`Teaching`: the registry of classes (a SQLite file: classes, their students and
instructors, assignments, every submission, exams, the action log) and each operation, checked
against the acting user before anything changes (workspaces are :mod:`astrohub_hub.workspaces`,
reached as ``Teaching.workspaces``; who exists and the checks of names are :mod:`astrohub_hub.people`):

===============================================  ========================================================
operation                                        who
===============================================  ========================================================
create, archive, delete, restore; instructors   admins
rename a person in every class                  admins
add or remove students, show the roster          admins and the class's instructors
release, collect, return feedback                the class's instructors
set or clear an assignment's due date            admins and the class's instructors
grant or take back a student's extension         admins and the class's instructors (TAs are instructors)
submit                                           the class's students (their own work only)
set an exam window, read the action log          admins and the class's instructors
read the gradebook                               admins and the class's instructors
===============================================  ========================================================

On disk, under ``classes_root/<class>/`` (root-owned, mode 0770, reached through ACL entries only; no
folder is world-writable; ``classes_root`` itself 0711, so nobody lists the classes): ``materials/`` (instructors
rwx, students r-x), ``instructors/`` (instructors
only; assignments are authored in ``instructors/<assignment>/``, collected work lands in
``instructors/collected/<assignment>/<student>/``, feedback is written to
``instructors/feedback/<assignment>/<student>/``), ``submissions/<student>/<assignment>/<UTC time>/``
(written by this service; instructors r-x, the student r-x on their own folder, nobody else). Release
copies into ``~<student>/<class>/<assignment>/`` as the student (existing files are kept, except those of
the previous release the student left unchanged, which a re-release updates); submit copies
the student's folder as the student; collect and feedback write as the instructor: no copy ever follows
a link a user planted (:func:`astrohub_hub.folders.pack_as`). Resubmitting adds a new timestamped
folder; nothing is overwritten.

Exam mode (:meth:`Teaching.exam`): inside the window the materials folder is read-only for everybody
(instructors' entries set to r-x by :meth:`Teaching.tick`, thawed after it; an instructor added inside
the window gets r-x too), a submission after the end to an
assignment first released before the end is refused with the deadline in the message (an assignment first
released after the exam ended is not part of it), and every action (and every refused submission) is in the
class's action log (:meth:`Teaching.actions`). A class created with a ``profile`` pins it: the class's hub
groups get the property ``astrohub-profile`` and the spawner starts its members' servers with it; an exam
window is the groups' ``astrohub-exam`` property, and servers started inside it get guarantees equal to the
profile's limits (local processes are not confined beyond the limits JupyterHub exports; on Kubernetes,
requests = limits). The hub is told before anything changes here: a window or a profile it refuses (or cannot
take, being down) is a ClassError 502 naming its answer, and neither is kept.

Due dates (:meth:`Teaching.set_due`, or ``release(..., due=...)``): an assignment may have one (ISO 8601 with
its time zone, in the future when set; :mod:`astrohub_hub.due_dates`). Work submitted after it is taken and
marked late, as nbgrader does (the submission's answer says by how much; :meth:`Teaching.show` and the
gradebook list the due dates and each submission's lateness), or refused with the due date in the message
when the assignment refuses late work; for an assignment an exam names, the exam's rule alone holds. An
assignment with a due date may also have a late penalty, in points per hour late (each hour or part of one),
at most what the assignment's nbgrader-marked cells are worth (refused on an assignment with none: no worth is
known, and there is no score to take it from),
taken once per submission from the score nbgrader holds (nbgrader is told the due date and each submission's
time, so its lateness is ours; :class:`astrohub_hub.grading.Deadline`), worked out again whenever the gradebook is
read or feedback is returned, so a grade changed by hand in formgrader moves it; the gradebook shows the points
it takes.
A student may have an extension on one assignment (:meth:`Teaching.extend`: a date after the due date, as
nbgrader's per-submission ``extension``): their own due date, the later of the two, is the one their lateness,
refusal of late work and late penalty are measured against (an exam's window still decides alone for the
assignments it names); clearing the due date takes the extensions back.

Bad input raises :class:`ClassError` (a ``HubError`` with an HTTP ``status``) naming the problem, and
changes nothing: every check runs before the first write. When the platform does not run users as
system users (not root), folders are created but no ACLs are set (documented: no isolation then).
Grading: an assignment whose notebooks are nbgrader-marked is released as nbgrader's students' version, and
``collect(..., grade=True)`` autogrades the collected work with nbgrader (:mod:`astrohub_hub.grading`: its steps
run as the class's grading identity, :meth:`Teaching._grading_identity`, which may write the course directory
``instructors/nbgrader/`` alone; the copies around them as the instructor) and puts each student's feedback page
where ``feedback`` returns it from. A class's grading steps take turns (:meth:`Teaching._grading_turn`).
An admin deletes a class (:meth:`Teaching.delete_class`): its folder and registry rows are kept aside, and an admin
brings them back (:meth:`Teaching.restore_class`), under its name or another.
May import the standard library, ``accounts``, ``atomic``, ``due_dates``, ``errors``, ``folders``, ``grading``,
``people`` and ``workspaces``.
"""

from __future__ import annotations

import calendar
import json
import logging
import math
import os
import pwd
import shutil
import sqlite3
import threading
import time
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from astrohub_hub import folders
from astrohub_hub.atomic import write_atomic
from astrohub_hub.errors import HubError
from astrohub_hub.due_dates import iso, late_seconds, lateness, own_due, parse_due, parse_duration
from astrohub_hub.accounts import SystemAccounts, ensure_system_user, kernel_username, remove_system_user
from astrohub_hub.grading import (Deadline, Grader, GradebookUnreadable, NoSteps, Steps, gradebook_has_student,
                                  rename_gradebook_student, total_points, uses_nbgrader)
from astrohub_hub.people import Actor, ClassError, People
from astrohub_hub.workspaces import Workspaces

__all__ = ["Actor", "ClassError", "Teaching"]

log = logging.getLogger("astrohub.classes")

#: Folders a submission leaves out: JupyterLab's checkpoints and Python's caches at any depth, as nbgrader's
#: ``CourseDirectory.ignore`` does, and the feedback returned into the assignment's folder, ``./feedback`` only
#: (nbgrader's ``feedback`` at any depth dropped a student's own ``notes/feedback/`` from her submission, unsaid).
SUBMIT_SKIPS = (".ipynb_checkpoints", "__pycache__", "./feedback")


def _submission_order(folder: Path) -> tuple[str, int]:
    """Sort key of a submission folder ``<UTC time>[-<n>]``: by time, then ``n`` as a number (``-10`` after ``-9``)."""
    stamp, n = folder.name[:19], folder.name[20:]  # 2026-12-05T06-45-22[-n]
    return stamp, int(n) if n.isdigit() else 1


def _submitted(at: str, submitted: float | None) -> float:
    """A submission's epoch time: stored since due dates exist, else read from its folder name ``<UTC time>[-n]``."""
    if submitted is not None:
        return submitted
    return float(calendar.timegm(time.strptime(at[:19], "%Y-%m-%dT%H-%M-%S")))


#: The last epoch second of year 9999: later ones are no date (``time.gmtime`` overflows, SQLite too).
_LAST_SECOND = 253402300799


def _epoch(value: object) -> bool:
    """Whether ``value`` is epoch seconds of a date from 1970 to 9999 (a number: not a boolean, not NaN)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= _LAST_SECOND


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t))


#: The class log's detail fields that name people (:func:`renamed_in_log`): lists of names, mappings keyed by
#: name, one name. Other fields (an assignment, a file, a time) are never a person, even when spelled like one.
_LOG_NAME_LISTS, _LOG_NAME_KEYS, _LOG_NAME = ("students", "users", "instructors", "released"), \
    ("collected", "grades", "scores"), ("student",)


def renamed_in_log(detail: str, old: str, new: str) -> str:
    """A class log entry's ``detail`` (JSON) with person ``old`` named ``new`` in the fields that name people
    (the feedback's ``students`` and ``scores``, a grading's ``grades``, a roster change's ``users`` ...)."""
    try:
        entry = json.loads(detail)
    except ValueError:
        return detail
    if not isinstance(entry, dict):
        return detail
    one = (lambda name: new if name == old else name)
    for key, value in entry.items():
        if key in _LOG_NAME_LISTS and isinstance(value, list):
            entry[key] = [one(v) for v in value]
        elif key in _LOG_NAME_KEYS and isinstance(value, dict):
            entry[key] = {one(k): v for k, v in value.items()}
        elif key in _LOG_NAME:
            entry[key] = one(value)
    return json.dumps(entry, sort_keys=True)


def _by_member(named: dict[str, list[str]]) -> str:
    """Members and what of theirs a message names, as a person reads it:
    ``ann: python3 (pid 12), jupyter-lab (pid 40); bob: bash (pid 7)``."""
    return "; ".join(f"{who}: {', '.join(items)}" for who, items in sorted(named.items()))


@dataclass
class Teaching:
    """Classes and workspaces on ``classes_root`` / ``workspaces_root`` (see the module docstring).

    ``user_exists(name)`` asks the hub whether a user exists; ``on_roster_change(class, role, users)``
    mirrors a roster to the hub's groups (``<class>-students`` / ``<class>-instructors``).
    """

    classes_root: Path
    workspaces_root: Path
    registry: Path
    accounts: SystemAccounts = field(default_factory=SystemAccounts)
    home_template: str = ""
    user_exists: Callable[[str], bool] = lambda name: True
    on_roster_change: Callable[[str, str, list[str]], None] = lambda cls, role, users: None
    #: Takes users out of the hub group ``<class>-<role>`` (``remove_members``).
    on_roster_remove: Callable[[str, str, list[str]], None] = lambda cls, role, users: None
    on_workspace_change: Callable[[str, list[str], list[str]], None] = lambda name, added, removed: None
    #: Sets hub group properties of the class's groups (``astrohub-profile``, ``astrohub-exam``), which the
    #: spawner reads at each start (``local.class_pins``; on Kubernetes ``kubernetes.profile_list``).
    on_class_properties: Callable[[str, dict], None] = lambda cls, properties: None
    #: Deletes the class's hub groups ``<class>-students`` and ``<class>-instructors`` (:meth:`delete_class`).
    on_class_delete: Callable[[str], None] = lambda cls: None
    #: The profile slugs the hub offers (``None``: not checked).
    profiles: tuple[str, ...] | None = None
    #: Where nbgrader's steps run (``grading.steps_from_environ``; None: a subprocess of the instructor).
    grading: Steps | None = None
    #: The folder of the home with a link per class (``~/classes/<class>``, the local spawner's ``classes_folder``),
    #: made as the member joins (:meth:`_link_class`); empty: none (on Kubernetes the pod mounts the class there).
    links_folder: str = ""
    #: The folder of the home with a link per class taught to its nbgrader course (``~/grading/<class>``, the local
    #: spawner's ``grading_folder``, made at each start), removed here when the class is deleted and made again when
    #: it is restored (:meth:`_link_course`); empty: none.
    course_links_folder: str = ""
    clock: Callable[[], float] = time.time
    _lock: threading.Lock = field(default_factory=threading.Lock)
    #: Held while an exam window changes and while :meth:`tick` freezes or thaws: the service ticks in one
    #: thread while a request changes the window in another (see :meth:`exam`).
    _exam_lock: threading.Lock = field(default_factory=threading.Lock)
    #: One grading step (release of an nbgrader version, autograde, feedback) of a class at a time
    #: (:meth:`_grading_turn`): ``{class: lock}``, and what holds each now, for the one who waits.
    _grading_locks: dict[str, threading.Lock] = field(default_factory=dict)
    _grading_now: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.classes_root, self.workspaces_root = Path(self.classes_root), Path(self.workspaces_root)
        self.registry = Path(self.registry)
        self.people = People(self.accounts, self.home_template, self.user_exists)
        self.workspaces = Workspaces(self.workspaces_root, self.registry, self.people, self.clock,
                                     on_members_change=self.on_workspace_change,
                                     links_folder=folders.WORKSPACE_LINKS if self.links_folder else "")
        if self.classes_root.is_dir():  # made 0755 (listable) by older versions
            folders.make_root(self.classes_root)
        self.registry.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._db()) as db, db:
            db.executescript("""
                CREATE TABLE IF NOT EXISTS classes (name TEXT PRIMARY KEY, profile TEXT, created REAL,
                                                    archived INTEGER NOT NULL DEFAULT 0);
                CREATE TABLE IF NOT EXISTS members (class TEXT, user TEXT, role TEXT, PRIMARY KEY (class, user));
                CREATE TABLE IF NOT EXISTS assignments (class TEXT, name TEXT, released REAL,
                                                        PRIMARY KEY (class, name));
                CREATE TABLE IF NOT EXISTS submissions (class TEXT, assignment TEXT, student TEXT, at TEXT,
                                                        files INTEGER);
                CREATE TABLE IF NOT EXISTS exams (class TEXT PRIMARY KEY, start REAL, end REAL,
                                                  frozen INTEGER NOT NULL DEFAULT 0);
                CREATE TABLE IF NOT EXISTS log (at REAL, actor TEXT, class TEXT, action TEXT, detail TEXT);
                CREATE TABLE IF NOT EXISTS released_files (class TEXT, assignment TEXT, path TEXT, sha256 TEXT,
                                                           PRIMARY KEY (class, assignment, path));
                CREATE TABLE IF NOT EXISTS grades (class TEXT, assignment TEXT, student TEXT, score REAL,
                                                   max_score REAL, submission TEXT, at REAL,
                                                   PRIMARY KEY (class, assignment, student));
                CREATE TABLE IF NOT EXISTS extensions (class TEXT, assignment TEXT, student TEXT, until REAL,
                                                       PRIMARY KEY (class, assignment, student));
            """)
            # Columns added since the first registries (an old registry gains them, its rows read as before):
            # an exam may name its assignments (JSON list; NULL: those first released before its end); an
            # assignment may have a due date (NULL: none) and refuse late work; a submission's epoch time
            # (NULL in old rows: read from its folder's name); an assignment's late penalty in points per hour
            # late (NULL: none) and the points nbgrader took from a grade. (A table added since, such as
            # extensions, is made above: CREATE TABLE IF NOT EXISTS.)
            for table, column, declaration in [("exams", "assignments", "TEXT"), ("assignments", "due", "REAL"),
                                               ("assignments", "refuse_late", "INTEGER NOT NULL DEFAULT 0"),
                                               ("submissions", "submitted", "REAL"),
                                               ("assignments", "late_penalty", "REAL"),
                                               ("grades", "late_penalty", "REAL")]:
                if column not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.registry, timeout=10)

    # -- checks -----------------------------------------------------------------------------------

    def _check_name(self, kind: str, name: str) -> str:
        return self.people.check_name(kind, name)

    def _check_users(self, users: Iterable[str], what: str) -> list[str]:
        return self.people.check_users(users, what)

    def _class(self, name: str, *, live: bool = True) -> dict:
        with closing(self._db()) as db:
            row = db.execute("SELECT name, profile, archived FROM classes WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise ClassError(f"no class {name!r}", status=404, code="unknown-class", value=name)
        if live and row[2]:
            raise ClassError(f"class {name!r} is archived: nothing can change", status=409, code="archived",
                             value=name)
        return {"name": row[0], "profile": row[1], "archived": bool(row[2])}

    def roster(self, name: str) -> dict[str, list[str]]:
        with closing(self._db()) as db:
            rows = db.execute("SELECT user, role FROM members WHERE class = ? ORDER BY user", (name,)).fetchall()
        return {"students": [u for u, r in rows if r == "student"],
                "instructors": [u for u, r in rows if r == "instructor"]}

    def _require(self, actor: Actor, cls: str, *roles: str) -> None:
        if actor.admin:
            return
        roster = self.roster(cls)
        if any(actor.name in roster[f"{role}s"] for role in roles):
            return
        who = " or ".join(f"{r}s" for r in roles)
        raise ClassError(f"{actor.name!r} may not do this in class {cls!r}: only its {who} (and admins)",
                         status=403, code="forbidden", value=actor.name)

    def _require_roster_editor(self, actor: Actor, cls: str, role: str, verb: str) -> None:
        """Who may ``verb`` (add, remove) members as ``role``: instructors only admins, students also the
        class's instructors."""
        if role == "instructor":
            if not actor.admin:
                raise ClassError(f"only admins {verb} instructors", status=403, code="forbidden", value=actor.name)
        else:
            self._require(actor, cls, "instructor")

    # -- disk ---------------------------------------------------------------------------------------

    def _system(self, user: str) -> str | None:
        return self.people.system(user)

    def _home(self, user: str) -> Path:
        return self.people.home(user)

    def _class_dirs(self, cls: str) -> dict[str, Path]:
        base = self.classes_root / cls
        return {"base": base, "materials": base / "materials", "instructors": base / "instructors",
                "submissions": base / "submissions"}

    def _make_class_dirs(self, cls: str) -> None:
        folders.make_root(self.classes_root)
        for path in self._class_dirs(cls).values():
            folders.make_shared_folder(path, 0o770)

    def _grant_class(self, cls: str, role: str, users: Iterable[str], *, frozen: bool = False) -> None:
        """Give ``users`` the access of ``role``; ``frozen``: the class's materials are frozen by an exam
        (:meth:`tick`), so an instructor gets them read-only too, until the thaw gives every instructor rwx."""
        if not self.accounts.enabled:
            return
        dirs = self._class_dirs(cls)
        for user in users:
            system = self._system(user)
            folders.grant(dirs["base"], system, "r-x", inherit=False)
            if role == "instructor":
                folders.grant(dirs["materials"], system, "r-x" if frozen else "rwx", recursive=True)
                folders.grant(dirs["instructors"], system, "rwx", recursive=True)
                folders.grant(dirs["submissions"], system, "r-x", recursive=True)
            else:
                folders.grant(dirs["materials"], system, "r-x", recursive=True)
                folders.grant(dirs["submissions"], system, "--x", inherit=False)
                mine = dirs["submissions"] / user
                folders.make_shared_folder(mine, 0o750)
                folders.grant(mine, system, "r-x", recursive=True)

    def _link_class(self, cls: str, users: Iterable[str], *, remove: bool = False) -> None:
        """``~/<links_folder>/<cls>``, a link to the class's folder, in each of ``users``' homes, made (``remove``:
        removed: the class is deleted) as them (``folders.link_as``), so a member whose server already runs finds the
        class in Lab's file browser at once; the spawner makes the same links at each start
        (``local.AstroLocalSpawner.class_links``). A removed member's link stays until then: Lab says they are no
        longer in the class (``astrohub_server.contents``) where a notebook of it is still open."""
        if not (self.links_folder and self.home_template):
            return
        target = str(self._class_dirs(cls)["base"])
        for user in users:
            folders.link_as(self._home(user) / self.links_folder, {cls: target}, self.classes_root,
                            self._system(user), remove=remove)

    def _link_course(self, cls: str, users: Iterable[str], *, remove: bool = False) -> None:
        """``~/<course_links_folder>/<cls>``, the link to the class's nbgrader course through which an instructor's
        formgrader serves it, in each of ``users``' homes, made (``remove``: removed) as them, at once: a running
        formgrader serves the course again (stops serving it) as the link comes back (goes), without a restart
        (``astrohub_server.formgrader``); the spawner makes the same links at each start (``taught_courses``)."""
        if not (self.course_links_folder and self.home_template):
            return
        course = str(self._class_dirs(cls)["instructors"] / "nbgrader")
        for user in users:
            folders.link_as(self._home(user) / self.course_links_folder, {cls: course}, self.classes_root,
                            self._system(user), remove=remove)

    # -- classes ------------------------------------------------------------------------------------

    def create_class(self, actor: Actor, name: str, *, instructors: Iterable[str] = (),
                     students: Iterable[str] = (), profile: str = "") -> dict:
        """Create class ``name`` with its folders and roster (admins only).

        The hub first: the ``profile`` pinned on the class's hub groups, then the roster as their members
        (``on_roster_change``). When the hub refuses either (ClassError 502), no class is made here (the
        instructors it already took leave the group again, best effort) and the admin runs it again.
        """
        if not actor.admin:
            raise ClassError("only admins create classes", status=403, code="forbidden", value=actor.name)
        self._check_name("class", name)
        instructors = self._check_users(instructors, f"class {name!r} instructors")
        students = self._check_users(students, f"class {name!r} students")
        both = sorted(set(instructors) & set(students))
        if both:
            raise ClassError(f"{both} cannot be both instructor and student of {name!r}", value=both)
        self._check_profile(profile)
        duplicate = ClassError(f"a class named {name!r} exists already: choose another name", status=409,
                               code="duplicate-class", value=name)
        with self._lock:  # classes are created one at a time: the check below holds until the INSERT
            with closing(self._db()) as db:
                if db.execute("SELECT 1 FROM classes WHERE name = ?", (name,)).fetchone():
                    raise duplicate
            if profile:  # the hub first: when it refuses the pin (ClassError 502), no class is made
                self.on_class_properties(name, {"astrohub-profile": profile})
            self.on_roster_change(name, "instructors", instructors)
            try:
                self.on_roster_change(name, "students", students)
            except ClassError:
                try:
                    self.on_roster_remove(name, "instructors", instructors)
                except ClassError as exc:
                    log.warning("class %s was not made, but its instructors stay in its hub group: %s", name, exc)
                raise
            with closing(self._db()) as db, db:
                try:
                    db.execute("INSERT INTO classes (name, profile, created) VALUES (?, ?, ?)",
                               (name, profile, self.clock()))
                except sqlite3.IntegrityError:
                    raise duplicate from None
                db.executemany("INSERT INTO members VALUES (?, ?, 'instructor')", [(name, u) for u in instructors])
                db.executemany("INSERT INTO members VALUES (?, ?, 'student')", [(name, u) for u in students])
            self._make_class_dirs(name)
            self._grant_class(name, "instructor", instructors)
            self._grant_class(name, "student", students)
        self._link_class(name, [*instructors, *students])
        self.record(actor, name, "create", {"instructors": instructors, "students": students, "profile": profile})
        return self.show(actor, name)

    def add_members(self, actor: Actor, cls: str, role: str, users: Iterable[str]) -> dict:
        """Add ``users`` as ``role`` (``student``: admins and instructors; ``instructor``: admins).

        Each gets ``~/classes/<class>`` at once (:meth:`_link_class`). A student added after assignments were released
        gets them at once, as last released, in ``~/<class>/<assignment>/`` (as :meth:`release` gives them; a
        returning student's own files are kept). An instructor gets ``~/grading/<class>`` at once
        (:meth:`_link_course`); formgrader serves it from their next server start, which the answer's ``message``
        says (a server loads formgrader, on one course, as it starts).

        During an exam's frozen window an instructor added gets the materials read-only, like the others,
        and read-write at the thaw. The hub first: they join the hub group ``<class>-<role>s`` (which gives the
        class's pinned profile), and when the hub refuses (ClassError 502) nothing changes here.
        """
        self._class(cls)
        self._require_roster_editor(actor, cls, role, "add")
        users = self._check_users(users, f"class {cls!r} {role}s")
        roster = self.roster(cls)
        other = "instructors" if role == "student" else "students"
        clash = sorted(set(users) & set(roster[other]))
        if clash:
            raise ClassError(f"{clash} are already {other} of {cls!r}", value=clash)
        # With the exam lock held, a tick cannot freeze or thaw between reading the state and the grant: a
        # member added during a frozen window gets the frozen access, and the thaw (which gives every
        # instructor on the roster rwx) finds them on the roster. (Lock order: exam lock, then the lock.)
        self.on_roster_change(cls, f"{role}s", users)
        with self._exam_lock, self._lock:
            with closing(self._db()) as db, db:
                db.executemany("INSERT OR IGNORE INTO members VALUES (?, ?, ?)", [(cls, u, role) for u in users])
            exam = self._exam(cls)
            self._grant_class(cls, role, users, frozen=exam is not None and exam[2])
        self._link_class(cls, users)
        given = self._release_to(cls, users) if role == "student" else {}
        self.record(actor, cls, f"add {role}s", {"users": users, **({"released": sorted(given)} if given else {})})
        answer = self.show(actor, cls)
        if role == "instructor":
            self._link_course(cls, users)
            if self.course_links_folder:
                answer["message"] = (
                    f"{users} teach {cls!r} now: ~/{self.course_links_folder}/{cls}, its nbgrader course, is in "
                    "their homes at once; Nbgrader → "
                    "Formgrader in their Lab serves the course from their next server start (a server running now "
                    "keeps the course it started with: File → Hub Control Panel → Stop My Server, then start it)")
        return answer

    def remove_members(self, actor: Actor, cls: str, role: str, users: Iterable[str]) -> dict:
        """Take ``users`` off the roster as ``role`` (a student who leaves: admins and instructors;
        ``instructor``: admins). Their access to the class's folders ends at once
        (:func:`astrohub_hub.folders.revoke`), they leave the hub group ``<class>-<role>s``; their
        submissions and grades stay with the class. Names not on the roster as ``role`` are refused.

        The hub first: when it refuses to take them out of the group (ClassError 502), they stay on the roster
        and keep their access, so the same removal can simply be run again (after a change here, a retry
        would be refused as 'not on the roster' while the hub still gave them the class's profile)."""
        self._class(cls)
        self._require_roster_editor(actor, cls, role, "remove")
        users = sorted({str(u).strip().lower() for u in users})
        if not users:
            raise ClassError("name at least one user to remove", value=users)
        strangers = [u for u in users if u not in self.roster(cls)[f"{role}s"]]
        if strangers:
            raise ClassError(f"{strangers} are not {role}s of class {cls!r}: nothing was changed", status=404,
                             code="not-on-roster", value=strangers)
        self.on_roster_remove(cls, f"{role}s", users)
        with self._lock:
            with closing(self._db()) as db, db:
                db.executemany("DELETE FROM members WHERE class = ? AND user = ? AND role = ?",
                               [(cls, u, role) for u in users])
            if self.accounts.enabled:
                for user in users:
                    folders.revoke(self._class_dirs(cls)["base"], self.accounts.name(user))
        self.record(actor, cls, f"remove {role}s", {"users": users})
        return self.show(actor, cls)

    #: The tables with a person's rows, and the column that names them (:meth:`rename_member`).
    _PERSON_COLUMNS = (("members", "user"), ("submissions", "student"), ("grades", "student"),
                       ("extensions", "student"))

    def rename_member(self, actor: Actor, old: str, new: str) -> dict:
        """The classes' side of an admin's rename of hub user ``old`` to ``new`` (admins; JupyterHub's admin page,
        *Edit User*, or ``PATCH /hub/api/users/<old>``, renames the hub user and its group memberships and tells
        nobody else): ``new`` takes ``old``'s place in every class that names them, as a member or as a former
        student with work handed in.

        In one registry transaction (all of it or nothing): the roster, submissions, grades, extensions and the
        class's log, its details (:func:`renamed_in_log`) and actor included, so the feedback returned to them and
        the scores it gave (:meth:`show` reads them from the log) are theirs under the new name. Before it, their
        folders of each class move to the new name: ``submissions/<old>/``,
        ``instructors/collected/<assignment>/<old>/`` and ``instructors/feedback/<assignment>/<old>/`` (moved back
        when the transaction fails). Then ``new``'s system user gets the member's access and
        ``~/classes/<class>`` link (an instructor's ``~/grading/<class>`` too), and ``old``'s access ends.

        Refused, changing nothing: a caller not an admin (403), an invalid name, ``new`` not a hub user (404: rename
        them on the hub first), ``old`` still a hub user (409: the hub's rename comes first, so two people are
        never one), ``old`` in no class (404 ``not-a-member``), ``new`` already named by one of those classes (409
        ``name-taken``), one of them being graded now (409 ``grading-busy``).

        A student's copies of the class's assignments, with the feedback returned there, are copied from
        ``~<old>/<class>/`` into the new name's home (:meth:`_copy_home_class`; the old home is left as it was).
        nbgrader's course folder follows too: its ``submitted/``, ``autograded/`` and ``feedback/`` folders of the
        student, and its gradebook's student id (:func:`astrohub_hub.grading.rename_gradebook_student`, renamed back
        when the registry's transaction fails), so hand grades given in formgrader stay theirs. Not moved: the rest
        of the old home.

        Their team workspaces follow in the same way (:mod:`astrohub_hub.workspaces`, ``rename_*``): ``new`` already
        in one of them is refused first (409 ``name-taken``), and so is ``new`` owning workspaces already and more
        than ``max_per_user`` with ``old``'s (409 ``too-many-workspaces``); the hub's group ``ws-<name>`` and its collaborators
        before the transaction (put back when it fails); the owner, members, readers, shares and collaborators in
        it; the folder's access and ``~/workspaces/<name>`` link after it (what fails there is named in the
        answer). Someone in workspaces only (no class) is renamed too."""
        if not actor.admin:
            raise ClassError("only admins rename people", status=403, code="forbidden", value=actor.name)
        old = self._check_name("user", str(old).strip().lower())
        new = self._check_users([new], f"renaming {old!r}: the new name")[0]
        if new == old:
            raise ClassError(f"{old!r} is already their name: nothing to rename", value=new)
        if self.user_exists(old):
            raise ClassError(f"{old!r} is still a hub user: rename them on the hub first (its admin page, Edit User, "
                             f"or PATCH /hub/api/users/{old}), then here", status=409, code="still-a-user", value=old)
        with closing(self._db()) as db:
            named = {c: set() for (c,) in db.execute(
                " UNION ".join(f"SELECT class FROM {t} WHERE {col} = ?" for t, col in self._PERSON_COLUMNS),
                (old,) * len(self._PERSON_COLUMNS))}
            for cls in named:
                for table, column in self._PERSON_COLUMNS:
                    if db.execute(f"SELECT 1 FROM {table} WHERE class = ? AND {column} = ?", (cls, new)).fetchone():
                        named[cls].add(table)
            roles = dict(db.execute("SELECT class, role FROM members WHERE user = ?", (old,)).fetchall())
        spaces = self.workspaces.rename_plan(old, new)  # 409 name-taken before anything changes
        if not named and not spaces:
            raise ClassError(f"{old!r} is in no class (nor has work handed in to one) and no workspace: nothing to "
                             "rename", status=404, code="not-a-member", value=old)
        taken = {cls: sorted(tables) for cls, tables in named.items() if tables}
        if taken:
            raise ClassError(f"{new!r} is named already in {taken} (class: registry tables): renaming {old!r} to it "
                             "would make two people one; nothing was changed", status=409, code="name-taken",
                             value=new)
        with ExitStack() as turns:
            for cls in sorted(named):  # no grading step writes their grades under the old name meanwhile
                turns.enter_context(self._grading_turn(actor, cls, f"rename of {old}", wait=False))
            moves = []
            for cls in sorted(named):
                dirs = self._class_dirs(cls)
                course = dirs["instructors"] / "nbgrader"
                if gradebook_has_student(course, new):
                    raise ClassError(f"nbgrader's gradebook of class {cls!r} has a student {new!r} already: renaming "
                                     f"{old!r} to it would mix two people's grades. Nothing was changed", status=409,
                                     code="name-taken", value=new)
                for place in [dirs["submissions"], course / "submitted", course / "autograded", course / "feedback",
                              *(p for kind in ("collected", "feedback")
                                for p in sorted((dirs["instructors"] / kind).glob("*")) if p.is_dir())]:
                    if os.path.isdir(place / old) and not os.path.islink(place / old):
                        if os.path.lexists(place / new):
                            raise ClassError(f"{place / new} exists already: renaming {old!r} to {new!r} would mix "
                                             "two people's work; move it away first. Nothing was changed",
                                             status=409, code="name-taken", value=new)
                        moves.append((place / old, place / new))
            undo_hub = self.workspaces.rename_on_hub(old, new, spaces)  # the hub first: a refusal changes nothing
            with self._exam_lock, self._lock:
                done, books = [], []
                try:
                    for source, target in moves:
                        source.rename(target)
                        done.append((source, target))
                    for cls in sorted(named):  # nbgrader's gradebook: hand grades stay hers
                        course = self._class_dirs(cls)["instructors"] / "nbgrader"
                        if rename_gradebook_student(course, old, new):
                            books.append(course)
                    with closing(self._db()) as db, db:  # one transaction: every row renamed, or none
                        for table, column in self._PERSON_COLUMNS:
                            db.execute(f"UPDATE {table} SET {column} = ? WHERE {column} = ?", (new, old))
                        # the log of the classes checked above only: elsewhere the new name may be another person
                        among = f"class IN ({', '.join('?' * len(named))})"
                        db.execute(f"UPDATE log SET actor = ? WHERE actor = ? AND {among}", (new, old, *named))
                        rows = db.execute(f"SELECT rowid, detail FROM log WHERE {among}", (*named,)).fetchall()
                        db.executemany("UPDATE log SET detail = ? WHERE rowid = ?", [
                            (text, rowid) for rowid, detail in rows
                            if (text := renamed_in_log(detail, old, new)) != detail])
                        self.workspaces.rename_rows(db, old, new)
                except BaseException:
                    undo_hub()
                    for course in books:
                        rename_gradebook_student(course, new, old)
                    for source, target in reversed(done):
                        target.rename(source)
                    raise
                for cls, role in roles.items():
                    exam = self._exam(cls)
                    self._grant_class(cls, role, [new], frozen=exam is not None and exam[2])
                    if self.accounts.enabled:
                        folders.revoke(self._class_dirs(cls)["base"], self.accounts.name(old))
        not_granted = self.workspaces.rename_access(old, new, spaces)
        copied, not_copied = [], []
        for cls, role in roles.items():
            self._link_class(cls, [new])
            if role == "instructor":  # formgrader serves it from their next server start, as a new instructor's
                self._link_course(cls, [new])
            elif self.home_template:
                try:
                    if self._copy_home_class(cls, old, new):
                        copied.append(cls)
                except HubError as exc:
                    not_copied.append(exc.message)
        for cls in sorted(named):
            self.record(actor, cls, "rename", {"from": old, "to": new})
        parts = [f"in {sorted(named)}: roster, submissions, grades, extensions, returned feedback and log"] if named \
            else []
        if spaces:
            parts.append(f"in workspace(s) {spaces}: owner, member or reader, shared server and collaboration, with "
                         f"the folder's access and ~{new}/workspaces/<name>")
        message = f"{old!r} is {new!r} now " + "; ".join(parts)
        if not_granted:
            message += "; renamed in the registry, but the folder's access not given (an operator gives it): " + \
                       "; ".join(not_granted)
        if copied:
            message += (f"; their copies of the assignments of {copied}, with the feedback returned to them, are in "
                        f"~{new}/<class>/ too (their files there kept; the old home is left as it was)")
        if not_copied:
            message += f"; not copied (an operator copies it): {'; '.join(not_copied)}"
        return {"from": old, "to": new, "classes": sorted(named), "workspaces": spaces, "copied": copied,
                "message": message}

    def _copy_home_class(self, cls: str, old: str, new: str) -> bool:
        """Copy ``~<old>/<cls>/`` (a student's copies of the class's assignments and the feedback returned there)
        into ``~<new>/<cls>/``, read as the old name's system user and written as the new one's, links not followed,
        the new home's files kept; whether there was anything to copy. :class:`HubError` when it cannot be."""
        source = self._home(old) / cls
        if not os.path.isdir(source) or os.path.islink(source):
            return False
        reader = None
        if self.accounts.enabled:
            try:
                reader = pwd.getpwnam(self.accounts.name(old)).pw_name
            except KeyError:
                reader = None  # no system user of the old name any more: read as the service
        data = folders.pack_as(source, reader, base=self._home(old))
        target = self._home(new) / cls
        folders.unpack_as(data, target, self._system(new), keep=True, base=self._home(new))
        return True

    def show(self, actor: Actor, cls: str, student: str | None = None) -> dict:
        """The class, its roster and assignments (admins, instructors); a student sees the class and assignments.

        ``deadlines`` gives each assignment's due date (``{"due": ISO 8601 or None, "refuse_late": bool,
        "late_penalty_per_hour": points, 0 for none}``), with, for the class's staff, ``extensions``
        (``{student: ISO 8601}``, the students' extensions), and for a student ``extended_until`` (their own
        extension, ``None``: none; their due date is the later of the two); each submission says whether it
        was ``late`` and by how many seconds (``late_seconds``: ``None`` without a due date), against its
        student's due date of the moment. ``student``: the class as that student sees it (the class's staff, to
        check what a student is told; a student may name only themselves). A student's view also lists the
        assignments whose ``feedback`` was returned to them (in ``~/<class>/<assignment>/feedback/``) and, for
        those graded, their ``scores`` (``{assignment: {score, max_score, late_penalty, needs_manual_grade}}``) as
        the feedback last returned gave them: as in nbgrader, a grade changed since reaches the student when
        feedback is returned again, and before the first return there is no score.
        """
        info = self._class(cls, live=False)
        self._require(actor, cls, "instructor", "student")
        roster = self.roster(cls)
        is_staff = actor.admin or actor.name in roster["instructors"]
        if student is not None:
            if not is_staff and student != actor.name:
                raise ClassError(f"{actor.name!r} may see only their own view of class {cls!r}, not {student!r}",
                                 status=403, code="forbidden", value=student)
            if student not in roster["students"]:
                raise ClassError(f"{student!r} is not a student of class {cls!r}: name one of its students "
                                 f"({', '.join(roster['students']) or 'none yet'})", code="not-a-student",
                                 value=student)
        elif not is_staff:
            student = actor.name
        with closing(self._db()) as db:
            rows = db.execute("SELECT name, due, refuse_late, late_penalty FROM assignments WHERE class = ? "
                              "ORDER BY released", (cls,)).fetchall()
            query = "SELECT assignment, student, at, submitted FROM submissions WHERE class = ? ORDER BY at"
            found = db.execute(query, (cls,)).fetchall()
        dues = {a: due for a, due, _, _ in rows}
        extensions = self._extensions(cls)
        submissions = []
        for a, who, at, when in found:
            late = late_seconds(own_due(dues.get(a), extensions.get((a, who))), _submitted(at, when))
            submissions.append({"assignment": a, "student": who, "at": at, "late": bool(late),
                                "late_seconds": late})
        deadlines = {}
        for a, due, refuse, penalty in rows:
            deadlines[a] = self._deadline_answer((due, bool(refuse), penalty))
            if student is None:
                deadlines[a]["extensions"] = {s: iso(t) for (b, s), t in sorted(extensions.items()) if b == a}
            else:
                mine = extensions.get((a, student))
                deadlines[a]["extended_until"] = None if mine is None else iso(mine)
        info.update(assignments=[r[0] for r in rows], folders={k: str(v) for k, v in self._class_dirs(cls).items()},
                    deadlines=deadlines)
        exam = self._exam(cls)
        info["exam"] = None if exam is None else {"start": _iso(exam[0]), "end": _iso(exam[1]), "frozen": exam[2],
                                                  "assignments": exam[3]}
        if student is None:
            info.update(roster)
            info["submissions"] = submissions
        else:
            info["instructors"] = roster["instructors"]
            info["submissions"] = [sub for sub in submissions if sub["student"] == student]
            # the assignments whose feedback was returned to her (the class's log says so: no look into her
            # home, where a link she planted would make a stat as the service tell her about other folders)
            with closing(self._db()) as db:
                returned = [json.loads(d) for (d,) in db.execute(
                    "SELECT detail FROM log WHERE class = ? AND action = 'feedback' ORDER BY rowid", (cls,))]
            mine = {d.get("assignment") for d in returned if student in d.get("students", ())}
            info["feedback"] = [a for a in info["assignments"] if a in mine]
            # her score as the feedback last returned to her gave it (nbgrader's way: grades may change until
            # then, and what she is told changes when feedback is returned again); no one else's
            scores = {}
            for d in returned:
                if student in d.get("students", ()):
                    scores[d.get("assignment")] = d.get("scores", {}).get(student)
            info["scores"] = {a: scores[a] for a in info["feedback"] if scores.get(a) is not None}
            if is_staff:
                info["student"] = student
        return info

    def classes_of(self, actor: Actor) -> list[dict]:
        """The classes ``actor`` is in (every class for admins), with their role."""
        with closing(self._db()) as db:
            if actor.admin:
                rows = db.execute("SELECT name, 'admin', archived FROM classes ORDER BY name").fetchall()
            else:
                rows = db.execute("SELECT c.name, m.role, c.archived FROM classes c JOIN members m ON "
                                  "m.class = c.name WHERE m.user = ? ORDER BY c.name", (actor.name,)).fetchall()
        return [{"name": n, "role": r, "archived": bool(a)} for n, r, a in rows]

    def left_classes(self, actor: Actor) -> list[dict]:
        """The classes ``actor`` was removed from as a student and is no member of now (not deleted ones), each
        with who removed them and when (the last removal): what their class page tells them, rather than that
        they were never in one."""
        if actor.admin:
            return []
        with closing(self._db()) as db:
            rows = db.execute(
                "SELECT l.class, l.actor, l.at, l.detail FROM log l JOIN classes c ON c.name = l.class "
                "WHERE l.action = 'remove students' AND NOT EXISTS (SELECT 1 FROM members m WHERE m.class = l.class "
                "AND m.user = ?) ORDER BY l.rowid", (actor.name,)).fetchall()
        left = {}
        for cls, by, at, detail in rows:
            if actor.name in json.loads(detail).get("users", []):
                left[cls] = {"name": cls, "by": by, "at": _iso(at)}
        return [left[c] for c in sorted(left)]

    #: What :meth:`archive` sets on an ended class's hub groups: no pinned profile, no exam window.
    ENDED_PROPERTIES = {"astrohub-profile": "", "astrohub-exam": None}

    def archive(self, actor: Actor, cls: str) -> dict:
        """Freeze a class (admins): no more changes or submissions; the folders and data stay.

        The class stops deciding its members' servers. The hub goes first: its groups lose the pinned profile and
        the exam window (:attr:`ENDED_PROPERTIES`), so a member of a class that goes on gets that class's pin or
        her own choice (``pins.class_pins``). The registry keeps the class's ``profile`` for the record. When the
        hub refuses (ClassError 502), the class is not archived: run it again."""
        if not actor.admin:
            raise ClassError("only admins archive classes", status=403, code="forbidden", value=actor.name)
        self._class(cls)
        self.on_class_properties(cls, dict(self.ENDED_PROPERTIES))
        with closing(self._db()) as db, db:
            db.execute("UPDATE classes SET archived = 1 WHERE name = ?", (cls,))
        self.record(actor, cls, "archive")
        return self.show(actor, cls)

    def _check_profile(self, profile: str) -> None:
        """ClassError 400 ``unknown-profile`` for a ``profile`` the hub does not offer (empty: none, fine)."""
        if profile and self.profiles is not None and profile not in self.profiles:
            choose = (f"choose one of {list(self.profiles)}" if self.profiles else
                      "it offers none (an operator adds them: the hub's profiles setting, astrohub.toml's "
                      "[profiles.<slug>] on the local platform)")
            raise ClassError(f"no profile {profile!r} is configured on this hub; {choose}, or none",
                             code="unknown-profile", value=profile)

    def pin_profile(self, actor: Actor, cls: str, profile: str) -> dict:
        """Pin ``profile`` on class ``cls`` (admins, as at :meth:`create_class`; empty: unpin), after it was made:
        its members' servers start with it from their next start. The hub first (the property ``astrohub-profile``
        of the class's groups): when it refuses (ClassError 502) nothing changes here."""
        if not actor.admin:
            raise ClassError("only admins pin a class's profile (it sets the resources of every member's server)",
                             status=403, code="forbidden", value=actor.name)
        self._class(cls)
        self._check_profile(profile)
        self.on_class_properties(cls, {"astrohub-profile": profile})
        with closing(self._db()) as db, db:
            db.execute("UPDATE classes SET profile = ? WHERE name = ?", (profile, cls))
        self.record(actor, cls, "profile", {"profile": profile})
        answer = self.show(actor, cls)
        answer["message"] = (f"class {cls!r}: " + (f"profile {profile!r} pinned" if profile else "no profile pinned")
                             + "; its members' servers get it from their next start (a running server keeps what "
                               "it started with)")
        return answer

    #: The registry's tables with a class's rows, as :meth:`delete_class` keeps them (``registry.json``).
    _CLASS_TABLES = ("classes", "members", "assignments", "submissions", "grades", "extensions", "exams",
                     "released_files", "log")

    def delete_class(self, actor: Actor, cls: str, *, force: bool = False) -> dict:
        """Delete (retire) class ``cls`` (admins; an archived class too): nobody reaches it any more, and its data is
        kept for the admins, as a deleted group's or workspace's is.

        Refused while one of its grading steps runs (409 ``grading-busy``), and, unless ``force``, while a member's
        process has its working folder or an open file in the class's folder (409 ``class-in-use``, naming whose
        and which: a kernel of a notebook opened from ``~/classes/<class>/``, a terminal ``cd``'d there), since
        the deletion ends those processes and their unsaved state is lost: the admin asks them to shut those down,
        or deletes with ``force`` and the answer names the processes ended. The hub first: its groups
        ``<class>-students`` and ``<class>-instructors`` are deleted (``on_class_delete``; a refusal is a
        ClassError 502 and the class stays: running it again finishes it). Then every member's and the grading
        identity's access to the class's folder is revoked (:func:`astrohub_hub.folders.revoke`: their processes
        holding it are ended, what they owned there is root's), the folder moves to
        ``<classes_root>/.deleted/<class>-<UTC time>/`` (root's only, :func:`astrohub_hub.folders.keep_deleted`) with
        the class's registry rows (roster, assignments, submissions, grades, extensions, exam, log) in
        ``registry.json`` and the files of its last releases in ``released/``, its rows leave the registry, the
        ``~/classes/<class>`` links go from the members' homes (their copies of assignments and feedback stay
        theirs), and the class's grading and kernel system users are removed with their homes. The name is free
        again."""
        if not actor.admin:
            raise ClassError("only admins delete classes (an instructor asks one; archiving keeps a class "
                             "read-only instead)", status=403, code="forbidden", value=actor.name)
        self._class(cls, live=False)
        with self._grading_turn(actor, cls, "deletion", wait=False):
            roster = self.roster(cls)
            people = sorted({*roster["students"], *roster["instructors"]})
            base = self._class_dirs(cls)["base"]
            if not force:
                self._refuse_in_use(cls, base, people)
            self.on_class_delete(cls)
            ended: dict[str, list[int]] = {}
            with self._exam_lock, self._lock:
                now = self.clock()
                if self.accounts.enabled and base.is_dir():
                    person = {self.accounts.name(p): p for p in people}
                    for system in folders.acl_users(base, self.accounts.prefix):  # members and the grading identity
                        if pids := folders.revoke(base, system):
                            ended[person.get(system, system)] = pids
                kept = folders.keep_deleted(base, now)
                if not kept.is_dir():  # a class whose folder was gone: its registry rows are kept all the same
                    kept.parent.mkdir(mode=0o700, exist_ok=True)
                    kept.mkdir(mode=0o700)
                with closing(self._db()) as db:
                    db.row_factory = sqlite3.Row
                    rows = {table: [dict(r) for r in db.execute(
                        f"SELECT * FROM {table} WHERE {'name' if table == 'classes' else 'class'} = ?", (cls,))]
                        for table in self._CLASS_TABLES}
                write_atomic(kept / "registry.json", json.dumps(rows, indent=1, sort_keys=True).encode(), mode=0o600)
                released = self.registry.parent / "released" / cls
                if released.is_dir():
                    released.rename(kept / "released")
                with closing(self._db()) as db, db:
                    for table in self._CLASS_TABLES:
                        db.execute(f"DELETE FROM {table} WHERE {'name' if table == 'classes' else 'class'} = ?",
                                   (cls,))
            self._link_class(cls, people, remove=True)  # the links would lead nowhere
            self._link_course(cls, roster["instructors"], remove=True)  # an instructor's ~/grading/<class> too
            removed, problems = [], []
            if self.accounts.enabled:
                grader = self.accounts.grader(cls)
                for name in (grader, kernel_username(grader)):
                    if not self._grading_account(name, cls):
                        continue
                    problem = remove_system_user(name)
                    if problem:
                        problems.append(problem)
                        continue
                    removed.append(name)
                    shutil.rmtree(self.classes_root / self.GRADING_HOMES / name, ignore_errors=True)
        log.info("class %s: deleted by %s; its folders and registry rows are kept at %s", cls, actor.name, kept)
        message = (f"class {cls!r} is deleted: {people} no longer reach its folders; its folders, submissions, grades "
                   f"and registry rows (registry.json) are kept for the platform's admins in {kept}")
        if removed:
            message += f"; its system users {removed} are removed"
        if problems:
            message += f"; not removed: {'; '.join(problems)} (an admin runs userdel when its processes have ended)"
        if ended:
            message += (f"; processes that held its files were ended: "
                        f"{_by_member({who: [f'pid {pid}' for pid in pids] for who, pids in ended.items()})}")
        return {"class": cls, "deleted": True, "kept": str(kept), "removed": people, "system_users_removed": removed,
                "ended": ended, "message": message}

    def _refuse_in_use(self, cls: str, base: Path, people: list[str]) -> None:
        """ClassError 409 ``class-in-use`` naming the members whose processes hold the class's folder ``base``
        (working folder or open file: :func:`astrohub_hub.folders.holding`), which its deletion would end."""
        if not (self.accounts.enabled and base.is_dir()):
            return
        busy = {}
        for person in people:
            try:
                uid = pwd.getpwnam(self.accounts.name(person)).pw_uid
            except KeyError:
                continue
            if named := folders.holding(base, uid):
                busy[person] = named
        if busy:
            raise ClassError(
                f"class {cls!r} is in use: these members' processes have their working folder or open files in it "
                f"(a notebook's kernel opened from the class's folder, a terminal there): {_by_member(busy)}. "
                "Deleting it ends those processes, and what they hold unsaved is lost: ask them to save and shut "
                "those down (Lab: Kernel → Shut Down Kernel, close the terminal), then delete again, or delete now "
                "with --force (the classes service: DELETE classes/<class>?force=1)", status=409,
                code="class-in-use", value=sorted(busy))

    def restore_class(self, actor: Actor, kept: str, as_name: str = "") -> dict:
        """Bring back the class deleted into ``<classes_root>/.deleted/<kept>/`` (admins): :meth:`delete_class` undone;
        ``as_name``: under that name instead of its own.

        Refused, changing nothing, for a name that is not one folder there (404 ``unknown-deleted-class``), a folder
        without a readable ``registry.json`` (409 ``unreadable-registry``), a class of the same name that exists now
        (409 ``duplicate-class``: delete it first, or restore under another name) and members who are no longer hub
        users (404 ``unknown-users``: add them first); under another name also when a student has something of
        that name in their home (409 ``home-folder-taken``). The hub first, as at :meth:`create_class`: the
        class's groups get their pinned profile and exam window back, then their members (a refusal is a ClassError
        502, nothing here changed: run it again). Then the registry rows of ``registry.json`` (roster, assignments,
        submissions, grades, extensions, exam, log) go back in, the folder back to ``<classes_root>/<class>/`` and
        its last releases to the registry's ``released/``; the members get their access again
        (:meth:`_grant_class`), their ``~/classes/<class>`` links and the instructors their ``~/grading/<class>``
        links (a running formgrader serves the course again at once), and the class's grading identity is made
        again when it had a course directory (:meth:`_grading_identity`). ``registry.json`` goes: its rows are the
        registry's again.

        Under another name, the class's name is changed wherever the platform keeps it: its registry rows, folder,
        releases, hub groups (``<new>-students``, ``<new>-instructors``), links, grading identity (made for the new
        name), and each student's copies of its assignments, ``~/<class>/`` renamed ``~/<new>/`` as the student
        (where submissions are taken from and feedback returned to). nbgrader's gradebook does not hold the name
        (its course id is nbgrader's default, and its paths are relative to the course directory), so the grades
        come along unchanged."""
        if not actor.admin:
            raise ClassError("only admins restore classes", status=403, code="forbidden", value=actor.name)
        deleted = self.classes_root / folders.DELETED
        if not kept or "/" in kept or kept.startswith(".") or not (deleted / kept).is_dir():
            raise ClassError(f"no deleted class {kept!r}: name a folder of {deleted} (its name is the class's and "
                             "the UTC time of its deletion, as the deletion answered)", status=404,
                             code="unknown-deleted-class", value=kept)
        source = deleted / kept
        try:
            rows = json.loads((source / "registry.json").read_text())
            old = rows["classes"][0]["name"]
            roster = {role: sorted(r["user"] for r in rows.get("members", []) if r["role"] == role)
                      for role in ("instructor", "student")}
        except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
            raise ClassError(f"{source / 'registry.json'} cannot be read ({exc!r}): the class's rows are unknown, so it "
                             "cannot be restored", status=409, code="unreadable-registry", value=kept) from None
        cls = self._check_name("class", as_name or old)
        if cls != old:  # every row names the class
            rows = {table: [{**row, ("name" if table == "classes" else "class"): cls} for row in table_rows]
                    for table, table_rows in rows.items()}
        duplicate = ClassError(f"a class named {cls!r} exists now: delete it (or move its folder) before restoring "
                               f"{kept!r}, or restore it under another name (--as NAME)", status=409,
                               code="duplicate-class", value=cls)
        base = self._class_dirs(cls)["base"]
        with closing(self._db()) as db:
            if db.execute("SELECT 1 FROM classes WHERE name = ?", (cls,)).fetchone() or os.path.lexists(base):
                raise duplicate
        instructors = self._check_users(roster["instructor"], f"class {cls!r} instructors")
        students = self._check_users(roster["student"], f"class {cls!r} students")
        moves = {}  # {student: (their copies of the class's assignments, under the new name)}
        if cls != old and self.home_template:
            for student in students:
                home = self._home(student)
                if os.path.isdir(home / old) and not os.path.islink(home / old):
                    moves[student] = (home / old, home / cls)
            taken = sorted(f"{new}" for _, new in moves.values() if os.path.lexists(new))
            if taken:
                raise ClassError(f"cannot restore {kept!r} as {cls!r}: its students' copies of its assignments would "
                                 f"move from ~/{old}/ to ~/{cls}/, and {taken} exist already: choose another name, or "
                                 "have them move those away", status=409, code="home-folder-taken", value=cls)
        properties = {}
        if rows["classes"][0].get("profile"):
            properties["astrohub-profile"] = rows["classes"][0]["profile"]
        for exam in rows.get("exams", []):
            properties["astrohub-exam"] = {"start": float(exam["start"]), "end": float(exam["end"])}
        if rows["classes"][0].get("archived"):  # an ended class pins nothing on its members' servers (archive)
            properties = {}
        if properties:
            self.on_class_properties(cls, properties)
        self.on_roster_change(cls, "instructors", instructors)
        self.on_roster_change(cls, "students", students)
        with self._exam_lock, self._lock:
            with closing(self._db()) as db, db:  # one transaction: every row back, or none
                if db.execute("SELECT 1 FROM classes WHERE name = ?", (cls,)).fetchone() or os.path.lexists(base):
                    raise duplicate
                for table in self._CLASS_TABLES:
                    columns = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
                    for row in rows.get(table, []):
                        keys = [k for k in row if k in columns]
                        db.execute(f"INSERT INTO {table} ({', '.join(keys)}) VALUES ({', '.join('?' * len(keys))})",
                                   [row[k] for k in keys])
                source.rename(base)
            released = self.registry.parent / "released" / cls
            if (base / "released").is_dir() and not os.path.lexists(released):
                released.parent.mkdir(parents=True, exist_ok=True)
                (base / "released").rename(released)
            (base / "registry.json").unlink()
            self._make_class_dirs(cls)
            exam = self._exam(cls)
            self._grant_class(cls, "instructor", instructors, frozen=exam is not None and exam[2])
            self._grant_class(cls, "student", students)
        not_moved = [problem for student, (old_copy, new_copy) in moves.items()
                     if (problem := folders.rename_as(old_copy, new_copy, self._system(student)))]
        if self.accounts.enabled and (self._class_dirs(cls)["instructors"] / "nbgrader").is_dir():
            self._grading_identity(cls)
        self._link_class(cls, [*instructors, *students])
        self._link_course(cls, instructors)
        self.record(actor, cls, "restore", {"from": kept, **({"as": cls} if cls != old else {})})
        answer = self.show(actor, cls)
        answer["message"] = (f"class {cls!r} is restored from {source}" + (f" (it was {old!r})" if cls != old else "")
                             + f": {instructors + students} reach it again, with its assignments, submissions, grades "
                             "and log")
        if moves:
            answer["message"] += f"; the students' copies of its assignments are in ~/{cls}/ now"
        if not_moved:
            answer["message"] += f"; not moved (the student moves it): {'; '.join(not_moved)}"
        return answer

    def _grading_account(self, name: str, cls: str) -> bool:
        """Whether system user ``name`` is one of class ``cls``'s grading identities (made by
        :meth:`_grading_identity`, which writes the class into its comment): never remove another's account."""
        try:
            gecos = pwd.getpwnam(name).pw_gecos
        except KeyError:
            return False
        return gecos in (self.GRADER_COMMENT.format(cls), self.KERNEL_COMMENT.format(cls))

    # -- exam mode and the action log ---------------------------------------------------------------

    def record(self, actor: Actor, cls: str, action: str, detail: dict | None = None) -> None:
        """Append to the class's action log (every change, and every refused submission)."""
        text = json.dumps(detail or {}, sort_keys=True)
        with closing(self._db()) as db, db:
            db.execute("INSERT INTO log VALUES (?, ?, ?, ?, ?)", (self.clock(), actor.name, cls, action, text))
        log.info("class %s: %s by %s %s", cls, action, actor.name, text)

    def actions(self, actor: Actor, cls: str) -> list[dict]:
        """The class's action log (admins and instructors)."""
        self._class(cls, live=False)
        self._require(actor, cls, "instructor")
        with closing(self._db()) as db:
            rows = db.execute("SELECT at, actor, action, detail FROM log WHERE class = ? ORDER BY rowid",
                              (cls,)).fetchall()
        return [{"at": _iso(a), "actor": who, "action": what, "detail": json.loads(d)} for a, who, what, d in rows]

    def exam(self, actor: Actor, cls: str, start: float, end: float,
             assignments: list[str] | None = None) -> dict:
        """Exam mode for ``[start, end]`` (epoch seconds): materials frozen inside the window, no
        submission after ``end`` to the exam's ``assignments`` (``None``: every assignment first released
        before ``end``; naming them leaves homework due after the exam open), every action logged. Admins
        and the class's instructors.

        The window is also the class's hub groups' ``astrohub-exam`` property (``on_class_properties``), set
        before anything here changes: when the hub refuses it, the ClassError 502 says so and the previous
        window (or none) stays, here and on the hub.
        """
        self._class(cls)
        self._require(actor, cls, "instructor")
        if not (_epoch(start) and _epoch(end)) or not start < end:
            raise ClassError(f"an exam needs start < end (epoch seconds of dates from 1970 to 9999), got "
                             f"start={start!r} end={end!r}")
        if assignments is not None:
            if not isinstance(assignments, list) or not assignments:
                raise ClassError(f"an exam's assignments are a non-empty list of names, got {assignments!r}",
                                 value=assignments)
            assignments = sorted({self._check_name("assignment", a) for a in assignments})
        # One step for a tick in another thread (the service's periodic one): the hub's copy of the window,
        # the new window, its log entry and the freeze or thaw it causes. Before, a tick between the window's
        # write and its log entry thawed first (log: 'materials thawed', 'exam'), or thawed as well as this one.
        # The hub is told first: when it refuses or cannot be reached (ClassError 502) the window is not
        # written, so nothing here claims an exam the users' servers never see; the instructor is told and
        # tries again (a retry at each tick would keep an exam the instructor was told had failed).
        with self._exam_lock:
            self.on_class_properties(cls, {"astrohub-exam": {"start": float(start), "end": float(end)}})
            with closing(self._db()) as db, db:
                db.execute("INSERT OR REPLACE INTO exams (class, start, end, frozen, assignments) VALUES (?, ?, ?, "
                           "COALESCE((SELECT frozen FROM exams WHERE class = ?), 0), ?)",
                           (cls, start, end, cls, None if assignments is None else json.dumps(assignments)))
            self.record(actor, cls, "exam", {"start": _iso(start), "end": _iso(end),
                                             **({} if assignments is None else {"assignments": assignments})})
            self._tick()
        return self.show(actor, cls)

    def _exam(self, cls: str) -> tuple[float, float, bool, list[str] | None] | None:
        """``(start, end, frozen, assignments)`` of the class's exam (assignments ``None``: not named)."""
        with closing(self._db()) as db:
            row = db.execute("SELECT start, end, frozen, assignments FROM exams WHERE class = ?",
                             (cls,)).fetchone()
        return None if row is None else (row[0], row[1], bool(row[2]), None if row[3] is None else json.loads(row[3]))

    def tick(self) -> None:
        """Freeze or thaw each exam's materials folder as its window opens and closes (the service
        calls this every few seconds, in a thread of its own); each change is done and logged once."""
        with self._exam_lock:
            self._tick()

    def _tick(self) -> None:
        """:meth:`tick`, with ``_exam_lock`` held."""
        now = self.clock()
        with closing(self._db()) as db:
            exams = db.execute("SELECT class, start, end, frozen FROM exams").fetchall()
        for cls, start, end, frozen in exams:
            inside = start <= now <= end
            if inside == bool(frozen):
                continue
            materials = self._class_dirs(cls)["materials"]
            if self.accounts.enabled:
                access = "r-x" if inside else "rwx"
                for user in self.roster(cls)["instructors"]:
                    folders.grant(materials, self.accounts.name(user), access, recursive=True)
            with closing(self._db()) as db, db:
                db.execute("UPDATE exams SET frozen = ? WHERE class = ?", (int(inside), cls))
            self.record(Actor("astrohub-classes"), cls, "materials frozen" if inside else "materials thawed")

    # -- assignments --------------------------------------------------------------------------------

    def release(self, actor: Actor, cls: str, assignment: str, *, due: str | None = None,
                refuse_late: bool | None = None, late_penalty_per_hour: float | None = None) -> dict:
        """Copy ``instructors/<assignment>/`` into every student's ``~/<class>/<assignment>/``.

        A student's files are kept, except a file of the previous release that they have not changed (the
        same SHA-256), which a re-release updates: releasing a fixed assignment reaches everyone who has not
        started on that file. The answer names the files written for each student. ``due`` (ISO 8601 with
        its time zone, in the future), ``refuse_late`` and ``late_penalty_per_hour`` set the assignment's due
        date and late penalty as :meth:`set_due` does; not given, a re-release keeps them.
        """
        self._class(cls)
        self._require(actor, cls, "instructor")
        self._check_name("assignment", assignment)
        source = self._class_dirs(cls)["instructors"] / assignment
        if not source.is_dir():
            raise ClassError(f"no folder {source}: put the assignment's notebooks there first", status=404,
                             code="unknown-assignment", value=assignment)
        deadline = self._new_deadline(cls, assignment, ... if due is None else due, refuse_late,
                                      late_penalty_per_hour)
        reader = self._system(actor.name) if not actor.admin else None
        waited: dict = {}
        if uses_nbgrader(source):  # students get nbgrader's version: no solutions, no hidden tests
            with self._grading_turn(actor, cls, f"release of {assignment}") as waited:
                source = self._grader(actor, cls).release_version(assignment, source, reader)
        data = folders.pack_as(source, reader, base=self._class_dirs(cls)["instructors"])
        with closing(self._db()) as db:  # what the last release gave: a student's unchanged copy is updated
            before = dict(db.execute("SELECT path, sha256 FROM released_files WHERE class = ? AND assignment = ?",
                                     (cls, assignment)).fetchall())
        released = {}
        for student in self.roster(cls)["students"]:
            target = self._home(student) / cls / assignment
            released[student] = folders.unpack_as(data, target, self._system(student), keep=True,
                                                  base=self._home(student), replace=before)
        self._keep_release(cls, assignment, data)
        with closing(self._db()) as db, db:
            db.executemany("INSERT OR REPLACE INTO released_files VALUES (?, ?, ?, ?)",
                           [(cls, assignment, p, h) for p, h in folders.tar_hashes(data).items()])
            # The first release's time stays: re-releasing a fixed assignment does not take it out of an exam.
            db.execute("INSERT OR IGNORE INTO assignments (class, name, released) VALUES (?, ?, ?)",
                       (cls, assignment, self.clock()))
            db.execute("UPDATE assignments SET due = ?, refuse_late = ?, late_penalty = ? WHERE class = ? AND "
                       "name = ?", (deadline[0], int(deadline[1]), deadline[2], cls, assignment))
        detail = {"assignment": assignment, "students": sorted(released)}
        if due is not None or refuse_late is not None or late_penalty_per_hour is not None:
            detail.update(self._deadline_answer(deadline))
        self.record(actor, cls, "release", detail)
        return {"class": cls, "assignment": assignment, "released": released, **self._deadline_answer(deadline),
                **waited}

    def _release_copy(self, cls: str, assignment: str) -> Path:
        """Where the service keeps the files of an assignment's latest release (beside the registry, readable
        by the service alone): a student added to the class later gets them (:meth:`add_members`)."""
        return self.registry.parent / "released" / cls / f"{assignment}.tar"

    def _keep_release(self, cls: str, assignment: str, data: bytes) -> None:
        path = self._release_copy(cls, assignment)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomic(path, data, mode=0o600)  # a reader sees the old release or the new one

    def _release_to(self, cls: str, students: Iterable[str]) -> dict[str, dict[str, list[str]]]:
        """Give ``students`` (just added) every assignment released so far, as last released; their files
        are kept, as a re-release keeps them. ``{assignment: {student: names written}}``."""
        with closing(self._db()) as db:
            names = [r[0] for r in db.execute("SELECT name FROM assignments WHERE class = ? ORDER BY released",
                                              (cls,))]
            hashes = {a: dict(db.execute("SELECT path, sha256 FROM released_files WHERE class = ? AND "
                                         "assignment = ?", (cls, a)).fetchall()) for a in names}
        given: dict[str, dict[str, list[str]]] = {}
        for assignment in names:
            kept = self._release_copy(cls, assignment)
            if not kept.is_file():  # released before the service kept releases: a re-release reaches them
                continue
            data = kept.read_bytes()
            for student in students:
                home = self._home(student)
                given.setdefault(assignment, {})[student] = folders.unpack_as(
                    data, home / cls / assignment, self._system(student), keep=True, base=home,
                    replace=hashes[assignment])
        return given

    @staticmethod
    def _deadline_answer(deadline: tuple[float | None, bool, float | None]) -> dict:
        """``(due, refuse_late, late_penalty)`` as answers say it: ``due`` in ISO 8601, penalty 0 for none."""
        return {"due": None if deadline[0] is None else iso(deadline[0]), "refuse_late": deadline[1],
                "late_penalty_per_hour": deadline[2] or 0.0}

    def _deadline(self, cls: str, assignment: str) -> tuple[float | None, bool, float | None]:
        """``(due, refuse_late, late_penalty)`` of an assignment (``(None, False, None)``: no due date, or never
        released; the penalty in points per hour late, ``None``: none)."""
        with closing(self._db()) as db:
            row = db.execute("SELECT due, refuse_late, late_penalty FROM assignments WHERE class = ? AND name = ?",
                             (cls, assignment)).fetchone()
        return (None, False, None) if row is None else (row[0], bool(row[1]), row[2] or None)

    def _new_deadline(self, cls: str, assignment: str, due, refuse_late,
                      penalty=None) -> tuple[float | None, bool, float | None]:
        """The assignment's ``(due, refuse_late, late_penalty)`` after a change, checked before anything is
        written.

        ``due``: ISO 8601 text, ``None`` to clear, ``...`` unchanged; ``refuse_late`` and ``penalty`` (points
        per hour late, 0: none): ``None`` unchanged. Clearing the due date clears ``refuse_late`` and the
        penalty; refusing late work and a penalty need a due date.
        """
        if refuse_late is not None and not isinstance(refuse_late, bool):
            raise ClassError(f"refuse_late is true or false, got {refuse_late!r}", code="bad-refuse-late",
                             value=refuse_late)
        if penalty is not None and (isinstance(penalty, bool) or not isinstance(penalty, (int, float))
                                    or not math.isfinite(penalty) or penalty < 0):
            raise ClassError(f"a late penalty is a number of points >= 0 taken per hour late (0: none), got "
                             f"{penalty!r}", code="bad-late-penalty", value=penalty)
        current = self._deadline(cls, assignment)
        when = current[0] if due is ... else None if due is None else parse_due(due, self.clock())
        if refuse_late and when is None:
            raise ClassError(f"assignment {assignment!r} of class {cls!r} has no due date: refusing late work "
                             "needs one (give the due date with it)", code="no-due-date", value=assignment)
        if penalty and when is None:
            raise ClassError(f"assignment {assignment!r} of class {cls!r} has no due date: a late penalty "
                             f"({penalty:g} points per hour late) needs one (give the due date with it)",
                             code="no-due-date", value=assignment)
        if penalty:  # the points come off nbgrader's score: without marked cells there is none to take them from
            worth = total_points(self._class_dirs(cls)["instructors"] / assignment)
            if worth is None:
                raise ClassError(f"a late penalty of {penalty:g} points per hour late needs to know what assignment "
                                 f"{assignment!r} is worth, and it has no nbgrader-marked notebook (no points, no "
                                 "score to take them from): mark its graded cells with nbgrader first, or refuse "
                                 "late work (refuse_late) instead", code="bad-late-penalty", value=penalty)
            if penalty > worth:  # more per hour than the whole assignment: any lateness would take everything
                raise ClassError(f"a late penalty of {penalty:g} points per hour late is more than assignment "
                                 f"{assignment!r} is worth ({worth:g} points, its nbgrader-marked cells): give at "
                                 f"most {worth:g}, or refuse late work (refuse_late)", code="bad-late-penalty",
                                 value=penalty)
        points = current[2] if penalty is None else float(penalty) or None
        return (when, when is not None and (current[1] if refuse_late is None else refuse_late),
                points if when is not None else None)

    def set_due(self, actor: Actor, cls: str, assignment: str, due=..., refuse_late: bool | None = None,
                late_penalty_per_hour: float | None = None) -> dict:
        """Set, change or clear (``due=None``) the due date of a released assignment (admins and the class's
        instructors).

        ``due`` is ISO 8601 with its time zone (``2026-12-10T17:00Z``) and in the future; ``...`` leaves it as
        it is. Work submitted after it is taken and marked late, or refused when ``refuse_late`` (kept when
        ``None``). ``late_penalty_per_hour`` (kept when ``None``; 0: none) is the points taken from a late
        submission's autograded score per hour late, or part of one: once per submission, however many
        notebooks it has, never more than its score (:mod:`astrohub_hub.grading`). Lateness is measured against
        the due date of the moment: a later due date (an extension) un-marks work that was late only against
        the earlier one. Clearing the due date takes back the students' extensions (:meth:`extend`).
        """
        self._class(cls)
        self._require(actor, cls, "instructor")
        self._check_name("assignment", assignment)
        with closing(self._db()) as db:
            known = db.execute("SELECT 1 FROM assignments WHERE class = ? AND name = ?", (cls, assignment)).fetchone()
        if known is None:
            raise ClassError(f"assignment {assignment!r} of class {cls!r} was never released: release it first "
                             "(release --due sets its due date at once)", status=404, code="unknown-assignment",
                             value=assignment)
        if due is ... and refuse_late is None and late_penalty_per_hour is None:
            raise ClassError("say what changes: a due date (ISO 8601 with its time zone), none to clear it, "
                             "whether late work is refused, or the late penalty", code="nothing-to-change",
                             value=assignment)
        deadline = self._new_deadline(cls, assignment, due, refuse_late, late_penalty_per_hour)
        with closing(self._db()) as db, db:
            db.execute("UPDATE assignments SET due = ?, refuse_late = ?, late_penalty = ? WHERE class = ? AND "
                       "name = ?", (deadline[0], int(deadline[1]), deadline[2], cls, assignment))
            if deadline[0] is None:  # no due date: nothing to extend (a new due date starts with none)
                db.execute("DELETE FROM extensions WHERE class = ? AND assignment = ?", (cls, assignment))
        answer = {"class": cls, "assignment": assignment, **self._deadline_answer(deadline)}
        self.record(actor, cls, "due", {"assignment": assignment, **self._deadline_answer(deadline)})
        return answer

    def _extensions(self, cls: str) -> dict[tuple[str, str], float]:
        """``{(assignment, student): extended until}`` (epoch seconds) of the class's extensions."""
        with closing(self._db()) as db:
            return {(a, s): t for a, s, t in db.execute(
                "SELECT assignment, student, until FROM extensions WHERE class = ?", (cls,))}

    def extend(self, actor: Actor, cls: str, assignment: str, student: str, until=..., by=...) -> dict:
        """Grant ``student`` an extension on ``assignment`` (admins and the class's instructors), or take it
        back (``until=None``); one of ``until`` (ISO 8601 with its time zone: after the assignment's due date
        and in the future) and ``by`` (a duration after the due date: ``2d``, ``36h``, ``1d12h``).

        Their own due date is then the later of the assignment's and the extension (moving the assignment's
        due date past it makes it moot): their lateness, the refusal of late work, the gradebook and the late
        penalty nbgrader takes (its submission's ``extension``) follow it. An exam that names the assignment
        still decides alone. A new grant replaces the last one (nbgrader's extensions do not stack either).
        The answer: ``{"class", "assignment", "student", "due", "extended_until"}`` (ISO 8601; ``None``: none).
        """
        self._class(cls)
        self._require(actor, cls, "instructor")
        self._check_name("assignment", assignment)
        self._assignment(cls, assignment)
        students = self.roster(cls)["students"]
        if not isinstance(student, str) or student not in students:
            raise ClassError(f"{student!r} is not a student of class {cls!r}: an extension is for one of its "
                             f"students ({', '.join(students) or 'none yet'})", code="not-a-student", value=student)
        if (until is ...) == (by is ...):
            raise ClassError("say how long: an extension until a date (ISO 8601 with its time zone), by a duration "
                             "after the due date (2d, 36h), or none to take it back; one of them",
                             code="bad-extension", value=None if until is ... else until)
        due = self._deadline(cls, assignment)[0]
        if due is None and until is not None:
            raise ClassError(f"assignment {assignment!r} of class {cls!r} has no due date: nothing to extend (set one "
                             "with `astrohub classes due`)", code="no-due-date", value=assignment)
        when: float | None = None
        if by is not ...:
            when = due + parse_duration(by)
            if when > _LAST_SECOND:
                raise ClassError(f"an extension by {by!r} from the due date {iso(due)} ends after the year 9999: "
                                 "give a shorter one, or a date", code="bad-duration", value=by)
            if when <= self.clock():
                raise ClassError(f"an extension by {by!r} from the due date {iso(due)} ends at {iso(when)}, which "
                                 f"has passed (now: {iso(self.clock())}): give a longer one, or a date",
                                 code="due-date-past", value=by)
        elif until is not None:
            when = parse_due(until, self.clock(), "extension date")
            if when <= due:
                raise ClassError(f"extension date {until!r} ({iso(when)}) is not after the due date of "
                                 f"{assignment!r}, {iso(due)}: give a later date, or none to take an extension back",
                                 code="extension-before-due", value=until)
        with closing(self._db()) as db, db:
            if when is None:
                db.execute("DELETE FROM extensions WHERE class = ? AND assignment = ? AND student = ?",
                           (cls, assignment, student))
            else:
                db.execute("INSERT OR REPLACE INTO extensions (class, assignment, student, until) VALUES (?, ?, ?, ?)",
                           (cls, assignment, student, when))
        answer = {"class": cls, "assignment": assignment, "student": student, "due": None if due is None else iso(due),
                  "extended_until": None if when is None else iso(when)}
        self.record(actor, cls, "extension", {k: answer[k] for k in ("assignment", "student", "extended_until")})
        return answer

    def _assignment(self, cls: str, assignment: str) -> float:
        """When ``assignment`` was first released (ClassError 404 when it never was)."""
        with closing(self._db()) as db:
            found = db.execute("SELECT released FROM assignments WHERE class = ? AND name = ?",
                               (cls, assignment)).fetchone()
        if found is None:
            raise ClassError(f"assignment {assignment!r} of class {cls!r} was not released", status=404,
                             code="unknown-assignment", value=assignment)
        return found[0]

    def submit(self, actor: Actor, cls: str, assignment: str) -> dict:
        """Copy the student's ``~/<class>/<assignment>/`` to a new timestamped submission folder (without the
        folders named in :data:`SUBMIT_SKIPS`: Lab's checkpoints, the returned ``feedback/``).

        After the student's due date (the assignment's, or their extension) the work is taken and marked late (the
        answer's ``note`` says by how much), or refused when the assignment refuses late work; an exam that names
        the assignment decides alone (its end is the deadline), and an ended exam refuses as before.
        """
        self._class(cls)
        if actor.name not in self.roster(cls)["students"]:
            raise ClassError(f"{actor.name!r} is not a student of class {cls!r}: only its students submit",
                             status=403, code="not-a-student", value=actor.name)
        released = self._assignment(cls, assignment)
        exam = self._exam(cls)
        now = self.clock()
        # An exam's deadline holds for the assignments it names, or (none named) for those first released
        # before it ended; homework released after the exam is not part of it.
        if exam is not None and now > exam[1] and (
                assignment in exam[3] if exam[3] is not None else released <= exam[1]):
            self.record(actor, cls, "late submission refused", {"assignment": assignment})
            raise ClassError(f"the exam of class {cls!r} ended at {_iso(exam[1])}: submissions after the "
                             "deadline are refused", status=403, code="deadline-passed", value=assignment)
        due, refuse_late, _ = self._deadline(cls, assignment)
        extended = self._extensions(cls).get((assignment, actor.name)) if due is not None else None
        mine = own_due(due, extended)
        yours = " with your extension" if mine != due else ""  # moot once the due date moved past it
        late = late_seconds(mine, now)
        named_by_exam = exam is not None and exam[3] is not None and assignment in exam[3]
        if late and refuse_late and not named_by_exam:
            self.record(actor, cls, "late submission refused", {"assignment": assignment, "due": iso(mine)})
            raise ClassError(f"assignment {assignment!r} of class {cls!r} was due at {iso(mine)}{yours} and takes no "
                             f"late work (this is {lateness(late)} late): ask an instructor for an extension",
                             status=403, code="past-due", value=assignment)
        source = self._home(actor.name) / cls / assignment
        if not source.is_dir():  # a stat as the service: says no more than that the folder is missing
            raise ClassError(f"nothing to submit: {source} is not a folder. Your work for {assignment!r} goes in "
                             f"~/{cls}/{assignment}/ (ask an instructor to release it again to get its files back)",
                             status=404, code="no-work", value=str(source))
        data = folders.pack_as(source, self._system(actor.name), base=self._home(actor.name), skip=SUBMIT_SKIPS)
        stamp = time.strftime("%Y-%m-%dT%H-%M-%S", time.gmtime(now))
        base = self._class_dirs(cls)["submissions"] / actor.name / assignment
        base.mkdir(parents=True, exist_ok=True)
        target, n = base / stamp, 1
        while True:  # made here, so two submissions at once (a double click) never share a folder
            try:
                target.mkdir()
                break
            except FileExistsError:
                n += 1
                target = base / f"{stamp}-{n}"
        files = folders.unpack_as(data, target, None, base=self._class_dirs(cls)["submissions"])
        with closing(self._db()) as db, db:
            db.execute("INSERT INTO submissions (class, assignment, student, at, files, submitted) "
                       "VALUES (?, ?, ?, ?, ?, ?)", (cls, assignment, actor.name, target.name, len(files), now))
        self.record(actor, cls, "submit", {"assignment": assignment, "at": target.name, "files": len(files),
                                           **({"late_seconds": late} if late else {})})
        if mine is None:
            note = None
        elif late:
            note = f"late by {lateness(late)} (due {iso(mine)}{yours}): taken, and marked late"
        else:
            note = f"on time (due {iso(mine)}{yours})"
        return {"class": cls, "assignment": assignment, "student": actor.name, "at": target.name, "files": files,
                "due": None if due is None else iso(due),
                "extended_until": None if extended is None else iso(extended), "late": bool(late),
                "late_seconds": late, "note": note}

    def _grader(self, actor: Actor, cls: str) -> Grader:
        """nbgrader on the class's ``instructors/nbgrader``: its steps as the class's grading identity
        (:meth:`_grading_identity`), the copies in and out of the course as the acting instructor (never as root)."""
        name = actor.name
        if actor.admin and name not in self.roster(cls)["instructors"]:  # an admin grades as the first instructor
            instructors = self.roster(cls)["instructors"]
            if not instructors:
                raise ClassError(f"class {cls!r} has no instructor: grading copies the work and the feedback as "
                                 "one; add an instructor first", status=409, code="no-instructor", value=cls)
            name = instructors[0]
        system = self._system(name)
        instructors = self._class_dirs(cls)["instructors"]
        return Grader(instructors / "nbgrader", system, instructors, self.grading,
                      runner=self._grading_identity(cls) if system else None)

    @contextmanager
    def _grading_turn(self, actor: Actor, cls: str, step: str, *, wait: bool = True) -> Iterator[dict]:
        """Hold class ``cls``'s grading turn for ``step``: its grading steps (release of an nbgrader version,
        collect, autograde, feedback) run one at a time, whoever asks.

        They share one course directory and gradebook, and on the local platform one kernel identity
        (:func:`astrohub_hub.accounts.kernel_username`), whose processes the kernel broker kills after each
        notebook (:class:`astrohub_hub.grading_kernels.KernelBroker`): a second autograde of the class running at
        the same time had its kernels killed by the first one's clean-up. A step that finds the turn taken waits
        for it (logged, and said in the answer: the dict yielded gets ``waited``); ``wait`` False: refused
        instead (ClassError 409 ``grading-busy``, naming what runs)."""
        with self._lock:
            turn = self._grading_locks.setdefault(cls, threading.Lock())
        waited = {}
        if not turn.acquire(blocking=False):
            busy = self._grading_now.get(cls, "another grading step")
            if not wait:
                raise ClassError(f"class {cls!r} is being graded now ({busy}): try again when it has finished",
                                 status=409, code="grading-busy", value=cls)
            log.info("class %s: %s by %s waits for %s to finish (one grading step of a class at a time)", cls,
                     step, actor.name, busy)
            began = time.monotonic()
            turn.acquire()
            waited["waited"] = (f"waited {time.monotonic() - began:.0f} s for {busy} to finish: a class's grading "
                                "steps run one at a time")
        self._grading_now[cls] = f"the {step} by {actor.name} started at {_iso(time.time())}"
        try:
            yield waited
        finally:
            self._grading_now.pop(cls, None)
            turn.release()

    #: The folder of the grading identities' homes, in ``classes_root`` (root's, 0711: each enters only its own).
    GRADING_HOMES = ".grading"
    #: The comment (GECOS) of a class's grading and kernel identities: which class's they are.
    GRADER_COMMENT, KERNEL_COMMENT = "astrohub grading of class {}", "astrohub grading kernels of class {}"

    def _grading_identity(self, cls: str) -> str:
        """The system user nbgrader's steps of class ``cls`` run as (they execute students' notebooks and the
        instructors' tests): :meth:`astrohub_hub.accounts.SystemAccounts.grader`, made at the class's first
        grading step (so a class made before it gets one then too) with ``useradd`` as the platform makes its
        users, a home of its own (``<classes_root>/.grading/<name>``, 0700) and, through ACL entries, ``--x`` on the
        class's folder and its instructors' folder and ``rwx`` on the course directory ``instructors/nbgrader``
        alone (inherited by what is made there; the course directory, made by the service when missing, is then
        root's). Nothing of any person's home, the class's other folders or another class is open to it."""
        name = self.accounts.grader(cls)
        dirs = self._class_dirs(cls)
        homes = self.classes_root / self.GRADING_HOMES
        homes.mkdir(mode=0o711, exist_ok=True)
        homes.chmod(0o711)
        home = homes / name
        comment = self.GRADER_COMMENT.format(cls)
        account = ensure_system_user(name, str(home), shell="/usr/sbin/nologin", comment=comment)
        if account.pw_gecos != comment:  # two classes' names cut to the same first letters and digest: never shared
            raise ClassError(f"system user {name!r}, which would grade class {cls!r}, exists already for something "
                             f"else ({account.pw_gecos!r}): rename the class, or remove that user", status=409,
                             code="grading-user-taken", value=name)
        folders.prepare_user_dirs(str(home), None, account)
        # The students' notebooks run as a second identity with no entry anywhere in the class and a home it cannot
        # write (root's, 0755): nothing it leaves outlives a kernel but in /tmp (grading.KernelBroker)
        kernel = kernel_username(name)
        kernel_home = homes / kernel
        kernel_comment = self.KERNEL_COMMENT.format(cls)
        kernel_account = ensure_system_user(kernel, str(kernel_home), shell="/usr/sbin/nologin",
                                            comment=kernel_comment)
        if kernel_account.pw_gecos != kernel_comment:
            raise ClassError(f"system user {kernel!r}, which would run class {cls!r}'s students' notebooks when "
                             f"autograded, exists already for something else ({kernel_account.pw_gecos!r}): rename "
                             "the class, or remove that user", status=409, code="grading-user-taken", value=kernel)
        os.chown(kernel_home, 0, 0)
        kernel_home.chmod(0o755)
        course = dirs["instructors"] / "nbgrader"
        if not course.is_dir():
            folders.make_shared_folder(course, 0o770)  # the instructors' entries are inherited from their folder
        if name not in folders.acl_users(course, self.accounts.prefix):  # first grading step, or an older class
            folders.grant(dirs["base"], name, "--x", inherit=False)
            folders.grant(dirs["instructors"], name, "--x", inherit=False)
            folders.grant(course, name, "rwx", recursive=True)
        return name

    def collect(self, actor: Actor, cls: str, assignment: str, grade: bool = False) -> dict:
        """Copy each student's latest submission to ``instructors/collected/<assignment>/<student>/``;
        ``grade``: then autograde them with nbgrader (nbgrader-marked assignments only), which is told the
        assignment's due date, each student's extension, each submission's time and the late penalty (scores are after
        it)."""
        self._class(cls, live=False)
        self._require(actor, cls, "instructor")
        self._assignment(cls, assignment)
        writer = None if actor.admin else self._system(actor.name)
        # the copies too: an autograde of the class reads the collected folders while it runs
        with self._grading_turn(actor, cls, f"{'autograde' if grade else 'collect'} of {assignment}") as waited:
            result = self._collect(actor, cls, assignment, writer, grade)
        if waited:
            result.update(waited)
        return result

    def _collect(self, actor: Actor, cls: str, assignment: str, writer: str | None, grade: bool) -> dict:
        """:meth:`collect`, with the class's grading turn held."""
        collected = {}
        for student in self.roster(cls)["students"]:
            base = self._class_dirs(cls)["submissions"] / student / assignment
            latest = sorted(base.iterdir(), key=_submission_order) if base.is_dir() else []
            if not latest:
                continue
            data = folders.pack_as(latest[-1], None, base=self._class_dirs(cls)["submissions"])
            dest = self._class_dirs(cls)["instructors"] / "collected" / assignment / student
            # exactly the latest submission: nothing of an earlier one the student has since deleted stays
            folders.unpack_as(data, dest, writer, base=self._class_dirs(cls)["instructors"], fresh=True)
            collected[student] = latest[-1].name
        missing = [s for s in self.roster(cls)["students"] if s not in collected]
        self.record(actor, cls, "collect", {"assignment": assignment, "collected": collected})
        result = {"class": cls, "assignment": assignment, "collected": collected, "missing": missing}
        if grade:
            instructors = self._class_dirs(cls)["instructors"]
            source = instructors / assignment
            if not uses_nbgrader(source):
                raise ClassError(f"{source} has no nbgrader-marked notebook: nothing to autograde (collected "
                                 "anyway)", status=409, code="not-nbgrader", value=assignment)
            grader = self._grader(actor, cls)
            work = {s: instructors / "collected" / assignment / s for s in collected}
            result["grades"] = grader.grade(assignment, work, source, writer,
                                            instructors / "feedback" / assignment,
                                            self._grading_deadline(cls, assignment, collected))
            with closing(self._db()) as db, db:
                db.executemany("INSERT OR REPLACE INTO grades (class, assignment, student, score, max_score, "
                               "submission, at, late_penalty) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
                                   (cls, assignment, s, g.get("score"), g.get("max_score"), collected.get(s),
                                    self.clock(), g.get("late_penalty"))
                                   for s, g in result["grades"].items()])
            self.record(actor, cls, "grade", {"assignment": assignment, "grades": {
                s: g.get("score") for s, g in result["grades"].items()}})
        return result

    def _grading_deadline(self, cls: str, assignment: str, graded: dict[str, str]) -> Deadline:
        """What nbgrader and the late penalty go by for the submissions ``graded`` (``{student: submission
        folder name}``): the assignment's due date and penalty as they are now, when each of those submissions
        was taken (nbgrader's ``timestamp.txt``) and the students' extensions."""
        due, _, penalty = self._deadline(cls, assignment)
        times = {}
        with closing(self._db()) as db:
            for student, at in graded.items():
                row = db.execute("SELECT submitted FROM submissions WHERE class = ? AND assignment = ? AND "
                                 "student = ? AND at = ?", (cls, assignment, student, at)).fetchone()
                times[student] = _submitted(at, None if row is None else row[0])
        extensions = {s: t for (a, s), t in self._extensions(cls).items() if a == assignment and s in graded}
        return Deadline(due, times, penalty or 0.0, extensions)

    def _graded(self, cls: str) -> dict[str, dict[str, str]]:
        """``{assignment: {student: the submission folder its last autograding graded}}``."""
        graded: dict[str, dict[str, str]] = {}
        with closing(self._db()) as db:
            for assignment, student, submission in db.execute(
                    "SELECT assignment, student, submission FROM grades WHERE class = ? AND submission IS NOT NULL",
                    (cls,)):
                graded.setdefault(assignment, {})[student] = submission
        return graded

    def _scores_now(self, actor: Actor, cls: str) -> dict[tuple[str, str], dict]:
        """The scores of the class's graded submissions (:meth:`_graded`) as nbgrader's gradebook holds them now
        (manual grades and extra credit included), less the late penalty worked out from them: ``{(assignment,
        student): {score, max_score, late_penalty, needs_manual_grade}}`` (a submission nbgrader has not is left
        out). Read with
        the acting instructor's permissions (an admin's request: the first instructor's, as nbgrader runs), so a
        link planted in the instructors' folder leads nowhere they could not read themselves."""
        instructors = self._class_dirs(cls)["instructors"]
        if not (instructors / "nbgrader" / "gradebook.db").is_file():
            return {}
        staff = self.roster(cls)["instructors"]
        reader_name = actor.name if not actor.admin or actor.name in staff else (staff[0] if staff else None)
        reader = self._system(reader_name) if reader_name else None
        graded = self._graded(cls)
        held = Grader(instructors / "nbgrader", None, instructors, self.grading).scores(sorted(graded), reader)
        now = {}
        for assignment, students in held.items():
            deadline = self._grading_deadline(cls, assignment, graded[assignment])
            for student, raw in students.items():
                if student in graded[assignment]:
                    taken = deadline.penalty(student, raw["raw_score"])
                    now[(assignment, student)] = {"score": raw["raw_score"] - taken, "max_score": raw["max_score"],
                                                  "late_penalty": taken,
                                                  "needs_manual_grade": raw["needs_manual_grade"]}
        return now

    #: The columns of :meth:`gradebook`'s rows, in order (the CSV export's header).
    GRADEBOOK_COLUMNS = ("student", "assignment", "submissions", "last_submission", "score", "max_score",
                         "graded_submission", "due", "late", "late_seconds", "late_penalty", "extended_until",
                         "needs_manual_grade", "on_roster", "last_submitted", "class")

    def gradebook(self, actor: Actor, cls: str, *, strict: bool = False) -> dict:
        """Who submitted what, and the scores (admins and the class's instructors).

        One row per student on the roster and released assignment, then per student who left the class with
        work handed in (``on_roster`` False: their submissions and grades stay with the class, as nbgrader's
        gradebook keeps them) (:attr:`GRADEBOOK_COLUMNS`): the number of
        submissions (0: none yet), the latest one's time, and the score of the submission the last autograding
        (``collect(..., grade=True)``) graded, as nbgrader's gradebook holds it when asked (so a grade an
        instructor gave or changed by hand in formgrader counts, and nbgrader's extra credit; ``None`` when not
        graded), with the submission it graded; the
        assignment's due date (ISO 8601, ``None``: none) and whether the latest submission came after it
        (``late``, ``late_seconds``; ``None`` when there is no submission or no due date); ``late_penalty``:
        the points the late penalty takes from the graded submission, once for all its notebooks, worked out
        from that score and the assignment's penalty as they are now (the score is after it, never below zero;
        ``None``: not graded); ``extended_until``: the student's extension (ISO 8601, ``None``: none), which
        ``late`` is measured against when it is later than ``due``; ``needs_manual_grade``: a cell of the graded
        submission still waits for a grade in formgrader (``None``: not graded). ``max_score`` is the assignment's
        worth on every row, graded or not (the most a graded submission of it could get, else what its
        nbgrader-marked notebooks are worth now; ``None``: it has none), so a student who handed nothing in reads
        as nothing of that; ``last_submitted`` is the latest submission's time in ISO 8601 UTC (``last_submission``
        names its folder, ``<UTC time>[-n]``, which a spreadsheet does not read as a time) and ``class`` the class,
        for a registrar who puts several classes' exports together.

        ``warning`` is ``None``, or says why nbgrader's gradebook could not be read (damaged, locked by a running
        autograde, missing) and that the scores are then those the last autograding recorded (hand grades given
        since are not in them); with ``strict`` (the CSV export, which has no room for the warning) that is
        :class:`~astrohub_hub.grading.GradebookUnreadable` (409) instead.
        """
        self._class(cls, live=False)
        self._require(actor, cls, "instructor")
        with closing(self._db()) as db:
            assignments = db.execute(
                "SELECT name, due FROM assignments WHERE class = ? ORDER BY released, name", (cls,)).fetchall()
            counts = {(a, s): (n, last, when) for a, s, n, last, when, _ in db.execute(  # SQLite: the MAX(rowid) row
                "SELECT assignment, student, COUNT(*), at, submitted, MAX(rowid) FROM submissions WHERE class = ? "
                "GROUP BY assignment, student", (cls,))}
            scores = {(a, s): (score, top, sub, penalty) for a, s, score, top, sub, penalty in db.execute(
                "SELECT assignment, student, score, max_score, submission, late_penalty FROM grades "
                "WHERE class = ?", (cls,))}
        extensions = self._extensions(cls)
        warning = None
        try:
            now = self._scores_now(actor, cls)
        except GradebookUnreadable as exc:
            if strict:
                raise
            now, warning = {}, f"{exc.message}. The scores shown are those the last autograding recorded."
        if warning is None and any(sub is not None for _, _, sub, _ in scores.values()) and \
                not (self._class_dirs(cls)["instructors"] / "nbgrader" / "gradebook.db").is_file():
            warning = (f"nbgrader's gradebook {self._class_dirs(cls)['instructors'] / 'nbgrader' / 'gradebook.db'} "
                       "is missing: the scores shown are those the last autograding recorded (hand grades given "
                       "in formgrader are not in them); restore the file, or autograde again")
            if strict:
                raise GradebookUnreadable(warning, value=str(self._class_dirs(cls)["instructors"] / "nbgrader"))
        worth = {a: max((top for (b, _), (_, top, _, _) in scores.items() if b == a and top is not None),
                        default=None) for a, _ in assignments}
        for a, top in worth.items():
            if top is None:  # nobody graded yet: what its nbgrader-marked notebooks are worth
                worth[a] = total_points(self._class_dirs(cls)["instructors"] / a)
        rows = []
        roster = self.roster(cls)["students"]
        former = sorted({s for _, s in counts} - set(roster))  # left the class with work handed in
        for student in [*roster, *former]:
            for assignment, due in assignments:
                extended = extensions.get((assignment, student)) if due is not None else None
                n, last, when = counts.get((assignment, student), (0, None, None))
                score, top, sub, penalty = scores.get((assignment, student), (None, None, None, None))
                if score is not None and penalty is None:  # graded before nbgrader was told the due date
                    penalty = 0.0
                manual = None
                if (assignment, student) in now:  # nbgrader's score of now, manual grades included
                    held = now[(assignment, student)]
                    score, top, penalty, manual = (held["score"], held["max_score"], held["late_penalty"],
                                                   held["needs_manual_grade"])
                late = None if last is None else late_seconds(own_due(due, extended), _submitted(last, when))
                rows.append(dict(zip(self.GRADEBOOK_COLUMNS, (
                    student, assignment, n, last, score, worth[assignment] if top is None else top, sub,
                    None if due is None else iso(due), None if late is None else bool(late), late, penalty,
                    None if extended is None else iso(extended), manual, student in roster,
                    None if last is None else iso(_submitted(last, when)), cls))))
        return {"class": cls, "columns": list(self.GRADEBOOK_COLUMNS), "rows": rows, "warning": warning}

    def return_feedback(self, actor: Actor, cls: str, assignment: str) -> dict:
        """Copy ``instructors/feedback/<assignment>/<student>/`` into ``~<student>/<class>/<assignment>/feedback/``.

        An autograded assignment's pages are generated again first (:meth:`astrohub_hub.grading.Grader.feedback`),
        from the grades nbgrader holds now (an instructor may have graded or changed cells in formgrader since),
        with the late penalty worked out again from them: each student's pages add up to their gradebook score.
        With grading off (:class:`astrohub_hub.grading.NoSteps`) the pages written before are returned as they are.
        The log's entry keeps each returned student's score as returned (what :meth:`show` tells that student)."""
        self._class(cls, live=False)
        self._require(actor, cls, "instructor")
        self._assignment(cls, assignment)
        reader = None if actor.admin else self._system(actor.name)
        graded = self._graded(cls).get(assignment)
        instructors = self._class_dirs(cls)["instructors"]
        waited: dict = {}
        regraded: dict = {}
        if graded and (instructors / "nbgrader" / "gradebook.db").is_file() and not isinstance(self.grading, NoSteps):
            # grades may have changed in formgrader since autograding: the penalty and the pages follow them
            with self._grading_turn(actor, cls, f"feedback of {assignment}") as waited:
                regraded = self._grader(actor, cls).feedback(assignment, sorted(graded),
                                                             self._grading_deadline(cls, assignment, graded),
                                                             instructors / "feedback" / assignment)
                with closing(self._db()) as db, db:
                    db.executemany("UPDATE grades SET score = ?, late_penalty = ? WHERE class = ? AND "
                                   "assignment = ? AND student = ?", [(g["score"], g["late_penalty"], cls,
                                                                       assignment, s) for s, g in regraded.items()])
        returned = {}
        for student in self.roster(cls)["students"]:
            source = self._class_dirs(cls)["instructors"] / "feedback" / assignment / student
            if not source.is_dir():
                continue
            data = folders.pack_as(source, reader, base=self._class_dirs(cls)["instructors"])
            target = self._home(student) / cls / assignment / "feedback"
            returned[student] = folders.unpack_as(data, target, self._system(student), base=self._home(student))
        # the scores the returned pages show, as each student's page will show them until feedback comes again
        with closing(self._db()) as db:
            held = {s: {"score": score, "max_score": top, "late_penalty": penalty or 0.0}
                    for s, score, top, penalty in db.execute(
                        "SELECT student, score, max_score, late_penalty FROM grades WHERE class = ? AND "
                        "assignment = ? AND score IS NOT NULL", (cls, assignment)) if s in returned}
        for student, score in held.items():
            score["needs_manual_grade"] = regraded.get(student, {}).get("needs_manual_grade")
        self.record(actor, cls, "feedback", {"assignment": assignment, "students": sorted(returned),
                                             "scores": held})
        return {"class": cls, "assignment": assignment, "returned": returned, **waited}
