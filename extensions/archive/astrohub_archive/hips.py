"""HiPS and the sky viewer: the archive serves the platform's HiPS and Aladin Lite itself, so no view leaves it.

Routes (under the service prefix):

``hips/`` (``hips/index.json``)
    the HiPS this archive serves, as an HTML page (JSON with ``index.json``); asking for the list also
    schedules the build of any catalogue in the registry that has no HiPS yet (not with ``?build=no``).
``hips/<name>/<path>``
    a file of one HiPS (``properties``, ``metadata.xml``, ``Norder<k>/Dir<d>/Npix<p>.tsv|fits``...);
    HTTP 404 with a one-line reason for anything missing, never a traceback. For a catalogue of the
    registry whose HiPS is not built yet, the request waits for the build.
``hips/~/`` and ``hips/~/<name>/<path>``
    users' own HiPS (a job output's, built in their notebook and uploaded): the caller's list (and those
    shared with their groups), an upload (POST), a file of one (by its unguessable name), a removal by its
    owner (DELETE); see :mod:`astrohub_archive.userhips`.
``hips/~/<name>/rest``
    the deeper orders of a user's HiPS sent in two parts (POST by its owner); until they are kept, a request
    for one of their tiles waits for them (:data:`REST_WAIT`).
``hips/~/<name>/shares/<group>``
    its owner shares a HiPS of theirs with a hub group of theirs (PUT) or stops (DELETE).
``aladin-lite/<file>``
    Aladin Lite's ES module from its npm package (``npm install aladin-lite``, pinned in the Makefile), with
    the platform's fixes of it (:mod:`astrohub_archive.aladin_lite`), which :class:`platform_lib.viz.Aladin`
    imports instead of the public CDN.

Each registry table with positions ``<catalogue>/<table>`` gets two HiPS: ``<slug>`` (the catalogue,
level of detail) and ``<slug>-density`` (a star-density image); ``sky`` is the density map of the
largest catalogue, the viewer's default background, built when the archive starts (an empty sky while the
registry has none, replaced once it has one: :meth:`HipsLibrary.build_background`); ``images``
is an image HiPS of the archive's public FITS images (reproject's HiPS support). They are
built with :mod:`platform_lib.viz` into ``<hips root>`` (``--hips``, ``ASTROHUB_ARCHIVE_HIPS``, default the
``hips`` folder beside the image tree). Files once served are answered from memory by
:mod:`astrohub_archive._tiles`. May import tornado, platform_lib and this package's auth, userhips, aladin_lite
and ``_tiles``.
"""

from __future__ import annotations

import asyncio
import functools
import html
import json
import logging
import os
import queue
import re
import secrets
import shutil
import tempfile
import threading
import time
from concurrent.futures import CancelledError, Future
from pathlib import Path

import tornado.web

from astrohub_archive._tiles import TileCache, TileRouter, missing_reason
from astrohub_archive.aladin_lite import aladin_lite_dir, patched
from astrohub_archive.auth import Authenticator
from astrohub_archive.userhips import (MAX_UPLOAD, OWNER_MAX, TOTAL_MAX, HipsErrors, UserHipsError,
                                      UserHipsListHandler, UserHipsRestHandler, UserHipsSharesHandler, UserHipsStore,
                                      signed_in_user,
                                      signed_in_viewer)

__all__ = ["HipsLibrary", "HipsStopped", "TileCache", "hips_routes", "slug"]

log = logging.getLogger("astrohub_archive")

SKY = "sky"
IMAGES = "images"
#: The most images, and the deepest HiPS level, of the archive's image HiPS (built on the archive's host).
MAX_IMAGES = 200
IMAGE_LEVEL_MAX = 7
#: A HiPS name or one part of a file's path: no leading dot (no "..", no hidden build folders), and at most 255
#: characters (a file name's limit: a longer one would be the system's "File name too long", not a 404).
_SAFE = re.compile(r"^[A-Za-z0-9_+-][A-Za-z0-9._+-]{0,254}$")
#: The longest path of a file in a HiPS (tiles are ``Norder<k>/Dir<d>/Npix<n>.<ext>``); a longer one is a 404.
_MAX_REL = 1024
#: Seconds before a failed build is tried again (say the registry was being written).
RETRY_AFTER = 60.0
#: Seconds the archive's shutdown waits for a running build to stop (Kubernetes' grace period is 30 s).
STOP_WAIT = 5.0
#: Age (seconds) after which a build's temporary folder found at start is a leftover of a killed process.
STALE_TMP = 3600.0
#: Bytes of HiPS files (and their gzip copies) the archive keeps in memory.
TILE_CACHE_BYTES = 256 * 2**20
#: The ``properties`` line that marks the empty ``sky`` built while the registry has no catalogue (the sample
#: data still loading): it is replaced by the largest catalogue's density map once one is there.
PLACEHOLDER = "astrohub_placeholder"
#: Seconds between the build thread's looks at the registry while ``sky`` is the empty placeholder.
SKY_RECHECK = 5.0
#: Seconds a request for a tile of a user's HiPS whose deeper orders are still being sent waits for them (a
#: browser holds few connections per site: longer would stall the rest of the page), and between its looks at
#: the HiPS's record meanwhile.
REST_WAIT = 30.0
REST_POLL = 0.2


class HipsStopped(RuntimeError):
    """A HiPS build cancelled or interrupted because the archive is stopping."""


def slug(table_name: str) -> str:
    """The HiPS folder name of a registry table (``platform_lib.viz.hips_name``: ``I/311/hip2`` -> ``I_311_hip2``)."""
    from platform_lib.viz import hips_name

    return hips_name(table_name)


class HipsLibrary:
    """The HiPS folder of the archive and the builds that fill it (one at a time, in a worker thread)."""

    def __init__(self, root: Path, registry_path: Path | None, state=None) -> None:
        self.root = Path(root)
        self.registry_path = registry_path
        self.state = state  # the archive's state: its image index and data root, for the images HiPS
        # one build at a time, in a daemon thread: a build that does not stop in time (say it is still
        # importing lsdb) cannot hold the archive's exit; its hidden temporary folder goes at the next start
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._worker = threading.Thread(target=self._work, name="hips-build", daemon=True)
        self._worker.start()
        self._lock = threading.Lock()
        self._builds: dict[str, Future] = {}
        self._failed: dict[str, float] = {}  # name -> when its last build failed
        self._stopping = threading.Event()
        self._tables_cache: tuple | None = None  # ((mtime_ns, size) of the registry, its tables)
        self._remove_stale_temporaries()

    def placeholder(self, name: str) -> bool:
        """Whether ``name`` is the empty ``sky`` made while the registry had no catalogue (to be replaced)."""
        if name != SKY:
            return False
        try:
            return PLACEHOLDER.encode() in (self.root / SKY / "properties").read_bytes()
        except OSError:
            return False

    # -- what exists -------------------------------------------------------------------------------

    def _tables(self) -> dict[str, object]:
        """Registry tables with positions, by HiPS slug; read again only when the registry changed (its
        file or its write-ahead log: a request for an unknown HiPS name costs two ``stat``, not a read)."""
        if self.registry_path is None:
            return {}
        version = []
        for path in (Path(self.registry_path), Path(f"{self.registry_path}-wal")):
            try:
                st = os.stat(path)
                version.append((st.st_mtime_ns, st.st_size))
            except OSError:
                if not version:
                    return {}
                version.append(None)
        cached = self._tables_cache
        if cached is not None and cached[0] == version:
            return cached[1]
        tables = self._read_tables()
        self._tables_cache = (version, tables)
        return tables

    def _read_tables(self) -> dict[str, object]:
        from platform_lib.catalogs import Registry

        reg = Registry(self.registry_path, readonly=True)
        try:
            out = {}
            for name in reg.tables():
                info = reg.get(name)
                if info.hats_path is not None and info.ra_column:
                    out[slug(info.full_name)] = info
            return out
        finally:
            reg.close()

    def listing(self) -> list[dict[str, object]]:
        """Every built HiPS: ``name``, ``title``, ``type``, ``order``, ``rows``."""
        from platform_lib.viz import read_hips_properties

        out = []
        if self.root.is_dir():
            for d in sorted(self.root.iterdir()):
                if d.name.startswith(".") or not (d / "properties").is_file():
                    continue
                p = read_hips_properties(d / "properties")
                out.append({"name": d.name, "title": p.get("obs_title", d.name),
                            "type": p.get("dataproduct_type", ""), "order": int(p.get("hips_order", 0)),
                            "rows": int(p["hips_cat_nrows"]) if "hips_cat_nrows" in p else None})
        return out

    # -- building ----------------------------------------------------------------------------------

    def schedule_missing(self, start: bool = True) -> list[str]:
        """Start building every HiPS the registry calls for and the folder lacks; return their names (``start``
        False: only their names, nothing started)."""
        try:
            tables = self._tables()
        except Exception:  # a registry being written by an ingest: try again at the next listing
            log.warning("HiPS: could not read the registry", exc_info=True)
            return []
        names = [SKY] if not (self.root / SKY / "properties").exists() else []
        if not (self.root / IMAGES / "properties").exists() and self._public_images():
            names.append(IMAGES)
        for s in tables:
            for name in (s, f"{s}-density"):
                if not (self.root / name / "properties").exists():
                    names.append(name)
        for name in names if start else ():
            self.ensure(name)
        return names

    def known(self, name: str) -> bool:
        """Whether ``name`` is a HiPS this library can build (or has)."""
        if (self.root / name / "properties").exists() or name == SKY:
            return True
        if name == IMAGES:
            return bool(self._public_images())
        base = name[:-len("-density")] if name.endswith("-density") else name
        return base in self._tables()

    def build_background(self) -> Future:
        """Build ``sky``, the viewer's default background, now (the archive's start): before, a new user's first
        view waited for it, a black sky for 20 s and more on a loaded machine. With no catalogue yet (the sample
        data still loading) it is the empty sky, replaced once one is loaded (:meth:`_work`)."""
        return self.ensure(SKY)

    def ensure(self, name: str) -> Future:
        """The build of ``name`` (already done, running, or started now); once :meth:`close` has been
        called, a future that fails with :class:`HipsStopped`."""
        with self._lock:
            if self._stopping.is_set():
                fut = Future()
                fut.set_exception(HipsStopped(f"HiPS {name!r} is not built: the archive is stopping"))
                return fut
            fut = self._builds.get(name)
            retry = fut is not None and fut.done() and fut.exception() is not None \
                and time.monotonic() - self._failed.get(name, 0.0) > RETRY_AFTER
            if fut is None or retry:
                fut = Future()
                self._queue.put((name, fut))
                self._builds[name] = fut
            return fut

    def close(self, timeout: float = STOP_WAIT) -> bool:
        """Stop building, for the archive's shutdown: builds not started are cancelled, the running one
        stops at its next step (a Dask task of its read, an order of catalogue tiles, an image tile:
        :class:`platform_lib.viz.HipsCancelled`) and is waited for up to ``timeout`` seconds. Each HiPS
        is written in a hidden temporary folder and renamed into place when complete, so a stopped build
        leaves nothing half-written behind. True if no build still runs."""
        self._stopping.set()
        with self._lock:
            for fut in self._builds.values():
                fut.cancel()  # those not started
            running = [f for f in self._builds.values() if not f.done()]
        self._queue.put(None)
        deadline = time.monotonic() + timeout
        for fut in running:
            try:
                fut.exception(timeout=max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                log.warning("HiPS: a build still runs %.0f s after the stop; the archive exits without it "
                            "(nothing half-written is visible; its temporary folder goes at the next start)",
                            timeout)
                return False
            except CancelledError:
                pass
        return True

    def _work(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=SKY_RECHECK)
            except queue.Empty:  # idle: replace the empty sky once the registry has a catalogue
                failed = self._failed.get(SKY)  # a failed replacement: tried again after RETRY_AFTER, as ensure()
                if (failed is None or time.monotonic() - failed > RETRY_AFTER) and self.placeholder(SKY) \
                        and self._catalogues():
                    with self._lock:  # as ensure() does, so that close() cancels it
                        if self._stopping.is_set():
                            continue
                        item = (SKY, Future())
                        self._builds[SKY] = item[1]  # a request meanwhile waits for this build
                    log.info("HiPS %s: a catalogue is loaded; replacing the empty sky with its density map", SKY)
                else:
                    continue
            if item is None:
                return
            name, fut = item
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(self._build(name))
            except BaseException as exc:  # kept in the future: the waiting request answers with it
                fut.set_exception(exc)

    def _catalogues(self) -> dict[str, object]:
        """:meth:`_tables`, or none while the registry cannot be read (an ingest writing it: looked at again later)."""
        try:
            return self._tables()
        except Exception:
            return {}

    def _remove_stale_temporaries(self) -> None:
        """Remove the hidden temporary folders (``.<name>.*``) that a killed archive's builds left."""
        if not self.root.is_dir():
            return
        now = time.time()
        for d in self.root.iterdir():
            try:
                if d.name.startswith(".") and d.is_dir() and now - d.stat().st_mtime > STALE_TMP:
                    shutil.rmtree(d, ignore_errors=True)
                    log.info("HiPS: removed %s, left by a build that did not finish", d)
            except OSError:  # removed meanwhile by another process sharing the folder
                pass

    def _build(self, name: str) -> Path:
        from platform_lib.viz import build_catalog_hips, build_density_hips

        dest = self.root / name
        tables = self._tables()
        # the empty sky is replaced once a catalogue is loaded; any other HiPS in place is kept
        replace = self.placeholder(name) and bool(tables)
        if (dest / "properties").exists() and not replace:
            return dest
        stop = self._stopping  # each builder stops at its next step once it is set (HipsCancelled)
        log.info("HiPS %s: building", name)
        try:
            if name == SKY:
                if tables:
                    biggest = max(tables.values(), key=lambda t: t.nrows)
                    dense = self.root / f"{slug(biggest.full_name)}-density"
                    if not (dense / "properties").exists():
                        try:
                            self._put_in_place(dense, lambda out: build_density_hips(
                                biggest.hats_path, out, title=f"{biggest.full_name} star density", cancel=stop))
                        except OSError:
                            if not (dense / "properties").exists():  # else another replica's, just as good
                                raise
                    self._put_in_place(dest, lambda out: shutil.copytree(dense, out), replace=replace)
                else:
                    self._put_in_place(dest, lambda out: self._write_empty_sky(out, stop))
            elif name == IMAGES:
                self._put_in_place(dest, lambda out: self._build_images(out, stop))
            elif name.endswith("-density"):
                info = tables[name[:-len("-density")]]
                self._put_in_place(dest, lambda out: build_density_hips(
                    info.hats_path, out, title=f"{info.full_name} star density", cancel=stop))
            else:
                info = tables[name]
                self._put_in_place(dest, lambda out: build_catalog_hips(info.hats_path, out, title=info.full_name,
                                                                        cancel=stop))
            log.info("HiPS %s built in %s", name, dest)
            return dest
        except Exception as exc:
            # another replica sharing the folder finished it first: its HiPS (not the empty sky this build replaces)
            if (dest / "properties").exists() and not (replace and self.placeholder(name)):
                log.info("HiPS %s: built meanwhile by another archive sharing the folder (%s)", name, exc)
                return dest
            self._failed[name] = time.monotonic()
            if self._stopping.is_set():  # whatever the stop interrupted: one line, the temporary folder gone
                log.info("HiPS %s: build stopped by the archive's shutdown (%s)", name, exc)
                raise HipsStopped(f"HiPS {name!r} is not built: the archive is stopping") from None
            log.error("HiPS %s could not be built: %s", name, exc, exc_info=True)
            raise

    @staticmethod
    def _write_empty_sky(out: Path, stop: threading.Event) -> None:
        """The empty sky (all zero, one order), marked as a placeholder in its ``properties``."""
        import numpy as np

        from platform_lib.viz import write_density_hips

        write_density_hips(np.zeros(12 * 4**3), out, title="empty sky (no catalogue loaded yet)", level=0,
                           cancel=stop)
        with open(out / "properties", "a", encoding="utf-8") as fh:
            fh.write(f"{PLACEHOLDER} = replaced by the largest catalogue's density map once one is loaded\n")

    def _put_in_place(self, dest: Path, write, replace: bool = False) -> None:
        """``write(folder)`` a HiPS into a hidden folder of this build's own (``.<name>.<random>/<name>``: the
        folder may be shared by archive replicas, each with its own; the stale-folder cleanup removes one a
        killed archive left), then rename it to ``dest`` when whole: atomic, and never over a HiPS in place
        (the rename fails on one that another replica put there first, and :meth:`_build` answers with it;
        replacing it would leave a moment with no HiPS, a 404 for a request then). With ``replace`` (the
        empty sky, once a catalogue is loaded) the HiPS in place is first moved into the hidden folder: a
        request in the moment between the two renames waits for this build (:meth:`ensure`)."""
        # a name of its own, made by the writer only once it writes (a build stopped before, say still
        # importing lsdb when the archive exits, leaves nothing)
        stage = self.root / f".{dest.name}.{secrets.token_hex(8)}"
        try:
            out = stage / dest.name
            write(out)
            os.chmod(out, 0o755)
            if replace:
                try:
                    os.rename(dest, stage / "replaced")
                except FileNotFoundError:  # another replica's build has just moved it
                    pass
            os.rename(out, dest)  # ENOTEMPTY (or EEXIST) on a dest already in place
        finally:
            shutil.rmtree(stage, ignore_errors=True)

    def _public_images(self) -> list[dict]:
        """The archive's public image records (an anonymous viewer's SIA answer): proprietary ones never
        go into a HiPS everyone can read."""
        index_path = getattr(self.state, "index_path", None)
        if index_path is None or not Path(index_path).exists():
            return []
        from platform_lib.imageindex import ImageQuery, Viewer

        try:
            records, _ = self.state.index().query(ImageQuery(), Viewer(), maxrec=MAX_IMAGES)
        except Exception:  # an index being rebuilt: try again at the next listing
            log.warning("HiPS: could not read the image index", exc_info=True)
            return []
        return records

    def _build_images(self, dest: Path, stop: threading.Event) -> None:
        import numpy as np
        from astropy.io import fits
        from astropy.wcs import WCS

        from platform_lib.viz import write_image_hips

        root = Path(self.state.data_root).resolve()
        images, scales = [], []
        for rec in self._public_images():
            if stop.is_set():
                raise HipsStopped("the archive is stopping")
            path = (root / rec["file_path"]).resolve()
            if not path.is_relative_to(root) or not path.is_file():
                continue
            try:
                with fits.open(path, memmap=False) as hdul:
                    for hdu in hdul:
                        if hdu.data is None or hdu.data.ndim < 2:
                            continue
                        wcs = WCS(hdu.header).celestial
                        if wcs.naxis != 2 or not wcs.has_celestial:
                            continue
                        data = np.asarray(hdu.data, dtype=np.float32)
                        while data.ndim > 2:
                            data = data[0]
                        images.append((data, wcs))
                        scales.append(float(np.abs(wcs.proj_plane_pixel_scales()[0].to_value("deg"))))
                        break
            except Exception as exc:  # one unreadable file does not stop the HiPS
                log.warning("HiPS images: %s skipped: %s", path, exc)
        if not images:
            raise RuntimeError("no public image with a celestial WCS in the archive")
        # HiPS level: tile pixels (order level + 9) no finer than the finest image, at most IMAGE_LEVEL_MAX
        finest = max(min(scales), 1e-6)
        level = int(np.clip(np.ceil(np.log2(58.6 / finest)) - 9, 0, IMAGE_LEVEL_MAX))
        write_image_hips(images, dest, title="archive images", level=level, cancel=stop)


class _HipsBase(HipsErrors):
    def initialize(self, library: HipsLibrary, state) -> None:
        self.library = library
        self.state = state

    def set_default_headers(self) -> None:
        self.set_header("Access-Control-Allow-Origin", "*")


class HipsListHandler(_HipsBase):
    def get(self, fmt: str | None = None) -> None:
        # ?build=no: the list alone (the viewer's did-you-mean for a mistyped survey), no build started
        building = self.library.schedule_missing(start=self.get_query_argument("build", "yes") != "no")
        items = self.library.listing()
        base = self.state.prefix + "hips/"
        if fmt:
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"hips": [{**i, "url": base + i["name"] + "/"} for i in items],
                                    "building": building}))
            return
        rows = "".join(
            f"<tr><td><a href='{html.escape(base + i['name'])}/properties'>{html.escape(i['name'])}</a></td>"
            f"<td>{html.escape(str(i['title']))}</td><td>{html.escape(str(i['type']))}</td>"
            f"<td>{i['order']}</td><td>{'' if i['rows'] is None else i['rows']}</td></tr>"
            for i in items)
        note = f"<p>Being built: {html.escape(', '.join(building))}</p>" if building else ""
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(
            "<!doctype html><html><head><meta charset='utf-8'><title>HiPS of this archive</title></head><body>"
            "<h1>HiPS of this archive</h1><p>Open one in a notebook with "
            "<code>platform_lib.viz.Aladin(survey=...)</code> or <code>viz.show(...)</code>. Your own HiPS "
            "(a job output's, <code>viz.job_hips(job)</code>) are listed, with your token, at "
            f"<code>{html.escape(base)}~/</code>.</p>"
            f"{note}<table border='1'><tr><th>name</th><th>title</th><th>type</th><th>max order</th>"
            f"<th>sources</th></tr>{rows}</table></body></html>")


class HipsFileHandler(_HipsBase):
    """A file of a HiPS: the first request of each (and whatever :class:`TileRouter` leaves: a HiPS to build,
    a bad name, another method). Every HiPS of the library is public: once served here, a file is
    answered by the router from :class:`TileCache` without this handler."""

    quiet_access_log = True  # tiles and their 404s are routine: the archive logs only errors of this route
    #: Whether the files this handler serves may then be answered by :class:`TileRouter` with no check of
    #: the caller (true for the library's HiPS, which anyone may read; false for a subclass that checks).
    routed = True

    def initialize(self, library: HipsLibrary, state, cache: TileCache) -> None:
        super().initialize(library, state)
        self.cache = cache

    def compute_etag(self) -> None:  # set from the file's size and time, never a hash of each body
        return None

    async def head(self, name: str, rel: str) -> None:
        await self.get(name, rel, head=True)

    async def get(self, name: str, rel: str, head: bool = False) -> None:
        rel = "/".join(part for part in rel.split("/") if part)  # Aladin Lite asks for <survey>//properties
        if not _SAFE.match(name) or len(rel) > _MAX_REL or \
                any(not _SAFE.match(part) for part in rel.split("/") if part):
            raise tornado.web.HTTPError(404, f"no HiPS file {name}/{rel}")
        root = self.library.root / name
        path = root / (rel or "properties")
        # a built HiPS: one stat, the rest from memory; the empty sky's tiles are not kept by browsers
        lasting = not (self.routed and self.library.placeholder(name))
        packed_in = None if self.routed else root  # a user's HiPS keeps its deeper orders packed (add_rest)
        served = self.cache.get(path, public=self.routed, lasting=lasting, packed_in=packed_in)
        if served is None and not (root / "properties").exists():
            if not self.library.known(name):
                raise tornado.web.HTTPError(404, f"no HiPS called {name!r}; the list is at {self.state.prefix}hips/")
            try:
                await asyncio.wrap_future(self.library.ensure(name))
            except HipsStopped:
                raise tornado.web.HTTPError(503, f"HiPS {name!r} is not built: the archive is stopping") from None
            except Exception as exc:
                raise tornado.web.HTTPError(404, f"HiPS {name!r} could not be built: {exc}") from None
            lasting = not (self.routed and self.library.placeholder(name))  # known now that it is built
            served = self.cache.get(path, public=self.routed, lasting=lasting, packed_in=packed_in)
        if self.routed:
            self.cache.publish_root(root)
        if served is None:  # an empty sky cell: normal for a viewer, so answered without a log line
            self.set_status(404)
            self.set_header("Content-Type", "text/plain; charset=utf-8")
            props = root / "properties"
            self.finish(missing_reason(name, rel or "properties", props.read_bytes() if props.is_file() else None))
            return
        for header, value in served.headers:
            self.set_header(header, value)
        if served.not_modified(self.request.headers.get("If-None-Match"), self.request.headers.get("If-Modified-Since")):
            self.set_status(304)
            self.finish()
            return
        body = served.body
        if served.gz is not None and "gzip" in self.request.headers.get("Accept-Encoding", ""):
            self.set_header("Content-Encoding", "gzip")
            body = served.gz
        if head:
            self.set_header("Content-Length", len(body))
            self.finish()
        else:
            self.finish(body)


class UserHipsFileHandler(HipsFileHandler):
    """A file of a user's HiPS (``hips/~/<name>/<path>``), served as any HiPS to a request with no token
    (Aladin Lite in a browser: the name is the key) or with the token of its owner or of a member of a
    group it is shared with; a request with anyone else's token gets 404, as if it did not exist. DELETE
    by its owner. Never answered by the :class:`TileRouter` (which serves public HiPS only): each request
    passes the check above."""

    routed = False

    async def get(self, name: str, rel: str, head: bool = False) -> None:
        if Authenticator.token_of(self) and not await self._may_read(name):
            raise tornado.web.HTTPError(404, f"no HiPS called {name!r} that you may read (yours, or shared with "
                                             "a group of yours: GET hips/~/ lists them)")
        await self._wait_for_order(name, rel)
        await super().get(name, rel, head=head)

    async def _may_read(self, name: str) -> bool:
        """Whether this request's token may read the HiPS ``name``: its owner by her name alone (her groups are not
        asked, so a hub that cannot say them does not keep her from her own HiPS), anyone else by their groups
        when it is shared with a group (:meth:`UserHipsStore.group_decides`); a refusal on the user's kept groups
        is asked of the hub again (one just added to the group it is shared with is let in at once; a removal
        takes ``Authenticator.group_recheck_seconds``)."""
        decides = functools.partial(self.library.group_decides, name)
        viewer = await signed_in_viewer(self, self.state, group_decides=decides)
        if self.library.readable(name, viewer):
            return True
        if not decides(viewer):
            return False
        return self.library.readable(name, await signed_in_viewer(self, self.state, fresh_groups=True,
                                                                  group_decides=decides))

    async def _wait_for_order(self, name: str, rel: str) -> None:
        """A tile of an order still to come (the HiPS's first part is kept, its owner's notebook sends the rest:
        :meth:`UserHipsStore.add_rest`) is answered once that order is there, or after :data:`REST_WAIT` seconds
        (then as a tile that is not there: 404), so that a viewer that asked for it early draws it."""
        parts = [p for p in rel.split("/") if p]
        order = parts[0][len("Norder"):] if parts and parts[0].startswith("Norder") else ""
        if not order.isdigit() or (self.library.root / name / Path(*parts)).exists():
            return
        deadline = time.monotonic() + REST_WAIT
        while time.monotonic() < deadline:
            first = self.library.building(name)
            if first is None or int(order) < first:
                return
            await asyncio.sleep(REST_POLL)

    async def delete(self, name: str, rel: str) -> None:
        owner = await signed_in_user(self, self.state)
        if rel.strip("/"):
            raise tornado.web.HTTPError(405, "DELETE a whole HiPS: hips/~/<name>")
        try:  # in a thread: the store's lock (shared with other replicas) and removing thousands of tiles take a while
            await asyncio.get_running_loop().run_in_executor(getattr(self.state, "executor", None),
                                                             self.library.delete, owner, name)
        except UserHipsError as exc:
            raise tornado.web.HTTPError(exc.status, str(exc)) from None
        self.set_status(204)
        self.finish()


class AladinLiteHandler(HipsErrors, tornado.web.StaticFileHandler):
    """``aladin-lite/<file>``: the viewer's files, from the npm package, ``aladin.js`` with the platform's fixes
    (:func:`astrohub_archive.aladin_lite.patched`, made once per version of the file); errors as the HiPS
    routes answer them."""

    head = tornado.web.StaticFileHandler.head  # its own (headers without reading the file), not HeadAsGet's
    _patched: dict[tuple[str, int, int], bytes] = {}  # (path, mtime_ns, size) -> aladin.js as served

    @classmethod
    def _served(cls, abspath: str) -> bytes | None:
        """The bytes served for ``abspath`` when they are not the file's own (``aladin.js``), else None."""
        if os.path.basename(abspath) != "aladin.js":
            return None
        st = os.stat(abspath)
        key = (abspath, st.st_mtime_ns, st.st_size)
        if key not in cls._patched:
            cls._patched = {key: patched(Path(abspath).read_bytes())}  # the one file; a new version replaces it
        return cls._patched[key]

    @classmethod
    def get_content(cls, abspath: str, start: int | None = None, end: int | None = None):
        served = cls._served(abspath)
        if served is None:
            return super().get_content(abspath, start, end)
        return served[start:end]

    def get_content_size(self) -> int:
        served = self._served(self.absolute_path)
        return super().get_content_size() if served is None else len(served)

    def validate_absolute_path(self, root: str, absolute_path: str) -> str | None:
        if "\x00" in absolute_path:  # tornado would stat it: ValueError, a 500
            raise tornado.web.HTTPError(404, "no such Aladin Lite file")
        try:
            return super().validate_absolute_path(root, absolute_path)
        except tornado.web.HTTPError as exc:
            if exc.status_code == 404 and not exc.log_message:
                raise tornado.web.HTTPError(404, f"no Aladin Lite file {self.path!r}") from None
            raise

    def set_extra_headers(self, path: str) -> None:
        self.set_header("Access-Control-Allow-Origin", "*")
        self.set_header("Cache-Control", "public, max-age=86400")


class _MissingAladin(_HipsBase):
    def get(self, rel: str) -> None:
        raise tornado.web.HTTPError(404, "Aladin Lite is not installed here: run `make install` "
                                         "(npm install --prefix .npm aladin-lite) or set ASTROHUB_ARCHIVE_ALADIN_LITE")


def hips_root(state) -> Path:
    """The archive's ``--hips`` folder (``ASTROHUB_ARCHIVE_HIPS``), else the ``hips`` folder beside the
    archive's image tree, else (that tree read-only, as the Kubernetes datasets volume is) ``astrohub-hips``
    in the temporary directory."""
    chosen = getattr(state, "hips_dir", None) or os.environ.get("ASTROHUB_ARCHIVE_HIPS")
    if chosen:
        return Path(chosen)
    beside = Path(state.data_root).parent / "hips"
    if beside.is_dir() and os.access(beside, os.W_OK) or not beside.exists() and os.access(beside.parent, os.W_OK):
        return beside
    log.warning("HiPS: %s is not writable; building HiPS in the temporary directory "
                "(give --hips / ASTROHUB_ARCHIVE_HIPS a writable folder to keep them across restarts)", beside)
    return Path(tempfile.gettempdir()) / "astrohub-hips"


def hips_routes(prefix: str, state) -> list:
    """The HiPS and Aladin Lite routes for the archive application, sharing one :class:`HipsLibrary`."""
    library = HipsLibrary(hips_root(state), getattr(state, "registry_path", None), state)
    state.hips = library
    users = UserHipsStore(library.root, getattr(state, "hips_owner_max", OWNER_MAX),
                          getattr(state, "hips_total_max", TOTAL_MAX), getattr(state, "hips_rest_expiry", None))
    users.remove_leftovers(STALE_TMP)
    users.remove_abandoned()
    kw = {"library": library, "state": state}
    cache = TileCache(TILE_CACHE_BYTES)
    files = {**kw, "cache": cache}
    aladin = aladin_lite_dir()
    static = ((prefix + r"aladin-lite/(.*)", AladinLiteHandler, {"path": str(aladin)}) if aladin
              else (prefix + r"aladin-lite/(.*)", _MissingAladin, kw))
    return [
        (prefix + r"hips/~/?", UserHipsListHandler,
         {"store": users, "state": state, "max_upload": getattr(state, "hips_upload_max", MAX_UPLOAD)}),
        (prefix + r"hips/~/([^/]+)/rest/?", UserHipsRestHandler,
         {"store": users, "state": state, "max_upload": getattr(state, "hips_upload_max", MAX_UPLOAD)}),
        (prefix + r"hips/~/([^/]+)/shares/?([^/]*)", UserHipsSharesHandler, {"store": users, "state": state}),
        (prefix + r"hips/~/([^/]+)/?(.*)", UserHipsFileHandler, {"library": users, "state": state, "cache": cache}),
        (prefix + r"hips/?", HipsListHandler, kw),
        (prefix + r"hips/(index\.json)", HipsListHandler, kw),
        (prefix + r"hips/([^/]+)/?(.*)", TileRouter(library.root, cache, _SAFE)),  # files served before
        (prefix + r"hips/([^/]+)/?(.*)", HipsFileHandler, files),  # the rest, and each file's first request
        static,
    ]
