"""A killed ``ingest --replace`` loses nothing and leaves nothing (issue 22, item 7).

Runs ``ingest(..., replace=True)`` in forked processes, each SIGKILLing itself at one step:
while writing (before the rename into a version folder), after that rename and before the
registry commit, after the commit and before the link swap, and after the swap. After every
kill the registry still names folders that exist and a cone search answers (the old or the new
rows, never an error); the next ingest then leaves no ``.tmp-*``/``.old-*``/orphan version folder
behind (only the versions that switches replaced, each kept with its ``.replaced-`` stamp for the
queries that may read it). On today's main a kill between the two renames left a registered
catalogue whose folder was gone, and killed runs' folders stayed forever.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import warnings

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import Table

from platform_lib.catalogs import Registry, cone_search, ingest

CENTRE = SkyCoord(155 * u.deg, 0.3 * u.deg)
RADIUS = 40 * u.arcmin

#: step -> the patch that kills the run there (in the run's process only).
KILLS = {
    "writing": "pathlib.Path.rename = die",                  # tmp -> version folder
    "before-commit": "Registry.add_catalog = die",           # version folder made, registry untouched
    "before-swap": "ing._point = die",                       # registry committed, link not yet switched
    "after-swap": "ing._links = die",                        # link switched, the tables' links not yet added
}

#: One child imports the library once, then forks one run per step (so a kill costs no start-up;
#: it has run no Dask work, so a fork has no thread pool to lose) and waits for "next" between them.
#: Before forking it also compiles hats' numba tree alignment (what ingest's margin cache calls, about 6 s
#: of JIT in each new process, uncached): imported alone, the library left that to every fork.
CHILD = """
import os, pathlib, signal, sys, warnings
import lsdb
import platform_lib.catalogs._ingest as ing
from hats.pixel_tree.negative_tree import compute_negative_tree_pixels
from hats.pixel_tree.pixel_tree import PixelTree
from platform_lib.catalogs import Registry, ingest

compute_negative_tree_pixels(PixelTree.from_healpix([(1, 0)]))

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

source, registry, steps = sys.argv[1], sys.argv[2], sys.argv[3:]
for patch in steps:
    pid = os.fork()
    if pid == 0:
        exec(patch)
        warnings.simplefilter("ignore")
        ingest(source, Registry(registry), name="rep", replace=True, progress=False)
        os._exit(3)
    _, status = os.waitpid(pid, 0)
    print(os.WTERMSIG(status) if os.WIFSIGNALED(status) else -os.WEXITSTATUS(status), flush=True)
    sys.stdin.readline()
"""


def _table(seed: int, offset: int) -> Table:
    rng = np.random.default_rng(seed)
    t = Table()
    t["source_id"] = np.arange(2000, dtype=np.int64) + offset
    t["RA_ICRS"] = rng.uniform(150, 160, 2000) * u.deg
    t["DE_ICRS"] = rng.uniform(-5, 5, 2000) * u.deg
    return t


def _expected(t: Table) -> list[int]:
    sep = SkyCoord(t["RA_ICRS"], t["DE_ICRS"]).separation(CENTRE)
    return sorted(int(x) for x in t["source_id"][sep <= RADIUS])


def _ingest(path, registry, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ingest(path, registry, name="rep", progress=False, **kwargs)


def _debris(registry: Registry) -> tuple[list[str], set[str]]:
    """What is left beside the catalogue's link and version, and the replaced versions kept (with their stamps)
    for the queries that may read them (``KEEP_REPLACED_S``)."""
    root = registry.data_root
    link = root / "rep"
    kept = {p.name.removeprefix(".replaced-") for p in root.glob(".replaced-*") if (root / p.name.removeprefix(".replaced-")).is_dir()}
    keep = {link.name, ".ingest.lock", str(link.readlink()) if link.is_symlink() else ""}
    keep |= kept | {f".replaced-{name}" for name in kept}
    return sorted(p.name for p in root.iterdir() if p.name not in keep), kept


def test_a_replace_killed_at_each_step_loses_nothing_and_leaves_nothing(tmp_path):
    old, new = _table(1, 0), _table(2, 100_000)
    old.write(tmp_path / "old.fits")
    (tmp_path / "new").mkdir()
    new.write(tmp_path / "new" / "old.fits")  # same file name: same table name and folder
    registry = Registry(tmp_path / "catalogs" / "registry.sqlite")
    _ingest(tmp_path / "old.fits", registry)

    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path / "new" / "old.fits"), str(registry.path), *KILLS.values()],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        for step in KILLS:  # each killed run is also "the next run" of the one before
            assert child.stdout.readline().strip() == str(int(signal.SIGKILL)), f"the run was not killed {step}"
            after = Registry(registry.path, readonly=True)
            assert after.get("rep").hats_path.exists(), f"the registry names a missing folder after a kill {step}"
            got = sorted(int(x) for x in cone_search("rep", CENTRE, RADIUS, registry=after)["source_id"])
            assert got in (_expected(old), _expected(new)), step
            after.close()
            child.stdin.write("next\n")
            child.stdin.flush()
    finally:
        child.stdin.close()
        if child.wait(timeout=60) is None:  # pragma: no cover
            child.kill()
    assert child.returncode == 0

    _ingest(tmp_path / "new" / "old.fits", registry, replace=True)  # the next run of that kind
    left, kept = _debris(registry)
    assert left == [], "left behind by killed runs after a new run"
    assert len(kept) == 2, "the versions the two switches replaced are kept for a while"
    got = sorted(int(x) for x in cone_search("rep", CENTRE, RADIUS, registry=registry)["source_id"])
    assert got == _expected(new)
