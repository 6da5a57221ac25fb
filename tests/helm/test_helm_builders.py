"""The pure builders of astrohub_hub.kubernetes: settings validation, volumes, profiles, storage set-up."""

from __future__ import annotations

import shlex
import subprocess

import pytest
from pydantic import ValidationError
from traitlets.config import Config

from astrohub_hub.errors import HubConfigError
from astrohub_hub.kubernetes import (
    GROUPS_CLAIM,
    KubernetesSettings,
    configure_kubernetes,
    dataset_volumes,
    group_volumes,
    home_volumes,
    profile_list,
    storage_setup_container,
)
from astrohub_hub.settings import HubSettings

NFS = {"server": "nfs.example.org", "path": "/export/x"}
STORAGE = {"home": "/home/jovyan", "groupsRoot": "/groups", "datasets": "/datasets/", "scratch": "/tmp/s"}


@pytest.mark.parametrize(
    ("datasets", "message"),
    [
        ([{"name": "Gaia_DR3", "nfs": NFS}], "DNS label"),
        ([{"name": "gaia", "nfs": NFS}, {"name": "gaia", "persistentVolumeClaim": {"claimName": "g"}}], "twice"),
        ([{"name": "gaia"}], "exactly one volume source"),
        ([{"name": "gaia", "nfs": {"server": "n", "path": "relative"}}], "path"),
        ([{"name": "gaia", "nfs": NFS, "readOnly": False}], "readOnly"),
    ],
)
def test_bad_datasets_are_refused_naming_the_problem(datasets: list, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        KubernetesSettings.model_validate({"datasets": datasets})


def test_dataset_volumes_are_read_only_whatever_the_source() -> None:
    kube = KubernetesSettings.model_validate(
        {"datasets": [{"name": "gaia", "nfs": NFS}, {"name": "twomass", "persistentVolumeClaim": {"claimName": "tm"}}]}
    )
    volumes, mounts = dataset_volumes(kube, "/datasets/")
    assert volumes == [
        {"name": "dataset-gaia", "nfs": {**NFS, "readOnly": True}},
        {"name": "dataset-twomass", "persistentVolumeClaim": {"claimName": "tm", "readOnly": True}},
    ]
    assert mounts == [
        {"name": "dataset-gaia", "mountPath": "/datasets/gaia", "readOnly": True},
        {"name": "dataset-twomass", "mountPath": "/datasets/twomass", "readOnly": True},
    ]


def test_home_and_group_volumes_only_when_configured() -> None:
    bare = KubernetesSettings()
    assert home_volumes(bare, "/home/jovyan") == ([], [])
    assert group_volumes(bare, "/groups", ["a"]) == ([], [])
    kube = KubernetesSettings.model_validate({"home": {"nfs": NFS}, "groupStorage": {"nfs": NFS}})
    assert home_volumes(kube, "/home/jovyan")[1] == [{"name": "home", "mountPath": "/home/jovyan", "subPath": "{username}"}]
    volumes, mounts = group_volumes(kube, "/groups/", ["b", "a", "../etc", ".hidden", "b"])
    assert volumes == [{"name": "groups", "persistentVolumeClaim": {"claimName": GROUPS_CLAIM}}]
    assert [(m["mountPath"], m["subPath"], m.get("readOnly", False)) for m in mounts] == [
        ("/groups/a", "a", False), ("/groups/b", "b", False),
        ("/groups/.astrohub-quotas", ".astrohub-quotas", True)]  # group13: the operator's quotas, read-only


def _settings(**extra) -> HubSettings:
    return HubSettings.model_validate(
        {
            "mode": "kubernetes",
            "storage": STORAGE,
            "groups": {"astro101": {}, "staff": {}},
            "profiles": [
                {"slug": "small", "displayName": "Small", "cpuLimit": 1, "memLimit": "2G", "default": True},
                {"slug": "lab", "displayName": "Lab", "cpuLimit": 2, "memGuarantee": "1G", "groups": ["astro101"],
                 "image": "ghcr.io/astrohub/user:lab"},
            ],
            "kubernetes": {},
            **extra,
        }
    )


def test_profile_list_filters_class_profiles_by_group() -> None:
    settings = _settings()
    assert [p["slug"] for p in profile_list(settings, [])] == ["small"]
    assert [p["slug"] for p in profile_list(settings, ["staff"])] == ["small"]
    offered = profile_list(settings, ["astro101"])
    assert [p["slug"] for p in offered] == ["small", "lab"]
    assert offered[0]["default"] is True and "default" not in offered[1]
    assert offered[1]["kubespawner_override"] == {"cpu_limit": 2, "mem_guarantee": "1G", "image": "ghcr.io/astrohub/user:lab"}


def test_configure_kubernetes_extends_what_is_already_configured() -> None:
    settings = _settings(kubernetes={"datasets": [{"name": "gaia", "nfs": NFS}]})
    c = Config()
    c.KubeSpawner.volumes = [{"name": "volume-{user_server}", "persistentVolumeClaim": {"claimName": "claim-{user_server}"}}]
    c.Spawner.environment = {"PLATFORM_USER": "x"}
    c.KubeSpawner.environment = {"FROM_EXTRA_ENV": "1", "PLATFORM_USER": "operator wins"}
    configure_kubernetes(c, settings)
    assert [v["name"] for v in c.KubeSpawner.volumes] == ["volume-{user_server}", "dataset-gaia"]
    assert c.KubeSpawner.environment == {"PLATFORM_USER": "operator wins", "FROM_EXTRA_ENV": "1"}
    assert c.JupyterHub.spawner_class == "kubespawner.KubeSpawner"


def test_configure_kubernetes_errors_name_the_key() -> None:
    settings = _settings()
    settings.kubernetes = None
    with pytest.raises(HubConfigError) as raised:
        configure_kubernetes(Config(), settings)
    assert raised.value.key == "kubernetes"
    settings = _settings()
    settings.profiles[1].groups = ["astro999"]  # after validation, as a later edit would
    with pytest.raises(HubConfigError) as raised:
        configure_kubernetes(Config(), settings)
    assert raised.value.key == "profiles[1].groups" and raised.value.value == "astro999"


def test_storage_setup_creates_only_missing_folders_owned_by_the_user(tmp_path) -> None:
    kube = KubernetesSettings.model_validate({"home": {"nfs": NFS}, "groupStorage": {"nfs": NFS}})
    assert storage_setup_container(KubernetesSettings(), image="i", home_subpath="a", groups=["g"], uid=1, gid=2) is None
    container = storage_setup_container(kube, image="img", home_subpath="o'brien", groups=["astro101"], uid=1000, gid=100)
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"], "add": ["CHOWN", "DAC_OVERRIDE", "FOWNER"]}
    script = container["command"][-1]
    # run the script for real against a temporary root (without chown, which needs root)
    local = script.replace("/mnt/astrohub", str(tmp_path)).replace("chown 1000:100", "true")
    existing = tmp_path / "groups" / "astro101"
    existing.mkdir(parents=True, mode=0o755)
    subprocess.run(["sh", "-c", local], check=True, timeout=30)
    home = tmp_path / "home" / "o'brien"
    assert home.is_dir() and oct(home.stat().st_mode & 0o7777) == "0o700"
    assert oct(existing.stat().st_mode & 0o7777) == "0o755"  # existing folders are left alone
    assert shlex.quote("/mnt/astrohub/home/o'brien") in script
