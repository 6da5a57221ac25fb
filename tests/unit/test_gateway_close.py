"""dask-gateway's ``Gateway.close`` made idempotent (platform_lib.gateway's client fixes, applied by ``import
platform_lib``) and every user kernel's startup file.

dask-gateway 2026.3.0: a Gateway closed once is closed again by its ``__del__``, and that second close
raises (its loop has stopped), so Python prints "Exception ignored in: <function Gateway.__del__ ...>".
Run in a fresh interpreter each: the fix patches the class, and a collected object's error goes to stderr.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from astrohub_server.kernelstartup import STARTUP_FILE, use_kernel_startup

pytestmark = pytest.mark.unit

# No gateway is needed: a Gateway connects on its first request, and closing one stops the loop it started.
CLOSE_AND_COLLECT = """
import gc
from dask_gateway import Gateway
{fix}
gateway = Gateway("http://127.0.0.1:9")
gateway.close()
gateway.close()
del gateway
gc.collect()
print("collected")
"""


def _run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


@pytest.mark.parametrize("before", [True, False], ids=["platform_lib-first", "dask_gateway-first"])
def test_a_closed_gateway_is_collected_without_a_traceback(before):
    """``import platform_lib`` fixes ``Gateway.close`` whether dask_gateway is imported before or after it (lab15:
    the fix came only from a kernel's first cell importing dask_gateway, or from platform_lib's own callers)."""
    code = CLOSE_AND_COLLECT.format(fix="import platform_lib")
    if before:
        code = "import platform_lib\n" + code
    fixed = _run(code)
    assert fixed.returncode == 0 and fixed.stdout.strip() == "collected", fixed.stderr
    assert "Exception ignored" not in fixed.stderr and "Traceback" not in fixed.stderr, fixed.stderr


def test_the_fix_is_still_needed_for_the_installed_dask_gateway():
    """Without the fix the installed dask-gateway still raises on a second close: when this fails, upstream
    fixed it; lower ``AFFECTED_UP_TO`` no further and remove ``platform_lib.gateway``."""
    unfixed = _run(CLOSE_AND_COLLECT.format(fix=""))
    assert "Accessing the loop property while the loop is not running" in unfixed.stderr, unfixed.stderr


def test_every_kernel_applies_it_after_dask_gateway_is_imported():
    """The startup file (what IPython runs from PYTHONSTARTUP) in a real IPython shell: nothing is left in the
    user's namespace, and a cell that closes a Gateway and a later one that drops it print no traceback."""
    env = {}
    assert use_kernel_startup(env) and env["PYTHONSTARTUP"] == str(STARTUP_FILE)
    code = """
from IPython.testing.globalipapp import start_ipython
shell = start_ipython()
shell.safe_execfile({startup!r}, shell.user_ns)
assert not [name for name in shell.user_ns if 'astrohub' in name]
shell.run_cell("from dask_gateway import Gateway\\ng = Gateway('http://127.0.0.1:9')\\ng.close()")
shell.run_cell("import gc\\ng = None\\ngc.collect()\\nprint('collected')")
""".format(startup=str(STARTUP_FILE))
    result = _run(code)
    assert result.returncode == 0 and "collected" in result.stdout, result.stderr
    assert "Exception ignored" not in result.stderr + result.stdout, result.stderr + result.stdout


def test_a_users_own_startup_file_is_kept():
    mine = {"PYTHONSTARTUP": "/home/ann/.pythonrc"}
    assert not use_kernel_startup(mine) and mine["PYTHONSTARTUP"] == "/home/ann/.pythonrc"


def test_import_platform_lib_makes_dask_gateway_clusters_check_before_stopping():
    """``import platform_lib`` (every kernel's startup file does) installs platform_lib.gateway's check on
    ``GatewayCluster`` and its ``Gateway.close`` fix when dask_gateway is imported later, and at once when it
    already was."""
    for order in ("import platform_lib\nimport dask_gateway", "import dask_gateway\nimport platform_lib"):
        result = _run(order + "\nfrom dask_gateway import Gateway, GatewayCluster\n"
                      "assert GatewayCluster._stop_internal._astrohub_checked\n"
                      "assert Gateway.close._astrohub_idempotent\nprint('checked')")
        assert result.returncode == 0 and result.stdout.strip() == "checked", result.stderr
