"""The user's numba cache, seeded from the platform's: a first crossmatch loads compiled code.

The install step compiles platform_lib's crossmatch kernel into ``<sys.prefix>/share/astrohub/numba-cache``
(``astrohub kernels compile``; the same folder as ``platform_lib.crossmatch._warm.platform_cache_dir``,
named again here because this package never imports ``platform_lib``). numba only uses a cache
folder it can write, so the hub points ``NUMBA_CACHE_DIR`` at a folder in the user's home and
:func:`seed_numba_cache`, called when the user server starts (before its first kernel), copies
the platform's files there: new or changed files only, each written atomically. Never the other
way: one user's cache never reaches another's.

May import the standard library and :mod:`astrohub_server.atomic`.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Mapping

from astrohub_server.atomic import replacing

__all__ = ["platform_numba_cache", "seed_numba_cache"]


def platform_numba_cache() -> Path:
    """The platform-wide numba cache of this Python environment."""
    return Path(sys.prefix) / "share" / "astrohub" / "numba-cache"


def seed_numba_cache(environ: Mapping[str, str] = os.environ, seed: Path | None = None) -> int:
    """Copy the platform's compiled kernels into ``NUMBA_CACHE_DIR``; the number of files copied.

    Does nothing without ``NUMBA_CACHE_DIR`` or without a platform cache. Never raises: a cache that
    cannot be seeded is reported on stderr, and numba compiles on first use as it would anyway.
    """
    target = environ.get("NUMBA_CACHE_DIR")
    seed = seed if seed is not None else platform_numba_cache()
    if not target or not seed.is_dir():
        return 0
    copied = 0
    try:
        for folder, _dirs, files in os.walk(seed):
            destination = Path(target) / Path(folder).relative_to(seed)
            destination.mkdir(parents=True, exist_ok=True)
            for name in files:
                source, copy = Path(folder) / name, destination / name
                stat = source.stat()
                if copy.exists():
                    mine = copy.stat()
                    if mine.st_size == stat.st_size and int(mine.st_mtime) == int(stat.st_mtime):
                        continue
                with replacing(copy) as tmp:
                    shutil.copy2(source, tmp)
                copied += 1
    except OSError as exc:
        print(f"astrohub_server: the numba cache {target} was not seeded ({exc})", file=sys.stderr)
    return copied
