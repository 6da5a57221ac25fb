"""Every long-running pod of the release asks for what it needs: CPU and memory requests and a memory limit.

Our own containers are read from the rendered manifests; the subcharts' (the hub, its proxy, dask-gateway's
API server, controller and Traefik), whose upstream defaults set no resources, from the values a release
would use (the subcharts are stubs here, without templates).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("_helm_support", Path(__file__).with_name("_helm_support.py"))
hs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hs)

SUBCHART_PODS = [
    ("jupyterhub", "hub"), ("jupyterhub", "proxy", "chp"),
    ("dask-gateway", "gateway"), ("dask-gateway", "controller"), ("dask-gateway", "traefik"),
]


def sized(resources: dict | None) -> bool:
    resources = resources or {}
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    return {"cpu", "memory"} <= set(requests) and "memory" in limits


@pytest.mark.parametrize("name", list(hs.OVERLAYS))
def test_the_subcharts_core_pods_have_requests_and_a_memory_limit(chart, name: str) -> None:
    merged = hs.merged_values(chart, hs.overlay(name))
    unsized = []
    for path in SUBCHART_PODS:
        section = merged
        for key in path:
            section = section[key]
        if not sized(section.get("resources")):
            unsized.append(".".join(path))
    assert not unsized, f"{name}: no requests or memory limit for {unsized}"


def test_our_containers_have_requests_and_a_memory_limit(chart) -> None:
    objects = hs.manifests(hs.render(chart, hs.overlay("teaching-class")))
    unsized = []
    for obj in objects:
        pod = obj.get("spec", {}).get("template", {}).get("spec")
        for container in (pod or {}).get("containers", []) + (pod or {}).get("initContainers", []):
            if not sized(container.get("resources")):
                unsized.append(f"{obj['kind']}/{obj['metadata']['name']}:{container['name']}")
    assert any(obj["kind"] == "Deployment" for obj in objects)
    assert not unsized, unsized
