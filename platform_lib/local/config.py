"""The local platform's configuration: one strict model, read from TOML, ``PLATFORM_*`` and overrides.

Owns :class:`LocalConfig` and :func:`load_config`. Precedence, lowest first: the model's defaults, the
TOML file (``astrohub.toml``), environment variables ``PLATFORM_<SECTION>__<KEY>`` (double underscore
between levels; ``PLATFORM_DATA_DIR`` for top-level keys), then ``--set key=value`` overrides. An
unknown key anywhere is a :class:`~platform_lib.local.errors.ConfigError` naming the key and the
closest valid one. Pure: reads only the file and the mapping it is given.

Who owns which ``PLATFORM_*`` variable (:func:`variable_owner`):

* this module: ``PLATFORM_CONFIG`` (the file), every name with ``__`` (a nested key), and the
  top-level keys (``PLATFORM_DATA_DIR``, ``PLATFORM_ENVIRONMENT``, ...);
* the notebook library, :class:`platform_lib.settings.PlatformSettings`: ``PLATFORM_<FIELD>`` for each
  of its fields (``PLATFORM_USER``, ``PLATFORM_HOME``, ``PLATFORM_GROUPS``, ...), which the hub sets in
  every user server and Dask worker. They are ignored here, so ``astrohub up`` also runs from a
  user's terminal. ``PLATFORM_GROUPS`` (the user's group names) is the library's; the ``groups``
  table is set with ``PLATFORM_GROUPS__<NAME>__<KEY>``.

Any other ``PLATFORM_*`` variable is a mistake (``PLATFORM_HUB_PORT`` for ``PLATFORM_HUB__PORT``) and
an error naming the variable and the closest valid one.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
import typing
from pathlib import Path
from typing import Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from platform_lib.local.errors import ConfigError, ConfigSyntaxError

__all__ = [
    "LocalConfig",
    "HubConfig",
    "AuthConfig",
    "GatewayConfig",
    "ArchiveConfig",
    "UsersConfig",
    "GroupConfig",
    "SampleDataConfig",
    "load_config",
    "load_data_dir",
    "locate_data_dir",
    "parse_override",
    "default_data_dir",
    "ENV_PREFIX",
    "CONFIG_VARIABLE",
    "library_variables",
    "variable_owner",
    "reference_markdown",
]

ENV_PREFIX = "PLATFORM_"
#: The variable naming the configuration file.
CONFIG_VARIABLE = "PLATFORM_CONFIG"
Port = int


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class HubConfig(_Strict):
    """Where the hub and its proxy listen. Only ``port`` is public; the others stay on ``ip``."""

    ip: str = Field("127.0.0.1", description="The address every component listens on.")
    port: Port = Field(8000, ge=1, le=65535, description="The public port (configurable-http-proxy); the URL users open.")
    hub_port: Port = Field(8081, ge=1, le=65535, description="The hub's internal API port.")
    proxy_api_port: Port = Field(8001, ge=1, le=65535, description="configurable-http-proxy's REST API port.")
    default_url: str = Field("/lab", description="Where users land after login (JupyterLab).")
    start_timeout: float = Field(60.0, gt=0, description="Seconds to wait for each component to become ready.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="The hub's log level.")


class AuthConfig(_Strict):
    """Who may log in: each person on the roster with their own password, plus an admin."""

    kind: Literal["roster", "shared-password", "native"] = Field(
        "roster",
        description="`roster` (people on the roster set their own password once with the class code), "
        "`shared-password` (one password signs in as anybody: demos only) or `native` (sign-up with admin approval).",
    )
    admin_user: str = Field("admin", description="The first admin's user name.")
    admin_password: str = Field(
        "", description="The admin's password (at least 32 characters). When empty, the one kept in "
        "`<data>/state/credentials.json`: the last configured, else generated on the first start."
    )
    user_password: str = Field(
        "",
        description="The class code (`roster`: lets a name on the roster set its own password once; "
        "`shared-password`: every user's password), at least 8 characters. When empty, the one kept in "
        "`<data>/state/class-code.json` (apart from the admin's), as for `admin_password`.",
    )


class GatewayConfig(_Strict):
    """The dask-gateway server, a hub service at ``/services/dask-gateway/``."""

    enabled: bool = Field(True, description="Start dask-gateway and export its address to user servers.")
    port: Port = Field(
        8786, ge=1, le=65535,
        description="The gateway proxy's port: HTTP (the hub proxy routes /services/dask-gateway/ to it) and Dask clients' scheduler traffic.",
    )
    no_client_timeout: float | None = Field(
        None, ge=0,
        description="Seconds after a Dask cluster's last client left (its notebook's kernel died or was restarted) and "
        "its last task ran that the gateway stops it; 0: never; unset: the hub settings' "
        "daskGateway.server.noClientTimeoutSeconds.",
    )
    cluster_sharing: bool | None = Field(
        None,
        description="Whether a Dask cluster's owner may share it with one of her hub groups (whose members may then "
        "connect to it and open its dashboard; only the owner and admins stop or scale it); false: every cluster is "
        "its owner's alone; unset: the hub settings' daskGateway.server.clusterSharing.",
    )
    sharing_recheck: float | None = Field(
        None, ge=0,
        description="Seconds after which the gateway asks the hub again whether a member may still reach a shared "
        "cluster (how soon one who left the group, or whose cluster's owner left it, loses the cluster and its "
        "dashboard, an open one too); 0: at every request; "
        "unset: the hub settings' daskGateway.server.sharingRecheckSeconds.",
    )


class ArchiveConfig(_Strict):
    """The archive service (``astrohub-archive``), registered as a hub service when installed."""

    enabled: bool = Field(True, description="Register the archive service when the `astrohub-archive` command is installed.")
    port: Port = Field(8003, ge=1, le=65535, description="The archive service's port (the hub proxy routes to it).")
    index: Path | None = Field(None, description="The image index SQLite file (default <data>/archive/images/index.sqlite; users see its released part in <data>/datasets/images).")
    data_root: Path | None = Field(None, description="The image tree the index refers to, proprietary files included (default <data>/archive/images, readable by the archive service only).")
    registry: Path | None = Field(
        None, description="The catalogue registry for cone search (default <data>/datasets/catalogs/registry.sqlite)."
    )
    mappings: list[Path] = Field(
        default_factory=list,
        description="Folders of your own instrument mappings (`*.json`, docs/archive.md \"A new instrument\"): "
        "the archive's index updates and the sample data's load read them besides the packaged ones.",
    )
    keep_replaced: float | None = Field(
        None,
        ge=0,
        description="Seconds a catalogue version that a replace superseded (an upgrade's rebuild of the sample data, "
        "an operator's `--replace`) stays in the registry for the queries still reading it; `astrohub up` and the "
        "sample data's load remove the versions replaced longer ago. Default: the library's (`platform_lib.catalogs.KEEP_REPLACED_S`, an hour). "
        "Below the longest query (an async TAP job may run 600 s) such a query can fail.",
    )
    group_recheck: float | None = Field(
        None, ge=0, allow_inf_nan=False,
        description="Seconds the archive keeps the hub's answers about a token (who it is) and a user's groups before "
        "asking again: how soon a revoked token (deleted at the hub, or its user's) stops working at the archive and "
        "a member removed from a group or workspace loses its proprietary images and shared HiPS; 0: asked at every "
        "request (the archive's --group-recheck-seconds; unset: the archive's default, 5).",
    )
    hub_down_grace: float | None = Field(
        None, ge=0, allow_inf_nan=False,
        description="Seconds the hub's last answer that a token is someone's still stands at the archive while the "
        "hub cannot be asked (down, restarting, hanging), so people keep their own and public data through a hub "
        "restart; a user's groups never do. Longer rides out a slower restart (a hub pod rescheduled) but keeps a "
        "token revoked just before the outage working that long; 0: none, a token whose kept answer is due then "
        "being answered 503 (the archive's --hub-down-grace-seconds; unset: the archive's default, 60).",
    )
    hips_rest_expiry: float | None = Field(
        None, ge=20, allow_inf_nan=False,
        description="Seconds a large table's HiPS sent in two parts waits for its deeper orders with no word from the "
        "kernel building them (it says it is alive every quarter of this); then its first part is removed, freeing "
        "its owner's room (the archive's --hips-rest-expiry, at least 20; unset: the archive's default, 600).",
    )


class ClassesConfig(_Strict):
    """The classes and workspaces service (``astrohub-classes``), a hub service at ``/services/astrohub-classes/``."""

    enabled: bool = Field(True, description="Run the classes and workspaces service (`astrohub classes`, `astrohub workspaces`).")
    port: Port = Field(8004, ge=1, le=65535, description="The classes service's port (the hub proxy routes to it).")
    max_workspaces_per_user: int | None = Field(
        None, ge=0,
        description="How many workspaces one person may own (made themselves or as an instructor's team workspaces); "
        "one more is refused, naming this setting; admins are not held to it; 0: no limit; unset: the hub settings' "
        "classes.maxWorkspacesPerUser.",
    )


class CullConfig(_Strict):
    """Activity-aware culling of idle user servers (jupyterhub-idle-culler, run as a hub service)."""

    enabled: bool = Field(True, description="Stop user servers idle for longer than `timeout` seconds; busy kernels, running Dask clusters and background jobs count as activity.")
    timeout: int = Field(3600, ge=10, description="Seconds without activity before a server is stopped.")
    every: int = Field(300, ge=1, description="Seconds between the culler's checks.")
    warning: int = Field(600, ge=0, description="Seconds before a cull that the user is warned (the server's log, event bus and /astrohub/activity).")
    activity_interval: float = Field(60.0, gt=0, description="Seconds between a server's reports of busy kernels, clusters and jobs (at most half of `timeout`).")


class PackagesConfig(_Strict):
    """Where ``pip install`` in a user's server finds packages the platform lacks (docs/environment.md)."""

    index: str | None = Field(
        None,
        description="A package index URL (http(s)://, a PyPI mirror such as devpi; an http:// one is also pip's "
        "trusted host) or the absolute path of a folder of wheels every user can read; \"https://pypi.org/simple\" "
        "on a machine with internet access. Unset (the default): no index, so pip fails at once, saying that the platform has no internet, instead of "
        "retrying PyPI.",
    )


class UsersConfig(_Strict):
    """How hub users map to processes."""

    system_user_prefix: str = Field(
        "astro-", description="When run as root, hub user NAME runs as system user <prefix>NAME."
    )
    run_as_system_users: bool | None = Field(
        None,
        description="Run each user's server and Dask workers as their own system user; default: when root. "
        "Without root everything runs as the invoking user (no isolation between users).",
    )
    create_system_users: bool = Field(True, description="Create missing system users with useradd (when root).")
    warm_kernels: int = Field(
        1,
        ge=0,
        description="Kernels each user server keeps started and idle, so a notebook's kernel is ready at once "
        "(the first starts with the server); each is one idle Python process. 0: none.",
    )


class SampleDataConfig(_Strict):
    """Real public data loaded on first start, so a fresh platform is never empty (docs/sample-data.md)."""

    enabled: bool = Field(
        True,
        description="Load the sample catalogues (Hipparcos, OpenNGC) and images into the datasets in the "
        "background at start; what is already loaded is skipped.",
    )


class ProfileConfig(_Strict):
    """A server profile (by slug in ``[profiles.<slug>]``): resources and environment; a class may pin it."""

    display_name: str = Field("", description="Shown on the spawn form (default: the slug).")
    description: str = Field("", description="Shown on the spawn form.")
    mem_limit: str | None = Field(None, description="Memory limit, e.g. \"2G\" (exported as MEM_LIMIT; local processes are not confined).")
    cpu_limit: float | None = Field(None, gt=0, description="CPU limit (exported as CPU_LIMIT).")
    mem_guarantee: str | None = Field(None, description="Memory guarantee (raised to the limit during a class's exam).")
    cpu_guarantee: float | None = Field(None, gt=0, description="CPU guarantee (raised to the limit during a class's exam).")
    environment: dict[str, str] = Field(default_factory=dict, description="Extra environment of servers with this profile.")
    groups: list[str] = Field(default_factory=list, description="Offered only to members of these groups (a class pins it for its members anyway).")
    default: bool = Field(False, description="The profile chosen when the user picks none.")


class GroupConfig(_Strict):
    """A hub group created at start-up (a class or a team)."""

    members: list[str] = Field(default_factory=list, description="Hub user names in the group.")
    instructors_of: list[str] = Field(
        default_factory=list, description="Groups whose servers this group's members may access."
    )
    description: str = Field("", description="Shown to admins.")


def default_data_dir() -> Path:
    """``/srv/astrohub`` when root (system users must traverse it), else ``~/.local/share/astrohub``."""
    if os.geteuid() == 0:
        return Path("/srv/astrohub")
    return Path.home() / ".local" / "share" / "astrohub"


class LocalConfig(_Strict):
    """Everything ``astrohub up`` needs. Keys are the TOML keys; sections are TOML tables."""

    data_dir: Path = Field(default_factory=default_data_dir, description="The data directory (homes, groups, datasets, scratch, state).")
    hub: HubConfig = Field(default_factory=HubConfig)
    auth: AuthConfig = Field(default_factory=AuthConfig)
    gateway: GatewayConfig = Field(default_factory=GatewayConfig)
    archive: ArchiveConfig = Field(default_factory=ArchiveConfig)
    classes: ClassesConfig = Field(default_factory=ClassesConfig)
    cull: CullConfig = Field(default_factory=CullConfig)
    packages: PackagesConfig = Field(default_factory=PackagesConfig)
    users: UsersConfig = Field(default_factory=UsersConfig)
    sample_data: SampleDataConfig = Field(default_factory=SampleDataConfig)
    groups: dict[str, GroupConfig] = Field(default_factory=dict, description="Groups created at start-up, by name.")
    profiles: dict[str, ProfileConfig] = Field(default_factory=dict, description="Server profiles by slug (`astrohub classes create --profile SLUG` pins one for a class).")
    environment: dict[str, str] = Field(default_factory=dict, description="Extra environment for every user server.")

    def ports(self) -> dict[str, int]:
        """The ports ``up`` binds, by dotted config key (only enabled components)."""
        ports = {
            "hub.port": self.hub.port,
            "hub.hub_port": self.hub.hub_port,
            "hub.proxy_api_port": self.hub.proxy_api_port,
        }
        if self.gateway.enabled:
            ports["gateway.port"] = self.gateway.port
        if self.archive.enabled:
            ports["archive.port"] = self.archive.port
        if self.classes.enabled:
            ports["classes.port"] = self.classes.port
        return ports


# --- unknown keys -----------------------------------------------------------------------------------


def _model_for(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    annotation = model.model_fields[name].annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _entry_model_for(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    """The model of each entry of a table of tables (``groups``, ``profiles``: ``dict[str, Model]``), else None."""
    annotation = model.model_fields[name].annotation
    if typing.get_origin(annotation) is dict:
        entry = typing.get_args(annotation)[1]
        if isinstance(entry, type) and issubclass(entry, BaseModel):
            return entry
    return None


def _check_keys(data: Mapping[str, Any], model: type[BaseModel], prefix: str, source: str) -> None:
    """Raise ConfigError for the first key that ``model`` does not have, with the closest valid key."""
    fields = list(model.model_fields)
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if key not in model.model_fields:
            close = difflib.get_close_matches(str(key), fields, n=1, cutoff=0.5)
            suggestion = f"{prefix}{close[0]}" if close else None
            hint = f"; did you mean '{suggestion}'?" if suggestion else f"; valid keys: {', '.join(prefix + f for f in fields)}"
            raise ConfigError(
                f"unknown configuration key '{dotted}'{_where(source)}{hint}",
                key=dotted,
                value=value,
                suggestion=suggestion,
                source=source,
            )
        sub = _model_for(model, key)
        if sub is not None:
            if not isinstance(value, Mapping):
                raise ConfigError(
                    f"configuration key '{dotted}'{_where(source)} must be a table of keys, not {value!r}",
                    key=dotted,
                    value=value,
                    source=source,
                )
            _check_keys(value, sub, f"{dotted}.", source)
        elif (entry := _entry_model_for(model, key)) is not None and isinstance(value, Mapping):
            for name, body in value.items():
                if isinstance(body, Mapping):
                    _check_keys(body, entry, f"{dotted}.{name}.", source)


def _where(source: str) -> str:
    return f" (from {source})" if source else ""


def _merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def _set_dotted(target: dict[str, Any], dotted: str, value: Any) -> None:
    parts = [p for p in dotted.split(".")]
    if not dotted or any(not p for p in parts):
        raise ConfigError(f"invalid configuration key '{dotted}'", key=dotted, value=value)
    node = target
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"configuration key '{dotted}' goes inside a value", key=dotted, value=value)
    node[parts[-1]] = value


def _parse_value(text: str) -> Any:
    """A TOML value (``8001``, ``true``, ``["a", "b"]``, ``"x"``) or, failing that, the bare string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_override(item: str) -> tuple[str, Any]:
    """Split ``key=value`` (from ``--set``) into the dotted key and a typed value.

    >>> parse_override("hub.port=8001")
    ('hub.port', 8001)
    """
    key, sep, value = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"override '{item}' must look like key=value (e.g. hub.port=8001)", key=key, value=item)
    return key, _parse_value(value.strip())


def library_variables() -> frozenset[str]:
    """The ``PLATFORM_*`` names owned by :class:`platform_lib.settings.PlatformSettings` (one per field)."""
    from platform_lib.settings import PlatformSettings

    return frozenset(ENV_PREFIX + name.upper() for name in PlatformSettings.model_fields)


def variable_owner(name: str) -> Literal["config", "library"] | None:
    """Who reads the environment variable ``name``: ``"config"``, ``"library"``, or ``None`` (nobody).

    Only ``PLATFORM_*`` names are asked about; the library's names win over a top-level key of the
    same name (``PLATFORM_GROUPS``).

    >>> variable_owner("PLATFORM_HUB__PORT"), variable_owner("PLATFORM_HOME"), variable_owner("PLATFORM_HUB_PORT")
    ('config', 'library', None)
    """
    if not name.startswith(ENV_PREFIX):
        return None
    if name == CONFIG_VARIABLE or "__" in name:
        return "config"
    if name in library_variables():
        return "library"
    if name[len(ENV_PREFIX):].lower() in LocalConfig.model_fields:
        return "config"
    return None


def _config_variables() -> dict[str, str]:
    """Every leaf configuration key as its variable: ``{"PLATFORM_HUB__PORT": "hub.port", ...}``."""
    out: dict[str, str] = {}

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name in model.model_fields:
            sub = _model_for(model, name)
            if sub is not None:
                walk(sub, f"{prefix}{name}.")
            elif name == "groups":
                walk(GroupConfig, f"{prefix}groups.<name>.")
            else:
                out[ENV_PREFIX + (prefix + name).replace(".", "__").upper()] = prefix + name

    walk(LocalConfig, "")
    return out


def _unknown_variable(name: str, raw: str) -> ConfigError:
    """The error for a ``PLATFORM_*`` variable nobody reads, naming the closest valid variable."""
    config_vars = _config_variables()
    library = sorted(library_variables())
    # Single underscores where levels need two: PLATFORM_HUB_PORT -> PLATFORM_HUB__PORT.
    flat = {var.replace("__", "_"): var for var in config_vars if "<NAME>" not in var}
    suggestion = flat.get(name)
    if suggestion is None:
        candidates = [*config_vars, *library, CONFIG_VARIABLE]
        close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.75)
        suggestion = close[0] if close else None
    if suggestion in config_vars:
        hint = f" (did you mean {suggestion}, configuration key '{config_vars[suggestion]}'?)"
    elif suggestion is not None:
        hint = f" (did you mean {suggestion}?)"
    else:
        hint = ""
    return ConfigError(
        f"unknown environment variable {name}{hint}: configuration keys are set with "
        "PLATFORM_<SECTION>__<KEY> (two underscores between levels, e.g. PLATFORM_HUB__PORT) or "
        f"PLATFORM_DATA_DIR, and the notebook library reads {', '.join(library)}; correct or unset {name}",
        key=name,
        value=raw,
        suggestion=suggestion,
        source=f"environment variable {name}",
    )


def _env_overrides(environ: Mapping[str, str]) -> list[tuple[str, Any, str]]:
    """``PLATFORM_HUB__PORT=8001`` -> ``('hub.port', 8001)``, for the variables this module owns.

    The library's variables (:func:`library_variables`) are skipped; any other ``PLATFORM_*`` name
    is a :class:`ConfigError` (see :func:`variable_owner`).
    """
    out = []
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or name == CONFIG_VARIABLE:
            continue
        owner = variable_owner(name)
        if owner == "library":
            continue
        if owner is None:
            raise _unknown_variable(name, raw)
        rest = name[len(ENV_PREFIX):].lower()
        out.append((rest.replace("__", "."), _parse_value(raw), name))
    return out


def _format_validation(exc: ValidationError, source: str) -> ConfigError:
    err = exc.errors()[0]
    key = ".".join(str(p) for p in err["loc"])
    return ConfigError(
        f"invalid value for configuration key '{key}'{_where(source)}: {err['msg']} (got {err.get('input')!r})",
        key=key,
        value=err.get("input"),
        source=source,
    )


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    overrides: list[str] | Mapping[str, Any] = (),
    environ: Mapping[str, str] | None = None,
) -> LocalConfig:
    """Build the validated :class:`LocalConfig` from a TOML file, the environment and overrides.

    Parameters
    ----------
    path
        A TOML file; ``None`` reads ``$PLATFORM_CONFIG`` or ``./astrohub.toml`` when they exist.
    overrides
        ``["hub.port=8001", ...]`` (as from ``--set``) or a mapping of dotted keys to values.
    environ
        The environment to read ``PLATFORM_*`` from (default ``os.environ``).

    Raises
    ------
    ConfigError
        An unknown key (naming the closest valid one), a value of the wrong type, or an unreadable file.

    Examples
    --------
    >>> load_config(overrides=["hub.port=9000"], environ={}).hub.port
    9000
    """
    environ = os.environ if environ is None else environ
    file, data = _read_file(path, environ)
    if file is not None:
        _check_keys(data, LocalConfig, "", str(file))
    layers: list[tuple[dict[str, Any], str]] = []
    for key, value, name in _env_overrides(environ):
        layer: dict[str, Any] = {}
        _set_dotted(layer, key, value)
        layers.append((layer, f"environment variable {name}"))
    items = overrides.items() if isinstance(overrides, Mapping) else (parse_override(o) for o in overrides)
    for key, value in items:
        layer = {}
        _set_dotted(layer, key, value)
        layers.append((layer, f"override {key}"))
    for layer, layer_source in layers:
        _check_keys(layer, LocalConfig, "", layer_source)
        data = _merge(data, layer)
    try:
        config = LocalConfig.model_validate(data)
    except ValidationError as exc:
        raise _format_validation(exc, "") from exc
    return config.model_copy(update={"data_dir": config.data_dir.expanduser().absolute()})


def _read_file(path: str | os.PathLike[str] | None, environ: Mapping[str, str]) -> tuple[Path | None, dict[str, Any]]:
    """The configuration file (``path``, else ``$PLATFORM_CONFIG``, else ``./astrohub.toml`` if there) and its
    unchecked keys, a relative ``data_dir`` made absolute against the file's folder; ``(None, {})`` without one."""
    if path is None:
        env_path = environ.get(CONFIG_VARIABLE)
        if env_path:
            path = env_path
        elif Path("astrohub.toml").is_file():
            path = "astrohub.toml"
    if path is None:
        return None, {}
    file = Path(path)
    try:
        text = file.read_text()
    except FileNotFoundError:
        raise ConfigError(f"configuration file {file} does not exist", key="config", value=str(file)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {file}: {exc}", key="config", value=str(file)) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(file, text, exc) from exc
    return file, _absolute_data_dir(file, data)


def _absolute_data_dir(file: Path, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with a relative ``data_dir`` made absolute against the folder of ``file``."""
    if "data_dir" in data and not Path(str(data["data_dir"])).expanduser().is_absolute():
        data["data_dir"] = str(file.resolve().parent / str(data["data_dir"]))
    return data


_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$|\s*\(at end of document\)$")


def _syntax_error(file: Path, text: str, exc: tomllib.TOMLDecodeError) -> ConfigSyntaxError:
    """The :class:`ConfigSyntaxError` for ``file``: its line number, the line itself and tomllib's reason."""
    message = str(exc)
    match = _TOML_POSITION.search(message)
    reason = message[: match.start()] if match else message
    line = column = None
    if match and match.group(1):
        line, column = int(match.group(1)), int(match.group(2))
    elif match:  # at end of document
        line = max(1, len(text.splitlines()))
    where = ""
    if line is not None:
        lines = text.splitlines()
        shown = lines[line - 1] if 0 < line <= len(lines) else ""
        where = f", line {line}" + (f", column {column}" if column else "") + (f" ({shown.strip()!r})" if shown.strip() else "")
    return ConfigSyntaxError(
        f"configuration file {file} is not valid TOML{where}: {reason}; correct that line (TOML: key = value, "
        "strings in double quotes, [section] headers)",
        path=str(file), line=line, column=column, reason=reason,
    )


def _salvage_data_dir(text: str) -> Any:
    """The top-level ``data_dir`` of a file that is not valid TOML, from its own line when that line parses."""
    for raw in text.splitlines():
        if raw.lstrip().startswith("["):
            return None  # tables begin: a top-level key comes before them
        if re.match(r"\s*data_dir\s*=", raw):
            try:
                return tomllib.loads(raw)["data_dir"]
            except tomllib.TOMLDecodeError:
                return None
    return None


def load_data_dir(
    path: str | os.PathLike[str] | None = None,
    *,
    overrides: list[str] | Mapping[str, Any] = (),
    environ: Mapping[str, str] | None = None,
) -> Path:
    """The data directory :func:`load_config` gives, reading only ``data_dir`` (same sources, same precedence).

    For ``astrohub down`` and ``status``, which need nothing else: a mistake elsewhere in astrohub.toml (made
    while changing the settings of a running platform, before restarting it) or in another ``PLATFORM_*``
    variable does not keep them from stopping or reporting the platform. A file that is not valid TOML gives the
    ``data_dir`` of its own top-level line when that line parses (else the environment's, the overrides' or the
    default, as :func:`locate_data_dir` says); a missing file still raises :class:`ConfigError`.
    """
    return locate_data_dir(path, overrides=overrides, environ=environ)[0]


def locate_data_dir(
    path: str | os.PathLike[str] | None = None,
    *,
    overrides: list[str] | Mapping[str, Any] = (),
    environ: Mapping[str, str] | None = None,
) -> tuple[Path, str]:
    """:func:`load_data_dir`'s data directory and where it came from (``"the file ..."``, ``"PLATFORM_DATA_DIR"``,
    ``"--set data_dir"``, ``"the default"``), for a warning that tells the operator which platform it acts on."""
    environ = os.environ if environ is None else environ
    try:
        file, data = _read_file(path, environ)
    except ConfigSyntaxError as exc:
        file = Path(exc.path)
        salvaged = _salvage_data_dir(file.read_text())
        data = {} if salvaged is None else _absolute_data_dir(file, {"data_dir": salvaged})
    value, source = data.get("data_dir"), f"the file {file}"
    if f"{ENV_PREFIX}DATA_DIR" in environ:
        value, source = _parse_value(environ[f"{ENV_PREFIX}DATA_DIR"]), f"{ENV_PREFIX}DATA_DIR"
    items = overrides.items() if isinstance(overrides, Mapping) else (parse_override(o) for o in overrides)
    for key, override in items:
        if key == "data_dir":
            value, source = override, "--data-dir / --set data_dir"
    if value is None:
        source = "the default"
    try:
        data_dir = default_data_dir() if value is None else LocalConfig.model_validate({"data_dir": value}).data_dir
    except ValidationError as exc:
        raise _format_validation(exc, "") from exc
    return data_dir.expanduser().absolute(), source


def reference_markdown() -> str:
    """The configuration reference as a Markdown table, generated from :class:`LocalConfig`.

    ``docs/local-platform.md`` embeds this table between ``<!-- config-reference -->`` markers; a
    unit test keeps the two identical.
    """
    rows = ["| key | type | default | description |", "| --- | --- | --- | --- |"]

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            sub = _model_for(model, name)
            if sub is not None:
                walk(sub, f"{prefix}{name}.")
                continue
            if name == "groups":
                walk(GroupConfig, f"{prefix}groups.<name>.")
                continue
            annotation = _type_name(info.annotation)
            if name == "data_dir":
                default = "`/srv/astrohub` as root, else `~/.local/share/astrohub`"
            elif info.default_factory is not None:
                default = f"`{json_default(info.default_factory())}`"
            else:
                default = f"`{json_default(info.default)}`"
            description = (info.description or "").replace("|", "\\|")
            rows.append(f"| `{prefix}{name}` | {annotation.replace('|', 'or')} | {default} | {description} |")

    walk(LocalConfig, "")
    return "\n".join(rows) + "\n"


def _type_name(annotation: Any) -> str:
    text = str(annotation)
    if "[" in text or "|" in text:
        return text.replace("typing.", "").replace("pathlib.", "")
    return getattr(annotation, "__name__", text)


def json_default(value: Any) -> str:
    import json

    if isinstance(value, Path):
        return str(value)
    return json.dumps(value)
