"""Which files JupyterLab opens with the FITS viewer: the extensions that the FITS viewer plugin of the
prebuilt Lab extension ``astrohub`` registers, and Lab's rule for matching a file name against them.

Owns :func:`fits_viewer_extensions` and :func:`lab_opens`. On the path by tests/conftest.py (tests/support/), so a
test writes::

    from lab_file_types import fits_viewer_extensions, lab_opens

May import the standard library only.
"""

from __future__ import annotations

import re
from pathlib import Path

#: The FITS viewer plugin's JavaScript file, which holds ``var EXTENSIONS = [...]``.
FITS_JS = Path(__file__).parents[2] / "extensions/server/astrohub_server/labextension/astrohub/static/fits.js"


def fits_viewer_extensions() -> list[str]:
    """The file name extensions (``.fits``, ``.fits.gz``...) that the FITS viewer registers its file type with."""
    listed = re.search(r"var EXTENSIONS = \[(.*?)\];", FITS_JS.read_text(), re.S).group(1)
    return re.findall(r'"(\.[a-z0-9.]+)"', listed)


def lab_opens(name: str, extensions: list[str]) -> bool:
    """Whether JupyterLab (4.6, DocumentRegistry._getFileTypesForPath) finds a file type registered with
    ``extensions`` for a file called ``name``: its extension in lower case, from the first dot, then from each next."""
    ext = "." + ".".join(name.split(".")[1:]).lower()
    while len(ext) > 1:
        if ext in [e.lower() for e in extensions]:
            return True
        ext = "." + ".".join(ext.split(".")[2:])
    return False
