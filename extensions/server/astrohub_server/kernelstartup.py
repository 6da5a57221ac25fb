"""The kernels' startup file: every IPython kernel of the user's server runs ``_kernel_pythonstartup.py`` first.

IPython runs the file named by ``PYTHONSTARTUP`` in each kernel as it starts (ipykernel's
``InteractiveShellApp.exec_PYTHONSTARTUP``); kernels inherit the server's environment, so
:func:`use_kernel_startup`, called before the first kernel starts (``kernels.prelaunch`` and the
extension's load), names the platform's file there, unless the user's environment already names one
of its own. The file holds the platform's workarounds for third-party bugs a user would otherwise
see in their cells (today one: dask-gateway's traceback when a closed Gateway is collected; see
``platform_lib.gateway``). The server itself never imports platform_lib: the file does, in the kernel.
May import the standard library only.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import MutableMapping

__all__ = ["STARTUP_FILE", "use_kernel_startup"]

#: The file every kernel runs at start.
STARTUP_FILE = Path(__file__).with_name("_kernel_pythonstartup.py")


def use_kernel_startup(environ: MutableMapping[str, str] = os.environ) -> bool:
    """Name :data:`STARTUP_FILE` in ``environ['PYTHONSTARTUP']``; ``False`` if the user set their own there.

    Examples
    --------
    >>> env = {}
    >>> use_kernel_startup(env), env["PYTHONSTARTUP"] == str(STARTUP_FILE)
    (True, True)
    >>> use_kernel_startup({"PYTHONSTARTUP": "/home/ann/.pythonrc"})
    False
    """
    current = environ.get("PYTHONSTARTUP")
    if current and current != str(STARTUP_FILE):
        return False
    environ["PYTHONSTARTUP"] = str(STARTUP_FILE)
    return True
