"""Python code run as another Unix user, as the security tests need: a student's system user reading what
is not theirs, another user's process calling a service directly. Only root can; those tests skip otherwise.

Owns :func:`run_as`. On the path by tests/conftest.py (tests/support/), so a test writes::

    from system_user import run_as

May import the standard library only.
"""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
from typing import Any

#: Seconds the code may run.
TIMEOUT = 120


def run_as(name: str, code: str) -> Any:
    """Run ``code`` with this Python as the Unix user ``name`` (their group only, ``HOME`` theirs, in ``/``);
    it prints one JSON value last, which is returned. Fails the test, with the end of its stderr, when the
    code fails."""
    entry = pwd.getpwnam(name)
    # user=/group=/extra_groups= drop the identity in the forked child in C: a preexec_fn runs Python there,
    # which is unsafe in this multi-threaded test process (the child segfaulted in CI)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT,
                          user=entry.pw_uid, group=entry.pw_gid, extra_groups=[], cwd="/",
                          env={**os.environ, "HOME": entry.pw_dir})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
