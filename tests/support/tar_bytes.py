"""A tar archive made in memory from a few named files: what tests send where a HiPS upload (a tar of a HiPS
folder) is expected, a bad one included (a path outside its folder, a folder that is no HiPS).

Owns :func:`tar_of`. On the path by tests/conftest.py (tests/support/), so a test writes::

    from tar_bytes import tar_of

May import the standard library only.
"""

from __future__ import annotations

import io
import tarfile


def tar_of(files: dict[str, bytes]) -> bytes:
    """The bytes of an uncompressed tar holding each ``name: data`` of ``files`` as a regular file, names as
    given (``../up`` and ``/etc/x`` too: the tests of refusals need them).

    Examples
    --------
    >>> import io, tarfile
    >>> tarfile.open(fileobj=io.BytesIO(tar_of({"properties": b"x=1\\n"}))).getnames()
    ['properties']
    """
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()
