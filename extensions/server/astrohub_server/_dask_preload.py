"""Distributed's preload for the Dask processes of a user's server: running it is the point.

``astrohub_server.dask_sockets.use_private_dashboards`` names this file (``PRELOAD``: a script that runs it by its
path) in ``distributed.scheduler.preload`` and ``distributed.worker.preload`` (as environment variables) for the
server's kernels and terminals. Distributed runs a node's preloads in its ``__init__``, before the node starts its
HTTP server; this makes that server listen on a private Unix socket instead of a TCP port
(:func:`~astrohub_server.dask_sockets.serve_http_on_sockets`; see that module for why). In a Python of the user's own
(a virtual environment with dask but without the platform's packages) ``astrohub_server`` is not importable, so
``dask_sockets.py`` (standard library at import) is loaded from beside this file. It defines no ``dask_setup``: by
then the server listens already.
"""

try:
    from astrohub_server.dask_sockets import serve_http_on_sockets
except ImportError:
    import importlib.util
    import os

    _spec = importlib.util.spec_from_file_location(
        "astrohub_dask_sockets", os.path.join(os.path.dirname(os.path.abspath(__file__)), "dask_sockets.py"))
    _module = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_module)
    serve_http_on_sockets = _module.serve_http_on_sockets

serve_http_on_sockets()
