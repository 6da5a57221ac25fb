"""Roster files: people and their groups, in bulk, from a CSV file (``astrohub users add --csv``).

Owns :func:`read_roster` (pure: text -> :class:`Roster`, or :class:`~platform_lib.local.errors.RosterError`
listing every bad row by number) and :func:`apply_roster` (the hub calls that create the missing users
and groups and add the members; only after the whole file was checked, so a bad row changes nothing).
:func:`read_roster_file` (and :func:`roster_text`) read the file first.

Format: a header row with ``username`` (or ``name``) and optionally ``groups`` (or ``group``; several
separated by ``;`` or spaces); other columns (``email``, ``full name``) are ignored. A row with more
fields than the header (groups separated by commas) is a bad row, not silently cut short. Names are
stripped and lower-cased, as the hub's sign-in does, so ``Bob`` and ``bob`` are one person (listed
twice: an error); a name must be a valid hub user name for the platform's system-user prefix. May import this
package and ``astrohub_hub.accounts`` (the one owner of the user name rule).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from platform_lib.local.errors import RosterError

__all__ = ["Roster", "apply_roster", "read_roster", "read_roster_file", "roster_text"]

_GROUP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass
class Roster:
    """Users (in file order) and group -> members."""

    users: list[str] = field(default_factory=list)
    groups: dict[str, list[str]] = field(default_factory=dict)


def roster_text(path: str | Path) -> str:
    """The text of the roster file at ``path`` (UTF-8, with or without a byte-order mark); a file that cannot
    be read or is not UTF-8 (a spreadsheet's Windows-1252 export) is a :class:`RosterError` saying so."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise RosterError(f"cannot read {path}", problems=[str(exc)], value=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise RosterError(f"cannot read {path}: it is not UTF-8 text", value=str(path), problems=[
            f"{exc}; save the roster as 'CSV UTF-8' (or convert it: iconv -f cp1252 -t utf-8)"]) from exc


def read_roster_file(path: str | Path, *, prefix: str = "astro-") -> Roster:
    """:func:`read_roster` of the file at ``path`` (see :func:`roster_text`)."""
    return read_roster(roster_text(path), prefix=prefix, source=str(path))


def read_roster(text: str, *, prefix: str = "astro-", source: str = "roster") -> Roster:
    """Parse and check a roster CSV; raise :class:`RosterError` naming every bad row.

    Examples
    --------
    >>> read_roster("username,groups\\nAnn,astro101\\nbob , astro101;team-x\\n").groups
    {'astro101': ['ann', 'bob'], 'team-x': ['bob']}
    """
    from astrohub_hub.accounts import system_username
    from astrohub_hub.errors import UsernameError

    reader = csv.DictReader(io.StringIO(text))
    header = {(h or "").strip().lower(): h for h in (reader.fieldnames or [])}
    name_col = header.get("username") or header.get("name")
    if name_col is None:
        raise RosterError(f"{source}: no 'username' column", problems=[
            f"row 1: the header {list(header)} needs a 'username' column (and optionally 'groups')"], value=source)
    groups_col = header.get("groups") or header.get("group")
    roster = Roster()
    problems: list[str] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(reader, start=2):
        raw = (row.get(name_col) or "").strip()
        if not raw and not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue  # a blank line
        name = raw.lower()
        extra = [v for v in row.get(None) or [] if (v or "").strip()]  # fields beyond the header's columns
        if extra:
            problems.append(f"row {number}: {len(extra)} field(s) more than the header's columns ({extra}); "
                            "separate several groups with ';', not ','")
            continue
        try:
            system_username(name, prefix)
        except UsernameError as exc:
            problems.append(f"row {number}: {exc}")
            continue
        if name in seen:
            problems.append(f"row {number}: {raw!r} is the same person as row {seen[name]} (names are lower-cased)")
            continue
        seen[name] = number
        groups = re.split(r"[;\s]+", (row.get(groups_col) or "").strip()) if groups_col else []
        bad = [g for g in groups if g and not _GROUP.match(g)]
        if bad:
            problems.append(f"row {number}: group name(s) {bad} must be letters, digits, '.', '_', '-'")
            continue
        roster.users.append(name)
        for group in (g for g in groups if g):
            roster.groups.setdefault(group, []).append(name)
    if problems:
        raise RosterError(f"{source}: {len(problems)} bad row(s); nothing was changed", problems=problems,
                          value=source)
    if not roster.users:
        raise RosterError(f"{source}: no users", problems=["the file has a header but no rows"], value=source)
    return roster


def apply_roster(admin, roster: Roster) -> dict[str, list[str]]:
    """Create the missing users and groups and add the members; what was new (``users``, ``groups``,
    ``memberships`` as ``group:user``)."""
    existing_users = admin.users()
    existing_groups = admin.groups()
    new_users = [u for u in roster.users if u not in existing_users]
    admin.create_users(new_users)
    done: dict[str, list[str]] = {"users": new_users, "groups": [], "memberships": []}
    for group, members in roster.groups.items():
        if group not in existing_groups:
            admin.create_group(group)
            done["groups"].append(group)
        missing = [m for m in members if m not in existing_groups.get(group, [])]
        admin.add_to_group(group, missing)
        done["memberships"] += [f"{group}:{m}" for m in missing]
    return done
