"""Incremental updates, the writer lock and atomic replacement of the image index, on tiny real FITS files.

Each image is a 4x4 FITS file with a TAN WCS written here, so every answer is known: the file
``img_<k>.fits`` is centred at RA = 10 k, Dec = 0.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from platform_lib.imageindex import Circle, ImageIndex, ImageIndexError, ImageQuery, Viewer, build_index, update_index
from platform_lib.imageindex.index import writer_lock

ADMIN = Viewer(admin=True)


def write_image(root: Path, k: int) -> Path:
    h = fits.Header()
    h.update(CTYPE1="RA---TAN", CTYPE2="DEC--TAN", CRVAL1=10.0 * k, CRVAL2=0.0, CRPIX1=2.5, CRPIX2=2.5,
             CDELT1=-0.01, CDELT2=0.01, TELESCOP="TEST", OBJECT=f"T{k}", RELEASE="2000-01-01")
    path = root / f"img_{k}.fits"
    fits.PrimaryHDU(np.zeros((4, 4), np.float32), header=h).writeto(path)
    return path


def image_tree(tmp_path: Path, count: int) -> tuple[Path, Path]:
    """``tmp_path/data`` holding ``img_0`` .. ``img_<count - 1>``, and where its index goes (not built yet)."""
    data = tmp_path / "data"
    data.mkdir()
    for k in range(count):
        write_image(data, k)
    return data, tmp_path / "index.sqlite"


def ids(index: ImageIndex) -> set[str]:
    records, _ = index.query(ImageQuery(), ADMIN)
    return {r["obs_id"] for r in records}


def test_update_adds_new_and_drops_removed_files(tmp_path):
    data, path = image_tree(tmp_path, 3)
    assert build_index(path, data, workers=1).indexed == 3
    index = ImageIndex(path)
    assert ids(index) == {"img_0", "img_1", "img_2"}
    write_image(data, 7)
    (data / "img_1.fits").unlink()
    report = update_index(path, data, workers=1)
    assert (report.added, report.removed, report.unchanged, report.indexed) == (1, 1, 2, 3)
    assert ids(index) == {"img_0", "img_2", "img_7"}
    hit, _ = index.query(ImageQuery(pos=[Circle(70, 0, 0.01)]), ADMIN)
    assert [r["obs_id"] for r in hit] == ["img_7"]
    # A changed file (new size/mtime) is re-read, not duplicated.
    os.utime(data / "img_0.fits", (1, 1))
    again = update_index(path, data, workers=1)
    assert (again.updated, again.added, again.indexed) == (1, 0, 3)


def test_update_refuses_a_missing_data_root_instead_of_emptying_the_index(tmp_path):
    data, path = image_tree(tmp_path, 1)
    build_index(path, data, workers=1)
    with pytest.raises(ImageIndexError) as info:
        update_index(path, tmp_path / "unmounted", workers=1)
    assert info.value.code == "no-data-root"
    assert ids(ImageIndex(path)) == {"img_0"}


def test_two_writers_never_run_at_once(tmp_path):
    data, path = image_tree(tmp_path, 1)
    with writer_lock(path):
        with pytest.raises(ImageIndexError) as info:
            update_index(path, data, workers=1, lock_timeout=0)
        assert info.value.code == "index-locked" and str(path) in str(info.value)
        assert not path.exists()  # the refused writer wrote nothing
    assert update_index(path, data, workers=1, lock_timeout=0).indexed == 1


def test_readers_during_rebuilds_see_old_or_new_never_partial(tmp_path):
    """One thread queries in a loop while another rebuilds and updates between two states."""
    data, path = image_tree(tmp_path, 6)
    build_index(path, data, workers=1)
    old = {f"img_{k}" for k in range(6)}
    new = {f"img_{k}" for k in range(3)} | {"img_20", "img_21"}
    seen: list[frozenset] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def reader():
        index = ImageIndex(path)
        while not done.is_set():
            try:
                seen.append(frozenset(ids(index)))
            except BaseException as exc:  # recorded: the test fails on any
                errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for round_ in range(4):
            for k in range(3, 6):
                (data / f"img_{k}.fits").unlink()
            write_image(data, 20)
            write_image(data, 21)
            (update_index if round_ % 2 else build_index)(path, data, workers=1)
            for k in range(3, 6):
                write_image(data, k)
            (data / "img_20.fits").unlink()
            (data / "img_21.fits").unlink()
            build_index(path, data, workers=1)
        deadline = time.monotonic() + 30
        while len(seen) < 20 and time.monotonic() < deadline:
            done.wait(0.01)  # let the reader collect a few more answers (bounded by the deadline)
    finally:
        done.set()
        thread.join(30)
    assert errors == []
    assert len(seen) >= 20
    assert set(seen) <= {frozenset(old), frozenset(new)}
    assert not list(tmp_path.glob(".index.sqlite.*.tmp"))  # no temporary file left behind


def test_a_long_lived_reader_reuses_its_connection_and_sees_each_rebuild(tmp_path):
    """Each thread keeps its connection while the file is unchanged and reopens after a replace."""
    from concurrent.futures import ThreadPoolExecutor

    data, path = image_tree(tmp_path, 2)
    build_index(path, data, workers=1)
    index = ImageIndex(path)
    assert ids(index) == {"img_0", "img_1"}
    with index._connection() as first:
        pass
    assert index.count() == 2
    with index._connection() as again:
        assert again is first  # unchanged file: no reopen
    with ThreadPoolExecutor(2) as pool:  # worker threads, as the service's executor
        assert all(r == {"img_0", "img_1"} for r in pool.map(lambda _: ids(index), range(6)))
        write_image(data, 2)
        update_index(path, data, workers=1)
        assert all(r == {"img_0", "img_1", "img_2"} for r in pool.map(lambda _: ids(index), range(6)))
    assert ids(index) == {"img_0", "img_1", "img_2"}
    with index._connection() as fresh:
        assert fresh is not first
    index.close()
    assert index.count() == 3  # usable again after close
    path.unlink()
    with pytest.raises(ImageIndexError) as info:
        index.count()
    assert info.value.code == "no-index"
    index.close()


def test_an_update_killed_before_the_rename_leaves_its_temp_file_only_until_the_next_run(tmp_path):
    """A killed updater's temporary index is removed by the next update (issue 22, item 7)."""
    import signal
    import subprocess
    import sys

    data, path = image_tree(tmp_path, 1)
    build_index(path, data, workers=1)
    write_image(data, 1)
    child = (
        "import os, signal, sys\n"
        "import platform_lib.imageindex.index as ix\n"
        "ix._finish = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)\n"
        "ix.update_index(sys.argv[1], sys.argv[2], workers=1)\n"
    )
    done = subprocess.run([sys.executable, "-c", child, str(path), str(data)], capture_output=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    assert len(list(tmp_path.glob(".index.sqlite.*.tmp"))) == 1  # what the kill left
    assert ids(ImageIndex(path)) == {"img_0"}  # the old index, intact
    update_index(path, data, workers=1)
    assert list(tmp_path.glob(".index.sqlite.*.tmp")) == []
    assert ids(ImageIndex(path)) == {"img_0", "img_1"}


def test_o_ucd_comes_from_bunit_on_real_images_and_an_older_index_gains_the_column(tmp_path):
    """ObsCore's ``o_ucd`` (what the pixels measure) was NULL for every image. It comes from BUNIT now: of the
    sample data's real images, the Apogee frame (``adu``) is ``phot.count``, the MAGPIS Effelsberg map
    (``JY/BEAM``) ``phot.flux.density``, the IRSA dust map (``mag E(B-V)``) ``phot.color.excess``; an image with
    no BUNIT has none. An index written before the column existed is updated in place: the column is added
    (NULL in its old rows) and the new files get their o_ucd."""
    import shutil
    import sqlite3

    from astrohub_archive.responses import obscore_table
    from platform_lib.sampledata._sources import packaged_images

    data, index_path = image_tree(tmp_path, 1)  # img_0: no BUNIT
    build_index(index_path, data, workers=1)
    with sqlite3.connect(index_path) as conn:  # as written by the code before o_ucd
        conn.execute("ALTER TABLE obscore DROP COLUMN o_ucd")
    conn.close()
    real = {img.name: path for img, path in packaged_images()[0]}
    wanted = {"sa110_apogee": "phot.count", "g10.5_magpis_effelsberg": "phot.flux.density",
              "m51_irsa_dust": "phot.color.excess"}
    for name in wanted:
        shutil.copy(real[name], data / f"{name}.fits")
    report = update_index(index_path, data, workers=1)
    assert report.added == 3 and not report.skipped, report.skipped
    records, _ = ImageIndex(index_path).query(ImageQuery(), ADMIN)
    got = {r["obs_id"]: r["o_ucd"] for r in records}
    assert got == {**wanted, "img_0": None}
    table = obscore_table(records, "http://x/")  # the SIA/TAP answer: masked where unknown
    assert dict(zip(table["obs_id"], table["o_ucd"].tolist())) == {**wanted, "img_0": None}


def test_an_index_made_by_older_code_is_derived_again_and_the_released_view_follows(tmp_path):
    """A ``.fits.gz`` file's ``access_format`` is ``application/gzip`` now (what a download gives); an index made
    before said ``application/fits``, and updates kept it, reading a file again only when its mtime or size
    changed. An index made by code that derives records otherwise (another ``derivation``, or none) is read
    again whole, and the released view that users read is written again though the same records are released."""
    import gzip
    import sqlite3

    from platform_lib.imageindex import publish_released

    data, path = image_tree(tmp_path, 2)
    (data / "img_1.fits.gz").write_bytes(gzip.compress((data / "img_1.fits").read_bytes()))
    (data / "img_1.fits").unlink()
    build_index(path, data, workers=1)
    with sqlite3.connect(path) as conn:  # as the code before fits_media_type wrote it
        conn.execute("UPDATE obscore SET access_format = 'application/fits'")
        conn.execute("DELETE FROM meta WHERE key = 'derivation'")
    conn.close()
    public = tmp_path / "public"
    publish_released(path, data, public)

    report = update_index(path, data, workers=1)
    assert report.rederived and report.indexed == 2 and not report.skipped
    publish_released(path, data, public)
    for index in (ImageIndex(path), ImageIndex(public / "index.sqlite")):
        records, _ = index.query(ImageQuery(), ADMIN)
        assert {r["obs_id"]: r["access_format"] for r in records} == {"img_0": "application/fits",
                                                                      "img_1": "application/gzip"}
    again = update_index(path, data, workers=1)  # made by this code now: nothing to read
    assert not again.rederived and (again.unchanged, again.added, again.updated) == (2, 0, 0)


def test_a_changed_operator_mapping_derives_the_operators_own_images_again(tmp_path):
    """An operator's own images (not the sample data) kept the records of an old mapping: the index's derivation
    named the code and the packaged mappings only, so an update after the operator changed their mapping read
    nothing again (docs: "rebuild by hand"). Now the mappings of ``mapping_dirs`` are in it: the archive service's
    next round (the same ``update_index``, ``IndexUpdater``) reads every file again, with the new mapping; then
    nothing more until the next change; an update without the mappings derives them again too."""
    import json

    from astrohub_archive.updater import IndexUpdater

    data, path = image_tree(tmp_path, 2)
    mappings = tmp_path / "mappings"
    mappings.mkdir()

    def mapping(collection: str) -> None:
        (mappings / "test_cam.json").write_text(json.dumps(
            {"name": "test_cam", "match": {"TELESCOP": "^TEST$"}, "columns": {"obs_collection": {"value": collection}}}))

    def collections() -> set[str]:
        records, _ = ImageIndex(path).query(ImageQuery(), ADMIN)
        return {r["obs_collection"] for r in records}

    mapping("FIRST")
    build_index(path, data, mapping_dirs=[mappings], workers=1)
    assert collections() == {"FIRST"}
    assert not update_index(path, data, mapping_dirs=[mappings], workers=1).rederived  # unchanged: nothing read

    mapping("SECOND")
    updater = IndexUpdater(path, data, every=0, mapping_dirs=[mappings])
    updater.run_once()
    assert updater.last_error is None and updater.last_report.rederived and updater.last_report.indexed == 2
    assert collections() == {"SECOND"}
    again = update_index(path, data, mapping_dirs=[mappings], workers=1)
    assert not again.rederived and again.unchanged == 2

    assert update_index(path, data, workers=1).rederived  # the mapping gone: the packaged ones derive them
    assert collections() != {"SECOND"}
