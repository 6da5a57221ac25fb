"""Pure builders: the hub settings, the generated config files and the process specs of ``astrohub up``.

Owns :func:`hub_settings`, :func:`render_hub_config`, :func:`render_gateway_config` and
:func:`plan_components`. Nothing here starts a process or touches the disk, so it is unit-tested
without servers. The generated ``jupyterhub_config.py`` and ``dask_gateway_config.py`` only build a
``HubSettings`` and call ``astrohub_hub.configure`` / ``astrohub_hub.gateway.configure_gateway``;
every machine-specific hub setting (ports, database, cookie secret) is a command-line traitlet.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from platform_lib.local.config import LocalConfig
from platform_lib.local.errors import ConfigError
from platform_lib.local.layout import DataLayout
from platform_lib.local.state import TOKEN_NAMES, Credentials, PlatformState

__all__ = [
    "ComponentSpec",
    "hub_settings",
    "check_hub_settings",
    "render_hub_config",
    "render_gateway_config",
    "plan_components",
    "CLI_SERVICE",
    "CLI_SCOPES",
    "SKIPPED_HUB_IMPORTS",
    "PROXY_GUARD",
    "PROXY_MAX_HEADER_BYTES",
    "entry_point_command",
    "archive_paths",
    "sample_data_command",
    "tutorials_environment",
]

#: The service whose token ``astrohub`` (and the test fixture) uses to administer the hub.
CLI_SERVICE = "astrohub-cli"
CLI_SCOPES = [
    "admin:users",
    "admin:groups",
    "admin:servers",
    "tokens",
    "access:servers",
    "read:hub",
    "list:services",
    "read:services",
    "access:services",
    "read:roles",
    "proxy",
]


#: Modules the hub process does without: jsonschema imports ``rfc3987_syntax`` only for the ``iri``
#: formats, which none of JupyterHub's event schemas uses, and it compiles ~35 Earley grammars at
#: import (2 to 5 s of the hub's start here). The user servers skip it the same way
#: (``astrohub_hub.local.SKIPPED_SERVER_IMPORTS``).
SKIPPED_HUB_IMPORTS = ("rfc3987_syntax",)

#: configurable-http-proxy runs under this wrapper (``node PROXY_GUARD <chp> <options>``), which answers a
#: malformed percent-escape in a request's path 400 instead of the proxy's own 500 (see the file).
PROXY_GUARD = Path(__file__).with_name("proxy_guard.js")

#: The most bytes of a request's line and headers configurable-http-proxy reads (node's
#: ``--max-http-header-size``; node's default, 16 KiB, answered a longer URL 431 with no body, or reset the
#: connection, before the archive saw it): the archive's own read limit (``astrohub_archive.base.READ_HEADER_BYTES``),
#: so that the archive answers every URL up to it, a longer one than it takes (64 KiB) with its own 414 naming the
#: limit and saying to POST. The Helm chart's proxy sets the same (``jupyterhub.proxy.chp.extraEnv.NODE_OPTIONS``).
PROXY_MAX_HEADER_BYTES = 2**20


def entry_point_command(python: str, entry: str, argv0: str, skipped: tuple[str, ...] = ()) -> list[str]:
    """``python -c`` running ``entry`` (``module:function``) as the console script ``argv0``, with
    the modules in ``skipped`` hidden (importing them raises ``ImportError``).

    >>> entry_point_command("/v/bin/python", "jupyterhub.app:main", "jupyterhub", ("slow",))[2].splitlines()[1]
    "sys.modules['slow'] = None"
    """
    module, _, func = entry.partition(":")
    lines = ["import sys", *(f"sys.modules[{name!r}] = None" for name in skipped)]
    lines += [f"from {module} import {func}", f"sys.argv[0] = {argv0!r}", f"sys.exit({func}())"]
    return [python, "-c", "\n".join(lines)]


@dataclass(frozen=True)
class ComponentSpec:
    """One process ``astrohub up`` starts: its command, environment additions and readiness URL."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    health_url: str = ""
    url: str = ""
    #: ``(ip, port)`` the process itself listens on, when ``health_url`` goes through the proxy: readiness polls
    #: ``health_url`` only once this port accepts connections, so that the proxy does not log a refused
    #: connection (503) for every poll while the component starts.
    listens_on: tuple[str, int] | None = None


def archive_paths(config: LocalConfig, layout: DataLayout) -> tuple[Path, Path, Path]:
    """The archive's ``(index, image tree, catalogue registry)``: the settings, else the defaults.

    The image tree and its index (proprietary files too) are the archive's alone, under
    ``<data>/archive/images``; users see the released part the supervisor publishes to
    ``<data>/datasets/images``. The catalogue registry is in ``<data>/datasets/catalogs``.
    """
    archive = config.archive
    images = archive.data_root or layout.archive_images
    return (archive.index or layout.archive_images / "index.sqlite", images,
            archive.registry or layout.datasets / "catalogs" / "registry.sqlite")


def sample_data_command(config: LocalConfig, layout: DataLayout, python: str) -> list[str] | None:
    """The background command that loads the sample data (``platform_lib.sampledata``), or None when off."""
    if not config.sample_data.enabled:
        return None
    index, images, registry = archive_paths(config, layout)
    argv = [python, "-m", "platform_lib.sampledata", str(layout.datasets), "--registry", str(registry),
            "--images", str(images), "--index", str(index)]
    if config.archive.keep_replaced is not None:
        argv += ["--keep-replaced", str(config.archive.keep_replaced)]
    return argv + _mapping_flags(config)


def _mapping_flags(config: LocalConfig) -> list[str]:
    """``--mappings DIR`` for each of ``archive.mappings``: the archive and the sample data's load index with them."""
    return [arg for folder in config.archive.mappings for arg in ("--mappings", str(folder))]


def tutorials_environment() -> dict[str, str]:
    """``ASTROHUB_TUTORIALS`` and ``ASTROHUB_GUIDES``: the checkout's ``examples/`` and ``docs/``, which every user
    server copies into its home (``tutorials/`` and ``tutorials/guides/``)."""
    root = Path(__file__).resolve().parents[2]
    folders = {"ASTROHUB_TUTORIALS": root / "examples", "ASTROHUB_GUIDES": root / "docs"}
    return {name: str(folder) for name, folder in folders.items() if folder.is_dir()}


def public_url(config: LocalConfig) -> str:
    """The URL users open (the proxy), with a trailing slash."""
    return f"http://{config.hub.ip}:{config.hub.port}/"


def hub_settings(
    config: LocalConfig,
    layout: DataLayout,
    credentials: Credentials,
    tokens: dict[str, str],
    *,
    archive_command: list[str] | None = None,
) -> dict[str, Any]:
    """The ``HubSettings`` mapping (snake_case keys) for ``astrohub_hub.configure``.

    ``archive_command`` is the archive service's command when it is installed and enabled; the
    service is then registered with the hub (URL and token). The supervisor, not the hub, runs it
    (:func:`plan_components`), so it keeps answering while the hub is down or restarting.
    """
    ip = config.hub.ip
    services: list[dict[str, Any]] = [
        {"name": CLI_SERVICE, "api_token": tokens["cli"], "scopes": list(CLI_SCOPES), "display": False}
    ]
    if archive_command:
        services.append(
            {
                "name": "archive",
                "url": f"http://{ip}:{config.archive.port}",
                "api_token": tokens["archive"],
                "scopes": ["read:users:groups"],
            }
        )
    gateway: dict[str, Any] = {"enabled": config.gateway.enabled}
    if config.gateway.enabled:
        gateway.update(
            address=f"{public_url(config)}services/dask-gateway",
            proxy_address=f"gateway://{ip}:{config.gateway.port}",
            public_address=f"{public_url(config)}services/dask-gateway",
            url=f"http://{ip}:{config.gateway.port}",
            api_token=tokens["gateway"],
            server={
                "address": f"{ip}:0",
                "proxy_address": f"{ip}:{config.gateway.port}",
                "hub_api_url": f"http://{ip}:{config.hub.hub_port}/hub/api",
                # Not in /tmp, where the names of everyone's clusters could be listed (0711, root's).
                "clusters_directory": str(layout.clusters),
                # On disk, so a restarted gateway keeps the running clusters.
                "db_path": str(layout.state / "dask_gateway.sqlite"),
                # Dask workers run as the same users as the servers.
                "backend": {None: "auto", True: "local", False: "unsafe"}[config.users.run_as_system_users],
            },
        )
        if config.gateway.no_client_timeout is not None:
            gateway["server"]["no_client_timeout_seconds"] = config.gateway.no_client_timeout
        if config.gateway.cluster_sharing is not None:
            gateway["server"]["cluster_sharing"] = config.gateway.cluster_sharing
        if config.gateway.sharing_recheck is not None:
            gateway["server"]["sharing_recheck_seconds"] = config.gateway.sharing_recheck
    admins = [credentials.admin_user]
    return {
        "mode": "local",
        "auth": {
            "kind": config.auth.kind,
            "admin_users": admins,
            "admin_password": credentials.admin_password,
            "shared_password": credentials.user_password,
            "password_file": str(layout.state / "passwords.sqlite"),
        },
        "groups": {
            name: group.model_dump() for name, group in config.groups.items()
        },
        "profiles": [
            {"slug": slug, **profile.model_dump(exclude_none=True), "display_name": profile.display_name or slug}
            for slug, profile in config.profiles.items()
        ],
        "storage": {
            "home": str(layout.home_root / "{username}"),
            "groups_root": str(layout.groups_root),
            "datasets": str(layout.datasets),
            "scratch": str(layout.scratch_root / "{username}"),
        },
        "dask_gateway": gateway,
        "classes": {
            "url": f"http://{ip}:{config.classes.port}" if config.classes.enabled else None,
            "api_token": tokens.get("classes") if config.classes.enabled else None,
            "registry": str(layout.state / "classes.sqlite"),
            **({} if config.classes.max_workspaces_per_user is None
               else {"max_workspaces_per_user": config.classes.max_workspaces_per_user}),
        },
        "cull": {
            "enabled": config.cull.enabled, "timeout_seconds": config.cull.timeout,
            "every_seconds": config.cull.every, "warning_seconds": config.cull.warning,
            "activity_interval_seconds": config.cull.activity_interval,
        },
        "packages": {"index": config.packages.index},
        "services": services,
        "environment": {**tutorials_environment(), **config.environment},
        "default_url": config.hub.default_url,
        "local": {
            "system_user_prefix": config.users.system_user_prefix,
            "run_as_system_users": config.users.run_as_system_users,
            "create_system_users": config.users.create_system_users,
            "warm_kernels": config.users.warm_kernels,
        },
    }


_HEADER = '"""Generated by `astrohub up` from astrohub.toml; edits are overwritten on the next start."""\n\n'


def _settings_literal(settings: dict[str, Any]) -> str:
    return json.dumps(settings, indent=2, sort_keys=True)


#: ``HubSettings`` keys (in snake_case) that ``astrohub.toml`` names otherwise.
_LOCAL_KEYS = {"auth.shared_password": "auth.user_password", "auth.admin_users": "auth.admin_user"}


def _toml_key(key: str, config: LocalConfig) -> str:
    """The ``astrohub.toml`` key of a ``HubSettings`` key as the hub names it (the Helm values' spelling):
    ``groups.t.instructorsOf`` is ``groups.t.instructors_of``, ``profiles[0].groups`` ``profiles.<slug>.groups``,
    ``auth.sharedPassword`` ``auth.user_password``; a group's or profile's own name is kept as written."""
    key = re.sub(r"^profiles\[(\d+)\]", lambda m: "profiles." + list(config.profiles)[int(m.group(1))], key)
    parts = key.split(".")
    snake = [part if index == 1 and parts[0] in ("groups", "profiles")
             else re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", part).lower() for index, part in enumerate(parts)]
    head = ".".join(snake[:2])
    return ".".join([_LOCAL_KEYS.get(head, head), *snake[2:]])


def check_hub_settings(config: LocalConfig, layout: DataLayout) -> None:
    """Validate what the hub will be configured with, before anything starts.

    ``astrohub.toml`` passes values on that only ``HubSettings`` judges (a group name that cannot name a folder,
    an admin password under 32 characters, a profile offered to a group not defined, an admin name that cannot be
    a system user): without this check the hub process failed at start with a traceback. The passwords judged are
    those ``up`` will use: configured, else kept in ``credentials.json``; placeholders stand in for those not yet
    generated and for the tokens.

    Raises
    ------
    ConfigError
        Naming the ``astrohub.toml`` key and the hub's reason (and the credentials file, for a kept password).
    """
    from astrohub_hub import HubConfigError, HubSettings
    from astrohub_hub.configure import check_names
    from pydantic import ValidationError

    stored = PlatformState(layout).stored_credentials()  # what `up` uses where astrohub.toml sets none
    credentials = Credentials(config.auth.admin_user,
                              config.auth.admin_password or stored.get("admin_password") or "x" * 32,
                              config.auth.user_password or stored.get("user_password") or "x" * 8)
    tokens = {name: "t" * 64 for name in TOKEN_NAMES}
    try:
        check_names(HubSettings.model_validate(hub_settings(config, layout, credentials, tokens)))
    except HubConfigError as exc:  # a name that cannot be a system user: the hub refused it at start
        key = _toml_key(exc.key, config)
        raise ConfigError(f"invalid value for configuration key '{key}': {exc.message.removeprefix(exc.key + ': ')}",
                          key=key, value=exc.value) from exc
    except ValidationError as exc:
        error = exc.errors()[0]
        hub = error.get("ctx", {}).get("error")
        if isinstance(hub, HubConfigError):  # a check across keys (a group named but not defined): it names the key
            key = _toml_key(hub.key, config)
            raise ConfigError(f"invalid value for configuration key '{key}': "
                              f"{hub.message.removeprefix(hub.key + ': ')}", key=key, value=hub.value) from exc
        loc = [list(config.profiles)[part] if index == 1 and error["loc"][0] == "profiles" and isinstance(part, int)
               else str(part) for index, part in enumerate(error["loc"])]
        key = _toml_key(".".join(loc), config) if loc else ""
        reason = error["msg"].removeprefix("Value error, ")
        if key in ("auth.admin_password", "auth.user_password") and not getattr(config.auth, key[5:]):
            # kept from an earlier astrohub.toml (older versions stored it unchecked): the hub failed with a traceback
            kept = PlatformState(layout).kept_in(key[5:])
            raise ConfigError(
                f"the {key[5:]} kept in {kept} is invalid: {reason}; set '{key}' in "
                f"astrohub.toml, or delete {kept} to have a new one generated", key=key) from exc
        raise ConfigError(
            f"invalid value for configuration key '{key}': {reason}" if key
            else f"invalid configuration: {reason}", key=key, value=error.get("input")) from exc


def render_hub_config(settings: dict[str, Any]) -> str:
    """The text of ``jupyterhub_config.py``: build ``HubSettings`` and call ``configure``."""
    return (
        _HEADER
        + "from astrohub_hub import HubSettings, configure\n\n"
        + f"configure(c, HubSettings.model_validate_json(r'''{_settings_literal(settings)}'''))\n"
    )


def render_gateway_config(settings: dict[str, Any]) -> str:
    """The text of ``dask_gateway_config.py``: build ``HubSettings`` and call ``configure_gateway``."""
    return (
        _HEADER
        + "from astrohub_hub import HubSettings\n"
        + "from astrohub_hub.gateway import configure_gateway\n\n"
        + f"configure_gateway(c, HubSettings.model_validate_json(r'''{_settings_literal(settings)}'''))\n"
    )


def plan_components(
    config: LocalConfig,
    layout: DataLayout,
    tokens: dict[str, str],
    *,
    proxy_command: str,
    bin_dir: Path,
    python: str | None = None,
    archive_command: list[str] | None = None,
    proxy_uid: int | None = None,
) -> list[ComponentSpec]:
    """The processes to start, in start order: proxy, hub, then (when enabled) dask-gateway and the archive.

    ``python`` runs the hub (default ``<bin_dir>/python``), as ``jupyterhub`` without the modules
    in :data:`SKIPPED_HUB_IMPORTS`. ``archive_command`` (when installed and enabled) runs the
    archive service with the hub's service environment; ``proxy_uid`` is the user the proxy runs
    as, the archive's ``--trusted-proxy`` (the only caller whose ``X-Forwarded-Host`` it believes:
    on 127.0.0.1 an address cannot tell the proxy from a user's process, its owner can).
    """
    python = python or str(bin_dir / "python")
    ip = config.hub.ip
    hub = config.hub
    hub_api = f"http://{ip}:{hub.hub_port}/hub/api"
    specs = [
        ComponentSpec(
            name="proxy",
            argv=[
                "node", f"--max-http-header-size={PROXY_MAX_HEADER_BYTES}", str(PROXY_GUARD), proxy_command,
                "--ip", ip,
                "--port", str(hub.port),
                "--api-ip", ip,
                "--api-port", str(hub.proxy_api_port),
                "--default-target", f"http://{ip}:{hub.hub_port}",
                "--error-target", f"http://{ip}:{hub.hub_port}/hub/error",
                "--log-level", "warn",
            ],
            env={"CONFIGPROXY_AUTH_TOKEN": tokens["proxy"]},
            health_url=f"http://{ip}:{hub.proxy_api_port}/api/routes",
            url=f"http://{ip}:{hub.proxy_api_port}",
        ),
        ComponentSpec(
            name="hub",
            argv=[
                *entry_point_command(python, "jupyterhub.app:main", "jupyterhub", SKIPPED_HUB_IMPORTS),
                "-f", str(layout.hub_config),
                f"--JupyterHub.bind_url=http://{ip}:{hub.port}",
                f"--JupyterHub.hub_ip={ip}",
                f"--JupyterHub.hub_port={hub.hub_port}",
                f"--JupyterHub.db_url=sqlite:///{layout.hub_db}",
                f"--JupyterHub.cookie_secret_file={layout.cookie_secret_file}",
                f"--JupyterHub.pid_file={layout.state / 'jupyterhub.pid'}",
                "--JupyterHub.cleanup_servers=True",
                "--ConfigurableHTTPProxy.should_start=False",
                f"--ConfigurableHTTPProxy.api_url=http://{ip}:{hub.proxy_api_port}",
                f"--JupyterHub.log_level={hub.log_level}",
            ],
            env={"CONFIGPROXY_AUTH_TOKEN": tokens["proxy"]},
            cwd=str(layout.state),
            health_url=f"{public_url(config)}hub/api/",
            url=public_url(config),
            listens_on=(ip, hub.hub_port),
        ),
    ]
    if config.gateway.enabled:
        specs.append(
            ComponentSpec(
                name="dask-gateway",
                # The hub proxy forwards /services/dask-gateway/... unchanged, so the gateway serves there.
                argv=[
                    str(bin_dir / "dask-gateway-server"),
                    "-f", str(layout.gateway_config),
                    "--Proxy.prefix=/services/dask-gateway",
                ],
                env={"JUPYTERHUB_API_TOKEN": tokens["gateway"], "JUPYTERHUB_API_URL": hub_api},
                cwd=str(layout.state),
                health_url=f"{public_url(config)}services/dask-gateway/api/health",
                url=f"{public_url(config)}services/dask-gateway/",
                listens_on=(ip, config.gateway.port),
            )
        )
    if archive_command:
        index, images, registry = archive_paths(config, layout)
        prefix = "/services/archive/"
        argv = [*archive_command, "--index", str(index), "--data-root", str(images), "--registry", str(registry),
                *_mapping_flags(config)]
        if proxy_uid is not None:
            argv += ["--trusted-proxy", f"uid:{proxy_uid}"]
        if config.sample_data.enabled:  # errors about data not there yet say when its first load is running
            argv += ["--sample-data", str(layout.datasets)]
        if config.archive.group_recheck is not None:
            argv += ["--group-recheck-seconds", f"{config.archive.group_recheck:g}"]
        if config.archive.hub_down_grace is not None:
            argv += ["--hub-down-grace-seconds", f"{config.archive.hub_down_grace:g}"]
        if config.archive.hips_rest_expiry is not None:
            argv += ["--hips-rest-expiry", f"{config.archive.hips_rest_expiry:g}"]
        specs.append(
            ComponentSpec(
                name="archive",
                argv=argv,
                # What JupyterHub gives a service it starts; the archive checks users' tokens with it.
                env={
                    "JUPYTERHUB_SERVICE_NAME": "archive",
                    "JUPYTERHUB_SERVICE_URL": f"http://{ip}:{config.archive.port}",
                    "JUPYTERHUB_SERVICE_PREFIX": prefix,
                    "JUPYTERHUB_API_TOKEN": tokens["archive"],
                    "JUPYTERHUB_API_URL": hub_api,
                    "JUPYTERHUB_BASE_URL": "/",
                    # Its own writable numba cache, seeded from the install's compiled kernel at start
                    # (platform_lib.crossmatch.seed_cache), so positional joins need no compile.
                    "NUMBA_CACHE_DIR": str(layout.state / "archive-numba-cache"),
                },
                cwd=str(layout.state),
                health_url=f"http://{ip}:{config.archive.port}{prefix}sia/availability",
                url=f"{public_url(config)}services/archive/",
            )
        )
    return specs
