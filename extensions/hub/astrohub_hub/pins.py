"""What a class pins on its members' servers, as hub group properties: the profile and the exam window.

Owns the two property names the classes service writes on a class's hub groups (``<class>-students``,
``<class>-instructors``) and :func:`class_pins`, which both spawners read at each start (``local`` for
local processes, ``kubernetes`` for KubeSpawner's ``profile_list``). Pure; imports the standard library only.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

__all__ = ["EXAM_PROPERTY", "PROFILE_PROPERTY", "class_pins", "group_properties"]

#: The slug of the profile the class pins for its members.
PROFILE_PROPERTY = "astrohub-profile"
#: ``{"start": epoch s, "end": epoch s}``: servers started inside get guarantees equal to their limits.
EXAM_PROPERTY = "astrohub-exam"


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
