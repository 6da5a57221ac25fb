"""Unit tests of grading by hand on the local platform: formgrader for a class's instructors only, on the
class's course through a link in the home (astrohub_hub.local, astrohub_hub.pins.taught_classes)."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest
from tornado import web

from astrohub_hub.local import (LAB_CONFIG_WITHOUT_FORMGRADER, LAB_CONFIG_WITHOUT_VALIDATE, AstroLocalSpawner, _apply_profile, _profile_form,
                                  lab_config_path, link_shared_folders)

PROFILES = [
    {"slug": "small", "display_name": "Small", "groups": [], "mem_limit": "1G", "cpu_limit": 1.0, "default": True},
    {"slug": "large", "display_name": "Large", "groups": [], "mem_limit": "8G", "cpu_limit": 4.0},
]


def make_spawner(name, groups, options=None):
    spawner = AstroLocalSpawner(run_as_system_users=False, profiles=PROFILES, home_template="/h/{username}")
    spawner.user = SimpleNamespace(name=name, groups=[SimpleNamespace(name=g) for g in groups])
    spawner.user_options = options or {}
    return spawner


def test_only_a_class_instructor_gets_formgrader_on_the_class_course_through_a_home_link(tmp_path):
    """formgrader is loaded for members of ``<class>-instructors`` (the class's folder present), on the course
    folder reached by ``~/grading/<class>`` (formgrader serves only a course under the server's root); the first
    class by name unless the spawn option ``grading`` names another; nobody else's server loads it."""
    for cls in ("b101", "a101"):
        (tmp_path / cls / "instructors").mkdir(parents=True)

    def spawner(name, groups, options=None):
        made = make_spawner(name, groups, options)
        made.classes_root = str(tmp_path)
        return made

    # formgrader as astrohub_server.formgrader (no configuration from the shared course folder), nbgrader's own off
    formgrader = "--ServerApp.jpserver_extensions=astrohub_server.formgrader"
    nbgraders = "--ServerApp.jpserver_extensions=nbgrader.server_extensions.formgrader"
    teacher = spawner("tina", ["b101-instructors", "a101-instructors", "team-instructors", "a101-students"])
    assert teacher.taught_courses() == {c: str(tmp_path / c / "instructors" / "nbgrader") for c in ("a101", "b101")}
    args = teacher.get_args()
    assert f"{formgrader}=True" in args and f"{nbgraders}=False" in args and f"{nbgraders}=True" not in args
    assert "--CourseDirectory.root=/h/tina/grading/a101" in args  # the first by name; team-* has no class folder
    # the class's other instructors share the course: nbgrader's steps from formgrader's pages write group-writable
    # files (with the class folder's ACLs: writable by each instructor, astrohub_hub.grading)
    assert "--CourseDirectory.groupshared=True" in args
    # Lab's Formgrader tab frames /formgrader: same-origin framing allowed on an instructor's server only
    assert """--ServerApp.tornado_settings={"headers": {"Content-Security-Policy": "frame-ancestors 'self'"}}""" in args
    chosen = spawner("tina", ["b101-instructors", "a101-instructors"], {"grading": "b101"})
    assert "--CourseDirectory.root=/h/tina/grading/b101" in chosen.get_args()
    for student in (spawner("sam", ["a101-students"]), spawner("olga", []),
                    make_spawner("tina", ["a101-instructors"])):  # no classes_root: no formgrader either
        args = student.get_args()
        assert f"{nbgraders}=False" in args and not any(a.startswith(formgrader) for a in args)
        assert not any(a.startswith("--CourseDirectory") for a in args)
        assert not any(a.startswith("--ServerApp.tornado_settings") for a in args)
    form = _profile_form(teacher)  # the class to grade, for an instructor of several (one profile or more)
    assert '<select name="grading"><option value="a101">a101</option><option value="b101">b101</option>' in form
    assert teacher.options_from_form({"grading": ["b101"]}) == {"profile": "", "grading": "b101"}
    assert "grading" not in _profile_form(spawner("tom", ["a101-instructors"]))  # one class: no choice
    with pytest.raises(web.HTTPError, match=r"'sam' does not teach a class 'a101'; choose one of \[\]"):
        _apply_profile(spawner("sam", ["a101-students"], {"grading": "a101"}), {"grading": "a101"})


def test_course_links_are_made_kept_and_removed_and_a_users_own_file_is_left_alone(tmp_path):
    classes, folder = tmp_path / "classes", tmp_path / "home" / "grading"
    courses = {c: str(classes / c / "instructors" / "nbgrader") for c in ("a101", "b101", "gone")}
    link_shared_folders(str(folder), courses, str(classes))
    assert {p.name: os.readlink(p) for p in folder.iterdir()} == courses
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    (folder / "b101").unlink()
    (folder / "b101").write_text("mine")  # the user's own file under a class's name
    (folder / "a101").unlink()
    (folder / "a101").symlink_to("/elsewhere")  # a stale link: made again
    (folder / "notes").symlink_to("/elsewhere")  # a link of theirs outside the classes: kept
    link_shared_folders(str(folder), {c: courses[c] for c in ("a101", "b101")}, str(classes))
    assert sorted(p.name for p in folder.iterdir()) == ["a101", "b101", "notes"]  # "gone": no longer taught
    assert os.readlink(folder / "a101") == courses["a101"] and (folder / "b101").read_text() == "mine"
    link_shared_folders(str(folder), {}, str(classes))  # no class taught any more: the links go, theirs stay
    assert sorted(p.name for p in folder.iterdir()) == ["b101", "notes"]
    link_shared_folders(str(tmp_path / "other"), {}, str(classes))  # nor taught before: no folder is made
    assert not (tmp_path / "other").exists()
    (tmp_path / "file").write_text("")  # a file where the folder would go: nothing made, and no error
    link_shared_folders(str(tmp_path / "file" / "grading"), courses, str(classes))


def test_nbgrader_instructor_tools_are_off_in_lab_for_servers_without_formgrader(tmp_path, monkeypatch):
    """Who gets no formgrader gets a ``JUPYTER_CONFIG_PATH`` whose page config (read by JupyterLab's own reader)
    disables nbgrader's Nbgrader menu, Formgrader and Create Assignment plugins; a class's instructor does not."""
    from jupyterlab_server.config import get_static_page_config

    (tmp_path / "a101" / "instructors").mkdir(parents=True)
    monkeypatch.delenv("JUPYTER_CONFIG_PATH", raising=False)

    def env(name, groups):
        made = make_spawner(name, groups)
        made.classes_root = str(tmp_path)
        return made.user_env({"PATH": "/usr/bin"})

    assert LAB_CONFIG_WITHOUT_FORMGRADER not in env("tina", ["a101-instructors"]).get("JUPYTER_CONFIG_PATH", "")
    student = env("sam", ["a101-students"])["JUPYTER_CONFIG_PATH"]
    assert student.split(os.pathsep) == [LAB_CONFIG_WITHOUT_FORMGRADER]
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", student)
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "user-config"))  # no config of the developer's
    disabled = get_static_page_config(level="all")["disabledExtensions"]
    assert {name for name, off in disabled.items() if off} >= {
        "@jupyter/nbgrader:menu", "@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment"}
    assert lab_config_path(student, False) == student  # not added twice
    # nbgrader's Validate: a class's students only (server extension and Lab button); not their instructor's,
    # not a student of a class whose folder is gone, not anyone else's
    assert "@jupyter/nbgrader:validate-assignment" not in {name for name, off in disabled.items() if off}

    def validate_args(name, groups):
        made = make_spawner(name, groups)
        made.classes_root = str(tmp_path)
        return made.get_args()

    # rel9: nbgrader's own extension ran the notebook on the server's event loop; ours runs it beside the server
    sam = validate_args("sam", ["a101-students"])
    assert "--ServerApp.jpserver_extensions=astrohub_server.validate=True" in sam
    assert "--ServerApp.jpserver_extensions=nbgrader.server_extensions.validate_assignment=False" in sam
    for name, groups in [("tina", ["a101-instructors"]), ("old", ["gone-students"]), ("ann", [])]:
        args = validate_args(name, groups)
        assert "--ServerApp.jpserver_extensions=nbgrader.server_extensions.validate_assignment=False" in args, name
        assert "--ServerApp.jpserver_extensions=astrohub_server.validate=True" not in args, name
        monkeypatch.delenv("JUPYTER_CONFIG_PATH", raising=False)
        assert LAB_CONFIG_WITHOUT_VALIDATE in env(name, groups)["JUPYTER_CONFIG_PATH"].split(os.pathsep), name
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", env("tina", ["a101-instructors"])["JUPYTER_CONFIG_PATH"])
    disabled = get_static_page_config(level="all")["disabledExtensions"]
    assert disabled.get("@jupyter/nbgrader:validate-assignment") is True


def test_the_user_image_turns_off_the_same_nbgrader_plugins_for_everyone():
    """On Kubernetes nobody loads formgrader: the user image disables and locks the plugins the local platform
    disables for servers without it (one list in the Dockerfile, the same as the page config's)."""
    import json
    import re
    from pathlib import Path

    config = json.loads(Path(LAB_CONFIG_WITHOUT_FORMGRADER, "labconfig", "page_config.json").read_text())
    dockerfile = (Path(__file__).resolve().parents[2] / "images" / "user" / "Dockerfile").read_text()
    listed = re.search(r'^ARG NBGRADER_INSTRUCTOR_PLUGINS="([^"]*)"', dockerfile, re.M).group(1).split()
    assert set(listed) == set(config["disabledExtensions"]) == set(config["lockedExtensions"])
    for verb in ("disable", "lock"):
        assert f"jupyter labextension {verb} --level=sys_prefix $NBGRADER_INSTRUCTOR_PLUGINS" in dockerfile


def test_a_spawn_reads_the_classes_taught_once(tmp_path, monkeypatch):
    """The course links (``make_preexec_fn``), Lab's instructor tools (``user_env``) and formgrader's course
    (``get_args``) each worked out the classes taught again (three listings of the classes' folders per spawn,
    which could disagree if a class changed meanwhile): ``start`` reads them once, for all three."""
    import asyncio

    import astrohub_hub.local as local
    from jupyterhub.spawner import LocalProcessSpawner

    (tmp_path / "a101" / "instructors").mkdir(parents=True)
    reads = []
    counted = local.taught_classes
    monkeypatch.setattr(local, "taught_classes", lambda groups: reads.append(1) or counted(groups))
    seen = {}

    async def start(self):  # what LocalProcessSpawner.start asks of ours before it starts the process
        seen["preexec"] = self.make_preexec_fn(self.user.name)
        seen["env"] = self.user_env({})
        seen["args"] = self.get_args()
        return "127.0.0.1", 1

    async def listening(self, ip, port):
        return True

    monkeypatch.setattr(LocalProcessSpawner, "start", start)
    monkeypatch.setattr(AstroLocalSpawner, "prepare", lambda self: None)
    monkeypatch.setattr(AstroLocalSpawner, "wait_listening", listening)
    teacher = make_spawner("tina", ["a101-instructors"])
    teacher.classes_root = str(tmp_path)
    assert asyncio.run(teacher.start()) == ("127.0.0.1", 1)
    assert len(reads) == 1, f"the classes taught were read {len(reads)} times in one spawn"
    assert "--CourseDirectory.root=/h/tina/grading/a101" in seen["args"]
    assert teacher.taught_courses() == {"a101": str(tmp_path / "a101" / "instructors" / "nbgrader")}  # fresh again

    # A student's Validate (the Lab button in user_env, the server extension in get_args): read once as well.
    studied_reads = []
    studied = local.studied_classes
    monkeypatch.setattr(local, "studied_classes", lambda groups: studied_reads.append(1) or studied(groups))
    student = make_spawner("sam", ["a101-students"])
    student.classes_root = str(tmp_path)
    assert asyncio.run(student.start()) == ("127.0.0.1", 1)
    assert len(studied_reads) == 1, f"the classes studied were read {len(studied_reads)} times in one spawn"
    assert "--ServerApp.jpserver_extensions=astrohub_server.validate=True" in seen["args"]


def test_a_class_members_home_links_the_class_folder_so_lab_reaches_its_materials(tmp_path, monkeypatch):
    """JupyterLab's file browser shows only the home: a student could not open the class's materials, nor an
    instructor the ``instructors/`` folder where assignments are written, without a terminal. The server's process
    links ``~/classes/<class>`` to each class the user teaches or takes (its folder present), before it starts."""
    for cls in ("a101", "b101"):
        for folder in ("materials", "instructors"):
            (tmp_path / "classes" / cls / folder).mkdir(parents=True)
    home = tmp_path / "h" / "tina"
    home.mkdir(parents=True)
    teacher = AstroLocalSpawner(run_as_system_users=False, profiles=PROFILES,
                                home_template=str(tmp_path / "h" / "{username}"))
    teacher.user = SimpleNamespace(name="tina", groups=[SimpleNamespace(name=g) for g in (
        "a101-students", "b101-instructors", "c101-students", "team")])  # c101: no folder on disk
    teacher.user_options = {}
    teacher.classes_root = str(tmp_path / "classes")
    monkeypatch.chdir(tmp_path)  # the preexec function changes into the home
    teacher.make_preexec_fn("tina")()
    links = home / "classes"
    assert {p.name: os.readlink(p) for p in links.iterdir()} == {
        c: str(tmp_path / "classes" / c) for c in ("a101", "b101")}
    assert (links / "a101" / "materials").is_dir()
    assert os.readlink(home / "grading" / "b101") == str(tmp_path / "classes" / "b101" / "instructors" / "nbgrader")


def test_a_home_links_the_users_own_groups_and_workspaces_as_the_roots_are_not_listable(tmp_path, monkeypatch):
    """privacy14: ``~/groups`` and ``~/workspaces`` were links to the whole roots, which every user listed (mode 0755):
    each group's and workspace's name was everyone's to read. The roots are 0711 now, and the server's process makes
    ``~/groups`` and ``~/workspaces`` folders holding a link per group of the user's (its folder there) and per
    workspace whose folder lets them in, replacing the old link to the root. Root passes every permission check, so
    os.access says which workspace folders let tina in."""
    groups, spaces = tmp_path / "groups", tmp_path / "workspaces"
    for folder in (groups / "team", groups / "rivals", spaces / "survey", spaces / "secret", spaces / ".deleted"):
        folder.mkdir(parents=True)
    home = tmp_path / "h" / "tina"
    home.mkdir(parents=True)
    (home / "groups").symlink_to(groups)  # what earlier versions linked
    spawner = AstroLocalSpawner(run_as_system_users=False, profiles=PROFILES,
                                home_template=str(tmp_path / "h" / "{username}"))
    spawner.user = SimpleNamespace(name="tina", groups=[SimpleNamespace(name=g) for g in ("team", "ghost")])
    spawner.user_options = {}
    spawner.groups_root, spawner.workspaces_root = str(groups), str(spaces)
    monkeypatch.chdir(tmp_path)  # the preexec function changes into the home
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: "secret" not in str(path) and real_access(path, mode))
    spawner.make_preexec_fn("tina")()
    assert not (home / "groups").is_symlink()
    assert {p.name: os.readlink(p) for p in (home / "groups").iterdir()} == {"team": str(groups / "team")}
    assert {p.name: os.readlink(p) for p in (home / "workspaces").iterdir()} == {"survey": str(spaces / "survey")}
    spawner.user.groups = []  # tina left the team: its link goes at the next start; the folder stays, for the next
    spawner.make_preexec_fn("tina")()
    assert list((home / "groups").iterdir()) == []


def test_a_running_formgrader_follows_its_course_to_the_class_s_new_name(tmp_path):
    """walk17c: a formgrader left running from before its class was renamed (restored under another name) kept
    ~/grading/<old name>, gone, until the server's next start. It finds the same course folder among the links
    beside it and serves it there (the gradebook with it); a course it served that is nowhere gives way to the
    one its link leads to now, and no course at all is said to be missing."""
    import logging

    from nbgrader.coursedir import CourseDirectory

    from astrohub_server.formgrader import _follow_course

    course, other = tmp_path / "classes" / "a101" / "nbgrader", tmp_path / "classes" / "b101" / "nbgrader"
    course.mkdir(parents=True), other.mkdir(parents=True)
    grading = tmp_path / "home" / "grading"
    grading.mkdir(parents=True)
    (grading / "b101").symlink_to(other)
    (grading / "a101").symlink_to(course)
    coursedir = CourseDirectory(root=str(grading / "a101"))
    settings = {"nbgrader_formgrader": SimpleNamespace(coursedir=coursedir, log=logging.getLogger("t"))}
    assert _follow_course(settings) and coursedir.root == str(grading / "a101")
    # the class is deleted (its link goes), then restored as a101-old: the same folder, under its new link
    (grading / "a101").unlink()
    assert not _follow_course(settings)
    renamed = tmp_path / "classes" / "a101-old" / "nbgrader"
    course.parent.rename(renamed.parent)
    (grading / "a101-old").symlink_to(renamed)
    assert _follow_course(settings) and coursedir.root == str(grading / "a101-old")
    assert coursedir.db_url == f"sqlite:///{grading / 'a101-old' / 'gradebook.db'}"
    assert _follow_course(settings) and coursedir.root == str(grading / "a101-old")  # it stays
    # that class goes for good: nothing to serve; a new course at its link is served from then on
    (grading / "a101-old").unlink()
    assert not _follow_course(settings) and coursedir.root == str(grading / "a101-old")
    (grading / "a101-old").symlink_to(other)
    assert _follow_course(settings) and coursedir.root == str(grading / "a101-old")


def test_formgrader_lists_what_the_class_page_released_with_its_due_date(tmp_path, monkeypatch):
    """teach21: formgrader listed every assignment as a "draft" (nbgrader's exchange, which the platform does not
    use, decides) and its due date as none until autograding. It asks the classes service, with the server's own
    token, which of the class's assignments were released and when they are due; while the service cannot say, the
    status is left empty (neither draft nor released)."""
    import logging

    from nbgrader.coursedir import CourseDirectory
    from stand_in_http import StandInHandler, serving_http  # tests/support/, on the path by tests/conftest.py

    from astrohub_server.classservice import ClassService
    from astrohub_server.formgrader import _class_api

    import sys

    monkeypatch.setenv("PATH", f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}")  # nbgrader runs alembic
    course = tmp_path / "grading" / "a101"
    for assignment in ("hw1", "hw2"):
        (course / "source" / assignment).mkdir(parents=True)
    asked = []

    class Service(StandInHandler):
        def do_GET(self):
            asked.append((self.path, self.headers["Authorization"]))
            self.answer(200, {"assignments": ["hw1"], "deadlines": {"hw1": {"due": "2030-01-10T17:00:00Z"}}})

    with serving_http(Service) as server:
        service = ClassService(f"http://127.0.0.1:{server.server_port}/api/", "server-token")
        api = _class_api(service)(CourseDirectory(root=str(course)), None)
        listed = {a["name"]: a for a in api.get_assignments()}
    assert asked == [("/api/classes/a101", "token server-token")]  # once for the listing
    assert (listed["hw1"]["status"], listed["hw2"]["status"]) == ("released", "draft")
    assert listed["hw1"]["duedate"] == "2030-01-10T17:00:00" and listed["hw2"]["duedate"] is None
    assert listed["hw1"]["display_duedate"].startswith("2030-01-10 17:00:00")
    # the service gone: nothing said of either, and the server's log says why
    api = _class_api(ClassService("http://127.0.0.1:9/api/", "t"))(CourseDirectory(root=str(course)), None)
    api.log = logging.getLogger("t")
    assert [a["status"] for a in api.get_assignments()] == [None, None]


def test_manage_students_lists_every_student_of_the_class(tmp_path, monkeypatch):
    """polish21: formgrader's Manage Students listed only the students nbgrader's gradebook had a record of (those
    autograded so far): an instructor looking for the rest of the class found them missing. Every student on the
    class's roster (the classes service's, asked once with the server's token) is listed, those not graded yet with
    no score; with the service gone, nbgrader's own list."""
    import logging
    import sys

    from nbgrader.api import Gradebook
    from nbgrader.coursedir import CourseDirectory
    from stand_in_http import StandInHandler, serving_http  # tests/support/, on the path by tests/conftest.py

    from astrohub_server.classservice import ClassService
    from astrohub_server.formgrader import _class_api

    monkeypatch.setenv("PATH", f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}")  # nbgrader runs alembic
    course = tmp_path / "grading" / "a101"
    (course / "source" / "hw1").mkdir(parents=True)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.add_student("bob")  # autograded: nbgrader has a record of bob
    asked = []

    class Service(StandInHandler):
        def do_GET(self):
            asked.append(self.path)
            self.answer(200, {"assignments": ["hw1"], "deadlines": {}, "students": ["ann", "bob", "cleo"],
                              "instructors": ["prof"]})

    with serving_http(Service) as server:
        service = ClassService(f"http://127.0.0.1:{server.server_port}/api/", "server-token")
        api = _class_api(service)(CourseDirectory(root=str(course)), None)
        students = api.get_students()
        assert [a["status"] for a in api.get_assignments()] == ["released"]  # the same answer serves both
        assert api.get_student("ann")["id"] == "ann" and api.get_student("zed") is None  # ann's page, not a 404
        assert [(sub["name"], sub["submitted"]) for sub in api.get_student_submissions("ann")] == [("hw1", False)]
    assert [s["id"] for s in students] == ["ann", "bob", "cleo"]
    assert asked == ["/api/classes/a101"]
    assert {s["id"]: s["score"] for s in students} == {"ann": 0.0, "bob": 0.0, "cleo": 0.0}
    api = _class_api(ClassService("http://127.0.0.1:9/api/", "t"))(CourseDirectory(root=str(course)), None)
    api.log = logging.getLogger("t")
    assert [s["id"] for s in api.get_students()] == ["bob"]
