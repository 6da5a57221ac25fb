"""A real ``astrohub-archive`` process for the archive's integration tests: started, polled until ready,
stopped, and its log checked for tracebacks. One copy for test_archive_service, test_archive_tap,
test_archive_hips and test_moving_archive (imported by path: ``sys.path`` holds this folder).

The log goes to a file, not a pipe: a service that logs much (the fuzz tests' refusals) would block on a
full pipe.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import requests

from platform_lib.local.ports import free_ports


def start_archive(args: list[str], log_path: Path, *, port: int | None = None,
                  ready: str = "sia/availability") -> tuple[subprocess.Popen, str]:
    """Start ``astrohub-archive --port PORT *args`` (a free port by default); ``(process, base URL)`` once
    ``ready`` answers 200. The hub's variables of the test's own environment are not passed on."""
    port = port or free_ports(1)[0]
    exe = Path(sys.executable).with_name("astrohub-archive")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTERHUB_", "ASTROHUB_ARCHIVE_HIPS"))}
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([str(exe), "--port", str(port), *args], env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(base + ready, timeout=2).status_code == 200:
                return proc, base
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or slow to answer on a busy machine
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"archive service did not start: {log_path.read_text()[-2000:]}")
        time.sleep(0.1)  # polling interval while waiting for readiness (bounded by the deadline)


def stop_archive(proc: subprocess.Popen, log_path: Path) -> str:
    """Stop the service (SIGTERM, then SIGKILL after 10 s); its log."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    return log_path.read_text()


@contextlib.contextmanager
def running_archive(args: list[str], log_path: Path, **start) -> Iterator[str]:
    """The base URL of a service running for the ``with`` block, whose log must hold no traceback."""
    proc, base = start_archive(args, log_path, **start)
    try:
        yield base
    finally:
        out = stop_archive(proc, log_path)
    assert "Traceback" not in out, out[-3000:]
