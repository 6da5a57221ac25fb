"""System accounts: which system user a hub user runs as, and whether hub users get their own.

Owns the one rule every other module asks about (STYLE.md: "one owner per setting"):
:class:`SystemAccounts`, a small value object holding the system-user prefix and the
"run as per-user system users" choice (``None``: when the hub runs as root), plus the name mapping
(:func:`system_username`, :func:`hub_username_pattern`), the name of a class's grading identity
(:func:`grading_username`: the system user autograding runs as, never a person's; :func:`kernel_username`: the
one its students' notebooks run as) and the creation and removal of a system user (:func:`ensure_system_user`,
:func:`remove_system_user`). The spawner (``local``), the folder services (``groupsync``, ``classes``,
``workspaces``) and ``configure`` build one :class:`SystemAccounts` from the settings rather than each
re-deriving the rule. May import the standard library and ``errors`` only.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from astrohub_hub.errors import UsernameError

__all__ = [
    "DEFAULT_PREFIX",
    "SYSTEM_NAME_MAX",
    "SystemAccounts",
    "check_prefix",
    "ensure_system_user",
    "grading_username",
    "remove_system_user",
    "kernel_username",
    "hub_username_pattern",
    "running_as_root",
    "system_username",
]

#: Linux user names are at most 32 characters (useradd's limit).
SYSTEM_NAME_MAX = 32
#: The default system-user prefix: hub user ``alice`` runs as ``astro-alice``.
DEFAULT_PREFIX = "astro-"
#: useradd attempts while another process holds the lock on /etc/passwd (about 10 s in all).
_USERADD_TRIES = 12
_HUB_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_PREFIX = re.compile(r"^[a-z_][a-z0-9_-]*$")


def running_as_root() -> bool:
    """Whether this process can create and switch to other system users."""
    return os.geteuid() == 0


def check_prefix(value: str) -> str:
    """Return ``value`` if it can prefix system user names, else raise ``ValueError``."""
    if not _PREFIX.match(value) or len(value) > SYSTEM_NAME_MAX - 1:
        raise ValueError(
            f"{value!r} must start with a lower-case letter or '_' and contain only a-z, 0-9, '_', '-'"
        )
    return value


def system_username(hub_name: str, prefix: str = DEFAULT_PREFIX) -> str:
    """Map a hub user name to its system user name, or raise :class:`UsernameError`.

    Hub names must be lower-case letters, digits, ``_`` and ``-``, starting with a letter or a
    digit, and short enough that ``prefix + name`` fits in 32 characters. Nothing is silently
    rewritten: two hub names never map to one system user.

    Examples
    --------
    >>> system_username("alice")
    'astro-alice'
    """
    if not isinstance(hub_name, str) or not _HUB_NAME.match(hub_name):
        raise UsernameError(
            f"hub user name {hub_name!r} cannot be a system user: use lower-case letters, digits, "
            "'_' and '-', starting with a letter or digit",
            value=hub_name,
        )
    name = prefix + hub_name
    if len(name) > SYSTEM_NAME_MAX:
        raise UsernameError(
            f"hub user name {hub_name!r} is too long: {prefix!r} + name must be at most "
            f"{SYSTEM_NAME_MAX} characters (at most {SYSTEM_NAME_MAX - len(prefix)} for the name)",
            value=hub_name,
        )
    return name


#: What follows the prefix in a class's grading identity: hub names start with a letter or a digit, so a name
#: with ``_`` after the prefix is never a person's system user.
GRADING_MARK = "_grade-"


def grading_username(cls: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The system user that grades class ``cls`` (runs nbgrader's steps, which execute students' notebooks):
    ``prefix + "_grade-" + cls``, which no hub user maps to (:data:`GRADING_MARK`). A name too long for 32
    characters keeps the class's first letters and adds 8 hex digits of its SHA-256, so two classes never share
    one; a prefix leaving no room for that is a :class:`UsernameError`.

    Examples
    --------
    >>> grading_username("astro101")
    'astro-_grade-astro101'
    >>> grading_username("observational-astronomy-2026-autumn")
    'astro-_grade-observatio-7299e635'
    """
    name = prefix + GRADING_MARK + cls
    if len(name) <= SYSTEM_NAME_MAX:
        return name
    digest = hashlib.sha256(cls.encode()).hexdigest()[:8]
    keep = SYSTEM_NAME_MAX - len(prefix + GRADING_MARK) - 1 - len(digest)
    if keep < 1:
        raise UsernameError(f"system user prefix {prefix!r} is too long to name class {cls!r}'s grading user "
                            f"({prefix!r} + {GRADING_MARK!r} + at least 10 characters must fit in "
                            f"{SYSTEM_NAME_MAX}): choose a prefix of at most {SYSTEM_NAME_MAX - len(GRADING_MARK) - 10}"
                            " characters", value=prefix)
    return f"{prefix}{GRADING_MARK}{cls[:keep]}-{digest}"


#: What follows the prefix in a class's grading kernels' identity (:func:`kernel_username`): as long as
#: :data:`GRADING_MARK`, so the two names of a class differ in it alone.
KERNEL_MARK = "_kernl-"


def kernel_username(grader: str) -> str:
    """The system user the kernels of grading identity ``grader`` (:func:`grading_username`) run as when
    autograding executes the students' notebooks: the same name with :data:`KERNEL_MARK`, unprivileged, with no
    access to the course directory (``'astro-_grade-astro101'`` -> ``'astro-_kernl-astro101'``).

    >>> kernel_username(grading_username("observational-astronomy-2026-autumn"))
    'astro-_kernl-observatio-7299e635'
    """
    before, mark, after = grader.partition(GRADING_MARK)
    if not mark:
        raise UsernameError(f"{grader!r} is not a grading identity (no {GRADING_MARK!r})", value=grader)
    return before + KERNEL_MARK + after


def hub_username_pattern(prefix: str = DEFAULT_PREFIX) -> str:
    """The regular expression for ``Authenticator.username_pattern`` matching :func:`system_username`."""
    return rf"^[a-z0-9][a-z0-9_-]{{0,{SYSTEM_NAME_MAX - len(prefix) - 1}}}$"


def ensure_system_user(name: str, home: str, *, shell: str = "/bin/bash", create: bool = True,
                       comment: str = "astrohub user") -> pwd.struct_passwd:
    """Return the system user ``name``, creating it with ``useradd`` (home ``home``, ``comment`` its GECOS
    field) if missing."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        if not create:
            raise UsernameError(
                f"system user {name!r} does not exist and local.createSystemUsers is false", value=name
            ) from None
    Path(home).parent.mkdir(parents=True, exist_ok=True)
    cmd = ["useradd", "--home-dir", home, "--create-home", "--shell", shell, "--user-group",
           "--comment", comment, name]
    for attempt in range(_USERADD_TRIES):
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode in (0, 9):  # 9: name already in use (a concurrent spawn made it)
            return pwd.getpwnam(name)
        # /etc/passwd is locked by another useradd/userdel on this machine (exit 1 or 10): wait and retry.
        if "lock" not in result.stderr.lower() and result.returncode != 10:
            break
        time.sleep(0.05 * 2**min(attempt, 5))
    raise UsernameError(f"useradd {name!r} failed: {result.stderr.strip()}", value=name)


def remove_system_user(name: str) -> str | None:
    """Remove the system user ``name`` (and its own group) with ``userdel``, leaving its home (the caller's to
    keep or remove). Returns None when it is gone (or never was), else why ``userdel`` could not remove it (a
    process of it still runs, say): the caller says so; nothing is raised."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        return None
    for attempt in range(_USERADD_TRIES):
        result = subprocess.run(["userdel", name], capture_output=True, text=True, check=False)
        if result.returncode in (0, 6):  # 6: no such user (removed meanwhile)
            return None
        if "lock" not in result.stderr.lower() and result.returncode != 10:  # /etc/passwd locked: wait, retry
            break
        time.sleep(0.05 * 2**min(attempt, 5))
    return f"userdel {name} failed: {result.stderr.strip() or f'exit status {result.returncode}'}"


@dataclass(frozen=True)
class SystemAccounts:
    """The system-account rule: the prefix, and whether each hub user runs as their own system user.

    ``run_as_system_users``: ``True``/``False`` forces the choice; ``None`` means "when root".
    Built once from the settings (``LocalSettings``, the spawner's traits, a service's environment)
    and passed to whatever needs the rule.

    Examples
    --------
    >>> accounts = SystemAccounts("astro-", run_as_system_users=True)
    >>> accounts.enabled, accounts.name("alice"), accounts.hub_name("astro-alice")
    (True, 'astro-alice', 'alice')
    >>> SystemAccounts.from_environ({"ASTROHUB_SYSTEM_USERS": "0"}, "ASTROHUB").enabled
    False
    """

    prefix: str = DEFAULT_PREFIX
    run_as_system_users: bool | None = None

    def __post_init__(self) -> None:
        check_prefix(self.prefix)

    @property
    def enabled(self) -> bool:
        """Whether servers run as per-user system users (the ``None`` default resolved now)."""
        return running_as_root() if self.run_as_system_users is None else self.run_as_system_users

    def name(self, hub_name: str) -> str:
        """The system user of ``hub_name`` (:func:`system_username` with this prefix)."""
        return system_username(hub_name, self.prefix)

    def hub_name(self, system_name: str) -> str | None:
        """The hub name behind ``system_name``, or ``None`` when it is not one of ours."""
        if not system_name.startswith(self.prefix):
            return None
        return system_name[len(self.prefix):] or None

    def owns(self, system_name: str) -> bool:
        """Whether ``system_name`` is a system user of this platform (has the prefix)."""
        return self.hub_name(system_name) is not None

    def grader(self, cls: str) -> str:
        """The grading identity of class ``cls`` (:func:`grading_username` with this prefix)."""
        return grading_username(cls, self.prefix)

    def username_pattern(self) -> str:
        """``Authenticator.username_pattern`` for this prefix."""
        return hub_username_pattern(self.prefix)

    def environ(self, prefix: str) -> dict[str, str]:
        """This rule as a service's environment (read back by :meth:`from_environ`)."""
        flag = "" if self.run_as_system_users is None else ("1" if self.run_as_system_users else "0")
        return {f"{prefix}_PREFIX": self.prefix, f"{prefix}_SYSTEM_USERS": flag}

    @classmethod
    def from_environ(cls, environ: dict[str, str], prefix: str) -> "SystemAccounts":
        """The rule a hub-managed service was given by :meth:`environ`."""
        flag = environ.get(f"{prefix}_SYSTEM_USERS", "")
        return cls(environ.get(f"{prefix}_PREFIX", DEFAULT_PREFIX) or DEFAULT_PREFIX,
                   None if flag == "" else flag == "1")
