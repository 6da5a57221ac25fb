"""What a class pins on its members' servers, as hub group properties: the profile and the exam window.

Owns the two property names the classes service writes on a class's hub groups (``<class>-students``,
``<class>-instructors``) and :func:`class_pins`, which both spawners read at each start (``local`` for
local processes, ``kubernetes`` for KubeSpawner's ``profile_list``); and :func:`taught_classes`, the classes
whose formgrader an instructor's server serves (``local``). Pure; imports the standard library only.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

__all__ = ["EXAM_PROPERTY", "INSTRUCTORS_SUFFIX", "PROFILE_PROPERTY", "class_pins", "group_properties",
           "member_classes", "taught_classes", "studied_classes"]

#: The slug of the profile the class pins for its members.
PROFILE_PROPERTY = "astrohub-profile"
#: ``{"start": epoch s, "end": epoch s}``: servers started inside get guarantees equal to their limits.
EXAM_PROPERTY = "astrohub-exam"
#: A class's instructors are the hub group ``<class>-instructors`` (the classes service keeps it).
INSTRUCTORS_SUFFIX = "-instructors"
#: and its students the hub group ``<class>-students``.
STUDENTS_SUFFIX = "-students"


def group_properties(user: Any) -> list[tuple[str, Mapping[str, Any]]]:
    """``(name, properties)`` of a hub user's groups (JupyterHub's ORM objects, or anything alike)."""
    return [(g.name, getattr(g, "properties", None) or {}) for g in getattr(user, "groups", [])]


def class_pins(groups: Iterable[tuple[str, Mapping[str, Any]]], now: float) -> tuple[str | None, bool]:
    """``(pinned profile slug or None, in an exam window)`` from ``(group name, properties)`` pairs.

    A user in several classes with pinned profiles gets the first by group name.

    Examples
    --------
    >>> class_pins([("b", {"astrohub-profile": "lab"}), ("a", {"astrohub-exam": {"start": 0, "end": 10}})], 5)
    ('lab', True)
    """
    pinned, exam = None, False
    for _name, props in sorted(groups, key=lambda item: item[0]):
        slug = props.get(PROFILE_PROPERTY)
        if pinned is None and isinstance(slug, str) and slug:
            pinned = slug
        window = props.get(EXAM_PROPERTY)
        if isinstance(window, Mapping):
            try:
                exam = exam or float(window["start"]) <= now <= float(window["end"])
            except (KeyError, TypeError, ValueError):
                pass
    return pinned, exam


def taught_classes(group_names: Iterable[str]) -> list[str]:
    """The classes whose instructors' group is among ``group_names``, by name (a class is checked on disk by
    the caller: a team may end in ``-instructors`` too).

    Examples
    --------
    >>> taught_classes(["b-instructors", "a-students", "a-instructors", "-instructors", "../x-instructors"])
    ['a', 'b']
    """
    return _classes(group_names, INSTRUCTORS_SUFFIX)


def studied_classes(group_names: Iterable[str]) -> list[str]:
    """The classes whose students' group is among ``group_names``, by name (checked on disk by the caller).

    Examples
    --------
    >>> studied_classes(["b-students", "a-instructors", "a-students", "-students", ".x-students"])
    ['a', 'b']
    """
    return _classes(group_names, STUDENTS_SUFFIX)


def member_classes(group_names: Iterable[str]) -> list[str]:
    """The classes whose instructors' or students' group is among ``group_names``, by name (checked on disk by
    the caller).

    Examples
    --------
    >>> member_classes(["b-students", "a-instructors", "a-students", "team"])
    ['a', 'b']
    """
    names = list(group_names)
    return sorted({*_classes(names, INSTRUCTORS_SUFFIX), *_classes(names, STUDENTS_SUFFIX)})


def _classes(group_names: Iterable[str], suffix: str) -> list[str]:
    names = (name[:-len(suffix)] for name in group_names if name.endswith(suffix))
    return sorted(n for n in names if n and "/" not in n and not n.startswith("."))  # a folder's name, no path
