"""Security tier: proprietary archive data stays with the archive (issue 22, item 2).

On the session ``platform`` (as root), two real FITS images are put in the archive's own tree
(``<data>/archive/images``) and indexed, one released and one proprietary until a few seconds from
now. Another user, as their own system user, tries what a student did on the old platform (where
the tree and its index sat in everyone's ``datasets`` space, files 0644): ``open()`` the proprietary
file, list the archive, read ``datasets:images/...`` through ``Storage``, and read every row of the
index with sqlite3. Then the period ends, and the file appears in ``datasets`` without a restart.
"""

from __future__ import annotations

import os
import sqlite3

import numpy as np
import pytest
from astropy.io import fits

from platform_lib.imageindex import update_index
from platform_lib.imageindex.index import now_mjd
from system_user import run_as  # tests/support/, on the path by tests/conftest.py

pytestmark = pytest.mark.security


def _image(path, ra: float, name: str) -> None:
    h = fits.Header()
    h.update(CTYPE1="RA---TAN", CTYPE2="DEC--TAN", CRVAL1=ra, CRVAL2=-30.0, CRPIX1=2.5, CRPIX2=2.5,
             CDELT1=-0.01, CDELT2=0.01, TELESCOP="TEST", OBJECT=name)
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.PrimaryHDU(np.arange(16, dtype=np.float32).reshape(4, 4), header=h).writeto(path)


#: Seconds the proprietary image stays proprietary, from the fixture's index change: long enough for the module's
#: tests before the period's end (two ``run_as`` processes) under load, and all that the last test waits.
PERIOD_S = 16


@pytest.fixture(scope="module")
def archive(platform):
    if not platform.isolated:
        pytest.skip("users are not separate system users here (not root)")
    # The student first (the hub creates the system user): their server's start is not part of the period.
    student = platform.unique("peeker")
    platform.create_user(student)
    platform.start_server(student)
    platform.stop_server(student)
    tag = platform.tag
    root = platform.data_dir / "archive" / "images"
    night = f"sec-{tag}"
    _image(root / night / "open.fits", 200.0, "OPEN")
    _image(root / night / "secret.fits", 201.0, "SECRET")
    index = root / "index.sqlite"
    update_index(index, root, workers=1)
    release = now_mjd() + PERIOD_S / 86400  # proprietary for PERIOD_S more seconds
    con = sqlite3.connect(index)
    with con:
        con.execute("UPDATE obscore SET release_date=?, owner='somepi' WHERE obs_id=?", (release, f"{night}/secret"))
        con.execute("UPDATE obscore SET release_date=? WHERE obs_id=?", (now_mjd() - 1, f"{night}/open"))
    con.close()
    os.utime(index)
    return student, night, release


def test_another_user_reads_neither_the_proprietary_file_nor_its_index_row(platform, archive, poll):
    student, night, release = archive
    public = platform.data_dir / "datasets" / "images"
    poll(lambda: (public / night / "open.fits").exists(), 60, "the released image in datasets")
    code = f"""
import json, os, sqlite3
from platform_lib import get_settings
from platform_lib.storage import Storage, StorageError
out = {{}}
for what, path in [("archive", {str(platform.data_dir / "archive" / "images")!r}),
                   ("file", {str(platform.data_dir / "archive" / "images" / night / "secret.fits")!r})]:
    try:
        os.listdir(path) if what == "archive" else open(path, "rb").read()
        out[what] = "allowed"
    except PermissionError:
        out[what] = "refused"
st = Storage(get_settings(home=os.environ["HOME"], datasets={str(platform.data_dir / "datasets")!r}))
for name in ("open", "secret"):
    try:
        out[name] = len(st.read_bytes("datasets:images/{night}/" + name + ".fits"))
    except StorageError as err:
        out[name] = err.code
con = sqlite3.connect("file:{public / 'index.sqlite'}?mode=ro", uri=True)
out["rows"] = sorted(r[0] for r in con.execute("SELECT obs_id FROM obscore WHERE obs_id LIKE '{night}/%'"))
out["files"] = sorted(r[0] for r in con.execute("SELECT path FROM files WHERE path LIKE '{night}/%'"))
print(json.dumps(out))
"""
    assert now_mjd() < release, "the proprietary period ended before the check could start: raise PERIOD_S"
    seen = run_as(platform.system_user(student), code)
    assert seen["archive"] == seen["file"] == "refused", seen
    assert seen["open"] > 0 and seen["secret"] == "not-found", seen
    assert seen["rows"] == [f"{night}/open"] and seen["files"] == [f"{night}/open.fits"], seen


def test_forged_settings_and_symlinks_do_not_reach_the_archive(platform, archive):
    """A user pointing their settings at the archive, or linking to it from home, still reads nothing."""
    student, night, _ = archive
    secret = platform.data_dir / "archive" / "images" / night / "secret.fits"
    code = f"""
import json, os
from platform_lib import get_settings
from platform_lib.storage import Storage, StorageError
out = {{}}
home = os.environ["HOME"]
forged = Storage(get_settings(home=home, datasets={str(platform.data_dir / "archive")!r}))
try:
    forged.read_bytes("datasets:images/{night}/secret.fits"); out["forged"] = "read"
except StorageError as err:
    out["forged"] = err.code
link = os.path.join(home, "secret-link-{night}.fits")
if not os.path.lexists(link):
    os.symlink({str(secret)!r}, link)
try:
    Storage(get_settings(home=home)).read_bytes("home:secret-link-{night}.fits"); out["link"] = "read"
except StorageError as err:
    out["link"] = err.code
try:
    open(link, "rb").read(); out["open-link"] = "read"
except PermissionError:
    out["open-link"] = "refused"
os.unlink(link)
print(json.dumps(out))
"""
    seen = run_as(platform.system_user(student), code)
    assert seen["forged"] in ("not-found", "permission-denied"), seen  # a StorageError, never the bytes
    assert seen["link"] in ("path-escape", "permission-denied"), seen
    assert seen["open-link"] == "refused", seen


def test_the_file_appears_when_its_period_ends_without_a_restart(platform, archive, poll):
    student, night, release = archive
    public = platform.data_dir / "datasets" / "images"
    poll(lambda: (public / night / "secret.fits").exists(), 90, "the proprietary image to be released")
    assert now_mjd() >= release
    con = sqlite3.connect(f"file:{public / 'index.sqlite'}?mode=ro", uri=True)
    rows = sorted(r[0] for r in con.execute("SELECT obs_id FROM obscore WHERE obs_id LIKE ?", (f"{night}/%",)))
    con.close()
    assert rows == [f"{night}/open", f"{night}/secret"]
    code = f"print(len(open({str(public / night / 'secret.fits')!r}, 'rb').read()))"
    assert run_as(platform.system_user(student), code) > 0
