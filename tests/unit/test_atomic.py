"""platform_lib.atomic.write_atomic, the library's one "write this file atomically" (storage's quota files, the
jobs' JSON, the local platform's state and configuration, sample data's files): the old file or the new one,
never half of one, nothing left behind by a failure, and the mode asked for whatever the umask."""

from __future__ import annotations

import os

import pytest

from platform_lib.atomic import write_atomic


def test_a_write_replaces_the_file_whole_with_the_mode_asked(tmp_path):
    path = tmp_path / "status.json"
    old = os.umask(0o077)
    try:
        write_atomic(path, b"one", mode=0o644)  # exactly, not 0644 less the umask
        assert path.read_bytes() == b"one" and path.stat().st_mode & 0o777 == 0o644
        write_atomic(path, "twö", mode=0o600)  # text as UTF-8; a secret's mode
        assert path.read_text("utf-8") == "twö" and path.stat().st_mode & 0o777 == 0o600
        write_atomic(path, b"three")  # no mode: as open() makes a file
        assert path.stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]


def test_a_failed_write_leaves_the_old_file_and_nothing_else(tmp_path):
    path = tmp_path / "quota.json"
    write_atomic(path, b'{"bytes": 1}', mode=0o644)
    with pytest.raises(TypeError):
        write_atomic(path, {"not": "bytes"}, mode=0o644)
    assert path.read_bytes() == b'{"bytes": 1}'
    assert [p.name for p in tmp_path.iterdir()] == ["quota.json"]
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "no-such-folder" / "x.json", b"{}")


def test_a_link_planted_in_place_of_the_file_is_replaced_not_followed(tmp_path):
    (tmp_path / "elsewhere").write_bytes(b"keep")
    os.symlink(tmp_path / "elsewhere", tmp_path / "x.json")
    write_atomic(tmp_path / "x.json", b"new", mode=0o644)
    assert (tmp_path / "elsewhere").read_bytes() == b"keep"
    assert not (tmp_path / "x.json").is_symlink() and (tmp_path / "x.json").read_bytes() == b"new"


def test_atomic_path_gives_a_writer_a_name_renamed_into_place_or_removed(tmp_path):
    """For writers that want a file name (astropy's ``writeto``, a copy): sample data's images, sky maps, the numba
    cache's seed wrote their own temporary names by hand, some left behind when the writer failed (mend15)."""
    from astropy.io import fits

    from platform_lib.atomic import atomic_path

    path = tmp_path / "map.fits"
    path.write_bytes(b"old")
    with pytest.raises(OSError):
        with atomic_path(path) as tmp:
            tmp.write_bytes(b"half")
            raise OSError("disk full")
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["map.fits"]
    old = os.umask(0o077)
    try:
        with atomic_path(path, mode=0o644) as tmp:
            assert not tmp.exists() and tmp.parent == tmp_path and tmp.name.startswith(".map.fits.")
            fits.PrimaryHDU().writeto(tmp)
            assert path.read_bytes() == b"old"  # not yet
    finally:
        os.umask(old)
    assert fits.getheader(path)["SIMPLE"] and path.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["map.fits"]


def test_replace_folder_puts_the_new_folder_in_place_and_removes_the_old(tmp_path):
    """A folder built beside its target (a HiPS, the moving-object cache) replaces the old one whole."""
    from platform_lib.atomic import replace_folder

    target, new = tmp_path / "hips", tmp_path / ".hips.build"
    replace_folder(_folder(new, "one"), target)  # no previous folder
    assert (target / "tile").read_text() == "one"
    replace_folder(_folder(new, "two"), target)  # over a non-empty one, which goes
    assert (target / "tile").read_text() == "two" and [p.name for p in tmp_path.iterdir()] == ["hips"]


def _folder(path, text):
    path.mkdir()
    (path / "tile").write_text(text)
    return path
