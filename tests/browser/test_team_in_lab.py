"""A team shares an analysis in a workspace, each teammate in JupyterLab on their own server (headless Chromium).

alice creates a workspace with bob (the classes service's ``api/workspaces``) and writes the analysis
notebook there; bob finds it in Lab's file browser under ``workspaces/`` (a link the server makes, as for
``groups/``), opens it with a double click, changes it and saves. alice, who had it open, then saves hers:
without real-time collaboration Lab notices the file changed on disk and asks (Overwrite / Revert), and
Revert shows her bob's change: no silent loss. When the workspace's quota (the operator's ``astrohub quotas set``) is
reached, a save from Lab is refused with a dialog naming the space and the quota, and the file on disk is
unchanged (before, Lab's saves went past the quota without a word). When alice deletes the workspace, bob is
told who deleted it, and his next save says the folder is gone (before: no deletion; a save into a folder
that is gone was a 500).
"""

from __future__ import annotations

import json
import re
import time

from astrohub_server.sizes import size_text


def _notebook(*sources: str) -> dict:
    cells = [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": s}
             for s in sources]
    kernel = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": kernel}, "cells": cells}


def _on_disk(platform, user: str, path: str) -> list[str]:
    response = platform.server_get(user, f"api/contents/{path}?content=1")
    response.raise_for_status()
    return ["".join(cell["source"]) for cell in response.json()["content"]["cells"]]


def _type_at_end_of_cell(page, notebook: str, index: int, text: str, *, dialogs_expected: bool = False,
                         timeout: float = 60) -> None:
    """Click into a cell and type at its end. With ``dialogs_expected`` a dialog Lab opens meanwhile is closed
    and the click retried (after the deletion, Lab may say at any moment that the kernel died: the deletion ends
    the kernels working in the folder); otherwise a dialog in the way fails the test."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    deadline = time.monotonic() + (timeout if dialogs_expected else 0)
    while True:
        if dialogs_expected:
            _close_dialogs(page)
        try:
            page.locator(f"{notebook} .jp-Cell .cm-content").nth(index).click(
                timeout=5_000 if dialogs_expected else 30_000)
            break
        except PlaywrightTimeout:
            assert time.monotonic() < deadline, f"cell {index} not clickable: {page.locator('.jp-Dialog').all_inner_texts()}"
    page.keyboard.press("Control+End")
    page.keyboard.type(text)
    # the editor holds the text before the caller saves (on a loaded machine keys land late)
    page.locator(f"{notebook} .jp-Cell .cm-content").nth(index).filter(has_text=text).wait_for(timeout=30_000)


def _close_dialogs(page, keep: str | None = None) -> None:
    others = page.locator(".jp-Dialog")
    if keep is not None:
        others = others.filter(has_not_text=keep)
    while others.count():
        others.first.locator(".jp-Dialog-button").last.click()


def _save_until_dialog(page, notebook: str, text: str, timeout: float = 60) -> str:
    """Save (Ctrl+S) until a dialog with ``text`` shows; returns its text. Other dialogs are closed first: the
    deletion ends the kernels working in the folder, and Lab may say so in a dialog at any moment."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    deadline = time.monotonic() + timeout
    wanted = page.locator(".jp-Dialog", has_text=text).first
    while True:
        if wanted.count():  # already there (Lab's own autosave may have met the refusal first)
            return wanted.inner_text()
        _close_dialogs(page, keep=text)
        try:
            # short: a dialog opening meanwhile (the wanted one included) blocks the click; look again then
            page.locator(f"{notebook} .jp-Cell .cm-content").first.click(timeout=5_000)
            page.keyboard.press("Control+s")
            wanted.wait_for(timeout=5_000)
            return wanted.inner_text()
        except PlaywrightTimeout:
            assert time.monotonic() < deadline, f"no dialog with {text!r}: {page.locator('.jp-Dialog').all_inner_texts()}"


def _press_save(page, path: str, method: str = "PUT"):
    """Ctrl+S, and wait for Lab's request about the file at ``path`` to be answered: the save's ``PUT``, or the
    ``GET`` Lab makes first to see whether the file changed on disk (then it asks instead of saving). What the test
    looks for next follows that answer, however long the server takes under load: a fixed wait for it raced
    the request. Returns the response."""
    from urllib.parse import unquote, urlsplit

    def about_the_file(response) -> bool:
        return response.request.method == method and unquote(urlsplit(response.url).path).endswith(
            f"/api/contents/{path}")

    with page.expect_response(about_the_file, timeout=180_000) as answered:
        page.keyboard.press("Control+s")
    return answered.value


def test_teammates_share_a_notebook_in_a_workspace_from_the_file_browser(platform, browser, sign_in, in_front):
    alice, bob = (platform.unique(n) for n in ("team-alice", "team-bob"))
    for user in (alice, bob):
        platform.create_user(user)
        platform.start_server(user)
    ws = platform.unique("teamws")
    contexts = []
    try:
        created = platform.classes_api(alice, "POST", "workspaces", {"name": ws, "members": [bob]})
        assert created.status_code == 200, created.text
        path = f"workspaces/{ws}/analysis.ipynb"
        source = ("from platform_lib.storage import Storage\n"
                  f"print(Storage().usage('workspace/{ws}'))")
        platform.session.put(f"{platform.server_url(alice)}api/contents/{path}", timeout=30,
                             headers={"Authorization": f"token {platform.user_token(alice)}"},
                             json={"type": "notebook", "content": _notebook(source, "n = 1")}).raise_for_status()

        pages = {}
        for user in (alice, bob):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            contexts.append(context)
            pages[user] = context.new_page()
            sign_in(pages[user], user)
        alice_page, bob_page = pages[alice], pages[bob]
        alice_page.goto(f"{platform.url}user/{alice}/lab/tree/{path}", timeout=60_000)
        alice_nb = in_front(alice_page, "analysis.ipynb")

        # bob finds it where alice's workspace is, in his own file browser, and opens it with a double click.
        listing = bob_page.locator(".jp-DirListing-content")
        for name in ("workspaces", ws, "analysis.ipynb"):
            item = listing.locator(".jp-DirListing-item", has=bob_page.locator(
                ".jp-DirListing-itemText", has_text=re.compile(rf"^{re.escape(name)}$")))
            item.first.dblclick(timeout=60_000)
        bob_nb = in_front(bob_page, "analysis.ipynb")
        _type_at_end_of_cell(bob_page, bob_nb, 1, "  # bob's change")
        assert _press_save(bob_page, path).ok
        assert _on_disk(platform, alice, path)[1] == "n = 1  # bob's change"

        # alice saves her open copy: Lab asks before overwriting bob's save; Revert brings his change in.
        _type_at_end_of_cell(alice_page, alice_nb, 0, "  # alice's change")
        _press_save(alice_page, path, "GET")  # Lab's look at the file on disk, before it would save
        dialog = alice_page.locator(".jp-Dialog")
        dialog.get_by_text("has changed on disk").wait_for(timeout=30_000)
        assert _on_disk(platform, alice, path)[1] == "n = 1  # bob's change"  # nothing lost meanwhile
        dialog.get_by_role("button", name="Revert").click()
        alice_page.locator(f"{alice_nb} .jp-Cell .cm-content", has_text="bob's change").wait_for(timeout=30_000)

        # The workspace's quota reached: bob's next save is refused in a dialog, and the file stays as it was.
        used = platform.execute(alice, "from platform_lib.storage import Storage\n"
                                       f"print(Storage().usage('workspace/{ws}').used)")
        assert int(used) > 0
        assert platform.astrohub("quotas", "set", f"workspace/{ws}", str(int(used) + 50)).returncode == 0
        _type_at_end_of_cell(bob_page, bob_nb, 1, "  # " + "x" * 200)
        assert not _press_save(bob_page, path).ok
        refused = bob_page.locator(".jp-Dialog")
        refused.get_by_text("File Save Error").wait_for(timeout=30_000)
        message = refused.inner_text()
        assert f"workspace/{ws}" in message and "quota" in message and "nothing was saved" in message, message
        assert f"quota of {size_text(int(used) + 50)} (" in message, message  # classscore23: as the hub writes it
        assert _on_disk(platform, alice, path)[1] == "n = 1  # bob's change"
        quota_file = platform.data_dir / "workspaces" / ".astrohub-quotas" / f"{ws}.json"
        assert json.loads(quota_file.read_text())["bytes"] == int(used) + 50
        refused.get_by_role("button", name="Close").click()

        # alice deletes the workspace (bob, a member, may not): bob is told so, and his next save from Lab is
        # refused with a message saying the folder is gone, not a 500.
        denied = platform.classes_api(bob, "DELETE", f"workspaces/{ws}")
        assert denied.status_code == 403 and "only its owner" in denied.json()["message"], denied.text
        deleted = platform.classes_api(alice, "DELETE", f"workspaces/{ws}")
        assert deleted.status_code == 200 and deleted.json()["removed"] == sorted([alice, bob]), deleted.text
        told = platform.classes_api(bob, "GET", f"workspaces/{ws}")
        assert told.status_code == 404 and f"was deleted by {alice!r}" in told.json()["message"], told.text
        assert platform.server_get(bob, f"api/contents/workspaces/{ws}").status_code == 404
        _type_at_end_of_cell(bob_page, bob_nb, 0, "  # after the deletion", dialogs_expected=True)
        assert "File > Save As" in _save_until_dialog(bob_page, bob_nb, "no longer exists")
    finally:
        for context in contexts:
            context.close()
        for user in (alice, bob):
            platform.stop_server(user)
