"""The URLs operators write in values reach the release's Services: a changed port or name elsewhere is a render error.

Subchart values cannot be templated, so ``jupyterhub.hub.services.*.url``, ``PLATFORM_ARCHIVE_URL``, the dask-gateway
addresses and the gateway's hub API URL are written out; ``astrohub.checkServiceUrl`` refuses one that no longer
matches the Service name and port the chart creates, naming the key and the value it should have.
"""

from __future__ import annotations

import copy
import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest

_spec = importlib.util.spec_from_file_location("_helm_support", Path(__file__).with_name("_helm_support.py"))
hs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hs)


def _set(values: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(values)
    node = out
    keys = dotted.split("|")
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value
    return out


CASES = [
    # (what the operator changed, the key the error must name, the value it should have)
    ({"archive|port": 9090}, "jupyterhub.hub.services.archive.url", "http://astrohub-archive:9090"),
    ({"archive|port": 9090, "jupyterhub|hub|services|archive|url": "http://astrohub-archive:9090"},
     "jupyterhub.custom.astrohub.environment.PLATFORM_ARCHIVE_URL", "http://astrohub-archive:9090/services/archive/"),
    ({"jupyterhub|custom|astrohub|environment|PLATFORM_ARCHIVE_URL": "http://astrohub-archive:8080/archive/"},
     "jupyterhub.custom.astrohub.environment.PLATFORM_ARCHIVE_URL", "http://astrohub-archive:8080/services/archive/"),
    ({"dask-gateway|fullnameOverride": "dg"}, "jupyterhub.hub.services.dask-gateway.url", "http://traefik-dg:80"),
    ({"jupyterhub|custom|astrohub|daskGateway|address": "http://traefik-astrohub-dask-gateway/gateway"},
     "jupyterhub.custom.astrohub.daskGateway.address", "http://traefik-astrohub-dask-gateway:80/services/dask-gateway/"),
    ({"jupyterhub|custom|astrohub|daskGateway|proxyAddress": "gateway://traefik-astrohub-dask-gateway:8786"},
     "jupyterhub.custom.astrohub.daskGateway.proxyAddress", "gateway://traefik-astrohub-dask-gateway:80"),
    ({"dask-gateway|gateway|auth|jupyterhub|apiUrl": "http://hub:8000/hub/api"},
     "dask-gateway.gateway.auth.jupyterhub.apiUrl", "http://hub:8081/hub/api/"),
]


@pytest.mark.parametrize("changes, key, want", CASES, ids=[c[1] + "-" + str(i) for i, c in enumerate(CASES)])
def test_a_url_that_misses_its_service_is_refused_naming_the_key(chart, changes, key, want) -> None:
    values: dict[str, Any] = {}
    for dotted, value in changes.items():
        values = _set(values, dotted, value)
    with pytest.raises(Exception, match=re.escape(key) + r": .* does not reach .*; set it to " + re.escape(f'"{want}"')):
        hs.render(chart, values)


def test_the_classes_service_url_follows_classes_port(chart) -> None:
    values = _set(hs.overlay("teaching-class"), "classes|port", 9000)
    with pytest.raises(Exception, match=r'jupyterhub\.hub\.services\.astrohub-classes\.url: "http://astrohub-classes:8080"'):
        hs.render(chart, values)
    values = _set(values, "jupyterhub|hub|services|astrohub-classes|url", "http://astrohub-classes:9000")
    assert hs.manifests(hs.render(chart, values))


def test_consistent_urls_in_other_spellings_render(chart) -> None:
    values = {}
    for dotted, value in {
        "archive|port": 9090,
        "jupyterhub|hub|services|archive|url": "http://astrohub-archive.astro.svc.cluster.local:9090/",
        "jupyterhub|custom|astrohub|environment|PLATFORM_ARCHIVE_URL": "http://astrohub-archive.astro:9090/services/archive/",
        "jupyterhub|custom|astrohub|daskGateway|address": "http://traefik-astrohub-dask-gateway:80/services/dask-gateway",
    }.items():
        values = _set(values, dotted, value)
    assert hs.manifests(hs.render(chart, values))
