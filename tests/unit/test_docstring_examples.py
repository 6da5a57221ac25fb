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


def _resolve(dotted: str):
    """The object ``dotted`` names: a module, or attributes of one (``platform_lib.catalogs.Registry.search``)."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for part in parts[i:]:
            obj = getattr(obj, part)
        return obj
    raise ModuleNotFoundError(dotted)


def _tutorial_calls() -> dict[str, set[str]]:
    """``{"platform_lib.viz.plot": {"images", ...}}``: the platform_lib functions and classes that the tutorials of
    ``examples/`` call, by name (``from platform_lib.x import f; f(...)``, ``from platform_lib import viz;
    viz.plot(...)``, ``platform_lib.get_settings()``), with the tutorials that call them."""
    import ast
    import inspect

    import nbformat

    calls: dict[str, set[str]] = {}
    for path in sorted((ROOT.parent / "examples").glob("*.ipynb")):
        names = {"platform_lib": "platform_lib"}  # a name in the notebook -> what it imports
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            tree = ast.parse("\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith("%")))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("platform_lib"):
                    names.update({a.asname or a.name: f"{node.module}.{a.name}" for a in node.names})
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                if isinstance(func, ast.Name) and func.id in names:
                    dotted = names[func.id]
                elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in names:
                    dotted = f"{names[func.value.id]}.{func.attr}"
                else:
                    continue
                if not inspect.ismodule(_resolve(dotted)):
                    calls.setdefault(dotted, set()).add(path.stem)
    return calls


def test_every_function_a_tutorial_calls_has_an_example_in_its_docstring():
    """firsthour25: ``help(image_search)``, ``help(viz.plot)``, ``help(viz.show)``, ``help(covering)``,
    ``help(jobs.submit)`` and others the tutorials call showed no example: a newcomer changing a tutorial's cell
    found the parameters but not a call to copy. Each now has one (run on the platform where it is skipped here)."""
    import inspect

    calls = _tutorial_calls()
    assert {"platform_lib.retrieval.image_search", "platform_lib.viz.plot", "platform_lib.get_settings"} <= set(calls)
    missing = {name: sorted(notebooks) for name, notebooks in calls.items()
               if ">>> " not in (inspect.getdoc(_resolve(name)) or "")}
    assert not missing, f"no example in the docstring of (called by the tutorials): {missing}"


def test_help_names_each_function_a_tutorial_calls_as_the_tutorial_calls_it():
    """firsthour25: ``help(viz.credible_region)`` (see-the-sky calls it) was headed ``credible_cells(skymap, level)``,
    the name of the function behind it, which a newcomer then could not find."""
    wrong = {name: _resolve(name).__name__ for name in _tutorial_calls()
             if getattr(_resolve(name), "__name__", name.rpartition(".")[2]) != name.rpartition(".")[2]}
    assert not wrong, wrong
