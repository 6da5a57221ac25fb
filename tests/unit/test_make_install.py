"""What the README's quickstart installs: `make up` (its `install` step) brings the Debian packages the platform
itself uses, not only `make test` (first11: on a fresh Debian machine `make up` left out kstars-data, and the
moving-objects tutorial stopped at its first cell: "orbit file /usr/share/kstars/asteroids.dat does not exist")."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")
def test_make_up_installs_the_debian_packages_the_platform_uses(tmp_path):
    # dpkg says nothing is installed; apt-get and sudo record what they are asked and succeed
    calls = tmp_path / "calls"
    for tool, body in {"dpkg": "exit 1", "apt-get": f'echo "apt-get $*" >> {calls}', "sudo": 'exec "$@"'}.items():
        (tmp_path / tool).write_text(f"#!/bin/sh\n{body}\n")
        (tmp_path / tool).chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    # the install step `make up` runs, less its Python and npm targets (up to date or not, they are not asked here)
    plan = subprocess.run(["make", "-C", str(ROOT), "-n", "-p", "install"], env=env, capture_output=True, text=True)
    install = next(line for line in plan.stdout.splitlines() if line.startswith("install:"))
    debian = [t for t in install.split(":", 1)[1].split() if not t.startswith((".venv", "proxy"))]
    assert debian, f"`make up` installs no Debian package: {install}"
    done = subprocess.run(["make", "-C", str(ROOT), *debian], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    installed = calls.read_text().split()
    assert {"acl", "kstars-data"} <= set(installed), installed


@pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")
def test_an_environment_made_before_loses_every_package_the_overrides_leave_out(tmp_path):
    """The packages .ci/overrides.txt leaves out (a never-true marker) are the ones `make install` uninstalls from an
    existing .venv: the Makefile reads them from the file, its one owner (ci20: it named rfc3987-syntax by hand, so a
    second package left out there stayed in every environment made before)."""
    (tmp_path / ".ci").mkdir()
    overrides = (ROOT / ".ci" / "overrides.txt").read_text()
    (tmp_path / ".ci" / "overrides.txt").write_text(overrides + 'left-out-too; sys_platform == "never"\n'
                                                    'kept-pin==1.0\n')
    shown = subprocess.run(["make", "-s", "-f", str(ROOT / "Makefile"), "-C", str(tmp_path), "--no-print-directory",
                            "--eval", "show-remove: ; @echo '$(UV_REMOVE)'", "show-remove"],
                           capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    removed = shown.stdout.split("--quiet", 1)[-1].split("2>", 1)[0].split()
    assert removed == ["rfc3987-syntax", "left-out-too"], shown.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")
def test_make_test_runs_the_servers_tiers_on_two_workers_a_test_file_at_a_time():
    """`make test` runs the integration and browser tiers on two pytest-xdist workers, each with a platform of its
    own (citime22: one process with one platform kept about one core of CI's two busy), and hands out whole test
    files: a module's fixtures (its users, servers, classes) and the order of its tests stay on one worker and one
    platform. ``--dist load`` would split a module over both platforms."""
    shown = subprocess.run(["make", "-s", "-C", str(ROOT), "--no-print-directory",
                            "--eval", "show-runs: ; @printf '%s\\n' $(TEST_RUNS)", "show-runs"],
                           capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    runs = [line.split() for line in shown.stdout.splitlines() if line.strip()]
    servers = [run for run in runs if "tests/integration" in run]
    assert len(servers) == 1 and "tests/browser" in servers[0], runs  # one run: the tiers share each platform
    args = " ".join(servers[0])
    assert "-n 2" in args and "--dist loadfile" in args, args
