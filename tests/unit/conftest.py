"""The unit tier's process-wide state: its numba cache, and a guard that no test leaves names in ``builtins``.

The numba cache is a copy of the installed, compiled kernels, so the tier does not compile them again.

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

The guard (``_builtins_left_as_found``): an in-process IPython shell puts ``__IPYTHON__`` and ``display`` into
``builtins`` and ``InteractiveShell.clear_instance()`` leaves them there. astropy, imported later in the same
xdist worker, then believes it runs in IPython (``astropy.logger._WITHIN_IPYTHON`` is read from ``__IPYTHON__``
at import) and its logger's set-up fails on ``get_ipython()`` being None (``'NoneType' object has no attribute
'custom_exceptions'``), in whichever test of the worker imports astropy first. A test that starts a shell must
put ``builtins`` back (``restore_builtins``); the guard fails the test that did not.
"""

from __future__ import annotations

import builtins
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


#: Names a library puts into ``builtins`` once, at its first import, and never takes back: not a test's doing.
#: astroquery's ``_astropy_init`` sets ``_ASTROPY_SETUP_ = False`` (the first unit test to import astroquery
#: otherwise failed here, whichever it was: an order-dependent failure under xdist).
_SET_BY_IMPORTS = frozenset({"_ASTROPY_SETUP_"})


@pytest.fixture(autouse=True)
def _builtins_left_as_found():
    before = dict(vars(builtins))
    yield
    added = sorted(set(vars(builtins)) - set(before) - _SET_BY_IMPORTS)
    changed = sorted(k for k, v in before.items() if k in vars(builtins) and vars(builtins)[k] is not v)
    assert not added and not changed, (
        f"the test left builtins changed (added {added}, replaced {changed}); later imports in this process see "
        "them (astropy's logger takes `__IPYTHON__` for a running IPython): put them back (`restore_builtins`)"
    )


@pytest.fixture
def restore_builtins():
    """Puts ``builtins`` back as the test found it (for a test that starts an IPython shell in-process)."""
    before = dict(vars(builtins))
    yield
    for name in set(vars(builtins)) - set(before):
        delattr(builtins, name)
    vars(builtins).update(before)
