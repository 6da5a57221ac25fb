"""The hub-side settings model: one strict schema whose keys match the Helm values ``custom.astrohub``.

Keys are snake_case in Python and camelCase in YAML (both accepted). Unknown keys are errors that
name the key (pydantic's error ``loc``, e.g. ``auth.adminPasword: Extra inputs are not permitted``).
Mode-specific settings live beside their builders: ``local.LocalSettings`` and
``kubernetes.KubernetesSettings``. May import pydantic and this package's leaf modules only.

Example (what the local platform's ``jupyterhub_config.py`` passes)::

    {"mode": "local",
     "auth": {"kind": "shared-password", "adminUsers": ["admin"],
              "adminPassword": "<32+ chars>", "sharedPassword": "<8+ chars>"},
     "storage": {"home": "/srv/astrohub/home/{username}", "groupsRoot": "/srv/astrohub/groups",
                 "datasets": "/srv/astrohub/datasets", "scratch": "/srv/astrohub/scratch/{username}"},
     "daskGateway": {"address": "http://127.0.0.1:8000/services/dask-gateway",
                     "proxyAddress": "gateway://127.0.0.1:8786", "url": "http://127.0.0.1:8786",
                     "apiToken": "<hex>", "server": {"hubApiUrl": "http://127.0.0.1:8081/hub/api"}},
     "groups": {"teachers": {"instructorsOf": ["astro101"]}, "astro101": {}},
     "local": {"systemUserPrefix": "astro-"}}
"""

from __future__ import annotations

import posixpath

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from astrohub_hub.errors import HubConfigError
from astrohub_hub.kubernetes import KubernetesSettings
from astrohub_hub.local import LocalSettings

__all__ = [
    "AuthSettings",
    "ClassesSettings",
    "CullSettings",
    "DaskGatewaySettings",
    "GatewayServerSettings",
    "GroupSettings",
    "GroupSyncSettings",
    "HubSettings",
    "PackageSettings",
    "Profile",
    "ServiceSettings",
    "StorageSettings",
]

#: The minimum lengths JupyterHub's SharedPasswordAuthenticator enforces (checked here so the error
#: names our key rather than the traitlet).
ADMIN_PASSWORD_MIN_LENGTH = 32
USER_PASSWORD_MIN_LENGTH = 8

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_BYTES = re.compile(r"^\d+(\.\d+)?[KMGT]?$")


class Strict(BaseModel):
    """Base for every settings block: unknown keys are errors; camelCase or snake_case keys."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)


class AuthSettings(Strict):
    """Who may log in. ``roster`` (default; the Helm chart's values set ``native``): each person with their own
    password.

    ``roster``: people on the roster (hub users an admin or instructor added, ``allowed_users``,
    group members) set their own password once at ``/hub/register`` with the class code
    (``shared_password``, at least 8 characters), which signs nobody in by itself; admins in
    ``admin_users`` log in with ``admin_password`` (at least 32 characters). Failed attempts are
    rate-limited. Passwords are stored hashed in ``password_file`` (a SQLite file).
    ``shared-password``: every non-admin user logs in with ``shared_password``: anybody who knows it
    can sign in as anybody on the roster; for a throw-away demo only.
    ``native``: NativeAuthenticator; people sign up and an admin approves them at ``/hub/authorize``.
    ``external``: the authenticator is configured elsewhere and left alone (only ``admin_users`` is
    added): in production (the Helm chart) an OAuth/OIDC provider in the chart's
    ``jupyterhub.hub.config`` (``GenericOAuthenticator``; docs/deploy-kubernetes.md, "Sign-in").
    """

    kind: Literal["roster", "shared-password", "native", "external"] = "roster"
    admin_users: list[str] = Field(default_factory=lambda: ["admin"])
    allowed_users: list[str] = Field(default_factory=list)
    allow_all: bool = False
    shared_password: str | None = None
    admin_password: str | None = None
    password_file: str = Field(
        "astrohub-passwords.sqlite",
        description="roster: the SQLite file of password hashes (relative: to the hub's working folder).",
    )

    @field_validator("admin_password")
    @classmethod
    def _admin_password_length(cls, value: str | None) -> str | None:
        if value is not None and len(value) < ADMIN_PASSWORD_MIN_LENGTH:
            raise ValueError(
                f"must be at least {ADMIN_PASSWORD_MIN_LENGTH} characters (JupyterHub's rule), got {len(value)}"
            )
        return value

    @field_validator("shared_password")
    @classmethod
    def _shared_password_length(cls, value: str | None) -> str | None:
        if value is not None and len(value) < USER_PASSWORD_MIN_LENGTH:
            raise ValueError(
                f"must be at least {USER_PASSWORD_MIN_LENGTH} characters (JupyterHub's rule), got {len(value)}"
            )
        return value

    @model_validator(mode="after")
    def _passwords_differ(self) -> "AuthSettings":
        if self.shared_password and self.shared_password == self.admin_password:
            raise ValueError("sharedPassword and adminPassword must differ")
        return self


class Profile(Strict):
    """A resource profile offered at spawn time; ``groups`` restricts it (e.g. a class profile).

    ``mem_limit`` / ``mem_guarantee`` use JupyterHub's byte strings (``"2G"``, ``"512M"``); ``environment``
    is added to the server's environment; ``image`` applies on Kubernetes (local servers run the platform's
    Python). A class created with ``profile: <slug>`` pins it for its students and instructors (the hub
    group property ``astrohub-profile``), whatever ``groups`` says; during the class's exam window
    (``astrohub-exam``) their servers start with guarantees equal to the limits.
    """

    slug: str
    display_name: str
    description: str = ""
    cpu_limit: float | None = Field(None, gt=0)
    cpu_guarantee: float | None = Field(None, gt=0)
    mem_limit: str | None = None
    mem_guarantee: str | None = None
    image: str | None = None
    environment: dict[str, str] = Field(default_factory=dict)
    groups: list[str] = Field(default_factory=list)
    default: bool = False

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"{value!r} is not a slug (letters, digits, '.', '_', '-')")
        return value

    @field_validator("mem_limit", "mem_guarantee")
    @classmethod
    def _bytes(cls, value: str | None) -> str | None:
        if value is not None and not _BYTES.match(value):
            raise ValueError(f"{value!r} is not a byte size such as '2G' or '512M'")
        return value


class GroupSettings(Strict):
    """A hub group created at start-up: a class or a team.

    ``instructors_of: [students]`` lets this group's members open, start and stop the servers of the
    members of ``students`` (roles ``access:servers``, ``admin:servers``, ``read:users``, filtered
    by ``!group=students``). In a browser JupyterHub asks the instructor once to authorize access
    to a student's server; an API token reaches it when created with the scope
    ``access:servers!server=<student>/`` (JupyterHub does not resolve group filters of tokens that
    inherit their owner's permissions).
    """

    members: list[str] = Field(default_factory=list)
    instructors_of: list[str] = Field(default_factory=list)
    description: str = ""


class StorageSettings(Strict):
    """Where each space lives, as seen by user servers. ``{username}`` is expanded per user.

    ``home`` and ``scratch`` are per user (use ``{username}``); ``groups_root`` holds one folder
    per hub group; ``datasets`` is the read-only archive area.
    """

    home: str
    groups_root: str
    datasets: str
    scratch: str


class ServiceSettings(Strict):
    """A platform service registered with the hub (the archive service, ...).

    ``scopes`` become a role ``service-<name>`` assigned to the service. Services with a ``url``
    are reachable by every user (``access:services!service=<name>`` in the user and server roles).
    """

    name: str
    url: str | None = None
    api_token: str | None = None
    command: list[str] | None = None
    environment: dict[str, str] = Field(default_factory=dict)
    scopes: list[str] = Field(default_factory=list)
    display: bool = True
    oauth_no_confirm: bool = True

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"{value!r} is not a service name (letters, digits, '.', '_', '-')")
        return value


class GatewayServerSettings(Strict):
    """The dask-gateway server's own settings (``astrohub_hub.gateway.configure_gateway``).

    ``address`` is the gateway API's bind address (``Gateway.address``, internal);
    ``proxy_address`` the bind address of its proxy, serving HTTP and the scheduler TCP traffic on
    one port (``Proxy.address`` and ``Proxy.tcp_address``). ``backend``: ``auto`` = the per-user
    ``LocalBackend`` when the gateway runs as root, else ``UnsafeLocalBackend`` (everything as the
    invoking user); on Kubernetes (``configure_gateway_kubernetes``) the chart sets the addresses and
    the backend is always ``AstroKubeBackend``. Memory sizes are in GiB; users pick ``worker_cores``
    and ``worker_memory`` per cluster between 1 / ``worker_memory_gib_min`` and the ``*_max``
    values. ``max_clusters_per_user`` limits the pending and running clusters of one user;
    ``cluster_max_*`` bound each cluster (so a user gets at most their product).
    ``cluster_max_workers_by_group`` raises ``cluster_max_workers`` for members of a hub group (a
    member of several groups gets the largest; groups need not be configured here, so groups made
    through the hub API count too). ``idle_timeout_seconds`` shuts down a cluster that has run no
    task for that long (dask-gateway's ``idle_timeout``: the time since the scheduler's last task
    transition, or since it started; connected clients and a notebook's cluster widget do not count,
    so a cluster left open in a notebook stops too, after its client printed a warning on the local platform;
    0: never). ``no_client_timeout_seconds`` stops sooner a cluster whose clients have all gone (its notebook's
    kernel died or was restarted, so dask-gateway's own stop on close never ran): that long after the last client
    left and the last task ran (``platform_lib.idle_notice``, in the scheduler; a cluster that never had a client
    waits for the idle timeout; 0: never). ``db_path``: the gateway's SQLite database (default: in memory); with a file, a
    restarted gateway finds its running clusters again (their secrets encrypted with a key derived from
    the gateway's hub token). ``cluster_sharing``: a cluster's owner may share it with one of her hub groups
    (``platform_lib.gateway.share_cluster``, or the cluster option ``shared_with``), whose members may then
    connect to it and open its dashboard while they are in the group; only the owner and hub admins stop or
    scale it (``astrohub_hub.gateway_sharing``; false: every cluster is its owner's alone).
    ``sharing_recheck_seconds``: how soon a member who left the group (or whose hub token was revoked) loses a
    shared cluster's dashboard, an open one too, and how long the gateway keeps the hub's answer about the owner's
    groups (a cluster is closed to its group once its owner leaves it): the gateway asks the hub again about a
    member's browser session older than this (``HubTokenAuthenticator.sharing_recheck_seconds``; a hub API call per member's dashboard
    request at most this often; 0: at every request).
    """

    address: str = "127.0.0.1:0"
    proxy_address: str = "127.0.0.1:8786"
    hub_api_url: str = ""
    backend: Literal["auto", "local", "unsafe"] = "auto"
    clusters_directory: str | None = None
    db_path: str | None = None
    worker_cores: int = Field(1, ge=1)
    worker_cores_max: int = Field(4, ge=1)
    worker_memory_gib: float = Field(2.0, gt=0)
    worker_memory_gib_min: float = Field(0.25, gt=0)
    worker_memory_gib_max: float = Field(8.0, gt=0)
    scheduler_cores: int = Field(1, ge=1)
    scheduler_memory_gib: float = Field(1.0, gt=0)
    cluster_max_workers: int = Field(8, ge=1)
    cluster_max_workers_by_group: dict[str, Annotated[int, Field(ge=1)]] = Field(default_factory=dict)
    max_clusters_per_user: int = Field(2, ge=1)
    cluster_max_cores: float | None = Field(None, gt=0)
    cluster_max_memory_gib: float | None = Field(None, gt=0)
    idle_timeout_seconds: float = Field(1800.0, ge=0)
    no_client_timeout_seconds: float = Field(300.0, ge=0)
    cluster_sharing: bool = True
    sharing_recheck_seconds: float = Field(5.0, ge=0)

    @model_validator(mode="after")
    def _defaults_within_maxima(self) -> "GatewayServerSettings":
        if self.worker_cores > self.worker_cores_max:
            raise ValueError(f"workerCores={self.worker_cores} exceeds workerCoresMax={self.worker_cores_max}")
        if self.worker_memory_gib > self.worker_memory_gib_max:
            raise ValueError(
                f"workerMemoryGib={self.worker_memory_gib} exceeds workerMemoryGibMax={self.worker_memory_gib_max}"
            )
        if self.worker_memory_gib < self.worker_memory_gib_min:
            raise ValueError(
                f"workerMemoryGib={self.worker_memory_gib} is below workerMemoryGibMin={self.worker_memory_gib_min}"
            )
        return self


class DaskGatewaySettings(Strict):
    """How user servers reach dask-gateway (``DASK_GATEWAY__*`` in their environment).

    ``address``: the gateway's HTTP API as users reach it (through the hub proxy:
    ``<hub>/services/dask-gateway``); ``proxy_address``: the scheduler TCP address
    (``gateway://host:port``); ``public_address``: the dashboard links shown to browsers.
    ``url`` and ``api_token``: when both are set, ``configure`` registers the gateway as the hub
    service ``service_name`` (unless ``services`` already lists one of that name); the gateway's
    ``JupyterHubAuthenticator`` then resolves user tokens through the hub API.
    """

    enabled: bool = True
    address: str = ""
    proxy_address: str = ""
    public_address: str = ""
    service_name: str = "dask-gateway"
    url: str | None = None
    api_token: str | None = None
    server: GatewayServerSettings = Field(default_factory=GatewayServerSettings)


class GroupSyncSettings(Strict):
    """The group-workspace service (``python -m astrohub_hub.groupsync``), local mode only.

    It polls the hub every ``interval_seconds`` and keeps ``<groups_root>/<group>`` folders whose
    access list is exactly the group's members.
    """

    enabled: bool = True
    interval_seconds: float = Field(2.0, gt=0)


class ClassesSettings(Strict):
    """The classes and workspaces service (``python -m astrohub_hub.classes_service``) in local mode.

    Registered as the hub service ``astrohub-classes`` when ``url`` and ``api_token`` are set. On Kubernetes
    these keys but ``max_workspaces_per_user`` are unused: the chart's ``classes.enabled`` runs the service as its own Deployment and
    ``jupyterhub.hub.services.astrohub-classes`` registers it (``configure`` then gives it its role). Class
    folders live in ``classes_root`` and workspace folders in ``workspaces_root`` (default: beside
    ``storage.groupsRoot``, as ``classes`` and ``workspaces``); the registry is a SQLite file.
    ``max_workspaces_per_user`` (both modes: the chart's ConfigMap ``astrohub-classes`` passes it on Kubernetes)
    is how many workspaces one person may own: one more is refused (the API, the class page and
    ``astrohub workspaces create``, a 409 ``too-many-workspaces`` naming this setting), whether they make it
    themselves or as an instructor making a class's team workspaces; admins are not held to it (they make
    workspaces for others); 0: no limit.
    """

    url: str | None = None
    api_token: str | None = None
    classes_root: str | None = None
    workspaces_root: str | None = None
    registry: str = "astrohub-classes.sqlite"
    max_workspaces_per_user: int = Field(20, ge=0)


class CullSettings(Strict):
    """Activity-aware culling: idle user servers are stopped; busy ones are not (local mode runs the culler).

    When ``enabled``, local mode runs jupyterhub-idle-culler as the hub service ``astrohub-culler``
    (``--timeout``, ``--cull-every``; a role with only the scopes it needs); on Kubernetes the chart's
    ``jupyterhub.cull`` runs it. Either way user servers get ``ASTROHUB_CULL_TIMEOUT`` (the timeout),
    ``ASTROHUB_CULL_WARNING`` (``warning_seconds``) and ``ASTROHUB_ACTIVITY_INTERVAL``
    (``activity_interval_seconds``): the user-server extension (``astrohub_server.activity``) reports a
    busy kernel, a running Dask cluster or a background job to the hub as activity every
    ``activity_interval_seconds``, and warns the user ``warning_seconds`` before an idle server is culled.
    Idle Dask clusters are stopped by the gateway on their own (``daskGateway.server.idleTimeoutSeconds``).
    """

    enabled: bool = False
    timeout_seconds: int = Field(3600, ge=10)
    every_seconds: int = Field(300, ge=1)
    warning_seconds: int = Field(600, ge=0)
    activity_interval_seconds: float = Field(60.0, gt=0)

    @model_validator(mode="after")
    def _interval_below_timeout(self) -> "CullSettings":
        if self.activity_interval_seconds * 2 > self.timeout_seconds:
            raise ValueError(
                f"activityIntervalSeconds={self.activity_interval_seconds} must be at most half of "
                f"timeoutSeconds={self.timeout_seconds}, or a busy server could be culled between two reports"
            )
        return self

    def environment(self) -> dict[str, str]:
        """What user servers read (``astrohub_server.activity``); nothing when culling is off."""
        if not self.enabled:
            return {}
        return {"ASTROHUB_CULL_TIMEOUT": str(self.timeout_seconds),
                "ASTROHUB_CULL_WARNING": str(self.warning_seconds),
                "ASTROHUB_ACTIVITY_INTERVAL": str(self.activity_interval_seconds)}


class PackageSettings(Strict):
    """Where ``pip install`` finds packages that the platform's image lacks (``PIP_*`` in every user server).

    ``index`` is the one setting: ``None`` (the default: the platform has no internet, so no index) makes pip
    look at no index at all (``PIP_NO_INDEX=1``): ``pip install somepkg`` fails at once instead of retrying an
    unreachable PyPI for minutes, a wheel the user names still installs, and ``%pip`` and ``!pip`` in a
    notebook say that the platform has no internet and how to get a package (``astrohub_server.pipmagic``);
    an ``http(s)://`` URL is a package index (a mirror such as devpi, Nexus or Artifactory: ``PIP_INDEX_URL``);
    an absolute path is a folder of wheels that every user server can read (``PIP_NO_INDEX=1`` with
    ``PIP_FIND_LINKS``; on Kubernetes, a folder of a dataset). These variables take precedence over pip's
    configuration files. A platform with internet access that wants PyPI says so: ``https://pypi.org/simple``.
    """

    index: str | None = None

    @field_validator("index")
    @classmethod
    def _index(cls, value: str | None) -> str | None:
        if value is None or value.startswith(("http://", "https://")) or posixpath.isabs(value):
            return value
        raise ValueError(f"{value!r} is neither an http(s):// package index URL nor an absolute path to a folder "
                         "of wheels (leave it unset when the platform has neither)")

    def environment(self) -> dict[str, str]:
        """pip's variables for :attr:`index`.

        >>> PackageSettings().environment()
        {'PIP_NO_INDEX': '1'}
        >>> PackageSettings(index="/datasets/wheels").environment()
        {'PIP_NO_INDEX': '1', 'PIP_FIND_LINKS': '/datasets/wheels'}
        >>> PackageSettings(index="https://pypi.example.org/simple").environment()
        {'PIP_INDEX_URL': 'https://pypi.example.org/simple'}

        A plain ``http://`` mirror (devpi inside the cluster) is also pip's trusted host: pip ignores an index
        on http that it was not told to trust, so every ``pip install`` found nothing ("not a trusted or secure
        host", then "No matching distribution found"); the operator who named it trusts it.

        >>> PackageSettings(index="http://devpi.astro.svc:3141/root/pypi/+simple/").environment()
        {'PIP_INDEX_URL': 'http://devpi.astro.svc:3141/root/pypi/+simple/', 'PIP_TRUSTED_HOST': 'devpi.astro.svc:3141'}
        """
        if self.index is None:
            return {"PIP_NO_INDEX": "1"}
        if posixpath.isabs(self.index):
            return {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": self.index}
        if self.index.startswith("http://"):
            host = urlsplit(self.index).netloc.rpartition("@")[2]  # host[:port], without a user:password@
            return {"PIP_INDEX_URL": self.index, "PIP_TRUSTED_HOST": host}
        return {"PIP_INDEX_URL": self.index}


class HubSettings(Strict):
    """Everything :func:`astrohub_hub.configure` needs; validated, with no defaults hiding errors."""

    mode: Literal["local", "kubernetes"]
    auth: AuthSettings = Field(default_factory=AuthSettings)
    profiles: list[Profile] = Field(default_factory=list)
    groups: dict[str, GroupSettings] = Field(default_factory=dict)
    storage: StorageSettings
    dask_gateway: DaskGatewaySettings = Field(default_factory=DaskGatewaySettings)
    services: list[ServiceSettings] = Field(default_factory=list)
    archive_service: str = "archive"
    group_sync: GroupSyncSettings = Field(default_factory=GroupSyncSettings)
    classes: ClassesSettings = Field(default_factory=ClassesSettings)
    cull: CullSettings = Field(default_factory=CullSettings)
    packages: PackageSettings = Field(default_factory=PackageSettings)
    environment: dict[str, str] = Field(default_factory=dict)
    default_url: str = "/lab"
    local: LocalSettings | None = None
    kubernetes: KubernetesSettings | None = None

    @field_validator("groups")
    @classmethod
    def _group_names(cls, value: dict[str, GroupSettings]) -> dict[str, GroupSettings]:
        for name in value:
            if not _NAME.match(name):
                raise ValueError(f"group name {name!r}: use letters, digits, '.', '_', '-' (it names a folder)")
        return value

    @model_validator(mode="after")
    def _references_exist(self) -> "HubSettings":
        known = set(self.groups)
        for name, group in self.groups.items():
            for target in group.instructors_of:
                if target not in known:  # a HubConfigError (a ValueError) names the key for a caller to spell
                    raise HubConfigError(f"group {target!r} is not defined in groups (defined: {sorted(known)})",
                                         key=f"groups.{name}.instructorsOf", value=target)
        for index, profile in enumerate(self.profiles):
            for group in profile.groups:
                if group not in known:
                    raise HubConfigError(f"group {group!r} of profile {profile.slug!r} is not defined in groups "
                                         f"(defined: {sorted(known)})", key=f"profiles[{index}].groups", value=group)
        slugs = [p.slug for p in self.profiles]
        if len(set(slugs)) != len(slugs):
            raise ValueError(f"profiles: duplicate slugs in {slugs}")
        names = [s.name for s in self.services]
        if len(set(names)) != len(names):
            raise ValueError(f"services: duplicate names in {names}")
        return self

    def class_folders(self) -> tuple[str, str]:
        """``(classes_root, workspaces_root)``: ``classes.classesRoot`` / ``classes.workspacesRoot``, by
        default beside ``storage.groupsRoot`` as ``classes`` and ``workspaces`` (the one place that says so:
        the classes service, the spawners' mounts and ``PLATFORM_WORKSPACES_ROOT`` all use it).

        Examples
        --------
        >>> HubSettings.model_validate({"mode": "local", "storage": {"home": "/h/{username}",
        ...     "groupsRoot": "/srv/groups", "datasets": "/d", "scratch": "/s"}}).class_folders()
        ('/srv/classes', '/srv/workspaces')
        """
        parent = posixpath.dirname(self.storage.groups_root.rstrip("/"))
        return (self.classes.classes_root or posixpath.join(parent, "classes"),
                self.classes.workspaces_root or posixpath.join(parent, "workspaces"))
