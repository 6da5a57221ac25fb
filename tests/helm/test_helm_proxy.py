"""The chart's public proxy runs the same guard as the local platform: a path it cannot decode reaches its service.

Zero to JupyterHub's proxy pod takes neither a command nor volume mounts from values, so the chart ships
``platform_lib/local/proxy_guard.js`` in the ConfigMap ``astrohub-proxy-guard`` and preloads it through
``jupyterhub.proxy.chp.extraEnv`` (``NODE_OPTIONS=--import=data:...;base64,$(ASTROHUB_PROXY_GUARD)``).
No cluster here: the z2jh subchart is a stub, so the proxy container's environment is built from the
rendered values the way z2jh's ``jupyterhub.extraEnv`` helper and the kubelet do (keys in sorted order,
``valueFrom`` read from the rendered ConfigMap, ``$(VAR)`` expanded from the variables before it), and
the real configurable-http-proxy is then started with exactly that environment.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import json
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
from raw_http import raw_get  # tests/support/, on the path by tests/conftest.py
from stand_in_http import StandInHandler, serving_http  # tests/support/

from platform_lib.local.plan import PROXY_GUARD, PROXY_MAX_HEADER_BYTES
from platform_lib.local.ports import free_ports
from platform_lib.local.supervisor import find_proxy

_spec = importlib.util.spec_from_file_location("_helm_support", Path(__file__).with_name("_helm_support.py"))
hs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hs)


def proxy_environment(chart, values: dict[str, Any], objects: list[dict[str, Any]]) -> dict[str, str]:
    """The chp container's environment as the kubelet would set it (z2jh 4.4.0's proxy Deployment)."""
    extra = hs.merged_values(chart, values)["jupyterhub"]["proxy"]["chp"]["extraEnv"]
    # z2jh: CONFIGPROXY_AUTH_TOKEN first, then extraEnv; a map is rendered in key order (Go's range)
    entries = [{"name": "CONFIGPROXY_AUTH_TOKEN", "value": "not-a-secret"}]
    entries += [{"name": key, **value} if isinstance(value, dict) else {"name": key, "value": value}
                for key, value in sorted(extra.items())]
    env: dict[str, str] = {}
    for entry in entries:
        if "valueFrom" in entry:
            ref = entry["valueFrom"]["configMapKeyRef"]
            env[entry["name"]] = hs.find(objects, "ConfigMap", ref["name"])["data"][ref["key"]]
        else:
            # dependent variables: $(NAME) of a variable defined before it, else left as written
            env[entry["name"]] = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                                        lambda m: env.get(m.group(1), m.group(0)), entry["value"])
    return env


def status_of(port: int, path: str, headers: dict[str, str] | None = None) -> int:
    return raw_get("127.0.0.1", port, path, headers, timeout=10)[0]


def test_the_configmap_holds_exactly_the_guard_the_local_platform_runs(chart) -> None:
    objects = hs.manifests(hs.render(chart, {}))
    config = hs.find(objects, "ConfigMap", "astrohub-proxy-guard")
    assert base64.b64decode(config["data"]["proxy_guard.js.base64"]) == PROXY_GUARD.read_bytes()
    # one source: the chart's file is a link to the library's
    assert (hs.CHART / "files" / "proxy_guard.js").resolve() == PROXY_GUARD.resolve()


def test_the_proxy_pod_preloads_the_guard_from_that_configmap(chart) -> None:
    objects = hs.manifests(hs.render(chart, {}))
    env = proxy_environment(chart, {}, objects)
    assert env["NODE_OPTIONS"] == "--import=data:text/javascript;base64," + base64.b64encode(
        PROXY_GUARD.read_bytes()).decode() + f" --max-http-header-size={PROXY_MAX_HEADER_BYTES}"


@contextlib.contextmanager
def chart_proxy(env: dict[str, str], tmp_path: Path, *options: str) -> Iterator[tuple[int, int]]:
    """The real configurable-http-proxy started with z2jh's command (plus ``options``) and ``env``: its port and
    its API's port."""
    port, api_port = free_ports(2)
    # z2jh's command, unchanged: the guard comes in through NODE_OPTIONS only
    command = [find_proxy(), "--ip=127.0.0.1", "--api-ip=127.0.0.1", f"--api-port={api_port}", f"--port={port}",
               *options]
    log = tmp_path / "chp.log"
    with log.open("wb") as out:
        proxy = subprocess.Popen(command, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proxy.poll() is None, log.read_text()
            try:
                status_of(port, "/_chp_healthz")
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield port, api_port
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)
    assert "URIError" not in log.read_text()


class _Echo(StandInHandler):
    """A service behind the proxy: answers every GET 200 with its name and the path it was sent."""

    name = "default"

    def do_GET(self) -> None:
        self.answer(200, {"service": self.name, "path": self.path})


class _Archive(_Echo):
    name = "archive"


def test_the_proxy_started_as_the_chart_sets_it_routes_bad_escapes_to_their_service(chart, tmp_path: Path) -> None:
    """errpages25: a path the proxy cannot decode (a malformed escape, or escapes that are not UTF-8) was the proxy's
    own 400, the hub's HTML error page, whichever service owned the path (the guard's first repair, of the 500 it
    was unguarded); a pyvo or JSON client got HTML. Now it is routed by its decodable part and sent on unchanged,
    for the service that owns it to answer in its own format; a well-formed path is routed as before."""
    objects = hs.manifests(hs.render(chart, {}))
    env = proxy_environment(chart, {}, objects)
    with serving_http(_Echo) as hub, serving_http(_Archive) as archive, \
            chart_proxy(env, tmp_path, f"--default-target=http://127.0.0.1:{hub.server_port}") as (port, api_port):
        added = requests.post(f"http://127.0.0.1:{api_port}/api/routes/services/archive",
                              json={"target": f"http://127.0.0.1:{archive.server_port}"},
                              headers={"Authorization": "token not-a-secret"}, timeout=10)
        assert added.status_code == 201, added.text
        for path, service in (
            ("/services/archive/tap/sync%FF", "archive"),
            ("/services/archive/sia/query%E0%A4%A?POS=x", "archive"),
            ("/services/archive/hips/%zz/properties", "archive"),
            ("/services/archive/%", "archive"),
            ("/services/archive%FF/tap", "default"),  # the bad byte in the route's own name: not that route
            ("/user/alice/%E0%A4%A", "default"),
            ("/hub/%zz", "default"),
            ("/services/archive/caf%C3%A9", "archive"),  # well-formed: as before
        ):
            status, body = raw_get("127.0.0.1", port, path, timeout=10)
            assert status == 200, (path, status, body[:300])
            assert json.loads(body) == {"service": service, "path": path}, (path, body)
        # a raw byte a URL may not hold: node's parser refused it with an empty 400 before any route; now the
        # proxy's 400 names the byte and where it is, in JSON (no service can read the request to answer it)
        for path, byte, at, before in (("/services/archive/tap/sync\xff", "FF", 27, "/services/archive/tap/sync"),
                                       ("/hub/api/users/caf\xc3\xa9", "C3", 19, "/hub/api/users/caf")):
            status, body = raw_get("127.0.0.1", port, path, timeout=10)
            assert status == 400, (path, status, body)
            assert json.loads(body)["message"] == (
                f"the URL has the byte 0x{byte} at character {at}, after {json.dumps(before)}, which a URL may not "
                "hold: percent-encode the path's text as UTF-8 (é is %C3%A9, a space %20)"), body
        status, body = raw_get("127.0.0.1", port, "/user/alice/api/kernels/%zz/channels", {
            "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        }, timeout=10)
        assert (status, json.loads(body)["path"]) == (200, "/user/alice/api/kernels/%zz/channels"), body


def test_the_chart_proxy_passes_long_urls_on_for_the_archive_to_answer(chart, tmp_path: Path) -> None:
    """tap24: node's default limit on a request's line and headers (16 KiB) answered a longer GET (pyvo's SIA or
    cone searches send their parameters in the URL) 431 with no body before the archive saw it. The chart's proxy
    now reads up to the archive's own limit: a 19 KiB URL is the archive's to answer, and a 98 KiB one gets the
    archive's 414 naming its limit and saying to POST. The real archive, in-process, behind the real proxy."""
    from astrohub_archive.app import ArchiveState, make_app
    from astrohub_archive.base import MAX_HEADER_BYTES, READ_HEADER_BYTES, SERVER_OPTIONS
    from tornado_thread import serving  # tests/support/

    env = proxy_environment(chart, {}, hs.manifests(hs.render(chart, {})))
    assert env["NODE_OPTIONS"].endswith(f" --max-http-header-size={READ_HEADER_BYTES}")  # = the local proxy's
    root = tmp_path / "archive"
    root.mkdir()
    with serving(lambda: make_app(ArchiveState(index_path=root / "index.sqlite", data_root=root)),
                 **SERVER_OPTIONS) as archive, chart_proxy(env, tmp_path, f"--default-target={archive}") as (port, _):
        def tap_get(n_names: int) -> requests.Response:  # a sync query sent as a GET, as pyvo's DAL searches are
            names = ", ".join(f"'ivoa.obscore_{i:05d}'" for i in range(n_names))
            query = f"SELECT table_name FROM tap_schema.tables WHERE table_name IN ({names})"
            return requests.get(f"http://127.0.0.1:{port}/tap/sync", params={"LANG": "ADQL", "QUERY": query},
                                timeout=60)

        answered = tap_get(700)
        assert 16 * 2**10 < len(answered.request.url) < MAX_HEADER_BYTES
        assert answered.status_code == 200, (answered.status_code, answered.text[:300])
        assert 'name="QUERY_STATUS" value="OK"' in answered.text
        over = tap_get(3500)
        assert over.status_code == 414, (over.status_code, over.text[:300])
        assert "this service reads URLs of up to 65,536 bytes: send the parameters in the body of a POST" in over.text


def test_node_options_without_the_guard_is_refused_naming_the_key(chart) -> None:
    values = {"jupyterhub": {"proxy": {"chp": {"extraEnv": {"NODE_OPTIONS": "--max-old-space-size=512"}}}}}
    with pytest.raises(Exception, match=r"jupyterhub\.proxy\.chp\.extraEnv\.NODE_OPTIONS: \"--max-old-space-size=512\""):
        hs.render(chart, values)
    # the operator's own options after the guard's are kept
    values["jupyterhub"]["proxy"]["chp"]["extraEnv"]["NODE_OPTIONS"] = (
        "--import=data:text/javascript;base64,$(ASTROHUB_PROXY_GUARD) --max-old-space-size=512")
    objects = hs.manifests(hs.render(chart, values))
    assert proxy_environment(chart, values, objects)["NODE_OPTIONS"].endswith(" --max-old-space-size=512")
    # an empty value turns the guard off on purpose (a proxy image with an older node)
    values["jupyterhub"]["proxy"]["chp"]["extraEnv"]["NODE_OPTIONS"] = ""
    assert proxy_environment(chart, values, hs.manifests(hs.render(chart, values)))["NODE_OPTIONS"] == ""


def test_a_request_longer_than_its_service_reads_is_the_clients_414_or_431(chart, tmp_path: Path) -> None:
    """errpages25: the proxy reads 1 MiB of line and headers (for the archive), the hub, the classes service and
    users' servers (tornado) 64 KiB: tornado hung up on a longer request without an answer and the proxy answered
    503 (the hub's "Service Unavailable" page), the client's long URL as the platform's failure. Now 414 for a long
    URL, 431 for long headers, in JSON naming the sizes. A real tornado server with its default limits behind it."""
    import tornado.web
    from tornado_thread import serving  # tests/support/

    class Hello(tornado.web.RequestHandler):
        def get(self) -> None:
            self.write("hello")

    env = proxy_environment(chart, {}, hs.manifests(hs.render(chart, {})))
    with serving(lambda: tornado.web.Application([(r"/.*", Hello)])) as hub, \
            chart_proxy(env, tmp_path, f"--default-target={hub}") as (port, _):
        base = f"http://127.0.0.1:{port}/hub/api/"
        assert requests.get(base, params={"a": "b" * 60_000}, timeout=30).text == "hello"  # under 64 KiB: as before
        long_url = requests.get(base, params={"a": "b" * 70_000}, timeout=30)
        assert long_url.status_code == 414, (long_url.status_code, long_url.text[:300])
        assert long_url.json()["message"].startswith("this request's line and headers are 70")
        assert long_url.json()["message"].endswith("more than the 65536 the service behind this path reads: send a "
                                                   "long query in the body of a POST"), long_url.text
        long_headers = requests.get(base, headers={"X-Big": "a" * 70_000}, timeout=30)
        assert long_headers.status_code == 431, (long_headers.status_code, long_headers.text[:300])
        assert long_headers.json()["message"].endswith("send fewer or shorter headers"), long_headers.text
        assert requests.get(base, timeout=30).text == "hello"  # and the proxy goes on
