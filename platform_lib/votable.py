"""astropy's VOTable writer as the platform uses it: one workaround for its C TABLEDATA writer.

astropy 8.0.2 (the newest release) writes a VOTable's TABLEDATA rows through a C function
(``astropy.io.votable.tablewriter.write_tabledata``) that writes one byte past its row buffer when a row's
text is exactly as long as the buffer (astropy issue #20419; the fix, PR #20428, is not released). The
byte lands in the heap, and the process crashes later at an unrelated place: a segmentation fault in a
kernel, the archive service or the test runner. ``PYTHONMALLOC=debug`` pins it down (a one-column table
of 150 to 300 characters hits it). Every TAP result in the default format, every table a user sends to
the sky viewer (ipyaladin's ``add_table``), every VOTable written by storage or a job goes through it.

astropy has the same writer in Python, producing the same bytes (it is the one astropy uses when the C
extension is missing), and measured here as fast: each value goes through the column's Python converter
either way (20,000 rows x 10 columns: 0.97 s in C, 1.02 s in Python). :func:`use_python_tabledata_writer`
makes astropy use it, now if ``astropy.io.votable.tree`` is imported, else as soon as it is (an import
hook, so nothing is imported ahead of need), for the astropy versions known to need it
(:data:`AFFECTED_UP_TO`). ``import platform_lib`` calls it, so every platform process does (the archive,
jobs, users' kernels that use the library), and ``astrohub_server``'s kernel startup file does in every
user kernel. Remove this module when astropy releases the fix.

Imports only the standard library, ``onimport`` and ``versions`` (astropy's module is patched, never imported, here).
"""

from __future__ import annotations

import sys

from platform_lib.onimport import after_import
from platform_lib.versions import release_tuple

__all__ = ["AFFECTED_UP_TO", "use_python_tabledata_writer"]

#: The newest astropy release whose C TABLEDATA writer overflows its row buffer.
AFFECTED_UP_TO = (8, 0, 2)
_TREE = "astropy.io.votable.tree"


def _fix(tree) -> bool:
    astropy = sys.modules.get("astropy")
    if astropy is None or release_tuple(getattr(astropy, "__version__", "0")) > AFFECTED_UP_TO:
        return False
    tree._has_c_tabledata_writer = False
    return True


def use_python_tabledata_writer() -> None:
    """Make astropy write TABLEDATA with its Python writer (same bytes), now or when it is imported.

    Idempotent; nothing is imported. Does nothing for an astropy newer than :data:`AFFECTED_UP_TO`.

    Examples
    --------
    >>> import io
    >>> from astropy.table import Table
    >>> from platform_lib.votable import use_python_tabledata_writer
    >>> use_python_tabledata_writer()
    >>> Table({"s": ["x" * 200]}).write(io.BytesIO(), format="votable")  # no byte written past a buffer
    """
    after_import(_TREE, _fix)
