"""CI time: the servers' test tiers in one pytest process against two (pytest-xdist, a platform per worker).

Usage (as root: the CPU of everything a run starts, the detached platform included, is read from a cgroup v1
``cpuacct`` group of the run's own)::

    .venv/bin/python bench/servers_tiers_split.py [--only one|two] TEST_PATH ... [-- PYTEST_ARGS ...]

Runs ``pytest TEST_PATH ... --durations=0`` twice, as ``make test`` runs the servers' tiers: the peer in one
process with one platform (what CI ran before citime22), then with ``-n 2 --dist loadfile`` (two workers, each
with a platform of its own, a test file at a time). For each: wall seconds, CPU seconds (user + sys of every
process the run started, from the cgroup) and CPU per wall second (how many of the machine's cores the run kept
busy), and the ratio of the two walls. On a shared machine the wall moves with the others' load; the CPU hardly
does, and says what a quiet machine of two cores can overlap. docs/benchmarks.md, "CI time", has the figures.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CPUACCT = Path("/sys/fs/cgroup/cpuacct")


def run(name: str, paths: list[str], extra: list[str]) -> dict[str, float]:
    """One pytest run in a cpuacct group of its own: wall and CPU seconds, the exit status."""
    group = CPUACCT / f"astrohub-bench-{name}-{uuid.uuid4().hex[:6]}"
    group.mkdir()
    # The child joins the group before it execs pytest: everything it starts (the detached platform too) stays in it.
    command = [sys.executable, "-m", "pytest", *paths, "--durations=0", "-q", "-p", "no:cacheprovider", *extra]
    env = {**os.environ, "ASTROHUB_TEST_HARD_EXIT": "1"}
    started = time.monotonic()
    proc = subprocess.run(["sh", "-c", f'echo $$ > {group}/cgroup.procs && exec "$@"', "sh", *command],
                          cwd=ROOT, env=env)
    wall = time.monotonic() - started
    cpu = int((group / "cpuacct.usage").read_text()) / 1e9
    deadline = time.monotonic() + 60  # the last of the platform's processes end just after pytest
    while (group / "cgroup.procs").read_text().strip() and time.monotonic() < deadline:
        time.sleep(0.5)
    try:
        group.rmdir()
    except OSError:  # a process of the run still lives in it: the group stays, named in the message
        print(f"left {group}: a process of the run is still in it", file=sys.stderr)
    return {"wall": wall, "cpu": cpu, "rc": proc.returncode}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("one", "two"), help="run only one side")
    parser.add_argument("paths", nargs="+", help="test files or folders (pytest arguments after --)")
    args, extra = parser.parse_known_args()
    if not os.access(CPUACCT, os.W_OK):
        sys.exit(f"needs a writable cgroup v1 cpuacct hierarchy at {CPUACCT} (run as root)")
    sides = {"one": [], "two": ["-n", "2", "--dist", "loadfile"]}
    results = {}
    for side, flags in sides.items():
        if args.only in (None, side):
            results[side] = run(side, args.paths, [*extra, *flags])
            r = results[side]
            print(f"{side} process(es): wall {r['wall']:.0f} s, CPU {r['cpu']:.0f} s, "
                  f"{r['cpu'] / r['wall']:.2f} cores busy, exit {r['rc']}  (load now {os.getloadavg()[0]:.1f})")
    if len(results) == 2:
        print(f"two / one: wall {results['two']['wall'] / results['one']['wall']:.2f}, "
              f"CPU {results['two']['cpu'] / results['one']['cpu']:.2f}")


if __name__ == "__main__":
    main()
