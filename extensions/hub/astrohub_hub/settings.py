"""The hub-side settings model: one strict schema whose keys match the Helm values ``custom.astrohub``.

Keys are snake_case in Python and camelCase in YAML (both accepted). Unknown keys are errors that
name the key. Mode-specific settings live beside their builders: ``local.LocalSettings`` and
``kubernetes.KubernetesSettings``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from astrohub_hub.kubernetes import KubernetesSettings
from astrohub_hub.local import LocalSettings


class Strict(BaseModel):
    """Base for every settings block: unknown keys are errors; camelCase or snake_case keys."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)


class AuthSettings(Strict):
    """Who may log in. ``shared-password`` suits a class; ``native`` adds sign-up with admin approval."""

    kind: Literal["shared-password", "native"] = "shared-password"
    admin_users: list[str] = Field(default_factory=lambda: ["admin"])
    shared_password: str | None = None
    admin_password: str | None = None


class Profile(Strict):
    """A resource profile offered at spawn time; ``groups`` restricts it (e.g. a class profile)."""

    slug: str
    display_name: str
    description: str = ""
    cpu_limit: float | None = None
    cpu_guarantee: float | None = None
    mem_limit: str | None = None
    mem_guarantee: str | None = None
    image: str | None = None
    groups: list[str] = Field(default_factory=list)
    default: bool = False


class GroupSettings(Strict):
    """A hub group created at start-up: a class or a team. ``instructors_of`` grants server access."""

    members: list[str] = Field(default_factory=list)
    instructors_of: list[str] = Field(default_factory=list)
    description: str = ""


class StorageSettings(Strict):
    """Where each space lives, as seen by user servers. ``{username}`` is expanded per user."""

    home: str
    groups_root: str
    datasets: str
    scratch: str


class ServiceSettings(Strict):
    """A platform service registered with the hub (dask-gateway, the archive service, ...)."""

    name: str
    url: str | None = None
    api_token: str | None = None
    command: list[str] | None = None
    environment: dict[str, str] = Field(default_factory=dict)
    scopes: list[str] = Field(default_factory=list)
    display: bool = True
    oauth_no_confirm: bool = True


class DaskGatewaySettings(Strict):
    """How user servers reach dask-gateway (set as ``DASK_GATEWAY__*`` in their environment)."""

    enabled: bool = True
    address: str = ""
    proxy_address: str = ""
    public_address: str = ""


class HubSettings(Strict):
    """Everything :func:`astrohub_hub.configure` needs; validated, with no defaults hiding errors."""

    mode: Literal["local", "kubernetes"]
    auth: AuthSettings = Field(default_factory=AuthSettings)
    profiles: list[Profile] = Field(default_factory=list)
    groups: dict[str, GroupSettings] = Field(default_factory=dict)
    storage: StorageSettings
    dask_gateway: DaskGatewaySettings = Field(default_factory=DaskGatewaySettings)
    services: list[ServiceSettings] = Field(default_factory=list)
    environment: dict[str, str] = Field(default_factory=dict)
    default_url: str = "/lab"
    local: LocalSettings | None = None
    kubernetes: KubernetesSettings | None = None
