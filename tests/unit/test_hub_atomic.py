"""astrohub_hub.atomic, the hub's one atomic write, and the writes that use it: the deletion notice of a
workspace, the kept copy of a release, a student's released files (``_transfer``, run as a script) and the
copy that splits a hard link (``folders``). A failing write leaves the old file and no temporary file."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

import pytest

from astrohub_hub import folders
from astrohub_hub.accounts import SystemAccounts
from astrohub_hub.atomic import replacing, write_atomic
from astrohub_hub.classes import Actor, Teaching

ADMIN, PROF, ANN = Actor("root-cli", admin=True), Actor("prof"), Actor("ann")


def _quota_exceeded(*args, **kwargs):
    raise OSError(errno.EDQUOT, "Disk quota exceeded")


def test_a_failing_write_leaves_the_old_file_and_no_temporary_one(tmp_path, monkeypatch):
    path = tmp_path / "notice.json"
    path.write_bytes(b"old")
    with monkeypatch.context() as m:
        m.setattr(os, "fsync", _quota_exceeded)
        with pytest.raises(OSError, match="quota"):
            write_atomic(path, b"new")
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["notice.json"]
    with pytest.raises(RuntimeError):
        with replacing(path) as tmp:
            with open(tmp, "wb") as out:
                out.write(b"half")
            raise RuntimeError("the writer failed")
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["notice.json"]


def test_the_mode_and_owner_are_the_callers_and_a_link_is_replaced_not_followed(tmp_path):
    old = os.umask(0o077)
    try:
        write_atomic(tmp_path / "public.json", b"{}", mode=0o644, owner=(os.getuid(), os.getgid()))
    finally:
        os.umask(old)
    st = os.stat(tmp_path / "public.json")
    assert st.st_mode & 0o777 == 0o644 and (st.st_uid, st.st_gid) == (os.getuid(), os.getgid())
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_bytes(b"not yours")
    os.symlink(elsewhere, tmp_path / "planted")
    write_atomic(tmp_path / "planted", b"mine", mode=0o600)
    assert elsewhere.read_bytes() == b"not yours" and not os.path.islink(tmp_path / "planted")
    assert (tmp_path / "planted").read_bytes() == b"mine"


@pytest.fixture()
def teaching(tmp_path):
    return Teaching(tmp_path / "classes", tmp_path / "workspaces", tmp_path / "state" / "classes.sqlite",
                    accounts=SystemAccounts("astro-", run_as_system_users=False),
                    home_template=str(tmp_path / "home" / "{username}"), user_exists={"prof", "ann"}.__contains__)


def test_the_deletion_notice_and_the_kept_release_leave_no_temporary_file(teaching, tmp_path, monkeypatch):
    """Both were written to a fixed temporary name and renamed: a failed rename (or write) left the temporary
    file behind, beside the notices every member reads and beside the kept releases."""
    teaching.workspaces.create(ANN, "survey")
    teaching.create_class(ADMIN, "c1", instructors=["prof"], students=["ann"])
    (tmp_path / "classes" / "c1" / "instructors" / "hw1").mkdir()
    with monkeypatch.context() as m:
        m.setattr(os, "replace", _quota_exceeded)
        with pytest.raises(OSError, match="quota"):
            teaching.workspaces.delete(ANN, "survey")
        with pytest.raises(OSError, match="quota"):
            teaching.release(PROF, "c1", "hw1")
    assert os.listdir(tmp_path / "workspaces" / ".astrohub-deleted") == []
    assert os.listdir(tmp_path / "state" / "released" / "c1") == []


def _tar(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(content), 0o644
        tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def test_a_release_update_that_cannot_be_written_leaves_the_students_file_whole(tmp_path):
    """A re-release rewrote a student's unchanged file in place (truncated, then written): a write cut short
    (a full quota; here the file-size limit) left a truncated notebook. Now it is written beside and renamed."""
    dest = tmp_path / "ann" / "hw1"
    dest.mkdir(parents=True)
    old = b"first release\n"
    (dest / "task.ipynb").write_bytes(old)
    new = b"fixed release\n" * 1000
    replace = {"task.ipynb": hashlib.sha256(old).hexdigest()}
    transfer = os.path.join(os.path.dirname(folders.__file__), "_transfer.py")

    # the file-size limit is set by a small Python that then becomes the transfer (exec), not by a preexec_fn: Python
    # code between fork and exec in this (threaded) test process crashed the child once in CI (SIGSEGV)
    small_files = ("import os, resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000)); "
                   "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])")
    result = subprocess.run([sys.executable, "-I", "-c", small_files, "-I", transfer, "unpack", str(dest), "--keep",
                             "--replace", json.dumps(replace)], input=_tar("task.ipynb", new),
                            capture_output=True, check=False)
    assert result.returncode != 0 and b"File too large" in result.stderr
    assert (dest / "task.ipynb").read_bytes() == old and os.listdir(dest) == ["task.ipynb"]
    assert folders.unpack_as(_tar("task.ipynb", new), dest, None, keep=True, replace=replace) == ["task.ipynb"]
    assert (dest / "task.ipynb").read_bytes() == new and os.listdir(dest) == ["task.ipynb"]


def test_splitting_a_hard_link_that_fails_leaves_no_temporary_file(tmp_path, monkeypatch):
    shared, home = tmp_path / "group", tmp_path / "home"
    shared.mkdir(), home.mkdir()
    (shared / "data.csv").write_text("a,b\n")
    os.link(shared / "data.csv", home / "data.csv")
    os.link(shared / "data.csv", shared / "copy.csv")
    ino = os.stat(shared / "data.csv").st_ino
    linked = {(0, ino): [str(shared / "data.csv"), str(shared / "copy.csv")]}
    with monkeypatch.context() as m:
        m.setattr(os, "link", _quota_exceeded)
        with pytest.raises(OSError, match="quota"):
            folders._split_outside_links(linked)
    assert sorted(os.listdir(shared)) == ["copy.csv", "data.csv"] and os.stat(shared / "copy.csv").st_ino == ino
    folders._split_outside_links(linked)
    assert sorted(os.listdir(shared)) == ["copy.csv", "data.csv"]
    inside = {os.stat(shared / n).st_ino for n in ("data.csv", "copy.csv")}
    assert len(inside) == 1 and ino not in inside and os.stat(home / "data.csv").st_ino == ino
    assert (shared / "copy.csv").read_text() == "a,b\n"
