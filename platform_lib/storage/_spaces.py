"""The user's spaces: where each lives (a local folder or an fsspec URL), its rules, and safe paths in it.

A :class:`Space` is a root on an fsspec filesystem plus its rules: read-only or not, a quota, and
(for group workspaces) the group whose members may use it. :func:`spaces_from_settings` builds the
user's spaces from :class:`~platform_lib.PlatformSettings`. :meth:`Space.resolve` is the one place
where a user-supplied path becomes a filesystem path; it refuses ``..``, absolute paths and symbolic
links that lead out of the space.

A space's quota is the operator's: it lives beside the space, not in it, in the root-owned folder
``.astrohub-quotas`` of the folder above the space's root, as ``<space folder>.json`` (``{"bytes": N}``;
``<data>/groups/.astrohub-quotas/lensing.json`` for ``group/lensing``), where the space's members can read it
but not change it (:func:`quota_path`, :func:`read_quota`, :func:`write_quota`, which writes it with
:func:`platform_lib.atomic.write_atomic`). The quota file that spaces
used to hold at their own root (``.astrohub-quota.json``, :data:`QUOTA_FILE`), which every member could
edit or delete, is no longer read: :func:`migrate_quota_files` moves the operator's ones out once.
"""

from __future__ import annotations

import json
import os
import posixpath
import stat
from dataclasses import dataclass
from pathlib import Path

from platform_lib.atomic import write_atomic
from platform_lib.storage._errors import PathEscape, StorageError

__all__ = ["Space", "spaces_from_settings", "deleted_workspace", "tree_bytes", "QUOTA_FILE", "QUOTAS", "INTERNAL_PREFIX",
           "DELETED_NOTICES", "quota_path", "read_quota", "write_quota", "migrate_quota_files"]

#: The folder, beside the spaces of one root (``<data>/groups``, ``<data>/home``), with each space's quota.
QUOTAS = ".astrohub-quotas"
#: The quota file spaces once held at their own root, where members could change it: no longer read.
QUOTA_FILE = ".astrohub-quota.json"
INTERNAL_PREFIX = ".astrohub-"
#: The folder under the workspaces root where the classes service leaves a notice per deleted workspace,
#: ``<name>.json`` with ``deleted_by`` and ``deleted_at`` (``astrohub_hub.workspaces``, which writes it).
DELETED_NOTICES = ".astrohub-deleted"


def tree_bytes(path: str | os.PathLike, *, limit: int | None = None) -> int:
    """The bytes of the regular files at or under the local ``path`` (a file: its size; nothing there: 0).

    Symbolic links are neither followed nor counted, ``path`` itself included: a link that leads out of the user's
    space (to a dataset, another user's files) is not held against a quota, and its tree is not walked. With
    ``limit``, counting stops as soon as the total is past it (the number returned is then more than ``limit``,
    not the whole size), so a question such as "is this input small?" does not walk a large tree to its end.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "a.bin").write_bytes(b"x" * 300)
    >>> (root / "elsewhere").symlink_to("/usr")
    >>> tree_bytes(root), tree_bytes(root / "a.bin"), tree_bytes(root / "missing")
    (300, 300, 0)
    """
    total = 0
    stack = [os.fspath(path)]
    while stack:
        current = stack.pop()
        try:
            st = os.lstat(current)
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if stat.S_ISREG(st.st_mode):
            total += st.st_size
            if limit is not None and total > limit:
                return total
        elif stat.S_ISDIR(st.st_mode):
            try:
                with os.scandir(current) as entries:
                    stack.extend(entry.path for entry in entries)
            except OSError:
                continue
    return total


def deleted_workspace(workspaces_root, name: str) -> dict | None:
    """The notice of the workspace ``name``'s deletion (``deleted_by``, ``deleted_at``), or ``None``: none."""
    if workspaces_root is None or not name or "/" in name or name.startswith("."):
        return None
    try:
        notice = json.loads((Path(workspaces_root) / DELETED_NOTICES / f"{name}.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(notice, dict) or not all(isinstance(notice.get(k), str) for k in ("deleted_by", "deleted_at")):
        return None
    return notice


def quota_path(root: str) -> str:
    """Where the quota of the space whose root folder is ``root`` is kept: beside it, out of its members' reach.
    (``astrohub_hub.folders.quota_file`` and ``astrohub_server.quotas`` give the same file, which they may not
    import from here: tests/unit/test_quota_file_place.py.)

    Examples
    --------
    >>> quota_path("/srv/astrohub/groups/lensing/")
    '/srv/astrohub/groups/.astrohub-quotas/lensing.json'
    """
    root = root.rstrip("/")
    return posixpath.join(posixpath.dirname(root), QUOTAS, posixpath.basename(root) + ".json")


def read_quota(fs, root: str, name: str | None = None) -> int | None:
    """The quota in bytes of the space at ``root`` on the fsspec filesystem ``fs`` (``None``: none set).

    Raises :class:`StorageError` (``bad-quota-file``) naming the file when it holds no quota.
    """
    name = name or root
    file = quota_path(root)
    try:
        with fs.open(file, "rb") as fh:
            data = json.loads(fh.read() or b"{}")
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise StorageError(f"{name}: the quota file {file} is unreadable: {exc}", code="bad-quota-file") from exc
    value = data.get("bytes") if isinstance(data, dict) else data
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise StorageError(f"{name}: quota must be a non-negative integer of bytes, not {value!r} (in {file})",
                           code="bad-quota-file", value=value)
    return value


def write_quota(fs, root: str, quota: int | None) -> None:
    """Set (or, with ``None``, remove) the quota of the space at ``root``: the operator's action.

    The file is written whole (a temporary file renamed over it), readable by whoever names it, in a folder its
    creator owns that others may not list (mode 0711): run as root, as ``astrohub quotas set`` is, members of the
    space read it but cannot change it.
    """
    if quota is not None and (not isinstance(quota, int) or isinstance(quota, bool) or quota < 0):
        raise ValueError(f"quota must be a non-negative number of bytes, not {quota!r}")
    file = quota_path(root)
    if quota is None:
        if fs.exists(file):
            fs.rm(file)
        return
    data = json.dumps({"bytes": quota}).encode()
    if not _is_local(fs):
        fs.pipe_file(file, data)
        return
    folder = os.path.dirname(file)
    if not os.path.isdir(folder):
        os.makedirs(folder, exist_ok=True)
        os.chmod(folder, 0o711)
    write_atomic(file, data, mode=0o644)


def migrate_quota_files(parent: str | os.PathLike) -> list[str]:
    """Move each space's own quota file under ``parent`` (``<space>/.astrohub-quota.json``) beside it, once.

    A file the caller wrote (owned by the user running this: root, for ``astrohub up`` as root) becomes the
    space's quota unless the operator already set one; any other file (a member's) is not trusted. Either
    way the old file is removed: it is read no more. Returns one line per file, saying what happened.
    """
    said = []
    parent = Path(parent)
    if not parent.is_dir():
        return said
    for folder in sorted(parent.iterdir()):
        old = folder / QUOTA_FILE
        if folder.name.startswith(".") or folder.is_symlink() or not folder.is_dir():
            continue
        try:
            st = os.lstat(old)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
            said.append(f"{old}: ignored and removed (written by uid {st.st_uid}, not by the operator)")
        else:
            try:  # not through a link a member put there meanwhile
                with os.fdopen(os.open(old, os.O_RDONLY | os.O_NOFOLLOW), "rb") as fh:
                    value = json.loads(fh.read() or b"{}").get("bytes")
            except (OSError, ValueError, AttributeError):
                value = None
            local = _local_fs()
            if read_quota(local, str(folder)) is not None:
                said.append(f"{old}: removed (the space already has a quota in {quota_path(str(folder))})")
            elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                write_quota(local, str(folder), value)
                said.append(f"{old}: moved to {quota_path(str(folder))} ({value} bytes)")
            else:
                said.append(f"{old}: removed (it held no quota)")
        try:
            old.unlink()
        except OSError as exc:  # it is not read any more either way
            said[-1] += f"; could not remove it: {exc.strerror}"
    return said


def _is_local(fs) -> bool:
    return "file" in _protocols(fs) or "local" in _protocols(fs)


def _local_fs():
    import fsspec

    return fsspec.filesystem("file")


@dataclass
class Space:
    """One storage space.

    Parameters
    ----------
    name
        How addresses name it: ``home``, ``scratch``, ``datasets``, ``group/<name>``, or an object space's name.
    url
        Its root: a local folder path or an fsspec URL (``s3://bucket/prefix``, ``memory://bucket``).
    read_only
        Refuse every write, move and delete.
    group
        For a group workspace, the group whose members may use it.
    quota
        The most bytes the space may hold; ``None`` reads the quota file (no file: no quota).
    """

    name: str
    url: str
    kind: str = "local"
    read_only: bool = False
    group: str | None = None
    quota: int | None = None

    def __post_init__(self) -> None:
        import fsspec

        if "://" in self.url:
            self.fs, root = fsspec.core.url_to_fs(self.url)
            self.root = root.rstrip("/") or "/"
            self.local = self.fs.protocol in ("file", ("file", "local")) or "file" in _protocols(self.fs)
        else:
            self.fs = fsspec.filesystem("file")
            self.root = os.path.abspath(self.url)
            self.local = True
        if self.local:
            self.root = os.path.abspath(self.root)

    # -- paths ---------------------------------------------------------------------------
    def resolve(self, path: str) -> str:
        """The filesystem path for ``path`` inside the space; raises :class:`PathEscape` if it leaves it."""
        if path is None:
            path = ""
        if "\x00" in path:
            raise PathEscape(f"{self.name}: path contains a NUL byte", value=path)
        if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
            raise PathEscape(f"{self.name}:{path}: give a path relative to the space, not an absolute one", value=path)
        norm = posixpath.normpath(path.replace("\\", "/")) if path else "."
        if norm == ".." or norm.startswith("../"):
            raise PathEscape(f"{self.name}:{path}: '..' would leave the space", value=path)
        full = self.root if norm == "." else posixpath.join(self.root, norm)
        if self.local:
            real_root = os.path.realpath(self.root)
            real = os.path.realpath(full)
            if real != real_root and not real.startswith(real_root.rstrip(os.sep) + os.sep):
                raise PathEscape(
                    f"{self.name}:{path}: a symbolic link leads out of the space (to {real})", value=path
                )
        return full

    def relative(self, full: str) -> str:
        """The space-relative path of a filesystem path inside the space."""
        root = self.root.rstrip("/")
        full = full.rstrip("/")
        if self.local:
            return os.path.relpath(full, self.root).replace(os.sep, "/")
        if full.startswith(root):
            return full[len(root):].lstrip("/") or "."
        stripped = self.fs._strip_protocol(full).rstrip("/")
        return stripped[len(self.fs._strip_protocol(root).rstrip("/")):].lstrip("/") or "."

    # -- quota ---------------------------------------------------------------------------
    def quota_bytes(self) -> int | None:
        """The quota in bytes: given at construction, else the operator's (:func:`read_quota`), else none."""
        if self.quota is not None:
            return self.quota
        return read_quota(self.fs, self.root, self.name)

    def used_bytes(self) -> tuple[int, int]:
        """(bytes, files) held in the space, not counting the platform's own files."""
        total = files = 0
        if self.local:
            for dirpath, dirnames, filenames in os.walk(self.root):
                for f in filenames:
                    if f.startswith(INTERNAL_PREFIX):
                        continue
                    try:
                        st = os.lstat(os.path.join(dirpath, f))
                    except FileNotFoundError:
                        continue
                    total += st.st_size
                    files += 1
            return total, files
        if not self.fs.exists(self.root):
            return 0, 0
        for path, info in self.fs.find(self.root, detail=True).items():
            if posixpath.basename(path).startswith(INTERNAL_PREFIX):
                continue
            total += int(info.get("size") or 0)
            files += 1
        return total, files


def _protocols(fs) -> tuple[str, ...]:
    p = fs.protocol
    return tuple(p) if isinstance(p, (tuple, list)) else (p,)


def _names(root: Path, home, links: str) -> set[str]:
    """The folder names under ``root`` (groups' or workspaces'), hidden ones left out: listed when the user may list
    ``root`` (a Kubernetes pod's, holding its own mounts; the platform's owner), else those of the links in the
    home's folder ``links`` (``~/groups``, ``~/workspaces``: the local platform's roots are 0711, not listable, and
    it links there each group and workspace the user is in). Only names: each folder's own mode says what opens."""
    for folder in (root, Path(home) / links if home is not None else None):
        try:
            return {p.name for p in folder.iterdir() if not p.name.startswith(".")} if folder is not None else set()
        except OSError:  # not listable (the local roots), or no such folder
            continue
    return set()


def spaces_from_settings(settings, object_spaces: dict[str, str] | None = None,
                         quotas: dict[str, int] | None = None) -> dict[str, Space]:
    """The user's spaces from the platform settings, plus named object-storage spaces."""
    quotas = quotas or {}
    spaces: dict[str, Space] = {}

    def add(space: Space) -> None:
        if space.name in quotas:
            space.quota = quotas[space.name]
        spaces[space.name] = space

    add(Space("home", str(settings.home), kind="home"))
    if settings.scratch is not None:
        add(Space("scratch", str(settings.scratch), kind="scratch"))
    if settings.datasets is not None:
        add(Space("datasets", str(settings.datasets), kind="datasets", read_only=True))
    if settings.groups_root is not None:
        root = Path(settings.groups_root)
        for group in sorted(set(settings.groups) | _names(root, settings.home, "groups")):
            add(Space(f"group/{group}", str(root / group), kind="group", group=group))
    workspaces = getattr(settings, "workspaces_root", None)
    if workspaces is not None:
        # A shared workspace (astrohub workspaces) is the user's when its folder lets them in: the folder's
        # ACL entries are the membership (read-write members, read-only readers).
        for name in sorted(_names(Path(workspaces), settings.home, "workspaces")):
            folder = Path(workspaces) / name
            if folder.is_dir() and os.access(folder, os.R_OK | os.X_OK):
                add(Space(f"workspace/{name}", str(folder), kind="workspace", read_only=not os.access(folder, os.W_OK)))
    for name, url in (object_spaces or {}).items():
        if name in spaces or ":" in name:
            raise ValueError(f"object space name {name!r} clashes with a built-in space or contains ':'")
        add(Space(name, url, kind="object"))
    return spaces
