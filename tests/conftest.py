"""Test tiers: every test lives under tests/<tier>/ and gets that tier's marker here.

Tiers: unit (pure), integration (real servers on free ports), browser (headless Chromium), helm
(offline chart checks). Run one tier with ``pytest -m unit``. Shared fixtures for a tier live in that
tier's own conftest.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TIERS = ("unit", "integration", "browser", "helm")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(__file__).parent
    for item in items:
        tier = Path(item.fspath).relative_to(root).parts[0]
        if tier not in TIERS:
            raise pytest.UsageError(f"{item.nodeid}: tests must live in one of tests/{{{','.join(TIERS)}}}/")
        item.add_marker(getattr(pytest.mark, tier))
