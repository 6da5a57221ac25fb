"""One list of FITS file names (platform_lib.fitsfiles) for storage, catalogue ingest, the image index and the
FITS viewer, on astropy's own small test files compressed the ways archives serve them.

mend14b: the FITS viewer opened every name astropy reads (``.fits``, ``.fit``, ``.fts`` in any case, plain or
``.gz``, ``.bz2``, ``.xz``, ``.zip``, ``.Z``, and ``.fz``), but ``Storage().read_table('t.fit.gz')`` said it could not
tell the format, catalogue ingest refused ``t.fits.bz2``, and the image index left ``a.fits.Z`` and
``M13.FIT.BZ2`` out: each package had its own shorter list.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from lab_file_types import fits_viewer_extensions, lab_opens  # tests/support/, on the path by tests/conftest.py
from platform_lib import get_settings
from platform_lib.catalogs import read_source
from platform_lib.fitsfiles import FITS_SUFFIXES, fits_stem, fits_suffix
from platform_lib.imageindex import ImageIndex, ImageQuery, Viewer, build_index
from platform_lib.storage import PathNotFound, Storage, UnknownFormat

DATA = Path(fits.__file__).parent / "tests/data"
TABLE = DATA / "tb.fits"  # a binary table of 2 rows and 4 columns
LZW = DATA / "lzw.fits.Z"  # a 101 x 101 ESO image compressed with Unix compress (LZW)
M13 = Path(fits.__file__).parent / "hdu/compressed/tests/data/m13.fits"  # DSS, with a WCS
M13_RICE = Path(fits.__file__).parent / "hdu/compressed/tests/data/m13_rice.fits"  # the same, tile-compressed

COMPRESS = {"": lambda b: b, ".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}


def _write(path: Path, data: bytes) -> Path:
    """``data`` at ``path``, compressed as the name's last suffix says (``.zip``: one member)."""
    suffix = path.suffix.lower()
    if suffix == ".zip":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr(path.stem, data)
    else:
        path.write_bytes(COMPRESS.get(suffix, COMPRESS[""])(data))
    return path


NAMES = ["t.fits", "T.FIT.GZ", "t.fts.bz2", "t.Fits.xz", "t.fit.zip"]


def test_the_fits_viewer_and_the_library_take_the_same_names():
    """The Lab extension (astrohub_server, which may not import platform_lib) keeps its own list: the same names."""
    extensions = fits_viewer_extensions()
    for suffix in {*FITS_SUFFIXES, *extensions}:
        for name in ("x" + suffix, "X" + suffix.upper(), "obs.v2" + suffix):
            assert lab_opens(name, extensions) and fits_suffix(name), name
    for name in ("notes.txt", "catalogue.csv.gz", "fits.txt", "archive.zip", "x.fits.tar", "fits", "x.fitsgz"):
        assert not lab_opens(name, extensions) and fits_suffix(name) is None, name
    assert fits_stem("dir/a.FITS.fz") == "dir/a" and fits_stem("a.fit.Z") == "a" and fits_stem("a.txt") == "a.txt"


def test_storage_reads_a_fits_table_and_image_under_every_name(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    storage = Storage(get_settings(user="ada", home=home, datasets=tmp_path / "datasets", scratch=tmp_path / "s"))
    expected = Table.read(TABLE)
    for name in NAMES:
        _write(home / name, TABLE.read_bytes())
        table = storage.read_table(f"home:{name}")
        assert table.colnames == expected.colnames and all(np.array_equal(table[c], expected[c])
                                                           for c in expected.colnames), name
    shutil.copy(LZW, home / "frame.fits.Z")
    _write(home / "M13.FTS.XZ", M13.read_bytes())
    shutil.copy(M13_RICE, home / "m13.fits.fz")
    lzw, _ = storage.read_image("home:frame.fits.Z")
    assert lzw.shape == (101, 101)
    m13, header = storage.read_image("home:M13.FTS.XZ")
    assert np.array_equal(m13, fits.getdata(M13)) and header["NAXIS1"] == m13.shape[1]
    assert np.array_equal(storage.read_image("home:m13.fits.fz")[0], m13)
    for name in ("t.fits.Z", "T.FTS.GZ", "t.fits.fz"):  # told from the name, whatever the compression
        with pytest.raises(PathNotFound):  # no such file, said once the format is told
            storage.read_table(f"home:{name}")


def test_storage_writes_fits_compressed_as_its_name_says(tmp_path):
    """A table written as ``t.fits.gz`` was plain FITS under a gzip name (gunzip, fpack's tools and archives'
    ingest refuse it); ``.bz2`` and ``.xz`` the same; ``.zip`` and ``.Z``, which astropy cannot write, are refused."""
    home = tmp_path / "home"
    home.mkdir()
    storage = Storage(get_settings(user="ada", home=home, datasets=tmp_path / "datasets", scratch=tmp_path / "s"))
    table, image = Table.read(TABLE), fits.getdata(M13)
    for name, magic in (("t.fits.gz", b"\x1f\x8b"), ("T.FIT.BZ2", b"BZh"), ("t.fts.xz", b"\xfd7zXZ"),
                        ("t.fits", b"SIMPLE")):
        storage.write_table(table, f"home:{name}")
        assert (home / name).read_bytes().startswith(magic), name
        assert len(storage.read_table(f"home:{name}")) == len(table), name
        storage.write_image(image, f"home:image-{name}")
        assert (home / f"image-{name}").read_bytes().startswith(magic), name
        assert np.array_equal(storage.read_image(f"home:image-{name}")[0], image), name
    for name in ("t.fits.zip", "t.fits.Z"):
        with pytest.raises(UnknownFormat, match="astropy reads .zip and .Z files but does not write them"):
            storage.write_table(table, f"home:{name}")
        with pytest.raises(UnknownFormat):
            storage.write_image(image, f"home:{name}")
        assert not (home / name).exists()


def test_storage_writes_an_fz_image_tile_compressed_and_refuses_an_fz_table(tmp_path):
    """``.fz`` (fpack's tile compression) was written as plain FITS: images are now CompImageHDUs behind an empty
    primary HDU, as fpack writes them (integers RICE_1, floats GZIP_2 unquantised: every pixel back exactly), read
    by astropy and by cfitsio's funpack (Debian's libcfitsio-bin); a table as ``.fz`` is refused, naming why."""
    home = tmp_path / "home"
    home.mkdir()
    storage = Storage(get_settings(user="ada", home=home, datasets=tmp_path / "datasets", scratch=tmp_path / "s"))
    m13, m13_header = fits.getdata(M13, header=True)  # DSS: 16-bit integers, with a WCS
    noise = np.random.default_rng(5).normal(100, 3, (40, 30))  # float64, whose every bit must survive
    for name, data, header, algorithm in (("m13.fits.fz", m13, m13_header, "RICE_1"),
                                          ("NOISE.FZ", noise, None, "GZIP_2")):
        storage.write_image(data, f"home:{name}", header=header)
        with fits.open(home / name) as hdul:
            assert hdul[0].data is None and isinstance(hdul[1], fits.CompImageHDU), name
            assert hdul[1].compression_type == algorithm and np.array_equal(hdul[1].data, data), name
        assert np.array_equal(storage.read_image(f"home:{name}")[0], data), name
        plain = subprocess.run([shutil.which("funpack") or "funpack", "-S", str(home / name)], check=True,
                               capture_output=True).stdout
        with fits.open(io.BytesIO(plain)) as hdul:
            assert np.array_equal(hdul[1].data, data), name
    assert fits.getheader(home / "m13.fits.fz", 1)["CTYPE1"] == m13_header["CTYPE1"]
    with pytest.raises(UnknownFormat, match="tile compression .* for images"):
        storage.write_table(Table.read(TABLE), "home:t.fits.fz")
    assert not (home / "t.fits.fz").exists()

def test_catalogue_ingest_reads_a_fits_table_under_every_name(tmp_path):
    expected = Table.read(TABLE)
    for name in NAMES:
        source = read_source(_write(tmp_path / name, TABLE.read_bytes()))
        assert source.name == name.split(".")[0], name
        [table] = source.tables
        assert len(table.table) == len(expected) and table.table.colnames == expected.colnames, name


def test_the_image_index_takes_every_fits_name(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(LZW, data / "eso.fits.Z")
    _write(data / "M13.FIT.BZ2", M13.read_bytes())
    _write(data / "m13b.fts.xz", M13.read_bytes())
    shutil.copy(M13_RICE, data / "rice.fits.fz")
    (data / "notes.txt").write_text("not an image")
    report = build_index(tmp_path / "index.sqlite", data, workers=1)
    assert report.indexed == 4 and not report.skipped, report
    records, _ = ImageIndex(tmp_path / "index.sqlite").query(ImageQuery(), Viewer(admin=True))
    assert {r["obs_id"] for r in records} == {"eso", "M13", "m13b", "rice"}
    # what the archive serves each as (ObsCore access_format, the download's Content-Type): the bytes' own type,
    # not application/fits for all (mend15); a tile-compressed file is FITS
    assert {r["obs_id"]: r["access_format"] for r in records} == {
        "eso": "application/x-compress", "M13": "application/x-bzip2", "m13b": "application/x-xz",
        "rice": "application/fits"}


def test_a_sky_map_is_written_compressed_as_its_name_says(tmp_path):
    """``SkyMap.write('map.fits.gz')`` wrote plain FITS under a gzip name (as storage's tables did before mend14b);
    now each name's compression, read back equal; ``.zip`` refused, naming the names that work."""
    import warnings

    import reproject

    from platform_lib.skymap import SkymapError, read_skymap

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the 2010 BAYESTAR test map's old header conventions
        sky = read_skymap(Path(reproject.__file__).parent / "healpix/tests/data/bayestar.fits.gz")
    for name, magic in (("m.fits.gz", b"\x1f\x8b"), ("M.FITS.BZ2", b"BZh"), ("m.fits.xz", b"\xfd7zXZ"),
                        ("m.fits", b"SIMPLE")):
        sky.write(tmp_path / name)
        assert (tmp_path / name).read_bytes().startswith(magic), name
        back = read_skymap(tmp_path / name)
        assert np.array_equal(back.uniq, sky.uniq) and np.array_equal(back.probability, sky.probability), name
    with pytest.raises(SkymapError, match=r"does not write them; name it \.fits, \.fits\.gz"):
        sky.write(tmp_path / "m.fits.zip")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["M.FITS.BZ2", "m.fits", "m.fits.gz", "m.fits.xz"]
