"""Copy a folder between users as a tar stream: ``pack`` reads, ``unpack`` writes; run as a script.

Run as ``python -I _transfer.py pack FOLDER [LIMIT] [--skip JSON]`` (tar on stdout) or ``python -I _transfer.py unpack
DEST [--keep [--replace JSON] | --fresh]`` (tar on stdin), under the system user whose permissions should apply,
so that a link or a folder a user planted can never make root read or write something that user could not. Only regular
files and folders travel; links, devices and names with ``..`` are skipped; each file is written atomically
(``atomic.write_atomic``). Standard library only (it runs without importing the package: ``atomic``, standard
library only too, is loaded from beside it). ``folders.pack_as`` / ``folders.unpack_as`` are the callers.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import stat
import sys
import tarfile

if __package__:
    from astrohub_hub.atomic import write_atomic
else:  # run as a script (``-I``: neither its folder on sys.path nor the package imported): the module beside it
    sys.path.append(os.path.dirname(os.path.abspath(__file__)))
    from atomic import write_atomic

LIMIT = 200 * 1024 * 1024


def no_links_below(base: str, path: str) -> None:
    """Raise ``PermissionError`` when a component of ``path`` below ``base`` (or ``path`` itself) is a link.

    A copy made as root (an admin's command) must not be steered elsewhere by a link that a user
    planted in a folder they can write.
    """
    base, path = os.path.abspath(base), os.path.abspath(path)
    if os.path.commonpath([base, path]) != base:
        raise PermissionError(f"{path} is not under {base}")
    current = base
    for part in os.path.relpath(path, base).split(os.sep):
        if part in ("", "."):
            continue
        current = os.path.join(current, part)
        if os.path.islink(current):
            raise PermissionError(f"{current} is a link; copies never follow links")


def pack(folder: str, limit: int = LIMIT, base: str | None = None, skip: tuple[str, ...] = ()) -> bytes:
    """A tar of the regular files and folders under ``folder`` (links not followed); ValueError past ``limit``.

    ``base``: no component of ``folder`` below it may be a link. ``skip``: names of folders left out, at any depth;
    a name written ``./name``: only the folder ``name`` directly in ``folder``.
    """
    if base:
        no_links_below(base, folder)
    buffer = io.BytesIO()
    total = 0
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    os.close(fd)
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for root, dirs, files in os.walk(folder, followlinks=False):
            top = root == folder
            dirs[:] = sorted(d for d in dirs if d not in skip and not (top and f"./{d}" in skip)
                             and not os.path.islink(os.path.join(root, d)))
            rel_root = os.path.relpath(root, folder)
            if rel_root != ".":
                info = tarfile.TarInfo(rel_root)
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            for name in sorted(files):
                path = os.path.join(root, name)
                try:
                    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
                except OSError:
                    continue
                with os.fdopen(fd, "rb") as handle:
                    st = os.fstat(handle.fileno())
                    if not stat.S_ISREG(st.st_mode):
                        continue
                    total += st.st_size
                    if total > limit:
                        raise ValueError(f"{folder} holds more than {limit // 2**20} MB")
                    info = tarfile.TarInfo(os.path.normpath(os.path.join(rel_root, name)))
                    info.size, info.mode, info.mtime = st.st_size, st.st_mode & 0o755, st.st_mtime
                    tar.addfile(info, handle)
    return buffer.getvalue()


def sha256(path: str) -> str | None:
    """The SHA-256 of the regular file at ``path`` (links not followed); None when it cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return None
        digest = hashlib.sha256()
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
        return digest.hexdigest()


def _remove(path: str) -> None:
    """Remove ``path`` (a folder with what is in it; a link itself, never what it points to), if it is there."""
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)  # never follows links below (shutil.rmtree.avoids_symlink_attacks on Linux)


def unpack(data: bytes, dest: str, keep: bool = False, base: str | None = None,
           replace: dict[str, str] | None = None, fresh: bool = False) -> list[str]:
    """Write the tar ``data`` under ``dest`` (created); ``keep``: leave existing files alone. Written names.

    ``base``: no component below it, of ``dest`` or of any written path, may be a link. ``replace``
    (with ``keep``): ``{name: sha256}`` of files that may be overwritten after all while their content is
    still exactly that (an earlier release the user has not changed). ``fresh``: ``dest`` holds exactly the
    tar's files afterwards (a newer copy of a submission: a file the student deleted since must not stay):
    written beside it, then swapped in, so a failure leaves the old copy whole.
    """
    if base:
        no_links_below(base, dest)
    if fresh:
        dest = os.path.abspath(dest)
        parent, name = os.path.split(dest)
        os.makedirs(parent, exist_ok=True)
        new, old = (os.path.join(parent, f".{name}.{what}-{os.getpid()}") for what in ("new", "old"))
        for stale in (new, old):  # left by a copy that was killed
            _remove(stale)
        written = unpack(data, new, base=base)
        had = os.path.lexists(dest)
        if had:
            os.rename(dest, old)  # a link is moved aside as a link, never followed
        os.rename(new, dest)
        _remove(old)
        return written
    os.makedirs(dest, exist_ok=True)
    written = []
    umask = os.umask(0)  # the mode a file created here would get: the tar's, less the user's umask
    os.umask(umask)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        for member in tar.getmembers():
            name = os.path.normpath(member.name)
            if name.startswith(("/", "..")) or "/../" in f"/{name}/" or not (member.isfile() or member.isdir()):
                continue
            target = os.path.join(dest, name)
            if base:
                no_links_below(base, os.path.dirname(target))
            if member.isdir():
                os.makedirs(target, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            content = tar.extractfile(member).read()
            if keep and os.path.lexists(target):
                if not (replace and name in replace and sha256(target) == replace[name]):
                    continue  # the user's own file
                if hashlib.sha256(content).hexdigest() == replace[name]:
                    continue  # the release did not change it
            # beside it, then renamed over it (a link itself, never followed): a full quota leaves the old file
            write_atomic(target, content, mode=(member.mode | 0o600) & 0o777 & ~umask)
            written.append(name)
    return written


if __name__ == "__main__":
    command, path, *rest = sys.argv[1:]
    trusted = rest[rest.index("--base") + 1] if "--base" in rest else None
    if command == "pack":
        skipped = tuple(json.loads(rest[rest.index("--skip") + 1])) if "--skip" in rest else ()
        sys.stdout.buffer.write(pack(path, int(rest[0]), trusted, skipped))
    else:
        unchanged = json.loads(rest[rest.index("--replace") + 1]) if "--replace" in rest else None
        print("\n".join(unpack(sys.stdin.buffer.read(), path, keep="--keep" in rest, base=trusted,
                               replace=unchanged, fresh="--fresh" in rest)))
