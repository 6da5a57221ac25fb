"""Users' own HiPS (say a crossmatch job's output): uploaded by their owner, served at an unguessable URL.

A HiPS built in a user's notebook (on their Dask cluster, :func:`platform_lib.viz.job_hips`) is sent to
the archive as a tar archive (``POST hips/~/?title=...`` with the owner's token). The body is streamed
to a hidden spool file in ``<hips root>/~users/`` as it arrives, never held in memory, so this one route
takes bodies beyond the server's request limit (64 MiB, :data:`astrohub_archive.app.MAX_BODY`) up to
:data:`MAX_UPLOAD` (the archive's ``--hips-upload-max``); a bigger one is answered 413 naming that limit
before its body is read (or as soon as a chunked body passes it), and an upload cut off midway leaves
no file behind. The owner is checked before a byte of the body is read. The archive then checks the
tar (:func:`platform_lib.viz.validate_hips`: layout, every tile parses, the rows add up; at most
:data:`MAX_UNPACKED` bytes unpacked, no paths outside its folder) and keeps it as
``hips/~/<name>/`` where ``<name>`` ends in a random key. That URL is the only way to it, as for the
archive's anonymous UWS jobs: Aladin Lite in the owner's browser fetches its tiles without a token, so
the key is the credential. Each owner keeps at most :data:`MAX_PER_OWNER` HiPS (429 beyond) holding at
most their byte budget between them (:data:`OWNER_MAX`, the archive's ``--hips-owner-max``; unpacked bytes
on disk, recorded as ``bytes`` in each owner record at upload): an upload whose body is bigger than the
room the owner has left is answered 413 before its body is read (or once a chunked body passes it), and
so is one that unpacks to more (checked while unpacking, then on the disk, under the store's lock, before
it is kept); nothing of a refused upload is kept. All users' HiPS together hold at most the archive's budget
for them (:data:`TOTAL_MAX`, ``--hips-total-max``), checked at the same four points as an owner's (after
it): an upload past it is answered 507 Insufficient Storage, naming the limit and how the operator raises it
(the room that is short is the archive's, shared by every user, not the caller's own: the server's
condition, not a request larger than it takes from this user, which is 413). An upload under way counts
against both from its first step (:class:`Reservation`: its declared length, or what came so far, or what
it unpacked so far, whichever is larger, held in a file under ``~owners/.uploads`` with a ``flock`` until
the request ends, however it ends), so that many uploads at once cannot each pass and together overfill
the folder. The last check of both, under
the store's lock just before a HiPS is kept, is what keeps concurrent uploads together within them; that
lock is a thread lock and a ``flock`` on ``~owners/.lock``, so that archive replicas sharing the folder (the
chart's ``replicas`` with a shared claim) keep within them too. ``GET hips/~/`` lists the caller's own HiPS
(nobody else's; 401 without a token) with each one's ``bytes``, their ``used`` and ``budget``, all users'
``total_used`` and ``total_budget``, ``room_left`` (:meth:`UserHipsStore.room`), and ``expired``: theirs removed
as abandoned in the last day (:meth:`UserHipsStore.expired`);
``DELETE hips/~/<name>`` removes one of the caller's (404 for anyone else's, as if it did not exist).
Its owner shares one with a hub group they belong to (``PUT hips/~/<name>/shares/<group>``; a shared
workspace is its hub group ``ws-<name>``; 403 for a group they are not in): the group's members find it in
their ``GET hips/~/`` (``shared_with_me``) and read its files with their own token, as the groups of
proprietary images are checked (:class:`~platform_lib.imageindex.Viewer`, its groups from the hub); any
other token is still answered 404. While the hub cannot be asked for the caller's groups, ``GET hips/~/``
still lists their own HiPS, without those shared with their groups, and says so (``shared_with_me_left_out``
and the header :data:`~astrohub_archive.auth.HUB_UNASKED_HEADER`). ``DELETE hips/~/<name>/shares/<group>`` stops sharing, and gives the
HiPS a new name, since a member may have kept the old URL, which is the key to its tiles (its ``id``, the
first name, stays). The folders
live in ``<hips root>/~users/`` (a name the public ``hips/<name>`` route never serves, kept by the
stale-folder cleanup that only removes hidden ones), each owner recorded beside them in
``~owners/<name>.json``. A large table's HiPS comes in two parts (:func:`platform_lib.viz._hips.catalog_hips_parts`):
the whole-sky orders as any upload (its ``properties`` say ``astrohub_building``, its record ``building``), then
``POST hips/~/<name>/rest`` with the deeper orders (:meth:`UserHipsStore.add_rest`: each tile checked as the tar
is read, all of them kept in one file that they are served from), counted and bounded as an upload. While its kernel builds and sends the rest, it says so every quarter of the rest's expiry (``PUT
hips/~/<name>/rest``, :meth:`UserHipsStore.keep_alive`; the first part's answer gives ``rest_expiry``). One
that has had no word for the rest's expiry (the archive's ``--hips-rest-expiry``, :data:`REST_STALE` by
default: its kernel stopped, say, or the rest was refused) is abandoned: the next look at the records (a
listing, an upload's reservation, the archive's start) removes it, freeing its room and its place, and its
owner's listing names it under ``expired`` with the reason for a day.
May import tornado, platform_lib.viz and platform_lib.atomic, and this package's faults, auth (its header), base
and ``_tiles``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import gzip
import io
import json
import logging
import os
import re
import secrets
import shutil
import sys
import tarfile
import tempfile
import threading
import time
import zlib
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import tornado.web
from platform_lib.atomic import write_atomic
from platform_lib.urlpath import not_utf8

from astrohub_archive._tiles import PACK, PACK_INDEX, TilePack
from astrohub_archive.auth import HUB_UNASKED_HEADER
from astrohub_archive.base import HeadAsGet, allowed_methods, not_allowed
from astrohub_archive.faults import AuthFault, HubUnavailableFault

__all__ = ["HipsErrors", "Reservation", "UserHipsStore", "UserHipsError", "UserHipsListHandler", "UserHipsRestHandler",
           "UserHipsSharesHandler",
           "USERS", "MAX_PER_OWNER", "MAX_UPLOAD", "OWNER_MAX", "TOTAL_MAX", "signed_in_user",
           "signed_in_viewer"]

log = logging.getLogger("astrohub_archive")

#: The folder of users' HiPS inside the HiPS root, and the URL segment after ``hips/``.
USERS = "~users"
OWNERS = "~owners"
#: The most HiPS one user keeps on the archive (each replaced or deleted by its owner).
MAX_PER_OWNER = 20
#: The most bytes (unpacked) one upload may hold.
MAX_UNPACKED = 2 * 2**30
#: The most bytes one upload's body (the tar as sent, gzipped or not) may hold, by default (the archive's
#: ``--hips-upload-max``, ``ASTROHUB_ARCHIVE_HIPS_UPLOAD_MAX``, in MiB, sets it).
MAX_UPLOAD = 2 * 2**30
#: The most bytes (unpacked, on disk) one owner's HiPS may hold between them, by default (the archive's
#: ``--hips-owner-max``, ``ASTROHUB_ARCHIVE_HIPS_OWNER_MAX``, in MiB, sets it).
OWNER_MAX = 4 * 2**30
#: The most bytes (unpacked, on disk) all users' HiPS may hold between them, by default (the archive's
#: ``--hips-total-max``, ``ASTROHUB_ARCHIVE_HIPS_TOTAL_MAX``, in MiB, sets it; the chart's
#: ``archive.hips.totalMaxMiB``). 12 GiB: within the chart's default HiPS folder (an emptyDir of 20 GiB,
#: which Kubernetes empties by evicting the pod once it is full) with room for one upload under way (its
#: body and its unpacking, 2 GiB each at most) and the archive's own HiPS.
TOTAL_MAX = 12 * 2**30
#: Seconds after its first part was kept, or after its kernel last said it is still building the deeper orders
#: (:meth:`UserHipsStore.keep_alive`), that a HiPS whose deeper orders never came (its kernel stopped, say) is
#: abandoned, by default (the archive's ``--hips-rest-expiry``, ``ASTROHUB_ARCHIVE_HIPS_REST_EXPIRY``; the
#: chart's ``archive.hips.restExpirySeconds``; :class:`UserHipsStore`'s ``rest_stale``): it is removed, freeing
#: its room and its place among its owner's :data:`MAX_PER_OWNER`, and its owner's listing says so (``expired``).
REST_STALE = 600.0
#: The shortest rest expiry an operator may set (``--hips-rest-expiry``): the kernel says it is alive every
#: quarter of it, so shorter would send a request every few seconds from every kernel building a HiPS.
MIN_REST_STALE = 20.0
#: Seconds an abandoned HiPS stays named in its owner's listing (``expired``) after it was removed.
EXPIRED_KEPT = 86400.0
#: The name of an upload's spool file in ``~users`` (hidden: never served, removed when stale).
_SPOOL_PREFIX = ".upload-"
#: The folder in ``~owners`` of the reservations of uploads under way (:class:`Reservation`).
_UNDER_WAY = ".uploads"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_+-]{0,200}$")
#: A hub group's name as a HiPS may be shared with it (one URL path segment).
_GROUP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,200}$")
#: The reservations this process holds, by their file's name (random): looked at from this process, one is
#: counted as held, never probed with a lock of its own. On an NFS claim (the chart's HiPS folder shared by
#: replicas) Linux makes ``flock`` a POSIX lock, which belongs to the process: a probe from this process
#: would get the lock of its own upload under way, take the file for one a killed archive left, and drop
#: the lock by closing its descriptor. Process-wide because such locks are.
_HELD: dict[str, Reservation] = {}


class UserHipsError(ValueError):
    """An upload the archive refuses; ``status`` is the HTTP answer (400, 404, 413, 429, 507)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class UserHipsStore:
    """The users' HiPS folders under ``<hips root>/~users`` and their owners (one lock for writes);
    ``owner_max``: the bytes one owner's HiPS may hold between them (:data:`OWNER_MAX`); ``total_max``: the
    bytes all users' HiPS may hold between them (:data:`TOTAL_MAX`); ``rest_stale``: the seconds a HiPS sent in
    two parts waits for its rest before it is abandoned (:data:`REST_STALE`, :meth:`_abandon`)."""

    def __init__(self, hips_root: Path, owner_max: int = OWNER_MAX, total_max: int = TOTAL_MAX,
                 rest_stale: float | None = None) -> None:
        self.root = Path(hips_root) / USERS
        self.owners = Path(hips_root) / OWNERS
        self.owner_max = owner_max
        self.total_max = total_max
        self._rest_stale = rest_stale
        self._lock = threading.RLock()  # re-entered: a listing under the lock may count a record
        self._depth = 0  # how deep the thread that holds the lock is in :meth:`_kept`

    @property
    def rest_stale(self) -> float:
        """The seconds a HiPS sent in two parts waits for its rest (``rest_stale``, else :data:`REST_STALE`)."""
        return REST_STALE if self._rest_stale is None else self._rest_stale

    # the HiPS file handler's questions: a user's HiPS is never built here on request
    def known(self, name: str) -> bool:
        return False

    def owner_of(self, name: str) -> str | None:
        return (self.record(name) or {}).get("owner")

    def record(self, name: str) -> dict | None:
        """The owner record of the HiPS ``name`` (None when there is none, or ``name`` is no HiPS name)."""
        if not _NAME.match(name):
            return None
        try:
            meta = json.loads((self.owners / f"{name}.json").read_text())
        except (OSError, ValueError):
            return None
        return meta if isinstance(meta, dict) and isinstance(meta.get("owner"), str) else None

    def readable(self, name: str, viewer) -> bool:
        """Whether ``viewer`` (a :class:`~platform_lib.imageindex.Viewer`) may read the HiPS ``name`` with
        their token: its owner, or a member of a group it is shared with."""
        meta = self.record(name)
        return meta is not None and (meta["owner"] == viewer.user or bool(set(_groups(meta)) & set(viewer.groups)))

    def group_decides(self, name: str, viewer) -> bool:
        """Whether ``viewer``'s groups decide if they may read the HiPS ``name`` (:meth:`readable`): it is someone
        else's and shared with a group. Its owner reads it by name alone, and nobody else reads one shared with
        no group, so their groups need not be asked (of a hub that may be down)."""
        meta = self.record(name)
        return meta is not None and meta["owner"] != viewer.user and bool(_groups(meta))

    def shared_by_others(self, viewer) -> bool:
        """Whether :meth:`shared_with` could list anything for ``viewer``: a HiPS of someone else's is shared with a
        group (their groups decide which)."""
        return any(meta.get("owner") != viewer.user and _groups(meta) for meta in self._records(None))

    def listing(self, owner: str) -> list[dict]:
        """The HiPS of ``owner``: ``name``, ``id`` (the first name it had: it stays when unsharing gives it a
        new name), ``title``, ``rows``, ``created``, ``type``, ``bytes`` (on disk), ``groups`` (those it is
        shared with), and ``building`` (the first order still to come) for one whose deeper orders are being sent. A record written before the budget (no ``bytes``) is counted from its folder once and
        kept so."""
        return [{**{k: meta.get(k) for k in ("name", "title", "rows", "created", "type", "bytes")},
                 "id": meta.get("id") or meta["name"], "groups": _groups(meta),
                 **({"building": meta["building"]} if "building" in meta else {})}
                for meta in self._records(owner)]

    def shared_with(self, viewer) -> list[dict]:
        """The HiPS of other users shared with a group of ``viewer``'s: ``name``, ``title``, ``rows``,
        ``created``, ``type``, ``owner``, ``groups`` (the viewer's groups it is shared with)."""
        mine = set(viewer.groups)
        return [{**{k: meta.get(k) for k in ("name", "title", "rows", "created", "type", "owner")},
                 "groups": sorted(set(_groups(meta)) & mine)}
                for meta in self._records(None)
                if meta.get("owner") != viewer.user and set(_groups(meta)) & mine]

    def share(self, viewer, name: str, group: str) -> dict:
        """Share ``viewer``'s HiPS ``name`` with the hub group ``group``, whose members then read it with their
        own token and see it in their listing; its record. :class:`UserHipsError` 404 when it is not theirs,
        400 for a name that is no group's, 403 when they are not a member of ``group`` (one shares only with
        a group one belongs to, as one copies only into one's own groups' workspaces)."""
        if not _GROUP.match(group):
            raise UserHipsError(f"{group!r} is not a group name (letters, digits, '.', '_', '@', '+', '-')")
        if group not in viewer.groups:
            raise UserHipsError(f"you ({viewer.user}) are not a member of the group {group!r}, so you cannot share "
                                f"with it; your groups: {', '.join(sorted(viewer.groups)) or 'none'}", 403)
        with self._kept():
            meta = self._own(viewer.user, name)
            if group not in _groups(meta):
                meta = {**meta, "groups": sorted({*_groups(meta), group})}
                _atomic_json(self.owners / f"{name}.json", meta)
        log.info("HiPS ~/%s: %s shared it with the group %s", name, viewer.user, group)
        return meta

    def unshare(self, owner: str, name: str, group: str) -> dict:
        """Stop sharing ``owner``'s HiPS ``name`` with ``group``; its new record. Its members may have kept the
        URL, which is the key to the tiles, so the HiPS gets a new name (a new key: the old URL answers 404),
        and its ``id`` stays. :class:`UserHipsError` 404 when it is not theirs, or not shared with ``group``."""
        with self._kept():
            meta = self._own(owner, name)
            if group not in _groups(meta):
                raise UserHipsError(f"your HiPS {name!r} is not shared with the group {group!r} (it is shared with: "
                                    f"{', '.join(_groups(meta)) or 'nobody'})", 404)
            renamed = f"{name.rsplit('-', 1)[0]}-{_key()}"
            meta = {**meta, "name": renamed, "id": meta.get("id") or name,
                    "groups": [g for g in _groups(meta) if g != group]}
            os.rename(self.root / name, self.root / renamed)
            _atomic_json(self.owners / f"{renamed}.json", meta)
            (self.owners / f"{name}.json").unlink(missing_ok=True)
        log.info("HiPS ~/%s: %s stopped sharing it with the group %s; it is now ~/%s", name, owner, group, renamed)
        return meta

    def _own(self, owner: str, name: str) -> dict:
        """The record of ``owner``'s HiPS ``name``; :class:`UserHipsError` 404 when it is not theirs (or gone:
        the message says why when it was abandoned)."""
        meta = self.record(name)
        if meta is None or meta["owner"] != owner or not (self.root / name / "properties").is_file():
            why = f": {meta['expired']['reason']}" if meta and meta["owner"] == owner and "expired" in meta else ""
            raise UserHipsError(f"no HiPS of yours called {name!r}{why}", 404)
        return meta

    def remove_abandoned(self) -> None:
        """Remove every user's HiPS abandoned by now (:meth:`_abandon`); a listing or an upload does it too."""
        self._records(None)

    def expired(self, owner: str) -> list[dict]:
        """The HiPS of ``owner`` removed as abandoned (:meth:`_abandon`) in the last :data:`EXPIRED_KEPT`
        seconds: ``name``, ``title``, ``created``, ``expired`` (when, UTC) and ``reason``. Older ones are forgotten."""
        self._records(owner)  # abandons those of theirs that are due
        out = []
        for rec in sorted(self.owners.glob("*.json")) if self.owners.is_dir() else ():
            try:
                meta = json.loads(rec.read_text())
            except (OSError, ValueError):
                continue
            gone = meta.get("expired") if isinstance(meta, dict) else None
            if not isinstance(gone, dict) or meta.get("owner") != owner or (self.root / rec.stem).exists():
                continue
            if time.time() - gone.get("at", 0) > EXPIRED_KEPT:
                rec.unlink(missing_ok=True)
                continue
            out.append({**{k: meta.get(k) for k in ("name", "title", "created")},
                        "expired": gone.get("when"), "reason": gone.get("reason")})
        return out

    def _stale(self, meta: dict) -> bool:
        """Whether ``meta`` is the record of a HiPS whose rest has not come and whose kernel has said nothing
        for ``rest_stale`` seconds: neither kept its first part nor said it still builds the rest
        (:meth:`keep_alive`) since."""
        said = [t for t in (meta.get("building_since"), meta.get("alive_at")) if isinstance(t, (int, float))]
        return "building" in meta and (not said or time.time() - max(said) >= self.rest_stale)

    def keep_alive(self, owner: str, name: str) -> dict:
        """``owner``'s kernel still builds (or sends) the deeper orders of their HiPS ``name``: it is not
        abandoned for ``rest_stale`` seconds from now (a large table's rest may take longer than that to build on
        a busy cluster, or to send). Its record. :class:`UserHipsError` 404 when it is not theirs (or was
        abandoned already: the message says why), 409 when it is whole."""
        with self._kept():
            meta = self.record(name)
            if meta is not None and meta["owner"] == owner and self._stale(meta):
                self._abandon(self.owners / f"{name}.json")  # too late: gone, and _own says why
            meta = self._own(owner, name)
            if not isinstance(meta.get("building"), int):
                raise UserHipsError(f"your HiPS {name!r} is whole: it waits for no more orders", 409)
            meta = {**meta, "alive_at": time.time()}
            _atomic_json(self.owners / f"{name}.json", meta)
        return meta

    def _abandon(self, rec: Path) -> bool:
        """Remove the HiPS of the record ``rec`` if it is still abandoned (:meth:`_stale`) under the store's lock,
        leaving its record to say so (``expired``: :meth:`expired`); whether it did. Its first part is of no use
        alone for long (the view of its whole-sky orders only) and took room and a place of its owner's: showing
        the table again builds it anew."""
        with self._kept():
            try:
                meta = json.loads(rec.read_text())
            except (OSError, ValueError):
                return False
            if not isinstance(meta, dict) or not self._stale(meta):
                return False
            gone = self.root / f".{rec.stem}.deleted-{time.monotonic_ns()}"
            try:
                os.rename(self.root / rec.stem, gone)
            except FileNotFoundError:
                gone = None
            reason = (f"its deeper orders (order {meta['building']} on) did not come within {self.rest_stale:.0f} s "
                      "of its first part or of the last word of the kernel building them (it stopped, say, or the "
                      "archive refused them), so it was removed, freeing its room; showing the table again builds "
                      "it anew")
            meta = {k: v for k, v in meta.items()
                    if k not in ("building", "building_since", "alive_at", "groups", "bytes")}
            meta["expired"] = {"at": time.time(), "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                               "reason": reason}
            _atomic_json(rec, meta)
        if gone is not None:
            shutil.rmtree(gone, ignore_errors=True)
        log.info("HiPS ~/%s of %s: removed, its deeper orders did not come within %.0f s of its first part",
                 rec.stem, meta.get("owner"), self.rest_stale)
        return True

    def _records(self, owner: str | None) -> list[dict]:
        """The records of ``owner``'s HiPS (None: everybody's) whose folder is there, each with its ``bytes``."""
        out = []
        if self.owners.is_dir():
            for rec in sorted(self.owners.glob("*.json")):
                try:
                    meta = json.loads(rec.read_text())
                except (OSError, ValueError):
                    continue
                if owner in (None, meta.get("owner")) and (self.root / rec.stem / "properties").is_file():
                    if self._stale(meta) and self._abandon(rec):
                        continue
                    if not isinstance(meta.get("bytes"), int):
                        meta = self._count(rec, meta)
                    out.append(meta)
        return out

    def _count(self, rec: Path, meta: dict) -> dict:
        """``meta`` with the bytes its folder holds on disk, written back to its record ``rec`` (unless the
        HiPS went meanwhile)."""
        meta = {**meta, "bytes": disk_bytes(self.root / rec.stem)}
        with self._lock:
            if rec.is_file():
                _atomic_json(rec, meta)
        return meta

    def used(self, owner: str) -> int:
        """The bytes ``owner``'s HiPS hold on disk between them."""
        return sum(h["bytes"] for h in self.listing(owner))

    def total_used(self) -> int:
        """The bytes all users' HiPS hold on disk between them."""
        return sum(meta["bytes"] for meta in self._records(None))

    def reserve(self, owner: str, size: int = 0, count: bool = True) -> Reservation:
        """Hold ``size`` bytes (an upload's declared length; 0: not known yet) against ``owner``'s budget and
        all users' for an upload of theirs now under way, until :meth:`Reservation.release`.
        :class:`UserHipsError` 429 when ``owner`` already keeps (or is uploading) :data:`MAX_PER_OWNER` HiPS,
        413 when their budget is spent or ``size`` does not fit it, 507 when all users' is or it does not."""
        with self._kept():
            everyone = self._records(None) + self._under_way()
            mine = [meta for meta in everyone if meta.get("owner") == owner]
            if count and len(mine) >= MAX_PER_OWNER:  # not for the rest of a HiPS kept already
                raise UserHipsError(f"you ({owner}) already keep (or are uploading) {MAX_PER_OWNER} HiPS on the "
                                    "archive: delete one (DELETE hips/~/<name>, or platform_lib.viz.delete_hips) "
                                    "first", 429)
            used = sum(meta["bytes"] for meta in mine)
            if used >= self.owner_max:
                raise UserHipsError(self.over_budget(owner, used, None), 413)
            total = sum(meta["bytes"] for meta in everyone)
            if total >= self.total_max:
                raise UserHipsError(self.over_total(total, None), 507)
            self.check_fits(owner, used, total, size)
            folder = self.owners / _UNDER_WAY
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{secrets.token_hex(12)}.json"
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            except OSError as exc:
                raise _unrecorded(exc) from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)  # held while the upload is under way (and by nobody once it is not)
                reservation = Reservation(self, owner, path, fd)
                reservation._write(size)
            except BaseException:  # the folder's disk is full, say: no descriptor nor file is left behind
                path.unlink(missing_ok=True)
                os.close(fd)
                raise
            _HELD[path.name] = reservation
            return reservation

    def in_use(self, owner: str, but: Reservation | None = None) -> tuple[int, int]:
        """The bytes ``(owner's, all users')`` HiPS hold on disk plus those that uploads under way (other than
        ``but``) hold reserved."""
        with self._kept():
            everyone = self._records(None) + self._under_way(but)
        return (sum(meta["bytes"] for meta in everyone if meta.get("owner") == owner),
                sum(meta["bytes"] for meta in everyone))

    def room(self, owner: str) -> dict:
        """Where ``owner`` stands: ``used`` and ``budget`` (their HiPS on disk, and the most they may hold),
        ``total_used`` and ``total_budget`` (all users' HiPS), and ``room_left``: the most that an upload of
        theirs may unpack to now (both budgets, less what every upload under way holds reserved)."""
        with self._kept():
            kept, under_way = self._records(None), self._under_way()
        used = sum(meta["bytes"] for meta in kept if meta.get("owner") == owner)
        total = sum(meta["bytes"] for meta in kept)
        reserved = sum(meta["bytes"] for meta in under_way)
        mine = sum(meta["bytes"] for meta in under_way if meta.get("owner") == owner)
        return {"used": used, "budget": self.owner_max, "total_used": total, "total_budget": self.total_max,
                "room_left": max(0, min(self.owner_max - used - mine, self.total_max - total - reserved))}

    def _under_way(self, but: Reservation | None = None) -> list[dict]:
        """The reservations (``owner``, ``bytes``) of the uploads under way, other than ``but``; call it under
        the store's lock (:meth:`_kept`). A file whose ``flock`` nobody holds (left by an archive killed
        mid-upload: the lock went with the process) is removed."""
        folder = self.owners / _UNDER_WAY
        out = []
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
            if but is not None and path == but.path:
                continue
            held = _HELD.get(path.name)
            if held is not None:  # this process's upload under way: counted as it holds it
                if held.bytes:
                    out.append({"owner": held.owner, "bytes": held.bytes})
                continue
            try:
                fd = os.open(path, os.O_RDWR)  # writable: on NFS an exclusive lock needs it (else EBADF)
            except OSError:  # released meanwhile
                continue
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:  # held: the upload is under way
                    meta = json.loads(os.pread(fd, 4096, 0) or b"{}")
                    if isinstance(meta.get("bytes"), int):
                        out.append(meta)
                else:
                    path.unlink(missing_ok=True)
            except (OSError, ValueError):
                pass
            finally:
                os.close(fd)
        return out

    def check_fits(self, owner: str, used: int, total: int, size: int, what: str = "the upload is") -> None:
        """:class:`UserHipsError` 413 when ``size`` more bytes do not fit ``owner``'s budget (their HiPS
        holding ``used``), else 507 when they do not fit all users' (holding ``total``)."""
        if used + size > self.owner_max:
            raise UserHipsError(self.over_budget(owner, used, size, what), 413)
        if total + size > self.total_max:
            raise UserHipsError(self.over_total(total, size, what), 507)

    def over_budget(self, owner: str, used: int, size: int | None, what: str = "the upload is") -> str:
        """The 413 message for an upload of ``size`` bytes (None: any) that does not fit ``owner``'s budget."""
        left = max(0, self.owner_max - used)
        said = (f"you ({owner}) have no room left for another HiPS" if size is None else
                f"{what} {_mib(size)}, more than the {_mib(left)} left")
        return (f"{said}: your HiPS may hold {_mib(self.owner_max)} between them and hold {_mib(used)} (your "
                "uploads under way included; the archive's --hips-owner-max, ASTROHUB_ARCHIVE_HIPS_OWNER_MAX, in MiB); "
                "platform_lib.viz.delete_hips(name) frees room (viz.my_hips() lists yours), or build it with "
                "fewer rows per tile (n_per_tile) or a lower order")

    def over_total(self, total: int, size: int | None, what: str = "the upload is") -> str:
        """The 507 message for an upload of ``size`` bytes (None: any) that does not fit all users' budget."""
        left = max(0, self.total_max - total)
        said = ("the archive has no room left for users' HiPS" if size is None else
                f"{what} {_mib(size)}, more than the {_mib(left)} the archive has left for users' HiPS")
        return (f"{said}: all users' HiPS may hold {_mib(self.total_max)} between them and hold {_mib(total)}, "
                "counting the uploads under way; "
                "the archive's operator raises that limit with --hips-total-max (ASTROHUB_ARCHIVE_HIPS_TOTAL_MAX, "
                "in MiB; the Helm chart's archive.hips.totalMaxMiB), after making the HiPS folder's disk as "
                "large; meanwhile platform_lib.viz.delete_hips(name) frees room (viz.my_hips() lists yours)")

    def spool(self) -> BinaryIO:
        """A new hidden file in ``~users`` (the staging area, on the same disk as the HiPS) for an upload's
        body; whoever opens it removes it (:meth:`UserHipsListHandler.on_finish`)."""
        self.root.mkdir(parents=True, exist_ok=True)
        return tempfile.NamedTemporaryFile(prefix=_SPOOL_PREFIX, suffix=".tar", dir=self.root, delete=False)

    def remove_leftovers(self, older_than: float) -> None:
        """Remove the hidden spool files and folders in ``~users`` (uploads and unpacking cut off by a killed
        archive, removals half done) not written for ``older_than`` seconds."""
        if not self.root.is_dir():
            return
        now = time.time()
        for item in self.root.iterdir():
            try:
                if item.name.startswith(".") and now - item.stat().st_mtime > older_than:
                    if item.is_dir():
                        shutil.rmtree(item, ignore_errors=True)
                    else:
                        item.unlink()
                    log.info("HiPS ~/: removed %s, left by an upload that did not finish", item)
            except OSError:  # removed meanwhile by another process sharing the folder
                pass

    def add(self, owner: str, title: str, archive: bytes | Path, reservation: Reservation | None = None) -> dict:
        """Unpack ``archive`` (a tar, optionally gzipped, of a HiPS folder's contents: its bytes or the path
        of a file holding them), check it and keep it under a new name; return its record.
        :class:`UserHipsError` when it is no valid HiPS or does not fit. ``reservation``: the one
        :meth:`reserve` made for this upload (else one is made here); it grows as the upload is unpacked and
        is released when this returns, however it ends."""
        from platform_lib.viz import HipsError, read_hips_properties, validate_hips

        reservation = reservation or self.reserve(owner)
        try:
            return self._add(owner, title, archive, reservation, HipsError, read_hips_properties, validate_hips)
        finally:
            reservation.release()

    def _add(self, owner, title, archive, reservation, HipsError, read_hips_properties, validate_hips) -> dict:
        from platform_lib.viz import HIPS_BUILDING as BUILDING

        slug = re.sub(r"[^A-Za-z0-9_+-]+", "-", title).strip("-")[:40] or "hips"
        name = f"{slug}-{_key()}"
        self.root.mkdir(parents=True, exist_ok=True)
        self.owners.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=self.root))
        try:
            _unpack(archive, tmp, grow=lambda n: reservation.grow(n, "the upload unpacks to at least"))
            size = disk_bytes(tmp)
            try:
                report = validate_hips(tmp)
            except HipsError as exc:
                # the message names files by the server's unpack folder: say them as the tar's own paths
                said = str(exc).replace(f"{tmp}{os.sep}", "").replace(str(tmp), ".")
                raise UserHipsError(f"the upload is not a valid HiPS: {said}") from None
            props = read_hips_properties(tmp / "properties")
            os.chmod(tmp, 0o755)
            record = {"name": name, "owner": owner, "title": title or props.get("obs_title", name),
                      "rows": report.rows, "type": report.dataproduct_type, "bytes": size,
                      "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            if BUILDING in props:  # the first part: the deeper orders come with POST hips/~/<name>/rest
                record.update(building=int(props[BUILDING]), building_since=time.time())
            with self._kept():  # the budgets as they are now (other uploads may have been kept meanwhile)
                self.check_fits(owner, *self.in_use(owner, but=reservation), size, "the upload unpacks to")
                os.rename(tmp, self.root / name)
                _atomic_json(self.owners / f"{name}.json", record)
                reservation.release()  # kept: it counts as a HiPS of theirs now
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        log.info("HiPS ~/%s: %s uploaded %s (%d rows, %d bytes)", name, owner, record["title"], record["rows"], size)
        return record

    def add_rest(self, owner: str, name: str, archive: bytes | Path, reservation: Reservation | None = None) -> dict:
        """Put the deeper orders of ``owner``'s HiPS ``name`` (kept from its first part, whose record says
        ``building``: :func:`platform_lib.viz._hips.catalog_hips_parts`) beside its tiles: ``archive`` is a tar
        of those orders' ``Norder<k>`` folders and the final ``properties``. Each tile is checked as it is read
        from the tar, before it is written (:class:`platform_lib.viz.HipsTiles`: its place, that it parses, its
        rows), and the whole at the end (the final ``properties`` agree with the first part's, the rows of both
        parts add up to ``hips_cat_nrows``), before anything is moved: the checks of
        :func:`platform_lib.viz.validate_hips` on the whole HiPS, with no second read of each tile nor of the
        first part's, which were checked when they came. The orders' files are kept packed in one file
        (:class:`~astrohub_archive._tiles.TilePack`, which the HiPS's tiles are served from), not created one by
        one: thousands of file creations were most of what keeping a large table's rest cost. The pack and its
        index are renamed into place, the ``properties`` last, so that a viewer reads only whole orders. :class:`UserHipsError` 404 when the HiPS
        is not theirs, 409 when it is whole already, 400 for a part that does not complete it, 413/507 as
        :meth:`add`. Its record, whole."""
        from platform_lib.viz import HipsError, HipsTiles, read_hips_properties
        from platform_lib.viz import HIPS_BUILDING as BUILDING

        reservation = reservation or self.reserve(owner, count=False)
        try:
            meta = self._own(owner, name)
            first = meta.get("building")
            if not isinstance(first, int):
                raise UserHipsError(f"your HiPS {name!r} is whole: it takes no more orders (upload a new HiPS with "
                                    "POST hips/~/)", 409)
            folder = self.root / name
            kept = read_hips_properties(folder / "properties")  # the first part's
            # its hips_order is the whole HiPS's (the viewer asks for the deep tiles); the final one is checked too
            tiles = HipsTiles({k: v for k, v in kept.items() if k != BUILDING}, ".")
            tmp = Path(tempfile.mkdtemp(prefix=f".{name}.rest.", dir=self.root))
            pack = None
            try:
                pack = TilePack(tmp)
                orders: set[str] = set()
                files: set[tuple[str, ...]] = set()

                def check(parts: tuple[str, ...], data: bytes | None) -> bool:
                    """One member of the tar (``data`` None: a folder), before it is kept: the files of the orders
                    go into the pack (true), ``properties`` is written as a file."""
                    where = "/".join(parts)
                    top = parts[0]
                    if data is not None:
                        if parts in files:  # written twice: its first copy's rows would be counted, not kept
                            raise UserHipsError(f"the rest of the HiPS {name!r} holds {where} twice")
                        files.add(parts)
                    if parts == ("properties",) and data is not None:
                        return False
                    if not (top.startswith("Norder") and top[6:].isdigit() and int(top[6:]) >= first):
                        raise UserHipsError(f"the rest of the HiPS {name!r} holds the orders from {first} on and its "
                                            f"final properties only; it holds {where}")
                    orders.add(top)
                    if data is None and (len(parts) == 1 or len(parts) == 2 and parts[1].startswith("Dir")):
                        return True  # a folder: the pack has none
                    try:
                        if len(parts) == 2 and parts[1].startswith("Allsky") and data is not None:
                            pass  # an order's Allsky file: not a tile (validate_hips does not check it either)
                        elif len(parts) != 3 or data is None:
                            raise HipsError(f"unexpected {where} in a HiPS order folder", value=where)
                        else:
                            tiles.tile(int(top[6:]), parts[1], parts[2], data, where)
                    except HipsError as exc:
                        raise UserHipsError(f"the rest of the HiPS {name!r} does not complete it: {exc}") from None
                    pack.add(where, data)
                    return True

                _unpack(archive, tmp, grow=lambda n: reservation.grow(n, "the upload unpacks to at least"),
                        check=check)
                pack.close()
                if not (tmp / "properties").is_file():
                    raise UserHipsError(f"the rest of the HiPS {name!r} holds the orders from {first} on and its final "
                                        "properties; it has no properties")
                props = read_hips_properties(tmp / "properties")
                if BUILDING in props:
                    raise UserHipsError(f"the rest of the HiPS {name!r} has properties with {BUILDING}: the last part's "
                                        "properties say the HiPS is whole")
                try:
                    _check_whole(folder, kept, props, tiles, meta.get("rows"))
                except HipsError as exc:
                    raise UserHipsError(f"the rest of the HiPS {name!r} does not complete it: {exc}") from None
                size = disk_bytes(tmp)
                orders = sorted(orders, key=lambda n: int(n[6:]))
                with self._kept():
                    meta = self._own(owner, name)
                    if meta.get("building") != first:  # another request completed it meanwhile
                        raise UserHipsError(f"your HiPS {name!r} is whole: it takes no more orders", 409)
                    self.check_fits(owner, *self.in_use(owner, but=reservation), size, "the upload unpacks to")
                    os.rename(tmp / PACK, folder / PACK)  # served from the moment its index is there
                    os.rename(tmp / PACK_INDEX, folder / PACK_INDEX)
                    os.replace(tmp / "properties", folder / "properties")
                    meta = {k: v for k, v in meta.items() if k not in ("building", "building_since", "alive_at")}
                    meta.update(rows=meta.get("rows", 0) + tiles.rows, bytes=disk_bytes(folder))
                    _atomic_json(self.owners / f"{name}.json", meta)
                    reservation.release()
            finally:
                if pack is not None:
                    pack.close()
                shutil.rmtree(tmp, ignore_errors=True)
        finally:
            reservation.release()
        log.info("HiPS ~/%s: %s sent its orders %d to %d (%d rows in all)", name, owner, first,
                 max(int(n[6:]) for n in orders) if orders else first, meta["rows"])
        return meta

    def building(self, name: str) -> int | None:
        """The first order still to come of the HiPS ``name`` (its first part is kept, the rest not yet, and its
        kernel said something less than ``rest_stale`` seconds ago: :meth:`_stale`), else None."""
        meta = self.record(name) or {}
        first = meta.get("building")
        return first if isinstance(first, int) and not self._stale(meta) else None

    @contextlib.contextmanager
    def _kept(self):
        """Hold the store's lock for keeping an upload: this process's threads (the thread lock) and other
        processes sharing the folder, as the archive's replicas do (``flock`` on ``~owners/.lock``)."""
        with self._lock:
            if self._depth:  # this thread holds both already (a second flock of its own would wait forever)
                yield
                return
            self.owners.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.owners / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
            finally:
                os.close(fd)  # releases the flock

    def delete(self, owner: str, name: str) -> None:
        """Remove ``owner``'s HiPS ``name``; :class:`UserHipsError` 404 when it is not theirs (or not there)."""
        if not _NAME.match(name) or self.owner_of(name) != owner:
            raise UserHipsError(f"no HiPS of yours called {name!r}", 404)
        with self._kept():  # with the other replicas too: one of two DELETEs at once finds it gone
            gone = self.root / f".{name}.deleted-{time.monotonic_ns()}"
            try:
                os.rename(self.root / name, gone)
            except FileNotFoundError:  # deleted meanwhile, or by an archive killed before it removed the record
                gone = None
            (self.owners / f"{name}.json").unlink(missing_ok=True)
        if gone is None:
            raise UserHipsError(f"no HiPS of yours called {name!r}", 404)
        shutil.rmtree(gone, ignore_errors=True)


class Reservation:
    """The bytes an upload under way holds against its owner's budget and all users' (:meth:`UserHipsStore.reserve`):
    a file ``~owners/.uploads/<random>.json`` (``owner``, ``bytes``) that this object holds open with a
    ``flock`` until :meth:`release`, so that every check (in this process, or another archive replica
    sharing the folder) counts it, and a file left by a killed archive (its lock gone with it) counts for
    nothing and is removed."""

    def __init__(self, store: UserHipsStore, owner: str, path: Path, fd: int) -> None:
        self.store = store
        self.owner = owner
        self.path = path
        self.bytes = 0
        self._checked = 0  # the bytes checked against the budgets (held, or, once released, checked only)
        self._fd: int | None = fd
        self._lock = threading.Lock()  # the descriptor's: grown in a worker thread, released from the server's loop
        self._released = False

    def grow(self, need: int, what: str = "the upload is already") -> None:
        """Hold at least ``need`` bytes (the body received so far, or the bytes unpacked so far), with an
        eighth more so that a growing upload comes back seldom (never past the room left);
        :class:`UserHipsError` 413 or 507 when ``need`` does not fit the owner's budget or all users'.
        Released (its client went away while it was unpacked), it is still checked, no longer held."""
        if need <= self._checked:
            return
        try:
            with self.store._kept(), self._lock:
                used, total = self.store.in_use(self.owner, but=self)
                self.store.check_fits(self.owner, used, total, need, what)
                self._checked = min(need + need // 8, self.store.owner_max - used, self.store.total_max - total)
                if self._fd is not None and not self._released:
                    self._write(self._checked)
        finally:
            if self._released:  # released meanwhile, from the server's loop: its descriptor is closed here
                self._close(wait=True)

    def _write(self, size: int) -> None:
        """Record ``size`` (under the store's lock, so that nobody reads the file half written); 507 when it
        cannot be written (the HiPS folder's disk is full, say)."""
        try:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, json.dumps({"owner": self.owner, "bytes": size}).encode(), 0)
        except OSError as exc:
            raise _unrecorded(exc) from exc
        self.bytes = self._checked = size

    def release(self) -> None:
        """The upload ended (kept, refused or cut off): its bytes count no more. Again: nothing.

        Called from the server's loop, so it never waits: its file goes now (before the answer, so that the
        client's next upload, on any replica, no longer counts it); its descriptor (with its ``flock`` on the
        file, which has no name any more) is closed now, or, while a :meth:`grow` of it counts the folder in
        a worker thread (under the store's lock, which another replica may hold meanwhile), by that grow
        when it ends."""
        if self._released and self._fd is None:
            return
        self._released = True
        self.path.unlink(missing_ok=True)
        _HELD.pop(self.path.name, None)
        self.bytes = 0
        self._close(wait=False)

    def _close(self, wait: bool) -> None:
        """Close a released reservation's descriptor, unless (``wait`` false) a grow holds it: that grow will."""
        if not self._lock.acquire(blocking=wait):
            return
        try:
            fd, self._fd = self._fd, None
            if fd is not None:
                os.close(fd)
        finally:
            self._lock.release()


def _unrecorded(exc: OSError) -> UserHipsError:
    """The 507 for an upload whose reservation cannot be written (:class:`Reservation`)."""
    log.error("HiPS ~/: an upload's reservation could not be written: %s", exc)
    return UserHipsError(f"the archive could not record the upload ({exc.strerror or exc}); tell its "
                         "administrator", 507)


def _key() -> str:
    """The random end of a HiPS's name: the key to it (no ``-``, which ends the name's readable part)."""
    return secrets.token_urlsafe(16).replace("_", "x").replace("-", "y")


def _groups(meta: dict) -> list[str]:
    """The groups a HiPS record is shared with (none in a record written before sharing)."""
    groups = meta.get("groups")
    return [g for g in groups if isinstance(g, str)] if isinstance(groups, list) else []


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def disk_bytes(folder: Path) -> int:
    """The bytes ``folder`` and everything in it take on disk (allocated blocks, as ``du`` counts them; the
    files' sizes where the system does not say)."""
    total = 0
    for top, dirs, files in os.walk(folder):
        for item in [top, *(os.path.join(top, f) for f in files)]:
            try:
                st = os.lstat(item)
            except OSError:  # removed meanwhile
                continue
            total += st.st_blocks * 512 if hasattr(st, "st_blocks") else st.st_size
    return total


def _atomic_json(path: Path, record: dict) -> None:
    write_atomic(path, json.dumps(record))


def _check_whole(folder: Path, kept: dict, props: dict, tiles, first_rows) -> None:
    """The checks of :func:`platform_lib.viz.validate_hips` on the whole HiPS that the tiles alone did not
    make: the final ``props`` (its required keys; the kind and tile format of the first part ``kept``,
    whose tiles in ``folder`` were checked as such; every order no deeper than ``hips_order``) and, for a
    catalogue, the rows of the first part (``first_rows``, counted when it came) and of the rest
    (``tiles``) adding up to ``hips_cat_nrows``."""
    from platform_lib.viz import HipsError, HipsTiles

    final = HipsTiles(props, ".")
    for key in ("dataproduct_type", "hips_tile_format"):
        if props[key].split()[:1] != kept.get(key, "").split()[:1]:
            raise HipsError(f"./properties: {key} = {props[key]!r}, but the first part's is {kept.get(key)!r}",
                            value=key)
    deepest = max([int(p.name[6:]) for p in folder.glob("Norder*") if p.name[6:].isdigit()
                   and any(not f.name.startswith("Allsky") for f in p.iterdir())] + list(tiles.orders))
    if deepest > final.max_order:
        raise HipsError(f"Norder{deepest} is deeper than hips_order = {final.max_order}", value=deepest)
    if not isinstance(first_rows, int):
        first_rows = 0
    final.expect_rows(props, ".", first_rows + tiles.rows)


def _unpack(archive: bytes | Path, dest: Path, grow=None, check=None) -> None:
    """Extract regular files and folders only, each inside ``dest`` (no links, devices, absolute or ``..``
    paths), at most :data:`MAX_UNPACKED` bytes; ``grow(n)`` before each file, n the bytes unpacked with it
    (:meth:`Reservation.grow`: raises the refusal when they do not fit); ``check(parts, data)`` before each
    member is written (its path's parts; a file's bytes, None for a folder): it raises to refuse it, and
    answers true when it kept the member itself (then nothing is written for it); ``archive`` is the tar's
    bytes or the path of its file."""
    try:
        if isinstance(archive, (bytes, bytearray)):
            tar = tarfile.open(fileobj=io.BytesIO(archive), mode="r:*")
        else:
            tar = tarfile.open(name=archive, mode="r:*")
    except tarfile.TarError as exc:
        raise UserHipsError(f"the upload is not a tar archive of a HiPS folder: {exc}") from None
    with tar:
        try:
            _extract(tar, dest, grow, check)
        except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:  # cut short, or damaged inside
            raise UserHipsError(f"the upload is not a whole tar archive (cut short or damaged: {exc}); "
                                "send it again") from None


def _extract(tar: tarfile.TarFile, dest: Path, grow, check=None) -> None:
    """:func:`_unpack`'s checks and copies, member by member."""
    total = 0
    for member in tar:
        rel = PurePosixPath(member.name)
        parts = [p for p in rel.parts if p not in ("", ".")]
        if rel.is_absolute() or ".." in parts:
            raise UserHipsError(f"the upload holds a path outside its folder: {member.name!r}")
        if not parts:
            continue
        target = dest.joinpath(*parts)
        if member.isdir():
            if check is None or not check(tuple(parts), None):
                target.mkdir(parents=True, exist_ok=True)
        elif member.isfile():
            total += member.size
            if total > MAX_UNPACKED:
                raise UserHipsError(f"the upload unpacks to more than {MAX_UNPACKED // 2**20} MiB", 413)
            if grow is not None:  # the files alone: on disk they take at least this
                grow(total)
            if check is not None:  # read once: checked, then kept by check or written
                with tar.extractfile(member) as src:
                    data = src.read()
                if not check(tuple(parts), data):
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
        else:
            raise UserHipsError(f"the upload holds {member.name!r}, which is not a file or a folder")


@contextlib.contextmanager
def _as_http_errors(handler: tornado.web.RequestHandler):
    """The token's refusal as HTTP 403, a hub that cannot answer as 503 with ``Retry-After``."""
    try:
        yield
    except AuthFault as exc:
        raise tornado.web.HTTPError(403, str(exc)) from None
    except HubUnavailableFault as exc:
        unavailable = tornado.web.HTTPError(503, str(exc))
        unavailable.retry_after = exc.retry_after  # HipsErrors.write_error sends it (tornado clears headers first)
        raise unavailable from None


async def signed_in_user(handler: tornado.web.RequestHandler, state) -> str:
    """The name of the user whose token ``handler``'s request carries, from the token check alone (no group
    decides what one does with one's own HiPS: their groups are not asked); HTTP 401 without one, 403 for a
    token nobody knows, 503 while the hub cannot check it."""
    return (await signed_in_viewer(handler, state, group_decides=lambda who: False)).user


async def signed_in_viewer(handler: tornado.web.RequestHandler, state, fresh_groups: bool = False,
                           group_decides=None):
    """The :class:`~platform_lib.imageindex.Viewer` (name and hub groups) whose token ``handler``'s request
    carries; HTTP 401 without one, 403 for a token nobody knows, 503 while the hub cannot check it (or say the
    groups). ``fresh_groups``, ``group_decides``: as :meth:`~astrohub_archive.auth.Authenticator.viewer`'s (the
    groups asked of the hub now; asked only where ``group_decides(who)``)."""
    with _as_http_errors(handler):
        viewer = await state.auth.viewer(handler, fresh_groups=fresh_groups, group_decides=group_decides)
    if not viewer.user:
        raise tornado.web.HTTPError(401, "your own HiPS need your token (Authorization: token ...); "
                                         "in a notebook, platform_lib.viz.job_hips(job) sends it")
    return viewer


class HipsErrors(HeadAsGet):
    """How every HiPS route answers an error: one line of plain text with the reason (a wrong method names the
    methods the route takes; an internal error is logged and answered 503, never a traceback). The base of
    :mod:`astrohub_archive.hips`'s handlers too; it lives here because that module imports this one."""

    def decode_argument(self, value: bytes, name: str | None = None) -> str:
        """A path part (or parameter) as text; one that is not UTF-8 is a 400 naming the byte and where it is
        (tornado's own said ``Invalid unicode in url: b'a\\xe9b'``)."""
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            why = (not_utf8(self.request.path) if name is None else None) or (
                f"{'the path' if name is None else f'parameter {name!r}'} is not valid UTF-8; percent-encode its "
                "text as UTF-8")
            raise tornado.web.HTTPError(400, "%s", why) from None

    def write_error(self, status_code: int, **kwargs) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        reason = (exc.log_message % exc.args if exc.args else exc.log_message) \
            if isinstance(exc, tornado.web.HTTPError) and exc.log_message else self._reason
        if status_code == 405:
            reason = not_allowed(self)
            self.set_header("Allow", ", ".join(allowed_methods(self)))
        if status_code >= 500 and not isinstance(exc, tornado.web.HTTPError):
            log.error("HiPS: internal error on %s", self.request.uri, exc_info=kwargs.get("exc_info"))
            status_code, reason = 503, "internal error in the archive's HiPS service (logged); please report it"
        self.set_status(status_code)
        if getattr(exc, "retry_after", None) is not None:  # the hub cannot answer now (signed_in_viewer)
            self.set_header("Retry-After", str(exc.retry_after))
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(f"{status_code}: {reason}\n")


@tornado.web.stream_request_body
class UserHipsListHandler(HipsErrors):
    """``hips/~/``: GET the caller's HiPS, POST (the body a tar of a HiPS folder) to add one.

    The POST body is streamed (:func:`tornado.web.stream_request_body`): :meth:`prepare` checks the owner,
    the room they have left (count and bytes) and the declared length, then lifts the connection's body
    limit for this request only; :meth:`data_received` writes each chunk to a spool file
    (:meth:`UserHipsStore.spool`) and answers 413 once more than ``max_upload`` bytes came, or more than
    the owner's budget has room for (507 past all users' budget); the spool file goes when the request
    ends, however it ends."""

    #: Whether an upload counts as one more HiPS of its owner's (:data:`MAX_PER_OWNER`): not the rest of one kept.
    new_hips = True

    def initialize(self, store: UserHipsStore, state, max_upload: int = MAX_UPLOAD) -> None:
        self.store = store
        self.state = state
        self.max_upload = max_upload
        self._owner: str | None = None
        self._spool: BinaryIO | None = None
        self._received = 0
        self._reservation: Reservation | None = None  # the bytes this upload holds against the budgets
        self._gone = False  # the client went away

    async def owner(self) -> str:
        return await signed_in_user(self, self.state)

    def url_of(self, name: str) -> str:
        return f"{self.state.prefix}hips/~/{name}/"

    def write_error(self, status_code: int, **kwargs) -> None:
        """A refused request says ``Connection: close``, whatever its method: refused before its body was read
        (no token, too big, or a method the route does not take: a GET or PATCH is refused before tornado
        reads even an empty body), the connection ends after the answer (tornado's only way not to read the
        rest), and a proxy that keeps connections to the service (configurable-http-proxy) would otherwise
        send the next request down it, whose user then got the hub's 503 page (for a 405 the old code, which
        said so for a POST only, gave about one request in ten after it that page)."""
        self.set_header("Connection", "close")
        super().write_error(status_code, **kwargs)

    def _too_big(self, length: int | None) -> str:
        """The 413 message for a body of ``length`` bytes (None: a chunked body that went past the limit)."""
        size = "is larger than" if length is None else f"is {length / 2**20:.1f} MiB, more than"
        return (f"the upload {size} the {self.max_upload / 2**20:g} MiB a HiPS upload may be "
                "(the archive's --hips-upload-max, ASTROHUB_ARCHIVE_HIPS_UPLOAD_MAX, in MiB): build it with "
                "fewer rows per tile (n_per_tile) or a lower order, or ask the administrator to raise it")

    async def prepare(self) -> None:
        if self.request.method != "POST":
            return
        # This handler bounds the body itself (a 413 that names the limit); until it has decided, the
        # connection's own limit (the server's, answered with a bare 400) must not cut in.
        self.request.connection.set_max_body_size(sys.maxsize)
        self._owner = await self.owner()  # 401/403/503 before a byte of the body is read
        declared = self.request.headers.get("Content-Length")
        length = None
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                raise tornado.web.HTTPError(400, f"Content-Length {declared!r} is not a number of bytes") from None
            if length > self.max_upload:
                raise tornado.web.HTTPError(413, self._too_big(length))
        loop = asyncio.get_running_loop()
        try:  # in a thread: it waits for the store's lock (a record from before the budget is counted once)
            self._reservation = await loop.run_in_executor(self.state.executor, functools.partial(
                self.store.reserve, self._owner, length or 0, count=self.new_hips))
        except UserHipsError as exc:  # the body alone cannot fit
            raise tornado.web.HTTPError(exc.status, str(exc)) from None
        if self._gone:  # cut off while it was reserved
            self._discard()
            return
        self._spool = self.store.spool()

    async def data_received(self, chunk: bytes) -> None:
        if self._spool is None or self._finished:
            return
        self._received += len(chunk)
        if self._received > self.max_upload:  # a chunked body has no length to check beforehand
            self._refuse(413, self._too_big(None))
            return
        if self._received > self._reservation.bytes:  # a chunked body: it holds what came so far, and a bit more
            try:
                await asyncio.get_running_loop().run_in_executor(self.state.executor, self._reservation.grow,
                                                                 self._received)
            except UserHipsError as exc:
                self._refuse(exc.status, str(exc))
                return
            if self._spool is None:  # cut off meanwhile
                return
        try:
            self._spool.write(chunk)
        except OSError as exc:  # the HiPS folder's disk is full, say
            log.error("HiPS ~/: an upload of %s could not be written to %s: %s", self._owner, self._spool.name, exc)
            self._refuse(507, f"the archive could not store the upload ({exc.strerror or exc}); tell its administrator")

    def _refuse(self, status: int, message: str) -> None:
        """Answer now, mid-body (the connection is closed after the answer: the rest is never read)."""
        self._discard()
        self.send_error(status, exc_info=(tornado.web.HTTPError, tornado.web.HTTPError(status, message), None))

    def _discard(self) -> None:
        """The upload ended (or was cut off): its spool file goes, and its bytes count no more."""
        if self._reservation is not None:
            self._reservation.release()
        spool, self._spool = self._spool, None
        if spool is not None:
            spool.close()
            try:
                os.unlink(spool.name)
            except OSError:
                pass

    def on_connection_close(self) -> None:
        """The client went away mid-upload: its spool file goes now (nothing is kept of a cut-off upload)."""
        super().on_connection_close()
        self._gone = True
        self._discard()

    def on_finish(self) -> None:
        self._discard()

    async def get(self) -> None:
        viewer = await signed_in_viewer(self, self.state, group_decides=lambda who: False)
        owner = viewer.user
        loop = asyncio.get_running_loop()
        shared, left_out = [], {}
        if await loop.run_in_executor(self.state.executor, self.store.shared_by_others, viewer):
            try:  # a group decides what is shared with them
                viewer = await self.state.auth.with_groups(viewer)
            except HubUnavailableFault as exc:  # her own HiPS still listed; those shared with her groups not known
                why = f"the HiPS other users share with your groups are left out, as your groups are not known: {exc}"
                left_out = {"shared_with_me_left_out": why}
                self.set_header(HUB_UNASKED_HEADER, why.encode("ascii", "replace").decode())
            else:
                shared = await loop.run_in_executor(self.state.executor, self.store.shared_with, viewer)
        kept = await loop.run_in_executor(self.state.executor, self.store.listing, owner)
        expired = await loop.run_in_executor(self.state.executor, self.store.expired, owner)
        room = await loop.run_in_executor(self.state.executor, self.store.room, owner)
        items = [{**i, "url": self.url_of(i["name"])} for i in kept]
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "private, no-cache")
        self.finish(json.dumps({"owner": owner, "hips": items, **room,
                                "shared_with_me": [{**i, "url": self.url_of(i["name"])} for i in shared],
                                **left_out, "expired": expired}))

    async def post(self) -> None:
        title = self.get_query_argument("title", "") or ""
        if not self._received or self._spool is None:
            raise tornado.web.HTTPError(400, "the body must be a tar archive of a HiPS folder (properties, Norder*...)")
        self._spool.flush()
        loop = asyncio.get_running_loop()
        try:
            record = await loop.run_in_executor(self.state.executor, self.store.add, self._owner, title,
                                                Path(self._spool.name), self._reservation)
        except UserHipsError as exc:
            raise tornado.web.HTTPError(exc.status, str(exc)) from None
        finally:
            self._discard()  # unpacked (or refused): gone before the answer
        self.set_status(201)
        self.set_header("Content-Type", "application/json")
        # a first part: the kernel says it is still building the rest within this (UserHipsRestHandler.put)
        expiry = {"rest_expiry": self.store.rest_stale} if "building" in record else {}
        self.finish(json.dumps({**{k: v for k, v in record.items() if k != "owner"}, "url": self.url_of(record["name"]),
                                **expiry}))


@tornado.web.stream_request_body
class UserHipsRestHandler(UserHipsListHandler):
    """``hips/~/<name>/rest``: POST (the body a tar of the deeper orders and the final ``properties``) completes
    the owner's HiPS ``name`` whose first part the archive keeps (:meth:`UserHipsStore.add_rest`); streamed and
    bounded as :class:`UserHipsListHandler`'s uploads. Until it is done, a request for a tile of those orders
    waits for it (:class:`~astrohub_archive.hips.UserHipsFileHandler`). PUT (no body): its kernel still builds
    or sends the rest (:meth:`UserHipsStore.keep_alive`), so the first part is not abandoned meanwhile."""

    new_hips = False
    SUPPORTED_METHODS = ("POST", "PUT")  # anything else: 405, naming them

    async def owner(self) -> str:
        """The caller, who must own the HiPS (404 before a byte of the body is read, as if it did not exist)."""
        owner = await super().owner()
        if self.store.owner_of(self.path_args[0]) != owner:
            raise tornado.web.HTTPError(404, f"no HiPS of yours called {self.path_args[0]!r}")
        return owner

    async def post(self, name: str) -> None:
        if not self._received or self._spool is None:
            raise tornado.web.HTTPError(400, "the body must be a tar archive of the HiPS's deeper orders (Norder*) and "
                                             "its final properties")
        self._spool.flush()
        try:
            record = await asyncio.get_running_loop().run_in_executor(
                self.state.executor, self.store.add_rest, self._owner, name, Path(self._spool.name), self._reservation)
        except UserHipsError as exc:
            raise tornado.web.HTTPError(exc.status, str(exc)) from None
        finally:
            self._discard()
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({**{k: v for k, v in record.items() if k != "owner"}, "url": self.url_of(record["name"])}))

    async def put(self, name: str) -> None:
        owner = await self.owner()  # 401/403/503; 404 for a HiPS not theirs
        try:  # in a thread: the store's lock is shared with other replicas
            record = await asyncio.get_running_loop().run_in_executor(self.state.executor, self.store.keep_alive,
                                                                      owner, name)
        except UserHipsError as exc:
            raise tornado.web.HTTPError(exc.status, str(exc)) from None
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "private, no-cache")
        self.finish(json.dumps({"name": name, "building": record["building"], "rest_expiry": self.store.rest_stale}))


class UserHipsSharesHandler(HipsErrors):
    """``hips/~/<name>/shares/<group>``: the owner shares their HiPS with a hub group of theirs (PUT) or stops
    (DELETE: the HiPS gets a new name, answered in the record's ``url``); ``hips/~/<name>/shares``: GET its
    groups. Anyone else's token, or a HiPS that is not there: 404 (as if it did not exist)."""

    def initialize(self, store: UserHipsStore, state) -> None:
        self.store = store
        self.state = state

    async def _answer(self, method, *args) -> None:
        try:  # in a thread: the store's lock is shared with other replicas
            record = await asyncio.get_running_loop().run_in_executor(self.state.executor, method, *args)
        except UserHipsError as exc:
            raise tornado.web.HTTPError(exc.status, str(exc)) from None
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "private, no-cache")
        self.finish(json.dumps({"name": record["name"], "id": record.get("id") or record["name"],
                                "groups": _groups(record), "url": f"{self.state.prefix}hips/~/{record['name']}/"}))

    async def get(self, name: str, group: str) -> None:
        owner = await signed_in_user(self, self.state)
        if group:
            raise tornado.web.HTTPError(405, "GET hips/~/<name>/shares lists the groups a HiPS is shared with")
        await self._answer(self.store._own, owner, name)

    async def put(self, name: str, group: str) -> None:
        viewer = await signed_in_viewer(self, self.state)
        if not group:
            raise tornado.web.HTTPError(400, "PUT hips/~/<name>/shares/<group>: name the group to share with")
        await self._answer(self.store.share, viewer, name, group)

    async def delete(self, name: str, group: str) -> None:
        owner = await signed_in_user(self, self.state)
        if not group:
            raise tornado.web.HTTPError(400, "DELETE hips/~/<name>/shares/<group>: name the group to stop sharing with")
        await self._answer(self.store.unshare, owner, name, group)
