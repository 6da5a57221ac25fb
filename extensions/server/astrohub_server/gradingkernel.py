"""Autograding's kernels, launched through the classes service as an identity that cannot write the course.

nbgrader's ``autograde`` runs as a class's grading identity, which writes the course directory (the gradebook, every
student's ``submitted/`` and ``autograded/``), and executes each student's notebook in a kernel it starts. A kernel
started as nbgrader's own child would run the student's code as that identity too. Here nbgrader's ``Execute``
preprocessor gets :class:`SandboxKernelManager` (:func:`sandbox_kernels`), whose kernel command is the kernel's own
behind ``python -I -m astrohub_server.gradingkernel <socket> --``: this relay, still the grading identity, asks the
classes service's broker listening on ``<socket>`` (:class:`astrohub_hub.grading_kernels.KernelBroker`, root) to
start the kernel as the class's kernel identity, in a fresh folder holding a copy of the notebook's folder, with
a copy of the connection file; it then stands for the kernel as jupyter_client's process: the signals it gets
(nbgrader's interrupt on a timeout, a terminate) go to the kernel, it ends when the kernel ends with its exit
status, and when it is killed the broker kills the kernel. ``ASTROHUB_KERNEL_BROKER`` (the socket) is set by the
service for an autograde step alone; without it the kernels start as nbgrader's children (one account runs
everything: no system users).

Protocol, one JSON object a line on the Unix socket: the relay sends ``{"argv", "cwd", "env", "connection_file",
"connection"}`` (the file's text) with its standard output and error as ``SCM_RIGHTS`` descriptors, then
``{"signal": n}`` for each signal; the broker answers ``{"exit": code}`` (negative: killed by that signal) or
``{"error": message}``. May import the standard library and jupyter_client (nbgrader in :func:`sandbox_kernels`).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys

from jupyter_client.manager import AsyncKernelManager

__all__ = ["BROKER_ENV", "SandboxKernelManager", "main", "relay_argv", "sandbox_kernels"]

#: The environment variable naming the broker's socket (set by the classes service for an autograde step).
BROKER_ENV = "ASTROHUB_KERNEL_BROKER"

#: The signals the relay passes on to the kernel (jupyter_client's interrupt and terminate, a hangup).
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


def relay_argv(kernel_cmd: list[str], broker: str | None) -> list[str]:
    """``kernel_cmd`` behind the relay to ``broker`` (a socket path; None or empty: unchanged)."""
    if not broker:
        return list(kernel_cmd)
    return [sys.executable, "-I", "-m", "astrohub_server.gradingkernel", broker, "--", *kernel_cmd]


class SandboxKernelManager(AsyncKernelManager):
    """nbgrader's kernel manager (``AsyncKernelManager``, as nbgrader's ``Execute`` takes) whose kernel starts
    through :func:`relay_argv` when ``ASTROHUB_KERNEL_BROKER`` names the broker's socket."""

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        return relay_argv(super().format_kernel_cmd(extra_arguments), os.environ.get(BROKER_ENV))


def sandbox_kernels() -> None:
    """Make nbgrader's ``Execute`` preprocessor start its kernels with :class:`SandboxKernelManager`.

    nbgrader passes ``kernel_manager_class=AsyncKernelManager`` to its base class's constructor, which wins over
    configuration (``Execute.kernel_manager_class``), so the name it passes is replaced; checked, so that an
    nbgrader that stopped passing it fails here rather than running students' code as the grading identity."""
    from nbgrader.preprocessors import Execute, execute

    execute.AsyncKernelManager = SandboxKernelManager
    if Execute().kernel_manager_class is not SandboxKernelManager:
        raise RuntimeError("astrohub: nbgrader's Execute preprocessor does not take SandboxKernelManager: students' "
                           "notebooks would run as the grading identity; not autograding")


def _send(sock: socket.socket, message: dict, fds: list[int] | None = None) -> None:
    data = json.dumps(message).encode() + b"\n"
    if fds:
        socket.send_fds(sock, [data], fds)
    else:
        sock.sendall(data)


def main(argv: list[str] | None = None) -> int:
    """The relay: ``<socket> -- <kernel command>``; returns the kernel's exit status (see the module's text)."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m astrohub_server.gradingkernel <socket> -- <kernel command>", file=sys.stderr)
        return 2
    broker, cmd = argv[0], argv[2:]
    connection_file = next((cmd[i + 1] for i, a in enumerate(cmd[:-1]) if a == "-f"), None)
    if connection_file is None:
        print(f"astrohub: the kernel command has no connection file (-f): {cmd}", file=sys.stderr)
        return 2
    with open(connection_file) as fh:
        connection = fh.read()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(broker)
    env = {k: v for k, v in os.environ.items() if k != BROKER_ENV}
    _send(sock, {"argv": cmd, "cwd": os.getcwd(), "env": env, "connection_file": connection_file,
                 "connection": connection}, [1, 2])
    for signum in FORWARDED:
        signal.signal(signum, lambda n, _frame: _send(sock, {"signal": n}))
    reader = sock.makefile("r")
    for line in reader:
        answer = json.loads(line)
        if "error" in answer:
            print(f"astrohub: the kernel was not started: {answer['error']}", file=sys.stderr)
            return 1
        if "exit" in answer:
            code = answer["exit"]
            return 128 - code if code < 0 else code
    print("astrohub: the kernel broker went away", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
