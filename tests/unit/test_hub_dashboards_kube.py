"""The owner-only dashboard route on Kubernetes (issue 22, Deliver 3): ``astrohub_hub.dashboards``.

On Kubernetes the chart sends ``/services/dask-gateway/clusters/...`` to the gateway API server
(``AstroKubeBackend``), which serves the scheduler Service's dashboard port to the cluster's owner or
an admin only. Here the route runs in a real aiohttp server in front of a real HTTP "dashboard"
server; only the Kubernetes side is faked (the backend's ``get_cluster``, which reads the DaskCluster
objects of the K8s API) and the hub sign-in is replaced by a header naming the user (the
authenticator is the local platform's, tested against a real hub in tests/integration).
"""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

import pytest

from astrohub_hub.dashboards import add_dashboard_routes, dashboard_target

# dask-gateway's application and its authenticator use string keys (app["backend"], request["user"]).
pytestmark = pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning")


class FakeKubeBackend:
    """What the route reads of ``KubeBackend``: ``get_cluster`` (no ``db``, no built-in proxy)."""

    def __init__(self, clusters: dict[str, SimpleNamespace]) -> None:
        self.clusters = clusters

    async def get_cluster(self, name: str, wait: bool = False):
        return self.clusters.get(name)


class HeaderSignIn:
    """Stands in for ``HubTokenAuthenticator.authenticate_and_handle``: the user is named by a header."""

    async def authenticate_and_handle(self, request, handler):
        name = request.headers.get("X-Test-User")
        if not name:
            raise web.HTTPUnauthorized()
        request["user"] = SimpleNamespace(name=name, admin=name == "root")
        return await handler(request)

    jupyterhub_service_name = "dask-gateway"


async def _dashboard_server() -> TestServer:
    async def status(request: web.Request) -> web.Response:
        return web.json_response({"page": "status", "authorization": request.headers.get("Authorization"),
                                  "cookie": request.headers.get("Cookie"), "query": dict(request.query)})

    app = web.Application()
    app.router.add_get("/status", status)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


async def _scenario() -> dict:
    upstream = await _dashboard_server()
    address = f"http://127.0.0.1:{upstream.port}"
    backend = FakeKubeBackend({
        "ns.c1": SimpleNamespace(username="ann", dashboard_address=address),
        "ns.pending": SimpleNamespace(username="ann", dashboard_address=""),
    })
    app = web.Application()
    app["backend"], app["authenticator"], app["log"] = backend, HeaderSignIn(), logging.getLogger("test")
    add_dashboard_routes(app)
    out = {}
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        async def get(path, user=None, **headers):
            if user:
                headers["X-Test-User"] = user
            resp = await client.get(path, headers=headers, allow_redirects=False)
            return resp.status, await resp.text(), resp.headers

        out["owner"] = await get("/clusters/ns.c1/status?token=secret", "ann", Authorization="token secret",
                                 Cookie="gateway=1")
        out["other"] = await get("/clusters/ns.c1/status", "bob")
        out["admin"] = await get("/clusters/ns.c1/status", "root")
        out["unknown"] = await get("/clusters/ns.nope/status", "ann")
        out["pending"] = await get("/clusters/ns.pending/status", "ann")
        out["anonymous"] = await get("/clusters/ns.c1/status")
        out["browser"] = await get("/clusters/ns.c1/status", Accept="text/html",
                                   **{"X-Forwarded-Prefix": "/services/dask-gateway"})
        out["target_other"] = await dashboard_target(backend, "ns.c1", SimpleNamespace(name="bob", admin=False))
        out["target_owner"] = await dashboard_target(backend, "ns.c1", SimpleNamespace(name="ann", admin=False))
    await upstream.close()
    out["address"] = address
    return out


def test_the_kubernetes_dashboard_route_serves_the_owner_and_admins_only():
    out = asyncio.run(_scenario())
    status, body, _ = out["owner"]
    assert status == 200 and '"page": "status"' in body
    # The caller's credentials never reach the user's scheduler.
    assert '"authorization": null' in body and '"cookie": null' in body and "secret" not in body
    assert out["admin"][0] == 200
    for case in ("other", "unknown", "pending"):
        status, body, _ = out[case]
        assert status == 404 and "no Dask cluster" in body, case  # the same answer: names are not confirmed
    assert out["anonymous"][0] == 401
    status, _, headers = out["browser"]
    assert status == 302 and headers["Location"].startswith("/hub/api/oauth2/authorize?")
    assert "redirect_uri=%2Fservices%2Fdask-gateway%2Foauth_callback" in headers["Location"]
    assert out["target_other"] is None and out["target_owner"] == ("http", out["address"])


def test_the_kube_backend_adds_the_route():
    from astrohub_hub.gateway import AstroKubeBackend

    app = web.Application()
    calls = []

    async def base_setup(self, app):  # KubeBackend.setup talks to the K8s API: replaced here
        calls.append(app)

    import dask_gateway_server.backends.kubernetes.backend as kube

    original = kube.KubeBackend.setup
    kube.KubeBackend.setup = base_setup
    try:
        asyncio.run(AstroKubeBackend.__new__(AstroKubeBackend).setup(app))
    finally:
        kube.KubeBackend.setup = original
    assert calls == [app]
    paths = {r.resource.canonical for r in app.router.routes()}
    assert {"/clusters/{cluster_name}", "/clusters/{cluster_name}/{tail}", "/oauth_callback"} <= paths
    assert aiohttp  # imported for the route's client
