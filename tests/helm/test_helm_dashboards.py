"""Dask dashboards on Kubernetes only through the owner-checked route (issue 22, Deliver 3), rendered.

``templates/dask-dashboards.yaml`` sends ``/services/dask-gateway/clusters/...`` to the gateway API
server (where ``astrohub_hub.dashboards`` checks the hub user against the cluster's owner) ahead of
dask-gateway's per-cluster Traefik routes, and its NetworkPolicies leave the schedulers' dashboard
port to the gateway API alone. The Traefik objects are custom resources that ``kubernetes-validate``
has no schema for; they are checked here against the fields of Traefik 3's CRDs (``traefik.io/v1alpha1``,
the Traefik 3.3 that dask-gateway 2026.3.0 runs) that they use. Also: ``archive.trustedProxies``
reaches the archive's environment (``ASTROHUB_ARCHIVE_TRUSTED_PROXY``, read as ``--trusted-proxy``).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import helm_python
import jsonschema
import pytest

_spec = importlib.util.spec_from_file_location("_helm_support", Path(__file__).with_name("_helm_support.py"))
hs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hs)
_spec = importlib.util.spec_from_file_location("_helm_manifests", Path(__file__).with_name("test_helm_manifests.py"))
manifests_tests = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(manifests_tests)

_REF = {"type": "object", "required": ["name"], "additionalProperties": False,
        "properties": {"name": {"type": "string"}, "namespace": {"type": "string"}}}
#: The parts of Traefik 3's IngressRoute and Middleware CRD schemas these objects use (strict).
TRAEFIK = {
    "IngressRoute": {
        "type": "object", "required": ["routes"], "additionalProperties": False,
        "properties": {
            "entryPoints": {"type": "array", "items": {"type": "string"}},
            "routes": {"type": "array", "items": {
                "type": "object", "required": ["kind", "match"], "additionalProperties": False,
                "properties": {
                    "kind": {"enum": ["Rule"]}, "match": {"type": "string"}, "priority": {"type": "integer"},
                    "middlewares": {"type": "array", "items": _REF},
                    "services": {"type": "array", "items": {
                        "type": "object", "required": ["name"], "additionalProperties": False,
                        "properties": {"name": {"type": "string"}, "namespace": {"type": "string"},
                                       "port": {"type": ["integer", "string"]}}}},
                }}},
        },
    },
    "Middleware": {
        "type": "object", "additionalProperties": False,
        "properties": {"stripPrefix": {"type": "object", "additionalProperties": False, "properties": {
            "prefixes": {"type": "array", "items": {"type": "string"}}, "forceSlash": {"type": "boolean"}}}},
    },
}


@pytest.mark.parametrize("name", list(hs.OVERLAYS))
def test_dashboards_go_to_the_gateway_api_ahead_of_the_per_cluster_routes(chart, name: str) -> None:
    objects = hs.manifests(hs.render(chart, hs.overlay(name)))
    traefik = [o for o in objects if o["apiVersion"].startswith("traefik.io/")]
    assert {o["apiVersion"] for o in traefik} == {"traefik.io/v1alpha1"}
    for obj in traefik:
        jsonschema.validate(obj["spec"], TRAEFIK[obj["kind"]])
        # dask-gateway's Traefik watches only its instance's objects (--providers.kubernetescrd.labelselector).
        assert obj["metadata"]["labels"]["gateway.dask.org/instance"] == "astrohub-dask-gateway"
    route = hs.find(objects, "IngressRoute", "astrohub-dask-dashboards")["spec"]
    assert route["entryPoints"] == ["web"]
    (rule,) = route["routes"]
    assert rule["match"] == "PathPrefix(`/services/dask-gateway/clusters/`)"
    assert rule["services"] == [{"name": "api-astrohub-dask-gateway", "port": 8000}]
    # The controller's per-cluster rule, PathPrefix(`/services/dask-gateway/clusters/<ns>.<name>/`), has
    # the priority of its length (Traefik's default); ours is above any such rule.
    longest = len("PathPrefix(`/services/dask-gateway/clusters/" + "n" * 63 + "." + "c" * 253 + "/`)")
    assert rule["priority"] > longest
    (middleware,) = rule["middlewares"]
    strip = hs.find(objects, "Middleware", middleware["name"])["spec"]["stripPrefix"]
    assert strip["prefixes"] == ["/services/dask-gateway"]  # the API server's routes are /clusters/<name>/...


def test_scheduler_dashboards_and_workers_admit_only_the_owner_route(chart) -> None:
    objects = hs.manifests(hs.render(chart, {}))
    admitted = manifests_tests.admitted(objects)
    dashboard_sources = {src for d, src, dst, port in admitted if d == "ingress" and dst == "dask-scheduler"
                         and port == 8787}
    assert dashboard_sources == {"gateway-api"}
    worker_sources = {src for d, src, dst, _ in admitted if d == "ingress" and dst == "dask-worker"}
    assert worker_sources == {"dask-scheduler", "dask-worker"}
    assert not any(src in ("user", "traefik", "outside") and dst in ("dask-scheduler", "dask-worker") and port != 8786
                   for d, src, dst, port in admitted if d == "ingress")
    # Both kinds of pod are selected by an Ingress policy, so everything not admitted is refused.
    pods = manifests_tests._pods(objects)
    isolated = {name for o in objects if o["kind"] == "NetworkPolicy" and "Ingress" in o["spec"]["policyTypes"]
                for name, labels in pods.items() if manifests_tests.selects(o["spec"]["podSelector"], labels)}
    assert {"dask-scheduler", "dask-worker"} <= isolated


def test_without_network_policies_the_route_still_goes_through_the_owner_check(chart) -> None:
    objects = hs.manifests(hs.render(chart, {"networkPolicy": {"enabled": False}}))
    hs.find(objects, "IngressRoute", "astrohub-dask-dashboards")
    assert not [o for o in objects if o["kind"] == "NetworkPolicy" and "dask" in o["metadata"]["name"]]


def test_the_archive_gets_its_trusted_proxies(chart) -> None:
    from astrohub_archive.app import build_parser
    from astrohub_archive.proxies import parse_trusted

    default = hs.find(hs.manifests(hs.render(chart, {})), "ConfigMap", "astrohub-archive")["data"]
    assert "ASTROHUB_ARCHIVE_TRUSTED_PROXY" not in default  # nobody: the Host header gives the links
    values = {"archive": {"trustedProxies": ["10.42.0.0/16", "10.43.0.7"]}}
    data = hs.find(hs.manifests(hs.render(chart, values)), "ConfigMap", "astrohub-archive")["data"]
    assert data["ASTROHUB_ARCHIVE_TRUSTED_PROXY"] == "10.42.0.0/16,10.43.0.7"
    # What the archive makes of that environment (app.main splits the commas).
    import os

    old = os.environ.get("ASTROHUB_ARCHIVE_TRUSTED_PROXY")
    os.environ["ASTROHUB_ARCHIVE_TRUSTED_PROXY"] = data["ASTROHUB_ARCHIVE_TRUSTED_PROXY"]
    try:
        args = build_parser().parse_args([])
    finally:
        if old is None:
            del os.environ["ASTROHUB_ARCHIVE_TRUSTED_PROXY"]
        else:
            os.environ["ASTROHUB_ARCHIVE_TRUSTED_PROXY"] = old
    rules = parse_trusted(args.trusted_proxy)
    assert rules.trusts(("10.42.3.4", 1), None) and not rules.trusts(("10.44.0.1", 1), None)
    with pytest.raises(helm_python.HelmError if hasattr(helm_python, "HelmError") else Exception,
                       match=re.compile("trustedProxies|pattern", re.I)):
        hs.render(chart, {"archive": {"trustedProxies": ["proxy.example"]}})
