"""The dask-gateway server's configuration, as code: :func:`configure_gateway`, its Kubernetes twin
:func:`configure_gateway_kubernetes`, and the backends they install.

The local platform's generated ``dask_gateway_config.py`` calls::

    from astrohub_hub.gateway import configure_gateway
    configure_gateway(c, settings)   # the same HubSettings (or mapping) the hub gets

and starts ``dask-gateway-server -f dask_gateway_config.py``. The gateway authenticates users
through JupyterHub (``JupyterHubAuthenticator``: the user's hub token is resolved with
``GET <hub api>/user`` and must carry ``access:services!service=dask-gateway``, which the hub's
``user`` and ``server`` roles grant). Backends:

* root: :class:`AstroLocalBackend`, dask-gateway's ``LocalBackend`` with each cluster's scheduler
  and workers running as the hub user's system user (``astro-<name>``, the same mapping as the
  hub's spawner, created with the same home if the user never started a server), HOME set to
  the user's home;
* not root: :class:`AstroUnsafeLocalBackend` (everything as the invoking user);
* Kubernetes (the Helm chart's ``dask-gateway.gateway.extraConfig`` calls
  :func:`configure_gateway_kubernetes`): ``AstroKubeBackend``, dask-gateway's ``KubeBackend``
  (defined on first use, since ``kubernetes_asyncio`` is only needed there).

The local backends run schedulers and workers through :mod:`astrohub_hub.dasknode` (their HTTP
servers on Unix sockets in the cluster's private folder, 0600) and serve dashboards only through the
authenticated ``/clusters/<name>/`` route of :mod:`astrohub_hub.dashboards`; the clusters' parent
folder is root's, 0711, so other users can neither list cluster names nor enter another's folder.

All of them let an owner share a cluster with one of her hub groups (:mod:`astrohub_hub.gateway_sharing`:
members connect and open the dashboard, only the owner and admins stop or scale it; ``clusterSharing``), and
all of them enforce ``max_clusters_per_user`` through :class:`UserClusterLimit`. Cluster options
(``worker_cores``, ``worker_memory`` in GiB) have bounds from ``GatewayServerSettings``; the
largest cluster a user may start follows their hub groups (``cluster_max_workers_by_group``).
May import dask-gateway-server and this package.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import os
import pwd
import sys
import tempfile
from typing import Any, Mapping

from traitlets import Dict, Integer, Unicode
from traitlets.config import Configurable

from astrohub_hub.environment import NUMBA_CACHE
from astrohub_hub.errors import HubConfigError, UsernameError
from astrohub_hub.kubernetes import dataset_volumes
from astrohub_hub.accounts import ensure_system_user, running_as_root, system_username
from astrohub_hub.gateway_bodies import add_body_check
from astrohub_hub.gateway_sharing import (SHARED_WITH, SHARING_SETTING, ClusterSharing, add_sharing_routes,
                                          sharing_is_off)
from astrohub_hub.gateway_usage import WorkerCounts, add_usage_routes
from astrohub_hub.folders import expand_user_path, prepare_user_dirs, unreachable_by_others
from astrohub_hub.settings import HubSettings

from dask_gateway_server.backends.base import PublicException
from dask_gateway_server.backends.local import LocalBackend

__all__ = [
    "AstroKubeBackend",
    "AstroLocalBackend",
    "AstroUnsafeLocalBackend",
    "LimitedLocalBackend",
    "NO_CLIENT_TIMEOUT_ENV",
    "SCHEDULER_PRELOADS",
    "UserClusterLimit",
    "cluster_options",
    "configure_gateway",
    "configure_gateway_kubernetes",
]

GIB = 2**30

#: Added to every cluster scheduler's command line, local and Kubernetes: :mod:`platform_lib.idle_notice`, which
#: warns the cluster's clients before the gateway's idle timeout stops it, and :mod:`platform_lib.worker_news`, which
#: tells the gateway within seconds of a worker joining, not at the next 15 s heartbeat (the scheduler runs the
#: user's environment, the user image on Kubernetes, where platform_lib is installed).
SCHEDULER_PRELOADS = ("--preload", "platform_lib.idle_notice", "--preload", "platform_lib.worker_news")
#: The schedulers' environment variable of ``daskGateway.server.noClientTimeoutSeconds``: the dask config key
#: ``astrohub.gateway.no-client-timeout`` that :mod:`platform_lib.idle_notice` reads.
NO_CLIENT_TIMEOUT_ENV = "DASK_ASTROHUB__GATEWAY__NO_CLIENT_TIMEOUT"


class UserClusterLimit(Configurable):
    """Mixin for a dask-gateway backend: refuses a user's cluster beyond ``max_clusters_per_user``.

    Counts what the backend's own ``list_clusters(username=...)`` reports (pending and running
    clusters) plus the clusters this process started that the backend does not know yet (the
    Kubernetes backend learns of a new cluster from its informer, after ``start_cluster`` returns).
    Checks and starts of one user are serialised, so quick repeated requests cannot overshoot.
    Put it before the backend class: ``class B(UserClusterLimit, KubeBackend)``.
    """

    max_clusters_per_user = Integer(
        0, help="Pending and running clusters a user may have at once (0: no limit).", config=True
    )
    _user_locks = Dict()
    _unlisted = Dict()

    async def start_cluster(self, user, cluster_options):
        if not self.max_clusters_per_user:
            return await super().start_cluster(user, cluster_options)
        async with self._user_locks.setdefault(user.name, asyncio.Lock()):
            listed = {cluster.name for cluster in await self.list_clusters(username=user.name)}
            unlisted = set()
            for name in self._unlisted.get(user.name, ()):
                if name not in listed and await self.get_cluster(name) is None:
                    unlisted.add(name)
            self._unlisted[user.name] = unlisted
            active = len(listed) + len(unlisted)
            if active >= self.max_clusters_per_user:
                # Named, with a call that works from any kernel: the usual case is a cluster whose kernel
                # was killed or restarted, of which the new kernel has no ``cluster`` object to shut down.
                names = sorted(listed | unlisted)
                raise PublicException(
                    f"user {user.name!r} already has {active} active clusters (the limit is "
                    f"{self.max_clusters_per_user}): {', '.join(names)}. Shut one down, from any notebook, with "
                    f"Gateway().stop_cluster({names[0]!r}) (or Gateway().connect(name).get_client() to use it "
                    f"again; one whose kernel died or was restarted stops by itself a few minutes after its client "
                    f"left) and retry"
                )
            name = await super().start_cluster(user, cluster_options)
            unlisted.add(name)
            return name


class LimitedLocalBackend(UserClusterLimit, WorkerCounts, ClusterSharing, LocalBackend):
    """A local backend with :class:`UserClusterLimit`, a per-user environment, private dashboards and clusters
    shared with a hub group (:mod:`astrohub_hub.gateway_sharing`, the group kept in the gateway's database).

    Dashboards: the gateway proxy gets no ``/clusters/<name>`` route (upstream's unauthenticated
    proxy to the dashboard port); :func:`~astrohub_hub.dashboards.add_dashboard_routes` serves it
    from the gateway API server to the owner or an admin. The clusters' folder is created 0711
    (root's when run as root): enterable to reach one's own cluster folder, not listable.
    """

    platform_environment = Dict(
        help="Extra environment for schedulers and workers; '{username}' is the hub user name.", config=True
    )

    async def setup(self, app):
        from astrohub_hub.dashboards import add_dashboard_routes

        if self.clusters_directory:
            os.makedirs(self.clusters_directory, 0o711, exist_ok=True)
            os.chmod(self.clusters_directory, 0o711)
        add_dashboard_routes(app)
        add_usage_routes(app)
        add_sharing_routes(app)
        add_body_check(app)
        await super().setup(app)

    async def _check_cluster_proxied(self, cluster):
        # Upstream also adds a PATH route /clusters/<name> -> the dashboard's TCP address (open to
        # anyone); here only the scheduler's TLS (SNI) route, dashboards go through the API server.
        if not cluster.added_to_proxies:
            self.log.info("Adding cluster %s scheduler route to the proxy", cluster.name)
            await self.proxy.add_route(kind="SNI", sni=cluster.name, target=cluster.scheduler_address)
            cluster.added_to_proxies = True

    def get_env(self, cluster):
        env = super().get_env(cluster)
        for key, value in self.platform_environment.items():
            env[key] = expand_user_path(value, cluster.username)
        return env


class AstroLocalBackend(LimitedLocalBackend):
    """LocalBackend running each cluster as the hub user's system user ``<prefix><name>``."""

    system_user_prefix = Unicode("astro-", help="System users are <prefix><hub name>.", config=True)
    home_template = Unicode("", help="The user's home ('{username}' = hub name), HOME of the processes.",
                            config=True)

    def system_user(self, username: str) -> str:
        """The system user running ``username``'s clusters."""
        return system_username(username, self.system_user_prefix)

    async def start_cluster(self, user, cluster_options):
        try:
            name = self.system_user(user.name)
        except UsernameError as exc:
            raise PublicException(str(exc)) from exc
        try:
            pwd.getpwnam(name)
        except KeyError:
            if not self.home_template:
                raise PublicException(
                    f"no system user for {user.name!r} yet: start your notebook server once, then retry"
                ) from None
            # Same account and home as the hub's spawner would create (idempotent, race-safe).
            home = expand_user_path(self.home_template, user.name)
            owner = await asyncio.to_thread(ensure_system_user, name, home)
            await asyncio.to_thread(prepare_user_dirs, home, None, owner)
        return await super().start_cluster(user, cluster_options)

    def set_file_permissions(self, paths, username):
        entry = pwd.getpwnam(self.system_user(username))
        for path in paths:
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def setup_working_directory(self, cluster):
        # Rewritten rather than inherited: upstream extends the path list with the characters of the
        # certificate paths (``paths.extend(path)``), which would chown "/" to the cluster's user.
        if self.clusters_directory:
            workdir = os.path.join(self.clusters_directory, cluster.name)
        else:
            workdir = tempfile.mkdtemp(prefix="dask", suffix=cluster.name)
        certsdir = self.get_certs_directory(workdir)
        logsdir = self.get_logs_directory(workdir)
        paths = [workdir, certsdir, logsdir]
        for path in paths:
            os.makedirs(path, 0o700, exist_ok=True)
        cert_path, key_path = self._get_tls_paths(workdir)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        for path, data in [(cert_path, cluster.tls_cert), (key_path, cluster.tls_key)]:
            with os.fdopen(os.open(path, flags, 0o600), "wb") as fil:
                fil.write(data)
            paths.append(path)
        self.set_file_permissions(paths, cluster.username)
        return workdir

    def make_preexec_fn(self, cluster):  # pragma: no cover - runs in the forked child
        entry = pwd.getpwnam(self.system_user(cluster.username))
        uid, gid = entry.pw_uid, entry.pw_gid
        groups = os.getgrouplist(entry.pw_name, gid)
        workdir = cluster.state["workdir"]

        def preexec():
            os.setgid(gid)
            try:
                os.setgroups(groups)
            except OSError:
                os.setgroups([])
            os.setuid(uid)
            os.chdir(workdir)

        return preexec

    def get_env(self, cluster):
        env = super().get_env(cluster)
        env["USER"] = self.system_user(cluster.username)
        env["HOME"] = (
            expand_user_path(self.home_template, cluster.username)
            if self.home_template
            else pwd.getpwnam(env["USER"]).pw_dir
        )
        return env


class AstroUnsafeLocalBackend(LimitedLocalBackend):
    """Everything as the invoking user (the gateway is not root): no isolation between users."""

    def make_preexec_fn(self, cluster):  # pragma: no cover - runs in the forked child
        workdir = cluster.state["workdir"]

        def preexec():
            os.chdir(workdir)

        return preexec

    def set_file_permissions(self, paths, username):
        pass


def usage_readers() -> list[str]:
    """Gateway users who may read any user's Dask usage (``/usage?user=``): the classes service.

    Its hub page shows each signed-in user their own clusters (:mod:`astrohub_hub.gateway_usage`). Listed
    whether or not it runs (locally, or on Kubernetes with the chart's ``classes.enabled``): only the hub
    service of that name has tokens the gateway maps to ``service:astrohub-classes``.
    """
    from astrohub_hub.classes_service import SERVICE_NAME

    return [f"service:{SERVICE_NAME}"]


@functools.cache
def _kube_backend() -> type:
    from dask_gateway_server.backends.kubernetes import KubeBackend

    class AstroKubeBackend(UserClusterLimit, WorkerCounts, ClusterSharing, KubeBackend):
        """dask-gateway's ``KubeBackend`` with :class:`UserClusterLimit`, the dashboard route for the owner and
        the group the cluster is shared with (:func:`~astrohub_hub.dashboards.add_dashboard_routes`; the chart
        routes dashboards here) and the sharing routes (the group kept in the ``DaskCluster``'s ``spec.options``)."""

        async def setup(self, app):
            from astrohub_hub.dashboards import add_dashboard_routes

            add_dashboard_routes(app)
            add_usage_routes(app)
            add_sharing_routes(app)
            add_body_check(app)
            await super().setup(app)

        async def _store_options(self, cluster_name, options):
            namespace, name = cluster_name.split(".")
            await self.custom_client.patch_namespaced_custom_object(
                "gateway.dask.org", self.crd_version, namespace, "daskclusters", name,
                [{"op": "replace", "path": "/spec/options", "value": options}],
            )
            cached = self.clusters.get(cluster_name)
            if cached is not None:  # the informer brings the same soon; answer the caller with it now
                cached.options = options

    AstroKubeBackend.__module__ = __name__
    AstroKubeBackend.__qualname__ = "AstroKubeBackend"
    return AstroKubeBackend


def __getattr__(name: str) -> Any:
    # AstroKubeBackend is built on first use: KubeBackend needs kubernetes_asyncio, which the local
    # platform (the ``gateway`` extra) does not install.
    if name == "AstroKubeBackend":
        return _kube_backend()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def cluster_options(settings: HubSettings, *, kubernetes: bool = False):
    """The cluster options users may set: ``worker_cores`` and ``worker_memory`` (GiB), bounded, and ``shared_with``.

    ``shared_with``: a hub group of the user's to share the cluster with from the start (""; refused when
    ``daskGateway.server.clusterSharing`` is off, naming the setting the deployment's operator sets,
    ``SHARING_SETTING[settings.mode]``; :mod:`astrohub_hub.gateway_sharing`).

    The handler also sets each cluster's ``cluster_max_workers``: the largest of
    ``cluster_max_workers`` and ``cluster_max_workers_by_group[g]`` for the user's hub groups ``g``.
    With ``kubernetes``, the worker container's limits equal its requests (``worker_cores_limit``,
    ``worker_memory_limit``), so a worker gets exactly what the user chose.
    """
    from dask_gateway_server.options import Float, Integer as IntegerOption, Options, String

    server = settings.dask_gateway.server
    by_group = server.cluster_max_workers_by_group

    def handler(options: Any, user: Any) -> dict[str, Any]:
        group = options[SHARED_WITH]
        if group and not server.cluster_sharing:
            raise ValueError(f"{SHARED_WITH}={group!r}: {sharing_is_off(SHARING_SETTING[settings.mode])}")
        if group and group not in user.groups:
            mine = ", ".join(sorted(user.groups)) or "none"
            raise ValueError(f"{SHARED_WITH}={group!r} is not one of your hub groups ({mine}): a cluster is shared "
                             f"with a group its owner belongs to")
        memory = int(options.worker_memory * GIB)
        allowances = [by_group[group] for group in user.groups if group in by_group]
        config = {
            "worker_cores": options.worker_cores,
            "worker_memory": memory,
            "cluster_max_workers": max([server.cluster_max_workers, *allowances]),
        }
        if kubernetes:
            config["worker_cores_limit"] = options.worker_cores
            config["worker_memory_limit"] = memory
        return config

    return Options(
        IntegerOption("worker_cores", default=server.worker_cores, min=1, max=server.worker_cores_max,
                      label="Worker cores"),
        Float("worker_memory", default=server.worker_memory_gib, min=server.worker_memory_gib_min,
              max=server.worker_memory_gib_max, label="Worker memory (GiB)"),
        String(SHARED_WITH, default="", label="Share with hub group (optional)"),
        handler=handler,
    )


def _cluster_limits(c: Any, settings: HubSettings, *, kubernetes: bool) -> None:
    server = settings.dask_gateway.server
    c.Backend.cluster_options = cluster_options(settings, kubernetes=kubernetes)
    c.ClusterConfig.cluster_max_workers = server.cluster_max_workers
    if server.cluster_max_cores is not None:
        c.ClusterConfig.cluster_max_cores = server.cluster_max_cores
    if server.cluster_max_memory_gib is not None:
        c.ClusterConfig.cluster_max_memory = int(server.cluster_max_memory_gib * GIB)
    c.ClusterConfig.idle_timeout = server.idle_timeout_seconds
    # The scheduler's preload platform_lib.idle_notice reads it from the dask config. Merged into the most specific
    # section, so that an environment the dask-gateway chart set for the Kubernetes clusters stays.
    section = c.KubeClusterConfig if kubernetes else c.ClusterConfig
    environment = dict(section.environment) if "environment" in section else {}
    environment[NO_CLIENT_TIMEOUT_ENV] = str(server.no_client_timeout_seconds)
    section.environment = environment


def configure_gateway(c: Any, settings: HubSettings | Mapping[str, Any]) -> HubSettings:
    """Configure dask-gateway-server's traitlets config ``c`` from the hub settings.

    Parameters
    ----------
    c
        The config object of ``dask_gateway_config.py``.
    settings
        The same :class:`HubSettings` (or mapping) the hub's ``configure`` gets; uses
        ``dask_gateway`` (``api_token``, ``service_name``, ``server``), ``storage`` and ``local``.

    Returns
    -------
    HubSettings
        The validated settings.

    Examples
    --------
    >>> from traitlets.config import Config
    >>> c = Config()
    >>> _ = configure_gateway(c, {"mode": "local", "storage": {"home": "/h/{username}",
    ...     "groupsRoot": "/g", "datasets": "/d", "scratch": "/s/{username}"},
    ...     "daskGateway": {"apiToken": "t", "server": {"backend": "unsafe"}}})
    >>> c.DaskGateway.backend_class.__name__
    'AstroUnsafeLocalBackend'
    """
    from astrohub_hub.configure import validate_settings

    settings = validate_settings(settings)
    gateway = settings.dask_gateway
    server = gateway.server
    c.DaskGateway.address = server.address
    c.Proxy.address = server.proxy_address
    c.Proxy.tcp_address = server.proxy_address
    # The hub's proxy forwards /services/<name>/... unchanged, so the gateway serves that prefix.
    c.Proxy.prefix = f"/services/{gateway.service_name}"
    c.DaskGateway.authenticator_class = "astrohub_hub.dashboards.HubTokenAuthenticator"
    if server.hub_api_url:
        c.JupyterHubAuthenticator.jupyterhub_api_url = server.hub_api_url
    if gateway.api_token:
        c.JupyterHubAuthenticator.jupyterhub_api_token = gateway.api_token
    c.JupyterHubAuthenticator.jupyterhub_service_name = gateway.service_name
    c.HubTokenAuthenticator.usage_readers = usage_readers()
    c.HubTokenAuthenticator.cluster_sharing = server.cluster_sharing
    c.HubTokenAuthenticator.cluster_sharing_setting = SHARING_SETTING[settings.mode]
    c.HubTokenAuthenticator.sharing_recheck_seconds = server.sharing_recheck_seconds

    as_root = running_as_root() if server.backend == "auto" else server.backend == "local"
    if as_root:
        blocked = unreachable_by_others(sys.executable)
        if blocked:
            raise HubConfigError(
                f"Dask schedulers and workers would run as system users, but they cannot reach this "
                f"Python ({sys.executable}): {blocked} is not searchable by other users "
                f"(chmod o+x {blocked}, or backend: unsafe)",
                key="daskGateway.server.backend",
                value=sys.executable,
                code="python-unreachable",
            )
    backend = AstroLocalBackend if as_root else AstroUnsafeLocalBackend
    c.DaskGateway.backend_class = backend
    prefix = settings.local.system_user_prefix if settings.local else "astro-"
    c.AstroLocalBackend.system_user_prefix = prefix
    c.AstroLocalBackend.home_template = settings.storage.home
    c.LimitedLocalBackend.max_clusters_per_user = server.max_clusters_per_user
    c.LimitedLocalBackend.platform_environment = {
        "PLATFORM_USER": "{username}",
        "PLATFORM_HOME": settings.storage.home,
        "PLATFORM_GROUPS_ROOT": settings.storage.groups_root,
        "PLATFORM_WORKSPACES_ROOT": settings.class_folders()[1],
        "PLATFORM_DATASETS": settings.storage.datasets,
        "PLATFORM_SCRATCH": settings.storage.scratch,
        # the user's numba cache, seeded by her server with the compiled crossmatch kernels and hats' pixel-tree
        # functions: a worker's first crossmatch loads them (it compiled them, ~1 min under load, into its own)
        "NUMBA_CACHE_DIR": f"{settings.storage.home.rstrip('/')}/{NUMBA_CACHE}",
    }
    if server.clusters_directory:
        c.LocalBackend.clusters_directory = server.clusters_directory
    if server.db_path:
        # A file database: a gateway restarted after a crash finds its running clusters again (their
        # schedulers reach it at the proxy's fixed address). The key that encrypts their TLS secrets
        # is derived from the gateway's hub token, so it is the same after every restart.
        c.DBBackendBase.db_url = f"sqlite:///{server.db_path}"
        secret = hashlib.sha256(b"astrohub dask-gateway database\0" + (gateway.api_token or "").encode())
        c.DBBackendBase.db_encrypt_keys = [base64.urlsafe_b64encode(secret.digest())]

    # Dashboards and other HTTP endpoints on private Unix sockets (astrohub_hub.dasknode), not TCP.
    c.ClusterConfig.scheduler_cmd = [sys.executable, "-m", "astrohub_hub.dasknode", "scheduler", *SCHEDULER_PRELOADS]
    c.ClusterConfig.worker_cmd = [sys.executable, "-m", "astrohub_hub.dasknode", "worker"]
    c.ClusterConfig.worker_cores = server.worker_cores
    c.ClusterConfig.worker_memory = int(server.worker_memory_gib * GIB)
    c.ClusterConfig.scheduler_cores = server.scheduler_cores
    c.ClusterConfig.scheduler_memory = int(server.scheduler_memory_gib * GIB)
    _cluster_limits(c, settings, kubernetes=False)
    return settings


def _extend(section: Any, key: str, field: str, items: list[dict[str, Any]]) -> None:
    value = dict(section[key]) if key in section else {}
    value[field] = [*value.get(field, []), *items]
    section[key] = value


def configure_gateway_kubernetes(c: Any, settings: HubSettings | Mapping[str, Any]) -> HubSettings:
    """Configure the dask-gateway API server of the Helm chart (``KubeBackend``) from the hub settings.

    Runs after the dask-gateway chart's own configuration, whose traits it leaves alone
    (the authenticator's settings, proxy, addresses, images, worker sizes of ``gateway.backend``) except for
    what it extends or owns:

    * ``KubeClusterConfig`` ``scheduler_cmd`` and ``worker_cmd``: distributed's ``dask scheduler`` and
      ``dask worker`` (the user image's distributed has no ``dask-scheduler`` script, dask-gateway's default),
      the scheduler with :data:`SCHEDULER_PRELOADS` (the idle-shutdown warning);
    * every worker pod mounts the archive datasets of ``kubernetes.datasets`` read-only at
      ``<storage.datasets>/<name>`` (:func:`~astrohub_hub.kubernetes.dataset_volumes`, the builder
      of the user pods' dataset volumes), appended to ``KubeClusterConfig.worker_extra_pod_config``
      ``volumes`` and ``worker_extra_container_config`` ``volumeMounts``;
    * ``Backend.cluster_options`` (:func:`cluster_options`: worker cores and memory bounded by
      ``daskGateway.server``, worker limits equal to requests, ``cluster_max_workers`` by hub group);
    * ``ClusterConfig`` ``cluster_max_workers``, ``cluster_max_cores``, ``cluster_max_memory`` and
      ``idle_timeout``; ``KubeClusterConfig.environment`` gets :data:`NO_CLIENT_TIMEOUT_ENV` (added to what is
      there);
    * ``DaskGateway.backend_class``: ``AstroKubeBackend`` (``KubeBackend`` refusing a user's
      cluster beyond ``daskGateway.server.maxClustersPerUser``, serving the owner-only dashboard
      route that the chart's IngressRoute ``astrohub-dask-dashboards`` sends dashboards to);
    * ``DaskGateway.authenticator_class``: ``HubTokenAuthenticator`` (the chart's
      ``JupyterHubAuthenticator``, also reading ``?token=``; its ``cluster_sharing`` from
      ``daskGateway.server.clusterSharing``: owners may share a cluster with a hub group; its
      ``sharing_recheck_seconds`` from ``daskGateway.server.sharingRecheckSeconds``).

    Parameters
    ----------
    c
        The gateway's traitlets config (the chart runs ``gateway.extraConfig`` with it).
    settings
        :class:`HubSettings` or a mapping (the chart renders ``mode``, ``storage``, ``daskGateway``
        without ``apiToken`` and ``kubernetes`` of ``jupyterhub.custom.astrohub``).

    Returns
    -------
    HubSettings
        The validated settings.

    Raises
    ------
    HubConfigError
        Invalid settings (naming the key), ``mode`` not ``kubernetes``, or no ``kubernetes`` block.

    Examples
    --------
    >>> from traitlets.config import Config
    >>> c = Config()
    >>> _ = configure_gateway_kubernetes(c, {"mode": "kubernetes", "storage": {"home": "/home/jovyan",
    ...     "groupsRoot": "/g", "datasets": "/datasets", "scratch": "/tmp"},
    ...     "kubernetes": {"datasets": [{"name": "gaia", "nfs": {"server": "nfs", "path": "/gaia"}}]}})
    >>> c.KubeClusterConfig.worker_extra_container_config["volumeMounts"]
    [{'name': 'dataset-gaia', 'mountPath': '/datasets/gaia', 'readOnly': True}]
    >>> c.DaskGateway.backend_class.__name__
    'AstroKubeBackend'
    """
    from astrohub_hub.configure import validate_settings

    settings = validate_settings(settings)
    if settings.mode != "kubernetes":
        raise HubConfigError(
            f"configure_gateway_kubernetes needs mode 'kubernetes', got {settings.mode!r} "
            f"(the local platform's gateway calls configure_gateway)",
            key="mode",
            value=settings.mode,
        )
    if settings.kubernetes is None:
        raise HubConfigError(
            "mode is 'kubernetes' but the 'kubernetes' block is missing (add at least 'kubernetes: {}')",
            key="kubernetes",
            code="missing-kubernetes",
        )
    volumes, mounts = dataset_volumes(settings.kubernetes, settings.storage.datasets)
    # distributed 2026.6 dropped the dask-scheduler / dask-worker scripts that dask-gateway's defaults run
    c.KubeClusterConfig.scheduler_cmd = ["dask", "scheduler", *SCHEDULER_PRELOADS]
    c.KubeClusterConfig.worker_cmd = ["dask", "worker"]
    _extend(c.KubeClusterConfig, "worker_extra_pod_config", "volumes", volumes)
    _extend(c.KubeClusterConfig, "worker_extra_container_config", "volumeMounts", mounts)
    c.DaskGateway.backend_class = _kube_backend()
    # The chart's JupyterHubAuthenticator settings apply to this subclass; it also reads ?token= and
    # token/Bearer headers, as the dashboard route's callers send them.
    c.DaskGateway.authenticator_class = "astrohub_hub.dashboards.HubTokenAuthenticator"
    c.AstroKubeBackend.max_clusters_per_user = settings.dask_gateway.server.max_clusters_per_user
    c.HubTokenAuthenticator.usage_readers = usage_readers()
    c.HubTokenAuthenticator.cluster_sharing = settings.dask_gateway.server.cluster_sharing
    c.HubTokenAuthenticator.cluster_sharing_setting = SHARING_SETTING[settings.mode]
    c.HubTokenAuthenticator.sharing_recheck_seconds = settings.dask_gateway.server.sharing_recheck_seconds
    _cluster_limits(c, settings, kubernetes=True)
    return settings
