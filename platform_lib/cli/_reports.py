"""What ``astrohub classes ...`` and ``astrohub workspaces ...`` print for an operator (``--json``: the answer itself).

Owns :func:`report`: the classes service's answer to one command as text a person reads: a first line saying what
was done (made, released, collected, deleted...), the answer's details as indented ``key: value`` lines (lists on one
line, records one per line), and, after the commands that start something, what to do next. Pure (no I/O, no
service); ``platform_lib.cli.classes`` prints it. May import the standard library only.
"""

from __future__ import annotations

import textwrap
from typing import Any, Callable

__all__ = ["report"]


def _people(names: Any) -> str:
    names = list(names or [])
    return f"{len(names)} ({', '.join(names)})" if names else "none"


def _due(a: dict) -> str:
    if not a.get("due"):
        return "no due date"
    rule = "late work refused" if a.get("refuse_late") else "late work taken and marked late"
    penalty = a.get("late_penalty_per_hour") or 0
    return f"due {a['due']}, {rule}" + (f", {penalty:g} points off per hour late" if penalty else "")


#: The first line of each command's report, from its answer.
_HEADLINES: dict[tuple[str, str], Callable[[dict], str]] = {
    ("classes", "create"): lambda a: (f"Class {a['name']} created: instructors {_people(a.get('instructors'))}, "
                                      f"students {_people(a.get('students'))}."),
    ("classes", "add-students"): lambda a: f"Class {a['name']} now has students {_people(a.get('students'))}.",
    ("classes", "remove-students"): lambda a: f"Class {a['name']} now has students {_people(a.get('students'))}.",
    ("classes", "add-instructors"): lambda a: (f"Class {a['name']} now has instructors "
                                               f"{_people(a.get('instructors'))}."),
    ("classes", "remove-instructors"): lambda a: (f"Class {a['name']} now has instructors "
                                                  f"{_people(a.get('instructors'))}."),
    ("classes", "archive"): lambda a: f"Class {a['name']} is archived: read-only from now on.",
    ("classes", "profile"): lambda a: (f"Class {a['name']}'s servers start with profile {a['profile']!r}."
                                       if a.get("profile") else f"Class {a['name']} has no pinned profile."),
    ("classes", "delete"): lambda a: f"Class {a['class']} is deleted; its data is kept in {a.get('kept')}.",
    ("classes", "restore"): lambda a: f"Class {a['name']} is restored.",
    ("classes", "release"): lambda a: (f"Released {a['assignment']} of {a['class']} to "
                                       f"{len(a.get('released') or {})} students ({_due(a)})."),
    ("classes", "collect"): lambda a: (f"Collected {a['assignment']} of {a['class']}: {len(a.get('collected') or {})} "
                                       f"submissions, nothing from {_people(a.get('missing'))}."
                                       + (" Autograded." if "grades" in a else "")),
    ("classes", "feedback"): lambda a: (f"Returned feedback on {a['assignment']} of {a['class']} to "
                                        f"{_people(a.get('returned'))}."),
    ("classes", "due"): lambda a: f"{a['assignment']} of {a['class']}: {_due(a)}.",
    ("classes", "extend"): lambda a: (f"{a['student']}'s own due date for {a['assignment']} of {a['class']}: "
                                      f"{a.get('extended_until') or 'the assignment due date, ' + _scalar(a.get('due'))}."),
    ("classes", "exam"): lambda a: f"Class {a['name']}'s exam: {(a.get('exam') or {}).get('start')} to "
                                   f"{(a.get('exam') or {}).get('end')}.",
    ("workspaces", "create"): lambda a: (f"Workspace {a['name']} created for {a.get('owner')} at {a.get('folder')}: "
                                         f"members {_people(a.get('members'))}, readers {_people(a.get('readers'))}."),
    ("workspaces", "members"): lambda a: (f"Workspace {a['name']} now has members {_people(a.get('members'))}, "
                                          f"readers {_people(a.get('readers'))}."),
    ("workspaces", "delete"): lambda a: f"Workspace {a['workspace']} is deleted.",
}

#: What to do after the commands that start something (``{name}``: the class or workspace, ``{assignment}``).
_NEXT = {
    ("classes", "create"): (
        "Next: each person sets their password once at /hub/register with the class code `astrohub up` printed; "
        "instructors write each assignment in ~/classes/{name}/instructors/<assignment>/ and release it from the "
        "class page (Services -> astrohub-classes) or with `astrohub classes release {name} <assignment> --due "
        "<ISO date with time zone>`. Instructors find the class in ~/classes/{name}, its nbgrader course in "
        "~/grading/{name}."),
    ("classes", "release"): (
        "Next: students find it in ~/{name}/{assignment}/ and submit from the class page; after the due date, "
        "`astrohub classes collect {name} {assignment} --grade`, then `astrohub classes feedback {name} "
        "{assignment}`."),
    ("classes", "collect"): (
        "Next: grade written answers in formgrader (Nbgrader -> Formgrader -> Manual Grading), then `astrohub "
        "classes feedback {name} {assignment}`; scores: `astrohub classes grades {name}`."),
    ("workspaces", "create"): "Next: its members find it in ~/workspaces/{name} (at once, or at their server's next start).",
}


def _scalar(value: Any) -> str:
    if value is None or value == "":
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _record(value: dict) -> str:
    return ", ".join(f"{k} {_scalar(v) if not isinstance(v, (list, dict)) else _inline(v)}"
                     for k, v in value.items())


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_inline(v)}" for k, v in value.items()) or "none"
    if isinstance(value, list):
        return ", ".join(_inline(v) for v in value) or "none"
    return _scalar(value)


def _lines(value: Any, indent: str = "  ") -> list[str]:
    """``value`` as indented lines: a mapping one key a line (nested mappings and lists of records below it),
    a list of scalars on one line, a list of records one a line."""
    out = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict) and item:
                out += [f"{indent}{key}:", *_lines(item, indent + "  ")]
            elif isinstance(item, list) and any(isinstance(v, dict) for v in item):
                out += [f"{indent}{key}:", *(f"{indent}  {_record(v) if isinstance(v, dict) else _inline(v)}"
                                            for v in item)]
            else:
                out.append(f"{indent}{key}: {_inline(item)}")
    elif isinstance(value, list):
        out += [f"{indent}{_record(v) if isinstance(v, dict) else _inline(v)}" for v in value] or [f"{indent}none"]
    else:
        out.append(f"{indent}{_scalar(value)}")
    return out


def report(group: str, verb: str, answer: Any) -> str:
    """The text ``astrohub <group> <verb>`` prints for the service's ``answer``.

    Examples
    --------
    >>> print(report("classes", "release", {"class": "astro101", "assignment": "hw1", "released": {"ann": ["a.ipynb"]},
    ...                                     "due": None, "refuse_late": False, "late_penalty_per_hour": 0.0}))
    Released hw1 of astro101 to 1 students (no due date).
      class: astro101
      assignment: hw1
      released:
        ann: a.ipynb
      due: none
      refuse_late: no
      late_penalty_per_hour: 0
    Next: students find it in ~/astro101/hw1/ and submit from the class page; after the due date, `astrohub
      classes collect astro101 hw1 --grade`, then `astrohub classes feedback astro101 hw1`.
    """
    headline = _HEADLINES.get((group, verb))
    text = []
    if isinstance(answer, dict):
        if "message" in answer:  # the service's own sentence first
            text.append(str(answer["message"]))
        if headline is not None:
            try:
                text.insert(0, headline(answer))
            except KeyError:  # an answer of another shape: its details say it all
                pass
        text += _lines({k: v for k, v in answer.items() if k != "message"})
    else:
        text += _lines(answer)
    step = _NEXT.get((group, verb))
    if step and isinstance(answer, dict):
        name = answer.get("class") or answer.get("name") or "<name>"
        step = step.format(name=name, assignment=answer.get("assignment", "<assignment>"))
        text += textwrap.wrap(step, 110, subsequent_indent="  ", break_on_hyphens=False, break_long_words=False)
    return "\n".join(text)
