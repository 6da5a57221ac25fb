"""The :class:`Storage` facade: list, read, write, copy, move, delete and share across the user's spaces.

Addresses are ``"<space>:<path>"`` (``home:results/m31.fits``, ``group/lensing:shared/a.parquet``,
``datasets:gaia/README``) or an fsspec URL under a configured object space. Every write goes to a
temporary file beside the target and is renamed into place when complete; bytes are counted as they
are written, and a write that would take the space over its quota is stopped, its temporary file
removed, and :class:`QuotaExceeded` raised, so the old state is left intact. An operating-system
failure of any call (disk full, no permission, an I/O error) is a :class:`StorageError` too, whose
``code`` names the cause (``disk-full``, ``permission-denied``, ``os-error``), whose message names the
address and the system's reason, and whose ``__cause__`` is the ``OSError``. Only this module and
``_spaces`` touch fsspec.
"""

from __future__ import annotations

import errno
import functools
import os
import posixpath
import shutil
import time
import uuid
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Iterable, Iterator, TypeVar

from platform_lib.storage._errors import (
    AlreadyExists,
    NotAMember,
    PathNotFound,
    QuotaExceeded,
    ReadOnlySpace,
    SpaceNotFound,
    StorageError,
    WorkspaceDeleted,
)
from platform_lib.storage._tables import TableIO
from platform_lib.storage._spaces import (
    INTERNAL_PREFIX,
    Space,
    deleted_workspace,
    quota_path,
    spaces_from_settings,
    write_quota,
)

__all__ = ["Storage", "Entry", "Usage"]

_CHUNK = 1 << 20
_F = TypeVar("_F", bound=Callable[..., Any])
#: errno -> (code, what to do), for operating-system failures.
_OS_CAUSES = {
    errno.ENOSPC: ("disk-full", "the disk is full: free space (delete files you no longer need) or write to "
                                "another space, e.g. scratch"),
    errno.EDQUOT: ("disk-full", "the filesystem's quota is used up: free space or ask for a larger quota"),
    errno.EACCES: ("permission-denied", "you have no permission there: check the folder's owner and mode"),
    errno.EPERM: ("permission-denied", "the operation is not permitted there"),
    errno.EROFS: ("read-only", "the filesystem is mounted read-only: write to home, scratch or a group space"),
}


def _os_failures(method: _F) -> _F:
    """Turn an ``OSError`` escaping ``method`` into a :class:`StorageError` naming the address and cause."""

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except OSError as exc:
            address = args[0] if args and isinstance(args[0], str) else None
            if address is not None:  # in a workspace deleted meanwhile: say so, rather than "not found"
                self._refuse_deleted(address.partition(":")[0], exc)
            if isinstance(exc, FileNotFoundError) and address is not None:
                raise PathNotFound(f"{address}: no such file or folder ({exc.strerror or exc})",
                                   value=address) from exc
            code, advice = _OS_CAUSES.get(exc.errno, ("os-error", "retry; if it persists, tell an operator"))
            where = f"{address}: " if address is not None else ""
            reason = exc.strerror or type(exc).__name__
            raise StorageError(f"{where}{method.__name__} failed: {reason} ({advice})", code=code,
                               value=address) from exc

    return call  # type: ignore[return-value]


#: A write's temporary file, beside its target; one older than :data:`ABANDONED_AFTER` seconds was left by a process
#: killed while writing (a kernel that died, a stopped server) and is removed at the next write into its folder.
_TMP_PREFIX = f"{INTERNAL_PREFIX}tmp-"
ABANDONED_AFTER = 3600.0


def _remove_abandoned(folder: str) -> None:
    """Remove the temporary files in ``folder`` that no write has touched for :data:`ABANDONED_AFTER` seconds: a
    kernel killed while writing (out of memory, a restart) left its temporary file, hidden from Lab and not counted
    in the space's usage, for ever."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    now = time.time()
    for entry in entries:
        try:
            if entry.name.startswith(_TMP_PREFIX) and entry.is_file(follow_symlinks=False) \
                    and now - entry.stat(follow_symlinks=False).st_mtime > ABANDONED_AFTER:
                os.remove(entry.path)
        except OSError:  # someone else's, or removed meanwhile
            continue


def _place(src: str, dst: str, keep: str | None) -> None:
    """Rename ``src`` to ``dst``; with ``keep`` (``dst``'s address), never over a file: two kernels that write
    the same new name at once both passed the "exists?" check, and the later rename silently replaced the
    other's file. A hard link, which the kernel refuses over an existing name, claims ``dst`` instead; where
    the filesystem has no hard links, the check is made again just before the rename."""
    if keep is None:
        os.replace(src, dst)
        return
    try:
        os.link(src, dst)
    except FileExistsError:
        raise AlreadyExists(f"{keep} was written by someone else (another kernel, job or person) while this "
                            f"write ran; theirs is kept and nothing of this one was written: write to another "
                            f"name, or pass overwrite=True to replace it", value=keep) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV):
            raise
        if os.path.lexists(dst):
            raise AlreadyExists(f"{keep} exists; pass overwrite=True to replace it", value=keep) from None
        os.replace(src, dst)
        return
    os.unlink(src)


@dataclass(frozen=True)
class Entry:
    """One listed file or folder."""

    address: str
    name: str
    type: str  # "file" or "directory"
    size: int


@dataclass(frozen=True)
class Usage:
    """A space's use: ``used`` bytes in ``files`` files, against ``quota`` bytes (``None``: no quota)."""

    space: str
    used: int
    files: int
    quota: int | None

    @property
    def free(self) -> int | None:
        """Bytes left before the quota (``None`` without a quota)."""
        return None if self.quota is None else max(0, self.quota - self.used)


class Storage(TableIO):
    """One API over the user's spaces.

    Parameters
    ----------
    settings : PlatformSettings, optional
        Where the spaces are and who the user is (default: :func:`~platform_lib.get_settings`).
    object_spaces : dict, optional
        Extra spaces on object storage, name -> fsspec URL (``{"bucket": "s3://survey/alice"}``).
    quotas : dict, optional
        Quotas in bytes by space name, overriding the spaces' quota files.

    Examples
    --------
    >>> st = Storage(get_settings(home=tmp_path))                        # doctest: +SKIP
    >>> st.write_bytes("home:notes/a.txt", b"hello")                     # doctest: +SKIP
    >>> st.read_bytes("home:notes/a.txt")                                # doctest: +SKIP
    b'hello'
    """

    def __init__(self, settings=None, *, object_spaces: dict[str, str] | None = None,
                 quotas: dict[str, int] | None = None) -> None:
        if settings is None:
            from platform_lib.settings import get_settings

            settings = get_settings()
        self.settings = settings
        self.user = settings.user
        self.groups = set(settings.groups)
        self._spaces = spaces_from_settings(settings, object_spaces, quotas)

    # -- addressing ----------------------------------------------------------------------
    def spaces(self) -> list[str]:
        """The names of the spaces this user can use (group workspaces: only the user's groups that have a folder, and
        only those whose folder still lets them in)."""
        return [n for n, s in self._spaces.items()
                if (s.group is None or s.group in self.groups) and not self._withdrawn(s) and not self._folderless(s)]

    def space(self, name: str) -> Space:
        """The space called ``name`` (raises :class:`NotAMember` for another group's workspace)."""
        space = self._spaces.get(name)
        if space is None or space.kind == "workspace":
            self._refuse_deleted(name)  # a workspace deleted since: who did, when, how to keep one's work
        if space is None:
            self._refuse_closed_workspace(name)
            raise SpaceNotFound(f"no space {name!r}; this user has: {', '.join(self.spaces())}", value=name)
        if space.group is not None and space.group not in self.groups:
            if self._joined_since(space):
                raise NotAMember(
                    f"user {self.user!r} was added to group {space.group!r} after this server started (it lists the "
                    f"groups of its start), so cannot use {name!r} from Storage yet: restart your server (File > "
                    f"Hub Control Panel > Stop My Server, then Start My Server); its folder is at "
                    f"~/groups/{space.group} meanwhile", value=space.group,
                )
            raise NotAMember(
                f"user {self.user!r} is not a member of group {space.group!r}, so cannot use {name!r}; "
                "ask a group admin to add you on the hub", value=space.group,
            )
        if self._folderless(space):
            raise SpaceNotFound(
                f"no space {name!r}: hub group {space.group!r} has no group folder (a class's roster groups and a "
                "workspace's group 'ws-<name>' have none: a workspace is the space 'workspace/<name>', a class's folder "
                f"~/classes/<class>); this user has: {', '.join(self.spaces())}", value=name)
        if self._withdrawn(space):
            what = f"group {space.group!r} on the hub" if space.kind == "group" else "the workspace by its owner"
            raise NotAMember(
                f"user {self.user!r} can no longer use {name!r}: its folder does not let them in any more (removed "
                f"from {what}; this server still lists its groups as they were when it started, until its next "
                "start). Nothing of the others was changed; ask to be added back if you need it",
                value=space.group or name,
            )
        return space

    def _refuse_closed_workspace(self, name: str) -> None:
        """Raise :class:`NotAMember` when ``name`` is a shared workspace that is there but not open to this user (never
        a member, or removed): "no space" read as if it did not exist, or had been lost."""
        root = getattr(self.settings, "workspaces_root", None)
        kind, _, workspace = name.partition("/")
        if kind != "workspace" or root is None or not workspace or "/" in workspace or workspace.startswith("."):
            return
        if os.path.isdir(os.path.join(root, workspace)):
            raise NotAMember(f"user {self.user!r} is not in the workspace {workspace!r} (or was removed from it), so "
                             f"cannot use {name!r}; ask its owner to add you", value=name)

    def _joined_since(self, space: Space) -> bool:
        """A group this server's settings do not list whose folder the group sync has linked in the home and opened to
        this user: they were added after the server started (``PLATFORM_GROUPS`` is its start's)."""
        home = getattr(self.settings, "home", None)
        link = os.path.join(str(home), "groups", str(space.group)) if home is not None else ""
        return (space.kind == "group" and bool(link) and os.path.islink(link)
                and os.path.realpath(link) == os.path.realpath(space.root)
                and os.access(space.root, os.R_OK | os.W_OK | os.X_OK))

    @staticmethod
    def _folderless(space: Space) -> bool:
        """A hub group of the user's with no folder under the groups root: the groups the platform makes without one
        (a class's roster, a workspace's ``ws-<name>``), which ``PLATFORM_GROUPS`` lists with the others."""
        return space.kind == "group" and not os.path.lexists(space.root)

    @staticmethod
    def _withdrawn(space: Space) -> bool:
        """A group's or workspace's folder that is there but no longer lets this user in: they were removed after
        this server started (its ``PLATFORM_GROUPS``) or after this ``Storage`` was made."""
        return (space.kind in ("group", "workspace") and os.path.lexists(space.root)
                and not os.access(space.root, os.R_OK | os.X_OK))

    def _refuse_deleted(self, name: str, cause: BaseException | None = None) -> None:
        """Raise :class:`WorkspaceDeleted` when ``name`` is a workspace that was deleted (and not made again)."""
        space = self._spaces.get(name)
        if not name.startswith("workspace/") or (space is not None and os.path.isdir(space.root)
                                                 and os.access(space.root, os.X_OK)):
            return
        notice = deleted_workspace(getattr(self.settings, "workspaces_root", None), name.partition("/")[2])
        if notice is not None:
            raise WorkspaceDeleted(name, notice["deleted_by"], notice["deleted_at"]) from cause

    def _split(self, address: str) -> tuple[Space, str]:
        if not isinstance(address, str):
            raise TypeError(f"an address is a string like 'home:path/file', not {type(address).__name__}")
        if "://" in address:
            for space in self._spaces.values():
                if space.kind == "object" and address.startswith(space.url.rstrip("/") + "/"):
                    return self.space(space.name), address[len(space.url.rstrip("/")) + 1:]
            raise SpaceNotFound(f"{address!r} is under no configured object space; configure it in "
                                "Storage(object_spaces={name: url})", value=address)
        name, sep, path = address.partition(":")
        if not sep:
            raise SpaceNotFound(f"address {address!r} has no space: write '<space>:<path>', e.g. "
                                f"{self._example_address(address)!r}", value=address)
        return self.space(name), path

    def _resolve(self, address: str) -> tuple[Space, str]:
        space, path = self._split(address)
        return space, space.resolve(path)

    def _writable(self, space: Space, address: str) -> None:
        if space.read_only:
            raise ReadOnlySpace(f"{address}: the {space.name!r} space is read-only; write to home, scratch "
                                "or a group workspace instead", value=address)

    @staticmethod
    def _check_name(space: Space, full: str, address: str) -> None:
        """Refuse a path with a component reserved for the platform (temporary files, its own files).

        Every component of the space-relative path is checked, and in a local space also those of
        the path that symbolic links lead to, so no user call can write, replace, move or delete
        a file being written or another ``.astrohub-`` file.
        """
        paths = [space.relative(full)]
        if space.local:
            real_root = os.path.realpath(space.root)
            real = os.path.realpath(full)
            if real != real_root:
                paths.append(os.path.relpath(real, real_root).replace(os.sep, "/"))
        for rel in paths:
            if any(part.startswith(INTERNAL_PREFIX) for part in rel.split("/")):
                raise StorageError(
                    f"{address}: names starting with {INTERNAL_PREFIX!r} are reserved for the platform (its "
                    "temporary files and its own files); choose another name",
                    code="reserved-name", value=address,
                )

    @staticmethod
    def _new_name(space: Space, full: str, address: str, *, folder: bool = False) -> None:
        """Refuse to create a file (or, with ``folder``, a folder) under a name no one can use: one with a newline,
        tab or other control character (a file listing, a shell, a TSV of paths would split it), a name of blanks
        only, a file's address ending in '/', or a path through a file (``a/b`` where ``a`` is a file)."""
        rel = space.relative(full)
        bad = sorted({ch for ch in rel if ord(ch) < 32 or ord(ch) == 127})
        if bad:
            raise StorageError(f"{address!r}: a name may not hold control characters ({', '.join(map(repr, bad))}): "
                               "choose a name without them", code="bad-name", value=address)
        if any(part and not part.strip() for part in rel.split("/")):
            raise StorageError(f"{address!r}: a name of blanks only is no name: choose a visible one",
                               code="bad-name", value=address)
        if not folder and address.endswith("/"):
            raise StorageError(f"{address}: ends with '/', which names a folder: give the file's name "
                               f"({address}<name>) or call mkdir", code="bad-name", value=address)
        parent = posixpath.dirname(full.rstrip("/"))
        while space.local and len(parent) > len(space.root.rstrip("/")) and not os.path.isdir(parent):
            if os.path.lexists(parent):  # object stores have no such conflict: a key and its "folder" can coexist
                raise StorageError(f"{address}: {space.name}:{space.relative(parent)} is a file, not a folder, so "
                                   "nothing can be put inside it", code="not-a-folder", value=address)
            parent = posixpath.dirname(parent)

    # -- queries -------------------------------------------------------------------------
    @_os_failures
    def exists(self, address: str) -> bool:
        """True when a file or folder is at ``address``."""
        space, full = self._resolve(address)
        return space.fs.exists(full)

    @_os_failures
    def list(self, address: str) -> list[Entry]:
        """The files and folders directly inside the folder at ``address`` (or the file itself)."""
        space, full = self._resolve(address)
        if not space.fs.exists(full):
            raise PathNotFound(f"{address}: no such file or folder", value=address)
        out = []
        for info in space.fs.ls(full, detail=True):
            name = posixpath.basename(info["name"].rstrip("/"))
            if name.startswith(INTERNAL_PREFIX):
                continue
            rel = space.relative(info["name"])
            kind = "directory" if info.get("type") == "directory" else "file"
            out.append(Entry(f"{space.name}:{rel}", name, kind, int(info.get("size") or 0)))
        return sorted(out, key=lambda e: e.name)

    @_os_failures
    def usage(self, space: str | None = None) -> Usage | dict[str, Usage]:
        """Bytes and files used, and the quota, of one space (or of every space, as a dict)."""
        if space is None:
            return {name: self.usage(name) for name in self.spaces()}
        if not isinstance(space, str):
            raise TypeError(f"space must be a space's name such as 'home' (or None for every space), got {space!r} "
                            f"({type(space).__name__})")
        s = self.space(space)
        used, files = s.used_bytes()
        return Usage(s.name, used, files, s.quota_bytes())

    @_os_failures
    def set_quota(self, space: str, quota: int | None) -> None:
        """Set the space's quota (bytes; ``None`` removes it): the operator's action, not a member's.

        The quota is kept beside the space, in a folder only the operator may write
        (:func:`~platform_lib.storage.quota_path`; on the local platform ``astrohub quotas set`` does it as
        root); called by anyone else it raises :class:`StorageError` (``not-the-operator``) and changes nothing.
        """
        s = self.space(space)
        self._writable(s, f"{space}:")
        if quota is not None and (not isinstance(quota, int) or isinstance(quota, bool) or quota < 0):
            raise ValueError(f"quota must be a non-negative number of bytes, not {quota!r}")
        try:
            write_quota(s.fs, s.root, quota)
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):  # EROFS: mounted read-only in a pod
                raise
            raise StorageError(
                f"{space}: quotas are set by the platform's operator, and you may not change them (the quota is kept "
                f"in {quota_path(s.root)}); ask an admin, who sets it with `astrohub quotas set`",
                code="not-the-operator", value=space) from exc

    # -- reading -------------------------------------------------------------------------
    @_os_failures
    def open(self, address: str) -> BinaryIO:
        """The file at ``address`` opened for binary reading."""
        space, full = self._resolve(address)
        if not space.fs.isfile(full):
            raise PathNotFound(f"{address}: no such file", value=address)
        return space.fs.open(full, "rb")

    @_os_failures
    def read_bytes(self, address: str) -> bytes:
        """The whole content of the file at ``address``."""
        with self.open(address) as fh:
            return fh.read()

    def _example_address(self, path: str) -> str:
        """The address a space-less ``path`` probably means: an absolute path inside one of this user's local
        spaces (``/home/alice/x.fits``) is that space's address, ``~/x.fits`` (the home, as a shell writes it)
        ``home:x.fits``, anything else ``home:<path>``."""
        if path == "~" or path.startswith("~/"):
            return f"home:{path[2:]}"
        if os.path.isabs(path):
            for name in self.spaces():
                space = self._spaces[name]
                root = space.root.rstrip("/")
                if space.local and root and (path == root or path.startswith(root + "/")):
                    return f"{name}:{path[len(root) + 1:]}"
        return f"home:{path.lstrip('/')}"

    def local_path(self, address: str) -> str | None:
        """The file's path on this machine's filesystem, or ``None`` for object storage."""
        space, full = self._resolve(address)
        return full if space.local else None

    # -- writing -------------------------------------------------------------------------
    @_os_failures
    def write_bytes(self, address: str, data: bytes | Iterable[bytes] | BinaryIO, *, overwrite: bool = True) -> str:
        """Write ``data`` (bytes, an iterable of byte chunks, or a binary file) atomically to ``address``.

        Returns the address. Raises :class:`QuotaExceeded` (and leaves nothing behind) when the
        write would take the space over its quota.
        """
        space, full = self._resolve(address)
        self._writable(space, address)
        self._check_name(space, full, address)
        if space.fs.isdir(full):
            raise AlreadyExists(f"{address} is a folder", value=address)
        self._new_name(space, full, address)
        if not overwrite and space.fs.exists(full):
            raise AlreadyExists(f"{address} exists; pass overwrite=True to replace it", value=address)
        self._commit(space, full, _chunks(data), keep=None if overwrite else address)
        return address

    def _commit(self, space: Space, full: str, chunks: Iterable[bytes], *, check_quota: bool = True,
                keep: str | None = None) -> None:
        """Write chunks to a temporary file beside ``full``, enforcing the quota, then rename it into place;
        with ``keep`` (the address), a file that appeared at ``full`` meanwhile is kept (:func:`_place`)."""
        quota = space.quota_bytes() if check_quota else None
        budget = None
        used = 0
        if quota is not None:
            used, _ = space.used_bytes()
            replaced = space.fs.size(full) if space.fs.isfile(full) else 0
            budget = quota - used + replaced
        parent = posixpath.dirname(full)
        tmp = posixpath.join(parent, f"{_TMP_PREFIX}{uuid.uuid4().hex}")
        space.fs.makedirs(parent, exist_ok=True)
        if space.local:
            _remove_abandoned(parent)
        written = 0
        try:
            with space.fs.open(tmp, "wb") as fh:
                for chunk in chunks:
                    written += len(chunk)
                    if budget is not None and written > budget:
                        raise QuotaExceeded.writing(space.name, posixpath.basename(full), quota=quota,
                                                    used=used, needed=written, at_least=True)
                    fh.write(chunk)
            if space.local:
                _place(tmp, full, keep)
            else:
                space.fs.mv(tmp, full)
        except BaseException:
            try:
                if space.fs.exists(tmp):
                    space.fs.rm(tmp)
            except OSError:
                pass
            raise

    @_os_failures
    def mkdir(self, address: str) -> str:
        """Create the folder at ``address`` (and its parents)."""
        space, full = self._resolve(address)
        self._writable(space, address)
        self._check_name(space, full, address)
        self._new_name(space, full, address, folder=True)
        space.fs.makedirs(full, exist_ok=True)
        return address

    @_os_failures
    def delete(self, address: str, *, recursive: bool = False) -> None:
        """Delete the file (or, with ``recursive``, the folder) at ``address``."""
        space, full = self._resolve(address)
        self._writable(space, address)
        if full.rstrip("/") == space.root.rstrip("/"):
            raise StorageError(f"{address}: refusing to delete a whole space", code="refused", value=address)
        self._check_name(space, full, address)
        if not space.fs.exists(full):
            raise PathNotFound(f"{address}: no such file or folder", value=address)
        if space.fs.isdir(full):
            if not recursive:
                raise StorageError(f"{address} is a folder: pass recursive=True to delete it", code="is-a-folder",
                                   value=address)
            if space.local:
                shutil.rmtree(full)
            else:
                space.fs.rm(full, recursive=True)
        else:
            space.fs.rm(full)

    @_os_failures
    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> str:
        """Copy a file from ``src`` to ``dst`` (any two spaces), atomically and within ``dst``'s quota."""
        src_space, src_full = self._resolve(src)
        if not src_space.fs.isfile(src_full):
            raise PathNotFound(f"{src}: no such file", value=src)
        with src_space.fs.open(src_full, "rb") as fh:
            return self.write_bytes(dst, fh, overwrite=overwrite)

    @_os_failures
    def move(self, src: str, dst: str, *, overwrite: bool = False) -> str:
        """Move a file from ``src`` to ``dst``: a rename within a space, else copy then delete."""
        src_space, src_full = self._resolve(src)
        self._writable(src_space, src)
        dst_space, dst_full = self._resolve(dst)
        self._writable(dst_space, dst)
        self._check_name(src_space, src_full, src)
        self._check_name(dst_space, dst_full, dst)
        if not src_space.fs.isfile(src_full):
            raise PathNotFound(f"{src}: no such file", value=src)
        if not overwrite and dst_space.fs.exists(dst_full):
            raise AlreadyExists(f"{dst} exists; pass overwrite=True to replace it", value=dst)
        if not dst_space.fs.isdir(dst_full):
            self._new_name(dst_space, dst_full, dst)
        if src_space is dst_space and src_space.local:
            os.makedirs(posixpath.dirname(dst_full), exist_ok=True)
            _place(src_full, dst_full, None if overwrite else dst)
            return dst
        self.copy(src, dst, overwrite=overwrite)
        src_space.fs.rm(src_full)
        return dst

    @_os_failures
    def share(self, address: str, group: str, *, path: str | None = None, overwrite: bool = False) -> str:
        """Copy the file at ``address`` into the workspace of ``group`` (the user must be a member).

        It lands at ``group/<group>:shared/<user>/<file name>`` unless ``path`` is given. Returns the
        new address, readable by every member of the group.
        """
        name = f"group/{group}"
        if name not in self._spaces:
            raise SpaceNotFound(f"no workspace for group {group!r}", value=group)
        self.space(name)  # membership check
        _src_space, src_full = self._resolve(address)
        target = path or f"shared/{self.user or 'user'}/{posixpath.basename(src_full)}"
        dst = f"{name}:{target}"
        self.copy(address, dst, overwrite=overwrite)
        space, full = self._resolve(dst)
        if space.local:
            os.chmod(full, 0o660)  # the members through the folder's ACL; nobody else, also not through a hard link
        return dst


def _chunks(data) -> Iterator[bytes]:
    if isinstance(data, (bytes, bytearray, memoryview)):
        view = memoryview(data)
        for i in range(0, len(view), _CHUNK):
            yield bytes(view[i:i + _CHUNK])
        if len(view) == 0:
            yield b""
        return
    if hasattr(data, "read"):
        while True:
            chunk = data.read(_CHUNK)
            if not chunk:
                return
            yield chunk
    else:
        if isinstance(data, str) or not hasattr(data, "__iter__"):
            raise TypeError(f"data must be bytes, an iterable of bytes chunks or a binary file, got "
                            f"{type(data).__name__}" + (": encode text first, e.g. text.encode()"
                                                         if isinstance(data, str) else ""))
        for chunk in data:
            if not isinstance(chunk, (bytes, bytearray)):
                raise TypeError(f"write_bytes takes bytes chunks, not {type(chunk).__name__}")
            yield bytes(chunk)



