"""astrohub_archive.hips.HipsLibrary: the archive's HiPS folder, shared by replicas (two libraries on one folder)."""

from __future__ import annotations

import shutil
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
