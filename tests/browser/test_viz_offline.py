"""The sky viewer works with no internet: a user opens a notebook, shows the platform's Aladin widget with a
catalogue and image footprints, and every request the page makes stays on the platform (headless Chromium,
every non-local address blocked and recorded)."""

from __future__ import annotations

import io
import json
import re
import time
from urllib.parse import urlparse

import numpy as np
import pytest

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}

NOTEBOOK_CELLS = [
    "import numpy as np\n"
    "from astropy.table import Table\n"
    "from platform_lib import viz\n"
    "rng = np.random.default_rng(3)\n"
    "stars = Table({'ra': rng.normal(83.8, 3, 3000), 'dec': rng.normal(-5.4, 3, 3000), 'gmag': rng.uniform(6, 16, 3000)})\n"
    "images = Table({'s_region': ['Polygon ICRS 82 -7 85 -7 85 -4 82 -4', 'Circle ICRS 86 -3 1.5']})",
    # a target as text (Aladin Lite sent what it could not read to CDS's Sesame), sources coloured and sized by a column
    "w = viz.Aladin(target='05h35m12s -05d24m', fov=20, height=480)\n"
    "w.show(stars, name='stars', color='gmag', size='gmag', cmap='plasma')\n"
    "w.show(images)\n"
    "w.add_polylines([[[82.0, -7.0], [84.0, -5.5], [86.0, -3.0]]], name='track', color='#00ff00', line_width=6)"
    "  # a moving object's track\n"
    "w",
    # ipyaladin as its own documentation starts (before: Aladin Lite from esm.sh, refused, an empty output)
    "from ipyaladin import Aladin\n"
    "plain = Aladin(target='83.8 -5.4', fov=20, height=300)\n"
    "plain.add_table(stars[:50])\n"
    "plain.overlay_survey = 'hips/sky'  # viz25: Aladin Lite took the path for a HiPS ID, asked CDS's MocServer\n"
    # survey25: a survey gone after the kernel looked for it (the look left out here: it refuses one not there) is
    # said above the view, not a blank layer with an error only in the console
    "try:\n"
    "    plain.survey = 'hips/skyy'  # survey25: the kernel looks for it on the archive and refuses it\n"
    "except viz.VizError as exc:\n"
    "    print('refused:', exc)\n"
    "plain._cross_validation_lock = True\n"
    "plain.overlay_survey = plain._archive + 'hips/gone-survey'\n"
    "plain._cross_validation_lock = False\n"
    "plain",
    # viz25: a long cell after the views (Run All): they draw their layers while it runs (they waited for its end)
    "import time\n"
    "time.sleep(400)",
]


def _notebook() -> dict:
    return {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": [{"cell_type": "code", "metadata": {}, "source": src, "outputs": [], "execution_count": None,
                   "id": f"c{i}"} for i, src in enumerate(NOTEBOOK_CELLS)],
    }


def _kept_on_the_platform(context) -> list[str]:
    """Abort every request of the browser ``context`` that would leave the platform (data: and blob: URLs and the
    local hosts pass); the list of the URLs it aborted, filled as the page runs."""
    outside: list[str] = []

    def guard(route):
        host = urlparse(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    return outside


def _not_blank(png: bytes) -> tuple[int, float]:
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    colours = len(np.unique(img.reshape(-1, 3), axis=0))
    busy = float((np.abs(img - np.median(img.reshape(-1, 3), axis=0)).sum(axis=2) > 40).mean())
    return colours, busy


def test_aladin_widget_offline_with_catalogue_and_footprints(platform, browser, open_in_lab, tmp_path):
    user = platform.unique("vera")
    platform.create_user(user)
    platform.start_server(user)
    token = platform.user_token(user)
    put = platform.session.put(f"{platform.server_url(user)}api/contents/sky.ipynb",
                               headers={"Authorization": f"token {token}"},
                               json={"type": "notebook", "format": "json", "content": _notebook()}, timeout=30)
    assert put.status_code in (200, 201), put.text

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    outside = _kept_on_the_platform(context)
    failed: list[str] = []
    page = context.new_page()
    page.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}"))
    console: list[str] = []
    served: dict[str, int] = {}
    asked: list[str] = []
    context.on("request", lambda r: asked.append(r.url) if "/services/archive/" in r.url else None)
    page.on("response", lambda r: served.__setitem__(urlparse(r.url).path, r.status)
            if "/services/archive/" in r.url else None)
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: console.append(f"error: {e}"))
    try:
        notebook = open_in_lab(page, user, "sky.ipynb")  # in front before Run All (a first sign-in opens getting-started)
        page.locator(".lm-MenuBar-itemLabel").filter(has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel").filter(has_text=re.compile(r"^Run All Cells$")).click()
        try:
            page.wait_for_selector(".aladin-widget canvas", timeout=120_000)
        except Exception:
            page.screenshot(path=str(tmp_path / "failed.png"))
            raise AssertionError(f"no Aladin view; console: {console[-30:]}; outside: {outside}; failed: {failed}")
        # the catalogue and the footprints reach Aladin Lite (its own layer list), tiles have time to come
        deadline = time.monotonic() + 60
        state = {}
        while time.monotonic() < deadline:
            state = page.evaluate(
                "() => { const el = document.querySelector('.aladin-widget'); "
                "const msg = document.querySelector('.astrohub-aladin-message'); "
                "return {canvases: el ? el.querySelectorAll('canvas').length : 0, "
                "message: msg ? msg.textContent : null}; }")
            if state.get("canvases", 0) >= 1:
                break
            page.wait_for_timeout(500)
        # Aladin Lite asks the archive for the default survey, then its tiles: wait for the first tile
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not any("/hips/sky/Norder" in p for p in served):
            page.wait_for_timeout(500)
        page.wait_for_load_state("networkidle", timeout=60_000)
        widget = page.locator(".aladin-widget").first
        shot = widget.screenshot(path=str(tmp_path / "aladin.png"))
        page.screenshot(path=str(tmp_path / "page.png"))
        colours, busy = _not_blank(shot)
        from PIL import Image

        img = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB")).astype(int)
        green = int(((img[..., 1] > 180) & (img[..., 0] < 90) & (img[..., 2] < 90)).sum())
        long_cell = page.locator(f"{notebook} .jp-CodeCell").nth(3).locator(".jp-InputArea-prompt").text_content()
        assert "*" in (long_cell or ""), f"the last cell is no longer running ({long_cell!r}): the check proves nothing"
        # the layers the kernel sent (the track) are drawn while it runs the long cell
        assert green > 200, f"no track drawn while the kernel was busy ({green} green pixels)"
        errors = [c for c in console if c.startswith("error") and any(k in c.lower() for k in
                                                                     ("aladin", "polyline", "astrohub", "event name"))
                  and "longitudeReversed" not in c]  # Aladin Lite's throw for the plain view's gone overlay survey
        # the widget's message stays empty: nothing it was sent failed to draw (the track included)
        state["message"] = page.evaluate("() => { const m = document.querySelector('.astrohub-aladin-message'); "
                                         "return m ? m.textContent : null; }")
        assert not outside, f"requests left the platform: {outside[:10]}"
        assert state.get("message") in ("", None), state
        assert colours > 20 and busy > 0.01, (colours, busy, json.dumps(console[-20:]))
        assert not [f for f in failed if "/aladin-lite/" in f or "/hips/sky" in f], failed
        # Aladin Lite and the default survey came from the platform's archive
        assert served.get("/services/archive/aladin-lite/aladin.js") == 200, served
        assert [status for path, status in served.items() if "/hips/sky/" in path and path.endswith("properties")] == [200], (served, asked, console[-15:])
        assert not errors, errors
        # the plain ipyaladin widget is the platform's too: drawn, from the same Aladin Lite (outside is empty)
        page.wait_for_function("() => document.querySelectorAll('.aladin-widget canvas').length > 0 && "
                               "[...document.querySelectorAll('.aladin-widget')].filter("
                               "e => e.querySelector('canvas')).length >= 2", timeout=60_000)
        assert not outside, f"requests left the platform: {outside[:10]}"
        # the plain view's overlay survey the archive does not serve is said above that view, with the archive's answer
        said = page.wait_for_function(
            "() => [...document.querySelectorAll('.astrohub-aladin-message')].map(m => m.textContent)"
            ".find(t => t.includes('gone-survey')) || null", timeout=30_000).json_value()
        assert said.startswith("The sky viewer could not load the overlay survey http") and \
            "/services/archive/hips/gone-survey: the archive answered 404: no HiPS called 'gone-survey'" in said \
            and said.endswith("Set w.overlay_survey to a HiPS the archive serves."), said
        # a survey typed wrong is refused in the kernel, which asked the platform's archive (a did-you-mean)
        refused = page.locator(f"{notebook} .jp-OutputArea-output").filter(has_text="refused: ").first.text_content()
        assert "survey='/services/archive/hips/skyy' is not a HiPS the archive serves (the archive answered 404: no " \
            "HiPS called 'skyy'" in refused and "Did you mean 'hips/sky'" in refused, refused
        # the background survey is read as the HiPS standard serves it: nothing Aladin Lite asks for is missing
        # (it asked for Norder3/Allsky.fits, which the archive never built: a 404 in the console on every view)
        assert served.get("/services/archive/hips/sky/Norder3/Allsky.fits") == 200, served
        assert not [p for p, s in served.items() if "/hips/sky/" in p and s == 404], served
    finally:
        context.close()
        platform.stop_server(user)


def _notebook_of(cells: list[str]) -> dict:
    nb = _notebook()
    nb["cells"] = [{"cell_type": "code", "metadata": {}, "source": src, "outputs": [], "execution_count": None,
                    "id": f"c{i}"} for i, src in enumerate(cells)]
    return nb


def _put_notebook(platform, user: str, path: str, cells: list[str]) -> None:
    """A notebook of ``cells`` at ``path`` in ``user``'s home (their server running), through its contents API."""
    put = platform.session.put(f"{platform.server_url(user)}api/contents/{path}",
                               headers={"Authorization": f"token {platform.user_token(user)}"},
                               json={"type": "notebook", "format": "json", "content": _notebook_of(cells)}, timeout=30)
    assert put.status_code in (200, 201), put.text


def _registered_catalogue(platform, tmp_path, stem: str, seed: int) -> str:
    """A catalogue of 20,000 random stars (RA 70-100, Dec -20..10 deg, a magnitude; one at 85 -5) ingested into the platform's
    registry as ``platform.unique(stem)``; its registry name."""
    import warnings

    import pandas
    from astropy.table import Table

    from platform_lib.catalogs import Registry, ingest

    name = platform.unique(stem).replace("-", "_")
    rng = np.random.default_rng(seed)
    n = 20_000
    stars = Table({"ra": rng.uniform(70, 100, n), "dec": rng.uniform(-20, 10, n), "gmag": rng.uniform(6, 18, n)})
    stars["ra"][0], stars["dec"][0] = 85.0, -5.0  # one star where the views open
    stars["ra"].unit = stars["dec"].unit = "deg"
    stars.write(tmp_path / f"{name}.fits")
    registry = Registry(platform.data_dir / "datasets" / "catalogs" / "registry.sqlite")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=pandas.errors.Pandas4Warning)
        ingest(tmp_path / f"{name}.fits", registry, name=name)
    full = registry.get(name).full_name
    registry.close()
    return full


def test_registry_catalogue_zooms_through_its_hips(platform, browser, open_in_lab, tmp_path):
    """``viz.show(<registry name>)``: the archive builds the catalogue's HiPS on request and Aladin Lite
    reads its Allsky files from the archive, and, as the user zooms in with the mouse wheel, the tiles of
    the deeper order (the Allsky files hold at most 200 per cell: a zoomed-out view never gets them all);
    nothing leaves the platform, no tile of an order the HiPS does not have is asked for."""
    from platform_lib.viz import hips_name, read_hips_properties

    full = _registered_catalogue(platform, tmp_path, "lod", 11)
    slug = hips_name(full)

    user = platform.unique("zoe")
    platform.create_user(user)
    platform.start_server(user)
    cells = ["from platform_lib import viz\n"
             f"w = viz.show({full!r}, target='85 -5', fov=40, height=420)\n"
             "w"]
    _put_notebook(platform, user, "lod.ipynb", cells)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    outside = _kept_on_the_platform(context)
    served: dict[str, int] = {}
    page = context.new_page()
    page.on("response", lambda r: served.__setitem__(urlparse(r.url).path, r.status)
            if f"/hips/{slug}/" in r.url else None)
    try:
        open_in_lab(page, user, "lod.ipynb")  # in front before Run All Cells (a first sign-in opens getting-started)
        page.locator(".lm-MenuBar-itemLabel").filter(has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel").filter(has_text=re.compile(r"^Run All Cells$")).click()
        page.wait_for_selector(".aladin-widget canvas", timeout=120_000)
        # the user zooms in with the wheel (40 -> about 5 deg) at once, while the archive builds the HiPS
        canvas = page.locator(".aladin-widget canvas").first
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        for _ in range(4):
            page.mouse.wheel(0, -300)
            page.wait_for_timeout(250)
        # the HiPS is built on the first request; Aladin then reads both Allsky files and the tiles in view
        deadline = time.monotonic() + 120
        wanted = {f"Norder1/Allsky.tsv", f"Norder2/Allsky.tsv"}
        while time.monotonic() < deadline and not all(
                any(p.endswith(w) and s == 200 for p, s in served.items()) for w in wanted):
            page.wait_for_timeout(500)
        page.locator(".aladin-widget").first.screenshot(path=str(tmp_path / "lod.png"))
        assert not outside, f"requests left the platform: {outside[:10]}"
        for w in wanted:
            assert any(p.endswith(w) and s == 200 for p, s in served.items()), (w, served)
        assert any(p.endswith("/properties") and s == 200 for p, s in served.items()), served
        # the 20,000 stars: 800 at order 1, 1,614 at order 2 (the Allsky files), the rest in order-3 tiles
        props = read_hips_properties(platform.data_dir / "archive" / "hips" / slug / "properties")
        assert props["hips_order"] == "3", props
        # then the order-3 tiles of the view, and never a tile of an order the HiPS does not have
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any("/Norder3/Dir" in p and s == 200 for p, s in served.items()):
            page.wait_for_timeout(200)
        page.wait_for_load_state("networkidle", timeout=30_000)
        page.locator(".aladin-widget").first.screenshot(path=str(tmp_path / "lod-zoomed.png"))
        assert any("/Norder3/Dir" in p and s == 200 for p, s in served.items()), served
        assert not [p for p in served if re.search(r"/Norder([4-9]|1\d)/", p)], served
        # viz25: the star at the centre, clicked, shows its row under the view (a HiPS catalogue's did nothing)
        row = page.locator(".aladin-widget .aladin-measurement-div").first
        for _ in range(3):  # a click while the view still settles from the wheel is taken as a small drag
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            try:
                row.wait_for(state="visible", timeout=4_000)
                break
            except Exception:
                pass
        row.wait_for(state="visible", timeout=2_000)
        assert "gmag" in row.text_content(), row.text_content()
    finally:
        context.close()
        platform.stop_server(user)


def test_aladin_lite_draws_the_widest_view_from_the_allsky_file_before_the_tiles(browser, tmp_path):
    """viz14: "a blank sky viewer" until the tiles come. Aladin Lite (the archive's copy) asks an image HiPS for
    ``Norder3/Allsky.fits`` and the 12 order-0 tiles at once, and draws each cell whose tile has not come from
    the Allsky file: with the tiles of the four northern cells held back, the widest view (360 deg) is already
    the whole sky, the same picture as once every tile has come, pixel for pixel (the Allsky's layout is right).
    No platform: the HiPS and Aladin Lite from a local server, every other address refused."""
    import functools
    import http.server
    import shutil
    import threading

    from astrohub_archive.aladin_lite import aladin_lite_dir, patched
    from astropy.io import fits

    from platform_lib.viz._hips import _write_tiles_moc, write_allsky_fits

    # 12 order-0 tiles, each its own level and a pattern that is not the same turned or flipped, and their Allsky
    sky = tmp_path / "sky"
    (sky / "Norder0" / "Dir0").mkdir(parents=True)
    y, x = np.mgrid[0:512, 0:512]
    for p in range(12):
        tile = 11 - p + 0.8 * (x / 511) ** 2 * (0.6 + 0.4 * np.sin(y / 29.0))
        fits.PrimaryHDU(tile.astype(np.float32)).writeto(sky / "Norder0" / "Dir0" / f"Npix{p}.fits")
    (sky / "properties").write_text("creator_did = ivo://astrohub/test/allsky\nobs_title = allsky\n"
                                    "dataproduct_type = image\nhips_version = 1.4\nhips_frame = equatorial\n"
                                    "hips_order = 0\nhips_tile_width = 512\nhips_tile_format = fits\n"
                                    "hips_pixel_bitpix = -32\nhips_pixel_cut = 0 12\n")
    _write_tiles_moc(sky, 0)
    assert write_allsky_fits(sky, 512) == sky / "Norder3" / "Allsky.fits"
    (tmp_path / "aladin.js").write_bytes(patched((aladin_lite_dir() / "aladin.js").read_bytes()))  # as the archive serves it
    (tmp_path / "index.html").write_text(
        '<html><body style="margin:0"><div id="al" style="width:640px;height:360px"></div><script type="module">'
        "import A from './aladin.js'; A.init.then(() => { A.aladin('#al', {survey: './sky/', fov: 360, "
        "projection: 'MOL', showReticle: false, showFrame: false, showZoomControl: false, showLayersControl: false,"
        " showCooGridControl: false, showProjectionControl: false, showFullscreenControl: false, showGotoControl:"
        " false, showSimbadPointerControl: false, showShareControl: false, showSettingsControl: false, "
        "showStatusBar: false, showCooLocation: false, showFov: false}); });</script></body></html>")
    held, served = threading.Event(), {}
    northern = {f"/sky/Norder0/Dir0/Npix{p}.fits" for p in range(4)}

    class Files(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            if self.path.replace("//", "/") in northern:
                held.wait(60)
            super().do_GET()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Files, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_port}/"
    context = browser.new_context(viewport={"width": 640, "height": 360})
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(origin) else route.abort())
    page = context.new_page()
    page.on("response", lambda r: served.__setitem__(urlparse(r.url).path.replace("//", "/"), r.status))
    try:
        page.goto(origin + "index.html")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (served.get("/sky/Norder3/Allsky.fits") == 200 and
                                                   sum(p.startswith("/sky/Norder0/") for p in served) == 8):
            page.wait_for_timeout(200)
        assert served.get("/sky/Norder3/Allsky.fits") == 200 and not northern & set(served), served
        page.wait_for_timeout(1500)  # the Allsky parsed and drawn
        before = _sky_pixels(page.locator("#al").screenshot())
        assert not northern & set(served), served  # still held while the picture was taken
        held.set()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not northern <= set(served):
            page.wait_for_timeout(200)
        page.wait_for_timeout(1500)
        after = _sky_pixels(page.locator("#al").screenshot())
        assert (after > 40).mean() > 0.5, "the whole-sky view is blank even with every tile"
        assert np.abs(before - after).max() <= 2, "the cells of the held tiles were not drawn from the Allsky file"
    finally:
        held.set()
        context.close()
        server.shutdown()


def _quiet_server(folder):
    """An HTTP server of ``folder``'s files on a free local port, in a thread (stop it with ``shutdown()``), and its
    origin (``http://127.0.0.1:<port>/``)."""
    import functools
    import http.server
    import threading

    class Files(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Files, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/"


def _write_sky(root, level: float, did: str, placeholder: bool) -> None:
    """An image HiPS of one order (12 order-0 tiles all at ``level``, their Allsky and MOC) at ``root``."""
    from astropy.io import fits

    from platform_lib.viz._hips import _write_tiles_moc, write_allsky_fits

    (root / "Norder0" / "Dir0").mkdir(parents=True)
    for p in range(12):
        fits.PrimaryHDU(np.full((512, 512), level, np.float32)).writeto(root / "Norder0" / "Dir0" / f"Npix{p}.fits")
    (root / "properties").write_text(f"creator_did = {did}\nobs_title = sky\ndataproduct_type = image\n"
                                     "hips_version = 1.4\nhips_frame = equatorial\nhips_order = 0\n"
                                     "hips_tile_width = 512\nhips_tile_format = fits\nhips_pixel_bitpix = -32\n"
                                     "hips_pixel_cut = 0 12\n" + ("astrohub_placeholder = replaced\n" if placeholder else ""))
    _write_tiles_moc(root, 0)
    write_allsky_fits(root, 512)


def test_an_open_viewer_turns_to_the_real_sky_once_it_replaces_the_placeholder(browser, tmp_path):
    """viz15: a viewer opened while the archive's ``sky`` was still the empty placeholder (no catalogue loaded
    yet) kept it until its cell was run again. The widget's loader (:data:`platform_lib.viz._widget.FOLLOW_SKY`,
    run with the archive's copy of Aladin Lite) looks at the sky's ``properties`` again while they say
    ``astrohub_placeholder``; once the real sky is in place the open view shows it: black before, bright after.
    No platform: the HiPS and Aladin Lite from a local server, every other address refused."""
    import shutil

    from astrohub_archive.aladin_lite import aladin_lite_dir, patched

    from platform_lib.viz._widget import FOLLOW_SKY

    sky = tmp_path / "hips" / "sky"
    _write_sky(sky, 0.0, "ivo://astrohub/test/empty", placeholder=True)
    _write_sky(tmp_path / "real", 11.0, "ivo://astrohub/test/real", placeholder=False)
    (tmp_path / "aladin.js").write_bytes(patched((aladin_lite_dir() / "aladin.js").read_bytes()))  # as the archive serves it
    served: dict[str, int] = {}
    server, origin = _quiet_server(tmp_path)
    (tmp_path / "index.html").write_text(
        '<html><body style="margin:0"><div id="al" style="width:640px;height:360px"></div><script type="module">'
        f"import A from './aladin.js'; {FOLLOW_SKY}; A.init.then(() => {{ const a = A.aladin('#al', {{survey: "
        f"'{origin}hips/sky', fov: 360, projection: 'MOL', showReticle: false, showFrame: false, showZoomControl: "
        "false, showLayersControl: false, showCooGridControl: false, showProjectionControl: false, "
        "showFullscreenControl: false, showGotoControl: false, showSimbadPointerControl: false, showShareControl: "
        "false, showSettingsControl: false, showStatusBar: false, showCooLocation: false, showFov: false}); "
        f"__astrohubFollowSky(a, '{origin}hips/sky', 300); }});</script></body></html>")
    context = browser.new_context(viewport={"width": 640, "height": 360})
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(origin) else route.abort())
    page = context.new_page()
    page.on("response", lambda r: served.__setitem__(urlparse(r.url).path, served.get(urlparse(r.url).path, 0) + 1))
    try:
        page.goto(origin + "index.html")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and served.get("/hips/sky/properties", 0) < 3:
            page.wait_for_timeout(200)  # the placeholder drawn, and looked at again
        page.wait_for_timeout(1000)
        before = _sky_pixels(page.locator("#al").screenshot())
        assert served.get("/hips/sky/properties", 0) >= 3 and (before > 40).mean() < 0.05, served
        shutil.rmtree(sky)  # the archive replaces the placeholder (a rename there)
        shutil.copytree(tmp_path / "real", sky)
        deadline = time.monotonic() + 30
        after = before
        while time.monotonic() < deadline and (after > 40).mean() < 0.5:
            page.wait_for_timeout(500)
            after = _sky_pixels(page.locator("#al").screenshot())
        assert (after > 40).mean() > 0.5, ("the open view still shows the placeholder", served)
        looks = served.get("/hips/sky/properties", 0)
        page.wait_for_timeout(1000)
        assert served.get("/hips/sky/properties", 0) <= looks + 1  # no more looks once it is the real sky
    finally:
        context.close()
        server.shutdown()


def _sky_pixels(png: bytes) -> np.ndarray:
    """The grey levels of a screenshot inside the Mollweide ellipse of the whole sky (2:1, the view's width)."""
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(png)).convert("L")).astype(int)
    h, w = img.shape
    y, x = np.mgrid[0:h, 0:w]
    inside = ((x - w / 2) / (w / 2 * 0.96)) ** 2 + ((y - h / 2) / (w / 4 * 0.96)) ** 2 < 1
    return img[inside]


def test_a_new_target_asks_for_each_catalogue_tile_once(platform, browser, open_in_lab, tmp_path):
    """viz21: after ``w.target = ...; w.fov = ...`` from the notebook, tiles of a HiPS catalogue were asked for
    twice, both answered 200. Aladin Lite looks for the tiles in view 0.3 s after a zoom and 1 s after a move,
    and asks again for every tile it has not received, those on their way too: a tile slower than 0.7 s (a
    loaded archive; here the tiles are held back for a few seconds) was fetched twice. Each tile of the new view
    is now asked for once, and drawn when it comes (the request log of the page)."""
    import collections

    from platform_lib.viz import hips_name

    full = _registered_catalogue(platform, tmp_path, "twice", 21)
    tiles = f"/hips/{hips_name(full)}/Norder3/Dir"

    user = platform.unique("tilecount")
    platform.create_user(user)
    platform.start_server(user)
    cells = ["from platform_lib import viz\n"
             f"w = viz.show({full!r}, target='78 -12', fov=5, height=420)\n"
             "w",
             "w.target = '92 2'\n"
             "w.fov = 4"]
    _put_notebook(platform, user, "twice.ipynb", cells)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    outside = _kept_on_the_platform(context)
    asked: list[str] = []
    answered: list[tuple[str, int]] = []
    held: list = []
    holding = {"on": False}
    page = context.new_page()
    # the catalogue's tiles, once holding: kept back until released (a slow archive); the rest as before
    page.route(f"**{tiles}**", lambda route: held.append(route) if holding["on"] else route.fallback())
    page.on("request", lambda r: asked.append(urlparse(r.url).path) if tiles in r.url else None)
    page.on("response", lambda r: answered.append((urlparse(r.url).path, r.status)) if tiles in r.url else None)
    try:
        notebook = open_in_lab(page, user, "twice.ipynb")
        cells_in_page = page.locator(f"{notebook} .jp-CodeCell")
        cells_in_page.nth(0).locator(".jp-InputPrompt").click()
        page.keyboard.press("Shift+Enter")  # the first cell only: the view opens on the first target
        page.wait_for_selector(".aladin-widget canvas", timeout=120_000)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any(s == 200 for _, s in answered):
            page.wait_for_timeout(500)
        assert any(s == 200 for _, s in answered), (asked, answered)
        page.wait_for_load_state("networkidle", timeout=30_000)
        first = len(asked)
        holding["on"] = True
        cells_in_page.nth(1).locator(".jp-InputPrompt").click()
        page.keyboard.press("Shift+Enter")  # the new target and field, set from the notebook
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not held:
            page.wait_for_timeout(200)
        assert held, "the new view asked for no tile of the catalogue"
        page.wait_for_timeout(3000)  # Aladin Lite's looks for tiles after the zoom (0.3 s) and the move (1 s)
        holding["on"] = False
        for route in held:
            route.fallback()
        page.wait_for_load_state("networkidle", timeout=30_000)
        page.locator(".aladin-widget").first.screenshot(path=str(tmp_path / "new-target.png"))
        assert not outside, f"requests left the platform: {outside[:10]}"
        counts = collections.Counter(asked[first:])
        assert counts and not {p: c for p, c in counts.items() if c > 1}, counts
        assert all(s == 200 for p, s in answered if p in counts), answered
    finally:
        context.close()
        platform.stop_server(user)


def test_aladin_lite_writes_coordinates_without_a_60(browser, tmp_path):
    """viz21: Aladin Lite (3.9.2-beta) wrote 3h47m as "03 46 60.00": it rounded the seconds after taking the whole
    minutes. The archive's copy (:func:`astrohub_archive.aladin_lite.patched`), run in headless Chromium, writes
    positions just under a minute's or an hour's end with the carry made, and (viz22) a right ascension just under
    24h as 00h, not "24 00 00.00" (Aladin Lite's ``A.coo(...).format``, what its views show). No platform: Aladin Lite from a local server, every other address refused."""
    from astrohub_archive.aladin_lite import aladin_lite_dir, patched

    (tmp_path / "aladin.js").write_bytes(patched((aladin_lite_dir() / "aladin.js").read_bytes()))
    cases = [  # ra, dec (deg), precision, what Aladin Lite should write
        (56.75, 24.1, 6, "03 47 00.00 +24 06 00.0"),
        (56.75, 24.1, 7, "03 47 00.000 +24 06 00.00"),
        (359.9999999, -0.0833333333, 6, "00 00 00.00 -00 05 00.0"),  # viz22: the hours wrap (was 24 00 00.00)
        (359.99999999, 89.99999999, 7, "00 00 00.000 +90 00 00.00"),
        (359.999, 10.0, 3, "0 00.0 +10 0"),
        (359.9999, -10.0, 1, "00.0 -10"),
        (83.8220833, -5.3911111, 6, "05 35 17.30 -05 23 28.0"),
        (44.99999999, 29.99999999, 6, "03 00 00.00 +30 00 00.0"),
    ]
    (tmp_path / "index.html").write_text(
        '<html><body><script type="module">'
        "import A from './aladin.js'; A.init.then(() => { window.formatted = "
        + json.dumps([[ra, dec, prec] for ra, dec, prec, _ in cases])
        + ".map(([ra, dec, prec]) => A.coo(ra, dec, prec).format('s/')); });</script></body></html>")
    server, origin = _quiet_server(tmp_path)
    context = browser.new_context()
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(origin) else route.abort())
    page = context.new_page()
    try:
        page.goto(origin + "index.html")
        page.wait_for_function("() => window.formatted !== undefined", timeout=60_000)
        formatted = page.evaluate("() => window.formatted")
        assert formatted == [want for *_, want in cases], formatted
    finally:
        context.close()
        server.shutdown()


@pytest.mark.timeout(900)  # the tutorial reads the largest catalogue and builds its HiPS, as test_journeys allows
def test_see_the_sky_runs_in_lab_with_every_view_drawn(platform, browser, open_in_lab, tmp_path):
    """viz21: a new user opens the see-the-sky tutorial (``tutorials/see-the-sky.ipynb``, copied into every home)
    and runs it all, with every address outside the platform blocked: every cell runs without an error, every
    figure is an image, every Aladin view draws the sky (a screenshot each, not blank) with no message over it,
    and the page asks nothing of any host outside the platform."""
    from platform_lib.sampledata import MARKER

    deadline = time.monotonic() + 300  # the sample data the tutorial shows: astrohub up loads them in the background
    while time.monotonic() < deadline and not (platform.data_dir / "datasets" / MARKER).exists():
        time.sleep(1)
    user = platform.unique("stella")
    platform.create_user(user)
    platform.start_server(user)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    outside = _kept_on_the_platform(context)
    page = context.new_page()
    console: list[str] = []
    page.on("pageerror", lambda e: console.append(f"error: {e}"))
    try:
        notebook = open_in_lab(page, user, "tutorials/see-the-sky.ipynb")
        page.locator(".lm-MenuBar-itemLabel").filter(has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel").filter(has_text=re.compile(r"^Run All Cells$")).click()
        cells = page.locator(f"{notebook} .jp-CodeCell")
        count = cells.count()
        assert count >= 8, count
        deadline = time.monotonic() + 540
        for i in range(count):
            # textContent: Lab does not render the cells scrolled out of view (their innerText is empty)
            while not re.fullmatch(r"\[\d+\]:", (cells.nth(i).locator(".jp-InputArea-prompt").text_content() or "").strip()):
                if time.monotonic() > deadline:
                    page.screenshot(path=str(tmp_path / "stuck.png"), full_page=True)
                    raise AssertionError(f"cell {i} still running: "
                                         f"{[cells.nth(k).locator('.jp-InputArea-prompt').text_content() for k in range(count)]}")
                page.wait_for_timeout(500)
        page.wait_for_load_state("networkidle", timeout=60_000)
        errors = page.locator(f"{notebook} .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        texts = [t for t in errors.all_text_contents() if "Error" in t or "Traceback" in t]
        assert not texts, texts
        figures = page.locator(f"{notebook} .jp-OutputArea-output img")
        assert figures.count() >= 4, figures.count()
        views = page.locator(f"{notebook} .aladin-widget")
        assert views.count() >= 3, views.count()
        for i in range(views.count()):
            view = views.nth(i)
            view.scroll_into_view_if_needed()
            view.locator("canvas").first.wait_for(timeout=60_000)
            page.wait_for_timeout(1500)  # the tiles of the view just scrolled to
            colours, busy = _not_blank(view.screenshot(path=str(tmp_path / f"see-the-sky-view{i}.png")))
            assert colours > 20 and busy > 0.01, (i, colours, busy)
        # the last view, the sky map's 50 and 90 % regions, is turned to them (with fov=60 alone it stayed at
        # (0, 0), the regions off screen): the position Aladin Lite shows is not 00 00 00 +0 0 0
        shown = views.nth(views.count() - 1).evaluate(
            "el => [...el.querySelectorAll('input')].map(i => i.value).concat("
            "[...el.querySelectorAll('[class*=location]')].map(e => e.textContent))")
        positions = [p for p in shown if re.search(r"\d\d \d\d \d\d\.\d+ [+-]", p or "")]
        assert positions and not [p for p in positions if re.match(r"\s*00 00 00\.0+ \+0", p)], shown
        messages = [m for m in page.locator(".astrohub-aladin-message").all_text_contents() if m.strip()]
        assert not messages, messages
        page.screenshot(path=str(tmp_path / "see-the-sky.png"), full_page=True)
        assert not outside, f"requests left the platform: {outside[:10]}"
        assert not console, console
    finally:
        context.close()
        platform.stop_server(user)


def test_a_view_whose_aladin_lite_comes_late_still_draws_what_the_kernel_sent(platform, browser, open_in_lab,
                                                                              tmp_path):
    """aladin21: on a first load of a loaded platform the view drew RA 0 Dec 0 with no layer, while the kernel's
    widget had its target, field and layers. anywidget gives a model's ``initialize`` 2 s and past them drops
    every message of the kernel to that model; the widget imported Aladin Lite there. Here Aladin Lite's file is
    held back 4 s: the view still opens on the target and field set from the notebook, with the track drawn.

    viz22: while it is held the view says it is loading (it was an empty box); before that, a view whose Aladin
    Lite the archive answers 404 says what failed, with the archive's answer (it said "Failed to fetch dynamically
    imported module", nothing of why); and the field set before the view existed, with a height of 320 px, is the
    one shown (Aladin Lite kept the degrees per pixel of the window's width: 2.6 deg shown for 4)."""
    user = platform.unique("late")
    platform.create_user(user)
    platform.start_server(user)
    _put_notebook(platform, user, "late.ipynb", [
        "from astropy.coordinates import SkyCoord\n"
        "from platform_lib import viz\n"
        "w = viz.Aladin(height=320)\n"
        "w.add_polylines([[[10.0, 19.0], [11.0, 22.0]]], name='track', color='#00ff00', line_width=6)\n"
        "w.target = SkyCoord(10.5, 20.5, unit='deg')\n"
        "w.fov = 4\n"
        "w",
        "from platform_lib import viz\n"
        "viz.Aladin(height=200)"])
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    outside = _kept_on_the_platform(context)
    page = context.new_page()
    held: list = []
    missing = {"on": True}

    def aladin_lite(route):
        if missing["on"]:  # the archive's answer for a file it does not have (AladinLiteHandler)
            route.fulfill(status=404, content_type="text/plain; charset=utf-8",
                          body="404: no Aladin Lite file 'aladin.js'\n")
        else:
            held.append((route, time.monotonic()))

    page.route("**/aladin-lite/aladin.js", aladin_lite)
    try:
        notebook = open_in_lab(page, user, "late.ipynb")
        cells = page.locator(f"{notebook} .jp-CodeCell")
        cells.nth(1).locator(".jp-InputPrompt").click()
        page.keyboard.press("Shift+Enter")  # a view while the archive has no Aladin Lite
        failed = cells.nth(1).locator(".astrohub-aladin-message")
        failed.wait_for(state="visible", timeout=120_000)
        assert "archive answered 404: no Aladin Lite file 'aladin.js'" in failed.text_content(), failed.text_content()
        assert "administrator" in failed.text_content() and not cells.nth(1).locator("canvas").count()
        missing["on"] = False
        cells.nth(0).locator(".jp-InputPrompt").click()
        page.keyboard.press("Shift+Enter")
        loading = cells.nth(0).locator(".astrohub-aladin-loading")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (held and time.monotonic() - held[0][1] > 4 and loading.count()):
            page.wait_for_timeout(200)
        assert held, "the view never asked for Aladin Lite"
        assert loading.is_visible() and "Loading the sky viewer" in loading.text_content(), "an empty box while held"
        for route, _ in held:
            route.fallback()
        view = page.locator(".aladin-widget").first
        view.locator("canvas").first.wait_for(timeout=60_000)
        page.wait_for_load_state("networkidle", timeout=60_000)
        page.wait_for_timeout(1500)  # the moves and the track's drawing
        shown = view.evaluate("el => [...el.querySelectorAll('[class*=location]')].map(e => e.textContent)"
                              ".concat([...el.querySelectorAll('input')].map(i => i.value)).join(' | ')")
        field = view.locator(".aladin-fov").text_content()
        from PIL import Image

        png = view.screenshot(path=str(tmp_path / "late.png"))
        img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
        green = int(((img[..., 1] > 180) & (img[..., 0] < 90) & (img[..., 2] < 90)).sum())
        assert re.search(r"00 42 00\.0+ \+20 30 00", shown), shown  # 10.5 deg, 20.5 deg
        assert field.startswith("4.000°×"), field  # the field across the view, as set
        assert green > 200, f"no track drawn ({green} green pixels)"
        assert not loading.count()
        assert not outside, f"requests left the platform: {outside[:10]}"
    finally:
        context.close()
        platform.stop_server(user)
