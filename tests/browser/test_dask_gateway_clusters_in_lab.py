"""Browser tier: JupyterLab's Dask sidebar and the gateway clusters a user's notebook starts with
``platform_lib.gateway.cluster`` (headless Chromium, signed in as a new user).

The sidebar kept the first cluster selected when the notebook started a second one: its URL box and dashboard panes
stayed on the first (dask-labextension 7.0.0 keeps a selected cluster while it is listed). The astrohub Lab
extension's Dask sidebar plugin selects a cluster of the user's that the sidebar's look at the cluster list finds
new.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

#: The Dask sidebar's selected cluster's title ("GatewayCluster <first 8 characters of its name>").
SELECTED = ".dask-ClusterListingItem.jp-mod-active .dask-ClusterListingItem-title"


def _started(output: str) -> str:
    """The cluster name the cell printed last (``print('cluster', name)``)."""
    return re.findall(r"^cluster (\S+)$", output, re.M)[-1]


def test_the_dask_sidebar_selects_the_cluster_a_notebook_started_last(platform, browser, sign_in, watch):
    """Her notebook starts a cluster (the sidebar selects it: none was selected), then a second one beside it:
    the sidebar now selects the second, its URL box names it and its dashboard panes are connected (they stayed
    on the first); a click on the first still selects it. Nothing is fetched from outside the platform and
    nothing answers an error."""
    user = platform.unique("daskfollow")
    platform.create_user(user)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page, outside, refused = watch(context)
    try:
        sign_in(page, user)
        page.wait_for_selector("[data-id='dask-dashboard-launcher']", timeout=120_000)
        page.click("[data-id='dask-dashboard-launcher']")
        with platform.kernel(user) as run:
            try:
                first = _started(run("from platform_lib import gateway\n"
                                     "first = gateway.cluster(workers=0)\nprint('cluster', first.name)", 240))
                page.wait_for_selector(f"{SELECTED} >> text=GatewayCluster {first[:8]}", timeout=60_000)
                first_url = page.input_value(".dask-URLInput input")
                assert re.fullmatch(r"dask/dashboard/\S+", first_url), first_url
                second = _started(run("second = gateway.cluster(workers=0, new=True)\n"
                                      "print('cluster', second.name)", 240))
                # the sidebar's next look at the cluster list (5 s) lists it, and selects it
                page.wait_for_selector(f"{SELECTED} >> text=GatewayCluster {second[:8]}", timeout=60_000)
                assert page.locator(".dask-ClusterListingItem").count() == 2
                second_url = page.input_value(".dask-URLInput input")
                assert re.fullmatch(r"dask/dashboard/\S+", second_url) and second_url != first_url, second_url
                page.wait_for_selector(".dask-DashboardListing-item button:not([disabled])", timeout=60_000)
                assert page.locator(".dask-DashboardListing-inactive").count() == 0
                # her click on the first cluster holds at the next looks (until a new cluster is started)
                page.locator(".dask-ClusterListingItem-title", has_text=f"GatewayCluster {first[:8]}").click()
                page.wait_for_selector(f"{SELECTED} >> text=GatewayCluster {first[:8]}", timeout=10_000)
                for _ in range(2):
                    with page.expect_response(lambda r: urlparse(r.url).path.endswith("/dask/clusters"),
                                              timeout=30_000):
                        pass
                assert page.input_value(".dask-URLInput input") == first_url
                assert not outside, f"requests left the platform: {outside[:10]}"
                assert not refused, refused  # (once the clusters stop, a pane's poll may meet a 404)
            finally:
                run("for c in (globals().get('first'), globals().get('second')):\n"
                    "    if c is not None:\n        c.shutdown()", 120)
    finally:
        context.close()
        platform.stop_server(user)
