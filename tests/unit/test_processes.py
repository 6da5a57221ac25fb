"""platform_lib.processes: the one "is this process alive" check, and its users in jobs, catalogs and the
local platform's owner (``astrohub up --owner``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from platform_lib.catalogs import Registry
from platform_lib.catalogs._ingest import _remove_debris
from platform_lib.jobs._runner import _remove_dead_staging
from platform_lib.local.errors import ConfigError
from platform_lib.local.owner import Owner
from platform_lib.processes import process_alive, process_start_ticks


@pytest.fixture
def zombie():
    """A child that has exited but was not yet reaped: its pid answers kill(0), yet nothing runs."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 30
    while True:  # poll /proc until it has exited (a zombie), without reaping it
        with open(f"/proc/{child.pid}/stat", encoding="ascii") as fh:
            if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        assert time.monotonic() < deadline, "the child did not exit"
        time.sleep(0.01)
    yield child.pid
    child.wait()


def test_process_alive():
    assert process_alive(os.getpid()) and process_alive(os.getpid(), process_start_ticks(os.getpid()))
    assert not process_alive(None) and not process_alive(os.getpid(), -1)


def test_a_zombie_is_not_alive(zombie):
    assert not process_alive(zombie)


def test_a_killed_ingests_folder_is_removed_even_while_its_pid_is_a_zombie(tmp_path, zombie):
    """Ingest's own check (kill(0) only) kept the folder of a dead, unreaped ingest; the shared one does not."""
    registry = Registry(tmp_path / "registry.sqlite")
    registry.data_root.mkdir(parents=True, exist_ok=True)
    dead = registry.data_root / f".tmp-gaia-{zombie}-abcdef12"
    live = registry.data_root / f".tmp-gaia-{os.getpid()}-abcdef12"
    dead.mkdir()
    live.mkdir()
    _remove_debris(registry)
    assert not dead.exists() and live.exists()


def test_a_dead_runners_staging_is_removed(tmp_path, zombie):
    target = tmp_path / "result.parquet"
    dead = tmp_path / f".result.parquet.{zombie}.tmp"
    dead.write_bytes(b"left by a killed runner")
    live = tmp_path / f".result.parquet.{os.getppid()}.tmp"
    live.write_bytes(b"another runner at work")
    _remove_dead_staging(target)
    assert not dead.exists() and live.exists()


def test_an_owner_is_gone_once_it_exits_even_before_it_is_reaped(zombie):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        owner = Owner(child.pid)
        assert not owner.gone()
    finally:
        child.kill()
        child.wait()
    assert owner.gone()
    with pytest.raises(ConfigError, match=f"--owner {zombie}: no process {zombie} is running") as info:
        Owner(zombie)
    assert info.value.key == "--owner"


def test_a_new_process_with_the_owners_pid_is_not_the_owner():
    owner = Owner(os.getpid())
    owner._start_ticks -= 1  # as if this process had got the pid of an owner that started a tick earlier
    assert owner.gone()
