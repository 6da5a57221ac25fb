"""Under ``make test`` a skipped test is a failed one: the pytest hooks that make it so.

Owns :func:`refused` and the two hooks tests/conftest.py takes from here. ``make test`` (what CI runs) sets
``ASTROHUB_TEST_NO_SKIPS=1``. Every skip in the tree is for a machine that lacks something ``make install-test``
installs or that CI has (root, STILTS, setfacl, the test data, the archive service, two cores), so a skip there
means a test did not run and the run still said "passed": it now fails, naming the reason. Run by hand (no
variable) a skip stays a skip, as it should on a laptop without root.

A reason may be allowed in :data:`ALLOWED` (a fact of the machine CI cannot change); none is today. On the path
by tests/conftest.py (tests/support/); may import pytest and the standard library only.
"""

from __future__ import annotations

import os

import pytest

__all__ = ["ALLOWED", "VARIABLE", "pytest_make_collect_report", "pytest_runtest_makereport", "refused"]

VARIABLE = "ASTROHUB_TEST_NO_SKIPS"
#: Parts of skip reasons that stay skips under ``make test``.
ALLOWED: tuple[str, ...] = ()


def refused(report) -> str | None:
    """The reason of a skip that must fail under ``make test``; None for any other report."""
    if os.environ.get(VARIABLE) != "1" or not report.skipped or hasattr(report, "wasxfail"):
        return None
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return None if any(part in reason for part in ALLOWED) else reason


def _fail(report, reason: str) -> None:
    report.outcome = "failed"
    report.longrepr = (f"skipped under `make test` ({VARIABLE}=1), where every test must run: {reason}. "
                       "Install what it needs (`make install-test`), or, if the CI machine can never have it, "
                       "add the reason to tests/support/no_skips.py's ALLOWED and say why there")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    reason = refused(report)
    if reason is not None:
        _fail(report, reason)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    report = outcome.get_result()
    reason = refused(report)  # a module-level pytest.importorskip / pytest.skip(allow_module_level=True)
    if reason is not None:
        _fail(report, reason)
