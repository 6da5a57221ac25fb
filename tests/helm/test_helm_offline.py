"""helm/examples/offline.yaml: on an air-gapped cluster every image of the release comes from its own registry.

The subcharts are stubs here (no templates), so their images are read from the values a release would use
(the upstream defaults coalesced with the overlay): any ``image: {name, tag}`` anywhere in them counts, so an
image a new subchart version adds, and the overlay does not mirror, fails this test. Our own objects' images
are read from the rendered manifests.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Iterator

_spec = importlib.util.spec_from_file_location("_helm_support", Path(__file__).with_name("_helm_support.py"))
hs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hs)

MIRROR = "registry.internal.example/"


def images_in_values(values: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """(key, image name) of every ``image`` mapping with a name in a values tree."""
    if isinstance(values, dict):
        for key, value in values.items():
            path = f"{where}.{key}" if where else key
            if key == "image" and isinstance(value, dict) and "name" in value:
                yield path, value["name"]
            else:
                yield from images_in_values(value, path)


def combined(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """``-f base -f top``: mappings merged key by key, anything else replaced."""
    out = dict(base)
    for key, value in top.items():
        out[key] = combined(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def images_in_manifests(objects: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    for obj in objects:
        spec = obj.get("spec", {})
        pod = spec.get("template", {}).get("spec", {}) or spec.get("jobTemplate", {}).get("spec", {}).get(
            "template", {}).get("spec", {})
        for container in [*pod.get("initContainers", []), *pod.get("containers", [])]:
            yield f"{obj['kind']}/{obj['metadata']['name']}:{container['name']}", container["image"]


def test_every_image_of_the_offline_overlay_comes_from_the_mirror(chart) -> None:
    values = hs.overlay("offline")
    merged = hs.merged_values(chart, values)
    found = dict(images_in_values(merged))
    assert "jupyterhub.proxy.chp.image" in found and "dask-gateway.controller.image" in found, sorted(found)
    # an empty name means "the user image" (classes.grading.image)
    outside = {key: name for key, name in found.items() if name and not name.startswith(MIRROR)}
    assert not outside, f"images an offline cluster could not pull: {outside}"
    assert merged["classes"]["grading"]["image"]["name"] == ""
    # with the class overlay, so that every template of ours renders (classes, the sample-data Job)
    rendered = dict(images_in_manifests(hs.manifests(hs.render(chart, combined(hs.overlay("teaching-class"), values)))))
    for workload in ("Deployment/astrohub-archive", "Deployment/astrohub-classes", "Job/astrohub-sample-data"):
        assert any(key.startswith(workload) for key in rendered), (workload, rendered)
    outside = {key: image for key, image in rendered.items() if not image.startswith(MIRROR)}
    assert not outside, f"containers an offline cluster could not start: {outside}"


def test_every_pod_of_the_offline_overlay_gets_the_registrys_pull_secret(chart) -> None:
    values = hs.overlay("offline")
    merged = hs.merged_values(chart, values)
    assert merged["jupyterhub"]["imagePullSecrets"] == ["registry-internal"]  # z2jh's pods, and ours below
    gateway = merged["dask-gateway"]
    for component in (gateway["gateway"], gateway["gateway"]["backend"], gateway["controller"], gateway["traefik"]):
        assert component["imagePullSecrets"] == [{"name": "registry-internal"}]
    objects = hs.manifests(hs.render(chart, combined(hs.overlay("teaching-class"), values)))
    pods = {}
    for obj in objects:
        spec = obj.get("spec", {}).get("template", {}).get("spec")
        if spec is not None:
            pods[f"{obj['kind']}/{obj['metadata']['name']}"] = spec.get("imagePullSecrets")
    assert {"Deployment/astrohub-archive", "Deployment/astrohub-classes", "Job/astrohub-sample-data"} <= set(pods)
    assert all(secrets == [{"name": "registry-internal"}] for secrets in pods.values()), pods
    # and z2jh's own Secret, when the chart creates it
    created = {"jupyterhub": {"imagePullSecret": {
        "create": True, "registry": "registry.internal.example", "username": "astrohub", "password": "not-a-secret"}}}
    archive = hs.find(hs.manifests(hs.render(chart, created)), "Deployment", "astrohub-archive")
    assert archive["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "image-pull-secret"}]


def test_the_default_values_do_pull_from_the_internet(chart) -> None:
    """The check above can fail: with the chart's defaults it finds public registries."""
    found = dict(images_in_values(hs.merged_values(chart, {})))
    assert found["jupyterhub.proxy.chp.image"].startswith("quay.io/")
