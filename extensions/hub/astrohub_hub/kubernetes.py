"""Spawner configuration for Kubernetes: pure builders of KubeSpawner settings (profiles, volumes).

No cluster is contacted here; the builders return plain data so they are testable offline.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class KubernetesSettings(BaseModel):
    """Settings of the Kubernetes mode (dataset volumes, NFS home and group storage, images)."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)
