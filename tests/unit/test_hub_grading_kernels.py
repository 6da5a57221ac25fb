"""Unit tests of autograding's kernels: the relay's and the broker's commands (astrohub_server.gradingkernel,
astrohub_hub.grading_kernels) and, as root, a real kernel started through the broker as the kernel identity."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from astrohub_hub.accounts import kernel_username
from astrohub_hub.errors import UsernameError
from astrohub_hub.grading_kernels import BROKER_ENV, KernelBroker, kernel_argv, kernel_env
from astrohub_server import gradingkernel
from astrohub_server.gradingkernel import SandboxKernelManager, relay_argv, sandbox_kernels


def test_the_kernel_identity_is_the_grading_identitys_name_with_its_own_mark():
    assert kernel_username("astro-_grade-astro101") == "astro-_kernl-astro101"
    assert len(kernel_username("astro-_grade-observatio-7299e635")) == 32
    with pytest.raises(UsernameError, match="not a grading identity"):
        kernel_username("astro-prof")  # never an instructor's (or anybody's) name with a suffix


def test_the_kernel_command_goes_through_the_relay_only_when_a_broker_is_named(monkeypatch):
    cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", "/c/kernel-1.json"]
    assert relay_argv(cmd, None) == relay_argv(cmd, "") == cmd
    assert relay_argv(cmd, "/tmp/b/kernels.sock") == [sys.executable, "-I", "-m", "astrohub_server.gradingkernel",
                                                      "/tmp/b/kernels.sock", "--", *cmd]
    assert gradingkernel.BROKER_ENV == BROKER_ENV
    monkeypatch.setenv(BROKER_ENV, "/tmp/b/kernels.sock")
    km = SandboxKernelManager(kernel_name="python3", connection_file="/c/kernel-1.json")
    launched = km.format_kernel_cmd()
    assert launched[:6] == [sys.executable, "-I", "-m", "astrohub_server.gradingkernel", "/tmp/b/kernels.sock", "--"]
    assert "ipykernel_launcher" in launched and launched[launched.index("-f") + 1] == "/c/kernel-1.json", launched
    monkeypatch.delenv(BROKER_ENV)
    # (it asked whether "gradingkernel" was one of the arguments, which it never is: the module is
    # "astrohub_server.gradingkernel", so the check passed with the sandbox still in the command)
    assert not any("gradingkernel" in arg for arg in km.format_kernel_cmd()), km.format_kernel_cmd()


def test_nbgraders_execute_preprocessor_takes_the_sandbox_kernel_manager(monkeypatch):
    from nbgrader.preprocessors import Execute, execute

    monkeypatch.setattr(execute, "AsyncKernelManager", execute.AsyncKernelManager)  # put back afterwards
    sandbox_kernels()
    assert Execute().kernel_manager_class is SandboxKernelManager


def test_the_broker_runs_the_kernels_command_on_its_copy_of_the_connection_file_with_no_new_privileges():
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "/c/.runtime/kernel-1.json"]
    assert kernel_argv(argv, "/c/.runtime/kernel-1.json", "/tmp/k/kernel.json") == [
        "setpriv", "--no-new-privs", "--", sys.executable, "-m", "ipykernel_launcher", "-f", "/tmp/k/kernel.json"]
    env = kernel_env({"PATH": "/usr/bin", "HOME": "/srv/classes/.grading/g", "JUPYTER_RUNTIME_DIR": "/c/.runtime",
                      "JPY_PARENT_PID": "12", "LD_PRELOAD": "/c/x.so"}, "/tmp/k")
    assert env == {"PATH": "/usr/bin", "JPY_PARENT_PID": "12", "HOME": "/tmp/k", "TMPDIR": "/tmp/k",
                   "IPYTHONDIR": "/tmp/k/.ipython", "JUPYTER_CONFIG_DIR": "/tmp/k/.jupyter",
                   "JUPYTER_DATA_DIR": "/tmp/k/.local/share/jupyter", "JUPYTER_RUNTIME_DIR": "/tmp/k/runtime",
                   "MPLCONFIGDIR": "/tmp/k/.matplotlib"}


#: Run as the grading identity: nbclient (as nbgrader's Execute) runs a notebook with the sandbox kernel manager.
_EXECUTE = """
import json, sys, nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook
from astrohub_server.gradingkernel import SandboxKernelManager

folder, cells = sys.argv[1], json.loads(sys.argv[2])
nb = new_notebook(cells=[new_code_cell(c) for c in cells])
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
NotebookClient(nb, kernel_manager_class=SandboxKernelManager, timeout=3, interrupt_on_timeout=True,
               allow_errors=True, resources={"metadata": {"path": folder}}).execute()
outputs = ["".join(o.get("text", "")) or o.get("ename", "") for c in nb.cells for o in c.outputs]


async def killed():  # jupyter_client kills the relay (SIGKILL): the broker kills the kernel
    km = SandboxKernelManager(kernel_name="python3")
    await km.start_kernel(cwd=folder)
    client = km.client()
    client.start_channels()
    await client.wait_for_ready(timeout=60)
    client.stop_channels()
    await km.shutdown_kernel(now=True)

import asyncio
asyncio.run(killed())
print(json.dumps(outputs))
"""


def _processes(uid: int) -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        try:
            if pid.isdigit() and os.stat(f"/proc/{pid}").st_uid == uid:
                found.append(Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " "))
        except OSError:
            continue
    return found


@pytest.mark.skipif(os.geteuid() != 0, reason="creates system users: root only")
def test_a_students_notebook_runs_as_the_kernel_identity_in_a_copy_of_its_folder_and_leaves_nothing_running():
    """The grading identity's nbclient starts the kernel through the broker: the student's code runs as the kernel
    identity (no new privileges), reads its own data file by its relative name, cannot write the gradebook nor
    read another student's submission; nbclient's interrupt on a cell's timeout reaches it, its shutdown ends it,
    and what the code started in the background is killed with it."""
    prefix = f"k{os.getpid() % 10000}-"
    grader, kernel = prefix + "_grade-c1", prefix + "_kernl-c1"
    tmp = Path(tempfile.mkdtemp(prefix="grading-kernels-"))
    try:
        for name in (grader, kernel):
            subprocess.run(["useradd", "--no-create-home", "--home-dir", "/nonexistent", "--shell",
                            "/usr/sbin/nologin", "--user-group", name], check=True, capture_output=True)
        g, k = pwd.getpwnam(grader), pwd.getpwnam(kernel)
        tmp.chmod(0o755)
        course = tmp / "nbgrader"
        work = course / "autograded" / "s1" / "hw"
        work.mkdir(parents=True)
        (work / "data.txt").write_text("42")
        (course / "submitted" / "s2" / "hw").mkdir(parents=True)
        (course / "submitted" / "s2" / "hw" / "hw.ipynb").write_text("{}")
        (course / "gradebook.db").write_text("")
        (course / ".runtime").mkdir()
        for path in [course, *course.rglob("*")]:
            os.chown(path, g.pw_uid, g.pw_gid)
        course.chmod(0o700)
        cells = ["import os; print(os.getuid(), open('data.txt').read(), os.getcwd().startswith('/tmp/astrohub-kernel-'))",
                 textwrap.dedent(f"""
                     for path, mode in (({str(course / 'gradebook.db')!r}, 'a'),
                                        ({str(course / 'submitted/s2/hw/hw.ipynb')!r}, 'r')):
                         try:
                             open(path, mode).close(); print('opened')
                         except PermissionError as exc:
                             print(type(exc).__name__)"""),
                 "print(open('/proc/self/status').read().split('NoNewPrivs:')[1].split()[0])",
                 "import subprocess; subprocess.Popen(['sleep', '300'], start_new_session=True); print('left')",
                 "while True: pass",
                 "print('after the interrupt')"]
        with KernelBroker(grader, kernel, course / "autograded") as broker:
            assert stat.S_IMODE(os.stat(os.path.dirname(broker.socket_path)).st_mode) == 0o700
            done = subprocess.run([sys.executable, "-c", _EXECUTE, str(work), json.dumps(cells)], capture_output=True,
                                  text=True, timeout=120, user=g.pw_uid, group=g.pw_gid, extra_groups=[], cwd="/",
                                  env={"PATH": os.environ["PATH"], "HOME": str(tmp), BROKER_ENV: broker.socket_path,
                                       "JUPYTER_RUNTIME_DIR": str(course / ".runtime")})
            assert done.returncode == 0, done.stderr[-3000:]
            outputs = json.loads(done.stdout.strip().splitlines()[-1])
            deadline = time.monotonic() + 30  # the killed relay's kernel goes when the broker sees the socket close
            while _processes(k.pw_uid) and time.monotonic() < deadline:
                time.sleep(0.1)
        assert not broker._thread.is_alive()  # it stopped listening: no thread left behind per autograde
        assert outputs == [f"{k.pw_uid} 42 True\n", "PermissionError\nPermissionError\n", "1\n", "left\n",
                           "KeyboardInterrupt", "after the interrupt\n"], outputs
        assert not _processes(k.pw_uid)  # the background sleep and the killed relay's kernel too
        assert not list(Path("/tmp").glob("astrohub-kernel-*")) or all(
            p.stat().st_uid != k.pw_uid for p in Path("/tmp").glob("astrohub-kernel-*"))
        assert (course / "gradebook.db").read_text() == ""
    finally:
        for name in (grader, kernel):
            try:  # a failed run may leave this test's own users' processes: end them, then remove the users
                uid = pwd.getpwnam(name).pw_uid
            except KeyError:
                continue
            for pid in os.listdir("/proc"):
                try:
                    if pid.isdigit() and os.stat(f"/proc/{pid}").st_uid == uid:
                        os.kill(int(pid), 9)
                except OSError:
                    continue
            subprocess.run(["userdel", name], check=False, capture_output=True)
            subprocess.run(["groupdel", name], check=False, capture_output=True)
        shutil.rmtree(tmp)
