"""The helm tier's fixtures: ``chart``, the offline chart (``_helm_support.build_chart``) loaded by helm-python-sdk.

Module scope, as each module had it: a module renders from its own copy of the chart. The helpers themselves are
in ``_helm_support.py`` (imported by path by the modules that call them).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import helm_python
import pytest

_spec = importlib.util.spec_from_file_location("_helm_support", Path(__file__).with_name("_helm_support.py"))
hs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hs)


@pytest.fixture(scope="module")
def chart(tmp_path_factory: pytest.TempPathFactory):
    """The chart, built into a temporary folder with stub subcharts and loaded for offline rendering."""
    with helm_python.Chart.load(hs.build_chart(tmp_path_factory.mktemp("chart"))) as loaded:
        yield loaded
