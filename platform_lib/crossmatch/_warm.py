"""Compiling the crossmatch kernel ahead of use: the platform-wide numba cache and how to fill it.

The kernel (:mod:`._engine`) is numba code cached on disk (``cache=True``); a process that finds no
cache compiles it, 25 to 65 s here, on a user's first crossmatch. The install step (``make install``,
the user image's build) runs ``astrohub kernels compile``, which fills :func:`platform_cache_dir`
(``<sys.prefix>/share/astrohub/numba-cache``, readable by every user); numba needs a writable cache,
so each user server copies it into the user's own ``NUMBA_CACHE_DIR`` when it starts
(``astrohub_server.packages``). hats' own numba functions (``align_trees``, which lsdb's crossmatch and
every margin cache call) are compiled into the same cache (:func:`warm_hats`). May import numpy,
astropy.units, this package's ``_engine``, hats through ``platform_lib.catalogs``, and ``platform_lib.atomic``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from platform_lib.atomic import atomic_path

__all__ = ["compile_kernels", "platform_cache_dir", "seed_cache", "warm_calls", "warm_hats"]


def platform_cache_dir() -> Path:
    """The platform-wide numba cache of this Python environment (``<sys.prefix>/share/astrohub/numba-cache``)."""
    return Path(sys.prefix) / "share" / "astrohub" / "numba-cache"


def seed_cache(target: str | os.PathLike[str] | None = None) -> int:
    """Copy the platform's compiled kernels into ``target`` (default: ``$NUMBA_CACHE_DIR``); files copied.

    For a platform service that runs the kernel (the archive's positional joins): numba only uses a
    cache folder it can write, so the service gets a folder of its own, seeded here before its first
    call, and loads the compiled kernel instead of compiling it for 25 to 65 s. New or changed files
    only; nothing without a target or a platform cache. (User servers seed theirs with
    ``astrohub_server.numbacache``, which never imports ``platform_lib``.)
    """
    import shutil

    target = target if target is not None else os.environ.get("NUMBA_CACHE_DIR")
    seed = platform_cache_dir()
    if not target or not seed.is_dir():
        return 0
    copied = 0
    for folder, _dirs, files in os.walk(seed):
        destination = Path(target) / Path(folder).relative_to(seed)
        destination.mkdir(parents=True, exist_ok=True)
        for name in files:
            source, copy = Path(folder) / name, destination / name
            if copy.exists() and copy.stat().st_size == source.stat().st_size and \
                    int(copy.stat().st_mtime) == int(source.stat().st_mtime):
                continue
            with atomic_path(copy) as tmp:
                shutil.copy2(source, tmp)
            copied += 1
    return copied


def warm_calls() -> int:
    """Run each compiled path of the kernel once on a few rows (what a first crossmatch would compile).

    Returns the number of pairs found, so the work is not optimised away. Runs in this process, with
    this process's ``NUMBA_CACHE_DIR``.
    """
    import astropy.units as u
    import numpy as np

    from platform_lib.crossmatch._engine import match_pairs

    rng = np.random.default_rng(0)
    lon = rng.uniform(0.0, 360.0, 2000)
    lat = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, 2000)))
    found = 0
    for k in (None, 1, 3):  # all pairs, nearest, k nearest
        i1, _, _ = match_pairs(lon, lat, lon + 1e-4, lat, 1 * u.arcsec, k=k)
        found += int(i1.size)
    return found


def warm_hats() -> int:
    """Run hats' cached numba functions (:func:`platform_lib.catalogs.cache_hats_kernels`) with every type
    lsdb and hats-import pass: each pixel-tree alignment (inner, outer, left, right) and a MOC filter, on
    trees held in C and in Fortran order (a tree read from ``partition_info.csv`` and one lsdb builds
    differ, and numba compiles each layout apart); the number of pixels found. Runs in this process,
    with its ``NUMBA_CACHE_DIR``.
    """
    import itertools

    import numpy as np
    from hats.pixel_math import HealpixPixel
    from hats.pixel_tree import PixelAlignmentType, align_trees
    from hats.pixel_tree.moc_filter import filter_by_moc
    from hats.pixel_tree.pixel_tree import PixelTree
    from mocpy import MOC

    from platform_lib.catalogs import cache_hats_kernels

    cache_hats_kernels()
    left = PixelTree.from_healpix([HealpixPixel(0, i) for i in range(12)])
    right = PixelTree.from_healpix([HealpixPixel(1, i) for i in range(8)] + [HealpixPixel(0, i) for i in range(2, 12)])
    layouts = [[PixelTree(order(t.tree), t.tree_order) for order in (np.ascontiguousarray, np.asfortranarray)]
               for t in (left, right)]
    moc = MOC.from_healpix_cells(np.array([0, 5]), np.array([1, 1]), max_depth=1)
    found = 0
    for a, b in itertools.product(*layouts):
        found += sum(len(align_trees(a, b, kind).pixel_mapping) for kind in PixelAlignmentType)
        found += len(filter_by_moc(a, moc).get_healpix_pixels())
    return found


def compile_kernels(cache_dir: str | os.PathLike[str] | None = None, *, timeout: float = 900.0) -> Path:
    """Compile the crossmatch kernel into ``cache_dir`` (default :func:`platform_cache_dir`); return it.

    Runs :func:`warm_calls` and :func:`warm_hats` in a fresh Python with ``NUMBA_CACHE_DIR=cache_dir``
    (numba reads it at import), then makes the folder readable by everyone. Idempotent: a second run
    loads the cache and compiles nothing.

    Examples
    --------
    >>> compile_kernels("/tmp/astrohub-numba-cache")  # doctest: +SKIP
    PosixPath('/tmp/astrohub-numba-cache')
    """
    target = Path(cache_dir) if cache_dir is not None else platform_cache_dir()
    target.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "NUMBA_CACHE_DIR": str(target)}
    code = "from platform_lib.crossmatch._warm import warm_calls, warm_hats; warm_calls(); warm_hats()"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"compiling the crossmatch kernel into {target} failed:\n{result.stderr[-2000:]}")
    for folder, dirs, files in os.walk(target):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
    return target
