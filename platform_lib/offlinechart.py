"""The Helm chart rendered without the network: what ``astrohub chart render`` and the helm tests render.

Owns :func:`build_chart` (a copy of ``helm/astrohub`` whose ``charts/`` holds, for each dependency of
``Chart.yaml``, the published chart when ``helm dependency build`` left its archive there, else a stub subchart
made from the upstream values and schema in ``helm/upstream``: no templates, so Helm still checks every
subchart section against its schema but renders only astrohub's own objects), :func:`render` (``helm template``
for a Kubernetes version, with helm-python-sdk: Helm as a library, no binary, no cluster) and :func:`values`
(``-f`` / ``--set`` / ``--set-file`` merged as Helm merges them). The adapter of helm-python-sdk: may import it,
PyYAML and the standard library; the ``[chart]`` extra installs it.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from platform_lib.errors import PlatformError

__all__ = ["ChartError", "Dependency", "build_chart", "default_chart", "dependencies", "render", "values"]

#: The chart of a checkout (``helm/astrohub`` beside the installed ``platform_lib``), or None when not there.
_CHECKOUT = Path(__file__).resolve().parents[1] / "helm"


class ChartError(PlatformError):
    """The chart could not be found, loaded or rendered; the message names the value or file to fix."""

    code = "chart"


@dataclass(frozen=True)
class Dependency:
    """One dependency of the chart, and how :func:`build_chart` provides it."""

    name: str
    version: str
    published: Path | None  # the archive helm dependency build left in charts/, if any

    @property
    def stub(self) -> bool:
        return self.published is None


def default_chart() -> Path:
    """``helm/astrohub`` of the checkout this package is installed from (``ChartError`` when it is not there)."""
    chart = _CHECKOUT / "astrohub"
    if not (chart / "Chart.yaml").is_file():
        raise ChartError(f"no chart beside this installation ({chart}): pass --chart with the helm/astrohub folder of "
                         "an astrohub checkout", value=str(chart))
    return chart


def dependencies(chart: Path) -> list[Dependency]:
    """The dependencies of ``chart``'s Chart.yaml, each with its published archive in ``charts/`` if present."""
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    out = []
    for dep in meta.get("dependencies", []):
        archive = chart / "charts" / f"{dep['name']}-{dep['version']}.tgz"
        out.append(Dependency(dep["name"], str(dep["version"]), archive if archive.is_file() else None))
    return out


def build_chart(destination: Path, chart: Path | None = None, upstream: Path | None = None, *,
                published: bool = True) -> Path:
    """A copy of ``chart`` (default :func:`default_chart`) under ``destination`` whose ``charts/`` holds each
    dependency: its published archive when present (and ``published``), else a stub from ``upstream`` (default
    ``helm/upstream``: ``<name>-<version>.default-values.yaml`` and ``.values.schema.json``). Returns the copy's
    path."""
    chart = default_chart() if chart is None else Path(chart)
    upstream = chart.parent / "upstream" if upstream is None else Path(upstream)
    copy = Path(destination) / "astrohub"
    shutil.copytree(chart, copy, ignore=shutil.ignore_patterns("charts", "Chart.lock"))
    (copy / "charts").mkdir()
    for dep in dependencies(chart):
        if published and dep.published is not None:
            shutil.copy(dep.published, copy / "charts" / dep.published.name)
            continue
        stub = copy / "charts" / dep.name
        stub.mkdir()
        (stub / "Chart.yaml").write_text(yaml.safe_dump(
            {"apiVersion": "v2", "name": dep.name, "version": dep.version, "description": "offline stub"}))
        for suffix, target in ((".default-values.yaml", "values.yaml"), (".values.schema.json", "values.schema.json")):
            source = upstream / f"{dep.name}-{dep.version}{suffix}"
            if not source.is_file():
                raise ChartError(f"no upstream values for the dependency {dep.name} {dep.version}: {source} is missing "
                                 "(helm/upstream/README.md says how to make it)", value=str(source))
            shutil.copy(source, stub / target)
    return copy


def _merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``update`` over ``base``, maps merged key by key (as Helm merges -f files and --set)."""
    out = dict(base)
    for key, value in update.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def values(files: list[str] = (), sets: list[str] = (), set_files: list[str] = ()) -> dict[str, Any]:
    """The values of ``-f FILE`` (in order), then ``--set`` and ``--set-file`` expressions, merged as Helm does."""
    import helm_python

    merged: dict[str, Any] = {}
    try:
        for file in files:
            try:
                text = Path(file).read_text()
            except OSError as exc:
                raise ChartError(f"cannot read the values file {file}: {exc.strerror or exc}", value=file) from exc
            merged = _merge(merged, helm_python.values_from_yaml(text) or {})
        for expression in sets:
            merged = _merge(merged, helm_python.parse_set_string(expression))
        for expression in set_files:
            merged = _merge(merged, helm_python.parse_set_file(expression))
    except helm_python.HelmError as exc:
        raise ChartError(f"bad values: {exc}") from exc
    return merged


def render(chart: Any, values: dict[str, Any], *, kube_version: str, release: str, namespace: str) -> dict[str, str]:
    """Template path -> rendered text, offline, for a Kubernetes version (as ``helm template --kube-version``).

    ``chart`` is a loaded ``helm_python.Chart``. ``Chart.render`` of helm-python-sdk 0.2 does not expose
    ``kube_version`` although the C ABI (``helm_render`` options) accepts it, so the option is passed through the
    same native call. Helm's own errors (``HelmValuesError``, ``HelmRenderError``) are raised as they are.
    """
    from helm_python import _native

    options = {"name": release, "namespace": namespace, "is_install": True, "kube_version": f"v{kube_version}"}
    rendered = _native.call_string("helm_render", chart._raw(), json.dumps(values), json.dumps(options))
    return json.loads(rendered)
