"""Unit tests of astrohub_server.dask_clusters' sidebar routes in a real Jupyter server, against a stand-in gateway.

The stand-in answers dask-gateway's REST API (``GET /api/v1/clusters/``, ``POST /api/v1/clusters/``) and the
platform gateway's ``GET /api/v1/shared-clusters/`` as the real one does for a user with no clusters, none shared
with them, and at their cluster limit, and counts the requests: the sidebar talks
to it through the real ``dask_gateway`` client. A real gateway (tests/integration/test_warm_kernels.py runs the
sidebar against one) would need a started platform for what only counts requests here.
"""

from __future__ import annotations

import asyncio
import json
import uuid

from tornado import httpclient, httpserver, netutil, web

import dask

TOKEN = "dask15b-test-token"


class _StandInClusters(web.RequestHandler):
    """dask-gateway's ``/api/v1/clusters/``: no running clusters; a new one refused (the user's limit)."""

    def initialize(self, asked: list[str]) -> None:
        self.asked = asked

    def get(self) -> None:
        self.asked.append(f"GET {self.request.uri}")
        self.finish({})

    def post(self) -> None:
        self.asked.append(f"POST {self.request.uri}")
        self.set_status(409, "Cannot create more than 2 clusters")
        self.finish("409: Cannot create more than 2 clusters")


class _StandInShared(web.RequestHandler):
    """astrohub's ``/api/v1/shared-clusters/`` (``astrohub_hub.gateway_sharing``): none shared with the user."""

    def initialize(self, asked: list[str]) -> None:
        self.asked = asked

    def get(self) -> None:
        self.asked.append(f"GET {self.request.uri}")
        self.finish({})


async def _serve(app: web.Application) -> tuple[httpserver.HTTPServer, int]:
    sockets = netutil.bind_sockets(0, "127.0.0.1")
    server = httpserver.HTTPServer(app)
    server.add_sockets(sockets)
    return server, sockets[0].getsockname()[1]


def test_the_sidebars_polls_share_one_gateway_listing_until_it_starts_a_cluster(tmp_path, monkeypatch):
    """Each Lab tab's Dask sidebar polls dask/clusters every 5 s, and each poll asked the gateway for the user's
    clusters (list_clusters): 60 students' tabs made 12 gateway requests a second that found nothing new. Now
    polls within LISTING_SECONDS (below the sidebar's own poll) share one request, those arriving together
    wait for it, and a start (stop, scale) through the sidebar makes the next poll ask again, so a cluster it
    started or stopped is never answered from an older listing."""
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    asked: list[str] = []
    now = [1000.0]

    async def run() -> None:
        from jupyter_server.serverapp import ServerApp

        # dask_labextension makes its cluster manager on the importing thread's loop: import it in this one.
        from astrohub_server import dask_clusters, dask_sidebar

        monkeypatch.setattr(dask_clusters, "_listing", dask_clusters.ClusterListing(clock=lambda: now[0]))
        gateway, gateway_port = await _serve(web.Application([
            (r"/api/v1/clusters/", _StandInClusters, {"asked": asked}),
            (r"/api/v1/shared-clusters/", _StandInShared, {"asked": asked})]))
        app = ServerApp()
        app.init_signal = lambda: None
        app.log.setLevel("ERROR")
        app.initialize(argv=["--port=0", f"--IdentityProvider.token={TOKEN}", "--ServerApp.open_browser=False",
                             f"--ServerApp.root_dir={tmp_path}", "--ServerApp.port_retries=0"],
                       find_extensions=False, new_httpserver=True)
        dask_sidebar.register(app)
        client = httpclient.AsyncHTTPClient()
        url = f"http://127.0.0.1:{app.port}/dask/clusters"
        headers = {"Authorization": f"token {TOKEN}"}

        async def poll() -> list:
            answer = await client.fetch(url, headers=headers)
            return json.loads(answer.body)

        gateway_config = {"labextension.factory.module": "dask_gateway",
                          "labextension.factory.class": "GatewayCluster",
                          "gateway.address": f"http://127.0.0.1:{gateway_port}", "gateway.auth.type": "basic"}
        try:
            with dask.config.set(gateway_config):
                # six tabs poll at once, then three quick repeats: one request to the gateway
                assert await asyncio.gather(*(poll() for _ in range(6))) == [[]] * 6
                for _ in range(3):
                    assert await poll() == []
                listing = ["GET /api/v1/clusters/", "GET /api/v1/shared-clusters/"]  # the user's, shared with them
                assert asked == listing
                # the sidebar's next poll is answered from a new listing
                now[0] += dask_clusters.LISTING_SECONDS
                assert await poll() == []
                assert asked == listing * 2
                # "+ NEW" in the sidebar: the gateway refuses (the user's limit), named in a 409
                started = await client.fetch(f"{url}/{uuid.uuid4()}", method="PUT", body=b"", headers=headers,
                                             raise_error=False)
                assert started.code == 409 and b"Cannot create more than 2 clusters" in started.body
                assert asked[4].startswith("POST /api/v1/clusters/")
                # ... and the next poll, at the same moment, asks the gateway again
                assert await poll() == []
                assert asked[5:] == listing
        finally:
            app.http_server.stop()
            gateway.stop()

    asyncio.run(run())


def test_a_listing_asked_before_the_sidebar_started_a_cluster_is_not_used_after():
    """A poll whose listing was on its way while the sidebar started a cluster would find that cluster missing
    and forget it as stopped elsewhere; the listing is asked again instead, and only the newer one is kept."""
    from astrohub_server.dask_clusters import ClusterListing

    answers = iter([{}, {"c.started": ""}])
    asked = []

    async def run() -> dict[str, str]:
        release = asyncio.Event()

        async def fetch() -> dict[str, str]:
            asked.append(len(asked))
            if len(asked) == 1:
                await release.wait()
            return next(answers)

        listing = ClusterListing(fetch=fetch, clock=lambda: 0.0)
        polling = asyncio.ensure_future(listing.names())
        while not asked:
            await asyncio.sleep(0)
        listing.invalidate()  # the sidebar started c.started meanwhile
        release.set()
        names = await polling
        assert await listing.names() == names  # kept, and not asked again
        return names

    assert asyncio.run(run()) == {"c.started": ""} and asked == [0, 1]


def test_a_cluster_the_sidebar_starts_is_listed_once(monkeypatch):
    """walk19: "+ NEW" in the Dask sidebar listed one cluster twice, "GatewayCluster 1" (the manager's) and
    "GatewayCluster <id>": the gateway lists a new cluster as soon as it is asked for it, and a poll while the
    manager still waited for the scheduler adopted it. Now a poll during a start waits for it, and adopts nothing."""
    from types import SimpleNamespace

    import dask_gateway

    from astrohub_server import dask_clusters

    on_gateway: set[str] = set()

    async def from_name(name, **kwargs):  # the adopted connection (a real one needs a gateway)
        return SimpleNamespace(name=name)

    monkeypatch.setattr(dask_gateway.GatewayCluster, "from_name", from_name)

    async def run() -> tuple[list, list]:
        connected = asyncio.Event()

        class Manager:  # dask_labextension's cluster manager, as far as a start and a poll use it
            _clusters, _cluster_names, _adaptives = {}, {}, {}

            async def start_cluster(self, cluster_id):
                on_gateway.add("c.new")  # asked of the gateway, which lists it
                await connected.wait()  # the scheduler is up
                self._clusters[cluster_id] = SimpleNamespace(name="c.new")
                self._cluster_names[cluster_id] = "GatewayCluster 1"
                return {"id": cluster_id}

        async def fetch():
            return {name: "" for name in on_gateway}

        manager, listing = Manager(), dask_clusters.ClusterListing(fetch=fetch, clock=lambda: 0.0)
        start = asyncio.ensure_future(dask_clusters.start_cluster("id-1", manager, listing))
        while not on_gateway:
            await asyncio.sleep(0)
        poll = asyncio.ensure_future(dask_clusters.adopt_gateway_clusters(manager, listing))
        for _ in range(50):  # the poll gets as far as it can while the start waits
            await asyncio.sleep(0)
        connected.set()
        await start
        return await poll, sorted(manager._cluster_names.values())

    with dask.config.set({"labextension.factory.module": "dask_gateway"}):
        adopted, listed = asyncio.run(run())
    assert adopted == [] and listed == ["GatewayCluster 1"], (adopted, listed)
