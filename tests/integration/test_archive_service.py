"""The archive service as a subprocess on a free port, queried with real clients (HTTP, pyvo, STILTS).

Data: real FITS test images bundled with astropy (DSS legacy WCS, SIP, HST ACS SIP in two
extensions) and astroquery (VLA FIRST, UKIRT WFCAM, MAGPIS Galactic WCS, CFHT MegaPrime), plus synthetic headers made here with known
answers: a Keck NIRC2 frame without WCS (pointing footprint, proprietary to alice / keckgrp), a CFHT
MegaPrime image straddling RA = 0, one at the north pole, and an unreadable file.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import requests
from astropy.io import fits
from astropy.io.votable import parse_single_table
from astropy.time import Time

import astropy
import astroquery

sys.path.insert(0, str(Path(__file__).parent))
from archive_process import running_archive  # noqa: E402

ASTROPY_DATA = Path(astropy.__file__).parent
ASTROQUERY_DATA = Path(astroquery.__file__).parent
REAL_FILES = {
    "dss/dss.14.29.56-62.41.05.fits.gz": ASTROPY_DATA / "wcs/tests/data/dss.14.29.56-62.41.05.fits.gz",
    "sip/sip-wcs.fits": ASTROPY_DATA / "nddata/tests/data/sip-wcs.fits",
    "hst/j94f05bgq_flt.fits": ASTROPY_DATA / "wcs/tests/data/j94f05bgq_flt.fits",
    "first/image.fits": ASTROQUERY_DATA / "image_cutouts/first/tests/data/image.fits",
    "ukidss/image.fits": ASTROQUERY_DATA / "ukidss/tests/data/image.fits",
    "magpis/image.fits": ASTROQUERY_DATA / "magpis/tests/data/image.fits",
    "cfht/query_images.fits": ASTROQUERY_DATA / "cadc/tests/data/query_images.fits",  # a MegaPrime CCD cut-out
}
VO = "{http://www.ivoa.net/xml/VOTable/v1.3}"
ADMIN = "admin-secret"
TOKENS = {"alice-token": {"name": "alice", "groups": []},
          "bob-token": {"name": "bob", "groups": ["keckgrp"]},
          "carol-token": {"name": "carol", "groups": ["other"]}}


def _wcs_header(ra, dec, npix, scale_deg, **extra):
    h = fits.Header()
    h.update(NAXIS=2, NAXIS1=npix, NAXIS2=npix, CTYPE1="RA---TAN", CTYPE2="DEC--TAN", CRVAL1=ra, CRVAL2=dec,
             CRPIX1=(npix + 1) / 2, CRPIX2=(npix + 1) / 2, CDELT1=-scale_deg, CDELT2=scale_deg)
    h.update(extra)
    return h


def make_archive(root: Path) -> None:
    """Copy the real images and write the synthetic ones under ``root``."""
    for rel, src in REAL_FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, root / rel)
    (root / "synth").mkdir()
    recent = Time(Time.now().mjd - 30, format="mjd").isot[:19]
    nirc2 = fits.Header()
    nirc2.update(TELESCOP="Keck II", INSTRUME="NIRC2", RA=150.0, DEC=2.2, OBJECT="COSMOS-F1", DATE_OBS=None)
    nirc2["DATE-OBS"] = recent[:10]
    nirc2["UTC"] = recent[11:]
    nirc2.update(ITIME=60.0, FILTER="Kp", PROGPI="alice", PROGID="keckgrp")
    fits.PrimaryHDU(np.zeros((8, 8), np.float32), header=nirc2).writeto(root / "synth/nirc2_0001.fits")
    cfht = _wcs_header(0.05, 10.0, 200, 0.005, TELESCOP="CFHT 3.6m", INSTRUME="MegaPrime", OBJECT="WRAP",
                       FILTER="r.MP9601", EXPTIME=300.0, PI_NAME="dave", RUNID="10AF01")
    cfht["DATE-OBS"] = "2010-03-01T10:00:00"
    fits.PrimaryHDU(np.zeros((200, 200), np.float32), header=cfht).writeto(root / "synth/cfht_wrap.fits")
    pole = _wcs_header(0.0, 90.0, 100, 0.01, TELESCOP="CFHT 3.6m", INSTRUME="MegaPrime", OBJECT="POLE",
                       FILTER="g.MP9401", EXPTIME=100.0)
    pole["DATE-OBS"] = "2009-01-01T00:00:00"
    fits.PrimaryHDU(np.zeros((100, 100), np.float32), header=pole).writeto(root / "synth/cfht_pole.fits")
    (root / "synth/broken.fits").write_bytes(b"SIMPLE  =   this is not FITS")


def star_table():
    """200 stars in RA 10..12, Dec -1..1 with ids, the cone-search test catalogue (known answers)."""
    from astropy.table import Table

    rng = np.random.default_rng(3)
    n = 200
    t = Table({"source_id": np.arange(1, n + 1), "ra": rng.uniform(10, 12, n), "dec": rng.uniform(-1, 1, n),
               "gmag": rng.uniform(12, 20, n)})
    t["ra"].unit = t["dec"].unit = "deg"
    t["gmag"].unit = "mag"
    return t


def make_registry(tmp: Path) -> Path:
    """A catalogue registry holding ``stars/stars``, ingested through the catalogues' public API."""
    from platform_lib.catalogs import Registry, ingest

    import warnings

    import pandas

    star_table().write(tmp / "stars.fits")
    registry = Registry(tmp / "registry.sqlite")
    with warnings.catch_warnings():
        # hats-import sets a pandas option that pandas 3 deprecates (not ours to fix).
        warnings.filterwarnings("ignore", category=pandas.errors.Pandas4Warning)
        ingest(tmp / "stars.fits", registry, name="stars")
    registry.close()
    return tmp / "registry.sqlite"


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """``(base_url, data_root, index_path)`` of a running archive service."""
    from platform_lib.imageindex import build_index

    tmp = tmp_path_factory.mktemp("archive")
    data = tmp / "images"
    data.mkdir()
    make_archive(data)
    report = build_index(tmp / "index.sqlite", data, workers=1)
    registry = make_registry(tmp)
    assert [s.path for s in report.skipped] == ["synth/broken.fits"]
    (tmp / "tokens.json").write_text(json.dumps(TOKENS))
    args = ["--index", str(tmp / "index.sqlite"), "--data-root", str(data), "--token", ADMIN,
            "--tokens", str(tmp / "tokens.json"), "--registry", str(registry), "--log-level", "WARNING"]
    with running_archive(args, tmp / "archive.log") as base:
        yield base, data, tmp / "index.sqlite"


def query_status(body: bytes) -> tuple[str, str]:
    """The last QUERY_STATUS INFO's value and text: a truncated answer's OVERFLOW follows the table (DALI)."""
    root = ET.fromstring(body)
    found = [info for info in root.iter(VO + "INFO") if info.get("name") == "QUERY_STATUS"]
    if not found:
        raise AssertionError("no QUERY_STATUS INFO in the VOTable")
    return found[-1].get("value"), (found[-1].text or "").strip()


def sia(base, params, token=None):
    headers = {"Authorization": f"token {token}"} if token else {}
    return requests.get(base + "sia/query", params=params, headers=headers, timeout=30)


def obs_ids(resp) -> set[str]:
    from astropy.io.votable import parse_single_table
    import io

    table = parse_single_table(io.BytesIO(resp.content)).to_table()
    return {str(x) for x in table["obs_id"]}


# ---------------------------------------------------------------- SIA v2 with pyvo


def test_pyvo_sia2_finds_real_images_by_position(archive):
    from pyvo.dal import SIA2Service

    base, _, _ = archive
    service = SIA2Service(base + "sia")
    found = service.search(pos=(217.48, -62.68, 0.05), maxrec=100)
    resource = found.votable.resources[0]  # the frames pyvo sees: positions ICRS, times MJD (UTC)
    assert [c.system for c in resource.coordinate_systems] == ["ICRS"]
    assert [(t.timeorigin, t.timescale) for t in resource.time_systems] == [("MJD-origin", "UTC")]
    assert {f.name: f.ref for f in found.fielddescs if f.ref} == {
        "s_ra": "system", "s_dec": "system", "s_region": "system", "t_min": "time_frame", "t_max": "time_frame"}
    result = found.to_table()
    assert set(result["obs_id"]) == {"dss/dss.14.29.56-62.41.05"}
    row = result[0]
    assert row["instrument_name"] == "Photographic plate" and row["dataproduct_type"] == "image"
    assert row["access_url"].endswith("/download/dss/dss.14.29.56-62.41.05")
    first = service.search(pos=(162.53, 30.677, 0.01)).to_table()
    assert list(first["obs_id"]) == ["first/image"]
    hst = service.search(pos=(5.5265, -72.0517, 0.001)).to_table()
    assert "hst/j94f05bgq_flt" in set(hst["obs_id"])


def test_real_cfht_megaprime_image(archive):
    from pyvo.dal import SIA2Service

    base, _, _ = archive
    service = SIA2Service(base + "sia")
    found = service.search(pos=(280.8382, 0.3902, 0.002), collection="CFHT", band=(4.5e-7, 5.0e-7)).to_table()
    assert list(found["obs_id"]) == ["cfht/query_images"]
    row = found[0]
    assert (row["instrument_name"], row["target_name"]) == ("MegaPrime", "SA 110")
    assert abs(row["t_min"] - 53582.4133168) < 1e-6 and abs(row["t_exptime"] - 2.046) < 1e-9
    assert len(service.search(pos=(280.8382, 0.3902, 0.002), band=(6.0e-7, 6.5e-7)).to_table()) == 0  # r band
    methods = requests.get(base + "tap/sync", params={
        "QUERY": "SELECT obs_id FROM ivoa.obscore WHERE obs_id IN ('cfht/query_images', 'sip/sip-wcs', "
                 "'hst/j94f05bgq_flt')"}, timeout=30)
    assert methods.status_code == 200 and obs_ids(methods) == {"cfht/query_images", "sip/sip-wcs",
                                                               "hst/j94f05bgq_flt"}


def test_footprint_methods_in_the_index(archive):
    import sqlite3

    _, _, index = archive
    with sqlite3.connect(index) as conn:
        methods = dict(conn.execute("SELECT obs_id, footprint_method FROM obscore"))
    assert methods["cfht/query_images"] == methods["sip/sip-wcs"] == methods["hst/j94f05bgq_flt"] == "wcs"
    assert methods["synth/nirc2_0001"] == "pointing"


def test_pyvo_sia2_capabilities(archive):
    from pyvo.dal import SIA2Service

    base, _, _ = archive
    service = SIA2Service(base + "sia")
    ids = {c.standardid for c in service.capabilities}
    assert "ivo://ivoa.net/std/SIA#query-2.0" in ids
    assert service.query_ep == base + "sia/query"
    avail = requests.get(base + "sia/availability", timeout=10)
    assert b"<vosi:available>true</vosi:available>" in avail.content


@pytest.mark.parametrize(
    ("pos", "expected"),
    [
        ("CIRCLE 359.8 10 0.3", {"synth/cfht_wrap"}),  # across RA = 0 from the west
        ("CIRCLE 0.4 10.2 0.1", {"synth/cfht_wrap"}),  # from the east
        ("CIRCLE 1.5 10 0.2", set()),  # just outside the 1-degree footprint
        ("RANGE 359 1 9.5 10.5", {"synth/cfht_wrap"}),  # a wrapping range
        ("POLYGON 359.9 9.9 0.2 9.9 0.2 10.1 359.9 10.1", {"synth/cfht_wrap"}),
        ("CIRCLE 45 89.8 0.1", {"synth/cfht_pole"}),
        ("CIRCLE 225 89.7 0.5", {"synth/cfht_pole"}),
        ("RANGE 0 360 89.9 90", {"synth/cfht_pole"}),
        ("POLYGON 0 89 120 89 240 89", {"synth/cfht_pole"}),
        ("CIRCLE 100 89 0.3", set()),
    ],
)
def test_sia_regions_across_ra0_and_pole(archive, pos, expected):
    base, _, _ = archive
    resp = sia(base, {"POS": pos, "COLLECTION": "CFHT"})
    assert resp.status_code == 200
    assert query_status(resp.content)[0] == "OK"
    assert obs_ids(resp) == expected


def test_repeated_parameters_or_and_different_ones_and(archive):
    base, _, _ = archive
    both = sia(base, [("INSTRUMENT", "ACS"), ("INSTRUMENT", "WFCAM")])
    assert obs_ids(both) == {"hst/j94f05bgq_flt", "ukidss/image"}
    none = sia(base, [("INSTRUMENT", "ACS"), ("COLLECTION", "FIRST")])
    assert obs_ids(none) == set()
    two_pos = sia(base, [("POS", "CIRCLE 162.53 30.677 0.01"), ("POS", "CIRCLE 83.633 22.015 0.01")])
    assert obs_ids(two_pos) == {"first/image", "ukidss/image"}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"BAND": "0.2 0.22"}, {"first/image"}),
        ({"BAND": "2.1e-6 +Inf", "COLLECTION": "UKIDSS"}, {"ukidss/image"}),
        ({"BAND": "6.0e-7 6.1e-7", "COLLECTION": "CFHT"}, {"synth/cfht_wrap"}),
        ({"TIME": "55256.4 55256.42"}, {"synth/cfht_wrap"}),
        ({"TIME": "-Inf 49095", "COLLECTION": "FIRST"}, {"first/image"}),
        ({"POL": "I"}, {"first/image"}),
        ({"POL": "Q"}, set()),
        ({"EXPTIME": "299 301"}, {"synth/cfht_wrap"}),
        ({"CALIB": "3"}, {"first/image"}),
        ({"TARGET": "WRAP"}, {"synth/cfht_wrap"}),
        ({"FACILITY": "UKIRT"}, {"ukidss/image"}),
        ({"DPTYPE": "cube"}, set()),
        ({"ID": "ivo://astrohub/archive?ukidss/image"}, {"ukidss/image"}),
        ({"ID": "IVO://astrohub/Archive?UKIDSS/image"}, {"ukidss/image"}),  # an IVOID in any case (SIA 2.0 2.1.10)
        ({"COLLECTION": "ukidss"}, set()),  # the other text parameters: exact, case included (2.1)
        ({"FORMAT": "application/fits", "COLLECTION": "FIRST"}, {"first/image"}),
        ({"FOV": "0.9 1.5"}, {"synth/cfht_wrap", "synth/cfht_pole"}),
        ({"SPATRES": "17 19"}, {"synth/cfht_wrap"}),
        ({"SPECRP": "40 45", "COLLECTION": "FIRST"}, {"first/image"}),
        ({"TIMERES": "0 +Inf"}, set()),
    ],
)
def test_sia_every_parameter(archive, params, expected):
    base, _, _ = archive
    resp = sia(base, params)
    assert resp.status_code == 200, resp.text
    assert obs_ids(resp) == expected


def test_maxrec_overflow_and_metadata_only(archive):
    base, _, _ = archive
    resp = sia(base, {"MAXREC": "2"})
    assert query_status(resp.content)[0] == "OVERFLOW"
    assert len(obs_ids(resp)) == 2
    empty = sia(base, {"MAXREC": "0"})
    assert query_status(empty.content)[0] == "OVERFLOW"
    assert obs_ids(empty) == set()
    huge = sia(base, {"MAXREC": "99999999999999999999"})
    assert huge.status_code == 200 and query_status(huge.content)[0] == "OK"


@pytest.mark.parametrize("fmt", ["csv", "text/csv", "json", "application/json", "ipac", "votable"])
def test_response_formats(archive, fmt):
    from astropy.table import Table
    import io

    base, _, _ = archive
    resp = sia(base, {"COLLECTION": "FIRST", "RESPONSEFORMAT": fmt})
    assert resp.status_code == 200
    if "json" in fmt:
        doc = resp.json()
        names = [c["name"] for c in doc["columns"]]
        assert doc["query_status"] == "OK"
        assert [dict(zip(names, row))["obs_id"] for row in doc["data"]] == ["first/image"]
    else:
        astropy_fmt = {"csv": "ascii.csv", "text/csv": "ascii.csv", "ipac": "ascii.ipac", "votable": "votable"}[fmt]
        table = Table.read(io.BytesIO(resp.content) if fmt == "votable" else resp.text, format=astropy_fmt)
        assert list(table["obs_id"]) == ["first/image"]
        assert abs(float(table["s_ra"][0]) - 162.53) < 0.01


# ---------------------------------------------------------------- DataLink and SODA cutouts


def test_pyvo_follows_datalink_to_the_file_and_soda_cutouts_equal_astropys(archive, tmp_path):
    """SIA answers name a DataLink service (before: none, so ``iter_datalinks()`` yielded nothing and the
    datalink and soda routes were 404); its ``#this`` is the download, its ``#cutout`` a SODA service whose
    circle cutout is astropy's ``Cutout2D`` of the same image, pixel for pixel, with the same WCS."""
    import io
    import warnings

    import astropy.units as u
    from astropy.coordinates import SkyCoord
    from astropy.nddata import Cutout2D
    from astropy.wcs import WCS, FITSFixedWarning
    from pyvo.dal import SIA2Service

    base, data, _ = archive
    found = SIA2Service(base + "sia").search(pos=(162.53, 30.677, 0.01))
    # pyvo's download of a record goes through DataLink's "#this" and its IVOA vocabulary, which the platform
    # ships (platform_lib.offline): offline, with no copy in astropy's cache, it works (before: a
    # VocabularyError naming www.ivoa.net)
    from astropy.config import set_temp_cache
    from astropy.utils.data import conf

    (tmp_path / "astropy-cache").mkdir()
    with set_temp_cache(tmp_path / "astropy-cache"), conf.set_temp("allow_internet", False):
        assert found[0].getdataset().read() == (data / "first/image.fits").read_bytes()
    (links,) = list(found.iter_datalinks())
    # offline: include_narrower=False, else pyvo fetches the IVOA semantics vocabulary
    this = next(links.bysemantics("#this", include_narrower=False))
    assert this.access_url == found[0].access_url and this.content_type == "application/fits"
    assert this["content_length"] == (data / "first/image.fits").stat().st_size
    cut = next(links.bysemantics("#cutout", include_narrower=False))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)  # the FIRST header's DATE-OBS 19930417
        got = fits.open(io.BytesIO(cut.processed(circle=(162.53, 30.677, 0.005)).read()))[0]
        with fits.open(data / "first/image.fits") as hdul:
            ref = Cutout2D(hdul[0].data, SkyCoord(162.53 * u.deg, 30.677 * u.deg), 0.01 * u.deg,
                           wcs=WCS(hdul[0].header).celestial, mode="trim")
        assert got.data.shape == ref.data.shape == (20, 20) and np.array_equal(got.data, ref.data)
        assert WCS(got.header).pixel_to_world(3, 4).separation(ref.wcs.pixel_to_world(3, 4)).arcsec < 1e-6
    soda = base + "soda/sync"
    did = "ivo://astrohub/archive?first/image"
    poly = requests.get(soda, params={"ID": did, "POLYGON": "162.52 30.67 162.54 30.67 162.53 30.685"}, timeout=30)
    assert poly.status_code == 200 and fits.getdata(io.BytesIO(poly.content)).shape == (31, 33)
    wrap = requests.get(soda, params={"ID": "ivo://astrohub/archive?synth/cfht_wrap", "pos": "CIRCLE 359.9 10 0.1"},
                        timeout=30)  # across RA 0, the parameter in any case
    assert wrap.status_code == 200 and fits.getdata(io.BytesIO(wrap.content)).shape == (40, 40)
    scaled = requests.get(soda, params={"ID": "ivo://astrohub/archive?ukidss/image", "CIRCLE": "83.633 22.015 0.002"},
                          timeout=30)  # BZERO/BSCALE integers in an extension: no memory map (was a 503)
    assert scaled.status_code == 200 and fits.getdata(io.BytesIO(scaled.content)).shape == (72, 72)
    nirc2 = "ivo://astrohub/archive?synth/nirc2_0001"
    for params, token, status, text in (
            ({"ID": did, "CIRCLE": "10 10 1"}, None, 400, "does not overlap"),
            ({"ID": did}, None, 400, "give one region"),
            ({"ID": did, "CIRCLE": "1 1"}, None, 400, "CIRCLE='1 1'"),
            ({"ID": nirc2, "CIRCLE": "150 2.2 0.01"}, None, 404, "visible to you"),  # proprietary
            ({"ID": nirc2, "CIRCLE": "150 2.2 0.01"}, "carol-token", 404, "visible to you")):
        resp = requests.get(soda, params=params, timeout=30,
                            headers={"Authorization": f"token {token}"} if token else {})
        assert resp.status_code == status and text in query_status(resp.content)[1], resp.text
    alice = requests.get(soda, params={"ID": nirc2, "CIRCLE": "150 2.2 0.01"}, timeout=30,
                         headers={"Authorization": "token alice-token"})  # hers, but without a WCS
    assert alice.status_code == 400 and "no image with a celestial WCS" in query_status(alice.content)[1]
    # the links document: an error row for what the caller may not see, votlint-clean
    for token, nirc2_links in ((None, []), ("alice-token", ["#this"])):  # no WCS: no #cutout
        doc = requests.get(base + "datalink", params=[("ID", did), ("id", nirc2)], timeout=30,
                           headers={"Authorization": f"token {token}"} if token else {})
        assert doc.headers["Content-Type"] == "application/x-votable+xml;content=datalink"
        rows = parse_single_table(io.BytesIO(doc.content)).to_table()
        ok = [(r["ID"], r["semantics"]) for r in rows if not r["error_message"]]
        assert ok == [(did, "#this"), (did, "#cutout")] + [(nirc2, s) for s in nirc2_links]
        assert [r["ID"] for r in rows if r["error_message"]] == ([] if nirc2_links else [nirc2])
        if not token:  # (errors and SIA answers with their descriptor are linted by the votlint tests)
            _votlint_clean(doc.content, tmp_path)
    # the ID in another case finds the same image (an IVOID, SIA 2.0 2.1.10), its rows under the ID as asked
    doc = requests.get(base + "datalink", params={"ID": did.upper()}, timeout=30)
    rows = parse_single_table(io.BytesIO(doc.content)).to_table()
    assert [(r["ID"], r["semantics"], bool(r["error_message"])) for r in rows] == [
        (did.upper(), "#this", False), (did.upper(), "#cutout", False)], doc.text


# ---------------------------------------------------------------- proprietary periods and download


@pytest.mark.parametrize(
    ("token", "visible"),
    [(None, False), ("alice-token", True), ("bob-token", True), ("carol-token", False), (ADMIN, True)],
)
def test_proprietary_records_only_for_owner_group_or_admin(archive, token, visible):
    base, data, _ = archive
    resp = sia(base, {"POS": "CIRCLE 150 2.2 0.01"}, token=token)
    assert obs_ids(resp) == ({"synth/nirc2_0001"} if visible else set())
    headers = {"Authorization": f"token {token}"} if token else {}
    dl = requests.get(base + "download/synth/nirc2_0001", headers=headers, timeout=30)
    if visible:
        assert dl.status_code == 200
        assert dl.content == (data / "synth/nirc2_0001.fits").read_bytes()
    else:
        assert dl.status_code == 404
        assert query_status(dl.content)[0] == "ERROR"


def test_nirc2_footprint_is_pointing_plus_padded_field(archive):
    base, _, _ = archive
    inside = sia(base, {"POS": "CIRCLE 150.0095 2.2 0.0001"}, token=ADMIN)  # 34 arcsec east: in the pad
    outside = sia(base, {"POS": "CIRCLE 150.02 2.2 0.0001"}, token=ADMIN)
    assert obs_ids(inside) == {"synth/nirc2_0001"} and obs_ids(outside) == set()


def test_public_download_and_bad_token(archive):
    base, data, _ = archive
    dl = requests.get(base + "download/first/image", timeout=30)
    assert dl.status_code == 200 and dl.content == (data / "first/image.fits").read_bytes()
    head = requests.head(base + "download/first/image", timeout=30)  # was 405
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(dl.content)) and not head.content
    assert requests.head(base + "download/nosuch", timeout=30).status_code == 404
    bad = sia(base, {"COLLECTION": "FIRST"}, token="forged")
    assert bad.status_code == 403 and query_status(bad.content)[0] == "ERROR"


def test_a_compressed_fits_file_is_served_as_what_its_bytes_are(archive, tmp_path):
    """The DSS plate is stored as ``.fits.gz``: its download, its ObsCore ``access_format`` and its DataLink
    ``#this`` say gzip (they said ``application/fits``, so pyvo's ``getdataobj()`` handed gzip to
    ``HDUList.fromstring``), with no ``Content-Encoding`` (a browser keeps the ``.gz`` file as it is; requests
    and pyvo would unpack it); astropy's ``download_file`` and pyvo's ``cachedataset`` give files astropy opens.
    A plain file stays ``application/fits``."""
    import io

    from astropy.utils.data import download_file
    from pyvo.dal import SIA2Service

    base, data, _ = archive
    url = base + "download/dss/dss.14.29.56-62.41.05"
    stored = (data / "dss/dss.14.29.56-62.41.05.fits.gz").read_bytes()
    for resp in (requests.get(url, timeout=30), requests.head(url, timeout=30)):
        assert resp.headers["Content-Type"] == "application/gzip" and "Content-Encoding" not in resp.headers
    assert requests.get(url, timeout=30).content == stored
    assert requests.head(base + "download/first/image", timeout=30).headers["Content-Type"] == "application/fits"
    with fits.open(download_file(url, cache=False)) as hdul:  # astropy tells gzip by its bytes
        assert hdul[0].header["NAXIS1"] > 0
    (rec,) = SIA2Service(base + "sia").search(pos=(217.48, -62.68, 0.05))
    assert rec.access_format == "application/gzip"
    saved = rec.make_dataset_filename(dir=tmp_path)
    rec.cachedataset(filename=saved)
    assert Path(saved).read_bytes() == stored
    with fits.open(saved) as hdul:
        assert hdul[0].header["NAXIS1"] > 0
    links = requests.get(base + "datalink", params={"ID": "ivo://astrohub/archive?dss/dss.14.29.56-62.41.05"},
                         timeout=30)
    rows = parse_single_table(io.BytesIO(links.content)).to_table()
    assert [r["content_type"] for r in rows if r["semantics"] == "#this"] == ["application/gzip"]


# ---------------------------------------------------------------- bad input: protocol errors, never 500


@pytest.mark.parametrize(
    "params",
    [
        {"POS": "CIRCLE 10 20"},
        {"POS": "CIRCLE 10 20 1 2"},
        {"POS": "CIRCLE 10 95 1"},
        {"POS": "CIRCLE 10 -90.5 1"},
        {"POS": "CIRCLE 10 20 -1"},
        {"POS": "CIRCLE 400 20 1"},
        {"POS": "CIRCLE ten 20 1"},
        {"POS": "RANGE 1 2 3"},
        {"POS": "RANGE 1 2 30 10"},
        {"POS": "POLYGON 0 0 1 0"},
        {"POS": "POLYGON 0 0 1 1 1 0 0 1"},  # a bow tie: self-intersecting
        {"POS": "POLYGON 0 0 1 0 1 91"},
        {"POS": "BOX 10 10 1 1"},
        {"POS": ""},
        {"TIME": "55000 54000"},
        {"BAND": "5e-7 4e-7"},
        {"BAND": "NaN 1"},
        {"EXPTIME": "1 2 3"},
        {"RESPONSEFORMAT": "application/pdf"},
        {"MAXREC": "-1"},
        {"MAXREC": "ten"},
        {"CALIB": "7"},
        {"POL": "Z"},
        {"DPTYPE": "spectrum"},
    ],
)
def test_bad_input_is_a_usage_fault(archive, params):
    base, _, _ = archive
    resp = sia(base, params)
    assert resp.status_code == 400, resp.text
    assert resp.headers["Content-Type"].startswith("application/x-votable+xml")
    status, text = query_status(resp.content)
    assert status == "ERROR" and text.startswith("UsageFault:"), text
    assert "Traceback" not in resp.text


@pytest.mark.parametrize(
    "value", ["' OR '1'='1", "x'; DROP TABLE obscore; --", "FIRST\" OR 1=1 --", "%' OR obs_id LIKE '%"]
)
def test_sql_injection_is_just_a_string(archive, value):
    base, _, _ = archive
    for name in ("TARGET", "COLLECTION", "INSTRUMENT", "ID", "FACILITY"):
        resp = sia(base, {name: value})
        assert resp.status_code == 200 and obs_ids(resp) == set()
    assert obs_ids(sia(base, {"COLLECTION": "FIRST"})) == {"first/image"}


@pytest.mark.parametrize(
    "path",
    ["download/..%2F..%2Fetc%2Fpasswd", "download/synth/..%2F..%2Findex.sqlite", "download/%2Fetc%2Fpasswd",
     "download/first%2F.%2Fimage", "download/first//image", "download/first%2F..%2Ffirst%2Fimage"],
)
def test_download_path_traversal_refused(archive, path):
    base, _, _ = archive
    resp = requests.get(base + path, timeout=10, headers={"Authorization": f"token {ADMIN}"})
    assert resp.status_code in (400, 404)
    assert query_status(resp.content)[0] == "ERROR"
    assert b"root:" not in resp.content


def test_unknown_route_and_method_are_votable_errors(archive):
    """A wrong method names the methods the route takes (and says them in ``Allow``); a path no route serves
    is the service's 404 naming it, as VOTable, or JSON when asked (before: tornado's HTML "404: Not Found"
    page); the HiPS routes and Aladin Lite's files answer in their plain-text line (before: "405: Method Not
    Allowed", and an HTML page for Aladin Lite)."""
    base, _, _ = archive
    resp = requests.delete(base + "sia/query", timeout=10)
    assert resp.status_code == 405 and query_status(resp.content) == (
        "ERROR", "UsageFault: HTTP method DELETE is not allowed on /sia/query; use GET or POST"), resp.text
    assert resp.headers["Allow"] == "GET, HEAD, POST"  # HEAD goes where GET goes (it was missing: 405)
    for method in ("GET", "POST", "DELETE"):
        resp = requests.request(method, base + "sia/nosuch", timeout=10)
        assert resp.status_code == 404 and resp.headers["Content-Type"].startswith("application/x-votable+xml")
        assert query_status(resp.content) == (
            "ERROR", f"Error: this archive has no endpoint /sia/nosuch; its endpoints are listed at {base}?format=json")
    resp = requests.get(base + "nosuch", params={"FORMAT": "json"}, timeout=10)
    assert resp.status_code == 404 and resp.json()["query_status"] == "ERROR", resp.text
    assert "no endpoint /nosuch" in resp.json()["message"], resp.text
    for path in ("hips/", "aladin-lite/aladin.js"):
        resp = requests.put(base + path, timeout=10)
        assert resp.status_code == 405 and resp.headers["Content-Type"].startswith("text/plain"), resp.text
        assert resp.text == f"405: HTTP method PUT is not allowed on /{path}; use GET\n", resp.text
    resp = requests.get(base + "aladin-lite/nosuch.js", timeout=10)
    assert (resp.status_code, resp.text) == (404, "404: no Aladin Lite file 'nosuch.js'\n"), resp.text


# ---------------------------------------------------------------- Simple Cone Search 1.03


def _expected_stars(ra, dec, sr):
    from astropy.coordinates import SkyCoord
    import astropy.units as u

    t = star_table()
    sep = SkyCoord(t["ra"], t["dec"]).separation(SkyCoord(ra * u.deg, dec * u.deg)).deg
    return set(np.asarray(t["source_id"][sep <= sr]).tolist())


def test_pyvo_scs_cone_search_known_answer(archive):
    from pyvo.dal import SCSService

    base, _, _ = archive
    result = SCSService(base + "scs/stars/stars").search(pos=(11.0, 0.0), radius=0.3)
    table = result.to_table()
    expected = _expected_stars(11.0, 0.0, 0.3)
    assert len(expected) > 5
    assert set(np.asarray(table["source_id"]).tolist()) == {str(s) for s in expected}  # ID_MAIN is text (SCS 1.03)
    assert [f.datatype for f in result.fielddescs if f.ucd == "ID_MAIN"] == ["char"]
    ucds = {f.ucd for f in result.fielddescs}
    assert {"ID_MAIN", "POS_EQ_RA_MAIN", "POS_EQ_DEC_MAIN"} <= ucds
    assert [c.system for c in result.votable.resources[0].coordinate_systems] == ["ICRS"]
    assert {f.name for f in result.fielddescs if f.ref == "system"} == {"ra", "dec"}


def test_scs_metadata_verb_maxrec_and_errors(archive):
    from astropy.io.votable import parse_single_table
    import io

    base, _, _ = archive
    url = base + "scs/stars/stars"
    meta = requests.get(url, params={"RA": 11, "DEC": 0, "SR": 0}, timeout=30)
    table = parse_single_table(io.BytesIO(meta.content))
    assert len(table.array) == 0 and {f.ucd for f in table.fields} >= {"ID_MAIN", "POS_EQ_RA_MAIN"}
    verb1 = parse_single_table(io.BytesIO(requests.get(url, params={"RA": 11, "DEC": 0, "SR": 0.3, "VERB": 1},
                                                       timeout=30).content))
    assert [f.name for f in verb1.fields] == ["source_id", "ra", "dec"]
    capped = requests.get(url, params={"RA": 11, "DEC": 0, "SR": 0.5, "MAXREC": 3}, timeout=30)
    assert query_status(capped.content)[0] == "OVERFLOW"
    assert len(parse_single_table(io.BytesIO(capped.content)).array) == 3
    for params, path in (({"RA": 11, "DEC": 0}, "stars/stars"), ({"RA": 11, "DEC": 95, "SR": 1}, "stars/stars"),
                         ({"RA": 11, "DEC": 0, "SR": 0.1, "VERB": 9}, "stars/stars"),
                         ({"RA": 11, "DEC": 0, "SR": 0.1}, "nosuch/table"),
                         ({"RA": "x' OR 1=1", "DEC": 0, "SR": 0.1}, "stars/stars")):
        resp = requests.get(base + "scs/" + path, params=params, timeout=30)
        assert resp.status_code == 200  # SCS 1.03: errors are VOTables with HTTP 200
        root = ET.fromstring(resp.content)
        errors = [i for i in root.iter(VO + "INFO") if i.get("name") == "Error"]
        assert errors and errors[0].get("value").startswith("UsageFault:")


# ---------------------------------------------------------------- STILTS


def _stilts(*args, timeout=120):
    proc = subprocess.run(["stilts", *args], capture_output=True, text=True, timeout=timeout)
    return proc.stdout + proc.stderr


def test_stilts_sia2_and_cone(archive, tmp_path):
    from astropy.table import Table

    base, _, _ = archive
    out = tmp_path / "sia2.vot"
    log = _stilts("cone", "servicetype=sia2", f"serviceurl={base}sia", "lon=162.53", "lat=30.677", "radius=0.01",
                  f"out={out}", "ofmt=votable")
    assert out.exists(), log
    assert list(Table.read(out, format="votable")["obs_id"]) == ["first/image"], log
    out2 = tmp_path / "cone.vot"
    log = _stilts("cone", "servicetype=cone", f"serviceurl={base}scs/stars/stars?", "lon=11", "lat=0", "radius=0.3",
                  f"out={out2}", "ofmt=votable")
    assert out2.exists(), log
    found = set(np.asarray(Table.read(out2, format="votable")["source_id"]).tolist())
    assert found == {str(s) for s in _expected_stars(11, 0, 0.3)}  # ID_MAIN is text (SCS 1.03)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("sia/query", {"POS": "CIRCLE 162.53 30.677 0.01"}),
        ("sia/query", {"MAXREC": "1"}),
        ("sia/query", {"POS": "CIRCLE 10 95 1"}),
        ("sia/query", {"COLLECTION": "nothing"}),
        ("scs/stars/stars", {"RA": 11, "DEC": 0, "SR": 0.3}),
        ("scs/stars/stars", {"RA": 11, "DEC": 0, "SR": 0}),
        ("scs/stars/stars", {"RA": 11}),
        ("download/nosuch", {}),
    ],
)
def test_votlint_every_votable_response(archive, tmp_path, path, params):
    base, _, _ = archive
    resp = requests.get(base + path, params=params, timeout=30)
    assert resp.headers["Content-Type"].startswith("application/x-votable+xml")
    doc = tmp_path / "doc.vot"
    doc.write_bytes(resp.content)
    report = _stilts("votlint", f"votable={doc}")
    # A null string is an empty TD in VOTable; votlint calls that "questionable", which is all we allow.
    problems = [line for line in report.splitlines() if ("ERROR" in line or "WARNING" in line)
                and "Empty character value is questionable" not in line]
    assert problems == [], report


# ---------------------------------------------------------------- platform_lib.retrieval against the service


def test_retrieval_facade_against_the_archive(archive):
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    from platform_lib import get_settings
    from platform_lib.retrieval import RetrievalError, cone_search, image_search

    base, _, _ = archive
    anonymous = get_settings(archive_url=base, PLATFORM_API_TOKEN="")
    alice = get_settings(archive_url=base, PLATFORM_API_TOKEN="alice-token", user="alice")
    where = SkyCoord(150 * u.deg, 2.2 * u.deg)
    assert len(image_search(where, 36 * u.arcsec, settings=anonymous)) == 0
    mine = image_search(where, 36 * u.arcsec, settings=alice)  # token injected for the platform's host
    assert list(mine["obs_id"]) == ["synth/nirc2_0001"]
    band = image_search(None, None, band=(2.0 * u.micron, 2.1 * u.micron), settings=anonymous)
    assert set(band["obs_id"]) == {"ukidss/image"}
    stars = cone_search(SkyCoord(11 * u.deg, 0 * u.deg), 0.3 * u.deg, catalog="stars/stars", settings=anonymous)
    assert set(np.asarray(stars["source_id"]).tolist()) == {str(s) for s in _expected_stars(11, 0, 0.3)}
    with pytest.raises(RetrievalError) as info:
        image_search(SkyCoord(10 * u.deg, 20 * u.deg), 1 * u.deg, settings=anonymous,
                     RESPONSEFORMAT="application/pdf")
    assert "UsageFault" in info.value.reason and info.value.url.startswith(base)


# ---------------------------------------------------------------- TAP 1.1 (ivoa.obscore, TAP_SCHEMA), sync and async


def test_pyvo_tap_sync_tables_and_spatial(archive):
    from pyvo.dal import TAPService

    base, _, _ = archive
    svc = TAPService(base + "tap")
    assert "ivoa.obscore" in [t.name for t in svc.tables]
    assert "s_region" in [c.name for c in svc.tables["ivoa.obscore"].columns]
    first = svc.run_sync("SELECT obs_id, s_ra AS ra FROM ivoa.obscore WHERE obs_collection = 'FIRST'").to_table()
    assert list(first["obs_id"]) == ["first/image"] and first.colnames == ["obs_id", "ra"]
    near = svc.run_sync("SELECT obs_id FROM ivoa.obscore WHERE "
                        "1 = CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 162.53, 30.677, 0.1))").to_table()
    assert set(near["obs_id"]) == {"first/image"}
    wrap = svc.run_sync("SELECT obs_id FROM ivoa.obscore WHERE INTERSECTS(s_region, CIRCLE('ICRS', 359.8, 10, 0.3)) = 1"
                        " AND obs_collection = 'CFHT'").to_table()
    assert set(wrap["obs_id"]) == {"synth/cfht_wrap"}
    # ObsCore 1.1's query for the images holding a position (in the footprint, not near its centre)
    holding = svc.run_sync("SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT('ICRS', 359.8, 10), s_region) = 1"
                           " AND obs_collection = 'CFHT'").to_table()
    assert set(holding["obs_id"]) == {"synth/cfht_wrap"}
    beside = svc.run_sync("SELECT obs_id FROM ivoa.obscore WHERE 1 = CONTAINS(POINT('ICRS', 0.7, 10), s_region)")
    assert "synth/cfht_wrap" not in set(beside.to_table()["obs_id"])  # 0.15 deg east of its edge
    ordered = svc.run_sync("SELECT TOP 3 obs_id, s_dec FROM ivoa.obscore ORDER BY s_dec DESC").to_table()
    assert list(ordered["obs_id"])[0] == "synth/cfht_pole" and len(ordered) == 3
    like = svc.run_sync("SELECT obs_id FROM ivoa.obscore WHERE obs_id LIKE 'synth/cfht%' "
                        "AND NOT obs_id LIKE '%pole'").to_table()
    assert list(like["obs_id"]) == ["synth/cfht_wrap"]
    schema = svc.run_sync("SELECT column_name FROM TAP_SCHEMA.columns WHERE table_name = 'ivoa.obscore'").to_table()
    assert "obs_id" in set(schema["column_name"]) and len(schema) == len(svc.tables["ivoa.obscore"].columns)
    overflow = svc.run_sync("SELECT obs_id FROM ivoa.obscore", maxrec=2)
    assert len(overflow) == 2 and overflow.query_status == "OVERFLOW"
    top = svc.run_sync("SELECT TOP 2 obs_id FROM ivoa.obscore")
    assert len(top) == 2 and top.query_status == "OK"


def test_tap_query_facade_sync_async_and_proprietary(archive):
    from platform_lib import get_settings
    from platform_lib.retrieval import RetrievalError, TapJob, make_session, tap_query

    base, _, _ = archive
    url = base + "tap"
    adql = "SELECT obs_id FROM ivoa.obscore WHERE instrument_name = 'NIRC2'"
    anonymous = get_settings(archive_url=base, PLATFORM_API_TOKEN="")
    alice = get_settings(archive_url=base, PLATFORM_API_TOKEN="alice-token", user="alice")
    assert len(tap_query(adql, service=url, settings=anonymous)) == 0
    assert list(tap_query(adql, service=url, settings=alice)["obs_id"]) == ["synth/nirc2_0001"]

    job = tap_query(adql, service=url, async_=True, settings=alice)
    assert isinstance(job, TapJob)
    assert job.wait(timeout=60 * u_s(), poll=0.05 * u_s()) == "COMPLETED"
    assert list(job.fetch()["obs_id"]) == ["synth/nirc2_0001"]
    again = TapJob.from_url(job.url, session=make_session(anonymous, token="alice-token"))
    assert again.phase == "COMPLETED"
    with pytest.raises(RetrievalError) as other:  # another user's job does not exist for them
        TapJob.from_url(job.url, session=make_session(anonymous, token="bob-token")).phase
    assert other.value.http_code == 404
    job.delete()
    with pytest.raises(RetrievalError):
        TapJob.from_url(job.url, session=make_session(anonymous, token="alice-token")).phase

    with pytest.raises(RetrievalError) as bad:
        tap_query("SELECT nosuch FROM ivoa.obscore", service=url, settings=anonymous)
    assert bad.value.reason.startswith("UsageFault:") and "nosuch" in bad.value.reason
    bad_job = tap_query("DELETE FROM ivoa.obscore", service=url, async_=True, settings=anonymous)
    assert bad_job.wait(timeout=60 * u_s(), poll=0.05 * u_s()) == "ERROR"  # UWS: 303 to a job, then ERROR
    with pytest.raises(RetrievalError) as bad_async:
        bad_job.fetch()
    assert "UsageFault" in bad_async.value.reason and "SELECT" in bad_async.value.reason


def u_s():
    import astropy.units as u

    return u.s


def test_tap_job_abort_and_uws_documents(archive):
    import pyvo

    from platform_lib.retrieval import RetrievalError, TapJob

    base, _, _ = archive
    svc = pyvo.dal.TAPService(base + "tap")
    pending = svc.submit_job("SELECT obs_id FROM ivoa.obscore")  # created, not run
    assert pending.phase == "PENDING"
    handle = TapJob.from_url(pending.url)
    handle.abort()
    assert handle.phase == "ABORTED"
    with pytest.raises(RetrievalError) as info:
        handle.fetch()
    assert info.value.code == "job-not-completed"
    jobs = requests.get(base + "tap/async", timeout=10)  # anonymous jobs are never listed (issue 22)
    assert jobs.status_code == 200 and pending.job_id not in jobs.text and len(pending.job_id) >= 32
    run = svc.submit_job("SELECT TOP 1 obs_id FROM ivoa.obscore")
    run.run()
    run.wait(timeout=60)  # UWS 1.1 WAIT long poll
    assert run.phase == "COMPLETED" and len(run.fetch_result()) == 1
    for what in ("phase", "parameters", "results", "quote", "executionduration", "destruction", "owner"):
        assert requests.get(f"{run.url}/{what}", timeout=10).status_code == 200, what
    run.delete()
    handle.delete()


def test_tap_errors_are_votables_never_500(archive):
    base, _, _ = archive
    for params in ({"QUERY": "SELECT * FROM secret.table"}, {"QUERY": ""}, {"LANG": "SQL", "QUERY": "SELECT 1"},
                   {"QUERY": "SELECT obs_id FROM ivoa.obscore WHERE obs_id = 'x' UNION SELECT 1 FROM nosuch.t"},
                   {"QUERY": "SELECT obs_id FROM ivoa.obscore; DROP TABLE ivoa.obscore"},
                   {"QUERY": "SELECT * FROM read_csv('/etc/passwd')"},
                   {"QUERY": "SELECT getenv('HOME') FROM ivoa.obscore"},
                   {"QUERY": "SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT(s_ra, s_dec), CIRCLE(1, 95, 1)) = 1"},
                   {"QUERY": "SELECT obs_id FROM ivoa.obscore", "MAXREC": "-3"},
                   {"QUERY": "SELECT obs_id FROM ivoa.obscore", "UPLOAD": "t,http://127.0.0.1:9/nothing.vot"},
                   {"QUERY": "SELECT obs_id FROM ivoa.obscore", "UPLOAD": "t,file:///etc/passwd"}):
        resp = requests.post(base + "tap/sync", data={"REQUEST": "doQuery", **params}, timeout=30)
        assert resp.status_code == 400, (params, resp.text)
        status, text = query_status(resp.content)
        assert status == "ERROR" and text.startswith("UsageFault:"), text
    missing = requests.get(base + "tap/async/nosuchjob", timeout=10)
    assert missing.status_code == 404 and query_status(missing.content)[0] == "ERROR"


def test_stilts_tapquery_sync_and_async(archive, tmp_path):
    from astropy.table import Table

    base, _, _ = archive
    for sync in ("true", "false"):
        out = tmp_path / f"tap-{sync}.vot"
        log = _stilts("tapquery", f"tapurl={base}tap", "adql=SELECT obs_id FROM ivoa.obscore WHERE calib_level = 3",
                      f"sync={sync}", f"out={out}", "ofmt=votable")
        assert out.exists(), log
        assert list(Table.read(out, format="votable")["obs_id"]) == ["first/image"], log


@pytest.mark.parametrize(
    ("params"),
    [
        {"QUERY": "SELECT * FROM ivoa.obscore WHERE obs_collection = 'FIRST'"},
        {"QUERY": "SELECT obs_id FROM ivoa.obscore", "MAXREC": "1"},
        {"QUERY": "SELECT obs_id FROM ivoa.obscore", "MAXREC": "0"},
        {"QUERY": "SELECT * FROM TAP_SCHEMA.tables"},
        {"QUERY": "SELECT nosuch FROM ivoa.obscore"},
    ],
)
def test_votlint_tap_responses(archive, tmp_path, params):
    base, _, _ = archive
    resp = requests.post(base + "tap/sync", data={"REQUEST": "doQuery", "LANG": "ADQL", **params}, timeout=30)
    _votlint_clean(resp.content, tmp_path)


def taplint_problems(report: str) -> list[str]:
    """The errors and failures of a ``stilts taplint`` report, but for two it says of any archive: LOC's (no
    ``ivoa.obsplan``: the archive has no observation plans), and ``E-CAP-KEYX`` for ADQL 2.1's
    ``features-adql-conditional`` (COALESCE, declared as ADQL 2.1 asks) from a STILTS older than that key
    (Debian's 3.4-7; STILTS knows it since)."""
    return [line for line in report.splitlines() if line[:2] in ("E-", "F-") and "-LOC-" not in line
            and not (line.startswith("E-CAP-KEYX") and "TAPRegExt#features-adql-conditional" in line)]


def _votlint_clean(content: bytes, tmp_path) -> None:
    doc = tmp_path / "doc.vot"
    doc.write_bytes(content)
    report = _stilts("votlint", f"votable={doc}")
    problems = [line for line in report.splitlines() if ("ERROR" in line or "WARNING" in line)
                and "Empty character value is questionable" not in line]
    assert problems == [], report


@pytest.mark.parametrize(
    ("path", "params", "token", "status"),
    [
        ("sia/query", {"COLLECTION": "FIRST"}, "forged", 403),  # AuthenticationFault
        ("sia/query", {"MAXREC": "0"}, None, 200),  # metadata only, OVERFLOW
        ("sia/query", {"MAXREC": "999999999"}, None, 200),  # lowered to the service limit: an INFO says so
        ("scs/stars/stars", {"RA": 11, "DEC": 0, "SR": 0.5, "MAXREC": 3}, None, 200),  # OVERFLOW
        ("scs/stars/stars", {"RA": 11, "DEC": 0, "SR": 0.3, "VERB": 1}, None, 200),
        ("download/synth/nirc2_0001", {}, None, 404),  # proprietary: same answer as missing
        ("download/synth/nirc2_0001", {}, "carol-token", 404),
    ],
)
def test_votlint_error_and_edge_responses(archive, tmp_path, path, params, token, status):
    base, _, _ = archive
    headers = {"Authorization": f"token {token}"} if token else {}
    resp = requests.get(base + path, params=params, headers=headers, timeout=30)
    assert resp.status_code == status
    assert resp.headers["Content-Type"].startswith("application/x-votable+xml")
    _votlint_clean(resp.content, tmp_path)
    if params.get("MAXREC") == "999999999":
        assert b'name="MAXREC"' in resp.content


def test_votlint_service_error_document(tmp_path):
    """The 503 document (index unreadable, internal error) is rendered by ``error_votable``: lint it."""
    from astrohub_archive.responses import error_votable

    _votlint_clean(error_votable("Error: image index /x is not readable <&>"), tmp_path)
    _votlint_clean(error_votable("UsageFault: RA=x", legacy_scs=True), tmp_path)


def _astropy_reference(records, access_base, **kw) -> bytes:
    """The SIA answer as astropy writes it (the path the lean writer replaced), minus its comment."""
    import re
    import warnings

    from erfa import ErfaWarning

    from astrohub_archive.responses import obscore_table, render_table

    with warnings.catch_warnings():  # release MJD 0 ("public at once") is before 1960: "dubious year"
        warnings.simplefilter("ignore", ErfaWarning)
        doc = render_table(obscore_table(records, access_base), "votable", **kw)
    return re.sub(rb"<!-- Produced with astropy.*?-->\n", b"", doc, flags=re.S)


def test_lean_votable_writer_matches_astropy_on_awkward_values():
    """Nulls, NaN and infinities, XML metacharacters, NULs, non-ASCII, huge integers, INFO text."""
    from astrohub_archive.responses import obscore_votable
    from platform_lib.imageindex.ingest import COLUMNS

    odd = dict.fromkeys(COLUMNS)
    odd.update(obs_id="a/b c&<>\"'é]]>\x00z", s_ra=1.5, s_dec=-2.25, calib_level=2, release_date=59000.5,
               t_min=59000.123456789012, t_max=float("inf"), t_exptime=-float("inf"), s_fov=float("nan"),
               em_min=5e-7, em_res_power=1e16, target_name="M 31 <x>\ttab\nline ", pol_states="",
               s_xel1=2.0, access_estsize=123456789012, facility_name=5)
    sparse = dict.fromkeys(COLUMNS)
    sparse.update(obs_id="x\x00", s_ra=0.1, s_dec=0.2, t_min=-0.0, em_max=1e300, release_date=1e9)
    infos = [("MAXREC", "100000", "MAXREC above <this> & \"that\" was lowered")]
    for records, kw in (([odd, sparse], {"infos": infos}), ([], {"overflow": True}), ([sparse], {})):
        doc = obscore_votable(records, "http://h:1/p/download/", **kw)
        assert doc == _astropy_reference(records, "http://h:1/p/download/", **kw)
    assert b"<TD>2020-05-31T12:00:00Z</TD>" in obscore_votable([odd], "")  # MJD 59000.5, both paths share it


def test_lean_votable_answer_matches_astropy_for_the_archive(archive):
    """Over HTTP, for every record of the test archive (real FITS headers), as admin and anonymous."""
    from astrohub_archive.datalink import sia_descriptor
    from platform_lib.imageindex import ImageIndex, ImageQuery, Viewer

    base, _, index_path = archive
    index = ImageIndex(index_path)
    try:
        for headers, viewer in (({"Authorization": f"token {ADMIN}"}, Viewer(user="admin", admin=True)),
                                ({}, Viewer())):
            resp = requests.get(base + "sia/query", params={"MAXREC": "3"}, headers=headers, timeout=30)
            records, overflow = index.query(ImageQuery(), viewer, maxrec=3)
            assert overflow and len(records) == 3
            descriptor = sia_descriptor(base).encode()  # the DataLink service descriptor after the results
            assert resp.content.count(descriptor) == 1 and resp.content.endswith(descriptor + b"</VOTABLE>\n")
            assert resp.content.replace(descriptor, b"") == _astropy_reference(records, base + "download/",
                                                                                overflow=True)
    finally:
        index.close()


def test_the_root_is_a_page_for_people_listing_collections_catalogues_and_examples(archive):
    # issue 16: the archive's web page was a JSON list of four URLs
    import html as htmllib
    import re
    import sqlite3

    base, _data, index = archive
    page = requests.get(base, headers={"Accept": "text/html,application/xhtml+xml"}, timeout=30)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    text = page.text
    with sqlite3.connect(index) as conn:
        counts = conn.execute("SELECT obs_collection, COUNT(*) FROM obscore GROUP BY 1").fetchall()
    assert counts
    for name, n in counts:
        assert re.search(rf"<td>{re.escape(htmllib.escape(name))}</td><td class='n'>{n}</td>", text), (name, n)
    assert "<td>stars/stars</td>" in text and "<td class='n'>200</td>" in text
    assert "SELECT TOP 10 obs_id" in text and "cone_search(SkyCoord(" in text
    # the example links answer, with rows
    links = [htmllib.unescape(h) for h in re.findall(r"href='([^']+)'", text)]
    scs = next(link for link in links if "/scs/stars/stars?" in link)
    answer = requests.get(scs, timeout=30)
    assert answer.status_code == 200 and b"<TR>" in answer.content
    sia = next(link for link in links if "/sia/query?" in link)
    assert query_status(requests.get(sia, timeout=30).content)[0] in ("OK", "OVERFLOW")
    assert any(link.endswith("/hips/") for link in links)  # the level-of-detail views (issue 18)
    # a program still gets the JSON list of endpoints
    assert requests.get(base, timeout=30).json()["sia"] == base + "sia"
    assert requests.get(base + "?format=json", headers={"Accept": "text/html"}, timeout=30).json()["tap"] == base + "tap"
