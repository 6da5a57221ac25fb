"""Unit tests of astrohub_hub.groupsync: the reconciliation plan, and applying it without root."""

from __future__ import annotations

from pathlib import Path

import pytest

from astrohub_hub.errors import HubError
from astrohub_hub import groupsync
from astrohub_hub.groupsync import AclApplier, Action, plan, sync_once


def test_new_group_gets_folder_then_grants():
    result = plan({"astro101": ["sam", "sue"]}, {}, system_users=True)
    assert result.actions == [
        Action("mkdir", "astro101"),
        Action("grant", "astro101", "astro-sam"),
        Action("grant", "astro101", "astro-sue"),
    ]
    assert result.problems == []


def test_membership_changes_grant_and_revoke_only_the_difference():
    observed = {"astro101": frozenset({"astro-sam", "astro-old"})}
    result = plan({"astro101": ["sam", "new"]}, observed, system_users=True)
    assert result.actions == [Action("grant", "astro101", "astro-new"), Action("revoke", "astro101", "astro-old")]


def test_a_group_without_members_gets_no_folder_until_its_first_member():
    """The classes service creates a roster group empty, then marks it "astrohub-folder": false, then adds the
    students: a poll between the first two steps made a folder the class must not have (the platform test
    checks that there is none)."""
    for system_users in (True, False):
        assert plan({"astro101-students": []}, {}, system_users=system_users).actions == []
    assert plan({"astro101-students": ["sam"]}, {}, system_users=True).actions == [
        Action("mkdir", "astro101-students"), Action("grant", "astro101-students", "astro-sam")]


def test_in_step_means_nothing_to_do():
    observed = {"a": frozenset({"astro-x"}), "b": frozenset()}
    assert plan({"a": ["x"], "b": []}, observed, system_users=True).actions == []


def test_deleted_group_loses_every_entry_then_its_folder_is_moved_aside():
    """groupdel14: a deleted group's folder kept its data in place, and a group created again under that name (with
    other people) was granted it. Now it is retired (moved aside), after its entries are revoked; a hub group without
    a folder of its own (``None``: a class's or workspace's) loses the entries of a folder left here, which stays."""
    observed = {"gone": frozenset({"astro-a", "astro-b"}), "class-students": frozenset({"astro-a"})}
    result = plan({"class-students": None}, observed, system_users=True)
    assert result.actions == [Action("revoke", "class-students", "astro-a"), Action("revoke", "gone", "astro-a"),
                              Action("unlink", "gone", "astro-a"), Action("revoke", "gone", "astro-b"),
                              Action("unlink", "gone", "astro-b"), Action("retire", "gone")]
    assert plan({"class-students": None}, {}, system_users=True).actions == []
    assert plan({"gone": None}, {"gone": frozenset()}, system_users=False).actions == []


def test_not_root_only_makes_folders():
    result = plan({"a": ["x"], "b": ["y"]}, {"a": frozenset()}, system_users=False)
    assert result.actions == [Action("mkdir", "b")]
    assert plan({}, {"gone": frozenset()}, system_users=False).actions == [Action("retire", "gone")]


def test_unsafe_names_are_skipped_and_reported():
    result = plan({"../etc": ["x"], "ok": ["Bad Name", "fine"]}, {}, system_users=True, prefix="u-")
    assert result.actions == [Action("mkdir", "ok"), Action("grant", "ok", "u-fine")]
    assert len(result.problems) == 2
    assert "'../etc'" in result.problems[0]
    assert "'Bad Name'" in result.problems[1]


def test_sync_once_without_root_creates_group_folders(tmp_path):
    applier = AclApplier(tmp_path / "groups", system_users=False)
    first = sync_once({"astro101": ["sam"], "team-x": []}, applier, system_users=False, prefix="astro-")
    assert [a.kind for a in first.actions] == ["mkdir"]  # team-x: once it has a member
    assert sorted(p.name for p in (tmp_path / "groups").iterdir()) == ["astro101"]
    assert (tmp_path / "groups" / "astro101").stat().st_mode & 0o777 == 0o770
    second = sync_once({"astro101": ["sam"], "team-x": ["sue"]}, applier, system_users=False, prefix="astro-")
    assert second.actions == [Action("mkdir", "team-x")]
    assert sync_once({"astro101": ["sam"], "team-x": ["sue"]}, applier, system_users=False, prefix="astro-").actions == []


def test_a_group_folder_made_anew_is_not_held_to_the_quota_an_earlier_one_left(tmp_path):
    """privacy14: the quota file of a group folder that was removed stayed (<root>/.astrohub-quotas/<name>.json), and
    a new group of that name was held to it. A quota is only set on a folder that exists, so the file found when
    the folder is made anew is the earlier one's: it is removed."""
    from astrohub_hub import folders

    root = tmp_path / "groups"
    (root / "lensing").mkdir(parents=True)
    folders.set_folder_quota(root / "lensing", 1000)
    (root / "lensing").rmdir()  # the operator removed the old group's folder
    sync_once({"lensing": ["sam"]}, AclApplier(root, system_users=False), system_users=False, prefix="astro-")
    assert (root / "lensing").is_dir() and folders.folder_quota(root / "lensing") is None
    folders.set_folder_quota(root / "lensing", 2000)  # the new group's own quota is kept
    sync_once({"lensing": ["sam"]}, AclApplier(root, system_users=False), system_users=False, prefix="astro-")
    assert folders.folder_quota(root / "lensing") == 2000


def test_a_group_made_again_starts_with_an_empty_folder_and_the_old_one_is_kept(tmp_path):
    """groupdel14, with real folders and ACLs: ``nobody`` (hub name ``y``) is in ``team``, which has a quota; the group
    is deleted; the folder moves to ``.deleted/team-<UTC time>/`` (root's only) with its data, only once the hub says
    404 for ``team`` (an error or a group still there moves nothing), and its quota goes; ``team`` made again (hub name
    ``dy`` under the prefix ``nobo``: the same system user, the only one a test can use) gets an empty folder without
    a quota."""
    import os

    from astrohub_hub import folders

    root = tmp_path / "groups"
    applier = AclApplier(root, prefix="nobod", system_users=True)
    assert sync_once({"team": ["y"]}, applier, system_users=True, prefix="nobod").problems == []
    (root / "team" / "plan.txt").write_text("observe M31")
    folders.set_folder_quota(root / "team", 1000)
    for hub_says in (lambda group: False, lambda group: 1 / 0 == 0):  # the group is there; the hub's answer failed
        try:
            sync_once({}, applier, system_users=True, prefix="nobod", gone=hub_says)
        except ZeroDivisionError:
            pass
        assert (root / "team" / "plan.txt").exists()
    asked = []
    done = sync_once({}, applier, system_users=True, prefix="nobod", gone=lambda group: asked.append(group) or True)
    assert asked == ["team"] and done.problems == []
    assert not (root / "team").exists() and folders.folder_quota(root / "team") is None
    [kept] = (root / ".deleted").iterdir()
    assert kept.name.startswith("team-") and (kept / "plan.txt").read_text() == "observe M31"
    assert (root / ".deleted").stat().st_mode & 0o777 == 0o700
    assert folders.acl_users(kept, "nobod") == {}
    assert applier.observe() == {}  # .deleted is no group's folder
    sync_once({"team": ["dy"]}, AclApplier(root, prefix="nobo", system_users=True), system_users=True, prefix="nobo")
    assert os.listdir(root / "team") == [] and folders.folder_quota(root / "team") is None
    assert set(folders.acl_users(root / "team", "nobo")) == {"nobody"}


def test_a_name_deleted_twice_in_the_same_second_keeps_both_folders(tmp_path):
    from astrohub_hub import folders

    kept = []
    for text in ("first", "second"):
        (tmp_path / "team").mkdir()
        (tmp_path / "team" / "f.txt").write_text(text)
        kept.append(folders.keep_deleted(tmp_path / "team", 0.0))
    assert [p.name for p in kept] == ["team-19700101T000000Z", "team-19700101T000000Z-2"]
    assert [(p / "f.txt").read_text() for p in kept] == ["first", "second"]
    assert folders.keep_deleted(tmp_path / "absent", 0.0).name == "absent-19700101T000000Z"  # nothing to move


def test_group_gone_only_on_the_hubs_404():
    from astrohub_hub.groupsync import group_gone
    from stand_in_http import StandInHandler, serving_http

    answers = {"/hub/api/groups/gone": 404, "/hub/api/groups/here": 200, "/hub/api/groups/broken": 500}

    class Handler(StandInHandler):
        def do_GET(self):
            self.answer(answers[self.path], {"name": self.path.rsplit("/", 1)[-1]})

    with serving_http(Handler) as server:
        api = f"http://127.0.0.1:{server.server_port}/hub/api"
        assert [group_gone(api, "tok", name) for name in ("gone", "here", "broken")] == [True, False, False]
    assert group_gone(api, "tok", "gone") is False  # nobody answers now


def test_acl_applier_grants_and_revokes_real_acls(tmp_path):
    """Real setfacl/getfacl on a tmp folder, with the existing system user 'nobody' as a member.

    Prefix 'nobod' + hub name 'y' maps to the system user 'nobody', so no user is created.
    """
    applier = AclApplier(tmp_path / "groups", prefix="nobod", system_users=True)
    first = sync_once({"team": ["y"]}, applier, system_users=True, prefix="nobod")
    assert first.problems == []
    assert applier.observe() == {"team": frozenset({"nobody"})}
    import subprocess

    acl = subprocess.run(["getfacl", "--omit-header", str(tmp_path / "groups" / "team")],
                         capture_output=True, text=True, check=True).stdout
    assert "user:nobody:rwx" in acl and "default:user:nobody:rwx" in acl
    second = sync_once({"team": []}, applier, system_users=True, prefix="nobod")
    assert second.actions == [Action("revoke", "team", "nobody")]
    assert applier.observe() == {"team": frozenset()}


def test_a_new_member_finds_the_group_linked_in_their_home_at_once(tmp_path, monkeypatch):
    """privacy14: the groups root is 0711, so ``~/groups`` is a folder of links to the user's own groups, which the
    spawner makes at each start; someone who joins while their server runs gets the link as the grant is made, made
    as them (``folders.link_as``; a real one: tests/integration/test_security_group_folders)."""
    import pwd

    from astrohub_hub import folders

    made = []
    monkeypatch.setattr(folders, "link_as", lambda *args, **kwargs: made.append(args))
    applier = AclApplier(tmp_path / "groups", prefix="nobod", system_users=True)
    sync_once({"team": ["y"]}, applier, system_users=True, prefix="nobod")
    root = tmp_path / "groups"
    assert made == [(Path(pwd.getpwnam("nobody").pw_dir) / "groups", {"team": str(root / "team")}, root, "nobody")]


def test_a_deleted_groups_links_leave_its_members_homes(tmp_path, monkeypatch):
    """qa14: a deleted group's ``~/groups/<group>`` link stayed in each member's home, leading nowhere, and Lab's file
    browser kept listing the group. Now the group sync removes it as them (``folders.link_as(remove=True)``), once the
    hub confirms the group is gone, as a deleted workspace's links go; a member removed from a group that still
    exists keeps theirs (only revoked)."""
    import pwd

    from astrohub_hub import folders

    calls = []
    monkeypatch.setattr(folders, "link_as", lambda *args, **kwargs: calls.append((args, kwargs)))
    monkeypatch.setattr(folders, "revoke", lambda *args, **kwargs: None)
    root = tmp_path / "groups"
    applier = AclApplier(root, prefix="nobod", system_users=True)
    monkeypatch.setattr(applier, "observe", lambda only=None: {"team": frozenset({"nobody"})})
    monkeypatch.setattr(groupsync, "_retire", lambda folder: None)
    home_links = Path(pwd.getpwnam("nobody").pw_dir) / "groups"

    sync_once({}, applier, system_users=True, prefix="nobod", gone=lambda group: False)  # the hub not sure: kept
    assert calls == []
    sync_once({"team": []}, applier, system_users=True, prefix="nobod", gone=lambda group: True)  # left, not gone
    assert calls == []
    sync_once({}, applier, system_users=True, prefix="nobod", gone=lambda group: True)
    assert calls == [((home_links, {"team": str(root / "team")}, root, "nobody"), {"remove": True})]


def test_fallback_to_unix_groups_without_setfacl(monkeypatch, tmp_path):
    from astrohub_hub import groupsync

    monkeypatch.setattr(groupsync.shutil, "which", lambda name: None)
    applier = groupsync.make_applier(tmp_path, prefix="astro-", system_users=True)
    assert isinstance(applier, groupsync.UnixGroupApplier)
    assert applier.unix_group("Astro101") == "astro-g-astro101"
    assert len(applier.unix_group("x" * 40)) == 32
    monkeypatch.setattr(groupsync.shutil, "which", lambda name: "/usr/bin/setfacl")
    assert isinstance(groupsync.make_applier(tmp_path, prefix="astro-", system_users=True), AclApplier)


def test_fetch_groups_follows_pagination():
    from urllib.parse import parse_qs, urlparse

    from astrohub_hub.groupsync import fetch_groups
    from stand_in_http import StandInHandler, serving_http  # tests/support/, on the path by tests/conftest.py

    roster = {"name": "c-students", "users": ["x"], "properties": {"astrohub-folder": False}}
    pages = {0: ([{"name": "a", "users": ["x"]}, roster], {"offset": 2}, 3), 2: ([{"name": "b", "users": []}], None, 3)}
    seen = []

    class Handler(StandInHandler):
        def do_GET(self):
            query = parse_qs(urlparse(self.path).query)
            seen.append((self.headers["Authorization"], self.headers["Accept"]))
            items, following, total = pages[int(query["offset"][0])]
            self.answer(200, {"items": items, "_pagination": {"next": following, "total": total}})

    with serving_http(Handler) as server:
        api = f"http://127.0.0.1:{server.server_port}/hub/api"
        groups = fetch_groups(api, "tok")
        assert groups == {"a": ["x"], "c-students": None, "b": []}
        assert seen == [("token tok", "application/jupyterhub-pagination+json")] * 2
        # groupdel14: a partial answer would move the folders of the groups it leaves out: it is refused
        for broken in ({2: ([{"name": "b", "users": []}], None, 4)},  # a group made while paging: totals differ
                       {2: ([{"name": "a", "users": ["x"]}], None, 3)},  # one deleted: "a" again, "b" not read
                       {2: ([], {"offset": 3}, 3)},  # an empty page that says more follow
                       {2: ({"unexpected": 1}, None, 3)}):
            pages.update(broken)
            with pytest.raises(HubError, match="list of groups"):
                fetch_groups(api, "tok")


def test_grant_now_reads_only_the_users_group_folders(monkeypatch, tmp_path):
    """At spawn, one getfacl per group of the user, not per group on the machine."""
    from astrohub_hub import groupsync

    root = tmp_path / "groups"
    for name in ("mine", "other-1", "other-2"):
        (root / name).mkdir(parents=True)
    looked_at: list[str] = []
    monkeypatch.setattr(AclApplier, "_acl_users", lambda self, folder: looked_at.append(folder.name) or frozenset())
    applied: list[Action] = []
    monkeypatch.setattr(AclApplier, "apply", lambda self, action: applied.append(action))
    groupsync.grant_now(root, ["mine", "new-one"], "astro-sam", prefix="astro-")
    assert looked_at == ["mine"]
    assert applied == [Action("grant", "mine", "astro-sam"), Action("mkdir", "new-one"),
                       Action("grant", "new-one", "astro-sam")]
    looked_at.clear()
    groupsync.grant_now(root, [], "astro-sam", prefix="astro-")
    assert looked_at == []
    assert AclApplier(root, system_users=False).observe(only=["mine", "absent"]) == {"mine": frozenset()}


def test_a_group_folder_made_before_its_first_member_is_closed_to_others(tmp_path):
    """group13: a group folder already there when its first member was granted (made by hand, restored from a
    backup) kept its mode, 0755 here, so every user on the machine listed and read the group's files."""
    import os

    import pytest

    if os.geteuid() != 0:
        pytest.skip("chown to root needs root")
    folder = tmp_path / "groups" / "team"
    folder.mkdir(parents=True)
    folder.chmod(0o755)
    os.chown(folder, 65534, 65534)  # not root's: its owner could change its mode and entries
    applier = AclApplier(tmp_path / "groups", prefix="nobod", system_users=True)
    assert sync_once({"team": ["y"]}, applier, system_users=True, prefix="nobod").actions == [
        Action("grant", "team", "nobody")]
    st = folder.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o007) == (0, 0, 0), (st.st_uid, oct(st.st_mode))
    assert applier.observe() == {"team": frozenset({"nobody"})}


def test_the_hubs_services_start_as_modules_without_running_twice():
    """``python -m astrohub_hub.groupsync`` (the command ``configure`` registers) imports the package first; the
    package imported the spawner, which imported groupsync, so runpy ran the module a second time as ``__main__``
    and logged a RuntimeWarning at every platform start (ops13). The package imports no service's module."""
    import subprocess
    import sys

    services = ["astrohub_hub.groupsync", "astrohub_hub.classes_service"]
    probe = f"import sys, astrohub_hub; print([m for m in {services!r} if m in sys.modules])"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "[]", (result.stdout, result.stderr)
    result = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-m", "astrohub_hub.groupsync", "--help"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


class _JoinDuringPoll:
    """The hub and the folders while ``carl`` joins ``team`` and his server starts during one poll of the sync: the
    hub has answered the poll (alice alone) when he is added and his spawn's ``grant_now`` gives him his entry."""

    def __init__(self) -> None:
        self.hub = {"team": ["alice"]}
        self.entries = {"team": frozenset({"astro-alice"})}
        self.applied: list[Action] = []

    def fetch_groups(self, api_url: str, token: str) -> dict[str, list[str]]:
        answer = {group: list(members) for group, members in self.hub.items()}
        self.hub["team"].append("carl")  # after the hub answered: carl joins, his server starts and is granted
        self.entries["team"] |= {"astro-carl"}
        return answer

    def observe(self, only=None) -> dict[str, frozenset[str]]:
        return dict(self.entries)

    def apply(self, action: Action) -> None:
        self.applied.append(action)


def test_a_member_granted_at_his_spawn_while_a_poll_runs_is_not_revoked_by_that_poll(monkeypatch, tmp_path):
    """split23: the sync read the hub's groups, then the folders' entries; a member added to the hub, and granted by
    his spawn (``grant_now``), between the two reads was in the folder's entries but not in the groups read, and the
    poll revoked what his spawn had just given (and ended his processes holding a file there) until the next poll.
    The folders are read first now: what a poll's hub answer leaves out was not granted after it."""
    world = _JoinDuringPoll()
    monkeypatch.setattr(groupsync, "fetch_groups", world.fetch_groups)
    monkeypatch.setattr(groupsync, "make_applier", lambda *args, **kwargs: world)
    monkeypatch.setattr(groupsync, "group_gone", lambda *args, **kwargs: False)
    monkeypatch.setenv("JUPYTERHUB_API_URL", "http://127.0.0.1:1/hub/api")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "t")
    monkeypatch.setenv("ASTROHUB_GROUPSYNC_SYSTEM_USERS", "1")
    assert groupsync.main(["--root", str(tmp_path), "--prefix", "astro-", "--once"]) == 0
    assert Action("revoke", "team", "astro-carl") not in world.applied, world.applied
    assert world.entries["team"] == {"astro-alice", "astro-carl"}
