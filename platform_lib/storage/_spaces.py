"""The user's spaces: where each lives (a local folder or an fsspec URL), its rules, and safe paths in it.

A :class:`Space` is a root on an fsspec filesystem plus its rules: read-only or not, a quota, and
(for group workspaces) the group whose members may use it. :func:`spaces_from_settings` builds the
user's spaces from :class:`~platform_lib.PlatformSettings`. :meth:`Space.resolve` is the one place
where a user-supplied path becomes a filesystem path; it refuses ``..``, absolute paths and symbolic
links that lead out of the space. Quotas live in a small JSON file at the space's root
(``.astrohub-quota.json``: ``{"bytes": N}``), unless the caller gives one.
"""

from __future__ import annotations

import json
import os
import posixpath
import stat
from dataclasses import dataclass
from pathlib import Path

from platform_lib.storage._errors import PathEscape, StorageError

__all__ = ["Space", "spaces_from_settings", "deleted_workspace", "tree_bytes", "QUOTA_FILE", "INTERNAL_PREFIX",
           "DELETED_NOTICES"]

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
        """The quota in bytes: given at construction, else from the space's quota file, else none."""
        if self.quota is not None:
            return self.quota
        file = posixpath.join(self.root, QUOTA_FILE)
        try:
            with self.fs.open(file, "rb") as fh:
                data = json.loads(fh.read() or b"{}")
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise StorageError(f"{self.name}: the quota file {file} is unreadable: {exc}", code="bad-quota-file") from exc
        value = data.get("bytes")
        if value is None:
            return None
        if not isinstance(value, int) or value < 0:
            raise StorageError(f"{self.name}: quota must be a non-negative integer of bytes, not {value!r}",
                               code="bad-quota-file", value=value)
        return value

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
        names = set(settings.groups)
        if root.is_dir():
            names |= {p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")}
        for group in sorted(names):
            add(Space(f"group/{group}", str(root / group), kind="group", group=group))
    workspaces = getattr(settings, "workspaces_root", None)
    if workspaces is not None and Path(workspaces).is_dir():
        # A shared workspace (astrohub workspaces) is the user's when its folder lets them in: the folder's
        # ACL entries are the membership (read-write members, read-only readers).
        for folder in sorted(Path(workspaces).iterdir()):
            if folder.is_dir() and not folder.name.startswith(".") and os.access(folder, os.R_OK | os.X_OK):
                add(Space(f"workspace/{folder.name}", str(folder), kind="workspace",
                          read_only=not os.access(folder, os.W_OK)))
    for name, url in (object_spaces or {}).items():
        if name in spaces or ":" in name:
            raise ValueError(f"object space name {name!r} clashes with a built-in space or contains ':'")
        add(Space(name, url, kind="object"))
    return spaces
