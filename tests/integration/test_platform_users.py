"""The platform end to end: users, groups, servers, kernels, Dask gateway and storage isolation.

Drives the real platform from the session ``platform`` fixture through the hub REST API and the
Jupyter server REST + websocket API, as a user's browser would.
"""

from __future__ import annotations

import textwrap
import time

import pytest


def _wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def team(platform):
    """Two users, ann and bob, in a group created through the hub API, with their servers running."""
    ann, bob, group = platform.unique("ann"), platform.unique("bob"), platform.unique("team")
    platform.create_user(ann)
    platform.create_user(bob)
    platform.create_group(group, [ann, bob])
    platform.start_server(ann)
    platform.start_server(bob)
    yield ann, bob, group
    platform.stop_server(ann)
    platform.stop_server(bob)


def test_group_created_through_api_lists_members(platform, team):
    ann, bob, group = team
    response = platform.api("GET", f"/groups/{group}")
    assert response.status_code == 200
    assert sorted(response.json()["users"]) == sorted([ann, bob])
    # The group sync service creates the group's folder once membership is known.
    _wait_for((platform.data_dir / "groups" / group).is_dir, 30, f"the folder of group {group}")


def test_kernel_uses_platform_lib_dask_gateway_and_storage(platform, team):
    ann, _bob, group = team
    _wait_for((platform.data_dir / "groups" / group).is_dir, 30, f"the folder of group {group}")
    code = textwrap.dedent(
        f"""
        from pathlib import Path
        import platform_lib
        from dask_gateway import Gateway

        settings = platform_lib.get_settings()
        print("user", settings.user)
        print("home", settings.home)
        (Path(settings.home) / "secret.txt").write_text("ann's notes")
        (Path(settings.groups_root) / "{group}" / "shared.txt").write_text("hello team")

        gateway = Gateway()
        cluster = gateway.new_cluster()
        try:
            cluster.scale(1)
            client = cluster.get_client()
            client.wait_for_workers(1, timeout=120)
            print("sum", client.submit(sum, range(10)).result())
            client.close()
        finally:
            cluster.shutdown()
        """
    )
    out = platform.execute(ann, code, timeout=240)
    lines = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
    assert lines["user"] == ann
    assert lines["sum"] == "45"
    assert (platform.data_dir / "home" / ann / "secret.txt").read_text() == "ann's notes"
    assert (platform.data_dir / "groups" / group / "shared.txt").read_text() == "hello team"


def test_other_member_reads_group_file_but_not_home(platform, team):
    ann, bob, group = team
    home_file = platform.data_dir / "home" / ann / "secret.txt"
    group_file = platform.data_dir / "groups" / group / "shared.txt"
    _wait_for(lambda: home_file.exists() and group_file.exists(), 5, "ann's files (written by the previous test)")
    code = textwrap.dedent(
        f"""
        from pathlib import Path
        import platform_lib
        settings = platform_lib.get_settings()
        print("group", (Path(settings.groups_root) / "{group}" / "shared.txt").read_text())
        try:
            Path({str(home_file)!r}).read_text()
            print("home readable")
        except PermissionError:
            print("home PermissionError")
        """
    )
    out = platform.execute(bob, code)
    assert "group hello team" in out
    if platform.isolated:
        assert "home PermissionError" in out, out
    else:  # documented: without root every server runs as the invoking user, so homes are not isolated
        assert "home readable" in out, out


def test_other_user_gets_403_on_server_routes(platform, team):
    ann, bob, _group = team
    assert platform.server_get(ann, "api/contents").status_code == 200
    for path in ("api/contents", "api/kernels", "lab"):
        response = platform.server_get(ann, path, token=platform.user_token(bob))
        assert response.status_code == 403, (path, response.status_code)


@pytest.fixture(scope="module")
def classroom(platform):
    """A teacher in ``instructors`` and a student in ``students`` (instructors_of = [students])."""
    teacher, student = platform.unique("prof"), platform.unique("stud")
    platform.create_user(teacher)
    platform.create_user(student)
    platform.add_group_users("instructors", [teacher])
    platform.add_group_users("students", [student])
    platform.start_server(student)
    yield teacher, student
    platform.stop_server(student)


def test_instructors_manage_students_servers_through_the_hub(platform, classroom):
    teacher, student = classroom
    token = platform.user_token(teacher)
    model = platform.api("GET", f"/users/{student}", token=token)
    assert model.status_code == 200
    assert model.json()["servers"][""]["ready"] is True
    # ...but not the other way round: a student cannot see the teacher.
    assert platform.api("GET", f"/users/{teacher}", token=platform.user_token(student)).status_code in (403, 404)


@pytest.mark.xfail(
    strict=True,
    reason="JupyterHub's single-user servers do not resolve group filters (jupyterhub/services/auth.py "
    "check_scopes: 'except for groups -> user'), so access:servers!group=students is not honoured on "
    "the student's server routes; needs per-server shares or per-user filters on the hub side",
)
def test_instructors_open_students_servers(platform, classroom):
    teacher, student = classroom
    assert platform.server_get(student, "api/status", token=platform.user_token(teacher)).status_code == 200
