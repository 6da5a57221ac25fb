"""The files of built, public HiPS as ready-made HTTP responses, and the router that answers them without a
``RequestHandler``: what serving a tile costs once it has been served once.

:class:`TileCache` holds each file as served (its body, a gzip copy of text files and FITS tiles, its ETag, dates and
headers), checked against the disk with a ``stat`` at most every :data:`REVALIDATE` seconds. A HiPS never
changes in place: a rebuild renames a new folder into place, so a file's size and time change with it.

:class:`TileRouter` is the first rule of the ``hips/<name>/<path>`` route. For a file the cache holds as
*public* (put there by :class:`astrohub_archive.hips.HipsFileHandler` after its own checks) or a missing
file of a HiPS it has served as public, it writes the response straight to the connection: 200, 304
(``If-None-Match``, ``If-Modified-Since``), HEAD, gzip to clients that accept it, 404 with a one-line
reason. Anything else (a first request, a HiPS still to build, a bad name, another method, a HiPS that
needs the caller's identity) goes on to the handler. Measured in ``bench/viz_hips.py``: a tornado
``RequestHandler`` costs more than the rest of a cached tile's answer.

:class:`TilePack` is the other form a HiPS's files take on disk: many files one after another in one hidden file
(:data:`PACK`) of the HiPS's folder, with an index of where each is (:data:`PACK_INDEX`). The deeper orders of a
user's HiPS are kept so (:meth:`astrohub_archive.userhips.UserHipsStore.add_rest`): thousands of tiles written
as one file, not created one by one (the disk's file creation was most of keeping them); :meth:`TileCache.get`
serves a file of such a HiPS from its pack.

May import tornado only.
"""

from __future__ import annotations

import datetime
import email.utils
import gzip
import json
import os
import re
import stat
import threading
import time
from collections import OrderedDict
from pathlib import Path
from types import SimpleNamespace

import tornado
import tornado.httputil
import tornado.routing

__all__ = ["PACK", "PACK_INDEX", "REVALIDATE", "Served", "TileCache", "TilePack", "TileRouter"]

#: Seconds a cached file is served without looking at the disk again (then one ``stat``).
REVALIDATE = 1.0
# Served gzipped to clients that accept it: text files, and FITS tiles (a density map's 512 x 512 float32
# tile is 1 MB, 20-45 % of it gzipped: the 16 tiles of a first view were 17 MB). PNG/JPEG are compressed.
_COMPRESSED = {".tsv", ".xml", ".fits", ""}
_CONTENT_TYPES = {".tsv": "text/tab-separated-values; charset=utf-8", ".fits": "application/fits",
                  ".xml": "text/xml; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                  ".png": "image/png", ".jpg": "image/jpeg", "": "text/plain; charset=utf-8"}
_SERVER = f"TornadoServer/{tornado.version}"
#: The pack of a HiPS's files in its folder, and its index (hidden names: never served as files themselves).
PACK = ".pack"
PACK_INDEX = ".pack-index"


class TilePack:
    """Writes a pack in the folder ``folder``: :meth:`add` each file (its path in the HiPS, its bytes), then
    :meth:`close` writes the index (JSON: path -> [offset, size]). Whoever writes one renames both into the
    HiPS's folder, the index last; :meth:`TileCache.get` reads them."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._out = open(self.folder / PACK, "wb")
        self._index: dict[str, list[int]] = {}
        self._at = 0

    def __contains__(self, rel: str) -> bool:
        return rel in self._index

    def add(self, rel: str, data: bytes) -> None:
        self._out.write(data)
        self._index[rel] = [self._at, len(data)]
        self._at += len(data)

    def close(self) -> None:
        if not self._out.closed:
            self._out.close()
            (self.folder / PACK_INDEX).write_text(json.dumps(self._index, separators=(",", ":")))


def content_type(path: Path) -> str:
    """The Content-Type of a HiPS file (``properties`` and unknown suffixes: plain text)."""
    return _CONTENT_TYPES.get(path.suffix, _CONTENT_TYPES[""])


def cache_control(path: Path, lasting: bool = True) -> str:
    """Tiles of a built HiPS never change in place (a rebuild is a new folder, new ETags): browsers keep
    them; its description files are revalidated each time (a 304), so a rebuilt HiPS shows at once. Not
    ``lasting``: a HiPS to be replaced under the same name (the empty sky): every file is revalidated."""
    lasting = lasting and path.name.startswith(("Npix", "Allsky"))
    return "public, max-age=86400, immutable" if lasting else "public, no-cache"


_TILE = re.compile(r"Norder(\d+)/Dir(\d+)/Npix(\d+)\.[A-Za-z]+")
_HIPS_ORDER = re.compile(rb"^hips_order\s*=\s*(\d+)\s*$", re.M)


def missing_reason(name: str, rel: str, properties: bytes | None = None) -> str:
    """The one-line reason of a 404 for the file ``rel`` of the HiPS ``name``: a path that is not a tile's
    (HiPS 1.0: ``Norder<k>/Dir<d>/Npix<p>.<ext>``), a cell outside the sky of its order, an order deeper
    than the HiPS's ``hips_order`` (read from ``properties``, its bytes), or an empty cell.

    >>> missing_reason("sky", "Norder3/Dir0/Npix800.fits")
    "404: HiPS 'sky' has no Norder3/Dir0/Npix800.fits: order 3 has cells 0 to 767\\n"
    >>> missing_reason("sky", "Norder5/Dir0/Npix5.fits", b"hips_order = 1\\n")
    "404: HiPS 'sky' has no Norder5/Dir0/Npix5.fits: its deepest order is 1 (hips_order in its properties)\\n"
    """
    head = f"404: HiPS {name!r} has no {rel}"
    tile = _TILE.fullmatch(rel)
    if tile is None:
        if rel.startswith(("Norder", "Dir", "Npix")) and "Allsky." not in rel:
            return f"{head}: a tile's path is Norder<k>/Dir<d>/Npix<p>.<ext>, d = p // 10000 * 10000\n"
        return f"{head} (no sources there)\n"
    order, folder, pixel = (int(g) for g in tile.groups())
    deepest = _HIPS_ORDER.search(properties or b"")
    if deepest is not None and order > int(deepest.group(1)):
        return f"{head}: its deepest order is {int(deepest.group(1))} (hips_order in its properties)\n"
    if order > 29 or pixel >= 12 * 4**order:
        return f"{head}: order {order} has cells 0 to {12 * 4**order - 1}\n" if order <= 29 else \
            f"{head}: HEALPix orders go from 0 to 29\n"
    if folder != pixel // 10000 * 10000:
        return f"{head}: cell {pixel} is in Dir{pixel // 10000 * 10000}\n"
    return f"{head} (no sources there)\n"


class Served:
    """One file as served: ``etag``, ``modified`` (a UTC datetime, whole seconds), ``body``, ``gz`` (its
    gzip copy or None) and the headers every answer about it carries."""

    __slots__ = ("etag", "modified", "body", "gz", "headers", "public", "_ready")

    def __init__(self, path: Path, st: os.stat_result, body: bytes, gz: bytes | None, public: bool,
                 lasting: bool = True) -> None:
        self.etag = f'"{st.st_mtime_ns:x}-{st.st_size:x}"'
        self.modified = datetime.datetime.fromtimestamp(int(st.st_mtime), datetime.timezone.utc)
        self.body, self.gz, self.public = body, gz, public
        self.headers = [("Access-Control-Allow-Origin", "*"), ("Content-Type", content_type(path)),
                        ("Etag", self.etag), ("Last-Modified", email.utils.format_datetime(self.modified, usegmt=True)),
                        ("Cache-Control", cache_control(path, lasting))]
        if gz is not None:
            self.headers.append(("Vary", "Accept-Encoding"))
        self._ready: dict[str, tuple] = {}  # answer kind -> (Date value, its headers)

    def answer_headers(self, kind: str, date: str) -> tornado.httputil.HTTPHeaders:
        """The headers of one kind of answer (``200``, ``200-gzip``, ``304``) dated ``date``: made once a
        second and shared by the answers of that second (tornado's ``write_headers`` changes them only
        for a connection it closes, or an HTTP/1.0 one: see :meth:`TileRouter.reusable`)."""
        ready = self._ready.get(kind)
        if ready is not None and ready[0] == date:
            return ready[1]
        headers = self.make_headers(kind, date)
        self._ready[kind] = (date, headers)
        return headers

    def make_headers(self, kind: str, date: str) -> tornado.httputil.HTTPHeaders:
        """New headers of one kind of answer (see :meth:`answer_headers`)."""
        out = tornado.httputil.HTTPHeaders()
        out["Server"] = _SERVER
        out["Date"] = date
        for name, value in self.headers:
            if kind != "304" or name != "Content-Type":
                out[name] = value
        if kind == "200-gzip":
            out["Content-Encoding"] = "gzip"
            out["Content-Length"] = str(len(self.gz))
        elif kind == "200":
            out["Content-Length"] = str(len(self.body))
        return out

    def not_modified(self, if_none_match: str | None, if_modified_since: str | None) -> bool:
        """Whether a conditional request's copy is current (``If-None-Match`` wins over the date, as in
        RFC 9110 13.2.2; weak tags compare equal, ``*`` matches)."""
        if if_none_match:
            tags = [t.strip() for t in if_none_match.split(",")]
            return "*" in tags or any((t[2:] if t.startswith("W/") else t) == self.etag for t in tags)
        if if_modified_since:
            try:
                return email.utils.parsedate_to_datetime(if_modified_since) >= self.modified
            except (TypeError, ValueError):
                return False
        return False


class TileCache:
    """The files of built HiPS in memory, as served (:class:`Served`), at most ``limit`` bytes (those
    least recently served dropped first, to within ``revalidate`` seconds). A gzip copy of text files and FITS tiles is made once, on first request: browsers ask
    for it, and a HiPS catalogue's tiles shrink about 2x, which is most of what sending one costs.
    An entry is checked against one ``stat`` when it is older than ``revalidate`` seconds (default
    :data:`REVALIDATE`)."""

    def __init__(self, limit: int, revalidate: float | None = None) -> None:
        self.limit = limit
        self.revalidate = REVALIDATE if revalidate is None else revalidate
        self._entries: OrderedDict[str, list] = OrderedDict()  # path -> [version, checked, Served, cost]
        self._size = 0
        self._lock = threading.Lock()
        self._public_roots: dict[str, float] = {}  # HiPS folder -> when its properties were last seen
        self._packs: OrderedDict[str, tuple] = OrderedDict()  # HiPS folder -> (its index's version, the index)

    def get(self, path: Path, *, public: bool = False, lasting: bool = True,
            packed_in: Path | None = None) -> Served | None:
        """``path`` as served (read and compressed on first request), None if it is no file; ``public``
        marks it for :class:`TileRouter` (only for a HiPS anyone may read); ``lasting``: see
        :func:`cache_control` (a file read once keeps the answer it was read with); ``packed_in``: the folder of
        its HiPS when that may hold it in a pack (:class:`TilePack`) rather than as a file."""
        key = str(path)
        source = None  # (the pack, offset, size) of a packed file
        try:
            st = os.stat(key)
        except OSError:
            found = None if packed_in is None else self._packed(Path(packed_in), path)
            if found is None:
                return None
            st, source = found
        else:
            if not stat.S_ISREG(st.st_mode):
                return None
        version = (st.st_mtime_ns, st.st_size, st.st_ino, source and source[1])
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == version and entry[2].public == public:
                entry[1] = time.monotonic()
                self._entries.move_to_end(key)
                return entry[2]
        try:
            body = path.read_bytes() if source is None else _read_at(*source)
        except OSError:  # replaced by a rebuild between the stat and the read
            return None
        gz = None
        if path.suffix in _COMPRESSED and len(body) > 512:
            gz = gzip.compress(body, compresslevel=1, mtime=0)
            if len(gz) >= len(body):
                gz = None
        served = Served(path, st, body, gz, public, lasting)
        cost = len(body) + len(gz or b"")
        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._size -= previous[3]
            if cost <= self.limit // 4:
                self._entries[key] = [version, time.monotonic(), served, cost]
                self._size += cost
                while self._size > self.limit:
                    _, dropped = self._entries.popitem(last=False)
                    self._size -= dropped[3]
        return served

    def _packed(self, folder: Path, path: Path) -> tuple[SimpleNamespace, tuple] | None:
        """Where the pack of the HiPS ``folder`` holds ``path``: (the stat a :class:`Served` is made from: the
        pack's times and inode, the file's size; (the pack, offset, size)), else None. Its index is read once
        per version (two ``stat`` a request)."""
        try:
            rel = path.relative_to(folder).as_posix()
            ist, pst = os.stat(folder / PACK_INDEX), os.stat(folder / PACK)
        except (ValueError, OSError):
            return None
        key, version = str(folder), (ist.st_mtime_ns, ist.st_ino, pst.st_mtime_ns, pst.st_ino)
        with self._lock:
            cached = self._packs.get(key)
        if cached is None or cached[0] != version:
            try:
                index = json.loads((folder / PACK_INDEX).read_bytes())
            except (OSError, ValueError):
                return None
            with self._lock:
                self._packs[key] = cached = (version, index)
                while len(self._packs) > 64:
                    self._packs.popitem(last=False)
        where = cached[1].get(rel)
        if not isinstance(where, list) or len(where) != 2:
            return None
        offset, size = where
        st = SimpleNamespace(st_mtime_ns=pst.st_mtime_ns, st_mtime=pst.st_mtime, st_size=size, st_ino=pst.st_ino)
        return st, (folder / PACK, offset, size)

    def fresh(self, path: str) -> Served | None:
        """The public entry of ``path`` if it is still current: no disk access when it was checked less
        than ``revalidate`` seconds ago, else one ``stat``. None: not cached, not public, or changed."""
        entry = self._entries.get(path)
        if entry is None or not entry[2].public:
            return None
        now = time.monotonic()
        if now - entry[1] > self.revalidate:
            try:
                st = os.stat(path)
            except OSError:
                return None
            if (st.st_mtime_ns, st.st_size, st.st_ino, None) != entry[0]:  # public files are never packed
                return None
            entry[1] = now
            with self._lock:  # still served: the last to go when the cache is full
                if path in self._entries:
                    self._entries.move_to_end(path)
        return entry[2]

    def publish_root(self, root: Path) -> None:
        """Mark the HiPS folder ``root`` as public and built (it has its ``properties``): the router
        answers its missing files."""
        if os.path.isfile(os.path.join(root, "properties")):
            self._public_roots[str(root)] = time.monotonic()

    def public_root(self, root: str) -> bool:
        """Whether ``root`` is a published HiPS that still has its ``properties`` (checked at most every
        ``revalidate`` seconds)."""
        seen = self._public_roots.get(root)
        if seen is None:
            return False
        now = time.monotonic()
        if now - seen > self.revalidate:
            if not os.path.isfile(os.path.join(root, "properties")):
                self._public_roots.pop(root, None)
                return False
            self._public_roots[root] = now
        return True


class _Answer(tornado.httputil.HTTPMessageDelegate):
    """A response made before the request's end; written when the request is complete."""

    def __init__(self, connection, start_line, headers: tornado.httputil.HTTPHeaders, body: bytes) -> None:
        self.connection = connection
        self.start_line = start_line
        self.headers = headers
        self.body = body

    def finish(self) -> None:
        self.connection.write_headers(self.start_line, self.headers, self.body or None)
        self.connection.finish()

    def on_connection_close(self) -> None:
        pass


class _Clock:
    """``Date`` header values, formatted once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def now(self) -> str:
        t = time.time()
        second = int(t)
        if second != self._second:
            self._text = email.utils.formatdate(second, usegmt=True)
            self._second = second
        return self._text


_OK = tornado.httputil.ResponseStartLine("HTTP/1.1", 200, "OK")
_NOT_MODIFIED = tornado.httputil.ResponseStartLine("HTTP/1.1", 304, "Not Modified")
_NOT_FOUND = tornado.httputil.ResponseStartLine("HTTP/1.1", 404, "Not Found")


def _read_at(pack: Path, offset: int, size: int) -> bytes:
    """``size`` bytes of the file ``pack`` from ``offset`` (OSError when it holds fewer: replaced meanwhile)."""
    with open(pack, "rb") as f:
        data = os.pread(f.fileno(), size, offset)
    if len(data) != size:
        raise OSError(f"{pack} is shorter than its index says")
    return data


class TileRouter(tornado.routing.Router):
    """The fast path of ``hips/<name>/<path>``: answers what :class:`TileCache` holds as public (see the
    module docstring) and returns None for the rest, so that the route's next rule (the handler) runs."""

    def __init__(self, root: Path, cache: TileCache, safe) -> None:
        self.root = str(root)
        self.cache = cache
        self.safe = safe  # the handler's pattern of a safe name part (no "..", no hidden folders)
        self.clock = _Clock()

    def find_handler(self, request, **kwargs) -> tornado.httputil.HTTPMessageDelegate | None:
        try:
            return self._answer(request, kwargs.get("path_args") or ())
        except Exception:  # never a 500 from the fast path: the handler answers (and logs) instead
            return None

    def _answer(self, request, path_args) -> _Answer | None:
        method = request.method
        if method not in ("GET", "HEAD") or len(path_args) != 2 or path_args[0] is None:
            return None
        name = path_args[0].decode("utf-8")
        parts = [p for p in (path_args[1] or b"").decode("utf-8").split("/") if p]
        safe = self.safe.match
        if not safe(name) or not all(safe(p) for p in parts):
            return None
        rel = "/".join(parts) or "properties"
        root = os.path.join(self.root, name)
        path = os.path.join(root, rel)
        served = self.cache.fresh(path)
        date = self.clock.now()
        if served is None:
            if not self.cache.public_root(root) or os.path.exists(path):
                return None  # not served yet (the handler reads it) or not public
            props = self.cache.fresh(os.path.join(root, "properties"))
            body = missing_reason(name, rel, props.body if props is not None else None).encode()
            out = tornado.httputil.HTTPHeaders()
            for header, value in [("Server", _SERVER), ("Date", date), ("Access-Control-Allow-Origin", "*"),
                                  ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]:
                out[header] = value
            return _Answer(request.connection, _NOT_FOUND, out, b"" if method == "HEAD" else body)
        headers = request.headers
        headers_of = served.answer_headers if self.reusable(request) else served.make_headers
        if served.not_modified(headers.get("If-None-Match"), headers.get("If-Modified-Since")):
            return _Answer(request.connection, _NOT_MODIFIED, headers_of("304", date), b"")
        if served.gz is not None and "gzip" in headers.get("Accept-Encoding", ""):
            kind, body = "200-gzip", served.gz
        else:
            kind, body = "200", served.body
        return _Answer(request.connection, _OK, headers_of(kind, date), b"" if method == "HEAD" else body)

    @staticmethod
    def reusable(request) -> bool:
        """Whether tornado's ``write_headers`` leaves the answer's headers as they are: an HTTP/1.1
        request on a connection kept alive (no ``Connection`` header, or ``keep-alive``). For
        ``Connection: close``, an HTTP/1.0 client or a server without keep-alive it adds a ``Connection``
        header, so those answers get headers of their own."""
        params = getattr(request.connection, "params", None)
        return (request.version == "HTTP/1.1" and params is not None and not params.no_keep_alive
                and request.headers.get("Connection", "keep-alive").lower() == "keep-alive")
