"""astrohub_archive.hips.HipsLibrary: the archive's HiPS folder, shared by replicas (two libraries on one folder)."""

from __future__ import annotations

import shutil
import time
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from astrohub_archive import hips
from platform_lib import viz


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_two_replicas_copying_the_sky_at_once_keep_a_whole_one_and_both_answer_with_it(tmp_path, monkeypatch):
    """``sky`` is a copy of the largest catalogue's density HiPS. Two archives sharing the folder copy it at
    once (the second starts when the first has copied every file but not yet renamed its copy into place;
    the first renames it while the second's copy is under way): the sky kept is whole, the one that finishes
    second answers with it (not an error, a 404 for its request), and no temporary folder is left behind."""
    root = tmp_path / "hips"
    info = SimpleNamespace(full_name="cat/stars", nrows=100, hats_path=tmp_path / "unused")
    density = np.arange(12 * 4**3, dtype=float)
    dense = viz.write_density_hips(density, root / f"{hips.slug(info.full_name)}-density", title="stars density",
                                   level=0)  # 12 tiles: enough to be caught half copied, and quick
    assert len(_files(dense)) > 3  # several files: a copy can be caught half done
    first, second = hips.HipsLibrary(root, None), hips.HipsLibrary(root, None)
    try:
        for lib in (first, second):
            monkeypatch.setattr(lib, "_tables", lambda: {hips.slug(info.full_name): info})
        real_copytree = shutil.copytree
        whole = len(_files(dense))
        first_copied_all, second_copied_one = threading.Event(), threading.Event()
        copied_by_first = []
        done = {}

        def copytree(src, dst, *args, **kwargs):
            if args:  # copytree's own recursion into a subfolder (copy_function passed on)
                return real_copytree(src, dst, *args, **kwargs)

            def copy(a, b):
                out = shutil.copy2(a, b)
                if threading.current_thread() is builder:
                    copied_by_first.append(b)
                    if len(copied_by_first) == whole:  # the first has copied it all; the second starts now
                        first_copied_all.set()
                        second_copied_one.wait(30)
                elif not second_copied_one.is_set():  # the first renames its copy into place meanwhile
                    second_copied_one.set()
                    builder.join(30)
                return out
            return real_copytree(src, dst, copy_function=copy, **kwargs)

        monkeypatch.setattr(shutil, "copytree", copytree)
        def build_first():
            try:
                done["first"] = first._build(hips.SKY)
            except Exception as exc:  # kept for the assertion below (the old fixed temporary folder: an error)
                done["first"] = exc

        builder = threading.Thread(target=build_first)
        builder.start()
        assert first_copied_all.wait(30)
        assert second._build(hips.SKY) == root / hips.SKY  # the loser answers with the winner's sky, not an error
        builder.join(30)
        assert done == {"first": root / hips.SKY} and second_copied_one.is_set()
    finally:
        first.close()
        second.close()
    assert _files(root / hips.SKY) == _files(dense)
    assert viz.read_hips_properties(root / hips.SKY / "properties")["obs_title"] == "stars density"
    assert sorted(p.name for p in root.iterdir()) == sorted([dense.name, hips.SKY])  # no temporary left


def test_a_build_finished_second_keeps_the_hips_another_replica_put_in_place(tmp_path, monkeypatch):
    """Two archives sharing the folder build one HiPS at once (here the empty sky, no catalogue yet): the one
    that finishes second leaves the first one's HiPS in place (replacing it would leave a moment with none,
    a 404 for a request then) and answers with it."""
    import os

    root = tmp_path / "hips"
    first, second = hips.HipsLibrary(root, None), hips.HipsLibrary(root, None)
    real_write = viz.write_density_hips
    in_place = {}

    def write(counts, dest, **kwargs):  # the first finishes while the second's sky is being written
        if not in_place:
            in_place["sky"] = None
            assert first._build(hips.SKY) == root / hips.SKY
            in_place["sky"] = os.stat(root / hips.SKY).st_ino
        return real_write(counts, dest, **{**kwargs, "level": 0})  # 12 tiles, not 60: quicker, the same steps

    monkeypatch.setattr(viz, "write_density_hips", write)
    try:
        assert second._build(hips.SKY) == root / hips.SKY
    finally:
        first.close()
        second.close()
    assert in_place["sky"] is not None and os.stat(root / hips.SKY).st_ino == in_place["sky"]
    assert viz.validate_hips(root / hips.SKY) and [p.name for p in root.iterdir()] == [hips.SKY]


def test_the_empty_sky_made_before_any_catalogue_is_replaced_once_one_is_loaded(tmp_path, monkeypatch):
    """A fresh platform's archive builds ``sky`` while the sample data is still loading: the empty sky. Before,
    it stayed so for good (``sky`` in place was never built again), so every user saw a black sky viewer. Now
    the build thread looks at the registry while the empty sky is in place and, with no request, puts the
    largest catalogue's density map in its place."""
    monkeypatch.setattr(hips, "SKY_RECHECK", 0.05)  # (raising: a renamed setting would leave 5 s looks)
    root = tmp_path / "hips"
    info = SimpleNamespace(full_name="cat/stars", nrows=100, hats_path=tmp_path / "unused")
    dense = viz.write_density_hips(np.arange(12 * 4**3, dtype=float), root / f"{hips.slug(info.full_name)}-density",
                                   title="stars density", level=0)
    tables = {}
    library = hips.HipsLibrary(root, None)
    monkeypatch.setattr(library, "_tables", lambda: tables)

    def title() -> str:
        try:
            return viz.read_hips_properties(root / hips.SKY / "properties")["obs_title"]
        except OSError:  # the moment between the two renames of the replacement
            return ""

    try:
        assert library.ensure(hips.SKY).result(120) == root / hips.SKY
        assert title() == "empty sky (no catalogue loaded yet)" and viz.validate_hips(root / hips.SKY)
        tables[hips.slug(info.full_name)] = info  # the sample data is loaded
        deadline = time.monotonic() + 30
        while title() != "stars density" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert library.ensure(hips.SKY).result(120) == root / hips.SKY
    finally:
        library.close()
    assert title() == "stars density" and _files(root / hips.SKY) == _files(dense)
    assert sorted(p.name for p in root.iterdir()) == sorted([dense.name, hips.SKY])  # no temporary left


def test_a_replacement_of_the_empty_sky_that_fails_is_not_tried_again_at_once(tmp_path, monkeypatch, caplog):
    """A catalogue whose density map cannot be built (its files unreadable) leaves the empty sky in place; the
    build thread tries again after ``RETRY_AFTER`` (as a request's build), not at each look at the registry."""
    monkeypatch.setattr(hips, "SKY_RECHECK", 0.02)
    root = tmp_path / "hips"
    library = hips.HipsLibrary(root, None)
    monkeypatch.setattr(library, "_write_empty_sky", lambda out, stop: (out.mkdir(parents=True), (
        out / "properties").write_text(f"obs_title = empty\n{hips.PLACEHOLDER} = yes\n")))
    tables = {}
    monkeypatch.setattr(library, "_tables", lambda: tables)
    tried = []
    real_build = library._build
    monkeypatch.setattr(library, "_build", lambda name: (tried.append(name), real_build(name))[1])

    class Looks(dict):
        """The build thread's record of failed builds, counting its idle looks (each asks it about the sky)."""
        seen = 0

        def get(self, key, default=None):
            Looks.seen += key == hips.SKY
            return super().get(key, default)

    library._failed = Looks(library._failed)
    try:
        library.ensure(hips.SKY).result(30)
        info = SimpleNamespace(full_name="cat/stars", nrows=100, hats_path=tmp_path / "missing")
        tables[hips.slug(info.full_name)] = info
        deadline = time.monotonic() + 60
        while len(tried) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        # 25 more looks, counted rather than slept for (0.5 s of sleep was 25 looks only on an idle machine: a
        # busy one looked fewer times, and a retry at each look could go unseen)
        looked = Looks.seen
        while Looks.seen < looked + 25 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert Looks.seen >= looked + 25, "the build thread stopped looking at the registry"
    finally:
        library.close()
    assert tried == [hips.SKY, hips.SKY] and library.placeholder(hips.SKY)


def test_the_empty_skys_tiles_are_not_kept_by_browsers_the_real_ones_are(tmp_path, monkeypatch):
    """The empty sky's tiles were answered ``max-age=86400, immutable``: a browser that saw them kept showing
    black for a day after the real sky was put in their place under the same URLs. Now only a HiPS that is
    not to be replaced has lasting tiles."""
    import requests
    from tornado_thread import serving  # tests/support/, on the path by tests/conftest.py

    from astrohub_archive.app import ArchiveState, make_app

    monkeypatch.setenv("ASTROHUB_ARCHIVE_HIPS", str(tmp_path / "hips"))
    with serving(lambda: make_app(ArchiveState(index_path=tmp_path / "index.sqlite", data_root=tmp_path))) as url:
        tile = requests.get(f"{url}/hips/sky/Norder0/Dir0/Npix0.fits", timeout=120)
        again = requests.get(f"{url}/hips/sky/Norder0/Dir0/Npix0.fits", timeout=30)  # from the router's cache
        allsky = requests.get(f"{url}/hips/sky/Norder3/Allsky.fits", timeout=30)
    assert tile.status_code == again.status_code == allsky.status_code == 200
    assert {tile.headers["Cache-Control"], again.headers["Cache-Control"], allsky.headers["Cache-Control"]} == \
        {"public, no-cache"}
    from astrohub_archive._tiles import cache_control

    assert cache_control(Path("Norder0/Dir0/Npix0.fits")) == "public, max-age=86400, immutable"


def test_the_archive_builds_the_default_background_when_it_starts(tmp_path):
    """Before, ``sky`` was built on the first request for it: a new user's first view of the sky waited for
    the build (20 s and more on a loaded machine), a black viewer meanwhile. Now the archive starts it as it
    starts to listen. In a fresh interpreter, the HiPS the archive's start asks for, with no request made:"""
    import subprocess
    import sys

    from platform_lib.local.ports import free_ports

    (port,) = free_ports(1)  # not one the kernel gives another socket before the archive listens on it
    probe = (
        "import os\n"
        "import astrohub_archive.hips as hips\n"
        "def ensure(self, name):\n"
        "    print('ensure', name, flush=True)\n"
        "    os._exit(0)\n"
        "hips.HipsLibrary.ensure = ensure\n"
        "import astrohub_archive.app as app\n"
        f"app.main(['--index', {str(tmp_path / 'index.sqlite')!r}, '--data-root', {str(tmp_path)!r}, "
        f"'--hips', {str(tmp_path / 'hips')!r}, '--port', '{port}', '--update-every', '0'])\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ensure", "sky"], out.stdout


def test_the_list_asked_with_build_no_starts_no_build(tmp_path, monkeypatch):
    """``hips/index.json?build=no`` (the sky viewer's did-you-mean for a mistyped survey) names the HiPS the
    registry calls for without starting their builds: a typo queued the build of every catalogue HiPS the
    archive lacked, ahead of the one the user asked for next. The plain listing still starts them."""
    lib = hips.HipsLibrary(tmp_path / "hips", None)
    try:
        info = SimpleNamespace(full_name="cat/stars", nrows=100, hats_path=tmp_path / "unused")
        monkeypatch.setattr(lib, "_tables", lambda: {hips.slug(info.full_name): info})
        started = []
        monkeypatch.setattr(lib, "ensure", lambda name: started.append(name))
        names = lib.schedule_missing(start=False)
        assert hips.slug(info.full_name) in names and started == []
        assert lib.schedule_missing() == names and started == names
    finally:
        lib.close()
