"""Unit tests of astrohub_hub.local: user name mapping, profile filtering, the spawner's choices."""

from __future__ import annotations

import os
import re
from types import SimpleNamespace

import pytest

from astrohub_hub import UsernameError, system_username
from astrohub_hub.accounts import SYSTEM_NAME_MAX, hub_username_pattern
from astrohub_hub.collaboration import COLLABORATIVE_ENV, COLLABORATIVE_PROPERTY, collaborative, server_args
from astrohub_hub.errors import HubError
from astrohub_hub.folders import expand_user_path, home_problem, prepare_user_dirs
from astrohub_hub.local import (
    AstroLocalSpawner,
    _profile_form,
    singleuser_command,
    user_path,
    visible_profiles,
)
from astrohub_hub.pins import class_pins

PROFILES = [
    {"slug": "small", "display_name": "Small", "groups": [], "mem_limit": "1G", "cpu_limit": 1.0, "default": True},
    {"slug": "large", "display_name": "Large", "groups": [], "mem_limit": "8G", "cpu_limit": 4.0},
    {"slug": "class", "display_name": "Class <b>", "groups": ["astro101"], "mem_limit": "4G", "cpu_limit": 2.0},
]


@pytest.mark.parametrize(("hub", "system"), [("alice", "astro-alice"), ("bob-2", "astro-bob-2"), ("7up", "astro-7up")])
def test_system_username_maps_safe_names(hub, system):
    assert system_username(hub) == system


@pytest.mark.parametrize("bad", ["Alice", "al ice", "../root", "-rf", "", "é", "a.b", "a" * 27, "x:y"])
def test_system_username_rejects_unsafe_names(bad):
    with pytest.raises(UsernameError) as info:
        system_username(bad)
    assert info.value.value == bad
    assert repr(bad) in str(info.value)


def test_pattern_agrees_with_mapping():
    pattern = re.compile(hub_username_pattern("astro-"))
    for name in ["alice", "bob-2", "a" * 26, "a" * 27, "Alice", "a b", "_x"]:
        try:
            system_username(name, "astro-")
            ok = True
        except UsernameError:
            ok = False
        assert bool(pattern.match(name)) == ok, name
    assert len(system_username("a" * (SYSTEM_NAME_MAX - 6))) == SYSTEM_NAME_MAX


def test_expand_user_path():
    assert expand_user_path("/srv/home/{username}/work", "sam") == "/srv/home/sam/work"
    assert expand_user_path("/srv/scratch", "sam") == "/srv/scratch"


def test_visible_profiles_by_group():
    assert [p["slug"] for p in visible_profiles(PROFILES, [])] == ["small", "large"]
    assert [p["slug"] for p in visible_profiles(PROFILES, ["astro101"])] == ["small", "large", "class"]
    assert [p["slug"] for p in visible_profiles(PROFILES, ["other"])] == ["small", "large"]


def make_spawner(name, groups, options=None):
    spawner = AstroLocalSpawner(run_as_system_users=False, profiles=PROFILES, home_template="/h/{username}")
    spawner.user = SimpleNamespace(name=name, groups=[SimpleNamespace(name=g) for g in groups])
    spawner.user_options = options or {}
    return spawner


def test_spawner_profile_choice_respects_groups():
    student = make_spawner("sam", ["astro101"], {"profile": "class"})
    assert student.selected_profile()["mem_limit"] == "4G"
    outsider = make_spawner("olga", [], {"profile": "class"})
    with pytest.raises(ValueError, match="profile 'class' is not available to 'olga'"):
        outsider.selected_profile()
    assert make_spawner("olga", []).selected_profile()["slug"] == "small"


def test_a_class_pins_its_profile_over_the_choice_and_an_exam_raises_guarantees_to_limits():
    import time

    spawner = make_spawner("sam", [], {"profile": "large"})
    spawner.user.groups = [SimpleNamespace(name="astro-students", properties={"astrohub-profile": "class"})]
    assert spawner.selected_profile()["slug"] == "class" and _profile_form(spawner) == ""
    spawner.apply_profile()
    assert (spawner.mem_limit, spawner.cpu_limit, spawner.mem_guarantee) == (4 * 2**30, 2.0, None)
    assert spawner.environment["ASTROHUB_PROFILE"] == "class" and "ASTROHUB_EXAM" not in spawner.environment
    now = time.time()
    spawner.user.groups[0].properties["astrohub-exam"] = {"start": now - 10, "end": now + 10}
    spawner.apply_profile()
    assert (spawner.mem_guarantee, spawner.cpu_guarantee) == (4 * 2**30, 2.0)
    assert spawner.environment["ASTROHUB_EXAM"] == "1"
    # A closed window, a malformed one, or an unknown pinned slug change nothing.
    assert class_pins([("g", {"astrohub-exam": {"start": 0, "end": 1}})], now) == (None, False)
    assert class_pins([("g", {"astrohub-exam": {"start": "x"}})], now) == (None, False)
    ghost = make_spawner("sam", [], {"profile": "large"})
    ghost.user.groups = [SimpleNamespace(name="c-students", properties={"astrohub-profile": "gone"})]
    assert ghost.selected_profile()["slug"] == "large"


def test_profile_form_lists_only_visible_profiles_escaped():
    form = _profile_form(make_spawner("sam", ["astro101"]))
    assert form.count('type="radio"') == 3
    assert "Class &lt;b&gt;" in form
    assert 'value="small" checked' in form
    assert "class" not in _profile_form(make_spawner("olga", [])).replace("Class", "")
    assert make_spawner("x", []).options_from_form({"profile": ["large"]}) == {"profile": "large"}


def test_spawner_environment_as_invoking_user(tmp_path):
    spawner = make_spawner("sam", [])
    spawner.home_template = str(tmp_path / "home" / "{username}")
    env = spawner.user_env({})
    assert env["HOME"] == str(tmp_path / "home" / "sam")
    assert spawner.system_user  # the invoking user's name


def test_user_servers_find_the_platform_python_first(tmp_path):
    # issue 16: the JupyterLab terminal ran a Python without platform_lib and had no `astrohub`
    import sys

    spawner = make_spawner("sam", [])
    env = spawner.user_env({"PATH": "/usr/bin:/bin", "ASTROHUB_PACKAGE_LAYER": "/h/sam/.astrohub/packages"})
    entries = env["PATH"].split(":")
    # mend19: the terminal's pip folder is the server extension's to put on PATH (astrohub_server.pipmagic)
    assert entries == ["/h/sam/.astrohub/packages/bin", os.path.dirname(sys.executable), "/usr/bin", "/bin"]
    assert user_path("/a:/v/bin:/b", None, "/v/bin/python") == "/v/bin:/a:/b"  # no duplicate


def test_terminal_is_a_non_login_shell_that_keeps_path():
    # a login shell reads /etc/profile, which resets PATH to the system's
    from jupyter_server.serverapp import ServerApp

    args = make_spawner("sam", []).get_args()
    app = ServerApp()
    app.parse_command_line([a for a in args if a.startswith("--ServerApp.terminado_settings")])
    assert app.terminado_settings == {"shell_command": "/bin/bash"}


def test_the_server_serves_the_users_home_by_name_not_its_working_folder():
    # JupyterHub's setuid step enters the home, and when it cannot it falls back to a parent or a temporary
    # folder: a server rooted in its working folder then showed and saved there (a home without its tutorials,
    # "Permission denied" on every save). Named, the server serves the home or refuses to start.
    from jupyter_server.serverapp import ServerApp

    args = make_spawner("sam", []).get_args()
    assert "--ServerApp.root_dir=/h/sam" in args
    with pytest.raises(SystemExit):  # no such folder: the server refuses to start, it serves nothing else
        ServerApp().parse_command_line([a for a in args if a.startswith("--ServerApp.root_dir")])
    chosen = make_spawner("sam", [])
    chosen.notebook_dir = "/srv/shared"
    assert not any(a.startswith("--ServerApp.root_dir") for a in chosen.get_args())


def test_jupyterlab_reaches_for_nothing_online():
    # issue 16: JupyterLab's news prompt, update check and PyPI extension listing need the internet
    import json
    from pathlib import Path

    from jupyterlab.labapp import LabApp

    args = make_spawner("sam", []).get_args()
    app = LabApp()
    app.parse_command_line([a for a in args if a.startswith("--LabApp.")])
    assert app.news_url is None and app.extension_manager == "readonly"
    assert app.check_for_updates_class.__name__ == "NeverCheckForUpdate"
    # the user image gets the same from the astrohub_server package's jupyter_server_config.d file
    import astrohub_server

    shipped = Path(astrohub_server.__file__).parents[1] / "jupyter-config" / "astrohub_server.json"
    lab = json.loads(shipped.read_text())["LabApp"]
    assert lab == {"news_url": None, "extension_manager": "readonly",
                   "check_for_updates_class": "jupyterlab.handlers.announcements.NeverCheckForUpdate"}


def test_prepare_user_dirs_private(tmp_path):
    home, scratch = tmp_path / "home" / "sam", tmp_path / "scratch" / "sam"
    prepare_user_dirs(str(home), str(scratch), None)
    prepare_user_dirs(str(home), str(scratch), None)  # idempotent
    assert home.is_dir() and scratch.is_dir()
    assert home.stat().st_mode & 0o777 == 0o700
    assert scratch.stat().st_mode & 0o777 == 0o700


@pytest.fixture()
def open_tmp():
    """A temporary folder every user can pass through (pytest's own is root's, mode 0700)."""
    import shutil
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(prefix="astrohub-home-check-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: the check runs a process as another user")
def test_a_home_its_user_cannot_enter_is_set_right_again_or_refused_naming_it(open_tmp):
    import pwd

    nobody = pwd.getpwnam("nobody")
    home = open_tmp / "home" / "sam"
    prepare_user_dirs(str(home), None, None)  # root's, mode 0700: nobody cannot enter
    assert home_problem(str(home), nobody) == "cannot enter it: Permission denied"
    spawner = make_spawner("sam", [])
    spawner.home_template = str(open_tmp / "home" / "{username}")
    spawner.check_home(nobody)  # owner and mode set again: nobody's now
    assert home.stat().st_uid == nobody.pw_uid and home_problem(str(home), nobody) is None
    (open_tmp / "home").chmod(0o700)  # a folder above that nobody cannot pass: not the home's to fix
    with pytest.raises(HubError, match=f"nobody cannot enter or write its home {home} .cannot enter it: Permission"
                                       ) as refused:
        spawner.check_home(nobody)
    assert refused.value.code == "home-unusable"


def test_apply_user_options_hook_checks_profile_and_keys():
    spawner = make_spawner("sam", ["astro101"])
    hook = spawner.apply_user_options
    spawner.user_options = {"profile": "class"}
    hook(spawner, spawner.user_options)
    assert spawner.mem_limit == 4 * 2**30
    assert spawner.cpu_limit == 2.0
    # HTTP 400s with the reason: JupyterHub turns any other exception of the hook into "Invalid user options"
    from tornado import web

    with pytest.raises(web.HTTPError, match="unknown server options \\['image'\\]") as refused:
        hook(spawner, {"profile": "class", "image": "evil"})
    assert refused.value.status_code == 400
    outsider = make_spawner("olga", [], {"profile": "class"})
    with pytest.raises(web.HTTPError, match="profile 'class' is not available to 'olga'; choose one of"):
        outsider.apply_user_options(outsider, outsider.user_options)


def test_no_profiles_means_no_form_and_no_limits():
    spawner = make_spawner("sam", [])
    spawner.profiles = []
    assert spawner.selected_profile() is None
    assert _profile_form(spawner) == ""


def test_jupyterlab_finds_the_platforms_lab_extensions():
    # issue 19: the pre-cull warning in Lab; qa7b: the platform's help; an editable install skips data-files,
    # so the spawner says where
    import tomllib
    from pathlib import Path

    from jupyterlab.labapp import LabApp
    from jupyterlab_server.config import get_federated_extensions

    args = make_spawner("sam", []).get_args()
    app = LabApp()
    app.parse_command_line([a for a in args if a.startswith("--LabApp.")])
    found = get_federated_extensions(app.extra_labextensions_path)
    # lab16: one extension of several plugins (each a file its entry imports), where there were five
    assert sorted(found) == ["astrohub"]
    for ext in found.values():
        entry = Path(ext["ext_path"]) / ext["jupyterlab"]["_build"]["load"]
        assert entry.is_file()
        # its entry imports each plugin's file beside it: a file the entry does not name would never load
        named = re.search(r"var PLUGINS = \[(.*?)\];", entry.read_text(), re.S).group(1)
        assert sorted(re.findall(r'"([\w.-]+\.js)"', named)) == sorted(
            p.name for p in entry.parent.glob("*.js") if p != entry)
        # a plugin's settings (the help's Help menu entries) are its schema, schemas/<extension>/<name>.json, found
        # by its id <extension>:<name> (jupyterlab_server); a schema elsewhere breaks Lab's listing of settings
        for schema in Path(ext["ext_path"]).glob("schemas/**/*.json"):
            assert schema.parent.name == ext["name"], schema
            assert any(f'id: "{ext["name"]}:{schema.stem}"' in js.read_text() for js in entry.parent.glob("*.js"))
        # a wheel (the user image) installs every file of it into share/jupyter/labextensions instead
        server = Path(ext["ext_dir"]).parents[1]
        data_files = tomllib.loads((server / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
        shipped = {f for target, files in data_files.items() if "labextensions" in target for f in files}
        present = {str(p.relative_to(server)) for p in Path(ext["ext_path"]).rglob("*") if p.is_file()}
        assert present <= shipped, present - shipped
        for target, files in data_files.items():  # each file lands where Lab looks (schemas/<name>/<plugin>.json)
            if "labextensions" in target:
                where = Path(target).relative_to("share/jupyter/labextensions")
                assert all(Path(f).parent == "astrohub_server/labextension" / where for f in files), (target, files)


def test_the_help_menu_names_the_tutorials_as_their_notebooks_do():
    # qa7b: the Help menu's entries (astrohub:help's schema) open tutorials/<name>, titled as the notebook is
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    schema = json.loads((root / "extensions/server/astrohub_server/labextension/astrohub/schemas"
                         "/astrohub/help.json").read_text())
    [help_menu] = schema["jupyter.lab.menus"]["main"]
    submenus = {i["submenu"]["id"]: i["submenu"] for i in help_menu["items"] if i.get("type") == "submenu"}
    submenu = submenus["astrohub-tutorials"]
    entries = [i["args"] for i in help_menu["items"] + submenu["items"] if i.get("command") == "astrohub:open-tutorial"]
    titles = {}
    for notebook in (root / "examples").glob("*.ipynb"):
        first = "".join(json.loads(notebook.read_text())["cells"][0]["source"]).splitlines()[0]
        titles[f"tutorials/{notebook.name}"] = first.lstrip("# ").strip()
    assert {e["args"]["path"] for e in submenu["items"] if "args" in e} | {"tutorials/getting-started.ipynb"} == set(titles)
    # every tutorial is opened by the extension's command (a renamed command left no entry, and no label checked)
    assert {e["path"] for e in entries} == set(titles), entries
    for entry in entries:
        assert entry["label"] == titles[entry["path"]], entry
    # first11: the guides (docs/, copied into tutorials/guides/ by astrohub_server.tutorials), opened rendered
    guides = [i["args"] for i in submenus["astrohub-guides"]["items"]]
    assert {"tutorials/guides/storage.md", "tutorials/guides/crossmatch.md"} <= {g["path"] for g in guides}
    for guide in guides:
        page = root / "docs" / guide["path"].removeprefix("tutorials/guides/")
        assert guide["label"] == page.read_text().splitlines()[0].lstrip("# ").replace("`", ""), guide
        assert guide["factory"] == "Markdown Preview", guide
    assert "http" not in json.dumps(schema)


def test_user_servers_skip_unused_server_extensions():
    args = make_spawner("sam", []).get_args()
    assert "--ServerApp.jpserver_extensions=jupyter_lsp=False" in args
    assert "--ServerApp.jpserver_extensions=notebook_shim=False" in args
    # astrohub_server: one warm kernel, and the Dask sidebar's routes instead of dask_labextension's loader
    assert "--ServerApp.jpserver_extensions=astrohub_server=True" in args
    assert "--ServerApp.jpserver_extensions=dask_labextension=False" in args
    assert "--WarmKernels.count=1" in args
    # Jupyter server reads them as explicit entries, which win over jupyter_server_config.d.
    from jupyter_server.serverapp import ServerApp

    app = ServerApp()
    app.parse_command_line([a for a in args if a.startswith("--ServerApp.jpserver_extensions")])
    app.find_server_extensions()
    assert app.jpserver_extensions["jupyter_lsp"] is False
    assert app.jpserver_extensions["dask_labextension"] is False
    assert app.jpserver_extensions["astrohub_server"] is True


@pytest.mark.parametrize(("warm", "lazy"), [(0, True), (2, False), (0, False)])
def test_warm_kernels_and_the_lazy_sidebar_are_settings(warm, lazy):
    spawner = make_spawner("sam", [])
    spawner.warm_kernels, spawner.lazy_dask_sidebar = warm, lazy
    args = spawner.get_args()
    assert ("--ServerApp.jpserver_extensions=astrohub_server=True" in args) == bool(warm or lazy)
    assert ("--ServerApp.jpserver_extensions=dask_labextension=False" in args) == lazy
    assert [a for a in args if a.startswith("--WarmKernels")] == ([f"--WarmKernels.count={warm}"] if warm or lazy else [])
    prelaunch = "from astrohub_server.kernels import prelaunch"
    assert (prelaunch in singleuser_command(prelaunch_kernel=bool(warm))[2]) == bool(warm)


@pytest.mark.parametrize(("system_users", "policy"), [(True, "required"), (False, "disabled")])
def test_kernels_of_system_users_encrypt_their_zeromq_traffic(system_users, policy):
    """Servers run as system users: every kernel, the prelaunched warm one too, uses CurveZMQ (its iopub port is
    a TCP port any local account could otherwise subscribe to)."""
    spawner = AstroLocalSpawner(run_as_system_users=system_users, profiles=PROFILES, home_template="/h/{username}")
    spawner.user = SimpleNamespace(name="sam", groups=[])
    spawner.user_options = {}
    assert f"--KernelManager.transport_encryption={policy}" in spawner.get_args()
    assert f"prelaunch(transport_encryption={policy!r})" in spawner.cmd[2]


def _waiting_spawner(proc, http_timeout=5):
    spawner = make_spawner("sam", [])
    spawner.proc = proc
    spawner.http_timeout = http_timeout
    spawner.ready_poll_interval = 0.01
    return spawner


def test_start_returns_once_the_server_listens():
    import asyncio
    import socket
    import threading

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        port = server.getsockname()[1]
        # Listen only after the spawner has started polling: it must keep trying, then succeed.
        timer = threading.Timer(0.2, server.listen)
        timer.start()
        try:
            assert asyncio.run(_waiting_spawner(None).wait_listening("127.0.0.1", port)) is True
        finally:
            timer.cancel()


def test_start_fails_at_once_when_the_server_exits():
    import asyncio
    import subprocess
    import sys

    from platform_lib.local.ports import free_ports

    (port,) = free_ports(1)
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    try:
        with pytest.raises(RuntimeError, match="'sam' exited with status 3 while starting"):
            asyncio.run(_waiting_spawner(proc, http_timeout=60).wait_listening("127.0.0.1", port))
    finally:
        proc.wait(10)


def test_start_leaves_a_slow_server_to_the_hub():
    import asyncio

    from platform_lib.local.ports import free_ports

    (port,) = free_ports(1)
    assert asyncio.run(_waiting_spawner(None, http_timeout=1).wait_listening("127.0.0.1", port)) is False


def test_user_server_command_hides_slow_imports_and_still_validates(tmp_path):
    """The default command runs jupyterhub-singleuser's main with rfc3987_syntax hidden.

    A stand-in entry point checks, in a real child process, that jsonschema (what jupyter-events
    uses) imports and validates with the module hidden, and that the module was never loaded.
    """
    import subprocess
    import sys

    from astrohub_hub.local import SKIPPED_SERVER_IMPORTS, singleuser_command

    spawner = make_spawner("sam", [])
    assert spawner.cmd == singleuser_command(sys.executable, ["rfc3987_syntax"], prelaunch_kernel=True)
    assert "from jupyterhub.singleuser import main" in spawner.cmd[2]
    assert SKIPPED_SERVER_IMPORTS == ("rfc3987_syntax",)
    (tmp_path / "probe.py").write_text(
        "import sys\n"
        "def main():\n"
        "    import jsonschema\n"
        "    jsonschema.validate({'a': 1}, {'properties': {'a': {'type': 'integer'}}},\n"
        "                        format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)\n"
        "    print(sys.argv[0], sys.modules.get('rfc3987_syntax', 'absent'))\n"
        "    return 7\n"
    )
    result = subprocess.run(
        singleuser_command(sys.executable, SKIPPED_SERVER_IMPORTS, entry="probe:main"),
        capture_output=True, text=True, timeout=60, cwd=tmp_path, env={"PYTHONPATH": str(tmp_path)},
    )
    assert result.returncode == 7, result.stderr
    assert result.stdout.split() == ["jupyterhub-singleuser", "None"]


def test_a_user_server_imports_jupyterlab_without_running_node(tmp_path):
    """JupyterLab ran ``node yarn.js config`` as it was imported, for an npm registry a user server never uses (0.5 to
    1 s of every start where node is on the PATH). The server's command answers it with an empty yarn configuration:
    in a real child process with a ``node`` on the PATH that records each run, importing jupyterlab.labapp (which
    reads the app's version, and so the registry) runs no node, and the registry is yarn's default."""
    import subprocess
    import sys

    from astrohub_hub.local import SKIPPED_SERVER_IMPORTS, singleuser_command

    bin_dir, ran = tmp_path / "bin", tmp_path / "node-ran"
    bin_dir.mkdir()
    (bin_dir / "node").write_text(f"#!/bin/sh\necho \"$@\" >> {ran}\nexit 1\n")
    (bin_dir / "node").chmod(0o755)
    (tmp_path / "probe.py").write_text(
        "def main():\n"
        "    import jupyterlab.labapp\n"
        "    from jupyterlab.commands import AppOptions\n"
        "    print(jupyterlab.labapp.app_version, AppOptions().registry)\n"
        "    return 7\n"
    )
    result = subprocess.run(
        singleuser_command(sys.executable, SKIPPED_SERVER_IMPORTS, entry="probe:main"),
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode == 7, result.stderr
    assert not ran.exists(), ran.read_text()
    assert result.stdout.split()[1] == "https://registry.yarnpkg.com", result.stdout


def test_a_stop_checks_the_process_every_death_poll_interval_not_with_a_growing_back_off(monkeypatch):
    """Each stop step waits for the process to exit checking every ``death_poll_interval``: JupyterHub's exponential
    back-off with jitter (0.1 s doubling to 5 s) found a process that had exited up to seconds late. The waits
    between checks are recorded, not slept; the process is seen gone at the 12th check."""
    import asyncio

    spawner = make_spawner("ann", [])
    spawner.death_poll_interval = 0.05
    checks, waits = [], []

    async def poll():
        checks.append(1)
        return 0 if len(checks) >= 12 else None

    async def sleep(seconds, *args):
        waits.append(seconds)

    spawner.poll = poll
    monkeypatch.setattr(asyncio, "sleep", sleep)
    assert asyncio.run(spawner.wait_for_death(timeout=10)) is True
    assert len(checks) == 12 and waits == [0.05] * 11, waits


def test_useradd_is_retried_while_the_password_file_is_locked(tmp_path, monkeypatch):
    """Several hubs (or a userdel) on one machine: useradd fails with 'cannot lock /etc/passwd'."""
    import pwd as pwd_module

    from astrohub_hub import accounts

    calls = tmp_path / "calls"
    fake = tmp_path / "bin" / "useradd"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\necho x >> {calls}\n"
                    f"[ $(wc -l < {calls}) -lt 3 ] && echo 'useradd: cannot lock /etc/passwd; try again later.' >&2 "
                    "&& exit 1\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:/usr/bin:/bin")
    made = pwd_module.getpwnam("nobody")
    lookups = iter([KeyError("nobody2"), made])

    def getpwnam(name):
        value = next(lookups)
        if isinstance(value, Exception):
            raise value
        return value

    monkeypatch.setattr(accounts.pwd, "getpwnam", getpwnam)
    monkeypatch.setattr(accounts.time, "sleep", lambda s: None)
    assert accounts.ensure_system_user("nobody2", str(tmp_path / "home" / "nobody2")) is made
    assert calls.read_text().count("x") == 3


def test_collaboration_is_installed_off_and_on_only_for_a_sharer_who_turned_it_on(tmp_path):
    """jupyter-collaboration is off by default; on (with a per-start session record) for a collaborating sharer."""
    plain = make_spawner("sam", ["ws-m31"])
    args = plain.get_args()
    assert "--YDocExtension.disable_rtc=True" in args and COLLABORATIVE_ENV not in plain.user_env({})
    # The group property lists another sharer: not this user's server.
    plain.user.groups = [SimpleNamespace(name="ws-m31", properties={COLLABORATIVE_PROPERTY: ["ann"]})]
    assert "--YDocExtension.disable_rtc=True" in plain.get_args()
    sharer = make_spawner("ann", [])
    sharer.user.groups = [SimpleNamespace(name="ws-m31", properties={COLLABORATIVE_PROPERTY: ["ann"]})]
    first, second = sharer.get_args(), sharer.get_args()
    assert "--YDocExtension.disable_rtc=False" in first and "--YDocExtension.disable_rtc=True" not in first
    assert "--YDocExtension.ystore_class=jupyter_server_ydoc.stores.TempFileYStore" in first
    stores = [[a for a in args if a.startswith("--YDocExtension.session_store_path=")] for args in (first, second)]
    assert len(stores[0]) == 1 and stores[0] != stores[1]  # each start knows only its own session
    assert sharer.user_env({})[COLLABORATIVE_ENV] == "1"
    assert not collaborative("ann", [("ws-m31", {COLLABORATIVE_PROPERTY: "ann"})])  # malformed: off


def test_a_collaborative_servers_state_folder_is_removed_once_it_is_gone(tmp_path):
    """The state folder its arguments name (session record, documents' history) is the spawner's to remove after
    the server stopped, also after a hub restart (kept in the hub's state); the server's own extension makes it
    private and puts the history there, and a folder the hub did not name is not touched."""
    from astrohub_server.collaboration import state_folder_of

    sharer = make_spawner("ann", [])
    sharer.user.groups = [SimpleNamespace(name="ws-m31", properties={COLLABORATIVE_PROPERTY: ["ann"]})]
    args = sharer.get_args()
    folder = sharer.collaboration_folder
    store = next(a.split("=", 1)[1] for a in args if a.startswith("--YDocExtension.session_store_path="))
    assert folder and state_folder_of(store) == folder and store.startswith("/tmp/astrohub-collaboration-")
    assert state_folder_of("/tmp/sessions.json") is None  # never /tmp itself
    ours = tmp_path / "astrohub-collaboration-ab12"
    (ours / "documents").mkdir(parents=True)
    (ours / "documents" / ".notebook:x.y").write_bytes(b"history")
    after_restart = make_spawner("ann", [])
    after_restart.load_state({**sharer.get_state(), "collaboration_folder": str(ours)})
    assert after_restart.get_state()["collaboration_folder"] == str(ours)
    after_restart.remove_collaboration_state()
    assert not ours.exists() and after_restart.collaboration_folder is None
    after_restart.remove_collaboration_state()  # nothing left: nothing to do
    plain = make_spawner("sam", [])
    plain.get_args()
    assert plain.collaboration_folder is None and "collaboration_folder" not in plain.get_state()


def test_a_collaborative_server_that_cannot_exit_is_killed_after_its_clean_stop_not_after_the_hubs_minute(tmp_path):
    """A collaborative server never exits by itself once a document was open (jupyter-collaboration issue 161): it
    stops its kernels and rooms at SIGINT, then hangs. The spawner kills it ``collaborative_stop_timeout`` after the
    SIGINT instead of waiting out the hub's SIGINT and SIGTERM timeouts (30 s each, 600 s here: the old stop hangs
    past the guard), and removes its state folder. A process that ignores both signals stands in for the server."""
    import asyncio
    import signal
    import subprocess
    import sys

    sharer = make_spawner("ann", [], {})
    sharer.interrupt_timeout = sharer.term_timeout = 600
    sharer.collaborative_stop_timeout = 0.5
    (tmp_path / "astrohub-collaboration-ab12").mkdir()
    sharer.collaboration_folder = str(tmp_path / "astrohub-collaboration-ab12")
    hung = subprocess.Popen([sys.executable, "-c", "import signal, sys, time\n"
                             "for s in (signal.SIGINT, signal.SIGTERM): signal.signal(s, signal.SIG_IGN)\n"
                             "print('ready', flush=True)\ntime.sleep(600)"], stdout=subprocess.PIPE, text=True)
    try:
        assert hung.stdout.readline() == "ready\n"
        sharer.proc, sharer.pid = hung, hung.pid
        asyncio.run(asyncio.wait_for(sharer.stop(), 60))  # the limit only guards against the old hang
        assert hung.poll() == -signal.SIGKILL
        assert not (tmp_path / "astrohub-collaboration-ab12").exists() and sharer.collaboration_folder is None
    finally:
        hung.kill()
        hung.wait()


def test_a_collaborative_server_stops_cleanly_at_the_hubs_sigint(tmp_path):
    """Loaded on a collaborative server, the extension makes the hub's SIGINT stop it as SIGTERM does (jupyter_server's
    ``_signal_stop``: kernels shut down, rooms closed); without a terminal SIGINT interrupted the event loop where it
    stood (the stop JupyterHub means, its ``_handle_sigint``, is installed only with a terminal)."""
    import logging
    import signal

    from astrohub_server import collaboration
    from jupyter_server_ydoc.stores import TempFileYStore

    folder = tmp_path / "astrohub-collaboration-ab12"  # pytest's, removed with the run's (a mkdtemp stayed in /tmp)
    folder.mkdir()
    app = SimpleNamespace(config={"YDocExtension": {"session_store_path": f"{folder}/sessions.json"}},
                          log=logging.getLogger("test"), _signal_stop=lambda sig, frame: None)
    before, base_dir = signal.getsignal(signal.SIGINT), TempFileYStore.base_dir
    try:
        collaboration._load_jupyter_server_extension(app)
        assert signal.getsignal(signal.SIGINT) == app._signal_stop
        assert TempFileYStore.base_dir == f"{folder}/documents"
    finally:
        signal.signal(signal.SIGINT, before)
        TempFileYStore.base_dir = base_dir


def test_collaboration_settings_are_real_traits_of_the_installed_extension():
    """Every --YDocExtension.* argument names a configurable trait of jupyter-server-ydoc (a typo would be ignored)."""
    from jupyter_server_ydoc.app import YDocExtension
    from traitlets.utils.importstring import import_item

    traits = YDocExtension.class_traits(config=True)
    on = server_args(True)
    for arg in on + server_args(False):
        if not arg.startswith("--YDocExtension."):
            continue
        key, _, value = arg.removeprefix("--YDocExtension.").partition("=")
        assert key in traits, key
        if key == "ystore_class":
            assert issubclass(import_item(value), traits[key].klass)
    # the extension that removes a collaborative server's history and session record when it stops
    (extension,) = [a for a in on if a.startswith("--ServerApp.jpserver_extensions=")]
    module, _, enabled = extension.split("=", 1)[1].partition("=")
    assert enabled == "True" and import_item(module)._jupyter_server_extension_points() == [{"module": module}]


def test_each_collaborative_start_rejects_the_sessions_of_earlier_starts(tmp_path):
    """A tab left open across a restart must reload, not merge old edits: jupyter-server-ydoc's own check, with
    the session record :func:`server_args` gives each start (the upstream default in the home accepts them)."""
    import asyncio

    from jupyter_server_ydoc.utils import check_session_compatibility, save_current_session

    def store(args):
        return next(a.split("=", 1)[1] for a in args if a.startswith("--YDocExtension.session_store_path="))

    first, second = store(server_args(True, str(tmp_path))), store(server_args(True, str(tmp_path)))
    root = tmp_path / "home"
    root.mkdir()
    for path in (first, None):  # the first start records its session (ours, and the default place)
        asyncio.run(save_current_session(str(root), "old-session", "5", asyncio.Lock(), session_store_path=path))
    assert check_session_compatibility(str(root), "old-session", "5", session_store_path=second) == (
        True, "unknown_session")
    assert check_session_compatibility(str(root), "old-session", "5", session_store_path=None) == (False, "")


def test_a_local_clusters_tls_keys_are_what_dask_reads_from_the_environment():
    """astrohub_hub.dasktls: the variables, parsed by dask itself, make every Security TLS with the one key pair."""
    import dask.config
    from distributed.security import Security

    from astrohub_hub.dasktls import local_cluster_tls_environment

    env = local_cluster_tls_environment()

    def dotted(tree, prefix=""):  # dask.config.set replaces a nested dict whole; set each key instead
        for key, value in tree.items():
            if isinstance(value, dict):
                yield from dotted(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}", value

    with dask.config.set(dict(dotted(dask.config.collect_env(env)))):
        security = Security()
        assert security.require_encryption is True
        assert security.tls_ca_file.startswith("-----BEGIN CERTIFICATE-----")
        assert security.tls_client_key.startswith("-----BEGIN PRIVATE KEY-----")
        assert security.get_listen_args("scheduler")["ssl_context"] is not None
    assert local_cluster_tls_environment()["DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY"] != env[
        "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY"]  # a new key at each server start


# --- the servers' ports (astrohub_hub.serverports) ---------------------------------------------------------------

#: A stand-in for jupyterhub-singleuser: listens on the port it is given, exits 1 when that port is taken (as Jupyter
#: Server does with JupyterHub's port_retries = 0).
_LISTENER = ("import socket, sys, time\n"
             "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
             "try:\n    s.bind(('127.0.0.1', int(sys.argv[1])))\nexcept OSError:\n    sys.exit(1)\n"
             "s.listen(); time.sleep(120)\n")


class _PortSpawner(AstroLocalSpawner):
    """A real AstroLocalSpawner whose server is :data:`_LISTENER` (no hub to build JupyterHub's environment from)."""

    def get_args(self):
        return [str(self.port)]

    def get_env(self):
        return {"PATH": os.environ["PATH"]}

    def make_preexec_fn(self, name):
        # None: the child runs no Python between fork and exec, which in this many-threaded test process
        # (other tests' Dask, numba and pyarrow threads) can crash it (SIGSEGV) before the server runs
        return None


def _port_spawner(tmp_path, **traits):
    import sys

    traits = {"cmd": [sys.executable, "-c", _LISTENER], **traits}
    spawner = _PortSpawner(run_as_system_users=False, home_template=str(tmp_path / "{username}"),
                           ready_poll_interval=0.01, http_timeout=30, kill_timeout=5, death_poll_interval=0.01,
                           **traits)
    spawner.user = SimpleNamespace(name="sam", groups=[])
    spawner.user_options = {}
    return spawner


def _listening(port):
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    sock.listen()
    return sock


def test_a_server_port_is_free_outside_the_kernels_ports_and_given_to_one_server_at_a_time():
    from astrohub_hub.serverports import SERVER_PORTS, give_back, take_port

    from platform_lib.local.ports import FREE_PORT_RANGE, _ephemeral_ports

    low, high = SERVER_PORTS
    assert high < FREE_PORT_RANGE.start and high < _ephemeral_ports().start
    first = take_port("127.0.0.1")
    try:
        assert low <= first <= high
        # a port given to a running server, and one another program listens on, are not given out
        with _listening(first + 1 if first < high else first - 1) as other:
            taken = other.getsockname()[1]
            span = tuple(sorted((first, taken)))
            assert take_port("127.0.0.1", span) is None
            give_back(first)
            assert take_port("127.0.0.1", span) == first
    finally:
        give_back(first)


def test_a_server_whose_port_another_program_took_meanwhile_starts_on_another_port(tmp_path, monkeypatch):
    """The race behind a hub's 500 at a server's start: the port was free when taken, another program bound it
    before the server did, and the server exited. The start goes on with a new port."""
    import asyncio
    import socket

    import astrohub_hub.local as local

    grabbed = []

    def take_then_lose(ip, ports):
        port = local.take_port.__wrapped__(ip, ports)
        if not grabbed:  # an outgoing connection of another program gets it from the kernel before the server binds it
            sock = socket.socket()
            sock.bind(("127.0.0.1", port))
            grabbed.append(sock)
        return port

    take_then_lose.__wrapped__ = local.take_port
    monkeypatch.setattr(local, "take_port", take_then_lose)
    spawner = _port_spawner(tmp_path)
    try:
        ip, port = asyncio.run(spawner.start())
        assert port == spawner.port and port != grabbed[0].getsockname()[1]
        assert spawner.proc.poll() is None  # listening
    finally:
        asyncio.run(spawner.stop(now=True))
        for sock in grabbed:
            sock.close()
    assert spawner.port == 0  # given back at the stop


def test_a_server_killed_by_a_signal_before_it_listens_is_started_again(tmp_path):
    """A forked child can crash before the server runs (SIGSEGV, seen in CI); the start is tried again."""
    import asyncio
    import sys

    marker = tmp_path / "crashed-once"
    crash_once = (f"import os, pathlib, signal\nm = pathlib.Path({str(marker)!r})\n"
                  "if not m.exists():\n    m.touch(); os.kill(os.getpid(), signal.SIGKILL)\n" + _LISTENER)
    spawner = _port_spawner(tmp_path, cmd=[sys.executable, "-c", crash_once])
    try:
        ip, port = asyncio.run(spawner.start())
        assert marker.exists() and spawner.proc.poll() is None  # the second start listens
    finally:
        asyncio.run(spawner.stop(now=True))


def test_a_server_that_exits_for_another_reason_fails_at_once_and_gives_its_port_back(tmp_path):
    import asyncio
    import sys

    from astrohub_hub.local import ServerExited

    from astrohub_hub import serverports

    spawner = _port_spawner(tmp_path, cmd=[sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(ServerExited, match="'sam' exited with status 3 while starting"):
        asyncio.run(spawner.start())
    assert spawner.port == 0 and not serverports._GIVEN  # not retried on a free port, nothing held


def test_server_ports_must_be_a_range_of_unprivileged_ports():
    from traitlets import TraitError

    with pytest.raises(TraitError, match=r"server_ports \(20000, 10000\)"):
        AstroLocalSpawner(server_ports=(20000, 10000))
    assert AstroLocalSpawner(server_ports=(15000, 15009)).server_ports == (15000, 15009)
