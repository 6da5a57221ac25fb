"""A person signs in through the real pages and gets JupyterLab (headless Chromium).

The first time, a person on the roster sets their own password at ``/hub/register`` with the class
code; from then on they sign in with that password only.
"""

from __future__ import annotations


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
        page.wait_for_selector(".jp-Launcher", timeout=120_000)
        shot = tmp_path / "jupyterlab.png"
        page.screenshot(path=str(shot))
        assert shot.stat().st_size > 10_000
        assert user in page.url
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
    finally:
        context.close()
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
