"""Classes and workspaces on the running platform, with real users (issue 19 items 1, 2, 4, 8).

One instructor and three students go through a full class cycle: create the class with a roster from a
CSV, the instructor writes materials and an assignment, releases it, the students submit (one from
their own server's kernel with its token, one twice), the instructor collects and returns feedback.
Students cannot read each other's submissions or the instructors' folder; bad input is refused with a
clear message and changes nothing. A workspace owner adds a member who then writes to its folder.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import pwd
import re
import subprocess
import textwrap
import threading
import time

import pytest


@pytest.fixture(scope="module")
def course(platform, tmp_path_factory):
    """A class with one instructor and three students; the servers of the instructor and of s1 run."""
    prof, s1, s2, s3, outsider = (platform.unique(n) for n in ("cprof", "cs1", "cs2", "cs3", "cout"))
    for user in (prof, s1, s2, s3, outsider):
        platform.create_user(user)
    name = platform.unique("astro")
    roster = tmp_path_factory.mktemp("roster") / "students.csv"
    roster.write_text(f"username,email\n{s1},s1@example.org\n{s2.upper()},\n{s3} ,\n")
    created = platform.astrohub("classes", "create", name, "--instructors", prof, "--csv", str(roster))
    assert created.returncode == 0, created.stdout + created.stderr
    platform.start_server(prof)
    platform.start_server(s1)
    yield {"name": name, "prof": prof, "students": [s1, s2, s3], "outsider": outsider, "roster": roster,
           "root": platform.data_dir / "classes" / name}
    platform.stop_server(prof)
    platform.stop_server(s1)


def _roster(page: str, cls: str) -> dict[tuple[str, str], str]:
    """The instructor's roster table of class ``cls`` on the classes page, by (student, column): the columns are
    ``server``, ``submissions`` (of every assignment) and each assignment's name. Read by its header, so a test
    names the cells it means whatever other assignments the class holds (other tests', in any order)."""
    table = page.split(f"<h2 class='class'>{cls} <small>", 1)[1].split("<table class='roster'>", 1)[1]
    table = table.split("</table>", 1)[0]
    header, *rows = re.findall(r"<tr>(.*?)</tr>", table)
    columns = re.findall(r"<th>(.*?)</th>", header)
    assert columns[:3] == ["student", "server", "submissions"], columns
    cells = {}
    for row in rows:
        student, *values = re.findall(r"<td[^>]*>(.*?)</td>", row)
        assert len(values) == len(columns) - 1, (columns, row)
        cells.update({(student, column): value for column, value in zip(columns[1:], values)})
    return cells


def _score(platform, student: str, cls: str, assignment: str) -> str | None:
    """The score on ``student``'s own line for ``assignment`` of class ``cls`` on her classes page (None: none)."""
    page = platform.login(student).get(f"{platform.url}services/astrohub-classes/", timeout=60).text
    line = page.split(f"<h2 class='class'>{cls} <small>", 1)[1].split(f"<li data-assignment='{assignment}'>", 1)[1]
    found = re.search(r"<span class='score'>your score: (.*?)</span>", line.split("</li>", 1)[0])
    return found and found.group(1)


def test_the_class_roster_is_shown_to_its_instructor_and_the_student_sees_the_class(platform, course):
    info = json.loads(platform.astrohub("classes", "show", course["name"], "--json").stdout)
    assert info["instructors"] == [course["prof"]] and info["students"] == sorted(course["students"])
    as_prof = platform.classes_api(course["prof"], "GET", f"classes/{course['name']}")
    assert as_prof.status_code == 200 and as_prof.json()["students"] == sorted(course["students"])
    s1 = course["students"][0]
    mine = platform.classes_api(s1, "GET", "classes").json()
    assert mine == [{"name": course["name"], "role": "student", "archived": False}]
    assert "students" not in platform.classes_api(s1, "GET", f"classes/{course['name']}").json()
    # Their Lab's file browser (the home) reaches the class's folder: its materials, and the instructors' folder
    # where assignments are written (servers started after the class was made: fixture)
    for user in (course["prof"], s1):
        assert (platform.data_dir / "home" / user / "classes" / course["name"]).resolve() == course["root"].resolve()
    # The roster is mirrored to hub groups, which get no shared group folder.
    group = platform.api("GET", f"/groups/{course['name']}-students").json()
    assert sorted(group["users"]) == sorted(course["students"])
    assert not (platform.data_dir / "groups" / f"{course['name']}-students").exists()


def test_the_class_page_shows_the_roster_and_servers_to_the_instructor(platform, course):
    """Signed in through the hub (OAuth), in a browser session: the service's page."""
    name, prof, (s1, s2, _s3) = course["name"], course["prof"], course["students"]
    session = platform.login(prof)
    page = session.get(f"{platform.url}services/astrohub-classes/", timeout=60)
    assert page.status_code == 200 and page.url.startswith(f"{platform.url}services/astrohub-classes/"), page.url
    assert name in page.text and "(instructor)" in page.text
    assert f"<td>{s1}</td><td class='server'>running</td>" in page.text  # s1's server runs (fixture)
    assert f"<td>{s2}</td><td class='server'>stopped</td>" in page.text
    mine = platform.login(s2).get(f"{platform.url}services/astrohub-classes/", timeout=60)
    assert mine.status_code == 200 and f"{name} <small>(student)</small>" in mine.text and "roster" not in mine.text
    assert "<h3>Teach" not in mine.text  # a student gets no instructor buttons

    # the instructor's buttons given bad input: the page again, saying what was refused and why, never a 5xx
    xsrf = re.search(r"name='_xsrf' value='([^']*)'", page.text).group(1)

    def press(who, **fields):
        return who.post(f"{platform.url}services/astrohub-classes/instruct", timeout=60,
                        data={"_xsrf": xsrf, "class": name, **fields})
    for fields, status, said in (
            ({"action": "dance", "assignment": "hw1"}, 400, "Not done: no such action 'dance'"),
            ({"action": "release", "assignment": "hw1", "late_penalty_per_hour": "lots"}, 400,
             "Not done: points off per hour late is a number, got 'lots'"),
            ({"action": "release", "assignment": "no-such-folder"}, 404, "Not done: "),
            ({"action": "collect", "assignment": "never-released"}, 404, "Not done: ")):
        answer = press(session, **fields)
        text = html.unescape(answer.text)
        assert answer.status_code == status and said in text, (fields, answer.status_code, text[:900])
        assert "Traceback" not in answer.text
    assert not (course["root"] / "instructors" / "no-such-folder").exists()

    # teach21: a team workspace for some of the class's students, from the page (the CLI and API made them only):
    # owned by the instructor, each member finds it in ~/workspaces/; for the class's students only
    team = f"{name}-team1"
    assert "Make a team workspace" in page.text
    for who, fields, status, said in (
            (session, {"members": [s1, course["outsider"]]}, 400, f"['{course['outsider']}'] are not"),
            (session, {}, 400, "choose at least one")):
        refused = press(who, action="workspace", workspace=team, **fields)
        assert refused.status_code == status and said in html.unescape(refused.text), refused.text[:900]
    made = press(session, action="workspace", workspace=team, members=[s1, s2])
    assert made.status_code == 200 and f"Made workspace {team} for {s1}, {s2} (owner: {prof})" in \
        html.unescape(made.text), made.text[:900]
    shown = platform.classes_api(s2, "GET", f"workspaces/{team}")
    assert shown.status_code == 200 and (shown.json()["owner"], sorted(shown.json()["members"])) == (
        prof, sorted([prof, s1, s2])), shown.text  # the owner is a read-write member too
    assert (platform.data_dir / "home" / s1 / "workspaces" / team).is_symlink()
    # teams22: a student of the class not on the team is refused it, told why and what to do (was untested), and
    # has no link to it nor any entry in its folder's ACL
    s3 = course["students"][2]
    other = platform.classes_api(s3, "GET", f"workspaces/{team}")
    assert other.status_code == 403 and other.json()["message"] == (
        f"'{s3}' is not in workspace '{team}', so cannot open it (its folder, files and shared servers are its "
        "members' only): ask its owner to add you"), other.text
    assert not os.path.lexists(platform.data_dir / "home" / s3 / "workspaces" / team)
    if platform.isolated:
        acl = subprocess.run(["getfacl", "-p", str(platform.data_dir / "workspaces" / team)], capture_output=True,
                             text=True, check=True).stdout
        assert platform.system_user(s1) in acl and platform.system_user(s3) not in acl, acl

    # teams23: a team's lead who teaches nothing (s3, a student) had no form to make the team's workspace (the API
    # alone): the page's own form, the same rules as the API's, and only the lead (its owner) changes its people
    lead, led = platform.login(s3), f"{name}-lead"
    lead_page = lead.get(f"{platform.url}services/astrohub-classes/", timeout=60).text
    assert "Make a workspace" in lead_page and "<h3>Teach" not in lead_page
    # (and the way back: the service's page had no link to Lab nor to the hub)
    assert "<a href='/hub/user-redirect/lab'>Your JupyterLab</a>" in lead_page and "href='/hub/home'" in lead_page
    lead_xsrf = re.search(r"name='_xsrf' value='([^']*)'", lead_page).group(1)

    def workspace(who, xsrf_value, **fields):
        answer = who.post(f"{platform.url}services/astrohub-classes/workspace", timeout=60,
                          data={"_xsrf": xsrf_value, **fields})
        assert "Traceback" not in answer.text
        return answer.status_code, html.unescape(answer.text)
    for fields, status, said in (
            ({"workspace": "Team One", "members": s2}, 400, "Not done: workspace name 'Team One' must be 1-40"),
            ({"workspace": led, "members": f"{s2}, ghost-{s2}"}, 404,
             f"Not done: workspace '{led}' members: unknown user(s) ['ghost-{s2}']: nobody of that name on this "
             "platform; check the spelling, or ask an admin"),  # it said 'add them first', to a student
            ({"workspace": team, "members": s2}, 409, f"Not done: a workspace named '{team}' exists already")):
        got = workspace(lead, lead_xsrf, action="create", **fields)
        assert got[0] == status and said in got[1], (fields, got[0], got[1][:900])
    got = workspace(lead, lead_xsrf, action="create", workspace=led, members=f"{s2} {s1}")
    assert got[0] == 200 and f"Made workspace {led} (owner: {s3}): read-write for {s1}, {s2}, {s3}." in got[1], got
    assert f"<li data-workspace='{led}'>" in got[1] and f"Change the people of {led}" in got[1]
    assert (platform.data_dir / "home" / s2 / "workspaces" / led).is_symlink()
    # s2 is on the team, not its lead: no form, and a change sent anyway is refused, saying whose it is
    member = platform.login(s2)
    member_page = member.get(f"{platform.url}services/astrohub-classes/", timeout=60).text
    assert f"<li data-workspace='{led}'>" in member_page and f"Change the people of {led}" not in member_page
    got = workspace(member, re.search(r"name='_xsrf' value='([^']*)'", member_page).group(1), action="members",
                    workspace=led, remove=s1)
    assert got[0] == 403 and f"Not done: '{s2}' may not change workspace '{led}': only its owner '{s3}'" in got[1], got
    got = workspace(lead, lead_xsrf, action="members", workspace=led, remove=s1)
    assert got[0] == 200 and f"Changed workspace {led} (owner: {s3}): read-write for {s2}, {s3}." in got[1], got

    # teams23: an instructor adds a late-comer from the page too (it took a notebook's API call or an admin)
    late = platform.unique("clate")
    platform.create_user(late)
    assert "Add students" in page.text
    for fields, status, said in (({"users": " , "}, 400, "Not done: name the students to add"),
                                 ({"users": f"ghost-{late}"}, 404, f"unknown user(s) ['ghost-{late}']")):
        answer = press(session, action="students", **fields)
        assert answer.status_code == status and said in html.unescape(answer.text), answer.text[:900]
    added = press(session, action="students", users=f"{late},")
    assert added.status_code == 200 and f"Added {late} to {name}: each finds ~/classes/{name}/ and every " \
        "assignment released so far in their home" in html.unescape(added.text), added.text[:900]
    assert (platform.data_dir / "home" / late / "classes" / name).is_symlink()
    assert platform.classes_api(prof, "DELETE", f"classes/{name}/students", {"users": [late]}).status_code == 200


def test_full_class_cycle(platform, course):
    name, prof, (s1, s2, s3) = course["name"], course["prof"], course["students"]
    root = course["root"]
    # The instructor writes materials and authors an assignment in the instructors' folder.
    platform.execute(prof, textwrap.dedent(f"""
        from pathlib import Path
        Path({str(root / 'materials' / 'week1.md')!r}).write_text("# Week 1")
        hw = Path({str(root / 'instructors' / 'hw1')!r}); hw.mkdir()
        (hw / "task.txt").write_text("measure the parallax")
    """))
    released = platform.classes_api(prof, "POST", f"classes/{name}/assignments/hw1/release")
    assert released.status_code == 200, released.text
    for student in (s1, s2, s3):
        copy = platform.data_dir / "home" / student / name / "hw1" / "task.txt"
        assert copy.read_text() == "measure the parallax"
        if platform.isolated:
            assert copy.stat().st_uid == os.stat(platform.data_dir / "home" / student).st_uid
    # s1 submits from a kernel of their own server, with the server's own token.
    out = platform.execute(s1, textwrap.dedent(f"""
        import os, requests
        from pathlib import Path
        work = Path.home() / {name!r} / "hw1"
        (work / "answer.txt").write_text("s1: 0.77 arcsec")
        r = requests.post({platform.url + platform.CLASSES_API!r} + "/classes/{name}/assignments/hw1/submit",
                          headers={{"Authorization": "token " + os.environ["JUPYTERHUB_API_TOKEN"]}}, timeout=60)
        print(r.status_code, sorted(r.json().get("files", [])))
    """))
    assert out.strip() == "200 ['answer.txt', 'task.txt']", out
    # s2 submits twice: both are kept; s3 once.
    (platform.data_dir / "home" / s2 / name / "hw1" / "answer.txt").write_text("s2: first try")
    first = platform.classes_api(s2, "POST", f"classes/{name}/assignments/hw1/submit")
    assert first.status_code == 200, first.text
    (platform.data_dir / "home" / s2 / name / "hw1" / "answer.txt").write_text("s2: second try")
    second = platform.classes_api(s2, "POST", f"classes/{name}/assignments/hw1/submit")
    assert second.status_code == 200 and second.json()["at"] != first.json()["at"]
    assert platform.classes_api(s3, "POST", f"classes/{name}/assignments/hw1/submit").status_code == 200
    history = sorted(p.name for p in (root / "submissions" / s2 / "hw1").iterdir())
    assert history == sorted([first.json()["at"], second.json()["at"]])
    # The instructor collects (the latest of each), grades by writing feedback, and returns it.
    collected = platform.classes_api(prof, "POST", f"classes/{name}/assignments/hw1/collect").json()
    assert sorted(collected["collected"]) == sorted([s1, s2, s3]) and collected["missing"] == []
    out = platform.execute(prof, textwrap.dedent(f"""
        from pathlib import Path
        base = Path({str(root / 'instructors')!r})
        print((base / "collected" / "hw1" / {s2!r} / "answer.txt").read_text())
        fb = base / "feedback" / "hw1" / {s1!r}; fb.mkdir(parents=True)
        (fb / "grade.txt").write_text("9/10: good")
    """))
    assert out.strip() == "s2: second try"
    returned = platform.classes_api(prof, "POST", f"classes/{name}/assignments/hw1/feedback").json()
    assert returned["returned"] == {s1: ["grade.txt"]}
    assert (platform.data_dir / "home" / s1 / name / "hw1" / "feedback" / "grade.txt").read_text() == "9/10: good"


def test_nbgrader_marked_assignments_are_released_without_solutions_and_autograded(platform, course):
    """A tiny nbgrader notebook: the students' copy has no solution, a right answer scores 1 and a wrong one 0,
    and each student gets nbgrader's feedback page (collect --grade runs nbgrader as the instructor). s1 hands
    in after a due date the instructor sets with a late penalty (0.5 points per hour late): nbgrader takes it,
    and the class page says so ("0.5 off for lateness"). Grades the instructor changes by hand afterwards move
    the gradebook's scores and the feedback returned again, the penalty worked out from the new score. A teaching
    assistant, an instructor too, takes turns with the professor (returns feedback, collects, re-releases,
    autogrades, extends), then leaves the course and loses its folders. Autograding runs the students' code as the
    class's grading identity, not as an instructor, and its kernels as the class's kernel identity: s1's answer reads
    a private file in the professor's home and writes into it (both were done as the professor, the file's text in
    s1's feedback), and writes the gradebook, s2's submitted notebook and the grading identity's home (all done as
    the grading identity): every one is refused, and s2's work and the grades are as handed in."""
    name, prof, (s1, s2, s3) = course["name"], course["prof"], course["students"]
    # A teaching assistant teaches the class too (admins add instructors), from before the professor's first step
    # (adding an instructor sets the ACLs of what is already in the instructors' folder, which would hide what
    # follows). Her steps write over what the professor's wrote and his over hers (nbgrader's course source/,
    # autograded/, feedback/, gradebook.db; instructors/feedback/): each was 'Permission denied' or nbgrader's
    # 'attempt to write a readonly database' (what one instructor wrote the others could read, not write).
    ta = platform.unique("cta")
    platform.create_user(ta)
    added = platform.astrohub("classes", "add-instructors", name, "--users", ta)
    assert added.returncode == 0, added.stdout + added.stderr
    # Her Lab finds the class at once, without a server (re)start: the service links ~/classes/<class> as her.
    link = platform.data_dir / "home" / ta / "classes" / name
    assert link.is_symlink() and link.resolve() == course["root"].resolve(), link
    if platform.isolated:
        assert os.lstat(link).st_uid == pwd.getpwnam(platform.system_user(ta)).pw_uid
    hw = course["root"] / "instructors" / "nbhw"
    platform.execute(prof, textwrap.dedent(f"""
        import nbformat
        from pathlib import Path
        from nbformat.v4 import new_notebook, new_code_cell, new_markdown_cell
        def meta(grade_id, **kw):
            return {{"nbgrader": {{"schema_version": 3, "grade_id": grade_id, **kw}}}}
        nb = new_notebook(cells=[
            new_code_cell("def square(x):\\n    ### BEGIN SOLUTION\\n    return x * x\\n    ### END SOLUTION",
                          metadata=meta("answer", grade=False, solution=True, locked=False)),
            new_code_cell("assert square(3) == 9", metadata=meta("test", grade=True, solution=False, locked=True,
                                                                 points=1)),
            new_markdown_cell("Because ...", metadata=meta("why", grade=True, solution=True, locked=False,
                                                           points=1))])  # graded by hand
        nb.metadata["kernelspec"] = {{"name": "python3", "display_name": "Python 3", "language": "python"}}
        Path({str(hw)!r}).mkdir()
        nbformat.write(nb, {str(hw / 'square.ipynb')!r})
        import os  # as `cp -r` from last term's class leaves them: the mode bits narrow the ACL mask to read-only
        os.chmod({str(hw)!r}, 0o750); os.chmod({str(hw / 'square.ipynb')!r}, 0o640)
    """))
    released = platform.classes_api(prof, "POST", f"classes/{name}/assignments/nbhw/release")
    assert released.status_code == 200, released.text
    if platform.system_user(ta):  # the release opened the professor's assignment folder to the other instructors
        from system_user import run_as  # tests/support/, on the path by tests/conftest.py

        assert run_as(platform.system_user(ta), textwrap.dedent(f"""
            import json
            from pathlib import Path
            Path({str(hw / 'notes.txt')!r}).write_text("TA: check the units")
            with open({str(hw / 'square.ipynb')!r}, "a"):
                pass
            print(json.dumps("written"))
        """)) == "written"
    copy = platform.data_dir / "home" / s1 / name / "nbhw" / "square.ipynb"
    assert "return x * x" not in copy.read_text() and "NotImplementedError" in copy.read_text()
    answer = json.loads(copy.read_text())
    answer["cells"][0]["source"] = "".join(answer["cells"][0]["source"]).replace("raise NotImplementedError()",
                                                                               "return x * x")
    answer["cells"][2]["source"] = "Because x * x is x squared."  # s1's written answer; s2 leaves it blank
    # s1's answer also tries the professor's home while it is graded: a private file, and a marker it would leave
    secret, marker = (platform.data_dir / "home" / prof / f for f in ("private.txt", "s1-was-here"))
    platform.execute(prof, f"import os; os.close(os.open({str(secret)!r}, os.O_WRONLY | os.O_CREAT, 0o600)); "
                           f"open({str(secret)!r}, 'w').write('the exam answers')")
    # and the class's grading: it writes nbgrader's gradebook, s2's submitted notebook and the grading identity's home
    # (all the grading identity's to write: its kernels ran as it)
    nbcourse = course["root"] / "instructors" / "nbgrader"
    gradebook, s2_work = nbcourse / "gradebook.db", nbcourse / "submitted" / s2 / "nbhw" / "square.ipynb"
    if platform.isolated:
        from astrohub_hub.accounts import grading_username

        grader_home = pwd.getpwnam(grading_username(name, platform.config.users.system_user_prefix)).pw_dir
    else:
        grader_home = "/nonexistent"
    answer["cells"][0]["source"] += textwrap.dedent(f"""

        for attempt, path in (("read", {str(secret)!r}), ("write", {str(marker)!r}), ("gradebook", {str(gradebook)!r}),
                              ("other", {str(s2_work)!r}), ("home", {grader_home + "/s1-was-here"!r})):
            try:
                print(attempt, open(path).read() if attempt == "read" else open(path, "a").write(
                      "" if attempt == "gradebook" else "\\n"))
            except OSError as exc:
                print(attempt, type(exc).__name__)""")
    copy.write_text(json.dumps(answer))
    # s2 hands in the untouched notebook; then a due date a moment ahead with a late penalty, and s1 after it
    assert platform.classes_api(s2, "POST", f"classes/{name}/assignments/nbhw/submit").status_code == 200
    due = int(time.time()) + 2
    set_due = platform.classes_api(prof, "POST", f"classes/{name}/assignments/nbhw/due", {
        "due": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(due)), "late_penalty_per_hour": 0.5})
    assert set_due.status_code == 200, set_due.text
    time.sleep(max(0.0, due + 1.2 - time.time()))  # the due date passes (two seconds at most)
    late = platform.classes_api(s1, "POST", f"classes/{name}/assignments/nbhw/submit")
    assert late.status_code == 200 and late.json()["late"] is True, late.text
    graded = platform.astrohub("classes", "collect", name, "nbhw", "--grade", "--json")
    assert graded.returncode == 0, graded.stdout + graded.stderr
    grades = json.loads(graded.stdout)["grades"]
    assert [(grades[s]["score"], grades[s]["max_score"], grades[s]["late_penalty"]) for s in (s1, s2)] == [
        (0.5, 2.0, 0.5), (0.0, 2.0, 0.0)], grades  # s1's right answer, less half a point for its started hour
    if platform.isolated:  # both refused: the grading identity may write the course directory alone
        autograded = course["root"] / "instructors" / "nbgrader" / "autograded" / s1 / "nbhw" / "square.ipynb"
        cell = json.loads(autograded.read_text())["cells"][0]
        printed = "".join("".join(out.get("text", "")) for out in cell["outputs"])  # text: a string or lines
        assert printed == ("read PermissionError\nwrite PermissionError\ngradebook PermissionError\n"
                           "other PermissionError\nhome PermissionError\n") and not marker.exists(), printed
        collected_s2 = course["root"] / "instructors" / "collected" / "nbhw" / s2 / "square.ipynb"
        assert s2_work.read_bytes() == collected_s2.read_bytes()  # s2's work as she handed it in
        assert not os.path.exists(os.path.join(grader_home, "s1-was-here"))
    # s1's written answer waits for the instructor; s2's blank one nbgrader scores 0 itself
    assert (grades[s1]["needs_manual_grade"], grades[s2]["needs_manual_grade"]) == (True, False), grades
    # who submitted what, and the score, per assignment (the class's other assignments are other tests')
    roster = _roster(platform.login(prof).get(f"{platform.url}services/astrohub-classes/", timeout=60).text, name)
    handed_in = {s: sum(1 for _ in (course["root"] / "submissions" / s).glob("*/*")) for s in (s1, s2)}
    assert (roster[(s2, "server")], roster[(s2, "nbhw")]) == ("stopped", "1 (0/2)"), roster
    assert [roster[(s, "submissions")] for s in (s1, s2)] == [str(handed_in[s]) for s in (s1, s2)], roster
    assert re.fullmatch(r"1 \(0\.5/2, 0\.5 off for lateness, needs manual grading\) late by \d+ .*",
                        roster[(s1, "nbhw")]), roster
    assert _score(platform, s1, name, "nbhw") is None  # classscore23: graded, not returned: no score yet
    # nbgrader's feedback, returned by the assistant: the page, and (as nbgrader returns it) when the graded work was
    # handed in
    returned = platform.classes_api(ta, "POST", f"classes/{name}/assignments/nbhw/feedback")
    assert returned.status_code == 200, returned.text
    returned = returned.json()["returned"]
    assert returned[s2] == ["square.html", "timestamp.txt"], returned
    feedback = platform.data_dir / "home" / s2 / name / "nbhw" / "feedback"
    assert "square" in (feedback / "square.html").read_text()
    assert (feedback / "timestamp.txt").read_text().strip().endswith(" UTC")
    # classscore23: each student's line gives her own score now, as the roster does (she saw only a link)
    assert [_score(platform, s, name, "nbhw") for s in (s1, s2)] == [
        "0.5/2, 0.5 off for lateness, needs manual grading", "0/2"]
    # The gradebook: who submitted and the scores, as CSV from the command and from the API (instructors only).
    book = platform.astrohub("classes", "grades", name, "--csv")
    assert book.returncode == 0, book.stdout + book.stderr
    rows = {(r["student"], r["assignment"]): r for r in csv.DictReader(io.StringIO(book.stdout))}
    assert [rows[(s, "nbhw")]["score"] for s in (s1, s2, s3)] == ["0.5", "0.0", ""], book.stdout
    assert [rows[(s, "nbhw")]["late_penalty"] for s in (s1, s2, s3)] == ["0.5", "0.0", ""], book.stdout
    assert rows[(s3, "nbhw")]["submissions"] == "0" and rows[(s1, "nbhw")]["max_score"] == "2.0"
    assert [rows[(s, "nbhw")]["needs_manual_grade"] for s in (s1, s2, s3)] == ["True", "False", ""], book.stdout
    as_prof = platform.classes_api(prof, "GET", f"classes/{name}/grades?format=csv")
    assert as_prof.status_code == 200 and as_prof.headers["Content-Type"].startswith("text/csv")
    assert as_prof.text == book.stdout
    assert platform.classes_api(s1, "GET", f"classes/{name}/grades?format=csv").status_code == 403
    assert platform.classes_api(prof, "GET", f"classes/{name}/grades?format=xls").status_code == 400
    # The instructor then grades by hand in formgrader, in their own JupyterLab through the hub (here its API, with
    # their token through the proxy, as its pages call it): s1's written answer 1 point, s2's wrong code the point
    # after all, s1 half a point of extra credit. Their server serves the class's course through ~/grading/<class>.
    # The gradebook's scores follow at once (s1: nbgrader's 2.5 less the 0.5 penalty), and the feedback returned
    # again shows the same figures.
    headers = {"Authorization": f"token {platform.user_token(prof)}"}

    def formgrader(method, path, body=None):
        answer = platform.session.request(method, f"{platform.server_url(prof)}formgrader/api/{path}", json=body,
                                          headers=headers, timeout=60, allow_redirects=False)
        assert answer.status_code == 200, (method, path, answer.status_code, answer.text[:500])
        return answer.json()

    # teach21: formgrader says what the class page did: nbhw released (it said "draft" of everything), due when
    # the students were told (its gradebook had no due date before autograding)
    [listed] = formgrader("GET", "assignments")
    assert (listed["name"], listed["status"]) == ("nbhw", "released"), listed
    assert listed["duedate"].startswith(time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(due))), listed
    submitted = {n["student"]: n["id"] for n in formgrader("GET", "submitted_notebooks/nbhw/square")}
    assert {s1, s2} <= set(submitted), submitted
    page = platform.server_get(prof, f"formgrader/submissions/{submitted[s1]}/")  # the page to grade s1 on
    assert page.status_code == 200 and "Because x * x is x squared." in page.text, (page.status_code, page.text[:500])
    # it loads nothing from outside the platform (nbgrader's template loaded MathJax from cdnjs)
    assert not re.findall(r'(?:src|href)="((?:https?:)?//[^"]*)"', page.text)
    for cell, student, manual, extra in (("why", s1, 1.0, None), ("test", s2, 1.0, None), ("test", s1, None, 0.5)):
        [grade] = [g for g in formgrader("GET", f"grades?submission_id={submitted[student]}") if g["name"] == cell]
        formgrader("PUT", f"grade/{grade['id']}", {"manual_score": manual, "extra_credit": extra})
    [note] = [c for c in formgrader("GET", f"comments?submission_id={submitted[s1]}") if c["name"] == "why"]
    formgrader("PUT", f"comment/{note['id']}", {"manual_comment": "Well argued: see lecture 3."})
    assert (platform.data_dir / "home" / prof / "grading" / name).resolve() == \
        (course["root"] / "instructors" / "nbgrader").resolve()
    # formgrader's Autograde button would run s1's code in the professor's server, as him: refused, saying where
    refused = formgrader("POST", f"submission/nbhw/{s1}/autograde")
    assert refused["success"] is False and "collect?grade=1" in refused["error"], refused
    # a student's server has no formgrader: its pages and API are not there
    for path in ("formgrader", "formgrader/api/assignments"):
        assert platform.server_get(s1, path).status_code in (403, 404), path
    regraded = {r["student"]: r for r in csv.DictReader(io.StringIO(
        platform.classes_api(prof, "GET", f"classes/{name}/grades?format=csv").text)) if r["assignment"] == "nbhw"}
    assert [(regraded[s]["score"], regraded[s]["late_penalty"], regraded[s]["needs_manual_grade"])
            for s in (s1, s2)] == [("2.0", "0.5", "False"), ("1.0", "0.0", "False")], regraded
    page = platform.login(prof).get(f"{platform.url}services/astrohub-classes/", timeout=60).text
    assert _roster(page, name)[(s2, "nbhw")] == "1 (1/2)" and "needs manual grading" not in page, page
    # the hand grades reach the students when feedback is returned again (nbgrader's way), not before
    assert _score(platform, s1, name, "nbhw") == "0.5/2, 0.5 off for lateness, needs manual grading"
    # teach21: formgrader's Release Feedback button did nothing here (nbgrader's exchange); it returns the feedback
    # to the class as the class page does, and its per-student button says so
    sent = formgrader("POST", "assignment/nbhw/release_feedback")
    assert sent["success"] is True and f"returned to 2 students of {name}: " in sent["log"], sent
    one = formgrader("POST", f"assignment/nbhw/{s1}/release_feedback")
    assert one["success"] is False and "every student of the class at once" in one["error"], one
    # and Manage Students names students by their hub names (nbgrader's page said "None, None")
    assert 'id="astrohub-hub-names"' in platform.server_get(prof, "formgrader/manage_students").text
    # polish21: and lists every student of the class, s3 too, who handed nothing in (nbgrader listed the graded)
    assert {student["id"] for student in formgrader("GET", "students")} == {s1, s2, s3}
    s1_page = (platform.data_dir / "home" / s1 / name / "nbhw" / "feedback" / "square.html").read_text()
    assert "square (Score: 2.0 / 2.0)" in s1_page and "Late submission penalty (Score: -0.5)" in s1_page
    assert "Well argued: see lecture 3." in s1_page  # the professor's comment
    assert "square (Score: 1.0 / 2.0)" in (feedback / "square.html").read_text()
    assert [_score(platform, s, name, "nbhw") for s in (s1, s2)] == ["2/2, 0.5 off for lateness", "1/2"]
    # s2 hands in again without her scratch file, and the instructor collects (not grading yet): the collected copy
    # is exactly her latest work, and the page says her score is the earlier submission's, not the latest's
    graded_at = regraded[s2]["graded_submission"]
    scratch = platform.data_dir / "home" / s2 / name / "nbhw" / "scratch.txt"
    scratch.write_text("notes")
    assert platform.classes_api(s2, "POST", f"classes/{name}/assignments/nbhw/submit").status_code == 200
    assert platform.classes_api(ta, "POST", f"classes/{name}/assignments/nbhw/collect").status_code == 200
    s2_collected = course["root"] / "instructors" / "collected" / "nbhw" / s2
    assert sorted(p.name for p in s2_collected.iterdir()) == ["scratch.txt", "square.ipynb"]
    scratch.unlink()
    # (her answer now takes a second: a kernel of hers outlives the other autograde's below)
    s2_copy = platform.data_dir / "home" / s2 / name / "nbhw" / "square.ipynb"
    s2_nb = json.loads(s2_copy.read_text())
    s2_nb["cells"][0]["source"] = "import time\ntime.sleep(1)\n" + "".join(s2_nb["cells"][0]["source"])
    s2_copy.write_text(json.dumps(s2_nb))
    again = platform.classes_api(s2, "POST", f"classes/{name}/assignments/nbhw/submit").json()
    collected = platform.classes_api(prof, "POST", f"classes/{name}/assignments/nbhw/collect")
    assert collected.status_code == 200 and collected.json()["collected"][s2] == again["at"], collected.text
    assert sorted(p.name for p in s2_collected.iterdir()) == ["square.ipynb"]
    s2_cell = _roster(platform.login(prof).get(f"{platform.url}services/astrohub-classes/", timeout=60).text,
                      name)[(s2, "nbhw")]
    # teams23: the time as due dates are written (it read 2026-12-07T16-08-15, the submission folder's name)
    graded_iso = f"{graded_at[:10]}T{graded_at[11:19].replace('-', ':')}Z"
    assert re.fullmatch(rf"3 \(1/2, of the submission at {re.escape(graded_iso)}: the latest is not "
                        r"graded yet\) late by \d+ .*", s2_cell), s2_cell  # after the due date
    # (by minutes when the grading steps before ran slowly: 'late by 1 min 7 s' under load in a full run)
    # The professor leaves code in the course folder, which every instructor of the class can write: an
    # nbgrader_config.py, and a module that would shadow nbformat. nbgrader ran both as the assistant when she graded;
    # her steps now read configuration only from Jupyter's config folders, and run outside the course folder.
    ran = nbcourse / "planted-code-ran.txt"
    platform.execute(prof, textwrap.dedent(f"""
        from pathlib import Path
        for planted in ("nbgrader_config.py", "nbformat.py"):
            Path({str(nbcourse)!r}, planted).write_text(
                "import getpass; open({str(ran)!r}, 'a').write('%s ran as ' + getpass.getuser())" % planted)
    """))
    # The assistant re-releases the assignment (nbgrader's version again), autogrades s2's latest work while the
    # professor autogrades it too, gives s3 an extension, then leaves the course and loses it. Two autogrades of a
    # class at once ran side by side, and the kernel broker's clean-up after each notebook (it ends every process of
    # the class's one kernel identity) killed the other's kernels: a 502, or a notebook graded with a dead kernel.
    # They take turns now, and the one that waited says so.
    again = platform.classes_api(ta, "POST", f"classes/{name}/assignments/nbhw/release")
    assert again.status_code == 200, again.text
    at_once = {}

    def autograde(who):
        at_once[who] = platform.classes_api(who, "POST", f"classes/{name}/assignments/nbhw/collect?grade=1")

    both = [threading.Thread(target=autograde, args=(who,)) for who in (ta, prof)]
    for thread in both:
        thread.start()
    for thread in both:
        thread.join()
    for graded in at_once.values():
        assert graded.status_code == 200 and sorted(graded.json()["grades"]) == sorted([s1, s2]), graded.text
    scores = [{s: (g["score"], g["max_score"]) for s, g in at_once[who].json()["grades"].items()} for who in (ta, prof)]
    assert scores[0] == scores[1], scores
    waited = [graded.json()["waited"] for graded in at_once.values() if "waited" in graded.json()]
    assert len(waited) == 1 and "for the autograde of nbhw by" in waited[0], waited
    assert not ran.exists(), ran.read_text()
    for planted in ("nbgrader_config.py", "nbformat.py"):
        (nbcourse / planted).unlink()
    extended = platform.classes_api(ta, "POST", f"classes/{name}/assignments/nbhw/extension",
                                    {"student": s3, "by": "2d"})
    assert extended.status_code == 200, extended.text
    removed = platform.astrohub("classes", "remove-instructors", name, "--users", ta)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert platform.classes_api(ta, "POST", f"classes/{name}/assignments/nbhw/collect").status_code == 403
    if platform.system_user(ta):
        from system_user import run_as  # tests/support/, on the path by tests/conftest.py

        assert run_as(platform.system_user(ta), textwrap.dedent(f"""
            import json, os
            try:
                os.listdir({str(course["root"] / "instructors" / "nbgrader")!r})
                print(json.dumps("allowed"))
            except PermissionError:
                print(json.dumps("refused"))
        """)) == "refused"


def test_a_student_reads_materials_but_not_other_submissions_or_the_instructors_folder(platform, course):
    if not platform.isolated:
        pytest.skip("folder permissions between users need per-user system accounts (root)")
    name, prof, root, (s1, s2, _s3) = course["name"], course["prof"], course["root"], course["students"]
    # Its own materials and assignment, handed in by s1 and s2 and collected, so it runs alone too (it read the
    # full cycle's hw1: alone, every check was a FileNotFoundError)
    platform.execute(prof, textwrap.dedent(f"""
        from pathlib import Path
        Path({str(root / 'materials' / 'reading.md')!r}).write_text("# Reading")
        hw = Path({str(root / 'instructors' / 'perms1')!r}); hw.mkdir()
        (hw / "task.txt").write_text("list what you can")
    """))
    assert platform.classes_api(prof, "POST", f"classes/{name}/assignments/perms1/release").status_code == 200
    for student in (s1, s2):
        (platform.data_dir / "home" / student / name / "perms1" / "answer.txt").write_text(f"{student}: mine")
        assert platform.classes_api(student, "POST", f"classes/{name}/assignments/perms1/submit").status_code == 200
    collected = platform.classes_api(prof, "POST", f"classes/{name}/assignments/perms1/collect")
    assert collected.status_code == 200 and {s1, s2} <= set(collected.json()["collected"]), collected.text
    out = platform.execute(s1, textwrap.dedent(f"""
        from pathlib import Path
        import os
        root = Path({str(root)!r})
        checks = {{
            "read materials": lambda: (root / "materials" / "reading.md").read_text(),
            "write materials": lambda: (root / "materials" / "mine.md").write_text("x"),
            "list instructors": lambda: os.listdir(root / "instructors"),
            "read collected": lambda: (root / "instructors" / "collected" / "perms1" / {s2!r} / "answer.txt")
                                      .read_text(),
            "list others' submissions": lambda: os.listdir(root / "submissions" / {s2!r}),
            "list all submissions": lambda: os.listdir(root / "submissions"),
            "list own submissions": lambda: os.listdir(root / "submissions" / {s1!r} / "perms1"),
        }}
        for what, check in checks.items():
            try:
                check(); print(what, "allowed")
            except PermissionError:
                print(what, "refused")
    """))
    result = dict(line.rsplit(" ", 1) for line in out.strip().splitlines())
    assert result == {"read materials": "allowed", "write materials": "refused", "list instructors": "refused",
                      "read collected": "refused", "list others' submissions": "refused",
                      "list all submissions": "refused", "list own submissions": "allowed"}, out
    # No folder of the class is writable by everybody.
    for path in [root, *root.rglob("*")]:
        assert not (path.is_dir() and path.stat().st_mode & 0o002), path
    # grade15: the temporary folder of s1's kernels is hers alone (her scratch), not the machine's /tmp, where the
    # instructor's kernel read what hers wrote there (a file made with the usual 0644)
    note = platform.execute(s1, "import os, tempfile; p = os.path.join(tempfile.gettempdir(), 'answers.txt'); "
                                "open(p, 'w').write('s1: 42'); print(p)").strip()
    assert os.path.dirname(note) == str(platform.data_dir / "scratch" / s1), note
    out = platform.execute(course["prof"], textwrap.dedent(f"""
        try:
            print(open({note!r}).read())
        except PermissionError:
            print("refused")
    """))
    assert out.strip() == "refused", out


def test_bad_input_is_refused_clearly_and_changes_nothing(platform, course, tmp_path):
    name, prof, (s1, _s2, _s3) = course["name"], course["prof"], course["students"]
    before = json.loads(platform.astrohub("classes", "show", name, "--json").stdout)
    dup = platform.astrohub("classes", "create", name, "--instructors", prof)
    assert dup.returncode == 2 and "exists already" in dup.stderr, dup.stderr
    ghost = platform.unique("ghost")
    unknown = platform.astrohub("classes", "add-students", name, "--users", f"{course['outsider']},{ghost}")
    assert unknown.returncode == 2 and "unknown user(s)" in unknown.stderr and ghost in unknown.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text(f"username\n{course['outsider']}\nnot valid!\n")
    rows = platform.astrohub("classes", "add-students", name, "--csv", str(bad))
    assert rows.returncode == 2 and "row 3" in rows.stderr and "nothing was changed" in rows.stderr
    outsider = platform.classes_api(course["outsider"], "POST", f"classes/{name}/assignments/hw1/submit")
    assert outsider.status_code == 403 and "not a student" in outsider.json()["message"]
    student_adds = platform.classes_api(s1, "POST", f"classes/{name}/students", {"users": [course["outsider"]]})
    assert student_adds.status_code == 403 and "only its instructors" in student_adds.json()["message"]
    assert platform.classes_api(prof, "POST", "classes", {"name": "mine"}).status_code == 403
    nonsense = platform.classes_api(prof, "POST", f"classes/{name}/students", {"users": "x" * 5000})
    assert nonsense.status_code == 400
    typed = platform.classes_api(prof, "POST", "workspaces", {"name": 123})  # was the workspace '123'
    assert typed.status_code == 400 and "'name' must be a string, got 123" in typed.json()["message"]
    assert platform.classes_api(s1, "DELETE", f"classes/{name}/students", {"users": [s1]}).status_code == 403
    assert platform.classes_api(prof, "DELETE", f"classes/{name}/students", {"users": 5}).status_code == 400
    assert platform.classes_api(prof, "DELETE", f"classes/{name}/students", {}).status_code == 400
    assert platform.classes_api(prof, "GET", f"classes/{platform.unique('nope')}/grades").status_code == 404
    assert json.loads(platform.astrohub("classes", "show", name, "--json").stdout)["students"] == before["students"]


def test_a_student_who_leaves_loses_the_class_folders_and_their_submissions_stay(platform):
    """Taken off the roster by the instructor (API) : the hub group, the class, the folders (as the system user)."""
    prof, stay, leave = (platform.unique(n) for n in ("lprof", "lstay", "lleave"))
    name = platform.create_class(platform.unique("leave"), [prof], [stay, leave])
    materials = platform.data_dir / "classes" / name / "materials"

    def lists_materials(user: str) -> bool:
        return subprocess.run(["runuser", "-u", platform.system_user(user), "--", "ls", str(materials)],
                              capture_output=True, check=False).returncode == 0

    if platform.isolated:
        assert lists_materials(leave) and lists_materials(stay)
    removed = platform.classes_api(prof, "DELETE", f"classes/{name}/students", {"users": [leave]})
    assert removed.status_code == 200 and removed.json()["students"] == [stay], removed.text
    assert platform.api("GET", f"/groups/{name}-students").json()["users"] == [stay]
    assert platform.classes_api(leave, "GET", "classes").json() == []
    again = platform.astrohub("classes", "remove-students", name, "--users", leave)
    assert again.returncode == 2 and "are not students of class" in again.stderr, again.stderr
    if platform.isolated:
        assert (lists_materials(leave), lists_materials(stay)) == (False, True)


def test_a_student_renamed_by_an_admin_keeps_her_returned_feedback_and_score(platform):
    """classes24: the admin renames a student on the hub (its API, as the admin page's Edit User does), then
    ``astrohub classes rename-member``: under her new name she sees the feedback returned to her and her work,
    her copies of the class's work are in her new home, and her new system user reaches her submissions (the class's
    log named her by the old name: she lost them). rename24: she opens her team workspace under the new name, as its
    owner, and her new system user reaches its folder through ~/workspaces/ (she stayed its owner under the old name)."""
    prof, old, new = (platform.unique(n) for n in ("rnprof", "rnold", "rnnew"))
    name = platform.create_class(platform.unique("rename"), [prof], [old])
    ws = platform.unique("rnws")
    made = platform.classes_api(old, "POST", "workspaces", {"name": ws, "members": [prof]})
    assert made.status_code == 200, made.text
    root = platform.data_dir / "classes" / name
    (root / "instructors" / "hw1").mkdir()
    (root / "instructors" / "hw1" / "task.txt").write_text("measure the parallax")
    assert platform.classes_api(prof, "POST", f"classes/{name}/assignments/hw1/release").status_code == 200
    assert platform.classes_api(old, "POST", f"classes/{name}/assignments/hw1/submit").status_code == 200
    assert platform.classes_api(prof, "POST", f"classes/{name}/assignments/hw1/collect").status_code == 200
    (root / "instructors" / "feedback" / "hw1" / old).mkdir(parents=True)
    (root / "instructors" / "feedback" / "hw1" / old / "grade.txt").write_text("9/10")
    returned = platform.classes_api(prof, "POST", f"classes/{name}/assignments/hw1/feedback")
    assert returned.json()["returned"] == {old: ["grade.txt"]}, returned.text
    renamed = platform.api("PATCH", f"/users/{old}", json={"name": new})
    assert renamed.status_code == 200, renamed.text
    platform.users.add(new)  # the session's teardown removes her new system user too
    done = platform.astrohub("classes", "rename-member", old, new)
    assert done.returncode == 0 and f"'{old}' is '{new}' now" in done.stdout, done.stdout + done.stderr
    mine = platform.classes_api(new, "GET", f"classes/{name}").json()
    assert mine["feedback"] == ["hw1"] and [s["student"] for s in mine["submissions"]] == [new], mine
    copy = platform.data_dir / "home" / new / name / "hw1"  # her work and feedback, in her new home
    assert (copy / "feedback" / "grade.txt").read_text() == "9/10" and (copy / "task.txt").is_file()
    if platform.isolated:
        assert (copy / "task.txt").stat().st_uid == pwd.getpwnam(platform.system_user(new)).pw_uid
    roster = platform.classes_api(prof, "GET", f"classes/{name}").json()
    assert roster["students"] == [new], roster
    if platform.isolated:
        listing = subprocess.run(["runuser", "-u", platform.system_user(new), "--", "ls",
                                  str(root / "submissions" / new / "hw1")], capture_output=True, text=True)
        assert listing.returncode == 0 and listing.stdout.strip(), listing.stderr
    team = platform.classes_api(new, "GET", f"workspaces/{ws}")
    assert team.status_code == 200 and team.json()["owner"] == new, team.text
    if platform.isolated:
        wrote = subprocess.run(["runuser", "-u", platform.system_user(new), "--", "touch",
                                str(platform.data_dir / "home" / new / "workspaces" / ws / "notes.txt")],
                               capture_output=True, text=True)
        assert wrote.returncode == 0, wrote.stderr


def test_exam_mode_freezes_materials_and_refuses_late_submissions(platform, course):
    """Its own assignment, so it runs alone too (``-k exam``; it used the full cycle's hw1: a 404 alone)."""
    name, prof, (_s1, s2, s3) = course["name"], course["prof"], course["students"]
    materials = course["root"] / "materials"
    quiz = course["root"] / "instructors" / "quiz1"
    platform.execute(prof, f"from pathlib import Path; Path({str(quiz)!r}).mkdir(); "
                           f"Path({str(quiz / 'task.txt')!r}).write_text('estimate the distance')")
    released = platform.classes_api(prof, "POST", f"classes/{name}/assignments/quiz1/release")
    assert released.status_code == 200, released.text
    write = f"""
try:
    open({str(materials / 'exam-notes.md')!r}, 'w').write('x'); print('allowed')
except PermissionError:
    print('refused')
"""
    # After quiz1's release (service's clock <= now), so a window ending at `now` holds it: an assignment first
    # released after an exam's end is not the exam's, and a release within the second before a window
    # "that ended a second ago" was not (alone, the late submission below was taken).
    now = time.time()
    opened = platform.classes_api(prof, "POST", f"classes/{name}/exam", {"start": now - 5, "end": now + 3600})
    assert opened.status_code == 200 and opened.json()["exam"]["frozen"] is True, opened.text
    if platform.isolated:
        assert platform.execute(prof, write).strip() == "refused"  # frozen, even for instructors
    assert platform.classes_api(s3, "POST", f"classes/{name}/assignments/quiz1/submit").status_code == 200
    # The window closes (set here to one that has just ended): late work is refused, materials thaw.
    closed = platform.classes_api(prof, "POST", f"classes/{name}/exam", {"start": now - 60, "end": now})
    assert closed.json()["exam"]["frozen"] is False
    late = platform.classes_api(s2, "POST", f"classes/{name}/assignments/quiz1/submit")
    assert late.status_code == 403 and "submissions after the deadline are refused" in late.json()["message"]
    if platform.isolated:
        assert platform.execute(prof, write).strip() == "allowed"
    actions = [a["action"] for a in platform.classes_api(prof, "GET", f"classes/{name}/log").json()]
    assert actions[-3:] == ["exam", "materials thawed", "late submission refused"], actions
    assert platform.classes_api(s2, "GET", f"classes/{name}/log").status_code == 403
    # The exam named by its assignments (the CLI): quiz1, released before it ended, is homework again.
    from datetime import datetime, timezone

    def iso(t):
        return datetime.fromtimestamp(t, timezone.utc).isoformat()

    named = platform.astrohub("classes", "exam", name, "--start", iso(now - 60), "--end", iso(now),
                      "--assignments", "midterm", "--json")
    assert named.returncode == 0 and json.loads(named.stdout)["exam"]["assignments"] == ["midterm"], named.stderr
    assert platform.classes_api(s2, "POST", f"classes/{name}/assignments/quiz1/submit").status_code == 200


def test_one_person_owns_at_most_the_operators_number_of_workspaces(platform, course):
    """teams24: nothing limited how many workspaces one user made (each a folder, a hub group, ACLs). The harness's
    platform sets ``classes.max_workspaces_per_user=3`` (astrohub up --set): a fourth is refused through the API
    and the class page's form alike, naming the limit and the setting, and nothing of it is made; deleting one
    frees a place. And (teams24, isolation) a workspace's name cannot take over a hub group that is not its own."""
    lead, teammate = platform.unique("wslead"), course["outsider"]
    platform.create_user(lead)
    made = [platform.unique(f"wslim{i}") for i in range(4)]
    # isolation: a workspace's name never makes its owner a member of a hub group that is not its own (ws-<name>)
    taken = platform.unique("wstaken")
    assert platform.api("POST", f"/groups/ws-{taken}").status_code == 201  # the operator's group
    refused = platform.classes_api(lead, "POST", "workspaces", {"name": taken})
    assert refused.status_code == 409 and refused.json()["code"] == "group-taken", refused.text
    assert platform.api("GET", f"/groups/ws-{taken}").json()["users"] == []
    for ws in made[:3]:
        answer = platform.classes_api(lead, "POST", "workspaces", {"name": ws, "members": [teammate]})
        assert answer.status_code == 200, answer.text
    said = (f"'{lead}' owns 3 workspaces ({', '.join(sorted(made[:3]))}), the most one person may own on this "
            "platform (3, the operator's setting classes.maxWorkspacesPerUser): delete one you no longer need, or "
            "ask the platform's admins to raise the setting (or to make this one for you)")
    refused = platform.classes_api(lead, "POST", "workspaces", {"name": made[3]})
    assert refused.status_code == 409 and refused.json() == {"status": 409, "code": "too-many-workspaces",
                                                             "message": said}, refused.text
    session = platform.login(lead)
    page = session.get(f"{platform.url}services/astrohub-classes/", timeout=60).text
    xsrf = re.search(r"name='_xsrf' value='([^']*)'", page).group(1)
    form = session.post(f"{platform.url}services/astrohub-classes/workspace", timeout=60,
                        data={"_xsrf": xsrf, "action": "create", "workspace": made[3], "members": teammate})
    assert form.status_code == 409 and f"Not done: {said}" in html.unescape(form.text), form.text[:900]
    assert not (platform.data_dir / "workspaces" / made[3]).exists()
    assert platform.api("GET", f"/groups/ws-{made[3]}").status_code == 404
    assert platform.classes_api(lead, "DELETE", f"workspaces/{made[0]}").status_code == 200
    again = platform.classes_api(lead, "POST", "workspaces", {"name": made[3]})
    assert again.status_code == 200 and again.json()["owner"] == lead, again.text


def test_a_workspace_owner_adds_a_member_who_then_writes_there(platform, course):
    owner, member = course["students"][0], course["prof"]  # both have running servers
    reader, stranger = course["students"][1], course["outsider"]
    ws = platform.unique("fieldnotes")
    created = platform.classes_api(owner, "POST", "workspaces", {"name": ws, "readers": [reader]})
    assert created.status_code == 200, created.text
    assert created.json()["owner"] == owner and created.json()["readers"] == [reader]
    assert platform.classes_api(owner, "POST", "workspaces", {"name": ws}).status_code == 409
    added = platform.classes_api(owner, "POST", f"workspaces/{ws}/members", {"add": [member]})
    assert added.status_code == 200 and added.json()["members"] == sorted([owner, member])
    # The members are mirrored to the hub group ws-<name> (no group folder of its own).
    assert sorted(platform.api("GET", f"/groups/ws-{ws}").json()["users"]) == sorted([owner, member])
    folder = platform.data_dir / "workspaces" / ws
    out = platform.execute(member, f"open({str(folder / 'from-member.txt')!r}, 'w').write('hello'); print('ok')")
    assert out.strip() == "ok"
    # In a notebook the workspace is a storage space with its own quota, which the operator sets.
    assert platform.astrohub("quotas", "set", f"workspace/{ws}", "1000").returncode == 0
    over = platform.execute(member, textwrap.dedent(f"""
        from platform_lib.storage import Storage, QuotaExceeded
        try:
            Storage().write_bytes('workspace/{ws}:big.bin', b'x' * 2000); print('allowed')
        except QuotaExceeded as exc:
            print('refused:', exc)
    """))
    assert over.startswith("refused:") and f"workspace/{ws}" in over, over
    assert not (folder / "big.bin").exists()
    # rel9: Lab's upload of a big file (chunks 1, 2, ..., -1) refused by the quota at its second chunk left the
    # first chunk written over the file; the file is replaced whole at the last chunk only, or not at all.
    contents = f"{platform.server_url(member)}api/contents/workspaces/{ws}"
    auth = {"Authorization": f"token {platform.user_token(member)}"}

    def put(name, text, chunk=None):
        model = {"type": "file", "format": "text", "content": text, **({"chunk": chunk} if chunk else {})}
        return platform.session.put(f"{contents}/{name}", headers=auth, json=model, timeout=60)

    assert put("notes.txt", "v1").status_code in (200, 201)
    assert put("notes.txt", "a" * 600, chunk=1).status_code in (200, 201)
    listed = platform.session.get(contents, headers=auth, timeout=60).json()["content"]
    assert sorted(item["name"] for item in listed) == ["from-member.txt", "notes.txt"]  # the upload is not listed
    refused = put("notes.txt", "b" * 600, chunk=2)
    assert refused.status_code == 413 and f"workspace/{ws}" in refused.json()["message"], refused.text
    assert (folder / "notes.txt").read_text() == "v1"
    assert sorted(p.name for p in folder.iterdir()) == ["from-member.txt", "notes.txt"]
    assert put("notes.txt", "c" * 300, chunk=1).status_code in (200, 201)
    assert (folder / "notes.txt").read_text() == "v1"
    done = put("notes.txt", "d" * 300, chunk=-1)
    assert done.status_code in (200, 201) and done.json()["size"] == 600, done.text
    assert (folder / "notes.txt").read_text() == "c" * 300 + "d" * 300
    # A member who is not the owner cannot add members; nor can somebody outside.
    for who in (member, stranger):
        refused = platform.classes_api(who, "POST", f"workspaces/{ws}/members", {"add": [stranger]})
        assert refused.status_code == 403 and "only its owner" in refused.json()["message"], refused.text
    if platform.isolated:
        readonly = platform.execute(owner, f"""
import subprocess
print(open({str(folder / 'from-member.txt')!r}).read())
""")
        assert readonly.strip() == "hello"
        # The owner removes the member: the folder is closed to them at once.
        platform.classes_api(owner, "POST", f"workspaces/{ws}/members", {"remove": [member]}).raise_for_status()
        out = platform.execute(member, f"""
from platform_lib.storage import Storage, StorageError
try:
    open({str(folder / 'again.txt')!r}, 'w'); print("allowed")
except PermissionError:
    print("refused")
try:
    Storage().write_bytes('workspace/{ws}:again.txt', b'x'); print("allowed")
except StorageError as exc:  # team12: it said "no space 'workspace/...'", as if the workspace were gone
    print(exc.code, exc)
""")
        assert out.strip().splitlines()[0] == "refused", out
        assert out.strip().splitlines()[1].startswith(f"not-a-member user {member!r} is not in the workspace {ws!r}"), out
        # team12: a save from Lab into it said "it may be a link into another user's folder"
        saved = platform.session.put(f"{platform.server_url(member)}api/contents/workspaces/{ws}/again.txt",
                                     headers={"Authorization": f"token {platform.user_token(member)}"}, timeout=60,
                                     json={"type": "file", "format": "text", "content": "x"})
        assert saved.status_code == 403 and f"no longer, a member of the workspace {ws!r}" in saved.json()["message"], (
            saved.text)
    # rel9: the owner deletes the workspace; in the member's kernel platform_lib.storage said only "no space":
    # it names the workspace, who deleted it and when, and how to keep one's work
    assert platform.classes_api(owner, "DELETE", f"workspaces/{ws}").status_code == 200
    told = platform.execute(member, textwrap.dedent(f"""
        from platform_lib.storage import Storage, WorkspaceDeleted
        try:
            Storage().write_bytes('workspace/{ws}:after.txt', b'x'); print('allowed')
        except WorkspaceDeleted as exc:
            print(exc)
    """))
    assert told.startswith(f"workspace/{ws} was deleted by {owner!r} on ") and "'home:" in told, told


#: A notebook that says it started (a file ``started`` beside it), then waits for the file ``go`` (at most 25 s).
WAITING_NOTEBOOK = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {
    "name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}}, "cells": [{
        "cell_type": "code", "id": "wait", "metadata": {}, "outputs": [], "execution_count": None,
        "source": "import pathlib, time\npathlib.Path('started').write_text('1')\ndeadline = time.time() + 25\n"
                  "while not pathlib.Path('go').exists() and time.time() < deadline:\n    time.sleep(0.1)\n"
                  "print('went' if pathlib.Path('go').exists() else 'waited')"}]}


def test_a_students_server_keeps_answering_while_validate_runs_her_notebook(platform, course):
    """rel9: nbgrader's Validate ran the notebook on her server's event loop: her Lab froze until it ended.

    An ordering check: while her notebook waits in Validate (for a file only the test writes), her server
    lists her folder and reports itself busy to the culler (``astrohub/activity``); then the notebook is let go
    and Validate answers as nbgrader does."""
    student = course["students"][0]  # her server runs (fixture), started as a student of the class
    base, auth = platform.server_url(student), {"Authorization": f"token {platform.user_token(student)}"}
    folder = platform.unique("check")
    for path, model in [(folder, {"type": "directory"}),
                        (f"{folder}/wait.ipynb", {"type": "notebook", "format": "json", "content": WAITING_NOTEBOOK})]:
        made = platform.session.put(f"{base}api/contents/{path}", headers=auth, timeout=60, json=model)
        assert made.status_code in (200, 201), made.text
    home = platform.data_dir / "home" / student / folder
    validated = {}

    def validate():
        validated["answer"] = platform.session.post(f"{base}assignments/validate", headers=auth, timeout=120,
                                                    json={"path": f"{folder}/wait.ipynb"})

    thread = threading.Thread(target=validate)
    thread.start()
    try:
        deadline = time.monotonic() + 120
        while not (home / "started").exists():
            assert thread.is_alive() and time.monotonic() < deadline, validated
            time.sleep(0.1)
        listed = platform.session.get(f"{base}api/contents/{folder}", headers=auth, timeout=20)
        assert listed.status_code == 200 and thread.is_alive()  # answered while Validate still runs
        assert "wait.ipynb" in [item["name"] for item in listed.json()["content"]]
        # and the culler sees it busy: a long Validate, with no traffic from her browser, did not count
        while (busy := platform.session.get(f"{base}astrohub/activity", headers=auth, timeout=20).json()["busy"]
               ).get("validate") != [f"{folder}/wait.ipynb"]:
            assert thread.is_alive() and time.monotonic() < deadline, busy
            time.sleep(0.2)
    finally:
        platform.session.put(f"{base}api/contents/{folder}/go", headers=auth, timeout=60,
                             json={"type": "file", "format": "text", "content": ""})
        thread.join(timeout=120)
    answer = validated["answer"]
    assert answer.status_code == 200 and answer.json()["success"] is True, answer.text
    # bad paths: JSON naming the problem, not a 500 page (a NUL) nor nbgrader's traceback (no such file, a folder,
    # a name too long, a file that is not a notebook)
    platform.session.put(f"{base}api/contents/{folder}/notes.txt", headers=auth, timeout=60,
                         json={"type": "file", "format": "text", "content": "not a notebook"}).raise_for_status()
    for body, status, words in (({}, 400, "Validate needs the notebook"), ({"path": "a\x00b.ipynb"}, 400, "NUL"),
                                ({"path": "nope.ipynb"}, 404, "no notebook 'nope.ipynb'"),
                                ({"path": folder}, 404, "no notebook"),
                                ({"path": "a" * 300 + ".ipynb"}, 404, "no notebook"),
                                ({"path": "../../etc/passwd"}, 403, "outside"),
                                ({"path": f"{folder}/notes.txt"}, 200, "could not check")):
        bad = platform.session.post(f"{base}assignments/validate", headers=auth, timeout=60, json=body)
        assert bad.status_code == status and words in bad.json()["value"], (body, bad.status_code, bad.text[:300])
        assert "Traceback" not in bad.text and bad.json()["success"] is False, (body, bad.text[:300])
    # jsbodies26: a body that is not UTF-8 was nbgrader's (Jupyter Server's) UnicodeDecodeError, a 500; now no path
    latin = platform.session.post(f"{base}assignments/validate", headers={**auth, "Content-Type": "application/json"},
                                  timeout=60, data=b'{"path": "caf\xe9.ipynb"}')
    assert latin.status_code == 400 and "Validate needs the notebook" in latin.json()["value"], latin.text[:300]


def test_a_member_shares_a_running_server_with_the_workspace_and_nobody_else_reaches_it(platform, course):
    """JupyterHub shares, one per read-write member (a group share does not reach the members' tokens)."""
    sharer, member = course["students"][0], course["prof"]  # both servers run (fixture)
    reader, stranger = course["students"][1], course["outsider"]
    ws = platform.unique("shared")
    platform.classes_api(member, "POST", "workspaces", {"name": ws, "members": [sharer], "readers": [reader]}
          ).raise_for_status()
    assert platform.classes_api(stranger, "POST", f"workspaces/{ws}/share").status_code == 403
    assert platform.classes_api(reader, "POST", f"workspaces/{ws}/share").status_code == 403
    shared = platform.classes_api(sharer, "POST", f"workspaces/{ws}/share")
    assert shared.status_code == 200 and shared.json()["shared_with"] == [member], shared.text

    def reaches(user: str) -> int:  # a fresh token each time: the user server caches what a token may do
        token = platform.api("POST", f"/users/{user}/tokens", json={"note": "share test"}).json()["token"]
        return platform.server_get(sharer, "api/contents", token=token).status_code

    assert (reaches(member), reaches(reader), reaches(stranger)) == (200, 403, 403)
    # The owner removes the member: the share is revoked with the membership.
    platform.classes_api(member, "POST", f"workspaces/{ws}/members", {"remove": [sharer]}).raise_for_status()
    assert reaches(member) == 403


def test_the_classes_tutorial_runs_as_the_instructor_then_a_student(platform, course):
    """examples/classes-and-workspaces.ipynb, cell after cell in one kernel of a user's server: the instructor
    releases the practice assignment with a due date, a student sees it and submits it (on time), and the
    instructor's gradebook cell shows that submission against the due date."""
    import re
    from pathlib import Path

    notebook = Path(__file__).resolve().parents[2] / "examples" / "classes-and-workspaces.ipynb"
    cells = {c["id"]: "".join(c["source"]) for c in json.loads(notebook.read_text())["cells"]
             if c["cell_type"] == "code"}
    code = "\n\n".join(cells.values())
    name, prof, s1 = course["name"], course["prof"], course["students"][0]
    taught = platform.execute(prof, code, timeout=180)
    due = re.search(rf"practice released to 3 students of {name}, due (\S+)", taught)
    assert due, taught
    out = platform.execute(s1, code, timeout=180)
    assert f"{name}/practice: due {due[1]}" in out and f"practice submitted: on time (due {due[1]})" in out, out
    book = platform.execute(prof, "\n\n".join(cells[c] for c in ("cell-1", "cell-due-0", "cell-due-4")))
    due = re.search(r"due (\S+)\n", book)[1]  # released again, due a week from now again
    assert re.search(rf"^\s*{s1}\s+1\s+\S+\s+{due}\s+False\s+0$", book, re.M), book
    assert re.search(rf"^\s*{course['students'][1]}\s+0\s+None\s+{due}\s+None\s+None$", book, re.M), book
    assert f"'name': '{course['name']}', 'role': 'student'" in out
    assert f"owner:   {s1}" in out and "2000 rows shared in magnitudes.csv" in out
    assert "refused: workspace" in out and "unknown user(s) ['nobody-of-that-name']" in out
    assert (platform.data_dir / "workspaces" / f"{s1}-survey" / "magnitudes.csv").exists()
    # Storage in use, from code (the API) and on the page.
    used = platform.classes_api(s1, "GET", "usage").json()
    assert used["user"] == s1 and used["home"]["quota"] is None
    assert used["home"]["files"] >= 1 and used["workspaces"][f"{s1}-survey"]["bytes"] > 0
    page = platform.login(s1).get(f"{platform.url}services/astrohub-classes/", timeout=60).text
    assert "<h2>Storage</h2>" in page and f"workspace {s1}-survey" in page


def test_a_class_pins_its_profile_and_an_exam_guarantees_its_resources(platform, tmp_path):
    """The class's profile (fixture: ``lab``) reaches its students' servers; inside an exam window the
    guarantees equal the limits (locally: what JupyterHub exports as MEM_/CPU_GUARANTEE)."""
    prof, student = platform.unique("pprof"), platform.unique("pstud")
    for user in (prof, student):
        platform.create_user(user)
    # A server with a profile that is not offered: a 400 naming it and the choices (was "Invalid user options")
    refused = platform.api("POST", f"/users/{prof}/server", json={"profile": "nope"})
    assert refused.status_code == 400, refused.text
    assert "profile 'nope' is not available" in refused.json()["message"] and "'lab'" in refused.json()["message"]
    name = platform.unique("pinned")
    unknown = platform.astrohub("classes", "create", name, "--instructors", prof, "--profile", "nope")
    assert unknown.returncode == 2 and "no profile 'nope'" in unknown.stderr and "'lab'" in unknown.stderr
    # A name is one path segment: '../x' named another route ("no such route .../api/x"); a roster that is not
    # UTF-8 is named, not a traceback
    # (every verb: remove-students and grades put it in the path raw)
    for verb in (["show"], ["remove-students", "--users", prof], ["grades"]):
        odd = platform.astrohub("classes", verb[0], "../x", *verb[1:])
        assert odd.returncode == 2 and "no class '../x'" in odd.stderr, (verb, odd.stderr)
    latin = tmp_path / "roster.csv"
    latin.write_bytes("username\nm\u00fcller\n".encode("cp1252"))
    unread = platform.astrohub("classes", "create", name, "--instructors", prof, "--csv", str(latin))
    assert unread.returncode == 2 and "is not UTF-8 text" in unread.stderr, unread.stderr
    created = platform.astrohub("classes", "create", name, "--instructors", prof, "--students", student,
                        "--profile", "lab")
    assert created.returncode == 0, created.stdout + created.stderr
    show = "import os; print(*[os.environ.get(k) for k in ('ASTROHUB_PROFILE', 'LAB_TOOLS', 'MEM_LIMIT', " \
           "'MEM_GUARANTEE', 'CPU_LIMIT', 'CPU_GUARANTEE', 'ASTROHUB_EXAM')])"
    platform.start_server(student)
    try:
        before = platform.execute(student, show).split()
        assert before == ["lab", "on", str(3 * 2**30), str(2**30), "1.5", "None", "None"], before
    finally:
        platform.stop_server(student)
    now = time.time()
    opened = platform.classes_api(prof, "POST", f"classes/{name}/exam", {"start": now - 5, "end": now + 600})
    assert opened.status_code == 200, opened.text
    platform.start_server(student)
    try:
        during = platform.execute(student, show).split()
        assert during == ["lab", "on", str(3 * 2**30), str(3 * 2**30), "1.5", "1.5", "1"], during
    finally:
        platform.stop_server(student)
