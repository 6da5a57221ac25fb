"""A collaborative server's temporary state in one folder of its own, removed when the server stops (a Jupyter
server extension).

A server the hub starts collaborative (``astrohub_hub.collaboration``) records its collaboration sessions in
``<state folder>/sessions.json`` (``--YDocExtension.session_store_path``, a new folder ``astrohub-collaboration-<hex>``
at each start), and keeps its documents' change history in jupyter-server-ydoc's ``TempFileYStore``, which made a
``jupyter_ystore_*`` folder of its own. jupyter-collaboration removes neither when the server stops: every start
left both in the machine's temporary folder, where the history (deleted text included) outlived the server it was
meant to die with. Loaded where the hub starts a server collaborative, this extension makes the state folder
private to the server's user, puts the history in it (``documents/``), and removes the folder when the server
process exits; the local spawner removes it too once the server is gone (a server killed before it could).

The hub stops a server with SIGINT. Without a terminal (a spawned server has none) that interrupted the event loop
where it stood: no kernel was shut down and no document's room closed, and a collaborative server, whose rooms'
AnyIO worker threads outlive the loop once a document was open (jupyter-collaboration issue 161), then never exited
and was killed a minute later. This extension makes SIGINT stop the server as SIGTERM does (jupyter_server's
``_signal_stop``: extensions stopped, kernels shut down, then the event loop), as JupyterHub means it to (its
``_handle_sigint``, installed only when the server has a terminal). With its clients gone the server then exits by
itself; one that still hangs (a client still connected) the local spawner kills
(``AstroLocalSpawner.collaborative_stop_timeout``).

May import the standard library and jupyter_server_ydoc.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import threading
from typing import Any

__all__ = ["state_folder_of"]

#: What the hub names a state folder (``astrohub_hub.collaboration.STATE_PREFIX``): anything else is not ours to
#: make private or remove.
STATE_PREFIX = "astrohub-collaboration-"


def state_folder_of(session_store: str | None) -> str | None:
    """The state folder of a session record the hub named (``<folder>/sessions.json``), else None.

    Examples
    --------
    >>> state_folder_of("/tmp/astrohub-collaboration-ab12/sessions.json")
    '/tmp/astrohub-collaboration-ab12'
    >>> state_folder_of("/home/ann/.jupyter/collaboration_sessions.json") is None
    True
    """
    if not session_store:
        return None
    folder = os.path.dirname(os.path.abspath(session_store))
    return folder if os.path.basename(folder).startswith(STATE_PREFIX) else None


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "astrohub_server.collaboration"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    from jupyter_server_ydoc.stores import TempFileYStore

    folder = state_folder_of(serverapp.config.get("YDocExtension", {}).get("session_store_path"))
    if folder is None:
        serverapp.log.warning("astrohub: no collaboration state folder named; its history stays where "
                              "jupyter-server-ydoc puts it")
        return
    documents = os.path.join(folder, "documents")
    os.makedirs(documents, mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)  # the session record and the history: the server's user's only
    TempFileYStore.base_dir = documents  # read by every TempFileYStore, before any document is opened
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    if threading.current_thread() is threading.main_thread():  # where jupyter_server loads extensions
        signal.signal(signal.SIGINT, serverapp._signal_stop)  # after ServerApp.init_signal, so this one holds
    serverapp.log.info("astrohub: collaboration state in %s, removed when this server stops", folder)
