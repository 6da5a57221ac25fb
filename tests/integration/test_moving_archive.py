"""The archive service's moving-object routes, as a client sees them: a real ``astrohub-archive`` process over
an index of FITS images placed on Ceres' real track; JSON and VOTable answers (read back with astropy's
VOTable parser), and bad input as a ``UsageFault`` naming the problem, never a 5xx."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import requests
from astropy.io import fits
from astropy.io.votable import parse_single_table
from astropy.time import Time

sys.path.insert(0, str(Path(__file__).parent))
from archive_process import running_archive  # noqa: E402

DATES = Time(["2023-03-01T10:00", "2024-02-10T12:00"])
#: An image of Ceres in 2003 (outside the other tests' ranges), in nested folders: an obs_id of 82 characters.
NESTED_DATE = Time("2003-06-01T09:00")
NESTED_ID = "keck/nirc2/2003-06-01/reduced/flat-fielded/ceres_field_0001_sky_subtracted_stacked"


def write_image(root: Path, name: str, ra: float, dec: float, t: Time) -> None:
    h = fits.Header()
    h.update(CTYPE1="RA---TAN", CTYPE2="DEC--TAN", CRVAL1=ra, CRVAL2=dec, CRPIX1=32.5, CRPIX2=32.5,
             CDELT1=-0.05 / 64, CDELT2=0.05 / 64, RADESYS="ICRS", EXPTIME=60.0, TELESCOP="Keck I", INSTRUME="TEST")
    h["DATE-OBS"] = t.isot
    fits.PrimaryHDU(np.zeros((64, 64), np.float32), header=h).writeto(root / f"{name}.fits")


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    from platform_lib.imageindex import build_index
    from platform_lib.moving import default_orbits, ephemeris

    tmp = tmp_path_factory.mktemp("moving-archive")
    data = tmp / "images"
    data.mkdir()
    eph = ephemeris("Ceres", DATES, site="keck", orbits=default_orbits())
    for k, row in enumerate(eph):
        write_image(data, f"ceres{k}", float(row["ra"]), float(row["dec"]), DATES[k])
        write_image(data, f"empty{k}", (float(row["ra"]) + 40) % 360, float(row["dec"]) / 2, DATES[k])
    # an image filed as an observatory files a night's reductions: its obs_id (the path) is longer than 64 characters
    row = ephemeris("Ceres", NESTED_DATE, site="keck", orbits=default_orbits())[0]
    (data / NESTED_ID).parent.mkdir(parents=True)
    write_image(data, NESTED_ID, float(row["ra"]), float(row["dec"]), NESTED_DATE)
    # an image without a time (no DATE-OBS), released by its header so that any client sees it
    h = fits.Header()
    h.update(CTYPE1="RA---TAN", CTYPE2="DEC--TAN", CRVAL1=200.0, CRVAL2=-60.0, CRPIX1=8.5, CRPIX2=8.5,
             CDELT1=-0.01, CDELT2=0.01, EXPTIME=60.0, RELEASE="2000-01-01")
    fits.PrimaryHDU(np.zeros((16, 16), np.float32), header=h).writeto(data / "timeless.fits")
    build_index(tmp / "index.sqlite", data, workers=1)
    args = ["--index", str(tmp / "index.sqlite"), "--data-root", str(data), "--update-every", "0",
            "--log-level", "WARNING"]
    with running_archive(args, tmp / "archive.log") as base:
        yield base


def test_images_of_a_body_as_json_and_votable(service):
    params = {"body": "Ceres", "start": "2005-01-01", "stop": "2025-01-01", "site": "keck", "tolerance": "20"}
    r = requests.get(service + "moving/images", params={**params, "format": "json"}, timeout=60)
    assert r.status_code == 200, r.text
    doc = r.json()
    names = [c["name"] for c in doc["columns"]]
    rows = [dict(zip(names, row)) for row in doc["data"]]
    assert [(row["obs_id"], row["hit"]) for row in rows] == [("ceres0", True), ("ceres1", True)]
    assert doc["meta"]["body"] == "1 Ceres (A801 AA)" and doc["meta"]["candidates"] == 2
    r = requests.get(service + "moving/images", params=params, timeout=60)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/x-votable+xml")
    votable = parse_single_table(io.BytesIO(r.content))  # warnings are errors in this suite
    table = votable.to_table()
    assert list(table["obs_id"]) == ["ceres0", "ceres1"] and str(table["edge_sep"].unit) == "arcsec"
    ucds = {f.name: f.ucd for f in votable.fields}  # were all None
    assert ucds["ra"] == "pos.eq.ra" and ucds["dec"] == "pos.eq.dec" and ucds["t_mid"] == "time.epoch"
    assert ucds["edge_sep"] == "pos.angDistance" and ucds["mag"] == "phot.mag;em.opt.V"
    assert str(table["t_min"].unit) == "d" and "footprint" in table["hit"].description
    # hit is a VOTable boolean (it was a short of 0/1)
    assert {f.name: f.datatype for f in votable.fields}["hit"] == "boolean" and table["hit"].tolist() == [True, True]
    # the same search with Julian dates or MJDs (time_format): the same images
    for fmt, start, stop in (("jd", "2453371.5", "2460676.5"), ("mjd", "53371", "60676")):
        r = requests.get(service + "moving/images", params={**params, "start": start, "stop": stop, "time_format": fmt,
                                                            "format": "json"}, timeout=60)
        assert r.status_code == 200, r.text
        assert [row[names.index("obs_id")] for row in r.json()["data"]] == ["ceres0", "ceres1"], fmt


def test_names_as_typed_and_comets_from_the_comet_file(service):
    params = {"start": "2023-01-01", "stop": "2024-06-01", "format": "json"}
    r = requests.get(service + "moving/images", params={**params, "body": "(1) Ceres"}, timeout=60)
    assert r.status_code == 200 and r.json()["meta"]["body"] == "1 Ceres (A801 AA)"
    r = requests.get(service + "moving/images", params={**params, "body": "Jupiter barycenter"}, timeout=60)
    assert r.status_code == 200 and r.json()["meta"]["body"] == "jupiter"  # was unknown body
    r = requests.get(service + "moving/images", params={**params, "body": "1P/Halley"}, timeout=60)
    assert r.status_code == 200, r.text  # was unknown body: the route read only the asteroids
    assert r.json()["meta"]["body"] == "1P/Halley"
    for name in ("C/1995 O1", "Hale-Bopp"):  # a comet without a number, by designation or name: were unknown bodies
        r = requests.get(service + "moving/images", params={**params, "body": name}, timeout=60)
        assert r.status_code == 200 and r.json()["meta"]["body"] == "C/1995 O1 (Hale-Bopp)", r.text


def test_bodies_in_an_image_and_in_a_cone(service):
    r = requests.get(service + "moving/bodies", params={"obs_id": "ceres1", "site": "keck", "format": "json"},
                     timeout=60)
    assert r.status_code == 200, r.text
    doc = r.json()
    body = [c["name"] for c in doc["columns"]].index("body")
    assert [row[body] for row in doc["data"]] == ["1 Ceres (A801 AA)"]
    r = requests.get(service + "moving/bodies", params={"obs_id": "empty1", "format": "json"}, timeout=60)
    assert r.status_code == 200 and r.json()["data"] == []
    r = requests.get(service + "moving/bodies", params={"ra": "0", "dec": "0", "radius": "5", "time": "60000"},
                     timeout=60)
    assert r.status_code == 200
    parse_single_table(io.BytesIO(r.content))


def test_a_nights_images_in_one_request(service):
    """moving/bodies took one obs_id ("parameter obs_id was given 3 times; give it once"): a night's images were a
    request each. Repeated, they are answered together (bodies_in_images), each image's bodies under its obs_id."""
    ids = ["ceres0", "ceres1", "empty1", "ceres1"]  # a repeat is answered once
    r = requests.get(service + "moving/bodies", params={"obs_id": ids, "site": "keck", "format": "json"}, timeout=120)
    assert r.status_code == 200, r.text
    doc = r.json()
    names = [c["name"] for c in doc["columns"]]
    rows = sorted((row[names.index("obs_id")], row[names.index("body")]) for row in doc["data"])
    assert rows == [("ceres0", "1 Ceres (A801 AA)"), ("ceres1", "1 Ceres (A801 AA)")]
    assert doc["meta"]["images"] == 3
    r = requests.get(service + "moving/bodies", params={"obs_id": ids, "site": "keck"}, timeout=120)
    assert r.status_code == 200, r.text
    assert sorted(parse_single_table(io.BytesIO(r.content)).to_table()["obs_id"]) == ["ceres0", "ceres1"]
    r = requests.get(service + "moving/bodies", params={"obs_id": ["ceres0", "nosuch"]}, timeout=60)
    assert r.status_code == 400 and "image 'nosuch' is not in the index" in r.text
    r = requests.get(service + "moving/bodies", params={"obs_id": [f"x{k}" for k in range(501)]}, timeout=60)
    assert r.status_code == 400 and "more than 500 parameter values in one request" in r.text


def test_an_obs_id_longer_than_64_characters_comes_back_whole(service):
    """The answers' text columns were 64 characters wide: a longer obs_id (the image's path) came back cut, and the
    cut one was 'not in the index' when asked back."""
    params = {"body": "Ceres", "start": "2003-01-01", "stop": "2004-01-01", "site": "keck"}
    r = requests.get(service + "moving/images", params={**params, "format": "json"}, timeout=60)
    assert r.status_code == 200, r.text
    doc = r.json()
    obs_id = [c["name"] for c in doc["columns"]].index("obs_id")
    assert [row[obs_id] for row in doc["data"]] == [NESTED_ID]
    r = requests.get(service + "moving/images", params=params, timeout=60)
    assert r.status_code == 200, r.text
    assert list(parse_single_table(io.BytesIO(r.content)).to_table()["obs_id"]) == [NESTED_ID]
    r = requests.get(service + "moving/bodies", params={"obs_id": NESTED_ID, "site": "keck"}, timeout=60)
    assert r.status_code == 200, r.text
    table = parse_single_table(io.BytesIO(r.content)).to_table()
    assert list(table["obs_id"]) == [NESTED_ID] and list(table["body"]) == ["1 Ceres (A801 AA)"]


def test_bodies_names_a_comet_in_the_field(service):
    """moving/bodies searched only the asteroids: a cone on 67P's predicted place named nothing."""
    from platform_lib.moving import KSTARS_COMETS, ephemeris, read_sbdb_json

    row = ephemeris("67P", DATES[0], orbits=read_sbdb_json(KSTARS_COMETS))[0]
    r = requests.get(service + "moving/bodies", params={"ra": str(row["ra"]), "dec": str(row["dec"]), "radius": "0.05",
                                                        "time": DATES[0].isot, "format": "json"}, timeout=60)
    assert r.status_code == 200, r.text
    doc = r.json()
    body = [c["name"] for c in doc["columns"]].index("body")
    assert "67P/Churyumov-Gerasimenko" in [row[body] for row in doc["data"]]


def test_bodies_names_a_planet_in_the_field(service):
    """moving/bodies named only kstars-data's orbits: a cone on Jupiter's place from Keck named none of DE421's
    bodies. Jupiter is named (row -1, mag null in JSON), as in the VOTable."""
    from platform_lib.moving import ephemeris

    row = ephemeris("Jupiter", DATES[0], site="keck")[0]
    params = {"ra": str(row["ra"]), "dec": str(row["dec"]), "radius": "0.05", "time": DATES[0].isot, "site": "568"}
    r = requests.get(service + "moving/bodies", params={**params, "format": "json"}, timeout=60)
    assert r.status_code == 200, r.text
    doc = r.json()
    names = [c["name"] for c in doc["columns"]]
    found = {row[names.index("body")]: row for row in doc["data"]}
    assert "jupiter" in found, found
    assert found["jupiter"][names.index("row")] == -1 and found["jupiter"][names.index("mag")] is None
    assert found["jupiter"][names.index("inside")] is True
    r = requests.get(service + "moving/bodies", params=params, timeout=60)
    assert "jupiter" in list(parse_single_table(io.BytesIO(r.content)).to_table()["body"])


@pytest.mark.parametrize("route, params, message", [
    ("images", {"body": "Vulcan", "start": "2020-01-01", "stop": "2021-01-01"}, "unknown body 'Vulcan'"),
    ("images", {"body": "Ceres", "start": "1800-01-01", "stop": "1801-01-01"}, "outside the ephemeris"),
    ("images", {"body": "Ceres", "start": "2020-01-01", "stop": "2021-01-01", "tolerance": "0"},
     "tolerance='0' must be a positive number of arcseconds"),  # was "<Quantity 0. arcsec> ... 10 * u.arcsec"
    ("bodies", {"obs_id": "ceres1", "tolerance": "-3"}, "tolerance='-3' must be a positive number of arcseconds"),
    ("images", {"body": "Ceres", "start": "2005", "stop": "2025"}, "start='2005' looks like a year"),  # was 1864
    ("images", {"body": "Nibiru", "start": "2020-01-01", "stop": "2021-01-01"},
     "nor among the 7,098 asteroids and 1,566 comets"),  # was "... pass orbits that contain it"
    ("bodies", {"obs_id": "ceres1", "site": "Atlantis"}, "site='Atlantis' is not an observatory this archive knows"),
    ("images", {"body": "Ceres", "start": "yesterday", "stop": "2021-01-01"}, "start='yesterday' is not a date"),
    # a 503 once, then "times <Time object: scale='utc' format='mjd' value=1e+20> cannot be converted to TDB"
    ("images", {"body": "Ceres", "start": "1e20", "stop": "1e21"}, "start='1e20' cannot be converted to TDB"),
    ("bodies", {"ra": "0", "dec": "0", "radius": "1", "time": "-1e20"}, "time='-1e20' cannot be converted to TDB"),
    # was "time 2100-01-01 00:00:00 UTC ... is outside", not naming the parameter
    ("images", {"body": "Ceres", "start": "2020-01-01", "stop": "2100-01-01"}, "stop 2100-01-01 00:00:00 UTC (JD"),
    ("images", {"body": "Ceres", "start": "2020-01-01"}, "stop is required"),
    ("images", {"body": "Ceres", "start": "2459945.5", "stop": "2460310.5"}, "give 59945.00000, or add time_format=jd"),
    ("images", {"body": "Cerez", "start": "2020-01-01", "stop": "2021-01-01"}, "did you mean '1 Ceres (A801 AA)'"),
    ("images", {"body": "Titan", "start": "2020-01-01", "stop": "2021-01-01"}, "Saturn's moon Titan"),
    # was answered with the asteroid 85 Io's images, the notebook's warning unseen by the client
    ("images", {"body": "Io", "start": "2020-01-01", "stop": "2021-01-01"},
     "body='Io' names the asteroid '85 Io (A865 SA)' and Jupiter's moon Io, which DE421 lacks: give body=85"),
    # was "unknown body 'Earth': not a planet or the Moon (DE421)"
    ("images", {"body": "Earth", "start": "2020-01-01", "stop": "2021-01-01"}, "is the Earth, where the observer stands"),
    # in kstars-data, on a hyperbolic orbit: was 'unknown body ... nor among the comets of Debian's kstars-data'
    ("images", {"body": "C/2017 K2", "start": "2020-01-01", "stop": "2021-01-01"},
     "'C/2017 K2 (PANSTARRS)' was left out of this catalogue when it was read: eccentricity 1.0004"),
    ("images", {"body": "moon", "start": "1900-01-01", "stop": "2050-01-01"}, "search at most ~"),  # was 16 s of work
    ("images", {"body": "Ceres", "start": "2020-01-01", "stop": "2021-01-01", "format": "xls"}, "format"),
    ("bodies", {"obs_id": "nosuch"}, "not in the index"),
    ("bodies", {"obs_id": "timeless"}, "image 'timeless' has no time (t_min is empty)"),
    ("bodies", {"obs_id": ["ceres1", "timeless"]}, "image 'timeless' has no time"),
    ("bodies", {"obs_id": "ceres1", "ra": "10"}, "not both (got obs_id and ra)"),  # ra was ignored
    ("bodies", {"ra": "0", "dec": "95", "radius": "1", "time": "60000"}, "dec=95"),
    ("bodies", {"ra": "0", "dec": "0", "radius": "nan", "time": "60000"}, "radius"),
    ("images", {"body": "Ceres", "start": "2459945.5", "stop": "2460310.5", "time_format": "julian"},
     "time_format='julian' is not one of iso, mjd, jd"),
    ("images", {"body": "Ceres", "start": "2020-01-01", "stop": "2460310.5", "time_format": "jd"},
     "start='2020-01-01' is not a number; time_format=jd takes times as Julian dates"),
    ("bodies", {"ra": "0", "dec": "0", "radius": "1", "time": "60000", "time_format": "iso"},
     "time='60000' is a number, not an ISO 8601 time"),
])
def test_bad_input_is_a_usage_fault(service, route, params, message):
    r = requests.get(service + f"moving/{route}", params=params, timeout=60)
    assert r.status_code == 400, r.text
    assert "UsageFault" in r.text and message in r.text



@pytest.mark.parametrize("method, path, query, message", [
    ("GET", "moving/images", {"body": "Vulcan", "start": "2020-01-01", "stop": "2021-01-01", "format": "json"},
     "unknown body 'Vulcan'"),
    ("GET", "moving/bodies", {"ra": "0", "dec": "95", "radius": "1", "time": "60000", "format": "json"}, "dec=95"),
    ("GET", "moving/bodies", {"obs_id": "nosuch", "FORMAT": "json"}, "not in the index"),
    ("POST", "moving/images", {"format": "json"}, "HTTP method POST is not allowed"),  # tornado's own refusal
    ("GET", "sia/query", {"POS": "CIRCLE 10 95 1", "RESPONSEFORMAT": "application/json"}, "POS"),
    ("GET", "tap/sync", {"REQUEST": "doQuery", "LANG": "ADQL", "RESPONSEFORMAT": "json"}, "QUERY is required"),
    ("POST", "tap/sync", {"LANG": "SQL", "QUERY": "SELECT 1", "FORMAT": "json"}, "LANG='SQL'"),
])
def test_a_client_that_asked_for_json_gets_its_errors_as_json(service, method, path, query, message):
    """Errors of format=json (moving) and RESPONSEFORMAT=json (SIA, TAP sync) requests came back as VOTable;
    the same message now comes as ``{"query_status": "ERROR", "message": ...}`` with the same 4xx status."""
    def send(params):
        if method == "POST" and path.startswith("tap"):
            return requests.post(service + path, data=params, timeout=60)  # a form body, as pyvo sends
        return requests.request(method, service + path, params=params, timeout=60)

    r = send(query)
    assert 400 <= r.status_code < 500, r.text
    assert r.headers["Content-Type"] == "application/json", (r.headers["Content-Type"], r.text)
    doc = r.json()
    assert doc["query_status"] == "ERROR" and message in doc["message"], doc
    assert doc["message"].startswith(("UsageFault: ", "Error: ")), doc
    plain = send({k: v for k, v in query.items() if k.lower() not in ("format", "responseformat")})
    assert plain.status_code == r.status_code and plain.headers["Content-Type"] == "application/x-votable+xml"
    assert b'value="ERROR"' in plain.content and doc["message"].encode() in plain.content.replace(b"&#x27;", b"'")


def test_a_slow_bodies_request_leaves_tap_answering_and_meets_the_time_limit(tmp_path, monkeypatch):
    """moving/bodies runs in the query threads under the per-query time limit (``off_loop``), as TAP does: while
    a bodies request is held in its work, a TAP sync query is answered, and the held request is answered with
    the limit's UsageFault once it runs past it (before, it ran without a limit, in the loop's default pool).
    Then a cone on the same night is placed through the per-day ephemeris cache, with the same bodies as
    placing every orbit."""
    import threading

    from astrohub_archive import moving
    from astrohub_archive.app import ArchiveState, make_app
    from astrohub_archive.engine import Limits
    from platform_lib.imageindex import build_index
    from tornado_thread import serving  # tests/support/, on the path by tests/conftest.py

    (tmp_path / "images").mkdir()
    build_index(tmp_path / "index.sqlite", tmp_path / "images", workers=1)
    state = ArchiveState(tmp_path / "index.sqlite", tmp_path / "images")
    held, release, answers = threading.Event(), threading.Event(), {}
    plan = moving.BodiesInImageHandler.plan

    def slow(self, args, viewer):
        work = plan(self, args, viewer)
        if "hold" not in args:
            return work

        def held_work():
            held.set()
            release.wait(60)
            return work()

        return held_work

    monkeypatch.setattr(moving.BodiesInImageHandler, "plan", slow)
    tap = {"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": "SELECT COUNT(*) AS n FROM TAP_SCHEMA.tables"}
    cone = {"ra": "10", "dec": "5", "radius": "2", "time": "2024-03-01T10:00", "format": "json"}
    with serving(lambda: make_app(state)) as base:
        assert requests.get(f"{base}/tap/sync", params=tap, timeout=60).status_code == 200  # warm
        state.limits = Limits(seconds=4.0)

        def ask() -> None:
            answers["bodies"] = requests.get(f"{base}/moving/bodies", params={**cone, "hold": "1"}, timeout=60)

        asking = threading.Thread(target=ask)
        asking.start()
        try:
            assert held.wait(30), "the bodies request never reached its work"
            during = requests.get(f"{base}/tap/sync", params=tap, timeout=30)
            assert during.status_code == 200, during.text
            assert "bodies" not in answers and not release.is_set()  # answered while bodies still runs
            asking.join(30)
            assert "bodies" in answers, "the held bodies request was not answered at the time limit"
        finally:
            release.set()
            asking.join(60)
        refused = answers["bodies"]
        assert refused.status_code == 400 and "limit of 4 s" in refused.text, refused.text
        state.limits = Limits()

        def bodies(**extra) -> list[str]:
            r = requests.get(f"{base}/moving/bodies", params={**cone, **extra}, timeout=60)
            assert r.status_code == 200, r.text
            doc = r.json()
            return sorted(row[[c["name"] for c in doc["columns"]].index("body")] for row in doc["data"])

        first, again = bodies(), bodies(ra="10.5")
        assert moving._day_caches()._day.cache_info().currsize >= 1
    from astropy.coordinates import SkyCoord
    from astropy.time import Time
    import astropy.units as u

    from platform_lib.moving import bodies_in_image, known_orbits
    from platform_lib.moving.reverse import cone_image

    for ra, got in ((10.0, first), (10.5, again)):
        every = bodies_in_image(cone_image(SkyCoord(ra * u.deg, 5 * u.deg), 2 * u.deg, Time("2024-03-01T10:00")),
                                orbits=known_orbits())
        assert got == sorted(every["body"]) and got, (ra, got)


def test_while_the_sample_data_first_loads_errors_about_it_say_so(tmp_path):
    """first17: right after `astrohub up` the moving-objects tutorial's `moving/bodies?obs_id=sample/m1_dss` answered
    "image 'sample/m1_dss' is not in the index", which read as a defect: the sample data was still loading. While
    its first load runs (its file in the datasets folder, `--sample-data`) such errors now say so; after, as before."""
    import json
    import time

    from platform_lib.sampledata import LOADING

    datasets, data = tmp_path / "datasets", tmp_path / "images"
    datasets.mkdir()
    data.mkdir()
    (datasets / LOADING).write_text(json.dumps({"started": time.time() - 12, "pid": 1}))
    args = ["--index", str(tmp_path / "index.sqlite"), "--data-root", str(data), "--update-every", "0",
            "--registry", str(datasets / "catalogs" / "registry.sqlite"), "--sample-data", str(datasets),
            "--log-level", "WARNING"]
    with running_archive(args, tmp_path / "archive.log") as base:
        for route, params in (("moving/bodies", {"obs_id": "sample/m1_dss", "tolerance": "3600"}),
                              ("scs/I/311/hip2", {"RA": "10", "DEC": "10", "SR": "0.1"})):
            r = requests.get(base + route, params=params, timeout=60)
            assert r.status_code in (200, 400) and "UsageFault" in r.text, r.text  # SCS: an error VOTable, 200
            started = re.search(r"the platform's sample data is still loading \(started (\d+) s ago\)", r.text)
            assert started and int(started.group(1)) >= 12, r.text  # 12 s before (more on a loaded machine)
            assert "s ago); try again in a minute" in r.text, r.text
        (datasets / LOADING).unlink()  # the load ended: the error as before
        r = requests.get(base + "moving/bodies", params={"obs_id": "sample/m1_dss"}, timeout=60)
        assert r.status_code == 400 and "not in the index" in r.text and "still loading" not in r.text, r.text
