"""Spawner configuration for the local platform: user servers as local processes.

When the hub runs as root each hub user gets a dedicated system user (as The Littlest JupyterHub
does); otherwise servers run as the invoking user.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class LocalSettings(BaseModel):
    """Settings of the local spawner."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)

    system_user_prefix: str = "astro-"
