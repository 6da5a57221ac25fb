"""Security tier: the routes the platform registers in users' servers, fuzzed through the hub's proxy.

Issue 22, Deliver 6. ``astrohub_server`` registers dask_labextension's four routes in every user
server (``dask/clusters/<id>``, ``dask/clusters/``, ``dask/dashboard/<id><path>`` and
``dask/dashboard-check/<url>``; :data:`astrohub_server.dask_sidebar.ROUTES`); the platform adds no
other HTTP route there (storage, usage and ``%pip`` are library calls and kernel magics). Here a
real user, with their own hub token, sends random methods, ids, paths and bodies to each through the
proxy: never a 5xx, never a traceback; a refusal is JSON with a ``message``. On the old code the
cluster routes answered 500 for bad bodies (``json.loads`` outside any ``try``) and for the gateway's
refusals. The CI run is bounded (:data:`CI_EXAMPLES`); ``bench/fuzz_user_server.py --examples N``
runs the same strategies longer, with cluster creation (``PUT``) too, which starts real clusters.

:func:`requests_strategy` and :func:`check` are shared with that bench (imported by path).
"""

from __future__ import annotations

import json
import time
from urllib.parse import quote

import pytest

pytestmark = pytest.mark.security

CI_EXAMPLES = 120
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def requests_strategy(*, create_clusters: bool = False, known_ids: tuple[str, ...] = ()):
    """Hypothesis strategy of ``(method, path, body)`` for the user server's platform routes.

    ``create_clusters``: include ``PUT`` of new clusters (each starts a real one, up to the user's
    limit, then the gateway refuses). ``known_ids``: ids of running clusters to aim at too.
    """
    from hypothesis import strategies as st

    text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)
    well_formed = st.uuids().map(str)
    ids = st.one_of(well_formed, text.map(lambda t: quote(t, safe="")),
                    *([st.sampled_from(known_ids)] if known_ids else []))
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=False),
                        st.text(max_size=10))
    json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                                st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                               max_leaves=8)
    shaped = st.one_of(
        st.fixed_dictionaries({"workers": json_values}),
        st.fixed_dictionaries({"adapt": st.one_of(json_values, st.fixed_dictionaries(
            {"minimum": json_values, "maximum": json_values}))}),
        json_values,
    ).map(lambda v: json.dumps(v).encode())
    bodies = st.one_of(st.just(b""), st.binary(max_size=200), shaped, st.just(b"[" * 5000))

    clusters = st.tuples(st.sampled_from(METHODS), ids.map(lambda i: f"dask/clusters/{i}"), bodies)
    listing = st.tuples(st.sampled_from([m for m in METHODS if m != "PUT" or create_clusters]),
                        st.just("dask/clusters/"), bodies)
    if not create_clusters:  # a PUT of a new well-formed id starts a real cluster
        clusters = clusters.filter(lambda r: r[0] != "PUT")
    dashboard = st.tuples(st.sampled_from(METHODS), st.tuples(ids, text).map(
        lambda p: f"dask/dashboard/{p[0]}/{quote(p[1])}"), bodies)
    # Not "http..." URLs (they would be fetched: this machine has no other network than itself).
    check_urls = st.one_of(text.filter(lambda t: not t.lower().lstrip().startswith("http")),
                           st.just("http://127.0.0.1:1/status"))
    dashboard_check = st.tuples(st.just("GET"), check_urls.map(lambda u: f"dask/dashboard-check/{quote(u, safe='')}"),
                                st.just(b""))
    return st.one_of(clusters, listing, dashboard, dashboard_check)


def check(response, method: str, path: str) -> None:
    """No 5xx, no traceback; a refusal (4xx) from the server's own handlers is JSON with a message."""
    where = f"{method} {path}"
    assert response.status_code < 500, (where, response.status_code, response.text[:500])
    assert b"Traceback" not in response.content, (where, response.text[:500])
    if response.status_code >= 400 and method != "HEAD" and \
            response.headers.get("Content-Type", "").startswith("application/json"):
        reply = response.json()
        assert reply.get("message") and not reply.get("traceback"), (where, reply)


@pytest.fixture(scope="module")
def fuzzed(platform):
    with platform.user_with_server("fuzzed") as user:
        yield user


def test_user_server_routes_never_answer_5xx(platform, fuzzed):
    from hypothesis import HealthCheck, given, settings

    session = platform.session
    base = platform.server_url(fuzzed)
    headers = {"Authorization": f"token {platform.user_token(fuzzed)}"}

    @settings(max_examples=CI_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(request=requests_strategy())
    def probe(request):
        method, path, body = request
        response = session.request(method, base + path, data=body or None, headers=headers, timeout=120,
                                   allow_redirects=False)
        check(response, method, path)

    probe()


def test_bad_cluster_requests_name_the_problem(platform, fuzzed):
    """The cases that were 500 on the old code, each with the 4xx and the message now."""
    base = platform.server_url(fuzzed) + "dask/clusters/"
    headers = {"Authorization": f"token {platform.user_token(fuzzed)}"}
    unknown = "0a-1b-2c-3d-4e"
    for body, status, words in ((b"not json", 400, "not JSON"), (b"[1]", 400, "JSON object"),
                                (b'{"workers": -3}', 400, "whole number"),
                                (b'{"adapt": {"minimum": 4, "maximum": 1}}', 400, "above"),
                                (b'{"workers": 2}', 404, "not found")):
        response = platform.session.patch(base + unknown, data=body, headers=headers, timeout=60)
        assert response.status_code == status, (body, response.status_code, response.text[:300])
        assert words in response.json()["message"]
    gone = platform.session.delete(base + unknown, headers=headers, timeout=60)
    assert gone.status_code == 404 and "not found" in gone.json()["message"]


def test_bad_bodies_to_the_servers_own_api_are_a_400_naming_the_problem(platform, fuzzed):
    """upstream25: Jupyter Server's own routes answered 500 "Unhandled error": a body that is not UTF-8 to POST
    api/contents, api/kernels or api/sessions, and PUT api/contents (the top folder) with a body ("Is a
    directory"). Now Jupyter Server's JSON 400 naming the byte, or saying the path is a folder. jsbodies26: the
    server's other JSON routes, swept with bodies that are not UTF-8, not an object, too deep or empty."""
    base = platform.server_url(fuzzed)
    headers = {"Authorization": f"token {platform.user_token(fuzzed)}", "Content-Type": "application/json"}
    for path in ("api/contents", "api/kernels", "api/sessions"):
        answer = platform.session.post(base + path, data=b'{"name": "caf\xe9"}', headers=headers, timeout=60)
        assert answer.status_code == 400, (path, answer.status_code, answer.text[:300])
        assert "the request's body is not UTF-8: byte 0xE9 at byte 13" in answer.json()["message"], answer.text
    answer = platform.session.put(base + "api/contents", data=b'{"a": 1}', headers=headers, timeout=60)
    assert answer.status_code == 400, (answer.status_code, answer.text[:300])
    assert "as the top folder of your files: that path is a folder" in answer.json()["message"], answer.text
    # jsbodies26: the other JSON routes of the server (Jupyter Server's, its terminals', Lab's, jupyterlab_server's,
    # jupyter-collaboration's) answered 500 to some of these bodies: each is now a JSON 400 naming the problem. The
    # server's extensions add their routes after astrohub_server loads: this checks they got the check too.
    bodies = ((b'{"a": "caf\xe9"}', "is not UTF-8: byte 0xE9"), (b"null", "is JSON null, not an object"),
              (b"[1]", "is a JSON array, not an object"), (b"[" * 10_000 + b"]" * 10_000, "nests JSON deeper than"))
    wrong = []
    for method, path in (("PUT", "api/config/notebook"), ("PATCH", "api/config/notebook"), ("PATCH", "api/me"),
                         ("POST", "api/events"), ("POST", "nbconvert/html"), ("POST", "api/terminals"),
                         ("PATCH", "api/sessions/a-b-c-d-e"), ("PUT", "api/collaboration/session/x.txt"),
                         ("POST", "lab/api/plugins"), ("PUT", "lab/api/settings/@jupyterlab/apputils-extension:themes"),
                         ("PUT", "lab/api/workspaces/bad-bodies")):
        for body, words in bodies + (((b"", "is empty: send a JSON object"),) if path != "api/terminals" else ()):
            answer = platform.session.request(method, base + path, data=body, headers=headers, timeout=60)
            json_error = answer.headers.get("Content-Type", "").startswith("application/json")
            if answer.status_code != 400 or not json_error or words not in answer.json().get("message", ""):
                wrong.append((method, path, body[:12], answer.status_code, answer.text[:200]))
    assert not wrong, "\n".join(map(str, wrong))


def test_a_link_to_what_the_user_may_not_read_is_refused_with_403(platform, fuzzed):
    """A link in the home into a folder the user cannot enter (the platform's state, 0700 root): the contents API
    answered 500 "Unhandled error" (jupyter_core's ``is_hidden`` lets the ``PermissionError`` out); now a 403
    that says so, and the home still lists."""
    if not platform.isolated:
        pytest.skip("the server runs as the invoking user, who may read the state folder (not root)")
    state = platform.data_dir / "state"
    platform.execute(fuzzed, f"import os; os.symlink({str(state / 'tokens.json')!r}, 'peek.json'); "
                             f"os.symlink({str(state)!r}, 'peek')")
    headers = {"Authorization": f"token {platform.user_token(fuzzed)}"}
    for path in ("api/contents/peek.json", "api/contents/peek/tokens.json", "api/contents/peek"):
        response = platform.session.get(platform.server_url(fuzzed) + path, headers=headers, timeout=60)
        # (jupyter_server answers a missing path with a 404 whose body is plain text, so no check() here)
        assert response.status_code in (403, 404), (path, response.status_code, response.text[:300])
        assert b"Traceback" not in response.content
        assert "admin" not in response.text and "cli" not in response.text
    refused = platform.session.get(platform.server_url(fuzzed) + "api/contents/peek.json", headers=headers, timeout=60)
    assert refused.status_code == 403 and "permission denied" in refused.json()["message"], refused.text[:300]
    listing = platform.session.get(platform.server_url(fuzzed) + "api/contents", headers=headers, timeout=60)
    assert listing.status_code == 200


#: Run as another local account: subscribe to every TCP port the server's user listens on, for a few seconds,
#: and print what came in that names the marker. {uid} and {marker} are filled in.
_SPY = """
import json, time, zmq
ports = set()
for table in ("/proc/net/tcp", "/proc/net/tcp6"):
    for line in open(table).read().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and int(fields[7]) == {uid}:  # LISTEN, owned by the user
            ports.add(int(fields[1].rsplit(":", 1)[1], 16))
context = zmq.Context()
poller = zmq.Poller()
for port in ports:
    sub = context.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.setsockopt(zmq.LINGER, 0)
    sub.connect(f"tcp://127.0.0.1:{{port}}")
    poller.register(sub, zmq.POLLIN)
print("listening", flush=True)
seen, end = [], time.monotonic() + 8
while time.monotonic() < end:
    for sub, _ in poller.poll(200):
        message = b" ".join(sub.recv_multipart())
        if b"{marker}" in message:
            seen.append(message[-200:].decode(errors="replace"))
print(json.dumps({{"ports": len(ports), "seen": seen}}))
"""


def test_another_local_user_cannot_listen_to_a_kernel(platform, fuzzed):
    """A kernel's iopub port is a ZeroMQ PUB socket on a TCP port; on the old code any local account could
    subscribe to it and read the code and output of every cell (the connection key only signs messages).
    With CurveZMQ transport encryption the subscription gets nothing."""
    if not platform.isolated:
        pytest.skip("every server runs as the invoking user here (not root)")
    import pwd
    import threading

    from system_user import run_as  # tests/support/, on the path by tests/conftest.py

    uid = pwd.getpwnam(platform.system_user(fuzzed)).pw_uid
    marker = f"SECRET-{platform.tag}-42"
    result: dict = {}
    with platform.kernel(fuzzed) as run:
        run("1", 60)  # the kernel is up before the spy looks for its ports
        spy = threading.Thread(target=lambda: result.update(run_as("nobody", _SPY.format(uid=uid, marker=marker))))
        spy.start()
        while spy.is_alive():  # cells run in the kernel all the while the spy listens
            assert marker in run(f"print({marker!r})", 60)
            time.sleep(0.2)
    assert result["ports"] > 0, result  # the kernel's ports were there to try
    assert result["seen"] == [], result["seen"][:1]


#: Run as another local account: connect to a scheduler with no credentials, then with a key pair of one's own.
# One client per process: with two in one, the first (refused) client's __del__ could run in a garbage
# collection inside the second one's start, while it held distributed's loop-runner lock, and hang (CI).
_INTRUDER = """
import json, os
from distributed import Client
from distributed.security import Security
try:
    with Client({address!r}, security={security}, timeout=10) as client:
        out = "ran as uid %d" % client.run_on_scheduler(os.getuid)
except Exception as exc:  # noqa: BLE001 - any refusal
    out = "refused"
print(json.dumps(out))
"""


def test_another_local_user_cannot_use_a_kernels_local_cluster(platform, fuzzed):
    """``LocalCluster()`` in a notebook listened on plain TCP and took any client: another local account ran code
    as its owner through it. Now it is TLS with client certificates only the owner's processes hold."""
    if not platform.isolated:
        pytest.skip("every server runs as the invoking user here (not root)")
    from system_user import run_as  # tests/support/, on the path by tests/conftest.py

    with platform.kernel(fuzzed) as run:
        address = run("\n".join([
            "from distributed import Client, LocalCluster",
            "cluster = LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=':0')",
            "client = Client(cluster)",
            "assert client.submit(sum, [40, 2]).result() == 42",  # the owner's own client works
            "print(cluster.scheduler_address)",
        ]), 180).strip()
        tried = {how: run_as("nobody", _INTRUDER.format(address=address, security=security))
                 for how, security in (("plain", "None"), ("own-keys", "Security.temporary()"))}
        run("client.close(); cluster.close()", 60)
    assert address.startswith("tls://"), address
    assert tried == {"plain": "refused", "own-keys": "refused"}, tried
