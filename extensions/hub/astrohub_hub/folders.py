"""Folders and their permissions: a user's home and scratch, and shared folders with POSIX ACLs.

Owns every change of ownership, mode and ACL the hub makes on disk: :func:`prepare_user_dirs`
(home and scratch, mode 0700, owned by the user's system account), :func:`make_shared_folder`
(``root``-owned, mode 0770 or 0750, never world-writable), :func:`make_root` (the roots they live in, mode 0711:
passable, not listable), :func:`grant` / :func:`revoke` (a
system user's access entry, plus the default entry that files created inside inherit) and
:func:`acl_users` (who has an entry). Revocation revokes (issue 22 item 4): :func:`revoke` removes the
user's entries from the folder *and everything under it* (default entries included), hands what
they own in there to the folder's owner, and ends their processes that still hold something inside
(an open directory, a working folder, an open file), because an open descriptor keeps what it was
granted. :func:`keep_deleted` moves a deleted workspace's or group's folder aside, for the admins. May import the
standard library, ``atomic``, ``errors`` and ``accounts``.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import pwd
import signal
import stat
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Literal

from astrohub_hub.atomic import replacing, write_atomic
from astrohub_hub.errors import HubError

__all__ = [
    "acl_users",
    "expand_user_path",
    "QUOTAS",
    "quota_file",
    "folder_quota",
    "set_folder_quota",
    "folder_usage",
    "grant",
    "holders",
    "home_problem",
    "keep_deleted",
    "make_shared_folder",
    "pack_as",
    "prepare_user_dirs",
    "revoke",
    "unpack_as",
    "unreachable_by_others",
]

log = logging.getLogger("astrohub.folders")

Access = Literal["rwx", "r-x"]


def expand_user_path(template: str, username: str) -> str:
    """Expand ``{username}`` in a storage template (``/srv/home/{username}``)."""
    return template.replace("{username}", username)


def unreachable_by_others(path: str) -> str | None:
    """The first folder on ``path`` (resolved) that other users cannot traverse, or ``None``.

    A server running as a system user must execute the hub's Python; a venv whose interpreter
    lives under ``/root`` (mode 0700, e.g. pyenv as root) cannot work.
    """
    real = Path(path).resolve()
    for folder in [*reversed(real.parents)]:
        if not os.stat(folder).st_mode & 0o001:
            return str(folder)
    return None


def prepare_user_dirs(home: str, scratch: str | None, owner: pwd.struct_passwd | None) -> None:
    """Create the user's home and scratch folders, mode 0700, owned by ``owner`` (when root).

    Idempotent; an existing folder gets its owner and mode reset, its content is left alone.
    """
    for path in [home, scratch]:
        if not path:
            continue
        folder = Path(path)
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir(mode=0o700, exist_ok=True)
        if owner is not None:
            os.chown(folder, owner.pw_uid, owner.pw_gid)
        os.chmod(folder, 0o700)


def home_problem(home: str, owner: pwd.struct_passwd) -> str | None:
    """Why ``owner`` cannot enter and write ``home`` (their uid and primary group, as their server will
    run), or ``None`` when they can. Asked of the kernel by a shell started as them: the one answer
    that counts folder modes, owners and ACLs on every folder above as they are now."""
    result = subprocess.run([sys.executable, "-I", "-S", "-c", _HOME_CHECK, home], capture_output=True, text=True,
                            check=False, timeout=30, user=owner.pw_uid, group=owner.pw_gid, extra_groups=[])
    if result.returncode == 0:
        return None
    return result.stderr.strip().splitlines()[-1] if result.stderr.strip() else f"exit status {result.returncode}"


_HOME_CHECK = """
import os, sys
try:
    os.chdir(sys.argv[1])
except OSError as exc:
    sys.exit(f"cannot enter it: {exc.strerror}")
if not os.access(".", os.W_OK | os.X_OK):
    sys.exit("cannot write in it")
"""


#: The mode of a root of shared folders (``<data>/groups``, ``workspaces``, ``classes``) and of the platform's folders
#: of files read by name (``.astrohub-quotas``, ``.astrohub-deleted``): every user may pass through to the folder
#: their link or path names, nobody may list them, so nobody learns the names of the groups, workspaces and classes
#: they are not in. A name guessed exactly can still be stat-ed (the folder's own mode, 0770, keeps its content).
ROOT_MODE = 0o711
#: The folders of the home with a link per group and per workspace the user is in (``~/groups/<group>``,
#: ``~/workspaces/<name>``): the roots are not listable, so these links are how a member (and JupyterLab's file
#: browser, which shows only the home) finds them. Made by the local spawner at each start, and as someone joins.
GROUP_LINKS, WORKSPACE_LINKS = "groups", "workspaces"


def make_root(root: Path) -> Path:
    """Create ``root`` (and its parents) if missing and give it :data:`ROOT_MODE`, also when it was there (older
    versions made the roots 0755, listable by everyone)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, ROOT_MODE)
    return root


def run(cmd: list[str]) -> None:
    """Run a permission command; a failure is a :class:`HubError` with its message."""
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise HubError(f"{' '.join(cmd)} failed: {result.stderr.strip()}", code="folder-command")


def make_shared_folder(folder: Path, mode: int = 0o770) -> Path:
    """Create ``folder`` (and its parents) with ``mode``; never world-accessible.

    Raises ``ValueError`` for a mode with any bit for others: a shared folder is reached through
    ACL entries (or a group), not through the world bits.
    """
    if mode & 0o007:
        raise ValueError(f"shared folder mode {oct(mode)} gives others access; use 0o770 or 0o750")
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.mkdir(mode=mode, exist_ok=True)
    os.chmod(folder, mode | (os.stat(folder).st_mode & 0o2000))
    return folder


def grant(folder: Path, system_user: str, access: str = "rwx", *, recursive: bool = False,
          inherit: bool = True) -> None:
    """Give ``system_user`` ``access`` (``rwx``, ``r-x``, ``--x``) to ``folder``.

    ``inherit``: also a default entry, so what is created inside gets the same access.
    ``recursive``: also to everything already inside (e.g. a read-only member of a workspace
    whose folder holds files).
    """
    if recursive:  # X: search on folders (and on files already executable), not on every file
        access = access[:2] + ("X" if access[2] == "x" else "-")
    spec = f"u:{system_user}:{access}" + (f",d:u:{system_user}:{access}" if inherit else "")
    run(["setfacl", *(["-R", "-P"] if recursive else []), "-m", spec, str(folder)])


def revoke(folder: Path, system_user: str, *, end_holders: bool = True) -> list[int]:
    """Take every access ``system_user`` has under ``folder`` away, now; return the ended process ids.

    1. Their ACL entries, access and default, on ``folder`` and everything below it (a physical
       walk, symbolic links not followed).
    2. Files and folders below ``folder`` they own are handed to ``folder``'s owner and group, so
       neither the owner bits nor their own group's bits give them anything (the data stays; other
       members keep their entries).
    3. ``end_holders``: their processes with a working folder, root, open descriptor or memory-mapped
       file under ``folder`` are ended (SIGKILL): the kernel checks permissions when a file is opened (or
       mapped), so an open directory or file, or a shared map, would otherwise outlive the revocation.
    4. A file below ``folder`` with a hard link outside it (``st_nlink`` above its links inside) is
       replaced by a copy (:func:`_split_outside_links`): a member may link a file they can write
       into their home, and that link would otherwise keep reaching what the group writes there.
    """
    folder = Path(folder)
    if not folder.exists():
        return []
    run(["setfacl", "-R", "-P", "-x", f"u:{system_user},d:u:{system_user}", str(folder)])
    try:
        account = pwd.getpwnam(system_user)
    except KeyError:
        return []
    top = os.stat(folder)
    linked: dict[tuple[int, int], list[str]] = {}
    for path in _walk(folder):
        try:
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
                linked.setdefault((st.st_dev, st.st_ino), []).append(path)
            if st.st_uid == account.pw_uid:
                os.chown(path, top.st_uid, top.st_gid, follow_symlinks=False)
        except FileNotFoundError:
            continue
    ended = []
    if end_holders:
        for pid in holders(folder, account.pw_uid):
            try:
                os.kill(pid, signal.SIGKILL)
                ended.append(pid)
            except ProcessLookupError:
                continue
        if ended:
            log.warning("ended processes %s of %s: they held %s open after their access was revoked",
                        ended, system_user, folder)
    _split_outside_links(linked)
    return ended


def _split_outside_links(linked: dict[tuple[int, int], list[str]]) -> None:
    """Give each file in ``linked`` (inode -> its paths found inside the folder) a new inode when it also
    has links elsewhere: a copy (content, mode, ACL, owner, times) renamed over each inside path, so the
    links outside keep the old inode and see nothing written in the folder from now on."""
    for paths in linked.values():
        try:
            st = os.lstat(paths[0])
        except FileNotFoundError:
            continue
        if st.st_nlink <= len(paths):
            continue  # every link is inside the folder
        with replacing(paths[0]) as tmp:
            run(["cp", "--no-dereference", "--preserve=mode,ownership,timestamps,xattr", "--", paths[0], tmp])
            for path in paths[1:]:
                with replacing(path) as other:
                    os.unlink(other)
                    os.link(tmp, other, follow_symlinks=False)
        log.warning("gave %s a new inode: it had a hard link outside the folder", paths[0])


def _walk(folder: Path):
    yield str(folder)
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in [*dirs, *files]:
            yield os.path.join(root, name)


def _inside(target: str, folder: str) -> bool:
    return target == folder or target.startswith(folder.rstrip("/") + "/")


def holders(folder: Path, uid: int) -> list[int]:
    """Process ids of ``uid`` whose working folder, root, an open descriptor or a memory-mapped file is under
    ``folder`` (a shared map of a file stays writable after its descriptor is closed and its access revoked)."""
    folder_s = str(Path(folder).resolve())
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if os.stat(entry.path).st_uid != uid:
                continue
            links = [os.path.join(entry.path, "cwd"), os.path.join(entry.path, "root")]
            links += [os.path.join(entry.path, "fd", fd) for fd in os.listdir(os.path.join(entry.path, "fd"))]
            held = []
            for link in links:
                try:
                    held.append(os.readlink(link))
                except OSError:
                    continue
            if any(_inside(path, folder_s) for path in [*held, *_mapped_files(entry.path)]):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _mapped_files(proc: str) -> list[str]:
    """The files a process (``/proc/<pid>``) has mapped in memory: the path column of its ``maps``."""
    with open(os.path.join(proc, "maps")) as maps:
        return [parts[5] for parts in (line.rstrip("\n").split(maxsplit=5) for line in maps) if len(parts) == 6]


def holding(folder: Path, uid: int) -> list[str]:
    """:func:`holders`, each as its command name and id (``python3 (pid 4242)``), for a person to recognise."""
    named = []
    for pid in holders(folder, uid):
        try:
            with open(f"/proc/{pid}/comm") as comm:
                named.append(f"{comm.read().strip()} (pid {pid})")
        except OSError:
            continue  # ended meanwhile
    return named


def acl_users(folder: Path, prefix: str) -> dict[str, str]:
    """System users whose name starts with ``prefix`` and who have an access entry on ``folder``.

    Returns system user -> permissions (``"rwx"``, ``"r-x"``).
    """
    out = subprocess.run(
        ["getfacl", "--omit-header", "--absolute-names", "--numeric", str(folder)],
        capture_output=True, text=True, check=False,
    )
    users: dict[str, str] = {}
    for line in out.stdout.splitlines():
        parts = line.split("#")[0].strip().split(":")
        if len(parts) >= 3 and parts[0] == "user" and parts[1]:
            try:
                name = pwd.getpwuid(int(parts[1])).pw_name
            except (KeyError, ValueError):
                continue
            if name.startswith(prefix):
                users[name] = parts[2]
    return users


_TRANSFER = str(Path(__file__).with_name("_transfer.py"))
_LINKS = str(Path(__file__).with_name("_links.py"))


def _as_user(system_user: str | None) -> dict:
    if system_user is None or os.geteuid() != 0:
        return {}
    account = pwd.getpwnam(system_user)
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


def pack_as(folder: Path, system_user: str | None, *, limit: int = 200 * 2**20, base: Path | None = None,
            skip: tuple[str, ...] = ()) -> bytes:
    """The regular files under ``folder`` as a tar, read with ``system_user``'s permissions (None: ours);
    ``skip``: names of folders left out, at any depth (``./name``: only the one directly in ``folder``).

    Links are not followed, so a link a user planted cannot make root read what that user cannot;
    ``base``: no folder on the way from ``base`` to ``folder`` may be a link either.
    Raises :class:`HubError` (``code="copy-failed"``) naming the folder when it cannot be read.
    """
    extra = (["--base", str(base)] if base else []) + (["--skip", json.dumps(list(skip))] if skip else [])
    result = subprocess.run([sys.executable, "-I", _TRANSFER, "pack", str(folder), str(limit), *extra],
                            capture_output=True, check=False, timeout=600, **_as_user(system_user))
    if result.returncode != 0:
        reason = result.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["failed"]
        raise HubError(f"cannot read {folder}: {reason[0]}", code="copy-failed", value=str(folder))
    return result.stdout


def unpack_as(data: bytes, dest: Path, system_user: str | None, *, keep: bool = False,
              base: Path | None = None, replace: dict[str, str] | None = None, fresh: bool = False) -> list[str]:
    """Write tar ``data`` under ``dest`` with ``system_user``'s permissions; the names written.

    ``keep``: leave files that exist alone (a released assignment never overwrites a student's work),
    except those named in ``replace`` (``{name: sha256}``) whose content is still exactly that hash (a
    file of an earlier release the student has not changed, which a fixed release may update).
    ``fresh``: ``dest`` is replaced, holding exactly ``data``'s files afterwards (a newer copy of a submission).
    ``base``: no folder from ``base`` down to any written file may be a link.
    """
    args = [sys.executable, "-I", _TRANSFER, "unpack", str(dest)] + (["--keep"] if keep else [])
    args += ["--fresh"] if fresh else []
    args += ["--replace", json.dumps(replace)] if keep and replace else []
    args += ["--base", str(base)] if base else []
    result = subprocess.run(args, input=data, capture_output=True, check=False, timeout=600,
                            **_as_user(system_user))
    if result.returncode != 0:
        reason = result.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["failed"]
        raise HubError(f"cannot write {dest}: {reason[0]}", code="copy-failed", value=str(dest))
    return [line for line in result.stdout.decode().splitlines() if line]


def link_as(folder: Path, links: dict[str, str], shared_root: Path, system_user: str | None, *,
            remove: bool = False) -> None:
    """Add the links ``links`` (``{name: target}``) in ``folder`` with ``system_user``'s permissions (None: ours),
    as ``_links.link_shared_folders`` makes them at a server's start (none removed; a file of the user's under such
    a name is left alone; ``shared_root``: the root of the targets, classes, groups or workspaces); ``remove``:
    remove those links instead (``_links.unlink``). Best effort: a failure is logged, never raised (the links follow
    at the next start)."""
    try:
        result = subprocess.run([sys.executable, "-I", _LINKS, str(folder), str(shared_root), json.dumps(links),
                                 *(["--remove"] if remove else [])],
                                capture_output=True, check=False, timeout=60, **_as_user(system_user))
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("could not link %s in %s: %s", sorted(links), folder, exc)
        return
    if result.returncode != 0:
        log.warning("could not link %s in %s: %s", sorted(links), folder, result.stderr.decode(errors="replace"))


#: :func:`rename_as`'s script: ``OLD NEW``; renames the folder ``OLD`` (not a link) to ``NEW`` where nothing is.
_RENAME = ("import os, sys\n"
           "old, new = sys.argv[1:]\n"
           "if os.path.islink(old) or not os.path.isdir(old):\n"
           "    sys.exit(f'{old} is not a folder')\n"
           "if os.path.lexists(new):\n"
           "    sys.exit(f'{new} exists')\n"
           "try:\n"
           "    os.rename(old, new)\n"
           "except OSError as exc:\n"
           "    sys.exit(str(exc))\n")


def rename_as(old: Path, new: Path, system_user: str | None) -> str | None:
    """Rename the folder ``old`` to ``new`` (in the same home) with ``system_user``'s permissions (None: ours), only
    where ``old`` is a folder, not a link, and nothing is at ``new``; ``None`` when done, else what stopped it (never
    raised: the caller says so)."""
    try:
        result = subprocess.run([sys.executable, "-I", "-c", _RENAME, str(old), str(new)], capture_output=True,
                                check=False, timeout=60, **_as_user(system_user))
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{old} was not renamed to {new}: {exc}"
    if result.returncode != 0:
        return f"{old} was not renamed to {new}: {result.stderr.decode(errors='replace').strip()}"
    return None


def tar_hashes(data: bytes) -> dict[str, str]:
    """``{name: sha256}`` of the regular files in the tar ``data`` (as :func:`pack_as` makes it)."""
    found = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        for member in tar.getmembers():
            if member.isfile():
                found[os.path.normpath(member.name)] = hashlib.sha256(tar.extractfile(member).read()).hexdigest()
    return found


#: The operator's folder of quotas beside a root's folders, ``<name>.json`` = ``{"bytes": N}``: what
#: ``platform_lib.storage`` enforces on writes (``quota_path``; ``astrohub quotas set`` writes it), read here so the
#: hub's page shows the quota users write against. Out of the members' reach: not inside the folder they write.
QUOTAS = ".astrohub-quotas"


def quota_file(folder: Path) -> Path:
    """Where ``folder``'s quota is kept: ``<parent>/.astrohub-quotas/<name>.json`` (as ``platform_lib.storage``'s
    ``quota_path`` and ``astrohub_server.quotas`` have it: tests/unit/test_quota_file_place.py)."""
    folder = Path(folder)
    return folder.parent / QUOTAS / f"{folder.name}.json"


def set_folder_quota(folder: Path, quota: int | None) -> None:
    """Set (``None``: remove) ``folder``'s quota, beside it: ``<parent>/.astrohub-quotas/<name>.json``, written
    atomically, mode 0644, in a folder of ours that others may not list (0711); what ``astrohub quotas set`` does."""
    file = quota_file(folder)
    quotas = file.parent
    if quota is None:
        file.unlink(missing_ok=True)
        return
    if not quotas.is_dir():
        quotas.mkdir(exist_ok=True)
        os.chmod(quotas, ROOT_MODE)
    write_atomic(file, json.dumps({"bytes": quota}).encode(), mode=0o644)


def folder_quota(folder: Path) -> int | None:
    """The quota in bytes of ``folder`` (``None``: none set, or no readable quota in its file)."""
    try:
        value = json.loads(quota_file(folder).read_text() or "{}").get("bytes")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, int) and value >= 0 else None


#: The folder beside a root's folders where a deleted workspace's or group's folder is kept, root's only (0700).
DELETED = ".deleted"


def keep_deleted(folder: Path, when: float) -> Path:
    """Move ``folder`` (if there) to ``<parent>/.deleted/<name>-<UTC time of when>/`` and remove its quota; returns
    where it is kept.

    Nothing is lost: an admin gives the files back by moving the folder (see docs/local-platform.md, "Deleted
    groups and workspaces"); nobody else reaches it (``.deleted`` is root's, 0700). A new folder of the name starts
    empty and without the old one's quota. A second deletion of the name in the same second gets ``-2``, ``-3``...
    """
    folder = Path(folder)
    base = folder.parent / DELETED / f"{folder.name}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(when))}"
    kept, n = base, 1
    while os.path.lexists(kept):
        n += 1
        kept = base.with_name(f"{base.name}-{n}")
    if os.path.lexists(folder):
        kept.parent.mkdir(mode=0o700, exist_ok=True)
        kept.parent.chmod(0o700)
        folder.rename(kept)
    set_folder_quota(folder, None)  # else a new folder of this name would be held to it
    return kept


#: The platform's own files in a user's folders (a write's temporary file), which no quota counts.
INTERNAL_PREFIX = ".astrohub-"


def folder_usage(folder: Path) -> dict:
    """``{"path", "bytes", "files", "quota"}`` of everything under ``folder`` (links not followed; 0 if absent).

    ``quota`` is the folder's quota file's (:func:`folder_quota`). ``bytes`` and ``files`` are counted as
    ``platform_lib.storage`` counts them against that quota (``Space.used_bytes``): each file's size, the platform's
    own files (:data:`INTERNAL_PREFIX`) left out, so the page and ``platform_lib.usage()`` show one figure.
    """
    total = files = 0
    for root, dirs, names in os.walk(folder, followlinks=False):
        for name in names:
            if name.startswith(INTERNAL_PREFIX):
                continue
            try:
                st = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            total += st.st_size
            files += 1
    return {"path": str(folder), "bytes": total, "files": files, "quota": folder_quota(folder)}
