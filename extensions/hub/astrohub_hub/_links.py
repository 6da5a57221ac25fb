"""The links in a home to shared folders (``~/classes/<class>``, ``~/grading/<class>``, ``~/groups/<group>``,
``~/workspaces/<name>``): made as the user.

:func:`link_shared_folders` makes and prunes them; the local spawner calls it in the server's process as the user before
the server starts, and the classes service (someone joins a class or a workspace) and the group sync (someone joins
a group) run this file as a script, as the user (``folders.link_as``): ``python -I _links.py FOLDER ROOT LINKS_JSON``
adds the links of ``LINKS_JSON`` (``{name: target}``) and removes none; with ``--remove`` after them it removes those
links instead (:func:`unlink`: a workspace deleted). The roots of those folders may not be listed
by users (mode 0711: no user learns the names of the groups, workspaces and classes they are not in), so these
links are how a member finds theirs. Standard library only (it runs without importing the package).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Mapping


def link_shared_folders(folder: str, links: Mapping[str, str], shared_root: str, *, prune: bool = True,
                        make: bool = False) -> None:
    """In ``folder`` (made, mode 0700, if missing and ``links`` names any, or ``make``): a link ``<name>`` to each
    folder of ``links``; with ``prune``, links there into ``shared_root`` (the root of the folders: classes, groups or
    workspaces) that ``links`` no longer names (a class no longer taught, a group left) are removed. ``folder``
    itself being a link to the whole root (``~/groups`` and ``~/workspaces`` were, before the roots were closed) is
    replaced by the folder. Run as the user: a file of theirs under such a name is left alone, and nothing here stops
    a server from starting or a member from being added (errors are ignored)."""
    try:
        if os.path.islink(folder) and os.path.realpath(folder) == os.path.realpath(shared_root):
            os.unlink(folder)
    except OSError:
        pass
    if not links and not make and not os.path.isdir(folder):
        return
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        for name in os.listdir(folder) if prune else ():
            path = os.path.join(folder, name)
            ours = os.path.islink(path) and os.readlink(path).startswith(shared_root.rstrip("/") + "/")
            if name not in links and ours:
                os.unlink(path)
        for name, target in links.items():
            path = os.path.join(folder, name)
            if os.path.islink(path):
                if os.readlink(path) == target:
                    continue
                os.unlink(path)
            elif os.path.lexists(path):
                continue  # the user's own file or folder
            os.symlink(target, path)
    except OSError:
        pass


def unlink(folder: str, links: Mapping[str, str]) -> None:
    """Remove the links of ``links`` (``{name: target}``) from ``folder`` where they still lead to that target (a
    workspace deleted: its link would lead nowhere); anything else of the user's is left alone. Errors are ignored."""
    for name, target in links.items():
        path = os.path.join(folder, name)
        try:
            if os.path.islink(path) and os.readlink(path) == target:
                os.unlink(path)
        except OSError:
            pass


if __name__ == "__main__":
    if sys.argv[4:] == ["--remove"]:
        unlink(sys.argv[1], json.loads(sys.argv[3]))
    else:
        link_shared_folders(sys.argv[1], json.loads(sys.argv[3]), sys.argv[2], prune=False)
