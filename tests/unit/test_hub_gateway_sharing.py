"""Sharing a Dask cluster with a hub group: ``astrohub_hub.gateway_sharing`` on dask-gateway's own routes.

The routes are dask-gateway's (``default_routes``: connect, stop, scale, adapt) plus the sharing routes, in a
real aiohttp server; the clusters live in dask-gateway's real database (``DataManager``, SQLite), as on the
local backends. The hub sign-in is replaced by headers naming the user and their groups (the authenticator is
tested against a real hub in tests/integration/test_security_dask.py), and on Kubernetes only the API's one
call is faked.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from types import SimpleNamespace

import pytest
from aiohttp import DummyCookieJar, web
from aiohttp.test_utils import TestClient, TestServer

from dask_gateway_server.auth import Authenticator, unauthorized
from dask_gateway_server.backends.db_base import DataManager, JobStatus
from dask_gateway_server.routes import default_routes
from traitlets import Bool, Dict, Unicode, default

from astrohub_hub.dashboards import FreshUserCache
from astrohub_hub.gateway_sharing import SHARED_WITH, ClusterSharing, SharingUser, add_sharing_routes

pytestmark = pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning")


class DBBackend(ClusterSharing):
    """dask-gateway's database backend's reads (``DBBackendBase``), without processes to start."""

    def __init__(self) -> None:
        self.db = DataManager()
        self.stopped: list[str] = []
        self.messages: list[dict] = []

    def running(self, username: str, options: dict | None = None) -> str:
        cluster = self.db.create_cluster(username, options or {}, {})
        self.db.update_cluster(cluster, status=JobStatus.RUNNING)
        return cluster.name

    async def get_cluster(self, name, wait=False):
        cluster = self.db.get_cluster(name)
        return None if cluster is None else cluster.to_model()

    async def list_clusters(self, username=None, statuses=None):
        return [c.to_model() for c in self.db.list_clusters(username=username, statuses=statuses)]

    async def stop_cluster(self, name, failed=False):
        self.stopped.append(name)

    async def forward_message_to_scheduler(self, cluster, msg):
        self.messages.append(msg)


class HeaderSignIn(Authenticator):
    """Stands in for ``HubTokenAuthenticator``: the user and their hub groups come from headers instead of the hub;
    dask-gateway's session cookie and cache as they are (``authenticate_and_handle``), with our cache."""

    cluster_sharing = Bool(True)
    cluster_sharing_setting = Unicode("")

    @default("cache")
    def _default_cache(self):
        return FreshUserCache(max_age=self.cache_max_age)

    async def authenticate(self, request):
        name = request.headers.get("X-User")
        if not name:
            raise unauthorized("jupyterhub")
        groups = [g for g in request.headers.get("X-Groups", "").split(",") if g]
        return SharingUser(name, groups=groups, admin=name == "root", sharing=self.cluster_sharing)

    def get_token(self, request):
        return request.headers.get("X-User")

    async def groups_of(self, name, fresh=False):
        """An owner's groups as the hub answers now: ``PEOPLE``, unless a scenario changed them (None: hub down)."""
        groups = self.hub.get(name, PEOPLE.get(name, ""))
        return None if groups is None else frozenset(g for g in groups.split(",") if g)

    hub = Dict()


PEOPLE = {"ann": "survey", "ben": "survey", "eve": "other", "root": ""}


async def _run(scenario, sharing: bool = True, setting: str = ""):
    backend = DBBackend()
    app = web.Application()
    app.add_routes(default_routes)  # dask-gateway's own API, as its app adds it first
    signin = HeaderSignIn(cluster_sharing=sharing, cluster_sharing_setting=setting, cookie_name="gateway-session")
    app["backend"], app["authenticator"], app["log"] = backend, signin, logging.getLogger("test")
    add_sharing_routes(app)
    # No cookie jar: each call is a new client, unless it sends the session cookie itself.
    async with TestClient(TestServer(app, host="127.0.0.1"), cookie_jar=DummyCookieJar()) as client:
        async def call(method, path, user, groups=None, **kwargs):
            headers = kwargs.pop("headers", {})
            if user:
                headers.update({"X-User": user, "X-Groups": PEOPLE[user] if groups is None else groups})
            resp = await client.request(method, path, headers=headers, **kwargs)
            body = await resp.json() if resp.content_type == "application/json" else None
            call.session = resp.cookies.get("gateway-session")
            return resp.status, body

        call.hub = signin.hub  # owner -> her groups as the hub answers ("a,b"; None: the hub cannot answer)
        return await scenario(backend, call)


def test_a_member_of_the_group_connects_and_only_the_owner_manages():
    async def scenario(backend, call):
        name = backend.running("ann")
        url = f"/api/v1/clusters/{name}"
        out = {"before": await call("GET", url, "ben")}
        out["share"] = await call("PUT", f"{url}/sharing", "ann", json={"group": "survey"})
        out["member"] = await call("GET", url, "ben")
        out["outsider"] = await call("GET", url, "eve")
        out["listed"] = await call("GET", "/api/v1/shared-clusters/", "ben")
        out["not listed"] = await call("GET", "/api/v1/shared-clusters/", "eve")
        out["own not listed"] = await call("GET", "/api/v1/shared-clusters/", "ann")
        out["member scales"] = await call("POST", f"{url}/scale", "ben", json={"count": 3})
        out["member adapts"] = await call("POST", f"{url}/adapt", "ben", json={})
        for who in ("ann", "ben", "eve", "root"):  # what a GatewayCluster asks before it stops the cluster
            out[f"{who} asks"] = await call("GET", f"{url}/sharing", who)
        out["member stops"] = await call("DELETE", url, "ben")
        out["member unshares"] = await call("DELETE", f"{url}/sharing", "ben")
        out["owner scales"] = await call("POST", f"{url}/scale", "ann", json={"count": 2})
        out["unshare"] = await call("DELETE", f"{url}/sharing", "ann")
        out["after"] = await call("GET", url, "ben")
        out["listed after"] = await call("GET", "/api/v1/shared-clusters/", "ben")
        out["admin stops"] = await call("DELETE", url, "root")
        out["stopped"], out["messages"] = list(backend.stopped), list(backend.messages)
        out["name"] = name
        return out

    out = asyncio.run(_run(scenario))
    name = out["name"]
    # dask-gateway's own answer was 403 "User ben lacks permissions to view cluster", which its client shows as
    # "Forbidden"; a cluster one may not use gets the answer of one that does not exist, with a message (404)
    not_yours = f"no Dask cluster {name!r} of yours or shared with your hub groups"
    status, body = out["before"]
    assert status == 404 and body["error"].startswith(not_yours + " (survey) is running")
    assert "shared_clusters()" in body["error"]
    status, body = out["share"]
    assert status == 200 and body["owner"] == "ann" and body[SHARED_WITH] == "survey"
    status, body = out["member"]
    assert status == 200 and body["name"] == name and body["tls_cert"] and body["tls_key"]  # what connect needs
    status, body = out["outsider"]
    assert status == 404 and body["error"].startswith(not_yours + " (other)") and "tls_key" not in body
    status, body = out["listed"]
    assert status == 200 and list(body) == [name] and body[name]["owner"] == "ann"
    assert "tls_key" not in body[name] and body[name][SHARED_WITH] == "survey"
    assert out["not listed"][1] == {} and out["own not listed"][1] == {}
    for case, verb in (("member scales", "scale"), ("member adapts", "adapt"), ("member stops", "stop"),
                       ("member unshares", "share or unshare")):
        status, body = out[case]
        assert status == 422, case
        assert body["error"] == (f"only the owner of Dask cluster {name!r} (ann) or a hub admin may {verb} it; it is "
                                 "shared with your group 'survey', whose members may connect to it and open its "
                                 "dashboard"), case
    assert out["owner scales"][0] == 200 and out["messages"] == [{"op": "scale", "count": 2}]
    for who, manages in (("ann", True), ("ben", False), ("root", True)):
        status, body = out[f"{who} asks"]
        assert status == 200 and body["may_manage"] is manages and (body["owner"], body[SHARED_WITH]) == (
            "ann", "survey") and "tls_key" not in body, who
    assert out["eve asks"][0] == 404 and out["eve asks"][1]["error"].startswith(not_yours)
    status, body = out["unshare"]
    assert status == 200 and body[SHARED_WITH] == ""
    assert out["after"][0] == 404 and out["listed after"][1] == {}
    assert out["admin stops"][0] == 204 and out["stopped"] == [name]


def test_sharing_is_with_ones_own_group_and_bad_requests_are_named():
    async def scenario(backend, call):
        name = backend.running("ann")
        url = f"/api/v1/clusters/{name}/sharing"
        return {
            "foreign group": await call("PUT", url, "ann", json={"group": "other"}),
            "no group": await call("PUT", url, "ann", json={}),
            "not json": await call("PUT", url, "ann", data=b"survey"),
            "unknown cluster": await call("PUT", "/api/v1/clusters/nope/sharing", "ann", json={"group": "survey"}),
            "anonymous": await call("PUT", url, None, json={"group": "survey"}),
            "outsider": await call("PUT", url, "eve", json={"group": "other"}),
            "options": backend.db.get_cluster(name).options,
        }

    out = asyncio.run(_run(scenario))
    status, body = out["foreign group"]
    assert status == 422 and body["error"].startswith("'other' is not one of your hub groups (survey)")
    for case in ("no group", "not json"):
        assert out[case][0] == 422 and '{"group": "<one of your hub groups>"}' in out[case][1]["error"], case
    assert out["unknown cluster"][0] == 404 and "no Dask cluster 'nope' of yours" in out["unknown cluster"][1]["error"]
    assert out["anonymous"][0] == 401 and out["outsider"][0] == 404
    assert SHARED_WITH not in out["options"]  # nothing was stored


def test_with_sharing_off_a_group_never_reaches_a_cluster():
    async def scenario(backend, call):
        name = backend.running("ann", {SHARED_WITH: "survey"})  # shared before the operator turned sharing off
        return {"share": await call("PUT", f"/api/v1/clusters/{name}/sharing", "ann", json={"group": "survey"}),
                "member": await call("GET", f"/api/v1/clusters/{name}", "ben"),
                "listed": await call("GET", "/api/v1/shared-clusters/", "ben"),
                "owner": await call("GET", f"/api/v1/clusters/{name}", "ann")}

    out = asyncio.run(_run(scenario, sharing=False, setting="the setting"))
    assert out["share"] == (422, {"error": "sharing Dask clusters is off on this platform (an operator turns it "
                                           "on: the setting)"})
    assert out["member"][0] == 404 and out["listed"][1] == {} and out["owner"][0] == 200


@pytest.mark.parametrize("mode, setting, not_named", [
    ("local", "gateway.cluster_sharing in astrohub.toml", "clusterSharing"),
    ("kubernetes", "the Helm value jupyterhub.custom.astrohub.daskGateway.server.clusterSharing", "astrohub.toml"),
])
def test_sharing_off_names_the_setting_the_operator_of_this_deployment_sets(mode, setting, not_named):
    """Both refusals of a share while sharing is off named the Helm key daskGateway.server.clusterSharing, also on
    the local platform, whose operator sets gateway.cluster_sharing in astrohub.toml. Each names the deployment's."""
    from dask_gateway_server.models import User
    from traitlets.config import Config

    from astrohub_hub.configure import validate_settings
    from astrohub_hub.dashboards import HubTokenAuthenticator
    from astrohub_hub.gateway import cluster_options, configure_gateway, configure_gateway_kubernetes

    settings = validate_settings({
        "mode": mode,
        "storage": {"home": "/h/{username}", "groupsRoot": "/g", "datasets": "/d", "scratch": "/s/{username}"},
        "daskGateway": {"apiToken": "t", "server": {"clusterSharing": False, "backend": "unsafe"}},
        **({"kubernetes": {}} if mode == "kubernetes" else {})})
    c = Config()
    (configure_gateway_kubernetes if mode == "kubernetes" else configure_gateway)(c, settings)
    # the gateway's PUT .../sharing, as platform_lib.gateway.share_cluster calls it
    out = asyncio.run(_run(lambda backend, call: call("PUT", f"/api/v1/clusters/{backend.running('ann')}/sharing",
                                                       "ann", json={"group": "survey"}),
                           sharing=False, setting=HubTokenAuthenticator(config=c).cluster_sharing_setting))
    assert out[0] == 422 and setting in out[1]["error"] and not_named not in out[1]["error"], out
    # the cluster option shared_with, as Gateway().new_cluster(shared_with=...) sends it
    options = cluster_options(settings)
    with pytest.raises(ValueError) as refused:
        options.get_configuration(options.parse_options({SHARED_WITH: "survey"}), User("ann", groups=["survey"]))
    assert setting in str(refused.value) and not_named not in str(refused.value)


def test_the_group_is_kept_in_the_gateways_database(tmp_path):
    """A restarted local gateway (``db_path``) reads the clusters back from its database: the group too."""
    url, keys = f"sqlite:///{tmp_path / 'gateway.sqlite'}", [b"x" * 43 + b"="]

    async def scenario():  # dask-gateway's cluster records need a running loop
        backend = DBBackend()
        backend.db = DataManager(url=url, encrypt_keys=keys)
        name = backend.running("ann")
        await backend.set_shared_with(name, "survey")
        return backend.db.get_cluster(name).options, DataManager(url=url, encrypt_keys=keys).get_cluster(name).options

    assert asyncio.run(scenario()) == ({SHARED_WITH: "survey"}, {SHARED_WITH: "survey"})


def test_the_kubernetes_backend_keeps_the_group_in_the_daskcluster_object():
    from dask_gateway_server import models

    from astrohub_hub.gateway import AstroKubeBackend

    patches = []

    class FakeCustomObjects:  # the one call; no Kubernetes API server here
        async def patch_namespaced_custom_object(self, group, version, namespace, plural, name, body):
            patches.append((group, namespace, plural, name, body))

    backend = AstroKubeBackend.__new__(AstroKubeBackend)
    backend.crd_version = "v1alpha1"
    backend.custom_client = FakeCustomObjects()
    cluster = models.Cluster(name="astro.abc", username="ann", token="t", options={"worker_cores": 2}, config={},
                             status=models.ClusterStatus.RUNNING)
    backend.clusters, backend.username_to_clusters = {"astro.abc": cluster}, defaultdict(dict)
    asyncio.run(backend.set_shared_with("astro.abc", "survey"))
    wanted = {"worker_cores": 2, SHARED_WITH: "survey"}
    assert patches == [("gateway.dask.org", "astro", "daskclusters", "abc",
                        [{"op": "replace", "path": "/spec/options", "value": wanted}])]
    assert cluster.options == wanted


def test_the_authenticator_gives_sharing_users_with_the_hubs_groups(monkeypatch):
    from dask_gateway_server.auth import JupyterHubAuthenticator
    from dask_gateway_server.models import User

    from astrohub_hub.dashboards import HubTokenAuthenticator

    async def from_hub(self, request):
        return User("ben", groups=["survey"], admin=False)

    monkeypatch.setattr(JupyterHubAuthenticator, "authenticate", from_hub)
    request = SimpleNamespace(headers={"Authorization": "token abc"}, query={})
    for sharing in (True, False):
        user = asyncio.run(HubTokenAuthenticator(cluster_sharing=sharing).authenticate(request))
        assert isinstance(user, SharingUser) and user.groups == {"survey"} and user.sharing is sharing
        assert user.hub_token == "abc" and "abc" not in repr(user)  # kept to ask the hub again, never shown


def test_the_cluster_option_shares_from_the_start_with_ones_own_group():
    from dask_gateway_server.models import User

    from astrohub_hub.configure import validate_settings
    from astrohub_hub.gateway import cluster_options

    base = {"mode": "local", "storage": {"home": "/h/{username}", "groupsRoot": "/g", "datasets": "/d",
                                         "scratch": "/s/{username}"}}
    options = cluster_options(validate_settings(base))
    ann = User("ann", groups=["survey"])
    chosen = options.parse_options({SHARED_WITH: "survey"})
    assert chosen[SHARED_WITH] == "survey" and "worker_cores" in options.get_configuration(chosen, ann)
    assert options.parse_options({})[SHARED_WITH] == ""
    with pytest.raises(ValueError, match=r"shared_with='other' is not one of your hub groups \(survey\)"):
        options.get_configuration(options.parse_options({SHARED_WITH: "other"}), ann)
    off = cluster_options(validate_settings({**base, "daskGateway": {"server": {"clusterSharing": False}}}))
    with pytest.raises(ValueError, match=r"sharing Dask clusters is off on this platform"):
        off.get_configuration(off.parse_options({SHARED_WITH: "survey"}), ann)


def test_connecting_asks_the_hub_for_the_groups_each_time_not_the_session_cookie():
    """A member who left the group is refused at the next connection, even from a client that kept its gateway
    session (dask-gateway's cookie, which caches the groups of the last sign-in for ``cache_max_age``)."""

    async def scenario(backend, call):
        name = backend.running("ann", {SHARED_WITH: "survey"})
        url = f"/api/v1/clusters/{name}"
        out = {"member": await call("GET", url, "ben")}
        cookie = {"Cookie": f"gateway-session={call.session}"}
        out["cookie only, listing"] = await call("GET", "/api/v1/shared-clusters/", None, headers=dict(cookie))
        out["cookie only, connecting"] = await call("GET", url, None, headers=dict(cookie))
        # ben left the group: the hub says so at the next sign-in, which the client sends when asked (401)
        out["left, same session"] = await call("GET", url, "ben", groups="", headers=dict(cookie))
        out["left, listing"] = await call("GET", "/api/v1/shared-clusters/", None, headers=dict(cookie))
        return out

    out = asyncio.run(_run(scenario))
    assert out["member"][0] == 200
    assert out["cookie only, listing"][0] == 200 and len(out["cookie only, listing"][1]) == 1
    assert out["cookie only, connecting"][0] == 401  # the token is asked for again
    assert out["left, same session"][0] == 404
    # and the session's cached user is the hub's newest answer (dask-gateway kept the first one)
    assert out["left, listing"] == (200, {})


def test_the_session_cache_keeps_the_newest_sign_in():
    cache = FreshUserCache(max_age=300)
    first = cache.put(SharingUser("ben", groups=["survey"]))
    assert cache.put(SharingUser("ben", groups=[])) == first
    assert cache.get(first).groups == set()


def test_a_members_session_loses_a_shared_dashboard_soon_after_leaving_the_group_or_unsharing(monkeypatch):
    """dask-gateway's session cookie kept a member's groups for ``cache_max_age`` (300 s), and an open dashboard's
    websocket stayed open for good: a member removed from the group, or whose owner unshared, kept it. Now a
    member's session is asked of the hub again when older than ``sharing_recheck_seconds`` (0 here: each time),
    and a member's open websocket is closed (1008) once they may no longer use the cluster (also once the
    cluster's owner left the group)."""
    import aiohttp
    from dask_gateway_server.auth import JupyterHubAuthenticator
    from dask_gateway_server.models import User

    from astrohub_hub.dashboards import HubTokenAuthenticator, add_dashboard_routes

    hub = {"ann-token": ("ann", ["survey"]), "ben-token": ("ben", ["survey"])}  # the hub's answers, by token

    async def from_hub(self, request):
        kind, _, token = request.headers.get("Authorization", "").partition(" ")
        if token not in hub:
            raise unauthorized("jupyterhub")
        name, groups = hub[token]
        return User(name, groups=groups, admin=False)

    monkeypatch.setattr(JupyterHubAuthenticator, "authenticate", from_hub)

    async def groups_of(self, name, fresh=False):  # the owner's groups, as the hub answers them
        return next((frozenset(groups) for who, groups in hub.values() if who == name), frozenset())

    monkeypatch.setattr(HubTokenAuthenticator, "groups_of", groups_of)

    async def scenario():
        async def page(request):
            return web.json_response({"page": "status"})

        async def stream(request):
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            async for msg in ws:
                await ws.send_str(msg.data)
            return ws

        dashboard = web.Application()
        dashboard.router.add_get("/status", page)
        dashboard.router.add_get("/ws", stream)
        upstream = TestServer(dashboard, host="127.0.0.1")
        await upstream.start_server()
        cluster = SimpleNamespace(name="ns.c1", username="ann", options={SHARED_WITH: "survey"},
                                  dashboard_address=f"http://127.0.0.1:{upstream.port}")

        class Backend:
            async def get_cluster(self, name, wait=False):
                return cluster if name == cluster.name else None

        app = web.Application()
        authenticator = HubTokenAuthenticator(cookie_name="gw", jupyterhub_api_token="x",
                                              jupyterhub_api_url="http://hub/hub/api")
        authenticator.sharing_recheck_seconds = 0.0
        app["backend"], app["authenticator"], app["log"] = Backend(), authenticator, logging.getLogger("test")
        add_dashboard_routes(app)
        out = {}
        async with TestClient(TestServer(app, host="127.0.0.1"), cookie_jar=DummyCookieJar()) as client:
            first = await client.get("/clusters/ns.c1/status", headers={"Authorization": "token ben-token"})
            session = {"Cookie": f"gw={first.cookies['gw'].value}"}  # a browser's, after signing in
            out["signed in"] = first.status

            async def page_status():
                return (await client.get("/clusters/ns.c1/status", headers=session)).status

            async def closed_after(change):
                ws = await client.ws_connect("/clusters/ns.c1/ws", headers=session)
                await ws.send_str("hello")
                echoed = (await ws.receive(timeout=10)).data
                change()
                message = await ws.receive(timeout=10)  # closed by the gateway, or a timeout error
                return echoed, message.type, ws.close_code

            out["session"] = await page_status()
            out["left"] = await closed_after(lambda: hub.update({"ben-token": ("ben", [])}))
            out["after leaving"] = await page_status()
            hub["ben-token"] = ("ben", ["survey"])
            out["back"] = await page_status()
            out["unshared"] = await closed_after(lambda: cluster.options.update({SHARED_WITH: ""}))
            out["after unsharing"] = await page_status()
            cluster.options[SHARED_WITH] = "survey"
            out["owner left"] = await closed_after(lambda: hub.update({"ann-token": ("ann", [])}))
            out["after the owner left"] = await page_status()
            hub["ann-token"] = ("ann", ["survey"])
            owner = await client.ws_connect("/clusters/ns.c1/ws", headers={"Authorization": "token ann-token"})
            hub.pop("ben-token")  # revoked
            out["revoked"] = await page_status()
            await owner.send_str("still")
            out["owner"] = (await owner.receive(timeout=10)).data
            await owner.close()
        await upstream.close()
        return out

    out = asyncio.run(scenario())
    assert out["signed in"] == out["session"] == out["back"] == 200
    assert out["left"] == ("hello", aiohttp.WSMsgType.CLOSE, aiohttp.WSCloseCode.POLICY_VIOLATION)
    assert out["unshared"] == ("hello", aiohttp.WSMsgType.CLOSE, aiohttp.WSCloseCode.POLICY_VIOLATION)
    assert out["owner left"] == ("hello", aiohttp.WSMsgType.CLOSE, aiohttp.WSCloseCode.POLICY_VIOLATION)
    assert out["after leaving"] == out["after unsharing"] == out["after the owner left"] == out["revoked"] == 404
    assert out["owner"] == "still"  # the owner's own access is not asked again


def test_a_share_ends_when_the_owner_leaves_the_group_and_a_silent_hub_refuses_members():
    """The caller's group was checked, not the owner's: ann, removed from the group she shared her cluster with,
    stayed exposed through it (ben connected and ran code as her). Now a member is let in only while the hub says
    the owner is in the group too; when the hub cannot answer, members are refused (ann herself is not)."""

    async def scenario(backend, call):
        name = backend.running("ann", {SHARED_WITH: "survey"})
        url = f"/api/v1/clusters/{name}"
        out = {"both in": await call("GET", url, "ben")}
        call.hub["ann"] = "other"  # ann left survey
        for state in ("owner left", "hub down"):
            out[state] = {"connect": await call("GET", url, "ben"),
                          "report": await call("GET", f"{url}/sharing", "ben"),
                          "listed": await call("GET", "/api/v1/shared-clusters/", "ben"),
                          "scale": await call("POST", f"{url}/scale", "ben", json={"count": 2}),
                          "owner": (await call("GET", url, "ann"))[0]}
            call.hub["ann"] = None  # the hub cannot answer
        call.hub["ann"] = "survey"  # back in the group
        out["back"] = await call("GET", url, "ben")
        out["name"] = name
        return out

    out = asyncio.run(_run(scenario))
    assert out["both in"][0] == out["back"][0] == 200
    for state in ("owner left", "hub down"):
        got = out[state]
        for what in ("connect", "report", "scale"):  # the answer for a cluster one may not use: not confirmed
            status, body = got[what]
            assert status == 404, (state, what)
            assert body["error"].startswith(f"no Dask cluster {out['name']!r} of yours"), (state, what)
        assert got["listed"] == (200, {}) and got["owner"] == 200, state


def test_the_gateway_asks_the_hub_for_an_owners_groups_with_its_own_token_and_keeps_them_briefly():
    """``HubTokenAuthenticator.groups_of`` against a stand-in for the hub's ``GET /hub/api/users/<name>``: the
    gateway's token, the groups, a user the hub no longer has (no groups), and None (members refused) when the hub
    refuses or cannot be reached; an answer is kept ``sharing_recheck_seconds``."""
    from astrohub_hub.dashboards import HubTokenAuthenticator

    asked: list[tuple[str, str]] = []
    groups = {"ann": ["survey", "ws-m31"]}

    async def user(request):
        asked.append((request.match_info["name"], request.headers.get("Authorization", "")))
        if request.headers.get("Authorization") != "token gateway-token":
            return web.json_response({"message": "Forbidden"}, status=403)
        name = request.match_info["name"]
        if name not in groups:
            return web.json_response({"message": "Not found"}, status=404)
        return web.json_response({"kind": "user", "name": name, "groups": groups[name]})

    async def scenario():
        hub = web.Application()
        hub.router.add_get("/hub/api/users/{name}", user)
        server = TestServer(hub, host="127.0.0.1")
        await server.start_server()
        api = f"http://127.0.0.1:{server.port}/hub/api"
        out = {}
        gateway = HubTokenAuthenticator(jupyterhub_api_token="gateway-token", jupyterhub_api_url=api,
                                        sharing_recheck_seconds=3600)
        wrong = HubTokenAuthenticator(jupyterhub_api_token="other", jupyterhub_api_url=api)
        for authenticator in (gateway, wrong):
            await authenticator.setup(None)
        try:
            out["ann"] = await gateway.groups_of("ann")
            groups["ann"] = []  # left both: the kept answer stands for sharing_recheck_seconds
            out["kept"] = await gateway.groups_of("ann")
            out["fresh"] = await gateway.groups_of("ann", fresh=True)
            groups["ann"] = ["survey"]  # joined again
            gateway.sharing_recheck_seconds = 0
            out["asked again"] = await gateway.groups_of("ann")
            out["gone"] = await gateway.groups_of("bob")
            out["refused"] = await wrong.groups_of("ann")
            await server.close()
            out["stopped"] = await gateway.groups_of("ann")
        finally:
            for authenticator in (gateway, wrong):
                await authenticator.cleanup()
        return out

    out = asyncio.run(scenario())
    assert out["ann"] == out["kept"] == frozenset({"survey", "ws-m31"})
    assert out["fresh"] == out["gone"] == frozenset() and out["asked again"] == frozenset({"survey"})
    assert out["refused"] is None and out["stopped"] is None
    assert asked[0] == ("ann", "token gateway-token") and len([a for a in asked if a[0] == "ann"]) == 4
