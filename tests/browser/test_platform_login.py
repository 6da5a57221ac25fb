"""A person signs in through the real pages and gets JupyterLab (headless Chromium).

The first time, a person on the roster sets their own password at ``/hub/register`` with the class
code; from then on they sign in with that password only. The first sign-in opens getting-started; Lab's Help
menu has the platform's tutorials; the next sign-in restores the user's own layout, and when that Lab tab goes to
the background the user sees the pre-cull warning.

The pre-cull warning: the platform's user servers warn 5 s before a 12 s cull (tests/integration/conftest.py),
checking every 2 s (``astrohub_server.activity``). A Lab tab in view polls the server and keeps it busy; one in the
background stands its polls by, so the test hides the page the way the browser does when the user switches tabs
(``document.hidden``, then ``visibilitychange``). The server goes idle, emits the warning on its event bus, and the
platform's ``astrohub`` lab extension (its cull-warning plugin) shows it as a notification. (It was a test of its
own, which started a second server and Lab for it: ~12 s of the browser tier.)
"""

from __future__ import annotations

import re
import time

HIDE_PAGE = """() => {
    Object.defineProperty(document, "hidden", {configurable: true, get: () => true});
    Object.defineProperty(document, "visibilityState", {configurable: true, get: () => "hidden"});
    document.dispatchEvent(new Event("visibilitychange"));
}"""


def _front_notebook(page, title: str) -> None:
    """Wait until the notebook in front (Lab's current tab) is the one whose first heading is ``title``."""
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedMarkdown h1").filter(has_text=title) \
        .first.wait_for(timeout=120_000)


def test_register_then_sign_in_to_jupyterlab(platform, browser, tmp_path):
    user = platform.unique("carol")
    platform.create_user(user)  # an admin put carol on the roster
    password = "carols-own-pw-1"
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        page.goto(f"{platform.url}hub/login", timeout=60_000)
        # The login page says who may sign in and how an admin adds people.
        who = page.inner_text("#astrohub-who")
        assert "roster" in who and "astrohub users add --csv" in who
        page.click("#astrohub-register")
        page.wait_for_url("**/hub/register**", timeout=30_000)
        page.fill("input[name=username]", user)
        page.fill("input[name=class_code]", platform.user_password)
        page.fill("input[name=password]", password)
        page.fill("input[name=password2]", password)
        page.click("[type=submit]")
        # Registering signs carol in: the hub spawns her server and JupyterLab renders.
        page.wait_for_url(f"**/user/{user}/lab**", timeout=120_000)
        page.wait_for_selector("#jp-main-dock-panel", timeout=120_000)
        # Where a new user begins: the first sign-in opens getting-started, not Lab's Launcher.
        _front_notebook(page, "Getting started on astrohub")
        assert page.locator(".jp-Launcher").count() == 0
        # ... and, with nothing done, its tab is not marked changed once its kernel is up (hour13: Lab wrote the
        # kernel's kernelspec and language_info into it, which the copy now holds)
        page.wait_for_selector(".jp-StatusBar-Widget >> text=/Idle/", timeout=120_000)
        assert page.locator(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty").count() == 0
        shot = tmp_path / "jupyterlab.png"
        page.screenshot(path=str(shot))
        assert shot.stat().st_size > 10_000
        assert user in page.url
        # Lab's Help menu: the platform's own help (the tutorials, offline), no links to the Jupyter websites.
        page.locator(".lm-MenuBar-itemLabel").filter(has_text=re.compile(r"^Help$")).click()
        labels = page.locator(".lm-Menu-itemLabel").all_inner_texts()
        assert "Getting started on astrohub" in labels and "astrohub Tutorials" in labels, labels
        assert not [x for x in labels if re.search(r"Forum|Reference|FAQ", x)], labels
        page.locator(".lm-Menu-itemLabel").filter(has_text=re.compile(r"^astrohub Tutorials$")).hover()
        page.locator(".lm-Menu-itemLabel").filter(has_text="Catalogues: find them").click()
        _front_notebook(page, "Catalogues: find them, search them, query them")
        # Lab saves carol's layout (catalogues in front), which her next sign-in restores
        deadline = time.monotonic() + 30
        while True:
            saved = platform.server_get(user, "lab/api/workspaces/default").json()
            main = saved.get("data", {}).get("layout-restorer:data", {}).get("main") or {}
            if main.get("current") == "notebook:tutorials/catalogues.ipynb":
                break
            assert time.monotonic() < deadline, saved
            page.wait_for_timeout(250)
    finally:
        page.close()
        platform.stop_server(user)
    # Next time, in a fresh browser context: the own password signs in, the class code does not.
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{platform.url}hub/login", timeout=60_000)
        page.fill("input[name=username]", user)
        page.fill("input[name=password]", platform.user_password)
        page.click("[type=submit]")
        page.wait_for_selector("text=Invalid username or password", timeout=30_000)
        page.fill("input[name=username]", user)
        page.fill("input[name=password]", password)
        page.click("[type=submit]")
        page.wait_for_url(f"**/user/{user}/**", timeout=120_000)
        # A returning user gets their own layout back (the first sign-in's had getting-started in front)
        _front_notebook(page, "Catalogues: find them, search them, query them")
        # Lab loaded the extension (its package.json lists it among the federated extensions): one, of several
        # plugins (lab16: there were five extensions, astrohub-cull-warning, astrohub-help...)
        names = page.evaluate("() => JSON.parse(document.getElementById('jupyter-config-data').textContent)"
                              ".federated_extensions.map(e => e.name)")
        assert "astrohub" in names and not [n for n in names if n.startswith("astrohub-")], names
        page.wait_for_timeout(1_000)  # let Lab's start-up requests finish
        # She switches to another tab: idle for 7 s, then a check within 2 s: the warning, relayed over
        # /api/events/subscribe.
        page.evaluate(HIDE_PAGE)
        toast = page.get_by_text("will be stopped in about", exact=False)
        toast.first.wait_for(timeout=30_000)
        text = toast.first.inner_text()
        assert "This server has been idle" in text and "Save your work" in text
        # Lab has long restored by now: JupyterLab's own toast asking to fetch news from the internet never
        # came (the astrohub extension disables the plugin that asks)
        assert page.get_by_text("official Jupyter news", exact=False).count() == 0
    finally:
        context.close()
        platform.stop_server(user)


def test_wrong_password_stays_on_login_page(platform, browser):
    page = browser.new_page()
    try:
        page.goto(f"{platform.url}hub/login", timeout=60_000)
        page.fill("input[name=username]", platform.unique("wrongpw"))
        page.fill("input[name=password]", "not-the-password")
        page.click("[type=submit]")
        page.wait_for_selector("text=Invalid username or password", timeout=30_000)
        assert "/hub/login" in page.url
    finally:
        page.close()
