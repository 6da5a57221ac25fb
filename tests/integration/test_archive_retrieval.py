"""``platform_lib.retrieval`` against small real HTTP services on free ports: the registry and failures.

``find_services`` runs against a RegTAP-shaped TAP service made here: the RegTAP 1.1 tables
(``rr.resource``, ``rr.capability``, ``rr.interface``, ``rr.res_subject``) in SQLite, with the
RegTAP user-defined functions (``ivo_hasword``, ``ivo_string_agg``) registered, executing the ADQL
that pyvo sends (ADQL ``ILIKE`` is SQLite's case-insensitive ``LIKE``). So the query pyvo builds
is really run, and a wrong query finds the wrong services. The public registries cannot be
reached from here.

The failure tests use one tiny recording HTTP server each: a hung service (timeout), a service
answering 503 a given number of times (retries), a closed port (unreachable) and two hosts, one of
them the platform's, to check the token goes only to the platform.
"""

from __future__ import annotations

import http.server
import io
import re
import sqlite3
import threading
from urllib.parse import parse_qs, urlparse

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import Table

from platform_lib import get_settings
from platform_lib.local.ports import free_ports
from platform_lib.retrieval import RetrievalError, cone_search, find_services, image_search, make_session

SEP = ":::py VO sep:::"


class Server:
    """A threaded HTTP server on a free port; ``handle(request) -> (status, content_type, body)``.

    Every request is recorded as ``(method, path, query dict, headers dict)``.
    """

    def __init__(self, handle):
        self.requests: list[tuple[str, str, dict, dict]] = []
        self.release = threading.Event()  # set at close: frees handlers that wait on it
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _serve(self):
                parsed = urlparse(self.path)
                body = b""
                if self.command == "POST":
                    body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                params = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
                params.update({k: v[-1] for k, v in parse_qs(body.decode()).items()})
                outer.requests.append((self.command, parsed.path, params, dict(self.headers)))
                status, ctype, payload = handle(self.command, parsed.path, params, outer)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _serve

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    servers = []

    def start(handle):
        s = Server(handle)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.close()


def votable(table: Table, status: str = "OK") -> bytes:
    from astropy.io.votable import from_table
    from astropy.io.votable.tree import Info

    vot = from_table(table)
    vot.resources[0].type = "results"
    vot.resources[0].infos.append(Info(name="QUERY_STATUS", value=status))
    buf = io.BytesIO()
    vot.to_xml(buf)
    return buf.getvalue()


# ---------------------------------------------------------------- a RegTAP-shaped TAP service

RESOURCES = [
    # ivoid, title, description, subjects, [(standard_id, access_url)]
    ("ivo://astrohub/archive/sia", "astrohub image archive", "SIA v2 over the platform's FITS images",
     ["images"], [("ivo://ivoa.net/std/SIA#query-2.0", "http://archive.example/sia/query")]),
    ("ivo://astrohub/archive/stars", "astrohub stars", "Cone search over the stars test catalogue",
     ["stars"], [("ivo://ivoa.net/std/ConeSearch", "http://archive.example/scs/stars/stars?")]),
    ("ivo://example/gaia/tap", "Gaia DR3 TAP", "The Gaia DR3 source catalogue over TAP",
     ["gaia", "astrometry"], [("ivo://ivoa.net/std/TAP", "http://gaia.example/tap"),
                              ("ivo://ivoa.net/std/VOSI#capabilities", "http://gaia.example/tap/capabilities")]),
    ("ivo://example/gaia/images", "Gaia sky images", "Gaia survey images over SIA v2",
     ["gaia"], [("ivo://ivoa.net/std/SIA#query-2.0", "http://gaia.example/sia2/query"),
                ("ivo://ivoa.net/std/TAP", "http://gaia.example/tap2")]),
]


def regtap_db() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", check_same_thread=False)
    conn.execute("ATTACH DATABASE ':memory:' AS rr")
    cols = ("ivoid, res_type, short_name, res_title, content_level, res_description, reference_url, creator_seq, "
            "created, updated, rights, content_type, source_format, source_value, region_of_regard, waveband")
    conn.execute(f"CREATE TABLE rr.resource ({cols})")
    conn.execute("CREATE TABLE rr.capability (ivoid, cap_index, cap_type, cap_description, standard_id)")
    conn.execute("CREATE TABLE rr.interface (ivoid, cap_index, intf_index, intf_type, intf_role, std_version, "
                 "query_type, result_type, wsdl_url, url_use, access_url, mirror_url, authenticated_only)")
    conn.execute("CREATE TABLE rr.res_subject (ivoid, res_subject)")
    for ivoid, title, desc, subjects, caps in RESOURCES:
        conn.execute("INSERT INTO rr.resource (ivoid, res_type, short_name, res_title, res_description) "
                     "VALUES (?, 'vs:catalogservice', ?, ?, ?)", (ivoid, title[:16], title, desc))
        for s in subjects:
            conn.execute("INSERT INTO rr.res_subject VALUES (?, ?)", (ivoid, s))
        for i, (std, url) in enumerate(caps, 1):
            conn.execute("INSERT INTO rr.capability VALUES (?, ?, NULL, NULL, ?)", (ivoid, i, std.lower()))
            conn.execute("INSERT INTO rr.interface (ivoid, cap_index, intf_index, intf_type, intf_role, access_url) "
                         "VALUES (?, ?, 1, 'vs:paramhttp', 'std', ?)", (ivoid, i, url))

    def hasword(text, word):  # RegTAP 1.1 section 8: every word of the pattern occurs, case-folded
        words = set(re.findall(r"\w+", (text or "").lower()))
        return int(all(w in words for w in re.findall(r"\w+", (word or "").lower())))

    class Agg:
        def __init__(self):
            self.items = []

        def step(self, value, sep):
            self.sep = sep
            self.items.append(value)

        def finalize(self):
            return self.sep.join(self.items) if self.items else None

    conn.create_function("ivo_hasword", 2, hasword)
    conn.create_aggregate("ivo_string_agg", 2, Agg)
    return conn


def tap_capabilities(union: bool) -> bytes:
    feature = ('<languageFeatures type="ivo://ivoa.net/std/TAPRegExt#features-adql-sets">'
               "<feature><form>UNION</form></feature></languageFeatures>") if union else ""
    return (
        '<?xml version="1.0"?>\n<vosi:capabilities xmlns:vosi="http://www.ivoa.net/xml/VOSICapabilities/v1.0" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:tr="http://www.ivoa.net/xml/TAPRegExt/v1.0" '
        'xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1">'
        '<capability standardID="ivo://ivoa.net/std/TAP" xsi:type="tr:TableAccess">'
        '<interface xsi:type="vs:ParamHTTP" role="std"><accessURL use="base">http://unused/</accessURL></interface>'
        f"<language><name>ADQL</name><version ivo-id=\"ivo://ivoa.net/std/ADQL#v2.0\">2.0</version>{feature}"
        "</language><outputFormat><mime>application/x-votable+xml</mime></outputFormat>"
        "</capability></vosi:capabilities>"
    ).encode()


def regtap_service(union: bool):
    conn = regtap_db()
    lock = threading.Lock()

    def handle(method, path, params, server):
        if path.endswith("/capabilities"):
            return 200, "text/xml", tap_capabilities(union)
        if path.endswith("/sync"):
            adql = params["QUERY"]
            sql = re.sub(r"\bILIKE\b", "LIKE", adql)
            with lock:
                cur = conn.execute(sql)
                names = [d[0] for d in cur.description]
                rows = [["" if v is None else str(v) for v in row] for row in cur.fetchall()]
            cols = list(zip(*rows)) if rows else [[] for _ in names]
            return 200, "application/x-votable+xml", votable(Table([np.array(c, dtype=str) for c in cols],
                                                                   names=names))
        return 404, "text/plain", b"no such endpoint"

    return handle


@pytest.mark.parametrize("union", [True, False], ids=["union-plan", "or-plan"])
def test_find_services_runs_pyvo_regtap_query_on_our_session(serve, union):
    registry = serve(regtap_service(union))
    settings = get_settings(archive_url="http://archive.example/", PLATFORM_API_TOKEN="secret")
    found = find_services("gaia", servicetype="sia2", registry_url=registry.url, settings=settings)
    assert list(found["ivoid"]) == ["ivo://example/gaia/images"]
    assert list(found["access_url"]) == ["http://gaia.example/sia2/query"]  # the SIA interface, not TAP
    # pyvo's query keeps only the capabilities matching the service type (a RegTAP join property).
    assert list(found["types"]) == ["sia2"]
    tap = find_services(["gaia"], servicetype="tap", registry_url=registry.url, settings=settings)
    assert dict(zip(tap["ivoid"], tap["access_url"])) == {"ivo://example/gaia/tap": "http://gaia.example/tap",
                                                          "ivo://example/gaia/images": "http://gaia.example/tap2"}
    cones = find_services(servicetype="scs", registry_url=registry.url, settings=settings)
    assert list(cones["ivoid"]) == ["ivo://astrohub/archive/stars"]
    assert find_services("nosuchword", registry_url=registry.url, settings=settings).colnames == [
        "ivoid", "title", "access_url", "types"]
    # The registry is not a platform host: the user's token never went there.
    assert registry.requests and all("Authorization" not in h for *_, h in registry.requests)


def test_find_services_errors(serve):
    def broken(method, path, params, server):
        if path.endswith("/capabilities"):
            return 200, "text/xml", tap_capabilities(True)
        return 200, "application/x-votable+xml", _error_votable("Error: relation rr.resource does not exist")

    registry = serve(broken)
    session = make_session(retries=0, timeout=5)
    with pytest.raises(RetrievalError) as info:
        find_services("gaia", registry_url=registry.url, session=session)
    assert "rr.resource does not exist" in info.value.reason and info.value.url == registry.url
    with pytest.raises(ValueError, match="at least one"):
        find_services(registry_url=registry.url, session=session)
    with pytest.raises(RetrievalError) as info:
        find_services("gaia", registry_url=f"http://127.0.0.1:{closed_port()}/tap", session=session)
    assert info.value.code in ("unreachable", "service-error")


def _error_votable(text: str) -> bytes:
    return ('<?xml version="1.0"?><VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">'
            f'<RESOURCE type="results"><INFO name="QUERY_STATUS" value="ERROR">{text}</INFO></RESOURCE>'
            "</VOTABLE>").encode()


# ---------------------------------------------------------------- timeouts, retries, unreachable, token


def closed_port() -> int:
    """A port nothing listens on: outside the kernel's ephemeral range and held for this run (a port bound to 0 and
    closed could be given at once to another worker's server, which would then answer)."""
    return free_ports(1)[0]


def _stars_votable() -> bytes:
    t = Table({"id": np.array(["a", "b"]), "ra": [10.0, 10.1], "dec": [0.0, 0.1]})
    vot = votable(t)
    return (vot.replace(b'name="id"', b'name="id" ucd="ID_MAIN"')
               .replace(b'name="ra"', b'name="ra" ucd="POS_EQ_RA_MAIN"')
               .replace(b'name="dec"', b'name="dec" ucd="POS_EQ_DEC_MAIN"'))


def test_timeout_is_a_retrieval_error(serve):
    def hung(method, path, params, server):
        server.release.wait(30)  # held until the test closes the server
        return 200, "application/x-votable+xml", _stars_votable()

    service = serve(hung)
    session = make_session(retries=0, timeout=0.5)
    with pytest.raises(RetrievalError) as info:
        cone_search(SkyCoord(10 * u.deg, 0 * u.deg), 1 * u.arcmin, service=service.url + "scs", session=session,
                    settings=get_settings())
    err = info.value
    assert err.url == service.url + "scs" and err.http_code is None
    assert "timed out" in err.reason.lower() or "timeout" in err.reason.lower(), err.reason


@pytest.mark.parametrize(("failures", "retries", "ok"), [(2, 3, True), (2, 1, False)])
def test_503_is_retried(serve, failures, retries, ok):
    def flaky(method, path, params, server):
        if len(server.requests) <= failures:
            return 503, "text/plain", b"busy"
        return 200, "application/x-votable+xml", _stars_votable()

    service = serve(flaky)
    session = make_session(retries=retries, backoff=0, timeout=5)
    where = SkyCoord(10 * u.deg, 0 * u.deg)
    if ok:
        table = cone_search(where, 1 * u.deg, service=service.url + "scs", session=session, settings=get_settings())
        assert list(table["id"]) == ["a", "b"] and len(service.requests) == failures + 1
    else:
        with pytest.raises(RetrievalError) as info:
            cone_search(where, 1 * u.deg, service=service.url + "scs", session=session, settings=get_settings())
        assert info.value.http_code == 503 and len(service.requests) == retries + 1
        assert info.value.url == service.url + "scs"


def test_unreachable_host(serve):
    url = f"http://127.0.0.1:{closed_port()}/sia"
    with pytest.raises(RetrievalError) as info:
        image_search(SkyCoord(10 * u.deg, 0 * u.deg), 1 * u.deg, service=url,
                     session=make_session(retries=1, backoff=0, timeout=5), settings=get_settings())
    err = info.value
    assert err.url == url and err.http_code is None and err.code in ("unreachable", "service-error")
    assert "127.0.0.1" in str(err)


def test_token_goes_to_the_platform_only(serve):
    def answer(method, path, params, server):
        return 200, "application/x-votable+xml", _stars_votable()

    platform_host = serve(answer)
    external = serve(answer)  # same machine, another port: another host for the session
    settings = get_settings(archive_url=platform_host.url, PLATFORM_API_TOKEN="alice-secret")
    where = SkyCoord(10 * u.deg, 0 * u.deg)
    cone_search(where, 1 * u.deg, catalog="stars/stars", settings=settings)
    cone_search(where, 1 * u.deg, service=external.url + "scs", settings=settings)
    assert [h.get("Authorization") for *_, h in platform_host.requests] == ["token alice-secret"]
    assert external.requests and all("Authorization" not in h for *_, h in external.requests)
    assert "alice-secret" not in repr(external.requests)


# ---------------------------------------------------------------- truncated results, the default TAP service (issue 16)


def test_truncated_cone_search_warns_naming_maxrec(serve):
    from platform_lib.retrieval import TruncatedResultWarning

    def capped(method, path, params, server):
        return 200, "application/x-votable+xml", _stars_votable().replace(b'value="OK"', b'value="OVERFLOW"')

    service = serve(capped)
    where = SkyCoord(10 * u.deg, 0 * u.deg)
    with pytest.warns(TruncatedResultWarning, match=r"truncated at 2 rows \(maxrec=2;") as caught:
        table = cone_search(where, 1 * u.deg, service=service.url + "scs", maxrec=2, settings=get_settings())
    assert len(caught) == 1  # ours only, not pyvo's generic one as well
    assert table.meta["QUERY_STATUS"] == "OVERFLOW" and len(table) == 2
    with pytest.warns(TruncatedResultWarning, match="the service's default maxrec"):
        cone_search(where, 1 * u.deg, service=service.url + "scs", settings=get_settings())
    complete = serve(lambda *a: (200, "application/x-votable+xml", _stars_votable()))
    assert cone_search(where, 1 * u.deg, service=complete.url + "scs", settings=get_settings()).meta[
        "QUERY_STATUS"] == "OK"  # and no warning (warnings are errors in this suite)


def test_a_position_may_be_text_or_a_name_as_the_platform_resolves_it(serve, monkeypatch):
    """names22: ``cone_search("M45", ...)`` was refused ("position must be a SkyCoord ... names are not resolved")
    though the platform answers the name offline, as ``SkyCoord.from_name`` does: a name (looked up in the archive's
    catalogues, here one TAP service holding M45 at OpenNGC's position; or platform_lib.famous') and a position as
    text are now read as catalogs.cone_search and viz read them (platform_lib.skyposition), and the search asks
    the service at that position. Anything else is refused, naming the forms that work."""
    from platform_lib.skyposition import PositionError

    def answer(method, path, params, server):
        if path.endswith("/sync"):  # the archive's TAP: the name's lookup
            rows = Table({"ra": [56.85], "dec": [24.1167]})[: 1 if "messier = '045'" in params.get("QUERY", "") else 0]
            return 200, "application/x-votable+xml", votable(rows)
        return 200, "application/x-votable+xml", _stars_votable()

    service = serve(answer)
    monkeypatch.setenv("PLATFORM_ARCHIVE_URL", service.url + "services/archive/")
    for position, (ra, dec) in (("M45", (56.85, 24.1167)), ("03h47m24s +24d07m00s", (56.85, 24.1167)),
                                ("Sgr A*", (266.41682, -29.00782)), ("56.85 24.1167", (56.85, 24.1167))):
        cone_search(position, 1 * u.deg, service=service.url + "scs", settings=get_settings())
        asked = service.requests[-1][2]
        assert (float(asked["RA"]), float(asked["DEC"])) == pytest.approx((ra, dec), abs=1e-4), position
    for search in (cone_search, image_search):
        with pytest.raises(PositionError, match=r"position='M46' is not a sky position nor a name the platform's "
                                                r"catalogues hold \(Messier, NGC and IC numbers.*'83.822 -5.391'"):
            search("M46", 1 * u.deg, service=service.url + "scs", settings=get_settings())
        with pytest.raises(TypeError, match=r"position must be a SkyCoord, a position as text or an object's name, "
                                            r"not tuple \(56.85, 24.12\): write e.g. SkyCoord\(56.75"):
            search((56.85, 24.12), 1 * u.deg, service=service.url + "scs", settings=get_settings())


def test_a_radius_may_be_text_with_its_unit(serve):
    """firsthour23: ``image_search('M 1', '2 arcmin')`` and ``cone_search(..., '30 arcsec')`` were refused ("radius
    must be an angle Quantity ..., got '2 arcmin'") though a job takes ``{'radius': '2 arcsec'}`` and a plot
    ``radius='1 deg'``: text with an angular unit is read as astropy reads it (platform_lib.skyangle), and the
    service is asked for that radius; a number or text with no unit is refused, naming both ways to write it."""
    from platform_lib.skyangle import AngleError

    def answer(method, path, params, server):
        if path.endswith("/capabilities"):  # pyvo's SIA v2 client asks first where the query goes
            return 200, "text/xml", (
                '<?xml version="1.0"?>\n<vosi:capabilities xmlns:vosi="http://www.ivoa.net/xml/VOSICapabilities/v1.0"'
                ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:vs="http://www.ivoa.net/xml/VODataService'
                '/v1.1"><capability standardID="ivo://ivoa.net/std/SIA#query-2.0"><interface xsi:type="vs:ParamHTTP" '
                f'role="std"><accessURL use="base">{server.url}sia/query</accessURL></interface></capability>'
                "</vosi:capabilities>").encode()
        return 200, "application/x-votable+xml", _stars_votable()

    service = serve(answer)
    where = SkyCoord(83.633 * u.deg, 22.0145 * u.deg)
    cone_search(where, "30 arcsec", service=service.url + "scs", settings=get_settings())
    assert float(service.requests[-1][2]["SR"]) == pytest.approx(30 / 3600)
    image_search(where, "2 arcmin", service=service.url + "sia", settings=get_settings())
    assert [float(v) for v in service.requests[-1][2]["POS"].split()[1:]] == pytest.approx([83.633, 22.0145, 2 / 60])
    # badinput23b: a box or polygon given as pos= reaches the service once, as SIA v2's RANGE and POLYGON (it
    # went to pyvo twice: "got multiple values for keyword argument 'pos'")
    image_search(pos=(83.5, 83.7, 21.9, 22.1), service=service.url + "sia", settings=get_settings())
    assert service.requests[-1][2]["POS"].split() == ["RANGE", "83.5", "83.7", "21.9", "22.1"]
    image_search(pos=(83.5, 21.9, 83.7, 21.9, 83.6, 22.1), service=service.url + "sia", settings=get_settings())
    assert service.requests[-1][2]["POS"].split()[0] == "POLYGON"
    asked = len(service.requests)
    with pytest.raises(AngleError, match=r"^radius='2' has no unit: give an angle Quantity, 2 \* u.arcmin \(or "
                                         r"u.deg, u.arcsec\), or text with its unit, '2 arcmin'"):
        cone_search(where, "2", service=service.url + "scs", settings=get_settings())
    with pytest.raises(TypeError, match=r"^radius=10 has no unit: give an angle Quantity, 10 \* u.arcmin"):
        image_search(where, 10, service=service.url + "sia", settings=get_settings())
    with pytest.raises(ValueError, match=r"image_search with a position needs a radius.*image_search\(position, "
                                         r"'2 arcmin'\)"):
        image_search(where, service=service.url + "sia", settings=get_settings())
    assert len(service.requests) == asked  # refused before any request


def test_tap_query_defaults_to_the_platform_archive(serve):
    from platform_lib.retrieval import tap_query

    def tap(method, path, params, server):
        return 200, "application/x-votable+xml", votable(Table({"obs_id": np.array(["x1"])}))

    archive = serve(tap)
    settings = get_settings(archive_url=archive.url + "services/archive/", PLATFORM_API_TOKEN="alice-secret")
    table = tap_query("SELECT TOP 1 obs_id FROM ivoa.obscore", settings=settings)
    assert list(table["obs_id"]) == ["x1"]
    method, path, params, headers = archive.requests[-1]
    assert path == "/services/archive/tap/sync" and params["QUERY"].startswith("SELECT TOP 1")
    assert headers["Authorization"] == "token alice-secret"
    with pytest.raises(RetrievalError, match="PLATFORM_ARCHIVE_URL"):
        tap_query("SELECT 1", settings=get_settings(archive_url=""))


def test_a_cut_sync_tap_answer_says_how_to_get_every_row(serve):
    # hour13: the whole of Hipparcos over sync TAP stopped at the archive's 100,000 rows, and the warning said
    # only "pass a larger maxrec= or narrow the search": nothing about async TAP nor about taking it in parts
    from platform_lib.retrieval import TruncatedResultWarning, tap_query

    service = serve(lambda *a: (200, "application/x-votable+xml",
                                _stars_votable().replace(b'value="OK"', b'value="OVERFLOW"')))
    with pytest.warns(TruncatedResultWarning, match=r"truncated at 2 rows \(maxrec=5;.*async_=True, maxrec=.*"
                                                    r"save_to=.*cone_search\(.*vstack"):
        tap_query("SELECT * FROM I_311.hip2", service=service.url + "tap", maxrec=5, settings=get_settings())


def test_radius_and_maxrec_out_of_range_name_the_range():
    # hour13: image_search(pos, 200 * u.deg) was pyvo's bare "Invalid circle radius: 200.0 deg"
    where, nowhere = SkyCoord(10 * u.deg, 0 * u.deg), "http://127.0.0.1:9/x"
    with pytest.raises(ValueError, match=r"radius must be more than 0 and at most 90 deg, got 200.0 deg \(pyvo's "
                                         r"SIA v2 limit; for more of the sky leave position out\)"):
        image_search(where, 200 * u.deg, service=nowhere, settings=get_settings())
    for radius in (0 * u.deg, -1 * u.arcmin, 181 * u.deg, np.nan * u.deg):
        with pytest.raises(ValueError, match=r"radius must be more than 0 and at most 180 deg, got"):
            cone_search(where, radius, service=nowhere, settings=get_settings())
    for search in (cone_search, image_search):
        with pytest.raises(ValueError, match=r"maxrec must be 0 or more .*got -1"):
            search(where, 1 * u.deg, service=nowhere, maxrec=-1, settings=get_settings())
        with pytest.raises(TypeError, match=r"maxrec must be a whole number of rows .*got '10'"):
            search(where, 1 * u.deg, service=nowhere, maxrec="10", settings=get_settings())


# ---------------------------------------------------------------- the archive named as the user knows it (polish21)


#: A UWS job document, as the archive's TAP service answers for a finished job.
_UWS_JOB = b"""<?xml version="1.0" encoding="UTF-8"?>
<uws:job xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" xmlns:xlink="http://www.w3.org/1999/xlink"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <uws:jobId>abc</uws:jobId><uws:runId/><uws:ownerId xsi:nil="true"/><uws:phase>COMPLETED</uws:phase>
  <uws:quote xsi:nil="true"/><uws:startTime>2026-12-07T12:00:00Z</uws:startTime>
  <uws:endTime>2026-12-07T12:00:01Z</uws:endTime><uws:executionDuration>600</uws:executionDuration>
  <uws:destruction>2026-12-14T12:00:00Z</uws:destruction>
  <uws:parameters><uws:parameter id="query">SELECT 1</uws:parameter></uws:parameters>
  <uws:results/>
</uws:job>"""


def test_a_tap_jobs_repr_names_the_path_a_browser_opens(serve):
    """names22: ``print(job)`` of ``tap_query(..., async_=True)`` on the platform showed ``<TapJob
    http://127.0.0.1:8003/services/archive/tap/async/abc COMPLETED>``, the archive's internal address, which no
    browser of the user's reaches; it now names the job as errors do (``shown``): its path on the platform."""
    from platform_lib.retrieval import TapJob

    def uws(method, path, params, server):
        if path.endswith("/phase"):
            return 200, "text/plain", b"COMPLETED"
        return 200, "text/xml", _UWS_JOB

    archive = serve(uws)
    base = archive.url + "services/archive/"
    session = make_session(get_settings(archive_url=base), retries=0, timeout=5)
    job = TapJob.from_url(base + "tap/async/abc", session=session, archive_url=base)
    assert repr(job) == "<TapJob the archive (/services/archive/tap/async/abc) COMPLETED>"
    assert job.url == base + "tap/async/abc"  # the address code uses stays
    elsewhere = TapJob.from_url(archive.url + "tap/async/abc", session=session, archive_url=base)
    assert repr(elsewhere) == f"<TapJob {archive.url}tap/async/abc COMPLETED>"  # another service: its own URL


def test_errors_name_the_archive_by_the_path_a_browser_opens(serve):
    # polish21: a refused query on the platform's archive said "TAP query at http://127.0.0.1:8003/services/archive/
    # tap was refused: ...", an address inside the platform that the user's browser cannot open
    from platform_lib.retrieval import TapJob, tap_query

    def refuse(method, path, params, server):
        return 400, "application/x-votable+xml", _error_votable("UsageFault: no table gaia.dr9")

    archive = serve(refuse)
    base = archive.url + "services/archive/"
    settings = get_settings(archive_url=base, PLATFORM_API_TOKEN="alice-secret")
    origin = archive.url.rstrip("/")  # http://127.0.0.1:<port>
    where = SkyCoord(10 * u.deg, 0 * u.deg)
    calls = {"TAP query": lambda: tap_query("SELECT * FROM gaia.dr9", settings=settings),
             "cone search": lambda: cone_search(where, 1 * u.deg, catalog="stars/stars", settings=settings),
             "image search": lambda: image_search(where, 1 * u.deg, settings=settings)}
    for what, call in calls.items():
        with pytest.raises(RetrievalError) as info:
            call()
        said = str(info.value)
        assert said.startswith(f"{what} at the archive (/services/archive/"), said
        assert origin not in said and "127.0.0.1" not in said, said
        assert info.value.url.startswith(base)  # the field keeps the address code uses
        if what == "TAP query":
            assert said.endswith("was refused: UsageFault: no table gaia.dr9"), said

    session = make_session(settings, retries=0, timeout=5)
    with pytest.raises(RetrievalError) as info:
        TapJob.from_url(base + "tap/async/abc", session=session, archive_url=base).phase
    assert "the archive (/services/archive/tap/async/abc)" in str(info.value) and origin not in str(info.value)

    down = f"http://127.0.0.1:{closed_port()}/services/archive/"
    with pytest.raises(RetrievalError) as info:
        tap_query("SELECT 1", settings=get_settings(archive_url=down), session=make_session(retries=0, timeout=5))
    said = str(info.value)
    assert said.startswith("TAP query at the archive (/services/archive/tap) could not be reached"), said
    assert "127.0.0.1" not in said and info.value.code == "unreachable"
    # an external service is named by its own URL, which is what the user typed and can open
    with pytest.raises(RetrievalError) as info:
        tap_query("SELECT 1", service=archive.url + "elsewhere/tap", settings=settings)
    assert f"at {archive.url}elsewhere/tap was refused" in str(info.value)
