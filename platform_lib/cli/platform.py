"""``astrohub up`` / ``down`` / ``status``: the local platform commands.

Owns argument parsing for these commands; the work is in :mod:`platform_lib.local.control`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

__all__ = ["register", "config_from_args", "add_config_arguments"]


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--config``, ``--data-dir`` and ``--set`` (read by :func:`config_from_args`) to a subcommand's
    ``parser``; every ``astrohub`` subcommand that reads the configuration takes them."""
    parser.add_argument("--config", "-c", metavar="FILE", help="the TOML configuration (default ./astrohub.toml)")
    parser.add_argument("--data-dir", metavar="DIR", help="the data directory (config key data_dir)")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a configuration key, e.g. --set hub.port=8001 (repeatable)",
    )


def config_from_args(args: argparse.Namespace):
    """The validated :class:`~platform_lib.local.LocalConfig` from the command's arguments."""
    from platform_lib.local.config import LocalConfig, load_config

    if getattr(args, "config_json", None):
        return LocalConfig.model_validate_json(Path(args.config_json).read_text())
    overrides = list(args.overrides)
    if args.data_dir:
        overrides.append(f"data_dir={_quote(os.path.abspath(args.data_dir))}")
    if getattr(args, "port", None) is not None:
        overrides.append(f"hub.port={args.port}")
    return load_config(args.config, overrides=overrides)


def _data_dir_config(args: argparse.Namespace):
    """The configuration of ``down`` and ``status``: the whole one when it is valid, else only its data directory
    (:func:`~platform_lib.local.config.locate_data_dir`), with the mistake (a wrong key or value, or a file that is
    not valid TOML, named by file, line and error) printed as a warning to fix before the next ``up``, and where
    the data directory came from. They need nothing else, and the operator who edits astrohub.toml before
    restarting must still be able to see and stop the running platform."""
    import sys

    from platform_lib.local.config import LocalConfig, locate_data_dir
    from platform_lib.local.errors import ConfigError, ConfigSyntaxError

    try:
        return config_from_args(args)
    except ConfigError as exc:
        if exc.key == "config" and not isinstance(exc, ConfigSyntaxError):  # no file: where it runs is unknown
            raise
        overrides = [o for o in args.overrides if o.partition("=")[0].strip() == "data_dir"]
        if args.data_dir:
            overrides.append(f"data_dir={_quote(os.path.abspath(args.data_dir))}")
        data_dir, source = locate_data_dir(args.config, overrides=overrides)
        config = LocalConfig(data_dir=data_dir)
        print(f"astrohub: warning: a mistake to fix before the next `astrohub up` (this command reads only data_dir, "
              f"{config.data_dir}, from {source}): {exc}", file=sys.stderr)
        return config


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _up(args: argparse.Namespace) -> int:
    from platform_lib.local import control

    from platform_lib.local.ports import move_taken_internal_ports

    config = config_from_args(args)
    if not args.config_json:  # the detached supervisor's own `up` runs with the ports its parent chose
        config, notes = move_taken_internal_ports(config)
        for note in notes:
            print(f"astrohub: {note}", flush=True)
    return (control.up_detached if args.detach else control.up)(config, owner=args.owner)


def _down(args: argparse.Namespace) -> int:
    from platform_lib.local import control

    return control.down(_data_dir_config(args))


def _status(args: argparse.Namespace) -> int:
    from platform_lib.local import control

    return control.status(_data_dir_config(args))


def register(subparsers: argparse._SubParsersAction) -> None:
    up = subparsers.add_parser("up", help="start the platform on this machine (foreground; Ctrl-C stops it)")
    add_config_arguments(up)
    up.add_argument("--port", type=int, help="the public port (config key hub.port)")
    up.add_argument("--detach", action="store_true", help="start in the background and return when ready")
    up.add_argument(
        "--owner", type=int, metavar="PID",
        help="stop the platform when process PID exits (for a test session or a script that starts it; "
             "default: run until Ctrl-C or `astrohub down`)",
    )
    up.add_argument("--config-json", help=argparse.SUPPRESS)
    up.set_defaults(func=_up)
    down = subparsers.add_parser(
        "down", help="stop the platform started by `astrohub up` on this data directory (exit 2 if it is not running)"
    )
    add_config_arguments(down)
    down.set_defaults(func=_down)
    status = subparsers.add_parser("status", help="report each component of the running platform (exit 1 unhealthy, 3 not running)")
    add_config_arguments(status)
    status.set_defaults(func=_status)
