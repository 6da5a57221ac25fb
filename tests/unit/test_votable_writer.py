"""astropy's C TABLEDATA writer writes one byte past its row buffer (astropy issue #20419, astropy 8.0.2);
``platform_lib.votable`` makes every platform process use astropy's Python writer (same bytes) instead.

Each check runs in a fresh interpreter with ``PYTHONMALLOC=debug``, whose guard bytes turn the overflow into
an immediate abort (otherwise it corrupts the heap silently and the process crashes later, elsewhere: the
segfaults seen in CI runs in test_viz_jobs, while the sky viewer's table was written).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

#: One-column tables whose single row is 150 to 300 characters of text: one of them is exactly as long as
#: the C writer's row buffer (256 bytes), as a TAP result's or a crossmatch's row often is.
WRITE_ROWS = textwrap.dedent(
    """
    import io
    import numpy as np
    from astropy.table import Table

    for n in range(150, 300):
        Table({"s": np.array(["x" * n])}).write(io.BytesIO(), format="votable")
    print("written")
    """
)


def _run(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONMALLOC": "debug"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


def test_astropy_c_writer_overflows_without_the_fix():
    """The yardstick: without platform_lib the same writes abort (when astropy fixes its writer, this fails,
    and platform_lib.votable and its calls can go)."""
    done = _run(WRITE_ROWS)
    assert done.returncode != 0 and "bad trailing pad byte" in done.stderr, (done.returncode, done.stderr[-2000:])


@pytest.mark.parametrize("first", ["import platform_lib", "import astropy.io.votable.tree; import platform_lib"])
def test_importing_platform_lib_before_or_after_astropy_makes_the_writes_safe(first):
    done = _run(first + "\n" + WRITE_ROWS)
    assert done.returncode == 0 and "written" in done.stdout, done.stderr[-2000:]


def test_the_python_writer_writes_the_same_bytes():
    code = textwrap.dedent(
        """
        import io, sys
        import numpy as np
        from astropy.table import Table
        from astropy.io.votable import from_table, tree
        rng = np.random.default_rng(1)
        t = Table({"ra": rng.uniform(0, 360, 500), "n": np.arange(500), "s": [f"src{i}" for i in range(500)]})
        t["ra"][3] = np.nan
        vot = from_table(t)
        out = []
        for c in (True, False):
            tree._has_c_tabledata_writer = c
            buf = io.BytesIO(); vot.to_xml(buf); out.append(buf.getvalue())
        sys.stdout.write(str(out[0] == out[1]))
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout == "True", done.stderr[-2000:]


def test_the_kernel_startup_file_installs_the_fix():
    from astrohub_server import kernelstartup

    startup = kernelstartup.__file__.replace("kernelstartup.py", "_kernel_pythonstartup.py")
    code = textwrap.dedent(
        f"""
        from IPython.testing.globalipapp import start_ipython
        shell = start_ipython()
        ns = {{"get_ipython": lambda: shell}}
        exec(compile(open({startup!r}).read(), {startup!r}, "exec"), ns)
        """
    ) + WRITE_ROWS
    done = _run(code)
    assert done.returncode == 0 and "written" in done.stdout, done.stderr[-2000:]


def test_the_archive_writes_its_tap_results_safely():
    """The archive's default TAP format (VOTable TABLEDATA) for results whose rows cross the buffer's size."""
    code = textwrap.dedent(
        """
        import numpy as np
        from astropy.table import Table
        from astrohub_archive.writers import render_table

        for n in range(150, 300):
            render_table(Table({"s": np.array(["x" * n]), "ra": [1.5]}), "votable")
        print("written")
        """
    )
    done = _run(code)
    assert done.returncode == 0 and "written" in done.stdout, done.stderr[-2000:]
