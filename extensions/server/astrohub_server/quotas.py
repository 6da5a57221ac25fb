"""The platform's space quotas for what JupyterLab saves: a save that would pass one is refused with a 413.

A space (the home, scratch, a group folder, a shared workspace) may have a quota, which the operator keeps
beside it, out of its members' reach: ``<folder above>/.astrohub-quotas/<space folder>.json`` (``{"bytes": N}``,
written by ``astrohub quotas set``; ``platform_lib.storage.quota_path``).
``platform_lib.storage`` enforces it on its own writes; Lab's saves (the contents API: a notebook, a text
file, an upload) went past it without a word, so a teammate could fill the group folder from the browser
while everybody's notebook writes were refused. :func:`enforce_quotas` wraps the server's contents
manager's file writers so that such a save is refused before anything is written, with a message naming the
space, the quota and what is used, which Lab shows in its "File Save Error" dialog. Usage is counted as
``platform_lib.storage`` counts it (file sizes under the space's root, links not followed, the platform's
``.astrohub-`` files left out; in a thread, not on the server's event loop), and replacing a file counts
only the difference. Like those quotas, this is
not a security boundary: a kernel or a terminal writing with ``open()`` is not counted (filesystem quotas
are the operators', ``docs/storage.md``).

The spaces come from the environment the hub gives every server (``PLATFORM_HOME``, ``PLATFORM_SCRATCH``,
``PLATFORM_GROUPS_ROOT``, ``PLATFORM_WORKSPACES_ROOT``). May import the standard library, tornado,
nbformat, ``astrohub_server.contents`` and ``astrohub_server.sizes`` (never ``platform_lib``, so it runs in any user image).
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any, Mapping

from tornado import web

from astrohub_server.sizes import size_text

from astrohub_server.contents import check_before

__all__ = ["QUOTAS", "SpaceQuota", "enforce_quotas", "space_of"]

#: The operator's folder of quotas beside a root's spaces, as ``platform_lib.storage`` writes it.
QUOTAS = ".astrohub-quotas"
#: Names the platform keeps for itself (the quota file, temporary files): not counted.
INTERNAL_PREFIX = ".astrohub-"


class SpaceQuota:
    """One space: its ``name`` as ``platform_lib.storage`` names it (``group/lensing``) and its ``root``."""

    def __init__(self, name: str, root: Path) -> None:
        self.name, self.root = name, root

    @property
    def quota_file(self) -> Path:
        """Where the operator keeps the quota: ``<folder above>/.astrohub-quotas/<space folder>.json`` (as
        ``platform_lib.storage.quota_path`` and ``astrohub_hub.folders.quota_file`` have it:
        tests/unit/test_quota_file_place.py)."""
        return self.root.parent / QUOTAS / f"{self.root.name}.json"

    def quota(self) -> int | None:
        """Bytes allowed, from the operator's quota file beside the space (``None``: none, or none readable in it)."""
        try:
            value = json.loads(self.quota_file.read_text() or "{}").get("bytes")
        except (OSError, ValueError, AttributeError):
            return None
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None

    def used(self) -> int:
        """Bytes held under the root (links not followed; the platform's own files left out)."""
        total = 0
        for folder, _, names in os.walk(self.root):
            for name in names:
                if name.startswith(INTERNAL_PREFIX):
                    continue
                try:
                    total += os.lstat(os.path.join(folder, name)).st_size
                except OSError:
                    continue
        return total


def space_of(os_path: str, environ: Mapping[str, str] = os.environ) -> SpaceQuota | None:
    """The space that a file at ``os_path`` (existing or not) is written into, after links; ``None``: none."""
    real = Path(os.path.realpath(os_path))
    for variable, prefix in (("PLATFORM_GROUPS_ROOT", "group"), ("PLATFORM_WORKSPACES_ROOT", "workspace")):
        root = environ.get(variable)
        if not root:
            continue
        root = Path(os.path.realpath(root))
        if real.is_relative_to(root) and len(real.relative_to(root).parts) > 1:
            name = real.relative_to(root).parts[0]
            return SpaceQuota(f"{prefix}/{name}", root / name)
    for variable, name in (("PLATFORM_SCRATCH", "scratch"), ("PLATFORM_HOME", "home")):
        root = environ.get(variable)
        if root and real.is_relative_to(Path(os.path.realpath(root))):
            return SpaceQuota(name, Path(os.path.realpath(root)))
    return None


def _size_now(os_path: str) -> int:
    try:
        return os.stat(os_path).st_size
    except OSError:
        return 0


def check(os_path: str, new_bytes: int, replaced: int, environ: Mapping[str, str] = os.environ) -> None:
    """Raise 413 when writing ``new_bytes`` in place of ``replaced`` bytes at ``os_path`` passes its space's quota."""
    space = space_of(os_path, environ)
    quota = space.quota() if space else None
    if quota is None:
        return
    used = space.used()
    if used - replaced + new_bytes > quota:
        raise web.HTTPError(  # sizes as the hub's pages and platform_lib.usage() write them (it said 3,072 bytes)
            413, f"{space.name}: saving {os.path.basename(os_path)} ({size_text(new_bytes)}) would exceed the "
                 f"space's quota of {size_text(quota)} ({size_text(used)} used). Free space or ask for a larger "
                 "quota; nothing was saved.")


def _file_bytes(content: Any, format: str | None) -> int | None:
    """Bytes a text or base64 model's content becomes (``None``: not decodable; the manager then says 400)."""
    try:
        if format == "base64":
            return len(base64.decodebytes(content.encode("ascii")))
        return len(content.encode("utf8"))
    except (AttributeError, ValueError, UnicodeError):
        return None


def _notebook_bytes(nb: Any) -> int:
    import nbformat

    text = nbformat.writes(nb, version=nbformat.NO_CONVERT)
    return len(text.encode("utf8")) + (0 if text.endswith("\n") else 1)


def enforce_quotas(manager: Any, environ: Mapping[str, str] = os.environ) -> None:
    """Check each whole-file and notebook save of ``manager`` (a jupyter_server file contents manager) against its
    space's quota (a large upload's chunks: :func:`astrohub_server.uploads.atomic_uploads` asks :func:`check`)."""
    def whole_file(os_path, content, format=None, *args, **kwargs):
        size = _file_bytes(content, format)
        if size is not None:
            check(os_path, size, _size_now(os_path), environ)

    def notebook(os_path, nb, *args, **kwargs):
        check(os_path, _notebook_bytes(nb), _size_now(os_path), environ)

    # counting walks the space: off the server's event loop
    check_before(manager, "_save_file", whole_file, off_loop=True)
    check_before(manager, "_save_notebook", notebook, off_loop=True)
