"""The chart itself: dependencies, strict lint, schema validation and bad input, generated files, comments."""

from __future__ import annotations

import copy
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import helm_python
import pytest
import yaml

NFS = {"server": "nfs.example.org", "path": "/export/gaia"}

_spec = importlib.util.spec_from_file_location("_helm_support", Path(__file__).with_name("_helm_support.py"))
hs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hs)


@pytest.fixture(scope="module")
def chart_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return hs.build_chart(tmp_path_factory.mktemp("chart"))


@pytest.fixture(scope="module")
def chart(chart_dir: Path):
    with helm_python.Chart.load(chart_dir) as loaded:
        yield loaded


def test_dependencies_are_the_pinned_community_charts_each_with_a_condition(chart_dir: Path) -> None:
    meta = yaml.safe_load((hs.CHART / "Chart.yaml").read_text())
    deps = {d["name"]: d for d in meta["dependencies"]}
    assert deps["jupyterhub"]["version"] == "4.4.0"
    assert deps["jupyterhub"]["repository"] == "https://jupyterhub.github.io/helm-chart/"
    assert deps["dask-gateway"]["version"] == "2026.3.0"
    assert deps["dask-gateway"]["repository"] == "https://helm.dask.org/"
    assert deps["jupyterhub"]["condition"] == "jupyterhub.enabled"
    assert deps["dask-gateway"]["condition"] == "dask-gateway.enabled"
    # Helm resolves the stub subcharts as those dependencies (right name, right version).
    listed = {d["name"]: d for d in helm_python.dependency_list(chart_dir)}
    assert {name: d["version"] for name, d in listed.items()} == {"jupyterhub": "4.4.0", "dask-gateway": "2026.3.0"}
    assert all(d["status"] in {"ok", "unpacked"} for d in listed.values()), listed


@pytest.mark.parametrize("kube_version", hs.KUBE_VERSIONS)
@pytest.mark.parametrize("name", list(hs.OVERLAYS))
def test_strict_lint_is_clean(chart_dir: Path, name: str, kube_version: str) -> None:
    report = helm_python.lint(
        chart_dir, hs.overlay(name), strict=True, namespace=hs.NAMESPACE, kube_version=f"v{kube_version}"
    )
    assert report["errors"] == [] and report["messages"] == [], report
    assert report["total_charts_linted"] == 1


def test_lint_reports_a_broken_chart(chart_dir: Path) -> None:
    """The lint check can fail: a typo in our own values is an error."""
    report = helm_python.lint(chart_dir, {"archive": {"replicsa": 2}}, strict=True)
    assert report["errors"] or any(m["severity"] >= 2 for m in report["messages"])
    assert "replicsa" in str(report)


@pytest.mark.parametrize(
    ("values", "names"),
    [
        ({"archive": {"replicsa": 2}}, ["archive", "replicsa"]),  # typo in our own key
        ({"networkPolicy": {"enable": True}}, ["networkPolicy", "enable"]),
        ({"archiv": {}}, ["archiv"]),  # unknown top-level key
        ({"archive": {"port": "8080"}}, ["archive", "port"]),  # wrong type
        ({"jupyterhub": {"hub": {"imagee": {}}}}, ["hub", "imagee"]),  # typo in a subchart key
        ({"dask-gateway": {"gateway": {"backend": {"workr": {}}}}}, ["backend", "workr"]),
        ({"jupyterhub": {"cull": {"timout": 600}}}, ["cull", "timout"]),  # culling: typo and wrong type
        ({"jupyterhub": {"cull": {"every": "5m"}}}, ["cull", "every"]),
        ({"dask-gateway": {"gateway": {"auth": {"jupyterhub": {"apiTokenFromSecret": "hub"}}}}},
         ["jupyterhub", "apiTokenFromSecret"]),
        ({"jupyterhub": {"custom": {"astrohub": {"kubernetes": {"dataset": []}}}}}, ["kubernetes", "dataset"]),
        ({"jupyterhub": {"custom": {"astrohub": {"profiles": [{"slug": "x", "displayName": "X", "cpuLimit": "lots"}]}}}},
         ["profiles", "cpuLimit"]),
    ],
)
def test_schema_rejects_typos_and_wrong_types_naming_the_key(chart, values: dict, names: list[str]) -> None:
    with pytest.raises(helm_python.HelmValuesError) as raised:
        chart.validate_schema(copy.deepcopy(values))
    for name in names:
        assert name in str(raised.value)
    with pytest.raises(helm_python.HelmError):  # an install renders nothing either
        hs.render(chart, values)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"jupyterhub": {"custom": {"astrohub": {"kubernetes": {"datasets": [{"name": "gaia"}]}}}}},
            r"jupyterhub\.custom\.astrohub\.kubernetes\.datasets\[0\] \(gaia\): needs exactly one volume source",
        ),
        (
            {"jupyterhub": {"custom": {"astrohub": {"kubernetes": {"datasets": [
                {"name": "gaia", "nfs": {"server": "n", "path": "/g"}, "persistentVolumeClaim": {"claimName": "g"}}
            ]}}}}},
            r"datasets\[0\] \(gaia\): needs exactly one volume source",
        ),
        (
            {"jupyterhub": {"custom": {"astrohub": {"profiles": [
                {"slug": "lab", "displayName": "Lab", "groups": ["astro999"]}
            ]}}}},
            r"jupyterhub\.custom\.astrohub\.profiles\[0\]\.groups: group \"astro999\" of profile \"lab\" is not defined",
        ),
        (
            {"archive": {"dataRoot": "/data/images"},
             "jupyterhub": {"custom": {"astrohub": {"kubernetes": {"datasets": [{"name": "gaia", "nfs": NFS}]}}}}},
            r"archive\.dataRoot: \"/data/images\" is not inside a mounted dataset \(/datasets/gaia\)",
        ),
        (
            {"jupyterhub": {"custom": {"astrohub": {"kubernetes": {"home": {"nfs": {"server": "n", "path": "/h"}}}}}}},
            r"jupyterhub\.singleuser\.storage\.type: must be \"none\"",
        ),
        (  # null removes a key in Helm's merge: the archive is no longer a hub service
            {"jupyterhub": {"hub": {"services": {"archive": None}}}},
            r"jupyterhub\.hub\.services\.archive: archive\.enabled needs the archive registered as a hub service",
        ),
        (
            {"jupyterhub": {"hub": {"services": {"dask-gateway": None}}}},
            r"jupyterhub\.hub\.services\.dask-gateway: dask-gateway authenticates through the hub as the service",
        ),
        (
            {"dask-gateway": {"gateway": {"auth": {"jupyterhub": {"jupyterhubServiceName": None}}}}},
            r"dask-gateway\.gateway\.auth\.jupyterhub\.jupyterhubServiceName: must name dask-gateway's hub service",
        ),
        (
            {"dask-gateway": {"gateway": {"auth": {"jupyterhub": {"apiTokenFromSecretKey": "dask-gateway.apiToken"}}}}},
            r"dask-gateway\.gateway\.auth\.jupyterhub\.apiTokenFromSecretKey: \"dask-gateway\.apiToken\" is not the key "
            r".*\(\"hub\.services\.dask-gateway\.apiToken\"\)",
        ),
        (  # silently ignored on Kubernetes: z2jh's jupyterhub.cull runs the culler
            {"jupyterhub": {"custom": {"astrohub": {"cull": {"enabled": True, "timeoutSeconds": 600}}}}},
            r"jupyterhub\.custom\.astrohub\.cull\.enabled: used by `astrohub up` only; .*jupyterhub\.cull\.enabled",
        ),
        (
            {"jupyterhub": {"custom": {"astrohub": {"cull": {"timeoutSeconds": 600, "warningSeconds": 60}}}}},
            r"jupyterhub\.custom\.astrohub\.cull\.timeoutSeconds: .*jupyterhub\.cull\.timeout ",
        ),
        (  # the archive would ask http://hub:8081/hub/api and serve /services/archive/: both 404 under /astro/
            {"jupyterhub": {"hub": {"baseUrl": "/astro/"}}},
            r"jupyterhub\.hub\.baseUrl: \"/astro/\" is not supported, only \"/\"",
        ),
        (  # an operator's roster with its passwords forgotten: the hub started, and nobody could ever sign in
            {"jupyterhub": {"custom": {"astrohub": {"auth": {"kind": "roster", "adminUsers": ["operator"]}}}}},
            r"jupyterhub\.custom\.astrohub\.auth: with kind roster and neither adminPassword nor sharedPassword "
            r"nobody could ever sign in",
        ),
    ],
)
def test_bad_input_schema_cannot_express_fails_the_render_naming_the_key(chart, values: dict, message: str) -> None:
    """Helm prefixes the template that failed: every one of these read "at (astrohub/templates/sampledata.yaml:10:13)",
    the first template that asked for the checks, whatever the key. Now the values check's own template."""
    with pytest.raises(helm_python.HelmRenderError, match=message) as raised:
        hs.render(chart, values)
    assert "at (astrohub/templates/values-check.yaml:" in str(raised.value), str(raised.value)


@pytest.mark.parametrize("auth", [{"adminPassword": "a" * 32}, {"sharedPassword": "class-code-1"}])
def test_roster_with_either_password_renders(chart, auth: dict) -> None:
    """A roster with the admin's password (the admin adds people) or a class code alone (people of the values'
    groups and allowedUsers register) lets someone sign in: no render error."""
    values = {"jupyterhub": {"custom": {"astrohub": {"auth": {"kind": "roster", **auth}}}}}
    assert hs.manifests(hs.render(chart, values))


def test_hub_settings_model_agrees_with_the_chart_bad_inputs() -> None:
    """The hub validates the same section: a dataset without a source is refused by pydantic too."""
    from pydantic import ValidationError

    from astrohub_hub.kubernetes import KubernetesSettings

    with pytest.raises(ValidationError, match="exactly one volume source"):
        KubernetesSettings.model_validate({"datasets": [{"name": "gaia"}]})
    with pytest.raises(ValidationError, match="datasetz"):
        KubernetesSettings.model_validate({"datasetz": []})


def test_generated_schema_and_reference_are_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(hs.REPO / "helm" / "schema.py"), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


_KEY = re.compile(r"^(?P<indent>\s*)(?P<dash>- )?(?P<key>[\w./-]+):")
# Keys inside these lists are raw Kubernetes objects, documented by the comment on the list's key.
_RAW_LISTS = {"ingress", "env"}


def test_every_key_of_values_yaml_has_a_comment() -> None:
    lines = (hs.CHART / "values.yaml").read_text().splitlines()
    missing, raw_indent = [], None
    for number, line in enumerate(lines, 1):
        match = _KEY.match(line)
        if not match or line.lstrip().startswith("#"):
            continue
        indent = len(match["indent"])
        if raw_indent is not None and indent > raw_indent:
            continue
        raw_indent = indent if match["key"] in _RAW_LISTS else None
        previous = lines[number - 2].strip() if number > 1 else ""
        if previous.startswith("#") or previous.startswith("- #"):
            continue
        missing.append(f"{number}: {line.strip()}")
    assert not missing, "keys without a comment in values.yaml:\n" + "\n".join(missing)


def test_cull_warning_and_activity_interval_apply_on_kubernetes(chart) -> None:
    """Only the culler's own keys are refused: the warning and the activity reports reach user pods."""
    values = {"jupyterhub": {"custom": {"astrohub": {"cull": {"warningSeconds": 60, "activityIntervalSeconds": 30}}}}}
    assert hs.manifests(hs.render(chart, values))


@pytest.mark.parametrize("name", [n for n in hs.OVERLAYS if n not in ("default", "dev")])
def test_no_overlay_but_dev_lets_one_password_sign_in_as_anybody(chart, name: str) -> None:
    """``shared-password`` signs in as *any* user with one password (docs: throw-away demos only); a class
    overlay with it lets a student open a classmate's home and work. Only the dev overlay may use it."""
    from astrohub_hub.settings import HubSettings

    settings = HubSettings.model_validate(hs.hub_values(chart, hs.overlay(name)))
    assert settings.auth.kind != "shared-password", f"{name}: use roster (a class code) or an OAuth provider"


NEXT_STEP = {  # overlay -> what NOTES.txt tells the operator to do to sign in
    "default": "sign up as an admin (admin) at /hub/signup first",
    "dev": "one password signs in as anybody",
    "production": "through your OAuth/OIDC provider",
    "teaching-class": "each person on the roster sets a password once at /hub/register",
    "offline": "sign up as an admin (admin) at /hub/signup first",
}


_ADMIN = "a" * 32
_NO_ADMIN = "no admin can sign in (auth.adminPassword is not set)"
_CLOSED = "registration at /hub/register is closed"


@pytest.mark.parametrize(
    ("auth", "said", "unsaid"),
    [
        ({"kind": "roster", "sharedPassword": "class-code-1"},
         [_NO_ADMIN, "sets a password once at /hub/register with the class code (auth.sharedPassword)"],
         ["sign in with auth.adminPassword", _CLOSED]),
        ({"kind": "roster", "adminPassword": _ADMIN},
         ["admins (admin) sign in with auth.adminPassword and add people", _CLOSED],
         [_NO_ADMIN, "with the class code"]),
        ({"kind": "roster", "adminPassword": _ADMIN, "sharedPassword": "class-code-1", "adminUsers": ["ops"]},
         ["admins (ops) sign in with auth.adminPassword", "with the class code (auth.sharedPassword)"],
         [_NO_ADMIN, _CLOSED]),
        ({"kind": "native"}, ["sign up as an admin (admin) at /hub/signup first"], ["Password", "class code"]),
        ({"kind": "external"}, ["through your OAuth/OIDC provider"], ["Password", "class code"]),
        ({"kind": "shared-password", "sharedPassword": "demo-password"},
         ["one password signs in as anybody", "everybody on the roster signs in with auth.sharedPassword"],
         ["auth.adminPassword"]),
        ({"kind": "shared-password", "sharedPassword": "demo-password", "adminPassword": _ADMIN},
         ["everybody on the roster signs in with auth.sharedPassword", "admins (admin) sign in with auth.adminPassword"],
         []),
    ],
    ids=["roster-class-code-only", "roster-admin-only", "roster-both", "native", "external", "shared", "shared-admin"],
)
def test_notes_say_exactly_what_the_sign_in_values_configure(chart, auth: dict, said: list, unsaid: list) -> None:
    """NOTES.txt with only sharedPassword set told the operator that admins sign in with auth.adminPassword (not set:
    no admin could sign in) and to add people on /hub/admin; with only adminPassword, that people register with the
    class code (not set: registration closed). Each login mode's notes name only what its values configure."""
    rendered = hs.render(chart, {"jupyterhub": {"custom": {"astrohub": {"auth": auth}}}})
    notes = next(text for path, text in rendered.items() if path.endswith("NOTES.txt"))
    for text in said:
        assert text in notes, notes
    for text in unsaid:
        assert text not in notes, notes
    # the roster's line was "3. Sign in (roster): " (a space at its end) above its list
    assert [line for line in notes.splitlines() if line != line.rstrip()] == [], notes
    assert re.search(rf"^3\. Sign in \({auth['kind']}\):( \S|\n  - \S)", notes, re.M), notes


@pytest.mark.parametrize("name", list(hs.OVERLAYS))
def test_notes_tell_the_operator_the_next_steps(chart, name: str) -> None:
    rendered = hs.render(chart, hs.overlay(name))
    notes = next(text for path, text in rendered.items() if path.endswith("NOTES.txt"))
    assert f"kubectl --namespace {hs.NAMESPACE} get pods --watch" in notes
    assert f"port-forward service/proxy-public 8080:http" in notes
    assert NEXT_STEP[name] in notes, notes
    assert ("/services/astrohub-classes/" in notes) == bool(hs.merged_values(chart, hs.overlay(name))["classes"]["enabled"])
