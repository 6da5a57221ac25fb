"""The operator's own instrument mappings in the chart (helm16b): ``archive.mappings``, file name -> mapping.

What is checked on the offline render: the mappings become the ConfigMap astrohub-archive-mappings, whose files
the real loader (``platform_lib.imageindex.load_mappings``) reads as the operator's mappings; every process that
derives image records reads them, as its real parser takes them: the archive pod (``ASTROHUB_ARCHIVE_MAPPINGS``,
the ConfigMap mounted read-only) and the sample-data Job (``--mappings``); without mappings nothing of it is
rendered; a bad file name or a mapping that is not an object with the loader's keys fails the render naming
``archive.mappings``.
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

CONFIGMAP = "astrohub-archive-mappings"
MYSCOPE = {
    "name": "myscope_cam",
    "match": {"TELESCOP": "MyScope", "INSTRUME": "CAM"},
    "columns": {"obs_collection": {"value": "MYSCOPE"}, "t_exptime": {"keyword": "EXPTIME", "scale": 1.0}},
    "proprietary_months": 12,
}


def _with_mappings(name: str, mappings: Any) -> dict[str, Any]:
    values = copy.deepcopy(hs.overlay(name) or {})
    values.setdefault("archive", {})["mappings"] = mappings
    return values


def _mounted(container: dict[str, Any], pod: dict[str, Any]) -> dict[str, Any]:
    """The container's mount of the mappings volume, with the volume's source."""
    (mount,) = [m for m in container.get("volumeMounts", []) if m["name"] == "mappings"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "mappings"]
    return {**mount, "source": volume["configMap"]}


@pytest.mark.parametrize("name", ["dev", "production"])
def test_the_mappings_reach_the_archive_and_the_sample_data_job_as_their_parsers_read_them(
        chart, name, tmp_path, monkeypatch) -> None:
    from astrohub_archive.app import build_parser as archive_parser

    from platform_lib.cli import build_parser
    from astropy.io import fits

    from platform_lib.imageindex import load_mappings
    from platform_lib.imageindex.ingest import record_from_header

    rendered = hs.render(chart, _with_mappings(name, {"myscope_cam.json": MYSCOPE}))
    objects = hs.manifests(rendered)
    configmap = hs.find(objects, "ConfigMap", CONFIGMAP)
    for version in hs.KUBE_VERSIONS:
        kubernetes_validate.validate(configmap, version, strict=True)
    assert set(configmap["data"]) == {"myscope_cam.json"}
    # the files the pods see are the operator's mappings to the real loader (besides the packaged ones)
    for file, text in configmap["data"].items():
        (tmp_path / file).write_text(text)
    loaded = {m.name: m for m in load_mappings([tmp_path])}
    assert loaded["myscope_cam"].match == MYSCOPE["match"] and loaded["myscope_cam"].proprietary_months == 12
    assert "dss" in loaded  # the packaged ones stay
    header = fits.Header({"NAXIS": 2, "NAXIS1": 100, "NAXIS2": 100, "TELESCOP": "MyScope", "INSTRUME": "CAM",
                          "EXPTIME": 30.0, "CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "CRVAL1": 10.0, "CRVAL2": 20.0,
                          "CRPIX1": 50.5, "CRPIX2": 50.5, "CDELT1": -0.001, "CDELT2": 0.001})
    record, _ = record_from_header(header, list(loaded.values()))
    assert (record["mapping"], record["obs_collection"]) == ("myscope_cam", "MYSCOPE")  # the image's record

    archive = hs.archive(objects)
    pod = archive["spec"]["template"]["spec"]
    container = next(c for c in pod["containers"] if c["name"] == "archive")
    mount = _mounted(container, pod)
    assert mount["readOnly"] is True and mount["source"] == {"name": CONFIGMAP}
    env = hs.find(objects, "ConfigMap", "astrohub-archive")["data"]
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert archive_parser().parse_args([]).mappings == [Path(mount["mountPath"])]
    assert "checksum/mappings" in archive["spec"]["template"]["metadata"]["annotations"]  # a change rolls the pod

    job = hs.find(objects, "Job", "astrohub-sample-data")
    for version in hs.KUBE_VERSIONS:
        kubernetes_validate.validate(job, version, strict=True)
    job_pod = job["spec"]["template"]["spec"]
    (load,) = job_pod["containers"]
    job_mount = _mounted(load, job_pod)
    assert job_mount["readOnly"] is True and job_mount["source"] == {"name": CONFIGMAP}
    assert build_parser().parse_args(load["command"][1:]).mappings == [Path(job_mount["mountPath"])]


def test_the_documented_example_renders_and_loads(chart, tmp_path) -> None:
    """docs/deploy-kubernetes.md, "Your own instruments": its values pass the schema and the real loader."""
    import yaml

    from platform_lib.imageindex import load_mappings

    text = (hs.REPO / "docs" / "deploy-kubernetes.md").read_text().split("### Your own instruments", 1)[1]
    example = yaml.safe_load(text.split("```yaml\n", 1)[1].split("```", 1)[0])
    values = _with_mappings("dev", example["archive"]["mappings"])
    data = hs.find(hs.manifests(hs.render(chart, values)), "ConfigMap", CONFIGMAP)["data"]
    for file, content in data.items():
        (tmp_path / file).write_text(content)
    assert "myscope_cam" in {m.name for m in load_mappings([tmp_path])}


def test_without_mappings_nothing_is_mounted_or_passed(chart) -> None:
    objects = hs.manifests(hs.render(chart, hs.overlay("dev")))
    assert not [o for o in objects if o["metadata"]["name"] == CONFIGMAP]
    assert "ASTROHUB_ARCHIVE_MAPPINGS" not in hs.find(objects, "ConfigMap", "astrohub-archive")["data"]
    job = hs.find(objects, "Job", "astrohub-sample-data")["spec"]["template"]["spec"]
    assert "--mappings" not in job["containers"][0]["command"]
    assert not [v for v in job["volumes"] if v["name"] == "mappings"]


@pytest.mark.parametrize("file", ["myscope.txt", "../myscope.json", ".myscope.json", "my scope.json", "json"])
def test_a_bad_file_name_fails_the_render_naming_the_key(chart, file) -> None:
    """The loader reads ``*.json`` of the folder; a ConfigMap key is letters, digits and ``-_.``."""
    with pytest.raises(helm_python.HelmRenderError,
                       match=rf"archive\.mappings: \"{re.escape(file)}\" is not a mapping's file name: <name>\.json"):
        hs.render(chart, _with_mappings("dev", {file: MYSCOPE}))


@pytest.mark.parametrize("mappings,why", [
    ({"myscope.json": '{"name": "myscope"}'}, "got string, want object"),  # not an object
    ({"myscope.json": ["myscope"]}, "got array, want object"),
    ({"myscope.json": {"match": {"TELESCOP": "MyScope"}}}, "missing property 'name'"),  # the loader needs one
    ({"myscope.json": {**MYSCOPE, "colums": {}}}, "'colums' not allowed"),  # a misspelt key
    ({"myscope.json": {**MYSCOPE, "hdu": "1"}}, "got string, want null or integer"),
    (["myscope.json"], "got array, want object"),
])
def test_a_mapping_that_is_not_one_fails_the_render_naming_the_key(chart, mappings, why) -> None:
    with pytest.raises(helm_python.HelmValuesError, match="/archive/mappings") as error:
        hs.render(chart, _with_mappings("dev", mappings))
    assert why in str(error.value)
