"""Revocation revokes (issue 22 item 4): ``astrohub_hub.folders.revoke`` on real ACLs, real processes.

Runs as root with ``setfacl`` (else skipped): the system user ``nobody`` is made a member of a
shared folder, creates a subfolder and a file there, and keeps a process whose working folder is
inside and which holds the folder open; after :func:`revoke` nothing under the folder names
``nobody`` any more (default entries in subfolders included), what it owned there belongs to the
folder's owner, the holding process is gone and a fresh process of ``nobody`` is refused.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from astrohub_hub import folders

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setfacl") is None, reason="needs root and setfacl (Debian package acl)"
)

HOLDER = """
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)   # an open directory
print("ready", flush=True)
time.sleep(120)
"""


def _as_nobody(code: str, *args: str, cwd: str | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], user="nobody", group="nogroup", cwd=cwd,
                          capture_output=True, text=True, timeout=60, **kwargs)


@pytest.fixture()
def shared():
    base = Path(tempfile.mkdtemp(prefix="astrohub-revoke-"))
    base.chmod(0o755)  # nobody must traverse it
    folder = folders.make_shared_folder(base / "team", 0o770)
    yield folder
    shutil.rmtree(base, ignore_errors=True)


def _acl_tree(folder: Path) -> str:
    return subprocess.run(["getfacl", "-R", "-P", "--omit-header", "--absolute-names", str(folder)],
                          capture_output=True, text=True, check=True).stdout


def test_revoke_removes_every_entry_and_ends_processes_holding_the_folder(shared):
    nobody = pwd.getpwnam("nobody")
    folders.grant(shared, "nobody")
    made = _as_nobody("import os, sys; os.makedirs(sys.argv[1] + '/sub/deep'); "
                      "open(sys.argv[1] + '/sub/deep/notes.txt', 'w').write('mine')", str(shared))
    assert made.returncode == 0, made.stderr
    assert "default:user:nobody:rwx" in _acl_tree(shared / "sub")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(shared / "sub")], user="nobody", group="nogroup",
                              cwd=str(shared / "sub" / "deep"), stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        assert holder.pid in folders.holders(shared, nobody.pw_uid)

        ended = folders.revoke(shared, "nobody")

        assert holder.pid in ended
        assert holder.wait(timeout=30) != 0
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    tree = _acl_tree(shared)
    assert "nobody" not in tree, tree
    assert (shared / "sub" / "deep" / "notes.txt").stat().st_uid == 0
    assert (shared / "sub" / "deep").stat().st_uid == 0
    assert (shared / "sub" / "deep" / "notes.txt").read_text() == "mine"  # the data stays with the folder
    again = _as_nobody("import os, sys; print(os.listdir(sys.argv[1]))", str(shared / "sub"))
    assert again.returncode != 0 and "PermissionError" in again.stderr, again


#: Holds ``notes.txt`` of the folder without an open descriptor (a shared memory map, whose descriptor is closed)
#: and after each line on stdin writes it through the map.
MAPPED = """
import ctypes, mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
libc = ctypes.CDLL(None, use_errno=True)  # libc's mmap: Python's keeps a duplicate of the descriptor
libc.mmap.restype, libc.mmap.argtypes = ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                                                         ctypes.c_int, ctypes.c_int, ctypes.c_long]
address = libc.mmap(None, 4, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd, 0)
held = (ctypes.c_char * 4).from_address(address)
os.close(fd)
print("ready", flush=True)
for line in sys.stdin:
    held.raw = b"MINE"
    libc.msync(ctypes.c_void_p(address), 4, 4)  # MS_SYNC
    print("wrote", flush=True)
"""


def test_revoke_ends_a_process_holding_a_file_of_the_folder_in_a_memory_map(shared):
    """teams24: a member about to be removed kept writing a file of the folder after the revocation, through a
    shared memory map whose descriptor they had closed (``holders`` read only ``cwd``, ``root`` and ``fd``; the
    kernel checks permissions at ``open`` and ``mmap``, never at a write into the map). Such a process is ended
    now, as one holding a descriptor is."""
    folders.grant(shared, "nobody")
    notes = shared / "notes.txt"
    made = _as_nobody("import sys; open(sys.argv[1], 'w').write('mine')", str(notes))  # theirs, as the folder allows
    assert made.returncode == 0, made.stderr
    holder = subprocess.Popen([sys.executable, "-c", MAPPED, str(notes)], user="nobody", group="nogroup",
                              cwd="/", stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"

        folders.revoke(shared, "nobody")

        notes.write_text("ours")
        if holder.poll() is None:  # still there: it writes through what it held
            holder.stdin.write("go\n")
            holder.stdin.flush()
            holder.stdout.readline()
        assert notes.read_text() == "ours", "a removed member still wrote into the folder through a memory map"
        assert holder.wait(timeout=30) != 0
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_revoke_keeps_the_other_members(shared):
    folders.grant(shared, "nobody")
    folders.grant(shared, "daemon")
    (shared / "sub").mkdir()
    folders.revoke(shared, "nobody")
    tree = _acl_tree(shared)
    assert "nobody" not in tree
    assert tree.count("user:daemon:rwx") == 4  # access + default on the folder and on sub


def test_removing_a_member_reaches_their_running_server(platform, poll):
    """On the platform: a member's kernel holds the group folder open (a directory handle and a child
    process working inside); removed from the group through the hub API, the group sync revokes: the
    holders are ended and the member's server can no longer read or write there."""
    if not platform.isolated:
        pytest.skip("per-user isolation needs root (every server runs as the invoking user otherwise)")
    ann, ben, group = platform.unique("rvann"), platform.unique("rvben"), platform.unique("rvteam")
    for user in (ann, ben):
        platform.create_user(user)
    platform.create_group(group, [ann, ben])
    folder = platform.data_dir / "groups" / group
    platform.start_server(ann)
    try:
        out = platform.execute(ann, f"""
import os, subprocess, sys
os.makedirs({str(folder)!r} + "/sub", exist_ok=True)
open({str(folder)!r} + "/sub/ann.txt", "w").write("ann was here")
# A process of ann's that outlives this kernel: working inside, holding the folder open.
child = subprocess.Popen([sys.executable, "-c", {HOLDER!r}, {str(folder)!r}], cwd={str(folder)!r} + "/sub",
                         start_new_session=True, stdout=subprocess.PIPE, text=True)
assert child.stdout.readline().strip() == "ready"
print(child.pid)
""")
        child = int(out.split()[-1])
        assert child in folders.holders(folder, pwd.getpwnam(platform.system_user(ann)).pw_uid)
        platform.api("DELETE", f"/groups/{group}/users", json={"users": [ann]}).raise_for_status()
        poll(lambda: not Path(f"/proc/{child}").exists() or Path(f"/proc/{child}/status").read_text().find("zombie") > 0,
             30, "the group sync to end ann's process working inside the folder")
        assert "rvann" not in _acl_tree(folder)
        assert (folder / "sub" / "ann.txt").stat().st_uid == 0
        check = platform.execute(ann, f"""
import os
for what, call in [("list", lambda: os.listdir({str(folder)!r} + "/sub")),
                   ("read", lambda: open({str(folder)!r} + "/sub/ann.txt").read()),
                   ("write", lambda: open({str(folder)!r} + "/new.txt", "w"))]:
    try:
        call(); print(what, "allowed")
    except PermissionError:
        print(what, "refused")
""")
        assert check.split("\n")[:3] == ["list refused", "read refused", "write refused"], check
        # ben, still a member, keeps the data ann wrote there.
        assert "user:" + platform.system_user(ben) + ":rwx" in _acl_tree(folder / "sub")
    finally:
        platform.stop_server(ann)
