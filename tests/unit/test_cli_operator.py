"""What ``astrohub`` tells an operator: the hub's real address, a wrong flag named by its sub-command,
``status`` not claiming health when the hub cannot list the services it starts, and ``archive serve``
handing every argument to the service.

Runs the real command (:func:`platform_lib.cli.main`) on a temporary data directory laid out as
``astrohub up`` leaves it (``state/up-config.json``, ``state/passwords.sqlite``); no servers.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from astrohub_hub.credentials import PasswordStore

from platform_lib.cli import build_parser, main
from platform_lib.local.config import load_config
from platform_lib.local import control
from platform_lib.local.layout import DataLayout
from platform_lib.local.ports import free_ports
from platform_lib.local.state import PlatformState


def test_reset_password_names_the_running_hubs_register_page(tmp_path, capsys) -> None:
    # The platform was started on port 8123, which the operator does not repeat on this command.
    running = load_config(overrides=[f'data_dir="{tmp_path}"', "hub.port=8123"], environ={})
    state = DataLayout(tmp_path).state
    state.mkdir(parents=True)
    (state / "up-config.json").write_text(running.model_dump_json())
    PasswordStore(state / "passwords.sqlite").set("bob", "a-long-password")

    assert main(["users", "reset-password", "Bob", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"http://{running.hub.ip}:8123/hub/register" in out, out
    assert "<hub>" not in out
    assert not PasswordStore(state / "passwords.sqlite").has("bob")


@pytest.mark.parametrize(
    ("argv", "prog", "bad"),
    [
        (["classes", "create", "astro101", "--users", "a,b"], "astrohub classes create", "--users a,b"),
        (["status", "--port", "8000"], "astrohub status", "--port 8000"),
        (["users", "reset-password", "bob", "--force"], "astrohub users reset-password", "--force"),
    ],
)
def test_a_wrong_flag_is_named_with_the_subcommands_usage(argv, prog, bad, capsys) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: {prog} "), err  # what this sub-command takes, not `astrohub [-h] COMMAND`
    assert f"{prog}: error: unrecognized arguments: {bad}" in err, err


def test_a_wrong_top_level_flag_keeps_the_top_level_usage(capsys) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--bogus", "status"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: astrohub [-h] COMMAND"), err
    assert "unrecognized arguments: --bogus" in err, err


def test_status_is_not_healthy_when_the_hub_cannot_list_its_services(tmp_path) -> None:
    # A platform whose supervisor says "ready" but whose hub does not answer (nothing on its port):
    # the services the hub starts (classes, group sync) cannot be known, and status must not say 0.
    (port,) = free_ports(1)
    config = load_config(overrides=[f'data_dir="{tmp_path}"', f"hub.port={port}"], environ={})
    state = PlatformState(DataLayout(tmp_path))
    state.acquire_lock()
    try:
        state.tokens()
        (state.layout.state / "up-config.json").write_text(config.model_dump_json())
        state.write_status({"pid": os.getpid(), "ready": True, "url": "", "components": {}})
        lines: list[str] = []
        assert control.status(config, echo=lines.append) == 1
    finally:
        state.release_lock()
    assert any(line.strip().startswith("services the hub runs: unknown") and str(port) in line
               for line in lines), lines


def test_archive_serve_passes_every_argument_to_the_service_flags_first() -> None:
    # `astrohub archive serve --index ...` ran into "unrecognized arguments" before the service saw them.
    args = build_parser().parse_args(["archive", "serve", "--index", "i.sqlite", "--port", "8010", "--help"])
    assert args.rest == ["--index", "i.sqlite", "--port", "8010", "--help"]


def test_quotas_are_set_and_shown_by_the_operator_and_bad_input_is_named(tmp_path, capsys) -> None:
    """group13: ``astrohub quotas set SPACE SIZE`` keeps the quota beside the space, where members cannot change it."""
    layout = DataLayout(tmp_path)
    (layout.groups_root / "lensing").mkdir(parents=True)
    (layout.home_root / "ann").mkdir(parents=True)
    assert main(["quotas", "show", "--data-dir", str(tmp_path)]) == 0  # none yet: said so (it printed nothing)
    assert capsys.readouterr() == ("", f"no quotas set on {tmp_path} (astrohub quotas set group/<name> 50GB)\n")
    assert main(["quotas", "set", "group/lensing", "50MB", "--data-dir", str(tmp_path)]) == 0
    assert main(["quotas", "set", "home/ann", "2GiB", "--data-dir", str(tmp_path)]) == 0
    assert (layout.groups_root / ".astrohub-quotas" / "lensing.json").read_text() == '{"bytes": 50000000}'
    assert os.stat(layout.groups_root / ".astrohub-quotas").st_mode & 0o777 == 0o711
    assert not list((layout.groups_root / "lensing").iterdir())  # nothing inside the members' folder
    capsys.readouterr()
    assert main(["quotas", "show", "--data-dir", str(tmp_path)]) == 0
    # classscore23: in the unit each reaches, as the hub's pages write them (it printed 2147483648); --bytes for scripts
    assert capsys.readouterr().out.splitlines() == ["home/ann\t2.1 GB", "group/lensing\t50.0 MB"]
    assert main(["quotas", "show", "--bytes", "--data-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines() == ["home/ann\t2147483648", "group/lensing\t50000000"]
    assert main(["quotas", "set", "group/lensing", "50MB", "--data-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "group/lensing: quota 50.0 MB (50,000,000 bytes)\n"
    for argv, said in ((["group/nope", "1GB"], "group/nope has no folder"),
                       (["lensing", "1GB"], "'lensing' names no space: give home/<user>"),
                       (["group/../state", "1GB"], "names no space"),
                       (["group/lensing", "lots"], "'lots' is not a size")):
        assert main(["quotas", "set", *argv, "--data-dir", str(tmp_path)]) == 2
        assert said in capsys.readouterr().err
    assert main(["quotas", "set", "group/lensing", "none", "--data-dir", str(tmp_path)]) == 0
    assert not (layout.groups_root / ".astrohub-quotas" / "lensing.json").exists()


@pytest.mark.parametrize("argv", [["status"], ["down"], ["users", "add", "--csv", "roster.csv"],
                                  ["users", "reset-password", "ann"], ["classes", "show"]])
def test_another_users_platform_is_one_line_naming_the_folder_and_its_owner(tmp_path, argv) -> None:
    """``astrohub status`` (``down``, ``users add``, ...) typed by a user other than the one who ran ``astrohub up``
    (a JupyterLab terminal on a root platform; an operator without sudo) met the 0700 ``state`` folder with a
    PermissionError traceback. It is one line naming the file, the folder, its owner and mode, and status 2.

    Runs the real command in a child process as another user: as ``nobody`` when the tests run as root, else as
    ourselves on a ``state`` folder made 0000 (the owner's own permission bits refuse the owner too)."""
    import shutil
    import subprocess
    import sys
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="astrohub-other-", dir="/tmp"))  # a folder every user may traverse
    try:
        root.chmod(0o755)
        state = DataLayout(root).state
        state.mkdir(mode=0o700)
        PlatformState(DataLayout(root)).tokens()
        (state / "up-config.json").write_text(load_config(overrides=[f'data_dir="{root}"'], environ={})
                                              .model_dump_json())
        (root / "roster.csv").write_text("username\nann\n")
        (root / "roster.csv").chmod(0o644)
        as_root = os.geteuid() == 0
        if not as_root:
            state.chmod(0)
        result = subprocess.run(
            [sys.executable, "-m", "platform_lib", *argv, "--data-dir", str(root)], cwd=root, capture_output=True,
            text=True, timeout=120, user=65534 if as_root else None, group=65534 if as_root else None,
            env={k: v for k, v in os.environ.items() if not k.startswith("PLATFORM_")} | {"HOME": str(root)},
        )
    finally:
        state.chmod(0o700)
        shutil.rmtree(root)
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr, result.stderr
    (line,) = result.stderr.strip().splitlines()
    owner = "root" if as_root else __import__("pwd").getpwuid(os.geteuid()).pw_name
    assert line.startswith(f"astrohub: error: permission denied: {state}/"), line
    assert f"(in {state}, {owner}'s, mode " in line and f"run astrohub as {owner}" in line, line


def _status_of_a_starting_platform(data: Path, toml: Path, monkeypatch) -> int:
    """`astrohub status --config toml` (no PLATFORM_ variables) while this process holds ``data``'s platform lock
    with a "starting" status, as a supervisor does; its exit status."""
    for name in [n for n in os.environ if n.startswith("PLATFORM_")]:
        monkeypatch.delenv(name)
    state = PlatformState(DataLayout(data))
    state.acquire_lock()
    try:
        state.write_status({"pid": os.getpid(), "ready": False, "url": "http://127.0.0.1:1/", "components": {}})
        return main(["status", "--config", str(toml)])
    finally:
        state.release_lock()


def test_down_and_status_reach_the_platform_past_a_mistake_elsewhere_in_astrohub_toml(tmp_path, capsys,
                                                                                    monkeypatch) -> None:
    """An operator edits astrohub.toml (a typo) before restarting: `astrohub down` and `status` refused with the
    config error and the running platform could not be stopped. They need only data_dir: they warn and go on;
    `up` still refuses."""
    data = tmp_path / "data"
    toml = tmp_path / "astrohub.toml"
    toml.write_text(f'data_dir = "{data}"\n[hub]\nport = 1\n[cull]\ntimout = 100\n')
    assert _status_of_a_starting_platform(data, toml, monkeypatch) == 1  # "starting": the platform was reached
    out, err = capsys.readouterr()
    assert f"supervisor pid {os.getpid()}" in out, out
    assert "warning: a mistake to fix before the next `astrohub up`" in err and "'cull.timeout'" in err, err
    assert main(["down", "--config", str(toml)]) == 2
    assert f"astrohub is not running on {data}" in capsys.readouterr().err
    # --data-dir and --set data_dir still win over the file, as for every command
    other = tmp_path / "other"
    assert main(["status", "--config", str(toml), "--set", f'data_dir="{other}"']) == 3
    assert f"not running on {other}" in capsys.readouterr().out
    assert main(["status", "--config", str(toml), "--data-dir", str(tmp_path / "third")]) == 3
    assert f"not running on {tmp_path / 'third'}" in capsys.readouterr().out
    assert main(["up", "--config", str(toml)]) == 2
    assert "unknown configuration key 'cull.timout'" in capsys.readouterr().err
    assert not (data / "state" / "up-config.json").exists()


def test_load_data_dir_follows_load_configs_precedence(tmp_path) -> None:
    from platform_lib.local.config import load_data_dir

    toml = tmp_path / "astrohub.toml"
    toml.write_text('data_dir = "rel"\n[hub]\nbogus = 1\n')
    assert load_data_dir(toml, environ={}) == tmp_path / "rel"
    environ = {"PLATFORM_DATA_DIR": "/srv/env", "PLATFORM_HUB_PORTT": "1"}
    assert load_data_dir(toml, environ=environ) == Path("/srv/env")
    assert load_data_dir(toml, environ=environ, overrides=['data_dir="/srv/set"']) == Path("/srv/set")
    good = tmp_path / "good.toml"
    good.write_text('data_dir = "rel"\n')
    assert load_data_dir(good, environ={}) == load_config(good, environ={}).data_dir


def test_down_and_status_reach_the_platform_past_a_toml_syntax_error(tmp_path, capsys, monkeypatch) -> None:
    """An operator breaks astrohub.toml (a TOML syntax error, not a mistyped key) while the platform runs: `status`
    and `down` refused with "cannot read configuration file", so the platform could be neither seen nor stopped.
    Now they warn naming the file, the line and the error, and act on the data directory: the file's own data_dir
    line when it parses, else --data-dir, PLATFORM_DATA_DIR or the default. `up` refuses with the same message."""
    data = tmp_path / "data"
    toml = tmp_path / "astrohub.toml"
    toml.write_text(f'data_dir = "{data}"\n[hub]\nport = 1\n[cull]\ntimeout_seconds == 100\n')
    assert _status_of_a_starting_platform(data, toml, monkeypatch) == 1  # through the file's own data_dir line
    out, err = capsys.readouterr()
    assert f"supervisor pid {os.getpid()}" in out, out
    assert f"configuration file {toml} is not valid TOML, line 5" in err and "'timeout_seconds == 100'" in err, err
    assert f"{data}, from the file {toml}" in err, err
    assert main(["down", "--config", str(toml)]) == 2
    assert f"astrohub is not running on {data}" in capsys.readouterr().err
    # the broken line is data_dir's own: --data-dir, then the environment, then the default
    toml.write_text('data_dir = "/srv/x\n')
    assert main(["status", "--config", str(toml), "--data-dir", str(tmp_path / "third")]) == 3
    out, err = capsys.readouterr()
    assert f"not running on {tmp_path / 'third'}" in out and "not valid TOML, line 1" in err, (out, err)
    monkeypatch.setenv("PLATFORM_DATA_DIR", str(tmp_path / "env"))
    assert main(["status", "--config", str(toml)]) == 3
    out, err = capsys.readouterr()
    assert f"not running on {tmp_path / 'env'}" in out and "from PLATFORM_DATA_DIR" in err, (out, err)
    toml.write_text(f'data_dir = "{data}"\n[hub\n')
    assert main(["up", "--config", str(toml)]) == 2
    err = capsys.readouterr().err
    assert f"astrohub: error: configuration file {toml} is not valid TOML, line 2, column 5 ('[hub'): Expected ']'" in err, err
    assert "Traceback" not in err and not (data / "state" / "up-config.json").exists()
