"""Every tier runs the kernels install compiled (tests/conftest.py), from a copy of its own that no platform gets
(tests/support/numba_cache.py)."""

from __future__ import annotations

import os
from pathlib import Path

from astrohub_server.numbacache import platform_numba_cache
from numba_cache import MADE, VARIABLE, platform_environment


def _files(folder: Path) -> set[Path]:
    return {p.relative_to(folder) for p in folder.rglob("*") if p.is_file()}


def test_the_unit_tier_has_a_copy_of_the_installed_numba_cache():
    """Without it each of the tier's processes compiled the crossmatch kernel (about 24 s of CI) into the
    checkout's ``__pycache__``. The copy, not the platform cache itself: the tests' own compiles stay out of what
    user servers copy."""
    cache = os.environ.get("NUMBA_CACHE_DIR")
    assert cache, "the unit tier runs without NUMBA_CACHE_DIR: each process compiles the kernels again"
    installed = _files(platform_numba_cache())
    assert installed, f"no compiled kernels in {platform_numba_cache()}: run make install-test"
    assert Path(cache).resolve() != platform_numba_cache().resolve()
    assert installed <= _files(Path(cache)), sorted(map(str, installed - _files(Path(cache))))


def test_a_platform_command_runs_without_the_test_runs_cache_and_keeps_one_set_before():
    """``astrohub up`` from a test gets the environment an operator's has: the run's own cache taken out (in an
    xdist worker too, which inherited both variables), a ``NUMBA_CACHE_DIR`` that whoever ran pytest set kept."""
    made = {"PATH": "/usr/bin", VARIABLE: "/tmp/astrohub-test-numba-x", MADE: "/tmp/astrohub-test-numba-x"}
    assert platform_environment(made) == {"PATH": "/usr/bin"}
    kept = {"PATH": "/usr/bin", VARIABLE: "/srv/mine"}
    assert platform_environment(kept) == kept
