"""Group workspaces: one folder per hub group, read-write for exactly the group's members.

Owns the hub-managed service ``python -m astrohub_hub.groupsync`` that ``configure`` registers in
local mode (service ``astrohub-groupsync``, scopes ``list:groups`` and ``read:groups``). Every
``interval`` seconds it reads the folders' grants, then the groups and their members from the hub REST API (in that
order: :func:`sync_once`), and reconciles ``<groups_root>/<group>`` (made once the group has a member):

* not root: the folders are created (mode 0770); every server runs as the invoking user anyway;
* root: each folder is ``root:root`` mode 0770 (one that was there before is made so at its grants: it kept
  its owner and mode, e.g. 0755, open to every user) and each member's system user (``astro-<name>``,
  created if missing, as the spawner would) gets a POSIX ACL entry ``user:astro-<name>:rwx`` plus
  the same default entry, so files created inside stay read-write for every member. ACLs take
  effect at once in running servers, unlike supplementary Unix groups, which a process only picks
  up when it starts. When ``setfacl`` is missing (Debian package ``acl``) the fallback is a Unix
  group ``<prefix>g-<group>`` owning the folder with mode 2770 (setgid), which members see from
  their next server start.

``<groups_root>`` itself is 0711 (``folders.make_root``; ``astrohub up`` makes it so): no user lists the groups'
names; a member finds theirs linked in the home, ``~/groups/<group>``, made as they join (and by the local spawner
at each start).

Removing a member revokes every entry they had under the group folder (default entries and
subfolders included), hands what they own in it to root and ends their processes still holding
something inside (:func:`astrohub_hub.folders.revoke`). A deleted group's folder loses every entry and is moved
aside with its quota, as a deleted workspace's is (:func:`astrohub_hub.folders.keep_deleted`:
``<groups_root>/.deleted/<group>-<UTC time>/``, root's only, where an admin can give the files back), so a group
created again under that name starts with an empty folder and no quota; its members' ``~/groups/<group>`` links
go with it (a removed member's link stays: Lab tells them they are no longer in the group). Only the hub's word
moves a folder: the whole list of groups, every page consistent (:func:`fetch_groups`; an error or a partial answer
moves nothing), and then ``GET /groups/<group>`` answering 404 for that very group (:func:`group_gone`). A folder under the root that no
hub group names (one made by hand before its group) is moved aside the same way. A group folder made anew finds no
quota left by an earlier folder of that name (one an operator removed): the quota file it left is removed first
(:func:`_forget_quota`).

The planning is pure (:func:`plan`: hub state + observed folders -> :class:`Action` list, unit
tested); :class:`AclApplier` / :class:`UnixGroupApplier` observe and apply. The spawner calls
:func:`grant_now` at spawn so a new member does not wait for the next poll. Environment of the
service: ``ASTROHUB_GROUPSYNC_ROOT``, ``ASTROHUB_GROUPSYNC_PREFIX``, ``ASTROHUB_GROUPSYNC_INTERVAL``,
``ASTROHUB_GROUPSYNC_SYSTEM_USERS`` (``1``/``0``/empty = when root), ``ASTROHUB_GROUPSYNC_HOME``
(the home template, for creating system users), plus JupyterHub's ``JUPYTERHUB_API_URL`` and
``JUPYTERHUB_API_TOKEN``. The disk side (ACL entries, revocation that reaches open folders and
running processes) is ``folders``; the account rule is ``accounts.SystemAccounts``. May import the
standard library, ``errors``, ``accounts`` and ``folders``.
"""

from __future__ import annotations

import argparse
import grp
import json
import logging
import os
import pwd
import re
import shutil
import signal
import stat
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Literal, Mapping, Protocol

from astrohub_hub import folders
from astrohub_hub.accounts import SystemAccounts, ensure_system_user, system_username
from astrohub_hub.errors import HubError, UsernameError
from astrohub_hub.folders import expand_user_path, prepare_user_dirs

__all__ = [
    "AclApplier",
    "Action",
    "Plan",
    "UnixGroupApplier",
    "fetch_groups",
    "grant_now",
    "group_gone",
    "make_applier",
    "plan",
    "sync_once",
]

log = logging.getLogger("astrohub.groupsync")

_GROUP_DIR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True, order=True)
class Action:
    """One change to a group folder: create it, grant / revoke a system user's access, remove the link to it from a
    former member's ``~/groups`` (``unlink``: its group is gone) or move it aside (``retire``: its group is gone from
    the hub)."""

    kind: Literal["mkdir", "grant", "revoke", "unlink", "retire"]
    group: str
    user: str | None = None


@dataclass
class Plan:
    """The actions that bring the folders in step with the hub, and what had to be skipped."""

    actions: list[Action] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def plan(
    groups: Mapping[str, Iterable[str] | None],
    observed: Mapping[str, frozenset[str] | set[str] | None],
    *,
    system_users: bool,
    prefix: str = "astro-",
) -> Plan:
    """Plan the reconciliation of group folders with the hub's groups (pure).

    Parameters
    ----------
    groups
        Hub group name -> member hub user names (from the hub API); ``None``: a hub group without a group folder
        (``"astrohub-folder": false``), whose folder, if one was made, loses every entry but is not moved.
    observed
        Folder name -> system users that have access now (``None``: the folder does not exist).
        Folders of deleted groups appear here only: they lose every entry, then are moved aside (``retire``).
    system_users
        Whether hub users run as their own system users (root); if not, only folders are made.
    prefix
        The system user prefix (``astro-``).

    Returns
    -------
    Plan
        ``mkdir`` before ``grant``/``revoke`` of the same group, ``revoke`` (and ``unlink``, for a deleted group) before
        ``retire``; unsafe group or user
        names are skipped and reported in ``problems``.

    Examples
    --------
    >>> plan({"astro101": ["alice"]}, {}, system_users=True).actions
    [Action(kind='mkdir', group='astro101', user=None), Action(kind='grant', group='astro101', user='astro-alice')]
    """
    result = Plan()
    for group in sorted(groups):
        if not _GROUP_DIR.match(group):
            result.problems.append(f"group {group!r}: not a safe folder name, skipped")
            continue
        current = observed.get(group)
        if groups[group] is None:
            continue  # no group folder: one left here is handled below, as a deleted group's, but kept in place
        if current is None:
            if not groups[group]:
                # Made with its first member: the classes service creates its groups empty and only then marks
                # them "astrohub-folder": false, so a poll in between made a folder for a roster group.
                continue
            result.actions.append(Action("mkdir", group))
            current = frozenset()
        if not system_users:
            continue
        wanted: set[str] = set()
        for member in groups[group]:
            try:
                wanted.add(system_username(member, prefix))
            except UsernameError as exc:
                result.problems.append(f"group {group!r}: {exc}")
        for user in sorted(wanted - set(current)):
            result.actions.append(Action("grant", group, user))
        for user in sorted(set(current) - wanted):
            result.actions.append(Action("revoke", group, user))
    for group in sorted(set(observed) - {g for g, members in groups.items() if members is not None}):
        if system_users:
            for user in sorted(observed[group] or ()):
                result.actions.append(Action("revoke", group, user))
                if group not in groups:  # its link in their home would lead nowhere, listed in Lab's file browser
                    result.actions.append(Action("unlink", group, user))
        if group not in groups:
            result.actions.append(Action("retire", group))
    return result


class Applier(Protocol):
    """Observes and changes group folders."""

    def observe(self, only: Iterable[str] | None = None) -> dict[str, frozenset[str]]: ...

    def apply(self, action: Action) -> None: ...


def _group_folders(root: Path, only: Iterable[str] | None) -> list[Path]:
    """The group folders under ``root`` (all, or those named in ``only``), sorted."""
    if only is None:
        if not root.is_dir():
            return []
        entries = sorted(root.iterdir())
    else:
        entries = [root / name for name in sorted(set(only))]
    return [e for e in entries if _GROUP_DIR.match(e.name) and e.is_dir()]


@dataclass
class AclApplier:
    """Group folders with POSIX ACLs (``setfacl``/``getfacl``); also the not-root mode (no ACLs)."""

    root: Path
    prefix: str = "astro-"
    system_users: bool = True
    home_template: str = ""

    def observe(self, only: Iterable[str] | None = None) -> dict[str, frozenset[str]]:
        """Existing group folders -> system users with an ACL entry (``only``: just these groups)."""
        found: dict[str, frozenset[str]] = {}
        for entry in _group_folders(self.root, only):
            found[entry.name] = self._acl_users(entry) if self.system_users else frozenset()
        return found

    def _acl_users(self, folder: Path) -> frozenset[str]:
        return frozenset(folders.acl_users(folder, self.prefix))

    def apply(self, action: Action) -> None:
        folder = self.root / action.group
        if action.kind == "mkdir":
            _forget_quota(folder)
            folders.make_shared_folder(folder, 0o770)
        elif action.kind == "grant":
            self._ensure_user(action.user)
            if self.system_users:
                _close_to_others(folder)
            # Recursive: what the group wrote before this member joined is theirs to read and write too.
            folders.grant(folder, str(action.user), recursive=True)
            _link_member(self.root, action.group, str(action.user))
        elif action.kind == "revoke":
            folders.revoke(folder, str(action.user))
        elif action.kind == "unlink":
            _link_member(self.root, action.group, str(action.user), remove=True)
        elif action.kind == "retire":
            _retire(folder)

    def _ensure_user(self, name: str | None) -> None:
        assert name is not None
        try:
            pwd.getpwnam(name)
            return
        except KeyError:
            pass
        if not self.home_template:
            raise HubError(f"system user {name!r} does not exist yet", code="groupsync-no-user", value=name)
        hub_name = name[len(self.prefix):]
        home = expand_user_path(self.home_template, hub_name)
        owner = ensure_system_user(name, home)
        prepare_user_dirs(home, None, owner)


def _retire(folder: Path) -> None:
    """Move a deleted group's folder aside, with its quota (``folders.keep_deleted``)."""
    kept = folders.keep_deleted(folder, time.time())
    log.warning("group %r is gone from the hub: its folder is kept for the admins at %s", folder.name, kept)


def _forget_quota(folder: Path) -> None:
    """Remove the quota kept for ``folder`` (``<root>/.astrohub-quotas/<group>.json``) when the folder is not there:
    it is a removed group folder's (a quota is only ever set on a folder that exists), and the new group of that
    name would otherwise be held to it."""
    if not os.path.lexists(folder) and folders.folder_quota(folder) is not None:
        folders.set_folder_quota(folder, None)
        log.warning("removed the quota left by an earlier group folder %s before making the new one", folder)


def _link_member(root: Path, group: str, system_user: str, *, remove: bool = False) -> None:
    """``~/groups/<group>`` in the new member's home, made as them (``folders.link_as``, best effort): the groups
    root is not listable (0711), so a member whose server runs finds the group in Lab's file browser through this
    link at once; the local spawner makes the same links at each start (``local.AstroLocalSpawner.shared_links``).
    ``remove``: the group is deleted, and the link, which would lead nowhere, goes (a removed member's stays, so
    Lab tells them they are no longer in the group)."""
    try:
        home = pwd.getpwnam(system_user).pw_dir
    except KeyError:
        return
    folders.link_as(Path(home) / folders.GROUP_LINKS, {group: str(root / group)}, root, system_user, remove=remove)


def _close_to_others(folder: Path) -> None:
    """Make a group folder ``root``-owned with no access for others (mode 0770, a setgid bit kept), as ``mkdir``
    makes one: a folder that was there before its group's first member (made by hand, restored from a backup,
    left by a run that was not root) kept its owner and mode, e.g. 0755, and any user listed and read the group's
    files."""
    st = os.lstat(folder)
    if not stat.S_ISDIR(st.st_mode):
        return
    if st.st_uid != 0 or st.st_gid != 0:
        os.chown(folder, 0, 0, follow_symlinks=False)
        log.warning("group folder %s was owned by uid %s: now root's", folder, st.st_uid)
    if st.st_mode & 0o007:
        os.chmod(folder, stat.S_IMODE(st.st_mode) & ~0o007)
        log.warning("group folder %s was open to every user (mode %o): now %o", folder, stat.S_IMODE(st.st_mode),
                    stat.S_IMODE(st.st_mode) & ~0o007)


@dataclass
class UnixGroupApplier:
    """Fallback without ACLs: a Unix group ``<prefix>g-<group>`` per folder, mode 2770 (setgid).

    Members see a change from their next server start (supplementary groups are fixed per process).
    """

    root: Path
    prefix: str = "astro-"
    home_template: str = ""

    def unix_group(self, group: str) -> str:
        return f"{self.prefix}g-{group.lower()}"[:32]

    def observe(self, only: Iterable[str] | None = None) -> dict[str, frozenset[str]]:
        """Existing group folders -> members of their Unix group (``only``: just these groups)."""
        found: dict[str, frozenset[str]] = {}
        for entry in _group_folders(self.root, only):
            try:
                members = grp.getgrnam(self.unix_group(entry.name)).gr_mem
            except KeyError:
                members = []
            found[entry.name] = frozenset(m for m in members if m.startswith(self.prefix))
        return found

    def apply(self, action: Action) -> None:
        folder = self.root / action.group
        unix = self.unix_group(action.group)
        if action.kind == "mkdir":
            self.root.mkdir(parents=True, exist_ok=True)
            _forget_quota(folder)
            folder.mkdir(mode=0o770, exist_ok=True)
            try:
                grp.getgrnam(unix)
            except KeyError:
                folders.run(["groupadd", unix])
            shutil.chown(folder, user="root", group=unix)
            os.chmod(folder, 0o2770)
        elif action.kind == "grant":
            AclApplier(self.root, self.prefix, True, self.home_template)._ensure_user(action.user)
            folders.run(["gpasswd", "-a", str(action.user), unix])
            _link_member(self.root, action.group, str(action.user))
        elif action.kind == "revoke":
            folders.run(["gpasswd", "-d", str(action.user), unix])
        elif action.kind == "unlink":
            _link_member(self.root, action.group, str(action.user), remove=True)
        elif action.kind == "retire":
            _retire(folder)


def make_applier(root: str | Path, *, prefix: str, system_users: bool, home_template: str = "") -> Applier:
    """The applier for this machine: ACLs when root and ``setfacl`` exists, else a Unix group."""
    root = Path(root)
    if system_users and shutil.which("setfacl") is None:
        log.warning("setfacl not found (Debian package 'acl'): falling back to Unix groups, mode 2770")
        return UnixGroupApplier(root, prefix, home_template)
    return AclApplier(root, prefix, system_users, home_template)


def fetch_groups(api_url: str, token: str, *, timeout: float = 10.0) -> dict[str, list[str] | None]:
    """Every hub group and its members, from ``GET /groups`` (all pages).

    Groups whose properties say ``"astrohub-folder": false`` (a class's roster groups and a workspace's, whose
    folders the classes service owns elsewhere) map to ``None``: they get no group folder. The answer must be
    complete, since a group missing from it would have its folder moved aside: a page that is not JSON of the
    expected shape, an empty page that says more follow, or pages whose ``total`` differs from page to page or from
    the groups received (a group made or deleted while paging) raise :class:`HubError` (the next poll asks again).
    """
    groups: dict[str, list[str] | None] = {}
    offset, received, totals = 0, 0, set()
    while True:
        query = urllib.parse.urlencode({"offset": offset, "limit": 200})
        request = urllib.request.Request(
            f"{api_url.rstrip('/')}/groups?{query}",
            headers={"Authorization": f"token {token}", "Accept": "application/jupyterhub-pagination+json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = json.load(response)
        try:
            items = body["items"] if isinstance(body, dict) else body
            paging = (body.get("_pagination") or {}) if isinstance(body, dict) else {}
            for item in items:
                if (item.get("properties") or {}).get("astrohub-folder") is False:
                    groups[item["name"]] = None  # e.g. a class's roster groups: the class service owns their folders
                else:
                    groups[item["name"]] = list(item.get("users") or [])
            following = paging.get("next")
            received += len(items)
            if "total" in paging:
                totals.add(paging["total"])
        except (KeyError, TypeError, AttributeError) as exc:
            raise HubError(f"the hub's list of groups is not what was expected ({exc!r})",
                           code="groupsync-hub") from exc
        if following and not items:
            raise HubError(f"the hub's list of groups ended early, at {received}", code="groupsync-hub")
        if not following:
            if len(totals) > 1 or (totals and totals != {received}) or received != len(groups):
                raise HubError(f"the hub's list of groups changed while it was read ({received} received, totals "
                               f"{sorted(totals)})", code="groupsync-hub")
            return groups
        offset = following["offset"]


def group_gone(api_url: str, token: str, group: str, *, timeout: float = 10.0) -> bool:
    """Whether the hub says ``group`` does not exist: ``GET /groups/<group>`` answers 404. Anything else (the group,
    an error, no answer) is ``False``: a folder is moved aside only on the hub's word for that very group."""
    request = urllib.request.Request(f"{api_url.rstrip('/')}/groups/{urllib.parse.quote(group, safe='')}",
                                     headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return False
    except urllib.error.HTTPError as exc:
        return exc.code == 404
    except (OSError, ValueError) as exc:
        log.warning("could not ask the hub about group %r: %s", group, exc)
        return False


def sync_once(groups: Mapping[str, Iterable[str] | None] | Callable[[], Mapping[str, Iterable[str] | None]],
              applier: Applier, *, system_users: bool, prefix: str,
              gone: Callable[[str], bool] = lambda group: False) -> Plan:
    """Observe, plan and apply once; a failing action is logged and retried at the next poll.

    ``groups``: the hub's groups, or a function that reads them (:func:`fetch_groups`), called once the folders are
    observed. That order matters: the spawner grants a new member at his server's start (:func:`grant_now`), and an
    answer read before that grant, compared with entries read after it, would revoke what the spawn just gave (and
    end his processes holding a file there) until the next poll. Read after the folders, the hub's answer names
    every member granted before it. A ``retire`` or ``unlink`` is applied only when ``gone(group)`` confirms the
    group does not exist (:func:`group_gone`; by default never) and every ``revoke`` of that group before it
    succeeded.
    """
    observed = applier.observe()
    if callable(groups):
        groups = groups()
    result = plan(groups, observed, system_users=system_users, prefix=prefix)
    for problem in result.problems:
        log.warning("%s", problem)
    failed: set[str] = set()
    for action in result.actions:
        if action.kind in ("unlink", "retire") and (action.group in failed or not gone(action.group)):
            continue
        try:
            applier.apply(action)
            log.info("applied %s", action)
        except (HubError, OSError) as exc:
            result.problems.append(f"{action}: {exc}")
            failed.add(action.group)
            log.warning("could not apply %s: %s", action, exc)
    return result


def grant_now(groups_root: str | Path, groups: Iterable[str], system_user: str, *, prefix: str) -> None:
    """At spawn (as root): give ``system_user`` access to its groups' folders right away.

    The service would do it within one poll interval; doing it here means a server never starts
    without its group folders. Only grants; the service owns revocation.
    """
    groups = [g for g in groups if _GROUP_DIR.match(g)]
    if not groups:
        return
    root = Path(groups_root)
    applier = make_applier(root, prefix=prefix, system_users=True)
    # Only this user's groups: one getfacl per folder, so not every group on the machine at each spawn.
    observed = applier.observe(only=groups)
    for group in groups:
        if group not in observed:
            applier.apply(Action("mkdir", group))
            observed[group] = frozenset()
        if system_user not in observed[group]:
            applier.apply(Action("grant", group, system_user))


def main(argv: list[str] | None = None) -> int:
    """Run the reconciliation loop (the hub starts and stops this as a managed service)."""
    parser = argparse.ArgumentParser(prog="python -m astrohub_hub.groupsync", description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=os.environ.get("ASTROHUB_GROUPSYNC_ROOT"))
    parser.add_argument("--prefix", default=os.environ.get("ASTROHUB_GROUPSYNC_PREFIX", "astro-"))
    parser.add_argument("--interval", type=float, default=float(os.environ.get("ASTROHUB_GROUPSYNC_INTERVAL", "2")))
    parser.add_argument("--home-template", default=os.environ.get("ASTROHUB_GROUPSYNC_HOME", ""))
    parser.add_argument("--once", action="store_true", help="reconcile once and exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(levelname)1.1s %(asctime)s groupsync] %(message)s")
    if not args.root:
        parser.error("--root or ASTROHUB_GROUPSYNC_ROOT is required")
    api_url = os.environ.get("JUPYTERHUB_API_URL", "")
    token = os.environ.get("JUPYTERHUB_API_TOKEN", "")
    if not api_url or not token:
        parser.error("JUPYTERHUB_API_URL and JUPYTERHUB_API_TOKEN must be set (the hub sets them)")
    system_users = SystemAccounts.from_environ(dict(os.environ), "ASTROHUB_GROUPSYNC").enabled
    applier = make_applier(args.root, prefix=args.prefix, system_users=system_users, home_template=args.home_template)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    log.info("keeping %s in step with the hub's groups every %ss", args.root, args.interval)
    while not stop.is_set():
        try:
            sync_once(lambda: fetch_groups(api_url, token), applier, system_users=system_users, prefix=args.prefix,
                      gone=lambda group: group_gone(api_url, token, group))
        except Exception as exc:  # a hub restart or a transient error: retry at the next poll
            log.warning("sync failed: %s", exc)
        if args.once:
            break
        stop.wait(args.interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
