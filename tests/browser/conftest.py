"""The browser tier's fixtures: the shared ``platform`` (loaded from tests/integration/conftest.py by path,
so both tiers use one running platform per session) and ``browser``, a headless Chromium from the
Debian package driven by Playwright's Python API.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from typing import Iterator

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _harness():
    name = "astrohub_platform_harness"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "integration" / "conftest.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="session")
def platform(request: pytest.FixtureRequest):
    """The running local platform (see tests/integration/conftest.py for its API)."""
    with _harness().shared_platform(request.config) as running:
        yield running


# Module scope, not session: Playwright's sync API keeps an asyncio loop running in the main thread while it
# is open, and later tests that call asyncio.run() (KubeSpawner pods, the gateway's handlers) would fail.
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def in_front():
    """``in_front(page, name)``: wait until the notebook file ``name`` is Lab's current tab and its cells are
    shown; returns the selector of the notebook in front. A server's first Lab page restores the default
    layout (getting-started in front) before it opens a ``/lab/tree/<path>`` URL's notebook, so until then
    the notebook in front may be getting-started."""
    def wait(page, name: str, timeout: float = 120_000) -> str:
        current = page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel")
        current.filter(has_text=re.compile(rf"^{re.escape(name)}$")).first.wait_for(timeout=timeout)
        notebook = ".jp-NotebookPanel:not(.lm-mod-hidden)"
        page.wait_for_selector(f"{notebook} .jp-Cell", timeout=timeout)
        return notebook

    return wait


@pytest.fixture(scope="session")
def sign_in(platform):
    """``sign_in(page, user)``: ``user`` signs in on the hub's login page with their own password, as a person
    would; returns once the browser is sent on to their JupyterLab (``/user/<name>/lab``)."""
    def sign(page, user: str) -> None:
        page.goto(f"{platform.url}hub/login", timeout=60_000)
        page.fill("input[name=username]", user)
        page.fill("input[name=password]", platform.password(user))  # their own, registered with the class code
        page.click("[type=submit]")
        page.wait_for_url(f"**/user/{user}/lab**", timeout=120_000)

    return sign


@pytest.fixture(scope="session")
def open_in_lab(platform, sign_in, in_front):
    """``open_in_lab(page, user, path)``: ``user`` signs in (:func:`sign_in`) and opens the notebook ``path`` (in
    their home) in JupyterLab; returns the selector of the notebook in front (:func:`in_front`) once its kernel
    is connected and idle (the status bar)."""
    def open_(page, user: str, path: str) -> str:
        sign_in(page, user)
        page.goto(f"{platform.server_url(user)}lab/tree/{path}", timeout=120_000)
        notebook = in_front(page, path.rsplit("/", 1)[-1])
        page.wait_for_selector(".jp-StatusBar-Widget >> text=/Idle/", timeout=120_000)
        return notebook

    return open_


#: The hosts a page on the local platform may ask: the platform's own.
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


@pytest.fixture(scope="session")
def watch():
    """``watch(context)``: a new page of ``context`` whose requests to any host outside the platform are refused
    (the platform must need none) and listed in ``outside``, and whose error answers (4xx, 5xx) are listed in
    ``refused`` as "<status> <url>"; returns ``(page, outside, refused)``."""
    from urllib.parse import urlparse

    def open_page(context):
        outside: list[str] = []
        refused: list[str] = []

        def guard(route):
            url = route.request.url
            if url.startswith(("data:", "blob:")) or (urlparse(url).hostname or "") in LOCAL_HOSTS:
                route.continue_()
            else:
                outside.append(url)
                route.abort()

        context.route("**/*", guard)
        page = context.new_page()
        page.on("response", lambda r: refused.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        return page, outside, refused

    return open_page
