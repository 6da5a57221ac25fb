"""The released view (platform_lib.imageindex.release): only released files and rows reach users.

Tiny real FITS files with a TAN WCS; the index is built by build_index, then release dates are set
in it (as an operator's mapping would), so every answer is known.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import numpy as np
from astropy.io import fits

from platform_lib.imageindex import ImageIndex, ImageQuery, Viewer, build_index, publish_released

NOW = 60_000.0


def _image(root: Path, name: str, ra: float, date_obs: str | None = None) -> None:
    h = fits.Header()
    h.update(CTYPE1="RA---TAN", CTYPE2="DEC--TAN", CRVAL1=ra, CRVAL2=0.0, CRPIX1=2.5, CRPIX2=2.5,
             CDELT1=-0.01, CDELT2=0.01, TELESCOP="TEST", OBJECT=name)
    if date_obs is not None:
        h["DATE-OBS"] = date_obs
    (root / "night1").mkdir(parents=True, exist_ok=True)
    fits.PrimaryHDU(np.zeros((4, 4), np.float32), header=h).writeto(root / "night1" / f"{name}.fits")


def _archive(tmp_path: Path, releases: dict[str, float], date_obs: str | None = None) -> tuple[Path, Path, Path]:
    data, public = tmp_path / "archive", tmp_path / "datasets" / "images"
    for k, name in enumerate(releases):
        _image(data, name, 10.0 * k, date_obs)
    index = data / "index.sqlite"
    build_index(index, data, workers=1)
    con = sqlite3.connect(index)
    with con:
        for name, release in releases.items():
            con.execute("UPDATE obscore SET release_date=?, owner='pi' WHERE obs_id=?", (release, f"night1/{name}"))
    con.close()
    return index, data, public


def _ids(view: Path) -> set[str]:
    records, _ = ImageIndex(view).query(ImageQuery(), Viewer(admin=True))
    return {r["obs_id"].removeprefix("night1/") for r in records}


def test_only_released_files_and_rows_are_published_and_the_next_release_follows(tmp_path):
    index, data, public = _archive(tmp_path, {"open": NOW - 10, "secret": NOW + 1.0})
    report = publish_released(index, data, public, now=NOW)
    assert sorted(p.relative_to(public).as_posix() for p in public.rglob("*.fits")) == ["night1/open.fits"]
    assert os.path.samefile(public / "night1" / "open.fits", data / "night1" / "open.fits")  # a link, no copy
    view = public / "index.sqlite"
    assert _ids(view) == {"open"}  # even an admin viewer finds no proprietary row in the view
    raw = view.read_bytes()
    assert b"secret" not in raw, "the proprietary record's name is still in the view's bytes"
    assert (report.released_records, report.withheld_records, report.next_release) == (1, 1, NOW + 1.0)
    # Its period ends: the next run publishes it, without touching what was there.
    later = publish_released(index, data, public, now=NOW + 1.5)
    assert (later.linked, later.view_rewritten, later.next_release) == (1, True, None)
    assert _ids(view) == {"open", "secret"}
    again = publish_released(index, data, public, now=NOW + 2)
    assert (again.linked, again.removed, again.view_rewritten) == (0, 0, False)


def test_withdrawn_and_deleted_files_leave_the_view(tmp_path):
    index, data, public = _archive(tmp_path, {"a": NOW - 10, "b": NOW - 10})
    publish_released(index, data, public, now=NOW)
    con = sqlite3.connect(index)
    with con:
        con.execute("UPDATE obscore SET release_date=? WHERE obs_id='night1/b'", (NOW + 100,))
    con.close()
    (public / ".release-tmp-deadbeef").write_bytes(b"left by a killed run")
    report = publish_released(index, data, public, now=NOW)
    assert report.removed == 1
    assert sorted(p.name for p in public.rglob("*") if p.is_file()) == ["a.fits", "index.sqlite"]
    assert _ids(public / "index.sqlite") == {"a"}


def test_a_record_without_a_release_date_is_proprietary_everywhere(tmp_path):
    """docs/archive.md: an image without a release date stays proprietary until an operator sets one. The
    SQL (SIA, TAP) hid such a record while ``ImageIndex.get`` (download), the released view and the
    archive's home page counted it as public."""
    from astrohub_archive.homepage import collections

    index, data, public = _archive(tmp_path, {"undated": None, "open": NOW - 10})
    images = ImageIndex(index)
    assert [r["obs_id"] for r in images.query(ImageQuery(), Viewer(), now=NOW)[0]] == ["night1/open"]
    assert images.get("night1/undated", Viewer(), now=NOW) is None
    assert images.get("night1/undated", Viewer(user="pi"), now=NOW) is not None  # its owner still sees it
    assert images.get("night1/open", Viewer(), now=NOW) is not None
    report = publish_released(index, data, public, now=NOW)
    assert (report.released_records, report.withheld_records) == (1, 1)
    assert _ids(public / "index.sqlite") == {"open"}
    assert sorted(p.name for p in public.rglob("*.fits")) == ["open.fits"]
    assert [(c.images, c.public) for c in collections(index, NOW)] == [(2, 1)]


def test_the_view_keeps_no_space_time_box_of_a_proprietary_image(tmp_path):
    """The released view's space-time R-tree (moving-object searches) holds the released rows and nothing else.
    It kept every proprietary image's box (where and when the PI observed, down to the minute) while its
    ``obscore`` row and footprint box were deleted: the three tables disagreed and the view leaked it."""
    index, data, public = _archive(tmp_path, {"open": NOW - 10, "secret": NOW + 100}, date_obs="2022-03-01T05:00")
    publish_released(index, data, public, now=NOW)
    con = sqlite3.connect(public / "index.sqlite")
    try:
        rows = {r[0] for r in con.execute("SELECT rowid FROM obscore")}
        footprints = {r[0] for r in con.execute("SELECT id FROM footprint_rtree")}
        spacetime = {r[0] for r in con.execute("SELECT id FROM spacetime_rtree")}
    finally:
        con.close()
    assert len(rows) == 1 and footprints == rows
    assert spacetime == rows, f"space-time boxes {sorted(spacetime)} for the released rows {sorted(rows)}"


def test_a_view_written_before_that_fix_is_written_again(tmp_path):
    """A view published by the code before it (its boxes of proprietary images still in its space-time R-tree) was
    kept as long as the released records stayed the same: its signature said nothing of what the view leaves out."""
    index, data, public = _archive(tmp_path, {"open": NOW - 10, "secret": NOW + 100}, date_obs="2022-03-01T05:00")
    publish_released(index, data, public, now=NOW)
    view = public / "index.sqlite"
    src = sqlite3.connect(index)  # the signature as the old code made it: released records and the index's making
    released = [f"{o}\t{m}\t{z}" for o, m, z, r in src.execute(
        "SELECT obs_id, file_mtime, file_size, release_date FROM obscore") if r <= NOW]
    made = src.execute("SELECT key, value FROM meta WHERE key IN ('built_at', 'derivation') ORDER BY key").fetchall()
    src.close()
    old = hashlib.sha256("\n".join([*sorted(released), repr(made)]).encode()).hexdigest()
    con = sqlite3.connect(view)
    with con:  # as the old code left it: the withheld row's space-time box, under the old signature
        con.execute("INSERT INTO spacetime_rtree VALUES (2, -1, 1, -1, 1, -1, 1, 8000, 8001)")
        con.execute("UPDATE meta SET value = ? WHERE key = 'released_signature'", (old,))
    con.close()
    assert publish_released(index, data, public, now=NOW).view_rewritten
    con = sqlite3.connect(view)
    try:
        assert [r[0] for r in con.execute("SELECT id FROM spacetime_rtree")] == [1]
    finally:
        con.close()
    assert not publish_released(index, data, public, now=NOW).view_rewritten  # once
