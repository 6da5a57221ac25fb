"""A user's own folder of FITS images (``platform_lib.imageindex.index_folder``), on the real images the sample data
ships (astropy's and astroquery's test images: DSS, CFHT, Apogee with SIP, UKIDSS ZPN, a galactic MAGPIS map),
with astropy's ``WCS.footprint_contains`` as the yardstick for positions and the headers' DATE-OBS for times.
"""

from __future__ import annotations

import shutil
import stat
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.time import Time
from astropy.wcs import WCS, FITSFixedWarning
from ceres_field import ceres_image  # tests/support/, on the path by tests/conftest.py

from platform_lib.imageindex import FolderIndex, ImageIndexError, Viewer, index_folder
from platform_lib.imageindex.folder import INDEX_NAME
from platform_lib.sampledata import packaged_images


def real_images() -> dict[str, Path]:
    found, missing = packaged_images()
    if missing:
        pytest.skip(f"sample images not installed: {missing}")
    return {img.name: path for img, path in found}


def image_folder(tmp_path: Path) -> Path:
    """``tmp_path/myimages``: the eight real images, one in a sub-folder, a text file, a broken FITS file."""
    folder = tmp_path / "myimages"
    (folder / "crab").mkdir(parents=True)
    for name, path in real_images().items():
        shutil.copy(path, (folder / "crab" if name.startswith("m1_") else folder) / f"{name}.fits")
    (folder / "observing-log.txt").write_text("2011-09-01 SA 110, clear\n")
    (folder / "crab" / "half.fits").write_bytes((folder / "crab" / "m1_dss.fits").read_bytes()[:2880 + 100])
    return folder


def celestial_wcs(path: Path) -> WCS | None:
    """astropy's WCS of the file's first image HDU, with its pixel shape (None without a celestial WCS)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        with fits.open(path) as hdul:
            for hdu in hdul:
                if hdu.is_image and hdu.header.get("NAXIS", 0) >= 2:
                    w = WCS(hdu.header, hdul).celestial
                    if not w.has_celestial:
                        return None
                    w.pixel_shape = (hdu.header["NAXIS1"], hdu.header["NAXIS2"])
                    return w
    return None


def test_which_of_my_images_hold_a_position_agrees_with_astropys_wcs(tmp_path):
    """Positions on a grid over and round each real image with a celestial WCS: the folder's answer is the set of
    images whose ``WCS.footprint_contains`` says yes, for every position at least 3 % of an image's size away from
    its edges (the index's footprint joins edge points by great circles; astropy follows the pixel grid)."""
    folder = image_folder(tmp_path)
    mine = index_folder(folder)
    wcs = {p.name.removesuffix(".fits"): w for p in folder.rglob("*.fits")
           if p.name not in ("half.fits", "m1_dss.fits") and (w := celestial_wcs(p)) is not None}
    # every image but the 1951 plate, whose footprint the index takes from its pointing keywords (the dss mapping)
    assert len(wcs) == 7, sorted(wcs)
    # each image's centre and the radius of a circle round it: farther, a point is in neither footprint (and SIP's
    # inverse diverges there)
    reach = {}
    for name, w in wcs.items():
        nx, ny = w.pixel_shape
        corners = w.pixel_to_world([-0.5, nx - 0.5, nx - 0.5, -0.5], [-0.5, -0.5, ny - 0.5, ny - 0.5]).icrs
        centre = w.pixel_to_world((nx - 1) / 2, (ny - 1) / 2).icrs
        reach[name] = centre, 1.5 * centre.separation(corners).max()
    checked = inside = 0
    frac = np.linspace(-0.2, 1.2, 8)
    for name, w in wcs.items():
        nx, ny = w.pixel_shape
        px, py = np.meshgrid(frac * nx - 0.5, frac * ny - 0.5)
        points = w.pixel_to_world(px.ravel(), py.ravel()).icrs  # some images are FK4 B1950 or galactic
        for point in points:
            expected, doubtful = set(), False
            for other, ow in wcs.items():
                centre, radius = reach[other]
                if centre.separation(point) > radius:
                    continue
                x, y = ow.world_to_pixel(point)
                ox, oy = ow.pixel_shape
                margin = min(abs(x + 0.5), abs(ox - 0.5 - x)) / ox, min(abs(y + 0.5), abs(oy - 0.5 - y)) / oy
                doubtful |= min(margin) < 0.03
                if ow.footprint_contains(point):
                    expected.add(other)
            if doubtful:
                continue
            found = set(mine.search(point)["obs_id"]) - {"crab/m1_dss"}  # the plate's pointing box: not in `wcs`
            assert found == {f"crab/{n}" if n.startswith("m1_") else n for n in expected}, (name, point)
            checked += 1
            inside += bool(expected)
    assert checked > 200 and inside > 100, (checked, inside)  # 252 and 112 on the eight sample images


@pytest.mark.filterwarnings("ignore:.*dubious year:erfa.core.ErfaWarning")  # Time("1950-01-01"): before UTC's leap seconds
def test_a_cone_a_time_range_and_the_table_viz_draws(tmp_path):
    """A cone meets the images whose footprint it touches; times select by each header's exposure (undated images
    never match a time); the answer is an ObsCore Table with units, the files' paths and URLs, which
    ``viz.plot`` draws as footprints."""
    import matplotlib

    matplotlib.use("agg")
    from platform_lib import viz

    folder = image_folder(tmp_path)
    mine = index_folder(folder)
    crab = SkyCoord(83.63308, 22.0145, unit="deg")
    assert set(mine.search(crab)["obs_id"]) == {"crab/m1_dss", "crab/m1_ukidss_wfcam"}
    table = mine.search()
    apogee_row = table[list(table["obs_id"]).index("sa110_apogee")]
    sa110 = SkyCoord(apogee_row["s_ra"], apogee_row["s_dec"], unit="deg")
    assert set(mine.search(sa110, 1 * u.deg)["obs_id"]) == {"sa110_apogee", "sa110_cfht_megaprime"}
    in_range = mine.search(time=Time(["2005-01-01", "2012-01-01"]))
    assert sorted(in_range["obs_id"]) == ["crab/m1_ukidss_wfcam", "sa110_apogee", "sa110_cfht_megaprime"]
    apogee = mine.search(time=Time("2011-09-01T02:09:10"))  # during the Apogee frame's exposure
    assert list(apogee["obs_id"]) == ["sa110_apogee"]
    both = mine.search(crab, 1 * u.arcmin, time=Time(["1950-01-01", "1952-01-01"]))
    assert list(both["obs_id"]) == ["crab/m1_dss"]
    assert len(table) == len(mine) == 8
    assert table["s_ra"].unit == u.deg and table["t_min"].unit == u.day and table["s_ra"].meta["ucd"] == "pos.eq.ra"
    row = table[list(table["obs_id"]).index("crab/m1_ukidss_wfcam")]
    assert row["file_path"] == str(folder / "crab" / "m1_ukidss_wfcam.fits")
    assert row["access_url"] == (folder / "crab" / "m1_ukidss_wfcam.fits").as_uri()
    assert table["obs_release_date"].mask[list(table["obs_id"]).index("m13_dss")]  # undated: no release date
    fig = viz.plot(table)
    assert "8 image footprints" in fig.axes[0].get_title()


def test_a_second_run_reads_only_what_changed_and_lists_what_was_skipped_and_why(tmp_path):
    folder = image_folder(tmp_path)
    first = index_folder(folder)
    assert (first.report.added, len(first)) == (8, 8)
    skipped = dict(zip(first.skipped["path"], first.skipped["reason"]))
    assert set(skipped) == {"crab/half.fits", "observing-log.txt"}, skipped
    assert "not a FITS file" in skipped["observing-log.txt"] and ".fits" in skipped["observing-log.txt"]
    assert "truncated" in skipped["crab/half.fits"].lower() or "Error" in skipped["crab/half.fits"]
    (folder / "m13_dss.fits").unlink()
    shutil.copy(folder / "sa110_apogee.fits", folder / "sa110_again.fits")
    again = index_folder(folder)
    r = again.report
    assert (r.added, r.removed, r.updated, r.unchanged, r.indexed) == (1, 1, 0, 8, 8), r
    assert set(again.search()["obs_id"]) == {"sa110_again"} | set(first.search()["obs_id"]) - {"m13_dss"}
    assert set(again.skipped["path"]) == set(skipped)  # still listed, though not read again
    assert set(FolderIndex(folder).search()["obs_id"]) == set(again.search()["obs_id"])  # opened, not scanned
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_undated_images_of_ones_own_are_found_where_the_archive_rule_hid_them(tmp_path):
    """The archive's release rule keeps an image without a date or release keyword proprietary for ever: an index of
    a home folder made the archive's way hid four of the eight sample images from everyone but an admin. A folder
    index shows every image to whoever can open the file."""
    from platform_lib.imageindex import ImageIndex, ImageQuery

    folder = image_folder(tmp_path)
    mine = index_folder(folder)
    as_owner, _ = ImageIndex(mine.path).query(ImageQuery(), Viewer(user="ann"))
    undated = {"m13_dss", "ngc1316_optical", "m51_irsa_dust", "g10.5_magpis_effelsberg"}
    assert not undated & {r["obs_id"] for r in as_owner}
    assert undated < set(mine.search()["obs_id"]) and len(mine.search()) == 8


def test_the_index_is_no_more_readable_than_the_folder(tmp_path):
    folder = image_folder(tmp_path)
    folder.chmod(0o700)
    mine = index_folder(folder)
    assert mine.path == folder / INDEX_NAME
    assert stat.S_IMODE(mine.path.stat().st_mode) == 0o600
    folder.chmod(0o750)  # a group's folder: its members read the index, others not
    (folder / "m13_dss.fits").unlink()
    assert stat.S_IMODE(index_folder(folder).path.stat().st_mode) == 0o640


def test_which_of_my_images_contain_an_asteroid(tmp_path):
    """``moving.find_images`` given the folder's index: the Ceres image (``ceres_field.ceres_image``), and the rest
    of the folder, which Ceres was not in."""
    from platform_lib.moving import default_orbits, find_images

    folder = image_folder(tmp_path)
    orbits = default_orbits()
    ceres_image(folder / "sa110_cfht_megaprime.fits", folder / "ceres.fits", orbits)
    mine = index_folder(folder)
    found = find_images("Ceres", Time("2000-01-01"), Time("2025-01-01"), index=mine, orbits=orbits)
    assert list(found.table["obs_id"][found.table["hit"]]) == ["ceres"]
    assert list(found.table["file_path"]) == [str(folder / "ceres.fits")]
    assert found.table["centre_sep"][0] < 5  # arcsec: the image is centred on the ephemeris


def test_which_asteroids_are_in_my_images(tmp_path):
    """sreg20: ``moving.bodies_in_images`` took the archive's index (a path) but not a folder index as
    ``find_images`` does (``index=mine`` failed, and the folder's undated-release rows were the archive's rule's to
    hide); now the folder's obs_ids, or its search's answer, are looked up in it and each row names its file."""
    from platform_lib.moving import bodies_in_images, default_orbits

    folder = image_folder(tmp_path)
    orbits = default_orbits()
    ceres_image(folder / "sa110_cfht_megaprime.fits", folder / "ceres.fits", orbits)
    mine = index_folder(folder)
    found = bodies_in_images(["ceres"], index=mine, orbits=orbits)
    assert [(r["obs_id"], r["body"], bool(r["inside"])) for r in found] == [("ceres", "1 Ceres (A801 AA)", True)]
    assert list(found["file_path"]) == [str(folder / "ceres.fits")]
    assert found["centre_sep"][0] < 5  # arcsec: the image is centred on the ephemeris
    dated = mine.search(time=Time(["2005-01-01", "2025-01-01"]))  # the search's answer as the images
    assert "ceres" in list(dated["obs_id"])
    again = bodies_in_images(dated, index=mine, orbits=orbits)
    assert list(again["obs_id"]) == ["ceres"] and list(again["file_path"]) == [str(folder / "ceres.fits")]


def test_a_time_is_read_as_the_moving_objects_functions_read_dates(tmp_path):
    """sreg21: ``search(time=)`` took only an astropy Time (``"2011-09-01"`` was a TypeError) while the moving-objects
    functions read any date a user gives; both now read dates by one reader (``platform_lib.times``): ISO text and a
    list of it, with a UTC offset, ``datetime``s, an MJD as ``Time(..., format="mjd")`` and a TDB Julian date as a
    plain number, each the same answer as the astropy Time; text that is no date names the value (above)."""
    from datetime import datetime

    from platform_lib.moving.times import as_time

    mine = index_folder(image_folder(tmp_path))
    want = sorted(mine.search(time=Time(["2005-01-01", "2012-01-01"]))["obs_id"])
    assert want == ["crab/m1_ukidss_wfcam", "sa110_apogee", "sa110_cfht_megaprime"]
    moment = ["sa110_apogee"]  # during the Apogee frame's exposure, 2011-09-01T02:09:10 UTC
    assert sorted(mine.search(time=["2005-01-01", "2012-01-01"])["obs_id"]) == want
    assert sorted(mine.search(time=[datetime(2005, 1, 1), datetime(2012, 1, 1)])["obs_id"]) == want
    assert sorted(mine.search(time=Time([53371, 55927], format="mjd"))["obs_id"]) == want  # MJDs, UTC
    assert list(mine.search(time="2011-09-01T02:09:10")["obs_id"]) == moment
    assert list(mine.search(time="2011-09-01T12:09:10+10:00")["obs_id"]) == moment  # the same instant
    assert list(mine.search(time=Time("2011-09-01T02:09:10").tdb.jd)["obs_id"]) == moment  # a TDB Julian date
    assert as_time("2011-09-01T12:09:10+10:00").isot == "2011-09-01T02:09:10.000"  # the moving functions' reading


def test_bad_input_is_refused_naming_the_problem(tmp_path):
    folder = image_folder(tmp_path)
    with pytest.raises(ImageIndexError, match="does not exist") as info:
        index_folder(tmp_path / "nowhere")
    assert info.value.code == "no-folder"
    with pytest.raises(ImageIndexError, match=r"has no index yet .* make it with index_folder\("):
        FolderIndex(folder).search()
    mine = index_folder(folder)
    with pytest.raises(TypeError, match=r"position='M1' is not a sky position nor a name the platform's catalogues "
                                        r"hold \(Messier, NGC and IC numbers"):  # names22: no archive answers here
        mine.search("M1")
    with pytest.raises(ValueError, match="not an angle"):
        mine.search(SkyCoord(0, 0, unit="deg"), 5)
    with pytest.raises(ValueError, match="without a position"):
        mine.search(radius=1 * u.deg)
    with pytest.raises(ValueError, match="swap them"):
        mine.search(time=Time(["2012-01-01", "2005-01-01"]))
    with pytest.warns(UserWarning, match="maxrec=2"):
        assert len(mine.search(maxrec=2)) == 2


@pytest.mark.parametrize(("call", "code", "words"), [
    # names22: a name is looked up as every search of platform_lib looks one up (here no archive answers it)
    (lambda mine: mine.search("M1"), "bad-position", r"position='M1' is not a sky position nor a name the platform"),
    (lambda mine: mine.search((83.6, 22.0)), "bad-position", r"position must be a SkyCoord, a position as text or"),
    (lambda mine: mine.search(SkyCoord([0, 1], [0, 1], unit="deg")), "bad-position", "one position, got 2"),
    (lambda mine: mine.search(SkyCoord(0, 0, unit="deg"), 5), "bad-radius", "5 is not an angle"),
    (lambda mine: mine.search(SkyCoord(0, 0, unit="deg"), 200 * u.deg), "bad-radius", "from 0 to 180"),
    (lambda mine: mine.search(radius=1 * u.deg), "bad-radius", "without a position"),
    (lambda mine: mine.search(time=Time(["2012-01-01", "2005-01-01"])), "bad-time", "swap them"),
    (lambda mine: mine.search(time="2011-09-45"), "bad-time", "time='2011-09-45' is not a date: give ISO 8601"),
    (lambda mine: mine.search(time="55805"), "bad-time", r"a number as text.*Time\(55805, format='mjd'\)"),
    (lambda mine: mine.search(time=["2005-01-01", "friday"]), "bad-time", r"time\[1\]='friday' is not a date"),
    (lambda mine: mine.search(time=Time(["2005-01-01", "2006-01-01", "2007-01-01"])), "bad-time", "got 3"),
    (lambda mine: mine.search(time=object()), "bad-time", "time must be dates"),
    (lambda mine: mine.search(maxrec=-1), "bad-maxrec", "maxrec must be a whole number"),
    (lambda mine: index_folder(None), "bad-path", "folder must be a folder's path .* got None"),
    (lambda mine: index_folder(mine.folder, index=3), "bad-path", "index must be a folder's path .* got 3"),
    (lambda mine: index_folder(mine.folder, workers="4"), "bad-workers", "workers must be a whole number .* '4'"),
    (lambda mine: index_folder(mine.folder, workers=0), "bad-workers", "workers must be a whole number .* 0"),
    (lambda mine: index_folder(mine.folder, progress=5), "bad-progress", "progress must be a function"),
    (lambda mine: FolderIndex(3), "bad-path", "folder must be a folder's path"),
])
def test_every_bad_argument_is_the_packages_own_error_naming_it(tmp_path, call, code, words):
    """sreg20: the folder index's public functions raised plain ValueError/TypeError for bad arguments (a caller
    could not catch the package's errors as one), and index_folder(None) or workers='4' a bare TypeError from deep
    inside ('<=' not supported between 'str' and 'int'); each is now an ImageIndexInputError (a ValueError and a
    TypeError too) whose code and message name the argument."""
    folder = tmp_path / "myimages"
    folder.mkdir()
    mine = index_folder(folder)
    with pytest.raises(ImageIndexError, match=words) as info:
        call(mine)
    assert info.value.code == code and isinstance(info.value, (ValueError, TypeError))
