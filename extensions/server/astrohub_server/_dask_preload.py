"""Distributed's preload for the Dask processes of a user's server: importing it is the point.

``astrohub_server.dask_sockets.use_private_dashboards`` names this module in ``distributed.scheduler.preload``
and ``distributed.worker.preload`` (as environment variables) for the server's kernels and terminals.
Distributed imports a node's preloads in its ``__init__``, before the node starts its HTTP server; this import
makes that server listen on a private Unix socket instead of a TCP port (:func:`serve_http_on_sockets`; see
that module for why). It defines no ``dask_setup``: by then the server listens already.
"""

from astrohub_server.dask_sockets import serve_http_on_sockets

serve_http_on_sockets()
