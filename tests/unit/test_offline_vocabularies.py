"""pyvo fetches IVOA vocabularies from www.ivoa.net; DataLink's ``bysemantics`` needs ``datalink/core``, so an SIA
record's ``getdataset()`` (pyvo's way to download an image) failed on the platform, which has no internet:
"VocabularyError: No such vocabulary: datalink/core (<urlopen error ...>)". ``platform_lib.vocabularies`` makes
pyvo read it from the platform's copy. Each check runs in a fresh interpreter with astropy's downloads refused
and an empty download cache (no copy left by an earlier run), as on the platform.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

#: What a notebook's pyvo does for ``bysemantics("#this")`` (include_narrower=True, its default), offline.
LOOK_UP = textwrap.dedent(
    """
    from astropy.utils.data import conf
    conf.allow_internet = False
    from pyvo.utils import vocabularies
    voc = vocabularies.get_vocabulary("datalink/core")
    print(sorted(voc["terms"]["calibration"]["narrower"]), voc["terms"]["this"]["narrower"])
    """
)


def _run(code: str, tmp_path) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path), "HOME": str(tmp_path)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


def test_offline_pyvo_cannot_load_the_datalink_vocabulary_without_the_fix(tmp_path):
    """The yardstick: plain pyvo, offline, fails as a user's download did."""
    done = _run(LOOK_UP, tmp_path)
    assert done.returncode != 0 and "No such vocabulary: datalink/core" in done.stderr, done.stderr[-2000:]


@pytest.mark.parametrize("first", ["import platform_lib", "import pyvo.utils.vocabularies; import platform_lib"])
def test_importing_platform_lib_before_or_after_pyvo_serves_the_vocabulary_offline(first, tmp_path):
    done = _run(first + "\n" + LOOK_UP, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "['bias', 'dark', 'flat'] []"


def test_the_kernel_startup_file_serves_the_vocabulary_offline_to_plain_pyvo(tmp_path):
    """A notebook that only imports pyvo (never platform_lib) gets it too: every kernel's startup file."""
    from astrohub_server import kernelstartup

    startup = kernelstartup.__file__.replace("kernelstartup.py", "_kernel_pythonstartup.py")
    code = textwrap.dedent(
        f"""
        from IPython.testing.globalipapp import start_ipython
        shell = start_ipython()
        ns = {{"get_ipython": lambda: shell}}
        exec(compile(open({startup!r}).read(), {startup!r}, "exec"), ns)
        """
    ) + LOOK_UP
    done = _run(code, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("['bias', 'dark', 'flat'] []")


def test_other_vocabularies_are_still_asked_of_pyvo(tmp_path):
    """Only the shipped ones are answered from the copy: another name goes to pyvo (here offline: its error)."""
    code = "import platform_lib\n" + LOOK_UP.replace('"datalink/core"', '"messenger"')
    done = _run(code, tmp_path)
    assert done.returncode != 0 and "No such vocabulary: messenger" in done.stderr, done.stderr[-2000:]
