"""Dask on the running platform: JupyterLab's Dask sidebar makes gateway clusters; workers run as the user.

Drives the session ``platform``: the dask-labextension REST API of a user's server (what the
sidebar calls: ``PUT``/``GET``/``DELETE /user/<name>/dask/clusters``, ``GET .../dask/dashboard-check``),
dask-gateway's client as that user, and a kernel that asks a worker who it runs as.
"""

from __future__ import annotations

import pwd
import textwrap
import urllib.parse

import pytest

pytestmark = pytest.mark.usefixtures("collect_dask_clients")  # conftest: CPython < 3.11.5, gh-106905


@pytest.fixture(scope="module")
def dasker(platform):
    """A user with a running server."""
    with platform.user_with_server("dasker") as user:
        yield user


def _labext(platform, user: str, method: str, path: str = ""):
    url = f"{platform.server_url(user)}dask/clusters{path}"
    headers = {"Authorization": f"token {platform.user_token(user)}"}
    return platform.session.request(method, url, headers=headers, timeout=180)


def _dashboard(platform, user: str, path: str, accept: str | None = None):
    headers = {"Authorization": f"token {platform.user_token(user)}", **({"Accept": accept} if accept else {})}
    return platform.session.get(f"{platform.server_url(user)}{path}", headers=headers, timeout=60)


def test_dask_sidebar_clusters_are_gateway_clusters(platform, dasker, poll):
    created = _labext(platform, dasker, "PUT")
    assert created.status_code == 200, created.text[:2000]
    model = created.json()
    try:
        assert model["name"].startswith("GatewayCluster"), model
        gateway_prefix = f"gateway://{platform.config.hub.ip}:{platform.config.gateway.port}/"
        assert model["scheduler_address"].startswith(gateway_prefix), model
        cluster_name = model["scheduler_address"][len(gateway_prefix):]
        assert model["dashboard_link"] == f"{platform.url}services/dask-gateway/clusters/{cluster_name}/status"

        listed = _labext(platform, dasker, "GET")
        assert listed.status_code == 200
        assert [c["id"] for c in listed.json()] == [model["id"]]

        with platform.gateway(dasker) as gateway:
            assert [c.name for c in gateway.list_clusters()] == [cluster_name]

        # The sidebar shows the dashboard after this check (it strips the trailing "status").
        dashboard = model["dashboard_link"][: -len("status")]
        check = platform.session.get(
            f"{platform.server_url(dasker)}dask/dashboard-check/{urllib.parse.quote(dashboard, safe='')}",
            headers={"Authorization": f"token {platform.user_token(dasker)}"}, timeout=60,
        )
        assert check.status_code == 200 and check.json()["isActive"] is True, check.text[:500]
        # errpages25: a dashboard path the server does not know was Jupyter Server's full HTML 404 page (in the
        # sidebar's pane a few hundred pixels wide); now a short 404 naming the path and the dashboards it shows
        shown = [{"name": model["name"], "url": f"/user/{dasker}/dask/dashboard/{model['id']}/status"}]
        for path in ("dask/dashboard/", "dask/dashboard/0-0-0-0-0/individual-task-stream", "dask/local/x"):
            missing = _dashboard(platform, dasker, path)
            assert missing.status_code == 404 and missing.json()["dashboards"] == shown, missing.text[:500]
            assert missing.json()["message"].startswith(f"no Dask dashboard at /user/{dasker}/{path}: "), missing.text
        page = _dashboard(platform, dasker, "dask/dashboard/0-0-0-0-0/status", accept="text/html")
        assert page.status_code == 404 and page.headers["Content-Type"].startswith("text/html"), page.text[:300]
        assert len(page.text) < 1000 and f'<a href="{shown[0]["url"]}" target="_top">' in page.text, page.text
        pane = _dashboard(platform, dasker, f"dask/dashboard/{model['id']}/individual-task-stream")  # the real one
        assert pane.status_code == 200 and "bokeh" in pane.text.lower(), pane.text[:300]
    finally:
        deleted = _labext(platform, dasker, "DELETE", f"/{model['id']}")
    assert deleted.status_code == 204, deleted.text[:2000]
    assert _labext(platform, dasker, "GET").json() == []
    gone = _dashboard(platform, dasker, f"dask/dashboard/{model['id']}/status")  # the pane of a stopped cluster
    assert gone.status_code == 404 and gone.json()["dashboards"] == [], gone.text[:500]
    assert f"no cluster has the id {model['id']} (has it stopped?); this server shows no Dask cluster now" \
        in gone.json()["message"], gone.text
    with platform.gateway(dasker) as gateway:
        poll(lambda: not gateway.list_clusters(), 60, "the gateway to forget the deleted cluster")


def test_the_sidebar_lists_and_connects_clusters_made_in_a_notebook(platform, dasker, poll):
    # issue 16: the Dask sidebar did not list clusters created in a notebook
    with platform.gateway(dasker) as gateway:
        cluster = gateway.new_cluster()
        try:
            # listed at the sidebar's next poll (a listing of the gateway's serves its polls for 2 s)
            def listed_once():
                listed = _labext(platform, dasker, "GET")
                assert listed.status_code == 200, listed.text[:2000]
                models = [m for m in listed.json() if m["scheduler_address"].endswith("/" + cluster.name)]
                assert len(models) <= 1, listed.json()
                return models

            model = poll(listed_once, 10, "the sidebar to list the cluster made in a notebook")[0]
            assert model["dashboard_link"] == f"{platform.url}services/dask-gateway/clusters/{cluster.name}/status"
            assert _labext(platform, dasker, "GET", f"/{model['id']}").json()["id"] == model["id"]
            check = platform.session.get(
                f"{platform.server_url(dasker)}dask/dashboard-check/"
                f"{urllib.parse.quote(model['dashboard_link'][: -len('status')], safe='')}",
                headers={"Authorization": f"token {platform.user_token(dasker)}"}, timeout=60,
            )
            assert check.status_code == 200 and check.json()["isActive"] is True, check.text[:500]
            # and the sidebar's panes load for their owner (what the owner's browser on the platform's URL
            # fetches; dashboards answer their owner only: tests/integration/test_security_dask.py)
            plots = check.json()["plots"]
            assert "Individual Task Stream" in plots, plots
            pane = platform.session.get(check.json()["url"] + plots["Individual Task Stream"].lstrip("/"),
                                        headers={"Authorization": f"token {platform.user_token(dasker)}"},
                                        timeout=60)
            assert pane.status_code == 200 and "bokeh" in pane.text.lower(), pane.text[:300]
        finally:
            cluster.shutdown()
        # stopped from the notebook: the sidebar forgets it
        poll(lambda: _labext(platform, dasker, "GET").json() == [], 60, "the sidebar to drop the stopped cluster")


def test_another_user_does_not_see_the_cluster(platform, dasker, poll):
    other = platform.unique("nodask")
    platform.create_user(other)
    with platform.gateway(dasker) as gateway:
        cluster = gateway.new_cluster()
        try:
            with platform.gateway(other) as theirs:
                assert theirs.list_clusters() == []
                # refused with the answer of a cluster that does not exist (dask-gateway's was "403 Forbidden")
                with pytest.raises(ValueError, match="of yours or shared with your hub groups"):
                    theirs.connect(cluster.name)
            # its owner stops it from another notebook while a client is connected: the client is told that
            # the cluster is shutting down (it heard only "Client lost the connection to the scheduler")
            client = cluster.get_client(set_as_default=False)
            heard: list[str] = []
            client.subscribe_topic("print", lambda event: heard.append(event[1]["args"][0]))
            gateway.stop_cluster(cluster.name)
            poll(lambda: any(f"Dask cluster {cluster.name} is shutting down" in h for h in heard), 60,
                 "the client to hear that its cluster is shutting down")
            client.close()
        finally:
            cluster.shutdown()


def test_workers_run_as_the_users_system_account(platform, dasker):
    code = textwrap.dedent(
        """
        import os, pwd
        from dask_gateway import Gateway

        with Gateway().new_cluster() as cluster:
            cluster.scale(1)
            with cluster.get_client() as client:
                client.wait_for_workers(1, timeout=120)
                uid = client.submit(os.getuid, pure=False).result()
                print("worker", uid, pwd.getpwuid(uid).pw_name)
                sched = client.run_on_scheduler(os.getuid)
                print("scheduler", sched, pwd.getpwuid(sched).pw_name)
        print("kernel", os.getuid(), pwd.getpwuid(os.getuid()).pw_name)
        """
    )
    out = platform.execute(dasker, code, timeout=240)
    who = {line.split()[0]: (int(line.split()[1]), line.split()[2]) for line in out.splitlines() if line.strip()}
    if platform.isolated:
        expected = pwd.getpwnam(platform.system_user(dasker))
        assert who["worker"] == (expected.pw_uid, expected.pw_name), out
        assert who["scheduler"] == (expected.pw_uid, expected.pw_name), out
        assert who["kernel"] == (expected.pw_uid, expected.pw_name), out
        assert expected.pw_uid != 0
    else:  # documented: without root everything runs as the invoking user
        assert who["worker"] == who["kernel"], out


def test_a_kernels_local_cluster_dashboard_opens_through_the_users_server(platform, dasker):
    """``Client(LocalCluster())`` in a notebook: the printed dashboard link opens in its owner's browser, through
    their server (not at ``127.0.0.1:8787``), and the Dask sidebar's dashboard check finds it active (it
    called it inactive: the server asked the hub's public URL for it, without credentials); another user gets
    403, an anonymous browser the hub's login, and a server's proxy reaches only its own account's ports."""
    headers = {"Authorization": f"token {platform.user_token(dasker)}"}
    base = platform.server_url(dasker)
    with platform.kernel(dasker) as run:
        link = run("\n".join([
            "from dask.distributed import Client, LocalCluster",
            # one thread in the kernel's process: the dashboard is the scheduler's all the same; ':0', since 8787
            # may be taken on a test machine (LocalCluster() then picks another port itself)
            "client = Client(LocalCluster(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=':0'))",
            "print(client.dashboard_link)",
        ]), 120).strip()
        # on a private socket of hers, proxied by her server (astrohub_server.dask_sockets), not on a TCP port
        assert link.startswith(f"/user/{dasker}/dask/local/") and link.endswith("/status"), link
        page = platform.session.get(platform.url.rstrip("/") + link, headers=headers, timeout=60)
        assert page.status_code == 200 and "Dask" in page.text and "bokeh" in page.text.lower(), page.text[:300]
        # what the sidebar asks when the link is put in its box (its search button reads it from the kernel)
        check = platform.session.get(f"{base}dask/dashboard-check/{urllib.parse.quote(link, safe='')}",
                                     headers=headers, timeout=60)
        assert check.status_code == 200 and check.json()["isActive"] is True, check.text[:500]
        assert check.json()["url"].endswith(link[: -len("/status")]), check.json()
        plots = check.json()["plots"]
        pane = platform.session.get(check.json()["url"] + plots["Individual Task Stream"], headers=headers,
                                    timeout=60)
        assert pane.status_code == 200 and "bokeh" in pane.text.lower(), pane.text[:300]
        other = platform.unique("nodashboard")
        platform.create_user(other)
        theirs = platform.session.get(platform.url.rstrip("/") + link, timeout=60, allow_redirects=False,
                                      headers={"Authorization": f"token {platform.user_token(other)}"})
        assert theirs.status_code == 403 and "bokeh" not in theirs.text.lower(), theirs.status_code
        anonymous = platform.session.get(platform.url.rstrip("/") + link, timeout=60, allow_redirects=False)
        assert anonymous.status_code == 302 and "/hub/" in anonymous.headers["Location"], anonymous.status_code
        if platform.isolated:
            # nor through their own server: its proxy reached any port of the machine, a classmate's kernel dashboard
            # too; now only its own account's (here a port of root's, the hub's API, is refused)
            port = platform.config.hub.hub_port
            for path in (f"proxy/{port}/hub/api", f"proxy/localhost:{port}/hub/api"):
                elsewhere = platform.session.get(f"{base}{path}", headers=headers, timeout=60)
                assert elsewhere.status_code == 403, (path, elsewhere.status_code, elsewhere.text[:300])
        run("client.close(); client.cluster.close()", 60)


def test_the_sidebar_lists_a_cluster_shared_with_the_users_group_without_stop_or_scale(platform, dasker, poll):
    """A cluster another user shares with one of the user's hub groups was missing from their Dask sidebar (it
    listed only their own). Now it is listed with its owner's name, and the sidebar's shutdown and scaling are
    refused with the owner named (the cluster runs on); once unshared it leaves the sidebar, still running."""
    from platform_lib.gateway import unshare_cluster

    owner, team = platform.unique("sidebarowner"), platform.unique("sidebarteam")
    platform.create_user(owner)
    platform.create_group(team, [owner, dasker])
    with platform.gateway(owner) as gateway:
        cluster = gateway.new_cluster(shared_with=team)
        try:
            def listed():
                models = [m for m in _labext(platform, dasker, "GET").json()
                          if m["scheduler_address"].endswith("/" + cluster.name)]
                return models

            [model] = poll(listed, 10, "the member's sidebar to list the cluster shared with her group")
            assert model["name"].endswith(f" (shared by {owner})"), model
            assert model["dashboard_link"] == f"{platform.url}services/dask-gateway/clusters/{cluster.name}/status"
            stop = _labext(platform, dasker, "DELETE", f"/{model['id']}")
            scale = platform.session.patch(f"{platform.server_url(dasker)}dask/clusters/{model['id']}",
                                           json={"workers": 2}, timeout=60,
                                           headers={"Authorization": f"token {platform.user_token(dasker)}"})
            for refused in (stop, scale):
                assert refused.status_code == 403, (refused.status_code, refused.text[:500])
                assert f"it is {owner}'s, shared with your hub group" in refused.json()["message"]
            assert gateway.get_cluster(cluster.name).status.name == "RUNNING"
            unshare_cluster(cluster.name, gateway=gateway)
            poll(lambda: not listed(), 10, "the member's sidebar to drop the unshared cluster")
            assert gateway.get_cluster(cluster.name).status.name == "RUNNING"
        finally:
            cluster.shutdown()


def _tutorial_cluster_cell(platform, user: str, tutorial: str) -> str:
    """The lines of ``tutorial``'s (the user's copy) Dask cell that make its cluster, up to its ``wait_for_workers``."""
    notebook = platform.server_get(user, f"api/contents/tutorials/{tutorial}").json()["content"]
    source = next(c["source"] for c in notebook["cells"] if c["cell_type"] == "code" and "wait_for_workers" in c["source"])
    lines = source.splitlines()
    return "\n".join(lines[: next(i for i, line in enumerate(lines) if "wait_for_workers" in line) + 1])


def test_a_tutorials_cluster_cell_run_again_in_its_kernel_leaves_one_cluster(platform, poll):
    """The crossmatch tutorial's cell that makes a Dask cluster, run again in the same kernel (as users do), started a
    second cluster and left the first running, with its worker, until the gateway's idle timeout. Now it makes it
    with ``platform_lib.gateway.cluster``: run again, the gateway runs the same single cluster, and the cell says so;
    asked for other options it stops that one and starts another; ``new=True`` starts a second beside it.

    teams22: when the notebook's kernel dies (killed for memory, a crash) its clusters run on, and ``cluster()`` in the
    kernel Jupyter starts in its place started one more beside them (a third met the limit of 2 per user); now it
    finds the one it started last and uses it again. (A restart or shutdown of a live kernel stops its clusters.)"""
    import os
    import signal

    with platform.user_with_server("rerunner") as user, platform.gateway(user) as gateway, \
            platform.kernel(user, notebook="rerun.ipynb") as run:
        def running() -> list[str]:
            return sorted(c.name for c in gateway.list_clusters())

        cell = _tutorial_cluster_cell(platform, user, "crossmatch.ipynb")
        try:
            first = run(cell + "\nprint('cluster', cluster.name)", 240)
            [name] = running()
            again = run(cell + "\nprint('cluster', cluster.name)", 240)
            assert running() == [name], again  # one cluster, the first (two, the first idle, before)
            assert f"Dask cluster {name}: started for this kernel, 1 worker(s)" in first, first
            assert f"Dashboard: {platform.url}services/dask-gateway/clusters/{name}/status" in first, first
            assert f"cluster {name}" in again and "this kernel's, still running; used again" in again, again
            # other options: the kernel's cluster is stopped and another started
            other = run("cluster = gateway.cluster(workers=1, worker_cores=1, worker_memory=1.5)\n"
                        "print('cluster', cluster.name)", 240)
            assert "this kernel's previous cluster, stopped (other options asked: worker_memory" in other, other
            renamed = other.split("cluster ")[-1].strip()
            poll(lambda: running() == [renamed], 60, "the gateway to run the new cluster only")
            # new=True: a second cluster, the first left running
            second = run("second = gateway.cluster(workers=0, new=True)\nprint('cluster', second.name)", 240)
            assert running() == sorted([renamed, second.split("cluster ")[-1].strip()]), second
            # bad input: a clear error naming the option
            bad = run("try:\n    gateway.cluster(workers=1, worker_gpus=1)\nexcept ValueError as exc:\n    print(exc)", 60)
            assert "has no cluster option 'worker_gpus'; its options: worker_cores, worker_memory" in bad, bad
            # the kernel dies; after Jupyter's restart the notebook's cluster() finds the cluster it started last
            second_name = second.split("cluster ")[-1].strip()
            os.kill(int(run("import os\nprint(os.getpid())")), signal.SIGKILL)
            restarted = platform.session.post(f"{platform.server_url(user)}api/kernels/{run.kernel_id}/restart",
                                              headers={"Authorization": f"token {platform.user_token(user)}"},
                                              timeout=120)
            assert restarted.status_code == 200, restarted.text
            found = run("from platform_lib import gateway\nsecond = gateway.cluster(workers=0)", 240)
            assert f"Dask cluster {second_name}: this notebook's, left running when its kernel died; used again" \
                   in found, found
            assert running() == sorted([renamed, second_name])  # no third cluster
        finally:
            for name in running():
                gateway.stop_cluster(name)
        poll(lambda: not running(), 60, "the gateway to stop the test's clusters")

