"""The links in a home to class folders (``~/classes/<class>``, ``~/grading/<class>``): made as the user.

:func:`link_courses` makes and prunes them; the local spawner calls it in the server's process as the user before
the server starts, and the classes service runs this file as a script, as the user (``folders.link_as``), when
someone joins a class: ``python -I _links.py FOLDER CLASSES_ROOT LINKS_JSON`` adds the links of ``LINKS_JSON``
(``{name: target}``) and removes none. Standard library only (it runs without importing the package).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Mapping


def link_courses(folder: str, links: Mapping[str, str], classes_root: str, *, prune: bool = True) -> None:
    """In ``folder`` (made, mode 0700, if missing and ``links`` names any): a link ``<name>`` to each course folder
    of ``links``; with ``prune``, links there into ``classes_root`` that ``links`` no longer names (a class no longer
    taught) are removed. Run as the user: a file of theirs under such a name is left alone, and nothing here stops
    a server from starting or a member from being added (errors are ignored)."""
    if not links and not os.path.isdir(folder):
        return
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        for name in os.listdir(folder) if prune else ():
            path = os.path.join(folder, name)
            ours = os.path.islink(path) and os.readlink(path).startswith(classes_root.rstrip("/") + "/")
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


if __name__ == "__main__":
    link_courses(sys.argv[1], json.loads(sys.argv[3]), sys.argv[2], prune=False)
