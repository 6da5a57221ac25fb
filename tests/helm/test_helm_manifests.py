"""Rendered manifests: strict validation per Kubernetes version, one dataset list everywhere, network policies.

The network policies are checked by a small evaluator of NetworkPolicy semantics (pod selectors with
matchLabels/matchExpressions, ports, policy types) over the pods of a release: what our policies admit
must be exactly user pod -> dask-gateway and user pod -> archive service, plus the few connections
something breaks without (``EXPECTED`` names each with its reason), nothing else.
"""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from traitlets.config import Config

from astrohub_hub.gateway import configure_gateway_kubernetes
from astrohub_hub.kubernetes import KubernetesSettings, dataset_volumes

_spec = importlib.util.spec_from_file_location("_helm_support", Path(__file__).with_name("_helm_support.py"))
hs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hs)


@pytest.fixture(scope="module")
def renders(chart) -> dict[tuple[str, str], list[dict[str, Any]]]:
    return {
        (name, version): hs.manifests(hs.render(chart, hs.overlay(name), version))
        for name in hs.OVERLAYS
        for version in hs.KUBE_VERSIONS
    }


# --- strict validation -------------------------------------------------------------------------


@pytest.mark.parametrize("kube_version", hs.KUBE_VERSIONS)
@pytest.mark.parametrize("name", list(hs.OVERLAYS))
def test_every_manifest_validates_strictly(renders, name: str, kube_version: str) -> None:
    objects = renders[(name, kube_version)]
    assert {o["kind"] for o in objects} >= {"ConfigMap", "Service", "NetworkPolicy"}
    assert hs.archive(objects)["kind"] in ("Deployment", "StatefulSet")  # StatefulSet: archive.replicas > 1
    checked = 0
    traefik = [o for o in objects if o["apiVersion"].startswith("traefik.io/")]  # test_helm_dashboards.py
    for obj in objects:
        if obj["kind"] == "CustomResourceDefinition" or obj in traefik:
            continue
        kubernetes_validate.validate(obj, kube_version, strict=True)
        checked += 1
    assert checked + len(traefik) == len(objects)


def test_the_validator_rejects_an_unknown_field(renders) -> None:
    deployment = copy.deepcopy(hs.archive(renders[("default", "1.33.0")]))
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, "1.33.0", strict=True)


def test_nfs_storage_objects_only_when_configured(renders) -> None:
    production = renders[("production", "1.33.0")]
    for claim in ("astrohub-home", "astrohub-groups"):
        pvc = hs.find(production, "PersistentVolumeClaim", claim)
        pv = hs.find(production, "PersistentVolume", pvc["spec"]["volumeName"])
        assert pv["spec"]["claimRef"] == {"namespace": hs.NAMESPACE, "name": claim}
        assert pv["spec"]["accessModes"] == pvc["spec"]["accessModes"] == ["ReadWriteMany"]
        assert pv["spec"]["nfs"]["server"] == "nfs.example.org"
    assert not [o for o in renders[("default", "1.33.0")] if o["kind"] in {"PersistentVolume", "PersistentVolumeClaim"}]
    teaching = renders[("teaching-class", "1.33.0")]
    assert [o["metadata"]["name"] for o in teaching if o["kind"] == "PersistentVolumeClaim"] == ["astrohub-groups"]


def test_claim_names_agree_with_the_hub_builders(renders) -> None:
    from astrohub_hub.kubernetes import GROUPS_CLAIM, HOME_CLAIM

    claims = {o["metadata"]["name"] for o in renders[("production", "1.30.0")] if o["kind"] == "PersistentVolumeClaim"}
    assert claims == {HOME_CLAIM, GROUPS_CLAIM}


# --- one dataset list --------------------------------------------------------------------------


def _by_name(items: list[dict]) -> dict[str, dict]:
    return {item["name"]: item for item in items}


@pytest.mark.parametrize("name", list(hs.OVERLAYS))
def test_user_pods_workers_and_archive_mount_the_same_datasets(chart, renders, name: str) -> None:
    hub = hs.hub_values(chart, hs.overlay(name))
    kube = KubernetesSettings.model_validate(hub.get("kubernetes") or {})
    user_volumes, user_mounts = dataset_volumes(kube, hub["storage"]["datasets"])
    objects = renders[(name, "1.33.0")]

    # Dask workers: what the gateway's extraConfig does with the rendered ConfigMap astrohub-gateway
    c = Config()
    configure_gateway_kubernetes(c, json.loads(hs.find(objects, "ConfigMap", "astrohub-gateway")["data"]["settings.json"]))
    worker = {"volumes": c.KubeClusterConfig.worker_extra_pod_config["volumes"],
              "volumeMounts": c.KubeClusterConfig.worker_extra_container_config["volumeMounts"]}
    archive_pod = hs.archive(objects)["spec"]["template"]["spec"]
    archive_volumes = archive_pod.get("volumes", [])
    archive_volumes = [v for v in archive_volumes if v["name"] not in ("archive-proprietary", "released", "hips", "state")]
    archive_mounts = [m for m in archive_pod["containers"][0].get("volumeMounts", [])
                      if m["name"] not in ("archive-proprietary", "hips", "state")]  # the archive's own (tests below and
    # in test_helm_archive_hips.py)

    assert _by_name(worker["volumes"]) == _by_name(archive_volumes) == _by_name(user_volumes)
    assert _by_name(worker["volumeMounts"]) == _by_name(archive_mounts) == _by_name(user_mounts)
    assert len(user_volumes) == len(hub["kubernetes"]["datasets"])
    assert all(m["readOnly"] for m in user_mounts)
    assert all(source["readOnly"] for v in user_volumes for key, source in v.items() if key != "name")

    config = hs.find(objects, "ConfigMap", "astrohub-archive")["data"]
    listed = json.loads(config["ASTROHUB_ARCHIVE_DATASETS"])
    assert [d["path"] for d in listed] == [m["mountPath"] for m in user_mounts]
    assert [{"configMapRef": {"name": "astrohub-archive"}}] == archive_pod["containers"][0]["envFrom"]
    assert config["ASTROHUB_ARCHIVE_IP"] == "0.0.0.0" and config["ASTROHUB_ARCHIVE_PREFIX"] == "/services/archive/"


def test_overlays_use_both_kinds_of_dataset_source(chart) -> None:
    kinds = set()
    for name in hs.OVERLAYS:
        for dataset in hs.hub_values(chart, hs.overlay(name))["kubernetes"]["datasets"]:
            kinds |= {"nfs", "persistentVolumeClaim"} & dataset.keys()
    assert kinds == {"nfs", "persistentVolumeClaim"}


# --- network policies --------------------------------------------------------------------------

R = hs.RELEASE
# Labels of the release's pods. Ours come from the rendered Deployment (see _pods); Zero to JupyterHub's
# and dask-gateway's are those of their upstream templates (jupyterhub 4.4.0, dask-gateway 2026.3.0).
UPSTREAM_PODS = {
    "user": {"app": "jupyterhub", "component": "singleuser-server", "release": R},
    "proxy": {"app": "jupyterhub", "component": "proxy", "release": R},
    "hub": {"app": "jupyterhub", "component": "hub", "release": R, "hub.jupyter.org/network-access-proxy-api": "true"},
    "traefik": {"app.kubernetes.io/name": "dask-gateway", "app.kubernetes.io/instance": R,
                "app.kubernetes.io/component": "traefik"},
    "gateway-api": {"app.kubernetes.io/name": "dask-gateway", "app.kubernetes.io/instance": R,
                    "app.kubernetes.io/component": "gateway"},
    "gateway-controller": {"app.kubernetes.io/name": "dask-gateway", "app.kubernetes.io/instance": R,
                           "app.kubernetes.io/component": "controller"},
    "dask-scheduler": {"gateway.dask.org/instance": "astrohub-dask-gateway", "app.kubernetes.io/component": "dask-scheduler"},
    "dask-worker": {"gateway.dask.org/instance": "astrohub-dask-gateway", "app.kubernetes.io/component": "dask-worker"},
    "other-app": {"app": "unrelated"},
}
PORTS = (22, 53, 80, 443, 2049, 8000, 8001, 8080, 8081, 8786, 8787, 8788, 9000)


def _pods(objects: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    pods = dict(UPSTREAM_PODS)
    archive = [o for o in objects if o["kind"] in ("Deployment", "StatefulSet") and o["metadata"]["name"] == "astrohub-archive"]
    if archive:
        pods["archive"] = archive[0]["spec"]["template"]["metadata"]["labels"]
    classes = [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "astrohub-classes"]
    if classes:
        pods["classes"] = classes[0]["spec"]["template"]["metadata"]["labels"]
    return pods


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics (an empty selector selects everything)."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not ok:
            return False
    return True


def _peers(rule_peers: list[dict[str, Any]] | None, pods: dict[str, dict[str, str]]) -> set[str]:
    if not rule_peers:  # no to/from: every peer, inside and outside the cluster
        return set(pods) | {"outside"}
    found: set[str] = set()
    for peer in rule_peers:
        if "ipBlock" in peer or "namespaceSelector" in peer:
            found.add("outside")  # anything beyond this namespace's pods counts as newly opened
            continue
        found |= {name for name, labels in pods.items() if selects(peer["podSelector"], labels)}
    return found


def _ports(rule_ports: list[dict[str, Any]] | None) -> set[int]:
    if not rule_ports:
        return set(PORTS)
    opened: set[int] = set()
    for port in rule_ports:
        assert port.get("protocol", "TCP") == "TCP"
        assert isinstance(port["port"], int), "named ports are not used by this chart"
        opened |= {p for p in PORTS if port["port"] <= p <= port.get("endPort", port["port"])}
    return opened


def admitted(objects: list[dict[str, Any]]) -> set[tuple[str, str, str, int]]:
    """Every (direction, source, destination, port) some NetworkPolicy in ``objects`` admits."""
    pods = _pods(objects)
    result = set()
    for policy in (o for o in objects if o["kind"] == "NetworkPolicy"):
        spec = policy["spec"]
        types = spec.get("policyTypes") or (["Ingress"] + (["Egress"] if "egress" in spec else []))
        selected = {name for name, labels in pods.items() if selects(spec["podSelector"], labels)}
        for pod in selected:
            if "Egress" in types:
                for rule in spec.get("egress") or []:
                    for dst in _peers(rule.get("to"), pods):
                        result |= {("egress", pod, dst, p) for p in _ports(rule.get("ports"))}
            if "Ingress" in types:
                for rule in spec.get("ingress") or []:
                    for src in _peers(rule.get("from"), pods):
                        result |= {("ingress", src, pod, p) for p in _ports(rule.get("ports"))}
    return result


def z2jh_hub_policy_additions(merged: dict[str, Any]) -> dict[str, Any]:
    """The part of Zero to JupyterHub's hub NetworkPolicy that our values add (``hub.networkPolicy.ingress``).

    The stub subcharts render no templates, so the hub policy is rebuilt from the merged values the
    way z2jh 4.4.0's ``templates/hub/netpol.yaml`` appends them to its ingress rules.
    """
    return {
        "kind": "NetworkPolicy",
        "metadata": {"name": "hub"},
        "spec": {
            "podSelector": {"matchLabels": {"app": "jupyterhub", "component": "hub", "release": R}},
            "policyTypes": ["Ingress"],
            "ingress": merged["jupyterhub"]["hub"]["networkPolicy"]["ingress"],
        },
    }


def opened(chart, values: dict[str, Any]) -> set[tuple[str, str, str, int]]:
    """What a release with ``values`` admits: our policies plus our additions to z2jh's hub policy."""
    objects = hs.manifests(hs.render(chart, values))
    return admitted([*objects, z2jh_hub_policy_additions(hs.merged_values(chart, values))])


# Every connection the chart opens, with the reason it is required (templates/networkpolicy.yaml).
EXPECTED = {
    ("egress", "user", "traefik", 8000):
        "notebooks create Dask clusters (gateway API) and reach their schedulers, multiplexed on Traefik's "
        "web port because traefik.service.ports.tcp.port is 'web'; z2jh blocks user pods from private IPs",
    ("egress", "user", "archive", 8080):
        "platform_lib calls PLATFORM_ARCHIVE_URL in-cluster; z2jh blocks user pods from private IPs",
    ("ingress", "user", "archive", 8080):
        "the archive admits notebooks (its policy restricts ingress to the three clients listed)",
    ("ingress", "proxy", "archive", 8080):
        "the hub's proxy routes /services/archive/ (browser pages) to the archive Service",
    ("ingress", "hub", "archive", 8080):
        "JupyterHub probes every service URL at start-up and each service_check_interval (60 s)",
    ("ingress", "gateway-api", "hub", 8081):
        "dask-gateway's JupyterHubAuthenticator checks each user's token with GET /hub/api/user",
    # templates/dask-dashboards.yaml: these policies close the Dask pods to everyone else.
    ("ingress", "traefik", "dask-scheduler", 8786): "clients reach their scheduler through Traefik's SNI route",
    ("ingress", "dask-worker", "dask-scheduler", 8786): "workers connect to their scheduler",
    ("ingress", "gateway-api", "dask-scheduler", 8786): "the gateway API server reaches the scheduler",
    ("ingress", "gateway-api", "dask-scheduler", 8787):
        "the owner-only dashboard route (astrohub_hub.dashboards) serves the scheduler's dashboard",
    ("ingress", "gateway-api", "dask-scheduler", 8788): "the gateway API server scales the cluster (scheduler API)",
    **{("ingress", src, "dask-worker", port): "schedulers and workers of a cluster talk to its workers (any port)"
       for src in ("dask-scheduler", "dask-worker") for port in PORTS},
}


# With classes.enabled (templates/classes.yaml), and only then.
EXPECTED_CLASSES = {
    ("egress", "user", "classes", 8080):
        "the `astrohub classes` command and notebooks call the classes service; z2jh blocks private IPs",
    ("ingress", "user", "classes", 8080): "the classes service admits notebooks (and the two clients below)",
    ("ingress", "proxy", "classes", 8080): "the hub's proxy routes /services/astrohub-classes/ (its page)",
    ("ingress", "hub", "classes", 8080): "JupyterHub probes every service URL",
}


# With archive.replicas > 1 (a StatefulSet), and only then.
EXPECTED_REPLICAS = {
    ("ingress", "archive", "archive", 8080):
        "a replica forwards a request for an async TAP job to the replica that keeps it (astrohub_archive.replicas)",
}


@pytest.mark.parametrize("name", list(hs.OVERLAYS))
def test_network_policies_open_exactly_the_required_connections(chart, name: str) -> None:
    values = hs.overlay(name)
    classes = set(EXPECTED_CLASSES) if values.get("classes", {}).get("enabled") else set()
    replicas = set(EXPECTED_REPLICAS) if values.get("archive", {}).get("replicas", 1) > 1 else set()
    assert opened(chart, values) == set(EXPECTED) | classes | replicas


def test_no_rule_for_what_zero_to_jupyterhub_already_allows(chart) -> None:
    """The proxy's and the hub's egress are open to private IPs upstream: no rule of ours duplicates them."""
    objects = hs.manifests(hs.render(chart, {}))
    ours = admitted(objects)
    assert not {rule for rule in ours if rule[0] == "egress" and rule[1] != "user"}
    for name in hs.OVERLAYS:
        z2jh = hs.merged_values(chart, hs.overlay(name))["jupyterhub"]
        # the reason: chp reaches Traefik (/services/dask-gateway) and the archive (/services/archive)
        assert z2jh["proxy"]["chp"]["networkPolicy"]["egressAllowRules"]["privateIPs"] is True
        assert z2jh["hub"]["networkPolicy"]["egressAllowRules"]["privateIPs"] is True
        # and the one that needs ours: user pods are kept from private IPs
        assert z2jh["singleuser"]["networkPolicy"]["egressAllowRules"]["privateIPs"] is False


def test_evaluator_sees_a_policy_that_opens_too_much(renders) -> None:
    objects = copy.deepcopy(renders[("default", "1.33.0")])
    egress = hs.find(objects, "NetworkPolicy", "astrohub-singleuser-egress")
    egress["spec"]["egress"].append({"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]})
    extra = admitted(objects) - set(EXPECTED)
    assert ("egress", "user", "outside", 443) in extra


def test_archive_admits_nobody_else(renders) -> None:
    objects = renders[("production", "1.30.0")]
    sources = {src for direction, src, dst, _ in admitted(objects) if direction == "ingress" and dst == "archive"}
    assert sources == {"user", "proxy", "hub", "archive"}  # archive: its other replicas (production has 2)


def test_policies_follow_what_is_enabled(chart) -> None:
    hub_rule = {("ingress", "gateway-api", "hub", 8081)}
    assert opened(chart, {"networkPolicy": {"enabled": False}}) == hub_rule  # z2jh's, set in our values
    no_archive = opened(chart, {"archive": {"enabled": False}})
    assert no_archive == {e for e in EXPECTED if "archive" not in e}
    no_gateway = opened(chart, {"dask-gateway": {"enabled": False}})
    assert no_gateway == {e for e in EXPECTED if "traefik" not in e and not e[2].startswith("dask-")}
    # a separate scheduler port on Traefik (not shared with web) gets its own rule, and only then
    split = opened(chart, {"dask-gateway": {"traefik": {"service": {"ports": {"tcp": {"port": 8786}}}}}})
    assert split == set(EXPECTED) | {("egress", "user", "traefik", 8786)}


def test_user_gateway_addresses_use_the_opened_traefik_port(chart) -> None:
    """The addresses user pods get go to Traefik's Service ports that map to the opened container port."""
    for name in hs.OVERLAYS:
        merged = hs.merged_values(chart, hs.overlay(name))
        gateway = merged["jupyterhub"]["custom"]["astrohub"]["daskGateway"]
        ports = merged["dask-gateway"]["traefik"]["service"]["ports"]
        traefik = f"traefik-{merged['dask-gateway']['fullnameOverride']}"
        assert ports["tcp"]["port"] == "web"  # scheduler traffic shares the web port (container port 8000)
        assert gateway["address"] == f"http://{traefik}{merged['dask-gateway']['gateway']['prefix']}"
        assert gateway["proxyAddress"] == f"gateway://{traefik}:{ports['web']['port']}"
        assert merged["jupyterhub"]["hub"]["services"]["dask-gateway"]["url"] == f"http://{traefik}"


def test_zero_to_jupyterhub_policies_are_not_loosened(chart) -> None:
    upstream = yaml.safe_load((hs.SCHEMAS / "jupyterhub-4.4.0.default-values.yaml").read_text())
    for name in hs.OVERLAYS:
        merged = hs.merged_values(chart, hs.overlay(name))["jupyterhub"]
        assert merged["singleuser"]["networkPolicy"] == upstream["singleuser"]["networkPolicy"]
        assert merged["proxy"]["chp"]["networkPolicy"] == upstream["proxy"]["chp"]["networkPolicy"]
        hub_policy = {k: v for k, v in merged["hub"]["networkPolicy"].items() if k != "ingress"}
        assert hub_policy == {k: v for k, v in upstream["hub"]["networkPolicy"].items() if k != "ingress"}
        # the one addition, evaluated above: dask-gateway's API server checks user tokens against the hub API
        assert merged["hub"]["networkPolicy"]["ingress"] == [{
            "from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "dask-gateway",
                                                      "app.kubernetes.io/component": "gateway"}}}],
            "ports": [{"port": 8081, "protocol": "TCP"}],
        }]


# --- the archive service's contract ------------------------------------------------------------


def test_archive_configmap_is_what_the_archive_command_reads(renders, monkeypatch: pytest.MonkeyPatch) -> None:
    import tomllib

    from astrohub_archive.app import build_parser

    objects = renders[("production", "1.33.0")]
    config = hs.find(objects, "ConfigMap", "astrohub-archive")["data"]
    for key, value in config.items():
        monkeypatch.setenv(key, value)
    parser = build_parser()
    flags = {"ASTROHUB_ARCHIVE_" + action.dest.upper() for action in parser._actions if action.dest != "help"}
    assert set(config) - {"ASTROHUB_ARCHIVE_DATASETS"} <= flags, "a setting the command does not read"
    args = parser.parse_args([])
    assert (str(args.index), str(args.data_root), args.port, args.ip, args.prefix) == (
        config["ASTROHUB_ARCHIVE_INDEX"], config["ASTROHUB_ARCHIVE_DATA_ROOT"], 8080, "0.0.0.0", "/services/archive/"
    )
    container = hs.archive(objects)["spec"]["template"]["spec"]["containers"][0]
    scripts = tomllib.loads((hs.REPO / "extensions" / "archive" / "pyproject.toml").read_text())["project"]["scripts"]
    assert container["command"][0] in scripts
    token = next(e for e in container["env"] if e["name"] == "JUPYTERHUB_API_TOKEN")["valueFrom"]["secretKeyRef"]
    assert token == {"name": "hub", "key": "hub.services.archive.apiToken"}  # generated by z2jh for hub.services.archive
    labels = hs.archive(objects)["spec"]["template"]["metadata"]["labels"]
    assert labels["hub.jupyter.org/network-access-hub"] == "true"  # z2jh's hub policy admits it (token checks)


def test_proprietary_data_is_mounted_into_the_archive_pod_only(chart, renders) -> None:
    """Issue 22: the archive's full tree reaches the archive pod alone; users get the released part."""
    objects = renders[("production", "1.33.0")]
    pods = [(o["metadata"]["name"], o["spec"]["template"]["spec"]) for o in objects
            if o["kind"] in {"Deployment", "StatefulSet", "DaemonSet"}]
    holders = sorted(name for name, pod in pods for v in pod.get("volumes", []) if v["name"] == "archive-proprietary")
    assert holders == ["astrohub-archive"]
    archive = dict(pods)["astrohub-archive"]
    source = next(v for v in archive["volumes"] if v["name"] == "archive-proprietary")
    assert source["nfs"] == {"server": "nfs.example.org", "path": "/export/archive/images", "readOnly": True}
    containers = {c["name"]: c for c in archive["containers"]}
    assert {"name": "archive-proprietary", "mountPath": "/archive", "readOnly": True} in containers["archive"]["volumeMounts"]
    config = hs.find(objects, "ConfigMap", "astrohub-archive")["data"]
    assert (config["ASTROHUB_ARCHIVE_INDEX"], config["ASTROHUB_ARCHIVE_DATA_ROOT"]) == ("/archive/index.sqlite", "/archive")
    # The release container publishes into the dataset users mount read-only; only it mounts it writable.
    release = containers["release"]
    assert release["command"] == ["astrohub", "archive", "publish", "/archive", "--index", "/archive/index.sqlite",
                                  "--to", "/datasets/archive/images", "--watch", "30"]
    writable = [m for m in release["volumeMounts"] if not m.get("readOnly")]
    assert writable == [{"name": "released", "mountPath": "/datasets/archive"}]
    # User pods and Dask workers: the datasets only, read-only, none of them the archive's own volume.
    hub = hs.hub_values(chart, hs.overlay("production"))
    volumes, _ = dataset_volumes(KubernetesSettings.model_validate(hub["kubernetes"]), hub["storage"]["datasets"])
    assert "archive-proprietary" not in {v["name"] for v in volumes}
    assert all(not ({"server": "nfs.example.org", "path": "/export/archive/images"}.items() <= v.get("nfs", {}).items())
               for v in volumes)


@pytest.mark.parametrize("values,message", [
    ({"archive": {"proprietary": {"nfs": {"server": "n", "path": "/p"}}}},
     r"archive\.index: \"/datasets/archive/index\.sqlite\" must lie under /archive"),
    ({"archive": {"releasedDataset": "archive"}}, r"archive\.releasedDataset: needs archive\.proprietary"),
])
def test_a_split_that_would_leak_fails_the_render(chart, values, message) -> None:
    with pytest.raises(Exception, match=message):
        hs.render(chart, values)
