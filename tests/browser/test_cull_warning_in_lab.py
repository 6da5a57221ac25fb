"""A user whose Lab tab sits in the background sees the pre-cull warning in JupyterLab (headless Chromium).

The platform's user servers warn 8 s before a 15 s cull (tests/integration/conftest.py), checking every 2 s
(``astrohub_server.activity``). A Lab tab in view polls the server and keeps it busy; one in the background
stands its polls by, so the test hides the page the way the browser does when the user switches tabs
(``document.hidden``, then ``visibilitychange``). The server goes idle, emits the warning on its event bus,
and the platform's ``astrohub`` lab extension (its cull-warning plugin) shows it as a notification.
"""

from __future__ import annotations

HIDE_PAGE = """() => {
    Object.defineProperty(document, "hidden", {configurable: true, get: () => true});
    Object.defineProperty(document, "visibilityState", {configurable: true, get: () => "hidden"});
    document.dispatchEvent(new Event("visibilitychange"));
}"""


def test_a_background_lab_tab_shows_the_cull_warning(platform, browser, sign_in):
    user = platform.unique("cora")
    platform.create_user(user)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        sign_in(page, user)
        page.wait_for_selector(".jp-LabShell", timeout=120_000)
        # Lab loaded the extension (its package.json lists it among the federated extensions): one, of several
        # plugins (lab16: there were five extensions, astrohub-cull-warning, astrohub-help...)
        names = page.evaluate("() => JSON.parse(document.getElementById('jupyter-config-data').textContent)"
                              ".federated_extensions.map(e => e.name)")
        assert "astrohub" in names and not [n for n in names if n.startswith("astrohub-")], names
        page.wait_for_timeout(1_000)  # let Lab's start-up requests finish
        page.evaluate(HIDE_PAGE)
        # Idle for 7 s, then a check within 2 s: the warning, relayed over /api/events/subscribe.
        toast = page.get_by_text("will be stopped in about", exact=False)
        toast.first.wait_for(timeout=30_000)
        text = toast.first.inner_text()
        assert "This server has been idle" in text and "Save your work" in text
        # Lab has long restored by now: JupyterLab's own toast asking to fetch news from the internet never
        # came (the astrohub extension disables the plugin that asks)
        assert page.get_by_text("official Jupyter news", exact=False).count() == 0
    finally:
        page.close()
        platform.stop_server(user)
