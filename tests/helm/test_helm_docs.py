"""The operator's guide, docs/deploy-kubernetes.md, read against the chart.

Every value its prose names (a backticked key path) exists in a schema that validates it (ours, or the
subcharts' upstream schemas for their own keys), and every default it states is what an install gets (the
chart's coalesced values: upstream defaults, then ``values.yaml``; else the schema's default). The values
reference at its end is generated (``helm/schema.py``; test_helm_chart.py checks it is current).
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pytest

_spec = importlib.util.spec_from_file_location("_helm_support", Path(__file__).with_name("_helm_support.py"))
hs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hs)

GUIDE = hs.REPO / "docs" / "deploy-kubernetes.md"
HUB = "jupyterhub.custom.astrohub"
#: How the prose abbreviates key paths: a first segment, and the path it stands under.
ROOTS = {
    **{root: "" for root in ("archive", "classes", "sampleData", "networkPolicy", "jupyterhub", "dask-gateway")},
    **{root: HUB + "." for root in ("auth", "daskGateway", "kubernetes", "cull", "storage", "environment")},
    "hub": "jupyterhub.", "singleuser": "jupyterhub.", "gateway": "dask-gateway.",
}
_PATH = re.compile(r"^[A-Za-z][\w-]*(?:\.(?:[\w-]+|\*))+$")


def prose() -> str:
    text = GUIDE.read_text()
    return text[: text.index("<!-- BEGIN values reference")]


def full_path(token: str) -> str | None:
    """The values path a backticked ``token`` of the guide names, or None when it is no values path."""
    if not _PATH.match(token) or token.split(".")[0] not in ROOTS:
        return None
    return ROOTS[token.split(".")[0]] + token


def named_paths(text: str) -> set[str]:
    tokens = re.findall(r"`([^`\s]+)`", text) + re.findall(r"`([^`\s:]+): [^`]+`", text)
    return {path for token in tokens if (path := full_path(token.rstrip(".")))}


def _schemas() -> dict[str, dict[str, Any]]:
    return {
        "": json.loads((hs.REPO / "helm" / "astrohub" / "values.schema.json").read_text()),
        "jupyterhub.": json.loads((hs.SCHEMAS / "jupyterhub-4.4.0.values.schema.json").read_text()),
        "dask-gateway.": json.loads((hs.SCHEMAS / "dask-gateway-2026.3.0.values.schema.json").read_text()),
    }


def _resolve(root: dict[str, Any], node: Any) -> list[dict[str, Any]]:
    """``node`` with ``$ref`` followed and ``anyOf``/``oneOf``/``allOf`` branches spread out."""
    if not isinstance(node, dict):
        return [{}] if node is True else []
    if "$ref" in node:
        target: Any = root
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        return _resolve(root, target)
    branches = [b for key in ("anyOf", "oneOf", "allOf") for b in node.get(key, [])]
    return [node] + [n for b in branches for n in _resolve(root, b)] if branches else [node]


def in_schema(root: dict[str, Any], parts: list[str]) -> bool:
    """Whether ``root`` (a JSON schema) admits the key path ``parts`` (``*``: any key)."""
    nodes = _resolve(root, root)
    for part in parts:
        children = []
        for node in nodes:
            props = node.get("properties", {})
            if part == "*":  # any key: every listed one, and what the rest may be
                children += [c for child in props.values() for c in _resolve(root, child)]
                props = {}
            if part in props:
                children += _resolve(root, props[part])
            elif patterns := [p for p in node.get("patternProperties", {}) if re.search(p, part)]:
                children += [c for p in patterns for c in _resolve(root, node["patternProperties"][p])]
            elif isinstance(node.get("additionalProperties"), dict):
                children += _resolve(root, node["additionalProperties"])
            elif node.get("additionalProperties") is True or (
                    "additionalProperties" not in node and not props and node.get("type") in ("object", None)):
                children.append({})  # an open object: any key (absent with properties: taken as closed)
        if not children:
            return False
        nodes = children
    return True


def admitted(path: str, schemas: dict[str, dict[str, Any]]) -> bool:
    parts = path.split(".")
    if in_schema(schemas[""], parts):
        return True
    if path.startswith(HUB + "."):
        return False  # ours alone (upstream's `custom` admits anything)
    upstream = next((u for u in ("jupyterhub.", "dask-gateway.") if path.startswith(u)), "")
    return bool(upstream) and in_schema(schemas[upstream], parts[1:])


def test_every_value_the_guide_names_exists_in_a_schema() -> None:
    schemas = _schemas()
    named = named_paths(prose())
    assert len(named) > 40 and "jupyterhub.cull.timeout" in named and f"{HUB}.daskGateway.address" in named
    unknown = sorted(path for path in named if not admitted(path, schemas))
    assert not unknown, f"docs/deploy-kubernetes.md names values no schema admits: {unknown}"


def test_the_schema_walk_refuses_a_key_that_is_not_there() -> None:
    schemas = _schemas()
    assert admitted(f"{HUB}.daskGateway.server.maxClustersPerUser", schemas)
    assert admitted("jupyterhub.hub.services.dask-gateway.url", schemas)
    for wrong in (f"{HUB}.daskGateway.server.maxClusterPerUser", "archive.replica", "jupyterhub.cull.timeOut",
                  "dask-gateway.gateway.backend.worker.extraPodConfg"):
        assert not admitted(wrong, schemas), wrong


def chart_default(values: dict[str, Any], schema: dict[str, Any], path: str) -> Any:
    """What an install gets for ``path``: the coalesced ``values``, else our schema's ``default`` (HubSettings')."""
    try:
        for part in path.split("."):
            values = values[part]
        return values
    except (KeyError, TypeError):
        nodes = _resolve(schema, schema)
        for part in path.split("."):
            nodes = [n for node in nodes for n in _resolve(schema, node.get("properties", {}).get(part))]
        return next((node["default"] for node in nodes if "default" in node), "(no default)")


#: "`key` (default 2", "`key: value` (the chart's default", "`key` (the default)", "`key` is `value` (the default".
_DEFAULTS = [
    re.compile(r"`(?P<key>[\w.-]+)` \(default (?P<value>\d+(?:\.\d+)?)"),
    re.compile(r"`(?P<key>[\w.-]+): (?P<value>[^`]+)` \((?:the|the chart's) default"),
    re.compile(r"`(?P<key>[\w.-]+)` \(the default\)"),
    re.compile(r"`(?P<key>[\w.-]+)` is `(?P<value>[^`]+)` \(the default"),
]


def stated_defaults(text: str) -> list[tuple[str, Any]]:
    """(values path, the default the guide states) for each default it states of a values path."""
    found = []
    for pattern in _DEFAULTS:
        for match in pattern.finditer(" ".join(text.split())):
            path = full_path(match["key"])
            if path is None:
                continue
            value = match.groupdict().get("value")
            found.append((path, True if value is None else json.loads(value) if value[0].isdigit() else value))
    return found


def test_every_default_the_guide_states_is_the_charts(chart) -> None:
    values, schema = hs.merged_values(chart, {}), _schemas()[""]
    stated = stated_defaults(prose())
    paths = {path for path, _ in stated}
    assert {f"{HUB}.auth.kind", "classes.grading.deadlineSeconds", "sampleData.enabled"} <= paths, stated
    wrong = [(path, value, chart_default(values, schema, path)) for path, value in stated
             if chart_default(values, schema, path) != value]
    assert not wrong, f"docs/deploy-kubernetes.md states defaults the chart does not have (key, stated, chart): {wrong}"


@pytest.mark.parametrize(("text", "expected"), [
    ("`auth.kind: roster` (the default; people", [(f"{HUB}.auth.kind", "roster")]),
    ("caps `daskGateway.server.maxClustersPerUser` (default 2) a", [(f"{HUB}.daskGateway.server.maxClustersPerUser", 2)]),
])
def test_stated_defaults_are_read(text: str, expected: list) -> None:
    assert stated_defaults(text) == expected


def test_the_reference_gives_the_charts_defaults(chart) -> None:
    """The generated reference's default column is what an install gets, not HubSettings' own default where the
    chart sets another (``auth.kind``: ``native`` on the chart, ``roster`` in the hub model)."""
    values, schema = hs.merged_values(chart, {}), _schemas()[""]
    text = GUIDE.read_text()
    rows = re.findall(r"^\| `([^`]+)` \|.*?\| (?:yes)? \| (.*?) \| .*\|$", text, flags=re.M)
    assert len(rows) > 150 and (f"{HUB}.auth.kind", '"native"') in rows, rows[:5]
    wrong = []
    for path, cell in rows:
        if "[]" in path:
            continue  # keys of a list's items: the schema's defaults, as they are
        expected = chart_default(values, schema, path)
        if isinstance(expected, (dict, list)):
            ok = cell in ("", "values.yaml", json.dumps(expected))
        elif expected == "(no default)":
            ok = cell in ("", "null")  # Helm drops a null of values.yaml when it coalesces: unset
        else:
            ok = cell == json.dumps(expected)
        if not ok:
            wrong.append((path, cell, expected))
    assert not wrong, f"the values reference's defaults differ from the chart's (key, shown, chart): {wrong}"


def test_the_guides_commands_name_the_namespace_and_files_that_exist() -> None:
    """Each ``kubectl`` command of the guide names the release's namespace (the chart installs into
    ``astrohub``: a command without it acts on the default namespace), and each repository file it names exists."""
    text = prose()
    commands = [cmd for cmd in re.findall(r"kubectl [^`\n]*", text) if not cmd.startswith("kubectl create namespace")]
    assert len(commands) >= 4, commands
    assert all(re.search(r"(--namespace|-n) astrohub\b", cmd) for cmd in commands), [
        cmd for cmd in commands if not re.search(r"(--namespace|-n) astrohub\b", cmd)]
    files = {m for m in re.findall(r"(?<![\w/.])((?:helm|images|docs|tests|platform_lib)/[\w./-]*\w)", text)
             if "<" not in m}
    assert {"helm/examples/production.yaml", "images/user/Dockerfile"} <= files, files
    missing = sorted(f for f in files if not (hs.REPO / f).exists())
    assert not missing, f"docs/deploy-kubernetes.md names files that do not exist: {missing}"
