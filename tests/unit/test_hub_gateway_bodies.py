"""astrohub_hub.gateway_bodies: dask-gateway's JSON routes refuse a body that is not a JSON object with a 400 naming the
problem (errpages25: an empty body, ``null``, a list, bytes that are not UTF-8 or JSON nested past the parser were
dask-gateway's "500 Internal Server Error: Server got itself in trouble"). A real aiohttp server with dask-gateway's
own create-cluster route path; its handler here echoes the body it reads the way dask-gateway's does
(``await request.json()``, then ``msg.get``). On the platform: tests/integration/test_platform_badinput.py."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from astrohub_hub.gateway_bodies import JSON_ROUTES, add_body_check

pytestmark = pytest.mark.unit


async def _create(request: web.Request) -> web.Response:
    msg = await request.json()  # as dask_gateway_server.routes.create_cluster
    return web.json_response({"options": msg.get("cluster_options", {})})


def _answers(bodies: list[tuple[bytes, str]]) -> list[tuple[int, dict]]:
    async def run() -> list[tuple[int, dict]]:
        app = web.Application()
        add_body_check(app)
        app.router.add_post("/api/v1/clusters/", _create)
        async with TestClient(TestServer(app)) as client:
            out = []
            for body, content_type in bodies:
                answer = await client.post("/api/v1/clusters/", data=body, headers={"Content-Type": content_type})
                out.append((answer.status, await answer.json()))
            return out

    return asyncio.run(run())


def test_the_routes_are_dask_gateways_own():
    from dask_gateway_server.routes import default_routes

    theirs = {(route.method, route.path) for route in default_routes}
    assert JSON_ROUTES <= theirs, JSON_ROUTES - theirs


@pytest.mark.parametrize(("body", "content_type", "problem"), [
    (b"", "application/json", "is empty"),
    (b"null", "application/json", "is JSON null, not an object"),
    (b"[1]", "application/json", "is JSON list, not an object"),
    (b"\xff\xfe", "application/json", "is not utf-8"),
    (b"[" * 5000, "application/json", "nests deeper than any request needs"),
    (b"{", "application/json", "is not JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"),
    (b"{}", "application/json; charset=nonsense", "is in the unknown charset 'nonsense'"),
])
def test_a_body_that_is_not_a_json_object_is_a_400_naming_the_problem(body, content_type, problem):
    [(status, answer)] = _answers([(body, content_type)])
    assert status == 400, answer
    assert answer["error"].startswith(f"the body of POST /api/v1/clusters/ {problem}: send a JSON object"), answer


def test_a_json_object_reaches_the_route():
    assert _answers([(b'{"cluster_options": {"worker_cores": 1}}', "application/json")]) == [
        (200, {"options": {"worker_cores": 1}})]
