"""The archive's token check: a hub token must carry the archive's ``access:services`` scope (issue 22).

JupyterHub's own :class:`~jupyterhub.services.auth.HubAuth` decides the scope match; only its
network call (``user_for_token``, the hub's answer) is replaced by the models the hub returns.
"""

from __future__ import annotations

import asyncio

import pytest
from jupyterhub.services.auth import HubAuth

from astrohub_archive.auth import Authenticator
from astrohub_archive.faults import AuthFault


class _Request:
    def __init__(self, token):
        self.headers = {"Authorization": f"token {token}"}


class _Handler:
    def __init__(self, token):
        self.request = _Request(token)

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
