"""Security tier: a Dask cluster's dashboard is its owner's alone (issue 22, item 3), or her group's when she
shares the cluster with it.

On the session ``platform``, ``owner`` starts a gateway cluster; ``intruder`` (another hub user
and, as root, another system user) tries what a classmate tried on the old platform: the
gateway's dashboard route with their own token or none, the scheduler's and workers' own HTTP
endpoints (on today's main an open TCP port anyone on the machine can read: worker list, logs,
call stacks), and listing or entering the cluster folders. The owner still gets their dashboard,
with a token (the Dask sidebar's check) and in a browser signed in to the hub (OAuth).
"""

from __future__ import annotations

import logging
import os
import pwd
import re
import time
import urllib.parse

import psutil
import pytest
import requests
from system_user import run_as  # tests/support/, on the path by tests/conftest.py

pytestmark = [pytest.mark.security, pytest.mark.usefixtures("collect_dask_clients")]


@pytest.fixture(scope="module")
def dashboard(platform):
    """(owner, intruder, cluster name, dashboard URL) of a running cluster with one worker."""
    owner, intruder = platform.unique("dashowner"), platform.unique("dashpeek")
    platform.create_user(owner)
    platform.create_user(intruder)
    gateway = platform.gateway(owner)
    cluster = gateway.new_cluster(shutdown_on_close=True)
    try:
        cluster.scale(1)
        with cluster.get_client(set_as_default=False) as client:
            client.wait_for_workers(1, timeout=120)
        yield owner, intruder, cluster.name, f"{platform.url}services/dask-gateway/clusters/{cluster.name}/"
    finally:
        cluster.shutdown()
        gateway.close()


def _get(url: str, token: str | None = None, **kwargs) -> requests.Response:
    headers = {"Authorization": f"token {token}"} if token else {}
    headers.update(kwargs.pop("headers", {}))
    return requests.get(url, headers=headers, timeout=60, allow_redirects=False, **kwargs)


def test_the_owner_reads_their_dashboard(platform, dashboard):
    owner, _, _, url = dashboard
    plots = _get(f"{url}individual-plots.json", platform.user_token(owner))
    assert plots.status_code == 200, plots.text[:500]
    assert "Individual Task Stream" in plots.json()
    workers = _get(f"{url}info/main/workers.html", platform.user_token(owner))
    assert workers.status_code == 200 and "Workers" in workers.text


def test_another_user_gets_404_and_nobody_gets_in_without_a_token(platform, dashboard):
    _, intruder, name, url = dashboard
    for path in ("status", "individual-plots.json", "info/main/workers.html", "info/main/logs.html"):
        theirs = _get(url + path, platform.user_token(intruder))
        assert theirs.status_code == 404, (path, theirs.status_code, theirs.text[:300])
        assert "Workers" not in theirs.text
        assert _get(url + path).status_code == 401
        assert _get(url + path, params={"token": platform.user_token(intruder)}).status_code == 404
    # The owner's token once revoked (or expired, or mistyped): asked to sign in (401), not dask-gateway's 500.
    owner = dashboard[0]
    made = platform.api("POST", f"/users/{owner}/tokens", json={"note": "revoked at once"}).json()
    platform.api("DELETE", f"/users/{owner}/tokens/{made['id']}").raise_for_status()
    for path in (url + "status", url.split("clusters/")[0] + "api/v1/clusters/"):
        revoked = _get(path, made["token"])
        assert revoked.status_code == 401, (path, revoked.status_code, revoked.text[:300])
    # A browser without a session is sent to sign in at the hub, not shown the page.
    page = _get(url + "status", headers={"Accept": "text/html"})
    assert page.status_code == 302 and "/hub/api/oauth2/authorize" in page.headers["Location"]


def test_the_owner_signs_in_through_the_hub_in_a_browser(platform, dashboard):
    owner, intruder, _, url = dashboard

    def browser(user: str) -> requests.Session:
        session = platform.login(user)  # signed in at the hub with the user's own password
        session.headers["Accept"] = "text/html"
        return session

    page = browser(owner).get(url + "info/main/workers.html", timeout=60)
    assert page.status_code == 200 and page.url.endswith("/info/main/workers.html"), page.url
    assert "Workers" in page.text
    refused = browser(intruder).get(url + "info/main/workers.html", timeout=60)
    assert refused.status_code == 404 and "Workers" not in refused.text


def test_the_dask_sidebar_check_finds_the_owners_dashboard_without_showing_the_token(platform, dashboard):
    owner, _, _, url = dashboard
    platform.start_server(owner)
    try:
        check = platform.session.get(
            f"{platform.server_url(owner)}dask/dashboard-check/{urllib.parse.quote(url, safe='')}",
            headers={"Authorization": f"token {platform.user_token(owner)}"}, timeout=60,
        )
        assert check.status_code == 200 and check.json()["isActive"] is True, check.text[:500]
        assert "token=" not in check.text
    finally:
        platform.stop_server(owner)


def test_a_cluster_shared_with_a_group_serves_its_members_only_while_shared(platform, dashboard):
    """The owner shares her running cluster with her group: a member lists it, connects, computes and opens its
    dashboard, but cannot scale or stop it (``shutdown()`` says so and changes nothing, ``close()`` only
    disconnects); the outsider is refused; after unsharing, and after leaving the group, the member is refused too
    (the group is the hub's, read at each connection)."""
    from platform_lib.gateway import NotTheOwner, share_cluster, shared_clusters, unshare_cluster

    owner, intruder, name, url = dashboard
    member, team = platform.unique("dashmate"), platform.unique("dashteam")
    platform.create_user(member)
    platform.create_group(team, [owner, member])

    def as_member(user: str):
        """A fresh client, as a new notebook of ``user`` would make (no gateway session cookie)."""
        return platform.gateway(user)

    def refused(user: str) -> str:
        """dask-gateway's client raises the gateway's 404 message as a ValueError."""
        with as_member(user) as gateway, pytest.raises(ValueError) as info:
            gateway.connect(name)
        assert _get(url + "individual-plots.json", platform.user_token(user)).status_code == 404
        return str(info.value)

    assert f"no Dask cluster '{name}' of yours or shared with your hub groups" in refused(member)
    with platform.gateway(owner) as mine:
        share_cluster(name, team, gateway=mine)
        with as_member(member) as gateway:
            found = shared_clusters(gateway=gateway)
            assert [(c.name, c.owner, c.group, c.status) for c in found] == [(name, owner, team, "running")]
            cluster = gateway.connect(name, shutdown_on_close=True)  # as a notebook that meant to stop it when done
            with cluster.get_client(set_as_default=False) as client:
                assert client.submit(sum, [1, 2, 3]).result(timeout=60) == 6
                # dask-gateway's client only logged the refusal: the member believed it stopped
                with pytest.raises(NotTheOwner, match=f"Dask cluster '{name}' is {owner}'s, shared with group "
                                                      f"'{team}'; only its owner or a hub admin can stop it"):
                    cluster.shutdown()
                assert client.submit(sum, [1, 2]).result(timeout=60) == 3  # still connected, nothing changed
            with pytest.raises(ValueError, match=f"only the owner of Dask cluster '{name}' \\({owner}\\)"):
                cluster.scale(2)
            with pytest.raises(ValueError, match="or a hub admin may stop it"):
                gateway.stop_cluster(name)
            with pytest.raises(ValueError, match="may share or unshare it"):
                unshare_cluster(name, gateway=gateway)
            logged: list[logging.LogRecord] = []
            handler = logging.Handler()
            handler.emit = logged.append
            client_log = logging.getLogger("distributed.client")  # dask-gateway's client logs there
            client_log.addHandler(handler)
            try:
                cluster.close()  # disconnects; does not ask the gateway to stop it
            finally:
                client_log.removeHandler(handler)
            assert cluster.status == "closed"
            assert not [r.getMessage() for r in logged if "shutting down cluster" in r.getMessage()]
            assert mine.get_cluster(name).status.name == "RUNNING"
        plots = _get(url + "individual-plots.json", platform.user_token(member))
        assert plots.status_code == 200 and "Individual Task Stream" in plots.json()
        with as_member(intruder) as gateway:
            assert shared_clusters(gateway=gateway) == []
        assert team not in refused(intruder)
        unshare_cluster(name, gateway=mine)
        assert team in refused(member)  # still in the group: "... shared with your hub groups (<team>) ..."
        share_cluster(name, team, gateway=mine)
        platform.api("DELETE", f"/groups/{team}/users", json={"users": [member]}).raise_for_status()
        assert team not in refused(member)
        unshare_cluster(name, gateway=mine)
        assert mine.get_cluster(name).status.name == "RUNNING"  # nobody but its owner stopped it


def test_a_shared_cluster_is_closed_to_the_group_once_its_owner_leaves_it(platform, dashboard):
    """The owner shares her cluster with a group (a workspace's ``ws-<name>``, or any), then is removed from it: the
    members who stay may no longer connect to her cluster (and run code as her), open its dashboard or list it.
    On the old gateway only the member's own membership was checked, so they still could."""
    from platform_lib.gateway import share_cluster, shared_clusters, unshare_cluster

    owner, _, name, url = dashboard
    member, team = platform.unique("dashleft"), platform.unique("dashgone")
    platform.create_user(member)
    platform.create_group(team, [owner, member])
    with platform.gateway(owner) as mine:
        share_cluster(name, team, gateway=mine)
        try:
            with platform.gateway(member) as gateway:
                gateway.connect(name).close()  # connects while both are in the group
            platform.api("DELETE", f"/groups/{team}/users", json={"users": [owner]}).raise_for_status()
            deadline = time.monotonic() + 30  # the gateway keeps the hub's answer sharing_recheck_seconds (5 s)
            while True:
                with platform.gateway(member) as gateway:
                    try:
                        gateway.connect(name).close()
                    except ValueError as exc:
                        assert f"no Dask cluster '{name}' of yours or shared with your hub groups" in str(exc)
                        break
                if time.monotonic() > deadline:
                    pytest.fail("a member still connected to the cluster 30 s after its owner left the group")
            assert _get(url + "individual-plots.json", platform.user_token(member)).status_code == 404
            with platform.gateway(member) as gateway:
                assert shared_clusters(gateway=gateway) == []
            assert mine.get_cluster(name).status.name == "RUNNING"  # the owner's own use goes on
        finally:
            unshare_cluster(name, gateway=mine)


def test_a_members_open_dashboard_ends_within_seconds_of_leaving_the_group(platform, dashboard):
    """A member with the shared dashboard open in a browser (the gateway's session cookie, Bokeh's websocket) is
    removed from the group: the open websocket is closed (1008) and the same session is refused within seconds,
    where dask-gateway's session cache kept the groups of the sign-in for 5 minutes and the websocket for good."""
    import websocket  # websocket-client

    from platform_lib.gateway import share_cluster, unshare_cluster

    owner, _, name, url = dashboard
    member, team = platform.unique("dashpal"), platform.unique("dashcrew")
    platform.create_user(member)
    platform.create_group(team, [owner, member])
    browser = platform.login(member)
    browser.headers["Accept"] = "text/html"
    with platform.gateway(owner) as mine:
        share_cluster(name, team, gateway=mine)
        try:
            page = browser.get(url + "individual-task-stream", timeout=60)  # signs in through the hub's OAuth
            assert page.status_code == 200, (page.status_code, page.text[:300])
            bokeh = re.search(r'"token":\s*"([^"]+)"', page.text).group(1)
            cookies = "; ".join(f"{c.name}={c.value}" for c in browser.cookies)
            ws = websocket.create_connection(url.replace("http", "ws", 1) + "individual-task-stream/ws",
                                                 subprotocols=["bokeh", bokeh], cookie=cookies, timeout=60)
            platform.api("DELETE", f"/groups/{team}/users", json={"users": [member]}).raise_for_status()
            try:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:  # Bokeh's messages, until the gateway closes it
                    opcode, data = ws.recv_data(control_frame=True)
                    if opcode == websocket.ABNF.OPCODE_CLOSE:
                        break
                else:
                    pytest.fail("the dashboard's websocket stayed open after the member left the group")
                assert int.from_bytes(data[:2], "big") == 1008, data
            finally:
                ws.close()
            refused = browser.get(url + "individual-plots.json", timeout=60)
            assert refused.status_code == 404 and "Individual" not in refused.text
        finally:
            unshare_cluster(name, gateway=mine)


def _cluster_processes(name: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        try:
            if "astrohub_hub.dasknode" in " ".join(proc.info["cmdline"] or []) and name in (proc.info["cwd"] or ""):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return found


def test_no_dask_http_endpoint_is_open_to_the_machine(platform, dashboard):
    """The scheduler's and workers' TCP ports serve no page; their HTTP lives on 0600 sockets."""
    _, _, name, _ = dashboard
    procs = _cluster_processes(name)
    assert len(procs) >= 2, procs  # the scheduler and the worker (its nanny and worker process)
    ports = {c.laddr.port for p in procs for c in p.net_connections("tcp") if c.status == psutil.CONN_LISTEN}
    assert ports
    for port in ports:
        try:
            answer = requests.get(f"http://127.0.0.1:{port}/info/main/workers.html", timeout=5)
        except requests.RequestException:
            continue  # a TLS or Dask comm port: no HTTP there
        assert answer.status_code != 200 or "Workers" not in answer.text, port
    sockets = [entry for p in procs for entry in os.listdir(p.cwd()) if entry.endswith(".sock")]
    assert "dashboard.sock" in sockets and any(s.startswith("worker-") for s in sockets), sockets


def test_the_scheduler_and_workers_keep_their_local_files_in_the_cluster_folder(platform, dashboard):
    """Not in distributed's default ``/tmp/dask-scratch-space[-<uid>]``: another user can create those names
    first, world-writable, then swap the owner's worker folder for their own and read what it spills (or
    plant modules in a folder on the worker's ``sys.path``)."""
    owner, _, name, _ = dashboard
    procs = _cluster_processes(name)
    assert procs, name
    workdir = procs[0].cwd()
    gateway = platform.gateway(owner)
    try:
        cluster = gateway.connect(name)
        with cluster.get_client(set_as_default=False) as client:
            workers = client.run(lambda dask_worker: dask_worker.local_directory)
            scheduler = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.local_directory)
    finally:
        gateway.close()
    assert workers, "no worker"
    for where in [scheduler, *workers.values()]:
        assert where.startswith(workdir.rstrip("/") + "/"), (where, workdir)


def test_another_system_user_cannot_list_enter_or_connect(platform, dashboard):
    if not platform.isolated:
        pytest.skip("users are not separate system users here (not root)")
    owner, intruder, name, _ = dashboard
    platform.start_server(intruder)  # the hub creates the intruder's system user
    platform.stop_server(intruder)
    clusters = platform.data_dir / "clusters"
    workdir = clusters / name
    assert (clusters.stat().st_mode & 0o777) == 0o711 and clusters.stat().st_uid == 0
    assert (workdir.stat().st_mode & 0o777) == 0o700
    assert workdir.stat().st_uid == pwd.getpwnam(platform.system_user(owner)).pw_uid
    code = f"""
import json, os, socket
out = {{}}
for what, call in [("list", lambda: os.listdir({str(clusters)!r})),
                   ("enter", lambda: os.listdir({str(workdir)!r}))]:
    try:
        call(); out[what] = "allowed"
    except PermissionError:
        out[what] = "refused"
s = socket.socket(socket.AF_UNIX)
try:
    s.connect({str(workdir / "dashboard.sock")!r}); out["connect"] = "allowed"
except PermissionError:
    out["connect"] = "refused"
print(json.dumps(out))
"""
    refused = {"list": "refused", "enter": "refused", "connect": "refused"}
    assert run_as(platform.system_user(intruder), code) == refused
    # The scheduler's HTTP socket itself is the owner's, 0600.
    sock = workdir / "dashboard.sock"
    assert (sock.stat().st_mode & 0o777) == 0o600
    assert re.fullmatch(r"[0-9a-f]{32}", name)


# --- a kernel's LocalCluster: its dashboard on a private Unix socket, proxied by its owner's server -------------------

_START_LOCAL_CLUSTER = """
import json, os
from dask.distributed import Client, LocalCluster
# the default LocalCluster (a worker process beside the kernel, dashboard ":8787", every interface on the old code)
client = Client(LocalCluster(n_workers=1, threads_per_worker=1))
workers = client.run(lambda dask_worker: str(dask_worker.http_server.address))
print(json.dumps({"link": client.dashboard_link, "uid": os.getuid(),
                  "scheduler": str(client.cluster.scheduler.http_server.address), "workers": list(workers.values()),
                  "folder": os.environ.get("ASTROHUB_DASK_DASHBOARDS", "")}))
"""

#: Run by the other user's kernel: every TCP port the owner's account listens on (the machine's socket tables say
#: which, as anyone may read them), asked for a Dask dashboard's pages.
_PROBE_TCP = """
import concurrent.futures, http.client, json
def owned(uid):
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[7]) == uid:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return sorted(ports)
def probe(port):
    found = {{}}
    for path in ("/individual-plots.json", "/health", "/status"):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
            conn.request("GET", path)
            answer = conn.getresponse()
            found[path] = [answer.status, answer.read(4000).decode("utf-8", "replace")]
            conn.close()
        except Exception as exc:
            found[path] = [None, type(exc).__name__]
    return port, found
ports = owned({uid})
with concurrent.futures.ThreadPoolExecutor(16) as pool:
    answers = dict(pool.map(probe, ports))
print(json.dumps({{"ports": ports, "answers": answers}}))
"""


def _is_dask_page(status, body: str) -> bool:
    return status == 200 and ("Individual Task Stream" in body or body.strip() == "ok" or "bokeh" in body.lower())


@pytest.fixture(scope="module")
def local_dashboard(platform):
    """(owner, intruder, facts) with a LocalCluster running in a kernel of the owner's server; facts: its dashboard
    link, the uid the kernel runs as, the scheduler's and workers' HTTP addresses and the dashboard folder."""
    import json

    with platform.user_with_server("lcowner") as owner, platform.user_with_server("lcpeek") as intruder:
        with platform.kernel(owner) as run:
            facts = json.loads(run(_START_LOCAL_CLUSTER, 180).strip().splitlines()[-1])
            try:
                yield owner, intruder, facts
            finally:
                run("client.close(); client.cluster.close()", 60)


def test_a_local_cluster_dashboard_is_on_no_tcp_port_another_user_can_reach(platform, local_dashboard):
    """Another user's kernel asks every TCP port the owner's account listens on for the dashboard's pages (on the
    old code the dashboard listened on ``0.0.0.0:<port>``: workers, logs, call stacks, the task graph, no sign-in)."""
    if not platform.isolated:
        pytest.skip("users are not separate system users here (not root)")
    import json

    owner, intruder, facts = local_dashboard
    found = json.loads(platform.execute(intruder, _PROBE_TCP.format(uid=facts["uid"]), timeout=300).strip())
    assert found["ports"], found  # the owner's server and kernels listen on some
    served = {port: {path: answer for path, answer in answers.items() if _is_dask_page(*answer)}
              for port, answers in found["answers"].items()}
    assert not any(served.values()), served


def test_a_local_cluster_dashboard_is_on_a_socket_no_other_account_can_connect_to(platform, local_dashboard):
    """The scheduler's and the worker's HTTP servers are Unix sockets in a 0700 folder of the owner's; another
    user's kernel can neither list that folder nor connect to the scheduler's socket (permission denied)."""
    if not platform.isolated:
        pytest.skip("users are not separate system users here (not root)")
    import json

    owner, intruder, facts = local_dashboard
    folder = facts["folder"]
    assert folder and facts["scheduler"].startswith(folder + "/") and facts["scheduler"].endswith(".sock"), facts
    assert facts["workers"] and all(w.startswith(folder + "/") for w in facts["workers"]), facts
    info = os.stat(folder)
    assert info.st_uid == facts["uid"] and (info.st_mode & 0o777) == 0o700, (info.st_uid, oct(info.st_mode))
    code = f"""
import json, os, socket
out = {{}}
try:
    os.listdir({folder!r}); out["list"] = "allowed"
except PermissionError:
    out["list"] = "refused"
s = socket.socket(socket.AF_UNIX)
try:
    s.connect({facts["scheduler"]!r}); out["connect"] = "allowed"
except PermissionError:
    out["connect"] = "refused"
print(json.dumps(out))
"""
    assert json.loads(platform.execute(intruder, code).strip()) == {"list": "refused", "connect": "refused"}


def test_the_owner_sees_her_local_dashboard_through_her_server_and_nobody_else_does(platform, local_dashboard):
    """The owner gets the dashboard's pages (status, individual-plots.json, a plot) through her own server at
    ``/user/<her>/dask/local/<id>/``, and the Dask sidebar's check calls it active; another user gets 403 there
    with his token, and his own server has no such dashboard (404): it proxies only his own sockets."""
    owner, intruder, facts = local_dashboard
    link = facts["link"]
    assert re.fullmatch(rf"/user/{re.escape(owner)}/dask/local/\d{{6}}/status", link), link
    mine = {"Authorization": f"token {platform.user_token(owner)}"}
    page = platform.session.get(platform.url.rstrip("/") + link, headers=mine, timeout=60)
    assert page.status_code == 200 and "bokeh" in page.text.lower(), (page.status_code, page.text[:300])
    dashboard = platform.url.rstrip("/") + link[: -len("status")]
    plots = platform.session.get(f"{dashboard}individual-plots.json", headers=mine, timeout=60)
    assert plots.status_code == 200 and "Individual Task Stream" in plots.json(), plots.text[:300]
    base = platform.server_url(owner)
    check = platform.session.get(f"{base}dask/dashboard-check/{urllib.parse.quote(link, safe='')}", headers=mine,
                                 timeout=60)
    assert check.status_code == 200 and check.json()["isActive"] is True, check.text[:500]
    assert check.json()["url"].endswith(link[: -len("/status")]), check.json()
    pane = platform.session.get(check.json()["url"] + check.json()["plots"]["Individual Task Stream"], headers=mine,
                                timeout=60)
    assert pane.status_code == 200 and "bokeh" in pane.text.lower(), pane.text[:300]

    theirs = {"Authorization": f"token {platform.user_token(intruder)}"}
    refused = platform.session.get(f"{dashboard}individual-plots.json", headers=theirs, timeout=60,
                                   allow_redirects=False)
    assert refused.status_code == 403 and "Individual" not in refused.text, refused.status_code
    ident = link.split("/")[-2]
    own_server = platform.server_get(intruder, f"dask/local/{ident}/individual-plots.json")
    assert own_server.status_code == 404 and "Individual" not in own_server.text, own_server.status_code
    anonymous = platform.session.get(f"{dashboard}status", timeout=60, allow_redirects=False)
    assert anonymous.status_code == 302 and "/hub/" in anonymous.headers["Location"], anonymous.status_code


def test_the_local_dashboards_websocket_opens_through_the_owners_server(platform, local_dashboard):
    """The status page's plots come over Bokeh's websocket: the server proxies it to the socket too."""
    import websocket

    owner, _, facts = local_dashboard
    assert f"/user/{owner}/dask/local/" in facts["link"], facts  # its socket's route, not a TCP port's
    mine = f"Authorization: token {platform.user_token(owner)}"
    page = platform.session.get(platform.url.rstrip("/") + facts["link"],
                                headers={"Authorization": f"token {platform.user_token(owner)}"}, timeout=60)
    token = re.search(r'"token":\s*"([^"]+)"', page.text)
    assert page.status_code == 200 and token, page.text[:500]
    url = platform.url.replace("http", "ws", 1).rstrip("/") + facts["link"] + "/ws"
    ws = websocket.create_connection(url, header=[mine], subprotocols=["bokeh", token[1]], timeout=60)
    try:
        first = ws.recv()
    finally:
        ws.close()
    assert "ACK" in (first if isinstance(first, str) else first.decode()), first[:300]


_START_TCP_CLUSTER = """
import json
from dask.distributed import Client, LocalCluster
# her own scheduler preload replaces the platform's: the dashboard listens on TCP (her choice), and distributed's
# link (the platform's template) names its port where a socket's id stands
client = Client(LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address="127.0.0.1:0",
                             scheduler_kwargs={"preload": ["json"]}))
print(json.dumps({"link": client.dashboard_link, "port": client.cluster.scheduler.http_server.port}))
"""


def test_a_local_cluster_dashboard_on_tcp_opens_from_its_link_through_the_owners_proxy(platform, local_dashboard):
    """dask20: a kernel cluster whose scheduler has its own preload serves its dashboard on a TCP port, and its link
    is ``/user/<her>/dask/local/<port>/status``; her server sends that on to her ``proxy/<port>/`` (her own port),
    where the page, the sidebar's ``individual-plots.json`` and a pane answer. On the old code the route took only a
    socket's six-digit id: 404, and the sidebar stayed "not connected". Another user gets 403 at her link, and his
    own server's ``dask/local/<port>/`` reaches no dashboard (his proxy serves only his own ports)."""
    import json

    owner, intruder, _ = local_dashboard
    with platform.kernel(owner) as run:
        facts = json.loads(run(_START_TCP_CLUSTER, 180).strip().splitlines()[-1])
        try:
            port, link = facts["port"], facts["link"]
            assert link == f"/user/{owner}/dask/local/{port}/status", facts  # a TCP port: at most five digits
            mine = {"Authorization": f"token {platform.user_token(owner)}"}
            page = platform.session.get(platform.url.rstrip("/") + link, headers=mine, timeout=60)
            assert page.status_code == 200 and "bokeh" in page.text.lower(), (page.status_code, page.text[:300])
            assert page.url.endswith(f"/user/{owner}/proxy/{port}/status"), page.url
            plots = platform.session.get(f"{platform.server_url(owner)}dask/local/{port}/individual-plots.json?x=1",
                                         headers=mine, timeout=60)
            assert plots.status_code == 200 and "Individual Task Stream" in plots.json(), plots.text[:300]
            assert plots.url.endswith(f"/proxy/{port}/individual-plots.json?x=1"), plots.url  # the query kept

            theirs = {"Authorization": f"token {platform.user_token(intruder)}"}
            refused = platform.session.get(platform.url.rstrip("/") + link, headers=theirs, timeout=60,
                                           allow_redirects=False)
            assert refused.status_code == 403 and "bokeh" not in refused.text.lower(), refused.status_code
            if platform.isolated:  # as root: his own server's proxy serves only his own account's ports
                own = platform.session.get(f"{platform.server_url(intruder)}dask/local/{port}/individual-plots.json",
                                           headers=theirs, timeout=60)
                assert own.status_code != 200 and "Individual" not in own.text, (own.status_code, own.text[:300])
            out_of_range = platform.server_get(owner, "dask/local/99999/status")
            assert out_of_range.status_code == 404, out_of_range.status_code
        finally:
            run("client.close(); client.cluster.close()", 60)
