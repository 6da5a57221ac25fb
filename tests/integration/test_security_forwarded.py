"""Security tier: the archive believes ``X-Forwarded-Host`` from the hub's proxy only (issue 22, item 5).

On the session ``platform``: the links in the archive's answers (SIA capabilities) follow the
``X-Forwarded-Host`` a request brings through the proxy (as an outer TLS proxy's would), while the
same forged header sent straight to the archive's port by another local user's process (``nobody``,
which no platform component runs as; a student's system user is the same to the check) is ignored (the links name the address it called). Before, ``astrohub up`` gave the archive no
``--trusted-proxy`` and an address could not have told the proxy from a user's process (both on
127.0.0.1); the archive now trusts the proxy's Unix user (``uid:<N>``).
"""

from __future__ import annotations

import pytest
import requests
from system_user import run_as  # tests/support/, on the path by tests/conftest.py

pytestmark = pytest.mark.security

CODE = """
import json, urllib.request
req = urllib.request.Request({url!r}, headers={{"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"}})
print(json.dumps(urllib.request.urlopen(req, timeout=60).read().decode()))
"""


def test_forwarded_host_is_believed_from_the_proxy_only(platform):
    if not platform.config.archive.enabled:
        pytest.skip("the archive service is not enabled in this platform")
    if not platform.isolated:
        pytest.skip("not root: every process here is the proxy's user, as documented")
    through = f"{platform.url}services/archive/sia/capabilities"
    plain = requests.get(through, timeout=60)
    assert plain.status_code == 200
    assert f"{platform.url}services/archive/sia/" in plain.text, "links name the proxy's public address"
    public = requests.get(through, headers={"X-Forwarded-Host": "sky.example.org"}, timeout=60)
    assert public.status_code == 200 and "http://sky.example.org/services/archive/sia/" in public.text

    direct = f"http://{platform.config.hub.ip}:{platform.config.archive.port}/services/archive/sia/capabilities"
    forged = run_as("nobody", CODE.format(url=direct))
    assert "evil.example" not in forged
    assert f"http://{platform.config.hub.ip}:{platform.config.archive.port}/services/archive/sia/" in forged
