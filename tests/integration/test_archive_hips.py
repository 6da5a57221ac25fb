"""The archive service's HiPS routes and its copy of Aladin Lite, against a real ``astrohub-archive`` process.

A registry with one ingested catalogue (2,000 stars with magnitudes): the archive builds its HiPS
catalogue and density map on first request, serves them in the HiPS layout, answers missing tiles and
bad names with a 404 and a reason, and serves Aladin Lite's ES module from the npm package.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import requests

sys.path.insert(0, str(Path(__file__).parent))
from archive_process import running_archive  # noqa: E402


STARS = "stars_stars"  # the registry's stars/stars as a HiPS name


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    import pandas
    from astropy.table import Table

    from platform_lib.catalogs import Registry, ingest
    from platform_lib.imageindex import build_index

    tmp = tmp_path_factory.mktemp("hips-archive")
    (tmp / "images").mkdir()
    for i, (ra, dec) in enumerate([(10.0, 0.0), (10.4, 0.2)]):  # two public images with a WCS
        from astropy.io import fits

        h = fits.Header()
        h.update(CTYPE1="RA---TAN", CTYPE2="DEC--TAN", CRVAL1=ra, CRVAL2=dec, CRPIX1=100.5, CRPIX2=100.5,
                 CDELT1=-10 / 3600, CDELT2=10 / 3600, CUNIT1="deg", CUNIT2="deg", DATE_OBS="2020-01-01T00:00:00",
                 TELESCOP="TEST", INSTRUME="CAM", EXPTIME=10.0)
        yy, xx = np.mgrid[0:200, 0:200]
        data = (np.exp(-((xx - 100) ** 2 + (yy - 100) ** 2) / 800.0) * 100 + i).astype(np.float32)
        fits.PrimaryHDU(data, h).writeto(tmp / "images" / f"img{i}.fits")
    build_index(tmp / "index.sqlite", tmp / "images", workers=1)
    rng = np.random.default_rng(5)
    n = 2000
    t = Table({"source_id": np.arange(n), "ra": rng.uniform(0, 360, n),
               "dec": np.degrees(np.arcsin(rng.uniform(-1, 1, n))), "gmag": rng.uniform(8, 20, n)})
    t["ra"].unit = t["dec"].unit = "deg"
    t["gmag"].unit = "mag"
    t.write(tmp / "stars.fits")
    registry = Registry(tmp / "registry.sqlite")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=pandas.errors.Pandas4Warning)
        ingest(tmp / "stars.fits", registry, name="stars")
    registry.close()
    args = ["--index", str(tmp / "index.sqlite"), "--data-root", str(tmp / "images"),
            "--registry", str(tmp / "registry.sqlite"), "--log-level", "WARNING", "--update-every", "0"]
    with running_archive(args, tmp / "archive.log") as base:
        yield base, tmp


def test_catalogue_hips_is_built_served_and_valid(archive):
    from platform_lib.viz import read_hips_properties, validate_hips

    base, tmp = archive
    listing = requests.get(base + "hips/index.json", timeout=30).json()
    assert set(listing["building"]) == {STARS, f"{STARS}-density", "sky", "images"}  # built in the background
    props = requests.get(f"{base}hips/{STARS}/properties", timeout=120)  # waits for the build
    assert props.status_code == 200
    served = {line.split("=", 1)[0].strip(): line.split("=", 1)[1].strip() for line in props.text.splitlines() if "=" in line}
    assert served["dataproduct_type"] == "catalog" and served["hips_cat_nrows"] == "2000"
    assert served["astrohub_magnitude"] == "gmag"
    report = validate_hips(tmp / "hips" / STARS)
    assert report.rows == 2000
    # every tile on disk is served, byte for byte, in the HiPS layout
    for tile in sorted((tmp / "hips" / STARS).rglob("Npix*.tsv"))[:20]:
        rel = tile.relative_to(tmp / "hips" / STARS).as_posix()
        r = requests.get(f"{base}hips/{STARS}/{rel}", timeout=30)
        assert r.status_code == 200 and r.content == tile.read_bytes()
        assert r.headers["Content-Type"].startswith("text/tab-separated-values")
    assert requests.get(f"{base}hips/{STARS}/Norder1/Allsky.tsv", timeout=30).status_code == 200
    meta = requests.get(f"{base}hips/{STARS}/metadata.xml", timeout=30)
    assert meta.status_code == 200 and "pos.eq.ra" in meta.text
    # the density map and the default background
    for name in (f"{STARS}-density", "sky", "images"):
        r = requests.get(f"{base}hips/{name}/properties", timeout=120)
        assert r.status_code == 200 and "dataproduct_type" in r.text
        assert validate_hips(tmp / "hips" / name).dataproduct_type == "image"
    assert read_hips_properties(tmp / "hips" / "sky" / "properties")["hips_tile_format"] == "fits"
    page = requests.get(base + "hips/", timeout=30)
    assert page.status_code == 200 and f"{STARS}-density" in page.text


def test_tiles_are_cacheable_revalidated_and_gzipped(archive):
    base, tmp = archive
    requests.get(f"{base}hips/{STARS}/properties", timeout=120)
    tile = max((tmp / "hips" / STARS).rglob("Npix*.tsv"), key=lambda p: p.stat().st_size)
    url = f"{base}hips/{STARS}/{tile.relative_to(tmp / 'hips' / STARS).as_posix()}"
    r = requests.get(url, headers={"Accept-Encoding": "gzip"}, timeout=30)
    assert r.status_code == 200 and r.content == tile.read_bytes()
    assert r.headers["Content-Encoding"] == "gzip" and int(r.headers["Content-Length"]) < tile.stat().st_size
    assert "immutable" in r.headers["Cache-Control"] and r.headers["Vary"] == "Accept-Encoding"
    plain = requests.get(url, headers={"Accept-Encoding": "identity"}, timeout=30)
    assert "Content-Encoding" not in plain.headers and plain.content == tile.read_bytes()
    # a browser's revalidation: 304 with no body, by ETag or by date
    again = requests.get(url, headers={"If-None-Match": r.headers["Etag"]}, timeout=30)
    assert again.status_code == 304 and again.content == b""
    dated = requests.get(url, headers={"If-Modified-Since": r.headers["Last-Modified"]}, timeout=30)
    assert dated.status_code == 304
    assert requests.get(url, headers={"If-None-Match": '"other"'}, timeout=30).status_code == 200
    head = requests.head(url, headers={"Accept-Encoding": "identity"}, timeout=30)
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == tile.stat().st_size
    # FITS image tiles too (the density map, the viewer's default background): 1 MB of float32 each
    requests.get(f"{base}hips/{STARS}-density/properties", timeout=120)
    fits_tile = max((tmp / "hips" / f"{STARS}-density").rglob("Npix*.fits"), key=lambda p: p.stat().st_size)
    for _ in range(2):  # the handler's answer, then the router's from memory
        f = requests.get(f"{base}hips/{STARS}-density/{fits_tile.relative_to(tmp / 'hips' / f'{STARS}-density').as_posix()}",
                         headers={"Accept-Encoding": "gzip"}, timeout=30)
        assert f.status_code == 200 and f.content == fits_tile.read_bytes()
        assert f.headers["Content-Encoding"] == "gzip" and int(f.headers["Content-Length"]) < fits_tile.stat().st_size / 2
        assert f.headers["Content-Type"] == "application/fits"
    # the description is revalidated each time, so a rebuilt HiPS shows at once
    props = requests.get(f"{base}hips/{STARS}/properties", timeout=30)
    assert props.headers["Cache-Control"] == "public, no-cache" and props.headers["Etag"]


def test_missing_tiles_and_bad_names_are_404_with_a_reason(archive):
    base, tmp = archive
    requests.get(f"{base}hips/{STARS}/properties", timeout=120)
    requests.get(f"{base}hips/{STARS}-density/properties", timeout=120)
    # a tile's 404 says why: an order beyond the HiPS's deepest, a cell outside the sky, a malformed path
    from platform_lib.viz import read_hips_properties

    deepest = read_hips_properties(tmp / "hips" / STARS / "properties")["hips_order"]
    for path, reason in [(f"hips/{STARS}/Norder9/Dir0/Npix1.tsv", f"its deepest order is {deepest}"),
                         (f"hips/{STARS}-density/Norder9/Dir0/Npix1.fits", "its deepest order is"),
                         (f"hips/{STARS}/Norder1/Dir0/Npix48.tsv", "order 1 has cells 0 to 47"),
                         (f"hips/{STARS}/Norder1/Npix4.tsv", "a tile's path is Norder<k>/Dir<d>/Npix<p>.<ext>"),
                         (f"hips/{STARS}/Norder1/Dir0/Npixabc.tsv", "a tile's path is"),
                         (f"hips/{STARS}/Norder1/Dir10000/Npix4.tsv", "cell 4 is in Dir0"),
                         ("hips/nothing-here/properties", "no HiPS called 'nothing-here'"),
                         (f"hips/{STARS}/..%2F..%2Findex.sqlite", "no HiPS file"),
                         (f"hips/.{STARS}.tmp/properties", "no HiPS file"),
                         (f"hips/{STARS}/Norder3/Dir0/Npix999999999.tsv", "has no")]:
        for _ in range(2):  # the handler's 404, then the router's (the HiPS has been served)
            r = requests.get(base + path, timeout=30)
            assert r.status_code == 404, (path, r.status_code)
            assert reason in r.text and "Traceback" not in r.text, (path, r.text)


def test_aladin_lite_is_served_from_the_npm_package(archive):
    """Aladin Lite's ``aladin.js`` comes from the npm package, with the platform's fixes of it (viz21: its
    sexagesimal rounding), its size and validators those of what is served."""
    from astrohub_archive.aladin_lite import PATCHES, aladin_lite_dir

    base, _ = archive
    if aladin_lite_dir() is None:
        pytest.fail("Aladin Lite is not installed: `make install` puts it in .npm/node_modules/aladin-lite")
    r = requests.get(base + "aladin-lite/aladin.js", timeout=30)
    assert r.status_code == 200 and "javascript" in r.headers["Content-Type"]
    assert len(r.content) > 1_000_000 and b"catalogHiPS" in r.content
    assert int(r.headers["Content-Length"]) == len(r.content)
    for _, shipped, fixed in PATCHES:
        assert fixed.encode() in r.content and shipped.encode() not in r.content
    again = requests.get(base + "aladin-lite/aladin.js", headers={"If-None-Match": r.headers["Etag"]}, timeout=30)
    assert again.status_code == 304
    part = requests.get(base + "aladin-lite/aladin.js", headers={"Range": "bytes=-100"}, timeout=30)
    assert part.status_code == 206 and part.content == r.content[-100:]
    assert requests.get(base + "aladin-lite/nope.js", timeout=30).status_code == 404


def test_stopping_during_a_build_is_clean(archive, tmp_path):
    """SIGTERM while the archive builds a HiPS: the build stops at its next step (or, still importing lsdb
    on a loaded machine after 5 s, is left behind), the process exits 0 with no traceback in its log, and
    the HiPS folder holds no temporary or half-written HiPS."""
    import time

    from platform_lib.imageindex import build_index
    from platform_lib.viz import validate_hips

    from archive_process import start_archive, stop_archive

    _, shared = archive  # the module's registry (read only); a HiPS folder of its own beside new images
    (tmp_path / "images").mkdir()
    build_index(tmp_path / "index.sqlite", tmp_path / "images", workers=1)
    log_path = tmp_path / "archive.log"
    proc, base = start_archive(["--index", str(tmp_path / "index.sqlite"), "--data-root", str(tmp_path / "images"),
                                "--registry", str(shared / "registry.sqlite"), "--log-level", "INFO",
                                "--update-every", "0"], log_path)
    try:
        assert requests.get(base + "hips/index.json", timeout=30).json()["building"]
        deadline = time.monotonic() + 60
        while "HiPS sky: building" not in log_path.read_text():  # the first build (the sky's density) runs
            assert time.monotonic() < deadline, log_path.read_text()[-2000:]
            time.sleep(0.05)  # polling interval (bounded by the deadline)
    finally:
        out = stop_archive(proc, log_path)
    assert proc.returncode == 0, out[-3000:]
    assert "Traceback" not in out and "ERROR" not in out, out[-3000:]
    assert "build stopped by the archive's shutdown" in out or "the archive exits without it" in out, out[-3000:]
    hips = tmp_path / "hips"
    left = sorted(p.name for p in hips.iterdir()) if hips.exists() else []
    assert not [n for n in left if n.startswith(".")], (left, out[-3000:])  # no temporary folder left behind
    for name in left:  # whatever is visible is a whole HiPS
        validate_hips(hips / name)
