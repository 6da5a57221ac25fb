"""The platform's archive as a VO power user meets it: its answers read by the VO's own validators and clients.

What a walk of the running platform with pyvo and STILTS found (session 17): each test here failed on the code
before it. The archive is the session platform's (``services/archive/`` behind the proxy), read anonymously or
with a user's token as a client would.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).parent))
from test_archive_service import taplint_problems  # noqa: E402

VO = "{http://www.ivoa.net/xml/VOTable/v1.3}"


@pytest.fixture
def archive(platform) -> str:
    """The archive's base URL on the session platform (ends with ``/``)."""
    if not platform.config.archive.enabled:
        pytest.skip("the archive service is not enabled in this platform")
    return f"{platform.url}services/archive/"


def _status(body: bytes) -> tuple[str, str]:
    for info in ET.fromstring(body).iter(VO + "INFO"):
        if info.get("name") == "QUERY_STATUS":
            return info.get("value"), (info.text or "").strip()
    raise AssertionError("no QUERY_STATUS")


@pytest.mark.skipif(shutil.which("stilts") is None, reason="STILTS is installed by make install-test")
def test_datalink_error_rows_pass_stilts_datalinklint(archive):
    """A DataLink row for an ID the archive does not have (or hides) had no ``semantics``: ``stilts datalinklint``
    reported ``E-DRS0 Null semantics entry`` (DataLink: every row has one). It is now a ``#this`` row with the
    ``NotFoundFault``, so pyvo's ``getdataurl()`` raises that message."""
    url = f"{archive}datalink?ID=ivo://astrohub/archive?no/such/image"
    proc = subprocess.run(["stilts", "datalinklint", f"votable={url}"], capture_output=True, text=True, timeout=120)
    report = proc.stdout + proc.stderr
    assert "Totals: Errors: 0; Warnings: 0" in report, report
    rows = ET.fromstring(requests.get(url, timeout=30).content).iter(VO + "TR")
    cells = [[td.text for td in tr.iter(VO + "TD")] for tr in rows]
    assert len(cells) == 1 and cells[0][3].startswith("NotFoundFault:") and cells[0][4] == "#this", cells


def test_tap_refuses_a_format_naming_only_the_formats_tap_offers(archive):
    """An unknown ``RESPONSEFORMAT`` on TAP was refused naming ``ipac`` among the formats to use (SIA's list),
    and ``ipac`` was then refused as "not offered by TAP". Both refusals now name what TAP's capabilities
    declare, and nothing else."""
    from pyvo.io.vosi import parse_capabilities

    caps = parse_capabilities(io.BytesIO(requests.get(f"{archive}tap/capabilities", timeout=30).content))
    (tap,) = [c for c in caps if c.standardid == "ivo://ivoa.net/std/TAP"]
    declared = {of.aliases[0] for of in tap.outputformats}
    assert "ipac" not in declared
    for asked in ("html", "ipac"):
        answer = requests.get(f"{archive}tap/sync", params={"LANG": "ADQL", "QUERY": "SELECT 1",
                                                             "RESPONSEFORMAT": asked}, timeout=30)
        assert answer.status_code == 400
        status, text = _status(answer.content)
        named = set(text.split("use one of ", 1)[1].split(" (or")[0].split(", "))
        assert status == "ERROR" and text.startswith(f"UsageFault: RESPONSEFORMAT='{asked}'"), text
        assert named == declared, text


def test_a_jobs_error_resource_is_empty_while_it_has_no_error(archive):
    """UWS 1.1: a job's ``/error`` is the job's error, if any. A job with none (PENDING, COMPLETED) answered an
    ERROR VOTable ("job ... has no error"), which a client reads as a failure; it is now an empty 200, as DaCHS
    answers. A job that failed still answers its error document."""
    from pyvo.dal import TAPService

    svc = TAPService(f"{archive}tap")
    job = svc.submit_job("SELECT TOP 1 table_name FROM TAP_SCHEMA.tables")
    try:
        pending = requests.get(f"{job.url}/error", timeout=30)
        assert (pending.status_code, pending.content) == (200, b""), pending.text[:300]
        job.run().wait(timeout=120)
        assert job.phase == "COMPLETED"
        done = requests.get(f"{job.url}/error", timeout=30)
        assert (done.status_code, done.content) == (200, b""), done.text[:300]
    finally:
        job.delete()
    failed = svc.submit_job("SELECT no_such_column FROM TAP_SCHEMA.tables")
    try:
        assert failed.phase == "ERROR"
        status, text = _status(requests.get(f"{failed.url}/error", timeout=30).content)
        assert status == "ERROR" and "no_such_column" in text, text
    finally:
        failed.delete()


def test_head_goes_where_get_goes_on_every_archive_route(archive):
    """HTTP: HEAD answers what GET answers, without the body. The VOSI resources, SIA, TAP sync, the job list and
    a job's resources, DataLink, the HiPS list and the home page answered HEAD with 405 (tornado's default for
    a handler without ``head``); each now answers GET's status and headers and no body, a bad request the
    same error status as its GET."""
    tap = f"{archive}tap/"
    routes = [f"{tap}{r}" for r in ("capabilities", "availability", "tables", "tables/TAP_SCHEMA.tables",
                                     "examples", "async")]
    routes += [f"{tap}sync?LANG=ADQL&QUERY=SELECT%20TOP%201%20*%20FROM%20TAP_SCHEMA.tables",
               f"{archive}sia/capabilities", f"{archive}sia/availability", f"{archive}sia/query?MAXREC=1",
               f"{archive}datalink?ID=ivo://astrohub/archive?no/such/image", f"{archive}hips/", archive]
    for url in routes:
        got = requests.get(url, timeout=60)
        head = requests.head(url, timeout=60)
        assert got.status_code == 200, (url, got.status_code, got.text[:300])
        assert head.status_code == got.status_code, (url, head.status_code, head.text[:300])
        assert head.content == b"", url
        assert head.headers["Content-Type"] == got.headers["Content-Type"], url
    job = requests.post(f"{tap}async", data={"LANG": "ADQL", "QUERY": "SELECT 1 AS one FROM TAP_SCHEMA.schemas"},
                        timeout=60)
    url = job.url
    try:
        for what in ("", "/phase", "/parameters", "/results", "/error", "/quote", "/owner", "/executionduration",
                     "/destruction"):
            assert requests.head(url + what, timeout=60).status_code == 200, what
    finally:
        requests.delete(url, timeout=60)
    # a bad request answers HEAD as it answers GET: the same status
    bad = f"{tap}sync?LANG=ADQL&QUERY=SELECT%20nothing%20FROM%20nowhere"
    assert requests.head(bad, timeout=60).status_code == requests.get(bad, timeout=60).status_code == 400


@pytest.mark.skipif(shutil.which("stilts") is None, reason="STILTS is installed by make install-test")
def test_taplint_finds_no_errors_and_every_declared_adql_feature_runs(archive):
    """``/capabilities`` declared LOWER and ILIKE but not UPPER (ADQL 2.1's ``features-adql-string`` has all
    three) and not COALESCE (``features-adql-conditional``), though the service runs both: a client that reads
    the declaration (TOPCAT, taplint) took them to be missing. Every form declared now runs here, and
    ``stilts taplint`` reports no errors or failures (bar what :func:`taplint_problems` says it reports of
    any archive: a STILTS older than ADQL 2.1's ``features-adql-conditional`` says ``E-CAP-KEYX`` for it)."""
    from pyvo.io.vosi import parse_capabilities

    caps = parse_capabilities(io.BytesIO(requests.get(f"{archive}tap/capabilities", timeout=30).content))
    (tap,) = [c for c in caps if c.standardid == "ivo://ivoa.net/std/TAP"]
    (adql,) = [lang for lang in tap.languages if lang.name == "ADQL"]
    declared = {f.type.split("#")[1]: {x.form for x in f} for f in adql.languagefeaturelists}
    assert declared["features-adql-string"] == {"LOWER", "UPPER", "ILIKE"}, declared
    assert declared["features-adql-conditional"] == {"COALESCE"}, declared
    examples = {
        "LOWER": "SELECT TOP 1 LOWER(table_name) AS x FROM TAP_SCHEMA.tables",
        "UPPER": "SELECT TOP 1 UPPER(table_name) AS x FROM TAP_SCHEMA.tables",
        "ILIKE": "SELECT TOP 1 table_name FROM TAP_SCHEMA.tables WHERE table_name ILIKE 'tap_schema.%'",
        "COALESCE": "SELECT TOP 1 COALESCE(description, table_name) AS x FROM TAP_SCHEMA.tables",
        "UNION": "SELECT 1 AS x FROM TAP_SCHEMA.schemas UNION SELECT 2 AS x FROM TAP_SCHEMA.schemas",
        "EXCEPT": "SELECT table_name FROM TAP_SCHEMA.tables EXCEPT SELECT table_name FROM TAP_SCHEMA.columns",
        "INTERSECT": "SELECT table_name FROM TAP_SCHEMA.tables INTERSECT SELECT table_name FROM TAP_SCHEMA.columns",
        "OFFSET": "SELECT table_name FROM TAP_SCHEMA.tables ORDER BY table_name OFFSET 1",
        "CAST": "SELECT TOP 1 CAST(1 AS DOUBLE) AS x FROM TAP_SCHEMA.tables",
        "WITH": "WITH t AS (SELECT table_name FROM TAP_SCHEMA.tables) SELECT TOP 1 * FROM t",
        "IN_UNIT": "SELECT TOP 1 IN_UNIT(s_fov, 'arcsec') AS x FROM ivoa.obscore",
    }
    forms = set().union(*(v for k, v in declared.items() if k.startswith("features-adql-")))
    assert forms == set(examples), forms ^ set(examples)
    for form, query in examples.items():
        answer = requests.get(f"{archive}tap/sync", params={"LANG": "ADQL", "QUERY": query}, timeout=60)
        assert answer.status_code == 200 and _status(answer.content)[0] == "OK", (form, answer.text[:500])
    proc = subprocess.run(["stilts", "taplint", f"tapurl={archive}tap", "report=EF", "maxrepeat=3"],
                          capture_output=True, text=True, timeout=900)
    report = proc.stdout + proc.stderr
    assert "Totals: Errors:" in report, report[-6000:]
    assert taplint_problems(report) == [], report[-6000:]


def test_tap_refuses_a_query_without_from_and_a_url_over_its_limit_with_an_answer(platform, archive):
    """badinput23: ``SELECT 1`` (no FROM, which ADQL's grammar and DaCHS refuse) answered one row; a sync query
    whose URL is over 64 KiB was dropped with no answer ("Connection aborted ... Remote end closed connection
    without response"). Both are now UsageFaults naming the problem; the long URL is sent to the archive's own
    address, as a kernel's ``PLATFORM_ARCHIVE_URL`` names it (a browser's goes through the proxy)."""
    said = requests.get(f"{archive}tap/sync", params={"LANG": "ADQL", "QUERY": "SELECT 1"}, timeout=30)
    status, text = _status(said.content)
    assert said.status_code == 400 and status == "ERROR", (said.status_code, text)
    assert text.startswith("UsageFault: ADQL syntax error: 'SELECT 1' has no FROM clause, which ADQL requires"), text
    direct = f"http://{platform.config.hub.ip}:{platform.config.archive.port}/services/archive/"
    ids = ", ".join(f"'obs{i:06d}'" for i in range(7000))  # 77 KiB of URL once encoded
    long = requests.get(f"{direct}tap/sync", timeout=60,
                        params={"LANG": "ADQL", "QUERY": f"SELECT obs_id FROM ivoa.obscore WHERE obs_id IN ({ids})"})
    status, text = _status(long.content)
    assert long.status_code == 414 and text.startswith("UsageFault: the request's URL is "), (long.status_code, text)
    assert "send the parameters in the body of a POST instead" in text, text
