"""astrohub_server.atomic, the user server's one atomic write (tutorials, the first workspace, the %pip layer's
constraints, the numba cache's seed each had a hand-written copy, mend15): the old file or the new one, the mode
asked for, nothing left behind by a failure."""

from __future__ import annotations

import os

import pytest

from astrohub_server.atomic import replacing, write_atomic


def test_write_atomic_replaces_the_file_whole_with_the_mode_asked(tmp_path):
    path = tmp_path / "tutorials.json"
    write_atomic(path, "{}")  # text as UTF-8; 0600 unless asked, as mkstemp makes it
    assert path.read_text() == "{}" and path.stat().st_mode & 0o777 == 0o600
    write_atomic(path, b"[1]", mode=0o644)
    assert path.read_bytes() == b"[1]" and path.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["tutorials.json"]


def test_a_failure_in_the_block_leaves_the_old_file_and_nothing_else(tmp_path):
    path = tmp_path / "kernel.nbi"
    path.write_bytes(b"old")
    with pytest.raises(OSError):
        with replacing(path) as tmp:
            with open(tmp, "wb") as out:
                out.write(b"half")
            raise OSError("disk full")
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["kernel.nbi"]
    with pytest.raises(TypeError):
        write_atomic(path, {"not": "bytes"})
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["kernel.nbi"]
