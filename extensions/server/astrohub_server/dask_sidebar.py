"""The Dask sidebar's server routes (dask_labextension's), with its import moved off the server's start.

``dask_labextension`` imports ``distributed`` when it loads (~1 s here), before the server can
answer anyone. Here its four routes are registered at once with handler classes that import it on
their first request (JupyterLab's Dask sidebar asks when it opens, so that request takes the ~1 s
instead); the spawner turns dask_labextension's own server extension off so the routes are not
registered twice. (The import cannot run in a thread: it creates its cluster manager on the
importing thread's event loop.) The routes
and handler names are dask_labextension's own (version 7); ``tests/integration/test_warm_kernels.py``
checks they still are. :data:`LOCAL_DASHBOARD`, ``dask/local/<id>/``, is the platform's own route beside them: a
kernel ``LocalCluster``'s dashboard, proxied to its private socket (:mod:`astrohub_server.dask_sockets`), and
:data:`LOCAL_PORT_DASHBOARD`, ``dask/local/<port>/``, one on TCP, sent on to the server's ``proxy/<port>/``. The cluster routes answer with :mod:`astrohub_server.dask_clusters`'
subclass, which first adopts the user's gateway clusters (those made in a notebook too). :func:`register` is called by the ``astrohub_server`` extension when
dask_labextension is installed and its own server extension is turned off. May import tornado,
jupyter_server and :mod:`astrohub_server.dask_sockets`; dask_labextension only lazily.
"""

from __future__ import annotations

import importlib
from typing import Any

from jupyter_server.utils import url_path_join
from tornado import web

from astrohub_server.dask_sockets import PORT_ROUTE as _LOCAL_PORT_DASHBOARD
from astrohub_server.dask_sockets import ROUTE as _LOCAL_DASHBOARD

__all__ = ["LOCAL_DASHBOARD", "LOCAL_PORT_DASHBOARD", "NO_DASHBOARD", "ROUTES", "lazy_handler", "register"]

_CLUSTER_ID = r"(?P<cluster_id>\w+-\w+-\w+-\w+-\w+)"
_MODULE = "dask_labextension"
#: The cluster routes' handler: dask_labextension's, after adopting the user's gateway clusters.
_CLUSTERS = ("astrohub_server.dask_clusters", "ClusterHandler")
#: (path under the server's base URL, (module, handler class)), in dask_labextension's own order.
ROUTES = [
    ("dask/clusters/" + _CLUSTER_ID, _CLUSTERS),
    ("dask/clusters/" + "?", _CLUSTERS),
    (f"dask/dashboard/{_CLUSTER_ID}(?P<proxied_path>.+)", ("astrohub_server.dask_dashboard", "DaskDashboardHandler")),
    ("dask/dashboard-check/(?P<url>.+)", ("astrohub_server.dask_dashboard", "DaskDashboardCheckHandler")),
]
#: The platform's own route beside them: a kernel LocalCluster's dashboard, on its socket (astrohub_server.dask_sockets).
LOCAL_DASHBOARD = (_LOCAL_DASHBOARD, ("astrohub_server.dask_dashboard", "LocalDashboardHandler"))
#: ... and one on TCP (its scheduler given its own preload), sent on to the server's ``proxy/<port>/``.
LOCAL_PORT_DASHBOARD = (_LOCAL_PORT_DASHBOARD, ("astrohub_server.dask_dashboard", "LocalPortDashboardHandler"))
#: After all of them: any other path under ``dask/dashboard`` or ``dask/local``, a 404 naming it and the dashboards
#: this server shows (short JSON or HTML, not Jupyter Server's full HTML page in the sidebar's pane).
NO_DASHBOARD = (r"dask/(?P<kind>dashboard|local)(?P<rest>/.*|)", ("astrohub_server.dask_dashboard", "NoDashboardHandler"))


def lazy_handler(module: str, name: str) -> type[web.RequestHandler]:
    """A handler class that imports ``module`` on its first request and answers as ``module.name``.

    Tornado builds one handler per request by calling the class; this class's ``__new__`` returns
    the real handler instead (importing the module the first time), so every method, prepare and
    error page are the real ones.
    """

    class LazyHandler(web.RequestHandler):
        def __new__(cls, application: Any, request: Any, **kwargs: Any) -> web.RequestHandler:
            try:
                real = getattr(importlib.import_module(module), name)
            except (ImportError, AttributeError) as exc:
                return _Unavailable(application, request, reason=f"{module}.{name} is not available: {exc}")
            return real(application, request, **kwargs)

    LazyHandler.__name__ = LazyHandler.__qualname__ = f"Lazy{name}"
    return LazyHandler


class _Unavailable(web.RequestHandler):
    """503 with the reason, for every method, when the real handler cannot be imported."""

    def initialize(self, reason: str) -> None:
        self.reason = reason

    def prepare(self) -> None:
        self.set_status(503)
        self.set_header("Content-Type", "application/json")
        self.finish({"message": self.reason})


def register(serverapp) -> None:
    """Add the sidebar's routes to the server; dask_labextension is imported on their first request."""
    base_url = serverapp.web_app.settings["base_url"]
    serverapp.web_app.add_handlers(".*$", [
        (url_path_join(base_url, path), lazy_handler(module, name)) for path, (module, name) in [*ROUTES, LOCAL_DASHBOARD, LOCAL_PORT_DASHBOARD, NO_DASHBOARD]
    ])
