"""A test run's own numba cache: a copy of the kernels the install compiled, for the test processes alone.

Owns :func:`use_own_cache` (what tests/conftest.py calls for every tier, before anything imports numba),
:func:`remove_own_cache` and :func:`platform_environment`. On the path by tests/conftest.py
(tests/support/). May import the standard library, and ``platform_lib.crossmatch`` once ``NUMBA_CACHE_DIR`` is set.

Install compiles the crossmatch kernel and hats' pixel-tree functions into the platform cache
(``platform_lib.crossmatch.platform_cache_dir()``: ``.venv/share/astrohub/numba-cache``, ``astrohub kernels
compile``). A test process without ``NUMBA_CACHE_DIR`` compiled them again, into the checkout's
``platform_lib/crossmatch/__pycache__`` and hats' own (a fresh CI checkout has neither): about 24 s of the unit
tier, and 25 to 65 s of the integration tier's pytest process and of the processes it starts (job runners,
Dask's local workers, a test's own archive service). Here each pytest run gets a folder of its own, seeded
from the platform cache (``seed_cache``, as the archive and every user server seed theirs), and the processes
it starts (pytest-xdist's workers too) inherit it:

- a copy, never the platform cache itself: what the tests compile (other signatures, other array layouts) must
  not land in the cache that user servers copy, and a test must not depend on what an earlier run left;
- still correct when a kernel's source changes after install: numba keeps the source file's time stamp and
  size in each index and compiles again (into this copy) when they differ, as it did with ``__pycache__``;
- set before anything imports numba (it reads ``NUMBA_CACHE_DIR`` when it is imported). A ``NUMBA_CACHE_DIR``
  already set (by whoever runs pytest) is kept, and seeded;
- a folder only the test process's user can write (``mkdtemp``): a process of another user (a test's system
  user) finds it unwritable and numba uses the cache it would use anyway;
- never in a platform's environment: ``astrohub up`` (the harness's and a test's own) runs with
  :func:`platform_environment`, the environment pytest was started with, as an operator's would be. The
  platform gives each process that runs the kernel a cache of its own (the archive's, each user's).

The process that made the folder removes it (:func:`remove_own_cache`) when its session ends.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from typing import Mapping

VARIABLE = "NUMBA_CACHE_DIR"
#: The folder a test run made, in the environment too: pytest-xdist's workers and the processes a test starts
#: inherit both variables, and :func:`platform_environment` takes out a ``NUMBA_CACHE_DIR`` naming that folder.
MADE = "ASTROHUB_TEST_NUMBA_CACHE"
#: (pid, folder) of the folder this process made, or None.
_OWN: tuple[int, str] | None = None


def use_own_cache() -> str:
    """Point ``NUMBA_CACHE_DIR`` at a folder of this test run's (made unless one is set) and seed it with the
    kernels the install compiled; the folder. New and changed files only: a second call, or an xdist worker
    that inherited the folder, copies nothing again."""
    global _OWN
    if not os.environ.get(VARIABLE):
        assert "numba" not in sys.modules, f"numba was imported before tests/conftest.py set {VARIABLE}"
        _OWN = (os.getpid(), tempfile.mkdtemp(prefix="astrohub-test-numba-"))
        os.environ[VARIABLE] = os.environ[MADE] = _OWN[1]
    from platform_lib.crossmatch import seed_cache  # after NUMBA_CACHE_DIR is set: it may import numba

    seed_cache()
    return os.environ[VARIABLE]


def remove_own_cache() -> None:
    """Remove the folder :func:`use_own_cache` made, in the process that made it (not in an xdist worker)."""
    if _OWN is not None and _OWN[0] == os.getpid():
        shutil.rmtree(_OWN[1], ignore_errors=True)


def platform_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``environ`` (default ``os.environ``) without the test run's own cache: what a platform command
    (``astrohub up``) runs with, as pytest was started (a ``NUMBA_CACHE_DIR`` set before pytest stays)."""
    env = dict(os.environ if environ is None else environ)
    made = env.pop(MADE, None)
    if made is not None and env.get(VARIABLE) == made:
        del env[VARIABLE]
    return env
