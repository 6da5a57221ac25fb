"""Shared helpers of the helm tier (imported by path from the test_helm_* modules): the offline chart.

The chart is built and rendered offline as ``astrohub chart render`` does (:mod:`platform_lib.offlinechart`): a
temporary copy of ``helm/astrohub`` whose ``charts/`` holds stub subcharts made from the upstream values and
schemas in ``helm/upstream`` (no templates: Helm still validates every subchart section against its schema,
exactly as with the published charts), rendered with helm-python-sdk (Helm 4, no cluster). Pure helpers only; no
fixtures here.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import helm_python
import yaml

from platform_lib import offlinechart

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "astrohub"
EXAMPLES = REPO / "helm" / "examples"
SCHEMAS = REPO / "helm" / "upstream"
RELEASE = "astrohub"
NAMESPACE = "astro"
KUBE_VERSIONS = ("1.30.0", "1.33.0")
OVERLAYS = {"default": None, **{p.stem: p for p in sorted(EXAMPLES.glob("*.yaml"))}}


def subcharts() -> list[tuple[str, str]]:
    """(name, version) of each dependency in Chart.yaml."""
    return [(d.name, d.version) for d in offlinechart.dependencies(CHART)]


def build_chart(destination: Path) -> Path:
    """A copy of the chart with stub subcharts from the upstream schema files (even where ``helm dependency build``
    left the published ones in ``charts/``); returns its path."""
    return offlinechart.build_chart(destination, CHART, SCHEMAS, published=False)


def overlay(name: str) -> dict[str, Any]:
    """The values of one overlay in helm/examples ({} for the chart defaults)."""
    path = OVERLAYS[name]
    return {} if path is None else yaml.safe_load(path.read_text())


def render(chart: helm_python.Chart, values: dict[str, Any], kube_version: str = KUBE_VERSIONS[-1],
           release: str = RELEASE) -> dict[str, str]:
    """Render offline for a Kubernetes version (as ``helm template --kube-version``)."""
    return offlinechart.render(chart, values, kube_version=kube_version, release=release, namespace=NAMESPACE)


def manifests(rendered: dict[str, str]) -> list[dict[str, Any]]:
    """Every Kubernetes object of a render (NOTES.txt and empty documents left out)."""
    objects = []
    for path, text in sorted(rendered.items()):
        if path.endswith("NOTES.txt"):
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return objects


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The object of that kind and name (AssertionError listing what exists otherwise)."""
    for obj in objects:
        if obj["kind"] == kind and obj["metadata"]["name"] == name:
            return obj
    raise AssertionError(f"no {kind}/{name} in {[(o['kind'], o['metadata']['name']) for o in objects]}")


def archive(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The archive's pods: the Deployment ``astrohub-archive``, a StatefulSet when ``archive.replicas`` > 1."""
    for obj in objects:
        if obj["kind"] in ("Deployment", "StatefulSet") and obj["metadata"]["name"] == "astrohub-archive":
            return obj
    raise AssertionError(f"no Deployment or StatefulSet astrohub-archive in "
                         f"{[(o['kind'], o['metadata']['name']) for o in objects]}")


def merged_values(chart: helm_python.Chart, values: dict[str, Any]) -> dict[str, Any]:
    """The values a release would use (chart and subchart defaults coalesced with ``values``)."""
    return chart.merge_values(copy.deepcopy(values))


def hub_values(chart: helm_python.Chart, values: dict[str, Any]) -> dict[str, Any]:
    """``jupyterhub.custom.astrohub`` as the hub's ``get_config("custom.astrohub")`` returns it."""
    return merged_values(chart, values)["jupyterhub"]["custom"]["astrohub"]


# --- the classes service (templates/classes.yaml), shared by test_helm_pods and test_helm_grading ---------


class HubGroups:
    """The hub's group API as :class:`astrohub_hub.classes_service.HubDirectory` calls it, in memory.

    The helm tier has no hub; the local tier drives the real one (tests/integration/test_platform_classes.py).
    """

    def __init__(self) -> None:
        self.groups: dict[str, dict[str, Any]] = {}

    def __call__(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if parts[0] == "users":
            return 200, {"name": parts[1]}
        name = parts[1]
        group = self.groups.get(name)
        if method == "POST" and len(parts) == 2:
            self.groups[name] = {"properties": {}, "users": set()}
            return 201, None
        if group is None:
            return 404, None
        if method == "GET":
            return 200, {"name": name, "properties": dict(group["properties"]), "users": sorted(group["users"])}
        if parts[2] == "properties":
            group["properties"] = dict(body)
        else:
            group["users"] |= set(body["users"])
        return 200, None


def service_environment(objects: list[dict[str, Any]], claim_root: Path) -> dict[str, str]:
    """The classes container's environment (ConfigMap and Secret), its claim mounts moved under ``claim_root``."""
    deployment = find(objects, "Deployment", "astrohub-classes")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {}
    for source in container["envFrom"]:
        env.update(find(objects, "ConfigMap", source["configMapRef"]["name"])["data"])
    for item in container["env"]:
        env[item["name"]] = item.get("value") or f"secret {item['valueFrom']['secretKeyRef']['key']}"
    for mount in container["volumeMounts"]:
        env = {k: v.replace(mount["mountPath"], str(claim_root / mount["name"])) for k, v in env.items()}
    return env
