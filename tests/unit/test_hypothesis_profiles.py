"""The Hypothesis profiles of tests/conftest.py reach every property test: CI draws fixed examples, and
``HYPOTHESIS_PROFILE=explore`` a random search. A test whose ``@settings`` names ``derandomize`` wins over
the profile, so explore would only repeat the CI examples there."""

from __future__ import annotations

import ast
import os
from pathlib import Path

from hypothesis import settings

TESTS = Path(__file__).resolve().parents[1]
#: Settings that belong to the profiles alone.
PROFILE_ONLY = {"derandomize"}


def _keywords_fixed_by_tests() -> list[str]:
    found = []
    for path in sorted(TESTS.rglob("*.py")):
        if path.name == "conftest.py" and path.parent == TESTS:
            continue  # where the profiles are registered
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                for kw in node.keywords:
                    if kw.arg in PROFILE_ONLY:
                        found.append(f"{path.relative_to(TESTS)}:{node.lineno} sets {kw.arg}=")
    return found


def test_no_test_fixes_what_the_profile_decides():
    offenders = _keywords_fixed_by_tests()
    assert not offenders, "leave these to the profile (tests/conftest.py):\n" + "\n".join(offenders)


def test_the_profile_in_force_decides_derandomize():
    profile = os.environ.get("HYPOTHESIS_PROFILE", "ci")
    assert settings.default.derandomize is settings.get_profile(profile).derandomize
    assert settings.get_profile("ci").derandomize and not settings.get_profile("explore").derandomize
