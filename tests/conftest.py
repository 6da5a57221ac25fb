"""Test tiers: every test lives under tests/<tier>/ and gets that tier's marker here.

Tiers: unit (pure), integration (real servers on free ports), browser (headless Chromium), helm
(offline chart checks). Run one tier with ``pytest -m unit``. Shared fixtures for a tier live in that
tier's own conftest.py. What every tier's process shares is set up here: ``tests/support/`` on the path, the
Hypothesis profile, the run's own numba cache (a copy of the kernels the install compiled, set before anything
imports numba: tests/support/numba_cache.py) and ``make test``'s hard exit.
"""

from __future__ import annotations

import gc
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

# Helpers every tier imports by module name (``from tornado_thread import serving``): tests/support/, on the
# path once here, since the tiers run in pytest processes of their own and share no conftest fixtures.
sys.path.insert(0, str(Path(__file__).parent / "support"))

# Under `make test` a skip is a failure (a test that did not run): the hooks live in tests/support/no_skips.py.
from no_skips import pytest_make_collect_report, pytest_runtest_makereport  # noqa: E402,F401 (hooks, by name)

# Each pytest run loads the crossmatch kernels and hats' functions the install compiled, from a copy of its own,
# and the processes it starts inherit it; never a platform (`astrohub up` runs with platform_environment()).
from numba_cache import remove_own_cache, use_own_cache  # noqa: E402 (tests/support/)

use_own_cache()

# Property tests draw the same examples on every run (CI must not pass or fail by chance); a wider, random
# search is `HYPOTHESIS_PROFILE=explore pytest ...`, and what it finds becomes an @example or a test.
# Only the profiles set derandomize and the database: a test's @settings never does (it would win over the
# profile, and explore would draw the CI examples again; tests/unit/test_hypothesis_profiles.py checks).
# A test's own max_examples (its CI cost) stays in force under explore; 500 is for those that set none.
settings.register_profile("ci", derandomize=True, database=None)
# Each profile names both settings: under a CI environment variable Hypothesis loads its own "ci" profile
# (derandomize=True) first, and a profile registered without them would inherit that.
settings.register_profile("explore", max_examples=500, derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

TIERS = ("unit", "integration", "browser", "helm")

from unique_names import WORKER_REGISTRY  # noqa: E402 (tests/support/, on the path just above)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(__file__).parent
    for item in items:
        tier = Path(item.fspath).relative_to(root).parts[0]
        if tier not in TIERS:
            raise pytest.UsageError(f"{item.nodeid}: tests must live in one of tests/{{{','.join(TIERS)}}}/")
        item.add_marker(getattr(pytest.mark, tier))


# `make test` sets ASTROHUB_TEST_HARD_EXIT=1: once pytest has reported, its process ends with the session's
# exit status without the interpreter's finalization, where CPython 3.11.2 (Debian 12's) has crashed after
# every test had passed (a segfault collecting the garbage of hundreds of servers, clients and widgets).
# The exit comes as soon as every other pytest_sessionfinish has run (this wrapper is the outermost, so the
# summary is printed and the cache written), before any plugin's pytest_unconfigure: a crash once came there,
# after "417 passed", with the cyclic collector still on. From the session's end on it is off: the process
# is about to end, and nothing is left to collect that matters.
# A failing test still fails the run: the status is the session's own.
@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int):
    hard_exit = os.environ.get("ASTROHUB_TEST_HARD_EXIT") == "1"
    if hard_exit:
        gc.disable()
    yield
    names = getattr(session.config, "_astrohub_names_dir", None)  # the xdist controller's (pytest_configure_node)
    if names is not None:
        shutil.rmtree(names, ignore_errors=True)
    remove_own_cache()  # here, not in pytest_unconfigure: the hard exit comes first
    if hard_exit:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(int(session.exitstatus))


# pytest-xdist's controller: every worker of the run records the names its platform.unique() gave out in one file, so
# two test modules asking for one name clash whichever workers they ran on (tests/support/unique_names.py); the
# controller makes the file's folder before the first worker starts and removes it when the run is over
# (pytest_sessionfinish above: the workers are done by then).
@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    config = node.config
    if not hasattr(config, "_astrohub_names_dir"):
        config._astrohub_names_dir = tempfile.mkdtemp(prefix="astrohub-names-")
    node.workerinput[WORKER_REGISTRY] = os.path.join(config._astrohub_names_dir, "names.tsv")
