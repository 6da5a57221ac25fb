"""Real-time collaboration (jupyter-collaboration) on a server shared with a workspace: opt-in, per sharer.

Owns the hub group property the classes service writes on a workspace's group ``ws-<name>`` when a sharer
turns collaboration on (:data:`COLLABORATIVE_PROPERTY`: the sharers who did), :func:`collaborative`, which
the spawners read at each start, and :func:`server_args`, the user server's collaboration settings for
either case. Every user server has jupyter-collaboration installed and off (``disable_rtc``); a server is
collaborative only when its owner shares it with a workspace and turned collaboration on there, from its
next start on. Pure; imports the standard library only.

The settings of a collaborative server, and why (jupyter-collaboration 5.0, jupyter-server-ydoc 3.0;
``docs/local-platform.md``, "Real-time co-editing", says what is safe):

- ``ystore_class = TempFileYStore``: a document's change history lives in a temporary folder of the server
  process, not in a ``.jupyter_ystore.db`` in the sharer's home. Within the process a room freed after its
  last client left (``document_cleanup_delay``, 60 s) is rebuilt from the same history, so a client
  that reconnects merges cleanly; nothing of the collaborators' history (deleted text included) outlives
  the server, and a history that no longer matches the file on disk cannot be replayed after a restart
  (the "document reverted after reconnecting" reports).
- ``session_store_path``: a new file for each start, so the server knows only its own session: a tab
  left open across a restart of the server is told to reload instead of merging its edits, made against
  the old document, into the new one (the duplicated or reverted cells reported upstream). The upstream
  default, ``<home>/.jupyter/collaboration_sessions.json``, accepts the sessions of earlier starts.
- ``document_save_delay = 1`` and ``file_poll_interval = 1`` (the defaults, set explicitly): every change
  is on disk within a second, and a change made on disk (a script, ``git checkout``) reaches the open
  document within a second. ``None`` for the save delay would mean never saved.
"""

from __future__ import annotations

import uuid
from typing import Any, Iterable, Mapping

__all__ = ["COLLABORATIVE_ENV", "COLLABORATIVE_PROPERTY", "collaborative", "server_args"]

#: On the hub group ``ws-<name>``: the sharers who turned real-time collaboration on for their shared server.
COLLABORATIVE_PROPERTY = "astrohub-collaborative"
#: Set to ``1`` in a collaborative server's environment (what the server, and its user, can check).
COLLABORATIVE_ENV = "ASTROHUB_COLLABORATIVE"

#: The settings of a collaborative server (see the module docstring for each one's reason).
_ON = (
    "--YDocExtension.disable_rtc=False",
    "--YDocExtension.ystore_class=jupyter_server_ydoc.stores.TempFileYStore",
    "--YDocExtension.document_save_delay=1.0",
    "--YDocExtension.file_poll_interval=1.0",
)


def collaborative(user: str, groups: Iterable[tuple[str, Mapping[str, Any]]]) -> bool:
    """Whether ``user``'s server starts collaborative: a group of theirs lists them as a collaborating sharer.

    ``groups`` are ``(name, properties)`` pairs (:func:`astrohub_hub.pins.group_properties`). Only the
    user's own groups count, so a sharer who leaves the workspace (and its group) loses it at once.

    Examples
    --------
    >>> collaborative("ann", [("ws-m31", {"astrohub-collaborative": ["ann"]})])
    True
    >>> collaborative("bob", [("ws-m31", {"astrohub-collaborative": ["ann"]})])
    False
    """
    for _name, props in groups:
        sharers = props.get(COLLABORATIVE_PROPERTY)
        if isinstance(sharers, list) and user in sharers:
            return True
    return False


def server_args(on: bool, runtime_dir: str = "/tmp") -> list[str]:
    """The user server's jupyter-collaboration arguments: off, or on with the safe settings.

    ``runtime_dir``: where the server's session record goes (a new file name at each call, so each start
    has its own; the server user must be able to write there).

    Examples
    --------
    >>> server_args(False)
    ['--YDocExtension.disable_rtc=True']
    """
    if not on:
        return ["--YDocExtension.disable_rtc=True"]
    store = f"{runtime_dir.rstrip('/')}/astrohub-collaboration-{uuid.uuid4().hex}.json"
    return [*_ON, f"--YDocExtension.session_store_path={store}"]
