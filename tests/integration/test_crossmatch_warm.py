"""``astrohub kernels compile``: the install step that fills the platform-wide numba cache.

Runs against a copy of this environment's cache (``make install`` filled it), so it loads compiled
code instead of compiling for a minute: the command's own work (a fresh process with
``NUMBA_CACHE_DIR``, files everyone can read, exit status) is what is checked.
"""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys

from platform_lib.crossmatch._warm import platform_cache_dir


def test_kernels_compile_fills_a_cache_everyone_can_read(tmp_path):
    assert any(platform_cache_dir().rglob("*.nbi")), "no platform numba cache: `make install` runs `astrohub kernels compile`"
    cache = tmp_path / "numba-cache"
    shutil.copytree(platform_cache_dir(), cache)
    for path in cache.rglob("*"):
        path.chmod(0o600 if path.is_file() else 0o700)
    result = subprocess.run([sys.executable, "-m", "platform_lib", "kernels", "compile", "--cache-dir", str(cache)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"compiled into {cache}" in result.stdout
    files = [p for p in cache.rglob("*") if p.is_file()]
    assert any(p.suffix == ".nbc" for p in files) and any(p.suffix == ".nbi" for p in files)
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in files)
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o755 for p in [cache, *cache.rglob("*")] if p.is_dir())
