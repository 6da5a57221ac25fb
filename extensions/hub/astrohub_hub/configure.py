"""``configure(c, settings)``: turn validated :class:`HubSettings` into JupyterHub traitlets.

Owns the parts common to both modes (authenticator, groups and RBAC, services, user environment,
profiles); the spawner-specific parts are delegated to ``local`` (local processes, system users) and
``kubernetes`` (KubeSpawner pods).
"""

from __future__ import annotations

from typing import Any, Mapping

from astrohub_hub.settings import HubSettings


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
    """
    if not isinstance(settings, HubSettings):
        settings = HubSettings.model_validate(settings)
    raise NotImplementedError("configure() is being written (foundation issue)")
