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
    text = text.split("\n### ", 1)[0]
    examples = [yaml.safe_load(block.split("```", 1)[0]) for block in text.split("```yaml\n")[1:]]
    assert len(examples) == 2  # the map of file names and the list
    for number, example in enumerate(examples):
        values = _with_mappings("dev", example["archive"]["mappings"])
        data = hs.find(hs.manifests(hs.render(chart, values)), "ConfigMap", CONFIGMAP)["data"]
        folder = tmp_path / str(number)
        folder.mkdir()
        for file, content in data.items():
            (folder / file).write_text(content)
        assert "myscope_cam" in {m.name for m in load_mappings([folder])}


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
    ({"myscope.json": ["myscope"]}, "got array, want string or object"),
    ({"myscope.json": {"match": {"TELESCOP": "MyScope"}}}, "missing property 'name'"),  # the loader needs one
    ({"myscope.json": {**MYSCOPE, "colums": {}}}, "'colums' not allowed"),  # a misspelt key
    ({"myscope.json": {**MYSCOPE, "hdu": "1"}}, "got string, want null or integer"),
    ({"myscope.json": ""}, "minLength: got 0, want 1"),  # an empty text (--set-file of an empty file)
    ([{"match": {}}], "missing property 'name'"),  # a list of objects: the same checks
    ("myscope.json", "got string, want null or array or object"),
])
def test_a_mapping_that_is_not_one_fails_the_render_naming_the_key(chart, mappings, why) -> None:
    """The values schema checks objects; a text is parsed and checked by the chart (the tests below)."""
    with pytest.raises(helm_python.HelmValuesError, match="/archive/mappings") as error:
        hs.render(chart, _with_mappings("dev", mappings))
    assert why in str(error.value)


MYSCOPE_YAML = """\
name: myscope_cam
match: {TELESCOP: MyScope, INSTRUME: CAM}
columns:
  obs_collection: {value: MYSCOPE}
  t_exptime: {keyword: EXPTIME, scale: 1.0}
proprietary_months: 12
"""


@pytest.mark.parametrize("form", ["json text", "json file, tab-indented", "yaml text", "list of objects",
                                  "list of texts"])
def test_the_natural_forms_render_the_same_files(chart, form, tmp_path) -> None:
    """An operator's mapping file given as text (``--set-file archive.mappings.myscope_cam\\.json=myscope_cam.json``,
    or the YAML of it pasted in a values file) or a list of mappings was refused by the values schema ("got
    string, want object", "got array, want object"). Each renders the ConfigMap the object form renders, which
    the real loader reads."""
    import json

    from platform_lib.imageindex import load_mappings

    given = {
        "json text": {"myscope_cam.json": json.dumps(MYSCOPE)},
        "json file, tab-indented": {"myscope_cam.json": json.dumps(MYSCOPE, indent="\t") + "\n"},
        "yaml text": {"myscope_cam.json": MYSCOPE_YAML},
        "list of objects": [MYSCOPE],
        "list of texts": [MYSCOPE_YAML],
    }[form]
    expected = hs.find(hs.manifests(hs.render(chart, _with_mappings("dev", {"myscope_cam.json": MYSCOPE}))),
                       "ConfigMap", CONFIGMAP)["data"]
    objects = hs.manifests(hs.render(chart, _with_mappings("dev", given)))
    data = hs.find(objects, "ConfigMap", CONFIGMAP)["data"]
    assert {k: json.loads(v) for k, v in data.items()} == {k: json.loads(v) for k, v in expected.items()}
    for file, text in data.items():
        (tmp_path / file).write_text(text)
    assert {m.name: m for m in load_mappings([tmp_path])}["myscope_cam"].proprietary_months == 12
    assert "checksum/mappings" in hs.archive(objects)["spec"]["template"]["metadata"]["annotations"]


@pytest.mark.parametrize("mappings,message", [
    ({"myscope.json": '{"name": "myscope",'}, r"archive\.mappings\.myscope\.json: the text given is not a mapping "
                                              r"file \(a JSON object"),
    ({"myscope.json": "- myscope\n- other\n"}, r"archive\.mappings\.myscope\.json: the text given is not a mapping "
                                               r"file \(a YAML object"),
    ({"myscope.json": "match: {TELESCOP: MyScope}\n"}, r"archive\.mappings\.myscope\.json: the mapping has no name"),
    ({"myscope.json": "name: myscope\ncolums: {}\n"}, r"\"colums\" is not a key of a mapping; allowed: band, columns"),
    ({"myscope.json": '{"name": "myscope", "hdu": "1"}'}, r"hdu is a string, want float64 or int64 or int or invalid"),
    ({"myscope.json": '{"name": "myscope", "hdu": 1.5}'}, r"hdu must be a whole number >= 0"),
    ({"myscope.json": "name: myscope\nmatch: {NAXIS: 2}\n"}, r"match\.NAXIS is a float64, want string"),
    ([MYSCOPE, MYSCOPE], r"archive\.mappings\[1\]: a second mapping named \"myscope_cam\""),
    (["name: my scope\n"], r"archive\.mappings\[0\]: \"my scope\.json\" is not a mapping's file name"),
])
def test_a_bad_text_or_list_entry_fails_the_render_naming_the_entry(chart, mappings, message) -> None:
    with pytest.raises(helm_python.HelmRenderError, match=message):
        hs.render(chart, _with_mappings("dev", mappings))


def test_the_charts_check_of_a_text_knows_the_schemas_keys() -> None:
    """``astrohub.mappingKeys`` (the chart's check of a text) lists the keys of the schema's mapping object."""
    import json

    helpers = (hs.CHART / "templates" / "_helpers.tpl").read_text()
    listed = json.loads(helpers.split('{{- define "astrohub.mappingKeys" -}}\n', 1)[1].split("\n", 1)[0])
    schema = json.loads((hs.CHART / "values.schema.json").read_text())
    mapping = schema["properties"]["archive"]["properties"]["mappings"]["items"]["else"]
    assert set(listed) == set(mapping["properties"]), (listed, mapping["properties"])
