"""A person logs in through the real login page and gets JupyterLab (headless Chromium)."""

from __future__ import annotations


def test_login_page_to_jupyterlab(platform, browser, tmp_path):
    user = platform.unique("carol")
    platform.create_user(user)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        page.goto(f"{platform.url}hub/login", timeout=60_000)
        page.fill("input[name=username]", user)
        page.fill("input[name=password]", platform.user_password)
        page.click("[type=submit]")
        # The hub spawns the server and redirects to JupyterLab, which renders its shell and launcher.
        page.wait_for_url(f"**/user/{user}/lab**", timeout=120_000)
        page.wait_for_selector("#jp-main-dock-panel", timeout=120_000)
        page.wait_for_selector(".jp-Launcher", timeout=120_000)
        shot = tmp_path / "jupyterlab.png"
        page.screenshot(path=str(shot))
        assert shot.stat().st_size > 10_000
        assert user in page.url
    finally:
        page.close()
        platform.stop_server(user)


def test_wrong_password_stays_on_login_page(platform, browser):
    page = browser.new_page()
    try:
        page.goto(f"{platform.url}hub/login", timeout=60_000)
        page.fill("input[name=username]", platform.unique("mallory"))
        page.fill("input[name=password]", "not-the-password")
        page.click("[type=submit]")
        page.wait_for_selector("text=Invalid username or password", timeout=30_000)
        assert "/hub/login" in page.url
    finally:
        page.close()
