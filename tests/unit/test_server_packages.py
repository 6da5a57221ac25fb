"""Unit tests of the user's package layer: the hub's variables and the server's constraints file."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

from astrohub_hub.environment import package_layer_environment, user_environment
from astrohub_hub.settings import HubSettings
from astrohub_server.packages import CONSTRAINTS_HEADER, constraints_text, prepare_layer


def _settings() -> HubSettings:
    return HubSettings.model_validate({"mode": "local", "storage": {
        "home": "/h/{username}", "groupsRoot": "/g", "datasets": "/d", "scratch": "/s/{username}"}})


def test_every_user_server_gets_its_own_layer():
    ann, bob = user_environment(_settings(), "ann", []), user_environment(_settings(), "bob", [])
    assert ann["PIP_PREFIX"] == "/h/ann/.astrohub/packages"
    assert ann["PYTHONPATH"].startswith("/h/ann/.astrohub/packages/lib/python3.")
    assert ann["PYTHONPATH"].endswith("/site-packages")
    assert ann["PIP_CONSTRAINT"] == "/h/ann/.astrohub/packages/platform-constraints.txt"
    assert bob["PIP_PREFIX"] == "/h/bob/.astrohub/packages"
    assert package_layer_environment("/h/ann/")["PIP_PREFIX"] == "/h/ann/.astrohub/packages"


def test_constraints_pin_every_platform_distribution_once():
    text = constraints_text(importlib.metadata.distributions())
    assert text.startswith(CONSTRAINTS_HEADER)
    pins = dict(line.split("==") for line in text.splitlines() if line and not line.startswith("#"))
    assert pins["numpy"] == importlib.metadata.version("numpy")
    assert pins["jupyter-server"] == importlib.metadata.version("jupyter_server")
    assert all(name == name.lower() and "_" not in name for name in pins)


def test_prepare_layer_makes_site_packages_and_a_pip_readable_constraints_file(tmp_path):
    env = package_layer_environment(str(tmp_path))
    layer = prepare_layer(env)
    assert layer == tmp_path / ".astrohub" / "packages"
    site = tmp_path / env["PYTHONPATH"].split(str(tmp_path) + "/")[1]
    assert site.is_dir()
    constraints = layer / "platform-constraints.txt"
    before = constraints.stat().st_mtime_ns
    assert prepare_layer(env) == layer and constraints.stat().st_mtime_ns == before  # unchanged: not rewritten
    # pip itself reads the file: the platform's numpy satisfies it with no index at all
    numpy = importlib.metadata.version("numpy")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--no-index", "numpy", "-c", str(constraints)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "already satisfied: numpy" in result.stdout and numpy in constraints.read_text()


def test_prepare_layer_without_a_layer_or_with_a_read_only_home(tmp_path, capsys):
    assert prepare_layer({}) is None
    home = tmp_path / "ro"
    home.mkdir()
    home.chmod(0o500)
    try:
        env = package_layer_environment(str(home))
        if prepare_layer(env) is None:  # root can write anyway
            assert "is not available" in capsys.readouterr().err
    finally:
        home.chmod(0o700)


def test_every_user_gets_their_own_numba_cache():
    assert user_environment(_settings(), "ann", [])["NUMBA_CACHE_DIR"] == "/h/ann/.cache/astrohub/numba"


def test_seed_numba_cache_copies_new_and_changed_files_only(tmp_path):
    from astrohub_server.numbacache import seed_numba_cache

    seed = tmp_path / "seed" / "crossmatch_abc"
    seed.mkdir(parents=True)
    (seed / "_engine._sweep-502.py311.nbi").write_bytes(b"index")
    (seed / "_engine._sweep-502.py311.1.nbc").write_bytes(b"code")
    mine = tmp_path / "home" / ".cache" / "astrohub" / "numba"
    env = {"NUMBA_CACHE_DIR": str(mine)}
    assert seed_numba_cache(env, tmp_path / "seed") == 2
    assert (mine / "crossmatch_abc" / "_engine._sweep-502.py311.1.nbc").read_bytes() == b"code"
    assert seed_numba_cache(env, tmp_path / "seed") == 0  # unchanged: nothing copied
    (mine / "crossmatch_abc" / "own.nbi").write_bytes(b"the user's own")  # kept
    (seed / "_engine._sweep-502.py311.nbi").write_bytes(b"index v2")
    assert seed_numba_cache(env, tmp_path / "seed") == 1
    assert (mine / "crossmatch_abc" / "_engine._sweep-502.py311.nbi").read_bytes() == b"index v2"
    assert (mine / "crossmatch_abc" / "own.nbi").exists()
    assert seed_numba_cache({}, tmp_path / "seed") == 0
    assert seed_numba_cache(env, tmp_path / "missing") == 0


def test_platform_cache_folders_agree():
    from astrohub_server.numbacache import platform_numba_cache

    from platform_lib.crossmatch._warm import platform_cache_dir

    assert platform_numba_cache() == platform_cache_dir()


def test_spaces_are_linked_into_the_home_for_the_file_browser(tmp_path):
    # issue 16: group, datasets and scratch did not appear in JupyterLab's file browser
    import os

    from astrohub_server.folders import link_spaces

    home, data, scratch, groups, spaces = (tmp_path / n for n in ("home", "data", "scratch", "groups", "ws"))
    for folder in (home, data, scratch, groups, spaces):
        folder.mkdir()
    (home / "scratch").mkdir()  # the user's own folder of that name is left alone
    env = {"PLATFORM_HOME": str(home), "PLATFORM_DATASETS": str(data), "PLATFORM_SCRATCH": str(scratch),
           "PLATFORM_GROUPS_ROOT": str(groups), "PLATFORM_WORKSPACES_ROOT": str(spaces)}
    # team8: the shared analysis workspaces (astrohub workspaces) were nowhere in the file browser
    assert link_spaces(env) == {"datasets": str(data), "groups": str(groups), "workspaces": str(spaces)}
    assert os.readlink(home / "workspaces") == str(spaces)
    assert os.readlink(home / "datasets") == str(data) and not (home / "scratch").is_symlink()
    moved = tmp_path / "data2"
    moved.mkdir()
    assert link_spaces({**env, "PLATFORM_DATASETS": str(moved)})["datasets"] == str(moved)  # replaced
    assert link_spaces({**env, "PLATFORM_DATASETS": str(moved)})["datasets"] == str(moved)  # idempotent
    assert link_spaces({}) == {}


def test_a_root_the_user_may_not_list_gets_no_link_and_the_old_one_goes(tmp_path, monkeypatch):
    """privacy14: the local platform's groups and workspaces roots are 0711 (nobody lists the others' names);
    ``~/groups`` linking the whole root showed an error in Lab's file browser. No link is made to a root the user
    may not list, and the one an earlier start made goes (the spawner makes ``~/groups`` a folder of the user's own
    links instead: tests/unit/test_hub_spawner_links). Root passes every permission check, so os.access is patched."""
    import os

    from astrohub_server import folders

    home, groups, data = tmp_path / "home", tmp_path / "groups", tmp_path / "data"
    for folder in (home, groups, data):
        folder.mkdir()
    (home / "groups").symlink_to(groups)  # made by an earlier version
    real_access = os.access
    monkeypatch.setattr(folders.os, "access", lambda path, mode: str(path) != str(groups) and real_access(path, mode))
    env = {"PLATFORM_HOME": str(home), "PLATFORM_GROUPS_ROOT": str(groups), "PLATFORM_DATASETS": str(data)}
    assert folders.link_spaces(env) == {"datasets": str(data)}
    assert not os.path.lexists(home / "groups")


def test_pip_magic_says_when_the_package_index_cannot_be_reached(tmp_path):
    # first9: offline, %pip install astroplan retried the index five times and ended "No matching distribution
    # found for astroplan", which reads as "no such package"; now it also says the index could not be reached
    import io
    import socket

    from astrohub_server.pipmagic import pip

    with socket.socket() as closed:  # a port nothing listens on: connection refused, as offline
        closed.bind(("127.0.0.1", 0))
        index = f"http://127.0.0.1:{closed.getsockname()[1]}/simple"
        out = io.StringIO()
        status = pip(f"download --no-deps -d {tmp_path} --index-url {index} --retries 1 astrohub-offline-probe", out=out)
    text = out.getvalue()
    assert status != 0 and "No matching distribution found for astrohub-offline-probe" in text, text
    assert f"could not reach the package index {index} ([Errno 111] Connection refused)" in text, text
    assert "does not mean that the package does not exist" in text and "%pip install ./" in text, text
    # an index that answers (here: none at all) and has no such package: pip's own message, nothing added
    out = io.StringIO()
    assert pip(f"download --no-deps -d {tmp_path} --no-index astrohub-offline-probe", out=out) != 0
    assert "No matching distribution found" in out.getvalue() and "astrohub:" not in out.getvalue(), out.getvalue()


def test_the_platform_has_no_package_index_unless_its_operator_gives_one(tmp_path):
    # offline16: with no internet, `!pip install somepkg` retried PyPI for minutes; now a platform whose operator
    # gave no index tells pip to use none (it fails at once), and `packages.index` is a mirror or a wheel folder
    import pytest
    from pydantic import ValidationError

    from platform_lib.local.config import LocalConfig
    from platform_lib.local.layout import DataLayout
    from platform_lib.local.plan import hub_settings
    from platform_lib.local.state import Credentials

    def env(index=None):
        settings = HubSettings.model_validate({**_settings().model_dump(by_alias=True), "packages": {"index": index}})
        return {k: v for k, v in user_environment(settings, "ann", []).items() if k.startswith("PIP_")
                and k not in ("PIP_PREFIX", "PIP_CONSTRAINT", "PIP_DISABLE_PIP_VERSION_CHECK")}

    assert env() == {"PIP_NO_INDEX": "1"}
    assert env("/srv/wheels") == {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": "/srv/wheels"}
    assert env("https://devpi.example.org/root/pypi/+simple/") == {
        "PIP_INDEX_URL": "https://devpi.example.org/root/pypi/+simple/"}
    assert env("http://devpi.astro.svc:3141/root/pypi/+simple/") == {  # polish24: pip ignored it, untrusted
        "PIP_INDEX_URL": "http://devpi.astro.svc:3141/root/pypi/+simple/", "PIP_TRUSTED_HOST": "devpi.astro.svc:3141"}
    with pytest.raises(ValidationError, match=r"packages\.index[\s\S]*'wheels' is neither an http\(s\):// package"):
        HubSettings.model_validate({**_settings().model_dump(by_alias=True), "packages": {"index": "wheels"}})
    # astrohub.toml's [packages] index reaches the hub
    config = LocalConfig(data_dir=tmp_path / "data", packages={"index": "/srv/wheels"})
    settings = hub_settings(config, DataLayout(config.data_dir), Credentials("admin", "a" * 40, "b" * 12),
                            {"proxy": "p" * 64, "gateway": "g" * 64, "archive": "r" * 64, "cli": "c" * 64})
    assert HubSettings.model_validate(settings).packages.index == "/srv/wheels"


def _probe_wheel(folder) -> None:
    import zipfile

    with zipfile.ZipFile(folder / "astrohub_wheel_probe-1.0-py3-none-any.whl", "w") as wheel:
        wheel.writestr("astrohub_wheel_probe.py", "")
        info = "astrohub_wheel_probe-1.0.dist-info"
        wheel.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: astrohub-wheel-probe\nVersion: 1.0\n")
        wheel.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        wheel.writestr(f"{info}/RECORD", "")


def test_pip_with_the_platforms_sources_fails_at_once_and_says_why(tmp_path, monkeypatch):
    # a real pip, in the environment the hub gives a server: no index (the default), then the operator's wheel folder
    import io

    from astrohub_server.pipmagic import offline_note, pip

    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    monkeypatch.delenv("PIP_INDEX_URL", raising=False)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    out = io.StringIO()
    assert pip(f"download --no-deps -d {tmp_path} astrohub-offline-probe", out=out) != 0
    text = out.getvalue()
    assert "No matching distribution found for astrohub-offline-probe" in text, text
    assert "astrohub: this platform has no internet access and no package index, so pip could not download " \
           "astrohub-offline-probe." in text, text
    assert "no download was tried" in text and "%pip install ./" in text and "packages.index" in text, text
    assert "could not reach" not in text, text
    # in a kernel pip colours its errors (the note was missing on the running platform at first)
    coloured = "\x1b[31mERROR: No matching distribution found for astroplan\x1b[0m\n"
    assert "could not download astroplan." in offline_note("install astroplan", coloured, {"PIP_NO_INDEX": "1"})
    # the operator's folder of wheels: what it has installs, what it lacks is named as missing from it
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _probe_wheel(wheels)
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    out = io.StringIO()
    assert pip(f"download --no-deps -d {tmp_path / 'got'} astrohub-wheel-probe", out=out) == 0, out.getvalue()
    assert (tmp_path / "got" / "astrohub_wheel_probe-1.0-py3-none-any.whl").is_file()
    out = io.StringIO()
    assert pip(f"download --no-deps -d {tmp_path} astrohub-offline-probe", out=out) != 0
    assert f"only in the platform's folder of wheels ({wheels}), which does not have it" in out.getvalue(), \
        out.getvalue()


def test_shell_pip_in_a_cell_runs_as_the_platforms_pip_magic(monkeypatch, capfd, restore_builtins):
    # `!pip install x` in a notebook printed pip's words only; it now runs as %pip, which says what happened
    from IPython.core.interactiveshell import InteractiveShell

    from astrohub_server.pipmagic import register, shell_pip_as_magic

    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    shell = InteractiveShell.instance()
    register(shell)
    register(shell)  # idempotent: one transformer
    try:
        assert shell.input_transformers_cleanup.count(shell_pip_as_magic) == 1
        result = shell.run_cell("!pip install astrohub-offline-probe")
        assert result.success
        out = capfd.readouterr().out
        assert "astrohub: this platform has no internet access" in out, out
        # shell syntax stays a shell command
        assert shell.transform_cell("!pip list | grep numpy\n") == "get_ipython().system('pip list | grep numpy')\n"
        assert shell.transform_cell("!pip install x\n") == "get_ipython().run_line_magic('pip', 'install x')\n"
    finally:
        InteractiveShell.clear_instance()


def test_a_terminals_pip_says_why_as_the_kernels_does(tmp_path, monkeypatch):
    # first18: in a JupyterLab terminal, `pip install astroplan` on the closed platform ended with pip's bare
    # "No matching distribution found" (the kernels' %pip adds a note); the server now puts the terminal's pip
    # first on its PATH (astrohub_server/terminal), which runs the platform's pip and adds the same note.
    # mend19: the script ran `python -m ...`, whichever python came first on PATH (here a decoy); it runs the
    # server's (ASTROHUB_SERVER_PYTHON), and the server extension, not the hub, puts its folder on PATH
    import os

    from astrohub_server.pipmagic import TERMINAL_BIN, use_terminal_pip

    decoy = tmp_path / "decoy"
    decoy.mkdir()
    (decoy / "python").write_text("#!/bin/sh\necho 'not the server python' >&2\nexit 3\n")
    (decoy / "python").chmod(0o755)

    def shell(command: str, **env: str) -> subprocess.CompletedProcess:
        server = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
        server["PATH"] = f"{decoy}:/usr/bin:/bin"
        use_terminal_pip(server)  # as the server extension does to the environment its terminals copy
        return subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, timeout=120,
                              env={**server, **env}, cwd=tmp_path)

    done = shell("command -v pip; pip --version")
    assert done.returncode == 0 and "not the server python" not in done.stderr, done
    assert done.stdout.splitlines()[0] == str(TERMINAL_BIN / "pip"), done
    assert f"from {sys.prefix}/" in done.stdout.splitlines()[1], done  # the pip of the server's Python

    done = shell(f"pip download --no-deps -d {tmp_path} astrohub-offline-probe", PIP_NO_INDEX="1")
    assert done.returncode != 0 and "No matching distribution found for astrohub-offline-probe" in done.stderr, done
    assert "astrohub: this platform has no internet access and no package index, so pip could not download " \
           "astrohub-offline-probe." in done.stderr, done
    assert "e.g. pip install ./" in done.stderr and "%pip" not in done.stderr, done  # the terminal's words
    # where an index is configured pip works as ever: its output on stdout, nothing added
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _probe_wheel(wheels)
    done = shell(f"pip3 download --no-deps -d {tmp_path / 'got'} astrohub-wheel-probe", PIP_NO_INDEX="1",
                 PIP_FIND_LINKS=str(wheels))
    assert done.returncode == 0 and "Saved" in done.stdout and "astrohub:" not in done.stderr, done
    assert (tmp_path / "got" / "astrohub_wheel_probe-1.0-py3-none-any.whl").is_file()


def test_pip_installs_from_a_plain_http_mirror_the_operator_names(tmp_path):
    """polish24: ``packages.index = "http://devpi.astro.svc:3141/..."`` (a mirror inside the cluster, on plain
    http) gave every user "not a trusted or secure host ... is being ignored" and "No matching distribution found"
    for any package, the mirror never asked. Real pip, with the PIP_* variables the hub gives a server, resolves a
    wheel from such a mirror now: the mirror is a local HTTP server reached through pip's proxy setting, so the
    index's host is a name pip does not trust by itself (it trusts only localhost and loopback addresses)."""
    import http.server
    import os
    import threading
    from urllib.parse import urlsplit

    (tmp_path / "simple" / "astrohub-wheel-probe").mkdir(parents=True)
    _probe_wheel(tmp_path / "simple" / "astrohub-wheel-probe")
    wheel = "astrohub_wheel_probe-1.0-py3-none-any.whl"
    (tmp_path / "simple" / "astrohub-wheel-probe" / "index.html").write_text(f'<a href="{wheel}">{wheel}</a>')

    class Mirror(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def translate_path(self, path):  # a proxy's request names the whole URL: serve its path
            return super().translate_path(urlsplit(path).path)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Mirror)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings = HubSettings.model_validate({**_settings().model_dump(by_alias=True),
                                               "packages": {"index": "http://devpi.astro.svc:3141/simple/"}})
        env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PIP_CONFIG_FILE": os.devnull,
               "PIP_PROXY": f"http://127.0.0.1:{server.server_address[1]}", "PIP_RETRIES": "0", **settings.packages.environment()}
        done = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps",
                               "--disable-pip-version-check", "astrohub-wheel-probe"],
                              env=env, capture_output=True, text=True, timeout=120)
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 0 and "Would install astrohub-wheel-probe-1.0" in done.stdout, done.stdout + done.stderr
