"""A user's environment on the running platform: the terminal's Python, and the per-user ``%pip`` layer.

Issue 16: the JupyterLab terminal ran a Python without ``platform_lib`` and had no ``astrohub``
command, and users could not install anything. Each check goes through the real hub and the user's
own server: a terminal over the terminals REST API and its websocket, ``%pip`` in a kernel.
The packages installed are wheels this module builds (no network needed).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import os
import re
import socket
import tempfile
import time
import zipfile
from pathlib import Path

import pytest
import websocket

PROBE = "astrohub-layer-probe"


def _wheel(folder: Path, name: str, version: str, code: str, requires: tuple[str, ...] = ()) -> Path:
    """A minimal pure-Python wheel: one module named like the distribution."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    files = {
        f"{dist}.py": code,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        + "".join(f"Requires-Dist: {r}\n" for r in requires),
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: astrohub-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    path = folder / f"{dist}-{version}-py3-none-any.whl"
    record = []
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in files.items():
            data = text.encode()
            archive.writestr(member, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{member},sha256={digest},{len(data)}")
        record.append(f"{info}/RECORD,,")
        archive.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    path.chmod(0o644)
    return path


@pytest.fixture(scope="module")
def wheels():
    """A folder every system user can read, with the probe wheel and one that conflicts with the platform."""
    folder = Path(tempfile.mkdtemp(prefix="astrohub-wheels-"))
    folder.chmod(0o755)
    _wheel(folder, PROBE, "1.0", "import os\nWHERE = os.path.dirname(os.path.abspath(__file__))\n")
    _wheel(folder, "astrohub-layer-conflict", "1.0", "X = 1\n", ("numpy<1",))
    yield folder
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()


@pytest.fixture(scope="module")
def two_users(platform):
    ann, bob = platform.unique("envann"), platform.unique("envbob")
    for user in (ann, bob):
        platform.create_user(user)
        platform.start_server(user)
    yield ann, bob
    for user in (ann, bob):
        platform.stop_server(user)


def _terminal(platform, user: str, command: str, marker: str, timeout: float = 60.0) -> str:
    """Run ``command`` in a new JupyterLab terminal of ``user``'s server; its output up to ``marker``."""
    headers = {"Authorization": f"token {platform.user_token(user)}"}
    base = platform.server_url(user)
    response = platform.session.post(f"{base}api/terminals", headers=headers, timeout=30)
    response.raise_for_status()
    name = response.json()["name"]
    conn = websocket.create_connection(
        f"{base.replace('http', 'ws', 1)}terminals/websocket/{name}",
        header=[f"{k}: {v}" for k, v in headers.items()], timeout=timeout,
    )
    output = ""
    try:
        conn.send(json.dumps(["stdin", f"{command}; echo {marker[:3]}''{marker[3:]}\r"]))
        deadline = time.monotonic() + timeout
        while marker not in output:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the terminal did not print {marker!r}; output so far:\n{output}")
            message = json.loads(conn.recv())
            if message[0] == "stdout":
                output += message[1]
        return output
    finally:
        conn.close()
        platform.session.delete(f"{base}api/terminals/{name}", headers=headers, timeout=30)


def test_terminal_runs_the_platform_python_and_the_astrohub_cli(platform, two_users):
    ann, _ = two_users
    out = _terminal(
        platform, ann,
        "python -c 'import platform_lib, matplotlib, scipy, pandas, sys; print(\"PY\", sys.executable)'"
        " && astrohub --help | head -3",
        "ENVDONE",
    )
    assert "Traceback" not in out, out
    assert "command not found" not in out, out
    venv_bin = os.path.dirname(os.path.abspath(os.sys.executable))
    assert f"PY {venv_bin}/python" in out, out
    assert "usage: astrohub" in out, out


def test_pip_layer_is_per_user_persistent_and_held_to_the_platform_pins(platform, two_users, wheels):
    ann, bob = two_users
    pip = f"%pip install --no-index --find-links {wheels}"
    # ann installs, and the same kernel imports it at once, from her layer
    out = platform.execute(ann, f"{pip} {PROBE}\nimport astrohub_layer_probe\nprint('AT', astrohub_layer_probe.WHERE)")
    assert "Successfully installed astrohub-layer-probe-1.0" in out, out
    where = out.split("AT ", 1)[1].strip()
    assert "/.astrohub/packages/lib/python3." in where and ann in where, where
    # the platform's own environment did not change
    assert importlib.util.find_spec("astrohub_layer_probe") is None
    assert not any(Path(p).joinpath("astrohub_layer_probe.py").exists() for p in os.sys.path if p)
    # bob does not see it
    with pytest.raises(AssertionError) as missing:  # conftest's KernelError
        platform.execute(bob, "import astrohub_layer_probe")
    assert getattr(missing.value, "ename", None) == "ModuleNotFoundError", missing.value
    # a package that would replace one of the platform's pins is refused, naming the pin
    out = platform.execute(ann, f"{pip} astrohub-layer-conflict")
    assert "conflicting dependencies" in out and "(constraint) numpy==" in out, out
    assert "Successfully installed" not in out
    # a package that does not exist: pip's clear message
    out = platform.execute(ann, f"{pip} astrohub-no-such-package")
    assert "No matching distribution found for astrohub-no-such-package" in out, out
    assert "could not reach" not in out, out
    # first9: offline (an index nothing answers at, as an operator's mirror that is down; --isolated: not the
    # platform's PIP_NO_INDEX), the same words would read as "no such package": %pip says that the index could not
    # be reached and what to do instead
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        index = f"http://127.0.0.1:{closed.getsockname()[1]}/simple"
        out = platform.execute(ann, f"%pip install --isolated --index-url {index} --retries 1 astrohub-offline-probe")
    assert f"could not reach the package index {index} ([Errno 111] Connection refused)" in out, out
    assert "does not mean that the package does not exist" in out, out
    # offline16: `!pip install` of a package the platform lacks retried PyPI for minutes, then printed pip's
    # cryptic words; the platform gives pip no index (no packages.index set), so it fails at once and says why
    # (and a package the platform has is still "already satisfied")
    out, has = platform.execute(ann, "!pip install astrohub-offline-probe\nprint('--')\n!pip install numpy").split("--\n")
    assert "No matching distribution found for astrohub-offline-probe" in out, out
    assert "this platform has no internet access and no package index" in out and "packages.index" in out, out
    assert "Retrying" not in out, out
    assert "Requirement already satisfied: numpy" in has and "astrohub:" not in has, has
    # the layer survives a restart of ann's server
    platform.stop_server(ann)
    platform.start_server(ann)
    assert platform.execute(ann, "import astrohub_layer_probe; print(astrohub_layer_probe.WHERE)").strip() == where
    # and the numpy ann's kernels import is still the platform's
    out = platform.execute(ann, "import numpy; print(numpy.__file__)")
    assert "/.astrohub/" not in out, out


def test_a_terminals_pip_says_why_it_found_no_package(platform, two_users):
    # first18: in a JupyterLab terminal `pip install astroplan` on the closed platform ended with pip's bare "No
    # matching distribution found" (only the kernels' %pip explained); the terminal's pip now says why, in its words
    ann, _ = two_users
    out = _terminal(platform, ann, "pip install astrohub-offline-probe; pip3 install numpy", "PIPDONE")
    assert "No matching distribution found for astrohub-offline-probe" in out, out
    assert "astrohub: this platform has no internet access and no package index" in out, out
    assert "e.g. pip install ./" in out and "packages.index" in out, out
    assert "Requirement already satisfied: numpy" in out and out.count("astrohub:") == 1, out  # pip works as ever


def test_a_terminals_pip_is_the_servers_whatever_python_comes_first(platform, two_users):
    # mend19: the terminal's pip ran `python -m ...`, whichever python came first on PATH (here a decoy that exits
    # 3); it runs the server's Python, and the server extension (not the hub) puts its folder first on PATH
    _, bob = two_users
    out = _terminal(platform, bob, "d=$(mktemp -d); printf '#!/bin/sh\\nexit 3\\n' > $d/python; chmod +x $d/python; "
                    "PATH=$d:$PATH pip --version; rc=$?; rm -r $d; echo \"AT $(command -v pip) RC=$rc\"", "TPDONE")
    terminal_bin = os.path.join(importlib.util.find_spec("astrohub_server").submodule_search_locations[0], "terminal")
    assert f"AT {terminal_bin}/pip RC=0" in out, out
    assert f"from {os.sys.prefix}/" in out, out  # the pip of the platform's Python


def test_first_crossmatch_in_a_new_kernel_loads_the_compiled_kernel(platform, two_users):
    # issue 16: the first in-memory crossmatch in a new environment spent 24 to 55 s compiling
    from platform_lib.crossmatch._warm import platform_cache_dir

    assert any(platform_cache_dir().rglob("*.nbi")), "no platform numba cache: `make install` runs `astrohub kernels compile`"
    _, bob = two_users
    out = platform.execute(bob, (
        "import os\n"
        "from numba.core.registry import CPUDispatcher\n"
        "from platform_lib.crossmatch import _engine\n"
        "from platform_lib.crossmatch._warm import warm_calls, warm_hats\n"
        "warm_calls()\n"
        "warm_hats()\n"  # numba13: hats' align_trees (lsdb's crossmatch, margin caches) came uncompiled
        "from hats.pixel_tree import moc_filter, pixel_alignment\n"
        "found = [f for m in (_engine, pixel_alignment, moc_filter) for f in vars(m).values()\n"
        "         if isinstance(f, CPUDispatcher)]\n"
        "print('CACHE', os.environ['NUMBA_CACHE_DIR'])\n"
        "print('HITS', sum(sum(f._cache_hits.values()) for f in found))\n"
        "print('HATS HITS', sum(sum(f._cache_hits.values()) for f in found\n"
        "                       if f.py_func.__module__.startswith('hats')))\n"
        "print('MISSES', sum(sum(f._cache_misses.values()) for f in found))\n"
    ), timeout=300)
    assert f"{bob}/.cache/astrohub/numba" in out, out
    assert "MISSES 0\n" in out, out
    assert "\nHITS 0\n" not in out and "HATS HITS 0\n" not in out, out


def test_file_browser_shows_datasets_scratch_and_groups(platform, two_users):
    # issue 16: the group, datasets and scratch folders did not appear in JupyterLab's file browser
    ann, _ = two_users
    listing = platform.server_get(ann, "api/contents")
    listing.raise_for_status()
    entries = {item["name"]: item["type"] for item in listing.json()["content"]}
    assert {entries.get(name) for name in ("datasets", "scratch", "groups")} == {"directory"}, entries
    assert platform.server_get(ann, "api/contents/datasets").status_code == 200
    assert platform.server_get(ann, "api/contents/scratch").status_code == 200


def test_jupyterlab_reaches_for_nothing_online(platform, two_users):
    # issue 16: no news feed, no update check, no PyPI listing in the extension manager
    ann, _ = two_users
    page = platform.server_get(ann, "lab")
    page.raise_for_status()
    found = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page.text, re.S)
    config = json.loads(found.group(1))
    assert config["news"] == {"disabled": True}
    # JupyterLab 4.6 still asks "Would you like to get notified about official Jupyter news?" unless the
    # plugin that asks is off: the platform's own Lab extension (astrohub) disables it
    assert "@jupyterlab/apputils-extension:announcements" in config["disabledExtensions"]
    assert config["extensionManager"]["name"] == "read-only" and not config["extensionManager"]["can_install"]
    assert platform.server_get(ann, "lab/api/news").json()["news"] == []
    assert platform.server_get(ann, "lab/api/update").json()["notification"] is None


WIDGET_FIGURE = """
%matplotlib widget
import io, json
import matplotlib, numpy as np
import matplotlib.pyplot as plt
fig, ax = plt.subplots()
ax.imshow(np.random.default_rng(1).normal(size=(64, 64)))
canvas = fig.canvas
buffer = io.BytesIO()
canvas.print_png(buffer)
print(json.dumps({"backend": matplotlib.get_backend(), "model": [canvas._model_module, canvas._model_name],
                  "comm": canvas.comm is not None, "tools": [item[0] for item in canvas.toolbar.toolitems if item[0]],
                  "png": buffer.getvalue()[:8] == b"\\x89PNG\\r\\n\\x1a\\n" and len(buffer.getvalue()) > 1000}))
plt.close(fig)
"""


def test_matplotlib_widget_figures_zoom_and_pan_offline(platform, two_users):
    """``%matplotlib widget`` (ipympl): JupyterLab loads its extension from the wheel (no CDN), and a kernel
    on the platform makes an interactive figure, a widget with the zoom and pan tools, drawn to PNG."""
    ann, _ = two_users
    page = platform.server_get(ann, "lab")
    page.raise_for_status()
    found = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page.text, re.S)
    extensions = {e["name"]: e for e in json.loads(found.group(1))["federated_extensions"]}
    assert "jupyter-matplotlib" in extensions, sorted(extensions)
    entry = extensions["jupyter-matplotlib"]["load"]  # served by the user's own server, not fetched from a CDN
    assert platform.server_get(ann, f"lab/extensions/jupyter-matplotlib/{entry}").status_code == 200
    figure = json.loads(platform.execute(ann, WIDGET_FIGURE).strip().splitlines()[-1])
    assert "widget" in figure["backend"] or "ipympl" in figure["backend"], figure
    assert figure["model"] == ["jupyter-matplotlib", "MPLCanvasModel"] and figure["comm"], figure
    assert {"Home", "Pan", "Zoom"} <= set(figure["tools"]) and figure["png"], figure
