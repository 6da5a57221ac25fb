"""``astrohub classes ...`` and ``astrohub workspaces ...``: teaching classes and shared workspaces.

Owns argument parsing; every command is one call to the platform's ``astrohub-classes`` hub service
(``astrohub_hub.classes_service``) with the admin token of ``astrohub up``'s data directory, through
:meth:`platform_lib.local.admin.HubAdmin.service`. A refused call prints the service's message (which
names the bad value) and exits with status 2; nothing was changed, unless the message says what was (the hub
refused part of a change, HTTP 502: the same command run again finishes it). What a command prints is the answer as
an operator reads it (what was done, the details, what to do next: :mod:`platform_lib.cli._reports`), or with
``--json`` the service's JSON answer itself, for scripts.
"""

from __future__ import annotations

import argparse
import json

from platform_lib.cli.platform import add_config_arguments, config_from_args

__all__ = ["register"]


def _admin(args: argparse.Namespace):
    from platform_lib.local.admin import HubAdmin

    return HubAdmin.for_config(config_from_args(args))


def _names(value: str | None) -> list[str]:
    return [n.strip() for n in (value or "").replace(";", ",").split(",") if n.strip()]


def _csv_users(path: str | None, admin) -> list[str]:
    if not path:
        return []
    from platform_lib.local.roster import read_roster_file

    prefix = admin.config.users.system_user_prefix if admin.config else "astro-"
    return read_roster_file(path, prefix=prefix).users


def _seg(value: str) -> str:
    """A class, assignment or workspace name as one URL path segment: ``../x`` or ``..`` names nothing
    (the service says so) rather than another route."""
    from urllib.parse import quote

    quoted = quote(value, safe="")
    return quoted.replace(".", "%2E") if set(quoted) <= {"."} else quoted


def _path(collection: str, *names: str) -> str:
    """The service path ``<collection>/<name>/...``: every part after ``collection`` (a class, an assignment,
    a workspace, or a route word) quoted as one segment by :func:`_seg`. Every command builds its path here."""
    return "/".join([collection, *(_seg(n) for n in names)])


def _print(args: argparse.Namespace, answer) -> int:
    """Print the service's ``answer``: as an operator reads it (:func:`platform_lib.cli._reports.report`), or
    the JSON itself with ``--json`` (for scripts)."""
    if args.json:
        print(json.dumps(answer, indent=1, sort_keys=True))
    else:
        from platform_lib.cli._reports import report

        verb = args.classes_command if args.command == "classes" else args.workspaces_command
        print(report(args.command, verb, answer))
    return 0


def _create(args):
    admin = _admin(args)
    students = _names(args.students) + _csv_users(args.csv, admin)
    return _print(args, admin.service("POST", "classes", {"name": args.name, "instructors": _names(args.instructors),
                                                    "students": students, "profile": args.profile or ""}))


def _roster_change(role: str, verb: str):
    """The command that adds (``verb`` "add": POST) or removes ("remove": DELETE) users of ``role`` of a class."""
    def run(args):
        admin = _admin(args)
        users = _names(args.users) + _csv_users(args.csv, admin)
        _named_someone(users, f"name the {role} to {verb}")
        method = "POST" if verb == "add" else "DELETE"
        return _print(args, admin.service(method, _path("classes", args.name, role), {"users": users}))
    return run


def _named_someone(users: list[str], what: str, how: str = "--users a,b or --csv FILE") -> None:
    """A change that names nobody is refused here, in the command's words (the service refuses it too)."""
    if not users:
        from platform_lib.local.errors import ConfigError

        raise ConfigError(f"{what}: {how}", key=how.split()[0], value="")


def _show(args):
    admin = _admin(args)
    if args.student and not args.name:
        from platform_lib.local.errors import ConfigError

        raise ConfigError("--student needs a class: astrohub classes show CLASS --student NAME", key="--student",
                          value=args.student)
    query = f"?student={_seg(args.student)}" if args.student else ""
    return _print(args, admin.service("GET", (_path("classes", args.name) + query) if args.name else "classes"))


def _extend(args):
    """The service reads the date or the duration (one owner of the rules)."""
    body: dict = {"student": args.student}
    if args.none:
        body["until"] = None
    elif args.until is not None:
        body["until"] = args.until
    else:
        body["by"] = args.by
    return _print(args, _admin(args).service("POST", _path("classes", args.name, "assignments", args.assignment,
                                                     "extension"), body))


def _archive(args):
    return _print(args, _admin(args).service("POST", _path("classes", args.name, "archive")))


def _profile(args):
    return _print(args, _admin(args).service("POST", _path("classes", args.name, "profile"), {"profile": args.profile}))


def _delete(args):
    return _print(args, _admin(args).service("DELETE", _path("classes", args.name) + ("?force=1" if args.force else "")))


def _restore(args):
    body = {"as": args.as_name} if args.as_name else None
    return _print(args, _admin(args).service("POST", _path("classes", args.deleted, "restore"), body))


def _rename(args):
    return _print(args, _admin(args).service("POST", _path("people", args.old, "rename"), {"to": args.new}))


def _assignment(action: str):
    def run(args):
        query = "?grade=1" if getattr(args, "grade", False) else ""
        path = _path("classes", args.name, "assignments", args.assignment, action) + query
        body = None
        if action == "release" and (args.due or args.refuse_late or args.late_penalty_per_hour is not None):
            body = {"due": args.due, **({"refuse_late": True} if args.refuse_late else {}),
                    **({} if args.late_penalty_per_hour is None else
                       {"late_penalty_per_hour": args.late_penalty_per_hour})}
        return _print(args, _admin(args).service("POST", path, body))
    return run


_PENALTY_HELP = ("points taken from a late submission's autograded score per hour late, or part of one, once per "
                 "submission however many notebooks it has (never more than its score; needs a due date)")


def _due(args):
    """The service reads the date (one owner of the rule); ``none`` clears it, left out it stays."""
    body = {} if args.when is None else {"due": None if args.when.strip().lower() == "none" else args.when}
    if args.refuse_late is not None:
        body["refuse_late"] = args.refuse_late
    if args.late_penalty_per_hour is not None:
        body["late_penalty_per_hour"] = args.late_penalty_per_hour
    path = _path("classes", args.name, "assignments", args.assignment, "due")
    return _print(args, _admin(args).service("POST", path, body))


def _exam(args):
    from datetime import datetime, timezone

    def epoch(text: str) -> float:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            from platform_lib.local.errors import ConfigError

            raise ConfigError(f"{text!r} is not a date and time such as 2026-12-04T14:00+00:00",
                              key="--start/--end", value=text) from None
        return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()

    body = {"start": epoch(args.start), "end": epoch(args.end)}
    if args.assignments:
        body["assignments"] = [a.strip() for a in args.assignments.split(",") if a.strip()]
    return _print(args, _admin(args).service("POST", _path("classes", args.name, "exam"), body))


def _grades(args):
    book = _admin(args).service("GET", _path("classes", args.name, "grades"))
    if not args.csv:
        return _print(args, book)
    import csv
    import sys

    if book.get("warning"):  # nbgrader's gradebook could not be read: the scores are the last autograding's
        print(f"astrohub: {book['warning']}", file=sys.stderr)
    writer = csv.DictWriter(sys.stdout, fieldnames=book["columns"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(book["rows"])
    return 0


def _log(args):
    return _print(args, _admin(args).service("GET", _path("classes", args.name, "log")))


def _ws_create(args):
    admin = _admin(args)
    return _print(args, admin.service("POST", "workspaces", {"name": args.name, "owner": args.owner,
                                                       "members": _names(args.members),
                                                       "readers": _names(args.readers)}))


def _ws_change(args):
    body = {"add": _names(args.add), "readers": _names(args.readers), "remove": _names(args.remove)}
    _named_someone([*body["add"], *body["readers"], *body["remove"]], f"name the people to change in workspace "
                   f"{args.name!r}", "--add a,b (read-write), --readers c (read-only) or --remove d")
    return _print(args, _admin(args).service("POST", _path("workspaces", args.name, "members"), body))


def _ws_delete(args):
    return _print(args, _admin(args).service("DELETE", _path("workspaces", args.name)))


def _ws_show(args):
    return _print(args, _admin(args).service("GET", _path("workspaces", args.name) if args.name else "workspaces"))


def register(subparsers: argparse._SubParsersAction) -> None:
    classes = subparsers.add_parser("classes", help="teaching classes: roster, materials, assignments")
    sub = classes.add_subparsers(dest="classes_command", required=True, metavar="ACTION")

    create = sub.add_parser("create", help="create a class with its folders and roster")
    create.add_argument("name")
    create.add_argument("--instructors", help="comma-separated user names (instructors and TAs)")
    create.add_argument("--students", help="comma-separated user names")
    create.add_argument("--csv", help="students from a roster CSV (username column); users must exist")
    create.add_argument("--profile", help="the resource profile of the class")
    create.set_defaults(func=_create)
    for role in ("students", "instructors"):
        for verb, what in (("add", f"add {role} to a class"), ("remove", f"take {role} off a class: they lose its "
                           "folders at once" + (" (their submissions and grades stay)" if role == "students" else ""))):
            change = sub.add_parser(f"{verb}-{role}", help=what)
            change.add_argument("name")
            change.add_argument("--users", help="comma-separated user names")
            change.add_argument("--csv", help="a roster CSV (username column)")
            change.set_defaults(func=_roster_change(role, verb))
    show = sub.add_parser("show", help="a class's roster, assignments and submissions (no name: every class)")
    show.add_argument("name", nargs="?")
    show.add_argument("--student", help="the class as this student sees it: their submissions and own due dates")
    show.set_defaults(func=_show)
    archive = sub.add_parser("archive", help="freeze a class: no more changes or submissions")
    archive.add_argument("name")
    archive.set_defaults(func=_archive)
    profile = sub.add_parser("profile", help="pin a resource profile on a class after it was made (its members' "
                                             "servers get it from their next start); '' unpins")
    profile.add_argument("name")
    profile.add_argument("profile", help="a profile slug of astrohub.toml's [profiles], or '' for none")
    profile.set_defaults(func=_profile)
    delete = sub.add_parser("delete", help="delete a class: nobody reaches it any more; its folders, submissions, "
                                           "grades and registry rows are kept in <classes>/.deleted/, its grading "
                                           "system users removed")
    delete.add_argument("name")
    delete.add_argument("--force", action="store_true",
                        help="delete it even while members' processes (a notebook's kernel, a terminal) have their "
                             "working folder or open files in it: those are ended (without it, refused naming them)")
    delete.set_defaults(func=_delete)
    restore = sub.add_parser("restore", help="bring a deleted class back from <classes>/.deleted/DELETED (the folder "
                                             "its deletion answered): its folders, registry rows, hub groups and "
                                             "members' access; refused while a class of its name exists")
    restore.add_argument("deleted", help="the kept folder's name, <class>-<UTC time>")
    restore.add_argument("--as", dest="as_name", metavar="NAME",
                         help="restore it under this name (its groups, folders, registry rows and the students' "
                              "~/<class>/ copies renamed; nbgrader's gradebook holds no class name)")
    restore.set_defaults(func=_restore)
    rename = sub.add_parser("rename-member", help="after renaming hub user OLD to NEW on the hub (its admin page, "
                                                  "Edit User), the same in every class: roster, submissions, grades, "
                                                  "extensions, returned feedback and scores, log; and in every team "
                                                  "workspace: owner, member or reader, shared server, folder access")
    rename.add_argument("old")
    rename.add_argument("new")
    rename.set_defaults(func=_rename)
    for action, text in [("release", "copy instructors/<assignment>/ into every student's home"),
                         ("collect", "copy each student's latest submission to instructors/collected/"),
                         ("feedback", "return instructors/feedback/<assignment>/<student>/ to each student")]:
        step = sub.add_parser(action, help=text)
        step.add_argument("name")
        step.add_argument("assignment")
        if action == "collect":
            step.add_argument("--grade", action="store_true",
                              help="then autograde with nbgrader (nbgrader-marked notebooks; runs as an instructor)")
        if action == "release":
            step.add_argument("--due", help="the due date: ISO 8601 with its time zone, e.g. 2026-12-10T17:00Z "
                              "(later work is taken and marked late; a re-release without --due keeps it)")
            step.add_argument("--refuse-late", action="store_true", help="refuse work submitted after --due")
            step.add_argument("--late-penalty-per-hour", type=float, metavar="POINTS", help=_PENALTY_HELP)
        step.set_defaults(func=_assignment(action))
    due = sub.add_parser("due", help="set, change or clear an assignment's due date")
    due.add_argument("name")
    due.add_argument("assignment")
    due.add_argument("when", nargs="?", help="ISO 8601 with its time zone (2026-12-10T17:00Z), or none to clear; "
                     "left out: unchanged (to change --refuse-late/--accept-late only)")
    late = due.add_mutually_exclusive_group()
    late.add_argument("--refuse-late", dest="refuse_late", action="store_true", default=None,
                      help="refuse work submitted after the due date")
    late.add_argument("--accept-late", dest="refuse_late", action="store_false",
                      help="take late work and mark it late (the default)")
    due.add_argument("--late-penalty-per-hour", type=float, metavar="POINTS",
                     help=_PENALTY_HELP + "; 0: none")
    due.set_defaults(func=_due)
    extend = sub.add_parser("extend", help="give one student more time on an assignment (or take it back)")
    extend.add_argument("name")
    extend.add_argument("assignment")
    extend.add_argument("student")
    how = extend.add_mutually_exclusive_group(required=True)
    how.add_argument("--until", help="their own due date: ISO 8601 with its time zone (2026-12-12T17:00Z), after the "
                     "assignment's")
    how.add_argument("--by", metavar="DURATION", help="a duration after the assignment's due date: 2d, 36h, 1d12h")
    how.add_argument("--none", action="store_true", help="take the extension back")
    extend.set_defaults(func=_extend)
    exam = sub.add_parser("exam", help="exam mode: materials frozen in the window, late submissions refused")
    exam.add_argument("name")
    exam.add_argument("--start", required=True, help="ISO date and time (UTC unless an offset is given)")
    exam.add_argument("--end", required=True, help="the deadline, ISO date and time")
    exam.add_argument("--assignments", help="the exam's assignments, comma-separated (default: every assignment "
                      "first released before --end; name them to leave homework due after the exam open)")
    exam.set_defaults(func=_exam)
    grades = sub.add_parser("grades", help="who submitted each assignment, when, and the autograded scores")
    grades.add_argument("name")
    grades.add_argument("--csv", action="store_true", help="as CSV (one row per student and assignment)")
    grades.set_defaults(func=_grades)
    log = sub.add_parser("log", help="the class's action log")
    log.add_argument("name")
    log.set_defaults(func=_log)
    for parser in sub.choices.values():
        add_config_arguments(parser)
        parser.add_argument("--json", action="store_true", help="print the service's answer as JSON (for scripts)")

    workspaces = subparsers.add_parser("workspaces", help="shared analysis workspaces")
    wsub = workspaces.add_subparsers(dest="workspaces_command", required=True, metavar="ACTION")
    wcreate = wsub.add_parser("create", help="create a workspace for its owner")
    wcreate.add_argument("name")
    wcreate.add_argument("--owner", required=True, help="the user who owns it and manages its members")
    wcreate.add_argument("--members", help="comma-separated user names (read-write)")
    wcreate.add_argument("--readers", help="comma-separated user names (read-only)")
    wcreate.set_defaults(func=_ws_create)
    wchange = wsub.add_parser("members", help="add or remove members")
    wchange.add_argument("name")
    wchange.add_argument("--add")
    wchange.add_argument("--readers")
    wchange.add_argument("--remove")
    wchange.set_defaults(func=_ws_change)
    wdelete = wsub.add_parser("delete", help="delete a workspace: nobody reaches it any more; its files are "
                                             "kept in <workspaces>/.deleted/")
    wdelete.add_argument("name")
    wdelete.set_defaults(func=_ws_delete)
    wshow = wsub.add_parser("show", help="a workspace (no name: the admin's)")
    wshow.add_argument("name", nargs="?")
    wshow.set_defaults(func=_ws_show)
    for parser in wsub.choices.values():
        add_config_arguments(parser)
        parser.add_argument("--json", action="store_true", help="print the service's answer as JSON (for scripts)")
