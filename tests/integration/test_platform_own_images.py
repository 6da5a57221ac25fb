"""An astronomer's own FITS images on the running platform: in a kernel of her own server she copies the sample
images into ``~/myimages`` (with a text file and a broken FITS file), indexes the folder with
``platform_lib.imageindex.index_folder``, asks which images hold the Crab, which were taken in a time range and which
hold Ceres, and indexes her group's folder. As another user (his own system user when ``platform.isolated``) her
index and images cannot be read; as a member of her group, the group folder's index can."""

from __future__ import annotations

import json
import textwrap

import pytest
from ceres_field import kernel_code  # tests/support/, on the path by tests/conftest.py

#: Kernel code: the sample CFHT image (``sample``) re-pointed at Ceres on 2023-05-26 with no release keyword, as
#: ``mine / "ceres.fits"`` (tests/support/ceres_field.py); leaves ``orbits``, ``at`` (Ceres's ephemeris), ``header``
#: and ``data``.
CERES_IMAGE = "orbits = default_orbits()\n" + kernel_code('sample / "sa110_cfht_megaprime.fits"',
                                                           'mine / "ceres.fits"', "orbits")

HERS = r"""
import json, os, pathlib, shutil, warnings
import astropy.units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.time import Time
from platform_lib import get_settings
from platform_lib.imageindex import index_folder
from platform_lib.moving import default_orbits, ephemeris, find_images
from platform_lib.storage import Storage

sample = get_settings().datasets / "images" / "sample"
mine = pathlib.Path.home() / "myimages"
(mine / "crab").mkdir(parents=True)
for f in sorted(sample.glob("*.fits")):
    shutil.copy(f, (mine / "crab" if f.name.startswith("m1_") else mine) / f.name)
(mine / "log.txt").write_text("clear night")
(mine / "broken.fits").write_bytes(b"SIMPLE  =                    T")
# an image of her own with no release keyword, centred on Ceres (the archive's rule kept such rows hidden)
""" + CERES_IMAGE + r"""

idx = index_folder("~/myimages")
out = {"home": str(pathlib.Path.home()), "count": len(idx), "added": idx.report.added,
       "skipped": sorted(idx.skipped["path"]), "index_mode": oct(idx.path.stat().st_mode & 0o777),
       "modes": [oct(p.stat().st_mode & 0o777) for p in (pathlib.Path.home(), mine)]}
crab = idx.search(SkyCoord(83.63308, 22.0145, unit="deg"), 1 * u.arcmin)
out["crab"] = sorted(crab["obs_id"])
out["crab_paths"] = sorted(crab["file_path"])
out["in_range"] = sorted(idx.search(time=Time(["2005-01-01", "2012-01-01"]))["obs_id"])
found = find_images("Ceres", Time("2020-01-01"), Time("2024-01-01"), index=idx, orbits=orbits)
out["ceres"] = sorted(found.table["obs_id"][found.table["hit"]])
again = index_folder("~/myimages")
out["again"] = [again.report.added, again.report.unchanged]
from platform_lib import viz
out["aladin"] = [[layer["kind"], layer.get("rows")] for layer in viz.show(crab).layers]

group = pathlib.Path(Storage().local_path("group/{group}:images"))
group.mkdir()
for name in ("m1_dss.fits", "m1_ukidss_wfcam.fits"):
    shutil.copy(mine / "crab" / name, group / name)
out["group"] = len(index_folder(group))
out["group_dir"] = str(group)
print(json.dumps(out))
"""

HIS = r"""
import json, pathlib
from astropy.coordinates import SkyCoord
from platform_lib.imageindex import FolderIndex, ImageIndexError
home = pathlib.Path({home!r})
out = {{}}
for name, path in (("index", home / "myimages" / ".imageindex.sqlite"), ("image", home / "myimages" / "m13_dss.fits"),
                   ("group_index", pathlib.Path({group_dir!r}) / ".imageindex.sqlite")):
    try:
        open(path, "rb").read(10)
        out[name] = "read"
    except PermissionError:
        out[name] = "denied"
for name, folder in (("folder", home / "myimages"), ("group", pathlib.Path({group_dir!r}))):
    try:
        out[name] = sorted(FolderIndex(folder).search(SkyCoord(83.63308, 22.0145, unit="deg"))["obs_id"])
    except (ImageIndexError, PermissionError) as exc:
        out[name] = type(exc).__name__
print(json.dumps(out))
"""


def test_an_astronomer_indexes_and_searches_her_own_images_and_no_one_else_reads_them(platform, poll):
    from platform_lib.sampledata import MARKER

    poll((platform.data_dir / "datasets" / MARKER).exists, 300, "the sample data load")
    ann, bob, eve = platform.unique("imgann"), platform.unique("imgbob"), platform.unique("imgeve")
    group = platform.unique("imgteam")
    for user in (ann, bob, eve):
        platform.create_user(user)
    platform.create_group(group, [ann, bob])
    for user in (ann, bob, eve):
        platform.start_server(user)
    try:
        hers = json.loads(platform.execute(ann, HERS.replace("{group}", group), timeout=300).strip().splitlines()[-1])
        assert hers["count"] == 9 and hers["added"] == 9, hers  # the eight sample images and her Ceres image
        assert hers["skipped"] == ["broken.fits", "log.txt"], hers
        assert hers["crab"] == ["crab/m1_dss", "crab/m1_ukidss_wfcam"], hers
        assert hers["crab_paths"] == [f"{hers['home']}/myimages/crab/m1_dss.fits",
                                      f"{hers['home']}/myimages/crab/m1_ukidss_wfcam.fits"]
        assert hers["in_range"] == ["crab/m1_ukidss_wfcam", "sa110_apogee", "sa110_cfht_megaprime"], hers
        assert hers["ceres"] == ["ceres"], hers
        assert hers["again"] == [0, 10], hers  # a second run reads nothing again (nine images, the broken file)
        assert ["footprints", 2] in hers["aladin"] and hers["group"] == 2, hers
        if not platform.isolated:
            pytest.skip("users are not separate system users here (not root): homes are not private")
        home_mode, folder_mode = (int(m, 8) for m in hers["modes"])
        assert int(hers["index_mode"], 8) == folder_mode & 0o666 | 0o600, hers  # no wider than the folder's
        assert home_mode & 0o007 == 0, hers  # her home lets no one else in (what keeps the index and images hers)
        code = textwrap.dedent(HIS).format(home=hers["home"], group_dir=hers["group_dir"])
        outsider = json.loads(platform.execute(eve, code).strip().splitlines()[-1])
        assert outsider == {"index": "denied", "image": "denied", "group_index": "denied",
                            "folder": outsider["folder"], "group": outsider["group"]}, outsider
        assert outsider["folder"] in ("ImageIndexError", "PermissionError"), outsider
        assert outsider["group"] in ("ImageIndexError", "PermissionError"), outsider
        member = json.loads(platform.execute(bob, code).strip().splitlines()[-1])
        assert member["index"] == member["image"] == "denied" and member["group_index"] == "read", member
        assert member["group"] == ["m1_dss", "m1_ukidss_wfcam"], member
    finally:
        for user in (ann, bob, eve):
            platform.stop_server(user)


CERES = r"""
import json, pathlib, shutil
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.time import Time
from platform_lib import get_settings
from platform_lib.imageindex import index_folder
from platform_lib.moving import bodies_in_images, default_orbits, ephemeris

sample = get_settings().datasets / "images" / "sample"
mine = pathlib.Path.home() / "ceresfield"
mine.mkdir()
""" + CERES_IMAGE + r"""
# the same pointing with a Galactic WCS: the footprint is found only where the index converts it to ICRS
gal = SkyCoord(float(at["ra"][0]), float(at["dec"][0]), unit="deg").galactic
for key in ("RADESYS", "EQUINOX", "EPOCH"):
    header.pop(key, None)
header.update(CTYPE1="GLON-TAN", CTYPE2="GLAT-TAN", CRVAL1=float(gal.l.deg), CRVAL2=float(gal.b.deg))
fits.PrimaryHDU(data, header=header).writeto(mine / "ceres_galactic.fits")
idx = index_folder("~/ceresfield")
found = bodies_in_images(idx.search(), index=idx, orbits=orbits)
print(json.dumps({"home": str(pathlib.Path.home()), "count": len(idx),
                  "rows": sorted([str(r["obs_id"]), str(r["body"]), bool(r["inside"]), str(r["file_path"])]
                                 for r in found)}))
"""


def test_bodies_in_images_reads_her_folder_index_and_finds_ceres_in_icrs_and_galactic_images(platform, poll):
    """``moving.bodies_in_images`` on a user's own folder index (``index_folder``) in a kernel of her server: the
    sample image re-pointed at Ceres (2023-05-26), once with its ICRS WCS and once with a Galactic one (``GLON-TAN``
    at Ceres's l, b), has Ceres inside each, and each row names the image's file. Without the index's conversion of
    a Galactic WCS to ICRS the second footprint lies at (l, b) read as (RA, Dec), far from Ceres, and holds
    nothing."""
    from platform_lib.sampledata import MARKER

    poll((platform.data_dir / "datasets" / MARKER).exists, 300, "the sample data load")
    with platform.user_with_server("ceresidx") as user:
        out = json.loads(platform.execute(user, CERES, timeout=300).strip().splitlines()[-1])
    assert out["count"] == 2, out
    folder = f"{out['home']}/ceresfield"
    assert out["rows"] == [["ceres", "1 Ceres (A801 AA)", True, f"{folder}/ceres.fits"],
                           ["ceres_galactic", "1 Ceres (A801 AA)", True, f"{folder}/ceres_galactic.fits"]], out
