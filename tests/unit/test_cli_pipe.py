"""``astrohub`` writing into a pipe whose reader has gone (``astrohub status | head -1``): the command
ends with status 141, as shell tools killed by SIGPIPE do, and prints no traceback."""

from __future__ import annotations

import os
import subprocess
import sys


def test_a_closed_pipe_ends_the_command_without_a_traceback(tmp_path) -> None:
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the command writes its first line
    try:
        done = subprocess.run([sys.executable, "-m", "platform_lib", "status", "--data-dir", str(tmp_path)],
                              stdout=write, stderr=subprocess.PIPE, text=True, timeout=120,
                              env={k: v for k, v in os.environ.items() if not k.startswith("PLATFORM_")},
                              cwd=tmp_path)
    finally:
        os.close(write)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 141, done.stderr
