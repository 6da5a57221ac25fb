"""TAP of the archive as the platform runs it: behind the hub's proxy, with hub tokens and their scopes.

A user's own token (which carries ``access:services!service=archive`` through the user role) reaches
TAP through the proxy; a token restricted to other scopes is refused with an ``AuthenticationFault``
(issue 22: the archive checks the token's scope, not only who owns it).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import requests

VO = "{http://www.ivoa.net/xml/VOTable/v1.3}"


def _status(body: bytes) -> tuple[str, str]:
    for info in ET.fromstring(body).iter(VO + "INFO"):
        if info.get("name") == "QUERY_STATUS":
            return info.get("value"), (info.text or "").strip()
    raise AssertionError("no QUERY_STATUS")


def _kernel_of_a_new_user(platform, monkeypatch, home, name: str, other: str):
    """``(user, other user, settings)``: two new users, and this process's ``platform_lib`` settings the first
    one's. What the user's server gives the kernel (and so the detached job process): the token, the archive, the
    home (here ``home``)."""
    from platform_lib import get_settings

    if not platform.config.archive.enabled:
        pytest.skip("the archive service is not enabled in this platform")
    user, other = platform.unique(name), platform.unique(other)
    for each in (user, other):
        platform.create_user(each)
    monkeypatch.setenv("PLATFORM_API_TOKEN", platform.user_token(user))
    monkeypatch.setenv("PLATFORM_ARCHIVE_URL", f"{platform.url}services/archive")
    monkeypatch.setenv("PLATFORM_HOME", str(home))
    return user, other, get_settings()


def test_user_tokens_reach_tap_and_other_scopes_are_refused(platform, poll):
    if not platform.config.archive.enabled:
        pytest.skip("the archive service is not enabled in this platform")
    user = platform.unique("tapper")
    platform.create_user(user)
    tap = f"{platform.url}services/archive/tap/sync"
    query = {"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": "SELECT COUNT(*) AS n FROM TAP_SCHEMA.tables"}
    ok = requests.post(tap, data=query, headers={"Authorization": f"token {platform.user_token(user)}"}, timeout=60)
    assert ok.status_code == 200, ok.text[:500]
    assert _status(ok.content)[0] == "OK"
    narrow = platform.api("POST", f"/users/{user}/tokens", json={"note": "no archive", "scopes": [f"read:users:name!user={user}"]})
    narrow.raise_for_status()
    refused = requests.post(tap, data=query, headers={"Authorization": f"token {narrow.json()['token']}"}, timeout=60)
    assert refused.status_code == 403
    status, text = _status(refused.content)
    assert status == "ERROR" and text.startswith("AuthenticationFault:") and "access:services" in text
    # the `astrohub` commands' token (the service astrohub-cli): refused saying whose it is and what to use
    cli = requests.post(tap, data=query, headers={"Authorization": f"token {platform.admin_token}"}, timeout=60)
    status, text = _status(cli.content)
    assert cli.status_code == 403 and "hub service 'astrohub-cli', not of a user" in text, text
    # a token deleted at the hub is refused within the archive's recheck (5 s), not the minute it kept the hub's
    # answer (access25)
    made = platform.api("POST", f"/users/{user}/tokens", json={"note": "revoked soon"})
    made.raise_for_status()
    revoked = {"Authorization": f"token {made.json()['token']}"}
    assert requests.post(tap, data=query, headers=revoked, timeout=60).status_code == 200
    platform.api("DELETE", f"/users/{user}/tokens/{made.json()['id']}").raise_for_status()
    poll(lambda: requests.post(tap, data=query, headers=revoked, timeout=60).status_code == 403, 20,
         "the archive refusing a token deleted at the hub")


def test_async_tap_jobs_are_in_the_users_job_list_with_history_and_results_in_storage(platform, tmp_path,
                                                                                   monkeypatch):
    """Issue 21 item 4: a hub user's async TAP query is a platform job (listed beside a crossmatch job,
    UWS phases in its history), its result written into the user's storage; a bad query's job fails with
    the service's message; the UWS job is another user's 404; a UWS job made by another client is adopted."""
    import numpy as np
    from astropy.table import Table

    from platform_lib import jobs
    from platform_lib.retrieval import TapJob, make_session, tap_query
    from platform_lib.storage import Storage

    user, other, settings = _kernel_of_a_new_user(platform, monkeypatch, tmp_path, "tapjobs", "tapother")
    storage = Storage(settings)
    rng = np.random.default_rng(4)
    mine = Table({"ra": rng.uniform(0, 360, 40), "dec": rng.uniform(-60, 60, 40)})
    storage.write_table(mine, "home:lists/mine.vot")
    storage.write_table(mine, "home:lists/mine.parquet")
    # a storage address, as everywhere else (was taken for a path in the home: "does not exist")
    xmatch = jobs.submit("crossmatch", {"left": "home:lists/mine.parquet", "right": "lists/mine.parquet",
                                        "radius": "1 arcsec"})
    job = tap_query("SELECT COUNT(*) AS n, MAX(dec) AS top FROM TAP_UPLOAD.mine", async_=True,
                    uploads={"mine": "lists/mine.vot"}, save_to="home:results/count.parquet")
    bad = tap_query("SELECT nope FROM TAP_SCHEMA.tables", async_=True, save_to="home:results/bad.parquet")
    assert job.wait(timeout=120) == "succeeded", job.log()
    assert xmatch.wait(timeout=180) == "succeeded", xmatch.log()
    listed = {j.id: j.info()["kind"] for j in jobs.list_jobs()}
    assert listed == {job.id: "tap", bad.id: "tap", xmatch.id: "crossmatch"}
    result = storage.read_table("home:results/count.parquet")
    assert result["n"][0] == 40 and abs(result["top"][0] - mine["dec"].max()) < 1e-9
    assert len(job.result()) == 1
    steps = [h.get("phase") or h["state"] for h in job.history()]
    assert steps[:2] == ["queued", "running"] and steps[-2:] == ["COMPLETED", "succeeded"], steps
    # the UWS phases the job saw, in UWS order (which of QUEUED/EXECUTING a poll catches depends on timing:
    # a fast query may be COMPLETED at the first look)
    uws = [s for s in steps if s.isupper()]
    order = ["PENDING", "QUEUED", "EXECUTING", "COMPLETED"]
    assert uws[-1] == "COMPLETED" and all(order.index(a) < order.index(b) for a, b in zip(uws, uws[1:])), steps
    state = bad.wait(timeout=120)
    assert state == "failed" and "ERROR" in state.error and "nope" in state.error, state.error
    assert not (tmp_path / "results" / "bad.parquet").exists()
    url = job.info()["tap_job"]
    mine_answer = requests.get(url, headers={"Authorization": f"token {platform.user_token(user)}"}, timeout=30)
    theirs = requests.get(url, headers={"Authorization": f"token {platform.user_token(other)}"}, timeout=30)
    assert mine_answer.status_code == 200 and theirs.status_code == 404
    # A job another client made (here plain HTTP, as TOPCAT would; left PENDING) is adopted by its URL.
    made = requests.post(f"{platform.url}services/archive/tap/async", allow_redirects=False, timeout=30,
                         headers={"Authorization": f"token {platform.user_token(user)}"},
                         data={"REQUEST": "doQuery", "LANG": "ADQL",
                               "QUERY": "SELECT COUNT(*) AS n FROM TAP_SCHEMA.tables"})
    assert made.status_code == 303, made.text[:300]
    adopted = TapJob.from_url(made.headers["Location"], session=make_session(settings)).save("results/adopted.parquet")
    assert adopted.wait(timeout=120) == "succeeded", adopted.log()
    assert storage.read_table("home:results/adopted.parquet")["n"][0] > 0
    assert [h.get("phase") for h in adopted.history()][-2] == "COMPLETED"
    assert adopted.id in {j.id for j in jobs.list_jobs()}


def test_tap_jobs_made_by_other_clients_are_in_the_job_list_and_another_users_never(platform, tmp_path, monkeypatch):
    """Issue 21 item 4: UWS jobs the user made with pyvo's own ``submit_job`` (or any client) and never
    handed over are in ``jobs.list_jobs()`` (phases, query, error), can be waited for and saved to the
    home, and leave the list as themselves once followed (no duplicate); another user's job never shows."""
    import pyvo

    from platform_lib import get_settings, jobs, retrieval
    from platform_lib.retrieval import make_session, tap_query
    from platform_lib.storage import Storage

    user, other, settings = _kernel_of_a_new_user(platform, monkeypatch, tmp_path, "uwslist", "uwsother")
    tap = f"{platform.url}services/archive/tap"
    theirs = requests.post(f"{tap}/async", allow_redirects=False, timeout=30,
                           headers={"Authorization": f"token {platform.user_token(other)}"},
                           data={"REQUEST": "doQuery", "LANG": "ADQL", "PHASE": "RUN",
                                 "QUERY": "SELECT COUNT(*) AS n FROM TAP_SCHEMA.tables"})
    assert theirs.status_code == 303, theirs.text[:300]
    their_id = theirs.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    service = pyvo.dal.TAPService(tap, session=make_session(settings))
    query = "SELECT COUNT(*) AS n FROM TAP_SCHEMA.columns"
    made = service.submit_job(query)
    made.run()
    broken = service.submit_job("SELECT nope FROM TAP_SCHEMA.tables")
    plain = tap_query("SELECT TOP 3 table_name FROM TAP_SCHEMA.tables", async_=True)  # a TapJob, no save_to
    listed = {j.id: j for j in jobs.list_jobs()}
    mine_id, broken_id = "tap-" + made.job_id, "tap-" + broken.job_id
    plain_id = "tap-" + plain.url.rstrip("/").rsplit("/", 1)[-1]
    assert {mine_id, broken_id, plain_id} <= set(listed) and "tap-" + their_id not in listed, sorted(listed)
    assert len(listed) == 3, sorted(listed)
    entry = listed[mine_id]
    assert isinstance(entry, retrieval.ArchiveTapJob) and entry.info()["query"] == query
    assert entry.wait(timeout=60) == "succeeded"
    assert [h["phase"] for h in entry.history()] == ["PENDING", "EXECUTING", "COMPLETED"]
    assert broken_id in {j.id for j in jobs.list_jobs()}
    state = jobs.get_job(broken_id).wait(timeout=60)
    assert state == "failed" and "nope" in state.error, state.error
    # Saved to the home from the archive, and the same result as pyvo reads.
    assert jobs.get_job(mine_id).save("home:results/columns.parquet") == "home:results/columns.parquet"
    saved = Storage(settings).read_table("home:results/columns.parquet")
    made.wait(timeout=60)  # pyvo refreshes its own copy of the job
    assert saved["n"][0] == made.fetch_result().to_table()["n"][0] > 0
    with pytest.raises(jobs.UnknownJobError):
        jobs.get_job("tap-" + their_id)
    # Handed over: the platform job that follows it stands for it in the list (no duplicate).
    followed = listed[plain_id].follow("home:results/plain.parquet")
    assert followed.wait(timeout=120) == "succeeded", followed.log()
    ids = [j.id for j in jobs.list_jobs()]
    assert followed.id in ids and plain_id not in ids and len(ids) == 3, ids
    assert len(Storage(settings).read_table("home:results/plain.parquet")) == 3
    # The archive unreachable: a warning, and the home's jobs still listed.
    down = get_settings(archive_url="http://127.0.0.1:9/services/archive")
    with pytest.warns(retrieval.ArchiveJobsWarning, match="not in this list"):
        assert [j.id for j in jobs.list_jobs(settings=down)] == [followed.id]


def test_the_services_own_examples_run_as_they_are_on_the_sample_catalogues(platform, poll):
    """pyvo's ``TAPService.examples``, run as a user would, on the sample data: none is cut at the default MAXREC
    (the count by sky cell returned 1000 of Hipparcos' 40,000 cells with an overflow warning, an error here).
    OpenNGC's NULL text values (no Messier number) are masked in ``tap_query``'s table (they were ``""``). Then
    the sample images through SIA, DataLink and SODA (:func:`_sia_datalinks_and_a_cutout`)."""
    from pyvo.dal import TAPService

    from platform_lib.retrieval import make_session, tap_query
    from platform_lib.sampledata import MARKER

    if not platform.config.archive.enabled:
        pytest.skip("the archive service is not enabled in this platform")
    poll((platform.data_dir / "datasets" / MARKER).exists, 300, "the sample data load")
    user = platform.unique("examples")
    platform.create_user(user)
    session = make_session(token=platform.user_token(user))
    session.trusted_hosts = (platform.url.split("/")[2],)
    service = TAPService(f"{platform.url}services/archive/tap", session=session)
    poll(lambda: "I_311.hip2" in [t.name for t in service.tables], 60, "Hipparcos among the TAP tables")
    examples = {example["QUERY"]: example for example in service.examples if "TAP_UPLOAD" not in example["QUERY"]}
    assert any("I_311.hip2" in query for query in examples), list(examples)
    for query, example in examples.items():
        result = example.execute()  # DALOverflowWarning is an error (filterwarnings)
        assert len(result) > 0, query
    ngc = tap_query("SELECT name, messier, common_names FROM OpenNGC.objects WHERE name IN ('NGC0221', 'NGC0224', "
                    "'NGC0225') ORDER BY name", service=service.baseurl, session=session)
    assert list(ngc["name"]) == ["NGC0221", "NGC0224", "NGC0225"]
    assert ngc["messier"].filled("-").tolist() == ["032", "031", "-"]
    assert ngc["common_names"].filled("-").tolist() == ["-", "Andromeda Galaxy", "-"]
    # ADQL as astronomers write it (ADQL 2.1: WITH, IN_UNIT; a circle in GALACTIC; a circle against a box), sync
    # and async as pyvo runs them, the same rows both ways; the galactic circle converted by astropy finds the same
    # stars as the ICRS one; MAXREC below TOP is an overflow, MAXREC equal to TOP is not.
    from astropy.coordinates import SkyCoord

    icrs = SkyCoord(166.57, -23.52, unit="deg", frame="galactic").icrs
    adql = ("WITH cluster AS (SELECT HIP, ra, dec, parallax, Hpmag FROM I_311.hip2 WHERE 1 = CONTAINS(POINT('ICRS', "
            "ra, dec), {})) SELECT TOP 50 HIP, IN_UNIT(parallax, 'arcsec') AS plx, INTERSECTS(CIRCLE('ICRS', ra, dec, "
            "0.1), BOX('ICRS', 56.75, 24.12, 1, 1)) AS core FROM cluster ORDER BY Hpmag, HIP")
    sync = service.run_sync(adql.format("CIRCLE('GALACTIC', 166.57, -23.52, 1)")).to_table()
    job = service.run_async(adql.format("CIRCLE('GALACTIC', 166.57, -23.52, 1)")).to_table()
    plain = service.run_sync(adql.format(f"CIRCLE('ICRS', {float(icrs.ra.deg)!r}, {float(icrs.dec.deg)!r}, 1)")).to_table()
    assert 10 < len(sync) < 50 and str(sync["plx"].unit) == "arcsec" and 0 < sync["core"].sum() < len(sync)
    for other in (job, plain):
        assert [list(other[c]) for c in other.colnames] == [list(sync[c]) for c in sync.colnames]
    for top, status in ((50, "OVERFLOW"), (5, "OK")):
        cut = service.run_sync(f"SELECT TOP {top} HIP FROM I_311.hip2", maxrec=5)
        assert (len(cut), cut.status[0].upper()) == (5, status), top
    # a beginner's first table names: the catalogue dictionary's I/311/hip2 (a syntax error: a division) and the
    # survey's name; each error names the table to write (before: a bare syntax error, "unknown table 'hipparcos'")
    from pyvo.dal import DALQueryError

    for wrong, hint in (("SELECT TOP 1 * FROM I/311/hip2", "'I/311/hip2' is the catalogue dictionary's name; in "
                         "ADQL write I_311.hip2"), ("SELECT TOP 1 * FROM hipparcos", "described as 'hipparcos': "
                                                    "I_311.hip2")):
        with pytest.raises(DALQueryError) as refused:
            service.run_sync(wrong)
        assert hint in str(refused.value), (wrong, str(refused.value))
    _sia_datalinks_and_a_cutout(platform, session)


def _sia_datalinks_and_a_cutout(platform, session):
    """The same user's journey through SIA v2 to DataLink and SODA, behind the proxy: the sample images found,
    their links followed (``#this`` is the SIA ``access_url``), and a cutout of each image with a WCS equal to
    astropy's ``Cutout2D`` of the downloaded file (before: no DataLink, ``iter_datalinks()`` yielded nothing)."""
    import io
    import warnings

    import astropy.units as u
    import numpy as np
    from astropy.coordinates import SkyCoord
    from astropy.io import fits
    from astropy.nddata import Cutout2D
    from astropy.wcs import WCS, FITSFixedWarning
    from pyvo.dal import SIA2Service

    found = SIA2Service(f"{platform.url}services/archive/sia", session=session).search(maxrec=1000)
    rows = {row["obs_publisher_did"]: row for row in found}
    cut = 0
    for links in found.iter_datalinks():
        this = next(links.bysemantics("#this", include_narrower=False))
        row = rows[this["ID"]]
        if not str(row["obs_id"]).startswith("sample/"):
            continue
        assert this.access_url == row.access_url and this.access_url.startswith(platform.url)
        cutouts = list(links.bysemantics("#cutout", include_narrower=False))
        if not cutouts:
            continue
        ra, dec, r = float(row["s_ra"]), float(row["s_dec"]), float(row["s_fov"]) / 8
        got = fits.open(io.BytesIO(cutouts[0].processed(circle=(ra, dec, r)).read()))[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)  # the sample headers' own (DATE-OBS forms, ...)
            with fits.open(io.BytesIO(session.get(this.access_url, timeout=60).content)) as hdul:
                hdu = next(h for h in hdul if h.is_image and h.data is not None and h.data.ndim == 2
                           and WCS(h.header, hdul).has_celestial)
                ref = Cutout2D(hdu.data, SkyCoord(ra * u.deg, dec * u.deg), 2 * r * u.deg,
                               wcs=WCS(hdu.header, hdul).celestial, mode="trim")
        assert np.array_equal(got.data, ref.data, equal_nan=True), row["obs_id"]
        cut += 1
    assert cut >= 6, (sorted(str(r["obs_id"]) for r in rows.values()), cut)


def test_a_users_journey_through_the_declared_functions_seeded_rand_and_area_of_s_region(platform, poll):
    """On the running platform, as a user with pyvo behind the proxy: /capabilities declares the functions beyond
    ADQL (features-udf) and one of them answers; an undeclared name (NVL) is a 400 naming the declared one to call
    (it ran, undeclared); RAND(seed) gives the same value in two queries (it ignored its seed); AREA(s_region) is each
    image's footprint area (it was refused)."""
    import pyvo

    from platform_lib.sampledata import MARKER

    if not platform.config.archive.enabled:
        pytest.skip("the archive service is not enabled in this platform")
    poll((platform.data_dir / "datasets" / MARKER).exists, 300, "the sample data load")  # the sample images
    user = platform.unique("funcs")
    platform.create_user(user)
    session = requests.Session()
    session.headers["Authorization"] = f"token {platform.user_token(user)}"
    svc = pyvo.dal.TAPService(f"{platform.url}services/archive/tap", session=session)
    (tap_cap,) = [c for c in svc.capabilities if c.standardid == "ivo://ivoa.net/std/TAP"]
    forms = {f.form.split("(")[0] for feats in tap_cap.languages[0].languagefeaturelists
             if feats.type == "ivo://ivoa.net/std/TAPRegExt#features-udf" for f in feats}
    assert {"greatest", "stddev", "count_if", "ivo_hasword"} <= forms, sorted(forms)
    assert svc.run_sync("SELECT GREATEST(2, 5) AS g FROM TAP_SCHEMA.schemas").to_table()["g"][0] == 5
    with pytest.raises(pyvo.DALQueryError, match=r"function NVL is not declared by this service; call COALESCE"):
        svc.run_sync("SELECT NVL(schema_name, 'x') AS n FROM TAP_SCHEMA.schemas")
    q = "SELECT TOP 1 RAND(42) AS r FROM TAP_SCHEMA.schemas"
    assert svc.run_sync(q).to_table()["r"][0] == svc.run_sync(q).to_table()["r"][0]
    areas = svc.run_sync("SELECT TOP 5 s_region, AREA(s_region) AS a FROM ivoa.obscore").to_table()
    assert len(areas) > 0 and all(a > 0 for a in areas["a"]), areas
    # tap24: footprints wholly inside a circle, and overlapping an uploaded footprint (both were refused): one
    # image's outline against a circle about its centre just wider and just narrower than its farthest corner
    # (astropy's separations), and its own s_region uploaded, as a user holding another archive's answer would
    from astropy.coordinates import SkyCoord
    from astropy.table import Table

    row = svc.run_sync("SELECT TOP 1 obs_id, s_ra, s_dec, s_region FROM ivoa.obscore WHERE s_region LIKE 'Polygon%' "
                       "ORDER BY obs_id").to_table()[0]
    numbers = [float(x) for x in str(row["s_region"]).split()[2:]]
    far = SkyCoord(row["s_ra"], row["s_dec"], unit="deg").separation(
        SkyCoord(numbers[0::2], numbers[1::2], unit="deg")).deg.max()
    for scale, inside in ((1.01, True), (0.99, False)):
        found = svc.run_sync(f"SELECT obs_id FROM ivoa.obscore WHERE 1 = CONTAINS(s_region, CIRCLE({row['s_ra']}, "
                             f"{row['s_dec']}, {far * scale}))").to_table()
        assert (row["obs_id"] in list(found["obs_id"])) == inside, (scale, list(found["obs_id"]))
    mine = Table({"id": [1], "s_region": [str(row["s_region"])]})
    met = svc.run_sync("SELECT o.obs_id FROM ivoa.obscore AS o JOIN TAP_UPLOAD.mine AS m "
                       "ON 1 = INTERSECTS(o.s_region, m.s_region)", uploads={"mine": mine}).to_table()
    assert row["obs_id"] in list(met["obs_id"])


def test_observatories_uploaded_with_pyvo_keep_their_names_and_generated_names_read_back_unquoted(platform):
    """tapnames26, as a user with pyvo behind the proxy: a catalogue of observatories with non-ASCII names (an en
    dash, Chinese) uploaded comes back as sent, both text columns ``unicodeChar`` as the upload declared them (the
    ASCII one came back ``char``); an unnamed ``COUNT(*)`` and ``MAX(elevation)`` are ``count_all`` and
    ``max_elevation`` (they were ``count`` and ``max``, ADQL reserved words), which read back as they are from that
    answer uploaded again."""
    import pyvo
    from astropy.table import Table

    if not platform.config.archive.enabled:
        pytest.skip("the archive service is not enabled in this platform")
    user = platform.unique("observer")
    platform.create_user(user)
    session = requests.Session()
    session.headers["Authorization"] = f"token {platform.user_token(user)}"
    svc = pyvo.dal.TAPService(f"{platform.url}services/archive/tap", session=session)
    names = ["Observatorio del Roque de los Muchachos", "Paranal–Cerro Armazones", "兴隆观测站", "Kitt Peak"]
    obs = Table({"id": [1, 2, 3, 4], "name": names, "code": ["ORM", "ESO", "XL", "KPNO"],
                 "elevation": [2396.0, 2635.0, 960.0, 2096.0]})
    back = svc.run_sync("SELECT * FROM TAP_UPLOAD.obs ORDER BY id", uploads={"obs": obs})
    assert {f.name: f.datatype for f in back.fielddescs if f.name in ("name", "code")} == {
        "name": "unicodeChar", "code": "unicodeChar"}
    table = back.to_table()
    assert list(table["name"]) == names and list(table["code"]) == ["ORM", "ESO", "XL", "KPNO"]
    found = svc.run_sync("SELECT id FROM TAP_UPLOAD.obs WHERE name = '兴隆观测站' OR name LIKE 'Paranal–%' ORDER BY id",
                         uploads={"obs": obs}).to_table()
    assert list(found["id"]) == [2, 3]
    counted = svc.run_sync("SELECT COUNT(*), MAX(elevation) FROM TAP_UPLOAD.obs WHERE code <> 'KPNO'",
                           uploads={"obs": obs}).to_table()
    assert counted.colnames == ["count_all", "max_elevation"]
    again = svc.run_sync("SELECT p.count_all, p.max_elevation FROM TAP_UPLOAD.prev AS p",
                         uploads={"prev": counted}).to_table()
    assert (int(again["count_all"][0]), float(again["max_elevation"][0])) == (3, 2635.0)
