"""Real pods from the chart's values: KubeSpawner user pods and dask-gateway worker pods, built offline.

User pods: ``astrohub_hub.configure(c, <jupyterhub.custom.astrohub of an overlay>)`` (what the hub's
``hub.extraConfig`` runs), then a real ``KubeSpawner`` with a stand-in user builds the pod manifest for
each profile the user is offered (``load_user_options`` applies the ``kubespawner_override``) and
the ``modify_pod_hook`` runs as in ``KubeSpawner._start``. No API server exists here: the spawner
gets a kubeconfig naming an unreachable address, which it loads but never calls.

Worker pods and Dask limits: the dask-gateway server's own ``KubeController.make_pod`` with a
``KubeClusterConfig`` configured as the chart's gateway does (backend values, then
``gateway.extraConfig`` run with the rendered ``astrohub-gateway`` ConfigMap in the environment,
which calls ``astrohub_hub.gateway.configure_gateway_kubernetes``).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import kubernetes_validate
import pytest
from traitlets.config import Config

from astrohub_hub import configure

_spec = importlib.util.spec_from_file_location("_helm_support", Path(__file__).with_name("_helm_support.py"))
hs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hs)

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: offline, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: offline, user: {token: offline}}]
contexts: [{name: offline, context: {cluster: offline, user: offline, namespace: astro}}]
current-context: offline
"""


@pytest.fixture(autouse=True)
def offline_kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kubernetes_asyncio.config import kube_config

    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG)
    monkeypatch.setenv("KUBECONFIG", str(path))
    # the client library reads KUBECONFIG once, at import (which an earlier test may have done)
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(path))


class FakeUser:
    """What KubeSpawner reads of a hub user (name, id, url, server, groups)."""

    def __init__(self, name: str, groups: list[str]) -> None:
        from jupyterhub.objects import Server

        self.name = self.escaped_name = name
        self.id = 7
        self.url = f"/user/{name}/"
        self.groups = [SimpleNamespace(name=g) for g in groups]
        self.server = Server()
        self.settings: dict[str, Any] = {}
        self.spawners: dict[str, Any] = {}


def z2jh_config(merged: dict[str, Any]) -> Config:
    """What Zero to JupyterHub 4.4.0's jupyterhub_config.py sets before running hub.extraConfig.

    Only the traits our configuration interacts with, set the way z2jh sets them (from the
    ``jupyterhub`` values): spawner class, image, ``environment`` from ``singleuser.extraEnv``,
    ``profile_list`` from ``singleuser.profileList``, ``cmd`` from ``singleuser.cmd``, the per-user home claim of dynamic storage,
    ``default_url``, the idle culler service and role from ``cull`` (z2jh's
    ``files/hub/jupyterhub_config.py``), then ``hub.services`` and ``hub.loadRoles``.
    """
    z2jh = merged["jupyterhub"]
    single = z2jh["singleuser"]
    c = Config()
    c.JupyterHub.spawner_class = "kubespawner.KubeSpawner"
    c.KubeSpawner.image = f"{single['image']['name']}:{single['image']['tag']}"
    c.KubeSpawner.environment = single["extraEnv"]
    if single.get("cmd") is not None:  # z2jh's default: jupyterhub-singleuser, the user image's command too
        c.KubeSpawner.cmd = single["cmd"]
    c.KubeSpawner.profile_list = single["profileList"]
    if single["storage"]["type"] == "dynamic":
        dynamic = single["storage"]["dynamic"]
        c.KubeSpawner.volumes = [
            {"name": dynamic["volumeNameTemplate"], "persistentVolumeClaim": {"claimName": dynamic.get("pvcNameTemplate") or "claim-{user_server}"}}
        ]
        c.KubeSpawner.volume_mounts = [
            {"mountPath": single["storage"]["homeMountPath"], "name": dynamic["volumeNameTemplate"]}
        ]
    c.KubeSpawner.volumes.extend(single["storage"].get("extraVolumes") or [])
    c.KubeSpawner.volume_mounts.extend(single["storage"].get("extraVolumeMounts") or [])
    c.Spawner.default_url = single["defaultUrl"]
    c.JupyterHub.services = []
    c.JupyterHub.load_roles = []
    if z2jh["cull"]["enabled"]:
        c.JupyterHub.services.append({"name": "jupyterhub-idle-culler", "command": culler_command(z2jh["cull"])})
        c.JupyterHub.load_roles.append({
            "name": "jupyterhub-idle-culler",
            "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers",
                       *(["admin:users"] if z2jh["cull"]["users"] else [])],
            "services": ["jupyterhub-idle-culler"],
        })
    for name, service in z2jh["hub"]["services"].items():  # tokens come from the generated Secret `hub`
        c.JupyterHub.services.append({"name": name, **service, "api_token": f"z2jh-generated-{name}"})
    c.JupyterHub.load_roles.extend({"name": name, **role} for name, role in z2jh["hub"]["loadRoles"].items())
    return c


def culler_command(cull: dict[str, Any]) -> list[str]:
    """The jupyterhub-idle-culler command z2jh 4.4.0 builds from the ``cull`` values (base_url /)."""
    command = ["python3", "-m", "jupyterhub_idle_culler", "--url=http://localhost:8081/hub/api"]
    for key, flag in (("timeout", "--timeout"), ("every", "--cull-every"), ("concurrency", "--concurrency")):
        if cull.get(key):
            command.append(f"{flag}={cull[key]}")
    if cull.get("users"):
        command.append("--cull-users")
    if not cull.get("adminUsers"):
        command.append("--cull-admin-users=false")
    if cull.get("removeNamedServers"):
        command.append("--remove-named-servers")
    if cull.get("maxAge"):
        command.append(f"--max-age={cull['maxAge']}")
    return command


def hub_config(chart, overlay: str) -> tuple[Config, dict[str, Any]]:
    """The hub's traitlets config as the chart builds it: z2jh's own settings, then hub.extraConfig."""
    return hub_config_for(chart, hs.overlay(overlay))


def hub_config_for(chart, values: dict[str, Any]) -> tuple[Config, dict[str, Any]]:
    """:func:`hub_config` for any values."""
    merged = hs.merged_values(chart, values)
    c = z2jh_config(merged)
    extra = merged["jupyterhub"]["hub"]["extraConfig"]
    assert list(extra) == ["astrohub"] and "configure(c, get_config(\"custom.astrohub\"))" in extra["astrohub"]
    configure(c, merged["jupyterhub"]["custom"]["astrohub"])  # what that extraConfig runs
    return c, merged


async def _pods(c: Config, user: FakeUser) -> dict[str, dict[str, Any]]:
    from jupyterhub.objects import Hub
    from kubernetes_asyncio.client import ApiClient
    from kubespawner import KubeSpawner

    pods = {}
    probe = KubeSpawner(config=c, user=user, hub=Hub(), _mock=True, api_token="t", oauth_client_id="c")
    profiles = probe.profile_list(probe) if callable(probe.profile_list) else probe.profile_list
    await probe.api.api_client.close()
    async with ApiClient() as client:
        for profile in profiles:
            spawner = KubeSpawner(config=c, user=user, hub=Hub(), _mock=True, api_token="t", oauth_client_id="c")
            spawner.user_options = {"profile": profile["slug"]}
            await spawner.load_user_options()
            pod = await spawner.get_pod_manifest()
            if spawner.modify_pod_hook:  # as KubeSpawner._start does
                pod = spawner.modify_pod_hook(spawner, pod)
            pods[profile["slug"]] = client.sanitize_for_serialization(pod)
            await spawner.api.api_client.close()
    return pods


def user_pods(c: Config, name: str, groups: list[str]) -> dict[str, dict[str, Any]]:
    """One pod manifest per profile offered to that user, keyed by profile slug."""
    return asyncio.run(_pods(c, FakeUser(name, groups)))


def _bytes(size: str) -> int:
    units = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    return int(float(size[:-1]) * units[size[-1]]) if size[-1] in units else int(size)


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container["env"]}


USERS = {  # (overlay, user) -> groups
    ("default", "alice"): [],
    ("dev", "alice"): [],
    ("production", "alice"): ["survey-team"],
    ("teaching-class", "student1"): ["astro101"],
    ("teaching-class", "teacher1"): ["astro101-teachers"],
}


@pytest.mark.parametrize(("overlay", "user"), list(USERS))
def test_user_pods_for_every_offered_profile(chart, overlay: str, user: str) -> None:
    c, merged = hub_config(chart, overlay)
    hub = merged["jupyterhub"]["custom"]["astrohub"]
    groups = USERS[(overlay, user)]
    pods = user_pods(c, user, groups)

    offered = [p for p in hub["profiles"] if not p.get("groups") or set(p["groups"]) & set(groups)]
    assert list(pods) == [p["slug"] for p in offered]
    gateway = hub["daskGateway"]
    roots = hub["storage"]
    kube = hub.get("kubernetes") or {}
    for profile in offered:
        container = pods[profile["slug"]]["spec"]["containers"][0]
        limits, requests = container["resources"].get("limits", {}), container["resources"].get("requests", {})
        assert float(limits["cpu"]) == profile["cpuLimit"]
        assert int(limits["memory"]) == _bytes(profile["memLimit"])
        if "cpuGuarantee" in profile:
            assert float(requests["cpu"]) == profile["cpuGuarantee"]
        if "memGuarantee" in profile:
            assert int(requests["memory"]) == _bytes(profile["memGuarantee"])
        assert container["image"] == "ghcr.io/astrohub/user:0.1.0"

        env = _env(container)
        assert env["DASK_GATEWAY__ADDRESS"] == gateway["address"]
        assert env["DASK_GATEWAY__PROXY_ADDRESS"] == gateway["proxyAddress"]
        assert env["DASK_GATEWAY__PUBLIC_ADDRESS"] == gateway["publicAddress"]
        assert env["DASK_GATEWAY__AUTH__TYPE"] == "jupyterhub"
        # a kernel LocalCluster's dashboard (a private socket, and its link) is the user server's own, as locally
        assert "DASK_DISTRIBUTED__DASHBOARD__LINK" not in env
        assert env["PLATFORM_ARCHIVE_URL"] == "http://astrohub-archive:8080/services/archive/"
        assert env["PLATFORM_DATASETS"] == roots["datasets"]
        assert env["PLATFORM_USER"] == user
        assert json.loads(env["PLATFORM_GROUPS"]) == sorted(groups)

        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in pods[profile["slug"]]["spec"]["volumes"]}
        for dataset in kube.get("datasets", []):
            mount = mounts[f"{roots['datasets']}/{dataset['name']}"]
            assert mount["readOnly"] is True
            source = volumes[mount["name"]]
            assert ("nfs" in source) == ("nfs" in dataset)
        if merged["jupyterhub"]["singleuser"]["storage"]["type"] == "dynamic":  # z2jh's home claim is kept
            assert mounts[merged["jupyterhub"]["singleuser"]["storage"]["homeMountPath"]]["name"] == f"volume-{user}"
        if kube.get("home"):
            home = mounts[roots["home"]]
            assert home["subPath"] == user  # {username} expanded by KubeSpawner
            assert volumes[home["name"]]["persistentVolumeClaim"]["claimName"] == "astrohub-home"
        pod = pods[profile["slug"]]
        for version in hs.KUBE_VERSIONS:  # the whole pod, as KubeSpawner would submit it
            kubernetes_validate.validate(pod, version, strict=True)
        setup = [c for c in pod["spec"].get("initContainers", []) if c["name"] == "astrohub-storage-setup"]
        if kube.get("home") or (kube.get("groupStorage") and groups):
            script = setup[0]["command"][-1]
            assert {m["name"] for m in setup[0]["volumeMounts"]} <= set(volumes)
            if kube.get("home"):
                assert f"/mnt/astrohub/home/{user} " in script and "chmod 0700" in script
            for group in groups if kube.get("groupStorage") else []:
                assert f"/mnt/astrohub/groups/{group} " in script
            assert "chown 1000:100" in script
        else:
            assert setup == []
        group_mounts = {p: m for p, m in mounts.items() if p.startswith(roots["groupsRoot"] + "/")}
        if kube.get("groupStorage"):
            quotas = {f"{roots['groupsRoot']}/.astrohub-quotas": ".astrohub-quotas"} if groups else {}
            assert {p: m["subPath"] for p, m in group_mounts.items()} == {
                **{f"{roots['groupsRoot']}/{g}": g for g in groups}, **quotas}
            # read-write group folders; the operator's quotas beside them read-only (group13)
            assert all(m.get("readOnly", False) is (m["subPath"] == ".astrohub-quotas") for m in group_mounts.values())
        else:
            assert group_mounts == {}


@pytest.mark.parametrize("overlay", list(hs.OVERLAYS))
def test_services_and_roles_registered_by_z2jh_survive_configure(chart, overlay: str) -> None:
    """dask-gateway and the archive are hub services through hub.services (z2jh generates their tokens)."""
    c, merged = hub_config(chart, overlay)
    services = {s["name"]: s for s in c.JupyterHub.services}
    for name, wanted in merged["jupyterhub"]["hub"]["services"].items():
        assert services[name]["api_token"] == f"z2jh-generated-{name}"
        assert services[name]["url"] == wanted["url"]
    assert len(c.JupyterHub.services) == len(services)  # no service registered twice
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert roles["archive-service"]["scopes"] == ["read:users:groups"]
    assert roles["archive-service"]["services"] == ["archive"]
    # the gateway reads a shared cluster's owner's groups (is she still in the group?), and nothing else
    gateway = merged["dask-gateway"]["gateway"]["auth"]["jupyterhub"]["jupyterhubServiceName"]
    assert roles[f"service-{gateway}"]["services"] == [gateway]
    assert roles[f"service-{gateway}"]["scopes"] == ["read:users:name", "read:users:groups"]


# Idle culling per overlay: (cull.timeout, cull.every, cull.maxAge) as the overlays set them.
CULL = {
    "default": (3600, 300, 0),
    "dev": (900, 300, 0),
    "production": (3600, 300, 604800),
    "teaching-class": (1800, 300, 0),
    "offline": (3600, 300, 0),
}


@pytest.mark.parametrize("overlay", list(hs.OVERLAYS))
def test_idle_servers_are_culled_as_the_values_say(chart, overlay: str) -> None:
    """jupyterhub.cull renders into the hub's configuration and survives our configure()."""
    assert set(CULL) == set(hs.OVERLAYS)
    c, merged = hub_config(chart, overlay)
    cull = merged["jupyterhub"]["cull"]
    timeout, every, max_age = CULL[overlay]
    assert (cull["enabled"], cull["timeout"], cull["every"], cull["maxAge"]) == (True, timeout, every, max_age)
    services = {s["name"]: s for s in c.JupyterHub.services}
    command = services["jupyterhub-idle-culler"]["command"]
    assert f"--timeout={timeout}" in command and f"--cull-every={every}" in command
    assert (f"--max-age={max_age}" in command) == bool(max_age)
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert roles["jupyterhub-idle-culler"]["services"] == ["jupyterhub-idle-culler"]
    assert {"list:users", "read:users:activity", "delete:servers"} <= set(roles["jupyterhub-idle-culler"]["scopes"])


def test_culling_can_be_turned_off(chart) -> None:
    c, _ = hub_config_for(chart, {"jupyterhub": {"cull": {"enabled": False}}})
    assert "jupyterhub-idle-culler" not in {s["name"] for s in c.JupyterHub.services}


@pytest.mark.parametrize("overlay", list(hs.OVERLAYS))
def test_dask_gateway_authenticates_through_the_hub_service(chart, overlay: str, monkeypatch) -> None:
    """gateway.auth (jupyterhub, token from the Secret `hub`) and hub.services.dask-gateway agree."""
    from dask_gateway_server.auth import JupyterHubAuthenticator

    from astrohub_hub.settings import HubSettings

    merged = hs.merged_values(chart, hs.overlay(overlay))
    z2jh, gateway = merged["jupyterhub"], merged["dask-gateway"]["gateway"]
    assert gateway["auth"]["type"] == "jupyterhub"
    jh = gateway["auth"]["jupyterhub"]
    service = jh["jupyterhubServiceName"]
    assert service == HubSettings.model_validate(z2jh["custom"]["astrohub"]).dask_gateway.service_name
    assert z2jh["hub"]["services"][service]["url"].startswith("http://traefik-")
    # the token: z2jh writes hub.services.<name>.apiToken into its Secret, named `hub` (no fullnameOverride)
    assert jh.get("apiToken") is None, "no token in values"
    assert z2jh["fullnameOverride"] == "" and jh["apiTokenFromSecretName"] == "hub"
    assert jh["apiTokenFromSecretKey"] == f"hub.services.{service}.apiToken"
    assert jh["apiUrl"] == "http://hub:8081" + z2jh["hub"]["baseUrl"].rstrip("/") + "/hub/api"
    # the hub's proxy forwards /services/<name>/ unchanged to Traefik: the gateway serves that prefix
    assert gateway["prefix"] == f"/services/{service}"

    c = gateway_config(merged, hs.manifests(hs.render(chart, hs.overlay(overlay))), monkeypatch)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "mounted-from-the-secret-hub")
    monkeypatch.delenv("JUPYTERHUB_SERVICE_NAME", raising=False)
    auth = JupyterHubAuthenticator(config=c)
    assert auth.jupyterhub_api_url == jh["apiUrl"]
    assert auth.jupyterhub_api_token == "mounted-from-the-secret-hub"
    # only tokens with access:services!service=dask-gateway may use the gateway
    assert auth.jupyterhub_service_name == service and auth.use_service_access_scopes is True


def test_class_profile_only_for_class_members(chart) -> None:
    c, _ = hub_config(chart, "teaching-class")
    assert "astro101" in user_pods(c, "student1", ["astro101"])
    assert "astro101" not in user_pods(c, "teacher1", ["astro101-teachers"])


def _class_pods(c: Config, name: str, groups: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    user = FakeUser(name, [])
    user.groups = [SimpleNamespace(name=g, properties=props) for g, props in groups.items()]
    return asyncio.run(_pods(c, user))


def test_class_and_workspace_folders_pinned_profiles_and_exams_in_rendered_pods(chart) -> None:
    """Issue 19 item 7: what the classes service records on hub groups shapes the user pods KubeSpawner builds."""
    import time

    c, merged = hub_config(chart, "teaching-class")
    now = time.time()
    cls = {"astrohub-folder": False, "class": "stars", "astrohub-profile": "astro101"}
    student = _class_pods(c, "sam", {"stars-students": cls, "ws-survey": {"astrohub-folder": False,
                                                                         "workspace": "survey"}})
    teacher = _class_pods(c, "tina", {"stars-instructors": cls})
    exam = _class_pods(c, "sam", {"stars-students": {**cls, "astrohub-exam": {"start": now - 60, "end": now + 60}}})
    # The pinned profile is the only one offered, to students and instructors alike (no group lists them).
    assert list(student) == list(teacher) == list(exam) == ["astro101"]
    resources = student["astro101"]["spec"]["containers"][0]["resources"]
    assert (float(resources["requests"]["cpu"]), float(resources["limits"]["cpu"])) == (0.5, 2.0)
    during = exam["astro101"]["spec"]["containers"][0]["resources"]
    assert during["requests"] == during["limits"] and int(during["limits"]["memory"]) == 4 * 2**30  # requests = limits
    roots = merged["jupyterhub"]["custom"]["astrohub"]["storage"]
    base = roots["groupsRoot"].rstrip("/").rpartition("/")[0]

    def mounts(pod):
        return {m["mountPath"]: (m["subPath"], m.get("readOnly", False))
                for m in pod["spec"]["containers"][0]["volumeMounts"] if m["name"] == "groups"}

    notices = {f"{base}/workspaces/.astrohub-deleted": (".workspaces/.astrohub-deleted", True)}
    assert mounts(student["astro101"]) == {
        f"{base}/classes/stars/materials": (".classes/stars/materials", True),
        f"{base}/classes/stars/submissions/sam": (".classes/stars/submissions/sam", False),
        f"{base}/workspaces/survey": (".workspaces/survey", False),
        f"{base}/workspaces/.astrohub-quotas": (".workspaces/.astrohub-quotas", True),  # the operator's quotas
        **notices,
    }  # and no group folder for the class's or the workspace's hub groups
    assert mounts(teacher["astro101"]) == {f"{base}/classes/stars": (".classes/stars", False), **notices}
    setup = next(i for i in student["astro101"]["spec"]["initContainers"] if i["name"] == "astrohub-storage-setup")
    assert "/mnt/astrohub/groups/.classes/stars/submissions/sam " in setup["command"][-1]
    # A former member, in no workspace now, reads who deleted it and when (platform_lib.storage, from the notice
    # <workspaces root>/.astrohub-deleted/<name>.json): pods mount a workspace by subPath, so her kernel saw no
    # notice and said only "no such space". Every pod mounts the notices read-only; the set-up container makes
    # the folder 0755 (the classes service writes it), not 2770 as the folders users write.
    former = _class_pods(c, "ann", {})
    assert all(mounts(pod) == notices for pod in former.values()), [mounts(pod) for pod in former.values()]
    setup = next(i for i in next(iter(former.values()))["spec"]["initContainers"]
                 if i["name"] == "astrohub-storage-setup")["command"][-1]
    assert "mkdir -p /mnt/astrohub/groups/.workspaces/.astrohub-deleted && chown 1000:100 " \
           "/mnt/astrohub/groups/.workspaces/.astrohub-deleted && chmod 0755 " in setup, setup
    for pod in (student["astro101"], teacher["astro101"], exam["astro101"], *former.values()):
        for version in hs.KUBE_VERSIONS:
            kubernetes_validate.validate(pod, version, strict=True)


def test_collaboration_is_off_in_user_pods_and_on_for_a_collaborating_sharer(chart) -> None:
    """Issue 19 item 4: the user image has jupyter-collaboration; pods turn it off unless the sharer turned it on."""
    c, _merged = hub_config(chart, "teaching-class")
    ws = {"astrohub-folder": False, "workspace": "survey", "astrohub-collaborative": ["sam"]}
    sharer, member = (next(iter(_class_pods(c, name, {"ws-survey": ws}).values())) for name in ("sam", "bob"))
    on, off = (pod["spec"]["containers"][0] for pod in (sharer, member))
    # Off: z2jh's singleuser.cmd (jupyterhub-singleuser) with the argument that keeps it off; the image's own
    # configuration turns it off too, for a chart that unsets singleuser.cmd (the image's command then runs).
    assert _merged["jupyterhub"]["singleuser"]["cmd"] == "jupyterhub-singleuser"
    assert off["args"] == ["jupyterhub-singleuser", "--YDocExtension.disable_rtc=True"], off.get("args")
    assert "ASTROHUB_COLLABORATIVE" not in _env(off)
    dockerfile = (Path(__file__).resolve().parents[2] / "images" / "user" / "Dockerfile").read_text()
    assert '{"YDocExtension": {"disable_rtc": true}}' in dockerfile
    assert on["args"][0] == "jupyterhub-singleuser"
    assert "--YDocExtension.disable_rtc=False" in on["args"] and _env(on)["ASTROHUB_COLLABORATIVE"] == "1"
    assert any(a.startswith("--YDocExtension.session_store_path=/tmp/") for a in on["args"])
    for pod in (sharer, member):
        for version in hs.KUBE_VERSIONS:
            kubernetes_validate.validate(pod, version, strict=True)


def test_nbgrader_validate_is_on_in_a_class_students_pod_only(chart, tmp_path, monkeypatch) -> None:
    """nbgrader's Validate (server extension and Lab button) was the local platform's only: the user image turns
    both off for everyone. A class's student's pod now runs ``jupyterhub-singleuser`` with the server extension on
    and the image's ``with_validate`` folder first on ``JUPYTER_CONFIG_PATH``, whose page config, read by
    JupyterLab's own reader over a page config that disables the button as the image's does, turns it back on.
    The instructor's pod and anyone else's are left as the image has them."""
    from jupyterlab.commands import disable_extension  # what `jupyter labextension disable` calls
    from jupyterlab_server.config import get_static_page_config

    from astrohub_hub.kubernetes import LAB_CONFIG_WITH_VALIDATE, VALIDATE_EXTENSION

    c, _merged = hub_config(chart, "teaching-class")
    cls = {"astrohub-folder": False, "class": "stars"}
    ws = {"astrohub-folder": False, "workspace": "survey", "astrohub-collaborative": ["sam"]}
    student, sharer, teacher, other = (
        next(iter(_class_pods(c, name, groups).values()))["spec"]["containers"][0] for name, groups in (
            ("sam", {"stars-students": cls}), ("sam", {"stars-students": cls, "ws-survey": ws}),
            ("tina", {"stars-instructors": cls}), ("ann", {"ws-survey": ws})))
    on = f"--ServerApp.jpserver_extensions={VALIDATE_EXTENSION}=True"
    for container in (student, sharer):
        assert container["args"][0] == "jupyterhub-singleuser" and on in container["args"], container.get("args")
        assert _env(container)["JUPYTER_CONFIG_PATH"] == LAB_CONFIG_WITH_VALIDATE
    assert "--YDocExtension.disable_rtc=False" in sharer["args"]  # collaboration's arguments kept beside it
    for container in (teacher, other):
        assert on not in (container.get("args") or []) and "JUPYTER_CONFIG_PATH" not in _env(container)

    repo = Path(__file__).resolve().parents[2]
    dockerfile = (repo / "images" / "user" / "Dockerfile").read_text()
    assert f"COPY images/user/jupyter_config/with_validate {LAB_CONFIG_WITH_VALIDATE}\n" in dockerfile
    assert "jupyter labextension disable --level=sys_prefix @jupyter/nbgrader:validate-assignment" in dockerfile
    assert VALIDATE_EXTENSION == "astrohub_server.validate"  # the same off-loop Validate as the local platform
    assert ("jupyter server extension disable --sys-prefix nbgrader.server_extensions.formgrader "
            "nbgrader.server_extensions.validate_assignment") in dockerfile  # nbgrader's own: off for everyone
    image = tmp_path / "image-config"  # the image's sys-prefix page config, made as its command makes it
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(image))
    disable_extension("@jupyter/nbgrader:validate-assignment", level="user")
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "user-config"))  # no config of the developer's
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(image))
    assert get_static_page_config(level="all")["disabledExtensions"].get("@jupyter/nbgrader:validate-assignment")
    folder = repo / "images" / "user" / "jupyter_config" / "with_validate"
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", os.pathsep.join([str(folder), str(image)]))
    assert not get_static_page_config(level="all")["disabledExtensions"].get("@jupyter/nbgrader:validate-assignment")
    for container in (student, sharer, teacher, other):
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [container]}}
        kubernetes_validate.validate(pod, hs.KUBE_VERSIONS[-1], strict=True)


@pytest.mark.parametrize("overlay", list(hs.OVERLAYS))
def test_user_pods_are_told_the_charts_cull_timeout(chart, overlay: str) -> None:
    """The chart's jupyterhub.cull owns the timeout; user pods get it for the activity reports and the warning."""
    c, _ = hub_config(chart, overlay)
    pod = next(iter(user_pods(c, "alice", []).values()))
    env = _env(pod["spec"]["containers"][0])
    timeout = CULL[overlay][0]
    assert env["ASTROHUB_CULL_TIMEOUT"] == str(timeout)
    assert float(env["ASTROHUB_ACTIVITY_INTERVAL"]) <= timeout / 4 and int(env["ASTROHUB_CULL_WARNING"]) <= timeout / 2


def test_configure_rejects_a_profile_for_an_unknown_group(chart) -> None:
    from astrohub_hub.errors import HubConfigError
    from pydantic import ValidationError

    hub = hs.hub_values(chart, hs.overlay("teaching-class"))
    hub["profiles"][1]["groups"] = ["astro999"]
    with pytest.raises((HubConfigError, ValidationError), match="astro999"):
        configure(Config(), hub)


# --- dask-gateway worker pods ------------------------------------------------------------------

# The backend fields the upstream gateway configuration forwards to KubeClusterConfig
# (dask-gateway 2026.3.0, templates/gateway/configmap.yaml).
FORWARDED = [
    ("worker_cores", "worker.cores.request"),
    ("worker_cores_limit", "worker.cores.limit"),
    ("worker_memory", "worker.memory.request"),
    ("worker_memory_limit", "worker.memory.limit"),
    ("worker_threads", "worker.threads"),
    ("worker_extra_container_config", "worker.extraContainerConfig"),
    ("worker_extra_pod_config", "worker.extraPodConfig"),
]


def _prop(values: dict[str, Any], key: str) -> Any:
    for part in key.split("."):
        if not isinstance(values, dict) or part not in values:
            return None
        values = values[part]
    return values


def gateway_config(merged: dict[str, Any], objects: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> Config:
    """The gateway's traitlets config: upstream forwarding of backend values, then our extraConfig.

    ``gateway.env`` is resolved against the rendered ``objects`` (ConfigMap keys), as the kubelet does.
    """
    values = merged["dask-gateway"]
    c = Config()
    backend = values["gateway"]["backend"]
    c.KubeClusterConfig.image = f"{backend['image']['name']}:{backend['image']['tag']}"
    for field, prop in FORWARDED:
        value = _prop(backend, prop)
        if value is not None:
            setattr(c.KubeClusterConfig, field, value)
    auth = values["gateway"]["auth"]
    # gateway.auth.jupyterhub as the upstream gateway configmap turns it into traits (jupyterhubServiceName:
    # from the 2026.3.0 values schema; its template was not available offline to compare)
    if auth["type"] == "jupyterhub":
        c.DaskGateway.authenticator_class = "dask_gateway_server.auth.JupyterHubAuthenticator"
        c.JupyterHubAuthenticator.jupyterhub_api_url = auth["jupyterhub"]["apiUrl"]
        if auth["jupyterhub"].get("jupyterhubServiceName"):
            c.JupyterHubAuthenticator.jupyterhub_service_name = auth["jupyterhub"]["jupyterhubServiceName"]
    for env in values["gateway"]["env"]:
        ref = env["valueFrom"]["configMapKeyRef"]
        monkeypatch.setenv(env["name"], hs.find(objects, "ConfigMap", ref["name"])["data"][ref["key"]])
    for name, code in sorted(values["gateway"]["extraConfig"].items()):
        exec(compile(code, f"gateway.extraConfig.{name}", "exec"), {"c": c})  # noqa: S102 - the chart's code
    return c


@pytest.mark.parametrize("overlay", list(hs.OVERLAYS))
def test_worker_pods_mount_the_datasets_and_run_the_user_image(chart, overlay: str, monkeypatch) -> None:
    from dask_gateway_server.backends.kubernetes.backend import KubeClusterConfig
    from dask_gateway_server.backends.kubernetes.controller import KubeController

    merged = hs.merged_values(chart, hs.overlay(overlay))
    objects = hs.manifests(hs.render(chart, hs.overlay(overlay)))
    c = gateway_config(merged, objects, monkeypatch)
    controller = KubeController(gateway_instance="astrohub-dask-gateway", api_url="http://api:8000/api")
    pod = controller.make_pod(hs.NAMESPACE, "c1", KubeClusterConfig(config=c), is_worker=True)

    container = pod["spec"]["containers"][0]
    image = merged["jupyterhub"]["singleuser"]["image"]
    assert container["image"] == f"{image['name']}:{image['tag']}"  # one lock: no client/worker skew
    worker_mounts = [m for m in container["volumeMounts"] if m["name"] != "dask-credentials"]
    worker_volumes = [v for v in pod["spec"]["volumes"] if v["name"] != "dask-credentials"]

    hub_c, _ = hub_config(chart, overlay)
    user_pod = next(iter(user_pods(hub_c, "alice", []).values()))
    user_container = user_pod["spec"]["containers"][0]
    datasets_root = merged["jupyterhub"]["custom"]["astrohub"]["storage"]["datasets"]
    user_mounts = [m for m in user_container["volumeMounts"] if m["mountPath"].startswith(datasets_root + "/")]
    assert worker_mounts == user_mounts
    names = {m["name"] for m in user_mounts}
    assert worker_volumes == [v for v in user_pod["spec"]["volumes"] if v["name"] in names]
    for version in hs.KUBE_VERSIONS:
        kubernetes_validate.validate(pod, version, strict=True)
    # the credentials volume of dask-gateway itself is kept
    assert any(m["name"] == "dask-credentials" for m in container["volumeMounts"])


def _local(args: list[str], options: dict[str, str]) -> list[str]:
    """A pod's command line with the values of ``options`` replaced (addresses and ports for this machine)."""
    out = list(args)
    for i, arg in enumerate(args[:-1]):
        if arg in options:
            out[i + 1] = options[arg]
    return out


def test_scheduler_and_worker_pods_run_and_warn_the_client_before_the_idle_shutdown(chart, tmp_path,
                                                                                     monkeypatch) -> None:
    """The chart's scheduler and worker pods, as dask-gateway's ``KubeController.make_pod`` builds them from the
    rendered gateway configuration, run their command lines here: the scheduler's loads
    ``platform_lib.idle_notice`` beside dask-gateway's preload, and a client running nothing is warned before the
    idle shutdown, then told of it. Before, the pods ran dask-gateway's default ``dask-scheduler`` /
    ``dask-worker``, scripts that distributed 2026.6 removed (the user image's lock has 2026.8), and no notice.

    No Kubernetes API server or cluster TLS secret here: the commands' executables come from this environment's
    bin folder (the user image's lock), addresses and ports are made local (``tcp`` on 127.0.0.1, port 0), the
    idle timeout is 5 s, and the pod's environment is kept except the gateway's API (not there: only the
    heartbeats fail) and the TLS files."""
    import sys

    from dask_gateway_server.backends.kubernetes.backend import KubeClusterConfig
    from dask_gateway_server.backends.kubernetes.controller import KubeController
    from distributed import Client
    from gateway_scheduler import NO_GATEWAY, hears_idle_shutdown, running

    values = hs.overlay("production")
    c = gateway_config(hs.merged_values(chart, values), hs.manifests(hs.render(chart, values)), monkeypatch)
    config = KubeClusterConfig(config=c)
    controller = KubeController(gateway_instance="astrohub-dask-gateway", api_url="http://api:8000/api")
    pods = [controller.make_pod(hs.NAMESPACE, "c1", config, is_worker=w) for w in (False, True)]
    for pod in pods:
        kubernetes_validate.validate(pod, hs.KUBE_VERSIONS[-1], strict=True)
    scheduler, worker = (pod["spec"]["containers"][0] for pod in pods)
    sched_args = scheduler["args"]
    assert sched_args[:4] == ["dask", "scheduler", "--preload", "platform_lib.idle_notice"], sched_args
    assert "dask_gateway.scheduler_preload" in sched_args and worker["args"][:2] == ["dask", "worker"]

    bin_dir = Path(sys.executable).parent
    env = {e["name"]: e["value"] for e in scheduler["env"] if "value" in e and "__TLS__" not in e["name"]}
    env = {**os.environ, **env, **NO_GATEWAY}
    sched_argv = _local(sched_args, {"--protocol": "tcp", "--host": "127.0.0.1", "--port": "0",
                                     "--dashboard-address": "127.0.0.1:0", "--dg-api-address": "127.0.0.1:0",
                                     "--dg-idle-timeout": "5"})
    log = tmp_path / "scheduler.log"
    with running([str(bin_dir / sched_argv[0]), *sched_argv[1:]], env, tmp_path, log) as address:
        worker_argv = _local(worker["args"], {"--dashboard-address": "127.0.0.1:0", "--name": "w1"})
        worker_argv[2] = address  # the scheduler Service's address, here
        with running([str(bin_dir / worker_argv[0]), *worker_argv[1:]], env, tmp_path, tmp_path / "worker.log",
                     pattern=r"Registered to:\s+(\S+)"), Client(address, timeout=30) as client:

            def a_task() -> None:  # on the worker pod's command: a Dask worker of the user image's lock
                assert client.submit(len, [1, 2]).result() == 2

            said = hears_idle_shutdown(client, after=a_task)
    assert f"Dask cluster {hs.NAMESPACE}.c1 " in said[0] and "will be shut down in about" in said[0], said


def test_gateway_extra_config_is_one_call_to_a_tested_function(chart) -> None:
    from astrohub_hub.gateway import configure_gateway_kubernetes  # noqa: F401

    extra = hs.merged_values(chart, {})["dask-gateway"]["gateway"]["extraConfig"]
    assert list(extra) == ["astrohub"]
    assert "configure_gateway_kubernetes(c, " in extra["astrohub"] and len(extra["astrohub"].splitlines()) <= 4


@pytest.mark.parametrize("overlay", list(hs.OVERLAYS))
def test_gateway_settings_hold_no_secrets(chart, overlay: str) -> None:
    """The ConfigMap astrohub-gateway: the gateway's part of custom.astrohub, never auth or tokens."""
    values = hs.overlay(overlay)
    values.setdefault("jupyterhub", {}).setdefault("custom", {}).setdefault("astrohub", {}).setdefault(
        "daskGateway", {})["apiToken"] = "a-token-that-must-not-leak"
    objects = hs.manifests(hs.render(chart, values))
    text = hs.find(objects, "ConfigMap", "astrohub-gateway")["data"]["settings.json"]
    settings = json.loads(text)
    hub = hs.hub_values(chart, values)
    assert set(settings) == {"mode", "storage", "daskGateway", "kubernetes"}
    assert settings["kubernetes"] == hub["kubernetes"] and settings["storage"] == hub["storage"]
    assert "apiToken" not in settings["daskGateway"] and "a-token-that-must-not-leak" not in text
    for secret in (hub["auth"].get("sharedPassword"), hub["auth"].get("adminPassword")):
        assert not secret or secret not in text


def test_dask_limits_per_cluster_and_per_user(chart, monkeypatch) -> None:
    from dask_gateway_server.backends.kubernetes.backend import KubeClusterConfig
    from dask_gateway_server.models import User

    merged = hs.merged_values(chart, {})
    c = gateway_config(merged, hs.manifests(hs.render(chart, {})), monkeypatch)
    cluster = KubeClusterConfig(config=c)
    assert cluster.idle_timeout == 1800  # idle clusters are shut down after 30 minutes
    assert (cluster.cluster_max_workers, cluster.cluster_max_cores) == (8, 64)
    assert cluster.cluster_max_memory == 256 * 2**30 or cluster.cluster_max_memory == 256 * 10**9

    options = c.Backend.cluster_options
    spec = {field["field"]: field["spec"] for field in options.get_specification()}
    assert (spec["worker_cores"]["min"], spec["worker_cores"]["max"]) == (1, 4)
    # a cluster's owner may share it with one of her hub groups (astrohub_hub.gateway_sharing), as locally
    from astrohub_hub.dashboards import HubTokenAuthenticator
    from astrohub_hub.gateway_sharing import ClusterSharing

    assert HubTokenAuthenticator(config=c).cluster_sharing is True
    assert HubTokenAuthenticator(config=c).sharing_recheck_seconds == 5.0
    assert issubclass(c.DaskGateway.backend_class, ClusterSharing)
    shared = options.parse_options({"shared_with": "astro101"})
    assert shared["shared_with"] == "astro101" and options.get_configuration(shared, User("s", groups=["astro101"]))
    student = User("student1", groups=["astro101"])
    chosen = options.get_configuration(options.parse_options({"worker_cores": 2, "worker_memory": 4}), student)
    assert chosen["worker_cores"] == chosen["worker_cores_limit"] == 2
    assert chosen["worker_memory"] == chosen["worker_memory_limit"] == 4 * 2**30
    assert chosen["cluster_max_workers"] == 8
    survey = User("bob", groups=["survey-team", "astro101"])
    assert options.get_configuration(options.parse_options({}), survey)["cluster_max_workers"] == 32
    # the overrides are accepted by the cluster configuration the gateway builds
    assert KubeClusterConfig(config=c, **chosen).worker_cores == 2
    with pytest.raises(ValueError):
        options.parse_options({"worker_cores": 64})
    with pytest.raises(ValueError):
        options.parse_options({"worker_corez": 1})
    with pytest.raises(ValueError):
        options.parse_options({"worker_memory": 0.5})  # at least 1 GiB per worker
    # each user may have 2 pending or running clusters (dask-gateway's KubeBackend with our cap)
    from dask_gateway_server.backends.kubernetes import KubeBackend

    from astrohub_hub.gateway import UserClusterLimit

    backend = c.DaskGateway.backend_class
    assert issubclass(backend, KubeBackend) and issubclass(backend, UserClusterLimit)
    assert backend(config=c, gateway_instance="astrohub-dask-gateway").max_clusters_per_user == 2


def test_dask_limits_follow_the_hub_settings(chart, monkeypatch) -> None:
    """The limits have one owner, jupyterhub.custom.astrohub.daskGateway.server."""
    from dask_gateway_server.backends.kubernetes.backend import KubeClusterConfig
    from dask_gateway_server.models import User

    server = {"clusterMaxWorkers": 4, "clusterMaxWorkersByGroup": {"astro101": 6}, "maxClustersPerUser": 1,
              "idleTimeoutSeconds": 600, "workerCoresMax": 2, "clusterSharing": False, "sharingRecheckSeconds": 30}
    values = {"jupyterhub": {"custom": {"astrohub": {"daskGateway": {"server": server}}}}}
    c = gateway_config(hs.merged_values(chart, values), hs.manifests(hs.render(chart, values)), monkeypatch)
    cluster = KubeClusterConfig(config=c)
    assert (cluster.cluster_max_workers, cluster.idle_timeout) == (4, 600)
    options = c.Backend.cluster_options
    chosen = options.get_configuration(options.parse_options({}), User("s", groups=["astro101"]))
    assert chosen["cluster_max_workers"] == 6
    # Helm merges maps: the chart's own survey-team allowance stays (an overlay drops it with `survey-team: null`)
    assert options.get_configuration(options.parse_options({}), User("b", groups=["survey-team"]))[
        "cluster_max_workers"] == 32
    with pytest.raises(ValueError):
        options.parse_options({"worker_cores": 3})
    backend = c.DaskGateway.backend_class(config=c, gateway_instance="astrohub-dask-gateway")
    assert backend.max_clusters_per_user == 1
    # clusterSharing off: the gateway's users reach no cluster through a group, and none starts shared
    from astrohub_hub.dashboards import HubTokenAuthenticator

    assert HubTokenAuthenticator(config=c).cluster_sharing is False
    # how soon a member who left the group loses a shared dashboard (lab15: only the traitlet's 5 s before)
    assert HubTokenAuthenticator(config=c).sharing_recheck_seconds == 30.0
    with pytest.raises(ValueError, match=r"daskGateway\.server\.clusterSharing"):
        options.get_configuration(options.parse_options({"shared_with": "astro101"}), User("s", groups=["astro101"]))


def test_worker_size_default_comes_from_the_hub_settings(chart, monkeypatch) -> None:
    """dev.yaml's small workers: daskGateway.server.workerMemoryGib, which each cluster's options apply."""
    from dask_gateway_server.backends.kubernetes.backend import KubeClusterConfig
    from dask_gateway_server.models import User

    values = hs.overlay("dev")
    c = gateway_config(hs.merged_values(chart, values), hs.manifests(hs.render(chart, values)), monkeypatch)
    options = c.Backend.cluster_options
    chosen = options.get_configuration(options.parse_options({}), User("alice"))
    cluster = KubeClusterConfig(config=c, **chosen)
    assert (cluster.worker_cores, cluster.worker_cores_limit) == (1, 1)
    assert cluster.worker_memory == cluster.worker_memory_limit == 2**30


# --- the classes service (templates/classes.yaml) ----------------------------------------------


@pytest.mark.parametrize("limit", [None, 0, 3])
def test_the_workspace_limit_reaches_the_classes_service_on_kubernetes(chart, tmp_path, limit) -> None:
    """teams24: ``jupyterhub.custom.astrohub.classes.maxWorkspacesPerUser`` (the hub setting, one owner for both
    modes) reaches the classes Deployment's ConfigMap and its workspaces' rule; 0 (no limit) too; unset, the
    setting's own default holds."""
    from astrohub_hub.classes_service import from_environ
    from astrohub_hub.settings import ClassesSettings

    values = hs.overlay("teaching-class")
    if limit is not None:
        values["jupyterhub"]["custom"]["astrohub"].setdefault("classes", {})["maxWorkspacesPerUser"] = limit
    env = hs.service_environment(hs.manifests(hs.render(chart, values)), tmp_path)
    assert env.get("ASTROHUB_CLASSES_MAX_WORKSPACES") == (None if limit is None else str(limit))
    teaching, _, _ = from_environ(env)
    expected = ClassesSettings().max_workspaces_per_user if limit is None else limit
    assert teaching.workspaces.max_per_user == expected


def test_the_classes_service_runs_on_kubernetes_and_shapes_the_user_pods(chart, tmp_path, monkeypatch) -> None:
    """Issue 19 item 7: the chart runs the classes service; the group properties it sets reach the pods."""
    from astrohub_hub.classes import Actor
    from astrohub_hub.classes_service import SERVICE_NAME, SERVICE_SCOPES, from_environ
    from astrohub_hub.kubernetes import GROUPS_CLAIM

    values = hs.overlay("teaching-class")
    objects = hs.manifests(hs.render(chart, values))
    for version in hs.KUBE_VERSIONS:
        for kind in ("Deployment", "Service", "ConfigMap"):
            kubernetes_validate.validate(hs.find(objects, kind, "astrohub-classes"), version, strict=True)
    deployment = hs.find(objects, "Deployment", "astrohub-classes")
    pod = deployment["spec"]["template"]["spec"]
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]}
    assert claims == {"groups": GROUPS_CLAIM}  # the claim the user pods' class and workspace folders come from
    service = hs.find(objects, "Service", "astrohub-classes")
    merged = hs.merged_values(chart, values)
    registered = merged["jupyterhub"]["hub"]["services"][SERVICE_NAME]
    assert registered["url"] == f"http://astrohub-classes:{service['spec']['ports'][0]['port']}"
    env = hs.service_environment(objects, tmp_path)
    assert env["JUPYTERHUB_API_TOKEN"] == f"secret hub.services.{SERVICE_NAME}.apiToken"  # z2jh's generated token
    assert env["JUPYTERHUB_SERVICE_URL"].endswith(f":{pod['containers'][0]['ports'][0]['containerPort']}")
    gateway = merged["dask-gateway"]["gateway"]
    assert env["ASTROHUB_CLASSES_GATEWAY"] == merged["jupyterhub"]["hub"]["services"]["dask-gateway"]["url"] + \
        gateway["prefix"]
    # The hub gives the registered service its scopes (and the gateway's access: the usage page's Dask part),
    # and the gateway lets it read each signed-in user's Dask figures.
    c, _ = hub_config(chart, "teaching-class")
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    role = roles[f"service-{SERVICE_NAME}"]
    assert role["services"] == [SERVICE_NAME]
    reach = f"access:services!service={gateway['auth']['jupyterhub']['jupyterhubServiceName']}"
    assert set(role["scopes"]) == {*SERVICE_SCOPES, reach}
    assert f"service:{SERVICE_NAME}" in gateway_config(merged, objects, monkeypatch).HubTokenAuthenticator.usage_readers

    # The service, as the Deployment starts it, creates a class pinned to the class profile; what it records on
    # the hub's groups gives students and instructors the folders it made, read-only where it should be.
    hub = hs.HubGroups()
    teaching, directory, _ = from_environ(env)
    directory._call = hub
    teaching.create_class(Actor("admin", admin=True), "stars", instructors=["tina"], students=["sam"],
                          profile="astro101")
    (teaching.classes_root / "stars" / "materials" / "lab1.ipynb").write_text("{}")
    props = {name: g["properties"] for name, g in hub.groups.items()}
    assert props["stars-students"] == {"astrohub-folder": False, "class": "stars", "astrohub-profile": "astro101"}
    student = _class_pods(c, "sam", {"stars-students": props["stars-students"]})
    teacher = _class_pods(c, "tina", {"stars-instructors": props["stars-instructors"]})
    assert list(student) == list(teacher) == ["astro101"]  # the pinned profile only
    claim = tmp_path / "groups"
    for pod_manifest in (student["astro101"], teacher["astro101"]):
        mounts = [m for m in pod_manifest["spec"]["containers"][0]["volumeMounts"] if m["name"] == "groups"]
        assert mounts, pod_manifest["spec"]["containers"][0]["volumeMounts"]
        for mount in mounts:  # every class folder a pod mounts is one the service made on the same claim
            made = (claim / mount["subPath"]).is_dir()  # a student's own submissions, the workspaces' deletion
            assert made or mount["subPath"].startswith(".classes/stars/submissions/") \
                or mount["subPath"] == ".workspaces/.astrohub-deleted", mount  # notices: the pod's init container
    materials = next(m for m in student["astro101"]["spec"]["containers"][0]["volumeMounts"]
                     if m.get("subPath") == ".classes/stars/materials")
    assert materials["readOnly"] is True and (claim / materials["subPath"] / "lab1.ipynb").is_file()


def test_class_folders_outside_the_home_are_mounted_again_under_home_classes(chart, tmp_path) -> None:
    """Lab's file browser shows only the home: with group storage outside it (``groupsRoot: /srv/groups``, so the
    classes at ``/srv/classes``), a class's students and instructors still find it at ``~/classes/<class>``, the
    same subPaths of the group claim (materials read-only for students), as the local spawner links it. The class
    is made by the service as the chart runs it (its real class registry); the hub's groups API is
    ``hs.HubGroups`` and no Kubernetes API is contacted (KubeSpawner builds the pods with ``_mock``)."""
    from astrohub_hub.classes import Actor
    from astrohub_hub.classes_service import from_environ

    values = hs.overlay("teaching-class")
    values.setdefault("jupyterhub", {}).setdefault("custom", {}).setdefault("astrohub", {}).setdefault(
        "storage", {})["groupsRoot"] = "/srv/groups"
    objects = hs.manifests(hs.render(chart, values))
    hub = hs.HubGroups()
    teaching, directory, _ = from_environ(hs.service_environment(objects, tmp_path))
    directory._call = hub
    teaching.create_class(Actor("admin", admin=True), "stars", instructors=["tina"], students=["sam"])
    props = {name: g["properties"] for name, g in hub.groups.items()}
    c, merged = hub_config_for(chart, values)
    home = merged["jupyterhub"]["custom"]["astrohub"]["storage"]["home"].rstrip("/")
    assert home == "/home/jovyan"

    def mounts(pods):
        return {m["mountPath"]: (m["subPath"], m.get("readOnly", False)) for pod in pods.values()
                for m in pod["spec"]["containers"][0]["volumeMounts"] if m.get("subPath", "").startswith(".classes/")}

    student = _class_pods(c, "sam", {"stars-students": props["stars-students"]})
    teacher = _class_pods(c, "tina", {"stars-instructors": props["stars-instructors"]})
    assert mounts(student) == {
        "/srv/classes/stars/materials": (".classes/stars/materials", True),
        "/srv/classes/stars/submissions/sam": (".classes/stars/submissions/sam", False),
        f"{home}/classes/stars/materials": (".classes/stars/materials", True),
        f"{home}/classes/stars/submissions/sam": (".classes/stars/submissions/sam", False),
    }
    assert mounts(teacher) == {"/srv/classes/stars": (".classes/stars", False),
                               f"{home}/classes/stars": (".classes/stars", False)}
    assert (tmp_path / "groups" / ".classes" / "stars" / "materials").is_dir()  # what the service made
    for pod in (*student.values(), *teacher.values()):
        setup = next(i for i in pod["spec"]["initContainers"] if i["name"] == "astrohub-storage-setup")
        for version in hs.KUBE_VERSIONS:
            kubernetes_validate.validate(pod, version, strict=True)
    assert setup["command"][-1].count("[ -d /mnt/astrohub/groups/.classes/stars ]") == 1  # once per subPath
    # With the default roots (classes under the home already, at ~/classes) nothing is mounted twice.
    default, _ = hub_config(chart, "teaching-class")
    assert mounts(_class_pods(default, "tina", {"stars-instructors": props["stars-instructors"]})) == {
        f"{home}/classes/stars": (".classes/stars", False)}


@pytest.mark.parametrize(("values", "message"), [
    ({"classes": {"enabled": True}}, "classes.enabled: needs jupyterhub.custom.astrohub.kubernetes.groupStorage"),
    ({"classes": {"enabled": True}, "jupyterhub": {"custom": {"astrohub": {"kubernetes": {"groupStorage": {
        "nfs": {"server": "n", "path": "/g"}}}}}}}, "jupyterhub.hub.services.astrohub-classes"),
])
def test_the_classes_service_needs_group_storage_and_a_hub_registration(chart, values, message) -> None:
    with pytest.raises(Exception, match=message):
        hs.render(chart, values)


def test_no_classes_service_unless_enabled(chart) -> None:
    objects = hs.manifests(hs.render(chart, {}))
    assert not [o for o in objects if o["metadata"]["name"].startswith("astrohub-classes")]
    c, _ = hub_config(chart, "default")
    assert "service-astrohub-classes" not in {r["name"] for r in c.JupyterHub.load_roles}
