"""The unit tier's numba cache: a copy of the installed, compiled kernels, so the tier does not compile them again.

Install compiles the crossmatch kernel and hats' pixel-tree functions into the platform cache
(``platform_lib.crossmatch.platform_cache_dir()``: ``.venv/share/astrohub/numba-cache``, ``astrohub kernels
compile``). Without a ``NUMBA_CACHE_DIR`` the tier's processes compiled the kernel themselves into
``platform_lib/crossmatch/__pycache__`` (about 24 s of CI's unit tier: a fresh checkout has none), and hats'
functions in every process. Here each pytest run gets a folder of its own, seeded from the platform cache
(``seed_cache``, as the archive and every user server seed theirs), and pytest-xdist's workers inherit it:

- a copy, never the platform cache itself: what the tests compile (other signatures, other array layouts) must
  not land in the cache that user servers copy, and a test must not depend on what an earlier run left;
- still correct when a kernel's source changes after install: numba keeps the source file's time stamp and
  size in each index and compiles again (into this copy) when they differ, as it did with ``__pycache__``;
- set before anything imports numba (it reads ``NUMBA_CACHE_DIR`` when it is imported): this file is loaded
  before the tier's test modules, in pytest's main process before it starts the xdist workers. A
  ``NUMBA_CACHE_DIR`` already set (by whoever runs pytest) is kept, and seeded.

The process that made the folder removes it when its session ends.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

import pytest

_OWN = None
if not os.environ.get("NUMBA_CACHE_DIR"):
    assert "numba" not in sys.modules, "numba was imported before the unit tier set NUMBA_CACHE_DIR"
    _OWN = (os.getpid(), tempfile.mkdtemp(prefix="astrohub-unit-numba-"))
    os.environ["NUMBA_CACHE_DIR"] = _OWN[1]
# New and changed files only: an xdist worker finds its folder seeded already, a folder set before gets the kernels
from platform_lib.crossmatch import seed_cache  # noqa: E402 (after NUMBA_CACHE_DIR is set)

seed_cache()


def pytest_sessionfinish(session: pytest.Session) -> None:
    # sessionfinish, not unconfigure: `make test`'s hard exit (tests/conftest.py) comes before unconfigure
    if _OWN is not None and _OWN[0] == os.getpid():
        shutil.rmtree(_OWN[1], ignore_errors=True)
