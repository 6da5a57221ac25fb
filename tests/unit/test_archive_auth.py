"""The archive's token check: a hub token must carry the archive's ``access:services`` scope (issue 22).

JupyterHub's own :class:`~jupyterhub.services.auth.HubAuth` decides the scope match; only its
network call (``user_for_token``, the hub's answer) is replaced by the models the hub returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time

import pytest
from jupyterhub.services.auth import HubAuth

from astrohub_archive.auth import HUB_UNASKED_HEADER, Authenticator
from astrohub_archive.faults import AuthFault


class _Request:
    def __init__(self, token):
        self.headers = {"Authorization": f"token {token}"}


class _Handler:
    def __init__(self, token):
        self.request = _Request(token)
        self.headers = {}

    def set_header(self, name, value):
        self.headers[name] = value

    def get_query_argument(self, name, default=None):
        return default


def _auth(model):
    hub = HubAuth(api_token="service-token", api_url="http://127.0.0.1:1/hub/api",
                  access_scopes={"access:services!service=archive"})

    async def user_for_token(token, sync=False, **kw):
        return model

    async def ask_groups(name):  # the hub's users/<name> (the groups are asked of it, not taken from the model)
        return list(model.get("groups") or [])

    hub.user_for_token = user_for_token
    auth = Authenticator(hub_auth=hub)
    auth._ask_groups = ask_groups
    return auth


@pytest.mark.parametrize("scopes", [["access:services!service=archive", "read:users:name!user=alice"],
                                    ["access:services"]])
def test_a_token_with_the_archive_scope_identifies_its_user(scopes):
    model = {"kind": "user", "name": "alice", "groups": ["g"], "admin": False, "scopes": scopes}
    viewer = asyncio.run(_auth(model).viewer(_Handler("t")))
    assert viewer.user == "alice" and viewer.groups == ("g",)


@pytest.mark.parametrize("scopes", [[], ["access:servers!server=alice/"], ["access:services!service=dask-gateway"]])
def test_a_token_without_it_is_refused(scopes):
    model = {"kind": "user", "name": "alice", "groups": [], "admin": False, "scopes": scopes}
    with pytest.raises(AuthFault, match="access:services!service=archive"):
        asyncio.run(_auth(model).viewer(_Handler("t")))


def test_the_cli_service_token_is_refused_saying_what_to_use():
    """The operator's `astrohub` commands' token (the hub service astrohub-cli, with access:services) was refused
    as "the token is not valid for this service", which says neither why nor what works. The archive serves users
    (no command calls it with a service's token): the refusal says whose token it is and which token to use."""
    from platform_lib.local.plan import CLI_SCOPES, CLI_SERVICE

    model = {"kind": "service", "name": CLI_SERVICE, "scopes": list(CLI_SCOPES)}
    with pytest.raises(AuthFault, match=r"token of the hub service 'astrohub-cli', not of a user.*/hub/token"):
        asyncio.run(_auth(model).viewer(_Handler("t")))


def test_a_token_check_with_the_hub_down_is_a_503_to_retry_not_a_refusal():
    """Issue 22: the hub killed, HubAuth's own call fails to connect; the caller gets 503 + Retry-After."""
    from astrohub_archive.faults import HubUnavailableFault
    from platform_lib.local.ports import free_ports

    (port,) = free_ports(1)  # nothing listens there: the hub is down
    hub = HubAuth(api_token="service-token", api_url=f"http://127.0.0.1:{port}/hub/api",
                  access_scopes={"access:services!service=archive"})
    with pytest.raises(HubUnavailableFault, match="hub is unavailable.*retry") as caught:
        asyncio.run(Authenticator(hub_auth=hub).viewer(_Handler("t")))
    assert caught.value.status == 503 and caught.value.retry_after
    assert not isinstance(caught.value, AuthFault)
    # No token: answered without the hub.
    assert asyncio.run(Authenticator(hub_auth=hub).viewer(_Handler(""))).user is None


def test_a_hub_that_hangs_is_a_503_after_the_bound_not_a_hang():
    """A hub that accepts the connection and never answers (stopped): 503 once ``hub_timeout`` has passed.

    No clock here (it asserted "< 10 s", which a loaded machine can miss): the hub was asked (its request
    waits, unanswered, in the stand-in's queue), the 503 is the bound's (``asyncio.wait_for``'s timeout is its
    cause, and it names the bound) and the check did not hang (it returned; a hang is this test's failure by
    pytest's per-test timeout)."""
    import socket

    from astrohub_archive.faults import HubUnavailableFault

    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(8)  # the kernel completes connections; nobody reads or answers them
        hub = HubAuth(api_token="service-token", api_url=f"http://127.0.0.1:{hung.getsockname()[1]}/hub/api",
                      access_scopes={"access:services!service=archive"})
        auth = Authenticator(hub_auth=hub, hub_timeout=0.5)
        with pytest.raises(HubUnavailableFault, match="did not answer .* within 0.5 s") as caught:
            asyncio.run(auth.viewer(_Handler("t")))
        assert isinstance(caught.value.__cause__, TimeoutError), repr(caught.value.__cause__)
        assert caught.value.status == 503 and caught.value.retry_after
        hung.settimeout(30)  # the request is already queued, unless the check never reached the hub
        try:
            asked, _ = hung.accept()
        except TimeoutError:
            pytest.fail("the 503 came without asking the hub")
        with asked:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = asked.recv(4096)
                assert chunk, request  # closed before its headers: the hub was not asked
                request += chunk
    assert request.startswith(b"GET /hub/api/user "), request  # HubAuth's check of the token, never answered


class _Clock:
    """``time.monotonic`` of :mod:`astrohub_archive.auth`, moved by hand (no sleeping)."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now


def _member(monkeypatch, model_groups, hub_url="http://127.0.0.1:1/hub/api"):
    """An Authenticator whose HubAuth keeps answering the token's first model (as it does for a minute), and
    whose hub's ``users/<name>`` answers ``hub["groups"]`` (a list the test changes) or, once it is None, fails
    as a stopped hub does (the real request, to ``hub_url``)."""
    import astrohub_archive.auth as auth_module

    clock = _Clock()
    monkeypatch.setattr(auth_module, "time", clock, raising=False)
    model = {"kind": "user", "name": "bea", "admin": False, "scopes": ["access:services!service=archive"]}
    if model_groups is not None:
        model["groups"] = model_groups
    auth = _auth(model)
    auth.hub_auth.api_url = hub_url
    hub = {"groups": ["ws-survey"], "asked": 0}
    real_ask = Authenticator._ask_groups.__get__(auth)

    async def ask_groups(name):
        hub["asked"] += 1
        if hub["groups"] is None:
            return await real_ask(name)
        return list(hub["groups"])

    auth._ask_groups = ask_groups
    return auth, hub, clock


@pytest.mark.parametrize("model_groups", [["ws-survey"], None], ids=["token-model-has-groups", "asked-of-hub"])
def test_a_removed_member_loses_the_groups_within_the_recheck_not_a_minute(monkeypatch, model_groups):
    """teams24: a member removed from a workspace kept reading the HiPS shared with it (and a group's proprietary
    images) for up to a minute: the groups came from HubAuth's answer about the token (kept 60 s) or from the
    archive's own copy (kept as long). Now the hub's answer about the groups is kept group_recheck_seconds (5 s)."""
    auth, hub, clock = _member(monkeypatch, model_groups)
    assert asyncio.run(auth.viewer(_Handler("t"))).groups == ("ws-survey",)
    hub["groups"] = []  # removed from the workspace
    clock.now += 2  # a kept member answer admits for a few seconds (no hub call per request)...
    assert asyncio.run(auth.viewer(_Handler("t"))).groups == ("ws-survey",) and hub["asked"] == 1
    clock.now += 4  # ...but not after group_recheck_seconds (the old code: still a member here, and until 60 s)
    assert asyncio.run(auth.viewer(_Handler("t"))).groups == ()
    assert hub["asked"] == 2 and auth.group_recheck_seconds == 5.0


def test_a_grant_is_seen_at_once_when_asked_fresh(monkeypatch):
    """A refusal on a kept answer asks again (viewer(fresh_groups=True), as the HiPS file handler does when the
    kept groups refuse): one just added to a workspace is let in without waiting for the kept answer to age."""
    auth, hub, clock = _member(monkeypatch, None)
    hub["groups"] = []
    assert asyncio.run(auth.viewer(_Handler("t"))).groups == ()
    hub["groups"] = ["ws-survey"]  # added
    clock.now += 1
    assert asyncio.run(auth.viewer(_Handler("t"))).groups == ()  # the kept answer
    assert asyncio.run(auth.viewer(_Handler("t"), fresh_groups=True)).groups == ("ws-survey",)


def test_a_lost_hub_denies_once_the_kept_groups_are_due(monkeypatch):
    """The hub stopped: HubAuth still knows the token (its minute), but the groups are not taken from that old
    answer: once group_recheck_seconds have passed the request is a 503 to retry, never the old groups."""
    from astrohub_archive.faults import HubUnavailableFault
    from platform_lib.local.ports import free_ports

    (port,) = free_ports(1)  # nothing listens there
    auth, hub, clock = _member(monkeypatch, ["ws-survey"], f"http://127.0.0.1:{port}/hub/api")
    assert asyncio.run(auth.viewer(_Handler("t"))).groups == ("ws-survey",)
    hub["groups"] = None  # the hub is gone
    clock.now += 6
    with pytest.raises(HubUnavailableFault, match="groups of 'bea' cannot be read now") as caught:
        asyncio.run(auth.viewer(_Handler("t")))
    assert caught.value.status == 503


@pytest.mark.parametrize("seconds", [-1.0, float("nan")])
def test_a_bad_group_recheck_is_refused_naming_the_flag(seconds):
    with pytest.raises(ValueError, match="--group-recheck-seconds .*0 or more"):
        Authenticator.create(None, None, False, seconds)
    assert Authenticator.create(None, None, False, 0).group_recheck_seconds == 0.0


# -- The archive against a hub of its own (a stand-in HTTP server with the hub's two API answers the archive asks
# for): the real HubAuth, the real group request, the real archive routes; a clock moved by hand.

class _Hub:
    """A stand-in for the hub's API, served in this process: ``GET /hub/api/user`` answers the model of the
    token it is called with (403 for a token it does not know: deleted), ``GET /hub/api/users/<name>`` the user's
    groups; every answer is 502 while :attr:`down` (the hub restarting behind its proxy). Counts each question."""

    def __init__(self):
        self.tokens: dict[str, dict] = {}
        self.groups: dict[str, list[str]] = {}
        self.down = False
        self.asked = {"token": 0, "groups": 0}

    def app(self):
        import tornado.web

        hub = self

        class Base(tornado.web.RequestHandler):
            def answer(self, what: str, body) -> None:
                hub.asked[what] += 1
                if hub.down:
                    raise tornado.web.HTTPError(502)
                if body is None:
                    raise tornado.web.HTTPError(403)
                self.finish(body)

        class User(Base):
            def get(self):
                token = self.request.headers.get("Authorization", "").partition(" ")[2]
                self.answer("token", hub.tokens.get(token))

        class Users(Base):
            def get(self, name):
                self.answer("groups", {"name": name, "groups": hub.groups.get(name, [])})

        return tornado.web.Application([(r"/hub/api/user", User), (r"/hub/api/users/([^/]+)", Users)])


class _Clocks:
    """``time.monotonic`` of :mod:`astrohub_archive.auth` and of JupyterHub's HubAuth (whose cache the archive used
    to keep the token's answer in), moved by hand; everything else of :mod:`time` as it is."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now

    def __getattr__(self, name):
        return getattr(time, name)


@pytest.fixture
def hub(monkeypatch):
    """``(hub, clock, make)``: the stand-in hub served; ``make()`` the Authenticator ``astrohub-archive`` makes as a
    hub service (its environment pointing at the stand-in)."""
    import astrohub_archive.auth as auth_module
    import jupyterhub.services.auth as hub_auth_module
    from tornado_thread import serving  # tests/support/, on the path by tests/conftest.py

    clock = _Clocks()
    monkeypatch.setattr(auth_module, "time", clock, raising=False)
    monkeypatch.setattr(hub_auth_module, "time", clock)
    stand_in = _Hub()
    stand_in.tokens["bea-token"] = {"kind": "user", "name": "bea", "admin": False,
                                    "scopes": ["access:services!service=archive"]}
    stand_in.groups["bea"] = ["survey"]
    with serving(stand_in.app) as url:
        monkeypatch.setenv("JUPYTERHUB_API_URL", f"{url}/hub/api")
        monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "archive-service-token")
        monkeypatch.setenv("JUPYTERHUB_SERVICE_NAME", "archive")
        yield stand_in, clock, lambda: Authenticator.create(None, None, True)


def test_a_revoked_token_stops_working_within_the_recheck_not_a_minute(hub):
    """access25: a token deleted at the hub (or its user deleted) kept working at the archive for up to 60 s:
    HubAuth kept the hub's answer about it a minute (``cache_max_age=60``). Now the archive keeps it
    ``group_recheck_seconds`` (5 s), as it keeps a user's groups: kept for a burst of requests, asked again after."""
    stand_in, clock, make = hub
    auth = make()
    assert asyncio.run(auth.viewer(_Handler("bea-token"))).user == "bea"
    del stand_in.tokens["bea-token"]  # revoked
    clock.now += 2  # within the recheck: the kept answer (no hub call per request)
    assert asyncio.run(auth.viewer(_Handler("bea-token"))).user == "bea" and stand_in.asked["token"] == 1
    clock.now += 4  # past it: asked again, refused (the old code: still bea here, and until 60 s)
    with pytest.raises(AuthFault, match="not valid"):
        asyncio.run(auth.viewer(_Handler("bea-token")))
    assert stand_in.asked["token"] == 2
    # the hub then lost: its last answer (no such token) is not a key either; the hub-down grace keeps only a yes
    from astrohub_archive.faults import HubUnavailableFault

    stand_in.down, clock.now = True, clock.now + 6
    with pytest.raises(HubUnavailableFault):
        asyncio.run(auth.viewer(_Handler("bea-token")))


def test_a_burst_of_requests_asks_the_hub_once(hub):
    """100 concurrent requests with one token: one token check and one groups question, not one each (the old
    code: 100 and 100, HubAuth's cache and the groups' kept answer being filled only when an answer came back);
    after the recheck time, the next burst asks once again; one where no group decides asks no groups."""
    stand_in, clock, make = hub
    auth = make()

    async def burst(**kw):
        return await asyncio.gather(*(auth.viewer(_Handler("bea-token"), **kw) for _ in range(100)))

    assert {(v.user, v.groups) for v in asyncio.run(burst())} == {("bea", ("survey",))}
    assert stand_in.asked == {"token": 1, "groups": 1}
    clock.now += 6
    assert {(v.user, v.groups) for v in asyncio.run(burst())} == {("bea", ("survey",))}
    assert stand_in.asked == {"token": 2, "groups": 2}
    clock.now += 6
    assert {(v.user, v.groups) for v in asyncio.run(burst(group_decides=lambda who: False))} == {("bea", ())}
    assert stand_in.asked == {"token": 3, "groups": 2}


def _images(root):
    """An image index of three proprietary-or-not images, and their files: ``pub`` (released), ``mine`` (bea's,
    not released), ``grp`` (cy's, of the group ``survey``, not released)."""
    import sqlite3

    import numpy as np

    from platform_lib.imageindex.index import INDEXES, bulk_load, create_schema
    from platform_lib.imageindex.ingest import COLUMNS

    rows = {"pub": dict(release_date=50000.0), "mine": dict(owner="bea"), "grp": dict(owner="cy", owner_group="survey")}
    records, vertices = [], []
    for k, (name, extra) in enumerate(rows.items()):
        records.append(dict.fromkeys(COLUMNS) | dict(obs_id=name, obs_publisher_did=f"ivo://test/{name}",
                                                     s_ra=10.0 * k, s_dec=0.0, file_path=f"{name}.fits") | extra)
        corners = np.radians([(10.0 * k + dx, dy) for dx, dy in ((-1, -1), (1, -1), (1, 1), (-1, 1))])
        vertices.append(np.column_stack([np.cos(corners[:, 1]) * np.cos(corners[:, 0]),
                                         np.cos(corners[:, 1]) * np.sin(corners[:, 0]), np.sin(corners[:, 1])]))
        (root / f"{name}.fits").write_bytes(b"SIMPLE  =                    T" + b" " * 2849)
    conn = sqlite3.connect(root / "index.sqlite")
    create_schema(conn)
    bulk_load(conn, records, np.array(vertices))
    for sql in INDEXES:
        conn.execute(sql)
    conn.commit()
    conn.close()
    return root / "index.sqlite"


def _two_hips(root):
    """A HiPS folder with two users' HiPS: ``mine-...`` (bea's, shared with nobody) and ``theirs-...`` (cy's, shared
    with the group ``survey``, which bea is in)."""
    import json

    from astrohub_archive.userhips import UserHipsStore

    hips = root / "hips"
    store = UserHipsStore(hips)
    store.owners.mkdir(parents=True)
    for name, owner, groups in (("mine-AAAAAAAAAAAAAAAAAAAAAA", "bea", []),
                                ("theirs-BBBBBBBBBBBBBBBBBBBBBB", "cy", ["survey"])):
        (store.root / name).mkdir(parents=True)
        (store.root / name / "properties").write_text("creator_did = ivo://test/x\n")
        (store.owners / f"{name}.json").write_text(json.dumps({"name": name, "owner": owner, "bytes": 1,
                                                               "groups": groups}))
    return hips


def test_the_index_says_where_a_group_decides(tmp_path):
    """Only a record not released, not the caller's and of a group makes a user's groups matter."""
    from platform_lib.imageindex import ImageIndex, Viewer

    index = ImageIndex(_images(tmp_path))
    bea, cy = Viewer(user="bea"), Viewer(user="cy")
    assert index.group_decides(bea) and index.group_decides(bea, ["grp", "pub"])
    assert not index.group_decides(bea, ["mine", "pub"]) and not index.group_decides(bea, [])
    assert index.group_decides(bea, ["ivo://test/grp"], by="obs_publisher_did")
    # an IVOID in any case, as SIA's, DataLink's and SODA's ID find it (SIA 2.0 2.1.10): bea's groups are asked
    assert index.group_decides(bea, ["IVO://TEST/GRP"], by="obs_publisher_did")
    assert not index.group_decides(bea, ["GRP"])  # an obs_id is not an IVOID: exact
    assert not index.group_decides(cy)  # the group's image is cy's own
    assert not index.group_decides(Viewer()) and not index.group_decides(Viewer(user="bea", admin=True))
    # asked at every SIA request of a hub user: the group records are found by their own index, not by a scan
    from platform_lib.imageindex.query import group_decides_sql

    sql, params = group_decides_sql(bea, 61000.0)
    with index._connection() as conn:
        plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN SELECT 1 FROM obscore o WHERE {sql}", params)]
    assert plan == ["SEARCH o USING INDEX obscore_owner_group (owner_group>?)"], plan


def test_her_own_data_is_served_by_her_token_alone_while_the_hub_cannot_say_groups(hub, tmp_path, monkeypatch):
    """access25: with the hub lost (its token answer for bea still kept, her groups never asked or due), the archive
    answered 503 to bea reading her *own* HiPS and images: every route asked for her groups. The hub's last answer
    that her token is hers stands while it cannot be asked, for a minute (its answers are asked again after 5 s
    while it is up: a revoked token is refused then); her groups never do. Now only a route where
    a group decides asks: her own HiPS, her own and public images (download, DataLink), a TAP query of TAP_SCHEMA
    and her async jobs are served; cy's HiPS shared with her group, the listing of her HiPS (which lists those
    shared with her groups: cy's is), the group's image and a search over images among which a group's may be
    are 503 with Retry-After until the hub answers (never served without her groups). The old code fails at the
    first count: it asked her groups at every request, so the hub's loss denied her own data once they were due.
    archive26: the listing of her HiPS was a 503 too (cy's HiPS is shared with a group, so her groups decide part of
    it); now it lists her own, leaves out those shared with her groups and says why (``viz.my_hips()`` warns)."""
    import requests
    from tornado_thread import serving

    from astrohub_archive.app import ArchiveState, make_app

    stand_in, clock, make = hub
    state = ArchiveState(index_path=_images(tmp_path), data_root=tmp_path, auth=make(), hips_dir=_two_hips(tmp_path))
    bea = {"Authorization": "token bea-token"}
    tap = {"REQUEST": "doQuery", "LANG": "ADQL", "FORMAT": "csv"}
    with serving(lambda: make_app(state)) as base:
        def get(path, **params):
            return requests.get(f"{base}/{path}", params=params, headers=bea, timeout=30)

        assert get("hips/~/theirs-BBBBBBBBBBBBBBBBBBBBBB/properties").status_code == 200  # a member, hub up
        assert stand_in.asked == {"token": 1, "groups": 1}
        clock.now += 6  # her groups are due to be asked again
        assert get("download/mine").status_code == 200  # her token checked again; no group decides
        assert stand_in.asked == {"token": 2, "groups": 1}
        stand_in.down = True  # the hub is lost; the token's answer is kept a few seconds more
        served = {path: get(path, **params).status_code for path, params in (
            ("hips/~/mine-AAAAAAAAAAAAAAAAAAAAAA/properties", {}), ("download/mine", {}),
            ("download/pub", {}), ("tap/sync", {**tap, "QUERY": "SELECT COUNT(*) AS n FROM TAP_SCHEMA.tables"}),
            ("tap/async", {}), ("datalink", {"ID": "ivo://test/mine"}))}
        assert served == dict.fromkeys(served, 200), served
        for path, params in (("hips/~/theirs-BBBBBBBBBBBBBBBBBBBBBB/properties", {}), ("download/grp", {}),
                             ("sia/query", {"POS": "CIRCLE 10 0 1"}),
                             ("tap/sync", {**tap, "QUERY": "SELECT obs_id FROM ivoa.obscore"})):
            refused = get(path, **params)
            assert refused.status_code == 503 and int(refused.headers["Retry-After"]) > 0, (path, refused.text)
            assert "hub" in refused.text, refused.text
        assert stand_in.asked["groups"] > 1  # asked, not answered from the old groups
        # her list of HiPS: hers, without those shared with her groups, saying why (it was a 503)
        listing = get("hips/~/")
        assert listing.status_code == 200, listing.text
        answer = listing.json()
        assert [h["name"] for h in answer["hips"]] == ["mine-AAAAAAAAAAAAAAAAAAAAAA"] and answer["shared_with_me"] == []
        assert "left out" in answer["shared_with_me_left_out"] and "hub" in answer["shared_with_me_left_out"], answer
        assert "left out" in listing.headers[HUB_UNASKED_HEADER], listing.headers
        from platform_lib import get_settings, viz  # and her notebook's list says so, with a warning

        monkeypatch.setenv("PLATFORM_API_TOKEN", "bea-token")
        with pytest.warns(UserWarning, match="my_hips.*left out"):
            mine = viz.my_hips(settings=get_settings(archive_url=base))
        assert [h["name"] for h in mine] == ["mine-AAAAAAAAAAAAAAAAAAAAAA"] and mine.shared == []
        assert mine.shared_left_out == answer["shared_with_me_left_out"]
        clock.now += 30  # the token's answer is due, the hub still lost: its last answer stands (a minute)
        assert get("hips/~/mine-AAAAAAAAAAAAAAAAAAAAAA/properties").status_code == 200
        assert get("download/grp").status_code == 503
        clock.now += 31  # a minute after the hub's last answer: the token cannot be checked, 503 to retry
        lost = get("download/mine")
        assert lost.status_code == 503 and "hub is unavailable" in lost.text, lost.text
        stand_in.down = False
        assert get("download/grp").status_code == 200  # a member of survey, the hub back
        listing = get("hips/~/")  # and the list has cy's HiPS again, nothing said left out
        assert [h["name"] for h in listing.json()["shared_with_me"]] == ["theirs-BBBBBBBBBBBBBBBBBBBBBB"]
        assert "shared_with_me_left_out" not in listing.json() and HUB_UNASKED_HEADER not in listing.headers
        assert get("sia/query", POS="CIRCLE 10 0 1", RESPONSEFORMAT="json").status_code == 200


@contextlib.contextmanager
def _hanging_hub():
    """``(url, hung)``: the API URL of a hub that hangs (a listening socket nobody accepts on: the kernel completes the
    connections, nobody reads or answers them) and that socket, whose backlog holds one connection per question."""
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(64)
        yield f"http://127.0.0.1:{hung.getsockname()[1]}/hub/api", hung


def _questions(hung, at_least: int) -> int:
    """How many questions were asked of the hanging hub ``hung``: the connections waiting in its backlog (``at_least``
    of them waited for, those asked in the background may still be connecting; then any more there)."""
    hung.settimeout(30)
    asked = []
    try:
        for _ in range(at_least):
            asked.append(hung.accept()[0])
        hung.setblocking(False)
        while True:
            asked.append(hung.accept()[0])
    except (BlockingIOError, TimeoutError):
        pass
    finally:
        for conn in asked:
            conn.close()
    return len(asked)


def test_a_hanging_hub_is_waited_for_once_then_not_until_it_answers(hub, tmp_path):
    """archive26: while the hub hangs (accepts the connection, never answers), every request whose kept token answer
    was due waited ``hub_timeout`` (10 s) before the hub-down grace applied, every time, all of them joined to one
    question that HubAuth's own client kept waiting for 300 s. Now the first question that goes unanswered is the
    only wait: the next requests are answered at once from the hub's last answer (its own HiPS, her image, a TAP
    query), and say so (``X-Astrohub-Hub-Unasked``), while one question to the hub stays in flight; a request that
    needs another question (a user's groups, for cy's HiPS shared with her group) is a 503 at once, and a token the
    hub never answered is not let in. The hub is asked twice in all: the question that went unanswered and the one
    in flight (counted at the hanging socket). No durations: ``hub_timeout`` is 0.5 s for the first question (the
    hang noticed), then an hour, longer than this test may run, so that a request that waited for the hub would fail
    the test (the client's 30 s), not slow it."""
    import requests
    from tornado_thread import serving

    from astrohub_archive.app import ArchiveState, make_app

    stand_in, clock, make = hub
    auth = make()
    state = ArchiveState(index_path=_images(tmp_path), data_root=tmp_path, auth=auth, hips_dir=_two_hips(tmp_path))
    with _hanging_hub() as (hung_url, hung), serving(lambda: make_app(state)) as base:
        def get(path, token="bea-token", **params):
            return requests.get(f"{base}/{path}", params=params, headers={"Authorization": f"token {token}"},
                                timeout=30)

        first = get("hips/~/mine-AAAAAAAAAAAAAAAAAAAAAA/properties")
        assert first.status_code == 200 and HUB_UNASKED_HEADER not in first.headers
        assert stand_in.asked == {"token": 1, "groups": 0}
        auth.hub_auth.api_url, auth.hub_timeout = hung_url, 0.5  # the hub now hangs
        clock.now += 6  # her token's answer is due
        noticed = get("download/mine")  # waits 0.5 s for the hub, then the hub's last answer stands
        assert noticed.status_code == 200 and "not answering" in noticed.headers[HUB_UNASKED_HEADER], noticed.headers
        auth.hub_timeout = 3600.0  # a question to the hub now stays in flight as long as this test runs
        tap = {"REQUEST": "doQuery", "LANG": "ADQL", "FORMAT": "csv",
               "QUERY": "SELECT COUNT(*) AS n FROM TAP_SCHEMA.tables"}
        for path, params in [("hips/~/mine-AAAAAAAAAAAAAAAAAAAAAA/properties", {})] * 10 + [
                ("download/mine", {}), ("download/pub", {}), ("tap/sync", tap)]:
            served = get(path, **params)
            assert served.status_code == 200, (path, served.text)
            assert "hub could not be asked" in served.headers[HUB_UNASKED_HEADER], (path, served.headers)
        for refused in (get("hips/~/theirs-BBBBBBBBBBBBBBBBBBBBBB/properties"), get("download/grp"),
                        get("download/mine", token="cy-token")):  # her groups; a token the hub never answered
            assert refused.status_code == 503 and int(refused.headers["Retry-After"]) > 0, refused.text
            assert "hub is unavailable: it has not answered" in refused.text, refused.text
        listing = get("hips/~/")  # her own HiPS, cy's shared with her group left out
        assert listing.status_code == 200 and listing.json()["shared_with_me"] == [], listing.text
        assert "left out" in listing.json()["shared_with_me_left_out"], listing.text
        assert _questions(hung, at_least=2) == 2  # the one that went unanswered, and the one in flight
        assert stand_in.asked == {"token": 1, "groups": 0}


def test_a_hub_that_answers_again_is_asked_as_usual(hub):
    """Once a question went unanswered (past ``hub_timeout``), the next is asked, not refused for the hub's past hang,
    and its answer taken: the hub back, a token it never answered is let in, and then a revoked one refused (never
    the old answer). The old code failed here: only each caller's wait ended at ``hub_timeout``; the question itself
    stayed in flight (HubAuth's client waits 300 s), the next request for that token joined it, and got its failure
    (the hung hub gone, connection refused) although the hub was back."""
    from astrohub_archive.faults import HubUnavailableFault

    stand_in, clock, make = hub
    stand_in.tokens["cy-token"] = {"kind": "user", "name": "cy", "admin": False,
                                   "scopes": ["access:services!service=archive"]}

    async def scenario():
        auth = make()
        assert (await auth.identity(_Handler("bea-token"))).user == "bea"
        hub_url = auth.hub_auth.api_url
        with _hanging_hub() as (hung_url, hung):
            auth.hub_auth.api_url, auth.hub_timeout = hung_url, 0.5
            with pytest.raises(HubUnavailableFault, match="did not answer the check of this token within 0.5 s"):
                await auth.identity(_Handler("cy-token"))
        auth.hub_auth.api_url = hub_url  # the hub is back
        handler = _Handler("cy-token")
        assert (await auth.identity(handler)).user == "cy" and not handler.headers
        clock.now += 6
        del stand_in.tokens["bea-token"]  # revoked
        with pytest.raises(AuthFault, match="not valid"):
            await auth.identity(_Handler("bea-token"))

    asyncio.run(scenario())
    assert stand_in.asked["token"] == 3
