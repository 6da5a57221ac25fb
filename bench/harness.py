"""What several benchmarks share: the integration tests' platform harness (``tests/integration/conftest.py``)
for the benchmarks that start a real platform (``load.py``, ``platform_startup.py``, ``fuzz_user_server.py``):
``start_platform``, ``stop_platform`` and the rest, loaded once under one module name; any other test module by
path; and :func:`best_of`, the "best of N runs" timing. Imports only the standard library.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

__all__ = ["TESTS", "best_of", "load_module", "platform_harness"]

TESTS = Path(__file__).resolve().parents[1] / "tests"


def load_module(name: str, path: Path):
    """The Python file ``path`` as the module ``name`` (loaded on the first call, then taken from ``sys.modules``)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def platform_harness():
    """``tests/integration/conftest.py`` as a module."""
    return load_module("astrohub_platform_harness", TESTS / "integration" / "conftest.py")


def best_of(fn, repeat: int) -> tuple[float, object]:
    """(the fewest seconds one of ``repeat`` calls of ``fn()`` took, the last call's result)."""
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out
