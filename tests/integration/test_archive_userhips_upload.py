"""Users' HiPS uploads past the archive's request body limit: streamed to disk, bounded by their own limit.

The archive's HiPS routes run in a real Tornado server in this process (port 0, its own thread and loop), as
``astrohub-archive`` builds them (:func:`astrohub_archive.hips.hips_routes`), with a standalone user token.
The sizes are scaled down so the tests stay fast: the server's body limit (64 MiB in the service,
``astrohub_archive.app.MAX_BODY``) is :data:`SERVER_LIMIT` here, and the upload limit (the archive's
``--hips-upload-max``, 2 GiB by default), the owner's budget (``--hips-owner-max``) and all users'
(``--hips-total-max``) are set per test. The client is the notebook's own,
:func:`platform_lib.viz.upload_hips`, except where a test needs a chunked body or a raw socket.
"""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests
from tornado_thread import serving  # tests/support/, on the path by tests/conftest.py

#: The server's request body limit in these tests (the service's is 64 MiB): a HiPS of ROWS rows is bigger.
SERVER_LIMIT = 16 * 2**10
ROWS = 3_000
TOKEN = "upload-test-token"


@pytest.fixture
def archive(tmp_path):
    """``start(max_upload, owner_max, total_max, rest_expiry)`` -> ``(base URL of hips/~/, the ~users folder)``;
    servers stopped at the end."""
    import tornado.web

    from astrohub_archive.app import _log_request
    from astrohub_archive.auth import Authenticator
    from astrohub_archive.hips import hips_routes
    from astrohub_archive.userhips import OWNER_MAX, TOTAL_MAX

    with contextlib.ExitStack() as servers:
        def start(max_upload: int, owner_max: int = OWNER_MAX, total_max: int = TOTAL_MAX,
                  rest_expiry: float | None = None) -> tuple[str, Path]:
            class State:
                prefix = "/"
                data_root = tmp_path / "images"
                registry_path = None
                hips_dir = tmp_path / "hips"
                executor = None
                auth = Authenticator(tokens={TOKEN: {"name": "ann"}})
                hips_upload_max = max_upload
                hips_owner_max = owner_max
                hips_total_max = total_max
                hips_rest_expiry = rest_expiry  # the archive's --hips-rest-expiry (None: REST_STALE)

            state = State()
            base = servers.enter_context(serving(
                lambda: tornado.web.Application(hips_routes("/", state), log_function=_log_request),
                on_stop=lambda: state.hips.close(), max_body_size=SERVER_LIMIT))
            return f"{base}/hips/~/", tmp_path / "hips" / "~users"

        yield start


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A HiPS catalogue of :data:`ROWS` rows (its gzipped tar is bigger than :data:`SERVER_LIMIT`)."""
    from platform_lib import viz

    rng = np.random.default_rng(18)
    df = pd.DataFrame({"ra": rng.uniform(0, 360, ROWS), "dec": np.degrees(np.arcsin(rng.uniform(-1, 1, ROWS))),
                       "gmag": rng.uniform(10, 20, ROWS)})
    return viz.write_catalog_hips(df, tmp_path_factory.mktemp("hips") / "big",
                                  viz.CatalogHipsSpec("big", n_per_tile=50), ra="ra", dec="dec", magnitude="gmag")


def _settings(base: str, monkeypatch):
    from platform_lib import get_settings

    monkeypatch.setenv("PLATFORM_API_TOKEN", TOKEN)
    return get_settings(archive_url=base.removesuffix("hips/~/"))


def _spooled(users: Path) -> list[str]:
    return sorted(p.name for p in users.iterdir() if p.name.startswith(".")) if users.is_dir() else []


def test_a_hips_bigger_than_the_servers_body_limit_is_streamed_to_disk_and_kept(archive, built, monkeypatch):
    """The upload route alone takes bodies past the server's limit (the journey failed there at 64 MiB)."""
    from platform_lib import viz

    base, users = archive(max_upload=8 * 2**20)
    record = viz.upload_hips(built, title="big job", settings=_settings(base, monkeypatch))
    assert record["rows"] == ROWS and record["url"] == f"/hips/~/{record['name']}/"
    assert viz.validate_hips(users / record["name"]).rows == ROWS
    assert _spooled(users) == []  # the spool file and the unpacking folder are gone
    assert not [p for p in built.parent.iterdir() if p.name.startswith(".")]  # and the client's tar file
    sent = requests.get(base, headers={"Authorization": f"token {TOKEN}"}, timeout=30).json()["hips"]
    assert [h["name"] for h in sent] == [record["name"]]
    # the body really was bigger than the server's limit, which still bounds every other route
    big = b"x" * (4 * SERVER_LIMIT)
    assert requests.post(base, data=big, headers={"Authorization": f"token {TOKEN}"}, timeout=30).status_code == 400
    assert _put(f"{base}{record['name']}/properties", big[:SERVER_LIMIT // 2]) == 405  # read, then refused
    assert _put(f"{base}{record['name']}/properties", big) in (400, None)  # not read: a bare 400, cut off


def _put(url: str, body: bytes) -> int | None:
    """The status of a PUT of ``body``, None when the connection is cut off before an answer is read."""
    try:
        return requests.put(url, data=body, timeout=30).status_code
    except requests.RequestException:
        return None


def test_an_upload_past_the_upload_limit_is_refused_413_naming_it(archive, built, monkeypatch, poll):
    from platform_lib import viz
    from platform_lib.viz import HipsError

    base, users = archive(max_upload=SERVER_LIMIT // 2)
    # with a Content-Length (the notebook's client): refused before the body is read
    with pytest.raises(HipsError, match=r"HTTP 413: 413: the upload is [\d.]+ MiB, more than the 0.0078125 MiB a "
                                        r"HiPS upload may be \(the archive's --hips-upload-max"):
        viz.upload_hips(built, settings=_settings(base, monkeypatch))
    # chunked (no length beforehand): refused once more than the limit came
    auth = {"Authorization": f"token {TOKEN}"}
    chunks = (b"\0" * 4096 for _ in range(64))
    refused = requests.post(base, data=chunks, headers=auth, timeout=30)
    assert refused.status_code == 413 and "larger than the 0.0078125 MiB a HiPS upload may be" in refused.text, refused.text
    assert refused.headers["Content-Type"].startswith("text/plain")
    poll(lambda: _spooled(users) == [], 10, "the spool files of refused uploads to go")
    assert requests.get(base, headers=auth, timeout=30).json()["hips"] == []
    # a small body is still checked as before
    bad = requests.post(base, data=b"not a tar", headers=auth, timeout=30)
    assert bad.status_code == 400 and "not a tar archive" in bad.text
    assert requests.post(base, data=b"", headers=auth, timeout=30).status_code == 400
    assert requests.post(base, data=b"\0" * (SERVER_LIMIT // 2 + 1), timeout=30).status_code == 401  # no token


def test_an_upload_cut_off_midway_leaves_no_file(archive, poll):
    base, users = archive(max_upload=8 * 2**20)
    port = int(base.split(":")[2].split("/")[0])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"POST /hips/~/?title=cut HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: token {TOKEN}\r\n"
                     f"Content-Type: application/x-tar\r\nContent-Length: {4 * 2**20}\r\n\r\n".encode())
        sock.sendall(b"\0" * (4 * SERVER_LIMIT))
        [spool] = poll(lambda: _spooled(users), 10, "the upload to be spooled to a file")
        assert spool.startswith(".upload-")
    poll(lambda: _spooled(users) == [], 10, "the cut-off upload's spool file to go")
    assert requests.get(base, headers={"Authorization": f"token {TOKEN}"}, timeout=30).json()["hips"] == []


def test_a_post_refused_before_its_body_is_read_says_the_connection_ends(archive):
    """The archive ends the connection after answering an upload it refused before reading its body (no
    token, too big); without ``Connection: close`` in that answer, the platform's proxy sent the next request
    down the closing connection and its user got the hub's 503 page (seen in CI: the request after a 401)."""
    base, _ = archive(max_upload=8 * 2**20)
    port = int(base.split(":")[2].split("/")[0])
    for auth in ("", f"Authorization: token {TOKEN}\r\n"):  # 401 (no token); 413 (declared too big)
        length = 2**20 if not auth else 16 * 2**20
        answer = _answer_to_headers(port, f"POST /hips/~/ HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}"
                                          f"Content-Type: application/x-tar\r\nContent-Length: {length}\r\n\r\n")
        head = answer.split("\r\n\r\n", 1)[0].lower()
        assert head.startswith("http/1.1 401" if not auth else "http/1.1 413"), answer[:300]
        assert "\r\nconnection: close" in head, head


def _answer_to_headers(port: int, headers: str) -> str:
    """The answer to a request whose headers alone are sent (its body never is)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(headers.encode())
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer) < 2000 and not answer.endswith(b"\n"):
            if not (part := sock.recv(65536)):
                break
            answer += part
    return answer.decode(errors="replace")


def test_an_owners_hips_are_bounded_by_their_byte_budget(archive, built, monkeypatch, poll):
    """One owner's HiPS hold at most ``--hips-owner-max`` between them (unpacked, on disk): a body that cannot
    fit is refused 413 before it is read, one that unpacks to more than the room left after unpacking; the
    answer names the budget, the use and ``viz.delete_hips``; nothing is kept; a removal frees room."""
    from astrohub_archive.userhips import disk_bytes
    from platform_lib import viz
    from platform_lib.viz import HipsError, _publish

    size = disk_bytes(built)  # what one upload of it takes, give or take a folder's block
    budget = size + size // 2
    base, users = archive(max_upload=8 * 2**20, owner_max=budget)
    settings = _settings(base, monkeypatch)
    auth = {"Authorization": f"token {TOKEN}"}
    first = viz.upload_hips(built, title="first", settings=settings)
    listed = requests.get(base, headers=auth, timeout=30).json()
    assert [h["bytes"] for h in listed["hips"]] == [first["bytes"]] and abs(first["bytes"] - size) <= 8192
    assert listed["used"] == first["bytes"] and listed["budget"] == budget
    mine = viz.my_hips(settings=settings)
    assert [h["name"] for h in mine] == [first["name"]] and (mine.used, mine.budget) == (first["bytes"], budget)
    # fits by its (gzipped) length, unpacks to more than the room left: refused after unpacking (a HiPS this
    # small goes as a plain tar, refused by its length: gzipped here as a bigger one goes)
    monkeypatch.setattr(_publish, "PLAIN_TAR_MAX", 0)
    with pytest.raises(HipsError, match=r"HTTP 413: 413: the upload unpacks to (at least )?[\d.]+ MiB, more than "
                                        r"the [\d.]+ MiB left: your HiPS may hold [\d.]+ MiB between them and hold "
                                        r"[\d.]+ MiB \(your uploads under way included; the archive's --hips-owner-max.*\); "
                                        r"platform_lib.viz.delete_hips\(name\) frees room"):
        viz.upload_hips(built, title="second", settings=settings)
    # a declared length past the room left: answered before a byte of the body is sent
    port = int(base.split(":")[2].split("/")[0])
    answer = _answer_to_headers(port, f"POST /hips/~/?title=big HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: "
                                      f"token {TOKEN}\r\nContent-Length: {budget}\r\n\r\n")
    assert answer.startswith("HTTP/1.1 413") and "--hips-owner-max" in answer and "delete_hips" in answer, answer
    # chunked (no length beforehand): refused once more than the room left came
    chunks = (b"\0" * 4096 for _ in range(budget // 4096 + 2))
    refused = requests.post(base, data=chunks, headers=auth, timeout=30)
    assert refused.status_code == 413 and "the upload is already" in refused.text, refused.text
    poll(lambda: _spooled(users) == [], 10, "the spool files and unpacking folders of refused uploads to go")
    assert [h["name"] for h in viz.my_hips(settings=settings)] == [first["name"]]
    viz.delete_hips(first["name"], settings=settings)  # frees room
    assert viz.upload_hips(built, title="again", settings=settings)["bytes"] == first["bytes"]


def test_all_users_hips_are_bounded_by_the_archives_total_budget(archive, built, monkeypatch, poll):
    """All users' HiPS hold at most ``--hips-total-max`` between them: past it an upload is refused 507
    Insufficient Storage (before its body is read, with ``Connection: close``; once a chunked body passes it;
    after unpacking), naming the limit and how the operator raises it; nothing is kept."""
    from astrohub_archive.userhips import disk_bytes
    from platform_lib import viz
    from platform_lib.viz import HipsError, _publish

    size = disk_bytes(built)
    budget = size + size // 2
    base, users = archive(max_upload=8 * 2**20, total_max=budget)  # the owner's own budget is the default 4 GiB
    settings = _settings(base, monkeypatch)
    first = viz.upload_hips(built, title="first", settings=settings)
    monkeypatch.setattr(_publish, "PLAIN_TAR_MAX", 0)  # gzipped: it fits by its length, not once unpacked
    with pytest.raises(HipsError, match=r"HTTP 507: 507: the upload unpacks to (at least )?[\d.]+ MiB, more than the "
                                        r"[\d.]+ MiB the archive has left for users' HiPS: .*--hips-total-max"):
        viz.upload_hips(built, title="second", settings=settings)
    port = int(base.split(":")[2].split("/")[0])
    answer = _answer_to_headers(port, f"POST /hips/~/?title=big HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: "
                                      f"token {TOKEN}\r\nContent-Length: {budget}\r\n\r\n")
    head = answer.split("\r\n\r\n", 1)[0].lower()
    assert head.startswith("http/1.1 507") and "\r\nconnection: close" in head, answer
    assert "ASTROHUB_ARCHIVE_HIPS_TOTAL_MAX" in answer and "archive.hips.totalMaxMiB" in answer, answer
    chunks = (b"\0" * 4096 for _ in range(budget // 4096 + 2))
    refused = requests.post(base, data=chunks, headers={"Authorization": f"token {TOKEN}"}, timeout=30)
    assert refused.status_code == 507 and "the upload is already" in refused.text, refused.text
    poll(lambda: _spooled(users) == [], 10, "the spool files and unpacking folders of refused uploads to go")
    assert [h["name"] for h in viz.my_hips(settings=settings)] == [first["name"]]


def test_an_upload_under_way_holds_its_length_against_the_budgets_until_it_ends(archive, built, monkeypatch, poll):
    """An upload whose body is still coming holds its declared length against the owner's and all users'
    budgets: another that would have fit alone is refused (507: all users' room) before its body is read,
    ``GET hips/~/`` says the room left; once the first is cut off, its bytes count no more. Where only
    kept HiPS counted, many uploads at once could each pass and together overfill the HiPS folder."""
    from astrohub_archive.userhips import disk_bytes
    from platform_lib import viz
    from platform_lib.viz import HipsError

    size = disk_bytes(built)
    budget = size + size // 2
    base, users = archive(max_upload=8 * 2**20, total_max=budget)
    settings = _settings(base, monkeypatch)
    auth = {"Authorization": f"token {TOKEN}"}
    port = int(base.split(":")[2].split("/")[0])
    assert requests.get(base, headers=auth, timeout=30).json()["room_left"] == budget
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"POST /hips/~/?title=slow HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: token {TOKEN}\r\n"
                     f"Content-Type: application/x-tar\r\nContent-Length: {size}\r\n\r\n".encode())
        sock.sendall(b"\0" * 4096)
        poll(lambda: _spooled(users), 10, "the slow upload to be under way")
        listed = requests.get(base, headers=auth, timeout=30).json()
        assert (listed["used"], listed["total_used"], listed["room_left"]) == (0, 0, budget - size), listed
        assert (listed["budget"], listed["total_budget"]) == (4 * 2**30, budget), listed
        mine = viz.my_hips(settings=settings)
        assert (mine.total_used, mine.total_budget, mine.room_left) == (0, budget, budget - size)
        with pytest.raises(HipsError, match=r"HTTP 507: 507: the upload (is|unpacks to at least) [\d.]+ MiB, more than the [\d.]+ MiB the "
                                            r"archive has left for users' HiPS: .*counting the uploads under way"):
            viz.upload_hips(built, title="meanwhile", settings=settings)
    poll(lambda: requests.get(base, headers=auth, timeout=30).json()["room_left"] == budget, 10,
         "the cut-off upload's bytes to count no more")
    kept = viz.upload_hips(built, title="now", settings=settings)
    listed = requests.get(base, headers=auth, timeout=30).json()
    assert (listed["total_used"], listed["room_left"]) == (kept["bytes"], budget - kept["bytes"]), listed


def test_a_table_shown_in_two_parts_is_served_at_once_and_a_deep_tile_asked_early_waits_for_the_rest(
        archive, monkeypatch):
    """``viz.show(table)`` of a large table sends the whole-sky orders, then the deeper ones from a thread
    (:func:`platform_lib.viz._publish.start_table_hips`): the HiPS is listed (``building``) and its first
    orders served at once, and a viewer's request for a deep tile before the rest is there waits for it,
    then gets the tile (before, the HiPS went whole or not at all: no ``rest`` route). The rest takes longer than
    the archive's expiry (1 s here): the kernel says it still builds it, so the first part stays (before, it was
    removed once the expiry had passed, and the rest refused 404)."""
    import threading
    import time

    from astropy.table import Table

    from platform_lib import viz
    from platform_lib.viz import _publish

    base, users = archive(max_upload=64 * 2**20)
    settings = _settings(base, monkeypatch)
    rng = np.random.default_rng(5)
    ra, dec = rng.uniform(10, 12, 20_000), rng.uniform(-1, 1, 20_000)  # one dense field: orders 4 and deeper
    table = Table({"ra": ra, "dec": dec, "gmag": rng.uniform(8, 20, ra.size)})
    sent = threading.Event()  # the deeper orders wait until the deep tile has been asked for
    send_rest = _publish.upload_rest
    monkeypatch.setattr(_publish, "upload_rest", lambda *a, **kw: (sent.wait(60), send_rest(*a, **kw))[1])
    monkeypatch.setattr(_publish, "PLAIN_TAR_MAX", 0)  # both parts gzipped, as a table past 512 MiB sends them
    monkeypatch.setattr("astrohub_archive.userhips.REST_STALE", 1.0)
    upload = _publish.start_table_hips(table, title="field", settings=settings)
    kept = time.monotonic()
    name = upload.url.rstrip("/").split("/")[-1]
    listed = requests.get(base, headers={"Authorization": f"token {TOKEN}"}, timeout=30).json()["hips"]
    assert [h.get("building") for h in listed] == [4]
    props = requests.get(f"{base}{name}/properties", timeout=30)
    assert props.status_code == 200 and "astrohub_building" in props.text
    assert requests.get(f"{base}{name}/Norder2/Allsky.tsv", timeout=30).status_code == 200
    answers = {}
    tile = "Norder4/Dir0/Npix{}.tsv"
    pixel = int(np.unique(viz._hips.healpix29(ra, dec) >> (2 * (29 - 4)))[0])
    asker = threading.Thread(target=lambda: answers.update(
        deep=requests.get(f"{base}{name}/{tile.format(pixel)}", timeout=60)))
    asker.start()
    asker.join(1.0)
    assert asker.is_alive()  # held: its order is still to come
    while time.monotonic() - kept < 2.5:  # the expiry passes twice over while the kernel still builds the rest
        listed = requests.get(base, headers={"Authorization": f"token {TOKEN}"}, timeout=30).json()
        assert [h.get("building") for h in listed["hips"]] == [4] and listed["expired"] == [], listed
    sent.set()
    other = requests.post(f"{base}not-{name}/rest", data=b"x" * 10, headers={"Authorization": f"token {TOKEN}"},
                          timeout=30)
    assert other.status_code == 404 and "no HiPS of yours" in other.text  # refused before its body is read
    assert requests.get(f"{base}{name}/rest", timeout=30).status_code == 405
    assert upload.wait(60) == upload.url
    asker.join(30)
    assert answers["deep"].status_code == 200 and answers["deep"].text.count("\n") > 2
    assert [(h.get("building"), h["rows"]) for h in viz.my_hips(settings=settings)] == [(None, 20_000)]
    deep = requests.get(f"{base}{name}/{tile.format(pixel)}", headers={"Accept-Encoding": "gzip",
                        "If-None-Match": answers["deep"].headers["Etag"]}, timeout=30)
    assert deep.status_code == 304  # its deep tiles are served from the pack as files are: revalidated


def test_a_first_part_whose_rest_never_came_expires_freeing_its_room_and_the_listing_says_so(
        archive, monkeypatch, tmp_path):
    """A kernel that stops after sending a large table's whole-sky orders never sends the rest: once the
    archive's timeout has passed (the archive's ``--hips-rest-expiry``, 2 s here), its owner's
    ``viz.my_hips()`` no longer holds it nor counts its bytes, names it in ``expired`` with the reason, and the
    rest sent late is refused saying why (before, it stayed ``building`` and counted until deleted; and the
    expiry was a constant, 600 s, whatever the operator set)."""
    import time

    from astropy.table import Table

    from platform_lib import viz
    from platform_lib.viz._build import table_hips_parts
    from platform_lib.viz._publish import upload_rest

    base, users = archive(max_upload=64 * 2**20, rest_expiry=2.0)
    settings = _settings(base, monkeypatch)
    rng = np.random.default_rng(5)
    ra, dec = rng.uniform(10, 12, 20_000), rng.uniform(-1, 1, 20_000)
    parts = table_hips_parts(Table({"ra": ra, "dec": dec}), tmp_path / "built", title="field")
    name = viz.upload_hips(next(parts), title="field", settings=settings)["name"]
    mine = viz.my_hips(settings=settings)
    assert [h["building"] for h in mine] == [4] and mine.used > 0 and mine.expired == []
    deadline = time.monotonic() + 30  # the kernel stopped: the archive's expiry passes
    while list(mine) and time.monotonic() < deadline:
        mine = viz.my_hips(settings=settings)
    assert list(mine) == [] and mine.used == 0
    assert [(g["name"], g["title"]) for g in mine.expired] == [(name, "field")]
    assert "did not come within" in mine.expired[0]["reason"]
    assert requests.get(f"{base}{name}/Norder2/Allsky.tsv", timeout=30).status_code == 404
    with pytest.raises(viz.HipsError, match="404.*did not come within"):
        upload_rest(name, next(parts), settings=settings)
    parts.close()
    assert not [p for p in users.iterdir() if p.name.startswith(".")]
