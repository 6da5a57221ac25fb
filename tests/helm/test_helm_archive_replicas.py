"""The archive with several replicas: with ``archive.replicas`` > 1 a StatefulSet whose pods the headless
Service ``astrohub-archive-peers`` names, each told its own name (downward API) and every replica's URL
(``ASTROHUB_ARCHIVE_PEERS``), which the archive command reads into the replicas it forwards async TAP jobs
to; with one replica the Deployment of before, with no peers. Offline render and kubernetes-validate."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from urllib.parse import urlparse

import kubernetes_validate
import pytest

_spec = importlib.util.spec_from_file_location("_helm_support", Path(__file__).with_name("_helm_support.py"))
hs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hs)


#: The HiPS folder several replicas share (a ReadWriteMany claim; the render needs one).
SHARED_HIPS = {"persistentVolumeClaim": {"claimName": "archive-hips"}}


def _objects(chart, replicas: int) -> list[dict]:
    return hs.manifests(hs.render(chart, {"archive": {"replicas": replicas, "hips": SHARED_HIPS}}))


@pytest.mark.parametrize("replicas", [2, 3])
def test_replicas_are_a_statefulset_that_knows_its_peers(chart, replicas: int, monkeypatch) -> None:
    from astrohub_archive.app import build_parser
    from astrohub_archive.replicas import Replicas, parse_peers, parse_replica

    objects = _objects(chart, replicas)
    sts = hs.find(objects, "StatefulSet", "astrohub-archive")
    assert not [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "astrohub-archive"]
    headless = hs.find(objects, "Service", sts["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["selector"] == sts["spec"]["selector"]["matchLabels"]
    assert sts["spec"]["replicas"] == replicas and sts["spec"]["podManagementPolicy"] == "Parallel"
    for version in hs.KUBE_VERSIONS:
        for obj in (sts, headless):
            kubernetes_validate.validate(obj, version, strict=True)
    # clients still use the Service astrohub-archive, which selects every replica
    assert hs.find(objects, "Service", "astrohub-archive")["spec"]["selector"] == headless["spec"]["selector"]
    pod = sts["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["ASTROHUB_ARCHIVE_REPLICA"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    config = hs.find(objects, "ConfigMap", "astrohub-archive")["data"]
    peers = parse_peers(config["ASTROHUB_ARCHIVE_PEERS"].split(","))
    port = container["ports"][0]["containerPort"]
    # each URL is a pod's stable name, <statefulset>-<n>.<headless service>.<namespace>.svc, on its port
    assert [urlparse(p).netloc for p in peers] == [
        f"{sts['metadata']['name']}-{n}.{headless['metadata']['name']}.{hs.NAMESPACE}.svc:{port}" for n in range(replicas)]
    assert all(urlparse(p).path == config["ASTROHUB_ARCHIVE_PREFIX"] for p in peers)
    # the archive command, given the ConfigMap and the name Kubernetes gives the last pod, is that replica
    for key, value in config.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("ASTROHUB_ARCHIVE_REPLICA", f"{sts['metadata']['name']}-{replicas - 1}")
    args = build_parser().parse_args([])
    mine = Replicas(parse_replica(args.replica), parse_peers(args.peers))
    assert mine.ordinal == replicas - 1 and mine.peers == peers and mine.id_prefix == f"{replicas - 1}."


def test_one_replica_is_the_deployment_of_before_with_no_peers(chart) -> None:
    objects = _objects(chart, 1)
    deployment = hs.find(objects, "Deployment", "astrohub-archive")
    assert "serviceName" not in deployment["spec"]
    assert not [o for o in objects if o["kind"] == "StatefulSet" or o["metadata"]["name"] == "astrohub-archive-peers"]
    assert "ASTROHUB_ARCHIVE_PEERS" not in hs.find(objects, "ConfigMap", "astrohub-archive")["data"]
    assert all(e["name"] != "ASTROHUB_ARCHIVE_REPLICA" for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"])


def test_each_replica_can_keep_its_jobs_on_a_claim_of_its_own(chart) -> None:
    """``archive.jobs.persistentVolumeClaimTemplate`` gives each pod of the StatefulSet a claim of its own (a
    volumeClaimTemplate) for its TAP jobs, mounted where the ConfigMap puts the job store, so they outlive a
    restart; left out, the emptyDir of before; with one replica (a Deployment, no claims per pod) a render
    error that says so; the schema refuses a size that is no quantity."""
    import helm_python

    template = {"storageClassName": "fast-ssd", "size": "2Gi"}
    objects = hs.manifests(hs.render(chart, {"archive": {"replicas": 2, "hips": SHARED_HIPS, "jobs": {"persistentVolumeClaimTemplate": template}}}))
    sts = hs.find(objects, "StatefulSet", "astrohub-archive")
    for version in hs.KUBE_VERSIONS:
        kubernetes_validate.validate(sts, version, strict=True)
    [claim] = sts["spec"]["volumeClaimTemplates"]
    assert claim["spec"] == {"accessModes": ["ReadWriteOnce"], "storageClassName": "fast-ssd",
                             "resources": {"requests": {"storage": "2Gi"}}}
    pod = sts["spec"]["template"]["spec"]
    assert claim["metadata"]["name"] not in {v["name"] for v in pod["volumes"]}  # the claim, not an emptyDir
    jobs = hs.find(objects, "ConfigMap", "astrohub-archive")["data"]["ASTROHUB_ARCHIVE_JOBS"]
    [mount] = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == claim["metadata"]["name"]]
    assert Path(jobs).parent == Path(mount["mountPath"])
    # no storage class named: the cluster's default
    objects = hs.manifests(hs.render(chart, {"archive": {"replicas": 3, "hips": SHARED_HIPS,
                                                  "jobs": {"persistentVolumeClaimTemplate": {"size": "1Gi"}}}}))
    [claim] = hs.find(objects, "StatefulSet", "astrohub-archive")["spec"]["volumeClaimTemplates"]
    assert "storageClassName" not in claim["spec"] and claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
    # left out: an emptyDir per pod, as before
    sts = hs.find(_objects(chart, 2), "StatefulSet", "astrohub-archive")
    assert "volumeClaimTemplates" not in sts["spec"]
    assert {"name": "state", "emptyDir": {}} in sts["spec"]["template"]["spec"]["volumes"]
    with pytest.raises(helm_python.HelmRenderError, match=r"archive\.jobs\.persistentVolumeClaimTemplate: needs "
                                                          r"archive\.replicas > 1"):
        hs.render(chart, {"archive": {"replicas": 1, "jobs": {"persistentVolumeClaimTemplate": template}}})
    with pytest.raises(Exception, match="persistentVolumeClaimTemplate|size|pattern|oneOf"):
        hs.render(chart, {"archive": {"replicas": 2, "hips": SHARED_HIPS,
                                  "jobs": {"persistentVolumeClaimTemplate": {"size": "lots"}}}})


def test_several_replicas_need_one_shared_folder_for_the_users_hips(chart) -> None:
    """A user's HiPS (``hips/~/``) is kept in the HiPS folder of the pod its upload reached, and its tiles, the
    list and DELETE go to whichever pod the Service picks: with an ``emptyDir`` per pod they would answer 404
    at random (and each pod would count the budgets alone). Several replicas need one claim they share
    (ReadWriteMany): the render fails without one, naming the key; the production example has one."""
    import helm_python

    with pytest.raises(helm_python.HelmRenderError, match=r"archive\.hips\.persistentVolumeClaim: .*archive\.replicas"):
        hs.render(chart, {"archive": {"replicas": 2}})
    hs.render(chart, {"archive": {"replicas": 1}})  # one pod: its emptyDir is the one folder
    production = hs.overlay("production")
    assert production["archive"]["replicas"] > 1 and production["archive"]["hips"]["persistentVolumeClaim"]
    sts = hs.find(hs.manifests(hs.render(chart, production)), "StatefulSet", "astrohub-archive")
    assert {"name": "hips", "persistentVolumeClaim": production["archive"]["hips"]["persistentVolumeClaim"]} in \
        sts["spec"]["template"]["spec"]["volumes"]
