"""``astrohub chart render``: the operator's offline render (``helm dependency build`` needs the network).

Runs the real command (:func:`platform_lib.cli.main`) against the chart of this checkout; its objects must be the
ones the helm tier renders for the same values (the same offline chart, :mod:`platform_lib.offlinechart`).
"""

from __future__ import annotations

import importlib.util
import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest
import yaml

from platform_lib.cli import main

_spec = importlib.util.spec_from_file_location("_helm_support", Path(__file__).with_name("_helm_support.py"))
hs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hs)


def _objects(text: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def _key(obj: dict) -> tuple[str, str]:
    return obj["kind"], obj["metadata"]["name"]


def test_render_prints_the_objects_of_the_values_and_the_notes(chart, tmp_path, capsys) -> None:
    """Operators had no offline render: `helm dependency build` fetches the community charts. The command renders
    the values of -f files, --set and --set-file (a mapping file's text: helm's own --set-file) and says which
    subcharts were stubs."""
    mapping = tmp_path / "myscope_cam.json"
    mapping.write_text(json.dumps({"name": "myscope_cam", "match": {"TELESCOP": "MyScope"}}))
    out = tmp_path / "manifests.yaml"
    argv = ["chart", "render", "-f", str(hs.EXAMPLES / "dev.yaml"), "--set", "archive.keepReplacedSeconds=120",
            "--set-file", f"archive.mappings.myscope_cam\\.json={mapping}", "--namespace", hs.NAMESPACE, "-o", str(out),
            "--notes"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    values = hs.overlay("dev")
    values["archive"] = {**values.get("archive", {}), "keepReplacedSeconds": 120,
                         "mappings": {"myscope_cam.json": mapping.read_text()}}
    expected = hs.manifests(hs.render(chart, values))
    assert sorted(_objects(out.read_text()), key=_key) == sorted(expected, key=_key)
    assert ("ConfigMap", "astrohub-archive-mappings") in map(_key, expected)
    assert "--keep-replaced" in json.dumps(hs.find(expected, "Job", "astrohub-sample-data"))
    assert "kubectl --namespace astro get pods --watch" in err  # the notes
    assert "jupyterhub 4.4.0, dask-gateway 2026.3.0: values checked against the upstream schema" in err, err


@pytest.mark.parametrize("argv,message", [
    (["--set", "archive.replicas=-1"], "at '/archive/replicas': minimum: got -1, want 0"),
    (["--set", "jupyterhub.custom.astrohub.auth.kind=roster"], "with kind roster and neither adminPassword"),
    (["--set", "jupyterhub.hub.nodeSelectr.a=b"], "jupyterhub:\n- at '/hub': additional properties 'nodeSelectr' not allowed"),  # the upstream schema checks its section
    (["-f", "/nonexistent/values.yaml"], "cannot read the values file /nonexistent/values.yaml"),
])
def test_bad_values_exit_2_naming_the_problem(argv, message, capsys) -> None:
    assert main(["chart", "render", *argv]) == 2
    out, err = capsys.readouterr()
    assert err.startswith("astrohub: error: ") and message in err and "Traceback" not in err, err
    assert not out


def test_a_published_subchart_left_by_helm_dependency_build_is_rendered(tmp_path, capsys) -> None:
    """Where `helm dependency build` could run once, its archives in charts/ are used: their objects render too."""
    root = tmp_path / "helm"
    shutil.copytree(hs.CHART, root / "astrohub", ignore=shutil.ignore_patterns("charts"))
    shutil.copytree(hs.SCHEMAS, root / "upstream")
    (root / "astrohub" / "charts").mkdir()
    stub = {"Chart.yaml": yaml.safe_dump({"apiVersion": "v2", "name": "jupyterhub", "version": "4.4.0"}),
            "values.yaml": (hs.SCHEMAS / "jupyterhub-4.4.0.default-values.yaml").read_text(),
            "templates/hub.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: published-hub\n"}
    with tarfile.open(root / "astrohub" / "charts" / "jupyterhub-4.4.0.tgz", "w:gz") as archive:
        for name, text in stub.items():
            data = text.encode()
            info = tarfile.TarInfo(f"jupyterhub/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    assert main(["chart", "render", "--chart", str(root / "astrohub"), "-f", str(hs.EXAMPLES / "dev.yaml")]) == 0
    out, err = capsys.readouterr()
    assert ("ConfigMap", "published-hub") in map(_key, _objects(out))
    assert "dask-gateway 2026.3.0: values checked" in err and "jupyterhub 4.4.0" not in err, err
