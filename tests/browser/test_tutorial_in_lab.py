"""A new user opens a tutorial from their home in JupyterLab (headless Chromium) and sees it rendered."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

TUTORIAL = "catalogues.ipynb"


def test_a_tutorial_opens_in_jupyterlab(platform, browser, sign_in, tmp_path):
    from PIL import Image

    user = platform.unique("nora")
    platform.create_user(user)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        sign_in(page, user)
        # The server copied the tutorials into the new home at start: open one as a person would.
        page.goto(f"{platform.url}user/{user}/lab/tree/tutorials/{TUTORIAL}", timeout=120_000)
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=120_000)
        heading = page.wait_for_selector(".jp-NotebookPanel .jp-RenderedMarkdown h1", timeout=60_000)
        assert "Catalogues: find them, search them, query them" in heading.inner_text()
        page.wait_for_timeout(500)  # let the rendered Markdown settle before the picture
        shot = tmp_path / "tutorial-in-jupyterlab.png"
        page.screenshot(path=str(shot))
        keep = os.environ.get("ASTROHUB_SCREENSHOTS")
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, Path(keep) / shot.name)
        with Image.open(shot) as image:
            assert image.size == (1280, 900)
            colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
        # Not blank: a rendered notebook (text, toolbar, file browser) has many colours, none covering all.
        assert colours is None or (len(colours) > 50 and max(c for c, _ in colours) < 0.95 * 1280 * 900)
        assert page.locator(".jp-Cell").count() >= 10
    finally:
        page.close()
        platform.stop_server(user)
