"""Shared analysis workspaces: a folder any user creates, owns and shares without an admin.

Owns :class:`Workspaces`: the registry of workspaces (tables in the classes service's SQLite file: the
owner, members with read-write access and readers with read-only access) and ``root/<name>/``, root-owned
mode 0770 and reached through ACL entries only (owner and members rwx, readers r-x; defaults so new files
follow), mirrored to the hub group ``ws-<name>`` (no group folder of its own). ``root`` is 0711 (``folders.make_root``):
nobody lists the workspaces; each person finds theirs linked in the home, ``~/workspaces/<name>`` (:meth:`_link`).
Only the owner (or an admin) changes the members; removing someone revokes at once
(:func:`astrohub_hub.folders.revoke`: entries under the whole folder, their files handed over, their
processes holding the folder ended). Every check runs before the first write.

A read-write member shares their running server with the workspace (:meth:`Workspaces.share`): every other
read-write member gets a JupyterHub share of it (``access:servers!server=<sharer>/``), kept in step as people
join and leave (a removed member's grants are revoked; a removed sharer's share ends), until
:meth:`Workspaces.unshare`. The shares are made per user, not with the group ``ws-<name>``: JupyterHub
(6.1) gives API and OAuth tokens the shares of their owner only, not those of the owner's groups
(``scopes.get_scopes_for`` reads ``user.shared_with_me``), so a group share let a member's hub session in but
refused their server's OAuth token ("discarding scopes ... not present in roles of owner"). Readers are never
given a shared server (it runs code as the sharer).

The owner (or an admin) deletes a workspace (:meth:`Workspaces.delete`): shares, collaboration and the hub
group's members end, every person's access is revoked, and the folder is kept under ``root/.deleted/`` for
the admins (its quota, kept beside it, is removed: a new workspace of that name starts without one); asking for the
workspace afterwards says who deleted it and when (404 ``deleted-workspace``), and so
does ``platform_lib.storage`` in a former member's kernel, from the notice ``root/.astrohub-deleted/<name>.json``
(:data:`DELETED_NOTICES`; readable by all, as the service's answer is; removed when the name is taken again).

A sharer turns real-time collaboration on for their shared server (:meth:`Workspaces.collaborate`, opt-in, off
by default): the sharers who did are the property ``astrohub-collaborative`` of the group ``ws-<name>``
(:mod:`astrohub_hub.collaboration`), which the spawner reads at the server's next start. It ends with the
share (unsharing, or leaving the workspace).

A person an admin renamed on the hub is renamed here too, as part of
:meth:`astrohub_hub.classes.Teaching.rename_member` (``astrohub classes rename-member``): :meth:`Workspaces.rename_plan`
checks, :meth:`Workspaces.rename_on_hub`, :meth:`Workspaces.rename_rows` (in the classes' transaction: one SQLite
file) and :meth:`Workspaces.rename_access` (the folder's ACLs and link, last).

The hub's answers count (its refusals are ClassError 502 ``hub-refused``, from the ``on_*`` callables): the hub
is asked before the registry and the folders change, so a refusal changes nothing here and the same request can
be run again; only the shares that follow a membership change come after it (the 502 then says the members were
changed and which shares were not, and running the same change again finishes it).

May import the standard library, ``atomic``, ``folders``, ``people`` and ``collaboration``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from astrohub_hub import folders
from astrohub_hub.atomic import write_atomic
from astrohub_hub.people import Actor, ClassError, People

__all__ = ["DELETED_NOTICES", "Workspaces"]

#: The folder under the workspaces root with a notice per deleted workspace, ``<name>.json``: ``workspace``,
#: ``deleted_by`` and ``deleted_at`` (``YYYY-MM-DD HH:MM UTC``), which ``platform_lib.storage`` reads.
DELETED_NOTICES = ".astrohub-deleted"


def _when(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(seconds))


@dataclass
class Workspaces:
    """Workspaces under ``root``, registered in the SQLite file ``registry``."""

    root: Path
    registry: Path
    people: People
    clock: Callable[[], float] = time.time
    #: Mirrors the people with read-write access to the hub group ``ws-<name>`` (added, removed): a
    #: group whose members' servers are shared per member (see ``on_share``) and which carries the collaborators.
    on_members_change: Callable[[str, list[str], list[str]], None] = lambda name, added, removed: None
    #: Grants (sharer, to users) and revokes (sharer, from users) the access to the sharer's default server.
    on_share: Callable[[str, list[str], list[str]], None] = lambda sharer, grant, revoke: None
    #: Publishes the sharers with collaboration on (workspace, sharers) as the group ``ws-<name>``'s property.
    on_collaborators: Callable[[str, list[str]], None] = lambda name, sharers: None
    #: The folder of the home with a link per workspace (``~/workspaces/<name>``, ``folders.WORKSPACE_LINKS``), made
    #: as someone is added (:meth:`_link`); empty: none (on Kubernetes the pod mounts the workspace there).
    links_folder: str = ""
    #: How many workspaces one person may own (``classes.maxWorkspacesPerUser``, the operator's; 0: no limit):
    #: :meth:`create` refuses one more (409 ``too-many-workspaces``), naming the limit and the setting. Admins are
    #: not held to it (they make workspaces for others, ``astrohub workspaces create --owner``).
    max_per_user: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.root, self.registry = Path(self.root), Path(self.registry)
        self.registry.parent.mkdir(parents=True, exist_ok=True)
        # There from the start; 0711 (older versions made it 0755): nobody lists the workspaces' names, nor the
        # deleted ones' (their notices are read by name).
        folders.make_root(self.root)
        if (self.root / DELETED_NOTICES).is_dir():
            folders.make_root(self.root / DELETED_NOTICES)
        with closing(self._db()) as db, db:
            db.executescript("""
                CREATE TABLE IF NOT EXISTS workspaces (name TEXT PRIMARY KEY, owner TEXT, created REAL);
                CREATE TABLE IF NOT EXISTS ws_members (workspace TEXT, user TEXT, access TEXT,
                                                       PRIMARY KEY (workspace, user));
                CREATE TABLE IF NOT EXISTS ws_shares (workspace TEXT, sharer TEXT, PRIMARY KEY (workspace, sharer));
                CREATE TABLE IF NOT EXISTS ws_collaborative (workspace TEXT, sharer TEXT,
                                                             PRIMARY KEY (workspace, sharer));
                CREATE TABLE IF NOT EXISTS ws_deleted (workspace TEXT, owner TEXT, deleted REAL, by TEXT,
                                                       kept_at TEXT);
            """)

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.registry, timeout=10)

    @property
    def accounts(self):
        return self.people.accounts

    def _get(self, name: str) -> dict:
        with closing(self._db()) as db:
            row = db.execute("SELECT owner FROM workspaces WHERE name = ?", (name,)).fetchone()
            if row is None:
                gone = db.execute("SELECT by, deleted FROM ws_deleted WHERE workspace = ? ORDER BY deleted DESC",
                                  (name,)).fetchone()
                if gone is not None:  # its members are told what happened, not just "no such workspace"
                    when = _when(gone[1])
                    raise ClassError(f"workspace {name!r} was deleted by {gone[0]!r} on {when}: its folder is no "
                                     "longer shared; ask them (or an admin) for files you need", status=404,
                                     code="deleted-workspace", value=name)
                raise ClassError(f"no workspace {name!r}", status=404, code="unknown-workspace", value=name)
            members = db.execute("SELECT user, access FROM ws_members WHERE workspace = ? ORDER BY user",
                                 (name,)).fetchall()
        return {"name": name, "owner": row[0], "folder": str(self.root / name),
                "members": [u for u, a in members if a == "rw"], "readers": [u for u, a in members if a == "ro"]}

    def create(self, actor: Actor, name: str, *, members: Iterable[str] = (),
                         readers: Iterable[str] = (), owner: str = "") -> dict:
        """Any user creates a workspace they own, with its folder (owner and members rwx, readers r-x).

        Admins may name another ``owner`` (the ``astrohub`` command must: its token is a service's). Nobody but an
        admin makes one beyond :attr:`max_per_user` owned (a 409 ``too-many-workspaces``, checked with the name). The hub
        group ``ws-<name>`` gets the read-write people once the name is taken, before the folder is made: when
        the hub refuses (ClassError 502) the name is given back and nothing is made.
        """
        self.people.check_name("workspace", name)
        if owner and owner != actor.name and not actor.admin:
            raise ClassError("only admins create a workspace for somebody else", status=403, code="forbidden")
        if actor.admin and not owner:
            raise ClassError("an admin creating a workspace names its owner (owner / --owner)")
        owner = self.people.check_users([owner], f"workspace {name!r} owner")[0] if owner else actor.name
        admin, actor = actor.admin, Actor(owner)
        members = [m for m in self.people.check_users(members, f"workspace {name!r} members") if m != actor.name]
        readers = self.people.check_users(readers, f"workspace {name!r} readers")
        if set(members) & set(readers):
            raise ClassError(f"{sorted(set(members) & set(readers))} cannot be both members and readers")
        with self._lock:
            with closing(self._db()) as db, db:
                if self.max_per_user and not admin:
                    owned = [n for (n,) in db.execute("SELECT name FROM workspaces WHERE owner = ? ORDER BY name",
                                                      (actor.name,))]
                    if len(owned) >= self.max_per_user:
                        raise ClassError(
                            f"{actor.name!r} owns {len(owned)} workspaces ({', '.join(owned[:10])}"
                            f"{', ...' if len(owned) > 10 else ''}), the most one person "
                            f"may own on this platform ({self.max_per_user}, the operator's setting "
                            f"classes.maxWorkspacesPerUser): delete one you no longer need, or ask the platform's "
                            "admins to raise the setting (or to make this one for you)", status=409,
                            code="too-many-workspaces", value=self.max_per_user)
                try:
                    db.execute("INSERT INTO workspaces VALUES (?, ?, ?)", (name, actor.name, self.clock()))
                except sqlite3.IntegrityError:
                    raise ClassError(f"a workspace named {name!r} exists already: choose another name",
                                     status=409, code="duplicate-workspace", value=name) from None
                rows = [(name, actor.name, "rw")] + [(name, m, "rw") for m in members] + [(name, r, "ro") for r in readers]
                db.executemany("INSERT OR REPLACE INTO ws_members VALUES (?, ?, ?)", rows)
            try:
                self.on_members_change(name, [actor.name, *members], [])
            except ClassError:
                with closing(self._db()) as db, db:
                    db.execute("DELETE FROM ws_members WHERE workspace = ?", (name,))
                    db.execute("DELETE FROM workspaces WHERE name = ?", (name,))
                raise
            folders.make_root(self.root)
            folder = folders.make_shared_folder(self.root / name, 0o770)
            (self.root / DELETED_NOTICES / f"{name}.json").unlink(missing_ok=True)  # the name is taken again
            if self.accounts.enabled:
                for user in [actor.name, *members]:
                    folders.grant(folder, self.people.system(user), "rwx")
                for user in readers:
                    folders.grant(folder, self.people.system(user), "r-x")
            self._link(name, [actor.name, *members, *readers])
        return self._get(name)

    def _link(self, name: str, users: Iterable[str], *, remove: bool = False) -> None:
        """``~/<links_folder>/<name>``, a link to the workspace's folder, in each of ``users``' homes, made as them
        (``folders.link_as``): the root is not listable (0711), so the link is how they (and Lab's file browser)
        find it; the local spawner makes the same links at each start (``local.AstroLocalSpawner``). ``remove``:
        the workspace is deleted, its links go (a removed member's stays: Lab then says they are no longer in it)."""
        if not (self.links_folder and self.people.home_template):
            return
        for user in users:
            folders.link_as(self.people.home(user) / self.links_folder, {name: str(self.root / name)}, self.root,
                            self.people.system(user), remove=remove)

    def change(self, actor: Actor, name: str, *, add: Iterable[str] = (), add_readers: Iterable[str] = (),
                         remove: Iterable[str] = ()) -> dict:
        """The owner (or an admin) adds members / readers and removes people; removal revokes at once, and so
        does making a read-write member a reader (they leave the hub group ``ws-<name>``; their write access, their
        files there and their processes holding the folder go as on removal, then they get read-only access).

        The hub group ``ws-<name>`` changes first: when the hub refuses (ClassError 502), nothing changes here.
        The shared servers follow after the change (:meth:`_follow_shares`): when the hub refuses one of those,
        the 502 says the members were changed and which shares were not; the same change run again finishes it.
        """
        info = self._get(name)
        if not (actor.admin or actor.name == info["owner"]):
            raise ClassError(f"{actor.name!r} may not change workspace {name!r}: only its owner "
                             f"{info['owner']!r} (and admins)", status=403, code="forbidden", value=actor.name)
        add = self.people.check_users(add, f"workspace {name!r} members")
        add_readers = self.people.check_users(add_readers, f"workspace {name!r} readers")
        remove = self.people.check_users(remove, f"workspace {name!r} removals")
        if info["owner"] in remove:
            raise ClassError(f"the owner {info['owner']!r} cannot be removed from {name!r}", value=info["owner"])
        if info["owner"] in add_readers:
            raise ClassError(f"the owner {info['owner']!r} of {name!r} cannot be made a reader: they keep read-write "
                             "access", value=info["owner"])
        # A read-write member made a reader leaves the hub group (which gives read-write: the pod's mount on
        # Kubernetes, Dask clusters shared with it) and loses write access as a removed person does.
        demoted = [u for u in add_readers if u in info["members"]]
        folder = self.root / name
        with self._lock:
            self.on_members_change(name, add, [*remove, *demoted])
            with closing(self._db()) as db, db:
                db.executemany("INSERT OR REPLACE INTO ws_members VALUES (?, ?, 'rw')", [(name, u) for u in add])
                db.executemany("INSERT OR REPLACE INTO ws_members VALUES (?, ?, 'ro')",
                               [(name, u) for u in add_readers])
                db.executemany("DELETE FROM ws_members WHERE workspace = ? AND user = ?", [(name, u) for u in remove])
            if self.accounts.enabled:
                for user in add:
                    folders.grant(folder, self.people.system(user), "rwx", recursive=True)
                for user in demoted:  # their files are handed over and their writing processes end, as on removal
                    folders.revoke(folder, self.accounts.name(user))
                for user in add_readers:
                    folders.grant(folder, self.people.system(user), "r-x", recursive=True)
                for user in remove:
                    folders.revoke(folder, self.accounts.name(user))
            self._link(name, [*add, *add_readers])
            try:
                self._follow_shares(name, add, [*remove, *add_readers])
            except ClassError as exc:
                if exc.status != 502:
                    raise
                raise ClassError(f"the members of workspace {name!r} were changed (added {add + add_readers}, "
                                 f"removed {remove}), but its shared servers were not all updated: {exc}; run "
                                 "the same change again to finish", status=502, code="hub-refused",
                                 value=exc.value) from None
        return self._get(name)

    # -- a person renamed --------------------------------------------------------------------------------

    def rename_plan(self, old: str, new: str) -> list[str]:
        """The workspaces that name ``old`` (owner, member, reader, sharer, collaborator), checked for a rename of
        ``old`` to ``new`` (part of :meth:`astrohub_hub.classes.Teaching.rename_member`); writes nothing. Refused
        (409 ``name-taken``): ``new`` is already in one of them (two people would be one). Refused (409
        ``too-many-workspaces``, :meth:`_check_owned_after_rename`): ``new`` owns workspaces already and with
        ``old``'s would own more than :attr:`max_per_user`."""
        with closing(self._db()) as db:
            names = sorted({n for (n,) in db.execute(
                "SELECT name FROM workspaces WHERE owner = ? UNION SELECT workspace FROM ws_members WHERE user = ? "
                "UNION SELECT workspace FROM ws_shares WHERE sharer = ? "
                "UNION SELECT workspace FROM ws_collaborative WHERE sharer = ?", (old,) * 4)})
            taken = sorted({n for (n,) in db.execute(
                "SELECT workspace FROM ws_members WHERE user = ?", (new,))} & set(names))
            if taken:
                raise ClassError(f"{new!r} is in workspace(s) {taken} already, as is {old!r}: renaming {old!r} to it "
                                 f"would make two people one; remove {new!r} from them first. Nothing was changed",
                                 status=409, code="name-taken", value=new)
            self._check_owned_after_rename(db, old, new)
        return names

    def _check_owned_after_rename(self, db: sqlite3.Connection, old: str, new: str) -> None:
        """Refuses (409 ``too-many-workspaces``) a rename of ``old`` to ``new`` after which ``new`` would own more
        workspaces than :attr:`max_per_user` because ``new`` owns some already. ``old``'s own count alone is not
        refused: the rename adds nothing to it (an admin may have made more for them)."""
        if not self.max_per_user:
            return
        owned = {who: [n for (n,) in db.execute("SELECT name FROM workspaces WHERE owner = ? ORDER BY name",
                                                 (who,))] for who in (old, new)}
        if owned[new] and len(owned[old]) + len(owned[new]) > self.max_per_user:
            raise ClassError(
                f"{new!r} owns {len(owned[new])} workspace(s) already ({', '.join(owned[new][:10])}) and {old!r} "
                f"owns {len(owned[old])} ({', '.join(owned[old][:10])}): renamed, {new!r} would own "
                f"{len(owned[old]) + len(owned[new])}, more than one person may own on this platform "
                f"({self.max_per_user}, the operator's setting classes.maxWorkspacesPerUser). Delete some of them first "
                f"(astrohub workspaces delete <name>), or raise the setting. Nothing was changed", status=409,
                code="too-many-workspaces", value=self.max_per_user)

    def rename_on_hub(self, old: str, new: str, names: list[str]) -> Callable[[], None]:
        """The hub's side of the rename, before the registry's (a refusal, ClassError 502, changes nothing here):
        ``new`` in the group ``ws-<name>`` of each workspace they write to (the hub's rename kept the membership;
        adding is harmless), and the group's collaborators (``astrohub-collaborative``, read by the spawner)
        naming ``new``. Returns the undo (best effort) for a registry transaction that then fails."""
        undo: list[tuple[str, list[str]]] = []

        def back() -> None:
            for name, sharers in reversed(undo):
                try:
                    self.on_collaborators(name, sharers)
                except ClassError:
                    pass  # the registry still names the old collaborators; the rename's rerun sets them again

        try:
            for name in names:
                info = self._get(name)
                if old in (info["owner"], *info["members"]):
                    self.on_members_change(name, [new], [])  # the old name is no hub user now: nothing to remove
                current = self._collaborators(name)
                if old in current:
                    self.on_collaborators(name, sorted({*current, new} - {old}))
                    undo.append((name, current))
        except BaseException:
            back()
            raise
        return back

    def rename_rows(self, db: sqlite3.Connection, old: str, new: str) -> None:
        """The registry's side, inside the caller's transaction (one with the classes' rows): every row that
        names ``old`` as a workspace's owner, member or reader, sharer or collaborator names ``new``. The deleted
        workspaces' history (who deleted which) is kept as it was. ``new`` added meanwhile to a workspace of
        ``old``'s (after :meth:`rename_plan`) is refused here (409 ``name-taken``), and so is a workspace ``new`` made
        meanwhile that takes them past :attr:`max_per_user` (409 ``too-many-workspaces``): the transaction is rolled
        back."""
        taken = [n for (n,) in db.execute("SELECT a.workspace FROM ws_members a JOIN ws_members b ON a.workspace = "
                                          "b.workspace WHERE a.user = ? AND b.user = ? ORDER BY 1", (old, new))]
        if taken:
            raise ClassError(f"{new!r} was added to workspace(s) {taken} meanwhile, where {old!r} is: renaming "
                             f"{old!r} to it would make two people one; remove {new!r} from them first. Nothing was "
                             "changed", status=409, code="name-taken", value=new)
        self._check_owned_after_rename(db, old, new)  # a workspace made by ``new`` meanwhile
        db.execute("UPDATE workspaces SET owner = ? WHERE owner = ?", (new, old))
        for table, column in (("ws_members", "user"), ("ws_shares", "sharer"), ("ws_collaborative", "sharer")):
            db.execute(f"UPDATE {table} SET {column} = ? WHERE {column} = ?", (new, old))

    def rename_access(self, old: str, new: str, names: list[str]) -> list[str]:
        """After the registry's transaction (what cannot be rolled back comes last): ``new``'s system user gets
        ``old``'s access to each workspace's folder (rwx or r-x, on what is there and what comes) and its link
        ``~/workspaces/<name>``, and ``old``'s access ends (:func:`folders.revoke`). Returns what failed, per
        workspace, for the answer to name (the registry is renamed already; an operator finishes it)."""
        failed = []
        for name in names:
            try:
                info = self._get(name)
                if self.accounts.enabled:
                    folder = self.root / name
                    access = "r-x" if new in info["readers"] else "rwx"
                    folders.grant(folder, self.people.system(new), access, recursive=True)
                    folders.revoke(folder, self.accounts.name(old))
                self._link(name, [new])
            except Exception as exc:  # noqa: BLE001 - the rename is done; each failure is named in the answer
                failed.append(f"workspace {name!r}: {exc}")
        return failed

    # -- shared servers --------------------------------------------------------------------------------

    def _sharers(self, name: str) -> list[str]:
        with closing(self._db()) as db:
            return [r[0] for r in db.execute("SELECT sharer FROM ws_shares WHERE workspace = ? ORDER BY sharer",
                                              (name,))]

    def _follow_shares(self, name: str, added: list[str], gone: list[str]) -> None:
        """After a membership change: shared servers reach new members, and no longer those who left."""
        members = self._get(name)
        writers = sorted({members["owner"], *members["members"]})
        for sharer in self._sharers(name):
            if sharer not in writers:  # the sharer left (or became a reader): their share ends
                # the hub first: a refused revocation keeps the share on the books, for the change's rerun
                self.on_share(sharer, [], sorted({*writers, *gone} - {sharer}))
                with closing(self._db()) as db, db:
                    db.execute("DELETE FROM ws_shares WHERE workspace = ? AND sharer = ?", (name, sharer))
                self._end_collaboration(name, sharer)
                continue
            self.on_share(sharer, [u for u in added if u != sharer and u in writers],
                          [u for u in gone if u != sharer])

    def share(self, actor: Actor, name: str) -> dict:
        """Share ``actor``'s default server with the workspace's other read-write members (members only).

        The hub first: when it refuses a grant (ClassError 502; the grants already made are taken back), the
        server is not shared."""
        info = self._get(name)
        writers = sorted({info["owner"], *info["members"]})
        if actor.name not in writers:
            raise ClassError(f"{actor.name!r} may not share a server with workspace {name!r}: only its read-write "
                             f"members {writers}", status=403, code="forbidden", value=actor.name)
        others = [u for u in writers if u != actor.name]
        self.on_share(actor.name, others, [])
        with closing(self._db()) as db, db:
            db.execute("INSERT OR IGNORE INTO ws_shares VALUES (?, ?)", (name, actor.name))
        return {"workspace": name, "server": f"{actor.name}/", "shared_with": others}

    def unshare(self, actor: Actor, name: str) -> dict:
        """Stop sharing ``actor``'s server with the workspace (every grant it made is revoked).

        The hub first: when it refuses a revocation (ClassError 502, saying for whom it was revoked), the share
        stays on the books, so running it again revokes the rest."""
        info = self._get(name)
        if actor.name not in self._sharers(name):
            raise ClassError(f"{actor.name!r} does not share a server with workspace {name!r}", status=404,
                             code="not-shared", value=actor.name)
        self.on_share(actor.name, [], sorted({info["owner"], *info["members"], *info["readers"]} - {actor.name}))
        with closing(self._db()) as db, db:
            db.execute("DELETE FROM ws_shares WHERE workspace = ? AND sharer = ?", (name, actor.name))
        self._end_collaboration(name, actor.name)
        return {"workspace": name, "server": f"{actor.name}/", "shared_with": []}

    # -- real-time collaboration on a shared server ----------------------------------------------------

    def _collaborators(self, name: str) -> list[str]:
        with closing(self._db()) as db:
            return [r[0] for r in db.execute(
                "SELECT sharer FROM ws_collaborative WHERE workspace = ? ORDER BY sharer", (name,))]

    def _end_collaboration(self, name: str, sharer: str) -> None:
        current = self._collaborators(name)
        if sharer in current:  # the hub first: if it refuses, the registry is unchanged
            self.on_collaborators(name, [u for u in current if u != sharer])
            with closing(self._db()) as db, db:
                db.execute("DELETE FROM ws_collaborative WHERE workspace = ? AND sharer = ?", (name, sharer))

    def collaborate(self, actor: Actor, name: str, on: bool = True) -> dict:
        """Turn real-time collaboration on (off) for ``actor``'s server shared with the workspace.

        Only a read-write member who shares their server with this workspace; it takes effect when the server
        next starts (``restart`` in the answer says so). Nothing is changed when refused.
        """
        info = self._get(name)
        writers = sorted({info["owner"], *info["members"]})
        if actor.name not in writers:
            raise ClassError(f"{actor.name!r} may not turn on collaboration in workspace {name!r}: only its "
                             f"read-write members {writers}, on a server they share", status=403,
                             code="forbidden", value=actor.name)
        if on and actor.name not in self._sharers(name):
            raise ClassError(f"{actor.name!r} does not share a server with workspace {name!r}: share it first "
                             f"(POST api/workspaces/{name}/share), then turn collaboration on", status=409,
                             code="not-shared", value=actor.name)
        with self._lock:
            if on:
                self.on_collaborators(name, sorted({*self._collaborators(name), actor.name}))
                with closing(self._db()) as db, db:
                    db.execute("INSERT OR IGNORE INTO ws_collaborative VALUES (?, ?)", (name, actor.name))
            else:
                self._end_collaboration(name, actor.name)
        state = "on" if on else "off"
        return {"workspace": name, "server": f"{actor.name}/", "collaborative": on,
                "restart": f"real-time collaboration is {state} from the next start of {actor.name!r}'s server: "
                           "stop it and start it again (File > Hub Control Panel)"}

    # -- deletion ----------------------------------------------------------------------------------------

    def delete(self, actor: Actor, name: str) -> dict:
        """The owner (or an admin) deletes the workspace: nobody is shared it any more, and its files are kept.

        The hub first, as for a membership change: the shared servers' grants are revoked, collaboration ends
        and the hub group ``ws-<name>`` loses every member (a refusal is a ClassError 502 and the workspace
        stays; running it again finishes it). Then every person's access to the folder is revoked
        (:func:`astrohub_hub.folders.revoke`: their processes holding it are ended) and the folder moves to
        ``root/.deleted/<name>-<UTC time>/`` (root's only), where an admin can give the files back; its quota
        goes. The name is free again; until it is taken, asking for the workspace says who deleted it and when.
        """
        info = self._get(name)
        if not (actor.admin or actor.name == info["owner"]):
            raise ClassError(f"{actor.name!r} may not delete workspace {name!r}: only its owner {info['owner']!r} "
                             "(and admins)", status=403, code="forbidden", value=actor.name)
        writers = sorted({info["owner"], *info["members"]})
        people = sorted({*writers, *info["readers"]})
        with self._lock:
            for sharer in self._sharers(name):
                self.on_share(sharer, [], [u for u in people if u != sharer])
                with closing(self._db()) as db, db:
                    db.execute("DELETE FROM ws_shares WHERE workspace = ? AND sharer = ?", (name, sharer))
                self._end_collaboration(name, sharer)
            self.on_members_change(name, [], writers)
            now = self.clock()
            folder = self.root / name
            if self.accounts.enabled:
                for user in people:
                    folders.revoke(folder, self.accounts.name(user))
            kept = folders.keep_deleted(folder, now)  # and its quota goes: a new workspace of this name has none
            self._link(name, people, remove=True)
            with closing(self._db()) as db, db:
                db.execute("DELETE FROM ws_members WHERE workspace = ?", (name,))
                db.execute("DELETE FROM ws_collaborative WHERE workspace = ?", (name,))
                db.execute("DELETE FROM workspaces WHERE name = ?", (name,))
                db.execute("INSERT INTO ws_deleted VALUES (?, ?, ?, ?, ?)", (name, info["owner"], now, actor.name,
                                                                             str(kept)))
            self._publish_deletion(name, actor.name, now)
        return {"workspace": name, "deleted": True, "removed": people,
                "message": f"workspace {name!r} is deleted: {people} no longer reach its folder; its files are kept "
                           "for the platform's admins"}

    def _publish_deletion(self, name: str, by: str, when: float) -> None:
        """The notice ``root/.astrohub-deleted/<name>.json`` that a former member's ``platform_lib`` reads (atomic)."""
        notices = folders.make_root(self.root / DELETED_NOTICES)  # read by name, not listed
        write_atomic(notices / f"{name}.json",
                     json.dumps({"workspace": name, "deleted_by": by, "deleted_at": _when(when)}).encode(), mode=0o644)

    def show(self, actor: Actor, name: str) -> dict:
        info = self._get(name)
        if not (actor.admin or actor.name in [info["owner"], *info["members"], *info["readers"]]):
            raise ClassError(f"{actor.name!r} is not in workspace {name!r}, so cannot open it (its folder, files and "
                             "shared servers are its members' only): ask its owner to add you", status=403,
                             code="forbidden", value=actor.name)
        return {**info, "shared_servers": self._sharers(name), "collaborative": self._collaborators(name)}

    def of(self, actor: Actor) -> list[dict]:
        with closing(self._db()) as db:
            rows = db.execute("SELECT workspace, access FROM ws_members WHERE user = ? ORDER BY workspace",
                              (actor.name,)).fetchall()
        return [{"name": n, "access": a} for n, a in rows]


