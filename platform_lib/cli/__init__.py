"""The ``astrohub`` command line.

Each module in this package owns one command group and exposes ``register(subparsers)``, which adds
its sub-commands with ``set_defaults(func=...)``; ``func(args)`` returns the exit status. Modules are
discovered, so adding a command group means adding a module here and nothing else. Errors derived
from :class:`~platform_lib.PlatformError`, and a file the user may not read or write (another user's platform:
its ``state`` folder is 0700), are printed as one line and exit with status 2, as do arguments
a sub-command does not know (named with that sub-command's usage); output into a pipe whose reader has
gone (``| head``) ends the command with status 141, as ``SIGPIPE`` ends shell tools.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import pwd
import stat
import sys
from pathlib import Path

from platform_lib.errors import PlatformError

__all__ = ["main", "build_parser", "permission_denied", "seconds"]


def seconds(text: str) -> float:
    """An argparse ``type=`` for a duration: 0 or more seconds (``--keep-replaced`` of ``catalogs ingest`` and
    ``sample-data load``); anything else is the option's usage error naming the value.

    >>> seconds("3600")
    3600.0
    >>> seconds("-1")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: '-1': give 0 or more seconds
    """
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give 0 or more seconds")
    return value


class _CommandParser(argparse.ArgumentParser):
    """A sub-command's parser: an argument it does not know is its own error, shown with its own usage.

    argparse hands a sub-command's unknown arguments up to the top-level parser, whose error names
    them under ``usage: astrohub [-h] COMMAND ...``, which does not say what the sub-command takes.
    """

    def parse_known_args(self, args=None, namespace=None):
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)} (see `{self.prog} --help`)")
        return namespace, extras


def build_parser() -> argparse.ArgumentParser:
    """The full ``astrohub`` argument parser, with every command group registered."""
    parser = argparse.ArgumentParser(
        prog="astrohub", description="astrohub: the astronomy JupyterHub platform."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                       parser_class=_CommandParser)
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``astrohub`` command; returns the process exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except PlatformError as exc:
        print(f"astrohub: error: {exc}", file=sys.stderr)
        return 2
    except PermissionError as exc:  # another user's files: a platform's state is its runner's alone (0700)
        print(f"astrohub: error: {permission_denied(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `astrohub status | head -1`: the reader left; no traceback, the shell's status
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the interpreter's last flush
        return 141


def permission_denied(exc: PermissionError) -> str:
    """What to tell a user refused a file: the file, and whose folder it is in, so they run the command as that user.

    ``astrohub status`` (or ``users add``, ``down``, ...) typed by someone other than the user who ran ``astrohub up``
    (a JupyterLab terminal, an operator without ``sudo``) meets the data directory's ``state`` folder, 0700.
    """
    path = Path(exc.filename or "")
    for folder in (path, *path.parents) if exc.filename else ():
        try:
            info = folder.stat()
        except OSError:
            continue
        try:
            owner = pwd.getpwuid(info.st_uid).pw_name
        except KeyError:
            owner = f"uid {info.st_uid}"
        where = "" if folder == path else f" (in {folder}, {owner}'s, mode {stat.S_IMODE(info.st_mode):04o})"
        return (f"permission denied: {path}{where}; run astrohub as {owner}"
                + (" (e.g. with sudo)" if info.st_uid == 0 else ""))
    return f"permission denied: {exc.filename or exc}; run astrohub as the user who owns it"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
