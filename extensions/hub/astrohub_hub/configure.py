"""``configure(c, settings)``: turn validated :class:`HubSettings` into JupyterHub traitlets.

Owns the parts common to both modes (authenticator, groups and RBAC roles, services, user
environment, default URL) and the pure builders behind them (:func:`build_roles`,
:func:`build_services`, :func:`build_groups`), which return plain data for tests. The
spawner-specific parts are delegated to ``local`` (local processes, system users, profiles) and
``kubernetes`` (KubeSpawner pods, written by the Helm side). May import JupyterHub's
traitlets-config conventions, this package, and ``nativeauthenticator`` by name only.

Usage, in a ``jupyterhub_config.py``::

    from astrohub_hub import configure
    configure(c, {"mode": "local", "storage": {...}, ...})   # a mapping or a HubSettings

Traits set here (the Kubernetes side should extend rather than replace them):
``JupyterHub.authenticator_class``, ``Authenticator.*``, ``JupyterHub.load_groups``,
``JupyterHub.load_roles``, ``JupyterHub.services`` (all three merged with what is already
configured, e.g. Zero to JupyterHub's ``hub.services``), ``Spawner.environment`` (callables, merged
into any existing dict; in Kubernetes mode ``KubeSpawner.environment`` too), ``Spawner.default_url``; in local mode also ``JupyterHub.spawner_class``,
``AstroLocalSpawner.*`` and ``Authenticator.username_pattern``. Called inside a starting hub, it
also has the hub freeze its start-up heap once running (:mod:`astrohub_hub.heap`), and serves JupyterHub's
server API routes with a handler whose ``PATCH`` refuses a body it cannot use with a 400, not JupyterHub 6.1.1's
500 (:mod:`astrohub_hub.server_patch`), and every REST route with one that refuses a body that is not UTF-8, not a
JSON object or nested too deep (:mod:`astrohub_hub.api_bodies`).
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any, Iterable, Mapping

from pydantic import ValidationError

from astrohub_hub.environment import environment_callables
from astrohub_hub.errors import HubConfigError, UsernameError
from astrohub_hub.heap import freeze_when_started
from astrohub_hub.accounts import system_username
from astrohub_hub.folders import unreachable_by_others
from astrohub_hub.local import AstroLocalSpawner, LocalSettings
from astrohub_hub.settings import HubSettings

__all__ = [
    "CULLER_SERVICE",
    "GROUPSYNC_SERVICE",
    "culler_command",
    "build_groups",
    "build_roles",
    "build_services",
    "configure",
    "merge_groups",
    "merge_roles",
    "merge_services",
    "validate_settings",
]

#: What dask-gateway's own token needs while cluster sharing is on: the owner of a shared cluster's groups, so that
#: a member is let in only while its owner is in the group too (``astrohub_hub.gateway_sharing.owner_in_group``).
GATEWAY_SCOPES = ["read:users:name", "read:users:groups"]
#: The hub service name of jupyterhub-idle-culler (local mode, ``cull.enabled``).
CULLER_SERVICE = "astrohub-culler"
#: What the culler needs (jupyterhub-idle-culler's documented scopes, no user deletion).
CULLER_SCOPES = ["list:users", "read:users:activity", "read:servers", "delete:servers"]
#: The hub service name of the group-workspace reconciler (local mode).
GROUPSYNC_SERVICE = "astrohub-groupsync"
#: What the group-workspace reconciler needs: the groups and their members.
GROUPSYNC_SCOPES = ["list:groups", "read:groups"]
#: Scopes an instructor group gets on each group it teaches (filtered ``!group=<students>``).
INSTRUCTOR_SCOPES = ["access:servers", "admin:servers", "read:users"]
#: The default ``server`` role (post activity, be reached), plus the user's own name and groups.
SERVER_SCOPES = ["users:activity!user", "access:servers!server", "read:users:name!user", "read:users:groups!user"]

_ROLE_CHARS = re.compile(r"[^a-z0-9\-_~.]")


def validate_settings(settings: HubSettings | Mapping[str, Any]) -> HubSettings:
    """Validate a mapping into :class:`HubSettings`; the error names every bad key.

    Raises
    ------
    HubConfigError
        With ``key`` the dotted path of the first bad key (``auth.adminPasword``) and a message
        listing each problem.
    """
    if isinstance(settings, HubSettings):
        return settings
    try:
        return HubSettings.model_validate(settings)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(part) for part in err["loc"]) or "(top level)"
            problems.append(f"{loc}: {err['msg']}")
        first = ".".join(str(part) for part in exc.errors()[0]["loc"]) or "(top level)"
        raise HubConfigError(
            "invalid hub settings:\n  " + "\n  ".join(problems), key=first, value=dict(settings)
        ) from exc


def _role_name(*parts: str) -> str:
    name = "-".join(_ROLE_CHARS.sub("-", part.lower()) for part in parts)
    return name.strip("-._~")


def _gateway_service(settings: HubSettings) -> dict[str, Any] | None:
    gateway = settings.dask_gateway
    if not (gateway.enabled and gateway.url and gateway.api_token):
        return None
    if any(s.name == gateway.service_name for s in settings.services):
        return None
    return {
        "name": gateway.service_name,
        "url": gateway.url,
        "api_token": gateway.api_token,
        "display": False,
        "oauth_no_confirm": True,
    }


def _gateway_api(settings: HubSettings) -> str:
    """The gateway's API as hub services reach it (its own address, not through the hub's proxy); "" when off."""
    service = _gateway_service(settings)
    if service is None:
        return ""
    return f"{service['url'].rstrip('/')}/services/{service['name']}"


def build_services(settings: HubSettings) -> list[dict[str, Any]]:
    """``JupyterHub.services``: the configured services, dask-gateway, and (local) group sync."""
    services: list[dict[str, Any]] = []
    for s in settings.services:
        entry: dict[str, Any] = {"name": s.name, "display": s.display}
        if s.url:  # OAuth exists only for services with a URL; JupyterHub refuses it otherwise
            entry["oauth_no_confirm"] = s.oauth_no_confirm
        for key in ("url", "api_token", "command"):
            value = getattr(s, key)
            if value is not None:
                entry[key] = value
        if s.environment:
            entry["environment"] = dict(s.environment)
        services.append(entry)
    gateway = _gateway_service(settings)
    if gateway is not None:
        services.append(gateway)
    classes = _classes_service(settings)
    if classes is not None and not any(s["name"] == classes["name"] for s in services):
        services.append(classes)
    if settings.mode == "local" and settings.cull.enabled:
        services.append({"name": CULLER_SERVICE, "command": culler_command(settings), "display": False})
    if settings.mode == "local" and settings.group_sync.enabled:
        accounts = (settings.local or LocalSettings()).accounts
        services.append(
            {
                "name": GROUPSYNC_SERVICE,
                "command": [sys.executable, "-m", "astrohub_hub.groupsync"],
                "display": False,
                "environment": {
                    "ASTROHUB_GROUPSYNC_ROOT": settings.storage.groups_root,
                    "ASTROHUB_GROUPSYNC_HOME": settings.storage.home,
                    "ASTROHUB_GROUPSYNC_INTERVAL": str(settings.group_sync.interval_seconds),
                    **accounts.environ("ASTROHUB_GROUPSYNC"),
                },
            }
        )
    return services


def culler_command(settings: HubSettings, python: str = sys.executable) -> list[str]:
    """jupyterhub-idle-culler's command for ``settings.cull`` (servers only; users are never deleted).

    Examples
    --------
    >>> s = HubSettings.model_validate({"mode": "local", "cull": {"enabled": True, "timeoutSeconds": 600,
    ...     "everySeconds": 60}, "storage": {"home": "/h", "groupsRoot": "/g", "datasets": "/d", "scratch": "/s"}})
    >>> culler_command(s, "python")
    ['python', '-m', 'jupyterhub_idle_culler', '--timeout=600', '--cull-every=60']
    """
    cull = settings.cull
    return [python, "-m", "jupyterhub_idle_culler", f"--timeout={cull.timeout_seconds}",
            f"--cull-every={cull.every_seconds}"]


def _classes_service(settings: HubSettings) -> dict[str, Any] | None:
    """The classes and workspaces service (local mode, when it has a URL and a token)."""
    classes = settings.classes
    if settings.mode != "local" or not (classes.url and classes.api_token):
        return None
    from astrohub_hub.classes_service import SERVICE_NAME

    accounts = (settings.local or LocalSettings()).accounts
    return {
        "name": SERVICE_NAME,
        "url": classes.url,
        "api_token": classes.api_token,
        "command": [sys.executable, "-m", "astrohub_hub.classes_service"],
        "display": True,
        "oauth_no_confirm": True,
        "environment": {
            "ASTROHUB_CLASSES_ROOT": settings.class_folders()[0],
            "ASTROHUB_WORKSPACES_ROOT": settings.class_folders()[1],
            "ASTROHUB_CLASSES_REGISTRY": classes.registry,
            "ASTROHUB_CLASSES_PROFILES": ",".join(p.slug for p in settings.profiles),
            "ASTROHUB_CLASSES_HOME": settings.storage.home,
            "ASTROHUB_CLASSES_LINKS": AstroLocalSpawner.classes_folder.default_value,  # its links, made at once
            "ASTROHUB_CLASSES_COURSE_LINKS": AstroLocalSpawner.grading_folder.default_value,  # gone with a class
            "ASTROHUB_GROUPS_ROOT": settings.storage.groups_root,
            "ASTROHUB_CLASSES_GATEWAY": _gateway_api(settings),
            "ASTROHUB_CLASSES_MAX_WORKSPACES": str(classes.max_workspaces_per_user),
            **accounts.environ("ASTROHUB_CLASSES"),
        },
    }


def build_roles(settings: HubSettings, registered: Iterable[str] = ()) -> list[dict[str, Any]]:
    """``JupyterHub.load_roles``: user/server access to services, instructors, service scopes.

    ``registered``: the services already configured (on Kubernetes, Zero to JupyterHub's ``hub.services``):
    the classes service among them (the chart's ``classes.enabled``) gets its scopes here, as locally.
    """
    reachable = [s["name"] for s in build_services(settings) if s.get("url")]
    access = [f"access:services!service={name}" for name in reachable]
    roles: list[dict[str, Any]] = [
        {"name": "user", "description": "Standard user privileges, plus the platform's services",
         "scopes": ["self", *access]},
        {"name": "server", "description": "User servers: activity, own name and groups, platform services",
         "scopes": [*SERVER_SCOPES, *access]},
    ]
    for group, spec in settings.groups.items():
        if not spec.instructors_of:
            continue
        scopes = [f"{scope}!group={target}" for target in spec.instructors_of for scope in INSTRUCTOR_SCOPES]
        roles.append(
            {
                "name": _role_name("instructors", group),
                "description": f"Members of {group} open the servers of {', '.join(spec.instructors_of)}",
                "scopes": scopes,
                "groups": [group],
            }
        )
    for s in settings.services:
        if s.scopes:
            roles.append({"name": _role_name("service", s.name), "description": f"Scopes of service {s.name}",
                          "scopes": list(s.scopes), "services": [s.name]})
    from astrohub_hub.classes_service import SERVICE_NAME, SERVICE_SCOPES

    if _classes_service(settings) is not None or SERVICE_NAME in registered:
        gateway = settings.dask_gateway.service_name  # to show each user their Dask clusters (gateway_usage)
        known = _gateway_service(settings) is not None or gateway in registered
        reach = [f"access:services!service={gateway}"] if settings.dask_gateway.enabled and known else []
        roles.append({"name": _role_name("service", SERVICE_NAME),
                      "description": "Checks users and keeps the classes' hub groups",
                      "scopes": [*SERVICE_SCOPES, *reach], "services": [SERVICE_NAME]})
    gateway = settings.dask_gateway
    if gateway.enabled and gateway.server.cluster_sharing and (
            _gateway_service(settings) is not None or gateway.service_name in registered):
        roles.append({"name": _role_name("service", gateway.service_name),
                      "description": "Reads users' groups: a shared Dask cluster's owner must still be in its group",
                      "scopes": list(GATEWAY_SCOPES), "services": [gateway.service_name]})
    if settings.mode == "local" and settings.cull.enabled:
        roles.append({"name": _role_name("service", CULLER_SERVICE),
                      "description": "Stops user servers idle for longer than cull.timeoutSeconds",
                      "scopes": list(CULLER_SCOPES), "services": [CULLER_SERVICE]})
    if settings.mode == "local" and settings.group_sync.enabled:
        roles.append({"name": _role_name("service", GROUPSYNC_SERVICE),
                      "description": "Reads groups and members to keep group folders in step",
                      "scopes": list(GROUPSYNC_SCOPES), "services": [GROUPSYNC_SERVICE]})
    return roles


def build_groups(settings: HubSettings) -> dict[str, dict[str, Any]]:
    """``JupyterHub.load_groups``: groups and initial members (adds; never removes members)."""
    return {
        name: {"users": list(spec.members), "properties": {"description": spec.description}}
        for name, spec in settings.groups.items()
    }


def _allow_listed_users(c, settings) -> None:
    """Who may sign in with a password authenticator: the configured, admin and group-listed users, plus
    users the hub already has (an admin adds them)."""
    auth = settings.auth
    members = {m for g in settings.groups.values() for m in g.members}
    c.Authenticator.allowed_users = (
        set(_existing(c.Authenticator, "allowed_users", set()))
        | set(auth.allowed_users)
        | set(auth.admin_users)
        | members
    )
    c.Authenticator.allow_existing_users = True
    c.Authenticator.allow_all = auth.allow_all


def _existing(section: Any, key: str, empty: Any) -> Any:
    """A value already in a config section (e.g. set by Zero to JupyterHub), or ``empty``."""
    return section[key] if key in section else empty


def merge_services(existing: list[dict[str, Any]], ours: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add our services to those already configured; for one name, keys already set win.

    Zero to JupyterHub registers ``hub.services`` (e.g. dask-gateway with its token from a
    secret) before ``hub.extraConfig`` calls :func:`configure`; those are kept.
    """
    merged = {s["name"]: dict(s) for s in existing}
    for service in ours:
        merged[service["name"]] = {**service, **merged.get(service["name"], {})}
    return list(merged.values())


def merge_roles(existing: list[dict[str, Any]], ours: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add our roles; a role defined on both sides gets the union of scopes and members."""
    merged = {r["name"]: dict(r) for r in existing}
    for role in ours:
        if role["name"] not in merged:
            merged[role["name"]] = dict(role)
            continue
        target = merged[role["name"]]
        for key in ("scopes", "users", "groups", "services"):
            if key in role or key in target:
                values = list(target.get(key, []))
                values += [v for v in role.get(key, []) if v not in values]
                target[key] = values
    return list(merged.values())


def merge_groups(existing: Mapping[str, Any], ours: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """Add our groups; a group defined on both sides gets the union of its initial members."""
    merged: dict[str, Any] = {}
    for name, spec in existing.items():
        merged[name] = {"users": list(spec)} if isinstance(spec, list) else dict(spec)
    for name, spec in ours.items():
        if name not in merged:
            merged[name] = dict(spec)
            continue
        users = list(merged[name].get("users", []))
        users += [u for u in spec.get("users", []) if u not in users]
        merged[name]["users"] = users
        merged[name].setdefault("properties", spec.get("properties", {}))
    return merged


def _configure_auth(c: Any, settings: HubSettings) -> None:
    auth = settings.auth
    c.Authenticator.admin_users = set(_existing(c.Authenticator, "admin_users", set())) | set(auth.admin_users)
    if auth.kind == "external":
        return  # an OAuth/OIDC authenticator configured by the chart's hub.config: each person is their own account
    if auth.kind == "roster":
        from astrohub_hub.auth import TEMPLATES, RosterAuthenticator

        c.JupyterHub.authenticator_class = RosterAuthenticator
        if auth.admin_password:
            c.RosterAuthenticator.admin_password = auth.admin_password
        if auth.shared_password:
            c.RosterAuthenticator.class_code = auth.shared_password
        c.RosterAuthenticator.password_file = auth.password_file
        _allow_listed_users(c, settings)
        existing = list(c.JupyterHub.template_paths) if "template_paths" in c.JupyterHub else []
        c.JupyterHub.template_paths = [TEMPLATES, *[p for p in existing if p != TEMPLATES]]
    elif auth.kind == "shared-password":
        c.JupyterHub.authenticator_class = "shared-password"
        if auth.admin_password:
            c.SharedPasswordAuthenticator.admin_password = auth.admin_password
        if auth.shared_password:
            c.SharedPasswordAuthenticator.user_password = auth.shared_password
        _allow_listed_users(c, settings)
    else:
        import os

        c.JupyterHub.authenticator_class = "nativeauthenticator.NativeAuthenticator"
        c.NativeAuthenticator.open_signup = False  # an admin approves each sign-up at /hub/authorize
        # NativeAuthenticator's own approval is the gate, so every approved user may log in.
        c.Authenticator.allow_all = True
        import nativeauthenticator

        templates = os.path.join(os.path.dirname(nativeauthenticator.__file__), "templates")
        existing = list(c.JupyterHub.template_paths) if "template_paths" in c.JupyterHub else []
        c.JupyterHub.template_paths = [*existing, templates]


def check_names(settings: HubSettings) -> None:
    """Refuse a configured user name (admin, allowed, group member) that cannot be a system user.

    Raises
    ------
    HubConfigError
        Naming the setting (``auth.adminUsers``) and the name.
    """
    prefix = (settings.local or LocalSettings()).accounts.prefix
    checks = [("auth.adminUsers", n) for n in settings.auth.admin_users]
    checks += [("auth.allowedUsers", n) for n in settings.auth.allowed_users]
    checks += [(f"groups.{g}.members", n) for g, spec in settings.groups.items() for n in spec.members]
    for key, name in checks:
        try:
            system_username(name, prefix)
        except UsernameError as exc:
            raise HubConfigError(str(exc), key=key, value=name, code="bad-username") from exc


def _configure_local(c: Any, settings: HubSettings) -> None:
    local = settings.local or LocalSettings()
    accounts = local.accounts
    check_names(settings)
    as_system = accounts.enabled
    if as_system:
        blocked = unreachable_by_others(sys.executable)
        if blocked:
            raise HubConfigError(
                f"user servers would run as system users, but they cannot reach this Python "
                f"({sys.executable}): {blocked} is not searchable by other users. Install Python "
                f"outside it, make it searchable (chmod o+x {blocked}), or set "
                "local.runAsSystemUsers: false (no isolation between users)",
                key="local.runAsSystemUsers",
                value=sys.executable,
                code="python-unreachable",
            )
    c.JupyterHub.spawner_class = AstroLocalSpawner
    c.AstroLocalSpawner.system_user_prefix = local.system_user_prefix
    c.AstroLocalSpawner.create_system_users = local.create_system_users
    c.AstroLocalSpawner.user_shell = local.shell
    c.AstroLocalSpawner.warm_kernels = local.warm_kernels
    c.AstroLocalSpawner.run_as_system_users = as_system
    c.AstroLocalSpawner.home_template = settings.storage.home
    c.AstroLocalSpawner.scratch_template = settings.storage.scratch
    c.AstroLocalSpawner.groups_root = settings.storage.groups_root
    if _classes_service(settings) is not None:  # a class's instructors get formgrader on its course folder
        c.AstroLocalSpawner.classes_root, c.AstroLocalSpawner.workspaces_root = settings.class_folders()
    c.AstroLocalSpawner.profiles = [p.model_dump() for p in settings.profiles]
    c.Authenticator.username_pattern = accounts.username_pattern()


def configure(c: Any, settings: HubSettings | Mapping[str, Any]) -> HubSettings:
    """Configure JupyterHub's traitlets config object ``c`` for astrohub.

    Parameters
    ----------
    c
        The ``traitlets.config.Config`` JupyterHub passes to ``jupyterhub_config.py``.
    settings
        A :class:`HubSettings`, or a mapping validated into one (the Helm chart passes
        ``custom.astrohub`` from its values).

    Returns
    -------
    HubSettings
        The validated settings that were applied.

    Raises
    ------
    HubConfigError
        Settings that do not validate (the error names the key), or names that cannot become
        system users in local mode.

    Examples
    --------
    >>> from traitlets.config import Config
    >>> c = Config()
    >>> s = configure(c, {"mode": "local", "storage": {"home": "/h/{username}",
    ...     "groupsRoot": "/g", "datasets": "/d", "scratch": "/s/{username}"}})
    >>> c.Spawner.default_url
    '/lab'
    """
    settings = validate_settings(settings)
    _configure_auth(c, settings)
    hub = c.JupyterHub
    hub.load_groups = merge_groups(_existing(hub, "load_groups", {}), build_groups(settings))
    registered = [s.get("name", "") for s in _existing(hub, "services", [])]
    hub.load_roles = merge_roles(_existing(hub, "load_roles", []), build_roles(settings, registered))
    hub.services = merge_services(_existing(hub, "services", []), build_services(settings))
    # Zero to JupyterHub sets KubeSpawner.environment / default_url itself, and a subclass's
    # section replaces Spawner's, so in Kubernetes mode the KubeSpawner section gets them too.
    sections = [c.Spawner] + ([c.KubeSpawner] if settings.mode == "kubernetes" else [])
    callables = environment_callables(settings)
    for section in sections:
        section.environment = {**_existing(section, "environment", {}), **callables}
        section.default_url = settings.default_url
    if settings.mode == "local":
        _configure_local(c, settings)
    else:
        try:
            from astrohub_hub.kubernetes import configure_kubernetes
        except ImportError as exc:
            raise HubConfigError(
                "mode 'kubernetes' needs astrohub_hub.kubernetes.configure_kubernetes, which this "
                "version of astrohub-hub does not provide; install the release matching the chart",
                key="mode",
                value=settings.mode,
                code="missing-kubernetes",
            ) from exc
        configure_kubernetes(c, settings)
    freeze_when_started()
    from astrohub_hub.api_bodies import use_checked_bodies
    from astrohub_hub.server_patch import use_checked_server_patch

    use_checked_server_patch()  # a bad body to PATCH .../server: JupyterHub 6.1.1's 500, now a 400 naming it
    use_checked_bodies()  # a body no REST route can read (not UTF-8, not an object, too deep): a 400 naming it
    return settings
