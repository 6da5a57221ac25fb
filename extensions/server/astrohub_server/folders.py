"""The user's other spaces in JupyterLab's file browser: links in the home to datasets, scratch, groups and workspaces.

JupyterLab shows only the server's root folder (the user's home). :func:`link_spaces`, called when the
server starts, puts a symbolic link in the home for each space the hub names in the environment
(``PLATFORM_DATASETS`` -> ``~/datasets``, ``PLATFORM_SCRATCH`` -> ``~/scratch``,
``PLATFORM_GROUPS_ROOT`` -> ``~/groups``, whose sub-folders are the group workspaces,
``PLATFORM_WORKSPACES_ROOT`` -> ``~/workspaces``, the shared analysis workspaces of ``astrohub workspaces``;
file permissions still decide what the user may open). A link that points elsewhere (the configuration
changed) is replaced; a real file or folder of that name is the user's and is left alone. A root the user may not
list gets no link, and this function's old link to it goes: on the local platform the roots of the groups and
workspaces are 0711 (nobody lists the names of the others'), and the spawner makes ``~/groups`` and ``~/workspaces``
folders with a link per group and workspace of the user's (``astrohub_hub.local``) before the server starts; in a
Kubernetes pod those roots hold only the user's own mounts, and are linked whole.
Storage addresses (``platform_lib.storage``) are unchanged: ``datasets/...`` names the space, not the
link, and the home's quota does not follow links.

May import the standard library only.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Mapping

__all__ = ["LINKS", "link_spaces"]

#: Link name in the home -> the environment variable naming its target.
LINKS = {"datasets": "PLATFORM_DATASETS", "scratch": "PLATFORM_SCRATCH", "groups": "PLATFORM_GROUPS_ROOT",
         "workspaces": "PLATFORM_WORKSPACES_ROOT"}


def link_spaces(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """Create or refresh the links in ``PLATFORM_HOME``; returns ``{link name: target}`` of those in place.

    Never raises: a link that cannot be made is reported on stderr.
    """
    home = environ.get("PLATFORM_HOME")
    placed: dict[str, str] = {}
    if not home or not os.path.isdir(home):
        return placed
    for name, variable in LINKS.items():
        target = environ.get(variable)
        if not target or not os.path.isdir(target):
            continue
        link = Path(home) / name
        try:
            if not os.access(target, os.R_OK | os.X_OK):  # a root closed to listing: the link would show an error
                if link.is_symlink() and os.readlink(link) == target:
                    link.unlink()
                continue
            if link.is_symlink():
                if os.readlink(link) == target:
                    placed[name] = target
                    continue
                link.unlink()
            elif link.exists():
                continue  # the user's own file or folder
            os.symlink(target, link, target_is_directory=True)
            placed[name] = target
        except OSError as exc:
            print(f"astrohub_server: no link {link} -> {target} ({exc})", file=sys.stderr)
    return placed
