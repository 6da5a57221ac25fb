"""Names for the shared platform of one test session, each owned by one test module: ``platform.unique``.

Owns :class:`UniqueNames`. A name becomes ``<name>-<session tag>``, so repeated runs never collide; and a name one
test module asked for is refused to every other (:class:`NameClash`, naming both modules). The integration and
browser tiers share one running platform, so two modules that both chose ``unique("term")`` made one class twice,
and whichever ran second failed with a 409 far from the cause. One module asks for its names as often as it likes.
On the path by tests/conftest.py (tests/support/); tests/integration/conftest.py holds one per platform. May
import the standard library only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

__all__ = ["NameClash", "UniqueNames", "current_module"]


class NameClash(AssertionError):
    """A name that another test module asked for already."""


def current_module() -> str:
    """The test module pytest runs now (a test's setup, call or teardown, module fixtures' too), from its
    ``PYTEST_CURRENT_TEST`` (``tests/integration/test_x.py::test_y (call)``); ``""`` outside any test."""
    return os.environ.get("PYTEST_CURRENT_TEST", "").split("::", 1)[0]


@dataclass
class UniqueNames:
    """``names(name)``: ``name`` with the session's ``tag``, for the test module that asks first only."""

    tag: str
    #: Each name asked for -> the module that asked first.
    owners: dict[str, str] = field(default_factory=dict)

    def __call__(self, name: str, module: str | None = None) -> str:
        """``name-<tag>``; ``module``, the one asking, is :func:`current_module` unless given. Raises
        :class:`NameClash` naming both modules when another module asked for ``name`` before."""
        module = current_module() if module is None else module
        owner = self.owners.setdefault(name, module)
        if owner != module:
            raise NameClash(
                f"unique({name!r}) was asked for by {owner or 'the harness, outside a test'} and now by "
                f"{module or 'the harness, outside a test'}: the tiers share one platform, so both would make and "
                f"change the same user, group or class {name}-{self.tag}; give one of them a name of its own")
        return f"{name}-{self.tag}"
