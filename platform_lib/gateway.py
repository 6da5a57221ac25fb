"""The dask-gateway client as the platform uses it: one workaround for its ``Gateway.close``.

dask-gateway 2026.3.0 (the newest release; its main branch is unchanged) closes a ``Gateway`` by asking
``self.loop.asyncio_loop.is_running()`` before stopping the loop it started. Closing stops that loop,
and since distributed 2023.x ``LoopRunner.loop`` raises ``RuntimeError("Accessing the loop property
while the loop is not running is not supported")`` once it has stopped. So the second ``close()`` of a
synchronous ``Gateway`` raises, and every Gateway that was closed once gets a second one from its
``__del__`` when it is garbage-collected: Python prints "Exception ignored in: <function
Gateway.__del__ ...>" and the traceback into whatever cell is running then. Every ``GatewayCluster``
closes its own Gateway (``cluster.close()``, ``cluster.shutdown()``), so a user who re-runs a
notebook's Dask cell, or calls ``crossmatch(table, 'I/311')`` twice without a client, sees it.

:func:`make_gateway_close_idempotent` makes a second ``close()`` of a synchronous Gateway do nothing
(its loop runner is already stopped: nothing is left to clean up), for the dask-gateway versions known
to need it (:data:`AFFECTED_UP_TO`); a newer version is left alone, and the journey test that re-runs
the getting-started Dask cell (tests/integration/test_journeys.py) says whether the fix is still needed.
platform_lib's own Gateway users call it before they create one (``crossmatch._dask``, ``resources._dask``),
and ``astrohub_server.kernelstartup`` applies it in every user kernel once the user imports dask_gateway.
Remove this module when dask-gateway releases a ``close()`` guarded with ``_loop_runner.is_started()``.

May import dask_gateway only (on first call), and ``versions``.
"""

from __future__ import annotations

from platform_lib.versions import release_tuple

__all__ = ["AFFECTED_UP_TO", "make_gateway_close_idempotent"]

#: The newest dask-gateway release whose ``Gateway.close`` raises when called twice.
AFFECTED_UP_TO = (2026, 3, 0)


def make_gateway_close_idempotent() -> bool:
    """Make ``dask_gateway.Gateway.close`` do nothing on a Gateway already closed; whether it is now patched.

    Idempotent, and a no-op (``False``) where dask_gateway is not installed or is newer than
    :data:`AFFECTED_UP_TO`. Asynchronous Gateways are untouched (their ``close`` never asked the loop).

    Examples
    --------
    >>> from platform_lib.gateway import make_gateway_close_idempotent
    >>> make_gateway_close_idempotent() in (True, False)
    True
    """
    try:
        import dask_gateway
        from dask_gateway import Gateway
    except ImportError:
        return False
    if getattr(Gateway.close, "_astrohub_idempotent", False):
        return True
    if release_tuple(dask_gateway.__version__) > AFFECTED_UP_TO:
        return False
    original = Gateway.close

    def close(self):
        runner = getattr(self, "_loop_runner", None)
        if not self.asynchronous and runner is not None and not runner.is_started():
            return None  # closed already: its session is closed and its loop stopped
        return original(self)

    close.__doc__ = original.__doc__
    close.__wrapped__ = original
    close._astrohub_idempotent = True
    Gateway.close = close
    return True
