"""Two releases in one namespace: the second is refused at render time, naming what clashes and the fix.

The names of z2jh's, dask-gateway's and our objects are fixed (subchart values refer to each other by
name and cannot be templated), so a namespace holds one astrohub release. ``templates/single-release.yaml``
asks the cluster (``lookup``) for the namespace's ConfigMaps and Services. No Kubernetes API server here:
the test renders the first release offline, gives its objects the annotation Helm adds at install, and
puts them in place of the ``lookup`` answer in a copy of that template (the fake stands in for the API
server only; the check itself, ``astrohub.singleRelease``, is the chart's).
"""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path
from typing import Any

import helm_python
import pytest

_spec = importlib.util.spec_from_file_location("_helm_support", Path(__file__).with_name("_helm_support.py"))
hs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hs)

LOOKUP = '(include "astrohub.namespaceObjects" . | fromJsonArray)'
CLUSTER_LOOKUP = '(include "astrohub.clusterObjects" . | fromJsonArray)'


def installed(objects: list[dict[str, Any]], release: str) -> list[dict[str, Any]]:
    """The ConfigMaps and Services of a release as the API server lists them after ``helm install``."""
    # z2jh's Services (its templates are not rendered here: the subchart is a stub), as z2jh names them
    z2jh = [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}} for name in ("hub", "proxy-public")]
    listed = []
    for obj in [*objects, *z2jh]:
        if obj["kind"] in ("ConfigMap", "Service"):
            obj = copy.deepcopy(obj)
            obj["metadata"].setdefault("annotations", {})["meta.helm.sh/release-name"] = release
            listed.append(obj)
    return listed


def chart_seeing(tmp_path: Path, existing: list[dict[str, Any]],
                 cluster: list[dict[str, Any]] = ()) -> helm_python.Chart:
    """The chart whose checks get ``existing`` (the namespace's objects) and ``cluster`` (ClusterRoles) as the
    cluster's answers."""
    chart_dir = hs.build_chart(tmp_path)
    template = chart_dir / "templates" / "single-release.yaml"
    text = template.read_text()
    assert LOOKUP in text and CLUSTER_LOOKUP in text, "single-release.yaml no longer asks lookup as this test replaces"
    text = text.replace(LOOKUP, f"(`{json.dumps(existing)}` | fromJsonArray)")
    template.write_text(text.replace(CLUSTER_LOOKUP, f"(`{json.dumps(list(cluster))}` | fromJsonArray)"))
    return helm_python.Chart.load(chart_dir)


def test_a_second_release_in_the_namespace_is_refused_naming_the_first(chart, tmp_path: Path) -> None:
    first = hs.manifests(hs.render(chart, {}, release="first"))
    with chart_seeing(tmp_path, installed(first, "first")) as seeing:
        with pytest.raises(Exception) as refused:
            hs.render(seeing, {}, release="second")
        message = str(refused.value)
        assert f'namespace "{hs.NAMESPACE}" already holds' in message
        for clash in ("Service/hub", "Service/proxy-public", "ConfigMap/astrohub-gateway", "Service/astrohub-archive",
                      "ConfigMap/astrohub-proxy-guard"):
            assert clash in message, message
        assert 'of release "first"' in message
        assert f"helm install second helm/astrohub --namespace second" in message
        # the first release's own upgrade sees only its own objects
        hs.manifests(hs.render(seeing, {}, release="first"))


def test_objects_made_by_hand_under_a_fixed_name_are_named_too(chart, tmp_path: Path) -> None:
    by_hand = [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "hub"}}]
    with chart_seeing(tmp_path, by_hand) as seeing:
        with pytest.raises(Exception, match=r'already holds Service/hub of release "none: made by hand"'):
            hs.render(seeing, {}, release="astrohub")


def test_other_objects_in_the_namespace_are_no_conflict(chart, tmp_path: Path) -> None:
    unrelated = [{"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "kube-root-ca.crt"}},
                 {"apiVersion": "v1", "kind": "Service",
                  "metadata": {"name": "postgres", "annotations": {"meta.helm.sh/release-name": "db"}}}]
    with chart_seeing(tmp_path, unrelated) as seeing:
        assert hs.manifests(hs.render(seeing, {}, release="astrohub"))


def cluster_roles(release: str, namespace: str, gateway: str = "astrohub-dask-gateway") -> list[dict[str, Any]]:
    """The ClusterRoles a release's subcharts create (dask-gateway 2026.3.0's rbac, z2jh 4.4.0's user scheduler)."""
    names = [f"api-{gateway}", f"controller-{gateway}", f"traefik-{gateway}", f"{release}-user-scheduler"]
    return [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
             "metadata": {"name": name, "annotations": {"meta.helm.sh/release-name": release,
                                                        "meta.helm.sh/release-namespace": namespace}}}
            for name in names]


def test_a_second_platform_in_another_namespace_is_told_which_cluster_wide_names_to_change(chart, tmp_path) -> None:
    """Namespaces do not separate ClusterRoles: dask-gateway's come from its (fixed) fullnameOverride, z2jh's user
    scheduler's from the release name."""
    there = cluster_roles("astrohub", "other")
    with chart_seeing(tmp_path / "a", [], there) as seeing:
        with pytest.raises(Exception) as refused:
            hs.render(seeing, {}, release="astrohub")
        message = str(refused.value)
        for name in ("api-astrohub-dask-gateway", "controller-astrohub-dask-gateway", "traefik-astrohub-dask-gateway",
                     "astrohub-user-scheduler"):
            assert f"ClusterRole/{name} (release other/astrohub)" in message, message
        assert f"dask-gateway.fullnameOverride to a name of this release's own, e.g. {hs.NAMESPACE}-dask-gateway" in message
        assert "give this release a name no other namespace's astrohub release has" in message
        # the upgrade of the release that owns them is no conflict
        with chart_seeing(tmp_path / "b", [], cluster_roles("astrohub", hs.NAMESPACE)) as owner:
            hs.manifests(hs.render(owner, {}, release="astrohub"))
        # doing what the messages say: another release name, and the gateway's name with the URLs it appears in
        gateway = f"{hs.NAMESPACE}-dask-gateway"
        values = {"dask-gateway": {"fullnameOverride": gateway},
                  "jupyterhub": {"hub": {"services": {"dask-gateway": {"url": f"http://traefik-{gateway}"}}},
                                 "custom": {"astrohub": {"daskGateway": {
                                     "address": f"http://traefik-{gateway}/services/dask-gateway",
                                     "proxyAddress": f"gateway://traefik-{gateway}:80"}}}}}
        with pytest.raises(Exception, match=r"jupyterhub\.custom\.astrohub\.daskGateway\.address"):
            hs.render(seeing, {**values, "jupyterhub": {"hub": values["jupyterhub"]["hub"]}}, release="astro2")
        assert hs.manifests(hs.render(seeing, values, release="astro2"))
