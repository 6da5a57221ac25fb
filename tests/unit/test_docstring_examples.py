"""Every docstring example of platform_lib runs and shows what its docstring says (doctest), unless it is marked
``# doctest: +SKIP`` (it needs a platform, a user's files or the network).

Nothing ran them before: ``crossmatch._epoch.propagate``'s example said a star moving 3.6 arcsec a year had moved
10 arcsec in ten years (it moves 36, as the code says). The modules are found by their text (a ``>>>`` in the file),
so a module that gains an example is tested without a change here.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

import platform_lib

ROOT = Path(platform_lib.__file__).parent
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _modules_with_examples() -> list[str]:
    names = []
    for path in sorted(ROOT.rglob("*.py")):
        if path.name != "__main__.py" and ">>> " in path.read_text():
            parts = path.relative_to(ROOT.parent).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


@pytest.mark.parametrize("name", _modules_with_examples())
def test_a_modules_docstring_examples_run_as_written(name, restore_builtins):  # doctest's display hook sets _
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report: list[str] = []
    for test in doctest.DocTestFinder().find(module, name):
        runner.run(test, out=report.append)
    assert not runner.summarize(verbose=False).failed, "".join(report)


def test_the_modules_with_examples_are_found():
    names = _modules_with_examples()
    assert {"platform_lib.crossmatch._epoch", "platform_lib.storage", "platform_lib.retrieval"} <= set(names)
