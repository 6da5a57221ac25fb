"""The data directory's layout: where homes, group folders, datasets, scratch and state live.

Owns :class:`DataLayout` (pure path arithmetic plus :meth:`DataLayout.check_writable` and
:meth:`DataLayout.prepare`, which create the top-level folders). Per-user and per-group folders
are created by the hub extension's spawner and group sync service, which own their permissions.

``<data>/home/<user>``, ``<data>/groups/<group>`` (``groups`` 0711: not listable), ``<data>/datasets`` (read-only to
users: root-owned 0755 when run as root), ``<data>/scratch/<user>``, ``<data>/archive/images`` (the image archive with its proprietary files and
full index: 0700, for the archive service alone; ``datasets/images`` holds its released part, made by
``platform_lib.imageindex.publish_released``), ``<data>/clusters/<cluster>`` (Dask clusters' folders, made by the gateway), ``<data>/state/`` (hub DB, cookie secret, tokens,
credentials, logs, pid and lock files; 0700).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from platform_lib.local.errors import DataDirError

__all__ = ["DataLayout"]


@dataclass(frozen=True)
class DataLayout:
    """Paths under one data directory ``root``."""

    root: Path

    @property
    def home_root(self) -> Path:
        return self.root / "home"

    @property
    def groups_root(self) -> Path:
        return self.root / "groups"

    @property
    def workspaces_root(self) -> Path:
        """The shared workspaces' folders: the hub's default beside ``groups`` (``HubSettings.class_folders``)."""
        return self.root / "workspaces"

    @property
    def datasets(self) -> Path:
        return self.root / "datasets"

    @property
    def space_roots(self) -> dict[str, Path]:
        """The folders of the spaces, by the kind an operator names them with (``group`` in ``group/<name>``): the
        spaces that may have a quota (kept in each root's ``.astrohub-quotas``)."""
        return {"home": self.home_root, "scratch": self.scratch_root, "group": self.groups_root,
                "workspace": self.workspaces_root}

    def space_folder(self, space: str) -> Path:
        """The folder of the space ``space`` as an operator names it: ``home/<user>``, ``scratch/<user>``,
        ``group/<name>`` or ``workspace/<name>``; ``ValueError`` naming the choices for anything else."""
        kind, _, name = space.partition("/")
        roots = self.space_roots
        if kind not in roots or not name or "/" in name or name.startswith(".") or "\x00" in name:
            raise ValueError(f"{space!r} names no space: give home/<user>, scratch/<user>, group/<name> or "
                             "workspace/<name>")
        return roots[kind] / name

    @property
    def scratch_root(self) -> Path:
        return self.root / "scratch"

    @property
    def archive(self) -> Path:
        """The archive's own tree (0700, root's when run as root): only the archive service reads it."""
        return self.root / "archive"

    @property
    def archive_images(self) -> Path:
        """The full image tree, proprietary files included, and its index (``index.sqlite``)."""
        return self.archive / "images"

    @property
    def released_images(self) -> Path:
        """Users' view of the image archive: released files and a released-only index."""
        return self.datasets / "images"

    @property
    def clusters(self) -> Path:
        """The Dask clusters' folders (the gateway makes it 0711; each cluster's is its owner's, 0700)."""
        return self.root / "clusters"

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def lock_file(self) -> Path:
        return self.state / "astrohub.lock"

    @property
    def pid_file(self) -> Path:
        return self.state / "astrohub.pid"

    @property
    def status_file(self) -> Path:
        return self.state / "status.json"

    @property
    def running_config(self) -> Path:
        """The configuration the running platform was started with (JSON), which ``astrohub users``,
        ``classes`` and ``workspaces`` read to find its hub."""
        return self.state / "up-config.json"

    @property
    def credentials_file(self) -> Path:
        """The admin's kept password (``admin_user``, ``admin_password``)."""
        return self.state / "credentials.json"

    @property
    def class_code_file(self) -> Path:
        """The kept class code (``user_password``), apart from the admin's password so that renewing one (deleting
        its file) leaves the other alone."""
        return self.state / "class-code.json"

    @property
    def tokens_file(self) -> Path:
        return self.state / "tokens.json"

    @property
    def cookie_secret_file(self) -> Path:
        return self.state / "jupyterhub_cookie_secret"

    @property
    def hub_db(self) -> Path:
        return self.state / "jupyterhub.sqlite"

    @property
    def hub_config(self) -> Path:
        return self.state / "jupyterhub_config.py"

    @property
    def gateway_config(self) -> Path:
        return self.state / "dask_gateway_config.py"

    def home(self, user: str) -> Path:
        return self.home_root / user

    def group(self, group: str) -> Path:
        return self.groups_root / group

    def scratch(self, user: str) -> Path:
        return self.scratch_root / user

    def log(self, component: str) -> Path:
        return self.logs / f"{component}.log"

    def check_writable(self) -> None:
        """Create the data directory if needed and prove it is writable, creating nothing else.

        Raises
        ------
        DataDirError
            Naming the directory and the operating system's reason.
        """
        fix = "choose another with --data-dir or data_dir in astrohub.toml"
        if self.root.exists() and not self.root.is_dir():
            raise DataDirError(f"data directory {self.root} is not a directory; {fix}", path=str(self.root))
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=".astrohub-probe-"):
                pass
        except OSError as exc:
            raise DataDirError(f"data directory {self.root} is not writable ({exc.strerror or exc}); {fix}",
                               path=str(self.root)) from exc

    def prepare(self, *, as_root: bool | None = None) -> None:
        """Create the top-level folders with their modes (idempotent: an older data directory gets them too).

        ``datasets`` is 0755 and, when ``as_root``, owned by root so users cannot write it; ``groups`` is 0711
        (passable, not listable: no user learns the names of the groups they are not in; each member finds theirs
        linked in the home, ``~/groups/<group>``); ``state`` is 0700. The data directory itself must be traversable
        by every user (0755).
        """
        as_root = os.geteuid() == 0 if as_root is None else as_root
        self.check_writable()
        self.root.chmod(0o755)
        for path in (self.home_root, self.groups_root, self.datasets, self.scratch_root):
            path.mkdir(exist_ok=True)
            path.chmod(0o711 if path == self.groups_root else 0o755)
            if as_root:
                os.chown(path, 0, 0)
        self.archive.mkdir(mode=0o700, exist_ok=True)
        self.archive.chmod(0o700)
        if as_root:
            os.chown(self.archive, 0, 0)
        self.state.mkdir(mode=0o700, exist_ok=True)
        self.state.chmod(0o700)
        self.logs.mkdir(mode=0o700, exist_ok=True)
