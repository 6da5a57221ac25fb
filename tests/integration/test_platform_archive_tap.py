"""TAP of the archive as the platform runs it: behind the hub's proxy, with hub tokens and their scopes.

A user's own token (which carries ``access:services!service=archive`` through the user role) reaches
TAP through the proxy; a token restricted to other scopes is refused with an ``AuthenticationFault``
(issue 22: the archive checks the token's scope, not only who owns it).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import requests

VO = "{http://www.ivoa.net/xml/VOTable/v1.3}"


def _status(body: bytes) -> tuple[str, str]:
    for info in ET.fromstring(body).iter(VO + "INFO"):
        if info.get("name") == "QUERY_STATUS":
            return info.get("value"), (info.text or "").strip()
    raise AssertionError("no QUERY_STATUS")


def test_user_tokens_reach_tap_and_other_scopes_are_refused(platform):
    if not platform.config.archive.enabled:
        pytest.skip("the archive service is not enabled in this platform")
    user = platform.unique("tapper")
    platform.create_user(user)
    tap = f"{platform.url}services/archive/tap/sync"
    query = {"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": "SELECT COUNT(*) AS n FROM TAP_SCHEMA.tables"}
    ok = requests.post(tap, data=query, headers={"Authorization": f"token {platform.user_token(user)}"}, timeout=60)
    assert ok.status_code == 200, ok.text[:500]
    assert _status(ok.content)[0] == "OK"
    narrow = platform.api("POST", f"/users/{user}/tokens", json={"note": "no archive", "scopes": [f"read:users:name!user={user}"]})
    narrow.raise_for_status()
    refused = requests.post(tap, data=query, headers={"Authorization": f"token {narrow.json()['token']}"}, timeout=60)
    assert refused.status_code == 403
    status, text = _status(refused.content)
    assert status == "ERROR" and text.startswith("AuthenticationFault:") and "access:services" in text
