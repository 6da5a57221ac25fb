"""Two workspace members co-edit one notebook on a shared server, in real time (headless Chromium).

The owner shares their running server with a workspace and turns real-time collaboration on (the classes
service's ``api/workspaces/<w>/collaboration``), which takes effect when the server next starts. Then the
owner and the member, each signed in as themselves, open the same notebook on the owner's server in two
browser contexts: what one types appears in the other's view, both edits reach the saved file, and each
page knows who is there (JupyterHub's identity provider names the owner and the member). Refusals come
first and change nothing: a stranger or a member who shares no server cannot turn collaboration on, and a
stranger's token gets 403 from the shared server. Until it is turned on the server runs with
collaboration installed and off (``disableRTC``), as every other user server does.
"""

from __future__ import annotations

import json
import pwd
import re
import tempfile
import time
import urllib.parse
from pathlib import Path

def _page_config(platform, owner: str, token: str) -> dict:
    html = platform.server_get(owner, "lab", token=token).text
    found = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', html, re.S)
    assert found, html[:500]
    return json.loads(found.group(1))


def _saved(platform, owner: str, path: str) -> str:
    response = platform.server_get(owner, f"api/contents/{path}?content=1")
    response.raise_for_status()
    return "\n".join("".join(cell["source"]) for cell in response.json()["content"]["cells"])


def _open_notebook(browser, platform, in_front, user: str, owner: str, path: str):
    """A new browser context signed in as ``user`` (their own password), on ``owner``'s notebook."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    target = f"/user/{owner}/lab/tree/{path}"
    page.goto(f"{platform.url}hub/login?next={urllib.parse.quote(target)}", timeout=60_000)
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", platform.password(user))
    page.click("[type=submit]")
    # A shared server is another user's OAuth client: the hub asks the member to authorize it once.
    page.wait_for_url(re.compile(r"(/hub/api/oauth2/authorize|/lab/tree/)"), timeout=120_000)
    if "/oauth2/authorize" in page.url:
        page.click("form [type=submit]")
    page.wait_for_url(f"**{target}", timeout=120_000)
    in_front(page, path.rsplit("/", 1)[-1])  # not getting-started, which the server's first Lab page opens
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell .cm-content", timeout=120_000)
    return context, page


def _type_at_end_of_cell(page, index: int, text: str) -> None:
    editor = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell .cm-content").nth(index)
    dialogs = page.locator(".jp-Dialog")
    if dialogs.count():
        raise AssertionError(f"a dialog is open: {dialogs.first.inner_text()!r}")
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.type(text)


def test_owner_and_member_co_edit_a_notebook_on_a_shared_server(platform, browser, in_front):
    owner, member, stranger = (platform.unique(n) for n in ("rtc-own", "rtc-mem", "rtc-out"))
    for user in (owner, member, stranger):
        platform.create_user(user)
    ws = platform.unique("rtc")
    platform.start_server(owner)
    contexts = []
    try:
        assert platform.classes_api(owner, "POST", "workspaces", {"name": ws, "members": [member]}).status_code == 200
        # Bad input first: nothing changes.
        refused = platform.classes_api(stranger, "POST", f"workspaces/{ws}/collaboration")
        assert refused.status_code == 403 and "only its read-write members" in refused.json()["message"]
        refused = platform.classes_api(owner, "POST", f"workspaces/{ws}/collaboration")
        assert refused.status_code == 409 and "share it first" in refused.json()["message"], refused.text
        assert platform.classes_api(owner, "GET", f"workspaces/{ws}").json()["collaborative"] == []
        # Installed and off until turned on, as on every user server.
        assert _page_config(platform, owner, platform.user_token(owner))["disableRTC"] is True

        assert platform.classes_api(owner, "POST", f"workspaces/{ws}/share").status_code == 200
        turned_on = platform.classes_api(owner, "POST", f"workspaces/{ws}/collaboration")
        assert turned_on.status_code == 200 and "next start" in turned_on.json()["restart"], turned_on.text
        platform.stop_server(owner)
        platform.start_server(owner)
        assert _page_config(platform, owner, platform.user_token(owner))["disableRTC"] is False
        assert platform.server_get(owner, "api/contents", token=platform.user_token(stranger)).status_code == 403
        me = platform.server_get(owner, "api/me", token=platform.user_token(member)).json()["identity"]
        assert me["username"] == member  # the member is themselves on the sharer's server

        path = f"{ws}.ipynb"
        cells = [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": s}
                 for s in ("first = 1", "second = 2")]
        kernel = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
        notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": kernel}, "cells": cells}
        platform.session.put(f"{platform.server_url(owner)}api/contents/{path}", timeout=30,
                             headers={"Authorization": f"token {platform.user_token(owner)}"},
                             json={"type": "notebook", "content": notebook}).raise_for_status()

        own_context, own_page = _open_notebook(browser, platform, in_front, owner, owner, path)
        contexts.append(own_context)
        mem_context, mem_page = _open_notebook(browser, platform, in_front, member, owner, path)
        contexts.append(mem_context)

        _type_at_end_of_cell(own_page, 0, "  # typed by the owner")
        mem_page.get_by_text("typed by the owner").first.wait_for(timeout=30_000)
        _type_at_end_of_cell(mem_page, 1, "  # typed by the member")
        own_page.get_by_text("typed by the member").first.wait_for(timeout=30_000)

        # Both edits are in the file the server saved (jupyter-collaboration saves within a second).
        deadline = time.monotonic() + 30
        while True:
            text = _saved(platform, owner, path)
            if "typed by the owner" in text and "typed by the member" in text:
                break
            assert time.monotonic() < deadline, f"the saved notebook lacks an edit: {text!r}"
            time.sleep(0.5)
        assert "first = 1  # typed by the owner" in text and "second = 2  # typed by the member" in text
        # The change history stays with the server process (TempFileYStore), not in the sharer's home.
        home = platform.data_dir / "home" / owner
        assert not (home / ".jupyter_ystore.db").exists() and not (home / ".jupyter").joinpath(
            "collaboration_sessions.json").exists()
        # Each sees the other under their own hub name (JupyterHub's identity provider): in the list of
        # collaborators, and the owner sees the member's cursor flag by the text the member just typed.
        own_page.locator(".jp-remote-userFlag-name", has_text=member).first.wait_for(state="attached", timeout=30_000)
        for page, other in ((own_page, member), (mem_page, owner)):
            page.locator(".jp-CollaboratorHeader", has_text=other).first.wait_for(state="attached", timeout=30_000)
    finally:
        for context in contexts:
            context.close()
        platform.classes_api(owner, "DELETE", f"workspaces/{ws}/share")
        platform.stop_server(owner)
    # The history of the edits above and the session record went with the server (astrohub_server.collaboration):
    # jupyter-collaboration left both in the temporary folder after every start. The owner's system user tells
    # the server's files from others'.
    if platform.isolated:
        uid = pwd.getpwnam(platform.system_user(owner)).pw_uid
        temps = (Path(tempfile.gettempdir()), platform.data_dir / "scratch" / owner)  # the server's TMPDIR: scratch
        left = [str(p) for t in temps for p in t.iterdir()
                if p.name.startswith(("jupyter_ystore_", "astrohub-collaboration-")) and p.lstat().st_uid == uid]
        assert not left, f"the stopped collaborative server left {left}"
