"""Unit tests of a class's grading identity: its name (astrohub_hub.accounts.grading_username) and, as root, its
creation with the access it gets (astrohub_hub.classes.Teaching._grading_identity: real useradd, setfacl)."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import textwrap
from pathlib import Path

import pytest

from astrohub_hub.accounts import SYSTEM_NAME_MAX, SystemAccounts, grading_username, system_username
from astrohub_hub.classes import Actor, Teaching
from astrohub_hub.errors import UsernameError


def test_a_grading_identity_is_named_from_its_class_and_is_never_a_persons_system_user():
    assert grading_username("astro101") == "astro-_grade-astro101"
    assert SystemAccounts("t12-").grader("astro101") == "t12-_grade-astro101"
    # no hub name maps to it: hub names start with a letter or a digit
    with pytest.raises(UsernameError):
        system_username("_grade-astro101")
    # a long class name keeps its first letters and a digest: at most 32 characters, two classes never one name
    long = [grading_username(f"observational-astronomy-{year}") for year in (2026, 2027)]
    assert all(len(n) == SYSTEM_NAME_MAX and n.startswith("astro-_grade-observatio-") for n in long), long
    assert long[0] != long[1]
    assert len(grading_username("x" * 40, "astro-lab-15ch-")) == SYSTEM_NAME_MAX
    with pytest.raises(UsernameError, match="prefix 'astro-prefix-16ch' is too long"):
        grading_username("x" * 40, "astro-prefix-16ch")


def _entries(path) -> list[str]:
    acl = subprocess.run(["getfacl", "--omit-header", "--absolute-names", str(path)], capture_output=True, text=True,
                         check=True).stdout.split()
    return sorted(line for line in acl if "_grade-" in line)


@pytest.mark.skipif(os.geteuid() != 0, reason="creates a system user: root only")
def test_the_grading_identity_is_made_at_first_grading_with_its_own_home_and_the_course_folder_alone():
    """Made with useradd as the platform makes its users (an older class's course folder, already holding an
    instructor's files, gets its entries too), a nologin account whose home is in no person's home, which can
    traverse the class's folder and its instructors' folder, write the course directory and nothing else."""
    from system_user import run_as  # tests/support/, on the path by tests/conftest.py

    prefix = f"u{os.getpid() % 10000}-"
    tmp_path = Path(tempfile.mkdtemp(prefix="grading-identity-"))  # under /tmp: the new user reaches it
    tmp_path.chmod(0o755)
    teaching = Teaching(tmp_path / "classes", tmp_path / "workspaces", tmp_path / "state" / "classes.sqlite",
                        accounts=SystemAccounts(prefix, run_as_system_users=True))
    teaching.create_class(Actor("root-cli", admin=True), "c1")
    teaching.create_class(Actor("root-cli", admin=True), "c2")
    base = tmp_path / "classes" / "c1"
    course = base / "instructors" / "nbgrader"
    course.mkdir()  # a class graded before grading identities: an instructor's course folder and gradebook
    (course / "gradebook.db").write_text("")
    name = prefix + "_grade-c1"
    try:
        assert teaching._grading_identity("c1") == name
        account = pwd.getpwnam(name)
        assert account.pw_shell == "/usr/sbin/nologin" and account.pw_gecos == "astrohub grading of class c1"
        home = tmp_path / "classes" / ".grading" / name
        assert account.pw_dir == str(home) and home.stat().st_uid == account.pw_uid
        assert stat.S_IMODE(home.stat().st_mode) == 0o700
        assert stat.S_IMODE(home.parent.stat().st_mode) == 0o711
        assert _entries(base) == _entries(base / "instructors") == [f"user:{name}:--x"]
        assert _entries(course) == [f"default:user:{name}:rwx", f"user:{name}:rwx"]
        assert _entries(course / "gradebook.db") == [f"user:{name}:rw-"]
        for other in (base / "materials", base / "submissions", tmp_path / "classes" / "c2"):
            assert _entries(other) == []
        kernel = pwd.getpwnam(prefix + "_kernl-c1")  # the students' notebooks run as it: no entry, no home to write
        assert kernel.pw_shell == "/usr/sbin/nologin" and kernel.pw_gecos == "astrohub grading kernels of class c1"
        kernel_home = Path(kernel.pw_dir)
        assert kernel_home.parent == home.parent and kernel_home.stat().st_uid == 0
        assert stat.S_IMODE(kernel_home.stat().st_mode) == 0o755
        for path in (base, base / "instructors", course, course / "gradebook.db"):
            acl = subprocess.run(["getfacl", "--omit-header", "--absolute-names", str(path)], capture_output=True,
                                 text=True, check=True).stdout
            assert "_kernl-" not in acl, (path, acl)
        assert teaching._grading_identity("c1") == name  # again: nothing to do
        assert run_as(name, textwrap.dedent(f"""
            import json, os
            from pathlib import Path
            Path({str(course / 'autograded')!r}).mkdir()
            open({str(course / 'gradebook.db')!r}, "a").close()
            refused = []
            for folder in ({str(base / 'materials')!r}, {str(base / 'submissions')!r}, {str(base.parent / 'c2')!r},
                           {str(base / 'instructors')!r}):
                try:
                    os.listdir(folder)
                except PermissionError:
                    refused.append(os.path.basename(folder))
            print(json.dumps(refused))
        """)) == ["materials", "submissions", "c2", "instructors"]
        assert run_as(kernel.pw_name, textwrap.dedent(f"""
            import json
            try:
                open({str(course / 'gradebook.db')!r}, "a").close()
                print(json.dumps("written"))
            except PermissionError:
                print(json.dumps("refused"))
        """)) == "refused"
        # grade15: deleting the class removes both identities and their homes; what the grading identity wrote is
        # kept, root's (no later user given its uid owns it)
        teaching._grading_identity("c2")
        deleted = teaching.delete_class(Actor("root-cli", admin=True), "c1")
        assert deleted["system_users_removed"] == [name, prefix + "_kernl-c1"], deleted
        for user in (name, prefix + "_kernl-c1"):
            with pytest.raises(KeyError):
                pwd.getpwnam(user)
            assert not (home.parent / user).exists()
        kept = Path(deleted["kept"])
        assert kept.parent == tmp_path / "classes" / ".deleted"
        assert (kept / "instructors" / "nbgrader" / "autograded").stat().st_uid == 0
        assert pwd.getpwnam(prefix + "_grade-c2") and pwd.getpwnam(prefix + "_kernl-c2")  # another class's stay
    finally:
        for user in (name, prefix + "_kernl-c1", prefix + "_grade-c2", prefix + "_kernl-c2"):
            subprocess.run(["userdel", user], check=False, capture_output=True)
            subprocess.run(["groupdel", user], check=False, capture_output=True)
        shutil.rmtree(tmp_path)


def test_formgraders_autograde_button_is_refused_and_its_other_routes_are_nbgraders():
    """formgrader's Autograde ran the students' notebooks in the instructor's server, as the instructor: its route
    now answers nbgrader's failure form naming the class page's autograding; every other route is unchanged."""
    from nbgrader.server_extensions.formgrader import apihandlers

    from astrohub_server.formgrader import _without_autograde

    before = list(apihandlers.default_handlers)
    after = _without_autograde(before)
    changed = [(b, a) for b, a in zip(before, after) if b != a]
    assert [b[0] for b, _ in changed] == [r"/formgrader/api/submission/([^/]+)/([^/]+)/autograde"]
    assert changed[0][1][1].__name__ == "AutogradeElsewhere" and len(after) == len(before)
