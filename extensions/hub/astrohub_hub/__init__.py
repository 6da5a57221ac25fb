"""astrohub's JupyterHub configuration, as code.

One public entry point, :func:`configure`, called from the local platform's generated
``jupyterhub_config.py`` and from the Helm chart's ``hub.extraConfig``. It may import JupyterHub and
(for the Kubernetes mode) KubeSpawner; it never imports ``platform_lib``, so the hub image stays
small.
"""

from astrohub_hub.configure import configure
from astrohub_hub.settings import HubSettings

__all__ = ["configure", "HubSettings"]
