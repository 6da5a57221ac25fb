"""The library-side settings: one object, read from ``PLATFORM_*`` environment variables.

The hub (``astrohub_hub.configure``) sets these variables in every user server and Dask worker;
nothing else in ``platform_lib`` reads ``os.environ``. Code receives a :class:`PlatformSettings`
from :func:`get_settings` (or builds one explicitly in tests) and passes it down.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class PlatformSettings(BaseSettings):
    """Where the current user's spaces and the platform's services are.

    Every field can be set with an environment variable ``PLATFORM_<FIELD>`` (upper case).
    """

    model_config = SettingsConfigDict(env_prefix="PLATFORM_", extra="forbid", frozen=True)

    user: str = Field("", description="The hub user name of the person running this code.")
    groups: list[str] = Field(
        default_factory=list,
        description="The hub groups the user belongs to (comma-separated or JSON list in the environment).",
    )
    home: Path = Field(Path.home(), description="The user's home space (read-write, private).")
    groups_root: Path | None = Field(
        None, description="The folder holding one workspace folder per hub group."
    )
    workspaces_root: Path | None = Field(
        None, description="The folder holding one folder per shared analysis workspace (astrohub workspaces)."
    )
    datasets: Path | None = Field(
        None, description="The read-only archive datasets area, visible to every user."
    )
    scratch: Path | None = Field(None, description="The user's scratch space (large, not backed up).")
    catalog_registry: Path | None = Field(
        None,
        description="The SQLite catalogue registry (defaults to <datasets>/catalogs/registry.sqlite).",
    )
    hub_api_url: str = Field(
        "",
        validation_alias=AliasChoices("PLATFORM_HUB_API_URL", "JUPYTERHUB_API_URL"),
        description="The JupyterHub REST API URL.",
    )
    api_token: str = Field(
        "",
        validation_alias=AliasChoices("PLATFORM_API_TOKEN", "JUPYTERHUB_API_TOKEN"),
        description="The user's platform token, injected into requests to the platform's services.",
        repr=False,
    )
    archive_url: str = Field("", description="The archive service (SIA v2, cone search) base URL.")
    dask_gateway_url: str = Field("", description="The dask-gateway address for new clusters.")

    @property
    def registry_path(self) -> Path | None:
        """The catalogue registry file, derived from ``datasets`` when not set."""
        if self.catalog_registry is not None:
            return self.catalog_registry
        if self.datasets is not None:
            return self.datasets / "catalogs" / "registry.sqlite"
        return None


def get_settings(**overrides: object) -> PlatformSettings:
    """Read the settings from the environment, with explicit ``overrides`` taking precedence.

    Examples
    --------
    >>> from platform_lib import get_settings
    >>> get_settings(user="alice").user
    'alice'
    """
    return PlatformSettings(**overrides)
