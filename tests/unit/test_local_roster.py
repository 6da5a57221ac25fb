"""Unit tests of platform_lib.local.roster: roster CSV parsing, checked row by row."""

from __future__ import annotations

import pytest

from platform_lib.local.errors import RosterError
from platform_lib.local.roster import Roster, apply_roster, read_roster


def test_names_are_normalised_and_groups_collected():
    roster = read_roster("Name,Email,Groups\n Ann ,a@x,astro101\nbob,,astro101; team-x\n\ncy,,\n")
    assert roster.users == ["ann", "bob", "cy"]
    assert roster.groups == {"astro101": ["ann", "bob"], "team-x": ["bob"]}


def test_every_bad_row_is_named_and_nothing_is_returned():
    text = "username,groups\nann,astro101\nBob Smith,astro101\nANN,\nok,../etc\n" + "x" * 40 + ",\n"
    with pytest.raises(RosterError) as info:
        read_roster(text, source="class.csv")
    problems = info.value.problems
    assert [p.split(":")[0] for p in problems] == ["row 3", "row 4", "row 5", "row 6"]
    assert "'bob smith'" in problems[0]
    assert "same person as row 2" in problems[1]
    assert "'../etc'" in problems[2]
    assert "too long" in problems[3]
    assert "nothing was changed" in str(info.value) and "class.csv" in str(info.value)


def test_a_group_column_and_groups_cut_by_commas():
    # 'group' is the groups column (its memberships were dropped silently); fields beyond the header are a bad row
    assert read_roster("name,group\njo,x\n").groups == {"x": ["jo"]}
    with pytest.raises(RosterError) as info:
        read_roster("username,groups\nann,astro101,team-x\nbob,astro101\n")
    assert info.value.problems == ["row 2: 1 field(s) more than the header's columns (['team-x']); separate several "
                                   "groups with ';', not ','"]


def test_a_roster_that_is_not_utf8_is_named(tmp_path):
    import subprocess
    import sys

    roster = tmp_path / "class.csv"
    roster.write_bytes("username,groups\nm\u00fcller,astro101\n".encode("cp1252"))
    result = subprocess.run([sys.executable, "-m", "platform_lib", "users", "add", "--csv", str(roster),
                             "--data-dir", str(tmp_path / "data")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr  # was a UnicodeDecodeError
    assert "is not UTF-8 text" in result.stderr and "CSV UTF-8" in result.stderr


def test_a_file_without_a_username_column_or_rows_is_refused():
    with pytest.raises(RosterError, match="username"):
        read_roster("email,groups\na@x,g\n")
    with pytest.raises(RosterError, match="no users"):
        read_roster("username,groups\n")


class FakeHub:
    """Records the calls apply_roster makes (the real hub is exercised by the integration test)."""

    def __init__(self, users, groups):
        self._users, self._groups, self.calls = set(users), {k: list(v) for k, v in groups.items()}, []

    def users(self):
        return set(self._users)

    def groups(self):
        return {k: list(v) for k, v in self._groups.items()}

    def create_users(self, names):
        self.calls.append(("users", sorted(names)))

    def create_group(self, name):
        self.calls.append(("group", name))

    def add_to_group(self, group, users):
        self.calls.append(("members", group, sorted(users)))


def test_apply_creates_only_what_is_missing():
    hub = FakeHub({"ann"}, {"astro101": ["ann"]})
    done = apply_roster(hub, Roster(["ann", "bob"], {"astro101": ["ann", "bob"], "new": ["bob"]}))
    assert done == {"users": ["bob"], "groups": ["new"], "memberships": ["astro101:bob", "new:bob"]}
    assert hub.calls == [("users", ["bob"]), ("members", "astro101", ["bob"]), ("group", "new"),
                         ("members", "new", ["bob"])]
