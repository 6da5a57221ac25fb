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

    hub.user_for_token = user_for_token
    return Authenticator(hub_auth=hub)


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
