"""Unit tests of astrohub_hub.gateway: the dask-gateway server configuration and its backends."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from traitlets.config import Config

from astrohub_hub import HubConfigError
from astrohub_hub.gateway import (
    GIB,
    AstroLocalBackend,
    AstroUnsafeLocalBackend,
    LimitedLocalBackend,
    cluster_options,
    configure_gateway,
)
from astrohub_hub.configure import validate_settings


def settings(**server):
    return {
        "mode": "local",
        "storage": {"home": "/srv/home/{username}", "groupsRoot": "/srv/groups",
                    "datasets": "/srv/datasets", "scratch": "/srv/scratch/{username}"},
        "daskGateway": {"apiToken": "gw-token", "server": {"hubApiUrl": "http://127.0.0.1:8081/hub/api",
                                                           "proxyAddress": "127.0.0.1:8786", **server}},
        "local": {"systemUserPrefix": "ast-"},
    }


@pytest.fixture(autouse=True)
def python_reachable(monkeypatch):
    monkeypatch.setattr("astrohub_hub.gateway.unreachable_by_others", lambda path: None)


def test_jupyterhub_authentication():
    c = Config()
    configure_gateway(c, settings())
    assert c.DaskGateway.authenticator_class == "dask_gateway_server.auth.JupyterHubAuthenticator"
    assert c.JupyterHubAuthenticator.jupyterhub_api_url == "http://127.0.0.1:8081/hub/api"
    assert c.JupyterHubAuthenticator.jupyterhub_api_token == "gw-token"
    assert c.JupyterHubAuthenticator.jupyterhub_service_name == "dask-gateway"
    assert c.Proxy.address == c.Proxy.tcp_address == "127.0.0.1:8786"
    assert c.Proxy.prefix == "/services/dask-gateway"


def test_backend_choice_and_user_mapping():
    c = Config()
    configure_gateway(c, settings(backend="local"))
    assert c.DaskGateway.backend_class is AstroLocalBackend
    assert c.AstroLocalBackend.system_user_prefix == "ast-"
    assert c.AstroLocalBackend.home_template == "/srv/home/{username}"
    c = Config()
    configure_gateway(c, settings(backend="unsafe"))
    assert c.DaskGateway.backend_class is AstroUnsafeLocalBackend
    assert issubclass(AstroUnsafeLocalBackend, LimitedLocalBackend)


def test_local_backend_maps_hub_names_to_system_users():
    backend = AstroLocalBackend(system_user_prefix="ast-")
    assert backend.system_user("alice") == "ast-alice"
    with pytest.raises(ValueError, match="cannot be a system user"):
        backend.system_user("service:archive")


def test_limits_and_cluster_config():
    c = Config()
    configure_gateway(c, settings(maxClustersPerUser=3, idleTimeoutSeconds=600, workerMemoryGib=1.5,
                                  clusterMaxCores=6, clusterMaxMemoryGib=12, clusterMaxWorkers=5))
    assert c.LimitedLocalBackend.max_clusters_per_user == 3
    assert c.ClusterConfig.idle_timeout == 600
    assert c.ClusterConfig.worker_memory == int(1.5 * GIB)
    assert c.ClusterConfig.cluster_max_cores == 6
    assert c.ClusterConfig.cluster_max_memory == 12 * GIB
    assert c.ClusterConfig.cluster_max_workers == 5
    assert c.ClusterConfig.scheduler_cmd[1:] == ["-m", "distributed.cli.dask_scheduler"]
    assert c.LimitedLocalBackend.platform_environment["PLATFORM_HOME"] == "/srv/home/{username}"


def test_cluster_options_bounded():
    options = cluster_options(validate_settings(settings(workerCoresMax=2, workerMemoryGibMax=4)))
    user = SimpleNamespace(name="alice")
    parsed = options.parse_options({"worker_cores": 2, "worker_memory": 3})
    assert options.get_configuration(parsed, user) == {"worker_cores": 2, "worker_memory": 3 * GIB}
    assert options.get_configuration(options.parse_options({}), user) == {"worker_cores": 1, "worker_memory": 2 * GIB}
    with pytest.raises(ValueError, match="worker_cores"):
        options.parse_options({"worker_cores": 3})
    with pytest.raises(ValueError, match="worker_memory"):
        options.parse_options({"worker_memory": 5})
    with pytest.raises(ValueError, match="Unknown fields"):
        options.parse_options({"image": "evil"})


def test_root_backend_needs_reachable_python(monkeypatch):
    monkeypatch.setattr("astrohub_hub.gateway.unreachable_by_others", lambda path: "/root")
    with pytest.raises(HubConfigError) as info:
        configure_gateway(Config(), settings(backend="local"))
    assert info.value.key == "daskGateway.server.backend"
    configure_gateway(Config(), settings(backend="unsafe"))


def test_cluster_limit_per_user_is_a_public_error():
    import asyncio

    from dask_gateway_server.backends.base import PublicException

    backend = AstroUnsafeLocalBackend(max_clusters_per_user=2)
    backend.db = SimpleNamespace(list_clusters=lambda username: ["c1", "c2"])
    with pytest.raises(PublicException, match="already has 2 active clusters \\(the limit is 2\\)"):
        asyncio.run(backend.start_cluster(SimpleNamespace(name="alice"), {}))


def test_service_identities_cannot_start_local_clusters():
    import asyncio

    from dask_gateway_server.backends.base import PublicException

    backend = AstroLocalBackend(system_user_prefix="ast-")
    with pytest.raises(PublicException, match="cannot be a system user"):
        asyncio.run(backend.start_cluster(SimpleNamespace(name="service:archive"), {}))


def test_platform_environment_expanded_per_user():
    backend = AstroUnsafeLocalBackend(platform_environment={"PLATFORM_HOME": "/srv/home/{username}"})
    cluster = SimpleNamespace(username="alice", config=SimpleNamespace(environment={}), token="t", name="c")
    backend.api_url = "http://127.0.0.1:1/api"
    env = backend.get_env(cluster)
    assert env["PLATFORM_HOME"] == "/srv/home/alice"
    assert env["DASK_GATEWAY_CLUSTER_NAME"] == "c"
