"""The archive's HiPS file route once a file has been served: :class:`astrohub_archive._tiles.TileRouter`
answers from memory without the handler, with the handler's headers, 304s, HEAD, gzip and 404s, and
sees a rebuilt or removed HiPS; none of them writes an access-log line.

The HiPS routes run in a real Tornado server in this process (port 0, its own thread and loop), over a
small HiPS folder written here (the layout and ``properties`` of a HiPS catalogue; the router does not
read the tiles' contents). ``HipsFileHandler.get`` is wrapped to count the requests that reach it.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest
import requests
from tornado_thread import serving  # tests/support/, on the path by tests/conftest.py

PROPERTIES = "creator_did = ivo://astrohub/test\nobs_title = test\ndataproduct_type = catalog\nhips_order = 1\n"


def write_hips(folder: Path, rows: int) -> None:
    """A HiPS catalogue folder: ``properties`` and two TSV tiles of ``rows`` rows."""
    (folder / "Norder1" / "Dir0").mkdir(parents=True)
    (folder / "properties").write_text(PROPERTIES)
    for npix in (4, 5):
        lines = ["ra\tdec\tmag"] + [f"{npix * 7.5 + i * 1e-4:.6f}\t{i * 1e-4:.6f}\t{18 + i % 5}" for i in range(rows)]
        (folder / "Norder1" / "Dir0" / f"Npix{npix}.tsv").write_text("\n".join(lines) + "\n")


@pytest.fixture
def served(tmp_path, monkeypatch):
    """``(base URL of the HiPS 'cat', its folder, calls)``; ``calls`` counts requests the handler saw."""
    import tornado.web

    from astrohub_archive import _tiles, hips
    from astrohub_archive.app import _log_request

    monkeypatch.setattr(_tiles, "REVALIDATE", 0.0)  # every answer checks the disk: rebuilds show at once
    monkeypatch.setenv("ASTROHUB_ARCHIVE_HIPS", str(tmp_path / "hips"))
    write_hips(tmp_path / "hips" / "cat", 300)
    calls = []
    original = hips.HipsFileHandler.get

    async def counted(self, *args, **kwargs):
        calls.append(self.request.method)
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(hips.HipsFileHandler, "get", counted)

    class State:
        prefix = "/"
        data_root = tmp_path / "images"
        registry_path = None
        hips_dir = None

    def make_app() -> tornado.web.Application:
        return tornado.web.Application(hips.hips_routes("/", State()), log_function=_log_request)  # the archive's

    with serving(make_app) as base:
        yield f"{base}/hips/cat/", tmp_path / "hips" / "cat", calls


def _http10(url: str) -> str:
    """The response head of an HTTP/1.0 GET of ``url`` asking for keep-alive (a raw socket)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(f"GET {parts.path} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin1")
    assert "Connection: Keep-Alive" in head, head
    return head


def _headers(r: requests.Response) -> dict:
    return {k: v for k, v in r.headers.items() if k not in ("Date", "Content-Length")}


def test_a_served_tile_is_answered_from_memory_as_the_handler_answers(served):
    base, folder, calls = served
    tile = folder / "Norder1" / "Dir0" / "Npix4.tsv"
    url = base + "Norder1/Dir0/Npix4.tsv"
    first = requests.get(url, headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert calls == ["GET"] and first.status_code == 200 and first.content == tile.read_bytes()
    again = requests.get(url, headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert calls == ["GET"], "the second request of a served tile reached the handler"
    assert again.content == tile.read_bytes() and _headers(again) == _headers(first)
    assert again.headers["Content-Encoding"] == "gzip" and again.headers["Vary"] == "Accept-Encoding"
    assert int(again.headers["Content-Length"]) < tile.stat().st_size
    assert gzip.decompress(requests.get(url, headers={"Accept-Encoding": "gzip"}, stream=True, timeout=10).raw.read()) \
        == tile.read_bytes()
    assert "immutable" in again.headers["Cache-Control"] and again.headers["Access-Control-Allow-Origin"] == "*"
    assert again.headers["Date"] and again.headers["Content-Type"].startswith("text/tab-separated-values")
    plain = requests.get(url, headers={"Accept-Encoding": "identity"}, timeout=10)
    assert "Content-Encoding" not in plain.headers and int(plain.headers["Content-Length"]) == tile.stat().st_size
    # revalidation: 304 with no body, by ETag (weak or strong, or one of several) or by date
    for headers in ({"If-None-Match": first.headers["Etag"]}, {"If-None-Match": f'"x", W/{first.headers["Etag"]}'},
                    {"If-Modified-Since": first.headers["Last-Modified"]}):
        r = requests.get(url, headers=headers, timeout=10)
        assert r.status_code == 304 and r.content == b"" and r.headers["Etag"] == first.headers["Etag"], headers
    assert requests.get(url, headers={"If-None-Match": '"other"'}, timeout=10).status_code == 200
    stale = {"If-None-Match": '"other"', "If-Modified-Since": first.headers["Last-Modified"]}  # the tag wins
    assert requests.get(url, headers=stale, timeout=10).status_code == 200
    head = requests.head(url, headers={"Accept-Encoding": "identity"}, timeout=10)
    assert head.status_code == 200 and head.content == b"" and int(head.headers["Content-Length"]) == tile.stat().st_size
    # an empty cell of a HiPS already served: a 404 with its reason, also without the handler
    missing = requests.get(base + "Norder1/Dir0/Npix6.tsv", timeout=10)
    assert missing.status_code == 404 and "has no Norder1/Dir0/Npix6.tsv" in missing.text
    assert calls == ["GET"]
    # answers share their headers within a second, except where tornado adds its own Connection header
    closing = requests.get(url, headers={"Connection": "close"}, timeout=10)
    assert closing.headers["Connection"] == "close" and closing.content == tile.read_bytes()
    assert "Connection" not in requests.get(url, timeout=10).headers
    assert "close" not in _http10(url).lower() and "Connection" not in requests.get(url, timeout=10).headers
    # the description: no-cache, the same answer each time
    props = [requests.get(base + "properties", timeout=10) for _ in range(2)]
    assert [p.text for p in props] == [PROPERTIES] * 2 and props[1].headers["Cache-Control"] == "public, no-cache"
    assert calls == ["GET", "GET"]


def test_a_rebuilt_or_removed_hips_is_seen(served):
    base, folder, calls = served
    url = base + "Norder1/Dir0/Npix5.tsv"
    old = requests.get(url, timeout=10)
    requests.get(url, timeout=10)
    assert len(calls) == 1
    # a rebuild writes a new folder and renames it into place
    new = folder.with_name(".cat.new")
    write_hips(new, 500)
    old_folder = folder.with_name(".cat.old")
    os.rename(folder, old_folder)
    os.rename(new, folder)
    rebuilt = requests.get(url, timeout=10)
    assert rebuilt.content == (folder / "Norder1" / "Dir0" / "Npix5.tsv").read_bytes() != old.content
    assert rebuilt.headers["Etag"] != old.headers["Etag"]
    assert requests.get(url, headers={"If-None-Match": old.headers["Etag"]}, timeout=10).status_code == 200
    # removed: the handler answers (no HiPS of that name any more), not the memory
    os.rename(folder, folder.with_name(".cat.gone"))
    gone = requests.get(url, timeout=10)
    assert gone.status_code == 404 and "no HiPS called 'cat'" in gone.text
    missing = requests.get(base + "Norder1/Dir0/Npix6.tsv", timeout=10)
    assert missing.status_code == 404 and "no HiPS called 'cat'" in missing.text


def test_what_the_router_does_not_answer_goes_to_the_handler(served):
    base, _, calls = served
    requests.get(base + "properties", timeout=10)
    calls.clear()
    for path, reason in [("..%2F..%2Fcat/properties", "no HiPS file"), (".%2E/properties", "no HiPS file")]:
        r = requests.get(base + path, timeout=10)
        assert r.status_code == 404 and reason in r.text and "Traceback" not in r.text, path
    assert len(calls) == 2
    assert requests.post(base + "properties", data=b"x", timeout=10).status_code == 405


def test_tiles_and_empty_cells_write_no_access_log_line(served, caplog):
    """A viewer asks for hundreds of tiles, many of them empty cells (404): the archive's access log keeps
    its lines for the other routes (before, INFO for each tile and WARNING for each empty cell)."""
    import logging
    import time

    base, _, calls = served
    caplog.set_level(logging.INFO, logger="tornado.access")
    for path in ("properties", "Norder1/Dir0/Npix4.tsv", "Norder1/Dir0/Npix6.tsv", "Norder1/Dir0/Npix7.tsv"):
        requests.get(base + path, timeout=10)
    assert len(calls) >= 2  # the first of each went through the handler, which logs through the app
    assert requests.get(base.replace("/hips/cat/", "/elsewhere"), timeout=10).status_code == 404

    def lines() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "tornado.access"]

    # the server logs after it answers: wait for the last request's line (the lines come in order)
    deadline = time.monotonic() + 10
    while not any(line.startswith("404 GET /elsewhere") for line in lines()):
        assert time.monotonic() < deadline, lines()
        time.sleep(0.01)  # polling interval, bounded by the deadline
    assert [line for line in lines() if "/hips/" in line] == [], lines()


def test_deleting_a_users_hips_leaves_the_archive_answering_meanwhile(tmp_path, monkeypatch):
    """Removing a user's HiPS (thousands of tiles, on an NFS claim: seconds and more, and the store's lock
    shared with the other replicas) runs off the server's loop: while it is under way, the archive answers
    other requests; then the DELETE answers 204 and the HiPS is gone."""
    import threading
    import types

    import tornado.web

    from astrohub_archive import hips, userhips
    from astrohub_archive.app import _log_request
    from astrohub_archive.auth import Authenticator

    monkeypatch.setenv("ASTROHUB_ARCHIVE_HIPS", str(tmp_path / "hips"))
    write_hips(tmp_path / "hips" / "cat", 10)
    store = userhips.UserHipsStore(tmp_path / "hips")
    name = "mine-AAAAAAAAAAAAAAAAAAAAAA"  # a kept HiPS of ann's, as an upload leaves it
    write_hips(store.root / name, 10)
    store.owners.mkdir(parents=True)
    (store.owners / f"{name}.json").write_text(f'{{"name": "{name}", "owner": "ann", "bytes": 1}}')
    started, finish = threading.Event(), threading.Event()
    rmtree = userhips.shutil.rmtree

    def slow_rmtree(path, ignore_errors=False):  # the removal takes until the test lets it end
        started.set()
        finish.wait(60)
        rmtree(path, ignore_errors=ignore_errors)

    monkeypatch.setattr(userhips, "shutil", types.SimpleNamespace(rmtree=slow_rmtree))

    class State:
        prefix = "/"
        data_root = tmp_path / "images"
        registry_path = None
        hips_dir = None
        executor = None
        auth = Authenticator(None, {"ann-token": {"name": "ann", "groups": []}})

    def make_app() -> tornado.web.Application:
        return tornado.web.Application(hips.hips_routes("/", State()), log_function=_log_request)

    with serving(make_app) as base:
        answers = []
        deleting = threading.Thread(target=lambda: answers.append(requests.delete(
            f"{base}/hips/~/{name}", headers={"Authorization": "token ann-token"}, timeout=60)))
        deleting.start()
        try:
            assert started.wait(30)
            meanwhile = requests.get(f"{base}/hips/cat/properties", timeout=5)  # not stuck behind the removal
            assert meanwhile.status_code == 200
        finally:
            finish.set()
            deleting.join(60)
        assert [a.status_code for a in answers] == [204]
    assert not (store.root / name).exists() and store.owner_of(name) is None
