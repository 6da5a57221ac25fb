"""The classes service exactly as the Helm chart runs it, against the running hub (issue 19 item 7).

The chart's ``classes`` container (``helm/astrohub/templates/classes.yaml``, the ``teaching-class`` overlay,
rendered offline with helm_python as in tests/helm) gives a command, a ConfigMap and a Secret reference. This
test starts that command with that environment and only what a cluster would differ in substituted: the hub's
API address (``http://hub:8081`` -> the local hub's), the port (a free one), the claim's mount path (a temporary folder), the
gateway's host, the token the Secret holds (the platform's token of the same service, ``astrohub-classes``).
The service name, OAuth client id, callback, prefix, access scopes and every variable name are the chart's.

The chart's service stands in for the platform's own ``astrohub-classes`` process for the test's requests: the
hub knows the service by its name and token, and what a browser asks of ``/services/astrohub-classes/`` on the
hub's public address goes to the chart's process (:class:`_ChartRoute`, as a cluster's proxy routes it to the
Service), the rest (the hub's sign-in and OAuth) to the platform's proxy. The proxy's own route is left alone:
pointing it at the chart's process raced the hub, whose route check (every ``JupyterHub.last_activity_interval``,
5 min) puts the platform's service back, which then answered a student's page without the class (CI, once).
Then real users sign in through the hub's OAuth to the service's page, and an instructor sees the roster of a
class created through the service's API.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
from requests.adapters import HTTPAdapter

from platform_lib.local.ports import free_ports

HELM = Path(__file__).resolve().parents[1] / "helm"
NAME = "astrohub-classes"


def _helm_support():
    spec = importlib.util.spec_from_file_location("_helm_support", HELM / "_helm_support.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _chart_container(tmp: Path) -> tuple[list[str], dict[str, str], dict[str, Any]]:
    """The rendered classes container's command, its environment (Secret references as ``secret <key>``),
    and the hub registration of the same overlay (``jupyterhub.hub.services.astrohub-classes``)."""
    import helm_python

    hs = _helm_support()
    values = hs.overlay("teaching-class")
    with helm_python.Chart.load(hs.build_chart(tmp)) as chart:
        objects = hs.manifests(hs.render(chart, values))
        registered = hs.merged_values(chart, values)["jupyterhub"]["hub"]["services"][NAME]
    deployment = hs.find(objects, "Deployment", NAME)
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container["command"] + container.get("args", []), hs.service_environment(objects, tmp / "claims"), {
        "registered": registered, "port": container["ports"][0]["containerPort"]}


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 403  # the API: "sign in: send a hub token"
    except requests.RequestException:
        return False


class _ChartRoute(HTTPAdapter):
    """Sends a request for ``public`` (the service's URLs on the hub's public address) to ``target`` (the chart's
    process), as a cluster's proxy routes them to the Service. The response keeps the public URL and request, so
    the service's relative redirects (to the hub's OAuth) resolve and its cookies are kept as a browser's."""

    def __init__(self, public: str, target: str) -> None:
        super().__init__()
        self.public, self.target = public, target

    def send(self, request, **kwargs):
        routed = request.copy()
        routed.url = self.target + request.url[len(self.public):]
        response = super().send(routed, **kwargs)
        response.url, response.request = request.url, request
        return response


@pytest.fixture(scope="module")
def chart_service(platform, poll) -> Iterator[dict[str, Any]]:
    """The chart's classes container, started here; ``route(session)`` sends a session's requests for the
    service's URLs to it (the hub's proxy still routes them to the platform's own service)."""
    tmp = Path(tempfile.mkdtemp(prefix="astrohub-chart-classes-"))
    command, env, chart = _chart_container(tmp)
    (port,) = free_ports(1)
    ip = platform.config.hub.ip
    tokens = json.loads((platform.data_dir / "state" / "tokens.json").read_text())
    assert chart["registered"]["url"] == f"http://{NAME}:{chart['port']}"  # the hub reaches the Service's port
    substituted = {}
    for key, value in env.items():
        value = value.replace("http://hub:8081", f"http://{ip}:{platform.config.hub.hub_port}")  # z2jh's hub
        value = value.replace(f":{chart['port']}", f":{port}")
        value = value.replace("http://traefik-astrohub-dask-gateway", platform.url.rstrip("/"))
        substituted[key] = value
    assert substituted.pop("JUPYTERHUB_API_TOKEN") == f"secret hub.services.{NAME}.apiToken"
    substituted["JUPYTERHUB_API_TOKEN"] = tokens["classes"]  # the token the hub knows this service by
    substituted["PATH"] = f"{os.path.dirname(sys.executable)}:/usr/bin:/bin"  # python3: the hub image's, here ours
    log = open(tmp / "service.log", "wb")
    process = subprocess.Popen(command, env=substituted, cwd=tmp, stdout=log, stderr=subprocess.STDOUT)
    public, target = f"{platform.url}services/{NAME}/", f"http://{ip}:{port}/services/{NAME}/"

    def route(session: requests.Session) -> requests.Session:
        session.mount(public, _ChartRoute(public, target))
        return session

    try:
        poll(lambda: _answers(f"{target}api/classes") or process.poll() is not None, 60, "the chart's classes service")
        assert process.poll() is None, (tmp / "service.log").read_text()
        yield {"tmp": tmp, "env": substituted, "process": process, "log": tmp / "service.log", "route": route}
    finally:
        process.terminate()
        process.wait(30)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)  # the chart's claims and log: 19 such folders were left in /tmp


def test_users_sign_in_to_the_charts_classes_service_and_the_instructor_sees_the_roster(platform, chart_service):
    prof, s1, s2 = (platform.unique(n) for n in ("hprof", "hs1", "hs2"))
    for user in (prof, s1, s2):
        platform.create_user(user)
    cls = platform.unique("helmcls")
    admin = chart_service["route"](requests.Session())
    created = admin.post(f"{platform.url}services/{NAME}/api/classes", timeout=120,
                         headers={"Authorization": f"token {platform.admin_token}"},
                         json={"name": cls, "instructors": [prof], "students": [s1, s2]})
    assert created.status_code == 200, created.text
    # The class lives where the chart's settings put it (the claim), so this is the chart's process answering.
    assert (Path(chart_service["env"]["ASTROHUB_CLASSES_ROOT"]) / cls / "materials").is_dir()
    assert Path(chart_service["env"]["ASTROHUB_CLASSES_ROOT"]).is_relative_to(chart_service["tmp"])

    # A browser's sign-in: the hub's login, then the service's OAuth (client id, callback, scopes of the chart).
    session = chart_service["route"](platform.login(prof))
    page = session.get(f"{platform.url}services/{NAME}/", timeout=60)
    hops = [r.url for r in page.history]
    assert page.status_code == 200, (page.status_code, page.text[:500], hops, chart_service["log"].read_text())
    assert page.url.startswith(f"{platform.url}services/{NAME}/"), page.url
    assert any("/hub/api/oauth2/authorize" in hop for hop in hops), hops  # it went through the hub's OAuth
    assert any(f"/services/{NAME}/oauth_callback" in hop for hop in hops), hops
    assert f"Classes and workspaces of {prof}" in page.text
    roster = page.text.split("<table class='roster'>", 1)[1].split("</table>", 1)[0]
    assert f"<td>{s1}</td><td class='server'>stopped</td>" in roster and f"<td>{s2}</td>" in roster, roster

    student = chart_service["route"](platform.login(s1)).get(f"{platform.url}services/{NAME}/", timeout=60)
    assert student.status_code == 200 and f"Classes and workspaces of {s1}" in student.text
    assert cls in student.text and "<table class='roster'>" not in student.text  # a student sees no roster
