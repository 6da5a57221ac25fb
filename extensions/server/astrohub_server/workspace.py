"""Where a new user begins: the JupyterLab layout of their first sign-in, with getting-started open.

Owns :func:`first_workspace` (a pure builder of Lab's default workspace: one notebook open, the file
browser beside it) and :func:`open_on_first_sign_in`, which writes it into Lab's workspaces folder only
when that folder holds no default workspace yet, as a Binder ``jupyter lab workspaces import`` does. Lab
saves the user's own layout into the same file from then on, so a returning user keeps theirs and this
module never writes it again. Called by :class:`astrohub_server.tutorials.Tutorials` when it copies the
tutorials into a home for the first time. The write is atomic. May import jupyter_core, the standard library
and :mod:`astrohub_server.atomic`.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from astrohub_server.atomic import write_atomic

__all__ = ["WORKSPACE_FILE", "first_workspace", "lab_workspaces_dir", "open_on_first_sign_in"]

#: Lab's file for the workspace named "default" (jupyterlab_server's ``slugify("default")`` + its extension).
WORKSPACE_FILE = "default-" + hashlib.sha256(b"default").hexdigest()[:4] + ".jupyterlab-workspace"


def first_workspace(notebook: str) -> dict:
    """Lab's default workspace with ``notebook`` (a path under the server's root) open and in front.

    >>> first_workspace("tutorials/getting-started.ipynb")["data"]["layout-restorer:data"]["main"]["current"]
    'notebook:tutorials/getting-started.ipynb'
    """
    widget = f"notebook:{notebook}"
    return {
        "data": {
            "layout-restorer:data": {
                "main": {"dock": {"type": "tab-area", "currentIndex": 0, "widgets": [widget]}, "current": widget},
                "left": {"collapsed": False, "visible": True, "current": "filebrowser", "widgets": ["filebrowser"]},
            },
            widget: {"data": {"path": notebook, "factory": "Notebook"}},
        },
        "metadata": {"id": "default"},
    }


def lab_workspaces_dir(serverapp) -> str:
    """The folder where this server's JupyterLab keeps its workspaces (``LabApp.workspaces_dir``)."""
    for app in serverapp.extension_manager.extension_apps.get("jupyterlab", ()):
        folder = getattr(app, "workspaces_dir", "")
        if folder:
            return folder
    from jupyter_core.paths import jupyter_config_dir

    return os.environ.get("JUPYTERLAB_WORKSPACES_DIR") or os.path.join(jupyter_config_dir(), "lab", "workspaces")


def open_on_first_sign_in(workspaces_dir: str | os.PathLike, notebook: str) -> bool:
    """Write :func:`first_workspace` unless a default workspace exists; returns whether it wrote one."""
    folder = Path(workspaces_dir)
    dest = folder / WORKSPACE_FILE
    if dest.exists():
        return False  # the user's own layout (or an earlier first one): never overwritten
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(dest, json.dumps(first_workspace(notebook)))
    return True
