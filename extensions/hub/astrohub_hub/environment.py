"""The environment of every user server: where the user's spaces and the platform's services are.

Pure: :func:`user_environment` turns settings plus a user name and groups into a ``dict``; it is
called at spawn by the callables ``configure`` puts in ``Spawner.environment`` (one per variable,
so the Kubernetes spawner's ``get_env`` resolves them the same way). May import this package's
settings and ``folders.expand_user_path`` only. The variables are read by ``platform_lib.settings.PlatformSettings`` (``PLATFORM_*``),
by ``dask_gateway`` (``DASK_GATEWAY__*``), by dask-labextension (``DASK_LABEXTENSION__*``: clusters
made from JupyterLab's Dask sidebar are ``dask_gateway.GatewayCluster`` objects, whose dashboard links go
through the hub to the gateway) and by the class tools (``ASTROHUB_CLASSES_URL``: the ``astrohub-classes`` service's API, local mode) and
by pip and Python
(the user's package layer, :func:`package_layer_environment`: ``%pip install`` goes to a folder in the
user's home that is on ``PYTHONPATH``, constrained to the platform's own versions; the constraints file
there is written by ``astrohub_server.packages`` when the user's server starts) and by numba
(``NUMBA_CACHE_DIR``: a folder of the user's, seeded with the platform's compiled crossmatch kernel)
and by dask (``DASK_TEMPORARY_DIRECTORY``: a kernel's ``LocalCluster`` keeps its worker folders in the
user's scratch). A kernel ``LocalCluster``'s dashboard (its socket, its link) is the user server's own
business (``astrohub_server.dask_sockets``).
"""

from __future__ import annotations

import json
import sys
from typing import Any, Callable, Iterable

from astrohub_hub.folders import expand_user_path
from astrohub_hub.settings import HubSettings

__all__ = [
    "NUMBA_CACHE",
    "PACKAGE_LAYER",
    "archive_url",
    "environment_callables",
    "package_layer_environment",
    "user_environment",
]

#: The user's package layer, relative to their home: what ``%pip install`` installs into (``PIP_PREFIX``).
PACKAGE_LAYER = ".astrohub/packages"
#: The user's numba cache, relative to their home (seeded at server start by ``astrohub_server.numbacache``).
NUMBA_CACHE = ".cache/astrohub/numba"
#: The layer's ``site-packages`` below ``PACKAGE_LAYER`` (pip's ``--prefix`` scheme). The user image and
#: the local platform run the hub's Python version (3.11); an operator with another one overrides
#: ``PYTHONPATH`` in ``settings.environment``.
_LAYER_SITE = f"lib/python{sys.version_info.major}.{sys.version_info.minor}/site-packages"


def package_layer_environment(home: str) -> dict[str, str]:
    """The variables that make ``pip install`` (and ``%pip install``) write to the user's own layer.

    ``PIP_PREFIX`` sends every install to ``<home>/.astrohub/packages`` (pip's ``--user`` is refused
    in a virtual environment; ``--prefix`` is not), ``PYTHONPATH`` puts its ``site-packages`` on every
    kernel's and terminal Python's path, and ``PIP_CONSTRAINT`` names the platform's own pinned
    versions (written there by ``astrohub_server.packages`` at server start), so pip refuses a package
    that would replace one of them and reuses them otherwise. Nothing else is shared: the layer is in
    the user's home, which only they can write.

    Examples
    --------
    >>> package_layer_environment("/h/ann")["PIP_PREFIX"]
    '/h/ann/.astrohub/packages'
    """
    layer = f"{home.rstrip('/')}/{PACKAGE_LAYER}"
    return {
        "ASTROHUB_PACKAGE_LAYER": layer,
        "PIP_PREFIX": layer,
        "PIP_CONSTRAINT": f"{layer}/platform-constraints.txt",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PYTHONPATH": f"{layer}/{_LAYER_SITE}",
    }


def archive_url(settings: HubSettings) -> str:
    """The archive service's base URL for user servers, or ``""`` when none is configured.

    A hub service with a ``url`` is routed by the proxy under ``/services/<name>/``, and the service
    itself serves that prefix, so users reach it at ``<url>/services/<name>/``.
    """
    for service in settings.services:
        if service.name == settings.archive_service and service.url:
            return f"{service.url.rstrip('/')}/services/{service.name}/"
    return ""


def user_environment(settings: HubSettings, username: str, groups: Iterable[str]) -> dict[str, str]:
    """Every variable a user server gets from astrohub, for ``username`` in ``groups``.

    ``settings.environment`` is applied last, so an operator can override any variable.

    Examples
    --------
    >>> s = HubSettings.model_validate({"mode": "local", "storage": {
    ...     "home": "/h/{username}", "groupsRoot": "/g", "datasets": "/d", "scratch": "/s/{username}"}})
    >>> user_environment(s, "alice", ["b", "a"])["PLATFORM_GROUPS"]
    '["a", "b"]'
    """
    storage = settings.storage
    env = {
        "PLATFORM_USER": username,
        "PLATFORM_GROUPS": json.dumps(sorted(set(groups))),
        "PLATFORM_HOME": expand_user_path(storage.home, username),
        "PLATFORM_GROUPS_ROOT": storage.groups_root,
        "PLATFORM_WORKSPACES_ROOT": settings.class_folders()[1],
        "PLATFORM_DATASETS": storage.datasets,
        "PLATFORM_SCRATCH": expand_user_path(storage.scratch, username),
    }
    env.update(package_layer_environment(env["PLATFORM_HOME"]))
    # numba caches only where it can write: the user's own copy of the platform's compiled kernels
    env["NUMBA_CACHE_DIR"] = f"{env['PLATFORM_HOME'].rstrip('/')}/{NUMBA_CACHE}"
    # A LocalCluster's worker folders in the user's private scratch, not in /tmp under a name another user
    # could create first (distributed's /tmp/dask-scratch-space[-<uid>]).
    env["DASK_TEMPORARY_DIRECTORY"] = env["PLATFORM_SCRATCH"]
    if settings.mode == "local" and env["PLATFORM_SCRATCH"]:
        # Temporary files (tempfile.gettempdir(), and every tool that reads TMPDIR) in the same private folder
        # (0700, the spawner's), not in the machine's /tmp, where another user's kernel could read what is written
        # under a name of its choosing (a pod has a /tmp of its own).
        env["TMPDIR"] = env["PLATFORM_SCRATCH"]
    archive = archive_url(settings)
    if archive:
        env["PLATFORM_ARCHIVE_URL"] = archive
    if settings.mode == "local" and settings.classes.url:  # the classes and workspaces service's API
        env["ASTROHUB_CLASSES_URL"] = f"{settings.classes.url.rstrip('/')}/services/astrohub-classes/api/"
    gateway = settings.dask_gateway
    if gateway.enabled and gateway.address:
        env["PLATFORM_DASK_GATEWAY_URL"] = gateway.address
        env["DASK_GATEWAY__ADDRESS"] = gateway.address
        if gateway.proxy_address:  # scheduler TCP traffic cannot go through the hub's HTTP proxy
            env["DASK_GATEWAY__PROXY_ADDRESS"] = gateway.proxy_address
        env["DASK_GATEWAY__PUBLIC_ADDRESS"] = gateway.public_address or gateway.address
        env["DASK_GATEWAY__AUTH__TYPE"] = "jupyterhub"
        env["DASK_LABEXTENSION__FACTORY__MODULE"] = "dask_gateway"
        env["DASK_LABEXTENSION__FACTORY__CLASS"] = "GatewayCluster"
    env.update(settings.cull.environment())  # activity reports and the cull warning (astrohub_server.activity)
    env.update(settings.packages.environment())  # where pip looks: no index (fail fast), a mirror or a wheel folder
    env.update(settings.environment)
    return env


def _spawner_groups(spawner: Any) -> list[str]:
    return [g.name for g in getattr(spawner.user, "groups", [])]


def environment_callables(settings: HubSettings) -> dict[str, Callable[[Any], str]]:
    """``Spawner.environment`` entries: one callable per variable, evaluated at spawn.

    JupyterHub calls each with the spawner; the user's groups are read at that moment, so
    ``PLATFORM_GROUPS`` reflects membership when the server starts.
    """
    keys = user_environment(settings, "x", []).keys()

    def make(key: str) -> Callable[[Any], str]:
        def value(spawner: Any) -> str:
            return user_environment(settings, spawner.user.name, _spawner_groups(spawner))[key]

        value.__name__ = f"astrohub_env_{key}"
        return value

    return {key: make(key) for key in keys}
