"""``astrohub users add --csv roster.csv`` / ``reset-password NAME``: people and groups on the running platform.

Owns argument parsing; the roster's rules are :mod:`platform_lib.local.roster`, the hub calls
:mod:`platform_lib.local.admin`. A roster with any bad row changes nothing.
"""

from __future__ import annotations

import argparse

from platform_lib.cli.platform import add_config_arguments, config_from_args

__all__ = ["register"]


def _add(args: argparse.Namespace) -> int:
    from platform_lib.local.admin import HubAdmin
    from platform_lib.local.plan import public_url
    from platform_lib.local.roster import apply_roster, read_roster, roster_text

    config = config_from_args(args)
    text = roster_text(args.csv)
    admin = HubAdmin.for_config(config)
    running = admin.config or config
    roster = read_roster(text, prefix=running.users.system_user_prefix, source=args.csv)
    done = apply_roster(admin, roster)
    print(f"{len(roster.users)} people on the roster: {len(done['users'])} new user(s), "
          f"{len(done['groups'])} new group(s), {len(done['memberships'])} new membership(s)")
    for user in done["users"]:
        print(f"  + user {user}")
    for group in done["groups"]:
        print(f"  + group {group}")
    if running.auth.kind == "roster":
        print(f"Each person sets their own password once at {public_url(running)}hub/register with the class code.")
    return 0


def _reset(args: argparse.Namespace) -> int:
    from astrohub_hub.credentials import PasswordStore

    from platform_lib.local.layout import DataLayout
    from platform_lib.local.plan import public_url

    config = config_from_args(args)
    name = args.name.strip().lower()
    layout = DataLayout(config.data_dir)
    store = PasswordStore(layout.state / "passwords.sqlite")
    if store.forget(name):
        print(f"{name}'s password is removed: they set a new one at {public_url(_running(layout, config))}"
              "hub/register with the class code")
        return 0
    print(f"{name} has no password set (nothing to reset)")
    return 1


def _running(layout, config):
    """The configuration ``astrohub up`` runs with on this data directory (its port), else ``config``."""
    from platform_lib.local.config import LocalConfig

    running = layout.running_config
    return LocalConfig.model_validate_json(running.read_text()) if running.exists() else config


def register(subparsers: argparse._SubParsersAction) -> None:
    users = subparsers.add_parser("users", help="add people and groups to the running platform")
    sub = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = sub.add_parser("add", help="add users and groups in bulk from a roster CSV (username,groups)")
    add_config_arguments(add)
    add.add_argument("--csv", required=True, metavar="FILE",
                     help="a CSV with a header: username[,groups] (groups separated by ';'); a bad row changes nothing")
    add.set_defaults(func=_add)
    reset = sub.add_parser("reset-password", help="forget a user's password; they register again with the class code")
    add_config_arguments(reset)
    reset.add_argument("name")
    reset.set_defaults(func=_reset)
