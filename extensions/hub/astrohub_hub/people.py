"""People: who acts on a class or a workspace, who exists, and the checks of their names.

Owns :class:`Actor` (the caller: a hub user or service name, and whether it holds admin scopes),
:class:`ClassError` (a refused operation, with the HTTP status the service answers) and
:class:`People` (the checks shared by ``classes`` and ``workspaces``: valid and existing user names,
a person's system account, created when missing, and their home). May import the standard library,
``errors``, ``accounts`` and ``folders``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from astrohub_hub.accounts import SystemAccounts, ensure_system_user
from astrohub_hub.errors import HubError, UsernameError
from astrohub_hub.folders import expand_user_path, prepare_user_dirs

__all__ = ["Actor", "ClassError", "People"]

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


class ClassError(HubError):
    """A refused class or workspace operation; ``status`` is the HTTP status the service answers."""

    code = "class-error"

    def __init__(self, message: str, *, status: int = 400, code: str | None = None, value=None) -> None:
        super().__init__(message, code=code, value=value)
        self.status = status


@dataclass(frozen=True)
class Actor:
    """Who asks: a hub user name (or a service's) and whether they hold admin scopes."""

    name: str
    admin: bool = False


@dataclass
class People:
    """Name checks and system accounts for ``accounts``; ``user_exists(name)`` asks the hub."""

    accounts: SystemAccounts
    home_template: str = ""
    user_exists: Callable[[str], bool] = lambda name: True

    @staticmethod
    def check_name(kind: str, name: str) -> str:
        """``name`` if it can name a class, an assignment or a workspace (and its folder)."""
        if name == "":  # left out of the request ({"name": ...}), or an empty option
            raise ClassError(f"no {kind} name given: it is 1-40 lower-case letters, digits, '-', '_', "
                             "starting with a letter or digit", value=name)
        if not isinstance(name, str) or not _NAME.match(name):
            raise ClassError(f"{kind} name {name!r} must be 1-40 lower-case letters, digits, '-', '_', "
                             "starting with a letter or digit", value=name)
        return name

    def check_users(self, users: Iterable[str], what: str) -> list[str]:
        """The normalised, existing user names, or a :class:`ClassError` listing every bad one."""
        users = [str(u).strip().lower() for u in users]
        bad = []
        for user in users:
            try:
                self.accounts.name(user)
            except UsernameError:
                bad.append(user)
        if bad:
            raise ClassError(f"{what}: invalid user name(s) {bad}", value=bad)
        unknown = sorted({u for u in users if not self.user_exists(u)})
        if unknown:
            raise ClassError(f"{what}: unknown user(s) {unknown}: nobody of that name on this platform; check the "
                             "spelling, or ask an admin to add them (astrohub users add --csv)",
                             status=404, code="unknown-users", value=unknown)
        return sorted(set(users))

    def system(self, user: str) -> str | None:
        """The system user of ``user`` (created with their home if missing) when isolated, else None."""
        if not self.accounts.enabled:
            return None
        name = self.accounts.name(user)
        home = expand_user_path(self.home_template, user) if self.home_template else f"/home/{name}"
        owner = ensure_system_user(name, home)
        if self.home_template:
            prepare_user_dirs(home, None, owner)
        return name

    def home(self, user: str) -> Path:
        """The user's home folder."""
        return Path(expand_user_path(self.home_template, user))
