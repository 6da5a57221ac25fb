"""The integration tests' platform harness (``tests/integration/conftest.py``) for the benchmarks that start
a real platform (``load.py``, ``platform_startup.py``): ``start_platform``, ``stop_platform`` and the rest,
loaded once under one module name. Imports only the standard library.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

__all__ = ["platform_harness"]

CONFTEST = Path(__file__).resolve().parents[1] / "tests" / "integration" / "conftest.py"


def platform_harness():
    """``tests/integration/conftest.py`` as a module (loaded on the first call)."""
    name = "astrohub_platform_harness"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, CONFTEST)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
