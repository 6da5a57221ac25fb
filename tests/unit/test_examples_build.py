"""The tutorials built by ``examples/_src/build.py`` are the notebooks in ``examples/``.

The journeys run the notebooks; the cell lists in build.py are where they are edited. An edit made to a
notebook alone is undone by the next build (it happened once to gw-skymap's text), so the two must agree.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _build_module():
    spec = importlib.util.spec_from_file_location("examples_build", EXAMPLES / "_src" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BUILD = _build_module()


@pytest.mark.parametrize("name", sorted(BUILD.TUTORIALS))
def test_notebook_is_what_build_py_writes(name):
    on_disk = nbformat.read(EXAMPLES / f"{name}.ipynb", as_version=4)
    built = BUILD.notebook(name)
    assert [(c.cell_type, c.id, c.source) for c in on_disk.cells] == [
        (c.cell_type, c.id, c.source) for c in built.cells
    ], f"examples/{name}.ipynb differs from examples/_src/build.py: edit build.py and run it"
