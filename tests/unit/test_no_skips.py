"""Under ``make test`` (``ASTROHUB_TEST_NO_SKIPS=1``) a skipped test fails, naming its reason; run by hand it stays
a skip. A pytest run of its own on a file of three tests: a skip in the body, a ``skipif`` mark, and a module that
``importorskip``s a package that does not exist (each a form the tree uses), with tests/support/no_skips.py as
its plugin, as tests/conftest.py loads it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SUPPORT = Path(__file__).resolve().parents[1] / "support"

BODY = '''
import pytest

def test_skips_in_its_body():
    pytest.skip("no STILTS here")

@pytest.mark.skipif(True, reason="needs root")
def test_skipped_by_a_mark():
    pass

def test_runs():
    pass
'''
MODULE = 'import pytest\npytest.importorskip("no_such_package_anywhere")\n\ndef test_never_collected():\n    pass\n'


def _pytest(tmp_path: Path, no_skips: str | None) -> subprocess.CompletedProcess:
    (tmp_path / "test_body.py").write_text(BODY)
    (tmp_path / "test_module.py").write_text(MODULE)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "ASTROHUB_TEST_"))}
    env["PYTHONPATH"] = str(SUPPORT)
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # just pytest and this plugin: a second's start, not twenty
    if no_skips is not None:
        env["ASTROHUB_TEST_NO_SKIPS"] = no_skips
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no_skips", "-p", "no:cacheprovider", "-q", "-rA",
                           "--continue-on-collection-errors", "-c", os.devnull, "--rootdir", str(tmp_path),
                           str(tmp_path)], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)


def test_under_make_test_every_skip_fails_and_names_its_reason(tmp_path):
    run = _pytest(tmp_path, "1")
    assert run.returncode == 1, run.stdout + run.stderr
    out = run.stdout
    assert "1 passed" in out and "1 failed" in out and "2 errors" in out, out  # body: failed; mark, module: errors
    for reason in ("no STILTS here", "needs root", "no_such_package_anywhere"):
        assert f"{reason}" in out and "skipped under `make test`" in out, (reason, out)
    assert "skipped" not in out.splitlines()[-1], out


def test_by_hand_a_skip_stays_a_skip(tmp_path):
    run = _pytest(tmp_path, None)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed, 3 skipped" in run.stdout.splitlines()[-1], run.stdout
