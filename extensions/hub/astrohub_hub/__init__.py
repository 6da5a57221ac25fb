"""astrohub's JupyterHub configuration, as code.

Public entry points: :func:`configure` (called from the local platform's generated
``jupyterhub_config.py`` and from the Helm chart's ``hub.extraConfig``) and
:func:`configure_gateway` (``astrohub_hub.gateway``, called from the local platform's
``dask_gateway_config.py``); :func:`user_environment` is the pure builder of a user server's
environment. Modules: ``settings`` (the strict model), ``configure`` (common traits),
``environment``, ``accounts`` (system accounts: the prefix and the run-as-system-users rule),
``folders`` (homes and shared folders, ACL grant and revoke), ``local`` (the local spawner),
``groupsync`` (group folders service), ``people`` (callers and name checks), ``classes`` (classes,
assignments, exams), ``grading`` (nbgrader's steps; ``grading_jobs``: as Kubernetes Jobs),
``workspaces`` (shared workspaces), ``classes_service`` (their hub service),
``auth`` and ``credentials`` (per-user sign-in), ``gateway`` (dask-gateway server), ``kubernetes`` (KubeSpawner, Helm side), ``heap``
(the hub's start-up heap out of full garbage collections), ``atomic`` (atomic file writes), ``errors``.
It may import JupyterHub and (for the Kubernetes mode) KubeSpawner; it never imports
``platform_lib``, so the hub image stays small. Importing it has no side effects;
``astrohub_hub.gateway`` is not imported here (it needs dask-gateway-server).
"""

from astrohub_hub.configure import configure, validate_settings
from astrohub_hub.environment import user_environment
from astrohub_hub.errors import BackendError, HubConfigError, HubError, UsernameError
from astrohub_hub.accounts import SystemAccounts, system_username
from astrohub_hub.settings import HubSettings


def configure_gateway(c, settings):
    """Configure a dask-gateway server (see :func:`astrohub_hub.gateway.configure_gateway`)."""
    from astrohub_hub.gateway import configure_gateway as _configure_gateway

    return _configure_gateway(c, settings)


__all__ = [
    "BackendError",
    "HubConfigError",
    "HubError",
    "HubSettings",
    "SystemAccounts",
    "UsernameError",
    "configure",
    "configure_gateway",
    "system_username",
    "user_environment",
    "validate_settings",
]
