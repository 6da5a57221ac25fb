"""The ``astrohub-archive`` command: its comma-separated flags (``--trusted-proxy``, ``--upload-from``), read by one
argparse type (:func:`astrohub_archive.app.comma_list`), repeatable, and refused naming the value (or the
environment variable) when an item is empty or not what the flag takes; and what it imports before it listens."""

from __future__ import annotations

import pytest

from astrohub_archive.app import build_parser, main


def _usage_error(argv: list[str], capsys) -> str:
    """What ``astrohub-archive argv`` prints when it stops with a usage error (exit status 2)."""
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    return capsys.readouterr().err


def test_comma_lists_and_repeats_give_the_items(monkeypatch):
    monkeypatch.delenv("ASTROHUB_ARCHIVE_UPLOAD_FROM", raising=False)
    monkeypatch.setenv("ASTROHUB_ARCHIVE_TRUSTED_PROXY", "10.42.0.0/16,")  # the environment's empty items: skipped
    args = build_parser().parse_args(["--upload-from", "10.1.0.0/16, 192.0.2.7", "--upload-from", "::1",
                                      "--trusted-proxy", "uid:0"])
    assert args.upload_from == ["10.1.0.0/16", "192.0.2.7", "::1"]
    assert args.trusted_proxy == ["10.42.0.0/16", "uid:0"]



def test_mappings_come_from_the_flag_and_the_environment(monkeypatch):
    """The module says every flag may be given as ``ASTROHUB_ARCHIVE_<FLAG>``; ``--mappings`` was read from the
    command line only, so a deployment that sets the environment (as the chart does) lost its mappings."""
    from pathlib import Path

    monkeypatch.setenv("ASTROHUB_ARCHIVE_MAPPINGS", "/srv/mappings/keck, /srv/mappings/ours,")
    args = build_parser().parse_args(["--mappings", "/opt/more"])
    assert args.mappings == [Path("/srv/mappings/keck"), Path("/srv/mappings/ours"), Path("/opt/more")]
    monkeypatch.delenv("ASTROHUB_ARCHIVE_MAPPINGS")
    assert build_parser().parse_args([]).mappings == []

@pytest.mark.parametrize("argv, named", [
    (["--upload-from", "10.0.0.0/33"], "argument --upload-from: '10.0.0.0/33': give an address or a network"),
    (["--upload-from", "10.1.0.0/16,intranet"], "argument --upload-from: 'intranet': give an address or a network"),
    (["--trusted-proxy", "uid:root"], "argument --trusted-proxy: 'uid:root': the user id after 'uid:' must be a"),
    (["--trusted-proxy", "proxy.example"], "argument --trusted-proxy: 'proxy.example' is neither an address"),
])
def test_a_bad_item_is_a_usage_error_naming_it_as_the_flag_is_read(argv, named, capsys):
    """Before: the values were split and checked only in ``main`` after parsing, so ``build_parser`` (which the
    chart's tests read the environment with) took them, and the message was not argparse's ``argument ...:``."""
    with pytest.raises(SystemExit):
        build_parser().parse_args(argv)  # the parser itself refuses it, whatever else the command line holds
    assert named in capsys.readouterr().err
    assert named in _usage_error(argv, capsys)


@pytest.mark.parametrize("value", ["10.1.0.0/16,", ",10.1.0.0/16", "10.1.0.0/16,,192.0.2.7", ""])
def test_an_empty_item_is_a_usage_error_naming_the_value(value, capsys):
    """Before: an empty item was dropped without a word (``--upload-from 10.1.0.0/16,`` where a network was cut
    off, or ``--upload-from "$UNSET"``), and the archive started."""
    err = _usage_error(["--upload-from", value], capsys)
    assert f"argument --upload-from: {value!r} has an empty item" in err, err


@pytest.mark.parametrize("variable, value, named", [
    ("ASTROHUB_ARCHIVE_UPLOAD_FROM", "10.1.0.0/16,10.0.0.0/33",
     "ASTROHUB_ARCHIVE_UPLOAD_FROM='10.1.0.0/16,10.0.0.0/33': '10.0.0.0/33': give an address or a network"),
    ("ASTROHUB_ARCHIVE_TRUSTED_PROXY", "uid:root",
     "ASTROHUB_ARCHIVE_TRUSTED_PROXY='uid:root': 'uid:root': the user id after 'uid:' must be a"),
])
def test_a_bad_item_in_the_environment_is_a_usage_error_naming_the_variable(variable, value, named, monkeypatch,
                                                                            capsys):
    """The chart and `astrohub up` set the environment, not the flags: before, its bad item was reported as the
    flag's (``--upload-from '10.0.0.0/33': ...``), which the operator had never written."""
    monkeypatch.setenv(variable, value)
    err = _usage_error([], capsys)
    assert named in err, err
    assert "argument --" not in err


def test_astropy_is_imported_before_the_service_listens(tmp_path):
    """Before: a thread imported astropy's VOTable modules once the service listened, while the first requests
    imported them too; astropy's configuration items then could not find their module (``inspect.getmodule``
    is not thread-safe) and a request answered 503 "Cannot automatically determine get_config module" (seen in
    CI on a TAP error answer). In a fresh interpreter, what the archive imported when it makes its app:"""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "import astrohub_archive.app as app\n"
        "def make_app(state):\n"
        "    print(sorted(m for m in ('astropy.io.votable.tree', 'astropy.table', 'astropy.time') if m in sys.modules))\n"
        "    raise SystemExit(0)\n"
        "app.make_app = make_app\n"
        f"app.main(['--index', {str(tmp_path / 'index.sqlite')!r}, '--data-root', {str(tmp_path)!r}, "
        "'--update-every', '0'])\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['astropy.io.votable.tree', 'astropy.table', 'astropy.time']", out.stdout


def test_the_rest_expiry_is_a_setting_in_seconds_refused_below_its_floor(monkeypatch, capsys):
    """``--hips-rest-expiry`` (``ASTROHUB_ARCHIVE_HIPS_REST_EXPIRY``): how long a HiPS's first part waits for word of
    its rest; before, the 600 s were a constant no operator could change."""
    from astrohub_archive.userhips import REST_STALE

    monkeypatch.delenv("ASTROHUB_ARCHIVE_HIPS_REST_EXPIRY", raising=False)
    assert build_parser().parse_args([]).hips_rest_expiry == REST_STALE == 600
    assert build_parser().parse_args(["--hips-rest-expiry", "1800"]).hips_rest_expiry == 1800
    monkeypatch.setenv("ASTROHUB_ARCHIVE_HIPS_REST_EXPIRY", "90")
    assert build_parser().parse_args([]).hips_rest_expiry == 90
    for bad in ("5", "-1", "nan", "inf", "ten"):
        err = _usage_error(["--hips-rest-expiry", bad], capsys)
        assert f"argument --hips-rest-expiry: {bad!r}: give the seconds" in err and "at least 20" in err, err
    monkeypatch.setenv("ASTROHUB_ARCHIVE_HIPS_REST_EXPIRY", "5")
    assert "ASTROHUB_ARCHIVE_HIPS_REST_EXPIRY" in _usage_error([], capsys)


def test_the_group_recheck_is_a_setting_in_seconds_refused_naming_where_it_is_set(monkeypatch, capsys):
    """``--group-recheck-seconds`` (``ASTROHUB_ARCHIVE_GROUP_RECHECK_SECONDS``, which the chart and astrohub.toml now
    set): how long the hub's answers are kept. A bad value was argparse's "invalid float value" (a negative one the
    Authenticator's error after parsing), naming neither the variable nor the settings that set it."""
    monkeypatch.delenv("ASTROHUB_ARCHIVE_GROUP_RECHECK_SECONDS", raising=False)
    assert build_parser().parse_args([]).group_recheck_seconds is None  # the Authenticator's default, 5
    assert build_parser().parse_args(["--group-recheck-seconds", "0"]).group_recheck_seconds == 0
    monkeypatch.setenv("ASTROHUB_ARCHIVE_GROUP_RECHECK_SECONDS", "2.5")
    assert build_parser().parse_args([]).group_recheck_seconds == 2.5
    for bad in ("-1", "nan", "inf", "five"):
        err = _usage_error(["--group-recheck-seconds", bad], capsys)
        assert f"argument --group-recheck-seconds: {bad!r}: give the seconds" in err and "0 or more" in err, err
        assert "archive.groupRecheckSeconds" in err and "archive.group_recheck" in err, err
    monkeypatch.setenv("ASTROHUB_ARCHIVE_GROUP_RECHECK_SECONDS", "-5")
    assert "ASTROHUB_ARCHIVE_GROUP_RECHECK_SECONDS" in _usage_error([], capsys)


def test_the_hub_down_grace_is_a_setting_in_seconds_refused_naming_where_it_is_set(monkeypatch, capsys):
    """archive26: how long the hub's last answer about a token stands while the hub cannot be asked was the constant
    60 s, which a hub pod rescheduled on Kubernetes (minutes) outlasts. ``--hub-down-grace-seconds``
    (``ASTROHUB_ARCHIVE_HUB_DOWN_GRACE_SECONDS``, which the chart and astrohub.toml set) reaches the Authenticator;
    a bad value is refused naming the variable and the settings that set it."""
    from astrohub_archive.auth import HUB_DOWN_GRACE, Authenticator

    monkeypatch.delenv("ASTROHUB_ARCHIVE_HUB_DOWN_GRACE_SECONDS", raising=False)
    assert build_parser().parse_args([]).hub_down_grace_seconds is None  # the Authenticator's default
    assert Authenticator.create(None, None, False).hub_down_grace == HUB_DOWN_GRACE == 60
    assert build_parser().parse_args(["--hub-down-grace-seconds", "0"]).hub_down_grace_seconds == 0
    monkeypatch.setenv("ASTROHUB_ARCHIVE_HUB_DOWN_GRACE_SECONDS", "300")
    seconds = build_parser().parse_args([]).hub_down_grace_seconds
    assert seconds == 300 and Authenticator.create(None, None, False, None, seconds).hub_down_grace == 300
    for bad in ("-1", "nan", "inf", "a minute"):
        err = _usage_error(["--hub-down-grace-seconds", bad], capsys)
        assert f"argument --hub-down-grace-seconds: {bad!r}: give the seconds" in err and "0 or more" in err, err
        assert "archive.hubDownGraceSeconds" in err and "archive.hub_down_grace" in err, err
    monkeypatch.setenv("ASTROHUB_ARCHIVE_HUB_DOWN_GRACE_SECONDS", "-5")
    assert "ASTROHUB_ARCHIVE_HUB_DOWN_GRACE_SECONDS" in _usage_error([], capsys)
    with pytest.raises(ValueError, match="--hub-down-grace-seconds -1.0: give seconds, 0 or more"):
        Authenticator.create(None, None, False, None, -1.0)
