"""The kernels' ``%pip``: IPython's pip magic, and a clear word when pip cannot reach its package index.

On a platform without internet access (an observatory's private network), ``%pip install astroplan``
made pip retry the index five times, printing connection-pool reprs, and end with
``No matching distribution found for astroplan``, which reads as "no such package". :func:`pip` runs
pip exactly as IPython's magic does (``python -m pip <line>``, output streamed as it comes, into the
user's package layer through the environment the hub sets; see :mod:`astrohub_server.packages`), and when
pip failed because it could not connect to an index, adds what :func:`unreachable_index_note` says: the
index it could not reach and why, that the package may well exist, and what to do. Registered in every
kernel by the kernels' startup file (:mod:`astrohub_server.kernelstartup`).

The platform has no internet, so by default the hub gives every server no package index at all
(``PIP_NO_INDEX=1``; the operator's setting ``packages.index`` names a mirror or a folder of wheels instead:
``astrohub_hub.settings.PackageSettings``): ``!pip install astroplan`` had retried an unreachable PyPI for
minutes before the same cryptic words; now pip fails at once, and when it found no such package where the
platform lets it look, :func:`offline_note` says that the platform has no internet and how to get a package.
``!pip``, ``!pip3`` and ``!python -m pip`` lines in a cell run as ``%pip`` (:func:`shell_pip_as_magic`, an
IPython input transformer), so they say so too; a line with shell syntax (pipes, redirections) stays a shell
command. A terminal's ``pip`` (and ``pip3``) is :func:`main`, through the scripts of :data:`TERMINAL_BIN`, which
the server extension puts first on the ``PATH`` its terminals and kernels inherit (:func:`use_terminal_pip`; the
one owner of that folder: neither the hub nor the user image knows it): the same pip, run by the server's own
Python, with the same notes (which then say ``pip install``), on its standard error; its output and prompts as
pip writes them.

May import the standard library only.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
import shlex
import subprocess
import sys
from typing import MutableMapping, TextIO

__all__ = ["SERVER_PYTHON", "TERMINAL_BIN", "main", "offline_note", "pip", "register", "shell_pip_as_magic",
           "unreachable_index_note", "use_terminal_pip"]

#: The folder of the terminal's ``pip`` and ``pip3`` (``exec "$ASTROHUB_SERVER_PYTHON" -m astrohub_server.pipmagic``).
TERMINAL_BIN = Path(__file__).with_name("terminal")
#: The variable naming the Python of the server that serves the terminal, which :data:`TERMINAL_BIN`'s scripts run.
SERVER_PYTHON = "ASTROHUB_SERVER_PYTHON"


def use_terminal_pip(environ: MutableMapping[str, str] = os.environ, python: str = sys.executable) -> None:
    """Put :data:`TERMINAL_BIN` first on ``environ['PATH']`` and name ``python`` (this server's) in
    :data:`SERVER_PYTHON`, for the processes the server starts: terminado's terminals copy the server's
    environment (``TermManager.make_term_env``), as its kernels do (their ``!`` commands find the same ``pip``).

    The terminal's ``pip`` is then this server's pip, whatever ``python`` comes first on ``PATH``. The ``pip`` of a
    virtual environment the user activates comes first (``activate`` puts its ``bin`` before this folder); in one
    made without pip, ``pip`` is still the server's, which installs into the user's package layer, not the venv
   .

    Examples
    --------
    >>> env = {"PATH": "/usr/bin:/bin"}
    >>> use_terminal_pip(env, "/opt/venv/bin/python")
    >>> env["PATH"] == os.pathsep.join([str(TERMINAL_BIN), "/usr/bin", "/bin"]), env[SERVER_PYTHON]
    (True, '/opt/venv/bin/python')
    """
    rest = [entry for entry in environ.get("PATH", "").split(os.pathsep) if entry and entry != str(TERMINAL_BIN)]
    environ["PATH"] = os.pathsep.join([str(TERMINAL_BIN), *rest])
    environ[SERVER_PYTHON] = python

#: pip's retry warning: ``after connection broken by 'NewConnectionError(...)': /simple/name/`` (urllib3 2.x).
_BROKEN = re.compile(r"after connection broken by '(?P<error>\w+)\((?P<detail>.*)\)': /\S*$", re.M)
#: The errors of a connection that was never made: no name, no route, refused, timed out, no proxy.
_NO_CONNECTION = {"NewConnectionError", "NameResolutionError", "ConnectTimeoutError", "ProxyError"}
_ERRNO = re.compile(r"\[Errno -?\d+\] [^'\")]+")
_HOST = re.compile(r"host='(?P<host>[^']+)'")
#: pip's ``Looking in indexes: URL, URL`` line.
_INDEXES = re.compile(r"^Looking in indexes: (?P<urls>.+)$", re.M)


def unreachable_index_note(output: str, command: str = "%pip") -> str | None:
    """What to tell the user when pip's ``output`` shows it could not connect to a package index, else ``None``
    (``command``: how the user runs pip there, ``%pip`` in a kernel, ``pip`` in a terminal).

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
        f"What you can do: install a wheel or source file you have here, e.g. {command} install ./astroplan-0.10-py3-none-any.whl\n"
        "(upload it with the file browser), or ask your platform's operators to add the package to the\n"
        "platform's image or to give the platform a package mirror (pip's index-url)."
    )


#: pip's last words when no source it looked at has the package: ``No matching distribution found for NAME``
#: (in a kernel, pip colours its errors: ``\x1b[31mERROR: ...\x1b[0m``).
_NOT_FOUND = re.compile(r"ERROR: No matching distribution found for (?P<name>[^\s\x1b]+)")
#: Options by which a command names its own package source: then the platform's is not what was searched.
_OWN_SOURCE = re.compile(r"(?:^|\s)(?:-i|-f|--index-url|--extra-index-url|--find-links|--no-index)(?:[=\s]|$)")


def offline_note(line: str, output: str, environ=os.environ, command: str = "%pip") -> str | None:
    """What to tell the user when pip, run with the platform's package sources (no index by default:
    ``PIP_NO_INDEX``, perhaps a wheel folder, ``PIP_FIND_LINKS``), found no such package; else ``None``
    (``command`` as for :func:`unreachable_index_note`).

    Examples
    --------
    >>> print(offline_note("install astroplan", "ERROR: No matching distribution found for astroplan",
    ...                    {"PIP_NO_INDEX": "1"}).splitlines()[0])
    astrohub: this platform has no internet access and no package index, so pip could not download astroplan.
    >>> offline_note("install --find-links ./w astroplan", "ERROR: No matching distribution found for astroplan",
    ...              {"PIP_NO_INDEX": "1"}) is None
    True
    """
    found = _NOT_FOUND.search(output)
    if not found or environ.get("PIP_NO_INDEX", "").lower() not in ("1", "true", "yes", "on") \
            or _OWN_SOURCE.search(line):
        return None
    name, folder = found.group("name"), environ.get("PIP_FIND_LINKS", "").strip()
    where = (f"pip looked for it only in the platform's folder of wheels ({folder}), which does not have it"
             if folder else "no download was tried")
    return (
        f"astrohub: this platform has no internet access and no package index, so pip could not download {name}.\n"
        f"The package may well exist: {where}.\n"
        f"What you can do: install a wheel or source file you have here, e.g. {command} install ./astroplan-0.10-py3-none-any.whl\n"
        "(upload it with the file browser), or ask your platform's operators to add the package to the\n"
        "platform's image, or to give the platform a package mirror or a folder of wheels (its setting packages.index)."
    )


def pip(line: str, *, python: str = sys.executable, out: TextIO | None = None) -> int:
    """Run ``python -m pip <line>``, its output (stdout and stderr, as IPython's magic shows them) streamed to
    ``out`` (``sys.stdout``); on a failure to reach an index, add :func:`unreachable_index_note`, and when the
    platform's sources (no index) have no such package, :func:`offline_note`. Returns pip's exit status. Interrupting (the kernel's stop button) stops pip.
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
    note = (unreachable_index_note("".join(seen)) or offline_note(line, "".join(seen))) if status else None
    if note:
        out.write(note + "\n")
    elif status == 0:
        out.write("Note: you may need to restart the kernel to use updated packages.\n")
    return status


#: A cell's line that runs pip as a shell command: ``!pip``, ``!pip3``, ``!python -m pip``, ``!{sys.executable} -m pip``.
_SHELL_PIP = re.compile(r"^(?P<indent>[ \t]*)!(?!!)[ \t]*(?:pip3?|(?:python3?|\{sys\.executable\})[ \t]+-m[ \t]+pip)"
                        r"(?P<rest>(?:[ \t].*)?)$")
#: What makes a line shell syntax rather than pip's arguments: then it stays a shell command.
_SHELL_SYNTAX = re.compile(r"[|&;<>`]|\$\(")


def shell_pip_as_magic(lines: list[str]) -> list[str]:
    r"""An IPython cleanup input transformer: each ``!pip ...`` line of a cell (also ``!pip3``, ``!python -m pip``)
    becomes ``%pip ...``, so that it runs as the platform's ``%pip`` (the same pip, in the same environment, with
    its notes); a line with shell syntax, and ``!!pip``, are left alone.

    >>> shell_pip_as_magic(["!pip install astroplan\n", "  !python -m pip list\n", "!pip list | grep astro\n"])
    ['%pip install astroplan\n', '  %pip list\n', '!pip list | grep astro\n']
    """
    out = []
    for line in lines:
        body = line.rstrip("\r\n")
        match = _SHELL_PIP.match(body)
        if match and not _SHELL_SYNTAX.search(match.group("rest")):
            line = f"{match.group('indent')}%pip{match.group('rest')}{line[len(body):]}"
        out.append(line)
    return out


def register(shell) -> None:
    """Make :func:`pip` the ``%pip`` line magic of IPython ``shell`` (in place of IPython's own), and run a cell's
    ``!pip`` lines through it (:func:`shell_pip_as_magic`)."""

    def pip_magic(line: str) -> None:
        """Run pip in the kernel's environment; installs go to your package layer (~/.astrohub/packages).

        Usage: %pip install [pkgs]
        """
        pip(line)

    shell.register_magic_function(pip_magic, "line", "pip")
    if shell_pip_as_magic not in shell.input_transformers_cleanup:
        shell.input_transformers_cleanup.append(shell_pip_as_magic)


def main(argv: list[str] | None = None) -> int:
    """A terminal's ``pip``: ``python -m pip <argv>`` with this Python (the server's, :data:`SERVER_PYTHON`, as the
    kernels' ``%pip``),
    its output and prompts as pip writes them, its standard error passed on as it comes; when pip failed for want
    of a package index, :func:`unreachable_index_note` or :func:`offline_note` follow there, saying ``pip``.
    Returns pip's exit status (130 when interrupted).
    """
    argv = sys.argv[1:] if argv is None else argv
    seen: list[str] = []
    with subprocess.Popen([sys.executable, "-m", "pip", *argv], stderr=subprocess.PIPE, text=True,
                          bufsize=1) as proc:
        try:
            for chunk in proc.stderr:
                seen.append(chunk)
                sys.stderr.write(chunk)
                sys.stderr.flush()
            status = proc.wait()
        except KeyboardInterrupt:  # Ctrl-C reached pip too (the terminal's process group)
            proc.wait()
            return 130
    if status:
        output = "".join(seen)
        note = unreachable_index_note(output, "pip") or offline_note(shlex.join(argv), output, command="pip")
        if note:
            sys.stderr.write(note + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
