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
- One state folder per start, private to the server's user (``<runtime_dir>/astrohub-collaboration-<hex>``): the
  session record and, there instead of a ``jupyter_ystore_*`` folder of its own, ``TempFileYStore``'s history
  (``astrohub_server.collaboration``, a server extension, points it there). The extension removes the folder
  when the server process exits, and the local spawner once the server is gone (a server killed before it
  could): jupyter-collaboration removed neither, and both piled up in ``/tmp``, the history outliving the server.
- ``document_save_delay = 1`` and ``file_poll_interval = 1`` (the defaults, set explicitly): every change
  is on disk within a second, and a change made on disk (a script, ``git checkout``) reaches the open
  document within a second. ``None`` for the save delay would mean never saved.
"""

from __future__ import annotations

import uuid
from typing import Any, Iterable, Mapping

__all__ = ["COLLABORATIVE_ENV", "COLLABORATIVE_PROPERTY", "STATE_PREFIX", "collaborative", "server_args",
           "state_folder"]

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
    "--ServerApp.jpserver_extensions=astrohub_server.collaboration=True",
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


#: The name of a collaborative server's state folder (a new one at each start) begins with this.
STATE_PREFIX = "astrohub-collaboration-"
_STORE_ARG = "--YDocExtension.session_store_path="
_STORE_NAME = "sessions.json"


def server_args(on: bool, runtime_dir: str = "/tmp") -> list[str]:
    """The user server's jupyter-collaboration arguments: off, or on with the safe settings.

    ``runtime_dir``: where the server's state folder goes (``astrohub-collaboration-<hex>``, a new name at each
    call, so each start has its own; the server user must be able to write there): its session record
    (``sessions.json``) and, made there by ``astrohub_server.collaboration``, its documents' history.

    Examples
    --------
    >>> server_args(False)
    ['--YDocExtension.disable_rtc=True']
    """
    if not on:
        return ["--YDocExtension.disable_rtc=True"]
    folder = f"{runtime_dir.rstrip('/')}/{STATE_PREFIX}{uuid.uuid4().hex}"
    return [*_ON, f"{_STORE_ARG}{folder}/{_STORE_NAME}"]


def state_folder(args: Iterable[str]) -> str | None:
    """The state folder a collaborative server's arguments (:func:`server_args`) name, else None: what is removed
    once the server is gone.

    Examples
    --------
    >>> state_folder(["--YDocExtension.session_store_path=/tmp/astrohub-collaboration-ab12/sessions.json"])
    '/tmp/astrohub-collaboration-ab12'
    >>> state_folder(server_args(False)) is None
    True
    """
    for arg in args:
        if arg.startswith(_STORE_ARG):
            folder, _, name = arg[len(_STORE_ARG):].rpartition("/")
            if name == _STORE_NAME and folder.rpartition("/")[2].startswith(STATE_PREFIX):
                return folder
    return None
