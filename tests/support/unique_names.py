"""Names for the shared platform of one test session, each owned by one test module: ``platform.unique``.

Owns :class:`UniqueNames`. A name becomes ``<name>-<session tag>``, so repeated runs never collide; and a name one
test module asked for is refused to every other (:class:`NameClash`, naming both modules). The integration and
browser tiers share one running platform, so two modules that both chose ``unique("term")`` made one class twice,
and whichever ran second failed with a 409 far from the cause. One module asks for its names as often as it likes.
Under pytest-xdist each worker is a session with a platform of its own, and modules on two workers never meet; a
clash is still found whichever worker each module ran on: the workers share one ``registry`` file (``name<TAB>module``
lines, appended under a lock), which the controller makes and names to each worker (``WORKER_REGISTRY``,
tests/conftest.py). On the path by tests/conftest.py (tests/support/); tests/integration/conftest.py holds one per
platform. May import the standard library only.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["NameClash", "UniqueNames", "WORKER_REGISTRY", "current_module"]

#: The key of pytest-xdist's ``workerinput`` naming the registry file the workers share (tests/conftest.py).
WORKER_REGISTRY = "astrohub_unique_names"


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
    #: The file every pytest-xdist worker of the run records its names in (``None``: this session alone).
    registry: Path | None = None

    def __call__(self, name: str, module: str | None = None) -> str:
        """``name-<tag>``; ``module``, the one asking, is :func:`current_module` unless given. Raises
        :class:`NameClash` naming both modules when another module asked for ``name`` before, in this session or,
        with a ``registry``, in another worker's."""
        module = current_module() if module is None else module
        if name not in self.owners and self.registry is not None:
            self.owners[name] = self._first_in_registry(name, module)
        owner = self.owners.setdefault(name, module)
        if owner != module:
            raise NameClash(
                f"unique({name!r}) was asked for by {owner or 'the harness, outside a test'} and now by "
                f"{module or 'the harness, outside a test'}: the tiers share one platform (one per xdist worker), so "
                f"on one both would make and change the same user, group or class {name}-{self.tag}; give one of "
                "them a name of its own")
        return f"{name}-{self.tag}"

    def _first_in_registry(self, name: str, module: str) -> str:
        """The module that asked for ``name`` first in any worker; ``module`` is recorded as asking (under an
        exclusive lock, so two workers asking at once agree on the first)."""
        with open(self.registry, "a+", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            fh.seek(0)
            for line in fh.read().splitlines():
                asked, _, owner = line.partition("\t")
                if asked == name:
                    return owner
            fh.write(f"{name}\t{module}\n")
            return module
