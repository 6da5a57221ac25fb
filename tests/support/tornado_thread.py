"""A Tornado application served in the test process, in a thread of its own with its own asyncio loop.

Owns :func:`serving`, the one way tests start a real Tornado server in-process on a free port (the archive's
HiPS routes, the classes service). The test tiers run as separate pytest processes and share no conftest
fixtures, so tests/conftest.py (which every tier loads) puts tests/support/ on the path and a test writes::

    from tornado_thread import serving

May import the standard library and tornado only; the application is the caller's.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any, Callable, Iterator

import tornado.httpserver
import tornado.netutil
import tornado.web

#: Seconds to wait for the server's loop to start, and for its thread to end.
WAIT = 30


@contextlib.contextmanager
def serving(make_app: Callable[[], tornado.web.Application], *, on_stop: Callable[[], Any] | None = None,
            **server_options: Any) -> Iterator[str]:
    """Serve ``make_app()`` on 127.0.0.1 at a free port for the ``with`` block; yields ``http://127.0.0.1:PORT``.

    Parameters
    ----------
    make_app
        Builds the application; called in the server's loop (an application may start work bound to it).
    on_stop
        Called in the server's loop once the server has stopped listening (to close what ``make_app`` opened).
    **server_options
        Keyword arguments of :class:`tornado.httpserver.HTTPServer` (``max_body_size=...``).

    An error in ``make_app`` is raised here, in the caller's thread. When the block ends the server stops,
    closes the connections clients keep alive (tests/unit/test_tornado_thread.py), and its thread ends.

    Examples
    --------
    >>> import requests
    >>> with serving(lambda: tornado.web.Application([])) as base:
    ...     requests.get(base + "/nothing", timeout=10).status_code
    404
    """
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    port = sockets[0].getsockname()[1]
    ready, started = threading.Event(), {}

    def run() -> None:
        async def main() -> None:
            try:
                server = tornado.httpserver.HTTPServer(make_app(), **server_options)
            except BaseException as exc:  # handed to the caller's thread below
                started["error"] = exc
                ready.set()
                return
            server.add_sockets(sockets)
            started["event"], started["loop"] = asyncio.Event(), asyncio.get_running_loop()
            ready.set()
            await started["event"].wait()
            server.stop()
            # and the connections a client keeps alive (requests' sessions, pyvo's): left open, their sockets
            # outlived the loop and were collected unclosed in a later test (ResourceWarning: unclosed socket,
            # the server's port as its local one)
            await server.close_all_connections()
            if on_stop is not None:
                on_stop()

        asyncio.run(main())

    thread = threading.Thread(target=run, name=f"tornado-{port}", daemon=True)
    thread.start()
    if not ready.wait(WAIT):
        raise TimeoutError(f"the in-process Tornado server on port {port} did not start within {WAIT} s")
    if "error" in started:
        for sock in sockets:
            sock.close()
        thread.join(WAIT)
        raise started["error"]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        started["loop"].call_soon_threadsafe(started["event"].set)
        thread.join(WAIT)
