"""A gateway's Dask scheduler (and worker) run here from the command line the gateway gives it, and what a client hears.

Owns :func:`running` (a process started from a command line, its address read from its log) and
:func:`hears_idle_shutdown` (a Client connected to a scheduler whose ``--dg-idle-timeout`` is a few seconds
waits for the idle notice of :mod:`platform_lib.idle_notice`). The gateway's API is not there (the
``DASK_GATEWAY_API_URL`` of :data:`NO_GATEWAY` answers nothing), so only the scheduler's heartbeats and its
own shutdown call fail; the scheduler keeps running. Used by the local gateway's test
(tests/unit/test_hub_gateway.py) and the chart's scheduler and worker pods (tests/helm/test_helm_pods.py).

May import the standard library and distributed only.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import time
from pathlib import Path
from typing import Iterator

#: Where a gateway scheduler finds its gateway's API (besides its ``DASK_GATEWAY_CLUSTER_NAME``): nothing there.
NO_GATEWAY = {"DASK_GATEWAY_API_URL": "http://127.0.0.1:9/api", "DASK_GATEWAY_API_TOKEN": "t"}

#: Seconds a process may take to start and a notice to come.
WAIT = 60


@contextlib.contextmanager
def running(argv: list[str], env: dict[str, str], cwd: Path, log: Path,
            pattern: str = r"Scheduler at:\s+(\S+)") -> Iterator[str]:
    """Run ``argv`` for the ``with`` block; yields the first group of ``pattern`` in its output (its address)."""
    with open(log, "w") as out:
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + WAIT
        while not (found := re.search(pattern, log.read_text())):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
        yield found.group(1)
    finally:
        proc.terminate()
        proc.wait(30)


def hears_idle_shutdown(client, after=None) -> list[str]:
    """What ``client`` is told by its scheduler (distributed ``print`` events) until the idle shutdown notice.

    ``after``: a callable run once subscribed (e.g. a task on a worker); only what is told after it counts,
    and a warning ("will be shut down in about") must precede the shutdown notice ("is being shut down").
    """
    said: list[str] = []
    client.subscribe_topic("print", lambda event: said.append(event[1]["args"][0]))
    if after is not None:
        after()
    start = len(said)
    deadline = time.monotonic() + WAIT
    while True:
        told = said[start:]
        soon = [i for i, s in enumerate(told) if "will be shut down in about" in s]
        if soon and any("is being shut down" in s for s in told[soon[0]:]):
            return told
        assert time.monotonic() < deadline, said
        time.sleep(0.1)
