"""The kernel broker: autograding's kernels started as a class's kernel identity, never as its grading identity.

Owns :class:`KernelBroker`, which the classes service (root) runs for the length of a local ``autograde`` step
(:class:`astrohub_hub.grading.LocalSteps`). nbgrader, as the class's grading identity (which writes the gradebook
and every student's submission), starts each kernel through :mod:`astrohub_server.gradingkernel`'s relay; the
relay connects to the broker's Unix socket (in a folder of the grading identity's alone, and the broker checks the
peer's uid) and the broker starts the kernel command as the class's kernel identity
(:func:`astrohub_hub.accounts.kernel_username`), which has no access to the class's folders:

- in a fresh folder ``/tmp/astrohub-kernel-*`` (the kernel identity's, 0700: its home, working folder and
  ``TMPDIR``) holding a copy of the notebook's folder, read as the grading identity (links not followed) from
  ``autograded/`` alone, so relative paths to the student's data files work and no path leads into the course;
- with a copy of the connection file there, readable by the kernel identity alone (the original stays in the
  course's runtime folder);
- with ``setpriv --no-new-privs``, no supplementary groups, in a session of its own; its output goes to nbgrader's.

Signals the relay passes on go to the kernel's process group; when the kernel ends the relay gets its status;
when the relay goes (jupyter_client killed it, nbgrader ended) the kernel is killed. After each kernel, every
process of the kernel identity still running is killed (a student's code left one behind to meddle with the next
student's kernel) and the folder is removed; so one broker of a kernel identity runs at a time (the classes service
runs a class's grading steps one after the other: ``Teaching._grading_turn``). May import the standard library,
``folders`` and ``errors``.
"""

from __future__ import annotations

import json
import logging
import os
import pwd
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
from pathlib import Path

from astrohub_hub import folders
from astrohub_hub.errors import HubError

__all__ = ["BROKER_ENV", "KernelBroker", "kernel_argv", "kernel_env"]

log = logging.getLogger("astrohub.grading_kernels")

#: The step's environment variable naming the broker's socket (``astrohub_server.gradingkernel.BROKER_ENV``).
BROKER_ENV = "ASTROHUB_KERNEL_BROKER"

#: What a kernel's environment keeps from the relay's (nbgrader's): the rest (the course's runtime folder, the
#: grading identity's home) is the sandbox's own.
_KEEP_ENV = ("PATH", "LANG", "LC_ALL", "JPY_PARENT_PID", "PYDEVD_DISABLE_FILE_VALIDATION")


def kernel_argv(argv: list[str], connection_file: str, copy: str) -> list[str]:
    """The command the broker runs as the kernel identity: the kernel's own ``argv`` with the connection file
    replaced by its ``copy``, behind ``setpriv --no-new-privs`` (no process of the kernel gains privileges through a
    set-uid program)."""
    return ["setpriv", "--no-new-privs", "--", *(copy if a == connection_file else a for a in argv)]


def kernel_env(env: dict[str, str], folder: str) -> dict[str, str]:
    """The kernel's environment: what :data:`_KEEP_ENV` keeps of ``env``, the rest in the kernel's ``folder``."""
    kept = {k: v for k, v in env.items() if k in _KEEP_ENV}
    return {**kept, "HOME": folder, "TMPDIR": folder, "IPYTHONDIR": f"{folder}/.ipython",
            "JUPYTER_CONFIG_DIR": f"{folder}/.jupyter", "JUPYTER_DATA_DIR": f"{folder}/.local/share/jupyter",
            "JUPYTER_RUNTIME_DIR": f"{folder}/runtime", "MPLCONFIGDIR": f"{folder}/.matplotlib"}


def _processes_of(uid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    pids.append(int(entry))
            except OSError:
                continue
    return pids


class KernelBroker:
    """Start kernels for ``runner`` (the grading identity, the only peer served) as ``kernel_user``, from
    notebook folders under ``allowed`` (the course's ``autograded/``). A context manager: listening while open,
    its socket's path in :attr:`socket_path`; on closing, every kernel still running is killed."""

    def __init__(self, runner: str, kernel_user: str, allowed: Path) -> None:
        self.runner, self.kernel_user, self.allowed = runner, kernel_user, Path(allowed)
        try:
            self._runner = pwd.getpwnam(runner)
            self._kernel = pwd.getpwnam(kernel_user)
        except KeyError as exc:
            raise HubError(f"system user {exc.args[0]} is missing: autograding runs the students' notebooks as "
                           f"{kernel_user!r}, never as {runner!r}; the class's next grading step makes it",
                           code="grading-failed", value=kernel_user) from None
        self._folder = Path(tempfile.mkdtemp(prefix="astrohub-broker-"))
        os.chown(self._folder, self._runner.pw_uid, self._runner.pw_gid)
        self.socket_path = str(self._folder / "kernels.sock")
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(self.socket_path)
        os.chown(self.socket_path, self._runner.pw_uid, self._runner.pw_gid)
        self._server.listen(8)
        self._kernels: set[subprocess.Popen] = set()
        self._lock = threading.Lock()  # one kernel at a time of this identity: the sweep after each kills the rest
        self._thread = threading.Thread(target=self._accept, daemon=True, name="astrohub-kernel-broker")

    def __enter__(self) -> KernelBroker:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        try:  # wakes the accepting thread (closing alone leaves it blocked in accept() for good)
            self._server.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._server.close()
        self._thread.join(10)
        for process in list(self._kernels):  # a kernel whose relay outlived the step
            self._kill(process)
        shutil.rmtree(self._folder, ignore_errors=True)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                                   struct.calcsize("3i")))
            if uid != self._runner.pw_uid:
                log.warning("kernel broker: refused a connection of uid %d (serves %s only)", uid, self.runner)
                return
            data, fds, _flags, _addr = socket.recv_fds(conn, 1 << 16, 2)
            try:
                while not data.endswith(b"\n"):  # the request is one line
                    more = conn.recv(1 << 16)
                    if not more or len(data) > 1 << 22:
                        raise ValueError("a kernel request must be one line of JSON of at most 4 MiB")
                    data += more
                request = json.loads(data)
                with self._lock:
                    self._run(conn, request, fds)
            except Exception as exc:  # noqa: BLE001 - the relay says why, nbgrader logs it; the service goes on
                log.warning("kernel broker: %s", exc)
                try:
                    conn.sendall(json.dumps({"error": str(exc)}).encode() + b"\n")
                except OSError:
                    pass
            finally:
                for fd in fds:
                    os.close(fd)

    def _run(self, conn: socket.socket, request: dict, fds: list[int]) -> None:
        cwd = Path(os.path.realpath(request["cwd"]))
        if not cwd.is_relative_to(os.path.realpath(self.allowed)):
            raise ValueError(f"a kernel's folder must be under {self.allowed}, not {request['cwd']}")
        folder = tempfile.mkdtemp(prefix="astrohub-kernel-")
        try:
            os.chown(folder, self._kernel.pw_uid, self._kernel.pw_gid)
            data = folders.pack_as(cwd, self.runner, base=self.allowed)
            folders.unpack_as(data, Path(folder, "work"), self.kernel_user, base=Path(folder))
            copy = os.path.join(folder, "kernel.json")
            fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(request["connection"])
            os.chown(copy, self._kernel.pw_uid, self._kernel.pw_gid)
            out, err = (fds + [None, None])[:2]
            process = subprocess.Popen(
                kernel_argv(request["argv"], request["connection_file"], copy), cwd=os.path.join(folder, "work"),
                env=kernel_env(request["env"], folder), stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                user=self._kernel.pw_uid, group=self._kernel.pw_gid, extra_groups=[], start_new_session=True)
            self._kernels.add(process)
            try:
                self._relay(conn, process)
            finally:
                self._kill(process)
                self._kernels.discard(process)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _relay(self, conn: socket.socket, process: subprocess.Popen) -> None:
        """Pass the relay's signals to the kernel until it ends (then send its status) or the relay goes."""
        done = threading.Event()

        def wait() -> None:
            code = process.wait()
            done.set()
            try:
                conn.sendall(json.dumps({"exit": code}).encode() + b"\n")
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                pass

        threading.Thread(target=wait, daemon=True).start()
        for line in conn.makefile("r"):
            if done.is_set():
                break
            try:
                signum = int(json.loads(line)["signal"])
                os.killpg(process.pid, signum)
            except (ValueError, KeyError, TypeError, ProcessLookupError, PermissionError):
                continue

    def _kill(self, process: subprocess.Popen) -> None:
        """Kill the kernel, then every process of the kernel identity (what a student's code left running)."""
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        process.wait()
        for _ in range(50):
            pids = _processes_of(self._kernel.pw_uid)
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            threading.Event().wait(0.05)
        log.warning("kernel broker: processes of %s still running: %s", self.kernel_user, pids)
