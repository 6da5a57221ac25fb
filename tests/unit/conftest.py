"""The unit tier's process-wide state: a guard that no test leaves names in ``builtins``. (Its numba cache, a copy
of the installed, compiled kernels, is every tier's: tests/conftest.py, tests/support/numba_cache.py.)

The guard (``_builtins_left_as_found``): an in-process IPython shell puts ``__IPYTHON__`` and ``display`` into
``builtins`` and ``InteractiveShell.clear_instance()`` leaves them there. astropy, imported later in the same
xdist worker, then believes it runs in IPython (``astropy.logger._WITHIN_IPYTHON`` is read from ``__IPYTHON__``
at import) and its logger's set-up fails on ``get_ipython()`` being None (``'NoneType' object has no attribute
'custom_exceptions'``), in whichever test of the worker imports astropy first. A test that starts a shell must
put ``builtins`` back (``restore_builtins``); the guard fails the test that did not.
"""

from __future__ import annotations

import builtins

import pytest

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
