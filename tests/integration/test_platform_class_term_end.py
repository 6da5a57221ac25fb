"""A class's people change mid-term, and an admin deletes, restores and renames the class, on the running platform.

The module's own class (``term``): a professor whose server runs (formgrader serves the class's course), two
students, one assignment released, submitted by a student and returned with feedback; nothing here needs another
module's tests to have run first (walk17c: the delete/restore journey read its submissions from the tests before
it). An instructor added mid-term finds the class's course in their home at once; an admin's deletion is refused
while a member's kernel works in the class's folder (the deletion would end it unwarned) unless forced; a class
restored under another name is served again by the professor's formgrader left running.
"""

from __future__ import annotations

import json
import os
import pwd
import textwrap

import psutil
import pytest


@pytest.fixture(scope="module")
def term(platform):
    """A class with an instructor (server running) and two students (s1's server running); hw1 released, s1's
    work submitted and her feedback returned; the instructor made the class's nbgrader course folder."""
    prof, s1, s2 = (platform.unique(n) for n in ("endprof", "ends1", "ends2"))
    name = platform.create_class(platform.unique("termend"), [prof], [s1, s2])
    root = platform.data_dir / "classes" / name
    platform.start_server(prof)
    platform.start_server(s1)
    platform.execute(prof, textwrap.dedent(f"""
        from pathlib import Path
        hw = Path({str(root / 'instructors' / 'hw1')!r}); hw.mkdir()
        (hw / "task.txt").write_text("measure the parallax")
        Path({str(root / 'instructors' / 'nbgrader')!r}).mkdir()
    """))
    released = platform.classes_api(prof, "POST", f"classes/{name}/assignments/hw1/release")
    assert released.status_code == 200, released.text
    platform.execute(s1, f"from pathlib import Path; (Path.home() / {name!r} / 'hw1' / 'answer.txt')"
                         ".write_text('0.77 arcsec')")
    submitted = platform.classes_api(s1, "POST", f"classes/{name}/assignments/hw1/submit")
    assert submitted.status_code == 200, submitted.text
    assert platform.classes_api(prof, "POST", f"classes/{name}/assignments/hw1/collect").status_code == 200
    platform.execute(prof, textwrap.dedent(f"""
        from pathlib import Path
        fb = Path({str(root / 'instructors' / 'feedback' / 'hw1' / s1)!r}); fb.mkdir(parents=True)
        (fb / "grade.txt").write_text("9/10: good")
    """))
    returned = platform.classes_api(prof, "POST", f"classes/{name}/assignments/hw1/feedback")
    assert returned.status_code == 200 and returned.json()["returned"] == {s1: ["grade.txt"]}, returned.text
    yield {"name": name, "prof": prof, "students": [s1, s2], "root": root}
    platform.stop_server(prof)
    platform.stop_server(s1)


def formgrader_assignments(platform, user):
    """``user``'s running formgrader's list of assignments (nbgrader's API): a requests.Response."""
    return platform.session.get(f"{platform.server_url(user)}formgrader/api/assignments", timeout=60,
                                headers={"Authorization": f"token {platform.user_token(user)}"},
                                allow_redirects=False)


def test_an_instructor_added_mid_term_finds_the_course_in_their_home_at_once(platform, term):
    """walk17c: an instructor added mid-term got ~/grading/<class> (the nbgrader course formgrader serves) only at
    their next server start, and nothing said so. It is made as they are added, and the answer says formgrader
    serves it from their next server start."""
    name = term["name"]
    ta = platform.unique("endta")
    platform.create_user(ta)
    added = platform.astrohub("classes", "add-instructors", name, "--users", ta, "--json")
    assert added.returncode == 0, added.stdout + added.stderr
    course = platform.data_dir / "home" / ta / "grading" / name
    assert course.is_symlink() and course.resolve() == (term["root"] / "instructors" / "nbgrader").resolve()
    if platform.isolated:  # made as her
        assert os.lstat(course).st_uid == pwd.getpwnam(platform.system_user(ta)).pw_uid
    message = json.loads(added.stdout)["message"]
    assert f"~/grading/{name}" in message and "from their next server start" in message, message
    removed = platform.astrohub("classes", "remove-instructors", name, "--users", ta)  # she helped a week
    assert removed.returncode == 0, removed.stdout + removed.stderr


def test_an_admin_pins_a_profile_on_a_class_already_made(platform, term):
    """walk17c: a class's profile could be pinned only as it was created (`classes create --profile`): a class made
    without one kept none. `astrohub classes profile <class> <slug>` (POST classes/<class>/profile) pins it on the
    class's hub groups, which the spawner reads at each start; '' unpins; an instructor, an unknown slug are refused
    and change nothing."""
    name, prof = term["name"], term["prof"]

    def pinned() -> list:
        return [platform.api("GET", f"/groups/{name}-{role}").json()["properties"].get("astrohub-profile")
                for role in ("students", "instructors")]

    assert pinned() == [None, None]
    refused = platform.classes_api(prof, "POST", f"classes/{name}/profile", {"profile": "lab"})
    assert refused.status_code == 403 and "only admins pin" in refused.json()["message"], refused.text
    unknown = platform.astrohub("classes", "profile", name, "nope")
    assert unknown.returncode == 2 and "no profile 'nope'" in unknown.stderr and "'lab'" in unknown.stderr
    assert pinned() == [None, None]
    done = platform.astrohub("classes", "profile", name, "lab", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["profile"] == "lab" and "from their next start" in done.stdout
    assert pinned() == ["lab", "lab"]
    assert platform.astrohub("classes", "profile", name, "").returncode == 0
    assert pinned() == ["", ""] and json.loads(platform.astrohub("classes", "show", name, "--json").stdout)["profile"] == ""


def test_a_class_that_ends_stops_pinning_the_servers_of_a_student_whose_other_class_goes_on(platform):
    """term24: the end of one class's term (`astrohub classes archive`) left its pinned profile on its hub groups, so
    a student of it and of a class that goes on kept starting her servers with the ended class's profile (the first
    pinned class by name decides). Archiving takes the pin off the ended class's groups; the other class's stays."""
    from astrohub_hub.pins import class_pins

    prof, ann = platform.unique("pinprof"), platform.unique("pinann")
    ended = platform.create_class(platform.unique("pina"), [prof], [ann])  # first by name
    going = platform.create_class(platform.unique("pinb"), [prof], [ann])
    for cls, slug in ((ended, "lab"), (going, "")):
        assert platform.astrohub("classes", "profile", cls, slug).returncode == 0

    def anns_pin():  # what her spawner reads at her next start: her groups' properties, as the hub holds them
        names = platform.api("GET", f"/users/{ann}").json()["groups"]
        groups = [platform.api("GET", f"/groups/{g}").json() for g in names]
        return class_pins([(g["name"], g.get("properties") or {}) for g in groups], 0)[0]

    assert anns_pin() == "lab"
    archived = platform.astrohub("classes", "archive", ended)
    assert archived.returncode == 0, archived.stdout + archived.stderr
    assert anns_pin() is None  # her own choice again, as in the class that goes on


def test_an_admin_deletes_the_class_at_the_end_and_its_data_is_kept_aside(platform, term, poll):
    """grade15: a class could not be deleted: its hub groups, folders and grading system users stayed for good. Its
    instructor and a student are refused, an unknown class is named, and the admin's `astrohub classes delete` takes
    the hub groups, the members' links (the instructor's ~/grading/<class> too: grade15b) and access, and the
    class's grading and kernel system users away; its folders and registry rows are kept under .deleted/.
    grade15b: `astrohub classes restore` brings it all back, and the student sees her submission and feedback
    again. walk17c: the deletion ended a member's kernel working in the class's folder without a word; it is
    refused naming her while it runs, and `--force` ends it and says so."""
    from astrohub_hub.accounts import grading_username, kernel_username

    name, prof, (s1, _s2) = term["name"], term["prof"], term["students"]
    for who in (prof, s1):
        refused = platform.classes_api(who, "DELETE", f"classes/{name}")
        assert refused.status_code == 403 and "only admins delete classes" in refused.json()["message"], refused.text
    ghost = platform.unique("endghost")
    unknown = platform.astrohub("classes", "delete", ghost)
    assert unknown.returncode == 2 and f"no class {ghost!r}" in unknown.stderr, unknown.stderr
    grader = grading_username(name, platform.config.users.system_user_prefix)
    made = []  # the grading identities (none here: no grading step ran; a restore makes them)
    for user in (grader, kernel_username(grader)) if platform.isolated else ():
        try:
            made.append(pwd.getpwnam(user).pw_name)
        except KeyError:
            pass
    roster = json.loads(platform.astrohub("classes", "show", name, "--json").stdout)
    hers = platform.classes_api(s1, "GET", f"classes/{name}").json()  # her submissions and returned feedback
    assert hers["submissions"] and hers["feedback"], hers
    grading_link = platform.data_dir / "home" / prof / "grading" / name  # made at his server's start (fixture)
    nbcourse = term["root"] / "instructors" / "nbgrader"
    assert os.path.lexists(grading_link)
    served = formgrader_assignments(platform, prof)
    assert served.status_code == 200, (served.status_code, served.text[:500])

    if platform.isolated:  # s1 works in a notebook opened from the class's folder: its kernel's folder is there
        kernel = working_kernel(platform, poll, s1, f"classes/{name}/materials")
        busy = platform.astrohub("classes", "delete", name)
        assert busy.returncode == 2 and f"class {name!r} is in use" in busy.stderr and s1 in busy.stderr, busy.stderr
        assert f"(pid {kernel})" in busy.stderr and "--force" in busy.stderr, busy.stderr
        assert platform.classes_api(s1, "GET", f"classes/{name}").status_code == 200  # nothing changed
        assert psutil.pid_exists(kernel)
        headers = {"Authorization": f"token {platform.user_token(s1)}"}
        for running in platform.session.get(f"{platform.server_url(s1)}api/kernels", headers=headers,
                                            timeout=30).json():  # she shuts it down
            platform.session.delete(f"{platform.server_url(s1)}api/kernels/{running['id']}", headers=headers,
                                    timeout=30)
        poll(lambda: not psutil.pid_exists(kernel), 60, "her kernel to end")

    deleted = platform.astrohub("classes", "delete", name, "--json")
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    answer = json.loads(deleted.stdout)
    kept = platform.data_dir / "classes" / ".deleted" / os.path.basename(answer["kept"])
    assert not term["root"].exists() and kept.is_dir() and str(kept) in answer["message"], answer
    assert answer["ended"] == {}, answer
    rows = json.loads((kept / "registry.json").read_text())
    assert sorted(r["user"] for r in rows["members"]) == sorted(roster["students"] + roster["instructors"])
    assert sorted(p.name for p in (kept / "submissions").iterdir()) == roster["students"]  # a folder each
    assert [p.name for p in (kept / "submissions" / s1 / "hw1").iterdir()] == [hers["submissions"][-1]["at"]]
    assert answer["system_users_removed"] == made
    for group in (f"{name}-students", f"{name}-instructors"):
        assert platform.api("GET", f"/groups/{group}").status_code == 404, group
    assert name not in [c["name"] for c in platform.classes_api(s1, "GET", "classes").json()]
    assert platform.classes_api(prof, "GET", f"classes/{name}").status_code == 404
    for user in (prof, s1):  # their links to the class went; s1's copies of the assignments stay hers
        assert not os.path.lexists(platform.data_dir / "home" / user / "classes" / name), user
    assert not os.path.lexists(grading_link), "grade15b: the instructor's link to the deleted course stayed"
    # class16: his running formgrader served the deleted course until his server restarted; it says it is gone
    gone = formgrader_assignments(platform, prof)
    assert gone.status_code == 404 and gone.json()["success"] is False, (gone.status_code, gone.text[:500])
    assert f"the course folder {grading_link} is not there" in gone.json()["error"], gone.json()
    assert (platform.data_dir / "home" / s1 / name / "hw1" / "answer.txt").is_file()
    again = platform.astrohub("classes", "delete", name)
    assert again.returncode == 2 and f"no class {name!r}" in again.stderr, again.stderr
    # grade15b: the admin restores it, registry rows included: s1 sees her submission and feedback again
    refused = platform.classes_api(s1, "POST", f"classes/{kept.name}/restore")
    assert refused.status_code == 403 and "only admins restore classes" in refused.json()["message"], refused.text
    misnamed = platform.astrohub("classes", "restore", kept.name, "--as", "Not A Name")
    assert misnamed.returncode == 2 and "class name 'Not A Name'" in misnamed.stderr, misnamed.stderr
    restored = platform.astrohub("classes", "restore", kept.name)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    # class16: the course link came back only at his next start; now at once, and his formgrader serves it again
    assert grading_link.resolve() == nbcourse.resolve()
    again_served = formgrader_assignments(platform, prof)
    assert again_served.status_code == 200 and again_served.json() == served.json(), again_served.text[:500]
    assert term["root"].is_dir() and not kept.exists()
    back = platform.classes_api(s1, "GET", f"classes/{name}")
    assert back.status_code == 200, back.text
    for key in ("assignments", "submissions", "feedback", "deadlines"):
        assert back.json()[key] == hers[key], key
    group = platform.api("GET", f"/groups/{name}-students").json()
    assert sorted(group["users"]) == roster["students"], group
    if platform.isolated:  # made again (the class has a course folder), for the next autograde
        for user in (grader, kernel_username(grader)):
            pwd.getpwnam(user)
    for user in (prof, s1):
        assert (platform.data_dir / "home" / user / "classes" / name).resolve() == term["root"].resolve(), user
    if platform.isolated:  # her access came back (ACL entries): she reads her submission
        from system_user import run_as  # tests/support/, on the path by tests/conftest.py

        latest = hers["submissions"][-1]
        folder = term["root"] / "submissions" / s1 / latest["assignment"] / latest["at"]
        assert run_as(platform.system_user(s1), f"import json, os; print(json.dumps(os.listdir({str(folder)!r})))")
    twice = platform.astrohub("classes", "restore", kept.name)
    assert twice.returncode == 2 and f"no deleted class {kept.name!r}" in twice.stderr, twice.stderr

    # class16: deleted again (walk17c: forced while s1's kernel works in it, which is ended and named), and next
    # term's class takes the name: it could come back only under its own name. Restored under another, its
    # students' copies move with it (as them), and its groups and links are renamed.
    kernel = working_kernel(platform, poll, s1, f"classes/{name}/materials") if platform.isolated else None
    forced = platform.astrohub("classes", "delete", name, "--force", "--json")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    forced = json.loads(forced.stdout)
    if kernel:
        assert list(forced["ended"]) == [s1] and kernel in forced["ended"][s1], forced
        assert "were ended" in forced["message"], forced
    kept = os.path.basename(forced["kept"])
    assert platform.astrohub("classes", "create", name, "--instructors", prof).returncode == 0
    taken = platform.astrohub("classes", "restore", kept)
    assert taken.returncode == 2 and f"a class named {name!r} exists now" in taken.stderr, taken.stderr
    renamed = f"{name}-old"
    restored = platform.astrohub("classes", "restore", kept, "--as", renamed)
    assert restored.returncode == 0 and f"(it was {name!r})" in restored.stdout, restored.stdout + restored.stderr
    back = platform.classes_api(s1, "GET", f"classes/{renamed}")
    assert back.status_code == 200 and back.json()["submissions"] == hers["submissions"], back.text
    assert sorted(platform.api("GET", f"/groups/{renamed}-students").json()["users"]) == roster["students"]
    assert (platform.data_dir / "home" / prof / "grading" / renamed).resolve() == \
        (platform.data_dir / "classes" / renamed / "instructors" / "nbgrader").resolve()
    home = platform.data_dir / "home" / s1  # her copies moved from ~/<class>/ to ~/<renamed>/, still hers
    assert not os.path.lexists(home / name) and (home / renamed).is_dir()
    assert (home / renamed).stat().st_uid == home.stat().st_uid
    # walk17c: his formgrader, left running from before the rename, kept ~/grading/<old name> (gone) until his
    # server's next start; it follows the course to its new name
    renamed_served = formgrader_assignments(platform, prof)
    assert renamed_served.status_code == 200 and renamed_served.json() == served.json(), renamed_served.text[:500]


def working_kernel(platform, poll, user: str, folder: str) -> int:
    """Start a kernel of ``user``'s server whose working folder is ``folder`` (relative to the home, as a notebook
    opened there starts it); return its process id once it runs there."""
    started = platform.session.post(f"{platform.server_url(user)}api/kernels", timeout=60,
                                    headers={"Authorization": f"token {platform.user_token(user)}"},
                                    json={"name": "python3", "path": folder})
    assert started.status_code == 201, started.text
    where = os.path.realpath(platform.data_dir / "home" / user / folder)
    uid = pwd.getpwnam(platform.system_user(user)).pw_uid

    def kernel() -> int | None:
        for process in psutil.process_iter(["uids", "cwd", "cmdline"]):
            if (process.info["uids"] and process.info["uids"].real == uid and process.info["cwd"] == where
                    and "ipykernel_launcher" in " ".join(process.info["cmdline"] or ())):
                return process.pid
        return None

    return poll(kernel, 60, f"{user}'s kernel working in {where}")
