"""``astrohub quotas set SPACE SIZE`` / ``astrohub quotas show``: the operator sets the spaces' quotas.

A quota is the operator's, kept beside the space where its members cannot change it
(:func:`platform_lib.storage.quota_path`: ``<data>/groups/.astrohub-quotas/lensing.json``); run as the user who
runs ``astrohub up`` (root, on a platform with a system user per person). Owns argument parsing; the
storage rule is :mod:`platform_lib.storage`, the folders :class:`platform_lib.local.layout.DataLayout`, the
sizes' text :func:`astrohub_hub.sizes.size_text` (the hub's pages'; the local platform has the hub installed).
"""

from __future__ import annotations

import argparse
import re

from platform_lib.cli.platform import add_config_arguments, config_from_args
from platform_lib.errors import PlatformError

__all__ = ["register", "parse_size"]

_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?)?b?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int | None:
    """Bytes from ``12345``, ``500MB``, ``2G``, ``1.5GiB`` (``k``/``M``/``G``/``T`` are powers of 1000, with ``i``
    of 1024); ``none`` removes the quota (``None``). ``ValueError`` naming the text for anything else.

    Examples
    --------
    >>> parse_size("500MB"), parse_size("2GiB"), parse_size("none")
    (500000000, 2147483648, None)
    """
    if text.strip().lower() == "none":
        return None
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a size: give bytes (10000000), a number with a unit (500MB, 2GiB) or none")
    return int(float(match.group(1)) * _UNITS[(match.group(2) or "").lower()])


def _set(args: argparse.Namespace) -> int:
    from astrohub_hub.sizes import size_text

    from platform_lib.local.layout import DataLayout
    from platform_lib.storage import quota_path, write_quota

    layout = DataLayout(config_from_args(args).data_dir)
    try:
        folder, size = layout.space_folder(args.space), parse_size(args.size)
    except ValueError as exc:
        raise PlatformError(str(exc), code="bad-argument", value=args.space) from exc
    if not folder.is_dir():
        raise PlatformError(f"{args.space} has no folder ({folder}): a group's is made once it has a member, a "
                            "home at its user's first start, a workspace by `astrohub workspaces create`",
                            code="not-found", value=args.space)
    try:
        write_quota(_local(), str(folder), size)
    except PermissionError as exc:
        raise PlatformError(f"cannot write {quota_path(str(folder))}: {exc.strerror}; run it as the user who runs "
                            "`astrohub up` (root)", code="permission-denied", value=args.space) from exc
    print(f"{args.space}: " + ("no quota" if size is None else f"quota {size_text(size)} ({size:,} bytes)"))
    return 0


def _show(args: argparse.Namespace) -> int:
    from astrohub_hub.sizes import size_text

    from platform_lib.local.layout import DataLayout
    from platform_lib.storage import read_quota

    import sys

    layout = DataLayout(config_from_args(args).data_dir)
    shown = 0
    for kind, root in layout.space_roots.items():
        if not root.is_dir():
            continue
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            quota = read_quota(_local(), str(folder), f"{kind}/{folder.name}")
            if quota is not None:  # readable (it printed 2147483648); --bytes: the number, for scripts
                print(f"{kind}/{folder.name}\t{quota if args.bytes else size_text(quota)}")
                shown += 1
    if not shown:  # an empty answer read as "the command did nothing" (or the wrong data directory)
        print(f"no quotas set on {layout.root} (astrohub quotas set group/<name> 50GB)", file=sys.stderr)
    return 0


def _local():
    import fsspec

    return fsspec.filesystem("file")


def register(subparsers: argparse._SubParsersAction) -> None:
    quotas = subparsers.add_parser("quotas", help="set and show the spaces' quotas (the operator's setting)")
    commands = quotas.add_subparsers(dest="quotas_command", required=True, metavar="COMMAND")
    set_ = commands.add_parser(
        "set", help="set (or remove, with none) the quota of a home, scratch, group folder or workspace",
        description="Members of a space read its quota but cannot change it: it is kept beside the space, in "
                    "the root-owned .astrohub-quotas folder.")
    set_.add_argument("space", metavar="SPACE", help="home/<user>, scratch/<user>, group/<name> or workspace/<name>")
    set_.add_argument("size", metavar="SIZE", help="bytes, or with a unit: 500MB, 2GiB; none removes the quota")
    add_config_arguments(set_)
    set_.set_defaults(func=_set)
    show = commands.add_parser("show", help="every space with a quota, and the quota (50.0 MB; --bytes: 50000000)",
                               description="One line per space with a quota: the space, a tab, the quota.")
    show.add_argument("--bytes", action="store_true",
                      help="the quota as a number of bytes (for scripts), not in the unit it reaches")
    add_config_arguments(show)
    show.set_defaults(func=_show)
