"""``astrohub classes ...`` / ``astrohub workspaces ...`` build every service path one way: a class, assignment
or workspace name is one quoted path segment, whichever verb names it.

Runs the real command (:func:`platform_lib.cli.main`) with the hub service stood in for by a recorder of the
calls (the real service answering such a name is tests/integration/test_platform_classes.py).
"""

from __future__ import annotations

import argparse

import pytest

import platform_lib.cli.classes as cli_classes
from platform_lib.cli import build_parser, main

#: Each verb that names a class (workspace), with its other arguments; ``{n}`` is the name, ``{a}`` an assignment.
VERBS = {
    ("classes", "add-students"): ["{n}", "--users", "ann"],
    ("classes", "add-instructors"): ["{n}", "--users", "prof"],
    ("classes", "remove-students"): ["{n}", "--users", "ann"],
    ("classes", "remove-instructors"): ["{n}", "--users", "prof"],
    ("classes", "show"): ["{n}"],
    ("classes", "archive"): ["{n}"],
    ("classes", "delete"): ["{n}"],
    ("classes", "restore"): ["{n}"],
    ("classes", "profile"): ["{n}", "lab"],
    ("classes", "release"): ["{n}", "{a}"],
    ("classes", "collect"): ["{n}", "{a}", "--grade"],
    ("classes", "feedback"): ["{n}", "{a}"],
    ("classes", "due"): ["{n}", "{a}", "none"],
    ("classes", "extend"): ["{n}", "{a}", "ann", "--by", "2d"],
    ("classes", "exam"): ["{n}", "--start", "2026-12-04T14:00Z", "--end", "2026-12-04T16:00Z"],
    ("classes", "grades"): ["{n}"],
    ("classes", "log"): ["{n}"],
    ("workspaces", "members"): ["{n}", "--add", "bob"],
    ("workspaces", "show"): ["{n}"],
    ("workspaces", "delete"): ["{n}"],
}
#: Verbs whose name goes in the request's body, not its path.
BODY_ONLY = {("classes", "create"), ("workspaces", "create")}
#: Verbs that name a person, not a class: their own tests below.
PEOPLE = {("classes", "rename-member")}


class Recorder:
    """Stands in for ``HubAdmin``: records each service call and answers like the gradebook (for ``grades``)."""

    config = None

    def __init__(self):
        self.calls = []

    def service(self, method, path, body=None):
        self.calls.append((method, path))
        return {"columns": [], "rows": []}


@pytest.fixture
def sent(monkeypatch):
    """The service calls the command makes, each ``(method, path, body)``, each answered ``{}``."""
    calls = []

    class Bodies(Recorder):
        def service(self, method, path, body=None):
            calls.append((method, path, body))
            return {}

    monkeypatch.setattr(cli_classes, "_admin", lambda args: Bodies())
    return calls


def test_every_verb_that_names_a_class_is_listed_here():
    """A new verb is checked too: it must be added to VERBS (or BODY_ONLY)."""
    parser = build_parser()
    groups = {a.dest: a for a in parser._actions if isinstance(a, argparse._SubParsersAction)}["command"].choices
    verbs = {(group, verb) for group in ("classes", "workspaces")
             for action in groups[group]._actions if isinstance(action, argparse._SubParsersAction)
             for verb in action.choices}
    assert verbs == set(VERBS) | BODY_ONLY | PEOPLE


@pytest.mark.parametrize(("name", "quoted"), [("a/b c", "a%2Fb%20c"), ("..", "%2E%2E"), ("c?x=1", "c%3Fx%3D1")])
@pytest.mark.parametrize("verb", sorted(VERBS))
def test_a_name_is_one_quoted_path_segment_whichever_verb_names_it(monkeypatch, tmp_path, capsys, verb, name,
                                                                    quoted):
    """``remove-students``, ``remove-instructors`` and ``grades`` put the raw name in the path: ``a/b`` or
    ``..`` reached another route of the service instead of its own refusal of the name."""
    recorder = Recorder()
    monkeypatch.setattr(cli_classes, "_admin", lambda args: recorder)
    argv = [*verb, *(arg.format(n=name, a=name) for arg in VERBS[verb]), "--data-dir", str(tmp_path)]
    assert main(argv) == 0
    [(method, path)] = recorder.calls
    group, rest = path.split("/", 1)
    assert group == verb[0] and rest.split("/")[0] == quoted, path
    if "{a}" in VERBS[verb]:
        assert path.split("?")[0].split("/")[3] == quoted, path


def test_a_change_the_hub_refused_is_printed_with_what_was_done(monkeypatch, tmp_path, capsys):
    """The service answers a change the hub refused with 502 ``hub-refused`` (its message says what was done):
    the real ``HubAdmin.service`` against a local server answering so, and the command prints it and exits 2."""
    from platform_lib.local.admin import HubAdmin
    from stand_in_http import StandInHandler, serving_http  # tests/support/, on the path by tests/conftest.py

    message = ("the members of workspace 'w1' were changed (added [], removed ['ann']), but its shared servers "
               "were not all updated: ...; run the same change again to finish")

    class Service(StandInHandler):
        def do_POST(self):
            self.answer(502, {"status": 502, "code": "hub-refused", "message": message})

    with serving_http(Service) as server:
        admin = HubAdmin(f"http://127.0.0.1:{server.server_port}/hub/api", "token")
        monkeypatch.setattr(cli_classes, "_admin", lambda args: admin)
        assert main(["workspaces", "members", "w1", "--remove", "ann", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "(502)" in err and message in err, err


@pytest.mark.parametrize(("how", "body"), [(["--until", "2026-12-12T17:00Z"], {"until": "2026-12-12T17:00Z"}),
                                           (["--by", "36h"], {"by": "36h"}), (["--none"], {"until": None})])
def test_extend_sends_the_student_and_one_of_until_by_or_none_for_the_service_to_read(sent, tmp_path, how, body):
    assert main(["classes", "extend", "c1", "hw1", "ann", *how, "--data-dir", str(tmp_path)]) == 0
    assert sent == [("POST", "classes/c1/assignments/hw1/extension", {"student": "ann", **body})]
    with pytest.raises(SystemExit):  # exactly one of them
        main(["classes", "extend", "c1", "hw1", "ann", "--by", "2d", "--none", "--data-dir", str(tmp_path)])
    sent.clear()
    assert main(["classes", "show", "c1", "--student", "a b", "--data-dir", str(tmp_path)]) == 0
    assert sent == [("GET", "classes/c1?student=a%20b", None)]


def test_restore_as_sends_the_new_name_for_the_service_to_check(sent, tmp_path):
    """class16: ``astrohub classes restore KEPT --as NAME`` restores a deleted class under another name; without
    ``--as`` the request has no body, as before."""
    kept = "astro101-20261206T160000Z"
    assert main(["classes", "restore", kept, "--as", "astro101-old", "--data-dir", str(tmp_path)]) == 0
    assert main(["classes", "restore", kept, "--data-dir", str(tmp_path)]) == 0
    assert sent == [("POST", f"classes/{kept}/restore", {"as": "astro101-old"}),
                    ("POST", f"classes/{kept}/restore", None)]


@pytest.mark.parametrize(("verb", "method", "role"), [("add-students", "POST", "students"),
                                                     ("remove-students", "DELETE", "students"),
                                                     ("add-instructors", "POST", "instructors"),
                                                     ("remove-instructors", "DELETE", "instructors")])
def test_a_roster_change_sends_its_users_to_the_roles_route_by_its_method(sent, tmp_path, verb, method, role):
    """dedup25: the four roster verbs are one command factory (they were an add and a remove written twice)."""
    assert main(["classes", verb, "c1", "--users", "ann, bob", "--data-dir", str(tmp_path)]) == 0
    assert sent == [(method, f"classes/c1/{role}", {"users": ["ann", "bob"]})]


@pytest.mark.parametrize(("args", "words"), [
    (["classes", "add-students", "c1"], "name the students to add: --users a,b or --csv FILE"),
    (["classes", "remove-instructors", "c1", "--users", " , "], "name the instructors to remove: --users"),
    (["workspaces", "members", "w1"], "name the people to change in workspace 'w1': --add a,b (read-write)"),
])
def test_a_roster_or_membership_change_naming_nobody_is_refused_in_the_commands_words(monkeypatch, capsys, tmp_path,
                                                                                     args, words):
    """It went to the service, which answered 200 having done nothing (the workspace printed as if changed), and now
    refuses it in words for an API caller ({"users": [...]}); the command says which of its options to give."""
    recorder = Recorder()
    monkeypatch.setattr(cli_classes, "_admin", lambda args: recorder)
    assert main([*args, "--data-dir", str(tmp_path)]) == 2
    assert words in capsys.readouterr().err and recorder.calls == []


#: The service's answer to ``classes create`` (``Teaching.show``), as it is sent.
CREATED = {"name": "astro101", "profile": "", "archived": False, "assignments": [], "deadlines": {}, "exam": None,
           "folders": {"base": "/srv/astrohub/classes/astro101", "materials": "/srv/astrohub/classes/astro101/materials",
                       "instructors": "/srv/astrohub/classes/astro101/instructors",
                       "submissions": "/srv/astrohub/classes/astro101/submissions"},
           "instructors": ["prof", "ta"], "students": ["ann", "bo"], "submissions": []}


def test_a_command_prints_what_an_operator_reads_and_json_only_when_asked(monkeypatch, tmp_path, capsys):
    """teach21: ``astrohub classes create`` (and every other ``classes``/``workspaces`` verb) printed the service's
    raw JSON. It says what was made, where, and what to do next; ``--json`` prints the answer itself, for scripts."""
    import json

    class Service(Recorder):
        def service(self, method, path, body=None):
            return CREATED

    monkeypatch.setattr(cli_classes, "_admin", lambda args: Service())
    assert main(["classes", "create", "astro101", "--instructors", "prof,ta", "--students", "ann,bo",
                 "--data-dir", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("Class astro101 created: instructors 2 (prof, ta), students 2 (ann, bo).\n"), text
    assert "  folders:\n    base: /srv/astrohub/classes/astro101\n" in text, text
    assert "Next: each person sets their password once at /hub/register" in text and "~/grading/astro101" in text
    assert not text.lstrip().startswith("{")
    assert main(["classes", "create", "astro101", "--json", "--data-dir", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out) == CREATED
    # an answer of another shape than a verb's first line expects still prints, as its details
    assert main(["classes", "release", "astro101", "hw1", "--data-dir", str(tmp_path)]) == 0
    assert "  name: astro101\n" in capsys.readouterr().out


def test_rename_member_sends_the_old_name_as_one_segment_and_the_new_in_the_body(sent, tmp_path):
    """classes24: ``astrohub classes rename-member OLD NEW``, after the hub's rename, asks the service to rename
    OLD in every class (``POST people/<old>/rename {"to": NEW}``)."""
    assert main(["classes", "rename-member", "a/b", "anna", "--data-dir", str(tmp_path)]) == 0
    assert sent == [("POST", "people/a%2Fb/rename", {"to": "anna"})]
