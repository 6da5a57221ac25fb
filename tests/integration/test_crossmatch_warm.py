"""``astrohub kernels compile``: the install step that fills the platform-wide numba cache.

Runs against a copy of this environment's cache (``make install`` filled it), so it loads compiled
code instead of compiling for a minute: the command's own work (a fresh process with
``NUMBA_CACHE_DIR``, files everyone can read, exit status) is what is checked.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

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
    assert any(cache.glob("pixel_tree_*/pixel_alignment.perform_align_trees-*.nbi"))  # hats' align_trees too
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in files)
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o755 for p in [cache, *cache.rglob("*")] if p.is_dir())


#: A crossmatch job's steps in a fresh process (the job writing a HATS result with its margin, ``open_catalog``
#: on two tables, lsdb aligning their pixel trees, the negative tree a margin cache plans with), then
#: every numba function it ran: what was loaded from the cache (hits) and what was compiled (misses).
_JOB_PATH = """
import json, sys
from pathlib import Path
import numpy as np, pandas as pd
from numba.core.registry import CPUDispatcher
from lsdb.operations.functions.merge_catalog_functions import align_catalogs
from platform_lib.crossmatch._dask import open_catalog

rng = np.random.default_rng(1)
frames = [pd.DataFrame({"ra": rng.uniform(0, 360, 500), "dec": rng.uniform(-60, 60, 500)}) for _ in range(2)]
from astropy.table import Table
from platform_lib.jobs._runner import _write_hats
# first: it enables the cache itself
_write_hats(Table.from_pandas(frames[0]), Path(sys.argv[1]) / "result", None, "result")
left, right = (open_catalog(f, ("ra", "dec"), 5.0, side) for f, side in zip(frames, ("left", "right")))
align_catalogs(left, right)
left.hc_structure.generate_negative_tree_pixels()
stats = {}
for module in list(sys.modules.values()):
    for name, value in list(vars(module).items()) if module else []:
        if isinstance(value, CPUDispatcher) and value.py_func.__module__ == module.__name__:
            s = value.stats
            stats[f"{module.__name__}.{name}"] = [sum(s.cache_hits.values()), sum(s.cache_misses.values())]
print(json.dumps(stats))
"""


def test_a_fresh_process_loads_hats_align_trees_compiled_at_install(tmp_path):
    """hats' ``align_trees`` (lsdb's crossmatch, every margin cache) is numba code hats does not cache: each
    fresh process compiled it (6 s of CPU and more). ``astrohub kernels compile`` now compiles it into the
    platform cache and the job path enables numba's cache on it: seeded from the install's cache (as a user
    server or the archive is), a fresh process loads it, and nothing on that path compiles."""
    import json

    from platform_lib.crossmatch import seed_cache

    assert any(platform_cache_dir().glob("pixel_tree_*/pixel_alignment.perform_align_trees-*.nbi")), \
        "hats' align_trees is not in the platform numba cache: `make install` runs `astrohub kernels compile`"
    cache = tmp_path / "numba-cache"
    assert seed_cache(cache) > 0
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    result = subprocess.run([sys.executable, "-c", _JOB_PATH, str(tmp_path)], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    stats = json.loads(result.stdout.strip().splitlines()[-1])
    assert stats["hats.pixel_tree.pixel_alignment.perform_inner_align_trees"][0] >= 1  # loaded, not compiled
    assert stats["hats.pixel_tree.pixel_alignment.perform_align_trees"][0] >= 1
    assert {name: hm for name, hm in stats.items() if hm[1]} == {}, "compiled in a fresh process"


def test_the_tier_loads_the_installed_kernels_from_a_copy_that_no_platform_process_gets(platform):
    """The tier's pytest process and what it starts (job runners, Dask's local workers, a test's own archive)
    compiled the crossmatch kernel and hats' functions again, 25 to 65 s each time a process found no cache
    (a fresh CI checkout has none in its ``__pycache__``). They now load them from a copy of the platform cache
    (tests/conftest.py), which the platform under test never sees: its processes run as an operator's would,
    each with the cache the platform gives it (the archive's, each user's) or none."""
    import json

    import psutil

    cache = os.environ.get("NUMBA_CACHE_DIR")
    assert cache, "the integration tier runs without NUMBA_CACHE_DIR: its processes compile the kernels again"
    assert os.path.realpath(cache) != os.path.realpath(platform_cache_dir())
    installed = {p.relative_to(platform_cache_dir()) for p in platform_cache_dir().rglob("*.nb*")}
    assert installed and all((platform_cache_dir() / p).stat().st_size == (Path(cache) / p).stat().st_size
                             for p in installed), "the tier's cache is not seeded with the install's kernels"
    from hats.pixel_tree import pixel_alignment
    from numba.core.caching import NullCache

    # hats' align_trees too, for a test that calls lsdb itself (the session's _hats_kernels_from_the_cache)
    assert not isinstance(pixel_alignment.perform_align_trees._cache, NullCache)
    supervisor = psutil.Process(json.loads((platform.data_dir / "state" / "status.json").read_text())["pid"])
    given = {}
    for process in [supervisor, *supervisor.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            given[" ".join(process.cmdline())[:120]] = process.environ().get("NUMBA_CACHE_DIR")
    assert len(given) > 3 and cache not in given.values(), given
