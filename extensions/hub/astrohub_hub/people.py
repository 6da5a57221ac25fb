"""People: who acts on a class or a workspace, who exists, and the checks of their names.

Owns :class:`Actor` (the caller: a hub user or service name, and whether it holds admin scopes),
:class:`ClassError` (a refused operation, with the HTTP status the service answers) and
:class:`People` (the checks shared by ``classes`` and ``workspaces``: valid and existing user names,
a person's system account, created when missing, and their home). May import the standard library,
``errors``, ``accounts`` and ``folders``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from astrohub_hub.accounts import SYSTEM_NAME_MAX, SystemAccounts, ensure_system_user
from astrohub_hub.errors import HubError, UsernameError
from astrohub_hub.folders import expand_user_path, prepare_user_dirs

__all__ = ["Actor", "ClassError", "People"]

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def name_like(text: str) -> str:
    """A valid name (:data:`_NAME`) made from ``text``, to suggest in a refusal, or ``""`` when none can be made:
    accents dropped, lower case, each run of other characters one ``-``, at most 40 characters.

    Examples
    --------
    >>> name_like("Astro 101"), name_like("Étoiles proches"), name_like("★")
    ('astro-101', 'etoiles-proches', '')
    """
    if not isinstance(text, str):
        return ""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9_]+", "-", ascii_text).strip("-_")[:40].rstrip("-_")


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
            like = name_like(name)
            raise ClassError(f"{kind} name {name!r} must be 1-40 lower-case letters, digits, '-', '_', "
                             "starting with a letter or digit" + (f" (say {like!r})" if like else ""), value=name)
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
        if bad:  # the rule, and the user it may have meant (the name a person signs in with is never 'Zoë Smith')
            meant = sorted({like for user in bad if (like := name_like(user)) and like not in users
                            and self._is_user(like)})
            raise ClassError(
                f"{what}: invalid user name(s) {bad}: a user name is lower-case letters, digits, '_' and '-', "
                f"starting with a letter or digit, at most {SYSTEM_NAME_MAX - len(self.accounts.prefix)} characters; "
                + (f"did you mean {', '.join(map(repr, meant))}?" if meant else
                   "give the name each person signs in with (their hub user name: the hub's admin page lists them).")
                + " Nothing was changed", value=bad)
        unknown = sorted({u for u in users if not self.user_exists(u)})
        if unknown:
            raise ClassError(f"{what}: unknown user(s) {unknown}: nobody of that name on this platform; check the "
                             "spelling, or ask an admin to add them (astrohub users add --csv)",
                             status=404, code="unknown-users", value=unknown)
        return sorted(set(users))

    def _is_user(self, name: str) -> bool:
        try:
            self.accounts.name(name)
        except UsernameError:
            return False
        return bool(self.user_exists(name))

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
