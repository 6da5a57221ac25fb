"""Browser tier: a kernel ``LocalCluster``'s dashboard, on its private socket, in JupyterLab's Dask sidebar and in
a tab of its own (astrohub_server.dask_sockets: the dashboard listened on a TCP port any local account could
read; now a Unix socket of the user's, which her server proxies at ``/user/<name>/dask/local/<id>/``)."""

from __future__ import annotations

import re
from urllib.parse import urlparse

_START = """
from dask.distributed import Client, LocalCluster
client = Client(LocalCluster(n_workers=1, threads_per_worker=1))
print(client.dashboard_link)
"""


def test_a_kernels_local_cluster_dashboard_shows_in_the_dask_sidebar_and_draws_in_its_tab(platform, browser, sign_in):
    """Her cluster's link, put in the Dask sidebar's box (what its search button does), turns its panes on
    (the server's check found it active), a pane opens the socket's plot, and the link opened in a tab draws
    its plots over Bokeh's websocket, through her server; once the cluster stopped, the box emptied by hand asks
    nothing of her server's base URL."""
    user = platform.unique("lcbrowser")
    platform.create_user(user)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        sign_in(page, user)
        page.wait_for_selector("[data-id='dask-dashboard-launcher']", timeout=120_000)
        with platform.kernel(user) as run:
            link = run(_START, 180).strip().splitlines()[-1]
            assert re.fullmatch(rf"/user/{re.escape(user)}/dask/local/\d{{6}}/status", link), link
            page.click("[data-id='dask-dashboard-launcher']")
            page.fill(".dask-URLInput input", link)
            page.press(".dask-URLInput input", "Enter")  # the sidebar takes the box's URL at Enter
            page.wait_for_selector(".dask-DashboardListing-item button:not([disabled])", timeout=60_000)
            assert page.locator(".dask-DashboardListing-inactive").count() == 0
            page.locator(".dask-DashboardListing-item button", has_text=re.compile("^Task Stream$")).first.click()
            frame = page.wait_for_selector("iframe[src*='/dask/local/']", timeout=60_000)
            assert "individual-task-stream" in frame.get_attribute("src"), frame.get_attribute("src")
            dashboard = context.new_page()
            try:
                with dashboard.expect_console_message(lambda m: re.search(
                        r"rendered successfully|Could not open websocket", m.text), timeout=120_000) as drawn:
                    dashboard.goto(platform.url.rstrip("/") + link, timeout=120_000)
                assert "rendered successfully" in drawn.value.text, drawn.value.text
            finally:
                dashboard.close()
            run("client.close(); client.cluster.close()", 60)
            # dask20: she empties the box and presses Enter. dask-labextension 7.0.0 tested the empty URL as her
            # server's base URL (/user/<her>/individual-plots.json, a 404 polled for good and saved in Lab's state);
            # the astrohub sidebar plugin takes it as "no URL" and asks nothing. Her link again, the sync point: the
            # sidebar asks it at once, after anything the emptied box made it ask.
            plots: list[str] = []
            page.on("request", lambda r: plots.append(urlparse(r.url).path) if "individual-plots" in r.url else None)
            page.fill(".dask-URLInput input", "")
            page.press(".dask-URLInput input", "Enter")
            page.fill(".dask-URLInput input", link)
            with page.expect_request(lambda r: "/dask/local/" in r.url and "individual-plots" in r.url, timeout=60_000):
                page.press(".dask-URLInput input", "Enter")
            assert f"/user/{user}/individual-plots.json" not in plots, plots
    finally:
        context.close()
        platform.stop_server(user)
