"""Build-time smoke test of the hub image (also run by tests/helm in the test environment).

Imports JupyterHub, KubeSpawner and astrohub_hub, then runs ``configure`` for the Kubernetes mode on a
fresh traitlets ``Config``, as the chart's ``hub.extraConfig`` does, and checks the spawner settings
it produced. The dask-gateway API server runs from this image too (``dask-gateway.gateway.image``):
its Kubernetes backend and JupyterHub authenticator must import, and its command must be installed.
Exit status 0 means the hub package works in this image.
"""

from __future__ import annotations

import sys


def main() -> int:
    import jupyterhub
    import kubespawner
    from traitlets.config import Config

    from astrohub_hub import configure

    c = Config()
    configure(
        c,
        {
            "mode": "kubernetes",
            "auth": {"kind": "native", "adminUsers": ["admin"]},
            "storage": {"home": "/home/jovyan", "groupsRoot": "/home/jovyan/groups", "datasets": "/datasets",
                        "scratch": "/tmp/scratch"},
            "profiles": [{"slug": "small", "displayName": "Small", "cpuLimit": 1, "memLimit": "2G"}],
            "kubernetes": {"datasets": [{"name": "smoke", "persistentVolumeClaim": {"claimName": "smoke"}}]},
        },
    )
    assert c.JupyterHub.spawner_class == "kubespawner.KubeSpawner", c.JupyterHub.spawner_class
    assert callable(c.KubeSpawner.profile_list)

    import importlib.metadata

    import dask_gateway_server
    from dask_gateway_server.auth import JupyterHubAuthenticator  # noqa: F401 - what the gateway loads
    from dask_gateway_server.backends.kubernetes import KubeBackend  # noqa: F401

    scripts = {e.name for e in importlib.metadata.distribution("dask-gateway-server").entry_points}
    assert "dask-gateway-server" in scripts, scripts  # the chart's gateway command
    print(f"hub image OK: jupyterhub {jupyterhub.__version__}, kubespawner {kubespawner.__version__}, "
          f"dask-gateway-server {dask_gateway_server.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
