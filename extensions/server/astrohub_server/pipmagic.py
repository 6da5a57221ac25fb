"""The kernels' ``%pip``: IPython's pip magic, and a clear word when pip cannot reach its package index.

On a platform without internet access (an observatory's private network), ``%pip install astroplan``
made pip retry the index five times, printing connection-pool reprs, and end with
``No matching distribution found for astroplan``, which reads as "no such package". :func:`pip` runs
pip exactly as IPython's magic does (``python -m pip <line>``, output streamed as it comes, into the
user's package layer through the environment the hub sets; see :mod:`astrohub_server.packages`), and when
pip failed because it could not connect to an index, adds what :func:`unreachable_index_note` says: the
index it could not reach and why, that the package may well exist, and what to do. Registered in every
kernel by the kernels' startup file (:mod:`astrohub_server.kernelstartup`).

May import the standard library only.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from typing import TextIO

__all__ = ["pip", "register", "unreachable_index_note"]

#: pip's retry warning: ``after connection broken by 'NewConnectionError(...)': /simple/name/`` (urllib3 2.x).
_BROKEN = re.compile(r"after connection broken by '(?P<error>\w+)\((?P<detail>.*)\)': /\S*$", re.M)
#: The errors of a connection that was never made: no name, no route, refused, timed out, no proxy.
_NO_CONNECTION = {"NewConnectionError", "NameResolutionError", "ConnectTimeoutError", "ProxyError"}
_ERRNO = re.compile(r"\[Errno -?\d+\] [^'\")]+")
_HOST = re.compile(r"host='(?P<host>[^']+)'")
#: pip's ``Looking in indexes: URL, URL`` line.
_INDEXES = re.compile(r"^Looking in indexes: (?P<urls>.+)$", re.M)


def unreachable_index_note(output: str) -> str | None:
    """What to tell the user when pip's ``output`` shows it could not connect to a package index, else ``None``.

    Examples
    --------
    >>> unreachable_index_note("ERROR: No matching distribution found for no-such-package") is None
    True
    >>> print(unreachable_index_note(
    ...     "WARNING: Retrying (Retry(total=0)) after connection broken by 'NameResolutionError(\\"HTTPSConnection("
    ...     "host='pypi.org', port=443): Failed to resolve 'pypi.org' ([Errno -3] Temporary failure in name "
    ...     "resolution)\\")': /simple/astroplan/\\n"
    ...     "ERROR: No matching distribution found for astroplan").splitlines()[0])
    astrohub: pip could not reach the package index at pypi.org ([Errno -3] Temporary failure in name resolution).
    """
    broken = [m for m in _BROKEN.finditer(output) if m.group("error") in _NO_CONNECTION]
    if not broken:
        return None
    detail = broken[-1].group("detail")
    errno = _ERRNO.search(detail)
    why = errno.group(0).strip() if errno else ("timed out" if "timed out" in detail else broken[-1].group("error"))
    indexes = _INDEXES.search(output)
    remote = [u for u in (indexes.group("urls").split(", ") if indexes else []) if not u.startswith("file:")]
    host = _HOST.search(detail)
    where = ", ".join(remote) if remote else f"at {host.group('host')}" if host else "(its index-url)"
    return (
        f"astrohub: pip could not reach the package index {where} ({why}).\n"
        "This platform has no internet access (or no way to that index), so an error above such as\n"
        "'No matching distribution found' does not mean that the package does not exist.\n"
        "What you can do: install a wheel or source file you have here, e.g. %pip install ./astroplan-0.10-py3-none-any.whl\n"
        "(upload it with the file browser), or ask your platform's operators to add the package to the\n"
        "platform's image or to give the platform a package mirror (pip's index-url)."
    )


def pip(line: str, *, python: str = sys.executable, out: TextIO | None = None) -> int:
    """Run ``python -m pip <line>``, its output (stdout and stderr, as IPython's magic shows them) streamed to
    ``out`` (``sys.stdout``); on a failure to reach an index, add :func:`unreachable_index_note`. Returns pip's
    exit status. Interrupting (the kernel's stop button) stops pip.
    """
    out = out or sys.stdout
    seen: list[str] = []
    with subprocess.Popen([python, "-m", "pip", *shlex.split(line)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, bufsize=1) as proc:
        try:
            for chunk in proc.stdout:
                seen.append(chunk)
                out.write(chunk)
                out.flush()
            status = proc.wait()
        except KeyboardInterrupt:
            proc.terminate()
            proc.wait()
            raise
    note = unreachable_index_note("".join(seen)) if status else None
    if note:
        out.write(note + "\n")
    elif status == 0:
        out.write("Note: you may need to restart the kernel to use updated packages.\n")
    return status


def register(shell) -> None:
    """Make :func:`pip` the ``%pip`` line magic of IPython ``shell`` (in place of IPython's own)."""

    def pip_magic(line: str) -> None:
        """Run pip in the kernel's environment; installs go to your package layer (~/.astrohub/packages).

        Usage: %pip install [pkgs]
        """
        pip(line)

    shell.register_magic_function(pip_magic, "line", "pip")
