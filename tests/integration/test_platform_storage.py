"""The storage layout from a user's kernel: group folders follow hub membership, datasets are read-only,
scratch is private.

Drives the session ``platform``: membership changes go through the hub REST API, and every check
runs as the user in a kernel of their own server (their system user when ``platform.isolated``).
The group sync service applies changes within its poll interval, so kernels poll with a deadline.
"""

from __future__ import annotations

import os
import pwd
import stat
import textwrap

import pytest
from kernel_retry import retry_until  # tests/support/, on the path by tests/conftest.py

#: How long a membership change may take to reach the folder (group sync polls every 2 s).
SYNC_DEADLINE = 30.0


@pytest.fixture(scope="module")
def keeper(platform):
    """A user with a running server."""
    with platform.user_with_server("keeper") as user:
        yield user


def _write_until(platform, user: str, path: str, want: str) -> str:
    """In ``user``'s kernel, try to write ``path`` until the outcome is ``want`` ("ok"/"denied") or time is up."""
    code = retry_until("write()", want, SYNC_DEADLINE, setup=f"""
        from pathlib import Path

        def write():
            Path({path!r}).write_text("written by the kernel")
            return "ok"
        """) + "print(outcome)\n"
    return platform.execute(user, code, timeout=SYNC_DEADLINE + 60).strip()


def test_group_folder_follows_membership_changes(platform, keeper, poll):
    group = platform.unique("club")
    other = platform.unique("clubber")
    platform.create_user(other)
    platform.create_group(group, [other])  # the group exists, keeper is not in it
    folder = platform.data_dir / "groups" / group
    poll(folder.is_dir, SYNC_DEADLINE, f"the folder of {group}")
    target = str(folder / f"{keeper}.txt")
    if platform.isolated:
        assert _write_until(platform, keeper, target, "denied") == "denied"

    platform.add_group_users(group, [keeper])
    assert _write_until(platform, keeper, target, "ok") == "ok"
    assert (folder / f"{keeper}.txt").read_text() == "written by the kernel"

    response = platform.api("DELETE", f"/groups/{group}/users", json={"users": [keeper]})
    assert response.status_code == 200, response.text
    assert keeper not in platform.api("GET", f"/groups/{group}").json()["users"]
    if platform.isolated:
        assert _write_until(platform, keeper, target, "denied") == "denied"
    else:  # documented: without root every server runs as the invoking user, folders are not guarded
        assert _write_until(platform, keeper, target, "ok") == "ok"


def test_datasets_readable_not_writable(platform, keeper):
    datasets = platform.data_dir / "datasets"
    published = datasets / f"published-{platform.tag}.txt"
    published.write_text("catalogue v1")
    published.chmod(0o644)
    code = textwrap.dedent(
        f"""
        from pathlib import Path
        import platform_lib
        datasets = Path(platform_lib.get_settings().datasets)
        print("path", datasets)
        print("read", (datasets / {published.name!r}).read_text())
        for target in (datasets / "new.txt", datasets / {published.name!r}):
            try:
                with open(target, "a") as f:
                    f.write("x")
                print("write ok")
            except PermissionError:
                print("write denied")
        """
    )
    try:
        out = platform.execute(keeper, code)
    finally:
        published.unlink()
    assert f"path {datasets}" in out and "read catalogue v1" in out, out
    if platform.isolated:
        assert out.count("write denied") == 2, out
        assert not (datasets / "new.txt").exists()
    else:  # not root: the datasets area belongs to the invoking user, who runs every server
        assert "write" in out


def test_scratch_exists_and_is_private(platform, keeper):
    code = textwrap.dedent(
        """
        from pathlib import Path
        import platform_lib
        scratch = Path(platform_lib.get_settings().scratch)
        (scratch / "big.tmp").write_bytes(b"0" * 1024)
        print("scratch", scratch)
        """
    )
    out = platform.execute(keeper, code)
    scratch = platform.data_dir / "scratch" / keeper
    assert f"scratch {scratch}" in out, out
    info = os.stat(scratch)
    assert stat.S_ISDIR(info.st_mode)
    # private: only its owner may enter it. The sticky bit may be set too: scratch is the server's TMPDIR
    # (grade15), and jupyter_client sets it on the folder of a connection file it writes there.
    assert info.st_mode & 0o777 == 0o700, oct(info.st_mode)
    assert (scratch / "big.tmp").stat().st_size == 1024
    if platform.isolated:
        assert info.st_uid == pwd.getpwnam(platform.system_user(keeper)).pw_uid
