"""The ``astrohub-archive`` command: the archive service's Tornado application and its configuration.

Standalone::

    astrohub-archive --port 8890 --index /archive/index.sqlite --data-root /archive/images \
        --registry /archive/catalogs/registry.sqlite [--token STATIC_ADMIN_TOKEN] [--tokens tokens.json]

As a JupyterHub service the hub sets the environment and the same command needs only the paths:

``JUPYTERHUB_SERVICE_URL``
    where to listen (host and port; ``--port``/``--ip`` override);
``JUPYTERHUB_SERVICE_PREFIX``
    the URL prefix of every route (``/services/archive/``; ``--prefix`` overrides; default ``/``);
``JUPYTERHUB_API_TOKEN``, ``JUPYTERHUB_API_URL``
    enable hub authentication: a user's token (``Authorization: token ...``) identifies them
    through :class:`jupyterhub.services.auth.HubAuth`; their name and groups unlock proprietary
    records (the service's role needs ``read:users:groups`` for the groups). Anonymous callers
    see public records only.

Flags (each may also be given as ``ASTROHUB_ARCHIVE_<FLAG>`` in the environment, e.g.
``ASTROHUB_ARCHIVE_INDEX``): ``--index`` the image index (built by ``astrohub archive index``),
``--data-root`` the image tree the index's paths are relative to, ``--registry`` the catalogue
registry served by cone search (optional), ``--token`` a static admin token, ``--tokens`` a JSON
file ``{token: {"name": ..., "groups": [...]}}`` for standalone users, ``--update-every`` seconds
between incremental index updates (default 86400, daily; 0 disables; a missing index is built at
start, see :mod:`astrohub_archive.updater`), ``--mappings`` extra instrument mappings,
``--trusted-proxy`` who may set ``X-Forwarded-Host`` (:mod:`astrohub_archive.proxies`), ``--upload-from``
the private networks TAP uploads by URL may come from (:mod:`astrohub_archive.uploads`), ``--hips`` a
writable folder for the HiPS it builds (:mod:`astrohub_archive.hips`), ``--hips-upload-max`` the MiB one
user's HiPS upload may hold (:mod:`astrohub_archive.userhips`; that route streams its body to disk, past the
:data:`MAX_BODY` every other request is bounded by), ``--hips-owner-max`` the MiB one user's HiPS may hold
between them (unpacked, on disk), ``--hips-total-max`` the MiB all users' HiPS may hold between them,
``--replica`` this replica's name and ``--peers`` every replica's base URL when the archive runs as several
(async TAP jobs are kept by the replica that made them; :mod:`astrohub_archive.replicas`), ``--log-level``.

Routes (under the prefix): ``sia/query`` (also ``sia``), ``sia/capabilities``,
``sia/availability``, ``scs/<catalogue>``, ``tap`` (TAP 1.1 over every registered catalogue,
``ivoa.obscore`` and ``TAP_SCHEMA``: ``tap/sync``, ``tap/async`` (UWS 1.1, jobs kept in ``--jobs``),
VOSI ``tap/capabilities``, ``tap/availability``, ``tap/tables[/<name>]``, DALI ``tap/examples``),
``download/<obs_id>``. The route table is :data:`astrohub_archive.handlers.ROUTE_MODULES`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import urlparse

import tornado.log
import tornado.web

from astrohub_archive.auth import Authenticator
from astrohub_archive.base import (
    MAX_BODY,
    SERVER_OPTIONS,
    NoRouteHandler,
    TooLargeHandler,
    bound_request_parsing,
    chunked_body_limit,
    too_large,
)
from astrohub_archive.engine import Limits
from astrohub_archive.handlers import all_routes
from astrohub_archive.posjoin import DEFAULT_JOIN_CACHE_MIB, SIDES, Kernel
from astrohub_archive.proxies import TrustedProxies, parse_trusted
from astrohub_archive.replicas import Replicas, parse_peers, parse_replica, quiet_caller_gone
from astrohub_archive.uploads import parse_networks
from astrohub_archive.userhips import MAX_UPLOAD, MIN_REST_STALE, OWNER_MAX, REST_STALE, TOTAL_MAX
from astrohub_archive.uws import JobStore
from astrohub_archive.updater import DEFAULT_UPDATE_EVERY, IndexUpdater
from platform_lib.imageindex import ImageIndex

__all__ = ["ArchiveState", "make_app", "main", "build_parser", "configure_logging"]

log = logging.getLogger("astrohub_archive")



class _NoProgressBars:
    """The service's ``sys.stderr`` less what tqdm writes to it (anything else passes through).

    lsdb draws tqdm bars by default (``"Building task graph..."``, ``"Computing Catalog"``), so every HiPS
    build filled the archive's log with them; a user's kernel, which runs the same builds, keeps its bars.
    """

    def __init__(self, stream) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if caller == "tqdm" or caller.startswith("tqdm."):
            return len(text)
        return self._stream.write(text)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def configure_logging(level: str) -> None:
    """The service's log: ``level`` and up to stderr, with time and logger names, and no progress bars (nor a
    traceback for each caller that hung up on a forwarded answer: :func:`.replicas.quiet_caller_gone`)."""
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app_log = logging.getLogger("tornado.application")
    if quiet_caller_gone not in app_log.filters:
        app_log.addFilter(quiet_caller_gone)
    if not isinstance(sys.stderr, _NoProgressBars):
        sys.stderr = _NoProgressBars(sys.stderr)


@dataclass
class ArchiveState:
    """What every handler shares: the index, the data root, the registry path, auth and the prefix."""

    index_path: Path
    data_root: Path
    registry_path: Path | None = None
    auth: Authenticator = field(default_factory=Authenticator)
    prefix: str = "/"
    jobs: JobStore = field(default_factory=JobStore)
    limits: Limits = field(default_factory=Limits)
    trusted_proxies: TrustedProxies = field(default_factory=TrustedProxies)
    upload_networks: tuple = ()  # private networks TAP uploads by URL may come from (--upload-from)
    executor: object | None = None  # the query threads (None: the loop's default pool)
    kernel: Kernel = field(default_factory=Kernel)  # the crossmatch kernel for positional joins, warmed at start
    hips_dir: Path | None = None  # where HiPS are built and served from (None: astrohub_archive.hips.hips_root)
    hips_upload_max: int = MAX_UPLOAD  # the most bytes one user's HiPS upload may hold (--hips-upload-max)
    hips_owner_max: int = OWNER_MAX  # the most bytes one user's HiPS may hold between them (--hips-owner-max)
    hips_total_max: int = TOTAL_MAX  # the most bytes all users' HiPS may hold between them (--hips-total-max)
    hips_rest_expiry: float = REST_STALE  # seconds a HiPS's first part waits for a word of its rest (--hips-rest-expiry)
    replicas: Replicas = field(default_factory=Replicas)  # this replica and its peers (--replica, --peers)
    sample_data: Path | None = None  # the datasets folder the platform's sample data loads into (--sample-data)
    started: float = field(default_factory=time.time)  # when the service started (VOSI availability's upSince)
    _index: ImageIndex | None = None
    _registry: object | None = None

    def still_loading(self) -> str | None:
        """While the sample data's first load runs, the sentence an error about data not there yet adds."""
        from platform_lib.sampledata import still_loading

        return still_loading(self.sample_data)

    def index(self) -> ImageIndex:
        if self._index is None:
            self._index = ImageIndex(self.index_path)
        return self._index

    def registry(self):
        """The catalogue registry (read-only), or None while there is none (it may be created later)."""
        if self.registry_path is None:
            return None
        if self._registry is None:
            if not Path(self.registry_path).exists():
                return None
            from platform_lib.catalogs import Registry

            self._registry = Registry(self.registry_path, readonly=True)
        return self._registry


def make_app(state: ArchiveState) -> tornado.web.Application:
    """The Tornado application serving ``state`` (tornado's parsing limits of this process raised to the service's
    own, :func:`~astrohub_archive.base.bound_request_parsing`)."""
    bound_request_parsing()
    prefix = "/" + state.prefix.strip("/") + "/" if state.prefix.strip("/") else "/"
    state.prefix = prefix
    if state.executor is None:
        from concurrent.futures import ThreadPoolExecutor

        state.executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="archive-query")
    # No xheaders: the client address is the socket's; BaseHandler.base_url reads the forwarded scheme and host.
    return _Archive(all_routes(prefix, state), xheaders=False, log_function=_log_request,
                    default_handler_class=NoRouteHandler, default_handler_args={"state": state})


class _Archive(tornado.web.Application):
    """The archive's application: a request over the service's limits on its URL, headers or body goes to
    :class:`~astrohub_archive.base.TooLargeHandler` (an answer naming the limit), whichever route it asked for; a
    chunked body is counted as it comes (:func:`~astrohub_archive.base.chunked_body_limit`)."""

    def find_handler(self, request, **kwargs):
        found = super().find_handler(request, **kwargs)
        refused = too_large(request, getattr(found, "handler_class", None))
        if refused is None:
            return chunked_body_limit(self, request, found)
        status, message = refused
        return self.get_handler_delegate(request, TooLargeHandler, {"status": status, "message": message})


def _log_request(handler: tornado.web.RequestHandler) -> None:
    """Tornado's access log line (INFO below 400, WARNING below 500, else ERROR), except for handlers that
    set ``quiet_access_log`` (HiPS files: a viewer asks for hundreds, many of them empty cells, i.e. 404),
    which log only their errors (500 and over)."""
    status = handler.get_status()
    if status < 500 and getattr(handler, "quiet_access_log", False):
        return
    method = tornado.log.access_log.info if status < 400 else \
        tornado.log.access_log.warning if status < 500 else tornado.log.access_log.error
    request = handler.request
    method("%d %s %s (%s) %.2fms", status, request.method, request.uri, request.remote_ip, 1000.0 * request.request_time())


def rest_expiry(text: str | float) -> float:
    """``--hips-rest-expiry`` (``ASTROHUB_ARCHIVE_HIPS_REST_EXPIRY``): seconds, at least :data:`MIN_REST_STALE`."""
    return _seconds(text, f"the seconds a HiPS's first part waits for word of its rest, at least {MIN_REST_STALE:g} "
                          "(ASTROHUB_ARCHIVE_HIPS_REST_EXPIRY; the chart's archive.hips.restExpirySeconds; "
                          "astrohub.toml's archive.hips_rest_expiry)", least=MIN_REST_STALE)


def recheck_seconds(text: str | float) -> float:
    """``--group-recheck-seconds`` (``ASTROHUB_ARCHIVE_GROUP_RECHECK_SECONDS``): seconds, 0 or more."""
    return _seconds(text, "the seconds the hub's answers about a token and a user's groups are kept, 0 or more "
                          "(0: asked at every request; ASTROHUB_ARCHIVE_GROUP_RECHECK_SECONDS; the chart's "
                          "archive.groupRecheckSeconds; astrohub.toml's archive.group_recheck)")


def grace_seconds(text: str | float) -> float:
    """``--hub-down-grace-seconds`` (``ASTROHUB_ARCHIVE_HUB_DOWN_GRACE_SECONDS``): seconds, 0 or more."""
    return _seconds(text, "the seconds the hub's last answer about a token stands while the hub cannot be asked, 0 "
                          "or more (0: none; ASTROHUB_ARCHIVE_HUB_DOWN_GRACE_SECONDS; the chart's "
                          "archive.hubDownGraceSeconds; astrohub.toml's archive.hub_down_grace)")


def _seconds(text: str | float, wanted: str, least: float = 0.0) -> float:
    """``text`` as seconds, ``least`` or more and finite; else an ``ArgumentTypeError`` saying
    ``{text!r}: give {wanted}``."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not least <= seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r}: give {wanted}")
    return seconds


def _env(name: str, default=None):
    return os.environ.get(f"ASTROHUB_ARCHIVE_{name.upper().replace('-', '_')}", default)


def _env_items(name: str) -> list[str]:
    """The items of a comma-separated flag's environment value (``ASTROHUB_ARCHIVE_UPLOAD_FROM=a,b``); empty ones
    (the environment's unset form, a template's trailing comma) are skipped. :func:`main` checks them."""
    return [item.strip() for item in (_env(name) or "").split(",") if item.strip()]


def comma_list(flag: str, parse: Callable[[list[str]], object]) -> Callable[[str], list[str]]:
    """An argparse ``type=`` for ``flag``, whose value is a comma-separated list (``--upload-from
    10.1.0.0/16,192.0.2.7``): the value's items, stripped, once ``parse`` has accepted them all.

    Used with ``action="extend"``, so a repeated flag adds its items. An empty item, or one that ``parse``
    refuses (its ``ValueError`` names the item), is the parser's usage error naming the value:

    >>> comma_list("--upload-from", parse_networks)(" 10.1.0.0/16, 192.0.2.7")
    ['10.1.0.0/16', '192.0.2.7']
    >>> comma_list("--upload-from", parse_networks)("10.0.0.0/33")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: '10.0.0.0/33': give an address or a network, e.g. 10.1.0.0/16
    """
    def items(value: str) -> list[str]:
        found = [item.strip() for item in value.split(",")]
        if "" in found:
            raise argparse.ArgumentTypeError(f"{value!r} has an empty item: give one or more values separated by "
                                             "single commas, with none at either end")
        try:
            parse(found)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc).removeprefix(f"{flag} ")) from None
        return found

    return items


def jobs_path(args: argparse.Namespace) -> Path:
    """The SQLite file of async TAP jobs: ``--jobs``, else ``tap-jobs.sqlite`` beside the index (which must
    then be writable: the chart, whose index is read-only, sets ``ASTROHUB_ARCHIVE_JOBS``)."""
    return Path(args.jobs) if args.jobs else Path(args.index).with_name("tap-jobs.sqlite")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="astrohub-archive", description=__doc__.splitlines()[0])
    p.add_argument("--index", type=Path, default=_env("index"), help="the image index SQLite file")
    p.add_argument("--data-root", type=Path, default=_env("data-root"), help="the image tree (download root)")
    p.add_argument("--registry", type=Path, default=_env("registry"), help="the catalogue registry (cone search)")
    p.add_argument("--port", type=int, default=_env("port"), help="listen port (default: from JUPYTERHUB_SERVICE_URL, else 8890)")
    p.add_argument("--ip", default=_env("ip"), help="listen address (default: from JUPYTERHUB_SERVICE_URL, else 127.0.0.1)")
    p.add_argument("--prefix", default=_env("prefix"), help="URL prefix (default: JUPYTERHUB_SERVICE_PREFIX or /)")
    p.add_argument("--token", default=_env("token"), help="a static admin token (sees proprietary records)")
    p.add_argument("--tokens", type=Path, default=_env("tokens"), help="JSON file of standalone user tokens")
    p.add_argument("--group-recheck-seconds", type=recheck_seconds, default=_env("group-recheck-seconds"),
                   help="how long the hub's answers about a token (who it is) and a user's groups are kept: how "
                        "soon a revoked token stops working here and a member removed from a group or workspace "
                        "loses its proprietary images and shared HiPS (default 5, "
                        "astrohub_archive.auth.Authenticator.group_recheck_seconds; 0: asked at every request; "
                        "the chart's archive.groupRecheckSeconds, astrohub.toml's archive.group_recheck)")
    p.add_argument("--hub-down-grace-seconds", type=grace_seconds, default=_env("hub-down-grace-seconds"),
                   help="how long the hub's last answer that a token is someone's stands while the hub cannot be "
                        "asked (down, restarting, hanging): people keep their own and public data through a hub "
                        "restart; a user's groups never do (default 60, astrohub_archive.auth.HUB_DOWN_GRACE; 0: "
                        "none; the chart's archive.hubDownGraceSeconds, astrohub.toml's archive.hub_down_grace)")
    p.add_argument("--update-every", type=float, default=_env("update-every", DEFAULT_UPDATE_EVERY),
                   help="seconds between incremental index updates in a background thread (default: daily; "
                        "0 disables; a missing index is always built at start)")
    p.add_argument("--mappings", type=Path, action="append", default=[Path(item) for item in _env_items("mappings")],
                   help="a directory of extra instrument mapping JSON files for updates (repeatable; in the "
                        "environment, comma-separated)")
    p.add_argument("--jobs", type=Path, default=_env("jobs"),
                   help="the SQLite file of async TAP jobs (kept across restarts; default: tap-jobs.sqlite beside "
                        "the index)")
    p.add_argument("--query-seconds", type=float, default=float(_env("query-seconds", 60)),
                   help="wall-time limit of one TAP query (default 60)")
    p.add_argument("--query-memory", default=_env("query-memory", "1GB"), help="DuckDB memory of one query (1GB)")
    p.add_argument("--join-cache", type=float, default=float(_env("join-cache", DEFAULT_JOIN_CACHE_MIB)),
                   help="MiB of catalogue sides kept prepared for positional joins between queries (default "
                        f"{DEFAULT_JOIN_CACHE_MIB}; about 46 MiB per 10^6 rows, and the rows themselves where they "
                        "fit in half; 0: off)")
    p.add_argument("--trusted-proxy", action="extend", type=comma_list("--trusted-proxy", parse_trusted),
                   default=_env_items("trusted-proxy"),
                   help="who may set X-Forwarded-Host: an address, a network (10.0.0.0/24) or uid:<N> (a local "
                        "user's processes; what `astrohub up` passes for its proxy); repeatable or comma-separated "
                        "(default: nobody)")
    p.add_argument("--upload-from", action="extend", type=comma_list("--upload-from", parse_networks),
                   default=_env_items("upload-from"),
                   help="a network (10.1.0.0/16) or address whose hosts TAP uploads by URL may come from besides "
                        "public ones: an observatory's closed network; repeatable or comma-separated (default: "
                        "public hosts only)")
    p.add_argument("--hips", type=Path, default=_env("hips"),
                   help="a writable folder for the HiPS the archive builds and serves (default: hips/ beside the "
                        "image tree when writable, else a temporary folder)")
    p.add_argument("--hips-upload-max", type=float, default=float(_env("hips-upload-max", MAX_UPLOAD / 2**20)),
                   help="MiB one user's HiPS upload (POST hips/~/, a tar) may hold; streamed to a file in the HiPS "
                        f"folder, never into memory (default {MAX_UPLOAD / 2**20:g}; every other request body is "
                        f"bounded by {MAX_BODY // 2**20} MiB)")
    p.add_argument("--hips-owner-max", type=float, default=float(_env("hips-owner-max", OWNER_MAX / 2**20)),
                   help="MiB one user's HiPS (hips/~/) may hold between them, unpacked on disk; an upload that "
                        f"does not fit is answered 413 and kept nowhere (default {OWNER_MAX / 2**20:g}; size the "
                        "HiPS folder for the users' budgets)")
    p.add_argument("--hips-total-max", type=float, default=float(_env("hips-total-max", TOTAL_MAX / 2**20)),
                   help="MiB all users' HiPS (hips/~/) may hold between them, unpacked on disk; an upload that "
                        f"does not fit is answered 507 and kept nowhere (default {TOTAL_MAX / 2**20:g}; make it "
                        "smaller than the HiPS folder's disk, leaving room for uploads under way and the "
                        "archive's own HiPS)")
    p.add_argument("--hips-rest-expiry", type=rest_expiry, default=_env("hips-rest-expiry", REST_STALE),
                   help="seconds a large table's HiPS sent in two parts waits for its deeper orders with no word from "
                        "the kernel building them (which says it is alive every quarter of this); then its first part "
                        f"is removed, freeing its room, and its owner told why (default {REST_STALE:g}; at least "
                        f"{MIN_REST_STALE:g})")
    p.add_argument("--replica", default=_env("replica"),
                   help="this replica's name when the archive runs as several (a StatefulSet pod's name, e.g. "
                        "astrohub-archive-1, or its ordinal): its async TAP job ids start with its ordinal "
                        "(default: a single replica, ids as before)")
    p.add_argument("--peers", action="extend", type=comma_list("--peers", parse_peers),
                   default=_env_items("peers"),
                   help="the base URLs of all replicas, in ordinal order, this one's included (http://astrohub-"
                        "archive-0.astrohub-archive-peers.ns.svc:8080/services/archive/,...): a request for an async "
                        "TAP job of another replica is forwarded to it, and the job list merges theirs; only these "
                        "URLs are ever called (default: none, a single replica)")
    p.add_argument("--sample-data", type=Path, default=_env("sample-data"),
                   help="the datasets folder the platform's sample data loads into: while its first load runs, "
                        "errors about images or catalogues not there yet say so")
    p.add_argument("--log-level", default=_env("log-level", "INFO"))
    return p


def preload() -> None:
    """Import what the first queries would (astropy's tables, VOTable, times and coordinates; the catalogue
    search), before the service listens (~0.3 s). Imported by a thread while the first requests imported the
    same modules, astropy's configuration items could not find their module (``inspect.getmodule`` is not
    thread-safe) and a request answered 503 with "Cannot automatically determine get_config module"."""
    import astropy.coordinates  # noqa: F401
    import astropy.io.votable  # noqa: F401
    import astropy.io.votable.tree  # noqa: F401
    import astropy.table  # noqa: F401
    import astropy.time  # noqa: F401

    import platform_lib.catalogs  # noqa: F401


def _settle() -> None:
    """Collect once and move every object alive (what :func:`preload` imported included) into the garbage
    collector's permanent generation (:func:`gc.freeze`, ~90 000 objects). Without it, each full collection
    walked all ~130 000 long-lived objects: 80 to 95 ms with no request answered, every 15 to 30 s under load
    (20 to 30 ms now). Runs in a thread once the service listens, so that it answers from the start."""
    gc.collect()
    gc.freeze()
    log.info("froze %d start-up objects out of garbage collection", gc.get_freeze_count())


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # The flags' items were checked as they were read (comma_list); the environment's are checked here, an error
    # naming the variable (the chart and `astrohub up` set those, not the flags).
    for flag, parse in (("--trusted-proxy", parse_trusted), ("--upload-from", parse_networks),
                        ("--peers", parse_peers)):
        variable = "ASTROHUB_ARCHIVE_" + flag[2:].upper().replace("-", "_")
        try:
            parse(_env_items(flag[2:]))
        except ValueError as exc:
            parser.error(f"{variable}={os.environ.get(variable, '')!r}: {str(exc).removeprefix(flag + ' ')}")
    trusted = parse_trusted(args.trusted_proxy)
    upload_networks = parse_networks(args.upload_from)
    try:
        replicas = Replicas(None if args.replica is None else parse_replica(args.replica), parse_peers(args.peers))
    except ValueError as exc:
        parser.error(str(exc))
    if not args.hips_upload_max > 0:
        parser.error(f"--hips-upload-max {args.hips_upload_max:g}: give the MiB one HiPS upload may hold, more than 0")
    if not args.hips_owner_max > 0:
        parser.error(f"--hips-owner-max {args.hips_owner_max:g}: give the MiB one user's HiPS may hold between "
                     "them, more than 0")
    if not args.hips_total_max > 0:
        parser.error(f"--hips-total-max {args.hips_total_max:g}: give the MiB all users' HiPS may hold between "
                     "them, more than 0")
    configure_logging(args.log_level)
    if args.index is None or args.data_root is None:
        print("astrohub-archive: error: --index and --data-root are required", file=sys.stderr)
        return 2
    service_url = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", ""))
    port = args.port or service_url.port or 8890
    ip = args.ip or service_url.hostname or "127.0.0.1"
    prefix = args.prefix or os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/")
    use_hub = bool(os.environ.get("JUPYTERHUB_API_TOKEN") and os.environ.get("JUPYTERHUB_API_URL"))
    try:
        auth = Authenticator.create(args.token, args.tokens, use_hub, args.group_recheck_seconds,
                                    args.hub_down_grace_seconds)
    except ValueError as exc:
        print(f"astrohub-archive: error: {exc}", file=sys.stderr)
        return 2
    jobs = JobStore(jobs_path(args), id_prefix=replicas.id_prefix)
    state = ArchiveState(args.index, args.data_root, args.registry, auth, prefix, jobs=jobs,
                         limits=Limits(seconds=args.query_seconds, memory=args.query_memory),
                         trusted_proxies=trusted, upload_networks=upload_networks, hips_dir=args.hips,
                         hips_upload_max=int(args.hips_upload_max * 2**20),
                         hips_owner_max=int(args.hips_owner_max * 2**20),
                         hips_total_max=int(args.hips_total_max * 2**20), hips_rest_expiry=args.hips_rest_expiry,
                         sample_data=args.sample_data,
                         replicas=replicas)
    SIDES.max_bytes = int(args.join_cache * 2**20)
    preload()
    app = make_app(state)
    updater = IndexUpdater(args.index, args.data_root, float(args.update_every), list(args.mappings))
    updater.start()

    async def serve() -> None:
        server = app.listen(port, address=ip, **SERVER_OPTIONS)
        log.info("archive service on http://%s:%d%s (hub auth: %s)", ip, port, state.prefix, use_hub)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        # daemon threads, not the loop's executor: a stop during start-up must not wait for them (asyncio.run
        # joins its executor's threads at exit; compiling the kernel takes 10 s and more on a loaded machine,
        # past Kubernetes' and the tests' grace periods)
        for work in (_settle, state.kernel.warm):
            threading.Thread(target=work, name=f"archive-{work.__name__}", daemon=True).start()
        hips = getattr(state, "hips", None)
        if hips is not None:  # the viewer's default background, built now and not on a new user's first view
            hips.build_background()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        server.stop()
        hips = getattr(state, "hips", None)
        if hips is not None:  # stop a HiPS build while the interpreter can still run its threads
            await loop.run_in_executor(None, hips.close)

    try:
        asyncio.run(serve())
    finally:
        updater.stop()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
